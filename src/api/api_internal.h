/* SPDX-License-Identifier: MIT */
/* The control socket's internals shared by api.c (setup, commands) and
 * api_conn.c (clients: reading lines, dispatching, queueing replies). */
#ifndef NV_API_INTERNAL_H
#define NV_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api.h"

#define API_IN_MIN 4096
#define API_IN_MAX (API_MAX_REQUEST + 1) /* a full-length line and its newline */
#define API_ACCEPT_BATCH 16

struct api_cmd {
	char *name;
	api_handler h;         /* or: */
	api_caller_handler ch; /* a handler that gets the calling connection */
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
	bool subscribed;     /* gets api_publish's events */
	api_take_cb take_cb; /* the connection is handed over once its output is sent */
	void *take_opaque;
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

/* The listening socket's loop callback: accepts waiting clients. */
void api_on_listen(void *opaque, int fd, uint32_t events);
/* The registered command of that name, or NULL. */
const struct api_cmd *api_find_cmd(const struct api *a, const char *name);
/* Closes a client and unlinks it from its api (NULL ok). */
void api_client_free(struct api_client *c);
/* Queues one message line (consumed). 0 or -errno (drop the client). */
int api_client_queue(struct api_client *c, struct json_object *msg);

#endif
