// SPDX-License-Identifier: MIT
/* virtio-rng (virtio 1.2, 5.4): every device-writable buffer is filled from getrandom(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"
#include "virtio_rng.h"

#define RNG_MAX_PER_REQUEST 65536u  /* bytes given per buffer at most */
/* Per notify: VIRTIO_RNG_BUDGET; a buffer costs its bytes, at least 4 KiB. */
#define RNG_MIN_COST 4096u

struct virtio_rng {
	struct virtio_dev *dev;
	struct vq_chain chain;       /* used under the queue lock */
	uint64_t bytes;              /* atomic */
};

static size_t fill(const struct vq_chain *c)
{
	size_t done = 0;
	for (unsigned i = c->nread; i < c->nread + c->nwrite && done < RNG_MAX_PER_REQUEST; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;
		if (len > RNG_MAX_PER_REQUEST - done)
			len = RNG_MAX_PER_REQUEST - done;
		size_t got = 0;
		while (got < len) {
			ssize_t r = getrandom(p + got, len - got, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return done + got;
			got += (size_t)r;
		}
		done += got;
	}
	return done;
}

static void rng_queue_notify(void *opaque, unsigned q)
{
	struct virtio_rng *r = opaque;
	struct virtqueue *vq = virtio_queue(r->dev, q);
	size_t budget = VIRTIO_RNG_BUDGET;
	while (vq_pop(vq, &r->chain) > 0) {
		size_t n = fill(&r->chain);
		__atomic_fetch_add(&r->bytes, n, __ATOMIC_RELAXED);
		vq_push(vq, &r->chain, (uint32_t)n);
		size_t cost = n < RNG_MIN_COST ? RNG_MIN_COST : n;
		if (cost >= budget) {
			if (vq_has_avail(vq))
				virtio_queue_again(r->dev, q);
			break;
		}
		budget -= cost;
	}
	vq_signal(vq);
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
};

int virtio_rng_new(struct pci_host *host, const struct virtio_rng_conf *c, int slot,
		   struct virtio_rng **out)
{
	*out = NULL;
	uint16_t qs = c && c->queue_size ? c->queue_size : 64;
	if (!c || !c->mem)
		return -EINVAL;
	struct virtio_rng *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int ret = vq_chain_init(&r->chain, qs);
	if (ret < 0)
		goto fail;
	struct virtio_dev_params p = {
		.name = c->name ? c->name : "virtio-rng", .device_id = VIRTIO_ID_RNG,
		.class_code = 0x00ff00, .num_queues = 1, .queue_size = qs, .run = c->run,
		.loop = c->loop, .mem = c->mem, .ops = &rng_ops, .opaque = r,
	};
	ret = virtio_pci_new(host, &p, slot, &r->dev);
	if (ret < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	virtio_rng_free(r);
	return ret;
}

void virtio_rng_free(struct virtio_rng *r)
{
	if (!r)
		return;
	virtio_pci_free(r->dev);
	vq_chain_free(&r->chain);
	free(r);
}

struct virtio_dev *virtio_rng_dev(struct virtio_rng *r) { return r->dev; }
uint64_t virtio_rng_bytes(struct virtio_rng *r) { return __atomic_load_n(&r->bytes, __ATOMIC_RELAXED); }
