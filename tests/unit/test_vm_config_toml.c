// SPDX-License-Identifier: MIT
/*
 * The newer vm_config keys (uuid, title, description, current_memory,
 * on_poweroff, on_crash, device aliases) through the TOML loader and the
 * validator, and the TOML writer: exact output for one config, refusal of
 * strings TOML cannot carry, and a property test (many random configs with
 * hostile strings written and read back into an equal config).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void expect_one(const char *src, const char *want)
{
	struct vm_config cfg;
	struct diag d;

	assert_int_equal(load(&cfg, &d, src), -EINVAL);
	expect_msgs(&d, &want, 1);
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_new_keys(void **state)
{
	static const char src[] =
		"name = \"vm1\"\n"
		"uuid = \"6F1F7A2E-0C1D-4E5F-8A9B-0C1D2E3F4A5B\"\n"
		"title = \"The \\\"first\\\" VM\"\n"
		"description = \"line 1\\nline 2\\ttab\"\n"
		"memory = \"1G\"\n"
		"current_memory = 768\n"
		"on_poweroff = \"exit\"\n"
		"on_crash = \"exit\"\n"
		"[boot]\nkernel = \"/k\"\n"
		"[balloon]\nenabled = true\n"
		"[[disk]]\npath = \"/d.img\"\nalias = \"ua-box-volume-0\"\n"
		"[[net]]\nalias = \"ua-net-0\"\n";
	static const uint8_t want_uuid[16] = { 0x6f, 0x1f, 0x7a, 0x2e, 0x0c, 0x1d, 0x4e, 0x5f,
		0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b };
	struct vm_config cfg;
	struct diag d;
	char buf[VM_UUID_STR];

	assert_int_equal(load(&cfg, &d, src), 0);
	assert_int_equal(d.n, 0);
	assert_true(cfg.has_uuid);
	assert_memory_equal(cfg.uuid, want_uuid, 16);
	assert_string_equal(vm_config_format_uuid(cfg.uuid, buf),
		"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b");
	assert_string_equal(cfg.title, "The \"first\" VM");
	assert_string_equal(cfg.description, "line 1\nline 2\ttab");
	assert_int_equal(cfg.memory, GiB);
	assert_int_equal(cfg.current_memory, 768 * MiB);
	assert_int_equal(cfg.on_poweroff, ON_POWEROFF_EXIT);
	assert_int_equal(cfg.on_crash, ON_CRASH_EXIT);
	assert_string_equal(cfg.disks[0].alias, "ua-box-volume-0");
	assert_string_equal(cfg.nets[0].alias, "ua-net-0");
	assert_int_equal(vm_config_validate(&cfg, &d), 0);
	diag_free(&d);
	vm_config_free(&cfg);

	/* the defaults: no UUID, no title, the balloon target is all of memory */
	assert_int_equal(load(&cfg, &d, "[boot]\nkernel = \"/k\"\n"), 0);
	assert_false(cfg.has_uuid);
	assert_null(cfg.title);
	assert_null(cfg.description);
	assert_int_equal(cfg.current_memory, 0);
	assert_null(cfg.disks[0].alias);
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_new_key_errors(void **state)
{
	expect_one("uuid = \"6f1f7a2e0c1d4e5f8a9b0c1d2e3f4a5b\"\n",
		"vm.toml:1:8: uuid: \"6f1f7a2e0c1d4e5f8a9b0c1d2e3f4a5b\" is not a UUID (expected "
		"8-4-4-4-12 hexadecimal digits, e.g. \"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b\")");
	expect_one("uuid = \"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b0\"\n",
		"vm.toml:1:8: uuid: \"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b0\" is not a UUID (expected "
		"8-4-4-4-12 hexadecimal digits, e.g. \"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b\")");
	expect_one("uuid = \"00000000-0000-0000-0000-000000000000\"\n",
		"vm.toml:1:8: uuid: the nil UUID 00000000-0000-0000-0000-000000000000 cannot "
		"identify a VM");
	expect_one("uuid = 5\n", "vm.toml:1:8: uuid: expected a UUID string "
		"(\"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\"), got an integer");
	expect_one("title = \"a\\nb\"\n", "vm.toml:1:9: title: must be one line (found a newline)");
	expect_one("title = \"a\\u0007\"\n",
		"vm.toml:1:9: title: must not contain control characters (found U+0007)");
	expect_one("description = \"a\\u001b[0m\"\n", "vm.toml:1:15: description: must not "
		"contain control characters other than tab, newline and carriage return (found U+001B)");
	expect_one("memory = 512\ncurrent_memory = \"1G\"\n",
		"vm.toml:2:18: current_memory: 1 GiB is more than memory (512 MiB)");
	expect_one("current_memory = 256\n[balloon]\nenabled = false\n",
		"vm.toml:1:18: current_memory: 256 MiB is below memory (512 MiB), which needs a "
		"balloon device to hold the difference");
	expect_one("current_memory = \"300001K\"\n[balloon]\nenabled = true\n",
		"vm.toml:1:18: current_memory: must be a multiple of 4 KiB (got 300001 KiB)");
	expect_one("current_memory = \"lots\"\n", "vm.toml:1:18: current_memory: \"lots\" is not a "
		"size (expected a number with an optional K/M/G/T suffix, e.g. \"512M\" or \"4GiB\")");
	expect_one("on_poweroff = \"restart\"\n",
		"vm.toml:1:15: on_poweroff: \"restart\" is not one of \"exit\"");
	expect_one("on_crash = \"preserve\"\n",
		"vm.toml:1:12: on_crash: \"preserve\" is not one of \"exit\"");
	expect_one("[[net]]\nalias = \"net0\"\n", "vm.toml:2:9: net[0].alias: \"net0\" is not a user "
		"alias (\"ua-\" then letters, digits, '_' or '-', at most 64 characters)");
	expect_one("[[disk]]\npath = \"/d\"\nalias = \"ua-a b\"\n", "vm.toml:3:9: disk[0].alias: "
		"\"ua-a b\" is not a user alias (\"ua-\" then letters, digits, '_' or '-', at most 64 "
		"characters)");
	expect_one("[[net]]\nalias = \"ua-\"\n", "vm.toml:2:9: net[0].alias: \"ua-\" is not a user "
		"alias (\"ua-\" then letters, digits, '_' or '-', at most 64 characters)");
}

