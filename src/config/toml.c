// SPDX-License-Identifier: MIT
/*
 * TOML reader: the document grammar. Key/value pairs, dotted keys, [table]
 * and [[array of tables]] headers, arrays and inline tables, and the rules on
 * which table may be defined or extended from where:
 *
 *  - a key is defined once per table;
 *  - [a] defines a table once; super-tables made implicitly by [a.b] may be
 *    defined later, tables made by dotted keys may not (but may get
 *    sub-tables from headers);
 *  - dotted keys create tables and may walk through tables made by dotted
 *    keys or implicitly, never into a [header] table, an array of tables or
 *    an inline table;
 *  - [[a]] appends only to arrays made by [[a]]; inline tables and static
 *    arrays are closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

static int tp_value(struct tp *p, struct toml_node *parent, const char *key, size_t key_len,
	struct toml_node **out);

static struct toml_node *tp_node(struct tp *p, enum toml_type type, unsigned depth, size_t off,
	int *rc)
{
	struct toml_node *n;

	if (depth > TOML_MAX_DEPTH) {
		*rc = tp_error(p, off, "nesting is too deep (more than %d levels)", TOML_MAX_DEPTH);
		return NULL;
	}
	n = tnode_new(type);
	if (!n) {
		*rc = tp_enomem(p);
		return NULL;
	}
	n->depth = depth;
	n->span.start = n->span.end = off;
	tp_linecol(p, off, &n->line, &n->col);
	return n;
}

static void set_key(struct toml_node *n, const struct tkey *k)
{
	n->key_line = k->line;
	n->key_col = k->col;
	n->key_span = (struct toml_span){ k->start, k->end };
}

static void tkeypath_free(struct tkeypath *kp)
{
	for (size_t i = 0; i < kp->n; i++)
		free(kp->k[i].s);
	free(kp->k);
	kp->k = NULL;
	kp->n = kp->cap = 0;
}

/* key *( ws '.' ws key ) */
static int tp_key(struct tp *p, struct tkeypath *kp)
{
	for (;;) {
		int rc;
		if (kp->n == kp->cap) {
			size_t cap = kp->cap ? kp->cap * 2 : 4;
			struct tkey *k;
			if (kp->n >= TOML_MAX_DEPTH)
				return tp_error(p, p->pos, "key has too many parts (more than %d)",
					TOML_MAX_DEPTH);
			k = realloc(kp->k, cap * sizeof(*k));
			if (!k)
				return tp_enomem(p);
			kp->k = k;
			kp->cap = cap;
		}
		rc = tp_key_part(p, &kp->k[kp->n]);
		if (kp->k[kp->n].s)
			kp->n++;
		if (rc < 0)
			return rc;
		size_t save = p->pos;
		tp_skip_ws(p);
		if (p->pos >= p->len || p->src[p->pos] != '.') {
			p->pos = save;
			return 0;
		}
		p->pos++;
		tp_skip_ws(p);
	}
}

/* "defined at line 3, column 1" for an existing node */
static const char *where(const struct toml_node *n, char *buf, size_t cap)
{
	int line = n->key_line ? n->key_line : n->line;
	int col = n->key_line ? n->key_col : n->col;
	snprintf(buf, cap, "line %d, column %d", line, col);
	return buf;
}

static void tseal(struct toml_node *t)
{
	t->sealed = true;
	t->kind = TOML_TABLE_INLINE;
	for (size_t i = 0; i < t->u.tab.n; i++) {
		struct toml_node *c = t->u.tab.e[i].val;
		if (c->type == TOML_TABLE && !c->sealed)
			tseal(c);
	}
}

/* Adds a new table named by k under t, taking k's string. */
static struct toml_node *tp_add_table(struct tp *p, struct toml_node *t, struct tkey *k,
	enum toml_table_kind kind, int *rc)
{
	struct toml_node *n = tp_node(p, TOML_TABLE, t->depth + 1, k->start, rc);

