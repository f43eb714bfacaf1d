// SPDX-License-Identifier: MIT
/*
 * The asynchronous control-protocol client (api_session): against the real
 * server on the same loop (requests answered in order, pipelined), and
 * against a scripted peer: replies out of order matched by id, event lines
 * handed to the event callback, a peer that hangs up with requests waiting,
 * a malformed line, a missing socket.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "api.h"
#include "evloop.h"
#include "util.h"

static char dir[64], path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/nv-session-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return rmdir(dir);
}

struct seen {
	int replies, errors, events, closed, close_rc;
	int64_t order[8];
	char last_event[64];
};

static void on_reply(void *opaque, int rc, struct json_object *reply)
{
	struct seen *s = opaque;
	struct json_object *ret, *v;
	if (rc < 0) {
		s->errors++;
		return;
	}
	if (json_object_object_get_ex(reply, "return", &ret) &&
			json_object_object_get_ex(ret, "n", &v) && s->replies < 8)
		s->order[s->replies] = json_object_get_int64(v);
	s->replies++;
}

static void on_event(void *opaque, struct json_object *msg)
{
	struct seen *s = opaque;
	struct json_object *e;
	s->events++;
	if (json_object_object_get_ex(msg, "event", &e))
		snprintf(s->last_event, sizeof(s->last_event), "%s", json_object_get_string(e));
}

static void on_closed(void *opaque, int rc)
{
	struct seen *s = opaque;
	s->closed++;
	s->close_rc = rc;
}

static const struct api_session_ops ops = { on_event, on_closed };

static int h_count(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	int *n = opaque;
	*reply = json_object_new_object();
	json_object_object_add(*reply, "n", json_object_new_int(++*n));
	return 0;
}

static void spin(struct evloop *l, const int *until, int want)
{
	for (int i = 0; i < 200 && *until < want; i++)
		evloop_run_once(l, 50);
	assert_true(*until >= want);
}

static void test_real_server(void **state)
{
	struct evloop *l = evloop_new();
	struct api *a = NULL;
	struct api_session *s = NULL;
	struct seen seen = { 0 };
	char *err = NULL;
	int count = 0;
	assert_int_equal(api_new(l, path, &a, &err), 0);
	assert_int_equal(api_register(a, "count", h_count, &count), 0);
	assert_int_equal(api_session_open(l, path, &ops, &seen, &s), 0);
	/* Pipelined: five requests before the loop runs once. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(api_session_call(s, "count", NULL, on_reply, &seen), 0);
	spin(l, &seen.replies, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(seen.order[i], i + 1);
	assert_true(api_session_connected(s));
	/* An error reply is still a reply (rc 0). */
	assert_int_equal(api_session_call(s, "no-such-command", NULL, on_reply, &seen), 0);
	spin(l, &seen.replies, 6);
	assert_int_equal(seen.errors, 0);
	/* The server goes away: the session closes. */
	api_free(a);
	spin(l, &seen.closed, 1);
	assert_int_equal(api_session_call(s, "count", NULL, on_reply, &seen), -ENOTCONN);
	api_session_free(s);
	evloop_free(l);
}

/* A peer that answers by script. */
static int listen_at(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	unlink(p);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_scripted_peer(void **state)
{
	struct evloop *l = evloop_new();
	struct api_session *s = NULL;
	struct seen seen = { 0 };
	char buf[4096];
	int lfd = listen_at(path);
	assert_int_equal(api_session_open(l, path, &ops, &seen, &s), 0);
	assert_int_equal(api_session_call(s, "a", NULL, on_reply, &seen), 0);
	assert_int_equal(api_session_call(s, "b", NULL, on_reply, &seen), 0);
	assert_int_equal(api_session_call(s, "c", NULL, on_reply, &seen), 0);
	int peer = accept(lfd, NULL, NULL);
	assert_true(peer >= 0);
	evloop_run_once(l, 50);
	ssize_t n = recv(peer, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "\"command\":\"a\""));
	assert_non_null(strstr(buf, "\"id\":3"));
	/* Replies out of order, an event in between, split across writes. */
	const char *script = "{\"return\":{\"n\":2},\"id\":2}\n{\"event\":\"stopped\",\"reason\":\"shut"
		"down\"}\n{\"return\":{\"n\":1},\"id\":1}\r\n";
	assert_int_equal(send(peer, script, 20, 0), 20);
	evloop_run_once(l, 50);
	assert_int_equal(send(peer, script + 20, strlen(script) - 20, 0), (ssize_t)strlen(script) - 20);
	spin(l, &seen.replies, 2);
	assert_int_equal(seen.order[0], 2);
	assert_int_equal(seen.order[1], 1);
	assert_int_equal(seen.events, 1);
	assert_string_equal(seen.last_event, "stopped");
	/* It hangs up with "c" unanswered: that request fails, then the session closes. */
	close(peer);
	spin(l, &seen.closed, 1);
	assert_int_equal(seen.errors, 1);
	assert_int_equal(seen.close_rc, -ECONNRESET);
	api_session_free(s);

	/* A malformed line closes the session with -EPROTO. */
	struct seen bad = { 0 };
	assert_int_equal(api_session_open(l, path, &ops, &bad, &s), 0);
	peer = accept(lfd, NULL, NULL);
	assert_int_equal(send(peer, "not json\n", 9, 0), 9);
	spin(l, &bad.closed, 1);
	assert_int_equal(bad.close_rc, -EPROTO);
	api_session_free(s);
	close(peer);
	close(lfd);
	unlink(path);

	/* Nobody there. */
	assert_int_equal(api_session_open(l, path, &ops, &bad, &s), -ENOENT);
	assert_null(s);
	api_session_free(NULL);
	evloop_free(l);
}

