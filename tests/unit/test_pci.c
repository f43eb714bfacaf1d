// SPDX-License-Identifier: MIT
/* PCI: configuration mechanism #1, BAR sizing and relocation, capabilities, MSI-X, INTx, tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aml.h"
#include "mptable.h"
#include "virtio_test_driver.h"

struct fake {
	struct pci_dev *pci;
	unsigned accesses;
	unsigned last_bar;
	uint64_t last_off;
	uint32_t last_val;
	unsigned maps, unmaps;
	uint64_t last_map;
};

static void fake_bar_io(void *o, unsigned bar, uint64_t off, uint8_t *data, unsigned size, bool w)
{
	struct fake *f = o;
	f->accesses++;
	f->last_bar = bar;
	f->last_off = off;
	if (w) {
		f->last_val = 0;
		for (unsigned i = 0; i < size && i < 4; i++)
			f->last_val |= (uint32_t)data[i] << (8 * i);
	} else {
		memset(data, 0x5a, size);
	}
}

static void fake_bar_map(void *o, unsigned bar, uint64_t addr)
{
	struct fake *f = o;
	if (addr == PCI_BAR_UNMAPPED)
		f->unmaps++;
	else
		f->maps++;
	f->last_map = addr;
}

static const struct pci_dev_ops fake_ops = { .bar_io = fake_bar_io, .bar_map = fake_bar_map };

static struct pci_dev *new_fake(struct fake *f, uint8_t pin)
{
	memset(f, 0, sizeof(*f));
	struct pci_dev_info info = { .vendor = 0x1234, .device = 0x5678, .class_code = 0x020000,
				     .irq_pin = pin, .name = "fake", .ops = &fake_ops, .opaque = f };
	assert_int_equal(pci_dev_new(&info, &f->pci), 0);
	return f->pci;
}

static void test_config_mechanism(void **state)
{
	struct vd d;
	assert_int_equal(vd_init(&d, false), 0);
	/* Host bridge at 00:00.0. */
	assert_int_equal(vd_cfg_read(&d, 0, 0, 4), 0x0d578086);
	assert_int_equal(vd_cfg_read(&d, 0, 0x0a, 2), 0x0600);
	assert_int_equal(vd_cfg_read(&d, 0, 0x0b, 1), 0x06);
	/* Empty slot, other functions, other buses: all ones. */
	assert_int_equal(vd_cfg_read(&d, 5, 0, 4), 0xffffffffu);
	assert_int_equal(vd_cfg_read(&d, 5, 0, 2), 0xffff);
	assert_int_equal(pci_host_cfg_read(d.host, 1 << 8, 0, 4), 0xffffffffu);
	assert_int_equal(pci_host_cfg_read(d.host, 1, 0, 4), 0xffffffffu);
	/* The address register reads back (Linux's type-1 probe); byte access to 0xCFB is ignored. */
	uint8_t v[4] = { 0, 0, 0, 0x80 }, r[4];
	bus_access(&d.pio, 0xCF8, v, 4, true);
	bus_access(&d.pio, 0xCF8, r, 4, false);
	assert_memory_equal(v, r, 4);
	uint8_t one = 1;
	bus_access(&d.pio, 0xCFB, &one, 1, true);
	bus_access(&d.pio, 0xCF8, r, 4, false);
	assert_memory_equal(v, r, 4);
	/* Enable bit clear: data port reads all ones. */
	memset(v, 0, 4);
	bus_access(&d.pio, 0xCF8, v, 4, true);
	bus_access(&d.pio, 0xCFC, r, 4, false);
	assert_int_equal(r[0] & r[1] & r[2] & r[3], 0xff);
	/* Read-only fields stay; writable ones take. */
	vd_cfg_write(&d, 0, 0, 4, 0);
	assert_int_equal(vd_cfg_read(&d, 0, 0, 2), 0x8086);
	vd_cfg_write(&d, 0, 0x3c, 1, 0x42);
	assert_int_equal(vd_cfg_read(&d, 0, 0x3c, 1), 0x42);
	vd_fini(&d);
}

