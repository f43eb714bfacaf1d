/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_SUPPORTED_CPUID of an Intel Xeon Gold 6248 (Cascade Lake-SP,
 * family 6 model 0x55 stepping 7, CPUID.1:EAX 0x00050657) host with
 * kvm_intel nested=Y, as { function, index, flags, eax, ebx, ecx, edx }.
 *
 * Provenance: written from the CPU's documented CPUID values filtered
 * through KVM's masks (arch/x86/kvm/cpuid.c, vmx_set_cpu_caps), not captured
 * on this build machine, which has neither /dev/kvm nor an Intel CPU. What
 * the tests rely on is KVM's behaviour: VMX (leaf 0x1 ECX bit 5) present
 * exactly when nested=Y, the hypervisor bit (ECX bit 31) clear, and no leaf
 * 0x8000000A (Intel's maximum extended leaf is 0x80000008).
 */
#include "cpuid.h"

static const struct cpuid_entry cpuid_intel_xeon_6248[] = {
	{ 0x00000000, 0, 0, 0x00000016, 0x756e6547, 0x6c65746e, 0x49656e69, {0} }, /* GenuineIntel */
	{ 0x00000001, 0, 0, 0x00050657, 0x00000800, 0x76fab223, 0x0f8bfbff, {0} }, /* VMX: ECX bit 5 */
	{ 0x00000004, 0, 1, 0x7c004121, 0x01c0003f, 0x0000003f, 0x00000000, {0} },
	{ 0x00000004, 1, 1, 0x7c004122, 0x01c0003f, 0x0000003f, 0x00000000, {0} },
	{ 0x00000004, 2, 1, 0x7c004143, 0x03c0003f, 0x000003ff, 0x00000000, {0} },
	{ 0x00000004, 3, 1, 0x7c0fc163, 0x0280003f, 0x0000dfff, 0x00000004, {0} },
	{ 0x00000004, 4, 1, 0x00000000, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x00000006, 0, 0, 0x00000004, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x00000007, 0, 1, 0x00000000, 0xd19f0fbb, 0x0000080c, 0xbc000400, {0} },
	{ 0x0000000b, 0, 1, 0x00000001, 0x00000002, 0x00000100, 0x00000000, {0} },
	{ 0x0000000b, 1, 1, 0x00000006, 0x00000028, 0x00000201, 0x00000000, {0} },
	{ 0x0000000d, 0, 1, 0x000002e7, 0x00000a88, 0x00000a88, 0x00000000, {0} },
	{ 0x0000000d, 1, 1, 0x0000000f, 0x00000a08, 0x00000000, 0x00000000, {0} },
	{ 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d, {0} }, /* KVMKVMKVM */
	{ 0x40000001, 0, 0, 0x01007afb, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x80000000, 0, 0, 0x80000008, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x80000001, 0, 0, 0x00000000, 0x00000000, 0x00000121, 0x2c100800, {0} },
	{ 0x80000007, 0, 0, 0x00000000, 0x00000000, 0x00000000, 0x00000100, {0} },
	{ 0x80000008, 0, 0, 0x0000302e, 0x00000000, 0x00000000, 0x00000000, {0} },
};
