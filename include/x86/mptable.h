/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 tables, for guests booted with
 * acpi=off. Pure functions: no I/O, no KVM.
 */
#ifndef NV_MPTABLE_H
#define NV_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define MPTABLE_MAX_CPUS    254   /* APIC ids 0..253 */
/* Bus ids in the table. A PCI bus's id must be its PCI bus number: Linux
 * looks PCI interrupts up by bus number (PCI 0), so ISA takes the next id. */
#define MPTABLE_BUS_PCI     0
#define MPTABLE_BUS_ISA     1

/* One PCI INTx line: source bus IRQ = device << 2 | pin, level-triggered, active low. */
struct mptable_pci_irq {
	uint8_t device;      /* 0..31 on PCI bus 0 */
	uint8_t pin;         /* 0 = INTA# .. 3 = INTD# */
	uint8_t ioapic_pin;  /* INTIN# of the I/O APIC */
};

/*
 * Writes the MP floating pointer ("_MP_", 16 bytes, at gpa) and the
 * configuration table ("PCMP", right after it) into dst (guest address gpa,
 * room bytes), checksums right. Processor entries for APIC ids
 * 0..ncpus-1 (BSP flag on 0, enabled), buses (ISA id 0, PCI id 1), the I/O
 * APIC (ioapic_id, ioapic_addr, enabled), I/O interrupt entries for ISA
 * IRQs 0-15 (IRQ0 -> INTIN 2, others to INTIN = IRQ, none for IRQ 2), then
 * the npci PCI interrupt entries, and local interrupt entries (LINT0
 * ExtINT, LINT1 NMI) for all local APICs.
 * gpa must be 16-byte aligned and the tables below 4 GiB; a guest finds the
 * floating pointer only in the first KiB of the EBDA, the last KiB of base
 * memory (e.g. 0x9fc00) or 0xF0000-0xFFFFF.
 * Returns bytes used, or -ENOSPC / -EINVAL (ncpus 0 or > 254, misaligned or
 * too high gpa, a PCI entry with device > 31 or pin > 3, pci NULL with npci).
 */
int mptable_build_pci(uint8_t *dst, size_t room, uint64_t gpa, unsigned ncpus,
		      uint8_t ioapic_id, uint32_t ioapic_addr,
		      const struct mptable_pci_irq *pci, unsigned npci);

/* The same with no PCI interrupt entries. */
int mptable_build(uint8_t *dst, size_t room, uint64_t gpa, unsigned ncpus,
		  uint8_t ioapic_id, uint32_t ioapic_addr);

/* Bytes mptable_build_pci needs (0 if ncpus or npci is out of range). */
size_t mptable_size(unsigned ncpus, unsigned npci);

#endif
