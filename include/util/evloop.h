/* SPDX-License-Identifier: MIT */
/* A small epoll loop for the I/O thread. Handlers run on the loop's thread. */
#ifndef NV_EVLOOP_H
#define NV_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
typedef void (*ev_cb)(void *opaque, int fd, uint32_t events);

struct evloop *evloop_new(void);
void evloop_free(struct evloop *l);
/* Watch fd for events (EPOLLIN, ...). 0 or -errno. */
int evloop_add(struct evloop *l, int fd, uint32_t events, ev_cb cb, void *opaque);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* Stop watching fd; safe from inside a handler (the fd is not closed). */
int evloop_del(struct evloop *l, int fd);
/* Waits up to timeout_ms (-1: forever) and dispatches. Returns handlers run or -errno. */
int evloop_run_once(struct evloop *l, int timeout_ms);
/* Thread-safe: wakes evloop_run_once and calls cb(opaque) on the loop thread. */
int evloop_call(struct evloop *l, void (*cb)(void *), void *opaque);

#endif
