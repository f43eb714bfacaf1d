// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the input is a VM definition (TOML). Loading either succeeds
 * with no message or fails with at least one "NAME:LINE:COL: ..." message;
 * an accepted config is then validated and freed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vm_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	struct diag d;
	int rc;

	vm_config_init(&cfg);
	diag_init(&d);
	rc = vm_config_load_buffer(&cfg, "fuzz.toml", (const char *)data, size, &d);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK((rc == 0) == (d.n == 0));
	for (size_t i = 0; i < d.n; i++)
		CHECK(!strncmp(d.msgs[i], "fuzz.toml:", 10));
	if (rc == 0) {
		CHECK(cfg.ndisks <= VM_MAX_DISKS && cfg.nnets <= VM_MAX_NETS);
		CHECK(cfg.cpus >= 1 && cfg.cpus <= VM_MAX_CPUS && cfg.memory >= VM_MIN_MEMORY);
		for (size_t i = 0; i < cfg.ndisks; i++)
			CHECK(cfg.disks[i].path && cfg.disks[i].path[0]);
		rc = vm_config_validate(&cfg, &d);
		CHECK((rc == 0) == (d.n == 0));
		/* the loader already checked all the rest */
		CHECK(rc == 0 || !cfg.kernel);
	}
	diag_free(&d);
	vm_config_free(&cfg);
	return 0;
}
