// SPDX-License-Identifier: MIT
/*
 * The qcow2 backend against the real qemu-img (Debian's qemu-utils): images
 * made by qemu-img create / qemu-io are read and written through struct
 * block while every write also goes to a raw model file; afterwards
 * `qemu-img check` must pass and `qemu-img compare` must find the model and
 * the image identical. Overlays on raw and qcow2 bases, a chain of three,
 * cluster sizes 512 B to 2 MiB, refcount widths 1 to 64 bits (with refcount
 * table growth), an L2 cache far smaller than the image, writes across
 * cluster boundaries, discard and write-zeroes, every refusal, crash
 * consistency of FLUSH (a writer SIGKILLed after its flush; and power loss:
 * every write and fdatasync of the image is recorded, and every state the
 * disk could be in after a crash at any point is rebuilt and checked), and
 * block_qcow2_create.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "cli.h"
#include "domain_xml.h"
#include "qcow2.h"
#include "vm_config.h"
#include "vmm_seccomp.h"

static char dir[64];

/* ---- helpers ---- */

__attribute__((format(printf, 1, 2)))
static char *pathf(const char *fmt, ...)
{
	static char bufs[8][512];
	static int k;
	char name[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	char *b = bufs[k++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* Runs a shell command in dir; its exit status. */
__attribute__((format(printf, 1, 2)))
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int k = snprintf(cmd, sizeof(cmd), "cd %s && ( ", dir);
	va_start(ap, fmt);
	k += vsnprintf(cmd + k, sizeof(cmd) - (size_t)k, fmt, ap);
	va_end(ap);
	snprintf(cmd + k, sizeof(cmd) - (size_t)k, " ) >%s/sh.log 2>&1", dir);
	int r = system(cmd);
	r = r < 0 || !WIFEXITED(r) ? -1 : WEXITSTATUS(r);
	if (r) { /* shown: a failure is then readable in the test log */
		printf("# exit %d: %s\n", r, cmd);
		snprintf(cmd, sizeof(cmd), "tail -5 %s/sh.log | sed 's/^/#   /'", dir);
		if (system(cmd) < 0)
			r = -1;
	}
	return r;
}

/* A command's standard output (first 16 KiB). */
__attribute__((format(printf, 1, 2)))
static char *out_of(const char *fmt, ...)
{
	static char out[16384];
	char cmd[4096];
	va_list ap;
	int k = snprintf(cmd, sizeof(cmd), "cd %s && ", dir);
	va_start(ap, fmt);
	vsnprintf(cmd + k, sizeof(cmd) - (size_t)k, fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	pclose(p);
	return out;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(uint8_t *p, size_t n)
{
	uint64_t v = rnd();
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = rnd();
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

static struct block *open_img(const char *path, bool ro, size_t cache, int want)
{
	struct block_conf c = { .path = path, .format = BLOCK_FORMAT_QCOW2, .readonly = ro };
	struct block_qcow2_opts o = { .l2_cache_bytes = cache };
	struct block *b = NULL;
	char err[1024] = "";
	int r = block_qcow2_open(&c, &o, &b, err, sizeof(err));
	if (r != want)
		fail_msg("open %s: %d (%s), expected %d", path, r, err, want);
	return b;
}

/* A raw model of what the guest sees, written alongside the image. */
struct model {
	int fd;
	char path[512];
};

static void model_from(struct model *m, const char *name, const char *img)
{
	snprintf(m->path, sizeof(m->path), "%s", pathf("%s", name));
	assert_int_equal(sh("qemu-img convert -O raw '%s' '%s'", img, m->path), 0);
	m->fd = open(m->path, O_RDWR);
	assert_true(m->fd >= 0);
}

/* Writes len bytes at off to both, split into up to 4 iovecs of random sizes. */
static void write_both(struct block *b, struct model *m, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	fill(buf, len);
	struct iovec v[4];
	int n = 0;
	size_t at = 0;
	while (at < len) {
		size_t k = n == 3 ? len - at : 1 + rnd() % (len - at);
		v[n++] = (struct iovec){ .iov_base = buf + at, .iov_len = k };
		at += k;
	}
	assert_int_equal(block_writev(b, v, n, off), 0);
	assert_int_equal(pwrite(m->fd, buf, len, (off_t)off), (ssize_t)len);
	free(buf);
}

static void zero_both(struct block *b, struct model *m, uint64_t off, uint64_t len, bool discard)
{
	if (discard)
		assert_int_equal(block_discard(b, off, len), 0);
	else
		assert_int_equal(block_write_zeroes(b, off, len, false), 0);
	uint8_t *z = calloc(1, len);
	assert_non_null(z);
	assert_int_equal(pwrite(m->fd, z, len, (off_t)off), (ssize_t)len);
	free(z);
}

/* Reads [off, off+len) through the block (in odd-sized iovecs) and compares with the model. */
static void check_range(struct block *b, struct model *m, uint64_t off, size_t len)
{
	uint8_t *got = malloc(len), *want = malloc(len);
	assert_true(got && want);
	struct iovec v[3];
	size_t a = len / 3, c = len / 5;
	v[0] = (struct iovec){ got, a };
	v[1] = (struct iovec){ got + a, c };
	v[2] = (struct iovec){ got + a + c, len - a - c };
	memset(got, 0xee, len);
	assert_int_equal(block_readv(b, v, 3, off), 0);
	assert_int_equal(pread(m->fd, want, len, (off_t)off), (ssize_t)len);
	if (memcmp(got, want, len)) {
		size_t i = 0;
		while (got[i] == want[i])
			i++;
		fail_msg("read at %#llx: byte %zu differs (%#x, model %#x)", (unsigned long long)off,
			i, got[i], want[i]);
	}
	free(got);
	free(want);
}

/* qemu-img check passes and qemu-img compare finds the image equal to the model. */
static void qemu_agrees(const char *img, const struct model *m)
{
	int r = sh("qemu-img check '%s'", img);
	if (r != 0)
		fail_msg("qemu-img check %s: exit %d:\n%s", img, r, out_of("qemu-img check '%s' 2>&1",
			img));
	r = sh("qemu-img compare -f raw -F qcow2 '%s' '%s'", m->path, img);
	if (r != 0)
		fail_msg("qemu-img compare %s %s: exit %d: %s", m->path, img, r,
			out_of("qemu-img compare -f raw -F qcow2 '%s' '%s' 2>&1", m->path, img));
}

/* Random writes (some across cluster boundaries, some tiny), reads checked as we go. */
static void random_io(struct block *b, struct model *m, uint64_t cs, int rounds)
{
	uint64_t size = b->size;
	for (int i = 0; i < rounds; i++) {
		uint64_t off, len;
		switch (rnd() % 4) {
		case 0: /* across a cluster boundary */
			off = (rnd() % (size / cs)) * cs;
			off = off ? off - 1 - rnd() % (cs / 2 < 4096 ? cs / 2 : 4096) : 0;
			len = 2 + rnd() % (2 * cs < 65536 ? 2 * cs : 65536);
			break;
		case 1: /* sectors */
			off = (rnd() % (size / 512)) * 512;
			len = 512 * (1 + rnd() % 16);
			break;
		case 2: /* tiny */
			off = rnd() % size;
			len = 1 + rnd() % 7;
			break;
		default: /* several clusters */
			off = rnd() % size;
			len = 1 + rnd() % (3 * cs < 262144 ? 3 * cs : 262144);
			break;
		}
		if (off >= size)
			off = size - 1;
		if (len > size - off)
			len = size - off;
		write_both(b, m, off, (size_t)len);
		if (i % 7 == 0)
			check_range(b, m, off, (size_t)len);
		if (i % 29 == 0)
			assert_int_equal(block_flush(b), 0);
	}
	for (int i = 0; i < 20; i++) {
		uint64_t off = rnd() % size, len = 1 + rnd() % 200000;
		check_range(b, m, off, (size_t)(len > size - off ? size - off : len));
	}
}

static void make_raw(const char *name, uint64_t mib)
{
	int fd = open(pathf("%s", name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	for (uint64_t i = 0; i < mib; i++) {
		fill(buf, 1 << 20);
		if (i % 3 == 2)
			memset(buf, 0, 1 << 20); /* holes in the base, too */
		assert_int_equal(write(fd, buf, 1 << 20), 1 << 20);
	}
	free(buf);
	close(fd);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/nv-qcow2-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return system("qemu-img --version >/dev/null") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static uint64_t peek_be(const char *path, uint64_t off, int n)
{
	uint8_t b[8];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, (size_t)n, (off_t)off), n);
	close(fd);
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static void poke_be(const char *path, uint64_t off, uint64_t v, int n)
{
	uint8_t b[8];
	for (int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, (size_t)n, (off_t)off), n);
	close(fd);
}

/* ---- reading what qemu wrote ---- */

static void test_read_qemu_image(void **state)
{
	const char *img = pathf("q1.qcow2");
	struct model m;
	assert_int_equal(sh("qemu-img create -q -f qcow2 q1.qcow2 16M && qemu-io -c 'write -P 0xab "
		"0 64k' -c 'write -P 0xcd 100k 8k' -c 'write -P 0x11 1M 192k' -c 'write -z 1088k 64k' "
		"-c 'write -P 0x22 15M 1M' -c 'write -P 0x33 16380k 4k' q1.qcow2"), 0);
	model_from(&m, "q1.raw", img);
	struct block *b = open_img(img, true, 0, 0);
	assert_int_equal(b->size, 16 << 20);
	check_range(b, &m, 0, 16 << 20);
	check_range(b, &m, 100 * 1024 - 3, 8 * 1024 + 6);
	uint8_t x = 1;
	struct iovec v = { &x, 1 };
	assert_int_equal(block_writev(b, &v, 1, 0), -EROFS);
	assert_int_equal(block_readv(b, &v, 1, 16 << 20), -EIO); /* past the end */
	block_close(b);
	close(m.fd);
	/* The ordinary way in names the format. */
	struct block_conf c = { .path = img, .format = BLOCK_FORMAT_QCOW2, .readonly = true };
	char err[256];
	assert_int_equal(block_open(&c, &b, err, sizeof(err)), 0);
	assert_string_equal(block_format_name(BLOCK_FORMAT_QCOW2), "qcow2");
	block_close(b);
}

/* ---- overlays ---- */

static void test_overlay_raw_base(void **state)
{
	const char *ov = pathf("ov1.qcow2");
	struct model m;
	make_raw("base1.raw", 8);
	assert_int_equal(sh("cp base1.raw base1.orig && qemu-img create -q -f qcow2 -b base1.raw "
		"-F raw ov1.qcow2"), 0);
	model_from(&m, "ov1.raw", ov);
	struct block *b = open_img(ov, false, 0, 0);
	struct block_qcow2_stats st;
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_int_equal(st.chain_depth, 1);
	random_io(b, &m, 65536, 300);
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_true(st.cow_bytes > 0 && st.clusters_allocated > 0);
	block_close(b);
	qemu_agrees(ov, &m);
	assert_int_equal(sh("cmp base1.raw base1.orig"), 0);
	/* Our own writes read back after a reopen. */
	b = open_img(ov, true, 0, 0);
	check_range(b, &m, 0, 8 << 20);
	block_close(b);
	close(m.fd);
}

static void test_overlay_qcow2_base(void **state)
{
	const char *ov = pathf("ov2.qcow2");
	struct model m;
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4k base2.qcow2 8M && "
		"qemu-io -c 'write -P 0x5a 0 3M' -c 'write -P 0x6b 5M 100k' -c 'write -z 1M 64k' "
		"base2.qcow2 && cp base2.qcow2 base2.orig && qemu-img create -q -f qcow2 -b base2.qcow2 "
		"-F qcow2 ov2.qcow2"), 0);
	model_from(&m, "ov2.raw", ov);
	struct block *b = open_img(ov, false, 0, 0);
	random_io(b, &m, 65536, 300);
	block_close(b);
	qemu_agrees(ov, &m);
	assert_int_equal(sh("cmp base2.qcow2 base2.orig"), 0);
	close(m.fd);
}

static void test_chain_of_3(void **state)
{
	const char *top = pathf("c2.qcow2");
	struct model m;
	make_raw("c0.raw", 4);
	/* The top is bigger than the chain below it: past 4 MiB it reads zeros. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b c0.raw -F raw c1.qcow2 && qemu-io -c "
		"'write -P 0x77 1M 1M' -c 'write -z 3M 512k' c1.qcow2 && cp c1.qcow2 c1.orig && "
		"qemu-img create -q -f qcow2 -o cluster_size=16k -b c1.qcow2 -F qcow2 c2.qcow2 6M"), 0);
	model_from(&m, "c2.raw", top);
	struct block *b = open_img(top, false, 0, 0);
	struct block_qcow2_stats st;
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_int_equal(st.chain_depth, 2);
	assert_int_equal(b->size, 6 << 20);
	check_range(b, &m, 0, 6 << 20);
	random_io(b, &m, 16384, 250);
	write_both(b, &m, (4 << 20) - 3000, 9000); /* across the end of the chain below */
	block_close(b);
	qemu_agrees(top, &m);
	assert_int_equal(sh("cmp c1.qcow2 c1.orig"), 0);
	char *info = out_of("qemu-img info --backing-chain c2.qcow2");
	assert_non_null(strstr(info, "image: c1.qcow2"));
	assert_non_null(strstr(info, "image: c0.raw"));
	close(m.fd);
}

static void test_cluster_sizes(void **state)
{
	static const unsigned long long sizes[] = { 512, 4096, 65536, 2 << 20 };
	make_raw("cs-base.raw", 6);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int with_base = 0; with_base < 2; with_base++) {
			char name[64];
			struct model m;
			snprintf(name, sizeof(name), "cs%llu-%d.qcow2", sizes[i], with_base);
			assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=%llu %s %s 8M",
				sizes[i], with_base ? "-b cs-base.raw -F raw" : "", name), 0);
			model_from(&m, "cs.raw", pathf("%s", name));
			struct block *b = open_img(pathf("%s", name), false, 0, 0);
			random_io(b, &m, sizes[i], sizes[i] >= (2 << 20) ? 60 : 160);
			block_close(b);
			qemu_agrees(pathf("%s", name), &m);
			close(m.fd);
		}
	}
}

