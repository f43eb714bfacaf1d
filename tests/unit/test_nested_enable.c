// SPDX-License-Identifier: MIT
/*
 * `vmm nested enable`'s rewrite: every rule made to hold with edits that keep
 * the rest of the file byte for byte (comments, order, quoting, inline
 * tables, dotted keys, [[net]] arrays, CRLF, a BOM), the result reparsed and
 * compared, and bad input refused without a result.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nested.h"

/* Rewrites src; on success checks the text, the changes and that the result is a compliant VM. */
static void expect(const char *src, const char *memory, const char *want,
	const char *const *changes, size_t nchanges)
{
	struct nested_enable_opts o = { memory };
	struct nested_enable_result r;
	struct diag d;
	struct vm_config cfg;

	diag_init(&d);
	int rc = nested_enable_rewrite("vm.toml", src, strlen(src), &o, &r, &d);
	if (rc < 0) {
		diag_print(&d, stderr);
		fail_msg("rewrite failed: %d", rc);
	}
	assert_int_equal(d.n, 0);
	if (strcmp(r.text, want))
		fail_msg("rewrite of:\n%s\n--- got:\n%s\n--- want:\n%s", src, r.text, want);
	assert_int_equal(r.len, strlen(want));
	for (size_t i = 0; i < r.nchanges; i++)
		print_message("change: %s\n", r.changes[i]);
	assert_int_equal(r.nchanges, nchanges);
	for (size_t i = 0; i < nchanges; i++)
		assert_string_equal(r.changes[i], changes[i]);

	/* The output reparsed: a nested VM that passes the rules. */
	vm_config_init(&cfg);
	assert_int_equal(vm_config_load_buffer(&cfg, "out.toml", r.text, r.len, &d), 0);
	assert_int_equal(cfg.nested, NESTED_ON);
	assert_true(cfg.cpus >= 2);
	assert_false(cfg.balloon);
	for (size_t i = 0; i < cfg.nnets; i++)
		assert_true(cfg.nets[i].mac_spoofing);
	assert_int_equal(nested_rules_check(&cfg, true, &d), 0);
	vm_config_free(&cfg);

	/* Idempotent: the result needs no further change. */
	struct nested_enable_result again;
	assert_int_equal(nested_enable_rewrite("out.toml", r.text, r.len, &o, &again, &d), 0);
	assert_int_equal(again.nchanges, 0);
	assert_string_equal(again.text, r.text);
	nested_enable_result_free(&again);
	nested_enable_result_free(&r);
	nested_enable_result_free(&r); /* idempotent */
	nested_enable_result_free(NULL);
	diag_free(&d);
}

static void test_comments_tables_arrays(void **state)
{
	static const char src[] =
		"# A demo VM.\n"
		"name = \"demo\"   # its name\n"
		"cpus = 1        # one is enough?\n"
		"memory = \"1G\"\n"
		"\n"
		"[boot]\n"
		"kernel = \"/boot/vmlinuz\"  # the kernel\n"
		"cmdline = \"console=ttyS0\"\n"
		"\n"
		"# First NIC\n"
		"[[net]]\n"
		"tap = \"tap0\"\n"
		"mac_spoofing = false # drop foreign MACs\n"
		"\n"
		"[[net]]\n"
		"tap = \"tap1\"\n"
		"# trailing comment in net 1\n"
		"\n"
		"[balloon]\n"
		"enabled = true   # grow and shrink\n";
	static const char want[] =
		"# A demo VM.\n"
		"name = \"demo\"   # its name\n"
		"cpus = 2        # one is enough?\n"
		"memory = \"1G\"\n"
		"nested = \"on\"\n"
		"\n"
		"[boot]\n"
		"kernel = \"/boot/vmlinuz\"  # the kernel\n"
		"cmdline = \"console=ttyS0\"\n"
		"\n"
		"# First NIC\n"
		"[[net]]\n"
		"tap = \"tap0\"\n"
		"mac_spoofing = true # drop foreign MACs\n"
		"\n"
		"[[net]]\n"
		"tap = \"tap1\"\n"
		"mac_spoofing = true\n"
		"# trailing comment in net 1\n"
		"\n"
		"[balloon]\n"
		"enabled = false   # grow and shrink\n";
	static const char *const ch[] = {
		"nested: not set (\"off\") -> \"on\"",
		"cpus: 1 -> 2",
		"balloon: enabled = true -> false",
		"net[0] (tap \"tap0\"): mac_spoofing = false -> true",
		"net[1] (tap \"tap1\"): mac_spoofing not set (false) -> true",
	};
	expect(src, NULL, want, ch, ARRAY_SIZE(ch));
}

