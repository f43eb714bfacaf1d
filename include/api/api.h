/* SPDX-License-Identifier: MIT */
/*
 * The VMM control socket: a unix stream socket served on an evloop, one JSON
 * request per line, one JSON reply per line. Protocol: docs/api.md.
 *
 * Threading: api_new, api_register and api_free run on the loop's thread (or
 * while the loop is not running); handlers run on the loop's thread and must
 * not call api_free. api_call and the printing helpers need no server; the
 * api_session calls run on the session's loop thread.
 */
#ifndef NV_API_H
#define NV_API_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct evloop;
struct json_object;
struct api;

/* Longest request line accepted, newline excluded. */
#define API_MAX_REQUEST (64 * 1024)
/* Queued reply bytes past which a client that does not read is dropped. */
#define API_MAX_OUTPUT (1024 * 1024)
/* Clients served at once; further connections get an EBUSY error and are closed. */
#define API_MAX_CLIENTS 64

/*
 * handler: fill *reply (a json object you create, or leave NULL for {}) or set
 * *err (malloc'd message) and return a negative errno; args is the request's
 * "arguments" object or NULL. The server owns *reply and *err afterwards.
 */
typedef int (*api_handler)(void *opaque, struct json_object *args, struct json_object **reply,
			   char **err);

/*
 * Creates the socket at path: mode 0600 (umask-proof), refuses ("in use by a
 * running VMM", -EADDRINUSE) if a live server answers at that path, removes a
 * stale socket file, refuses (-EEXIST) if the path exists and is not a socket.
 * 0 / -errno with *err set to a human message naming the path (free it).
 * The built-in command "commands" is registered already.
 */
int api_new(struct evloop *loop, const char *path, struct api **out, char **err);

/* 0, -EEXIST (already registered), -EINVAL (empty name or NULL handler), -ENOMEM. */
int api_register(struct api *a, const char *command, api_handler h, void *opaque);

/*
 * A handler that is told which connection calls it (valid during the call
 * only), for commands that change what the connection is: `subscribe`
 * (built in) and a console attachment.
 */
struct api_caller;
typedef int (*api_caller_handler)(void *opaque, struct api_caller *caller,
	struct json_object *args, struct json_object **reply, char **err);
int api_register_caller(struct api *a, const char *command, api_caller_handler h, void *opaque);

/*
 * From a caller handler that succeeds: once its reply line is sent, the
 * connection leaves the control protocol and its socket is handed to
 * cb(opaque, fd, pending, len), which owns fd from then on; pending holds
 * what the client sent after the request line (already read, not a
 * request). No further line of that connection is parsed. 0 or -EBUSY.
 */
typedef void (*api_take_cb)(void *opaque, int fd, const void *pending, size_t len);
int api_caller_take(struct api_caller *c, api_take_cb cb, void *opaque);

/*
 * Events. A client that sent `subscribe` (built in: reply {}) gets every
 * published event as a line {"event": NAME, ...the members of data...}
 * after its reply, in publication order; a subscriber that lets output
 * pile up past API_MAX_OUTPUT is disconnected. data (may be NULL) is
 * consumed. Returns how many subscribers it was queued for.
 */
int api_publish(struct api *a, const char *event, struct json_object *data);

/* Closes every client, removes the socket file (if it is still ours). NULL ok. */
void api_free(struct api *a);

/*
 * Who may talk: peers whose SO_PEERCRED uid equals uid, or 0 when allow_root.
 * Defaults: the VMM's own euid, root allowed. Exists for tests, which run as
 * root and could not otherwise see a rejection; applies to new connections.
 */
void api_set_allowed_peer(struct api *a, uid_t uid, bool allow_root);

/*
 * Client side, for `vmm` subcommands and tests: connect, send one request,
 * read one reply line. args may be NULL (it is not consumed); timeout_ms < 0
 * waits forever and bounds the whole exchange otherwise. Returns 0 and *reply
 * (the parsed reply object: {"return": ...} or {"error": ...}; put it) or
 * -errno (-ECONNREFUSED, -ENOENT, -ETIMEDOUT, -ENAMETOOLONG, -EPROTO for a
 * reply that is not a JSON object, -EMSGSIZE, -ECONNRESET...).
 */
