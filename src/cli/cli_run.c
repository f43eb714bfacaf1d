// SPDX-License-Identifier: MIT
/*
 * `vmm run`: flags and file into one vm_config, then the process around the
 * VM: what is process-wide (signal dispositions, thread defaults) and what
 * comes from the environment is decided here, not in the VMM library, and
 * the VM's end becomes the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nested.h"
#include "vm.h"
#include "vm_config.h"
#include "vmm.h"
#include "vmm_seccomp.h"


/* The environment knobs, read once here (docs: README.md, docs/nested.md). */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

void cli_probe_opts(struct nested_probe_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kvm_path = env("VMM_KVM_DEVICE");
	o->sysfs_root = env("VMM_SYSFS_ROOT");
	o->proc_root = env("VMM_PROC_ROOT");
}

int cli_cache_dir(char *buf, size_t len)
{
	const char *e;
	int n;
	if ((e = env("NESTVMM_CACHE")))
		n = snprintf(buf, len, "%s", e);
	else if ((e = env("XDG_CACHE_HOME")))
		n = snprintf(buf, len, "%s/nestvmm", e);
	else if ((e = env("HOME")))
		n = snprintf(buf, len, "%s/.cache/nestvmm", e);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/*
 * Threads (vCPUs, device workers) get 512 KiB stacks instead of glibc's
 * 8 MiB: with transparent huge pages "always", a touched 8 MiB stack that
 * happens to be 2 MiB aligned is backed by a whole 2 MiB page, which shows
 * up as VMM overhead. Nothing in the VMM recurses; 512 KiB is plenty.
 */
static void small_thread_stacks(void)
{
	pthread_attr_t a;
	if (pthread_attr_init(&a))
		return;
	if (!pthread_attr_setstacksize(&a, 512 * 1024))
		pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
}

static int exit_status(const struct vm *vm)
{
	int sig = 0;
	const char *d = "";
	switch (vm_stopped_by(vm, &sig, &d)) {
	case STOP_POWEROFF:
		nv_info("guest powered off");
		return VMM_EXIT_OK;
	case STOP_RESET:
		nv_info("guest rebooted (%s); exiting as on_reboot = \"exit\"", d);
		return VMM_EXIT_OK;
	case STOP_PANIC:
		nv_err("guest panic: %s", d);
		return VMM_EXIT_PANIC;
	case STOP_DESTROY:
		nv_info("VM destroyed (%s)", d);
		return VMM_EXIT_OK;
	case STOP_SIGNAL:
		nv_info("stopped by %s", d);
		return sig ? 128 + sig : VMM_EXIT_OK;
	case STOP_NONE:
	case STOP_ERROR:
		break;
	}
	nv_err("%s", d[0] ? d : "VM stopped on an error");
	return VMM_EXIT_ERROR;
}

/* What a supervisor needs to know about how `vmm run` ended (--exit-file). */
struct run_end {
	int status;
	const char *reason; /* vm_stop_reason_name(), "bad-input" or "vmm-error" */
	char detail[256];
	int signal;
};

/*
 * {"exit_status": N, "reason": ..., "detail": ..., "signal": N, "pid": N},
 * replaced atomically, so a supervisor that outlives or restarts after its
 * vmm finds why it ended (a vmm killed by SIGKILL writes nothing).
 */
static void write_exit_file(const char *path, const struct run_end *e)
{
	struct json_object *o = json_object_new_object();
	const char *txt;
	size_t len = 0;
	json_object_object_add(o, "exit_status", json_object_new_int(e->status));
	json_object_object_add(o, "reason", json_object_new_string(e->reason));
	json_object_object_add(o, "detail", json_object_new_string(e->detail));
	json_object_object_add(o, "signal", json_object_new_int(e->signal));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&len);
	if (!txt || write_atomic(path, txt, len, NULL) < 0)
		nv_warn("--exit-file %s: cannot write it", path);
	json_object_put(o);
}

/* stderr, remembering the first error for the exit file. */
struct first_error {
	char msg[256];
};

static void log_write(void *opaque, enum nv_level level, const char *msg)
{
	struct first_error *f = opaque;
	if (level == NV_LOG_ERR && !f->msg[0])
		snprintf(f->msg, sizeof(f->msg), "%s", msg);
	nv_log_stderr()->write(NULL, level, msg);
}

