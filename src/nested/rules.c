// SPDX-License-Identifier: MIT
/*
 * The nested rules: what a VM whose guest gets VMX/SVM must satisfy. They come
 * from Hyper-V's nested virtualization requirements (shared/design/
 * peers-and-nested.md, section 4): at least 2 vCPUs, no dynamic memory (here:
 * no balloon and no runtime resize), MAC spoofing on every NIC so that the
 * nested guests' frames get through.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nested.h"

bool nested_exposes(const struct vm_config *cfg, const struct nested_host *h)
{
	switch (cfg->nested) {
	case NESTED_ON:
		return true;
	case NESTED_AUTO:
		return h && nested_host_can_nest(h);
	case NESTED_OFF:
		break;
	}
	return false;
}

static const char *mode_text(enum nested_mode m)
{
	return m == NESTED_ON ? "nested = \"on\"" : m == NESTED_AUTO ?
		"nested = \"auto\", which exposes VMX/SVM on this host" : "nested = \"off\"";
}

int nested_rules_checks(const struct vm_config *cfg, bool exposed_or_on, struct nested_checks *c)
{
	char fix[600], bad[1024] = "";
	size_t nbad = 0, used = 0;
	const char *file = cfg->source ? cfg->source : "FILE";
	const char *mode = mode_text(cfg->nested);
	int rc = 0;

	if (!exposed_or_on) {
		const char *why = cfg->nested == NESTED_OFF ? "does not apply: nested = \"off\"" :
			"does not apply: nested = \"auto\" hides VMX/SVM on this host";
		rc |= nested_checks_add(c, "vm-cpus", NESTED_CHECK_SKIP, NULL, "%s", why);
		rc |= nested_checks_add(c, "vm-balloon", NESTED_CHECK_SKIP, NULL, "%s", why);
		rc |= nested_checks_add(c, "vm-mac-spoofing", NESTED_CHECK_SKIP, NULL, "%s", why);
		return rc < 0 ? -ENOMEM : 0;
	}
	snprintf(fix, sizeof(fix), "run `vmm nested enable %s`", file);

	if (cfg->cpus >= 2)
		rc |= nested_checks_add(c, "vm-cpus", NESTED_CHECK_OK, NULL, "cpus = %u", cfg->cpus);
	else
		rc |= nested_checks_add(c, "vm-cpus", NESTED_CHECK_FAIL, fix, "cpus = %u, but a VM "
			"with %s needs at least 2 vCPUs", cfg->cpus, mode);

	if (!cfg->balloon)
		rc |= nested_checks_add(c, "vm-balloon", NESTED_CHECK_OK, NULL,
			"no balloon and no runtime memory resize");
	else
		rc |= nested_checks_add(c, "vm-balloon", NESTED_CHECK_FAIL, fix, "[balloon] enabled = "
			"true, but a VM with %s cannot have a balloon: memory taken back from it may "
			"back a nested guest", mode);

	for (size_t i = 0; i < cfg->nnets && i < VM_MAX_NETS; i++) {
		const struct net_config *n = &cfg->nets[i];
		if (n->mac_spoofing)
			continue;
		int w = n->tap ? snprintf(bad + used, sizeof(bad) - used, "%snet[%zu] (tap \"%.32s\")",
					nbad ? ", " : "", i, n->tap)
			       : snprintf(bad + used, sizeof(bad) - used, "%snet[%zu]", nbad ? ", " : "", i);
		if (w > 0 && (size_t)w < sizeof(bad) - used)
			used += (size_t)w;
		nbad++;
	}
	if (!nbad)
		rc |= nested_checks_add(c, "vm-mac-spoofing", NESTED_CHECK_OK, NULL, cfg->nnets ?
			"mac_spoofing = true on every NIC (%zu)" : "no NICs (%zu)", cfg->nnets);
	else
		rc |= nested_checks_add(c, "vm-mac-spoofing", NESTED_CHECK_FAIL, fix, "%s: "
			"mac_spoofing = false, but a VM with %s needs it on every NIC: its nested "
			"guests send and receive frames with their own MAC addresses", bad, mode);
	return rc < 0 ? -ENOMEM : 0;
}

int nested_rules_check(const struct vm_config *cfg, bool exposed_or_on, struct diag *d)
{
	struct nested_checks c;
	int rc;

	if (!exposed_or_on)
		return 0;
	nested_checks_init(&c);
	rc = nested_rules_checks(cfg, true, &c);
	for (size_t i = 0; rc == 0 && i < c.n; i++)
		if (c.v[i].status == NESTED_CHECK_FAIL)
			diag_add(d, cfg->source, 0, 0, "%s (%s)", c.v[i].detail, c.v[i].fix);
	if (rc == 0 && nested_checks_count(&c, NESTED_CHECK_FAIL))
		rc = -EINVAL;
	nested_checks_free(&c);
	return rc;
}

int nested_rules_check_host(const struct vm_config *cfg, const struct nested_host *h,
	struct diag *d)
{
	return nested_rules_check(cfg, nested_exposes(cfg, h), d);
}
