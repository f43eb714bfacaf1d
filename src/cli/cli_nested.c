// SPDX-License-Identifier: MIT
/*
 * `vmm nested status [--json] [CONFIG]` and `vmm nested enable CONFIG ...`:
 * the nested layer (include/nested/nested.h) on the command line. Output formats and
 * exit codes: docs/nested.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "nested.h"
#include "vmm.h"
#include "vm_config.h"

#define MAX_CONFIG_BYTES (4 * 1024 * 1024)

static const char nested_usage[] =
	"usage: vmm nested status [--json] [CONFIG]\n"
	"       vmm nested enable CONFIG [-o OUT | --in-place] [--memory SIZE]\n"
	"\n"
	"  status   checks whether this host can run nested guests (/dev/kvm, the CPU's\n"
	"           VMX/SVM, the kvm_intel/kvm_amd nested parameter, KVM_CAP_NESTED_STATE,\n"
	"           EPT/NPT, memory) and, with CONFIG, whether that VM meets the nested\n"
	"           rules; every failed check prints its fix. Exit 0: nothing failed\n"
	"           (warnings allowed); 1: a check failed; 2: bad usage or CONFIG.\n"
	"  enable   rewrites CONFIG so that every nested rule holds: nested = \"on\",\n"
	"           at least 2 vCPUs, no balloon, mac_spoofing = true on every NIC,\n"
	"           keeping comments and everything else. Refuses while the VM runs.\n"
	"\n"
	"See docs/nested.md.\n";

static const char status_usage[] =
	"usage: vmm nested status [--json] [CONFIG]\n"
	"\n"
	"  --json    one JSON object on stdout (schema: docs/nested.md)\n"
	"  CONFIG    also check this VM definition against the nested rules\n"
	"\n"
	"Exit 0 when no check fails (warnings allowed), 1 when one does, 2 for bad\n"
	"usage or a CONFIG that cannot be read or is invalid.\n"
	"Environment: VMM_KVM_DEVICE (default /dev/kvm), VMM_SYSFS_ROOT (/sys), VMM_PROC_ROOT (/proc).\n";

static const char enable_usage[] =
	"usage: vmm nested enable CONFIG [-o OUT | --in-place] [--memory SIZE]\n"
	"\n"
	"Rewrites the VM definition so that it runs nested: nested = \"on\", cpus raised\n"
	"to 2 if fewer, [balloon] enabled = false, mac_spoofing = true on every [[net]];\n"
	"comments, order and everything else stay as they were. Each change is printed.\n"
	"\n"
	"  -o, --output OUT    write the result to OUT (atomically)\n"
	"  -i, --in-place      replace CONFIG (atomically, same mode)\n"
	"  -m, --memory SIZE   also set memory, e.g. 4G\n"
	"\n"
	"Without -o or --in-place the result goes to stdout and the changes to stderr.\n"
	"Refused (exit 1) while the VM is running: its [api] socket answers.\n"
	"Exit 2 for bad usage or a CONFIG that is not a valid VM definition.\n";

/* ---- status ---- */

static void print_check(const struct nested_check *c, FILE *out)
{
	static const char *const tag[] = { "ok", "warn", "FAIL", "info", "skip" };
	fprintf(out, "  %-5s %-16s %s\n", tag[c->status], c->id, c->detail);
	if (!c->fix)
		return;
	const char *p = c->fix;
	bool first = true;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(out, "  %-5s %-16s %s%.*s\n", "", "", first ? "fix: " : "     ", len, p);
		first = false;
		p += len + (nl ? 1 : 0);
	}
}

