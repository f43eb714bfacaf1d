// SPDX-License-Identifier: MIT
/* The MAC spoofing rule (mac_policy.h): both directions, spoofing on and off. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mac_policy.h"

static const uint8_t own[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t other[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t mcast6[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };

static void frame(uint8_t *f, const uint8_t *dst, const uint8_t *src)
{
	memset(f, 0, 64);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
}

static void test_tx(void **state)
{
	uint8_t f[64];
	frame(f, bcast, own);
	assert_true(mac_tx_allowed(own, f, 64, false));
	assert_true(mac_tx_allowed(own, f, 14, false));
	frame(f, other, own);
	assert_true(mac_tx_allowed(own, f, 64, false));
	/* Foreign source: refused unless spoofing. */
	frame(f, own, other);
	assert_false(mac_tx_allowed(own, f, 64, false));
	assert_true(mac_tx_allowed(own, f, 64, true));
	/* One bit off in the last byte is foreign. */
	frame(f, bcast, own);
	f[11] ^= 1;
	assert_false(mac_tx_allowed(own, f, 64, false));
	/* Runts and NULL never pass with spoofing off. */
	frame(f, bcast, own);
	assert_false(mac_tx_allowed(own, f, 13, false));
	assert_false(mac_tx_allowed(own, NULL, 0, false));
	assert_true(mac_tx_allowed(own, f, 13, true));
}

static void test_rx(void **state)
{
	uint8_t f[64];
	frame(f, own, other);
	assert_true(mac_rx_allowed(own, f, 64, false));
	frame(f, bcast, other);
	assert_true(mac_rx_allowed(own, f, 64, false));
	frame(f, mcast, other);
	assert_true(mac_rx_allowed(own, f, 64, false));
	frame(f, mcast6, other);
	assert_true(mac_rx_allowed(own, f, 64, false));
	/* Foreign unicast: refused unless spoofing. */
	frame(f, other, own);
	assert_false(mac_rx_allowed(own, f, 64, false));
	assert_true(mac_rx_allowed(own, f, 64, true));
	frame(f, own, other);
	f[5] ^= 0x80;
	assert_false(mac_rx_allowed(own, f, 64, false));
	frame(f, own, other);
	assert_false(mac_rx_allowed(own, f, 10, false));
	assert_false(mac_rx_allowed(own, NULL, 64, false));
}

static void test_parse_format(void **state)
{
	uint8_t m[6];
	char buf[18];
	assert_int_equal(mac_parse("52:54:00:12:34:56", m), 0);
	assert_memory_equal(m, own, 6);
	assert_int_equal(mac_parse("52-54-00-AA-bb-Cc", m), 0);
	assert_memory_equal(m, other, 6);
	assert_string_equal(mac_format(own, buf), "52:54:00:12:34:56");
	assert_int_equal(mac_parse("52:54:00:12:34", m), -EINVAL);
	assert_int_equal(mac_parse("52:54:00:12:34:5g", m), -EINVAL);
	assert_int_equal(mac_parse("52:54:00:12:34:566", m), -EINVAL);
	assert_int_equal(mac_parse("52.54.00.12.34.56", m), -EINVAL);
	assert_int_equal(mac_parse(NULL, m), -EINVAL);
	assert_true(mac_is_multicast(bcast));
	assert_true(mac_is_multicast(mcast));
	assert_false(mac_is_multicast(own));
}

static void test_random(void **state)
{
	uint8_t a[6], b[6];
	mac_random(a);
	mac_random(b);
	assert_memory_equal(a, "\x52\x54\x00", 3);
	assert_false(mac_is_multicast(a));
	assert_true(a[0] & 2); /* locally administered */
	/* Two draws differ (2^-24 chance of a false failure). */
	assert_memory_not_equal(a, b, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_rx),
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
