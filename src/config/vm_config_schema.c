// SPDX-License-Identifier: MIT
/*
 * vm_config schema: maps a parsed TOML tree onto struct vm_config, key by
 * key. Each problem is reported as "FILE:LINE:COL: KEY.PATH: message" and
 * the walk goes on, so that one run lists every error in the file. The
 * top-level keys, [boot], [console] and [api] are here; [[disk]], [[net]],
 * [rng] and [balloon] in vm_config_schema_dev.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_config_internal.h"

static void verr(struct vmc_ctx *c, const struct toml_node *n, bool at_key, const char *fmt,
	va_list ap)
{
	char path[256], msg[512];

	toml_node_path(n, path, sizeof(path));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (at_key && toml_node_key_line(n))
		diag_add(c->d, c->file, toml_node_key_line(n), toml_node_key_col(n), "%s: %s", path,
			msg);
	else
		diag_add(c->d, c->file, toml_node_line(n), toml_node_col(n), "%s: %s", path, msg);
	c->errors++;
}

void vmc_err(struct vmc_ctx *c, const struct toml_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(c, n, false, fmt, ap);
	va_end(ap);
}

/* An error about the key naming n, positioned on the key. */
static void err_key(struct vmc_ctx *c, const struct toml_node *n, const char *fmt, ...)
	NV_PRINTF(3, 4);
static void err_key(struct vmc_ctx *c, const struct toml_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(c, n, true, fmt, ap);
	va_end(ap);
}

const char *vmc_a_type(const struct toml_node *v)
{
	switch (toml_node_type(v)) {
	case TOML_TABLE:
		return "a table";
	case TOML_ARRAY:
		return "an array";
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a boolean";
	case TOML_OFFSET_DATETIME:
		return "an offset date-time";
	case TOML_LOCAL_DATETIME:
		return "a local date-time";
	case TOML_LOCAL_DATE:
		return "a local date";
	case TOML_LOCAL_TIME:
		return "a local time";
	}
	return "a value";
}

/* Visits every key of table t: known ones through fields, the others are errors. */
void vmc_walk(struct vmc_ctx *c, const struct toml_node *t, const struct vmc_field *fields,
	size_t nfields, void *obj)
{
	for (size_t i = 0; i < toml_table_len(t); i++) {
		size_t len, f;
		const char *key = toml_table_key(t, i, &len);
		const struct toml_node *v = toml_table_value(t, i);

		for (f = 0; f < nfields; f++)
			if (strlen(fields[f].key) == len && !memcmp(fields[f].key, key, len))
				break;
		if (f < nfields) {
			fields[f].set(c, v, obj);
			continue;
		}
		char list[256] = "";
		for (f = 0; f < nfields; f++) {
			size_t have = strlen(list);
			snprintf(list + have, sizeof(list) - have, "%s%s", f ? ", " : "", fields[f].key);
		}
		err_key(c, v, "unknown key (expected one of: %s)", list);
	}
}

/* A string without NUL bytes; NULL (error reported) otherwise. */
const char *vmc_get_str(struct vmc_ctx *c, const struct toml_node *v, const char *expect)
{
	const char *s;
	size_t len;

	if (toml_get_string(v, &s, &len) < 0) {
		vmc_err(c, v, "expected %s, got %s", expect, vmc_a_type(v));
		return NULL;
	}
	if (strlen(s) != len) {
		vmc_err(c, v, "must not contain NUL characters");
		return NULL;
	}
	return s;
}

bool vmc_get_bool(struct vmc_ctx *c, const struct toml_node *v, bool *out)
{
	if (toml_get_bool(v, out) == 0)
		return true;
	vmc_err(c, v, "expected a boolean (true or false), got %s", vmc_a_type(v));
	return false;
}

void vmc_set_owned(struct vmc_ctx *c, const struct toml_node *v, char **dst, char *s)
{
	if (!s) {
		vmc_err(c, v, "out of memory");
		return;
	}
	free(*dst);
	*dst = s;
}

void vmc_set_string(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = vmc_get_str(c, v, "a string");
	if (s)
		vmc_set_owned(c, v, dst, strdup(s));
}

/* A path: resolved against the directory of the file. */
void vmc_set_path(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = vmc_get_str(c, v, "a path (string)");
	if (!s)
		return;
	if (!s[0]) {
		vmc_err(c, v, "path must not be empty");
		return;
	}
	vmc_set_owned(c, v, dst, vmc_resolve(c->base, s));
}