/* 4 KiB clusters: an L2 table covers 2 MiB; 4 cached tables for a 512 MiB disk. */
static void test_small_l2_cache(void **state)
{
	const char *ov = pathf("big.qcow2");
	struct model m;
	make_raw("big-base.raw", 64);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4k -b big-base.raw -F raw "
		"big.qcow2 512M"), 0);
	model_from(&m, "big.raw", ov);
	struct block *b = open_img(ov, false, 16384, 0);
	struct block_qcow2_stats st;
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_int_equal(st.l2_slots, 4);
	random_io(b, &m, 4096, 400);
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_true(st.l2_evictions > 200);
	assert_true(st.l2_misses > st.l2_evictions);
	block_close(b);
	qemu_agrees(ov, &m);
	/* The default cache holds all 256 tables: no evictions. */
	b = open_img(ov, true, 0, 0);
	check_range(b, &m, 0, 64 << 20);
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_int_equal(st.l2_evictions, 0);
	block_close(b);
	close(m.fd);
}

static void test_cluster_boundaries(void **state)
{
	const uint64_t cs = 65536;
	const char *ov = pathf("bd.qcow2");
	struct model m;
	make_raw("bd-base.raw", 2);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b bd-base.raw -F raw bd.qcow2 4M"), 0);
	model_from(&m, "bd.raw", ov);
	struct block *b = open_img(ov, false, 0, 0);
	write_both(b, &m, cs - 1, 1);                 /* the last byte of cluster 0 */
	write_both(b, &m, 2 * cs - 1, 2);             /* the last of 1, the first of 2 */
	write_both(b, &m, 3 * cs + cs / 2, 3 * cs);   /* head, 2 whole, tail */
	write_both(b, &m, 8 * cs, 2 * cs);            /* whole clusters */
	write_both(b, &m, 8 * cs + 100, 3 * cs);      /* in place, then a new cluster */
	write_both(b, &m, (2 << 20) - 10, 20);        /* across the end of the base */
	write_both(b, &m, (4 << 20) - 1, 1);          /* the last byte of the disk */
	check_range(b, &m, 0, 4 << 20);
	assert_int_equal(block_flush(b), 0);
	check_range(b, &m, 0, 4 << 20);
	struct block_qcow2_stats st;
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_true(st.cow_bytes >= 3 * cs);
	block_close(b);
	qemu_agrees(ov, &m);
	close(m.fd);
}

