// SPDX-License-Identifier: MIT
/*
 * Whole transfers: read and write helpers that retry on EINTR and short
 * transfers, their vectored forms, and a file replaced atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t r = write(fd, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	while (len) {
		ssize_t r = pread(fd, p, len, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO; /* file shorter than promised */
		p += r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

/* Drops done bytes from the front of iov[0..*n); returns the first entry left. */
static struct iovec *iov_advance(struct iovec *iov, int *n, size_t done)
{
	while (*n > 0 && done >= iov->iov_len) {
		done -= iov->iov_len;
		iov++;
		(*n)--;
	}
	if (*n > 0) {
		iov->iov_base = (char *)iov->iov_base + done;
		iov->iov_len -= done;
	}
	return iov;
}

/* preadv/pwritev until every byte moved; iov is a scratch copy the caller made. */
static int xfer_full(int fd, struct iovec *iov, int n, off_t off, bool write)
{
	while (n > 0) {
		int batch = n < IOV_MAX ? n : IOV_MAX;
		ssize_t r = write ? pwritev(fd, iov, batch, off) : preadv(fd, iov, batch, off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			size_t left = 0;
			for (int i = 0; i < n; i++)
				left += iov[i].iov_len;
			if (!left)
				return 0;
			return write ? -EIO : -ENODATA; /* past the end of the file */
		}
		off += r;
		iov = iov_advance(iov, &n, (size_t)r);
	}
	return 0;
}

static int vec_full(int fd, const struct iovec *iov, int n, off_t off, bool write)
{
	struct iovec small[16], *copy = small;
	int r;
	if (n < 0)
		return -EINVAL;
	if (n > (int)ARRAY_SIZE(small) && !(copy = malloc((size_t)n * sizeof(*copy))))
		return -ENOMEM;
	memcpy(copy, iov, (size_t)n * sizeof(*copy));
	r = xfer_full(fd, copy, n, off, write);
	if (copy != small)
		free(copy);
	return r;
}

int preadv_full(int fd, const struct iovec *iov, int n, off_t off)
{
	return vec_full(fd, iov, n, off, false);
}

int pwritev_full(int fd, const struct iovec *iov, int n, off_t off)
{
	return vec_full(fd, iov, n, off, true);
}

int write_atomic(const char *path, const void *data, size_t len, const struct stat *like)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc = 0;

	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, slash ? slash + 1 : path) >=
			(int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, like ? like->st_mode & 07777 : 0644) < 0 ||
			(like && fchown(fd, like->st_uid, like->st_gid) < 0 && errno != EPERM)) {
		rc = -errno;
		goto cleanup;
	}
	rc = write_full(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0) {
		/* The rename itself survives a crash once the directory is synced. */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}
