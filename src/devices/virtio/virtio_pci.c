// SPDX-License-Identifier: MIT
/*
 * The virtio 1.x modern PCI transport (virtio 1.2, 4.1): capabilities,
 * common configuration, ISR, device configuration, notifications, MSI-X
 * and INTx, feature negotiation, status and reset.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio_pci_internal.h"

/* ---- interrupts ---- */

static void raise_isr(struct virtio_dev *d, uint8_t bit)
{
	pthread_mutex_lock(&d->isr_lock);
	d->isr |= bit;
	pci_dev_set_intx(d->pci, 1);
	pthread_mutex_unlock(&d->isr_lock);
}

static void raise_vector(struct virtio_dev *d, uint16_t vector, uint8_t isr_bit)
{
	if (pci_msix_enabled(d->pci)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(d->pci, vector);
	} else {
		raise_isr(d, isr_bit);
	}
}

void vpci_raise_config(struct virtio_dev *d)
{
	raise_vector(d, __atomic_load_n(&d->config_msix, __ATOMIC_RELAXED), VIRTIO_ISR_CONFIG);
}

static void vq_signal_cb(void *opaque, struct virtqueue *vq)
{
	struct vpci_queue *q = opaque;
	raise_vector(q->dev, q->msix_vector, VIRTIO_ISR_QUEUE);
}

static void vq_error_cb(void *opaque, struct virtqueue *vq, const char *why)
{
	struct vpci_queue *q = opaque;
	char msg[160];
	snprintf(msg, sizeof(msg), "queue %u: %s", vq->index, why);
	virtio_set_needs_reset(q->dev, msg);
}

