// SPDX-License-Identifier: MIT
/*
 * Argument decoders and result encoders of the REMOTE_PROGRAM procedures
 * (layouts from remote_protocol.x, summarised in docs/virtvmmd.md), and the
 * table naming each procedure, its public API and its flags.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_codec.h"
#include "util.h"

void lv_dom_clear(struct lv_dom *d)
{
	if (!d)
		return;
	free(d->name);
	memset(d, 0, sizeof(*d));
}

int lv_dom_set(struct lv_dom *dst, const char *name, const uint8_t uuid[LV_UUID_LEN], int32_t id)
{
	char *n = strdup(name ? name : "");
	if (!n)
		return -ENOMEM;
	lv_dom_clear(dst);
	dst->name = n;
	memcpy(dst->uuid, uuid, LV_UUID_LEN);
	dst->id = id;
	return 0;
}

int lv_dom_copy(struct lv_dom *dst, const struct lv_dom *src)
{
	return lv_dom_set(dst, src->name, src->uuid, src->id);
}

void lv_args_clear(struct lv_args *a)
{
	if (!a)
		return;
	lv_dom_clear(&a->dom);
	free(a->str);
	memset(a, 0, sizeof(*a));
}

void lv_ret_clear(struct lv_ret *r)
{
	if (!r)
		return;
	lv_dom_clear(&r->dom);
	for (uint32_t i = 0; i < r->doms.n; i++)
		lv_dom_clear(&r->doms.v[i]);
	free(r->doms.v);
	free(r->str);
	free(r->str2);
	for (uint32_t i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->ints);
	memset(r, 0, sizeof(*r));
}

int lv_dec_dom(struct lv_dec *d, const char *field, struct lv_dom *out)
{
	char f[64];
	memset(out, 0, sizeof(*out));
	snprintf(f, sizeof(f), "%s.name", field);
	if (lv_get_string(d, f, LV_STRING_MAX, &out->name) < 0)
		return -EBADMSG;
	snprintf(f, sizeof(f), "%s.uuid", field);
	int r = lv_get_opaque(d, f, out->uuid, LV_UUID_LEN);
	snprintf(f, sizeof(f), "%s.id", field);
	if (r == 0)
		r = lv_get_i32(d, f, &out->id);
	if (r < 0)
		lv_dom_clear(out);
	return r;
}

int lv_enc_dom(struct lv_enc *e, const struct lv_dom *dom)
{
	lv_put_string(e, dom->name);
	lv_put_opaque(e, dom->uuid, LV_UUID_LEN);
	return lv_put_i32(e, dom->id);
}

/* ---- argument layouts ---- */

static int a_void(struct lv_dec *d, struct lv_args *a)
{
	(void)d;
	(void)a;
	return 0;
}

static int a_dom(struct lv_dec *d, struct lv_args *a)
{
	return lv_dec_dom(d, "dom", &a->dom);
}

static int a_dom_flags(struct lv_dec *d, struct lv_args *a)
{
	if (lv_dec_dom(d, "dom", &a->dom) < 0)
		return -EBADMSG;
	return lv_get_u32(d, "flags", &a->flags);
}

static int a_name(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_string(d, "name", LV_STRING_MAX, &a->str);
}

static int a_xml(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_string(d, "xml", LV_STRING_MAX, &a->str);
}

static int a_xml_flags(struct lv_dec *d, struct lv_args *a)
{
	if (lv_get_string(d, "xml", LV_STRING_MAX, &a->str) < 0)
		return -EBADMSG;
	return lv_get_u32(d, "flags", &a->flags);
}

static int a_uuid(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_opaque(d, "uuid", a->uuid, LV_UUID_LEN);
}

static int a_id(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_i32(d, "id", &a->num);
}

static int a_feature(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_i32(d, "feature", &a->num);
}

static int a_event_id(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_i32(d, "eventID", &a->num);
}

static int a_callback_id(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_i32(d, "callbackID", &a->num);
}

static int a_maxids(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_i32(d, "maxids", &a->num);
}

static int a_maxnames(struct lv_dec *d, struct lv_args *a)
{
	return lv_get_i32(d, "maxnames", &a->num);
}

static int a_open(struct lv_dec *d, struct lv_args *a)
{
	if (lv_get_opt_string(d, "name", LV_STRING_MAX, &a->str) < 0)
		return -EBADMSG;
	return lv_get_u32(d, "flags", &a->flags);
}

static int a_list_all(struct lv_dec *d, struct lv_args *a)
{
	if (lv_get_i32(d, "need_results", &a->num) < 0)
		return -EBADMSG;
	return lv_get_u32(d, "flags", &a->flags);
}

