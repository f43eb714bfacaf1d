// SPDX-License-Identifier: MIT
/* virtio-balloon (virtio 1.2, 5.5): see include/devices/virtio_balloon.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio_balloon.h"

#define STATS_BUDGET 8   /* statistics buffers per notify */

struct virtio_balloon {
	struct virtio_dev *dev;
	/* Immutable. */
	int (*discard)(void *opaque, uint64_t gpa, uint64_t len);
	int (*reclaim)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
	/* Atomics. */
	uint32_t num_pages, actual;
	struct virtio_balloon_counters cnt;
	/* Inflate / deflate: each queue's lock guards its chain. */
	struct vq_chain chain[2];
	/* Statistics queue's lock. */
	struct vq_chain stats_chain;
	bool stats_held;        /* the guest's buffer is ours until we push it */
	uint16_t stats_head;
	struct virtio_balloon_stats stats;
};

static void add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

/* One run of pages [gpa, gpa + len) from queue q (queue lock held). */
static void give(struct virtio_balloon *b, unsigned q, uint64_t gpa, uint64_t len)
{
	if (!len)
		return;
	int (*fn)(void *, uint64_t, uint64_t) = q == VIRTIO_BALLOON_INFLATEQ ? b->discard : b->reclaim;
	add(q == VIRTIO_BALLOON_INFLATEQ ? &b->cnt.inflated_pages : &b->cnt.deflated_pages,
	    len / VIRTIO_BALLOON_PAGE_SIZE);
	if (fn && fn(b->opaque, gpa, len) < 0)
		add(&b->cnt.discard_errors, 1);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The PFN array of chain c (its first VIRTIO_BALLOON_MAX_PFNS): sorted,
 * repeats dropped, adjacent pages merged into one run each. Returns the
 * PFNs read (the chain's cost). */
static unsigned pfns(struct virtio_balloon *b, unsigned q, const struct vq_chain *c)
{
	const struct gmem *mem = virtio_mem(b->dev);
	uint64_t n = c->read_len / 4;
	if (n > VIRTIO_BALLOON_MAX_PFNS) {
		n = VIRTIO_BALLOON_MAX_PFNS;
		add(&b->cnt.oversized_chains, 1);
	}
	uint8_t raw[VIRTIO_BALLOON_MAX_PFNS * 4];
	uint32_t pfn[VIRTIO_BALLOON_MAX_PFNS];
	vq_chain_read(c, 0, raw, (size_t)n * 4);
	for (size_t i = 0; i < n; i++)
		pfn[i] = (uint32_t)le_get(raw + 4 * i, 4);
	qsort(pfn, (size_t)n, sizeof(pfn[0]), cmp_u32);
	uint64_t run_gpa = 0, run_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && pfn[i] == pfn[i - 1])
			continue;
		uint64_t gpa = (uint64_t)pfn[i] << VIRTIO_BALLOON_PFN_SHIFT;
		if (!gmem_ptr(mem, gpa, VIRTIO_BALLOON_PAGE_SIZE)) {
			add(&b->cnt.bad_pfns, 1);
			continue;
		}
		if (run_len && gpa == run_gpa + run_len) {
			run_len += VIRTIO_BALLOON_PAGE_SIZE;
			continue;
		}
		give(b, q, run_gpa, run_len);
		run_gpa = gpa;
		run_len = VIRTIO_BALLOON_PAGE_SIZE;
	}
	give(b, q, run_gpa, run_len);
	return (unsigned)n;
}

/* stats lock held. */
static void stats_take(struct virtio_balloon *b, struct virtqueue *vq)
{
	for (unsigned budget = STATS_BUDGET;; budget--) {
		if (!budget) {
			if (vq_has_avail(vq))
				virtio_queue_again(b->dev, VIRTIO_BALLOON_STATSQ);
			break;
		}
		if (vq_pop(vq, &b->stats_chain) <= 0)
			break;
		if (b->stats_held) /* a second buffer: give the older one back */
			vq_push_head(vq, b->stats_head, 0);
		const struct vq_chain *c = &b->stats_chain;
		b->stats_head = c->head;
		b->stats_held = true;
		uint64_t end = c->read_len < VIRTIO_BALLOON_STATS_MAX * 10 ? c->read_len
									   : VIRTIO_BALLOON_STATS_MAX * 10;
		for (uint64_t off = 0; off + 10 <= end; off += 10) {
			uint8_t e[10];
			vq_chain_read(c, off, e, sizeof(e));
			uint16_t tag = (uint16_t)(e[0] | e[1] << 8);
			uint64_t v = 0;
			for (unsigned i = 0; i < 8; i++)
				v |= (uint64_t)e[2 + i] << (8 * i);
			if (tag < VIRTIO_BALLOON_S_NR) {
				b->stats.val[tag] = v;
				b->stats.valid |= 1u << tag;
			}
		}
		b->stats.timestamp_ns = now_ns();
		b->stats.updates++;
	}
	vq_signal(vq);
}

static void balloon_queue_notify(void *opaque, unsigned q)
{
	struct virtio_balloon *b = opaque;
	struct virtqueue *vq = virtio_queue(b->dev, q);
	if (q == VIRTIO_BALLOON_STATSQ) {
		stats_take(b, vq);
		return;
	}
	bool any = false;
	unsigned budget = VIRTIO_BALLOON_BUDGET;
	while (vq_pop(vq, &b->chain[q]) > 0) {
		unsigned cost = pfns(b, q, &b->chain[q]);
		vq_push(vq, &b->chain[q], 0);
		any = true;
		cost = cost ? cost : 1;
		if (cost >= budget) {
			if (vq_has_avail(vq))
				virtio_queue_again(b->dev, q);
			break;
		}
		budget -= cost;
	}
	if (any)
		vq_signal(vq);
}

