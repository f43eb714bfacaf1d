// SPDX-License-Identifier: MIT
/*
 * Fuzz target: virtio-net behind the PCI transport, over an in-memory
 * backend, with fuzzer-chosen rings, guest memory and backend frames.
 *   [0]      flags: bit 0 MRG_RXBUF, bit 1 offloads (CSUM, TSO4/6, ECN, both
 *            ways), bit 2 no EVENT_IDX, bit 3 no INDIRECT_DESC, bit 4 MAC
 *            spoofing, bit 5 a second round (indices + 1, kicks again),
 *            bit 6 a device reset + bring-up between the rounds
 *   [1..2]   receive queue avail index (le16)
 *   [3..4]   transmit queue avail index (le16)
 *   [5]      backend frames waiting (low 3 bits), [6..13] their lengths / 8
 *   [14..]   receive descriptor table (16 x 16), receive avail entries
 *            (16 x 2), the same for transmit, 64 bytes that the backend's
 *            frames repeat, then the data area at guest 0x100000 (64 KiB
 *            at most).
 * Checks: no crash, hang or sanitizer report; counters stay consistent.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#define VD_RAM_SIZE (2u << 20)
#include "../unit/virtio_test_driver.h"
#include "virtio_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define QS 16u
#define HDR 14u
#define MAXF 8u

static uint8_t g_ram[VD_RAM_SIZE];

struct mem_backend {
	const uint8_t *bytes;      /* frame contents are cycled from here */
	size_t nbytes;
	size_t len[MAXF];
	unsigned n, next;
	uint64_t sent, sent_bytes;
};

static ssize_t mb_recv(void *o, void *buf, size_t len)
{
	struct mem_backend *m = o;
	if (m->next >= m->n)
		return -EAGAIN;
	size_t fl = m->len[m->next++], k = fl < len ? fl : len;
	for (size_t i = 0; i < k; i++)
		((uint8_t *)buf)[i] = m->nbytes ? m->bytes[i % m->nbytes] : (uint8_t)i;
	return (ssize_t)k;
}

static ssize_t mb_sendv(void *o, const struct iovec *iov, int n)
{
	struct mem_backend *m = o;
	size_t t = 0;
	volatile uint8_t sink = 0;
	for (int i = 0; i < n; i++) {
		for (size_t j = 0; j < iov[i].iov_len; j++)
			sink ^= ((const uint8_t *)iov[i].iov_base)[j]; /* touch every byte */
		t += iov[i].iov_len;
	}
	(void)sink;
	m->sent++;
	m->sent_bytes += t;
	return (ssize_t)t;
}

static int mb_offload(void *o, unsigned off)
{
	return 0;
}

static const struct net_backend_ops mb_ops = { .recv = mb_recv, .sendv = mb_sendv,
					       .set_offload = mb_offload };

static void lay(struct vd *d, unsigned q, const uint8_t **p, size_t *left)
{
	size_t k = *left < QS * 16 ? *left : QS * 16;
	memcpy(d->ram + d->q[q].desc, *p, k);
	*p += k;
	*left -= k;
	k = *left < QS * 2 ? *left : QS * 2;
	memcpy(d->ram + d->q[q].avail + 4, *p, k);
	*p += k;
	*left -= k;
}

static void publish(struct vd *d, unsigned q, uint16_t idx)
{
	vd_put(d, d->q[q].avail + 2, idx, 2);
	vd_kick(d, q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	static struct vd d;
	struct virtio_net *n = NULL;
	struct mem_backend mb;
	memset(&mb, 0, sizeof(mb));
	uint8_t fl = data[0];
	mb.n = data[5] & 7;
	for (unsigned i = 0; i < MAXF; i++)
		mb.len[i] = (size_t)data[6 + i] * 8;
	if (vd_init_ram(&d, false, g_ram) < 0)
		goto out;
	struct virtio_net_conf c = {
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .mac_spoofing = fl & 16,
		.backend = { .ops = &mb_ops, .opaque = &mb,
			     .offloads = (fl & 2) ? NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 |
						    NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN : 0 },
		.queue_size = QS, .run = VIRTIO_RUN_INLINE, .mem = &d.mem,
	};
	if (virtio_net_new(d.host, &c, 1, &n) < 0)
		goto out;
	uint64_t want = ~0ULL;
	if (!(fl & 1))
		want &= ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (fl & 4)
		want &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (fl & 8)
		want &= ~VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	CHECK(vd_bringup(&d, 1, want, 2, QS, false) != 0);
	const uint8_t *p = data + HDR;
	size_t left = size - HDR;
	lay(&d, VIRTIO_NET_RXQ, &p, &left);
	lay(&d, VIRTIO_NET_TXQ, &p, &left);
	mb.bytes = p;
	mb.nbytes = left < 64 ? left : 64;
	p += mb.nbytes;
	left -= mb.nbytes;
	memcpy(d.ram + VD_DATA_BASE, p, left < 65536 ? left : 65536);
	uint16_t rx_idx = (uint16_t)(data[1] | data[2] << 8), tx_idx = (uint16_t)(data[3] | data[4] << 8);
	publish(&d, VIRTIO_NET_TXQ, tx_idx);
	publish(&d, VIRTIO_NET_RXQ, rx_idx);
	virtio_net_rx_poll(n);
	if (fl & 64) {
		vd_wr(&d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
		uint8_t save[2][QS * 18];
		for (unsigned q = 0; q < 2; q++) {
			memcpy(save[q], d.ram + d.q[q].desc, QS * 16);
			memcpy(save[q] + QS * 16, d.ram + d.q[q].avail + 4, QS * 2);
		}
		CHECK(vd_bringup(&d, 1, want, 2, QS, false) != 0);
		for (unsigned q = 0; q < 2; q++) {
			memcpy(d.ram + d.q[q].desc, save[q], QS * 16);
			memcpy(d.ram + d.q[q].avail + 4, save[q] + QS * 16, QS * 2);
		}
	}
	if (fl & 32) {
		publish(&d, VIRTIO_NET_TXQ, (uint16_t)(tx_idx + 1));
		publish(&d, VIRTIO_NET_RXQ, (uint16_t)(rx_idx + 1));
		virtio_net_rx_poll(n);
	}
	struct virtio_net_queue_stats rs, ts;
	CHECK(virtio_net_get_stats(n, VIRTIO_NET_RXQ, &rs) == 0);
	CHECK(virtio_net_get_stats(n, VIRTIO_NET_TXQ, &ts) == 0);
	CHECK(rs.packets + rs.dropped <= mb.next);
	CHECK(ts.packets <= mb.sent);
	CHECK(rs.bytes <= rs.packets * 65536);
	CHECK(!(fl & 16) || (rs.dropped == 0 && ts.dropped == 0));
out:
	virtio_net_free(n);
	if (d.ram)
		vd_fini(&d);
	memset(&d, 0, sizeof(d));
	return 0;
}
