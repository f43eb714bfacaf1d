/* SPDX-License-Identifier: MIT */
/*
 * XDR reading and writing for the remote protocol, on libtirpc's primitives
 * (xdrmem_create, xdr_u_int, xdr_int, xdr_u_hyper, xdr_opaque). A decoder
 * never allocates more than the bytes it was given can justify, refuses
 * strings with NUL bytes and names the field it failed on.
 */
#ifndef NV_LV_XDR_H
#define NV_LV_XDR_H

#include <rpc/types.h>
#include <rpc/xdr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lv_proto.h"

struct lv_header {
	uint32_t prog;
	uint32_t vers;
	int32_t proc;
	int32_t type;
	uint32_t serial;
	int32_t status;
};

/* A decoder over one message body. err says what failed, naming the field. */
struct lv_dec {
	XDR xdr;
	size_t len;
	char err[192];
};

/* Starts decoding buf[0..len) (the buffer must outlive the decoder). */
void lv_dec_init(struct lv_dec *d, const uint8_t *buf, size_t len);
void lv_dec_fini(struct lv_dec *d);
size_t lv_dec_left(const struct lv_dec *d);
/* 0 when every byte was consumed, else -EBADMSG ("N trailing bytes"). */
int lv_dec_end(struct lv_dec *d);

/* Each returns 0 or -EBADMSG with d->err naming field; on failure nothing is
 * left allocated in *out. */
int lv_get_u32(struct lv_dec *d, const char *field, uint32_t *out);
int lv_get_i32(struct lv_dec *d, const char *field, int32_t *out);
int lv_get_u64(struct lv_dec *d, const char *field, uint64_t *out);
int lv_get_bool(struct lv_dec *d, const char *field, bool *out);
/* string<max>: a malloc'd, NUL-terminated copy. */
int lv_get_string(struct lv_dec *d, const char *field, uint32_t max, char **out);
/* remote_string (optional): *out NULL when absent. */
int lv_get_opt_string(struct lv_dec *d, const char *field, uint32_t max, char **out);
int lv_get_opaque(struct lv_dec *d, const char *field, void *out, uint32_t n);
/* An array count, refused above max or above what the remaining bytes can hold
 * at min_elem bytes per element. */
int lv_get_count(struct lv_dec *d, const char *field, uint32_t max, size_t min_elem,
		 uint32_t *out);

/* An encoder into a fixed buffer; overflow makes every later put fail. */
struct lv_enc {
	XDR xdr;
	uint8_t *buf;
	size_t cap;
	bool overflow;
};

void lv_enc_init(struct lv_enc *e, uint8_t *buf, size_t cap);
void lv_enc_fini(struct lv_enc *e);
size_t lv_enc_pos(const struct lv_enc *e);

/* Each returns 0 or -ENOSPC. */
int lv_put_u32(struct lv_enc *e, uint32_t v);
int lv_put_i32(struct lv_enc *e, int32_t v);
int lv_put_u64(struct lv_enc *e, uint64_t v);
int lv_put_string(struct lv_enc *e, const char *s);
int lv_put_opt_string(struct lv_enc *e, const char *s);
int lv_put_opaque(struct lv_enc *e, const void *p, uint32_t n);
/* rpcgen's "char x[n]": n characters of 4 bytes each, NUL padded. */
int lv_put_char_fixed(struct lv_enc *e, const char *s, uint32_t n);
/* rpcgen's "char x<max>": a count, then 4 bytes per character (s with its NUL). */
int lv_put_char_var(struct lv_enc *e, const char *s, uint32_t max);

int lv_get_header(struct lv_dec *d, struct lv_header *h);
int lv_put_header(struct lv_enc *e, const struct lv_header *h);

/*
 * Builds one whole packet: length word, header, then body(e, arg) if body is
 * not NULL. The buffer grows (64 KiB doubling) until the body fits, up to
 * LV_PACKET_MAX. *out is malloc'd. 0, -ENOMEM, or -EMSGSIZE when too large.
 */
typedef int (*lv_body_fn)(struct lv_enc *e, const void *arg);
int lv_packet_build(const struct lv_header *h, lv_body_fn body, const void *arg, uint8_t **out,
		    size_t *outlen);
/* Same with raw payload bytes (stream data). */
int lv_packet_raw(const struct lv_header *h, const void *data, size_t len, uint8_t **out,
		  size_t *outlen);

static inline uint32_t lv_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
