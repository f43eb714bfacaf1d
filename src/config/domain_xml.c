// SPDX-License-Identifier: MIT
/*
 * Domain XML reader: the entry point, the top-level elements (name, uuid,
 * title, description, memory, currentMemory, vcpu, os, on_*) and the checks
 * that need the whole document. The helpers are in domain_xml_util.c, <cpu>,
 * <features>, <clock>, ... in domain_xml_platform.c, <devices> in
 * domain_xml_dev.c and domain_xml_chr.c, the writer in domain_xml_out.c,
 * schema validation in domain_xml_schema.c. docs/domain-xml.md is the list.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "domain_xml_internal.h"

/* ---- sizes ---- */

/* libvirt's units: b, byte(s); K, KiB (1024); KB (1000); ... up to E. */
static bool unit_scale(const char *u, uint64_t *scale)
{
	static const char letters[] = "kmgtpe";
	const char *l;
	char low[8];
	size_t n = strlen(u);

	if (n >= sizeof(low))
		return false;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)(u[i] >= 'A' && u[i] <= 'Z' ? u[i] - 'A' + 'a' : u[i]);
	if (!strcmp(low, "b") || !strcmp(low, "byte") || !strcmp(low, "bytes")) {
		*scale = 1;
		return true;
	}
	if (!low[0] || !(l = strchr(letters, low[0])))
		return false;
	uint64_t base = !strcmp(low + 1, "") || !strcmp(low + 1, "ib") ? 1024 :
		!strcmp(low + 1, "b") ? 1000 : 0;
	if (!base)
		return false;
	*scale = 1;
	for (long i = 0; i <= l - letters; i++)
		*scale *= base;
	return true;
}

/* <memory unit='KiB'>N</memory> and its kind: bytes, or false (reported). */
static bool size_of(struct dx_ctx *c, xmlNodePtr n, uint64_t *bytes)
{
	const char *unit = dx_attr(c, n, "unit");
	const char *text = dx_text(c, n);
	uint64_t scale = 1024, v;

	if (unit && !unit_scale(dx_trim(c, unit), &scale)) {
		dx_err(c, dx_attr_at(n, "unit"), "'%.32s' is not a unit (b, KiB, MiB, GiB, TiB, KB, "
			"MB, ...)", unit);
		return false;
	}
	if (!dx_uint(text, UINT64_MAX, &v)) {
		dx_err(c, n, "'%.64s' is not a whole number%s", dx_trim(c, text),
			unit ? "" : " (of KiB; say another unit with unit='MiB' or 'GiB')");
		return false;
	}
	if (v && scale > UINT64_MAX / v) {
		dx_err(c, n, "'%.64s' is too large", dx_trim(c, text));
		return false;
	}
	*bytes = v * scale;
	return true;
}

/* ---- the top-level elements ---- */

