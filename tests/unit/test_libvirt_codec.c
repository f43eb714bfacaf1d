// SPDX-License-Identifier: MIT
/*
 * The remote protocol's codecs against byte sequences written from the
 * layouts of remote_protocol.x (docs/virtvmmd.md): every procedure's
 * arguments decode to the right fields, every truncation and every trailing
 * byte is refused with the procedure and argument named, and results encode
 * to the captured bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lv_codec.h"
#include "lv_error.h"
#include "lv_server.h"

#define U32(v) (uint8_t)((uint32_t)(v) >> 24), (uint8_t)((uint32_t)(v) >> 16), \
	       (uint8_t)((uint32_t)(v) >> 8), (uint8_t)(v)
#define U64(v) U32((uint64_t)(v) >> 32), U32((uint64_t)(v) & 0xffffffffu)
#define UUID 0x6f, 0x1f, 0x7a, 0x2e, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, \
	     0xaa, 0xbb, 0xcc
/* remote_nonnull_domain { "vm1", UUID, id 7 } */
#define DOM U32(3), 'v', 'm', '1', 0, UUID, U32(7)

static const uint8_t uuid_ref[16] = { UUID };

struct vec {
	int32_t proc;
	const uint8_t *b;
	size_t len;
	/* expectations */
	bool dom;
	const char *str; /* NULL: no string expected */
	bool str_null;   /* an optional string that is absent */
	int32_t num;
	uint32_t flags;
	uint64_t u64;
	bool uuid;
};

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })
#define NOARGS NULL, 0, .dom = false

static const struct vec vecs[] = {
	{ 1, BYTES(U32(1), U32(13), 'v', 'm', 'm', ':', '/', '/', '/', 's', 'y', 's', 't', 'e', 'm',
		   0, 0, 0, U32(1)), .str = "vmm:///system", .flags = 1 },
	{ 2, NOARGS },
	{ 3, NOARGS },
	{ 4, NOARGS },
	{ 6, NOARGS },
	{ 7, NOARGS },
	{ 9, BYTES(DOM), .dom = true },
	{ 11, BYTES(U32(6), '<', 'd', 'o', 'm', '/', '>', 0, 0), .str = "<dom/>" },
	{ 12, BYTES(DOM), .dom = true },
	{ 14, BYTES(DOM, U32(3)), .dom = true, .flags = 3 },
	{ 15, BYTES(DOM), .dom = true },
	{ 16, BYTES(DOM), .dom = true },
	{ 19, BYTES(DOM), .dom = true },
	{ 21, BYTES(U32(16384)), .num = 16384 },
	{ 22, BYTES(U32(7)), .num = 7 },
	{ 23, BYTES(U32(3), 'v', 'm', '1', 0), .str = "vm1" },
	{ 24, BYTES(UUID), .uuid = true },
	{ 25, NOARGS },
	{ 27, BYTES(DOM, U32(0)), .dom = true },
	{ 28, BYTES(DOM), .dom = true },
	{ 29, BYTES(DOM, U32(1)), .dom = true, .num = 1 },
	{ 31, BYTES(DOM, U64(524288)), .dom = true, .u64 = 524288 },
	{ 33, BYTES(DOM), .dom = true },
	{ 34, BYTES(DOM), .dom = true },
	{ 35, BYTES(DOM), .dom = true },
	{ 37, BYTES(U32(100)), .num = 100 },
	{ 51, NOARGS },
	{ 59, NOARGS },
	{ 60, BYTES(U32(10)), .num = 10 },
	{ 66, NOARGS },
	{ 105, NOARGS },
	{ 106, NOARGS },
	{ 110, NOARGS },
	{ 122, NOARGS },
	{ 149, NOARGS },
	{ 150, BYTES(DOM), .dom = true },
	{ 151, BYTES(DOM), .dom = true },
	{ 157, NOARGS },
	{ 167, BYTES(U32(0)), .num = 0 },
	{ 168, BYTES(U32(0)), .num = 0 },
	{ 183, BYTES(DOM, U32(0)), .dom = true },
	{ 196, BYTES(DOM, U32(1)), .dom = true, .flags = 1 },
	{ 201, BYTES(DOM, U32(1), U32(7), 's', 'e', 'r', 'i', 'a', 'l', '0', 0, U32(2)),
	  .dom = true, .str = "serial0", .flags = 2 },
	{ 204, BYTES(DOM, U64(1048576), U32(2)), .dom = true, .u64 = 1048576, .flags = 2 },
	{ 212, BYTES(DOM, U32(0)), .dom = true },
	{ 231, BYTES(DOM, U32(4)), .dom = true, .flags = 4 },
	{ 234, BYTES(DOM, U32(1)), .dom = true, .flags = 1 },
	{ 258, BYTES(DOM, U32(2)), .dom = true, .flags = 2 },
	{ 273, BYTES(U32(1), U32(3)), .num = 1, .flags = 3 },
	{ 316, BYTES(U32(0), U32(1), DOM), .num = 0, .dom = true },
	{ 317, BYTES(U32(5)), .num = 5 },
	{ 350, BYTES(U32(6), '<', 'd', 'o', 'm', '/', '>', 0, 0, U32(1)), .str = "<dom/>",
	  .flags = 1 },
	{ 360, NOARGS },
	{ 361, NOARGS },
	{ 426, BYTES(DOM, U32(0)), .dom = true },
};

