/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 1.2, 5.4): fills each writable buffer from getrandom(). */
#ifndef NV_VIRTIO_RNG_H
#define NV_VIRTIO_RNG_H

#include <stdint.h>

#include "virtio.h"

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
