// SPDX-License-Identifier: MIT
/* The `vmm` command line: run, config check, api. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cli.h"
#include "nested.h"
#include "vm.h"
#include "vm_config.h"
#include "vmm.h"

static const char main_usage[] =
	"usage: vmm [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"nestvmm: a lightweight KVM virtual machine monitor built for nested virtualization.\n"
	"\n"
	"commands:\n"
	"  run [--config] FILE [FLAGS]   boot a VM (see `vmm run --help`)\n"
	"  config check FILE             validate a VM definition; exit 0, or 2 listing every error\n"
	"  api SOCKET COMMAND [JSON]     send one request to a running VM's control socket\n"
	"                                (status, pause, resume, destroy, commands)\n"
	"  nested status [--json] [FILE] can this host run nested VMs (and this VM)? each check\n"
	"                                with its fix; exit 0, or 1 when a check fails\n"
	"  nested enable FILE [-o OUT | --in-place] [--memory SIZE]\n"
	"                                rewrite a VM definition so that it can run nested\n"
	"\n"
	"exit status of `vmm run`: 0 guest powered off / rebooted / destroyed, 1 VMM error,\n"
	"2 bad input (configuration, kernel, no usable /dev/kvm), 3 guest panic,\n"
	"128+N stopped by signal N.\n";

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
	"      --disk PATH[,ro][,cache=writeback|unsafe][,format=raw][,serial=ID]\n"
	"                           a virtio-blk disk (repeatable; format is never probed)\n"
	"      --net [tap=NAME][,mac=MAC][,bridge=BR][,spoofing=on|off]\n"
	"                           a virtio-net NIC on a tap (created when not named)\n"
	"      --rng                a virtio-rng device\n"
	"      --balloon            a virtio-balloon device (vmm api SOCKET balloon ...)\n"
	"      --virtio-console     a virtio-console (hvc0) that gets the console's input\n"
	"      --nested MODE        off (default), auto, on\n"
	"      --on-reboot ACTION   exit (default) or restart\n"
	"      --no-acpi            no ACPI tables (MP table only; the guest cannot power off)\n"
	"      --no-direct-boot     run the bzImage's own decompressor (keeps KASLR) instead of\n"
	"                           entering the cached, decompressed vmlinux\n"
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
static void check_nested_rules(const struct vm_config *cfg, struct diag *d)
{
	if (cfg->nested == NESTED_OFF)
		return;
	struct nested_host h;
	nested_host_init(&h);
	if (cfg->nested == NESTED_AUTO)
		nested_probe(&h, NULL, NULL);
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
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct flag {
	int opt;
	const char *arg;
};

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	struct diag d;
	struct flag *flags = calloc((size_t)argc + 1, sizeof(*flags));
	size_t nflags = 0;
	const char *config = NULL;
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
		case 'v':
			verbose++;
			break;
		case 'q':
			verbose = -1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			status = 0;
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
	if (config && vm_config_load_file(&cfg, config, &d) < 0) {
		if (!d.n)
			diag_add(&d, config, 0, 0, "cannot read the file");
		goto fail;
	}
	for (size_t i = 0; i < nflags; i++)
		apply_flag(&cfg, flags[i].opt, flags[i].arg, &d);
	if (!d.n)
		vm_config_validate(&cfg, &d);
	if (!d.n)
		check_nested_rules(&cfg, &d);
	if (d.n)
		goto fail;
	status = vm_run(&cfg);
	goto out;
fail:
	diag_print(&d, stderr);
	status = VMM_EXIT_USAGE;
out:
	free(flags);
	diag_free(&d);
	vm_config_free(&cfg);
	return status;
}

static int cmd_config(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "check") || !strcmp(argv[2], "--help")) {
		fputs("usage: vmm config check FILE\n", argc >= 3 && !strcmp(argv[2], "--help") ? stdout : stderr);
		return argc >= 3 && !strcmp(argv[2], "--help") ? 0 : VMM_EXIT_USAGE;
	}
	struct vm_config cfg;
	struct diag d;
	vm_config_init(&cfg);
	diag_init(&d);
	int status = 0;
	if (vm_config_load_file(&cfg, argv[2], &d) < 0 && !d.n)
		diag_add(&d, argv[2], 0, 0, "cannot read the file");
	if (!d.n)
		vm_config_validate(&cfg, &d);
	if (!d.n)
		check_nested_rules(&cfg, &d);
	if (d.n) {
		diag_print(&d, stderr);
		status = VMM_EXIT_USAGE;
	} else {
		printf("%s: ok (%u vCPUs, %llu MiB, nested %s)\n", argv[2], cfg.cpus,
			(unsigned long long)(cfg.memory >> 20), nested_mode_name(cfg.nested));
	}
	diag_free(&d);
	vm_config_free(&cfg);
	return status;
}

static int cmd_api(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fputs("usage: vmm api SOCKET COMMAND [JSON-ARGUMENTS]\n", stderr);
		return VMM_EXIT_USAGE;
	}
	struct json_object *reply = NULL;
	char *err = NULL;
	int r = api_call_json(argv[1], argv[2], argc == 4 ? argv[3] : NULL, 10000, &reply, &err);
	if (r < 0) {
		nv_err("%s", err ? err : "request failed");
		free(err);
		return VMM_EXIT_ERROR;
	}
	int status = api_print_reply(reply, stdout, stderr) < 0 ? VMM_EXIT_ERROR : 0;
	json_object_put(reply);
	free(err);
	return status;
}

int vmm_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return VMM_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("vmm (nestvmm) %s\n", vmm_version());
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc - 1, argv + 1);
	if (!strcmp(cmd, "api"))
		return cmd_api(argc - 1, argv + 1);
	if (!strcmp(cmd, "nested"))
		return vmm_nested_main(argc - 1, argv + 1);
	nv_err("unknown command '%s' (see vmm --help)", cmd);
	return VMM_EXIT_USAGE;
}
