/* SPDX-License-Identifier: MIT */
/*
 * A tiny virtio-pci *driver* for unit tests and fuzzers: fake guest RAM (a
 * plain buffer at guest address 0), a PCI host on private port/MMIO buses
 * whose platform callbacks only record, config accesses through ports
 * 0xCF8/0xCFC, and split rings written as a guest driver would.
 * Header-only (static inline) so each test/fuzz executable takes what it uses.
 */
#ifndef NV_VIRTIO_TEST_DRIVER_H
#define NV_VIRTIO_TEST_DRIVER_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "pci.h"
#include "virtio.h"

#ifndef VD_RAM_SIZE
#define VD_RAM_SIZE  (4u << 20)
#endif
#define VD_RING_BASE 0x10000u   /* queue q: desc +0, avail +0x4000, used +0x8000, q * 0x10000 */
#define VD_DATA_BASE 0x100000u
#define VD_MAX_Q     4
#define VD_MMIO_BASE 0xC0000000ULL
#define VD_MMIO_SIZE 0x10000000ULL

struct vd_ioev { uint64_t addr; int fd; bool on; };

struct vd {
	struct bus pio, mmio;
	struct pci_host *host;
	uint8_t *ram;
	bool ram_owned;
	struct gmem_buf gb;
	struct gmem mem;
	/* platform recording */
	int gsi_level[32];
	unsigned set_irq_calls, msi_count;
	uint64_t last_msi_addr;
	uint32_t last_msi_data;
	struct vd_ioev ioev[16];
	bool ioev_supported;
	/* the device under test */
	struct virtio_dev *dev;
	uint64_t bar;
	uint64_t data_next;
	struct { uint16_t size, next_desc, avail_idx, last_used; uint64_t desc, avail, used; } q[VD_MAX_Q];
};

static inline void vd_set_irq(void *o, unsigned gsi, int level)
{
	struct vd *d = o;
	if (gsi < 32)
		d->gsi_level[gsi] = level;
	d->set_irq_calls++;
}

static inline void vd_msi(void *o, uint64_t addr, uint32_t data)
{
	struct vd *d = o;
	d->msi_count++;
	d->last_msi_addr = addr;
	d->last_msi_data = data;
}

static inline int vd_ioeventfd(void *o, const struct pci_ioeventfd *e, bool assign)
{
	struct vd *d = o;
	if (!d->ioev_supported)
		return -ENOTSUP;
	for (unsigned i = 0; i < 16; i++) {
		if (assign && !d->ioev[i].on) {
			d->ioev[i] = (struct vd_ioev){ e->addr, e->fd, true };
			return 0;
		}
		if (!assign && d->ioev[i].on && d->ioev[i].addr == e->addr && d->ioev[i].fd == e->fd) {
			d->ioev[i].on = false;
			return 0;
		}
	}
	return -ENOSPC;
}

/* 0 or -errno. Guest RAM: VD_RAM_SIZE bytes at 0, in ram (cleared here) or allocated. */
static inline int vd_init_ram(struct vd *d, bool ioeventfds, uint8_t *ram)
{
	memset(d, 0, sizeof(*d));
	bus_init(&d->pio);
	bus_init(&d->mmio);
	if (ram) {
		memset(ram, 0, VD_RAM_SIZE);
		d->ram = ram;
	} else {
		d->ram = calloc(1, VD_RAM_SIZE);
		d->ram_owned = true;
	}
	if (!d->ram)
		return -ENOMEM;
	gmem_buf_init(&d->mem, &d->gb, d->ram, 0, VD_RAM_SIZE);
	d->ioev_supported = ioeventfds;
	d->data_next = VD_DATA_BASE;
	struct pci_host_config hc = {
		.pio = &d->pio, .mmio = &d->mmio, .mmio_base = VD_MMIO_BASE, .mmio_size = VD_MMIO_SIZE,
		.plat = { .opaque = d, .set_irq = vd_set_irq, .msi = vd_msi, .ioeventfd = vd_ioeventfd },
	};
	return pci_host_new(&hc, &d->host);
}

