/* SPDX-License-Identifier: MIT */
/*
 * Shared between vm_config.c, vm_config_schema*.c, vm_config_toml.c and
 * domain_xml*.c; not a public header.
 */
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

/* ---- the schema's helpers (vm_config_schema.c), for vm_config_schema_dev.c ---- */

struct vmc_field {
	const char *key;
	void (*set)(struct vmc_ctx *c, const struct toml_node *v, void *obj);
};

/* An error about the value of n, positioned on the value. */
void vmc_err(struct vmc_ctx *c, const struct toml_node *n, const char *fmt, ...) NV_PRINTF(3, 4);
/* "a string", "an integer", ... */
const char *vmc_a_type(const struct toml_node *v);
/* Visits every key of table t: known ones through fields, the others are errors. */
void vmc_walk(struct vmc_ctx *c, const struct toml_node *t, const struct vmc_field *fields,
	size_t nfields, void *obj);
/* A string without NUL bytes; NULL (error reported) otherwise. */
const char *vmc_get_str(struct vmc_ctx *c, const struct toml_node *v, const char *expect);
bool vmc_get_bool(struct vmc_ctx *c, const struct toml_node *v, bool *out);
/* Replaces *dst with s (NULL: out of memory, reported). */
void vmc_set_owned(struct vmc_ctx *c, const struct toml_node *v, char **dst, char *s);
void vmc_set_string(struct vmc_ctx *c, const struct toml_node *v, char **dst);
/* A path, resolved against the directory of the file. */
void vmc_set_path(struct vmc_ctx *c, const struct toml_node *v, char **dst);
/* One of the words of k; its value or -1 (error reported). */
int vmc_get_enum(struct vmc_ctx *c, const struct toml_node *v, enum vm_words k);
bool vmc_is_table(struct vmc_ctx *c, const struct toml_node *v, const char *header);

/* The device tables (vm_config_schema_dev.c). */
void vmc_f_disk(struct vmc_ctx *c, const struct toml_node *v, void *obj);
void vmc_f_net(struct vmc_ctx *c, const struct toml_node *v, void *obj);
void vmc_f_rng(struct vmc_ctx *c, const struct toml_node *v, void *obj);
void vmc_f_balloon(struct vmc_ctx *c, const struct toml_node *v, void *obj);

/*
 * Whether s is valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF); with xml also only characters XML 1.0 allows (no control
 * characters but tab, newline and carriage return, no U+FFFE/U+FFFF).
 */
bool vmc_utf8_ok(const char *s, bool xml);

/* base + "/" + path for a relative path (base NULL: a copy). NULL without memory. */
char *vmc_resolve(const char *base, const char *path);

#endif
