// SPDX-License-Identifier: MIT
/* The `vmm` command line: the command dispatch, config check, api (run: cli_run.c). */
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
		cli_check_nested_rules(&cfg, &d);
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
		return vmm_run_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc - 1, argv + 1);
	if (!strcmp(cmd, "api"))
		return cmd_api(argc - 1, argv + 1);
	if (!strcmp(cmd, "nested"))
		return vmm_nested_main(argc - 1, argv + 1);
	nv_err("unknown command '%s' (see vmm --help)", cmd);
	return VMM_EXIT_USAGE;
}
