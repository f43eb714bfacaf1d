// SPDX-License-Identifier: MIT
/*
 * acpi_build and the AML encoder: our own decoding of what was written and,
 * when iasl (acpica-tools) is installed, a disassemble + recompile round trip
 * that must give back the same bytes.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "acpi.h"
#include "aml.h"

#define BASE 0xe0000ull

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *memfind(const uint8_t *h, size_t hn, const void *n, size_t nn)
{
	return memmem(h, hn, n, nn);
}

static struct acpi_config config(unsigned ncpus, uint16_t pvpanic)
{
	return (struct acpi_config){
		.ncpus = ncpus, .base_gpa = BASE, .sleep_ctl_port = 0x600, .sleep_sts_port = 0x601,
		.pvpanic_port = pvpanic, .ioapic_addr = 0xfec00000, .ioapic_id = (uint8_t)ncpus,
		.lapic_addr = 0xfee00000,
	};
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *dsdt, *madt;
};

/* Guest address -> pointer into buf, checking that len bytes are inside [0, used). */
static const uint8_t *at(const uint8_t *buf, size_t used, uint64_t base, uint64_t gpa, size_t len)
{
	assert_true(gpa >= base);
	assert_true(gpa - base + len <= used);
	return buf + (gpa - base);
}

/* Checks an SDT's signature, length bounds, checksum and OEM id; returns its length. */
static uint32_t check_sdt(const uint8_t *buf, size_t used, const uint8_t *t, const char *sig)
{
	assert_memory_equal(t, sig, 4);
	uint32_t len = rd32(t + 4);
	assert_true(len >= 36);
	assert_true((size_t)(t - buf) + len <= used);
	assert_int_equal(sum8(t, len), 0);
	assert_memory_equal(t + 10, "NESTVM", 6);
	return len;
}

/* Walks RSDP -> XSDT -> FADT/MADT -> DSDT as a guest would. */
static struct tables decode(const uint8_t *buf, size_t used, uint64_t base, uint64_t rsdp_gpa)
{
	struct tables t;
	assert_int_equal(rsdp_gpa % 16, 0);
	t.rsdp = at(buf, used, base, rsdp_gpa, 36);
	assert_memory_equal(t.rsdp, "RSD PTR ", 8);
	assert_int_equal(sum8(t.rsdp, 20), 0);
	assert_int_equal(sum8(t.rsdp, 36), 0);
	assert_int_equal(t.rsdp[15], 2);
	assert_int_equal(rd32(t.rsdp + 20), 36);
	assert_memory_equal(t.rsdp + 9, "NESTVM", 6);

	t.xsdt = at(buf, used, base, rd64(t.rsdp + 24), 36);
	uint32_t xlen = check_sdt(buf, used, t.xsdt, "XSDT");
	assert_int_equal(xlen, 36 + 2 * 8);
	t.fadt = t.madt = NULL;
	for (uint32_t off = 36; off < xlen; off += 8) {
		const uint8_t *s = at(buf, used, base, rd64(t.xsdt + off), 36);
		if (!memcmp(s, "FACP", 4))
			t.fadt = s;
		else if (!memcmp(s, "APIC", 4))
			t.madt = s;
		else
			fail_msg("unexpected table %.4s in the XSDT", (const char *)s);
	}
	assert_non_null(t.fadt);
	assert_non_null(t.madt);
	assert_int_equal(check_sdt(buf, used, t.fadt, "FACP"), 276);
	assert_int_equal(t.fadt[8], 6);
	uint64_t dsdt = rd64(t.fadt + 140);
	t.dsdt = at(buf, used, base, dsdt, 36);
	check_sdt(buf, used, t.dsdt, "DSDT");
	check_sdt(buf, used, t.madt, "APIC");
	return t;
}

