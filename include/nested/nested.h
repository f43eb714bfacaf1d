/* SPDX-License-Identifier: MIT */
/*
 * The nested layer: whether a guest may itself be a hypervisor.
 *
 *  - policy (src/nested/policy.c): pure functions over a CPUID table. They
 *    expose or hide VMX (Intel: CPUID leaf 0x1 ECX bit 5) and SVM (AMD and
 *    Hygon: leaf 0x80000001 ECX bit 2, with leaf 0x8000000A) according to the
 *    VM's `nested` setting and what the host can do.
 *  - probe (src/nested/probe.c): reads the host (/dev/kvm, its API version
 *    and capabilities, the host CPU's own CPUID, the kvm_intel/kvm_amd module
 *    parameters in sysfs, /proc/meminfo) into a struct nested_host and a list
 *    of checks, each with a verdict, a detail and, when it fails, a fix.
 *  - rules (src/nested/rules.c): what a VM that exposes VMX/SVM must satisfy
 *    (>= 2 vCPUs, no balloon, mac_spoofing on every NIC).
 *  - enable (src/nested/enable.c): rewrites a VM's TOML file so that every
 *    rule holds, keeping everything else byte for byte.
 *
 * The `vmm nested` command line (src/cli/cli_nested.c) ties them together;
 * docs/nested.md documents its output.
 */
#ifndef NV_NESTED_H
#define NV_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuid.h"
#include "util.h"
#include "vm_config.h"

/* Where the virtualization extensions are advertised. */
#define NESTED_VMX_LEAF 0x1u
#define NESTED_VMX_BIT 5u       /* ECX */
#define NESTED_SVM_LEAF 0x80000001u
#define NESTED_SVM_BIT 2u       /* ECX */
#define NESTED_SVM_INFO_LEAF 0x8000000au /* SVM revision, ASIDs, SVM features */
#define NESTED_HYPERVISOR_BIT 31u /* CPUID.1:ECX: running under a hypervisor */

/* ---- vendors (enum cpu_vendor and cpuid_vendor() of include/x86/cpuid.h) ---- */

/* "Intel", "AMD", "Hygon", "unknown". */
const char *nested_vendor_name(enum cpu_vendor v);
/* "VMX" (Intel), "SVM" (AMD, Hygon), NULL (unknown). */
const char *nested_virt_name(enum cpu_vendor v);
/* "kvm_intel", "kvm_amd", NULL. */
const char *nested_kvm_module(enum cpu_vendor v);

/* ---- what the host offers ---- */

enum nested_tristate { NESTED_UNKNOWN = -1, NESTED_NO = 0, NESTED_YES = 1 };

/*
 * Which KVM module provides /dev/kvm, from /sys/module: the hardware
 * backends kvm_intel (VMX) and kvm_amd (SVM), or kvm_pvm (Pagetable-based
 * Virtual Machine: software virtualization without VMX/SVM, for hosts that
 * are VMs without nested virtualization; its guests must be PVM-enabled
 * kernels, and it cannot expose VMX/SVM to them). NONE: no KVM module at
 * all (/sys/module/kvm absent); UNKNOWN: KVM without any of the three.
 */
enum nested_backend {
	NESTED_BACKEND_NONE = 0,
	NESTED_BACKEND_UNKNOWN,
	NESTED_BACKEND_INTEL,
	NESTED_BACKEND_AMD,
	NESTED_BACKEND_PVM,
};

/* From sysfs_root (NULL: /sys)/module. */
enum nested_backend nested_kvm_backend(const char *sysfs_root);
/* "kvm_intel", "kvm_amd", "kvm_pvm", "unknown", "none". */
const char *nested_backend_name(enum nested_backend b);
/*
 * Why a kvm_pvm host cannot run stock kernels or expose VMX/SVM, one line
 * (for `vmm run`'s warning and refusal and the kvm-backend check).
 */
const char *nested_pvm_explanation(void);

struct nested_host {
	enum cpu_vendor vendor;
	char vendor_id[13];                 /* "GenuineIntel"; "" when unknown */
	enum nested_tristate cpu_virt;      /* the host CPU's own CPUID has VMX/SVM */
	enum nested_tristate is_vm;         /* host CPUID.1:ECX[31]: the host is itself a VM */
	enum nested_backend backend;        /* the KVM module behind /dev/kvm */
	char hypervisor_id[13];             /* its leaf 0x40000000 signature, "" if none */
	enum nested_tristate module_loaded; /* /sys/module/kvm_intel (kvm_amd) exists */
	enum nested_tristate nested_param;  /* .../parameters/nested: Y or 1 */
	enum nested_tristate tdp;           /* .../parameters/ept (kvm_intel) or npt (kvm_amd) */
	char kvm_path[256];                 /* the device probed */
	enum nested_tristate kvm_ok;        /* it exists and opens O_RDWR */
	int kvm_errno;                      /* why not (positive errno), 0 when it opened */
	int api_version;                    /* KVM_GET_API_VERSION; -1 when not read */
	enum nested_tristate kvm_cpuid_virt; /* KVM_GET_SUPPORTED_CPUID offers VMX/SVM */
	int nested_state_size;              /* KVM_CAP_NESTED_STATE (0: none); -1 when not read */
	uint64_t mem_total;                 /* /proc/meminfo MemTotal in bytes; 0 when unknown */
};

