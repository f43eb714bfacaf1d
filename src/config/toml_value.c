// SPDX-License-Identifier: MIT
/* TOML reader: the tree (nodes, tables, arrays), its public read API, reading files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toml_internal.h"

struct toml_node *tnode_new(enum toml_type type)
{
	struct toml_node *n = calloc(1, sizeof(*n));
	if (n)
		n->type = type;
	return n;
}

void tnode_free(struct toml_node *n)
{
	if (!n)
		return;
	switch (n->type) {
	case TOML_STRING:
		free(n->u.str.s);
		break;
	case TOML_TABLE:
		for (size_t i = 0; i < n->u.tab.n; i++) {
			tnode_free(n->u.tab.e[i].val);
			free(n->u.tab.e[i].key);
		}
		free(n->u.tab.e);
		free(n->u.tab.slots);
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < n->u.arr.n; i++)
			tnode_free(n->u.arr.v[i]);
		free(n->u.arr.v);
		break;
	default:
		break;
	}
	free(n);
}

#define TABLE_HASH_MIN 8

static size_t hkey(const char *k, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	return h;
}

static void slot_put(struct toml_node *t, size_t i)
{
	size_t mask = t->u.tab.nslots - 1;
	size_t s = hkey(t->u.tab.e[i].key, t->u.tab.e[i].key_len) & mask;
	while (t->u.tab.slots[s])
		s = (s + 1) & mask;
	t->u.tab.slots[s] = (uint32_t)(i + 1);
}

/* Keeps the hash index at most half full; without memory, lookups stay linear. */
static void rehash(struct toml_node *t)
{
	size_t n = t->u.tab.n, want = 16;
	uint32_t *slots;

	if (n < TABLE_HASH_MIN || n >= UINT32_MAX / 4)
		return;
	if (t->u.tab.slots && n * 2 <= t->u.tab.nslots) {
		slot_put(t, n - 1);
		return;
	}
	while (want < n * 4)
		want *= 2;
	slots = calloc(want, sizeof(*slots));
	if (!slots)
		return;
	free(t->u.tab.slots);
	t->u.tab.slots = slots;
	t->u.tab.nslots = want;
	for (size_t i = 0; i < n; i++)
		slot_put(t, i);
}

struct toml_node *ttable_find(const struct toml_node *t, const char *key, size_t len)
{
	if (!t || t->type != TOML_TABLE)
		return NULL;
	if (t->u.tab.slots && t->u.tab.n * 2 <= t->u.tab.nslots) {
		size_t mask = t->u.tab.nslots - 1;
		for (size_t s = hkey(key, len) & mask; t->u.tab.slots[s]; s = (s + 1) & mask) {
			const struct toml_entry *e = &t->u.tab.e[t->u.tab.slots[s] - 1];
			if (e->key_len == len && memcmp(e->key, key, len) == 0)
				return e->val;
		}
		return NULL;
	}
	for (size_t i = 0; i < t->u.tab.n; i++) {
		const struct toml_entry *e = &t->u.tab.e[i];
		if (e->key_len == len && memcmp(e->key, key, len) == 0)
			return e->val;
	}
	return NULL;
}