static int a_dom_autostart(struct lv_dec *d, struct lv_args *a)
{
	if (lv_dec_dom(d, "dom", &a->dom) < 0)
		return -EBADMSG;
	return lv_get_i32(d, "autostart", &a->num);
}

static int a_dom_memory(struct lv_dec *d, struct lv_args *a)
{
	if (lv_dec_dom(d, "dom", &a->dom) < 0)
		return -EBADMSG;
	return lv_get_u64(d, "memory", &a->u64);
}

static int a_dom_memory_flags(struct lv_dec *d, struct lv_args *a)
{
	if (a_dom_memory(d, a) < 0)
		return -EBADMSG;
	return lv_get_u32(d, "flags", &a->flags);
}

static int a_console(struct lv_dec *d, struct lv_args *a)
{
	if (lv_dec_dom(d, "dom", &a->dom) < 0 ||
	    lv_get_opt_string(d, "dev_name", LV_STRING_MAX, &a->str) < 0)
		return -EBADMSG;
	return lv_get_u32(d, "flags", &a->flags);
}

static int a_event_cb_register(struct lv_dec *d, struct lv_args *a)
{
	if (lv_get_i32(d, "eventID", &a->num) < 0 || lv_get_bool(d, "dom", &a->has_dom) < 0)
		return -EBADMSG;
	return a->has_dom ? lv_dec_dom(d, "dom", &a->dom) : 0;
}

/* ---- result layouts ---- */

static int r_void(struct lv_enc *e, const struct lv_ret *r)
{
	(void)e;
	(void)r;
	return 0;
}

static int r_dom(struct lv_enc *e, const struct lv_ret *r)
{
	return lv_enc_dom(e, &r->dom);
}

static int r_str(struct lv_enc *e, const struct lv_ret *r)
{
	return lv_put_string(e, r->str);
}

static int r_int(struct lv_enc *e, const struct lv_ret *r)
{
	return lv_put_i32(e, r->num);
}

static int r_u64(struct lv_enc *e, const struct lv_ret *r)
{
	return lv_put_u64(e, r->u64);
}

static int r_state(struct lv_enc *e, const struct lv_ret *r)
{
	lv_put_i32(e, r->num);
	return lv_put_i32(e, r->num2);
}

static int r_info(struct lv_enc *e, const struct lv_ret *r)
{
	/* rpcgen widens unsigned char and unsigned short to 4 bytes. */
	lv_put_u32(e, r->info.state);
	lv_put_u64(e, r->info.max_mem_kib);
	lv_put_u64(e, r->info.mem_kib);
	lv_put_u32(e, r->info.nr_vcpus);
	return lv_put_u64(e, r->info.cpu_time_ns);
}

static int r_node(struct lv_enc *e, const struct lv_ret *r)
{
	const struct lv_node_info *n = &r->node;
	lv_put_char_fixed(e, n->model, LV_NODE_MODEL_LEN);
	lv_put_u64(e, n->memory_kib);
	lv_put_i32(e, n->cpus);
	lv_put_i32(e, n->mhz);
	lv_put_i32(e, n->nodes);
	lv_put_i32(e, n->sockets);
	lv_put_i32(e, n->cores);
	return lv_put_i32(e, n->threads);
}

static int r_secmodel(struct lv_enc *e, const struct lv_ret *r)
{
	lv_put_char_var(e, r->str ? r->str : "", LV_SECURITY_MODEL_MAX);
	return lv_put_char_var(e, r->str2 ? r->str2 : "", LV_SECURITY_DOI_MAX);
}

static int r_strs(struct lv_enc *e, const struct lv_ret *r)
{
	lv_put_u32(e, r->nstrs);
	for (uint32_t i = 0; i < r->nstrs; i++)
		lv_put_string(e, r->strs[i]);
	return e->overflow ? -ENOSPC : 0;
}

static int r_ints(struct lv_enc *e, const struct lv_ret *r)
{
	lv_put_u32(e, r->nints);
	for (uint32_t i = 0; i < r->nints; i++)
		lv_put_i32(e, r->ints[i]);
	return e->overflow ? -ENOSPC : 0;
}

static int r_list_all(struct lv_enc *e, const struct lv_ret *r)
{
	lv_put_u32(e, r->doms.n);
	for (uint32_t i = 0; i < r->doms.n; i++)
		lv_enc_dom(e, &r->doms.v[i]);
	return lv_put_u32(e, r->count);
}

/* ---- messages ---- */

int lv_enc_lifecycle_cb_msg(struct lv_enc *e, const void *msg)
{
	const struct lv_lifecycle_msg *m = msg;
	lv_put_i32(e, m->callback_id);
	return lv_enc_lifecycle_msg(e, msg);
}

