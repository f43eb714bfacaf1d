/* SPDX-License-Identifier: MIT */
/* Internals of the virtio PCI transport, shared by virtio_pci.c and virtio_pci_run.c. */
#ifndef NV_VIRTIO_PCI_INTERNAL_H
#define NV_VIRTIO_PCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "pci.h"
#include "virtio.h"

struct vpci_queue {
	struct virtqueue vq;        /* its own lock guards vq and the fields below */
	struct virtio_dev *dev;
	uint16_t msix_vector;
	bool enabled;
	int kick_fd;                /* eventfd, -1 in INLINE mode */
	uint64_t ioev_addr;         /* assigned ioeventfd address or UINT64_MAX (under cfg_lock) */
	bool on_loop;               /* kick_fd watched by the evloop */
	struct ev_deferred again;   /* EVLOOP: virtio_queue_again (loop thread) */
	bool again_inline;          /* INLINE: virtio_queue_again asked (atomic) */
};

struct virtio_dev {
	struct virtio_dev_params p;
	char *name;
	struct pci_dev *pci;
	struct pci_host *host;
	uint64_t offered;           /* immutable after creation */

	pthread_mutex_t lock;       /* transport lock: the fields below up to q */
	uint32_t dfselect, gfselect;
	uint64_t driver_features;   /* what the driver wrote */
	uint16_t queue_sel;
	unsigned pcicfg_cap;        /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	bool neg_failed;            /* FEATURES_OK refused: refused again until a reset */
	unsigned nr_refused;        /* status writes refused so far (log limit) */

	/* Lock-free (atomics): readable from queue threads. */
	uint64_t features;          /* negotiated (FEATURES_OK) */
	uint8_t status;
	uint8_t config_gen;
	uint16_t config_msix;
	unsigned nr_needs_reset;    /* times NEEDS_RESET was raised (log limit) */
	bool halted;                /* teardown began: no more queue_notify */

	pthread_mutex_t isr_lock;   /* leaf: isr and the INTx level */
	uint8_t isr;

	struct vpci_queue *q;
	unsigned nq;

	/* VIRTIO_RUN_WORKER */
	pthread_t worker;
	bool worker_started;
	int epfd, stop_fd;
};

/* virtio_pci_run.c: kicks and their consumers. */
int vpci_run_start(struct virtio_dev *d);
/* Teardown, step 1: no queue takes ring entries any more, the worker is
 * joined, the evloop watches and deferred calls are gone; nothing runs
 * queue_notify after it returns. The kick fds stay open. */
void vpci_run_halt(struct virtio_dev *d);
/* Teardown, step 2 (after pci_dev_free deassigned the ioeventfds): closes
 * the kick fds and the worker's fds. */
void vpci_run_close(struct virtio_dev *d);
/* A notify for queue q reached the BAR (no ioeventfd): kick or process inline. */
void vpci_kick(struct virtio_dev *d, unsigned q);
/* Runs ops->queue_notify for q under its lock if the device is live. */
void vpci_process(struct virtio_dev *d, unsigned q);
/* bar_map hook: (de)assign the ioeventfds for BAR 0 at addr. cfg_lock held. */
void vpci_bar_map(void *opaque, unsigned bar, uint64_t addr);

/* virtio_pci.c */
void vpci_raise_config(struct virtio_dev *d);

#endif
