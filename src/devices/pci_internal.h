/* SPDX-License-Identifier: MIT */
/* Internals shared by pci.c and pci_msix.c. */
#ifndef NV_PCI_INTERNAL_H
#define NV_PCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

struct pci_bar {
	struct pci_dev *dev;
	unsigned idx;
	uint64_t size;       /* 0: not implemented */
	unsigned kind;       /* PCI_BAR_* */
	uint64_t mapped;     /* address registered on the bus, or PCI_BAR_UNMAPPED */
};

struct msix_vec {
	uint8_t entry[PCI_MSIX_ENTRY_SIZE]; /* the guest-visible table entry */
	bool pending;
	int fd;              /* irqfd eventfd, -1 until first needed */
	bool routed;         /* fd bound to (r_addr, r_data) by the platform */
	uint64_t r_addr;
	uint32_t r_data;
};

struct pci_dev {
	struct pci_host *host;     /* set by pci_host_add, under host->cfg_lock */
	unsigned slot;
	char *name;
	const struct pci_dev_ops *ops;
	void *opaque;
	/* Config space: guarded by host->cfg_lock once attached. */
	uint8_t cfg[PCI_CFG_SIZE], wmask[PCI_CFG_SIZE], w1c[PCI_CFG_SIZE];
	unsigned cap_end;          /* next free capability offset */
	unsigned last_cap;         /* offset of the last capability, 0: none */
	struct pci_bar bar[PCI_NUM_BARS];
	/* INTx: guarded by host->irq_lock. */
	int intx_level;            /* what the device asks for */
	bool intx_disabled;        /* command register bit 10 */
	bool intx_out;             /* what we contribute to the GSI */
	/* MSI-X: guarded by msix_lock. */
	pthread_mutex_t msix_lock;
	unsigned msix_cap, msix_nvec, msix_bar;
	uint32_t msix_table, msix_pba;
	bool msix_enabled;         /* written under msix_lock, also read atomically */
	bool msix_maskall;
	struct msix_vec *vec;
};

struct pci_host {
	struct pci_host_config c;
	pthread_mutex_t cfg_lock;  /* guards addr_reg, slots[], config spaces, BAR mapping, allocators */
	uint32_t addr_reg;
	struct pci_dev *slots[PCI_MAX_SLOTS];
	struct pci_dev *bridge;
	uint64_t mmio_next;
	uint32_t io_next;
	bool ports_registered[2];
	pthread_mutex_t irq_lock;  /* guards gsi_count and every device's INTx fields */
	unsigned gsi_count[PCI_GSI_COUNT];
};

static inline uint32_t get_le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* pci_msix.c */
/* Table or PBA access inside the MSI-X BAR; false if off is elsewhere. Any thread. */
bool pci_msix_bar_access(struct pci_dev *d, uint64_t off, uint8_t *data, unsigned size,
			 bool is_write);
/* cfg_lock held: the guest wrote the MSI-X message control. */
void pci_msix_ctrl_changed(struct pci_dev *d);
/* Releases the irqfds (platform callback) and closes them. */
void pci_msix_release(struct pci_dev *d, struct pci_host *h);

#endif
