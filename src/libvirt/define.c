// SPDX-License-Identifier: MIT
/*
 * The vmm driver's define: the XML read into a vm_config (every refusal at
 * its XPath), validated against libvirt's schema when asked, the nested
 * rules with every violation in one error, a new domain or an update, saved.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vmm_internal.h"

enum { DEFINED_ADDED = 0, DEFINED_UPDATED = 1 };

/* Every reason the domain's nested setting refuses it, in one message; 0 when none. */
int vd_nested_refusal(struct lv_call *c, const struct vm_config *cfg)
{
	char msg[2048];
	size_t used = 0;
	uint32_t nets = 0;
	if (cfg->nested != NESTED_ON)
		return 0;
	unsigned bad = vm_config_nested_rules(cfg, &nets);
	if (!bad)
		return 0;
#define ADD(...)                                                                        \
	do {                                                                            \
		int w_ = snprintf(msg + used, sizeof(msg) - used, __VA_ARGS__);         \
		if (w_ > 0)                                                             \
			used = used + (size_t)w_ < sizeof(msg) ? used + (size_t)w_ : sizeof(msg) - 1; \
	} while (0)
	ADD("domain '%s' requires vmx/svm (nested virtualization), which needs", cfg->name);
	const char *sep = ": ";
	if (bad & VM_NESTED_CPUS) {
		ADD("%s/domain/vcpu: %u vCPU, but a nested hypervisor needs at least 2", sep,
			cfg->cpus);
		sep = "; ";
	}
	if (bad & VM_NESTED_BALLOON) {
		ADD("%s/domain/devices/memballoon: model='virtio' (or no <memballoon>, which is a "
			"virtio balloon), but memory taken back from the guest may back a nested "
			"guest: use <memballoon model='none'/>", sep);
		sep = "; ";
	}
	for (size_t i = 0; i < VM_MAX_NETS; i++)
		if (nets & (1u << i)) {
			ADD("%s/domain/devices/interface[%zu]/filterref: filter='no-mac-spoofing', but "
				"the nested guests send and receive frames with their own MAC "
				"addresses: remove the filter", sep, i + 1);
			sep = "; ";
		}
#undef ADD
	return lv_call_error(c, LV_ERR_CONFIG_UNSUPPORTED, LV_FROM_DOMAIN,
		"unsupported configuration: %s", msg);
}

/* The messages of d joined by newlines (malloc'd; NULL when out of memory). */
static char *joined(const struct diag *d, const char *sep)
{
	size_t n = 1;
	for (size_t i = 0; i < d->n; i++)
		n += strlen(d->msgs[i]) + strlen(sep);
	char *s = malloc(n);
	if (!s)
		return NULL;
	s[0] = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (i)
			strcat(s, sep);
		strcat(s, d->msgs[i]);
	}
	return s;
}

int vd_define(void *priv, struct lv_call *c, const char *xml, unsigned flags,
	struct lv_dom *out)
{
	struct vd_drv *drv = priv;
	struct vm_config cfg;
	struct diag dg;
	char *msg = NULL, *err = NULL, u[37];
	int rc = -1;

	vm_config_init(&cfg);
	diag_init(&dg);
	if (flags & ~LV_DEFINE_VALIDATE) {
		rc = vd_bad_flags(c, "virDomainDefineXMLFlags", flags);
		goto cleanup;
	}
	size_t len = strlen(xml);
	if (flags & LV_DEFINE_VALIDATE) {
		int r = domain_xml_validate(xml, len, drv->schema, &dg);
		if (r == -EINVAL) {
			msg = joined(&dg, "\n");
			lv_call_error(c, 92 /* VIR_ERR_XML_INVALID_SCHEMA */, 5 /* VIR_FROM_XML */,
				"XML document failed to validate against schema: %s",
				msg ? msg : "out of memory");
			goto cleanup;
		}
		if (r < 0 && r != -ENOENT) {
			msg = joined(&dg, "; ");
			VD_E_INTERNAL(c, "cannot validate against %s: %s", drv->schema,
				msg && *msg ? msg : strerror(-r));
			goto cleanup;
		}
		if (r == -ENOENT) {
			lv_call_error(c, 92, 5, "XML document failed to validate against schema: "
				"%s: libvirt's schema is not installed (libvirt0)", drv->schema);
			goto cleanup;
		}
		diag_free(&dg);
		diag_init(&dg);
	}
	vm_config_free(&cfg);
	if (vm_config_from_domain_xml(&cfg, xml, len, NULL, &dg) < 0) {
		msg = joined(&dg, "; ");
		if (dg.n && !strncmp(dg.msgs[0], "(domain_definition):", 20))
			lv_call_error(c, 35 /* VIR_ERR_XML_DETAIL */, LV_FROM_DOMAIN, "%s",
				msg ? msg : "out of memory");
		else
			VD_E_UNSUPPORTED(c, "%s", msg ? msg : "out of memory");
		goto cleanup;
	}
	if (vd_nested_refusal(c, &cfg) < 0)
		goto cleanup;
	struct vd_dom *by_name = vd_find_name(drv, cfg.name), *by_uuid = vd_find_uuid(drv, cfg.uuid);
	if (by_name && by_name != by_uuid) {
		lv_uuid_format(by_name->cfg.uuid, u);
		VD_E_FAILED(c, "domain '%s' already exists with uuid %s", cfg.name, u);
		goto cleanup;
	}
	if (by_uuid && by_uuid != by_name) {
		lv_uuid_format(by_uuid->cfg.uuid, u);
		VD_E_FAILED(c, "domain '%s' is already defined with uuid %s", by_uuid->cfg.name, u);
		goto cleanup;
	}
	struct vd_dom *d = by_name;
	if (d) {
		/* An update: the new definition applies from the next start. */
		struct vm_config old = d->cfg;
		d->cfg = cfg;
		if (vd_save(d, &err) < 0) {
			d->cfg = old;
			VD_E_FAILED(c, "%s", err ? err : "out of memory");
			goto cleanup;
		}
		vm_config_free(&old);
		vm_config_init(&cfg);
		d->persistent = true;
	} else {
		if (!(d = vd_dom_add(drv, &cfg))) {
			rc = vd_oom(c);
			goto cleanup;
		}
		if (vd_save(d, &err) < 0) {
			VD_E_FAILED(c, "%s", err ? err : "out of memory");
			vd_dom_remove(d);
			goto cleanup;
		}
	}
	if (vd_dom_out(d, out) < 0) {
		rc = vd_oom(c);
		goto cleanup;
	}
	vd_emit(d, LV_EVENT_DEFINED, by_name ? DEFINED_UPDATED : DEFINED_ADDED);
	rc = 0;
cleanup:
	vm_config_free(&cfg);
	diag_free(&dg);
	free(msg);
	free(err);
	return rc;
}

