// SPDX-License-Identifier: MIT
/*
 * Opening a qcow2 image: the header and its extensions, every refusal
 * (docs/qcow2.md), the L1 and refcount tables, a scan of every L2 table
 * (compressed clusters are refused here, and no cluster may serve two
 * purposes: header, L1 table, refcount table, refcount block, L2 table and
 * data clusters are checked pairwise); then the backing chain
 * (qcow2_chain.c).
 *
 * Everything is checked against the file as it is: a hostile image can
 * make us refuse it, never read or allocate past what its own size bounds.
 */
#include <errno.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_internal.h"
#include "qcow2_internal.h"
#include "util.h"

NV_PRINTF(4, 5)
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		int k = snprintf(err, errlen, "qcow2: ");
		va_start(ap, fmt);
		if (k >= 0 && (size_t)k < errlen)
			vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- the cluster map: what each referenced host cluster is, to find overlaps ---- */

enum use { USE_HEADER, USE_L1, USE_RT, USE_RB, USE_L2, USE_DATA };
static const char *const use_name[] = { "header", "L1 table", "refcount table",
	"a refcount block", "an L2 table", "a data cluster" };

struct usemap {
	uint64_t *v; /* cluster index << 3 | use */
	size_t n, cap, limit;
};

static int use_add(struct usemap *m, uint64_t cluster, enum use u)
{
	if (m->n == m->limit)
		return -EUCLEAN; /* more clusters referenced than the file holds: some twice */
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		uint64_t *p = realloc(m->v, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->v = p;
		m->cap = cap;
	}
	m->v[m->n++] = cluster << 3 | (uint64_t)u;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- parts of the open ---- */

struct hdr {
	uint8_t *c0;          /* the first cluster */
	uint64_t backing_off;
	uint32_t backing_len;
	const uint8_t *features; /* the feature name table, or NULL */
	uint32_t features_len;
	char backing_fmt[32];
	bool has_backing_fmt;
};

/* "bit 5 (name)" for each set bit of mask, from the feature name table. */
static void feature_names(const struct hdr *h, unsigned type, uint64_t mask, char *out, size_t len)
{
	size_t k = 0;
	out[0] = 0;
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(mask >> bit & 1))
			continue;
		const char *name = NULL;
		int nlen = 0;
		for (uint32_t i = 0; h->features && i + 48 <= h->features_len; i += 48) {
			if (h->features[i] == type && h->features[i + 1] == bit) {
				name = (const char *)h->features + i + 2;
				nlen = (int)strnlen(name, 46);
			}
		}
		int w = name ? snprintf(out + k, len - k, "%sbit %u (%.*s)", k ? ", " : "", bit, nlen,
					name)
			     : snprintf(out + k, len - k, "%sbit %u", k ? ", " : "", bit);
		if (w < 0 || (size_t)w >= len - k)
			return;
		k += (size_t)w;
	}
}

static int parse_extensions(struct qcow2 *q, struct hdr *h, uint32_t start, char *err, size_t errlen)
{
	uint64_t cs = q->cluster_size, off = start;
	while (off + 8 <= cs) {
		uint32_t type = (uint32_t)be(h->c0 + off, 4), len = (uint32_t)be(h->c0 + off + 4, 4);
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > cs - off - 8)
			return fail(err, errlen, -EUCLEAN, "header extension %#x at %llu runs past the "
				"first cluster", type, (unsigned long long)off);
		const uint8_t *d = h->c0 + off + 8;
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (len >= sizeof(h->backing_fmt))
				return fail(err, errlen, -ENOTSUP, "backing format name too long");
			memcpy(h->backing_fmt, d, len);
			h->backing_fmt[len] = 0;
			h->has_backing_fmt = true;
			break;
		case QCOW2_EXT_FEATURES:
			h->features = d;
			h->features_len = len;
			break;
		case QCOW2_EXT_CRYPTO:
			return fail(err, errlen, -ENOTSUP, "encrypted images are not supported");
		case QCOW2_EXT_DATA_FILE:
			return fail(err, errlen, -ENOTSUP, "external data files are not supported");
		default: /* bitmaps and unknown extensions: ignored (see autoclear) */
			break;
		}
		off += 8 + (((uint64_t)len + 7) & ~7ULL);
	}
	return 0;
}

