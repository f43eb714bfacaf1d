// SPDX-License-Identifier: MIT
/* mptable_build: walk the floating pointer and configuration table as a guest would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mptable.h"

#define GPA 0x9fc00ull

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

struct walk {
	unsigned cpus, bsp, buses, ioapics, lints;
	int isa_intin[16];                /* -1: no entry */
	unsigned npci;
	uint8_t pci_src[8], pci_intin[8];
};

/* Decodes what mptable_build wrote at guest address gpa; checks every structural rule. */
static struct walk decode(const uint8_t *buf, int used, uint64_t gpa, unsigned ncpus, uint8_t ioapic_id)
{
	struct walk w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 16; i++)
		w.isa_intin[i] = -1;
	assert_true(used > 16);
	const uint8_t *mpf = buf;
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum8(mpf, 16), 0);
	assert_int_equal(mpf[8], 1);
	assert_int_equal(mpf[9], 4);
	static const uint8_t zero5[5];
	assert_memory_equal(mpf + 11, zero5, 5);          /* config table present, virtual wire */
	uint32_t mpc_gpa = rd32(mpf + 4);
	assert_true(mpc_gpa >= gpa + 16 && mpc_gpa - gpa + 44 <= (uint64_t)used);

	const uint8_t *mpc = buf + (mpc_gpa - gpa);
	uint32_t len = rd16(mpc + 4);
	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(mpc - buf + len, used);
	assert_int_equal(sum8(mpc, len), 0);
	assert_int_equal(mpc[6], 4);
	assert_int_equal(rd32(mpc + 36), 0xfee00000);
	assert_int_equal(rd16(mpc + 40), 0);              /* no extended table */

	unsigned count = 0, last_type = 0;
	uint32_t off = 44;
	while (off < len) {
		const uint8_t *e = mpc + off;
		assert_true(e[0] >= last_type);              /* sorted by type */
		last_type = e[0];
		unsigned elen = e[0] == 0 ? 20 : 8;
		assert_true(off + elen <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], w.cpus);
			assert_true(e[3] & 1);
			if (e[3] & 2) {
				w.bsp++;
				assert_int_equal(e[1], 0);
			}
			w.cpus++;
			break;
		case 1:
			assert_int_equal(e[1], w.buses);
			assert_memory_equal(e + 2, w.buses == 0 ? "PCI   " : "ISA   ", 6);
			w.buses++;
			break;
		case 2:
			assert_int_equal(e[1], ioapic_id);
			assert_int_equal(e[3], 1);
			assert_int_equal(rd32(e + 4), 0xfec00000);
			w.ioapics++;
			break;
		case 3:
			assert_int_equal(e[1], 0);               /* INT */
			assert_int_equal(e[6], ioapic_id);
			if (e[4] == MPTABLE_BUS_ISA) {
				assert_int_equal(rd16(e + 2), 0);
				assert_true(e[5] < 16);
				assert_int_equal(w.isa_intin[e[5]], -1);
				w.isa_intin[e[5]] = e[7];
			} else {
				assert_int_equal(e[4], MPTABLE_BUS_PCI); /* = PCI bus number 0 */
				assert_int_equal(rd16(e + 2), 0xf);  /* level, active low */
				assert_true(w.npci < 8);
				w.pci_src[w.npci] = e[5];
				w.pci_intin[w.npci++] = e[7];
			}
			break;
		case 4:
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[7], w.lints);
			assert_int_equal(e[1], w.lints == 0 ? 3 : 1);  /* LINT0 ExtINT, LINT1 NMI */
			w.lints++;
			break;
		default:
			fail_msg("entry type %u", e[0]);
		}
		off += elen;
		count++;
	}
	assert_int_equal(off, len);
	assert_int_equal(rd16(mpc + 34), count);
	assert_int_equal(w.cpus, ncpus);
	assert_int_equal(w.bsp, 1);
	assert_int_equal(w.buses, 2);
	assert_int_equal(w.ioapics, 1);
	assert_int_equal(w.lints, 2);
	return w;
}

