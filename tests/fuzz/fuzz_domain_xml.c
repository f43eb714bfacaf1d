// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the input is a domain XML document. Reading it either
 * succeeds with no message or fails with at least one, each naming where
 * ("fuzz.xml: /domain/...: ", or "fuzz.xml:LINE:COL: " for XML that is not
 * well formed). An accepted document is a valid vm_config, and both writers
 * round-trip it: its domain XML reads back into an equal config (and writes
 * the same text again), and so does its TOML.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain_xml.h"
#include "vm_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void round_trip(const struct vm_config *cfg)
{
	struct vm_config back;
	struct diag d;
	char *xml = NULL, *xml2 = NULL, *toml = NULL;

	CHECK(vm_config_to_domain_xml(cfg, NULL, 0, &xml) == 0);
	diag_init(&d);
	CHECK(vm_config_from_domain_xml(&back, xml, strlen(xml), "out.xml", &d) == 0);
	CHECK(d.n == 0 && vm_config_equal(cfg, &back));
	CHECK(vm_config_to_domain_xml(&back, NULL, 0, &xml2) == 0 && !strcmp(xml, xml2));
	vm_config_free(&back);

	CHECK(vm_config_to_toml(cfg, &toml) == 0);
	vm_config_init(&back);
	CHECK(vm_config_load_buffer(&back, "out.toml", toml, strlen(toml), &d) == 0);
	CHECK(vm_config_equal(cfg, &back));
	vm_config_free(&back);
	diag_free(&d);
	free(xml);
	free(xml2);
	free(toml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	struct diag d;
	int rc;

	diag_init(&d);
	rc = vm_config_from_domain_xml(&cfg, (const char *)data, size, "fuzz.xml", &d);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK((rc == 0) == (d.n == 0));
	for (size_t i = 0; i < d.n; i++)
		CHECK(!strncmp(d.msgs[i], "fuzz.xml: /", 11) || !strncmp(d.msgs[i], "fuzz.xml:", 9));
	if (rc == 0) {
		CHECK(vm_config_validate(&cfg, &d) == 0);
		CHECK(cfg.name && cfg.kernel && cfg.has_uuid);
		round_trip(&cfg);
	}
	diag_free(&d);
	vm_config_free(&cfg);
	return 0;
}
