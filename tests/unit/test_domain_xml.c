// SPDX-License-Identifier: MIT
/*
 * Domain XML: golden files (tests/unit/data/domain/NAME.in.xml -> vm_config ->
 * XML, compared with NAME.out.xml; the output defines the same VM again), live
 * state, libvirt's defaults and units, the nested policies, and validation
 * against libvirt's domain.rng (compared with virsh's own message when virsh
 * is installed). Refusals with their XPaths, and the rules every front end
 * shares, are in test_domain_xml_rules.c.
 * DOMAIN_XML_REGEN=1 rewrites the expected files from the current output.
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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void data_path(char *buf, size_t cap, const char *file)
{
	const char *dir = getenv("TEST_SRCDIR");
	snprintf(buf, cap, "%s/data/domain/%s", dir ? dir : "tests/unit", file);
}

static void print_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  %s\n", d->msgs[i]);
}

static int define(struct vm_config *cfg, const char *xml, struct diag *d)
{
	diag_init(d);
	return vm_config_from_domain_xml(cfg, xml, strlen(xml), "t.xml", d);
}

/* Replaces every occurrence of key in *s by value. */
static void subst(char **s, const char *key, const char *value)
{
	char *p;
	while ((p = strstr(*s, key))) {
		size_t kl = strlen(key), vl = strlen(value), n = strlen(*s);
		char *r = malloc(n - kl + vl + 1);
		assert_non_null(r);
		memcpy(r, *s, (size_t)(p - *s));
		memcpy(r + (p - *s), value, vl);
		memcpy(r + (p - *s) + vl, p + kl, n - (size_t)(p - *s) - kl + 1);
		free(*s);
		*s = r;
	}
}

/* Generated values in an expected file: @UUID@, @MAC0@, ... (to_values: filled in). */
static void placeholders(char **s, const struct vm_config *cfg, bool to_values)
{
	char uuid[VM_UUID_STR], mac[32], key[32];

	vm_config_format_uuid(cfg->uuid, uuid);
	subst(s, to_values ? "@UUID@" : uuid, to_values ? uuid : "@UUID@");
	for (size_t i = 0; i < cfg->nnets; i++) {
		const uint8_t *m = cfg->nets[i].mac;
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			m[4], m[5]);
		snprintf(key, sizeof(key), "@MAC%zu@", i);
		subst(s, to_values ? key : mac, to_values ? mac : key);
	}
}

/* got against the expected file; generated: the file has placeholders for UUID and MACs. */
static void compare_file(const char *file, char *got, const struct vm_config *cfg,
	bool generated)
{
	char path[4096];
	char *want;

	data_path(path, sizeof(path), file);
	if (getenv("DOMAIN_XML_REGEN")) {
		char *copy = strdup(got);
		FILE *f = fopen(path, "w");
		if (generated)
			placeholders(&copy, cfg, false);
		assert_non_null(f);
		fputs(copy, f);
		fclose(f);
		free(copy);
	}
	want = slurp(path, NULL);
	if (!want)
		fail_msg("%s: cannot read (DOMAIN_XML_REGEN=1 writes it)", path);
	if (generated)
		placeholders(&want, cfg, true);
	if (strcmp(want, got))
		fail_msg("%s differs:\n--- got:\n%s--- want:\n%s", file, got, want);
	free(want);
}

static const struct golden {
	const char *name;
	bool schema_valid; /* the input itself (libvirt's schema refuses an empty <uuid>) */
	bool generated;    /* the input leaves the UUID and MACs to be generated */
} goldens[] = {
	{ "libvirt-sample", true, false },
	{ "vagrant", false, true },
	{ "full", true, false },
	{ "minimal", true, false },
	{ "nested-svm", true, false },
};

