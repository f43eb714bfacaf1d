// SPDX-License-Identifier: MIT
/* virtio-console, port 0 only (virtio 1.2, 5.3): see include/devices/virtio_console.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "virtio_console.h"

struct virtio_console {
	struct virtio_dev *dev;
	/* Immutable. */
	void (*output)(void *opaque, const uint8_t *buf, size_t len);
	void (*input_ready)(void *opaque);
	void *opaque;
	bool has_size;
	/* Atomics. */
	uint32_t size;          /* cols | rows << 16 */
	uint64_t bytes_out, bytes_in, fifo_len, bytes_dropped;
	/* Receive side: the receive queue's lock. */
	struct vq_chain rx_chain;
	uint8_t fifo[VIRTIO_CONSOLE_FIFO];
	size_t head, count;     /* circular: bytes at fifo[head..], count of them */
	bool refused;           /* input took less than offered: call input_ready */
	/* Transmit side: the transmit queue's lock. */
	struct vq_chain tx_chain;
};

static bool live(struct virtio_console *con, struct virtqueue *vq)
{
	uint8_t st = virtio_status(con->dev);
	return (st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
	       vq->ready && !vq->broken;
}

/* rx lock held. FIFO -> guest buffers, at most VIRTIO_CONSOLE_RX_BUDGET of
 * them; notify (from queue_notify): call input_ready if due, and leave what
 * the budget did not cover for a later turn. */
static void rx_drain(struct virtio_console *con, struct virtqueue *vq, bool notify)
{
	bool pushed = false;
	for (unsigned budget = VIRTIO_CONSOLE_RX_BUDGET; con->count && live(con, vq); budget--) {
		if (!budget) {
			if (notify && vq_has_avail(vq))
				virtio_queue_again(con->dev, VIRTIO_CONSOLE_RXQ);
			break;
		}
		if (vq_pop(vq, &con->rx_chain) <= 0)
			break;
		const struct vq_chain *c = &con->rx_chain;
		size_t done = 0;
		while (done < c->write_len && con->count) {
			size_t run = VIRTIO_CONSOLE_FIFO - con->head;
			if (run > con->count)
				run = con->count;
			if (run > c->write_len - done)
				run = (size_t)(c->write_len - done);
			vq_chain_write(c, done, con->fifo + con->head, run);
			con->head = (con->head + run) % VIRTIO_CONSOLE_FIFO;
			con->count -= run;
			done += run;
		}
		vq_push(vq, c, (uint32_t)done);
		pushed = true;
		__atomic_fetch_add(&con->bytes_in, done, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&con->fifo_len, con->count, __ATOMIC_RELAXED);
	if (pushed)
		vq_signal(vq);
	if (notify && con->refused && con->count < VIRTIO_CONSOLE_FIFO) {
		con->refused = false;
		if (con->input_ready)
			con->input_ready(con->opaque);
	}
}

size_t virtio_console_input(struct virtio_console *con, const void *buf, size_t len)
{
	struct virtqueue *vq = virtio_queue(con->dev, VIRTIO_CONSOLE_RXQ);
	size_t take = 0;
	vq_lock(vq);
	for (;;) {
		while (take < len && con->count < VIRTIO_CONSOLE_FIFO) {
			size_t tail = (con->head + con->count) % VIRTIO_CONSOLE_FIFO;
			size_t run = VIRTIO_CONSOLE_FIFO - tail;
			if (run > VIRTIO_CONSOLE_FIFO - con->count)
				run = VIRTIO_CONSOLE_FIFO - con->count;
			if (run > len - take)
				run = len - take;
			memcpy(con->fifo + tail, (const uint8_t *)buf + take, run);
			con->count += run;
			take += run;
		}
		size_t before = con->count;
		rx_drain(con, vq, false);
		if (take == len || con->count == before)
			break; /* all taken, or the guest took nothing: the FIFO is full */
	}
	if (take < len)
		con->refused = true;
	vq_unlock(vq);
	return take;
}

/* tx lock held. One chain to conf.output, VIRTIO_CONSOLE_TX_MAX_CHAIN bytes
 * at most; returns its cost against the budget. */
static uint64_t tx_chain(struct virtio_console *con, const struct vq_chain *c)
{
	uint64_t left = VIRTIO_CONSOLE_TX_MAX_CHAIN, cost = 0;
	for (unsigned i = 0; i < c->nread && left; i++) {
		size_t len = c->iov[i].iov_len < left ? c->iov[i].iov_len : (size_t)left;
		cost += len > VIRTIO_CONSOLE_SEG_COST ? len : VIRTIO_CONSOLE_SEG_COST;
		if (!len)
			continue;
		con->output(con->opaque, c->iov[i].iov_base, len);
		__atomic_fetch_add(&con->bytes_out, len, __ATOMIC_RELAXED);
		left -= len;
	}
	if (c->read_len > VIRTIO_CONSOLE_TX_MAX_CHAIN)
		__atomic_fetch_add(&con->bytes_dropped, c->read_len - VIRTIO_CONSOLE_TX_MAX_CHAIN,
				   __ATOMIC_RELAXED);
	return cost;
}

/* tx lock held. */
static void tx_run(struct virtio_console *con, struct virtqueue *vq)
{
	bool any = false;
	uint64_t budget = VIRTIO_CONSOLE_TX_BUDGET;
	while (vq_pop(vq, &con->tx_chain) > 0) {
		uint64_t cost = tx_chain(con, &con->tx_chain);
		vq_push(vq, &con->tx_chain, 0);
		any = true;
		if (cost >= budget) {
			if (vq_has_avail(vq))
				virtio_queue_again(con->dev, VIRTIO_CONSOLE_TXQ);
			break;
		}
		budget -= cost;
	}
	if (any)
		vq_signal(vq);
}

static void con_queue_notify(void *opaque, unsigned q)
{
	struct virtio_console *con = opaque;
	struct virtqueue *vq = virtio_queue(con->dev, q);
	if (q == VIRTIO_CONSOLE_RXQ)
		rx_drain(con, vq, true); /* new receive buffers */
	else if (q == VIRTIO_CONSOLE_TXQ)
		tx_run(con, vq);
}

static void con_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	struct virtio_console *con = opaque;
	uint8_t img[VIRTIO_CONSOLE_CFG_SIZE] = { 0 };
	uint32_t sz = __atomic_load_n(&con->size, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 4; i++)
		img[VIRTIO_CONSOLE_CFG_COLS + i] = (uint8_t)(sz >> (8 * i)); /* cols, rows */
	img[VIRTIO_CONSOLE_CFG_MAX_PORTS] = 1;
	if (off < sizeof(img))
		memcpy(buf, img + off, len <= sizeof(img) - off ? len : sizeof(img) - off);
}

static const struct virtio_dev_ops con_ops = {
	.config_read = con_config_read,
	.queue_notify = con_queue_notify,
};

int virtio_console_new(struct pci_host *host, const struct virtio_console_conf *c, int slot,
		       struct virtio_console **out)
{
	*out = NULL;
	if (!c || !c->mem || !c->output)
		return -EINVAL;
	uint16_t qs = c->queue_size ? c->queue_size : 128;
	struct virtio_console *con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	con->output = c->output;
	con->input_ready = c->input_ready;
	con->opaque = c->opaque;
	con->has_size = c->cols && c->rows;
	con->size = (uint32_t)c->cols | (uint32_t)c->rows << 16;
	int r = -ENOMEM;
	if (vq_chain_init(&con->rx_chain, qs) < 0 || vq_chain_init(&con->tx_chain, qs) < 0)
		goto fail;
	struct virtio_dev_params p = {
		.name = c->name ? c->name : "virtio-console", .device_id = VIRTIO_ID_CONSOLE,
		.class_code = 0x078000, /* communication controller, other */
		.features = con->has_size ? VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE) : 0, .num_queues = 2,
		.queue_size = qs, .config_size = VIRTIO_CONSOLE_CFG_SIZE, .run = c->run,
		.loop = c->loop, .mem = c->mem, .ops = &con_ops, .opaque = con,
	};
	r = virtio_pci_new(host, &p, slot, &con->dev);
	if (r < 0)
		goto fail;
	*out = con;
	return 0;
fail:
	virtio_console_free(con);
	return r;
}

void virtio_console_free(struct virtio_console *con)
{
	if (!con)
		return;
	virtio_pci_free(con->dev);
	vq_chain_free(&con->rx_chain);
	vq_chain_free(&con->tx_chain);
	free(con);
}

struct virtio_dev *virtio_console_dev(struct virtio_console *con) { return con->dev; }

void virtio_console_set_size(struct virtio_console *con, uint16_t cols, uint16_t rows)
{
	uint32_t v = (uint32_t)cols | (uint32_t)rows << 16;
	if (__atomic_exchange_n(&con->size, v, __ATOMIC_RELAXED) != v && con->has_size)
		virtio_config_changed(con->dev);
}

void virtio_console_get_stats(struct virtio_console *con, struct virtio_console_stats *out)
{
	out->bytes_out = __atomic_load_n(&con->bytes_out, __ATOMIC_RELAXED);
	out->bytes_in = __atomic_load_n(&con->bytes_in, __ATOMIC_RELAXED);
	out->fifo = __atomic_load_n(&con->fifo_len, __ATOMIC_RELAXED);
	out->bytes_dropped = __atomic_load_n(&con->bytes_dropped, __ATOMIC_RELAXED);
}