	if (!n)
		return NULL;
	n->kind = kind;
	set_key(n, k);
	n->span = n->key_span;
	*rc = ttable_add(t, k->s, k->len, n);
	if (*rc < 0) {
		tnode_free(n);
		*rc = tp_enomem(p);
		return NULL;
	}
	k->s = NULL;
	return n;
}

/* key = value, into table t */
static int tp_keyval(struct tp *p, struct toml_node *t)
{
	struct tkeypath kp = { 0 };
	struct toml_node *tbl = t, *e, *v = NULL;
	char path[256], at[64], what[32];
	struct tkey *last;
	int rc = tp_key(p, &kp);

	if (rc < 0)
		goto cleanup;
	tp_skip_ws(p);
	if (p->pos >= p->len || p->src[p->pos] != '=') {
		tnode_path(t, NULL, 0, path, sizeof(path));
		for (size_t i = 0; i < kp.n; i++)
			tkey_append(path, sizeof(path), kp.k[i].s, kp.k[i].len);
		tp_describe(p, p->pos, what, sizeof(what));
		rc = tp_error(p, p->pos, "%s: expected '=' after the key, found %s%s", path, what,
			p->pos < p->len && p->src[p->pos] != '\n' && p->src[p->pos] != '\r' &&
			p->src[p->pos] != '#' ? " (keys with spaces need quotes)" : "");
		goto cleanup;
	}
	p->pos++;
	tp_skip_ws(p);
	for (size_t i = 0; i + 1 < kp.n; i++) {
		struct tkey *k = &kp.k[i];
		e = ttable_find(tbl, k->s, k->len);
		if (!e) {
			e = tp_add_table(p, tbl, k, TOML_TABLE_DOTTED, &rc);
			if (!e)
				goto cleanup;
		} else if (e->type == TOML_TABLE && !e->sealed &&
				(e->kind == TOML_TABLE_DOTTED || e->kind == TOML_TABLE_IMPLICIT)) {
			e->kind = TOML_TABLE_DOTTED;
		} else {
			tnode_path(tbl, k->s, k->len, path, sizeof(path));
			where(e, at, sizeof(at));
			if (e->type == TOML_TABLE && e->sealed)
				rc = tp_error(p, k->start, "%s: is an inline table (%s), which cannot "
					"be extended", path, at);
			else if (e->type == TOML_TABLE)
				rc = tp_error(p, k->start, "%s: table is defined by a header (%s); "
					"dotted keys cannot add to it", path, at);
			else if (e->table_array)
				rc = tp_error(p, k->start, "%s: is an array of tables (%s); dotted "
					"keys cannot add to it", path, at);
			else
				rc = tp_error(p, k->start, "%s: is already defined as %s (%s), not "
					"a table", path, toml_type_name(e->type), at);
			goto cleanup;
		}
		tbl = e;
	}
	last = &kp.k[kp.n - 1];
	e = ttable_find(tbl, last->s, last->len);
	if (e) {
		tnode_path(tbl, last->s, last->len, path, sizeof(path));
		rc = tp_error(p, last->start, "%s: duplicate key (first defined at %s)", path,
			where(e, at, sizeof(at)));
		goto cleanup;
	}
	rc = tp_value(p, tbl, last->s, last->len, &v);
	if (rc < 0)
		goto cleanup;
	set_key(v, last);
	rc = ttable_add(tbl, last->s, last->len, v);
	if (rc < 0) {
		tnode_free(v);
		rc = tp_enomem(p);
		goto cleanup;
	}
	last->s = NULL;
cleanup:
	tkeypath_free(&kp);
	return rc;
}

