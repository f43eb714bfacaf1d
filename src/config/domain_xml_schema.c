// SPDX-License-Identifier: MIT
/*
 * Validation against libvirt's own RelaxNG schema (domain.rng, installed by
 * libvirt0), as `virsh define --validate` does: the messages are libxml2's,
 * gathered the way libvirt gathers them, so the text is libvirt's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/relaxng.h>

#include "domain_xml_internal.h"

/* libxml2's messages, one per line, kept until the verdict is known. */
struct collected {
	struct diag lines;
	char part[1024]; /* a message not yet ended by its newline */
	size_t plen;
};

static void take(struct collected *c, const char *s)
{
	for (; *s; s++) {
		if (*s != '\n') {
			if (c->plen + 1 < sizeof(c->part))
				c->part[c->plen++] = *s;
			continue;
		}
		c->part[c->plen] = 0;
		if (c->plen)
			diag_add(&c->lines, NULL, 0, 0, "%s", c->part);
		c->plen = 0;
	}
}

static void collect(void *ctx, const char *fmt, ...) NV_PRINTF(2, 3);
static void collect(void *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	take(ctx, msg);
}

static void flush(struct collected *c)
{
	take(c, "\n");
}

int domain_xml_validate(const char *xml, size_t len, const char *schema_path, struct diag *d)
{
	const char *path = schema_path ? schema_path : DOMAIN_XML_SCHEMA;
	struct collected col;
	xmlRelaxNGParserCtxtPtr pc = NULL;
	xmlRelaxNGValidCtxtPtr vc = NULL;
	xmlRelaxNGPtr schema = NULL;
	xmlDocPtr doc = NULL;
	int rc;

	memset(&col, 0, sizeof(col));
	diag_init(&col.lines);
	if (access(path, R_OK) < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	pc = xmlRelaxNGNewParserCtxt(path);
	if (!pc) {
		rc = -ENOMEM;
		goto cleanup;
	}
	xmlRelaxNGSetParserErrors(pc, collect, collect, &col);
	schema = xmlRelaxNGParse(pc);
	flush(&col);
	if (!schema) {
		diag_add(d, NULL, 0, 0, "cannot load the schema %s", path);
		for (size_t i = 0; i < col.lines.n; i++)
			diag_add(d, NULL, 0, 0, "%s", col.lines.msgs[i]);
		rc = -EIO;
		goto cleanup;
	}
	diag_free(&col.lines);
	doc = dx_parse(xml, len, NULL, d);
	if (!doc) {
		rc = -EINVAL;
		goto cleanup;
	}
	vc = xmlRelaxNGNewValidCtxt(schema);
	if (!vc) {
		rc = -ENOMEM;
		goto cleanup;
	}
	xmlRelaxNGSetValidErrors(vc, collect, collect, &col);
	rc = xmlRelaxNGValidateDoc(vc, doc);
	flush(&col);
	if (rc > 0) {
		/* libvirt's virXMLValidateAgainstSchema: this line, then libxml2's */
		diag_add(d, NULL, 0, 0, "Unable to validate doc against %s", path);
		for (size_t i = 0; i < col.lines.n; i++)
			diag_add(d, NULL, 0, 0, "%s", col.lines.msgs[i]);
		rc = -EINVAL;
	} else if (rc < 0) {
		diag_add(d, NULL, 0, 0, "libxml2 could not validate the document against %s", path);
		rc = -EIO;
	}
cleanup:
	diag_free(&col.lines);
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(pc);
	xmlFreeDoc(doc);
	return rc;
}
