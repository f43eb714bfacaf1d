// SPDX-License-Identifier: MIT
#include "vmm.h"

int main(int argc, char **argv)
{
	return vmm_main(argc, argv);
}
