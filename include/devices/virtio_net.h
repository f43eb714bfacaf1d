/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2, 5.1): one receive / transmit queue pair (queue 0
 * receiveq, queue 1 transmitq; no control queue), over a frame backend
 * (include/net/net_backend.h: a tap, or a fake in tests).
 *
 * Features offered: VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (link up unless
 * virtio_net_set_link says otherwise), VIRTIO_NET_F_MRG_RXBUF, and the
 * offloads the backend supports: NET_OFFLOAD_CSUM -> CSUM and GUEST_CSUM,
 * TSO4 -> HOST_TSO4 and GUEST_TSO4, TSO6 -> HOST_TSO6 and GUEST_TSO6, ECN
 * -> HOST_ECN and GUEST_ECN. The 12-byte struct virtio_net_hdr_v1 goes to
 * and comes from the backend as it is (num_buffers rewritten towards the
 * guest); on FEATURES_OK the backend's offloads are set to what the guest
 * takes (GUEST_*). A driver that breaks the feature dependencies of 5.1.3.1
 * is refused FEATURES_OK.
 *
 * TX (guest -> backend): every chain is written to the backend with one
 * sendv straight from guest memory; a frame whose source MAC is not the
 * NIC's own is dropped and counted unless mac_spoofing (mac_policy.h).
 * The ring is drained with notifications suppressed and one interrupt per
 * drain. With a loop (EVLOOP) the device then polls the transmit ring for a
 * short window with the driver's notifications off (EVENT_IDX avail_event
 * one behind), taking waiting receive frames meanwhile if the receive queue
 * is free: a guest whose next frame follows our completion interrupt (TCP
 * small queues) sends it without a notify exit. The window adapts like
 * KVM's halt-polling (0..200 us: a kick that a longer window would have
 * caught doubles it, a later one halves it), so an idle guest costs nothing;
 * notifications are always on again when the window ends empty.
 * A run sends VIRTIO_NET_TX_BUDGET frames at most and polls for 200 us at
 * most; a guest that keeps its ring full gets the rest sent in later turns
 * of the loop (virtio_queue_again), after the loop's other ready fds.
 * RX (backend -> guest): frames are read into a bounce buffer, filtered
 * (destination the NIC's MAC, broadcast or multicast, unless mac_spoofing),
 * then copied into the guest's buffers (several with MRG_RXBUF, published
 * together). When the guest has no receive buffer left the backend fd is
 * no longer watched (the frame in hand waits) until the guest adds buffers
 * and notifies the receive queue. A run delivers VIRTIO_NET_RX_BUDGET frames
 * at most (a buffer too small to use, which the guest may post endlessly,
 * costs as much as a frame), then the rest waits for a later turn.
 *
 * Threads: run = VIRTIO_RUN_EVLOOP (the VMM: queue kicks and the backend fd
 * on the I/O thread's loop) or VIRTIO_RUN_INLINE (tests, fuzzers). With a
 * loop, the backend fd is registered on it at creation; create and free the
 * device on the loop's thread or while it is not running (as for every
 * evloop user). Without a loop, call virtio_net_rx_poll to take frames.
 *
 * Locking: RX state is guarded by the receive queue's lock, TX state by the
 * transmit queue's lock (both vq_lock); counters, link status and the
 * spoofing flag are atomics, readable from any thread.
 */
#ifndef NV_VIRTIO_NET_H
#define NV_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "net_backend.h"
#include "virtio.h"

/* Feature bits (5.1.3). */
/* Work per run on the I/O thread (frames; see TX and RX above). */
#define VIRTIO_NET_TX_BUDGET 256
#define VIRTIO_NET_RX_BUDGET 256

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN  9
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_ECN   13
#define VIRTIO_NET_F_HOST_UFO   14
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_F_CTRL_VQ    17

/* Configuration (5.1.4): mac[6], le16 status, le16 max_virtqueue_pairs, le16 mtu. */
#define VIRTIO_NET_CFG_MAC      0
#define VIRTIO_NET_CFG_STATUS   6
#define VIRTIO_NET_CFG_MAX_VQP  8
#define VIRTIO_NET_CFG_MTU      10
#define VIRTIO_NET_CFG_SIZE     12
#define VIRTIO_NET_S_LINK_UP    1

/* struct virtio_net_hdr_v1 (5.1.6): offsets and values. */
#define VIRTIO_NET_HDR_FLAGS        0
#define VIRTIO_NET_HDR_GSO_TYPE     1
#define VIRTIO_NET_HDR_HDR_LEN      2
#define VIRTIO_NET_HDR_GSO_SIZE     4
#define VIRTIO_NET_HDR_CSUM_START   6
#define VIRTIO_NET_HDR_CSUM_OFFSET  8
#define VIRTIO_NET_HDR_NUM_BUFFERS  10
#define VIRTIO_NET_HDR_LEN          12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

struct virtio_net;

struct virtio_net_conf {
	const char *name;              /* "virtio-net0"; NULL: "virtio-net" */
	uint8_t mac[6];                /* the NIC's MAC (unicast) */
	bool mac_spoofing;             /* false: the MAC policy filters both ways */
	struct net_backend backend;    /* ops required; borrowed, must outlive the device */
	uint16_t queue_size;           /* 0: 256 */
	enum virtio_run run;           /* VIRTIO_RUN_EVLOOP or VIRTIO_RUN_INLINE */
	struct evloop *loop;           /* required with EVLOOP; optional with INLINE */
	const struct gmem *mem;
};

/* Per-queue counters (queue VIRTIO_NET_RXQ or VIRTIO_NET_TXQ). */
struct virtio_net_queue_stats {
	uint64_t packets;              /* frames delivered (rx: to the guest, tx: to the backend) */
	uint64_t bytes;                /* their bytes, Ethernet frame only (no vnet header) */
	uint64_t dropped;              /* refused by the MAC policy */
	uint64_t errors;               /* malformed, too long for the buffers, backend errors */
};

/* 0 or -errno (-EINVAL: bad conf, e.g. a multicast MAC or WORKER mode; those of
 * virtio_pci_new and evloop_add). */
int virtio_net_new(struct pci_host *host, const struct virtio_net_conf *c, int slot,
		   struct virtio_net **out);
void virtio_net_free(struct virtio_net *n); /* NULL ok; does not close the backend */
struct virtio_dev *virtio_net_dev(struct virtio_net *n);

/* Snapshot of queue q's counters (any thread). 0 or -EINVAL. */
int virtio_net_get_stats(struct virtio_net *n, unsigned q, struct virtio_net_queue_stats *out);
const char *virtio_net_queue_name(unsigned q); /* "rx", "tx" or NULL */

/* Link status bit of the configuration + configuration interrupt. Any thread
 * except device callbacks. */
void virtio_net_set_link(struct virtio_net *n, bool up);
/* Changes the MAC spoofing rule at run time (any thread). */
void virtio_net_set_spoofing(struct virtio_net *n, bool on);
bool virtio_net_spoofing(const struct virtio_net *n);

/* Takes waiting backend frames now, as the fd handler does (no loop, or
 * tests). Call from the thread that owns the queues (INLINE: any one). */
void virtio_net_rx_poll(struct virtio_net *n);

/* Device features offered for a backend with these NET_OFFLOAD_* bits. */
uint64_t virtio_net_features_for(unsigned offloads);

#endif
