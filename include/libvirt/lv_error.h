/* SPDX-License-Identifier: MIT */
/* libvirt-style errors (remote_error) as virtvmmd sends them. */
#ifndef NV_LV_ERROR_H
#define NV_LV_ERROR_H

#include <stdarg.h>

#include "lv_xdr.h"
#include "util.h"

/* code/domain are virterror.h numbers; msg is the whole message the client
 * prints, e.g. "Domain not found: no domain with matching name 'x'". */
struct lv_err {
	int code;
	int domain;
	char *msg;
};

/* Sets *e (replacing any earlier error); always returns -1 for tail calls. */
int lv_err_set(struct lv_err *e, int code, int domain, const char *fmt, ...) NV_PRINTF(4, 5);
int lv_err_vset(struct lv_err *e, int code, int domain, const char *fmt, va_list ap);
void lv_err_clear(struct lv_err *e);
/* Encodes remote_error (arg is a const struct lv_err *). */
int lv_enc_error(struct lv_enc *enc, const void *arg);
/* Decodes remote_error (for tests and clients): message malloc'd into e. */
int lv_dec_error(struct lv_dec *d, struct lv_err *e);

/* The standard ones. */
int lv_err_no_domain_name(struct lv_err *e, const char *name);
int lv_err_no_domain_uuid(struct lv_err *e, const uint8_t uuid[16]);
int lv_err_no_domain_id(struct lv_err *e, int id);
void lv_uuid_format(const uint8_t uuid[16], char out[37]);
/* Parses "6f1f7a2e-...." (36 chars) or 32 hex digits; 0 or -EINVAL. */
int lv_uuid_parse(const char *s, uint8_t uuid[16]);

#endif
