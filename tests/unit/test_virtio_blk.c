// SPDX-License-Identifier: MIT
/* virtio-blk driven through its ring as a driver would, on a temporary raw image. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_block.h"
#include "virtio_blk.h"
#include "virtio_test_driver.h"

#define SLOT 2
#define QS 64
#define IMG_SIZE (1u << 20)
#define WANT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	      VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |            \
	      VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |        \
	      VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |                  \
	      VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))

struct fx {
	struct vd d;
	struct virtio_blk *b;
	char path[64];
	int fd;
	struct fake_block img; /* the raw image with its flushes counted */
	uint64_t features;
};

/* nq: request queues offered (0: the default); bring-up enables up to 2 of them. */
static int make_nq(struct fx *f, bool ro, enum virtio_blk_cache cache, enum virtio_run run,
		   bool ioev, uint16_t nq)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/nv-blk-XXXXXX");
	f->fd = mkstemp(f->path);
	if (f->fd < 0 || ftruncate(f->fd, IMG_SIZE) < 0 || vd_init(&f->d, ioev) < 0)
		return -1;
	if (fake_block_init(&f->img, f->fd, ro) < 0)
		return -1;
	struct virtio_blk_conf c = { .image = &f->img.b, .readonly = ro, .cache = cache,
				     .serial = "NV-SERIAL-0001", .name = "vda", .queue_size = QS,
				     .run = run, .mem = &f->d.mem, .num_queues = nq };
	int r = virtio_blk_new(f->d.host, &c, SLOT, &f->b);
	if (r < 0)
		return r;
	f->features = vd_bringup(&f->d, SLOT, WANT | VIRTIO_BIT(VIRTIO_BLK_F_MQ), nq > 1 ? 2 : 1, QS,
				 false);
	return 0;
}

static int make(struct fx *f, bool ro, enum virtio_blk_cache cache, enum virtio_run run, bool ioev)
{
	return make_nq(f, ro, cache, run, ioev, 0);
}

static void destroy(struct fx *f)
{
	virtio_blk_free(f->b);
	fake_block_fini(&f->img);
	vd_fini(&f->d);
	close(f->fd);
	unlink(f->path);
}

/* One request: header, optional data (dir: device writes it when `in`), status.
 * Waits for completion (worker mode polls). Returns the status byte or -1. */
static int req(struct fx *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool in,
	       uint32_t *used_len)
{
	struct vd *d = &f->d;
	uint64_t h = vd_alloc(d, 16), st = vd_alloc(d, 1);
	vd_put(d, h, type, 4);
	vd_put(d, h + 4, 0, 4);
	vd_put(d, h + 8, sector, 8);
	d->ram[st] = 0xee;
	struct vd_seg s[3] = { { h, 16, false }, { data, len, in }, { st, 1, true } };
	if (len) {
		vd_add(d, 0, s, 3);
	} else {
		s[1] = s[2];
		vd_add(d, 0, s, 2);
	}
	vd_kick(d, 0);
	uint32_t id, ul;
	for (int i = 0; i < 5000; i++) {
		if (vd_used(d, 0, &id, &ul)) {
			if (used_len)
				*used_len = ul;
			return d->ram[st];
		}
		usleep(1000);
	}
	return -1;
}

