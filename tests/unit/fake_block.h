/* SPDX-License-Identifier: MIT */
/*
 * A block backend for device tests: a real raw image underneath, with its
 * flushes counted and optionally replaced (slowed down, failed, skipped).
 * Header-only, static functions: included by unit tests and fuzz targets.
 */
#ifndef NV_FAKE_BLOCK_H
#define NV_FAKE_BLOCK_H

#include <fcntl.h>
#include <unistd.h>

#include "block.h"

struct fake_block {
	struct block b; /* first */
	struct block *raw;
	unsigned flushes;
	int (*on_flush)(struct fake_block *f); /* NULL: the raw image's own flush */
	void *opaque;
};

static int fb_readv(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	return block_readv(((struct fake_block *)b)->raw, iov, n, off);
}

static int fb_writev(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	return block_writev(((struct fake_block *)b)->raw, iov, n, off);
}

static int fb_flush(struct block *b)
{
	struct fake_block *f = (struct fake_block *)b;
	f->flushes++;
	return f->on_flush ? f->on_flush(f) : block_flush(f->raw);
}

static int fb_discard(struct block *b, uint64_t off, uint64_t len)
{
	return block_discard(((struct fake_block *)b)->raw, off, len);
}

static int fb_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap)
{
	return block_write_zeroes(((struct fake_block *)b)->raw, off, len, unmap);
}

static void fb_close(struct block *b)
{
	(void)b; /* fake_block_close releases it */
}

static const struct block_ops fake_block_ops = {
	fb_readv, fb_writev, fb_flush, fb_discard, fb_write_zeroes, fb_close,
};

/* Wraps the raw image at fd (dup'ed; the caller keeps fd). 0 or -errno. */
static inline int fake_block_init(struct fake_block *f, int fd, bool readonly)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	int r;
	memset(f, 0, sizeof(*f));
	if (dfd < 0)
		return -errno;
	r = block_raw_from_fd(dfd, readonly, &f->raw);
	if (r < 0) {
		close(dfd);
		return r;
	}
	f->b = (struct block){ &fake_block_ops, f->raw->size, readonly };
	return 0;
}

static inline void fake_block_fini(struct fake_block *f)
{
	block_close(f->raw);
	f->raw = NULL;
}

#endif
