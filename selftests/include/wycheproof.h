/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test-only reader for Project Wycheproof JSON vectors.
 *
 * A small JSON DOM parser (objects, arrays, strings with simple escapes,
 * integers, true/false/null) and helpers to walk testGroups[].tests[].
 * Files are found under $XIPSEC_TESTVECTORS/wycheproof/ or, from the repo
 * root, ../shared/testvectors/wycheproof/; tests skip when they are absent.
 */
#ifndef XIPSEC_TEST_WYCHEPROOF_H
#define XIPSEC_TEST_WYCHEPROOF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum wpj_type { WPJ_NULL, WPJ_BOOL, WPJ_NUM, WPJ_STR, WPJ_ARR, WPJ_OBJ };

struct wpj {
	enum wpj_type type;
	char *key;		/* member name inside an object */
	char *str;		/* WPJ_STR */
	long num;		/* WPJ_NUM, WPJ_BOOL */
	size_t n;		/* WPJ_ARR, WPJ_OBJ */
	struct wpj *kid;
};

struct wpj_parser {
	const char *p, *end;
	int depth;
};

static inline void wpj_skip_ws(struct wpj_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' ||
				   *ps->p == '\t'))
		ps->p++;
}

static inline char *wpj_parse_string(struct wpj_parser *ps)
{
	size_t cap = 16, n = 0;
	char *s, *t;

	if (ps->p >= ps->end || *ps->p != '"')
		return NULL;
	ps->p++;
	s = malloc(cap);
	while (s && ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;

		if (c == '\\') {
			if (ps->p >= ps->end)
				goto bad;
			c = *ps->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u':
				/* only used in comments; keep a placeholder */
				if (ps->end - ps->p < 4)
					goto bad;
				ps->p += 4;
				c = '?';
				break;
			default:
				break;	/* \" \\ \/ */
			}
		}
		if (n + 2 > cap) {
			cap *= 2;
			t = realloc(s, cap);
			if (!t)
				goto bad;
			s = t;
		}
		s[n++] = c;
	}
	if (!s || ps->p >= ps->end)
		goto bad;
	ps->p++;
	s[n] = 0;
	return s;
bad:
	free(s);
	return NULL;
}

static inline void wpj_free_node(struct wpj *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		wpj_free_node(&v->kid[i]);
	free(v->kid);
	free(v->key);
	free(v->str);
}

static inline bool wpj_parse_value(struct wpj_parser *ps, struct wpj *v);

static inline bool wpj_parse_container(struct wpj_parser *ps, struct wpj *v, bool obj)
{
	char close = obj ? '}' : ']';
	size_t cap = 0;

	ps->p++;
	wpj_skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return true;
	}
	for (;;) {
		struct wpj *k;
		char *key = NULL;

		wpj_skip_ws(ps);
		if (obj) {
			key = wpj_parse_string(ps);
			if (!key)
				return false;
			wpj_skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return false;
			}
			ps->p++;
		}
		if (v->n == cap) {
			cap = cap ? 2 * cap : 8;
			k = realloc(v->kid, cap * sizeof(*k));
			if (!k) {
				free(key);
				return false;
			}
			v->kid = k;
		}
		k = &v->kid[v->n];
		memset(k, 0, sizeof(*k));
		k->key = key;
		v->n++;
		if (!wpj_parse_value(ps, k))
			return false;
		wpj_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return true;
		}
		return false;
	}
}

static inline bool wpj_parse_value(struct wpj_parser *ps, struct wpj *v)
{
	wpj_skip_ws(ps);
	if (ps->p >= ps->end || ++ps->depth > 64)
		return false;
	switch (*ps->p) {
	case '{':
		v->type = WPJ_OBJ;
		if (!wpj_parse_container(ps, v, true))
			return false;
		break;
	case '[':
		v->type = WPJ_ARR;
		if (!wpj_parse_container(ps, v, false))
			return false;
		break;
	case '"':
		v->type = WPJ_STR;
		v->str = wpj_parse_string(ps);
		if (!v->str)
			return false;
		break;
	case 't':
	case 'f':
	case 'n': {
		size_t l = *ps->p == 'f' ? 5 : 4;

		if ((size_t)(ps->end - ps->p) < l)
			return false;
		v->type = *ps->p == 'n' ? WPJ_NULL : WPJ_BOOL;
		v->num = *ps->p == 't';
		ps->p += l;
		break;
	}
	default: {
		char *e;

		v->type = WPJ_NUM;
		v->num = strtol(ps->p, &e, 10);
		if (e == ps->p)
			return false;
		ps->p = e;
		/* fractions and exponents do not occur in Wycheproof files */
		break;
	}
	}
	ps->depth--;
	return true;
}

