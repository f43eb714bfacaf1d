// SPDX-License-Identifier: MIT
/*
 * Starting a vmm in its state directory, and finding one again: the
 * definition written to DIR/vm.toml, the process in its own session with
 * the state directory as cwd, vmm.log as stdout and stderr, the handed-over
 * descriptors as 3, 4, ...; DIR/vmm.pid records "PID STARTTIME".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "supervise.h"
#include "supervise_internal.h"

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot. 0 when unknown. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long t = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* After the command name, which may hold anything but ends at the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	/* Field 3, the state: a zombie (its parent, e.g. a container's init, has not
	 * reaped it yet) is a VM that ended, not a live one. */
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X'))
		return 0;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[SV_PATH_MAX + 32];
	struct stat like = { .st_mode = mode };
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* write_atomic keeps like's mode; its owner is ours either way. */
	like.st_uid = geteuid();
	like.st_gid = getegid();
	return write_atomic(path, text, strlen(text), &like);
}

int sv_read_exit(const char *dir, struct sv_exit *e)
{
	char path[SV_PATH_MAX + 32];
	struct json_object *o, *v;
	snprintf(path, sizeof(path), "%s/exit.json", dir);
	o = json_object_from_file(path);
	if (!o)
		return -ENOENT;
	if (json_object_object_get_ex(o, "exit_status", &v))
		e->status = json_object_get_int(v);
	if (json_object_object_get_ex(o, "signal", &v))
		e->signal = json_object_get_int(v);
	if (json_object_object_get_ex(o, "reason", &v))
		snprintf(e->reason, sizeof(e->reason), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "detail", &v))
		snprintf(e->detail, sizeof(e->detail), "%s", json_object_get_string(v));
	json_object_put(o);
	return 0;
}

/* The live vmm of dir, from DIR/vmm.pid: its pid, or 0. */
static pid_t live_pid(const char *dir, const char *vmm)
{
	char path[SV_PATH_MAX + 32], exe[PATH_MAX], link[64];
	unsigned long long t = 0;
	int pid = 0;
	snprintf(path, sizeof(path), "%s/vmm.pid", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%d %llu", &pid, &t) != 2)
		pid = 0;
	fclose(f);
	if (pid <= 0 || !t || start_time(pid) != t)
		return 0; /* gone, or its pid now belongs to another process */
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (vmm && n > 0) {
		char want[PATH_MAX];
		exe[n] = 0;
		if (realpath(vmm, want) && strcmp(want, exe) != 0)
			return 0;
	}
	return pid;
}

/* In the child: the descriptors in place, then exec. Never returns. */
static void child_exec(const struct sv_conf *c, int logfd, char *const argv[])
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int top = 64 + (int)c->nfds * 2 + 3;
	setsid();
	if (chdir(c->dir) < 0)
		_exit(127);
	/* Out of the way first (a handed fd may sit where another must go). */
	for (size_t i = 0; i < c->nfds; i++)
		if (fcntl(c->fds[i], F_DUPFD, top + (int)i) < 0)
			_exit(127);
	if (dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(127);
	for (size_t i = 0; i < c->nfds; i++)
		if (dup2(top + (int)i, 3 + (int)i) < 0)
			_exit(127);
	close_range(3 + (unsigned)c->nfds, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv(c->vmm, argv);
	dprintf(2, "supervisor: cannot run %s: %s\n", c->vmm, strerror(errno));
	_exit(127);
}

int sv_start(struct evloop *loop, const struct sv_conf *c, const struct sv_ops *ops, void *opaque,
	struct sv_vm **out, struct diag *d)
{
	char path[SV_PATH_MAX + 32], cfg[SV_PATH_MAX + 32], sock[SV_PATH_MAX + 32],
		exitf[SV_PATH_MAX + 32], pidline[64];
	struct sv_vm *v = NULL;
	int logfd = -1, r;
	pid_t pid;

	*out = NULL;
	if (!c->vmm || c->vmm[0] != '/' || !c->dir || c->dir[0] != '/' || !c->config) {
		diag_add(d, NULL, 0, 0, "supervisor: the vmm path and the state directory must be "
			"absolute, and a definition given");
		return -EINVAL;
	}
	if (strlen(c->dir) >= SV_PATH_MAX - 16) {
		diag_add(d, NULL, 0, 0, "supervisor: state directory %s: the path is too long for its "
			"control socket", c->dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		diag_add(d, c->dir, 0, 0, "cannot create the state directory: %s", strerror(-r));
		return r;
	}
	if ((pid = live_pid(c->dir, NULL)) > 0) {
		diag_add(d, c->dir, 0, 0, "a vmm (pid %d) runs for this state directory already",
			(int)pid);
		return -EEXIST;
	}
	snprintf(path, sizeof(path), "%s/exit.json", c->dir);
	unlink(path);
	if ((r = write_file(c->dir, "vm.toml", c->config, 0600)) < 0) {
		diag_add(d, c->dir, 0, 0, "cannot write vm.toml: %s", strerror(-r));
		return r;
	}
	snprintf(path, sizeof(path), "%s/vmm.log", c->dir);
	logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	v = sv_new(loop, c->dir, ops, opaque);
	if (logfd < 0 || !v) {
		r = -errno;
		diag_add(d, c->dir, 0, 0, "cannot set up the VM's files: %s", strerror(-r));
		goto fail;
	}
	snprintf(cfg, sizeof(cfg), "%s/vm.toml", c->dir);
	snprintf(sock, sizeof(sock), "%s/api.sock", c->dir);
	snprintf(exitf, sizeof(exitf), "%s/exit.json", c->dir);
	char *argv[] = { (char *)c->vmm, "run", "--config", cfg, "--api-socket", sock,
		"--exit-file", exitf, c->paused ? "--paused" : NULL, NULL };
	pid = fork();
	if (pid < 0) {
		r = -errno;
		diag_add(d, NULL, 0, 0, "cannot start vmm: fork: %s", strerror(-r));
		goto fail;
	}
	if (pid == 0)
		child_exec(c, logfd, argv);
	close_fd(&logfd);
	r = sv_watch(v, pid, true, c->ready_timeout_ms);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		diag_add(d, NULL, 0, 0, "cannot watch vmm (pid %d): %s", (int)pid, strerror(-r));
		goto fail;
	}
	snprintf(pidline, sizeof(pidline), "%d %llu\n", (int)pid, start_time(pid));
	write_file(c->dir, "vmm.pid", pidline, 0600);
	*out = v;
	return 0;
fail:
	if (logfd >= 0)
		close(logfd);
	sv_free(v);
	return r;
}

int sv_adopt(struct evloop *loop, const char *vmm, const char *dir, const struct sv_ops *ops,
	void *opaque, struct sv_vm **out)
{
	*out = NULL;
	pid_t pid = live_pid(dir, vmm);
	if (pid <= 0)
		return -ESRCH;
	struct sv_vm *v = sv_new(loop, dir, ops, opaque);
	if (!v)
		return -errno;
	int r = sv_watch(v, pid, false, 0);
	if (r < 0) {
		sv_free(v);
		return r == -ESRCH ? -ESRCH : r;
	}
	*out = v;
	return 0;
}
