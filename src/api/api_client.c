// SPDX-License-Identifier: MIT
/*
 * The VMM control socket, client side (one request, one reply), and the
 * message helpers both sides share. Protocol in docs/api.md.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "util.h"

/* Replies are small; this only stops a runaway server from eating memory. */
#define API_MAX_REPLY (16 * 1024 * 1024)

struct deadline {
	bool forever;
	uint64_t end_ns;
};

/* Waits for ev on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short ev, const struct deadline *d)
{
	for (;;) {
		int ms = -1;
		if (!d->forever) {
			uint64_t now = now_ns();
			if (now >= d->end_ns)
				return -ETIMEDOUT;
			ms = (int)((d->end_ns - now + 999999) / 1000000);
		}
		struct pollfd p = { .fd = fd, .events = ev };
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int do_connect(int fd, const struct sockaddr_un *sa, const struct deadline *d)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Listener's backlog is full: give it a moment. */
			if (!d->forever && now_ns() >= d->end_ns)
				return -ETIMEDOUT;
			poll(NULL, 0, 10);
			continue;
		}
		if (errno != EINPROGRESS)
			return -errno;
		int r = wait_fd(fd, POLLOUT, d);
		if (r < 0)
			return r;
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			return -errno;
		return -soerr;
	}
}

/* 0, or -errno. A peer that hung up may still have answered: -EPIPE is for
 * the caller to read past. */
static int send_all(int fd, const char *buf, size_t len, const struct deadline *d)
{
	while (len) {
		ssize_t r = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int w = wait_fd(fd, POLLOUT, d);
				if (w < 0)
					return w;
				continue;
			}
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Reads up to the first newline; *line is malloc'd and NUL-terminated. */
static int recv_line(int fd, char **line, size_t *len, const struct deadline *d)
{
	size_t n = 0, cap = 0;
	char *buf = NULL;
	int rc;
	for (;;) {
		if (n == cap) {
			if (cap >= API_MAX_REPLY) {
				rc = -EMSGSIZE;
				goto fail;
			}
			cap = cap ? cap * 2 : 4096;
			char *p = realloc(buf, cap + 1);
			if (!p) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = p;
		}
		ssize_t r = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rc = wait_fd(fd, POLLIN, d);
				if (rc < 0)
					goto fail;
				continue;
			}
			rc = -errno;
			goto fail;
		}
		if (r == 0) {
			rc = -ECONNRESET; /* closed before a whole reply */
			goto fail;
		}
		char *nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
		if (nl) {
			*nl = '\0';
			*line = buf;
			*len = (size_t)(nl - buf);
			return 0;
		}
	}
fail:
	free(buf);
	return rc;
}

/* ---- the wire format ---- */

struct json_object *api_error_reply(const char *code, const char *message, struct json_object *id)
{
	struct json_object *r = json_object_new_object();
	struct json_object *e = json_object_new_object();
	if (!r || !e) {
		json_object_put(r);
		json_object_put(e);
		return NULL;
	}
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(r, "error", e);
	if (id)
		json_object_object_add(r, "id", json_object_get(id));
	return r;
}

struct json_object *api_errno_reply(int rc, const char *message, struct json_object *id)
{
	char code[32];
	int e = rc < 0 && rc != INT_MIN ? -rc : EIO;
	const char *name = strerrorname_np(e);
	if (!name) {
		snprintf(code, sizeof(code), "errno-%d", e);
		name = code;
	}
	if (!message)
		message = strerrordesc_np(e) ? strerrordesc_np(e) : "unknown error";
	return api_error_reply(name, message, id);
}

int api_parse_line(const char *line, size_t len, struct json_object **out, char *why,
		   size_t why_len)
{
	struct json_object *o = NULL;
	int rc = -EPROTO;
	*out = NULL;
	if (len > INT_MAX) {
		snprintf(why, why_len, "message too long");
		return -EMSGSIZE;
	}
	struct json_tokener *tok = json_tokener_new();
	if (!tok) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, line, (int)len);
	size_t end = json_tokener_get_parse_end(tok);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* A NUL ends a top-level number or literal, or proves the text cut short. */
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	while (end < len && line[end] && strchr(" \t\r\n", line[end]))
		end++;
	if (jerr != json_tokener_success)
		snprintf(why, why_len, "malformed JSON at byte %zu: %s", end,
			 json_tokener_error_desc(jerr));
	else if (end < len)
		snprintf(why, why_len, "trailing data at byte %zu after the JSON value", end);
	else if (!json_object_is_type(o, json_type_object))
		snprintf(why, why_len, "message must be a JSON object");
	else
		rc = 0;
	if (rc == 0)
		*out = o;
	else
		json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

