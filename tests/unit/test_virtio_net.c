// SPDX-License-Identifier: MIT
/*
 * virtio-net driven through its rings as a guest driver would
 * (virtio_test_driver.h), over a fake backend (a SOCK_SEQPACKET socketpair:
 * one message per frame, vnet header included): the MAC policy both ways,
 * counters, mergeable and plain receive buffers, offload headers passed
 * through, feature dependencies, back-pressure on the evloop, link status,
 * reset and hostile rings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "virtio_net.h"
#include "virtio_test_driver.h"

#define SLOT 4
#define QS 32
#define RING (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	      VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))
#define BASE (RING | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS))
#define MRG (BASE | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))
#define OFFL (VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |        \
	      VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |   \
	      VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |   \
	      VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN))
#define ALL_OFF (NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN)

static const uint8_t own[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

/* ---- fake backend ---- */

struct fake {
	int fd[2];                 /* [0] device side, [1] the "host" */
	unsigned set_calls, last_offloads;
	int send_err;
};

static ssize_t fk_recv(void *o, void *buf, size_t len)
{
	struct fake *k = o;
	ssize_t n = recv(k->fd[0], buf, len, MSG_DONTWAIT);
	return n < 0 ? -errno : n;
}

static ssize_t fk_sendv(void *o, const struct iovec *iov, int n)
{
	struct fake *k = o;
	if (k->send_err)
		return k->send_err;
	ssize_t r = writev(k->fd[0], iov, n);
	return r < 0 ? -errno : r;
}

static int fk_fd(void *o) { return ((struct fake *)o)->fd[0]; }

static int fk_offload(void *o, unsigned off)
{
	struct fake *k = o;
	k->set_calls++;
	k->last_offloads = off;
	return 0;
}

static const struct net_backend_ops fk_ops = { fk_recv, fk_sendv, fk_fd, fk_offload };

/* ---- fixture ---- */

struct fx {
	struct vd d;
	struct fake k;
	struct evloop *loop;
	struct virtio_net *n;
	uint64_t features;
	uint64_t rxbuf[QS];        /* head -> buffer gpa */
};

static int make(struct fx *f, unsigned offloads, bool spoof, uint64_t want, struct evloop *loop)
{
	memset(f, 0, sizeof(*f));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->k.fd) < 0 || vd_init(&f->d, false) < 0)
		return -1;
	f->loop = loop;
	struct virtio_net_conf c = {
		.name = "net0", .mac_spoofing = spoof, .queue_size = QS, .mem = &f->d.mem,
		.backend = { .ops = &fk_ops, .opaque = &f->k, .offloads = offloads },
		.run = loop ? VIRTIO_RUN_EVLOOP : VIRTIO_RUN_INLINE, .loop = loop,
	};
	memcpy(c.mac, own, 6);
	int r = virtio_net_new(f->d.host, &c, SLOT, &f->n);
	if (r < 0)
		return r;
	f->features = vd_bringup(&f->d, SLOT, want, 2, QS, false);
	return 0;
}

static void destroy(struct fx *f)
{
	virtio_net_free(f->n);
	vd_fini(&f->d);
	close(f->k.fd[0]);
	close(f->k.fd[1]);
}

static size_t mkframe(uint8_t *p, const uint8_t *dst, const uint8_t *src, size_t len, uint8_t fill)
{
	memset(p, fill, len);
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	return len;
}

/* Guest transmits hdr + frame (two descriptors) and notifies. Returns its head. */
static uint16_t tx(struct fx *f, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	struct vd *d = &f->d;
	uint64_t h = vd_alloc(d, VIRTIO_NET_HDR_LEN), b = vd_alloc(d, len);
	static const uint8_t zero[VIRTIO_NET_HDR_LEN];
	memcpy(d->ram + h, hdr ? hdr : zero, VIRTIO_NET_HDR_LEN);
	memcpy(d->ram + b, frame, len);
	struct vd_seg s[2] = { { h, VIRTIO_NET_HDR_LEN, false }, { b, (uint32_t)len, false } };
	uint16_t head = vd_add(d, VIRTIO_NET_TXQ, s, 2);
	vd_kick(d, VIRTIO_NET_TXQ);
	if (f->loop)
		evloop_run_once(f->loop, 0);
	return head;
}

