// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/conf_parse.c: strongSwan settings syntax into a tree. Token rules,
 * merging of repeated keys and sections, references, includes (with line
 * numbers inside included files), limits, and every syntax error message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../iked/conf_parse.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xiked-conf-parse-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

/* Parse @text; returns the error ("" on success). The tree is left in @t. */
static const char *parse(struct conf_tree *t, const char *text)
{
	int err;

	conf_tree_init(t);
	err = conf_parse_buf(t, text, strlen(text), "t.conf", CONF_PARSE_NO_INCLUDE);
	if (!err)
		err = conf_tree_resolve(t);
	if (err)
		assert_true(t->err[0] != '\0');
	else
		assert_true(t->err[0] == '\0');
	return t->err;
}

static const struct conf_node *path_get(const struct conf_tree *t, const char *path, bool section)
{
	const struct conf_node *n = &t->root;
	char buf[256], *part, *save = NULL, *next;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part; part = next) {
		next = strtok_r(NULL, ".", &save);
		n = conf_node_get(n, part, next ? true : section);
		if (!n)
			return NULL;
	}
	return n;
}

static const char *val(const struct conf_tree *t, const char *path)
{
	const struct conf_node *n = path_get(t, path, false);

	return n ? n->value : NULL;
}

static void test_basic(void **state)
{
	struct conf_tree t;

	(void)state;
	assert_string_equal(parse(&t, "# comment\n"
				      "a {\n"
				      "  b = 1\n"
				      "  c = two   words  here # trailing comment\n"
				      "  d { e = x } \n"
				      "  f\n"
				      "  {\n"
				      "    g =\n"
				      "  }\n"
				      "}\n"),
			    "");
	assert_string_equal(val(&t, "a.b"), "1");
	assert_string_equal(val(&t, "a.c"), "two words here");
	assert_string_equal(val(&t, "a.d.e"), "x");
	assert_string_equal(val(&t, "a.f.g"), "");
	/* a value stops at '}' in strongSwan: "{not a section" then a stray '}' */
	conf_tree_free(&t);
	assert_string_equal(parse(&t, "h = {not a section}\n"),
			    "t.conf:1: unexpected '}' without an open section");
	conf_tree_free(&t);
	assert_string_equal(parse(&t, "h = a=b:c,d{e\r\n"), "");
	assert_string_equal(val(&t, "h"), "a=b:c,d{e");
	assert_int_equal(path_get(&t, "h", false)->line, 1);
	conf_tree_free(&t);
}

static void test_strings(void **state)
{
	struct conf_tree t;

	(void)state;
	assert_string_equal(parse(&t, "a = \"x # not a comment } \\\"q\\\" \\t\\n\\\\ \\z\"\n"
				      "b = one \"two  three\" four\n"
				      "c = \"multi\n"
				      "line\"\n"
				      "d = \"joined \\\n"
				      "line\"\n"
				      "e = 5\n"),
			    "");
	assert_string_equal(val(&t, "a"), "x # not a comment } \"q\" \t\n\\ z");
	assert_string_equal(val(&t, "b"), "one two  three four");
	assert_string_equal(val(&t, "c"), "multi\nline");
	assert_string_equal(val(&t, "d"), "joined line");
	assert_int_equal(path_get(&t, "e", false)->line, 7);
	conf_tree_free(&t);
}

static void test_duplicates(void **state)
{
	struct conf_tree t;
	const struct conf_node *n;
	int count = 0;

	(void)state;
	assert_string_equal(parse(&t, "s {\n a = 1\n b = 2\n}\ns {\n a = 3\n c = 4\n}\n"), "");
	assert_string_equal(val(&t, "s.a"), "3");
	assert_int_equal(path_get(&t, "s.a", false)->line, 6);
	assert_string_equal(val(&t, "s.b"), "2");
	assert_string_equal(val(&t, "s.c"), "4");
	for (n = t.root.head; n; n = n->next)
		count++;
	assert_int_equal(count, 1);
	/* order of first appearance is kept */
	n = path_get(&t, "s", true);
	assert_string_equal(n->head->name, "a");
	assert_string_equal(n->head->next->name, "b");
	/* a key and a section may share a name */
	conf_tree_free(&t);
	assert_string_equal(parse(&t, "x = 1\nx { y = 2 }\n"), "");
	assert_string_equal(val(&t, "x"), "1");
	assert_string_equal(val(&t, "x.y"), "2");
	conf_tree_free(&t);
}

