// SPDX-License-Identifier: MIT
/*
 * The server over socketpairs with a small in-test driver: the exact
 * "unknown procedure" error, unknown programs, keepalive, calls before open,
 * the read-only refusals, a deferred call that does not block others, a
 * console stream both ways, lifecycle events, and hostile framing that loses
 * only its own connection.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lv_server.h"

/* ---- the in-test driver: one domain "vm1", create deferred ---- */

struct fake {
	struct lv_server *srv;
	struct lv_call *pending; /* a deferred create */
	struct lv_dom *pending_out;
	struct lv_stream *st;
	char got[64];
	size_t ngot;
	int closed; /* 1 finished, 2 aborted */
};

static const uint8_t UUID1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void f_attach(void *priv, struct lv_server *srv)
{
	((struct fake *)priv)->srv = srv;
}

static int f_by_name(void *priv, struct lv_call *c, const char *name, struct lv_dom *out)
{
	(void)priv;
	if (strcmp(name, "vm1"))
		return lv_err_no_domain_name(lv_call_err(c), name);
	return lv_dom_set(out, "vm1", UUID1, -1);
}

static int f_create(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		    struct lv_dom *out)
{
	struct fake *f = priv;
	(void)dom;
	(void)flags;
	f->pending = c;
	f->pending_out = out;
	return LV_DEFERRED;
}

static int f_get_xml(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		     char **xml)
{
	(void)priv;
	(void)c;
	(void)dom;
	*xml = strdup(flags & 1 ? "<domain secure/>" : "<domain/>");
	return 0;
}

static void f_recv(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake *f = opaque;
	memcpy(f->got + f->ngot, buf, len);
	f->ngot += len;
}

static void f_closed(void *opaque, bool aborted)
{
	struct fake *f = opaque;
	f->closed = aborted ? 2 : 1;
	f->st = NULL;
}

static const struct lv_stream_ops f_ops = { f_recv, f_closed };

static int f_console(void *priv, struct lv_call *c, const struct lv_dom *dom, const char *dev,
		     unsigned flags, struct lv_stream *st)
{
	struct fake *f = priv;
	(void)c;
	(void)dom;
	(void)dev;
	(void)flags;
	f->st = st;
	lv_stream_attach(st, &f_ops, f);
	return lv_stream_send(st, "hello", 5); /* before the reply: held until it went */
}

/* ---- a raw protocol client ---- */

struct env {
	struct fake f;
	struct lv_driver drv;
	struct lv_server *s;
	uint32_t serial;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct lv_server_config cfg = { .version = "1.2.3", .max_packet = 8192, .verbose = -1,
					.rw_uid = geteuid() };
	char *err = NULL;
	e->drv.name = "fake";
	e->drv.priv = &e->f;
	e->drv.attach = f_attach;
	e->drv.lookup_by_name = f_by_name;
	e->drv.create = f_create;
	e->drv.get_xml = f_get_xml;
	e->drv.open_console = f_console;
	e->s = lv_server_new(&cfg, &e->drv, &err);
	assert_non_null(e->s);
	assert_ptr_equal(e->f.srv, e->s);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	lv_server_free(e->s);
	free(e);
	return 0;
}

static int connect_client(struct env *e, bool ro)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(lv_server_add_fd(e->s, sv[0], ro), 0);
	return sv[1];
}

