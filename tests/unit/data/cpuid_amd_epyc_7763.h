/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_SUPPORTED_CPUID of an AMD EPYC 7763 (Milan, Zen 3, family 0x19
 * model 1 stepping 1, CPUID.1:EAX 0x00a00f11) host with kvm_amd nested=1,
 * as { function, index, flags, eax, ebx, ecx, edx }.
 *
 * Provenance: written from the CPU's documented CPUID values filtered
 * through KVM's masks (arch/x86/kvm/cpuid.c, svm_set_cpu_caps), not captured
 * on this build machine (it has no /dev/kvm). What the tests rely on is
 * KVM's behaviour: SVM (leaf 0x80000001 ECX bit 2) present exactly when
 * nested=1, and leaf 0x8000000A then reporting SVM revision 1, 8 ASIDs and
 * the nested SVM features KVM emulates (EDX: NPT, LBRV, NRIPS, TSC rate,
 * VMCB clean, flush by ASID, pause filter and threshold, vVMSAVE/vVMLOAD,
 * vGIF); with nested=0 KVM zeroes that leaf.
 */
#include "cpuid.h"

static const struct cpuid_entry cpuid_amd_epyc_7763[] = {
	{ 0x00000000, 0, 0, 0x00000010, 0x68747541, 0x444d4163, 0x69746e65, {0} }, /* AuthenticAMD */
	{ 0x00000001, 0, 0, 0x00a00f11, 0x00000800, 0x76fa3203, 0x078bfbff, {0} },
	{ 0x00000006, 0, 0, 0x00000004, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x00000007, 0, 1, 0x00000000, 0x219c07ab, 0x0040060c, 0xa4000010, {0} },
	{ 0x0000000d, 0, 1, 0x00000207, 0x00000988, 0x00000988, 0x00000000, {0} },
	{ 0x0000000d, 1, 1, 0x0000000f, 0x00000348, 0x00000000, 0x00000000, {0} },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d, {0} }, /* KVMKVMKVM */
	{ 0x40000001, 0, 0, 0x01007afb, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x80000000, 0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65, {0} },
	{ 0x80000001, 0, 0, 0x00a00f11, 0x00000000, 0x004003f7, 0x2fd3fbff, {0} }, /* SVM: ECX bit 2 */
	{ 0x80000007, 0, 0, 0x00000000, 0x00000000, 0x00000000, 0x00000100, {0} },
	{ 0x80000008, 0, 0, 0x00003030, 0x0300d205, 0x0000707f, 0x00000000, {0} },
	{ 0x8000000a, 0, 0, 0x00000001, 0x00000008, 0x00000000, 0x0001947b, {0} }, /* SVM rev 1, 8 ASIDs */
	{ 0x80000021, 0, 0, 0x00000045, 0x00000000, 0x00000000, 0x00000000, {0} },
};
