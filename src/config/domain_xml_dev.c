// SPDX-License-Identifier: MIT
/*
 * Domain XML reader, the devices that carry data: virtio raw and qcow2 <disk>s (in
 * the guest's order: by target name) and ethernet and bridge <interface>s.
 * The rest of <devices> is in domain_xml_chr.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_xml_internal.h"

/* A user alias is kept; libvirt's own ("net0", "virtio-disk0") name a live device: dropped. */
static void alias_into(struct dx_ctx *c, xmlNodePtr n, char **dst)
{
	const char *s = dx_attr(c, n, "name");
	char why[160];

	if (!s || strncmp(s, "ua-", 3))
		return;
	if (!vm_check_alias(s, why, sizeof(why))) {
		dx_err(c, dx_attr_at(n, "name"), "%s", why);
		return;
	}
	if (dst) {
		free(*dst);
		*dst = dx_strdup(c, n, s);
	}
}

static void e_boot_order(struct dx_ctx *c, xmlNodePtr n)
{
	(void)dx_attr(c, n, "order"); /* firmware boot order: a direct kernel boot has none */
	(void)dx_attr(c, n, "loadparm");
}

/* ---- <disk> ---- */

/* The disk being read: the one dx_children's handlers fill. */
static struct disk_config *cur_disk(struct dx_ctx *c)
{
	return &c->cfg->disks[c->cfg->ndisks];
}

static void e_disk_driver(struct dx_ctx *c, xmlNodePtr n)
{
	const char *name = dx_attr(c, n, "name");
	const char *type = dx_attr(c, n, "type");
	const char *cache = dx_attr(c, n, "cache");

	if (name && strcmp(name, "qemu"))
		dx_err(c, dx_attr_at(n, "name"), "'%.32s' is not supported (the driver is libvirt's "
			"name='qemu' or none)", name);
	if (type) {
		int w = vm_word_value(VM_WORDS_DISK_FORMAT, type);
		if (w < 0)
			dx_err(c, dx_attr_at(n, "type"), "'%.32s' is not supported (nestvmm serves raw "
				"and qcow2 images)", type);
		else
			cur_disk(c)->format = (enum disk_format)w;
	}
	if (cache) {
		int w = vm_word_value(VM_WORDS_DISK_CACHE, cache);
		if (w < 0)
			dx_err(c, dx_attr_at(n, "cache"), "'%.32s' is not supported (nestvmm's "
				"virtio-blk caches writeback or unsafe)", cache);
		else
			cur_disk(c)->cache = (enum disk_cache)w;
	}
}

static void e_disk_source(struct dx_ctx *c, xmlNodePtr n)
{
	const char *file = dx_attr(c, n, "file");

	if (!file) {
		dx_err(c, n, "no file='...': nestvmm's disks are image files");
		return;
	}
	if (dx_abs_path(c, dx_attr_at(n, "file"), file)) {
		free(cur_disk(c)->path);
		cur_disk(c)->path = dx_strdup(c, n, file);
	}
}

/* "vda" -> 0, "vdz" -> 25, "vdaa" -> 26 (libvirt's disk name order); -1 if not vd[a-z]+. */
static long vd_index(const char *s)
{
	long v = 0;

	if (strncmp(s, "vd", 2) || !s[2] || strlen(s) > 6)
		return -1;
	for (const char *p = s + 2; *p; p++) {
		if (*p < 'a' || *p > 'z')
			return -1;
		v = (v + (p == s + 2 ? 0 : 1)) * 26 + (*p - 'a');
	}
	return v;
}

