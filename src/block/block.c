// SPDX-License-Identifier: MIT
/* The block layer's front door: open an image by its (given) format. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "block.h"
#include "util.h"

const char *block_format_name(enum block_format f)
{
	switch (f) {
	case BLOCK_FORMAT_RAW:
		return "raw";
	}
	return "unknown";
}

static int failed(char *err, size_t errlen, int rc, const char *path, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "disk image %s: %s", path, what ? what : strerror(-rc));
	return rc;
}

int block_open(const struct block_conf *c, struct block **out, char *err, size_t errlen)
{
	int fd, rc;

	*out = NULL;
	if (!c || !c->path || !c->path[0])
		return failed(err, errlen, -EINVAL, "", "no path given");
	if (c->format != BLOCK_FORMAT_RAW)
		return failed(err, errlen, -ENOTSUP, c->path, "this format is not supported");
	fd = open(c->path, (c->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return failed(err, errlen, -errno, c->path, NULL);
	/* One writer, or any number of readers: two VMs never write one image. */
	if (flock(fd, (c->readonly && !c->exclusive ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return failed(err, errlen, rc, c->path, rc == -EBUSY ? "in use by another process "
			"(it holds the image's lock)" : NULL);
	}
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
