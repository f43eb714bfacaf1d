// SPDX-License-Identifier: MIT
/*
 * virtio-balloon driven through its rings as a driver would: the target and
 * actual, inflate (discard callback with coalesced ranges, PFNs outside
 * RAM skipped), deflate (reclaim), statistics (kept buffer, refresh on
 * request), reset and hostile rings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "virtio_balloon.h"
#include "virtio_test_driver.h"

#define SLOT 6
#define QS 16
#define WANT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | \
	      VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) | VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM))

struct range { uint64_t gpa, len; };

struct fx {
	struct vd d;
	struct virtio_balloon *b;
	uint64_t features;
	struct range disc[32], recl[32];
	unsigned ndisc, nrecl;
	int disc_ret;
};

static int on_discard(void *o, uint64_t gpa, uint64_t len)
{
	struct fx *f = o;
	assert_true(f->ndisc < 32);
	f->disc[f->ndisc++] = (struct range){ gpa, len };
	return f->disc_ret;
}

static int on_reclaim(void *o, uint64_t gpa, uint64_t len)
{
	struct fx *f = o;
	assert_true(f->nrecl < 32);
	f->recl[f->nrecl++] = (struct range){ gpa, len };
	return 0;
}

static int make(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	if (vd_init(&f->d, false) < 0)
		return -1;
	struct virtio_balloon_conf c = {
		.queue_size = QS, .run = VIRTIO_RUN_INLINE, .mem = &f->d.mem,
		.discard = on_discard, .reclaim = on_reclaim, .opaque = f,
	};
	int r = virtio_balloon_new(f->d.host, &c, SLOT, &f->b);
	if (r < 0)
		return r;
	f->features = vd_bringup(&f->d, SLOT, WANT, 3, QS, false);
	return 0;
}

static void destroy(struct fx *f)
{
	virtio_balloon_free(f->b);
	vd_fini(&f->d);
}

/* The guest sends PFNs on queue q. */
static void send_pfns(struct fx *f, unsigned q, const uint32_t *pfn, unsigned n)
{
	uint64_t a = vd_alloc(&f->d, 4ULL * n);
	for (unsigned i = 0; i < n; i++)
		vd_put(&f->d, a + 4ULL * i, pfn[i], 4);
	struct vd_seg s = { a, 4 * n, false };
	vd_add(&f->d, q, &s, 1);
	vd_kick(&f->d, q);
	uint32_t id = 0, len = 0;
	assert_true(vd_used(&f->d, q, &id, &len));
}

static void test_target_actual(void **state)
{
	struct fx f;
	assert_int_equal(make(&f), 0);
	struct vd *d = &f.d;
	assert_int_equal(vd_cfg_read(d, SLOT, 2, 2), 0x1045);
	assert_int_equal(f.features, WANT);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 4), 0);
	uint8_t gen = (uint8_t)vd_rd(d, VIRTIO_PCI_COMMON_CFGGEN, 1);
	unsigned irq = d->set_irq_calls;
	virtio_balloon_set_target(f.b, 16384); /* 64 MiB */
	assert_int_equal(virtio_balloon_target(f.b), 16384);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 4), 16384);
	assert_int_not_equal(vd_rd(d, VIRTIO_PCI_COMMON_CFGGEN, 1), gen);
	assert_true(d->set_irq_calls > irq);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_ISR_OFF, 1) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
	/* The driver reports actual; num_pages is not the driver's to write. */
	vd_wr(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BALLOON_CFG_ACTUAL, 4, 4096);
	assert_int_equal(virtio_balloon_actual(f.b), 4096);
	vd_wr(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BALLOON_CFG_ACTUAL + 1, 1, 0x20); /* byte write */
	assert_int_equal(virtio_balloon_actual(f.b), 0x2000);
	vd_wr(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_BALLOON_CFG_NUM_PAGES, 4, 1);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF, 8), 16384 | (uint64_t)0x2000 << 32);
	/* Reset: actual back to 0, the host's target stays. */
	vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(virtio_balloon_actual(f.b), 0);
	assert_int_equal(virtio_balloon_target(f.b), 16384);
	destroy(&f);
	/* discard is required. */
	struct vd d2;
	assert_int_equal(vd_init(&d2, false), 0);
	struct virtio_balloon *b = NULL;
	struct virtio_balloon_conf c = { .mem = &d2.mem };
	assert_int_equal(virtio_balloon_new(d2.host, &c, -1, &b), -EINVAL);
	virtio_balloon_free(NULL);
	vd_fini(&d2);
}