static void test_golden(void **state)
{
	for (size_t g = 0; g < ARRAY_SIZE(goldens); g++) {
		char path[4096], file[128];
		struct vm_config cfg, again, toml;
		char *in, *out = NULL, *out2 = NULL, *t = NULL;
		struct diag d;
		size_t len;

		snprintf(file, sizeof(file), "%s.in.xml", goldens[g].name);
		data_path(path, sizeof(path), file);
		in = slurp(path, &len);
		assert_non_null(in);
		diag_init(&d);
		if (vm_config_from_domain_xml(&cfg, in, len, file, &d) != 0) {
			print_diag(&d);
			fail_msg("%s is refused", file);
		}
		assert_int_equal(d.n, 0);
		assert_int_equal(vm_config_to_domain_xml(&cfg, NULL, 0, &out), 0);
		snprintf(file, sizeof(file), "%s.out.xml", goldens[g].name);
		compare_file(file, out, &cfg, goldens[g].generated);
		/* dumpxml's output defines the same VM, and is a fixed point */
		assert_int_equal(define(&again, out, &d), 0);
		assert_true(vm_config_equal(&cfg, &again));
		assert_int_equal(vm_config_to_domain_xml(&again, NULL, 0, &out2), 0);
		assert_string_equal(out, out2);
		/* and so does the TOML the daemon hands to vmm run */
		assert_int_equal(vm_config_to_toml(&cfg, &t), 0);
		vm_config_init(&toml);
		assert_int_equal(vm_config_load_buffer(&toml, file, t, strlen(t), &d), 0);
		assert_true(vm_config_equal(&cfg, &toml));
		free(in);
		free(out);
		free(out2);
		free(t);
		diag_free(&d);
		vm_config_free(&cfg);
		vm_config_free(&again);
		vm_config_free(&toml);
	}
}

/* What each golden input says, checked field by field (the golden files could be wrong too). */
static void test_golden_meaning(void **state)
{
	char path[4096];
	struct vm_config c;
	struct diag d;
	char *in;

	data_path(path, sizeof(path), "full.in.xml");
	in = slurp(path, NULL);
	assert_int_equal(define(&c, in, &d), 0);
	assert_string_equal(c.name, "full-1.test_x");
	assert_string_equal(c.title, "A \"full\" VM & more: \xc3\xbc \xf0\x9f\x98\x80");
	assert_string_equal(c.description, "Line one <b>\n\tindented line two\nLine three with "
		"'quotes' and a CR\r");
	assert_int_equal(c.memory, 2 * GiB);
	assert_int_equal(c.current_memory, 1536 * MiB);
	assert_int_equal(c.cpus, 4);
	assert_int_equal(c.nested, NESTED_AUTO);
	assert_int_equal(c.on_reboot, ON_REBOOT_EXIT);
	assert_true(c.acpi);
	assert_string_equal(c.kernel, "/var/lib/nestvmm/kernels/bz Image");
	assert_string_equal(c.cmdline, "console=ttyS0 quiet \"a b\" x=<>&");
	assert_int_equal(c.ndisks, 2); /* vda first: the guest's order */
	assert_string_equal(c.disks[0].path, "/var/lib/nestvmm/root.img");
	assert_true(c.disks[0].readonly);
	assert_null(c.disks[0].alias); /* virtio-disk0 is libvirt's live name: dropped */
	assert_int_equal(c.disks[1].cache, DISK_CACHE_UNSAFE);
	assert_string_equal(c.disks[1].serial, "DATA-0001");
	assert_string_equal(c.disks[1].alias, "ua-data");
	assert_int_equal(c.nnets, 2);
	assert_string_equal(c.nets[0].tap, "tap-full");
	assert_true(c.nets[0].mac_spoofing); /* no filterref: spoofing allowed, as libvirt */
	assert_int_equal(c.nets[0].mac[5], 0xef);
	assert_null(c.nets[1].tap);          /* vnet3: a name given when the tap is created */
	assert_string_equal(c.nets[1].bridge, "br-lab");
	assert_false(c.nets[1].mac_spoofing);
	assert_int_equal(c.console, CONSOLE_FILE);
	assert_string_equal(c.console_path, "/var/log/nestvmm/full.log");
	assert_true(c.virtio_console);
	assert_true(c.balloon);
	assert_true(c.rng);
	free(in);
	diag_free(&d);
	vm_config_free(&c);

	data_path(path, sizeof(path), "vagrant.in.xml");
	in = slurp(path, NULL);
	assert_int_equal(define(&c, in, &d), 0);
	assert_true(c.has_uuid);                /* <uuid></uuid>: generated, version 4 */
	assert_int_equal(c.uuid[6] >> 4, 4);
	assert_null(c.title);                   /* <title></title>: none */
	assert_int_equal(c.memory, 512 * MiB);  /* no unit: KiB */
	assert_int_equal(c.nested, NESTED_AUTO);
	assert_true(c.nets[0].has_mac);         /* generated, in 52:54:00 */
	assert_int_equal(c.nets[0].mac[0], 0x52);
	assert_string_equal(c.nets[0].alias, "ua-net-0");
	assert_int_equal(c.console, CONSOLE_PTY);
	assert_false(c.balloon);
	free(in);
	diag_free(&d);
	vm_config_free(&c);
}