/* One of the words of k; returns its value or -1 (error reported). */
int vmc_get_enum(struct vmc_ctx *c, const struct toml_node *v, enum vm_words k)
{
	char list[128];
	const char *s = toml_string(v);
	int m = vm_word_value(k, s);

	if (m >= 0)
		return m;
	vm_word_list(k, true, list, sizeof(list));
	if (!s)
		vmc_err(c, v, "expected one of %s, got %s", list, vmc_a_type(v));
	else
		vmc_err(c, v, "\"%.64s\" is not one of %s", s, list);
	return -1;
}

bool vmc_is_table(struct vmc_ctx *c, const struct toml_node *v, const char *header)
{
	if (toml_node_type(v) == TOML_TABLE)
		return true;
	vmc_err(c, v, "expected a table (%s), got %s", header, vmc_a_type(v));
	return false;
}

/* ---- top level ---- */

static void f_name(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = vmc_get_str(c, v, "a string");
	char why[128];

	if (!s)
		return;
	if (!vm_check_name(s, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	vmc_set_owned(c, v, &c->cfg->name, strdup(s));
}

static void f_cpus(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	char why[128];
	int64_t n;

	if (toml_get_int(v, &n) < 0) {
		vmc_err(c, v, "expected an integer (1..%d), got %s", VM_MAX_CPUS, vmc_a_type(v));
		return;
	}
	if (!vm_check_cpus(n, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	c->cfg->cpus = (unsigned)n;
}

/* A size: an integer (MiB) or a string with a suffix; false (error reported) otherwise. */
static bool get_size(struct vmc_ctx *c, const struct toml_node *v, uint64_t *out)
{
	const char *s;
	int64_t mib;

	if (toml_get_int(v, &mib) == 0) {
		if (mib < 0 || (uint64_t)mib > UINT64_MAX / MiB) {
			vmc_err(c, v, "%lld MiB is out of range", (long long)mib);
			return false;
		}
		*out = (uint64_t)mib * MiB;
		return true;
	}
	if ((s = toml_string(v))) {
		int rc = parse_size(s, false, out);
		if (rc == -ERANGE) {
			vmc_err(c, v, "\"%.64s\" is too large", s);
			return false;
		}
		if (rc < 0) {
			vmc_err(c, v, "\"%.64s\" is not a size (expected a number with an optional "
				"K/M/G/T suffix, e.g. \"512M\" or \"4GiB\")", s);
			return false;
		}
		return true;
	}
	vmc_err(c, v, "expected an integer (MiB) or a string such as \"512M\", got %s",
		vmc_a_type(v));
	return false;
}

static void f_memory(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	uint64_t bytes;
	char why[128];

	if (!get_size(c, v, &bytes))
		return;
	if (!vm_check_memory(bytes, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	c->cfg->memory = bytes;
}

/* Its rule needs memory and balloon: checked once the whole file is read (vmc_apply). */
static void f_current_memory(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	uint64_t bytes;

	if (get_size(c, v, &bytes))
		c->cfg->current_memory = bytes;
}

static void f_uuid(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = vmc_get_str(c, v, "a UUID string (\"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\")");
	uint8_t u[VM_UUID_LEN];
	char why[128];

	if (!s)
		return;
	if (vm_config_parse_uuid(s, u) < 0) {
		vmc_err(c, v, "\"%.64s\" is not a UUID (expected 8-4-4-4-12 hexadecimal digits, e.g. "
			"\"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b\")", s);
		return;
	}
	if (!vm_check_uuid(u, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	memcpy(c->cfg->uuid, u, VM_UUID_LEN);
	c->cfg->has_uuid = true;
}

static void f_title(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = vmc_get_str(c, v, "a string");
	char why[128];

	if (!s)
		return;
	if (!vm_check_title(s, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	vmc_set_owned(c, v, &c->cfg->title, strdup(s));
}

static void f_description(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = vmc_get_str(c, v, "a string");
	char why[160];

	if (!s)
		return;
	if (!vm_check_description(s, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	vmc_set_owned(c, v, &c->cfg->description, strdup(s));
}

static void f_on_poweroff(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_ON_POWEROFF);
	if (m >= 0)
		c->cfg->on_poweroff = (enum on_poweroff)m;
}

static void f_on_crash(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_ON_CRASH);
	if (m >= 0)
		c->cfg->on_crash = (enum on_crash)m;
}

static void f_nested(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_NESTED);
	if (m >= 0)
		c->cfg->nested = (enum nested_mode)m;
}

static void f_on_reboot(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_ON_REBOOT);
	if (m >= 0)
		c->cfg->on_reboot = (enum on_reboot)m;
}

/* ---- [boot] ---- */

static void f_kernel(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_set_path(c, v, &c->cfg->kernel);
}

static void f_initrd(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_set_path(c, v, &c->cfg->initrd);
}

static void f_cmdline(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_set_string(c, v, &c->cfg->cmdline);
}

static void f_acpi(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_get_bool(c, v, &c->cfg->acpi);
}

static void f_direct(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_get_bool(c, v, &c->cfg->direct_boot);
}

static const struct vmc_field boot_fields[] = {
	{ "kernel", f_kernel },
	{ "initrd", f_initrd },
	{ "cmdline", f_cmdline },
	{ "acpi", f_acpi },
	{ "direct", f_direct },
};

static void f_boot(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (vmc_is_table(c, v, "[boot]"))
		vmc_walk(c, v, boot_fields, ARRAY_SIZE(boot_fields), NULL);
}

/* ---- [console] ---- */

static void f_console_mode(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_CONSOLE);
	if (m >= 0)
		c->cfg->console = (enum console_mode)m;
}

static void f_console_path(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_set_path(c, v, &c->cfg->console_path);
}

static void f_console_virtio(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_get_bool(c, v, &c->cfg->virtio_console);
}

static const struct vmc_field console_fields[] = {
	{ "mode", f_console_mode },
	{ "path", f_console_path },
	{ "virtio", f_console_virtio },
};

static void f_console(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const struct toml_node *mode = toml_table_get(v, "mode");

	if (!vmc_is_table(c, v, "[console]"))
		return;
	vmc_walk(c, v, console_fields, ARRAY_SIZE(console_fields), NULL);
	if (mode && c->cfg->console == CONSOLE_FILE && !c->cfg->console_path &&
			!toml_table_get(v, "path"))
		vmc_err(c, mode, "mode \"file\" needs a path (add console.path = \"...\")");
}

/* ---- [api] ---- */

static void f_api_socket(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	char why[512];

	vmc_set_path(c, v, &c->cfg->api_socket);
	if (c->cfg->api_socket && !vm_check_socket_path(c->cfg->api_socket, why, sizeof(why)))
		vmc_err(c, v, "%s", why);
}

static const struct vmc_field api_fields[] = {
	{ "socket", f_api_socket },
};

static void f_api(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (vmc_is_table(c, v, "[api]"))
		vmc_walk(c, v, api_fields, ARRAY_SIZE(api_fields), NULL);
}

static const struct vmc_field top_fields[] = {
	{ "name", f_name },
	{ "uuid", f_uuid },
	{ "title", f_title },
	{ "description", f_description },
	{ "cpus", f_cpus },
	{ "memory", f_memory },
	{ "current_memory", f_current_memory },
	{ "nested", f_nested },
	{ "on_reboot", f_on_reboot },
	{ "on_poweroff", f_on_poweroff },
	{ "on_crash", f_on_crash },
	{ "boot", f_boot },
	{ "console", f_console },
	{ "api", f_api },
	{ "disk", vmc_f_disk },
	{ "net", vmc_f_net },
	{ "rng", vmc_f_rng },
	{ "balloon", vmc_f_balloon },
};

void vmc_apply(struct vmc_ctx *ctx, const struct toml_node *root)
{
	const struct toml_node *cur = toml_table_get(root, "current_memory");
	struct vm_config *cfg = ctx->cfg;
	unsigned before = ctx->errors;
	char why[256];

	vmc_walk(ctx, root, top_fields, ARRAY_SIZE(top_fields), NULL);
	/* current_memory against memory and [balloon], wherever in the file they are */
	if (cur && ctx->errors == before && !vm_check_current_memory(cfg->current_memory,
			cfg->memory, cfg->balloon, why, sizeof(why)))
		vmc_err(ctx, cur, "%s", why);
}
