// SPDX-License-Identifier: MIT
/* Control socket: a server on an evloop in a thread, clients from the test thread. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "api.h"
#include "evloop.h"
#include "util.h"

#define BIG_REPLY (256 * 1024)

struct srv {
	char dir[64], path[128];
	struct evloop *loop;
	struct api *api;
	pthread_t th;
	bool running;
	bool stop; /* loop thread only */
};

static int h_status(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	*reply = json_object_new_object();
	json_object_object_add(*reply, "state", json_object_new_string("running"));
	return 0;
}

static int h_echo(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	*reply = args ? json_object_get(args) : NULL;
	return 0;
}

static int h_fail(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	*reply = json_object_new_object(); /* must be dropped, not leaked */
	*err = strdup("VM is busy");
	return -EBUSY;
}

static int h_fail_nomsg(void *opaque, struct json_object *args, struct json_object **reply,
			char **err)
{
	return -ENOENT;
}

static int h_big(void *opaque, struct json_object *args, struct json_object **reply, char **err)
{
	char *s = malloc(BIG_REPLY + 1);
	memset(s, 'b', BIG_REPLY);
	s[BIG_REPLY] = '\0';
	*reply = json_object_new_object();
	json_object_object_add(*reply, "blob", json_object_new_string(s));
	free(s);
	return 0;
}

static void *loop_main(void *p)
{
	struct srv *s = p;
	while (!s->stop)
		if (evloop_run_once(s->loop, -1) < 0)
			break;
	return NULL;
}

static void stop_cb(void *p)
{
	((struct srv *)p)->stop = true;
}

static void srv_create(struct srv *s)
{
	char *err = NULL;
	s->loop = evloop_new();
	assert_non_null(s->loop);
	int rc = api_new(s->loop, s->path, &s->api, &err);
	if (rc < 0)
		fail_msg("api_new: %s", err);
	assert_int_equal(api_register(s->api, "status", h_status, NULL), 0);
	assert_int_equal(api_register(s->api, "echo", h_echo, NULL), 0);
	assert_int_equal(api_register(s->api, "fail", h_fail, NULL), 0);
	assert_int_equal(api_register(s->api, "fail-nomsg", h_fail_nomsg, NULL), 0);
	assert_int_equal(api_register(s->api, "big", h_big, NULL), 0);
}

static void srv_start(struct srv *s)
{
	s->stop = false;
	assert_int_equal(pthread_create(&s->th, NULL, loop_main, s), 0);
	s->running = true;
}

static void srv_stop(struct srv *s)
{
	if (!s->running)
		return;
	assert_int_equal(evloop_call(s->loop, stop_cb, s), 0);
	pthread_join(s->th, NULL);
	s->running = false;
}

static int setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));
	strcpy(s->dir, "/tmp/nv-api-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/vmm.sock", s->dir);
	*state = s;
	return 0;
}

/* Server created but its thread not started: tests adjust it first. */
static int setup_created(void **state)
{
	setup(state);
	srv_create(*state);
	return 0;
}

static int setup_running(void **state)
{
	setup_created(state);
	srv_start(*state);
	return 0;
}

static int teardown(void **state)
{
	struct srv *s = *state;
	srv_stop(s);
	api_free(s->api);
	evloop_free(s->loop);
	unlink(s->path);
	rmdir(s->dir);
	free(s);
	return 0;
}

/* ---- client helpers ---- */

static struct json_object *call(struct srv *s, const char *cmd, const char *args)
{
	struct json_object *r = NULL;
	char *err = NULL;
	int rc = api_call_json(s->path, cmd, args, 5000, &r, &err);
	if (rc < 0)
		fail_msg("api_call %s: %s", cmd, err);
	return r;
}

static const char *err_code(struct json_object *r)
{
	struct json_object *e, *c;
	if (!json_object_object_get_ex(r, "error", &e) || !json_object_object_get_ex(e, "code", &c))
		return NULL;
	return json_object_get_string(c);
}

