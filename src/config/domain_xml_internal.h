/* SPDX-License-Identifier: MIT */
/*
 * Shared by the domain XML reader's files (domain_xml.c: the document, the
 * top-level elements and the final checks; domain_xml_util.c: helpers;
 * domain_xml_platform.c: cpu, features, clock, ...; domain_xml_dev.c: disks
 * and NICs; domain_xml_chr.c: the rest of <devices>), the writer
 * (domain_xml_out.c) and the validator (domain_xml_schema.c); not public.
 *
 * Every element and attribute the reader looks at is marked (its _private
 * pointer); what is left unmarked at the end is refused with its XPath, so
 * nothing in the document can be dropped without a word.
 */
#ifndef NV_DOMAIN_XML_INTERNAL_H
#define NV_DOMAIN_XML_INTERNAL_H

#include <libxml/tree.h>

#include "domain_xml.h"
#include "vm_config_internal.h"

enum dx_chardev { DX_CHR_NONE = -1, DX_CHR_PTY, DX_CHR_FILE, DX_CHR_STDIO, DX_CHR_NULL };

struct dx_ctx {
	struct vm_config *cfg;
	struct diag *d;
	const char *name;  /* for messages, or NULL */
	unsigned errors;
	bool oom;
	xmlChar **strs;    /* strings the reader made, freed at the end */
	size_t nstrs, capstrs;

	/* what the walk found; settled once it is done (dx_finish, dx_devices_finish) */
	xmlNodePtr root, name_elem, os, memory, current, vcpu, topology, kernel;
	uint64_t current_bytes;
	bool have_current, memory_ok;
	unsigned topo_sockets, topo_dies, topo_cores, topo_threads;
	int vmx, svm;      /* policy (enum in domain_xml.c) or -1 */
	xmlNodePtr vmx_node, svm_node;
	bool on_reboot_given;
	bool have_balloon;
	unsigned nrng, ndisk_elems, nnet_elems;
	char *disk_target[VM_MAX_DISKS];
	xmlNodePtr disk_node[VM_MAX_DISKS];
	/* the serial port and the consoles */
	unsigned nserial;
	enum dx_chardev serial, console;
	xmlNodePtr serial_node, console_node, virtio_console_node;
	const char *serial_path, *console_path, *virtio_console_path;
	enum dx_chardev virtio_console;
};

/* An element's handler, for dx_children. */
struct dx_elem {
	const char *name;
	void (*fn)(struct dx_ctx *c, xmlNodePtr n);
	bool many;         /* false: a second one is refused */
};

/* Reports "NAME: XPATH(node): message"; node is an element or an attribute. */
void dx_err(struct dx_ctx *c, const void *node, const char *fmt, ...) NV_PRINTF(3, 4);
/* Marks node (element, attribute or text) as read. */
void dx_mark(const void *node);
/* Marks n with all its attributes and descendants: accepted as a whole. */
void dx_mark_tree(xmlNodePtr n);
/* The value of n's attribute (no namespace), marked; NULL when absent. */
const char *dx_attr(struct dx_ctx *c, xmlNodePtr n, const char *name);
/* The attribute node itself (for messages), or n when absent. */
const void *dx_attr_at(xmlNodePtr n, const char *name);
/* n's text (its text children, marked), "" when empty. */
const char *dx_text(struct dx_ctx *c, xmlNodePtr n);
/* s without leading and trailing white space. */
const char *dx_trim(struct dx_ctx *c, const char *s);
/* A copy of s the context frees; NULL without memory (reported). */
const char *dx_keep(struct dx_ctx *c, xmlChar *s);
/* strdup, with out-of-memory reported at node. */
char *dx_strdup(struct dx_ctx *c, const void *node, const char *s);
/* A decimal number (white space around it allowed) up to max; false otherwise. */
bool dx_uint(const char *s, uint64_t max, uint64_t *out);
/* An absolute path, or an error at node ("what" names it); false then. */
bool dx_abs_path(struct dx_ctx *c, const void *node, const char *s);
/* Calls the handler of each child element of n that t names, marking it. */
void dx_children(struct dx_ctx *c, xmlNodePtr n, const struct dx_elem *t, size_t nt);
/* Whether n is an element called name, in no namespace. */
bool dx_is_elem(const xmlNode *n, const char *name);
/* s is a or b (b may be NULL); false for s NULL. */
bool dx_is_one_of(const char *s, const char *a, const char *b);
/* n's first child element called name (no namespace), or NULL. */
xmlNodePtr dx_child(xmlNodePtr n, const char *name);
/* Refuses every element, attribute and text below n that no handler read. */
void dx_refuse_rest(struct dx_ctx *c, xmlNodePtr n);

/*
 * Parses a document (no DTD, no network); NULL with the parse error in d,
 * "NAME:LINE:COL: message" (NAME NULL: "(domain_definition)", as libvirt says).
 */
xmlDocPtr dx_parse(const char *xml, size_t len, const char *name, struct diag *d);

/* <cpu>, <features>, <clock>, <pm>, <resource>, <seclabel> (domain_xml_platform.c). */
void dx_cpu(struct dx_ctx *c, xmlNodePtr n);
void dx_features(struct dx_ctx *c, xmlNodePtr n);
void dx_clock(struct dx_ctx *c, xmlNodePtr n);
void dx_pm(struct dx_ctx *c, xmlNodePtr n);
void dx_resource(struct dx_ctx *c, xmlNodePtr n);
void dx_seclabel(struct dx_ctx *c, xmlNodePtr n);
/* The CPU topology against <vcpu>, and nested from the vmx and svm policies. */
void dx_cpu_finish(struct dx_ctx *c);

/* <disk> and <interface> (domain_xml_dev.c); disk order and duplicate targets. */
void dx_disk(struct dx_ctx *c, xmlNodePtr n);
void dx_interface(struct dx_ctx *c, xmlNodePtr n);
void dx_disks_finish(struct dx_ctx *c);

/* <devices> (domain_xml_chr.c), and what is settled when the walk is over. */
void dx_devices(struct dx_ctx *c, xmlNodePtr n);
void dx_devices_finish(struct dx_ctx *c);

#endif