static int parse_header(struct qcow2 *q, struct hdr *h, bool readonly, char *err, size_t errlen)
{
	uint8_t f[104];
	int r;

	memset(f, 0, sizeof(f));
	if (q->file_size < 72 || (r = qcow2_pread(q->fd, f, sizeof(f), 0)) < 0 ||
			be(f, 4) != QCOW2_MAGIC)
		return fail(err, errlen, -EINVAL, "not a qcow2 image (no QFI\\xfb magic)");
	q->version = (unsigned)be(f + 4, 4);
	if (q->version != 2 && q->version != 3)
		return fail(err, errlen, -ENOTSUP, "version %u is not supported (2 and 3 are)",
			q->version);
	q->cluster_bits = (unsigned)be(f + 20, 4);
	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS || q->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return fail(err, errlen, -ENOTSUP, "cluster_bits %u is not supported (9 to 21: 512 "
			"bytes to 2 MiB)", q->cluster_bits);
	q->cluster_size = 1ULL << q->cluster_bits;
	q->l2_bits = q->cluster_bits - 3;
	if (!(h->c0 = calloc(1, q->cluster_size)))
		return -ENOMEM;
	if ((r = qcow2_pread(q->fd, h->c0, q->cluster_size, 0)) < 0)
		return fail(err, errlen, r, "cannot read the header: %s", strerror(-r));

	uint32_t hlen = 72;
	q->refcount_order = 4;
	if (q->version == 3) {
		q->incompat = be(f + 72, 8);
		q->compat = be(f + 80, 8);
		q->autoclear = be(f + 88, 8);
		q->refcount_order = (unsigned)be(f + 96, 4);
		hlen = (uint32_t)be(f + 100, 4);
		if (hlen < 104 || hlen % 8 || hlen > q->cluster_size)
			return fail(err, errlen, -EUCLEAN, "header_length %u is invalid", hlen);
		if (q->refcount_order > 6)
			return fail(err, errlen, -EUCLEAN, "refcount_order %u is invalid (at most 6)",
				q->refcount_order);
	}
	q->rb_bits = q->cluster_bits + 3 - q->refcount_order;
	h->backing_off = be(f + 8, 8);
	h->backing_len = (uint32_t)be(f + 16, 4);
	q->b.size = be(f + 24, 8);
	uint32_t crypt = (uint32_t)be(f + 32, 4);
	q->l1_size = (uint32_t)be(f + 36, 4);
	q->l1_offset = be(f + 40, 8);
	q->rt_offset = be(f + 48, 8);
	q->rt_clusters = (uint32_t)be(f + 56, 4);
	uint32_t nsnap = (uint32_t)be(f + 60, 4);

	if ((r = parse_extensions(q, h, hlen, err, errlen)) < 0)
		return r;
	if (crypt)
		return fail(err, errlen, -ENOTSUP, "encrypted images are not supported (crypt_method "
			"%u)", crypt);
	uint64_t known = QCOW2_INC_DIRTY | QCOW2_INC_CORRUPT | QCOW2_INC_DATA_FILE |
			 QCOW2_INC_COMPRESSION | QCOW2_INC_EXTL2;
	char names[256];
	if (q->incompat & ~known) {
		feature_names(h, 0, q->incompat & ~known, names, sizeof(names));
		return fail(err, errlen, -ENOTSUP, "unknown incompatible features: %s", names);
	}
	if (q->incompat & QCOW2_INC_DATA_FILE)
		return fail(err, errlen, -ENOTSUP, "external data files are not supported");
	if (q->incompat & QCOW2_INC_COMPRESSION)
		return fail(err, errlen, -ENOTSUP, "compression (type %u) is not supported",
			hlen > 104 ? h->c0[104] : 0);
	if (q->incompat & QCOW2_INC_EXTL2)
		return fail(err, errlen, -ENOTSUP, "extended L2 entries (subclusters) are not "
			"supported");
	if (!readonly && (q->incompat & QCOW2_INC_DIRTY))
		return fail(err, errlen, -EUCLEAN, "the dirty bit is set (lazy refcounts, not closed "
			"cleanly): repair it with qemu-img check -r all, or open it read-only");
	if (!readonly && (q->incompat & QCOW2_INC_CORRUPT))
		return fail(err, errlen, -EUCLEAN, "the image is marked corrupt: repair it with "
			"qemu-img check -r all, or open it read-only");
	if (!readonly && q->version == 2)
		return fail(err, errlen, -ENOTSUP, "version 2 images are served read-only (upgrade: "
			"qemu-img amend -f qcow2 -o compat=1.1)");
	if (nsnap)
		return fail(err, errlen, -ENOTSUP, "internal snapshots are not supported (the image "
			"has %u; remove them with qemu-img snapshot -d)", nsnap);
	if (h->backing_off) {
		if (!h->backing_len || h->backing_len > QCOW2_MAX_BACKING_NAME ||
				h->backing_off > q->cluster_size - h->backing_len)
			return fail(err, errlen, -EUCLEAN, "the backing file name (%u bytes at %llu) is "
				"not inside the first cluster", h->backing_len,
				(unsigned long long)h->backing_off);
		if (memchr(h->c0 + h->backing_off, 0, h->backing_len))
			return fail(err, errlen, -EUCLEAN, "the backing file name has a NUL byte");
	}
	return 0;
}

