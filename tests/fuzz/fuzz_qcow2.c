// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the qcow2 backend on an image in memory (a memfd), opened
 * read-write, with a 1 MiB raw backing file in memory for images that name
 * one.
 *   [0..31]   8 operations of 4 bytes: kind, offset (2 bytes, scaled to the
 *             disk), length (x 977 + 1): read, write, write-zeroes, discard,
 *             flush, or close and open again
 *   [32..]    the image: header, tables, data
 * Checks: no crash, hang or sanitizer report; whatever a write or
 * write-zeroes put there reads back; an image we opened and wrote without
 * an error opens again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block.h"
#include "qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define OPS 8
#define MAX_IMAGE (4u << 20)
#define MAX_LEN (255u * 977u + 1u)

static int open_mem(int fd, bool ro, struct block *backing, struct block **b)
{
	struct block_qcow2_opts o = { .l2_cache_bytes = 8192, .backing = backing };
	char err[512];
	return block_qcow2_from_fd(fd, NULL, ro, &o, b, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[MAX_LEN], back[MAX_LEN];
	struct block *bk = NULL, *b = NULL;
	int fd = -1, bfd = -1, dup_fd = -1;
	bool failed = false;

	if (size < 32 || size - 32 > MAX_IMAGE)
		return 0;
	fd = memfd_create("qcow2", MFD_CLOEXEC);
	bfd = memfd_create("backing", MFD_CLOEXEC);
	if (fd < 0 || bfd < 0 || write(fd, data + 32, size - 32) != (ssize_t)(size - 32))
		goto cleanup;
	for (unsigned i = 0; i < 1024; i++) { /* the backing file: 1 MiB of a pattern */
		uint8_t k[1024];
		memset(k, (int)(i * 7 + 1), sizeof(k));
		if (write(bfd, k, sizeof(k)) != (ssize_t)sizeof(k))
			goto cleanup;
	}
	if (block_raw_from_fd(bfd, true, &bk) < 0)
		goto cleanup;
	bfd = -1;
	if ((dup_fd = dup(fd)) < 0 || open_mem(dup_fd, false, bk, &b) < 0)
		goto cleanup;
	dup_fd = -1;
	for (unsigned i = 0; i < OPS && b; i++) {
		const uint8_t *op = data + 4 * i;
		uint64_t sz = b->size, off, len;
		if (!sz)
			break;
		off = (((uint64_t)op[1] << 8 | op[2]) * sz) >> 16;
		len = 1 + (uint64_t)op[3] * 977;
		if (len > sz - off)
			len = sz - off;
		struct iovec v[2] = { { buf, (size_t)len / 3 }, { buf + len / 3, (size_t)(len - len / 3) } };
		struct iovec w[1] = { { back, (size_t)len } };
		int r = 0;
		switch (op[0] % 6) {
		case 0:
			(void)block_readv(b, v, 2, off);
			break;
		case 1:
			for (uint64_t k = 0; k < len; k++)
				buf[k] = (uint8_t)(k * 31 + op[0] + i);
			if ((r = block_writev(b, v, 2, off)) == 0 && block_readv(b, w, 1, off) == 0)
				CHECK(!memcmp(buf, back, (size_t)len));
			break;
		case 2:
			if ((r = block_write_zeroes(b, off, len, op[0] & 8)) == 0 &&
					block_readv(b, w, 1, off) == 0)
				for (uint64_t k = 0; k < len; k++)
					CHECK(!back[k]);
			break;
		case 3:
			r = block_discard(b, off, len);
			break;
		case 4:
			r = block_flush(b);
			break;
		default:
			block_close(b);
			b = NULL;
			if ((dup_fd = dup(fd)) < 0)
				goto cleanup;
			r = open_mem(dup_fd, op[0] & 8, bk, &b);
			CHECK(r == 0 || failed); /* what we wrote opens again */
			if (r < 0)
				goto cleanup;
			dup_fd = -1;
			break;
		}
		failed |= r < 0;
	}
cleanup:
	block_close(b);
	block_close(bk);
	if (dup_fd >= 0)
		close(dup_fd);
	if (bfd >= 0)
		close(bfd);
	if (fd >= 0)
		close(fd);
	return 0;
}
