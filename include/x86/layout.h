/* SPDX-License-Identifier: MIT */
/*
 * The machine nestvmm builds, in one place: every guest-physical address,
 * I/O port and interrupt that the loader, the firmware tables, the devices
 * and the KVM binding must agree on. Change it here and only here.
 *
 * Guest physical memory:
 *
 *   0x00000000  RAM (real-mode IVT, BDA)
 *   0x00000500  GDT (LAYOUT_GDT_ENTRIES entries)
 *   0x00007000  boot_params ("zero page")
 *   0x00009000  identity page tables: PML4, PDPT, 4 PDs (4 GiB of 2 MiB pages)
 *   0x00020000  kernel command line (64 KiB at most)
 *   0x0009fc00  EBDA .. 1 MiB: reserved in e820
 *   0x000e0000  ACPI tables (64 KiB, inside the RSDP scan area)
 *   0x000f0000  MP table (64 KiB)
 *   0x000ffff0  the reset vector (a stub that resets through the i8042)
 *   0x00100000  the kernel (bzImage protected-mode part; direct boot: its ELF)
 *   ...         RAM up to 3 GiB
 *   0xc0000000  the 32-bit PCI hole: BARs (up to the I/O APIC)
 *   0xfec00000  I/O APIC
 *   0xfee00000  local APIC
 *   0xfeffc000  KVM's identity map page and TSS (Intel; reserved in e820)
 *   4 GiB       the rest of RAM
 *
 * I/O ports and interrupts (ISA IRQ = GSI, except the PIT's IRQ 0 on GSI 2):
 *
 *   0x0060, 0x0064  i8042 (IRQ 1 keyboard, 12 aux)
 *   0x03f8          16550A UART (IRQ 4)
 *   0x0505          pvpanic
 *   0x0080, 0x00ed  POST codes, I/O delay (swallowed)
 *   0x0600, 0x0601  ACPI sleep control / status (hardware-reduced)
 *   0x0cf8, 0x0cfc  PCI configuration mechanism #1
 *   GSI 5           the power button, through the ACPI Generic Event Device
 *   GSI 16..23      PCI INTx (level, active low)
 *   GSI 24..        MSI routes (one per MSI-X vector)
 */
#ifndef NV_LAYOUT_H
#define NV_LAYOUT_H

/* ---- below 1 MiB: what the loader places ---- */
#define BOOT_GDT_ADDR 0x500
#define BOOT_GDT_ENTRIES 6
#define BOOT_ZEROPAGE_ADDR 0x7000
#define BOOT_PML4_ADDR 0x9000
#define BOOT_PDPT_ADDR 0xa000
#define BOOT_PD_ADDR 0xb000 /* four pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000
#define BOOT_CMDLINE_MAX 0x10000
#define BOOT_EBDA_START 0x9fc00
#define BOOT_ACPI_ADDR 0xe0000
#define BOOT_ACPI_SIZE 0x10000
#define BOOT_MPTABLE_ADDR 0xf0000
#define BOOT_MPTABLE_SIZE 0x10000
#define BOOT_RESET_VECTOR 0xffff0
#define BOOT_HIGH_MEMORY 0x100000 /* 1 MiB */
#define BOOT_KERNEL_ADDR 0x100000

/* The boot GDT's selectors. */
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_TSS 0x20

/* ---- RAM and the 32-bit hole ---- */
#define MEM_HOLE_START 0xC0000000ULL /* 3 GiB: PCI MMIO, IOAPIC, LAPIC up to 4 GiB */
#define MEM_4G 0x100000000ULL
#define PCI_MMIO_BASE MEM_HOLE_START
#define PCI_MMIO_SIZE (IOAPIC_ADDR - PCI_MMIO_BASE)
#define IOAPIC_ADDR 0xfec00000ULL
#define LAPIC_ADDR 0xfee00000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL /* one page */
#define KVM_TSS_ADDR 0xfeffd000ULL          /* three pages */
#define KVM_RESERVED_SIZE 0x4000ULL         /* both, reserved in e820 */

/* ---- I/O ports ---- */
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_SERIAL0 0x3f8
#define PORT_PVPANIC 0x505
#define PORT_SLEEP_CTL 0x600
#define PORT_SLEEP_STS 0x601
#define PORT_POST 0x80  /* POST codes: swallowed */
#define PORT_DELAY 0xed /* the I/O delay port: swallowed */
#define PCI_CONFIG_ADDR 0xCF8 /* dword register */
#define PCI_CONFIG_DATA 0xCFC /* 0xCFC..0xCFF */

/* ---- interrupts ---- */
#define IRQ_I8042_KBD 1
#define IRQ_I8042_AUX 12
#define IRQ_SERIAL0 4
#define IRQ_PIT_GSI 2 /* ISA IRQ 0 is wired to I/O APIC pin 2 (the MADT override) */
#define IRQ_POWER_BUTTON 5 /* the ACPI Generic Event Device's interrupt (edge, active high) */
#define PCI_GSI_BASE 16 /* PCI INTx: PCI_GSI_BASE .. PCI_GSI_BASE + PCI_GSI_COUNT - 1 */
#define PCI_GSI_COUNT 8
#define IRQ_FIRST_MSI_GSI 24 /* after the I/O APIC's 24 pins */

#endif