/* Everything unknown, api_version and nested_state_size -1. */
void nested_host_init(struct nested_host *h);

/*
 * Whether a VM on this host can have VMX/SVM: a known vendor, and nothing
 * known to stand in the way (no /dev/kvm, a kvm_pvm backend, no VMX/SVM in
 * the CPU, the module's nested parameter off, KVM's supported CPUID without
 * the bit). Facts the
 * probe could not read do not count against it.
 */
bool nested_host_can_nest(const struct nested_host *h);

/*
 * Why this host cannot give a guest VMX/SVM, with its fix, for messages:
 * "kvm_amd is loaded with nested=0 (fix: modprobe -r kvm_amd && modprobe
 * kvm_amd nested=1; to keep it, add `options kvm_amd nested=1` to
 * /etc/modprobe.d/kvm-nested.conf)". table_has_bit: KVM's supported CPUID
 * table (NESTED_UNKNOWN: use h->kvm_cpuid_virt). h may be NULL. Writes at
 * most cap bytes (NUL included) and returns buf.
 */
char *nested_explain(const struct nested_host *h, enum cpu_vendor v,
	enum nested_tristate table_has_bit, char *buf, size_t cap);

/* ---- the CPUID/MSR policy ---- */

/*
 * Applies the VM's nested mode to one vCPU's CPUID table t, which starts as
 * KVM's supported table (KVM_GET_SUPPORTED_CPUID: it carries VMX/SVM exactly
 * when kvm_intel/kvm_amd runs with nested on). h is the host probe (NULL:
 * trust the table alone).
 *
 *   off:  clears VMX (leaf 0x1 ECX bit 5), SVM (leaf 0x80000001 ECX bit 2)
 *         and zeroes leaf 0x8000000A, whatever the table had.
 *   auto: keeps the vendor's bit (and leaf 0x8000000A as KVM reports it)
 *         when the host can nest: the table has the bit and the module's
 *         nested parameter is not known to be off; hides them otherwise.
 *   on:   as auto when the host can nest; otherwise hides them, appends one
 *         message to d (may be NULL) naming the leaf, register and bit, why
 *         and the fix, and returns -ENOTSUP.
 *
 * *exposed (may be NULL) tells whether the guest sees VMX/SVM. Returns 0 or
 * -ENOTSUP. Deterministic: calling it for every vCPU gives the same answer.
 */
int nested_cpuid_apply(struct cpuid_table *t, enum nested_mode mode, const struct nested_host *h,
	struct diag *d, bool *exposed);

/* Whether t advertises VMX (Intel) or SVM (AMD, Hygon) for its vendor. */
bool nested_cpuid_has_virt(const struct cpuid_table *t);

/* Clears VMX, SVM and leaf 0x8000000A, like `off`. */
void nested_cpuid_hide(struct cpuid_table *t);

struct nested_msr {
	uint32_t index;
	uint64_t value;
};

#define NESTED_MSR_IA32_FEATURE_CONTROL 0x3au
#define NESTED_FEATURE_CONTROL_LOCKED (1ull << 0)
#define NESTED_FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)

/*
 * MSR values firmware would have left for a vCPU, to set with KVM_SET_MSRS
 * after KVM_SET_CPUID2: an Intel vCPU that exposes VMX gets
 * IA32_FEATURE_CONTROL = locked | VMXON outside SMX (nestvmm boots Linux
 * without firmware; kernels before 5.6 do not enable VMX there themselves).
 * AMD needs none (KVM's VM_CR leaves SVM enabled). Returns the number of
 * entries (at most cap are written; never more than 1 today).
 */
size_t nested_msr_policy(enum cpu_vendor v, bool exposed, struct nested_msr *out, size_t cap);

/*
 * Operations that cannot coexist with a running nested guest. Returns NULL
 * when op may run, or a static message saying why not: memory resize and
 * the balloon always on a VM that exposes VMX/SVM; snapshot, save and
 * migration unless the host reports KVM_CAP_NESTED_STATE (state_size > 0)
 * and the operation carries that state (carries_state).
 */
enum nested_op {
	NESTED_OP_MEMORY_RESIZE,
	NESTED_OP_BALLOON,
	NESTED_OP_SNAPSHOT,
	NESTED_OP_SAVE,
	NESTED_OP_MIGRATE,
};
const char *nested_op_refusal(enum nested_op op, bool exposed, int nested_state_size,
	bool carries_state);

/* ---- checks (the preflight's results) ---- */

