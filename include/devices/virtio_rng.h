/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 1.2, 5.4): fills each writable buffer from getrandom(),
 * 64 KiB per buffer at most. One notify fills VIRTIO_RNG_BUDGET bytes at
 * most (a buffer costs at least 4 KiB), then the rest waits for a later turn
 * of the loop (virtio_queue_again). */
#ifndef NV_VIRTIO_RNG_H
#define NV_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio.h"

#define VIRTIO_RNG_BUDGET (256u * 1024)

struct virtio_rng;

struct virtio_rng_conf {
	const char *name;              /* NULL: "virtio-rng" */
	uint16_t queue_size;           /* 0: 64 */
	enum virtio_run run;           /* VIRTIO_RUN_EVLOOP is fine: requests are tiny */
	struct evloop *loop;
	const struct gmem *mem;
};

int virtio_rng_new(struct pci_host *host, const struct virtio_rng_conf *c, int slot,
		   struct virtio_rng **out);
void virtio_rng_free(struct virtio_rng *r); /* NULL ok */
struct virtio_dev *virtio_rng_dev(struct virtio_rng *r);
uint64_t virtio_rng_bytes(struct virtio_rng *r); /* entropy bytes given so far */

#endif
