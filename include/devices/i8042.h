/* SPDX-License-Identifier: MIT */
/*
 * The PS/2 controller at ports 0x60/0x64: enough for Linux to probe it and,
 * above all, to reset the machine with command 0xFE (reboot=k, the default
 * fallback of Linux's reboot path). A keyboard that never types is attached.
 */
#ifndef NV_I8042_H
#define NV_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct i8042_ops {
	void (*irq_line)(void *opaque, unsigned irq, int level); /* irq 1 or 12 */
	void (*reset)(void *opaque);                             /* the CPU reset line */
};

struct i8042;

struct i8042 *i8042_new(const struct i8042_ops *ops, void *opaque);
void i8042_free(struct i8042 *k);
/* bus handlers: data port 0x60 and command/status port 0x64 */
void i8042_data_io(void *k, uint64_t offset, uint8_t *data, unsigned size, bool is_write);
void i8042_cmd_io(void *k, uint64_t offset, uint8_t *data, unsigned size, bool is_write);

#endif