static void test_config(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false), 0);
	assert_true(f.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(f.features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(f.features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_int_equal(vd_rd(&f.d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BLK_CFG_CAPACITY, 8), IMG_SIZE / 512);
	assert_int_equal(vd_rd(&f.d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BLK_CFG_SEG_MAX, 4), QS - 2);
	assert_int_equal(vd_rd(&f.d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(vd_rd(&f.d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BLK_CFG_WZ_MAY_UNMAP, 1), 1);
	assert_int_equal(vd_cfg_read(&f.d, SLOT, 2, 2), 0x1042);
	assert_int_equal(virtio_blk_capacity(f.b), IMG_SIZE / 512);
	destroy(&f);
	/* A missing image is an error, not a crash. */
	struct vd d;
	assert_int_equal(vd_init(&d, false), 0);
	struct virtio_blk *b;
	struct virtio_blk_conf c = { .image = NULL, .mem = &d.mem };
	assert_int_equal(virtio_blk_new(d.host, &c, -1, &b), -EINVAL); /* no image */
	struct fake_block img;
	int fd = memfd_create("nv-blk", MFD_CLOEXEC);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(fake_block_init(&img, fd, false), 0);
	c.image = &img.b;
	c.serial = "this serial is longer than twenty";
	assert_int_equal(virtio_blk_new(d.host, &c, -1, &b), -EINVAL);
	fake_block_fini(&img);
	close(fd);
	vd_fini(&d);
}

static void test_rw_flush_id(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false), 0);
	struct vd *d = &f.d;
	uint64_t w = vd_alloc(d, 4096), r = vd_alloc(d, 4096);
	for (unsigned i = 0; i < 4096; i++)
		d->ram[w + i] = (uint8_t)(i * 7 + 3);
	uint32_t ul;
	assert_int_equal(req(&f, VIRTIO_BLK_T_OUT, 8, w, 4096, false, &ul), VIRTIO_BLK_S_OK);
	assert_int_equal(ul, 1);
	/* On the host: byte-identical at 8 * 512. */
	uint8_t host[4096];
	assert_int_equal(pread(f.fd, host, 4096, 8 * 512), 4096);
	assert_memory_equal(host, d->ram + w, 4096);
	assert_int_equal(req(&f, VIRTIO_BLK_T_IN, 8, r, 4096, true, &ul), VIRTIO_BLK_S_OK);
	assert_int_equal(ul, 4097);
	assert_memory_equal(d->ram + r, d->ram + w, 4096);
	/* Flush: the image is synced (hook counts the fdatasync). */
	assert_int_equal(req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f.img.flushes, 1);
	/* GET_ID: the serial, NUL-padded to 20 bytes. */
	uint64_t id = vd_alloc(d, 20);
	memset(d->ram + id, 0xff, 20);
	assert_int_equal(req(&f, VIRTIO_BLK_T_GET_ID, 0, id, 20, true, &ul), VIRTIO_BLK_S_OK);
	assert_int_equal(ul, 21);
	assert_memory_equal(d->ram + id, "NV-SERIAL-0001\0\0\0\0\0\0", 20);
	/* Framing-agnostic: header + data in one readable descriptor, then
	 * read data + status in one writable descriptor, through an indirect table. */
	uint64_t hd = vd_alloc(d, 16 + 512), ds = vd_alloc(d, 513);
	vd_put(d, hd, VIRTIO_BLK_T_OUT, 4);
	vd_put(d, hd + 8, 100, 8);
	memset(d->ram + hd + 16, 0x77, 512);
	struct vd_seg s1 = { hd, 16 + 512, false }, st1[2] = { { hd, 16 + 512, false }, { ds + 512, 1, true } };
	(void)s1;
	vd_add_indirect(d, 0, st1, 2);
	vd_kick(d, 0);
	uint32_t uid;
	assert_true(vd_used(d, 0, &uid, &ul));
	assert_int_equal(d->ram[ds + 512], VIRTIO_BLK_S_OK);
	uint64_t hr = vd_alloc(d, 16);
	vd_put(d, hr, VIRTIO_BLK_T_IN, 4);
	vd_put(d, hr + 8, 100, 8);
	struct vd_seg s2[2] = { { hr, 16, false }, { ds, 513, true } };
	vd_add(d, 0, s2, 2);
	vd_kick(d, 0);
	assert_true(vd_used(d, 0, &uid, &ul));
	assert_int_equal(ul, 513);
	assert_int_equal(d->ram[ds + 511], 0x77);
	assert_int_equal(d->ram[ds + 512], VIRTIO_BLK_S_OK);
	/* Errors: past the end, unknown type, no room for a header. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_IN, IMG_SIZE / 512 - 1, r, 1024, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(&f, VIRTIO_BLK_T_OUT, UINT64_MAX, w, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(&f, 99, 0, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	struct vd_seg shorth[2] = { { w, 8, false }, { r, 1, true } };
	vd_add(d, 0, shorth, 2);
	vd_kick(d, 0);
	assert_true(vd_used(d, 0, &uid, &ul));
	assert_int_equal(ul, 0);
	/* Counters. */
	struct virtio_blk_stats st;
	assert_int_equal(virtio_blk_get_stats(f.b, 0, &st), 0);
	assert_int_equal(virtio_blk_get_stats(f.b, virtio_blk_num_queues(f.b), &st), -EINVAL);
	virtio_blk_get_stats(f.b, 0, &st);
	assert_int_equal(st.write_ops, 3);
	assert_int_equal(st.read_ops, 3);
	assert_int_equal(st.bytes_written, 4096 + 512);
	assert_int_equal(st.bytes_read, 4096 + 512);
	assert_int_equal(st.flush_ops, 1);
	assert_int_equal(st.errors, 4);
	assert_int_equal(st.requests, 10);
	assert_false(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	destroy(&f);
}

static void test_unsafe_flush(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_UNSAFE, VIRTIO_RUN_INLINE, false), 0);
	assert_true(f.features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f.img.flushes, 0);
	destroy(&f);
}

static uint64_t seg16(struct vd *d, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint64_t s = vd_alloc(d, 16);
	vd_put(d, s, sector, 8);
	vd_put(d, s + 8, num, 4);
	vd_put(d, s + 12, flags, 4);
	return s;
}

static void test_discard_write_zeroes(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false), 0);
	struct vd *d = &f.d;
	uint8_t pat[65536], back[65536], zero[65536] = { 0 };
	memset(pat, 0x5c, sizeof(pat));
	assert_int_equal(pwrite(f.fd, pat, sizeof(pat), 0), (ssize_t)sizeof(pat));
	/* Discard 8 KiB at 4 KiB: the host sees zeros there (hole), data around it stays. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_DISCARD, 0, seg16(d, 8, 16, 0), 16, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f.fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	assert_memory_equal(back, pat, 4096);
	assert_memory_equal(back + 4096, zero, 8192);
	assert_memory_equal(back + 12288, pat, 4096);
	/* Write zeroes, without and with unmap. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg16(d, 32, 8, 0), 16, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(req(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg16(d, 64, 3, VIRTIO_BLK_WZ_UNMAP), 16, false, NULL),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(pread(f.fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	assert_memory_equal(back + 32 * 512, zero, 8 * 512);
	assert_memory_equal(back + 40 * 512, pat, 24 * 512);
	assert_memory_equal(back + 64 * 512, zero, 3 * 512);
	assert_memory_equal(back + 67 * 512, pat, 512);
	/* Unknown flags / unmap on discard: UNSUPP; out of range: IOERR; bad length: IOERR. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_DISCARD, 0, seg16(d, 0, 1, 1), 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(req(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg16(d, 0, 1, 6), 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(req(&f, VIRTIO_BLK_T_DISCARD, 0, seg16(d, IMG_SIZE / 512, 1, 0), 16, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(&f, VIRTIO_BLK_T_DISCARD, 0, seg16(d, 0, 1, 0), 12, false, NULL), VIRTIO_BLK_S_IOERR);
	struct virtio_blk_stats st;
	virtio_blk_get_stats(f.b, 0, &st);
	assert_int_equal(st.discard_ops, 4);
	assert_int_equal(st.write_zeroes_ops, 3);
	destroy(&f);
}

static void test_readonly(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, true, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false), 0);
	struct vd *d = &f.d;
	assert_true(f.features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(f.features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	uint8_t pat[4096];
	memset(pat, 0x3c, sizeof(pat));
	assert_int_equal(pwrite(f.fd, pat, sizeof(pat), 0), 4096);
	uint64_t w = vd_alloc(d, 4096);
	memset(d->ram + w, 0x11, 4096);
	/* The device itself refuses writes, discard and write-zeroes. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_OUT, 0, w, 4096, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(&f, VIRTIO_BLK_T_DISCARD, 0, seg16(d, 0, 8, 0), 16, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(&f, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg16(d, 0, 8, 0), 16, false, NULL), VIRTIO_BLK_S_IOERR);
	uint8_t back[4096];
	assert_int_equal(pread(f.fd, back, 4096, 0), 4096);
	assert_memory_equal(back, pat, 4096);
	/* Reads work; flush is harmless. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_IN, 0, w, 4096, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(d->ram + w, pat, 4096);
	assert_int_equal(req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	destroy(&f);
}

static void test_hostile(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false), 0);
	struct vd *d = &f.d;
	uint64_t buf = vd_alloc(d, 64), dt = d->q[0].desc;
	for (int h = 0; h < 5; h++) {
		if (h)
			assert_int_not_equal(vd_bringup(d, SLOT, WANT, 1, QS, false), 0);
		switch (h) {
		case 0: /* loop */
			vd_desc(d, dt, 0, buf, 16, VIRTQ_DESC_F_NEXT, 1);
			vd_desc(d, dt, 1, buf, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
			vd_publish(d, 0, 0);
			break;
		case 1: /* outside RAM */
			vd_desc(d, dt, 0, 1ULL << 40, 16, 0, 0);
			vd_publish(d, 0, 0);
			break;
		case 2: /* length overflow */
			vd_desc(d, dt, 0, UINT64_MAX - 8, 16, 0, 0);
			vd_publish(d, 0, 0);
			break;
		case 3: /* index jump */
			d->q[0].avail_idx = 3 * QS;
			vd_put(d, d->q[0].avail + 2, d->q[0].avail_idx, 2);
			break;
		case 4: /* bad indirect: misaligned */
			vd_desc(d, dt, 0, buf + 1, 32, VIRTQ_DESC_F_INDIRECT, 0);
			vd_publish(d, 0, 0);
			break;
		}
		vd_kick(d, 0);
		assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	}
	/* The VMM (and the disk) keep running: reset, and I/O works again. */
	assert_int_not_equal(vd_bringup(d, SLOT, WANT, 1, QS, false), 0);
	uint64_t r = vd_alloc(d, 512);
	assert_int_equal(req(&f, VIRTIO_BLK_T_IN, 0, r, 512, true, NULL), VIRTIO_BLK_S_OK);
	destroy(&f);
}

