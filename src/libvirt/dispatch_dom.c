// SPDX-License-Identifier: MIT
/*
 * Domain procedures: each hands its decoded arguments to the driver's
 * function, or derives its answer from a lookup (is_active, os type, ...).
 * A driver without the function answers VIR_ERR_NO_SUPPORT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"
#include "util.h"

#define DRV(c) ((c)->srv->drv)
#define PRIV(c) ((c)->srv->drv->priv)

static int no_support(struct lv_call *c)
{
	return lv_call_error(c, LV_ERR_NO_SUPPORT, LV_FROM_NONE,
			     "this function is not supported by the connection driver: %s",
			     c->codec->api);
}

#define NEED(c, fn)                   \
	do {                          \
		if (!DRV(c)->fn)      \
			return no_support(c); \
	} while (0)

static int oom(struct lv_call *c)
{
	return lv_call_error(c, LV_ERR_NO_MEMORY, LV_FROM_NONE, "out of memory");
}

/* Runs c->cont now unless the driver deferred: finish() runs it then. */
static int then(struct lv_call *c, int rc, int (*cont)(struct lv_call *c))
{
	c->cont = cont;
	return rc;
}

static int h_lookup_by_name(struct lv_call *c)
{
	NEED(c, lookup_by_name);
	return DRV(c)->lookup_by_name(PRIV(c), c, c->args.str, &c->ret.dom);
}

static int h_lookup_by_uuid(struct lv_call *c)
{
	NEED(c, lookup_by_uuid);
	return DRV(c)->lookup_by_uuid(PRIV(c), c, c->args.uuid, &c->ret.dom);
}

static int h_lookup_by_id(struct lv_call *c)
{
	NEED(c, lookup_by_id);
	return DRV(c)->lookup_by_id(PRIV(c), c, c->args.num, &c->ret.dom);
}

static int h_define(struct lv_call *c)
{
	NEED(c, define_xml);
	unsigned flags = c->hdr.proc == LV_PROC_DOMAIN_DEFINE_XML_FLAGS ? c->args.flags : 0;
	return DRV(c)->define_xml(PRIV(c), c, c->args.str, flags, &c->ret.dom);
}

static int h_undefine(struct lv_call *c)
{
	NEED(c, undefine);
	unsigned flags = c->hdr.proc == LV_PROC_DOMAIN_UNDEFINE_FLAGS ? c->args.flags : 0;
	return DRV(c)->undefine(PRIV(c), c, &c->args.dom, flags);
}

static int h_create(struct lv_call *c)
{
	NEED(c, create);
	unsigned flags = c->hdr.proc == LV_PROC_DOMAIN_CREATE_WITH_FLAGS ? c->args.flags : 0;
	return DRV(c)->create(PRIV(c), c, &c->args.dom, flags, &c->ret.dom);
}

static int h_destroy(struct lv_call *c)
{
	NEED(c, destroy);
	unsigned flags = c->hdr.proc == LV_PROC_DOMAIN_DESTROY_FLAGS ? c->args.flags : 0;
	return DRV(c)->destroy(PRIV(c), c, &c->args.dom, flags);
}

static int h_shutdown(struct lv_call *c)
{
	NEED(c, shutdown);
	unsigned flags = c->hdr.proc == LV_PROC_DOMAIN_SHUTDOWN_FLAGS ? c->args.flags : 0;
	return DRV(c)->shutdown(PRIV(c), c, &c->args.dom, flags);
}

static int h_reboot(struct lv_call *c)
{
	NEED(c, reboot);
	return DRV(c)->reboot(PRIV(c), c, &c->args.dom, c->args.flags);
}

static int h_suspend(struct lv_call *c)
{
	NEED(c, suspend);
	return DRV(c)->suspend(PRIV(c), c, &c->args.dom);
}

static int h_resume(struct lv_call *c)
{
	NEED(c, resume);
	return DRV(c)->resume(PRIV(c), c, &c->args.dom);
}

static int h_get_info(struct lv_call *c)
{
	NEED(c, get_info);
	return DRV(c)->get_info(PRIV(c), c, &c->args.dom, &c->ret.info);
}

static int h_get_state(struct lv_call *c)
{
	NEED(c, get_state);
	return DRV(c)->get_state(PRIV(c), c, &c->args.dom, c->args.flags, &c->ret.num,
				 &c->ret.num2);
}

static int h_get_xml(struct lv_call *c)
{
	NEED(c, get_xml);
	return DRV(c)->get_xml(PRIV(c), c, &c->args.dom, c->args.flags, &c->ret.str);
}

