/* SPDX-License-Identifier: MIT */
/* Thin wrappers over /dev/kvm: capability checks, the VM fd, memory slots, IRQ lines. */
#ifndef NV_KVM_H
#define NV_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

struct kvm_cpuid2;

struct kvm {
	int fd;          /* /dev/kvm */
	int vm_fd;
	int run_size;    /* size of each vCPU's kvm_run mapping */
	int max_vcpus;   /* KVM_CAP_MAX_VCPUS */
	int nr_vcpus;    /* KVM_CAP_NR_VCPUS (recommended) */
	int nested_state_size; /* KVM_CAP_NESTED_STATE: 0 = none */
};

/*
 * Opens the device (path NULL: /dev/kvm), checks the API
 * version and every capability nestvmm relies on. On failure returns
 * -errno and sets *err to a malloc'd message naming the problem.
 */
int kvm_open(struct kvm *k, const char *path, char **err);
/* Creates the VM with the in-kernel irqchip and PIT and Intel's TSS/identity pages. */
int kvm_create_vm(struct kvm *k, char **err);
void kvm_close_vm(struct kvm *k);
/* ISA IRQs on the PICs and I/O APIC, IRQ 0 on pin 2 (kvm_create_vm does this). */
int kvm_set_legacy_routing(struct kvm *k);
/* Writes those legacy routes into e (room for 48); returns how many. */
struct kvm_irq_routing_entry;
unsigned kvm_legacy_routes(struct kvm_irq_routing_entry *e);
void kvm_close(struct kvm *k);
int kvm_set_memory(struct kvm *k, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
int kvm_irq_line(struct kvm *k, uint32_t irq, int level);
/* KVM_GET_SUPPORTED_CPUID into a malloc'd table. */
int kvm_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out);

/* Where KVM's Intel helper pages live: KVM_IDENTITY_MAP_ADDR, KVM_TSS_ADDR (layout.h). */

#endif
