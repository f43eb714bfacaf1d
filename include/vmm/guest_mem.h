/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one host mapping, split around the 32-bit PCI hole. Guest
 * physical [0, low_size) is host offset 0; [4 GiB, 4 GiB + high_size) is
 * host offset low_size. Device code reaches it only through guest_mem_ptr
 * (or an accessor built on it).
 */
#ifndef NV_GUEST_MEM_H
#define NV_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"


struct guest_mem {
	uint8_t *host;
	uint64_t size;      /* total RAM */
	uint64_t low_size;  /* RAM below the hole */
	uint64_t high_size; /* RAM from 4 GiB */
};

/* Reserves (lazily backed) RAM. 0 or -errno. */
int guest_mem_init(struct guest_mem *m, uint64_t size);
void guest_mem_free(struct guest_mem *m);
/* Host pointer for [gpa, gpa+len) if it lies wholly inside one RAM range, else NULL. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

struct gmem;
/* The accessor devices use (include/devices/virtqueue.h) over this RAM. */
void guest_mem_accessor(struct guest_mem *m, struct gmem *g);

#endif