static void test_inflate_deflate(void **state)
{
	struct fx f;
	assert_int_equal(make(&f), 0);
	/* 0x200..0x202 contiguous, 0x300, 0x100 (not ascending), one PFN outside
	 * RAM, then 0x301 (adjacent to 0x300, not to the PFN before it): the
	 * chain's PFNs are sorted, so each run of pages is one call. */
	uint32_t in[] = { 0x200, 0x201, 0x202, 0x300, 0x100, 0xFFFFF, 0x301 };
	send_pfns(&f, VIRTIO_BALLOON_INFLATEQ, in, 7);
	assert_int_equal(f.ndisc, 3);
	struct range want[] = { { 0x100000, 0x1000 }, { 0x200000, 0x3000 }, { 0x300000, 0x2000 } };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(f.disc[i].gpa, want[i].gpa);
		assert_int_equal(f.disc[i].len, want[i].len);
	}
	struct virtio_balloon_counters c;
	virtio_balloon_get_counters(f.b, &c);
	assert_int_equal(c.inflated_pages, 6);
	assert_int_equal(c.bad_pfns, 1);
	assert_int_equal(c.discard_errors, 0);
	/* A big batch: contiguous pages in one range, but only the first
	 * VIRTIO_BALLOON_MAX_PFNS (256, what Linux sends at most) of a chain. */
	static uint32_t many[1000];
	for (unsigned i = 0; i < 1000; i++)
		many[i] = 0x10 + i;
	f.ndisc = 0;
	send_pfns(&f, VIRTIO_BALLOON_INFLATEQ, many, VIRTIO_BALLOON_MAX_PFNS);
	assert_int_equal(f.ndisc, 1);
	assert_int_equal(f.disc[0].gpa, 0x10000);
	assert_int_equal(f.disc[0].len, VIRTIO_BALLOON_MAX_PFNS * 4096);
	virtio_balloon_get_counters(f.b, &c);
	assert_int_equal(c.oversized_chains, 0);
	f.ndisc = 0;
	send_pfns(&f, VIRTIO_BALLOON_INFLATEQ, many, 1000);
	assert_int_equal(f.ndisc, 1);
	assert_int_equal(f.disc[0].gpa, 0x10000);
	assert_int_equal(f.disc[0].len, VIRTIO_BALLOON_MAX_PFNS * 4096);
	virtio_balloon_get_counters(f.b, &c);
	assert_int_equal(c.oversized_chains, 1);
	/* Deflate: reclaim with the same coalescing. */
	uint32_t out[] = { 0x200, 0x201, 0x202 };
	send_pfns(&f, VIRTIO_BALLOON_DEFLATEQ, out, 3);
	assert_int_equal(f.nrecl, 1);
	assert_int_equal(f.recl[0].gpa, 0x200000);
	assert_int_equal(f.recl[0].len, 0x3000);
	/* A discard failure is counted; a trailing partial PFN is ignored. */
	f.disc_ret = -EINVAL;
	f.ndisc = 0;
	uint64_t a = vd_alloc(&f.d, 8);
	vd_put(&f.d, a, 0x3ff, 4);
	struct vd_seg s = { a, 6, false };
	vd_add(&f.d, VIRTIO_BALLOON_INFLATEQ, &s, 1);
	vd_kick(&f.d, VIRTIO_BALLOON_INFLATEQ);
	assert_int_equal(f.ndisc, 1);
	virtio_balloon_get_counters(f.b, &c);
	assert_int_equal(c.inflated_pages, 6 + 2 * VIRTIO_BALLOON_MAX_PFNS + 1);
	assert_int_equal(c.deflated_pages, 3);
	assert_int_equal(c.discard_errors, 1);
	destroy(&f);
}

