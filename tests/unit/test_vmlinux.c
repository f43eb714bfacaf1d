// SPDX-License-Identifier: MIT
/*
 * Direct boot's kernel cache: a bzImage whose xz payload is an ELF with
 * zero-filled stretches is decompressed once into the cache as a sparse
 * file (whole zero pages are holes), and elf_load puts every segment's
 * bytes at its physical address, holes included as zeros.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest_mem.h"
#include "util.h"
#include "vmlinux.h"

#define SEG0_PADDR 0x100000ull
#define SEG0_SIZE  (64 * 4096)    /* data, 48 zero pages, data */
#define SEG1_PADDR 0x200000ull
#define SEG1_SIZE  (32 * 4096)    /* all zeros but the last byte */
#define SEG1_MEMSZ (40 * 4096)    /* + 8 pages past the file image */
#define ELF_SIZE   (0x1000 + SEG0_SIZE + SEG1_SIZE)

static uint8_t *make_elf(void)
{
	uint8_t *e = calloc(1, ELF_SIZE);
	assert_non_null(e);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)e;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = SEG0_PADDR;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	Elf64_Phdr *ph = (Elf64_Phdr *)(e + sizeof(*eh));
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = SEG0_PADDR,
		.p_filesz = SEG0_SIZE, .p_memsz = SEG0_SIZE };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000 + SEG0_SIZE,
		.p_paddr = SEG1_PADDR, .p_filesz = SEG1_SIZE, .p_memsz = SEG1_MEMSZ };
	uint8_t *s0 = e + 0x1000;
	for (unsigned i = 0; i < 8 * 4096; i++)
		s0[i] = (uint8_t)(i * 7 + 1);
	for (unsigned i = 56 * 4096; i < SEG0_SIZE; i++)
		s0[i] = (uint8_t)(i * 13 + 3);
	s0[20 * 4096 + 5] = 0x5a; /* one byte inside the zero stretch: not a hole */
	e[0x1000 + SEG0_SIZE + SEG1_SIZE - 1] = 0xa5;
	return e;
}

/* A bzImage (boot protocol 2.15) whose payload is elf, xz-compressed. */
static uint8_t *make_bzimage(const uint8_t *elf, size_t elf_len, size_t *len,
	struct bzimage_info *bi)
{
	size_t cap = elf_len + 65536, xz_len = 0;
	uint8_t *xz = malloc(cap);
	assert_non_null(xz);
	assert_int_equal(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, elf, elf_len, xz,
		&xz_len, cap), LZMA_OK);
	size_t setup = 5 * 512, payload_off = 0x200;
	*len = setup + payload_off + xz_len + 4;
	uint8_t *bz = calloc(1, *len);
	assert_non_null(bz);
	le_put(bz + 0x248, payload_off, 4);
	le_put(bz + 0x24c, xz_len + 4, 4);
	memcpy(bz + setup + payload_off, xz, xz_len);
	le_put(bz + setup + payload_off + xz_len, elf_len, 4); /* the appended size */
	free(xz);
	memset(bi, 0, sizeof(*bi));
	bi->version = 0x20f;
	bi->setup_size = (uint32_t)setup;
	bi->kernel_offset = setup;
	bi->kernel_size = *len - setup;
	return bz;
}

static char cache_dir[] = "/tmp/nv-vmlinux-test.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(cache_dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cache_dir);
	return system(cmd);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, p, n), 0);
	close(fd);
}

static void check_loaded(const uint8_t *elf, int fd)
{
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	/* Host RAM is 2 MiB aligned, so KVM can map guest huge pages whole. */
	assert_int_equal((uintptr_t)m.host & (2 * MiB - 1), 0);
	uint64_t entry = 0, end = 0;
	assert_int_equal(elf_load(fd, &m, &entry, &end), 0);
	assert_int_equal(entry, SEG0_PADDR);
	assert_int_equal(end, SEG1_PADDR + SEG1_MEMSZ);
	assert_memory_equal(guest_mem_ptr(&m, SEG0_PADDR, SEG0_SIZE), elf + 0x1000, SEG0_SIZE);
	assert_memory_equal(guest_mem_ptr(&m, SEG1_PADDR, SEG1_SIZE), elf + 0x1000 + SEG0_SIZE,
		SEG1_SIZE);
	const uint8_t *tail = guest_mem_ptr(&m, SEG1_PADDR + SEG1_SIZE, SEG1_MEMSZ - SEG1_SIZE);
	for (unsigned i = 0; i < SEG1_MEMSZ - SEG1_SIZE; i++)
		assert_int_equal(tail[i], 0);
	guest_mem_free(&m);
}

static void test_cache_is_sparse_and_loads(void **state)
{
	(void)state;
	uint8_t *elf = make_elf();
	struct bzimage_info bi;
	size_t bz_len;
	uint8_t *bz = make_bzimage(elf, ELF_SIZE, &bz_len, &bi);
	char path[256];
	snprintf(path, sizeof(path), "%s/bzImage", cache_dir);
	write_file(path, bz, bz_len);
	int bfd = open(path, O_RDONLY);
	assert_true(bfd >= 0);

	int fd = vmlinux_open(bfd, bz, &bi, bz_len, cache_dir, NULL);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, ELF_SIZE);
	uint8_t *back = malloc(ELF_SIZE);
	assert_non_null(back);
	assert_int_equal(pread_full(fd, back, ELF_SIZE, 0), 0);
	assert_memory_equal(back, elf, ELF_SIZE); /* the holes read back as zeros */
	/* The zero stretches are holes (/tmp keeps holes: ext4, tmpfs, xfs, btrfs). */
	assert_true(lseek(fd, 0, SEEK_HOLE) < ELF_SIZE);
	assert_true(st.st_blocks * 512 <= ELF_SIZE - 40 * 4096);
	check_loaded(elf, fd);
	close(fd);

	/* The second open comes from the cache, with the same bytes. */
	fd = vmlinux_open(bfd, bz, &bi, bz_len, cache_dir, NULL);
	assert_true(fd >= 0);
	assert_int_equal(pread_full(fd, back, ELF_SIZE, 0), 0);
	assert_memory_equal(back, elf, ELF_SIZE);
	check_loaded(elf, fd);
	close(fd);
	close(bfd);
	free(back);
	free(bz);
	free(elf);
}

/* A plain (non-sparse) file loads the same: no SEEK_DATA games assumed. */
static void test_plain_file_loads(void **state)
{
	(void)state;
	uint8_t *elf = make_elf();
	char path[256];
	snprintf(path, sizeof(path), "%s/plain.elf", cache_dir);
	write_file(path, elf, ELF_SIZE);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	check_loaded(elf, fd);
	close(fd);
	free(elf);
}

/* A truncated file (a segment beyond its end) is refused, not half-loaded silently. */
static void test_truncated_refused(void **state)
{
	(void)state;
	uint8_t *elf = make_elf();
	char path[256];
	snprintf(path, sizeof(path), "%s/short.elf", cache_dir);
	write_file(path, elf, ELF_SIZE - 4096);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct guest_mem m;
	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	uint64_t entry, end;
	assert_int_equal(elf_load(fd, &m, &entry, &end), -ENOEXEC);
	guest_mem_free(&m);
	close(fd);
	free(elf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_is_sparse_and_loads),
		cmocka_unit_test(test_plain_file_loads),
		cmocka_unit_test(test_truncated_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
