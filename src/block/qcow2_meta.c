// SPDX-License-Identifier: MIT
/*
 * qcow2 metadata: the L2 table cache (LRU, write-back), the refcount block
 * cache, cluster allocation (new refcount blocks and a bigger refcount table
 * when the file outgrows them) and the ordered write-back that keeps the
 * image consistent after a crash at any point:
 *
 *   A. refcount blocks, the refcount table and new L2 tables (which nothing
 *      on disk points at yet) are written; fdatasync: the guest's data in new
 *      clusters and the refcounts that claim them are durable;
 *   B. the changed L2 tables and L1 entries, which point at them; fdatasync;
 *   C. the clusters those changes dropped are unreferenced (refcount
 *      decremented, space punched out).
 *
 * So an L2 or L1 entry on disk never points at a cluster whose data or
 * refcount is not durable, and no refcount is dropped while an entry on disk
 * still points at its cluster: a crash leaks clusters at worst. Clusters
 * are handed out from the end of the file and never reused, so a cluster
 * the guest is writing was never part of anything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_internal.h"
#include "util.h"

int qcow2_iov_reserve(struct qcow2 *q, int n)
{
	if (n <= q->iov_cap)
		return 0;
	struct iovec *v = realloc(q->iov, (size_t)n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	q->iov = v;
	q->iov_cap = n;
	return 0;
}

int qcow2_preadv(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		if (off > (uint64_t)INT64_MAX)
			return -EIO;
		ssize_t r = preadv(fd, iov, n < IOV_MAX ? n : IOV_MAX, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) { /* past the end of the file: zeros, as a hole */
			for (int i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)r;
		size_t done = (size_t)r;
		while (n > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

int qcow2_pread(int fd, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	return qcow2_preadv(fd, &v, 1, off);
}

int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };
	int r = pwritev_full(q->fd, &v, 1, (off_t)off);
	if (r == 0 && off + len > q->file_size)
		q->file_size = off + len;
	return r;
}

int qcow2_sync(struct qcow2 *q)
{
	q->st.syncs++;
	return fdatasync(q->fd) ? -errno : 0;
}

/* ---- refcount entries of any width (refcount_order 0..6) ---- */

