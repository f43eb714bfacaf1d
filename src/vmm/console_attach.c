// SPDX-License-Identifier: MIT
/*
 * Console attachments: byte streams (control-socket connections handed over
 * by the `console` command) that see the guest's console output and whose
 * input reaches the guest, beside the primary console (stdio, pty, file).
 * Several may be attached at once. The last CONSOLE_RING_BYTES of output
 * are kept in a ring and replayed to each new attachment, so an attach
 * shows the recent past (a boot log, a prompt).
 *
 * Output comes from any thread (the UART on a vCPU thread, hvc0 on the I/O
 * thread): it is appended, under out_lock, to the ring and to each
 * attachment's buffer, and the I/O thread is asked once to send it. An
 * attachment whose peer lets CONSOLE_ATT_MAX_OUT bytes pile up is dropped;
 * the guest never waits for a reader.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console_internal.h"
#include "evloop.h"
#include "util.h"

static void on_att(void *opaque, int fd, uint32_t events);

static int att_index(struct console *c, const struct console_att *a)
{
	for (int i = 0; i < CONSOLE_MAX_ATTACH; i++)
		if (c->att[i] == a)
			return i;
	return -1;
}

/* Loop thread, out_lock held. */
static void att_close(struct console *c, struct console_att *a)
{
	int i = att_index(c, a);
	if (i >= 0)
		c->att[i] = NULL;
	evloop_del(c->loop, a->fd);
	close(a->fd);
	free(a->out);
	free(a);
}

static uint32_t att_events(const struct console *c, const struct console_att *a)
{
	uint32_t ev = EPOLLRDHUP;
	if (!c->inputs_paused)
		ev |= EPOLLIN;
	if (a->out_off < a->out_len)
		ev |= EPOLLOUT;
	return ev;
}

/* Sends what the peer takes. false: the attachment must go. Loop thread, out_lock held. */
static bool att_send(struct console *c, struct console_att *a)
{
	if (a->fd < 0)
		return false; /* dropped by att_append: too slow */
	while (a->out_off < a->out_len) {
		ssize_t r = send(a->fd, a->out + a->out_off, a->out_len - a->out_off,
			MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0)
			return false;
		a->out_off += (size_t)r;
	}
	if (a->out_off == a->out_len)
		a->out_off = a->out_len = 0;
	evloop_mod(c->loop, a->fd, att_events(c, a));
	return true;
}

static void flush_cb(void *opaque)
{
	struct console *c = opaque;
	pthread_mutex_lock(&c->out_lock);
	c->flush_queued = false;
	for (int i = 0; i < CONSOLE_MAX_ATTACH; i++)
		if (c->att[i] && !att_send(c, c->att[i]))
			att_close(c, c->att[i]);
	pthread_mutex_unlock(&c->out_lock);
}

/* Queues bytes for one attachment; out_lock held. Marks a too slow one dead (fd -1 later). */
static void att_append(struct console_att *a, const uint8_t *buf, size_t len)
{
	if (a->fd < 0)
		return;
	if (a->out_len - a->out_off + len > CONSOLE_ATT_MAX_OUT) {
		/* Dead: flush_cb closes it on the loop thread (its fd stays valid till then). */
		a->out_off = a->out_len = 0;
		shutdown(a->fd, SHUT_RDWR);
		return;
	}
	if (a->out_off && a->out_len + len > CONSOLE_ATT_MAX_OUT) {
		memmove(a->out, a->out + a->out_off, a->out_len - a->out_off);
		a->out_len -= a->out_off;
		a->out_off = 0;
	}
	memcpy(a->out + a->out_len, buf, len);
	a->out_len += len;
}

void console_att_output(struct console *c, const uint8_t *buf, size_t len)
{
	bool any = false;
	/* The ring: the last CONSOLE_RING_BYTES bytes. */
	for (size_t i = 0; i < len; i++) {
		c->ring[(c->ring_head + c->ring_len) % CONSOLE_RING_BYTES] = buf[i];
		if (c->ring_len < CONSOLE_RING_BYTES)
			c->ring_len++;
		else
			c->ring_head = (c->ring_head + 1) % CONSOLE_RING_BYTES;
	}
	for (int i = 0; i < CONSOLE_MAX_ATTACH; i++) {
		if (c->att[i]) {
			att_append(c->att[i], buf, len);
			any = true;
		}
	}
	if (any && !c->flush_queued && evloop_call(c->loop, flush_cb, c) == 0)
		c->flush_queued = true;
}

