// SPDX-License-Identifier: MIT
/* The util layer: sizes, diagnostics, little-endian fields, whole transfers, atomic replace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static void test_parse_size(void **state)
{
	uint64_t v = 0;
	assert_int_equal(parse_size("512M", false, &v), 0);
	assert_int_equal(v, 512 * MiB);
	assert_int_equal(parse_size("4g", false, &v), 0);
	assert_int_equal(v, 4 * GiB);
	assert_int_equal(parse_size("2GiB", false, &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("1536", false, &v), 0); /* plain number: MiB */
	assert_int_equal(v, 1536 * MiB);
	assert_int_equal(parse_size("1536", true, &v), 0); /* or bytes */
	assert_int_equal(v, 1536);
	assert_int_equal(parse_size("7B", false, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(parse_size("lots", false, &v), -EINVAL);
	assert_int_equal(parse_size("-1G", false, &v), -EINVAL);
	assert_int_equal(parse_size("12Q", false, &v), -EINVAL);
	assert_int_equal(parse_size("", false, &v), -EINVAL);
	assert_int_equal(parse_size(NULL, false, &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", false, &v), -ERANGE);
	assert_int_equal(parse_size("17179869184T", false, &v), -ERANGE); /* 2^34 TiB */
}

static void test_diag(void **state)
{
	struct diag d;
	diag_init(&d);
	diag_add(&d, "vm.toml", 3, 7, "cpus: %s", "must be a number");
	diag_add(&d, "vm.toml", 0, 0, "cannot read the file");
	diag_add(&d, NULL, 0, 0, "plain %d", 42);
	diag_add(&d, "f", 2, 0, "column 0 reads as 1");
	assert_int_equal(d.n, 4);
	assert_string_equal(d.msgs[0], "vm.toml:3:7: cpus: must be a number");
	assert_string_equal(d.msgs[1], "vm.toml: cannot read the file");
	assert_string_equal(d.msgs[2], "plain 42");
	assert_string_equal(d.msgs[3], "f:2:1: column 0 reads as 1");
	diag_free(&d);
	assert_int_equal(d.n, 0);
	diag_free(NULL);
}

static void test_small_helpers(void **state)
{
	uint8_t b[8] = { 0 };
	le_put(b, 0x1122334455667788ull, 8);
	assert_int_equal(b[0], 0x88);
	assert_int_equal(b[7], 0x11);
	assert_int_equal(le_get(b, 2), 0x7788);
	assert_int_equal(le_get(b, 8), 0x1122334455667788ull);
	uint8_t t[4] = { 1, 2, 3, 0 };
	t[3] = checksum8(t, 3);
	assert_int_equal((uint8_t)(t[0] + t[1] + t[2] + t[3]), 0);
	assert_int_equal(hex_digit('a'), 10);
	assert_int_equal(hex_digit('F'), 15);
	assert_int_equal(hex_digit('7'), 7);
	assert_int_equal(hex_digit('g'), -1);
	char *s = str_printf("%s-%d", "x", 5);
	assert_string_equal(s, "x-5");
	free(s);
	int fd = open("/dev/null", O_RDONLY);
	close_fd(&fd);
	assert_int_equal(fd, -1);
	close_fd(&fd); /* harmless twice */
	uint64_t a = now_ns(), c = now_ns();
	assert_true(c >= a);
}

static char dir[64];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/nv-util-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_vectored(void **state)
{
	char path[128], buf[3 * 4096 + 17];
	snprintf(path, sizeof(path), "%s/vec", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	/* More pieces than IOV_MAX, of odd sizes, are all written and read back. */
	int n = IOV_MAX + 5;
	struct iovec *iov = calloc((size_t)n, sizeof(*iov));
	assert_non_null(iov);
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)(i % 3) * 5 + 1;
		iov[i].iov_base = buf + off;
		iov[i].iov_len = len;
		off += len;
	}
	assert_true(off < sizeof(buf));
	assert_int_equal(pwritev_full(fd, iov, n, 100), 0);
	assert_ptr_equal(iov[0].iov_base, buf); /* the caller's array is untouched */
	char back[sizeof(buf)];
	memset(back, 0, sizeof(back));
	assert_int_equal(pread_full(fd, back, off, 100), 0);
	assert_memory_equal(back, buf, off);
	memset(back, 0, sizeof(back));
	struct iovec two[2] = { { back, 10 }, { back + 10, off - 10 } };
	assert_int_equal(preadv_full(fd, two, 2, 100), 0);
	assert_memory_equal(back, buf, off);
	/* Past the end: no data there. */
	struct iovec far[1] = { { back, 64 } };
	assert_int_equal(preadv_full(fd, far, 1, 100 + (off_t)off - 10), -ENODATA);
	assert_int_equal(pread_full(fd, back, 64, 100 + (off_t)off - 10), -EIO);
	assert_int_equal(preadv_full(fd, two, 0, 0), 0);
	assert_int_equal(preadv_full(fd, two, -1, 0), -EINVAL);
	free(iov);
	close(fd);
}

static int count_entries(void)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || (e->d_name[1] && e->d_name[1] != '.');
	closedir(d);
	return n;
}

static void test_write_atomic(void **state)
{
	char path[128], got[64];
	struct stat st, like;
	snprintf(path, sizeof(path), "%s/file", dir);
	int before = count_entries();
	assert_int_equal(write_atomic(path, "first\n", 6, NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(stat(path, &like), 0);
	assert_int_equal(write_atomic(path, "second\n", 7, &like), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	int fd = open(path, O_RDONLY);
	assert_int_equal(pread_full(fd, got, 7, 0), 0);
	close(fd);
	assert_memory_equal(got, "second\n", 7);
	assert_int_equal(st.st_size, 7);
	assert_int_equal(count_entries(), before + 1); /* no temporary left */
	/* A directory that does not exist: an error, nothing created. */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/nope/file", dir);
	assert_int_equal(write_atomic(bad, "x", 1, NULL), -ENOENT);
	/* Over a directory: rename fails, the temporary is removed. */
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_true(write_atomic(sub, "x", 1, NULL) < 0);
	assert_int_equal(count_entries(), before + 2);
	rmdir(sub);
	/* A bare file name goes in the current directory. */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(write_atomic("bare", "b", 1, NULL), 0);
	assert_int_equal(access("bare", F_OK), 0);
	assert_int_equal(chdir(cwd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_diag),
		cmocka_unit_test(test_small_helpers),
		cmocka_unit_test(test_vectored),
		cmocka_unit_test(test_write_atomic),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
