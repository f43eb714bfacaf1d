/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2, 5.2) on an image of the block layer
 * (include/block/block.h: raw, ...): read, write, flush, get-id, discard
 * and write-zeroes (with the unmap flag: the space may be freed). A
 * read-only disk offers VIRTIO_BLK_F_RO and still answers
 * VIRTIO_BLK_S_IOERR itself to every write, discard or write-zeroes.
 * VIRTIO_BLK_F_FLUSH is always offered: with cache = writeback a flush is
 * the backend's flush (raw: fdatasync), completed before the request is
 * returned; with cache = unsafe a flush is answered OK without touching the
 * disk (data reaches the file only when the host kernel writes back its
 * page cache).
 *
 * I/O runs on the disk's own worker thread (VIRTIO_RUN_WORKER, the default)
 * straight between the backend and guest memory; never on a vCPU thread.
 */
#ifndef NV_VIRTIO_BLK_H
#define NV_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "virtio.h"

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_WZ_UNMAP 1u

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Config space offsets (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY     0   /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX     8
#define VIRTIO_BLK_CFG_SEG_MAX      12
#define VIRTIO_BLK_CFG_BLK_SIZE     20
#define VIRTIO_BLK_CFG_NUM_QUEUES   34
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG     40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN       44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS      48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG          52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP        56
#define VIRTIO_BLK_CFG_SIZE                60

struct virtio_blk;

#define VIRTIO_BLK_MAX_QUEUES     32
#define VIRTIO_BLK_DEFAULT_QUEUES 4
#define VIRTIO_BLK_ALL_QUEUES     (~0u) /* virtio_blk_get_stats: the sum over the queues */

enum virtio_blk_cache { VIRTIO_BLK_CACHE_WRITEBACK = 0, VIRTIO_BLK_CACHE_UNSAFE };

struct virtio_blk_conf {
	struct block *image;           /* borrowed: it must outlive the device */
	bool readonly;                 /* the device refuses writes (the image may allow them) */
	enum virtio_blk_cache cache;
	const char *serial;            /* GET_ID answer (<= 20 bytes; NULL: empty) */
	const char *name;              /* "virtio-blk0"; NULL: "virtio-blk" */
	uint16_t queue_size;           /* 0: 256 */
	uint16_t num_queues;           /* request queues (VIRTIO_BLK_F_MQ), 1..VIRTIO_BLK_MAX_QUEUES;
					* 0: VIRTIO_BLK_DEFAULT_QUEUES. Give the guest's vCPU count:
					* a driver uses min(its CPUs, this) queues, one per CPU. */
	enum virtio_run run;           /* VIRTIO_RUN_WORKER (0) unless testing */
	struct evloop *loop;           /* for VIRTIO_RUN_EVLOOP */
	const struct gmem *mem;
};

/* Per-queue counters for the control socket's status. */
struct virtio_blk_stats {
	uint64_t requests;             /* completed requests, all types */
	uint64_t read_ops, write_ops, flush_ops, discard_ops, write_zeroes_ops;
	uint64_t bytes_read, bytes_written;
	uint64_t errors;               /* requests answered IOERR or UNSUPP */
};

/* Adds the PCI function for the image. 0 or -errno (-EINVAL, and those of
 * virtio_pci_new). */
int virtio_blk_new(struct pci_host *host, const struct virtio_blk_conf *c, int slot,
		   struct virtio_blk **out);
void virtio_blk_free(struct virtio_blk *b); /* NULL ok */
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);
unsigned virtio_blk_num_queues(const struct virtio_blk *b);
/* Snapshot of queue q's counters, or with VIRTIO_BLK_ALL_QUEUES their sum
 * (any thread). 0 or -EINVAL. */
int virtio_blk_get_stats(struct virtio_blk *b, unsigned q, struct virtio_blk_stats *out);
uint64_t virtio_blk_capacity(const struct virtio_blk *b); /* sectors */

#endif
