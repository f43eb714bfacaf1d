// SPDX-License-Identifier: MIT
/*
 * The nested layer without KVM: vendor detection, the CPUID/MSR policy on
 * recorded CPUID tables of Intel, AMD and Hygon hosts (TCG emulates no VMX,
 * so this is where the Intel path is proven), the rules, and the host probe
 * against a faked sysfs, /proc and host CPUID.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nested.h"

#include "data/cpuid_amd_epyc_7763.h"
#include "data/cpuid_amd_zen5_bhyve_host.h"
#include "data/cpuid_centaur.h"
#include "data/cpuid_hygon_c86_7285.h"
#include "data/cpuid_intel_xeon_6248.h"

#define MAXE 32

/* A mutable copy of a recorded table. */
struct table {
	struct cpuid_entry e[MAXE];
	struct cpuid_table t;
};

static void load_table(struct table *x, const struct cpuid_entry *src, size_t n)
{
	assert_true(n <= MAXE);
	memcpy(x->e, src, n * sizeof(*src));
	x->t.e = x->e;
	x->t.n = n;
}
#define LOAD(x, arr) load_table((x), (arr), ARRAY_SIZE(arr))

/* What KVM reports when the module runs with nested off: no VMX/SVM, leaf 0x8000000A zeroed. */
static void as_nested_off(struct table *x)
{
	nested_cpuid_hide(&x->t);
}

static uint32_t ecx(const struct table *x, uint32_t leaf)
{
	const struct cpuid_entry *e = cpuid_find(&x->t, leaf, 0);
	assert_non_null(e);
	return e->ecx;
}

static bool leaf_zero(const struct table *x, uint32_t leaf)
{
	const struct cpuid_entry *e = cpuid_find(&x->t, leaf, 0);
	return !e || (!e->eax && !e->ebx && !e->ecx && !e->edx);
}

static void host_with(struct nested_host *h, enum cpu_vendor v, enum nested_tristate param)
{
	nested_host_init(h);
	h->vendor = v;
	h->kvm_ok = NESTED_YES;
	h->cpu_virt = NESTED_YES;
	h->module_loaded = NESTED_YES;
	h->nested_param = param;
	h->kvm_cpuid_virt = param == NESTED_NO ? NESTED_NO : NESTED_YES;
	snprintf(h->kvm_path, sizeof(h->kvm_path), "/dev/kvm");
}

/* ---- vendors ---- */

static void test_vendor(void **state)
{
	struct table x;
	char id[13];

	LOAD(&x, cpuid_intel_xeon_6248);
	assert_int_equal(cpuid_vendor(&x.t, id), VENDOR_INTEL);
	assert_string_equal(id, "GenuineIntel");
	LOAD(&x, cpuid_amd_epyc_7763);
	assert_int_equal(cpuid_vendor(&x.t, id), VENDOR_AMD);
	assert_string_equal(id, "AuthenticAMD");
	LOAD(&x, cpuid_hygon_c86_7285);
	assert_int_equal(cpuid_vendor(&x.t, id), VENDOR_HYGON);
	assert_string_equal(id, "HygonGenuine");
	LOAD(&x, cpuid_centaur);
	assert_int_equal(cpuid_vendor(&x.t, id), VENDOR_UNKNOWN);
	assert_string_equal(id, "CentaurHauls");
	LOAD(&x, cpuid_amd_zen5_bhyve_host);
	assert_int_equal(cpuid_vendor(&x.t, NULL), VENDOR_AMD);

	struct cpuid_table empty = { NULL, 0 };
	assert_int_equal(cpuid_vendor(&empty, id), VENDOR_UNKNOWN);
	assert_string_equal(id, "");

	assert_int_equal(cpuid_vendor_from_id("GenuineIntel"), VENDOR_INTEL);
	assert_int_equal(cpuid_vendor_from_id("AuthenticAMD"), VENDOR_AMD);
	assert_int_equal(cpuid_vendor_from_id("HygonGenuine"), VENDOR_HYGON);
	assert_int_equal(cpuid_vendor_from_id("GenuineIotel"), VENDOR_UNKNOWN);
	assert_int_equal(cpuid_vendor_from_id("  Shanghai  "), VENDOR_UNKNOWN);

	assert_string_equal(nested_vendor_name(VENDOR_HYGON), "Hygon");
	assert_string_equal(nested_vendor_name(VENDOR_UNKNOWN), "unknown");
	assert_string_equal(nested_virt_name(VENDOR_INTEL), "VMX");
	assert_string_equal(nested_virt_name(VENDOR_AMD), "SVM");
	assert_string_equal(nested_virt_name(VENDOR_HYGON), "SVM");
	assert_null(nested_virt_name(VENDOR_UNKNOWN));
	assert_string_equal(nested_kvm_module(VENDOR_INTEL), "kvm_intel");
	assert_string_equal(nested_kvm_module(VENDOR_HYGON), "kvm_amd");
	assert_null(nested_kvm_module(VENDOR_UNKNOWN));
}

