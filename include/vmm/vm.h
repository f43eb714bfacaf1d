/* SPDX-License-Identifier: MIT */
/*
 * One running VM: the KVM VM, its RAM, devices and vCPU threads (the
 * "machine", rebuilt on a guest reset when on_reboot = "restart"), plus what
 * outlives a reset: the I/O thread's event loop, the console and the control
 * socket. Locking: vm->lock protects state, stop_reason and the pause
 * handshake; devices have their own locks.
 */
#ifndef NV_VM_H
#define NV_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot.h"
#include "bus.h"
#include "guest_mem.h"
#include "irq.h"
#include "kvm.h"
#include "nested.h"
#include "virtqueue.h"
#include "pvpanic.h"
#include "vm_config.h"

struct api;
struct console;
struct evloop;
struct i8042;
struct serial;
struct cpuid_table;
struct pci_host;
struct virtio_blk;
struct virtio_rng;
struct virtio_net;
struct virtio_console;
struct virtio_balloon;
struct tap;
struct block;
struct mptable_pci_irq;
struct aml;

enum vm_state { VM_RUNNING, VM_PAUSED, VM_STOPPING };

enum vm_stop_reason {
	STOP_NONE = 0,
	STOP_POWEROFF,  /* ACPI S5 */
	STOP_RESET,     /* i8042 reset, triple fault */
	STOP_PANIC,     /* pvpanic */
	STOP_DESTROY,   /* control socket */
	STOP_SIGNAL,    /* SIGINT/SIGTERM/SIGHUP, or the console escape */
	STOP_ERROR,     /* KVM failure or internal error */
};

/*
 * What the process gives a VM, read once by the caller (the command line
 * reads the environment into it). Strings are borrowed: they must outlive
 * the VM. Besides these, the caller must have blocked SIGINT, SIGTERM and
 * SIGHUP in every thread (the VM reads them from a signalfd), installed the
 * vCPU kick handler (vcpu_signals_init) and ignored SIGPIPE.
 */
struct vm_env {
	const char *kvm_device;   /* NULL: /dev/kvm */
	const char *sysfs_root;   /* NULL: /sys (the KVM backend, the nested probe) */
	const char *proc_root;    /* NULL: /proc */
	const char *cache_dir;    /* direct boot's decompressed kernels; NULL: none (a memfd) */
	const struct nv_log *log; /* NULL: stderr */
	bool start_paused;        /* the vCPUs wait for `resume` before their first instruction */
	int seccomp;              /* enum vmm_seccomp_mode: kill (0, the default), log, off */
	int test_violation;       /* tests: a thread of this kind + 1 makes a forbidden call (0: none) */
};

/*
 * One device of the machine (vm_devices.c). name and type are shown by the
 * control socket's status; status (NULL: none) adds the device's own
 * members to o; free (NULL: nothing to free) releases dev when the machine
 * goes. index: the device's place in its vm_config list (disks, nets).
 */
#define VM_MAX_DEVICES 48
struct vm;
struct json_object;
struct vm_device {
	char name[32];
	const char *type;
	void *dev;
	size_t index;
	char address[32]; /* legacy devices: "io:0x3f8" */
	int irq;          /* legacy devices; -1: none */
	void (*status)(struct vm *vm, const struct vm_device *d, struct json_object *o);
	void (*free)(void *dev);
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool paused; /* parked in the pause wait (under vm->lock) */
};

struct vm {
	const struct vm_config *cfg;
	struct vm_env env;
	struct vmm_seccomp *seccomp;  /* the filters (NULL: off) */
	bool io_confined;             /* the I/O thread entered its filter */
	struct kvm kvm;
	struct guest_mem mem;
	struct boot_image img;
	struct bus pio, mmio;
	struct serial *serial;
	struct i8042 *kbd;
	struct pvpanic pvpanic;
	struct irq irq;
	struct gmem gmem;
	struct pci_host *pci;
	struct virtio_blk *blk[VM_MAX_DISKS];
	struct virtio_rng *rng;
	struct virtio_net *nets[VM_MAX_NETS];
	struct virtio_console *vcon;
	struct virtio_balloon *balloon;
	struct tap *taps[VM_MAX_NETS]; /* outlive a reset, like the console */
	struct block *images[VM_MAX_DISKS]; /* the same */
	uint8_t macs[VM_MAX_NETS][6];
	struct vm_device devices[VM_MAX_DEVICES]; /* registration order; freed newest first */
	size_t ndevices;
	struct mptable_pci_irq *pci_irqs;
	unsigned npci_irqs;
	struct cpuid_table *cpuid; /* host-supported table, read once */
	struct nested_host nested_host; /* the host probe (nested != off) */
	bool nested_exposed;            /* the guest sees VMX/SVM */
	struct vcpu *vcpus;
	unsigned ncpus;