static void e_name(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_text(c, n);
	char why[160];

	c->name_elem = n;
	if (!vm_check_name(s, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	free(c->cfg->name);
	c->cfg->name = dx_strdup(c, n, s);
}

static void e_uuid(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_trim(c, dx_text(c, n));
	char canon[VM_UUID_STR], why[128];
	uint8_t u[VM_UUID_LEN];

	if (!s[0])
		return; /* generated (as libvirt does for an empty or missing <uuid>) */
	if (strlen(s) == 32 && !strchr(s, '-')) {
		/* the schema's other form: 32 hex digits */
		snprintf(canon, sizeof(canon), "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12, s + 16,
			s + 20);
		s = canon;
	}
	if (vm_config_parse_uuid(s, u) < 0) {
		dx_err(c, n, "'%.64s' is not a UUID (8-4-4-4-12 or 32 hexadecimal digits)",
			dx_trim(c, dx_text(c, n)));
		return;
	}
	if (!vm_check_uuid(u, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	memcpy(c->cfg->uuid, u, VM_UUID_LEN);
	c->cfg->has_uuid = true;
}

static void e_title(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_text(c, n);
	char why[160];

	if (!s[0])
		return; /* <title/> is no title, as in libvirt */
	if (!vm_check_title(s, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	c->cfg->title = dx_strdup(c, n, s);
}

static void e_description(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_text(c, n);
	char why[160];

	if (!s[0])
		return;
	if (!vm_check_description(s, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	c->cfg->description = dx_strdup(c, n, s);
}

static void e_memory(struct dx_ctx *c, xmlNodePtr n)
{
	uint64_t bytes;
	char why[160];

	c->memory = n;
	if (!size_of(c, n, &bytes))
		return;
	if (!vm_check_memory(bytes, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	c->cfg->memory = bytes;
	c->memory_ok = true;
}

static void e_current(struct dx_ctx *c, xmlNodePtr n)
{
	c->current = n;
	c->have_current = size_of(c, n, &c->current_bytes);
}

static void e_vcpu(struct dx_ctx *c, xmlNodePtr n)
{
	const char *placement = dx_attr(c, n, "placement");
	const char *current = dx_attr(c, n, "current");
	char why[160];
	uint64_t v, cur;

	c->vcpu = n;
	if (dx_attr(c, n, "cpuset"))
		dx_err(c, dx_attr_at(n, "cpuset"), "pinning vCPUs is not supported (nestvmm leaves "
			"vCPU threads to the host scheduler)");
	if (placement && strcmp(placement, "static"))
		dx_err(c, dx_attr_at(n, "placement"), "'%.32s' is not supported (nestvmm places "
			"nothing: placement='static')", placement);
	if (!dx_uint(dx_text(c, n), INT64_MAX, &v)) {
		dx_err(c, n, "'%.64s' is not a whole number", dx_trim(c, dx_text(c, n)));
		return;
	}
	if (!vm_check_cpus((int64_t)v, why, sizeof(why))) {
		dx_err(c, n, "%s", why);
		return;
	}
	c->cfg->cpus = (unsigned)v;
	if (current && (!dx_uint(current, INT64_MAX, &cur) || cur != v))
		dx_err(c, dx_attr_at(n, "current"), "'%.32s' is not supported: every vCPU is online "
			"from the start (no vCPU hotplug); leave it out or make it %llu", current,
			(unsigned long long)v);
}

/* on_poweroff, on_reboot, on_crash: libvirt's words, and what nestvmm does with them. */
static void e_on_poweroff(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_trim(c, dx_text(c, n));

	if (strcmp(s, "destroy"))
		dx_err(c, n, "'%.32s' is not supported (a guest power-off stops a nestvmm VM: "
			"destroy)", s);
	c->cfg->on_poweroff = ON_POWEROFF_EXIT;
}

static void e_on_reboot(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_trim(c, dx_text(c, n));

	c->on_reboot_given = true;
	if (!strcmp(s, "restart"))
		c->cfg->on_reboot = ON_REBOOT_RESTART;
	else if (!strcmp(s, "destroy"))
		c->cfg->on_reboot = ON_REBOOT_EXIT;
	else
		dx_err(c, n, "'%.32s' is not supported (nestvmm restarts the guest in place or "
			"stops: restart or destroy)", s);
}

static void e_on_crash(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_trim(c, dx_text(c, n));

	if (strcmp(s, "destroy"))
		dx_err(c, n, "'%.32s' is not supported (a guest panic stops a nestvmm VM, which "
			"exits 3: destroy)", s);
	c->cfg->on_crash = ON_CRASH_EXIT;
}

/* ---- <os> ---- */

static void e_os_type(struct dx_ctx *c, xmlNodePtr n)
{
	const char *arch = dx_attr(c, n, "arch");
	const char *s = dx_trim(c, dx_text(c, n));

	(void)dx_attr(c, n, "machine"); /* QEMU's machine type: nestvmm has one machine */
	if (strcmp(s, "hvm"))
		dx_err(c, n, "'%.32s' is not supported (nestvmm runs hardware-virtualized guests: "
			"hvm)", s);
	if (arch && strcmp(arch, "x86_64"))
		dx_err(c, dx_attr_at(n, "arch"), "'%.32s' is not supported (nestvmm runs x86_64 "
			"guests)", arch);
}

static void e_kernel(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_text(c, n);

	c->kernel = n;
	if (!s[0])
		return; /* reported by finish: no kernel */
	if (dx_abs_path(c, n, s))
		c->cfg->kernel = dx_strdup(c, n, s);
}

static void e_initrd(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_text(c, n);

	if (s[0] && dx_abs_path(c, n, s))
		c->cfg->initrd = dx_strdup(c, n, s);
}

static void e_cmdline(struct dx_ctx *c, xmlNodePtr n)
{
	free(c->cfg->cmdline);
	c->cfg->cmdline = dx_strdup(c, n, dx_text(c, n));
}

static void e_bootmenu(struct dx_ctx *c, xmlNodePtr n)
{
	const char *en = dx_attr(c, n, "enable");

	if (en && strcmp(en, "no"))
		dx_err(c, dx_attr_at(n, "enable"), "'%.32s' is not supported (nestvmm boots the "
			"kernel directly: there is no boot menu)", en);
}

static void e_boot(struct dx_ctx *c, xmlNodePtr n)
{
	(void)dx_attr(c, n, "dev"); /* firmware boot order: a direct kernel boot has none */
}

static void e_firmware(struct dx_ctx *c, xmlNodePtr n)
{
	dx_err(c, n, "firmware is not supported (nestvmm boots a Linux kernel directly: give "
		"<kernel>)");
	dx_mark_tree(n);
}

static const struct dx_elem os_elems[] = {
	{ "type", e_os_type, false },
	{ "kernel", e_kernel, false },
	{ "initrd", e_initrd, false },
	{ "cmdline", e_cmdline, false },
	{ "boot", e_boot, true },
	{ "bootmenu", e_bootmenu, false },
	{ "loader", e_firmware, false },
	{ "nvram", e_firmware, false },
};

static void e_os(struct dx_ctx *c, xmlNodePtr n)
{
	c->os = n;
	dx_children(c, n, os_elems, ARRAY_SIZE(os_elems));
	if (dx_attr(c, n, "firmware"))
		dx_err(c, dx_attr_at(n, "firmware"), "firmware is not supported (nestvmm boots a "
			"Linux kernel directly: give <kernel>)");
}

static const struct dx_elem domain_elems[] = {
	{ "name", e_name, false },
	{ "uuid", e_uuid, false },
	{ "title", e_title, false },
	{ "description", e_description, false },
	{ "memory", e_memory, false },
	{ "currentMemory", e_current, false },
	{ "vcpu", e_vcpu, false },
	{ "os", e_os, false },
	{ "cpu", dx_cpu, false },
	{ "features", dx_features, false },
	{ "clock", dx_clock, false },
	{ "on_poweroff", e_on_poweroff, false },
	{ "on_reboot", e_on_reboot, false },
	{ "on_crash", e_on_crash, false },
	{ "pm", dx_pm, false },
	{ "resource", dx_resource, false },
	{ "seclabel", dx_seclabel, true },
	{ "devices", dx_devices, false },
};

/* ---- the checks that need the whole document ---- */

static void finish(struct dx_ctx *c)
{
	struct vm_config *cfg = c->cfg;
	char why[256];

	if (!cfg->name && !xmlFirstElementChild(c->root)) {
		dx_err(c, c->root, "an empty domain: it needs at least <name>, <memory> and <os> "
			"with a <kernel>");
		return;
	}
	if (!c->name_elem)
		dx_err(c, c->root, "no <name>: a domain needs one");
	if (!c->memory)
		dx_err(c, c->root, "no <memory>: a domain needs one");
	if (!c->os)
		dx_err(c, c->root, "no <os>: nestvmm boots a Linux kernel directly, so it needs "
			"<os><type>hvm</type><kernel>PATH</kernel></os>");
	else if (!cfg->kernel && (!c->kernel || !dx_text(c, c->kernel)[0]))
		dx_err(c, c->kernel ? c->kernel : c->os, "%s: nestvmm boots a Linux kernel "
			"directly (it has no firmware), so it needs the path of a bzImage",
			c->kernel ? "empty" : "no <kernel>");
	if (c->os && !cfg->cmdline)
		cfg->cmdline = dx_strdup(c, c->os, ""); /* libvirt: no <cmdline>, no command line */
	dx_cpu_finish(c);
	if (!c->on_reboot_given)
		cfg->on_reboot = ON_REBOOT_RESTART; /* libvirt's default */
	dx_devices_finish(c);
	if (c->have_current && c->memory_ok) {
		uint64_t cur = c->current_bytes == cfg->memory ? 0 : c->current_bytes;
		if (!vm_check_current_memory(cur, cfg->memory, cfg->balloon, why, sizeof(why)))
			dx_err(c, c->current, "%s", why);
		else
			cfg->current_memory = cur;
	}
	if (!cfg->has_uuid) {
		int r = vm_config_random_uuid(cfg->uuid);
		if (r < 0)
			dx_err(c, c->root, "cannot generate a UUID: %s", strerror(-r));
		cfg->has_uuid = r == 0;
	}
}

int vm_config_from_domain_xml(struct vm_config *cfg, const char *xml, size_t len,
	const char *name_for_messages, struct diag *d)
{
	struct dx_ctx c = { .cfg = cfg, .d = d, .name = name_for_messages, .vmx = -1, .svm = -1,
		.serial = DX_CHR_NONE, .console = DX_CHR_NONE, .virtio_console = DX_CHR_NONE };
	xmlDocPtr doc;
	int rc = 0;

	vm_config_init(cfg);
	cfg->acpi = false; /* libvirt: only with <features><acpi/> */
	doc = dx_parse(xml, len, name_for_messages, d);
	if (!doc)
		return -EINVAL;
	c.root = xmlDocGetRootElement(doc);
	if (!c.root || !dx_is_elem(c.root, "domain")) {
		diag_add(d, name_for_messages, 0, 0, "/%s: the document is not a <domain>",
			c.root ? (const char *)c.root->name : "");
		rc = -EINVAL;
		goto cleanup;
	}
	const char *type = dx_attr(&c, c.root, "type");
	if (!type)
		dx_err(&c, c.root, "no type: nestvmm runs type='kvm' domains");
	else if (strcmp(type, "kvm"))
		dx_err(&c, dx_attr_at(c.root, "type"), "'%.32s' is not supported (nestvmm is a KVM "
			"hypervisor: type='kvm')", type);
	(void)dx_attr(&c, c.root, "id"); /* a running domain's id: not part of a definition */
	dx_children(&c, c.root, domain_elems, ARRAY_SIZE(domain_elems));
	finish(&c);
	dx_refuse_rest(&c, c.root);
	if (c.oom) {
		rc = -ENOMEM;
	} else if (c.errors) {
		rc = -EINVAL;
	} else {
		struct diag v;
		diag_init(&v);
		rc = vm_config_validate(cfg, &v);
		for (size_t i = 0; i < v.n; i++)
			diag_add(d, name_for_messages, 0, 0, "%s", v.msgs[i]);
		diag_free(&v);
	}
cleanup:
	for (size_t i = 0; i < c.nstrs; i++)
		xmlFree(c.strs[i]);
	free(c.strs);
	for (size_t i = 0; i < VM_MAX_DISKS; i++)
		free(c.disk_target[i]);
	xmlFreeDoc(doc);
	return rc;
}
