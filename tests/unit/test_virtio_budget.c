// SPDX-License-Identifier: MIT
/*
 * Work budgets on the shared I/O thread (issue S, points 2 and 3): a guest
 * that re-posts every buffer the device hands back, as fast as it gets it,
 * must hold the evloop for one budget per turn at most, and an fd that
 * becomes ready meanwhile (the signalfd, the control socket) must be served
 * before the device gets a second budget. For every evloop device: net TX,
 * net RX (useless receive buffers), rng, console TX, balloon inflate.
 *
 * The "guest" here is the guest-memory accessor: every time the device
 * translates a descriptor's buffer (each vq_pop), it re-posts whatever the
 * device has put in the used ring so far, until `cap` buffers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "util.h"
#include "virtio_balloon.h"
#include "virtio_console.h"
#include "virtio_net.h"
#include "virtio_rng.h"
#include "virtio_test_driver.h"

#define SLOT 5
#define QS 64
#define CAP 20000ul           /* buffers the guest re-posts before it stops */

struct hog {
	struct vd d;
	struct gmem mem;          /* the device's view of RAM: re-posts as a side effect */
	struct evloop *loop;
	unsigned q;               /* the queue kept full */
	bool refill;
	unsigned long reposted, cap;
	uint64_t (*work)(struct hog *); /* the device's work done so far (its unit) */
	void *dev;
	int other_fd;             /* an unrelated fd on the same loop */
	bool other_pending;
	uint64_t other_at;        /* work when it became ready */
	uint64_t other_worst;     /* most work done between ready and served */
	unsigned other_served;
	uint64_t worst_turn;      /* most work in one evloop_run_once */
	uint64_t worst_turn_ns;
	unsigned turns;
};

static void *hog_translate(void *o, uint64_t gpa, uint64_t len)
{
	struct hog *h = o;
	if (!len || gpa >= VD_RAM_SIZE || len > VD_RAM_SIZE - gpa)
		return NULL;
	uint32_t id, l;
	while (h->refill && h->reposted < h->cap && vd_used(&h->d, h->q, &id, &l)) {
		vd_publish(&h->d, h->q, (uint16_t)id);
		h->reposted++;
		if (!h->other_pending) {
			uint64_t one = 1;
			assert_int_equal(write(h->other_fd, &one, 8), 8);
			h->other_pending = true;
			h->other_at = h->work(h);
		}
	}
	return h->d.ram + gpa;
}

static void other_cb(void *o, int fd, uint32_t ev)
{
	struct hog *h = o;
	uint64_t v;
	assert_int_equal(read(fd, &v, 8), 8);
	uint64_t w = h->work(h) - h->other_at;
	if (w > h->other_worst)
		h->other_worst = w;
	h->other_pending = false;
	h->other_served++;
}

static void hog_init(struct hog *h, unsigned q)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(vd_init(&h->d, false), 0);
	h->mem = (struct gmem){ .translate = hog_translate, .opaque = h };
	h->loop = evloop_new();
	assert_non_null(h->loop);
	h->q = q;
	h->cap = CAP;
	h->other_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(h->other_fd >= 0);
}

static void hog_settle(struct hog *h)
{
	while (evloop_run_once(h->loop, 0) > 0)
		; /* the DRIVER_OK kicks */
	assert_int_equal(evloop_add(h->loop, h->other_fd, EPOLLIN, other_cb, h), 0);
}

/* Kicks q, then runs the loop turn by turn until it has nothing left. */
static void hog_run(struct hog *h, const char *what, uint64_t budget)
{
	h->refill = true;
	vd_kick(&h->d, h->q);
	for (;;) {
		uint64_t w0 = h->work(h), t0 = now_ns();
		int r = evloop_run_once(h->loop, 0);
		uint64_t dt = now_ns() - t0, w = h->work(h) - w0;
		assert_true(r >= 0);
		if (r == 0)
			break;
		h->turns++;
		if (w > h->worst_turn)
			h->worst_turn = w;
		if (dt > h->worst_turn_ns)
			h->worst_turn_ns = dt;
		assert_true(h->turns < 10 * CAP); /* it ends once the guest stops */
	}
	printf("# %s: %lu buffers re-posted, %u turns; longest turn %llu (budget %llu) in %.2f ms; "
	       "a ready fd waited %llu at most (served %u times)\n", what, h->reposted, h->turns,
	       (unsigned long long)h->worst_turn, (unsigned long long)budget,
	       (double)h->worst_turn_ns / 1e6, (unsigned long long)h->other_worst, h->other_served);
	assert_int_equal(h->reposted, h->cap);
	assert_int_equal(evloop_deferred_count(h->loop), 0);
	assert_true(h->worst_turn <= budget);
	assert_true(h->other_served > 1);
	assert_true(h->other_worst <= budget);
}