static void balloon_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	struct virtio_balloon *b = opaque;
	uint8_t img[VIRTIO_BALLOON_CFG_SIZE];
	uint32_t np = __atomic_load_n(&b->num_pages, __ATOMIC_RELAXED);
	uint32_t ac = __atomic_load_n(&b->actual, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 4; i++) {
		img[VIRTIO_BALLOON_CFG_NUM_PAGES + i] = (uint8_t)(np >> (8 * i));
		img[VIRTIO_BALLOON_CFG_ACTUAL + i] = (uint8_t)(ac >> (8 * i));
	}
	if (off < sizeof(img))
		memcpy(buf, img + off, len <= sizeof(img) - off ? len : sizeof(img) - off);
}

/* Transport lock held: only `actual` is the driver's to write. */
static void balloon_config_write(void *opaque, uint32_t off, const void *buf, unsigned len)
{
	struct virtio_balloon *b = opaque;
	uint32_t ac = __atomic_load_n(&b->actual, __ATOMIC_RELAXED);
	const uint8_t *p = buf;
	for (unsigned i = 0; i < len; i++) {
		uint32_t o = off + i;
		if (o < VIRTIO_BALLOON_CFG_ACTUAL || o >= VIRTIO_BALLOON_CFG_ACTUAL + 4)
			continue;
		unsigned sh = 8 * (o - VIRTIO_BALLOON_CFG_ACTUAL);
		ac = (ac & ~(0xffu << sh)) | (uint32_t)p[i] << sh;
	}
	__atomic_store_n(&b->actual, ac, __ATOMIC_RELAXED);
}

static void balloon_reset(void *opaque)
{
	struct virtio_balloon *b = opaque;
	/* Every queue lock held. The host's target stays; the guest starts over. */
	b->stats_held = false;
	__atomic_store_n(&b->actual, 0, __ATOMIC_RELAXED);
}

static const struct virtio_dev_ops balloon_ops = {
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
};

int virtio_balloon_new(struct pci_host *host, const struct virtio_balloon_conf *c, int slot,
		       struct virtio_balloon **out)
{
	*out = NULL;
	if (!c || !c->mem || !c->discard)
		return -EINVAL;
	uint16_t qs = c->queue_size ? c->queue_size : 128;
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->discard = c->discard;
	b->reclaim = c->reclaim;
	b->opaque = c->opaque;
	int r = -ENOMEM;
	if (vq_chain_init(&b->chain[0], qs) < 0 || vq_chain_init(&b->chain[1], qs) < 0 ||
	    vq_chain_init(&b->stats_chain, qs) < 0)
		goto fail;
	struct virtio_dev_params p = {
		.name = c->name ? c->name : "virtio-balloon", .device_id = VIRTIO_ID_BALLOON,
		.class_code = 0x050000, /* memory controller, RAM */
		.features = VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) |
			    VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM),
		.num_queues = 3, .queue_size = qs, .config_size = VIRTIO_BALLOON_CFG_SIZE,
		.run = c->run, .loop = c->loop, .mem = c->mem, .ops = &balloon_ops, .opaque = b,
	};
	r = virtio_pci_new(host, &p, slot, &b->dev);
	if (r < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	virtio_balloon_free(b);
	return r;
}

void virtio_balloon_free(struct virtio_balloon *b)
{
	if (!b)
		return;
	virtio_pci_free(b->dev);
	for (unsigned i = 0; i < 2; i++)
		vq_chain_free(&b->chain[i]);
	vq_chain_free(&b->stats_chain);
	free(b);
}

struct virtio_dev *virtio_balloon_dev(struct virtio_balloon *b) { return b->dev; }

void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages)
{
	__atomic_store_n(&b->num_pages, pages, __ATOMIC_RELAXED);
	virtio_config_changed(b->dev);
}

uint32_t virtio_balloon_target(const struct virtio_balloon *b) { return __atomic_load_n(&b->num_pages, __ATOMIC_RELAXED); }
uint32_t virtio_balloon_actual(const struct virtio_balloon *b) { return __atomic_load_n(&b->actual, __ATOMIC_RELAXED); }

int virtio_balloon_request_stats(struct virtio_balloon *b)
{
	struct virtqueue *vq = virtio_queue(b->dev, VIRTIO_BALLOON_STATSQ);
	int r = -EAGAIN;
	vq_lock(vq);
	uint8_t st = virtio_status(b->dev);
	if (b->stats_held && (st & VIRTIO_STATUS_DRIVER_OK) &&
	    !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		b->stats_held = false;
		r = vq_push_head(vq, b->stats_head, 0);
		vq_signal(vq);
	}
	vq_unlock(vq);
	return r;
}

void virtio_balloon_get_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out)
{
	struct virtqueue *vq = virtio_queue(b->dev, VIRTIO_BALLOON_STATSQ);
	vq_lock(vq);
	*out = b->stats;
	vq_unlock(vq);
	virtio_balloon_request_stats(b);
}

void virtio_balloon_get_counters(struct virtio_balloon *b, struct virtio_balloon_counters *out)
{
	out->inflated_pages = __atomic_load_n(&b->cnt.inflated_pages, __ATOMIC_RELAXED);
	out->deflated_pages = __atomic_load_n(&b->cnt.deflated_pages, __ATOMIC_RELAXED);
	out->bad_pfns = __atomic_load_n(&b->cnt.bad_pfns, __ATOMIC_RELAXED);
	out->discard_errors = __atomic_load_n(&b->cnt.discard_errors, __ATOMIC_RELAXED);
	out->oversized_chains = __atomic_load_n(&b->cnt.oversized_chains, __ATOMIC_RELAXED);
}