static const char *ret_str(struct json_object *r, const char *key)
{
	struct json_object *ret, *v;
	if (!json_object_object_get_ex(r, "return", &ret) || !json_object_object_get_ex(ret, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void raw_send(int fd, const char *buf, size_t len)
{
	assert_int_equal(write_full(fd, buf, len), 0);
}

static void raw_sends(int fd, const char *s)
{
	raw_send(fd, s, strlen(s));
}

/* One reply line, parsed; NULL at EOF. */
static struct json_object *raw_reply(int fd)
{
	char buf[8192];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return NULL;
		if (buf[n] == '\n')
			break;
		assert_true(++n < sizeof(buf) - 1);
	}
	buf[n] = '\0';
	struct json_object *o = json_tokener_parse(buf);
	assert_non_null(o);
	return o;
}

static void expect_code(int fd, const char *code)
{
	struct json_object *r = raw_reply(fd);
	assert_non_null(r);
	assert_non_null(err_code(r));
	assert_string_equal(err_code(r), code);
	json_object_put(r);
}

static void expect_status(int fd)
{
	raw_sends(fd, "{\"command\":\"status\"}\n");
	struct json_object *r = raw_reply(fd);
	assert_non_null(r);
	assert_string_equal(ret_str(r, "state"), "running");
	json_object_put(r);
}

/* ---- tests ---- */

static void test_status_roundtrip(void **state)
{
	struct json_object *r = call(*state, "status", NULL);
	assert_string_equal(ret_str(r, "state"), "running");
	assert_false(json_object_object_get_ex(r, "id", NULL));
	json_object_put(r);

	r = call(*state, "echo", "{\"a\": [1, 2], \"b\": \"x/y\"}");
	assert_string_equal(ret_str(r, "b"), "x/y");
	json_object_put(r);
}

static void test_commands_builtin(void **state)
{
	struct json_object *r = call(*state, "commands", NULL), *ret, *list;
	assert_true(json_object_object_get_ex(r, "return", &ret));
	assert_true(json_object_object_get_ex(ret, "commands", &list));
	assert_int_equal(json_object_array_length(list), 7);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(list, 0)), "commands");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(list, 1)), "subscribe");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(list, 2)), "status");
	json_object_put(r);
}

static void test_unknown_command(void **state)
{
	struct json_object *r = call(*state, "frobnicate", NULL), *e, *m;
	assert_string_equal(err_code(r), "unknown-command");
	assert_true(json_object_object_get_ex(r, "error", &e));
	assert_true(json_object_object_get_ex(e, "message", &m));
	assert_non_null(strstr(json_object_get_string(m), "frobnicate"));
	json_object_put(r);
}

static void test_handler_error(void **state)
{
	struct json_object *r = call(*state, "fail", NULL), *e, *m;
	assert_string_equal(err_code(r), "EBUSY");
	assert_true(json_object_object_get_ex(r, "error", &e));
	assert_true(json_object_object_get_ex(e, "message", &m));
	assert_string_equal(json_object_get_string(m), "VM is busy");
	json_object_put(r);

	r = call(*state, "fail-nomsg", NULL);
	assert_string_equal(err_code(r), "ENOENT");
	json_object_put(r);
}

static void test_invalid_requests(void **state)
{
	struct srv *s = *state;
	int fd = raw_connect(s->path);
	static const char *bad[] = {
		"{bad\n", "{\"command\": \"status\"\n", "{\"command\":\"status\"} trailing\n",
		"[1, 2]\n", "42\n", "null\n", "\"status\"\n", "{}\n", "{\"command\": 5}\n",
		"{\"command\": null}\n", "{\"command\":\"status\",\"arguments\":[1]}\n",
		"{\"command\":\"status\",\"argument\":{}}\n", "{\"command\":\"status\"}\0x\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		/* the last one carries a NUL byte: send it whole */
		size_t len = i == ARRAY_SIZE(bad) - 1 ? 23 : strlen(bad[i]);
		raw_send(fd, bad[i], len);
		expect_code(fd, "invalid-request");
	}
	/* blank lines get no reply; CRLF is fine; the connection still serves */
	raw_sends(fd, "\n  \r\n{\"command\":\"echo\",\"arguments\":{\"k\":\"v\"},\"id\":3}\r\n");
	struct json_object *r = raw_reply(fd);
	assert_string_equal(ret_str(r, "k"), "v");
	json_object_put(r);
	expect_status(fd);
	close(fd);
}

