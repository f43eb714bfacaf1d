/* SPDX-License-Identifier: MIT */
/*
 * The host CPUID (the cpuid instruction, not KVM's table) recorded on this
 * project's build machine: an "AMD EPYC" Zen 5 (family 0x1A model 2,
 * CPUID.1:EAX 0x00b00f21) virtual machine under bhyve, which does not pass
 * SVM on (leaf 0x80000001 ECX bit 2 clear, leaf 0x8000000A zero) and sets the
 * hypervisor bit (leaf 0x1 ECX bit 31) with signature "bhyve bhyve ".
 * The probe tests feed it as nested_probe_opts.host_cpuid.
 */
#include "cpuid.h"

static const struct cpuid_entry cpuid_amd_zen5_bhyve_host[] = {
	{ 0x00000000, 0, 0, 0x0000000d, 0x68747541, 0x444d4163, 0x69746e65, {0} },
	{ 0x00000001, 0, 0, 0x00b00f21, 0x00fe0800, 0xfed83203, 0x178bfbff, {0} },
	{ 0x00000007, 0, 1, 0x00000001, 0xf1bb03a9, 0x18005f42, 0x00000110, {0} },
	{ 0x00000007, 1, 1, 0x00000030, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x0000000d, 0, 1, 0x000000e7, 0x00000980, 0x00000980, 0x00000000, {0} },
	{ 0x0000000d, 1, 1, 0x00000007, 0x00000980, 0x00000000, 0x00000000, {0} },
	{ 0x40000000, 0, 0, 0x40000000, 0x76796862, 0x68622065, 0x20657679, {0} }, /* "bhyve bhyve " */
	{ 0x80000000, 0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65, {0} },
	{ 0x80000001, 0, 0, 0x00b00f21, 0x40000000, 0x440001f1, 0x25d3fbff, {0} }, /* no SVM */
	{ 0x80000008, 0, 0, 0x00003030, 0x20000005, 0x00000000, 0x00000000, {0} },
	{ 0x8000000a, 0, 0, 0x00000000, 0x00000000, 0x00000000, 0x00000000, {0} },
	{ 0x80000021, 0, 0, 0x411d8c47, 0x00000000, 0x00000000, 0x00000000, {0} },
};
