// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio 1.2, 5.1) over a frame backend: one queue pair, MAC
 * policy both ways, mergeable receive buffers, offloads passed through in
 * the vnet header. See include/devices/virtio_net.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "evloop.h"
#include "mac_policy.h"
#include "util.h"
#include "net_internal.h"
#include "virtio_net.h"

/* ---- receive ---- */

/* rx lock held. Watch the backend fd for frames (on) or not. */
static void rx_watch(struct virtio_net *n, bool on)
{
	struct net_rx *rx = &n->rx;
	if (rx->watching == on)
		return;
	rx->watching = on;
	if (n->be_fd >= 0 && !rx->fd_dead)
		evloop_mod(n->loop, n->be_fd, on ? EPOLLIN : 0);
}

/*
 * Returns chains to the driver in one step: all the used elements are
 * written, then used->idx moves once, so the driver never sees part of a
 * merged frame (5.1.6.4: "MUST use all buffers ... together"). Uses the
 * queue's documented fields; rx lock held.
 */
static int push_together(struct virtqueue *vq, const uint16_t *heads, const uint32_t *lens,
			 unsigned cnt)
{
	if (cnt == 1)
		return vq_push_head(vq, heads[0], lens[0]);
	if (vq->broken || !vq->ready)
		return -EIO;
	for (unsigned i = 0; i < cnt; i++)
		if (heads[i] >= vq->size || !(vq->inflight[heads[i] / 8] & (1u << (heads[i] % 8))))
			return -EINVAL;
	for (unsigned i = 0; i < cnt; i++) {
		uint8_t *e = vq->used + 4 + 8 * (size_t)((uint16_t)(vq->used_idx + i) % vq->size);
		for (unsigned b = 0; b < 4; b++) {
			__atomic_store_n(e + b, (uint8_t)((uint32_t)heads[i] >> (8 * b)), __ATOMIC_RELAXED);
			__atomic_store_n(e + 4 + b, (uint8_t)(lens[i] >> (8 * b)), __ATOMIC_RELAXED);
		}
		vq->inflight[heads[i] / 8] &= (uint8_t)~(1u << (heads[i] % 8));
		vq->ninflight--;
	}
	vq->used_idx = (uint16_t)(vq->used_idx + cnt);
	uint8_t le[2];
	le_put(le, vq->used_idx, 2);
	uint16_t v;
	memcpy(&v, le, 2);
	__atomic_store_n((uint16_t *)(void *)(vq->used + 2), v, __ATOMIC_RELEASE);
	return 0;
}

/* Host pointer of writable byte off of chain c, or NULL. */
static uint8_t *chain_wbyte(const struct vq_chain *c, uint64_t off)
{
	for (unsigned i = c->nread; i < c->nread + c->nwrite; i++) {
		if (off < c->iov[i].iov_len)
			return (uint8_t *)c->iov[i].iov_base + off;
		off -= c->iov[i].iov_len;
	}
	return NULL;
}

/* FILL_AGAIN: the budget ran out on useless buffers; the frame stays in hand. */
enum fill_result { FILL_DONE, FILL_STARVED, FILL_BROKEN, FILL_AGAIN };

/* rx lock held. Copies the frame in hand into guest buffers; *pushed set
 * when something went to the used ring. A useless buffer costs one unit of
 * *budget (the guest may post them as fast as we return them). */
static enum fill_result rx_fill(struct virtio_net *n, struct virtqueue *vq, bool *pushed,
				unsigned *budget)
{
	struct net_rx *rx = &n->rx;
	bool mrg = virtio_has_feature(n->dev, VIRTIO_NET_F_MRG_RXBUF);
	while (rx->off < rx->len) {
		int r = vq_pop(vq, &rx->chain);
		if (r < 0) {
			rx->pending = false;
			return FILL_BROKEN;
		}
		if (r == 0)
			return FILL_STARVED;
		const struct vq_chain *c = &rx->chain;
		bool first = rx->nused == 0;
		if (c->write_len == 0 || (first && c->write_len < VIRTIO_NET_HDR_LEN) ||
		    (!mrg && c->write_len < rx->len)) {
			/* Useless or too small: give it back empty (the driver drops it). */
			vq_push(vq, c, 0);
			*pushed = true;
			COUNT(n, ST_RX, errors, 1);
			if (!mrg) {
				rx->pending = false;
				return FILL_DONE; /* the frame is dropped */
			}
			if (*budget <= 1)
				return FILL_AGAIN;
			(*budget)--;
			continue;
		}
		uint64_t k = c->write_len < rx->len - rx->off ? c->write_len : rx->len - rx->off;
		vq_chain_write(c, 0, rx->buf + rx->off, (size_t)k);
		if (first) {
			rx->nb[0] = chain_wbyte(c, VIRTIO_NET_HDR_NUM_BUFFERS);
			rx->nb[1] = chain_wbyte(c, VIRTIO_NET_HDR_NUM_BUFFERS + 1);
		}
		rx->heads[rx->nused] = c->head;
		rx->lens[rx->nused] = (uint32_t)k;
		rx->nused++;
		rx->off += k;
	}
	if (rx->nb[0] && rx->nb[1]) {
		*rx->nb[0] = (uint8_t)rx->nused;
		*rx->nb[1] = (uint8_t)(rx->nused >> 8);
	}
	int r = push_together(vq, rx->heads, rx->lens, rx->nused);
	rx->pending = false;
	if (r < 0)
		return FILL_BROKEN;
	*pushed = true;
	COUNT(n, ST_RX, packets, 1);
	COUNT(n, ST_RX, bytes, rx->len - VIRTIO_NET_HDR_LEN);
	return FILL_DONE;
}

