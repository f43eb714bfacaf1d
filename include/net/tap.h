/* SPDX-License-Identifier: MIT */
/*
 * Tap backend for virtio-net (Linux Documentation/networking/tuntap.rst,
 * <linux/if_tun.h>), one implementation of the frame-backend interface
 * (include/net/net_backend.h).
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

#include "net_backend.h"

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
/*
 * A tap someone else opened (as libvirt hands taps to its VMMs): fd must be
 * a tap descriptor with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR; it is taken over
 * (made non-blocking and close-on-exec, closed by tap_close). 0 or -errno
 * (-EINVAL: not such a tap) with the message in err.
 */
int tap_from_fd(int fd, struct tap **out, char *err, size_t errlen);
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
