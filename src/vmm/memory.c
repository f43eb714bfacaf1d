// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "guest_mem.h"
#include "virtqueue.h"

#define HUGE_ALIGN (2u << 20)

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	if (!size || size % 4096)
		return -EINVAL;
	/*
	 * Anonymous memory so that transparent huge pages back the guest (fewer
	 * faults while the kernel decompresses and boots); untouched pages cost
	 * nothing. The VMM's own footprint is everything except this mapping.
	 */
	/*
	 * Aligned to 2 MiB: KVM maps a guest huge page with one large nested
	 * page-table entry only when the host address is congruent with the
	 * guest address modulo 2 MiB. An unaligned mapping (what mmap returns
	 * before Linux 6.7) costs a nested page fault per 4 KiB the guest
	 * touches, which is most of a boot under nested virtualization.
	 */
	uint8_t *raw = mmap(NULL, size + HUGE_ALIGN, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	size_t head = (size_t)(-(uintptr_t)raw & (HUGE_ALIGN - 1));
	uint8_t *p = raw + head;
	if (head)
		munmap(raw, head);
	munmap(p + size, HUGE_ALIGN - head); /* head < HUGE_ALIGN: never empty */
	madvise(p, size, MADV_HUGEPAGE);
	madvise(p, size, MADV_DONTDUMP);
	m->host = p;
	m->size = size;
	m->low_size = size < MEM_HOLE_START ? size : MEM_HOLE_START;
	m->high_size = size - m->low_size;
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (!m || !m->host)
		return;
	munmap(m->host, m->size);
	memset(m, 0, sizeof(*m));
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= m->low_size)
		return m->host + gpa;
	if (gpa >= MEM_4G && gpa - MEM_4G + len <= m->high_size)
		return m->host + m->low_size + (gpa - MEM_4G);
	return NULL;
}

static void *acc_translate(void *opaque, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(opaque, gpa, len);
}

static int acc_read(void *opaque, uint64_t gpa, void *dst, size_t len)
{
	void *p = guest_mem_ptr(opaque, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static int acc_write(void *opaque, uint64_t gpa, const void *src, size_t len)
{
	void *p = guest_mem_ptr(opaque, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

void guest_mem_accessor(struct guest_mem *m, struct gmem *g)
{
	g->translate = acc_translate;
	g->read = acc_read;
	g->write = acc_write;
	g->opaque = m;
}