static void pump(struct env *e)
{
	for (int i = 0; i < 20; i++)
		lv_server_run_once(e->s, 0);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void send_pkt(int fd, uint32_t prog, int32_t proc, int32_t type, uint32_t serial,
		     int32_t status, const void *body, size_t blen)
{
	uint8_t *p = malloc(28 + blen);
	put32(p, (uint32_t)(28 + blen));
	put32(p + 4, prog);
	put32(p + 8, 1);
	put32(p + 12, (uint32_t)proc);
	put32(p + 16, (uint32_t)type);
	put32(p + 20, serial);
	put32(p + 24, (uint32_t)status);
	if (blen)
		memcpy(p + 28, body, blen);
	assert_int_equal(write(fd, p, 28 + blen), (ssize_t)(28 + blen));
	free(p);
}

static uint32_t call(struct env *e, int fd, int32_t proc, const void *body, size_t blen)
{
	uint32_t serial = e->serial++;
	send_pkt(fd, LV_PROG_REMOTE, proc, LV_CALL, serial, LV_OK, body, blen);
	pump(e);
	return serial;
}

struct pkt {
	struct lv_header h;
	uint8_t body[65536];
	size_t len;
};

/* Reads one packet; false on EOF. */
static bool recv_pkt(int fd, struct pkt *p)
{
	uint8_t lw[4];
	struct pollfd pfd = { fd, POLLIN, 0 };
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	ssize_t n = read(fd, lw, 4);
	if (n == 0)
		return false;
	assert_int_equal(n, 4);
	uint32_t len = lv_be32(lw);
	assert_true(len >= 28 && len - 28 <= sizeof(p->body));
	uint8_t hdr[24];
	assert_int_equal(read(fd, hdr, 24), 24);
	struct lv_dec d;
	lv_dec_init(&d, hdr, 24);
	assert_int_equal(lv_get_header(&d, &p->h), 0);
	lv_dec_fini(&d);
	p->len = len - 28;
	size_t got = 0;
	while (got < p->len) {
		n = read(fd, p->body + got, p->len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	return true;
}

static bool nothing_pending(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	return poll(&pfd, 1, 0) == 0;
}

static void expect_error(int fd, uint32_t serial, int code, int domain, const char *msg)
{
	struct pkt p;
	struct lv_dec d;
	struct lv_err err;
	assert_true(recv_pkt(fd, &p));
	assert_int_equal(p.h.type, LV_REPLY);
	assert_int_equal(p.h.status, LV_ERROR);
	assert_int_equal(p.h.serial, serial);
	lv_dec_init(&d, p.body, p.len);
	assert_int_equal(lv_dec_error(&d, &err), 0);
	assert_int_equal(lv_dec_end(&d), 0);
	lv_dec_fini(&d);
	if (err.code != code || err.domain != domain)
		fail_msg("error %d/%d '%s', want %d/%d", err.code, err.domain, err.msg, code, domain);
	if (!strstr(err.msg, msg))
		fail_msg("error '%s' lacks '%s'", err.msg, msg);
	lv_err_clear(&err);
}

static void expect_ok(int fd, uint32_t serial, struct pkt *p)
{
	assert_true(recv_pkt(fd, p));
	assert_int_equal(p->h.type, LV_REPLY);
	if (p->h.status != LV_OK)
		fail_msg("call %u failed", serial);
	assert_int_equal(p->h.serial, serial);
}

static const uint8_t OPEN_ARGS[] = { 0, 0, 0, 1, 0, 0, 0, 13, 'v', 'm', 'm', ':', '/', '/', '/',
				     's', 'y', 's', 't', 'e', 'm', 0, 0, 0, 0, 0, 0, 0 };

static void open_conn(struct env *e, int fd)
{
	struct pkt p;
	expect_ok(fd, call(e, fd, LV_PROC_CONNECT_OPEN, OPEN_ARGS, sizeof(OPEN_ARGS)), &p);
	assert_int_equal(p.len, 0);
}

/* ---- tests ---- */

static void test_preamble_and_errors(void **state)
{
	struct env *e = *state;
	int fd = connect_client(e, false);
	struct pkt p;

	/* AUTH_LIST as captured: serial 0, reply [0]. */
	expect_ok(fd, call(e, fd, LV_PROC_AUTH_LIST, NULL, 0), &p);
	static const uint8_t auth[] = { 0, 0, 0, 1, 0, 0, 0, 0 };
	assert_int_equal(p.len, sizeof(auth));
	assert_memory_equal(p.body, auth, sizeof(auth));
	assert_int_equal(p.h.proc, 66);
	/* Calls before CONNECT_OPEN are refused; SUPPORTS_FEATURE is not. */
	expect_error(fd, call(e, fd, LV_PROC_CONNECT_GET_TYPE, NULL, 0), LV_ERR_INTERNAL_ERROR,
		     LV_FROM_REMOTE, "connection not open");
	static const uint8_t ka[] = { 0, 0, 0, 10 };
	expect_ok(fd, call(e, fd, LV_PROC_CONNECT_SUPPORTS_FEATURE, ka, 4), &p);
	assert_int_equal(lv_be32(p.body), 1);
	/* Another driver's URI. */
	static const uint8_t qemu[] = { 0, 0, 0, 1, 0, 0, 0, 14, 'q', 'e', 'm', 'u', ':', '/', '/',
					'/', 's', 'y', 's', 't', 'e', 'm', 0, 0, 0, 0, 0, 0 };
	expect_error(fd, call(e, fd, LV_PROC_CONNECT_OPEN, qemu, sizeof(qemu)), LV_ERR_NO_CONNECT,
		     LV_FROM_NONE, "no connection driver available for qemu:///system");
	open_conn(e, fd);
	/* The exact unknown-procedure error, for a procedure with no codec... */
	expect_error(fd, call(e, fd, 9999, NULL, 0), LV_ERR_RPC, LV_FROM_RPC,
		     "unknown procedure: 9999");
	/* ...and one libvirt has that virtvmmd does not (DOMAIN_SNAPSHOT_NUM). */
	expect_error(fd, call(e, fd, 187, NULL, 0), LV_ERR_RPC, LV_FROM_RPC,
		     "unknown procedure: 187");
	/* Truncated arguments name the procedure and the argument. */
	static const uint8_t half_name[] = { 0, 0, 0, 3, 'v' };
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_LOOKUP_BY_NAME, half_name, sizeof(half_name)),
		     LV_ERR_RPC, LV_FROM_RPC, "DOMAIN_LOOKUP_BY_NAME (23): argument 'name' truncated");
	/* An unknown program gets a REPLY with status ERROR. */
	uint32_t s = e->serial++;
	send_pkt(fd, 0x20008088, 1, LV_CALL, s, LV_OK, NULL, 0);
	pump(e);
	expect_error(fd, s, LV_ERR_RPC, LV_FROM_RPC, "cannot find program 0x20008088");
	/* Keepalive: PING gets a PONG (MESSAGE, serial 0). */
	send_pkt(fd, LV_PROG_KEEPALIVE, LV_KA_PING, LV_MESSAGE, 0, LV_OK, NULL, 0);
	pump(e);
	assert_true(recv_pkt(fd, &p));
	assert_int_equal(p.h.prog, LV_PROG_KEEPALIVE);
	assert_int_equal(p.h.proc, LV_KA_PONG);
	assert_int_equal(p.h.type, LV_MESSAGE);
	assert_int_equal(p.h.serial, 0);
	assert_int_equal(p.len, 0);
	/* The driver's own error. */
	static const uint8_t nope[] = { 0, 0, 0, 4, 'n', 'o', 'p', 'e' };
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_LOOKUP_BY_NAME, nope, sizeof(nope)),
		     LV_ERR_NO_DOMAIN, LV_FROM_DOM,
		     "Domain not found: no domain with matching name 'nope'");
	/* CONNECT_GET_VERSION from the configured version. */
	expect_ok(fd, call(e, fd, LV_PROC_CONNECT_GET_VERSION, NULL, 0), &p);
	assert_int_equal(lv_be32(p.body + 4), 1002003);
	assert_true(nothing_pending(fd));
	close(fd);
	pump(e);
	assert_int_equal(lv_server_nclients(e->s), 0);
}