static void test_has_virt(void **state)
{
	struct table x;

	LOAD(&x, cpuid_intel_xeon_6248);
	assert_true(nested_cpuid_has_virt(&x.t));
	assert_true(ecx(&x, 1) & (1u << 5));
	as_nested_off(&x);
	assert_false(nested_cpuid_has_virt(&x.t));
	LOAD(&x, cpuid_amd_epyc_7763);
	assert_true(nested_cpuid_has_virt(&x.t));
	as_nested_off(&x);
	assert_false(nested_cpuid_has_virt(&x.t));
	assert_true(leaf_zero(&x, 0x8000000a));
	LOAD(&x, cpuid_hygon_c86_7285);
	assert_true(nested_cpuid_has_virt(&x.t));
	LOAD(&x, cpuid_centaur); /* VMX set, but no vendor we drive */
	assert_true(ecx(&x, 1) & (1u << 5));
	assert_false(nested_cpuid_has_virt(&x.t));
	LOAD(&x, cpuid_amd_zen5_bhyve_host);
	assert_false(nested_cpuid_has_virt(&x.t));
}

/* ---- the policy: each vendor x host capability x mode ---- */

enum cap { CAP_NESTED, CAP_NO_NESTED, CAP_TABLE_ONLY, CAP_PARAM_OFF_BUT_BIT };

struct policy_case {
	const struct cpuid_entry *tab;
	size_t n;
	enum cpu_vendor vendor;
};

/* Checks that every entry but the VMX/SVM bits and leaf 0x8000000A is unchanged. */
static void assert_rest_same(const struct table *got, const struct table *orig)
{
	assert_int_equal(got->t.n, orig->t.n);
	for (size_t i = 0; i < got->t.n; i++) {
		struct cpuid_entry a = got->e[i], b = orig->e[i];
		if (a.function == 0x8000000a)
			continue;
		if (a.function == 1)
			a.ecx &= ~(1u << 5), b.ecx &= ~(1u << 5);
		if (a.function == 0x80000001)
			a.ecx &= ~(1u << 2), b.ecx &= ~(1u << 2);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void run_case(const struct policy_case *pc, enum cap cap, enum nested_mode mode)
{
	struct table orig, x;
	struct nested_host h;
	const struct nested_host *hp = &h;
	struct diag d;
	bool exposed = !(mode == NESTED_OFF); /* must be overwritten */
	bool amd = pc->vendor != VENDOR_INTEL;
	uint32_t leaf = amd ? 0x80000001 : 1, bitm = amd ? 1u << 2 : 1u << 5;

	load_table(&orig, pc->tab, pc->n);
	switch (cap) {
	case CAP_NESTED:
		host_with(&h, pc->vendor, NESTED_YES);
		break;
	case CAP_NO_NESTED:
		as_nested_off(&orig);
		host_with(&h, pc->vendor, NESTED_NO);
		break;
	case CAP_TABLE_ONLY: /* no probe: the table decides */
		hp = NULL;
		break;
	case CAP_PARAM_OFF_BUT_BIT: /* inconsistent: trust the parameter */
		host_with(&h, pc->vendor, NESTED_NO);
		break;
	}
	load_table(&x, orig.e, orig.t.n);
	bool can = cap == CAP_NESTED || cap == CAP_TABLE_ONLY;
	diag_init(&d);
	int rc = nested_cpuid_apply(&x.t, mode, hp, &d, &exposed);

	bool want_exposed = mode != NESTED_OFF && can;
	assert_int_equal(exposed, want_exposed);
	assert_int_equal(!!(ecx(&x, leaf) & bitm), want_exposed);
	assert_int_equal(nested_cpuid_has_virt(&x.t), want_exposed);
	/* The other vendor's bit is never set. */
	assert_false(ecx(&x, amd ? 1 : 0x80000001) & (amd ? 1u << 5 : 1u << 2));
	if (amd && want_exposed) /* leaf 0x8000000A kept as KVM reports it */
		assert_memory_equal(cpuid_find(&x.t, 0x8000000a, 0), cpuid_find(&orig.t, 0x8000000a, 0),
			sizeof(struct cpuid_entry));
	else
		assert_true(leaf_zero(&x, 0x8000000a));
	assert_rest_same(&x, &orig);
	if (mode == NESTED_ON && !can) {
		assert_int_equal(rc, -ENOTSUP);
		assert_int_equal(d.n, 1);
		assert_non_null(strstr(d.msgs[0], amd ? "CPUID leaf 0x80000001 ECX bit 2 (SVM)"
						      : "CPUID leaf 0x1 ECX bit 5 (VMX)"));
		assert_non_null(strstr(d.msgs[0], "nested = \"on\""));
		assert_non_null(strstr(d.msgs[0], "fix: "));
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(d.n, 0);
	}
	/* Per vCPU: applying it again to the result changes nothing. */
	struct table again;
	load_table(&again, x.e, x.t.n);
	bool exposed2;
	nested_cpuid_apply(&again.t, mode, hp, NULL, &exposed2);
	assert_memory_equal(again.e, x.e, x.t.n * sizeof(x.e[0]));
	diag_free(&d);
}

static void test_policy_matrix(void **state)
{
	const struct policy_case cases[] = {
		{ cpuid_intel_xeon_6248, ARRAY_SIZE(cpuid_intel_xeon_6248), VENDOR_INTEL },
		{ cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), VENDOR_AMD },
		{ cpuid_hygon_c86_7285, ARRAY_SIZE(cpuid_hygon_c86_7285), VENDOR_HYGON },
	};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++)
		for (int cap = CAP_NESTED; cap <= CAP_PARAM_OFF_BUT_BIT; cap++)
			for (int m = NESTED_OFF; m <= NESTED_ON; m++)
				run_case(&cases[c], (enum cap)cap, (enum nested_mode)m);
}

