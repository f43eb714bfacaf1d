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

/* Attachments (console_attach.c): the limits. */
#define CONSOLE_RING_BYTES (64 * 1024)  /* recent output replayed to a new attachment */
#define CONSOLE_MAX_ATTACH 8
#define CONSOLE_ATT_MAX_OUT (256 * 1024) /* unsent bytes before a slow attachment is dropped */

/*
 * Attaches the byte stream fd (taken over: closed when it detaches, on
 * error, or with the console): it gets the ring's recent output (*replayed
 * bytes), then all output; what it sends is console input, starting with
 * typed[0..len). Loop thread. 0, -EBUSY (CONSOLE_MAX_ATTACH already), -ENOMEM;
 * on failure fd is not closed.
 */
int console_attach(struct console *c, int fd, const void *typed, size_t len, size_t *replayed);
/* How many are attached. */
size_t console_attachments(struct console *c);
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
