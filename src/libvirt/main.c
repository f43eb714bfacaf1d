// SPDX-License-Identifier: MIT
/*
 * virtvmmd: the daemon that speaks libvirt's remote protocol for nestvmm, so
 * that the stock virsh and libvirt API reach it as vmm:///system.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "lv_server.h"
#include "lv_vmm.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/libvirt/virtvmmd-sock"
#define DEFAULT_STATE "/var/lib/libvirt/vmm"
#define DEFAULT_VMM "/usr/bin/vmm"

struct opts {
	const char *sock;
	const char *state;
	const char *vmm;
	const char *marker;
	unsigned shutdown_timeout;
	bool no_domains;
	unsigned timeout;
	unsigned packet_timeout;
	int verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: virtvmmd [OPTION]...\n"
		"Serves nestvmm VMs to libvirt clients (virsh -c vmm:///system, python3-libvirt).\n"
		"\n"
		"  --socket PATH         read-write socket (default " DEFAULT_SOCKET
		");\n"
		"                        the read-only one is PATH-ro\n"
		"  --state-dir DIR       domain definitions and state (default " DEFAULT_STATE ")\n"
		"  --vmm PATH            the vmm program (default: vmm beside virtvmmd, or in\n"
		"                        ../bin beside it, or " DEFAULT_VMM ")\n"
		"  --shutdown-timeout SEC  a guest that ignores the power button is stopped\n"
		"                        this long after virsh shutdown (default 300; 0: never)\n"
		"  --autostart-marker FILE  present once the autostart domains were started since\n"
		"                        the host booted (default: virtvmmd-autostarted beside\n"
		"                        the socket, on its tmpfs)\n"
		"  --no-domains          serve no domains (the protocol alone)\n"
		"  --timeout SEC         exit after SEC seconds with no client (default: never)\n"
		"  --packet-timeout SEC  drop a client stalled inside a packet (default 30)\n"
		"  -v, --verbose         log connections and refused calls\n"
		"  -q, --quiet           log nothing but errors\n"
		"  -h, --help            this text\n"
		"  -V, --version         the version\n");
}

static int parse_secs(const char *opt, const char *v, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (!*v || *end || errno || n > 86400u * 365 || *v == '-') {
		fprintf(stderr, "virtvmmd: %s: '%s' is not a number of seconds (0..31536000)\n", opt,
			v);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "vmm", required_argument, NULL, 'M' },
		{ "shutdown-timeout", required_argument, NULL, 'T' },
		{ "no-domains", no_argument, NULL, 'N' },
		{ "autostart-marker", required_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 't' },
		{ "packet-timeout", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqhV", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg) {
				fprintf(stderr, "virtvmmd: --socket: empty path\n");
				return -EINVAL;
			}
			o->sock = optarg;
			break;
		case 'S':
			if (!*optarg) {
				fprintf(stderr, "virtvmmd: --state-dir: empty path\n");
				return -EINVAL;
			}
			o->state = optarg;
			break;
		case 'M':
			if (optarg[0] != '/' || access(optarg, X_OK) < 0) {
				fprintf(stderr, "virtvmmd: --vmm %s: %s\n", optarg, optarg[0] != '/' ?
					"not an absolute path" : strerror(errno));
				return -EINVAL;
			}
			o->vmm = optarg;
			break;
		case 'T':
			if (parse_secs("--shutdown-timeout", optarg, &o->shutdown_timeout) < 0)
				return -EINVAL;
			break;
		case 'N':
			o->no_domains = true;
			break;
		case 'A':
			if (!*optarg) {
				fprintf(stderr, "virtvmmd: --autostart-marker: empty path\n");
				return -EINVAL;
			}
			o->marker = optarg;
			break;
		case 't':
			if (parse_secs("--timeout", optarg, &o->timeout) < 0)
				return -EINVAL;
			break;
		case 'P':
			if (parse_secs("--packet-timeout", optarg, &o->packet_timeout) < 0)
				return -EINVAL;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'q':
			o->verbose = -1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("virtvmmd (nestvmm) %s\n", NESTVMM_VERSION);
			return 1;
		case ':':
			fprintf(stderr, "virtvmmd: %s: needs an argument\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "virtvmmd: %s: unknown option (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "virtvmmd: %s: unexpected argument (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Creates DIR (and its parents) 0700 when missing and locks DIR/virtvmmd.lock
 * so that two daemons never manage the same domains. The lock fd or -errno. */
static int take_state_dir(const char *dir)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(p, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (snprintf(p, sizeof(p), "%s/virtvmmd.lock", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return fd;
}

/* The vmm program beside this one, or in ../bin beside it (an installed tree), or
 * DEFAULT_VMM; malloc'd. */
static char *find_vmm(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		*slash = 0;
		char *p = str_printf("%s/vmm", self);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
		p = str_printf("%s/../bin/vmm", self);
		char real[PATH_MAX];
		if (p && realpath(p, real) && access(real, X_OK) == 0) {
			free(p);
			return strdup(real);
		}
		free(p);
	}
	return strdup(DEFAULT_VMM);
}

/*
 * systemd socket activation (sd_listen_fds(3)'s protocol, read here): the
 * listening sockets from fd 3 on, told apart by the path each is bound to.
 * Unknown ones are closed. The variables are removed, so VMs never see them.
 */
static void activation_fds(const char *rw, const char *ro, int *rw_fd, int *ro_fd)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	if (!pid || !n || strtol(pid, NULL, 10) != (long)getpid())
		return;
	long nfds = strtol(n, NULL, 10);
	for (int fd = 3; nfds > 0 && nfds < 64 && fd < 3 + nfds; fd++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX) {
			if (!strcmp(sa.sun_path, rw)) {
				*rw_fd = fd;
				continue;
			}
			if (!strcmp(sa.sun_path, ro)) {
				*ro_fd = fd;
				continue;
			}
		}
		close(fd);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		lv_server_stop(opaque);
}

