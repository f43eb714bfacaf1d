/* SPDX-License-Identifier: MIT */
/*
 * The frame-backend interface virtio-net uses: a tap (include/net/tap.h)
 * is one implementation; unit tests and fuzzers plug in a fake. It belongs
 * to the net layer, below the devices, so that a device depends on the
 * interface and never on a particular backend.
 */
#ifndef NV_NET_BACKEND_H
#define NV_NET_BACKEND_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Offload bits (what the backend can do / what is on), mapped to TUN_F_*. */
#define NET_OFFLOAD_CSUM 0x1u   /* TUN_F_CSUM: partial checksums */
#define NET_OFFLOAD_TSO4 0x2u   /* TUN_F_TSO4 */
#define NET_OFFLOAD_TSO6 0x4u   /* TUN_F_TSO6 */
#define NET_OFFLOAD_ECN  0x8u   /* TUN_F_TSO_ECN */

/* Size of the vnet header in front of every frame (virtio_net_hdr_v1). */
#define NET_VNET_HDR_LEN 12

/*
 * A frame backend. Each frame travels with a NET_VNET_HDR_LEN-byte vnet
 * header in front.
 * recv:  one frame into buf (header included); its length, -EAGAIN when
 *        none is waiting, or -errno. A frame longer than len is truncated.
 * sendv: one frame from iov (header included); bytes written or -errno.
 * fd:    a descriptor that polls readable when recv has a frame, or -1.
 * set_offload: optional; turns on exactly the NET_OFFLOAD_* bits given for
 *        frames towards the guest (recv); 0 or -errno.
 * offloads: the NET_OFFLOAD_* bits set_offload accepts.
 * All calls come from the device's queue threads (the evloop in practice).
 */
struct net_backend_ops {
	ssize_t (*recv)(void *opaque, void *buf, size_t len);
	ssize_t (*sendv)(void *opaque, const struct iovec *iov, int iovcnt);
	int (*fd)(void *opaque);
	int (*set_offload)(void *opaque, unsigned offloads);
};

struct net_backend {
	const struct net_backend_ops *ops;
	void *opaque;
	unsigned offloads;
};

#endif
