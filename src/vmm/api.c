// SPDX-License-Identifier: MIT
/*
 * The VMM control socket, server side. Protocol in docs/api.md.
 *
 * Every client is non-blocking and level-triggered on the loop: one read per
 * wake-up (so a chatty client cannot starve the others), replies queued in a
 * per-client output buffer and written as the socket accepts them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "evloop.h"
#include "util.h"

#define API_IN_MIN 4096
#define API_IN_MAX (API_MAX_REQUEST + 1) /* a full-length line and its newline */
#define API_ACCEPT_BATCH 16

struct api_cmd {
	char *name;
	api_handler h;
	void *opaque;
};

struct api_client {
	struct api *api;
	int fd;
	char *in;            /* unparsed input */
	size_t in_len, in_cap;
	bool discarding;     /* dropping the rest of an oversized line */
	char *out;           /* queued reply bytes: out[out_off, out_len) still to send */
	size_t out_off, out_len, out_cap;
	bool closing;        /* peer stopped sending: close once out is flushed */
	uint32_t events;     /* what we asked the loop for */
	struct api_client *next, **pprev;
};

struct api {
	struct evloop *loop;
	int fd;
	char *path;
	bool bound;          /* path is our socket: unlink it on free */
	dev_t dev;
	ino_t ino;
	uid_t allowed_uid;
	bool allow_root;
	struct api_cmd *cmds;
	size_t ncmds, cmds_cap;
	struct api_client *clients;
	size_t nclients;
};

static void set_err(char **err, const char *fmt, ...) NV_PRINTF(2, 3);
static void set_err(char **err, const char *fmt, ...)
{
	if (!err)
		return;
	free(*err);
	*err = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

/* -errno, with "cannot WHAT control socket PATH: reason" in *err. */
static int sys_err(char **err, const char *what, const char *path)
{
	int rc = -errno;
	set_err(err, "cannot %s control socket %s: %s", what, path, strerror(-rc));
	return rc;
}

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

static void client_free(struct api_client *c)
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
	if (!c->closing)
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

/* Sends what the socket takes. 0, or -errno when the client must go (a
 * closing client whose output is all sent gets -ESHUTDOWN). */
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
		if (c->closing)
			return -ESHUTDOWN;
	}
	return client_set_events(c);
}

/* Queues one reply (consumed). -ENOBUFS when the client stopped reading. */
static int client_queue(struct api_client *c, struct json_object *r)
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
	rc = client_flush(c);
out:
	json_object_put(r);
	return rc;
}

/* ---- requests ---- */

static const struct api_cmd *find_cmd(const struct api *a, const char *name)
{
	for (size_t i = 0; i < a->ncmds; i++)
		if (strcmp(a->cmds[i].name, name) == 0)
			return &a->cmds[i];
	return NULL;
}

static struct json_object *run_cmd(const struct api_cmd *cmd, struct json_object *args,
				   struct json_object *id)
{
	struct json_object *ret = NULL, *r;
	char *emsg = NULL;
	int rc = cmd->h(cmd->opaque, args, &ret, &emsg);
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
static struct json_object *dispatch(struct api *a, struct json_object *req)
{
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
	const struct api_cmd *cmd = find_cmd(a, name);
	if (!cmd) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (try \"commands\")", name);
		return api_error_reply("unknown-command", msg, id);
	}
	return run_cmd(cmd, args, id);
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
		r = dispatch(c->api, req);
	json_object_put(req);
	if (!r)
		return -ENOMEM;
	return client_queue(c, r);
}