static void test_policy_messages(void **state)
{
	struct table x;
	struct nested_host h;
	struct diag d;
	bool exposed;

	/* AMD, kvm_amd nested=0: the example of the issue, word for word. */
	LOAD(&x, cpuid_amd_epyc_7763);
	as_nested_off(&x);
	host_with(&h, VENDOR_AMD, NESTED_NO);
	diag_init(&d);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_ON, &h, &d, &exposed), -ENOTSUP);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "nested = \"on\": CPUID leaf 0x80000001 ECX bit 2 (SVM) is "
		"not offered by this host's KVM: kvm_amd is loaded with nested=0 (fix: modprobe -r "
		"kvm_amd && modprobe kvm_amd nested=1 (with every VM stopped); to keep it across "
		"reboots, add `options kvm_amd nested=1` to /etc/modprobe.d/kvm-nested.conf)");
	diag_free(&d);

	/* Intel, kvm_intel nested=N. */
	LOAD(&x, cpuid_intel_xeon_6248);
	as_nested_off(&x);
	host_with(&h, VENDOR_INTEL, NESTED_NO);
	diag_init(&d);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_ON, &h, &d, &exposed), -ENOTSUP);
	assert_string_equal(d.msgs[0], "nested = \"on\": CPUID leaf 0x1 ECX bit 5 (VMX) is not "
		"offered by this host's KVM: kvm_intel is loaded with nested=N (fix: modprobe -r "
		"kvm_intel && modprobe kvm_intel nested=1 (with every VM stopped); to keep it across "
		"reboots, add `options kvm_intel nested=1` to /etc/modprobe.d/kvm-nested.conf)");
	diag_free(&d);

	/* The table has the bit but the parameter says off. */
	LOAD(&x, cpuid_amd_epyc_7763);
	diag_init(&d);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_ON, &h, &d, &exposed), -ENOTSUP);
	assert_non_null(strstr(d.msgs[0], "(SVM) cannot be exposed on this host: kvm_amd is loaded "
		"with nested=0"));
	diag_free(&d);

	/* No probe, no bit: KVM's table is the reason. */
	LOAD(&x, cpuid_hygon_c86_7285);
	as_nested_off(&x);
	diag_init(&d);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_ON, NULL, &d, &exposed), -ENOTSUP);
	assert_non_null(strstr(d.msgs[0], "is not offered by this host's KVM: "
		"KVM_GET_SUPPORTED_CPUID does not report SVM (fix: modprobe -r kvm_amd"));
	diag_free(&d);

	/* A host whose CPU lacks SVM because it is a VM itself. */
	LOAD(&x, cpuid_amd_epyc_7763);
	as_nested_off(&x);
	host_with(&h, VENDOR_AMD, NESTED_UNKNOWN);
	h.cpu_virt = NESTED_NO;
	h.is_vm = NESTED_YES;
	diag_init(&d);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_ON, &h, &d, &exposed), -ENOTSUP);
	assert_non_null(strstr(d.msgs[0], "the host CPU does not have SVM: this host is itself a "
		"virtual machine"));
	assert_non_null(strstr(d.msgs[0], "outer hypervisor"));
	diag_free(&d);

	/* Unknown vendor: named, whatever its table says. */
	LOAD(&x, cpuid_centaur);
	diag_init(&d);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_AUTO, NULL, &d, &exposed), 0);
	assert_false(exposed);
	assert_false(ecx(&x, 1) & (1u << 5)); /* auto hides it */
	LOAD(&x, cpuid_centaur);
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_ON, NULL, &d, &exposed), -ENOTSUP);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0], "nested = \"on\": the CPU vendor \"CentaurHauls\" is neither "
		"Intel nor AMD/Hygon; nestvmm can only expose VMX (CPUID leaf 0x1 ECX bit 5) or SVM "
		"(CPUID leaf 0x80000001 ECX bit 2)");
	assert_false(ecx(&x, 1) & (1u << 5));
	diag_free(&d);

	/* off on a table that has everything; Intel gets no leaf 0x8000000A invented. */
	LOAD(&x, cpuid_intel_xeon_6248);
	size_t n = x.t.n;
	assert_int_equal(nested_cpuid_apply(&x.t, NESTED_OFF, &h, NULL, NULL), 0);
	assert_int_equal(x.t.n, n);
	assert_null(cpuid_find(&x.t, 0x8000000a, 0));
	assert_false(ecx(&x, 1) & (1u << 5));
}

