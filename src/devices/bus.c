// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_rwlock_init(&b->lock, NULL);
}

void bus_free(struct bus *b)
{
	if (!b)
		return;
	free(b->r);
	pthread_rwlock_destroy(&b->lock);
	memset(b, 0, sizeof(*b));
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler h, void *opaque,
	const char *name)
{
	if (!len || base + len < base)
		return -EINVAL;
	int ret = 0;
	pthread_rwlock_wrlock(&b->lock);
	size_t i = 0;
	while (i < b->n && b->r[i].base < base)
		i++;
	if ((i > 0 && b->r[i - 1].base + b->r[i - 1].len > base) ||
	    (i < b->n && base + len > b->r[i].base)) {
		ret = -EEXIST;
		goto out;
	}
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		struct bus_range *nr = realloc(b->r, ncap * sizeof(*nr));
		if (!nr) {
			ret = -ENOMEM;
			goto out;
		}
		b->r = nr;
		b->cap = ncap;
	}
	memmove(&b->r[i + 1], &b->r[i], (b->n - i) * sizeof(*b->r));
	b->r[i] = (struct bus_range){ base, len, h, opaque, name };
	b->n++;
out:
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

int bus_unregister(struct bus *b, uint64_t base)
{
	int ret = -ENOENT;
	pthread_rwlock_wrlock(&b->lock);
	for (size_t i = 0; i < b->n; i++) {
		if (b->r[i].base == base) {
			memmove(&b->r[i], &b->r[i + 1], (b->n - i - 1) * sizeof(*b->r));
			b->n--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&b->lock);
	return ret;
}

bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, unsigned size, bool is_write)
{
	/* The lock is the only mutable part of a const bus. */
	pthread_rwlock_t *lock = (pthread_rwlock_t *)&b->lock;
	struct bus_range hit = { 0 };
	bool found = false;
	pthread_rwlock_rdlock(lock);
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct bus_range *r = &b->r[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			hit = *r;
			found = true;
			break;
		}
	}
	pthread_rwlock_unlock(lock);
	if (found) {
		hit.handler(hit.opaque, addr - hit.base, data, size, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
