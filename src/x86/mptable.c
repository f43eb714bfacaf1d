// SPDX-License-Identifier: MIT
/* MP floating pointer and configuration table (Intel MultiProcessor Specification 1.4, chapter 4). */
#include <errno.h>
#include <string.h>

#include "util.h"
#include "mptable.h"

#define MPF_LEN        16
#define MPC_HDR_LEN    44
#define MP_SPEC_REV    4      /* 1.4 */

#define MP_PROCESSOR   0
#define MP_BUS         1
#define MP_IOAPIC      2
#define MP_IOINTR      3
#define MP_LINTR       4

#define MP_INT         0
#define MP_NMI         1
#define MP_EXTINT      3

#define CPU_ENABLED    0x01
#define CPU_BSP        0x02
#define LAPIC_VERSION  0x14   /* integrated APIC, as KVM's local APIC reports */
#define IOAPIC_VERSION 0x11   /* as KVM's I/O APIC reports */
#define CPU_SIGNATURE  0x600  /* family 6 */
#define CPU_FEATURES   0x201  /* CPUID.1:EDX FPU | APIC */

/* I/O interrupt flags: polarity bits 0-1, trigger bits 2-3 (3 = active low / level). */
#define IRQ_CONFORMS   0x0
#define IRQ_PCI_FLAGS  0xf

#define ISA_IRQS       16
#define MAX_PCI_IRQS   128    /* 32 devices x 4 pins on bus 0 */

size_t mptable_size(unsigned ncpus, unsigned npci)
{
	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS || npci > MAX_PCI_IRQS)
		return 0;
	return MPF_LEN + MPC_HDR_LEN + 20 * (size_t)ncpus + 2 * 8 + 8 +
	       8 * (size_t)(ISA_IRQS - 1) + 8 * (size_t)npci + 2 * 8;
}

static uint8_t *intr_entry(uint8_t *e, uint8_t entry_type, uint8_t irq_type, uint16_t flags,
			   uint8_t bus, uint8_t bus_irq, uint8_t dst_apic, uint8_t dst_pin)
{
	e[0] = entry_type;
	e[1] = irq_type;
	le_put(e + 2, flags, 2);
	e[4] = bus;
	e[5] = bus_irq;
	e[6] = dst_apic;
	e[7] = dst_pin;
	return e + 8;
}

int mptable_build_pci(uint8_t *dst, size_t room, uint64_t gpa, unsigned ncpus,
		      uint8_t ioapic_id, uint32_t ioapic_addr,
		      const struct mptable_pci_irq *pci, unsigned npci)
{
	if (!dst || (npci && !pci))
		return -EINVAL;
	size_t size = mptable_size(ncpus, npci);
	if (!size || (gpa & 15) || gpa + size > 0x100000000ull)
		return -EINVAL;
	for (unsigned i = 0; i < npci; i++)
		if (pci[i].device > 31 || pci[i].pin > 3)
			return -EINVAL;
	if (room < size)
		return -ENOSPC;

	memset(dst, 0, size);
	uint8_t *mpc = dst + MPF_LEN;
	uint8_t *e = mpc + MPC_HDR_LEN;
	unsigned count = 0;

	for (unsigned i = 0; i < ncpus; i++, e += 20, count++) {
		e[0] = MP_PROCESSOR;
		e[1] = (uint8_t)i;
		e[2] = LAPIC_VERSION;
		e[3] = (uint8_t)(CPU_ENABLED | (i == 0 ? CPU_BSP : 0));
		le_put(e + 4, CPU_SIGNATURE, 4);
		le_put(e + 8, CPU_FEATURES, 4);
	}

	e[0] = MP_BUS; /* in ascending bus id order */
	e[1] = MPTABLE_BUS_PCI;
	memcpy(e + 2, "PCI   ", 6);
	e += 8;
	e[0] = MP_BUS;
	e[1] = MPTABLE_BUS_ISA;
	memcpy(e + 2, "ISA   ", 6);
	e += 8;
	count += 2;

	e[0] = MP_IOAPIC;
	e[1] = ioapic_id;
	e[2] = IOAPIC_VERSION;
	e[3] = 1;                       /* enabled */
	le_put(e + 4, ioapic_addr, 4);
	e += 8;
	count++;

	for (unsigned irq = 0; irq < ISA_IRQS; irq++) {
		if (irq == 2)
			continue;       /* the cascade; IRQ 0 uses INTIN 2 */
		e = intr_entry(e, MP_IOINTR, MP_INT, IRQ_CONFORMS, MPTABLE_BUS_ISA, (uint8_t)irq,
			       ioapic_id, (uint8_t)(irq == 0 ? 2 : irq));
		count++;
	}
	for (unsigned i = 0; i < npci; i++) {
		e = intr_entry(e, MP_IOINTR, MP_INT, IRQ_PCI_FLAGS, MPTABLE_BUS_PCI,
			       (uint8_t)(pci[i].device << 2 | pci[i].pin), ioapic_id, pci[i].ioapic_pin);
		count++;
	}

	e = intr_entry(e, MP_LINTR, MP_EXTINT, IRQ_CONFORMS, MPTABLE_BUS_ISA, 0, 0xff, 0);
	e = intr_entry(e, MP_LINTR, MP_NMI, IRQ_CONFORMS, MPTABLE_BUS_ISA, 0, 0xff, 1);
	count += 2;

	size_t mpc_len = (size_t)(e - mpc);
	memcpy(mpc, "PCMP", 4);
	le_put(mpc + 4, mpc_len, 2);
	mpc[6] = MP_SPEC_REV;
	memcpy(mpc + 8, "NESTVM  ", 8);         /* OEM id */
	memcpy(mpc + 16, "NESTVMM     ", 12);   /* product id */
	le_put(mpc + 34, count, 2);
	le_put(mpc + 36, LAPIC_ADDR, 4);
	mpc[7] = checksum8(mpc, mpc_len);

	uint8_t *mpf = dst;
	memcpy(mpf, "_MP_", 4);
	le_put(mpf + 4, gpa + MPF_LEN, 4);
	mpf[8] = 1;                             /* length in 16-byte units */
	mpf[9] = MP_SPEC_REV;
	/* Feature bytes 0: the configuration table is present; virtual wire mode (no IMCR). */
	mpf[10] = checksum8(mpf, MPF_LEN);

	return (int)(MPF_LEN + mpc_len);
}

int mptable_build(uint8_t *dst, size_t room, uint64_t gpa, unsigned ncpus,
		  uint8_t ioapic_id, uint32_t ioapic_addr)
{
	return mptable_build_pci(dst, room, gpa, ncpus, ioapic_id, ioapic_addr, NULL, 0);
}
