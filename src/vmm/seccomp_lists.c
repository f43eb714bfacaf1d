// SPDX-License-Identifier: MIT
/*
 * The allow-lists of each thread kind (include/vmm/vmm_seccomp.h): system
 * calls by name, and the ioctl requests by number. The I/O thread's lists
 * include the others' (its filter is inherited by the threads it creates).
 * Measured with --seccomp=log over the kvm suite (boot, disks, network,
 * console, balloon, pause/resume, shutdown, reboot, resets).
 */
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include "seccomp_internal.h"

/* Every thread: memory, locks, time, signals, its own exit, plain I/O on its fds. */
static const char *const common[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close", "futex",
	"rt_sigreturn", "rt_sigprocmask", "clock_gettime", "clock_nanosleep", "nanosleep",
	"gettid", "getpid", "tgkill", "mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
	"exit", "sched_yield", "restart_syscall", "getrandom", "lseek", "fstat", "newfstatat",
	"epoll_wait", "epoll_pwait", "eventfd2", "fcntl", "set_robust_list", "rseq",
	NULL,
};

static const char *const vcpu[] = {
	"ioctl", NULL,
};

static const char *const worker[] = {
	"preadv", "pwritev", "preadv2", "pwritev2", "fdatasync", "fsync", "fallocate", "ioctl",
	NULL,
};

/*
 * The I/O thread: the event loop, the control socket's clients, the console,
 * files, and rebuilding the machine. No new sockets: the control socket, taps
 * and bridges are made before it is confined.
 */
static const char *const io[] = {
	"preadv", "pwritev", "fdatasync", "fsync", "fallocate", "ioctl",
	"epoll_create1", "epoll_ctl", "accept4",
	"getsockopt", "setsockopt", "recvfrom", "sendto", "recvmsg", "sendmsg", "shutdown",
	"unlink", "unlinkat", "openat", "open", "mkdir", "mkdirat", "rename", "renameat",
	"renameat2", "fchmod", "fchown", "chmod", "statx", "stat", "lstat", "access",
	"faccessat2", "readlink", "getdents64", "ftruncate", "dup", "dup2", "dup3", "pipe2",
	"poll", "ppoll", "timerfd_create", "timerfd_settime", "signalfd4", "memfd_create",
	"clone", "clone3", "prctl", "exit_group", "sched_getaffinity", "getuid", "geteuid",
	"getgid", "getegid", "uname", "sysinfo", "prlimit64", "rt_sigaction", "sigaltstack",
	"kill", "getcwd", "flock", "umask",
	"seccomp", /* the threads it creates confine themselves under its filter */
	NULL,
};

/* ioctl requests: what a vCPU thread may ask (its exits, interrupt plumbing, offloads). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD,
	KVM_SET_GSI_ROUTING, KVM_IOEVENTFD, TUNSETOFFLOAD, 0,
};

static const unsigned long worker_ioctls[] = {
	KVM_SIGNAL_MSI, KVM_IRQFD, KVM_SET_GSI_ROUTING, 0,
};

static const unsigned long io_ioctls[] = {
	/* the machine, rebuilt on a reset */
	KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE, KVM_CREATE_IRQCHIP,
	KVM_CREATE_PIT2, KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_USER_MEMORY_REGION,
	KVM_CREATE_VCPU, KVM_SET_CPUID2, KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_SET_FPU,
	KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS, KVM_GET_REGS, KVM_GET_SUPPORTED_CPUID,
	/* interrupts and notifications, also from evloop devices */
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_SET_GSI_ROUTING, KVM_IOEVENTFD,
	/* taps (offloads on a feature change) and the terminal console */
	TUNSETOFFLOAD, TUNGETIFF, TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ,
	/* the vCPU thread's, inherited: KVM_RUN */
	KVM_RUN, 0,
};

const struct sc_list sc_lists[VMM_THREAD_KINDS] = {
	[VMM_THREAD_VCPU] = { vcpu, vcpu_ioctls },
	[VMM_THREAD_WORKER] = { worker, worker_ioctls },
	[VMM_THREAD_IO] = { io, io_ioctls },
};

const char *const *sc_common = common;

/*
 * A sanitizer build's runtime (ASan, LSan) makes calls of its own: each
 * thread's alternate signal stack, and at exit the leak check, which stops
 * every thread from a tracer thread (ptrace) and reads /proc/self. Only in
 * those builds, on every kind; a release build has none of these.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NV_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NV_SANITIZER_BUILD 1
#endif
#endif
static const char *const sanitizer[] = {
#ifdef NV_SANITIZER_BUILD
	"sigaltstack", "ptrace", "wait4", "waitid", "getppid", "prctl", "clone", "openat",
	"open", "getdents", "getdents64", "sched_getaffinity", "rt_sigaction", "readlink", "exit_group",
	"process_vm_readv", "kill", "pipe2", "dup2", "setrlimit", "getrlimit", "prlimit64",
#endif
	NULL,
};
const char *const *sc_sanitizer = sanitizer;
