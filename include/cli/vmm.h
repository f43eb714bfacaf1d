/* SPDX-License-Identifier: MIT */
/* The vmm command line entry points (src/cli/cli.c and friends). */
#ifndef NV_VMM_H
#define NV_VMM_H

const char *vmm_version(void);
/* Runs the `vmm` command line; returns the process exit status. */
int vmm_main(int argc, char **argv);

#endif