/* Final part of [a.b]: define the table. */
static struct toml_node *tp_define(struct tp *p, struct toml_node *tbl, struct tkey *k,
	int *rc)
{
	struct toml_node *e = ttable_find(tbl, k->s, k->len);
	char path[256], at[64];

	if (!e)
		return tp_add_table(p, tbl, k, TOML_TABLE_HEADER, rc);
	if (e->type == TOML_TABLE && e->kind == TOML_TABLE_IMPLICIT && !e->sealed) {
		e->kind = TOML_TABLE_HEADER;
		set_key(e, k);
		return e;
	}
	tnode_path(tbl, k->s, k->len, path, sizeof(path));
	where(e, at, sizeof(at));
	if (e->type == TOML_TABLE && e->kind == TOML_TABLE_DOTTED)
		*rc = tp_error(p, k->start, "%s: table already defined by dotted keys (%s)", path, at);
	else if (e->type == TOML_TABLE && e->sealed)
		*rc = tp_error(p, k->start, "%s: already defined as an inline table (%s)", path, at);
	else if (e->type == TOML_TABLE)
		*rc = tp_error(p, k->start, "%s: table defined twice (first at %s)", path, at);
	else if (e->table_array)
		*rc = tp_error(p, k->start, "%s: is an array of tables (%s); use [[%s]] to add "
			"an element", path, at, path);
	else
		*rc = tp_error(p, k->start, "%s: already defined as %s (%s)", path,
			toml_type_name(e->type), at);
	return NULL;
}

/* Final part of [[a.b]]: append an element. */
static struct toml_node *tp_append(struct tp *p, struct toml_node *tbl, struct tkey *k,
	size_t open, int *rc)
{
	struct toml_node *arr = ttable_find(tbl, k->s, k->len), *el;
	char path[256], at[64];

	if (arr && !(arr->type == TOML_ARRAY && arr->table_array)) {
		tnode_path(tbl, k->s, k->len, path, sizeof(path));
		where(arr, at, sizeof(at));
		if (arr->type == TOML_ARRAY)
			*rc = tp_error(p, k->start, "%s: cannot append to a static array (%s) with "
				"[[%s]]", path, at, path);
		else
			*rc = tp_error(p, k->start, "%s: already defined as %s (%s), not an array "
				"of tables", path, toml_type_name(arr->type), at);
		return NULL;
	}
	if (!arr) {
		arr = tp_node(p, TOML_ARRAY, tbl->depth + 1, open, rc);
		if (!arr)
			return NULL;
		arr->table_array = true;
		set_key(arr, k);
		arr->span.end = p->pos;
		*rc = ttable_add(tbl, k->s, k->len, arr);
		if (*rc < 0) {
			tnode_free(arr);
			*rc = tp_enomem(p);
			return NULL;
		}
		k->s = NULL;
	}
	el = tp_node(p, TOML_TABLE, arr->depth + 1, open, rc);
	if (!el)
		return NULL;
	el->kind = TOML_TABLE_ELEMENT;
	set_key(el, k);
	*rc = tarray_add(arr, el);
	if (*rc < 0) {
		tnode_free(el);
		*rc = tp_enomem(p);
		return NULL;
	}
	return el;
}

