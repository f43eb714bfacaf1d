// SPDX-License-Identifier: MIT
/*
 * The CPUID/MSR policy for nested virtualization: pure functions over a CPUID
 * table (KVM's supported table in, one vCPU's table out) and the host facts
 * the probe found. Nothing here touches the host.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nested.h"
#include "nested_internal.h"

/* ---- vendors ---- */

const char *nested_vendor_name(enum cpu_vendor v)
{
	switch (v) {
	case VENDOR_INTEL:
		return "Intel";
	case VENDOR_AMD:
		return "AMD";
	case VENDOR_HYGON:
		return "Hygon";
	case VENDOR_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *nested_virt_name(enum cpu_vendor v)
{
	switch (v) {
	case VENDOR_INTEL:
		return "VMX";
	case VENDOR_AMD:
	case VENDOR_HYGON:
		return "SVM";
	case VENDOR_UNKNOWN:
		break;
	}
	return NULL;
}

const char *nested_kvm_module(enum cpu_vendor v)
{
	switch (v) {
	case VENDOR_INTEL:
		return "kvm_intel";
	case VENDOR_AMD:
	case VENDOR_HYGON:
		return "kvm_amd";
	case VENDOR_UNKNOWN:
		break;
	}
	return NULL;
}

const char *nv_virt_bit_name(enum cpu_vendor v)
{
	return v == VENDOR_INTEL ? "CPUID leaf 0x1 ECX bit 5 (VMX)"
					: "CPUID leaf 0x80000001 ECX bit 2 (SVM)";
}

const char *nv_virt_bit_where(enum cpu_vendor v)
{
	return v == VENDOR_INTEL ? "CPUID leaf 0x1 ECX bit 5" : "CPUID leaf 0x80000001 ECX bit 2";
}

/* ---- fixes ---- */

char *nv_fix_nested_param(enum cpu_vendor v, char *buf, size_t cap)
{
	const char *m = nested_kvm_module(v);
	if (!m)
		snprintf(buf, cap, "load kvm_intel or kvm_amd with nested=1");
	else
		snprintf(buf, cap, "modprobe -r %s && modprobe %s nested=1 (with every VM stopped); "
			"to keep it across reboots, add `options %s nested=1` to "
			"/etc/modprobe.d/kvm-nested.conf", m, m, m);
	return buf;
}

char *nv_fix_kvm_device(enum cpu_vendor v, int e, char *buf, size_t cap)
{
	const char *m = nested_kvm_module(v);
	if (e == EACCES || e == EPERM)
		snprintf(buf, cap, "give this user access: add it to the kvm group "
			"(usermod -aG kvm USER, then log in again), or run as root");
	else if (m)
		snprintf(buf, cap, "load the KVM module: modprobe %s; if that fails, enable %s in the "
			"firmware (BIOS/UEFI) setup, or, when this host is itself a VM, enable nested "
			"virtualization on the outer hypervisor", m,
			v == VENDOR_INTEL ? "Intel VT-x" : "AMD-V (SVM)");
	else
		snprintf(buf, cap, "load the KVM module: modprobe kvm_intel (Intel) or modprobe "
			"kvm_amd (AMD); if that fails, enable VT-x/AMD-V in the firmware (BIOS/UEFI) "
			"setup, or enable nested virtualization on the outer hypervisor");
	return buf;
}

char *nv_fix_cpu_virt(enum cpu_vendor v, enum nested_tristate is_vm, char *buf, size_t cap)
{
	const char *what = v == VENDOR_INTEL ? "VMX" : "SVM";
	if (is_vm == NESTED_YES)
		snprintf(buf, cap, "this host is a virtual machine: turn on nested virtualization for "
			"it on the outer hypervisor (for KVM: load %s with nested=1 there and give "
			"this VM the %s CPU flag; for Hyper-V: Set-VMProcessor "
			"-ExposeVirtualizationExtensions $true)",
			v == VENDOR_INTEL ? "kvm_intel" : "kvm_amd", what);
	else
		snprintf(buf, cap, "enable %s in the firmware (BIOS/UEFI) setup, then power-cycle",
			v == VENDOR_INTEL ? "Intel VT-x (Virtualization Technology)"
						  : "AMD-V (SVM Mode)");
	return buf;
}

/* ---- host ---- */

void nested_host_init(struct nested_host *h)
{
	memset(h, 0, sizeof(*h));
	h->cpu_virt = h->is_vm = h->module_loaded = h->nested_param = h->tdp = NESTED_UNKNOWN;
	h->kvm_ok = h->kvm_cpuid_virt = NESTED_UNKNOWN;
	h->api_version = -1;
	h->nested_state_size = -1;
}

bool nested_host_can_nest(const struct nested_host *h)
{
	return h->vendor != VENDOR_UNKNOWN && h->kvm_ok != NESTED_NO &&
		h->backend != NESTED_BACKEND_PVM &&
		h->cpu_virt != NESTED_NO && h->module_loaded != NESTED_NO &&
		h->nested_param != NESTED_NO && h->kvm_cpuid_virt != NESTED_NO;
}

char *nested_explain(const struct nested_host *h, enum cpu_vendor v,
	enum nested_tristate table_has_bit, char *buf, size_t cap)
{
	char fix[512];
	const char *virt = nested_virt_name(v), *m = nested_kvm_module(v);

	if (table_has_bit == NESTED_UNKNOWN && h)
		table_has_bit = h->kvm_cpuid_virt;
	if (!virt) {
		snprintf(buf, cap, "the CPU vendor is neither Intel nor AMD/Hygon; nestvmm can only "
			"expose VMX (CPUID leaf 0x1 ECX bit 5) or SVM (CPUID leaf 0x80000001 ECX bit 2)");
	} else if (h && h->backend == NESTED_BACKEND_PVM) {
		snprintf(buf, cap, "%s", nested_pvm_explanation());
	} else if (h && h->kvm_ok == NESTED_NO) {
		snprintf(buf, cap, "%s is not usable: %s (fix: %s)", h->kvm_path[0] ? h->kvm_path :
			"/dev/kvm", strerror(h->kvm_errno ? h->kvm_errno : ENODEV),
			nv_fix_kvm_device(v, h->kvm_errno, fix, sizeof(fix)));
	} else if (h && h->cpu_virt == NESTED_NO) {
		snprintf(buf, cap, "the host CPU does not have %s%s (fix: %s)", virt,
			h->is_vm == NESTED_YES ? ": this host is itself a virtual machine whose "
				"hypervisor does not pass it on" : "",
			nv_fix_cpu_virt(v, h->is_vm, fix, sizeof(fix)));
	} else if (h && h->module_loaded == NESTED_NO) {
		snprintf(buf, cap, "%s is not loaded (fix: modprobe %s nested=1)", m, m);
	} else if (h && h->nested_param == NESTED_NO) {
		snprintf(buf, cap, "%s is loaded with nested=%s (fix: %s)", m,
			v == VENDOR_INTEL ? "N" : "0", nv_fix_nested_param(v, fix, sizeof(fix)));
	} else if (table_has_bit == NESTED_NO) {
		snprintf(buf, cap, "KVM_GET_SUPPORTED_CPUID does not report %s (fix: %s; "
			"`vmm nested status` shows every host check)", virt,
			nv_fix_nested_param(v, fix, sizeof(fix)));
	} else {
		snprintf(buf, cap, "nothing known prevents it");
	}
	return buf;
}

/* ---- CPUID ---- */

static bool bit(const struct cpuid_table *t, uint32_t leaf, unsigned b)
{
	const struct cpuid_entry *e = cpuid_find(t, leaf, 0);
	return e && (e->ecx >> b) & 1;
}

bool nested_cpuid_has_virt(const struct cpuid_table *t)
{
	switch (cpuid_vendor(t, NULL)) {
	case VENDOR_INTEL:
		return bit(t, NESTED_VMX_LEAF, NESTED_VMX_BIT);
	case VENDOR_AMD:
	case VENDOR_HYGON:
		return bit(t, NESTED_SVM_LEAF, NESTED_SVM_BIT);
	case VENDOR_UNKNOWN:
		break;
	}
	return false;
}

void nested_cpuid_hide(struct cpuid_table *t)
{
	struct cpuid_entry *e;
	if ((e = cpuid_find(t, NESTED_VMX_LEAF, 0)))
		e->ecx &= ~(1u << NESTED_VMX_BIT);
	if ((e = cpuid_find(t, NESTED_SVM_LEAF, 0)))
		e->ecx &= ~(1u << NESTED_SVM_BIT);
	if ((e = cpuid_find(t, NESTED_SVM_INFO_LEAF, 0)))
		e->eax = e->ebx = e->ecx = e->edx = 0;
}

int nested_cpuid_apply(struct cpuid_table *t, enum nested_mode mode, const struct nested_host *h,
	struct diag *d, bool *exposed)
{
	char id[13], why[1024];
	enum cpu_vendor v = cpuid_vendor(t, id);
	bool has = nested_cpuid_has_virt(t);
	bool can = has && (!h || h->nested_param != NESTED_NO);

	if (exposed)
		*exposed = false;
	if (mode == NESTED_OFF || !can) {
		nested_cpuid_hide(t);
		if (mode != NESTED_ON)
			return 0;
		if (!d)
			return -ENOTSUP;
		if (v == VENDOR_UNKNOWN)
			diag_add(d, NULL, 0, 0, "nested = \"on\": the CPU vendor \"%s\" is neither "
				"Intel nor AMD/Hygon; nestvmm can only expose VMX (CPUID leaf 0x1 ECX bit 5) "
				"or SVM (CPUID leaf 0x80000001 ECX bit 2)", id);
		else
			diag_add(d, NULL, 0, 0, "nested = \"on\": %s %s: %s", nv_virt_bit_name(v),
				has ? "cannot be exposed on this host" : "is not offered by this host's KVM",
				nested_explain(h, v, has ? NESTED_YES : NESTED_NO, why, sizeof(why)));
		return -ENOTSUP;
	}
	/*
	 * Expose: the vendor's bit is already there, and on AMD leaf 0x8000000A
	 * (SVM revision, ASIDs, nested features) stays as KVM reports it. The
	 * other vendor's bits are never set by KVM; clear them anyway.
	 */
	struct cpuid_entry *e;
	if (v == VENDOR_INTEL) {
		if ((e = cpuid_find(t, NESTED_SVM_LEAF, 0)))
			e->ecx &= ~(1u << NESTED_SVM_BIT);
		if ((e = cpuid_find(t, NESTED_SVM_INFO_LEAF, 0)))
			e->eax = e->ebx = e->ecx = e->edx = 0;
	} else if ((e = cpuid_find(t, NESTED_VMX_LEAF, 0))) {
		e->ecx &= ~(1u << NESTED_VMX_BIT);
	}
	if (exposed)
		*exposed = true;
	return 0;
}

/* ---- MSRs ---- */

size_t nested_msr_policy(enum cpu_vendor v, bool exposed, struct nested_msr *out, size_t cap)
{
	if (v != VENDOR_INTEL || !exposed)
		return 0;
	if (cap >= 1)
		out[0] = (struct nested_msr){ NESTED_MSR_IA32_FEATURE_CONTROL,
			NESTED_FEATURE_CONTROL_LOCKED | NESTED_FEATURE_CONTROL_VMXON_OUTSIDE_SMX };
	return 1;
}

/* ---- operations ---- */

const char *nested_op_refusal(enum nested_op op, bool exposed, int nested_state_size,
	bool carries_state)
{
	if (!exposed)
		return NULL;
	switch (op) {
	case NESTED_OP_MEMORY_RESIZE:
		return "memory cannot be resized on a VM with nested virtualization: a nested "
		       "guest's memory would change under it";
	case NESTED_OP_BALLOON:
		return "a VM with nested virtualization has no balloon: memory taken back from the "
		       "guest may back a nested guest";
	case NESTED_OP_SNAPSHOT:
	case NESTED_OP_SAVE:
	case NESTED_OP_MIGRATE:
		if (nested_state_size > 0 && carries_state)
			return NULL;
		if (nested_state_size <= 0)
			return "this host's KVM does not report KVM_CAP_NESTED_STATE, so the state of a "
			       "running nested guest cannot be saved; stop the nested guests and turn "
			       "nested off, or use a host kernel with nested state support";
		return "this operation does not save the nested guest's state "
		       "(KVM_GET_NESTED_STATE); it is refused while nested virtualization is on";
	}
	return NULL;
}