int ttable_add(struct toml_node *t, char *key, size_t len, struct toml_node *val)
{
	if (t->u.tab.n == t->u.tab.cap) {
		size_t cap = t->u.tab.cap ? t->u.tab.cap * 2 : 4;
		struct toml_entry *e = realloc(t->u.tab.e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->u.tab.e = e;
		t->u.tab.cap = cap;
	}
	t->u.tab.e[t->u.tab.n++] = (struct toml_entry){ .key = key, .key_len = len, .val = val };
	rehash(t);
	val->parent = t;
	val->key = key;
	val->key_len = len;
	val->depth = t->depth + 1;
	return 0;
}

int tarray_add(struct toml_node *a, struct toml_node *val)
{
	if (a->u.arr.n == a->u.arr.cap) {
		size_t cap = a->u.arr.cap ? a->u.arr.cap * 2 : 4;
		struct toml_node **v = realloc(a->u.arr.v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->u.arr.v = v;
		a->u.arr.cap = cap;
	}
	a->u.arr.v[a->u.arr.n++] = val;
	val->parent = a;
	val->depth = a->depth + 1;
	return 0;
}

static void append(char *buf, size_t cap, const char *s, size_t n)
{
	size_t have = strnlen(buf, cap);
	if (have + 1 >= cap)
		return;
	if (n > cap - have - 1)
		n = cap - have - 1;
	memcpy(buf + have, s, n);
	buf[have + n] = '\0';
}

void tkey_append(char *buf, size_t cap, const char *key, size_t len)
{
	bool bare = len > 0;

	for (size_t i = 0; i < len && bare; i++) {
		char c = key[i];
		bare = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-';
	}
	if (cap && buf[0])
		append(buf, cap, ".", 1);
	if (bare) {
		append(buf, cap, key, len);
		return;
	}
	append(buf, cap, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			append(buf, cap, esc, 2);
		} else if (c < 0x20 || c == 0x7F) {
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			append(buf, cap, esc, 6);
		} else {
			append(buf, cap, key + i, 1);
		}
	}
	append(buf, cap, "\"", 1);
}

void tnode_path(const struct toml_node *n, const char *extra, size_t extra_len, char *buf,
	size_t cap)
{
	const struct toml_node *chain[TOML_MAX_DEPTH + 2];
	size_t k = 0;

	if (!cap)
		return;
	buf[0] = '\0';
	for (const struct toml_node *c = n; c && c->parent && k < ARRAY_SIZE(chain); c = c->parent)
		chain[k++] = c;
	while (k--) {
		const struct toml_node *c = chain[k];
		if (c->parent->type == TOML_ARRAY) {
			char idx[32];
			size_t i = 0;
			while (i < c->parent->u.arr.n && c->parent->u.arr.v[i] != c)
				i++;
			snprintf(idx, sizeof(idx), "[%zu]", i);
			append(buf, cap, idx, strlen(idx));
		} else {
			tkey_append(buf, cap, c->key, c->key_len);
		}
	}
	if (extra)
		tkey_append(buf, cap, extra, extra_len);
}

/* ---- public API ---- */

void toml_doc_free(struct toml_doc *doc)
{
	if (!doc)
		return;
	tnode_free(doc->root);
	free(doc->src);
	free(doc);
}

const struct toml_node *toml_doc_root(const struct toml_doc *doc)
{
	return doc ? doc->root : NULL;
}

const char *toml_doc_source(const struct toml_doc *doc, size_t *len)
{
	if (len)
		*len = doc ? doc->len : 0;
	return doc ? doc->src : NULL;
}

enum toml_type toml_node_type(const struct toml_node *n)
{
	return n->type;
}

const char *toml_type_name(enum toml_type t)
{
	static const char *const names[] = {
		[TOML_TABLE] = "table",
		[TOML_ARRAY] = "array",
		[TOML_STRING] = "string",
		[TOML_INTEGER] = "integer",
		[TOML_FLOAT] = "float",
		[TOML_BOOL] = "boolean",
		[TOML_OFFSET_DATETIME] = "offset date-time",
		[TOML_LOCAL_DATETIME] = "local date-time",
		[TOML_LOCAL_DATE] = "local date",
		[TOML_LOCAL_TIME] = "local time",
	};
	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "unknown";
}

int toml_node_line(const struct toml_node *n)
{
	return n ? n->line : 0;
}

int toml_node_col(const struct toml_node *n)
{
	return n ? n->col : 0;
}

int toml_node_key_line(const struct toml_node *n)
{
	return n ? n->key_line : 0;
}

int toml_node_key_col(const struct toml_node *n)
{
	return n ? n->key_col : 0;
}

struct toml_span toml_node_span(const struct toml_node *n)
{
	return n ? n->span : (struct toml_span){ 0, 0 };
}

struct toml_span toml_node_key_span(const struct toml_node *n)
{
	return n ? n->key_span : (struct toml_span){ 0, 0 };
}

const struct toml_node *toml_node_parent(const struct toml_node *n)
{
	return n ? n->parent : NULL;
}

const char *toml_node_key(const struct toml_node *n, size_t *len)
{
	const char *k = n && n->parent && n->parent->type == TOML_TABLE ? n->key : NULL;
	if (len)
		*len = k ? n->key_len : 0;
	return k;
}

void toml_node_path(const struct toml_node *n, char *buf, size_t cap)
{
	tnode_path(n, NULL, 0, buf, cap);
}

void toml_path_append(char *buf, size_t cap, const char *key, size_t len)
{
	tkey_append(buf, cap, key, len);
}

size_t toml_table_len(const struct toml_node *t)
{
	return t && t->type == TOML_TABLE ? t->u.tab.n : 0;
}

const char *toml_table_key(const struct toml_node *t, size_t i, size_t *len)
{
	if (i >= toml_table_len(t))
		return NULL;
	if (len)
		*len = t->u.tab.e[i].key_len;
	return t->u.tab.e[i].key;
}

const struct toml_node *toml_table_value(const struct toml_node *t, size_t i)
{
	return i < toml_table_len(t) ? t->u.tab.e[i].val : NULL;
}

const struct toml_node *toml_table_get(const struct toml_node *t, const char *key)
{
	return key ? ttable_find(t, key, strlen(key)) : NULL;
}

const struct toml_node *toml_lookup(const struct toml_node *t, const char *path)
{
	const char *s = path;

	if (!path)
		return NULL;
	while (t) {
		size_t n = strcspn(s, ".");
		if (t->type == TOML_ARRAY) {
			char *end;
			unsigned long i;
			if (n == 0 || s[0] < '0' || s[0] > '9')
				return NULL;
			i = strtoul(s, &end, 10);
			if (end != s + n)
				return NULL;
			t = toml_array_at(t, i);
		} else {
			t = ttable_find(t, s, n);
		}
		if (!s[n])
			return t;
		s += n + 1;
	}
	return NULL;
}

enum toml_table_kind toml_table_kind(const struct toml_node *t)
{
	return t->kind;
}

size_t toml_array_len(const struct toml_node *a)
{
	return a && a->type == TOML_ARRAY ? a->u.arr.n : 0;
}

const struct toml_node *toml_array_at(const struct toml_node *a, size_t i)
{
	return i < toml_array_len(a) ? a->u.arr.v[i] : NULL;
}

bool toml_array_is_table_array(const struct toml_node *a)
{
	return a && a->type == TOML_ARRAY && a->table_array;
}

int toml_get_string(const struct toml_node *n, const char **s, size_t *len)
{
	if (!n || n->type != TOML_STRING)
		return -EINVAL;
	if (s)
		*s = n->u.str.s;
	if (len)
		*len = n->u.str.len;
	return 0;
}

const char *toml_string(const struct toml_node *n)
{
	return n && n->type == TOML_STRING ? n->u.str.s : NULL;
}

int toml_get_int(const struct toml_node *n, int64_t *v)
{
	if (!n || n->type != TOML_INTEGER)
		return -EINVAL;
	*v = n->u.i;
	return 0;
}

int toml_get_float(const struct toml_node *n, double *v)
{
	if (!n || n->type != TOML_FLOAT)
		return -EINVAL;
	*v = n->u.f;
	return 0;
}

int toml_get_bool(const struct toml_node *n, bool *v)
{
	if (!n || n->type != TOML_BOOL)
		return -EINVAL;
	*v = n->u.b;
	return 0;
}

int toml_get_datetime(const struct toml_node *n, struct toml_datetime *v)
{
	if (!n || (n->type != TOML_OFFSET_DATETIME && n->type != TOML_LOCAL_DATETIME &&
			n->type != TOML_LOCAL_DATE && n->type != TOML_LOCAL_TIME))
		return -EINVAL;
	*v = n->u.dt;
	return 0;
}

/* ---- files ---- */

#define TOML_MAX_FILE (64u << 20)

static int read_all(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t cap = 4096, n = 0;
	char *b = NULL;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && st.st_size >= 0 && (uint64_t)st.st_size < TOML_MAX_FILE)
		cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	for (;;) {
		ssize_t r;
		if (!b) {
			rc = -ENOMEM;
			goto cleanup;
		}
		if (n == cap) {
			char *nb;
			if (cap >= TOML_MAX_FILE) {
				rc = -EFBIG;
				goto cleanup;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				goto cleanup;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	b = NULL;
cleanup:
	free(b);
	close(fd);
	return rc;
}

int toml_parse_file(const char *path, struct toml_doc **out, struct toml_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_all(path, &buf, &len);
	if (rc < 0) {
		if (err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->msg, sizeof(err->msg), "cannot read %s: %s", path,
				rc == -EFBIG ? "file too large" : strerror(-rc));
		}
		return rc;
	}
	rc = toml_parse(buf, len, out, err);
	free(buf);
	return rc;
}
