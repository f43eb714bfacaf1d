// SPDX-License-Identifier: MIT
/*
 * block_qcow2_create: a fresh qcow2 v3 image (an overlay when given a
 * backing file). Layout: the header with its extensions and the backing
 * file name in cluster 0, the refcount table in cluster 1, its first
 * refcount block in cluster 2, the L1 table from cluster 3 (a hole: all
 * entries zero). 64 KiB clusters, 16-bit refcounts, no feature bits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_internal.h"
#include "util.h"

#define CREATE_CLUSTER_BITS 16

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == path ? str_printf("/") : slash ? str_printf("%.*s", (int)(slash - path),
		path) : str_printf(".");
	if (!dir)
		return -ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	free(dir);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Opens the backing chain read-only to check it; its virtual size in *size. */
static int check_backing(const char *path, const char *backing, enum block_format fmt,
			 uint64_t *size, char *err, size_t errlen)
{
	char *bp = qcow2_resolve(path, backing), why[768];
	struct block *b = NULL;
	int r;
	if (!bp)
		return -ENOMEM;
	struct block_conf c = { .path = bp, .format = fmt, .readonly = true };
	r = block_open(&c, &b, why, sizeof(why));
	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "qcow2: backing file: %s", why);
	} else {
		*size = b->size;
		block_close(b);
	}
	free(bp);
	return r;
}

NV_PRINTF(3, 4)
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int block_qcow2_create(const char *path, uint64_t size, const char *backing,
		       enum block_format backing_fmt, char *err, size_t errlen)
{
	const uint64_t cs = 1ULL << CREATE_CLUSTER_BITS, span = cs * (cs / 8);
	uint8_t *buf = NULL;
	bool created = false;
	int fd = -1, r;

	if (!path || !path[0])
		return refuse(err, errlen, "qcow2: no path given");
	if (backing) {
		size_t bl = strlen(backing);
		if (!bl || bl > QCOW2_MAX_BACKING_NAME)
			return refuse(err, errlen, "qcow2: the backing file name must have 1 to %d "
				"bytes", QCOW2_MAX_BACKING_NAME);
		if (backing_fmt != BLOCK_FORMAT_RAW && backing_fmt != BLOCK_FORMAT_QCOW2)
			return refuse(err, errlen, "qcow2: backing format %d is not supported",
				(int)backing_fmt);
		uint64_t bsize = 0;
		if ((r = check_backing(path, backing, backing_fmt, &bsize, err, errlen)) < 0)
			return r;
		if (!size)
			size = (bsize + 511) & ~511ULL;
	}
	if (size % 512)
		return refuse(err, errlen, "qcow2: the size %llu is not a multiple of 512",
			(unsigned long long)size);
	uint64_t l1_size = (size + span - 1) / span;
	if (l1_size > QCOW2_MAX_L1_BYTES / 8)
		return refuse(err, errlen, "qcow2: the size %llu is too big",
			(unsigned long long)size);
	uint64_t l1c = (l1_size * 8 + cs - 1) / cs;
	l1c = l1c ? l1c : 1;

	if (!(buf = calloc(1, cs))) {
		r = -ENOMEM;
		goto cleanup;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "qcow2: %s: %s", path, strerror(errno));
		goto cleanup;
	}
	created = true;
	/* cluster 0: the header (version 3, 112 bytes), extensions, the backing file name */
	put_be(buf, QCOW2_MAGIC, 4);
	put_be(buf + 4, 3, 4);
	put_be(buf + 20, CREATE_CLUSTER_BITS, 4);
	put_be(buf + 24, size, 8);
	put_be(buf + 36, l1_size, 4);
	put_be(buf + 40, 3 * cs, 8);   /* L1 table */
	put_be(buf + 48, cs, 8);       /* refcount table */
	put_be(buf + 56, 1, 4);
	put_be(buf + 96, 4, 4);        /* refcount_order: 16 bits */
	put_be(buf + 100, 112, 4);     /* header_length */
	size_t at = 112;
	if (backing) {
		const char *fmt = block_format_name(backing_fmt);
		size_t fl = strlen(fmt), bl = strlen(backing);
		put_be(buf + at, QCOW2_EXT_BACKING_FMT, 4);
		put_be(buf + at + 4, fl, 4);
		memcpy(buf + at + 8, fmt, fl);
		at += 8 + ((fl + 7) & ~(size_t)7);
		at += 8; /* the end of the extensions: type 0, length 0 */
		memcpy(buf + at, backing, bl);
		put_be(buf + 8, at, 8);
		put_be(buf + 16, bl, 4);
	}
	if ((r = pwrite(fd, buf, cs, 0) == (ssize_t)cs ? 0 : -EIO) < 0)
		goto io;
	/* cluster 1: the refcount table; cluster 2: its first block */
	memset(buf, 0, cs);
	put_be(buf, 2 * cs, 8);
	if ((r = pwrite(fd, buf, cs, (off_t)cs) == (ssize_t)cs ? 0 : -EIO) < 0)
		goto io;
	memset(buf, 0, cs);
	for (uint64_t c = 0; c < 3 + l1c; c++)
		put_be(buf + 2 * c, 1, 2);
	if ((r = pwrite(fd, buf, cs, (off_t)(2 * cs)) == (ssize_t)cs ? 0 : -EIO) < 0)
		goto io;
	if (ftruncate(fd, (off_t)((3 + l1c) * cs)) < 0 || fdatasync(fd) < 0) {
		r = -errno;
		goto io;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto io;
	}
	fd = -1;
	if ((r = fsync_dir_of(path)) < 0)
		goto io;
	r = 0;
	goto cleanup;
io:
	if (err && errlen)
		snprintf(err, errlen, "qcow2: cannot write %s: %s", path, strerror(-r));
cleanup:
	if (fd >= 0)
		close(fd);
	if (r < 0 && created)
		unlink(path);
	free(buf);
	return r;
}
