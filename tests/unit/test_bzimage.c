// SPDX-License-Identifier: MIT
/* bzimage_parse / bzimage_setup_zeropage on synthetic headers and, when cached, Debian's kernel. */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "bzimage.h"

#define FILE_SIZE 8192u

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v);
	wr16(p + 2, v >> 16);
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* A plausible protocol 2.15 header in buf (FILE_SIZE bytes). */
static void make_hdr(uint8_t *buf)
{
	memset(buf, 0, FILE_SIZE);
	buf[0x1f1] = 4;                     /* setup_sects */
	wr16(buf + 0x1fe, 0xaa55);
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a;                  /* header ends at 0x26c */
	memcpy(buf + 0x202, "HdrS", 4);
	wr16(buf + 0x206, 0x020f);
	buf[0x211] = LOADED_HIGH | QUIET_FLAG | KEEP_SEGMENTS;
	wr32(buf + 0x214, 0x100000);
	wr32(buf + 0x22c, 0x7fffffff);      /* initrd_addr_max */
	wr32(buf + 0x230, 0x200000);        /* kernel_alignment */
	buf[0x234] = 1;                     /* relocatable */
	buf[0x235] = 21;                    /* min_alignment */
	wr16(buf + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	wr32(buf + 0x238, 2047);            /* cmdline_size */
	wr64(buf + 0x258, 0x1000000);       /* pref_address */
	wr32(buf + 0x260, 0x3f98000);       /* init_size */
	wr32(buf + 0x264, 0x190);           /* handover_offset */
	wr32(buf + 0x268, 0x1234);          /* kernel_info_offset */
	/* Not header: must not reach the zero page. */
	memset(buf + 0x26c, 0x5a, 0x40);
	for (unsigned i = 0x400; i < FILE_SIZE; i++)
		buf[i] = (uint8_t)i;
}

static void test_parse_valid(void **state)
{
	(void)state;
	uint8_t buf[FILE_SIZE];
	make_hdr(buf);
	struct bzimage_info bi;
	const char *why = "unset";
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, &why), 0);
	assert_null(why);
	assert_int_equal(bi.version, 0x020f);
	assert_int_equal(bi.setup_size, 5 * 512);
	assert_int_equal(bi.kernel_offset, 5 * 512);
	assert_int_equal(bi.kernel_size, FILE_SIZE - 5 * 512);
	assert_int_equal(bi.hdr_end, 0x26c);
	assert_int_equal(bi.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bi.cmdline_size, 2047);
	assert_int_equal(bi.kernel_alignment, 0x200000);
	assert_true(bi.relocatable);
	assert_int_equal(bi.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	assert_int_equal(bi.init_size, 0x3f98000);
	assert_int_equal(bi.pref_address, 0x1000000);

	/* why may be NULL. */
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, NULL), 0);
	/* The file may be longer than the header buffer. */
	assert_int_equal(bzimage_parse(buf, 0x400, 100 * 1024 * 1024, &bi, &why), 0);
	assert_int_equal(bi.kernel_size, 100 * 1024 * 1024 - 5 * 512);
}

static void test_parse_setup_sects(void **state)
{
	(void)state;
	uint8_t buf[FILE_SIZE];
	struct bzimage_info bi;
	const char *why;

	make_hdr(buf);
	buf[0x1f1] = 0;                     /* 0 means 4 */
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, &why), 0);
	assert_int_equal(bi.setup_size, 2560);

	buf[0x1f1] = 13;
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, &why), 0);
	assert_int_equal(bi.setup_size, 14 * 512);
	assert_int_equal(bi.kernel_offset, 14 * 512);
	assert_int_equal(bi.kernel_size, FILE_SIZE - 14 * 512);

	/* Setup reaching exactly the end of the file leaves no kernel. */
	buf[0x1f1] = 15;
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, &why), -EINVAL);
	assert_non_null(why);
	buf[0x1f1] = 255;
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, &why), -EINVAL);
	assert_non_null(strstr(why, "setup"));
	/* ... but fine in a big enough file. */
	assert_int_equal(bzimage_parse(buf, sizeof(buf), 256 * 512 + 1, &bi, &why), 0);
	assert_int_equal(bi.kernel_size, 1);
}