/* Guest posts n receive buffers of size bytes (no notify). */
static void post_rx(struct fx *f, unsigned n, uint32_t size)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t b = vd_alloc(&f->d, size);
		struct vd_seg s = { b, size, true };
		uint16_t head = vd_add(&f->d, VIRTIO_NET_RXQ, &s, 1);
		f->rxbuf[head] = b;
	}
}

/* The host sends one frame (vnet header + frame) towards the guest. */
static void host_send(struct fx *f, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	static const uint8_t zero[VIRTIO_NET_HDR_LEN];
	struct iovec iov[2] = { { (void *)(hdr ? hdr : zero), VIRTIO_NET_HDR_LEN }, { (void *)frame, len } };
	assert_int_equal(writev(f->k.fd[1], iov, 2), (ssize_t)(VIRTIO_NET_HDR_LEN + len));
}

/* What the host received, or -1. */
static ssize_t host_recv(struct fx *f, uint8_t *buf, size_t len)
{
	return recv(f->k.fd[1], buf, len, MSG_DONTWAIT);
}

static struct virtio_net_queue_stats stats(struct fx *f, unsigned q)
{
	struct virtio_net_queue_stats s;
	assert_int_equal(virtio_net_get_stats(f->n, q, &s), 0);
	return s;
}

/* ---- tests ---- */

static void test_config_features(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, ALL_OFF, false, MRG | OFFL, NULL), 0);
	struct vd *d = &f.d;
	assert_int_equal(vd_cfg_read(d, SLOT, 2, 2), 0x1041);
	assert_int_equal(vd_cfg_read(d, SLOT, 0x0A, 2), 0x0200); /* network controller */
	assert_int_equal(f.features, MRG | OFFL);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + i, 1), own[i]);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(f.k.last_offloads, ALL_OFF); /* the guest takes every GUEST_* offload */
	/* Link down: configuration changes, generation moves, interrupt raised. */
	uint8_t gen = (uint8_t)vd_rd(d, VIRTIO_PCI_COMMON_CFGGEN, 1);
	unsigned irqs = d->set_irq_calls;
	virtio_net_set_link(f.n, false);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), 0);
	assert_int_not_equal(vd_rd(d, VIRTIO_PCI_COMMON_CFGGEN, 1), gen);
	assert_true(d->set_irq_calls > irqs);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_ISR_OFF, 1) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
	virtio_net_set_link(f.n, true);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	assert_null(virtio_net_queue_name(2));
	assert_string_equal(virtio_net_queue_name(VIRTIO_NET_TXQ), "tx");
	struct virtio_net_queue_stats s;
	assert_int_equal(virtio_net_get_stats(f.n, 2, &s), -EINVAL);
	destroy(&f);

	/* A backend without offloads: none offered. */
	assert_int_equal(make(&f, 0, false, MRG | OFFL, NULL), 0);
	assert_int_equal(f.features, MRG);
	destroy(&f);

	/* Bad configurations. */
	struct vd d2;
	assert_int_equal(vd_init(&d2, false), 0);
	struct virtio_net *n = NULL;
	struct fake k = { .fd = { -1, -1 } };
	struct virtio_net_conf c = { .mem = &d2.mem, .backend = { .ops = &fk_ops, .opaque = &k } };
	memcpy(c.mac, bcast, 6);
	assert_int_equal(virtio_net_new(d2.host, &c, -1, &n), -EINVAL); /* multicast MAC */
	memcpy(c.mac, own, 6);
	c.run = VIRTIO_RUN_WORKER;
	assert_int_equal(virtio_net_new(d2.host, &c, -1, &n), -EINVAL);
	c.run = VIRTIO_RUN_EVLOOP;
	assert_int_equal(virtio_net_new(d2.host, &c, -1, &n), -EINVAL); /* no loop */
	assert_null(n);
	virtio_net_free(NULL);
	vd_fini(&d2);
}

