// SPDX-License-Identifier: MIT
/*
 * virtio-console (port 0) driven through its rings as a driver would: guest
 * output reaches the output callback, host input reaches guest buffers or
 * waits in the FIFO (back-pressure and input_ready), the size
 * configuration, reset, and hostile rings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "virtio_console.h"
#include "virtio_test_driver.h"

#define SLOT 5
#define QS 16
#define WANT (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	      VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE))

struct fx {
	struct vd d;
	struct virtio_console *con;
	uint64_t features;
	uint8_t out[8192];
	size_t out_len;
	unsigned out_calls, ready_calls;
	bool count_only;           /* on_output only counts (huge outputs) */
	uint64_t rxbuf[QS];
};

static void on_output(void *o, const uint8_t *buf, size_t len)
{
	struct fx *f = o;
	if (f->count_only) {
		f->out_len += len;
		f->out_calls++;
		return;
	}
	assert_true(f->out_len + len <= sizeof(f->out));
	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
	f->out_calls++;
}

static void on_ready(void *o)
{
	((struct fx *)o)->ready_calls++;
}

static int make(struct fx *f, uint16_t cols, uint16_t rows)
{
	memset(f, 0, sizeof(*f));
	if (vd_init(&f->d, false) < 0)
		return -1;
	struct virtio_console_conf c = {
		.name = "hvc0", .queue_size = QS, .run = VIRTIO_RUN_INLINE, .mem = &f->d.mem,
		.cols = cols, .rows = rows, .output = on_output, .input_ready = on_ready, .opaque = f,
	};
	int r = virtio_console_new(f->d.host, &c, SLOT, &f->con);
	if (r < 0)
		return r;
	f->features = vd_bringup(&f->d, SLOT, WANT, 2, QS, false);
	return 0;
}

static void destroy(struct fx *f)
{
	virtio_console_free(f->con);
	vd_fini(&f->d);
}

static void post_rx(struct fx *f, unsigned n, uint32_t size)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t b = vd_alloc(&f->d, size);
		struct vd_seg s = { b, size, true };
		f->rxbuf[vd_add(&f->d, VIRTIO_CONSOLE_RXQ, &s, 1)] = b;
	}
	vd_kick(&f->d, VIRTIO_CONSOLE_RXQ);
}

/* Collects everything the guest received so far. */
static size_t collect(struct fx *f, uint8_t *buf, size_t cap)
{
	uint32_t id = 0, len = 0;
	size_t at = 0;
	while (vd_used(&f->d, VIRTIO_CONSOLE_RXQ, &id, &len)) {
		assert_true(at + len <= cap);
		memcpy(buf + at, f->d.ram + f->rxbuf[id], len);
		at += len;
	}
	return at;
}

static void test_config(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 80, 25), 0);
	struct vd *d = &f.d;
	assert_int_equal(vd_cfg_read(d, SLOT, 2, 2), 0x1043);
	assert_true(f.features & VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE));
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_CONSOLE_CFG_COLS, 2), 80);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_CONSOLE_CFG_ROWS, 2), 25);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_CONSOLE_CFG_MAX_PORTS, 4), 1);
	uint8_t gen = (uint8_t)vd_rd(d, VIRTIO_PCI_COMMON_CFGGEN, 1);
	virtio_console_set_size(f.con, 132, 43);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_DEVCFG_OFF + VIRTIO_CONSOLE_CFG_COLS, 4), 132 | 43 << 16);
	assert_int_not_equal(vd_rd(d, VIRTIO_PCI_COMMON_CFGGEN, 1), gen);
	destroy(&f);
	/* No size given: F_SIZE not offered. */
	assert_int_equal(make(&f, 0, 0), 0);
	assert_false(f.features & VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE));
	assert_int_not_equal(f.features, 0);
	destroy(&f);
	/* An output callback is required. */
	struct vd d2;
	assert_int_equal(vd_init(&d2, false), 0);
	struct virtio_console *con = NULL;
	struct virtio_console_conf c = { .mem = &d2.mem };
	assert_int_equal(virtio_console_new(d2.host, &c, -1, &con), -EINVAL);
	assert_null(con);
	virtio_console_free(NULL);
	vd_fini(&d2);
}

