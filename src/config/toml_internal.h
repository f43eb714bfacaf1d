/* SPDX-License-Identifier: MIT */
/* Shared between the TOML reader's files; not a public header. */
#ifndef NV_TOML_INTERNAL_H
#define NV_TOML_INTERNAL_H

#include <stdarg.h>

#include "toml.h"
#include "util.h"

struct toml_entry {
	char *key;
	size_t key_len;
	struct toml_node *val;
};

struct toml_node {
	enum toml_type type;
	enum toml_table_kind kind; /* tables only */
	bool table_array;          /* arrays only: made by [[ ]] */
	bool sealed;               /* tables only: inline, closed to additions */
	unsigned depth;
	int line, col, key_line, key_col;
	struct toml_span span, key_span;
	struct toml_node *parent;
	const char *key; /* owned by the parent's entry */
	size_t key_len;
	union {
		struct {
			char *s;
			size_t len;
		} str;
		int64_t i;
		double f;
		bool b;
		struct toml_datetime dt;
		struct {
			struct toml_entry *e;
			size_t n, cap;
			uint32_t *slots; /* hash index (entry + 1, 0 empty) once tables grow */
			size_t nslots;
		} tab;
		struct {
			struct toml_node **v;
			size_t n, cap;
		} arr;
	} u;
};

struct toml_doc {
	struct toml_node *root;
	char *src;
	size_t len;
};

/* A growable byte buffer. */
struct tbuf {
	char *s;
	size_t len, cap;
};

/* One part of a (dotted) key. */
struct tkey {
	char *s;
	size_t len;
	size_t start, end; /* span in the source */
	int line, col;
};

struct tkeypath {
	struct tkey *k;
	size_t n, cap;
};

/* Parser state; lives on the stack of toml_parse(). */
struct tp {
	const char *src;
	size_t len, pos;
	size_t base; /* 3 when the text starts with a BOM */
	/* line/column cache: positions are asked mostly in increasing order */
	size_t lc_off, lc_line_off; /* lc_line_off: where the cached line starts */
	int lc_line, lc_col;
	struct toml_error *err;
	int errored;
	struct toml_node *root, *cur;
	struct tbuf buf;
};

/* toml_lex.c */
void tp_linecol(struct tp *p, size_t off, int *line, int *col);
int tp_error(struct tp *p, size_t off, const char *fmt, ...) NV_PRINTF(3, 4);
int tp_enomem(struct tp *p);
int tbuf_put(struct tbuf *b, const char *s, size_t n);
int tbuf_putc(struct tbuf *b, char c);
int tp_check_text(struct tp *p);
void tp_skip_ws(struct tp *p);
bool tp_at_newline(const struct tp *p);
int tp_key_part(struct tp *p, struct tkey *k);
int tp_string(struct tp *p, char **s, size_t *len);
void tp_describe(const struct tp *p, size_t off, char *buf, size_t cap);

/* toml_scalar.c */
int tp_scalar(struct tp *p, struct toml_node *n);

/* toml_value.c */
struct toml_node *tnode_new(enum toml_type type);
void tnode_free(struct toml_node *n);
struct toml_node *ttable_find(const struct toml_node *t, const char *key, size_t len);
/* Takes ownership of key (malloc'd) and val on success. */
int ttable_add(struct toml_node *t, char *key, size_t len, struct toml_node *val);
int tarray_add(struct toml_node *a, struct toml_node *val);
/* Formats the path of n (plus an optional extra part) as "a.b.\"c d\"" into buf. */
void tnode_path(const struct toml_node *n, const char *extra, size_t extra_len, char *buf,
	size_t cap);
void tkey_append(char *buf, size_t cap, const char *key, size_t len);

#endif
