// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2, 5.2) on a block-layer image. Requests are served
 * synchronously in queue_notify, which runs on the disk's worker thread
 * (VIRTIO_RUN_WORKER): the backend's readv/writev straight between the
 * image and guest memory, its flush for a writeback flush, its discard and
 * write-zeroes. The framing is not assumed (5.2.6.4): the header is the
 * first 16 device-readable bytes, the status the last device-writable byte.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio_blk.h"

#define SECTOR 512ULL
#define BLK_MAX_QUEUE 1024        /* iovecs per request stay below IOV_MAX */
#define BLK_MAX_DISCARD_SECTORS (1u << 22)
#define BLK_MAX_DISCARD_SEG 32u
#define BLK_DISCARD_ALIGN 8u      /* 4 KiB, in sectors */

/* Per request queue; used under the queue's lock (stats read with atomics). */
struct blk_queue {
	struct vq_chain chain;
	struct iovec *iov;
	struct virtio_blk_stats stats;
};

struct virtio_blk {
	struct virtio_dev *dev;
	struct block *img;
	bool ro;
	enum virtio_blk_cache cache;
	uint64_t capacity;            /* sectors */
	uint8_t serial[VIRTIO_BLK_ID_BYTES];
	uint8_t cfg[VIRTIO_BLK_CFG_SIZE]; /* immutable after creation */
	unsigned nq;
	struct blk_queue *q;          /* nq of them */
};

static void stat_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* dst = the bytes [off, off + len) of the segments src[0..n). Returns the count. */
static unsigned iov_slice(const struct iovec *src, unsigned n, uint64_t off, uint64_t len,
			  struct iovec *dst)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len; i++) {
		uint64_t sl = src[i].iov_len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		uint64_t take = sl - off < len ? sl - off : len;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[k].iov_len = (size_t)take;
		k++;
		len -= take;
		off = 0;
	}
	return k;
}

