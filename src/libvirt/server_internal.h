/* SPDX-License-Identifier: MIT */
/* Shared by server.c, client.c, stream.c and dispatch.c. */
#ifndef NV_LV_SERVER_INTERNAL_H
#define NV_LV_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lv_codec.h"
#include "lv_driver.h"
#include "lv_error.h"
#include "lv_server.h"

struct lv_evcb {
	int32_t id;
	int32_t event_id;
	bool has_dom;
	uint8_t uuid[LV_UUID_LEN];
	struct lv_evcb *next;
};

struct lv_stream {
	struct lv_client *cl; /* NULL while owned by its call, or after the client left */
	int32_t proc;
	uint32_t serial;
	const struct lv_stream_ops *ops;
	void *opaque;
	bool open;        /* the opening reply was queued */
	bool driver_gone; /* the driver called eof or abort */
	uint8_t *pending; /* data sent before the reply */
	size_t npending;
	struct lv_stream *next;
};

struct lv_call {
	struct lv_server *srv;
	struct lv_client *cl; /* NULL once the client left */
	struct lv_header hdr;
	const struct lv_codec *codec;
	struct lv_args args;
	struct lv_ret ret;
	struct lv_err err;
	struct lv_stream *stream;
	int (*cont)(struct lv_call *c); /* runs on success before the reply */
	uid_t uid;
	pid_t pid;
	bool readonly;
	bool in_handler;
	bool deferred;
	bool completed; /* lv_call_complete ran inside the handler */
	int completed_rc;
	struct lv_call *next; /* the client's deferred calls */
};

struct lv_client {
	struct lv_server *srv;
	int fd;
	uint64_t id;
	bool ro_socket;
	bool readonly;
	bool denied;
	bool opened;
	bool dead;
	bool close_cb;
	bool in_rx; /* process_rx is running (no reentry) */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char *uri;
	/* input */
	uint8_t *rx;
	size_t rxlen, rxcap;
	size_t discard; /* bytes still to skip of an over-limit packet */
	uint64_t partial_since_ns; /* when rx started holding a partial packet; 0: none */
	/* output */
	uint8_t *tx;
	size_t txoff, txlen, txcap;
	uint32_t events; /* epoll events registered */
	/* calls, events, streams */
	struct lv_call *calls;
	unsigned ndeferred;
	struct lv_evcb *cbs;
	int32_t next_cbid;
	uint32_t legacy_events; /* bit per eventID registered with 167 (or 105: bit 0) */
	struct lv_stream *streams;
	struct lv_client *next;
};

struct lv_server {
	struct evloop *loop;
	struct lv_driver *drv;
	struct lv_server_config cfg;
	char *sock_rw, *sock_ro;
	int fd_rw, fd_ro;
	bool unlink_rw, unlink_ro;
	struct lv_client *clients;
	struct lv_client *graveyard;
	size_t nclients;
	uint64_t next_client_id;
	uint64_t idle_since_ns;
	bool stop;
	bool timed_out;
};

/* server.c: "virtvmmd: " + message on stderr when level <= the configured verbosity
 * (0: warnings, 1: debug). */
void lv_log(const struct lv_server *s, int level, const char *fmt, ...) NV_PRINTF(3, 4);

/* client.c */
void lv_client_accept(struct lv_server *s, int fd, bool ro_socket);
void lv_client_drop(struct lv_client *cl, const char *why);
void lv_client_free(struct lv_client *cl);
/* Queues a whole packet (takes pkt). 0, or -ENOBUFS when the client's queue is
 * full (the client is dropped when hard is set). */
int lv_client_queue(struct lv_client *cl, uint8_t *pkt, size_t len, bool hard);
size_t lv_client_backlog(const struct lv_client *cl);
void lv_client_flush(struct lv_client *cl);
/* Flushes, then handles input that waited while reading was paused. */
void lv_client_kick(struct lv_client *cl);

/* dispatch.c */
void lv_dispatch_call(struct lv_client *cl, const struct lv_header *h, const uint8_t *body,
		      size_t len);
/* Queues an error reply for header h. */
void lv_reply_error(struct lv_client *cl, const struct lv_header *h, const struct lv_err *e);
void lv_reply_errorf(struct lv_client *cl, const struct lv_header *h, int code, int domain,
		     const char *fmt, ...) NV_PRINTF(5, 6);
void lv_call_free(struct lv_call *c);
typedef int (*lv_handler_fn)(struct lv_call *c);
/* dispatch_dom.c: the handler of a domain procedure, or NULL. */
lv_handler_fn lv_dom_handler(int32_t proc);

/* stream.c */
void lv_stream_packet(struct lv_client *cl, const struct lv_header *h, const uint8_t *body,
		      size_t len);
void lv_stream_activate(struct lv_client *cl, struct lv_stream *st);
/* The client left or the call failed: tells the driver (when it attached) and frees. */
void lv_stream_discard(struct lv_stream *st, bool tell_driver);
struct lv_stream *lv_stream_new(int32_t proc, uint32_t serial);

/* events.c */
int lv_events_register_cb(struct lv_call *c);
int lv_events_deregister_cb(struct lv_call *c);
int lv_events_register_legacy(struct lv_call *c, int32_t event_id);
int lv_events_deregister_legacy(struct lv_call *c, int32_t event_id);
void lv_events_free(struct lv_client *cl);

#endif