struct refusal {
	const char *what;
	size_t len;           /* hdr_len; 0 = FILE_SIZE */
	uint64_t file_size;   /* 0 = FILE_SIZE */
	unsigned off, width;  /* field to overwrite */
	uint32_t val;
	int err;
	const char *why_has;
};

static void test_parse_refusals(void **state)
{
	(void)state;
	static const struct refusal cases[] = {
		{ "empty", 1, 1, 0, 0, 0, -ENOEXEC, "too short" },
		{ "short", 0x205, 0x205, 0, 0, 0, -ENOEXEC, "too short" },
		{ "boot flag", 0, 0, 0x1fe, 2, 0x55aa, -ENOEXEC, "boot flag" },
		{ "magic", 0, 0, 0x202, 4, 0x53726449, -ENOEXEC, "HdrS" },
		{ "protocol 2.11", 0, 0, 0x206, 2, 0x020b, -EINVAL, "2.12" },
		{ "protocol 2.00", 0, 0, 0x206, 2, 0x0200, -EINVAL, "2.12" },
		{ "no 64-bit", 0, 0, 0x236, 2, XLF_CAN_BE_LOADED_ABOVE_4G, -EINVAL, "64-bit" },
		{ "header too short", 0, 0, 0x201, 1, 0x61, -EINVAL, "too short" },
		{ "header too long", 0, 0, 0x201, 1, 0x8f, -EINVAL, "0x290" },
		{ "truncated header", 0x260, 0x260, 0, 0, 0, -EINVAL, "inside the setup header" },
		{ "truncated buffer", 0x26b, FILE_SIZE, 0, 0, 0, -EINVAL, "inside the setup header" },
		{ "buffer > file", 0, 4096, 0, 0, 0, -EINVAL, "longer" },
		{ "setup == file", 0x26c, 5 * 512, 0, 0, 0, -EINVAL, "setup" },
		{ "alignment 3 MiB", 0, 0, 0x230, 4, 0x300000, -EINVAL, "power of two" },
		{ "alignment 0", 0, 0, 0x230, 4, 0, -EINVAL, "power of two" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];
		uint8_t buf[FILE_SIZE];
		make_hdr(buf);
		if (c->width == 1)
			buf[c->off] = (uint8_t)c->val;
		else if (c->width == 2)
			wr16(buf + c->off, c->val);
		else if (c->width == 4)
			wr32(buf + c->off, c->val);
		struct bzimage_info bi;
		memset(&bi, 0x77, sizeof(bi));
		const char *why = NULL;
		int rc = bzimage_parse(buf, c->len ? c->len : FILE_SIZE,
				       c->file_size ? c->file_size : FILE_SIZE, &bi, &why);
		if (rc != c->err || !why || !strstr(why, c->why_has)) {
			print_error("case '%s': rc %d (want %d), why '%s' (want '%s')\n", c->what, rc,
				    c->err, why ? why : "(null)", c->why_has);
			fail();
		}
		/* Refusals don't touch *bi. */
		assert_int_equal(bi.setup_size, 0x77777777);
	}
	/* A non-relocatable kernel may have any alignment. */
	uint8_t buf[FILE_SIZE];
	make_hdr(buf);
	buf[0x234] = 0;
	wr32(buf + 0x230, 0);
	struct bzimage_info bi;
	assert_int_equal(bzimage_parse(buf, FILE_SIZE, FILE_SIZE, &bi, NULL), 0);
	assert_false(bi.relocatable);
	/* Smallest and largest header ends accepted. */
	make_hdr(buf);
	buf[0x201] = 0x62;
	assert_int_equal(bzimage_parse(buf, FILE_SIZE, FILE_SIZE, &bi, NULL), 0);
	assert_int_equal(bi.hdr_end, 0x264);
	buf[0x201] = 0x8e;
	assert_int_equal(bzimage_parse(buf, FILE_SIZE, FILE_SIZE, &bi, NULL), 0);
	assert_int_equal(bi.hdr_end, 0x290);
}

