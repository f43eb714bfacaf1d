// SPDX-License-Identifier: MIT
/* The i8042: what Linux's probe reads, its interrupts, and the 0xFE reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "i8042.h"

struct seen {
	int line[13];
	int irq_calls;
	int resets;
};

static void irq_line(void *o, unsigned irq, int level)
{
	struct seen *s = o;
	s->line[irq] = level;
	s->irq_calls++;
}

static void reset(void *o)
{
	((struct seen *)o)->resets++;
}

static const struct i8042_ops ops = { irq_line, reset };

static uint8_t status(struct i8042 *k)
{
	uint8_t v = 0xee;
	i8042_cmd_io(k, 0, &v, 1, false);
	return v;
}

static uint8_t data_in(struct i8042 *k)
{
	uint8_t v = 0xee;
	i8042_data_io(k, 0, &v, 1, false);
	return v;
}

static void cmd(struct i8042 *k, uint8_t v)
{
	i8042_cmd_io(k, 0, &v, 1, true);
}

static void data_out(struct i8042 *k, uint8_t v)
{
	i8042_data_io(k, 0, &v, 1, true);
}

static void test_probe(void **state)
{
	struct seen s = { .resets = 0 };
	struct i8042 *k = i8042_new(&ops, &s);
	assert_non_null(k);
	/* Idle: system flag and unlocked, no output. */
	assert_int_equal(status(k) & 0x01, 0);
	assert_int_equal(status(k) & 0x04, 0x04);
	/* Controller self-test answers 0x55; the output-buffer-full bit shows it. */
	cmd(k, 0xaa);
	assert_int_equal(status(k) & 0x08, 0x08); /* last write was a command */
	assert_int_equal(status(k) & 0x01, 0x01);
	assert_int_equal(data_in(k), 0x55);
	assert_int_equal(status(k) & 0x01, 0);
	/* Read the command byte, write it back without the keyboard interrupt. */
	cmd(k, 0x20);
	uint8_t ctr = data_in(k);
	assert_int_equal(ctr & 0x01, 0x01); /* keyboard interrupt on after reset */
	cmd(k, 0x60);
	data_out(k, ctr & (uint8_t)~0x01);
	cmd(k, 0x20);
	assert_int_equal(data_in(k), ctr & (uint8_t)~0x01);
	/* Interface tests pass; the keyboard resets with AA and identifies as MF2. */
	cmd(k, 0xab);
	assert_int_equal(data_in(k), 0x00);
	data_out(k, 0xff);
	assert_int_equal(data_in(k), 0xfa);
	assert_int_equal(data_in(k), 0xaa);
	data_out(k, 0xf2);
	assert_int_equal(data_in(k), 0xfa);
	assert_int_equal(data_in(k), 0xab);
	assert_int_equal(data_in(k), 0x83);
	/* No mouse: a byte for the aux device is not acknowledged, and comes as aux data. */
	cmd(k, 0xd4);
	data_out(k, 0xf4);
	assert_int_equal(status(k) & 0x21, 0x21);
	assert_int_equal(data_in(k), 0xfe);
	assert_int_equal(data_in(k), 0x00); /* empty reads 0 */
	assert_int_equal(s.resets, 0);
	i8042_free(k);
	i8042_free(NULL);
}

static void test_interrupts(void **state)
{
	struct seen s = { .resets = 0 };
	struct i8042 *k = i8042_new(&ops, &s);
	/* Keyboard output with the keyboard interrupt on raises IRQ 1 until read. */
	cmd(k, 0xd2);
	data_out(k, 0x1c);
	assert_int_equal(s.line[1], 1);
	assert_int_equal(data_in(k), 0x1c);
	assert_int_equal(s.line[1], 0);
	/* Aux loopback with the aux interrupt on raises IRQ 12. */
	cmd(k, 0x60);
	data_out(k, 0x07);
	cmd(k, 0xd3);
	data_out(k, 0x5a);
	assert_int_equal(s.line[12], 1);
	assert_int_equal(s.line[1], 0);
	assert_int_equal(data_in(k), 0x5a);
	assert_int_equal(s.line[12], 0);
	/* With interrupts off nothing is raised. */
	cmd(k, 0x60);
	data_out(k, 0x04);
	int calls = s.irq_calls;
	cmd(k, 0xd2);
	data_out(k, 0x11);
	assert_int_equal(s.irq_calls, calls);
	assert_int_equal(data_in(k), 0x11);
	/* A full queue drops further bytes instead of overflowing. */
	for (int i = 0; i < 40; i++) {
		cmd(k, 0xd2);
		data_out(k, (uint8_t)i);
	}
	for (int i = 0; i < 16; i++)
		assert_int_equal(data_in(k), i);
	assert_int_equal(status(k) & 0x01, 0);
	i8042_free(k);
}

static void test_reset(void **state)
{
	struct seen s = { .resets = 0 };
	struct i8042 *k = i8042_new(&ops, &s);
	cmd(k, 0xfe); /* pulse output line 0: the CPU reset Linux's reboot=k uses */
	assert_int_equal(s.resets, 1);
	cmd(k, 0xff); /* bit 0 high pulses nothing */
	assert_int_equal(s.resets, 1);
	cmd(k, 0xd1); /* output port with the reset bit low */
	data_out(k, 0xfe);
	assert_int_equal(s.resets, 2);
	cmd(k, 0xd1);
	data_out(k, 0x01);
	assert_int_equal(s.resets, 2);
	i8042_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_interrupts),
		cmocka_unit_test(test_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
