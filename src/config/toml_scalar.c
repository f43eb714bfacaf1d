// SPDX-License-Identifier: MIT
/*
 * TOML reader: the unquoted scalars. Booleans, integers (decimal with sign,
 * 0x/0o/0b, '_' between digits, int64 range), floats (fraction, exponent,
 * inf, nan) and the four RFC 3339 date/time forms, checked for real dates.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_internal.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_tok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
		c == '+' || c == '-' || c == '.' || c == ':';
}

static bool is_date_shape(const char *t, size_t n)
{
	return n >= 10 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) &&
		t[4] == '-' && is_digit(t[5]) && is_digit(t[6]) && t[7] == '-' &&
		is_digit(t[8]) && is_digit(t[9]);
}

/* Shown in messages: the token, cut short when long. */
#define TOK(t, n) (int)((n) > 40 ? 40 : (n)), (t), ((n) > 40 ? "..." : "")

static int two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* HH:MM:SS[.frac]; returns the length used, or -1 (message in why). */
static int parse_time(const char *t, size_t n, struct toml_datetime *dt, const char **why)
{
	size_t i = 8;

	*why = "expected HH:MM:SS (seconds are required)";
	if (n < 8 || !is_digit(t[0]) || !is_digit(t[1]) || t[2] != ':' || !is_digit(t[3]) ||
			!is_digit(t[4]) || t[5] != ':' || !is_digit(t[6]) || !is_digit(t[7]))
		return -1;
	dt->hour = two(t);
	dt->minute = two(t + 3);
	dt->second = two(t + 6);
	*why = "hour must be 00..23, minute 00..59, second 00..60";
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return -1;
	dt->nanosecond = 0;
	if (i < n && t[i] == '.') {
		uint32_t scale = 100000000;
		i++;
		*why = "a '.' in a time must be followed by digits";
		if (i >= n || !is_digit(t[i]))
			return -1;
		for (; i < n && is_digit(t[i]); i++) {
			dt->nanosecond += (uint32_t)(t[i] - '0') * scale;
			scale /= 10;
		}
	}
	return (int)i;
}

static int tp_datetime(struct tp *p, const char *t, size_t n, size_t off, struct toml_node *node)
{
	struct toml_datetime *dt = &node->u.dt;
	const char *why = "expected YYYY-MM-DD";
	int used;

	memset(dt, 0, sizeof(*dt));
	if (!is_date_shape(t, n) || (n > 10 && t[10] != 'T' && t[10] != 't' && t[10] != ' '))
		goto bad;
	dt->year = two(t) * 100 + two(t + 2);
	dt->month = two(t + 5);
	dt->day = two(t + 8);
	if (dt->month < 1 || dt->month > 12)
		return tp_error(p, off, "invalid date '%.*s%s': month must be 01..12", TOK(t, n));
	if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
		return tp_error(p, off, "invalid date '%.*s%s': month %02d of %04d has %d days",
			TOK(t, n), dt->month, dt->year, days_in_month(dt->year, dt->month));
	if (n == 10) {
		node->type = TOML_LOCAL_DATE;
		return 0;
	}
	used = parse_time(t + 11, n - 11, dt, &why);
	if (used < 0)
		goto bad;
	t += 11 + used;
	n -= 11 + (size_t)used;
	if (n == 0) {
		node->type = TOML_LOCAL_DATETIME;
		return 0;
	}
	node->type = TOML_OFFSET_DATETIME;
	if (n == 1 && (t[0] == 'Z' || t[0] == 'z'))
		return 0;
	why = "expected a time offset: Z or +HH:MM / -HH:MM";
	if (n != 6 || (t[0] != '+' && t[0] != '-') || !is_digit(t[1]) || !is_digit(t[2]) ||
			t[3] != ':' || !is_digit(t[4]) || !is_digit(t[5]) || two(t + 1) > 23 ||
			two(t + 4) > 59)
		goto bad;
	dt->offset_minutes = (two(t + 1) * 60 + two(t + 4)) * (t[0] == '-' ? -1 : 1);
	return 0;
bad:
	t = p->src + off;
	n = p->pos - off;
	return tp_error(p, off, "invalid date-time '%.*s%s': %s", TOK(t, n), why);
}

static int tp_time(struct tp *p, const char *t, size_t n, size_t off, struct toml_node *node)
{
	const char *why;
	int used;

	memset(&node->u.dt, 0, sizeof(node->u.dt));
	used = parse_time(t, n, &node->u.dt, &why);
	if (used < 0 || (size_t)used != n)
		return tp_error(p, off, "invalid time '%.*s%s': %s", TOK(t, n),
			used < 0 ? why : "unexpected text after the time");
	node->type = TOML_LOCAL_TIME;
	return 0;
}

static int digit_val(char c, int base)
{
	int v = -1;
	if (is_digit(c))
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	return v < base ? v : -1;
}

/* Integer digits of t[0..n) in base (underscores already checked). */
static int parse_uint(const char *t, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '_')
			continue;
		int d = digit_val(t[i], base);
		if (d < 0)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* Advances *j over 1*digit *( ['_'] digit ); false if no digit at *j. */
static bool digits(const char *t, size_t n, size_t *j)
{
	if (*j >= n || !is_digit(t[*j]))
		return false;
	while (*j < n && (is_digit(t[*j]) || t[*j] == '_'))
		(*j)++;
	return true;
}