static int check_tables(struct qcow2 *q, struct usemap *m, char *err, size_t errlen)
{
	uint64_t cs = q->cluster_size, fend = (q->file_size + cs - 1) & ~(cs - 1);
	int r;

	if (q->b.size > (1ULL << 62))
		return fail(err, errlen, -EUCLEAN, "the disk size %llu is invalid",
			(unsigned long long)q->b.size);
	unsigned span = q->cluster_bits + q->l2_bits;
	uint64_t need = (q->b.size + (1ULL << span) - 1) >> span;
	if (q->l1_size < need)
		return fail(err, errlen, -EUCLEAN, "the L1 table (%u entries) is too small for the "
			"disk size %llu", q->l1_size, (unsigned long long)q->b.size);
	uint64_t l1b = (uint64_t)q->l1_size * 8;
	if (l1b > QCOW2_MAX_L1_BYTES)
		return fail(err, errlen, -ENOTSUP, "the L1 table (%u entries) is too big",
			q->l1_size);
	if (q->l1_offset & (cs - 1) || (l1b && (q->l1_offset >= fend || l1b > fend - q->l1_offset)))
		return fail(err, errlen, -EUCLEAN, "the L1 table (%llu bytes at %#llx) lies outside "
			"the file (%llu bytes) or is unaligned", (unsigned long long)l1b,
			(unsigned long long)q->l1_offset, (unsigned long long)q->file_size);
	uint64_t rtb = (uint64_t)q->rt_clusters * cs;
	if (!q->rt_clusters || rtb > QCOW2_MAX_RT_BYTES || q->rt_offset & (cs - 1) ||
			q->rt_offset >= fend || rtb > fend - q->rt_offset)
		return fail(err, errlen, -EUCLEAN, "the refcount table (%u clusters at %#llx) lies "
			"outside the file (%llu bytes), is unaligned or empty", q->rt_clusters,
			(unsigned long long)q->rt_offset, (unsigned long long)q->file_size);
	q->rt_entries = rtb / 8;
	q->l1 = calloc(q->l1_size + 1, sizeof(*q->l1));
	q->rt = calloc(q->rt_entries, sizeof(*q->rt));
	q->l1_dirty = calloc(q->l1_size / QCOW2_L1_CHUNK + 1, sizeof(*q->l1_dirty));
	q->l1_slot = malloc((q->l1_size + 1) * sizeof(*q->l1_slot));
	if (!q->l1 || !q->rt || !q->l1_dirty || !q->l1_slot)
		return -ENOMEM;
	if ((r = qcow2_pread(q->fd, q->l1, l1b, q->l1_offset)) < 0 ||
			(r = qcow2_pread(q->fd, q->rt, rtb, q->rt_offset)) < 0)
		return fail(err, errlen, r, "cannot read the tables: %s", strerror(-r));

	if ((r = use_add(m, 0, USE_HEADER)) < 0)
		goto overfull;
	for (uint64_t c = 0; c < (l1b + cs - 1) / cs; c++)
		if ((r = use_add(m, (q->l1_offset >> q->cluster_bits) + c, USE_L1)) < 0)
			goto overfull;
	for (uint64_t c = 0; c < q->rt_clusters; c++)
		if ((r = use_add(m, (q->rt_offset >> q->cluster_bits) + c, USE_RT)) < 0)
			goto overfull;
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t e = q->rt[i] = be64toh(q->rt[i]);
		if (!e)
			continue;
		if (e & QCOW2_RT_RESERVED || e & (cs - 1) || e >= q->file_size)
			return fail(err, errlen, -EUCLEAN, "refcount table entry %llu (%#llx) is "
				"unaligned or outside the file", (unsigned long long)i,
				(unsigned long long)e);
		if ((r = use_add(m, e >> q->cluster_bits, USE_RB)) < 0)
			goto overfull;
	}
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t e = q->l1[i] = be64toh(q->l1[i]);
		uint64_t off = e & QCOW2_OFFSET_MASK;
		q->l1_slot[i] = -1;
		if (!off && !(e & QCOW2_L1_RESERVED))
			continue;
		if (e & QCOW2_L1_RESERVED || off & (cs - 1) || off >= q->file_size)
			return fail(err, errlen, -EUCLEAN, "L1 entry %u (%#llx) is invalid, unaligned "
				"or outside the file", i, (unsigned long long)e);
		if ((r = use_add(m, off >> q->cluster_bits, USE_L2)) < 0)
			goto overfull;
	}
	return 0;