/* The rules that only vm_config_validate can see (the command line fills these too). */
static void test_validate_new_rules(void **state)
{
	static const char *const want[] = {
		"on_crash: invalid action 3",
		"uuid: the nil UUID 00000000-0000-0000-0000-000000000000 cannot identify a VM",
		"title: must be one line (found a newline)",
		("description: must not contain control characters other than tab, newline and "
			"carriage return (found U+0001)"),
		"current_memory: 2 GiB is more than memory (1 GiB)",
		"net[1].alias: \"ua-x\" is already the alias of disk[0]",
	};
	struct vm_config cfg;
	struct diag d;

	vm_config_init(&cfg);
	diag_init(&d);
	cfg.kernel = strdup("/k");
	cfg.memory = GiB;
	cfg.has_uuid = true;
	cfg.title = strdup("a\nb");
	cfg.description = strdup("\x01");
	cfg.current_memory = 2 * GiB;
	cfg.on_crash = (enum on_crash)3;
	cfg.ndisks = 1;
	cfg.disks[0].path = strdup("/d");
	cfg.disks[0].alias = strdup("ua-x");
	cfg.nnets = 2;
	cfg.nets[0].alias = strdup("ua-y");
	cfg.nets[1].alias = strdup("ua-x");
	assert_int_equal(vm_config_validate(&cfg, &d), -EINVAL);
	expect_msgs(&d, want, ARRAY_SIZE(want));
	diag_free(&d);
	vm_config_free(&cfg);
}