static int h_get_autostart(struct lv_call *c)
{
	NEED(c, get_autostart);
	return DRV(c)->get_autostart(PRIV(c), c, &c->args.dom, &c->ret.num);
}

static int h_set_autostart(struct lv_call *c)
{
	NEED(c, set_autostart);
	return DRV(c)->set_autostart(PRIV(c), c, &c->args.dom, c->args.num);
}

static int h_set_memory(struct lv_call *c)
{
	NEED(c, set_memory);
	unsigned flags = c->hdr.proc == LV_PROC_DOMAIN_SET_MEMORY_FLAGS ? c->args.flags : 0;
	return DRV(c)->set_memory(PRIV(c), c, &c->args.dom, c->args.u64, flags);
}

static int h_open_console(struct lv_call *c)
{
	NEED(c, open_console);
	return DRV(c)->open_console(PRIV(c), c, &c->args.dom, c->args.str, c->args.flags,
				    c->stream);
}

/* ---- answers derived from a lookup by uuid ---- */

static int lookup_self(struct lv_call *c, int (*cont)(struct lv_call *c))
{
	NEED(c, lookup_by_uuid);
	return then(c, DRV(c)->lookup_by_uuid(PRIV(c), c, c->args.dom.uuid, &c->ret.dom), cont);
}

static int fin_is_active(struct lv_call *c)
{
	c->ret.num = c->ret.dom.id >= 0;
	return 0;
}

static int fin_zero(struct lv_call *c)
{
	c->ret.num = 0; /* no managed save images; no messages */
	return 0;
}

static int fin_one(struct lv_call *c)
{
	c->ret.num = 1;
	return 0;
}

static int fin_os_type(struct lv_call *c)
{
	c->ret.str = strdup("hvm");
	return c->ret.str ? 0 : oom(c);
}

static int h_is_active(struct lv_call *c)
{
	return lookup_self(c, fin_is_active);
}

static int h_is_persistent(struct lv_call *c)
{
	if (DRV(c)->is_persistent)
		return DRV(c)->is_persistent(PRIV(c), c, &c->args.dom, &c->ret.num);
	return lookup_self(c, fin_one);
}

static int h_os_type(struct lv_call *c)
{
	return lookup_self(c, fin_os_type);
}

static int h_has_managed_save(struct lv_call *c)
{
	return lookup_self(c, fin_zero);
}

static int h_get_messages(struct lv_call *c)
{
	return lookup_self(c, fin_zero);
}

/* ---- lists ---- */

static void drop_doms(struct lv_ret *r)
{
	for (uint32_t i = 0; i < r->doms.n; i++)
		lv_dom_clear(&r->doms.v[i]);
	free(r->doms.v);
	r->doms.v = NULL;
	r->doms.n = 0;
}

static int list(struct lv_call *c, unsigned flags, int (*cont)(struct lv_call *c))
{
	NEED(c, list_all);
	return then(c, DRV(c)->list_all(PRIV(c), c, flags, &c->ret.doms), cont);
}

static int fin_list_all(struct lv_call *c)
{
	c->ret.count = c->ret.doms.n;
	if (c->ret.doms.n > LV_DOMAIN_LIST_MAX)
		return lv_call_error(c, LV_ERR_RPC, LV_FROM_RPC,
				     "too many domains (%u) for one reply", c->ret.doms.n);
	if (!c->args.num)
		drop_doms(&c->ret);
	return 0;
}

static int fin_count(struct lv_call *c)
{
	c->ret.num = (int32_t)c->ret.doms.n;
	drop_doms(&c->ret);
	return 0;
}

static int check_max(struct lv_call *c, const char *what)
{
	if (c->args.num < 0 || (uint32_t)c->args.num > LV_DOMAIN_LIST_MAX)
		return lv_call_error(c, LV_ERR_RPC, LV_FROM_RPC, "%s: %s %d outside 0..%u",
				     c->codec->name, what, c->args.num, LV_DOMAIN_LIST_MAX);
	return 0;
}

static int fin_ids(struct lv_call *c)
{
	uint32_t n = c->ret.doms.n < (uint32_t)c->args.num ? c->ret.doms.n : (uint32_t)c->args.num;
	c->ret.ints = calloc(n ? n : 1, sizeof(int32_t));
	if (!c->ret.ints)
		return oom(c);
	for (uint32_t i = 0; i < n; i++)
		c->ret.ints[i] = c->ret.doms.v[i].id;
	c->ret.nints = n;
	drop_doms(&c->ret);
	return 0;
}

