/* SPDX-License-Identifier: MIT */
/*
 * The qcow2 backend (src/block/qcow2*.c, docs/qcow2.md): qcow2 version 3
 * images (version 2 read-only) with a backing chain, served through struct
 * block. block_open() with BLOCK_FORMAT_QCOW2 is the usual way in; this
 * header adds what the lab engine and the tests need: creating an overlay,
 * opening with non-default settings, and counters.
 */
#ifndef NV_BLOCK_QCOW2_H
#define NV_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"

/* How deep a backing chain may be (the image itself not counted). */
#define QCOW2_MAX_CHAIN 16

struct block_qcow2_opts {
	size_t l2_cache_bytes;   /* the L2 table cache; 0: 4 MiB (at least one table) */
	/*
	 * Serve this as the image's backing file instead of opening the one the
	 * header names (not taken over; must outlive the image). For fuzzing and
	 * tests: an image in memory with a backing file in memory.
	 */
	struct block *backing;
};

/*
 * Creates a qcow2 v3 image at path (which must not exist: -EEXIST), 64 KiB
 * clusters, 16-bit refcounts. backing NULL: an empty disk of size bytes.
 * Otherwise an overlay whose backing file is backing, stored as given (a
 * relative name is resolved against path's directory, when created and
 * whenever the image is opened), of format backing_fmt (recorded in the
 * image: never probed). The backing chain is opened to check it; size 0
 * takes the backing file's size. size must be a multiple of 512. The file
 * and its directory are synced before it returns. 0 or -errno with a
 * message in err (errlen bytes at most; may be NULL); nothing is left
 * behind on failure.
 */
int block_qcow2_create(const char *path, uint64_t size, const char *backing,
		       enum block_format backing_fmt, char *err, size_t errlen);

/* block_open() for a qcow2 image with settings (o may be NULL: the defaults). */
int block_qcow2_open(const struct block_conf *c, const struct block_qcow2_opts *o,
		     struct block **out, char *err, size_t errlen);

/*
 * A qcow2 image over an open fd (taken over on success: closed with the
 * block). path names the image in messages and anchors a relative backing
 * file name (may be NULL when o->backing is given or there is none).
 */
int block_qcow2_from_fd(int fd, const char *path, bool readonly, const struct block_qcow2_opts *o,
			struct block **out, char *err, size_t errlen);

struct block_qcow2_stats {
	uint64_t l2_hits, l2_misses, l2_evictions; /* the L2 table cache */
	uint64_t clusters_allocated;               /* data and metadata */
	uint64_t cow_bytes;                        /* copied around partial cluster writes */
	uint64_t syncs;                            /* fdatasync calls on the image */
	uint64_t meta_flushes;                     /* metadata write-backs (flush, eviction) */
	uint64_t clusters_freed;                   /* refcounts dropped by discard / write-zeroes */
	unsigned l2_slots;                         /* tables the cache holds */
	unsigned chain_depth;                      /* backing files below this image */
};

/* The counters of a qcow2 block; -EINVAL when b is not one. */
int block_qcow2_get_stats(const struct block *b, struct block_qcow2_stats *st);

#endif