static bool range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t sectors = (bytes + SECTOR - 1) / SECTOR;
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* DISCARD / WRITE_ZEROES: the data is an array of 16-byte segments. */
static uint8_t discard_wz(struct virtio_blk *b, const struct vq_chain *c, bool wz)
{
	uint64_t n = (c->read_len - 16) / 16;
	if ((c->read_len - 16) % 16 || n == 0 || n > BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t s[16];
		vq_chain_read(c, 16 + 16 * i, s, sizeof(s));
		uint64_t sector = le_get(s, 8);
		uint32_t num = (uint32_t)le_get(s + 8, 4), flags = (uint32_t)le_get(s + 12, 4);
		if ((wz && (flags & ~VIRTIO_BLK_WZ_UNMAP)) || (!wz && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > BLK_MAX_DISCARD_SECTORS || !range_ok(b, sector, (uint64_t)num * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (!num)
			continue;
		int r = wz ? block_write_zeroes(b->img, sector * SECTOR, num * SECTOR,
				 flags & VIRTIO_BLK_WZ_UNMAP)
			   : block_discard(b->img, sector * SECTOR, num * SECTOR);
		if (r < 0) {
			nv_debug("virtio-blk: %s: %s", wz ? "write-zeroes" : "discard", strerror(-r));
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Serves one chain; returns the bytes written into its writable part. */
static uint32_t handle(struct virtio_blk *b, struct blk_queue *bq, const struct vq_chain *c)
{
	struct virtio_blk_stats *st = &bq->stats;
	if (c->read_len < 16 || c->write_len < 1) {
		stat_add(&st->errors, 1);
		stat_add(&st->requests, 1);
		return 0; /* no header or no status byte: nothing we can answer */
	}
	uint8_t hdr[16];
	vq_chain_read(c, 0, hdr, sizeof(hdr));
	uint32_t type = (uint32_t)le_get(hdr, 4);
	uint64_t sector = le_get(hdr + 8, 8);
	uint64_t in_len = c->write_len - 1;   /* device-writable data before the status */
	uint64_t out_len = c->read_len - 16;  /* device-readable data after the header */
	uint32_t written = 1;
	uint8_t s = VIRTIO_BLK_S_OK;
	unsigned n;
	int r;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		stat_add(&st->read_ops, 1);
		if (in_len >= UINT32_MAX || !range_ok(b, sector, in_len)) {
			s = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = iov_slice(c->iov + c->nread, c->nwrite, 0, in_len, bq->iov);
		r = block_readv(b->img, bq->iov, (int)n, sector * SECTOR);
		if (r < 0) {
			s = VIRTIO_BLK_S_IOERR;
			break;
		}
		written += (uint32_t)in_len;
		stat_add(&st->bytes_read, in_len);
		break;
	case VIRTIO_BLK_T_OUT:
		stat_add(&st->write_ops, 1);
		if (b->ro || !range_ok(b, sector, out_len)) {
			s = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = iov_slice(c->iov, c->nread, 16, out_len, bq->iov);
		r = block_writev(b->img, bq->iov, (int)n, sector * SECTOR);
		if (r < 0) {
			s = VIRTIO_BLK_S_IOERR;
			break;
		}
		stat_add(&st->bytes_written, out_len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		stat_add(&st->flush_ops, 1);
		if (b->ro || b->cache == VIRTIO_BLK_CACHE_UNSAFE)
			break; /* unsafe: flush is a no-op by configuration */
		r = block_flush(b->img);
		if (r < 0)
			s = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t k = in_len < VIRTIO_BLK_ID_BYTES ? in_len : VIRTIO_BLK_ID_BYTES;
		vq_chain_write(c, 0, b->serial, (size_t)k);
		written += (uint32_t)k;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		bool wz = type == VIRTIO_BLK_T_WRITE_ZEROES;
		stat_add(wz ? &st->write_zeroes_ops : &st->discard_ops, 1);
		if (b->ro)
			s = VIRTIO_BLK_S_IOERR;
		else if (!virtio_has_feature(b->dev, wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
			s = VIRTIO_BLK_S_UNSUPP;
		else
			s = discard_wz(b, c, wz);
		break;
	}
	default:
		s = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (s != VIRTIO_BLK_S_OK) {
		stat_add(&st->errors, 1);
		written = 1;
	}
	/* The status is the last device-writable byte. */
	vq_chain_write(c, c->write_len - 1, &s, 1);
	stat_add(&st->requests, 1);
	return written;
}

static void blk_queue_notify(void *opaque, unsigned q)
{
	struct virtio_blk *b = opaque;
	struct virtqueue *vq = virtio_queue(b->dev, q);
	struct blk_queue *bq = &b->q[q];
	unsigned batch = 0;
	while (vq_pop(vq, &bq->chain) > 0) {
		vq_push(vq, &bq->chain, handle(b, bq, &bq->chain));
		if (++batch % 32 == 0)
			vq_signal(vq); /* don't hold back completions during a long burst */
	}
	vq_signal(vq);
}

static void blk_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	struct virtio_blk *b = opaque;
	memcpy(buf, b->cfg + off, len);
}

static void blk_reset(void *opaque)
{
	/* Requests complete synchronously: nothing is in flight at reset. */
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
};

int virtio_blk_new(struct pci_host *host, const struct virtio_blk_conf *c, int slot,
		   struct virtio_blk **out)
{
	*out = NULL;
	uint16_t qs = c && c->queue_size ? c->queue_size : 256;
	if (!c || !c->image || !c->mem || qs < 4 || qs > BLK_MAX_QUEUE ||
	    (c->serial && strlen(c->serial) > VIRTIO_BLK_ID_BYTES))
		return -EINVAL;
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	int r;
	b->img = c->image;
	b->ro = c->readonly || c->image->readonly;
	b->cache = c->cache;
	b->capacity = c->image->size / SECTOR;
	if (c->serial)
		memcpy(b->serial, c->serial, strlen(c->serial));
	b->nq = c->num_queues ? c->num_queues : VIRTIO_BLK_DEFAULT_QUEUES;
	if (b->nq > VIRTIO_BLK_MAX_QUEUES) {
		r = -EINVAL;
		goto fail;
	}
	b->q = calloc(b->nq, sizeof(*b->q));
	if (!b->q) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < b->nq; i++) {
		if ((r = vq_chain_init(&b->q[i].chain, qs)) < 0)
			goto fail;
		b->q[i].iov = calloc(qs, sizeof(*b->q[i].iov));
		if (!b->q[i].iov) {
			r = -ENOMEM;
			goto fail;
		}
	}
	le_put(b->cfg + VIRTIO_BLK_CFG_CAPACITY, b->capacity, 8);
	le_put(b->cfg + VIRTIO_BLK_CFG_SEG_MAX, qs - 2u, 4);
	le_put(b->cfg + VIRTIO_BLK_CFG_BLK_SIZE, SECTOR, 4);
	le_put(b->cfg + VIRTIO_BLK_CFG_NUM_QUEUES, b->nq, 2);
	le_put(b->cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS, 4);
	le_put(b->cfg + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SEG, 4);
	le_put(b->cfg + VIRTIO_BLK_CFG_DISCARD_ALIGN, BLK_DISCARD_ALIGN, 4);
	le_put(b->cfg + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_DISCARD_SECTORS, 4);
	le_put(b->cfg + VIRTIO_BLK_CFG_MAX_WZ_SEG, BLK_MAX_DISCARD_SEG, 4);
	b->cfg[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
	uint64_t feat = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_MQ);
	feat |= b->ro ? VIRTIO_BIT(VIRTIO_BLK_F_RO)
		      : VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	struct virtio_dev_params p = {
		.name = c->name ? c->name : "virtio-blk", .device_id = VIRTIO_ID_BLOCK,
		.class_code = 0x010000, .features = feat, .num_queues = b->nq, .queue_size = qs,
		.config_size = VIRTIO_BLK_CFG_SIZE, .run = c->run, .loop = c->loop, .mem = c->mem,
		.ops = &blk_ops, .opaque = b,
	};
	if ((r = virtio_pci_new(host, &p, slot, &b->dev)) < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	virtio_blk_free(b);
	return r;
}

void virtio_blk_free(struct virtio_blk *b)
{
	if (!b)
		return;
	virtio_pci_free(b->dev); /* stops the worker first */
	for (unsigned i = 0; b->q && i < b->nq; i++) {
		vq_chain_free(&b->q[i].chain);
		free(b->q[i].iov);
	}
	free(b->q);
	free(b); /* the image is its owner's */
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b) { return b->dev; }
unsigned virtio_blk_num_queues(const struct virtio_blk *b) { return b->nq; }
uint64_t virtio_blk_capacity(const struct virtio_blk *b) { return b->capacity; }

int virtio_blk_get_stats(struct virtio_blk *b, unsigned q, struct virtio_blk_stats *out)
{
	if (q >= b->nq && q != VIRTIO_BLK_ALL_QUEUES)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	uint64_t *dst = (uint64_t *)(void *)out;
	for (unsigned i = 0; i < b->nq; i++) {
		if (q != VIRTIO_BLK_ALL_QUEUES && i != q)
			continue;
		uint64_t *src = (uint64_t *)(void *)&b->q[i].stats;
		for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
	return 0;
}