static int fin_names(struct lv_call *c)
{
	uint32_t n = c->ret.doms.n < (uint32_t)c->args.num ? c->ret.doms.n : (uint32_t)c->args.num;
	c->ret.strs = calloc(n ? n : 1, sizeof(char *));
	if (!c->ret.strs)
		return oom(c);
	for (uint32_t i = 0; i < n; i++) {
		c->ret.strs[i] = c->ret.doms.v[i].name; /* moved */
		c->ret.doms.v[i].name = NULL;
	}
	c->ret.nstrs = n;
	drop_doms(&c->ret);
	return 0;
}

static int h_list_all(struct lv_call *c)
{
	return list(c, c->args.flags, fin_list_all);
}

static int h_num_of_domains(struct lv_call *c)
{
	return list(c, LV_LIST_ACTIVE, fin_count);
}

static int h_num_of_defined(struct lv_call *c)
{
	return list(c, LV_LIST_INACTIVE, fin_count);
}

static int h_list_domains(struct lv_call *c)
{
	if (check_max(c, "maxids") < 0)
		return -1;
	return list(c, LV_LIST_ACTIVE, fin_ids);
}

static int h_list_defined(struct lv_call *c)
{
	if (check_max(c, "maxnames") < 0)
		return -1;
	return list(c, LV_LIST_INACTIVE, fin_names);
}

static const struct {
	int32_t proc;
	lv_handler_fn fn;
} dom_handlers[] = {
	{ LV_PROC_DOMAIN_CREATE, h_create },
	{ LV_PROC_DOMAIN_DEFINE_XML, h_define },
	{ LV_PROC_DOMAIN_DESTROY, h_destroy },
	{ LV_PROC_DOMAIN_GET_XML_DESC, h_get_xml },
	{ LV_PROC_DOMAIN_GET_AUTOSTART, h_get_autostart },
	{ LV_PROC_DOMAIN_GET_INFO, h_get_info },
	{ LV_PROC_DOMAIN_GET_OS_TYPE, h_os_type },
	{ LV_PROC_CONNECT_LIST_DEFINED_DOMAINS, h_list_defined },
	{ LV_PROC_DOMAIN_LOOKUP_BY_ID, h_lookup_by_id },
	{ LV_PROC_DOMAIN_LOOKUP_BY_NAME, h_lookup_by_name },
	{ LV_PROC_DOMAIN_LOOKUP_BY_UUID, h_lookup_by_uuid },
	{ LV_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS, h_num_of_defined },
	{ LV_PROC_DOMAIN_REBOOT, h_reboot },
	{ LV_PROC_DOMAIN_RESUME, h_resume },
	{ LV_PROC_DOMAIN_SET_AUTOSTART, h_set_autostart },
	{ LV_PROC_DOMAIN_SET_MEMORY, h_set_memory },
	{ LV_PROC_DOMAIN_SHUTDOWN, h_shutdown },
	{ LV_PROC_DOMAIN_SUSPEND, h_suspend },
	{ LV_PROC_DOMAIN_UNDEFINE, h_undefine },
	{ LV_PROC_CONNECT_LIST_DOMAINS, h_list_domains },
	{ LV_PROC_CONNECT_NUM_OF_DOMAINS, h_num_of_domains },
	{ LV_PROC_DOMAIN_IS_ACTIVE, h_is_active },
	{ LV_PROC_DOMAIN_IS_PERSISTENT, h_is_persistent },
	{ LV_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, h_has_managed_save },
	{ LV_PROC_DOMAIN_CREATE_WITH_FLAGS, h_create },
	{ LV_PROC_DOMAIN_OPEN_CONSOLE, h_open_console },
	{ LV_PROC_DOMAIN_SET_MEMORY_FLAGS, h_set_memory },
	{ LV_PROC_DOMAIN_GET_STATE, h_get_state },
	{ LV_PROC_DOMAIN_UNDEFINE_FLAGS, h_undefine },
	{ LV_PROC_DOMAIN_DESTROY_FLAGS, h_destroy },
	{ LV_PROC_DOMAIN_SHUTDOWN_FLAGS, h_shutdown },
	{ LV_PROC_CONNECT_LIST_ALL_DOMAINS, h_list_all },
	{ LV_PROC_DOMAIN_DEFINE_XML_FLAGS, h_define },
	{ LV_PROC_DOMAIN_GET_MESSAGES, h_get_messages },
};

lv_handler_fn lv_dom_handler(int32_t proc)
{
	for (size_t i = 0; i < ARRAY_SIZE(dom_handlers); i++)
		if (dom_handlers[i].proc == proc)
			return dom_handlers[i].fn;
	return NULL;
}
