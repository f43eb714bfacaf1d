// SPDX-License-Identifier: MIT
/* The report of a vCPU KVM could not run: internal-error data and registers. */
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vcpu_report.h"

static void test_emulation_failure_bytes(void **state)
{
	struct kvm_run run;
	char buf[256];
	/* What kvm_pvm reported for the stock Debian kernel: lock cmpxchg16b 0x20(%rbp). */
	static const uint8_t insn[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x4d, 0x20 };
	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run.emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run.emulation_failure.ndata = 3;
	run.emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run.emulation_failure.insn_size = sizeof(insn);
	memcpy(run.emulation_failure.insn_bytes, insn, sizeof(insn));
	vcpu_describe_internal_error(&run, 0, buf, sizeof(buf));
	assert_string_equal(buf, "KVM internal error on vCPU 0: suberror 1 (instruction emulation "
		"failed); instruction bytes: f0 48 0f c7 4d 20");

	/* Without the flag there are no bytes to trust: the raw data words instead. */
	run.emulation_failure.flags = 0;
	run.internal.ndata = 2;
	run.internal.data[0] = 0;
	run.internal.data[1] = 0x81;
	vcpu_describe_internal_error(&run, 3, buf, sizeof(buf));
	assert_string_equal(buf, "KVM internal error on vCPU 3: suberror 1 (instruction emulation "
		"failed); data: 0 0x81");

	/* A hostile or garbled size never reads past the 15 bytes. */
	run.emulation_failure.ndata = 3;
	run.emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run.emulation_failure.insn_size = 200;
	memcpy(run.emulation_failure.insn_bytes, insn, sizeof(insn)); /* data[] overlaid them */
	vcpu_describe_internal_error(&run, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, "instruction bytes: f0 48 0f c7 4d 20"));
	assert_int_equal(strlen(strstr(buf, "bytes: ")), strlen("bytes: ") + 15 * 3 - 1);
}

static void test_other_suberrors(void **state)
{
	struct kvm_run run;
	char buf[96];
	memset(&run, 0, sizeof(run));
	run.internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	run.internal.ndata = 40; /* more than the 16 words there are */
	for (int i = 0; i < 16; i++)
		run.internal.data[i] = 0xffffffffffffffffull;
	vcpu_describe_internal_error(&run, 1, buf, sizeof(buf)); /* truncated, terminated */
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_non_null(strstr(buf, "suberror 3 (exit while delivering an event)"));
	run.internal.suberror = 99;
	run.internal.ndata = 0;
	vcpu_describe_internal_error(&run, 1, buf, sizeof(buf));
	assert_string_equal(buf, "KVM internal error on vCPU 1: suberror 99 (unknown suberror)");
}

static void test_registers(void **state)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char buf[2048];
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	r.rip = 0xffffffff8132ae50ull;
	r.rsp = 0xffffffff82a03cd8ull;
	r.r15 = 0x1234;
	s.cr0 = 0x80050033;
	s.cr3 = 0x2a10000;
	s.efer = 0xd01;
	s.cs.selector = 0x10;
	s.cs.l = 1;
	vcpu_describe_regs(&r, &s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "RIP=ffffffff8132ae50 RSP=ffffffff82a03cd8"));
	assert_non_null(strstr(buf, "R15=0000000000001234"));
	assert_non_null(strstr(buf, "CR0=0000000080050033"));
	assert_non_null(strstr(buf, "CR3=0000000002a10000"));
	assert_non_null(strstr(buf, "EFER=0000000000000d01"));
	assert_non_null(strstr(buf, "CS=0010 "));
	assert_true(buf[strlen(buf) - 1] == '\n');
	vcpu_describe_regs(&r, NULL, buf, sizeof(buf));
	assert_null(strstr(buf, "CR0="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulation_failure_bytes),
		cmocka_unit_test(test_other_suberrors),
		cmocka_unit_test(test_registers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