/* The process around one VM. */
/* The directory part of path (".": none), into buf. */
static const char *dir_of(const char *path, char *buf, size_t cap)
{
	const char *slash = path ? strrchr(path, '/') : NULL;
	if (!slash)
		snprintf(buf, cap, ".");
	else if (slash == path)
		snprintf(buf, cap, "/");
	else
		snprintf(buf, cap, "%.*s", (int)(slash - path), path);
	return buf;
}

static int run_vm(const struct vm_config *cfg, bool paused, int seccomp,
	const struct cli_privs *privs, const char *exit_file, struct run_end *end)
{
	struct first_error first = { "" };
	const struct nv_log log = { log_write, &first };
	struct nested_probe_opts o;
	struct vm_env e = { 0 };
	struct vm *vm = NULL;
	sigset_t sigs, old;
	char cache[512];
	int r, status;

	cli_probe_opts(&o);
	e.kvm_device = o.kvm_path;
	e.sysfs_root = o.sysfs_root;
	e.proc_root = o.proc_root;
	e.cache_dir = cli_cache_dir(cache, sizeof(cache) - 16) == 0 ? cache : NULL;
	e.log = &log;
	e.start_paused = paused;
	e.seccomp = seccomp;
	/* Tests of the filters: NESTVMM_TEST_SECCOMP_VIOLATION=vcpu|worker|io. */
	const char *tv = env("NESTVMM_TEST_SECCOMP_VIOLATION");
	e.test_violation = !tv ? 0 : !strcmp(tv, "vcpu") ? VMM_THREAD_VCPU + 1 :
		!strcmp(tv, "worker") ? VMM_THREAD_WORKER + 1 : !strcmp(tv, "io") ? VMM_THREAD_IO + 1 : 0;

	vcpu_signals_init();
	small_thread_stacks();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	r = vm_create(cfg, &e, &vm);
	if (r < 0) {
		status = r == -EINVAL ? VMM_EXIT_USAGE : VMM_EXIT_ERROR;
		end->reason = r == -EINVAL ? "bad-input" : "vmm-error";
		snprintf(end->detail, sizeof(end->detail), "%s", first.msg[0] ? first.msg : strerror(-r));
	} else if (privs->user || privs->chroot_dir || privs->landlock) {
		/* Everything is open: what is left to reach is the cache, the exit file's
		 * directory and the control socket's (to remove it at the end). */
		char perr[256], d1[512], d2[512];
		const char *writable[4] = { 0 };
		size_t nw = 0;
		if (e.cache_dir)
			writable[nw++] = e.cache_dir;
		if (exit_file)
			writable[nw++] = dir_of(exit_file, d1, sizeof(d1));
		if (cfg->api_socket)
			writable[nw++] = dir_of(cfg->api_socket, d2, sizeof(d2));
		r = cli_privs_drop(privs, writable, perr, sizeof(perr));
		if (r < 0) {
			nv_err("%s", perr);
			status = VMM_EXIT_ERROR;
			end->reason = "vmm-error";
			snprintf(end->detail, sizeof(end->detail), "%s", perr);
		}
	}
	if (vm && r == 0) {
		r = vm_run(vm);
		status = r < 0 ? VMM_EXIT_ERROR : exit_status(vm);
		const char *d = "";
		end->reason = vm_stop_reason_name(vm_stopped_by(vm, &end->signal, &d));
		snprintf(end->detail, sizeof(end->detail), "%s", r < 0 && first.msg[0] ? first.msg : d);
	}
	end->status = status;
	vm_free(vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return status;
}

static const char run_usage[] =
	"usage: vmm run [--config] FILE [FLAGS]\n"
	"       vmm run --kernel BZIMAGE [FLAGS]\n"
	"\n"
	"Boots one VM in this process. Flags override the file.\n"
	"\n"
	"  -c, --config FILE        VM definition (TOML); may also be given bare\n"
	"  -k, --kernel PATH        Linux bzImage\n"
	"  -i, --initrd PATH        initial ramdisk\n"
	"  -a, --cmdline STRING     kernel command line (default \"console=ttyS0\")\n"
	"  -p, --cpus N             number of vCPUs (default 1)\n"
	"  -m, --memory SIZE        guest RAM, e.g. 512M, 4G (plain number: MiB; default 512M)\n"
	"      --console MODE       stdio (default), pty, file:PATH, none\n"
	"      --api-socket PATH    control socket (JSON lines, see docs/api.md)\n"
	"      --name NAME          VM name\n"
	"      --disk PATH[,ro][,cache=writeback|unsafe][,format=raw|qcow2][,serial=ID]\n"
	"                           a virtio-blk disk (repeatable; format is never probed)\n"
	"      --net [tap=NAME|fd=N][,mac=MAC][,bridge=BR][,spoofing=on|off]\n"
	"                           a virtio-net NIC on a tap (created when not named)\n"
	"      --rng                a virtio-rng device\n"
	"      --balloon            a virtio-balloon device (vmm api SOCKET balloon ...)\n"
	"      --virtio-console     a virtio-console (hvc0) that gets the console's input\n"
	"      --nested MODE        off (default), auto, on\n"
	"      --on-reboot ACTION   exit (default) or restart\n"
	"      --no-acpi            no ACPI tables (MP table only; the guest cannot power off)\n"
	"      --no-direct-boot     run the bzImage's own decompressor (keeps KASLR) instead of\n"
	"                           entering the cached, decompressed vmlinux\n"
	"      --paused             start with the vCPUs stopped until `resume` (control socket)\n"
	"      --user USER          after setup, run as USER with no capabilities left (vmm\n"
	"                           keeps the descriptors it opened: /dev/kvm, images, taps)\n"
	"      --chroot DIR         after setup, chroot to DIR (exit file paths are then in it)\n"
	"      --landlock           after setup, no file system access but the cache, the exit\n"
	"                           file's and socket's directories (implied by --user)\n"
	"      --seccomp MODE       kill (default), log or off: each thread kind's system call\n"
	"                           allow-list (also $VMM_SECCOMP)\n"
	"      --config-fd N        read the VM definition (TOML) from file descriptor N\n"
	"      --exit-file PATH     at exit, write how the VM ended there (JSON, for supervisors)\n"
	"  -v, --verbose            more messages\n"
	"  -q, --quiet              only errors\n"
	"  -h, --help               this text\n"
	"\n"
	"With a terminal on stdin, type Ctrl-A x to quit.\n";

enum {
	OPT_CONSOLE = 256,
	OPT_API,
	OPT_NAME,
	OPT_NESTED,
	OPT_ON_REBOOT,
	OPT_NO_ACPI,
	OPT_NO_DIRECT,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_BALLOON,
	OPT_VIRTIO_CONSOLE,
	OPT_PAUSED,
	OPT_SECCOMP,
	OPT_USER,
	OPT_CHROOT,
	OPT_LANDLOCK,
	OPT_EXIT_FILE,
	OPT_CONFIG_FD,
};

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_console(struct vm_config *cfg, const char *v, struct diag *d)
{
	int m = vm_word_value(VM_WORDS_CONSOLE, v);
	if (m >= 0 && m != CONSOLE_FILE) {
		cfg->console = (enum console_mode)m;
	} else if (!strncmp(v, "file:", 5) && v[5]) {
		cfg->console = CONSOLE_FILE;
		return set_str(&cfg->console_path, v + 5);
	} else {
		diag_add(d, NULL, 0, 0, "--console: '%s' is not one of stdio, pty, file:PATH, none", v);
		return -EINVAL;
	}
	return 0;
}

/* A flag whose value is one of the words of k. */
static void parse_word(const char *flag, enum vm_words k, const char *v, int *out, struct diag *d)
{
	char list[128];
	int m = vm_word_value(k, v);
	if (m >= 0) {
		*out = m;
		return;
	}
	diag_add(d, NULL, 0, 0, "%s: '%s' is not one of %s", flag, v,
		vm_word_list(k, false, list, sizeof(list)));
}

static int parse_uint(const char *flag, const char *v, unsigned *out, struct diag *d)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < 0 || n > INT_MAX) {
		diag_add(d, NULL, 0, 0, "%s: '%s' is not a number", flag, v);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

/* Applies one run flag to cfg; errors go to d. */
static void apply_flag(struct vm_config *cfg, int opt, const char *arg, struct diag *d)
{
	uint64_t size;
	int word = opt == OPT_NESTED ? (int)cfg->nested : (int)cfg->on_reboot;
	switch (opt) {
	case 'k':
		set_str(&cfg->kernel, arg);
		break;
	case 'i':
		set_str(&cfg->initrd, arg);
		break;
	case 'a':
		set_str(&cfg->cmdline, arg);
		break;
	case 'p':
		parse_uint("--cpus", arg, &cfg->cpus, d);
		break;
	case 'm':
		if (parse_size(arg, false, &size) < 0)
			diag_add(d, NULL, 0, 0, "--memory: '%s' is not a size (e.g. 512M, 4G)", arg);
		else
			cfg->memory = size;
		break;
	case OPT_CONSOLE:
		parse_console(cfg, arg, d);
		break;
	case OPT_API:
		set_str(&cfg->api_socket, arg);
		break;
	case OPT_NAME:
		set_str(&cfg->name, arg);
		break;
	case OPT_NESTED:
		parse_word("--nested", VM_WORDS_NESTED, arg, &word, d);
		cfg->nested = (enum nested_mode)word;
		break;
	case OPT_ON_REBOOT:
		parse_word("--on-reboot", VM_WORDS_ON_REBOOT, arg, &word, d);
		cfg->on_reboot = (enum on_reboot)word;
		break;
	case OPT_NO_ACPI:
		cfg->acpi = false;
		break;
	case OPT_NO_DIRECT:
		cfg->direct_boot = false;
		break;
	case OPT_DISK:
		cli_parse_disk(cfg, arg, d);
		break;
	case OPT_NET:
		cli_parse_net(cfg, arg, d);
		break;
	case OPT_RNG:
		cfg->rng = true;
		break;
	case OPT_BALLOON:
		cfg->balloon = true;
		break;
	case OPT_VIRTIO_CONSOLE:
		cfg->virtio_console = true;
		break;
	}
}

/*
 * The nested rules (>= 2 vCPUs, no balloon, MAC spoofing on every NIC) for a
 * VM with nested = "on", or "auto" where this host can nest.
 */
void cli_check_nested_rules(const struct vm_config *cfg, struct diag *d)
{
	if (cfg->nested == NESTED_OFF)
		return;
	struct nested_host h;
	struct nested_probe_opts o;
	nested_host_init(&h);
	cli_probe_opts(&o);
	if (cfg->nested == NESTED_AUTO)
		nested_probe(&h, NULL, &o);
	nested_rules_check_host(cfg, &h, d);
}

static const struct option run_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'a' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "memory", required_argument, NULL, 'm' },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "api-socket", required_argument, NULL, OPT_API },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "nested", required_argument, NULL, OPT_NESTED },
	{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
	{ "no-acpi", no_argument, NULL, OPT_NO_ACPI },
	{ "no-direct-boot", no_argument, NULL, OPT_NO_DIRECT },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "net", required_argument, NULL, OPT_NET },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "balloon", no_argument, NULL, OPT_BALLOON },
	{ "virtio-console", no_argument, NULL, OPT_VIRTIO_CONSOLE },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "chroot", required_argument, NULL, OPT_CHROOT },
	{ "landlock", no_argument, NULL, OPT_LANDLOCK },
	{ "exit-file", required_argument, NULL, OPT_EXIT_FILE },
	{ "config-fd", required_argument, NULL, OPT_CONFIG_FD },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct flag {
	int opt;
	const char *arg;
};