int lv_enc_lifecycle_msg(struct lv_enc *e, const void *msg)
{
	const struct lv_lifecycle_msg *m = msg;
	lv_enc_dom(e, m->dom);
	lv_put_i32(e, m->event);
	return lv_put_i32(e, m->detail);
}

int lv_dec_lifecycle_cb_msg(struct lv_dec *d, int32_t *cbid, struct lv_dom *dom, int32_t *event,
			    int32_t *detail)
{
	if (lv_get_i32(d, "callbackID", cbid) < 0 || lv_dec_dom(d, "dom", dom) < 0)
		return -EBADMSG;
	if (lv_get_i32(d, "event", event) < 0 || lv_get_i32(d, "detail", detail) < 0 ||
	    lv_dec_end(d) < 0) {
		lv_dom_clear(dom);
		return -EBADMSG;
	}
	return 0;
}

/* ---- the table ---- */

#define M LV_PROC_MUTATING
#define B LV_PROC_BEFORE_OPEN
#define P(num, nm, api, dec, enc, fl) { num, #nm, api, dec, enc, fl }

static const struct lv_codec codecs[] = {
	P(1, CONNECT_OPEN, "virConnectOpen", a_open, r_void, B),
	P(2, CONNECT_CLOSE, "virConnectClose", a_void, r_void, B),
	P(3, CONNECT_GET_TYPE, "virConnectGetType", a_void, r_str, 0),
	P(4, CONNECT_GET_VERSION, "virConnectGetVersion", a_void, r_u64, 0),
	P(6, NODE_GET_INFO, "virNodeGetInfo", a_void, r_node, 0),
	P(7, CONNECT_GET_CAPABILITIES, "virConnectGetCapabilities", a_void, r_str, 0),
	P(9, DOMAIN_CREATE, "virDomainCreate", a_dom, r_void, M),
	P(11, DOMAIN_DEFINE_XML, "virDomainDefineXML", a_xml, r_dom, M),
	P(12, DOMAIN_DESTROY, "virDomainDestroy", a_dom, r_void, M),
	P(14, DOMAIN_GET_XML_DESC, "virDomainGetXMLDesc", a_dom_flags, r_str, 0),
	P(15, DOMAIN_GET_AUTOSTART, "virDomainGetAutostart", a_dom, r_int, 0),
	P(16, DOMAIN_GET_INFO, "virDomainGetInfo", a_dom, r_info, 0),
	P(19, DOMAIN_GET_OS_TYPE, "virDomainGetOSType", a_dom, r_str, 0),
	P(21, CONNECT_LIST_DEFINED_DOMAINS, "virConnectListDefinedDomains", a_maxnames, r_strs, 0),
	P(22, DOMAIN_LOOKUP_BY_ID, "virDomainLookupByID", a_id, r_dom, 0),
	P(23, DOMAIN_LOOKUP_BY_NAME, "virDomainLookupByName", a_name, r_dom, 0),
	P(24, DOMAIN_LOOKUP_BY_UUID, "virDomainLookupByUUID", a_uuid, r_dom, 0),
	P(25, CONNECT_NUM_OF_DEFINED_DOMAINS, "virConnectNumOfDefinedDomains", a_void, r_int, 0),
	P(27, DOMAIN_REBOOT, "virDomainReboot", a_dom_flags, r_void, M),
	P(28, DOMAIN_RESUME, "virDomainResume", a_dom, r_void, M),
	P(29, DOMAIN_SET_AUTOSTART, "virDomainSetAutostart", a_dom_autostart, r_void, M),
	P(31, DOMAIN_SET_MEMORY, "virDomainSetMemory", a_dom_memory, r_void, M),
	P(33, DOMAIN_SHUTDOWN, "virDomainShutdown", a_dom, r_void, M),
	P(34, DOMAIN_SUSPEND, "virDomainSuspend", a_dom, r_void, M),
	P(35, DOMAIN_UNDEFINE, "virDomainUndefine", a_dom, r_void, M),
	P(37, CONNECT_LIST_DOMAINS, "virConnectListDomains", a_maxids, r_ints, 0),
	P(51, CONNECT_NUM_OF_DOMAINS, "virConnectNumOfDomains", a_void, r_int, 0),
	P(59, CONNECT_GET_HOSTNAME, "virConnectGetHostname", a_void, r_str, 0),
	P(60, CONNECT_SUPPORTS_FEATURE, "virConnectSupportsFeature", a_feature, r_int, B),
	P(66, AUTH_LIST, "virConnectOpen", a_void, r_ints, B),
	P(105, CONNECT_DOMAIN_EVENT_REGISTER, "virConnectDomainEventRegister", a_void, r_int, 0),
	P(106, CONNECT_DOMAIN_EVENT_DEREGISTER, "virConnectDomainEventDeregister", a_void, r_int, 0),
	P(110, CONNECT_GET_URI, "virConnectGetURI", a_void, r_str, 0),
	P(122, NODE_GET_SECURITY_MODEL, "virNodeGetSecurityModel", a_void, r_secmodel, 0),
	P(149, CONNECT_IS_SECURE, "virConnectIsSecure", a_void, r_int, 0),
	P(150, DOMAIN_IS_ACTIVE, "virDomainIsActive", a_dom, r_int, 0),
	P(151, DOMAIN_IS_PERSISTENT, "virDomainIsPersistent", a_dom, r_int, 0),
	P(157, CONNECT_GET_LIB_VERSION, "virConnectGetLibVersion", a_void, r_u64, 0),
	P(167, CONNECT_DOMAIN_EVENT_REGISTER_ANY, "virConnectDomainEventRegisterAny", a_event_id,
	  r_void, 0),
	P(168, CONNECT_DOMAIN_EVENT_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny",
	  a_event_id, r_void, 0),
	P(183, DOMAIN_HAS_MANAGED_SAVE_IMAGE, "virDomainHasManagedSaveImage", a_dom_flags, r_int, 0),
	P(196, DOMAIN_CREATE_WITH_FLAGS, "virDomainCreateWithFlags", a_dom_flags, r_dom, M),
	P(201, DOMAIN_OPEN_CONSOLE, "virDomainOpenConsole", a_console, r_void,
	  M | LV_PROC_STREAM),
	P(204, DOMAIN_SET_MEMORY_FLAGS, "virDomainSetMemoryFlags", a_dom_memory_flags, r_void, M),
	P(212, DOMAIN_GET_STATE, "virDomainGetState", a_dom_flags, r_state, 0),
	P(231, DOMAIN_UNDEFINE_FLAGS, "virDomainUndefineFlags", a_dom_flags, r_void, M),
	P(234, DOMAIN_DESTROY_FLAGS, "virDomainDestroyFlags", a_dom_flags, r_void, M),
	P(258, DOMAIN_SHUTDOWN_FLAGS, "virDomainShutdownFlags", a_dom_flags, r_void, M),
	P(273, CONNECT_LIST_ALL_DOMAINS, "virConnectListAllDomains", a_list_all, r_list_all, 0),
	P(316, CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, "virConnectDomainEventRegisterAny",
	  a_event_cb_register, r_int, 0),
	P(317, CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, "virConnectDomainEventDeregisterAny",
	  a_callback_id, r_void, 0),
	P(350, DOMAIN_DEFINE_XML_FLAGS, "virDomainDefineXMLFlags", a_xml_flags, r_dom, M),
	P(360, CONNECT_REGISTER_CLOSE_CALLBACK, "virConnectRegisterCloseCallback", a_void, r_void, 0),
	P(361, CONNECT_UNREGISTER_CLOSE_CALLBACK, "virConnectUnregisterCloseCallback", a_void,
	  r_void, 0),
	P(426, DOMAIN_GET_MESSAGES, "virDomainGetMessages", a_dom_flags, r_strs, 0),
};

