// SPDX-License-Identifier: MIT
/*
 * The VM's life cycle: vm_create checks and opens everything a validated
 * vm_config needs (nothing is left behind when it fails), vm_run builds the
 * machine and makes the calling thread the I/O thread (console, control
 * socket, signals; each vCPU has its own thread) until the VM stops, and
 * vm_free releases it. A stop request from any thread wakes the I/O thread,
 * which joins the vCPUs and either ends or, for a guest reset with
 * on_reboot = "restart", builds the machine again. Process-wide setup
 * (signal dispositions, thread defaults) and the environment are the
 * caller's: see struct vm_env.
 */
#include <errno.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "console.h"
#include "cpuid.h"
#include "evloop.h"
#include "serial.h"
#include "virtio_console.h"
#include "vm.h"
#include "vmm_seccomp.h"

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

const char *vm_stop_reason_name(enum vm_stop_reason r)
{
	switch (r) {
	case STOP_NONE:
		return "none";
	case STOP_POWEROFF:
		return "poweroff";
	case STOP_RESET:
		return "reset";
	case STOP_PANIC:
		return "crashed";
	case STOP_DESTROY:
		return "destroyed";
	case STOP_SIGNAL:
		return "signal";
	case STOP_ERROR:
		break;
	}
	return "error";
}

void vm_publish(struct vm *vm, const char *event, const char *reason, const char *detail)
{
	struct json_object *d;
	if (!vm->api)
		return;
	d = json_object_new_object();
	if (reason)
		json_object_object_add(d, "reason", json_object_new_string(reason));
	if (detail && *detail)
		json_object_object_add(d, "detail", json_object_new_string(detail));
	json_object_object_add(d, "resets", json_object_new_int((int)vm->resets));
	api_publish(vm->api, event, d);
}

int vm_power_button(struct vm *vm)
{
	int r;
	if (!vm->cfg->acpi)
		return -ENOTSUP; /* no ACPI: the guest has no power button */
	pthread_mutex_lock(&vm->lock);
	r = vm->state == VM_STOPPING || vm->kvm.vm_fd < 0 ? -ESHUTDOWN : 0;
	if (r == 0)
		r = kvm_irq_line(&vm->kvm, IRQ_POWER_BUTTON, 1);
	if (r == 0)
		r = kvm_irq_line(&vm->kvm, IRQ_POWER_BUTTON, 0); /* an edge */
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static void on_shutdown_timeout(void *opaque, int fd, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n;
	char d[96];
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	snprintf(d, sizeof(d), "the guest did not power off within %llu ms of the shutdown request",
		(unsigned long long)vm->shutdown_timeout_ms);
	vm_request_stop(vm, STOP_DESTROY, d);
}

int vm_shutdown(struct vm *vm, uint64_t timeout_ms, bool restart)
{
	int r = vm_power_button(vm);
	if (r < 0)
		return r;
	vm->restart_on_poweroff = restart;
	if (timeout_ms) {
		struct itimerspec its = { .it_value = { (time_t)(timeout_ms / 1000),
			(long)(timeout_ms % 1000) * 1000000 } };
		if (vm->shutdown_fd < 0) {
			vm->shutdown_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
			if (vm->shutdown_fd < 0)
				return -errno;
			r = evloop_add(vm->loop, vm->shutdown_fd, EPOLLIN, on_shutdown_timeout, vm);
			if (r < 0) {
				close_fd(&vm->shutdown_fd);
				return r;
			}
		}
		vm->shutdown_timeout_ms = timeout_ms;
		if (timerfd_settime(vm->shutdown_fd, 0, &its, NULL) < 0)
			return -errno;
	}
	vm_publish(vm, "shutdown", restart ? "reboot" : "power-button", NULL);
	return 0;
}

void vm_reboot(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->force_restart = true;
	pthread_mutex_unlock(&vm->lock);
	vm_request_stop(vm, STOP_RESET, "reboot requested");
}

static void disarm_shutdown(struct vm *vm)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	if (vm->shutdown_fd >= 0)
		timerfd_settime(vm->shutdown_fd, 0, &off, NULL);
}

/* Tests: a thread of this kind makes a call no list allows (socket(AF_PACKET)). */
void vm_test_violation(const struct vm *vm, enum vmm_thread_kind kind)
{
	if (vm->env.test_violation == (int)kind + 1) {
		int fd = socket(AF_PACKET, SOCK_RAW, 0);
		if (fd >= 0)
			close(fd);
	}
}

static int confine_io(struct vm *vm, char **err)
{
	if (vm->io_confined)
		return 0;
	int r = vmm_seccomp_enter(vm->seccomp, VMM_THREAD_IO);
	if (r < 0) {
		*err = str_printf("seccomp: cannot confine the I/O thread: %s", strerror(-r));
		return r;
	}
	vm->io_confined = true;
	vm_test_violation(vm, VMM_THREAD_IO);
	return 0;
}

