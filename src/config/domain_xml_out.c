// SPDX-License-Identifier: MIT
/*
 * Domain XML writer: vm_config (plus a running domain's state) as libvirt
 * would show it, in the form the reader (domain_xml.c) reads back into an
 * equal vm_config. libxml2's xmlTextWriter writes it and escapes text; single
 * quotes (escaped here) and two-space indentation, as virsh dumpxml prints.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "domain_xml.h"
#include "vm_config_internal.h"

struct xw {
	xmlTextWriterPtr w;
	int err;
};

static void start(struct xw *x, const char *name)
{
	if (!x->err && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
		x->err = -ENOMEM;
}

static void end(struct xw *x)
{
	if (!x->err && xmlTextWriterEndElement(x->w) < 0)
		x->err = -ENOMEM;
}

/* Every string written was checked by ok() first: XML 1.0 cannot carry them all. */
static bool ok(struct xw *x, const char *s)
{
	if (s && !vmc_utf8_ok(s, true)) {
		x->err = x->err ? x->err : -EILSEQ;
		return false;
	}
	return true;
}

/*
 * An attribute in single quotes, as libvirt writes them. xmlTextWriter does
 * not escape the quote character it was told to use, so the value is escaped
 * here: the markup characters, both quotes, and the white space that
 * attribute-value normalization would turn into spaces.
 */
static void attr(struct xw *x, const char *name, const char *v)
{
	xmlBufferPtr b;

	if (x->err || !ok(x, v))
		return;
	b = xmlBufferCreate();
	for (const char *p = v; b && *p; p++) {
		const char *e = NULL;
		switch (*p) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '\'': e = "&apos;"; break;
		case '"': e = "&quot;"; break;
		case '\n': e = "&#10;"; break;
		case '\r': e = "&#13;"; break;
		case '\t': e = "&#9;"; break;
		default: break;
		}
		if (e)
			xmlBufferCCat(b, e);
		else
			xmlBufferAdd(b, BAD_CAST p, 1);
	}
	if (!b || xmlTextWriterStartAttribute(x->w, BAD_CAST name) < 0 ||
			xmlTextWriterWriteRaw(x->w, xmlBufferContent(b) ? xmlBufferContent(b) :
			BAD_CAST "") < 0 || xmlTextWriterEndAttribute(x->w) < 0)
		x->err = -ENOMEM;
	xmlBufferFree(b);
}

static void attrf(struct xw *x, const char *name, const char *fmt, ...) NV_PRINTF(3, 4);
static void attrf(struct xw *x, const char *name, const char *fmt, ...)
{
	char v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	attr(x, name, v);
}

static void text(struct xw *x, const char *s)
{
	if (!x->err && ok(x, s) && xmlTextWriterWriteString(x->w, BAD_CAST s) < 0)
		x->err = -ENOMEM;
}

/* <name attr='value'>text</name>, attr and text optional. */
static void leaf(struct xw *x, const char *name, const char *a, const char *av, const char *t)
{
	start(x, name);
	if (a)
		attr(x, a, av);
	if (t)
		text(x, t);
	end(x);
}

static void size_elem(struct xw *x, const char *name, uint64_t bytes)
{
	char v[32];

	/* KiB as libvirt writes it; nestvmm's sizes are 4 KiB multiples */
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(bytes / KiB));
	leaf(x, name, "unit", "KiB", v);
}

static void os(struct xw *x, const struct vm_config *cfg)
{
	start(x, "os");
	leaf(x, "type", "arch", "x86_64", "hvm");
	leaf(x, "kernel", NULL, NULL, cfg->kernel);
	if (cfg->initrd)
		leaf(x, "initrd", NULL, NULL, cfg->initrd);
	/* NULL is vmm's default command line; "" is none (an empty <cmdline>, as libvirt) */
	if (!cfg->cmdline || cfg->cmdline[0])
		leaf(x, "cmdline", NULL, NULL, cfg->cmdline ? cfg->cmdline : "console=ttyS0");
	end(x);
}

