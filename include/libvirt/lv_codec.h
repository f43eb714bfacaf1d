/* SPDX-License-Identifier: MIT */
/*
 * Arguments and results of the REMOTE_PROGRAM procedures virtvmmd knows, and
 * their XDR codecs. One generic lv_args / lv_ret pair carries every
 * procedure's fields; the table says which fields each procedure uses.
 */
#ifndef NV_LV_CODEC_H
#define NV_LV_CODEC_H

#include <stdbool.h>
#include <stdint.h>

#include "lv_xdr.h"

/* remote_nonnull_domain: id is -1 for an inactive domain. */
struct lv_dom {
	char *name;
	uint8_t uuid[LV_UUID_LEN];
	int32_t id;
};

struct lv_dom_list {
	struct lv_dom *v;
	uint32_t n;
};

/* remote_domain_get_info_ret: memory in KiB, CPU time in ns. */
struct lv_dom_info {
	uint8_t state;
	uint64_t max_mem_kib;
	uint64_t mem_kib;
	uint16_t nr_vcpus;
	uint64_t cpu_time_ns;
};

/* remote_node_get_info_ret: memory in KiB. */
struct lv_node_info {
	char model[LV_NODE_MODEL_LEN + 1];
	uint64_t memory_kib;
	int32_t cpus, mhz, nodes, sockets, cores, threads;
};

/*
 * Decoded arguments. Which fields a procedure fills:
 *   dom    every domain procedure (has_dom: optional dom of 316)
 *   str    name (23), xml (11, 350), dev_name (201, may be NULL), uri (1, may be NULL)
 *   uuid   24
 *   num    id (22), feature (60), need_results (273), eventID (167, 168, 316),
 *          callbackID (317), maxids (37), maxnames (21), autostart (29)
 *   flags  every "unsigned int flags"
 *   u64    memory in KiB (31, 204)
 */
struct lv_args {
	struct lv_dom dom;
	bool has_dom;
	char *str;
	uint8_t uuid[LV_UUID_LEN];
	int32_t num;
	uint32_t flags;
	uint64_t u64;
};

/*
 * Results to encode. Which fields a procedure sends:
 *   dom    lookups, define, create_with_flags
 *   doms   list_all (with count)
 *   str    type, hostname, uri, capabilities, xml, os type; str2: doi (122, str = model)
 *   strs   names (21), messages (426)
 *   ints   ids (37), auth types (66)
 *   num    supported, is_active, is_persistent, autostart, result, callbackID, num,
 *          cb_registered, secure; num2: reason (212, num = state)
 *   u64    versions
 */
struct lv_ret {
	struct lv_dom dom;
	struct lv_dom_list doms;
	uint32_t count;
	char *str;
	char *str2;
	char **strs;
	uint32_t nstrs;
	int32_t *ints;
	uint32_t nints;
	int32_t num;
	int32_t num2;
	uint64_t u64;
	struct lv_dom_info info;
	struct lv_node_info node;
};

/* Procedure flags. */
#define LV_PROC_MUTATING 1u  /* refused on a read-only connection */
#define LV_PROC_BEFORE_OPEN 2u /* allowed before CONNECT_OPEN */
#define LV_PROC_STREAM 4u    /* the reply opens a stream on (proc, serial) */

typedef int (*lv_args_dec_fn)(struct lv_dec *d, struct lv_args *a);
typedef int (*lv_ret_enc_fn)(struct lv_enc *e, const struct lv_ret *r);

struct lv_codec {
	int32_t proc;
	const char *name; /* "DOMAIN_LOOKUP_BY_NAME" */
	const char *api;  /* "virDomainLookupByName", for error messages */
	lv_args_dec_fn dec;
	lv_ret_enc_fn enc;
	unsigned flags;
};

/* The codec of proc, or NULL. */
const struct lv_codec *lv_codec_find(int32_t proc);
/* All codecs, ordered by procedure number; *n gets the count. */
const struct lv_codec *lv_codec_all(size_t *n);

/*
 * Decodes the body of a CALL for c: 0, or -EBADMSG with err (size errlen)
 * saying "NAME (N): argument 'x' truncated". On failure a is cleared.
 */
int lv_args_decode(const struct lv_codec *c, const uint8_t *body, size_t len, struct lv_args *a,
		   char *err, size_t errlen);
/* Encodes r as c's ret into e. 0 or -ENOSPC. */
int lv_ret_encode(const struct lv_codec *c, struct lv_enc *e, const struct lv_ret *r);

void lv_args_clear(struct lv_args *a);
void lv_ret_clear(struct lv_ret *r);
void lv_dom_clear(struct lv_dom *d);
/* Deep copy of src into dst; 0 or -ENOMEM. */
int lv_dom_copy(struct lv_dom *dst, const struct lv_dom *src);
/* Fills dst (cleared first) with name, uuid, id; 0 or -ENOMEM. */
int lv_dom_set(struct lv_dom *dst, const char *name, const uint8_t uuid[LV_UUID_LEN], int32_t id);

int lv_dec_dom(struct lv_dec *d, const char *field, struct lv_dom *out);
int lv_enc_dom(struct lv_enc *e, const struct lv_dom *dom);

/* MESSAGE bodies: 318 (callbackID, dom, event, detail) and legacy 107. */
struct lv_lifecycle_msg {
	int32_t callback_id;
	const struct lv_dom *dom;
	int32_t event;
	int32_t detail;
};
int lv_enc_lifecycle_cb_msg(struct lv_enc *e, const void *msg);
int lv_enc_lifecycle_msg(struct lv_enc *e, const void *msg);
int lv_dec_lifecycle_cb_msg(struct lv_dec *d, int32_t *cbid, struct lv_dom *dom, int32_t *event,
			    int32_t *detail);

#endif
