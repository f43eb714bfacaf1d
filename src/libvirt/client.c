// SPDX-License-Identifier: MIT
/*
 * One client connection: nonblocking input framed by the length word, output
 * queued and written as the socket allows. A framing error (a length below the
 * header or above 4 + 32 MiB, a header that is not one) drops only this
 * client; a packet within the protocol's limit but above this daemon's
 * per-client one is skipped and answered with an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "server_internal.h"
#include "util.h"

#define RX_CHUNK (256u * 1024u)
#define OUTQ_PAUSE (1u * 1024u * 1024u) /* stop reading calls while this much is unsent */
#define MAX_DEFERRED 32u                /* stop reading while this many calls are pending */

static void client_io(void *opaque, int fd, uint32_t events);

size_t lv_client_backlog(const struct lv_client *cl)
{
	return cl->txlen - cl->txoff;
}

static bool reading_paused(const struct lv_client *cl)
{
	return lv_client_backlog(cl) >= OUTQ_PAUSE || cl->ndeferred >= MAX_DEFERRED;
}

static void update_events(struct lv_client *cl)
{
	if (cl->dead)
		return;
	uint32_t ev = 0;
	if (!reading_paused(cl))
		ev |= EPOLLIN;
	if (lv_client_backlog(cl))
		ev |= EPOLLOUT;
	if (ev != cl->events) {
		cl->events = ev;
		evloop_mod(cl->srv->loop, cl->fd, ev);
	}
}

void lv_client_accept(struct lv_server *s, int fd, bool ro_socket)
{
	struct lv_client *cl = calloc(1, sizeof(*cl));
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (!cl) {
		close(fd);
		return;
	}
	cl->srv = s;
	cl->fd = fd;
	cl->id = ++s->next_client_id;
	cl->ro_socket = ro_socket;
	cl->readonly = ro_socket;
	cl->next_cbid = 1;
	cl->uid = (uid_t)-1;
	cl->pid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		cl->uid = cred.uid;
		cl->gid = cred.gid;
		cl->pid = cred.pid;
	}
	/* The rw socket is for root and the daemon's own user; its mode says the
	 * same, the credentials make sure. An unknown peer counts as refused. */
	if (!ro_socket && cl->uid != 0 && cl->uid != s->cfg.rw_uid)
		cl->denied = true;
	cl->events = EPOLLIN;
	if (evloop_add(s->loop, fd, EPOLLIN, client_io, cl) < 0) {
		close(fd);
		free(cl);
		return;
	}
	cl->next = s->clients;
	s->clients = cl;
	s->nclients++;
	lv_log(s, 1, "client %llu connected (uid %d pid %d, %s socket%s)",
		 (unsigned long long)cl->id, (int)cl->uid, (int)cl->pid,
		 ro_socket ? "read-only" : "read-write", cl->denied ? ", refused" : "");
}