static const struct vec *find_vec(int32_t proc)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++)
		if (vecs[i].proc == proc)
			return &vecs[i];
	return NULL;
}

static void check_fields(const struct vec *v, const struct lv_args *a)
{
	if (v->dom) {
		assert_non_null(a->dom.name);
		assert_string_equal(a->dom.name, "vm1");
		assert_memory_equal(a->dom.uuid, uuid_ref, 16);
		assert_int_equal(a->dom.id, 7);
	}
	if (v->str)
		assert_string_equal(a->str, v->str);
	if (v->uuid)
		assert_memory_equal(a->uuid, uuid_ref, 16);
	assert_int_equal(a->num, v->num);
	assert_int_equal(a->flags, v->flags);
	assert_int_equal(a->u64, v->u64);
}

/* Every codec has a vector; every vector decodes; every prefix and every
 * extension by trailing bytes is refused, naming the procedure. */
static void test_every_procedure(void **state)
{
	size_t n;
	const struct lv_codec *all = lv_codec_all(&n);
	(void)state;
	assert_true(n >= 50);
	for (size_t i = 0; i < n; i++) {
		const struct lv_codec *c = &all[i];
		const struct vec *v = find_vec(c->proc);
		char err[256];
		struct lv_args a;
		if (!v)
			fail_msg("no test vector for %s (%d)", c->name, c->proc);
		assert_true(lv_dispatch_implemented(c->proc));
		assert_int_equal(lv_args_decode(c, v->b ? v->b : (const uint8_t *)"", v->len, &a, err,
						sizeof(err)),
				 0);
		check_fields(v, &a);
		lv_args_clear(&a);
		for (size_t k = 0; k < v->len; k++) {
			uint8_t *cut = malloc(k ? k : 1);
			memcpy(cut, v->b, k);
			err[0] = '\0';
			if (lv_args_decode(c, cut, k, &a, err, sizeof(err)) == 0)
				fail_msg("%s: %zu of %zu bytes accepted", c->name, k, v->len);
			assert_non_null(strstr(err, c->name));
			assert_non_null(strstr(err, "argument '"));
			free(cut);
		}
		uint8_t *longer = calloc(1, v->len + 4);
		if (v->len)
			memcpy(longer, v->b, v->len);
		assert_int_equal(lv_args_decode(c, longer, v->len + 4, &a, err, sizeof(err)),
				 -EBADMSG);
		assert_non_null(strstr(err, "4 trailing bytes"));
		free(longer);
	}
}

static void expect_refused(int32_t proc, const uint8_t *b, size_t len, const char *what)
{
	char err[256];
	struct lv_args a;
	assert_int_equal(lv_args_decode(lv_codec_find(proc), b, len, &a, err, sizeof(err)),
			 -EBADMSG);
	if (!strstr(err, what))
		fail_msg("error '%s' lacks '%s'", err, what);
}

