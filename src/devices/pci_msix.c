// SPDX-License-Identifier: MIT
/* MSI-X (PCI Local Bus 3.0, 6.8.2): table, PBA, masking, delivery. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pci_internal.h"
#include "util.h"

/* msix_lock held. Delivers vector v now. */
static int msix_deliver(struct pci_dev *d, struct msix_vec *v)
{
	const struct pci_platform *p = &d->host->c.plat;
	uint64_t addr = get_le(v->entry, 4) | (uint64_t)get_le(v->entry + 4, 4) << 32;
	uint32_t data = get_le(v->entry + 8, 4);
	if (p->msi_irqfd) {
		if (v->fd < 0)
			v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->fd >= 0 && (!v->routed || v->r_addr != addr || v->r_data != data)) {
			v->routed = p->msi_irqfd(p->opaque, v->fd, addr, data) == 0;
			v->r_addr = addr;
			v->r_data = data;
		}
		if (v->fd >= 0 && v->routed) {
			uint64_t one = 1;
			if (write(v->fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
				return 0;
		}
	}
	p->msi(p->opaque, addr, data);
	return 0;
}

static bool vec_masked(const struct pci_dev *d, const struct msix_vec *v)
{
	return d->msix_maskall || (v->entry[12] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* msix_lock held: deliver what became deliverable. */
static void msix_flush_pending(struct pci_dev *d)
{
	if (!d->msix_enabled || d->msix_maskall || !d->host)
		return;
	for (unsigned i = 0; i < d->msix_nvec; i++) {
		struct msix_vec *v = &d->vec[i];
		if (v->pending && !vec_masked(d, v)) {
			v->pending = false;
			msix_deliver(d, v);
		}
	}
}

int pci_msix_notify(struct pci_dev *d, unsigned v)
{
	if (!d->msix_nvec || v >= d->msix_nvec)
		return -EINVAL;
	int r = 0;
	pthread_mutex_lock(&d->msix_lock);
	if (!d->msix_enabled || !d->host)
		r = -EINVAL;
	else if (vec_masked(d, &d->vec[v]))
		d->vec[v].pending = true;
	else
		r = msix_deliver(d, &d->vec[v]);
	pthread_mutex_unlock(&d->msix_lock);
	return r;
}

bool pci_msix_enabled(struct pci_dev *d)
{
	return __atomic_load_n(&d->msix_enabled, __ATOMIC_ACQUIRE);
}

bool pci_msix_pending(struct pci_dev *d, unsigned v)
{
	if (v >= d->msix_nvec)
		return false;
	pthread_mutex_lock(&d->msix_lock);
	bool p = d->vec[v].pending;
	pthread_mutex_unlock(&d->msix_lock);
	return p;
}

bool pci_msix_bar_access(struct pci_dev *d, uint64_t off, uint8_t *data, unsigned size,
			    bool is_write)
{
	uint64_t tlen = (uint64_t)d->msix_nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = ((d->msix_nvec + 63) / 64) * 8;
	if (off >= d->msix_table && off - d->msix_table < tlen) {
		uint64_t t = off - d->msix_table;
		struct msix_vec *v = &d->vec[t / PCI_MSIX_ENTRY_SIZE];
		unsigned o = t % PCI_MSIX_ENTRY_SIZE;
		if (o + size > PCI_MSIX_ENTRY_SIZE)
			size = PCI_MSIX_ENTRY_SIZE - o;
		pthread_mutex_lock(&d->msix_lock);
		if (!is_write) {
			memcpy(data, v->entry + o, size);
		} else {
			for (unsigned i = 0; i < size; i++) {
				if (o + i < 12)
					v->entry[o + i] = data[i];
				else if (o + i == 12)
					v->entry[12] = data[i] & PCI_MSIX_ENTRY_CTRL_MASKBIT;
			}
			if (o + size > 12 && v->pending && !vec_masked(d, v) && d->msix_enabled) {
				v->pending = false;
				msix_deliver(d, v);
			}
		}
		pthread_mutex_unlock(&d->msix_lock);
		return true;
	}
	if (off >= d->msix_pba && off - d->msix_pba < plen) {
		if (is_write)
			return true; /* read-only */
		uint64_t o = off - d->msix_pba;
		pthread_mutex_lock(&d->msix_lock);
		for (unsigned i = 0; i < size; i++) {
			uint8_t b = 0;
			for (unsigned bit = 0; bit < 8; bit++) {
				uint64_t n = (o + i) * 8 + bit;
				if (n < d->msix_nvec && d->vec[n].pending)
					b |= (uint8_t)(1u << bit);
			}
			data[i] = b;
		}
		pthread_mutex_unlock(&d->msix_lock);
		return true;
	}
	return false;
}

void pci_msix_ctrl_changed(struct pci_dev *d)
{
	uint16_t ctl = (uint16_t)get_le(d->cfg + d->msix_cap + 2, 2);
	pthread_mutex_lock(&d->msix_lock);
	__atomic_store_n(&d->msix_enabled, (ctl & PCI_MSIX_ENABLE) != 0, __ATOMIC_RELEASE);
	d->msix_maskall = ctl & PCI_MSIX_MASKALL;
	msix_flush_pending(d);
	pthread_mutex_unlock(&d->msix_lock);
}

int pci_dev_add_msix(struct pci_dev *d, unsigned nvec, unsigned bar, uint32_t table_off,
		     uint32_t pba_off)
{
	if (d->host || d->msix_nvec || !nvec || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
	    !(d->bar[bar].kind & (PCI_BAR_MEM32 | PCI_BAR_MEM64)) || (table_off | pba_off) & 7)
		return -EINVAL;
	uint64_t tend = table_off + (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t pend = pba_off + ((nvec + 63) / 64) * 8ULL;
	if (tend > d->bar[bar].size || pend > d->bar[bar].size ||
	    (table_off < pend && pba_off < tend))
		return -EINVAL;
	struct msix_vec *vec = calloc(nvec, sizeof(*vec));
	if (!vec)
		return -ENOMEM;
	for (unsigned i = 0; i < nvec; i++) {
		vec[i].entry[12] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
		vec[i].fd = -1;
	}
	uint8_t body[10] = { 0 }, wm[10] = { 0 };
	put_le(body, nvec - 1, 2);
	put_le(body + 2, table_off | bar, 4);
	put_le(body + 6, pba_off | bar, 4);
	wm[1] = (PCI_MSIX_ENABLE | PCI_MSIX_MASKALL) >> 8;
	int off = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, body, sizeof(body), wm);
	if (off < 0) {
		free(vec);
		return off;
	}
	d->vec = vec;
	d->msix_cap = (unsigned)off;
	d->msix_nvec = nvec;
	d->msix_bar = bar;
	d->msix_table = table_off;
	d->msix_pba = pba_off;
	return off;
}

void pci_msix_release(struct pci_dev *d, struct pci_host *h)
{
	for (unsigned i = 0; i < d->msix_nvec; i++) {
		struct msix_vec *v = &d->vec[i];
		if (v->fd >= 0 && h && h->c.plat.msi_irqfd_release && v->routed)
			h->c.plat.msi_irqfd_release(h->c.plat.opaque, v->fd);
		close_fd(&v->fd);
	}
}
