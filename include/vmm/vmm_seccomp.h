/* SPDX-License-Identifier: MIT */
/*
 * seccomp allow-lists per thread kind (src/vmm/seccomp.c, libseccomp). Each
 * thread of the VM confines itself when it starts, before it touches
 * anything the guest controls:
 *
 *   vcpu    a vCPU thread: KVM_RUN and the exits it serves (port and MMIO
 *           device emulation, interrupt lines, irqfd/ioeventfd binding)
 *   worker  a device worker (the disks' I/O): the image's I/O calls
 *   io      the I/O thread (event loop, control socket, console, evloop
 *           devices, rebuilding the machine on a reset). Threads it creates
 *           inherit its filter under their own, so its list is a superset
 *           of the others' and a vCPU or worker thread is bound by its own.
 *
 * ioctl is allowed only for the requests each kind needs (KVM, tap,
 * terminal). Modes: kill (default): a call outside the list stops the
 * process with SIGSYS after one line naming the thread kind and the call;
 * log: the call is let through and logged the same way (by a monitor
 * thread, through seccomp user notifications); off: no filter.
 */
#ifndef NV_VMM_SECCOMP_H
#define NV_VMM_SECCOMP_H

#include <stdbool.h>

struct nv_log;

enum vmm_seccomp_mode { VMM_SECCOMP_KILL = 0, VMM_SECCOMP_LOG, VMM_SECCOMP_OFF };
enum vmm_thread_kind { VMM_THREAD_VCPU = 0, VMM_THREAD_WORKER, VMM_THREAD_IO, VMM_THREAD_KINDS };

struct vmm_seccomp;

/* "kill", "log", "off" -> the mode; -1 for anything else. */
int vmm_seccomp_mode_parse(const char *s);
const char *vmm_thread_kind_name(enum vmm_thread_kind k);

/*
 * Prepares the filters (and, in log mode, the monitor thread). Call before
 * any thread of the VM starts. 0 and *out (NULL with mode off), or -errno.
 */
int vmm_seccomp_new(enum vmm_seccomp_mode mode, const struct nv_log *log,
	struct vmm_seccomp **out);
void vmm_seccomp_free(struct vmm_seccomp *s); /* NULL ok */
/* Confines the calling thread to its kind's list. s NULL: nothing. 0 or -errno. */
int vmm_seccomp_enter(struct vmm_seccomp *s, enum vmm_thread_kind kind);

#endif