static void test_zeropage(void **state)
{
	(void)state;
	uint8_t buf[FILE_SIZE];
	make_hdr(buf);
	struct bzimage_info bi;
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, NULL), 0);

	static const struct e820_entry e820[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED },
		{ 0x100000, 0xbff00000, E820_RAM },
		{ 0xc0000000, 0x40000000, E820_RESERVED },
		{ 0x100000000ull, 0x123456789ull, E820_RAM },
	};
	uint8_t zp[4096];
	memset(zp, 0xaa, sizeof(zp));
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 30, 0x7f000000, 0x800000,
						e820, 5, 0xe0000), 0);

	/* Everything outside the fields we set is zero; the header is copied verbatim. */
	for (unsigned i = 0; i < 0x1f1; i++)
		if ((i < 0x70 || i >= 0x78) && i != 0x1e8)
			assert_int_equal(zp[i], 0);
	assert_int_equal(zp[0x1ef], 0);  /* sentinel */
	for (unsigned i = 0x1f1; i < 0x26c; i++) {
		if (i == 0x210 || i == 0x211 || (i >= 0x218 && i < 0x220) ||
		    (i >= 0x224 && i < 0x226) || (i >= 0x228 && i < 0x22c))
			continue;
		if (zp[i] != buf[i]) {
			print_error("header byte 0x%x: %#x != %#x\n", i, zp[i], buf[i]);
			fail();
		}
	}
	for (unsigned i = 0x26c; i < 0x2d0; i++)
		assert_int_equal(zp[i], 0);
	assert_int_equal(rd32(zp + 0x202), 0x53726448);
	assert_int_equal(zp[0x1f1], 4);

	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(zp[0x211], LOADED_HIGH | CAN_USE_HEAP);
	assert_int_equal(rd16(zp + 0x224), 0xfc00);
	assert_int_equal(rd32(zp + 0x228), 0x20000);
	assert_int_equal(rd32(zp + 0xc8), 0);
	assert_int_equal(rd32(zp + 0x218), 0x7f000000);
	assert_int_equal(rd32(zp + 0x21c), 0x800000);
	assert_int_equal(rd32(zp + 0xc0), 0);
	assert_int_equal(rd32(zp + 0xc4), 0);
	assert_int_equal(rd64(zp + 0x70), 0xe0000);

	assert_int_equal(zp[0x1e8], 5);
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		assert_int_equal(rd64(e), e820[i].addr);
		assert_int_equal(rd64(e + 8), e820[i].size);
		assert_int_equal(rd32(e + 16), e820[i].type);
	}
	assert_int_equal(zp[0x2d0 + 100], 0);
	for (unsigned i = 0x2d0 + 100; i < 4096; i++)
		assert_int_equal(zp[i], 0);
}

