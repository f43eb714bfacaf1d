// SPDX-License-Identifier: MIT
/*
 * Domain XML property test: many random configs (every field the XML
 * carries, strings full of markup characters, quotes, white space and
 * unicode) written as domain XML, inactive and live, read back into an equal
 * config, written again into the same text; and every so often validated
 * against libvirt's schema (those configs keep to what the schema allows in
 * names and paths), so the writer never emits what libvirt itself refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain_xml.h"
#include "vm_config.h"

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

static size_t put_cp(char *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

enum kind {
	K_TEXT,   /* anything XML carries */
	K_LINE,   /* no tab, CR or newline */
	K_ASCII,  /* printable ASCII */
	K_IFNAME, /* printable ASCII but '/' and ':' */
	K_SAFE,   /* what libvirt's schema allows in names and serials: [A-Za-z0-9_.-] */
};

/* What XML can carry: markup, quotes, white space, any character but the controls. */
static char *str(struct rng *r, enum kind k, const char *prefix, size_t max)
{
	static const char *const tricky[] = { "'", "\"", "&", "<", ">", "]]>", "&amp;", "&#10;",
		"<!--", "-->", "<![CDATA[", " ", "  ", "\t", "\n", "\r", "\r\n" };
	char *b = malloc(4 * max + 16);
	size_t n = strlen(prefix), want = n + below(r, (unsigned)(max - n) + 1);

	assert_non_null(b);
	memcpy(b, prefix, n);
	while (n < want) {
		unsigned pick = below(r, 6);
		if (k == K_SAFE) {
			static const char safe[] = "AZaz09_.-";
			b[n++] = safe[below(r, sizeof(safe) - 1)];
		} else if (k == K_ASCII || k == K_IFNAME) {
			char c;
			do
				c = (char)(0x21 + below(r, 0x5e));
			while (k == K_IFNAME && (c == '/' || c == ':'));
			b[n++] = c;
		} else if (pick == 0) {
			const char *t = tricky[below(r, ARRAY_SIZE(tricky))];
			if (n + strlen(t) > want || (k == K_LINE && strpbrk(t, "\t\r\n")))
				break;
			memcpy(b + n, t, strlen(t));
			n += strlen(t);
		} else if (pick == 1) {
			uint32_t cp = 0x80 + below(r, 0xd800 - 0x80);
			n += put_cp(b + n, cp);
		} else if (pick == 2) {
			n += put_cp(b + n, 0x10000 + below(r, 0x100000));
		} else {
			b[n++] = (char)(0x20 + below(r, 0x5f));
		}
	}
	b[n] = 0;
	return b;
}

/*
 * strict: only what libvirt's schema allows too (no line breaks in paths,
 * names and serials of [A-Za-z0-9_.-]); otherwise anything vm_config allows.
 */
static void random_config(struct rng *r, struct vm_config *c, bool strict)
{
	const enum kind path = strict ? K_LINE : K_TEXT, ifname = strict ? K_SAFE : K_IFNAME;
	const char *root = strict ? "/p" : "/"; /* the schema's absFilePath: more than "/" */

	static const char alnum[] = "abcXYZ019._-";
	char name[VM_NAME_MAX + 1], alias[32];
	size_t nl = 1 + below(r, VM_NAME_MAX);

	vm_config_init(c);
	for (size_t i = 0; i < nl; i++)
		name[i] = alnum[below(r, sizeof(alnum) - 1)];
	name[nl] = 0;
	c->name = strdup(name);
	assert_int_equal(vm_config_random_uuid(c->uuid), 0);
	c->has_uuid = true;
	c->title = below(r, 2) ? str(r, K_LINE, "t", 60) : NULL;
	c->description = below(r, 2) ? str(r, K_TEXT, "d", 200) : NULL;
	c->cpus = 1 + below(r, VM_MAX_CPUS);
	c->memory = (4096 + (uint64_t)below(r, 1 << 20)) * 4 * KiB;
	c->balloon = below(r, 2);
	if (c->balloon && below(r, 2))
		c->current_memory = (1 + below(r, (unsigned)(c->memory / (4 * KiB)) - 1)) * 4 * KiB;
	c->nested = (enum nested_mode)below(r, 3);
	c->on_reboot = (enum on_reboot)below(r, 2);
	c->kernel = str(r, path, root, 120);
	c->initrd = below(r, 2) ? str(r, path, root, 120) : NULL;
	c->cmdline = below(r, 8) ? str(r, K_TEXT, "", 200) : NULL;
	c->acpi = below(r, 2);
	c->console = (enum console_mode)below(r, 4);
	if (c->console == CONSOLE_FILE)
		c->console_path = str(r, path, root, 80);
	c->virtio_console = c->console != CONSOLE_NONE && below(r, 2);
	c->rng = below(r, 2);
	c->ndisks = below(r, VM_MAX_DISKS + 1);
	for (size_t i = 0; i < c->ndisks; i++) {
		struct disk_config *d = &c->disks[i];
		d->path = str(r, path, root, 80);
		d->readonly = below(r, 2);
		d->cache = (enum disk_cache)below(r, 2);
		d->serial = below(r, 2) ? str(r, strict ? K_SAFE : K_ASCII, "s", VM_SERIAL_MAX) : NULL;
		snprintf(alias, sizeof(alias), "ua-d%zu", i);
		d->alias = below(r, 2) ? strdup(alias) : NULL;
	}
	c->nnets = below(r, VM_MAX_NETS + 1);
	for (size_t i = 0; i < c->nnets; i++) {
		struct net_config *n = &c->nets[i];
		if (below(r, 2))
			n->tap = str(r, ifname, below(r, 4) ? "t" : "vnet", VM_IFNAME_MAX);
		else if (below(r, 2))
			n->bridge = str(r, ifname, "b", VM_IFNAME_MAX);
		assert_int_equal(vm_config_random_mac(n->mac), 0);
		n->mac[5] = (uint8_t)i;
		n->has_mac = true;
		n->mac_spoofing = below(r, 2);
		snprintf(alias, sizeof(alias), "ua-n%zu", i);
		n->alias = below(r, 2) ? strdup(alias) : NULL;
	}
}

