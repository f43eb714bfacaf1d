// SPDX-License-Identifier: MIT
/*
 * Domain XML reader, the helpers its element handlers share: messages with
 * XPaths, marks, attributes and text, numbers, the child-element dispatch,
 * parsing, and the refusal of everything the handlers left unread (with a
 * reason where there is a known one).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "domain_xml_internal.h"

static const char dx_read = 1; /* the mark: its address, in a node's _private */

void domain_xml_init(void)
{
	xmlInitParser();
}

void dx_err(struct dx_ctx *c, const void *node, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	xmlChar *path = xmlGetNodePath((const xmlNode *)node);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(c->d, c->name, 0, 0, "%s: %s", path ? (const char *)path : "/domain", msg);
	xmlFree(path);
	c->errors++;
}

void dx_mark(const void *node)
{
	if (node)
		((xmlNodePtr)(uintptr_t)node)->_private = (void *)(uintptr_t)&dx_read;
}

static bool marked(const void *node)
{
	return ((const xmlNode *)node)->_private == &dx_read;
}

void dx_mark_tree(xmlNodePtr n)
{
	dx_mark(n);
	for (xmlAttrPtr a = n->properties; a; a = a->next)
		dx_mark(a);
	for (xmlNodePtr k = n->children; k; k = k->next)
		dx_mark_tree(k);
}

const char *dx_keep(struct dx_ctx *c, xmlChar *s)
{
	if (!s) {
		c->oom = true;
		return NULL;
	}
	if (c->nstrs == c->capstrs) {
		size_t cap = c->capstrs ? c->capstrs * 2 : 16;
		xmlChar **n = realloc(c->strs, cap * sizeof(*n));
		if (!n) {
			xmlFree(s);
			c->oom = true;
			return NULL;
		}
		c->strs = n;
		c->capstrs = cap;
	}
	c->strs[c->nstrs++] = s;
	return (const char *)s;
}

char *dx_strdup(struct dx_ctx *c, const void *node, const char *s)
{
	char *r = strdup(s);
	if (!r) {
		c->oom = true;
		dx_err(c, node, "out of memory");
	}
	return r;
}

const void *dx_attr_at(xmlNodePtr n, const char *name)
{
	xmlAttrPtr a = xmlHasNsProp(n, BAD_CAST name, NULL);
	return a ? (const void *)a : (const void *)n;
}

const char *dx_attr(struct dx_ctx *c, xmlNodePtr n, const char *name)
{
	xmlAttrPtr a = xmlHasNsProp(n, BAD_CAST name, NULL);

	if (!a || a->type != XML_ATTRIBUTE_NODE)
		return NULL;
	dx_mark(a);
	if (!a->children)
		return "";
	if (a->children->type == XML_TEXT_NODE && !a->children->next)
		return (const char *)a->children->content;
	return dx_keep(c, xmlNodeListGetString(n->doc, a->children, 1));
}

const char *dx_text(struct dx_ctx *c, xmlNodePtr n)
{
	xmlNodePtr only = NULL;
	size_t ntext = 0;

	for (xmlNodePtr k = n->children; k; k = k->next) {
		if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) {
			dx_mark(k);
			only = k;
			ntext++;
		}
	}
	if (!ntext)
		return "";
	if (ntext == 1)
		return (const char *)only->content;
	xmlBufferPtr b = xmlBufferCreate();
	for (xmlNodePtr k = n->children; b && k; k = k->next)
		if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE)
			xmlBufferCat(b, k->content);
	const char *s = b ? dx_keep(c, xmlStrdup(xmlBufferContent(b))) : NULL;
	xmlBufferFree(b);
	if (!b)
		c->oom = true;
	return s ? s : "";
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

const char *dx_trim(struct dx_ctx *c, const char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n && is_space(s[n - 1]))
		n--;
	if (!s[n])
		return s;
	const char *r = dx_keep(c, xmlStrndup(BAD_CAST s, (int)n));
	return r ? r : "";
}

bool dx_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	while (is_space(*p))
		p++;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	while (is_space(*p))
		p++;
	if (*p)
		return false;
	*out = v;
	return true;
}

bool dx_abs_path(struct dx_ctx *c, const void *node, const char *s)
{
	if (s[0] == '/')
		return true;
	if (!s[0])
		dx_err(c, node, "an empty path");
	else
		dx_err(c, node, "'%.200s' is not an absolute path (the daemon's working directory "
			"means nothing to a domain)", s);
	return false;
}

bool dx_is_one_of(const char *s, const char *a, const char *b)
{
	return s && (!strcmp(s, a) || (b && !strcmp(s, b)));
}

xmlNodePtr dx_child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr k = xmlFirstElementChild(n); k; k = xmlNextElementSibling(k))
		if (!k->ns && !strcmp((const char *)k->name, name))
			return k;
	return NULL;
}

bool dx_is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

void dx_children(struct dx_ctx *c, xmlNodePtr n, const struct dx_elem *t, size_t nt)
{
	unsigned seen[32] = { 0 };

	for (xmlNodePtr k = n->children; k; k = k->next) {
		for (size_t i = 0; i < nt && i < ARRAY_SIZE(seen); i++) {
			if (!dx_is_elem(k, t[i].name))
				continue;
			dx_mark(k);
			if (seen[i]++ && !t[i].many) {
				dx_err(c, k, "a second <%s> (there can be only one)", t[i].name);
				dx_mark_tree(k);
			} else if (t[i].fn) {
				t[i].fn(c, k);
			}
			break;
		}
	}
}

/* ---- what is left: refused, with a reason where there is a known one ---- */

