// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the input is a TOML document. When toml_parse refuses it, the
 * error must carry a position and a message; when it accepts, every node of
 * the tree is visited and its positions, spans and lookups checked.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void visit(const struct toml_node *n, size_t len, unsigned depth)
{
	struct toml_span sp = toml_node_span(n), ks = toml_node_key_span(n);
	char path[512];

	CHECK(depth <= TOML_MAX_DEPTH);
	CHECK(sp.start <= sp.end && sp.end <= len);
	CHECK(ks.start <= ks.end && ks.end <= len);
	CHECK(toml_node_line(n) >= 1 && toml_node_col(n) >= 1);
	toml_node_path(n, path, sizeof(path));
	CHECK(strlen(path) < sizeof(path));
	switch (toml_node_type(n)) {
	case TOML_TABLE:
		for (size_t i = 0; i < toml_table_len(n); i++) {
			size_t klen;
			const char *key = toml_table_key(n, i, &klen);
			const struct toml_node *v = toml_table_value(n, i);
			CHECK(key && v && key[klen] == '\0');
			CHECK(toml_node_parent(v) == n);
			CHECK(toml_node_key_line(v) >= 1);
			if (strlen(key) == klen)
				CHECK(toml_table_get(n, key) == v);
			visit(v, len, depth + 1);
		}
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < toml_array_len(n); i++) {
			const struct toml_node *v = toml_array_at(n, i);
			CHECK(toml_node_parent(v) == n);
			if (toml_array_is_table_array(n))
				CHECK(toml_node_type(v) == TOML_TABLE);
			visit(v, len, depth + 1);
		}
		break;
	case TOML_STRING: {
		const char *s;
		size_t slen;
		CHECK(toml_get_string(n, &s, &slen) == 0 && s[slen] == '\0');
		break;
	}
	case TOML_INTEGER: {
		int64_t v;
		CHECK(toml_get_int(n, &v) == 0);
		break;
	}
	case TOML_FLOAT: {
		double v;
		CHECK(toml_get_float(n, &v) == 0);
		break;
	}
	case TOML_BOOL: {
		bool v;
		CHECK(toml_get_bool(n, &v) == 0);
		break;
	}
	default: {
		struct toml_datetime dt;
		CHECK(toml_get_datetime(n, &dt) == 0);
		CHECK(dt.month <= 12 && dt.day <= 31 && dt.hour <= 23 && dt.minute <= 59 &&
			dt.second <= 60 && dt.nanosecond < 1000000000u);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_doc *doc = NULL;
	struct toml_error err;
	int rc = toml_parse((const char *)data, size, &doc, &err);

	if (rc) {
		CHECK(!doc);
		CHECK(err.msg[0]);
		CHECK(err.line >= 1 && err.col >= 1 && err.offset <= size);
		return 0;
	}
	size_t len;
	const char *src = toml_doc_source(doc, &len);
	CHECK(len == size && src[len] == '\0' && (!size || !memcmp(src, data, size)));
	visit(toml_doc_root(doc), len, 0);
	toml_doc_free(doc);
	return 0;
}
