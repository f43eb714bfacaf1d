/* SPDX-License-Identifier: MIT */
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst, zero-page.rst):
 * parsing a bzImage's setup header and filling the zero page (boot_params)
 * for a 64-bit entry. Pure functions: no I/O, no KVM.
 */
#ifndef NV_BZIMAGE_H
#define NV_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Setup header offsets in the file (and in the zero page: same offsets). */
#define BZ_SETUP_SECTS       0x1f1
#define BZ_BOOT_FLAG         0x1fe  /* 0xAA55 */
#define BZ_JUMP              0x200
#define BZ_HEADER            0x202  /* "HdrS" */
#define BZ_VERSION           0x206
#define BZ_TYPE_OF_LOADER    0x210
#define BZ_LOADFLAGS         0x211
#define BZ_CODE32_START      0x214
#define BZ_RAMDISK_IMAGE     0x218
#define BZ_RAMDISK_SIZE      0x21c
#define BZ_HEAP_END_PTR      0x224
#define BZ_CMD_LINE_PTR      0x228
#define BZ_INITRD_ADDR_MAX   0x22c
#define BZ_KERNEL_ALIGNMENT  0x230
#define BZ_RELOCATABLE       0x234
#define BZ_XLOADFLAGS        0x236
#define BZ_CMDLINE_SIZE      0x238
#define BZ_PREF_ADDRESS      0x258
#define BZ_INIT_SIZE         0x260
/* Zero-page-only fields. */
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES      0x1e8
#define ZP_SENTINEL          0x1ef
#define ZP_HDR_LIMIT         0x290  /* edd_mbr_sig_buffer: the setup header ends before it */
#define ZP_E820_TABLE        0x2d0
#define ZP_E820_MAX          128
#define ZP_SIZE              4096

#define BZ_HDRS_MAGIC        0x53726448u  /* "HdrS" little-endian */
#define BZ_BOOT_FLAG_MAGIC   0xaa55u
#define BZ_MIN_VERSION       0x020c       /* 2.12: xloadflags */

/* loadflags */
#define LOADED_HIGH          (1u << 0)
#define KASLR_FLAG           (1u << 1)
#define QUIET_FLAG           (1u << 5)
#define KEEP_SEGMENTS        (1u << 6)
#define CAN_USE_HEAP         (1u << 7)
/* xloadflags */
#define XLF_KERNEL_64                 (1u << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G    (1u << 1)
#define XLF_EFI_HANDOVER_32           (1u << 2)
#define XLF_EFI_HANDOVER_64           (1u << 3)
#define XLF_EFI_KEXEC                 (1u << 4)

/* The 64-bit entry point is this far into the loaded protected-mode kernel. */
#define BZ_ENTRY64_OFFSET    0x200

struct bzimage_info {
	uint16_t version;          /* boot protocol, e.g. 0x020f */
	uint32_t setup_size;       /* ((setup_sects ? setup_sects : 4) + 1) * 512 */
	uint64_t kernel_offset;    /* file offset of the protected-mode kernel == setup_size */
	uint64_t kernel_size;      /* file_size - kernel_offset */
	uint32_t hdr_end;          /* file offset just past the setup header: 0x202 + byte at 0x201 */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;     /* max cmdline length w/o NUL (255 if version < 2.06) */
	uint32_t kernel_alignment;
	bool relocatable;
	uint16_t xloadflags;
	uint32_t init_size;        /* memory the kernel needs from its load address; may be 0 */
	uint64_t pref_address;
};

/*
 * hdr: the first min(file_size, 64 KiB) bytes of the file (hdr_len of them).
 * Fills *bi and returns 0, or:
 *   -ENOEXEC  not a bzImage (too short for a setup header, no 0xAA55 boot
 *             flag, no "HdrS" magic);
 *   -EINVAL   a bzImage this loader cannot boot or an inconsistent one
 *             (protocol < 2.12, no XLF_KERNEL_64, setup header end outside
 *             0x264..0x290 or beyond hdr_len, setup beyond the end of the
 *             file, hdr_len > file_size, relocatable with a kernel_alignment
 *             that is not a power of two).
 * On error *why (if why is not NULL) points to a static human string; on
 * success it is set to NULL.
 */
int bzimage_parse(const uint8_t *hdr, size_t hdr_len, uint64_t file_size,
		  struct bzimage_info *bi, const char **why);

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/*
 * Fills a 4096-byte zero page: zeroes it, copies the setup header
 * (hdr[0x1f1 .. bi->hdr_end), hdr being the buffer that bzimage_parse
 * accepted for *bi), sets type_of_loader 0xff, loadflags (keeps the header's
 * LOADED_HIGH, sets CAN_USE_HEAP, heap_end_ptr 0xfe00 - 0x200), cmd_line_ptr
 * (+ext_cmd_line_ptr), ramdisk_image/size (+ext_ramdisk_image; initrd_size 0:
 * no initrd, both 0), the e820 table (max 128) and its count, acpi_rsdp_addr
 * (protocol >= 2.14; rsdp_gpa 0 = none).
 * Returns 0 or -EINVAL: more than 128 e820 entries, cmdline_len >
 * bi->cmdline_size, an initrd that ends above bi->initrd_addr_max, or a
 * *bi that bzimage_parse cannot have produced (hdr_end out of range).
 */
int bzimage_setup_zeropage(uint8_t zp[4096], const uint8_t *hdr, const struct bzimage_info *bi,
			   uint64_t cmdline_gpa, uint32_t cmdline_len,
			   uint64_t initrd_gpa, uint32_t initrd_size,
			   const struct e820_entry *e820, unsigned n_e820, uint64_t rsdp_gpa);

#endif