static inline int vd_init(struct vd *d, bool ioeventfds)
{
	return vd_init_ram(d, ioeventfds, NULL);
}

static inline void vd_fini(struct vd *d)
{
	pci_host_free(d->host);
	bus_free(&d->pio);
	bus_free(&d->mmio);
	if (d->ram_owned)
		free(d->ram);
}

/* ---- config space through ports 0xCF8 / 0xCFC ---- */

static inline uint32_t vd_cfg_read(struct vd *d, unsigned slot, unsigned off, unsigned size)
{
	uint8_t a[4], v[4] = { 0 };
	uint32_t addr = 0x80000000u | slot << 11 | (off & 0xfc);
	for (unsigned i = 0; i < 4; i++)
		a[i] = (uint8_t)(addr >> (8 * i));
	bus_access(&d->pio, 0xCF8, a, 4, true);
	bus_access(&d->pio, 0xCFC + (off & 3), v, size, false);
	return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
}

static inline void vd_cfg_write(struct vd *d, unsigned slot, unsigned off, unsigned size, uint32_t val)
{
	uint8_t a[4], v[4];
	uint32_t addr = 0x80000000u | slot << 11 | (off & 0xfc);
	for (unsigned i = 0; i < 4; i++) {
		a[i] = (uint8_t)(addr >> (8 * i));
		v[i] = (uint8_t)(val >> (8 * i));
	}
	bus_access(&d->pio, 0xCF8, a, 4, true);
	bus_access(&d->pio, 0xCFC + (off & 3), v, size, true);
}

/* ---- BAR 0 MMIO ---- */

static inline uint64_t vd_rd(struct vd *d, uint64_t off, unsigned size)
{
	uint8_t v[8] = { 0 };
	bus_access(&d->mmio, d->bar + off, v, size, false);
	uint64_t r = 0;
	for (unsigned i = 0; i < size; i++)
		r |= (uint64_t)v[i] << (8 * i);
	return r;
}

static inline void vd_wr(struct vd *d, uint64_t off, unsigned size, uint64_t val)
{
	uint8_t v[8];
	for (unsigned i = 0; i < 8; i++)
		v[i] = (uint8_t)(val >> (8 * i));
	bus_access(&d->mmio, d->bar + off, v, size, true);
}

/* ---- guest RAM ---- */

static inline void vd_put(struct vd *d, uint64_t gpa, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		d->ram[gpa + i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t vd_get(struct vd *d, uint64_t gpa, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)d->ram[gpa + i] << (8 * i);
	return v;
}

/* Ring indices are shared with the device's threads: release/acquire, as a driver's barriers. */
static inline void vd_put16_release(struct vd *d, uint64_t gpa, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)(d->ram + gpa), htole16(v), __ATOMIC_RELEASE);
}

static inline uint16_t vd_get16_acquire(struct vd *d, uint64_t gpa)
{
	return le16toh(__atomic_load_n((uint16_t *)(void *)(d->ram + gpa), __ATOMIC_ACQUIRE));
}

static inline uint64_t vd_alloc(struct vd *d, uint64_t len)
{
	uint64_t a = (d->data_next + 15) & ~15ULL;
	d->data_next = a + len;
	return a;
}

/*
 * Finds the device at slot: BAR 0 address, then the usual driver bring-up:
 * reset, ACKNOWLEDGE, DRIVER, features (offered & want), FEATURES_OK, nq
 * queues of size qsize, optional MSI-X (vector q for queue q, nq for config),
 * DRIVER_OK. Returns the negotiated features, or 0 if FEATURES_OK failed.
 */
