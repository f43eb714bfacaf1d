// SPDX-License-Identifier: MIT
/*
 * The host preflight: can a guest on this host be a hypervisor? Reads the
 * KVM device, the host CPU's own CPUID, the kvm_intel/kvm_amd module
 * parameters and /proc/meminfo; every fact becomes a check with a verdict,
 * a detail and, when it fails, a fix. Nothing here refuses to go on: a
 * missing device or file is a verdict, not an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nested.h"
#include "nested_internal.h"

_Static_assert(sizeof(struct cpuid_entry) == sizeof(struct kvm_cpuid_entry2),
	"cpuid_entry must mirror kvm_cpuid_entry2");

#define HOST_LEAVES 5

/* The host CPU's own CPUID: the leaves the probe reads. */
static void host_cpuid(struct cpuid_entry e[HOST_LEAVES], struct cpuid_table *t)
{
	static const uint32_t leaves[HOST_LEAVES] = { 0, 1, 0x40000000, 0x80000000, 0x80000001 };
	uint32_t max_ext = 0, r[4];

	memset(e, 0, HOST_LEAVES * sizeof(*e));
	t->e = e;
	t->n = 0;
	for (size_t i = 0; i < HOST_LEAVES; i++) {
		if (leaves[i] == 0x80000001 && max_ext < 0x80000001)
			continue;
		cpuid_host(leaves[i], 0, r);
		if (leaves[i] == 0x80000000)
			max_ext = r[0];
		e[t->n++] = (struct cpuid_entry){ .function = leaves[i], .eax = r[0], .ebx = r[1],
			.ecx = r[2], .edx = r[3] };
	}
}

static const char *or_default(const char *given, const char *dflt)
{
	return given && *given ? given : dflt;
}

enum nested_backend nested_kvm_backend(const char *sysfs_root)
{
	static const struct {
		const char *module;
		enum nested_backend b;
	} order[] = {
		/* kvm_pvm first: where it is loaded, it is what answers on /dev/kvm. */
		{ "kvm_pvm", NESTED_BACKEND_PVM },
		{ "kvm_intel", NESTED_BACKEND_INTEL },
		{ "kvm_amd", NESTED_BACKEND_AMD },
	};
	const char *sys = or_default(sysfs_root, "/sys");
	char path[600];
	struct stat st;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(path, sizeof(path), "%s/module/%s", sys, order[i].module);
		if (stat(path, &st) == 0)
			return order[i].b;
	}
	snprintf(path, sizeof(path), "%s/module/kvm", sys);
	return stat(path, &st) == 0 ? NESTED_BACKEND_UNKNOWN : NESTED_BACKEND_NONE;
}

const char *nested_backend_name(enum nested_backend b)
{
	switch (b) {
	case NESTED_BACKEND_INTEL:
		return "kvm_intel";
	case NESTED_BACKEND_AMD:
		return "kvm_amd";
	case NESTED_BACKEND_PVM:
		return "kvm_pvm";
	case NESTED_BACKEND_UNKNOWN:
		return "unknown";
	case NESTED_BACKEND_NONE:
		break;
	}
	return "none";
}

const char *nested_pvm_explanation(void)
{
	return "/dev/kvm is provided by kvm_pvm (Pagetable-based Virtual Machine), software "
		"virtualization without VMX/SVM: it cannot expose VMX/SVM to its guests, and only "
		"PVM-enabled guest kernels boot there (a stock distro kernel stops early with a KVM "
		"internal error)";
}

/* Reads a small text file into buf (trailing whitespace stripped). 0 or -errno. */
static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, cap - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = 0;
	return 0;
}

/* A module parameter: Y/y/1 yes, N/n/0 no (kvm_intel's bools read Y/N, kvm_amd's ints 1/0). */
static enum nested_tristate read_param(const char *sys, const char *module, const char *param,
	char *path, size_t pathcap, int *err)
{
	char buf[32];
	snprintf(path, pathcap, "%s/module/%s/parameters/%s", sys, module, param);
	*err = read_small(path, buf, sizeof(buf));
	if (*err < 0)
		return NESTED_UNKNOWN;
	if (!strcmp(buf, "Y") || !strcmp(buf, "y") || !strcmp(buf, "1"))
		return NESTED_YES;
	if (!strcmp(buf, "N") || !strcmp(buf, "n") || !strcmp(buf, "0"))
		return NESTED_NO;
	*err = -EINVAL;
	return NESTED_UNKNOWN;
}