/* Consumes complete lines from c->in. 0 or -errno (drop the client). */
static int client_parse(struct api_client *c)
{
	size_t pos = 0;
	int rc = 0;
	while (rc == 0 && pos < c->in_len) {
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
				rc = client_queue(c, api_error_reply("request-too-large", msg, NULL));
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
	if (rc < 0) {
		if (rc != -ESHUTDOWN && rc != -ENOBUFS)
			nv_debug("api: client on fd %d gone: %s", fd, strerror(-rc));
		client_free(c);
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

static void on_listen(void *opaque, int fd, uint32_t events)
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

static int builtin_commands(void *opaque, struct json_object *args, struct json_object **reply,
			    char **err)
{
	const struct api *a = opaque;
	struct json_object *list = json_object_new_array();
	*reply = json_object_new_object();
	if (!list || !*reply) {
		json_object_put(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->ncmds; i++)
		json_object_array_add(list, json_object_new_string(a->cmds[i].name));
	json_object_object_add(*reply, "commands", list);
	return 0;
}

/* Clears the way for bind: 0 or -errno with *err set. */
static int prepare_path(const char *path, char **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : sys_err(err, "use", path);
	if (!S_ISSOCK(st.st_mode)) {
		set_err(err, "cannot use %s as control socket: it exists and is not a socket", path);
		return -EEXIST;
	}
	int live = api_probe(path);
	if (live > 0) {
		set_err(err, "control socket %s is in use by a running VMM", path);
		return -EADDRINUSE;
	}
	if (live < 0) {
		set_err(err, "cannot check whether control socket %s is in use: %s", path,
			strerror(-live));
		return live;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return sys_err(err, "remove stale", path);
	nv_debug("api: removed stale control socket %s", path);
	return 0;
}

int api_new(struct evloop *loop, const char *path, struct api **out, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct api *a = NULL;
	struct stat st;
	int rc;

	if (err)
		*err = NULL;
	if (out)
		*out = NULL;
	if (!loop || !path || !*path || !out) {
		set_err(err, "api_new: invalid arguments");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(err, "control socket path %s is too long (at most %zu bytes)", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	a = calloc(1, sizeof(*a));
	if (!a) {
		rc = -ENOMEM;
		goto fail;
	}
	a->loop = loop;
	a->fd = -1;
	a->allowed_uid = geteuid();
	a->allow_root = true;
	a->path = strdup(path);
	if (!a->path) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = api_register(a, "commands", builtin_commands, a);
	if (rc < 0)
		goto fail;

	rc = prepare_path(path, err);
	if (rc < 0)
		goto fail;
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		rc = sys_err(err, "create", path);
		goto fail;
	}
	/* Linux gives the file the socket inode's mode (less the umask): no
	 * window where it is wider than 0600. The chmod below undoes a umask
	 * that would make it narrower. */
	if (fchmod(a->fd, 0600) < 0)
		nv_debug("api: fchmod on socket: %s", strerror(errno));
	if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = sys_err(err, "create", path);
		if (rc == -EADDRINUSE)
			set_err(err, "control socket %s is in use by a running VMM", path);
		goto fail;
	}
	if (lstat(path, &st) < 0) {
		rc = sys_err(err, "stat", path);
		goto fail;
	}
	a->bound = true;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	if (chmod(path, 0600) < 0) {
		rc = sys_err(err, "set the mode of", path);
		goto fail;
	}
	if (listen(a->fd, 16) < 0) {
		rc = sys_err(err, "listen on", path);
		goto fail;
	}
	rc = evloop_add(loop, a->fd, EPOLLIN, on_listen, a);
	if (rc < 0) {
		set_err(err, "cannot watch control socket %s: %s", path, strerror(-rc));
		goto fail;
	}
	*out = a;
	return 0;

fail:
	if (rc == -ENOMEM && err && !*err)
		set_err(err, "cannot create control socket %s: out of memory", path);
	api_free(a);
	return rc;
}

int api_register(struct api *a, const char *command, api_handler h, void *opaque)
{
	if (!a || !command || !*command || !h)
		return -EINVAL;
	if (find_cmd(a, command))
		return -EEXIST;
	if (a->ncmds == a->cmds_cap) {
		size_t cap = a->cmds_cap ? a->cmds_cap * 2 : 8;
		struct api_cmd *p = realloc(a->cmds, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		a->cmds = p;
		a->cmds_cap = cap;
	}
	char *name = strdup(command);
	if (!name)
		return -ENOMEM;
	a->cmds[a->ncmds++] = (struct api_cmd){ .name = name, .h = h, .opaque = opaque };
	return 0;
}

void api_set_allowed_peer(struct api *a, uid_t uid, bool allow_root)
{
	if (!a)
		return;
	a->allowed_uid = uid;
	a->allow_root = allow_root;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	while (a->clients)
		client_free(a->clients);
	if (a->fd >= 0) {
		evloop_del(a->loop, a->fd);
		close_fd(&a->fd);
	}
	struct stat st;
	/* Only our own socket: a successor may have replaced it already. */
	if (a->bound && lstat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
		unlink(a->path);
	for (size_t i = 0; i < a->ncmds; i++)
		free(a->cmds[i].name);
	free(a->cmds);
	free(a->path);
	free(a);
}
