/* SPDX-License-Identifier: MIT */
/*
 * Port I/O and MMIO dispatch. Devices register address ranges with a
 * handler; the vCPU exit path looks them up. Registration happens while the
 * VM is built (single-threaded); lookups afterwards need no lock.
 */
#ifndef NV_BUS_H
#define NV_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* offset is relative to the range's base; data holds size bytes (1, 2, 4 or 8). */
typedef void (*bus_handler)(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_handler handler;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range *r; /* sorted by base, non-overlapping */
	size_t n, cap;
};

void bus_init(struct bus *b);
void bus_free(struct bus *b);
/* 0, -EEXIST on overlap, -ENOMEM. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler h, void *opaque,
	const char *name);
/* Dispatches an access; returns false when nothing is there (reads then see all ones). */
bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, unsigned size, bool is_write);

#endif