void lv_client_drop(struct lv_client *cl, const char *why)
{
	struct lv_server *s = cl->srv;
	if (cl->dead)
		return;
	cl->dead = true;
	if (why)
		lv_log(s, 0, "client %llu (uid %d pid %d) dropped: %s",
			(unsigned long long)cl->id, (int)cl->uid, (int)cl->pid, why);
	evloop_del(s->loop, cl->fd);
	close_fd(&cl->fd);
	for (struct lv_client **pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	s->nclients--;
	if (!s->nclients)
		s->idle_since_ns = now_ns();
	/* Deferred calls finish later without a client to answer. */
	for (struct lv_call *c = cl->calls; c; c = c->next)
		c->cl = NULL;
	cl->calls = NULL;
	while (cl->streams) {
		struct lv_stream *st = cl->streams;
		cl->streams = st->next;
		st->cl = NULL;
		lv_stream_discard(st, true);
	}
	lv_events_free(cl);
	cl->next = s->graveyard;
	s->graveyard = cl;
}

void lv_client_free(struct lv_client *cl)
{
	if (!cl)
		return;
	close_fd(&cl->fd);
	free(cl->rx);
	free(cl->tx);
	free(cl->uri);
	free(cl);
}

void lv_client_flush(struct lv_client *cl)
{
	while (!cl->dead && lv_client_backlog(cl)) {
		ssize_t n = send(cl->fd, cl->tx + cl->txoff, lv_client_backlog(cl),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			lv_client_drop(cl, NULL); /* the peer went away */
			return;
		}
		cl->txoff += (size_t)n;
	}
	if (cl->txoff == cl->txlen) {
		cl->txoff = cl->txlen = 0;
		if (cl->txcap > 4 * RX_CHUNK) { /* give back a big buffer once drained */
			free(cl->tx);
			cl->tx = NULL;
			cl->txcap = 0;
		}
	}
	update_events(cl);
}

int lv_client_queue(struct lv_client *cl, uint8_t *pkt, size_t len, bool hard)
{
	if (cl->dead) {
		free(pkt);
		return -EPIPE;
	}
	if (lv_client_backlog(cl) + len > cl->srv->cfg.max_outq) {
		free(pkt);
		if (hard)
			lv_client_drop(cl, "output queue over its limit (client not reading)");
		return -ENOBUFS;
	}
	if (cl->txoff && cl->txlen + len > cl->txcap) {
		memmove(cl->tx, cl->tx + cl->txoff, cl->txlen - cl->txoff);
		cl->txlen -= cl->txoff;
		cl->txoff = 0;
	}
	if (cl->txlen + len > cl->txcap) {
		size_t cap = cl->txcap ? cl->txcap : 65536;
		while (cap < cl->txlen + len)
			cap *= 2;
		uint8_t *nb = realloc(cl->tx, cap);
		if (!nb) {
			free(pkt);
			lv_client_drop(cl, "out of memory for its output");
			return -ENOMEM;
		}
		cl->tx = nb;
		cl->txcap = cap;
	}
	memcpy(cl->tx + cl->txlen, pkt, len);
	cl->txlen += len;
	free(pkt);
	return 0;
}

static void keepalive_packet(struct lv_client *cl, const struct lv_header *h)
{
	if (h->type != LV_MESSAGE || h->proc != LV_KA_PING)
		return; /* PONG and anything else: nothing to answer */
	struct lv_header pong = { LV_PROG_KEEPALIVE, LV_VERS_KEEPALIVE, LV_KA_PONG, LV_MESSAGE,
				  0, LV_OK };
	uint8_t *pkt;
	size_t len;
	if (lv_packet_build(&pong, NULL, NULL, &pkt, &len) == 0)
		lv_client_queue(cl, pkt, len, true);
}

/* One whole packet: rx[0..len). */
static void handle_packet(struct lv_client *cl, const uint8_t *p, size_t len)
{
	struct lv_dec d;
	struct lv_header h;
	lv_dec_init(&d, p + LV_LEN_WORD, LV_HEADER_LEN);
	int r = lv_get_header(&d, &h);
	lv_dec_fini(&d);
	if (r < 0) {
		lv_client_drop(cl, "short header");
		return;
	}
	const uint8_t *body = p + LV_PACKET_MIN;
	size_t blen = len - LV_PACKET_MIN;
	if (h.prog == LV_PROG_KEEPALIVE && h.vers == LV_VERS_KEEPALIVE) {
		keepalive_packet(cl, &h);
		return;
	}
	if (h.prog != LV_PROG_REMOTE || h.vers != LV_VERS_REMOTE) {
		if (h.type == LV_CALL || h.type == LV_CALL_WITH_FDS)
			lv_reply_errorf(cl, &h, LV_ERR_RPC, LV_FROM_RPC,
					"cannot find program %#x version %u", h.prog, h.vers);
		return;
	}
	switch (h.type) {
	case LV_CALL:
		lv_dispatch_call(cl, &h, body, blen);
		break;
	case LV_STREAM:
	case LV_STREAM_HOLE:
		lv_stream_packet(cl, &h, body, blen);
		break;
	default:
		lv_reply_errorf(cl, &h, LV_ERR_RPC, LV_FROM_RPC,
				"unexpected message type %d from a client (proc %d)", h.type, h.proc);
		break;
	}
}

/* Handles what rx holds; stops when reading is paused. */
static void process_rx(struct lv_client *cl)
{
	size_t off = 0;
	cl->in_rx = true;
	while (!cl->dead && !reading_paused(cl)) {
		size_t have = cl->rxlen - off;
		if (cl->discard) {
			size_t n = have < cl->discard ? have : cl->discard;
			cl->discard -= n;
			off += n;
			if (cl->discard)
				break;
			continue;
		}
		if (have < LV_LEN_WORD)
			break;
		uint32_t plen = lv_be32(cl->rx + off);
		if (plen < LV_PACKET_MIN || plen > LV_PACKET_MAX) {
			char why[96];
			snprintf(why, sizeof(why), "packet length %u outside %u..%u", plen,
				 LV_PACKET_MIN, LV_PACKET_MAX);
			lv_client_drop(cl, why);
			cl->in_rx = false;
			return;
		}
		if (plen > cl->srv->cfg.max_packet) {
			/* Within the protocol but not for us: answer, then skip it. */
			if (have < LV_PACKET_MIN)
				break;
			struct lv_dec d;
			struct lv_header h;
			lv_dec_init(&d, cl->rx + off + LV_LEN_WORD, LV_HEADER_LEN);
			lv_get_header(&d, &h);
			lv_dec_fini(&d);
			if (h.type == LV_CALL)
				lv_reply_errorf(cl, &h, LV_ERR_RPC, LV_FROM_RPC,
						"packet of %u bytes exceeds virtvmmd's limit of %zu",
						plen, cl->srv->cfg.max_packet);
			cl->discard = plen;
			continue;
		}
		if (have < plen)
			break;
		handle_packet(cl, cl->rx + off, plen);
		off += plen;
	}
	cl->in_rx = false;
	if (cl->dead)
		return;
	if (off) {
		memmove(cl->rx, cl->rx + off, cl->rxlen - off);
		cl->rxlen -= off;
	}
	if (!cl->rxlen && cl->rxcap > 2 * RX_CHUNK) {
		free(cl->rx);
		cl->rx = NULL;
		cl->rxcap = 0;
	}
	/* A partial packet starts the clock that drops a client that stalls. */
	if (!cl->rxlen && !cl->discard)
		cl->partial_since_ns = 0;
	else if (!cl->partial_since_ns)
		cl->partial_since_ns = now_ns();
}

/* Room for one more chunk: rx never holds more than one partial packet plus a
 * chunk, so a length word alone allocates nothing. */
static int grow_rx(struct lv_client *cl)
{
	if (cl->rxcap - cl->rxlen >= RX_CHUNK / 4)
		return 0;
	size_t cap = cl->rxlen + RX_CHUNK;
	uint8_t *nb = realloc(cl->rx, cap);
	if (!nb)
		return -ENOMEM;
	cl->rx = nb;
	cl->rxcap = cap;
	return 0;
}

static void client_read(struct lv_client *cl)
{
	if (grow_rx(cl) < 0) {
		lv_client_drop(cl, "out of memory for its input");
		return;
	}
	size_t room = cl->rxcap - cl->rxlen;
	if (room > RX_CHUNK)
		room = RX_CHUNK;
	ssize_t n = recv(cl->fd, cl->rx + cl->rxlen, room, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			lv_client_drop(cl, NULL);
		return;
	}
	if (n == 0) {
		if (cl->rxlen || cl->discard)
			lv_client_drop(cl, "closed in the middle of a packet");
		else
			lv_client_drop(cl, NULL);
		return;
	}
	cl->rxlen += (size_t)n;
	process_rx(cl);
}

void lv_client_kick(struct lv_client *cl)
{
	if (cl->in_rx)
		return; /* the running process_rx goes on by itself */
	for (;;) {
		lv_client_flush(cl);
		if (cl->dead || reading_paused(cl) || !cl->rxlen)
			return;
		size_t before = cl->rxlen;
		process_rx(cl);
		if (cl->dead || cl->rxlen == before)
			return; /* only a partial packet left */
	}
}

static void client_io(void *opaque, int fd, uint32_t events)
{
	struct lv_client *cl = opaque;
	(void)fd;
	if (events & EPOLLIN)
		client_read(cl);
	else if (events & (EPOLLERR | EPOLLHUP)) {
		lv_client_drop(cl, NULL);
		return;
	}
	/* Replies go out; input that waited for the queue to drain (or for
	 * deferred calls to finish) is handled now, since no EPOLLIN will say so. */
	if (!cl->dead)
		lv_client_kick(cl);
}