static void test_explain(void **state)
{
	struct nested_host h;
	char buf[1024];

	host_with(&h, VENDOR_INTEL, NESTED_YES);
	h.kvm_ok = NESTED_NO;
	h.kvm_errno = ENOENT;
	nested_explain(&h, VENDOR_INTEL, NESTED_UNKNOWN, buf, sizeof(buf));
	assert_non_null(strstr(buf, "/dev/kvm is not usable: No such file or directory (fix: load "
		"the KVM module: modprobe kvm_intel"));
	assert_non_null(strstr(buf, "Intel VT-x"));
	h.kvm_errno = EACCES;
	nested_explain(&h, VENDOR_INTEL, NESTED_UNKNOWN, buf, sizeof(buf));
	assert_non_null(strstr(buf, "kvm group"));
	host_with(&h, VENDOR_AMD, NESTED_YES);
	h.module_loaded = NESTED_NO;
	nested_explain(&h, VENDOR_AMD, NESTED_UNKNOWN, buf, sizeof(buf));
	assert_string_equal(buf, "kvm_amd is not loaded (fix: modprobe kvm_amd nested=1)");
	host_with(&h, VENDOR_INTEL, NESTED_YES);
	h.cpu_virt = NESTED_NO;
	h.is_vm = NESTED_NO;
	nested_explain(&h, VENDOR_INTEL, NESTED_UNKNOWN, buf, sizeof(buf));
	assert_non_null(strstr(buf, "the host CPU does not have VMX (fix: enable Intel VT-x"));
	/* A short buffer is cut, never overrun. */
	char small[8];
	nested_explain(&h, VENDOR_INTEL, NESTED_UNKNOWN, small, sizeof(small));
	assert_int_equal(strlen(small), 7);
}

static void test_can_nest(void **state)
{
	struct nested_host h;

	nested_host_init(&h);
	assert_false(nested_host_can_nest(&h)); /* unknown vendor */
	h.vendor = VENDOR_AMD;
	assert_true(nested_host_can_nest(&h)); /* nothing known against it */
	host_with(&h, VENDOR_AMD, NESTED_YES);
	assert_true(nested_host_can_nest(&h));
	h.nested_param = NESTED_NO;
	assert_false(nested_host_can_nest(&h));
	host_with(&h, VENDOR_INTEL, NESTED_YES);
	h.kvm_ok = NESTED_NO;
	assert_false(nested_host_can_nest(&h));
	host_with(&h, VENDOR_INTEL, NESTED_YES);
	h.kvm_cpuid_virt = NESTED_NO;
	assert_false(nested_host_can_nest(&h));
	host_with(&h, VENDOR_INTEL, NESTED_YES);
	h.cpu_virt = NESTED_NO;
	assert_false(nested_host_can_nest(&h));
	host_with(&h, VENDOR_INTEL, NESTED_YES);
	h.module_loaded = NESTED_NO;
	assert_false(nested_host_can_nest(&h));
}

static void test_msrs_and_ops(void **state)
{
	struct nested_msr m[2] = { { 0, 0 }, { 0, 0 } };

	assert_int_equal(nested_msr_policy(VENDOR_INTEL, true, m, 2), 1);
	assert_int_equal(m[0].index, 0x3a);
	assert_int_equal(m[0].value, 0x5); /* locked, VMXON outside SMX */
	assert_int_equal(nested_msr_policy(VENDOR_INTEL, false, m, 2), 0);
	assert_int_equal(nested_msr_policy(VENDOR_AMD, true, m, 2), 0);
	assert_int_equal(nested_msr_policy(VENDOR_HYGON, true, m, 2), 0);
	m[0].index = 0;
	assert_int_equal(nested_msr_policy(VENDOR_INTEL, true, m, 0), 1);
	assert_int_equal(m[0].index, 0); /* cap 0: counted, not written */

	for (int op = NESTED_OP_MEMORY_RESIZE; op <= NESTED_OP_MIGRATE; op++)
		assert_null(nested_op_refusal((enum nested_op)op, false, 0, false));
	assert_non_null(strstr(nested_op_refusal(NESTED_OP_MEMORY_RESIZE, true, 8192, true),
		"cannot be resized"));
	assert_non_null(strstr(nested_op_refusal(NESTED_OP_BALLOON, true, 8192, true), "balloon"));
	assert_non_null(strstr(nested_op_refusal(NESTED_OP_SNAPSHOT, true, 0, true),
		"KVM_CAP_NESTED_STATE"));
	assert_null(nested_op_refusal(NESTED_OP_SAVE, true, 8192, true));
	assert_null(nested_op_refusal(NESTED_OP_MIGRATE, true, 8192, true));
	assert_non_null(strstr(nested_op_refusal(NESTED_OP_MIGRATE, true, 8192, false),
		"KVM_GET_NESTED_STATE"));
}

/* ---- the rules ---- */

static void load_cfg(struct vm_config *cfg, const char *src)
{
	struct diag d;
	vm_config_init(cfg);
	diag_init(&d);
	int rc = vm_config_load_buffer(cfg, "vm.toml", src, strlen(src), &d);
	if (rc < 0)
		diag_print(&d, stderr);
	assert_int_equal(rc, 0);
	diag_free(&d);
	free(cfg->source);
	cfg->source = strdup("vm.toml");
}