static void test_basic(void **state)
{
	(void)state;
	uint8_t buf[4096];
	memset(buf, 0xcc, sizeof(buf));
	int used = mptable_build(buf, sizeof(buf), GPA, 4, 4, 0xfec00000);
	assert_int_equal(used, (int)mptable_size(4, 0));
	assert_int_equal(buf[used], 0xcc);
	struct walk w = decode(buf, used, GPA, 4, 4);
	assert_int_equal(rd32(buf + 4), GPA + 16);
	assert_int_equal(w.isa_intin[0], 2);
	assert_int_equal(w.isa_intin[2], -1);
	for (int irq = 1; irq < 16; irq++)
		if (irq != 2)
			assert_int_equal(w.isa_intin[irq], irq);
	assert_int_equal(w.npci, 0);

	/* Exact bytes of the BSP processor entry and the IRQ0 entry. */
	static const uint8_t cpu0[20] = { 0, 0, 0x14, 3, 0x00, 0x06, 0, 0, 0x01, 0x02 };
	assert_memory_equal(buf + 16 + 44, cpu0, 20);
	static const uint8_t irq0[8] = { 3, 0, 0, 0, MPTABLE_BUS_ISA, 0, 4, 2 };
	assert_memory_equal(buf + 16 + 44 + 4 * 20 + 16 + 8, irq0, 8);
}

static void test_ncpus(void **state)
{
	(void)state;
	static uint8_t buf[8192];
	static const unsigned counts[] = { 1, 2, 17, 253, 254 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		unsigned n = counts[i];
		uint8_t id = (uint8_t)(n < 254 ? n : 0);
		int used = mptable_build(buf, sizeof(buf), 0xf0000, n, id, 0xfec00000);
		assert_int_equal(used, (int)mptable_size(n, 0));
		decode(buf, used, 0xf0000, n, id);
		for (size_t room = 0; room < (size_t)used; room += 7)
			assert_int_equal(mptable_build(buf, room, 0xf0000, n, id, 0xfec00000), -ENOSPC);
		assert_int_equal(mptable_build(buf, (size_t)used - 1, 0xf0000, n, id, 0xfec00000),
				 -ENOSPC);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	static uint8_t buf[8192];
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, 0, 0, 0xfec00000), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA, 255, 0, 0xfec00000), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), GPA + 8, 1, 1, 0xfec00000), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), 0xffffff80, 1, 1, 0xfec00000), -EINVAL);
	assert_int_equal(mptable_build(NULL, sizeof(buf), GPA, 1, 1, 0xfec00000), -EINVAL);
	assert_int_equal(mptable_size(0, 0), 0);
	assert_int_equal(mptable_size(255, 0), 0);
	assert_int_equal(mptable_size(1, 129), 0);

	struct mptable_pci_irq p = { 32, 0, 16 };
	assert_int_equal(mptable_build_pci(buf, sizeof(buf), GPA, 1, 1, 0xfec00000, &p, 1), -EINVAL);
	p = (struct mptable_pci_irq){ 1, 4, 16 };
	assert_int_equal(mptable_build_pci(buf, sizeof(buf), GPA, 1, 1, 0xfec00000, &p, 1), -EINVAL);
	assert_int_equal(mptable_build_pci(buf, sizeof(buf), GPA, 1, 1, 0xfec00000, NULL, 1), -EINVAL);
	static struct mptable_pci_irq many[129];
	assert_int_equal(mptable_build_pci(buf, sizeof(buf), GPA, 1, 1, 0xfec00000, many, 129), -EINVAL);
	int used = mptable_build_pci(buf, sizeof(buf), GPA, 1, 1, 0xfec00000, many, 128);
	assert_int_equal(used, (int)mptable_size(1, 128));
}

static void test_pci(void **state)
{
	(void)state;
	uint8_t buf[4096];
	static const struct mptable_pci_irq pci[] = {
		{ 1, 0, 16 }, { 3, 2, 19 }, { 31, 3, 23 },
	};
	int used = mptable_build_pci(buf, sizeof(buf), GPA, 2, 2, 0xfec00000, pci, 3);
	assert_int_equal(used, (int)mptable_size(2, 3));
	struct walk w = decode(buf, used, GPA, 2, 2);
	assert_int_equal(w.npci, 3);
	assert_int_equal(w.pci_src[0], 1 << 2 | 0);
	assert_int_equal(w.pci_intin[0], 16);
	assert_int_equal(w.pci_src[1], 3 << 2 | 2);
	assert_int_equal(w.pci_intin[1], 19);
	assert_int_equal(w.pci_src[2], 31 << 2 | 3);
	assert_int_equal(w.pci_intin[2], 23);
	/* The ISA entries are unchanged by the PCI ones. */
	assert_int_equal(w.isa_intin[0], 2);
	assert_int_equal(w.isa_intin[15], 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_ncpus),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_pci),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