static void test_live(void **state)
{
	const struct domain_xml_live live = { .id = 7, .taps = { "tap-vm1", "nv-tap3" },
		.console_pty = "/dev/pts/9" };
	char path[4096];
	struct vm_config c, again;
	char *in, *out = NULL, *inactive = NULL, *masked = NULL;
	struct diag d;

	data_path(path, sizeof(path), "libvirt-sample.in.xml");
	in = slurp(path, NULL);
	assert_int_equal(define(&c, in, &d), 0);
	assert_int_equal(vm_config_to_domain_xml(&c, &live, DOMAIN_XML_SECURE, &out), 0);
	compare_file("libvirt-sample.live.xml", out, &c, false);
	/* a running domain's XML defines the same domain: its live state is not kept */
	assert_int_equal(define(&again, out, &d), 0);
	assert_true(vm_config_equal(&c, &again));
	assert_null(again.nets[1].tap);
	/* INACTIVE leaves the live state out */
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &inactive), 0);
	assert_int_equal(vm_config_to_domain_xml(&c, &live, DOMAIN_XML_INACTIVE, &masked), 0);
	assert_string_equal(inactive, masked);
	assert_null(strstr(masked, "/dev/pts"));
	free(in);
	free(out);
	free(inactive);
	free(masked);
	diag_free(&d);
	vm_config_free(&c);
	vm_config_free(&again);
}

#define DOM_HEAD "<domain type='kvm'><name>t</name>"
#define DOM_OS "<os><type>hvm</type><kernel>/k</kernel></os>"

/* What libvirt does where the XML says nothing. */
static void test_defaults(void **state)
{
	struct vm_config c;
	struct diag d;

	assert_int_equal(define(&c, DOM_HEAD "<memory>65536</memory>" DOM_OS "</domain>", &d), 0);
	assert_int_equal(c.memory, 64 * MiB);
	assert_int_equal(c.cpus, 1);
	assert_int_equal(c.on_reboot, ON_REBOOT_RESTART); /* libvirt's default */
	assert_false(c.acpi);                             /* only with <features><acpi/> */
	assert_true(c.balloon);                           /* libvirt adds a virtio memballoon */
	assert_int_equal(c.console, CONSOLE_NONE);        /* no serial port in the XML */
	assert_string_equal(c.cmdline, "");               /* no <cmdline>: none */
	assert_int_equal(c.nested, NESTED_OFF);           /* no vmx/svm feature */
	assert_true(c.has_uuid);
	assert_int_equal(c.uuid[8] & 0xc0, 0x80);
	uint8_t first[16];
	memcpy(first, c.uuid, 16);
	vm_config_free(&c);
	diag_free(&d);
	assert_int_equal(define(&c, DOM_HEAD "<uuid/><memory>65536</memory>" DOM_OS "</domain>",
		&d), 0);
	assert_memory_not_equal(first, c.uuid, 16);        /* random, not derived */
	vm_config_free(&c);
	diag_free(&d);
}

