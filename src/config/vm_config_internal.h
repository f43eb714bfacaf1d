/* SPDX-License-Identifier: MIT */
/* Shared between vm_config.c and vm_config_schema.c; not a public header. */
#ifndef NV_VM_CONFIG_INTERNAL_H
#define NV_VM_CONFIG_INTERNAL_H

#include "toml.h"
#include "vm_config.h"

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

#endif