static uint8_t dom_args[64];

static size_t vm1_args(uint32_t flags)
{
	static const uint8_t head[] = { 0, 0, 0, 3, 'v', 'm', '1', 0 };
	memcpy(dom_args, head, 8);
	memcpy(dom_args + 8, UUID1, 16);
	put32(dom_args + 24, 0xffffffffu);
	put32(dom_args + 28, flags);
	return 32;
}

static void test_readonly(void **state)
{
	struct env *e = *state;
	int fd = connect_client(e, true);
	struct pkt p;
	open_conn(e, fd);
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_CREATE, dom_args, vm1_args(0) - 4),
		     LV_ERR_OPERATION_DENIED, LV_FROM_DOMAIN,
		     "operation forbidden: read only access prevents virDomainCreate");
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_DESTROY_FLAGS, dom_args, vm1_args(1)),
		     LV_ERR_OPERATION_DENIED, LV_FROM_DOMAIN, "virDomainDestroyFlags");
	vm1_args(0);
	put32(dom_args + 32, 0); /* dev_name absent, then flags */
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_OPEN_CONSOLE, dom_args, 36),
		     LV_ERR_OPERATION_DENIED, LV_FROM_DOMAIN, "virDomainOpenConsole");
	/* Reading the XML is allowed, with the secure flag it is not. */
	expect_ok(fd, call(e, fd, LV_PROC_DOMAIN_GET_XML_DESC, dom_args, vm1_args(0)), &p);
	assert_memory_equal(p.body + 4, "<domain/>", 9);
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_GET_XML_DESC, dom_args, vm1_args(1)),
		     LV_ERR_OPERATION_DENIED, LV_FROM_DOMAIN,
		     "read only access prevents virDomainGetXMLDesc with secure flag");
	close(fd);
	/* A read-write socket opened with the RO flag is read-only too. */
	fd = connect_client(e, false);
	static const uint8_t ro_open[] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	expect_ok(fd, call(e, fd, LV_PROC_CONNECT_OPEN, ro_open, sizeof(ro_open)), &p);
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_CREATE, dom_args, vm1_args(0) - 4),
		     LV_ERR_OPERATION_DENIED, LV_FROM_DOMAIN, "virDomainCreate");
	close(fd);
	pump(e);
}

