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
#include "block.h"
#include "evloop.h"
#include "mptable.h"
#include "pci.h"
#include "console.h"
#include "tap.h"
#include "virtio_balloon.h"
#include "virtio_blk.h"
#include "virtio_console.h"
#include "virtio_net.h"
#include "virtio_rng.h"
#include "vm.h"
#include "vmm_seccomp.h"

#include <sys/mman.h>
#include <sys/random.h>


/* Sets *err from the device's name and the errno, returns r. */
static int fail(char **err, int r, const char *what, const char *detail)
{
	*err = str_printf("%s: %s", what, detail ? detail : strerror(-r));
	return r;
}

static int add_device(struct vm *vm, const char *name, const char *type, void *dev, size_t index,
	void (*status)(struct vm *, const struct vm_device *, struct json_object *),
	void (*free_fn)(void *))
{
	struct vm_device d = { .type = type, .dev = dev, .index = index, .irq = -1,
		.status = status, .free = free_fn };
	snprintf(d.name, sizeof(d.name), "%s", name);
	return vm_device_add(vm, &d);
}

static int add_disks(struct vm *vm, char **err)
{
	const struct vm_config *cfg = vm->cfg;
	for (size_t i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *dc = &cfg->disks[i];
		char name[32];
		snprintf(name, sizeof(name), "virtio-blk%zu", i);
		struct virtio_blk_conf c = {
			.image = vm->images[i],
			.readonly = dc->readonly,
			.cache = dc->cache == DISK_CACHE_UNSAFE ? VIRTIO_BLK_CACHE_UNSAFE
								: VIRTIO_BLK_CACHE_WRITEBACK,
			.serial = dc->serial,
			/* One request queue per vCPU: each completes on its own CPU. */
			.num_queues = (uint16_t)(cfg->cpus < VIRTIO_BLK_MAX_QUEUES ? cfg->cpus
										 : VIRTIO_BLK_MAX_QUEUES),
			.name = name,
			.run = VIRTIO_RUN_WORKER,
			.loop = vm->loop,
			.mem = &vm->gmem,
		};
		int r = virtio_blk_new(vm->pci, &c, -1, &vm->blk[i]);
		if (r < 0)
			return fail(err, r, dc->path, NULL);
		r = add_device(vm, name, "virtio-blk", vm->blk[i], i, vm_device_status_blk,
			(void (*)(void *))virtio_blk_free);
		if (r < 0) {
			virtio_blk_free(vm->blk[i]);
			return fail(err, r, name, "too many devices");
		}
	}
	return 0;
}

static enum block_format block_format_of(enum disk_format f)
{
	switch (f) {
	case DISK_FORMAT_RAW:
		break;
	case DISK_FORMAT_QCOW2:
		return BLOCK_FORMAT_QCOW2;
	}
	return BLOCK_FORMAT_RAW;
}

/*
 * Backends belong to the VM, not the machine: disk images and taps stay
 * open across a guest reset (an image keeps its lock the whole time). A tap
 * vmm creates (no name given) disappears when it is closed.
 */
int devices_open_backends(struct vm *vm, char **err)
{
	const struct vm_config *cfg = vm->cfg;
	for (size_t i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *dc = &cfg->disks[i];
		struct block_conf bc = { .path = dc->path, .format = block_format_of(dc->format),
			.readonly = dc->readonly };
		char why[512] = "";
		int r = block_open(&bc, &vm->images[i], why, sizeof(why));
		if (r < 0)
			return fail(err, r, "disk", why[0] ? why : NULL);
	}
	for (size_t i = 0; i < cfg->nnets; i++) {
		const struct net_config *nc = &cfg->nets[i];
		struct tap_conf tc = { .name = nc->tap, .create = !nc->tap, .bridge = nc->bridge };
		char why[256] = "";
		int r;
		if (nc->fd) /* a handed-over tap: ours from now on (closed with the VM) */
			r = tap_from_fd(nc->fd, &vm->taps[i], why, sizeof(why));
		else
			r = tap_open(&tc, &vm->taps[i], why, sizeof(why));
		if (r < 0)
			return fail(err, r, "net", why[0] ? why : NULL);
		if (nc->has_mac) {
			memcpy(vm->macs[i], nc->mac, 6);
		} else {
			/* A locally administered unicast address in QEMU's 52:54:00 range. */
			uint8_t rnd[3] = { 0 };
			if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
				rnd[2] = (uint8_t)i;
			uint8_t mac[6] = { 0x52, 0x54, 0x00, rnd[0], rnd[1], rnd[2] };
			memcpy(vm->macs[i], mac, 6);
		}
		vm_log(vm, NV_LOG_INFO, "net[%zu]: tap %s%s, MAC %02x:%02x:%02x:%02x:%02x:%02x%s", i,
			tap_name(vm->taps[i]), tap_created(vm->taps[i]) ? " (created)" : "",
			vm->macs[i][0], vm->macs[i][1], vm->macs[i][2], vm->macs[i][3], vm->macs[i][4],
			vm->macs[i][5], nc->mac_spoofing ? ", MAC spoofing allowed" : "");
	}
	return 0;
}

void devices_close_backends(struct vm *vm)
{
	for (size_t i = 0; i < VM_MAX_DISKS; i++) {
		block_close(vm->images[i]);
		vm->images[i] = NULL;
	}
	for (size_t i = 0; i < VM_MAX_NETS; i++) {
		tap_close(vm->taps[i]);
		vm->taps[i] = NULL;
	}
}

