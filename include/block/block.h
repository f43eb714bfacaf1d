/* SPDX-License-Identifier: MIT */
/*
 * The block layer: a disk image behind one interface, so that virtio-blk
 * serves any format the same way. An image's format is always given, never
 * probed from its contents (a guest that writes a qcow2 header into a raw
 * disk must not change what the host opens next time).
 *
 * Backends: raw (raw.c: the file or block device as it is) and qcow2
 * (qcow2*.c, qcow2.h: version 3 with a backing chain). A backend is a
 * struct whose first member is struct block; the calls below go through its
 * ops. Calls on one image come from one thread at a time (the disk's
 * worker); different images are independent. Offsets and lengths are in
 * bytes; the device keeps requests inside size.
 */
#ifndef NV_BLOCK_H
#define NV_BLOCK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum block_format { BLOCK_FORMAT_RAW = 0, BLOCK_FORMAT_QCOW2 };

struct block;

struct block_ops {
	/* Whole transfers: 0 or -errno (-EIO for a short read past the end). */
	int (*readv)(struct block *b, const struct iovec *iov, int n, uint64_t off);
	int (*writev)(struct block *b, const struct iovec *iov, int n, uint64_t off);
	/* Everything written so far is durable when it returns 0. */
	int (*flush)(struct block *b);
	/* The range may read as anything afterwards; a hint: 0 when unsupported. */
	int (*discard)(struct block *b, uint64_t off, uint64_t len);
	/* The range reads as zeros afterwards; unmap: its space may be freed. */
	int (*write_zeroes)(struct block *b, uint64_t off, uint64_t len, bool unmap);
	void (*close)(struct block *b);
};

struct block {
	const struct block_ops *ops;
	uint64_t size;  /* bytes the guest sees */
	bool readonly;  /* opened read-only: writes, discards and write-zeroes fail with -EROFS */
};

struct block_conf {
	const char *path;
	enum block_format format;
	bool readonly;
	bool exclusive; /* take the image's lock: exclusive, or shared when readonly (default) */
};

/*
 * Opens the image. 0 and *out, or -errno with a message naming the image in
 * err (errlen bytes at most; may be NULL): -ENOENT, -EACCES, -EBUSY (another
 * process holds its lock), -EINVAL (not a regular file or block device),
 * -ENOTSUP (a format this build cannot serve, or a qcow2 feature it refuses:
 * compression, encryption, internal snapshots, ...; docs/qcow2.md), -EUCLEAN
 * (a qcow2 image whose metadata is inconsistent), -ELOOP (a backing chain
 * that loops or is too deep).
 */
int block_open(const struct block_conf *c, struct block **out, char *err, size_t errlen);
void block_close(struct block *b); /* NULL ok */
/* "raw", "qcow2", or "unknown". */
const char *block_format_name(enum block_format f);

static inline int block_readv(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	return b->ops->readv(b, iov, n, off);
}
static inline int block_writev(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	return b->readonly ? -EROFS : b->ops->writev(b, iov, n, off);
}
static inline int block_flush(struct block *b)
{
	return b->ops->flush(b);
}
static inline int block_discard(struct block *b, uint64_t off, uint64_t len)
{
	return b->readonly ? -EROFS : b->ops->discard(b, off, len);
}
static inline int block_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap)
{
	return b->readonly ? -EROFS : b->ops->write_zeroes(b, off, len, unmap);
}

/* The raw backend over an open fd (taken over: closed with the block). For tests too. */
int block_raw_from_fd(int fd, bool readonly, struct block **out);

#endif
