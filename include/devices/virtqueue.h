/* SPDX-License-Identifier: MIT */
/*
 * Guest-memory accessor and split virtqueues (virtio 1.2, 2.7), with
 * VIRTIO_F_RING_INDIRECT_DESC (2.7.5.3) and VIRTIO_F_RING_EVENT_IDX
 * (2.7.7, 2.7.10). No KVM, no transport: a virtqueue is given its ring
 * addresses and a struct gmem by the transport (virtio_pci.c).
 *
 * Hostile rings never crash or spin: a descriptor loop, an address outside
 * guest RAM, a length that overflows, an avail index more than the queue
 * size ahead, a head already in flight, a chain longer than the queue
 * size, an indirect table that is misaligned (not 8-aligned), empty, not a
 * multiple of 16 bytes, longer than the queue, nested, or combined with
 * F_NEXT, or a readable descriptor after a writable one: the queue marks
 * itself broken, calls its on_error callback (the transport sets
 * DEVICE_NEEDS_RESET and raises a configuration interrupt), and from then on
 * vq_pop returns -EIO and nothing is pushed, until the driver resets.
 *
 * Locking: every vq_* call on a queue must hold vq_lock(vq), except vq_lock
 * / vq_unlock themselves. The transport calls a device's queue_notify with
 * the lock held; a device touching a queue from elsewhere (a tap reader, a
 * completion thread) takes it itself. vq_signal calls the interrupt
 * callback with the lock held (the callback only takes leaf locks).
 */
#ifndef NV_VIRTQUEUE_H
#define NV_VIRTQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* ---- guest memory accessor ---- */

/*
 * translate: a host pointer for guest-physical [gpa, gpa + len) when that
 *   whole range is guest RAM and host-contiguous, else NULL (len 0: NULL).
 *   The pointer stays valid for the device's lifetime. Required.
 * read / write: copy to/from guest RAM; 0 or -EFAULT. Optional: NULL means
 *   "through translate" (gmem_read/gmem_write do that).
 * For the VMM: translate = guest_mem_ptr(&vm->mem, gpa, len) (with a len 0
 * check), read/write NULL.
 */
struct gmem {
	void *(*translate)(void *opaque, uint64_t gpa, uint64_t len);
	int (*read)(void *opaque, uint64_t gpa, void *dst, size_t len);
	int (*write)(void *opaque, uint64_t gpa, const void *src, size_t len);
	void *opaque;
};

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len);

/* A test/fuzz accessor over one plain buffer holding guest [base, base + size). */
struct gmem_buf {
	uint8_t *buf;
	uint64_t base, size;
};
void gmem_buf_init(struct gmem *m, struct gmem_buf *b, void *buf, uint64_t base, uint64_t size);

/* ---- split ring layout (virtio 1.2, 2.7) ---- */

#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

#define VIRTQ_DESC_SIZE   16
#define VIRTQ_MAX_SIZE    32768
/* Sizes of the three areas for a queue of n entries (with the event fields). */
#define VIRTQ_DESC_BYTES(n)  ((uint64_t)(n) * 16)
#define VIRTQ_AVAIL_BYTES(n) (6 + 2 * (uint64_t)(n))
#define VIRTQ_USED_BYTES(n)  (6 + 8 * (uint64_t)(n))

/* ---- chains ---- */

/*
 * One popped descriptor chain: iov[0..nread) are the device-readable
 * segments (driver -> device), iov[nread..nread+nwrite) the device-writable
 * ones, each a host pointer into guest RAM with gpa[i] its guest address.
 * Valid until pushed (the guest owns the buffers again after vq_push).
 */
struct vq_chain {
	uint16_t head;
	unsigned nread, nwrite;
	uint64_t read_len, write_len;  /* byte totals */
	struct iovec *iov;
	uint64_t *gpa;
	unsigned cap;                  /* capacity of iov/gpa */
};

/* Allocates room for cap segments (use the queue's size). 0 or -ENOMEM. */
int vq_chain_init(struct vq_chain *c, unsigned cap);
void vq_chain_free(struct vq_chain *c); /* NULL ok */
/* Copy from the readable segments at byte offset off; returns bytes copied. */
size_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, size_t len);
/* Copy into the writable segments at byte offset off; returns bytes copied. */
size_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, size_t len);

