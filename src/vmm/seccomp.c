// SPDX-License-Identifier: MIT
/*
 * seccomp per thread kind (include/vmm/vmm_seccomp.h). Kill mode: a call
 * outside the list traps; the SIGSYS handler writes one line (thread kind,
 * the call's name) and the process dies of SIGSYS. Log mode: the call is
 * sent to a monitor thread as a user notification, logged once per kind
 * and call, and let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_internal.h"
#include "util.h"

#define SC_MAX_NR 512 /* x86_64 system call numbers are below this */
#define SC_MAX_LISTENERS 64

/*
 * What the SIGSYS handler reads: the names of the calls and each thread's
 * kind. Process-wide by nature (a signal handler has no other way in);
 * written before any confined thread exists and never after.
 */
static const char *sc_names[SC_MAX_NR];
static __thread int sc_kind = -1;

struct listener {
	int fd;
	pid_t tid;
	enum vmm_thread_kind kind;
};

struct vmm_seccomp {
	enum vmm_seccomp_mode mode;
	const struct nv_log *log;
	pthread_mutex_t lock;
	struct listener l[SC_MAX_LISTENERS];
	size_t nl;
	bool seen[VMM_THREAD_KINDS][SC_MAX_NR]; /* log mode: each call logged once per kind */
	int wake_fd;
	bool stop;
	pthread_t monitor;
	bool monitor_started;
	struct { pid_t tid; enum vmm_thread_kind kind; } t[256]; /* which thread is which kind */
	size_t nt;
};

int vmm_seccomp_mode_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "kill"))
		return VMM_SECCOMP_KILL;
	if (!strcmp(s, "log"))
		return VMM_SECCOMP_LOG;
	if (!strcmp(s, "off"))
		return VMM_SECCOMP_OFF;
	return -1;
}

const char *vmm_thread_kind_name(enum vmm_thread_kind k)
{
	switch (k) {
	case VMM_THREAD_VCPU:
		return "vCPU";
	case VMM_THREAD_WORKER:
		return "device worker";
	case VMM_THREAD_IO:
		return "I/O";
	case VMM_THREAD_KINDS:
		break;
	}
	return "unknown";
}

/* ---- kill mode ---- */

static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		b[at++] = *s++;
	return at;
}

static size_t put_num(char *b, size_t at, size_t cap, unsigned long v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(d));
	while (n && at + 1 < cap)
		b[at++] = d[--n];
	return at;
}

/* Async-signal-safe: write(2) only, then the kernel's own SIGSYS. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[256];
	size_t n = 0;
	unsigned nr = (unsigned)si->si_syscall;
	(void)sig;
	(void)uc;
	n = put_str(msg, n, sizeof(msg), "vmm: error: seccomp: the ");
	n = put_str(msg, n, sizeof(msg), sc_kind >= 0 ? vmm_thread_kind_name(sc_kind) : "unconfined");
	n = put_str(msg, n, sizeof(msg), " thread made a forbidden system call: ");
	n = put_str(msg, n, sizeof(msg), nr < SC_MAX_NR && sc_names[nr] ? sc_names[nr] : "?");
	n = put_str(msg, n, sizeof(msg), " (");
	n = put_num(msg, n, sizeof(msg), nr);
	n = put_str(msg, n, sizeof(msg), "); the VM is stopped (SIGSYS)\n");
	if (write(2, msg, n) < 0) {
		/* nothing more to say */
	}
	/* Another forbidden call while SIGSYS is blocked here: the kernel kills the
	 * process with SIGSYS's default action, as a supervisor should see it.
	 * reboot is on no list (vmm_seccomp_new checks; with a zero magic it
	 * would only fail anyway). */
	syscall(SYS_reboot, 0, 0, 0, 0);
	_exit(128 + SIGSYS);
}

/* ---- log mode ---- */

