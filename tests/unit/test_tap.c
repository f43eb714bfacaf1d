// SPDX-License-Identifier: MIT
/*
 * The tap backend against the real kernel: needs root (CAP_NET_ADMIN) and
 * /dev/net/tun, skipped otherwise. Creates taps (gone after close), opens an
 * existing persistent one (busy on a second open), refuses what does not
 * exist or is not a tap, attaches to a bridge, probes offloads, and moves
 * frames both ways through an AF_PACKET socket on the host side.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tap.h"

#define ETHERTYPE_TEST 0x88b5 /* IEEE local experimental */

static bool can_tap(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

static bool exists(const char *ifname)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/sys/class/net/%s", ifname);
	return stat(p, &st) == 0;
}

/* Creates a tap (skips the test when the kernel says we may not). */
static struct tap *create(const char *name, const char *bridge)
{
	if (!can_tap())
		skip();
	struct tap_conf c = { .name = name, .create = true, .bridge = bridge };
	struct tap *t = NULL;
	char err[256];
	int r = tap_open(&c, &t, err, sizeof(err));
	if (r == -EPERM || r == -EACCES)
		skip();
	if (r < 0)
		fail_msg("tap_open: %s", err);
	return t;
}

static void test_create_and_remove(void **state)
{
	struct tap *t = create(NULL, NULL);
	char name[IFNAMSIZ];
	snprintf(name, sizeof(name), "%s", tap_name(t));
	assert_int_equal(strncmp(name, "nv-tap", 6), 0);
	assert_true(tap_created(t));
	assert_true(exists(name));
	assert_true(tap_fd(t) >= 0);
	/* Up, non-blocking, nothing to read yet that blocks. */
	assert_true(fcntl(tap_fd(t), F_GETFL) & O_NONBLOCK);
	/* Offloads: a modern kernel takes all four; unknown bits are refused. */
	unsigned off = tap_offloads(t);
	assert_true(off & NET_OFFLOAD_CSUM);
	assert_int_equal(tap_set_offload(t, off), 0);
	assert_int_equal(tap_set_offload(t, 0), 0);
	assert_int_equal(tap_set_offload(t, 0x100), -EOPNOTSUPP);
	int hdr = 0;
	assert_int_equal(ioctl(tap_fd(t), TUNGETVNETHDRSZ, &hdr), 0);
	assert_int_equal(hdr, NET_VNET_HDR_LEN);
	tap_close(t);
	assert_false(exists(name));
	tap_close(NULL);
}

