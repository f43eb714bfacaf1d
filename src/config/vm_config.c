// SPDX-License-Identifier: MIT
/*
 * vm_config: defaults, freeing, loading from a TOML file or buffer, and the
 * whole-struct validation run after command-line flags are merged. The
 * key-by-key mapping from the TOML tree is in vm_config_schema.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "vm_config_internal.h"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory = 512 * MiB;
	cfg->nested = NESTED_OFF;
	cfg->on_reboot = ON_REBOOT_EXIT;
	cfg->acpi = true;
	cfg->direct_boot = true;
	cfg->console = CONSOLE_STDIO;
	cfg->rng = false;
	cfg->balloon = false;
}

void vm_config_free(struct vm_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->source);
	free(cfg->name);
	free(cfg->title);
	free(cfg->description);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console_path);
	free(cfg->api_socket);
	for (size_t i = 0; i < cfg->ndisks && i < VM_MAX_DISKS; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
		free(cfg->disks[i].alias);
	}
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++) {
		free(cfg->nets[i].tap);
		free(cfg->nets[i].bridge);
		free(cfg->nets[i].alias);
	}
	memset(cfg, 0, sizeof(*cfg));
}

char *vmc_resolve(const char *base, const char *path)
{
	size_t bl, pl;
	char *out;

	if (!base || path[0] == '/')
		return strdup(path);
	while (path[0] == '.' && path[1] == '/') {
		path += 2;
		while (path[0] == '/')
			path++;
	}
	if (!path[0] || !strcmp(path, "."))
		return strdup(base);
	bl = strlen(base);
	while (bl > 1 && base[bl - 1] == '/')
		bl--;
	pl = strlen(path);
	out = malloc(bl + pl + 2);
	if (!out)
		return NULL;
	memcpy(out, base, bl);
	if (base[bl - 1] != '/')
		out[bl++] = '/';
	memcpy(out + bl, path, pl + 1);
	return out;
}

/* The directory holding path, as an absolute path when the cwd is known. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX], *dir, *abs;

	if (slash == path)
		return strdup("/");
	dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!dir || dir[0] == '/')
		return dir;
	if (!getcwd(cwd, sizeof(cwd)))
		return dir; /* relative to a cwd we cannot name: still right while it holds */
	abs = vmc_resolve(cwd, dir);
	free(dir);
	return abs;
}

/* Reports a parse failure, or maps the document; frees doc. */
static int apply(struct vm_config *cfg, const char *name, int rc, struct toml_doc *doc,
	const struct toml_error *err, const char *base, struct diag *d)
{
	struct vmc_ctx ctx = { .cfg = cfg, .d = d, .file = name, .base = base };

	if (rc == -EINVAL) {
		diag_add(d, name, err->line, err->col, "%s", err->msg);
		return rc;
	}
	if (rc < 0) {
		diag_add(d, name, 0, 0, "%s", rc == -EFBIG ? "cannot read the file: it is too large" :
			err->msg[0] ? err->msg : strerror(-rc));
		return rc;
	}
	vmc_apply(&ctx, toml_doc_root(doc));
	toml_doc_free(doc);
	return ctx.errors ? -EINVAL : 0;
}

int vm_config_load_buffer(struct vm_config *cfg, const char *name, const char *buf, size_t len,
	struct diag *d)
{
	struct toml_doc *doc = NULL;
	struct toml_error err;
	char cwd[PATH_MAX];
	int rc = toml_parse(buf, len, &doc, &err);

	return apply(cfg, name ? name : "<config>", rc, doc, &err, getcwd(cwd, sizeof(cwd)), d);
}

int vm_config_load_file(struct vm_config *cfg, const char *path, struct diag *d)
{
	struct toml_doc *doc = NULL;
	struct toml_error err;
	char *dir = NULL;
	int rc = toml_parse_file(path, &doc, &err);

	if (rc == 0) {
		dir = dir_of(path);
		free(cfg->source);
		cfg->source = strdup(path);
		if (!dir || !cfg->source) {
			toml_doc_free(doc);
			doc = NULL;
			rc = -ENOMEM;
			snprintf(err.msg, sizeof(err.msg), "out of memory");
		}
	} else if (rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM) {
		snprintf(err.msg, sizeof(err.msg), "cannot read the file: %s", strerror(-rc));
	}
	rc = apply(cfg, path, rc, doc, &err, dir, d);
	free(dir);
	return rc;
}

struct vcheck {
	struct diag *d;
	unsigned n;
};

static void fail(struct vcheck *v, const char *fmt, ...) NV_PRINTF(2, 3);
static void fail(struct vcheck *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(v->d, NULL, 0, 0, fmt, ap);
	va_end(ap);
	v->n++;
}