static void test_zeropage_fields(void **state)
{
	(void)state;
	uint8_t buf[FILE_SIZE];
	make_hdr(buf);
	struct bzimage_info bi;
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, NULL), 0);
	uint8_t zp[4096];
	static struct e820_entry many[129];
	for (unsigned i = 0; i < 129; i++)
		many[i] = (struct e820_entry){ i * 0x1000ull, 0x1000, E820_RAM };

	/* Pointers above 4 GiB go to the ext_ fields; no initrd means zeros. */
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x123456789ull, 0, 0, 0, NULL, 0, 0), 0);
	assert_int_equal(rd32(zp + 0x228), 0x23456789);
	assert_int_equal(rd32(zp + 0xc8), 1);
	assert_int_equal(rd32(zp + 0x218), 0);
	assert_int_equal(rd32(zp + 0x21c), 0);
	assert_int_equal(zp[0x1e8], 0);
	assert_int_equal(rd64(zp + 0x70), 0);

	/* Initrd must end at or below initrd_addr_max. */
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, 0x7ff00000, 0x100000,
						NULL, 0, 0), 0);
	assert_int_equal(rd32(zp + 0x218), 0x7ff00000);
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, 0x7ff00000, 0x100001,
						NULL, 0, 0), -EINVAL);
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, UINT64_MAX - 4, 0x10,
						NULL, 0, 0), -EINVAL);

	/* Command line length limit, without the NUL. */
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 2047, 0, 0, NULL, 0, 0), 0);
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 2048, 0, 0, NULL, 0, 0),
			 -EINVAL);

	/* 128 e820 entries fit, 129 don't. */
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, 0, 0, many, 128, 0), 0);
	assert_int_equal(zp[0x1e8], 128);
	assert_int_equal(rd64(zp + 0x2d0 + 127 * 20), 127 * 0x1000);
	assert_int_equal(rd32(zp + 0x2d0 + 127 * 20 + 16), E820_RAM);
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, 0, 0, many, 129, 0),
			 -EINVAL);

	/* acpi_rsdp_addr only from protocol 2.14. */
	wr16(buf + 0x206, 0x020d);
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, NULL), 0);
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, 0, 0, NULL, 0, 0xe0000), 0);
	assert_int_equal(rd64(zp + 0x70), 0);
	wr16(buf + 0x206, 0x020e);
	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &bi, NULL), 0);
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bi, 0x20000, 0, 0, 0, NULL, 0, 0xe0000), 0);
	assert_int_equal(rd64(zp + 0x70), 0xe0000);

	/* A forged info with hdr_end outside the zero page's header room is refused. */
	struct bzimage_info bad = bi;
	bad.hdr_end = 0x1000;
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bad, 0, 0, 0, 0, NULL, 0, 0), -EINVAL);
	bad.hdr_end = 0x100;
	assert_int_equal(bzimage_setup_zeropage(zp, buf, &bad, 0, 0, 0, 0, NULL, 0, 0), -EINVAL);
}

/* Debian's kernel, when a previous run cached it. */
static void test_debian_kernel(void **state)
{
	(void)state;
	const char *home = getenv("HOME");
	char pat[4096];
	snprintf(pat, sizeof(pat), "%s/.cache/nestvmm/kernel/*/boot/vmlinuz-*", home ? home : "");
	glob_t g;
	if (!home || glob(pat, 0, NULL, &g) != 0) {
		print_message("no cached kernel under %s: skipped\n", pat);
		skip();
	}
	const char *path = g.gl_pathv[0];
	print_message("kernel: %s\n", path);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct stat st;
	assert_int_equal(fstat(fileno(f), &st), 0);
	size_t want = st.st_size < 65536 ? (size_t)st.st_size : 65536;
	uint8_t *hdr = malloc(want);
	assert_non_null(hdr);
	assert_int_equal(fread(hdr, 1, want, f), want);
	fclose(f);

	struct bzimage_info bi;
	const char *why = NULL;
	int rc = bzimage_parse(hdr, want, (uint64_t)st.st_size, &bi, &why);
	if (rc)
		print_error("%s: %s\n", path, why);
	assert_int_equal(rc, 0);
	assert_true(bi.version >= 0x020c);
	assert_true(bi.xloadflags & XLF_KERNEL_64);
	assert_true(bi.relocatable);
	assert_true(bi.init_size > 8 * 1024 * 1024);
	assert_true(bi.kernel_size > 1024 * 1024);
	assert_true(bi.cmdline_size >= 255);
	assert_int_equal(bi.kernel_offset + bi.kernel_size, (uint64_t)st.st_size);

	uint8_t zp[4096];
	struct e820_entry ram = { 0x100000, 0x3ff00000, E820_RAM };
	assert_int_equal(bzimage_setup_zeropage(zp, hdr, &bi, 0x20000, 10, 0, 0, &ram, 1, 0xe0000), 0);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x210], 0xff);
	free(hdr);
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_setup_sects),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_zeropage),
		cmocka_unit_test(test_zeropage_fields),
		cmocka_unit_test(test_debian_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