static void test_feature_dependencies(void **state)
{
	struct fx f;
	/* GUEST_TSO4 without GUEST_CSUM: FEATURES_OK refused (5.1.3.1). */
	assert_int_equal(make(&f, ALL_OFF, false, MRG | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4), NULL), 0);
	assert_int_equal(f.features, 0);
	assert_int_equal(vd_bringup(&f.d, SLOT, MRG | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6), 2, QS, false), 0);
	assert_int_equal(vd_bringup(&f.d, SLOT, MRG | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
					       VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN), 2, QS, false), 0);
	/* Checksum only: the backend gets exactly CSUM. */
	uint64_t want = MRG | VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	assert_int_equal(vd_bringup(&f.d, SLOT, want, 2, QS, false), want);
	assert_int_equal(f.k.last_offloads, NET_OFFLOAD_CSUM);
	/* Reset turns the backend's offloads off. */
	vd_wr(&f.d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(f.k.last_offloads, 0);
	destroy(&f);
}

static void test_tx_policy(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, NULL), 0);
	struct vd *d = &f.d;
	uint8_t fr[100], got[200];
	uint32_t id = 0, len = 0;
	/* Own source MAC: passes, header + frame reach the backend. */
	mkframe(fr, bcast, own, 60, 0x11);
	uint16_t head = tx(&f, NULL, fr, 60);
	assert_true(vd_used(d, VIRTIO_NET_TXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(host_recv(&f, got, sizeof(got)), VIRTIO_NET_HDR_LEN + 60);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, fr, 60);
	/* Foreign source MAC: dropped and counted, buffer still returned. */
	mkframe(fr, bcast, other, 60, 0x22);
	tx(&f, NULL, fr, 60);
	assert_true(vd_used(d, VIRTIO_NET_TXQ, &id, &len));
	assert_int_equal(host_recv(&f, got, sizeof(got)), -1);
	struct virtio_net_queue_stats s = stats(&f, VIRTIO_NET_TXQ);
	assert_int_equal(s.packets, 1);
	assert_int_equal(s.bytes, 60);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(s.errors, 0);
	/* Spoofing on: it passes. */
	virtio_net_set_spoofing(f.n, true);
	assert_true(virtio_net_spoofing(f.n));
	tx(&f, NULL, fr, 60);
	assert_int_equal(host_recv(&f, got, sizeof(got)), VIRTIO_NET_HDR_LEN + 60);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, fr, 60);
	/* A runt (shorter than an Ethernet header) is an error either way. */
	tx(&f, NULL, fr, 10);
	/* A backend failure is an error. */
	f.k.send_err = -EIO;
	tx(&f, NULL, fr, 60);
	s = stats(&f, VIRTIO_NET_TXQ);
	assert_int_equal(s.packets, 2);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(s.errors, 2);
	while (vd_used(d, VIRTIO_NET_TXQ, &id, &len))
		;
	assert_int_equal(d->q[VIRTIO_NET_TXQ].last_used, 5);
	assert_false(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	destroy(&f);

	/* Spoofing configured on from the start. */
	assert_int_equal(make(&f, 0, true, MRG, NULL), 0);
	mkframe(fr, own, other, 64, 0x33);
	tx(&f, NULL, fr, 64);
	assert_int_equal(host_recv(&f, got, sizeof(got)), VIRTIO_NET_HDR_LEN + 64);
	assert_int_equal(stats(&f, VIRTIO_NET_TXQ).dropped, 0);
	destroy(&f);
}

