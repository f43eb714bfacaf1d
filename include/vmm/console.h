/* SPDX-License-Identifier: MIT */
/*
 * The host end of the serial console: stdio (raw mode when a terminal, with
 * the escape Ctrl-A x to quit), a pty, an append-only file, or nothing.
 * Input is read on the I/O thread and handed to a sink (the UART).
 */
#ifndef NV_CONSOLE_H
#define NV_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "vm_config.h"

struct evloop;
struct console;

/* Returns how many bytes the guest side took; 0 pauses input until console_rx_resume. */
typedef size_t (*console_sink)(void *opaque, const uint8_t *buf, size_t len);
typedef void (*console_quit)(void *opaque);

/* log (NULL: stderr) gets the pty's name. 0 or -errno with *err set. */
struct nv_log;
int console_open(struct console **out, struct evloop *loop, enum console_mode mode, const char *path,
	const struct nv_log *log, char **err);
/* The pty's path with mode pty ("/dev/pts/3"), else NULL. */
const char *console_pty_path(const struct console *c);
void console_set_sink(struct console *c, console_sink sink, console_quit quit, void *opaque);
/* Guest output; any thread. */
void console_write(struct console *c, const uint8_t *buf, size_t len);
/* The sink has room again; any thread. */
void console_rx_resume(struct console *c);
/* Restores the terminal. NULL ok. */
void console_close(struct console *c);
/* Restores the terminal only (safe at exit paths). */
void console_restore_tty(struct console *c);

#endif
