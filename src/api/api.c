// SPDX-License-Identifier: MIT
/*
 * The VMM control socket, server side: the listening socket, its checks
 * and the command table. Clients are served in api_conn.c. Protocol in
 * docs/api.md.
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
#include "api_internal.h"
#include "evloop.h"
#include "util.h"

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

const struct api_cmd *api_find_cmd(const struct api *a, const char *name)
{
	for (size_t i = 0; i < a->ncmds; i++)
		if (strcmp(a->cmds[i].name, name) == 0)
			return &a->cmds[i];
	return NULL;
}

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

static int builtin_subscribe(void *opaque, struct api_caller *caller, struct json_object *args,
	struct json_object **reply, char **err);

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
	if (rc == 0)
		rc = api_register_caller(a, "subscribe", builtin_subscribe, a);
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
	rc = evloop_add(loop, a->fd, EPOLLIN, api_on_listen, a);
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

static int add_cmd(struct api *a, const char *command, api_handler h, api_caller_handler ch,
	void *opaque)
{
	if (!a || !command || !*command || (!h && !ch))
		return -EINVAL;
	if (api_find_cmd(a, command))
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
	a->cmds[a->ncmds++] = (struct api_cmd){ .name = name, .h = h, .ch = ch, .opaque = opaque };
	return 0;
}

int api_register(struct api *a, const char *command, api_handler h, void *opaque)
{
	return h ? add_cmd(a, command, h, NULL, opaque) : -EINVAL;
}

int api_register_caller(struct api *a, const char *command, api_caller_handler h, void *opaque)
{
	return h ? add_cmd(a, command, NULL, h, opaque) : -EINVAL;
}

static int builtin_subscribe(void *opaque, struct api_caller *caller, struct json_object *args,
	struct json_object **reply, char **err)
{
	((struct api_client *)caller)->subscribed = true;
	return 0;
}

int api_caller_take(struct api_caller *caller, api_take_cb cb, void *opaque)
{
	struct api_client *c = (struct api_client *)caller;
	if (!c || !cb || c->take_cb)
		return -EBUSY;
	c->take_cb = cb;
	c->take_opaque = opaque;
	return 0;
}

int api_publish(struct api *a, const char *event, struct json_object *data)
{
	int n = 0;
	if (!a) {
		json_object_put(data);
		return 0;
	}
	struct json_object *msg = json_object_new_object();
	if (!msg) {
		json_object_put(data);
		return -ENOMEM;
	}
	json_object_object_add(msg, "event", json_object_new_string(event));
	if (data) {
		json_object_object_foreach(data, k, v)
			json_object_object_add(msg, k, json_object_get(v));
		json_object_put(data);
	}
	for (struct api_client *c = a->clients, *next; c; c = next) {
		next = c->next;
		if (!c->subscribed || c->take_cb)
			continue;
		if (api_client_queue(c, json_object_get(msg)) < 0)
			api_client_free(c);
		else
			n++;
	}
	json_object_put(msg);
	return n;
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
		api_client_free(a->clients);
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
