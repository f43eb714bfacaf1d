// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "acpi.h"
#include "boot.h"
#include "kvm.h"
#include "mptable.h"
#include "vmlinux.h"

#define HDR_MAX (64 * 1024)
#define MIN_KERNEL_RUNTIME 0x1000000ULL /* the decompressed kernel never runs below 16 MiB */

static int open_file(const char *what, const char *path, int *fd, uint64_t *size, struct diag *d)
{
	struct stat st;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;
		diag_add(d, NULL, 0, 0, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		diag_add(d, NULL, 0, 0, "%s %s: not a regular file", what, path);
		close_fd(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a ? (v + a - 1) / a * a : v;
}

/* Where the decompressed kernel runs, up to the end of its init_size. */
static uint64_t kernel_end(const struct bzimage_info *bi)
{
	uint64_t start = align_up(BOOT_KERNEL_ADDR, bi->kernel_alignment ? bi->kernel_alignment : 1);
	if (start < MIN_KERNEL_RUNTIME)
		start = MIN_KERNEL_RUNTIME;
	if (bi->pref_address > start)
		start = bi->pref_address;
	uint64_t end = start + bi->init_size;
	uint64_t loaded_end = BOOT_KERNEL_ADDR + bi->kernel_size;
	return end > loaded_end ? end : loaded_end;
}

static uint64_t low_ram(uint64_t mem_size)
{
	return mem_size < MEM_HOLE_START ? mem_size : MEM_HOLE_START;
}

/* The initrd goes as high as allowed: below the hole and below initrd_addr_max. */
static uint64_t initrd_addr(const struct boot_image *img, uint64_t mem_size)
{
	uint64_t limit = low_ram(mem_size);
	if ((uint64_t)img->bi.initrd_addr_max + 1 < limit)
		limit = (uint64_t)img->bi.initrd_addr_max + 1;
	if (img->initrd_size > limit)
		return 0;
	return (limit - img->initrd_size) & ~0xfffULL;
}

int boot_image_open(struct boot_image *img, const char *kernel, const char *initrd,
	const char *cmdline, bool direct, uint64_t mem_size, struct diag *d)
{
	memset(img, 0, sizeof(*img));
	img->kernel_fd = img->initrd_fd = img->vmlinux_fd = -1;
	img->direct = direct;
	img->cmdline = cmdline ? cmdline : DEFAULT_CMDLINE;
	size_t nerr = d->n;
	if (!kernel) {
		diag_add(d, NULL, 0, 0, "no kernel given (boot.kernel or --kernel)");
		return -EINVAL;
	}
	img->kernel_path = strdup(kernel);
	if (open_file("kernel", kernel, &img->kernel_fd, &img->kernel_file_size, d) == 0) {
		img->hdr_len = img->kernel_file_size < HDR_MAX ? img->kernel_file_size : HDR_MAX;
		img->hdr = malloc(img->hdr_len ? img->hdr_len : 1);
		const char *why = "read error";
		if (!img->hdr || pread_full(img->kernel_fd, img->hdr, img->hdr_len, 0) < 0 ||
			bzimage_parse(img->hdr, img->hdr_len, img->kernel_file_size, &img->bi, &why) < 0)
			diag_add(d, NULL, 0, 0, "kernel %s: not a usable bzImage: %s", kernel, why);
	}
	if (initrd) {
		img->initrd_path = strdup(initrd);
		open_file("initrd", initrd, &img->initrd_fd, &img->initrd_size, d);
	}
	if (d->n > nerr)
		return -EINVAL;

	size_t cl = strlen(img->cmdline);
	if (cl > img->bi.cmdline_size || cl >= BOOT_CMDLINE_MAX)
		diag_add(d, NULL, 0, 0, "kernel command line is %zu bytes; this kernel accepts at most %u",
			cl, img->bi.cmdline_size);
	uint64_t kend = kernel_end(&img->bi);
	if (initrd && img->initrd_size > mem_size) {
		diag_add(d, NULL, 0, 0,
			"initrd %s is %llu MiB, larger than the guest's %llu MiB of RAM (--memory)",
			initrd, (unsigned long long)(img->initrd_size >> 20),
			(unsigned long long)(mem_size >> 20));
	} else if (kend > low_ram(mem_size) ||
		(initrd && (initrd_addr(img, mem_size) < kend))) {
		uint64_t need = kend + align_up(img->initrd_size, 4096) + 16 * MiB;
		diag_add(d, NULL, 0, 0,
			"guest RAM too small: %llu MiB cannot hold the kernel (%llu MiB up to the end of "
			"its working space)%s; give at least %llu MiB (--memory)",
			(unsigned long long)(mem_size >> 20), (unsigned long long)(kend >> 20),
			initrd ? " and the initrd below 2 GiB" : "",
			(unsigned long long)((need + MiB - 1) >> 20));
	}
	return d->n > nerr ? -EINVAL : 0;
}

void boot_image_close(struct boot_image *img)
{
	if (!img)
		return;
	close_fd(&img->kernel_fd);
	close_fd(&img->initrd_fd);
	close_fd(&img->vmlinux_fd);
	free(img->hdr);
	free(img->kernel_path);
	free(img->initrd_path);
	img->hdr = NULL;
	img->kernel_path = img->initrd_path = NULL;
}

static void setup_page_tables(struct guest_mem *m)
{
	uint8_t *pml4 = guest_mem_ptr(m, BOOT_PML4_ADDR, 4096);
	uint8_t *pdpt = guest_mem_ptr(m, BOOT_PDPT_ADDR, 4096);
	uint8_t *pd = guest_mem_ptr(m, BOOT_PD_ADDR, 4 * 4096);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	le_put(pml4, BOOT_PDPT_ADDR | 0x3, 8); /* present, writable */
	for (uint64_t g = 0; g < 4; g++) {
		le_put(pdpt + g * 8, (BOOT_PD_ADDR + g * 4096) | 0x3, 8);
		for (uint64_t i = 0; i < 512; i++)
			le_put(pd + (g * 512 + i) * 8, ((g << 30) | (i << 21)) | 0x83, 8); /* 2 MiB page */
	}
}

static void setup_gdt(struct guest_mem *m)
{
	static const uint64_t gdt[BOOT_GDT_ENTRIES] = {
		0,
		0,
		0x00af9b000000ffffULL, /* 0x10: 64-bit code, flat */
		0x00cf93000000ffffULL, /* 0x18: data, flat 4 GiB */
		0x00008b0000000067ULL, /* 0x20: busy TSS (low half) */
		0,                     /*       (high half) */
	};
	uint8_t *p = guest_mem_ptr(m, BOOT_GDT_ADDR, sizeof(gdt));
	for (size_t i = 0; i < BOOT_GDT_ENTRIES; i++)
		le_put(p + i * 8, gdt[i], 8);
}

/*
 * The real-mode reset vector at 0xffff0. Linux on a HW-reduced ACPI machine
 * without EFI reboots through BOOT_EFI -> BOOT_BIOS, i.e. it jumps to
 * f000:fff0 as firmware would after a reset. There is no firmware here, so
 * the vector pulses the reset line through the keyboard controller:
 *   mov al, 0xfe; out 0x64, al; cli; hlt; jmp $-2
 */
static void setup_reset_vector(struct guest_mem *m)
{
	static const uint8_t stub[] = { 0xb0, 0xfe, 0xe6, 0x64, 0xfa, 0xf4, 0xeb, 0xfd };
	memcpy(guest_mem_ptr(m, BOOT_RESET_VECTOR, sizeof(stub)), stub, sizeof(stub));
}

static unsigned build_e820(const struct guest_mem *m, struct e820_entry *e)
{
	unsigned n = 0;
	e[n++] = (struct e820_entry){ 0, BOOT_EBDA_START, 1 };
	e[n++] = (struct e820_entry){ BOOT_EBDA_START, BOOT_HIGH_MEMORY - BOOT_EBDA_START, 2 };
	e[n++] = (struct e820_entry){ BOOT_HIGH_MEMORY, m->low_size - BOOT_HIGH_MEMORY, 1 };
	e[n++] = (struct e820_entry){ KVM_IDENTITY_MAP_ADDR, KVM_RESERVED_SIZE, 2 };
	if (m->high_size)
		e[n++] = (struct e820_entry){ MEM_4G, m->high_size, 1 };
	return n;
}

/*
 * Puts the kernel in guest RAM: the cached vmlinux entered at startup_64 when
 * direct boot works for this image, else the bzImage at 1 MiB entered at its
 * 64-bit entry (load address + 0x200).
 */
static int load_kernel(struct boot_image *img, struct guest_mem *m)
{
	const struct bzimage_info *bi = &img->bi;
	if (img->direct && img->vmlinux_fd < 0) {
		int fd = vmlinux_open(img->kernel_fd, img->hdr, bi, img->kernel_file_size,
			img->cache_dir, img->log);
		if (fd < 0) {
			nv_logf(img->log, NV_LOG_DEBUG, "direct boot unavailable (%s): using the bzImage "
				"decompressor", strerror(-fd));
			img->direct = false;
		}
		img->vmlinux_fd = fd;
	}
	if (img->direct) {
		uint64_t entry, end;
		int r = elf_load(img->vmlinux_fd, m, &entry, &end);
		if (r == 0 && end <= kernel_end(bi)) {
			img->entry = entry;
			return 0;
		}
		nv_logf(img->log, NV_LOG_WARN, "the decompressed kernel does not load (%s): using the "
			"bzImage decompressor", r ? strerror(-r) : "larger than init_size");
		img->direct = false;
		memset(m->host, 0, m->low_size < kernel_end(bi) ? m->low_size : kernel_end(bi));
	}
	uint8_t *kp = guest_mem_ptr(m, BOOT_KERNEL_ADDR, bi->kernel_size);
	if (!kp)
		return -ENOSPC;
	int r = pread_full(img->kernel_fd, kp, bi->kernel_size, (off_t)bi->kernel_offset);
	if (r < 0)
		return r;
	img->entry = BOOT_KERNEL_ADDR + 0x200;
	return 0;
}

int boot_image_load(struct boot_image *img, struct guest_mem *m, const struct boot_firmware *fw,
	char **err)
{
	const struct bzimage_info *bi = &img->bi;
	int r = load_kernel(img, m);
	if (r < 0) {
		*err = str_printf("kernel %s: %s", img->kernel_path, strerror(-r));
		return r;
	}
	uint64_t initrd_gpa = 0;
	if (img->initrd_fd >= 0 && img->initrd_size) {
		initrd_gpa = initrd_addr(img, m->size);
		uint8_t *ip = guest_mem_ptr(m, initrd_gpa, img->initrd_size);
		if (!initrd_gpa || !ip) {
			*err = str_printf("initrd does not fit in guest RAM");
			return -ENOSPC;
		}
		r = pread_full(img->initrd_fd, ip, img->initrd_size, 0);
		if (r < 0) {
			*err = str_printf("initrd %s: %s", img->initrd_path, strerror(-r));
			return r;
		}
	}
	size_t cl = strlen(img->cmdline);
	memcpy(guest_mem_ptr(m, BOOT_CMDLINE_ADDR, cl + 1), img->cmdline, cl + 1);

	uint64_t rsdp = 0;
	if (fw->acpi) {
		struct acpi_config ac = {
			.ncpus = fw->ncpus,
			.base_gpa = BOOT_ACPI_ADDR,
			.sleep_ctl_port = PORT_SLEEP_CTL,
			.sleep_sts_port = PORT_SLEEP_STS,
			.pvpanic_port = fw->pvpanic ? PORT_PVPANIC : 0,
			.serial_port = PORT_SERIAL0,
			.serial_irq = IRQ_SERIAL0,
			.power_button_gsi = IRQ_POWER_BUTTON,
			.sb_hook = fw->dsdt_sb_hook,
			.sb_opaque = fw->hook_opaque,
			.ioapic_addr = IOAPIC_ADDR,
			.ioapic_id = 0,
			.lapic_addr = LAPIC_ADDR,
		};
		r = acpi_build(guest_mem_ptr(m, BOOT_ACPI_ADDR, BOOT_ACPI_SIZE), BOOT_ACPI_SIZE, &ac,
			&rsdp);
		if (r < 0) {
			*err = str_printf("building ACPI tables: %s", strerror(-r));
			return r;
		}
	}
	if (fw->ncpus <= 254) {
		r = mptable_build_pci(guest_mem_ptr(m, BOOT_MPTABLE_ADDR, BOOT_MPTABLE_SIZE),
			BOOT_MPTABLE_SIZE,
			BOOT_MPTABLE_ADDR, fw->ncpus, 0, IOAPIC_ADDR, fw->pci_irqs, fw->npci_irqs);
		if (r < 0) {
			*err = str_printf("building the MP table: %s", strerror(-r));
			return r;
		}
	} else if (!fw->acpi) {
		*err = str_printf("%u vCPUs need ACPI (the MP table holds at most 254)", fw->ncpus);
		return -EINVAL;
	}

	struct e820_entry e820[8];
	unsigned ne = build_e820(m, e820);
	r = bzimage_setup_zeropage(guest_mem_ptr(m, BOOT_ZEROPAGE_ADDR, 4096), img->hdr, bi,
		BOOT_CMDLINE_ADDR, (uint32_t)cl, initrd_gpa, (uint32_t)img->initrd_size, e820, ne, rsdp);
	if (r < 0) {
		*err = str_printf("building boot_params: %s", strerror(-r));
		return r;
	}
	setup_page_tables(m);
	setup_gdt(m);
	setup_reset_vector(m);
	return 0;
}