int api_call(const char *path, const char *command, struct json_object *args, int timeout_ms,
	     struct json_object **reply);

/*
 * Whether a server listens at path, without talking to it: 1 yes (it will
 * see a connection open and close), 0 no (no file, or a stale socket), or
 * -errno when that cannot be told (-EACCES, -ENOTSOCK...).
 */
int api_probe(const char *path);

/*
 * As api_call, with the arguments given as JSON text (NULL or "" for none),
 * which must be an object: -EINVAL and *err otherwise. On any failure *err
 * holds a human message naming the path (see api_call_strerror).
 */
int api_call_json(const char *path, const char *command, const char *args_json, int timeout_ms,
		  struct json_object **reply, char **err);

/* Malloc'd human message for a negative errno returned by api_call. NULL on ENOMEM. */
char *api_call_strerror(const char *path, int rc);

/*
 * Prints a reply for humans and scripts: the "return" value as pretty JSON on
 * out (returns 0), or "error: CODE: MESSAGE" on errout (returns -EREMOTEIO),
 * or a complaint about a malformed reply on errout (returns -EPROTO).
 */
int api_print_reply(struct json_object *reply, FILE *out, FILE *errout);

/* ---- the asynchronous client (api_session.c), for supervisors on an event loop ---- */

/* A reply or event line longer than this closes the session (-EMSGSIZE). */
#define API_SESSION_MAX_LINE (4 * 1024 * 1024)

/*
 * A request's answer: rc 0 and the reply object ({"return": ...} or
 * {"error": ...}; borrowed for the call), or rc < 0 and NULL when the
 * session closed first (-ECONNRESET, -EPROTO, ...).
 */
typedef void (*api_reply_cb)(void *opaque, int rc, struct json_object *reply);

struct api_session_ops {
	/* A line that answers no request (an event pushed by `subscribe`); borrowed. */
	void (*event)(void *opaque, struct json_object *msg);
	/* The connection is gone (rc: why); every request was answered with rc first. */
	void (*closed)(void *opaque, int rc);
};

struct api_session;

/*
 * Connects to the control socket at path without blocking (a connection
 * still in progress is finished on the loop). 0 and *out, or -errno
 * (-ENOENT, -ECONNREFUSED, -ENAMETOOLONG...). Callbacks run on the loop's
 * thread; any of them may call api_session_free.
 */
int api_session_open(struct evloop *loop, const char *path, const struct api_session_ops *ops,
	void *opaque, struct api_session **out);
/*
 * Queues one request (args may be NULL; it is not consumed); cb gets its
 * reply. 0, -ENOTCONN (closed), -ENOBUFS (too much unsent), -ENOMEM.
 */
int api_session_call(struct api_session *s, const char *command, struct json_object *args,
	api_reply_cb cb, void *opaque);
/* Connected and not closed. */
bool api_session_connected(const struct api_session *s);
/* Closes it; waiting requests get no callback. NULL ok. */
void api_session_free(struct api_session *s);

/* ---- the wire format, for anything speaking or faking the protocol ---- */

/* {"error": {"code": code, "message": message}, "id": id} (id omitted when NULL;
 * it is not consumed). NULL when out of memory. */
struct json_object *api_error_reply(const char *code, const char *message,
				    struct json_object *id);
/* The same with the errno name of a negative errno as the code ("EBUSY") and,
 * when message is NULL, its description as the message. */
struct json_object *api_errno_reply(int rc, const char *message, struct json_object *id);

/*
 * Strict parse of one message (a line without its newline; need not be
 * NUL-terminated) that must be a JSON object, whitespace around allowed.
 * 0 and *out, or -EPROTO (-ENOMEM, -EMSGSIZE) with the reason in why.
 */
int api_parse_line(const char *line, size_t len, struct json_object **out, char *why,
		   size_t why_len);

#endif
