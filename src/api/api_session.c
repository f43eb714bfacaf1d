// SPDX-License-Identifier: MIT
/*
 * The asynchronous client of the control protocol, for supervisors that
 * watch many VMs from one event loop (virtvmmd, the lab engine): a
 * non-blocking connection on the loop, requests sent with an id and a
 * callback each, replies matched by id, and lines without a matching id
 * (events a `subscribe` pushes) handed to the event callback. Nothing here
 * blocks; the peer is a `vmm` whose protocol is docs/api.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "evloop.h"
#include "util.h"

struct pending {
	struct pending *next;
	int64_t id;
	api_reply_cb cb;
	void *opaque;
};

struct api_session {
	struct evloop *loop;
	int fd;
	bool connecting; /* waiting for EPOLLOUT to finish the connect */
	bool closed;     /* the connection is gone; only api_session_free is left */
	bool in_callback;
	bool free_later; /* api_session_free was called from a callback */
	struct api_session_ops ops;
	void *opaque;
	int64_t next_id;
	struct pending *pending, **pending_tail;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
};

static void watch(struct api_session *s)
{
	uint32_t ev = EPOLLIN | EPOLLRDHUP;
	if (s->connecting || s->out_len > s->out_off)
		ev |= EPOLLOUT;
	evloop_mod(s->loop, s->fd, ev);
}

/* Fails every waiting request and tells the owner once; the fd leaves the loop. */
static void session_close(struct api_session *s, int rc)
{
	struct pending *p;
	if (s->closed)
		return;
	s->closed = true;
	evloop_del(s->loop, s->fd);
	close_fd(&s->fd);
	s->in_callback = true;
	while ((p = s->pending)) {
		s->pending = p->next;
		if (p->cb)
			p->cb(p->opaque, rc, NULL);
		free(p);
	}
	s->pending_tail = &s->pending;
	if (s->ops.closed)
		s->ops.closed(s->opaque, rc);
	s->in_callback = false;
}

static void finish_free(struct api_session *s)
{
	struct pending *p;
	while ((p = s->pending)) {
		s->pending = p->next;
		free(p);
	}
	if (s->fd >= 0) {
		evloop_del(s->loop, s->fd);
		close(s->fd);
	}
	free(s->in);
	free(s->out);
	free(s);
}

/* One reply or event line. */
static void dispatch(struct api_session *s, const char *line, size_t len)
{
	struct json_object *msg = NULL, *id;
	char why[128];
	if (api_parse_line(line, len, &msg, why, sizeof(why)) < 0) {
		nv_debug("api session: a malformed line from the VMM: %s", why);
		session_close(s, -EPROTO);
		return;
	}
	struct pending **pp = &s->pending, *p = NULL;
	if (json_object_object_get_ex(msg, "id", &id) && json_object_is_type(id, json_type_int)) {
		int64_t want = json_object_get_int64(id);
		for (; *pp; pp = &(*pp)->next)
			if ((*pp)->id == want)
				break;
		p = *pp;
	}
	s->in_callback = true;
	if (p) {
		*pp = p->next;
		if (!*pp)
			s->pending_tail = pp;
		if (p->cb)
			p->cb(p->opaque, 0, msg);
		free(p);
	} else if (s->ops.event) {
		s->ops.event(s->opaque, msg);
	}
	s->in_callback = false;
	json_object_put(msg);
}

static void on_readable(struct api_session *s)
{
	if (s->in_cap - s->in_len < 4096) {
		size_t cap = s->in_cap ? s->in_cap * 2 : 8192;
		if (cap > API_SESSION_MAX_LINE + 4096) {
			session_close(s, -EMSGSIZE);
			return;
		}
		char *n = realloc(s->in, cap);
		if (!n) {
			session_close(s, -ENOMEM);
			return;
		}
		s->in = n;
		s->in_cap = cap;
	}
	ssize_t r = recv(s->fd, s->in + s->in_len, s->in_cap - s->in_len, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		session_close(s, r == 0 ? -ECONNRESET : -errno);
		return;
	}
	s->in_len += (size_t)r;
	size_t start = 0;
	for (size_t i = 0; i < s->in_len && !s->closed && !s->free_later; i++) {
		if (s->in[i] != '\n')
			continue;
		size_t end = i > start && s->in[i - 1] == '\r' ? i - 1 : i;
		if (end > start)
			dispatch(s, s->in + start, end - start);
		start = i + 1;
	}
	if (s->closed || s->free_later)
		return;
	memmove(s->in, s->in + start, s->in_len - start);
	s->in_len -= start;
}

static void on_writable(struct api_session *s)
{
	if (s->connecting) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		if (e) {
			session_close(s, -e);
			return;
		}
		s->connecting = false;
	}
	while (s->out_off < s->out_len) {
		ssize_t r = send(s->fd, s->out + s->out_off, s->out_len - s->out_off,
			MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) {
			session_close(s, -errno);
			return;
		}
		s->out_off += (size_t)r;
	}
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
	watch(s);
}

static void on_event(void *opaque, int fd, uint32_t events)
{
	struct api_session *s = opaque;
	(void)fd;
	if (events & (EPOLLOUT | EPOLLERR))
		on_writable(s);
	if (!s->closed && !s->free_later && (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)))
		on_readable(s);
	if (s->free_later)
		finish_free(s);
}

int api_session_open(struct evloop *loop, const char *path, const struct api_session_ops *ops,
	void *opaque, struct api_session **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api_session *s;
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->opaque = opaque;
	if (ops)
		s->ops = *ops;
	s->next_id = 1;
	s->pending_tail = &s->pending;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			rc = -errno;
			goto fail;
		}
		s->connecting = true;
	}
	rc = evloop_add(loop, s->fd, EPOLLIN | EPOLLRDHUP | (s->connecting ? EPOLLOUT : 0), on_event,
		s);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	close_fd(&s->fd);
	free(s);
	return rc;
}

int api_session_call(struct api_session *s, const char *command, struct json_object *args,
	api_reply_cb cb, void *opaque)
{
	struct json_object *req;
	struct pending *p;
	const char *txt;
	size_t len;

	if (s->closed || s->free_later)
		return -ENOTCONN;
	if (s->out_len - s->out_off > API_MAX_OUTPUT)
		return -ENOBUFS;
	req = json_object_new_object();
	p = calloc(1, sizeof(*p));
	if (!req || !p)
		goto nomem;
	p->id = s->next_id++;
	p->cb = cb;
	p->opaque = opaque;
	json_object_object_add(req, "command", json_object_new_string(command));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_int64(p->id));
	txt = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN |
		JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!txt)
		goto nomem;
	if (s->out_cap - s->out_len < len + 1) {
		size_t cap = s->out_len + len + 1 + 4096;
		char *n = realloc(s->out, cap);
		if (!n)
			goto nomem;
		s->out = n;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, txt, len);
	s->out[s->out_len + len] = '\n';
	s->out_len += len + 1;
	json_object_put(req);
	*s->pending_tail = p;
	s->pending_tail = &p->next;
	if (!s->connecting)
		on_writable(s);
	if (s->free_later) { /* freed by its owner from the closed callback */
		finish_free(s);
		return -ENOTCONN;
	}
	return s->closed ? -ENOTCONN : 0;
nomem:
	json_object_put(req);
	free(p);
	return -ENOMEM;
}

bool api_session_connected(const struct api_session *s)
{
	return s && !s->closed && !s->connecting;
}

void api_session_free(struct api_session *s)
{
	if (!s)
		return;
	if (s->in_callback) {
		s->free_later = true; /* finished when the callback returns to on_event */
		return;
	}
	finish_free(s);
}