static uint64_t put_stats(struct fx *f, const uint16_t *tag, const uint64_t *val, unsigned n)
{
	uint64_t a = vd_alloc(&f->d, 10ULL * n);
	for (unsigned i = 0; i < n; i++) {
		vd_put(&f->d, a + 10ULL * i, tag[i], 2);
		vd_put(&f->d, a + 10ULL * i + 2, val[i], 8);
	}
	struct vd_seg s = { a, 10 * n, false };
	vd_add(&f->d, VIRTIO_BALLOON_STATSQ, &s, 1);
	vd_kick(&f->d, VIRTIO_BALLOON_STATSQ);
	return a;
}

static void test_stats(void **state)
{
	struct fx f;
	assert_int_equal(make(&f), 0);
	struct vd *d = &f.d;
	struct virtio_balloon_stats st;
	/* Nothing yet. */
	virtio_balloon_get_stats(f.b, &st);
	assert_int_equal(st.timestamp_ns, 0);
	assert_int_equal(virtio_balloon_request_stats(f.b), -EAGAIN);
	/* The guest's first report; the device keeps the buffer. */
	uint16_t tag[] = { VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, 77, VIRTIO_BALLOON_S_AVAIL };
	uint64_t val[] = { 100ULL << 20, 512ULL << 20, 5, 200ULL << 20 };
	uint64_t t0 = now_ns();
	uint64_t a = put_stats(&f, tag, val, 4);
	uint32_t id = 0, len = 0;
	assert_false(vd_used(d, VIRTIO_BALLOON_STATSQ, &id, &len));
	unsigned irq = d->set_irq_calls;
	virtio_balloon_get_stats(f.b, &st); /* also asks for fresh ones */
	assert_int_equal(st.val[VIRTIO_BALLOON_S_MEMFREE], 100ULL << 20);
	assert_int_equal(st.val[VIRTIO_BALLOON_S_MEMTOT], 512ULL << 20);
	assert_int_equal(st.val[VIRTIO_BALLOON_S_AVAIL], 200ULL << 20);
	assert_int_equal(st.valid, 1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_MEMTOT |
				   1u << VIRTIO_BALLOON_S_AVAIL);
	assert_true(st.timestamp_ns >= t0);
	assert_int_equal(st.updates, 1);
	/* The buffer went back to the guest, with an interrupt. */
	assert_true(vd_used(d, VIRTIO_BALLOON_STATSQ, &id, &len));
	assert_int_equal(len, 0);
	assert_true(d->set_irq_calls > irq);
	assert_int_equal(virtio_balloon_request_stats(f.b), -EAGAIN); /* already outstanding */
	/* The guest refills and re-posts it. */
	vd_put(d, a + 2, 99ULL << 20, 8);
	struct vd_seg s = { a, 40, false };
	vd_add(d, VIRTIO_BALLOON_STATSQ, &s, 1);
	vd_kick(d, VIRTIO_BALLOON_STATSQ);
	virtio_balloon_get_stats(f.b, &st);
	assert_int_equal(st.val[VIRTIO_BALLOON_S_MEMFREE], 99ULL << 20);
	assert_int_equal(st.updates, 2);
	destroy(&f);
}

static void test_hostile(void **state)
{
	struct fx f;
	assert_int_equal(make(&f), 0);
	struct vd *d = &f.d;
	uint64_t buf = vd_alloc(d, 64);
	for (unsigned q = 0; q < 3; q++) {
		if (q)
			assert_int_not_equal(vd_bringup(d, SLOT, WANT, 3, QS, false), 0);
		uint64_t dt = d->q[q].desc;
		switch (q) {
		case 0: /* loop */
			vd_desc(d, dt, 0, buf, 4, VIRTQ_DESC_F_NEXT, 1);
			vd_desc(d, dt, 1, buf, 4, VIRTQ_DESC_F_NEXT, 0);
			break;
		case 1: /* length overflow */
			vd_desc(d, dt, 0, UINT64_MAX - 2, 8, 0, 0);
			break;
		case 2: /* next out of range */
			vd_desc(d, dt, 0, buf, 10, VIRTQ_DESC_F_NEXT, QS + 3);
			break;
		}
		vd_publish(d, q, 0);
		vd_kick(d, q);
		assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	}
	assert_int_equal(f.ndisc, 0);
	assert_int_equal(virtio_balloon_request_stats(f.b), -EAGAIN);
	/* Reset: inflating works again. */
	assert_int_not_equal(vd_bringup(d, SLOT, WANT, 3, QS, false), 0);
	uint32_t pfn = 0x123;
	send_pfns(&f, VIRTIO_BALLOON_INFLATEQ, &pfn, 1);
	assert_int_equal(f.ndisc, 1);
	assert_int_equal(f.disc[0].gpa, 0x123000);
	destroy(&f);
}

