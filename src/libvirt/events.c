// SPDX-License-Identifier: MIT
/*
 * Domain event registrations per client: the callback style (316/317, events
 * sent as 318 with the callbackID) and the legacy one (167/168 or 105/106,
 * events sent as 107). Only lifecycle events are produced today; every valid
 * event ID may be registered, as with libvirt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

static int check_event_id(struct lv_call *c, int32_t id)
{
	if (id < 0 || id >= LV_EVENT_ID_LAST)
		return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
				     "invalid argument: unsupported event ID %d", id);
	return 0;
}

int lv_events_register_cb(struct lv_call *c)
{
	struct lv_client *cl = c->cl;
	if (check_event_id(c, c->args.num) < 0)
		return -1;
	struct lv_evcb *cb = calloc(1, sizeof(*cb));
	if (!cb)
		return lv_call_error(c, LV_ERR_NO_MEMORY, LV_FROM_NONE, "out of memory");
	cb->id = cl->next_cbid++;
	cb->event_id = c->args.num;
	cb->has_dom = c->args.has_dom;
	if (cb->has_dom)
		memcpy(cb->uuid, c->args.dom.uuid, LV_UUID_LEN);
	cb->next = cl->cbs;
	cl->cbs = cb;
	c->ret.num = cb->id;
	return 0;
}

int lv_events_deregister_cb(struct lv_call *c)
{
	for (struct lv_evcb **pp = &c->cl->cbs; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == c->args.num) {
			struct lv_evcb *cb = *pp;
			*pp = cb->next;
			free(cb);
			return 0;
		}
	}
	return lv_call_error(c, LV_ERR_INVALID_ARG, LV_FROM_DOMAIN,
			     "invalid argument: domain event callback %d not registered",
			     c->args.num);
}

int lv_events_register_legacy(struct lv_call *c, int32_t id)
{
	if (check_event_id(c, id) < 0)
		return -1;
	if (c->cl->legacy_events & (1u << id))
		return lv_call_error(c, LV_ERR_INTERNAL_ERROR, LV_FROM_DOMAIN,
				     "internal error: domain event %d already registered", id);
	c->cl->legacy_events |= 1u << id;
	return 0;
}

int lv_events_deregister_legacy(struct lv_call *c, int32_t id)
{
	if (check_event_id(c, id) < 0)
		return -1;
	if (!(c->cl->legacy_events & (1u << id)))
		return lv_call_error(c, LV_ERR_INTERNAL_ERROR, LV_FROM_DOMAIN,
				     "internal error: domain event %d not registered", id);
	c->cl->legacy_events &= ~(1u << id);
	return 0;
}

void lv_events_free(struct lv_client *cl)
{
	while (cl->cbs) {
		struct lv_evcb *cb = cl->cbs;
		cl->cbs = cb->next;
		free(cb);
	}
	cl->legacy_events = 0;
}

static void send_msg(struct lv_client *cl, int32_t proc, lv_body_fn fn,
		     const struct lv_lifecycle_msg *m)
{
	struct lv_header h = { LV_PROG_REMOTE, LV_VERS_REMOTE, proc, LV_MESSAGE, 0, LV_OK };
	uint8_t *pkt;
	size_t len;
	if (lv_packet_build(&h, fn, m, &pkt, &len) == 0 && lv_client_queue(cl, pkt, len, true) == 0)
		lv_client_flush(cl);
}

void lv_server_emit_lifecycle(struct lv_server *s, const struct lv_dom *dom, int32_t event,
			      int32_t detail)
{
	struct lv_client *next;
	for (struct lv_client *cl = s->clients; cl; cl = next) {
		next = cl->next; /* a client over its queue limit is dropped here */
		if (!cl->opened)
			continue;
		struct lv_lifecycle_msg m = { 0, dom, event, detail };
		for (struct lv_evcb *cb = cl->cbs; cb && !cl->dead; cb = cb->next) {
			if (cb->event_id != LV_EVENT_ID_LIFECYCLE ||
			    (cb->has_dom && memcmp(cb->uuid, dom->uuid, LV_UUID_LEN)))
				continue;
			m.callback_id = cb->id;
			send_msg(cl, LV_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE, lv_enc_lifecycle_cb_msg,
				 &m);
		}
		if (!cl->dead && (cl->legacy_events & (1u << LV_EVENT_ID_LIFECYCLE)))
			send_msg(cl, LV_PROC_DOMAIN_EVENT_LIFECYCLE, lv_enc_lifecycle_msg, &m);
	}
}
