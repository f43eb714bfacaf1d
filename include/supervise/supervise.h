/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: one way to start, watch, stop and find again `vmm`
 * processes, for virtvmmd and the lab engine. Each VM lives in its own
 * state directory:
 *
 *   DIR/vm.toml     the definition the VM was started with
 *   DIR/api.sock    its control socket
 *   DIR/vmm.pid     "PID STARTTIME" (STARTTIME from /proc/PID/stat: a reused
 *                   PID is never mistaken for the VM)
 *   DIR/exit.json   how it ended (vmm run --exit-file), absent while running
 *   DIR/vmm.log     vmm's own stdout and stderr
 *
 * A started vmm runs in its own session with its own state directory as
 * working directory; it survives its supervisor, which can find it again
 * (sv_adopt). The process is watched through a pidfd on the event loop; its
 * control socket through an asynchronous session (include/api/api.h),
 * subscribed to its events. Everything runs on the loop's thread.
 */
#ifndef NV_SUPERVISE_H
#define NV_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "api.h"
#include "util.h"

struct evloop;
struct json_object;
struct sv_vm;

/* How a vmm ended. */
struct sv_exit {
	int status;        /* its exit status; -1 when unknown (killed, or not our child) */
	int signal;        /* the signal that killed it, or that it stopped for; 0: none */
	char reason[32];   /* exit.json's: poweroff, reset, crashed, destroyed, signal, error,
			    * bad-input, vmm-error; else "killed" (no exit file) or "failed-start" */
	char detail[256];  /* exit.json's detail, or the end of vmm.log for a failed start */
};

struct sv_ops {
	/* The control socket answers and the session is subscribed to its events. */
	void (*ready)(void *opaque, struct sv_vm *vm);
	/* An event line of the VM (running, paused, shutdown, reset, crashed, stopped). */
	void (*event)(void *opaque, struct sv_vm *vm, struct json_object *ev);
	/* The process is gone; the sv_vm stays valid until sv_free. */
	void (*exited)(void *opaque, struct sv_vm *vm, const struct sv_exit *e);
};

struct sv_conf {
	const char *vmm;        /* the vmm program (an absolute path) */
	const char *dir;        /* the state directory; created (0700) if missing */
	const char *config;     /* the VM definition, TOML text (written to DIR/vm.toml) */
	bool paused;            /* vmm run --paused */
	const int *fds;         /* descriptors handed to vmm as 3, 4, ... (taps, console) */
	size_t nfds;
	int ready_timeout_ms;   /* how long the socket may take to answer; 0: 30000 */
};

/*
 * Starts a vmm. 0 and *out (ready or exited follows on the loop), or -errno
 * with the reason in d (the directory cannot be made, a vmm of that
 * directory runs already (-EEXIST), fork fails...); nothing is left
 * running then.
 */
int sv_start(struct evloop *loop, const struct sv_conf *c, const struct sv_ops *ops, void *opaque,
	struct sv_vm **out, struct diag *d);

/*
 * Finds the vmm of a state directory again (after the supervisor itself
 * restarted): 0 and *out (ready follows once its socket answers), or
 * -ESRCH when no live vmm belongs to it (sv_read_exit tells how it ended).
 * vmm: the program the process must be running.
 */
int sv_adopt(struct evloop *loop, const char *vmm, const char *dir, const struct sv_ops *ops,
	void *opaque, struct sv_vm **out);

/* How the vmm of dir ended, from DIR/exit.json. 0, or -ENOENT when it has none. */
int sv_read_exit(const char *dir, struct sv_exit *e);

/* A request on the VM's control socket (see api_session_call). -ENOTCONN before ready. */
int sv_call(struct sv_vm *vm, const char *command, struct json_object *args, api_reply_cb cb,
	void *opaque);

/*
 * Stops it: `destroy` on the control socket, SIGTERM when it has not gone
 * after grace_ms, SIGKILL after as long again. exited follows. 0 or -errno.
 */
int sv_stop(struct sv_vm *vm, int grace_ms);

/* Sends sig to the process (pidfd_send_signal). 0 or -errno (-ESRCH: gone). */
int sv_kill(struct sv_vm *vm, int sig);

pid_t sv_pid(const struct sv_vm *vm);
bool sv_alive(const struct sv_vm *vm);
const char *sv_dir(const struct sv_vm *vm);
const char *sv_socket(const struct sv_vm *vm);

/* Forgets it; a live process goes on running (sv_adopt finds it). NULL ok. */
void sv_free(struct sv_vm *vm);

#endif
