/* SPDX-License-Identifier: MIT */
/*
 * Interrupt plumbing on the KVM side, as the PCI layer's struct pci_platform
 * wants it: INTx lines, MSIs signalled directly, MSI-X vectors backed by
 * irqfds with their own GSI routes, and ioeventfds for queue notifies.
 * Callable from any thread; the routing table is guarded by irq->lock.
 */
#ifndef NV_IRQ_H
#define NV_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"

struct pci_platform;

#define IRQ_MAX_MSI_ROUTES 1024

struct msi_route {
	int fd;       /* the irqfd, or -1 when the slot is free */
	uint32_t gsi;
	uint64_t addr;
	uint32_t data;
};

struct irq {
	struct kvm *kvm;
	pthread_mutex_t lock; /* protects routes and the KVM routing table */
	struct msi_route *routes;
	unsigned nroutes;
};

int irq_init(struct irq *q, struct kvm *kvm);
/* Releases every irqfd still bound. NULL ok. */
void irq_free(struct irq *q);
/* Fills the callbacks of a struct pci_platform with this irq's functions. */
void irq_pci_platform(struct irq *q, struct pci_platform *p);

#endif
