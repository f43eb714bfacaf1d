// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "vmlinux.h"

#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define MAX_VMLINUX (512ULL * MiB)

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int r = mkdir(path, 0755);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -errno;
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/*
 * Appends buf to the file, leaving holes for whole zero pages: about half of
 * a distribution kernel's loaded image is zeros (.bss, .brk and the init
 * scratch area are in its file image), and elf_load skips holes, so the VMM
 * neither copies nor faults in what fresh guest RAM already holds. The
 * caller sets the final size (a trailing hole). Returns 0 or -errno.
 */
static int write_sparse(int fd, const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4096];
	for (size_t i = 0; i < len;) {
		size_t n = len - i < sizeof(zero) ? len - i : sizeof(zero);
		int r = 0;
		if (!memcmp(buf + i, zero, n)) {
			if (lseek(fd, (off_t)n, SEEK_CUR) < 0)
				r = -errno;
		} else {
			r = write_full(fd, buf + i, n);
		}
		if (r < 0)
			return r;
		i += n;
	}
	return 0;
}

/* Decompresses the xz payload (in[0..len)) into out_fd; the last 4 bytes of
 * the payload are the kernel build's appended size, which must match. */
static int unxz(const uint8_t *in, size_t len, int out_fd)
{
	if (len < 16 || memcmp(in, "\xfd" "7zXZ", 6))
		return -ENOTSUP;
	uint64_t want = get32(in + len - 4);
	if (!want || want > MAX_VMLINUX)
		return -EINVAL;
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, MAX_VMLINUX, 0) != LZMA_OK)
		return -ENOMEM;
	size_t chunk = 4 * MiB;
	uint8_t *out = malloc(chunk);
	int r = out ? 0 : -ENOMEM;
	uint64_t total = 0;
	s.next_in = in;
	s.avail_in = len - 4;
	while (!r) {
		s.next_out = out;
		s.avail_out = chunk;
		lzma_ret lr = lzma_code(&s, LZMA_FINISH);
		size_t got = chunk - s.avail_out;
		if (got && (r = write_sparse(out_fd, out, got)) < 0)
			break;
		total += got;
		if (lr == LZMA_STREAM_END)
			break;
		if (lr != LZMA_OK)
			r = -EINVAL;
	}
	lzma_end(&s);
	free(out);
	if (!r && total != want)
		r = -EINVAL;
	if (!r && ftruncate(out_fd, (off_t)total) < 0) /* a trailing hole */
		r = -errno;
	return r;
}

static int decompress(int bz_fd, const uint8_t *hdr, const struct bzimage_info *bi,
	uint64_t file_size, int out_fd)
{
	if (bi->version < 0x208)
		return -ENOTSUP;
	uint64_t off = bi->kernel_offset + get32(hdr + HDR_PAYLOAD_OFFSET);
	uint64_t len = get32(hdr + HDR_PAYLOAD_LENGTH);
	if (!len || off + len > file_size)
		return -EINVAL;
	void *map = mmap(NULL, file_size, PROT_READ, MAP_PRIVATE, bz_fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	int r = unxz((const uint8_t *)map + off, len, out_fd);
	munmap(map, file_size);
	return r;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * The cache key: the size and a hash of the file's first and last 64 KiB
 * (the setup header, and the xz index with every block's CRC32). It survives
 * the file being copied (into a nested guest, say) or seen through another
 * mount (9p remaps inode numbers), and changes when the kernel does.
 */
static int cache_key(int fd, const struct stat *st, char *key, size_t len)
{
	uint8_t buf[64 * 1024];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = st->st_size < (off_t)sizeof(buf) ? (size_t)st->st_size : sizeof(buf);
	int r = pread_full(fd, buf, n, 0);
	if (r < 0)
		return r;
	h = fnv1a(h, buf, n);
	r = pread_full(fd, buf, n, st->st_size - (off_t)n);
	if (r < 0)
		return r;
	h = fnv1a(h, buf, n);
	snprintf(key, len, "%016llx-%llx", (unsigned long long)h, (unsigned long long)st->st_size);
	return 0;
}

int vmlinux_open(int bz_fd, const uint8_t *hdr, const struct bzimage_info *bi, uint64_t file_size,
	const char *cache_dir, const struct nv_log *log)
{
	struct stat st;
	char dir[512], path[700], tmp[720], key[64];
	if (fstat(bz_fd, &st) < 0)
		return -errno;
	bool cached = cache_dir && *cache_dir &&
		snprintf(dir, sizeof(dir) - 16, "%s", cache_dir) < (int)sizeof(dir) - 16 &&
		cache_key(bz_fd, &st, key, sizeof(key)) == 0;
	if (cached) {
		strcat(dir, "/vmlinux");
		snprintf(path, sizeof(path), "%s/%s.sparse.elf", dir, key);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		cached = mkdirs(dir) == 0;
	}
	int fd = -1, r;
	if (cached) {
		snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
		fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		cached = false;
		fd = memfd_create("nestvmm-vmlinux", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	r = decompress(bz_fd, hdr, bi, file_size, fd);
	if (r < 0) {
		if (cached)
			unlink(tmp);
		close(fd);
		return r;
	}
	if (cached && rename(tmp, path) < 0) {
		unlink(tmp);
		cached = false;
	}
	nv_logf(log, NV_LOG_DEBUG, "decompressed the kernel%s%s", cached ? " into " : "",
		cached ? path : "");
	return fd;
}

/*
 * Copies file[off, off + len) to dst, skipping the file's holes: dst is
 * fresh (zero) guest RAM. Where the file system has no SEEK_DATA the whole
 * range is data. 0 or -errno (-EIO: the file is shorter).
 */
static int load_data(int fd, uint8_t *dst, uint64_t len, uint64_t off)
{
	uint64_t pos = off, end = off + len;
	while (pos < end) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
		if (d < 0)
			return errno == ENXIO ? 0 : pread_full(fd, dst + (pos - off), end - pos, (off_t)pos);
		if ((uint64_t)d >= end)
			return 0;
		off_t h = lseek(fd, d, SEEK_HOLE);
		uint64_t stop = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
		int r = pread_full(fd, dst + ((uint64_t)d - off), stop - (uint64_t)d, d);
		if (r < 0)
			return r;
		pos = stop;
	}
	return 0;
}

int elf_load(int fd, struct guest_mem *m, uint64_t *entry, uint64_t *end)
{
	Elf64_Ehdr eh;
	if (pread_full(fd, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
		eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
		eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum || eh.e_phnum > 64)
		return -ENOEXEC;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	*end = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread_full(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) < 0)
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > (uint64_t)st.st_size ||
			ph.p_filesz > (uint64_t)st.st_size - ph.p_offset)
			return -ENOEXEC;
		uint8_t *dst = guest_mem_ptr(m, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return -ENOSPC;
		int r = load_data(fd, dst, ph.p_filesz, ph.p_offset);
		if (r < 0)
			return r == -EIO ? -ENOEXEC : r;
		if (ph.p_paddr + ph.p_memsz > *end)
			*end = ph.p_paddr + ph.p_memsz;
	}
	if (!*end || !guest_mem_ptr(m, eh.e_entry, 1))
		return -ENOEXEC;
	*entry = eh.e_entry;
	return 0;
}
