/* SPDX-License-Identifier: MIT */
/*
 * Reports of a vCPU that KVM could not run (src/vmm/vcpu_report.c): the
 * exit's own data and the registers, in text a user can paste into a bug
 * report. The describe functions are pure (unit-tested with made-up exits).
 */
#ifndef NV_VCPU_REPORT_H
#define NV_VCPU_REPORT_H

#include <stddef.h>

struct kvm_run;
struct kvm_regs;
struct kvm_sregs;
struct vcpu;

/*
 * One line for a KVM_EXIT_INTERNAL_ERROR: "KVM internal error on vCPU 0:
 * suberror 1 (instruction emulation failed); instruction bytes: f0 48 0f c7
 * 4d 20" (the bytes when KVM provides them: flags bit 0 of the emulation
 * failure data), or the raw data words for other suberrors. Returns buf.
 */
char *vcpu_describe_internal_error(const struct kvm_run *run, unsigned id, char *buf, size_t cap);
/* General registers, and with s the control registers, EFER, CS, SS, GDT, IDT; lines end in \n. */
char *vcpu_describe_regs(const struct kvm_regs *r, const struct kvm_sregs *s, char *buf,
	size_t cap);
/* Logs what (one line) and the vCPU's registers to the VM's sink. */
void vcpu_report_failure(struct vcpu *v, const char *what);

#endif