static void e_disk_target(struct dx_ctx *c, xmlNodePtr n)
{
	const char *dev = dx_attr(c, n, "dev");
	const char *bus = dx_attr(c, n, "bus");
	size_t i = c->cfg->ndisks;

	if (bus && strcmp(bus, "virtio"))
		dx_err(c, dx_attr_at(n, "bus"), "'%.32s' is not supported (nestvmm's disks are "
			"virtio-blk: bus='virtio')", bus);
	if (!dev) {
		dx_err(c, n, "no dev='vdX': a disk needs a target name");
	} else if (vd_index(dev) < 0) {
		dx_err(c, dx_attr_at(n, "dev"), "'%.32s' is not a virtio disk name (vda, vdb, ...)",
			dev);
	} else if (i < VM_MAX_DISKS) {
		free(c->disk_target[i]);
		c->disk_target[i] = dx_strdup(c, n, dev);
	}
}

static void e_disk_readonly(struct dx_ctx *c, xmlNodePtr n)
{
	cur_disk(c)->readonly = true;
}

static void e_disk_serial(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_text(c, n);
	char why[160];

	if (!vm_check_serial(s, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	free(cur_disk(c)->serial);
	cur_disk(c)->serial = dx_strdup(c, n, s);
}

static void e_disk_alias(struct dx_ctx *c, xmlNodePtr n)
{
	alias_into(c, n, &cur_disk(c)->alias);
}

static void e_backing(struct dx_ctx *c, xmlNodePtr n)
{
	if (n->properties || xmlFirstElementChild(n)) {
		dx_err(c, n, "a backing chain in the XML is not supported (a qcow2 image names its "
			"own backing file: an empty <backingStore/> only)");
		dx_mark_tree(n);
	}
}

static void e_shareable(struct dx_ctx *c, xmlNodePtr n)
{
	dx_err(c, n, "a shared disk is not supported (nestvmm caches writes in the host's page "
		"cache)");
}

static const struct dx_elem disk_elems[] = {
	{ "driver", e_disk_driver, false },
	{ "source", e_disk_source, false },
	{ "target", e_disk_target, false },
	{ "readonly", e_disk_readonly, false },
	{ "serial", e_disk_serial, false },
	{ "alias", e_disk_alias, false },
	{ "boot", e_boot_order, false },
	{ "backingStore", e_backing, false },
	{ "shareable", e_shareable, false },
};

void dx_disk(struct dx_ctx *c, xmlNodePtr n)
{
	const char *type = dx_attr(c, n, "type");
	const char *device = dx_attr(c, n, "device");
	struct vm_config *cfg = c->cfg;

	if (c->ndisk_elems++ == VM_MAX_DISKS)
		dx_err(c, n, "too many disks (at most %d)", VM_MAX_DISKS);
	if (cfg->ndisks >= VM_MAX_DISKS) {
		dx_mark_tree(n);
		return;
	}
	if (type && strcmp(type, "file"))
		dx_err(c, dx_attr_at(n, "type"), "'%.32s' is not supported (nestvmm serves image "
			"files: type='file')", type);
	if (device && strcmp(device, "disk"))
		dx_err(c, dx_attr_at(n, "device"), "'%.32s' is not supported (nestvmm's disks are "
			"virtio-blk disks: device='disk')", device);
	memset(cur_disk(c), 0, sizeof(*cur_disk(c)));
	dx_children(c, n, disk_elems, ARRAY_SIZE(disk_elems));
	if (!dx_child(n, "source"))
		dx_err(c, n, "no <source file='...'/>: nestvmm's disks are image files");
	if (!dx_child(n, "target"))
		dx_err(c, n, "no <target dev='vdX' bus='virtio'/>");
	c->disk_node[cfg->ndisks] = n;
	cfg->ndisks++; /* kept even when wrong: freed with the config, and its target checked */
}

/* ---- <interface> ---- */

static struct net_config *cur_net(struct dx_ctx *c)
{
	return &c->cfg->nets[c->cfg->nnets];
}

/* Names libvirt and nestvmm give taps they create: a definition does not own them. */
static bool auto_tap(const char *s)
{
	return !strncmp(s, "vnet", 4) || !strncmp(s, "nv-tap", 6) || !strncmp(s, "macvtap", 7) ||
		!strncmp(s, "vif", 3);
}

static void e_net_mac(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_attr(c, n, "address");
	uint8_t mac[6];
	char why[160];

	if (!s) {
		dx_err(c, n, "no address='52:54:00:...'");
		return;
	}
	s = dx_trim(c, s);
	if (vm_config_parse_mac(s, mac) < 0) {
		dx_err(c, dx_attr_at(n, "address"), "'%.64s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
			s);
		return;
	}
	if (!vm_check_mac(mac, why, sizeof(why))) {
		dx_err(c, dx_attr_at(n, "address"), "%s", why);
		return;
	}
	memcpy(cur_net(c)->mac, mac, 6);
	cur_net(c)->has_mac = true;
}

static void e_net_model(struct dx_ctx *c, xmlNodePtr n)
{
	const char *t = dx_attr(c, n, "type");

	if (!dx_is_one_of(t, "virtio", "virtio-non-transitional"))
		dx_err(c, t ? dx_attr_at(n, "type") : (const void *)n, "'%.32s' is not supported "
			"(nestvmm's NICs are modern virtio-net: type='virtio')", t ? t : "");
}

static void e_net_filterref(struct dx_ctx *c, xmlNodePtr n)
{
	const char *f = dx_attr(c, n, "filter");

	if (!dx_is_one_of(f, "no-mac-spoofing", NULL)) {
		dx_err(c, f ? dx_attr_at(n, "filter") : (const void *)n, "filter '%.64s' is not "
			"supported (nestvmm implements only no-mac-spoofing)", f ? f : "");
		return;
	}
	cur_net(c)->mac_spoofing = false;
}

static void e_net_link(struct dx_ctx *c, xmlNodePtr n)
{
	const char *st = dx_attr(c, n, "state");

	if (st && strcmp(st, "up"))
		dx_err(c, dx_attr_at(n, "state"), "'%.32s' is not supported (a nestvmm NIC's link is "
			"up)", st);
}

static void e_net_alias(struct dx_ctx *c, xmlNodePtr n)
{
	alias_into(c, n, &cur_net(c)->alias);
}

static void e_net_source(struct dx_ctx *c, xmlNodePtr n)
{
	const char *br = dx_attr(c, n, "bridge");
	char why[160];

	if (!br)
		return; /* unread attributes are refused */
	if (!vm_check_ifname(br, why, sizeof(why))) {
		dx_err(c, dx_attr_at(n, "bridge"), "%s", why);
		return;
	}
	free(cur_net(c)->bridge);
	cur_net(c)->bridge = dx_strdup(c, n, br);
}

static void e_net_target(struct dx_ctx *c, xmlNodePtr n)
{
	const char *dev = dx_attr(c, n, "dev");
	const char *managed = dx_attr(c, n, "managed");
	char why[160];

	if (managed && strcmp(managed, "no"))
		dx_err(c, dx_attr_at(n, "managed"), "'%.32s' is not supported (nestvmm opens an "
			"existing tap by name: managed='no')", managed);
	if (!dev || (!managed && auto_tap(dev)))
		return; /* vnetN, nv-tapN: named when the tap is created (managed='no': an existing one) */
	if (!vm_check_ifname(dev, why, sizeof(why))) {
		dx_err(c, dx_attr_at(n, "dev"), "%s", why);
		return;
	}
	free(cur_net(c)->tap);
	cur_net(c)->tap = dx_strdup(c, n, dev);
}

static const struct dx_elem net_elems[] = {
	{ "mac", e_net_mac, false },
	{ "source", e_net_source, false },
	{ "target", e_net_target, false },
	{ "model", e_net_model, false },
	{ "filterref", e_net_filterref, false },
	{ "link", e_net_link, false },
	{ "alias", e_net_alias, false },
	{ "boot", e_boot_order, false },
};

static const char *const net_type_why[][2] = {
	{ "network", "nestvmm has no libvirt networks: use type='bridge' with <source "
		"bridge='...'/>" },
	{ "user", "nestvmm has no user-mode (slirp) networking" },
	{ "direct", "macvtap is not supported: use type='bridge'" },
	{ "vhostuser", "vhost-user is not supported" },
};

void dx_interface(struct dx_ctx *c, xmlNodePtr n)
{
	const char *type = dx_attr(c, n, "type");
	struct vm_config *cfg = c->cfg;
	xmlNodePtr src, model;

	if (c->nnet_elems++ == VM_MAX_NETS)
		dx_err(c, n, "too many network interfaces (at most %d)", VM_MAX_NETS);
	if (cfg->nnets >= VM_MAX_NETS) {
		dx_mark_tree(n);
		return;
	}
	if (!dx_is_one_of(type, "ethernet", "bridge")) {
		const char *why = "nestvmm's NICs are taps: type='ethernet' or 'bridge'";
		for (size_t i = 0; type && i < ARRAY_SIZE(net_type_why); i++)
			if (!strcmp(type, net_type_why[i][0]))
				why = net_type_why[i][1];
		dx_err(c, type ? dx_attr_at(n, "type") : (const void *)n, "'%.32s' is not supported "
			"(%s)", type ? type : "", why);
		dx_mark_tree(n);
		return;
	}
	memset(cur_net(c), 0, sizeof(*cur_net(c)));
	cur_net(c)->mac_spoofing = true; /* libvirt: spoofing is allowed without a filter */
	dx_children(c, n, net_elems, ARRAY_SIZE(net_elems));
	src = dx_child(n, "source");
	model = dx_child(n, "model");
	if (!model)
		dx_err(c, n, "no <model type='virtio'/>: nestvmm's NICs are virtio-net (libvirt "
			"would give the guest an emulated NIC here)");
	if (!strcmp(type, "bridge") && !cur_net(c)->bridge && !(src && dx_attr(c, src, "bridge")))
		dx_err(c, src ? src : n, "no <source bridge='...'/>: a bridge interface needs one");
	if (!strcmp(type, "bridge") && cur_net(c)->tap)
		dx_err(c, n, "a named tap on a bridge is not supported: nestvmm creates the bridge's "
			"tap itself (leave out <target dev>, or use a vnetN name)");
	if (!strcmp(type, "ethernet") && src && xmlHasNsProp(src, BAD_CAST "bridge", NULL))
		dx_err(c, src, "an ethernet interface has no bridge (type='bridge' attaches one)");
	cfg->nnets++;
}

void dx_disks_finish(struct dx_ctx *c)
{
	struct vm_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->ndisks; i++)
		for (size_t j = 0; j < i; j++)
			if (c->disk_target[i] && c->disk_target[j] &&
					!strcmp(c->disk_target[i], c->disk_target[j]))
				dx_err(c, c->disk_node[i], "target '%s' is already disk %zu's", c->disk_target[i],
					j + 1);
	/* the guest names virtio disks in PCI order, which is cfg's order: vda first */
	for (size_t i = 1; i < cfg->ndisks; i++) {
		for (size_t j = i; j > 0; j--) {
			long a = c->disk_target[j - 1] ? vd_index(c->disk_target[j - 1]) : 0;
			long b = c->disk_target[j] ? vd_index(c->disk_target[j]) : 0;
			if (a <= b)
				break;
			struct disk_config t = cfg->disks[j];
			char *tn = c->disk_target[j];
			xmlNodePtr nn = c->disk_node[j];
			cfg->disks[j] = cfg->disks[j - 1];
			c->disk_target[j] = c->disk_target[j - 1];
			c->disk_node[j] = c->disk_node[j - 1];
			cfg->disks[j - 1] = t;
			c->disk_target[j - 1] = tn;
			c->disk_node[j - 1] = nn;
		}
	}
}

