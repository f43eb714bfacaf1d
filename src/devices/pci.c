// SPDX-License-Identifier: MIT
/*
 * PCI bus 0: configuration mechanism #1, type-0 config spaces with per-byte
 * write masks, BAR sizing and (re)mapping on the port/MMIO buses, INTx
 * routing and MSI-X (PCI Local Bus 3.0, 3.2.2.3.2, 6.2.5, 6.8.2).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "aml.h"
#include "mptable.h"
#include "pci.h"
#include "util.h"
#include "pci_internal.h"

const struct pci_platform *pci_host_platform(const struct pci_host *h)
{
	return &h->c.plat;
}

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	if (pin < PCI_INTA || pin > PCI_INTD)
		pin = PCI_INTA;
	return PCI_GSI_BASE + ((slot + pin - 1) % PCI_GSI_COUNT);
}

/* ---- INTx ---- */

/* host->irq_lock held. */
static void intx_update(struct pci_dev *d)
{
	struct pci_host *h = d->host;
	/* A function with MSI-X enabled must not assert INTx (PCI 3.0, 6.8.2). */
	bool out = d->intx_level && !d->intx_disabled &&
		   !__atomic_load_n(&d->msix_enabled, __ATOMIC_ACQUIRE);
	if (!h || out == d->intx_out || !d->cfg[PCI_INTERRUPT_PIN])
		return;
	d->intx_out = out;
	unsigned gsi = pci_intx_gsi(d->slot, d->cfg[PCI_INTERRUPT_PIN]);
	unsigned *cnt = &h->gsi_count[gsi - PCI_GSI_BASE];
	unsigned before = *cnt;
	*cnt = out ? before + 1 : before - 1;
	if ((before == 0) != (*cnt == 0))
		h->c.plat.set_irq(h->c.plat.opaque, gsi, *cnt != 0);
}

void pci_dev_set_intx(struct pci_dev *d, int level)
{
	if (!d->host) {
		d->intx_level = level != 0;
		return;
	}
	pthread_mutex_lock(&d->host->irq_lock);
	d->intx_level = level != 0;
	intx_update(d);
	pthread_mutex_unlock(&d->host->irq_lock);
}

/* ---- devices ---- */

int pci_dev_new(const struct pci_dev_info *info, struct pci_dev **out)
{
	*out = NULL;
	if (!info || info->irq_pin > PCI_INTD)
		return -EINVAL;
	struct pci_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->name = strdup(info->name ? info->name : "pci");
	if (!d->name) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->msix_lock, NULL);
	d->ops = info->ops;
	d->opaque = info->opaque;
	d->cap_end = 0x40;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		d->bar[i].dev = d;
		d->bar[i].idx = i;
		d->bar[i].mapped = PCI_BAR_UNMAPPED;
	}
	uint8_t *c = d->cfg;
	put_le(c + PCI_VENDOR_ID, info->vendor, 2);
	put_le(c + PCI_DEVICE_ID, info->device, 2);
	c[PCI_REVISION_ID] = info->revision;
	put_le(c + PCI_CLASS_PROG, info->class_code, 3);
	put_le(c + PCI_SUBSYSTEM_VENDOR, info->subsys_vendor, 2);
	put_le(c + PCI_SUBSYSTEM_ID, info->subsys_id, 2);
	c[PCI_INTERRUPT_PIN] = info->irq_pin;
	put_le(d->wmask + PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | 0x0040 | 0x0100 |
	       PCI_CMD_INTX_DISABLE, 2);
	put_le(d->w1c + PCI_STATUS, 0xf900, 2); /* error bits: write 1 to clear */
	d->wmask[0x0C] = 0xff;                   /* cache line size */
	d->wmask[0x0D] = 0xff;                   /* latency timer */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	*out = d;
	return 0;
}

