// SPDX-License-Identifier: MIT
/*
 * Domain XML reader, the machine around the devices: <cpu> (mode, the vmx
 * and svm features that decide nested, topology), <features>, <clock>,
 * <pm>, <resource> and <seclabel>.
 */
#include <stdio.h>
#include <string.h>

#include "domain_xml_internal.h"

/* ---- <cpu> ---- */

enum { POL_FORCE, POL_REQUIRE, POL_OPTIONAL, POL_DISABLE, POL_FORBID };
static const char *const policies[] = { "force", "require", "optional", "disable", "forbid" };
/* force and require: VMX/SVM or refuse to start; optional: when the host can nest. */
static const enum nested_mode policy_nested[] = { NESTED_ON, NESTED_ON, NESTED_AUTO, NESTED_OFF,
	NESTED_OFF };

static void e_cpu_feature(struct dx_ctx *c, xmlNodePtr n)
{
	const char *name = dx_attr(c, n, "name");
	const char *pol = dx_attr(c, n, "policy");
	int p = POL_REQUIRE; /* libvirt's default */

	if (pol) {
		for (p = 0; p < (int)ARRAY_SIZE(policies) && strcmp(pol, policies[p]); p++)
			;
		if (p == (int)ARRAY_SIZE(policies)) {
			dx_err(c, dx_attr_at(n, "policy"), "'%.32s' is not a policy (force, require, "
				"optional, disable, forbid)", pol);
			return;
		}
	}
	if (name && !strcmp(name, "vmx")) {
		c->vmx = p;
		c->vmx_node = n;
	} else if (name && !strcmp(name, "svm")) {
		c->svm = p;
		c->svm_node = n;
	} else {
		dx_err(c, n, "feature '%.32s' is not supported (nestvmm passes the host CPU through; "
			"only vmx and svm, nested virtualization, can be set)", name ? name : "");
	}
}

static void e_cpu_model(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_trim(c, dx_text(c, n));
	const char *fb = dx_attr(c, n, "fallback");

	if (s[0])
		dx_err(c, n, "CPU model '%.64s' is not supported (nestvmm passes the host CPU "
			"through: host-passthrough or host-model, no named model)", s);
	if (fb && strcmp(fb, "allow") && strcmp(fb, "forbid"))
		dx_err(c, dx_attr_at(n, "fallback"), "'%.32s' is not allow or forbid", fb);
}