static void test_rules(void **state)
{
	struct vm_config cfg;
	struct diag d;

	load_cfg(&cfg, "nested = \"on\"\ncpus = 1\n[balloon]\nenabled = true\n"
		"[[net]]\ntap = \"tap0\"\n[[net]]\nmac_spoofing = true\n[[net]]\n");
	diag_init(&d);
	assert_int_equal(nested_rules_check(&cfg, true, &d), -EINVAL);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.msgs[0], "vm.toml: cpus = 1, but a VM with nested = \"on\" needs at "
		"least 2 vCPUs (run `vmm nested enable vm.toml`)");
	assert_string_equal(d.msgs[1], "vm.toml: [balloon] enabled = true, but a VM with nested = "
		"\"on\" cannot have a balloon: memory taken back from it may back a nested guest "
		"(run `vmm nested enable vm.toml`)");
	assert_string_equal(d.msgs[2], "vm.toml: net[0] (tap \"tap0\"), net[2]: mac_spoofing = "
		"false, but a VM with nested = \"on\" needs it on every NIC: its nested guests send "
		"and receive frames with their own MAC addresses (run `vmm nested enable vm.toml`)");
	diag_free(&d);

	/* Not exposed: nothing applies. */
	diag_init(&d);
	assert_int_equal(nested_rules_check(&cfg, false, &d), 0);
	assert_int_equal(d.n, 0);
	diag_free(&d);

	/* auto: decided by the host. */
	struct nested_host h;
	cfg.nested = NESTED_AUTO;
	host_with(&h, VENDOR_AMD, NESTED_YES);
	diag_init(&d);
	assert_true(nested_exposes(&cfg, &h));
	assert_int_equal(nested_rules_check_host(&cfg, &h, &d), -EINVAL);
	assert_int_equal(d.n, 3);
	assert_non_null(strstr(d.msgs[0], "nested = \"auto\", which exposes VMX/SVM on this host"));
	diag_free(&d);
	h.nested_param = NESTED_NO;
	diag_init(&d);
	assert_false(nested_exposes(&cfg, &h));
	assert_false(nested_exposes(&cfg, NULL));
	assert_int_equal(nested_rules_check_host(&cfg, &h, &d), 0);
	assert_int_equal(d.n, 0);
	diag_free(&d);
	cfg.nested = NESTED_ON; /* on: whatever the host */
	assert_true(nested_exposes(&cfg, &h));
	assert_true(nested_exposes(&cfg, NULL));
	cfg.nested = NESTED_OFF;
	assert_false(nested_exposes(&cfg, NULL));

	/* As checks. */
	struct nested_checks c;
	nested_checks_init(&c);
	assert_int_equal(nested_rules_checks(&cfg, true, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0].id, "vm-cpus");
	assert_string_equal(c.v[1].id, "vm-balloon");
	assert_string_equal(c.v[2].id, "vm-mac-spoofing");
	assert_int_equal(nested_checks_count(&c, NESTED_CHECK_FAIL), 3);
	assert_string_equal(c.v[0].fix, "run `vmm nested enable vm.toml`");
	nested_checks_free(&c);
	nested_checks_free(&c); /* idempotent */
	nested_checks_free(NULL);
	assert_int_equal(nested_rules_checks(&cfg, false, &c), 0);
	assert_int_equal(nested_checks_count(&c, NESTED_CHECK_SKIP), 3);
	assert_string_equal(c.v[0].detail, "does not apply: nested = \"off\"");
	nested_checks_free(&c);
	vm_config_free(&cfg);

	/* Compliant. */
	load_cfg(&cfg, "nested = \"on\"\ncpus = 2\n"
		"net = [ { mac_spoofing = true }, { tap = \"t1\", mac_spoofing = true } ]\n"
		"[balloon]\nenabled = false\n");
	diag_init(&d);
	assert_int_equal(nested_rules_check(&cfg, true, &d), 0);
	assert_int_equal(d.n, 0);
	diag_free(&d);
	nested_checks_init(&c);
	assert_int_equal(nested_rules_checks(&cfg, true, &c), 0);
	assert_int_equal(nested_checks_count(&c, NESTED_CHECK_OK), 3);
	assert_string_equal(c.v[2].detail, "mac_spoofing = true on every NIC (2)");
	nested_checks_free(&c);
	vm_config_free(&cfg);
}

/* ---- the probe, against fakes ---- */

struct fake {
	char dir[64];
	char sys[128], proc[128], kvm[128];
};

static void put(const char *path, const char *text)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fake_init(struct fake *f, const char *module, const char *nested, const char *tdp,
	unsigned long long mem_kb)
{
	char p[300], buf[128];
	snprintf(f->dir, sizeof(f->dir), "/tmp/nv-nested-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->dir);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
	snprintf(f->kvm, sizeof(f->kvm), "%s/dev/kvm", f->dir); /* absent */
	if (module) {
		snprintf(p, sizeof(p), "%s/module/%s/parameters/nested", f->sys, module);
		put(p, nested);
		snprintf(p, sizeof(p), "%s/module/%s/parameters/%s", f->sys, module,
			strcmp(module, "kvm_intel") ? "npt" : "ept");
		put(p, tdp);
	} else {
		snprintf(p, sizeof(p), "%s/module/kvm/parameters/halt_poll_ns", f->sys);
		put(p, "200000\n");
	}
	snprintf(p, sizeof(p), "%s/meminfo", f->proc);
	snprintf(buf, sizeof(buf), "MemTotal:       %llu kB\nMemFree:        1000 kB\n", mem_kb);
	put(p, buf);
}

static void fake_free(struct fake *f)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

static const struct nested_check *find_check(const struct nested_checks *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].id, id))
			return &c->v[i];
	fail_msg("no check %s", id);
	return NULL;
}

