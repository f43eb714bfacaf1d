// SPDX-License-Identifier: MIT
/*
 * Domain XML reader, the rest of <devices>: the serial port and the
 * consoles, memballoon, rng, and the devices that change nothing for nestvmm
 * (ps2 input, video none, controllers, the isa panic device); what is
 * settled once the walk is over (the console, libvirt's default memballoon,
 * MACs). Disks and NICs are in domain_xml_dev.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_xml_internal.h"

static void e_alias_ignored(struct dx_ctx *c, xmlNodePtr n)
{
	(void)dx_attr(c, n, "name");
}

/* ---- <serial>, <console> ---- */

static enum dx_chardev chardev(struct dx_ctx *c, xmlNodePtr n)
{
	const char *t = dx_attr(c, n, "type");
	static const char *const types[] = { [DX_CHR_PTY] = "pty", [DX_CHR_FILE] = "file",
		[DX_CHR_STDIO] = "stdio", [DX_CHR_NULL] = "null" };

	for (size_t i = 0; t && i < ARRAY_SIZE(types); i++)
		if (!strcmp(t, types[i]))
			return (enum dx_chardev)i;
	dx_err(c, t ? dx_attr_at(n, "type") : (const void *)n, "'%.32s' is not supported "
		"(nestvmm's console is a pty, a file, stdio or null)", t ? t : "");
	return DX_CHR_NONE;
}

/* <source> of a chardev: a file needs its path and append='on'; a pty's is live state. */
static const char *chardev_source(struct dx_ctx *c, xmlNodePtr n, enum dx_chardev t)
{
	xmlNodePtr s = dx_child(n, "source");
	const char *path = NULL;

	if (s && t == DX_CHR_PTY) {
		dx_mark(s);
		(void)dx_attr(c, s, "path"); /* the pty a running domain got */
	} else if (s && t == DX_CHR_FILE) {
		const char *append = dx_attr(c, s, "append");
		dx_mark(s);
		path = dx_attr(c, s, "path");
		if (!path)
			dx_err(c, s, "no path='...' for the file");
		else if (!dx_abs_path(c, dx_attr_at(s, "path"), path))
			path = NULL;
		if (!append || strcmp(append, "on"))
			dx_err(c, append ? dx_attr_at(s, "append") : (const void *)s, "nestvmm appends "
				"to the file, keeping what is there: say append='on'");
	} else if (t == DX_CHR_FILE) {
		dx_err(c, n, "no <source path='...' append='on'/> for the file");
	}
	return path;
}

/* <target port='0' type='isa-serial'><model name='isa-serial'/></target> and console's. */
static const char *chardev_target(struct dx_ctx *c, xmlNodePtr n)
{
	const char *type = NULL;

	for (xmlNodePtr t = xmlFirstElementChild(n); t; t = xmlNextElementSibling(t)) {
		if (t->ns || strcmp((const char *)t->name, "target"))
			continue;
		const char *port = dx_attr(c, t, "port");
		uint64_t p;
		dx_mark(t);
		type = dx_attr(c, t, "type");
		if (port && (!dx_uint(port, 64, &p) || p != 0))
			dx_err(c, dx_attr_at(t, "port"), "'%.32s' is not supported (nestvmm has one serial "
				"port: port='0')", port);
		for (xmlNodePtr m = xmlFirstElementChild(t); m; m = xmlNextElementSibling(m)) {
			if (!m->ns && !strcmp((const char *)m->name, "model")) {
				const char *mn = dx_attr(c, m, "name");
				dx_mark(m);
				if (!dx_is_one_of(mn, "isa-serial", NULL))
					dx_err(c, m, "model '%.32s' is not supported (nestvmm's serial port is "
						"a 16550A on the ISA bus: isa-serial)", mn ? mn : "");
			}
		}
	}
	return type;
}

/* A device nestvmm keeps no alias for: libvirt's alias names it only while it runs. */
static void mark_alias(struct dx_ctx *c, xmlNodePtr n)
{
	xmlNodePtr a = dx_child(n, "alias");

	if (a) {
		dx_mark(a);
		e_alias_ignored(c, a);
	}
}

static void e_serial(struct dx_ctx *c, xmlNodePtr n)
{
	if (c->nserial++) {
		dx_err(c, n, "a second serial port is not supported (nestvmm has one: COM1, ttyS0)");
		dx_mark_tree(n);
		return;
	}
	c->serial_node = n;
	c->serial = chardev(c, n);
	if (c->serial == DX_CHR_NONE) {
		dx_mark_tree(n);
		return;
	}
	c->serial_path = chardev_source(c, n, c->serial);
	const char *tt = chardev_target(c, n);
	if (tt && strcmp(tt, "isa-serial"))
		dx_err(c, n, "target type '%.32s' is not supported (nestvmm's serial port is "
			"isa-serial)", tt);
	mark_alias(c, n);
}

