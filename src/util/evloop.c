// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

struct ev_handler {
	int fd;
	bool dead;
	ev_cb cb;
	void *opaque;
	struct ev_handler *next;
};

struct ev_call {
	void (*cb)(void *);
	void *opaque;
	struct ev_call *next;
};

struct evloop {
	int epfd;
	int wakefd;
	struct ev_handler *handlers; /* live and dead; dead ones are reaped after dispatch */
	pthread_mutex_t lock;        /* protects calls */
	struct ev_call *calls, **calls_tail;
	/* Loop thread only: deferred calls for the next turn, and the turn's own. */
	struct ev_deferred *deferred, **deferred_tail;
	struct ev_deferred *batch;
};

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&l->lock, NULL);
	l->calls_tail = &l->calls;
	l->deferred_tail = &l->deferred;
	if (l->epfd < 0 || l->wakefd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		goto fail;
	return l;
fail:
	evloop_free(l);
	return NULL;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	while (l->handlers) {
		struct ev_handler *h = l->handlers;
		l->handlers = h->next;
		free(h);
	}
	while (l->calls) {
		struct ev_call *c = l->calls;
		l->calls = c->next;
		free(c);
	}
	close_fd(&l->epfd);
	close_fd(&l->wakefd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct ev_handler *find(struct evloop *l, int fd)
{
	for (struct ev_handler *h = l->handlers; h; h = h->next)
		if (h->fd == fd && !h->dead)
			return h;
	return NULL;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, ev_cb cb, void *opaque)
{
	if (fd < 0 || !cb || find(l, fd))
		return -EINVAL;
	struct ev_handler *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->cb = cb;
	h->opaque = opaque;
	struct epoll_event ev = { .events = events, .data.ptr = h };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		free(h);
		return e;
	}
	h->next = l->handlers;
	l->handlers = h;
	return 0;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct ev_handler *h = find(l, fd);
	if (!h)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.ptr = h };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int evloop_del(struct evloop *l, int fd)
{
	struct ev_handler *h = find(l, fd);
	if (!h)
		return -ENOENT;
	h->dead = true;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	return 0;
}

static void reap(struct evloop *l)
{
	struct ev_handler **pp = &l->handlers;
	while (*pp) {
		struct ev_handler *h = *pp;
		if (h->dead) {
			*pp = h->next;
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

static int run_calls(struct evloop *l)
{
	uint64_t v;
	if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&l->lock);
	struct ev_call *c = l->calls;
	l->calls = NULL;
	l->calls_tail = &l->calls;
	pthread_mutex_unlock(&l->lock);
	int n = 0;
	while (c) {
		struct ev_call *next = c->next;
		c->cb(c->opaque);
		free(c);
		c = next;
		n++;
	}
	return n;
}

void evloop_defer(struct evloop *l, struct ev_deferred *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = NULL;
	*l->deferred_tail = d;
	l->deferred_tail = &d->next;
}

/* Unlinks d from the list at *head; true if it was there. */
static bool unlink_deferred(struct ev_deferred **head, struct ev_deferred ***tail,
			    struct ev_deferred *d)
{
	for (struct ev_deferred **pp = head; *pp; pp = &(*pp)->next) {
		if (*pp != d)
			continue;
		*pp = d->next;
		if (tail && *tail == &d->next)
			*tail = pp;
		return true;
	}
	return false;
}

void evloop_defer_cancel(struct evloop *l, struct ev_deferred *d)
{
	if (!l || !d || !d->queued)
		return;
	if (!unlink_deferred(&l->deferred, &l->deferred_tail, d))
		unlink_deferred(&l->batch, NULL, d);
	d->queued = false;
	d->next = NULL;
}

unsigned evloop_deferred_count(const struct evloop *l)
{
	unsigned n = 0;
	for (const struct ev_deferred *d = l->deferred; d; d = d->next)
		n++;
	for (const struct ev_deferred *d = l->batch; d; d = d->next)
		n++;
	return n;
}

/* The deferred calls queued before this turn, each once (they may queue
 * themselves again: for the next turn). */
static int run_deferred(struct evloop *l)
{
	int n = 0;
	struct ev_deferred *d;
	while ((d = l->batch)) {
		l->batch = d->next;
		d->next = NULL;
		d->queued = false;
		d->cb(d->opaque);
		n++;
	}
	return n;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), l->deferred ? 0 : timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	/* Only this thread queues deferred calls: what is queued now is this turn's. */
	l->batch = l->deferred;
	l->deferred = NULL;
	l->deferred_tail = &l->deferred;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		struct ev_handler *h = evs[i].data.ptr;
		if (!h) {
			int r = run_calls(l);
			if (r > 0)
				ran += r;
			continue;
		}
		if (h->dead)
			continue; /* removed by an earlier handler in this batch */
		h->cb(h->opaque, h->fd, evs[i].events);
		ran++;
	}
	ran += run_deferred(l);
	reap(l);
	return ran;
}

int evloop_call(struct evloop *l, void (*cb)(void *), void *opaque)
{
	struct ev_call *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cb = cb;
	c->opaque = opaque;
	pthread_mutex_lock(&l->lock);
	*l->calls_tail = c;
	l->calls_tail = &c->next;
	pthread_mutex_unlock(&l->lock);
	uint64_t one = 1;
	if (write(l->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}
