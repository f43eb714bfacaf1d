// SPDX-License-Identifier: MIT
#include <stdio.h>
#include "vmm.h"

int vmm_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("vmm %s\n", vmm_version());
	return 0;
}