static uint64_t rc_get(const uint8_t *t, uint64_t i, unsigned order)
{
	if (order < 3) {
		unsigned bits = 1u << order;
		uint64_t bit = i * bits;
		return (uint64_t)(t[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	unsigned w = 1u << (order - 3);
	uint64_t v = 0;
	for (unsigned k = 0; k < w; k++)
		v = v << 8 | t[i * w + k];
	return v;
}

static void rc_put(uint8_t *t, uint64_t i, unsigned order, uint64_t v)
{
	if (order < 3) {
		unsigned bits = 1u << order;
		uint64_t bit = i * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
		t[bit / 8] = (uint8_t)((t[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
		return;
	}
	unsigned w = 1u << (order - 3);
	for (unsigned k = 0; k < w; k++)
		t[i * w + k] = (uint8_t)(v >> (8 * (w - 1 - k)));
}

/* ---- the refcount block cache ---- */

static int rb_write(struct qcow2 *q, struct qcow2_rb *s)
{
	int r = qcow2_pwrite(q, s->t, q->cluster_size, q->rt[s->rti]);
	if (r == 0)
		s->dirty = false;
	return r;
}

/* A slot for a refcount block: free, or the least recently used one (written back). */
static int rb_victim(struct qcow2 *q, struct qcow2_rb **out)
{
	struct qcow2_rb *v = NULL;
	for (unsigned i = 0; i < QCOW2_RB_SLOTS && !(v && !v->valid); i++)
		if (!v || !q->rb[i].valid || q->rb[i].used < v->used)
			v = &q->rb[i];
	if (v->valid && v->dirty) {
		int r = rb_write(q, v);
		if (r < 0)
			return r;
	}
	v->valid = false;
	if (!v->t && !(v->t = malloc(q->cluster_size)))
		return -ENOMEM;
	*out = v;
	return 0;
}

/* The refcount block of table entry rti, which must have one. */
static int rb_get(struct qcow2 *q, uint64_t rti, struct qcow2_rb **out)
{
	struct qcow2_rb *s;
	for (unsigned i = 0; i < QCOW2_RB_SLOTS; i++) {
		if (q->rb[i].valid && q->rb[i].rti == rti) {
			q->rb[i].used = ++q->tick;
			*out = &q->rb[i];
			return 0;
		}
	}
	int r = rb_victim(q, &s);
	if (r < 0)
		return r;
	r = qcow2_pread(q->fd, s->t, q->cluster_size, q->rt[rti]);
	if (r < 0)
		return r;
	s->rti = rti;
	s->valid = true;
	s->dirty = false;
	s->used = ++q->tick;
	*out = s;
	return 0;
}

static int rb_flush_all(struct qcow2 *q)
{
	for (unsigned i = 0; i < QCOW2_RB_SLOTS; i++) {
		if (q->rb[i].valid && q->rb[i].dirty) {
			int r = rb_write(q, &q->rb[i]);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int64_t qcow2_refcount(struct qcow2 *q, uint64_t off)
{
	uint64_t x = off >> q->cluster_bits, rti = x >> q->rb_bits;
	struct qcow2_rb *s;
	if (rti >= q->rt_entries || !q->rt[rti])
		return 0;
	int r = rb_get(q, rti, &s);
	if (r < 0)
		return r;
	return (int64_t)rc_get(s->t, x & ((1ULL << q->rb_bits) - 1), q->refcount_order);
}

/* Sets the refcount of host cluster x; -ENOENT when it has no refcount block. */
static int rc_set(struct qcow2 *q, uint64_t x, uint64_t v)
{
	uint64_t rti = x >> q->rb_bits;
	struct qcow2_rb *s;
	if (rti >= q->rt_entries || !q->rt[rti])
		return -ENOENT;
	int r = rb_get(q, rti, &s);
	if (r < 0)
		return r;
	rc_put(s->t, x & ((1ULL << q->rb_bits) - 1), q->refcount_order, v);
	s->dirty = true;
	return 0;
}

/* ---- allocation ---- */

/* Writes the refcount table (host order in memory) as big-endian, 4 KiB at a time. */
static int rt_write(struct qcow2 *q, const uint64_t *rt, uint64_t entries, uint64_t at)
{
	uint64_t buf[512];
	for (uint64_t i = 0; i < entries; i += 512) {
		uint64_t k = entries - i < 512 ? entries - i : 512;
		for (uint64_t j = 0; j < k; j++)
			buf[j] = htobe64(rt[i + j]);
		int r = qcow2_pwrite(q, buf, k * 8, at + i * 8);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The cluster at alloc_ptr falls under refcount table entry rti, which has
 * no block: a new block there, describing itself, written and synced before
 * the table entry that points at it can reach the disk.
 */
static int new_refblock(struct qcow2 *q, uint64_t rti)
{
	uint64_t x = q->alloc_ptr >> q->cluster_bits;
	struct qcow2_rb *s;
	int r = rb_victim(q, &s);
	if (r < 0)
		return r;
	memset(s->t, 0, q->cluster_size);
	rc_put(s->t, x & ((1ULL << q->rb_bits) - 1), q->refcount_order, 1);
	if ((r = qcow2_pwrite(q, s->t, q->cluster_size, q->alloc_ptr)) < 0 || (r = qcow2_sync(q)) < 0)
		return r;
	q->rt[rti] = q->alloc_ptr;
	q->rt_dirty = true;
	s->rti = rti;
	s->valid = true;
	s->dirty = false;
	s->used = ++q->tick;
	q->alloc_ptr += q->cluster_size;
	q->st.clusters_allocated++;
	return 0;
}

/* Missing refcount blocks for host clusters [from, to) under a table of rt_entries. */
static uint64_t missing_blocks(const struct qcow2 *q, uint64_t from, uint64_t to)
{
	uint64_t m = 0;
	for (uint64_t r = from >> q->rb_bits; r <= (to - 1) >> q->rb_bits; r++)
		if (r >= q->rt_entries || !q->rt[r])
			m++;
	return m;
}

/*
 * The refcount table is too small for index need: a bigger one at the end
 * of the file, followed by the refcount blocks that it and they need,
 * written and synced; then the header is switched to it (synced) and the
 * old table's clusters are freed.
 */
static int grow_rt(struct qcow2 *q, uint64_t need)
{
	uint64_t cs = q->cluster_size, per = cs / 8, start = q->alloc_ptr >> q->cluster_bits;
	uint64_t entries = need + 1 > q->rt_entries * 2 ? need + 1 : q->rt_entries * 2;
	uint64_t k, nrb = 0, end;
	uint64_t *nrt = NULL;
	uint8_t *blk = NULL;
	int r;

	for (;;) {
		k = (entries + per - 1) / per;
		if (k * cs > QCOW2_MAX_RT_BYTES)
			return -EFBIG;
		for (nrb = 0;;) { /* the new blocks may need blocks of their own */
			uint64_t m = missing_blocks(q, start, start + k + nrb);
			if (m == nrb)
				break;
			nrb = m;
		}
		end = start + k + nrb;
		if (((end - 1) >> q->rb_bits) < k * per)
			break;
		entries = ((end - 1) >> q->rb_bits) + 1;
	}
	if ((end << q->cluster_bits) > QCOW2_MAX_HOST)
		return -ENOSPC;
	nrt = calloc(k * per, sizeof(*nrt));
	blk = malloc(cs);
	if (!nrt || !blk) {
		r = -ENOMEM;
		goto cleanup;
	}
	memcpy(nrt, q->rt, q->rt_entries * sizeof(*nrt));
	/* The new blocks, in range order, after the table. */
	uint64_t at = start + k;
	for (uint64_t rr = start >> q->rb_bits; rr <= (end - 1) >> q->rb_bits; rr++) {
		if (rr < q->rt_entries && q->rt[rr])
			continue;
		nrt[rr] = at << q->cluster_bits;
		memset(blk, 0, cs);
		for (uint64_t c = start; c < end; c++)
			if (c >> q->rb_bits == rr)
				rc_put(blk, c & ((1ULL << q->rb_bits) - 1), q->refcount_order, 1);
		if ((r = qcow2_pwrite(q, blk, cs, at << q->cluster_bits)) < 0)
			goto cleanup;
		at++;
	}
	/* Clusters under existing blocks. */
	for (uint64_t c = start; c < end; c++) {
		uint64_t rr = c >> q->rb_bits;
		if (rr < q->rt_entries && q->rt[rr] && (r = rc_set(q, c, 1)) < 0)
			goto cleanup;
	}
	if ((r = rb_flush_all(q)) < 0 || (r = rt_write(q, nrt, k * per, start << q->cluster_bits)) < 0 ||
			(r = qcow2_sync(q)) < 0)
		goto cleanup;
	uint8_t hdr[12];
	for (int i = 0; i < 8; i++)
		hdr[i] = (uint8_t)((start << q->cluster_bits) >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		hdr[8 + i] = (uint8_t)(k >> (24 - 8 * i));
	if ((r = qcow2_pwrite(q, hdr, sizeof(hdr), 48)) < 0 || (r = qcow2_sync(q)) < 0)
		goto cleanup;
	/* Switched: the old table is garbage now. */
	uint64_t old = q->rt_offset, oldc = q->rt_clusters;
	free(q->rt);
	q->rt = nrt;
	nrt = NULL;
	q->rt_entries = k * per;
	q->rt_offset = start << q->cluster_bits;
	q->rt_clusters = (uint32_t)k;
	q->rt_dirty = false;
	q->alloc_ptr = end << q->cluster_bits;
	q->st.clusters_allocated += k + nrb;
	for (uint64_t c = 0; c < oldc; c++)
		if ((r = rc_set(q, (old >> q->cluster_bits) + c, 0)) < 0 && r != -ENOENT)
			goto cleanup;
	if (fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)old,
			(off_t)(oldc * cs)) < 0) {
		/* only space: the refcounts say free */
	}
	r = 0;
cleanup:
	free(nrt);
	free(blk);
	return r;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off)
{
	if (q->broken)
		return -EIO;
	for (int i = 0; i < 8; i++) {
		uint64_t x = q->alloc_ptr >> q->cluster_bits, rti = x >> q->rb_bits;
		int r;
		if (q->alloc_ptr + q->cluster_size > QCOW2_MAX_HOST)
			return -ENOSPC;
		if (rti >= q->rt_entries) {
			r = grow_rt(q, rti);
		} else if (!q->rt[rti]) {
			r = new_refblock(q, rti);
		} else {
			r = rc_set(q, x, 1);
			if (r == 0) {
				*off = q->alloc_ptr;
				q->alloc_ptr += q->cluster_size;
				q->st.clusters_allocated++;
				return 0;
			}
		}
		if (r < 0) {
			if (r != -ENOSPC && r != -EFBIG && r != -ENOMEM)
				q->broken = true;
			return r;
		}
	}
	return -EIO;
}

int qcow2_free_later(struct qcow2 *q, uint64_t off)
{
	if (q->nfree == q->capfree) {
		size_t cap = q->capfree ? q->capfree * 2 : 64;
		uint64_t *p = realloc(q->pending_free, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		q->pending_free = p;
		q->capfree = cap;
	}
	q->pending_free[q->nfree++] = off;
	return 0;
}

/* ---- the L2 table cache ---- */

static int l2_write(struct qcow2 *q, struct qcow2_l2 *s)
{
	int r = qcow2_pwrite(q, s->t, q->cluster_size, s->host);
	if (r == 0)
		s->dirty = s->fresh = false;
	return r;
}

static int l1_write(struct qcow2 *q)
{
	uint64_t buf[QCOW2_L1_CHUNK];
	for (uint32_t c = 0; c * QCOW2_L1_CHUNK < q->l1_size; c++) {
		if (!q->l1_dirty[c])
			continue;
		uint32_t i0 = c * QCOW2_L1_CHUNK;
		uint32_t k = q->l1_size - i0 < QCOW2_L1_CHUNK ? q->l1_size - i0 : QCOW2_L1_CHUNK;
		for (uint32_t j = 0; j < k; j++)
			buf[j] = htobe64(q->l1[i0 + j]);
		int r = qcow2_pwrite(q, buf, (size_t)k * 8, q->l1_offset + (uint64_t)i0 * 8);
		if (r < 0)
			return r;
		q->l1_dirty[c] = false;
	}
	return 0;
}

static int apply_frees(struct qcow2 *q)
{
	for (size_t i = 0; i < q->nfree; i++) {
		uint64_t off = q->pending_free[i];
		int64_t c = qcow2_refcount(q, off);
		if (c < 0)
			return (int)c;
		if (c == 0)
			continue; /* inconsistent already: nothing to drop */
		int r = rc_set(q, off >> q->cluster_bits, (uint64_t)c - 1);
		if (r < 0)
			return r;
		q->st.clusters_freed++;
		if (c == 1)
			(void)fallocate(q->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				(off_t)q->cluster_size); /* only space; a hint */
	}
	q->nfree = 0;
	return rb_flush_all(q);
}

int qcow2_meta_flush(struct qcow2 *q)
{
	bool later = false;
	int r;

	if (q->b.readonly)
		return 0;
	if (q->broken)
		return -EIO;
	q->st.meta_flushes++;
	/* A: what nothing on disk points at yet, and the refcounts. */
	if ((r = rb_flush_all(q)) < 0)
		goto fail;
	if (q->rt_dirty) {
		if ((r = rt_write(q, q->rt, q->rt_entries, q->rt_offset)) < 0)
			goto fail;
		q->rt_dirty = false;
	}
	for (unsigned i = 0; i < q->nl2; i++) {
		struct qcow2_l2 *s = &q->l2[i];
		if (s->valid && s->fresh && (r = l2_write(q, s)) < 0)
			goto fail;
		later |= s->valid && s->dirty;
	}
	for (uint32_t c = 0; !later && c * QCOW2_L1_CHUNK < q->l1_size; c++)
		later = q->l1_dirty[c];
	if ((r = qcow2_sync(q)) < 0)
		goto fail;
	/* B: the entries that point at them. */
	if (later) {
		for (unsigned i = 0; i < q->nl2; i++)
			if (q->l2[i].valid && q->l2[i].dirty && (r = l2_write(q, &q->l2[i])) < 0)
				goto fail;
		if ((r = l1_write(q)) < 0 || (r = qcow2_sync(q)) < 0)
			goto fail;
	}
	/* C: what they no longer point at. */
	if ((r = apply_frees(q)) < 0)
		goto fail;
	return 0;
fail:
	q->broken = true;
	return r;
}

/* A slot for a table: free, or the least recently used clean one (everything written back first
 * when every slot is dirty). */
static int l2_victim(struct qcow2 *q, struct qcow2_l2 **out)
{
	struct qcow2_l2 *v = NULL;
	for (int pass = 0; pass < 2 && !v; pass++) {
		for (unsigned i = 0; i < q->nl2; i++) {
			struct qcow2_l2 *s = &q->l2[i];
			if (!s->valid) {
				v = s;
				break;
			}
			if (!s->dirty && (!v || s->used < v->used))
				v = s;
		}
		if (!v && pass == 0) {
			int r = qcow2_meta_flush(q);
			if (r < 0)
				return r;
		}
	}
	if (!v)
		return -EIO;
	if (v->valid) {
		q->l1_slot[v->l1i] = -1;
		q->st.l2_evictions++;
	}
	v->valid = false;
	if (!v->t && !(v->t = malloc(q->cluster_size)))
		return -ENOMEM;
	*out = v;
	return 0;
}

int qcow2_l2_get(struct qcow2 *q, uint32_t l1i, bool alloc, struct qcow2_l2 **out)
{
	int32_t si = q->l1_slot[l1i];
	struct qcow2_l2 *s;
	uint64_t host;
	int r;

	if (si >= 0) {
		s = &q->l2[si];
		s->used = ++q->tick;
		q->st.l2_hits++;
		*out = s;
		return 1;
	}
	host = q->l1[l1i] & QCOW2_OFFSET_MASK;
	if (!host && !alloc)
		return 0;
	q->st.l2_misses++;
	if ((r = l2_victim(q, &s)) < 0)
		return r;
	if (host) {
		if ((r = qcow2_pread(q->fd, s->t, q->cluster_size, host)) < 0)
			return r;
		s->fresh = s->dirty = false;
	} else {
		if ((r = qcow2_alloc_cluster(q, &host)) < 0)
			return r;
		memset(s->t, 0, q->cluster_size);
		s->fresh = s->dirty = true;
		q->l1[l1i] = host | QCOW2_COPIED;
		q->l1_dirty[l1i / QCOW2_L1_CHUNK] = true;
	}
	s->host = host;
	s->l1i = l1i;
	s->valid = true;
	s->used = ++q->tick;
	q->l1_slot[l1i] = (int32_t)(s - q->l2);
	*out = s;
	return 1;
}

void qcow2_meta_free(struct qcow2 *q)
{
	for (unsigned i = 0; q->l2 && i < q->nl2; i++)
		free(q->l2[i].t);
	free(q->l2);
	q->l2 = NULL;
	for (unsigned i = 0; i < QCOW2_RB_SLOTS; i++) {
		free(q->rb[i].t);
		q->rb[i].t = NULL;
	}
	free(q->pending_free);
	q->pending_free = NULL;
}