static uint64_t read_memtotal(const char *proc)
{
	char path[512], line[256];
	unsigned long long kb = 0;
	snprintf(path, sizeof(path), "%s/meminfo", proc);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* KVM_GET_SUPPORTED_CPUID: whether it offers the vendor's VMX/SVM bit. */
static enum nested_tristate kvm_offers_virt(int fd)
{
	enum nested_tristate r = NESTED_UNKNOWN;
	for (uint32_t nent = 256; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NESTED_UNKNOWN;
		c->nent = nent;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			struct cpuid_table t = { (struct cpuid_entry *)c->entries, c->nent };
			if (cpuid_vendor(&t, NULL) != VENDOR_UNKNOWN)
				r = nested_cpuid_has_virt(&t) ? NESTED_YES : NESTED_NO;
			free(c);
			return r;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			break;
	}
	return r;
}

struct probe {
	struct nested_host *h;
	struct nested_checks *c;
	int rc; /* the first -ENOMEM */
};

static void add(struct probe *p, const char *id, enum nested_verdict st, const char *fix,
	const char *fmt, ...) NV_PRINTF(5, 6);
static void add(struct probe *p, const char *id, enum nested_verdict st, const char *fix,
	const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	if (!p->c)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (nested_checks_add(p->c, id, st, fix, "%s", detail) < 0 && !p->rc)
		p->rc = -ENOMEM;
}

static void probe_cpu(struct probe *p, const struct nested_probe_opts *o)
{
	struct nested_host *h = p->h;
	struct cpuid_entry ent[HOST_LEAVES];
	struct cpuid_table own;
	const struct cpuid_table *t = o && o->host_cpuid ? o->host_cpuid : &own;
	const struct cpuid_entry *e;
	char fix[512];

	if (t == &own)
		host_cpuid(ent, &own);
	h->vendor = cpuid_vendor(t, h->vendor_id);
	if ((e = cpuid_find(t, 1, 0)))
		h->is_vm = (e->ecx >> NESTED_HYPERVISOR_BIT) & 1 ? NESTED_YES : NESTED_NO;
	if (h->is_vm == NESTED_YES && (e = cpuid_find(t, 0x40000000, 0))) {
		memcpy(h->hypervisor_id, &e->ebx, 4);
		memcpy(h->hypervisor_id + 4, &e->ecx, 4);
		memcpy(h->hypervisor_id + 8, &e->edx, 4);
		h->hypervisor_id[12] = 0;
		for (int i = 0; i < 12; i++) /* printable, for JSON and terminals */
			if (h->hypervisor_id[i] && (h->hypervisor_id[i] < 0x20 || h->hypervisor_id[i] > 0x7e))
				h->hypervisor_id[i] = '?';
	}
	for (int i = 0; i < 12; i++)
		if (h->vendor_id[i] && (h->vendor_id[i] < 0x20 || h->vendor_id[i] > 0x7e))
			h->vendor_id[i] = '?';
	if (h->vendor != VENDOR_UNKNOWN)
		h->cpu_virt = nested_cpuid_has_virt(t) ? NESTED_YES : NESTED_NO;

	const char *virt = nested_virt_name(h->vendor);
	if (h->vendor == VENDOR_UNKNOWN)
		add(p, "cpu-vendor", NESTED_CHECK_FAIL, "none: nestvmm needs an Intel, AMD or Hygon CPU",
			"CPU vendor \"%s\" is neither Intel nor AMD/Hygon: nestvmm can only expose VMX "
			"or SVM", h->vendor_id);
	else
		add(p, "cpu-vendor", NESTED_CHECK_OK, NULL, "%s (%s): nesting uses %s and %s",
			h->vendor_id, nested_vendor_name(h->vendor), virt, nested_kvm_module(h->vendor));
	if (h->cpu_virt == NESTED_YES)
		add(p, "cpu-virt", NESTED_CHECK_OK, NULL, "the host CPU has %s (%s)", virt,
			nv_virt_bit_name(h->vendor));
	else if (h->cpu_virt == NESTED_NO)
		add(p, "cpu-virt", NESTED_CHECK_FAIL, nv_fix_cpu_virt(h->vendor, h->is_vm, fix,
			sizeof(fix)), "the host CPU does not have %s (%s is clear)%s", virt,
			nv_virt_bit_where(h->vendor), h->is_vm == NESTED_YES ?
			": this host is a VM whose hypervisor does not pass it on" : "");
	else
		add(p, "cpu-virt", NESTED_CHECK_SKIP, NULL, "not checked: unknown CPU vendor");
}

static void probe_kvm(struct probe *p, const struct nested_probe_opts *o)
{
	struct nested_host *h = p->h;
	char fix[512];
	const char *path = or_default(o ? o->kvm_path : NULL, "/dev/kvm");

	snprintf(h->kvm_path, sizeof(h->kvm_path), "%s", path);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		h->kvm_errno = errno;
		h->kvm_ok = NESTED_NO;
		nv_fix_kvm_device(h->vendor, h->kvm_errno, fix, sizeof(fix));
		if (h->kvm_errno == ENOENT)
			add(p, "kvm-device", NESTED_CHECK_FAIL, fix, "%s does not exist: KVM is not "
				"available on this host", path);
		else
			add(p, "kvm-device", NESTED_CHECK_FAIL, fix, "%s cannot be opened read-write: %s",
				path, strerror(h->kvm_errno));
		add(p, "kvm-api", NESTED_CHECK_SKIP, NULL, "not checked: no usable KVM device");
		return;
	}
	h->kvm_ok = NESTED_YES;
	add(p, "kvm-device", NESTED_CHECK_OK, NULL, "%s opens read-write", path);
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	h->api_version = api < 0 ? -1 : api;
	if (api != KVM_API_VERSION) {
		h->kvm_ok = NESTED_NO;
		h->kvm_errno = api < 0 ? errno : EPROTO;
		if (api < 0)
			add(p, "kvm-api", NESTED_CHECK_FAIL, "point VMM_KVM_DEVICE at the KVM device, "
				"or unset it to use /dev/kvm", "%s is not a KVM device: "
				"KVM_GET_API_VERSION failed: %s", path, strerror(errno));
		else
			add(p, "kvm-api", NESTED_CHECK_FAIL, "use a Linux kernel whose KVM speaks API "
				"version 12 (every kernel since 2.6.22)", "KVM_GET_API_VERSION is %d, "
				"nestvmm needs %d", api, KVM_API_VERSION);
		close(fd);
		return;
	}
	add(p, "kvm-api", NESTED_CHECK_OK, NULL, "KVM_GET_API_VERSION is %d", api);
	h->kvm_cpuid_virt = kvm_offers_virt(fd);
	int size = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
	h->nested_state_size = size < 0 ? 0 : size;
	close(fd);
}