static bool topo_attr(struct dx_ctx *c, xmlNodePtr n, const char *name, unsigned *out)
{
	const char *s = dx_attr(c, n, name);
	uint64_t v;

	*out = 1;
	if (!s)
		return true;
	if (!dx_uint(s, 65535, &v) || !v) {
		dx_err(c, dx_attr_at(n, name), "'%.32s' is not a positive number", s);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

static void e_topology(struct dx_ctx *c, xmlNodePtr n)
{
	/* every attribute is read (and reported) even when an earlier one is wrong */
	bool ok = topo_attr(c, n, "sockets", &c->topo_sockets);
	ok = topo_attr(c, n, "dies", &c->topo_dies) && ok;
	ok = topo_attr(c, n, "cores", &c->topo_cores) && ok;
	ok = topo_attr(c, n, "threads", &c->topo_threads) && ok;
	if (ok)
		c->topology = n;
}

static const struct dx_elem cpu_elems[] = {
	{ "feature", e_cpu_feature, true },
	{ "model", e_cpu_model, false },
	{ "topology", e_topology, false },
};

void dx_cpu(struct dx_ctx *c, xmlNodePtr n)
{
	const char *mode = dx_attr(c, n, "mode");
	const char *check = dx_attr(c, n, "check");
	const char *migratable = dx_attr(c, n, "migratable");

	if (mode && strcmp(mode, "host-passthrough") && strcmp(mode, "host-model"))
		dx_err(c, dx_attr_at(n, "mode"), "'%.32s' is not supported (nestvmm gives the guest "
			"the host's CPU as KVM supports it: host-passthrough or host-model)", mode);
	if (check && strcmp(check, "none") && strcmp(check, "partial"))
		dx_err(c, dx_attr_at(n, "check"), "'%.32s' is not supported (nestvmm does not "
			"compare the guest CPU with a model: none or partial)", check);
	if (migratable && strcmp(migratable, "on") && strcmp(migratable, "off"))
		dx_err(c, dx_attr_at(n, "migratable"), "'%.32s' is not on or off", migratable);
	dx_children(c, n, cpu_elems, ARRAY_SIZE(cpu_elems));
}

/* ---- <features>, <clock>, <pm>, <resource>, <seclabel> ---- */

static void e_acpi(struct dx_ctx *c, xmlNodePtr n)
{
	c->cfg->acpi = true;
}

static void e_nothing(struct dx_ctx *c, xmlNodePtr n)
{
	/* accepted as it is (apic, pae: what every x86_64 nestvmm guest has) */
}

/* A feature nestvmm lacks, accepted only when the XML says it is off. */
static void state_off(struct dx_ctx *c, xmlNodePtr n, const char *why)
{
	const char *st = dx_attr(c, n, "state");

	if (!st || strcmp(st, "off"))
		dx_err(c, n, "%s (only state='off' is accepted)", why);
}

static void e_vmport(struct dx_ctx *c, xmlNodePtr n)
{
	state_off(c, n, "nestvmm has no VMware I/O port");
}

static void e_smm(struct dx_ctx *c, xmlNodePtr n)
{
	state_off(c, n, "nestvmm has no System Management Mode");
}

static void e_hap(struct dx_ctx *c, xmlNodePtr n)
{
	const char *st = dx_attr(c, n, "state");

	if (st && strcmp(st, "on"))
		dx_err(c, dx_attr_at(n, "state"), "'%.32s' is not supported (nestvmm's guests run on "
			"EPT/NPT paging)", st);
}

static void e_ioapic(struct dx_ctx *c, xmlNodePtr n)
{
	const char *drv = dx_attr(c, n, "driver");

	if (drv && strcmp(drv, "kvm"))
		dx_err(c, dx_attr_at(n, "driver"), "'%.32s' is not supported (nestvmm's I/O APIC is "
			"KVM's, in the kernel)", drv);
}

static const struct dx_elem feature_elems[] = {
	{ "acpi", e_acpi, false },
	{ "apic", e_nothing, false },
	{ "pae", e_nothing, false },
	{ "vmport", e_vmport, false },
	{ "smm", e_smm, false },
	{ "hap", e_hap, false },
	{ "ioapic", e_ioapic, false },
};

void dx_features(struct dx_ctx *c, xmlNodePtr n)
{
	dx_children(c, n, feature_elems, ARRAY_SIZE(feature_elems));
}

static void e_timer(struct dx_ctx *c, xmlNodePtr n)
{
	const char *name = dx_attr(c, n, "name");
	const char *present = dx_attr(c, n, "present");

	if (name && !strcmp(name, "hpet") && present && !strcmp(present, "no"))
		return; /* true: nestvmm has no HPET */
	if (name && !strcmp(name, "kvmclock") && (!present || !strcmp(present, "yes")))
		return; /* true: the guest's clock is kvm-clock */
	dx_err(c, n, "timer '%.32s'%s is not supported (nestvmm's timers are KVM's PIT and local "
		"APIC timer and kvm-clock, without settings; no HPET, no RTC)", name ? name : "",
		present ? (!strcmp(present, "no") ? " present='no'" : " present='yes'") : "");
}

static const struct dx_elem clock_elems[] = {
	{ "timer", e_timer, true },
};

void dx_clock(struct dx_ctx *c, xmlNodePtr n)
{
	const char *off = dx_attr(c, n, "offset");

	if (off && strcmp(off, "utc"))
		dx_err(c, dx_attr_at(n, "offset"), "'%.32s' is not supported (the guest's clock is "
			"kvm-clock, which is the host's UTC: offset='utc')", off);
	dx_children(c, n, clock_elems, ARRAY_SIZE(clock_elems));
}

static void e_suspend(struct dx_ctx *c, xmlNodePtr n)
{
	const char *en = dx_attr(c, n, "enabled");

	if (!en || strcmp(en, "no"))
		dx_err(c, n, "nestvmm has no ACPI sleep states (S3, S4): only enabled='no'");
}

static const struct dx_elem pm_elems[] = {
	{ "suspend-to-mem", e_suspend, false },
	{ "suspend-to-disk", e_suspend, false },
};

void dx_pm(struct dx_ctx *c, xmlNodePtr n)
{
	dx_children(c, n, pm_elems, ARRAY_SIZE(pm_elems));
}

static void e_partition(struct dx_ctx *c, xmlNodePtr n)
{
	const char *s = dx_trim(c, dx_text(c, n));

	if (strcmp(s, "/machine"))
		dx_err(c, n, "'%.64s' is not supported (nestvmm runs the VM in the daemon's cgroup; "
			"only libvirt's default /machine is accepted)", s);
}

static const struct dx_elem resource_elems[] = {
	{ "partition", e_partition, false },
};

void dx_resource(struct dx_ctx *c, xmlNodePtr n)
{
	dx_children(c, n, resource_elems, ARRAY_SIZE(resource_elems));
}

void dx_seclabel(struct dx_ctx *c, xmlNodePtr n)
{
	const char *type = dx_attr(c, n, "type");

	if (type && !strcmp(type, "none")) {
		(void)dx_attr(c, n, "model");
		return;
	}
	dx_err(c, n, "security labels are not supported (nestvmm does not confine guests with "
		"SELinux, AppArmor or DAC labels: only type='none')");
	dx_mark_tree(n);
}


void dx_cpu_finish(struct dx_ctx *c)
{
	struct vm_config *cfg = c->cfg;

	if (c->topology && c->vcpu && cfg->cpus && (c->topo_sockets != 1 || c->topo_dies != 1 ||
			c->topo_threads != 1 || c->topo_cores != cfg->cpus))
		dx_err(c, c->topology, "sockets=%u dies=%u cores=%u threads=%u is not supported "
			"(nestvmm's guests have one socket of %u single-thread cores: sockets='1' "
			"cores='%u' threads='1')", c->topo_sockets, c->topo_dies, c->topo_cores,
			c->topo_threads, cfg->cpus, cfg->cpus);
	/* VMX and SVM: one setting, whichever the host's vendor is */
	if (c->vmx >= 0 && c->svm >= 0 && policy_nested[c->vmx] != policy_nested[c->svm])
		dx_err(c, c->svm_node, "policy '%s' contradicts vmx's '%s' (nestvmm has one nested "
			"setting for both: give them the same policy)", policies[c->svm],
			policies[c->vmx]);
	else if (c->vmx >= 0 || c->svm >= 0)
		cfg->nested = policy_nested[c->vmx >= 0 ? c->vmx : c->svm];
}