static int start_machine(struct vm *vm, bool paused, char **err)
{
	int r = machine_build(vm, err);
	if (r < 0)
		return r;
	/* Before any vCPU exists: the guest never runs next to an unconfined I/O
	 * thread. Later machines are built under this filter. (Log mode waits for
	 * the first vCPUs, so that they report against their own lists.) */
	bool logmode = vm->env.seccomp == VMM_SECCOMP_LOG;
	if (!logmode && (r = confine_io(vm, err)) < 0)
		return r;
	pthread_mutex_lock(&vm->lock);
	vm->state = paused ? VM_PAUSED : VM_RUNNING;
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
	return logmode ? confine_io(vm, err) : 0;
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
	struct nested_probe_opts o = { vm->env.kvm_device, vm->env.sysfs_root, vm->env.proc_root,
		NULL };
	int r = nested_probe(&vm->nested_host, NULL, &o);
	if (r < 0)
		return r;
	struct cpuid_table t = { malloc(vm->cpuid->n * sizeof(struct cpuid_entry)), vm->cpuid->n };
	if (!t.e)
		return -ENOMEM;
	memcpy(t.e, vm->cpuid->e, t.n * sizeof(*t.e));
	r = nested_cpuid_apply(&t, vm->cfg->nested, &vm->nested_host, d, &vm->nested_exposed);
	free(t.e);
	if (r == 0 && vm->nested_exposed)
		vm_log(vm, NV_LOG_INFO, "nested virtualization: %s exposed to the guest",
			nested_virt_name(vm->nested_host.vendor));
	else if (r == 0)
		vm_log(vm, NV_LOG_INFO, "nested = \"auto\": this host cannot nest; the guest gets no "
			"VMX/SVM");
	return r;
}

enum vm_stop_reason vm_stopped_by(const struct vm *vm, int *signal, const char **detail)
{
	if (signal)
		*signal = vm->stop_signal;
	if (detail)
		*detail = vm->stop_detail;
	return vm->stop_reason;
}

void vm_log(const struct vm *vm, enum nv_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nv_vlogf(vm->env.log, level, fmt, ap);
	va_end(ap);
}

/* Everything the user's input and the host must allow, before the machine is built. */
static int vm_check_host(struct vm *vm, struct diag *d, char **err)
{
	const struct vm_config *cfg = vm->cfg;

	if (boot_image_open(&vm->img, cfg->kernel, cfg->initrd, cfg->cmdline, cfg->direct_boot,
		    cfg->memory, d) < 0)
		return -EINVAL;
	vm->img.cache_dir = vm->env.cache_dir;
	vm->img.log = vm->env.log;
	if (nested_kvm_backend(vm->env.sysfs_root) == NESTED_BACKEND_PVM) {
		if (cfg->nested == NESTED_ON) {
			diag_add(d, NULL, 0, 0, "nested = \"on\": this host cannot give the guest VMX/SVM: "
				"%s", nested_pvm_explanation());
			return -EINVAL;
		}
		vm_log(vm, NV_LOG_WARN, "%s; a stock kernel will not boot here",
			nested_pvm_explanation());
	}
	int r = kvm_open(&vm->kvm, vm->env.kvm_device, err);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL; /* no usable /dev/kvm: the user's to fix */
	if ((int)cfg->cpus > vm->kvm.max_vcpus) {
		diag_add(d, NULL, 0, 0, "cpus: %u vCPUs are more than KVM allows on this host (at "
			"most %d)", cfg->cpus, vm->kvm.max_vcpus);
		return -EINVAL;
	}
	if (vm->kvm.nr_vcpus > 0 && (int)cfg->cpus > vm->kvm.nr_vcpus)
		vm_log(vm, NV_LOG_WARN, "cpus: %u vCPUs on a host with %d CPUs: the guest will be slow",
			cfg->cpus, vm->kvm.nr_vcpus);
	r = load_cpuid(vm, err);
	if (r < 0)
		return r;
	r = nested_policy(vm, d);
	return r == -ENOTSUP ? -EINVAL : r;
}

/* The parts that outlive a reset: event loop, signals, console, control socket, taps. */
static int vm_open_io(struct vm *vm, char **err)
{
	const struct vm_config *cfg = vm->cfg;
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	vm->loop = evloop_new();
	vm->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!vm->loop || vm->sigfd < 0 || evloop_add(vm->loop, vm->sigfd, EPOLLIN, on_signal, vm) < 0) {
		*err = strdup("cannot set up the event loop");
		return -EIO;
	}
	int r = console_open(&vm->console, vm->loop, cfg->console, cfg->console_path, vm->env.log,
		err);
	if (r < 0)
		return r == -EINVAL ? -EIO : r;
	console_set_sink(vm->console, console_to_guest, on_console_quit, vm);
	if (cfg->api_socket) {
		r = api_new(vm->loop, cfg->api_socket, &vm->api, err);
		if (r < 0)
			return r == -EINVAL ? -EIO : r;
		if (vm_api_register(vm) < 0) {
			*err = strdup("cannot register control socket commands");
			return -ENOMEM;
		}
	}
	r = devices_open_backends(vm, err);
	return r == -EINVAL ? -EIO : r; /* only the checks above speak for bad input */
}