static void probe_backend(struct probe *p, const struct nested_probe_opts *o)
{
	struct nested_host *h = p->h;
	const char *virt = nested_virt_name(h->vendor) ? nested_virt_name(h->vendor) : "VMX/SVM";

	h->backend = nested_kvm_backend(o ? o->sysfs_root : NULL);
	switch (h->backend) {
	case NESTED_BACKEND_PVM:
		add(p, "kvm-backend", NESTED_CHECK_FAIL, "none on this host: run nested guests (and "
			"stock kernels) on a host with hardware virtualization (Intel VT-x or AMD-V), "
			"or on a VM whose hypervisor passes VMX/SVM on to it", "%s",
			nested_pvm_explanation());
		break;
	case NESTED_BACKEND_INTEL:
	case NESTED_BACKEND_AMD:
		if (h->cpu_virt == NESTED_NO)
			add(p, "kvm-backend", NESTED_CHECK_WARN, NULL, "%s is loaded, but the CPU shows "
				"no %s", nested_backend_name(h->backend), virt);
		else
			add(p, "kvm-backend", NESTED_CHECK_OK, NULL, "%s: hardware virtualization (%s)",
				nested_backend_name(h->backend), h->backend == NESTED_BACKEND_INTEL ?
				"VMX" : "SVM");
		break;
	case NESTED_BACKEND_UNKNOWN:
		add(p, "kvm-backend", NESTED_CHECK_WARN, NULL, "kvm is loaded, but none of kvm_intel, "
			"kvm_amd or kvm_pvm: the backend behind %s is unknown", h->kvm_path);
		break;
	case NESTED_BACKEND_NONE:
		add(p, "kvm-backend", NESTED_CHECK_SKIP, NULL, "no KVM module is loaded");
		break;
	}
}