overfull:
	if (r == -EUCLEAN)
		return fail(err, errlen, r, "the metadata references more clusters than the file "
			"holds: some cluster is used twice");
	return r;
}

/* Reads every L2 table: refuses compressed and invalid entries, records the data clusters. */
static int scan_l2(struct qcow2 *q, struct usemap *m, char *err, size_t errlen)
{
	uint64_t cs = q->cluster_size, n = cs / 8;
	uint64_t *t = malloc(cs);
	int r = 0;

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;
		if (!l2)
			continue;
		if ((r = qcow2_pread(q->fd, t, cs, l2)) < 0) {
			r = fail(err, errlen, r, "cannot read the L2 table at %#llx: %s",
				(unsigned long long)l2, strerror(-r));
			goto cleanup;
		}
		for (uint64_t j = 0; j < n; j++) {
			uint64_t e = be64toh(t[j]), off = e & QCOW2_OFFSET_MASK;
			unsigned long long g = (((unsigned long long)i << q->l2_bits) + j) << q->cluster_bits;
			if (!e)
				continue;
			if (e & QCOW2_COMPRESSED) {
				r = fail(err, errlen, -ENOTSUP, "compressed clusters are not supported "
					"(guest offset %#llx; qemu-img convert -O qcow2 writes an "
					"uncompressed copy)", g);
				goto cleanup;
			}
			if (e & QCOW2_L2_RESERVED || (q->version == 2 && (e & QCOW2_ZERO)) ||
					off & (cs - 1) || (!off && (e & QCOW2_COPIED)) ||
					(off && off >= q->file_size)) {
				r = fail(err, errlen, -EUCLEAN, "L2 entry for guest offset %#llx "
					"(%#llx) is invalid, unaligned or outside the file", g,
					(unsigned long long)e);
				goto cleanup;
			}
			if (off && (r = use_add(m, off >> q->cluster_bits, USE_DATA)) < 0) {
				if (r == -EUCLEAN)
					r = fail(err, errlen, r, "the metadata references more "
						"clusters than the file holds: some cluster is used twice");
				goto cleanup;
			}
		}
	}
	qsort(m->v, m->n, sizeof(*m->v), cmp_u64);
	for (size_t k = 1; k < m->n; k++) {
		if (m->v[k] >> 3 == m->v[k - 1] >> 3) {
			r = fail(err, errlen, -EUCLEAN, "overlapping metadata: the cluster at %#llx is "
				"used as %s and as %s", (unsigned long long)(m->v[k] >> 3 << q->cluster_bits),
				use_name[m->v[k - 1] & 7], use_name[m->v[k] & 7]);
			goto cleanup;
		}
	}
cleanup:
	free(t);
	return r;
}

/* Read-write: L2 tables must be ours alone, and unknown autoclear bits are cleared (spec). */
static int prepare_write(struct qcow2 *q, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < q->l1_size; i++) {
		uint64_t off = q->l1[i] & QCOW2_OFFSET_MASK;
		if (!off || (q->l1[i] & QCOW2_COPIED))
			continue;
		int64_t c = qcow2_refcount(q, off);
		if (c < 0)
			return (int)c;
		if (c != 1)
			return fail(err, errlen, -EUCLEAN, "the L2 table at %#llx has refcount %lld "
				"(shared tables are not supported; qemu-img check -r all)",
				(unsigned long long)off, (long long)c);
		q->l1[i] |= QCOW2_COPIED;
		q->l1_dirty[i / QCOW2_L1_CHUNK] = true;
	}
	if (q->autoclear) {
		static const uint8_t zero[8];
		int r = qcow2_pwrite(q, zero, sizeof(zero), 88);
		if (r < 0 || (r = qcow2_sync(q)) < 0)
			return fail(err, errlen, r, "cannot clear the autoclear features: %s",
				strerror(-r));
		q->autoclear = 0;
	}
	return 0;
}