static void test_zeroes_and_discard(void **state)
{
	const uint64_t cs = 65536;
	for (int with_base = 0; with_base < 2; with_base++) {
		const char *ov = pathf("z%d.qcow2", with_base);
		struct model m;
		make_raw("z-base.raw", 4);
		assert_int_equal(sh("qemu-img create -q -f qcow2 %s z%d.qcow2 4M", with_base ?
			"-b z-base.raw -F raw" : "", with_base), 0);
		model_from(&m, "z.raw", ov);
		struct block *b = open_img(ov, false, 0, 0);
		write_both(b, &m, 0, 1 << 20);
		zero_both(b, &m, 2 * cs, 4 * cs, false);         /* whole clusters */
		zero_both(b, &m, 10, 1000, false);               /* part of one */
		zero_both(b, &m, 7 * cs - 100, cs + 200, false); /* parts and a whole */
		zero_both(b, &m, 10 * cs, 2 * cs, true);         /* discard whole clusters */
		zero_both(b, &m, 20 * cs, 8 * cs, true);         /* unallocated (base) ones */
		zero_both(b, &m, 40 * cs, 8 * cs, false);
		/* A partial discard is a hint we ignore: the data stays. */
		assert_int_equal(block_discard(b, 14 * cs + 10, 100), 0);
		check_range(b, &m, 0, 4 << 20);
		struct block_qcow2_stats st;
		assert_int_equal(block_flush(b), 0);
		assert_int_equal(block_qcow2_get_stats(b, &st), 0);
		assert_true(st.clusters_freed >= 6);
		write_both(b, &m, 2 * cs + 5, 10); /* into a zero cluster again */
		block_close(b);
		qemu_agrees(ov, &m);
		if (with_base) { /* zero clusters hide the base */
			char *map = out_of("qemu-img map --output=json z1.qcow2");
			assert_non_null(strstr(map, "\"start\": 1310720, \"length\": 524288, \"depth\": 0, "
				"\"present\": true, \"zero\": true"));
		}
		close(m.fd);
	}
}

/* Refcount widths; 512-byte clusters with 64-bit refcounts outgrow the refcount table. */
static void test_refcount_widths(void **state)
{
	static const int bits[] = { 1, 2, 8, 32, 64 };
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		const char *img = pathf("rc%d.qcow2", bits[i]);
		struct model m;
		assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=%d "
			"rc%d.qcow2 8M", bits[i], bits[i]), 0);
		model_from(&m, "rc.raw", img);
		uint64_t rt0 = peek_be(img, 48, 8);
		struct block *b = open_img(img, false, 0, 0);
		for (uint64_t off = 0; off < (6 << 20); off += 65536 + 512)
			write_both(b, &m, off, 65536);
		random_io(b, &m, 512, 60);
		block_close(b);
		qemu_agrees(img, &m);
		if (bits[i] == 64) /* 64 entries per block: 2 MiB per table cluster */
			assert_true(peek_be(img, 48, 8) != rt0 && peek_be(img, 56, 4) > 1);
		close(m.fd);
	}
}

static void test_version2(void **state)
{
	const char *img = pathf("v2.qcow2");
	struct model m;
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 4M && qemu-io -c "
		"'write -P 0x42 64k 100k' v2.qcow2"), 0);
	model_from(&m, "v2.raw", img);
	struct block *b = open_img(img, true, 0, 0);
	check_range(b, &m, 0, 4 << 20);
	block_close(b);
	open_img(img, false, 0, -ENOTSUP);
	close(m.fd);
}

