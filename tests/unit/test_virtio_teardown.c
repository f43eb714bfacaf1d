// SPDX-License-Identifier: MIT
/*
 * Tearing virtio devices down while the guest keeps them busy (issue S,
 * point 1): a virtio-blk worker serving a request when the VM goes (reset,
 * poweroff, SIGTERM) must be stopped before the PCI function its
 * completion interrupt uses is freed (under ASan the old order is a
 * heap-use-after-free in raise_vector), must not take the rest of a full
 * ring first, and the kick eventfds must still be open when the BAR unmap
 * deassigns their ioeventfds. An evloop device freed with a deferred call
 * queued (its budget ran out) must leave nothing behind on the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"
#include "util.h"
#include "fake_block.h"
#include "virtio_blk.h"
#include "virtio_rng.h"
#include "virtio_test_driver.h"

#define SLOT 3
#define QS 16
#define NREQ 8
#define SLOW_MS 150
#define WANT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH))

/* The test's platform: vd's recording, plus a check of every ioeventfd
 * deassign (is the fd still open at that moment?). */
static unsigned deassigned, deassigned_closed;

static int tp_ioeventfd(void *o, const struct pci_ioeventfd *e, bool assign)
{
	if (!assign) {
		deassigned++;
		if (fcntl(e->fd, F_GETFD) < 0)
			deassigned_closed++;
	}
	return vd_ioeventfd(o, e, assign);
}

static void init_vd(struct vd *d)
{
	memset(d, 0, sizeof(*d));
	bus_init(&d->pio);
	bus_init(&d->mmio);
	d->ram = calloc(1, VD_RAM_SIZE);
	d->ram_owned = true;
	assert_non_null(d->ram);
	gmem_buf_init(&d->mem, &d->gb, d->ram, 0, VD_RAM_SIZE);
	d->ioev_supported = true;
	d->data_next = VD_DATA_BASE;
	struct pci_host_config hc = {
		.pio = &d->pio, .mmio = &d->mmio, .mmio_base = VD_MMIO_BASE, .mmio_size = VD_MMIO_SIZE,
		.plat = { .opaque = d, .set_irq = vd_set_irq, .msi = vd_msi, .ioeventfd = tp_ioeventfd },
	};
	assert_int_equal(pci_host_new(&hc, &d->host), 0);
}

static int entered, served;

static int slow_sync(struct fake_block *f)
{
	__atomic_fetch_add(&served, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&entered, 1, __ATOMIC_SEQ_CST);
	usleep(SLOW_MS * 1000); /* a flush of a lot of dirty data */
	return 0;
}

/*
 * A full ring of slow flushes; the VM is torn down while the worker serves
 * the first. Before the fix: ASan heap-use-after-free (the completion's
 * interrupt on the freed PCI function), and the worker went on serving all
 * NREQ (free took NREQ x SLOW_MS) before it looked at its stop request.
 */
static void test_blk_free_with_requests_in_flight(void **state)
{
	char path[] = "/tmp/nv-teardown-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	struct fake_block img;
	assert_int_equal(fake_block_init(&img, fd, false), 0);
	img.on_flush = slow_sync;
	close(fd);
	struct vd d;
	init_vd(&d);
	deassigned = deassigned_closed = 0;
	entered = served = 0;
	struct virtio_blk *b = NULL;
	struct virtio_blk_conf c = { .image = &img.b, .queue_size = QS, .num_queues = 1,
				     .run = VIRTIO_RUN_WORKER, .mem = &d.mem };
	assert_int_equal(virtio_blk_new(d.host, &c, SLOT, &b), 0);
	assert_int_equal(vd_bringup(&d, SLOT, WANT, 1, QS, true), WANT);
	/* MSI-X on: the completion goes through the PCI function's vector table. */
	unsigned cap = 0x34;
	for (unsigned p = vd_cfg_read(&d, SLOT, cap, 1); p; p = vd_cfg_read(&d, SLOT, p + 1, 1))
		if (vd_cfg_read(&d, SLOT, p, 1) == PCI_CAP_ID_MSIX)
			cap = p;
	assert_int_not_equal(cap, 0x34);
	vd_cfg_write(&d, SLOT, cap + 2, 2, PCI_MSIX_ENABLE);
	unsigned assigned = 0;
	for (unsigned i = 0; i < 16; i++)
		assigned += d.ioev[i].on;
	assert_int_equal(assigned, 1); /* the queue's kick */

	for (unsigned i = 0; i < NREQ; i++) {
		uint64_t hdr = vd_alloc(&d, 16), st = vd_alloc(&d, 1);
		vd_put(&d, hdr, VIRTIO_BLK_T_FLUSH, 4);
		struct vd_seg s[2] = { { hdr, 16, false }, { st, 1, true } };
		vd_add(&d, 0, s, 2);
	}
	vd_kick(&d, 0);
	while (!__atomic_load_n(&entered, __ATOMIC_SEQ_CST))
		usleep(1000);
	/* What devices_destroy does when the VM stops. */
	uint64_t t0 = now_ns();
	virtio_blk_free(b);
	double ms = (double)(now_ns() - t0) / 1e6;
	int n = __atomic_load_n(&served, __ATOMIC_SEQ_CST);
	printf("# teardown with %u requests queued: %d served, free took %.0f ms\n", NREQ, n, ms);
	assert_int_equal(n, 1);            /* the one in hand, not the rest of the ring */
	assert_true(ms < SLOW_MS * 3);
	assert_int_equal(deassigned, 1);   /* the BAR unmap deassigned the ioeventfd... */
	assert_int_equal(deassigned_closed, 0); /* ...while its eventfd was still open */
	fake_block_fini(&img);
	vd_fini(&d);
	unlink(path);
}

/* An evloop device freed while a deferred call of its (budget ran out) is
 * queued: the loop must not call into the freed device on its next turn. */
static void test_evloop_free_with_deferred_call(void **state)
{
	struct evloop *loop = evloop_new();
	assert_non_null(loop);
	struct vd d;
	init_vd(&d);
	struct virtio_rng *r = NULL;
	struct virtio_rng_conf c = { .queue_size = 64, .run = VIRTIO_RUN_EVLOOP, .loop = loop,
				     .mem = &d.mem };
	assert_int_equal(virtio_rng_new(d.host, &c, SLOT, &r), 0);
	assert_int_equal(vd_bringup(&d, SLOT, VIRTIO_BIT(VIRTIO_F_VERSION_1), 1, 64, false),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1));
	while (evloop_run_once(loop, 0) > 0)
		;
	/* More buffers than one notify serves: 64 x 64 KiB. */
	uint64_t buf = vd_alloc(&d, 65536);
	for (unsigned i = 0; i < 64; i++) {
		struct vd_seg s = { buf, 65536, true };
		vd_add(&d, 0, &s, 1);
	}
	vd_kick(&d, 0);
	evloop_run_once(loop, 0); /* one budget; the rest deferred */
	assert_int_equal(evloop_deferred_count(loop), 1);
	virtio_rng_free(r);
	assert_int_equal(evloop_deferred_count(loop), 0);
	assert_int_equal(evloop_run_once(loop, 0), 0); /* nothing left that calls into r */
	vd_fini(&d);
	evloop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_free_with_requests_in_flight),
		cmocka_unit_test(test_evloop_free_with_deferred_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