/* rx lock held. Reads one frame into rx->buf: 1 got one, 0 none, -1 stop. */
static int rx_read(struct virtio_net *n)
{
	struct net_rx *rx = &n->rx;
	ssize_t got = n->be.ops->recv(n->be.opaque, rx->buf, NET_RX_BUF);
	if (got == -EAGAIN)
		return 0;
	if (got <= 0) { /* 0: end of file, which a tap never reports */
		COUNT(n, ST_RX, errors, 1);
		if (!rx->read_err_logged)
			nv_warn("%s: backend read: %s", n->name, got ? strerror((int)-got) : "end of file");
		rx->read_err_logged = true;
		return -1;
	}
	size_t len = (size_t)got;
	if (len < VIRTIO_NET_HDR_LEN + ETH_HDR_LEN) {
		COUNT(n, ST_RX, errors, 1);
		return 1;
	}
	if (!mac_rx_allowed(n->mac, rx->buf + VIRTIO_NET_HDR_LEN, len - VIRTIO_NET_HDR_LEN,
			    virtio_net_spoofing(n))) {
		COUNT(n, ST_RX, dropped, 1);
		return 1;
	}
	le_put(rx->buf + VIRTIO_NET_HDR_NUM_BUFFERS, 1, 2);
	rx->len = len;
	rx->off = 0;
	rx->nused = 0;
	rx->pending = true;
	return 1;
}

/* rx lock held. Moves frames from the backend to the guest. */
void net_rx_run(struct virtio_net *n)
{
	struct net_rx *rx = &n->rx;
	struct virtqueue *vq = virtio_queue(n->dev, VIRTIO_NET_RXQ);
	bool pushed = false;
	if (!queue_live(n, vq)) {
		rx_watch(n, false);
		return;
	}
	vq_suppress_notify(vq, true); /* re-enabled by vq_pop when we run dry */
	for (unsigned budget = VIRTIO_NET_RX_BUDGET; budget; budget--) {
		/* budget >= 1 here: rx_fill takes it down to 1 at most. */
		if (!rx->pending && !vq_has_avail(vq)) {
			/* No buffer to put a frame in: leave frames in the backend
			 * and ask the driver to notify when it adds buffers. */
			vq_suppress_notify(vq, false);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (!vq_has_avail(vq)) {
				rx_watch(n, false);
				break;
			}
		}
		if (!rx->pending) {
			int r = rx_read(n);
			if (r <= 0) {
				rx_watch(n, r == 0);
				break;
			}
			if (!rx->pending)
				continue; /* dropped */
		}
		enum fill_result f = rx_fill(n, vq, &pushed, &budget);
		if (f == FILL_AGAIN) {
			virtio_queue_again(n->dev, VIRTIO_NET_RXQ);
			break;
		}
		if (f != FILL_DONE) {
			rx_watch(n, false); /* starved: the guest's kick resumes us */
			break;
		}
		rx_watch(n, true);
	}
	if (pushed)
		vq_signal(vq);
}

static void rx_fd_cb(void *opaque, int fd, uint32_t events)
{
	struct virtio_net *n = opaque;
	struct virtqueue *vq = virtio_queue(n->dev, VIRTIO_NET_RXQ);
	vq_lock(vq);
	if (events & (EPOLLERR | EPOLLHUP)) {
		nv_warn("%s: backend fd %s; receive stopped", n->name,
			events & EPOLLHUP ? "hung up" : "error");
		evloop_del(n->loop, fd);
		n->rx.fd_dead = true;
		COUNT(n, ST_RX, errors, 1);
	} else {
		net_rx_run(n);
	}
	vq_unlock(vq);
}