static void e_console(struct dx_ctx *c, xmlNodePtr n)
{
	enum dx_chardev t = chardev(c, n);
	const char *path = NULL, *tt;

	if (t == DX_CHR_NONE) {
		dx_mark_tree(n);
		return;
	}
	tt = chardev_target(c, n);
	(void)dx_attr(c, n, "tty"); /* a running domain's pty */
	mark_alias(c, n);
	if (tt && !strcmp(tt, "virtio")) {
		/* nestvmm's hvc0 has no stream of its own: a file source must be the serial's */
		if (t != DX_CHR_FILE || dx_child(n, "source"))
			path = chardev_source(c, n, t);
		if (c->virtio_console_node) {
			dx_err(c, n, "a second virtio console is not supported");
			return;
		}
		c->virtio_console_node = n;
		c->virtio_console = t;
		c->virtio_console_path = path;
		return;
	}
	path = chardev_source(c, n, t);
	if (tt && strcmp(tt, "serial")) {
		dx_err(c, n, "target type '%.32s' is not supported (a nestvmm console is the serial "
			"port, or a virtio console sharing its stream)", tt);
		return;
	}
	if (c->console_node) {
		dx_err(c, n, "a second console on the serial port is not supported (nestvmm has one "
			"serial port)");
		return;
	}
	c->console_node = n;
	c->console = t;
	c->console_path = path;
}

/* ---- memballoon, rng, and what changes nothing ---- */

static void e_memballoon(struct dx_ctx *c, xmlNodePtr n)
{
	const char *m = dx_attr(c, n, "model");
	const char *ad = dx_attr(c, n, "autodeflate");

	c->have_balloon = true;
	mark_alias(c, n);
	if (dx_is_one_of(m, "virtio", "virtio-non-transitional")) {
		c->cfg->balloon = true;
	} else if (dx_is_one_of(m, "none", NULL)) {
		c->cfg->balloon = false;
	} else {
		dx_err(c, m ? dx_attr_at(n, "model") : (const void *)n, "'%.32s' is not supported "
			"(nestvmm's balloon is modern virtio: model='virtio' or 'none')", m ? m : "");
		return;
	}
	if (ad && strcmp(ad, "on"))
		dx_err(c, dx_attr_at(n, "autodeflate"), "'%.32s' is not supported (nestvmm's balloon "
			"always lets the guest deflate under memory pressure: autodeflate='on')", ad);
}

static void e_rng_backend(struct dx_ctx *c, xmlNodePtr n)
{
	const char *m = dx_attr(c, n, "model");
	const char *src = dx_trim(c, dx_text(c, n));

	if (dx_is_one_of(m, "builtin", NULL) && !src[0])
		return;
	if (dx_is_one_of(m, "random", NULL) && (!src[0] || dx_is_one_of(src, "/dev/urandom",
			"/dev/random")))
		return;
	dx_err(c, n, "backend model '%.32s'%s%.64s is not supported (nestvmm's virtio-rng reads "
		"the host kernel's random source, getrandom: model='random' with /dev/urandom or "
		"/dev/random, or model='builtin')", m ? m : "", src[0] ? " " : "", src);
	dx_mark_tree(n);
}

static const struct dx_elem rng_elems[] = {
	{ "backend", e_rng_backend, false },
	{ "alias", e_alias_ignored, false },
};

static void e_rng(struct dx_ctx *c, xmlNodePtr n)
{
	const char *m = dx_attr(c, n, "model");

	if (c->nrng++) {
		dx_err(c, n, "a second rng device is not supported (nestvmm has one virtio-rng)");
		dx_mark_tree(n);
		return;
	}
	if (!dx_is_one_of(m, "virtio", "virtio-non-transitional"))
		dx_err(c, m ? dx_attr_at(n, "model") : (const void *)n, "'%.32s' is not supported "
			"(nestvmm's rng is modern virtio: model='virtio')", m ? m : "");
	dx_children(c, n, rng_elems, ARRAY_SIZE(rng_elems));
	c->cfg->rng = true;
}

static void e_input(struct dx_ctx *c, xmlNodePtr n)
{
	const char *t = dx_attr(c, n, "type");
	const char *bus = dx_attr(c, n, "bus");

	mark_alias(c, n);
	if (dx_is_one_of(t, "mouse", "keyboard") && (!bus || !strcmp(bus, "ps2")))
		return; /* the i8042 is there; nothing ever types or moves */
	dx_err(c, n, "input type '%.32s' bus '%.32s' is not supported (nestvmm has a PS/2 "
		"controller and nothing else: only ps2 mouse and keyboard, which do nothing)",
		t ? t : "", bus ? bus : "");
	dx_mark_tree(n);
}

static void e_video(struct dx_ctx *c, xmlNodePtr n)
{
	xmlNodePtr m = xmlFirstElementChild(n);
	const char *t = m && !m->ns && !strcmp((const char *)m->name, "model") ?
		dx_attr(c, m, "type") : NULL;

	if (dx_is_one_of(t, "none", NULL) && !xmlNextElementSibling(m)) {
		dx_mark(m);
		return;
	}
	dx_err(c, n, "nestvmm has no display device (only <video><model type='none'/></video>)");
	dx_mark_tree(n);
}