static void test_tables(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	memset(buf, 0xcc, sizeof(buf));
	struct acpi_config c = config(4, 0x505);
	uint64_t rsdp = 1;
	int used = acpi_build(buf, sizeof(buf), &c, &rsdp);
	assert_true(used > 0);
	assert_int_equal(rsdp, BASE);
	struct tables t = decode(buf, (size_t)used, BASE, rsdp);
	assert_int_equal(buf[used], 0xcc);  /* nothing written past what was reported */

	/* FADT: hardware-reduced, boot-arch flags, sleep registers, both DSDT pointers. */
	const uint8_t *f = t.fadt;
	assert_int_equal(rd32(f + 112), 1u << 20);
	assert_int_equal(rd16(f + 109), (1u << 2) | (1u << 5));  /* no VGA, no CMOS RTC; no 8042 bit */
	assert_int_equal(rd32(f + 40), BASE + (size_t)(t.dsdt - buf));
	assert_int_equal(rd32(f + 36), 0);                       /* no FACS */
	static const uint8_t zero12[12];
	assert_memory_equal(f + 116, zero12, 12);                /* no reset register */
	static const uint8_t ctl[12] = { 1, 8, 0, 1, 0x00, 0x06 };
	static const uint8_t sts[12] = { 1, 8, 0, 1, 0x01, 0x06 };
	assert_memory_equal(f + 244, ctl, 12);
	assert_memory_equal(f + 256, sts, 12);

	/* DSDT: _S5_ = Package(){5, 5, 0, 0}, then the pvpanic device. */
	uint32_t dlen = rd32(t.dsdt + 4);
	assert_int_equal(t.dsdt[8], 2);
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5, 0x00, 0x00 };
	assert_memory_equal(t.dsdt + 36, s5, sizeof(s5));
	assert_non_null(memfind(t.dsdt, dlen, "PEVT", 4));
	assert_non_null(memfind(t.dsdt, dlen, "\x08_HID\x0dQEMU0001", 15));
	static const uint8_t crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11, 0x0d, 0x0a, 0x0a,
				       0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01, 0x79 };
	const uint8_t *r = memfind(t.dsdt, dlen, crs, sizeof(crs));
	assert_non_null(r);
	assert_int_equal(sum8(r + 9, 10), 0);                    /* EndTag checksum */
	assert_non_null(memfind(t.dsdt, dlen, "\x08_STA\x0a\x0f", 7));
	/* Scope(_SB_) { Device(PEVT) {...} } encloses the rest of the table exactly. */
	const uint8_t *sc = memfind(t.dsdt, dlen, "\x10", 1);
	assert_ptr_equal(sc, t.dsdt + 36 + sizeof(s5));
	assert_int_equal(sc[1], dlen - 36 - sizeof(s5) - 1);
	assert_memory_equal(sc + 2, "_SB_\x5b\x82", 6);
	assert_int_equal(sc[8], dlen - 36 - sizeof(s5) - 8);

	/* MADT: PCAT_COMPAT, 4 LAPICs, I/O APIC, ISO 0 -> 2, LAPIC NMI LINT1. */
	const uint8_t *m = t.madt;
	uint32_t mlen = rd32(m + 4);
	assert_int_equal(rd32(m + 36), 0xfee00000);
	assert_int_equal(rd32(m + 40), 1);
	unsigned n[5] = { 0 };
	uint32_t off = 44;
	while (off < mlen) {
		const uint8_t *e = m + off;
		assert_true(e[1] >= 2 && off + e[1] <= mlen);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[3], n[0]);
			assert_int_equal(e[2], n[0]);
			assert_int_equal(rd32(e + 4), 1);
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 4);
			assert_int_equal(rd32(e + 4), 0xfec00000);
			assert_int_equal(rd32(e + 8), 0);
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			assert_int_equal(e[3], 0);
			assert_int_equal(rd32(e + 4), 2);
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			break;
		default:
			fail_msg("MADT entry type %u", e[0]);
		}
		n[e[0]]++;
		off += e[1];
	}
	assert_int_equal(off, mlen);
	assert_int_equal(n[0], 4);
	assert_int_equal(n[1], 1);
	assert_int_equal(n[2], 1);
	assert_int_equal(n[4], 1);
}

static unsigned count_lapics(const uint8_t *m)
{
	unsigned k = 0;
	for (uint32_t off = 44; off < rd32(m + 4); off += m[off + 1])
		k += m[off] == 0;
	return k;
}

