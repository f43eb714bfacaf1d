// SPDX-License-Identifier: MIT
/*
 * The raw backend: the guest's disk is the file (or block device) byte for
 * byte. preadv/pwritev straight between the image and the caller's buffers
 * (guest memory, for virtio-blk), fdatasync for a flush, fallocate for
 * discard (punch hole) and write-zeroes (zero range, or punch hole to
 * unmap), with a plain write of zeros where the file system has neither.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "util.h"

struct raw {
	struct block b; /* first */
	int fd;
};

static int raw_readv(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	int r = preadv_full(((struct raw *)b)->fd, iov, n, (off_t)off);
	return r == -ENODATA ? -EIO : r; /* the image shrank under us */
}

static int raw_writev(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	return pwritev_full(((struct raw *)b)->fd, iov, n, (off_t)off);
}

static int raw_flush(struct block *b)
{
	return fdatasync(((struct raw *)b)->fd) ? -errno : 0;
}

static int raw_discard(struct block *b, uint64_t off, uint64_t len)
{
	if (fallocate(((struct raw *)b)->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			(off_t)len) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOSYS ? 0 : -errno; /* a hint */
}

static int raw_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap)
{
	int fd = ((struct raw *)b)->fd;
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			 : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (fallocate(fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
		return -errno;
	if (!unmap && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			(off_t)len) == 0)
		return 0;
	static const uint8_t zeros[65536];
	while (len) {
		size_t k = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t r = pwrite(fd, zeros, k, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static void raw_close(struct block *b)
{
	struct raw *r = (struct raw *)b;
	close(r->fd);
	free(r);
}

static const struct block_ops raw_ops = {
	.readv = raw_readv,
	.writev = raw_writev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};

int block_raw_from_fd(int fd, bool readonly, struct block **out)
{
	struct stat st;
	uint64_t size;
	struct raw *r;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->b = (struct block){ .ops = &raw_ops, .size = size, .readonly = readonly };
	r->fd = fd;
	*out = &r->b;
	return 0;
}