static int add_nets(struct vm *vm, char **err)
{
	const struct vm_config *cfg = vm->cfg;
	for (size_t i = 0; i < cfg->nnets; i++) {
		char name[32];
		snprintf(name, sizeof(name), "virtio-net%zu", i);
		struct virtio_net_conf c = {
			.name = name,
			.mac_spoofing = cfg->nets[i].mac_spoofing,
			.backend = tap_backend(vm->taps[i]),
			.run = VIRTIO_RUN_EVLOOP,
			.loop = vm->loop,
			.mem = &vm->gmem,
		};
		memcpy(c.mac, vm->macs[i], 6);
		int r = virtio_net_new(vm->pci, &c, -1, &vm->nets[i]);
		if (r < 0)
			return fail(err, r, name, NULL);
		r = add_device(vm, name, "virtio-net", vm->nets[i], i, vm_device_status_net,
			(void (*)(void *))virtio_net_free);
		if (r < 0) {
			virtio_net_free(vm->nets[i]);
			return fail(err, r, name, "too many devices");
		}
	}
	return 0;
}

static void vcon_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;
	console_write(vm->console, buf, len);
}

static void vcon_input_ready(void *opaque)
{
	struct vm *vm = opaque;
	console_rx_resume(vm->console);
}

static int balloon_discard(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vm *vm = opaque;
	void *p = guest_mem_ptr(&vm->mem, gpa, len);
	if (!p)
		return -EFAULT;
	return madvise(p, len, MADV_DONTNEED) < 0 ? -errno : 0;
}

static int add_others(struct vm *vm, char **err)
{
	int r;
	if (vm->cfg->virtio_console) {
		struct virtio_console_conf c = {
			.name = "virtio-console",
			.run = VIRTIO_RUN_EVLOOP,
			.loop = vm->loop,
			.mem = &vm->gmem,
			.output = vcon_output,
			.input_ready = vcon_input_ready,
			.opaque = vm,
		};
		if ((r = virtio_console_new(vm->pci, &c, -1, &vm->vcon)) < 0)
			return fail(err, r, "virtio-console", NULL);
		if ((r = add_device(vm, "virtio-console", "virtio-console", vm->vcon, 0,
			     vm_device_status_console, (void (*)(void *))virtio_console_free)) < 0) {
			virtio_console_free(vm->vcon);
			return fail(err, r, "virtio-console", "too many devices");
		}
	}
	if (vm->cfg->balloon) {
		struct virtio_balloon_conf c = {
			.name = "virtio-balloon",
			.run = VIRTIO_RUN_EVLOOP,
			.loop = vm->loop,
			.mem = &vm->gmem,
			.discard = balloon_discard,
			.opaque = vm,
		};
		if ((r = virtio_balloon_new(vm->pci, &c, -1, &vm->balloon)) < 0)
			return fail(err, r, "virtio-balloon", NULL);
		/* current_memory: the guest starts with the difference ballooned out. */
		if (vm->cfg->current_memory && vm->cfg->current_memory < vm->cfg->memory)
			virtio_balloon_set_target(vm->balloon, (uint32_t)((vm->cfg->memory -
				vm->cfg->current_memory) / VIRTIO_BALLOON_PAGE_SIZE));
		if ((r = add_device(vm, "virtio-balloon", "virtio-balloon", vm->balloon, 0,
			     vm_device_status_balloon, (void (*)(void *))virtio_balloon_free)) < 0) {
			virtio_balloon_free(vm->balloon);
			return fail(err, r, "virtio-balloon", "too many devices");
		}
	}
	return 0;
}

/* A disk's worker thread confines itself before it serves the guest. */
static int worker_start(void *opaque, const char *name)
{
	struct vm *vm = opaque;
	int r = vmm_seccomp_enter(vm->seccomp, VMM_THREAD_WORKER);
	if (r < 0)
		vm_log(vm, NV_LOG_ERR, "seccomp: cannot confine %s's worker: %s", name, strerror(-r));
	else
		vm_test_violation(vm, VMM_THREAD_WORKER);
	return r;
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
	hc.plat.thread_start = worker_start;
	hc.plat.thread_opaque = vm;
	guest_mem_accessor(&vm->mem, &vm->gmem);
	int r = pci_host_new(&hc, &vm->pci);
	if (r < 0)
		return fail(err, r, "PCI host bridge", NULL);
	/* First in the list, so freed after every PCI function. */
	r = add_device(vm, "pci-host", "pci-host-bridge", vm->pci, 0, NULL,
		(void (*)(void *))pci_host_free);
	if (r < 0) {
		pci_host_free(vm->pci);
		vm->pci = NULL;
		return fail(err, r, "PCI host bridge", "too many devices");
	}
	if ((r = add_disks(vm, err)) < 0 || (r = add_nets(vm, err)) < 0 || (r = add_others(vm, err)) < 0)
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
			return fail(err, r, "virtio-rng", NULL);
		r = add_device(vm, "virtio-rng", "virtio-rng", vm->rng, 0, vm_device_status_rng,
			(void (*)(void *))virtio_rng_free);
		if (r < 0) {
			virtio_rng_free(vm->rng);
			return fail(err, r, "virtio-rng", "too many devices");
		}
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

/* Every device of the list goes (legacy ones too); the typed shortcuts with them. */
void devices_destroy(struct vm *vm)
{
	vm_devices_free(vm);
	memset(vm->blk, 0, sizeof(vm->blk));
	memset(vm->nets, 0, sizeof(vm->nets));
	vm->rng = NULL;
	vm->vcon = NULL;
	vm->balloon = NULL;
	vm->pci = NULL;
	vm->serial = NULL;
	vm->kbd = NULL;
	free(vm->pci_irqs);
	vm->pci_irqs = NULL;
	vm->npci_irqs = 0;
}
