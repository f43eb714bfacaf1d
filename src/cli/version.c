// SPDX-License-Identifier: MIT
#include "vmm.h"

const char *vmm_version(void)
{
	return NESTVMM_VERSION;
}