static inline uint64_t vd_bringup(struct vd *d, unsigned slot, uint64_t want, unsigned nq,
				  uint16_t qsize, bool msix)
{
	d->bar = (vd_cfg_read(d, slot, 0x10, 4) & ~15u) | (uint64_t)vd_cfg_read(d, slot, 0x14, 4) << 32;
	vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t off = 0;
	for (unsigned i = 0; i < 2; i++) {
		vd_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, i);
		off |= vd_rd(d, VIRTIO_PCI_COMMON_DF, 4) << (32 * i);
	}
	uint64_t f = off & want;
	for (unsigned i = 0; i < 2; i++) {
		vd_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, i);
		vd_wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(f >> (32 * i)));
	}
	uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, st);
	if (!(vd_rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK))
		return 0;
	for (unsigned q = 0; q < nq && q < VD_MAX_Q; q++) {
		uint64_t base = VD_RING_BASE + q * 0x10000ULL;
		memset(d->ram + base, 0, 0x10000);
		d->q[q].size = qsize;
		d->q[q].desc = base;
		d->q[q].avail = base + 0x4000;
		d->q[q].used = base + 0x8000;
		d->q[q].next_desc = d->q[q].avail_idx = d->q[q].last_used = 0;
		vd_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, qsize);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)d->q[q].desc);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)d->q[q].avail);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)d->q[q].used);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
		if (msix)
			vd_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, q);
		vd_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	if (msix)
		vd_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, nq);
	vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_STATUS_DRIVER_OK);
	return f;
}

struct vd_seg { uint64_t gpa; uint32_t len; bool write; };

/* Writes descriptor i of table at gpa. */
static inline void vd_desc(struct vd *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
			   uint16_t flags, uint16_t next)
{
	uint64_t p = table + 16ULL * i;
	vd_put(d, p, addr, 8);
	vd_put(d, p + 8, len, 4);
	vd_put(d, p + 12, flags, 2);
	vd_put(d, p + 14, next, 2);
}

/* Publishes head in the avail ring (does not notify). */
static inline void vd_publish(struct vd *d, unsigned q, uint16_t head)
{
	uint16_t n = d->q[q].size;
	vd_put(d, d->q[q].avail + 4 + 2ULL * (d->q[q].avail_idx % n), head, 2);
	d->q[q].avail_idx++;
	vd_put16_release(d, d->q[q].avail + 2, d->q[q].avail_idx);
}

/* A direct chain of n segments (wrapping descriptor slots); returns its head. */
static inline uint16_t vd_add(struct vd *d, unsigned q, const struct vd_seg *s, unsigned n)
{
	uint16_t size = d->q[q].size, head = (uint16_t)(d->q[q].next_desc % size);
	for (unsigned i = 0; i < n; i++) {
		uint16_t cur = (uint16_t)((d->q[q].next_desc + i) % size);
		uint16_t nxt = (uint16_t)((cur + 1) % size);
		uint16_t fl = (uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		vd_desc(d, d->q[q].desc, cur, s[i].gpa, s[i].len, fl, nxt);
	}
	d->q[q].next_desc = (uint16_t)((d->q[q].next_desc + n) % size);
	vd_publish(d, q, head);
	return head;
}

/* A chain made of one indirect descriptor whose table (in RAM) holds s[0..n). */
static inline uint16_t vd_add_indirect(struct vd *d, unsigned q, const struct vd_seg *s, unsigned n)
{
	uint64_t table = vd_alloc(d, 16ULL * n);
	for (unsigned i = 0; i < n; i++)
		vd_desc(d, table, i, s[i].gpa, s[i].len,
			(uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			(uint16_t)(i + 1));
	uint16_t size = d->q[q].size, head = (uint16_t)(d->q[q].next_desc % size);
	vd_desc(d, d->q[q].desc, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	d->q[q].next_desc = (uint16_t)((head + 1) % size);
	vd_publish(d, q, head);
	return head;
}

static inline void vd_kick(struct vd *d, unsigned q)
{
	vd_wr(d, VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT, 2, q);
}

/* Next used element, if any. */
static inline bool vd_used(struct vd *d, unsigned q, uint32_t *id, uint32_t *len)
{
	uint16_t idx = vd_get16_acquire(d, d->q[q].used + 2);
	if (idx == d->q[q].last_used)
		return false;
	uint64_t e = d->q[q].used + 4 + 8ULL * (d->q[q].last_used % d->q[q].size);
	*id = (uint32_t)vd_get(d, e, 4);
	*len = (uint32_t)vd_get(d, e + 4, 4);
	d->q[q].last_used++;
	return true;
}

static inline uint8_t vd_status(struct vd *d)
{
	return (uint8_t)vd_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

#endif
