// SPDX-License-Identifier: MIT
/* vm_config: defaults, every key of the schema, error messages with positions, paths, validation. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm_config.h"

static int load(struct vm_config *cfg, struct diag *d, const char *src)
{
	vm_config_init(cfg);
	diag_init(d);
	return vm_config_load_buffer(cfg, "vm.toml", src, strlen(src), d);
}

static void expect_msgs(const struct diag *d, const char *const *want, size_t n)
{
	if (d->n != n) {
		for (size_t i = 0; i < d->n; i++)
			print_message("got: %s\n", d->msgs[i]);
		fail_msg("%zu messages, expected %zu", d->n, n);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(d->msgs[i], want[i]))
			fail_msg("message %zu:\n got: %s\nwant: %s", i, d->msgs[i], want[i]);
}

/* Loads src, expecting exactly one error equal to want. */
static void expect_one(const char *src, const char *want)
{
	struct vm_config cfg;
	struct diag d;

	assert_int_equal(load(&cfg, &d, src), -EINVAL);
	expect_msgs(&d, &want, 1);
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_defaults(void **state)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.memory, 512 * MiB);
	assert_int_equal(cfg.nested, NESTED_OFF);
	assert_int_equal(cfg.on_reboot, ON_REBOOT_EXIT);
	assert_true(cfg.acpi);
	assert_true(cfg.direct_boot);
	assert_int_equal(cfg.console, CONSOLE_STDIO);
	assert_false(cfg.rng);
	assert_false(cfg.balloon);
	assert_null(cfg.kernel);
	assert_null(cfg.name);
	assert_null(cfg.cmdline);
	assert_null(cfg.source);
	assert_int_equal(cfg.ndisks, 0);
	assert_int_equal(cfg.nnets, 0);
	vm_config_free(&cfg);
	vm_config_free(NULL);
	assert_string_equal(nested_mode_name(NESTED_OFF), "off");
	assert_string_equal(nested_mode_name(NESTED_AUTO), "auto");
	assert_string_equal(nested_mode_name(NESTED_ON), "on");
	assert_string_equal(console_mode_name(CONSOLE_STDIO), "stdio");
	assert_string_equal(console_mode_name(CONSOLE_PTY), "pty");
	assert_string_equal(console_mode_name(CONSOLE_FILE), "file");
	assert_string_equal(console_mode_name(CONSOLE_NONE), "none");
}