static void cpu(struct xw *x, const struct vm_config *cfg)
{
	static const char *const policy[] = { [NESTED_OFF] = NULL, [NESTED_AUTO] = "optional",
		[NESTED_ON] = "require" };

	start(x, "cpu");
	attr(x, "mode", "host-passthrough");
	attr(x, "check", "none");
	/* one nested setting whatever the host's vendor: both, with the same policy */
	for (size_t i = 0; (unsigned)cfg->nested <= NESTED_ON && policy[cfg->nested] && i < 2; i++) {
		start(x, "feature");
		attr(x, "policy", policy[cfg->nested]);
		attr(x, "name", i ? "svm" : "vmx");
		end(x);
	}
	end(x);
}

static void disk(struct xw *x, const struct disk_config *dk, size_t i)
{
	char dev[8] = "vd";
	size_t n = 2;

	/* vda..vdz, vdaa..: libvirt's names in the guest's order */
	char tmp[6];
	size_t t = 0;
	for (size_t v = i + 1; v && t < sizeof(tmp); v = (v - 1) / 26)
		tmp[t++] = (char)('a' + (v - 1) % 26);
	while (t)
		dev[n++] = tmp[--t];
	dev[n] = 0;
	start(x, "disk");
	attr(x, "type", "file");
	attr(x, "device", "disk");
	start(x, "driver");
	attr(x, "name", "qemu");
	attr(x, "type", vm_word(VM_WORDS_DISK_FORMAT, (int)dk->format));
	attr(x, "cache", vm_word(VM_WORDS_DISK_CACHE, (int)dk->cache));
	end(x);
	leaf(x, "source", "file", dk->path, NULL);
	start(x, "target");
	attr(x, "dev", dev);
	attr(x, "bus", "virtio");
	end(x);
	if (dk->readonly)
		leaf(x, "readonly", NULL, NULL, NULL);
	if (dk->serial)
		leaf(x, "serial", NULL, NULL, dk->serial);
	if (dk->alias)
		leaf(x, "alias", "name", dk->alias, NULL);
	end(x);
}

static void nic(struct xw *x, const struct net_config *n, const char *live_tap)
{
	start(x, "interface");
	attr(x, "type", n->bridge ? "bridge" : "ethernet");
	if (n->has_mac) {
		start(x, "mac");
		attrf(x, "address", "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
			n->mac[3], n->mac[4], n->mac[5]);
		end(x);
	}
	if (n->bridge)
		leaf(x, "source", "bridge", n->bridge, NULL);
	if (n->tap) {
		/* an existing tap, opened by name (libvirt's unmanaged tap) */
		start(x, "target");
		attr(x, "dev", n->tap);
		attr(x, "managed", "no");
		end(x);
	} else if (live_tap) {
		/* the tap vmm created (nv-tapN): live state, not part of the definition */
		leaf(x, "target", "dev", live_tap, NULL);
	}
	leaf(x, "model", "type", "virtio", NULL);
	if (!n->mac_spoofing)
		leaf(x, "filterref", "filter", "no-mac-spoofing", NULL);
	if (n->alias)
		leaf(x, "alias", "name", n->alias, NULL);
	end(x);
}

static void chardev(struct xw *x, const char *elem, const char *type, const char *path,
	const char *pty, const char *target_type)
{
	start(x, elem);
	attr(x, "type", type);
	if (pty && !strcmp(elem, "console"))
		attr(x, "tty", pty);
	if (path || pty) {
		start(x, "source");
		attr(x, "path", path ? path : pty);
		if (path)
			attr(x, "append", "on");
		end(x);
	}
	start(x, "target");
	if (target_type)
		attr(x, "type", target_type);
	attr(x, "port", "0");
	end(x);
	end(x);
}

static void consoles(struct xw *x, const struct vm_config *cfg, const char *pty)
{
	static const char *const type[] = { [CONSOLE_STDIO] = "stdio", [CONSOLE_PTY] = "pty",
		[CONSOLE_FILE] = "file", [CONSOLE_NONE] = NULL };
	const char *t = (unsigned)cfg->console <= CONSOLE_NONE ? type[cfg->console] : NULL;
	const char *path = cfg->console == CONSOLE_FILE ? cfg->console_path : NULL;

	if (!t)
		return; /* no serial port in the XML: its output goes nowhere */
	if (cfg->console != CONSOLE_PTY)
		pty = NULL;
	chardev(x, "serial", t, path, pty, NULL);
	chardev(x, "console", t, path, pty, "serial");
	if (cfg->virtio_console)
		chardev(x, "console", t, path, NULL, "virtio");
}