static struct json_object *tri(enum nested_tristate t)
{
	return t == NESTED_UNKNOWN ? NULL : json_object_new_boolean(t == NESTED_YES);
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static struct json_object *checks_json(const struct nested_checks *c)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; a && i < c->n; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(c->v[i].id));
		json_object_object_add(o, "status",
			json_object_new_string(nested_verdict_name(c->v[i].status)));
		json_object_object_add(o, "detail", json_object_new_string(c->v[i].detail));
		json_object_object_add(o, "fix", str_or_null(c->v[i].fix));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *host_json(const struct nested_host *h)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "vendor", json_object_new_string(nested_vendor_name(h->vendor)));
	json_object_object_add(o, "vendor_id", str_or_null(h->vendor_id));
	json_object_object_add(o, "virt", str_or_null(nested_virt_name(h->vendor)));
	json_object_object_add(o, "module", str_or_null(nested_kvm_module(h->vendor)));
	json_object_object_add(o, "kvm_device", json_object_new_string(h->kvm_path));
	json_object_object_add(o, "kvm_backend",
		json_object_new_string(nested_backend_name(h->backend)));
	json_object_object_add(o, "kvm_usable", json_object_new_boolean(h->kvm_ok == NESTED_YES));
	json_object_object_add(o, "kvm_error", h->kvm_errno ?
		json_object_new_string(strerror(h->kvm_errno)) : NULL);
	json_object_object_add(o, "api_version", h->api_version >= 0 ?
		json_object_new_int(h->api_version) : NULL);
	json_object_object_add(o, "cpu_virt", tri(h->cpu_virt));
	json_object_object_add(o, "module_loaded", tri(h->module_loaded));
	json_object_object_add(o, "nested_param", tri(h->nested_param));
	json_object_object_add(o, "tdp", tri(h->tdp));
	json_object_object_add(o, "kvm_offers_virt", tri(h->kvm_cpuid_virt));
	json_object_object_add(o, "nested_state_size", h->nested_state_size >= 0 ?
		json_object_new_int(h->nested_state_size) : NULL);
	json_object_object_add(o, "memory_bytes", h->mem_total ?
		json_object_new_int64((int64_t)h->mem_total) : NULL);
	json_object_object_add(o, "is_vm", tri(h->is_vm));
	json_object_object_add(o, "hypervisor", str_or_null(h->hypervisor_id));
	json_object_object_add(o, "can_nest", json_object_new_boolean(nested_host_can_nest(h)));
	return o;
}

/* The VM's own checks: its nested setting on this host, then the rules. */
static int vm_checks(const struct vm_config *cfg, const struct nested_host *h, bool *exposed,
	struct nested_checks *c)
{
	char why[1024];
	const char *virt = nested_virt_name(h->vendor) ? nested_virt_name(h->vendor) : "VMX/SVM";
	bool can = nested_host_can_nest(h);
	int rc = 0;

	*exposed = nested_exposes(cfg, h);
	nested_explain(h, h->vendor, NESTED_UNKNOWN, why, sizeof(why));
	if (cfg->nested == NESTED_OFF)
		rc = nested_checks_add(c, "vm-nested", NESTED_CHECK_INFO, NULL, "nested = \"off\": the "
			"guest gets no %s and the nested rules do not apply (`vmm nested enable %s` "
			"turns it on)", virt, cfg->source);
	else if (can)
		rc = nested_checks_add(c, "vm-nested", NESTED_CHECK_OK, NULL, "nested = \"%s\": the "
			"guest gets %s on this host", nested_mode_name(cfg->nested), virt);
	else if (cfg->nested == NESTED_ON)
		rc = nested_checks_add(c, "vm-nested", NESTED_CHECK_FAIL, "fix the failed host checks "
			"above, or set nested = \"auto\" to boot without nesting here", "nested = \"on\", "
			"but this host cannot give the guest %s: %s", virt, why);
	else
		rc = nested_checks_add(c, "vm-nested", NESTED_CHECK_INFO, NULL, "nested = \"auto\": "
			"the guest gets no %s on this host (%s)", virt, why);
	if (rc == 0)
		rc = nested_rules_checks(cfg, *exposed, c);
	return rc;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct nested_host h;
	struct nested_checks host, vm;
	struct vm_config cfg;
	struct diag d;
	const char *config = NULL;
	bool json = false, exposed = false;
	int opt, status = VMM_EXIT_USAGE;