static void test_worker_thread(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_WORKER, true), 0);
	struct vd *d = &f.d;
	uint64_t w = vd_alloc(d, 8192);
	memset(d->ram + w, 0x42, 8192);
	/* Notify through the "kernel" (the ioeventfd), as KVM would. */
	uint64_t h = vd_alloc(d, 16), st = vd_alloc(d, 1);
	vd_put(d, h, VIRTIO_BLK_T_OUT, 4);
	vd_put(d, h + 8, 16, 8);
	struct vd_seg s[3] = { { h, 16, false }, { w, 8192, false }, { st, 1, true } };
	vd_add(d, 0, s, 3);
	uint64_t one = 1;
	assert_true(d->ioev[0].on);
	assert_int_equal(write(d->ioev[0].fd, &one, 8), 8);
	uint32_t id, ul;
	bool got = false;
	for (int i = 0; i < 5000 && !(got = vd_used(d, 0, &id, &ul)); i++)
		usleep(1000);
	assert_true(got);
	assert_int_equal(d->ram[st], VIRTIO_BLK_S_OK);
	/* And the MMIO fallback + flush. */
	assert_int_equal(req(&f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f.img.flushes, 1);
	uint8_t back[8192];
	assert_int_equal(pread(f.fd, back, sizeof(back), 16 * 512), (ssize_t)sizeof(back));
	assert_memory_equal(back, d->ram + w, sizeof(back));
	destroy(&f);
}

