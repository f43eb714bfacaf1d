// SPDX-License-Identifier: MIT
/* The block layer and its raw backend: opening by format, locks, the calls, refusals. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"

static char dir[64], img[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/nv-block-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(img, sizeof(img), "%s/disk.raw", dir);
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		return -1;
	return close(fd);
}

static int teardown(void **state)
{
	unlink(img);
	return rmdir(dir);
}

static void test_open_refusals(void **state)
{
	struct block *b = (struct block *)1;
	char err[256], path[160];
	struct block_conf c = { .path = path };
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(block_open(&c, &b, err, sizeof(err)), -ENOENT);
	assert_null(b);
	assert_non_null(strstr(err, "disk image "));
	assert_non_null(strstr(err, "/missing: No such file or directory"));
	c.path = dir; /* a directory, read-only: opens, but is no image */
	c.readonly = true;
	assert_int_equal(block_open(&c, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file or block device"));
	c.path = img;
	c.readonly = false;
	c.format = (enum block_format)7;
	assert_int_equal(block_open(&c, &b, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "this format is not supported"));
	assert_string_equal(block_format_name(BLOCK_FORMAT_RAW), "raw");
	assert_string_equal(block_format_name((enum block_format)7), "unknown");
	c.path = "";
	assert_int_equal(block_open(&c, &b, NULL, 0), -EINVAL);
	block_close(NULL);
}

static void test_locks(void **state)
{
	struct block *w = NULL, *w2 = NULL, *r1 = NULL, *r2 = NULL;
	char err[256];
	struct block_conf rw = { .path = img }, ro = { .path = img, .readonly = true };
	assert_int_equal(block_open(&rw, &w, err, sizeof(err)), 0);
	/* One writer: a second writer or a reader is refused while it holds the image. */
	assert_int_equal(block_open(&rw, &w2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use by another process"));
	assert_int_equal(block_open(&ro, &r1, err, sizeof(err)), -EBUSY);
	block_close(w);
	/* Any number of readers, and then no writer. */
	assert_int_equal(block_open(&ro, &r1, err, sizeof(err)), 0);
	assert_int_equal(block_open(&ro, &r2, err, sizeof(err)), 0);
	assert_int_equal(block_open(&rw, &w2, err, sizeof(err)), -EBUSY);
	assert_true(r1->readonly);
	assert_int_equal(r1->size, 1 << 20);
	block_close(r1);
	block_close(r2);
}

static void test_io(void **state)
{
	struct block *b = NULL;
	struct block_conf c = { .path = img };
	char a[4096], z[4096], back[8192];
	assert_int_equal(block_open(&c, &b, NULL, 0), 0);
	memset(a, 'A', sizeof(a));
	memset(z, 0, sizeof(z));
	struct iovec two[2] = { { a, 100 }, { a + 100, sizeof(a) - 100 } };
	assert_int_equal(block_writev(b, two, 2, 8192), 0);
	assert_int_equal(block_writev(b, two, 2, 12288), 0);
	assert_int_equal(block_flush(b), 0);
	struct iovec one = { back, 8192 };
	assert_int_equal(block_readv(b, &one, 1, 8192), 0);
	assert_memory_equal(back, a, 4096);
	assert_memory_equal(back + 4096, a, 4096);
	/* write-zeroes (with and without unmap) and discard read back as zeros here. */
	assert_int_equal(block_write_zeroes(b, 8192, 4096, false), 0);
	assert_int_equal(block_write_zeroes(b, 12288, 4096, true), 0);
	assert_int_equal(block_readv(b, &one, 1, 8192), 0);
	assert_memory_equal(back, z, 4096);
	assert_memory_equal(back + 4096, z, 4096);
	assert_int_equal(block_writev(b, two, 2, 0), 0);
	assert_int_equal(block_discard(b, 0, 4096), 0);
	/* Past the end: a short read is an error, not garbage. */
	struct iovec far = { back, 8192 };
	assert_int_equal(block_readv(b, &far, 1, (1 << 20) - 4096), -EIO);
	block_close(b);

	/* Read-only: every kind of write is refused with -EROFS, reads work. */
	c.readonly = true;
	assert_int_equal(block_open(&c, &b, NULL, 0), 0);
	assert_int_equal(block_writev(b, two, 2, 0), -EROFS);
	assert_int_equal(block_discard(b, 0, 4096), -EROFS);
	assert_int_equal(block_write_zeroes(b, 0, 4096, false), -EROFS);
	assert_int_equal(block_readv(b, &one, 1, 8192), 0);
	assert_int_equal(block_flush(b), 0);
	block_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_io),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