static inline void wpj_free(struct wpj *v)
{
	if (!v)
		return;
	wpj_free_node(v);
	free(v);
}

/* Load a Wycheproof file by name; NULL if it cannot be found or parsed. */
static inline struct wpj *wpj_load(const char *name)
{
	const char *env = getenv("XIPSEC_TESTVECTORS");
	char path[4096];
	struct wpj_parser ps;
	struct wpj *v = NULL;
	char *text = NULL;
	FILE *f = NULL;
	long len;

	if (env) {
		snprintf(path, sizeof(path), "%s/wycheproof/%s", env, name);
		f = fopen(path, "r");
		if (!f) {
			snprintf(path, sizeof(path), "%s/%s", env, name);
			f = fopen(path, "r");
		}
	}
	if (!f) {
		snprintf(path, sizeof(path), "../shared/testvectors/wycheproof/%s", name);
		f = fopen(path, "r");
	}
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	text = malloc((size_t)len + 1);
	if (!text || fread(text, 1, (size_t)len, f) != (size_t)len)
		goto out;
	v = calloc(1, sizeof(*v));
	if (!v)
		goto out;
	ps.p = text;
	ps.end = text + len;
	ps.depth = 0;
	if (!wpj_parse_value(&ps, v)) {
		wpj_free(v);
		v = NULL;
	}
out:
	free(text);
	fclose(f);
	return v;
}

static inline const struct wpj *wpj_get(const struct wpj *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != WPJ_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (!strcmp(obj->kid[i].key, key))
			return &obj->kid[i];
	return NULL;
}

static inline const char *wpj_str(const struct wpj *obj, const char *key)
{
	const struct wpj *v = wpj_get(obj, key);

	return v && v->type == WPJ_STR ? v->str : NULL;
}

static inline long wpj_num(const struct wpj *obj, const char *key)
{
	const struct wpj *v = wpj_get(obj, key);

	return v && v->type == WPJ_NUM ? v->num : -1;
}

static inline bool wpj_has_flag(const struct wpj *test, const char *flag)
{
	const struct wpj *fl = wpj_get(test, "flags");
	size_t i;

	for (i = 0; fl && i < fl->n; i++)
		if (fl->kid[i].type == WPJ_STR && !strcmp(fl->kid[i].str, flag))
			return true;
	return false;
}

/* Decode the hex string member @key into a malloc'd buffer (never NULL on
 * success, even for ""); returns the length or -1. */
static inline long wpj_hex(const struct wpj *obj, const char *key, uint8_t **out)
{
	const char *s = wpj_str(obj, key);
	size_t i, n;
	uint8_t *b;

	*out = NULL;
	if (!s || strlen(s) % 2)
		return -1;
	n = strlen(s) / 2;
	b = malloc(n + 1);
	if (!b)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned int x;

		if (sscanf(s + 2 * i, "%2x", &x) != 1) {
			free(b);
			return -1;
		}
		b[i] = (uint8_t)x;
	}
	*out = b;
	return (long)n;
}

/* Iterate tests: for each group g and test t of file @root. */
#define wpj_for_each_test(root, g, t)                                                          \
	for (size_t _gi = 0, _ti = 0; _gi < (wpj_get(root, "testGroups") ?                      \
						    wpj_get(root, "testGroups")->n : 0);      \
	     _gi++, _ti = 0)                                                                    \
		for (g = &wpj_get(root, "testGroups")->kid[_gi];                                  \
		     _ti < (wpj_get(g, "tests") ? wpj_get(g, "tests")->n : 0) &&                \
		     (t = &wpj_get(g, "tests")->kid[_ti], 1);                                     \
		     _ti++)

#endif
