// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_free(struct diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}

void diag_vadd(struct diag *d, const char *file, int line, int col, const char *fmt, va_list ap)
{
	char msg[1024], pos[512] = "";
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (file && line > 0)
		snprintf(pos, sizeof(pos), "%s:%d:%d: ", file, line, col > 0 ? col : 1);
	else if (file)
		snprintf(pos, sizeof(pos), "%s: ", file);
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		char **nm = realloc(d->msgs, ncap * sizeof(*nm));
		if (!nm)
			return; /* out of memory: the message is lost, the count stays honest */
		d->msgs = nm;
		d->cap = ncap;
	}
	size_t len = strlen(pos) + strlen(msg) + 1;
	char *s = malloc(len);
	if (!s)
		return;
	snprintf(s, len, "%s%s", pos, msg);
	d->msgs[d->n++] = s;
}

void diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, file, line, col, fmt, ap);
	va_end(ap);
}

void diag_print(const struct diag *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(out, "vmm: error: %s\n", d->msgs[i]);
}
