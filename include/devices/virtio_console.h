/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2, 5.3): port 0 only (no VIRTIO_CONSOLE_F_MULTIPORT),
 * which a Linux guest sees as /dev/hvc0. Queue 0 (receiveq) carries host ->
 * guest bytes, queue 1 (transmitq) guest -> host bytes. The VMM attaches it
 * to whatever it likes (pty, unix socket, stdio) through two calls:
 *   guest output: conf.output(opaque, bytes, len) for every buffer the guest
 *     transmits, on the queue's thread (the evloop with VIRTIO_RUN_EVLOOP),
 *     with the transmit queue's lock held;
 *   host input: virtio_console_input(con, bytes, len) from any thread; bytes
 *     go to the guest's receive buffers, or wait in a FIFO (16 KiB) until the
 *     guest posts some. It returns how many bytes it took; when it took fewer
 *     than offered, conf.input_ready (optional) is called once the FIFO has
 *     room again (with the receive queue's lock held: it must not call
 *     virtio_console_input itself; re-arm the source's fd and read later).
 * VIRTIO_CONSOLE_F_SIZE is offered when conf.cols and conf.rows are set
 * (virtio_console_set_size changes them).
 *
 * Locking: the FIFO and input state are guarded by the receive queue's lock;
 * the size by the transport lock through config reads (atomics); counters
 * are atomics.
 */
#ifndef NV_VIRTIO_CONSOLE_H
#define NV_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Configuration (5.3.4): le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
#define VIRTIO_CONSOLE_CFG_COLS     0
#define VIRTIO_CONSOLE_CFG_ROWS     2
#define VIRTIO_CONSOLE_CFG_MAX_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR 8
#define VIRTIO_CONSOLE_CFG_SIZE     12

#define VIRTIO_CONSOLE_RXQ 0
#define VIRTIO_CONSOLE_TXQ 1
#define VIRTIO_CONSOLE_FIFO 16384
/*
 * Work bounds against a hostile guest (a chain may be 128 descriptors that
 * all point at the same huge buffer; a guest may refill its ring forever):
 * one transmitted chain gives at most VIRTIO_CONSOLE_TX_MAX_CHAIN bytes to
 * conf.output (the rest is dropped and counted; Linux sends at most 32 KiB
 * per write, a splice at most its pipe, 1 MiB at the outside); one notify
 * outputs at most VIRTIO_CONSOLE_TX_BUDGET bytes, a segment costing at
 * least VIRTIO_CONSOLE_SEG_COST, and fills at most VIRTIO_CONSOLE_RX_BUDGET
 * receive buffers, then leaves the rest for a later turn.
 */
#define VIRTIO_CONSOLE_TX_MAX_CHAIN (1u << 20)
#define VIRTIO_CONSOLE_TX_BUDGET    (1u << 20)
#define VIRTIO_CONSOLE_SEG_COST     4096u
#define VIRTIO_CONSOLE_RX_BUDGET    256u

struct virtio_console;

struct virtio_console_conf {
	const char *name;              /* NULL: "virtio-console" */
	uint16_t queue_size;           /* 0: 128 */
	enum virtio_run run;           /* VIRTIO_RUN_EVLOOP (VMM) or INLINE (tests) */
	struct evloop *loop;
	const struct gmem *mem;
	uint16_t cols, rows;           /* both non-zero: offer VIRTIO_CONSOLE_F_SIZE */
	void (*output)(void *opaque, const uint8_t *buf, size_t len); /* required */
	void (*input_ready)(void *opaque);                            /* optional */
	void *opaque;
};

struct virtio_console_stats {
	uint64_t bytes_out;            /* guest -> host */
	uint64_t bytes_in;             /* host -> guest, delivered into guest buffers */
	uint64_t fifo;                 /* bytes waiting for guest buffers */
	uint64_t bytes_dropped;        /* guest -> host beyond VIRTIO_CONSOLE_TX_MAX_CHAIN */
};

int virtio_console_new(struct pci_host *host, const struct virtio_console_conf *c, int slot,
		       struct virtio_console **out);
void virtio_console_free(struct virtio_console *con); /* NULL ok */
struct virtio_dev *virtio_console_dev(struct virtio_console *con);

/* Host -> guest bytes; returns how many were taken (0..len). Any thread but
 * the device's callbacks. */
size_t virtio_console_input(struct virtio_console *con, const void *buf, size_t len);
/* Terminal size (with F_SIZE): updates the configuration + interrupt. */
void virtio_console_set_size(struct virtio_console *con, uint16_t cols, uint16_t rows);
void virtio_console_get_stats(struct virtio_console *con, struct virtio_console_stats *out);

#endif
