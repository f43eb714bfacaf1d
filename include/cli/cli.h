/* SPDX-License-Identifier: MIT */
/* Helpers of the `vmm` command line (src/cli/cli*.c). */
#ifndef NV_CLI_H
#define NV_CLI_H

#include "vm_config.h"

/* --disk PATH[,ro][,cache=writeback|unsafe][,format=raw][,serial=ID]: appends a disk. */
int cli_parse_disk(struct vm_config *cfg, const char *arg, struct diag *d);
/* --net [tap=NAME][,mac=MAC][,bridge=BR][,spoofing=on|off]: appends a NIC. */
int cli_parse_net(struct vm_config *cfg, const char *arg, struct diag *d);

/* `vmm run ...` (cli_run.c); argv[0] is "run". Returns the exit status. */
int vmm_run_main(int argc, char **argv);
/*
 * The nested rules for a VM with nested = "on", or "auto" where this host
 * can nest (the host probed as cli_probe_opts says); problems appended to d.
 */
void cli_check_nested_rules(const struct vm_config *cfg, struct diag *d);
/* The host paths from VMM_KVM_DEVICE, VMM_SYSFS_ROOT, VMM_PROC_ROOT (NULL: the defaults). */
struct nested_probe_opts;
void cli_probe_opts(struct nested_probe_opts *o);
/* The cache directory: $NESTVMM_CACHE, $XDG_CACHE_HOME/nestvmm, ~/.cache/nestvmm. 0 or -errno. */
int cli_cache_dir(char *buf, size_t len);

/* Least privilege after setup (cli_privs.c). */
#include <stdbool.h>
#include <sys/types.h>
struct cli_privs {
	const char *user;       /* --user: a name or a uid; NULL: stay who we are */
	const char *chroot_dir; /* --chroot */
	bool landlock;          /* --landlock (also implied by --user, where the kernel has it) */
	uid_t uid;              /* from cli_privs_resolve */
	gid_t gid;
};
/* Looks the user up (before a chroot hides /etc). 0 or -errno with err set. */
int cli_privs_resolve(struct cli_privs *p, char *err, size_t cap);
/* Drops what p says; writable: NULL-terminated directories vmm still writes. 0 or -errno. */
int cli_privs_drop(const struct cli_privs *p, const char *const *writable, char *err, size_t cap);

/* `vmm nested status|enable ...` (cli_nested.c); argv[0] is "nested". Returns the exit status. */
int vmm_nested_main(int argc, char **argv);

#endif