static void test_id_echoed(void **state)
{
	struct srv *s = *state;
	int fd = raw_connect(s->path);
	raw_sends(fd, "{\"id\": 7, \"command\": \"status\"}\n"
		      "{\"command\": \"nope\", \"id\": \"abc\"}\n"
		      "{\"command\": \"fail\", \"id\": {\"x\": [1]}}\n"
		      "{\"command\": 1, \"id\": 9}\n");
	struct json_object *r = raw_reply(fd), *id;
	assert_true(json_object_object_get_ex(r, "id", &id));
	assert_int_equal(json_object_get_int(id), 7);
	json_object_put(r);
	r = raw_reply(fd);
	assert_true(json_object_object_get_ex(r, "id", &id));
	assert_string_equal(json_object_get_string(id), "abc");
	assert_string_equal(err_code(r), "unknown-command");
	json_object_put(r);
	r = raw_reply(fd);
	assert_true(json_object_object_get_ex(r, "id", &id));
	assert_string_equal(json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN),
			    "{\"x\":[1]}");
	assert_string_equal(err_code(r), "EBUSY");
	json_object_put(r);
	r = raw_reply(fd);
	assert_true(json_object_object_get_ex(r, "id", &id));
	assert_int_equal(json_object_get_int(id), 9);
	assert_string_equal(err_code(r), "invalid-request");
	json_object_put(r);
	close(fd);
}

/* A request line of n bytes (newline excluded), padded with spaces. */
static char *padded_request(size_t n)
{
	const char *req = "{\"command\":\"status\",\"id\":1}";
	char *buf = malloc(n + 1);
	memset(buf, ' ', n);
	memcpy(buf, req, strlen(req));
	buf[n] = '\n';
	return buf;
}

static void test_oversized_request(void **state)
{
	struct srv *s = *state;
	int fd = raw_connect(s->path);
	char *big = padded_request(70 * 1024);
	raw_send(fd, big, 70 * 1024 + 1);
	free(big);
	expect_code(fd, "request-too-large");
	expect_status(fd); /* the rest of the line was dropped, no second reply */

	/* the limit itself: 65536 bytes pass, 65537 do not */
	big = padded_request(API_MAX_REQUEST);
	raw_send(fd, big, API_MAX_REQUEST + 1);
	free(big);
	struct json_object *r = raw_reply(fd);
	assert_string_equal(ret_str(r, "state"), "running");
	json_object_put(r);
	big = padded_request(API_MAX_REQUEST + 1);
	raw_send(fd, big, API_MAX_REQUEST + 2);
	free(big);
	expect_code(fd, "request-too-large");
	expect_status(fd);
	close(fd);
}

static void test_two_clients(void **state)
{
	struct srv *s = *state;
	int a = raw_connect(s->path), b = raw_connect(s->path);
	raw_sends(a, "{\"command\":\"ech"); /* a stalls mid-request */
	expect_status(b);
	raw_sends(a, "o\",\"arguments\":{\"who\":\"a\"}}\n");
	struct json_object *r = raw_reply(a);
	assert_string_equal(ret_str(r, "who"), "a");
	json_object_put(r);
	expect_status(b);
	close(a);
	close(b);
}

static void test_client_gone_mid_request(void **state)
{
	struct srv *s = *state;
	int fd = raw_connect(s->path);
	raw_sends(fd, "{\"command\":\"sta");
	close(fd);
	/* gone with replies still queued */
	fd = raw_connect(s->path);
	raw_sends(fd, "{\"command\":\"big\"}\n{\"command\":\"big\"}\n");
	close(fd);
	/* half-closed: still answered */
	fd = raw_connect(s->path);
	raw_sends(fd, "{\"command\":\"status\"}\n");
	shutdown(fd, SHUT_WR);
	struct json_object *r = raw_reply(fd);
	assert_string_equal(ret_str(r, "state"), "running");
	json_object_put(r);
	assert_null(raw_reply(fd)); /* then closed */
	close(fd);
	r = call(s, "status", NULL);
	json_object_put(r);
}

static void test_slow_reader_dropped(void **state)
{
	struct srv *s = *state;
	int fd = raw_connect(s->path);
	const char *req = "{\"command\":\"big\"}\n";
	char buf[64 * 1024];
	size_t total = 0;
	for (int i = 0; i < 20; i++)
		raw_sends(fd, req);
	/* Read nothing until the server hangs up on us. */
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	assert_int_equal(poll(&p, 1, 20000), 1);
	assert_true(p.revents & (POLLHUP | POLLRDHUP));
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0) {
			assert_true(r == 0 || errno == ECONNRESET);
			break;
		}
		total += (size_t)r;
	}
	assert_true(total < 20 * (size_t)BIG_REPLY);
	close(fd);
	struct json_object *r = call(s, "status", NULL);
	json_object_put(r);
}