/* libvirt's units; and the nested policies. */
static void test_units_and_policies(void **state)
{
	static const struct {
		const char *mem;
		uint64_t bytes;
	} units[] = {
		{ "<memory unit='b'>33554432</memory>", 32 * MiB },
		{ "<memory unit='bytes'>33554432</memory>", 32 * MiB },
		{ "<memory unit='KiB'>32768</memory>", 32 * MiB },
		{ "<memory unit='k'>32768</memory>", 32 * MiB },
		{ "<memory unit='MiB'> 32 </memory>", 32 * MiB },
		{ "<memory unit='M'>32</memory>", 32 * MiB },
		{ "<memory unit='G'>1</memory>", GiB },
		{ "<memory unit='gib'>1</memory>", GiB },
		{ "<memory unit='TiB'>1</memory>", 1024 * GiB },
		{ "<memory unit='MB'>2048</memory>", 2048000000ULL }, /* KB, MB: powers of 1000 */
		{ "<memory unit='KB'>65536</memory>", 65536000ULL },
	};
	static const struct {
		const char *cpu;
		enum nested_mode want;
	} pol[] = {
		{ "<cpu mode='host-passthrough'><feature policy='require' name='vmx'/></cpu>", NESTED_ON },
		{ "<cpu mode='host-passthrough'><feature policy='force' name='svm'/></cpu>", NESTED_ON },
		{ "<cpu mode='host-passthrough'><feature name='svm'/></cpu>", NESTED_ON },
		{ "<cpu mode='host-model'><feature policy='optional' name='vmx'/></cpu>", NESTED_AUTO },
		{ "<cpu mode='host-passthrough'><feature policy='disable' name='vmx'/>"
			"<feature policy='forbid' name='svm'/></cpu>", NESTED_OFF },
		{ "<cpu mode='host-passthrough'/>", NESTED_OFF },
		{ "<cpu><topology sockets='1' cores='1' threads='1'/></cpu>", NESTED_OFF },
	};
	char xml[1024];
	struct vm_config c;
	struct diag d;

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		snprintf(xml, sizeof(xml), DOM_HEAD "%s" DOM_OS "</domain>", units[i].mem);
		if (define(&c, xml, &d) != 0) {
			print_diag(&d);
			fail_msg("%s", units[i].mem);
		}
		assert_int_equal(c.memory, units[i].bytes);
		vm_config_free(&c);
		diag_free(&d);
	}
	for (size_t i = 0; i < ARRAY_SIZE(pol); i++) {
		snprintf(xml, sizeof(xml), DOM_HEAD "<memory>65536</memory>%s" DOM_OS "</domain>",
			pol[i].cpu);
		if (define(&c, xml, &d) != 0) {
			print_diag(&d);
			fail_msg("%s", pol[i].cpu);
		}
		assert_int_equal(c.nested, pol[i].want);
		vm_config_free(&c);
		diag_free(&d);
	}
}

/* ---- libvirt's schema ---- */

static const char bad_doc[] = "<domain type='kvm'><name>vm1</name><memory unit='KiB'>1048576"
	"</memory><vcpu>two</vcpu><os><type arch='x86_64'>hvm</type><kernel>/k</kernel></os>"
	"<devices><memballoon model='bogus'/></devices></domain>\n";

