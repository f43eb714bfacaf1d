// SPDX-License-Identifier: MIT
/*
 * The listening sockets and the loop: accept on the read-write (0600) and
 * read-only (0666) sockets, reap dropped clients, drop clients stalled in the
 * middle of a packet, and end on the idle timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "server_internal.h"
#include "util.h"

#define TICK_MS 1000

static void reap(struct lv_server *s)
{
	while (s->graveyard) {
		struct lv_client *cl = s->graveyard;
		s->graveyard = cl->next;
		lv_client_free(cl);
	}
}

static void on_accept(struct lv_server *s, int lfd, bool ro)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				lv_log(s, 0, "accept: %s", strerror(errno));
			return;
		}
		if (s->nclients >= s->cfg.max_clients) {
			lv_log(s, 0, "refusing a client: %zu clients already", s->nclients);
			close(fd);
			continue;
		}
		lv_client_accept(s, fd, ro);
	}
}

static void accept_rw(void *opaque, int fd, uint32_t events)
{
	(void)events;
	on_accept(opaque, fd, false);
}

static void accept_ro(void *opaque, int fd, uint32_t events)
{
	(void)events;
	on_accept(opaque, fd, true);
}

/* A socket file at path: a live daemon refuses, a stale one is removed. */
static int clear_stale(const char *path, char **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (*err = str_printf("%s: %s", path, strerror(errno)), -errno);
	if (!S_ISSOCK(st.st_mode)) {
		*err = str_printf("%s exists and is not a socket", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (r == 0) {
		*err = str_printf("%s: another daemon is listening there", path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		*err = str_printf("%s: cannot check the existing socket: %s", path, strerror(e));
		return -e;
	}
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static int listen_at(const char *path, mode_t mode, int *out, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = str_printf("%s: socket path longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int r = clear_stale(path, err);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = str_printf("socket: %s", strerror(errno));
		return -errno;
	}
	mode_t old = umask(0177); /* born 0600, widened below: never briefly too open */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0) {
		close(fd);
		*err = str_printf("%s: cannot bind: %s", path, strerror(e));
		return -e;
	}
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		e = errno;
		close(fd);
		unlink(path);
		*err = str_printf("%s: %s", path, strerror(e));
		return -e;
	}
	*out = fd;
	return 0;
}

struct lv_server *lv_server_new(const struct lv_server_config *cfg, struct lv_driver *drv,
				char **err)
{
	struct lv_server *s = calloc(1, sizeof(*s));
	*err = NULL;
	if (!s)
		goto oom;
	s->cfg = *cfg;
	s->drv = drv;
	s->fd_rw = s->fd_ro = -1;
	if (!s->cfg.max_clients)
		s->cfg.max_clients = 512;
	if (!s->cfg.max_packet)
		s->cfg.max_packet = LV_STRING_MAX + 64 * 1024;
	if (s->cfg.max_packet > LV_PACKET_MAX)
		s->cfg.max_packet = LV_PACKET_MAX;
	if (!s->cfg.max_outq)
		s->cfg.max_outq = 16 * 1024 * 1024;
	if (!s->cfg.packet_timeout_s)
		s->cfg.packet_timeout_s = 30;
	if (!s->cfg.root)
		s->cfg.root = "";
	s->loop = evloop_new();
	if (!s->loop)
		goto oom;
	s->idle_since_ns = now_ns();
	if (cfg->sock_rw) {
		s->sock_rw = strdup(cfg->sock_rw);
		if (!s->sock_rw)
			goto oom;
		if (cfg->listen_rw_fd > 2) {
			s->fd_rw = cfg->listen_rw_fd;
			fcntl(s->fd_rw, F_SETFL, fcntl(s->fd_rw, F_GETFL) | O_NONBLOCK);
		} else if (listen_at(s->sock_rw, 0600, &s->fd_rw, err) < 0) {
			goto fail;
		} else {
			s->unlink_rw = true;
		}
		if (evloop_add(s->loop, s->fd_rw, EPOLLIN, accept_rw, s) < 0)
			goto oom;
	}
	if (cfg->sock_ro) {
		s->sock_ro = strdup(cfg->sock_ro);
		if (!s->sock_ro)
			goto oom;
		if (cfg->listen_ro_fd > 2) {
			s->fd_ro = cfg->listen_ro_fd;
			fcntl(s->fd_ro, F_SETFL, fcntl(s->fd_ro, F_GETFL) | O_NONBLOCK);
		} else if (listen_at(s->sock_ro, 0666, &s->fd_ro, err) < 0) {
			goto fail;
		} else {
			s->unlink_ro = true;
		}
		if (evloop_add(s->loop, s->fd_ro, EPOLLIN, accept_ro, s) < 0)
			goto oom;
	}
	if (drv && drv->attach)
		drv->attach(drv->priv, s);
	return s;
oom:
	if (!*err)
		*err = str_printf("out of memory");
fail:
	lv_server_free(s);
	return NULL;
}

void lv_server_free(struct lv_server *s)
{
	if (!s)
		return;
	while (s->clients)
		lv_client_drop(s->clients, NULL);
	reap(s);
	if (s->fd_rw >= 0 && s->loop)
		evloop_del(s->loop, s->fd_rw);
	if (s->fd_ro >= 0 && s->loop)
		evloop_del(s->loop, s->fd_ro);
	close_fd(&s->fd_rw);
	close_fd(&s->fd_ro);
	if (s->unlink_rw)
		unlink(s->sock_rw);
	if (s->unlink_ro)
		unlink(s->sock_ro);
	free(s->sock_rw);
	free(s->sock_ro);
	evloop_free(s->loop);
	free(s);
}

struct evloop *lv_server_loop(struct lv_server *s)
{
	return s->loop;
}

int lv_server_add_fd(struct lv_server *s, int fd, bool readonly)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	size_t before = s->nclients;
	lv_client_accept(s, fd, readonly);
	return s->nclients > before ? 0 : -ENOMEM;
}

static void check_stalled(struct lv_server *s)
{
	uint64_t now = now_ns(), limit = (uint64_t)s->cfg.packet_timeout_s * 1000000000ull;
	struct lv_client *next;
	for (struct lv_client *cl = s->clients; cl; cl = next) {
		next = cl->next;
		if (cl->partial_since_ns && now - cl->partial_since_ns > limit)
			lv_client_drop(cl, "stalled in the middle of a packet");
	}
}

int lv_server_run_once(struct lv_server *s, int timeout_ms)
{
	int r = evloop_run_once(s->loop, timeout_ms);
	check_stalled(s);
	reap(s);
	return r;
}

int lv_server_run(struct lv_server *s)
{
	s->stop = false;
	s->timed_out = false;
	while (!s->stop) {
		int r = lv_server_run_once(s, TICK_MS);
		if (r < 0)
			return r;
		if (!s->cfg.timeout_s || s->nclients)
			continue;
		if (s->drv && s->drv->busy && s->drv->busy(s->drv->priv)) {
			s->idle_since_ns = now_ns();
			continue;
		}
		if (now_ns() - s->idle_since_ns >= (uint64_t)s->cfg.timeout_s * 1000000000ull) {
			s->timed_out = true;
			break;
		}
	}
	return 0;
}

void lv_server_stop(struct lv_server *s)
{
	s->stop = true;
}

size_t lv_server_nclients(const struct lv_server *s)
{
	return s->nclients;
}

bool lv_server_timed_out(const struct lv_server *s)
{
	return s->timed_out;
}

void lv_log(const struct lv_server *s, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	if (level > s->cfg.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "virtvmmd: %s%s\n", level > 0 ? "debug: " : "", buf);
}
