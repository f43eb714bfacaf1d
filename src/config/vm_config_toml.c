// SPDX-License-Identifier: MIT
/*
 * The TOML writer: vm_config back to a TOML document that vm_config_load_buffer
 * reads into an equal config (vm_config_equal). The daemon hands a VM
 * definition to `vmm run` this way. Every key is written, defaults included,
 * so that the file says everything about the VM; strings are TOML basic
 * strings with every control character escaped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm_config_internal.h"

bool vmc_utf8_ok(const char *s, bool xml)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		int n;

		if (*p < 0x80) {
			if (xml && *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return false;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			cp = *p & 0x1fu;
			n = 1;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			cp = *p & 0x0fu;
			n = 2;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			cp = *p & 0x07u;
			n = 3;
		} else {
			return false;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
				(cp >= 0xd800 && cp <= 0xdfff) || (xml && (cp == 0xfffe || cp == 0xffff)))
			return false;
		p += n + 1;
	}
	return true;
}

struct out {
	char *buf;
	size_t len, cap;
	int err; /* the first failure: -ENOMEM or -EILSEQ */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

static void putf(struct out *o, const char *fmt, ...) NV_PRINTF(2, 3);
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		o->err = o->err ? o->err : -ENOMEM;
		return;
	}
	put(o, tmp, (size_t)n);
}

/* A TOML basic string: '"', '\\' and every control character escaped. */
static void put_str(struct out *o, const char *s)
{
	if (!vmc_utf8_ok(s, false)) {
		o->err = o->err ? o->err : -EILSEQ;
		return;
	}
	put(o, "\"", 1);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		const char *esc = NULL;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\f': esc = "\\f"; break;
		case '\r': esc = "\\r"; break;
		default: break;
		}
		if (esc)
			put(o, esc, strlen(esc));
		else if (c < 0x20 || c == 0x7f)
			putf(o, "\\u%04X", c);
		else
			put(o, p, 1);
	}
	put(o, "\"", 1);
}

static void key_str(struct out *o, const char *key, const char *s)
{
	if (!s)
		return;
	putf(o, "%s = ", key);
	put_str(o, s);
	put(o, "\n", 1);
}

static void key_bool(struct out *o, const char *key, bool v)
{
	putf(o, "%s = %s\n", key, v ? "true" : "false");
}

static void key_word(struct out *o, const char *key, enum vm_words k, int v)
{
	putf(o, "%s = \"%s\"\n", key, vm_word(k, v));
}

/* A size as the loader reads it: a number with the largest exact binary suffix. */
static void key_size(struct out *o, const char *key, uint64_t bytes)
{
	static const char *const sfx[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (u + 1 < ARRAY_SIZE(sfx) && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	putf(o, "%s = \"%llu%s\"\n", key, (unsigned long long)bytes, sfx[u]);
}

static void disk(struct out *o, const struct disk_config *dk)
{
	put(o, "\n[[disk]]\n", 10);
	key_str(o, "path", dk->path);
	key_bool(o, "readonly", dk->readonly);
	key_word(o, "cache", VM_WORDS_DISK_CACHE, (int)dk->cache);
	key_word(o, "format", VM_WORDS_DISK_FORMAT, (int)dk->format);
	key_str(o, "serial", dk->serial);
	key_str(o, "alias", dk->alias);
}

static void net(struct out *o, const struct net_config *n)
{
	put(o, "\n[[net]]\n", 9);
	key_str(o, "tap", n->tap);
	if (n->has_mac)
		putf(o, "mac = \"%02x:%02x:%02x:%02x:%02x:%02x\"\n", n->mac[0], n->mac[1], n->mac[2],
			n->mac[3], n->mac[4], n->mac[5]);
	key_str(o, "bridge", n->bridge);
	key_bool(o, "mac_spoofing", n->mac_spoofing);
	if (n->fd)
		putf(o, "fd = %d\n", n->fd);
	key_str(o, "alias", n->alias);
}

int vm_config_to_toml(const struct vm_config *cfg, char **out)
{
	struct out o = { 0 };
	char uuid[VM_UUID_STR];

	*out = NULL;
	put(&o, "# a nestvmm VM (vm_config_to_toml)\n", 35);
	key_str(&o, "name", cfg->name);
	if (cfg->has_uuid)
		key_str(&o, "uuid", vm_config_format_uuid(cfg->uuid, uuid));
	key_str(&o, "title", cfg->title);
	key_str(&o, "description", cfg->description);
	putf(&o, "cpus = %u\n", cfg->cpus);
	key_size(&o, "memory", cfg->memory);
	if (cfg->current_memory)
		key_size(&o, "current_memory", cfg->current_memory);
	key_word(&o, "nested", VM_WORDS_NESTED, (int)cfg->nested);
	key_word(&o, "on_reboot", VM_WORDS_ON_REBOOT, (int)cfg->on_reboot);
	key_word(&o, "on_poweroff", VM_WORDS_ON_POWEROFF, (int)cfg->on_poweroff);
	key_word(&o, "on_crash", VM_WORDS_ON_CRASH, (int)cfg->on_crash);

	put(&o, "\n[boot]\n", 8);
	key_str(&o, "kernel", cfg->kernel);
	key_str(&o, "initrd", cfg->initrd);
	key_str(&o, "cmdline", cfg->cmdline);
	key_bool(&o, "acpi", cfg->acpi);
	key_bool(&o, "direct", cfg->direct_boot);

	put(&o, "\n[console]\n", 11);
	key_word(&o, "mode", VM_WORDS_CONSOLE, (int)cfg->console);
	key_str(&o, "path", cfg->console_path);
	key_bool(&o, "virtio", cfg->virtio_console);

	if (cfg->api_socket) {
		put(&o, "\n[api]\n", 7);
		key_str(&o, "socket", cfg->api_socket);
	}
	putf(&o, "\n[rng]\nenabled = %s\n", cfg->rng ? "true" : "false");
	putf(&o, "\n[balloon]\nenabled = %s\n", cfg->balloon ? "true" : "false");
	for (size_t i = 0; i < cfg->ndisks && i < VM_MAX_DISKS; i++)
		disk(&o, &cfg->disks[i]);
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++)
		net(&o, &cfg->nets[i]);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*out = o.buf;
	return 0;
}
