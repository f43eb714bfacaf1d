/* SPDX-License-Identifier: MIT */
/*
 * virtvmmd's server: a read-write and a read-only UNIX socket on one epoll
 * loop, many clients at once, each with bounded input and output buffers.
 */
#ifndef NV_LV_SERVER_H
#define NV_LV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lv_driver.h"

struct evloop;

struct lv_server_config {
	const char *sock_rw;     /* NULL: no listener (tests add fds) */
	const char *sock_ro;     /* NULL: none */
	/* Listening sockets handed over (systemd socket activation, fds > 2) for
	 * sock_rw and sock_ro, used as they are and left in place at exit; 0: bind. */
	int listen_rw_fd;
	int listen_ro_fd;
	unsigned timeout_s;      /* exit after this long idle with no client; 0: never */
	size_t max_clients;      /* 0: 512 */
	size_t max_packet;       /* largest packet taken from one client; 0: LV_STRING_MAX + 64 KiB */
	size_t max_outq;         /* most bytes queued for one client; 0: 16 MiB */
	unsigned packet_timeout_s; /* drop a client stalled inside a packet this long; 0: 30 */
	uid_t rw_uid;            /* besides root, the uid allowed on the rw socket */
	const char *version;     /* "0.1.0": CONNECT_GET_VERSION */
	const char *root;        /* prefix for /proc and /sys (tests); NULL: "" */
	int verbose;             /* -1 quiet, 0 warnings and client drops, 1 debug */
};

/* Binds the sockets (0600 and 0666, replacing a stale socket, refusing a live
 * one). NULL with *err (malloc'd) saying why, naming the path. */
struct lv_server *lv_server_new(const struct lv_server_config *cfg, struct lv_driver *drv,
				char **err);
/* Closes every client and unlinks the sockets it created. */
void lv_server_free(struct lv_server *s);
struct evloop *lv_server_loop(struct lv_server *s);
/* Adds an already connected socket as a client (tests, socket activation). */
int lv_server_add_fd(struct lv_server *s, int fd, bool readonly);
/* Runs until lv_server_stop or the idle timeout. 0 or -errno. */
int lv_server_run(struct lv_server *s);
/* One loop iteration (tests). Returns handlers run or -errno. */
int lv_server_run_once(struct lv_server *s, int timeout_ms);
void lv_server_stop(struct lv_server *s);
size_t lv_server_nclients(const struct lv_server *s);
/* Whether proc has a handler (the others answer "unknown procedure"). */
bool lv_dispatch_implemented(int32_t proc);
/* True when the last run ended on the idle timeout. */
bool lv_server_timed_out(const struct lv_server *s);

#endif
