// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "i8042.h"

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_CMD 0x08
#define STS_UNLOCKED 0x10
#define STS_AUXDATA 0x20

#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS 0x04

#define QLEN 16

struct i8042 {
	pthread_mutex_t lock;
	const struct i8042_ops *ops;
	void *opaque;
	uint8_t ctr;      /* controller command byte */
	uint8_t pending;  /* command waiting for its data byte, or 0 */
	uint8_t last_cmd; /* for the status register's command/data bit */
	uint8_t q[QLEN];
	bool q_aux[QLEN];
	unsigned q_head, q_len;
	int line1, line12;
};

static void push(struct i8042 *k, uint8_t v, bool aux)
{
	if (k->q_len == QLEN)
		return;
	unsigned i = (k->q_head + k->q_len) % QLEN;
	k->q[i] = v;
	k->q_aux[i] = aux;
	k->q_len++;
}

static void update_irq(struct i8042 *k)
{
	bool aux = k->q_len && k->q_aux[k->q_head];
	int l1 = (k->q_len && !aux && (k->ctr & CTR_KBDINT)) ? 1 : 0;
	int l12 = (k->q_len && aux && (k->ctr & CTR_AUXINT)) ? 1 : 0;
	if (!k->ops->irq_line)
		return;
	if (l1 != k->line1)
		k->ops->irq_line(k->opaque, 1, k->line1 = l1);
	if (l12 != k->line12)
		k->ops->irq_line(k->opaque, 12, k->line12 = l12);
}

struct i8042 *i8042_new(const struct i8042_ops *ops, void *opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	k->ops = ops;
	k->opaque = opaque;
	k->ctr = CTR_KBDINT | CTR_SYS;
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* A byte written to the keyboard: answer like a PS/2 keyboard would. */
static void kbd_command(struct i8042 *k, uint8_t v)
{
	push(k, 0xfa, false); /* ACK */
	if (v == 0xff)
		push(k, 0xaa, false); /* self-test passed */
	else if (v == 0xf2) {
		push(k, 0xab, false); /* MF2 keyboard id */
		push(k, 0x83, false);
	}
}

/* Returns true when the CPU must be reset. */
static bool controller_command(struct i8042 *k, uint8_t v)
{
	k->last_cmd = v;
	switch (v) {
	case 0x20:
		push(k, k->ctr, false);
		break;
	case 0x60: /* write CTR */
	case 0xd1: /* write output port */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer (loopback) */
	case 0xd4: /* write to aux device */
		k->pending = v;
		break;
	case 0xa7:
		k->ctr |= 0x20;
		break;
	case 0xa8:
		k->ctr &= (uint8_t)~0x20;
		break;
	case 0xa9: /* aux interface test */
	case 0xab: /* keyboard interface test */
		push(k, 0x00, false);
		break;
	case 0xaa: /* controller self-test */
		push(k, 0x55, false);
		break;
	case 0xad:
		k->ctr |= 0x10;
		break;
	case 0xae:
		k->ctr &= (uint8_t)~0x10;
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 low pulses the reset line. */
		if (v >= 0xf0 && !(v & 1))
			return true;
		break;
	}
	return false;
}

static bool data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;
	k->pending = 0;
	switch (cmd) {
	case 0x60:
		k->ctr = v;
		break;
	case 0xd1:
		if (!(v & 1))
			return true; /* reset line driven low */
		break;
	case 0xd2:
		push(k, v, false);
		break;
	case 0xd3:
		push(k, v, true);
		break;
	case 0xd4:
		push(k, 0xfe, true); /* no mouse: the device does not acknowledge */
		break;
	default:
		kbd_command(k, v);
		break;
	}
	return false;
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;
	pthread_mutex_lock(&k->lock);
	if (is_write) {
		k->last_cmd = 0;
		reset = data_write(k, data[0]);
	} else {
		memset(data, 0, size);
		if (k->q_len) {
			data[0] = k->q[k->q_head];
			k->q_head = (k->q_head + 1) % QLEN;
			k->q_len--;
		}
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->ops->reset)
		k->ops->reset(k->opaque);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;
	pthread_mutex_lock(&k->lock);
	if (is_write) {
		reset = controller_command(k, data[0]);
	} else {
		memset(data, 0, size);
		data[0] = STS_SYS | STS_UNLOCKED | (k->last_cmd ? STS_CMD : 0);
		if (k->q_len)
			data[0] |= STS_OBF | (k->q_aux[k->q_head] ? STS_AUXDATA : 0);
	}
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->ops->reset)
		k->ops->reset(k->opaque);
}
