// SPDX-License-Identifier: MIT
/*
 * The driver with no domains: what virtvmmd serves until the domain store
 * and the VM supervisor exist. Lists are empty, lookups fail as libvirt's do
 * (VIR_ERR_NO_DOMAIN), defining is refused as not supported yet.
 */
#include <errno.h>
#include <stdlib.h>

#include "lv_driver.h"

static int none_list_all(void *priv, struct lv_call *c, unsigned flags, struct lv_dom_list *out)
{
	(void)priv;
	(void)c;
	(void)flags;
	out->v = NULL;
	out->n = 0;
	return 0;
}

static int none_by_name(void *priv, struct lv_call *c, const char *name, struct lv_dom *out)
{
	(void)priv;
	(void)out;
	return lv_err_no_domain_name(lv_call_err(c), name);
}

static int none_by_uuid(void *priv, struct lv_call *c, const uint8_t uuid[LV_UUID_LEN],
			struct lv_dom *out)
{
	(void)priv;
	(void)out;
	return lv_err_no_domain_uuid(lv_call_err(c), uuid);
}

static int none_by_id(void *priv, struct lv_call *c, int32_t id, struct lv_dom *out)
{
	(void)priv;
	(void)out;
	return lv_err_no_domain_id(lv_call_err(c), id);
}

static int none_define(void *priv, struct lv_call *c, const char *xml, unsigned flags,
		       struct lv_dom *out)
{
	(void)priv;
	(void)xml;
	(void)flags;
	(void)out;
	return lv_call_error(c, LV_ERR_NO_SUPPORT, LV_FROM_NONE,
			     "this function is not supported by the connection driver: "
			     "virDomainDefineXML (virtvmmd has no domain store yet)");
}

/* Every call naming a domain: there is none. */
static int none_dom(struct lv_call *c, const struct lv_dom *dom)
{
	return lv_err_no_domain_uuid(lv_call_err(c), dom->uuid);
}

static int none_undefine(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	(void)priv;
	(void)flags;
	return none_dom(c, dom);
}

static int none_create(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		       struct lv_dom *out)
{
	(void)priv;
	(void)flags;
	(void)out;
	return none_dom(c, dom);
}

static int none_dom_flags(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags)
{
	(void)priv;
	(void)flags;
	return none_dom(c, dom);
}

static int none_dom_only(void *priv, struct lv_call *c, const struct lv_dom *dom)
{
	(void)priv;
	return none_dom(c, dom);
}

static int none_info(void *priv, struct lv_call *c, const struct lv_dom *dom,
		     struct lv_dom_info *out)
{
	(void)priv;
	(void)out;
	return none_dom(c, dom);
}

static int none_state(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		      int32_t *state, int32_t *reason)
{
	(void)priv;
	(void)flags;
	(void)state;
	(void)reason;
	return none_dom(c, dom);
}

static int none_xml(void *priv, struct lv_call *c, const struct lv_dom *dom, unsigned flags,
		    char **xml)
{
	(void)priv;
	(void)flags;
	(void)xml;
	return none_dom(c, dom);
}

static int none_int_out(void *priv, struct lv_call *c, const struct lv_dom *dom, int32_t *v)
{
	(void)priv;
	(void)v;
	return none_dom(c, dom);
}

static int none_set_autostart(void *priv, struct lv_call *c, const struct lv_dom *dom, int32_t v)
{
	(void)priv;
	(void)v;
	return none_dom(c, dom);
}

static int none_set_memory(void *priv, struct lv_call *c, const struct lv_dom *dom, uint64_t kib,
			   unsigned flags)
{
	(void)priv;
	(void)kib;
	(void)flags;
	return none_dom(c, dom);
}

static int none_console(void *priv, struct lv_call *c, const struct lv_dom *dom, const char *dev,
			unsigned flags, struct lv_stream *st)
{
	(void)priv;
	(void)dev;
	(void)flags;
	(void)st;
	return none_dom(c, dom);
}

struct lv_driver *lv_driver_none_new(void)
{
	struct lv_driver *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->name = "none";
	d->list_all = none_list_all;
	d->lookup_by_name = none_by_name;
	d->lookup_by_uuid = none_by_uuid;
	d->lookup_by_id = none_by_id;
	d->define_xml = none_define;
	d->undefine = none_undefine;
	d->create = none_create;
	d->destroy = none_dom_flags;
	d->shutdown = none_dom_flags;
	d->reboot = none_dom_flags;
	d->suspend = none_dom_only;
	d->resume = none_dom_only;
	d->get_info = none_info;
	d->get_state = none_state;
	d->get_xml = none_xml;
	d->get_autostart = none_int_out;
	d->set_autostart = none_set_autostart;
	d->set_memory = none_set_memory;
	d->is_persistent = none_int_out;
	d->open_console = none_console;
	return d;
}

void lv_driver_free(struct lv_driver *d)
{
	if (!d)
		return;
	if (d->free)
		d->free(d->priv);
	free(d);
}
