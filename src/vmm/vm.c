// SPDX-License-Identifier: MIT
/*
 * vm_run: builds the VM described by a validated vm_config and runs it.
 * The calling thread becomes the I/O thread (console, control socket,
 * signals); each vCPU has its own thread. A stop request from any thread
 * wakes the I/O thread, which joins the vCPUs and either ends or, for a
 * guest reset with on_reboot = "restart", builds the machine again.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "console.h"
#include "cpuid.h"
#include "evloop.h"
#include "serial.h"
#include "virtio_console.h"
#include "vm.h"

static void wake_noop(void *opaque)
{
	(void)opaque;
}

static void kick_all(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, const char *detail)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->stop_reason == STOP_NONE) {
		vm->stop_reason = why;
		snprintf(vm->stop_detail, sizeof(vm->stop_detail), "%s", detail ? detail : "");
	}
	vm->state = VM_STOPPING;
	kick_all(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	evloop_call(vm->loop, wake_noop, NULL);
}

int vm_pause(struct vm *vm)
{
	int r = 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STOPPING) {
		r = -ESHUTDOWN;
		goto out;
	}
	if (vm->state == VM_PAUSED)
		goto out;
	vm->state = VM_PAUSED;
	kick_all(vm);
	/* Wait until every vCPU is parked, so that "paused" is true when we answer. */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	for (;;) {
		unsigned parked = 0;
		for (unsigned i = 0; i < vm->ncpus; i++)
			parked += vm->vcpus[i].paused;
		if (parked == vm->ncpus || vm->state != VM_PAUSED)
			break;
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) == ETIMEDOUT) {
			r = -ETIMEDOUT;
			break;
		}
	}
out:
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int vm_resume(struct vm *vm)
{
	int r = 0;
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STOPPING)
		r = -ESHUTDOWN;
	else
		vm->state = VM_RUNNING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

/* Console input goes to hvc0 when there is a virtio-console, else to the UART. */
static size_t console_to_guest(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;
	if (vm->vcon)
		return virtio_console_input(vm->vcon, buf, len);
	return vm->serial ? serial_rx(vm->serial, buf, len) : len;
}

static void on_console_quit(void *opaque)
{
	vm_request_stop(opaque, STOP_SIGNAL, "console escape (Ctrl-A x)");
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	char d[64];
	snprintf(d, sizeof(d), "signal %s", strsignal((int)si.ssi_signo));
	pthread_mutex_lock(&vm->lock);
	if (vm->stop_reason == STOP_NONE)
		vm->stop_signal = (int)si.ssi_signo;
	pthread_mutex_unlock(&vm->lock);
	vm_request_stop(vm, STOP_SIGNAL, d);
}

static int start_machine(struct vm *vm, char **err)
{
	int r = machine_build(vm, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_RUNNING;
	vm->stop_reason = STOP_NONE;
	vm->stop_detail[0] = 0;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		r = vcpu_start(&vm->vcpus[i]);
		if (r < 0) {
			if (asprintf(err, "starting vCPU %u: %s", i, strerror(-r)) < 0)
				*err = NULL;
			vm_request_stop(vm, STOP_ERROR, "vCPU start failed");
			return r;
		}
	}
	return 0;
}

