/* SPDX-License-Identifier: MIT */
/*
 * The guest's CPUID, as pure functions over a table: the host KVM's
 * supported table in, one vCPU's table out. The layout of struct cpuid_entry
 * matches struct kvm_cpuid_entry2 field for field so the VMM converts
 * without KVM headers leaking here.
 */
#ifndef NV_CPUID_H
#define NV_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUID_FLAG_SIGNIFICANT_INDEX 1

struct cpuid_entry {
	uint32_t function, index, flags;
	uint32_t eax, ebx, ecx, edx;
	uint32_t padding[3];
};

struct cpuid_table {
	struct cpuid_entry *e;
	size_t n;
};

enum cpu_vendor {
	VENDOR_UNKNOWN = 0,
	VENDOR_INTEL, /* GenuineIntel: VMX, kvm_intel */
	VENDOR_AMD,   /* AuthenticAMD: SVM, kvm_amd */
	VENDOR_HYGON, /* HygonGenuine: an AMD Zen derivative, SVM, kvm_amd */
};

/* Leaf function, subleaf index (ignored where the leaf has none) of t; NULL if absent. */
struct cpuid_entry *cpuid_find(const struct cpuid_table *t, uint32_t function, uint32_t index);
/* From the 12 bytes of leaf 0's EBX, EDX, ECX (no NUL needed). */
enum cpu_vendor cpuid_vendor_from_id(const char id[12]);
/* From leaf 0 of t; id (13 bytes, may be NULL) receives the vendor string, "" without leaf 0. */
enum cpu_vendor cpuid_vendor(const struct cpuid_table *t, char *id);
/* The host CPU's own CPUID leaf/subleaf: r = eax, ebx, ecx, edx (zeros off x86). */
void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

/*
 * Patches t in place for vCPU apic_id of ncpus (one socket, ncpus cores, one
 * thread each): APIC ids in leaves 1, 0xB, 0x1F, 0x8000_001E, core counts in
 * leaves 1, 4, 0x8000_0001, 0x8000_0008; the hypervisor bit (CPUID.1:ECX[31])
 * so Linux reads KVM's paravirtual leaves 0x4000_0000/1 (kvm-clock).
 */
void cpuid_set_topology(struct cpuid_table *t, unsigned apic_id, unsigned ncpus);

/*
 * What KVM emulates but leaves to the VMM to announce: the TSC-deadline
 * timer (CPUID.1:ECX[24], when KVM_CAP_TSC_DEADLINE_TIMER; one MSR write
 * per timer instead of the APIC's divide/count registers), and the
 * processor brand string (leaves 0x8000_0002..4, from brand[48] when KVM's
 * entries are empty; brand NULL leaves them).
 */
void cpuid_add_emulated(struct cpuid_table *t, bool tsc_deadline, const char *brand);

#endif
