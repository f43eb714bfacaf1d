/* SPDX-License-Identifier: MIT */
/*
 * pvpanic: a one-byte I/O port (described to the guest as ACPI device
 * QEMU0001). Reading it shows the events supported; the guest writes bit 0
 * when it panics and bit 1 on a crash-kernel load.
 */
#ifndef NV_PVPANIC_H
#define NV_PVPANIC_H

#include <stdbool.h>
#include <stdint.h>

#define PVPANIC_PANICKED 0x1
#define PVPANIC_CRASH_LOADED 0x2

struct pvpanic {
	void (*event)(void *opaque, uint8_t events);
	void *opaque;
};

void pvpanic_io(void *p, uint64_t offset, uint8_t *data, unsigned size, bool is_write);

#endif
