// SPDX-License-Identifier: MIT
/*
 * vm_config schema: maps a parsed TOML tree onto struct vm_config, key by
 * key. Each problem is reported as "FILE:LINE:COL: KEY.PATH: message" and
 * the walk goes on, so that one run lists every error in the file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_config_internal.h"

struct field {
	const char *key;
	void (*set)(struct vmc_ctx *c, const struct toml_node *v, void *obj);
};

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

/* An error about the value of n, positioned on the value. */
static void err(struct vmc_ctx *c, const struct toml_node *n, const char *fmt, ...)
	NV_PRINTF(3, 4);
static void err(struct vmc_ctx *c, const struct toml_node *n, const char *fmt, ...)
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

static const char *a_type(const struct toml_node *v)
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
static void walk(struct vmc_ctx *c, const struct toml_node *t, const struct field *fields,
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
static const char *get_str(struct vmc_ctx *c, const struct toml_node *v, const char *expect)
{
	const char *s;
	size_t len;

	if (toml_get_string(v, &s, &len) < 0) {
		err(c, v, "expected %s, got %s", expect, a_type(v));
		return NULL;
	}
	if (strlen(s) != len) {
		err(c, v, "must not contain NUL characters");
		return NULL;
	}
	return s;
}

static bool get_bool(struct vmc_ctx *c, const struct toml_node *v, bool *out)
{
	if (toml_get_bool(v, out) == 0)
		return true;
	err(c, v, "expected a boolean (true or false), got %s", a_type(v));
	return false;
}

static void set_owned(struct vmc_ctx *c, const struct toml_node *v, char **dst, char *s)
{
	if (!s) {
		err(c, v, "out of memory");
		return;
	}
	free(*dst);
	*dst = s;
}

static void set_string(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = get_str(c, v, "a string");
	if (s)
		set_owned(c, v, dst, strdup(s));
}

/* A path: resolved against the directory of the file. */
static void set_path(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = get_str(c, v, "a path (string)");
	if (!s)
		return;
	if (!s[0]) {
		err(c, v, "path must not be empty");
		return;
	}
	set_owned(c, v, dst, vmc_resolve(c->base, s));
}

/* One of the words of k; returns its value or -1 (error reported). */
static int get_enum(struct vmc_ctx *c, const struct toml_node *v, enum vm_words k)
{
	char list[128];
	const char *s = toml_string(v);
	int m = vm_word_value(k, s);

	if (m >= 0)
		return m;
	vm_word_list(k, true, list, sizeof(list));
	if (!s)
		err(c, v, "expected one of %s, got %s", list, a_type(v));
	else
		err(c, v, "\"%.64s\" is not one of %s", s, list);
	return -1;
}

static bool is_table(struct vmc_ctx *c, const struct toml_node *v, const char *header)
{
	if (toml_node_type(v) == TOML_TABLE)
		return true;
	err(c, v, "expected a table (%s), got %s", header, a_type(v));
	return false;
}

/* ---- top level ---- */

static void f_name(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = get_str(c, v, "a string");
	char why[128];

	if (!s)
		return;
	if (!vm_check_name(s, why, sizeof(why))) {
		err(c, v, "%s", why);
		return;
	}
	set_owned(c, v, &c->cfg->name, strdup(s));
}

static void f_cpus(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	char why[128];
	int64_t n;

	if (toml_get_int(v, &n) < 0) {
		err(c, v, "expected an integer (1..%d), got %s", VM_MAX_CPUS, a_type(v));
		return;
	}
	if (!vm_check_cpus(n, why, sizeof(why))) {
		err(c, v, "%s", why);
		return;
	}
	c->cfg->cpus = (unsigned)n;
}

static void f_memory(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s;
	uint64_t bytes;
	char why[128];
	int64_t mib;

	if (toml_get_int(v, &mib) == 0) {
		if (mib < 0 || (uint64_t)mib > UINT64_MAX / MiB) {
			err(c, v, "%lld MiB is out of range", (long long)mib);
			return;
		}
		bytes = (uint64_t)mib * MiB;
	} else if ((s = toml_string(v))) {
		int rc = parse_size(s, false, &bytes);
		if (rc == -ERANGE) {
			err(c, v, "\"%.64s\" is too large", s);
			return;
		}
		if (rc < 0) {
			err(c, v, "\"%.64s\" is not a size (expected a number with an optional "
				"K/M/G/T suffix, e.g. \"512M\" or \"4GiB\")", s);
			return;
		}
	} else {
		err(c, v, "expected an integer (MiB) or a string such as \"512M\", got %s",
			a_type(v));
		return;
	}
	if (!vm_check_memory(bytes, why, sizeof(why))) {
		err(c, v, "%s", why);
		return;
	}
	c->cfg->memory = bytes;
}

static void f_nested(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = get_enum(c, v, VM_WORDS_NESTED);
	if (m >= 0)
		c->cfg->nested = (enum nested_mode)m;
}

static void f_on_reboot(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = get_enum(c, v, VM_WORDS_ON_REBOOT);
	if (m >= 0)
		c->cfg->on_reboot = (enum on_reboot)m;
}

/* ---- [boot] ---- */

static void f_kernel(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_path(c, v, &c->cfg->kernel);
}

static void f_initrd(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_path(c, v, &c->cfg->initrd);
}

static void f_cmdline(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_string(c, v, &c->cfg->cmdline);
}

static void f_acpi(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	get_bool(c, v, &c->cfg->acpi);
}

static void f_direct(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	get_bool(c, v, &c->cfg->direct_boot);
}

static const struct field boot_fields[] = {
	{ "kernel", f_kernel },
	{ "initrd", f_initrd },
	{ "cmdline", f_cmdline },
	{ "acpi", f_acpi },
	{ "direct", f_direct },
};

static void f_boot(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (is_table(c, v, "[boot]"))
		walk(c, v, boot_fields, ARRAY_SIZE(boot_fields), NULL);
}

/* ---- [console] ---- */

static void f_console_mode(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = get_enum(c, v, VM_WORDS_CONSOLE);
	if (m >= 0)
		c->cfg->console = (enum console_mode)m;
}

static void f_console_path(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_path(c, v, &c->cfg->console_path);
}

static void f_console_virtio(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	get_bool(c, v, &c->cfg->virtio_console);
}

static const struct field console_fields[] = {
	{ "mode", f_console_mode },
	{ "path", f_console_path },
	{ "virtio", f_console_virtio },
};

static void f_console(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const struct toml_node *mode = toml_table_get(v, "mode");

	if (!is_table(c, v, "[console]"))
		return;
	walk(c, v, console_fields, ARRAY_SIZE(console_fields), NULL);
	if (mode && c->cfg->console == CONSOLE_FILE && !c->cfg->console_path &&
			!toml_table_get(v, "path"))
		err(c, mode, "mode \"file\" needs a path (add console.path = \"...\")");
}

/* ---- [api] ---- */

static void f_api_socket(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	char why[512];

	set_path(c, v, &c->cfg->api_socket);
	if (c->cfg->api_socket && !vm_check_socket_path(c->cfg->api_socket, why, sizeof(why)))
		err(c, v, "%s", why);
}

static const struct field api_fields[] = {
	{ "socket", f_api_socket },
};

static void f_api(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (is_table(c, v, "[api]"))
		walk(c, v, api_fields, ARRAY_SIZE(api_fields), NULL);
}

/* ---- [[disk]] ---- */

static void f_disk_path(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_path(c, v, &((struct disk_config *)obj)->path);
}

static void f_disk_readonly(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	get_bool(c, v, &((struct disk_config *)obj)->readonly);
}

static void f_disk_cache(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = get_enum(c, v, VM_WORDS_DISK_CACHE);
	if (m >= 0)
		((struct disk_config *)obj)->cache = (enum disk_cache)m;
}

static void f_disk_format(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = get_enum(c, v, VM_WORDS_DISK_FORMAT);
	if (m >= 0)
		((struct disk_config *)obj)->format = (enum disk_format)m;
}

static void f_disk_serial(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = get_str(c, v, "a string");
	char why[128];

	if (!s)
		return;
	if (!vm_check_serial(s, why, sizeof(why))) {
		err(c, v, "%s", why);
		return;
	}
	set_owned(c, v, &((struct disk_config *)obj)->serial, strdup(s));
}

static const struct field disk_fields[] = {
	{ "path", f_disk_path },
	{ "readonly", f_disk_readonly },
	{ "cache", f_disk_cache },
	{ "format", f_disk_format },
	{ "serial", f_disk_serial },
};

/* ---- [[net]] ---- */

static void set_ifname(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = get_str(c, v, "an interface name (string)");
	char why[160];

	if (!s)
		return;
	if (!vm_check_ifname(s, why, sizeof(why))) {
		err(c, v, "%s", why);
		return;
	}
	set_owned(c, v, dst, strdup(s));
}

static void f_net_tap_name(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_ifname(c, v, &((struct net_config *)obj)->tap);
}

static void f_net_bridge(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_ifname(c, v, &((struct net_config *)obj)->bridge);
}

static void f_net_mac(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	struct net_config *n = obj;
	const char *s = get_str(c, v, "a MAC address string (\"52:54:00:12:34:56\")");
	uint8_t mac[6];
	char why[160];

	if (!s)
		return;
	if (vm_config_parse_mac(s, mac) < 0) {
		err(c, v, "\"%.64s\" is not a MAC address (expected xx:xx:xx:xx:xx:xx, e.g. "
			"\"52:54:00:12:34:56\")", s);
		return;
	}
	if (!vm_check_mac(mac, why, sizeof(why))) {
		err(c, v, "%s", why);
		return;
	}
	memcpy(n->mac, mac, 6);
	n->has_mac = true;
}

static void f_net_spoof(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	get_bool(c, v, &((struct net_config *)obj)->mac_spoofing);
}

static const struct field net_fields[] = {
	{ "tap", f_net_tap_name },
	{ "mac", f_net_mac },
	{ "bridge", f_net_bridge },
	{ "mac_spoofing", f_net_spoof },
};

/*
 * [[disk]] and [[net]]: an array of tables (a static array of inline tables
 * is accepted too). Elements past max are reported, and still checked.
 */
static void f_disk(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	struct vm_config *cfg = c->cfg;

	if (toml_node_type(v) != TOML_ARRAY) {
		err(c, v, "expected an array of tables ([[disk]] sections), got %s", a_type(v));
		return;
	}
	for (size_t i = 0; i < toml_array_len(v); i++) {
		const struct toml_node *e = toml_array_at(v, i);
		struct disk_config dk = { 0 };
		unsigned before = c->errors;

		if (!is_table(c, e, "[[disk]]"))
			continue;
		walk(c, e, disk_fields, ARRAY_SIZE(disk_fields), &dk);
		if (!dk.path && !toml_table_get(e, "path"))
			err(c, e, "missing required key 'path'");
		if (c->errors == before && cfg->ndisks >= VM_MAX_DISKS)
			err(c, e, "too many disks (at most %d)", VM_MAX_DISKS);
		if (c->errors == before) {
			cfg->disks[cfg->ndisks++] = dk;
		} else {
			free(dk.path);
			free(dk.serial);
		}
	}
}

static void f_net(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	struct vm_config *cfg = c->cfg;

	if (toml_node_type(v) != TOML_ARRAY) {
		err(c, v, "expected an array of tables ([[net]] sections), got %s", a_type(v));
		return;
	}
	for (size_t i = 0; i < toml_array_len(v); i++) {
		const struct toml_node *e = toml_array_at(v, i);
		struct net_config n = { 0 };
		unsigned before = c->errors;

		if (!is_table(c, e, "[[net]]"))
			continue;
		walk(c, e, net_fields, ARRAY_SIZE(net_fields), &n);
		if (c->errors == before && cfg->nnets >= VM_MAX_NETS)
			err(c, e, "too many network interfaces (at most %d)", VM_MAX_NETS);
		if (c->errors == before) {
			cfg->nets[cfg->nnets++] = n;
		} else {
			free(n.tap);
			free(n.bridge);
		}
	}
}

/* ---- [rng], [balloon] ---- */

static void f_enabled(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	get_bool(c, v, obj);
}

static const struct field enabled_fields[] = {
	{ "enabled", f_enabled },
};

static void f_rng(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (is_table(c, v, "[rng]"))
		walk(c, v, enabled_fields, ARRAY_SIZE(enabled_fields), &c->cfg->rng);
}

static void f_balloon(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (is_table(c, v, "[balloon]"))
		walk(c, v, enabled_fields, ARRAY_SIZE(enabled_fields), &c->cfg->balloon);
}

static const struct field top_fields[] = {
	{ "name", f_name },
	{ "cpus", f_cpus },
	{ "memory", f_memory },
	{ "nested", f_nested },
	{ "on_reboot", f_on_reboot },
	{ "boot", f_boot },
	{ "console", f_console },
	{ "api", f_api },
	{ "disk", f_disk },
	{ "net", f_net },
	{ "rng", f_rng },
	{ "balloon", f_balloon },
};

void vmc_apply(struct vmc_ctx *ctx, const struct toml_node *root)
{
	walk(ctx, root, top_fields, ARRAY_SIZE(top_fields), NULL);
}
