// SPDX-License-Identifier: MIT
/*
 * Split virtqueues and the virtio-pci transport, driven as a guest driver
 * would (tests/unit/virtio_test_driver.h) against a small echo device:
 * chains (direct, indirect), interrupts (INTx + ISR, MSI-X), EVENT_IDX and
 * NO_INTERRUPT, feature negotiation, reset, configuration generation, the
 * ioeventfd + worker path, the PCI_CFG window, and hostile rings, each of
 * which must leave the device in DEVICE_NEEDS_RESET and usable after reset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio_test_driver.h"

#define SLOT 3
#define QS 16
#define ALLF (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | \
	      VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | 1)

/* Echo device: records each chain and writes 0xAB over its writable part. */
struct echo {
	struct virtio_dev *dev;
	struct vq_chain c;
	unsigned chains, resets;
	unsigned nread, nwrite;
	uint64_t read_len, write_len;
	uint8_t first[64];
	uint8_t cfg[8];
};

static void echo_notify(void *o, unsigned q)
{
	struct echo *e = o;
	struct virtqueue *vq = virtio_queue(e->dev, q);
	while (vq_pop(vq, &e->c) > 0) {
		e->chains++;
		e->nread = e->c.nread;
		e->nwrite = e->c.nwrite;
		e->read_len = e->c.read_len;
		e->write_len = e->c.write_len;
		memset(e->first, 0, sizeof(e->first));
		vq_chain_read(&e->c, 0, e->first, sizeof(e->first));
		for (uint64_t i = 0; i < e->c.write_len; i++)
			vq_chain_write(&e->c, i, "\xab", 1);
		vq_push(vq, &e->c, (uint32_t)e->c.write_len);
	}
	vq_signal(vq);
}

static void echo_reset(void *o)
{
	((struct echo *)o)->resets++;
}

static void echo_cfg_read(void *o, uint32_t off, void *buf, unsigned len)
{
	memcpy(buf, ((struct echo *)o)->cfg + off, len);
}

static const struct virtio_dev_ops echo_ops = {
	.queue_notify = echo_notify, .reset = echo_reset, .config_read = echo_cfg_read,
};

struct fx {
	struct vd d;
	struct echo e;
};

static int make(struct fx *f, enum virtio_run run, bool ioev)
{
	memset(f, 0, sizeof(*f));
	if (vd_init(&f->d, ioev) < 0 || vq_chain_init(&f->e.c, QS) < 0)
		return -1;
	memcpy(f->e.cfg, "ECHOCFG!", 8);
	struct virtio_dev_params p = {
		.name = "echo", .device_id = 42, .features = 1, .num_queues = 2, .queue_size = QS,
		.config_size = 8, .run = run, .mem = &f->d.mem, .ops = &echo_ops, .opaque = &f->e,
	};
	return virtio_pci_new(f->d.host, &p, SLOT, &f->e.dev);
}

static void destroy(struct fx *f)
{
	virtio_pci_free(f->e.dev);
	vq_chain_free(&f->e.c);
	vd_fini(&f->d);
}