static void test_every_key(void **state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f };
	const char *dir = getenv("TEST_SRCDIR");
	struct vm_config cfg;
	char path[4096];
	struct diag d;

	snprintf(path, sizeof(path), "%s/data/vm_full.toml", dir ? dir : "tests/unit");
	vm_config_init(&cfg);
	diag_init(&d);
	if (vm_config_load_file(&cfg, path, &d) != 0)
		fail_msg("%s", d.n ? d.msgs[0] : "load failed");
	assert_string_equal(cfg.source, path);
	assert_string_equal(cfg.name, "demo-1.test_x");
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.memory, 2 * GiB);
	assert_int_equal(cfg.nested, NESTED_AUTO);
	assert_int_equal(cfg.on_reboot, ON_REBOOT_RESTART);
	assert_string_equal(cfg.kernel, "/boot/bzImage");
	assert_string_equal(cfg.initrd, "/boot/initrd.img");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_false(cfg.acpi);
	assert_false(cfg.direct_boot);
	assert_int_equal(cfg.console, CONSOLE_FILE);
	assert_string_equal(cfg.console_path, "/var/log/vm.log");
	assert_string_equal(cfg.api_socket, "/run/vm.sock");
	assert_int_equal(cfg.ndisks, 2);
	assert_string_equal(cfg.disks[0].path, "/images/root.img");
	assert_true(cfg.disks[0].readonly);
	assert_int_equal(cfg.disks[0].cache, DISK_CACHE_UNSAFE);
	assert_string_equal(cfg.disks[0].serial, "ROOT0001");
	assert_string_equal(cfg.disks[1].path, "/images/data.img");
	assert_false(cfg.disks[1].readonly);
	assert_int_equal(cfg.disks[1].cache, DISK_CACHE_WRITEBACK);
	assert_null(cfg.disks[1].serial);
	assert_int_equal(cfg.nnets, 2);
	assert_string_equal(cfg.nets[0].tap, "tap0");
	assert_true(cfg.nets[0].has_mac);
	assert_memory_equal(cfg.nets[0].mac, mac, 6);
	assert_string_equal(cfg.nets[0].bridge, "br0");
	assert_true(cfg.nets[0].mac_spoofing);
	assert_null(cfg.nets[1].tap);
	assert_false(cfg.nets[1].has_mac);
	assert_false(cfg.nets[1].mac_spoofing);
	assert_true(cfg.rng);
	assert_true(cfg.balloon);
	assert_int_equal(vm_config_validate(&cfg, &d), 0);
	assert_int_equal(d.n, 0);
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_other_forms(void **state)
{
	static const char src[] =
		"memory = 1024\n"
		"nested = \"on\"\n"
		"boot = { kernel = \"/k\", acpi = true }\n"
		"console.mode = \"pty\"\n"
		"disk = [ { path = \"/a\", cache = \"writeback\" }, { path = \"/b\", readonly = false } ]\n"
		"rng.enabled = false\n";
	struct vm_config cfg;
	struct diag d;

	assert_int_equal(load(&cfg, &d, src), 0);
	assert_int_equal(cfg.memory, 1024 * MiB);
	assert_int_equal(cfg.nested, NESTED_ON);
	assert_string_equal(cfg.kernel, "/k");
	assert_true(cfg.acpi);
	assert_int_equal(cfg.console, CONSOLE_PTY);
	assert_int_equal(cfg.ndisks, 2);
	assert_string_equal(cfg.disks[1].path, "/b");
	assert_false(cfg.rng);
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_memory_sizes(void **state)
{
	static const struct {
		const char *value;
		uint64_t bytes;
	} ok[] = {
		{ "16", 16 * MiB },
		{ "\"512M\"", 512 * MiB },
		{ "\"512MiB\"", 512 * MiB },
		{ "\"512MB\"", 512 * MiB },
		{ "\"4G\"", 4 * GiB },
		{ "\"4GiB\"", 4 * GiB },
		{ "\"1T\"", 1024 * GiB },
		{ "\"65536K\"", 64 * MiB },
		{ "\"2048\"", 2 * GiB },
		{ "1_024", 1024 * MiB },
	};
	static const struct {
		const char *value;
		const char *msg;
	} bad[] = {
		{ "15", "vm.toml:1:10: memory: must be at least 16 MiB (got 15 MiB)" },
		{ "0", "vm.toml:1:10: memory: must be at least 16 MiB (got 0 bytes)" },
		{ "-1", "vm.toml:1:10: memory: -1 MiB is out of range" },
		{ "\"8M\"", "vm.toml:1:10: memory: must be at least 16 MiB (got 8 MiB)" },
		{ "\"20000001K\"", "vm.toml:1:10: memory: must be a multiple of 4 KiB (got 20000001 KiB)" },
		{ "\"lots\"", "vm.toml:1:10: memory: \"lots\" is not a size (expected a number with an "
			"optional K/M/G/T suffix, e.g. \"512M\" or \"4GiB\")" },
		{ "\"4X\"", "vm.toml:1:10: memory: \"4X\" is not a size (expected a number with an "
			"optional K/M/G/T suffix, e.g. \"512M\" or \"4GiB\")" },
		{ "\"99999999999999999T\"", "vm.toml:1:10: memory: \"99999999999999999T\" is too large" },
		{ "17592186044416", "vm.toml:1:10: memory: 17592186044416 MiB is out of range" },
		{ "1.5", "vm.toml:1:10: memory: expected an integer (MiB) or a string such as "
			"\"512M\", got a float" },
	};
	char src[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct vm_config cfg;
		struct diag d;
		snprintf(src, sizeof(src), "memory = %s\n", ok[i].value);
		if (load(&cfg, &d, src) != 0)
			fail_msg("%s: %s", ok[i].value, d.n ? d.msgs[0] : "?");
		assert_int_equal(cfg.memory, ok[i].bytes);
		diag_free(&d);
		vm_config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(src, sizeof(src), "memory = %s\n", bad[i].value);
		expect_one(src, bad[i].msg);
	}
}

static void test_unknown_keys(void **state)
{
	expect_one("cpus = 2\n\n[boot]\nkernel = \"/k\"\n\n\nkernal = \"/k\"\n",
		"vm.toml:7:1: boot.kernal: unknown key (expected one of: kernel, initrd, cmdline, acpi, direct)");
	expect_one("cpu = 2\n",
		"vm.toml:1:1: cpu: unknown key (expected one of: name, uuid, title, description, "
		"cpus, memory, current_memory, nested, on_reboot, on_poweroff, on_crash, boot, console, "
		"api, disk, net, rng, balloon)");
	expect_one("[[disk]]\npath = \"/d\"\n[[disk]]\npath = \"/e\"\nro = true\n",
		"vm.toml:5:1: disk[1].ro: unknown key (expected one of: path, readonly, cache, format, "
		"serial, alias)");
	expect_one("[bot]\nkernel = 1\n",
		"vm.toml:1:2: bot: unknown key (expected one of: name, uuid, title, description, "
		"cpus, memory, current_memory, nested, on_reboot, on_poweroff, on_crash, boot, console, "
		"api, disk, net, rng, balloon)");
	expect_one("boot.x.y = 1\n",
		"vm.toml:1:6: boot.x: unknown key (expected one of: kernel, initrd, cmdline, acpi, direct)");
	expect_one("[rng]\nenable = true\n",
		"vm.toml:2:1: rng.enable: unknown key (expected one of: enabled)");
	expect_one("\"my key\" = 1\n",
		"vm.toml:1:1: \"my key\": unknown key (expected one of: name, uuid, title, description, "
		"cpus, memory, current_memory, nested, on_reboot, on_poweroff, on_crash, boot, console, "
		"api, disk, net, rng, balloon)");
}

static void test_wrong_types(void **state)
{
	expect_one("cpus = \"2\"\n", "vm.toml:1:8: cpus: expected an integer (1..255), got a string");
	expect_one("cpus = 256\n", "vm.toml:1:8: cpus: must be between 1 and 255 (got 256)");
	expect_one("cpus = 0\n", "vm.toml:1:8: cpus: must be between 1 and 255 (got 0)");
	expect_one("name = 7\n", "vm.toml:1:8: name: expected a string, got an integer");
	expect_one("name = \"has space\"\n",
		"vm.toml:1:8: name: may only use A-Z a-z 0-9 . _ - (found ' ')");
	expect_one("name = \"\"\n", "vm.toml:1:8: name: must be 1 to 64 characters long (got 0)");
	expect_one("name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
		"vm.toml:1:8: name: must be 1 to 64 characters long (got 65)");
	expect_one("nested = true\n",
		"vm.toml:1:10: nested: expected one of \"off\", \"auto\", \"on\", got a boolean");
	expect_one("nested = \"yes\"\n",
		"vm.toml:1:10: nested: \"yes\" is not one of \"off\", \"auto\", \"on\"");
	expect_one("on_reboot = \"reboot\"\n",
		"vm.toml:1:13: on_reboot: \"reboot\" is not one of \"exit\", \"restart\"");
	expect_one("boot = \"/k\"\n", "vm.toml:1:8: boot: expected a table ([boot]), got a string");
	expect_one("[boot]\nacpi = \"yes\"\n",
		"vm.toml:2:8: boot.acpi: expected a boolean (true or false), got a string");
	expect_one("[boot]\nkernel = 1979-05-27\n",
		"vm.toml:2:10: boot.kernel: expected a path (string), got a local date");
	expect_one("[boot]\nkernel = \"\"\n", "vm.toml:2:10: boot.kernel: path must not be empty");
	expect_one("[boot]\nkernel = \"a\\u0000b\"\n",
		"vm.toml:2:10: boot.kernel: must not contain NUL characters");
	expect_one("[console]\nmode = \"serial\"\n",
		"vm.toml:2:8: console.mode: \"serial\" is not one of \"stdio\", \"pty\", \"file\", \"none\"");
	expect_one("[console]\nmode = \"file\"\n",
		"vm.toml:2:8: console.mode: mode \"file\" needs a path (add console.path = \"...\")");
	expect_one("[disk]\npath = \"/d\"\n",
		"vm.toml:1:1: disk: expected an array of tables ([[disk]] sections), got a table");
	expect_one("disk = [\"/d\"]\n",
		"vm.toml:1:9: disk[0]: expected a table ([[disk]]), got a string");
	expect_one("[[disk]]\nreadonly = true\n",
		"vm.toml:1:1: disk[0]: missing required key 'path'");
	expect_one("[[disk]]\npath = \"/d\"\ncache = \"none\"\n",
		"vm.toml:3:9: disk[0].cache: \"none\" is not one of \"writeback\", \"unsafe\"");
	expect_one("[[disk]]\npath = \"/d\"\nserial = \"012345678901234567890\"\n",
		"vm.toml:3:10: disk[0].serial: serial \"012345678901234567890\" is longer than 20 characters");
	expect_one("[[net]]\nmac = \"52:54:00:12:34\"\n",
		"vm.toml:2:7: net[0].mac: \"52:54:00:12:34\" is not a MAC address (expected "
		"xx:xx:xx:xx:xx:xx, e.g. \"52:54:00:12:34:56\")");
	expect_one("[[net]]\nmac = \"52-54-00-12-34-56\"\n",
		"vm.toml:2:7: net[0].mac: \"52-54-00-12-34-56\" is not a MAC address (expected "
		"xx:xx:xx:xx:xx:xx, e.g. \"52:54:00:12:34:56\")");
	expect_one("[[net]]\nmac = \"01:00:5e:00:00:01\"\n",
		"vm.toml:2:7: net[0].mac: 01:00:5e:00:00:01 is a multicast address; the first byte "
		"must be even (e.g. 52:54:00:...)");
	expect_one("[[net]]\nmac = \"00:00:00:00:00:00\"\n",
		"vm.toml:2:7: net[0].mac: the all-zero MAC address cannot be used");
	expect_one("[[net]]\ntap = \"a-very-long-tap-name\"\n",
		"vm.toml:2:7: net[0].tap: \"a-very-long-tap-name\" is not an interface name (1 to 15 "
		"characters, no '/', ':' or spaces)");
	expect_one("[[net]]\nmac_spoofing = 1\n",
		"vm.toml:2:16: net[0].mac_spoofing: expected a boolean (true or false), got an integer");
	expect_one("[balloon]\nenabled = \"true\"\n",
		"vm.toml:2:11: balloon.enabled: expected a boolean (true or false), got a string");
}

static void test_syntax_errors(void **state)
{
	expect_one("cpus = 2\ncpus = 3\n",
		"vm.toml:2:1: cpus: duplicate key (first defined at line 1, column 1)");
	expect_one("[boot]\nkernel = \"/k\n",
		"vm.toml:2:10: string is not closed on its line (expected \"; use \"\"\" for a "
		"multi-line string)");
	expect_one("cpus = 2\nmemory = 512M\n",
		"vm.toml:2:10: invalid value '512M' (not a number, boolean or date; strings need "
		"quotes)");
	expect_one("[boot]\n[boot]\n", "vm.toml:2:2: boot: table defined twice (first at line 1, column 2)");
}

static void test_all_errors_at_once(void **state)
{
	static const char src[] =
		"cpus = 0\n"
		"memory = \"1K\"\n"
		"nested = \"maybe\"\n"
		"colour = \"blue\"\n"
		"[boot]\n"
		"kernal = \"bzImage\"\n"
		"acpi = 1\n"
		"[[disk]]\n"
		"cache = \"unsafe\"\n"
		"[[net]]\n"
		"mac = \"ff:ff:ff:ff:ff:ff\"\n";
	static const char *const want[] = {
		"vm.toml:1:8: cpus: must be between 1 and 255 (got 0)",
		"vm.toml:2:10: memory: must be at least 16 MiB (got 1 KiB)",
		"vm.toml:3:10: nested: \"maybe\" is not one of \"off\", \"auto\", \"on\"",
		"vm.toml:4:1: colour: unknown key (expected one of: name, uuid, title, description, "
			"cpus, memory, current_memory, nested, on_reboot, on_poweroff, on_crash, boot, "
			"console, api, disk, net, rng, balloon)",
		"vm.toml:6:1: boot.kernal: unknown key (expected one of: kernel, initrd, cmdline, acpi, direct)",
		"vm.toml:7:8: boot.acpi: expected a boolean (true or false), got an integer",
		"vm.toml:8:1: disk[0]: missing required key 'path'",
		("vm.toml:11:7: net[0].mac: ff:ff:ff:ff:ff:ff is a multicast address; the first byte "
			"must be even (e.g. 52:54:00:...)"),
	};
	struct vm_config cfg;
	struct diag d;

	assert_int_equal(load(&cfg, &d, src), -EINVAL);
	expect_msgs(&d, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(cfg.ndisks, 0);
	assert_int_equal(cfg.nnets, 0);
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_limits(void **state)
{
	char src[2048];
	size_t len = 0;
	struct vm_config cfg;
	struct diag d;
	char want[128];

	for (int i = 0; i <= VM_MAX_DISKS; i++)
		len += (size_t)snprintf(src + len, sizeof(src) - len, "[[disk]]\npath = \"/d%d\"\n", i);
	assert_int_equal(load(&cfg, &d, src), -EINVAL);
	snprintf(want, sizeof(want), "vm.toml:%d:1: disk[%d]: too many disks (at most %d)",
		2 * VM_MAX_DISKS + 1, VM_MAX_DISKS, VM_MAX_DISKS);
	expect_msgs(&d, (const char *const[]){ want }, 1);
	assert_int_equal(cfg.ndisks, VM_MAX_DISKS);
	assert_string_equal(cfg.disks[VM_MAX_DISKS - 1].path, "/d15");
	diag_free(&d);
	vm_config_free(&cfg);

	len = 0;
	for (int i = 0; i <= VM_MAX_NETS; i++)
		len += (size_t)snprintf(src + len, sizeof(src) - len, "[[net]]\n");
	assert_int_equal(load(&cfg, &d, src), -EINVAL);
	snprintf(want, sizeof(want), "vm.toml:%d:1: net[%d]: too many network interfaces (at most %d)",
		VM_MAX_NETS + 1, VM_MAX_NETS, VM_MAX_NETS);
	expect_msgs(&d, (const char *const[]){ want }, 1);
	assert_int_equal(cfg.nnets, VM_MAX_NETS);
	diag_free(&d);
	vm_config_free(&cfg);
}

static char *tmpdir_real(void)
{
	char tmpl[] = "/tmp/test_vm_config_XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	char *real = realpath(dir, NULL);
	assert_non_null(real);
	return real;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_relative_paths(void **state)
{
	static const char src[] =
		"[boot]\n"
		"kernel = \"bzImage\"\n"
		"initrd = \"../initrd.img\"\n"
		"[console]\n"
		"mode = \"file\"\n"
		"path = \"./logs/console.log\"\n"
		"[api]\n"
		"socket = \"vm.sock\"\n"
		"[[disk]]\n"
		"path = \"/abs/disk.img\"\n"
		"[[disk]]\n"
		"path = \"disks/data.img\"\n";
	char *dir = tmpdir_real(), path[PATH_MAX], want[PATH_MAX], cwd[PATH_MAX];
	struct vm_config cfg;
	struct diag d;

	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sub/vm.toml", dir);
	write_file(path, src);

	/* absolute file name */
	vm_config_init(&cfg);
	diag_init(&d);
	assert_int_equal(vm_config_load_file(&cfg, path, &d), 0);
	assert_string_equal(cfg.source, path);
	snprintf(want, sizeof(want), "%s/sub/bzImage", dir);
	assert_string_equal(cfg.kernel, want);
	snprintf(want, sizeof(want), "%s/sub/../initrd.img", dir);
	assert_string_equal(cfg.initrd, want);
	snprintf(want, sizeof(want), "%s/sub/logs/console.log", dir);
	assert_string_equal(cfg.console_path, want);
	snprintf(want, sizeof(want), "%s/sub/vm.sock", dir);
	assert_string_equal(cfg.api_socket, want);
	assert_string_equal(cfg.disks[0].path, "/abs/disk.img");
	snprintf(want, sizeof(want), "%s/sub/disks/data.img", dir);
	assert_string_equal(cfg.disks[1].path, want);
	vm_config_free(&cfg);

	/* relative file name: against the file's directory, not the cwd */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	vm_config_init(&cfg);
	assert_int_equal(vm_config_load_file(&cfg, "sub/vm.toml", &d), 0);
	snprintf(want, sizeof(want), "%s/sub/bzImage", dir);
	assert_string_equal(cfg.kernel, want);
	vm_config_free(&cfg);
	assert_int_equal(chdir("sub"), 0);
	vm_config_init(&cfg);
	assert_int_equal(vm_config_load_file(&cfg, "vm.toml", &d), 0);
	assert_string_equal(cfg.kernel, want);
	vm_config_free(&cfg);

	/* a buffer: against the cwd */
	vm_config_init(&cfg);
	assert_int_equal(vm_config_load_buffer(&cfg, "buf", src, strlen(src), &d), 0);
	snprintf(want, sizeof(want), "%s/sub/bzImage", dir);
	assert_string_equal(cfg.kernel, want);
	snprintf(want, sizeof(want), "%s/sub/disks/data.img", dir);
	assert_string_equal(cfg.disks[1].path, want);
	vm_config_free(&cfg);
	assert_int_equal(d.n, 0);
	assert_int_equal(chdir(cwd), 0);

	snprintf(path, sizeof(path), "%s/sub/vm.toml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	free(dir);
	diag_free(&d);
}

static void test_file_errors(void **state)
{
	char *dir = tmpdir_real(), path[PATH_MAX], want[PATH_MAX + 128];
	struct vm_config cfg;
	struct diag d;

	snprintf(path, sizeof(path), "%s/vm.toml", dir);
	write_file(path, "cpus = 2\n[boot]\nkernal = \"x\"\n");
	vm_config_init(&cfg);
	diag_init(&d);
	assert_int_equal(vm_config_load_file(&cfg, path, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s:3:1: boot.kernal: unknown key (expected one of: kernel, "
		"initrd, cmdline, acpi, direct)", path);
	expect_msgs(&d, (const char *const[]){ want }, 1);
	diag_free(&d);
	vm_config_free(&cfg);

	write_file(path, "cpus = 2\ncpus = 3\n");
	vm_config_init(&cfg);
	assert_int_equal(vm_config_load_file(&cfg, path, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:1: cpus: duplicate key (first defined at line 1, column 1)",
		path);
	expect_msgs(&d, (const char *const[]){ want }, 1);
	diag_free(&d);
	vm_config_free(&cfg);

	unlink(path);
	vm_config_init(&cfg);
	assert_int_equal(vm_config_load_file(&cfg, path, &d), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read the file: %s", path, strerror(ENOENT));
	expect_msgs(&d, (const char *const[]){ want }, 1);
	diag_free(&d);
	vm_config_free(&cfg);
	rmdir(dir);
	free(dir);
}

static void test_validate(void **state)
{
	struct vm_config cfg;
	struct diag d;

	vm_config_init(&cfg);
	diag_init(&d);
	assert_int_equal(vm_config_validate(&cfg, &d), -EINVAL);
	expect_msgs(&d, (const char *const[]){ "no kernel given (boot.kernel or --kernel)" }, 1);
	diag_free(&d);

	cfg.kernel = strdup("/k");
	assert_int_equal(vm_config_validate(&cfg, &d), 0);
	assert_int_equal(d.n, 0);

	cfg.cpus = 0;
	cfg.memory = 8 * MiB;
	cfg.console = CONSOLE_FILE;
	cfg.name = strdup("bad/name");
	cfg.ndisks = 1;
	cfg.nnets = 1;
	cfg.nets[0].has_mac = true;
	cfg.nets[0].mac[0] = 0x03;
	cfg.api_socket = malloc(200);
	memset(cfg.api_socket, 'a', 199);
	cfg.api_socket[199] = '\0';
	assert_int_equal(vm_config_validate(&cfg, &d), -EINVAL);
	static const char *const want[] = {
		"cpus: must be between 1 and 255 (got 0)",
		"memory: must be at least 16 MiB (got 8 MiB)",
		"name: may only use A-Z a-z 0-9 . _ - (found '/')",
		"console: mode \"file\" needs a path (console.path, or --console file:PATH)",
		NULL, /* api.socket, checked by prefix below */
		"disk[0]: no path given",
		"net[0].mac: 03:00:00:00:00:00 is a multicast address; the first byte must be even "
		"(e.g. 52:54:00:...)",
	};
	assert_int_equal(d.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < d.n; i++) {
		if (want[i])
			assert_string_equal(d.msgs[i], want[i]);
		else
			assert_true(!strncmp(d.msgs[i], "api.socket: socket path \"aaa", 28) &&
				strstr(d.msgs[i], "is longer than 107 bytes, the limit for unix sockets"));
	}
	diag_free(&d);

	cfg.cpus = 256;
	cfg.memory = 16 * MiB + 1;
	assert_int_equal(vm_config_validate(&cfg, &d), -EINVAL);
	assert_string_equal(d.msgs[0], "cpus: must be between 1 and 255 (got 256)");
	assert_string_equal(d.msgs[1], "memory: must be a multiple of 4 KiB (got 16777217 bytes)");
	diag_free(&d);
	vm_config_free(&cfg);
}

/* Loading over a config replaces strings and appends disks; flags applied later win. */
static void test_load_keeps_defaults(void **state)
{
	struct vm_config cfg;
	struct diag d;

	assert_int_equal(load(&cfg, &d, "[boot]\nkernel = \"/k\"\n"), 0);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.memory, 512 * MiB);
	assert_true(cfg.acpi);
	assert_int_equal(cfg.console, CONSOLE_STDIO);
	assert_int_equal(vm_config_load_buffer(&cfg, "b", "[boot]\nkernel = \"/k2\"\n", 21, &d), 0);
	assert_string_equal(cfg.kernel, "/k2");
	assert_int_equal(vm_config_load_buffer(&cfg, NULL, "x = 1", 5, &d), -EINVAL);
	assert_true(!strncmp(d.msgs[0], "<config>:1:1: x: unknown key", 28));
	diag_free(&d);
	vm_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_other_forms),
		cmocka_unit_test(test_memory_sizes),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_all_errors_at_once),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_load_keeps_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
