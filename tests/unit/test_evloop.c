// SPDX-License-Identifier: MIT
/*
 * The I/O thread's loop: fd handlers, cross-thread calls, and deferred
 * calls (the rest of a budget): one turn serves every ready fd, then each
 * deferred call queued before the turn once; a call that queues itself again
 * runs in the next turn, after that turn's fds; the loop does not sleep while
 * deferred calls wait; cancel works from inside a handler.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "util.h"

struct log {
	char ev[64];
	unsigned n;
};

static void note(struct log *l, char c)
{
	assert_true(l->n < sizeof(l->ev) - 1);
	l->ev[l->n++] = c;
	l->ev[l->n] = '\0';
}

struct ctx {
	struct evloop *loop;
	struct log log;
	struct ev_deferred a, b;
	unsigned a_left;          /* a queues itself again this many times */
	int fd;
	bool cancel_b;            /* the fd handler cancels b */
};

static void fd_cb(void *o, int fd, uint32_t ev)
{
	struct ctx *c = o;
	uint64_t v;
	assert_int_equal(read(fd, &v, 8), 8);
	note(&c->log, 'F');
	if (c->cancel_b)
		evloop_defer_cancel(c->loop, &c->b);
}

static void a_cb(void *o)
{
	struct ctx *c = o;
	note(&c->log, 'a');
	if (c->a_left) {
		c->a_left--;
		evloop_defer(c->loop, &c->a);
		evloop_defer(c->loop, &c->a); /* twice: still once */
	}
}

static void b_cb(void *o)
{
	note(&((struct ctx *)o)->log, 'b');
}

static void kick(struct ctx *c)
{
	uint64_t one = 1;
	assert_int_equal(write(c->fd, &one, 8), 8);
}

static void test_deferred_turns(void **state)
{
	struct ctx c = { 0 };
	c.loop = evloop_new();
	assert_non_null(c.loop);
	c.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_int_equal(evloop_add(c.loop, c.fd, EPOLLIN, fd_cb, &c), 0);
	c.a = EV_DEFERRED_INIT(a_cb, &c);
	c.b = EV_DEFERRED_INIT(b_cb, &c);

	/* Nothing queued: a bounded wait times out. */
	assert_int_equal(evloop_run_once(c.loop, 10), 0);
	/* a re-queues itself twice: one run per turn, after the turn's fd. */
	c.a_left = 2;
	evloop_defer(c.loop, &c.a);
	evloop_defer(c.loop, &c.b);
	assert_int_equal(evloop_deferred_count(c.loop), 2);
	kick(&c);
	uint64_t t0 = now_ns();
	assert_int_equal(evloop_run_once(c.loop, -1), 3); /* no sleep: calls were waiting */
	assert_string_equal(c.log.ev, "Fab");
	kick(&c);
	assert_int_equal(evloop_run_once(c.loop, -1), 2);
	assert_string_equal(c.log.ev, "FabFa");
	assert_int_equal(evloop_run_once(c.loop, -1), 1);
	assert_string_equal(c.log.ev, "FabFaa");
	assert_true(now_ns() - t0 < 1000000000ull);
	assert_int_equal(evloop_deferred_count(c.loop), 0);
	assert_int_equal(evloop_run_once(c.loop, 0), 0);

	/* Cancelled from the fd handler of the same turn: b does not run. */
	c.cancel_b = true;
	evloop_defer(c.loop, &c.a);
	evloop_defer(c.loop, &c.b);
	kick(&c);
	assert_int_equal(evloop_run_once(c.loop, 0), 2);
	assert_string_equal(c.log.ev, "FabFaaFa");
	/* Cancelled before its turn, and cancelling what is not queued. */
	evloop_defer(c.loop, &c.b);
	evloop_defer_cancel(c.loop, &c.b);
	evloop_defer_cancel(c.loop, &c.b);
	evloop_defer_cancel(c.loop, &c.a);
	assert_int_equal(evloop_deferred_count(c.loop), 0);
	assert_int_equal(evloop_run_once(c.loop, 0), 0);
	/* Queue order is kept, and cancelling the tail keeps the queue usable. */
	c.log.n = 0;
	c.cancel_b = false;
	evloop_defer(c.loop, &c.a);
	evloop_defer(c.loop, &c.b);
	evloop_defer_cancel(c.loop, &c.b);
	evloop_defer(c.loop, &c.b);
	assert_int_equal(evloop_run_once(c.loop, 0), 2);
	assert_string_equal(c.log.ev, "ab");
	evloop_del(c.loop, c.fd);
	close(c.fd);
	evloop_free(c.loop);
}

static void call_cb(void *o)
{
	(*(int *)o)++;
}

static void test_call(void **state)
{
	struct evloop *l = evloop_new();
	assert_non_null(l);
	int n = 0;
	assert_int_equal(evloop_call(l, call_cb, &n), 0);
	assert_int_equal(evloop_call(l, call_cb, &n), 0);
	assert_int_equal(evloop_run_once(l, 1000), 2);
	assert_int_equal(n, 2);
	assert_int_equal(evloop_del(l, 12345), -ENOENT);
	assert_int_equal(evloop_add(l, -1, EPOLLIN, NULL, NULL), -EINVAL);
	evloop_free(l);
	evloop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deferred_turns),
		cmocka_unit_test(test_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
