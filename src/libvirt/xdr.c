// SPDX-License-Identifier: MIT
/* XDR primitives of the remote protocol on libtirpc (see lv_xdr.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_xdr.h"

static int fail(struct lv_dec *d, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct lv_dec *d, const char *field, const char *fmt, ...)
{
	char why[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!d->err[0])
		snprintf(d->err, sizeof(d->err), "argument '%s' %s", field, why);
	return -EBADMSG;
}

void lv_dec_init(struct lv_dec *d, const uint8_t *buf, size_t len)
{
	/* xdrmem only reads in XDR_DECODE mode; the cast drops const for its API. */
	xdrmem_create(&d->xdr, (char *)(uintptr_t)buf, (u_int)len, XDR_DECODE);
	d->len = len;
	d->err[0] = '\0';
}

void lv_dec_fini(struct lv_dec *d)
{
	if (d)
		xdr_destroy(&d->xdr);
}

size_t lv_dec_left(const struct lv_dec *d)
{
	/* xdr_getpos takes a non-const XDR but only reads it. */
	size_t pos = xdr_getpos((XDR *)(uintptr_t)&d->xdr);
	return pos <= d->len ? d->len - pos : 0;
}

int lv_dec_end(struct lv_dec *d)
{
	size_t left = lv_dec_left(d);
	if (left == 0)
		return 0;
	if (!d->err[0])
		snprintf(d->err, sizeof(d->err), "%zu trailing bytes after the arguments", left);
	return -EBADMSG;
}

int lv_get_u32(struct lv_dec *d, const char *field, uint32_t *out)
{
	u_int v;
	if (lv_dec_left(d) < 4 || !xdr_u_int(&d->xdr, &v))
		return fail(d, field, "truncated");
	*out = v;
	return 0;
}

int lv_get_i32(struct lv_dec *d, const char *field, int32_t *out)
{
	int v;
	if (lv_dec_left(d) < 4 || !xdr_int(&d->xdr, &v))
		return fail(d, field, "truncated");
	*out = v;
	return 0;
}

int lv_get_u64(struct lv_dec *d, const char *field, uint64_t *out)
{
	u_quad_t v;
	if (lv_dec_left(d) < 8 || !xdr_u_hyper(&d->xdr, &v))
		return fail(d, field, "truncated");
	*out = v;
	return 0;
}

int lv_get_bool(struct lv_dec *d, const char *field, bool *out)
{
	uint32_t v;
	int r = lv_get_u32(d, field, &v);
	if (r < 0)
		return r;
	if (v > 1)
		return fail(d, field, "is %u, not a boolean", v);
	*out = v;
	return 0;
}

static size_t padded(uint32_t n)
{
	return ((size_t)n + 3) & ~(size_t)3;
}

int lv_get_string(struct lv_dec *d, const char *field, uint32_t max, char **out)
{
	uint32_t n;
	*out = NULL;
	if (lv_get_u32(d, field, &n) < 0)
		return -EBADMSG;
	if (n > max)
		return fail(d, field, "of %u bytes exceeds the limit of %u", n, max);
	if (padded(n) > lv_dec_left(d))
		return fail(d, field, "truncated (%u bytes announced, %zu left)", n,
			    lv_dec_left(d));
	char *s = malloc((size_t)n + 1);
	if (!s)
		return fail(d, field, "does not fit in memory");
	if (!xdr_opaque(&d->xdr, s, n)) {
		free(s);
		return fail(d, field, "truncated");
	}
	s[n] = '\0';
	if (memchr(s, '\0', n)) {
		free(s);
		return fail(d, field, "contains a NUL byte");
	}
	*out = s;
	return 0;
}

int lv_get_opt_string(struct lv_dec *d, const char *field, uint32_t max, char **out)
{
	bool present;
	*out = NULL;
	if (lv_get_bool(d, field, &present) < 0)
		return -EBADMSG;
	return present ? lv_get_string(d, field, max, out) : 0;
}

int lv_get_opaque(struct lv_dec *d, const char *field, void *out, uint32_t n)
{
	if (padded(n) > lv_dec_left(d) || !xdr_opaque(&d->xdr, out, n))
		return fail(d, field, "truncated");
	return 0;
}

int lv_get_count(struct lv_dec *d, const char *field, uint32_t max, size_t min_elem,
		 uint32_t *out)
{
	uint32_t n;
	if (lv_get_u32(d, field, &n) < 0)
		return -EBADMSG;
	if (n > max)
		return fail(d, field, "has %u elements, more than the limit of %u", n, max);
	if (min_elem && (size_t)n > lv_dec_left(d) / min_elem)
		return fail(d, field, "truncated (%u elements announced)", n);
	*out = n;
	return 0;
}

void lv_enc_init(struct lv_enc *e, uint8_t *buf, size_t cap)
{
	xdrmem_create(&e->xdr, (char *)buf, (u_int)cap, XDR_ENCODE);
	e->buf = buf;
	e->cap = cap;
	e->overflow = false;
}

void lv_enc_fini(struct lv_enc *e)
{
	if (e)
		xdr_destroy(&e->xdr);
}

size_t lv_enc_pos(const struct lv_enc *e)
{
	return xdr_getpos((XDR *)(uintptr_t)&e->xdr);
}

