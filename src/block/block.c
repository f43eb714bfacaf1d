// SPDX-License-Identifier: MIT
/* The block layer's front door: open an image by its (given) format. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "block_internal.h"
#include "qcow2.h"
#include "util.h"

const char *block_format_name(enum block_format f)
{
	switch (f) {
	case BLOCK_FORMAT_RAW:
		return "raw";
	case BLOCK_FORMAT_QCOW2:
		return "qcow2";
	}
	return "unknown";
}

static int failed(char *err, size_t errlen, int rc, const char *path, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "disk image %s: %s", path, what ? what : strerror(-rc));
	return rc;
}

int block_file_open(const char *path, bool readonly, bool exclusive, int *fd, const char **why)
{
	struct stat st;
	int f, fl, rc;

	*fd = -1;
	*why = NULL;
	/* O_NONBLOCK: a FIFO named as an image (or as a backing file) must not hang us. */
	f = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (f < 0)
		return -errno;
	if (fstat(f, &st) < 0 || (fl = fcntl(f, F_GETFL)) < 0 ||
			fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = -EINVAL;
		*why = "not a regular file or block device";
		goto fail;
	}
	/* One writer, or any number of readers: two VMs never write one image. */
	if (flock(f, (readonly && !exclusive ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (rc == -EBUSY)
			*why = "in use by another process (it holds the image's lock)";
		goto fail;
	}
	*fd = f;
	return 0;
fail:
	close(f);
	return rc;
}

int block_open(const struct block_conf *c, struct block **out, char *err, size_t errlen)
{
	const char *why;
	char qerr[768];
	int fd, rc;

	*out = NULL;
	if (!c || !c->path || !c->path[0])
		return failed(err, errlen, -EINVAL, "", "no path given");
	if (c->format == BLOCK_FORMAT_QCOW2) {
		rc = block_qcow2_open(c, NULL, out, qerr, sizeof(qerr));
		return rc < 0 ? failed(err, errlen, rc, c->path, qerr) : 0;
	}
	if (c->format != BLOCK_FORMAT_RAW)
		return failed(err, errlen, -ENOTSUP, c->path, "this format is not supported");
	rc = block_file_open(c->path, c->readonly, c->exclusive, &fd, &why);
	if (rc < 0)
		return failed(err, errlen, rc, c->path, why);
	rc = block_raw_from_fd(fd, c->readonly, out);
	if (rc < 0) {
		close(fd);
		return failed(err, errlen, rc, c->path, rc == -EINVAL ? "not a regular file or "
			"block device" : NULL);
	}
	return 0;
}

void block_close(struct block *b)
{
	if (b)
		b->ops->close(b);
}
