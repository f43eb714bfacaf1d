// SPDX-License-Identifier: MIT
/*
 * The qcow2 block ops. A request is cut into extents, each a run of guest
 * clusters inside one L2 table that map alike: contiguous host clusters
 * (one preadv/pwritev each), zeros, or the backing file (one readv on it).
 *
 * Writes to a cluster that is ours alone (COPIED) go in place. Any other
 * cluster (unallocated, zero, or shared) gets a new host cluster: the
 * guest's bytes with, around a partial write, the old contents copied in
 * (from the backing file, the shared cluster, or nothing for zeros: a new
 * cluster is a hole); the L2 entry changes in the cache only, and reaches
 * the disk in qcow2_meta_flush's order. Discard and write-zeroes change
 * whole clusters' entries (zero flag over a backing file, unallocated
 * otherwise) and drop their host clusters; discard ignores partial clusters
 * (a hint), write-zeroes writes zeros there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2_internal.h"
#include "util.h"

enum kind { K_HOST, K_ZERO, K_BACKING };

struct extent {
	enum kind kind;
	uint64_t host; /* K_HOST: where the extent starts in the file */
	uint64_t len;
};

/* Walks a caller's iovec array forward, handing out slices. */
struct cursor {
	const struct iovec *v;
	int n, i;
	size_t off;
};

