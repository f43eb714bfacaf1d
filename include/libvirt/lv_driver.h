/* SPDX-License-Identifier: MIT */
/*
 * What virtvmmd's protocol core asks of a domain driver, and what it offers
 * one: calls that may complete later, console streams and lifecycle events.
 *
 * Every driver function runs on the daemon's single event-loop thread and must
 * not block it. It returns 0 (done: the out parameters are filled), -1 (failed:
 * it called lv_call_error first) or LV_DEFERRED (it keeps c and the out
 * pointers, which stay valid, and calls lv_call_complete(c, 0 or -1) later on
 * the loop thread, e.g. when a VM's control socket answered). The dom argument
 * is what the client sent: drivers find the domain by its uuid, as libvirt's
 * do. A NULL function pointer answers VIR_ERR_NO_SUPPORT.
 */
#ifndef NV_LV_DRIVER_H
#define NV_LV_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lv_codec.h"
#include "lv_error.h"

#define LV_DEFERRED 1

struct lv_call;
struct lv_stream;
struct lv_server;

struct lv_driver {
	const char *name;
	void *priv;
	/* Called once by lv_server_new; the driver keeps srv to emit events. */
	void (*attach)(void *priv, struct lv_server *srv);
	void (*free)(void *priv);
	/* True while the daemon must not exit on --timeout (e.g. domains running). */
	bool (*busy)(void *priv);

	/* flags: LV_LIST_* of virConnectListAllDomains. out->v is malloc'd. */
	int (*list_all)(void *priv, struct lv_call *c, unsigned flags, struct lv_dom_list *out);
	int (*lookup_by_name)(void *priv, struct lv_call *c, const char *name, struct lv_dom *out);
	int (*lookup_by_uuid)(void *priv, struct lv_call *c, const uint8_t uuid[LV_UUID_LEN],
			      struct lv_dom *out);
	int (*lookup_by_id)(void *priv, struct lv_call *c, int32_t id, struct lv_dom *out);
	/* flags: LV_DEFINE_VALIDATE (define --validate); 0 for DOMAIN_DEFINE_XML. */
	int (*define_xml)(void *priv, struct lv_call *c, const char *xml, unsigned flags,
			  struct lv_dom *out);
	int (*undefine)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags);
	/* out: the domain with its new id (flags: VIR_DOMAIN_START_PAUSED = 1, ...). */
	int (*create)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		      struct lv_dom *out);
	/* flags: VIR_DOMAIN_DESTROY_GRACEFUL = 1. */
	int (*destroy)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags);
	int (*shutdown)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags);
	int (*reboot)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags);
	int (*suspend)(void *priv, struct lv_call *c, const struct lv_dom *dom);
	int (*resume)(void *priv, struct lv_call *c, const struct lv_dom *dom);
	int (*get_info)(void *priv, struct lv_call *c, const struct lv_dom *dom,
			struct lv_dom_info *out);
	/* state: LV_STATE_*; reason: the state's VIR_DOMAIN_*_REASON value. */
	int (*get_state)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
			 int32_t *state, int32_t *reason);
	/* flags: LV_XML_*; *xml malloc'd. */
	int (*get_xml)(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		       char **xml);
	int (*get_autostart)(void *priv, struct lv_call *c, const struct lv_dom *dom,
			     int32_t *autostart);
	int (*set_autostart)(void *priv, struct lv_call *c, const struct lv_dom *dom,
			     int32_t autostart);
	/* memory in KiB; flags of virDomainSetMemoryFlags (0 for SET_MEMORY). */
	int (*set_memory)(void *priv, struct lv_call *c, const struct lv_dom *dom, uint64_t kib,
			  unsigned flags);
	/* Persistent: nestvmm domains are defined ones; *persistent = 1 unless transient. */
	int (*is_persistent)(void *priv, struct lv_call *c, const struct lv_dom *dom,
			     int32_t *persistent);
	/* The driver attaches to st with lv_stream_attach and may send right away
	 * (data is held until the reply went out). dev may be NULL (the first console). */
	int (*open_console)(void *priv, struct lv_call *c, const struct lv_dom *dom,
			    const char *dev, unsigned flags, struct lv_stream *st);
};

/* Reports an error for c (always -1, for "return lv_call_error(...)"). */
int lv_call_error(struct lv_call *c, int code, int domain, const char *fmt, ...) NV_PRINTF(4, 5);
/* The error slot of c, for the lv_err_* helpers. */
struct lv_err *lv_call_err(struct lv_call *c);
/* Finishes a call the driver deferred: rc 0 sends the result, -1 the error.
 * Safe when the client has gone (the reply is dropped). c is freed. */
void lv_call_complete(struct lv_call *c, int rc);
/* The caller's peer credentials and whether its connection is read-only. */
uid_t lv_call_uid(const struct lv_call *c);
pid_t lv_call_pid(const struct lv_call *c);
bool lv_call_readonly(const struct lv_call *c);

/*
 * A stream (the console). Data from the client arrives in recv; closed tells
 * that the client finished (aborted false) or aborted or went away (true); the
 * handle is invalid after closed returns, and after lv_stream_eof/abort.
 */
struct lv_stream_ops {
	void (*recv)(void *opaque, const uint8_t *buf, size_t len);
	void (*closed)(void *opaque, bool aborted);
};

void lv_stream_attach(struct lv_stream *st, const struct lv_stream_ops *ops, void *opaque);
/* Queues data for the client in packets of at most LV_STREAM_CHUNK_MAX bytes.
 * 0, or -EAGAIN when the client's output queue is over its limit (the caller
 * drops or retries later), -ENOMEM. */
int lv_stream_send(struct lv_stream *st, const void *buf, size_t len);
/* Bytes queued for the client but not yet written (flow control). */
size_t lv_stream_backlog(const struct lv_stream *st);
/* End of data (the client then finishes); st is gone for the driver. */
void lv_stream_eof(struct lv_stream *st);
/* Ends st with an error the client reports; st is gone for the driver. */
void lv_stream_abort(struct lv_stream *st, int code, int domain, const char *fmt, ...)
	NV_PRINTF(4, 5);

/* Sends a lifecycle event (LV_EVENT_*, detail) for dom to every client that
 * registered for it, with 318 (callback registration) or 107 (legacy). */
void lv_server_emit_lifecycle(struct lv_server *s, const struct lv_dom *dom, int32_t event,
			      int32_t detail);

/* The driver with no domains (list empty, lookups VIR_ERR_NO_DOMAIN). */
struct lv_driver *lv_driver_none_new(void);
void lv_driver_free(struct lv_driver *d);

#endif
