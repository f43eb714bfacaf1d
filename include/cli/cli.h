/* SPDX-License-Identifier: MIT */
/* Helpers of the `vmm` command line (src/cli/cli*.c). */
#ifndef NV_CLI_H
#define NV_CLI_H

#include "vm_config.h"

/* --disk PATH[,ro][,cache=writeback|unsafe][,format=raw][,serial=ID]: appends a disk. */
int cli_parse_disk(struct vm_config *cfg, const char *arg, struct diag *d);
/* --net [tap=NAME][,mac=MAC][,bridge=BR][,spoofing=on|off]: appends a NIC. */
int cli_parse_net(struct vm_config *cfg, const char *arg, struct diag *d);

/* `vmm nested status|enable ...` (cli_nested.c); argv[0] is "nested". Returns the exit status. */
int vmm_nested_main(int argc, char **argv);

#endif