static int cursor_take(struct cursor *c, uint64_t len, struct iovec *dst)
{
	int k = 0;
	while (len && c->i < c->n) {
		size_t avail = c->v[c->i].iov_len - c->off;
		size_t t = avail < len ? avail : (size_t)len;
		if (t) {
			dst[k].iov_base = (uint8_t *)c->v[c->i].iov_base + c->off;
			dst[k].iov_len = t;
			k++;
		}
		c->off += t;
		len -= t;
		if (c->off == c->v[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	return k;
}

static void iov_zero(const struct iovec *v, int k)
{
	for (int i = 0; i < k; i++)
		memset(v[i].iov_base, 0, v[i].iov_len);
}

static uint64_t iov_bytes(const struct iovec *v, int n)
{
	uint64_t t = 0;
	for (int i = 0; i < n; i++)
		t += v[i].iov_len;
	return t;
}

static int kind_of(const struct qcow2 *q, uint64_t e, uint64_t *host)
{
	if (e & QCOW2_COMPRESSED)
		return -EIO; /* refused at open; never written by us */
	*host = e & QCOW2_OFFSET_MASK;
	if (q->version >= 3 && (e & QCOW2_ZERO))
		return K_ZERO;
	return *host ? K_HOST : K_BACKING;
}

/* Ours alone: written in place. */
static bool in_place(const struct qcow2 *q, uint64_t e)
{
	return (e & QCOW2_COPIED) && (e & QCOW2_OFFSET_MASK) && !(e & QCOW2_COMPRESSED) &&
	       !(q->version >= 3 && (e & QCOW2_ZERO));
}

/* The extent at guest offset off, at most max bytes. */
static int map_extent(struct qcow2 *q, uint64_t off, uint64_t max, struct extent *x)
{
	uint64_t cs = q->cluster_size, gc = off >> q->cluster_bits, n = 1ULL << q->l2_bits;
	uint64_t j = gc & (n - 1), in = off & (cs - 1), len, host;
	struct qcow2_l2 *s;
	int r = qcow2_l2_get(q, (uint32_t)(gc >> q->l2_bits), false, &s);
	if (r < 0)
		return r;
	if (r == 0) { /* no L2 table: all of its range is unallocated */
		x->kind = K_BACKING;
		len = ((n - j) << q->cluster_bits) - in;
		x->len = len < max ? len : max;
		return 0;
	}
	int k = kind_of(q, be64toh(s->t[j]), &host);
	if (k < 0)
		return k;
	x->kind = (enum kind)k;
	x->host = host + in;
	len = cs - in;
	for (uint64_t jj = j + 1; jj < n && len < max; jj++) {
		uint64_t h2;
		if (kind_of(q, be64toh(s->t[jj]), &h2) != k || (k == K_HOST && h2 != x->host + len))
			break;
		len += cs;
	}
	x->len = len < max ? len : max;
	return 0;
}

/* Reads guest bytes [off, off + len) of what lies below: the backing file, zeros past it. */
static int read_below(struct qcow2 *q, struct iovec *v, int k, uint64_t off, uint64_t len)
{
	if (!q->backing || off >= q->backing_size) {
		iov_zero(v, k);
		return 0;
	}
	return block_readv(q->backing, v, k, off); /* the caller keeps it under backing_size */
}

static int q_readv(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	struct qcow2 *q = (struct qcow2 *)b;
	uint64_t len = iov_bytes(iov, n);
	struct cursor c = { .v = iov, .n = n };
	struct extent x;
	int r;

	if (n < 0 || off > b->size || len > b->size - off)
		return -EIO;
	if ((r = qcow2_iov_reserve(q, n + 2)) < 0)
		return r;
	while (len) {
		if ((r = map_extent(q, off, len, &x)) < 0)
			return r;
		if (x.kind == K_BACKING && q->backing && off < q->backing_size &&
				x.len > q->backing_size - off)
			x.len = q->backing_size - off; /* the rest is past the backing file: zeros */
		int k = cursor_take(&c, x.len, q->iov);
		switch (x.kind) {
		case K_HOST:
			r = qcow2_preadv(q->fd, q->iov, k, x.host);
			break;
		case K_ZERO:
			iov_zero(q->iov, k);
			r = 0;
			break;
		case K_BACKING:
			r = read_below(q, q->iov, k, off, x.len);
			break;
		}
		if (r < 0)
			return r;
		off += x.len;
		len -= x.len;
	}
	return 0;
}

/* What guest cluster gc held, bytes [from, to) of it, into buf; false when that is all zeros. */
static int old_bytes(struct qcow2 *q, uint64_t e, uint64_t gc, uint64_t from, uint64_t to,
		     uint8_t *buf)
{
	uint64_t host, g = (gc << q->cluster_bits) + from;
	int k = kind_of(q, e, &host);
	if (k < 0)
		return k;
	if (k == K_HOST)
		return qcow2_pread(q->fd, buf, to - from, host + from) < 0 ? -EIO : 1;
	if (k == K_ZERO || !q->backing || g >= q->backing_size)
		return 0;
	uint64_t n = to - from, part = q->backing_size - g < n ? q->backing_size - g : n;
	struct iovec v = { .iov_base = buf, .iov_len = (size_t)part };
	int r = block_readv(q->backing, &v, 1, g);
	if (r < 0)
		return r;
	memset(buf + part, 0, (size_t)(n - part));
	return 1;
}

/* A new cluster at alloc_ptr would need no new refcount metadata. */
static bool next_alloc_simple(const struct qcow2 *q)
{
	uint64_t rti = (q->alloc_ptr >> q->cluster_bits) >> q->rb_bits;
	return rti < q->rt_entries && q->rt[rti];
}

/*
 * Writes the next bytes of c (at guest offset off, len left) into new host
 * clusters for entries j.. of table s; *done: the bytes it took.
 */
static int write_new(struct qcow2 *q, struct qcow2_l2 *s, uint64_t off, uint64_t len,
		     struct cursor *c, uint64_t *done)
{
	uint64_t cs = q->cluster_size, n = 1ULL << q->l2_bits, gc = off >> q->cluster_bits;
	uint64_t j = gc & (n - 1), in = off & (cs - 1), h0, run, m = 1;
	int r, k = 0;

	if ((r = qcow2_alloc_cluster(q, &h0)) < 0)
		return r;
	run = cs - in;
	while (run < len && j + m < n && !in_place(q, be64toh(s->t[j + m])) &&
			q->alloc_ptr == h0 + m * cs && next_alloc_simple(q)) {
		uint64_t h;
		if ((r = qcow2_alloc_cluster(q, &h)) < 0)
			return r;
		m++;
		run += cs;
	}
	run = run < len ? run : len;
	uint64_t tail_in = (in + run) - (m - 1) * cs; /* where the data ends in the last cluster */
	if (!q->scratch && !(q->scratch = malloc(2 * cs)))
		return -ENOMEM;
	int head = 0, tail = 0;
	if (in && (head = old_bytes(q, be64toh(s->t[j]), gc, 0, in, q->scratch)) < 0)
		return head;
	if (tail_in < cs && (tail = old_bytes(q, be64toh(s->t[j + m - 1]), gc + m - 1, tail_in, cs,
					      q->scratch + cs)) < 0)
		return tail;
	if (head) {
		q->iov[k++] = (struct iovec){ .iov_base = q->scratch, .iov_len = (size_t)in };
		q->st.cow_bytes += in;
	}
	k += cursor_take(c, run, q->iov + k);
	if (tail) {
		q->iov[k++] = (struct iovec){ .iov_base = q->scratch + cs,
					      .iov_len = (size_t)(cs - tail_in) };
		q->st.cow_bytes += cs - tail_in;
	}
	uint64_t at = h0 + (head ? 0 : in), wend = at + (head ? in : 0) + run +
		       (tail ? cs - tail_in : 0);
	if ((r = pwritev_full(q->fd, q->iov, k, (off_t)at)) < 0)
		return r;
	if (wend > q->file_size)
		q->file_size = wend;
	/* Every allocated cluster lies wholly inside the file: a zero tail left as a hole is
	 * ended by its last byte (a write: the disk worker's seccomp filter has no ftruncate). */
	uint64_t end = h0 + m * cs;
	if (end > q->file_size) {
		static const uint8_t zero;
		if ((r = qcow2_pwrite(q, &zero, 1, end - 1)) < 0)
			return r;
	}
	for (uint64_t i = 0; i < m; i++) {
		uint64_t old = be64toh(s->t[j + i]) & QCOW2_OFFSET_MASK;
		s->t[j + i] = htobe64((h0 + i * cs) | QCOW2_COPIED);
		if (old && (r = qcow2_free_later(q, old)) < 0)
			return r;
	}
	s->dirty = true;
	*done = run;
	return 0;
}

static int q_writev(struct block *b, const struct iovec *iov, int n, uint64_t off)
{
	struct qcow2 *q = (struct qcow2 *)b;
	uint64_t cs = q->cluster_size, len = iov_bytes(iov, n), nt = 1ULL << q->l2_bits;
	struct cursor c = { .v = iov, .n = n };
	struct qcow2_l2 *s;
	int r;

	if (n < 0 || off > b->size || len > b->size - off)
		return -EIO;
	if (q->broken)
		return -EIO;
	if ((r = qcow2_iov_reserve(q, n + 2)) < 0)
		return r;
	while (len) {
		uint64_t gc = off >> q->cluster_bits, j = gc & (nt - 1), in = off & (cs - 1), run = 0;
		if ((r = qcow2_l2_get(q, (uint32_t)(gc >> q->l2_bits), true, &s)) < 0)
			return r;
		uint64_t e = be64toh(s->t[j]);
		if (in_place(q, e)) {
			uint64_t host = e & QCOW2_OFFSET_MASK, jj = j + 1;
			run = cs - in;
			for (; run < len && jj < nt; jj++, run += cs) {
				uint64_t e2 = be64toh(s->t[jj]);
				if (!in_place(q, e2) || (e2 & QCOW2_OFFSET_MASK) != host + (jj - j) * cs)
					break;
			}
			run = run < len ? run : len;
			int k = cursor_take(&c, run, q->iov);
			if ((r = pwritev_full(q->fd, q->iov, k, (off_t)(host + in))) < 0)
				return r;
		} else if ((r = write_new(q, s, off, len, &c, &run)) < 0) {
			return r;
		}
		off += run;
		len -= run;
		if (q->nfree >= QCOW2_MAX_PENDING_FREE && (r = qcow2_meta_flush(q)) < 0)
			return r;
	}
	return 0;
}

/* Whole clusters [gc, gc + count) of one L2 table read as zeros (or as anything: discard). */
static int zero_clusters(struct qcow2 *q, uint64_t gc, uint64_t count)
{
	uint64_t n = 1ULL << q->l2_bits, j = gc & (n - 1);
	uint64_t below = q->backing ? q->backing_size : 0;
	struct qcow2_l2 *s;
	int r = qcow2_l2_get(q, (uint32_t)(gc >> q->l2_bits), false, &s);
	if (r < 0)
		return r;
	if (r == 0) { /* no table: unallocated; reads as zeros unless a backing file shows */
		if ((gc << q->cluster_bits) >= below)
			return 0;
		if ((r = qcow2_l2_get(q, (uint32_t)(gc >> q->l2_bits), true, &s)) < 0)
			return r;
	}
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e = be64toh(s->t[j + i]), old = e & QCOW2_OFFSET_MASK;
		uint64_t want = ((gc + i) << q->cluster_bits) < below ? QCOW2_ZERO : 0;
		if (e == want)
			continue;
		s->t[j + i] = htobe64(want);
		s->dirty = true;
		if (old && (r = qcow2_free_later(q, old)) < 0)
			return r;
	}
	return 0;
}

static int zero_range(struct qcow2 *q, uint64_t off, uint64_t len, bool discard)
{
	static const uint8_t zeros[65536];
	uint64_t cs = q->cluster_size, n = 1ULL << q->l2_bits;
	int r;

	if (off > q->b.size || len > q->b.size - off)
		return -EIO;
	if (q->broken)
		return -EIO;
	while (len) {
		uint64_t in = off & (cs - 1), gc = off >> q->cluster_bits, run;
		if (in || len < cs) { /* part of a cluster */
			run = cs - in < len ? cs - in : len;
			struct extent x = { .kind = K_ZERO };
			if (!discard && (r = map_extent(q, off, run, &x)) < 0)
				return r;
			bool zero = discard || x.kind == K_ZERO ||
				    (x.kind == K_BACKING && (!q->backing || off >= q->backing_size));
			if (!zero) {
				struct iovec v[2 * 1024 * 1024 / sizeof(zeros)];
				int k = 0;
				for (uint64_t t = 0; t < run; t += sizeof(zeros), k++)
					v[k] = (struct iovec){ .iov_base = (void *)zeros,
						.iov_len = run - t < sizeof(zeros) ? (size_t)(run - t) : sizeof(zeros) };
				if ((r = q_writev(&q->b, v, k, off)) < 0)
					return r;
			}
		} else {
			uint64_t count = len >> q->cluster_bits, left = n - (gc & (n - 1));
			count = count < left ? count : left;
			if ((r = zero_clusters(q, gc, count)) < 0)
				return r;
			run = count << q->cluster_bits;
		}
		off += run;
		len -= run;
		if (q->nfree >= QCOW2_MAX_PENDING_FREE && (r = qcow2_meta_flush(q)) < 0)
			return r;
	}
	return 0;
}

static int q_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap)
{
	return zero_range((struct qcow2 *)b, off, len, false);
}

static int q_discard(struct block *b, uint64_t off, uint64_t len)
{
	return zero_range((struct qcow2 *)b, off, len, true);
}

static int q_flush(struct block *b)
{
	struct qcow2 *q = (struct qcow2 *)b;
	return b->readonly ? 0 : qcow2_meta_flush(q);
}

static void q_close(struct block *b)
{
	struct qcow2 *q = (struct qcow2 *)b;
	if (!b->readonly && !q->broken)
		(void)qcow2_meta_flush(q);
	qcow2_free(q);
}

const struct block_ops qcow2_ops = {
	.readv = q_readv,
	.writev = q_writev,
	.flush = q_flush,
	.discard = q_discard,
	.write_zeroes = q_write_zeroes,
	.close = q_close,
};