int pci_dev_add_bar(struct pci_dev *d, unsigned idx, uint64_t size, unsigned kind)
{
	bool io = kind & PCI_BAR_IO, m64 = kind & PCI_BAR_MEM64;
	if (d->host || idx >= PCI_NUM_BARS || (m64 && idx + 1 >= PCI_NUM_BARS) || !size ||
	    (size & (size - 1)) || (io && (size < 4 || size > 256)) || (!io && size < 16) ||
	    (!io && !m64 && size > (1ULL << 31)) || (io + !!(kind & PCI_BAR_MEM32) + m64) != 1 ||
	    (io && (kind & PCI_BAR_PREFETCH)))
		return -EINVAL;
	if (d->bar[idx].size || d->bar[idx].kind || (m64 && (d->bar[idx + 1].size || d->bar[idx + 1].kind)))
		return -EEXIST;
	d->bar[idx].size = size;
	d->bar[idx].kind = kind;
	unsigned off = PCI_BAR0 + 4 * idx;
	uint32_t flags = io ? 1 : (m64 ? 4 : 0) | ((kind & PCI_BAR_PREFETCH) ? 8 : 0);
	put_le(d->cfg + off, flags, 4);
	put_le(d->wmask + off, (uint32_t)~(size - 1) & (io ? ~3u : ~15u), 4);
	if (m64) {
		d->bar[idx + 1].kind = PCI_BAR_MEM64; /* upper half marker, size 0 */
		put_le(d->wmask + off + 4, (uint32_t)(~(size - 1) >> 32), 4);
	}
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, uint8_t id, const void *body, unsigned len,
		    const uint8_t *wmask)
{
	if (d->host || (len && !body))
		return -EINVAL;
	unsigned off = d->cap_end, total = (len + 2 + 3) & ~3u;
	if (off + total > PCI_CFG_SIZE)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (len)
		memcpy(d->cfg + off + 2, body, len);
	if (wmask)
		memcpy(d->wmask + off + 2, wmask, len);
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	put_le(d->cfg + PCI_STATUS, get_le(d->cfg + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, 2);
	d->last_cap = off;
	d->cap_end = off + total;
	return (int)off;
}

unsigned pci_dev_slot(const struct pci_dev *d) { return d->slot; }
uint8_t *pci_dev_config(struct pci_dev *d) { return d->cfg; }

uint64_t pci_dev_bar_addr(struct pci_dev *d, unsigned bar)
{
	if (bar >= PCI_NUM_BARS || !d->host)
		return PCI_BAR_UNMAPPED;
	pthread_mutex_lock(&d->host->cfg_lock);
	uint64_t a = d->bar[bar].mapped;
	pthread_mutex_unlock(&d->host->cfg_lock);
	return a;
}

int pci_dev_ioeventfd(struct pci_dev *d, const struct pci_ioeventfd *e, bool assign)
{
	if (!d->host || !d->host->c.plat.ioeventfd)
		return -ENOTSUP;
	return d->host->c.plat.ioeventfd(d->host->c.plat.opaque, e, assign);
}

/* ---- BAR mapping ---- */

static void bar_io(void *opaque, uint64_t off, uint8_t *data, unsigned size, bool is_write)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;
	if (d->msix_nvec && b->idx == d->msix_bar && pci_msix_bar_access(d, off, data, size, is_write))
		return;
	if (d->ops && d->ops->bar_io)
		d->ops->bar_io(d->opaque, b->idx, off, data, size, is_write);
	else if (!is_write)
		memset(data, 0xff, size);
}

/* Where the guest wants BAR i decoded now, or PCI_BAR_UNMAPPED. cfg_lock held. */
static uint64_t bar_target(const struct pci_dev *d, unsigned i)
{
	const struct pci_bar *b = &d->bar[i];
	uint16_t cmd = (uint16_t)get_le(d->cfg + PCI_COMMAND, 2);
	uint64_t lo = get_le(d->cfg + PCI_BAR0 + 4 * i, 4);
	uint64_t a;
	if (b->kind & PCI_BAR_IO) {
		a = lo & ~3ULL;
		if (!(cmd & PCI_CMD_IO) || !a || a + b->size > 0x10000)
			return PCI_BAR_UNMAPPED;
		return a;
	}
	a = lo & ~15ULL;
	if (b->kind & PCI_BAR_MEM64)
		a |= (uint64_t)get_le(d->cfg + PCI_BAR0 + 4 * i + 4, 4) << 32;
	if (!(cmd & PCI_CMD_MEMORY) || !a || a + b->size < a || (a & (b->size - 1)))
		return PCI_BAR_UNMAPPED;
	return a;
}