static void test_deferred_and_events(void **state)
{
	struct env *e = *state;
	int a = connect_client(e, false), b = connect_client(e, false);
	struct pkt p;
	open_conn(e, a);
	open_conn(e, b);
	/* b registers for lifecycle events of any domain. */
	static const uint8_t reg[] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	expect_ok(b, call(e, b, LV_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, reg, 8), &p);
	int32_t cbid = (int32_t)lv_be32(p.body);
	/* a's create is deferred: no reply yet, yet a's PING and b's calls answer. */
	uint32_t s = call(e, a, LV_PROC_DOMAIN_CREATE, dom_args, vm1_args(0) - 4);
	assert_non_null(e->f.pending);
	assert_true(nothing_pending(a));
	send_pkt(a, LV_PROG_KEEPALIVE, LV_KA_PING, LV_MESSAGE, 0, LV_OK, NULL, 0);
	uint32_t t = call(e, a, LV_PROC_CONNECT_GET_TYPE, NULL, 0);
	assert_true(recv_pkt(a, &p));
	assert_int_equal(p.h.proc, LV_KA_PONG);
	expect_ok(a, t, &p);
	assert_memory_equal(p.body, "\0\0\0\3VMM", 7);
	expect_ok(b, call(e, b, LV_PROC_CONNECT_GET_TYPE, NULL, 0), &p);
	/* The driver finishes: a gets its reply, b the event. */
	struct lv_dom started = { (char *)"vm1", { 0 }, 1 };
	memcpy(started.uuid, UUID1, 16);
	assert_int_equal(lv_dom_copy(e->f.pending_out, &started), 0);
	lv_call_complete(e->f.pending, 0);
	e->f.pending = NULL;
	lv_server_emit_lifecycle(e->s, &started, LV_EVENT_STARTED, 0);
	pump(e);
	expect_ok(a, s, &p);
	assert_int_equal(p.h.proc, LV_PROC_DOMAIN_CREATE);
	assert_true(recv_pkt(b, &p));
	assert_int_equal(p.h.type, LV_MESSAGE);
	assert_int_equal(p.h.proc, LV_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE);
	struct lv_dec d;
	int32_t id, ev, detail;
	struct lv_dom got;
	lv_dec_init(&d, p.body, p.len);
	assert_int_equal(lv_dec_lifecycle_cb_msg(&d, &id, &got, &ev, &detail), 0);
	lv_dec_fini(&d);
	assert_int_equal(id, cbid);
	assert_string_equal(got.name, "vm1");
	assert_int_equal(got.id, 1);
	assert_int_equal(ev, LV_EVENT_STARTED);
	lv_dom_clear(&got);
	assert_true(nothing_pending(a)); /* a never registered */
	/* A deferred call whose client left completes quietly. */
	call(e, a, LV_PROC_DOMAIN_CREATE, dom_args, vm1_args(0) - 4);
	assert_non_null(e->f.pending);
	close(a);
	pump(e);
	lv_call_complete(e->f.pending, 0);
	e->f.pending = NULL;
	/* Deregistering stops the events; an unknown callback is refused. */
	uint8_t dereg[4];
	put32(dereg, (uint32_t)cbid);
	expect_ok(b, call(e, b, LV_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, dereg, 4), &p);
	expect_error(b, call(e, b, LV_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, dereg, 4),
		     LV_ERR_INVALID_ARG, LV_FROM_DOMAIN, "not registered");
	static const uint8_t bad_id[] = { 0, 0, 0, 99, 0, 0, 0, 0 };
	expect_error(b, call(e, b, LV_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, bad_id, 8),
		     LV_ERR_INVALID_ARG, LV_FROM_DOMAIN, "unsupported event ID 99");
	/* The legacy registration gets 107. */
	static const uint8_t legacy[] = { 0, 0, 0, 0 };
	expect_ok(b, call(e, b, LV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, legacy, 4), &p);
	lv_server_emit_lifecycle(e->s, &started, LV_EVENT_STOPPED, 1);
	pump(e);
	assert_true(recv_pkt(b, &p));
	assert_int_equal(p.h.proc, LV_PROC_DOMAIN_EVENT_LIFECYCLE);
	assert_int_equal(lv_be32(p.body + p.len - 8), LV_EVENT_STOPPED);
	assert_true(nothing_pending(b));
	close(b);
	pump(e);
}

