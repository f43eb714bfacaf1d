// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpuid.h"
#include "vcpu_report.h"
#include "vm.h"
#include "vmm_seccomp.h"

#define SIG_KICK SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_signals_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN returns -EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIG_KICK, &sa, NULL);
}

static int set_cpuid(struct vcpu *v)
{
	const struct cpuid_table *host = v->vm->cpuid;
	size_t n = host->n;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	if (!c)
		return -ENOMEM;
	_Static_assert(sizeof(struct cpuid_entry) == sizeof(struct kvm_cpuid_entry2),
		"cpuid_entry must mirror kvm_cpuid_entry2");
	struct cpuid_table t = { (struct cpuid_entry *)c->entries, n };
	memcpy(t.e, host->e, n * sizeof(*t.e));
	c->nent = (uint32_t)n;
	cpuid_set_topology(&t, v->id, v->vm->ncpus);
	/* Checked once in vm_run; the same answer for every vCPU. */
	nested_cpuid_apply(&t, v->vm->cfg->nested, &v->vm->nested_host, NULL, NULL);
	int r = ioctl(v->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return r;
}

/* Firmware's job on real hardware: LINT0 delivers ExtINT (the PIC), LINT1 NMI. */
static int set_lint(struct vcpu *v)
{
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	uint32_t lint0, lint1;
	memcpy(&lint0, &l.regs[0x350], 4);
	memcpy(&lint1, &l.regs[0x360], 4);
	lint0 = (lint0 & ~0x700u & ~0x10000u) | 0x700; /* ExtINT, unmasked */
	lint1 = (lint1 & ~0x700u & ~0x10000u) | 0x400; /* NMI, unmasked */
	memcpy(&l.regs[0x350], &lint0, 4);
	memcpy(&l.regs[0x360], &lint1, 4);
	return ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, char **err)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		int e = errno;
		*err = str_printf("KVM_CREATE_VCPU %u: %s", id, strerror(e));
		return -e;
	}
	fcntl(v->fd, F_SETFD, FD_CLOEXEC);
	v->run = mmap(NULL, (size_t)vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		v->run = NULL;
		*err = str_printf("mmap of vCPU %u: %s", id, strerror(e));
		return -e;
	}
	int r = set_cpuid(v);
	if (r < 0) {
		*err = str_printf("KVM_SET_CPUID2 on vCPU %u: %s", id, strerror(-r));
		return r;
	}
	r = set_lint(v);
	if (r < 0) {
		*err = str_printf("local APIC setup of vCPU %u: %s", id, strerror(-r));
		return r;
	}
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		int e = errno;
		*err = str_printf("KVM_SET_FPU on vCPU %u: %s", id, strerror(e));
		return -e;
	}
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

int vcpu_setup_boot(struct vcpu *v, uint64_t entry, char **err)
{
	struct kvm_sregs sr;
	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		goto fail;
	seg(&sr.cs, BOOT_CS, 0xb, true);
	seg(&sr.ds, BOOT_DS, 0x3, false);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.selector = BOOT_TSS;
	sr.tr.limit = 0x67;
	sr.tr.type = 0xb; /* busy 64-bit TSS, as Intel's entry checks demand */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.type = 0x2;
	sr.ldt.unusable = 1;
	sr.gdt.base = BOOT_GDT_ADDR;
	sr.gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = 0x80000031; /* PG | NE | ET | PE */
	sr.cr3 = BOOT_PML4_ADDR;
	sr.cr4 = 0x20;       /* PAE */
	sr.efer = 0x500;     /* LME | LMA */
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		goto fail;
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = BOOT_ZEROPAGE_ADDR;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail: {
	int e = errno;
	*err = str_printf("setting up the boot CPU state: %s", strerror(e));
	return -e;
}
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool w = run->io.direction == KVM_EXIT_IO_OUT;
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(&v->vm->pio, run->io.port, data, run->io.size, w);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
		run->mmio.is_write);
}

/* Parks the thread while paused; returns false when the vCPU must stop. */
static bool wait_runnable(struct vcpu *v)
{
	struct vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	while (vm->state == VM_PAUSED) {
		if (!v->paused) {
			v->paused = true;
			pthread_cond_broadcast(&vm->cond);
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	v->paused = false;
	bool go = vm->state == VM_RUNNING;
	if (go)
		v->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	/* Before the guest's first instruction on this vCPU. */
	int sr = vmm_seccomp_enter(vm->seccomp, VMM_THREAD_VCPU);
	if (sr < 0) {
		char d[96];
		snprintf(d, sizeof(d), "seccomp: cannot confine vCPU %u: %s", v->id, strerror(-sr));
		vm_request_stop(vm, STOP_ERROR, d);
		return NULL;
	}
	vm_test_violation(vm, VMM_THREAD_VCPU);

	while (wait_runnable(v)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char d[128];
			snprintf(d, sizeof(d), "KVM_RUN on vCPU %u: %s", v->id, strerror(errno));
			vm_request_stop(vm, STOP_ERROR, d);
			break;
		}
		struct kvm_run *run = v->run;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			vm_request_stop(vm, STOP_RESET, "triple fault");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_request_stop(vm, STOP_RESET, "system reset");
			else
				vm_request_stop(vm, STOP_POWEROFF, "system event");
			break;
		case KVM_EXIT_FAIL_ENTRY: {
			char d[128];
			snprintf(d, sizeof(d), "vCPU %u failed to enter the guest (reason 0x%llx)", v->id,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			vcpu_report_failure(v, d);
			vm_request_stop(vm, STOP_ERROR, d);
			break;
		}
		case KVM_EXIT_INTERNAL_ERROR: {
			char d[256];
			vcpu_describe_internal_error(run, v->id, d, sizeof(d));
			vcpu_report_failure(v, d);
			vm_request_stop(vm, STOP_ERROR, d);
			break;
		}
		default: {
			char d[128];
			snprintf(d, sizeof(d), "unexpected KVM exit %u on vCPU %u", run->exit_reason, v->id);
			vm_request_stop(vm, STOP_ERROR, d);
			break;
		}
		}
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	/* vCPU threads take no process signals except the kick. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIG_KICK);
	sigdelset(&all, SIGSYS); /* a seccomp violation reports itself (vmm_seccomp.h) */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	v->started = true;
	return 0;
}

/* Call with vm->lock held after changing vm->state. */
void vcpu_kick(struct vcpu *v)
{
	if (!v->run)
		return;
	v->run->immediate_exit = 1;
	if (v->started)
		pthread_kill(v->thread, SIG_KICK);
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	if (v->started) {
		pthread_join(v->thread, NULL);
		v->started = false;
	}
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm.run_size);
	v->run = NULL;
	close_fd(&v->fd);
}
