// SPDX-License-Identifier: MIT
/*
 * The supervisor (include/supervise/supervise.h): vmm processes started
 * in their own session and state directory, watched through a pidfd and an
 * asynchronous control-socket session, stopped by escalation (destroy,
 * SIGTERM, SIGKILL), found again after the supervisor restarts.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "evloop.h"
#include "supervise.h"
#include "supervise_internal.h"

static void on_timer(void *opaque, int fd, uint32_t events);
static void try_connect(struct sv_vm *v);

static void arm(struct sv_vm *v, int ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000L } };
	if (ms <= 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(v->timer_fd, 0, &its, NULL);
}

static void disarm(struct sv_vm *v)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	timerfd_settime(v->timer_fd, 0, &off, NULL);
}

/* ---- the process ---- */

/* The end of vmm.log (its last line or two), for a start that failed. */
static void log_tail(const struct sv_vm *v, char *buf, size_t cap)
{
	char path[SV_PATH_MAX + 16];
	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/vmm.log", v->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > (off_t)cap - 1 ? end - (off_t)cap + 1 : 0;
	ssize_t n = pread(fd, buf, cap - 1, start);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
}

static void process_gone(struct sv_vm *v)
{
	struct sv_exit e = { .status = -1 };
	int st;

	if (v->exited)
		return;
	v->exited = true;
	disarm(v);
	if (v->child && waitpid(v->pid, &st, WNOHANG) == v->pid) {
		if (WIFEXITED(st))
			e.status = WEXITSTATUS(st);
		else if (WIFSIGNALED(st))
			e.signal = WTERMSIG(st);
	}
	if (sv_read_exit(v->dir, &e) < 0) {
		/* No exit file: killed before it could say, or it never got going. */
		snprintf(e.reason, sizeof(e.reason), "%s", v->ready ? "killed" : "failed-start");
		if (!v->ready)
			log_tail(v, e.detail, sizeof(e.detail));
		else if (e.signal)
			snprintf(e.detail, sizeof(e.detail), "killed by signal %d", e.signal);
	}
	evloop_del(v->loop, v->pid_fd);
	close_fd(&v->pid_fd);
	api_session_free(v->session);
	v->session = NULL;
	if (v->ops.exited)
		v->ops.exited(v->opaque, v, &e);
}

static void on_pidfd(void *opaque, int fd, uint32_t events)
{
	process_gone(opaque);
}

/* ---- the control socket ---- */

static void on_session_event(void *opaque, struct json_object *msg)
{
	struct sv_vm *v = opaque;
	if (v->ops.event)
		v->ops.event(v->opaque, v, msg);
}

static void on_session_closed(void *opaque, int rc)
{
	struct sv_vm *v = opaque;
	/* The process going is what counts (the pidfd); a socket lost while it lives
	 * is reconnected. */
	v->session_dead = true;
	if (!v->exited)
		arm(v, SV_RETRY_MS);
}

static const struct api_session_ops session_ops = { on_session_event, on_session_closed };

static void on_subscribed(void *opaque, int rc, struct json_object *reply)
{
	struct sv_vm *v = opaque;
	if (rc < 0 || v->exited)
		return;
	if (!v->ready) {
		v->ready = true;
		if (v->ops.ready)
			v->ops.ready(v->opaque, v);
	}
}

static void try_connect(struct sv_vm *v)
{
	if (v->exited)
		return;
	if (v->session && v->session_dead) {
		api_session_free(v->session);
		v->session = NULL;
	}
	if (v->session)
		return;
	v->session_dead = false;
	if (api_session_open(v->loop, v->sock, &session_ops, v, &v->session) == 0 &&
	    api_session_call(v->session, "subscribe", NULL, on_subscribed, v) == 0)
		return;
	api_session_free(v->session);
	v->session = NULL;
	if (!v->ready && now_ns() > v->ready_deadline_ns) {
		/* It runs but never answers: a supervisor must not wait forever. */
		sv_kill(v, SIGKILL);
		return;
	}
	arm(v, SV_RETRY_MS);
}

