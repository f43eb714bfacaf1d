// SPDX-License-Identifier: MIT
/* The 16550A model as Linux's 8250 driver drives it: probing registers,
 * THRE and receive interrupts with their IIR priorities, loopback, and
 * receive back-pressure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serial.h"

struct sink {
	int level, edges;
	uint8_t out[256];
	size_t nout;
	int room_calls;
};

static void irq(void *o, int level)
{
	struct sink *s = o;
	if (level && !s->level)
		s->edges++;
	s->level = level;
}

static void tx(void *o, const uint8_t *b, size_t n)
{
	struct sink *s = o;
	memcpy(s->out + s->nout, b, n);
	s->nout += n;
}

static void room(void *o)
{
	((struct sink *)o)->room_calls++;
}

static const struct serial_ops ops = { irq, tx, room };

static uint8_t rd(struct serial *u, unsigned off)
{
	uint8_t v = 0;
	serial_io(u, off, &v, 1, false);
	return v;
}

static void wr(struct serial *u, unsigned off, uint8_t v)
{
	serial_io(u, off, &v, 1, true);
}

static void test_probe_registers(void **state)
{
	struct sink s = { 0 };
	struct serial *u = serial_new(&ops, &s);
	assert_non_null(u);
	wr(u, 7, 0xa5); /* scratch */
	assert_int_equal(rd(u, 7), 0xa5);
	wr(u, 1, 0x0f);
	assert_int_equal(rd(u, 1) & 0x0f, 0x0f);
	wr(u, 1, 0);
	wr(u, 3, 0x80); /* DLAB: divisor latch */
	wr(u, 0, 0x01);
	wr(u, 1, 0x00);
	assert_int_equal(rd(u, 0), 0x01);
	wr(u, 3, 0x03); /* 8N1 */
	wr(u, 2, 0x01); /* FIFO on: IIR reports it */
	assert_int_equal(rd(u, 2) & 0xc0, 0xc0);
	assert_int_equal(rd(u, 5) & 0x60, 0x60); /* THRE | TEMT */
	serial_free(u);
}

static void test_thre_interrupt(void **state)
{
	struct sink s = { 0 };
	struct serial *u = serial_new(&ops, &s);
	wr(u, 1, 0x02); /* enabling ETBEI with an empty THR raises THRE */
	assert_int_equal(s.level, 1);
	assert_int_equal(rd(u, 2) & 0x0f, 0x02);
	assert_int_equal(s.level, 0); /* reading IIR cleared it */
	wr(u, 0, 'A');
	assert_int_equal(s.level, 1); /* transmitted at once: THR empty again */
	assert_int_equal(s.nout, 1);
	assert_int_equal(s.out[0], 'A');
	wr(u, 1, 0x00);
	assert_int_equal(s.level, 0);
	serial_free(u);
}

static void test_receive_priority_and_loopback(void **state)
{
	struct sink s = { 0 };
	struct serial *u = serial_new(&ops, &s);
	wr(u, 1, 0x03); /* RX and THRE interrupts */
	(void)rd(u, 2);
	assert_int_equal(serial_rx(u, (const uint8_t *)"hi", 2), 2);
	assert_int_equal(rd(u, 2) & 0x0f, 0x04); /* received data outranks THRE */
	assert_int_equal(rd(u, 5) & 1, 1);
	assert_int_equal(rd(u, 0), 'h');
	assert_int_equal(rd(u, 0), 'i');
	assert_int_equal(rd(u, 5) & 1, 0);
	wr(u, 4, 0x10 | 0x02); /* loopback, RTS */
	assert_int_equal(rd(u, 6) & 0x10, 0x10); /* CTS follows RTS */
	wr(u, 0, 'x');
	assert_int_equal(s.nout, 0); /* looped back, not transmitted */
	assert_int_equal(rd(u, 0), 'x');
	serial_free(u);
}

static void test_backpressure(void **state)
{
	struct sink s = { 0 };
	struct serial *u = serial_new(&ops, &s);
	uint8_t buf[300];
	memset(buf, 'z', sizeof(buf));
	size_t took = serial_rx(u, buf, sizeof(buf));
	assert_true(took > 0 && took < sizeof(buf));
	assert_int_equal(serial_rx(u, buf, 1), 0); /* full */
	for (size_t i = 0; i < took; i++)
		(void)rd(u, 0);
	assert_int_equal(s.room_calls, 1); /* input may resume */
	assert_int_equal(serial_rx(u, buf, 1), 1);
	serial_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_registers),
		cmocka_unit_test(test_thre_interrupt),
		cmocka_unit_test(test_receive_priority_and_loopback),
		cmocka_unit_test(test_backpressure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
