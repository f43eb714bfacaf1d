// SPDX-License-Identifier: MIT
/*
 * virsh console: a console attachment on the VM's control socket
 * ({"command": "console"}; after its reply the connection is the serial
 * console, both ways, the recent output replayed first) relayed into the
 * libvirt stream. Nothing blocks: output the client cannot take yet waits
 * (reading from the VM pauses meanwhile), input waits while the VM's socket
 * is full, up to a bound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "evloop.h"
#include "supervise.h"
#include "util.h"
#include "vmm_internal.h"

#define CON_BUF (64 * 1024)
#define CON_RETRY_MS 20

struct vd_console {
	struct vd_dom *dom;
	struct lv_stream *st; /* NULL once the stream is over */
	int fd;               /* the attachment on the VM's control socket */
	int timer_fd;         /* retries while the client's queue is full */
	bool attached;        /* the console reply was read: fd carries console bytes */
	char line[1024];      /* the reply line */
	size_t nline;
	uint8_t out[CON_BUF]; /* from the VM, not yet taken by the stream */
	size_t nout;
	uint8_t in[CON_BUF];  /* from the client, not yet written to the VM */
	size_t nin;
	uint32_t events;
	struct vd_console *next;
};

static void con_free(struct vd_console *k)
{
	struct evloop *loop = k->dom->drv->loop;
	for (struct vd_console **pp = &k->dom->consoles; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	if (k->fd >= 0)
		evloop_del(loop, k->fd);
	if (k->timer_fd >= 0)
		evloop_del(loop, k->timer_fd);
	close_fd(&k->fd);
	close_fd(&k->timer_fd);
	free(k);
}

static void con_watch(struct vd_console *k)
{
	uint32_t ev = 0;
	if (k->nout == 0)
		ev |= EPOLLIN;
	if (k->nin)
		ev |= EPOLLOUT;
	if (ev != k->events && k->fd >= 0) {
		evloop_mod(k->dom->drv->loop, k->fd, ev);
		k->events = ev;
	}
}

/* Hands what waits to the stream; false when the stream is gone. */
static bool con_flush_out(struct vd_console *k)
{
	if (!k->nout)
		return true;
	int r = lv_stream_send(k->st, k->out, k->nout);
	if (r == 0) {
		k->nout = 0;
		return true;
	}
	if (r == -EAGAIN) {
		struct itimerspec its = { .it_value = { 0, CON_RETRY_MS * 1000000L } };
		timerfd_settime(k->timer_fd, 0, &its, NULL);
		return true;
	}
	return false;
}

/* The end: the client gets EOF (or err), the attachment closes. */
static void con_end(struct vd_console *k, const char *err)
{
	if (k->st) {
		if (err)
			lv_stream_abort(k->st, LV_ERR_OPERATION_FAILED, LV_FROM_STREAMS,
				"operation failed: console of domain '%s': %s", k->dom->cfg.name, err);
		else
			lv_stream_eof(k->st);
		k->st = NULL;
	}
	con_free(k);
}

/* The reply line of the console command: the rest of buf is console output. */
static int con_reply(struct vd_console *k, const uint8_t *buf, size_t n, size_t *used)
{
	const uint8_t *nl = memchr(buf, '\n', n);
	size_t take = nl ? (size_t)(nl - buf) + 1 : n;
	if (k->nline + take > sizeof(k->line) - 1) {
		con_end(k, "the VM's console reply is too long");
		return -1;
	}
	memcpy(k->line + k->nline, buf, take);
	k->nline += take;
	*used = take;
	if (!nl)
		return 0;
	k->line[k->nline] = 0;
	struct json_object *o = json_tokener_parse(k->line), *e, *m;
	if (!o || json_object_object_get_ex(o, "error", &e)) {
		char why[300];
		snprintf(why, sizeof(why), "%s", o && json_object_object_get_ex(e, "message", &m) ?
			json_object_get_string(m) : "the VM did not attach its console");
		json_object_put(o);
		con_end(k, why);
		return -1;
	}
	json_object_put(o);
	k->attached = true;
	return 0;
}

static void on_vm(void *opaque, int fd, uint32_t events)
{
	struct vd_console *k = opaque;
	if (events & (EPOLLHUP | EPOLLERR) && k->nout) {
		con_flush_out(k); /* the VM is gone: what the client cannot take now is lost */
		con_end(k, NULL);
		return;
	}
	if (events & EPOLLOUT && k->nin) {
		ssize_t w = write(fd, k->in, k->nin);
		if (w > 0) {
			memmove(k->in, k->in + w, k->nin - (size_t)w);
			k->nin -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			con_end(k, NULL);
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && k->nout == 0) {
		uint8_t buf[CON_BUF];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			con_flush_out(k);
			con_end(k, k->attached ? NULL : "the VM closed its control socket");
			return;
		}
		size_t off = 0;
		if (n > 0 && !k->attached && con_reply(k, buf, (size_t)n, &off) < 0)
			return;
		if (n > 0 && (size_t)n > off) {
			memcpy(k->out, buf + off, (size_t)n - off);
			k->nout = (size_t)n - off;
			if (!con_flush_out(k)) {
				k->st = NULL; /* the stream ended on its side */
				con_free(k);
				return;
			}
		}
	}
	con_watch(k);
}

static void on_timer(void *opaque, int fd, uint32_t events)
{
	struct vd_console *k = opaque;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (!con_flush_out(k)) {
		k->st = NULL;
		con_free(k);
		return;
	}
	con_watch(k);
}

/* Keystrokes from the client. */
static void on_recv(void *opaque, const uint8_t *buf, size_t len)
{
	struct vd_console *k = opaque;
	if (k->nin == 0 && k->attached) {
		ssize_t w = write(k->fd, buf, len);
		if (w > 0) {
			buf += w;
			len -= (size_t)w;
		}
	}
	if (len > sizeof(k->in) - k->nin)
		len = sizeof(k->in) - k->nin; /* a client typing faster than the guest reads */
	memcpy(k->in + k->nin, buf, len);
	k->nin += len;
	con_watch(k);
}

static void on_closed(void *opaque, bool aborted)
{
	struct vd_console *k = opaque;
	k->st = NULL;
	con_free(k);
}

static const struct lv_stream_ops stream_ops = { on_recv, on_closed };

int vd_console_open(struct vd_dom *d, struct lv_call *c, struct lv_stream *st)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char req[] = "{\"command\": \"console\"}\n";
	struct vd_console *k = calloc(1, sizeof(*k));
	const char *path = sv_socket(d->vm);
	int r;

	if (!k)
		return vd_oom(c);
	k->dom = d;
	k->timer_fd = -1;
	k->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (k->fd < 0 || connect(k->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(k->fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		r = -errno;
		goto fail;
	}
	k->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (k->timer_fd < 0) {
		r = -errno;
		goto fail;
	}
	k->events = EPOLLIN;
	r = evloop_add(d->drv->loop, k->fd, EPOLLIN, on_vm, k);
	if (r == 0) {
		r = evloop_add(d->drv->loop, k->timer_fd, EPOLLIN, on_timer, k);
		if (r < 0)
			evloop_del(d->drv->loop, k->fd);
	}
	if (r < 0)
		goto fail;
	k->st = st;
	k->next = d->consoles;
	d->consoles = k;
	lv_stream_attach(st, &stream_ops, k);
	return 0;
fail:
	close_fd(&k->fd);
	close_fd(&k->timer_fd);
	free(k);
	return VD_E_FAILED(c, "cannot attach to the console of domain '%s' (%s): %s", d->cfg.name,
		path, strerror(-r));
}

void vd_consoles_close(struct vd_dom *d)
{
	while (d->consoles) {
		struct vd_console *k = d->consoles;
		if (k->st)
			con_flush_out(k);
		con_end(k, NULL);
	}
}
