// SPDX-License-Identifier: MIT
/* The TOML 1.0 reader: the spec's examples read back exactly, and what the spec forbids refused at the right place. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "toml.h"

static struct toml_doc *parse_ok(const char *src)
{
	struct toml_doc *doc = NULL;
	struct toml_error err;
	int rc = toml_parse(src, strlen(src), &doc, &err);
	if (rc != 0)
		fail_msg("unexpected error %d:%d: %s\n--- in ---\n%s", err.line, err.col, err.msg, src);
	return doc;
}

/* Parses tests/unit/data/NAME. */
static struct toml_doc *parse_fixture(const char *name)
{
	const char *dir = getenv("TEST_SRCDIR");
	struct toml_doc *doc = NULL;
	struct toml_error err;
	char path[4096];

	snprintf(path, sizeof(path), "%s/data/%s", dir ? dir : "tests/unit", name);
	if (toml_parse_file(path, &doc, &err) != 0)
		fail_msg("%s:%d:%d: %s", path, err.line, err.col, err.msg);
	return doc;
}

static const struct toml_node *get(const struct toml_doc *doc, const char *path)
{
	const struct toml_node *n = toml_lookup(toml_doc_root(doc), path);
	if (!n)
		fail_msg("no key %s", path);
	return n;
}

static const char *str(const struct toml_doc *doc, const char *path)
{
	const char *s = toml_string(get(doc, path));
	if (!s)
		fail_msg("%s is not a string", path);
	return s;
}

static int64_t integer(const struct toml_doc *doc, const char *path)
{
	int64_t v = 0;
	assert_int_equal(toml_get_int(get(doc, path), &v), 0);
	return v;
}

static double flt(const struct toml_doc *doc, const char *path)
{
	double v = 0;
	assert_int_equal(toml_get_float(get(doc, path), &v), 0);
	return v;
}

static bool boolean(const struct toml_doc *doc, const char *path)
{
	bool v = false;
	assert_int_equal(toml_get_bool(get(doc, path), &v), 0);
	return v;
}

static void test_spec_example(void **state)
{
	struct toml_doc *doc = parse_fixture("spec_example.toml");
	const struct toml_node *root = toml_doc_root(doc), *n;
	struct toml_datetime dt;

	assert_int_equal(toml_table_len(root), 4);
	assert_string_equal(toml_table_key(root, 0, NULL), "title");
	assert_string_equal(toml_table_key(root, 3, NULL), "servers");
	assert_string_equal(str(doc, "title"), "TOML Example");
	assert_string_equal(str(doc, "owner.name"), "Tom Preston-Werner");
	n = get(doc, "owner.dob");
	assert_int_equal(toml_node_type(n), TOML_OFFSET_DATETIME);
	assert_int_equal(toml_get_datetime(n, &dt), 0);
	assert_int_equal(dt.year, 1979);
	assert_int_equal(dt.month, 5);
	assert_int_equal(dt.day, 27);
	assert_int_equal(dt.hour, 7);
	assert_int_equal(dt.minute, 32);
	assert_int_equal(dt.second, 0);
	assert_int_equal(dt.offset_minutes, -480);
	assert_true(boolean(doc, "database.enabled"));
	n = get(doc, "database.ports");
	assert_int_equal(toml_array_len(n), 3);
	assert_false(toml_array_is_table_array(n));
	assert_int_equal(integer(doc, "database.ports.0"), 8000);
	assert_int_equal(integer(doc, "database.ports.2"), 8002);
	assert_string_equal(str(doc, "database.data.0.1"), "phi");
	assert_true(flt(doc, "database.data.1.0") == 3.14);
	assert_true(flt(doc, "database.temp_targets.cpu") == 79.5);
	assert_true(flt(doc, "database.temp_targets.case") == 72.0);
	assert_int_equal(toml_table_kind(get(doc, "database.temp_targets")), TOML_TABLE_INLINE);
	assert_string_equal(str(doc, "servers.alpha.ip"), "10.0.0.1");
	assert_string_equal(str(doc, "servers.beta.role"), "backend");
	assert_int_equal(toml_table_len(get(doc, "servers")), 2);
	assert_null(toml_lookup(root, "servers.gamma"));
	assert_null(toml_lookup(root, "database.ports.3"));
	toml_doc_free(doc);
}