/* Delivers what the host sent; expects one used buffer holding hdr + frame. */
static void expect_rx(struct fx *f, const uint8_t *fr, size_t len)
{
	uint32_t id = 0, ulen = 0;
	assert_true(vd_used(&f->d, VIRTIO_NET_RXQ, &id, &ulen));
	assert_int_equal(ulen, VIRTIO_NET_HDR_LEN + len);
	uint64_t b = f->rxbuf[id];
	assert_int_equal(vd_get(&f->d, b + VIRTIO_NET_HDR_NUM_BUFFERS, 2), 1);
	assert_memory_equal(f->d.ram + b + VIRTIO_NET_HDR_LEN, fr, len);
}

static void test_rx_policy(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, NULL), 0);
	struct vd *d = &f.d;
	post_rx(&f, 8, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	uint8_t fr[4][100];
	mkframe(fr[0], own, other, 60, 1);
	mkframe(fr[1], bcast, other, 70, 2);
	mkframe(fr[2], mcast, other, 80, 3);
	mkframe(fr[3], other, own, 90, 4);  /* for someone else */
	for (unsigned i = 0; i < 4; i++)
		host_send(&f, NULL, fr[i], 60 + 10 * i);
	unsigned irq = d->set_irq_calls;
	virtio_net_rx_poll(f.n);
	assert_true(d->set_irq_calls > irq);
	for (unsigned i = 0; i < 3; i++)
		expect_rx(&f, fr[i], 60 + 10 * i);
	uint32_t id = 0, len = 0;
	assert_false(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	struct virtio_net_queue_stats s = stats(&f, VIRTIO_NET_RXQ);
	assert_int_equal(s.packets, 3);
	assert_int_equal(s.bytes, 60 + 70 + 80);
	assert_int_equal(s.dropped, 1);
	/* Spoofing on: the foreign unicast arrives. A runt is an error. */
	virtio_net_set_spoofing(f.n, true);
	host_send(&f, NULL, fr[3], 90);
	host_send(&f, NULL, fr[3], 5);
	virtio_net_rx_poll(f.n);
	expect_rx(&f, fr[3], 90);
	s = stats(&f, VIRTIO_NET_RXQ);
	assert_int_equal(s.packets, 4);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(s.errors, 1);
	destroy(&f);
}

static void test_rx_mergeable(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, NULL), 0);
	struct vd *d = &f.d;
	post_rx(&f, 10, 256);
	vd_kick(d, VIRTIO_NET_RXQ);
	uint8_t fr[1000];
	mkframe(fr, own, other, sizeof(fr), 0);
	for (unsigned i = 14; i < sizeof(fr); i++)
		fr[i] = (uint8_t)(i * 13);
	host_send(&f, NULL, fr, sizeof(fr));
	virtio_net_rx_poll(f.n);
	/* 12 + 1000 bytes over 256-byte buffers: 4 buffers, num_buffers = 4 in the first. */
	uint8_t got[1012];
	size_t at = 0;
	uint32_t id = 0, len = 0;
	uint64_t first = 0;
	for (unsigned i = 0; i < 4; i++) {
		assert_true(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
		if (!i)
			first = f.rxbuf[id];
		assert_int_equal(len, i < 3 ? 256 : 1012 - 3 * 256);
		memcpy(got + at, d->ram + f.rxbuf[id], len);
		at += len;
	}
	assert_false(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(vd_get(d, first + VIRTIO_NET_HDR_NUM_BUFFERS, 2), 4);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, fr, sizeof(fr));
	/* Not enough buffers left (6 x 256 < 2012): the frame waits, nothing is
	 * published, until the guest adds buffers and notifies. */
	uint8_t big[2000];
	mkframe(big, own, other, sizeof(big), 0x77);
	host_send(&f, NULL, big, sizeof(big));
	virtio_net_rx_poll(f.n);
	assert_false(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	post_rx(&f, 4, 256);
	vd_kick(d, VIRTIO_NET_RXQ);
	unsigned nb = 0;
	at = 0;
	uint8_t got2[2012];
	while (vd_used(d, VIRTIO_NET_RXQ, &id, &len)) {
		if (!nb)
			first = f.rxbuf[id];
		memcpy(got2 + at, d->ram + f.rxbuf[id], len);
		at += len;
		nb++;
	}
	assert_int_equal(nb, 8);
	assert_int_equal(at, 2012);
	assert_int_equal(vd_get(d, first + VIRTIO_NET_HDR_NUM_BUFFERS, 2), 8);
	assert_memory_equal(got2 + VIRTIO_NET_HDR_LEN, big, sizeof(big));
	assert_int_equal(stats(&f, VIRTIO_NET_RXQ).packets, 2);
	destroy(&f);
}

static void test_rx_plain_buffers(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, false, BASE, NULL), 0);
	assert_int_equal(f.features, BASE);
	struct vd *d = &f.d;
	post_rx(&f, 1, 100);   /* too small for the first frame */
	post_rx(&f, 1, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	uint8_t fr[600];
	mkframe(fr, own, other, sizeof(fr), 0x42);
	host_send(&f, NULL, fr, sizeof(fr));
	host_send(&f, NULL, fr, 80);
	virtio_net_rx_poll(f.n);
	uint32_t id = 0, len = 0;
	/* The small buffer comes back empty (frame dropped, counted as an error). */
	assert_true(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, 0);
	expect_rx(&f, fr, 80);
	struct virtio_net_queue_stats s = stats(&f, VIRTIO_NET_RXQ);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.packets, 1);
	destroy(&f);
}