/* cfg_lock held. Makes the buses match the BAR registers and command bits. */
static void bars_update(struct pci_dev *d, bool force_unmap)
{
	struct pci_host *h = d->host;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bar[i];
		if (!b->size)
			continue;
		uint64_t want = force_unmap ? PCI_BAR_UNMAPPED : bar_target(d, i);
		if (want == b->mapped)
			continue;
		struct bus *bus = (b->kind & PCI_BAR_IO) ? h->c.pio : h->c.mmio;
		if (b->mapped != PCI_BAR_UNMAPPED) {
			if (d->ops && d->ops->bar_map)
				d->ops->bar_map(d->opaque, i, PCI_BAR_UNMAPPED);
			bus_unregister(bus, b->mapped);
			b->mapped = PCI_BAR_UNMAPPED;
		}
		if (want == PCI_BAR_UNMAPPED)
			continue;
		int r = bus_register(bus, want, b->size, bar_io, b, d->name);
		if (r < 0) {
			nv_debug("pci %02x.0 %s: BAR%u at 0x%llx not decoded (%s)", d->slot, d->name, i,
				 (unsigned long long)want, strerror(-r));
			continue;
		}
		b->mapped = want;
		if (d->ops && d->ops->bar_map)
			d->ops->bar_map(d->opaque, i, want);
	}
}

/* ---- config space ---- */

static struct pci_dev *cfg_target(struct pci_host *h, uint16_t bdf)
{
	if ((bdf >> 8) || (bdf & 7))
		return NULL;
	return h->slots[(bdf >> 3) & 31];
}

/* cfg_lock held. */
static uint32_t cfg_read_locked(struct pci_host *h, uint16_t bdf, unsigned off, unsigned size)
{
	struct pci_dev *d = cfg_target(h, bdf);
	if (!d || off >= PCI_CFG_SIZE || (size != 1 && size != 2 && size != 4) || (off & 3) + size > 4)
		return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	uint32_t v;
	if (d->ops && d->ops->cfg_read && d->ops->cfg_read(d->opaque, off, size, &v))
		return v;
	uint8_t tmp[4];
	memcpy(tmp, d->cfg + off, size);
	if (off <= PCI_STATUS && off + size > PCI_STATUS) {
		bool lvl = __atomic_load_n(&d->intx_level, __ATOMIC_RELAXED);
		tmp[PCI_STATUS - off] = (uint8_t)((tmp[PCI_STATUS - off] & ~PCI_STATUS_INTX) |
						  (lvl ? PCI_STATUS_INTX : 0));
	}
	return get_le(tmp, size);
}

static bool overlaps(unsigned off, unsigned size, unsigned a, unsigned len)
{
	return off < a + len && a < off + size;
}

/* cfg_lock held. */
static void cfg_write_locked(struct pci_host *h, uint16_t bdf, unsigned off, unsigned size,
			     uint32_t val)
{
	struct pci_dev *d = cfg_target(h, bdf);
	if (!d || off >= PCI_CFG_SIZE || (size != 1 && size != 2 && size != 4) || (off & 3) + size > 4)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i)), m = d->wmask[off + i], c = d->w1c[off + i];
		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (b & m));
		d->cfg[off + i] &= (uint8_t)~(b & c);
	}
	if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BAR0, 24))
		bars_update(d, false);
	if (overlaps(off, size, PCI_COMMAND, 2)) {
		pthread_mutex_lock(&h->irq_lock);
		d->intx_disabled = get_le(d->cfg + PCI_COMMAND, 2) & PCI_CMD_INTX_DISABLE;
		intx_update(d);
		pthread_mutex_unlock(&h->irq_lock);
	}
	if (d->msix_nvec && overlaps(off, size, d->msix_cap + 2, 2)) {
		pci_msix_ctrl_changed(d);
		pthread_mutex_lock(&h->irq_lock);
		intx_update(d);
		pthread_mutex_unlock(&h->irq_lock);
	}
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d->opaque, off, size, val);
}

uint32_t pci_host_cfg_read(struct pci_host *h, uint16_t bdf, unsigned off, unsigned size)
{
	pthread_mutex_lock(&h->cfg_lock);
	uint32_t v = cfg_read_locked(h, bdf, off, size);
	pthread_mutex_unlock(&h->cfg_lock);
	return v;
}

void pci_host_cfg_write(struct pci_host *h, uint16_t bdf, unsigned off, unsigned size, uint32_t val)
{
	pthread_mutex_lock(&h->cfg_lock);
	cfg_write_locked(h, bdf, off, size, val);
	pthread_mutex_unlock(&h->cfg_lock);
}

