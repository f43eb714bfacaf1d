// SPDX-License-Identifier: MIT
/*
 * Fuzz target: split virtqueues and the virtio-pci transport.
 *
 * data[0] bit 0 clear -- ring mode: the guest RAM (64 KiB at guest address
 *   0) and the ring state come from the input:
 *     [1] flags: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 descriptor
 *         table beyond RAM
 *     [2..3] queue size, [4..5] desc, [6..7] avail, [8..9] used (le16 offsets)
 *     [10..]  the RAM image
 *   The device pops every chain (checking each segment lies in RAM and the
 *   chain fits the queue), writes into it, pushes it, and signals.
 * data[0] bit 0 set -- transport mode: an echo device behind the PCI host;
 *   the rest is a list of 12-byte operations {kind, off (le16), size, value
 *   (le64)}: kind % 5 = BAR read, BAR write, config read, config write,
 *   notify; the RAM holds the rings the operations point the device at.
 * Any crash, hang, sanitizer report or failed CHECK is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VD_RAM_SIZE (2u << 20) /* rings at 64 KiB, data at 1 MiB */
#include "../unit/virtio_test_driver.h"
#include "virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t g_ram[VD_RAM_SIZE];

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define RAM 65536u
#define MAXQ 256u

static unsigned g_errors;

static void on_error(void *opaque, struct virtqueue *vq, const char *why)
{
	CHECK(why && *why);
	g_errors++;
}

static void on_signal(void *opaque, struct virtqueue *vq) {}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void ring_mode(const uint8_t *data, size_t size)
{
	if (size < 10)
		return;
	static uint8_t ram[RAM];
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 10, size - 10 < RAM ? size - 10 : RAM);
	struct gmem m;
	struct gmem_buf gb;
	gmem_buf_init(&m, &gb, ram, 0, RAM);
	struct virtqueue vq;
	struct vq_chain c;
	if (vq_init(&vq, 0, MAXQ, &m) < 0)
		return;
	if (vq_chain_init(&c, MAXQ) < 0) {
		vq_destroy(&vq);
		return;
	}
	g_errors = 0;
	vq.on_error = on_error;
	vq.on_signal = on_signal;
	vq.event_idx = data[1] & 1;
	vq.indirect = data[1] & 2;
	vq.size = le16(data + 2) % (MAXQ + 2);
	vq.desc_gpa = le16(data + 4) + ((data[1] & 4) ? RAM : 0);
	vq.avail_gpa = le16(data + 6);
	vq.used_gpa = le16(data + 8);
	vq_lock(&vq);
	if (vq_start(&vq) == 0) {
		CHECK(vq.size >= 1 && vq.size <= MAXQ);
		for (unsigned i = 0; i < 4 * MAXQ; i++) {
			int r = vq_pop(&vq, &c);
			if (r <= 0) {
				CHECK(r == 0 || (r == -EIO && vq.broken && g_errors == 1));
				break;
			}
			CHECK(c.nread + c.nwrite <= vq.size);
			uint64_t rl = 0, wl = 0;
			for (unsigned k = 0; k < c.nread + c.nwrite; k++) {
				uint8_t *p = c.iov[k].iov_base;
				CHECK(!c.iov[k].iov_len || (p >= ram && p + c.iov[k].iov_len <= ram + RAM));
				CHECK(!c.iov[k].iov_len || c.gpa[k] == (uint64_t)(p - ram));
				*(k < c.nread ? &rl : &wl) += c.iov[k].iov_len;
			}
			CHECK(rl == c.read_len && wl == c.write_len);
			uint8_t hdr[16];
			vq_chain_read(&c, 0, hdr, sizeof(hdr));
			size_t w = vq_chain_write(&c, 0, "fuzz-written-data", 17);
			CHECK(vq_push(&vq, &c, (uint32_t)w) == 0);
			if (i % 3 == 0)
				vq_signal(&vq);
		}
		vq_signal(&vq);
		CHECK(vq.ninflight == 0);
	}
	vq_unlock(&vq);
	vq_chain_free(&c);
	vq_destroy(&vq);
}

/* Echo device for transport mode. */
struct echo {
	struct virtio_dev *dev;
	struct vq_chain c;
};

static void echo_notify(void *o, unsigned q)
{
	struct echo *e = o;
	struct virtqueue *vq = virtio_queue(e->dev, q);
	int r;
	for (unsigned n = 0; n < 4 * 64 && (r = vq_pop(vq, &e->c)) > 0; n++)
		vq_push(vq, &e->c, (uint32_t)vq_chain_write(&e->c, 0, "echo", 4));
	vq_signal(vq);
}

static void echo_cfg(void *o, uint32_t off, void *buf, unsigned len)
{
	memset(buf, 0x11, len);
}

static const struct virtio_dev_ops echo_ops = {
	.queue_notify = echo_notify, .config_read = echo_cfg,
};

static void transport_mode(const uint8_t *data, size_t size)
{
	static struct vd d;
	struct echo e = { 0 };
	if (vd_init_ram(&d, false, g_ram) < 0 || vq_chain_init(&e.c, 64) < 0)
		goto out;
	struct virtio_dev_params p = {
		.name = "fuzz-echo", .device_id = 42, .num_queues = 2, .queue_size = 64,
		.config_size = 16, .run = VIRTIO_RUN_INLINE, .mem = &d.mem, .ops = &echo_ops, .opaque = &e,
	};
	if (virtio_pci_new(d.host, &p, 1, &e.dev) < 0)
		goto out;
	/* A sane start, then the fuzzer's operations. */
	vd_bringup(&d, 1, ~0ULL, 2, 64, true);
	size_t nops = (size - 1) / 12;
	if (nops > 256)
		nops = 256;
	const uint8_t *op = data + 1;
	for (size_t i = 0; i < nops; i++, op += 12) {
		unsigned off = le16(op + 1), sz = 1u << (op[3] % 4);
		uint64_t v = 0;
		for (unsigned k = 0; k < 8; k++)
			v |= (uint64_t)op[4 + k] << (8 * k);
		switch (op[0] % 6) {
		case 0: vd_rd(&d, off % VIRTIO_PCI_BAR_SIZE, sz); break;
		case 1: vd_wr(&d, off % VIRTIO_PCI_BAR_SIZE, sz, v); break;
		case 2: vd_cfg_read(&d, 1, off & 0xff, sz > 4 ? 4 : sz); break;
		case 3:
			/* Keep BAR 0 where it is, so the fuzzer spends its time on virtio. */
			if ((off & 0xff) >= 0x10 && (off & 0xff) < 0x18)
				break;
			vd_cfg_write(&d, 1, off & 0xff, sz > 4 ? 4 : sz, (uint32_t)v);
			break;
		case 4: vd_kick(&d, op[1] & 1); break;
		case 5: /* guest RAM write into the ring area */
			vd_put(&d, VD_RING_BASE + (off % 0x20000u), v, sz);
			break;
		}
	}
out:
	virtio_pci_free(e.dev);
	vq_chain_free(&e.c);
	if (d.ram)
		vd_fini(&d);
	memset(&d, 0, sizeof(d));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		transport_mode(data, size);
	else
		ring_mode(data, size);
	return 0;
}