#undef P
#undef M
#undef B

const struct lv_codec *lv_codec_find(int32_t proc)
{
	size_t lo = 0, hi = ARRAY_SIZE(codecs);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (codecs[mid].proc == proc)
			return &codecs[mid];
		if (codecs[mid].proc < proc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct lv_codec *lv_codec_all(size_t *n)
{
	*n = ARRAY_SIZE(codecs);
	return codecs;
}

int lv_args_decode(const struct lv_codec *c, const uint8_t *body, size_t len, struct lv_args *a,
		   char *err, size_t errlen)
{
	struct lv_dec d;
	memset(a, 0, sizeof(*a));
	lv_dec_init(&d, body, len);
	int r = c->dec(&d, a);
	if (r == 0)
		r = lv_dec_end(&d);
	if (r < 0) {
		snprintf(err, errlen, "%s (%d): %s", c->name, (int)c->proc,
			 d.err[0] ? d.err : "malformed arguments");
		lv_args_clear(a);
	}
	lv_dec_fini(&d);
	return r < 0 ? -EBADMSG : 0;
}

int lv_ret_encode(const struct lv_codec *c, struct lv_enc *e, const struct lv_ret *r)
{
	int rc = c->enc(e, r);
	return rc < 0 || e->overflow ? -ENOSPC : 0;
}