void virtio_net_rx_poll(struct virtio_net *n)
{
	struct virtqueue *vq = virtio_queue(n->dev, VIRTIO_NET_RXQ);
	vq_lock(vq);
	net_rx_run(n);
	vq_unlock(vq);
}

/* ---- device ops ---- */

static void net_queue_notify(void *opaque, unsigned q)
{
	struct virtio_net *n = opaque;
	if (q == VIRTIO_NET_RXQ)
		net_rx_run(n); /* the guest added receive buffers */
	else if (q == VIRTIO_NET_TXQ)
		net_tx_run(n, virtio_queue(n->dev, q));
}

static void net_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	struct virtio_net *n = opaque;
	uint8_t img[VIRTIO_NET_CFG_SIZE];
	memcpy(img + VIRTIO_NET_CFG_MAC, n->mac, MAC_LEN);
	le_put(img + VIRTIO_NET_CFG_STATUS, __atomic_load_n(&n->link, __ATOMIC_RELAXED), 2);
	le_put(img + VIRTIO_NET_CFG_MAX_VQP, 1, 2);
	le_put(img + VIRTIO_NET_CFG_MTU, 1500, 2);
	if (off < sizeof(img))
		memcpy(buf, img + off, len <= sizeof(img) - off ? len : sizeof(img) - off);
}

static unsigned guest_offloads(uint64_t f)
{
	return (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) ? NET_OFFLOAD_CSUM : 0) |
	       (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) ? NET_OFFLOAD_TSO4 : 0) |
	       (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) ? NET_OFFLOAD_TSO6 : 0) |
	       (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) ? NET_OFFLOAD_ECN : 0);
}

static bool has(uint64_t f, unsigned bit) { return f & VIRTIO_BIT(bit); }

/* A guest can retry a refused negotiation in a loop (reset, features,
 * FEATURES_OK, ...): the first NET_REFUSED_LOG refusals are warnings, the
 * rest debug messages. Transport lock held. */
#define NET_REFUSED_LOG 8
static void refused(struct virtio_net *n, const char *why)
{
	unsigned k = n->nr_refused < UINT_MAX ? ++n->nr_refused : n->nr_refused;
	if (k < NET_REFUSED_LOG)
		nv_warn("%s: %s", n->name, why);
	else if (k == NET_REFUSED_LOG)
		nv_warn("%s: %s (the driver keeps retrying: further refusals at debug level)", n->name, why);
	else
		nv_debug("%s: %s", n->name, why);
}

static bool net_features_ok(void *opaque, uint64_t f)
{
	struct virtio_net *n = opaque;
	/* 5.1.3.1: feature dependencies. */
	if (((has(f, VIRTIO_NET_F_GUEST_TSO4) || has(f, VIRTIO_NET_F_GUEST_TSO6)) &&
	     !has(f, VIRTIO_NET_F_GUEST_CSUM)) ||
	    (has(f, VIRTIO_NET_F_GUEST_ECN) && !has(f, VIRTIO_NET_F_GUEST_TSO4) &&
	     !has(f, VIRTIO_NET_F_GUEST_TSO6)) ||
	    ((has(f, VIRTIO_NET_F_HOST_TSO4) || has(f, VIRTIO_NET_F_HOST_TSO6)) &&
	     !has(f, VIRTIO_NET_F_CSUM)) ||
	    (has(f, VIRTIO_NET_F_HOST_ECN) && !has(f, VIRTIO_NET_F_HOST_TSO4) &&
	     !has(f, VIRTIO_NET_F_HOST_TSO6))) {
		char why[128];
		snprintf(why, sizeof(why), "driver features 0x%llx break the dependencies of virtio 5.1.3.1",
			 (unsigned long long)f);
		refused(n, why);
		return false;
	}
	if (n->be.ops->set_offload) {
		int r = n->be.ops->set_offload(n->be.opaque, guest_offloads(f));
		if (r < 0) {
			char why[128];
			snprintf(why, sizeof(why), "backend offloads 0x%x: %s", guest_offloads(f),
				 strerror(-r));
			refused(n, why);
			return false;
		}
	}
	return true;
}

static void net_reset(void *opaque)
{
	struct virtio_net *n = opaque;
	/* Every queue lock is held: the in-flight chains belong to nobody now. */
	n->rx.pending = false;
	n->rx.nused = 0;
	n->rx.read_err_logged = false;
	net_tx_reset(n);
	if (n->be.ops->set_offload)
		n->be.ops->set_offload(n->be.opaque, 0);
	/* The fd watch is dropped by the fd handler itself (loop thread). */
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.features_ok = net_features_ok,
};

