// SPDX-License-Identifier: MIT
/* remote_error encoding and the common libvirt errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_error.h"

int lv_err_vset(struct lv_err *e, int code, int domain, const char *fmt, va_list ap)
{
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	free(e->msg);
	e->msg = m; /* NULL when out of memory: encoded as "no message" */
	e->code = code;
	e->domain = domain;
	return -1;
}

int lv_err_set(struct lv_err *e, int code, int domain, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lv_err_vset(e, code, domain, fmt, ap);
	va_end(ap);
	return -1;
}

void lv_err_clear(struct lv_err *e)
{
	if (!e)
		return;
	free(e->msg);
	memset(e, 0, sizeof(*e));
}

int lv_enc_error(struct lv_enc *enc, const void *arg)
{
	const struct lv_err *e = arg;
	lv_put_i32(enc, e->code ? e->code : LV_ERR_INTERNAL_ERROR);
	lv_put_i32(enc, e->domain);
	lv_put_opt_string(enc, e->msg ? e->msg : "internal error: no error message");
	lv_put_i32(enc, LV_ERR_LEVEL_ERROR);
	lv_put_u32(enc, 0); /* dom */
	lv_put_opt_string(enc, NULL);
	lv_put_opt_string(enc, NULL);
	lv_put_opt_string(enc, NULL);
	lv_put_i32(enc, 0);
	lv_put_i32(enc, 0);
	return lv_put_u32(enc, 0); /* net */
}

int lv_dec_error(struct lv_dec *d, struct lv_err *e)
{
	int32_t level, i1, i2;
	bool dom, net;
	char *s1 = NULL, *s2 = NULL, *s3 = NULL;
	memset(e, 0, sizeof(*e));
	int r = lv_get_i32(d, "code", &e->code);
	if (!r)
		r = lv_get_i32(d, "domain", &e->domain);
	if (!r)
		r = lv_get_opt_string(d, "message", LV_STRING_MAX, &e->msg);
	if (!r)
		r = lv_get_i32(d, "level", &level);
	if (!r)
		r = lv_get_bool(d, "dom", &dom);
	if (!r && dom) {
		char *name = NULL;
		uint8_t uuid[16];
		int32_t id;
		r = lv_get_string(d, "dom.name", LV_STRING_MAX, &name);
		if (!r)
			r = lv_get_opaque(d, "dom.uuid", uuid, 16);
		if (!r)
			r = lv_get_i32(d, "dom.id", &id);
		free(name);
	}
	if (!r)
		r = lv_get_opt_string(d, "str1", LV_STRING_MAX, &s1);
	if (!r)
		r = lv_get_opt_string(d, "str2", LV_STRING_MAX, &s2);
	if (!r)
		r = lv_get_opt_string(d, "str3", LV_STRING_MAX, &s3);
	if (!r)
		r = lv_get_i32(d, "int1", &i1);
	if (!r)
		r = lv_get_i32(d, "int2", &i2);
	if (!r)
		r = lv_get_bool(d, "net", &net);
	if (!r && net)
		r = lv_dec_left(d) ? 0 : -EBADMSG; /* a network: not decoded further */
	free(s1);
	free(s2);
	free(s3);
	if (r < 0)
		lv_err_clear(e);
	return r;
}

void lv_uuid_format(const uint8_t uuid[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[uuid[i] >> 4];
		out[o++] = hex[uuid[i] & 15];
	}
	out[o] = '\0';
}

int lv_uuid_parse(const char *s, uint8_t uuid[16])
{
	int n = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '-')
			continue;
		int v = hex_digit((unsigned char)*p);
		if (v < 0 || n >= 32)
			return -EINVAL;
		if (n % 2 == 0)
			uuid[n / 2] = (uint8_t)(v << 4);
		else
			uuid[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32 ? 0 : -EINVAL;
}

int lv_err_no_domain_name(struct lv_err *e, const char *name)
{
	return lv_err_set(e, LV_ERR_NO_DOMAIN, LV_FROM_DOM,
			  "Domain not found: no domain with matching name '%s'", name);
}

int lv_err_no_domain_uuid(struct lv_err *e, const uint8_t uuid[16])
{
	char s[37];
	lv_uuid_format(uuid, s);
	return lv_err_set(e, LV_ERR_NO_DOMAIN, LV_FROM_DOM,
			  "Domain not found: no domain with matching uuid '%s'", s);
}

int lv_err_no_domain_id(struct lv_err *e, int id)
{
	return lv_err_set(e, LV_ERR_NO_DOMAIN, LV_FROM_DOM,
			  "Domain not found: no domain with matching id %d", id);
}
