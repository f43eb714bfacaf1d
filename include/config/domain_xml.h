/* SPDX-License-Identifier: MIT */
/*
 * libvirt domain XML <-> vm_config, with libxml2: what lets stock virsh and
 * the libvirt API define nestvmm VMs (issue 11's virtvmmd). docs/domain-xml.md
 * lists every element and attribute: honoured, accepted and ignored, refused.
 *
 * Reading is strict: an element or attribute nestvmm cannot honour is refused
 * with its XPath and why ("/domain/devices/disk[2]/driver/@type: 'vmdk' is
 * not supported (nestvmm serves raw images here)"), never dropped; the rules
 * every front end shares (vm_check_* of vm_config.h) give the same phrase as
 * the TOML file and the command line. libvirt's defaults apply where the XML
 * says nothing: on_reboot restart, no ACPI without <features><acpi/>, a
 * virtio memballoon without <memballoon>, a UUID and MACs generated.
 *
 * Writing gives what was defined, in libvirt's form, plus the live state when
 * asked (id, tap names, console pty); that output reads back into an equal
 * vm_config.
 */
#ifndef NV_DOMAIN_XML_H
#define NV_DOMAIN_XML_H

#include <stddef.h>

#include "vm_config.h"

/* Where Debian's libvirt0 installs libvirt's RelaxNG schema. */
#define DOMAIN_XML_SCHEMA "/usr/share/libvirt/schemas/domain.rng"

/* vm_config_to_domain_xml flags: the values of libvirt's virDomainXMLFlags. */
#define DOMAIN_XML_SECURE   (1u << 0) /* with secrets: nestvmm keeps none, so no change */
#define DOMAIN_XML_INACTIVE (1u << 1) /* the definition alone, without the live state */

/* A running domain's state, for vm_config_to_domain_xml. */
struct domain_xml_live {
	int id;                        /* the domain id (> 0) */
	const char *taps[VM_MAX_NETS]; /* each NIC's tap as opened; NULL: unknown */
	const char *console_pty;       /* the serial console's pty ("/dev/pts/3"), or NULL */
};

/*
 * libxml2's one-time setup (xmlInitParser). A threaded program calls it once
 * before using the functions below from several threads; the others need not.
 */
void domain_xml_init(void);

/*
 * Reads a <domain> document into cfg, which must hold nothing (fresh, or
 * vm_config_free'd): it is initialised here. Every problem is appended to d,
 * all of them in one pass: "NAME: XPATH: message" (NAME is name_for_messages,
 * left out when NULL), or "NAME:LINE:COL: message" for XML that is not well
 * formed ("(domain_definition)" when NULL). The result is then checked with
 * vm_config_validate. A missing or empty <uuid> gets a random version 4 UUID,
 * a NIC without <mac> a random 52:54:00 address. Returns 0, -EINVAL (d got
 * messages) or -ENOMEM; on failure cfg still needs vm_config_free.
 * Does not read the schema (domain_xml_validate does).
 */
int vm_config_from_domain_xml(struct vm_config *cfg, const char *xml, size_t len,
	const char *name_for_messages, struct diag *d);

/*
 * Writes cfg as a <domain type='kvm'> document (malloc'd, NUL-terminated, in
 * *out). live (NULL, or ignored with DOMAIN_XML_INACTIVE) adds the id, each
 * NIC's tap and the console's pty. cfg needs a name and a kernel (a domain
 * cannot be defined without them). Not part of the XML: source, api_socket
 * and direct_boot (a domain always boots directly), and console_path unless
 * the console is a file. Returns 0, -EINVAL (flags other than SECURE and
 * INACTIVE, no name or kernel, or a NIC with both a tap and a bridge, which
 * vmm cannot run either), -EILSEQ (a string XML 1.0 cannot carry:
 * invalid UTF-8 or a control character), or -ENOMEM.
 */
int vm_config_to_domain_xml(const struct vm_config *cfg, const struct domain_xml_live *live,
	unsigned flags, char **out);

/*
 * Validates a document against libvirt's RelaxNG schema (schema_path NULL:
 * DOMAIN_XML_SCHEMA; the files it includes are found beside it), as
 * `virsh define --validate` does. Returns 0 when valid; -EINVAL when not,
 * with libvirt's message in d: "Unable to validate doc against PATH", then
 * libxml2's messages, one entry each ("Element domain failed to validate
 * content"), so that joining the entries with newlines gives libvirt's text;
 * or with the parse error when the document is not well formed. -ENOENT when
 * the schema file does not exist (nothing added to d: the caller decides
 * whether that matters); -EIO when the schema cannot be loaded (why in d);
 * -ENOMEM.
 */
int domain_xml_validate(const char *xml, size_t len, const char *schema_path, struct diag *d);

#endif
