// SPDX-License-Identifier: MIT
/*
 * virtio-net transmit: guest frames from the transmit queue to the backend,
 * MAC policy applied, with adaptive polling of the ring in evloop mode.
 *
 * Every run has a budget (VIRTIO_NET_TX_BUDGET frames, NET_TX_RUN_NS of polling):
 * a guest that refills its ring as fast as it drains holds the I/O thread
 * for one budget, after which the run asks to be called again
 * (virtio_queue_again: a deferred call after the loop's ready fds), so
 * signals, the control socket, the console and the other devices are served
 * between two budgets, never behind an endless burst.
 */
#include <errno.h>
#include <string.h>

#include "mac_policy.h"
#include "net_internal.h"
#include "util.h"

#define NET_MAX_IOV    1024  /* UIO_MAXIOV */
/* Transmit polling (evloop mode): after a burst the transmit ring is watched
 * for up to poll_ns with the driver's notifications off; the window adapts
 * between 0 and NET_POLL_MAX_NS like KVM's halt-polling. One run polls for
 * NET_TX_RUN_NS at most, then goes on polling in a later turn. */
#define NET_POLL_MAX_NS   200000u
#define NET_POLL_START_NS 10000u
#define NET_POLL_CHECK    32    /* spins between clock / receive checks */
#define NET_TX_RUN_NS     NET_POLL_MAX_NS

void net_tx_init(struct virtio_net *n, bool poll)
{
	n->poll_max_ns = poll ? NET_POLL_MAX_NS : 0;
	n->poll_ns = n->poll_max_ns < NET_POLL_START_NS ? n->poll_max_ns : NET_POLL_START_NS;
	n->poll_end = 0;
	n->poll_resume = false;
}

void net_tx_reset(struct virtio_net *n)
{
	n->poll_end = 0;
	n->poll_resume = false;
}

/*
 * tx lock held. Sends waiting chains, at most budget of them; returns how
 * many. *dry: it stopped because the ring was empty (or broken), not on the
 * budget (vq_pop returning 0 turned the driver's notifications back on).
 */
static unsigned tx_drain(struct virtio_net *n, struct virtqueue *vq, unsigned budget, bool *dry)
{
	struct vq_chain *c = &n->tx_chain;
	unsigned sent = 0;
	*dry = false;
	vq_suppress_notify(vq, true);
	while (sent < budget) {
		if (vq_pop(vq, c) <= 0) {
			*dry = true;
			break;
		}
		sent++;
		uint8_t eth[ETH_HDR_LEN];
		uint64_t flen = c->read_len - (c->read_len < VIRTIO_NET_HDR_LEN ? c->read_len : VIRTIO_NET_HDR_LEN);
		if (flen < ETH_HDR_LEN || c->nread > NET_MAX_IOV) {
			COUNT(n, ST_TX, errors, 1);
		} else if (vq_chain_read(c, VIRTIO_NET_HDR_LEN, eth, sizeof(eth)),
			   !mac_tx_allowed(n->mac, eth, (size_t)flen, virtio_net_spoofing(n))) {
			COUNT(n, ST_TX, dropped, 1);
		} else if (n->be.ops->sendv(n->be.opaque, c->iov, (int)c->nread) < 0) {
			COUNT(n, ST_TX, errors, 1);
		} else {
			COUNT(n, ST_TX, packets, 1);
			COUNT(n, ST_TX, bytes, flen);
		}
		vq_push(vq, c, 0);
	}
	if (sent)
		vq_signal(vq);
	return sent;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* tx lock held. Takes waiting receive frames too (the acknowledgements a
 * transmitted frame provoked), if the receive queue is free right now:
 * only a trylock, as reset takes the queue locks in the other order. */
static void tx_poll_rx(struct virtio_net *n)
{
	struct virtqueue *rq = virtio_queue(n->dev, VIRTIO_NET_RXQ);
	if (!vq_trylock(rq))
		return;
	if (n->rx.watching)
		net_rx_run(n);
	vq_unlock(rq);
}

/* tx lock held. Watches the ring for up to poll_ns; true if a chain came. */
static bool tx_poll(struct virtio_net *n, struct virtqueue *vq)
{
	vq_notify_off(vq);
	uint64_t t0 = now_ns();
	for (unsigned i = 1;; i++) {
		if (vq_has_avail(vq)) {
			n->poll_ns = n->poll_ns * 2 > n->poll_max_ns ? n->poll_max_ns : n->poll_ns * 2;
			return true;
		}
		cpu_relax();
		if (i % NET_POLL_CHECK == 0) {
			tx_poll_rx(n);
			if (now_ns() - t0 >= n->poll_ns)
				break;
		}
	}
	/* Notifications on again, then a last look (vq_pop does the same). */
	vq_suppress_notify(vq, false);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq_has_avail(vq))
		return true;
	n->poll_end = now_ns();
	return false;
}

/* tx lock held. */
void net_tx_run(struct virtio_net *n, struct virtqueue *vq)
{
	if (n->poll_max_ns && n->poll_end) {
		/* A kick after an empty window: would a longer one have caught it? */
		uint64_t waited = now_ns() - n->poll_end;
		n->poll_end = 0;
		if (waited + n->poll_ns <= n->poll_max_ns)
			n->poll_ns = n->poll_ns < NET_POLL_START_NS ? NET_POLL_START_NS : n->poll_ns * 2;
		else
			n->poll_ns = n->poll_ns / 2 < NET_POLL_START_NS ? 0 : n->poll_ns / 2;
		if (n->poll_ns > n->poll_max_ns)
			n->poll_ns = n->poll_max_ns;
	}
	unsigned budget = VIRTIO_NET_TX_BUDGET;
	bool resume = n->poll_resume; /* the previous run was polling when its time ran out */
	n->poll_resume = false;
	uint64_t t0 = n->poll_max_ns ? now_ns() : 0;
	while (queue_live(n, vq)) {
		bool dry;
		unsigned sent = tx_drain(n, vq, budget, &dry);
		budget -= sent;
		if (!dry) {
			/* Budget spent with frames still queued: the rest in a later turn. */
			virtio_queue_again(n->dev, VIRTIO_NET_TXQ);
			return;
		}
		if ((!sent && !resume) || !n->poll_ns)
			return;
		resume = false;
		if (now_ns() - t0 >= NET_TX_RUN_NS) {
			n->poll_resume = true;
			virtio_queue_again(n->dev, VIRTIO_NET_TXQ);
			return;
		}
		if (!tx_poll(n, vq))
			return;
	}
}
