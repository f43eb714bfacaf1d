// SPDX-License-Identifier: MIT
/*
 * Least privilege for `vmm run`: once the VM's descriptors are open
 * (/dev/kvm, images, taps, the control socket, the console), a vmm started
 * as root can give up the rest: --chroot DIR, --user USER (every
 * capability dropped, the bounding set too, supplementary groups cleared)
 * and a Landlock ruleset (where the kernel has it) that takes the whole
 * file system away except the few places vmm still uses (the kernel cache,
 * the exit file's and the control socket's directories) and /proc (read,
 * for its own statistics): everything else it needs is open already.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 (Linux 6.2): newer than these headers */
#endif
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

int cli_privs_resolve(struct cli_privs *p, char *err, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (!p->user)
		return 0;
	int r = getpwnam_r(p->user, &pw, buf, sizeof(buf), &res);
	if (r || !res) {
		char *end;
		long id = strtol(p->user, &end, 10);
		if (*p->user && !*end && id > 0 && id < 0x7fffffff) {
			p->uid = (uid_t)id;
			p->gid = (gid_t)id;
			return 0;
		}
		snprintf(err, cap, "--user: no user '%s' on this host", p->user);
		return -ENOENT;
	}
	if (res->pw_uid == 0) {
		snprintf(err, cap, "--user: '%s' is root: nothing would be dropped", p->user);
		return -EINVAL;
	}
	p->uid = res->pw_uid;
	p->gid = res->pw_gid;
	return 0;
}

static int ll_add(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access };
	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return errno == ENOENT ? 0 : -errno; /* nothing there to allow */
	int r = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	r = r < 0 ? -errno : 0;
	close(pb.parent_fd);
	return r;
}

/* No file system but writable[] (directories) and /proc (read). 1: the kernel has no Landlock. */
static int landlock(const char *const *writable)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 1;
	uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t wr = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_SOCK;
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = rd | wr | LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
			LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_FIFO |
			LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |
			(abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0) |
			(abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0),
	};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0), r;
	if (rs < 0)
		return -errno;
	r = ll_add(rs, "/proc", rd);
	for (const char *const *w = writable; r == 0 && *w; w++)
		r = ll_add(rs, *w, rd | wr | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0));
	if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	if (r == 0 && syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		r = -errno;
	close(rs);
	return r;
}

int cli_privs_drop(const struct cli_privs *p, const char *const *writable, char *err, size_t cap)
{
	if (p->chroot_dir && (chdir(p->chroot_dir) < 0 || chroot(".") < 0 || chdir("/") < 0)) {
		snprintf(err, cap, "--chroot %s: %s", p->chroot_dir, strerror(errno));
		return -errno;
	}
	if (p->user || p->landlock) {
		int r = landlock(writable);
		if (r < 0) {
			snprintf(err, cap, "Landlock: %s", strerror(-r));
			return r;
		}
		if (r == 1 && p->landlock && !p->user) {
			snprintf(err, cap, "--landlock: this kernel has no Landlock");
			return -ENOTSUP;
		}
	}
	if (!p->user)
		return 0;
	/* No way back: the bounding set first (that needs CAP_SETPCAP), then the ids. */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			break;
	if (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0) {
		snprintf(err, cap, "--user %s: %s", p->user, strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0 || getuid() != p->uid || geteuid() != p->uid) {
		snprintf(err, cap, "--user %s: root privileges could be regained", p->user);
		return -EPERM;
	}
	return 0;
}