static void cf8_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct pci_host *h = opaque;
	if (offset != 0 || size != 4) { /* only dword accesses reach the address register */
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&h->cfg_lock);
	if (is_write)
		h->addr_reg = get_le(data, 4) & 0x80fffffcu;
	else
		put_le(data, h->addr_reg, 4);
	pthread_mutex_unlock(&h->cfg_lock);
}

static void cfc_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct pci_host *h = opaque;
	pthread_mutex_lock(&h->cfg_lock);
	uint32_t a = h->addr_reg;
	unsigned off = (a & 0xfc) + (unsigned)offset;
	if (!(a & 0x80000000u) || size > 4 || offset + size > 4) {
		if (!is_write)
			memset(data, 0xff, size);
	} else if (is_write) {
		cfg_write_locked(h, (uint16_t)(a >> 8), off, size, get_le(data, size));
	} else {
		put_le(data, cfg_read_locked(h, (uint16_t)(a >> 8), off, size), size);
	}
	pthread_mutex_unlock(&h->cfg_lock);
}

/* ---- host ---- */

int pci_host_new(const struct pci_host_config *c, struct pci_host **out)
{
	*out = NULL;
	if (!c || !c->pio || !c->mmio || !c->plat.set_irq || !c->plat.msi || !c->mmio_size ||
	    c->mmio_base + c->mmio_size < c->mmio_base || c->mmio_base + c->mmio_size > 0x100000000ULL ||
	    !c->plat.msi_irqfd != !c->plat.msi_irqfd_release || c->io_base + (uint64_t)c->io_size > 0x10000)
		return -EINVAL;
	struct pci_host *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->c = *c;
	if (!h->c.io_size) {
		h->c.io_base = 0xc000;
		h->c.io_size = 0x4000;
	}
	h->mmio_next = c->mmio_base;
	h->io_next = h->c.io_base;
	pthread_mutex_init(&h->cfg_lock, NULL);
	pthread_mutex_init(&h->irq_lock, NULL);
	struct pci_dev_info bi = { .vendor = 0x8086, .device = 0x0d57, .class_code = 0x060000,
				   .name = "pci-host-bridge" };
	int r = pci_dev_new(&bi, &h->bridge);
	if (r < 0)
		goto fail;
	h->bridge->host = h;
	h->slots[0] = h->bridge;
	r = bus_register(c->pio, PCI_CONFIG_ADDR, 4, cf8_io, h, "pci-cf8");
	if (r < 0)
		goto fail;
	h->ports_registered[0] = true;
	r = bus_register(c->pio, PCI_CONFIG_DATA, 4, cfc_io, h, "pci-cfc");
	if (r < 0)
		goto fail;
	h->ports_registered[1] = true;
	*out = h;
	return 0;
fail:
	pci_host_free(h);
	return r;
}

void pci_host_free(struct pci_host *h)
{
	if (!h)
		return;
	if (h->ports_registered[0])
		bus_unregister(h->c.pio, PCI_CONFIG_ADDR);
	if (h->ports_registered[1])
		bus_unregister(h->c.pio, PCI_CONFIG_DATA);
	pthread_mutex_lock(&h->cfg_lock);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = h->slots[s];
		if (d) {
			bars_update(d, true);
			d->host = NULL;
			h->slots[s] = NULL;
		}
	}
	pthread_mutex_unlock(&h->cfg_lock);
	if (h->bridge)
		h->bridge->host = NULL;
	pci_dev_free(h->bridge);
	pthread_mutex_destroy(&h->cfg_lock);
	pthread_mutex_destroy(&h->irq_lock);
	free(h);
}