/* subscribe (built in) and api_publish: events reach subscribers only, in order. */
static void test_subscribe(void **state)
{
	struct evloop *l = evloop_new();
	struct api *a = NULL;
	struct api_session *sub = NULL, *other = NULL;
	struct seen seen = { 0 }, quiet = { 0 };
	char *err = NULL;
	assert_int_equal(api_new(l, path, &a, &err), 0);
	assert_int_equal(api_session_open(l, path, &ops, &seen, &sub), 0);
	assert_int_equal(api_session_open(l, path, &ops, &quiet, &other), 0);
	assert_int_equal(api_session_call(sub, "subscribe", NULL, on_reply, &seen), 0);
	assert_int_equal(api_session_call(other, "commands", NULL, on_reply, &quiet), 0);
	spin(l, &seen.replies, 1);
	spin(l, &quiet.replies, 1);
	for (int i = 0; i < 3; i++) {
		struct json_object *d = json_object_new_object();
		json_object_object_add(d, "n", json_object_new_int(i));
		assert_int_equal(api_publish(a, i < 2 ? "state" : "stopped", d), 1);
	}
	spin(l, &seen.events, 3);
	assert_string_equal(seen.last_event, "stopped");
	for (int i = 0; i < 20; i++)
		evloop_run_once(l, 5);
	assert_int_equal(quiet.events, 0);
	assert_int_equal(api_publish(a, "nobody", NULL), 1);
	api_session_free(sub);
	api_session_free(other);
	api_free(a);
	evloop_free(l);
}

struct taken {
	int fd;
	char pending[64];
	size_t len;
};

static void take_cb(void *opaque, int fd, const void *pending, size_t len)
{
	struct taken *t = opaque;
	t->fd = fd;
	t->len = len < sizeof(t->pending) ? len : sizeof(t->pending) - 1;
	memcpy(t->pending, pending, t->len);
}

static int h_attach(void *opaque, struct api_caller *caller, struct json_object *args,
	struct json_object **reply, char **err)
{
	return api_caller_take(caller, take_cb, opaque);
}

static int h_refuse(void *opaque, struct api_caller *caller, struct json_object *args,
	struct json_object **reply, char **err)
{
	api_caller_take(caller, take_cb, opaque);
	return -EPERM; /* a failing command keeps its connection */
}

/* api_caller_take: after the reply, the socket belongs to the command, with what came after. */
static void test_take(void **state)
{
	struct evloop *l = evloop_new();
	struct api *a = NULL;
	struct taken t = { .fd = -1 };
	char *err = NULL, buf[512] = "";
	assert_int_equal(api_new(l, path, &a, &err), 0);
	assert_int_equal(api_register_caller(a, "attach", h_attach, &t), 0);
	assert_int_equal(api_register_caller(a, "refuse", h_refuse, &t), 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	const char *req = "{\"command\":\"refuse\",\"id\":1}\n{\"command\":\"attach\",\"id\":2}\n"
		"typed-ahead {\"command\":\"commands\"}\n";
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (int i = 0; i < 100 && t.fd < 0; i++)
		evloop_run_once(l, 20);
	assert_true(t.fd >= 0);
	/* The bytes after the attach line are the stream's, not a request. */
	assert_string_equal(t.pending, "typed-ahead {\"command\":\"commands\"}\n");
	size_t got = 0;
	while (!strstr(buf, "\"id\":2}\n") && got < sizeof(buf) - 1) {
		buf[got] = 0;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
		buf[got] = 0;
	}
	assert_non_null(strstr(buf, "\"code\":\"EPERM\""));
	assert_non_null(strstr(buf, "{\"return\":{},\"id\":2}\n"));
	assert_null(strstr(buf, "commands\":[")); /* the typed-ahead line was not answered */
	/* Both ways now: the api is out of the way. */
	assert_int_equal(write(t.fd, "raw", 3), 3);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "raw", 3);
	assert_int_equal(send(fd, "x", 1, 0), 1);
	assert_int_equal(read(t.fd, buf, 1), 1);
	close(t.fd);
	close(fd);
	api_free(a);
	evloop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_server),
		cmocka_unit_test(test_scripted_peer),
		cmocka_unit_test(test_subscribe),
		cmocka_unit_test(test_take),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