static void test_uuid_helpers(void **state)
{
	uint8_t a[16], b[16];
	char s[VM_UUID_STR];

	assert_int_equal(vm_config_random_uuid(a), 0);
	assert_int_equal(vm_config_random_uuid(b), 0);
	assert_memory_not_equal(a, b, 16);
	assert_int_equal(a[6] >> 4, 4);          /* version 4 */
	assert_int_equal(a[8] & 0xc0, 0x80);     /* RFC 4122 variant */
	vm_config_format_uuid(a, s);
	assert_int_equal(strlen(s), 36);
	assert_int_equal(vm_config_parse_uuid(s, b), 0);
	assert_memory_equal(a, b, 16);
	assert_int_equal(vm_config_parse_uuid("6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5", b), -EINVAL);
	assert_int_equal(vm_config_parse_uuid("6f1f7a2e-0c1d-4e5f-8a9b+0c1d2e3f4a5b", b), -EINVAL);
	assert_int_equal(vm_config_parse_uuid("6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5g", b), -EINVAL);
	assert_int_equal(vm_config_parse_uuid("", b), -EINVAL);

	uint8_t m[6];
	assert_int_equal(vm_config_random_mac(m), 0);
	assert_int_equal(m[0], 0x52);
	assert_int_equal(m[1], 0x54);
	assert_int_equal(m[2], 0x00);
}

/* One config written exactly as documented. */
static void test_writer_output(void **state)
{
	static const char want[] =
		"# a nestvmm VM (vm_config_to_toml)\n"
		"name = \"vm1\"\n"
		"uuid = \"6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b\"\n"
		"title = \"say \\\"hi\\\" \\\\ \xc3\xa9\"\n"
		"description = \"a\\nb\\tc\\rd\"\n"
		"cpus = 2\n"
		"memory = \"1GiB\"\n"
		"current_memory = \"768MiB\"\n"
		"nested = \"auto\"\n"
		"on_reboot = \"restart\"\n"
		"on_poweroff = \"exit\"\n"
		"on_crash = \"exit\"\n"
		"\n[boot]\n"
		"kernel = \"/boot/bz\"\n"
		"cmdline = \"console=ttyS0 \\u0001\\u007F\\b\\f\"\n"
		"acpi = false\n"
		"direct = true\n"
		"\n[console]\n"
		"mode = \"file\"\n"
		"path = \"/var/log/c.log\"\n"
		"virtio = false\n"
		"\n[rng]\nenabled = true\n"
		"\n[balloon]\nenabled = true\n"
		"\n[[disk]]\n"
		"path = \"/d.img\"\n"
		"readonly = true\n"
		"cache = \"unsafe\"\n"
		"format = \"raw\"\n"
		"serial = \"S\\\"1\"\n"
		"alias = \"ua-d\"\n"
		"\n[[net]]\n"
		"mac = \"52:54:00:0a:0b:0c\"\n"
		"bridge = \"br0\"\n"
		"mac_spoofing = false\n";
	struct vm_config cfg, back;
	struct diag d;
	char *out = NULL;

	vm_config_init(&cfg);
	cfg.name = strdup("vm1");
	assert_int_equal(vm_config_parse_uuid("6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b", cfg.uuid), 0);
	cfg.has_uuid = true;
	cfg.title = strdup("say \"hi\" \\ \xc3\xa9");
	cfg.description = strdup("a\nb\tc\rd");
	cfg.cpus = 2;
	cfg.memory = GiB;
	cfg.current_memory = 768 * MiB;
	cfg.nested = NESTED_AUTO;
	cfg.on_reboot = ON_REBOOT_RESTART;
	cfg.kernel = strdup("/boot/bz");
	cfg.cmdline = strdup("console=ttyS0 \x01\x7f\b\f");
	cfg.acpi = false;
	cfg.console = CONSOLE_FILE;
	cfg.console_path = strdup("/var/log/c.log");
	cfg.rng = true;
	cfg.balloon = true;
	cfg.ndisks = 1;
	cfg.disks[0] = (struct disk_config){ .path = strdup("/d.img"), .readonly = true,
		.cache = DISK_CACHE_UNSAFE, .serial = strdup("S\"1"), .alias = strdup("ua-d") };
	cfg.nnets = 1;
	cfg.nets[0] = (struct net_config){ .mac = { 0x52, 0x54, 0, 10, 11, 12 }, .has_mac = true,
		.bridge = strdup("br0") };
	assert_int_equal(vm_config_to_toml(&cfg, &out), 0);
	assert_string_equal(out, want);
	assert_int_equal(load(&back, &d, out), 0);
	assert_true(vm_config_equal(&cfg, &back));
	diag_free(&d);
	vm_config_free(&back);
	free(out);

	/* TOML text is UTF-8: a string that is not cannot be written */
	static const char *const bad[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe0\x80\xaf" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		free(cfg.title);
		cfg.title = strdup(bad[i]);
		out = (char *)1;
		assert_int_equal(vm_config_to_toml(&cfg, &out), -EILSEQ);
		assert_null(out);
	}
	vm_config_free(&cfg);
}

