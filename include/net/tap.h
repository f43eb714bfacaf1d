/* SPDX-License-Identifier: MIT */
/*
 * Tap backend for virtio-net (Linux Documentation/networking/tuntap.rst,
 * <linux/if_tun.h>), and the frame-backend interface virtio-net uses, so
 * that unit tests and fuzzers plug in a fake instead of a real tap.
 *
 * A tap is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking,
 * with a 12-byte vnet header (struct virtio_net_hdr_v1, TUNSETVNETHDRSZ):
 *   - an existing tap (conf.create false): it must exist and be a tap; the
 *     open fails with -ENODEV ("no such tap") rather than creating one, and
 *     with -EBUSY when another process holds it. It is set up (IFF_UP) if it
 *     is not already (a failure to do so on a tap we may open but not
 *     configure is only a warning). Its persistence is left alone.
 *   - a new tap (conf.create true): named conf.name, or "nv-tap%d" (the
 *     kernel picks the number); not persistent, so it disappears when the
 *     last fd closes (tap_close, or the process dying); optionally added to
 *     the bridge conf.bridge (SIOCBRADDIF ioctl, no netlink library); set up.
 * Offloads: the open probes which of checksum / TSO4 / TSO6 / ECN the tap
 * accepts (TUNSETOFFLOAD) and leaves them all off; virtio-net turns on
 * what the guest negotiated (tap_set_offload). UFO is never enabled.
 *
 * Errors name the tap and the cause ("tap nv-tap0: TUNSETIFF: Operation
 * not permitted (needs CAP_NET_ADMIN)"); nothing is left behind on failure.
 * Needs CAP_NET_ADMIN, except to open an existing tap owned by the user.
 */
#ifndef NV_TAP_H
#define NV_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

struct tap;

struct tap_conf {
	const char *name;     /* existing tap; with create: the new name (NULL: "nv-tap%d") */
	bool create;
	const char *bridge;   /* create only: add the new tap to this bridge (NULL: none) */
};

/*
 * Opens or creates the tap. 0 or -errno; on failure err (if not NULL)
 * holds the message (errlen bytes at most; 256 is plenty) and nothing is
 * left behind.
 */
int tap_open(const struct tap_conf *c, struct tap **out, char *err, size_t errlen);
/* Closes the fd (a created tap disappears with it). NULL ok. */
void tap_close(struct tap *t);

const char *tap_name(const struct tap *t);   /* the kernel's name, e.g. "nv-tap3" */
int tap_fd(const struct tap *t);
bool tap_created(const struct tap *t);
unsigned tap_offloads(const struct tap *t);  /* NET_OFFLOAD_* the tap accepts */
int tap_set_offload(struct tap *t, unsigned offloads);

ssize_t tap_recv(struct tap *t, void *buf, size_t len);
ssize_t tap_sendv(struct tap *t, const struct iovec *iov, int iovcnt);

/* The tap as a virtio-net backend (opaque = t); valid while t is open. */
struct net_backend tap_backend(struct tap *t);

/* "nv-tap%d"-style default name of a created tap. */
#define TAP_DEFAULT_NAME "nv-tap%d"

#endif
