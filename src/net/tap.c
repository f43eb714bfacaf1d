// SPDX-License-Identifier: MIT
/*
 * Tap backend (include/net/tap.h): TUNSETIFF with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR on /dev/net/tun, a 12-byte vnet header, offload probing,
 * bridge attach through SIOCBRADDIF, IFF_UP through SIOCSIFFLAGS.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

struct tap {
	int fd;                 /* immutable after tap_open */
	char name[IFNAMSIZ];
	bool created;
	unsigned offloads;      /* NET_OFFLOAD_* the tap accepts */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) NV_PRINTF(3, 4);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A hint for the errno of an operation that needs privileges. */
static const char *hint(int e, bool create)
{
	switch (e) {
	case EPERM:
	case EACCES: return " (needs CAP_NET_ADMIN, or a tap owned by this user)";
	case EBUSY: return create ? " (an interface of that name exists)" : " (in use by another process)";
	case ENOENT: return " (is the tun module loaded? modprobe tun)";
	case ENODEV: return " (no such interface)";
	default: return "";
	}
}

static unsigned to_tun(unsigned off)
{
	return (off & NET_OFFLOAD_CSUM ? TUN_F_CSUM : 0) | (off & NET_OFFLOAD_TSO4 ? TUN_F_TSO4 : 0) |
	       (off & NET_OFFLOAD_TSO6 ? TUN_F_TSO6 : 0) | (off & NET_OFFLOAD_ECN ? TUN_F_TSO_ECN : 0);
}

static bool offload_ok(int fd, unsigned off)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)to_tun(off)) == 0;
}

/* Which offloads the tap takes; leaves them all off. */
static unsigned probe_offloads(int fd)
{
	unsigned got = 0;
	if (offload_ok(fd, NET_OFFLOAD_CSUM)) {
		got = NET_OFFLOAD_CSUM;
		if (offload_ok(fd, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4))
			got |= NET_OFFLOAD_TSO4;
		if (offload_ok(fd, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO6))
			got |= NET_OFFLOAD_TSO6;
		if ((got & (NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6)) &&
		    offload_ok(fd, got | NET_OFFLOAD_ECN))
			got |= NET_OFFLOAD_ECN;
	}
	offload_ok(fd, 0);
	return got;
}

/* Sets IFF_UP on name if it is not up. 0 or -errno (what failed in *what). */
static int link_up(const char *name, const char **what)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		*what = "socket";
		return -errno;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int r = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		*what = "SIOCGIFFLAGS";
		r = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
			*what = "SIOCSIFFLAGS (IFF_UP)";
			r = -errno;
		}
	}
	close(s);
	return r;
}

static int bridge_add(const char *bridge, unsigned ifindex)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)ifindex;
	int r = ioctl(s, SIOCBRADDIF, &ifr) < 0 ? -errno : 0;
	close(s);
	return r;
}

int tap_open(const struct tap_conf *c, struct tap **out, char *err, size_t errlen)
{
	*out = NULL;
	set_err(err, errlen, "%s", "");
	const char *want = c && c->name ? c->name : (c && c->create ? TAP_DEFAULT_NAME : NULL);
	if (!want || !*want || strlen(want) >= IFNAMSIZ || strchr(want, '/')) {
		set_err(err, errlen, "tap %s: invalid interface name", want ? want : "(none)");
		return -EINVAL;
	}
	if (c->bridge && !c->create) {
		set_err(err, errlen, "tap %s: a bridge is only attached to a tap vmm creates", want);
		return -EINVAL;
	}
	if (!c->create && if_nametoindex(want) == 0) {
		set_err(err, errlen, "tap %s: no such interface (create it with: ip tuntap add dev %s mode tap)",
			want, want);
		return -ENODEV;
	}
	struct tap *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	t->created = c->create;
	int r;
	const char *what = "/dev/net/tun";
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		r = -errno;
		goto fail;
	}
	unsigned features = 0;
	what = "TUNGETFEATURES";
	if (ioctl(t->fd, TUNGETFEATURES, &features) < 0) {
		r = -errno;
		goto fail;
	}
	if (!(features & IFF_VNET_HDR) || !(features & IFF_TAP)) {
		what = "TUNGETFEATURES (no IFF_TAP / IFF_VNET_HDR)";
		r = -EOPNOTSUPP;
		goto fail;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", want);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (c->create ? IFF_TUN_EXCL : 0);
	what = "TUNSETIFF";
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		if (r == -EINVAL && !c->create)
			what = "TUNSETIFF (not a tap, or a multiqueue tap)";
		goto fail;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	if (!c->create) {
		/* It vanished between the check and TUNSETIFF: we created it. */
		what = "TUNGETIFF";
		if (ioctl(t->fd, TUNGETIFF, &ifr) < 0) {
			r = -errno;
			goto fail;
		}
		if (!(ifr.ifr_flags & IFF_PERSIST)) {
			what = "TUNSETIFF (the tap disappeared)";
			r = -ENODEV;
			goto fail;
		}
	}
	int hdr = NET_VNET_HDR_LEN;
	what = "TUNSETVNETHDRSZ";
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		r = -errno;
		goto fail;
	}
	t->offloads = probe_offloads(t->fd);
	if (c->create && c->bridge) {
		unsigned idx = if_nametoindex(t->name);
		r = idx ? bridge_add(c->bridge, idx) : -errno;
		if (r < 0) {
			set_err(err, errlen, "tap %s: adding it to bridge %s (SIOCBRADDIF): %s%s", t->name,
				c->bridge, strerror(-r),
				r == -ENODEV ? " (no such bridge)" :
				r == -EOPNOTSUPP || r == -EINVAL ? " (not a bridge?)" : hint(-r, true));
			goto fail_msg;
		}
	}
	r = link_up(t->name, &what);
	if (r < 0) {
		if (c->create || (r != -EPERM && r != -EACCES))
			goto fail;
		nv_warn("tap %s: cannot set it up (%s: %s); it must be up already", t->name, what,
			strerror(-r));
	}
	*out = t;
	return 0;