/* ---- creation ---- */

uint64_t virtio_net_features_for(unsigned off)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (off & NET_OFFLOAD_CSUM) {
		f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
		if (off & NET_OFFLOAD_TSO4)
			f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
		if (off & NET_OFFLOAD_TSO6)
			f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
		if ((off & NET_OFFLOAD_ECN) && (off & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)))
			f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN);
	}
	return f;
}

int virtio_net_new(struct pci_host *host, const struct virtio_net_conf *c, int slot,
		   struct virtio_net **out)
{
	*out = NULL;
	if (!c || !c->mem || !c->backend.ops || !c->backend.ops->recv || !c->backend.ops->sendv ||
	    mac_is_multicast(c->mac) || (c->run != VIRTIO_RUN_EVLOOP && c->run != VIRTIO_RUN_INLINE) ||
	    (c->run == VIRTIO_RUN_EVLOOP && !c->loop))
		return -EINVAL;
	uint16_t qs = c->queue_size ? c->queue_size : 256;
	struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	int r = -ENOMEM;
	n->be = c->backend;
	memcpy(n->mac, c->mac, MAC_LEN);
	n->spoofing = c->mac_spoofing;
	n->link = VIRTIO_NET_S_LINK_UP;
	n->loop = c->loop;
	n->be_fd = -1;
	net_tx_init(n, c->run == VIRTIO_RUN_EVLOOP);
	n->name = strdup(c->name ? c->name : "virtio-net");
	n->rx.buf = malloc(NET_RX_BUF);
	n->rx.heads = calloc(qs, sizeof(*n->rx.heads));
	n->rx.lens = calloc(qs, sizeof(*n->rx.lens));
	if (!n->name || !n->rx.buf || !n->rx.heads || !n->rx.lens ||
	    vq_chain_init(&n->rx.chain, qs) < 0 || vq_chain_init(&n->tx_chain, qs) < 0)
		goto fail;
	struct virtio_dev_params p = {
		.name = n->name, .device_id = VIRTIO_ID_NET, .class_code = 0x020000,
		.features = virtio_net_features_for(c->backend.offloads), .num_queues = 2,
		.queue_size = qs, .config_size = VIRTIO_NET_CFG_SIZE, .run = c->run, .loop = c->loop,
		.mem = c->mem, .ops = &net_ops, .opaque = n,
	};
	r = virtio_pci_new(host, &p, slot, &n->dev);
	if (r < 0)
		goto fail;
	int fd = c->loop && c->backend.ops->fd ? c->backend.ops->fd(c->backend.opaque) : -1;
	if (fd >= 0) {
		r = evloop_add(c->loop, fd, 0, rx_fd_cb, n);
		if (r < 0)
			goto fail;
		n->be_fd = fd;
	}
	*out = n;
	return 0;
fail:
	virtio_net_free(n);
	return r;
}

void virtio_net_free(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->be_fd >= 0 && !n->rx.fd_dead)
		evloop_del(n->loop, n->be_fd);
	virtio_pci_free(n->dev);
	vq_chain_free(&n->rx.chain);
	vq_chain_free(&n->tx_chain);
	free(n->rx.buf);
	free(n->rx.heads);
	free(n->rx.lens);
	free(n->name);
	free(n);
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n) { return n->dev; }

int virtio_net_get_stats(struct virtio_net *n, unsigned q, struct virtio_net_queue_stats *out)
{
	if (q >= ST_N)
		return -EINVAL;
	const struct net_counters *s = &n->st[q];
	out->packets = __atomic_load_n(&s->packets, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
	return 0;
}

const char *virtio_net_queue_name(unsigned q)
{
	return q == VIRTIO_NET_RXQ ? "rx" : q == VIRTIO_NET_TXQ ? "tx" : NULL;
}

void virtio_net_set_link(struct virtio_net *n, bool up)
{
	uint16_t v = up ? VIRTIO_NET_S_LINK_UP : 0;
	if (__atomic_exchange_n(&n->link, v, __ATOMIC_RELAXED) != v)
		virtio_config_changed(n->dev);
}

void virtio_net_set_spoofing(struct virtio_net *n, bool on) { __atomic_store_n(&n->spoofing, on, __ATOMIC_RELAXED); }
bool virtio_net_spoofing(const struct virtio_net *n) { return __atomic_load_n(&n->spoofing, __ATOMIC_RELAXED); }
