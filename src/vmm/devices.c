// SPDX-License-Identifier: MIT
/*
 * The PCI side of the machine: the host bridge and the virtio devices the
 * configuration asks for, wired to KVM through struct irq (INTx lines, MSI,
 * irqfds, ioeventfds). Built before the firmware tables, which describe it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aml.h"
#include "evloop.h"
#include "mptable.h"
#include "pci.h"
#include "virtio_blk.h"
#include "virtio_rng.h"
#include "vm.h"

#define PCI_MMIO_BASE 0xC0000000ULL
#define PCI_MMIO_SIZE (0xFEC00000ULL - PCI_MMIO_BASE)

static int fail(char **err, int r, const char *fmt, ...) NV_PRINTF(3, 4);
static int fail(char **err, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*err = s;
	return r;
}

static int add_disks(struct vm *vm, char **err)
{
	const struct vm_config *cfg = vm->cfg;
	for (size_t i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *dc = &cfg->disks[i];
		char name[32];
		snprintf(name, sizeof(name), "virtio-blk%zu", i);
		struct virtio_blk_conf c = {
			.path = dc->path,
			.readonly = dc->readonly,
			.cache = dc->cache == DISK_CACHE_UNSAFE ? VIRTIO_BLK_CACHE_UNSAFE
								: VIRTIO_BLK_CACHE_WRITEBACK,
			.serial = dc->serial,
			.name = name,
			.run = VIRTIO_RUN_WORKER,
			.loop = vm->loop,
			.mem = &vm->gmem,
		};
		int r = virtio_blk_new(vm->pci, &c, -1, &vm->blk[i]);
		if (r < 0)
			return fail(err, r, "disk %s: %s", dc->path, strerror(-r));
	}
	return 0;
}

int devices_create(struct vm *vm, char **err)
{
	struct pci_host_config hc = {
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.mmio_base = PCI_MMIO_BASE,
		.mmio_size = PCI_MMIO_SIZE,
	};
	irq_pci_platform(&vm->irq, &hc.plat);
	guest_mem_accessor(&vm->mem, &vm->gmem);
	int r = pci_host_new(&hc, &vm->pci);
	if (r < 0)
		return fail(err, r, "PCI host bridge: %s", strerror(-r));
	if ((r = add_disks(vm, err)) < 0)
		return r;
	if (vm->cfg->rng) {
		struct virtio_rng_conf c = {
			.name = "virtio-rng",
			.run = VIRTIO_RUN_EVLOOP,
			.loop = vm->loop,
			.mem = &vm->gmem,
		};
		r = virtio_rng_new(vm->pci, &c, -1, &vm->rng);
		if (r < 0)
			return fail(err, r, "virtio-rng: %s", strerror(-r));
	}
	size_t n = pci_host_mptable_irqs(vm->pci, NULL, 0);
	if (n) {
		vm->pci_irqs = calloc(n, sizeof(*vm->pci_irqs));
		if (!vm->pci_irqs)
			return -ENOMEM;
		vm->npci_irqs = (unsigned)pci_host_mptable_irqs(vm->pci, vm->pci_irqs, n);
	}
	return 0;
}

void devices_dsdt_hook(void *opaque, struct aml *a)
{
	struct vm *vm = opaque;
	if (vm->pci)
		pci_host_write_aml(vm->pci, a);
}

void devices_destroy(struct vm *vm)
{
	for (size_t i = 0; i < VM_MAX_DISKS; i++) {
		virtio_blk_free(vm->blk[i]);
		vm->blk[i] = NULL;
	}
	virtio_rng_free(vm->rng);
	vm->rng = NULL;
	pci_host_free(vm->pci);
	vm->pci = NULL;
	free(vm->pci_irqs);
	vm->pci_irqs = NULL;
	vm->npci_irqs = 0;
}