	nested_checks_init(&host);
	nested_checks_init(&vm);
	vm_config_init(&cfg);
	diag_init(&d);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			fputs(status_usage, stdout);
			status = 0;
			goto cleanup;
		} else {
			nv_err("nested status: unknown option '%s' (see vmm nested status --help)",
				argv[optind - 1]);
			goto cleanup;
		}
	}
	if (optind < argc)
		config = argv[optind++];
	if (optind < argc) {
		nv_err("nested status: unexpected argument '%s'", argv[optind]);
		goto cleanup;
	}
	if (config && vm_config_load_file(&cfg, config, &d) < 0) {
		if (!d.n)
			diag_add(&d, config, 0, 0, "cannot read the file");
		diag_print(&d, stderr);
		goto cleanup;
	}
	status = VMM_EXIT_ERROR;
	struct nested_probe_opts paths;
	cli_probe_opts(&paths);
	if (nested_probe(&h, &host, &paths) < 0 || (config && vm_checks(&cfg, &h, &exposed, &vm) < 0)) {
		nv_err("out of memory");
		goto cleanup;
	}
	size_t failed = nested_checks_count(&host, NESTED_CHECK_FAIL) +
		nested_checks_count(&vm, NESTED_CHECK_FAIL);
	size_t warned = nested_checks_count(&host, NESTED_CHECK_WARN) +
		nested_checks_count(&vm, NESTED_CHECK_WARN);
	if (json) {
		struct json_object *o = json_object_new_object(), *v = NULL;
		json_object_object_add(o, "version", json_object_new_int(1));
		json_object_object_add(o, "host", host_json(&h));
		json_object_object_add(o, "checks", checks_json(&host));
		if (config) {
			v = json_object_new_object();
			json_object_object_add(v, "file", json_object_new_string(config));
			json_object_object_add(v, "name", str_or_null(cfg.name));
			json_object_object_add(v, "nested",
				json_object_new_string(nested_mode_name(cfg.nested)));
			json_object_object_add(v, "exposes", json_object_new_boolean(exposed));
			json_object_object_add(v, "cpus", json_object_new_int((int)cfg.cpus));
			json_object_object_add(v, "checks", checks_json(&vm));
		}
		json_object_object_add(o, "vm", v);
		json_object_object_add(o, "ok", json_object_new_boolean(!failed));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("host (%s, %s):\n", h.vendor_id[0] ? h.vendor_id : "unknown CPU", h.kvm_path);
		for (size_t i = 0; i < host.n; i++)
			print_check(&host.v[i], stdout);
		if (config) {
			printf("vm %s (nested = \"%s\"):\n", config, nested_mode_name(cfg.nested));
			for (size_t i = 0; i < vm.n; i++)
				print_check(&vm.v[i], stdout);
		}
		printf("result: %s: %zu failed, %zu warning%s; this host %s nested guests\n",
			failed ? "FAIL" : "ok", failed, warned, warned == 1 ? "" : "s",
			nested_host_can_nest(&h) ? "can run" : "cannot run");
	}
	fflush(stdout);
	status = failed ? VMM_EXIT_ERROR : 0;
cleanup:
	nested_checks_free(&host);
	nested_checks_free(&vm);
	vm_config_free(&cfg);
	diag_free(&d);
	return status;
}

/* ---- enable ---- */

static int read_config(const char *path, char **buf, size_t *len, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	char *b = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > MAX_CONFIG_BYTES) {
		rc = S_ISREG(st->st_mode) ? -EFBIG : -EINVAL;
		goto cleanup;
	}
	b = malloc((size_t)st->st_size + 1);
	if (!b) {
		rc = -ENOMEM;
		goto cleanup;
	}
	rc = pread_full(fd, b, (size_t)st->st_size, 0);
	if (rc < 0)
		goto cleanup;
	b[st->st_size] = 0;
	*buf = b;
	*len = (size_t)st->st_size;
	b = NULL;
cleanup:
	free(b);
	close(fd);
	return rc;
}

