// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

void bus_free(struct bus *b)
{
	if (!b)
		return;
	free(b->r);
	memset(b, 0, sizeof(*b));
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler h, void *opaque,
	const char *name)
{
	if (!len || base + len < base)
		return -EINVAL;
	size_t i = 0;
	while (i < b->n && b->r[i].base < base)
		i++;
	if (i > 0 && b->r[i - 1].base + b->r[i - 1].len > base)
		return -EEXIST;
	if (i < b->n && base + len > b->r[i].base)
		return -EEXIST;
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		struct bus_range *nr = realloc(b->r, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		b->r = nr;
		b->cap = ncap;
	}
	memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof(*b->r));
	b->r[i] = (struct bus_range){ base, len, h, opaque, name };
	b->n++;
	return 0;
}

bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, unsigned size, bool is_write)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct bus_range *r = &b->r[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			r->handler(r->opaque, addr - r->base, data, size, is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
