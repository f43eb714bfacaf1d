/* SPDX-License-Identifier: MIT */
/*
 * The qcow2 backend's private parts, shared by qcow2_open.c (header,
 * checks), qcow2_chain.c (the backing chain), qcow2_meta.c (L2 and refcount
 * caches, allocation, the ordered metadata write-back), qcow2_io.c (the
 * block ops) and qcow2_create.c. Entries of the L1 and refcount tables are kept in host
 * byte order; cached L2 tables and refcount blocks as on disk (big-endian),
 * so they are written back as they are.
 */
#ifndef NV_BLOCK_QCOW2_INTERNAL_H
#define NV_BLOCK_QCOW2_INTERNAL_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "block.h"
#include "qcow2.h"

#define QCOW2_MAGIC 0x514649fbu

#define QCOW2_COPIED (1ULL << 63)     /* L1/L2: refcount exactly one */
#define QCOW2_COMPRESSED (1ULL << 62) /* L2 */
#define QCOW2_ZERO 1ULL               /* L2 (v3): reads as zeros */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ULL /* bits 9-55 */
#define QCOW2_L1_RESERVED 0x7f000000000001ffULL /* bits 0-8, 56-62 */
#define QCOW2_L2_RESERVED 0x3f000000000001feULL /* bits 1-8, 56-61 */
#define QCOW2_RT_RESERVED 0x1ffULL              /* refcount table entry bits 0-8 */

/* incompatible_features */
#define QCOW2_INC_DIRTY 1ULL
#define QCOW2_INC_CORRUPT 2ULL
#define QCOW2_INC_DATA_FILE 4ULL
#define QCOW2_INC_COMPRESSION 8ULL
#define QCOW2_INC_EXTL2 16ULL

/* Header extensions. */
#define QCOW2_EXT_END 0
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURES 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21          /* 2 MiB, as QEMU */
#define QCOW2_MAX_L1_BYTES (32u << 20)     /* QEMU's limit */
#define QCOW2_MAX_RT_BYTES (32u << 20)
#define QCOW2_MAX_HOST (1ULL << 56)        /* offsets are 56 bits */
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_DEFAULT_L2_CACHE (4u << 20)
#define QCOW2_RB_SLOTS 8
#define QCOW2_MAX_PENDING_FREE 8192        /* frees queued before a write-back is forced */
#define QCOW2_L1_CHUNK 512                 /* L1 entries per dirty bit: 4 KiB */

/* A cached L2 table. */
struct qcow2_l2 {
	uint64_t *t;     /* cluster_size bytes, big-endian entries */
	uint64_t host;   /* its offset in the file */
	uint64_t used;   /* LRU tick */
	uint32_t l1i;    /* the L1 entry that points at it */
	bool valid;
	bool dirty;      /* changed since written */
	bool fresh;      /* new: no L1 entry on disk points at it yet */
};

/* A cached refcount block. */
struct qcow2_rb {
	uint8_t *t;
	uint64_t rti;    /* its refcount table index */
	uint64_t used;
	bool valid, dirty;
};

struct qcow2 {
	struct block b; /* first */
	int fd;
	char *path;              /* for messages; may be NULL */
	unsigned version;
	unsigned cluster_bits, l2_bits, rb_bits, refcount_order;
	uint64_t cluster_size;
	uint64_t incompat, compat, autoclear;

	uint64_t *l1;            /* l1_size entries */
	uint32_t l1_size;
	uint64_t l1_offset;
	bool *l1_dirty;          /* one per QCOW2_L1_CHUNK entries */

	uint64_t *rt;            /* rt_entries entries */
	uint64_t rt_entries, rt_offset;
	uint32_t rt_clusters;
	bool rt_dirty;

	struct qcow2_l2 *l2;     /* nl2 slots */
	unsigned nl2;
	int32_t *l1_slot;        /* l1 index -> slot, or -1 */
	uint64_t tick;
	struct qcow2_rb rb[QCOW2_RB_SLOTS];

	uint64_t alloc_ptr;      /* next host cluster handed out: nothing at or past it is in use */
	uint64_t file_size;      /* bytes in the file */
	uint64_t *pending_free;  /* host clusters to unreference once the L2 change is durable */
	size_t nfree, capfree;
	bool broken;             /* a metadata write failed: no more writes */

	struct block *backing;   /* NULL: none */
	bool own_backing;
	uint64_t backing_size;

	uint8_t *scratch;        /* 2 clusters, for copy-on-write; allocated on first use */
	struct iovec *iov;       /* scratch iovec array */
	int iov_cap;
	struct block_qcow2_stats st;
};

/* qcow2_open.c */
extern const struct block_ops qcow2_ops;
/*
 * Opens the image over fd (taken over on success). depth: how many images
 * are above it (0: the disk itself); ids: the (dev, ino) of those, for loop
 * detection, 2 * depth entries.
 */
int qcow2_open_fd(int fd, const char *path, bool readonly, const struct block_qcow2_opts *o,
		  unsigned depth, const uint64_t *ids, struct qcow2 **out, char *err, size_t errlen);
void qcow2_free(struct qcow2 *q);

/* qcow2_chain.c */
/* A backing file name as the image means it: relative ones against the image's directory. */
char *qcow2_resolve(const char *image, const char *name);
/* Opens q's backing file name of format fmt (NULL: not recorded: refused) into q->backing. */
int qcow2_open_backing(struct qcow2 *q, const char *name, const char *fmt, unsigned depth,
		       const uint64_t *ids, char *err, size_t errlen);

/* qcow2_meta.c */
/* preadv that reads zeros past the end of the file; iov is consumed (a scratch copy). */
int qcow2_preadv(int fd, struct iovec *iov, int n, uint64_t off);
int qcow2_pread(int fd, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off);
int qcow2_sync(struct qcow2 *q);
/*
 * The cached L2 table of L1 entry l1i: 1 and *out, 0 when it has none and
 * !alloc (the whole range is unallocated), or -errno. alloc makes a new
 * (fresh, all-unallocated) table when there is none.
 */
int qcow2_l2_get(struct qcow2 *q, uint32_t l1i, bool alloc, struct qcow2_l2 **out);
/* A new host cluster (refcount 1; its contents read as zeros); its offset in *off. */
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *off);
/* The refcount of the host cluster at off: 0.. or -errno. */
int64_t qcow2_refcount(struct qcow2 *q, uint64_t off);
/* Unreferences the host cluster at off once the L2 change that dropped it is durable. */
int qcow2_free_later(struct qcow2 *q, uint64_t off);
/*
 * Writes back the metadata in crash-safe order (refcounts and new tables,
 * sync; changed L2 tables and L1, sync), then applies the queued frees.
 * Everything written before it is durable when it returns 0.
 */
int qcow2_meta_flush(struct qcow2 *q);
void qcow2_meta_free(struct qcow2 *q);

/* Ensures q->iov holds at least n entries. */
int qcow2_iov_reserve(struct qcow2 *q, int n);

static inline uint64_t qcow2_be(uint64_t v)
{
	return be64toh(v);
}

#endif