static int cmd_enable(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "in-place", no_argument, NULL, 'i' },
		{ "memory", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct nested_enable_result r = { 0 };
	struct nested_enable_opts eo = { NULL };
	struct vm_config cfg;
	struct diag d;
	struct stat st;
	const char *config = NULL, *out = NULL;
	char *buf = NULL, *target = NULL;
	size_t len = 0;
	bool in_place = false;
	int opt, rc, status = VMM_EXIT_USAGE;

	vm_config_init(&cfg);
	diag_init(&d);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:im:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'i':
			in_place = true;
			break;
		case 'm':
			eo.memory = optarg;
			break;
		case 'h':
			fputs(enable_usage, stdout);
			status = 0;
			goto cleanup;
		case ':':
			nv_err("nested enable: %s needs a value", argv[optind - 1]);
			goto cleanup;
		default:
			nv_err("nested enable: unknown option '%s' (see vmm nested enable --help)",
				argv[optind - 1]);
			goto cleanup;
		}
	}
	if (optind < argc)
		config = argv[optind++];
	if (!config || optind < argc || (out && in_place)) {
		nv_err(!config ? "nested enable: which file? (usage: vmm nested enable CONFIG "
			"[-o OUT | --in-place] [--memory SIZE])" : out && in_place ?
			"nested enable: -o and --in-place exclude each other" :
			"nested enable: unexpected argument");
		goto cleanup;
	}
	rc = read_config(config, &buf, &len, &st);
	if (rc < 0) {
		nv_err("%s: cannot read the file: %s", config, rc == -EFBIG ? "it is too large" :
			rc == -EINVAL ? "not a regular file" : strerror(-rc));
		goto cleanup;
	}
	/* Loaded from the file too, so that a relative [api] socket resolves like `vmm run`'s. */
	if (vm_config_load_file(&cfg, config, &d) < 0) {
		diag_print(&d, stderr);
		goto cleanup;
	}
	status = VMM_EXIT_ERROR;
	if (cfg.api_socket) {
		rc = api_probe(cfg.api_socket);
		if (rc > 0) {
			nv_err("%s: VM is running; stop it first (its control socket %s answers)", config,
				cfg.api_socket);
			goto cleanup;
		}
		if (rc < 0) {
			nv_err("%s: cannot tell whether the VM is running: %s: %s", config,
				cfg.api_socket, strerror(-rc));
			goto cleanup;
		}
	}
	rc = nested_enable_rewrite(config, buf, len, &eo, &r, &d);
	if (rc < 0) {
		diag_print(&d, stderr);
		if (rc == -ENOMEM)
			nv_err("out of memory");
		status = rc == -EINVAL ? VMM_EXIT_USAGE : VMM_EXIT_ERROR;
		goto cleanup;
	}
	FILE *log = out || in_place ? stdout : stderr;
	for (size_t i = 0; i < r.nchanges; i++)
		fprintf(log, "%s\n", r.changes[i]);
	if (!r.nchanges)
		fprintf(log, "%s: already meets every nested rule; nothing to change\n", config);
	if (!out && !in_place) {
		fflush(stderr);
		if (fwrite(r.text, 1, r.len, stdout) != r.len || fflush(stdout) != 0) {
			nv_err("cannot write to stdout: %s", strerror(errno));
			goto cleanup;
		}
	} else if (out || r.nchanges) {
		/* In place: through a symlink to the file it names. */
		target = in_place ? realpath(config, NULL) : strdup(out);
		if (!target) {
			nv_err("%s: %s", in_place ? config : out, strerror(errno));
			goto cleanup;
		}
		rc = write_atomic(target, r.text, r.len, &st);
		if (rc < 0) {
			nv_err("%s: cannot write: %s; nothing was changed", target, strerror(-rc));
			goto cleanup;
		}
		fprintf(log, "%s %s\n", in_place ? "updated" : "wrote", target);
	}
	status = 0;
cleanup:
	nested_enable_result_free(&r);
	free(buf);
	free(target);
	vm_config_free(&cfg);
	diag_free(&d);
	return status;
}

int vmm_nested_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (!sub) {
		fputs(nested_usage, stderr);
		return VMM_EXIT_USAGE;
	}
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		fputs(nested_usage, stdout);
		return 0;
	}
	if (!strcmp(sub, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(sub, "enable"))
		return cmd_enable(argc - 1, argv + 1);
	nv_err("nested: unknown subcommand '%s' (status, enable; see vmm nested --help)", sub);
	return VMM_EXIT_USAGE;
}
