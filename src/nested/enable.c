// SPDX-License-Identifier: MIT
/*
 * `vmm nested enable`: rewrites a VM definition so that every nested rule
 * holds. The TOML reader gives the byte span of every key and value, so the
 * rewrite is a list of small edits (replace a value, insert a line, insert a
 * key into an inline table) applied to the original bytes: comments, order,
 * quoting and line endings stay as they were. The balloon is turned off with
 * `enabled = false` in place rather than by cutting its table out, which
 * would take comments with it and could not be done for every way TOML lets
 * a table be written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nested.h"
#include "toml.h"

struct edit {
	size_t start, end; /* replaced range; start == end inserts */
	size_t seq;
	char *text;
};

struct editor {
	const char *src;
	size_t len, base; /* base: past a UTF-8 BOM */
	const char *nl;   /* the file's line ending */
	struct edit *v;
	size_t n, cap;
	struct nested_enable_result *r;
	int rc;
};

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;
	return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

static void edit_add(struct editor *e, size_t start, size_t end, const char *fmt, ...)
	NV_PRINTF(4, 5);
static void edit_add(struct editor *e, size_t start, size_t end, const char *fmt, ...)
{
	va_list ap;
	char *text;

	if (e->rc)
		return;
	va_start(ap, fmt);
	text = vfmt(fmt, ap);
	va_end(ap);
	if (text && e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		struct edit *v = reallocarray(e->v, cap, sizeof(*v));
		if (v) {
			e->v = v;
			e->cap = cap;
		}
	}
	if (!text || e->n == e->cap) {
		free(text);
		e->rc = -ENOMEM;
		return;
	}
	e->v[e->n] = (struct edit){ start, end, e->n, text };
	e->n++;
}