/* Two overlays over one base at once; the base cannot be opened for writing meanwhile. */
static void test_shared_base(void **state)
{
	make_raw("sh-base.raw", 2);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b sh-base.raw -F raw sh1.qcow2 && "
		"qemu-img create -q -f qcow2 -b sh-base.raw -F raw sh2.qcow2"), 0);
	struct block *a = open_img(pathf("sh1.qcow2"), false, 0, 0);
	struct block *b = open_img(pathf("sh2.qcow2"), false, 0, 0);
	struct block *w = NULL;
	struct block_conf rw = { .path = pathf("sh-base.raw") };
	char err[256];
	assert_int_equal(block_open(&rw, &w, err, sizeof(err)), -EBUSY);
	/* The overlay itself is locked exclusively. */
	open_img(pathf("sh1.qcow2"), true, 0, -EBUSY);
	uint8_t x[512], y[512];
	memset(x, 0xa1, sizeof(x));
	struct iovec v = { x, sizeof(x) }, u = { y, sizeof(y) };
	assert_int_equal(block_writev(a, &v, 1, 0), 0);
	assert_int_equal(block_readv(b, &u, 1, 0), 0);
	assert_memory_not_equal(x, y, sizeof(x)); /* one node's write is not the other's */
	block_close(a);
	block_close(b);
	assert_int_equal(block_open(&rw, &w, err, sizeof(err)), 0);
	block_close(w);
}

/* ---- refusals ---- */

static void refused(const char *img, bool ro, int rc, const char *why)
{
	struct block_conf c = { .path = img, .format = BLOCK_FORMAT_QCOW2, .readonly = ro };
	struct block *b = (struct block *)1;
	char err[1024] = "";
	int r = block_open(&c, &b, err, sizeof(err));
	if (r != rc || !strstr(err, why) || !strstr(err, img))
		fail_msg("%s: %d '%s', expected %d with '%s'", img, r, err, rc, why);
	assert_null(b);
}

/* The offset of header extension type in the first cluster (qemu's header is 112 bytes). */
static uint64_t ext_at(const char *img, uint32_t type)
{
	for (uint64_t off = 112; off < 4096;) {
		uint32_t t = (uint32_t)peek_be(img, off, 4), len = (uint32_t)peek_be(img, off + 4, 4);
		if (t == type)
			return off;
		if (!t)
			break;
		off += 8 + ((len + 7) & ~7u);
	}
	fail_msg("%s: no extension %#x", img, type);
	return 0;
}

static void test_refusals_features(void **state)
{
	assert_int_equal(sh("qemu-img create -q -f raw text.raw 2M && qemu-io -f raw -c 'write -P "
		"0x41 0 1M' text.raw && qemu-img convert -c -O qcow2 text.raw comp.qcow2"), 0);
	refused(pathf("comp.qcow2"), true, -ENOTSUP, "qcow2: compressed clusters are not supported");
	/* qemu times its key derivation by CPU time, which a busy machine can make fail
	 * ("Unable to get accurate CPU usage"): tried up to 5 times */
	assert_int_equal(sh("for i in 1 2 3 4 5; do rm -f luks.qcow2; qemu-img create -q -f qcow2 "
		"--object secret,id=s0,data=pw -o encrypt.format=luks,encrypt.key-secret=s0,"
		"encrypt.iter-time=100 luks.qcow2 1M && exit 0; done; exit 1"), 0);
	refused(pathf("luks.qcow2"), false, -ENOTSUP, "encrypted images are not supported");
	assert_int_equal(sh("qemu-img create -q -f qcow2 --object secret,id=s0,data=pw -o "
		"encrypt.format=aes,encrypt.key-secret=s0 aes.qcow2 1M"), 0);
	refused(pathf("aes.qcow2"), true, -ENOTSUP, "encrypted images are not supported (crypt_method "
		"1)");
	assert_int_equal(sh("qemu-img create -q -f qcow2 snap.qcow2 1M && qemu-img snapshot -c s1 "
		"snap.qcow2"), 0);
	refused(pathf("snap.qcow2"), true, -ENOTSUP, "internal snapshots are not supported (the "
		"image has 1");
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o compression_type=zstd zstd.qcow2 1M"), 0);
	refused(pathf("zstd.qcow2"), false, -ENOTSUP, "compression (type 1) is not supported");
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o extended_l2=on sub.qcow2 1M"), 0);
	refused(pathf("sub.qcow2"), false, -ENOTSUP, "extended L2 entries");
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o data_file=ext.raw ext.qcow2 1M"), 0);
	refused(pathf("ext.qcow2"), false, -ENOTSUP, "external data files are not supported");

	const char *img = pathf("bits.qcow2");
	assert_int_equal(sh("qemu-img create -q -f qcow2 bits.qcow2 1M && qemu-io -c 'write -P 1 0 "
		"4k' bits.qcow2"), 0);
	poke_be(img, 72, 1ULL << 5, 8);
	refused(img, true, -ENOTSUP, "unknown incompatible features: bit 5");
	poke_be(img, 72, 1ULL << 0, 8); /* dirty: read-only is fine */
	refused(img, false, -EUCLEAN, "the dirty bit is set");
	block_close(open_img(img, true, 0, 0));
	assert_int_equal(sh("qemu-img check -q -r all bits.qcow2"), 0);
	block_close(open_img(img, false, 0, 0)); /* repaired by qemu-img */
	poke_be(img, 72, 1ULL << 1, 8);
	refused(img, false, -EUCLEAN, "marked corrupt");
	block_close(open_img(img, true, 0, 0));
	poke_be(img, 72, 0, 8);
	poke_be(img, 4, 4, 4);
	refused(img, true, -ENOTSUP, "version 4 is not supported");
	poke_be(img, 4, 3, 4);
	poke_be(img, 20, 22, 4);
	refused(img, true, -ENOTSUP, "cluster_bits 22");
	poke_be(img, 20, 16, 4);
	refused(pathf("text.raw"), true, -EINVAL, "not a qcow2 image");
	block_close(open_img(img, false, 0, 0));
}

