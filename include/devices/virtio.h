/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x devices over the modern PCI transport (virtio 1.2, 4.1).
 *
 * A device (blk, net, rng, console, balloon) is a struct virtio_dev_ops
 * plus an opaque pointer. virtio_pci_new() builds the PCI function around
 * it: vendor 0x1af4, device 0x1040 + device id, revision 1, subsystem
 * 0x1af4:device id, one 64-bit memory BAR (BAR 0) holding the common
 * configuration, ISR status, device configuration and notification areas
 * (one notify address per queue: queue_notify_off = queue index,
 * notify_off_multiplier = 4) plus the MSI-X table and PBA (one vector per
 * queue plus one for configuration changes), the vendor capabilities
 * (cap id 0x09) that point at them, a VIRTIO_PCI_CAP_PCI_CFG window, and
 * INTA# for drivers that do not enable MSI-X.
 *
 * The transport handles feature negotiation (it always offers
 * VIRTIO_F_VERSION_1, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX
 * in addition to the device's features, and refuses FEATURES_OK without
 * VERSION_1 or with bits it did not offer), device status, full reset
 * (queues, features, MSI-X vector choices, then ops->reset), queue setup,
 * the configuration generation and interrupts (MSI-X vectors, or the ISR
 * + INTx when MSI-X is off).
 *
 * Queue notifications: each queue has an eventfd ("kick"), registered as an
 * ioeventfd on its notify address when the platform can; a notify that
 * reaches the BAR handler instead (no ioeventfd) writes the same eventfd.
 * Who reads the kicks and calls ops->queue_notify is chosen per device:
 *   VIRTIO_RUN_WORKER  a thread of the device's own (blk: disk I/O there);
 *   VIRTIO_RUN_EVLOOP  the VMM's I/O thread (the evloop);
 *   VIRTIO_RUN_INLINE  synchronously in the thread that wrote the notify
 *                      (no eventfds; unit tests and fuzzers).
 * Either way queue_notify never runs on a vCPU thread except in INLINE.
 *
 * Locking, outer first: the transport's lock (common config, status; held
 * by vCPU threads during BAR accesses and by reset) -> each queue's lock
 * (vq_lock; held around queue_notify and ops->reset) -> leaves (MSI-X,
 * INTx/ISR). ops->reset is called with the transport lock and every queue
 * lock held, so no queue_notify is running. Device callbacks must not call
 * virtio_* functions that take the transport lock (they say so below).
 */
#ifndef NV_VIRTIO_H
#define NV_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtqueue.h"

struct evloop;
struct pci_host;
struct pci_dev;
struct virtio_dev;

/* Device ids (virtio 1.2, 5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_BALLOON 5

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01
#define VIRTIO_STATUS_DRIVER             0x02
#define VIRTIO_STATUS_DRIVER_OK          0x04
#define VIRTIO_STATUS_FEATURES_OK        0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33

#define VIRTIO_BIT(b) (1ULL << (b))

#define VIRTIO_PCI_VENDOR   0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_MSI_NO_VECTOR 0xffff
#define VIRTIO_MAX_QUEUES  64

enum virtio_run { VIRTIO_RUN_WORKER, VIRTIO_RUN_EVLOOP, VIRTIO_RUN_INLINE };

/*
 * What a device implements. opaque is virtio_dev_params.opaque.
 * config_read/config_write: the device-specific configuration space,
 *   offsets 0..config_size-1 (bounds already checked; len 1, 2, 4, or 8
 *   split into 4s), little-endian bytes. Called on vCPU threads with the
 *   transport lock held; no virtio_* call that takes it.
 * queue_notify: queue q has new buffers (may be spurious). Runs with q's
 *   lock held, on the worker / evloop thread (INLINE: the notifier's).
 *   Pop with vq_pop, push with vq_push, then vq_signal.
 * reset: the driver reset the device (or the transport did): forget all
 *   in-flight requests (their buffers belong to nobody now) and return the
 *   device-specific state and configuration to power-on values.
 * features_ok: optional; the driver accepted `features` (already a subset
 *   of the offer, VERSION_1 included); return false to refuse FEATURES_OK.
 * driver_ok: optional; DRIVER_OK was set (e.g. net starts polling its tap).
 *   Transport lock held, queue locks not.
 */
struct virtio_dev_ops {
	void (*config_read)(void *opaque, uint32_t off, void *buf, unsigned len);
	void (*config_write)(void *opaque, uint32_t off, const void *buf, unsigned len);
	void (*queue_notify)(void *opaque, unsigned q);
	void (*reset)(void *opaque);
	bool (*features_ok)(void *opaque, uint64_t features);
	void (*driver_ok)(void *opaque);
};

struct virtio_dev_params {
	const char *name;              /* "virtio-blk0": threads, bus ranges, logs */
	uint16_t device_id;            /* VIRTIO_ID_* */
	uint32_t class_code;           /* PCI class (e.g. 0x010000 storage); 0: 0xff0000 */
	uint64_t features;             /* device-specific feature bits offered */
	unsigned num_queues;           /* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_size;           /* max size of each queue, 1..32768 (e.g. 256) */
	uint32_t config_size;          /* bytes of device configuration (<= 4096) */
	enum virtio_run run;
	struct evloop *loop;           /* VIRTIO_RUN_EVLOOP: the loop (else may be NULL) */
	const struct gmem *mem;        /* guest memory; must outlive the device */
	const struct virtio_dev_ops *ops;
	void *opaque;
};

