// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "irq.h"
#include "pci.h"
#include "util.h"

int irq_init(struct irq *q, struct kvm *kvm)
{
	memset(q, 0, sizeof(*q));
	q->kvm = kvm;
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

static void unbind(struct irq *q, struct msi_route *r)
{
	struct kvm_irqfd f = { .fd = (uint32_t)r->fd, .gsi = r->gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	ioctl(q->kvm->vm_fd, KVM_IRQFD, &f);
	r->fd = -1;
}

void irq_free(struct irq *q)
{
	if (!q || !q->kvm)
		return;
	for (unsigned i = 0; i < q->nroutes; i++)
		if (q->routes[i].fd >= 0)
			unbind(q, &q->routes[i]);
	free(q->routes);
	pthread_mutex_destroy(&q->lock);
	memset(q, 0, sizeof(*q));
}

/* Legacy routes plus every MSI route in use; called with q->lock held. */
static int commit(struct irq *q)
{
	size_t max = 48 + q->nroutes;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	unsigned n = kvm_legacy_routes(r->entries);
	for (unsigned i = 0; i < q->nroutes; i++) {
		const struct msi_route *m = &q->routes[i];
		if (m->fd < 0)
			continue;
		struct kvm_irq_routing_entry *e = &r->entries[n++];
		e->gsi = m->gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)m->addr;
		e->u.msi.address_hi = (uint32_t)(m->addr >> 32);
		e->u.msi.data = m->data;
	}
	r->nr = n;
	int ret = ioctl(q->kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
	free(r);
	return ret;
}

static void p_set_irq(void *opaque, unsigned gsi, int level)
{
	struct irq *q = opaque;
	kvm_irq_line(q->kvm, gsi, level);
}

static void p_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct irq *q = opaque;
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	if (ioctl(q->kvm->vm_fd, KVM_SIGNAL_MSI, &m) < 0)
		nv_debug("KVM_SIGNAL_MSI: %s", strerror(errno));
}

static struct msi_route *find(struct irq *q, int fd)
{
	for (unsigned i = 0; i < q->nroutes; i++)
		if (q->routes[i].fd == fd)
			return &q->routes[i];
	return NULL;
}

static int p_msi_irqfd(void *opaque, int fd, uint64_t addr, uint32_t data)
{
	struct irq *q = opaque;
	int r = 0;
	pthread_mutex_lock(&q->lock);
	struct msi_route *m = find(q, fd);
	bool fresh = !m;
	if (!m)
		m = find(q, -1);
	if (!m) {
		if (q->nroutes == IRQ_MAX_MSI_ROUTES) {
			r = -ENOSPC;
			goto out;
		}
		struct msi_route *nr = realloc(q->routes, (q->nroutes + 1) * sizeof(*nr));
		if (!nr) {
			r = -ENOMEM;
			goto out;
		}
		q->routes = nr;
		m = &q->routes[q->nroutes];
		m->gsi = IRQ_FIRST_MSI_GSI + q->nroutes++;
	}
	m->fd = fd;
	m->addr = addr;
	m->data = data;
	r = commit(q);
	if (r == 0 && fresh) {
		struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = m->gsi };
		if (ioctl(q->kvm->vm_fd, KVM_IRQFD, &f) < 0)
			r = -errno;
	}
	if (r < 0) {
		/*
		 * The slot goes free. A vector bound before (a reprogramming
		 * whose route did not commit) is deassigned too: KVM would
		 * otherwise keep the irqfd, refuse the next bind of the same
		 * eventfd with EBUSY (the vector would stay on KVM_SIGNAL_MSI
		 * for good) and hold it past the release.
		 */
		if (!fresh)
			unbind(q, m);
		m->fd = -1;
		commit(q);
	}
out:
	pthread_mutex_unlock(&q->lock);
	return r;
}

static void p_msi_irqfd_release(void *opaque, int fd)
{
	struct irq *q = opaque;
	pthread_mutex_lock(&q->lock);
	struct msi_route *m = find(q, fd);
	if (m && fd >= 0) {
		unbind(q, m);
		commit(q);
	}
	pthread_mutex_unlock(&q->lock);
}

static int p_ioeventfd(void *opaque, const struct pci_ioeventfd *e, bool assign)
{
	struct irq *q = opaque;
	struct kvm_ioeventfd io = {
		.datamatch = e->data,
		.addr = e->addr,
		.len = e->len,
		.fd = e->fd,
		.flags = (e->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			(e->datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			(assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	return ioctl(q->kvm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

void irq_pci_platform(struct irq *q, struct pci_platform *p)
{
	p->opaque = q;
	p->set_irq = p_set_irq;
	p->msi = p_msi;
	p->msi_irqfd = p_msi_irqfd;
	p->msi_irqfd_release = p_msi_irqfd_release;
	p->ioeventfd = p_ioeventfd;
}