static void test_refusals_layout(void **state)
{
	const char *img = pathf("lay.qcow2");
	assert_int_equal(sh("qemu-img create -q -f qcow2 lay.qcow2 4M && qemu-io -c 'write -P 1 0 "
		"4k' -c 'write -P 2 2M 4k' lay.qcow2 && cp lay.qcow2 lay.orig"), 0);
	uint64_t l1 = peek_be(img, 40, 8), rt = peek_be(img, 48, 8);
	uint64_t l2 = peek_be(img, l1, 8) & 0x00fffffffffffe00ULL;
	poke_be(img, 40, 1ULL << 40, 8);
	refused(img, true, -EUCLEAN, "the L1 table");
	poke_be(img, 40, l1 + 512, 8);
	refused(img, true, -EUCLEAN, "is unaligned");
	poke_be(img, 40, l1, 8);
	poke_be(img, 48, 1ULL << 40, 8);
	refused(img, true, -EUCLEAN, "the refcount table (1 clusters at 0x10000000000) lies outside");
	poke_be(img, 48, rt, 8);
	poke_be(img, 36, 0, 4); /* no L1 entries for a 4 MiB disk */
	refused(img, true, -EUCLEAN, "is too small for the disk size");
	poke_be(img, 36, 1, 4);
	/* An L1 entry pointing at the refcount table; an L2 entry pointing at the header. */
	poke_be(img, l1, rt | 1ULL << 63, 8);
	refused(img, true, -EUCLEAN, "overlapping metadata: the cluster at 0x10000 is used as "
		"refcount table and as an L2 table");
	poke_be(img, l1, l2 | 1ULL << 63, 8);
	uint64_t e0 = peek_be(img, l2, 8);
	poke_be(img, l2 + 8, 1ULL << 63, 8); /* the header's cluster as data */
	refused(img, true, -EUCLEAN, "is invalid, unaligned or outside the file");
	poke_be(img, l2 + 8, rt | 1ULL << 63, 8); /* data in the refcount table */
	refused(img, true, -EUCLEAN, "used as refcount table and as a data cluster");
	poke_be(img, l2 + 8, e0, 8); /* two guest clusters on one host cluster */
	refused(img, true, -EUCLEAN, "used as a data cluster and as a data cluster");
	poke_be(img, l2 + 8, 1ULL << 50 | 1ULL << 63, 8);
	refused(img, true, -EUCLEAN, "outside the file");
	poke_be(img, l2 + 8, 0, 8);
	poke_be(img, l2, e0 | 2, 8); /* a reserved bit */
	refused(img, true, -EUCLEAN, "L2 entry for guest offset 0 ");
	poke_be(img, l2, e0, 8);
	poke_be(img, rt, 5, 8);
	refused(img, true, -EUCLEAN, "refcount table entry 0");
	assert_int_equal(sh("cp lay.orig lay.qcow2"), 0);
	block_close(open_img(img, false, 0, 0));
}

static void test_refusals_backing(void **state)
{
	make_raw("bk.raw", 1);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -b bk.raw -F raw bk1.qcow2 && "
		"qemu-img create -q -f qcow2 -b bk1.qcow2 -F qcow2 bk2.qcow2 && cp bk1.qcow2 nofmt.qcow2 "
		"&& cp bk1.qcow2 gone.qcow2"), 0);
	/* The format must be recorded: never probed. */
	const char *nofmt = pathf("nofmt.qcow2");
	poke_be(nofmt, ext_at(nofmt, 0xe2792aca), 0x12345678, 4);
	refused(nofmt, false, -ENOTSUP, "the format of the backing file bk.raw is not recorded");
	/* A missing backing file. */
	const char *gone = pathf("gone.qcow2");
	uint64_t nameoff = peek_be(gone, 8, 8);
	poke_be(gone, nameoff, 'x', 1);
	refused(gone, false, -ENOENT, "backing file");
	/* A loop: bk1 -> bk2 -> bk1. */
	assert_int_equal(sh("qemu-img rebase -u -b bk2.qcow2 -F qcow2 bk1.qcow2"), 0);
	refused(pathf("bk2.qcow2"), false, -ELOOP, "the chain loops");
	/* Too deep: 17 images below the top. */
	assert_int_equal(sh("qemu-img create -q -f qcow2 d0.qcow2 1M && for i in $(seq 1 17); do "
		"qemu-img create -q -f qcow2 -b d$((i-1)).qcow2 -F qcow2 d$i.qcow2 || exit 1; done"), 0);
	refused(pathf("d17.qcow2"), true, -ELOOP, "deeper than 16");
	struct block *b = open_img(pathf("d16.qcow2"), true, 0, 0);
	struct block_qcow2_stats st;
	assert_int_equal(block_qcow2_get_stats(b, &st), 0);
	assert_int_equal(st.chain_depth, 16);
	block_close(b);
	/* A FIFO as the backing file is refused, not waited on. */
	assert_int_equal(sh("mkfifo fifo.raw && qemu-img create -q -f qcow2 -b fifo.raw -F raw -u "
		"fifo.qcow2 1M"), 0);
	refused(pathf("fifo.qcow2"), false, -EINVAL, "not a regular file or block device");
}

/* ---- crash consistency ---- */

/*
 * A recorder of what reaches the image file: this program's definitions of
 * the libc calls the block layer makes (pwrite64, pwritev64, ftruncate64,
 * fallocate64, fdatasync) pass through to libc and, while rec.on, log each
 * one made on the recorded file (by inode).
 */
enum op_kind { OP_WRITE, OP_TRUNC, OP_PUNCH, OP_SYNC };
struct op {
	enum op_kind kind;
	uint64_t off, len;
	uint8_t *data;
};
static struct {
	bool on;
	dev_t dev;
	ino_t ino;
	struct op *v;
	size_t n, cap;
} rec;

static bool rec_fd(int fd)
{
	struct stat st;
	return rec.on && fstat(fd, &st) == 0 && st.st_ino == rec.ino && st.st_dev == rec.dev;
}

static struct op *rec_add(enum op_kind k, uint64_t off, uint64_t len)
{
	if (rec.n == rec.cap) {
		rec.cap = rec.cap ? 2 * rec.cap : 1024;
		rec.v = realloc(rec.v, rec.cap * sizeof(*rec.v));
		if (!rec.v)
			abort();
	}
	rec.v[rec.n] = (struct op){ .kind = k, .off = off, .len = len };
	return &rec.v[rec.n++];
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f)
		abort();
	return f;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t off);
ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t off)
{
	ssize_t (*f)(int, const struct iovec *, int, off64_t) = real("pwritev64");
	ssize_t r = f(fd, iov, n, off);
	if (r > 0 && rec_fd(fd)) {
		struct op *o = rec_add(OP_WRITE, (uint64_t)off, (uint64_t)r);
		o->data = malloc((size_t)r);
		for (size_t at = 0, i = 0; at < (size_t)r; i++) {
			size_t k = iov[i].iov_len < (size_t)r - at ? iov[i].iov_len : (size_t)r - at;
			memcpy(o->data + at, iov[i].iov_base, k);
			at += k;
		}
	}
	return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off);
ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	struct iovec v = { (void *)buf, len };
	return pwritev64(fd, &v, 1, off);
}

int ftruncate64(int fd, off64_t len);
int ftruncate64(int fd, off64_t len)
{
	int (*f)(int, off64_t) = real("ftruncate64");
	int r = f(fd, len);
	if (r == 0 && rec_fd(fd))
		rec_add(OP_TRUNC, (uint64_t)len, 0);
	return r;
}

int fallocate64(int fd, int mode, off64_t off, off64_t len);
int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	int (*f)(int, int, off64_t, off64_t) = real("fallocate64");
	int r = f(fd, mode, off, len);
	if (r == 0 && rec_fd(fd))
		rec_add(OP_PUNCH, (uint64_t)off, (uint64_t)len); /* the block layer only punches */
	return r;
}

int fdatasync(int fd)
{
	int (*f)(int) = real("fdatasync");
	int r = f(fd);
	if (r == 0 && rec_fd(fd))
		rec_add(OP_SYNC, 0, 0);
	return r;
}