void virtio_set_needs_reset(struct virtio_dev *d, const char *why)
{
	uint8_t old = __atomic_fetch_or(&d->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET, __ATOMIC_ACQ_REL);
	if (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	/* A guest can break and reset its device in a loop: keep the log bounded. */
	if (__atomic_fetch_add(&d->nr_needs_reset, 1, __ATOMIC_RELAXED) < 8)
		nv_warn("%s: device needs reset: %s", d->name, why);
	else
		nv_debug("%s: device needs reset: %s", d->name, why);
	__atomic_fetch_add(&d->config_gen, 1, __ATOMIC_RELAXED);
	vpci_raise_config(d);
}

void virtio_config_changed(struct virtio_dev *d)
{
	__atomic_fetch_add(&d->config_gen, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&d->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK)
		vpci_raise_config(d);
}

/* ---- reset and status ---- */

/* Transport lock held. */
static void device_reset(struct virtio_dev *d)
{
	for (unsigned i = 0; i < d->nq; i++)
		vq_lock(&d->q[i].vq);
	for (unsigned i = 0; i < d->nq; i++) {
		vq_reset(&d->q[i].vq);
		d->q[i].msix_vector = VIRTIO_MSI_NO_VECTOR;
		d->q[i].enabled = false;
	}
	if (d->p.ops->reset)
		d->p.ops->reset(d->p.opaque);
	d->dfselect = d->gfselect = 0;
	d->driver_features = 0;
	d->queue_sel = 0;
	d->neg_failed = false;
	__atomic_store_n(&d->features, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->config_msix, VIRTIO_MSI_NO_VECTOR, __ATOMIC_RELAXED);
	__atomic_store_n(&d->status, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&d->isr_lock);
	d->isr = 0;
	pci_dev_set_intx(d->pci, 0);
	pthread_mutex_unlock(&d->isr_lock);
	for (unsigned i = d->nq; i-- > 0;)
		vq_unlock(&d->q[i].vq);
}

/* Transport lock held. A write the spec forbids, refused: the first 8 are
 * warnings, the rest debug messages (a guest can retry in a loop). */
static void NV_PRINTF(2, 3) refuse(struct virtio_dev *d, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned k = d->nr_refused < UINT_MAX ? ++d->nr_refused : d->nr_refused;
	if (k < 8)
		nv_warn("%s: %s", d->name, msg);
	else if (k == 8)
		nv_warn("%s: %s (further refusals at debug level)", d->name, msg);
	else
		nv_debug("%s: %s", d->name, msg);
}

/*
 * Transport lock held. The driver only ever adds status bits (virtio 1.2,
 * 2.1.2: "The driver MUST NOT clear a device status bit"); 0 is a reset. A
 * write that clears one is refused whole: FEATURES_OK, and with it the
 * negotiated features, stays until a reset, so features never change under
 * running queues. A refused FEATURES_OK is final until a reset (3.1.1: the
 * device is unusable), so a guest cannot retry it in a loop.
 */
static void status_write(struct virtio_dev *d, uint8_t val)
{
	if (!val) {
		device_reset(d);
		return;
	}
	uint8_t old = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
	uint8_t drv = (uint8_t)(old & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	uint8_t nv = (uint8_t)(val & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if (drv & ~nv) {
		refuse(d, "status 0x%02x -> 0x%02x clears bits without a reset: refused", drv, nv);
		return;
	}
	if ((nv & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = d->driver_features;
		bool ok = !d->neg_failed && !(f & ~d->offered) && (f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) &&
			  (!d->p.ops->features_ok || d->p.ops->features_ok(d->p.opaque, f));
		if (!ok) {
			nv_debug("%s: refusing features 0x%llx%s", d->name, (unsigned long long)f,
				 d->neg_failed ? " (refused before: reset first)" : "");
			d->neg_failed = true;
			nv &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		} else {
			__atomic_store_n(&d->features, f, __ATOMIC_RELEASE);
		}
	}
	/* DRIVER_OK needs FEATURES_OK (3.1.1). */
	if ((nv & VIRTIO_STATUS_DRIVER_OK) && !(nv & VIRTIO_STATUS_FEATURES_OK))
		nv &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	/* Keep a concurrent NEEDS_RESET: only OR in the driver's bits. */
	uint8_t cur = old;
	while (!__atomic_compare_exchange_n(&d->status, &cur,
					    (uint8_t)(nv | (cur & VIRTIO_STATUS_DEVICE_NEEDS_RESET)),
					    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	if ((nv & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (d->p.ops->driver_ok)
			d->p.ops->driver_ok(d->p.opaque);
		for (unsigned i = 0; i < d->nq; i++)
			if (d->q[i].enabled)
				vpci_kick(d, i);
	}
}

/* ---- common configuration ---- */

/* Transport lock held. */
static void common_image(struct virtio_dev *d, uint8_t *img)
{
	memset(img, 0, VIRTIO_PCI_COMMON_SIZE);
	le_put(img + VIRTIO_PCI_COMMON_DFSELECT, d->dfselect, 4);
	le_put(img + VIRTIO_PCI_COMMON_DF, d->dfselect < 2 ? d->offered >> (32 * d->dfselect) : 0, 4);
	le_put(img + VIRTIO_PCI_COMMON_GFSELECT, d->gfselect, 4);
	le_put(img + VIRTIO_PCI_COMMON_GF,
	      d->gfselect < 2 ? d->driver_features >> (32 * d->gfselect) : 0, 4);
	le_put(img + VIRTIO_PCI_COMMON_MSIX, __atomic_load_n(&d->config_msix, __ATOMIC_RELAXED), 2);
	le_put(img + VIRTIO_PCI_COMMON_NUMQ, d->nq, 2);
	img[VIRTIO_PCI_COMMON_STATUS] = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
	img[VIRTIO_PCI_COMMON_CFGGEN] = __atomic_load_n(&d->config_gen, __ATOMIC_ACQUIRE);
	le_put(img + VIRTIO_PCI_COMMON_Q_SELECT, d->queue_sel, 2);
	if (d->queue_sel >= d->nq)
		return; /* queue_size 0: no such queue */
	struct vpci_queue *q = &d->q[d->queue_sel];
	vq_lock(&q->vq);
	le_put(img + VIRTIO_PCI_COMMON_Q_SIZE, q->vq.size, 2);
	le_put(img + VIRTIO_PCI_COMMON_Q_MSIX, q->msix_vector, 2);
	le_put(img + VIRTIO_PCI_COMMON_Q_ENABLE, q->enabled, 2);
	le_put(img + VIRTIO_PCI_COMMON_Q_NOFF, d->queue_sel, 2);
	le_put(img + VIRTIO_PCI_COMMON_Q_DESCLO, q->vq.desc_gpa, 8);
	le_put(img + VIRTIO_PCI_COMMON_Q_AVAILLO, q->vq.avail_gpa, 8);
	le_put(img + VIRTIO_PCI_COMMON_Q_USEDLO, q->vq.used_gpa, 8);
	vq_unlock(&q->vq);
}

static uint16_t check_vector(const struct virtio_dev *d, uint64_t v)
{
	return v < d->nq + 1u ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* Transport lock held. Applies the fields [off, off + size) touched. */
static void common_write(struct virtio_dev *d, unsigned off, const uint8_t *data, unsigned size)
{
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];
	common_image(d, img);
	memcpy(img + off, data, size);
	static const struct { uint8_t off, len; } fields[] = {
		{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_GFSELECT, 4 },
		{ VIRTIO_PCI_COMMON_GF, 4 },       { VIRTIO_PCI_COMMON_MSIX, 2 },
		{ VIRTIO_PCI_COMMON_STATUS, 1 },   { VIRTIO_PCI_COMMON_Q_SELECT, 2 },
		{ VIRTIO_PCI_COMMON_Q_SIZE, 2 },   { VIRTIO_PCI_COMMON_Q_MSIX, 2 },
		{ VIRTIO_PCI_COMMON_Q_ENABLE, 2 }, { VIRTIO_PCI_COMMON_Q_DESCLO, 8 },
		{ VIRTIO_PCI_COMMON_Q_AVAILLO, 8 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 8 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(fields); i++) {
		unsigned fo = fields[i].off, fl = fields[i].len;
		if (off >= fo + fl || fo >= off + size)
			continue;
		uint64_t v = le_get(img + fo, fl);
		uint8_t st = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
		struct vpci_queue *q = d->queue_sel < d->nq ? &d->q[d->queue_sel] : NULL;
		switch (fo) {
		case VIRTIO_PCI_COMMON_DFSELECT: d->dfselect = (uint32_t)v; break;
		case VIRTIO_PCI_COMMON_GFSELECT: d->gfselect = (uint32_t)v; break;
		case VIRTIO_PCI_COMMON_GF:
			if (d->gfselect < 2 && !(st & VIRTIO_STATUS_FEATURES_OK)) {
				unsigned sh = 32 * d->gfselect;
				d->driver_features = (d->driver_features & ~(0xffffffffULL << sh)) | (v << sh);
			}
			break;
		case VIRTIO_PCI_COMMON_MSIX:
			__atomic_store_n(&d->config_msix, check_vector(d, v), __ATOMIC_RELAXED);
			break;
		case VIRTIO_PCI_COMMON_STATUS: status_write(d, (uint8_t)v); break;
		case VIRTIO_PCI_COMMON_Q_SELECT: d->queue_sel = (uint16_t)v; break;
		default:
			if (!q)
				break;
			vq_lock(&q->vq);
			if (fo == VIRTIO_PCI_COMMON_Q_MSIX) {
				q->msix_vector = check_vector(d, v);
			} else if (q->enabled) {
				/* size / addresses / enable are fixed once enabled */
			} else if (fo == VIRTIO_PCI_COMMON_Q_SIZE) {
				q->vq.size = (uint16_t)v;
			} else if (fo == VIRTIO_PCI_COMMON_Q_DESCLO) {
				q->vq.desc_gpa = v;
			} else if (fo == VIRTIO_PCI_COMMON_Q_AVAILLO) {
				q->vq.avail_gpa = v;
			} else if (fo == VIRTIO_PCI_COMMON_Q_USEDLO) {
				q->vq.used_gpa = v;
			} else if (fo == VIRTIO_PCI_COMMON_Q_ENABLE && v == 1 &&
				   !(st & VIRTIO_STATUS_FEATURES_OK)) {
				/* 3.1.1: queues are set up after FEATURES_OK, with the
				 * negotiated ring features. */
				refuse(d, "queue %u enabled before FEATURES_OK: refused", d->queue_sel);
			} else if (fo == VIRTIO_PCI_COMMON_Q_ENABLE && v == 1) {
				uint64_t f = __atomic_load_n(&d->features, __ATOMIC_ACQUIRE);
				q->vq.event_idx = f & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
				q->vq.indirect = f & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
				q->enabled = true;
				vq_start(&q->vq); /* a bad layout sets NEEDS_RESET */
			}
			vq_unlock(&q->vq);
		}
	}
}

/* ---- BAR 0 ---- */

void virtio_pci_bar_access(struct virtio_dev *d, uint64_t off, uint8_t *data, unsigned size,
			   bool is_write)
{
	if (!is_write)
		memset(data, 0, size);
	if (size == 0 || size > 8)
		return;
	if (off < VIRTIO_PCI_COMMON_SIZE) {
		if (off + size > VIRTIO_PCI_COMMON_SIZE)
			size = (unsigned)(VIRTIO_PCI_COMMON_SIZE - off);
		pthread_mutex_lock(&d->lock);
		if (is_write) {
			common_write(d, (unsigned)off, data, size);
		} else {
			uint8_t img[VIRTIO_PCI_COMMON_SIZE];
			common_image(d, img);
			memcpy(data, img + off, size);
		}
		pthread_mutex_unlock(&d->lock);
	} else if (off == VIRTIO_PCI_ISR_OFF && !is_write) {
		pthread_mutex_lock(&d->isr_lock);
		data[0] = d->isr;
		d->isr = 0;
		pci_dev_set_intx(d->pci, 0);
		pthread_mutex_unlock(&d->isr_lock);
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF && off - VIRTIO_PCI_DEVCFG_OFF < d->p.config_size) {
		uint32_t o = (uint32_t)(off - VIRTIO_PCI_DEVCFG_OFF);
		if (o + size > d->p.config_size)
			size = d->p.config_size - o;
		pthread_mutex_lock(&d->lock);
		if (is_write && d->p.ops->config_write)
			d->p.ops->config_write(d->p.opaque, o, data, size);
		else if (!is_write && d->p.ops->config_read)
			d->p.ops->config_read(d->p.opaque, o, data, size);
		pthread_mutex_unlock(&d->lock);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF &&
		   off - VIRTIO_PCI_NOTIFY_OFF < (uint64_t)d->nq * VIRTIO_PCI_NOTIFY_MULT) {
		if (is_write)
			vpci_kick(d, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT));
	}
}

static void bar_io(void *opaque, unsigned bar, uint64_t off, uint8_t *data, unsigned size,
		   bool is_write)
{
	if (bar == 0)
		virtio_pci_bar_access(opaque, off, data, size, is_write);
	else if (!is_write)
		memset(data, 0xff, size);
}

/* VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): a window onto the BAR through config space. */
static bool pcicfg_window(struct virtio_dev *d, unsigned off, unsigned size, uint32_t *len,
			  uint32_t *boff)
{
	unsigned c = d->pcicfg_cap;
	if (!c || off < c + 16 || off + size > c + 20)
		return false;
	const uint8_t *cfg = pci_dev_config(d->pci);
	*boff = (uint32_t)le_get(cfg + c + 8, 4);
	*len = (uint32_t)le_get(cfg + c + 12, 4);
	return cfg[c + 4] == 0 && (*len == 1 || *len == 2 || *len == 4) && !(*boff & (*len - 1));
}

static bool cfg_read(void *opaque, unsigned off, unsigned size, uint32_t *val)
{
	struct virtio_dev *d = opaque;
	uint32_t len, boff;
	if (!pcicfg_window(d, off, size, &len, &boff))
		return false;
	uint8_t buf[4] = { 0 };
	virtio_pci_bar_access(d, boff, buf, len, false);
	*val = (uint32_t)le_get(buf + (off - d->pcicfg_cap - 16), size);
	return true;
}

static void cfg_write(void *opaque, unsigned off, unsigned size, uint32_t val)
{
	struct virtio_dev *d = opaque;
	uint32_t len, boff;
	if (!pcicfg_window(d, off, size, &len, &boff))
		return;
	uint8_t buf[4];
	memcpy(buf, pci_dev_config(d->pci) + d->pcicfg_cap + 16, 4);
	virtio_pci_bar_access(d, boff, buf, len, true);
}

static const struct pci_dev_ops vpci_ops = {
	.bar_io = bar_io,
	.bar_map = vpci_bar_map,
	.cfg_write = cfg_write,
	.cfg_read = cfg_read,
};

/* ---- creation ---- */

static int add_vcap(struct virtio_dev *d, uint8_t type, uint32_t off, uint32_t len,
		    unsigned extra, const uint8_t *extra_wmask)
{
	uint8_t body[18] = { 0 }, wm[18] = { 0 };
	body[0] = (uint8_t)(16 + extra); /* cap_len */
	body[1] = type;
	body[2] = 0;                     /* BAR 0 */
	le_put(body + 6, off, 4);
	le_put(body + 10, len, 4);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		le_put(body + 14, VIRTIO_PCI_NOTIFY_MULT, 4);
	if (extra_wmask)
		memcpy(wm, extra_wmask, sizeof(wm));
	return pci_dev_add_cap(d->pci, PCI_CAP_ID_VNDR, body, 14 + extra, extra_wmask ? wm : NULL);
}

static int add_caps(struct virtio_dev *d)
{
	int r;
	if ((r = add_vcap(d, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, 0, NULL)) < 0 ||
	    (r = add_vcap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
			  d->nq * VIRTIO_PCI_NOTIFY_MULT, 4, NULL)) < 0 ||
	    (r = add_vcap(d, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 0, NULL)) < 0)
		return r;
	if (d->p.config_size &&
	    (r = add_vcap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG_OFF, d->p.config_size, 0, NULL)) < 0)
		return r;
	/* PCI_CFG: bar, offset, length and pci_cfg_data writable. */
	uint8_t wm[18] = { 0 };
	wm[2] = 0xff;
	memset(wm + 6, 0xff, 12);
	r = add_vcap(d, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4, wm);
	if (r < 0)
		return r;
	d->pcicfg_cap = (unsigned)r;
	return pci_dev_add_msix(d->pci, d->nq + 1, 0, VIRTIO_PCI_MSIX_OFF, VIRTIO_PCI_PBA_OFF);
}

int virtio_pci_new(struct pci_host *host, const struct virtio_dev_params *p, int slot,
		   struct virtio_dev **out)
{
	*out = NULL;
	if (!p || !p->ops || !p->mem || !p->num_queues || p->num_queues > VIRTIO_MAX_QUEUES ||
	    !p->queue_size || p->queue_size > VIRTQ_MAX_SIZE || p->config_size > 0x1000 ||
	    (p->run == VIRTIO_RUN_EVLOOP && !p->loop))
		return -EINVAL;
	struct virtio_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int r = -ENOMEM;
	d->p = *p;
	d->host = host;
	d->name = strdup(p->name ? p->name : "virtio");
	d->q = calloc(p->num_queues, sizeof(*d->q));
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->isr_lock, NULL);
	d->epfd = d->stop_fd = -1;
	if (!d->name || !d->q)
		goto fail;
	d->offered = p->features | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
		     VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	d->config_msix = VIRTIO_MSI_NO_VECTOR;
	for (unsigned i = 0; i < p->num_queues; i++) {
		struct vpci_queue *q = &d->q[i];
		q->kick_fd = -1;
		q->ioev_addr = UINT64_MAX;
		r = vq_init(&q->vq, i, p->queue_size, p->mem);
		if (r < 0)
			goto fail;
		d->nq++;
		q->dev = d;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->vq.on_error = vq_error_cb;
		q->vq.on_signal = vq_signal_cb;
		q->vq.cb_opaque = q;
	}
	struct pci_dev_info info = {
		.vendor = VIRTIO_PCI_VENDOR, .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + p->device_id),
		.subsys_vendor = VIRTIO_PCI_VENDOR, .subsys_id = 0x1100, .revision = 1,
		.class_code = p->class_code ? p->class_code : 0xff0000, .irq_pin = PCI_INTA,
		.name = d->name, .ops = &vpci_ops, .opaque = d,
	};
	if ((r = pci_dev_new(&info, &d->pci)) < 0 ||
	    (r = pci_dev_add_bar(d->pci, 0, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM64)) < 0 ||
	    (r = add_caps(d)) < 0 || (r = vpci_run_start(d)) < 0)
		goto fail;
	if (host && (r = pci_host_add(host, d->pci, slot)) < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	virtio_pci_free(d);
	return r;
}

void virtio_pci_free(struct virtio_dev *d)
{
	if (!d)
		return;
	/*
	 * The order matters: a request the worker is serving completes with an
	 * interrupt through d->pci, so the worker stops (and is joined) before
	 * the PCI function goes; the kick fds outlive the BAR unmap, which
	 * deassigns their ioeventfds; the queues outlive both.
	 */
	vpci_run_halt(d);
	pci_dev_free(d->pci); /* unmaps BAR 0: ioeventfds deassigned via bar_map */
	d->pci = NULL;
	vpci_run_close(d);
	for (unsigned i = 0; i < d->nq; i++)
		vq_destroy(&d->q[i].vq);
	free(d->q);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->isr_lock);
	free(d->name);
	free(d);
}

/* ---- accessors ---- */

struct virtqueue *virtio_queue(struct virtio_dev *d, unsigned q) { return q < d->nq ? &d->q[q].vq : NULL; }
unsigned virtio_num_queues(const struct virtio_dev *d) { return d->nq; }
uint64_t virtio_features(const struct virtio_dev *d) { return __atomic_load_n(&d->features, __ATOMIC_ACQUIRE); }
bool virtio_has_feature(const struct virtio_dev *d, unsigned bit) { return bit < 64 && (virtio_features(d) >> bit) & 1; }
uint8_t virtio_status(const struct virtio_dev *d) { return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE); }
const struct gmem *virtio_mem(const struct virtio_dev *d) { return d->p.mem; }
struct pci_dev *virtio_pci_dev(struct virtio_dev *d) { return d->pci; }
const char *virtio_name(const struct virtio_dev *d) { return d->name; }