/* The alias of device i (disks first, then NICs) and its key, or NULL. */
static const char *alias_at(const struct vm_config *cfg, size_t i, char *key, size_t cap)
{
	size_t nd = cfg->ndisks < VM_MAX_DISKS ? cfg->ndisks : VM_MAX_DISKS;

	if (i < nd) {
		snprintf(key, cap, "disk[%zu]", i);
		return cfg->disks[i].alias;
	}
	snprintf(key, cap, "net[%zu]", i - nd);
	return cfg->nets[i - nd].alias;
}

/* Aliases name one device each (libvirt refuses duplicates too). */
static void check_aliases(struct vcheck *v, const struct vm_config *cfg)
{
	size_t n = (cfg->ndisks < VM_MAX_DISKS ? cfg->ndisks : VM_MAX_DISKS) +
		(cfg->nnets < VM_MAX_NETS ? cfg->nnets : VM_MAX_NETS);
	char ki[32], kj[32];

	for (size_t i = 1; i < n; i++) {
		const char *a = alias_at(cfg, i, ki, sizeof(ki));
		for (size_t j = 0; a && j < i; j++) {
			const char *b = alias_at(cfg, j, kj, sizeof(kj));
			if (b && !strcmp(a, b)) {
				fail(v, "%s.alias: \"%.64s\" is already the alias of %s", ki, a, kj);
				break;
			}
		}
	}
}

int vm_config_validate(const struct vm_config *cfg, struct diag *d)
{
	struct vcheck v = { .d = d };
	char why[512], what[32];

	if (!cfg->kernel || !cfg->kernel[0])
		fail(&v, "no kernel given (boot.kernel or --kernel)");
	if (!vm_check_cpus(cfg->cpus, why, sizeof(why)))
		fail(&v, "cpus: %s", why);
	if (!vm_check_memory(cfg->memory, why, sizeof(why)))
		fail(&v, "memory: %s", why);
	if (cfg->name && !vm_check_name(cfg->name, why, sizeof(why)))
		fail(&v, "name: %s", why);
	if ((unsigned)cfg->nested > NESTED_ON)
		fail(&v, "nested: invalid mode %d", (int)cfg->nested);
	if ((unsigned)cfg->on_reboot > ON_REBOOT_RESTART)
		fail(&v, "on_reboot: invalid action %d", (int)cfg->on_reboot);
	if ((unsigned)cfg->on_poweroff > ON_POWEROFF_EXIT)
		fail(&v, "on_poweroff: invalid action %d", (int)cfg->on_poweroff);
	if ((unsigned)cfg->on_crash > ON_CRASH_EXIT)
		fail(&v, "on_crash: invalid action %d", (int)cfg->on_crash);
	if (cfg->has_uuid && !vm_check_uuid(cfg->uuid, why, sizeof(why)))
		fail(&v, "uuid: %s", why);
	if (cfg->title && !vm_check_title(cfg->title, why, sizeof(why)))
		fail(&v, "title: %s", why);
	if (cfg->description && !vm_check_description(cfg->description, why, sizeof(why)))
		fail(&v, "description: %s", why);
	if (!vm_check_current_memory(cfg->current_memory, cfg->memory, cfg->balloon, why,
			sizeof(why)))
		fail(&v, "current_memory: %s", why);
	if ((unsigned)cfg->console > CONSOLE_NONE)
		fail(&v, "console: invalid mode %d", (int)cfg->console);
	if (cfg->console == CONSOLE_FILE && (!cfg->console_path || !cfg->console_path[0]))
		fail(&v, "console: mode \"file\" needs a path "
			"(console.path, or --console file:PATH)");
	if (cfg->initrd && !cfg->initrd[0])
		fail(&v, "boot.initrd: empty path");
	if (cfg->api_socket && !vm_check_socket_path(cfg->api_socket, why, sizeof(why)))
		fail(&v, "api.socket: %s", why);
	if (cfg->ndisks > VM_MAX_DISKS)
		fail(&v, "disk: at most %d disks (got %zu)", VM_MAX_DISKS,
			cfg->ndisks);
	for (size_t i = 0; i < cfg->ndisks && i < VM_MAX_DISKS; i++) {
		const struct disk_config *dk = &cfg->disks[i];
		snprintf(what, sizeof(what), "disk[%zu]", i);
		if (!dk->path || !dk->path[0])
			fail(&v, "%s: no path given", what);
		if ((unsigned)dk->cache > DISK_CACHE_UNSAFE)
			fail(&v, "%s: invalid cache mode %d", what, (int)dk->cache);
		if ((unsigned)dk->format > DISK_FORMAT_QCOW2)
			fail(&v, "%s: invalid format %d", what, (int)dk->format);
		if (dk->serial && !vm_check_serial(dk->serial, why, sizeof(why)))
			fail(&v, "%s.serial: %s", what, why);
		if (dk->alias && !vm_check_alias(dk->alias, why, sizeof(why)))
			fail(&v, "%s.alias: %s", what, why);
	}
	if (cfg->nnets > VM_MAX_NETS)
		fail(&v, "net: at most %d network interfaces (got %zu)", VM_MAX_NETS,
			cfg->nnets);
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++) {
		const struct net_config *n = &cfg->nets[i];
		if (n->has_mac && !vm_check_mac(n->mac, why, sizeof(why)))
			fail(&v, "net[%zu].mac: %s", i, why);
		if (n->fd && !vm_check_tap_fd(n->fd, why, sizeof(why)))
			fail(&v, "net[%zu].fd: %s", i, why);
		if (n->fd && (n->tap || n->bridge))
			fail(&v, "net[%zu]: fd names the tap already: no tap or bridge with it", i);
		if (n->tap && !vm_check_ifname(n->tap, why, sizeof(why)))
			fail(&v, "net[%zu].tap: %s", i, why);
		if (n->bridge && !vm_check_ifname(n->bridge, why, sizeof(why)))
			fail(&v, "net[%zu].bridge: %s", i, why);
		if (n->alias && !vm_check_alias(n->alias, why, sizeof(why)))
			fail(&v, "net[%zu].alias: %s", i, why);
	}
	check_aliases(&v, cfg);
	return v.n ? -EINVAL : 0;
}

