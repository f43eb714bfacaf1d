/* SPDX-License-Identifier: MIT */
/* Shared between vm_config.c and vm_config_schema.c; not a public header. */
#ifndef NV_VM_CONFIG_INTERNAL_H
#define NV_VM_CONFIG_INTERNAL_H

#include "toml.h"
#include "vm_config.h"

#define VM_NAME_MAX 64
#define VM_SERIAL_MAX 20 /* virtio-blk ID bytes */
#define VM_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define VM_SOCKET_MAX 107 /* sizeof(sun_path) - 1 */

struct vmc_ctx {
	struct vm_config *cfg;
	struct diag *d;
	const char *file; /* name shown in messages */
	const char *base; /* absolute directory for relative paths, or NULL: keep them */
	unsigned errors;
};

/* Maps a parsed document onto ctx->cfg, reporting every schema error. */
void vmc_apply(struct vmc_ctx *ctx, const struct toml_node *root);

/* base + "/" + path for a relative path (base NULL: a copy). NULL without memory. */
char *vmc_resolve(const char *base, const char *path);

/*
 * Range checks shared by the loader (which knows positions) and
 * vm_config_validate (which does not): true when fine, else why says what's wrong.
 */
bool vmc_name_ok(const char *name, char *why, size_t cap);
bool vmc_memory_ok(uint64_t bytes, char *why, size_t cap);
bool vmc_cpus_ok(int64_t cpus, char *why, size_t cap);
void vmc_size_str(uint64_t bytes, char *buf, size_t cap);

#endif
