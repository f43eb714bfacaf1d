// SPDX-License-Identifier: MIT
/*
 * bzImage setup header parsing and zero page construction, after the Linux
 * boot protocol (Documentation/arch/x86/boot.rst and zero-page.rst).
 */
#include <errno.h>
#include <string.h>

#include "bzimage.h"
#include "util.h"

static int refuse(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

/* The setup header must at least reach past init_size (protocol 2.10+). */
#define HDR_END_MIN (BZ_INIT_SIZE + 4)

int bzimage_parse(const uint8_t *hdr, size_t hdr_len, uint64_t file_size,
		  struct bzimage_info *bi, const char **why)
{
	if (why)
		*why = NULL;
	if (!hdr || !bi)
		return refuse(why, "no header buffer", -EINVAL);
	if (hdr_len > file_size)
		return refuse(why, "header buffer longer than the file", -EINVAL);
	if (hdr_len < BZ_VERSION + 2)
		return refuse(why, "file too short for a setup header: not a bzImage", -ENOEXEC);
	if ((uint16_t)le_get(hdr + BZ_BOOT_FLAG, 2) != BZ_BOOT_FLAG_MAGIC)
		return refuse(why, "no 0xAA55 boot flag at 0x1fe: not a bzImage", -ENOEXEC);
	if ((uint32_t)le_get(hdr + BZ_HEADER, 4) != BZ_HDRS_MAGIC)
		return refuse(why, "no HdrS magic at 0x202: not a bzImage", -ENOEXEC);

	uint16_t version = (uint16_t)le_get(hdr + BZ_VERSION, 2);
	if (version < BZ_MIN_VERSION)
		return refuse(why, "boot protocol older than 2.12: no 64-bit entry (xloadflags)", -EINVAL);

	uint32_t hdr_end = 0x202u + hdr[BZ_JUMP + 1];
	if (hdr_end < HDR_END_MIN)
		return refuse(why, "setup header too short for its protocol version (byte at 0x201)",
			      -EINVAL);
	if (hdr_end > ZP_HDR_LIMIT)
		return refuse(why, "setup header runs past 0x290 (byte at 0x201)", -EINVAL);
	if (hdr_end > hdr_len)
		return refuse(why, "file ends inside the setup header", -EINVAL);

	uint16_t xlf = (uint16_t)le_get(hdr + BZ_XLOADFLAGS, 2);
	if (!(xlf & XLF_KERNEL_64))
		return refuse(why, "kernel has no 64-bit entry point (XLF_KERNEL_64 clear)", -EINVAL);

	uint32_t sects = hdr[BZ_SETUP_SECTS] ? hdr[BZ_SETUP_SECTS] : 4;
	uint32_t setup_size = (sects + 1) * 512;
	if (setup_size >= file_size)
		return refuse(why, "setup code extends to or beyond the end of the file", -EINVAL);

	bool relocatable = hdr[BZ_RELOCATABLE] != 0;
	uint32_t align = (uint32_t)le_get(hdr + BZ_KERNEL_ALIGNMENT, 4);
	if (relocatable && (align == 0 || (align & (align - 1))))
		return refuse(why, "relocatable kernel with a kernel_alignment that is not a power of two",
			      -EINVAL);

	memset(bi, 0, sizeof(*bi));
	bi->version = version;
	bi->setup_size = setup_size;
	bi->kernel_offset = setup_size;
	bi->kernel_size = file_size - setup_size;
	bi->hdr_end = hdr_end;
	/* The two fallbacks below are for older protocols than we accept, kept for clarity. */
	bi->initrd_addr_max = version >= 0x0203 ? (uint32_t)le_get(hdr + BZ_INITRD_ADDR_MAX, 4) : 0x37ffffff;
	bi->cmdline_size = version >= 0x0206 ? (uint32_t)le_get(hdr + BZ_CMDLINE_SIZE, 4) : 255;
	bi->kernel_alignment = align;
	bi->relocatable = relocatable;
	bi->xloadflags = xlf;
	bi->init_size = (uint32_t)le_get(hdr + BZ_INIT_SIZE, 4);
	bi->pref_address = (uint64_t)le_get(hdr + BZ_PREF_ADDRESS, 8);
	return 0;
}

int bzimage_setup_zeropage(uint8_t zp[4096], const uint8_t *hdr, const struct bzimage_info *bi,
			   uint64_t cmdline_gpa, uint32_t cmdline_len,
			   uint64_t initrd_gpa, uint32_t initrd_size,
			   const struct e820_entry *e820, unsigned n_e820, uint64_t rsdp_gpa)
{
	if (!zp || !hdr || !bi)
		return -EINVAL;
	if (bi->hdr_end < HDR_END_MIN || bi->hdr_end > ZP_HDR_LIMIT)
		return -EINVAL;
	if (n_e820 > ZP_E820_MAX || (n_e820 && !e820))
		return -EINVAL;
	if (cmdline_len > bi->cmdline_size)
		return -EINVAL;
	if (initrd_size) {
		uint64_t last = initrd_gpa + initrd_size - 1;
		if (last < initrd_gpa || last > bi->initrd_addr_max)
			return -EINVAL;
	}

	memset(zp, 0, ZP_SIZE);
	memcpy(zp + BZ_SETUP_SECTS, hdr + BZ_SETUP_SECTS, bi->hdr_end - BZ_SETUP_SECTS);

	zp[BZ_TYPE_OF_LOADER] = 0xff;
	zp[BZ_LOADFLAGS] = (uint8_t)((zp[BZ_LOADFLAGS] & LOADED_HIGH) | CAN_USE_HEAP);
	le_put(zp + BZ_HEAP_END_PTR, 0xfe00 - 0x200, 2);

	le_put(zp + BZ_CMD_LINE_PTR, (uint32_t)cmdline_gpa, 4);
	le_put(zp + ZP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline_gpa >> 32), 4);

	if (initrd_size) {
		le_put(zp + BZ_RAMDISK_IMAGE, (uint32_t)initrd_gpa, 4);
		le_put(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_gpa >> 32), 4);
	} else {
		le_put(zp + BZ_RAMDISK_IMAGE, 0, 4);
	}
	le_put(zp + BZ_RAMDISK_SIZE, initrd_size, 4);
	/* ext_ramdisk_size stays 0: initrd_size is 32 bits. */

	for (unsigned i = 0; i < n_e820; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;
		le_put(e, e820[i].addr, 8);
		le_put(e + 8, e820[i].size, 8);
		le_put(e + 16, e820[i].type, 4);
	}
	zp[ZP_E820_ENTRIES] = (uint8_t)n_e820;

	if (bi->version >= 0x020e)
		le_put(zp + ZP_ACPI_RSDP_ADDR, rsdp_gpa, 8);
	return 0;
}