static void test_socket_mode(void **state)
{
	struct srv *s = *state;
	struct stat st;
	assert_int_equal(lstat(s->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* whatever the umask (another loop: this one runs in its thread) */
	static const mode_t masks[] = { 0, 0777 };
	struct evloop *l = evloop_new();
	for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
		char path[160];
		struct api *a = NULL;
		snprintf(path, sizeof(path), "%s/m%zu.sock", s->dir, i);
		mode_t old = umask(masks[i]);
		int rc = api_new(l, path, &a, NULL);
		umask(old);
		assert_int_equal(rc, 0);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		api_free(a);
	}
	evloop_free(l);
}

/* Leaves a socket file with nobody listening behind it. */
static void make_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_stale_socket_replaced(void **state)
{
	struct srv *s = *state;
	struct json_object *r = NULL;
	struct stat st;
	make_stale(s->path);
	assert_int_equal(api_call(s->path, "status", NULL, 1000, &r), -ECONNREFUSED);
	srv_create(s);
	assert_int_equal(lstat(s->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	srv_start(s);
	r = call(s, "status", NULL);
	assert_string_equal(ret_str(r, "state"), "running");
	json_object_put(r);
}

static void test_live_path_refused(void **state)
{
	struct srv *s = *state;
	struct evloop *l2 = evloop_new();
	struct api *a2 = (struct api *)1;
	char *err = NULL;
	assert_int_equal(api_new(l2, s->path, &a2, &err), -EADDRINUSE);
	assert_null(a2);
	assert_non_null(strstr(err, s->path));
	assert_non_null(strstr(err, "in use by a running VMM"));
	free(err);
	evloop_free(l2);
	struct json_object *r = call(s, "status", NULL); /* the first one is untouched */
	json_object_put(r);
}

static void test_bad_paths(void **state)
{
	struct srv *s = *state;
	struct evloop *l = evloop_new();
	struct api *a = NULL;
	char *err = NULL, path[300];

	FILE *f = fopen(s->path, "w");
	fclose(f);
	assert_int_equal(api_new(l, s->path, &a, &err), -EEXIST);
	assert_non_null(strstr(err, s->path));
	assert_non_null(strstr(err, "not a socket"));
	free(err);
	assert_int_equal(unlink(s->path), 0); /* it was left alone */

	snprintf(path, sizeof(path), "%s/no/such/dir.sock", s->dir);
	assert_int_equal(api_new(l, path, &a, &err), -ENOENT);
	assert_non_null(strstr(err, path));
	free(err);

	memset(path, 'x', 200);
	path[200] = '\0';
	assert_int_equal(api_new(l, path, &a, &err), -ENAMETOOLONG);
	free(err);
	assert_null(a);
	evloop_free(l);
}

static void test_free_removes_file(void **state)
{
	struct srv *s = *state;
	int fd = raw_connect(s->path); /* a client still connected */
	srv_stop(s);
	api_free(s->api);
	s->api = NULL;
	assert_int_equal(access(s->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(raw_reply(fd));
	close(fd);
	api_free(NULL);
}

static void test_peer_rejected(void **state)
{
	struct srv *s = *state;
	api_set_allowed_peer(s->api, getuid() + 1, false);
	srv_start(s);
	int fd = raw_connect(s->path);
	expect_code(fd, "permission-denied");
	assert_null(raw_reply(fd));
	close(fd);

	struct json_object *r = NULL;
	assert_int_equal(api_call(s->path, "status", NULL, 5000, &r), 0);
	assert_string_equal(err_code(r), "permission-denied");
	json_object_put(r);
}

static void test_peer_same_uid(void **state)
{
	struct srv *s = *state;
	api_set_allowed_peer(s->api, getuid(), false);
	srv_start(s);
	struct json_object *r = call(s, "status", NULL);
	assert_string_equal(ret_str(r, "state"), "running");
	json_object_put(r);
}

static void test_register(void **state)
{
	struct srv *s = *state;
	assert_int_equal(api_register(s->api, "status", h_status, NULL), -EEXIST);
	assert_int_equal(api_register(s->api, "commands", h_status, NULL), -EEXIST);
	assert_int_equal(api_register(s->api, "", h_status, NULL), -EINVAL);
	assert_int_equal(api_register(s->api, "x", NULL, NULL), -EINVAL);
}

static void test_call_errors(void **state)
{
	struct srv *s = *state;
	struct json_object *r = NULL;
	char *err = NULL, path[200];

	assert_int_equal(api_call(s->path, "status", NULL, 1000, &r), -ENOENT);
	assert_int_equal(api_call_json(s->path, "status", NULL, 1000, &r, &err), -ENOENT);
	assert_non_null(strstr(err, s->path));
	free(err);
	assert_int_equal(api_call_json(s->path, "status", "[1]", 1000, &r, &err), -EINVAL);
	free(err);
	memset(path, 'x', 150);
	path[150] = '\0';
	assert_int_equal(api_call(path, "status", NULL, 1000, &r), -ENAMETOOLONG);

	/* a listener that never answers */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, s->path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	uint64_t t0 = now_ns();
	assert_int_equal(api_call(s->path, "status", NULL, 100, &r), -ETIMEDOUT);
	assert_true(now_ns() - t0 < 2000000000ULL);
	assert_null(r);
	close(fd);
}

static void test_print_reply(void **state)
{
	struct srv *s = *state;
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0;
	FILE *out = open_memstream(&obuf, &olen), *eout = open_memstream(&ebuf, &elen);

	struct json_object *r = call(s, "status", NULL);
	assert_int_equal(api_print_reply(r, out, eout), 0);
	json_object_put(r);
	r = call(s, "fail", NULL);
	assert_int_equal(api_print_reply(r, out, eout), -EREMOTEIO);
	json_object_put(r);
	r = json_object_new_object();
	assert_int_equal(api_print_reply(r, out, eout), -EPROTO);
	json_object_put(r);
	fclose(out);
	fclose(eout);
	assert_non_null(strstr(obuf, "\"state\": \"running\""));
	assert_non_null(strstr(ebuf, "error: EBUSY: VM is busy\n"));
	assert_non_null(strstr(ebuf, "malformed reply"));
	free(obuf);
	free(ebuf);
}

static void test_wire_helpers(void **state)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		int rc;
		const char *why;
	} cases[] = {
		{ "{}", 0, 0, NULL },
		{ " \t{\"a\": [1, {\"b\": null}]} \r", 0, 0, NULL },
		{ "{}garbage", 2, 0, NULL }, /* not NUL-terminated */
		{ "123", 0, -EPROTO, "must be a JSON object" },
		{ "null", 0, -EPROTO, "must be a JSON object" },
		{ "{} x", 0, -EPROTO, NULL },
		{ "{}{}", 0, -EPROTO, NULL },
		{ "{\"a\":", 0, -EPROTO, "malformed JSON" },
		{ "{'a': 1,}", 0, -EPROTO, "malformed JSON" },
		{ "", 0, -EPROTO, "malformed JSON" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_object *o = (struct json_object *)1;
		char why[128] = "";
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		int rc = api_parse_line(cases[i].text, len, &o, why, sizeof(why));
		if (rc != cases[i].rc)
			fail_msg("case %zu '%s': rc %d (%s)", i, cases[i].text, rc, why);
		assert_true(rc == 0 ? o != NULL : o == NULL);
		if (cases[i].why)
			assert_non_null(strstr(why, cases[i].why));
		json_object_put(o);
	}

	struct json_object *id = json_object_new_int(4);
	struct json_object *r = api_errno_reply(-EBUSY, NULL, id), *e, *m;
	assert_string_equal(err_code(r), "EBUSY");
	assert_true(json_object_object_get_ex(r, "error", &e));
	assert_true(json_object_object_get_ex(e, "message", &m));
	assert_string_equal(json_object_get_string(m), "Device or resource busy");
	assert_true(json_object_object_get_ex(r, "id", NULL));
	json_object_put(r);
	json_object_put(id);
	r = api_errno_reply(0, "odd", NULL); /* not an error: reported as EIO */
	assert_string_equal(err_code(r), "EIO");
	json_object_put(r);
	r = api_errno_reply(-9999, NULL, NULL);
	assert_string_equal(err_code(r), "errno-9999");
	json_object_put(r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
#define RUNNING(t) cmocka_unit_test_setup_teardown(t, setup_running, teardown)
#define CREATED(t) cmocka_unit_test_setup_teardown(t, setup_created, teardown)
#define BARE(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		RUNNING(test_status_roundtrip),
		RUNNING(test_commands_builtin),
		RUNNING(test_unknown_command),
		RUNNING(test_handler_error),
		RUNNING(test_invalid_requests),
		RUNNING(test_id_echoed),
		RUNNING(test_oversized_request),
		RUNNING(test_two_clients),
		RUNNING(test_client_gone_mid_request),
		RUNNING(test_slow_reader_dropped),
		RUNNING(test_socket_mode),
		BARE(test_stale_socket_replaced),
		RUNNING(test_live_path_refused),
		BARE(test_bad_paths),
		RUNNING(test_free_removes_file),
		CREATED(test_peer_rejected),
		CREATED(test_peer_same_uid),
		CREATED(test_register),
		BARE(test_call_errors),
		RUNNING(test_print_reply),
		BARE(test_wire_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