/* What applying an op replaced: the bytes it overwrote and the file's size before. */
struct undo {
	uint64_t off, len, size;
	uint8_t *data;
};

/* Applies op o to file fd (libc's calls: not recorded). */
static void apply_op(int fd, const struct op *o, struct undo *u)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	uint64_t have = (uint64_t)st.st_size, end = o->off + o->len;
	*u = (struct undo){ .off = o->off, .size = have };
	if (o->kind == OP_TRUNC) {
		assert_true(o->off >= have); /* the block layer only grows the file */
		assert_int_equal(ftruncate(fd, (off_t)o->off), 0);
		return;
	}
	if (o->kind == OP_SYNC)
		return;
	u->len = o->off < have ? (end < have ? end : have) - o->off : 0;
	u->data = malloc(u->len + 1);
	assert_non_null(u->data);
	assert_int_equal(pread(fd, u->data, u->len, (off_t)o->off), (ssize_t)u->len);
	if (o->kind == OP_WRITE) {
		assert_int_equal(pwrite(fd, o->data, o->len, (off_t)o->off), (ssize_t)o->len);
	} else { /* a punched hole reads as zeros; it never grows the file */
		uint8_t *z = calloc(1, u->len + 1);
		assert_int_equal(pwrite(fd, z, u->len, (off_t)o->off), (ssize_t)u->len);
		free(z);
	}
}

static void undo_op(int fd, struct undo *u)
{
	if (u->data)
		assert_int_equal(pwrite(fd, u->data, u->len, (off_t)u->off), (ssize_t)u->len);
	assert_int_equal(ftruncate(fd, (off_t)u->size), 0);
	free(u->data);
	u->data = NULL;
}

/*
 * The child writes random data into the first half of the disk (mirrored
 * into the model), flushes, tells the parent, and then keeps writing into
 * the second half (allocating, copying, flushing now and then) until it is
 * SIGKILLed. No cmocka in the child: it reports by exit status.
 */
static void crash_child(const char *img, const char *model, int tell, uint64_t cs)
{
	struct block_conf c = { .path = img, .format = BLOCK_FORMAT_QCOW2 };
	struct block *b;
	char err[512];
	int mfd = open(model, O_RDWR);
	if (mfd < 0 || block_open(&c, &b, err, sizeof(err)) < 0)
		_exit(10);
	uint64_t half = b->size / 2;
	static uint8_t buf[256 * 1024];
	for (int i = 0; i < 120; i++) {
		uint64_t off = rnd() % half, len = 1 + rnd() % (3 * cs < sizeof(buf) ? 3 * cs : sizeof(buf));
		if (len > half - off)
			len = half - off;
		fill(buf, len);
		struct iovec v = { buf, len };
		if (block_writev(b, &v, 1, off) < 0 || pwrite(mfd, buf, len, (off_t)off) != (ssize_t)len)
			_exit(11);
	}
	if (block_flush(b) < 0 || fsync(mfd) < 0 || write(tell, "F", 1) != 1)
		_exit(12);
	for (uint64_t i = 0;; i++) {
		uint64_t off = half + rnd() % half, len = 1 + rnd() % sizeof(buf);
		if (len > b->size - off)
			len = b->size - off;
		fill(buf, len);
		struct iovec v = { buf, len };
		if (block_writev(b, &v, 1, off) < 0)
			_exit(13);
		if (i % 16 == 15 && block_flush(b) < 0)
			_exit(14);
		if (i % 64 == 63)
			(void)block_discard(b, half + (rnd() % half) / cs * cs, cs);
	}
}

static void test_flush_crash(void **state)
{
	for (int round = 0; round < 6; round++) {
		uint64_t cs = round % 2 ? 4096 : 65536;
		const char *img = pathf("crash%d.qcow2", round);
		struct model m;
		make_raw("crash-base.raw", 8);
		assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=%llu -b crash-base.raw "
			"-F raw crash%d.qcow2 %s", (unsigned long long)cs, round, round >= 4 ? "64M" : ""),
			0);
		model_from(&m, "crash.raw", img);
		int p[2];
		assert_int_equal(pipe(p), 0);
		rng += (uint64_t)round * 7919;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			crash_child(img, m.path, p[1], cs);
		}
		close(p[1]);
		char x = 0;
		assert_int_equal(read(p[0], &x, 1), 1);
		close(p[0]);
		usleep((useconds_t)(round * 40000));
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st)); /* killed while writing, not failed */
		/* No corruption (exit 2); leaked clusters (exit 3) would be harmless. */
		char *chk = out_of("qemu-img check crash%d.qcow2 2>&1; echo rc=$?", round);
		if (strstr(chk, "ERROR") || (!strstr(chk, "rc=0") && !strstr(chk, "rc=3")))
			fail_msg("round %d: qemu-img check after SIGKILL:\n%s", round, chk);
		/* Everything flushed is there, as qemu reads it and as we do. */
		uint64_t half = peek_be(img, 24, 8) / 2;
		assert_int_equal(sh("qemu-img convert -O raw crash%d.qcow2 crash-after.raw && "
			"cmp -n %llu crash-after.raw crash.raw", round, (unsigned long long)half), 0);
		struct block *b = open_img(img, false, 0, 0);
		check_range(b, &m, 0, (size_t)half);
		block_close(b);
		assert_true(sh("qemu-img check crash%d.qcow2", round) <= 0 ||
			    sh("qemu-img check crash%d.qcow2", round) == 3);
		close(m.fd);
	}
}

/* The crash image passes qemu-img check (leaks allowed) and holds what was flushed. */
static void check_crash_state(const char *name, const struct model *m, uint64_t flushed, size_t ops)
{
	char *chk = out_of("qemu-img check %s >%s.chk 2>&1; echo rc=$?; grep -v Leaked %s.chk | "
		"head -20", name, name, name);
	if (strstr(chk, "ERROR") || (!strstr(chk, "rc=0") && !strstr(chk, "rc=3")))
		fail_msg("power loss after %zu writes: qemu-img check:\n%s", ops, chk);
	if (!flushed)
		return;
	struct block *b = open_img(pathf("%s", name), true, 0, 0);
	check_range(b, (struct model *)m, 0, (size_t)flushed);
	block_close(b);
}

/*
 * Power loss: writes in four phases, each into its own quarter of the disk
 * and ending with a flush, are recorded. Then, for every interval between
 * two fdatasyncs of the image (sampled down to about 100 when there are
 * more), the disk as it could be after power loss inside it is rebuilt:
 * everything before the interval, plus none, all, or a random subset of the
 * writes inside it, or all of them but one, for each of its last 10. Each must pass qemu-img check and hold every phase whose
 * flush had returned.
 */
