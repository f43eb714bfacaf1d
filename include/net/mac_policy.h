/* SPDX-License-Identifier: MIT */
/*
 * The MAC spoofing rule of virtio-net (issue C; Hyper-V's
 * -MacAddressSpoofing). Pure functions over an Ethernet frame (destination
 * MAC at bytes 0..5, source MAC at 6..11), no vnet header.
 *
 * With spoofing off (the default of every NIC):
 *   transmit: only frames whose source MAC is the NIC's own pass;
 *   receive:  only frames for the NIC's own MAC, broadcast or multicast
 *             (group bit set in the first destination byte) pass.
 * A frame shorter than an Ethernet header (14 bytes) never passes.
 * With spoofing on, every frame passes both ways.
 */
#ifndef NV_MAC_POLICY_H
#define NV_MAC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAC_LEN     6
#define ETH_HDR_LEN 14

bool mac_tx_allowed(const uint8_t own[MAC_LEN], const uint8_t *frame, size_t len, bool spoofing);
bool mac_rx_allowed(const uint8_t own[MAC_LEN], const uint8_t *frame, size_t len, bool spoofing);

/* Group (multicast, broadcast included) address: bit 0 of the first byte. */
bool mac_is_multicast(const uint8_t mac[MAC_LEN]);
/* Parses "52:54:00:12:34:56" (or '-' separators). 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t out[MAC_LEN]);
/* A random locally administered unicast MAC, 52:54:00:xx:xx:xx (getrandom;
 * falls back to the clock and pid if that fails). */
void mac_random(uint8_t out[MAC_LEN]);
/* "52:54:00:12:34:56" into buf (at least 18 bytes). Returns buf. */
char *mac_format(const uint8_t mac[MAC_LEN], char *buf);

#endif