static const struct {
	const char *name, *why;
} reasons[] = {
	{ "maxMemory", "the guest has its <memory> from boot, with no memory hotplug" },
	{ "memoryBacking", "nestvmm backs guest RAM with anonymous memory (transparent huge "
		"pages advised); huge pages, file or shared backing are not configurable" },
	{ "memtune", "nestvmm does no resource tuning (put the VMs in a cgroup)" },
	{ "blkiotune", "nestvmm does no resource tuning (put the VMs in a cgroup)" },
	{ "cputune", "nestvmm does no resource tuning or pinning" },
	{ "numatune", "nestvmm does no NUMA placement" },
	{ "iothreads", "virtio-blk has one I/O thread per disk, not configurable" },
	{ "vcpus", "nestvmm has no per-vCPU settings (hotplug, order)" },
	{ "sysinfo", "nestvmm provides no SMBIOS tables" },
	{ "bootloader", "nestvmm boots a kernel directly, with no boot loader" },
	{ "metadata", "nestvmm does not keep application metadata" },
	{ "genid", "nestvmm has no VM generation ID device" },
	{ "launchSecurity", "nestvmm runs no confidential guests (SEV, TDX)" },
	{ "kvm", "nestvmm has no KVM tweaks (hidden, hint-dedicated, ...)" },
	{ "hyperv", "nestvmm offers no Hyper-V enlightenments" },
	{ "commandline", "QEMU command-line passthrough means nothing to nestvmm" },
	{ "address", "nestvmm places devices itself, leave it out" },
	{ "graphics", "nestvmm has no display; the guest's console is the serial port (virsh "
		"console)" },
	{ "sound", "nestvmm has no sound device" },
	{ "hostdev", "nestvmm does not pass host devices through" },
	{ "channel", "nestvmm has no virtio-serial channels (no guest agent channel)" },
	{ "watchdog", "nestvmm has no watchdog device" },
	{ "tpm", "nestvmm has no TPM" },
	{ "filesystem", "nestvmm has no shared folders (virtio-fs, 9p)" },
	{ "smartcard", "nestvmm has no USB" },
	{ "redirdev", "nestvmm has no USB" },
	{ "hub", "nestvmm has no USB" },
	{ "parallel", "nestvmm has no parallel port" },
	{ "vsock", "nestvmm has no vsock device" },
	{ "iommu", "nestvmm has no IOMMU" },
	{ "shmem", "nestvmm has no shared-memory device" },
	{ "driver", "nestvmm's device drivers have no settings (queues, vhost, iommu, ...)" },
};

void dx_refuse_rest(struct dx_ctx *c, xmlNodePtr n)
{
	for (xmlAttrPtr a = n->properties; a; a = a->next)
		if (!marked(a))
			dx_err(c, a, "not supported by nestvmm (docs/domain-xml.md lists what it "
				"honours)");
	for (xmlNodePtr k = n->children; k; k = k->next) {
		if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) {
			const char *t = (const char *)k->content;
			while (t && is_space(*t))
				t++;
			if (!marked(k) && t && *t)
				dx_err(c, n, "unexpected text '%.40s'", dx_trim(c, t));
			continue;
		}
		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (marked(k)) {
			dx_refuse_rest(c, k);
			continue;
		}
		const char *why = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
			if (!strcmp((const char *)k->name, reasons[i].name))
				why = reasons[i].why;
		const char *pfx = k->ns && k->ns->prefix ? (const char *)k->ns->prefix : "";
		if (why)
			dx_err(c, k, "<%s%s%s> is not supported: %s", pfx, pfx[0] ? ":" : "",
				(const char *)k->name, why);
		else
			dx_err(c, k, "<%s%s%s> is not supported by nestvmm (docs/domain-xml.md lists "
				"what it honours)", pfx, pfx[0] ? ":" : "", (const char *)k->name);
	}
}

/* The first error libxml2 reports (the later ones follow from it). */
struct first_error {
	bool have;
	int line, col;
	char msg[512];
};

static void first_error(void *data, xmlErrorPtr e)
{
	struct first_error *f = ((xmlParserCtxtPtr)data)->_private;

	if (f->have || !e)
		return;
	f->have = true;
	f->line = e->line;
	f->col = e->int2;
	snprintf(f->msg, sizeof(f->msg), "%s", e->message ? e->message : "not XML");
	f->msg[strcspn(f->msg, "\n")] = 0;
}

/* Parses xml; the parse error in d when it is not well formed. */
static xmlDocPtr parse(const char *xml, size_t len, const char *name, struct diag *d)
{
	struct first_error f = { 0 };
	xmlParserCtxtPtr p;
	xmlDocPtr doc = NULL;

	if (len > INT_MAX) {
		diag_add(d, name, 0, 0, "the document is too large (%zu bytes)", len);
		return NULL;
	}
	p = xmlNewParserCtxt();
	if (!p) {
		diag_add(d, name, 0, 0, "out of memory");
		return NULL;
	}
	p->_private = &f;       /* per parse: no global error handler */
	p->sax->serror = first_error;
	doc = xmlCtxtReadMemory(p, xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
		XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		diag_add(d, name, f.line > 0 ? f.line : 1, f.col > 0 ? f.col : 1, "%s",
			f.have ? f.msg : "not XML");
	} else if (doc->intSubset) {
		diag_add(d, name, 1, 1, "a DOCTYPE is not accepted in domain XML");
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(p);
	return doc;
}

xmlDocPtr dx_parse(const char *xml, size_t len, const char *name, struct diag *d)
{
	return parse(xml, len, name ? name : "(domain_definition)", d);
}