static void power_loss_case(const char *name, const char *opts, size_t cache, int writes)
{
	char img[512], crash[128];
	struct model m;
	struct stat st;
	snprintf(img, sizeof(img), "%s", pathf("%s.qcow2", name));
	snprintf(crash, sizeof(crash), "%s-crash.qcow2", name);
	assert_int_equal(sh("qemu-img create -q -f qcow2 %s %s.qcow2 4M && cp %s.qcow2 %s", opts,
		name, name, crash), 0);
	model_from(&m, "pl.raw", img);
	assert_int_equal(stat(img, &st), 0);
	rec.dev = st.st_dev;
	rec.ino = st.st_ino;
	rec.n = 0;
	rec.on = true;
	struct block *b = open_img(img, false, cache, 0);
	uint64_t q4 = b->size / 4;
	size_t mark[4];
	for (int p = 0; p < 4; p++) {
		for (int i = 0; i < writes; i++) {
			uint64_t off = p * q4 + rnd() % q4, len = 1 + rnd() % 100000;
			if (len > (p + 1) * q4 - off)
				len = (p + 1) * q4 - off;
			write_both(b, &m, off, (size_t)len);
			if (i % 8 == 7) {
				uint64_t z = p * q4 + (rnd() % (q4 / 65536)) * 65536;
				zero_both(b, &m, z, 65536, i % 16 == 7);
			}
		}
		assert_int_equal(block_flush(b), 0);
		mark[p] = rec.n;
	}
	block_close(b);
	rec.on = false;

	int fd = open(pathf("%s", crash), O_RDWR);
	assert_true(fd >= 0);
	struct undo *u = calloc(rec.n + 1, sizeof(*u)), t;
	size_t epochs = 0, states = 0;
	for (size_t k = 0; k < rec.n; k++)
		epochs += rec.v[k].kind == OP_SYNC;
	size_t stride = epochs / 100 + 1, e = 0;
	for (size_t start = 0; start < rec.n; e++) {
		size_t end = start;
		while (end < rec.n && rec.v[end].kind != OP_SYNC)
			end++;
		int flushed = 0;
		while (flushed < 4 && mark[flushed] <= start)
			flushed++;
		/* None, all, a random subset, and all but one for each of the last 10 (where an
		 * interval's metadata writes are). */
		size_t nops = end - start, last = nops < 10 ? nops : 10;
		for (size_t v = 0; v < 3 + last && e % stride == stride / 2; v++) {
			size_t nu = 0;
			for (size_t k = start; k < end; k++)
				if (v == 1 || (v == 2 && (rnd() & 1)) || (v >= 3 && k != end - 1 - (v - 3)))
					apply_op(fd, &rec.v[k], &u[nu++]);
			check_crash_state(crash, &m, flushed * q4, start + nu);
			states++;
			while (nu)
				undo_op(fd, &u[--nu]);
			if (end == start)
				break;
		}
		for (size_t k = start; k <= end && k < rec.n; k++) {
			apply_op(fd, &rec.v[k], &t);
			free(t.data);
		}
		start = end + 1;
	}
	/* After the last sync: the image as closed. */
	check_crash_state(crash, &m, 4 * q4, rec.n);
	printf("# power loss %s: %zu writes and syncs, %zu syncs, %zu crash states checked\n", name,
		rec.n, epochs, states);
	assert_true(states > 3);
	for (size_t k = 0; k < rec.n; k++)
		free(rec.v[k].data);
	free(u);
	close(fd);
	close(m.fd);
}

static void test_power_loss(void **state)
{
	make_raw("plbase.raw", 4);
	power_loss_case("pl64k", "-o cluster_size=64k -b plbase.raw -F raw", 0, 24);
	/* 1 KiB clusters, two cached tables of 128 KiB each: evictions write back in the middle
	 * of the phases. */
	power_loss_case("pl1k", "-o cluster_size=1k", 2048, 24);
	/* 64 refcounts per block: new blocks, and a bigger refcount table past 2 MiB. */
	power_loss_case("pl512", "-o cluster_size=512,refcount_bits=64", 0, 20);
	free(rec.v);
	rec.v = NULL;
}

/* ---- block_qcow2_create ---- */

