// SPDX-License-Identifier: MIT
/*
 * A test daemon: virtvmmd's protocol core with an in-memory driver, so the
 * real virsh and python3-libvirt can drive every domain codec (define,
 * start, dominfo, domstate, dumpxml, suspend/resume, autostart, destroy,
 * undefine, lifecycle events, the console stream) before the real driver
 * exists. Domains are parsed for name, uuid, memory and vcpu only; create is
 * deferred to the next loop turn, as a VM start would be. Not installed.
 * Usage: test_libvirt_mockd --socket PATH
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "evloop.h"
#include "lv_server.h"

#define MAXDOM 16

struct mdom {
	bool used, autostart;
	char *name, *xml;
	uint8_t uuid[16];
	int32_t id, state;
	uint64_t kib;
	uint16_t vcpus;
	struct lv_stream *console;
};

struct mock {
	struct lv_server *srv;
	struct mdom d[MAXDOM];
	int next_id;
	struct lv_call *pending; /* a create finishing on the next loop turn */
	struct mdom *pending_dom;
	struct lv_dom *pending_out;
};

static void m_attach(void *priv, struct lv_server *srv)
{
	((struct mock *)priv)->srv = srv;
}

static struct mdom *by_uuid(struct mock *m, const uint8_t *u)
{
	for (int i = 0; i < MAXDOM; i++)
		if (m->d[i].used && !memcmp(m->d[i].uuid, u, 16))
			return &m->d[i];
	return NULL;
}

static int fill(const struct mdom *d, struct lv_dom *out)
{
	return lv_dom_set(out, d->name, d->uuid, d->id);
}

static void emit(struct mock *m, const struct mdom *d, int ev, int detail)
{
	struct lv_dom dom = { d->name, { 0 }, d->id };
	memcpy(dom.uuid, d->uuid, 16);
	lv_server_emit_lifecycle(m->srv, &dom, ev, detail);
}

#define FIND(m, c, dom, d)                                                  \
	struct mdom *d = by_uuid(m, (dom)->uuid);                           \
	if (!d)                                                             \
		return lv_err_no_domain_uuid(lv_call_err(c), (dom)->uuid)

static int m_list(void *priv, struct lv_call *c, unsigned flags, struct lv_dom_list *out)
{
	struct mock *m = priv;
	(void)c;
	out->v = calloc(MAXDOM, sizeof(*out->v));
	out->n = 0;
	for (int i = 0; i < MAXDOM; i++) {
		struct mdom *d = &m->d[i];
		bool active = d->id >= 0;
		if (!d->used || ((flags & 3) && !((flags & 1 && active) || (flags & 2 && !active))))
			continue;
		fill(d, &out->v[out->n++]);
	}
	return 0;
}

static int m_by_name(void *priv, struct lv_call *c, const char *name, struct lv_dom *out)
{
	struct mock *m = priv;
	for (int i = 0; i < MAXDOM; i++)
		if (m->d[i].used && !strcmp(m->d[i].name, name))
			return fill(&m->d[i], out);
	return lv_err_no_domain_name(lv_call_err(c), name);
}

static int m_by_uuid(void *priv, struct lv_call *c, const uint8_t *u, struct lv_dom *out)
{
	struct mdom *d = by_uuid(priv, u);
	return d ? fill(d, out) : lv_err_no_domain_uuid(lv_call_err(c), u);
}

static int m_by_id(void *priv, struct lv_call *c, int32_t id, struct lv_dom *out)
{
	struct mock *m = priv;
	for (int i = 0; i < MAXDOM; i++)
		if (m->d[i].used && m->d[i].id == id && id >= 0)
			return fill(&m->d[i], out);
	return lv_err_no_domain_id(lv_call_err(c), id);
}

static char *xpath(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression(BAD_CAST expr, ctx) : NULL;
	char *s = o && o->type == XPATH_STRING && o->stringval[0] ? strdup((char *)o->stringval)
								  : NULL;
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return s;
}