/* ---- stopping ---- */

static void on_timer(void *opaque, int fd, uint32_t events)
{
	struct sv_vm *v = opaque;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (v->exited)
		return;
	switch (v->stop_stage) {
	case 1: /* destroy was asked for and it is still there */
		v->stop_stage = 2;
		sv_kill(v, SIGTERM);
		arm(v, v->stop_grace_ms);
		return;
	case 2:
		v->stop_stage = 3;
		sv_kill(v, SIGKILL);
		return;
	default:
		try_connect(v);
	}
}

int sv_stop(struct sv_vm *v, int grace_ms)
{
	if (v->exited)
		return 0;
	v->stop_grace_ms = grace_ms > 0 ? grace_ms : 5000;
	v->stop_stage = 1;
	if (v->ready && !v->session_dead && v->session)
		api_session_call(v->session, "destroy", NULL, NULL, NULL);
	else
		v->stop_stage = 2, sv_kill(v, SIGTERM);
	arm(v, v->stop_grace_ms);
	return 0;
}

int sv_kill(struct sv_vm *v, int sig)
{
	if (v->exited || v->pid_fd < 0)
		return -ESRCH;
	return pidfd_send_signal(v->pid_fd, sig, NULL, 0) < 0 ? -errno : 0;
}

int sv_call(struct sv_vm *v, const char *command, struct json_object *args, api_reply_cb cb,
	void *opaque)
{
	if (!v->ready || v->exited || !v->session || v->session_dead)
		return -ENOTCONN;
	return api_session_call(v->session, command, args, cb, opaque);
}

/* ---- the object ---- */

struct sv_vm *sv_new(struct evloop *loop, const char *dir, const struct sv_ops *ops,
	void *opaque)
{
	struct sv_vm *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->loop = loop;
	v->pid_fd = v->timer_fd = -1;
	if (ops)
		v->ops = *ops;
	v->opaque = opaque;
	if (snprintf(v->dir, sizeof(v->dir), "%s", dir) >= (int)sizeof(v->dir) ||
	    snprintf(v->sock, sizeof(v->sock), "%s/api.sock", dir) >= (int)sizeof(v->sock)) {
		free(v);
		errno = ENAMETOOLONG;
		return NULL;
	}
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->timer_fd < 0 || evloop_add(loop, v->timer_fd, EPOLLIN, on_timer, v) < 0) {
		int e = errno;
		close_fd(&v->timer_fd);
		free(v);
		errno = e ? e : EIO;
		return NULL;
	}
	return v;
}

int sv_watch(struct sv_vm *v, pid_t pid, bool child, int ready_timeout_ms)
{
	v->pid = pid;
	v->child = child;
	v->pid_fd = pidfd_open(pid, 0);
	if (v->pid_fd < 0)
		return -errno;
	int r = evloop_add(v->loop, v->pid_fd, EPOLLIN, on_pidfd, v);
	if (r < 0) {
		close_fd(&v->pid_fd);
		return r;
	}
	v->ready_deadline_ns = now_ns() +
		(uint64_t)(ready_timeout_ms > 0 ? ready_timeout_ms : 30000) * 1000000ull;
	arm(v, 0);
	return 0;
}

pid_t sv_pid(const struct sv_vm *v)
{
	return v->pid;
}

bool sv_alive(const struct sv_vm *v)
{
	return v && !v->exited;
}

const char *sv_dir(const struct sv_vm *v)
{
	return v->dir;
}

const char *sv_socket(const struct sv_vm *v)
{
	return v->sock;
}

void sv_free(struct sv_vm *v)
{
	if (!v)
		return;
	api_session_free(v->session);
	if (v->pid_fd >= 0)
		evloop_del(v->loop, v->pid_fd);
	close_fd(&v->pid_fd);
	if (v->timer_fd >= 0)
		evloop_del(v->loop, v->timer_fd);
	close_fd(&v->timer_fd);
	free(v);
}