static void probe(struct fake *f, const struct cpuid_entry *tab, size_t n, struct nested_host *h,
	struct nested_checks *c)
{
	struct table x;
	load_table(&x, tab, n);
	struct nested_probe_opts o = { f->kvm, f->sys, f->proc, &x.t };
	nested_checks_init(c);
	assert_int_equal(nested_probe(h, c, &o), 0);
}

static const char *const check_order[] = { "cpu-vendor", "cpu-virt", "kvm-device", "kvm-api",
	"kvm-backend", "kvm-module", "nested-param", "kvm-cpuid", "nested-state", "ept-npt", "host-memory",
	"host-hypervisor" };

static void test_probe_amd_no_kvm(void **state)
{
	struct fake f;
	struct nested_host h;
	struct nested_checks c;

	fake_init(&f, "kvm_amd", "1\n", "1\n", 16ULL * 1024 * 1024);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	assert_int_equal(c.n, ARRAY_SIZE(check_order));
	for (size_t i = 0; i < c.n; i++)
		assert_string_equal(c.v[i].id, check_order[i]);
	assert_int_equal(h.vendor, VENDOR_AMD);
	assert_string_equal(h.vendor_id, "AuthenticAMD");
	assert_int_equal(h.cpu_virt, NESTED_YES);
	assert_int_equal(h.is_vm, NESTED_NO);
	assert_int_equal(h.kvm_ok, NESTED_NO);
	assert_int_equal(h.kvm_errno, ENOENT);
	assert_int_equal(h.module_loaded, NESTED_YES);
	assert_int_equal(h.nested_param, NESTED_YES);
	assert_int_equal(h.tdp, NESTED_YES);
	assert_int_equal(h.api_version, -1);
	assert_int_equal(h.nested_state_size, -1);
	assert_int_equal(h.mem_total, 16 * GiB);
	assert_false(nested_host_can_nest(&h));

	const struct nested_check *k = find_check(&c, "kvm-device");
	assert_int_equal(k->status, NESTED_CHECK_FAIL);
	assert_non_null(strstr(k->detail, "/dev/kvm does not exist"));
	assert_non_null(strstr(k->fix, "modprobe kvm_amd"));
	assert_non_null(strstr(k->fix, "AMD-V"));
	assert_non_null(strstr(k->fix, "outer hypervisor"));
	assert_int_equal(find_check(&c, "kvm-api")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "kvm-cpuid")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "nested-state")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "cpu-vendor")->status, NESTED_CHECK_OK);
	assert_int_equal(find_check(&c, "cpu-virt")->status, NESTED_CHECK_OK);
	assert_int_equal(find_check(&c, "nested-param")->status, NESTED_CHECK_OK);
	assert_string_equal(find_check(&c, "nested-param")->detail, "kvm_amd is loaded with nested=1");
	assert_int_equal(find_check(&c, "ept-npt")->status, NESTED_CHECK_OK);
	assert_int_equal(find_check(&c, "host-memory")->status, NESTED_CHECK_OK);
	assert_string_equal(find_check(&c, "host-memory")->detail, "16.0 GiB of memory");
	assert_int_equal(find_check(&c, "host-hypervisor")->status, NESTED_CHECK_INFO);
	assert_int_equal(nested_checks_count(&c, NESTED_CHECK_FAIL), 1);
	nested_checks_free(&c);
	fake_free(&f);
}

static void test_probe_amd_nested_off(void **state)
{
	struct fake f;
	struct nested_host h;
	struct nested_checks c;

	fake_init(&f, "kvm_amd", "0\n", "0\n", 3ULL * 1024 * 1024);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	const struct nested_check *k = find_check(&c, "nested-param");
	assert_int_equal(h.nested_param, NESTED_NO);
	assert_int_equal(k->status, NESTED_CHECK_FAIL);
	assert_string_equal(k->detail, "kvm_amd is loaded with nested=0: KVM gives no guest SVM");
	assert_string_equal(k->fix, "modprobe -r kvm_amd && modprobe kvm_amd nested=1   (with every "
		"VM stopped)\necho 'options kvm_amd nested=1' > /etc/modprobe.d/kvm-nested.conf   "
		"(keeps it across reboots)");
	k = find_check(&c, "ept-npt");
	assert_int_equal(k->status, NESTED_CHECK_WARN);
	assert_non_null(strstr(k->detail, "npt=0"));
	assert_non_null(strstr(k->fix, "npt=1"));
	k = find_check(&c, "host-memory");
	assert_int_equal(k->status, NESTED_CHECK_WARN);
	assert_non_null(strstr(k->detail, "3.0 GiB"));
	nested_checks_free(&c);
	fake_free(&f);
}

