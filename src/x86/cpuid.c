// SPDX-License-Identifier: MIT
#include <string.h>

#include "cpuid.h"

struct cpuid_entry *cpuid_find(const struct cpuid_table *t, uint32_t function, uint32_t index)
{
	for (size_t i = 0; i < t->n; i++) {
		struct cpuid_entry *e = &t->e[i];
		if (e->function != function)
			continue;
		if ((e->flags & CPUID_FLAG_SIGNIFICANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

enum cpu_vendor cpuid_vendor_from_id(const char id[12])
{
	if (!memcmp(id, "GenuineIntel", 12))
		return VENDOR_INTEL;
	if (!memcmp(id, "AuthenticAMD", 12))
		return VENDOR_AMD;
	if (!memcmp(id, "HygonGenuine", 12))
		return VENDOR_HYGON;
	return VENDOR_UNKNOWN;
}

enum cpu_vendor cpuid_vendor(const struct cpuid_table *t, char *id)
{
	const struct cpuid_entry *e = cpuid_find(t, 0, 0);
	char v[13] = "";

	if (e) {
		memcpy(v, &e->ebx, 4);
		memcpy(v + 4, &e->edx, 4);
		memcpy(v + 8, &e->ecx, 4);
		v[12] = 0;
	}
	if (id)
		memcpy(id, v, sizeof(v));
	return e ? cpuid_vendor_from_id(v) : VENDOR_UNKNOWN;
}

void cpuid_host(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		: "a"(leaf), "c"(subleaf));
#else
	(void)leaf;
	(void)subleaf;
	r[0] = r[1] = r[2] = r[3] = 0;
#endif
}

static unsigned order(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

void cpuid_set_topology(struct cpuid_table *t, unsigned apic_id, unsigned ncpus)
{
	unsigned shift = order(ncpus);
	struct cpuid_entry *e;

	if ((e = cpuid_find(t, 1, 0))) {
		e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | ((ncpus & 0xff) << 16);
		if (ncpus > 1)
			e->edx |= 1u << 28; /* HTT: the package has several logical CPUs */
		else
			e->edx &= ~(1u << 28);
		e->ecx |= 1u << 31; /* hypervisor present */
	}
	/* Intel deterministic cache parameters: cores per package - 1 in EAX[31:26]. */
	for (size_t i = 0; i < t->n; i++) {
		e = &t->e[i];
		if (e->function == 4 && (e->eax & 0x1f)) {
			e->eax &= 0x03ffffff;
			e->eax |= (((1u << shift) - 1) & 0x3f) << 26;
			e->eax &= ~(0xfffu << 14); /* threads sharing this cache - 1 */
			unsigned level = (e->eax >> 5) & 7;
			if (level == 3)
				e->eax |= (((1u << shift) - 1) & 0xfff) << 14;
		}
	}
	/* Extended topology: SMT level (1 thread), core level (ncpus). */
	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x1f - 0xb) {
		for (uint32_t sub = 0; sub < 4; sub++) {
			e = cpuid_find(t, leaf, sub);
			if (!e || !(e->flags & CPUID_FLAG_SIGNIFICANT_INDEX))
				break;
			if (sub == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 0 | (1u << 8);
			} else if (sub == 1) {
				e->eax = shift;
				e->ebx = ncpus;
				e->ecx = 1 | (2u << 8);
			} else {
				e->eax = e->ebx = 0;
				e->ecx = sub;
			}
			e->edx = apic_id;
		}
	}
	if ((e = cpuid_find(t, 0x80000001, 0))) {
		if (ncpus > 1)
			e->ecx |= 1u << 1; /* CmpLegacy */
		else
			e->ecx &= ~(1u << 1);
	}
	if ((e = cpuid_find(t, 0x80000008, 0)))
		e->ecx = (e->ecx & ~0xf0ffu) | (shift << 12) | ((ncpus - 1) & 0xff);
	if ((e = cpuid_find(t, 0x8000001e, 0))) {
		e->eax = apic_id;
		e->ebx = apic_id & 0xff; /* core id; one thread per core */
		e->ecx = 0;
	}
}

void cpuid_add_emulated(struct cpuid_table *t, bool tsc_deadline, const char *brand)
{
	struct cpuid_entry *e;
	if (tsc_deadline && (e = cpuid_find(t, 1, 0)))
		e->ecx |= 1u << 24;
	if (!brand || !*brand)
		return;
	for (uint32_t i = 0; i < 3; i++) {
		e = cpuid_find(t, 0x80000002 + i, 0);
		if (!e || e->eax || e->ebx || e->ecx || e->edx)
			return; /* KVM's own brand (or no such leaf) wins */
	}
	for (uint32_t i = 0; i < 3; i++) {
		e = cpuid_find(t, 0x80000002 + i, 0);
		memcpy(&e->eax, brand + 16 * i, 4);
		memcpy(&e->ebx, brand + 16 * i + 4, 4);
		memcpy(&e->ecx, brand + 16 * i + 8, 4);
		memcpy(&e->edx, brand + 16 * i + 12, 4);
	}
}
