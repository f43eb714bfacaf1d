/* SPDX-License-Identifier: MIT */
/*
 * The vmm driver: nestvmm domains behind virtvmmd (docs/virtvmmd.md).
 * Definitions live as libvirt domain XML in the state directory, one file a
 * domain; a running domain is one supervised `vmm` process in its own state
 * directory (include/supervise/supervise.h), found again when the daemon
 * restarts.
 *
 *   STATE/domains/NAME.xml  the definition (written atomically)
 *   STATE/autostart/NAME    present: the domain starts with the daemon
 *   STATE/run/NAME/         the VM's state directory (vm.toml, api.sock,
 *                           vmm.pid, exit.json, vmm.log) and domain.id
 */
#ifndef NV_LV_VMM_H
#define NV_LV_VMM_H

#include "lv_driver.h"

struct lv_vmm_config {
	const char *state_dir;  /* absolute */
	const char *vmm;        /* the vmm program, absolute */
	/* Present once the autostart domains were started since the host booted
	 * (a file on a tmpfs such as /run); NULL: autostart at every daemon start. */
	const char *autostart_marker;
	const char *schema;     /* domain.rng for define --validate; NULL: libvirt's */
	unsigned shutdown_timeout_s; /* a guest that ignores the power button is stopped after this; 0: never */
	int verbose;            /* -1 quiet, 0 warnings, 1 debug */
};

/* NULL with *err (malloc'd) when out of memory or the paths do not fit. */
struct lv_driver *lv_driver_vmm_new(const struct lv_vmm_config *conf, char **err);
/*
 * After lv_server_new attached the driver: reads the definitions, finds the
 * running VMs again and starts the autostart domains. 0 or -errno with *err.
 */
int lv_driver_vmm_load(struct lv_driver *drv, char **err);

#endif
