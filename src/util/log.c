// SPDX-License-Identifier: MIT
/*
 * Log sinks. A component that may be embedded (the VM's life cycle) logs
 * through the struct nv_log it was given; nv_err()/nv_warn()/nv_info()/
 * nv_debug() log through the default sink, stderr with the "vmm: " prefix.
 */
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

/*
 * The verbosity of the default sink is process-wide configuration, not VM
 * state: it is set once by main() before any thread starts.
 */
static int verbose;

void nv_set_verbose(int level)
{
	verbose = level;
}

static void stderr_write(void *opaque, enum nv_level level, const char *msg)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	(void)opaque;
	/* One fprintf keeps lines from different threads whole. */
	fprintf(stderr, "vmm: %s%s\n", prefix[level], msg);
}

static const struct nv_log stderr_log = { stderr_write, NULL };

const struct nv_log *nv_log_stderr(void)
{
	return &stderr_log;
}

static bool wanted(enum nv_level level)
{
	return level <= NV_LOG_WARN || (level == NV_LOG_INFO && verbose >= 0) ||
		(level == NV_LOG_DEBUG && verbose >= 1);
}

void nv_vlogf(const struct nv_log *log, enum nv_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	if (!wanted(level))
		return;
	if (!log)
		log = &stderr_log;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log->write(log->opaque, level, buf);
}

void nv_logf(const struct nv_log *log, enum nv_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nv_vlogf(log, level, fmt, ap);
	va_end(ap);
}

#define DEFAULT_SINK(name, level)                        \
	void name(const char *fmt, ...)                  \
	{                                                \
		va_list ap;                              \
		va_start(ap, fmt);                       \
		nv_vlogf(&stderr_log, level, fmt, ap);   \
		va_end(ap);                              \
	}
DEFAULT_SINK(nv_err, NV_LOG_ERR)
DEFAULT_SINK(nv_warn, NV_LOG_WARN)
DEFAULT_SINK(nv_info, NV_LOG_INFO)
DEFAULT_SINK(nv_debug, NV_LOG_DEBUG)
