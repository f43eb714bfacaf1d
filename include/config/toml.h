/* SPDX-License-Identifier: MIT */
/*
 * A TOML 1.0.0 reader (https://toml.io/en/v1.0.0).
 *
 * toml_parse() checks the whole document against the spec (syntax, UTF-8,
 * escapes, number and date ranges, the table-definition rules) and builds a
 * read-only tree. Every node records where it came from: 1-based line and
 * column (columns count characters, not bytes) and byte spans into the
 * source, so that errors can say FILE:LINE:COL and so that a tool can rewrite
 * one value in place while keeping the comments around it.
 *
 * The tree keeps tables in document order. Strings and keys are UTF-8,
 * NUL-terminated, but may also contain NUL (from "\u0000"): use the length
 * outputs when that matters.
 */
#ifndef NV_TOML_H
#define NV_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_OFFSET_DATETIME, /* 1979-05-27T07:32:00Z */
	TOML_LOCAL_DATETIME,  /* 1979-05-27T07:32:00 */
	TOML_LOCAL_DATE,      /* 1979-05-27 */
	TOML_LOCAL_TIME,      /* 07:32:00 */
};

/* How a table came to exist. */
enum toml_table_kind {
	TOML_TABLE_ROOT,
	TOML_TABLE_HEADER,   /* [a.b] */
	TOML_TABLE_IMPLICIT, /* "a" of [a.b], never defined itself */
	TOML_TABLE_DOTTED,   /* "a" of a.b = 1 */
	TOML_TABLE_INLINE,   /* { ... }, and the tables dotted keys make inside one */
	TOML_TABLE_ELEMENT,  /* one [[a]] */
};

struct toml_datetime {
	int year, month, day;     /* 0 for a local time */
	int hour, minute, second; /* 0 for a local date */
	uint32_t nanosecond;      /* digits past the 9th are dropped */
	int offset_minutes;       /* offset date-time only: Z is 0, -08:00 is -480 */
};

/* Byte offsets into the source; end is exclusive. */
struct toml_span {
	size_t start, end;
};

struct toml_error {
	int line, col;   /* 1-based */
	size_t offset;   /* byte offset of the error */
	char msg[256];   /* "duplicate key 'a.b' (first defined at line 2, column 1)" */
};

struct toml_doc;
struct toml_node;

/* Nesting (tables, arrays, inline tables, key parts) deeper than this is refused. */
#define TOML_MAX_DEPTH 128

/*
 * Parses src[0..len) (need not be NUL-terminated; a leading UTF-8 BOM is
 * skipped). The document keeps its own copy of the source. Returns 0 and
 * *out, -EINVAL with err filled (err may be NULL), or -ENOMEM.
 */
int toml_parse(const char *src, size_t len, struct toml_doc **out, struct toml_error *err);
/*
 * Reads and parses a file. Returns -errno when it cannot be read (err->line
 * is then 0 and err->msg says why), otherwise like toml_parse().
 */
int toml_parse_file(const char *path, struct toml_doc **out, struct toml_error *err);
void toml_doc_free(struct toml_doc *doc);

const struct toml_node *toml_doc_root(const struct toml_doc *doc);
/* The parsed text (NUL-terminated copy); spans index into it. */
const char *toml_doc_source(const struct toml_doc *doc, size_t *len);

/* ---- any node ---- */
enum toml_type toml_node_type(const struct toml_node *n);
/* "table", "array", "string", "integer", "float", "boolean", "offset date-time", ... */
const char *toml_type_name(enum toml_type t);
/* Where the value starts (for tables from headers: the '['). */
int toml_node_line(const struct toml_node *n);
int toml_node_col(const struct toml_node *n);
/*
 * Where the key naming this node starts (the part of a dotted key, or of a
 * [[header]] for its elements, that names it). 0 for elements of static
 * arrays and for the root.
 */
int toml_node_key_line(const struct toml_node *n);
int toml_node_key_col(const struct toml_node *n);
/*
 * Value text: a scalar as written (quotes included), an array from '[' to
 * ']', an inline table from '{' to '}', a header table its "[a.b]" or
 * "[[a.b]]" header; implicit and dotted tables the key part that made them.
 */
struct toml_span toml_node_span(const struct toml_node *n);
/* The key part naming this node, as written (quotes included); empty where the key line is 0. */
struct toml_span toml_node_key_span(const struct toml_node *n);
/* The table or array holding n; NULL for the root. */
const struct toml_node *toml_node_parent(const struct toml_node *n);
/* The key naming n in its parent table, or NULL (array elements, root). */
const char *toml_node_key(const struct toml_node *n, size_t *len);
/*
 * Writes n's full key path into buf: "boot.kernel", "disk[1].path",
 * "site.\"google.com\"" (keys that are not bare are quoted); "" for the root.
 * Truncates to cap.
 */
void toml_node_path(const struct toml_node *n, char *buf, size_t cap);
/* Appends ".key" (just "key" when buf is empty), quoted when not bare, to the path in buf. */
void toml_path_append(char *buf, size_t cap, const char *key, size_t len);

/* ---- tables ---- */
/* Number of keys; 0 if n is not a table. */
size_t toml_table_len(const struct toml_node *t);
/* i-th key and value in document order; NULL when out of range or not a table. */
const char *toml_table_key(const struct toml_node *t, size_t i, size_t *len);
const struct toml_node *toml_table_value(const struct toml_node *t, size_t i);
/* Looks up one key (no dots are interpreted); NULL if absent or t is not a table. */
const struct toml_node *toml_table_get(const struct toml_node *t, const char *key);
/*
 * Looks up a dotted path of bare keys from t: "boot.kernel", "disk.0.path"
 * (a number indexes an array). NULL if any part is missing.
 */
const struct toml_node *toml_lookup(const struct toml_node *t, const char *path);
enum toml_table_kind toml_table_kind(const struct toml_node *t);

/* ---- arrays ---- */
size_t toml_array_len(const struct toml_node *a);
const struct toml_node *toml_array_at(const struct toml_node *a, size_t i);
/* True for an array made by [[a]] headers. */
bool toml_array_is_table_array(const struct toml_node *a);

/* ---- scalars: 0, or -EINVAL when n has another type ---- */
int toml_get_string(const struct toml_node *n, const char **s, size_t *len);
int toml_get_int(const struct toml_node *n, int64_t *v);
int toml_get_float(const struct toml_node *n, double *v); /* integers are not converted */
int toml_get_bool(const struct toml_node *n, bool *v);
/* Any of the four date/time types. */
int toml_get_datetime(const struct toml_node *n, struct toml_datetime *v);
/* The string value, or NULL if n is not a string. */
const char *toml_string(const struct toml_node *n);

#endif