static void test_references(void **state)
{
	struct conf_tree t;

	(void)state;
	assert_string_equal(parse(&t, "base {\n a = 1\n b = 2\n sub { x = y }\n}\n"
				      "more { c = 3 \n b = 9 }\n"
				      "conns {\n"
				      "  one : base, more {\n"
				      "    a = own\n"
				      "  }\n"
				      "  two : conns.one\n"
				      "  {\n"
				      "  }\n"
				      "}\n"),
			    "");
	assert_string_equal(val(&t, "conns.one.a"), "own");
	assert_string_equal(val(&t, "conns.one.b"), "2"); /* first reference wins */
	assert_string_equal(val(&t, "conns.one.c"), "3");
	assert_string_equal(val(&t, "conns.one.sub.x"), "y");
	assert_string_equal(val(&t, "conns.two.a"), "own");
	assert_string_equal(val(&t, "conns.two.sub.x"), "y");
	/* inherited keys keep the line where they were written */
	assert_int_equal(path_get(&t, "conns.one.b", false)->line, 3);
	assert_true(path_get(&t, "base", true)->referenced);
	assert_false(path_get(&t, "conns", true)->referenced);
	conf_tree_free(&t);

	assert_string_equal(parse(&t, "a : nope { }\n"),
			    "t.conf:1: section 'a' references unknown section 'nope'");
	conf_tree_free(&t);
	assert_string_equal(parse(&t, "a : b { }\nb : a { }\n"),
			    "t.conf:1: section 'a': reference loop");
	conf_tree_free(&t);
	assert_string_equal(parse(&t, "a {\n b : a { }\n}\n"),
			    "t.conf:2: section 'a.b' references its own parent 'a'");
	conf_tree_free(&t);
}

struct err_case {
	const char *text;
	const char *err;
};

static void test_syntax_errors(void **state)
{
	static const struct err_case cases[] = {
		{ "a {\n b = 1\n", "t.conf:1: section 'a' is not closed" },
		{ "a {\n b {\n}\n", "t.conf:1: section 'a' is not closed" },
		{ "a {\n b {\n", "t.conf:2: section 'b' is not closed" },
		{ "}\n", "t.conf:1: unexpected '}' without an open section" },
		{ "a\n\n{\n}\n", "t.conf:1: 'a' is not followed by '=' or '{'" },
		{ "a b = 1\n", "t.conf:1: unexpected 'b' after 'a' (expected '=' or '{')" },
		{ "a\n", "t.conf:1: 'a' is not followed by '=' or '{'" },
		{ "\n\nfoo", "t.conf:3: 'foo' is not followed by '=' or '{'" },
		{ "= 1\n", "t.conf:1: unexpected '='" },
		{ "a = \"open\n", "t.conf:1: unterminated string in value of 'a'" },
		{ "\"a\" = 1\n",
		  "t.conf:1: unexpected string (quotes are only allowed in values)" },
		{ "a { = }\n", "t.conf:1: unexpected '='" },
		{ "a : { }\n", "t.conf:1: unexpected '{' after 'a'" },
		{ "a :\n", "t.conf:1: missing section reference after 'a :'" },
		{ "a , b { }\n", "t.conf:1: unexpected ',' after 'a'" },
		{ "x {\n y {\n  include foo.conf\n }\n}\n",
		  "t.conf:3: include 'foo.conf' not allowed here" },
	};
	struct conf_tree t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = parse(&t, cases[i].text);

		if (strcmp(got, cases[i].err))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].err);
		conf_tree_free(&t);
	}
}