int vm_config_to_domain_xml(const struct vm_config *cfg, const struct domain_xml_live *live,
	unsigned flags, char **out)
{
	static const char *const on_reboot[] = { [ON_REBOOT_EXIT] = "destroy",
		[ON_REBOOT_RESTART] = "restart" };
	xmlBufferPtr buf = NULL;
	struct xw x = { 0 };
	char uuid[VM_UUID_STR];

	*out = NULL;
	if ((flags & ~(DOMAIN_XML_SECURE | DOMAIN_XML_INACTIVE)) || !cfg->name || !cfg->kernel)
		return -EINVAL;
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++)
		if (cfg->nets[i].tap && cfg->nets[i].bridge)
			return -EINVAL; /* vmm cannot run it either: it bridges only taps it creates */
	if (flags & DOMAIN_XML_INACTIVE)
		live = NULL;
	buf = xmlBufferCreate();
	x.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	if (!x.w) {
		xmlBufferFree(buf);
		return -ENOMEM;
	}
	if (xmlTextWriterSetIndent(x.w, 1) < 0 || xmlTextWriterSetIndentString(x.w, BAD_CAST "  ") < 0 ||
			xmlTextWriterSetQuoteChar(x.w, '\'') < 0)
		x.err = -ENOMEM;
	start(&x, "domain");
	attr(&x, "type", "kvm");
	if (live && live->id > 0)
		attrf(&x, "id", "%d", live->id);
	leaf(&x, "name", NULL, NULL, cfg->name);
	if (cfg->has_uuid)
		leaf(&x, "uuid", NULL, NULL, vm_config_format_uuid(cfg->uuid, uuid));
	if (cfg->title)
		leaf(&x, "title", NULL, NULL, cfg->title);
	if (cfg->description)
		leaf(&x, "description", NULL, NULL, cfg->description);
	size_elem(&x, "memory", cfg->memory);
	size_elem(&x, "currentMemory", cfg->current_memory ? cfg->current_memory : cfg->memory);
	snprintf(uuid, sizeof(uuid), "%u", cfg->cpus);
	leaf(&x, "vcpu", "placement", "static", uuid);
	os(&x, cfg);
	start(&x, "features");
	if (cfg->acpi)
		leaf(&x, "acpi", NULL, NULL, NULL);
	leaf(&x, "apic", NULL, NULL, NULL);
	end(&x);
	cpu(&x, cfg);
	leaf(&x, "clock", "offset", "utc", NULL);
	leaf(&x, "on_poweroff", NULL, NULL, "destroy");
	leaf(&x, "on_reboot", NULL, NULL,
		(unsigned)cfg->on_reboot <= ON_REBOOT_RESTART ? on_reboot[cfg->on_reboot] : "destroy");
	leaf(&x, "on_crash", NULL, NULL, "destroy");
	start(&x, "devices");
	for (size_t i = 0; i < cfg->ndisks && i < VM_MAX_DISKS; i++)
		disk(&x, &cfg->disks[i], i);
	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++)
		nic(&x, &cfg->nets[i], live ? live->taps[i] : NULL);
	consoles(&x, cfg, live ? live->console_pty : NULL);
	leaf(&x, "memballoon", "model", cfg->balloon ? "virtio" : "none", NULL);
	if (cfg->rng) {
		start(&x, "rng");
		attr(&x, "model", "virtio");
		leaf(&x, "backend", "model", "builtin", NULL);
		end(&x);
	}
	end(&x);
	end(&x);
	if (!x.err && xmlTextWriterEndDocument(x.w) < 0)
		x.err = -ENOMEM;
	xmlFreeTextWriter(x.w); /* flushes into buf */
	if (!x.err) {
		*out = strdup((const char *)xmlBufferContent(buf));
		if (!*out)
			x.err = -ENOMEM;
	}
	xmlBufferFree(buf);
	return x.err;
}