static void change_add(struct editor *e, const char *fmt, ...) NV_PRINTF(2, 3);
static void change_add(struct editor *e, const char *fmt, ...)
{
	va_list ap;
	char *s, **v;

	if (e->rc)
		return;
	va_start(ap, fmt);
	s = vfmt(fmt, ap);
	va_end(ap);
	v = s ? realloc(e->r->changes, (e->r->nchanges + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(s);
		e->rc = -ENOMEM;
		return;
	}
	e->r->changes = v;
	v[e->r->nchanges++] = s;
}

/* The source text of a node's value, for messages. */
static int span_len(struct toml_span s)
{
	return (int)(s.end - s.start > 200 ? 200 : s.end - s.start);
}
#define SPAN(e, n) span_len(toml_node_span(n)), (e)->src + toml_node_span(n).start

/* Just past the end of the line holding offset off (its newline included), or len. */
static size_t line_end(const struct editor *e, size_t off, bool *at_eof)
{
	while (off < e->len && e->src[off] != '\n')
		off++;
	*at_eof = off >= e->len;
	return *at_eof ? e->len : off + 1;
}

static bool is_value(const struct toml_node *n)
{
	enum toml_type t = toml_node_type(n);
	if (t == TOML_TABLE)
		return toml_table_kind(n) == TOML_TABLE_INLINE;
	if (t == TOML_ARRAY)
		return !toml_array_is_table_array(n);
	return true;
}

/* Walks n: the first header's offset (min) and the last value ending at or before limit (max). */
static void scan(const struct toml_node *n, size_t limit, size_t *first_header, size_t *last_end,
	bool *found)
{
	enum toml_type t = toml_node_type(n);
	if (t == TOML_TABLE) {
		enum toml_table_kind k = toml_table_kind(n);
		if ((k == TOML_TABLE_HEADER || k == TOML_TABLE_ELEMENT) &&
				toml_node_span(n).start < *first_header)
			*first_header = toml_node_span(n).start;
	}
	if (toml_node_parent(n) && is_value(n) && toml_node_span(n).end <= limit &&
			(!*found || toml_node_span(n).end > *last_end)) {
		*last_end = toml_node_span(n).end;
		*found = true;
	}
	size_t cnt = t == TOML_TABLE ? toml_table_len(n) : t == TOML_ARRAY ? toml_array_len(n) : 0;
	for (size_t i = 0; i < cnt; i++)
		scan(t == TOML_TABLE ? toml_table_value(n, i) : toml_array_at(n, i), limit, first_header,
			last_end, found);
}

/* Where new top-level keys go, and whether a newline must precede / a blank line follow them. */
static size_t root_insert_point(const struct editor *e, const struct toml_node *root,
	bool *lead_nl, bool *trail_blank)
{
	size_t header = SIZE_MAX, last = 0, pos;
	bool found = false;

	scan(root, SIZE_MAX, &header, &last, &found); /* the first header */
	found = false;
	scan(root, header, &(size_t){ SIZE_MAX }, &last, &found);
	*lead_nl = *trail_blank = false;
	if (found)
		return line_end(e, last, lead_nl);
	if (header == SIZE_MAX) { /* only comments and blank lines */
		*lead_nl = e->len > e->base && e->src[e->len - 1] != '\n';
		return e->len;
	}
	/* Before the first header and the comment lines right above it. */
	pos = header;
	while (pos > e->base && e->src[pos - 1] != '\n')
		pos--;
	for (;;) {
		size_t prev = pos, p;
		if (prev <= e->base)
			break;
		prev--; /* the '\n' ending the line above */
		while (prev > e->base && e->src[prev - 1] != '\n')
			prev--;
		for (p = prev; p < pos && (e->src[p] == ' ' || e->src[p] == '\t'); p++)
			;
		if (p >= pos || e->src[p] != '#')
			break;
		pos = prev;
	}
	*trail_blank = true;
	return pos;
}

/* Max end offset of the values inside table t (0 and false when it has none). */
static bool last_value_end(const struct toml_node *t, size_t *end)
{
	bool found = false;
	*end = 0;
	for (size_t i = 0; i < toml_table_len(t); i++)
		scan(toml_table_value(t, i), SIZE_MAX, &(size_t){ SIZE_MAX }, end, &found);
	return found;
}

static void fix_net(struct editor *e, const struct toml_node *el, size_t i, const char *tap)
{
	const struct toml_node *ms = toml_table_get(el, "mac_spoofing");
	char who[96];
	bool v = false, eof;
	size_t end;

	if (tap)
		snprintf(who, sizeof(who), "net[%zu] (tap \"%.32s\")", i, tap);
	else
		snprintf(who, sizeof(who), "net[%zu]", i);
	if (ms) {
		if (toml_get_bool(ms, &v) == 0 && v)
			return;
		edit_add(e, toml_node_span(ms).start, toml_node_span(ms).end, "true");
		change_add(e, "%s: mac_spoofing = %.*s -> true", who, SPAN(e, ms));
		return;
	}
	switch (toml_table_kind(el)) {
	case TOML_TABLE_ELEMENT: { /* [[net]]: a line after its last key (or its header) */
		if (!last_value_end(el, &end))
			end = toml_node_span(el).end;
		size_t pos = line_end(e, end, &eof);
		edit_add(e, pos, pos, "%smac_spoofing = true%s", eof ? e->nl : "", e->nl);
		break;
	}
	case TOML_TABLE_INLINE: /* { ... }: one more key before the brace */
		if (last_value_end(el, &end))
			edit_add(e, end, end, ", mac_spoofing = true");
		else
			edit_add(e, toml_node_span(el).start, toml_node_span(el).end,
				"{ mac_spoofing = true }");
		break;
	default:
		e->rc = -EPROTO;
		return;
	}
	change_add(e, "%s: mac_spoofing not set (false) -> true", who);
}

static int cmp_edit(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int apply_edits(struct editor *e, char **out, size_t *outlen)
{
	size_t total = e->len + 1, pos = 0, o = 0;
	if (e->n)
		qsort(e->v, e->n, sizeof(*e->v), cmp_edit);
	for (size_t i = 0; i < e->n; i++) {
		if (e->v[i].start < pos || e->v[i].end < e->v[i].start || e->v[i].end > e->len)
			return -EPROTO; /* overlapping edits: a bug */
		pos = e->v[i].end;
		total += strlen(e->v[i].text);
	}
	char *s = malloc(total);
	if (!s)
		return -ENOMEM;
	pos = 0;
	for (size_t i = 0; i < e->n; i++) {
		size_t tl = strlen(e->v[i].text);
		memcpy(s + o, e->src + pos, e->v[i].start - pos);
		o += e->v[i].start - pos;
		memcpy(s + o, e->v[i].text, tl);
		o += tl;
		pos = e->v[i].end;
	}
	memcpy(s + o, e->src + pos, e->len - pos);
	o += e->len - pos;
	s[o] = 0;
	*out = s;
	*outlen = o;
	return 0;
}

static void size_text(uint64_t b, char *buf, size_t cap)
{
	if (b % GiB == 0)
		snprintf(buf, cap, "%lluG", (unsigned long long)(b / GiB));
	else if (b % MiB == 0)
		snprintf(buf, cap, "%lluM", (unsigned long long)(b / MiB));
	else
		snprintf(buf, cap, "%lluK", (unsigned long long)(b / KiB));
}

/* The top-level edits: nested, cpus, memory (replaced in place, or new lines at one point). */
static void fix_root(struct editor *e, const struct toml_node *root, const struct vm_config *cfg,
	const char *mem)
{
	char lines[256] = "";
	size_t used = 0;
	const struct toml_node *n;
	bool lead_nl, trail_blank;

#define ADD_LINE(...) \
	used += (size_t)snprintf(lines + used, sizeof(lines) - used, __VA_ARGS__)

	if ((n = toml_table_get(root, "nested"))) {
		if (cfg->nested != NESTED_ON) {
			edit_add(e, toml_node_span(n).start, toml_node_span(n).end, "\"on\"");
			change_add(e, "nested: %.*s -> \"on\"", SPAN(e, n));
		}
	} else {
		ADD_LINE("nested = \"on\"%s", e->nl);
		change_add(e, "nested: not set (\"off\") -> \"on\"");
	}
	if ((n = toml_table_get(root, "cpus"))) {
		if (cfg->cpus < 2) {
			edit_add(e, toml_node_span(n).start, toml_node_span(n).end, "2");
			change_add(e, "cpus: %.*s -> 2", SPAN(e, n));
		}
	} else if (cfg->cpus < 2) {
		ADD_LINE("cpus = 2%s", e->nl);
		change_add(e, "cpus: not set (%u) -> 2", cfg->cpus);
	}
	if (mem) {
		if ((n = toml_table_get(root, "memory"))) {
			edit_add(e, toml_node_span(n).start, toml_node_span(n).end, "\"%s\"", mem);
			change_add(e, "memory: %.*s -> \"%s\"", SPAN(e, n), mem);
		} else {
			ADD_LINE("memory = \"%s\"%s", mem, e->nl);
			change_add(e, "memory: not set (%llu MiB) -> \"%s\"",
				(unsigned long long)(cfg->memory / MiB), mem);
		}
	}
#undef ADD_LINE
	if (!used)
		return;
	size_t pos = root_insert_point(e, root, &lead_nl, &trail_blank);
	edit_add(e, pos, pos, "%s%s%s", lead_nl ? e->nl : "", lines, trail_blank ? e->nl : "");
}

/* The result must load and comply, and keep what was not meant to change. */
static int verify(const char *name, const struct nested_enable_result *r,
	const struct vm_config *old, uint64_t memory, struct diag *d)
{
	struct vm_config c;
	struct diag tmp;
	int rc = 0;

	vm_config_init(&c);
	diag_init(&tmp);
	if (vm_config_load_buffer(&c, name, r->text, r->len, &tmp) < 0 ||
			nested_rules_check(&c, true, &tmp) < 0 || c.nested != NESTED_ON ||
			c.memory != (memory ? memory : old->memory) || c.nnets != old->nnets ||
			c.ndisks != old->ndisks || c.rng != old->rng || c.acpi != old->acpi ||
			(old->cpus >= 2 && c.cpus != old->cpus)) {
		diag_add(d, name, 0, 0, "internal error: the rewritten file would not be a valid "
			"nested VM; nothing was written%s", tmp.n ? ":" : "");
		for (size_t i = 0; i < tmp.n; i++)
			diag_add(d, NULL, 0, 0, "  %s", tmp.msgs[i]);
		rc = -EPROTO;
	}
	diag_free(&tmp);
	vm_config_free(&c);
	return rc;
}

void nested_enable_result_free(struct nested_enable_result *r)
{
	if (!r)
		return;
	free(r->text);
	for (size_t i = 0; i < r->nchanges; i++)
		free(r->changes[i]);
	free(r->changes);
	memset(r, 0, sizeof(*r));
}

int nested_enable_rewrite(const char *name, const char *src, size_t len,
	const struct nested_enable_opts *o, struct nested_enable_result *r, struct diag *d)
{
	struct vm_config cfg;
	struct toml_doc *doc = NULL;
	struct toml_error terr;
	struct editor e = { .src = src, .len = len, .r = r };
	char mem[32] = "";
	uint64_t memory = 0;
	const struct toml_node *root, *n;
	int rc;

	memset(r, 0, sizeof(*r));
	vm_config_init(&cfg);
	if (o && o->memory) {
		rc = parse_size(o->memory, false, &memory);
		if (rc < 0 || memory < VM_MIN_MEMORY || memory % (4 * KiB)) {
			diag_add(d, NULL, 0, 0, "--memory: '%s' is not a usable size (a number with an "
				"optional K/M/G/T suffix, at least 16M, a multiple of 4K; e.g. 4G)", o->memory);
			rc = -EINVAL;
			goto cleanup;
		}
	}
	rc = vm_config_load_buffer(&cfg, name, src, len, d);
	if (rc < 0) {
		rc = rc == -ENOMEM ? rc : -EINVAL;
		goto cleanup;
	}
	rc = toml_parse(src, len, &doc, &terr);
	if (rc < 0)
		goto cleanup;
	root = toml_doc_root(doc);
	e.base = len >= 3 && !memcmp(src, "\xEF\xBB\xBF", 3) ? 3 : 0;
	e.nl = memmem(src, len, "\r\n", 2) ? "\r\n" : "\n";
	if (memory && memory != cfg.memory)
		size_text(memory, mem, sizeof(mem));
	fix_root(&e, root, &cfg, mem[0] ? mem : NULL);
	if (cfg.balloon && (n = toml_lookup(root, "balloon.enabled"))) {
		edit_add(&e, toml_node_span(n).start, toml_node_span(n).end, "false");
		change_add(&e, "balloon: enabled = %.*s -> false", SPAN(&e, n));
	}
	if ((n = toml_table_get(root, "net")))
		for (size_t i = 0; i < toml_array_len(n); i++)
			fix_net(&e, toml_array_at(n, i), i, i < cfg.nnets ? cfg.nets[i].tap : NULL);
	rc = e.rc;
	if (rc == 0)
		rc = apply_edits(&e, &r->text, &r->len);
	if (rc == 0)
		rc = verify(name, r, &cfg, memory, d);
cleanup:
	if (rc == -EPROTO && !d->n)
		diag_add(d, name, 0, 0, "internal error: cannot rewrite this file; nothing was written");
	if (rc < 0)
		nested_enable_result_free(r);
	for (size_t i = 0; i < e.n; i++)
		free(e.v[i].text);
	free(e.v);
	toml_doc_free(doc);
	vm_config_free(&cfg);
	return rc;
}