int api_probe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
		rc = 1; /* accepted, or a full backlog: someone listens */
	else if (errno == ECONNREFUSED || errno == ENOENT)
		rc = 0;
	else
		rc = -errno;
	close(fd);
	return rc;
}

int api_call(const char *path, const char *command, struct json_object *args, int timeout_ms,
	     struct json_object **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct deadline d = { .forever = timeout_ms < 0 };
	struct json_object *req = NULL;
	const char *txt;
	char *line = NULL, *msg = NULL;
	size_t len = 0;
	int fd = -1, rc, send_rc;

	if (reply)
		*reply = NULL;
	if (!path || !command || !reply)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (!d.forever)
		d.end_ns = now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	rc = -ENOMEM;
	req = json_object_new_object();
	if (!req)
		goto out;
	json_object_object_add(req, "command", json_object_new_string(command));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	txt = json_object_to_json_string_length(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!txt || !(msg = malloc(len + 1)))
		goto out;
	memcpy(msg, txt, len);
	msg[len++] = '\n';

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = do_connect(fd, &sa, &d);
	if (rc < 0)
		goto out;
	rc = send_all(fd, msg, len, &d);
	if (rc < 0 && rc != -EPIPE)
		goto out;
	/* Nothing more to say; a server that refused us may have answered. */
	shutdown(fd, SHUT_WR);
	send_rc = rc;
	rc = recv_line(fd, &line, &len, &d);
	if (rc < 0) {
		if (send_rc < 0 && rc == -ECONNRESET)
			rc = send_rc;
		goto out;
	}
	char why[128];
	rc = api_parse_line(line, len, reply, why, sizeof(why));
out:
	close_fd(&fd);
	free(line);
	free(msg);
	json_object_put(req);
	return rc;
}

char *api_call_strerror(const char *path, int rc)
{
	char *s = NULL;
	int n;
	if (!path)
		path = "(null)";
	switch (-rc) {
	case ENOENT:
		n = asprintf(&s, "no control socket at %s (is the VMM running?)", path);
		break;
	case ECONNREFUSED:
		n = asprintf(&s, "nothing listens at %s (stale socket: the VMM has exited)", path);
		break;
	case EACCES:
	case EPERM:
		n = asprintf(&s, "permission denied connecting to %s", path);
		break;
	case ETIMEDOUT:
		n = asprintf(&s, "the VMM at %s did not answer in time", path);
		break;
	case ENAMETOOLONG:
		n = asprintf(&s, "control socket path %s is too long", path);
		break;
	case EPROTO:
		n = asprintf(&s, "the VMM at %s sent a malformed reply", path);
		break;
	case ECONNRESET:
	case EPIPE:
		n = asprintf(&s, "the VMM at %s closed the connection without a reply", path);
		break;
	case EMSGSIZE:
		n = asprintf(&s, "the VMM at %s sent an oversized reply", path);
		break;
	default:
		n = asprintf(&s, "control socket %s: %s", path, strerror(-rc));
		break;
	}
	return n < 0 ? NULL : s;
}

int api_call_json(const char *path, const char *command, const char *args_json, int timeout_ms,
		  struct json_object **reply, char **err)
{
	struct json_object *args = NULL;
	if (err)
		*err = NULL;
	if (reply)
		*reply = NULL;
	char why[128];
	if (args_json && *args_json &&
	    api_parse_line(args_json, strlen(args_json), &args, why, sizeof(why)) < 0) {
		if (err && asprintf(err, "arguments must be a JSON object: %s", why) < 0)
			*err = NULL;
		return -EINVAL;
	}
	int rc = api_call(path, command, args, timeout_ms, reply);
	json_object_put(args);
	if (rc < 0 && err)
		*err = api_call_strerror(path, rc);
	return rc;
}

int api_print_reply(struct json_object *reply, FILE *out, FILE *errout)
{
	struct json_object *ret, *e, *code, *msg;
	if (json_object_is_type(reply, json_type_object) &&
	    json_object_object_get_ex(reply, "return", &ret)) {
		fprintf(out, "%s\n", json_object_to_json_string_ext(
			ret, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				     JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	if (json_object_is_type(reply, json_type_object) &&
	    json_object_object_get_ex(reply, "error", &e) &&
	    json_object_is_type(e, json_type_object) &&
	    json_object_object_get_ex(e, "code", &code) &&
	    json_object_is_type(code, json_type_string)) {
		const char *m = json_object_object_get_ex(e, "message", &msg) &&
					json_object_is_type(msg, json_type_string)
					? json_object_get_string(msg)
					: "(no message)";
		fprintf(errout, "error: %s: %s\n", json_object_get_string(code), m);
		return -EREMOTEIO;
	}
	fprintf(errout, "error: malformed reply: %s\n",
		reply ? json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN) : "null");
	return -EPROTO;
}