static void test_offload_passthrough(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, ALL_OFF, false, MRG | OFFL, NULL), 0);
	struct vd *d = &f.d;
	/* TX: a TSO4 frame with a partial checksum; the header reaches the backend as is. */
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { VIRTIO_NET_HDR_F_NEEDS_CSUM,
					    VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
					    54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0 };
	uint8_t fr[3000], got[4000];
	mkframe(fr, other, own, sizeof(fr), 0x5c);
	tx(&f, hdr, fr, sizeof(fr));
	assert_int_equal(host_recv(&f, got, sizeof(got)), VIRTIO_NET_HDR_LEN + sizeof(fr));
	assert_memory_equal(got, hdr, VIRTIO_NET_HDR_LEN);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, fr, sizeof(fr));
	/* RX: a GSO frame from the backend; the guest sees the same header with num_buffers set. */
	post_rx(&f, 4, 4096);
	vd_kick(d, VIRTIO_NET_RXQ);
	uint8_t rh[VIRTIO_NET_HDR_LEN] = { VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_GSO_TCPV6,
					   74, 0, 0x90, 0x05, 0, 0, 0, 0, 0xee, 0xee };
	mkframe(fr, own, other, sizeof(fr), 0x6d);
	host_send(&f, rh, fr, sizeof(fr));
	virtio_net_rx_poll(f.n);
	uint32_t id = 0, len = 0;
	assert_true(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + sizeof(fr));
	uint64_t b = f.rxbuf[id];
	assert_memory_equal(d->ram + b, rh, VIRTIO_NET_HDR_NUM_BUFFERS);
	assert_int_equal(vd_get(d, b + VIRTIO_NET_HDR_NUM_BUFFERS, 2), 1);
	assert_memory_equal(d->ram + b + VIRTIO_NET_HDR_LEN, fr, sizeof(fr));
	destroy(&f);
}

