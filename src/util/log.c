// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

/*
 * The verbosity is process-wide configuration, not VM state: it is set once
 * by main() before any thread starts.
 */
static int verbose;

void nv_set_verbose(int level)
{
	verbose = level;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One fprintf keeps lines from different threads whole. */
	fprintf(stderr, "vmm: %s%s\n", prefix, buf);
}

void nv_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void nv_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void nv_info(const char *fmt, ...)
{
	if (verbose < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void nv_debug(const char *fmt, ...)
{
	if (verbose < 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}