static void handle_notification(struct vmm_seccomp *s, struct listener *l)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	if (seccomp_notify_alloc(&req, &resp) < 0)
		return;
	if (seccomp_notify_receive(l->fd, req) == 0) {
		unsigned nr = (unsigned)req->data.nr;
		enum vmm_thread_kind kind = l->kind;
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->nt; i++)
			if (s->t[i].tid == (pid_t)req->pid)
				kind = s->t[i].kind;
		bool first = nr < SC_MAX_NR && !s->seen[kind][nr];
		if (nr < SC_MAX_NR)
			s->seen[kind][nr] = true;
		pthread_mutex_unlock(&s->lock);
		if (first)
			nv_logf(s->log, NV_LOG_WARN, "seccomp (log): the %s thread (tid %d) made system "
				"call %s (%u), outside its list: allowed", vmm_thread_kind_name(kind),
				(int)req->pid, nr < SC_MAX_NR && sc_names[nr] ? sc_names[nr] : "?", nr);
		resp->id = req->id;
		resp->val = 0;
		resp->error = 0;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		seccomp_notify_respond(l->fd, resp);
	}
	seccomp_notify_free(req, resp);
}

static void *monitor_main(void *opaque)
{
	struct vmm_seccomp *s = opaque;
	pthread_setname_np(pthread_self(), "vmm-seccomp");
	for (;;) {
		struct pollfd p[SC_MAX_LISTENERS + 1];
		struct listener copy[SC_MAX_LISTENERS];
		size_t n;
		pthread_mutex_lock(&s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		n = s->nl;
		memcpy(copy, s->l, n * sizeof(copy[0]));
		pthread_mutex_unlock(&s->lock);
		p[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
		for (size_t i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){ .fd = copy[i].fd, .events = POLLIN };
		if (poll(p, n + 1, -1) < 0)
			continue;
		if (p[0].revents) {
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof(v)) < 0) {
				/* woken anyway */
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (p[i + 1].revents & POLLIN)
				handle_notification(s, &copy[i]);
			if (p[i + 1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
				/* Every thread of that filter is gone. */
				pthread_mutex_lock(&s->lock);
				for (size_t k = 0; k < s->nl; k++)
					if (s->l[k].fd == copy[i].fd) {
						close(s->l[k].fd);
						s->l[k] = s->l[--s->nl];
						break;
					}
				pthread_mutex_unlock(&s->lock);
			}
		}
	}
}

static void add_listener(struct vmm_seccomp *s, int fd, enum vmm_thread_kind kind)
{
	uint64_t one = 1;
	pthread_mutex_lock(&s->lock);
	if (s->nl < SC_MAX_LISTENERS)
		s->l[s->nl++] = (struct listener){ fd, (pid_t)syscall(SYS_gettid), kind };
	else
		close(fd);
	pthread_mutex_unlock(&s->lock);
	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* the monitor polls it soon anyway */
	}
}

/* ---- the filters ---- */

/* Allows every call named (ioctl aside: its requests are ruled one by one). */
static int allow_names(scmp_filter_ctx ctx, const char *const *names, bool *has_ioctl)
{
	for (const char *const *n = names; *n; n++) {
		if (!strcmp(*n, "ioctl")) {
			*has_ioctl = true;
			continue;
		}
		if (!strcmp(*n, "reboot"))
			return -EINVAL; /* the SIGSYS handler's way out: never on a list */
		int nr = seccomp_syscall_resolve_name(*n);
		if (nr >= 0 && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0)
			return -EINVAL;
	}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct sc_list *l, bool *has_ioctl)
{
	int r = allow_names(ctx, sc_common, has_ioctl);
	if (r == 0)
		r = allow_names(ctx, sc_sanitizer, has_ioctl);
	if (r == 0)
		r = allow_names(ctx, l->syscalls, has_ioctl);
	if (r < 0)
		return r;
	for (const unsigned long *q = l->ioctls; *has_ioctl && *q; q++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, *q)) < 0)
			return -EINVAL;
	return 0;
}

