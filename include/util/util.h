/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every layer: logging, diagnostics lists, sizes, fds. */
#ifndef NV_UTIL_H
#define NV_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NV_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define KiB (1024ULL)
#define MiB (1024ULL * 1024ULL)
#define GiB (1024ULL * 1024ULL * 1024ULL)

/*
 * Logging. A sink receives whole messages (no newline) with their level;
 * info needs verbosity >= 0 and debug >= 1 (nv_set_verbose: -1 quiet, 0
 * normal, 1 debug), errors and warnings always pass.
 */
enum nv_level { NV_LOG_ERR = 0, NV_LOG_WARN, NV_LOG_INFO, NV_LOG_DEBUG };
struct nv_log {
	void (*write)(void *opaque, enum nv_level level, const char *msg);
	void *opaque;
};
/* The default sink: stderr, "vmm: error: ..." / "vmm: warning: ..." / "vmm: ...". */
const struct nv_log *nv_log_stderr(void);
/* To log (NULL: the default sink). */
void nv_logf(const struct nv_log *log, enum nv_level level, const char *fmt, ...) NV_PRINTF(3, 4);
void nv_vlogf(const struct nv_log *log, enum nv_level level, const char *fmt, va_list ap);
/* To the default sink. */
void nv_err(const char *fmt, ...) NV_PRINTF(1, 2);
void nv_warn(const char *fmt, ...) NV_PRINTF(1, 2);
void nv_info(const char *fmt, ...) NV_PRINTF(1, 2);
void nv_debug(const char *fmt, ...) NV_PRINTF(1, 2);
void nv_set_verbose(int level);

/*
 * A list of error messages gathered before giving up, so that a user sees
 * every problem at once. Each entry is already formatted, typically
 * "FILE:LINE:COL: KEY: message".
 */
struct diag {
	char **msgs;
	size_t n, cap;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
/* Adds "file:line:col: " + message (file NULL: message alone; line 0: no position). */
void diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	NV_PRINTF(5, 6);
void diag_vadd(struct diag *d, const char *file, int line, int col, const char *fmt, va_list ap);
void diag_print(const struct diag *d, FILE *out);

/*
 * Parses "512M", "4G", "512MiB", "1048576" (bytes when no suffix and
 * bytes_default, MiB otherwise). Returns 0 or -EINVAL / -ERANGE.
 */
int parse_size(const char *s, bool bytes_default, uint64_t *out);

/*
 * Full read/write helpers (fileio.c) that retry on EINTR and short
 * transfers. 0 or -errno; reading past the end of the file is -EIO
 * (pread_full) or -ENODATA (preadv_full).
 */
struct iovec;
struct stat;
int write_full(int fd, const void *buf, size_t len);
int pread_full(int fd, void *buf, size_t len, off_t off);
int preadv_full(int fd, const struct iovec *iov, int n, off_t off);
int pwritev_full(int fd, const struct iovec *iov, int n, off_t off);
/*
 * Replaces path with data[0..len) atomically: a temporary file in the same
 * directory, written, fsync'ed, renamed over path, the directory fsync'ed.
 * The mode (and, where permitted, owner) of like, or 0644 when like is NULL.
 * On failure path is untouched and no temporary file is left. 0 or -errno.
 */
int write_atomic(const char *path, const void *data, size_t len, const struct stat *like);

/* The value of a hexadecimal digit, or -1. */
int hex_digit(int c);

/* A malloc'd formatted string, or NULL when out of memory. */
char *str_printf(const char *fmt, ...) NV_PRINTF(1, 2);

/* Closes *fd if >= 0 and sets it to -1. */
void close_fd(int *fd);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Little-endian fields of n (1..8) bytes, as firmware tables and virtio use. */
static inline void le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The byte that makes p[0..n) sum to zero mod 256 (ACPI, MP table). */
uint8_t checksum8(const uint8_t *p, size_t n);

#endif
