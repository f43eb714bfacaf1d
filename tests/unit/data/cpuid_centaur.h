/* SPDX-License-Identifier: MIT */
/*
 * A CPU of a vendor nestvmm does not know: "CentaurHauls" (Centaur/Zhaoxin,
 * whose cores do have VMX). The policy must hide VMX/SVM for such a CPU and
 * refuse nested = "on" naming the vendor. Shaped like a KVM supported table.
 */
#include "cpuid.h"

static const struct cpuid_entry cpuid_centaur[] = {
	{ 0x00000000, 0, 0, 0x0000000d, 0x746e6543, 0x736c7561, 0x48727561, {0} }, /* CentaurHauls */
	{ 0x00000001, 0, 0, 0x000006fe, 0x00000800, 0x76f8a223, 0x0f8bfbff, {0} }, /* VMX bit 5 set */
	{ 0x80000000, 0, 0, 0x80000008, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x80000001, 0, 0, 0x00000000, 0x00000000, 0x00000121, 0x2c100800, {0} },
	{ 0x80000008, 0, 0, 0x00003028, 0x00000000, 0x00000000, 0x00000000, {0} },
};