static void stop_machine(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_STOPPING;
	kick_all(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	machine_destroy(vm);
}

/*
 * Threads (vCPUs, device workers) get 512 KiB stacks instead of glibc's
 * 8 MiB: with transparent huge pages "always", a touched 8 MiB stack that
 * happens to be 2 MiB aligned is backed by a whole 2 MiB page, which shows
 * up as VMM overhead. Nothing here recurses; 512 KiB is plenty.
 */
static void small_thread_stacks(void)
{
	pthread_attr_t a;
	if (pthread_attr_init(&a))
		return;
	if (!pthread_attr_setstacksize(&a, 512 * 1024))
		pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
}

static int load_cpuid(struct vm *vm, char **err)
{
	struct kvm_cpuid2 *c;
	int r = kvm_supported_cpuid(&vm->kvm, &c);
	if (r < 0) {
		if (asprintf(err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid));
	if (!vm->cpuid) {
		free(c);
		return -ENOMEM;
	}
	vm->cpuid->e = malloc(c->nent * sizeof(struct cpuid_entry));
	if (!vm->cpuid->e) {
		free(c);
		return -ENOMEM;
	}
	memcpy(vm->cpuid->e, c->entries, c->nent * sizeof(struct cpuid_entry));
	vm->cpuid->n = c->nent;
	free(c);
	char brand[49] = "";
	uint32_t r4[4];
	cpuid_host(0x80000000, 0, r4);
	if (r4[0] >= 0x80000004)
		for (unsigned i = 0; i < 3; i++) {
			cpuid_host(0x80000002 + i, 0, r4);
			memcpy(brand + 16 * i, r4, 16);
		}
	cpuid_add_emulated(vm->cpuid, ioctl(vm->kvm.fd, KVM_CHECK_EXTENSION,
		KVM_CAP_TSC_DEADLINE_TIMER) > 0, brand);
	return 0;
}

/*
 * Decides once whether the guest gets VMX/SVM (nested = "on" refuses to start
 * when the host cannot nest, naming the CPUID bit and the fix).
 */
static int nested_policy(struct vm *vm, struct diag *d)
{
	nested_host_init(&vm->nested_host);
	if (vm->cfg->nested == NESTED_OFF)
		return 0;
	int r = nested_probe(&vm->nested_host, NULL, NULL);
	if (r < 0)
		return r;
	struct cpuid_table t = { malloc(vm->cpuid->n * sizeof(struct cpuid_entry)), vm->cpuid->n };
	if (!t.e)
		return -ENOMEM;
	memcpy(t.e, vm->cpuid->e, t.n * sizeof(*t.e));
	r = nested_cpuid_apply(&t, vm->cfg->nested, &vm->nested_host, d, &vm->nested_exposed);
	free(t.e);
	if (r == 0 && vm->nested_exposed)
		nv_info("nested virtualization: %s exposed to the guest",
			nested_virt_name(vm->nested_host.vendor));
	else if (r == 0)
		nv_info("nested = \"auto\": this host cannot nest; the guest gets no VMX/SVM");
	return r;
}

static int exit_status(struct vm *vm)
{
	const char *d = vm->stop_detail;
	switch (vm->stop_reason) {
	case STOP_POWEROFF:
		nv_info("guest powered off");
		return VMM_EXIT_OK;
	case STOP_RESET:
		nv_info("guest rebooted (%s); exiting as on_reboot = \"exit\"", d);
		return VMM_EXIT_OK;
	case STOP_PANIC:
		nv_err("guest panic: %s", d);
		return VMM_EXIT_PANIC;
	case STOP_DESTROY:
		nv_info("VM destroyed (%s)", d);
		return VMM_EXIT_OK;
	case STOP_SIGNAL:
		nv_info("stopped by %s", d);
		return vm->stop_signal ? 128 + vm->stop_signal : VMM_EXIT_OK;
	case STOP_ERROR:
	default:
		nv_err("%s", d[0] ? d : "VM stopped on an error");
		return VMM_EXIT_ERROR;
	}
}

int vm_run(const struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	char *err = NULL;
	int status = VMM_EXIT_USAGE;
	sigset_t sigs, oldsigs;
	struct diag d;
	diag_init(&d);
	if (!vm)
		return VMM_EXIT_ERROR;
	vm->cfg = cfg;
	vm->ncpus = cfg->cpus;
	vm->sigfd = -1;
	vm->kvm.fd = vm->kvm.vm_fd = -1;
	vm->img.kernel_fd = vm->img.initrd_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	/* Everything the user gave is checked before anything is created. */
	if (boot_image_open(&vm->img, cfg->kernel, cfg->initrd, cfg->cmdline, cfg->direct_boot,
		    cfg->memory, &d) < 0) {
		diag_print(&d, stderr);
		goto out;
	}
	if (nested_kvm_backend(NULL) == NESTED_BACKEND_PVM) {
		if (cfg->nested == NESTED_ON) {
			nv_err("nested = \"on\": this host cannot give the guest VMX/SVM: %s",
				nested_pvm_explanation());
			goto out;
		}
		nv_warn("%s; a stock kernel will not boot here", nested_pvm_explanation());
	}
	if (kvm_open(&vm->kvm, NULL, &err) < 0)
		goto out_err;
	if ((int)cfg->cpus > vm->kvm.max_vcpus) {
		nv_err("cpus: %u vCPUs are more than KVM allows on this host (at most %d)", cfg->cpus,
			vm->kvm.max_vcpus);
		goto out;
	}
	if (vm->kvm.nr_vcpus > 0 && (int)cfg->cpus > vm->kvm.nr_vcpus)
		nv_warn("cpus: %u vCPUs on a host with %d CPUs: the guest will be slow", cfg->cpus,
			vm->kvm.nr_vcpus);
	status = VMM_EXIT_ERROR;
	if (load_cpuid(vm, &err) < 0)
		goto out_err;
	if (nested_policy(vm, &d) < 0) {
		diag_print(&d, stderr);
		status = VMM_EXIT_USAGE;
		goto out;
	}

	vcpu_signals_init();
	small_thread_stacks();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &oldsigs);
	vm->loop = evloop_new();
	vm->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!vm->loop || vm->sigfd < 0 || evloop_add(vm->loop, vm->sigfd, EPOLLIN, on_signal, vm) < 0) {
		err = strdup("cannot set up the event loop");
		goto out_err;
	}
	if (console_open(&vm->console, vm->loop, cfg->console, cfg->console_path, &err) < 0)
		goto out_err;
	console_set_sink(vm->console, console_to_guest, on_console_quit, vm);
	if (cfg->api_socket) {
		if (api_new(vm->loop, cfg->api_socket, &vm->api, &err) < 0)
			goto out_err;
		if (vm_api_register(vm) < 0) {
			err = strdup("cannot register control socket commands");
			goto out_err;
		}
	}

	if (devices_open_taps(vm, &err) < 0)
		goto out_err;
	uint64_t t0 = now_ns();
	if (start_machine(vm, &err) < 0)
		goto out_err;
	vm->started_ns = now_ns();
	nv_debug("machine built and vCPUs started in %llu ms",
		(unsigned long long)((vm->started_ns - t0) / 1000000));
	for (;;) {
		evloop_run_once(vm->loop, -1);
		pthread_mutex_lock(&vm->lock);
		enum vm_stop_reason why = vm->stop_reason;
		pthread_mutex_unlock(&vm->lock);
		if (why == STOP_NONE)
			continue;
		stop_machine(vm);
		if (why == STOP_RESET && cfg->on_reboot == ON_REBOOT_RESTART) {
			vm->resets++;
			nv_info("guest reset (%s): restarting", vm->stop_detail);
			if (start_machine(vm, &err) < 0)
				goto out_err;
			continue;
		}
		break;
	}
	status = exit_status(vm);
	goto out;

out_err:
	if (err)
		nv_err("%s", err);
	else
		nv_err("out of memory");
out:
	stop_machine(vm);
	devices_close_taps(vm);
	api_free(vm->api);
	console_close(vm->console);
	if (vm->loop && vm->sigfd >= 0)
		evloop_del(vm->loop, vm->sigfd);
	close_fd(&vm->sigfd);
	evloop_free(vm->loop);
	if (vm->loop)
		pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);
	if (vm->cpuid)
		free(vm->cpuid->e);
	free(vm->cpuid);
	boot_image_close(&vm->img);
	kvm_close(&vm->kvm);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(err);
	diag_free(&d);
	free(vm);
	return status;
}
