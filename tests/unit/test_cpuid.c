// SPDX-License-Identifier: MIT
/* Per-vCPU CPUID: APIC ids, core counts and the hypervisor bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpuid.h"
#include "nested.h"

static struct cpuid_entry table[] = {
	{ .function = 0, .eax = 0x1f, .ebx = 0x68747541, .edx = 0x69746e65, .ecx = 0x444d4163 },
	{ .function = 1, .eax = 0x00a00f11, .ebx = 0x00010800, .ecx = 0x76f8320b, .edx = 0x078bfbff },
	{ .function = 0xb, .index = 0, .flags = CPUID_FLAG_SIGNIFICANT_INDEX },
	{ .function = 0xb, .index = 1, .flags = CPUID_FLAG_SIGNIFICANT_INDEX },
	{ .function = 0x80000001, .ecx = 0x75c237ff },
	{ .function = 0x80000008, .ecx = 0x0000700f },
	{ .function = 0x8000000a, .eax = 1, .ebx = 0x8000, .edx = 0x1ebfbcff },
};

static void test_topology(void **state)
{
	struct cpuid_entry t[sizeof(table) / sizeof(table[0])];
	memcpy(t, table, sizeof(t));
	struct cpuid_table tab = { t, sizeof(t) / sizeof(t[0]) };
	assert_int_equal(cpuid_vendor(&tab, NULL), VENDOR_AMD);
	cpuid_set_topology(&tab, 3, 4);
	struct cpuid_entry *e = cpuid_find(&tab, 1, 0);
	assert_int_equal(e->ebx >> 24, 3);          /* initial APIC id */
	assert_int_equal((e->ebx >> 16) & 0xff, 4); /* logical CPUs in the package */
	assert_true(e->ecx & (1u << 31));           /* hypervisor present: kvm-clock */
	assert_true(e->edx & (1u << 28));           /* HTT with several CPUs */
	e = cpuid_find(&tab, 0xb, 1);
	assert_int_equal(e->ebx, 4);
	assert_int_equal(e->eax, 2); /* shift: 4 CPUs need 2 bits */
	assert_int_equal(e->edx, 3); /* x2APIC id */
	e = cpuid_find(&tab, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 3);
	assert_int_equal((e->ecx >> 12) & 0xf, 2);
	assert_true(cpuid_find(&tab, 0x80000001, 0)->ecx & 2); /* CmpLegacy */
}

static void test_single_cpu_and_hiding(void **state)
{
	struct cpuid_entry t[sizeof(table) / sizeof(table[0])];
	memcpy(t, table, sizeof(t));
	struct cpuid_table tab = { t, sizeof(t) / sizeof(t[0]) };
	cpuid_set_topology(&tab, 0, 1);
	assert_false(cpuid_find(&tab, 1, 0)->edx & (1u << 28));
	assert_false(cpuid_find(&tab, 0x80000001, 0)->ecx & 2);
	nested_cpuid_hide(&tab); /* the one hider (src/nested) */
	assert_false(cpuid_find(&tab, 0x80000001, 0)->ecx & 4); /* SVM */
	assert_int_equal(cpuid_find(&tab, 0x8000000a, 0)->eax, 0);
	assert_null(cpuid_find(&tab, 0x7, 0));
}

static void test_emulated_additions(void **state)
{
	struct cpuid_entry t[] = {
		{ .function = 1, .ecx = 0x76f8320b },
		{ .function = 0x80000002 }, { .function = 0x80000003 }, { .function = 0x80000004 },
	};
	struct cpuid_table tab = { t, 4 };
	const char brand[49] = "AMD EPYC 7B13 64-Core Processor                ";
	cpuid_add_emulated(&tab, false, brand);
	assert_false(t[0].ecx & (1u << 24));
	char got[49] = "";
	for (int i = 0; i < 3; i++) {
		memcpy(got + 16 * i, &t[1 + i].eax, 4);
		memcpy(got + 16 * i + 4, &t[1 + i].ebx, 4);
		memcpy(got + 16 * i + 8, &t[1 + i].ecx, 4);
		memcpy(got + 16 * i + 12, &t[1 + i].edx, 4);
	}
	assert_string_equal(got, brand);
	/* KVM's own brand is kept; the TSC-deadline bit is set when KVM has it. */
	t[1].eax = 0x20444d41;
	t[2].eax = 0;
	cpuid_add_emulated(&tab, true, "Other");
	assert_int_equal(t[1].eax, 0x20444d41);
	assert_int_equal(t[2].eax, 0);
	assert_true(t[0].ecx & (1u << 24));
	/* No brand leaves: nothing to fill, nothing broken. */
	struct cpuid_table one = { t, 1 };
	cpuid_add_emulated(&one, false, brand);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_single_cpu_and_hiding),
		cmocka_unit_test(test_emulated_additions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
