// SPDX-License-Identifier: MIT
/*
 * Fuzz target: virtvmmd's protocol core. The input is what one client sends
 * on its socket: the server (with the zero-domain driver) frames it, decodes
 * every call's arguments, dispatches and answers. Everything the server
 * writes back must be whole packets with a valid header. Then the input's
 * body after a 4-byte procedure number is decoded with that procedure's
 * argument codec directly. Any crash, hang, sanitizer report or failed
 * CHECK is a bug.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lv_codec.h"
#include "lv_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct out {
	uint8_t *buf;
	size_t len, cap;
};

static void drain(int fd, struct out *o)
{
	for (;;) {
		if (o->cap - o->len < 65536) {
			o->cap = o->cap ? o->cap * 2 : 262144;
			o->buf = realloc(o->buf, o->cap);
			CHECK(o->buf);
		}
		ssize_t n = recv(fd, o->buf + o->len, o->cap - o->len, MSG_DONTWAIT);
		if (n <= 0)
			return;
		o->len += (size_t)n;
	}
}

/* Every packet the server sent is whole and well formed. */
static void check_output(const struct out *o)
{
	size_t off = 0;
	while (off < o->len) {
		CHECK(o->len - off >= LV_PACKET_MIN);
		uint32_t len = lv_be32(o->buf + off);
		CHECK(len >= LV_PACKET_MIN && len <= LV_PACKET_MAX && len <= o->len - off);
		struct lv_dec d;
		struct lv_header h;
		lv_dec_init(&d, o->buf + off + 4, LV_HEADER_LEN);
		CHECK(lv_get_header(&d, &h) == 0);
		lv_dec_fini(&d);
		CHECK(h.type == LV_REPLY || h.type == LV_MESSAGE || h.type == LV_STREAM);
		CHECK(h.status == LV_OK || h.status == LV_ERROR || h.status == LV_CONTINUE);
		if (h.prog == LV_PROG_KEEPALIVE && h.type == LV_MESSAGE)
			CHECK(h.proc == LV_KA_PONG && h.serial == 0 && len == LV_PACKET_MIN);
		if (h.status == LV_ERROR) {
			struct lv_err e;
			lv_dec_init(&d, o->buf + off + LV_PACKET_MIN, len - LV_PACKET_MIN);
			CHECK(lv_dec_error(&d, &e) == 0 && lv_dec_end(&d) == 0);
			CHECK(e.msg && e.code > 0);
			lv_dec_fini(&d);
			lv_err_clear(&e);
		}
		off += len;
	}
}

static void through_server(const uint8_t *data, size_t size)
{
	struct lv_driver *drv = lv_driver_none_new();
	struct lv_server_config cfg = { .version = "0.1.0", .verbose = -1, .max_packet = 65536,
					.rw_uid = geteuid() };
	char *err = NULL;
	struct lv_server *s = lv_server_new(&cfg, drv, &err);
	int sv[2];
	struct out o = { 0 };
	CHECK(s && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(lv_server_add_fd(s, sv[0], data[0] & 1) == 0);
	size_t off = 1;
	for (int idle = 0; idle < 4;) {
		if (off < size) {
			ssize_t n = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
		} else if (off == size) {
			shutdown(sv[1], SHUT_WR); /* the client is done: the server sees EOF */
			off++;
		}
		size_t before = o.len;
		int r = lv_server_run_once(s, 0);
		drain(sv[1], &o);
		idle = (r <= 0 && o.len == before && off > size) ? idle + 1 : 0;
	}
	check_output(&o);
	if (getenv("FUZZ_LV_DEBUG"))
		fprintf(stderr, "in %zu out %zu\n", size, o.len);
	close(sv[1]);
	lv_server_free(s);
	lv_driver_free(drv);
	free(o.buf);
}

static void direct_decode(const uint8_t *data, size_t size)
{
	if (size < 4)
		return;
	size_t n;
	const struct lv_codec *all = lv_codec_all(&n);
	const struct lv_codec *c = &all[lv_be32(data) % n];
	struct lv_args a;
	char err[256];
	if (lv_args_decode(c, data + 4, size - 4, &a, err, sizeof(err)) == 0)
		lv_args_clear(&a);
	else
		CHECK(strstr(err, c->name) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (4u << 20))
		return 0;
	through_server(data, size);
	direct_decode(data + 1, size - 1);
	return 0;
}
