/* SPDX-License-Identifier: MIT */
/* Internals of virtio-net, shared by net.c (receive, device ops, creation)
 * and net_tx.c (transmit). */
#ifndef NV_NET_INTERNAL_H
#define NV_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "mac_policy.h"
#include "virtio.h"
#include "virtio_net.h"

#define NET_RX_BUF     (VIRTIO_NET_HDR_LEN + 65536 + 4096) /* a 64 KiB GSO frame + headers */
enum { ST_RX = VIRTIO_NET_RXQ, ST_TX = VIRTIO_NET_TXQ, ST_N };

struct net_counters {
	uint64_t packets, bytes, dropped, errors; /* atomics */
};

struct net_rx {
	/* All guarded by the receive queue's lock. */
	struct vq_chain chain;
	uint8_t *buf;           /* the frame in hand: vnet header + Ethernet frame */
	size_t len, off;        /* its length; bytes already copied to the guest */
	bool pending;           /* buf holds a frame not fully delivered */
	unsigned nused;         /* chains filled for it so far */
	uint16_t *heads;        /* [queue size] */
	uint32_t *lens;
	uint8_t *nb[2];         /* num_buffers bytes in the first chain */
	bool watching;          /* backend fd watched for EPOLLIN */
	bool fd_dead;           /* the fd reported an error: no longer on the loop */
	bool read_err_logged;
};

struct virtio_net {
	struct virtio_dev *dev;
	/* Immutable after creation. */
	struct net_backend be;
	uint8_t mac[MAC_LEN];
	struct evloop *loop;
	int be_fd;              /* on the loop (-1: none) */
	char *name;
	/* Atomics. */
	bool spoofing;
	uint16_t link;          /* VIRTIO_NET_S_LINK_UP or 0 */
	struct net_counters st[ST_N];
	/* Receive side: the receive queue's lock. */
	struct net_rx rx;
	/* Transmit side: the transmit queue's lock. */
	struct vq_chain tx_chain;
	uint64_t poll_max_ns;   /* 0: no polling (INLINE mode); immutable (net_tx.c) */
	uint64_t poll_ns;       /* current window */
	uint64_t poll_end;      /* now_ns() when the last window ran out empty; 0: none */
	bool poll_resume;       /* a run stopped on its time budget while polling */
	/* Transport lock (features_ok): refused negotiations logged so far. */
	unsigned nr_refused;
};

#define COUNT(n, q, f, v) __atomic_fetch_add(&(n)->st[(q)].f, (uint64_t)(v), __ATOMIC_RELAXED)

static inline bool queue_live(struct virtio_net *n, struct virtqueue *vq)
{
	uint8_t st = virtio_status(n->dev);
	return (st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
	       vq->ready && !vq->broken;
}

/* net.c: rx lock held. Moves frames from the backend to the guest (one budget). */
void net_rx_run(struct virtio_net *n);
/* net_tx.c: tx lock held. Sends what the guest queued (one budget), polls. */
void net_tx_run(struct virtio_net *n, struct virtqueue *vq);
/* net_tx.c: the TX defaults for a new device / after a reset (tx lock held). */
void net_tx_init(struct virtio_net *n, bool poll);
void net_tx_reset(struct virtio_net *n);

#endif