static void test_ncpus_and_room(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	static const unsigned counts[] = { 1, 2, 3, 64, 254, 255 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct acpi_config c = config(counts[i], i & 1 ? 0x505 : 0);
		uint64_t rsdp;
		int used = acpi_build(buf, sizeof(buf), &c, &rsdp);
		assert_true(used > 0 && used < 65536);
		struct tables t = decode(buf, (size_t)used, BASE, rsdp);
		assert_int_equal(count_lapics(t.madt), counts[i]);
		bool has_pevt = memfind(t.dsdt, rd32(t.dsdt + 4), "PEVT", 4) != NULL;
		assert_int_equal(has_pevt, (i & 1) != 0);
		/* Every smaller room is refused with -ENOSPC. */
		for (size_t room = 0; room < (size_t)used; room++)
			assert_int_equal(acpi_build(buf, room, &c, &rsdp), -ENOSPC);
		assert_int_equal(acpi_build(buf, (size_t)used, &c, &rsdp), used);
	}
}

static void test_refusals_and_placement(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	uint64_t rsdp = 0;
	struct acpi_config c = config(0, 0);
	assert_int_equal(acpi_build(buf, sizeof(buf), &c, &rsdp), -EINVAL);
	c = config(255, 0);
	c.ncpus = 256;
	assert_int_equal(acpi_build(buf, sizeof(buf), &c, &rsdp), -EINVAL);
	c = config(2, 0);
	c.base_gpa = BASE + 8;
	assert_int_equal(acpi_build(buf, sizeof(buf), &c, &rsdp), -EINVAL);
	c = config(2, 0);
	c.sleep_ctl_port = 0;
	assert_int_equal(acpi_build(buf, sizeof(buf), &c, &rsdp), -EINVAL);
	c = config(2, 0);
	c.sleep_sts_port = 0;
	assert_int_equal(acpi_build(buf, sizeof(buf), &c, &rsdp), -EINVAL);
	/* In the BIOS area the set must end below 1 MiB. */
	c = config(255, 0x505);
	c.base_gpa = 0xff800;
	assert_int_equal(acpi_build(buf, sizeof(buf), &c, &rsdp), -ENOSPC);
	c.base_gpa = 0xff000;
	int used = acpi_build(buf, sizeof(buf), &c, &rsdp);
	assert_true(used > 0 && 0xff000 + used <= 0x100000);
	assert_int_equal(rsdp, 0xff000);

	/* Above 4 GiB: the 32-bit DSDT pointer is 0, X_DSDT carries it. */
	c = config(2, 0x505);
	c.base_gpa = 0x100000000ull;
	used = acpi_build(buf, sizeof(buf), &c, &rsdp);
	assert_true(used > 0);
	assert_int_equal(rsdp, 0x100000000ull);
	struct tables t = decode(buf, (size_t)used, c.base_gpa, rsdp);
	assert_int_equal(rd32(t.fadt + 40), 0);
	assert_int_equal(rd64(t.fadt + 140), c.base_gpa + (uint64_t)(t.dsdt - buf));
	assert_int_equal(ACPI_SLEEP_CTL_S5, 0x34);
}

/* ---- AML encoder ---- */

static void test_aml_encodings(void **state)
{
	(void)state;
	uint8_t b[64];
	struct aml a;

	static const struct { uint64_t v; size_t n; uint8_t enc[9]; } ints[] = {
		{ 0, 1, { 0x00 } }, { 1, 1, { 0x01 } }, { 2, 2, { 0x0a, 2 } },
		{ 0xff, 2, { 0x0a, 0xff } }, { 0x100, 3, { 0x0b, 0, 1 } },
		{ 0x10000, 5, { 0x0c, 0, 0, 1, 0 } },
		{ 0x100000000ull, 9, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 } },
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		aml_init(&a, b, sizeof(b));
		aml_integer(&a, ints[i].v);
		assert_int_equal(a.len, ints[i].n);
		assert_memory_equal(b, ints[i].enc, ints[i].n);
	}

	static const struct { const char *path; size_t n; const char *enc; } names[] = {
		{ "_SB", 4, "_SB_" }, { "PCI0", 4, "PCI0" }, { "\\_SB_.PCI0", 10, "\\\x2e_SB_PCI0" },
		{ "A.B.C", 14, "\x2f\x03" "A___B___C___" }, { "^^X", 6, "^^X___" }, { "", 1, "" },
		{ "\\", 2, "\\" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		aml_init(&a, b, sizeof(b));
		aml_name_string(&a, names[i].path);
		assert_int_equal(aml_error(&a), 0);
		assert_int_equal(a.len, names[i].n);
		assert_memory_equal(b, names[i].enc, names[i].n);
	}
	static const char *bad[] = { "pci0", "ABCDE", "1ABC", "A..B", "A.", ".A", "A-B", "\\^A" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&a, b, sizeof(b));
		aml_name_string(&a, bad[i]);
		assert_int_equal(aml_error(&a), -EINVAL);
	}

	uint32_t v;
	assert_int_equal(aml_eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml_eisaid_value("PNP0A08", &v), 0);
	assert_int_equal(v, 0x080ad041);
	assert_int_equal(aml_eisaid_value("PNP0A0", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("pNP0A03", &v), -EINVAL);
	assert_int_equal(aml_eisaid_value("PNP0A0G", &v), -EINVAL);

	/* Method(_STA, 0, NotSerialized) { Return (0x0F) } */
	aml_init(&a, b, sizeof(b));
	size_t m = aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_method_end(&a, m);
	static const uint8_t meth[] = { 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f };
	assert_int_equal(a.len, sizeof(meth));
	assert_memory_equal(b, meth, sizeof(meth));

	/* Errors are sticky; ENOSPC when the buffer is full. */
	aml_init(&a, b, 3);
	aml_integer(&a, 0x10000);
	assert_int_equal(aml_error(&a), -ENOSPC);
	aml_integer(&a, 0);
	assert_int_equal(a.len, 0);
	aml_init(&a, b, sizeof(b));
	aml_method_begin(&a, "_DSM", 8, false);
	assert_int_equal(aml_error(&a), -EINVAL);
}

