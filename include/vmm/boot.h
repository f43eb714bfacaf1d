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
#include "layout.h"
#include "util.h"

#define DEFAULT_CMDLINE "console=ttyS0"

struct boot_image {
	char *kernel_path, *initrd_path;
	int kernel_fd, initrd_fd;
	uint64_t kernel_file_size, initrd_size;
	uint8_t *hdr; /* first bytes of the kernel file */
	const char *cache_dir;     /* for direct boot's decompressed kernel (NULL: none) */
	const struct nv_log *log;  /* NULL: stderr */
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
