// SPDX-License-Identifier: MIT
/*
 * 16550A UART. Transmission is instantaneous: a byte written to THR goes
 * straight to ops->tx and the transmitter is empty again at once. Register
 * behaviour follows the National Semiconductor PC16550D data sheet.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "serial.h"

#define RX_FIFO 256

#define UART_RX 0  /* RBR / THR / DLL */
#define UART_IER 1 /* IER / DLM */
#define UART_IIR 2 /* IIR (read) / FCR (write) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	pthread_mutex_t lock;
	const struct serial_ops *ops;
	void *opaque;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, msr;
	bool thri_pending;
	bool was_full;
	int line;
	uint8_t rx[RX_FIFO];
	size_t rx_head, rx_len;
};

static void update_irq(struct serial *s)
{
	bool pending = ((s->ier & IER_RDI) && s->rx_len) || ((s->ier & IER_THRI) && s->thri_pending) ||
		((s->ier & IER_MSI) && (s->msr & 0x0f));
	int level = pending ? 1 : 0;
	if (level != s->line) {
		s->line = level;
		if (s->ops->irq_line)
			s->ops->irq_line(s->opaque, level);
	}
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((s->ier & IER_RDI) && s->rx_len)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

static uint8_t modem_status(struct serial *s)
{
	if (s->mcr & MCR_LOOP) {
		uint8_t m = 0;
		if (s->mcr & MCR_RTS)
			m |= MSR_CTS;
		if (s->mcr & MCR_DTR)
			m |= MSR_DSR;
		if (s->mcr & MCR_OUT1)
			m |= MSR_RI;
		if (s->mcr & MCR_OUT2)
			m |= MSR_DCD;
		return m | (s->msr & 0x0f);
	}
	return MSR_DCD | MSR_DSR | MSR_CTS | (s->msr & 0x0f);
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_len == RX_FIFO)
		return;
	s->rx[(s->rx_head + s->rx_len) % RX_FIFO] = c;
	s->rx_len++;
}

struct serial *serial_new(const struct serial_ops *ops, void *opaque)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->ops = ops;
	s->opaque = opaque;
	serial_reset(s);
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void serial_reset(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->ier = s->lcr = s->mcr = s->scr = s->fcr = s->msr = 0;
	s->dll = 0x0c; /* 9600 baud */
	s->dlm = 0;
	s->thri_pending = false;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void do_write(struct serial *s, unsigned off, uint8_t v, uint8_t *txbyte, bool *tx)
{
	switch (off) {
	case UART_RX:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			rx_push(s, v);
		else {
			*txbyte = v;
			*tx = true;
		}
		/* The byte left at once: the holding register is empty again. */
		s->thri_pending = true;
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling the THRE interrupt with an empty THR raises it. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX)
			s->rx_head = s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t do_read(struct serial *s, unsigned off)
{
	uint8_t v = 0;
	switch (off) {
	case UART_RX:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_FIFO;
			s->rx_len--;
		}
		return v;
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = iir(s);
		/* Reading IIR while THRE is the reported source clears it. */
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (s->rx_len ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
	case UART_MSR:
		v = modem_status(s);
		s->msr &= 0xf0; /* delta bits clear on read */
		return v;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct serial *s = opaque;
	uint8_t txbyte = 0;
	bool tx = false, room = false;
	if (offset > 7)
		return;
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		do_write(s, (unsigned)offset, data[0], &txbyte, &tx);
	} else {
		memset(data, 0, size);
		data[0] = do_read(s, (unsigned)offset);
		if (s->was_full && s->rx_len < RX_FIFO / 2) {
			s->was_full = false;
			room = true;
		}
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (tx && s->ops->tx)
		s->ops->tx(s->opaque, &txbyte, 1);
	if (room && s->ops->rx_room)
		s->ops->rx_room(s->opaque);
}

size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	size_t n = 0;
	while (n < len && s->rx_len < RX_FIFO)
		rx_push(s, buf[n++]);
	if (s->rx_len == RX_FIFO)
		s->was_full = true;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