static void test_backpressure_evloop(void **state)
{
	struct evloop *loop = evloop_new();
	assert_non_null(loop);
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, loop), 0);
	struct vd *d = &f.d;
	while (evloop_run_once(loop, 0) > 0)
		;
	/* No receive buffers: frames wait in the backend; the fd is not watched,
	 * so the loop does not spin on it. */
	uint8_t fr[200];
	mkframe(fr, own, other, sizeof(fr), 0x21);
	for (unsigned i = 0; i < 3; i++)
		host_send(&f, NULL, fr, sizeof(fr));
	assert_int_equal(evloop_run_once(loop, 0), 0);
	/* One buffer: one frame, then starved again (the second frame is in hand). */
	post_rx(&f, 1, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	assert_true(evloop_run_once(loop, 0) > 0);
	expect_rx(&f, fr, sizeof(fr));
	uint32_t id = 0, len = 0;
	assert_false(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(evloop_run_once(loop, 0), 0);
	/* Plenty of buffers: the rest arrives, and the fd is watched again. */
	post_rx(&f, 8, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	evloop_run_once(loop, 0);
	expect_rx(&f, fr, sizeof(fr));
	expect_rx(&f, fr, sizeof(fr));
	host_send(&f, NULL, fr, sizeof(fr));
	assert_true(evloop_run_once(loop, 0) > 0); /* the backend fd */
	expect_rx(&f, fr, sizeof(fr));
	assert_int_equal(stats(&f, VIRTIO_NET_RXQ).packets, 4);
	/* TX through the loop as well. */
	mkframe(fr, bcast, own, 60, 0);
	tx(&f, NULL, fr, 60);
	uint8_t got[100];
	assert_int_equal(host_recv(&f, got, sizeof(got)), VIRTIO_NET_HDR_LEN + 60);
	/* The backend hangs up: receive stops without spinning. */
	close(f.k.fd[1]);
	f.k.fd[1] = -1;
	evloop_run_once(loop, 0);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	assert_true(stats(&f, VIRTIO_NET_RXQ).errors >= 1);
	destroy(&f);
	evloop_free(loop);
}

/* EVLOOP transmit polls the ring after a burst with notifications off; when
 * the window ends empty they must be on again (EVENT_IDX avail_event at the
 * next entry), or the driver's next frame would wait forever. */
static void test_tx_poll_rearms(void **state)
{
	struct evloop *loop = evloop_new();
	assert_non_null(loop);
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, loop), 0);
	struct vd *d = &f.d;
	while (evloop_run_once(loop, 0) > 0)
		;
	uint8_t fr[80], got[200];
	for (unsigned i = 0; i < 5; i++) {
		mkframe(fr, other, own, sizeof(fr), (uint8_t)i);
		tx(&f, NULL, fr, sizeof(fr));
		assert_int_equal(host_recv(&f, got, sizeof(got)), VIRTIO_NET_HDR_LEN + sizeof(fr));
		assert_memory_equal(got + VIRTIO_NET_HDR_LEN, fr, sizeof(fr));
		uint64_t ev = d->q[VIRTIO_NET_TXQ].used + 4 + 8 * (uint64_t)d->q[VIRTIO_NET_TXQ].size;
		assert_int_equal(vd_get(d, ev, 2), d->q[VIRTIO_NET_TXQ].avail_idx);
		uint32_t id = 0, len = 0;
		assert_true(vd_used(d, VIRTIO_NET_TXQ, &id, &len));
	}
	/* A receive frame waiting while the transmit side polls is still taken. */
	post_rx(&f, 2, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	evloop_run_once(loop, 0);
	mkframe(fr, own, other, sizeof(fr), 0x33);
	host_send(&f, NULL, fr, sizeof(fr));
	mkframe(fr, other, own, sizeof(fr), 0x44);
	tx(&f, NULL, fr, sizeof(fr));
	evloop_run_once(loop, 0);
	uint8_t want[80];
	mkframe(want, own, other, sizeof(want), 0x33);
	expect_rx(&f, want, sizeof(want));
	assert_int_equal(stats(&f, VIRTIO_NET_TXQ).packets, 6);
	assert_int_equal(stats(&f, VIRTIO_NET_TXQ).dropped, 0);
	destroy(&f);
	evloop_free(loop);
}

static void test_reset_drops_pending(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, NULL), 0);
	struct vd *d = &f.d;
	post_rx(&f, 1, 64);
	vd_kick(d, VIRTIO_NET_RXQ);
	uint8_t fr[300];
	mkframe(fr, own, other, sizeof(fr), 0x31);
	host_send(&f, NULL, fr, sizeof(fr)); /* needs more than the one buffer: pending */
	virtio_net_rx_poll(f.n);
	uint32_t id = 0, len = 0;
	assert_false(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	assert_int_not_equal(vd_bringup(d, SLOT, MRG, 2, QS, false), 0);
	post_rx(&f, 4, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	mkframe(fr, own, other, 100, 0x32);
	host_send(&f, NULL, fr, 100);
	virtio_net_rx_poll(f.n);
	expect_rx(&f, fr, 100);
	assert_false(vd_used(d, VIRTIO_NET_RXQ, &id, &len));
	destroy(&f);
}

static void test_hostile(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, false, MRG, NULL), 0);
	struct vd *d = &f.d;
	uint64_t buf = vd_alloc(d, 64);
	uint8_t fr[64];
	mkframe(fr, own, other, sizeof(fr), 0);
	for (int h = 0; h < 4; h++) {
		if (h)
			assert_int_not_equal(vd_bringup(d, SLOT, MRG, 2, QS, false), 0);
		unsigned q = h & 1 ? VIRTIO_NET_RXQ : VIRTIO_NET_TXQ;
		uint64_t dt = d->q[q].desc;
		switch (h) {
		case 0: /* TX descriptor loop */
			vd_desc(d, dt, 0, buf, 12, VIRTQ_DESC_F_NEXT, 1);
			vd_desc(d, dt, 1, buf, 60, VIRTQ_DESC_F_NEXT, 0);
			vd_publish(d, q, 0);
			break;
		case 1: /* RX buffer outside guest RAM */
			vd_desc(d, dt, 0, 1ULL << 40, 1526, VIRTQ_DESC_F_WRITE, 0);
			vd_publish(d, q, 0);
			host_send(&f, NULL, fr, sizeof(fr));
			break;
		case 2: /* TX avail index jump */
			d->q[q].avail_idx = 5 * QS;
			vd_put(d, d->q[q].avail + 2, d->q[q].avail_idx, 2);
			break;
		case 3: /* RX chain longer than the queue (indirect table too long) */
			vd_desc(d, dt, 0, vd_alloc(d, 16 * (QS + 1)), 16 * (QS + 1), VIRTQ_DESC_F_INDIRECT, 0);
			vd_publish(d, q, 0);
			host_send(&f, NULL, fr, sizeof(fr));
			break;
		}
		vd_kick(d, q);
		virtio_net_rx_poll(f.n);
		assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	}
	/* Reset: both directions work again. */
	assert_int_not_equal(vd_bringup(d, SLOT, MRG, 2, QS, false), 0);
	uint8_t scratch[2000];
	while (host_recv(&f, scratch, sizeof(scratch)) > 0)
		;
	while (recv(f.k.fd[0], scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
	post_rx(&f, 2, 1526);
	vd_kick(d, VIRTIO_NET_RXQ);
	host_send(&f, NULL, fr, sizeof(fr));
	virtio_net_rx_poll(f.n);
	expect_rx(&f, fr, sizeof(fr));
	mkframe(fr, bcast, own, sizeof(fr), 1);
	tx(&f, NULL, fr, sizeof(fr));
	assert_int_equal(host_recv(&f, scratch, sizeof(scratch)), VIRTIO_NET_HDR_LEN + sizeof(fr));
	destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_features),
		cmocka_unit_test(test_feature_dependencies),
		cmocka_unit_test(test_tx_policy),
		cmocka_unit_test(test_rx_policy),
		cmocka_unit_test(test_rx_mergeable),
		cmocka_unit_test(test_rx_plain_buffers),
		cmocka_unit_test(test_offload_passthrough),
		cmocka_unit_test(test_backpressure_evloop),
		cmocka_unit_test(test_tx_poll_rearms),
		cmocka_unit_test(test_reset_drops_pending),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