static void probe_module(struct probe *p, const struct nested_probe_opts *o)
{
	struct nested_host *h = p->h;
	const char *sys = or_default(o ? o->sysfs_root : NULL, "/sys");
	const char *m = nested_kvm_module(h->vendor);
	char path[600], fix[1024];
	struct stat st;
	int err;

	if (h->backend == NESTED_BACKEND_PVM) {
		/* No vendor module can stand beside it: nothing to load, nothing to fix. */
		add(p, "kvm-module", NESTED_CHECK_SKIP, NULL, "not checked: KVM is kvm_pvm");
		add(p, "nested-param", NESTED_CHECK_SKIP, NULL, "not checked: KVM is kvm_pvm");
		return;
	}
	if (!m) {
		add(p, "kvm-module", NESTED_CHECK_SKIP, NULL, "not checked: unknown CPU vendor");
		add(p, "nested-param", NESTED_CHECK_SKIP, NULL, "not checked: unknown CPU vendor");
		return;
	}
	snprintf(path, sizeof(path), "%s/module/%s", sys, m);
	h->module_loaded = stat(path, &st) == 0 ? NESTED_YES : NESTED_NO;
	if (h->module_loaded == NESTED_NO) {
		snprintf(fix, sizeof(fix), "modprobe %s nested=1", m);
		add(p, "kvm-module", NESTED_CHECK_FAIL, fix, "%s is not loaded (no %s)", m, path);
		add(p, "nested-param", NESTED_CHECK_SKIP, NULL, "not checked: %s is not loaded", m);
		return;
	}
	add(p, "kvm-module", NESTED_CHECK_OK, NULL, "%s is loaded", m);
	h->tdp = read_param(sys, m, h->vendor == VENDOR_INTEL ? "ept" : "npt", path,
		sizeof(path), &err);
	h->nested_param = read_param(sys, m, "nested", path, sizeof(path), &err);
	if (h->nested_param == NESTED_YES) {
		add(p, "nested-param", NESTED_CHECK_OK, NULL, "%s is loaded with nested=%s", m,
			h->vendor == VENDOR_INTEL ? "Y" : "1");
	} else if (h->nested_param == NESTED_NO) {
		snprintf(fix, sizeof(fix), "modprobe -r %s && modprobe %s nested=1   "
			"(with every VM stopped)\necho 'options %s nested=1' > "
			"/etc/modprobe.d/kvm-nested.conf   (keeps it across reboots)", m, m, m);
		add(p, "nested-param", NESTED_CHECK_FAIL, fix, "%s is loaded with nested=%s: KVM "
			"gives no guest %s", m, h->vendor == VENDOR_INTEL ? "N" : "0",
			nested_virt_name(h->vendor));
	} else {
		add(p, "nested-param", NESTED_CHECK_WARN, NULL, "cannot read %s: %s", path,
			err == -EINVAL ? "not Y/N or 1/0" : strerror(-err));
	}
}