/* [a.b] or [[a.b]] */
static int tp_header(struct tp *p)
{
	struct tkeypath kp = { 0 };
	size_t open = p->pos;
	bool aot = p->pos + 1 < p->len && p->src[p->pos + 1] == '[';
	struct toml_node *tbl = p->root, *e;
	char path[256], at[64], what[32];
	int rc;

	p->pos += aot ? 2 : 1;
	tp_skip_ws(p);
	rc = tp_key(p, &kp);
	if (rc < 0)
		goto cleanup;
	tp_skip_ws(p);
	if (p->pos >= p->len || p->src[p->pos] != ']' ||
			(aot && (p->pos + 1 >= p->len || p->src[p->pos + 1] != ']'))) {
		size_t off = p->pos < p->len && p->src[p->pos] == ']' ? p->pos + 1 : p->pos;
		tp_describe(p, off, what, sizeof(what));
		rc = tp_error(p, off, "expected '%s' to close the %s header, found %s",
			aot ? "]]" : "]", aot ? "array-of-tables" : "table", what);
		goto cleanup;
	}
	p->pos += aot ? 2 : 1;
	for (size_t i = 0; i + 1 < kp.n; i++) {
		struct tkey *k = &kp.k[i];
		e = ttable_find(tbl, k->s, k->len);
		if (!e) {
			e = tp_add_table(p, tbl, k, TOML_TABLE_IMPLICIT, &rc);
			if (!e)
				goto cleanup;
		} else if (e->type == TOML_ARRAY && e->table_array) {
			e = e->u.arr.v[e->u.arr.n - 1];
		} else if (e->type != TOML_TABLE || e->sealed) {
			tnode_path(tbl, k->s, k->len, path, sizeof(path));
			where(e, at, sizeof(at));
			if (e->type == TOML_TABLE)
				rc = tp_error(p, k->start, "%s: is an inline table (%s), which cannot "
					"be extended", path, at);
			else if (e->type == TOML_ARRAY)
				rc = tp_error(p, k->start, "%s: is a static array (%s), which a header "
					"cannot extend", path, at);
			else
				rc = tp_error(p, k->start, "%s: already defined as %s (%s), not a "
					"table", path, toml_type_name(e->type), at);
			goto cleanup;
		}
		tbl = e;
	}
	e = aot ? tp_append(p, tbl, &kp.k[kp.n - 1], open, &rc) :
		tp_define(p, tbl, &kp.k[kp.n - 1], &rc);
	if (!e)
		goto cleanup;
	e->span = (struct toml_span){ open, p->pos };
	tp_linecol(p, open, &e->line, &e->col);
	p->cur = e;
cleanup:
	tkeypath_free(&kp);
	return rc;
}

/* Whitespace, newlines and comments inside arrays. */
static void tp_skip_all(struct tp *p)
{
	while (p->pos < p->len) {
		char c = p->src[p->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p->pos++;
		} else if (c == '#') {
			while (p->pos < p->len && p->src[p->pos] != '\n' && p->src[p->pos] != '\r')
				p->pos++;
		} else {
			break;
		}
	}
}

