// SPDX-License-Identifier: MIT
/*
 * Fuzz target: virtio-blk behind the PCI transport, on a 64 KiB in-memory
 * image, with fuzzer-chosen guest memory, ring state and notifies.
 *   [0]      flags: bit 0 read-only, bit 1 cache=unsafe, bit 2 no EVENT_IDX,
 *            bit 3 no INDIRECT_DESC, bit 4 a second notify after the first
 *   [1..2]   avail index the driver publishes (le16)
 *   [3..]    the descriptor table (64 x 16 bytes), then the avail ring
 *            entries (64 x 2), then the data area at guest 0x100000
 * The queue is at the driver's usual place (tests/unit/virtio_test_driver.h).
 * Checks: no crash/hang/sanitizer report, the image keeps its size, a
 * read-only image is never modified.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define VD_RAM_SIZE (2u << 20) /* rings at 64 KiB, data at 1 MiB */
#include "../unit/fake_block.h"
#include "../unit/virtio_test_driver.h"
#include "virtio_blk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t g_ram[VD_RAM_SIZE];

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define QS 64u
#define IMG 65536u

static int no_sync(struct fake_block *f)
{
	return 0;
}

static uint64_t image_sum(int fd)
{
	static uint8_t buf[IMG];
	uint64_t s = 0;
	if (pread(fd, buf, IMG, 0) != (ssize_t)IMG)
		return 0;
	for (unsigned i = 0; i < IMG; i++)
		s = s * 31 + buf[i];
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	static struct vd d;
	struct virtio_blk *b = NULL;
	struct fake_block img = { .raw = NULL };
	int fd = memfd_create("fuzz-blk", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	static uint8_t pat[IMG];
	for (unsigned i = 0; i < IMG; i++)
		pat[i] = (uint8_t)(i * 13);
	if (pwrite(fd, pat, IMG, 0) != (ssize_t)IMG || vd_init_ram(&d, false, g_ram) < 0)
		goto out;
	uint8_t fl = data[0];
	if (fake_block_init(&img, fd, fl & 1) < 0)
		goto out;
	img.on_flush = no_sync;
	struct virtio_blk_conf c = { .image = &img.b, .readonly = fl & 1,
				     .cache = (fl & 2) ? VIRTIO_BLK_CACHE_UNSAFE : VIRTIO_BLK_CACHE_WRITEBACK,
				     .serial = "fuzz", .queue_size = QS, .run = VIRTIO_RUN_INLINE, .mem = &d.mem };
	if (virtio_blk_new(d.host, &c, 1, &b) < 0)
		goto out;
	uint64_t want = ~0ULL;
	if (fl & 4)
		want &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (fl & 8)
		want &= ~VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	CHECK(vd_bringup(&d, 1, want, 1, QS, false) != 0);
	uint64_t before = (fl & 1) ? image_sum(fd) : 0;
	/* Lay the input over the rings and the data area. */
	const uint8_t *p = data + 3;
	size_t left = size - 3, k;
	k = left < QS * 16 ? left : QS * 16;
	memcpy(d.ram + d.q[0].desc, p, k);
	p += k;
	left -= k;
	k = left < QS * 2 ? left : QS * 2;
	memcpy(d.ram + d.q[0].avail + 4, p, k);
	p += k;
	left -= k;
	k = left < 65536 ? left : 65536;
	memcpy(d.ram + VD_DATA_BASE, p, k);
	vd_put(&d, d.q[0].avail + 2, (uint64_t)(data[1] | data[2] << 8), 2);
	vd_kick(&d, 0);
	if (fl & 16) {
		vd_put(&d, d.q[0].avail + 2, (uint64_t)(data[1] | data[2] << 8) + 1, 2);
		vd_kick(&d, 0);
	}
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == IMG);
	if (fl & 1)
		CHECK(image_sum(fd) == before);
	struct virtio_blk_stats s;
	CHECK(virtio_blk_get_stats(b, 0, &s) == 0);
	CHECK(s.errors <= s.requests);
out:
	virtio_blk_free(b);
	fake_block_fini(&img);
	if (d.ram)
		vd_fini(&d);
	memset(&d, 0, sizeof(d));
	close(fd);
	return 0;
}
