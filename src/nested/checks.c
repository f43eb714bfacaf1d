// SPDX-License-Identifier: MIT
/* The list of checks the preflight and the rules report. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nested.h"

void nested_checks_init(struct nested_checks *c)
{
	memset(c, 0, sizeof(*c));
}

void nested_checks_free(struct nested_checks *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].detail);
		free(c->v[i].fix);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

int nested_checks_add(struct nested_checks *c, const char *id, enum nested_verdict status,
	const char *fix, const char *fmt, ...)
{
	char *detail = NULL, *fixcopy = NULL;
	va_list ap;
	int rc = -ENOMEM;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) < 0)
		detail = NULL;
	va_end(ap);
	if (!detail || (fix && !(fixcopy = strdup(fix))))
		goto cleanup;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct nested_check *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			goto cleanup;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct nested_check){ id, status, detail, fixcopy };
	return 0;
cleanup:
	free(detail);
	free(fixcopy);
	return rc;
}

size_t nested_checks_count(const struct nested_checks *c, enum nested_verdict status)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].status == status;
	return n;
}

const char *nested_verdict_name(enum nested_verdict v)
{
	switch (v) {
	case NESTED_CHECK_OK:
		return "ok";
	case NESTED_CHECK_WARN:
		return "warn";
	case NESTED_CHECK_FAIL:
		return "fail";
	case NESTED_CHECK_INFO:
		return "info";
	case NESTED_CHECK_SKIP:
		return "skip";
	}
	return "?";
}
