// SPDX-License-Identifier: MIT
/*
 * Dispatch of REMOTE_PROGRAM calls: the checks every call passes (known
 * procedure, connection open, arguments decode, read-only socket), the
 * connection-level procedures, replies and deferred completion.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_host.h"
#include "server_internal.h"
#include "util.h"

#define LIB_VERSION LV_VERSION(9, 0, 0) /* the libvirt whose protocol this speaks */

struct reply_body {
	const struct lv_codec *codec;
	const struct lv_ret *ret;
};

static int put_ret(struct lv_enc *e, const void *arg)
{
	const struct reply_body *b = arg;
	return lv_ret_encode(b->codec, e, b->ret);
}

static int put_err(struct lv_enc *e, const void *arg)
{
	return lv_enc_error(e, arg);
}

void lv_reply_error(struct lv_client *cl, const struct lv_header *h, const struct lv_err *e)
{
	struct lv_header r = *h;
	uint8_t *pkt;
	size_t len;
	r.type = LV_REPLY;
	r.status = LV_ERROR;
	if (lv_packet_build(&r, put_err, e, &pkt, &len) == 0)
		lv_client_queue(cl, pkt, len, true);
}

void lv_reply_errorf(struct lv_client *cl, const struct lv_header *h, int code, int domain,
		     const char *fmt, ...)
{
	struct lv_err e = { 0 };
	va_list ap;
	va_start(ap, fmt);
	lv_err_vset(&e, code, domain, fmt, ap);
	va_end(ap);
	lv_reply_error(cl, h, &e);
	lv_err_clear(&e);
}

static void reply_ok(struct lv_client *cl, struct lv_call *c)
{
	struct lv_header r = c->hdr;
	struct reply_body b = { c->codec, &c->ret };
	uint8_t *pkt;
	size_t len;
	r.type = LV_REPLY;
	r.status = LV_OK;
	int rc = lv_packet_build(&r, put_ret, &b, &pkt, &len);
	if (rc == 0) {
		lv_client_queue(cl, pkt, len, true);
		return;
	}
	lv_reply_errorf(cl, &c->hdr, LV_ERR_RPC, LV_FROM_RPC, "%s: cannot encode the reply: %s",
			c->codec->name, strerror(-rc));
}

void lv_call_free(struct lv_call *c)
{
	if (!c)
		return;
	lv_args_clear(&c->args);
	lv_ret_clear(&c->ret);
	lv_err_clear(&c->err);
	lv_stream_discard(c->stream, false);
	free(c);
}