fail:
	set_err(err, errlen, "tap %s: %s: %s%s", t->name[0] ? t->name : want, what, strerror(-r),
		hint(-r, c->create));
	if (r == -EBUSY && c->create)
		r = -EEXIST;
fail_msg:
	tap_close(t); /* a created tap is not persistent: it goes with its fd */
	return r;
}

int tap_from_fd(int fd, struct tap **out, char *err, size_t errlen)
{
	struct ifreq ifr;
	struct tap *t;
	int hdr = NET_VNET_HDR_LEN, r;
	const char *what = "TUNGETIFF";

	*out = NULL;
	set_err(err, errlen, "%s", "");
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		r = -errno;
		set_err(err, errlen, "tap fd %d: %s: %s (not a tap descriptor)", fd, what, strerror(-r));
		return r == -EBADF ? r : -EINVAL;
	}
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP || !(ifr.ifr_flags & IFF_VNET_HDR) ||
	    !(ifr.ifr_flags & IFF_NO_PI)) {
		set_err(err, errlen, "tap fd %d (%.*s): it must be a tap opened with IFF_TAP | "
			"IFF_NO_PI | IFF_VNET_HDR", fd, IFNAMSIZ, ifr.ifr_name);
		return -EINVAL;
	}
	what = "TUNSETVNETHDRSZ";
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		r = -errno;
		set_err(err, errlen, "tap fd %d: %s: %s", fd, what, strerror(-r));
		return r;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	t->fd = fd;
	snprintf(t->name, sizeof(t->name), "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	t->offloads = probe_offloads(fd);
	*out = t;
	return 0;
}

void tap_close(struct tap *t)
{
	if (!t)
		return;
	close_fd(&t->fd);
	free(t);
}

const char *tap_name(const struct tap *t) { return t->name; }
int tap_fd(const struct tap *t) { return t->fd; }
bool tap_created(const struct tap *t) { return t->created; }
unsigned tap_offloads(const struct tap *t) { return t->offloads; }

int tap_set_offload(struct tap *t, unsigned offloads)
{
	if (offloads & ~t->offloads)
		return -EOPNOTSUPP;
	return ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)to_tun(offloads)) < 0 ? -errno : 0;
}

ssize_t tap_recv(struct tap *t, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(t->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

ssize_t tap_sendv(struct tap *t, const struct iovec *iov, int iovcnt)
{
	for (;;) {
		ssize_t n = writev(t->fd, iov, iovcnt);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

static ssize_t be_recv(void *o, void *buf, size_t len) { return tap_recv(o, buf, len); }
static ssize_t be_sendv(void *o, const struct iovec *iov, int n) { return tap_sendv(o, iov, n); }
static int be_fd(void *o) { return tap_fd(o); }
static int be_offload(void *o, unsigned off) { return tap_set_offload(o, off); }

static const struct net_backend_ops tap_ops = {
	.recv = be_recv, .sendv = be_sendv, .fd = be_fd, .set_offload = be_offload,
};

struct net_backend tap_backend(struct tap *t)
{
	return (struct net_backend){ .ops = &tap_ops, .opaque = t, .offloads = t->offloads };
}