static void test_create(void **state)
{
	char err[512];
	struct model m;
	make_raw("cb.raw", 4);
	/* A relative backing name, resolved against the overlay's directory; size from it. */
	assert_int_equal(block_qcow2_create(pathf("cr1.qcow2"), 0, "cb.raw", BLOCK_FORMAT_RAW, err,
		sizeof(err)), 0);
	char *info = out_of("qemu-img info --output=json cr1.qcow2");
	assert_non_null(strstr(info, "\"backing-filename\": \"cb.raw\""));
	assert_non_null(strstr(info, "\"backing-filename-format\": \"raw\""));
	assert_non_null(strstr(info, "\"virtual-size\": 4194304"));
	assert_non_null(strstr(info, "\"compat\": \"1.1\""));
	assert_int_equal(sh("qemu-img check cr1.qcow2"), 0);
	model_from(&m, "cr1.raw", pathf("cr1.qcow2"));
	struct block *b = open_img(pathf("cr1.qcow2"), false, 0, 0);
	random_io(b, &m, 65536, 200);
	block_close(b);
	qemu_agrees(pathf("cr1.qcow2"), &m);
	close(m.fd);

	/* Over a qcow2 base, an absolute name, bigger than it: qemu sees the chain. */
	assert_int_equal(block_qcow2_create(pathf("cr2.qcow2"), 8 << 20, pathf("cr1.qcow2"),
		BLOCK_FORMAT_QCOW2, err, sizeof(err)), 0);
	info = out_of("qemu-img info --backing-chain cr2.qcow2");
	assert_non_null(strstr(info, "backing file format: qcow2"));
	assert_non_null(strstr(info, "image: ") && strstr(info, "cr1.qcow2"));
	assert_non_null(strstr(info, "cb.raw"));
	assert_int_equal(sh("qemu-img check cr2.qcow2"), 0);
	model_from(&m, "cr2.raw", pathf("cr2.qcow2"));
	b = open_img(pathf("cr2.qcow2"), false, 0, 0);
	random_io(b, &m, 65536, 150);
	block_close(b);
	qemu_agrees(pathf("cr2.qcow2"), &m);
	close(m.fd);

	/* Empty, big (sparse metadata). */
	assert_int_equal(block_qcow2_create(pathf("cr3.qcow2"), 1ULL << 40, NULL, BLOCK_FORMAT_RAW,
		err, sizeof(err)), 0);
	info = out_of("qemu-img info --output=json cr3.qcow2");
	assert_non_null(strstr(info, "\"virtual-size\": 1099511627776"));
	assert_null(strstr(info, "backing"));
	assert_int_equal(sh("qemu-img check cr3.qcow2"), 0);
	b = open_img(pathf("cr3.qcow2"), false, 0, 0);
	uint8_t x[4096], y[4096];
	memset(x, 0x3c, sizeof(x));
	struct iovec v = { x, sizeof(x) }, u = { y, sizeof(y) };
	assert_int_equal(block_writev(b, &v, 1, (1ULL << 40) - 4096), 0);
	assert_int_equal(block_readv(b, &u, 1, 1ULL << 39), 0);
	assert_int_equal(y[0] | y[4095], 0);
	block_close(b);
	assert_int_equal(sh("qemu-img check cr3.qcow2 && qemu-io -c 'read -P 0x3c 1099511623680 4k' "
		"cr3.qcow2"), 0);

	/* Refusals, and nothing left behind. */
	assert_int_equal(block_qcow2_create(pathf("cr3.qcow2"), 1 << 20, NULL, BLOCK_FORMAT_RAW, err,
		sizeof(err)), -EEXIST);
	assert_int_equal(block_qcow2_create(pathf("cr4.qcow2"), 1000, NULL, BLOCK_FORMAT_RAW, err,
		sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a multiple of 512"));
	assert_int_equal(block_qcow2_create(pathf("cr4.qcow2"), 0, "missing.raw", BLOCK_FORMAT_RAW,
		err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing.raw"));
	assert_int_equal(block_qcow2_create(pathf("cr4.qcow2"), 0, "cb.raw", BLOCK_FORMAT_QCOW2, err,
		sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a qcow2 image"));
	assert_int_equal(access(pathf("cr4.qcow2"), F_OK), -1);
}

/*
 * Everything the backend does while serving a disk stays inside the disk
 * worker's seccomp list (kill mode): a child opens an overlay on a raw base
 * (512-byte clusters, 64-bit refcounts: new refcount blocks and a bigger
 * table come soon), confines itself as a worker, then writes (copying from
 * the base), reads, discards, writes zeros and flushes. A call outside the
 * list would kill it with SIGSYS.
 */
static void test_worker_seccomp(void **state)
{
	make_raw("sc-base.raw", 4);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=64 "
		"-b sc-base.raw -F raw sc.qcow2"), 0);
	const char *img = pathf("sc.qcow2");
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct block_conf c = { .path = img, .format = BLOCK_FORMAT_QCOW2 };
		struct block_qcow2_opts o = { .l2_cache_bytes = 2048 };
		struct vmm_seccomp *sc = NULL;
		struct block *b;
		char err[512];
		static uint8_t buf[70000];
		int rc = 0;
		if (block_qcow2_open(&c, &o, &b, err, sizeof(err)) < 0 ||
				vmm_seccomp_new(VMM_SECCOMP_KILL, NULL, &sc) < 0 ||
				vmm_seccomp_enter(sc, VMM_THREAD_WORKER) < 0)
			syscall(SYS_exit, 10);
		for (int i = 0; i < 120 && !rc; i++) {
			uint64_t off = rnd() % (b->size - sizeof(buf));
			size_t len = 1 + rnd() % sizeof(buf);
			struct iovec v = { buf, len };
			fill(buf, len);
			rc |= block_writev(b, &v, 1, off) | block_readv(b, &v, 1, rnd() % (b->size - len));
			if (i % 10 == 9)
				rc |= block_discard(b, off & ~511ULL, 4096) |
				      block_write_zeroes(b, off, 3000, false) | block_flush(b);
		}
		/* A partial write into a zero cluster: its zero tail stays a hole at the end of
		 * the file, which must still cover the whole cluster. */
		struct iovec v = { buf, 100 };
		rc |= block_write_zeroes(b, 65536, 512, false) | block_writev(b, &v, 1, 65536 + 10);
		rc |= block_flush(b);
		block_close(b); /* the I/O thread closes images; its list is a superset */
		syscall(SYS_exit, rc ? 11 : 0); /* exit, not exit_group: a worker has no exit_group */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("the confined worker %s %d", WIFSIGNALED(st) ? "died of signal" : "exited",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	/* It grew the refcount table under the filter; the image is sound. */
	assert_true(peek_be(img, 56, 4) > 1);
	assert_int_equal(sh("qemu-img check sc.qcow2"), 0);
}

/* The word "qcow2" in every front end: TOML, --disk, domain XML (read and written back). */
static void test_config_word(void **state)
{
	static const char toml[] = "[boot]\nkernel = \"/k\"\n[[disk]]\npath = \"/a.qcow2\"\nformat = \"qcow2\"\n"
		"[[disk]]\npath = \"/b.raw\"\n";
	struct vm_config cfg;
	struct diag d;
	char *xml = NULL;
	vm_config_init(&cfg);
	diag_init(&d);
	assert_int_equal(vm_config_load_buffer(&cfg, "t.toml", toml, sizeof(toml) - 1, &d), 0);
	assert_int_equal(cfg.disks[0].format, DISK_FORMAT_QCOW2);
	assert_int_equal(cfg.disks[1].format, DISK_FORMAT_RAW);
	assert_int_equal(cli_parse_disk(&cfg, "/c.qcow2,format=qcow2", &d), 0);
	assert_int_equal(cfg.disks[2].format, DISK_FORMAT_QCOW2);
	assert_int_equal(vm_config_validate(&cfg, &d), 0);
	assert_int_equal(d.n, 0);
	vm_config_free(&cfg);

	static const char dom[] = "<domain type='kvm'><name>t</name><memory>65536</memory><os><type>"
		"hvm</type><kernel>/k</kernel></os><devices><disk type='file' device='disk'><driver "
		"name='qemu' type='qcow2'/><source file='/n.qcow2'/><target dev='vda' bus='virtio'/>"
		"</disk></devices></domain>";
	vm_config_init(&cfg);
	assert_int_equal(vm_config_from_domain_xml(&cfg, dom, sizeof(dom) - 1, "t.xml", &d), 0);
	assert_int_equal(cfg.ndisks, 1);
	assert_int_equal(cfg.disks[0].format, DISK_FORMAT_QCOW2);
	assert_int_equal(vm_config_to_domain_xml(&cfg, NULL, 0, &xml), 0);
	assert_non_null(strstr(xml, "<driver name='qemu' type='qcow2'"));
	free(xml);
	vm_config_free(&cfg);
	diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_qemu_image),
		cmocka_unit_test(test_overlay_raw_base),
		cmocka_unit_test(test_overlay_qcow2_base),
		cmocka_unit_test(test_chain_of_3),
		cmocka_unit_test(test_cluster_sizes),
		cmocka_unit_test(test_small_l2_cache),
		cmocka_unit_test(test_cluster_boundaries),
		cmocka_unit_test(test_zeroes_and_discard),
		cmocka_unit_test(test_refcount_widths),
		cmocka_unit_test(test_version2),
		cmocka_unit_test(test_shared_base),
		cmocka_unit_test(test_refusals_features),
		cmocka_unit_test(test_refusals_layout),
		cmocka_unit_test(test_refusals_backing),
		cmocka_unit_test(test_flush_crash),
		cmocka_unit_test(test_power_loss),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_config_word),
		cmocka_unit_test(test_worker_seccomp),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
