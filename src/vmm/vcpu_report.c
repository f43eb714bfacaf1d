// SPDX-License-Identifier: MIT
/*
 * What a user needs to report a vCPU that KVM could not run: the exit's own
 * data (an internal error's suberror and, for an emulation failure, the
 * instruction bytes KVM could not emulate) and the vCPU's registers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"
#include "vcpu_report.h"

static const char *suberror_name(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception raised while delivering another";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit reason";
	}
	return "unknown suberror";
}

/* Appends to buf[*len..cap); never overflows, keeps buf NUL-terminated. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) NV_PRINTF(4, 5);
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	if (*len >= cap)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

char *vcpu_describe_internal_error(const struct kvm_run *run, unsigned id, char *buf, size_t cap)
{
	size_t len = 0;
	uint32_t sub = run->internal.suberror, nd = run->internal.ndata;

	buf[0] = 0;
	put(buf, cap, &len, "KVM internal error on vCPU %u: suberror %u (%s)", id, sub,
		suberror_name(sub));
	if (sub == KVM_INTERNAL_ERROR_EMULATION && nd >= 1 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned n = run->emulation_failure.insn_size;
		if (n > sizeof(run->emulation_failure.insn_bytes))
			n = sizeof(run->emulation_failure.insn_bytes);
		put(buf, cap, &len, "; instruction bytes:");
		for (unsigned i = 0; i < n; i++)
			put(buf, cap, &len, " %02x", run->emulation_failure.insn_bytes[i]);
		if (!n)
			put(buf, cap, &len, " (none)");
		return buf;
	}
	if (nd > 16)
		nd = 16;
	if (nd) {
		put(buf, cap, &len, "; data:");
		for (uint32_t i = 0; i < nd; i++)
			put(buf, cap, &len, " %#llx", (unsigned long long)run->internal.data[i]);
	}
	return buf;
}

static void seg_line(char *buf, size_t cap, size_t *len, const char *name,
	const struct kvm_segment *s)
{
	put(buf, cap, len, "%s=%04x base=%016llx limit=%08x type=%x dpl=%u p=%u l=%u db=%u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
		s->present, s->l, s->db);
}

char *vcpu_describe_regs(const struct kvm_regs *r, const struct kvm_sregs *s, char *buf,
	size_t cap)
{
	size_t len = 0;
#define R(x) (unsigned long long)(x)
	buf[0] = 0;
	put(buf, cap, &len, "RIP=%016llx RSP=%016llx RFLAGS=%08llx\n", R(r->rip), R(r->rsp),
		R(r->rflags));
	put(buf, cap, &len, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", R(r->rax),
		R(r->rbx), R(r->rcx), R(r->rdx));
	put(buf, cap, &len, "RSI=%016llx RDI=%016llx RBP=%016llx\n", R(r->rsi), R(r->rdi),
		R(r->rbp));
	put(buf, cap, &len, "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n", R(r->r8),
		R(r->r9), R(r->r10), R(r->r11));
	put(buf, cap, &len, "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n", R(r->r12),
		R(r->r13), R(r->r14), R(r->r15));
	if (s) {
		put(buf, cap, &len, "CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
			R(s->cr0), R(s->cr2), R(s->cr3), R(s->cr4));
		put(buf, cap, &len, "CR8=%016llx EFER=%016llx APIC_BASE=%016llx\n", R(s->cr8),
			R(s->efer), R(s->apic_base));
		seg_line(buf, cap, &len, "CS", &s->cs);
		seg_line(buf, cap, &len, "SS", &s->ss);
		put(buf, cap, &len, "GDT=%016llx/%04x IDT=%016llx/%04x\n", R(s->gdt.base),
			s->gdt.limit, R(s->idt.base), s->idt.limit);
	}
#undef R
	return buf;
}

void vcpu_report_failure(struct vcpu *v, const char *what)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	char buf[2048];
	bool have_s;

	vm_log(v->vm, NV_LOG_ERR, "%s", what);
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0) {
		vm_log(v->vm, NV_LOG_ERR, "vCPU %u: cannot read its registers: %s", v->id,
			strerror(errno));
		return;
	}
	have_s = ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0;
	vcpu_describe_regs(&regs, have_s ? &sregs : NULL, buf, sizeof(buf));
	vm_log(v->vm, NV_LOG_ERR, "vCPU %u registers:", v->id);
	for (char *line = buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		vm_log(v->vm, NV_LOG_ERR, "  %s", line);
	}
}
