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
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console_path);
	free(cfg->api_socket);
	for (size_t i = 0; i < cfg->ndisks && i < VM_MAX_DISKS; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
	}
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++) {
		free(cfg->nets[i].tap);
		free(cfg->nets[i].bridge);
	}
	memset(cfg, 0, sizeof(*cfg));
}

const char *nested_mode_name(enum nested_mode m)
{
	switch (m) {
	case NESTED_OFF:
		return "off";
	case NESTED_AUTO:
		return "auto";
	case NESTED_ON:
		return "on";
	}
	return "unknown";
}

const char *console_mode_name(enum console_mode m)
{
	switch (m) {
	case CONSOLE_STDIO:
		return "stdio";
	case CONSOLE_PTY:
		return "pty";
	case CONSOLE_FILE:
		return "file";
	case CONSOLE_NONE:
		return "none";
	}
	return "unknown";
}

void vmc_size_str(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;

	while (u + 1 < ARRAY_SIZE(units) && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, cap, "%llu %s", (unsigned long long)bytes, units[u]);
}

bool vmc_name_ok(const char *name, char *why, size_t cap)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				c == '.' || c == '_' || c == '-')) {
			snprintf(why, cap, "may only use A-Z a-z 0-9 . _ - (found '%s%c')",
				(unsigned char)c < 0x20 || (unsigned char)c >= 0x7F ? "\\x" : "",
				(unsigned char)c < 0x20 || (unsigned char)c >= 0x7F ? '?' : c);
			return false;
		}
	}
	if (n == 0 || n > VM_NAME_MAX) {
		snprintf(why, cap, "must be 1 to %d characters long (got %zu)", VM_NAME_MAX, n);
		return false;
	}
	return true;
}

bool vmc_cpus_ok(int64_t cpus, char *why, size_t cap)
{
	if (cpus >= 1 && cpus <= VM_MAX_CPUS)
		return true;
	snprintf(why, cap, "must be between 1 and %d (got %lld)", VM_MAX_CPUS, (long long)cpus);
	return false;
}

bool vmc_memory_ok(uint64_t bytes, char *why, size_t cap)
{
	char got[48];

	vmc_size_str(bytes, got, sizeof(got));
	if (bytes < VM_MIN_MEMORY) {
		snprintf(why, cap, "must be at least %llu MiB (got %s)",
			(unsigned long long)(VM_MIN_MEMORY / MiB), got);
		return false;
	}
	if (bytes % (4 * KiB)) {
		snprintf(why, cap, "must be a multiple of 4 KiB (got %s)", got);
		return false;
	}
	return true;
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

static void check_str_len(struct vcheck *v, const char *what, const char *s, size_t max)
{
	if (s && strlen(s) > max)
		fail(v, "%s: '%s' is longer than %zu characters", what, s, max);
}

int vm_config_validate(const struct vm_config *cfg, struct diag *d)
{
	struct vcheck v = { .d = d };
	char why[160], what[32];

	if (!cfg->kernel || !cfg->kernel[0])
		fail(&v, "no kernel given (boot.kernel or --kernel)");
	if (!vmc_cpus_ok(cfg->cpus, why, sizeof(why)))
		fail(&v, "cpus: %s", why);
	if (!vmc_memory_ok(cfg->memory, why, sizeof(why)))
		fail(&v, "memory: %s", why);
	if (cfg->name && !vmc_name_ok(cfg->name, why, sizeof(why)))
		fail(&v, "name: %s", why);
	if ((unsigned)cfg->nested > NESTED_ON)
		fail(&v, "nested: invalid mode %d", (int)cfg->nested);
	if ((unsigned)cfg->on_reboot > ON_REBOOT_RESTART)
		fail(&v, "on_reboot: invalid action %d", (int)cfg->on_reboot);
	if ((unsigned)cfg->console > CONSOLE_NONE)
		fail(&v, "console: invalid mode %d", (int)cfg->console);
	if (cfg->console == CONSOLE_FILE && (!cfg->console_path || !cfg->console_path[0]))
		fail(&v, "console: mode \"file\" needs a path "
			"(console.path, or --console file:PATH)");
	if (cfg->initrd && !cfg->initrd[0])
		fail(&v, "boot.initrd: empty path");
	check_str_len(&v, "api.socket", cfg->api_socket, VM_SOCKET_MAX);
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
		snprintf(what, sizeof(what), "disk[%zu].serial", i);
		check_str_len(&v, what, dk->serial, VM_SERIAL_MAX);
	}
	if (cfg->nnets > VM_MAX_NETS)
		fail(&v, "net: at most %d network interfaces (got %zu)", VM_MAX_NETS,
			cfg->nnets);
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++) {
		const struct net_config *n = &cfg->nets[i];
		if (n->has_mac && (n->mac[0] & 1))
			fail(&v, "net[%zu].mac: %02x:%02x:%02x:%02x:%02x:%02x is a "
				"multicast address", i, n->mac[0], n->mac[1], n->mac[2], n->mac[3],
				n->mac[4], n->mac[5]);
		snprintf(what, sizeof(what), "net[%zu].tap", i);
		check_str_len(&v, what, n->tap, VM_IFNAME_MAX);
		snprintf(what, sizeof(what), "net[%zu].bridge", i);
		check_str_len(&v, what, n->bridge, VM_IFNAME_MAX);
	}
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
