// SPDX-License-Identifier: MIT
/* A small AML encoder: ACPI 6.x section 20.2 (AML grammar) and 6.4 (resource descriptors). */
#include <errno.h>
#include <string.h>

#include "util.h"
#include "aml.h"

#define AML_ZERO_OP      0x00
#define AML_ONE_OP       0x01
#define AML_NAME_OP      0x08
#define AML_BYTE_PREFIX  0x0a
#define AML_WORD_PREFIX  0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP     0x10
#define AML_BUFFER_OP    0x11
#define AML_PACKAGE_OP   0x12
#define AML_METHOD_OP    0x14
#define AML_DUAL_NAME    0x2e
#define AML_MULTI_NAME   0x2f
#define AML_EXT_PREFIX   0x5b
#define AML_DEVICE_OP    0x82  /* after AML_EXT_PREFIX */
#define AML_RETURN_OP    0xa4

#define RES_IO           0x47
#define RES_END_TAG      0x79
#define RES_MEM32_FIXED  0x86
#define RES_DWORD_SPACE  0x87
#define RES_WORD_SPACE   0x88
#define RES_EXT_IRQ      0x89
#define RES_QWORD_SPACE  0x8a

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = buf ? cap : 0;
	a->len = 0;
	a->err = 0;
}

int aml_error(const struct aml *a)
{
	return a->err;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	if (n)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Inserts n bytes at pos, moving what follows. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (pos > a->len) {
		fail(a, -EINVAL);
		return;
	}
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

/* Encodes a PkgLength for `content` bytes following it (20.2.4). 0 if too long. */
static size_t pkglength(size_t content, uint8_t out[4])
{
	for (size_t n = 1; n <= 4; n++) {
		size_t total = content + n;
		size_t limit = n == 1 ? 0x3f : ((size_t)1 << (4 + 8 * (n - 1))) - 1;
		if (total > limit)
			continue;
		if (n == 1) {
			out[0] = (uint8_t)total;
		} else {
			out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
			for (size_t i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		}
		return n;
	}
	return 0;
}

/* Closes a block opened at mark: inserts the PkgLength (and `extra` bytes after it). */
static void close_pkg(struct aml *a, size_t mark, const uint8_t *extra, size_t nextra)
{
	if (a->err)
		return;
	if (mark > a->len) {
		fail(a, -EINVAL);
		return;
	}
	uint8_t hdr[4 + 9];
	size_t n = pkglength(a->len - mark + nextra, hdr);
	if (!n) {
		fail(a, -ENOSPC);
		return;
	}
	if (nextra)
		memcpy(hdr + n, extra, nextra);
	insert(a, mark, hdr, n + nextra);
}

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	if (a->err)
		return;
	if (!path) {
		fail(a, -EINVAL);
		return;
	}
	const char *p = path;
	if (*p == '\\') {
		aml_byte(a, '\\');
		p++;
	} else {
		while (*p == '^') {
			aml_byte(a, '^');
			p++;
		}
	}
	if (!*p) {
		aml_byte(a, 0);  /* NullName */
		return;
	}
	uint8_t segs[255][4];
	unsigned nseg = 0;
	for (;;) {
		if (nseg == 255) {
			fail(a, -EINVAL);
			return;
		}
		unsigned i = 0;
		while (*p && *p != '.') {
			if (i == 4 || !(i == 0 ? lead_char(*p) : name_char(*p))) {
				fail(a, -EINVAL);
				return;
			}
			segs[nseg][i++] = (uint8_t)*p++;
		}
		if (i == 0) {
			fail(a, -EINVAL);
			return;
		}
		while (i < 4)
			segs[nseg][i++] = '_';
		nseg++;
		if (!*p)
			break;
		p++;  /* '.' */
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	aml_bytes(a, segs, 4 * (size_t)nseg);
}

/* Shortest integer encoding of v into out; returns its length. */
static size_t int_enc(uint64_t v, uint8_t out[9])
{
	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	size_t n;
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	le_put(out + 1, v, (unsigned)n);
	return n + 1;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	aml_bytes(a, b, int_enc(v, b));
}

void aml_string(struct aml *a, const char *s)
{
	if (a->err)
		return;
	if (!s) {
		fail(a, -EINVAL);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int aml_eisaid_value(const char *id, uint32_t *out)
{
	if (!id || strlen(id) != 7)
		return -EINVAL;
	uint32_t be = 0;  /* the id as the big-endian bit string the spec describes */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		be = be << 5 | (uint32_t)(id[i] - 0x40);
	}
	for (int i = 3; i < 7; i++) {
		int h = hexval(id[i]);
		if (h < 0)
			return -EINVAL;
		be = be << 4 | (uint32_t)h;
	}
	/* 3 x 5 bits + 16 bits = 31 bits, stored big-endian: the integer is byte-swapped. */
	*out = __builtin_bswap32(be);
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;
	if (aml_eisaid_value(id, &v) < 0) {
		fail(a, -EINVAL);
		return;
	}
	uint8_t b[5] = { AML_DWORD_PREFIX };
	le_put(b + 1, v, 4);
	aml_bytes(a, b, 5);  /* always a DWord, as ASL compilers emit it */
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

void aml_notify(struct aml *a, const char *object, uint64_t value)
{
	aml_byte(a, 0x86); /* NotifyOp NotifyObject NotifyValue */
	aml_name_string(a, object);
	aml_integer(a, value);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

size_t aml_package_begin(struct aml *a, uint8_t nelems)
{
	aml_byte(a, AML_PACKAGE_OP);
	size_t mark = a->len;
	aml_byte(a, nelems);
	return mark;
}

void aml_package_end(struct aml *a, size_t mark)
{
	close_pkg(a, mark, NULL, 0);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	size_t mark = a->len;
	aml_name_string(a, name);
	return mark;
}

void aml_scope_end(struct aml *a, size_t mark)
{
	close_pkg(a, mark, NULL, 0);
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	size_t mark = a->len;
	aml_name_string(a, name);
	return mark;
}

void aml_device_end(struct aml *a, size_t mark)
{
	close_pkg(a, mark, NULL, 0);
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	if (nargs > 7)
		fail(a, -EINVAL);
	aml_byte(a, AML_METHOD_OP);
	size_t mark = a->len;
	aml_name_string(a, name);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return mark;
}

void aml_method_end(struct aml *a, size_t mark)
{
	close_pkg(a, mark, NULL, 0);
}

size_t aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return a->len;
}

void aml_buffer_end(struct aml *a, size_t mark)
{
	if (a->err)
		return;
	if (mark > a->len) {
		fail(a, -EINVAL);
		return;
	}
	uint8_t size[9];
	size_t n = int_enc(a->len - mark, size);
	close_pkg(a, mark, size, n);
}

size_t aml_restemplate_begin(struct aml *a)
{
	return aml_buffer_begin(a);
}

void aml_restemplate_end(struct aml *a, size_t mark)
{
	if (a->err)
		return;
	if (mark > a->len) {
		fail(a, -EINVAL);
		return;
	}
	uint8_t sum = RES_END_TAG;
	for (size_t i = mark; i < a->len; i++)
		sum = (uint8_t)(sum + a->buf[i]);
	uint8_t end[2] = { RES_END_TAG, (uint8_t)-sum };
	aml_bytes(a, end, 2);
	aml_buffer_end(a, mark);
}

void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = { RES_IO, decode16 ? 1 : 0 };
	le_put(d + 2, min, 2);
	le_put(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	aml_bytes(a, d, sizeof(d));
}

void aml_res_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { RES_MEM32_FIXED, 9, 0, rw ? 1 : 0 };
	le_put(d + 4, base, 4);
	le_put(d + 8, len, 4);
	aml_bytes(a, d, sizeof(d));
}

void aml_res_addr_space(struct aml *a, unsigned bits, const struct aml_addr_space *s)
{
	uint8_t tag;
	unsigned w;
	switch (bits) {
	case 16: tag = RES_WORD_SPACE; w = 2; break;
	case 32: tag = RES_DWORD_SPACE; w = 4; break;
	case 64: tag = RES_QWORD_SPACE; w = 8; break;
	default:
		fail(a, -EINVAL);
		return;
	}
	const uint64_t vals[5] = { s->granularity, s->min, s->max, s->translation, s->length };
	if (w < 8) {
		for (unsigned i = 0; i < 5; i++) {
			if (vals[i] >> (8 * w)) {
				fail(a, -EINVAL);
				return;
			}
		}
	}
	uint8_t d[6 + 5 * 8];
	size_t total = 6 + 5 * (size_t)w;
	d[0] = tag;
	le_put(d + 1, total - 3, 2);
	d[3] = s->type;
	d[4] = s->gflags;
	d[5] = s->tflags;
	for (unsigned i = 0; i < 5; i++)
		le_put(d + 6 + i * w, vals[i], w);
	aml_bytes(a, d, total);
}

static void fixed_range(struct aml *a, unsigned bits, uint8_t type, uint8_t tflags,
			uint64_t min, uint64_t max)
{
	if (max < min || (min == 0 && max == UINT64_MAX)) {
		fail(a, -EINVAL);
		return;
	}
	struct aml_addr_space s = {
		.type = type,
		.gflags = AML_GF_MIN_FIXED | AML_GF_MAX_FIXED,
		.tflags = tflags,
		.min = min,
		.max = max,
		.length = max - min + 1,
	};
	aml_res_addr_space(a, bits, &s);
}

void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
	fixed_range(a, 16, AML_ADDR_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	fixed_range(a, 16, AML_ADDR_IO, AML_IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_memory(struct aml *a, uint8_t cache, uint32_t min, uint32_t max)
{
	fixed_range(a, 32, AML_ADDR_MEMORY, (uint8_t)(AML_MEM_RW | (cache & 6)), min, max);
}

void aml_res_qword_memory(struct aml *a, uint8_t cache, uint64_t min, uint64_t max)
{
	fixed_range(a, 64, AML_ADDR_MEMORY, (uint8_t)(AML_MEM_RW | (cache & 6)), min, max);
}

void aml_res_interrupt(struct aml *a, bool level, bool active_low, bool shared,
		       const uint32_t *irqs, unsigned n)
{
	if (!irqs || n == 0 || n > 255) {
		fail(a, -EINVAL);
		return;
	}
	uint8_t d[5];
	d[0] = RES_EXT_IRQ;
	le_put(d + 1, 2 + 4 * n, 2);
	/* bit 0 consumer, bit 1 edge (clear: level), bit 2 active low, bit 3 shared */
	d[3] = (uint8_t)(1 | (level ? 0 : 2) | (active_low ? 4 : 0) | (shared ? 8 : 0));
	d[4] = (uint8_t)n;
	aml_bytes(a, d, sizeof(d));
	for (unsigned i = 0; i < n; i++) {
		uint8_t v[4];
		le_put(v, irqs[i], 4);
		aml_bytes(a, v, 4);
	}
}