static void finish(struct lv_call *c, int rc)
{
	struct lv_client *cl = c->cl;
	if (cl && cl->dead)
		cl = NULL;
	if (rc == 0 && c->cont)
		rc = c->cont(c);
	if (c->deferred && cl) {
		for (struct lv_call **pp = &cl->calls; *pp; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		cl->ndeferred--;
	}
	if (cl) {
		if (rc == 0)
			reply_ok(cl, c);
		else
			lv_reply_error(cl, &c->hdr, &c->err);
		if (rc == 0 && c->stream && !cl->dead) {
			lv_stream_activate(cl, c->stream);
			c->stream = NULL;
		}
		if (c->deferred && !cl->dead)
			lv_client_kick(cl); /* a pending slot freed: calls waiting may run */
	}
	if (c->stream) /* failed, or nobody to stream to */
		lv_stream_discard(c->stream, rc == 0);
	c->stream = NULL;
	lv_call_free(c);
}

void lv_call_complete(struct lv_call *c, int rc)
{
	if (c->in_handler) {
		c->completed = true;
		c->completed_rc = rc;
		return;
	}
	finish(c, rc);
}

int lv_call_error(struct lv_call *c, int code, int domain, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lv_err_vset(&c->err, code, domain, fmt, ap);
	va_end(ap);
	return -1;
}

struct lv_err *lv_call_err(struct lv_call *c)
{
	return &c->err;
}

uid_t lv_call_uid(const struct lv_call *c)
{
	return c->uid;
}

pid_t lv_call_pid(const struct lv_call *c)
{
	return c->pid;
}

bool lv_call_readonly(const struct lv_call *c)
{
	return c->readonly;
}

/* ---- connection procedures ---- */

static int oom(struct lv_call *c)
{
	return lv_call_error(c, LV_ERR_NO_MEMORY, LV_FROM_NONE, "out of memory");
}

static int set_str(struct lv_call *c, const char *s)
{
	c->ret.str = strdup(s);
	return c->ret.str ? 0 : oom(c);
}

static int h_auth_list(struct lv_call *c)
{
	c->ret.ints = calloc(1, sizeof(int32_t));
	if (!c->ret.ints)
		return oom(c);
	c->ret.ints[0] = 0; /* REMOTE_AUTH_NONE: the socket and its peer check are the auth */
	c->ret.nints = 1;
	return 0;
}

static int h_supports_feature(struct lv_call *c)
{
	switch (c->args.num) {
	case LV_FEATURE_PROGRAM_KEEPALIVE:
	case LV_FEATURE_REMOTE_EVENT_CALLBACK:
	case LV_FEATURE_REMOTE_CLOSE_CALLBACK:
		c->ret.num = 1;
		break;
	default:
		c->ret.num = 0;
	}
	return 0;
}

/* "vmm:///system", "vmm:///session", with or without a query; "" or none probes. */
static bool our_uri(const char *uri)
{
	if (!uri || !*uri)
		return true;
	if (strncmp(uri, "vmm://", 6))
		return false;
	const char *path = uri + 6;
	if (*path != '/')
		return false; /* a server part: not for this daemon */
	size_t n = strcspn(path, "?#");
	return (n == 7 && !strncmp(path, "/system", 7)) || (n == 8 && !strncmp(path, "/session", 8));
}

static int h_open(struct lv_call *c)
{
	struct lv_client *cl = c->cl;
	if (cl->opened)
		return lv_call_error(c, LV_ERR_INTERNAL_ERROR, LV_FROM_REMOTE,
				     "internal error: connection already open");
	if (!our_uri(c->args.str))
		return lv_call_error(c, LV_ERR_NO_CONNECT, LV_FROM_NONE,
				     "no connection driver available for %s (virtvmmd serves vmm:///system)",
				     c->args.str);
	char *uri = strdup(c->args.str && *c->args.str ? c->args.str : "vmm:///system");
	if (!uri)
		return oom(c);
	free(cl->uri);
	cl->uri = uri;
	cl->opened = true;
	if (c->args.flags & LV_OPEN_RO)
		cl->readonly = true;
	return 0;
}

static int h_close(struct lv_call *c)
{
	c->cl->opened = false;
	c->cl->close_cb = false;
	lv_events_free(c->cl);
	return 0;
}

static int h_get_type(struct lv_call *c)
{
	return set_str(c, "VMM");
}

static int h_get_version(struct lv_call *c)
{
	unsigned ma = 0, mi = 0, mu = 0;
	if (c->srv->cfg.version)
		sscanf(c->srv->cfg.version, "%u.%u.%u", &ma, &mi, &mu);
	c->ret.u64 = LV_VERSION(ma, mi, mu);
	return 0;
}

static int h_lib_version(struct lv_call *c)
{
	c->ret.u64 = LIB_VERSION;
	return 0;
}

static int h_hostname(struct lv_call *c)
{
	c->ret.str = lv_host_hostname();
	if (!c->ret.str)
		return lv_call_error(c, LV_ERR_OPERATION_FAILED, LV_FROM_NONE,
				     "operation failed: cannot get the host name");
	return 0;
}

static int h_node_info(struct lv_call *c)
{
	int r = lv_host_node_info(c->srv->cfg.root, &c->ret.node);
	if (r < 0)
		return lv_call_error(c, LV_ERR_OPERATION_FAILED, LV_FROM_NONE,
				     "operation failed: cannot read the host's CPU and memory: %s",
				     strerror(-r));
	return 0;
}

static int h_capabilities(struct lv_call *c)
{
	int r = lv_host_capabilities(c->srv->cfg.root, &c->ret.str);
	if (r < 0)
		return lv_call_error(c, LV_ERR_INTERNAL_ERROR, LV_FROM_NONE,
				     "internal error: cannot build the capabilities: %s",
				     strerror(-r));
	return 0;
}

static int h_get_uri(struct lv_call *c)
{
	return set_str(c, c->cl->uri ? c->cl->uri : "vmm:///system");
}

static int h_is_secure(struct lv_call *c)
{
	c->ret.num = 1; /* a local UNIX socket */
	return 0;
}

static int h_security_model(struct lv_call *c)
{
	/* No security driver: an empty model makes virsh skip the labels. */
	c->ret.str = strdup("");
	c->ret.str2 = strdup("");
	return c->ret.str && c->ret.str2 ? 0 : oom(c);
}

static int h_close_cb(struct lv_call *c)
{
	c->cl->close_cb = c->hdr.proc == LV_PROC_CONNECT_REGISTER_CLOSE_CALLBACK;
	return 0;
}

static int h_event_cb_register(struct lv_call *c)
{
	return lv_events_register_cb(c);
}

static int h_event_cb_deregister(struct lv_call *c)
{
	return lv_events_deregister_cb(c);
}

static int h_event_register_any(struct lv_call *c)
{
	return lv_events_register_legacy(c, c->args.num);
}

static int h_event_deregister_any(struct lv_call *c)
{
	return lv_events_deregister_legacy(c, c->args.num);
}

static int h_event_register(struct lv_call *c)
{
	if (lv_events_register_legacy(c, LV_EVENT_ID_LIFECYCLE) < 0)
		return -1;
	c->ret.num = 1;
	return 0;
}

static int h_event_deregister(struct lv_call *c)
{
	if (lv_events_deregister_legacy(c, LV_EVENT_ID_LIFECYCLE) < 0)
		return -1;
	c->ret.num = 0;
	return 0;
}

static const struct {
	int32_t proc;
	lv_handler_fn fn;
} conn_handlers[] = {
	{ LV_PROC_CONNECT_OPEN, h_open },
	{ LV_PROC_CONNECT_CLOSE, h_close },
	{ LV_PROC_CONNECT_GET_TYPE, h_get_type },
	{ LV_PROC_CONNECT_GET_VERSION, h_get_version },
	{ LV_PROC_NODE_GET_INFO, h_node_info },
	{ LV_PROC_CONNECT_GET_CAPABILITIES, h_capabilities },
	{ LV_PROC_CONNECT_GET_HOSTNAME, h_hostname },
	{ LV_PROC_CONNECT_SUPPORTS_FEATURE, h_supports_feature },
	{ LV_PROC_AUTH_LIST, h_auth_list },
	{ LV_PROC_CONNECT_DOMAIN_EVENT_REGISTER, h_event_register },
	{ LV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER, h_event_deregister },
	{ LV_PROC_CONNECT_GET_URI, h_get_uri },
	{ LV_PROC_NODE_GET_SECURITY_MODEL, h_security_model },
	{ LV_PROC_CONNECT_IS_SECURE, h_is_secure },
	{ LV_PROC_CONNECT_GET_LIB_VERSION, h_lib_version },
	{ LV_PROC_CONNECT_DOMAIN_EVENT_REGISTER_ANY, h_event_register_any },
	{ LV_PROC_CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, h_event_deregister_any },
	{ LV_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, h_event_cb_register },
	{ LV_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, h_event_cb_deregister },
	{ LV_PROC_CONNECT_REGISTER_CLOSE_CALLBACK, h_close_cb },
	{ LV_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK, h_close_cb },
};

static lv_handler_fn find_handler(int32_t proc)
{
	for (size_t i = 0; i < ARRAY_SIZE(conn_handlers); i++)
		if (conn_handlers[i].proc == proc)
			return conn_handlers[i].fn;
	return lv_dom_handler(proc);
}

bool lv_dispatch_implemented(int32_t proc)
{
	return lv_codec_find(proc) && find_handler(proc);
}

/* ---- the entry point ---- */

static bool refused_readonly(const struct lv_codec *codec, const struct lv_args *a)
{
	if (codec->flags & LV_PROC_MUTATING)
		return true;
	return codec->proc == LV_PROC_DOMAIN_GET_XML_DESC && (a->flags & LV_XML_SECURE);
}

void lv_dispatch_call(struct lv_client *cl, const struct lv_header *h, const uint8_t *body,
		      size_t len)
{
	const struct lv_codec *codec = lv_codec_find(h->proc);
	lv_handler_fn fn = codec ? find_handler(h->proc) : NULL;
	char why[256];

	if (!fn) {
		lv_reply_errorf(cl, h, LV_ERR_RPC, LV_FROM_RPC, "unknown procedure: %d", h->proc);
		return;
	}
	if (h->status != LV_OK) {
		lv_reply_errorf(cl, h, LV_ERR_RPC, LV_FROM_RPC, "%s: unexpected status %d in a call",
				codec->name, h->status);
		return;
	}
	if (cl->denied) {
		lv_reply_errorf(cl, h, LV_ERR_ACCESS_DENIED, LV_FROM_ACCESS,
				"access denied: uid %d may not use virtvmmd's read-write socket %s; "
				"connect read-only (virsh -r)",
				(int)cl->uid, cl->srv->sock_rw ? cl->srv->sock_rw : "");
		return;
	}
	if (!(codec->flags & LV_PROC_BEFORE_OPEN) && !cl->opened) {
		lv_reply_errorf(cl, h, LV_ERR_INTERNAL_ERROR, LV_FROM_REMOTE,
				"internal error: %s: connection not open", codec->name);
		return;
	}
	struct lv_call *c = calloc(1, sizeof(*c));
	if (!c) {
		lv_reply_errorf(cl, h, LV_ERR_NO_MEMORY, LV_FROM_NONE, "out of memory");
		return;
	}
	c->srv = cl->srv;
	c->cl = cl;
	c->hdr = *h;
	c->codec = codec;
	c->uid = cl->uid;
	c->pid = cl->pid;
	c->readonly = cl->readonly;
	if (lv_args_decode(codec, body, len, &c->args, why, sizeof(why)) < 0) {
		lv_log(cl->srv, 1, "client %llu: %s", (unsigned long long)cl->id, why);
		lv_reply_errorf(cl, h, LV_ERR_RPC, LV_FROM_RPC, "%s", why);
		lv_call_free(c);
		return;
	}
	if (c->readonly && refused_readonly(codec, &c->args)) {
		lv_reply_errorf(cl, h, LV_ERR_OPERATION_DENIED, LV_FROM_DOMAIN,
				"operation forbidden: read only access prevents %s%s", codec->api,
				codec->flags & LV_PROC_MUTATING ? "" : " with secure flag");
		lv_call_free(c);
		return;
	}
	if (codec->flags & LV_PROC_STREAM) {
		c->stream = lv_stream_new(h->proc, h->serial);
		if (!c->stream) {
			lv_reply_errorf(cl, h, LV_ERR_NO_MEMORY, LV_FROM_NONE, "out of memory");
			lv_call_free(c);
			return;
		}
	}
	c->in_handler = true;
	int rc = fn(c);
	c->in_handler = false;
	if (rc == LV_DEFERRED) {
		if (!c->completed) {
			if (cl->dead) {
				c->cl = NULL;
			} else {
				c->deferred = true;
				c->next = cl->calls;
				cl->calls = c;
				cl->ndeferred++;
			}
			return;
		}
		rc = c->completed_rc;
	}
	finish(c, rc);
}