/* ---- the property test ---- */

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static unsigned below(struct rng *r, unsigned n)
{
	return (unsigned)(next(r) % n);
}

static void put_cp(char *buf, size_t *len, uint32_t cp)
{
	if (cp < 0x80) {
		buf[(*len)++] = (char)cp;
	} else if (cp < 0x800) {
		buf[(*len)++] = (char)(0xc0 | cp >> 6);
		buf[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		buf[(*len)++] = (char)(0xe0 | cp >> 12);
		buf[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		buf[(*len)++] = (char)(0xf0 | cp >> 18);
		buf[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[(*len)++] = (char)(0x80 | (cp & 0x3f));
	}
}

enum str_kind {
	S_ANY,     /* every character but NUL: cmdline, paths */
	S_DESC,    /* no control characters but \t \n \r */
	S_TITLE,   /* no control characters */
	S_IFNAME,  /* printable ASCII but '/', ':', ' ', 1..15 */
	S_SERIAL,  /* printable ASCII, 0..20 */
};

/* A string made to hurt a writer: quotes, backslashes, TOML syntax, controls, unicode. */
static char *hostile(struct rng *r, enum str_kind k, const char *prefix, size_t max)
{
	static const char *const tricky[] = { "\"", "\\", "'", "\"\"\"", "'''", "#", "=", "[", "]",
		"\\u0041", "\\n", "${x}", "%s", "\\\"", "\n", "\r\n", "\t" };
	size_t cap = 4 * max + 64, len = 0;
	char *buf = malloc(cap);
	size_t n = (size_t)below(r, (unsigned)max + 1);

	assert_non_null(buf);
	len = strlen(prefix);
	memcpy(buf, prefix, len);
	while (len < n && len + 8 < cap && len < max) {
		unsigned pick = below(r, 8);
		uint32_t cp;
		if (k == S_IFNAME || k == S_SERIAL) {
			char c;
			do
				c = (char)(0x21 + below(r, 0x5e));
			while (k == S_IFNAME && (c == '/' || c == ':'));
			buf[len++] = c;
			continue;
		}
		if (pick == 0) {
			const char *t = tricky[below(r, ARRAY_SIZE(tricky))];
			if (len + strlen(t) >= max)
				break;
			bool ctl = strpbrk(t, "\n\r\t") != NULL;
			if (ctl && k == S_TITLE)
				continue;
			memcpy(buf + len, t, strlen(t));
			len += strlen(t);
			continue;
		}
		switch (pick) {
		case 1:
			cp = below(r, 0x20); /* C0 controls and DEL */
			if (cp == 0)
				cp = 0x7f;
			if (k == S_TITLE || (k == S_DESC && cp != '\t' && cp != '\n' && cp != '\r'))
				cp = 'x';
			break;
		case 2:
			cp = 0x80 + below(r, 0x780);
			break;
		case 3:
			cp = 0x800 + below(r, 0xd800 - 0x800);
			break;
		case 4:
			cp = 0xe000 + below(r, 0x10000 - 0xe000);
			break;
		case 5:
			cp = 0x10000 + below(r, 0x100000);
			break;
		default:
			cp = 0x20 + below(r, 0x5f);
			break;
		}
		put_cp(buf, &len, cp);
	}
	buf[len] = 0;
	if (k == S_IFNAME && len == 0)
		strcpy(buf, "t");
	return buf;
}

static char *maybe(struct rng *r, enum str_kind k, const char *prefix, size_t max)
{
	return below(r, 3) ? hostile(r, k, prefix, max) : NULL;
}

static void random_config(struct rng *r, struct vm_config *c)
{
	static const char alnum[] = "ABCxyz019._-";
	char name[VM_NAME_MAX + 1];
	size_t nl = 1 + below(r, VM_NAME_MAX);

	vm_config_init(c);
	for (size_t i = 0; i < nl; i++)
		name[i] = alnum[below(r, sizeof(alnum) - 1)];
	name[nl] = 0;
	c->name = below(r, 4) ? strdup(name) : NULL;
	if ((c->has_uuid = below(r, 2)))
		assert_int_equal(vm_config_random_uuid(c->uuid), 0);
	c->title = maybe(r, S_TITLE, "", 80);
	c->description = maybe(r, S_DESC, "", 300);
	c->cpus = 1 + below(r, VM_MAX_CPUS);
	c->memory = (4096 + (uint64_t)below(r, 1 << 20)) * 4 * KiB * (below(r, 2) ? 1 : 256);
	c->balloon = below(r, 2);
	if (c->balloon && below(r, 2))
		c->current_memory = (1 + below(r, (unsigned)(c->memory / (4 * KiB)))) * 4 * KiB;
	else if (below(r, 4) == 0)
		c->current_memory = c->memory;
	c->nested = (enum nested_mode)below(r, 3);
	c->on_reboot = (enum on_reboot)below(r, 2);
	c->kernel = hostile(r, S_ANY, "/", 200);
	c->initrd = below(r, 2) ? hostile(r, S_ANY, "/", 200) : NULL;
	c->cmdline = below(r, 4) ? hostile(r, S_ANY, "", 300) : NULL;
	c->acpi = below(r, 2);
	c->direct_boot = below(r, 2);
	c->console = (enum console_mode)below(r, 4);
	if (c->console == CONSOLE_FILE || below(r, 4) == 0)
		c->console_path = hostile(r, S_ANY, "/", 100);
	c->virtio_console = below(r, 2);
	c->api_socket = below(r, 2) ? hostile(r, S_IFNAME, "/", VM_SOCKET_MAX) : NULL;
	c->rng = below(r, 2);
	c->ndisks = below(r, VM_MAX_DISKS + 1);
	for (size_t i = 0; i < c->ndisks; i++) {
		struct disk_config *d = &c->disks[i];
		char alias[32];
		d->path = hostile(r, S_ANY, "/", 100);
		d->readonly = below(r, 2);
		d->cache = (enum disk_cache)below(r, 2);
		d->serial = below(r, 2) ? hostile(r, S_SERIAL, "", VM_SERIAL_MAX) : NULL;
		snprintf(alias, sizeof(alias), "ua-disk-%zu", i);
		d->alias = below(r, 2) ? strdup(alias) : NULL;
	}
	c->nnets = below(r, VM_MAX_NETS + 1);
	for (size_t i = 0; i < c->nnets; i++) {
		struct net_config *n = &c->nets[i];
		char alias[32];
		n->tap = below(r, 2) ? hostile(r, S_IFNAME, "t", VM_IFNAME_MAX) : NULL;
		if ((n->has_mac = below(r, 2))) {
			assert_int_equal(vm_config_random_mac(n->mac), 0);
			n->mac[5] = (uint8_t)i;
		}
		n->bridge = !n->tap && below(r, 2) ? hostile(r, S_IFNAME, "b", VM_IFNAME_MAX) : NULL;
		n->mac_spoofing = below(r, 2);
		snprintf(alias, sizeof(alias), "ua-net_%zu", i);
		n->alias = below(r, 2) ? strdup(alias) : NULL;
	}
}

static void test_round_trip_property(void **state)
{
	const char *seed_env = getenv("TOML_PROP_SEED");
	struct rng r = { .s = seed_env ? strtoull(seed_env, NULL, 0) : 0x6e657374766d6dULL };
	const unsigned rounds = 3000;
	size_t controls = 0, quotes = 0, wide = 0;

	if (!r.s)
		r.s = 1;
	for (unsigned i = 0; i < rounds; i++) {
		struct vm_config c, back;
		struct diag d;
		char *out = NULL, *again = NULL;

		random_config(&r, &c);
		diag_init(&d);
		if (vm_config_validate(&c, &d) < 0) {
			for (size_t j = 0; j < d.n; j++)
				print_message("round %u: invalid test config: %s\n", i, d.msgs[j]);
			fail();
		}
		assert_int_equal(vm_config_to_toml(&c, &out), 0);
		for (const char *p = out; *p; p++) {
			controls += (unsigned char)*p < 0x20 && *p != '\n';
			quotes += *p == '\\';
			wide += (unsigned char)*p >= 0xf0;
		}
		vm_config_init(&back);
		if (vm_config_load_buffer(&back, "w.toml", out, strlen(out), &d) < 0) {
			for (size_t j = 0; j < d.n; j++)
				print_message("round %u: %s\n", i, d.msgs[j]);
			fail_msg("round %u (seed %s): the writer's output does not load:\n%s", i,
				seed_env ? seed_env : "default", out);
		}
		if (!vm_config_equal(&c, &back))
			fail_msg("round %u: read back differs:\n%s", i, out);
		assert_int_equal(vm_config_validate(&back, &d), 0);
		/* writing what was read gives the same text */
		assert_int_equal(vm_config_to_toml(&back, &again), 0);
		assert_string_equal(out, again);
		free(out);
		free(again);
		diag_free(&d);
		vm_config_free(&c);
		vm_config_free(&back);
	}
	/* the generator did produce what the test is about: raw controls never reach the file */
	assert_int_equal(controls, 0);
	assert_true(quotes > rounds);
	assert_true(wide > rounds);
}

/* A config with every string at its most hostile, written and read back. */
static void test_round_trip_hostile(void **state)
{
	static const char *const evil[] = {
		"\"", "\\", "\\\"", "\"\"\"", "'''", "a\"\"\"b", "\\u0000", "\\U0001F600",
		"#not a comment", "k = \"v\"", "[boot]", "\n[[disk]]\npath = \"/x\"\n", "\r\n\t",
		"\x01\x02\x1f\x7f", "\xe2\x80\xa8\xe2\x80\xa9", "\xef\xbb\xbf", "\xf0\x9f\x98\x80",
		"\xef\xbf\xbf", "e\xcc\x81", "'", "\\\\\\", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(evil); i++) {
		struct vm_config c, back;
		struct diag d;
		char *out = NULL;
		char path[128];

		vm_config_init(&c);
		snprintf(path, sizeof(path), "/%s", evil[i]);
		c.kernel = strdup(path);
		c.cmdline = strdup(evil[i]);
		c.description = strdup(strpbrk(evil[i], "\x01\x02\x1f\x7f") ? "x" : evil[i]);
		c.console = CONSOLE_FILE;
		c.console_path = strdup(path);
		c.ndisks = 1;
		c.disks[0].path = strdup(path);
		assert_int_equal(vm_config_to_toml(&c, &out), 0);
		diag_init(&d);
		vm_config_init(&back);
		if (vm_config_load_buffer(&back, "h.toml", out, strlen(out), &d) < 0) {
			for (size_t j = 0; j < d.n; j++)
				print_message("%s\n", d.msgs[j]);
			fail_msg("string %zu does not round-trip:\n%s", i, out);
		}
		assert_true(vm_config_equal(&c, &back));
		assert_string_equal(back.cmdline, evil[i]);
		free(out);
		diag_free(&d);
		vm_config_free(&c);
		vm_config_free(&back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_keys),
		cmocka_unit_test(test_new_key_errors),
		cmocka_unit_test(test_validate_new_rules),
		cmocka_unit_test(test_uuid_helpers),
		cmocka_unit_test(test_writer_output),
		cmocka_unit_test(test_round_trip_property),
		cmocka_unit_test(test_round_trip_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