static void e_controller(struct dx_ctx *c, xmlNodePtr n)
{
	static const char *const empty[] = { "usb", "ide", "sata", "fdc", "virtio-serial" };
	const char *t = dx_attr(c, n, "type");
	const char *m = dx_attr(c, n, "model");

	for (size_t i = 0; t && i < ARRAY_SIZE(empty); i++) {
		if (!strcmp(t, empty[i])) {
			dx_mark_tree(n); /* nothing can sit on it: every such device is refused */
			return;
		}
	}
	if (dx_is_one_of(t, "pci", NULL) && dx_is_one_of(m, "pci-root", NULL)) {
		dx_mark_tree(n); /* nestvmm's one PCI bus */
		return;
	}
	dx_err(c, n, "controller type '%.32s'%s%.32s is not supported (nestvmm has one "
		"conventional PCI bus, pci-root, and no SCSI, PCIe or xenbus)", t ? t : "",
		m ? " model " : "", m ? m : "");
	dx_mark_tree(n);
}

static void e_panic(struct dx_ctx *c, xmlNodePtr n)
{
	const char *m = dx_attr(c, n, "model");

	if (!m || !strcmp(m, "isa")) {
		xmlNodePtr a = xmlFirstElementChild(n);
		const char *io = a ? dx_attr(c, a, "iobase") : NULL;
		if (a && !a->ns && !strcmp((const char *)a->name, "address") && io &&
				!strcmp(io, "0x505") && !xmlNextElementSibling(a)) {
			dx_mark(a);
			(void)dx_attr(c, a, "type");
		}
		return; /* nestvmm always has pvpanic at 0x505 */
	}
	dx_err(c, dx_attr_at(n, "model"), "'%.32s' is not supported (nestvmm's panic device is "
		"pvpanic on I/O port 0x505: model='isa')", m);
}

static void e_emulator(struct dx_ctx *c, xmlNodePtr n)
{
	(void)dx_text(c, n); /* QEMU's binary: nestvmm is the emulator */
}

static const struct dx_elem device_elems[] = {
	{ "emulator", e_emulator, false },
	{ "disk", dx_disk, true },
	{ "interface", dx_interface, true },
	{ "serial", e_serial, true },
	{ "console", e_console, true },
	{ "memballoon", e_memballoon, false },
	{ "rng", e_rng, true },
	{ "input", e_input, true },
	{ "video", e_video, true },
	{ "controller", e_controller, true },
	{ "panic", e_panic, true },
};

void dx_devices(struct dx_ctx *c, xmlNodePtr n)
{
	dx_children(c, n, device_elems, ARRAY_SIZE(device_elems));
}

/* ---- settled at the end ---- */

static void settle_console(struct dx_ctx *c)
{
	static const enum console_mode mode[] = { [DX_CHR_PTY] = CONSOLE_PTY,
		[DX_CHR_FILE] = CONSOLE_FILE, [DX_CHR_STDIO] = CONSOLE_STDIO,
		[DX_CHR_NULL] = CONSOLE_NONE };
	struct vm_config *cfg = c->cfg;
	enum dx_chardev t = c->serial_node ? c->serial : c->console;
	const char *path = c->serial_node ? c->serial_path : c->console_path;

	/* libvirt: the console on serial port 0 is that serial port, with its settings */
	if (c->serial_node && c->console_node && c->serial != DX_CHR_NONE &&
			(c->serial != c->console || (c->console_path && c->serial_path &&
			strcmp(c->console_path, c->serial_path))))
		dx_err(c, c->console_node, "its %s differs from the serial port's (the console is "
			"serial port 0: give both the same)", c->serial != c->console ? "type" : "file");
	if (c->virtio_console_node && !c->serial_node && !c->console_node)
		dx_err(c, c->virtio_console_node, "nestvmm's virtio console shares the serial port's "
			"stream: add <serial type='pty'/>");
	else if (c->virtio_console_node && (c->virtio_console != t || (c->virtio_console_path &&
			(!path || strcmp(path, c->virtio_console_path)))))
		dx_err(c, c->virtio_console_node, "its %s differs from the serial port's (nestvmm's "
			"virtio console shares the serial port's stream)", c->virtio_console != t ?
			"type" : "file");
	else if (c->virtio_console_node)
		cfg->virtio_console = true;
	if (!c->serial_node && !c->console_node) {
		cfg->console = CONSOLE_NONE;
		return;
	}
	if (t == DX_CHR_NONE)
		return;
	cfg->console = mode[t];
	if (t == DX_CHR_FILE && path)
		cfg->console_path = dx_strdup(c, c->serial_node ? c->serial_node : c->console_node, path);
}

void dx_devices_finish(struct dx_ctx *c)
{
	struct vm_config *cfg = c->cfg;

	dx_disks_finish(c);
	settle_console(c);
	if (!c->have_balloon)
		cfg->balloon = true; /* libvirt adds a virtio memballoon when there is none */
	for (size_t i = 0; i < cfg->nnets; i++) {
		if (cfg->nets[i].has_mac)
			continue;
		int r = vm_config_random_mac(cfg->nets[i].mac);
		if (r < 0)
			dx_err(c, c->root, "cannot generate a MAC address: %s", strerror(-r));
		cfg->nets[i].has_mac = r == 0;
	}
}