static void test_hostile_args(void **state)
{
	(void)state;
	/* A string longer than REMOTE_STRING_MAX is refused before any allocation. */
	expect_refused(23, BYTES(U32(0x7fffffff)), "exceeds the limit of 4194304");
	/* A length that the remaining bytes cannot hold. */
	expect_refused(23, BYTES(U32(4000), 'a', 'b', 'c', 'd'), "truncated (4000 bytes announced");
	/* An embedded NUL. */
	expect_refused(23, BYTES(U32(3), 'a', 0, 'b', 0), "contains a NUL byte");
	/* An optional marker that is neither 0 nor 1. */
	expect_refused(1, BYTES(U32(2), U32(0)), "argument 'name' is 2, not a boolean");
	expect_refused(316, BYTES(U32(0), U32(7)), "argument 'dom' is 7");
	/* Field names reach the message: the uuid of a domain. */
	expect_refused(9, BYTES(U32(3), 'v', 'm', '1', 0, 1, 2, 3), "'dom.uuid' truncated");
	/* The absent optional string of CONNECT_OPEN. */
	char err[64];
	struct lv_args a;
	assert_int_equal(lv_args_decode(lv_codec_find(1), BYTES(U32(0), U32(1)), &a, err,
					sizeof(err)),
			 0);
	assert_null(a.str);
	assert_int_equal(a.flags, 1);
	lv_args_clear(&a);
}

static size_t encode(int32_t proc, const struct lv_ret *r, uint8_t *buf, size_t cap)
{
	struct lv_enc e;
	lv_enc_init(&e, buf, cap);
	assert_int_equal(lv_ret_encode(lv_codec_find(proc), &e, r), 0);
	size_t n = lv_enc_pos(&e);
	lv_enc_fini(&e);
	return n;
}

static void test_results(void **state)
{
	uint8_t buf[4096];
	struct lv_ret r = { 0 };
	int32_t none = 0;
	(void)state;

	/* AUTH_LIST's captured reply payload: one type, AUTH_NONE. */
	r.ints = &none;
	r.nints = 1;
	static const uint8_t auth[] = { U32(1), U32(0) };
	assert_int_equal(encode(66, &r, buf, sizeof(buf)), sizeof(auth));
	assert_memory_equal(buf, auth, sizeof(auth));

	/* NODE_GET_INFO: char model[32] is 32 words, then u64 and six ints. */
	memset(&r, 0, sizeof(r));
	strcpy(r.node.model, "x86_64");
	r.node.memory_kib = 0x100000000ull;
	r.node.cpus = 2;
	r.node.threads = 1;
	size_t n = encode(6, &r, buf, sizeof(buf));
	assert_int_equal(n, 32 * 4 + 8 + 6 * 4);
	static const uint8_t head[] = { U32('x'), U32('8'), U32('6'), U32('_'), U32('6'), U32('4'),
					U32(0) };
	assert_memory_equal(buf, head, sizeof(head));
	static const uint8_t mem[] = { U64(0x100000000ull), U32(2) };
	assert_memory_equal(buf + 128, mem, sizeof(mem));

	/* DOMAIN_GET_INFO: 32 bytes (state and nrVirtCpu widened to 4). */
	memset(&r, 0, sizeof(r));
	r.info = (struct lv_dom_info){ 1, 2048, 1024, 2, 5 };
	static const uint8_t info[] = { U32(1), U64(2048), U64(1024), U32(2), U64(5) };
	assert_int_equal(encode(16, &r, buf, sizeof(buf)), sizeof(info));
	assert_memory_equal(buf, info, sizeof(info));

	/* NODE_GET_SECURITY_MODEL: char<257> as a count and 4 bytes per char. */
	memset(&r, 0, sizeof(r));
	r.str = (char *)"";
	r.str2 = (char *)"0";
	static const uint8_t sec[] = { U32(1), U32(0), U32(2), U32('0'), U32(0) };
	assert_int_equal(encode(122, &r, buf, sizeof(buf)), sizeof(sec));
	assert_memory_equal(buf, sec, sizeof(sec));

	/* LIST_ALL_DOMAINS with one domain and the count. */
	memset(&r, 0, sizeof(r));
	struct lv_dom d = { (char *)"vm1", { UUID }, 7 };
	r.doms.v = &d;
	r.doms.n = 1;
	r.count = 1;
	static const uint8_t list[] = { U32(1), DOM, U32(1) };
	assert_int_equal(encode(273, &r, buf, sizeof(buf)), sizeof(list));
	assert_memory_equal(buf, list, sizeof(list));

	/* GET_STATE: state then reason; GET_VERSION: a hyper. */
	memset(&r, 0, sizeof(r));
	r.num = 5;
	r.num2 = 2;
	static const uint8_t st[] = { U32(5), U32(2) };
	assert_int_equal(encode(212, &r, buf, sizeof(buf)), sizeof(st));
	assert_memory_equal(buf, st, sizeof(st));
	r.u64 = LV_VERSION(9, 0, 0);
	static const uint8_t ver[] = { U64(9000000) };
	assert_int_equal(encode(157, &r, buf, sizeof(buf)), sizeof(ver));
	assert_memory_equal(buf, ver, sizeof(ver));

	/* A string result is padded to 4 bytes. */
	r.str = (char *)"VMM";
	static const uint8_t type[] = { U32(3), 'V', 'M', 'M', 0 };
	assert_int_equal(encode(3, &r, buf, sizeof(buf)), sizeof(type));
	assert_memory_equal(buf, type, sizeof(type));
}

