/* SPDX-License-Identifier: MIT */
/*
 * Direct kernel entry: the vmlinux ELF inside a bzImage, decompressed once
 * on the host and cached, then loaded straight into guest RAM and entered
 * at its 64-bit entry point (startup_64, %rsi = boot_params). The guest
 * skips its own decompressor: on a stock distro kernel (xz, 8 MB -> 65 MB)
 * that is most of the time before the kernel's first line. The trade-off:
 * without the decompressor there is no KASLR (boot.direct = false keeps it).
 */
#ifndef NV_VMLINUX_H
#define NV_VMLINUX_H

#include <stdint.h>

#include "bzimage.h"
#include "guest_mem.h"

/*
 * Returns an fd of the decompressed vmlinux for the bzImage open at fd
 * (with header bi and file_size): from the cache directory cache_dir when
 * present there, else decompressed now (and stored in cache_dir/vmlinux/
 * when it is writable; cache_dir NULL: into a memfd, every time). log may
 * be NULL (stderr). -ENOTSUP when the payload is not xz, -errno otherwise.
 */
struct nv_log;
int vmlinux_open(int bz_fd, const uint8_t *hdr, const struct bzimage_info *bi, uint64_t file_size,
	const char *cache_dir, const struct nv_log *log);

/*
 * Loads the PT_LOAD segments of the ELF at fd into m at their physical
 * addresses. m's RAM must still be zero (freshly mapped): the file's holes
 * (vmlinux_open leaves whole zero pages as holes) and the part of a segment
 * beyond its file size are not written. *entry = the ELF entry (physical); *end = the highest loaded
 * address. -ENOEXEC for a bad ELF, -ENOSPC when a segment is outside RAM.
 */
int elf_load(int fd, struct guest_mem *m, uint64_t *entry, uint64_t *end);

#endif