static int enc_ok(struct lv_enc *e, bool_t ok)
{
	if (!ok)
		e->overflow = true;
	return e->overflow ? -ENOSPC : 0;
}

int lv_put_u32(struct lv_enc *e, uint32_t v)
{
	u_int x = v;
	return enc_ok(e, !e->overflow && xdr_u_int(&e->xdr, &x));
}

int lv_put_i32(struct lv_enc *e, int32_t v)
{
	int x = v;
	return enc_ok(e, !e->overflow && xdr_int(&e->xdr, &x));
}

int lv_put_u64(struct lv_enc *e, uint64_t v)
{
	u_quad_t x = v;
	return enc_ok(e, !e->overflow && xdr_u_hyper(&e->xdr, &x));
}

int lv_put_opaque(struct lv_enc *e, const void *p, uint32_t n)
{
	/* xdr_opaque only reads the buffer when encoding. */
	return enc_ok(e, !e->overflow && xdr_opaque(&e->xdr, (char *)(uintptr_t)p, n));
}

int lv_put_string(struct lv_enc *e, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > LV_STRING_MAX)
		return enc_ok(e, 0);
	if (lv_put_u32(e, (uint32_t)n) < 0)
		return -ENOSPC;
	return lv_put_opaque(e, s ? s : "", (uint32_t)n);
}

int lv_put_opt_string(struct lv_enc *e, const char *s)
{
	if (!s)
		return lv_put_u32(e, 0);
	if (lv_put_u32(e, 1) < 0)
		return -ENOSPC;
	return lv_put_string(e, s);
}

int lv_put_char_fixed(struct lv_enc *e, const char *s, uint32_t n)
{
	size_t len = strnlen(s, n);
	for (uint32_t i = 0; i < n; i++)
		if (lv_put_i32(e, i < len ? (int32_t)(signed char)s[i] : 0) < 0)
			return -ENOSPC;
	return 0;
}

int lv_put_char_var(struct lv_enc *e, const char *s, uint32_t max)
{
	size_t len = strlen(s) + 1;
	if (len > max)
		len = max;
	if (lv_put_u32(e, (uint32_t)len) < 0)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++)
		if (lv_put_i32(e, i + 1 < len ? (int32_t)(signed char)s[i] : 0) < 0)
			return -ENOSPC;
	return 0;
}

int lv_get_header(struct lv_dec *d, struct lv_header *h)
{
	if (lv_get_u32(d, "prog", &h->prog) < 0 || lv_get_u32(d, "vers", &h->vers) < 0 ||
	    lv_get_i32(d, "proc", &h->proc) < 0 || lv_get_i32(d, "type", &h->type) < 0 ||
	    lv_get_u32(d, "serial", &h->serial) < 0 || lv_get_i32(d, "status", &h->status) < 0)
		return -EBADMSG;
	return 0;
}

int lv_put_header(struct lv_enc *e, const struct lv_header *h)
{
	lv_put_u32(e, h->prog);
	lv_put_u32(e, h->vers);
	lv_put_i32(e, h->proc);
	lv_put_i32(e, h->type);
	lv_put_u32(e, h->serial);
	return lv_put_i32(e, h->status);
}

struct raw {
	const void *data;
	size_t len;
};

static int put_raw(struct lv_enc *e, const void *arg)
{
	const struct raw *r = arg;
	if (lv_enc_pos(e) + r->len > e->cap)
		return enc_ok(e, 0);
	if (!r->len)
		return 0;
	memcpy(e->buf + lv_enc_pos(e), r->data, r->len);
	xdr_setpos(&e->xdr, (u_int)(lv_enc_pos(e) + r->len));
	return 0;
}

/* Encodes with a first guess of cap bytes, doubling while the body overflows. */
static int build(const struct lv_header *h, lv_body_fn body, const void *arg, size_t cap,
		 uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	for (;;) {
		uint8_t *buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		struct lv_enc e;
		lv_enc_init(&e, buf, cap);
		lv_put_u32(&e, 0);
		int r = lv_put_header(&e, h);
		if (r == 0 && body)
			r = body(&e, arg);
		if (r == 0 && !e.overflow) {
			size_t len = lv_enc_pos(&e);
			lv_enc_fini(&e);
			buf[0] = (uint8_t)(len >> 24);
			buf[1] = (uint8_t)(len >> 16);
			buf[2] = (uint8_t)(len >> 8);
			buf[3] = (uint8_t)len;
			*out = buf;
			*outlen = len;
			return 0;
		}
		lv_enc_fini(&e);
		free(buf);
		if (r != -ENOSPC && !e.overflow)
			return r;
		if (cap >= LV_PACKET_MAX)
			return -EMSGSIZE;
		cap = cap * 2 > LV_PACKET_MAX ? LV_PACKET_MAX : cap * 2;
	}
}

int lv_packet_build(const struct lv_header *h, lv_body_fn body, const void *arg, uint8_t **out,
		    size_t *outlen)
{
	return build(h, body, arg, 4096, out, outlen);
}

int lv_packet_raw(const struct lv_header *h, const void *data, size_t len, uint8_t **out,
		  size_t *outlen)
{
	struct raw r = { data, len };
	if (len > LV_MESSAGE_MAX - LV_HEADER_LEN)
		return -EMSGSIZE;
	return build(h, put_raw, &r, LV_PACKET_MIN + len, out, outlen);
}