static void test_bars(void **state)
{
	struct vd d;
	struct fake f;
	assert_int_equal(vd_init(&d, false), 0);
	struct pci_dev *p = new_fake(&f, PCI_INTA);
	assert_int_equal(pci_dev_add_bar(p, 0, 0x1000, PCI_BAR_MEM32), 0);
	assert_int_equal(pci_dev_add_bar(p, 2, 0x4000, PCI_BAR_MEM64 | PCI_BAR_PREFETCH), 0);
	assert_int_equal(pci_dev_add_bar(p, 4, 0x20, PCI_BAR_IO), 0);
	assert_int_equal(pci_dev_add_bar(p, 3, 0x1000, PCI_BAR_MEM32), -EEXIST);
	assert_int_equal(pci_dev_add_bar(p, 5, 0x1000, PCI_BAR_MEM64), -EINVAL);
	assert_int_equal(pci_dev_add_bar(p, 1, 0x1800, PCI_BAR_MEM32), -EINVAL);
	assert_int_equal(pci_host_add(d.host, p, 4), 0);
	assert_int_equal(pci_host_add(d.host, p, 5), -EINVAL);
	assert_int_equal(pci_dev_slot(p), 4);
	assert_int_equal(f.maps, 3);
	/* Allocated naturally aligned inside the window, decoding enabled. */
	uint64_t b0 = pci_dev_bar_addr(p, 0), b2 = pci_dev_bar_addr(p, 2), b4 = pci_dev_bar_addr(p, 4);
	assert_true(b0 >= VD_MMIO_BASE && b0 % 0x1000 == 0);
	assert_true(b2 >= VD_MMIO_BASE && b2 % 0x4000 == 0);
	assert_true(b4 >= 0xc000 && b4 % 0x20 == 0);
	assert_int_equal(vd_cfg_read(&d, 4, 0x10, 4), b0);
	assert_int_equal(vd_cfg_read(&d, 4, 0x18, 4) & ~15u, (uint32_t)b2);
	assert_int_equal(vd_cfg_read(&d, 4, 0x18, 4) & 15u, 0xc); /* 64-bit, prefetchable */
	assert_int_equal(vd_cfg_read(&d, 4, 0x20, 4), b4 | 1);
	/* Accesses reach the device with BAR-relative offsets. */
	uint8_t buf[4] = { 1, 2, 3, 4 };
	assert_true(bus_access(&d.mmio, b2 + 0x10, buf, 4, true));
	assert_int_equal(f.last_bar, 2);
	assert_int_equal(f.last_off, 0x10);
	assert_int_equal(f.last_val, 0x04030201);
	assert_true(bus_access(&d.pio, b4 + 3, buf, 1, false));
	assert_int_equal(buf[0], 0x5a);
	/* Sizing: decode off, write all ones, read the size mask, restore. */
	uint32_t cmd = vd_cfg_read(&d, 4, 4, 2);
	vd_cfg_write(&d, 4, 4, 2, 0);
	assert_int_equal(f.unmaps, 3);
	assert_false(bus_access(&d.mmio, b0, buf, 4, false));
	vd_cfg_write(&d, 4, 0x10, 4, 0xffffffff);
	assert_int_equal(vd_cfg_read(&d, 4, 0x10, 4), 0xfffff000u);
	vd_cfg_write(&d, 4, 0x18, 4, 0xffffffff);
	vd_cfg_write(&d, 4, 0x1c, 4, 0xffffffff);
	assert_int_equal(vd_cfg_read(&d, 4, 0x18, 4), 0xffffc00cu);
	assert_int_equal(vd_cfg_read(&d, 4, 0x1c, 4), 0xffffffffu);
	vd_cfg_write(&d, 4, 0x20, 4, 0xffffffff);
	assert_int_equal(vd_cfg_read(&d, 4, 0x20, 4), 0xffffffe1u);
	vd_cfg_write(&d, 4, 0x30, 4, 0xffffffff); /* no expansion ROM */
	assert_int_equal(vd_cfg_read(&d, 4, 0x30, 4), 0);
	/* Relocate BAR 0 and BAR 2 (the latter above 4 GiB), re-enable. */
	vd_cfg_write(&d, 4, 0x10, 4, 0xd0001000u);
	vd_cfg_write(&d, 4, 0x18, 4, 0x00004000u);
	vd_cfg_write(&d, 4, 0x1c, 4, 0x1);
	vd_cfg_write(&d, 4, 0x20, 4, (uint32_t)b4);
	vd_cfg_write(&d, 4, 4, 2, cmd);
	assert_int_equal(pci_dev_bar_addr(p, 0), 0xd0001000u);
	assert_int_equal(pci_dev_bar_addr(p, 2), 0x100004000ULL);
	assert_int_equal(f.last_map != PCI_BAR_UNMAPPED, true);
	assert_false(bus_access(&d.mmio, b0, buf, 4, false));
	assert_true(bus_access(&d.mmio, 0xd0001000u + 8, buf, 4, false));
	assert_int_equal(f.last_off, 8);
	assert_true(bus_access(&d.mmio, 0x100004000ULL + 0x3ffc, buf, 4, false));
	/* Memory decode alone toggles the memory BARs only. */
	vd_cfg_write(&d, 4, 4, 2, cmd & ~PCI_CMD_MEMORY);
	assert_false(bus_access(&d.mmio, 0xd0001000u, buf, 4, false));
	assert_true(bus_access(&d.pio, b4, buf, 1, false));
	vd_cfg_write(&d, 4, 4, 2, cmd);
	/* A BAR moved onto another one is left undecoded rather than overlapping. */
	vd_cfg_write(&d, 4, 0x18, 4, 0xd0000000u);
	vd_cfg_write(&d, 4, 0x1c, 4, 0);
	assert_int_equal(pci_dev_bar_addr(p, 2), PCI_BAR_UNMAPPED);
	/* Status error bits are write-1-to-clear, command has no stray bits. */
	vd_cfg_write(&d, 4, 4, 2, 0xffff);
	assert_int_equal(vd_cfg_read(&d, 4, 4, 2), 0x0547);
	pci_dev_free(p);
	assert_false(bus_access(&d.mmio, 0xd0001000u, buf, 4, false));
	assert_int_equal(vd_cfg_read(&d, 4, 0, 4), 0xffffffffu);
	vd_fini(&d);
}