static void test_schema(void **state)
{
	struct diag d;
	char path[4096], file[128];

	if (access(DOMAIN_XML_SCHEMA, R_OK) < 0) {
		print_message("SKIP: %s is absent (scripts/install-deps installs libvirt0)\n",
			DOMAIN_XML_SCHEMA);
		skip();
	}
	for (size_t g = 0; g < ARRAY_SIZE(goldens); g++) {
		static const char *const kinds[] = { "in", "out", "live" };
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			size_t len;
			snprintf(file, sizeof(file), "%s.%s.xml", goldens[g].name, kinds[k]);
			data_path(path, sizeof(path), file);
			char *xml = slurp(path, &len);
			if (!xml)
				continue; /* no live file for this one */
			subst(&xml, "@UUID@", "6f1f7a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b");
			subst(&xml, "@MAC0@", "52:54:00:00:00:99");
			len = strlen(xml);
			diag_init(&d);
			int rc = domain_xml_validate(xml, len, NULL, &d);
			if ((rc == 0) != (k > 0 || goldens[g].schema_valid)) {
				print_diag(&d);
				fail_msg("%s: validate gave %d", file, rc);
			}
			diag_free(&d);
			free(xml);
		}
	}
	/* a bad document: libvirt's message, line by line */
	diag_init(&d);
	assert_int_equal(domain_xml_validate(bad_doc, strlen(bad_doc), NULL, &d), -EINVAL);
	assert_true(d.n >= 2);
	assert_string_equal(d.msgs[0], "Unable to validate doc against " DOMAIN_XML_SCHEMA);
	assert_string_equal(d.msgs[d.n - 1], "Element domain failed to validate content");
	diag_free(&d);
}

/* The same text as libvirt's own `virsh define --validate` (its test driver needs no daemon). */
static void test_schema_like_virsh(void **state)
{
	char file[] = "/tmp/nestvmm-dxml-XXXXXX";
	char line[1024], *ours = NULL, *theirs = NULL;
	size_t ol = 0, tl = 0;
	struct diag d;
	FILE *p;
	int fd;

	if (access(DOMAIN_XML_SCHEMA, R_OK) < 0 || access("/usr/bin/virsh", X_OK) < 0) {
		print_message("SKIP: needs %s and /usr/bin/virsh (libvirt0, libvirt-clients)\n",
			DOMAIN_XML_SCHEMA);
		skip();
	}
	fd = mkstemp(file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad_doc, strlen(bad_doc)), (ssize_t)strlen(bad_doc));
	close(fd);
	snprintf(line, sizeof(line), "LC_ALL=C /usr/bin/virsh -q -c test:///default define "
		"--validate %s 2>&1", file);
	p = popen(line, "r");
	assert_non_null(p);
	FILE *t = open_memstream(&theirs, &tl);
	bool in_msg = false;
	while (fgets(line, sizeof(line), p)) {
		const char *key = "XML document failed to validate against schema: ";
		char *k = strstr(line, key);
		if (k) {
			in_msg = true;
			fputs(k + strlen(key), t);
		} else if (in_msg && strncmp(line, "error:", 6) && line[0] != '\n') {
			fputs(line, t);
		}
	}
	pclose(p);
	fclose(t);
	unlink(file);
	diag_init(&d);
	assert_int_equal(domain_xml_validate(bad_doc, strlen(bad_doc), NULL, &d), -EINVAL);
	FILE *o = open_memstream(&ours, &ol);
	for (size_t i = 0; i < d.n; i++)
		fprintf(o, "%s\n", d.msgs[i]);
	fclose(o);
	if (!theirs[0]) {
		print_message("SKIP: virsh's test driver gave no schema message\n");
		free(ours);
		free(theirs);
		diag_free(&d);
		skip();
	}
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
	diag_free(&d);
}

static void test_schema_errors(void **state)
{
	char bad_rng[] = "/tmp/nestvmm-rng-XXXXXX";
	struct diag d;
	int fd;

	/* no schema: -ENOENT and not a word, the caller decides */
	diag_init(&d);
	assert_int_equal(domain_xml_validate(bad_doc, strlen(bad_doc), "/nonexistent/domain.rng",
		&d), -ENOENT);
	assert_int_equal(d.n, 0);
	/* a schema that is not one */
	fd = mkstemp(bad_rng);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<grammar/>", 10), 10);
	close(fd);
	assert_int_equal(domain_xml_validate(bad_doc, strlen(bad_doc), bad_rng, &d), -EIO);
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.msgs[0], "cannot load the schema /tmp/nestvmm-rng-"));
	unlink(bad_rng);
	diag_free(&d);
	if (access(DOMAIN_XML_SCHEMA, R_OK) < 0)
		return;
	/* not XML: the parse error, where libvirt puts it */
	diag_init(&d);
	assert_int_equal(domain_xml_validate("<domain>", 8, NULL, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "(domain_definition):1:9: "));
	diag_free(&d);
}