static int m_define(void *priv, struct lv_call *c, const char *xml, unsigned flags,
		    struct lv_dom *out)
{
	struct mock *m = priv;
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	(void)flags;
	if (!doc)
		return lv_call_error(c, LV_ERR_XML_ERROR, LV_FROM_DOMAIN, "XML error: not XML");
	char *name = xpath(doc, "string(/domain/name)");
	char *uuid = xpath(doc, "string(/domain/uuid)");
	char *mem = xpath(doc, "string(/domain/memory)");
	char *vcpu = xpath(doc, "string(/domain/vcpu)");
	xmlFreeDoc(doc);
	int rc = -1;
	struct mdom *d = NULL;
	uint8_t u[16];
	if (!name) {
		lv_call_error(c, LV_ERR_XML_ERROR, LV_FROM_DOMAIN, "XML error: no <name>");
		goto cleanup;
	}
	if (!uuid || lv_uuid_parse(uuid, u) < 0)
		for (int i = 0; i < 16; i++)
			u[i] = (uint8_t)(rand() & 0xff);
	for (int i = 0; i < MAXDOM && !d; i++)
		if (m->d[i].used && !strcmp(m->d[i].name, name))
			d = &m->d[i];
	for (int i = 0; i < MAXDOM && !d; i++)
		if (!m->d[i].used)
			d = &m->d[i], d->id = -1, d->state = LV_STATE_SHUTOFF;
	if (!d) {
		lv_call_error(c, LV_ERR_OPERATION_FAILED, LV_FROM_DOMAIN, "too many domains");
		goto cleanup;
	}
	bool updated = d->used;
	free(d->name);
	free(d->xml);
	d->used = true;
	d->name = name;
	name = NULL;
	d->xml = strdup(xml);
	memcpy(d->uuid, u, 16);
	d->kib = mem ? strtoull(mem, NULL, 10) : 1024;
	d->vcpus = vcpu ? (uint16_t)atoi(vcpu) : 1;
	emit(m, d, LV_EVENT_DEFINED, updated);
	rc = fill(d, out);
cleanup:
	free(name);
	free(uuid);
	free(mem);
	free(vcpu);
	return rc;
}

static int m_undefine(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)flags;
	emit(m, d, LV_EVENT_UNDEFINED, 0);
	if (d->id >= 0)
		return 0; /* transient until it stops; the mock keeps it simple */
	free(d->name);
	free(d->xml);
	memset(d, 0, sizeof(*d));
	return 0;
}

static void finish_create(void *opaque)
{
	struct mock *m = opaque;
	struct mdom *d = m->pending_dom;
	d->id = ++m->next_id;
	d->state = LV_STATE_RUNNING;
	fill(d, m->pending_out);
	lv_call_complete(m->pending, 0);
	m->pending = NULL;
	emit(m, d, LV_EVENT_STARTED, 0);
}

static int m_create(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		    struct lv_dom *out)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)flags;
	if (d->id >= 0)
		return lv_call_error(c, LV_ERR_OPERATION_INVALID, LV_FROM_DOMAIN,
				     "Requested operation is not valid: domain is already running");
	if (m->pending)
		return lv_call_error(c, LV_ERR_OPERATION_FAILED, LV_FROM_DOMAIN, "busy");
	m->pending = c;
	m->pending_dom = d;
	m->pending_out = out;
	evloop_call(lv_server_loop(m->srv), finish_create, m); /* completes next turn */
	return LV_DEFERRED;
}

static int stop(struct mock *m, struct lv_call *c, struct mdom *d, int detail)
{
	if (d->id < 0)
		return lv_call_error(c, LV_ERR_OPERATION_INVALID, LV_FROM_DOMAIN,
				     "Requested operation is not valid: domain is not running");
	if (d->console)
		lv_stream_eof(d->console);
	d->console = NULL;
	d->id = -1;
	d->state = LV_STATE_SHUTOFF;
	emit(m, d, LV_EVENT_STOPPED, detail);
	return 0;
}

static int m_destroy(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)flags;
	return stop(m, c, d, 1);
}

static int m_shutdown(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)flags;
	return stop(m, c, d, 0);
}

static int pause_resume(struct mock *m, struct lv_call *c, const struct lv_dom *dom, bool pause)
{
	FIND(m, c, dom, d);
	if (d->id < 0)
		return lv_call_error(c, LV_ERR_OPERATION_INVALID, LV_FROM_DOMAIN,
				     "Requested operation is not valid: domain is not running");
	d->state = pause ? LV_STATE_PAUSED : LV_STATE_RUNNING;
	emit(m, d, pause ? LV_EVENT_SUSPENDED : LV_EVENT_RESUMED, 0);
	return 0;
}