/* Waits for the next used element of queue q (worker mode). */
static bool wait_used(struct vd *d, unsigned q)
{
	uint32_t id, ul;
	for (int i = 0; i < 5000; i++) {
		if (vd_used(d, q, &id, &ul))
			return true;
		usleep(1000);
	}
	return false;
}

static void test_multiqueue(void **state)
{
	struct fx f;
	/* The default offers VIRTIO_BLK_DEFAULT_QUEUES; too many is refused. */
	assert_int_equal(make(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false), 0);
	assert_true(f.features & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
	assert_int_equal(virtio_blk_num_queues(f.b), VIRTIO_BLK_DEFAULT_QUEUES);
	assert_int_equal(vd_rd(&f.d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BLK_CFG_NUM_QUEUES, 2),
			 VIRTIO_BLK_DEFAULT_QUEUES);
	destroy(&f);
	assert_int_equal(make_nq(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_INLINE, false,
				 VIRTIO_BLK_MAX_QUEUES + 1), -EINVAL);
	destroy(&f);

	/* Two queues served by the worker, each kicked through its ioeventfd. */
	assert_int_equal(make_nq(&f, false, VIRTIO_BLK_CACHE_WRITEBACK, VIRTIO_RUN_WORKER, true, 2), 0);
	struct vd *d = &f.d;
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BLK_CFG_NUM_QUEUES, 2), 2);
	uint8_t pat[4096];
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(pwrite(f.fd, pat, sizeof(pat), 8 * 512), (ssize_t)sizeof(pat));
	uint64_t buf[2], st[2];
	for (unsigned q = 0; q < 2; q++) {
		buf[q] = vd_alloc(d, 4096);
		st[q] = vd_alloc(d, 1);
		uint64_t h = vd_alloc(d, 16);
		vd_put(d, h, q ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 4);
		vd_put(d, h + 8, q ? 8 : 64, 8);
		d->ram[st[q]] = 0xee;
		memset(d->ram + buf[q], q ? 0 : 0x33, 4096);
		struct vd_seg s[3] = { { h, 16, false }, { buf[q], 4096, q == 1 }, { st[q], 1, true } };
		vd_add(d, q, s, 3);
	}
	uint64_t one = 1;
	for (unsigned q = 0; q < 2; q++) {
		assert_true(d->ioev[q].on);
		assert_int_equal(write(d->ioev[q].fd, &one, 8), 8);
	}
	for (unsigned q = 0; q < 2; q++) {
		assert_true(wait_used(d, q));
		assert_int_equal(d->ram[st[q]], VIRTIO_BLK_S_OK);
	}
	assert_memory_equal(d->ram + buf[1], pat, sizeof(pat));
	uint8_t back[4096];
	assert_int_equal(pread(f.fd, back, sizeof(back), 64 * 512), (ssize_t)sizeof(back));
	assert_memory_equal(back, d->ram + buf[0], sizeof(back));
	/* Counters per queue and summed. */
	struct virtio_blk_stats s0, s1, all;
	assert_int_equal(virtio_blk_get_stats(f.b, 0, &s0), 0);
	assert_int_equal(virtio_blk_get_stats(f.b, 1, &s1), 0);
	assert_int_equal(virtio_blk_get_stats(f.b, VIRTIO_BLK_ALL_QUEUES, &all), 0);
	assert_int_equal(virtio_blk_get_stats(f.b, 2, &s1), -EINVAL);
	virtio_blk_get_stats(f.b, 1, &s1);
	assert_int_equal(s0.write_ops, 1);
	assert_int_equal(s0.read_ops, 0);
	assert_int_equal(s1.read_ops, 1);
	assert_int_equal(s1.bytes_read, 4096);
	assert_int_equal(all.requests, 2);
	assert_int_equal(all.bytes_read + all.bytes_written, 8192);
	/* A hostile ring on queue 1 needs a reset; nothing crashes. */
	d->q[1].avail_idx = (uint16_t)(d->q[1].avail_idx + 1000);
	vd_put16_release(d, d->q[1].avail + 2, d->q[1].avail_idx);
	assert_int_equal(write(d->ioev[1].fd, &one, 8), 8);
	for (int i = 0; i < 5000 && !(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET); i++)
		usleep(1000);
	assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_rw_flush_id),
		cmocka_unit_test(test_unsafe_flush),
		cmocka_unit_test(test_discard_write_zeroes),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_worker_thread),
		cmocka_unit_test(test_multiqueue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
