// SPDX-License-Identifier: MIT
/* The MAC spoofing rule of virtio-net: pure functions (include/net/mac_policy.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mac_policy.h"
#include "util.h"

bool mac_is_multicast(const uint8_t mac[MAC_LEN])
{
	return mac[0] & 1;
}

bool mac_tx_allowed(const uint8_t own[MAC_LEN], const uint8_t *frame, size_t len, bool spoofing)
{
	if (spoofing)
		return true;
	if (!frame || len < ETH_HDR_LEN)
		return false;
	return memcmp(frame + MAC_LEN, own, MAC_LEN) == 0;
}

bool mac_rx_allowed(const uint8_t own[MAC_LEN], const uint8_t *frame, size_t len, bool spoofing)
{
	if (spoofing)
		return true;
	if (!frame || len < ETH_HDR_LEN)
		return false;
	return mac_is_multicast(frame) || memcmp(frame, own, MAC_LEN) == 0;
}

int mac_parse(const char *s, uint8_t out[MAC_LEN])
{
	if (!s || strlen(s) != 17)
		return -EINVAL;
	uint8_t m[MAC_LEN];
	for (unsigned i = 0; i < MAC_LEN; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < MAC_LEN - 1 && s[3 * i + 2] != ':' && s[3 * i + 2] != '-')
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, m, MAC_LEN);
	return 0;
}

char *mac_format(const uint8_t mac[MAC_LEN], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

void mac_random(uint8_t out[MAC_LEN])
{
	uint8_t r[3];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint32_t v = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 8;
		r[0] = (uint8_t)v;
		r[1] = (uint8_t)(v >> 8);
		r[2] = (uint8_t)(v >> 16);
	}
	out[0] = 0x52;
	out[1] = 0x54;
	out[2] = 0x00;
	memcpy(out + 3, r, sizeof(r));
}