int qcow2_open_fd(int fd, const char *path, bool readonly, const struct block_qcow2_opts *o,
		  unsigned depth, const uint64_t *ids, struct qcow2 **out, char *err, size_t errlen)
{
	struct hdr h = { 0 };
	struct usemap m = { 0 };
	struct qcow2 *q;
	struct stat st;
	int r;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!(q = calloc(1, sizeof(*q))))
		return -ENOMEM;
	q->fd = -1;
	q->b = (struct block){ .ops = &qcow2_ops, .readonly = readonly };
	if (path && !(q->path = strdup(path))) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &q->file_size) < 0) {
			r = -errno;
			goto cleanup;
		}
		if (!readonly) { /* new clusters go past the end: a device has none */
			r = fail(err, errlen, -ENOTSUP, "a qcow2 image on a block device is served "
				"read-only");
			goto cleanup;
		}
	} else if (S_ISREG(st.st_mode)) {
		q->file_size = (uint64_t)st.st_size;
	} else {
		r = fail(err, errlen, -EINVAL, "not a regular file or block device");
		goto cleanup;
	}
	q->fd = fd;
	if ((r = parse_header(q, &h, readonly, err, errlen)) < 0)
		goto cleanup;
	/* Every referenced cluster lies in the file: more references than twice its clusters
	 * means some are used twice (found precisely below when there are fewer). */
	m.limit = 2 * (size_t)((q->file_size + q->cluster_size - 1) >> q->cluster_bits) + 64;
	if ((r = check_tables(q, &m, err, errlen)) < 0 || (r = scan_l2(q, &m, err, errlen)) < 0)
		goto cleanup;
	q->alloc_ptr = (q->file_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	size_t cache = o && o->l2_cache_bytes ? o->l2_cache_bytes : QCOW2_DEFAULT_L2_CACHE;
	uint64_t slots = cache / q->cluster_size;
	q->nl2 = (unsigned)(slots < 1 ? 1 : slots > q->l1_size ? (q->l1_size ? q->l1_size : 1) : slots);
	q->st.l2_slots = q->nl2;
	if (!(q->l2 = calloc(q->nl2, sizeof(*q->l2)))) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (!readonly && (r = prepare_write(q, err, errlen)) < 0)
		goto cleanup;
	if (h.backing_off) {
		if (o && o->backing) {
			q->backing = o->backing;
		} else {
			char name[QCOW2_MAX_BACKING_NAME + 1];
			memcpy(name, h.c0 + h.backing_off, h.backing_len);
			name[h.backing_len] = 0;
			if ((r = qcow2_open_backing(q, name, h.has_backing_fmt ? h.backing_fmt : NULL,
					depth, ids, err, errlen)) < 0)
				goto cleanup;
		}
		q->backing_size = q->backing->size;
	}
	*out = q;
	q = NULL;
	r = 0;
cleanup:
	if (q) {
		q->fd = -1; /* the caller's on failure */
		qcow2_free(q);
	}
	free(h.c0);
	free(m.v);
	return r;
}

void qcow2_free(struct qcow2 *q)
{
	if (!q)
		return;
	if (q->own_backing)
		block_close(q->backing);
	qcow2_meta_free(q);
	if (q->fd >= 0)
		close(q->fd);
	free(q->l1);
	free(q->l1_dirty);
	free(q->l1_slot);
	free(q->rt);
	free(q->scratch);
	free(q->iov);
	free(q->path);
	free(q);
}

int block_qcow2_from_fd(int fd, const char *path, bool readonly, const struct block_qcow2_opts *o,
			struct block **out, char *err, size_t errlen)
{
	struct qcow2 *q;
	int r = qcow2_open_fd(fd, path, readonly, o, 0, NULL, &q, err, errlen);
	*out = r < 0 ? NULL : &q->b;
	return r;
}

int block_qcow2_open(const struct block_conf *c, const struct block_qcow2_opts *o,
		     struct block **out, char *err, size_t errlen)
{
	const char *why;
	int fd, r;

	*out = NULL;
	if (!c || !c->path || !c->path[0])
		return fail(err, errlen, -EINVAL, "no path given");
	if ((r = block_file_open(c->path, c->readonly, c->exclusive, &fd, &why)) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", why ? why : strerror(-r));
		return r;
	}
	r = block_qcow2_from_fd(fd, c->path, c->readonly, o, out, err, errlen);
	if (r < 0)
		close(fd);
	return r;
}

int block_qcow2_get_stats(const struct block *b, struct block_qcow2_stats *st)
{
	if (!b || b->ops != &qcow2_ops)
		return -EINVAL;
	*st = ((const struct qcow2 *)b)->st;
	return 0;
}