static void test_already_compliant(void **state)
{
	static const char src[] =
		"# Nothing to do here.\n"
		"nested = \"on\"\n"
		"cpus = 4\n"
		"[boot]\n"
		"kernel = \"/k\"\n"
		"[[net]]\n"
		"mac_spoofing = true\n"
		"[balloon]\n"
		"enabled = false\n"
		"[rng]\n"
		"enabled = true\n";
	expect(src, NULL, src, NULL, 0);
	expect("nested = 'on'\ncpus = 2\n[balloon] # no enabled key: no balloon\n", NULL,
		"nested = 'on'\ncpus = 2\n[balloon] # no enabled key: no balloon\n", NULL, 0);
}

static void test_inline_and_dotted(void **state)
{
	static const char src[] =
		"nested = 'auto'\n"
		"cpus = 0x1\n"
		"boot.kernel = \"/k\"\n"
		"boot.cmdline = \"quiet\"\n"
		"balloon = { enabled = true }\n"
		"net = [ { tap = \"a\" }, {}, { tap = \"b\", mac_spoofing = false } ]\n";
	static const char want[] =
		"nested = \"on\"\n"
		"cpus = 2\n"
		"boot.kernel = \"/k\"\n"
		"boot.cmdline = \"quiet\"\n"
		"balloon = { enabled = false }\n"
		"net = [ { tap = \"a\", mac_spoofing = true }, { mac_spoofing = true }, "
		"{ tap = \"b\", mac_spoofing = true } ]\n";
	static const char *const ch[] = {
		"nested: 'auto' -> \"on\"",
		"cpus: 0x1 -> 2",
		"balloon: enabled = true -> false",
		"net[0] (tap \"a\"): mac_spoofing not set (false) -> true",
		"net[1]: mac_spoofing not set (false) -> true",
		"net[2] (tap \"b\"): mac_spoofing = false -> true",
	};
	expect(src, NULL, want, ch, ARRAY_SIZE(ch));

	/* Dotted balloon key, inline boot table, multi-line array as the last top-level value. */
	static const char src2[] =
		"boot = { kernel = \"/k\", cmdline = \"a b\" }\n"
		"balloon.enabled = true # dotted\n"
		"disk = [\n"
		"  { path = \"/d\" },  # root disk\n"
		"]\n"
		"\n"
		"[[net]] # empty entry\n"
		"# about rng\n"
		"[rng]\n"
		"enabled = true\n";
	static const char want2[] =
		"boot = { kernel = \"/k\", cmdline = \"a b\" }\n"
		"balloon.enabled = false # dotted\n"
		"disk = [\n"
		"  { path = \"/d\" },  # root disk\n"
		"]\n"
		"nested = \"on\"\n"
		"cpus = 2\n"
		"\n"
		"[[net]] # empty entry\n"
		"mac_spoofing = true\n"
		"# about rng\n"
		"[rng]\n"
		"enabled = true\n";
	static const char *const ch2[] = {
		"nested: not set (\"off\") -> \"on\"",
		"cpus: not set (1) -> 2",
		"balloon: enabled = true -> false",
		"net[0]: mac_spoofing not set (false) -> true",
	};
	expect(src2, NULL, want2, ch2, ARRAY_SIZE(ch2));
}

static void test_insertion_points(void **state)
{
	static const char *const ch[] = {
		"nested: not set (\"off\") -> \"on\"",
		"cpus: not set (1) -> 2",
	};
	/* No top-level keys: above the comment block of the first table. */
	expect("# VM file\n\n# boot section\n[boot]\nkernel = \"/k\"\n", NULL,
		"# VM file\n\nnested = \"on\"\ncpus = 2\n\n# boot section\n[boot]\nkernel = \"/k\"\n",
		ch, 2);
	expect("[boot]\nkernel = \"/k\"\n", NULL,
		"nested = \"on\"\ncpus = 2\n\n[boot]\nkernel = \"/k\"\n", ch, 2);
	/* No newline at the end. */
	expect("name = \"x\"", NULL, "name = \"x\"\nnested = \"on\"\ncpus = 2\n", ch, 2);
	/* Empty, and comments only. */
	expect("", NULL, "nested = \"on\"\ncpus = 2\n", ch, 2);
	expect("# just a comment", NULL, "# just a comment\nnested = \"on\"\ncpus = 2\n", ch, 2);
	/* A multi-line string as the last top-level value. */
	expect("name = \"\"\"\nabc\"\"\" # multi\n[boot]\n", NULL,
		"name = \"\"\"\nabc\"\"\" # multi\nnested = \"on\"\ncpus = 2\n[boot]\n", ch, 2);
	/* [[net]] at the very end without a newline. */
	static const char *const ch3[] = {
		"nested: not set (\"off\") -> \"on\"",
		"net[0]: mac_spoofing not set (false) -> true",
	};
	expect("cpus = 3\n[[net]]", NULL, "cpus = 3\nnested = \"on\"\n[[net]]\nmac_spoofing = true\n",
		ch3, 2);
}