int vm_config_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		const char *p = s + i * 3;
		int hi = hex_digit((unsigned char)p[0]);
		int lo = hi < 0 ? -1 : hex_digit((unsigned char)p[1]);
		if (lo < 0 || p[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi * 16 + lo);
	}
	return 0;
}

int vm_config_random_mac(uint8_t mac[6])
{
	uint8_t rnd[3];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return errno ? -errno : -EIO;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	memcpy(mac + 3, rnd, sizeof(rnd));
	return 0;
}

int vm_config_parse_uuid(const char *s, uint8_t uuid[VM_UUID_LEN])
{
	size_t o = 0;

	for (size_t i = 0; i < VM_UUID_LEN; i++) {
		if (o == 8 || o == 13 || o == 18 || o == 23) {
			if (s[o] != '-')
				return -EINVAL;
			o++;
		}
		int hi = hex_digit((unsigned char)s[o]);
		int lo = hi < 0 ? -1 : hex_digit((unsigned char)s[o + 1]);
		if (lo < 0)
			return -EINVAL;
		uuid[i] = (uint8_t)(hi * 16 + lo);
		o += 2;
	}
	return s[o] ? -EINVAL : 0;
}

const char *vm_config_format_uuid(const uint8_t u[VM_UUID_LEN], char buf[VM_UUID_STR])
{
	snprintf(buf, VM_UUID_STR, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
		u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return buf;
}

int vm_config_random_uuid(uint8_t uuid[VM_UUID_LEN])
{
	if (getrandom(uuid, VM_UUID_LEN, 0) != VM_UUID_LEN)
		return errno ? -errno : -EIO;
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool disk_eq(const struct disk_config *a, const struct disk_config *b)
{
	return str_eq(a->path, b->path) && a->readonly == b->readonly && a->cache == b->cache &&
		a->format == b->format && str_eq(a->serial, b->serial) && str_eq(a->alias, b->alias);
}

static bool net_eq(const struct net_config *a, const struct net_config *b)
{
	return str_eq(a->tap, b->tap) && a->has_mac == b->has_mac &&
		(!a->has_mac || !memcmp(a->mac, b->mac, 6)) && str_eq(a->bridge, b->bridge) &&
		a->mac_spoofing == b->mac_spoofing && a->fd == b->fd && str_eq(a->alias, b->alias);
}

bool vm_config_equal(const struct vm_config *a, const struct vm_config *b)
{
	if (!str_eq(a->name, b->name) || a->cpus != b->cpus || a->memory != b->memory ||
			a->nested != b->nested || a->on_reboot != b->on_reboot ||
			a->on_poweroff != b->on_poweroff || a->on_crash != b->on_crash ||
			a->has_uuid != b->has_uuid || (a->has_uuid && memcmp(a->uuid, b->uuid,
			VM_UUID_LEN)) || !str_eq(a->title, b->title) ||
			!str_eq(a->description, b->description) ||
			a->current_memory != b->current_memory)
		return false;
	if (!str_eq(a->kernel, b->kernel) || !str_eq(a->initrd, b->initrd) ||
			!str_eq(a->cmdline, b->cmdline) || a->acpi != b->acpi ||
			a->direct_boot != b->direct_boot)
		return false;
	if (a->console != b->console || !str_eq(a->console_path, b->console_path) ||
			a->virtio_console != b->virtio_console || !str_eq(a->api_socket, b->api_socket))
		return false;
	if (a->ndisks != b->ndisks || a->nnets != b->nnets || a->rng != b->rng ||
			a->balloon != b->balloon || a->ndisks > VM_MAX_DISKS || a->nnets > VM_MAX_NETS)
		return false;
	for (size_t i = 0; i < a->ndisks; i++)
		if (!disk_eq(&a->disks[i], &b->disks[i]))
			return false;
	for (size_t i = 0; i < a->nnets; i++)
		if (!net_eq(&a->nets[i], &b->nets[i]))
			return false;
	return true;
}
