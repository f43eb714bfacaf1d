/* SPDX-License-Identifier: MIT */
/* The vmm command line entry points (src/cli/cli.c and friends). */
#ifndef NV_VMM_H
#define NV_VMM_H

/* Exit statuses of `vmm run` (and the other commands), documented in README.md. */
#define VMM_EXIT_OK 0
#define VMM_EXIT_ERROR 1
#define VMM_EXIT_USAGE 2
#define VMM_EXIT_PANIC 3

const char *vmm_version(void);
/* Runs the `vmm` command line; returns the process exit status. */
int vmm_main(int argc, char **argv);

#endif
