// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm.h"
#include "util.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

int kvm_open(struct kvm *k, const char *path, char **err)
{
	memset(k, 0, sizeof(*k));
	k->fd = k->vm_fd = -1;
	if (!path || !*path)
		path = "/dev/kvm";
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0) {
		int e = errno;
		if (e == ENOENT)
			*err = str_printf("%s: no such device: KVM is not available on this host "
				   "(load kvm_intel or kvm_amd, enable virtualization in the firmware, "
				   "or run inside a VM with nested virtualization; see `vmm nested status`)",
				path);
		else if (e == EACCES || e == EPERM)
			*err = str_printf("%s: permission denied (add your user to the 'kvm' group or run as root)",
				path);
		else
			*err = str_printf("%s: %s", path, strerror(e));
		return -e;
	}
	int v = ioctl(k->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		*err = str_printf("%s: KVM API version %d, nestvmm needs %d", path, v, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (ioctl(k->fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			*err = str_printf("%s: the host KVM lacks %s, which nestvmm needs", path,
				required_caps[i].name);
			goto fail;
		}
	}
	k->run_size = ioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size <= 0) {
		*err = str_printf("%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
		goto fail;
	}
	k->nr_vcpus = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	k->max_vcpus = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = k->nr_vcpus > 0 ? k->nr_vcpus : 4;
	k->nested_state_size = ioctl(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
	if (k->nested_state_size < 0)
		k->nested_state_size = 0;
	return 0;
fail:
	close_fd(&k->fd);
	return -ENOTSUP;
}

/*
 * The legacy interrupt routing the firmware tables describe: ISA IRQs 0-15 on
 * the two PICs, GSI n on I/O APIC pin n, except that ISA IRQ 0 (the PIT) is
 * wired to pin 2 — the interrupt source override in the MADT and MP table.
 * KVM's default table puts GSI 0 on pin 0, which a guest told "IRQ 0 -> GSI 2"
 * never unmasks: the PIT would be silent.
 */
unsigned kvm_legacy_routes(struct kvm_irq_routing_entry *e)
{
	unsigned n = 0;
	for (uint32_t gsi = 0; gsi < 16; gsi++) {
		if (gsi == 2)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		e[n].u.irqchip.pin = gsi % 8;
		n++;
	}
	for (uint32_t gsi = 0; gsi < 24; gsi++) {
		if (gsi == 2)
			continue;
		e[n].gsi = gsi;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
		n++;
	}
	return n;
}

int kvm_set_legacy_routing(struct kvm *k)
{
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + 48 * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	r->nr = kvm_legacy_routes(r->entries);
	int ret = ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
	free(r);
	return ret;
}

int kvm_create_vm(struct kvm *k, char **err)
{
	k->vm_fd = ioctl(k->fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		int e = errno;
		*err = str_printf("KVM_CREATE_VM: %s", strerror(e));
		return -e;
	}
	fcntl(k->vm_fd, F_SETFD, FD_CLOEXEC);
	const char *step = "KVM_SET_IDENTITY_MAP_ADDR";
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		goto fail;
	step = "KVM_SET_TSS_ADDR";
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		goto fail;
	step = "KVM_CREATE_IRQCHIP";
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail;
	step = "KVM_SET_GSI_ROUTING";
	if (kvm_set_legacy_routing(k) < 0)
		goto fail;
	step = "KVM_CREATE_PIT2";
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail;
	return 0;
fail: {
	int e = errno;
	*err = str_printf("%s: %s", step, strerror(e));
	close_fd(&k->vm_fd);
	return -e;
}
}

void kvm_close_vm(struct kvm *k)
{
	if (k)
		close_fd(&k->vm_fd);
}

void kvm_close(struct kvm *k)
{
	if (!k)
		return;
	close_fd(&k->vm_fd);
	close_fd(&k->fd);
}

int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int kvm_irq_line(struct kvm *k, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };
	return ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out)
{
	for (unsigned n = 128; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(k->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			return -e;
	}
	return -E2BIG;
}
