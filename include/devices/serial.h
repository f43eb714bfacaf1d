/* SPDX-License-Identifier: MIT */
/* A 16550A UART (8250 family) as Linux's 8250 driver expects it on 0x3f8/IRQ 4. */
#ifndef NV_SERIAL_H
#define NV_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serial_ops {
	/* Sets the interrupt line level (called with the UART's lock held). */
	void (*irq_line)(void *opaque, int level);
	/* Bytes the guest transmitted. */
	void (*tx)(void *opaque, const uint8_t *buf, size_t len);
	/* The receive FIFO has room again after being full (input may resume). */
	void (*rx_room)(void *opaque);
};

struct serial;

struct serial *serial_new(const struct serial_ops *ops, void *opaque);
void serial_free(struct serial *s);
/* Port access at offset 0..7 from the base (a bus_handler). */
void serial_io(void *s, uint64_t offset, uint8_t *data, unsigned size, bool is_write);
/* Queues input for the guest; returns how many bytes were taken (0 when full). */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);
/* Back to power-on state (a guest reset); queued input is kept. */
void serial_reset(struct serial *s);

#endif
