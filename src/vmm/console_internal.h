/* SPDX-License-Identifier: MIT */
/* Shared by console.c (the primary console) and console_attach.c (attachments). */
#ifndef NV_CONSOLE_INTERNAL_H
#define NV_CONSOLE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "console.h"

struct console_att {
	int fd;
	uint8_t *out;   /* bytes for the peer: out[out_off, out_len) */
	size_t out_off, out_len;
	bool watched_out;
};

struct console {
	struct evloop *loop;
	enum console_mode mode;
	int in_fd, out_fd;
	bool own_in, own_out;
	bool tty_raw;
	struct termios saved;
	bool escape_armed; /* Ctrl-A seen */
	bool in_watched;
	bool out_nonblock; /* drop output instead of blocking (pty nobody reads) */
	console_sink sink;
	console_quit quit;
	void *opaque;
	uint8_t pending[256];
	size_t pending_len, pending_off;
	pthread_mutex_t out_lock;   /* the output side: out_fd, ring, attachments' output */
	char pty_path[64];
	/* Recent output, replayed to each new attachment (console_attach.c). */
	uint8_t ring[CONSOLE_RING_BYTES];
	size_t ring_head, ring_len;
	struct console_att *att[CONSOLE_MAX_ATTACH];
	bool flush_queued;          /* an attachment flush is queued on the loop */
	bool inputs_paused;         /* the sink is full: no input fd is read */
};

/* Feeds buffered input to the sink; false when the sink is full (console.c). */
bool console_flush_pending(struct console *c);
/* Pauses or resumes reading every input: the primary one and the attachments. */
void console_inputs_watch(struct console *c, bool on);
/* Output to the ring and the attachments (console_attach.c); with out_lock held. */
void console_att_output(struct console *c, const uint8_t *buf, size_t len);
/* (Un)watches the attachments' input (console_attach.c); loop thread. */
void console_att_watch_input(struct console *c, bool on);
/* Closes every attachment (console_attach.c). */
void console_att_close_all(struct console *c);

#endif