static void hog_fini(struct hog *h)
{
	evloop_del(h->loop, h->other_fd);
	close(h->other_fd);
	vd_fini(&h->d);
	evloop_free(h->loop);
}

/* ---- net ---- */

static const uint8_t own[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static bool frame_waiting;

static ssize_t nb_recv(void *o, void *buf, size_t len)
{
	if (!frame_waiting)
		return -EAGAIN;
	frame_waiting = false;
	memset(buf, 0, len < 74 ? len : 74);
	memcpy((uint8_t *)buf + VIRTIO_NET_HDR_LEN, own, 6);
	return VIRTIO_NET_HDR_LEN + 60;
}

static ssize_t nb_sendv(void *o, const struct iovec *iov, int n)
{
	ssize_t t = 0;
	for (int i = 0; i < n; i++)
		t += (ssize_t)iov[i].iov_len;
	return t;
}

static const struct net_backend_ops nb_ops = { .recv = nb_recv, .sendv = nb_sendv };

static uint64_t net_tx_work(struct hog *h)
{
	struct virtio_net_queue_stats st;
	virtio_net_get_stats(h->dev, VIRTIO_NET_TXQ, &st);
	return st.packets;
}

static uint64_t net_rx_work(struct hog *h)
{
	struct virtio_net_queue_stats st;
	virtio_net_get_stats(h->dev, VIRTIO_NET_RXQ, &st);
	return st.errors + st.packets;
}

static struct virtio_net *net_make(struct hog *h, unsigned q)
{
	hog_init(h, q);
	struct virtio_net *n = NULL;
	struct virtio_net_conf c = { .name = "net0", .queue_size = QS, .mem = &h->mem,
		.backend = { .ops = &nb_ops }, .run = VIRTIO_RUN_EVLOOP, .loop = h->loop };
	memcpy(c.mac, own, 6);
	assert_int_equal(virtio_net_new(h->d.host, &c, SLOT, &n), 0);
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	assert_int_equal(vd_bringup(&h->d, SLOT, want, 2, QS, false), want);
	h->dev = n;
	return n;
}

/* The guest keeps its transmit ring full: before, one evloop turn sent
 * every frame the guest ever posted (CAP) and the other fd waited for all. */
static void test_net_tx_refilled_ring(void **state)
{
	struct hog h;
	struct virtio_net *n = net_make(&h, VIRTIO_NET_TXQ);
	h.work = net_tx_work;
	hog_settle(&h);
	for (unsigned k = 0; k < QS / 2; k++) {
		uint64_t hd = vd_alloc(&h.d, VIRTIO_NET_HDR_LEN), b = vd_alloc(&h.d, 60);
		memset(h.d.ram + b, 0xff, 6);
		memcpy(h.d.ram + b + 6, own, 6);
		struct vd_seg s[2] = { { hd, VIRTIO_NET_HDR_LEN, false }, { b, 60, false } };
		vd_add(&h.d, VIRTIO_NET_TXQ, s, 2);
	}
	hog_run(&h, "net tx", VIRTIO_NET_TX_BUDGET);
	assert_int_equal(net_tx_work(&h), CAP + QS / 2);
	virtio_net_free(n);
	hog_fini(&h);
}

/* A frame in hand and receive buffers the device cannot use (no writable
 * byte), re-posted endlessly: each costs the receive budget like a frame. */
static void test_net_rx_useless_buffers(void **state)
{
	struct hog h;
	struct virtio_net *n = net_make(&h, VIRTIO_NET_RXQ);
	h.work = net_rx_work;
	hog_settle(&h);
	uint64_t b = vd_alloc(&h.d, 16);
	for (unsigned k = 0; k < QS; k++) {
		struct vd_seg s = { b, 1, false };
		vd_add(&h.d, VIRTIO_NET_RXQ, &s, 1);
	}
	frame_waiting = true;
	hog_run(&h, "net rx (useless buffers)", VIRTIO_NET_RX_BUDGET);
	/* The guest stopped; a real buffer now gets the frame that waited. */
	uint32_t id, len;
	while (vd_used(&h.d, VIRTIO_NET_RXQ, &id, &len))
		;
	uint64_t rb = vd_alloc(&h.d, 2048);
	struct vd_seg s = { rb, 2048, true };
	vd_add(&h.d, VIRTIO_NET_RXQ, &s, 1);
	vd_kick(&h.d, VIRTIO_NET_RXQ);
	while (evloop_run_once(h.loop, 0) > 0)
		;
	assert_true(vd_used(&h.d, VIRTIO_NET_RXQ, &id, &len));
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + 60);
	assert_memory_equal(h.d.ram + rb + VIRTIO_NET_HDR_LEN, own, 6);
	virtio_net_free(n);
	hog_fini(&h);
}

/* ---- rng ---- */

static uint64_t rng_work(struct hog *h) { return virtio_rng_bytes(h->dev); }