static void test_lifecycle_msg(void **state)
{
	uint8_t buf[256];
	struct lv_enc e;
	struct lv_dom d = { (char *)"vm1", { UUID }, 7 };
	struct lv_lifecycle_msg m = { 3, &d, LV_EVENT_STARTED, 0 };
	(void)state;
	lv_enc_init(&e, buf, sizeof(buf));
	assert_int_equal(lv_enc_lifecycle_cb_msg(&e, &m), 0);
	static const uint8_t want[] = { U32(3), DOM, U32(2), U32(0) };
	assert_int_equal(lv_enc_pos(&e), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	lv_enc_fini(&e);
	lv_enc_init(&e, buf, sizeof(buf));
	assert_int_equal(lv_enc_lifecycle_msg(&e, &m), 0);
	assert_memory_equal(buf, want + 4, sizeof(want) - 4);
	lv_enc_fini(&e);
}

static void test_error_and_packet(void **state)
{
	struct lv_err e = { 0 };
	struct lv_header h = { LV_PROG_REMOTE, 1, 12345, LV_REPLY, 9, LV_ERROR };
	uint8_t *pkt;
	size_t len;
	(void)state;
	lv_err_set(&e, LV_ERR_RPC, LV_FROM_RPC, "unknown procedure: %d", 12345);
	assert_int_equal(lv_packet_build(&h, lv_enc_error, &e, &pkt, &len), 0);
	/* length word, header, then code 39, domain 7, message present. */
	static const uint8_t want[] = { U32(28 + 4 + 4 + 4 + 4 + 24 + 4 + 4 + 12 + 8 + 4),
					U32(LV_PROG_REMOTE), U32(1), U32(12345), U32(1), U32(9),
					U32(1), U32(39), U32(7), U32(1), U32(24) };
	assert_int_equal(len, lv_be32(want));
	assert_memory_equal(pkt, want, sizeof(want));
	assert_memory_equal(pkt + sizeof(want), "unknown procedure: 12345", 24);
	struct lv_dec d;
	struct lv_err back;
	lv_dec_init(&d, pkt + 28, len - 28);
	assert_int_equal(lv_dec_error(&d, &back), 0);
	assert_int_equal(lv_dec_end(&d), 0);
	lv_dec_fini(&d);
	assert_int_equal(back.code, 39);
	assert_int_equal(back.domain, 7);
	assert_string_equal(back.msg, "unknown procedure: 12345");
	lv_err_clear(&back);
	lv_err_clear(&e);
	free(pkt);
}

static void test_uuid(void **state)
{
	uint8_t u[16];
	char s[37];
	(void)state;
	assert_int_equal(lv_uuid_parse("6f1f7a2e-1122-3344-5566-778899aabbcc", u), 0);
	assert_memory_equal(u, uuid_ref, 16);
	lv_uuid_format(u, s);
	assert_string_equal(s, "6f1f7a2e-1122-3344-5566-778899aabbcc");
	assert_int_equal(lv_uuid_parse("6f1f7a2e", u), -EINVAL);
	assert_int_equal(lv_uuid_parse("zz1f7a2e-1122-3344-5566-778899aabbcc", u), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_procedure), cmocka_unit_test(test_hostile_args),
		cmocka_unit_test(test_results),         cmocka_unit_test(test_lifecycle_msg),
		cmocka_unit_test(test_error_and_packet), cmocka_unit_test(test_uuid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
