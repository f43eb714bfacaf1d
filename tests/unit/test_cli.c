// SPDX-License-Identifier: MIT
/* The device flags of `vmm run`: --disk and --net into vm_config, and their refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void test_disk(void **state)
{
	struct vm_config cfg;
	struct diag d;
	vm_config_init(&cfg);
	diag_init(&d);
	assert_int_equal(cli_parse_disk(&cfg, "/img/a.raw", &d), 0);
	assert_int_equal(cli_parse_disk(&cfg, "/img/b.raw,ro,cache=unsafe,format=raw,serial=SN-1", &d),
		0);
	assert_int_equal(cli_parse_disk(&cfg, "path=/img/c.raw,cache=writeback", &d), 0);
	assert_int_equal(cfg.ndisks, 3);
	assert_string_equal(cfg.disks[0].path, "/img/a.raw");
	assert_false(cfg.disks[0].readonly);
	assert_int_equal(cfg.disks[0].cache, DISK_CACHE_WRITEBACK);
	assert_int_equal(cfg.disks[0].format, DISK_FORMAT_RAW);
	assert_true(cfg.disks[1].readonly);
	assert_int_equal(cfg.disks[1].cache, DISK_CACHE_UNSAFE);
	assert_string_equal(cfg.disks[1].serial, "SN-1");
	assert_string_equal(cfg.disks[2].path, "/img/c.raw");
	assert_int_equal(d.n, 0);

	assert_int_equal(cli_parse_disk(&cfg, "/img/d.raw,cache=sometimes", &d), -EINVAL);
	assert_int_equal(cli_parse_disk(&cfg, "/img/d.raw,format=vmdk", &d), -EINVAL);
	assert_int_equal(cli_parse_disk(&cfg, "ro", &d), 0); /* the first bare item is the path */
	assert_string_equal(cfg.disks[cfg.ndisks - 1].path, "ro");
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(d.msgs[0], "--disk: 'cache' is not one of PATH, ro, "
		"cache=writeback, unsafe, format=raw, qcow2, serial=ID"));
	vm_config_free(&cfg);
	diag_free(&d);

	/* The limit. */
	vm_config_init(&cfg);
	for (int i = 0; i < VM_MAX_DISKS; i++)
		assert_int_equal(cli_parse_disk(&cfg, "/x", &d), 0);
	assert_int_equal(cli_parse_disk(&cfg, "/x", &d), -EINVAL);
	assert_non_null(strstr(d.msgs[d.n - 1], "at most 16 disks"));
	vm_config_free(&cfg);
	diag_free(&d);
}

static void test_net(void **state)
{
	struct vm_config cfg;
	struct diag d;
	vm_config_init(&cfg);
	diag_init(&d);
	assert_int_equal(cli_parse_net(&cfg, "", &d), 0); /* a created tap, a generated MAC */
	assert_int_equal(cli_parse_net(&cfg, "tap=tap7,mac=52:54:00:aa:bb:cc,spoofing=on", &d), 0);
	assert_int_equal(cli_parse_net(&cfg, "bridge=br0,spoofing=off", &d), 0);
	assert_int_equal(cfg.nnets, 3);
	assert_null(cfg.nets[0].tap);
	assert_false(cfg.nets[0].has_mac);
	assert_string_equal(cfg.nets[1].tap, "tap7");
	assert_true(cfg.nets[1].has_mac);
	assert_int_equal(cfg.nets[1].mac[5], 0xcc);
	assert_true(cfg.nets[1].mac_spoofing);
	assert_string_equal(cfg.nets[2].bridge, "br0");
	assert_false(cfg.nets[2].mac_spoofing);
	assert_int_equal(cli_parse_net(&cfg, "mac=52-54-00-aa-bb-cc", &d), -EINVAL);
	assert_int_equal(cli_parse_net(&cfg, "spoofing=maybe", &d), -EINVAL);
	assert_int_equal(cli_parse_net(&cfg, "colour=blue", &d), -EINVAL);
	assert_int_equal(d.n, 3);
	assert_non_null(strstr(d.msgs[0], "--net: mac=52-54-00-aa-bb-cc is not a MAC address"));
	/* Names are the validator's: a bad one passes the flag and is refused there, as in TOML. */
	assert_int_equal(cli_parse_net(&cfg, "tap=a/b", &d), 0);
	struct diag v;
	diag_init(&v);
	cfg.kernel = strdup("/k");
	assert_int_equal(vm_config_validate(&cfg, &v), -EINVAL);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.msgs[0], "net[6].tap: \"a/b\" is not an interface name (1 to 15 "
		"characters, no '/', ':' or spaces)");
	diag_free(&v);
	vm_config_free(&cfg);
	diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_net),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