static void on_att(void *opaque, int fd, uint32_t events)
{
	struct console *c = opaque;
	struct console_att *a = NULL;
	pthread_mutex_lock(&c->out_lock);
	for (int i = 0; i < CONSOLE_MAX_ATTACH && !a; i++)
		if (c->att[i] && c->att[i]->fd == fd)
			a = c->att[i];
	if (!a)
		goto out;
	if ((events & EPOLLOUT) && !att_send(c, a)) {
		att_close(c, a);
		goto out;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
		size_t room = sizeof(c->pending) - c->pending_len;
		ssize_t n = room ? recv(fd, c->pending + c->pending_len, room, MSG_DONTWAIT) : 0;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			goto out;
		if (n <= 0 && room) {
			att_close(c, a); /* the peer detached */
			goto out;
		}
		c->pending_len += (size_t)n;
		pthread_mutex_unlock(&c->out_lock);
		if (!console_flush_pending(c))
			console_inputs_watch(c, false);
		return;
	}
out:
	pthread_mutex_unlock(&c->out_lock);
}

void console_att_watch_input(struct console *c, bool on)
{
	pthread_mutex_lock(&c->out_lock);
	for (int i = 0; i < CONSOLE_MAX_ATTACH; i++)
		if (c->att[i] && c->att[i]->fd >= 0)
			evloop_mod(c->loop, c->att[i]->fd, att_events(c, c->att[i]));
	pthread_mutex_unlock(&c->out_lock);
	(void)on; /* att_events reads c->inputs_paused */
}

int console_attach(struct console *c, int fd, const void *typed, size_t len, size_t *replayed)
{
	struct console_att *a = NULL;
	int slot = -1, r;

	pthread_mutex_lock(&c->out_lock);
	for (int i = 0; i < CONSOLE_MAX_ATTACH && slot < 0; i++)
		if (!c->att[i])
			slot = i;
	if (slot < 0) {
		r = -EBUSY;
		goto fail;
	}
	a = calloc(1, sizeof(*a));
	if (!a || !(a->out = malloc(CONSOLE_ATT_MAX_OUT))) {
		r = -ENOMEM;
		goto fail;
	}
	a->fd = fd;
	/* The recent past first, then live output. */
	for (size_t i = 0; i < c->ring_len; i++)
		a->out[i] = c->ring[(c->ring_head + i) % CONSOLE_RING_BYTES];
	a->out_len = c->ring_len;
	if (replayed)
		*replayed = c->ring_len;
	r = evloop_add(c->loop, fd, att_events(c, a), on_att, c);
	if (r < 0)
		goto fail;
	c->att[slot] = a;
	pthread_mutex_unlock(&c->out_lock);
	/* What the client typed after the command is console input already. */
	if (len) {
		size_t room = sizeof(c->pending) - c->pending_len, k = len < room ? len : room;
		memcpy(c->pending + c->pending_len, typed, k);
		c->pending_len += k;
		if (!console_flush_pending(c))
			console_inputs_watch(c, false);
	}
	return 0;
fail:
	pthread_mutex_unlock(&c->out_lock);
	if (a)
		free(a->out);
	free(a);
	return r;
}

size_t console_attachments(struct console *c)
{
	size_t n = 0;
	pthread_mutex_lock(&c->out_lock);
	for (int i = 0; i < CONSOLE_MAX_ATTACH; i++)
		n += c->att[i] != NULL;
	pthread_mutex_unlock(&c->out_lock);
	return n;
}

void console_att_close_all(struct console *c)
{
	pthread_mutex_lock(&c->out_lock);
	for (int i = 0; i < CONSOLE_MAX_ATTACH; i++)
		if (c->att[i])
			att_close(c, c->att[i]);
	pthread_mutex_unlock(&c->out_lock);
}