/* --config-fd N: the whole TOML definition read from descriptor N (a supervisor's pipe or memfd). */
static void load_config_fd(struct vm_config *cfg, const char *arg, struct diag *d)
{
	char *end, name[48], *buf = NULL;
	size_t len = 0, cap = 0;
	long fd = strtol(arg, &end, 10);
	if (!*arg || *end || fd < 0 || fd > INT_MAX) {
		diag_add(d, NULL, 0, 0, "--config-fd: '%s' is not a file descriptor", arg);
		return;
	}
	snprintf(name, sizeof(name), "config-fd %ld", fd);
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16384;
			char *n = cap > (4u << 20) ? NULL : realloc(buf, cap);
			if (!n) {
				diag_add(d, name, 0, 0, "the definition is larger than 4 MiB");
				goto out;
			}
			buf = n;
		}
		ssize_t r = read((int)fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag_add(d, name, 0, 0, "cannot read it: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close((int)fd);
	vm_config_load_buffer(cfg, name, buf, len, d);
out:
	free(buf);
}

int vmm_run_main(int argc, char **argv)
{
	struct vm_config cfg;
	struct diag d;
	struct flag *flags = calloc((size_t)argc + 1, sizeof(*flags));
	size_t nflags = 0;
	const char *config = NULL, *exit_file = NULL, *config_fd = NULL;
	struct run_end end = { VMM_EXIT_USAGE, "bad-input", "", 0 };
	bool paused = false, helped = false;
	struct cli_privs privs = { 0 };
	int seccomp = env("VMM_SECCOMP") ? vmm_seccomp_mode_parse(env("VMM_SECCOMP")) : VMM_SECCOMP_KILL;
	int verbose = 0, status = VMM_EXIT_USAGE, opt;
	vm_config_init(&cfg);
	diag_init(&d);
	if (!flags)
		return VMM_EXIT_ERROR;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:k:i:a:p:m:vqh", run_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case OPT_PAUSED:
			paused = true;
			break;
		case OPT_USER:
			privs.user = optarg;
			break;
		case OPT_CHROOT:
			privs.chroot_dir = optarg;
			break;
		case OPT_LANDLOCK:
			privs.landlock = true;
			break;
		case OPT_SECCOMP:
			seccomp = vmm_seccomp_mode_parse(optarg);
			if (seccomp < 0)
				diag_add(&d, NULL, 0, 0, "--seccomp: '%s' is not one of kill, log, off", optarg);
			break;
		case OPT_EXIT_FILE:
			exit_file = optarg;
			break;
		case OPT_CONFIG_FD:
			config_fd = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			verbose = -1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			status = 0;
			helped = true;
			goto out;
		case ':':
			diag_add(&d, NULL, 0, 0, "%s needs a value", argv[optind - 1]);
			break;
		case '?':
			diag_add(&d, NULL, 0, 0, "unknown option '%s' (see vmm run --help)", argv[optind - 1]);
			break;
		default:
			flags[nflags++] = (struct flag){ opt, optarg };
			break;
		}
	}
	if (optind < argc && !config)
		config = argv[optind++];
	if (optind < argc)
		diag_add(&d, NULL, 0, 0, "unexpected argument '%s'", argv[optind]);
	if (d.n)
		goto fail;
	nv_set_verbose(verbose);
	if (config && config_fd)
		diag_add(&d, NULL, 0, 0, "--config and --config-fd exclude each other");
	else if (config && vm_config_load_file(&cfg, config, &d) < 0 && !d.n)
		diag_add(&d, config, 0, 0, "cannot read the file");
	else if (config_fd)
		load_config_fd(&cfg, config_fd, &d);
	if (d.n)
		goto fail;
	for (size_t i = 0; i < nflags; i++)
		apply_flag(&cfg, flags[i].opt, flags[i].arg, &d);
	if (!d.n)
		vm_config_validate(&cfg, &d);
	if (!d.n)
		cli_check_nested_rules(&cfg, &d);
	if (d.n)
		goto fail;
	if (seccomp < 0)
		diag_add(&d, NULL, 0, 0, "VMM_SECCOMP: '%s' is not one of kill, log, off",
			env("VMM_SECCOMP"));
	if (d.n)
		goto fail;
	char perr[256];
	if (cli_privs_resolve(&privs, perr, sizeof(perr)) < 0) {
		diag_add(&d, NULL, 0, 0, "%s", perr);
		goto fail;
	}
	status = run_vm(&cfg, paused, seccomp, &privs, exit_file, &end);
	goto out;
fail:
	diag_print(&d, stderr);
	status = VMM_EXIT_USAGE;
	snprintf(end.detail, sizeof(end.detail), "%s", d.n ? d.msgs[0] : "");
out:
	if (exit_file && !helped) {
		end.status = status;
		write_exit_file(exit_file, &end);
	}
	free(flags);
	diag_free(&d);
	vm_config_free(&cfg);
	return status;
}
