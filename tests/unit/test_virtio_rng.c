// SPDX-License-Identifier: MIT
/* virtio-rng driven through its ring: buffers come back full of entropy; hostile rings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio_rng.h"
#include "virtio_test_driver.h"

#define SLOT 6
#define QS 8
#define WANT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | \
	      VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC))

static void test_entropy(void **state)
{
	struct vd d;
	struct virtio_rng *r;
	assert_int_equal(vd_init(&d, false), 0);
	struct virtio_rng_conf c = { .queue_size = QS, .run = VIRTIO_RUN_INLINE, .mem = &d.mem };
	assert_int_equal(virtio_rng_new(d.host, &c, SLOT, &r), 0);
	assert_int_equal(vd_cfg_read(&d, SLOT, 2, 2), 0x1044);
	assert_int_equal(vd_bringup(&d, SLOT, WANT, 1, QS, false), WANT);
	uint64_t a = vd_alloc(&d, 64), b = vd_alloc(&d, 64);
	struct vd_seg s[2] = { { a, 64, true }, { b, 64, true } };
	uint16_t head = vd_add(&d, 0, s, 2);
	vd_kick(&d, 0);
	uint32_t id, len;
	assert_true(vd_used(&d, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 128);
	assert_int_equal(virtio_rng_bytes(r), 128);
	/* 128 random bytes are not all zero, and the two halves differ. */
	uint8_t zero[64] = { 0 };
	assert_memory_not_equal(d.ram + a, zero, 64);
	assert_memory_not_equal(d.ram + a, d.ram + b, 64);
	/* Readable-only buffers get nothing. */
	struct vd_seg ro = { a, 16, false };
	vd_add(&d, 0, &ro, 1);
	vd_kick(&d, 0);
	assert_true(vd_used(&d, 0, &id, &len));
	assert_int_equal(len, 0);
	/* Hostile: a loop through the whole table -> needs reset, no spin. */
	for (unsigned i = 0; i < QS; i++)
		vd_desc(&d, d.q[0].desc, i, a, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QS));
	vd_publish(&d, 0, 0);
	vd_kick(&d, 0);
	assert_true(vd_status(&d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Nested indirect, after a reset. */
	assert_int_equal(vd_bringup(&d, SLOT, WANT, 1, QS, false), WANT);
	uint64_t t = vd_alloc(&d, 16);
	vd_desc(&d, t, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vd_desc(&d, d.q[0].desc, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
	vd_publish(&d, 0, 0);
	vd_kick(&d, 0);
	assert_true(vd_status(&d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Works again after a reset. */
	assert_int_equal(vd_bringup(&d, SLOT, WANT, 1, QS, false), WANT);
	vd_add(&d, 0, s, 1);
	vd_kick(&d, 0);
	assert_true(vd_used(&d, 0, &id, &len));
	assert_int_equal(len, 64);
	virtio_rng_free(r);
	virtio_rng_free(NULL);
	vd_fini(&d);
}

static void test_worker(void **state)
{
	struct vd d;
	struct virtio_rng *r;
	assert_int_equal(vd_init(&d, true), 0);
	struct virtio_rng_conf c = { .run = VIRTIO_RUN_WORKER, .mem = &d.mem };
	assert_int_equal(virtio_rng_new(d.host, &c, -1, &r), 0);
	assert_int_equal(vd_bringup(&d, 1, WANT, 1, 64, false), WANT);
	uint64_t a = vd_alloc(&d, 4096);
	struct vd_seg s = { a, 4096, true };
	vd_add(&d, 0, &s, 1);
	vd_kick(&d, 0);
	uint32_t id, len;
	bool got = false;
	for (int i = 0; i < 5000 && !(got = vd_used(&d, 0, &id, &len)); i++)
		usleep(1000);
	assert_true(got);
	assert_int_equal(len, 4096);
	virtio_rng_free(r);
	vd_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entropy),
		cmocka_unit_test(test_worker),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