/* PkgLength across its 1/2/3-byte forms: Buffer(){n bytes} and decode it back. */
static void test_aml_pkglength(void **state)
{
	(void)state;
	static uint8_t b[1 << 21], data[1 << 20];
	static const size_t sizes[] = { 0, 57, 58, 59, 60, 61, 62, 200, 4085, 4086, 4090, 4100,
					 1 << 20 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		for (size_t k = 0; k < n; k++)
			data[k] = (uint8_t)(k * 7 + 1);
		struct aml a;
		aml_init(&a, b, sizeof(b));
		size_t mk = aml_buffer_begin(&a);
		aml_bytes(&a, data, n);
		aml_buffer_end(&a, mk);
		assert_int_equal(aml_error(&a), 0);
		assert_int_equal(b[0], 0x11);
		unsigned follow = b[1] >> 6;
		size_t pkglen = follow ? (b[1] & 0x0f) : (b[1] & 0x3f);
		for (unsigned k = 0; k < follow; k++)
			pkglen |= (size_t)b[2 + k] << (4 + 8 * k);
		assert_int_equal(1 + pkglen, a.len);            /* PkgLength counts itself */
		const uint8_t *p = b + 2 + follow;
		size_t bufsize;
		if (p[0] <= 1) {
			bufsize = p[0];
			p += 1;
		} else if (p[0] == 0x0a) {
			bufsize = p[1];
			p += 2;
		} else if (p[0] == 0x0b) {
			bufsize = rd16(p + 1);
			p += 3;
		} else {
			assert_int_equal(p[0], 0x0c);
			bufsize = rd32(p + 1);
			p += 5;
		}
		assert_int_equal(bufsize, n);
		assert_int_equal((size_t)(p - b) + n, a.len);
		assert_memory_equal(p, data, n);
		/* Minimal encoding. */
		size_t content = a.len - 1 - (1 + follow);
		unsigned want = content + 1 <= 63 ? 0 : content + 2 <= 0xfff ? 1 : content + 3 <= 0xfffff ? 2 : 3;
		assert_int_equal(follow, want);
	}
}

/* ---- iasl round trip ---- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Reads dir/name into a malloc'ed, NUL-terminated buffer. */
static char *read_file(const char *dir, const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, r;
	char *b = malloc(cap + 1);
	while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *nb = realloc(b, 2 * cap + 1);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (b) {
		b[n] = 0;
		if (len)
			*len = n;
	}
	return b;
}