static void test_probe_intel(void **state)
{
	struct fake f;
	struct nested_host h;
	struct nested_checks c;

	/* kvm_intel's bools read Y/N. */
	fake_init(&f, "kvm_intel", "Y\n", "N\n", 64ULL * 1024 * 1024);
	probe(&f, cpuid_intel_xeon_6248, ARRAY_SIZE(cpuid_intel_xeon_6248), &h, &c);
	assert_int_equal(h.vendor, VENDOR_INTEL);
	assert_int_equal(h.nested_param, NESTED_YES);
	assert_int_equal(h.tdp, NESTED_NO);
	assert_string_equal(find_check(&c, "nested-param")->detail, "kvm_intel is loaded with nested=Y");
	assert_non_null(strstr(find_check(&c, "ept-npt")->detail, "ept=N"));
	assert_non_null(strstr(find_check(&c, "kvm-device")->fix, "modprobe kvm_intel"));
	nested_checks_free(&c);
	fake_free(&f);

	fake_init(&f, "kvm_intel", "N", "Y", 64ULL * 1024 * 1024);
	probe(&f, cpuid_intel_xeon_6248, ARRAY_SIZE(cpuid_intel_xeon_6248), &h, &c);
	assert_int_equal(h.nested_param, NESTED_NO);
	assert_non_null(strstr(find_check(&c, "nested-param")->fix, "options kvm_intel nested=1"));
	nested_checks_free(&c);
	fake_free(&f);

	/* Garbage in the parameter: unknown, a warning. */
	fake_init(&f, "kvm_intel", "maybe\n", "Y\n", 64ULL * 1024 * 1024);
	probe(&f, cpuid_intel_xeon_6248, ARRAY_SIZE(cpuid_intel_xeon_6248), &h, &c);
	assert_int_equal(h.nested_param, NESTED_UNKNOWN);
	assert_int_equal(find_check(&c, "nested-param")->status, NESTED_CHECK_WARN);
	nested_checks_free(&c);
	fake_free(&f);
}

static void test_probe_no_module_vm_host(void **state)
{
	struct fake f;
	struct nested_host h;
	struct nested_checks c;

	/* This build machine: a bhyve guest with no SVM and no kvm_amd. */
	fake_init(&f, NULL, NULL, NULL, 8ULL * 1024 * 1024);
	probe(&f, cpuid_amd_zen5_bhyve_host, ARRAY_SIZE(cpuid_amd_zen5_bhyve_host), &h, &c);
	assert_int_equal(h.is_vm, NESTED_YES);
	assert_string_equal(h.hypervisor_id, "bhyve bhyve ");
	assert_int_equal(h.cpu_virt, NESTED_NO);
	assert_int_equal(h.module_loaded, NESTED_NO);
	const struct nested_check *k = find_check(&c, "cpu-virt");
	assert_int_equal(k->status, NESTED_CHECK_FAIL);
	assert_non_null(strstr(k->detail, "the host CPU does not have SVM (CPUID leaf 0x80000001 ECX "
		"bit 2 is clear): this host is a VM"));
	assert_non_null(strstr(k->fix, "outer hypervisor"));
	k = find_check(&c, "kvm-module");
	assert_int_equal(k->status, NESTED_CHECK_FAIL);
	assert_string_equal(k->fix, "modprobe kvm_amd nested=1");
	assert_int_equal(find_check(&c, "nested-param")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "ept-npt")->status, NESTED_CHECK_SKIP);
	assert_non_null(strstr(find_check(&c, "host-hypervisor")->detail, "\"bhyve bhyve \""));
	nested_checks_free(&c);

	/* Unknown vendor. */
	probe(&f, cpuid_centaur, ARRAY_SIZE(cpuid_centaur), &h, &c);
	assert_int_equal(find_check(&c, "cpu-vendor")->status, NESTED_CHECK_FAIL);
	assert_non_null(strstr(find_check(&c, "cpu-vendor")->detail, "CentaurHauls"));
	assert_int_equal(find_check(&c, "cpu-virt")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "kvm-module")->status, NESTED_CHECK_SKIP);
	nested_checks_free(&c);
	fake_free(&f);
}

static void test_probe_not_kvm(void **state)
{
	struct fake f;
	struct nested_host h;
	struct nested_checks c;

	/* A device path that opens but is no KVM device: KVM_GET_API_VERSION fails. */
	fake_init(&f, "kvm_amd", "1", "1", 16ULL * 1024 * 1024);
	snprintf(f.kvm, sizeof(f.kvm), "%s/proc/meminfo", f.dir);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	assert_int_equal(find_check(&c, "kvm-device")->status, NESTED_CHECK_OK);
	const struct nested_check *k = find_check(&c, "kvm-api");
	assert_int_equal(k->status, NESTED_CHECK_FAIL);
	assert_non_null(strstr(k->detail, "is not a KVM device"));
	assert_int_equal(h.kvm_ok, NESTED_NO);
	assert_int_equal(find_check(&c, "kvm-cpuid")->status, NESTED_CHECK_SKIP);
	nested_checks_free(&c);

	/* Unreadable meminfo: a warning. */
	snprintf(f.proc, sizeof(f.proc), "%s/nowhere", f.dir);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	assert_int_equal(find_check(&c, "host-memory")->status, NESTED_CHECK_WARN);
	assert_int_equal(h.mem_total, 0);
	nested_checks_free(&c);
	fake_free(&f);
}

/* No fix of any check may send the user to modprobe (a kvm_pvm host has nothing to load). */
static void assert_no_modprobe(const struct nested_checks *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].fix && strstr(c->v[i].fix, "modprobe"))
			fail_msg("check %s advises modprobe on a kvm_pvm host: %s", c->v[i].id, c->v[i].fix);
}