/* ---- the writer's own refusals ---- */

static void test_writer(void **state)
{
	struct vm_config c;
	char *out = (char *)1;

	vm_config_init(&c);
	c.kernel = strdup("/k");
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), -EINVAL); /* no name */
	assert_null(out);
	c.name = strdup("n");
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 4, &out), -EINVAL); /* UPDATE_CPU */
	c.nnets = 1;
	c.nets[0].tap = strdup("tap0");
	c.nets[0].bridge = strdup("br0");
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), -EINVAL); /* not runnable */
	free(c.nets[0].bridge);
	c.nets[0].bridge = NULL;
	c.cmdline = strdup("a\x01b");                     /* XML 1.0 cannot carry U+0001 */
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), -EILSEQ);
	assert_null(out);
	free(c.cmdline);
	c.cmdline = strdup("\xc3(");                     /* not UTF-8 */
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), -EILSEQ);
	free(c.cmdline);
	c.cmdline = NULL;                                /* vmm's default, said explicitly */
	assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), 0);
	assert_non_null(strstr(out, "<cmdline>console=ttyS0</cmdline>"));
	assert_non_null(strstr(out, "<target dev='tap0' managed='no'/>"));
	assert_null(strstr(out, "<uuid>"));              /* a TOML VM may have none */
	free(out);
	vm_config_free(&c);
}

/* Strings XML must escape, in every field that carries one, through dumpxml and define. */
static void test_hostile_strings(void **state)
{
	static const char *const evil[] = { "'", "\"", "&amp;", "<a/>", "]]>", "a\nb", "\t\r\n",
		" lead and trail ", "\xc3\xa9\xf0\x9f\x98\x80", "&#10;", "\\", "%s%n" };
	for (size_t i = 0; i < ARRAY_SIZE(evil); i++) {
		struct vm_config c, back;
		struct diag d;
		char buf[128], *out = NULL;

		vm_config_init(&c);
		snprintf(buf, sizeof(buf), "/x%s", evil[i]);
		c.name = strdup("h");
		c.has_uuid = true;
		c.uuid[0] = 1;
		c.kernel = strdup(buf);
		c.initrd = strdup(buf);
		c.cmdline = strdup(evil[i]);
		c.description = strdup(evil[i]);
		c.title = strdup(strpbrk(evil[i], "\t\r\n") ? "t" : evil[i]);
		c.console = CONSOLE_FILE;
		c.console_path = strdup(buf);
		c.ndisks = 1;
		c.disks[0].path = strdup(buf);
		c.nnets = 2;
		c.nets[0].tap = strdup("vnet7");   /* an existing tap with a name like a created one */
		c.nets[0].has_mac = true;
		c.nets[0].mac[0] = 2;
		c.nets[1].has_mac = true;
		c.nets[1].mac[0] = 4;
		c.nets[1].bridge = strdup("br'\"&<");
		c.current_memory = c.memory;
		c.balloon = false;
		c.acpi = false;
		assert_int_equal(vm_config_to_domain_xml(&c, NULL, 0, &out), 0);
		if (define(&back, out, &d) != 0) {
			print_diag(&d);
			fail_msg("string %zu:\n%s", i, out);
		}
		c.current_memory = 0; /* equal to memory: the same, stored as 0 */
		if (!vm_config_equal(&c, &back))
			fail_msg("string %zu does not come back:\n%s", i, out);
		free(out);
		diag_free(&d);
		vm_config_free(&c);
		vm_config_free(&back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_golden_meaning),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_units_and_policies),
		cmocka_unit_test(test_schema),
		cmocka_unit_test(test_schema_like_virsh),
		cmocka_unit_test(test_schema_errors),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_hostile_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