/*
 * Creates the transport and attaches it to host at slot (-1: first free).
 * Starts the worker thread in VIRTIO_RUN_WORKER. 0 or -errno (-EINVAL bad
 * params, -ENOMEM, -EBUSY/-ENOSPC from pci_host_add, thread/eventfd errors).
 */
int virtio_pci_new(struct pci_host *host, const struct virtio_dev_params *p, int slot,
		   struct virtio_dev **out);
/* VIRTIO_RUN_EVLOOP: call virtio_pci_new/_free on the loop's thread or
 * while the loop is not running (evloop_add/del are not thread-safe). */
/* Stops the worker / evloop watches, releases ioeventfds and irqfds, detaches
 * from PCI and frees. Call before pci_host_free. NULL ok. Not from a device
 * callback. */
void virtio_pci_free(struct virtio_dev *d);

/* ---- helpers for devices ---- */

/* Queue q (0..num_queues-1) or NULL. */
struct virtqueue *virtio_queue(struct virtio_dev *d, unsigned q);
unsigned virtio_num_queues(const struct virtio_dev *d);
/* Negotiated features (valid once FEATURES_OK). Lock-free. */
uint64_t virtio_features(const struct virtio_dev *d);
bool virtio_has_feature(const struct virtio_dev *d, unsigned bit);
/* Current device status byte. Lock-free. */
uint8_t virtio_status(const struct virtio_dev *d);
const struct gmem *virtio_mem(const struct virtio_dev *d);
struct pci_dev *virtio_pci_dev(struct virtio_dev *d);
const char *virtio_name(const struct virtio_dev *d);

/* The device changed its configuration: bump config_generation and raise
 * the configuration interrupt (once DRIVER_OK). Lock-free; any thread,
 * including device callbacks. */
void virtio_config_changed(struct virtio_dev *d);
/*
 * Budgets: a queue_notify does at most one budget of work (each device
 * defines its own, e.g. 256 frames), then, if the ring still holds work,
 * calls virtio_queue_again: queue_notify for q runs again later, after the
 * other work of the same thread (EVLOOP: a deferred call of the loop's next
 * turn, after its ready fds; WORKER: a kick to itself; INLINE: right after
 * the current queue_notify returns). A guest that keeps its ring full so
 * holds the I/O thread for one budget at a time, never longer. For device
 * callbacks (queue lock held) and the device's own handlers on the same
 * thread; a no-op once teardown began.
 */
void virtio_queue_again(struct virtio_dev *d, unsigned q);
/* The device hit an unrecoverable error (e.g. a malformed request it cannot
 * answer): set DEVICE_NEEDS_RESET and raise the configuration interrupt.
 * Lock-free; any thread; logs `why` once. Queues stop being processed. */
void virtio_set_needs_reset(struct virtio_dev *d, const char *why);

/* Unit tests / fuzzers: the BAR 0 handler as a vCPU would reach it (no
 * mapping needed), and "process every pending kick now" for devices not in
 * INLINE mode. */
void virtio_pci_bar_access(struct virtio_dev *d, uint64_t off, uint8_t *data, unsigned size,
			   bool is_write);
void virtio_pci_poll(struct virtio_dev *d);

/* BAR 0 layout (offsets), for tests and drivers' eyes. */
#define VIRTIO_PCI_COMMON_OFF  0x0000
#define VIRTIO_PCI_ISR_OFF     0x1000
#define VIRTIO_PCI_DEVCFG_OFF  0x2000
#define VIRTIO_PCI_NOTIFY_OFF  0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_OFF    0x4000  /* table; the PBA follows at MSIX_OFF + 0x2000 */
#define VIRTIO_PCI_PBA_OFF     0x6000
#define VIRTIO_PCI_BAR_SIZE    0x8000

/* Common configuration offsets (4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT   0x00
#define VIRTIO_PCI_COMMON_DF         0x04
#define VIRTIO_PCI_COMMON_GFSELECT   0x08
#define VIRTIO_PCI_COMMON_GF         0x0C
#define VIRTIO_PCI_COMMON_MSIX       0x10
#define VIRTIO_PCI_COMMON_NUMQ       0x12
#define VIRTIO_PCI_COMMON_STATUS     0x14
#define VIRTIO_PCI_COMMON_CFGGEN     0x15
#define VIRTIO_PCI_COMMON_Q_SELECT   0x16
#define VIRTIO_PCI_COMMON_Q_SIZE     0x18
#define VIRTIO_PCI_COMMON_Q_MSIX     0x1A
#define VIRTIO_PCI_COMMON_Q_ENABLE   0x1C
#define VIRTIO_PCI_COMMON_Q_NOFF     0x1E
#define VIRTIO_PCI_COMMON_Q_DESCLO   0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI   0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO  0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI  0x2C
#define VIRTIO_PCI_COMMON_Q_USEDLO   0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI   0x34
#define VIRTIO_PCI_COMMON_SIZE       0x38

/* Virtio PCI capability cfg_type values (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

#endif
