/* SPDX-License-Identifier: MIT */
/*
 * A small epoll loop for the I/O thread. Handlers run on the loop's thread.
 *
 * One turn (evloop_run_once) serves every ready fd once, then every deferred
 * call that was queued before the turn began, once. A handler with more work
 * than its budget does one budget's worth and defers the rest
 * (evloop_defer), so an fd that becomes ready at any time is served after at
 * most one budget of every other handler, never behind an unbounded burst.
 */
#ifndef NV_EVLOOP_H
#define NV_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
typedef void (*ev_cb)(void *opaque, int fd, uint32_t events);

/*
 * A deferred call, embedded in its owner (no allocation): set cb and opaque
 * once (EV_DEFERRED_INIT), then evloop_defer it whenever work is left. The
 * fields after opaque are the loop's.
 */
struct ev_deferred {
	void (*cb)(void *opaque);
	void *opaque;
	struct ev_deferred *next;
	bool queued;
};
#define EV_DEFERRED_INIT(fn, arg) ((struct ev_deferred){ .cb = (fn), .opaque = (arg) })

struct evloop *evloop_new(void);
void evloop_free(struct evloop *l);
/* Watch fd for events (EPOLLIN, ...). 0 or -errno. */
int evloop_add(struct evloop *l, int fd, uint32_t events, ev_cb cb, void *opaque);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* Stop watching fd; safe from inside a handler (the fd is not closed). */
int evloop_del(struct evloop *l, int fd);
/*
 * Waits up to timeout_ms (-1: forever; 0 while deferred calls are queued)
 * and dispatches one turn. Returns handlers and deferred calls run, or -errno.
 */
int evloop_run_once(struct evloop *l, int timeout_ms);
/* Thread-safe: wakes evloop_run_once and calls cb(opaque) on the loop thread. */
int evloop_call(struct evloop *l, void (*cb)(void *), void *opaque);
/*
 * Loop thread only (or while the loop is not running), like evloop_add:
 * runs d->cb(d->opaque) once in the next turn, after that turn's ready fds.
 * A no-op while d is already queued. evloop_defer_cancel unqueues it (safe
 * from inside a handler or a deferred call); call it before d's memory goes.
 */
void evloop_defer(struct evloop *l, struct ev_deferred *d);
void evloop_defer_cancel(struct evloop *l, struct ev_deferred *d);
/* Deferred calls queued now (tests). */
unsigned evloop_deferred_count(const struct evloop *l);

#endif
