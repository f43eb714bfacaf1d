/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables a guest finds in memory (ACPI 6.x chapter 5): RSDP, XSDT,
 * a hardware-reduced FADT, a DSDT and a MADT. Pure functions: no I/O, no KVM.
 */
#ifndef NV_ACPI_H
#define NV_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct aml;

struct acpi_config {
	unsigned ncpus;            /* local APIC ids 0..ncpus-1 (1..ACPI_MAX_CPUS) */
	uint64_t base_gpa;         /* guest physical address where dst starts (e.g. 0xE0000), 16-aligned */
	uint16_t sleep_ctl_port;   /* HW-reduced FADT SLEEP_CONTROL_REG, I/O space, 8 bits */
	uint16_t sleep_sts_port;   /* SLEEP_STATUS_REG */
	uint16_t pvpanic_port;     /* 0: none; else a QEMU0001 device with this 1-byte I/O port in the DSDT */
	uint16_t serial_port;      /* 0: none; else a PNP0501 UART (8 ports) at this base ... */
	uint8_t serial_irq;        /* ... on this ISA IRQ (edge, active high) */
	/*
	 * 0: none; else an ACPI power button (PNP0C0C) signalled through a
	 * Generic Event Device (ACPI0013) on this GSI (edge, active high): a
	 * pulse on it makes the GED's _EVT notify the button (0x80), and the
	 * guest's power-key handling shuts it down.
	 */
	uint8_t power_button_gsi;
	/* Optional: writes more devices inside Scope(\_SB) of the DSDT (the PCI host bridge). */
	void (*sb_hook)(void *opaque, struct aml *a);
	void *sb_opaque;
	uint32_t ioapic_addr;      /* 0xFEC00000 */
	uint8_t ioapic_id;
	uint32_t lapic_addr;       /* 0xFEE00000 */
};

#define ACPI_POWER_BUTTON_NOTIFY 0x80 /* "the button was pressed" (ACPI 6.4, 4.8.2.2.1.1) */
#define ACPI_MAX_CPUS 255          /* xAPIC ids 0..254 in Processor Local APIC entries */
#define ACPI_SLP_TYP_S5 5          /* the value in _S5_ and what the guest writes to SLP_TYP */
/* What a HW-reduced guest writes to SLEEP_CONTROL_REG to enter S5: SLP_TYP << 2 | SLP_EN. */
#define ACPI_SLEEP_CTL_SLP_TYP_SHIFT 2
#define ACPI_SLEEP_CTL_SLP_EN        (1u << 5)
#define ACPI_SLEEP_CTL_S5 ((ACPI_SLP_TYP_S5 << ACPI_SLEEP_CTL_SLP_TYP_SHIFT) | ACPI_SLEEP_CTL_SLP_EN)

/*
 * Writes RSDP, XSDT, FADT, DSDT and MADT into dst (room bytes), which the
 * guest will see at c->base_gpa; all checksums right. The RSDP comes first,
 * at base_gpa itself, so it is inside 0xE0000-0xFFFFF whenever base_gpa is.
 * Returns the bytes used, -ENOSPC (room too small, or base_gpa in the BIOS
 * area and the tables would cross 1 MiB), or -EINVAL (ncpus 0 or >
 * ACPI_MAX_CPUS, base_gpa not 16-byte aligned, a sleep port 0).
 * *rsdp_gpa = the RSDP's guest address. The whole set for 255 vCPUs takes
 * under 4 KiB.
 *
 * Power-off, as Linux does it on a HW-reduced FADT: it first writes
 * WAK_STS (0x80) to the sleep status register, then
 * SLP_TYP << 2 | SLP_EN (ACPI_SLEEP_CTL_S5, 0x34) to the sleep control
 * register; a VMM should test ((v >> 2) & 7) == ACPI_SLP_TYP_S5 && (v & SLP_EN).
 */
int acpi_build(uint8_t *dst, size_t room, const struct acpi_config *c, uint64_t *rsdp_gpa);

/* Sets byte 9 of an SDT of `len` bytes so that they sum to zero. */
void acpi_sdt_checksum(uint8_t *table, size_t len);

#endif
