// SPDX-License-Identifier: MIT
/*
 * Streams opened by a call (the console): packets of type STREAM with the
 * opening call's proc and serial. Data travels as status CONTINUE; an empty
 * CONTINUE from the server is its EOF; the client finishes with an empty OK
 * (answered with an empty OK) or aborts with ERROR.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define PENDING_MAX (64u * 1024u)

struct lv_stream *lv_stream_new(int32_t proc, uint32_t serial)
{
	struct lv_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->proc = proc;
	st->serial = serial;
	return st;
}

static void unlink_stream(struct lv_stream *st)
{
	if (!st->cl)
		return;
	for (struct lv_stream **pp = &st->cl->streams; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	st->cl = NULL;
}

static void stream_free(struct lv_stream *st)
{
	unlink_stream(st);
	free(st->pending);
	free(st);
}

void lv_stream_discard(struct lv_stream *st, bool tell_driver)
{
	if (!st)
		return;
	if (tell_driver && st->ops && !st->driver_gone && st->ops->closed)
		st->ops->closed(st->opaque, true);
	stream_free(st);
}

void lv_stream_attach(struct lv_stream *st, const struct lv_stream_ops *ops, void *opaque)
{
	st->ops = ops;
	st->opaque = opaque;
}

static int send_packet(struct lv_stream *st, int32_t status, const void *data, size_t len)
{
	struct lv_header h = { LV_PROG_REMOTE, LV_VERS_REMOTE, st->proc, LV_STREAM, st->serial,
			       status };
	uint8_t *pkt;
	size_t plen;
	int r = lv_packet_raw(&h, data, len, &pkt, &plen);
	if (r < 0)
		return r;
	return lv_client_queue(st->cl, pkt, plen, false);
}

static int send_data(struct lv_stream *st, const uint8_t *p, size_t len)
{
	while (len) {
		size_t n = len > LV_STREAM_CHUNK_MAX ? LV_STREAM_CHUNK_MAX : len;
		int r = send_packet(st, LV_CONTINUE, p, n);
		if (r < 0)
			return r;
		p += n;
		len -= n;
	}
	return 0;
}

int lv_stream_send(struct lv_stream *st, const void *buf, size_t len)
{
	if (st->driver_gone)
		return -EPIPE;
	if (!st->open) {
		if (st->npending + len > PENDING_MAX)
			return -EAGAIN;
		uint8_t *nb = realloc(st->pending, st->npending + len);
		if (!nb)
			return -ENOMEM;
		memcpy(nb + st->npending, buf, len);
		st->pending = nb;
		st->npending += len;
		return 0;
	}
	if (!st->cl)
		return -EPIPE;
	if (lv_client_backlog(st->cl) + len > st->cl->srv->cfg.max_outq)
		return -EAGAIN;
	int r = send_data(st, buf, len);
	if (r == 0 && st->cl)
		lv_client_flush(st->cl);
	return r == -ENOBUFS ? -EAGAIN : r;
}

size_t lv_stream_backlog(const struct lv_stream *st)
{
	return st->cl ? lv_client_backlog(st->cl) : st->npending;
}

void lv_stream_activate(struct lv_client *cl, struct lv_stream *st)
{
	st->cl = cl;
	st->open = true;
	st->next = cl->streams;
	cl->streams = st;
	if (st->npending) {
		send_data(st, st->pending, st->npending);
		free(st->pending);
		st->pending = NULL;
		st->npending = 0;
	}
	if (st->driver_gone) /* eof (or abort) before the reply: data then EOF */
		send_packet(st, LV_CONTINUE, NULL, 0);
}

void lv_stream_eof(struct lv_stream *st)
{
	st->driver_gone = true;
	if (!st->open)
		return; /* sent after the reply: see lv_stream_activate's caller */
	if (st->cl) {
		send_packet(st, LV_CONTINUE, NULL, 0);
		lv_client_flush(st->cl);
	}
}

static int put_err(struct lv_enc *e, const void *arg)
{
	return lv_enc_error(e, arg);
}

void lv_stream_abort(struct lv_stream *st, int code, int domain, const char *fmt, ...)
{
	st->driver_gone = true;
	if (!st->open || !st->cl)
		return;
	struct lv_err err = { 0 };
	va_list ap;
	va_start(ap, fmt);
	lv_err_vset(&err, code, domain, fmt, ap);
	va_end(ap);
	struct lv_header h = { LV_PROG_REMOTE, LV_VERS_REMOTE, st->proc, LV_STREAM, st->serial,
			       LV_ERROR };
	uint8_t *pkt;
	size_t plen;
	struct lv_client *cl = st->cl;
	if (lv_packet_build(&h, put_err, &err, &pkt, &plen) == 0)
		lv_client_queue(cl, pkt, plen, false);
	lv_err_clear(&err);
	stream_free(st);
	lv_client_flush(cl);
}

void lv_stream_packet(struct lv_client *cl, const struct lv_header *h, const uint8_t *body,
		      size_t len)
{
	struct lv_stream *st = cl->streams;
	while (st && (st->proc != h->proc || st->serial != h->serial))
		st = st->next;
	if (!st) {
		lv_log(cl->srv, 1, "stream packet for no stream (proc %d serial %u) ignored",
			 h->proc, h->serial);
		return;
	}
	if (h->type == LV_STREAM_HOLE) {
		if (st->ops && !st->driver_gone && st->ops->closed)
			st->ops->closed(st->opaque, true);
		lv_stream_abort(st, LV_ERR_RPC, LV_FROM_STREAMS,
				"stream holes are not supported on this stream");
		return;
	}
	switch (h->status) {
	case LV_CONTINUE:
		if (st->ops && !st->driver_gone && st->ops->recv && len)
			st->ops->recv(st->opaque, body, len);
		break;
	case LV_OK: {
		bool tell = st->ops && !st->driver_gone;
		send_packet(st, LV_OK, NULL, 0);
		if (tell && st->ops->closed)
			st->ops->closed(st->opaque, false);
		stream_free(st);
		break;
	}
	default: { /* LV_ERROR: the client aborted; it waits for a zero-length confirmation
		    * (libvirt's daemonStreamHandleAbort sends one) */
		bool tell = st->ops && !st->driver_gone;
		send_packet(st, LV_OK, NULL, 0);
		if (tell && st->ops->closed)
			st->ops->closed(st->opaque, true);
		stream_free(st);
		break;
	}
	}
}