static int tp_float(struct tp *p, const char *t, size_t n, size_t off, struct toml_node *node)
{
	const char *dp = localeconv()->decimal_point;
	size_t dpl = strlen(dp);
	char *end;
	int rc;

	p->buf.len = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '_')
			continue;
		rc = t[i] == '.' ? tbuf_put(&p->buf, dp, dpl) : tbuf_putc(&p->buf, t[i]);
		if (rc < 0)
			return tp_enomem(p);
	}
	errno = 0;
	node->u.f = strtod(p->buf.s, &end);
	if (*end != '\0')
		return tp_error(p, off, "invalid float '%.*s%s'", TOK(t, n));
	if (errno == ERANGE && isinf(node->u.f))
		return tp_error(p, off, "float '%.*s%s' is out of range", TOK(t, n));
	node->type = TOML_FLOAT;
	return 0;
}

static int tp_number(struct tp *p, const char *t, size_t n, size_t off, struct toml_node *node)
{
	size_t i = (t[0] == '+' || t[0] == '-') ? 1 : 0;
	bool neg = t[0] == '-';
	int base = 10, rc;
	uint64_t v;

	if (n - i == 3 && (!memcmp(t + i, "inf", 3) || !memcmp(t + i, "nan", 3))) {
		node->type = TOML_FLOAT;
		node->u.f = t[i] == 'i' ? INFINITY : NAN;
		if (neg)
			node->u.f = -node->u.f;
		return 0;
	}
	if (n - i >= 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'o' || t[i + 1] == 'b'))
		base = t[i + 1] == 'x' ? 16 : t[i + 1] == 'o' ? 8 : 2;
	for (size_t k = 0; k < n; k++) {
		if (t[k] == '_' && (k == 0 || k + 1 == n || digit_val(t[k - 1], base) < 0 ||
				digit_val(t[k + 1], base) < 0))
			return tp_error(p, off + k, "invalid number '%.*s%s': '_' must sit between "
				"two digits", TOK(t, n));
	}
	if (base != 10) {
		if (i)
			return tp_error(p, off, "invalid number '%.*s%s': hex, octal and binary "
				"integers take no sign", TOK(t, n));
		if (n == 2)
			return tp_error(p, off, "invalid number '%.*s%s': no digits after the "
				"prefix", TOK(t, n));
		rc = parse_uint(t + 2, n - 2, base, &v);
		if (rc == -EINVAL)
			return tp_error(p, off, "invalid base-%d integer '%.*s%s'", base, TOK(t, n));
		if (rc < 0 || v > (uint64_t)INT64_MAX)
			goto range;
		node->type = TOML_INTEGER;
		node->u.i = (int64_t)v;
		return 0;
	}

	size_t j = i;
	bool is_float = false;
	if (!digits(t, n, &j))
		goto bad;
	if (t[i] == '0' && j - i > 1)
		return tp_error(p, off, "invalid number '%.*s%s': leading zeros are not allowed",
			TOK(t, n));
	if (j < n && t[j] == '.') {
		j++;
		if (!digits(t, n, &j))
			return tp_error(p, off, "invalid float '%.*s%s': a decimal point must have "
				"digits on both sides", TOK(t, n));
		is_float = true;
	}
	if (j < n && (t[j] == 'e' || t[j] == 'E')) {
		j++;
		if (j < n && (t[j] == '+' || t[j] == '-'))
			j++;
		if (!digits(t, n, &j))
			return tp_error(p, off, "invalid float '%.*s%s': the exponent needs digits",
				TOK(t, n));
		is_float = true;
	}
	if (j != n)
		goto bad;
	if (is_float)
		return tp_float(p, t, n, off, node);
	if (parse_uint(t + i, n - i, 10, &v) < 0 || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		goto range;
	node->type = TOML_INTEGER;
	node->u.i = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
range:
	return tp_error(p, off, "integer '%.*s%s' is out of range (64-bit signed: "
		"-9223372036854775808..9223372036854775807)", TOK(t, n));
bad:
	return tp_error(p, off, "invalid value '%.*s%s' (not a number, boolean or date; "
		"strings need quotes)", TOK(t, n));
}

int tp_scalar(struct tp *p, struct toml_node *node)
{
	size_t off = p->pos, end = off;
	const char *t = p->src + off;
	size_t n;

	while (end < p->len && is_tok(p->src[end]))
		end++;
	/* "1979-05-27 07:32:00": a space may separate date and time */
	if (end - off == 10 && is_date_shape(t, 10) && end + 3 < p->len && p->src[end] == ' ' &&
			is_digit(p->src[end + 1]) && is_digit(p->src[end + 2]) &&
			p->src[end + 3] == ':') {
		end++;
		while (end < p->len && is_tok(p->src[end]))
			end++;
	}
	n = end - off;
	p->pos = end;
	if (n == 0) {
		char what[32];
		tp_describe(p, off, what, sizeof(what));
		return tp_error(p, off, "expected a value, found %s", what);
	}
	if ((n == 4 && !memcmp(t, "true", 4)) || (n == 5 && !memcmp(t, "false", 5))) {
		node->type = TOML_BOOL;
		node->u.b = n == 4;
		return 0;
	}
	if (n >= 5 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) &&
			t[4] == '-')
		return tp_datetime(p, t, n, off, node);
	if (n >= 3 && is_digit(t[0]) && is_digit(t[1]) && t[2] == ':')
		return tp_time(p, t, n, off, node);
	if (is_digit(t[0]) || ((t[0] == '+' || t[0] == '-') && n > 1) ||
			(n == 3 && (!memcmp(t, "inf", 3) || !memcmp(t, "nan", 3))))
		return tp_number(p, t, n, off, node);
	return tp_error(p, off, "invalid value '%.*s%s' (strings need quotes; booleans are "
		"lowercase true/false)", TOK(t, n));
}