static void test_line_endings_and_bom(void **state)
{
	static const char *const ch[] = {
		"nested: not set (\"off\") -> \"on\"",
		"cpus: not set (1) -> 2",
		"net[0]: mac_spoofing not set (false) -> true",
	};
	expect("name = \"x\"\r\n[boot]\r\nkernel = \"/k\"\r\n[[net]]\r\nmac = \"52:54:00:00:00:01\"\r\n",
		NULL,
		"name = \"x\"\r\nnested = \"on\"\r\ncpus = 2\r\n[boot]\r\nkernel = \"/k\"\r\n[[net]]\r\n"
		"mac = \"52:54:00:00:00:01\"\r\nmac_spoofing = true\r\n", ch, 3);
	expect("\xEF\xBB\xBF[boot]\nkernel = \"/k\"\n[[net]]\n", NULL,
		"\xEF\xBB\xBFnested = \"on\"\ncpus = 2\n\n[boot]\nkernel = \"/k\"\n[[net]]\n"
		"mac_spoofing = true\n", ch, 3);
}

static void test_memory(void **state)
{
	static const char *const ch[] = {
		"nested: \"off\" -> \"on\"",
		"memory: 512 -> \"4G\"",
	};
	expect("nested = \"off\"\ncpus = 2\nmemory = 512 # MiB\n", "4G",
		"nested = \"on\"\ncpus = 2\nmemory = \"4G\" # MiB\n", ch, 2);
	static const char *const ch2[] = {
		"nested: not set (\"off\") -> \"on\"",
		"memory: not set (512 MiB) -> \"1536M\"",
	};
	expect("cpus = 2\n", "1536", "cpus = 2\nnested = \"on\"\nmemory = \"1536M\"\n", ch2, 2);
	/* The same size written another way: no change. */
	expect("nested = \"on\"\ncpus = 2\nmemory = \"4G\"\n", "4096M",
		"nested = \"on\"\ncpus = 2\nmemory = \"4G\"\n", NULL, 0);
}

static void expect_refused(const char *src, const char *memory, int want_rc, const char *msg)
{
	struct nested_enable_opts o = { memory };
	struct nested_enable_result r;
	struct diag d;

	diag_init(&d);
	assert_int_equal(nested_enable_rewrite("vm.toml", src, strlen(src), &o, &r, &d), want_rc);
	assert_null(r.text);
	assert_int_equal(r.nchanges, 0);
	assert_true(d.n >= 1);
	bool found = false;
	for (size_t i = 0; i < d.n; i++)
		found |= strstr(d.msgs[i], msg) != NULL;
	if (!found) {
		diag_print(&d, stderr);
		fail_msg("no message contains '%s'", msg);
	}
	diag_free(&d);
}

static void test_refused(void **state)
{
	expect_refused("cpus = [\n", NULL, -EINVAL, "vm.toml:1:");
	expect_refused("frobnicate = 1\n", NULL, -EINVAL, "frobnicate");
	expect_refused("nested = \"sometimes\"\n", NULL, -EINVAL, "vm.toml:1:");
	expect_refused("cpus = 2\n", "banana", -EINVAL, "--memory: 'banana'");
	expect_refused("cpus = 2\n", "1M", -EINVAL, "at least 16M");
	expect_refused("cpus = 2\n", "5000K", -EINVAL, "multiple of 4K");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_tables_arrays),
		cmocka_unit_test(test_already_compliant),
		cmocka_unit_test(test_inline_and_dotted),
		cmocka_unit_test(test_insertion_points),
		cmocka_unit_test(test_line_endings_and_bom),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
