// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console_internal.h"
#include "evloop.h"
#include "util.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */


static void on_input(void *opaque, int fd, uint32_t events);

static void watch_input(struct console *c, bool on)
{
	if (c->in_fd < 0 || on == c->in_watched)
		return;
	if (on)
		evloop_add(c->loop, c->in_fd, EPOLLIN, on_input, c);
	else
		evloop_del(c->loop, c->in_fd);
	c->in_watched = on;
}

bool console_flush_pending(struct console *c)
{
	while (c->pending_off < c->pending_len) {
		size_t n = c->sink ? c->sink(c->opaque, c->pending + c->pending_off,
					     c->pending_len - c->pending_off)
				   : c->pending_len - c->pending_off;
		if (!n)
			return false;
		c->pending_off += n;
	}
	c->pending_off = c->pending_len = 0;
	return true;
}

static void on_input(void *opaque, int fd, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* End of input (a closed pipe, or a pty whose reader left): stop reading. */
		watch_input(c, false);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t ch = buf[i];
		if (c->tty_raw && c->escape_armed) {
			c->escape_armed = false;
			if (ch == 'x' || ch == 'X') {
				if (c->quit)
					c->quit(c->opaque);
				return;
			}
			if (ch != ESCAPE_CHAR)
				c->pending[c->pending_len++] = ESCAPE_CHAR;
		} else if (c->tty_raw && ch == ESCAPE_CHAR) {
			c->escape_armed = true;
			continue;
		}
		if (c->pending_len < sizeof(c->pending))
			c->pending[c->pending_len++] = ch;
	}
	if (!console_flush_pending(c))
		console_inputs_watch(c, false);
}

void console_inputs_watch(struct console *c, bool on)
{
	c->inputs_paused = !on;
	watch_input(c, on);
	console_att_watch_input(c, on);
}

static void resume_cb(void *opaque)
{
	struct console *c = opaque;
	if (console_flush_pending(c))
		console_inputs_watch(c, true);
}

void console_rx_resume(struct console *c)
{
	if (c)
		evloop_call(c->loop, resume_cb, c);
}

static int make_raw(struct console *c, int fd)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return -errno;
	c->saved = t;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	c->tty_raw = true;
	return 0;
}

static int open_pty(struct console *c, const struct nv_log *log, char **err)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		int e = errno;
		if (m >= 0)
			close(m);
		if (asprintf(err, "cannot create a pty: %s", strerror(e)) < 0)
			*err = NULL;
		return -e;
	}
	struct termios t;
	if (tcgetattr(m, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(m, TCSANOW, &t);
	}
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	c->in_fd = c->out_fd = m;
	c->own_in = true;
	c->out_nonblock = true;
	const char *name = ptsname(m);
	snprintf(c->pty_path, sizeof(c->pty_path), "%s", name ? name : "");
	nv_logf(log, NV_LOG_INFO, "console on %s", c->pty_path);
	return 0;
}

const char *console_pty_path(const struct console *c)
{
	return c && c->pty_path[0] ? c->pty_path : NULL;
}

int console_open(struct console **out, struct evloop *loop, enum console_mode mode, const char *path,
	const struct nv_log *log, char **err)
{
	struct console *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->mode = mode;
	c->in_fd = c->out_fd = -1;
	pthread_mutex_init(&c->out_lock, NULL);
	int r = 0;
	switch (mode) {
	case CONSOLE_STDIO:
		c->in_fd = STDIN_FILENO;
		c->out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO))
			make_raw(c, STDIN_FILENO);
		else
			fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
		break;
	case CONSOLE_PTY:
		r = open_pty(c, log, err);
		break;
	case CONSOLE_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
		if (c->out_fd < 0) {
			r = -errno;
			if (asprintf(err, "console file %s: %s", path, strerror(errno)) < 0)
				*err = NULL;
		}
		c->own_out = true;
		break;
	case CONSOLE_NONE:
		break;
	}
	if (r < 0) {
		console_close(c);
		return r;
	}
	watch_input(c, true);
	*out = c;
	return 0;
}

void console_set_sink(struct console *c, console_sink sink, console_quit quit, void *opaque)
{
	c->sink = sink;
	c->quit = quit;
	c->opaque = opaque;
}

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->out_lock);
	console_att_output(c, buf, len);
	if (c->out_fd < 0) {
		/* no primary console: the ring and the attachments have it */
	} else if (c->out_nonblock) {
		if (write(c->out_fd, buf, len) < 0) {
			/* Nobody reads the pty: the output is dropped rather than stall the guest. */
		}
	} else if (write_full(c->out_fd, buf, len) < 0 && c->mode == CONSOLE_STDIO) {
		c->out_fd = -1; /* stdout went away (EPIPE): keep the guest running */
	}
	pthread_mutex_unlock(&c->out_lock);
}

void console_restore_tty(struct console *c)
{
	if (c && c->tty_raw) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
		c->tty_raw = false;
	}
}

void console_close(struct console *c)
{
	if (!c)
		return;
	watch_input(c, false);
	console_att_close_all(c);
	console_restore_tty(c);
	if (c->own_in)
		close(c->in_fd);
	if (c->own_out && c->out_fd >= 0 && c->out_fd != c->in_fd)
		close(c->out_fd);
	pthread_mutex_destroy(&c->out_lock);
	free(c);
}
