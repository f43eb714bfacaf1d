// SPDX-License-Identifier: MIT
/*
 * The backing chain of a qcow2 image: the name in its header, resolved
 * against the image's directory when relative, opened read-only with a
 * shared lock (many overlays share one base; nobody can write it
 * meanwhile), raw or qcow2 by the format the image records (never probed).
 * Loops are found by device and inode before any lock is taken; the chain
 * is at most QCOW2_MAX_CHAIN images deep below the disk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_internal.h"
#include "qcow2_internal.h"
#include "util.h"

NV_PRINTF(4, 5)
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		int k = snprintf(err, errlen, "qcow2: ");
		va_start(ap, fmt);
		if (k >= 0 && (size_t)k < errlen)
			vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return rc;
}

char *qcow2_resolve(const char *image, const char *name)
{
	const char *slash = image ? strrchr(image, '/') : NULL;
	if (name[0] == '/' || !slash)
		return str_printf("%s", name);
	return str_printf("%.*s%s", (int)(slash - image + 1), image, name);
}

int qcow2_open_backing(struct qcow2 *q, const char *name, const char *fmt, unsigned depth,
		       const uint64_t *ids, char *err, size_t errlen)
{
	char sub[640];
	const char *why = NULL;
	struct qcow2 *bq = NULL;
	uint64_t *chain = NULL;
	struct stat st, self;
	char *path = NULL;
	int fd = -1, r;

	if (!fmt)
		return fail(err, errlen, -ENOTSUP, "the format of the backing file %s is not recorded "
			"(formats are never probed; record it: qemu-img rebase -u -b %s -F raw|qcow2)",
			name, name);
	bool raw = !strcmp(fmt, "raw");
	if (!raw && strcmp(fmt, "qcow2"))
		return fail(err, errlen, -ENOTSUP, "backing file %s: format '%s' is not supported "
			"(raw and qcow2 are)", name, fmt);
	if (depth + 1 > QCOW2_MAX_CHAIN)
		return fail(err, errlen, -ELOOP, "the backing chain is deeper than %d images",
			QCOW2_MAX_CHAIN);
	if (!(path = qcow2_resolve(q->path, name)) || !(chain = calloc(2 * depth + 2, sizeof(*chain)))) {
		r = -ENOMEM;
		goto cleanup;
	}
	/* The chain so far and this image: a loop is found before any lock (our own image's
	 * exclusive lock would make it look busy). */
	if (depth)
		memcpy(chain, ids, 2 * depth * sizeof(*chain));
	if (fstat(q->fd, &self) < 0 || stat(path, &st) < 0) {
		r = fail(err, errlen, -errno, "backing file %s: %s", path, strerror(errno));
		goto cleanup;
	}
	chain[2 * depth] = (uint64_t)self.st_dev;
	chain[2 * depth + 1] = (uint64_t)self.st_ino;
	for (unsigned i = 0; i <= depth; i++) {
		if (chain[2 * i] == (uint64_t)st.st_dev && chain[2 * i + 1] == (uint64_t)st.st_ino) {
			r = fail(err, errlen, -ELOOP, "backing file %s: the chain loops (the file is "
				"already in it)", path);
			goto cleanup;
		}
	}
	if ((r = block_file_open(path, true, false, &fd, &why)) < 0) {
		r = fail(err, errlen, r, "backing file %s: %s", path, why ? why : strerror(-r));
		goto cleanup;
	}
	if (raw) {
		if ((r = block_raw_from_fd(fd, true, &q->backing)) < 0) {
			r = fail(err, errlen, r, "backing file %s: %s", path, strerror(-r));
			goto cleanup;
		}
	} else {
		if ((r = qcow2_open_fd(fd, path, true, NULL, depth + 1, chain, &bq, sub,
				sizeof(sub))) < 0) {
			/* Deeper down: the innermost file that failed, and why. */
			const char *inner = sub + (strncmp(sub, "qcow2: ", 7) ? 0 : 7);
			if (!strncmp(inner, "backing file ", 13))
				r = fail(err, errlen, r, "%s", inner);
			else
				r = fail(err, errlen, r, "backing file %s: %s", path, inner);
			goto cleanup;
		}
		q->backing = &bq->b;
	}
	fd = -1; /* taken over */
	q->own_backing = true;
	q->st.chain_depth = 1 + (bq ? bq->st.chain_depth : 0);
cleanup:
	if (fd >= 0)
		close(fd);
	free(chain);
	free(path);
	return r;
}