/* What the XML does not carry, or carries differently: as the reader gives it back. */
static void as_read_back(struct vm_config *c)
{
	c->direct_boot = true;
	if (!c->cmdline)
		c->cmdline = strdup("console=ttyS0"); /* vmm's default, written out */
	if (c->console == CONSOLE_NONE)
		c->virtio_console = false;
}

static void test_property(void **state)
{
	const char *seed = getenv("DOMAIN_XML_PROP_SEED");
	struct rng r = { .s = seed ? strtoull(seed, NULL, 0) : 0x646f6d61696e78ULL };
	bool schema = access(DOMAIN_XML_SCHEMA, R_OK) == 0;
	const unsigned rounds = 1500;
	unsigned validated = 0;

	if (!r.s)
		r.s = 1;
	for (unsigned i = 0; i < rounds; i++) {
		struct domain_xml_live live = { .id = 1 + (int)below(&r, 1000) };
		struct vm_config c, back;
		char *out = NULL, *again = NULL, *lx = NULL;
		char taps[VM_MAX_NETS][32];
		struct diag d;

		bool strict = i % 50 == 0;
		random_config(&r, &c, strict);
		as_read_back(&c);
		for (size_t j = 0; j < c.nnets; j++) {
			snprintf(taps[j], sizeof(taps[j]), "nv-tap%zu", j);
			live.taps[j] = c.nets[j].tap ? c.nets[j].tap : taps[j];
		}
		live.console_pty = c.console == CONSOLE_PTY ? "/dev/pts/17" : NULL;
		diag_init(&d);
		assert_int_equal(vm_config_validate(&c, &d), 0);
		assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), 0);
		if (vm_config_from_domain_xml(&back, out, strlen(out), "p.xml", &d) != 0) {
			for (size_t j = 0; j < d.n; j++)
				print_message("  %s\n", d.msgs[j]);
			fail_msg("round %u (seed %s): refused:\n%s", i, seed ? seed : "default", out);
		}
		if (!vm_config_equal(&c, &back))
			fail_msg("round %u: read back differs:\n%s", i, out);
		assert_int_equal(vm_config_to_domain_xml(&back, NULL, 0, &again), 0);
		assert_string_equal(out, again);
		vm_config_free(&back);
		/* a running domain's XML defines the same domain */
		assert_int_equal(vm_config_to_domain_xml(&c, &live, 0, &lx), 0);
		assert_int_equal(vm_config_from_domain_xml(&back, lx, strlen(lx), "l.xml", &d), 0);
		if (!vm_config_equal(&c, &back))
			fail_msg("round %u: the live XML defines another domain:\n%s", i, lx);
		if (schema && strict) {
			if (domain_xml_validate(lx, strlen(lx), NULL, &d) != 0) {
				for (size_t j = 0; j < d.n; j++)
					print_message("  %s\n", d.msgs[j]);
				fail_msg("round %u: libvirt's schema refuses:\n%s", i, lx);
			}
			validated++;
		}
		free(out);
		free(again);
		free(lx);
		diag_free(&d);
		vm_config_free(&c);
		vm_config_free(&back);
	}
	if (schema)
		assert_int_equal(validated, rounds / 50);
	else
		print_message("note: %s absent, outputs not validated\n", DOMAIN_XML_SCHEMA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