static void test_nul_and_limits(void **state)
{
	struct conf_tree t;
	char *big;
	size_t i, n;
	int err;

	(void)state;
	conf_tree_init(&t);
	err = conf_parse_buf(&t, "a = 1\nb\0 = 2\n", 13, "t.conf", 0);
	assert_int_equal(err, -EINVAL);
	assert_string_equal(t.err, "t.conf:2: NUL byte in file");
	conf_tree_free(&t);

	/* nesting: CONF_MAX_DEPTH sections are fine, one more is not */
	n = (CONF_MAX_DEPTH + 1) * 6 + 16;
	big = calloc(1, n);
	assert_non_null(big);
	for (i = 0; i < CONF_MAX_DEPTH; i++)
		strcat(big, "s {\n");
	for (i = 0; i < CONF_MAX_DEPTH; i++)
		strcat(big, "}\n");
	assert_string_equal(parse(&t, big), "");
	conf_tree_free(&t);
	big[0] = '\0';
	for (i = 0; i <= CONF_MAX_DEPTH; i++)
		strcat(big, "s {\n");
	assert_string_equal(parse(&t, big), "t.conf:17: section 's' nested deeper than 16 levels");
	conf_tree_free(&t);
	free(big);

	/* value length */
	big = malloc(CONF_MAX_VALUE + 16);
	assert_non_null(big);
	memcpy(big, "k = ", 4);
	memset(big + 4, 'v', CONF_MAX_VALUE);
	big[CONF_MAX_VALUE + 4] = '\0';
	assert_string_equal(parse(&t, big), "t.conf:1: value of 'k' longer than 65536 bytes");
	conf_tree_free(&t);
	/* name length */
	memset(big, 'n', CONF_MAX_NAME + 1);
	strcpy(big + CONF_MAX_NAME + 1, " = 1\n");
	assert_true(strncmp(parse(&t, big), "t.conf:1: name 'nnnn", 20) == 0);
	conf_tree_free(&t);
	free(big);
}

static void test_reference_limits(void **state)
{
	struct conf_tree t;
	char *text;
	size_t i, o = 0;

	(void)state;
	/* 17 references on one section */
	text = calloc(1, 4096);
	assert_non_null(text);
	o += (size_t)sprintf(text, "t { k = 1 }\na : t");
	for (i = 0; i < CONF_MAX_REFS; i++)
		o += (size_t)sprintf(text + o, ", t");
	sprintf(text + o, " { }\n");
	assert_string_equal(parse(&t, text), "t.conf:2: section 'a' has more than 16 references");
	conf_tree_free(&t);

	/* templates doubling at each level stop at the node limit, not in a loop */
	o = (size_t)sprintf(text, "l0 { ");
	for (i = 0; i < 40; i++)
		o += (size_t)sprintf(text + o, "k%zu = v ", i);
	o += (size_t)sprintf(text + o, "}\n");
	for (i = 1; i < 16; i++)
		o += (size_t)sprintf(text + o, "l%zu { a : l%zu { }\n b : l%zu { } }\n", i, i - 1,
				     i - 1);
	assert_true(o < 4096);
	{
		const char *e = parse(&t, text);

		if (strncmp(e, "t.conf:", 7) || !strstr(e, ": out of memory or more than 50000 entries"))
			fail_msg("got \"%s\"", e);
	}
	conf_tree_free(&t);
	free(text);
}

static void test_line_interface(void **state)
{
	struct conf_parser p;
	struct conf_tree t;

	(void)state;
	conf_tree_init(&t);
	assert_int_equal(conf_parse_init(&p, &t, "lines", 0), 0);
	assert_int_equal(conf_parse_line(&p, "a {", 3), 0);
	assert_int_equal(conf_parse_line(&p, "b = 1 } c = 2", 13), 0);
	assert_string_equal(t.err, "");
	assert_int_equal(conf_parse_finish(&p), 0);
	conf_parse_free(&p);
	assert_string_equal(val(&t, "a.b"), "1");
	assert_string_equal(val(&t, "c"), "2");
	conf_tree_free(&t);

	/* after an error every call fails and nothing leaks */
	conf_tree_init(&t);
	assert_int_equal(conf_parse_init(&p, &t, "lines", 0), 0);
	assert_int_equal(conf_parse_line(&p, "a { b = \"x", 10), 0);
	assert_int_equal(conf_parse_line(&p, "y\" }", 4), 0);
	assert_int_equal(conf_parse_line(&p, "}", 1), -EINVAL);
	assert_int_equal(conf_parse_line(&p, "c = 1", 5), -EINVAL);
	assert_int_equal(conf_parse_finish(&p), -EINVAL);
	conf_parse_free(&p);
	assert_string_equal(t.err, "lines:3: unexpected '}' without an open section");
	assert_string_equal(val(&t, "a.b"), "x\ny");
	conf_tree_free(&t);
}

static const char *parse_file(struct conf_tree *t, const char *name)
{
	char path[256];
	int err;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	conf_tree_init(t);
	err = conf_parse_file(t, path, 0);
	if (!err)
		err = conf_tree_resolve(t);
	assert_true((err != 0) == (t->err[0] != '\0'));
	return t->err;
}