static int sh(const char *dir, const char *cmd, const char *name)
{
	char line[1024];
	snprintf(line, sizeof(line), "cd '%s' && %s >>%s.log 2>&1", dir, cmd, name);
	int st = system(line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * iasl -d TABLE, then recompile the disassembly: both must succeed, the
 * disassembly must not complain, and the recompiled table must equal ours
 * except the checksum, the compiler id/revision iasl puts in, and resource
 * template EndTag checksums (iasl writes 0). Returns the disassembly.
 */
static char *iasl_roundtrip(const char *dir, const char *name, const uint8_t *t)
{
	uint32_t len = rd32(t + 4);
	char file[64], cmd[256];
	snprintf(file, sizeof(file), "%s.dat", name);
	write_file(dir, file, t, len);
	snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", name);
	int rc = sh(dir, cmd, name);
	snprintf(file, sizeof(file), "%s.dsl", name);
	char *dsl = read_file(dir, file, NULL);
	snprintf(cmd, sizeof(cmd), "iasl -oa -p re_%s %s.dsl", name, name);
	int rc2 = dsl ? sh(dir, cmd, name) : -1;
	snprintf(file, sizeof(file), "%s.log", name);
	char *log = read_file(dir, file, NULL);
	if (rc || rc2 || !dsl || strstr(dsl, "Incorrect") || strstr(log, "Incorrect") ||
	    strstr(log, "Error ")) {
		print_error("iasl on %s: rc %d/%d\n%s\n", name, rc, rc2, log ? log : "");
		fail();
	}
	free(log);
	size_t relen = 0;
	snprintf(file, sizeof(file), "re_%s.aml", name);
	uint8_t *re = (uint8_t *)read_file(dir, file, &relen);
	assert_non_null(re);
	assert_int_equal(relen, len);
	for (size_t i = 0; i < len; i++) {
		if (re[i] == t[i] || i == 9 || (i >= 28 && i < 36))
			continue;
		if (i > 36 && t[i - 1] == 0x79 && re[i - 1] == 0x79 && re[i] == 0)
			continue;
		print_error("%s: byte %zu is %#x, iasl recompiles it as %#x\n", name, i, t[i], re[i]);
		fail();
	}
	free(re);
	return dsl;
}

static void must_have(const char *dsl, const char *what)
{
	if (!strstr(dsl, what)) {
		fprintf(stderr, "%s\n", dsl);
		print_error("disassembly lacks \"%s\"\n", what);
		fail();
	}
}

static void test_iasl_tables(void **state)
{
	(void)state;
	if (!have_iasl()) {
		print_message("iasl not installed (apt-get install acpica-tools): skipped\n");
		skip();
	}
	static uint8_t buf[65536];
	struct acpi_config c = config(3, 0x505);
	c.power_button_gsi = 5;
	uint64_t rsdp;
	int used = acpi_build(buf, sizeof(buf), &c, &rsdp);
	assert_true(used > 0);
	struct tables t = decode(buf, (size_t)used, BASE, rsdp);
	char dir[] = "/tmp/nv-acpi-XXXXXX";
	assert_non_null(mkdtemp(dir));

	char *dsl = iasl_roundtrip(dir, "xsdt", t.xsdt);
	free(dsl);
	dsl = iasl_roundtrip(dir, "facp", t.fadt);
	must_have(dsl, "Hardware Reduced (V5) : 1");
	must_have(dsl, "8042 Present on ports 60/64 (V2) : 0");
	must_have(dsl, "VGA Not Present (V4) : 1");
	must_have(dsl, "CMOS RTC Not Present (V5) : 1");
	free(dsl);
	dsl = iasl_roundtrip(dir, "apic", t.madt);
	must_have(dsl, "[Interrupt Source Override]");
	must_have(dsl, "[Local APIC NMI]");
	free(dsl);
	dsl = iasl_roundtrip(dir, "dsdt", t.dsdt);
	must_have(dsl, "Name (_S5, Package (0x04)");
	must_have(dsl, "Name (_HID, \"QEMU0001\")");
	must_have(dsl, "IO (Decode16,\n                    0x0505,");
	/* The power button and the Generic Event Device that signals it. */
	must_have(dsl, "Device (PWRB)");
	must_have(dsl, "Name (_HID, EisaId (\"PNP0C0C\") /* Power Button Device */)");
	must_have(dsl, "Name (_HID, \"ACPI0013\" /* Generic Event Device */)");
	must_have(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )\n");
	must_have(dsl, "0x00000005,");
	must_have(dsl, "Method (_EVT, 1, Serialized)");
	must_have(dsl, "Notify (\\_SB.PWRB, 0x80)");
	must_have(dsl, "Device (GED0)");
	free(dsl);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Everything the encoder offers, shaped like the PCI host bridge to come. */
static size_t build_sample(uint8_t *dst, size_t room)
{
	struct aml a;
	aml_init(&a, dst + 36, room - 36);
	size_t sb = aml_scope_begin(&a, "_SB_");
	size_t dev = aml_device_begin(&a, "PCI0");
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0A03");
	aml_name(&a, "_CID");
	aml_eisaid(&a, "PNP0A08");
	aml_name(&a, "_UID");
	aml_integer(&a, 0);
	aml_name(&a, "_BBN");
	aml_integer(&a, 0);
	aml_name(&a, "_CRS");
	size_t rt = aml_restemplate_begin(&a);
	aml_res_word_bus_number(&a, 0, 0xff);
	aml_res_io(&a, true, 0xcf8, 0xcf8, 1, 8);
	aml_res_word_io(&a, 0, 0xcf7);
	aml_res_word_io(&a, 0xd00, 0xffff);
	aml_res_dword_memory(&a, AML_MEM_NONCACHEABLE, 0xc0000000, 0xfebfffff);
	aml_res_qword_memory(&a, AML_MEM_PREFETCHABLE, 0x8000000000ull, 0xffffffffffull);
	aml_res_memory32_fixed(&a, true, 0xfec00000, 0x1000);
	static const uint32_t irqs[] = { 5, 10, 11 };
	aml_res_interrupt(&a, true, true, true, irqs, 3);
	aml_restemplate_end(&a, rt);
	aml_name(&a, "_PRT");
	size_t prt = aml_package_begin(&a, 8);
	for (unsigned d = 1; d <= 2; d++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			size_t e = aml_package_begin(&a, 4);
			aml_integer(&a, d << 16 | 0xffff);
			aml_integer(&a, pin);
			aml_integer(&a, 0);
			aml_integer(&a, 16 + (d + pin) % 4);
			aml_package_end(&a, e);
		}
	}
	aml_package_end(&a, prt);
	size_t m = aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_method_end(&a, m);
	m = aml_method_begin(&a, "_DSM", 4, true);
	aml_return(&a);
	size_t bf = aml_buffer_begin(&a);
	aml_byte(&a, 0);
	aml_buffer_end(&a, bf);
	aml_method_end(&a, m);
	aml_device_end(&a, dev);
	aml_scope_end(&a, sb);
	aml_name(&a, "\\_SB_.PCI0.BIGQ");
	aml_integer(&a, 0x123456789abcull);
	aml_name(&a, "BIGB");  /* a buffer long enough for a 2-byte PkgLength */
	bf = aml_buffer_begin(&a);
	for (unsigned i = 0; i < 300; i++)
		aml_byte(&a, (uint8_t)i);
	aml_buffer_end(&a, bf);
	assert_int_equal(aml_error(&a), 0);
	size_t len = 36 + a.len;
	memset(dst, 0, 36);
	memcpy(dst, "DSDT", 4);
	dst[4] = (uint8_t)len;
	dst[5] = (uint8_t)(len >> 8);
	dst[8] = 2;
	memcpy(dst + 10, "NESTVMNVMMTEST", 14);
	acpi_sdt_checksum(dst, len);
	return len;
}

static void test_iasl_aml_sample(void **state)
{
	(void)state;
	static uint8_t buf[8192];
	build_sample(buf, sizeof(buf));
	if (!have_iasl()) {
		print_message("iasl not installed: skipped\n");
		skip();
	}
	char dir[] = "/tmp/nv-aml-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *dsl = iasl_roundtrip(dir, "sample", buf);
	must_have(dsl, "Name (_HID, EisaId (\"PNP0A03\")");
	must_have(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,");
	must_have(dsl, "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,");
	must_have(dsl, "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,");
	must_have(dsl, "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable, ReadWrite,");
	must_have(dsl, "Memory32Fixed (ReadWrite,");
	must_have(dsl, "Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, )");
	must_have(dsl, "Method (_DSM, 4, Serialized)");
	must_have(dsl, "Return (0x0F)");
	free(dsl);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_ncpus_and_room),
		cmocka_unit_test(test_refusals_and_placement),
		cmocka_unit_test(test_aml_encodings),
		cmocka_unit_test(test_aml_pkglength),
		cmocka_unit_test(test_iasl_tables),
		cmocka_unit_test(test_iasl_aml_sample),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
