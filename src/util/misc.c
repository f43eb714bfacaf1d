// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int parse_size(const char *s, bool bytes_default, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	uint64_t mult = bytes_default ? 1 : MiB;
	if (*end) {
		static const struct { const char *sfx; uint64_t mult; } tab[] = {
			{ "", 0 },
			{ "B", 1 },
			{ "K", KiB }, { "KB", KiB }, { "KIB", KiB },
			{ "M", MiB }, { "MB", MiB }, { "MIB", MiB },
			{ "G", GiB }, { "GB", GiB }, { "GIB", GiB },
			{ "T", GiB * 1024 }, { "TB", GiB * 1024 }, { "TIB", GiB * 1024 },
		};
		mult = 0;
		for (size_t i = 1; i < ARRAY_SIZE(tab); i++)
			if (!strcasecmp(end, tab[i].sfx))
				mult = tab[i].mult;
		if (!mult)
			return -EINVAL;
	}
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*out = (uint64_t)v * mult;
	return 0;
}

void close_fd(int *fd)
{
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

char *str_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t checksum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)-s;
}
