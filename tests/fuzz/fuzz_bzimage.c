// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the input is a whole "file". bzimage_parse sees its first
 * 64 KiB; when it accepts, the zero page is built from what it returned and
 * the results are checked against the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bzimage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t hdr_len = size < 65536 ? size : 65536;
	struct bzimage_info bi;
	const char *why = NULL;
	int rc = bzimage_parse(data, hdr_len, size, &bi, &why);
	if (rc) {
		CHECK(why && *why);
		return 0;
	}
	CHECK(!why);
	CHECK(bi.version >= 0x020c && (bi.xloadflags & XLF_KERNEL_64));
	CHECK(bi.kernel_offset == bi.setup_size && bi.kernel_offset + bi.kernel_size == size);
	CHECK(bi.kernel_size > 0);
	CHECK(bi.hdr_end <= hdr_len && bi.hdr_end <= ZP_HDR_LIMIT);

	static const struct e820_entry e820[] = {
		{ 0, 0x9fc00, E820_RAM },
		{ 0x100000, 0x3ff00000, E820_RAM },
	};
	uint8_t zp[ZP_SIZE];
	uint32_t cmdline_len = bi.cmdline_size > 64 ? 64 : bi.cmdline_size;
	/* An initrd ending at 16 MiB when the kernel allows it, none otherwise. */
	uint32_t initrd_size = bi.initrd_addr_max >= 0xffffff ? 0x100000 : 0;
	uint64_t initrd_gpa = initrd_size ? 0xf00000 : 0;
	rc = bzimage_setup_zeropage(zp, data, &bi, 0x20000, cmdline_len, initrd_gpa, initrd_size,
				    e820, 2, 0xe0000);
	CHECK(rc == 0);
	CHECK(memcmp(zp + BZ_HEADER, "HdrS", 4) == 0);
	CHECK(zp[BZ_TYPE_OF_LOADER] == 0xff && zp[ZP_E820_ENTRIES] == 2);
	for (unsigned i = bi.hdr_end; i < ZP_E820_TABLE; i++)
		CHECK(zp[i] == 0);

	/* Refusals the zero page must make whatever the header says. */
	if (bi.cmdline_size < UINT32_MAX)
		CHECK(bzimage_setup_zeropage(zp, data, &bi, 0, bi.cmdline_size + 1, 0, 0, NULL, 0, 0) < 0);
	CHECK(bzimage_setup_zeropage(zp, data, &bi, 0, 0, 0, 0, e820, ZP_E820_MAX + 1, 0) < 0);
	return 0;
}