static void test_caps_and_msix(void **state)
{
	struct vd d;
	struct fake f;
	assert_int_equal(vd_init(&d, false), 0);
	struct pci_dev *p = new_fake(&f, 0);
	assert_int_equal(pci_dev_add_bar(p, 1, 0x2000, PCI_BAR_MEM32), 0);
	uint8_t body[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff }, wm[6] = { 0, 0xff };
	assert_int_equal(pci_dev_add_cap(p, 0x09, body, 6, wm), 0x40);
	assert_int_equal(pci_dev_add_msix(p, 70, 1, 0x0, 0x1000), 0x48);
	assert_int_equal(pci_dev_add_msix(p, 4, 1, 0x0, 0x1000), -EINVAL);
	assert_int_equal(pci_host_add(d.host, p, -1), 0);
	unsigned s = pci_dev_slot(p);
	assert_int_equal(s, 1);
	/* Walk. */
	assert_int_equal(vd_cfg_read(&d, s, 0x34, 1), 0x40);
	assert_int_equal(vd_cfg_read(&d, s, 0x40, 1), 0x09);
	assert_int_equal(vd_cfg_read(&d, s, 0x41, 1), 0x48);
	assert_int_equal(vd_cfg_read(&d, s, 0x48, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(vd_cfg_read(&d, s, 0x49, 1), 0);
	assert_int_equal(vd_cfg_read(&d, s, 0x4a, 2), 69);
	assert_int_equal(vd_cfg_read(&d, s, 0x4c, 4), 0x0 | 1);
	assert_int_equal(vd_cfg_read(&d, s, 0x50, 4), 0x1000 | 1);
	/* Capability write mask. */
	vd_cfg_write(&d, s, 0x42, 2, 0x1234);
	assert_int_equal(vd_cfg_read(&d, s, 0x42, 2), 0x12aa);
	/* INTx is held low while MSI-X is enabled. */
	vd_cfg_write(&d, s, 0x3d, 1, 0); /* read-only pin: stays 0 here (no INTx on this one) */
	assert_int_equal(vd_cfg_read(&d, s, 0x3d, 1), 0);
	/* MSI-X: disabled -> notify refused. */
	uint64_t bar = pci_dev_bar_addr(p, 1);
	assert_int_equal(pci_msix_notify(p, 0), -EINVAL);
	assert_false(pci_msix_enabled(p));
	vd_cfg_write(&d, s, 0x4a, 2, PCI_MSIX_ENABLE | 0x7ff);
	assert_int_equal(vd_cfg_read(&d, s, 0x4a, 2), PCI_MSIX_ENABLE | 69); /* size is read-only */
	assert_true(pci_msix_enabled(p));
	/* Vector 65: address/data, masked by default -> pending in the PBA's second qword. */
	uint8_t e[16] = { 0 };
	e[0] = 0x00; e[1] = 0x10; e[2] = 0xe0; e[3] = 0xfe; e[8] = 0x31; e[12] = 1;
	assert_true(bus_access(&d.mmio, bar + 65 * 16, e, 8, true));
	assert_true(bus_access(&d.mmio, bar + 65 * 16 + 8, e + 8, 8, true));
	uint8_t rd[16];
	bus_access(&d.mmio, bar + 65 * 16, rd, 8, false);
	assert_memory_equal(rd, e, 8);
	bus_access(&d.mmio, bar + 65 * 16 + 12, rd, 4, false);
	assert_int_equal(rd[0], 1);
	assert_int_equal(pci_msix_notify(p, 65), 0);
	assert_int_equal(pci_msix_notify(p, 70), -EINVAL);
	assert_int_equal(d.msi_count, 0);
	assert_true(pci_msix_pending(p, 65));
	bus_access(&d.mmio, bar + 0x1000 + 8, rd, 8, false);
	assert_int_equal(rd[0], 2);
	assert_int_equal(f.accesses, 0); /* table and PBA never reach the device */
	/* Function mask + vector unmask: still held; function unmask: delivered. */
	vd_cfg_write(&d, s, 0x4a, 2, PCI_MSIX_ENABLE | PCI_MSIX_MASKALL);
	uint8_t ctl[4] = { 0 };
	bus_access(&d.mmio, bar + 65 * 16 + 12, ctl, 4, true);
	assert_int_equal(d.msi_count, 0);
	vd_cfg_write(&d, s, 0x4a, 2, PCI_MSIX_ENABLE);
	assert_int_equal(d.msi_count, 1);
	assert_int_equal(d.last_msi_addr, 0xfee01000u);
	assert_int_equal(d.last_msi_data, 0x31);
	assert_false(pci_msix_pending(p, 65));
	/* Unmasked: immediate. */
	assert_int_equal(pci_msix_notify(p, 65), 0);
	assert_int_equal(d.msi_count, 2);
	/* Other BAR offsets go to the device. */
	bus_access(&d.mmio, bar + 0x1800, rd, 4, false);
	assert_int_equal(f.accesses, 1);
	pci_dev_free(p);
	vd_fini(&d);
}

static void test_intx_sharing_and_tables(void **state)
{
	struct vd d;
	struct fake a, b, c;
	assert_int_equal(vd_init(&d, false), 0);
	/* Slots 1 and 9 share a GSI (8 GSIs, same pin). */
	struct pci_dev *pa = new_fake(&a, PCI_INTA), *pb = new_fake(&b, PCI_INTA), *pc = new_fake(&c, PCI_INTB);
	assert_int_equal(pci_host_add(d.host, pa, 1), 0);
	assert_int_equal(pci_host_add(d.host, pb, 9), 0);
	assert_int_equal(pci_host_add(d.host, pc, 2), 0);
	assert_int_equal(pci_host_add(d.host, pc, 3), -EINVAL);
	unsigned g = pci_intx_gsi(1, PCI_INTA);
	assert_int_equal(g, pci_intx_gsi(9, PCI_INTA));
	assert_int_equal(g, 17);
	assert_int_equal(pci_intx_gsi(2, PCI_INTB), 19);
	assert_int_equal(vd_cfg_read(&d, 1, 0x3c, 1), g);
	pci_dev_set_intx(pa, 1);
	pci_dev_set_intx(pb, 1);
	assert_int_equal(d.gsi_level[g], 1);
	pci_dev_set_intx(pa, 0);
	assert_int_equal(d.gsi_level[g], 1); /* b still asserts */
	pci_dev_set_intx(pb, 0);
	assert_int_equal(d.gsi_level[g], 0);
	pci_dev_set_intx(pc, 1);
	assert_int_equal(d.gsi_level[19], 1);
	assert_true(vd_cfg_read(&d, 2, 6, 2) & PCI_STATUS_INTX);
	/* MP table entries match the routing. */
	struct mptable_pci_irq irqs[8];
	assert_int_equal(pci_host_mptable_irqs(d.host, irqs, 8), 3);
	assert_int_equal(irqs[0].device, 1);
	assert_int_equal(irqs[0].pin, 0);
	assert_int_equal(irqs[0].ioapic_pin, 17);
	assert_int_equal(irqs[1].device, 2);
	assert_int_equal(irqs[1].pin, 1);
	assert_int_equal(irqs[1].ioapic_pin, 19);
	assert_int_equal(pci_host_mptable_irqs(d.host, irqs, 1), 3);
	uint8_t mp[4096];
	assert_true(mptable_build_pci(mp, sizeof(mp), 0x9fc00, 2, 0, 0xfec00000, irqs, 3) > 0);
	/* DSDT part: encodes without error; carries the names and the window. */
	static uint8_t buf[8192];
	struct aml am;
	aml_init(&am, buf, sizeof(buf));
	size_t sb = aml_scope_begin(&am, "_SB_");
	pci_host_write_aml(d.host, &am);
	aml_scope_end(&am, sb);
	assert_int_equal(aml_error(&am), 0);
	assert_non_null(memmem(buf, am.len, "PCI0", 4));
	assert_non_null(memmem(buf, am.len, "_PRT", 4));
	assert_non_null(memmem(buf, am.len, "_CRS", 4));
	uint8_t win[4] = { 0x00, 0x00, 0x00, 0xc0 };
	assert_non_null(memmem(buf, am.len, win, 4));
	pci_dev_free(pa);
	pci_dev_free(pb);
	assert_int_equal(d.gsi_level[19], 1);
	pci_dev_free(pc); /* freeing an asserting device drops its line */
	assert_int_equal(d.gsi_level[19], 0);
	vd_fini(&d);
}

static void test_refusals(void **state)
{
	struct vd d;
	assert_int_equal(vd_init(&d, false), 0);
	struct pci_host *h2;
	struct pci_host_config bad = { .pio = &d.pio, .mmio = &d.mmio, .mmio_base = 0xC0000000,
				       .mmio_size = 0x80000000, .plat = { .set_irq = vd_set_irq, .msi = vd_msi } };
	assert_int_equal(pci_host_new(&bad, &h2), -EINVAL); /* crosses 4 GiB */
	bad.mmio_size = 0x1000;
	assert_int_equal(pci_host_new(&bad, &h2), -EEXIST); /* 0xCF8 taken by the first host */
	bad.plat.msi = NULL;
	assert_int_equal(pci_host_new(&bad, &h2), -EINVAL);
	/* A window too small for the BARs. */
	struct fake f[32];
	int r = 0;
	unsigned added = 0;
	for (unsigned i = 0; i < 32 && r == 0; i++) {
		struct pci_dev *p = new_fake(&f[i], 0);
		assert_int_equal(pci_dev_add_bar(p, 0, 1ULL << 31, PCI_BAR_MEM32), 0);
		r = pci_host_add(d.host, p, -1);
		if (r < 0)
			pci_dev_free(p);
		else
			added++;
	}
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(added, 0); /* 2 GiB does not fit in 256 MiB */
	/* Slots run out. */
	r = 0;
	for (unsigned i = 0; i < 32; i++) {
		struct pci_dev *p = new_fake(&f[i], 0);
		r = pci_host_add(d.host, p, -1);
		if (r < 0) {
			pci_dev_free(p);
			break;
		}
	}
	assert_int_equal(r, -EBUSY);
	pci_host_free(d.host); /* detaches the 31 devices */
	d.host = NULL;
	for (unsigned i = 0; i < 31; i++)
		pci_dev_free(f[i].pci);
	vd_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_mechanism),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_caps_and_msix),
		cmocka_unit_test(test_intx_sharing_and_tables),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
