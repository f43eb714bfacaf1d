/* SPDX-License-Identifier: MIT */
/* Shared by supervise.c (watching, stopping) and spawn.c (starting, finding again). */
#ifndef NV_SUPERVISE_INTERNAL_H
#define NV_SUPERVISE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervise.h"

#define SV_PATH_MAX 200 /* a state directory; its socket path must fit sun_path */
#define SV_RETRY_MS 50  /* between tries to reach the control socket */

struct sv_vm {
	struct evloop *loop;
	struct sv_ops ops;
	void *opaque;
	char dir[SV_PATH_MAX];
	char sock[SV_PATH_MAX + 16];
	pid_t pid;
	bool child;        /* ours to reap (started here, not adopted) */
	int pid_fd;
	int timer_fd;      /* connect retries, stop escalation */
	struct api_session *session;
	bool session_dead;
	bool ready;
	bool exited;
	uint64_t ready_deadline_ns;
	int stop_stage;    /* 0 none, 1 destroy sent, 2 SIGTERM sent, 3 SIGKILL sent */
	int stop_grace_ms;
};

/* A watcher for dir, not yet bound to a process. NULL with errno set. */
struct sv_vm *sv_new(struct evloop *loop, const char *dir, const struct sv_ops *ops,
	void *opaque);
/* Watches pid (a pidfd on the loop) and starts reaching its socket. 0 or -errno. */
int sv_watch(struct sv_vm *v, pid_t pid, bool child, int ready_timeout_ms);

#endif
