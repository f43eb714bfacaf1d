// SPDX-License-Identifier: MIT
/* Device flags of `vmm run`: --disk PATH[,ro][,cache=unsafe][,format=raw|qcow2][,serial=ID] and
 * --net [tap=NAME][,mac=MAC][,bridge=BR][,spoofing=on|off]. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *dup_or_null(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

/* Splits "a,b=c,..." and calls fn(key, keylen, value or NULL, vlen) for each item. */
static int each_opt(const char *arg, int (*fn)(void *ctx, const char *k, size_t kl, const char *v,
				       size_t vl), void *ctx)
{
	const char *p = arg;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		int r = eq ? fn(ctx, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1)
			   : fn(ctx, p, len, NULL, 0);
		if (r < 0)
			return r;
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static bool is(const char *k, size_t kl, const char *name)
{
	return strlen(name) == kl && !memcmp(k, name, kl);
}

struct disk_ctx {
	struct disk_config *d;
	bool first;
	struct diag *diag;
};

static int disk_opt(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
	struct disk_ctx *c = ctx;
	int w;
	if (c->first && !v) {
		c->first = false;
		c->d->path = dup_or_null(k, kl);
		return 0;
	}
	c->first = false;
	if (is(k, kl, "ro") && !v) {
		c->d->readonly = true;
	} else if (is(k, kl, "path") && v) {
		c->d->path = dup_or_null(v, vl);
	} else if (is(k, kl, "cache") && v && (w = vm_word_value_n(VM_WORDS_DISK_CACHE, v, vl)) >= 0) {
		c->d->cache = (enum disk_cache)w;
	} else if (is(k, kl, "format") && v &&
			(w = vm_word_value_n(VM_WORDS_DISK_FORMAT, v, vl)) >= 0) {
		c->d->format = (enum disk_format)w;
	} else if (is(k, kl, "serial") && v) {
		/* Its rule (printable, <= VM_SERIAL_MAX) is vm_config_validate's. */
		c->d->serial = dup_or_null(v, vl);
	} else {
		char caches[64], formats[64];
		diag_add(c->diag, NULL, 0, 0, "--disk: '%.*s' is not one of PATH, ro, cache=%s, "
			"format=%s, serial=ID", (int)kl, k,
			vm_word_list(VM_WORDS_DISK_CACHE, false, caches, sizeof(caches)),
			vm_word_list(VM_WORDS_DISK_FORMAT, false, formats, sizeof(formats)));
		return -EINVAL;
	}
	return 0;
}

int cli_parse_disk(struct vm_config *cfg, const char *arg, struct diag *d)
{
	if (cfg->ndisks == VM_MAX_DISKS) {
		diag_add(d, NULL, 0, 0, "--disk: at most %d disks", VM_MAX_DISKS);
		return -EINVAL;
	}
	struct disk_config *dc = &cfg->disks[cfg->ndisks++];
	memset(dc, 0, sizeof(*dc));
	struct disk_ctx c = { dc, true, d };
	int r = each_opt(arg, disk_opt, &c);
	if (r == 0 && (!dc->path || !*dc->path)) {
		diag_add(d, NULL, 0, 0, "--disk: no image path in '%s'", arg);
		r = -EINVAL;
	}
	return r;
}

struct net_ctx {
	struct net_config *n;
	struct diag *diag;
};

static int net_opt(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
	struct net_ctx *c = ctx;
	char buf[32];
	/* Interface names are checked by vm_config_validate (vm_check_ifname). */
	if (is(k, kl, "tap") && v) {
		c->n->tap = dup_or_null(v, vl);
	} else if (is(k, kl, "bridge") && v) {
		c->n->bridge = dup_or_null(v, vl);
	} else if (is(k, kl, "mac") && v && vl < sizeof(buf)) {
		memcpy(buf, v, vl);
		buf[vl] = 0;
		if (vm_config_parse_mac(buf, c->n->mac) < 0) {
			diag_add(c->diag, NULL, 0, 0, "--net: mac=%s is not a MAC address (expected "
				"xx:xx:xx:xx:xx:xx, e.g. 52:54:00:12:34:56)", buf);
			return -EINVAL;
		}
		c->n->has_mac = true;
	} else if (is(k, kl, "fd") && v && vl && vl < sizeof(buf)) {
		/* Its range is the validator's (vm_check_tap_fd). */
		memcpy(buf, v, vl);
		buf[vl] = 0;
		char *end;
		long fd = strtol(buf, &end, 10);
		if (*end || fd < 0 || fd > 65535) {
			diag_add(c->diag, NULL, 0, 0, "--net: fd=%s is not a descriptor number", buf);
			return -EINVAL;
		}
		c->n->fd = (int)fd;
	} else if (is(k, kl, "spoofing") && v && vm_word_value_n(VM_WORDS_SWITCH, v, vl) >= 0) {
		c->n->mac_spoofing = vm_word_value_n(VM_WORDS_SWITCH, v, vl) == 1;
	} else {
		diag_add(c->diag, NULL, 0, 0,
			"--net: '%.*s' is not one of tap=NAME, fd=N, mac=MAC, bridge=NAME, spoofing=on|off",
			(int)kl, k);
		return -EINVAL;
	}
	return 0;
}

int cli_parse_net(struct vm_config *cfg, const char *arg, struct diag *d)
{
	if (cfg->nnets == VM_MAX_NETS) {
		diag_add(d, NULL, 0, 0, "--net: at most %d network interfaces", VM_MAX_NETS);
		return -EINVAL;
	}
	struct net_config *n = &cfg->nets[cfg->nnets++];
	memset(n, 0, sizeof(*n));
	struct net_ctx c = { n, d };
	return each_opt(arg, net_opt, &c);
}
