/* SPDX-License-Identifier: MIT */
/*
 * Port I/O and MMIO dispatch. Devices register address ranges with a
 * handler; the vCPU exit path looks them up. Ranges are mostly registered
 * while the VM is built, but PCI BARs move at run time (bus_unregister +
 * bus_register from a vCPU thread), so the table is guarded by a rwlock:
 * bus_access looks the range up under the read lock and calls the handler
 * after dropping it, so a handler may itself (un)register ranges on any
 * bus. A handler can therefore run just after its range was unregistered
 * (an access that raced the change); its opaque must stay valid until the
 * vCPUs are stopped.
 */
#ifndef NV_BUS_H
#define NV_BUS_H

#include <pthread.h>
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
	pthread_rwlock_t lock; /* guards r, n, cap */
	struct bus_range *r;   /* sorted by base, non-overlapping */
	size_t n, cap;
};

void bus_init(struct bus *b);
void bus_free(struct bus *b);
/* 0, -EEXIST on overlap, -ENOMEM. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_handler h, void *opaque,
	const char *name);
/* Removes the range that starts at base. 0 or -ENOENT. */
int bus_unregister(struct bus *b, uint64_t base);
/* Dispatches an access; returns false when nothing is there (reads then see all ones). */
bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, unsigned size, bool is_write);

#endif
