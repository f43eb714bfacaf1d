/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_SUPPORTED_CPUID of a Hygon C86 7285 (Dhyana, a Zen 1 derivative:
 * family 0x18 model 0 stepping 1, CPUID.1:EAX 0x00900f01) host with kvm_amd
 * nested=1, as { function, index, flags, eax, ebx, ecx, edx }. Same
 * provenance as cpuid_amd_epyc_7763.h: documented values through KVM's masks,
 * not captured here. Hygon runs kvm_amd and advertises SVM like AMD; only
 * the vendor string ("HygonGenuine") differs.
 */
#include "cpuid.h"

static const struct cpuid_entry cpuid_hygon_c86_7285[] = {
	{ 0x00000000, 0, 0, 0x0000000d, 0x6f677948, 0x656e6975, 0x6e65476e, {0} }, /* HygonGenuine */
	{ 0x00000001, 0, 0, 0x00900f01, 0x00000800, 0x76f83203, 0x078bfbff, {0} },
	{ 0x00000007, 0, 1, 0x00000000, 0x209c01ab, 0x00000000, 0x00000000, {0} },
	{ 0x0000000d, 0, 1, 0x00000007, 0x00000340, 0x00000340, 0x00000000, {0} },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d, {0} },
	{ 0x40000001, 0, 0, 0x01007afb, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x80000000, 0, 0, 0x8000001f, 0x6f677948, 0x656e6975, 0x6e65476e, {0} },
	{ 0x80000001, 0, 0, 0x00900f01, 0x00000000, 0x004003f7, 0x2fd3fbff, {0} }, /* SVM: ECX bit 2 */
	{ 0x80000008, 0, 0, 0x00003030, 0x00001007, 0x0000703f, 0x00000000, {0} },
	{ 0x8000000a, 0, 0, 0x00000001, 0x00000008, 0x00000000, 0x0001947b, {0} },
};
