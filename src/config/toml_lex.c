// SPDX-License-Identifier: MIT
/*
 * TOML reader, lexical layer: positions and errors, the UTF-8 / control
 * character check of the whole text, keys and the four string forms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"
#include "util.h"

/*
 * Positions are asked for mostly in increasing order, or earlier on the same
 * line (a header's '[' once its key is read): both resume from the cache.
 */
void tp_linecol(struct tp *p, size_t off, int *line, int *col)
{
	if (off > p->len)
		off = p->len;
	if (off < p->lc_off) {
		if (off >= p->lc_line_off) {
			p->lc_off = p->lc_line_off;
		} else {
			p->lc_off = p->lc_line_off = p->base;
			p->lc_line = 1;
		}
		p->lc_col = 1;
	}
	for (size_t i = p->lc_off; i < off; i++) {
		unsigned char c = (unsigned char)p->src[i];
		if (c == '\n') {
			p->lc_line++;
			p->lc_col = 1;
			p->lc_line_off = i + 1;
		} else if ((c & 0xC0) != 0x80) {
			p->lc_col++;
		}
	}
	p->lc_off = off;
	*line = p->lc_line;
	*col = p->lc_col;
}

int tp_error(struct tp *p, size_t off, const char *fmt, ...)
{
	if (p->errored)
		return -EINVAL;
	p->errored = 1;
	if (p->err) {
		va_list ap;
		tp_linecol(p, off, &p->err->line, &p->err->col);
		p->err->offset = off;
		va_start(ap, fmt);
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int tp_enomem(struct tp *p)
{
	if (!p->errored && p->err) {
		p->err->line = 0;
		p->err->col = 0;
		p->err->offset = p->pos;
		snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
	}
	p->errored = 1;
	return -ENOMEM;
}

int tbuf_put(struct tbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			return -ENOMEM;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int tbuf_putc(struct tbuf *b, char c)
{
	return tbuf_put(b, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < need + 1)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return need + 1;
}

/*
 * TOML text is UTF-8 in which no control character other than tab and
 * newline (LF or CRLF) may appear raw: not in comments, not in strings, not
 * between tokens. Checking that once here lets the grammar ignore it.
 */
int tp_check_text(struct tp *p)
{
	const unsigned char *s = (const unsigned char *)p->src;

	for (size_t i = p->base; i < p->len;) {
		unsigned char c = s[i];
		if (c == '\r') {
			if (i + 1 >= p->len || s[i + 1] != '\n')
				return tp_error(p, i, "carriage return not followed by a line feed "
					"(a bare CR is not allowed)");
			i += 2;
		} else if (c == '\t' || c == '\n') {
			i++;
		} else if (c < 0x20 || c == 0x7F) {
			return tp_error(p, i, "control character U+%04X is not allowed "
				"(in a string, write it as an escape)", c);
		} else {
			size_t n = utf8_len(s + i, p->len - i);
			if (!n)
				return tp_error(p, i, "invalid UTF-8 (byte 0x%02X)", c);
			i += n;
		}
	}
	return 0;
}

void tp_skip_ws(struct tp *p)
{
	while (p->pos < p->len && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t'))
		p->pos++;
}

bool tp_at_newline(const struct tp *p)
{
	return p->pos < p->len && (p->src[p->pos] == '\n' || p->src[p->pos] == '\r');
}

static bool is_bare(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '-';
}

static bool has(const struct tp *p, size_t off, const char *s)
{
	size_t n = strlen(s);
	return off + n <= p->len && memcmp(p->src + off, s, n) == 0;
}

static int put_utf8(struct tbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return tbuf_put(b, u, n);
}

/* p->pos is on a backslash inside a basic string. */
static int tp_escape(struct tp *p, bool multiline)
{
	size_t at = p->pos;
	char c = at + 1 < p->len ? p->src[at + 1] : '\0';
	const char *simple = "b\bt\tn\nf\fr\r\"\"\\\\";

	for (const char *e = simple; *e; e += 2) {
		if (c == e[0]) {
			p->pos = at + 2;
			return tbuf_putc(&p->buf, e[1]) < 0 ? tp_enomem(p) : 0;
		}
	}
	if (c == 'u' || c == 'U') {
		size_t n = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (size_t i = 0; i < n; i++) {
			int h = at + 2 + i < p->len ? hex_digit(p->src[at + 2 + i]) : -1;
			if (h < 0)
				return tp_error(p, at, "\\%c must be followed by %zu hex digits", c, n);
			cp = cp * 16 + (uint32_t)h;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return tp_error(p, at, "\\%c%0*X is not a Unicode scalar value", c, (int)n,
				(unsigned)cp);
		p->pos = at + 2 + n;
		return put_utf8(&p->buf, cp) < 0 ? tp_enomem(p) : 0;
	}
	if (multiline) {
		/* line-ending backslash: eats whitespace and newlines up to the next text */
		size_t j = at + 1;
		while (j < p->len && (p->src[j] == ' ' || p->src[j] == '\t'))
			j++;
		if (j < p->len && (p->src[j] == '\n' || p->src[j] == '\r')) {
			while (j < p->len && (p->src[j] == ' ' || p->src[j] == '\t' ||
					p->src[j] == '\n' || p->src[j] == '\r'))
				j++;
			p->pos = j;
			return 0;
		}
	}
	if (c > 0x20 && c < 0x7F)
		return tp_error(p, at, "invalid escape sequence '\\%c' (valid: \\b \\t \\n \\f \\r "
			"\\\" \\\\ \\uXXXX \\UXXXXXXXX)", c);
	return tp_error(p, at, "invalid escape: a backslash must be followed by one of "
		"b t n f r \" \\ u U%s", multiline ? ", or end the line" : "");
}

/* Multi-line strings: p->pos just past the opening delimiter. */
static int tp_ml_string(struct tp *p, char q, size_t open)
{
	if (has(p, p->pos, "\n"))
		p->pos += 1;
	else if (has(p, p->pos, "\r\n"))
		p->pos += 2;
	for (;;) {
		if (p->pos >= p->len)
			return tp_error(p, open, "multi-line string is never closed (expected %c%c%c)",
				q, q, q);
		char c = p->src[p->pos];
		int rc = 0;
		if (c == q) {
			size_t n = 0;
			while (p->pos + n < p->len && p->src[p->pos + n] == q)
				n++;
			if (n < 3) {
				rc = tbuf_put(&p->buf, p->src + p->pos, n);
				p->pos += n;
			} else if (n <= 5) {
				rc = tbuf_put(&p->buf, p->src + p->pos, n - 3);
				p->pos += n;
				return rc < 0 ? tp_enomem(p) : 0;
			} else {
				return tp_error(p, p->pos, "three or more %s in a row inside a "
					"multi-line string%s", q == '"' ? "quotes" : "apostrophes",
					q == '"' ? " must be escaped" : " are not allowed");
			}
		} else if (c == '\\' && q == '"') {
			rc = tp_escape(p, true);
			if (rc < 0)
				return rc;
		} else if (c == '\r') {
			rc = tbuf_putc(&p->buf, '\n'); /* CRLF, checked by tp_check_text */
			p->pos += 2;
		} else {
			size_t s = p->pos;
			while (p->pos < p->len && p->src[p->pos] != q && p->src[p->pos] != '\\' &&
					p->src[p->pos] != '\r')
				p->pos++;
			if (p->pos == s) { /* a backslash in a literal string */
				p->pos++;
			}
			rc = tbuf_put(&p->buf, p->src + s, p->pos - s);
		}
		if (rc < 0)
			return tp_enomem(p);
	}
}

/* Single-line strings: p->pos just past the opening quote. */
static int tp_line_string(struct tp *p, char q, size_t open)
{
	for (;;) {
		if (p->pos >= p->len || p->src[p->pos] == '\n' || p->src[p->pos] == '\r')
			return tp_error(p, open, "string is not closed on its line (expected %c%s)",
				q, q == '"' ? "; use \"\"\" for a multi-line string" :
				"; use ''' for a multi-line string");
		char c = p->src[p->pos];
		if (c == q) {
			p->pos++;
			return 0;
		}
		if (c == '\\' && q == '"') {
			int rc = tp_escape(p, false);
			if (rc < 0)
				return rc;
			continue;
		}
		size_t s = p->pos++;
		while (p->pos < p->len && p->src[p->pos] != q && p->src[p->pos] != '\\' &&
				p->src[p->pos] != '\n' && p->src[p->pos] != '\r')
			p->pos++;
		if (tbuf_put(&p->buf, p->src + s, p->pos - s) < 0)
			return tp_enomem(p);
	}
}

static int tp_take_buf(struct tp *p, char **s, size_t *len)
{
	*len = p->buf.len;
	*s = malloc(p->buf.len + 1);
	if (!*s)
		return tp_enomem(p);
	if (p->buf.len)
		memcpy(*s, p->buf.s, p->buf.len);
	(*s)[p->buf.len] = '\0';
	return 0;
}

/* p->pos is on a quote or apostrophe. */
int tp_string(struct tp *p, char **s, size_t *len)
{
	size_t open = p->pos;
	char q = p->src[open];
	int rc;

	p->buf.len = 0;
	if ((q == '"' && has(p, open, "\"\"\"")) || (q == '\'' && has(p, open, "'''"))) {
		p->pos = open + 3;
		rc = tp_ml_string(p, q, open);
	} else {
		p->pos = open + 1;
		rc = tp_line_string(p, q, open);
	}
	if (rc < 0)
		return rc;
	return tp_take_buf(p, s, len);
}

void tp_describe(const struct tp *p, size_t off, char *buf, size_t cap)
{
	if (off >= p->len)
		snprintf(buf, cap, "the end of the file");
	else if (p->src[off] == '\n' || p->src[off] == '\r')
		snprintf(buf, cap, "the end of the line");
	else if (p->src[off] == ' ' || p->src[off] == '\t')
		snprintf(buf, cap, "a space");
	else if ((unsigned char)p->src[off] < 0x80)
		snprintf(buf, cap, "'%c'", p->src[off]);
	else
		snprintf(buf, cap, "a non-ASCII character");
}

/* One part of a key: bare, "basic" or 'literal'. */
int tp_key_part(struct tp *p, struct tkey *k)
{
	size_t start = p->pos;
	int rc;

	k->s = NULL;
	k->start = start;
	tp_linecol(p, start, &k->line, &k->col);
	if (start < p->len && is_bare(p->src[start])) {
		while (p->pos < p->len && is_bare(p->src[p->pos]))
			p->pos++;
		p->buf.len = 0;
		if (tbuf_put(&p->buf, p->src + start, p->pos - start) < 0)
			return tp_enomem(p);
		rc = tp_take_buf(p, &k->s, &k->len);
	} else if (start < p->len && (p->src[start] == '"' || p->src[start] == '\'')) {
		if (has(p, start, "\"\"\"") || has(p, start, "'''"))
			return tp_error(p, start, "a multi-line string cannot be a key");
		rc = tp_string(p, &k->s, &k->len);
	} else {
		char what[32];
		tp_describe(p, start, what, sizeof(what));
		return tp_error(p, start, "expected a key (bare keys use A-Z a-z 0-9 _ -; "
			"quote others), found %s", what);
	}
	k->end = p->pos;
	return rc;
}