static int setup_inline(void **state)
{
	static struct fx f;
	if (make(&f, VIRTIO_RUN_INLINE, false) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	destroy(*state);
	return 0;
}

static void test_identity_and_caps(void **state)
{
	struct fx *f = *state;
	struct vd *d = &f->d;
	assert_int_equal(vd_cfg_read(d, SLOT, 0, 2), 0x1af4);
	assert_int_equal(vd_cfg_read(d, SLOT, 2, 2), 0x1040 + 42);
	assert_int_equal(vd_cfg_read(d, SLOT, 8, 1), 1);
	assert_int_equal(vd_cfg_read(d, SLOT, 0x2c, 2), 0x1af4);
	assert_true(vd_cfg_read(d, SLOT, 6, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(vd_cfg_read(d, SLOT, 0x3d, 1), PCI_INTA);
	/* Walk the capabilities as virtio_pci_modern does. */
	unsigned seen = 0, ptr = vd_cfg_read(d, SLOT, 0x34, 1), n = 0, mult = 0;
	bool msix = false;
	while (ptr && n++ < 48) {
		unsigned id = vd_cfg_read(d, SLOT, ptr, 1);
		if (id == PCI_CAP_ID_VNDR) {
			unsigned type = vd_cfg_read(d, SLOT, ptr + 3, 1);
			assert_int_equal(vd_cfg_read(d, SLOT, ptr + 4, 1), 0); /* BAR 0 */
			seen |= 1u << type;
			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
				mult = vd_cfg_read(d, SLOT, ptr + 16, 4);
			if (type == VIRTIO_PCI_CAP_COMMON_CFG)
				assert_int_equal(vd_cfg_read(d, SLOT, ptr + 8, 4), VIRTIO_PCI_COMMON_OFF);
		} else if (id == PCI_CAP_ID_MSIX) {
			msix = true;
			assert_int_equal((vd_cfg_read(d, SLOT, ptr + 2, 2) & 0x7ff) + 1, 3);
		}
		ptr = vd_cfg_read(d, SLOT, ptr + 1, 1);
	}
	assert_int_equal(seen, 0x3e);
	assert_int_equal(mult, VIRTIO_PCI_NOTIFY_MULT);
	assert_true(msix);
}

static void test_features(void **state)
{
	struct fx *f = *state;
	/* Without VERSION_1: FEATURES_OK does not stick. */
	assert_int_equal(vd_bringup(&f->d, SLOT, 1, 2, QS, false), 0);
	assert_false(virtio_has_feature(f->e.dev, 0));
	uint64_t got = vd_bringup(&f->d, SLOT, ALLF, 2, QS, false);
	assert_int_equal(got, ALLF);
	assert_int_equal(virtio_features(f->e.dev), ALLF);
	/* A bit never offered is refused. */
	vd_wr(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	vd_wr(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 3);
	vd_wr(&f->d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	vd_wr(&f->d, VIRTIO_PCI_COMMON_GF, 4, 1 | 0x80);
	vd_wr(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 3 | VIRTIO_STATUS_FEATURES_OK);
	assert_false(vd_status(&f->d) & VIRTIO_STATUS_FEATURES_OK);
	/* Reset clears features and queue state, and calls the device. */
	unsigned r0 = f->e.resets;
	vd_wr(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(f->e.resets, r0 + 1);
	assert_int_equal(vd_status(&f->d), 0);
	assert_int_equal(virtio_features(f->e.dev), 0);
	vd_wr(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(vd_rd(&f->d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(vd_rd(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), QS);
	assert_int_equal(vd_rd(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	vd_wr(&f->d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 7);
	assert_int_equal(vd_rd(&f->d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	/* Device configuration and its generation. */
	assert_int_equal(vd_rd(&f->d, VIRTIO_PCI_DEVCFG_OFF, 4), 0x4f484345); /* "ECHO" */
	uint8_t g = (uint8_t)vd_rd(&f->d, VIRTIO_PCI_COMMON_CFGGEN, 1);
	virtio_config_changed(f->e.dev);
	assert_int_not_equal(vd_rd(&f->d, VIRTIO_PCI_COMMON_CFGGEN, 1), g);
}

static void test_chains_and_intx(void **state)
{
	struct fx *f = *state;
	struct vd *d = &f->d;
	assert_int_equal(vd_bringup(d, SLOT, ALLF & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX), 2, QS, false),
			 ALLF & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	uint64_t out = vd_alloc(d, 32), in = vd_alloc(d, 100);
	memcpy(d->ram + out, "hello, device", 14);
	struct vd_seg s[3] = { { out, 6, false }, { out + 6, 8, false }, { in, 100, true } };
	unsigned gsi = pci_intx_gsi(SLOT, PCI_INTA);
	uint16_t head = vd_add(d, 0, s, 3);
	vd_kick(d, 0);
	assert_int_equal(f->e.chains, 1);
	assert_int_equal(f->e.nread, 2);
	assert_int_equal(f->e.nwrite, 1);
	assert_int_equal(f->e.read_len, 14);
	assert_string_equal((char *)f->e.first, "hello, device");
	uint32_t id, len;
	assert_true(vd_used(d, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 100);
	assert_int_equal(d->ram[in + 99], 0xab);
	/* INTx asserted until the ISR is read. */
	assert_int_equal(d->gsi_level[gsi], 1);
	assert_true(vd_cfg_read(d, SLOT, 6, 2) & PCI_STATUS_INTX);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
	assert_int_equal(d->gsi_level[gsi], 0);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_ISR_OFF, 1), 0);
	/* NO_INTERRUPT suppresses the interrupt but not the work. */
	vd_put(d, d->q[0].avail, VIRTQ_AVAIL_F_NO_INTERRUPT, 2);
	vd_add(d, 0, s, 3);
	vd_kick(d, 0);
	assert_int_equal(f->e.chains, 2);
	assert_int_equal(d->gsi_level[gsi], 0);
	assert_true(vd_used(d, 0, &id, &len));
	vd_put(d, d->q[0].avail, 0, 2);
	/* Indirect chain. */
	head = vd_add_indirect(d, 0, s, 3);
	vd_kick(d, 0);
	assert_int_equal(f->e.chains, 3);
	assert_int_equal(f->e.nread, 2);
	assert_int_equal(f->e.write_len, 100);
	assert_true(vd_used(d, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(d->gsi_level[gsi], 1);
	vd_rd(d, VIRTIO_PCI_ISR_OFF, 1);
	/* INTx disable in the command register masks the line. */
	uint16_t cmd = (uint16_t)vd_cfg_read(d, SLOT, 4, 2);
	vd_cfg_write(d, SLOT, 4, 2, cmd | PCI_CMD_INTX_DISABLE);
	vd_add(d, 0, s, 3);
	vd_kick(d, 0);
	assert_int_equal(d->gsi_level[gsi], 0);
	vd_cfg_write(d, SLOT, 4, 2, cmd);
	assert_int_equal(d->gsi_level[gsi], 1);
	vd_rd(d, VIRTIO_PCI_ISR_OFF, 1);
	assert_int_equal(vq_has_avail(virtio_queue(f->e.dev, 0)), false);
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;
	struct vd *d = &f->d;
	assert_int_equal(vd_bringup(d, SLOT, ALLF, 2, QS, false), ALLF);
	uint64_t in = vd_alloc(d, 8);
	struct vd_seg s = { in, 8, true };
	unsigned gsi = pci_intx_gsi(SLOT, PCI_INTA);
	uint64_t used_event = d->q[0].avail + 4 + 2 * QS, avail_event = d->q[0].used + 4 + 8 * QS;
	/* used_event = 2: interrupts only once the used index passes 2. */
	vd_put(d, used_event, 2, 2);
	uint32_t id, len;
	for (unsigned i = 0; i < 4; i++) {
		vd_add(d, 0, &s, 1);
		vd_kick(d, 0);
		assert_true(vd_used(d, 0, &id, &len));
		assert_int_equal(vd_get(d, avail_event, 2), i + 1); /* device wants the next kick */
		bool want = i == 2; /* used idx 2 -> 3 crosses used_event 2 */
		if (i == 0) /* the very first interrupt is always sent */
			want = true;
		assert_int_equal(d->gsi_level[gsi], want);
		vd_rd(d, VIRTIO_PCI_ISR_OFF, 1);
	}
	/* vq_notify_off: avail_event one behind the next entry (no kick for it);
	 * an empty vq_pop asks for the next kick again. */
	struct virtqueue *vq = virtio_queue(f->e.dev, 0);
	struct vq_chain c;
	assert_int_equal(vq_chain_init(&c, QS), 0);
	vq_lock(vq);
	vq_notify_off(vq);
	assert_int_equal(vd_get(d, avail_event, 2), 3);
	assert_int_equal(vq_pop(vq, &c), 0);
	assert_int_equal(vd_get(d, avail_event, 2), 4);
	assert_true(vq_trylock(vq) == false); /* held by us */
	vq_unlock(vq);
	assert_true(vq_trylock(vq));
	vq_unlock(vq);
	vq_chain_free(&c);
}

static void test_msix(void **state)
{
	struct fx *f = *state;
	struct vd *d = &f->d;
	unsigned cap = 0, ptr = vd_cfg_read(d, SLOT, 0x34, 1);
	while (ptr && !cap) {
		if (vd_cfg_read(d, SLOT, ptr, 1) == PCI_CAP_ID_MSIX)
			cap = ptr;
		ptr = vd_cfg_read(d, SLOT, ptr + 1, 1);
	}
	assert_true(cap);
	uint64_t want = ALLF & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	assert_int_equal(vd_bringup(d, SLOT, want, 2, QS, true), want);
	/* An INTx raised before MSI-X is enabled is dropped while MSI-X is on. */
	unsigned gsi = pci_intx_gsi(SLOT, PCI_INTA);
	uint64_t in0 = vd_alloc(d, 8);
	struct vd_seg s0 = { in0, 8, true };
	vd_add(d, 1, &s0, 1);
	vd_kick(d, 1);
	assert_int_equal(d->gsi_level[gsi], 1);
	vd_cfg_write(d, SLOT, cap + 2, 2, PCI_MSIX_ENABLE);
	assert_int_equal(d->gsi_level[gsi], 0);
	vd_cfg_write(d, SLOT, cap + 2, 2, 0);
	assert_int_equal(d->gsi_level[gsi], 1);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_ISR_OFF, 1), VIRTIO_ISR_QUEUE);
	vd_cfg_write(d, SLOT, cap + 2, 2, PCI_MSIX_ENABLE);
	/* Program vector 0 (queue 0), leave it masked. */
	uint64_t t = VIRTIO_PCI_MSIX_OFF;
	vd_wr(d, t, 4, 0xfee00000);
	vd_wr(d, t + 4, 4, 0);
	vd_wr(d, t + 8, 4, 0x4041);
	uint64_t in = vd_alloc(d, 8);
	struct vd_seg s = { in, 8, true };
	vd_add(d, 0, &s, 1);
	vd_kick(d, 0);
	assert_int_equal(d->msi_count, 0);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_PBA_OFF, 8), 1);
	vd_wr(d, t + 12, 4, 0); /* unmask: the pending message goes out */
	assert_int_equal(d->msi_count, 1);
	assert_int_equal(d->last_msi_addr, 0xfee00000);
	assert_int_equal(d->last_msi_data, 0x4041);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_PBA_OFF, 8), 0);
	/* Function mask holds it too; no INTx while MSI-X is on. */
	vd_cfg_write(d, SLOT, cap + 2, 2, PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	vd_add(d, 0, &s, 1);
	vd_kick(d, 0);
	assert_int_equal(d->msi_count, 1);
	assert_int_equal(d->gsi_level[pci_intx_gsi(SLOT, PCI_INTA)], 0);
	vd_cfg_write(d, SLOT, cap + 2, 2, PCI_MSIX_ENABLE);
	assert_int_equal(d->msi_count, 2);
	/* Config change goes to the config vector (2), which is masked: pending. */
	virtio_config_changed(f->e.dev);
	assert_true(pci_msix_pending(virtio_pci_dev(f->e.dev), 2));
	/* An out-of-range vector reads back as NO_VECTOR. */
	vd_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, 99);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	vd_cfg_write(d, SLOT, cap + 2, 2, 0);
}

static void test_pci_cfg_window(void **state)
{
	struct fx *f = *state;
	struct vd *d = &f->d;
	unsigned cap = 0, ptr = vd_cfg_read(d, SLOT, 0x34, 1);
	while (ptr) {
		if (vd_cfg_read(d, SLOT, ptr, 1) == PCI_CAP_ID_VNDR &&
		    vd_cfg_read(d, SLOT, ptr + 3, 1) == VIRTIO_PCI_CAP_PCI_CFG)
			cap = ptr;
		ptr = vd_cfg_read(d, SLOT, ptr + 1, 1);
	}
	assert_true(cap);
	vd_cfg_write(d, SLOT, cap + 4, 1, 0);
	vd_cfg_write(d, SLOT, cap + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
	vd_cfg_write(d, SLOT, cap + 12, 4, 2);
	assert_int_equal(vd_cfg_read(d, SLOT, cap + 16, 2), 2);
	vd_cfg_write(d, SLOT, cap + 8, 4, VIRTIO_PCI_COMMON_Q_SELECT);
	vd_cfg_write(d, SLOT, cap + 16, 4, 1);
	d->bar = pci_dev_bar_addr(virtio_pci_dev(f->e.dev), 0);
	assert_int_equal(vd_rd(d, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
}

/* ---- hostile rings ---- */

enum hostile {
	H_LOOP, H_OUTSIDE, H_OVERFLOW, H_JUMP, H_LONG_INDIRECT, H_MISALIGNED_INDIRECT,
	H_NESTED_INDIRECT, H_INDIRECT_NEXT, H_INDIRECT_LEN, H_HEAD_RANGE, H_NEXT_RANGE,
	H_READ_AFTER_WRITE, H_DUP_HEAD, H_BAD_RING, H_COUNT
};

static void make_hostile(struct vd *d, enum hostile h)
{
	uint64_t buf = vd_alloc(d, 64), tbl = vd_alloc(d, 16 * (QS + 2) + 8);
	uint64_t dt = d->q[0].desc;
	switch (h) {
	case H_LOOP:
		vd_desc(d, dt, 0, buf, 8, VIRTQ_DESC_F_NEXT, 1);
		vd_desc(d, dt, 1, buf, 8, VIRTQ_DESC_F_NEXT, 0);
		vd_publish(d, 0, 0);
		break;
	case H_OUTSIDE:
		vd_desc(d, dt, 0, VD_RAM_SIZE - 4, 8, 0, 0);
		vd_publish(d, 0, 0);
		break;
	case H_OVERFLOW:
		vd_desc(d, dt, 0, UINT64_MAX - 3, 8, 0, 0);
		vd_publish(d, 0, 0);
		break;
	case H_JUMP:
		vd_desc(d, dt, 0, buf, 8, 0, 0);
		d->q[0].avail_idx = QS + 1;
		vd_put(d, d->q[0].avail + 2, d->q[0].avail_idx, 2);
		break;
	case H_LONG_INDIRECT:
		for (unsigned i = 0; i < QS + 1; i++)
			vd_desc(d, tbl, i, buf, 8, i < QS ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
		vd_desc(d, dt, 0, tbl, 16 * (QS + 1), VIRTQ_DESC_F_INDIRECT, 0);
		vd_publish(d, 0, 0);
		break;
	case H_MISALIGNED_INDIRECT:
		vd_desc(d, tbl + 4, 0, buf, 8, 0, 0);
		vd_desc(d, dt, 0, tbl + 4, 16, VIRTQ_DESC_F_INDIRECT, 0);
		vd_publish(d, 0, 0);
		break;
	case H_NESTED_INDIRECT:
		vd_desc(d, tbl, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
		vd_desc(d, dt, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
		vd_publish(d, 0, 0);
		break;
	case H_INDIRECT_NEXT:
		vd_desc(d, tbl, 0, buf, 8, 0, 0);
		vd_desc(d, dt, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
		vd_desc(d, dt, 1, buf, 8, 0, 0);
		vd_publish(d, 0, 0);
		break;
	case H_INDIRECT_LEN:
		vd_desc(d, dt, 0, tbl, 24, VIRTQ_DESC_F_INDIRECT, 0);
		vd_publish(d, 0, 0);
		break;
	case H_HEAD_RANGE:
		vd_publish(d, 0, QS + 3);
		break;
	case H_NEXT_RANGE:
		vd_desc(d, dt, 0, buf, 8, VIRTQ_DESC_F_NEXT, QS);
		vd_publish(d, 0, 0);
		break;
	case H_READ_AFTER_WRITE:
		vd_desc(d, dt, 0, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
		vd_desc(d, dt, 1, buf, 8, 0, 0);
		vd_publish(d, 0, 0);
		break;
	case H_DUP_HEAD: /* the echo device completes at once, so use queue state: */
		vd_desc(d, dt, 0, buf, 8, 0, 0);
		vd_publish(d, 0, 0);
		vd_publish(d, 0, 0);
		break;
	case H_BAD_RING:
	case H_COUNT:
		break;
	}
}

/* A device that never completes, so heads stay in flight. */
static void hold_notify(void *o, unsigned q)
{
	struct echo *e = o;
	struct virtqueue *vq = virtio_queue(e->dev, q);
	while (vq_pop(vq, &e->c) > 0)
		e->chains++;
}

static void test_hostile(void **state)
{
	struct fx *f = *state;
	struct vd *d = &f->d;
	static struct virtio_dev_ops hold;
	hold = echo_ops;
	hold.queue_notify = hold_notify;
	for (int h = 0; h < H_COUNT; h++) {
		/* H_DUP_HEAD needs a device that keeps the first chain in flight. */
		struct fx g;
		struct fx *t = f;
		if (h == H_DUP_HEAD) {
			memset(&g, 0, sizeof(g));
			assert_int_equal(vd_init(&g.d, false), 0);
			assert_int_equal(vq_chain_init(&g.e.c, QS), 0);
			t = &g;
			struct virtio_dev_params p = {
				.name = "hold", .device_id = 42, .num_queues = 1, .queue_size = QS,
				.run = VIRTIO_RUN_INLINE, .mem = &g.d.mem, .ops = &hold, .opaque = &g.e,
			};
			assert_int_equal(virtio_pci_new(g.d.host, &p, SLOT + 1, &g.e.dev), 0);
			assert_int_equal(vd_bringup(&g.d, SLOT + 1, ALLF, 1, QS, false), ALLF & ~1ULL);
			d = &g.d;
		} else {
			d = &f->d;
			assert_int_equal(vd_bringup(d, SLOT, ALLF, 2, QS, false), ALLF);
		}
		unsigned gsi = pci_intx_gsi(h == H_DUP_HEAD ? SLOT + 1 : SLOT, PCI_INTA);
		vd_rd(d, VIRTIO_PCI_ISR_OFF, 1);
		if (h == H_BAD_RING) {
			/* Misaligned descriptor table: refused at queue enable. */
			vd_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
			assert_int_equal(vd_rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
			vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
			/* VERSION_1, so FEATURES_OK holds: queues are enabled after it. */
			vd_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
			vd_wr(d, VIRTIO_PCI_COMMON_GF, 4, 1);
			vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
			assert_true(vd_status(d) & VIRTIO_STATUS_FEATURES_OK);
			vd_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
			vd_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x10008);
			vd_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		} else {
			make_hostile(d, (enum hostile)h);
			vd_kick(d, 0);
		}
		uint8_t st = vd_status(d);
		assert_true(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		assert_int_equal(d->gsi_level[gsi], 1);
		assert_int_equal(vd_rd(d, VIRTIO_PCI_ISR_OFF, 1) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
		/* Further notifies are ignored; the driver's status writes keep the bit. */
		vd_kick(d, 0);
		vd_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, st & 0xf);
		assert_true(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		if (t != f)
			destroy(t);
	}
	/* After a reset, the device works again. */
	d = &f->d;
	assert_int_equal(vd_bringup(d, SLOT, ALLF, 2, QS, false), ALLF);
	assert_false(vd_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	uint64_t in = vd_alloc(d, 8);
	struct vd_seg s = { in, 8, true };
	unsigned before = f->e.chains;
	vd_add(d, 0, &s, 1);
	vd_kick(d, 0);
	assert_int_equal(f->e.chains, before + 1);
}

/* ioeventfd + worker thread: the "kernel" signals the eventfd, the worker serves it. */
static void test_worker_ioeventfd(void **state)
{
	struct fx f;
	assert_int_equal(make(&f, VIRTIO_RUN_WORKER, true), 0);
	struct vd *d = &f.d;
	unsigned n = 0;
	uint64_t bar = pci_dev_bar_addr(virtio_pci_dev(f.e.dev), 0);
	for (unsigned i = 0; i < 16; i++)
		if (d->ioev[i].on) {
			assert_int_equal(d->ioev[i].addr, bar + VIRTIO_PCI_NOTIFY_OFF + n * VIRTIO_PCI_NOTIFY_MULT);
			n++;
		}
	assert_int_equal(n, 2);
	assert_int_equal(vd_bringup(d, SLOT, ALLF, 2, QS, false), ALLF);
	uint64_t in = vd_alloc(d, 8);
	struct vd_seg s = { in, 8, true };
	vd_add(d, 0, &s, 1);
	uint64_t one = 1;
	assert_int_equal(write(d->ioev[0].fd, &one, 8), 8);
	uint32_t id, len;
	bool got = false;
	for (int i = 0; i < 2000 && !(got = vd_used(d, 0, &id, &len)); i++)
		usleep(1000);
	assert_true(got);
	/* The MMIO fallback path reaches the same worker. */
	vd_add(d, 0, &s, 1);
	vd_kick(d, 0);
	got = false;
	for (int i = 0; i < 2000 && !(got = vd_used(d, 0, &id, &len)); i++)
		usleep(1000);
	assert_true(got);
	/* Moving the BAR moves the ioeventfds. */
	vd_cfg_write(d, SLOT, 0x10, 4, 0xd0000000u);
	n = 0;
	for (unsigned i = 0; i < 16; i++)
		if (d->ioev[i].on) {
			assert_true(d->ioev[i].addr >= 0xd0000000u + VIRTIO_PCI_NOTIFY_OFF);
			n++;
		}
	assert_int_equal(n, 2);
	destroy(&f);
	for (unsigned i = 0; i < 16; i++)
		assert_false(d->ioev[i].on);
}

static void test_chain_helpers(void **state)
{
	struct vq_chain c;
	assert_int_equal(vq_chain_init(&c, 4), 0);
	uint8_t a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 }, w[6] = { 0 }, out[8];
	c.iov[0] = (struct iovec){ a, 4 };
	c.iov[1] = (struct iovec){ b, 4 };
	c.iov[2] = (struct iovec){ w, 6 };
	c.nread = 2;
	c.nwrite = 1;
	assert_int_equal(vq_chain_read(&c, 2, out, 8), 6);
	assert_memory_equal(out, "\3\4\5\6\7\10", 6);
	assert_int_equal(vq_chain_write(&c, 4, "xyz", 3), 2);
	assert_memory_equal(w + 4, "xy", 2);
	vq_chain_free(&c);
	vq_chain_free(NULL);
	/* gmem over a buffer: bounds. */
	uint8_t ram[64];
	struct gmem m;
	struct gmem_buf gb;
	gmem_buf_init(&m, &gb, ram, 0x1000, sizeof(ram));
	assert_non_null(gmem_ptr(&m, 0x1000, 64));
	assert_null(gmem_ptr(&m, 0x1000, 65));
	assert_null(gmem_ptr(&m, 0xfff, 2));
	assert_null(gmem_ptr(&m, UINT64_MAX, 2));
	assert_int_equal(gmem_write(&m, 0x1030, "ok", 2), 0);
	assert_int_equal(gmem_read(&m, 0x1030, out, 2), 0);
	assert_int_equal(gmem_read(&m, 0x103f, out, 2), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup_inline, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup_inline, teardown),
		cmocka_unit_test_setup_teardown(test_chains_and_intx, setup_inline, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup_inline, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup_inline, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup_inline, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup_inline, teardown),
		cmocka_unit_test(test_worker_ioeventfd),
		cmocka_unit_test(test_chain_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