static void report_kvm_caps(struct probe *p)
{
	struct nested_host *h = p->h;
	const char *virt = nested_virt_name(h->vendor);
	char fix[512];

	if (h->kvm_ok != NESTED_YES) {
		add(p, "kvm-cpuid", NESTED_CHECK_SKIP, NULL, "not checked: no usable KVM device");
		add(p, "nested-state", NESTED_CHECK_SKIP, NULL, "not checked: no usable KVM device");
	} else if (h->backend == NESTED_BACKEND_PVM) {
		add(p, "kvm-cpuid", NESTED_CHECK_SKIP, NULL, "not checked: kvm_pvm offers no %s",
			virt ? virt : "VMX/SVM");
		add(p, "nested-state", NESTED_CHECK_SKIP, NULL, "not checked: KVM is kvm_pvm");
	} else {
		if (h->kvm_cpuid_virt == NESTED_YES)
			add(p, "kvm-cpuid", NESTED_CHECK_OK, NULL, "KVM_GET_SUPPORTED_CPUID offers %s "
				"(%s)", virt, nv_virt_bit_name(h->vendor));
		else if (h->kvm_cpuid_virt == NESTED_NO)
			add(p, "kvm-cpuid", NESTED_CHECK_FAIL, nv_fix_nested_param(h->vendor, fix,
				sizeof(fix)), "KVM_GET_SUPPORTED_CPUID does not offer %s (%s)", virt,
				nv_virt_bit_name(h->vendor));
		else
			add(p, "kvm-cpuid", NESTED_CHECK_WARN, NULL, "KVM_GET_SUPPORTED_CPUID could "
				"not be read");
		if (h->nested_state_size > 0)
			add(p, "nested-state", NESTED_CHECK_OK, NULL, "KVM_CAP_NESTED_STATE: %d bytes "
				"(a running nested guest's state can be saved)", h->nested_state_size);
		else
			add(p, "nested-state", NESTED_CHECK_WARN, "use a newer host kernel (nested "
				"state: Intel since Linux 4.19, AMD since 5.10)", "no KVM_CAP_NESTED_STATE: "
				"snapshot, save and migration are refused while nested guests run");
	}
	const char *tdp = h->vendor == VENDOR_INTEL ? "ept" : "npt";
	const char *m = nested_kvm_module(h->vendor);
	if (h->backend == NESTED_BACKEND_PVM) {
		add(p, "ept-npt", NESTED_CHECK_SKIP, NULL, "not checked: KVM is kvm_pvm");
	} else if (h->module_loaded != NESTED_YES || !m) {
		add(p, "ept-npt", NESTED_CHECK_SKIP, NULL, "not checked: no KVM module");
	} else if (h->tdp == NESTED_YES) {
		add(p, "ept-npt", NESTED_CHECK_OK, NULL, "%s %s=%s: nested guests get hardware "
			"two-level paging", m, tdp, h->vendor == VENDOR_INTEL ? "Y" : "1");
	} else if (h->tdp == NESTED_NO) {
		snprintf(fix, sizeof(fix), "modprobe -r %s && modprobe %s %s=1 nested=1", m, m, tdp);
		add(p, "ept-npt", NESTED_CHECK_WARN, fix, "%s %s=%s: nested guests run on shadow "
			"paging, which is much slower", m, tdp, h->vendor == VENDOR_INTEL ? "N" :
			"0");
	} else {
		add(p, "ept-npt", NESTED_CHECK_WARN, NULL, "cannot read the %s parameter of %s",
			tdp, m);
	}
}

static void probe_host(struct probe *p, const struct nested_probe_opts *o)
{
	struct nested_host *h = p->h;
	const char *proc = or_default(o ? o->proc_root : NULL, "/proc");

	h->mem_total = read_memtotal(proc);
	double gib = (double)h->mem_total / (double)GiB;
	if (!h->mem_total)
		add(p, "host-memory", NESTED_CHECK_WARN, NULL, "cannot read MemTotal from %s/meminfo",
			proc);
	else if (h->mem_total < 4 * GiB - 256 * MiB) /* firmware and the kernel keep some */
		add(p, "host-memory", NESTED_CHECK_WARN, "give the host at least 4 GiB of memory",
			"%.1f GiB of memory: under the 4 GiB a host of nested VMs should have", gib);
	else
		add(p, "host-memory", NESTED_CHECK_OK, NULL, "%.1f GiB of memory", gib);
	if (h->is_vm == NESTED_YES)
		add(p, "host-hypervisor", NESTED_CHECK_INFO, NULL, "this host is itself a virtual "
			"machine (hypervisor \"%s\"): its VMs are nested already, theirs one level "
			"deeper", h->hypervisor_id);
	else if (h->is_vm == NESTED_NO)
		add(p, "host-hypervisor", NESTED_CHECK_INFO, NULL, "this host runs on bare metal "
			"(CPUID.1:ECX[31] is clear)");
	else
		add(p, "host-hypervisor", NESTED_CHECK_INFO, NULL, "unknown whether this host is a "
			"virtual machine");
}

int nested_probe(struct nested_host *h, struct nested_checks *checks,
	const struct nested_probe_opts *o)
{
	struct probe p = { h, checks, 0 };

	nested_host_init(h);
	probe_cpu(&p, o);
	probe_kvm(&p, o);
	probe_backend(&p, o);
	probe_module(&p, o);
	report_kvm_caps(&p);
	probe_host(&p, o);
	return p.rc;
}