enum nested_verdict {
	NESTED_CHECK_OK,
	NESTED_CHECK_WARN, /* works, but slow or limited */
	NESTED_CHECK_FAIL, /* nesting cannot work until fixed */
	NESTED_CHECK_INFO, /* a fact, no judgement */
	NESTED_CHECK_SKIP, /* not checked: an earlier check failed, or it does not apply */
};

struct nested_check {
	const char *id;  /* static, stable: "kvm-device", "nested-param", ... (docs/nested.md) */
	enum nested_verdict status;
	char *detail;    /* one line */
	char *fix;       /* NULL, or lines separated by '\n' */
};

struct nested_checks {
	struct nested_check *v;
	size_t n, cap;
};

void nested_checks_init(struct nested_checks *c);
void nested_checks_free(struct nested_checks *c); /* c may be NULL */
/* Appends one check; fix may be NULL. 0 or -ENOMEM. */
int nested_checks_add(struct nested_checks *c, const char *id, enum nested_verdict status,
	const char *fix, const char *fmt, ...) NV_PRINTF(5, 6);
/* Number of checks with that verdict. */
size_t nested_checks_count(const struct nested_checks *c, enum nested_verdict status);
/* "ok", "warn", "fail", "info", "skip". */
const char *nested_verdict_name(enum nested_verdict v);

/* ---- the host probe ---- */

/* Where the host is read; the command line fills it from VMM_KVM_DEVICE etc. */
struct nested_probe_opts {
	const char *kvm_path;   /* NULL: /dev/kvm */
	const char *sysfs_root; /* NULL: /sys */
	const char *proc_root;  /* NULL: /proc */
	/* The host CPU's CPUID (leaves 0, 1, 0x40000000, 0x80000001); NULL: the
	 * cpuid instruction. For tests. */
	const struct cpuid_table *host_cpuid;
};

/*
 * Reads the host into h and, when checks is not NULL, appends one check per
 * fact in a fixed order (ids in docs/nested.md). o may be NULL. Nothing here
 * fails on a missing device or file: that is a check's verdict. Returns 0 or
 * -ENOMEM.
 */
int nested_probe(struct nested_host *h, struct nested_checks *checks,
	const struct nested_probe_opts *o);

/* ---- the rules ---- */

/*
 * Whether cfg's guest gets VMX/SVM: on -> true, off -> false, auto -> what
 * nested_host_can_nest(h) says (h NULL: false).
 */
bool nested_exposes(const struct vm_config *cfg, const struct nested_host *h);

/*
 * The rules for a VM whose nested setting is `on`, or `auto` where it exposes
 * VMX/SVM (exposed_or_on): >= 2 vCPUs; no balloon and no runtime memory
 * resize; mac_spoofing = true on every NIC. Appends one message per violated
 * rule to d, all at once, each naming the values and ending with the hint
 * "(run `vmm nested enable FILE`)". Returns 0 or -EINVAL. With
 * exposed_or_on false nothing applies and it returns 0.
 */
int nested_rules_check(const struct vm_config *cfg, bool exposed_or_on, struct diag *d);
/* The same with exposed_or_on = nested_exposes(cfg, h). */
int nested_rules_check_host(const struct vm_config *cfg, const struct nested_host *h,
	struct diag *d);
/*
 * The rules as checks (ids vm-cpus, vm-balloon, vm-mac-spoofing): ok or fail
 * when they apply, skip otherwise. 0 or -ENOMEM.
 */
int nested_rules_checks(const struct vm_config *cfg, bool exposed_or_on, struct nested_checks *c);

/* ---- `vmm nested enable`: the rewrite ---- */

struct nested_enable_opts {
	const char *memory; /* NULL: keep; else a size as `vmm run --memory` takes it ("4G") */
};

struct nested_enable_result {
	char *text;      /* the new file, NUL-terminated */
	size_t len;
	char **changes;  /* "cpus: 1 -> 2", ...; none when the file already complies */
	size_t nchanges;
};

/*
 * Rewrites the VM definition src[0..len) (name: for messages) so that every
 * rule holds: nested = "on" (set, or inserted at the top level), cpus raised
 * to 2 (or inserted), [balloon] enabled = false, mac_spoofing = true on every
 * NIC, memory set when o->memory is given. Everything else is kept byte for
 * byte: comments, order, quoting, line endings. The input must load as a
 * vm_config; the output is reloaded and checked against the rules before it
 * is returned. Returns 0 and *r (free with nested_enable_result_free), or
 * -EINVAL with the reasons in d (the input does not load, a bad --memory),
 * -EPROTO (the rewrite would not load or comply: a bug; reasons in d), -ENOMEM.
 */
int nested_enable_rewrite(const char *name, const char *src, size_t len,
	const struct nested_enable_opts *o, struct nested_enable_result *r, struct diag *d);
void nested_enable_result_free(struct nested_enable_result *r); /* r may be NULL */

#endif