/* A tap descriptor handed over (as libvirt does): named from the kernel, taken over. */
static void test_from_fd(void **state)
{
	struct tap *t = create(NULL, NULL), *h = NULL;
	char err[256], name[IFNAMSIZ];
	snprintf(name, sizeof(name), "%s", tap_name(t));
	int fd = dup(tap_fd(t));
	assert_true(fd >= 0);
	assert_int_equal(tap_from_fd(fd, &h, err, sizeof(err)), 0);
	assert_string_equal(tap_name(h), name);
	assert_false(tap_created(h));
	assert_true(fcntl(tap_fd(h), F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(tap_fd(h), F_GETFD) & FD_CLOEXEC);
	assert_true(tap_offloads(h) & NET_OFFLOAD_CSUM);
	tap_close(t);
	assert_true(exists(name)); /* the handed-over fd keeps it */
	tap_close(h);
	assert_false(exists(name));
	/* Not a tap: refused, and the descriptor is left to its owner. */
	int null = open("/dev/null", O_RDWR);
	assert_int_equal(tap_from_fd(null, &h, err, sizeof(err)), -EINVAL);
	assert_null(h);
	assert_non_null(strstr(err, "not a tap descriptor"));
	assert_int_equal(fcntl(null, F_GETFD), 0);
	close(null);
}

static void test_named_and_exclusive(void **state)
{
	char name[IFNAMSIZ], err[256];
	snprintf(name, sizeof(name), "nvt%d", (int)getpid() % 100000);
	struct tap *t = create(name, NULL);
	assert_string_equal(tap_name(t), name);
	/* Creating the same name again fails, naming it. */
	struct tap *t2 = NULL;
	struct tap_conf c = { .name = name, .create = true };
	assert_int_equal(tap_open(&c, &t2, err, sizeof(err)), -EEXIST);
	assert_null(t2);
	assert_non_null(strstr(err, name));
	/* Opening it as an existing tap while we hold it: busy. */
	c.create = false;
	assert_int_equal(tap_open(&c, &t2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use"));
	tap_close(t);
	assert_false(exists(name));
}

static void test_existing(void **state)
{
	if (!can_tap())
		skip();
	char name[IFNAMSIZ], err[256];
	snprintf(name, sizeof(name), "nvp%d", (int)getpid() % 100000);
	/* Not there: refused, and not created behind our back. */
	struct tap *t = NULL, *t2 = NULL;
	struct tap_conf c = { .name = name };
	assert_int_equal(tap_open(&c, &t, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, name));
	assert_non_null(strstr(err, "ip tuntap add"));
	assert_false(exists(name));
	/* Not a tap. */
	struct tap_conf lo = { .name = "lo" };
	assert_int_equal(tap_open(&lo, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tap lo"));
	/* A persistent tap as `ip tuntap add` makes it. */
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		skip();
	}
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	assert_true(exists(name));
	assert_int_equal(tap_open(&c, &t, err, sizeof(err)), 0);
	assert_false(tap_created(t));
	assert_int_equal(tap_open(&c, &t2, err, sizeof(err)), -EBUSY);
	tap_close(t);
	assert_true(exists(name)); /* persistence left alone */
	/* A bridge is only for taps we create. */
	c.bridge = "br0";
	assert_int_equal(tap_open(&c, &t, err, sizeof(err)), -EINVAL);
	/* Remove it. */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
	close(fd);
	assert_false(exists(name));
}

static void test_bridge(void **state)
{
	if (!can_tap())
		skip();
	char br[IFNAMSIZ], name[IFNAMSIZ], err[256], link[256], p[96];
	snprintf(br, sizeof(br), "nvb%d", (int)getpid() % 100000);
	snprintf(name, sizeof(name), "nvq%d", (int)getpid() % 100000);
	/* A missing bridge: the error names both, and the new tap is gone. */
	struct tap *t = NULL;
	struct tap_conf c = { .name = name, .create = true, .bridge = br };
	int r = tap_open(&c, &t, err, sizeof(err));
	if (r == -EPERM)
		skip();
	assert_true(r < 0);
	assert_non_null(strstr(err, br));
	assert_non_null(strstr(err, name));
	assert_false(exists(name));
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	if (ioctl(s, SIOCBRADDBR, br) < 0) {
		close(s);
		skip(); /* no bridge module */
	}
	t = create(name, br);
	snprintf(p, sizeof(p), "/sys/class/net/%s/master", name);
	ssize_t n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = 0;
	assert_string_equal(strrchr(link, '/') + 1, br);
	tap_close(t);
	assert_false(exists(name));
	assert_int_equal(ioctl(s, SIOCBRDELBR, br), 0);
	close(s);
}

static bool wait_in(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	return poll(&pfd, 1, 2000) == 1;
}

/* Frames both ways through the tap, seen from an AF_PACKET socket. */
static void test_frames(void **state)
{
	struct tap *t = create(NULL, NULL);
	int ifindex = (int)if_nametoindex(tap_name(t));
	int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(ps >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = ifindex };
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	uint8_t frame[80];
	memset(frame, 0x5a, sizeof(frame));
	memcpy(frame, "\x52\x54\x00\x00\x00\x02\x52\x54\x00\x00\x00\x01", 12);
	frame[12] = ETHERTYPE_TEST >> 8;
	frame[13] = ETHERTYPE_TEST & 0xff;
	/* Guest -> host: vnet header + frame written to the tap. */
	uint8_t hdr[NET_VNET_HDR_LEN] = { 0 };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { frame, sizeof(frame) } };
	assert_int_equal(tap_sendv(t, iov, 2), (ssize_t)(sizeof(hdr) + sizeof(frame)));
	uint8_t buf[2048];
	bool seen = false;
	for (int i = 0; i < 50 && !seen && wait_in(ps); i++) {
		ssize_t n = recv(ps, buf, sizeof(buf), 0);
		seen = n == (ssize_t)sizeof(frame) && memcmp(buf, frame, sizeof(frame)) == 0;
	}
	assert_true(seen);
	/* Host -> guest: the tap reads vnet header + frame. */
	frame[5] = 0x03;
	assert_int_equal(sendto(ps, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
			 (ssize_t)sizeof(frame));
	seen = false;
	for (int i = 0; i < 50 && !seen && wait_in(tap_fd(t)); i++) {
		ssize_t n = tap_recv(t, buf, sizeof(buf));
		seen = n == (ssize_t)(NET_VNET_HDR_LEN + sizeof(frame)) &&
		       memcmp(buf + NET_VNET_HDR_LEN, frame, sizeof(frame)) == 0;
	}
	assert_true(seen);
	while (tap_recv(t, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(tap_recv(t, buf, sizeof(buf)), -EAGAIN);
	/* The backend view. */
	struct net_backend be = tap_backend(t);
	assert_ptr_equal(be.opaque, t);
	assert_int_equal(be.offloads, tap_offloads(t));
	assert_int_equal(be.ops->fd(be.opaque), tap_fd(t));
	close(ps);
	tap_close(t);
}

static void test_bad_names(void **state)
{
	struct tap *t = NULL;
	char err[256];
	struct tap_conf c = { .name = "a-name-far-too-long-for-ifnamsiz", .create = true };
	assert_int_equal(tap_open(&c, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid interface name"));
	struct tap_conf none = { 0 };
	assert_int_equal(tap_open(&none, &t, NULL, 0), -EINVAL);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_create_and_remove),
		cmocka_unit_test(test_from_fd),
		cmocka_unit_test(test_named_and_exclusive),
		cmocka_unit_test(test_existing),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