static void test_probe_backends(void **state)
{
	struct fake f;
	struct nested_host h;
	struct nested_checks c;
	char why[1024], p[300];

	/* kvm_pvm: this build machine's kind (a KVM guest without SVM, /dev/kvm from kvm_pvm). */
	fake_init(&f, "kvm_pvm", "0\n", "0\n", 24ULL * 1024 * 1024);
	snprintf(f.kvm, sizeof(f.kvm), "%s/proc/meminfo", f.dir); /* opens read-write */
	probe(&f, cpuid_amd_zen5_bhyve_host, ARRAY_SIZE(cpuid_amd_zen5_bhyve_host), &h, &c);
	assert_int_equal(h.backend, NESTED_BACKEND_PVM);
	assert_int_equal(nested_kvm_backend(f.sys), NESTED_BACKEND_PVM);
	assert_string_equal(nested_backend_name(h.backend), "kvm_pvm");
	const struct nested_check *k = find_check(&c, "kvm-backend");
	assert_int_equal(k->status, NESTED_CHECK_FAIL);
	assert_non_null(strstr(k->detail, "kvm_pvm"));
	assert_non_null(strstr(k->detail, "without VMX/SVM"));
	assert_non_null(strstr(k->detail, "PVM-enabled guest kernels"));
	assert_non_null(k->fix);
	assert_int_equal(find_check(&c, "kvm-module")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "nested-param")->status, NESTED_CHECK_SKIP);
	assert_int_equal(find_check(&c, "ept-npt")->status, NESTED_CHECK_SKIP);
	assert_no_modprobe(&c);
	assert_false(nested_host_can_nest(&h));
	nested_explain(&h, h.vendor, NESTED_UNKNOWN, why, sizeof(why));
	assert_non_null(strstr(why, "kvm_pvm"));
	assert_null(strstr(why, "modprobe"));
	nested_checks_free(&c);
	fake_free(&f);

	/* kvm_intel and kvm_amd on CPUs with VMX/SVM: hardware, ok. */
	fake_init(&f, "kvm_intel", "Y", "Y", 64ULL * 1024 * 1024);
	probe(&f, cpuid_intel_xeon_6248, ARRAY_SIZE(cpuid_intel_xeon_6248), &h, &c);
	assert_int_equal(h.backend, NESTED_BACKEND_INTEL);
	k = find_check(&c, "kvm-backend");
	assert_int_equal(k->status, NESTED_CHECK_OK);
	assert_string_equal(k->detail, "kvm_intel: hardware virtualization (VMX)");
	nested_checks_free(&c);
	fake_free(&f);
	fake_init(&f, "kvm_amd", "1", "1", 64ULL * 1024 * 1024);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	assert_int_equal(h.backend, NESTED_BACKEND_AMD);
	k = find_check(&c, "kvm-backend");
	assert_int_equal(k->status, NESTED_CHECK_OK);
	assert_string_equal(k->detail, "kvm_amd: hardware virtualization (SVM)");
	nested_checks_free(&c);
	fake_free(&f);

	/* kvm alone: unknown backend, a warning; no module at all: none, skipped. */
	fake_init(&f, NULL, NULL, NULL, 8ULL * 1024 * 1024);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	assert_int_equal(h.backend, NESTED_BACKEND_UNKNOWN);
	assert_int_equal(find_check(&c, "kvm-backend")->status, NESTED_CHECK_WARN);
	nested_checks_free(&c);
	snprintf(p, sizeof(p), "rm -rf '%s/module'", f.sys);
	assert_int_equal(system(p), 0);
	probe(&f, cpuid_amd_epyc_7763, ARRAY_SIZE(cpuid_amd_epyc_7763), &h, &c);
	assert_int_equal(h.backend, NESTED_BACKEND_NONE);
	assert_string_equal(nested_backend_name(h.backend), "none");
	assert_int_equal(find_check(&c, "kvm-backend")->status, NESTED_CHECK_SKIP);
	nested_checks_free(&c);
	fake_free(&f);
}

static void test_probe_real_host(void **state)
{
	struct nested_host h;
	struct nested_checks c;

	/* Whatever this machine is: every check is there, and no checks list is fine too. */
	nested_checks_init(&c);
	assert_int_equal(nested_probe(&h, &c, NULL), 0);
	assert_int_equal(c.n, ARRAY_SIZE(check_order));
	for (size_t i = 0; i < c.n; i++) {
		assert_non_null(c.v[i].detail);
		if (c.v[i].status == NESTED_CHECK_FAIL)
			assert_non_null(c.v[i].fix);
	}
	nested_checks_free(&c);
	assert_int_equal(nested_probe(&h, NULL, NULL), 0);
	assert_true(h.vendor_id[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vendor),
		cmocka_unit_test(test_has_virt),
		cmocka_unit_test(test_policy_matrix),
		cmocka_unit_test(test_policy_messages),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_can_nest),
		cmocka_unit_test(test_msrs_and_ops),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_probe_amd_no_kvm),
		cmocka_unit_test(test_probe_amd_nested_off),
		cmocka_unit_test(test_probe_intel),
		cmocka_unit_test(test_probe_no_module_vm_host),
		cmocka_unit_test(test_probe_not_kvm),
		cmocka_unit_test(test_probe_backends),
		cmocka_unit_test(test_probe_real_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