static int tp_array(struct tp *p, struct toml_node *a)
{
	size_t open = p->pos++;
	char what[32];

	for (;;) {
		struct toml_node *v;
		int rc;

		tp_skip_all(p);
		if (p->pos >= p->len)
			return tp_error(p, open, "array is never closed (expected ']')");
		if (p->src[p->pos] == ']')
			break;
		rc = tp_value(p, a, NULL, 0, &v);
		if (rc < 0)
			return rc;
		if (tarray_add(a, v) < 0) {
			tnode_free(v);
			return tp_enomem(p);
		}
		tp_skip_all(p);
		if (p->pos < p->len && p->src[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->src[p->pos] == ']')
			break;
		if (p->pos >= p->len)
			return tp_error(p, open, "array is never closed (expected ']')");
		tp_describe(p, p->pos, what, sizeof(what));
		return tp_error(p, p->pos, "expected ',' or ']' in the array, found %s", what);
	}
	p->pos++;
	return 0;
}

static int tp_inline(struct tp *p, struct toml_node *t)
{
	char what[32];
	int rc;

	p->pos++;
	t->kind = TOML_TABLE_INLINE;
	tp_skip_ws(p);
	if (p->pos < p->len && p->src[p->pos] == '}') {
		p->pos++;
		tseal(t);
		return 0;
	}
	for (;;) {
		tp_skip_ws(p);
		if (p->pos >= p->len || tp_at_newline(p))
			return tp_error(p, p->pos, "an inline table must end on the line it starts "
				"(expected a key or '}')");
		rc = tp_keyval(p, t);
		if (rc < 0)
			return rc;
		tp_skip_ws(p);
		if (p->pos < p->len && p->src[p->pos] == ',') {
			p->pos++;
			tp_skip_ws(p);
			if (p->pos < p->len && p->src[p->pos] == '}')
				return tp_error(p, p->pos - 1, "trailing comma in an inline table "
					"(not allowed in TOML 1.0)");
			continue;
		}
		if (p->pos < p->len && p->src[p->pos] == '}')
			break;
		if (p->pos >= p->len || tp_at_newline(p))
			return tp_error(p, p->pos, "an inline table must end on the line it starts "
				"(expected ',' or '}')");
		tp_describe(p, p->pos, what, sizeof(what));
		return tp_error(p, p->pos, "expected ',' or '}' in the inline table, found %s", what);
	}
	p->pos++;
	tseal(t);
	return 0;
}

/*
 * A value that will become a child of parent (under key, for a table): the
 * node points at its parent already so that errors inside it name its path.
 */
static int tp_value(struct tp *p, struct toml_node *parent, const char *key, size_t key_len,
	struct toml_node **out)
{
	size_t off = p->pos;
	char c = off < p->len ? p->src[off] : '\0';
	struct toml_node *n;
	int rc = 0;

	*out = NULL;
	/* scalars start as booleans so that a failed parse frees nothing */
	n = tp_node(p, c == '[' ? TOML_ARRAY : c == '{' ? TOML_TABLE : TOML_BOOL, parent->depth + 1,
		off, &rc);
	if (!n)
		return rc;
	n->parent = parent;
	n->key = key;
	n->key_len = key_len;
	if (c == '"' || c == '\'') {
		rc = tp_string(p, &n->u.str.s, &n->u.str.len);
		if (rc == 0)
			n->type = TOML_STRING;
	}
	else if (c == '[')
		rc = tp_array(p, n);
	else if (c == '{')
		rc = tp_inline(p, n);
	else
		rc = tp_scalar(p, n);
	if (rc < 0) {
		tnode_free(n);
		return rc;
	}
	n->span.end = p->pos;
	*out = n;
	return 0;
}

static int tp_document(struct tp *p)
{
	char what[32];

	while (p->pos < p->len) {
		bool header;
		int rc;

		tp_skip_ws(p);
		if (p->pos >= p->len)
			break;
		if (tp_at_newline(p)) {
			p->pos += p->src[p->pos] == '\r' ? 2 : 1;
			continue;
		}
		header = p->src[p->pos] == '[';
		if (p->src[p->pos] != '#') {
			rc = header ? tp_header(p) : tp_keyval(p, p->cur);
			if (rc < 0)
				return rc;
			tp_skip_ws(p);
		}
		if (p->pos < p->len && p->src[p->pos] == '#')
			while (p->pos < p->len && !tp_at_newline(p))
				p->pos++;
		if (p->pos < p->len && !tp_at_newline(p)) {
			tp_describe(p, p->pos, what, sizeof(what));
			return tp_error(p, p->pos, "expected the end of the line after the %s, found %s",
				header ? "table header" : "value", what);
		}
	}
	return 0;
}

int toml_parse(const char *src, size_t len, struct toml_doc **out, struct toml_error *err)
{
	struct tp p = { .err = err };
	struct toml_doc *doc = NULL;
	int rc = 0;

	if (err)
		memset(err, 0, sizeof(*err));
	*out = NULL;
	doc = calloc(1, sizeof(*doc));
	if (!doc || len == SIZE_MAX || !(doc->src = malloc(len + 1)) ||
			!(doc->root = tnode_new(TOML_TABLE))) {
		rc = tp_enomem(&p);
		goto cleanup;
	}
	if (len)
		memcpy(doc->src, src, len);
	doc->src[len] = '\0';
	doc->len = len;
	p.src = doc->src;
	p.len = len;
	if (len >= 3 && !memcmp(src, "\xEF\xBB\xBF", 3))
		p.base = 3;
	p.pos = p.base;
	p.lc_off = p.lc_line_off = p.base;
	p.lc_line = p.lc_col = 1;
	doc->root->kind = TOML_TABLE_ROOT;
	doc->root->line = doc->root->col = 1;
	doc->root->span = (struct toml_span){ p.base, len };
	p.root = p.cur = doc->root;
	rc = tp_check_text(&p);
	if (rc < 0)
		goto cleanup;
	rc = tp_document(&p);
cleanup:
	free(p.buf.s);
	if (rc < 0)
		toml_doc_free(doc);
	else
		*out = doc;
	return rc;
}
