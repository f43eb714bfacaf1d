// SPDX-License-Identifier: MIT
/*
 * Split virtqueues (virtio 1.2, 2.7). The rings live in guest RAM, written
 * concurrently by the guest: every descriptor is copied once and only the
 * copy is trusted; indices are loaded with acquire / stored with release
 * semantics, and a full fence separates "publish used idx / avail_event"
 * from "read the driver's suppression fields".
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtqueue.h"

/* ---- guest memory ---- */

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (!len || gpa + len < gpa)
		return NULL;
	return m->translate(m->opaque, gpa, len);
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len)
{
	if (m->read)
		return m->read(m->opaque, gpa, dst, len);
	if (!len)
		return 0;
	void *p = gmem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len)
{
	if (m->write)
		return m->write(m->opaque, gpa, src, len);
	if (!len)
		return 0;
	void *p = gmem_ptr(m, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

static void *buf_translate(void *opaque, uint64_t gpa, uint64_t len)
{
	struct gmem_buf *b = opaque;
	if (gpa < b->base || gpa - b->base > b->size || len > b->size - (gpa - b->base))
		return NULL;
	return b->buf + (gpa - b->base);
}

void gmem_buf_init(struct gmem *m, struct gmem_buf *b, void *buf, uint64_t base, uint64_t size)
{
	b->buf = buf;
	b->base = base;
	b->size = size;
	*m = (struct gmem){ .translate = buf_translate, .opaque = b };
}

/* ---- little-endian ring fields ---- */

static uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

/* Shared 16-bit index (2-aligned in guest RAM, so aligned in the host mapping). */
static uint16_t ld16_acquire(const uint8_t *p)
{
	uint16_t v = __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
	return le16toh(v);
}

static void st16_release(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELEASE);
}

static void st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static void st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

/* ---- chains ---- */

int vq_chain_init(struct vq_chain *c, unsigned cap)
{
	memset(c, 0, sizeof(*c));
	c->iov = calloc(cap ? cap : 1, sizeof(*c->iov));
	c->gpa = calloc(cap ? cap : 1, sizeof(*c->gpa));
	if (!c->iov || !c->gpa) {
		vq_chain_free(c);
		return -ENOMEM;
	}
	c->cap = cap;
	return 0;
}

void vq_chain_free(struct vq_chain *c)
{
	if (!c)
		return;
	free(c->iov);
	free(c->gpa);
	memset(c, 0, sizeof(*c));
}

static size_t chain_copy(const struct vq_chain *c, unsigned first, unsigned n, uint64_t off,
			 void *buf, size_t len, bool to_guest)
{
	size_t done = 0;
	for (unsigned i = first; i < first + n && done < len; i++) {
		size_t sl = c->iov[i].iov_len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		size_t k = sl - (size_t)off;
		if (k > len - done)
			k = len - done;
		uint8_t *g = (uint8_t *)c->iov[i].iov_base + off;
		if (to_guest)
			memcpy(g, (const uint8_t *)buf + done, k);
		else
			memcpy((uint8_t *)buf + done, g, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, size_t len)
{
	return chain_copy(c, 0, c->nread, off, dst, len, false);
}

size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, size_t len)
{
	return chain_copy(c, c->nread, c->nwrite, off, (void *)src, len, true);
}

/* ---- queue ---- */

int vq_init(struct virtqueue *vq, unsigned index, uint16_t max_size, const struct gmem *mem)
{
	memset(vq, 0, sizeof(*vq));
	if (!max_size || max_size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	vq->inflight = calloc((max_size + 7u) / 8, 1);
	if (!vq->inflight)
		return -ENOMEM;
	pthread_mutex_init(&vq->lock, NULL);
	vq->index = index;
	vq->max_size = max_size;
	vq->size = max_size;
	vq->mem = mem;
	return 0;
}

void vq_destroy(struct virtqueue *vq)
{
	if (!vq || !vq->inflight)
		return;
	free(vq->inflight);
	vq->inflight = NULL;
	pthread_mutex_destroy(&vq->lock);
}

void vq_lock(struct virtqueue *vq) { pthread_mutex_lock(&vq->lock); }
bool vq_trylock(struct virtqueue *vq) { return pthread_mutex_trylock(&vq->lock) == 0; }
void vq_unlock(struct virtqueue *vq) { pthread_mutex_unlock(&vq->lock); }

void vq_set_broken(struct virtqueue *vq, const char *why)
{
	if (vq->broken)
		return;
	vq->broken = true;
	if (vq->on_error)
		vq->on_error(vq->cb_opaque, vq, why);
}

void vq_halt(struct virtqueue *vq)
{
	__atomic_store_n(&vq->halted, true, __ATOMIC_RELEASE);
}

static bool halted(const struct virtqueue *vq)
{
	return __atomic_load_n(&vq->halted, __ATOMIC_ACQUIRE);
}

void vq_reset(struct virtqueue *vq)
{
	vq->size = vq->max_size;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->event_idx = vq->indirect = false;
	vq->ready = vq->broken = false;
	vq->desc = vq->avail = vq->used = NULL;
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = vq->suppressed = false;
	memset(vq->inflight, 0, (vq->max_size + 7u) / 8);
	vq->ninflight = 0;
}

int vq_start(struct virtqueue *vq)
{
	uint16_t n = vq->size;
	const char *why = NULL;
	if (!n || n > vq->max_size)
		why = "queue size out of range";
	else if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		why = "misaligned ring";
	else if (!(vq->desc = gmem_ptr(vq->mem, vq->desc_gpa, VIRTQ_DESC_BYTES(n))) ||
		 !(vq->avail = gmem_ptr(vq->mem, vq->avail_gpa, VIRTQ_AVAIL_BYTES(n))) ||
		 !(vq->used = gmem_ptr(vq->mem, vq->used_gpa, VIRTQ_USED_BYTES(n))))
		why = "ring outside guest RAM";
	if (why) {
		vq->desc = vq->avail = vq->used = NULL;
		vq_set_broken(vq, why);
		return -EINVAL;
	}
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->ready = true;
	return 0;
}

static bool inflight_test(const struct virtqueue *vq, uint16_t h)
{
	return vq->inflight[h / 8] & (1u << (h % 8));
}

static void inflight_set(struct virtqueue *vq, uint16_t h, bool on)
{
	if (on)
		vq->inflight[h / 8] |= (uint8_t)(1u << (h % 8));
	else
		vq->inflight[h / 8] &= (uint8_t)~(1u << (h % 8));
}

/* avail_event (EVENT_IDX) or used->flags: ask for a notification on the next buffer. */
static void notify_enable(struct virtqueue *vq)
{
	if (vq->event_idx)
		st16(vq->used + 4 + 8 * (size_t)vq->size, vq->last_avail);
	else
		st16(vq->used, 0);
}

void vq_suppress_notify(struct virtqueue *vq, bool suppress)
{
	vq->suppressed = suppress;
	if (!vq->ready || vq->broken)
		return;
	if (!suppress)
		notify_enable(vq);
	else if (!vq->event_idx)
		st16(vq->used, VIRTQ_USED_F_NO_NOTIFY);
	/* With EVENT_IDX, suppression is leaving avail_event behind. */
}

void vq_notify_off(struct virtqueue *vq)
{
	vq->suppressed = true;
	if (!vq->ready || vq->broken)
		return;
	if (vq->event_idx) /* one behind the next entry: the next buffer does not notify */
		st16(vq->used + 4 + 8 * (size_t)vq->size, (uint16_t)(vq->last_avail - 1));
	else
		st16(vq->used, VIRTQ_USED_F_NO_NOTIFY);
}

bool vq_has_avail(struct virtqueue *vq)
{
	return vq->ready && !vq->broken && !halted(vq) && ld16_acquire(vq->avail + 2) != vq->last_avail;
}

/* Walks the chain at head into c. NULL on success, else the reason it is hostile. */
static const char *walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	const uint8_t *table = vq->desc;
	uint32_t tsize = vq->size, idx = head, count = 0;
	bool in_indirect = false;
	c->nread = c->nwrite = 0;
	c->read_len = c->write_len = 0;
	c->head = head;
	for (;;) {
		if (++count > vq->size)
			return "descriptor chain longer than the queue (or a loop)";
		uint8_t d[VIRTQ_DESC_SIZE];
		memcpy(d, table + (size_t)idx * VIRTQ_DESC_SIZE, sizeof(d));
		uint64_t addr = ld64(d);
		uint32_t len = ld32(d + 8);
		uint16_t flags = ld16(d + 12), next = ld16(d + 14);
		if (addr + len < addr)
			return "descriptor address + length overflows";
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return "indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC";
			if (in_indirect)
				return "nested indirect descriptor";
			if (flags & VIRTQ_DESC_F_NEXT)
				return "indirect descriptor with F_NEXT";
			if (!len || len % VIRTQ_DESC_SIZE || len / VIRTQ_DESC_SIZE > vq->size)
				return "bad indirect table length";
			if (addr & 7)
				return "misaligned indirect table";
			table = gmem_ptr(vq->mem, addr, len);
			if (!table)
				return "indirect table outside guest RAM";
			tsize = len / VIRTQ_DESC_SIZE;
			in_indirect = true;
			idx = 0;
			count--; /* the pointer to the table is not part of the chain */
			continue;
		}
		bool w = flags & VIRTQ_DESC_F_WRITE;
		if (!w && c->nwrite)
			return "device-readable descriptor after a writable one";
		void *p = NULL;
		if (len && !(p = gmem_ptr(vq->mem, addr, len)))
			return "descriptor buffer outside guest RAM";
		unsigned i = c->nread + c->nwrite;
		if (i >= c->cap)
			return "chain longer than the caller's capacity";
		c->iov[i].iov_base = p;
		c->iov[i].iov_len = len;
		c->gpa[i] = addr;
		if (w) {
			c->nwrite++;
			c->write_len += len;
		} else {
			c->nread++;
			c->read_len += len;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		if (next >= tsize)
			return "descriptor next index out of range";
		idx = next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	if (vq->broken)
		return -EIO;
	if (!vq->ready || halted(vq))
		return 0;
	if (c->cap < vq->size)
		return -ENOSPC;
	uint16_t avail_idx = ld16_acquire(vq->avail + 2);
	if (avail_idx == vq->last_avail) {
		/* Empty: re-enable notifications, then look again (the driver may
		 * have added a buffer after our load but before seeing the flag). */
		vq->suppressed = false;
		notify_enable(vq);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = ld16_acquire(vq->avail + 2);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq_set_broken(vq, "avail index moved more than the queue size");
		return -EIO;
	}
	uint16_t head = ld16(vq->avail + 4 + 2 * (size_t)(vq->last_avail % vq->size));
	const char *why = NULL;
	if (head >= vq->size)
		why = "avail ring head out of range";
	else if (inflight_test(vq, head))
		why = "avail ring offers a head that is already in flight";
	else
		why = walk_chain(vq, head, c);
	if (why) {
		vq_set_broken(vq, why);
		return -EIO;
	}
	inflight_set(vq, head, true);
	vq->ninflight++;
	vq->last_avail++;
	if (vq->event_idx && !vq->suppressed)
		notify_enable(vq);
	return 1;
}

int vq_push_head(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	if (vq->broken || !vq->ready)
		return -EIO;
	if (head >= vq->size || !inflight_test(vq, head))
		return -EINVAL;
	uint8_t *e = vq->used + 4 + 8 * (size_t)(vq->used_idx % vq->size);
	st32(e, head);
	st32(e + 4, written);
	vq->used_idx++;
	st16_release(vq->used + 2, vq->used_idx);
	inflight_set(vq, head, false);
	vq->ninflight--;
	return 0;
}

int vq_push(struct virtqueue *vq, const struct vq_chain *c, uint32_t written)
{
	if (written > c->write_len)
		written = (uint32_t)(c->write_len > UINT32_MAX ? UINT32_MAX : c->write_len);
	return vq_push_head(vq, c->head, written);
}

bool vq_signal(struct virtqueue *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	if (old == now)
		return false; /* nothing used since the last interrupt */
	/* Our used idx store must be visible before we read the driver's fields. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool need;
	if (vq->event_idx) {
		uint16_t ev = ld16_acquire(vq->avail + 4 + 2 * (size_t)vq->size);
		need = !vq->signalled_valid || (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		need = !(ld16_acquire(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (need && vq->on_signal)
		vq->on_signal(vq->cb_opaque, vq);
	return need;
}