/* "tmpdir/" prefix stripped, so expected messages stay readable */
static const char *rel(const char *msg)
{
	static char buf[CONF_ERR_MAX];
	const char *p;
	size_t o = 0, l = strlen(tmpdir);

	for (p = msg; *p && o + 1 < sizeof(buf);) {
		if (!strncmp(p, tmpdir, l) && p[l] == '/') {
			p += l + 1;
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o] = '\0';
	return buf;
}

static void test_include(void **state)
{
	const struct conf_file *f;
	struct conf_tree t;
	char dir[128];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/conf.d", tmpdir);
	mkdir(dir, 0700);
	write_file("main.conf", "connections {\n"
				"  include conf.d/*.conf # all of them\n"
				"}\n"
				"include   \"extra file.conf\"\n"
				"include nothing/*.conf\n"
				"x = 1\n");
	write_file("conf.d/a.conf", "a {\n  k = 1\n}\n");
	write_file("conf.d/b.conf", "\nb {\n  k = 2\n  include ../deep.conf\n}\n");
	write_file("deep.conf", "deep = yes\n");
	write_file("extra file.conf", "extra = 1\n");
	assert_string_equal(parse_file(&t, "main.conf"), "");
	assert_string_equal(val(&t, "connections.a.k"), "1");
	assert_string_equal(val(&t, "connections.b.k"), "2");
	assert_string_equal(val(&t, "connections.b.deep"), "yes");
	assert_string_equal(val(&t, "extra"), "1");
	assert_string_equal(val(&t, "x"), "1");
	assert_int_equal(path_get(&t, "connections.b.k", false)->line, 3);
	assert_string_equal(rel(path_get(&t, "connections.b.k", false)->file->path),
			    "conf.d/b.conf");
	assert_int_equal(t.nfiles, 5);
	for (f = t.files; f; f = f->next)
		assert_int_equal(f->mode & 0777, 0600);
	conf_tree_free(&t);

	/* errors inside included files name that file and its line */
	write_file("conf.d/b.conf", "\nb {\n  k = 2\n  oops\n}\n");
	assert_string_equal(rel(parse_file(&t, "main.conf")),
			    "conf.d/b.conf:4: 'oops' is not followed by '=' or '{'");
	conf_tree_free(&t);
	/* an included file must close what it opens */
	write_file("conf.d/b.conf", "b {\n");
	assert_string_equal(rel(parse_file(&t, "main.conf")),
			    "conf.d/b.conf:1: section 'b' is not closed");
	conf_tree_free(&t);
	write_file("conf.d/b.conf", "}\n");
	assert_string_equal(rel(parse_file(&t, "main.conf")),
			    "conf.d/b.conf:1: unexpected '}' without an open section");
	conf_tree_free(&t);
	write_file("conf.d/b.conf", "b = 1\n");

	/* a missing plain file is an error, an empty glob is not */
	write_file("missing.conf", "a = 1\n\ninclude does-not-exist.conf\n");
	assert_string_equal(
		rel(parse_file(&t, "missing.conf")),
		"missing.conf:3: include 'does-not-exist.conf': No such file or directory");
	conf_tree_free(&t);
	write_file("empty.conf", "include\t\n");
	assert_string_equal(rel(parse_file(&t, "empty.conf")),
			    "empty.conf:1: include without a file name");
	conf_tree_free(&t);
	/* "include = x" is a key */
	write_file("key.conf", "include = x\n");
	assert_string_equal(parse_file(&t, "key.conf"), "");
	assert_string_equal(val(&t, "include"), "x");
	conf_tree_free(&t);

	/* self inclusion stops at the depth limit */
	write_file("loop.conf", "a = 1\ninclude loop.conf\n");
	assert_string_equal(rel(parse_file(&t, "loop.conf")),
			    "loop.conf:2: include 'loop.conf' nested deeper than 8 files");
	conf_tree_free(&t);

	/* a directory is not a config file */
	assert_string_equal(rel(parse_file(&t, "conf.d")), "conf.d: not a regular file");
	conf_tree_free(&t);
	assert_string_equal(rel(parse_file(&t, "nope.conf")),
			    "nope.conf: No such file or directory");
	conf_tree_free(&t);
}

static void test_secret_marking(void **state)
{
	struct conf_tree t;

	(void)state;
	write_file("s1.conf", "secrets { ike { secret = x } }\n");
	write_file("s2.conf", "include s1.conf\nother = 1\n");
	assert_string_equal(parse_file(&t, "s2.conf"), "");
	assert_false(t.files->has_secret);
	assert_true(t.files->next->has_secret);
	conf_tree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_and_limits),
		cmocka_unit_test(test_reference_limits),
		cmocka_unit_test(test_line_interface),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_secret_marking),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