static void test_console_stream(void **state)
{
	struct env *e = *state;
	int fd = connect_client(e, false);
	struct pkt p;
	open_conn(e, fd);
	uint8_t args[48];
	size_t n = vm1_args(0) - 4;
	memcpy(args, dom_args, n);
	put32(args + n, 0); /* dev_name absent */
	put32(args + n + 4, 0);
	uint32_t s = call(e, fd, LV_PROC_DOMAIN_OPEN_CONSOLE, args, n + 8);
	/* The reply first, then the data the driver sent during the open. */
	expect_ok(fd, s, &p);
	assert_true(recv_pkt(fd, &p));
	assert_int_equal(p.h.type, LV_STREAM);
	assert_int_equal(p.h.status, LV_CONTINUE);
	assert_int_equal(p.h.serial, s);
	assert_int_equal(p.h.proc, LV_PROC_DOMAIN_OPEN_CONSOLE);
	assert_int_equal(p.len, 5);
	assert_memory_equal(p.body, "hello", 5);
	/* Keystrokes reach the driver. */
	send_pkt(fd, LV_PROG_REMOTE, LV_PROC_DOMAIN_OPEN_CONSOLE, LV_STREAM, s, LV_CONTINUE, "ls\n",
		 3);
	pump(e);
	assert_int_equal(e->f.ngot, 3);
	assert_memory_equal(e->f.got, "ls\n", 3);
	/* Output as the guest writes it, then the client finishes (Ctrl-]). */
	assert_int_equal(lv_stream_send(e->f.st, "out", 3), 0);
	pump(e);
	assert_true(recv_pkt(fd, &p));
	assert_memory_equal(p.body, "out", 3);
	send_pkt(fd, LV_PROG_REMOTE, LV_PROC_DOMAIN_OPEN_CONSOLE, LV_STREAM, s, LV_OK, NULL, 0);
	pump(e);
	assert_true(recv_pkt(fd, &p));
	assert_int_equal(p.h.type, LV_STREAM);
	assert_int_equal(p.h.status, LV_OK);
	assert_int_equal(p.len, 0);
	assert_int_equal(e->f.closed, 1);
	/* A second console; the client goes away: the driver hears of it. */
	s = call(e, fd, LV_PROC_DOMAIN_OPEN_CONSOLE, args, n + 8);
	expect_ok(fd, s, &p);
	e->f.closed = 0;
	close(fd);
	pump(e);
	assert_int_equal(e->f.closed, 2);
}