/*
 * Loads the filter of ctx on the calling thread, through the seccomp(2) call
 * itself rather than libseccomp's loader, so that a listener's descriptor
 * (log mode) is this thread's own and not a process-wide one. Returns the
 * listener fd (log mode), 0, or -errno (-EBUSY: the thread already has a
 * listener in its chain, inherited from its creator).
 */
static int load(scmp_filter_ctx ctx, bool listener)
{
	struct sock_fprog prog;
	char *buf = NULL;
	size_t len = 0;
	int r, mfd = memfd_create("nv-seccomp", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, mfd);
	if (r == 0) {
		off_t end = lseek(mfd, 0, SEEK_END);
		len = end > 0 ? (size_t)end : 0;
		buf = len ? malloc(len) : NULL;
		r = !buf ? -ENOMEM : pread_full(mfd, buf, len, 0);
	}
	close(mfd);
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0) {
		prog.len = (unsigned short)(len / sizeof(struct sock_filter));
		prog.filter = (struct sock_filter *)(void *)buf;
		r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0, &prog);
		if (r < 0)
			r = -errno;
	}
	free(buf);
	return r;
}

static void register_thread(struct vmm_seccomp *s, enum vmm_thread_kind kind)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	size_t i;
	sc_kind = (int)kind;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nt && s->t[i].tid != tid; i++)
		;
	if (i == s->nt && s->nt < ARRAY_SIZE(s->t))
		s->nt++;
	if (i < ARRAY_SIZE(s->t)) {
		s->t[i].tid = tid;
		s->t[i].kind = kind;
	}
	pthread_mutex_unlock(&s->lock);
}

int vmm_seccomp_enter(struct vmm_seccomp *s, enum vmm_thread_kind kind)
{
	bool has_ioctl = false, logmode;
	int r;
	if (!s || s->mode == VMM_SECCOMP_OFF)
		return 0;
	logmode = s->mode == VMM_SECCOMP_LOG;
	/* Known before it is confined: a report names the kind from the first call. */
	register_thread(s, kind);
	scmp_filter_ctx ctx = seccomp_init(logmode ? SCMP_ACT_NOTIFY : SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	r = add_rules(ctx, &sc_lists[kind], &has_ioctl);
	if (r == 0)
		r = load(ctx, logmode);
	if (r == -EBUSY && logmode) {
		/* Its creator's filter has the listener (one per thread chain): that one
		 * reports for this thread too, against the creator's (wider) list. */
		r = 0;
	} else if (r > 0) {
		add_listener(s, r, kind);
		r = 0;
	}
	seccomp_release(ctx);
	return r;
}

int vmm_seccomp_new(enum vmm_seccomp_mode mode, const struct nv_log *log,
	struct vmm_seccomp **out)
{
	struct vmm_seccomp *s;
	*out = NULL;
	if (mode == VMM_SECCOMP_OFF)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mode = mode;
	s->log = log;
	s->wake_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	for (int nr = 0; nr < SC_MAX_NR; nr++)
		if (!sc_names[nr]) /* once per process, kept: read by the SIGSYS handler */
			sc_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (mode == VMM_SECCOMP_KILL) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigsys;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSYS, &sa, NULL);
	} else {
		s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int r = s->wake_fd < 0 ? -errno : -pthread_create(&s->monitor, NULL, monitor_main, s);
		if (r < 0) {
			vmm_seccomp_free(s);
			return r;
		}
		s->monitor_started = true;
	}
	*out = s;
	return 0;
}

void vmm_seccomp_free(struct vmm_seccomp *s)
{
	uint64_t one = 1;
	if (!s)
		return;
	if (s->monitor_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		if (write(s->wake_fd, &one, sizeof(one)) < 0) {
			/* it is in poll: the write cannot fail for an eventfd */
		}
		pthread_join(s->monitor, NULL);
	}
	for (size_t i = 0; i < s->nl; i++)
		close(s->l[i].fd);
	close_fd(&s->wake_fd);
	/* The names stay: a confined thread's SIGSYS handler may still read them. */
	pthread_mutex_destroy(&s->lock);
	free(s);
}