int main(int argc, char **argv)
{
	struct opts o = { .shutdown_timeout = 300 };
	struct lv_driver *drv = NULL;
	struct lv_server *srv = NULL;
	char *err = NULL, *ro = NULL, *sock_default = NULL, *vmm = NULL, *marker = NULL;
	char state_abs[PATH_MAX];
	int lock_fd = -1, sfd = -1, rc = 1;
	sigset_t mask;

	int pr = parse_args(argc, argv, &o);
	if (pr)
		return pr > 0 ? 0 : 2;
	bool root = geteuid() == 0;
	if (!o.sock) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		sock_default = root || !xdg ? strdup(DEFAULT_SOCKET)
					    : str_printf("%s/libvirt/virtvmmd-sock", xdg);
		if (!sock_default)
			goto cleanup;
		char *slash = strrchr(sock_default, '/');
		*slash = '\0';
		mkdir(sock_default, 0755); /* /run/libvirt: libvirt's own daemons share it */
		*slash = '/';
		o.sock = sock_default;
	}
	if (!o.state)
		o.state = DEFAULT_STATE;
	ro = str_printf("%s-ro", o.sock);
	if (!ro)
		goto cleanup;
	lock_fd = take_state_dir(o.state);
	if (lock_fd < 0) {
		fprintf(stderr, "virtvmmd: --state-dir %s: %s\n", o.state,
			lock_fd == -EBUSY ? "another virtvmmd is using it" : strerror(-lock_fd));
		goto cleanup;
	}
	if (!realpath(o.state, state_abs)) {
		fprintf(stderr, "virtvmmd: --state-dir %s: %s\n", o.state, strerror(errno));
		goto cleanup;
	}
	if (o.no_domains) {
		drv = lv_driver_none_new();
	} else {
		vmm = o.vmm ? strdup(o.vmm) : find_vmm();
		/* On the socket's directory (a tmpfs: /run/libvirt): the autostart domains
		 * start once per host boot, not at every daemon start. */
		marker = str_printf("%s", o.marker ? "" : o.sock);
		if (!vmm || !marker)
			goto cleanup;
		char *slash = strrchr(marker, '/');
		if (slash)
			*slash = 0;
		char *m = o.marker ? strdup(o.marker) :
			str_printf("%s/virtvmmd-autostarted", slash ? marker : ".");
		free(marker);
		marker = m;
		struct lv_vmm_config vc = {
			.state_dir = state_abs,
			.vmm = vmm,
			.autostart_marker = marker,
			.shutdown_timeout_s = o.shutdown_timeout,
			.verbose = o.verbose,
		};
		if (!marker)
			goto cleanup;
		drv = lv_driver_vmm_new(&vc, &err);
	}
	if (!drv) {
		fprintf(stderr, "virtvmmd: %s\n", err ? err : "out of memory");
		goto cleanup;
	}
	int rw_fd = 0, ro_fd = 0;
	activation_fds(o.sock, ro, &rw_fd, &ro_fd);
	struct lv_server_config cfg = {
		.sock_rw = o.sock,
		.sock_ro = ro,
		.listen_rw_fd = rw_fd,
		.listen_ro_fd = ro_fd,
		.timeout_s = o.timeout,
		.packet_timeout_s = o.packet_timeout,
		.rw_uid = geteuid(),
		.version = NESTVMM_VERSION,
		.verbose = o.verbose,
	};
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv = lv_server_new(&cfg, drv, &err);
	if (!srv) {
		fprintf(stderr, "virtvmmd: --socket %s: %s\n", o.sock, err ? err : "failed");
		goto cleanup;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || evloop_add(lv_server_loop(srv), sfd, EPOLLIN, on_signal, srv) < 0) {
		fprintf(stderr, "virtvmmd: signalfd: %s\n", strerror(errno));
		goto cleanup;
	}
	if (!o.no_domains && lv_driver_vmm_load(drv, &err) < 0) {
		fprintf(stderr, "virtvmmd: --state-dir %s: %s\n", o.state, err ? err : "failed");
		goto cleanup;
	}
	if (o.verbose >= 0)
		fprintf(stderr, "virtvmmd: listening on %s and %s (state %s)\n", o.sock, ro, o.state);
	int r = lv_server_run(srv);
	if (r < 0) {
		fprintf(stderr, "virtvmmd: event loop: %s\n", strerror(-r));
		goto cleanup;
	}
	if (lv_server_timed_out(srv) && o.verbose >= 0)
		fprintf(stderr, "virtvmmd: idle for %u s with no client: exiting\n", o.timeout);
	rc = 0;
cleanup:
	if (srv && sfd >= 0)
		evloop_del(lv_server_loop(srv), sfd);
	/* The driver first: it lets go of its VMs (they go on running) and fails the
	 * calls still waiting on them while the loop and the clients exist. */
	lv_driver_free(drv);
	lv_server_free(srv); /* unlinks the sockets */
	close_fd(&sfd);
	close_fd(&lock_fd);
	free(err);
	free(ro);
	free(sock_default);
	free(vmm);
	free(marker);
	return rc;
}
