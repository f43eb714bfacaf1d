/* SPDX-License-Identifier: MIT */
/*
 * Direct Linux boot of a bzImage: the image is checked before anything is
 * created (boot_image_open), then loaded into guest RAM with boot_params,
 * command line, initrd, identity page tables, a GDT and the firmware tables
 * (boot_image_load). The BSP enters the 64-bit entry point in long mode.
 */
#ifndef NV_BOOT_H
#define NV_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "bzimage.h"
#include "guest_mem.h"
#include "util.h"

/* Guest physical layout of what the VMM places below 1 MiB. */
#define BOOT_GDT_ADDR 0x500
#define BOOT_GDT_ENTRIES 6
#define BOOT_ZEROPAGE_ADDR 0x7000
#define BOOT_PML4_ADDR 0x9000
#define BOOT_PDPT_ADDR 0xa000
#define BOOT_PD_ADDR 0xb000 /* four pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR 0x20000
#define BOOT_CMDLINE_MAX 0x10000
#define BOOT_EBDA_START 0x9fc00
#define BOOT_ACPI_ADDR 0xe0000 /* 64 KiB, inside the RSDP scan area */
#define BOOT_MPTABLE_ADDR 0xf0000
#define BOOT_RESET_VECTOR 0xffff0
#define BOOT_KERNEL_ADDR 0x100000

#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_TSS 0x20

/* Fixed I/O ports the firmware tables point at. */
#define PORT_SLEEP_CTL 0x600
#define PORT_SLEEP_STS 0x601
#define PORT_PVPANIC 0x505
#define IOAPIC_ADDR 0xfec00000U
#define LAPIC_ADDR 0xfee00000U

#define DEFAULT_CMDLINE "console=ttyS0"

struct boot_image {
	char *kernel_path, *initrd_path;
	int kernel_fd, initrd_fd;
	uint64_t kernel_file_size, initrd_size;
	uint8_t *hdr; /* first bytes of the kernel file */
	size_t hdr_len;
	struct bzimage_info bi;
	const char *cmdline;
	bool direct;     /* try the decompressed vmlinux first */
	int vmlinux_fd;  /* its fd once opened (kept for a restart), or -1 */
	uint64_t entry;  /* 64-bit entry point, set by boot_image_load */
};

struct aml;
struct mptable_pci_irq;

struct boot_firmware {
	unsigned ncpus;
	bool acpi;
	bool pvpanic;
	/* PCI: written into the DSDT's \_SB scope, and the MP table's interrupt entries. */
	void (*dsdt_sb_hook)(void *opaque, struct aml *a);
	void *hook_opaque;
	const struct mptable_pci_irq *pci_irqs;
	unsigned npci_irqs;
};

/*
 * Opens and checks the kernel (a 64-bit capable bzImage) and initrd, and that
 * both fit in mem_size bytes of RAM with the command line within the
 * kernel's limit. Appends each problem to d. 0 or -errno.
 */
int boot_image_open(struct boot_image *img, const char *kernel, const char *initrd,
	const char *cmdline, bool direct, uint64_t mem_size, struct diag *d);
void boot_image_close(struct boot_image *img);
/* Writes everything the guest needs into m. 0 or -errno with *err set. */
int boot_image_load(struct boot_image *img, struct guest_mem *m, const struct boot_firmware *fw,
	char **err);

#endif
