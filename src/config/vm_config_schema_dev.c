// SPDX-License-Identifier: MIT
/*
 * vm_config schema, the devices: [[disk]], [[net]], [rng] and [balloon]
 * (the rest is in vm_config_schema.c, whose helpers these use).
 */
#include <stdlib.h>
#include <string.h>

#include "vm_config_internal.h"

/* ---- [[disk]] ---- */

static void f_disk_path(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_set_path(c, v, &((struct disk_config *)obj)->path);
}

static void f_disk_readonly(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_get_bool(c, v, &((struct disk_config *)obj)->readonly);
}

static void f_disk_cache(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_DISK_CACHE);
	if (m >= 0)
		((struct disk_config *)obj)->cache = (enum disk_cache)m;
}

static void f_disk_format(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int m = vmc_get_enum(c, v, VM_WORDS_DISK_FORMAT);
	if (m >= 0)
		((struct disk_config *)obj)->format = (enum disk_format)m;
}

static void f_disk_serial(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	const char *s = vmc_get_str(c, v, "a string");
	char why[128];

	if (!s)
		return;
	if (!vm_check_serial(s, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	vmc_set_owned(c, v, &((struct disk_config *)obj)->serial, strdup(s));
}

/* A user alias, for disks and NICs. */
static void set_alias(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = vmc_get_str(c, v, "a string");
	char why[160];

	if (!s)
		return;
	if (!vm_check_alias(s, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	vmc_set_owned(c, v, dst, strdup(s));
}

static void f_disk_alias(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_alias(c, v, &((struct disk_config *)obj)->alias);
}

static const struct vmc_field disk_fields[] = {
	{ "path", f_disk_path },
	{ "readonly", f_disk_readonly },
	{ "cache", f_disk_cache },
	{ "format", f_disk_format },
	{ "serial", f_disk_serial },
	{ "alias", f_disk_alias },
};

/* ---- [[net]] ---- */

static void set_ifname(struct vmc_ctx *c, const struct toml_node *v, char **dst)
{
	const char *s = vmc_get_str(c, v, "an interface name (string)");
	char why[160];

	if (!s)
		return;
	if (!vm_check_ifname(s, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	vmc_set_owned(c, v, dst, strdup(s));
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
	const char *s = vmc_get_str(c, v, "a MAC address string (\"52:54:00:12:34:56\")");
	uint8_t mac[6];
	char why[160];

	if (!s)
		return;
	if (vm_config_parse_mac(s, mac) < 0) {
		vmc_err(c, v, "\"%.64s\" is not a MAC address (expected xx:xx:xx:xx:xx:xx, e.g. "
			"\"52:54:00:12:34:56\")", s);
		return;
	}
	if (!vm_check_mac(mac, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	memcpy(n->mac, mac, 6);
	n->has_mac = true;
}

static void f_net_spoof(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_get_bool(c, v, &((struct net_config *)obj)->mac_spoofing);
}

static void f_net_fd(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	int64_t fd;
	char why[128];
	if (toml_get_int(v, &fd) < 0) {
		vmc_err(c, v, "expected an integer (a descriptor number), got another type");
		return;
	}
	if (!vm_check_tap_fd(fd, why, sizeof(why))) {
		vmc_err(c, v, "%s", why);
		return;
	}
	((struct net_config *)obj)->fd = (int)fd;
}

static void f_net_alias(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	set_alias(c, v, &((struct net_config *)obj)->alias);
}

static const struct vmc_field net_fields[] = {
	{ "tap", f_net_tap_name },
	{ "mac", f_net_mac },
	{ "bridge", f_net_bridge },
	{ "mac_spoofing", f_net_spoof },
	{ "fd", f_net_fd },
	{ "alias", f_net_alias },
};

/*
 * [[disk]] and [[net]]: an array of tables (a static array of inline tables
 * is accepted too). Elements past max are reported, and still checked.
 */
void vmc_f_disk(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	struct vm_config *cfg = c->cfg;

	if (toml_node_type(v) != TOML_ARRAY) {
		vmc_err(c, v, "expected an array of tables ([[disk]] sections), got %s", vmc_a_type(v));
		return;
	}
	for (size_t i = 0; i < toml_array_len(v); i++) {
		const struct toml_node *e = toml_array_at(v, i);
		struct disk_config dk = { 0 };
		unsigned before = c->errors;

		if (!vmc_is_table(c, e, "[[disk]]"))
			continue;
		vmc_walk(c, e, disk_fields, ARRAY_SIZE(disk_fields), &dk);
		if (!dk.path && !toml_table_get(e, "path"))
			vmc_err(c, e, "missing required key 'path'");
		if (c->errors == before && cfg->ndisks >= VM_MAX_DISKS)
			vmc_err(c, e, "too many disks (at most %d)", VM_MAX_DISKS);
		if (c->errors == before) {
			cfg->disks[cfg->ndisks++] = dk;
		} else {
			free(dk.path);
			free(dk.serial);
			free(dk.alias);
		}
	}
}

void vmc_f_net(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	struct vm_config *cfg = c->cfg;

	if (toml_node_type(v) != TOML_ARRAY) {
		vmc_err(c, v, "expected an array of tables ([[net]] sections), got %s", vmc_a_type(v));
		return;
	}
	for (size_t i = 0; i < toml_array_len(v); i++) {
		const struct toml_node *e = toml_array_at(v, i);
		struct net_config n = { 0 };
		unsigned before = c->errors;

		if (!vmc_is_table(c, e, "[[net]]"))
			continue;
		vmc_walk(c, e, net_fields, ARRAY_SIZE(net_fields), &n);
		if (c->errors == before && cfg->nnets >= VM_MAX_NETS)
			vmc_err(c, e, "too many network interfaces (at most %d)", VM_MAX_NETS);
		if (c->errors == before) {
			cfg->nets[cfg->nnets++] = n;
		} else {
			free(n.tap);
			free(n.bridge);
			free(n.alias);
		}
	}
}

/* ---- [rng], [balloon] ---- */

static void f_enabled(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	vmc_get_bool(c, v, obj);
}

static const struct vmc_field enabled_fields[] = {
	{ "enabled", f_enabled },
};

void vmc_f_rng(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (vmc_is_table(c, v, "[rng]"))
		vmc_walk(c, v, enabled_fields, ARRAY_SIZE(enabled_fields), &c->cfg->rng);
}

void vmc_f_balloon(struct vmc_ctx *c, const struct toml_node *v, void *obj)
{
	if (vmc_is_table(c, v, "[balloon]"))
		vmc_walk(c, v, enabled_fields, ARRAY_SIZE(enabled_fields), &c->cfg->balloon);
}