static void test_output(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, 0), 0);
	struct vd *d = &f.d;
	/* "login: " in two segments, then one more buffer. */
	uint64_t a = vd_alloc(d, 16), b = vd_alloc(d, 16), c = vd_alloc(d, 16);
	memcpy(d->ram + a, "log", 3);
	memcpy(d->ram + b, "in: ", 4);
	memcpy(d->ram + c, "\r\n", 2);
	struct vd_seg s[2] = { { a, 3, false }, { b, 4, false } };
	vd_add(d, VIRTIO_CONSOLE_TXQ, s, 2);
	struct vd_seg s2 = { c, 2, false };
	vd_add_indirect(d, VIRTIO_CONSOLE_TXQ, &s2, 1);
	unsigned irq = d->set_irq_calls;
	vd_kick(d, VIRTIO_CONSOLE_TXQ);
	assert_int_equal(f.out_len, 9);
	assert_memory_equal(f.out, "login: \r\n", 9);
	uint32_t id = 0, len = 0;
	assert_true(vd_used(d, VIRTIO_CONSOLE_TXQ, &id, &len));
	assert_int_equal(len, 0);
	assert_true(vd_used(d, VIRTIO_CONSOLE_TXQ, &id, &len));
	assert_true(d->set_irq_calls > irq);
	struct virtio_console_stats st;
	virtio_console_get_stats(f.con, &st);
	assert_int_equal(st.bytes_out, 9);
	destroy(&f);
}

static void test_input(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, 0), 0);
	uint8_t got[VIRTIO_CONSOLE_FIFO + 64];
	/* Before any receive buffer: the bytes wait. */
	assert_int_equal(virtio_console_input(f.con, "root\n", 5), 5);
	assert_int_equal(collect(&f, got, sizeof(got)), 0);
	struct virtio_console_stats st;
	virtio_console_get_stats(f.con, &st);
	assert_int_equal(st.fifo, 5);
	/* Buffers of 4 bytes: "root" then "\n". */
	post_rx(&f, 4, 4);
	assert_int_equal(collect(&f, got, sizeof(got)), 5);
	assert_memory_equal(got, "root\n", 5);
	/* Straight through while buffers remain. */
	assert_int_equal(virtio_console_input(f.con, "ls\n", 3), 3);
	assert_int_equal(collect(&f, got, sizeof(got)), 3);
	assert_memory_equal(got, "ls\n", 3);
	virtio_console_get_stats(f.con, &st);
	assert_int_equal(st.bytes_in, 8);
	assert_int_equal(st.fifo, 0);
	destroy(&f);
}

static void test_fifo_backpressure(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, 0), 0);
	static uint8_t big[VIRTIO_CONSOLE_FIFO + 1000], got[VIRTIO_CONSOLE_FIFO + 1000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	/* More than the FIFO holds: only the FIFO's worth is taken. */
	assert_int_equal(virtio_console_input(f.con, big, sizeof(big)), VIRTIO_CONSOLE_FIFO);
	assert_int_equal(virtio_console_input(f.con, big, 1), 0);
	assert_int_equal(f.ready_calls, 0);
	/* The guest posts buffers: the FIFO drains and input_ready fires. */
	post_rx(&f, 8, 4096);
	assert_int_equal(f.ready_calls, 1);
	size_t n = collect(&f, got, sizeof(got));
	assert_int_equal(n, VIRTIO_CONSOLE_FIFO);
	assert_memory_equal(got, big, VIRTIO_CONSOLE_FIFO);
	/* The rest, wrapping around the FIFO. */
	assert_int_equal(virtio_console_input(f.con, big + VIRTIO_CONSOLE_FIFO, 1000), 1000);
	post_rx(&f, 1, 4096);
	assert_int_equal(collect(&f, got, sizeof(got)), 1000);
	assert_memory_equal(got, big + VIRTIO_CONSOLE_FIFO, 1000);
	assert_int_equal(f.ready_calls, 1);
	destroy(&f);
}

