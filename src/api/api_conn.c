// SPDX-License-Identifier: MIT
/*
 * Control socket clients: every client is non-blocking and level-triggered
 * on the loop: one read per wake-up (so a chatty client cannot starve the
 * others), one JSON request per line, replies queued in a per-client output
 * buffer and written as the socket accepts them. Protocol in docs/api.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api_internal.h"
#include "evloop.h"
#include "util.h"

/* ---- replies ---- */

/* The reply's text (owned by r, no newline), NULL when out of memory. */
static const char *reply_text(struct json_object *r, size_t *len)
{
	return r ? json_object_to_json_string_length(
			   r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len)
		 : NULL;
}

/* Best effort for a connection we refuse before serving it. */
static void reject(int fd, const char *code, const char *message)
{
	struct json_object *r = api_error_reply(code, message, NULL);
	char line[512];
	size_t n = 0;
	const char *txt = reply_text(r, &n);
	if (txt && n < sizeof(line)) {
		memcpy(line, txt, n);
		line[n++] = '\n';
		if (send(fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			nv_debug("api: refused client: %s", strerror(errno));
	}
	json_object_put(r);
	close(fd);
}

/* ---- clients ---- */

void api_client_free(struct api_client *c)
{
	if (!c)
		return;
	evloop_del(c->api->loop, c->fd);
	close_fd(&c->fd);
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->api->nclients--;
	free(c->in);
	free(c->out);
	free(c);
}

static int client_set_events(struct api_client *c)
{
	uint32_t ev = 0;
	if (!c->closing && !c->take_cb)
		ev |= EPOLLIN;
	if (c->out_off < c->out_len)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return 0;
	int r = evloop_mod(c->api->loop, c->fd, ev);
	if (r == 0)
		c->events = ev;
	return r;
}

/*
 * Hands a connection whose reply went out to its new owner (api_caller_take):
 * it leaves the loop and the client list, its unparsed input goes along.
 * Returns -EINPROGRESS: the client is gone from the api, as after a free.
 */
static int client_handover(struct api_client *c)
{
	int fd = c->fd;
	api_take_cb cb = c->take_cb;
	void *opaque = c->take_opaque;
	char *in = c->in;
	size_t len = c->in_len;

	evloop_del(c->api->loop, fd);
	c->fd = -1;
	c->in = NULL;
	c->in_len = 0;
	api_client_free(c);
	cb(opaque, fd, in, len);
	free(in);
	return -EINPROGRESS;
}

/* Sends what the socket takes. 0, or -errno when the client must go (a
 * closing client whose output is all sent gets -ESHUTDOWN; a handed-over one
 * -EINPROGRESS, already gone). */
static int client_flush(struct api_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t r = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		c->out_off += (size_t)r;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->take_cb)
			return client_handover(c);
		if (c->closing)
			return -ESHUTDOWN;
	}
	return client_set_events(c);
}

/* Queues one reply (consumed) and sends what it can. -ENOBUFS when the client
 * stopped reading. */
static int client_queue(struct api_client *c, struct json_object *r, bool flush)
{
	size_t n = 0;
	const char *txt = reply_text(r, &n);
	int rc = 0;
	if (!txt) {
		rc = -ENOMEM;
		goto out;
	}
	if (c->out_len - c->out_off + n + 1 > API_MAX_OUTPUT) {
		nv_warn("api: dropping a client that does not read its replies");
		rc = -ENOBUFS;
		goto out;
	}
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n + 1)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, txt, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	rc = flush ? client_flush(c) : client_set_events(c);
out:
	json_object_put(r);
	return rc;
}

int api_client_queue(struct api_client *c, struct json_object *msg)
{
	/* Not flushed here: a publisher walks the client list, which a flush may edit. */
	return client_queue(c, msg, false);
}

/* ---- requests ---- */

static struct json_object *run_cmd(struct api_client *c, const struct api_cmd *cmd,
	struct json_object *args, struct json_object *id)
{
	struct json_object *ret = NULL, *r;
	char *emsg = NULL;
	int rc = cmd->ch ? cmd->ch(cmd->opaque, (struct api_caller *)c, args, &ret, &emsg)
			 : cmd->h(cmd->opaque, args, &ret, &emsg);
	if (rc < 0)
		c->take_cb = NULL; /* a failed command keeps its connection */
	if (rc < 0) {
		json_object_put(ret);
		r = api_errno_reply(rc, emsg, id);
	} else {
		if (!ret)
			ret = json_object_new_object();
		r = json_object_new_object();
		if (r && ret) {
			json_object_object_add(r, "return", ret);
			if (id)
				json_object_object_add(r, "id", json_object_get(id));
		} else {
			json_object_put(ret);
			json_object_put(r);
			r = NULL;
		}
	}
	free(emsg);
	return r;
}

/* Builds the reply to a request object (not consumed). */
static struct json_object *dispatch(struct api_client *c, struct json_object *req)
{
	struct api *a = c->api;
	struct json_object *id = NULL, *cmdv = NULL, *args = NULL;
	bool has_cmd = false;
	const char *unknown = NULL;
	char msg[160];

