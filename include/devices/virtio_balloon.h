/* SPDX-License-Identifier: MIT */
/*
 * virtio-balloon (virtio 1.2, 5.5): inflate (queue 0), deflate (queue 1)
 * and statistics (queue 2, VIRTIO_BALLOON_F_STATS_VQ) queues;
 * VIRTIO_BALLOON_F_DEFLATE_ON_OOM offered (the guest may deflate under
 * memory pressure without asking). Pages are 4 KiB (PFN << 12).
 *
 * The host sets the target (num_pages) with virtio_balloon_set_target and
 * reads back what the guest reached (actual). Inflated pages are handed to
 * conf.discard(opaque, gpa, len) in runs of contiguous pages (the VMM does
 * madvise(MADV_DONTNEED) on its mapping, so the host gets the memory back);
 * deflated ones to conf.reclaim (optional; nothing to do for anonymous
 * memory, which faults back in). PFNs outside guest RAM are skipped and
 * counted. Both callbacks run on the queue's thread with its lock held.
 *
 * Work bounds (a chain's length is the guest's choice: 128 descriptors may
 * all point at the same gigabyte): a chain's first VIRTIO_BALLOON_MAX_PFNS
 * PFNs are used (Linux sends at most 256 per buffer), the rest ignored and
 * the chain counted; they are sorted, repeats dropped and adjacent pages
 * merged, so each run of pages is one callback. A notify handles at most
 * VIRTIO_BALLOON_BUDGET PFNs (a chain costs at least 1), then leaves the
 * rest for a later turn. A statistics buffer's first VIRTIO_BALLOON_STATS_MAX
 * entries are read.
 *
 * Statistics: the guest posts one buffer of {le16 tag, le64 value} entries;
 * the device keeps it, and gives it back when the host wants fresh values
 * (virtio_balloon_request_stats, also done by virtio_balloon_get_stats),
 * after which the guest refills and re-posts it.
 *
 * Locking: the held statistics buffer and the last values are guarded by the
 * statistics queue's lock; target, actual and counters are atomics.
 */
#ifndef NV_VIRTIO_BALLOON_H
#define NV_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2

/* Configuration (5.5.4): le32 num_pages (device), le32 actual (driver). */
#define VIRTIO_BALLOON_CFG_NUM_PAGES 0
#define VIRTIO_BALLOON_CFG_ACTUAL    4
#define VIRTIO_BALLOON_CFG_SIZE      8

#define VIRTIO_BALLOON_PFN_SHIFT 12
#define VIRTIO_BALLOON_PAGE_SIZE 4096u

#define VIRTIO_BALLOON_MAX_PFNS  256u
#define VIRTIO_BALLOON_BUDGET    1024u
#define VIRTIO_BALLOON_STATS_MAX 64u

#define VIRTIO_BALLOON_INFLATEQ 0
#define VIRTIO_BALLOON_DEFLATEQ 1
#define VIRTIO_BALLOON_STATSQ   2

/* Statistic tags (5.5.6.3). */
#define VIRTIO_BALLOON_S_SWAP_IN  0
#define VIRTIO_BALLOON_S_SWAP_OUT 1
#define VIRTIO_BALLOON_S_MAJFLT   2
#define VIRTIO_BALLOON_S_MINFLT   3
#define VIRTIO_BALLOON_S_MEMFREE  4
#define VIRTIO_BALLOON_S_MEMTOT   5
#define VIRTIO_BALLOON_S_AVAIL    6
#define VIRTIO_BALLOON_S_CACHES   7
#define VIRTIO_BALLOON_S_HTLB_PGALLOC 8
#define VIRTIO_BALLOON_S_HTLB_PGFAIL  9
#define VIRTIO_BALLOON_S_NR       10

struct virtio_balloon;

struct virtio_balloon_conf {
	const char *name;              /* NULL: "virtio-balloon" */
	uint16_t queue_size;           /* 0: 128 */
	enum virtio_run run;           /* VIRTIO_RUN_EVLOOP (VMM), WORKER, or INLINE (tests) */
	struct evloop *loop;
	const struct gmem *mem;
	int (*discard)(void *opaque, uint64_t gpa, uint64_t len);  /* required; 0 or -errno */
	int (*reclaim)(void *opaque, uint64_t gpa, uint64_t len);  /* optional */
	void *opaque;
};

struct virtio_balloon_stats {
	uint64_t val[VIRTIO_BALLOON_S_NR];
	uint32_t valid;                /* bit t: val[t] was reported */
	uint64_t timestamp_ns;         /* now_ns() when they arrived; 0: never */
	uint64_t updates;              /* how many reports so far */
};

struct virtio_balloon_counters {
	uint64_t inflated_pages, deflated_pages;
	uint64_t bad_pfns;             /* outside guest RAM: skipped */
	uint64_t discard_errors;       /* discard / reclaim callback failures */
	uint64_t oversized_chains;     /* PFN chains beyond VIRTIO_BALLOON_MAX_PFNS (rest ignored) */
};

int virtio_balloon_new(struct pci_host *host, const struct virtio_balloon_conf *c, int slot,
		       struct virtio_balloon **out);
void virtio_balloon_free(struct virtio_balloon *b); /* NULL ok */
struct virtio_dev *virtio_balloon_dev(struct virtio_balloon *b);

/* The host's target size in 4 KiB pages: updates num_pages and raises the
 * configuration interrupt. Any thread except device callbacks. */
void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages);
uint32_t virtio_balloon_target(const struct virtio_balloon *b);
uint32_t virtio_balloon_actual(const struct virtio_balloon *b); /* pages the guest reports */

/* Gives the held statistics buffer back so the guest reports again.
 * 0, or -EAGAIN when the device holds none (not negotiated, not yet posted,
 * or a request already outstanding). Any thread except device callbacks. */
int virtio_balloon_request_stats(struct virtio_balloon *b);
/* The last statistics (and asks for fresh ones). Any thread. */
void virtio_balloon_get_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out);
void virtio_balloon_get_counters(struct virtio_balloon *b, struct virtio_balloon_counters *out);

#endif