static void test_hostile_framing(void **state)
{
	struct env *e = *state;
	int good = connect_client(e, false);
	struct pkt p;
	open_conn(e, good);

	/* A 33 MiB length word: dropped at once. */
	int bad = connect_client(e, false);
	uint8_t big[4];
	put32(big, 33u * 1024 * 1024 + 5);
	assert_int_equal(write(bad, big, 4), 4);
	pump(e);
	assert_false(recv_pkt(bad, &p));
	close(bad);
	/* Garbage. */
	bad = connect_client(e, false);
	assert_int_equal(write(bad, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	pump(e);
	assert_false(recv_pkt(bad, &p));
	close(bad);
	/* A length below the header. */
	bad = connect_client(e, false);
	uint8_t small[8] = { 0, 0, 0, 8, 0, 0, 0, 0 };
	assert_int_equal(write(bad, small, 8), 8);
	pump(e);
	assert_false(recv_pkt(bad, &p));
	close(bad);
	/* Half a packet, then the writer shuts down. */
	bad = connect_client(e, false);
	uint8_t half[14] = { 0, 0, 0, 28, 0x20, 0x00, 0x80, 0x86 };
	assert_int_equal(write(bad, half, sizeof(half)), (ssize_t)sizeof(half));
	pump(e);
	assert_true(nothing_pending(bad));
	shutdown(bad, SHUT_WR);
	pump(e);
	assert_false(recv_pkt(bad, &p));
	close(bad);
	/* Over this server's per-client limit (8192 here) yet within the protocol:
	 * answered with an error and skipped; the connection goes on. */
	uint8_t *body = calloc(1, 10000);
	uint32_t s = e->serial++;
	send_pkt(good, LV_PROG_REMOTE, LV_PROC_DOMAIN_DEFINE_XML, LV_CALL, s, LV_OK, body, 10000);
	free(body);
	pump(e);
	expect_error(good, s, LV_ERR_RPC, LV_FROM_RPC, "exceeds virtvmmd's limit of 8192");
	/* The good client was served all along. */
	expect_ok(good, call(e, good, LV_PROC_CONNECT_GET_TYPE, NULL, 0), &p);
	assert_int_equal(lv_server_nclients(e->s), 1);
	close(good);
	pump(e);
	assert_int_equal(lv_server_nclients(e->s), 0);
}

static void test_no_support(void **state)
{
	struct env *e = *state;
	int fd = connect_client(e, false);
	open_conn(e, fd);
	/* The fake has no suspend: libvirt's "not supported" error. */
	expect_error(fd, call(e, fd, LV_PROC_DOMAIN_SUSPEND, dom_args, vm1_args(0) - 4),
		     LV_ERR_NO_SUPPORT, LV_FROM_NONE,
		     "this function is not supported by the connection driver: virDomainSuspend");
	close(fd);
	pump(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_preamble_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_console_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_support, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