static void test_rng_refilled_ring(void **state)
{
	struct hog h;
	hog_init(&h, 0);
	h.work = rng_work;
	h.cap = 200;
	struct virtio_rng *r = NULL;
	struct virtio_rng_conf c = { .queue_size = QS, .run = VIRTIO_RUN_EVLOOP, .loop = h.loop,
				     .mem = &h.mem };
	assert_int_equal(virtio_rng_new(h.d.host, &c, SLOT, &r), 0);
	h.dev = r;
	assert_int_equal(vd_bringup(&h.d, SLOT, VIRTIO_BIT(VIRTIO_F_VERSION_1), 1, QS, false),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1));
	hog_settle(&h);
	uint64_t b = vd_alloc(&h.d, 65536);
	for (unsigned k = 0; k < QS; k++) {
		struct vd_seg s = { b, 65536, true };
		vd_add(&h.d, 0, &s, 1);
	}
	hog_run(&h, "rng", VIRTIO_RNG_BUDGET);
	assert_int_equal(rng_work(&h), (uint64_t)(h.cap + QS) * 65536);
	virtio_rng_free(r);
	hog_fini(&h);
}

/* ---- console ---- */

static uint64_t con_out;
static void con_output(void *o, const uint8_t *buf, size_t len) { con_out += len; }
static uint64_t con_work(struct hog *h) { return con_out; }

/* One-byte buffers: each costs a segment's VIRTIO_CONSOLE_SEG_COST. */
static void test_console_refilled_ring(void **state)
{
	struct hog h;
	hog_init(&h, VIRTIO_CONSOLE_TXQ);
	h.work = con_work;
	con_out = 0;
	struct virtio_console *con = NULL;
	struct virtio_console_conf c = { .queue_size = QS, .run = VIRTIO_RUN_EVLOOP, .loop = h.loop,
					 .mem = &h.mem, .output = con_output };
	assert_int_equal(virtio_console_new(h.d.host, &c, SLOT, &con), 0);
	h.dev = con;
	assert_int_equal(vd_bringup(&h.d, SLOT, VIRTIO_BIT(VIRTIO_F_VERSION_1), 2, QS, false),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1));
	hog_settle(&h);
	uint64_t b = vd_alloc(&h.d, 16);
	h.d.ram[b] = 'x';
	for (unsigned k = 0; k < QS; k++) {
		struct vd_seg s = { b, 1, false };
		vd_add(&h.d, VIRTIO_CONSOLE_TXQ, &s, 1);
	}
	hog_run(&h, "console tx", VIRTIO_CONSOLE_TX_BUDGET / VIRTIO_CONSOLE_SEG_COST);
	assert_int_equal(con_out, CAP + QS);
	virtio_console_free(con);
	hog_fini(&h);
}

/* ---- balloon ---- */

static uint64_t ndisc;
static int on_discard(void *o, uint64_t gpa, uint64_t len)
{
	ndisc++;
	return 0;
}
static uint64_t balloon_work(struct hog *h) { return ndisc; }

/* Chains of 256 PFNs that never coalesce (every other page). */
static void test_balloon_refilled_ring(void **state)
{
	struct hog h;
	hog_init(&h, VIRTIO_BALLOON_INFLATEQ);
	h.work = balloon_work;
	h.cap = 400;
	ndisc = 0;
	struct virtio_balloon *b = NULL;
	struct virtio_balloon_conf c = { .queue_size = QS, .run = VIRTIO_RUN_EVLOOP, .loop = h.loop,
					 .mem = &h.mem, .discard = on_discard };
	assert_int_equal(virtio_balloon_new(h.d.host, &c, SLOT, &b), 0);
	h.dev = b;
	assert_int_equal(vd_bringup(&h.d, SLOT, VIRTIO_BIT(VIRTIO_F_VERSION_1), 3, QS, false),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1));
	hog_settle(&h);
	uint64_t a = vd_alloc(&h.d, 4 * VIRTIO_BALLOON_MAX_PFNS);
	for (unsigned i = 0; i < VIRTIO_BALLOON_MAX_PFNS; i++)
		vd_put(&h.d, a + 4 * i, 2 * i, 4);
	for (unsigned k = 0; k < QS; k++) {
		struct vd_seg s = { a, 4 * VIRTIO_BALLOON_MAX_PFNS, false };
		vd_add(&h.d, VIRTIO_BALLOON_INFLATEQ, &s, 1);
	}
	hog_run(&h, "balloon inflate", VIRTIO_BALLOON_BUDGET);
	assert_int_equal(ndisc, (uint64_t)(h.cap + QS) * VIRTIO_BALLOON_MAX_PFNS);
	virtio_balloon_free(b);
	hog_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_tx_refilled_ring),
		cmocka_unit_test(test_net_rx_useless_buffers),
		cmocka_unit_test(test_rng_refilled_ring),
		cmocka_unit_test(test_console_refilled_ring),
		cmocka_unit_test(test_balloon_refilled_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