static void test_strings(void **state)
{
	struct toml_doc *doc = parse_fixture("strings.toml");
	const char *s;
	size_t len;

	assert_string_equal(str(doc, "str"),
		"I'm a string. \"You can quote me\". Name\tJos\xc3\xa9\nLocation\tSF.");
	assert_int_equal(toml_get_string(get(doc, "esc"), &s, &len), 0);
	assert_int_equal(len, 7 + 1 + 4 + 1 + 1 + 1);
	assert_memory_equal(s, "\b\t\n\f\r\"\\ \xf0\x9f\x98\x80 \0!", len);
	assert_string_equal(str(doc, "str1"), "Roses are red\nViolets are blue");
	assert_string_equal(str(doc, "crlf"), "a\nb");
	assert_string_equal(str(doc, "str3"), "The quick brown fox jumps over the lazy dog.");
	assert_string_equal(str(doc, "q"), "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".");
	assert_string_equal(str(doc, "s5"), "\"This,\" she said, \"is just a pointless statement.\"");
	assert_string_equal(str(doc, "winpath"), "C:\\Users\\nodejs\\templates");
	assert_string_equal(str(doc, "regex"), "<\\i\\c*\\s*>");
	assert_string_equal(str(doc, "re2"), "I [dw]on't need \\d{2} apples");
	assert_string_equal(str(doc, "lines"), "The first newline is\ntrimmed in raw strings.\n"
		"   All other whitespace\n   is preserved.\n");
	assert_string_equal(str(doc, "quot15"),
		"Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"");
	assert_string_equal(str(doc, "apos15"), "Here are fifteen apostrophes: '''''''''''''''");
	assert_string_equal(str(doc, "str4"), "'That,' she said, 'is still pointless.'");
	assert_string_equal(str(doc, "utf8"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_string_equal(str(doc, "empty"), "");
	assert_string_equal(str(doc, "empty_ml"), "");
	assert_string_equal(str(doc, "tab"), "a\tb");
	toml_doc_free(doc);
}

static void test_keys(void **state)
{
	static const char src[] =
		"key = \"value\"\n"
		"bare_key = 1\n"
		"bare-key = 2\n"
		"1234 = 3\n"
		"\"127.0.0.1\" = 4\n"
		"\"character encoding\" = 5\n"
		"\"\xca\x8e\xc7\x9d\xca\x9e\" = 6\n"
		"'key2' = 7\n"
		"'quoted \"value\"' = 8\n"
		"\"\" = 9\n"
		"physical.color = \"orange\"\n"
		"physical.shape = \"round\"\n"
		"site.\"google.com\" = true\n"
		"fruit . flavor = \"banana\"\n"
		"3.14159 = \"pi\"\n"
		"\"a\\u0000b\" = 10\n";
	struct toml_doc *doc = parse_ok(src);
	const struct toml_node *root = toml_doc_root(doc), *n;
	const char *k;
	size_t len;
	char path[64];

	assert_int_equal(toml_table_len(root), 15);
	assert_int_equal(integer(doc, "1234"), 3);
	assert_int_equal(toml_get_int(toml_table_get(root, "127.0.0.1"), &(int64_t){ 0 }), 0);
	assert_non_null(toml_table_get(root, "character encoding"));
	assert_non_null(toml_table_get(root, "\xca\x8e\xc7\x9d\xca\x9e"));
	assert_non_null(toml_table_get(root, "key2"));
	assert_non_null(toml_table_get(root, "quoted \"value\""));
	assert_non_null(toml_table_get(root, ""));
	assert_string_equal(str(doc, "physical.shape"), "round");
	assert_int_equal(toml_table_kind(get(doc, "physical")), TOML_TABLE_DOTTED);
	n = toml_table_get(get(doc, "site"), "google.com");
	assert_non_null(n);
	toml_node_path(n, path, sizeof(path));
	assert_string_equal(path, "site.\"google.com\"");
	assert_string_equal(str(doc, "fruit.flavor"), "banana");
	assert_string_equal(str(doc, "3.14159"), "pi");
	k = toml_table_key(root, 14, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(k, "a\0b", 3);
	toml_node_path(toml_table_value(root, 14), path, sizeof(path));
	assert_string_equal(path, "\"a\\u0000b\"");
	toml_doc_free(doc);
}

static void test_integers_floats(void **state)
{
	static const char src[] =
		"int1 = +99\nint2 = 42\nint3 = 0\nint4 = -17\nint5 = 1_000\nint6 = 5_349_221\n"
		"int7 = 53_49_221\nint8 = 1_2_3_4_5\nz1 = +0\nz2 = -0\n"
		"hex1 = 0xDEADBEEF\nhex2 = 0xdeadbeef\nhex3 = 0xdead_beef\nhex4 = 0x00ff\n"
		"oct1 = 0o01234567\noct2 = 0o755\nbin1 = 0b11010110\n"
		"max = 9223372036854775807\nmin = -9223372036854775808\n"
		"hmax = 0x7FFFFFFFFFFFFFFF\n"
		"flt1 = +1.0\nflt2 = 3.1415\nflt3 = -0.01\nflt4 = 5e+22\nflt5 = 1e06\n"
		"flt6 = -2E-2\nflt7 = 6.626e-34\nflt8 = 224_617.445_991_228\nflt9 = -0.0\n"
		"flt10 = 0e0\nflt11 = 1e-400\n"
		"sf1 = inf\nsf2 = +inf\nsf3 = -inf\nsf4 = nan\nsf5 = +nan\nsf6 = -nan\n"
		"t = true\nf = false\n";
	struct toml_doc *doc = parse_ok(src);

	assert_int_equal(integer(doc, "int1"), 99);
	assert_int_equal(integer(doc, "int2"), 42);
	assert_int_equal(integer(doc, "int3"), 0);
	assert_int_equal(integer(doc, "int4"), -17);
	assert_int_equal(integer(doc, "int5"), 1000);
	assert_int_equal(integer(doc, "int6"), 5349221);
	assert_int_equal(integer(doc, "int7"), 5349221);
	assert_int_equal(integer(doc, "int8"), 12345);
	assert_int_equal(integer(doc, "z1"), 0);
	assert_int_equal(integer(doc, "z2"), 0);
	assert_int_equal(integer(doc, "hex1"), 0xDEADBEEF);
	assert_int_equal(integer(doc, "hex2"), 0xDEADBEEF);
	assert_int_equal(integer(doc, "hex3"), 0xDEADBEEF);
	assert_int_equal(integer(doc, "hex4"), 255);
	assert_int_equal(integer(doc, "oct1"), 01234567);
	assert_int_equal(integer(doc, "oct2"), 0755);
	assert_int_equal(integer(doc, "bin1"), 214);
	assert_true(integer(doc, "max") == INT64_MAX);
	assert_true(integer(doc, "min") == INT64_MIN);
	assert_true(integer(doc, "hmax") == INT64_MAX);
	assert_true(flt(doc, "flt1") == 1.0);
	assert_true(flt(doc, "flt2") == 3.1415);
	assert_true(flt(doc, "flt3") == -0.01);
	assert_true(flt(doc, "flt4") == 5e22);
	assert_true(flt(doc, "flt5") == 1e6);
	assert_true(flt(doc, "flt6") == -2e-2);
	assert_true(flt(doc, "flt7") == 6.626e-34);
	assert_true(flt(doc, "flt8") == 224617.445991228);
	assert_true(flt(doc, "flt9") == 0.0 && signbit(flt(doc, "flt9")));
	assert_true(flt(doc, "flt10") == 0.0);
	assert_true(flt(doc, "flt11") == 0.0);
	assert_true(isinf(flt(doc, "sf1")) && flt(doc, "sf1") > 0);
	assert_true(isinf(flt(doc, "sf2")) && flt(doc, "sf2") > 0);
	assert_true(isinf(flt(doc, "sf3")) && flt(doc, "sf3") < 0);
	assert_true(isnan(flt(doc, "sf4")));
	assert_true(isnan(flt(doc, "sf5")));
	assert_true(isnan(flt(doc, "sf6")));
	assert_true(boolean(doc, "t"));
	assert_false(boolean(doc, "f"));
	/* integers are not floats and the other way round */
	assert_int_equal(toml_get_float(get(doc, "int1"), &(double){ 0 }), -EINVAL);
	assert_int_equal(toml_get_int(get(doc, "flt1"), &(int64_t){ 0 }), -EINVAL);
	toml_doc_free(doc);
}

static void check_dt(const struct toml_doc *doc, const char *key, enum toml_type type,
	struct toml_datetime want)
{
	const struct toml_node *n = get(doc, key);
	struct toml_datetime dt;

	assert_int_equal(toml_node_type(n), type);
	assert_int_equal(toml_get_datetime(n, &dt), 0);
	assert_int_equal(dt.year, want.year);
	assert_int_equal(dt.month, want.month);
	assert_int_equal(dt.day, want.day);
	assert_int_equal(dt.hour, want.hour);
	assert_int_equal(dt.minute, want.minute);
	assert_int_equal(dt.second, want.second);
	assert_int_equal(dt.nanosecond, want.nanosecond);
	assert_int_equal(dt.offset_minutes, want.offset_minutes);
}

static void test_datetimes(void **state)
{
	static const char src[] =
		"odt1 = 1979-05-27T07:32:00Z\n"
		"odt2 = 1979-05-27T00:32:00-07:00\n"
		"odt3 = 1979-05-27T00:32:00.999999-07:00\n"
		"odt4 = 1979-05-27 07:32:00Z\n"
		"odt5 = 1979-05-27t07:32:00z\n"
		"odt6 = 2000-01-01T00:00:00.123456789123+05:30\n"
		"ldt1 = 1979-05-27T07:32:00\n"
		"ldt2 = 1979-05-27T00:32:00.999999\n"
		"ld1 = 1979-05-27\n"
		"leap = 2000-02-29\n"
		"leap4 = 2024-02-29\n"
		"lt1 = 07:32:00\n"
		"lt2 = 00:32:00.999999\n"
		"leapsec = 23:59:60\n"
		"arr = [1979-05-27 07:32:00, 1979-05-27]\n";
	struct toml_doc *doc = parse_ok(src);

	check_dt(doc, "odt1", TOML_OFFSET_DATETIME, (struct toml_datetime){ 1979, 5, 27, 7, 32, 0, 0, 0 });
	check_dt(doc, "odt2", TOML_OFFSET_DATETIME, (struct toml_datetime){ 1979, 5, 27, 0, 32, 0, 0, -420 });
	check_dt(doc, "odt3", TOML_OFFSET_DATETIME,
		(struct toml_datetime){ 1979, 5, 27, 0, 32, 0, 999999000, -420 });
	check_dt(doc, "odt4", TOML_OFFSET_DATETIME, (struct toml_datetime){ 1979, 5, 27, 7, 32, 0, 0, 0 });
	check_dt(doc, "odt5", TOML_OFFSET_DATETIME, (struct toml_datetime){ 1979, 5, 27, 7, 32, 0, 0, 0 });
	check_dt(doc, "odt6", TOML_OFFSET_DATETIME,
		(struct toml_datetime){ 2000, 1, 1, 0, 0, 0, 123456789, 330 });
	check_dt(doc, "ldt1", TOML_LOCAL_DATETIME, (struct toml_datetime){ 1979, 5, 27, 7, 32, 0, 0, 0 });
	check_dt(doc, "ldt2", TOML_LOCAL_DATETIME,
		(struct toml_datetime){ 1979, 5, 27, 0, 32, 0, 999999000, 0 });
	check_dt(doc, "ld1", TOML_LOCAL_DATE, (struct toml_datetime){ 1979, 5, 27, 0, 0, 0, 0, 0 });
	check_dt(doc, "leap", TOML_LOCAL_DATE, (struct toml_datetime){ 2000, 2, 29, 0, 0, 0, 0, 0 });
	check_dt(doc, "leap4", TOML_LOCAL_DATE, (struct toml_datetime){ 2024, 2, 29, 0, 0, 0, 0, 0 });
	check_dt(doc, "lt1", TOML_LOCAL_TIME, (struct toml_datetime){ 0, 0, 0, 7, 32, 0, 0, 0 });
	check_dt(doc, "lt2", TOML_LOCAL_TIME, (struct toml_datetime){ 0, 0, 0, 0, 32, 0, 999999000, 0 });
	check_dt(doc, "leapsec", TOML_LOCAL_TIME, (struct toml_datetime){ 0, 0, 0, 23, 59, 60, 0, 0 });
	check_dt(doc, "arr.0", TOML_LOCAL_DATETIME, (struct toml_datetime){ 1979, 5, 27, 7, 32, 0, 0, 0 });
	check_dt(doc, "arr.1", TOML_LOCAL_DATE, (struct toml_datetime){ 1979, 5, 27, 0, 0, 0, 0, 0 });
	toml_doc_free(doc);
}

static void test_arrays(void **state)
{
	static const char src[] =
		"integers = [ 1, 2, 3 ]\n"
		"colors = [ \"red\", \"yellow\", \"green\" ]\n"
		"nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]\n"
		"nested_mixed_array = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\n"
		"string_array = [ \"all\", 'strings', \"\"\"are the same\"\"\", '''type''' ]\n"
		"numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\n"
		"contributors = [\n"
		"  \"Foo Bar <foo@example.com>\",\n"
		"  { name = \"Baz Qux\", email = \"bazqux@example.com\", url = \"https://example.com/bazqux\" }\n"
		"]\n"
		"integers2 = [\n  1, 2, 3\n]\n"
		"integers3 = [\n  1,\n  2, # this is ok\n]\n"
		"empty = [ ]\n"
		"empty2 = [\n# only a comment\n]\n";
	struct toml_doc *doc = parse_ok(src);

	assert_int_equal(toml_array_len(get(doc, "integers")), 3);
	assert_string_equal(str(doc, "colors.1"), "yellow");
	assert_int_equal(integer(doc, "nested_arrays_of_ints.1.2"), 5);
	assert_string_equal(str(doc, "nested_mixed_array.1.2"), "c");
	assert_string_equal(str(doc, "string_array.2"), "are the same");
	assert_string_equal(str(doc, "string_array.3"), "type");
	assert_true(flt(doc, "numbers.2") == 0.5);
	assert_int_equal(integer(doc, "numbers.5"), 5);
	assert_string_equal(str(doc, "contributors.1.email"), "bazqux@example.com");
	assert_int_equal(toml_array_len(get(doc, "integers3")), 2);
	assert_int_equal(integer(doc, "integers3.1"), 2);
	assert_int_equal(toml_array_len(get(doc, "empty")), 0);
	assert_int_equal(toml_array_len(get(doc, "empty2")), 0);
	toml_doc_free(doc);
}

static void test_tables(void **state)
{
	struct toml_doc *doc = parse_fixture("tables.toml");
	const struct toml_node *n;

	assert_string_equal(toml_string(toml_table_get(toml_table_get(toml_table_get(
		get(doc, "dog"), "tater.man"), "type"), "name")), "pug");
	assert_int_equal(toml_table_len(get(doc, "j")), 1);
	assert_int_equal(toml_table_kind(get(doc, "x")), TOML_TABLE_HEADER);
	assert_int_equal(toml_table_kind(get(doc, "x.y")), TOML_TABLE_IMPLICIT);
	assert_int_equal(toml_table_kind(get(doc, "x.y.z.w")), TOML_TABLE_HEADER);
	assert_true(boolean(doc, "fruit.apple.taste.sweet"));
	assert_true(boolean(doc, "fruit.apple.texture.smooth"));
	n = get(doc, "fruits");
	assert_true(toml_array_is_table_array(n));
	assert_int_equal(toml_array_len(n), 2);
	assert_string_equal(str(doc, "fruits.0.name"), "apple");
	assert_string_equal(str(doc, "fruits.0.physical.shape"), "round");
	assert_string_equal(str(doc, "fruits.0.varieties.1.name"), "granny smith");
	assert_string_equal(str(doc, "fruits.1.varieties.0.name"), "plantain");
	assert_int_equal(toml_array_len(get(doc, "fruits.1.varieties")), 1);
	assert_int_equal(toml_table_kind(get(doc, "fruits.1")), TOML_TABLE_ELEMENT);
	assert_int_equal(integer(doc, "a.b.0.x"), 1);
	assert_int_equal(integer(doc, "a.y"), 2);
	assert_int_equal(integer(doc, "p.q.s"), 3);
	assert_int_equal(toml_table_len(get(doc, "p.q")), 2);
	assert_int_equal(integer(doc, "products.points.1.y"), 8);
	assert_string_equal(str(doc, "products.animal.type.name"), "pug");
	assert_int_equal(toml_table_kind(get(doc, "products.animal.type")), TOML_TABLE_INLINE);
	toml_doc_free(doc);
}

static void span_is(const struct toml_doc *doc, struct toml_span sp, const char *want)
{
	size_t len;
	const char *src = toml_doc_source(doc, &len);
	assert_true(sp.end <= len && sp.start <= sp.end);
	if (sp.end - sp.start != strlen(want) || memcmp(src + sp.start, want, strlen(want)))
		fail_msg("span [%zu,%zu) is '%.*s', expected '%s'", sp.start, sp.end,
			(int)(sp.end - sp.start), src + sp.start, want);
}

static void test_positions_and_spans(void **state)
{
	static const char src[] =
		"\xef\xbb\xbf# bom, then comments\n"
		"a = 1 # trailing\n"
		"  s = \"x\xc3\xa9y\"  # a non-ASCII string\n"
		"\"\xc3\xa9\" = \"after\"\r\n"
		"\n"
		"[ tbl . sub ]  # header\n"
		"arr = [ 1, [2, 3], { k = 'v' } ]\n"
		"d.e = 2000-01-01\n"
		"\"\xc3\xa9\xc3\xa9\".x = 1.5\n"
		"[[aot]]\n"
		"n = true\n";
	struct toml_doc *doc = parse_ok(src);
	const struct toml_node *root = toml_doc_root(doc), *n;
	char path[64];

	n = get(doc, "a");
	assert_int_equal(toml_node_line(n), 2);
	assert_int_equal(toml_node_col(n), 5);
	assert_int_equal(toml_node_key_line(n), 2);
	assert_int_equal(toml_node_key_col(n), 1);
	span_is(doc, toml_node_span(n), "1");
	span_is(doc, toml_node_key_span(n), "a");
	n = get(doc, "s");
	assert_int_equal(toml_node_line(n), 3);
	assert_int_equal(toml_node_col(n), 7);
	assert_int_equal(toml_node_key_col(n), 3);
	span_is(doc, toml_node_span(n), "\"x\xc3\xa9y\"");
	n = toml_table_get(root, "\xc3\xa9");
	assert_int_equal(toml_node_line(n), 4);
	assert_int_equal(toml_node_col(n), 7); /* columns count characters */
	n = get(doc, "tbl.sub");
	assert_int_equal(toml_node_line(n), 6);
	assert_int_equal(toml_node_col(n), 1);
	assert_int_equal(toml_node_key_col(n), 9);
	span_is(doc, toml_node_span(n), "[ tbl . sub ]");
	span_is(doc, toml_node_key_span(n), "sub");
	n = get(doc, "tbl");
	assert_int_equal(toml_table_kind(n), TOML_TABLE_IMPLICIT);
	span_is(doc, toml_node_key_span(n), "tbl");
	n = get(doc, "tbl.sub.arr");
	span_is(doc, toml_node_span(n), "[ 1, [2, 3], { k = 'v' } ]");
	span_is(doc, toml_node_span(get(doc, "tbl.sub.arr.1")), "[2, 3]");
	span_is(doc, toml_node_span(get(doc, "tbl.sub.arr.2")), "{ k = 'v' }");
	span_is(doc, toml_node_span(get(doc, "tbl.sub.arr.2.k")), "'v'");
	assert_int_equal(toml_node_col(get(doc, "tbl.sub.arr.1.1")), 16);
	assert_int_equal(toml_node_key_line(get(doc, "tbl.sub.arr.1")), 0);
	toml_node_path(get(doc, "tbl.sub.arr.2.k"), path, sizeof(path));
	assert_string_equal(path, "tbl.sub.arr[2].k");
	n = get(doc, "tbl.sub.d.e");
	span_is(doc, toml_node_span(n), "2000-01-01");
	span_is(doc, toml_node_key_span(n), "e");
	assert_int_equal(toml_node_key_col(n), 3);
	span_is(doc, toml_node_key_span(get(doc, "tbl.sub.d")), "d");
	n = toml_table_get(get(doc, "tbl.sub"), "\xc3\xa9\xc3\xa9");
	span_is(doc, toml_node_key_span(n), "\"\xc3\xa9\xc3\xa9\"");
	n = toml_table_get(n, "x");
	assert_int_equal(toml_node_key_col(n), 6);
	assert_int_equal(toml_node_col(n), 10);
	n = get(doc, "aot.0");
	assert_int_equal(toml_node_line(n), 10);
	span_is(doc, toml_node_span(n), "[[aot]]");
	assert_int_equal(toml_node_line(get(doc, "aot.0.n")), 11);
	assert_ptr_equal(toml_node_parent(get(doc, "aot.0.n")), n);
	assert_null(toml_node_parent(root));
	toml_doc_free(doc);
}

#include "data/toml_invalid.h"

static void test_invalid_documents(void **state)
{
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		const struct bad *b = &bad_docs[i];
		struct toml_doc *doc = (struct toml_doc *)1;
		struct toml_error err;
		int rc = toml_parse(b->src, strlen(b->src), &doc, &err);

		if (rc != -EINVAL)
			fail_msg("case %zu accepted: %s", i, b->src);
		assert_null(doc);
		if (err.line != b->line || err.col != b->col || !strstr(err.msg, b->msg))
			fail_msg("case %zu (%s): got %d:%d: %s; expected %d:%d: ...%s...", i, b->src,
				err.line, err.col, err.msg, b->line, b->col, b->msg);
	}
}

/* A NUL byte inside the text is refused (the string form above stops at it). */
static void test_nul_byte(void **state)
{
	struct toml_doc *doc = NULL;
	struct toml_error err;

	assert_int_equal(toml_parse("a = \"x\0y\"", 9, &doc, &err), -EINVAL);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 7);
	assert_non_null(strstr(err.msg, "U+0000"));
	assert_int_equal(toml_parse("", 0, &doc, &err), 0);
	assert_int_equal(toml_table_len(toml_doc_root(doc)), 0);
	toml_doc_free(doc);
	assert_int_equal(toml_parse("a = 1", 5, &doc, NULL), 0); /* err may be NULL */
	toml_doc_free(doc);
	assert_int_equal(toml_parse("a = ", 4, &doc, NULL), -EINVAL);
}

static void test_many_keys(void **state)
{
	size_t n = 3000, cap = n * 24 + 64, len = 0;
	char *src = malloc(cap);
	struct toml_doc *doc = NULL;
	struct toml_error err;

	assert_non_null(src);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(src + len, cap - len, "key%zu = %zu\n", i, i);
	assert_int_equal(toml_parse(src, len, &doc, &err), 0);
	assert_int_equal(toml_table_len(toml_doc_root(doc)), n);
	assert_int_equal(integer(doc, "key0"), 0);
	assert_int_equal(integer(doc, "key1234"), 1234);
	assert_int_equal(integer(doc, "key2999"), 2999);
	assert_null(toml_table_get(toml_doc_root(doc), "key3000"));
	assert_string_equal(toml_table_key(toml_doc_root(doc), 2000, NULL), "key2000");
	toml_doc_free(doc);
	len += (size_t)snprintf(src + len, cap - len, "key1500 = 0\n");
	assert_int_equal(toml_parse(src, len, &doc, &err), -EINVAL);
	assert_int_equal(err.line, (int)n + 1);
	assert_non_null(strstr(err.msg, "key1500: duplicate key (first defined at line 1501"));
	free(src);
}

static void test_depth_limit(void **state)
{
	char src[2 * TOML_MAX_DEPTH + 16];
	struct toml_doc *doc = NULL;
	struct toml_error err;
	size_t len = 0;

	/* a = [[...]]: the root is depth 0, a is 1, TOML_MAX_DEPTH - 1 more arrays fit */
	len += (size_t)snprintf(src, sizeof(src), "a = ");
	for (int i = 0; i < TOML_MAX_DEPTH; i++)
		src[len++] = '[';
	for (int i = 0; i < TOML_MAX_DEPTH; i++)
		src[len++] = ']';
	assert_int_equal(toml_parse(src, len, &doc, &err), 0);
	toml_doc_free(doc);
	len = 4;
	for (int i = 0; i <= TOML_MAX_DEPTH; i++)
		src[len++] = '[';
	for (int i = 0; i <= TOML_MAX_DEPTH; i++)
		src[len++] = ']';
	assert_int_equal(toml_parse(src, len, &doc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nesting is too deep"));
	assert_int_equal(err.col, 5 + TOML_MAX_DEPTH);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/test_toml_XXXXXX";
	struct toml_doc *doc = NULL;
	struct toml_error err;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[s]\nk = 'v'\n", 12), 12);
	close(fd);
	assert_int_equal(toml_parse_file(path, &doc, &err), 0);
	assert_string_equal(str(doc, "s.k"), "v");
	assert_string_equal(toml_doc_source(doc, NULL), "[s]\nk = 'v'\n");
	toml_doc_free(doc);
	unlink(path);
	assert_int_equal(toml_parse_file(path, &doc, &err), -ENOENT);
	assert_null(doc);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_int_equal(toml_parse_file("/", &doc, &err), -EISDIR);
	toml_doc_free(NULL);
}

static void test_accessors_on_wrong_types(void **state)
{
	struct toml_doc *doc = parse_ok("s = 'x'\ni = 1\nt = {}\n");
	const struct toml_node *s = get(doc, "s"), *i = get(doc, "i"), *t = get(doc, "t");
	struct toml_datetime dt;
	bool b;

	assert_int_equal(toml_get_bool(s, &b), -EINVAL);
	assert_int_equal(toml_get_string(i, NULL, NULL), -EINVAL);
	assert_int_equal(toml_get_datetime(i, &dt), -EINVAL);
	assert_null(toml_string(i));
	assert_int_equal(toml_table_len(s), 0);
	assert_int_equal(toml_array_len(t), 0);
	assert_null(toml_array_at(t, 0));
	assert_null(toml_table_get(i, "x"));
	assert_null(toml_table_key(t, 0, NULL));
	assert_null(toml_table_value(t, 0));
	assert_null(toml_lookup(toml_doc_root(doc), "s.x"));
	assert_null(toml_lookup(toml_doc_root(doc), NULL));
	assert_string_equal(toml_type_name(TOML_LOCAL_TIME), "local time");
	assert_string_equal(toml_type_name(toml_node_type(t)), "table");
	toml_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_integers_floats),
		cmocka_unit_test(test_datetimes),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_positions_and_spans),
		cmocka_unit_test(test_invalid_documents),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_accessors_on_wrong_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