int pci_host_add(struct pci_host *h, struct pci_dev *d, int slot)
{
	if (d->host || slot == 0 || slot >= PCI_MAX_SLOTS || slot < -1)
		return -EINVAL;
	int r = 0;
	pthread_mutex_lock(&h->cfg_lock);
	if (slot < 0) {
		for (slot = 1; slot < PCI_MAX_SLOTS && h->slots[slot]; slot++)
			;
		if (slot == PCI_MAX_SLOTS) {
			r = -EBUSY;
			goto out;
		}
	} else if (h->slots[slot]) {
		r = -EBUSY;
		goto out;
	}
	/* Allocate every BAR first (naturally aligned), commit only if all fit. */
	uint64_t mnext = h->mmio_next, addr[PCI_NUM_BARS] = { 0 };
	uint32_t inext = h->io_next;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bar[i];
		if (!b->size)
			continue;
		if (b->kind & PCI_BAR_IO) {
			uint32_t a = (inext + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
			if (a + b->size > (uint64_t)h->c.io_base + h->c.io_size) {
				r = -ENOSPC;
				goto out;
			}
			addr[i] = a;
			inext = a + (uint32_t)b->size;
		} else {
			uint64_t a = (mnext + b->size - 1) & ~(b->size - 1);
			if (a < mnext || a + b->size > h->c.mmio_base + h->c.mmio_size) {
				r = -ENOSPC;
				goto out;
			}
			addr[i] = a;
			mnext = a + b->size;
		}
	}
	h->mmio_next = mnext;
	h->io_next = inext;
	uint16_t cmd = PCI_CMD_MASTER;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		if (!d->bar[i].size)
			continue;
		unsigned off = PCI_BAR0 + 4 * i;
		put_le(d->cfg + off, (get_le(d->cfg + off, 4) & 0xf) | (uint32_t)addr[i], 4);
		if (d->bar[i].kind & PCI_BAR_MEM64)
			put_le(d->cfg + off + 4, addr[i] >> 32, 4);
		cmd |= (d->bar[i].kind & PCI_BAR_IO) ? PCI_CMD_IO : PCI_CMD_MEMORY;
	}
	put_le(d->cfg + PCI_COMMAND, cmd, 2);
	d->slot = (unsigned)slot;
	if (d->cfg[PCI_INTERRUPT_PIN])
		d->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pci_intx_gsi(d->slot, d->cfg[PCI_INTERRUPT_PIN]);
	d->host = h;
	h->slots[slot] = d;
	bars_update(d, false);
out:
	pthread_mutex_unlock(&h->cfg_lock);
	return r;
}

void pci_dev_free(struct pci_dev *d)
{
	if (!d)
		return;
	struct pci_host *h = d->host;
	if (h) {
		pthread_mutex_lock(&h->cfg_lock);
		bars_update(d, true);
		pthread_mutex_lock(&h->irq_lock);
		d->intx_level = 0;
		intx_update(d);
		pthread_mutex_unlock(&h->irq_lock);
		if (h->slots[d->slot] == d)
			h->slots[d->slot] = NULL;
		pthread_mutex_unlock(&h->cfg_lock);
	}
	pci_msix_release(d, h);
	free(d->vec);
	pthread_mutex_destroy(&d->msix_lock);
	free(d->name);
	free(d);
}

/* ---- firmware tables ---- */

void pci_host_write_aml(const struct pci_host *h, struct aml *a)
{
	size_t dev = aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_ADR");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	size_t rt = aml_restemplate_begin(a);
	aml_res_word_bus_number(a, 0, 0xff);
	aml_res_io(a, true, PCI_CONFIG_ADDR, PCI_CONFIG_ADDR, 1, 8);
	aml_res_word_io(a, 0x0000, 0x0cf7);
	aml_res_word_io(a, 0x0d00, 0xffff);
	aml_res_dword_memory(a, AML_MEM_NONCACHEABLE, (uint32_t)h->c.mmio_base,
			     (uint32_t)(h->c.mmio_base + h->c.mmio_size - 1));
	aml_restemplate_end(a, rt);
	aml_name(a, "_PRT");
	size_t prt = aml_package_begin(a, (PCI_MAX_SLOTS - 1) * 4);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		for (unsigned pin = PCI_INTA; pin <= PCI_INTD; pin++) {
			size_t e = aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)s << 16 | 0xffff);
			aml_integer(a, pin - 1);
			aml_integer(a, 0);
			aml_integer(a, pci_intx_gsi(s, pin));
			aml_package_end(a, e);
		}
	}
	aml_package_end(a, prt);
	aml_device_end(a, dev);
}

size_t pci_host_mptable_irqs(const struct pci_host *h, struct mptable_pci_irq *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_t *lock = (pthread_mutex_t *)&h->cfg_lock;
	pthread_mutex_lock(lock);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		const struct pci_dev *d = h->slots[s];
		if (!d || !d->cfg[PCI_INTERRUPT_PIN])
			continue;
		if (n < max)
			out[n] = (struct mptable_pci_irq){ .device = (uint8_t)s,
				.pin = (uint8_t)(d->cfg[PCI_INTERRUPT_PIN] - 1),
				.ioapic_pin = (uint8_t)pci_intx_gsi(s, d->cfg[PCI_INTERRUPT_PIN]) };
		n++;
	}
	pthread_mutex_unlock(lock);
	return n;
}