	struct evloop *loop;
	struct console *console;
	struct api *api;
	int sigfd;
	int shutdown_fd;              /* timerfd: the hard stop after a shutdown request */
	uint64_t shutdown_timeout_ms;
	bool force_restart;           /* the next reset rebuilds the machine whatever on_reboot says */
	bool restart_on_poweroff;     /* the next power-off rebuilds it (a graceful reboot) */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vm_state state;
	enum vm_stop_reason stop_reason;
	int stop_signal;
	char stop_detail[256];
	unsigned resets;
	uint64_t started_ns;
};

/* vm.c */
/*
 * Checks everything cfg needs from the host (kernel and initrd, /dev/kvm,
 * vCPU count, the nested policy) and opens what outlives a reset (event
 * loop, signalfd, console, control socket, taps). Every problem is logged
 * to env->log. 0 and *out, -EINVAL for bad input (nothing was created), or
 * another -errno.
 */
int vm_create(const struct vm_config *cfg, const struct vm_env *env, struct vm **out);
/*
 * Builds the machine and runs it on the calling thread until the VM stops
 * for good (a reset with on_reboot = "restart" builds it again). 0 when it
 * stopped (vm_stopped_by says why), -errno when a machine could not be built.
 */
int vm_run(struct vm *vm);
void vm_free(struct vm *vm); /* NULL ok */
/* Why it stopped; *signal the signal number for STOP_SIGNAL (0: the console escape). */
enum vm_stop_reason vm_stopped_by(const struct vm *vm, int *signal, const char **detail);
/*
 * The ACPI power button (via the Generic Event Device): what a shutdown
 * request looks like to the guest. -ENOTSUP without ACPI, -ESHUTDOWN while
 * the machine is down. Any thread.
 */
int vm_power_button(struct vm *vm);
/*
 * A shutdown request (I/O thread): the power button; with timeout_ms, a
 * hard stop (STOP_DESTROY) if the guest has not powered off by then; with
 * restart, its power-off rebuilds the machine instead (a graceful reboot).
 */
int vm_shutdown(struct vm *vm, uint64_t timeout_ms, bool restart);
/* A hard reset that rebuilds the machine whatever on_reboot says. Any thread. */
void vm_reboot(struct vm *vm);
/* "poweroff", "reset", "crashed", "destroyed", "signal", "error" ("none"). */
const char *vm_stop_reason_name(enum vm_stop_reason r);
/*
 * An event for the control socket's subscribers (I/O thread only):
 * {"event": event, "reason": reason, "detail": detail, "resets": N}.
 * Events: running (booted, resumed, reset), paused (start, api), shutdown
 * (the power button was pressed), reset (the guest reset; the machine is
 * rebuilt), crashed (panic), stopped (with the stop reason's name).
 */
void vm_publish(struct vm *vm, const char *event, const char *reason, const char *detail);
/* Tests: with vm_env.test_violation == kind + 1, make a call no list allows. */
enum vmm_thread_kind;
void vm_test_violation(const struct vm *vm, enum vmm_thread_kind kind);
/* Logs to the VM's sink. */
void vm_log(const struct vm *vm, enum nv_level level, const char *fmt, ...) NV_PRINTF(3, 4);
/* Asks the VM to stop (first reason wins); callable from any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, const char *detail);
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, char **err);
int vcpu_setup_boot(struct vcpu *v, uint64_t entry, char **err);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
void vcpu_signals_init(void);

/* machine.c: the part rebuilt on reset */
int machine_build(struct vm *vm, char **err);
void machine_destroy(struct vm *vm);

/* devices.c: PCI host bridge and virtio devices */
int devices_create(struct vm *vm, char **err);
/* Disk images and taps, opened once for the VM's life (they outlive resets). */
int devices_open_backends(struct vm *vm, char **err);
void devices_close_backends(struct vm *vm);
void devices_destroy(struct vm *vm);
void devices_dsdt_hook(void *opaque, struct aml *a);

/* vm_devices.c */
int vm_device_add(struct vm *vm, const struct vm_device *d); /* 0 or -ENOSPC */
void vm_devices_free(struct vm *vm);
struct json_object *vm_devices_status(struct vm *vm); /* a new array, one object per device */
void vm_device_status_legacy(struct vm *vm, const struct vm_device *d, struct json_object *o);
void vm_device_status_blk(struct vm *vm, const struct vm_device *d, struct json_object *o);
void vm_device_status_net(struct vm *vm, const struct vm_device *d, struct json_object *o);
void vm_device_status_rng(struct vm *vm, const struct vm_device *d, struct json_object *o);
void vm_device_status_console(struct vm *vm, const struct vm_device *d, struct json_object *o);
void vm_device_status_balloon(struct vm *vm, const struct vm_device *d, struct json_object *o);

/* vm_api.c */
int vm_api_register(struct vm *vm);

#endif