static int m_suspend(void *priv, struct lv_call *c, const struct lv_dom *dom)
{
	return pause_resume(priv, c, dom, true);
}

static int m_resume(void *priv, struct lv_call *c, const struct lv_dom *dom)
{
	return pause_resume(priv, c, dom, false);
}

static int m_info(void *priv, struct lv_call *c, const struct lv_dom *dom, struct lv_dom_info *o)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	*o = (struct lv_dom_info){ (uint8_t)d->state, d->kib, d->kib, d->vcpus,
				   d->id >= 0 ? 1500000000ull : 0 };
	return 0;
}

static int m_state(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		   int32_t *state, int32_t *reason)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)flags;
	*state = d->state;
	*reason = 1; /* booted / user / ... : the first reason of each state */
	return 0;
}

static int m_xml(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		 char **xml)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)flags;
	*xml = strdup(d->xml);
	return *xml ? 0 : -1;
}

static int m_get_autostart(void *priv, struct lv_call *c, const struct lv_dom *dom, int32_t *v)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	*v = d->autostart;
	return 0;
}

static int m_set_autostart(void *priv, struct lv_call *c, const struct lv_dom *dom, int32_t v)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	d->autostart = v != 0;
	return 0;
}

static void con_recv(void *opaque, const uint8_t *buf, size_t len)
{
	struct mdom *d = opaque;
	char up[256];
	size_t n = len < sizeof(up) ? len : sizeof(up);
	for (size_t i = 0; i < n; i++)
		up[i] = (char)toupper(buf[i]); /* the "guest" answers in capitals */
	if (d->console)
		lv_stream_send(d->console, up, n);
}

static void con_closed(void *opaque, bool aborted)
{
	(void)aborted;
	((struct mdom *)opaque)->console = NULL;
}

static const struct lv_stream_ops con_ops = { con_recv, con_closed };

static int m_console(void *priv, struct lv_call *c, const struct lv_dom *dom, const char *dev,
		     unsigned flags, struct lv_stream *st)
{
	struct mock *m = priv;
	FIND(m, c, dom, d);
	(void)dev;
	(void)flags;
	if (d->id < 0)
		return lv_call_error(c, LV_ERR_OPERATION_INVALID, LV_FROM_DOMAIN,
				     "Requested operation is not valid: domain is not running");
	if (d->console)
		lv_stream_eof(d->console);
	d->console = st;
	lv_stream_attach(st, &con_ops, d);
	char hello[128];
	int n = snprintf(hello, sizeof(hello), "mock console of %s\r\n", d->name);
	return lv_stream_send(st, hello, (size_t)n);
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof(si)) > 0)
		lv_server_stop(opaque);
}

int main(int argc, char **argv)
{
	static struct mock m;
	struct lv_driver drv = {
		.name = "mock", .priv = &m, .attach = m_attach, .list_all = m_list,
		.lookup_by_name = m_by_name, .lookup_by_uuid = m_by_uuid, .lookup_by_id = m_by_id,
		.define_xml = m_define, .undefine = m_undefine, .create = m_create,
		.destroy = m_destroy, .shutdown = m_shutdown, .suspend = m_suspend,
		.resume = m_resume, .get_info = m_info, .get_state = m_state, .get_xml = m_xml,
		.get_autostart = m_get_autostart, .set_autostart = m_set_autostart,
		.open_console = m_console,
	};
	if (argc != 3 || strcmp(argv[1], "--socket")) {
		fprintf(stderr, "usage: %s --socket PATH\n", argv[0]);
		return 2;
	}
	char ro[4096];
	snprintf(ro, sizeof(ro), "%s-ro", argv[2]);
	struct lv_server_config cfg = { .sock_rw = argv[2], .sock_ro = ro, .rw_uid = geteuid(),
					.version = "0.1.0" };
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	char *err = NULL;
	struct lv_server *s = lv_server_new(&cfg, &drv, &err);
	if (!s) {
		fprintf(stderr, "mockd: %s\n", err);
		free(err);
		return 1;
	}
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	evloop_add(lv_server_loop(s), sfd, EPOLLIN, on_signal, s);
	int r = lv_server_run(s);
	evloop_del(lv_server_loop(s), sfd);
	close(sfd);
	lv_server_free(s);
	for (int i = 0; i < MAXDOM; i++) {
		free(m.d[i].name);
		free(m.d[i].xml);
	}
	return r < 0 ? 1 : 0;
}