static void test_hostile_and_reset(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, 0), 0);
	struct vd *d = &f.d;
	/* TX: buffer outside guest RAM. */
	vd_desc(d, d->q[VIRTIO_CONSOLE_TXQ].desc, 0, VD_RAM_SIZE - 2, 16, 0, 0);
	vd_publish(d, VIRTIO_CONSOLE_TXQ, 0);
	vd_kick(d, VIRTIO_CONSOLE_TXQ);
	assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(f.out_len, 0);
	/* Input while broken just waits in the FIFO. */
	assert_int_equal(virtio_console_input(f.con, "x", 1), 1);
	/* RX: readable descriptor after a writable one. */
	assert_int_not_equal(vd_bringup(d, SLOT, WANT, 2, QS, false), 0);
	uint64_t b = vd_alloc(d, 64);
	struct vd_seg s[2] = { { b, 8, true }, { b + 8, 8, false } };
	vd_add(d, VIRTIO_CONSOLE_RXQ, s, 2);
	vd_kick(d, VIRTIO_CONSOLE_RXQ);
	assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Reset: both ways work; the waiting byte arrives. */
	assert_int_not_equal(vd_bringup(d, SLOT, WANT, 2, QS, false), 0);
	post_rx(&f, 2, 16);
	uint8_t got[32];
	assert_int_equal(collect(&f, got, sizeof(got)), 1);
	assert_int_equal(got[0], 'x');
	uint64_t t = vd_alloc(d, 4);
	memcpy(d->ram + t, "ok", 2);
	struct vd_seg ts = { t, 2, false };
	vd_add(d, VIRTIO_CONSOLE_TXQ, &ts, 1);
	vd_kick(d, VIRTIO_CONSOLE_TXQ);
	assert_int_equal(f.out_len, 2);
	destroy(&f);
}

/* One transmitted chain of QS - 1 descriptors all pointing at the same
 * 1 MiB (15 MiB claimed): at most VIRTIO_CONSOLE_TX_MAX_CHAIN bytes reach the
 * output, the rest is dropped and counted; the next chain is served. */
static void test_huge_chain(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, 0, 0), 0);
	f.count_only = true;
	uint64_t mib = vd_alloc(&f.d, 1u << 20);
	struct vd_seg s[QS - 1];
	for (unsigned i = 0; i < QS - 1; i++)
		s[i] = (struct vd_seg){ mib, 1u << 20, false };
	vd_add(&f.d, VIRTIO_CONSOLE_TXQ, s, QS - 1);
	uint64_t one = vd_alloc(&f.d, 1);
	struct vd_seg s1 = { one, 1, false };
	vd_add(&f.d, VIRTIO_CONSOLE_TXQ, &s1, 1);
	vd_kick(&f.d, VIRTIO_CONSOLE_TXQ);
	assert_int_equal(f.out_len, VIRTIO_CONSOLE_TX_MAX_CHAIN + 1);
	assert_int_equal(f.out_calls, 2);
	struct virtio_console_stats st;
	virtio_console_get_stats(f.con, &st);
	assert_int_equal(st.bytes_out, VIRTIO_CONSOLE_TX_MAX_CHAIN + 1);
	assert_int_equal(st.bytes_dropped, (uint64_t)(QS - 1) * (1u << 20) - VIRTIO_CONSOLE_TX_MAX_CHAIN);
	uint32_t id, len;
	assert_true(vd_used(&f.d, VIRTIO_CONSOLE_TXQ, &id, &len));
	assert_true(vd_used(&f.d, VIRTIO_CONSOLE_TXQ, &id, &len));
	destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_fifo_backpressure),
		cmocka_unit_test(test_hostile_and_reset),
		cmocka_unit_test(test_huge_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