/* ---- the queue ---- */

struct virtqueue {
	pthread_mutex_t lock;          /* guards everything below */
	unsigned index;
	uint16_t max_size;             /* what the device offers */

	/* Set by the transport while the driver configures the queue. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx, indirect;      /* negotiated features */
	const struct gmem *mem;

	/* Runtime state (after vq_start). */
	bool ready;
	bool broken;
	uint8_t *desc, *avail, *used;  /* host pointers of the areas */
	uint16_t last_avail;           /* next avail ring entry to consume */
	uint16_t used_idx;             /* our shadow of used->idx */
	uint16_t signalled_used;       /* used_idx at the last interrupt */
	bool signalled_valid;
	bool suppressed;               /* vq_suppress_notify(true) in force */
	uint8_t *inflight;             /* bitmap over heads, max_size bits */
	unsigned ninflight;
	bool halted;                   /* atomic, no lock: vq_halt (teardown), never cleared */

	/* Transport callbacks (opaque cb_opaque). */
	void (*on_error)(void *opaque, struct virtqueue *vq, const char *why);
	void (*on_signal)(void *opaque, struct virtqueue *vq);
	void *cb_opaque;
};

/* 0 or -ENOMEM; the queue starts stopped with size = max_size. */
int vq_init(struct virtqueue *vq, unsigned index, uint16_t max_size, const struct gmem *mem);
void vq_destroy(struct virtqueue *vq); /* NULL ok */
void vq_lock(struct virtqueue *vq);
bool vq_trylock(struct virtqueue *vq); /* true: now held */
void vq_unlock(struct virtqueue *vq);

/* Transport side. vq_start validates the layout (size 1..max_size,
 * alignment 16/2/4, areas in RAM) and makes the queue ready; on failure the
 * queue is broken (on_error called) and -EINVAL returned. vq_reset returns
 * it to the stopped state with size = max_size and addresses 0. */
int vq_start(struct virtqueue *vq);
void vq_reset(struct virtqueue *vq);
/* Marks the queue broken and calls on_error(why) (once). */
void vq_set_broken(struct virtqueue *vq, const char *why);
/* Teardown, from any thread and WITHOUT the lock (a device may hold it for a
 * long burst): from now on vq_pop finds nothing and vq_has_avail is false,
 * so a device loop stops taking ring entries after the chain in hand. What is
 * already popped can still be pushed and signalled. Survives vq_reset. */
void vq_halt(struct virtqueue *vq);

/*
 * Device side.
 * vq_pop: takes the next available chain into c (c->cap >= vq->size).
 *   1: got one; 0: none (or the queue is not ready), notifications are
 *   re-enabled (EVENT_IDX avail_event / used flags) race-free, so the caller
 *   may simply stop; -EIO: the ring is hostile, the queue is now broken.
 *   -ENOSPC: c is too small (a device bug; the queue is left intact).
 * vq_push: returns the chain to the driver with `written` bytes written
 *   into its writable segments. 0, -EINVAL (head not in flight), -EIO (broken).
 * vq_signal: raises the queue's interrupt through on_signal unless the
 *   driver suppressed it (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with
 *   EVENT_IDX). Call after one or more vq_push. Returns true if signalled.
 * vq_has_avail: a chain is waiting (no side effects).
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
int vq_push(struct virtqueue *vq, const struct vq_chain *c, uint32_t written);
int vq_push_head(struct virtqueue *vq, uint16_t head, uint32_t written);
bool vq_signal(struct virtqueue *vq);
bool vq_has_avail(struct virtqueue *vq);
/* Ask the driver not to notify (true) or to notify again (false); for
 * devices that poll (e.g. a net TX burst). vq_pop returning 0 re-enables. */
void vq_suppress_notify(struct virtqueue *vq, bool suppress);
/* Stronger than vq_suppress_notify(true) with EVENT_IDX: avail_event one
 * behind the next entry, so not even the driver's next buffer notifies
 * (while the device polls the ring). Undone by vq_suppress_notify(false)
 * or by vq_pop returning 0. */
void vq_notify_off(struct virtqueue *vq);

#endif