/*
 * Per-chain work is bounded whatever length the guest claims: one chain of
 * QS descriptors that all point at the same 1 MiB of zeros ("PFN 0",
 * 4 million times) was 4,194,304 discard calls (one madvise each); now its
 * first VIRTIO_BALLOON_MAX_PFNS are read and the repeats merge: one call.
 * A statistics buffer as long is read for VIRTIO_BALLOON_STATS_MAX entries.
 */
static void test_huge_chains(void **state)
{
	struct fx f;
	assert_int_equal(make(&f), 0);
	struct vd *d = &f.d;
	uint64_t mib = vd_alloc(d, 1u << 20);
	struct vd_seg s[QS];
	for (unsigned i = 0; i < QS; i++)
		s[i] = (struct vd_seg){ mib, 1u << 20, false };
	uint64_t t0 = now_ns();
	vd_add(d, VIRTIO_BALLOON_INFLATEQ, s, QS);
	vd_kick(d, VIRTIO_BALLOON_INFLATEQ);
	printf("# inflate chain of %u x 1 MiB: %u discard calls, %.2f ms\n", QS, f.ndisc,
	       (double)(now_ns() - t0) / 1e6);
	assert_int_equal(f.ndisc, 1);
	assert_int_equal(f.disc[0].gpa, 0);
	assert_int_equal(f.disc[0].len, 4096);
	struct virtio_balloon_counters c;
	virtio_balloon_get_counters(f.b, &c);
	assert_int_equal(c.inflated_pages, 1);
	assert_int_equal(c.oversized_chains, 1);
	uint32_t id, len;
	assert_true(vd_used(d, VIRTIO_BALLOON_INFLATEQ, &id, &len));
	/* Repeats inside a normal chain are dropped too: 7, 8 is one run. */
	uint32_t rep[] = { 7, 7, 8, 7, 8, 8 };
	f.ndisc = 0;
	send_pfns(&f, VIRTIO_BALLOON_INFLATEQ, rep, 6);
	assert_int_equal(f.ndisc, 1);
	assert_int_equal(f.disc[0].gpa, 0x7000);
	assert_int_equal(f.disc[0].len, 0x2000);
	/* Statistics (zeros read as swap_in = 0): entry 63 is the last one read,
	 * entry 64 (the first past VIRTIO_BALLOON_STATS_MAX) is not. */
	vd_put(d, mib + 630, VIRTIO_BALLOON_S_SWAP_IN, 2);
	vd_put(d, mib + 632, 11, 8);
	vd_put(d, mib + 640, VIRTIO_BALLOON_S_MEMFREE, 2);
	vd_put(d, mib + 642, 0x1234, 8);
	t0 = now_ns();
	vd_add(d, VIRTIO_BALLOON_STATSQ, s, QS);
	vd_kick(d, VIRTIO_BALLOON_STATSQ);
	struct virtio_balloon_stats st;
	virtio_balloon_get_stats(f.b, &st);
	printf("# statistics chain of %u x 1 MiB: %.2f ms\n", QS, (double)(now_ns() - t0) / 1e6);
	assert_int_equal(st.updates, 1);
	assert_int_equal(st.val[VIRTIO_BALLOON_S_SWAP_IN], 11);
	assert_int_equal(st.valid, 1u << VIRTIO_BALLOON_S_SWAP_IN);
	destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_actual),
		cmocka_unit_test(test_inflate_deflate),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_huge_chains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