	json_object_object_foreach(req, key, val) {
		if (strcmp(key, "id") == 0)
			id = val;
		else if (strcmp(key, "command") == 0)
			cmdv = val, has_cmd = true;
		else if (strcmp(key, "arguments") == 0)
			args = val;
		else if (!unknown)
			unknown = key;
	}
	if (unknown) {
		snprintf(msg, sizeof(msg), "unknown member '%.64s' in request", unknown);
		return api_error_reply("invalid-request", msg, id);
	}
	if (!has_cmd)
		return api_error_reply("invalid-request", "request has no \"command\"", id);
	if (!json_object_is_type(cmdv, json_type_string))
		return api_error_reply("invalid-request", "\"command\" must be a string", id);
	if (args && !json_object_is_type(args, json_type_object))
		return api_error_reply("invalid-request", "\"arguments\" must be an object", id);

	const char *name = json_object_get_string(cmdv);
	const struct api_cmd *cmd = api_find_cmd(a, name);
	if (!cmd) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (try \"commands\")", name);
		return api_error_reply("unknown-command", msg, id);
	}
	return run_cmd(c, cmd, args, id);
}

static int handle_line(struct api_client *c, const char *line, size_t len)
{
	struct json_object *req = NULL, *r;
	char why[128];
	size_t i = 0;
	while (i < len && strchr(" \t\r", line[i]))
		i++;
	if (i == len)
		return 0; /* blank lines are ignored */
	if (api_parse_line(line, len, &req, why, sizeof(why)) < 0)
		r = api_error_reply("invalid-request", why, NULL);
	else
		r = dispatch(c, req);
	json_object_put(req);
	if (!r)
		return -ENOMEM;
	/* A connection being handed over is flushed once the parse stops. */
	return client_queue(c, r, !c->take_cb);
}

/* Consumes complete lines from c->in. 0 or -errno (drop the client). */
static int client_parse(struct api_client *c)
{
	size_t pos = 0;
	int rc = 0;
	while (rc == 0 && pos < c->in_len && !c->take_cb) {
		char *start = c->in + pos;
		char *nl = memchr(start, '\n', c->in_len - pos);
		if (c->discarding) {
			if (!nl) {
				pos = c->in_len;
				break;
			}
			c->discarding = false;
			pos = (size_t)(nl - c->in) + 1;
			continue;
		}
		if (!nl) {
			if (c->in_len - pos > API_MAX_REQUEST) {
				char msg[96];
				snprintf(msg, sizeof(msg), "request longer than %d bytes",
					 API_MAX_REQUEST);
				c->discarding = true;
				pos = c->in_len;
				rc = client_queue(c, api_error_reply("request-too-large", msg, NULL),
					true);
			}
			break;
		}
		rc = handle_line(c, start, (size_t)(nl - start));
		pos = (size_t)(nl - c->in) + 1;
	}
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	if (rc == 0 && c->take_cb)
		rc = client_flush(c); /* hands it over now, or once the reply is out */
	return rc;
}

static int client_read(struct api_client *c)
{
	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : API_IN_MIN;
		if (cap > API_IN_MAX)
			cap = API_IN_MAX;
		char *p = realloc(c->in, cap);
		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_cap = cap;
	}
	ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
	if (r == 0) {
		/* Half-closed: answer what came, then go. A last line without
		 * its newline is not a request. */
		c->closing = true;
		return client_flush(c);
	}
	c->in_len += (size_t)r;
	return client_parse(c);
}

static void on_client(void *opaque, int fd, uint32_t events)
{
	struct api_client *c = opaque;
	int rc = 0;
	if (events & EPOLLOUT)
		rc = client_flush(c);
	/* While closing only hang-ups come in: the reply cannot be delivered. */
	if (rc == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = c->closing ? -EPIPE : client_read(c);
	if (rc == -EINPROGRESS)
		return; /* handed over: c is gone */
	if (rc < 0) {
		if (rc != -ESHUTDOWN && rc != -ENOBUFS)
			nv_debug("api: client on fd %d gone: %s", fd, strerror(-rc));
		api_client_free(c);
	}
}

static bool peer_allowed(const struct api *a, int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr))
		return false;
	*uid = cr.uid;
	return cr.uid == a->allowed_uid || (cr.uid == 0 && a->allow_root);
}

static void client_accept(struct api *a, int fd)
{
	uid_t uid = (uid_t)-1;
	char msg[128];
	if (!peer_allowed(a, fd, &uid)) {
		snprintf(msg, sizeof(msg), "uid %d may not use this VMM's control socket", (int)uid);
		nv_warn("api: refused a client: %s", msg);
		reject(fd, "permission-denied", msg);
		return;
	}
	if (a->nclients >= API_MAX_CLIENTS) {
		reject(fd, "EBUSY", "too many clients on the control socket");
		return;
	}
	struct api_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->api = a;
	c->fd = fd;
	c->events = EPOLLIN;
	if (evloop_add(a->loop, fd, EPOLLIN, on_client, c) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->next = a->clients;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &a->clients;
	a->clients = c;
	a->nclients++;
}

void api_on_listen(void *opaque, int fd, uint32_t events)
{
	struct api *a = opaque;
	for (int i = 0; i < API_ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				nv_debug("api: accept: %s", strerror(errno));
			return;
		}
		client_accept(a, cfd);
	}
}

/* ---- setup ---- */