int vm_create(const struct vm_config *cfg, const struct vm_env *env, struct vm **out)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	char *err = NULL;
	struct diag d;
	int r;

	*out = NULL;
	if (!vm)
		return -ENOMEM;
	diag_init(&d);
	vm->cfg = cfg;
	if (env)
		vm->env = *env;
	vm->ncpus = cfg->cpus;
	vm->sigfd = vm->shutdown_fd = -1;
	vm->kvm.fd = vm->kvm.vm_fd = -1;
	vm->img.kernel_fd = vm->img.initrd_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	/* Everything the user gave is checked before anything is created. */
	r = vmm_seccomp_new((enum vmm_seccomp_mode)vm->env.seccomp, vm->env.log, &vm->seccomp);
	if (r < 0)
		err = str_printf("seccomp: %s", strerror(-r));
	if (r == 0)
		r = vm_check_host(vm, &d, &err);
	if (r == 0)
		r = vm_open_io(vm, &err);
	for (size_t i = 0; i < d.n; i++)
		vm_log(vm, NV_LOG_ERR, "%s", d.msgs[i]);
	if (err || (r < 0 && !d.n))
		vm_log(vm, NV_LOG_ERR, "%s", err ? err : strerror(-r));
	free(err);
	diag_free(&d);
	if (r < 0) {
		vm_free(vm);
		return r;
	}
	*out = vm;
	return 0;
}

int vm_run(struct vm *vm)
{
	char *err = NULL;
	uint64_t t0 = now_ns();
	int r = start_machine(vm, vm->env.start_paused, &err);

	if (r < 0)
		goto fail;
	if (vm->env.start_paused)
		vm_publish(vm, "paused", "start", NULL);
	else
		vm_publish(vm, "running", "booted", NULL);
	vm->started_ns = now_ns();
	vm_log(vm, NV_LOG_DEBUG, "machine built and vCPUs started in %llu ms",
		(unsigned long long)((vm->started_ns - t0) / 1000000));
	for (;;) {
		evloop_run_once(vm->loop, -1);
		pthread_mutex_lock(&vm->lock);
		enum vm_stop_reason why = vm->stop_reason;
		pthread_mutex_unlock(&vm->lock);
		if (why == STOP_NONE)
			continue;
		stop_machine(vm);
		disarm_shutdown(vm);
		pthread_mutex_lock(&vm->lock);
		bool restart = (why == STOP_RESET && (vm->cfg->on_reboot == ON_REBOOT_RESTART ||
						       vm->force_restart)) ||
			       (why == STOP_POWEROFF && vm->restart_on_poweroff);
		vm->force_restart = vm->restart_on_poweroff = false;
		pthread_mutex_unlock(&vm->lock);
		if (!restart) {
			if (why == STOP_PANIC)
				vm_publish(vm, "crashed", "panic", vm->stop_detail);
			vm_publish(vm, "stopped", vm_stop_reason_name(why), vm->stop_detail);
			return 0;
		}
		vm->resets++;
		vm_log(vm, NV_LOG_INFO, "guest reset (%s): restarting", vm->stop_detail);
		vm_publish(vm, "reset", why == STOP_POWEROFF ? "reboot" : "guest", vm->stop_detail);
		r = start_machine(vm, false, &err);
		if (r < 0)
			goto fail;
		vm_publish(vm, "running", "reset", NULL);
	}
fail:
	vm_log(vm, NV_LOG_ERR, "%s", err ? err : strerror(-r));
	free(err);
	stop_machine(vm);
	pthread_mutex_lock(&vm->lock);
	vm->stop_reason = STOP_ERROR;
	snprintf(vm->stop_detail, sizeof(vm->stop_detail), "the machine could not be built");
	pthread_mutex_unlock(&vm->lock);
	vm_publish(vm, "stopped", "error", vm->stop_detail);
	return r;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	stop_machine(vm);
	devices_close_backends(vm);
	api_free(vm->api);
	console_close(vm->console);
	if (vm->loop && vm->sigfd >= 0)
		evloop_del(vm->loop, vm->sigfd);
	close_fd(&vm->sigfd);
	if (vm->loop && vm->shutdown_fd >= 0)
		evloop_del(vm->loop, vm->shutdown_fd);
	close_fd(&vm->shutdown_fd);
	evloop_free(vm->loop);
	if (vm->cpuid)
		free(vm->cpuid->e);
	free(vm->cpuid);
	boot_image_close(&vm->img);
	kvm_close(&vm->kvm);
	vmm_seccomp_free(vm->seccomp); /* every confined thread but this one is gone */
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
