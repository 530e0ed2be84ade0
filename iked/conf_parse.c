// SPDX-License-Identifier: GPL-2.0-only
/*
 * strongSwan settings syntax: tokenizer and tree builder. See conf_parse.h
 * for the grammar; the token rules follow strongSwan's settings_lexer.l so a
 * file charon accepts reads the same here.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_parse.h"
#include "log.h"

/* Printable, bounded copy of @s for error messages. */
static const char *conf_quote(const char *s, size_t n, char *buf, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\'') {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
			continue;
		}
		buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static void conf_perr_at(struct conf_parser *p, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void conf_perr_at(struct conf_parser *p, unsigned int line, const char *fmt, ...)
{
	struct conf_tree *t = p->tree;
	va_list ap;
	int n;

	p->failed = true;
	if (t->err[0])
		return;
	n = snprintf(t->err, sizeof(t->err), "%s:%u: ", p->file->path, line);
	if (n < 0 || (size_t)n >= sizeof(t->err))
		return;
	va_start(ap, fmt);
	vsnprintf(t->err + n, sizeof(t->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

#define conf_perr(p, ...) conf_perr_at(p, (p)->line, __VA_ARGS__)

static int conf_sb_add(struct conf_strbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > CONF_MAX_VALUE)
		return -E2BIG;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 64;
		char *nb;

		while (cap < sb->len + n + 1)
			cap *= 2;
		nb = malloc(cap);
		if (!nb)
			return -ENOMEM;
		/* The old buffer may hold a secret: move it, then scrub. */
		if (sb->buf) {
			memcpy(nb, sb->buf, sb->len);
			explicit_bzero(sb->buf, sb->cap);
			free(sb->buf);
		}
		sb->buf = nb;
		sb->cap = cap;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

static void conf_sb_reset(struct conf_strbuf *sb)
{
	if (sb->buf)
		explicit_bzero(sb->buf, sb->cap);
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static void conf_sb_free(struct conf_strbuf *sb)
{
	conf_sb_reset(sb);
	free(sb->buf);
	sb->buf = NULL;
	sb->cap = 0;
}

void conf_tree_init(struct conf_tree *tree)
{
	memset(tree, 0, sizeof(*tree));
	tree->root.section = true;
}

static void conf_node_free_children(struct conf_node *n)
{
	struct conf_node *c = n->head, *next;
	unsigned int i;

	for (; c; c = next) {
		next = c->next;
		conf_node_free_children(c);
		if (c->value) {
			explicit_bzero(c->value, strlen(c->value));
			free(c->value);
		}
		for (i = 0; i < c->nrefs; i++)
			free(c->refs[i]);
		free(c->refs);
		free(c->name);
		free(c);
	}
	n->head = n->tail = NULL;
}

void conf_tree_free(struct conf_tree *tree)
{
	struct conf_file *f, *next;

	conf_node_free_children(&tree->root);
	for (f = tree->files; f; f = next) {
		next = f->next;
		free(f->path);
		free(f);
	}
	tree->files = NULL;
}

struct conf_node *conf_node_get(const struct conf_node *sec, const char *name, bool section)
{
	struct conf_node *c;

	if (!sec)
		return NULL;
	for (c = sec->head; c; c = c->next)
		if (c->section == section && !strcmp(c->name, name))
			return c;
	return NULL;
}

void conf_node_path(const struct conf_node *n, char *buf, size_t len)
{
	const struct conf_node *chain[CONF_MAX_DEPTH * 4];
	unsigned int k = 0;
	size_t o = 0;

	buf[0] = '\0';
	for (; n && n->parent && k < sizeof(chain) / sizeof(chain[0]); n = n->parent)
		chain[k++] = n;
	while (k-- > 0 && o < len) {
		/* chain[0..k] were filled by the loop above */
		// cppcheck-suppress uninitvar
		int w = snprintf(buf + o, len - o, "%s%s", o ? "." : "", chain[k]->name);

		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static struct conf_node *conf_node_new(struct conf_tree *t, struct conf_node *parent,
				       const char *name, bool section)
{
	struct conf_node *n;

	if (t->nnodes >= CONF_MAX_NODES)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->section = section;
	n->parent = parent;
	if (parent->tail)
		parent->tail->next = n;
	else
		parent->head = n;
	parent->tail = n;
	t->nnodes++;
	return n;
}

static struct conf_file *conf_file_add(struct conf_tree *t, const char *path, mode_t mode)
{
	struct conf_file *f, **pp;

	if (t->nfiles >= CONF_MAX_FILES)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->mode = mode;
	for (pp = &t->files; *pp; pp = &(*pp)->next)
		;
	*pp = f;
	t->nfiles++;
	return f;
}

static void conf_parser_setup(struct conf_parser *p, struct conf_tree *tree, struct conf_file *file,
			      unsigned int flags)
{
	memset(p, 0, sizeof(*p));
	p->tree = tree;
	p->file = file;
	p->flags = flags;
	p->stack[0] = &tree->root;
}

int conf_parse_init(struct conf_parser *p, struct conf_tree *tree, const char *file_name,
		    unsigned int flags)
{
	struct conf_file *f = conf_file_add(tree, file_name, 0);

	memset(p, 0, sizeof(*p));
	if (!f) {
		p->failed = true;
		snprintf(tree->err, sizeof(tree->err), "%s: too many files or out of memory",
			 file_name);
		return -ENOMEM;
	}
	conf_parser_setup(p, tree, f, flags);
	return 0;
}

static void conf_parse_clear_pending(struct conf_parser *p)
{
	unsigned int i;

	free(p->name);
	p->name = NULL;
	for (i = 0; i < p->nrefs; i++)
		free(p->refs[i]);
	p->nrefs = 0;
}

void conf_parse_free(struct conf_parser *p)
{
	conf_parse_clear_pending(p);
	conf_sb_free(&p->val);
}

static int conf_oom(struct conf_parser *p)
{
	conf_perr(p, "out of memory or more than %d entries", CONF_MAX_NODES);
	return -ENOMEM;
}

static int conf_open_section(struct conf_parser *p)
{
	struct conf_node *parent = p->stack[p->depth], *n;
	char q[CONF_MAX_NAME + 16];
	unsigned int i;

	if (p->depth >= CONF_MAX_DEPTH) {
		conf_perr(p, "section '%s' nested deeper than %d levels",
			  conf_quote(p->name, strlen(p->name), q, sizeof(q)), CONF_MAX_DEPTH);
		return -EINVAL;
	}
	n = conf_node_get(parent, p->name, true);
	if (!n) {
		n = conf_node_new(p->tree, parent, p->name, true);
		if (!n)
			return conf_oom(p);
		n->file = p->file;
		n->line = p->name_line;
	}
	if (p->nrefs) {
		char **refs;

		if (n->nrefs + p->nrefs > CONF_MAX_REFS) {
			conf_perr(p, "section '%s' has more than %d references",
				  conf_quote(p->name, strlen(p->name), q, sizeof(q)),
				  CONF_MAX_REFS);
			return -EINVAL;
		}
		refs = realloc(n->refs, (n->nrefs + p->nrefs) * sizeof(*refs));
		if (!refs)
			return conf_oom(p);
		n->refs = refs;
		for (i = 0; i < p->nrefs; i++) {
			n->refs[n->nrefs++] = p->refs[i];
			p->refs[i] = NULL;
		}
		p->nrefs = 0;
		n->refs_file = p->file;
		n->refs_line = p->name_line;
	}
	p->depth++;
	p->stack[p->depth] = n;
	p->open_line[p->depth] = p->name_line;
	conf_parse_clear_pending(p);
	p->state = CONF_PS_STMT;
	return 0;
}

static int conf_add_setting(struct conf_parser *p)
{
	struct conf_node *sec = p->stack[p->depth], *n;
	char *value;

	value = strdup(p->val.buf ? p->val.buf : "");
	if (!value)
		return conf_oom(p);
	conf_sb_reset(&p->val);
	n = conf_node_get(sec, p->name, false);
	if (n) {
		/* strongSwan: a later definition replaces the value */
		explicit_bzero(n->value, strlen(n->value));
		free(n->value);
	} else {
		n = conf_node_new(p->tree, sec, p->name, false);
		if (!n) {
			explicit_bzero(value, strlen(value));
			free(value);
			return conf_oom(p);
		}
	}
	n->value = value;
	n->file = p->file;
	n->line = p->name_line;
	if (!strcmp(p->name, "secret"))
		p->file->has_secret = true;
	conf_parse_clear_pending(p);
	p->state = CONF_PS_STMT;
	return 0;
}

static bool conf_has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int conf_parse_file_at(struct conf_tree *tree, const char *path, unsigned int flags,
			      struct conf_parser *outer);

static int conf_do_include(struct conf_parser *p)
{
	char q[128], *pattern = NULL;
	const char *pat = p->val.buf ? p->val.buf : "";
	const char *slash;
	glob_t g;
	size_t i;
	int err = 0, rc;

	if (p->flags & CONF_PARSE_NO_INCLUDE) {
		conf_perr(p, "include '%s' not allowed here",
			  conf_quote(pat, strlen(pat), q, sizeof(q)));
		return -EINVAL;
	}
	if (!*pat) {
		conf_perr(p, "include without a file name");
		return -EINVAL;
	}
	if (p->incdepth >= CONF_MAX_INCLUDE) {
		conf_perr(p, "include '%s' nested deeper than %d files",
			  conf_quote(pat, strlen(pat), q, sizeof(q)), CONF_MAX_INCLUDE);
		return -ELOOP;
	}
	/* Relative patterns are relative to the including file, as in strongSwan. */
	slash = strrchr(p->file->path, '/');
	if (pat[0] != '/' && slash) {
		if (asprintf(&pattern, "%.*s/%s", (int)(slash - p->file->path), p->file->path,
			     pat) < 0)
			pattern = NULL;
	} else {
		pattern = strdup(pat);
	}
	if (!pattern)
		return conf_oom(p);

	rc = glob(pattern, 0, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		if (conf_has_glob(pattern)) {
			log_debug("conf: include '%s' matches no file", pattern);
		} else {
			conf_perr(p, "include '%s': %s", conf_quote(pat, strlen(pat), q, sizeof(q)),
				  strerror(ENOENT));
			err = -ENOENT;
		}
		goto out;
	}
	if (rc) {
		conf_perr(p, "include '%s': %s", conf_quote(pat, strlen(pat), q, sizeof(q)),
			  rc == GLOB_NOSPACE ? strerror(ENOMEM) : "read error");
		err = rc == GLOB_NOSPACE ? -ENOMEM : -EIO;
		goto out;
	}
	for (i = 0; i < g.gl_pathc && !err; i++)
		err = conf_parse_file_at(p->tree, g.gl_pathv[i], p->flags, p);
	if (err)
		p->failed = true;
	globfree(&g);
out:
	free(pattern);
	conf_sb_reset(&p->val);
	p->state = CONF_PS_STMT;
	return err;
}

static bool conf_is_name_char(char c)
{
	return !strchr("#{}=:,\"\r\t ", c);
}

/* The INITIAL lexer state: names, braces, '=', ':' and ','. */
static int conf_lex_initial(struct conf_parser *p, const char *line, size_t len, size_t *pos)
{
	char q[CONF_MAX_NAME + 16], q2[CONF_MAX_NAME + 16];
	size_t i = *pos, start;
	char c = line[i];
	char *tok;

	switch (c) {
	case ' ':
	case '\t':
	case '\r':
		*pos = i + 1;
		return 0;
	case '{':
		if (p->state != CONF_PS_NAME && p->state != CONF_PS_NAME_NL &&
		    p->state != CONF_PS_REF_SEP)
			break;
		*pos = i + 1;
		return conf_open_section(p);
	case '}':
		if (p->state != CONF_PS_STMT)
			break;
		if (p->depth <= p->base) {
			conf_perr(p, "unexpected '}' without an open section");
			return -EINVAL;
		}
		p->depth--;
		*pos = i + 1;
		return 0;
	case '=':
		if (p->state != CONF_PS_NAME)
			break;
		p->state = CONF_PS_VALUE;
		p->value_parts = false;
		p->in_string = false;
		conf_sb_reset(&p->val);
		*pos = i + 1;
		return 0;
	case ':':
		if (p->state != CONF_PS_NAME)
			break;
		p->state = CONF_PS_REF;
		*pos = i + 1;
		return 0;
	case ',':
		if (p->state != CONF_PS_REF_SEP)
			break;
		p->state = CONF_PS_REF;
		*pos = i + 1;
		return 0;
	case '"':
		conf_perr(p, "unexpected string (quotes are only allowed in values)");
		return -EINVAL;
	default:
		goto name;
	}
	if (p->state == CONF_PS_NAME_NL)
		conf_perr_at(p, p->name_line, "'%s' is not followed by '=' or '{'",
			     conf_quote(p->name, strlen(p->name), q, sizeof(q)));
	else if (p->name)
		conf_perr(p, "unexpected '%c' after '%s'", c,
			  conf_quote(p->name, strlen(p->name), q, sizeof(q)));
	else
		conf_perr(p, "unexpected '%c'", c);
	return -EINVAL;

name:
	start = i;
	while (i < len && line[i] && conf_is_name_char(line[i]))
		i++;
	if (i - start > CONF_MAX_NAME) {
		conf_perr(p, "name '%s' longer than %d characters",
			  conf_quote(line + start, i - start, q, sizeof(q)), CONF_MAX_NAME);
		return -EINVAL;
	}
	if (i == start) {
		conf_perr(p, "NUL byte in file");
		return -EINVAL;
	}
	*pos = i;
	if (p->state == CONF_PS_STMT && i - start == 7 && !memcmp(line + start, "include", 7) &&
	    i < len && (line[i] == ' ' || line[i] == '\t')) {
		size_t j = i;

		while (j < len && (line[j] == ' ' || line[j] == '\t'))
			j++;
		if (j >= len || line[j] != '=') {
			p->state = CONF_PS_INCLUDE;
			p->in_string = false;
			p->name_line = p->line;
			conf_sb_reset(&p->val);
			*pos = j;
			return 0;
		}
	}
	tok = strndup(line + start, i - start);
	if (!tok)
		return conf_oom(p);
	switch (p->state) {
	case CONF_PS_STMT:
		p->name = tok;
		p->name_line = p->line;
		p->state = CONF_PS_NAME;
		return 0;
	case CONF_PS_REF:
		if (p->nrefs >= CONF_MAX_REFS) {
			conf_perr(p, "section '%s' has more than %d references",
				  conf_quote(p->name, strlen(p->name), q, sizeof(q)),
				  CONF_MAX_REFS);
			free(tok);
			return -EINVAL;
		}
		p->refs[p->nrefs++] = tok;
		p->state = CONF_PS_REF_SEP;
		return 0;
	case CONF_PS_NAME_NL:
		conf_perr_at(p, p->name_line, "'%s' is not followed by '=' or '{'",
			     conf_quote(p->name, strlen(p->name), q, sizeof(q)));
		free(tok);
		return -EINVAL;
	default:
		conf_perr(p, "unexpected '%s' after '%s' (expected '=' or '{')",
			  conf_quote(tok, strlen(tok), q2, sizeof(q2)),
			  conf_quote(p->name, strlen(p->name), q, sizeof(q)));
		free(tok);
		return -EINVAL;
	}
}

/* Inside "...": strongSwan's escapes \n \r \t, "\<eol>" joins lines, "\x" is x. */
static int conf_lex_string(struct conf_parser *p, const char *line, size_t len, size_t *pos)
{
	size_t i = *pos;
	char c = line[i], out;

	if (c == '"') {
		p->in_string = false;
		*pos = i + 1;
		if (p->state == CONF_PS_INCLUDE)
			return conf_do_include(p);
		return 0;
	}
	if (c == '\r') {
		*pos = i + 1;
		return 0;
	}
	if (c == '\\') {
		if (i + 1 >= len) {
			p->continued = true;
			*pos = i + 1;
			return 0;
		}
		c = line[i + 1];
		out = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
		*pos = i + 2;
		if (out == '\r' && c == '\r' && i + 2 >= len) {
			/* backslash before a CRLF line end */
			p->continued = true;
			return 0;
		}
		return conf_sb_add(&p->val, &out, 1);
	}
	*pos = i + 1;
	return conf_sb_add(&p->val, &c, 1);
}

static int conf_too_long(struct conf_parser *p, int err)
{
	char q[CONF_MAX_NAME + 16];

	if (err == -E2BIG)
		conf_perr_at(p, p->name_line, "value of '%s' longer than %d bytes",
			     conf_quote(p->name ? p->name : "include",
					strlen(p->name ? p->name : "include"), q, sizeof(q)),
			     CONF_MAX_VALUE);
	else
		conf_oom(p);
	return err;
}

/* The val state: parts up to '#', '}' or the end of the line. */
static int conf_lex_value(struct conf_parser *p, const char *line, size_t len, size_t *pos,
			  bool *stop)
{
	size_t i = *pos, start;
	char c = line[i];
	int err;

	switch (c) {
	case ' ':
	case '\t':
	case '\r':
		*pos = i + 1;
		return 0;
	case '#':
		*stop = true;
		return conf_add_setting(p);
	case '}':
		/* ends the value; the brace is read again in the INITIAL state */
		return conf_add_setting(p);
	case '"':
		if (p->value_parts && (err = conf_sb_add(&p->val, " ", 1)))
			return conf_too_long(p, err);
		p->value_parts = true;
		p->in_string = true;
		*pos = i + 1;
		return 0;
	}
	start = i;
	while (i < len && line[i] && !strchr("#}\"\r\t ", line[i]))
		i++;
	if (i == start) {
		conf_perr(p, "NUL byte in file");
		return -EINVAL;
	}
	if (p->value_parts && (err = conf_sb_add(&p->val, " ", 1)))
		return conf_too_long(p, err);
	p->value_parts = true;
	if ((err = conf_sb_add(&p->val, line + start, i - start)))
		return conf_too_long(p, err);
	*pos = i;
	return 0;
}

/* The inc state: a pattern up to whitespace, '#', '}' or a quoted string. */
static int conf_lex_include(struct conf_parser *p, const char *line, size_t len, size_t *pos,
			    bool *stop)
{
	size_t i = *pos;
	char c = line[i];
	int err;

	switch (c) {
	case '\r':
		*pos = i + 1;
		return 0;
	case ' ':
	case '\t':
		*pos = i + 1;
		return conf_do_include(p);
	case '#':
		*stop = true;
		return conf_do_include(p);
	case '}':
		return conf_do_include(p);
	case '"':
		p->in_string = true;
		*pos = i + 1;
		return 0;
	case '\\':
		if (i + 1 < len && strchr("\"#} ", line[i + 1])) {
			i++;
			c = line[i];
		}
		break;
	case '\0':
		conf_perr(p, "NUL byte in file");
		return -EINVAL;
	}
	*pos = i + 1;
	if ((err = conf_sb_add(&p->val, &c, 1)))
		return conf_too_long(p, err);
	return 0;
}

int conf_parse_line(struct conf_parser *p, const char *line, size_t len)
{
	char q[CONF_MAX_NAME + 16];
	bool stop = false;
	size_t pos = 0;
	int err = 0;

	if (p->failed)
		return -EINVAL;
	p->line++;
	p->continued = false;
	while (pos < len && !stop && !err) {
		if (line[pos] == '\0') {
			conf_perr(p, "NUL byte in file");
			return -EINVAL;
		}
		if (p->in_string) {
			err = conf_lex_string(p, line, len, &pos);
			if (err == -E2BIG || err == -ENOMEM)
				return conf_too_long(p, err);
			continue;
		}
		switch (p->state) {
		case CONF_PS_VALUE:
			err = conf_lex_value(p, line, len, &pos, &stop);
			break;
		case CONF_PS_INCLUDE:
			err = conf_lex_include(p, line, len, &pos, &stop);
			break;
		default:
			if (line[pos] == '#') {
				stop = true;
				break;
			}
			err = conf_lex_initial(p, line, len, &pos);
			break;
		}
	}
	if (err) {
		p->failed = true;
		return err;
	}

	/* end of line */
	if (p->in_string) {
		if (!p->continued && (err = conf_sb_add(&p->val, "\n", 1)))
			return conf_too_long(p, err);
		return 0;
	}
	switch (p->state) {
	case CONF_PS_VALUE:
		err = conf_add_setting(p);
		break;
	case CONF_PS_INCLUDE:
		err = conf_do_include(p);
		break;
	case CONF_PS_NAME:
	case CONF_PS_REF_SEP:
		/* strongSwan allows exactly one newline between a name and '{' */
		p->state = CONF_PS_NAME_NL;
		break;
	case CONF_PS_NAME_NL:
		conf_perr_at(p, p->name_line, "'%s' is not followed by '=' or '{'",
			     conf_quote(p->name, strlen(p->name), q, sizeof(q)));
		err = -EINVAL;
		break;
	case CONF_PS_REF:
		conf_perr(p, "missing section reference after '%s :'",
			  conf_quote(p->name, strlen(p->name), q, sizeof(q)));
		err = -EINVAL;
		break;
	case CONF_PS_STMT:
		break;
	}
	if (err)
		p->failed = true;
	return err;
}

int conf_parse_finish(struct conf_parser *p)
{
	char q[CONF_MAX_NAME + 16];
	int err = 0;

	if (p->failed)
		return -EINVAL;
	if (p->in_string) {
		conf_perr_at(p, p->name_line, "unterminated string in value of '%s'",
			     p->state == CONF_PS_INCLUDE ?
				     "include" :
				     conf_quote(p->name, strlen(p->name), q, sizeof(q)));
		return -EINVAL;
	}
	switch (p->state) {
	case CONF_PS_VALUE:
		err = conf_add_setting(p);
		break;
	case CONF_PS_INCLUDE:
		err = conf_do_include(p);
		break;
	case CONF_PS_STMT:
		break;
	default:
		conf_perr_at(p, p->name_line, "'%s' is not followed by '=' or '{'",
			     conf_quote(p->name, strlen(p->name), q, sizeof(q)));
		err = -EINVAL;
		break;
	}
	if (!err && p->depth > p->base) {
		const char *name = p->stack[p->depth]->name;

		conf_perr_at(p, p->open_line[p->depth], "section '%s' is not closed",
			     conf_quote(name, strlen(name), q, sizeof(q)));
		err = -EINVAL;
	}
	if (err)
		p->failed = true;
	return err;
}

static int conf_parse_lines(struct conf_parser *p, const char *buf, size_t len)
{
	const char *s = buf, *end = buf + len, *nl;
	int err;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		err = conf_parse_line(p, s, (size_t)(nl - s));
		if (err)
			return err;
		s = nl + 1;
	}
	return conf_parse_finish(p);
}

int conf_parse_buf(struct conf_tree *tree, const char *buf, size_t len, const char *file_name,
		   unsigned int flags)
{
	struct conf_parser p;
	int err;

	err = conf_parse_init(&p, tree, file_name, flags);
	if (!err)
		err = conf_parse_lines(&p, buf, len);
	conf_parse_free(&p);
	return err;
}

/* Read a whole (bounded, regular) file; the buffer is NUL terminated. */
static int conf_read_file(const char *path, char **out, size_t *outlen, mode_t *mode)
{
	struct stat st;
	size_t off = 0;
	char *buf = NULL;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EISDIR;
		goto out;
	}
	if (st.st_size > CONF_MAX_FILE_SIZE) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	*mode = st.st_mode;
	*out = buf;
	*outlen = off;
	buf = NULL;
out:
	if (buf) {
		explicit_bzero(buf, off);
		free(buf);
	}
	close(fd);
	return err;
}

static int conf_parse_file_at(struct conf_tree *tree, const char *path, unsigned int flags,
			      struct conf_parser *outer)
{
	struct conf_parser p;
	struct conf_file *f;
	size_t len = 0;
	char *buf = NULL;
	mode_t mode = 0;
	int err;

	err = conf_read_file(path, &buf, &len, &mode);
	if (err) {
		const char *why = err == -EISDIR ? "not a regular file" :
				  err == -EFBIG	 ? "file too large" :
						   strerror(-err);

		if (outer)
			conf_perr(outer, "include '%s': %s", path, why);
		else if (!tree->err[0])
			snprintf(tree->err, sizeof(tree->err), "%s: %s", path, why);
		return err;
	}
	f = conf_file_add(tree, path, mode);
	if (!f) {
		if (!tree->err[0])
			snprintf(tree->err, sizeof(tree->err), "%s: more than %d files", path,
				 CONF_MAX_FILES);
		err = -EMFILE;
		goto out;
	}
	conf_parser_setup(&p, tree, f, flags);
	if (outer) {
		/* The included file continues the includer's current section. */
		memcpy(p.stack, outer->stack, sizeof(p.stack));
		p.depth = p.base = outer->depth;
		p.incdepth = outer->incdepth + 1;
	}
	err = conf_parse_lines(&p, buf, len);
	conf_parse_free(&p);
out:
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
	return err;
}

int conf_parse_file(struct conf_tree *tree, const char *path, unsigned int flags)
{
	return conf_parse_file_at(tree, path, flags, NULL);
}

/* References: copy what @dst lacks from its templates, recursively. */

static int conf_resolve_section(struct conf_tree *t, struct conf_node *n, unsigned int lvl);

static void conf_terr(struct conf_tree *t, const struct conf_file *f, unsigned int line,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void conf_terr(struct conf_tree *t, const struct conf_file *f, unsigned int line,
		      const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->err[0])
		return;
	n = snprintf(t->err, sizeof(t->err), "%s:%u: ", f ? f->path : "?", line);
	if (n < 0 || (size_t)n >= sizeof(t->err))
		return;
	va_start(ap, fmt);
	vsnprintf(t->err + n, sizeof(t->err) - (size_t)n, fmt, ap);
	va_end(ap);
}

static int conf_merge(struct conf_tree *t, struct conf_node *dst, const struct conf_node *src,
		      unsigned int lvl)
{
	struct conf_node *c, *d;
	int err;

	if (lvl > 4 * CONF_MAX_DEPTH) {
		conf_terr(t, src->file, src->line, "section references nested too deeply");
		return -ELOOP;
	}
	for (c = src->head; c; c = c->next) {
		if (!c->section) {
			if (conf_node_get(dst, c->name, false))
				continue;
			d = conf_node_new(t, dst, c->name, false);
			if (!d || !(d->value = strdup(c->value)))
				goto oom;
			d->file = c->file;
			d->line = c->line;
			continue;
		}
		if (c->nrefs && (err = conf_resolve_section(t, c, lvl + 1)))
			return err;
		d = conf_node_get(dst, c->name, true);
		if (!d) {
			d = conf_node_new(t, dst, c->name, true);
			if (!d)
				goto oom;
			d->file = c->file;
			d->line = c->line;
		}
		if (d == c || (err = conf_merge(t, d, c, lvl + 1)))
			return d == c ? -ELOOP : err;
	}
	return 0;
oom:
	conf_terr(t, c->file, c->line, "out of memory or more than %d entries", CONF_MAX_NODES);
	return -ENOMEM;
}

static struct conf_node *conf_lookup_path(struct conf_tree *t, const char *path)
{
	struct conf_node *n = &t->root;
	char part[CONF_MAX_NAME + 1];
	const char *s = path, *dot;
	size_t l;

	while (n && *s) {
		dot = strchr(s, '.');
		l = dot ? (size_t)(dot - s) : strlen(s);
		if (!l || l > CONF_MAX_NAME)
			return NULL;
		memcpy(part, s, l);
		part[l] = '\0';
		n = conf_node_get(n, part, true);
		s = dot ? dot + 1 : s + l;
	}
	return n == &t->root ? NULL : n;
}

static int conf_resolve_section(struct conf_tree *t, struct conf_node *n, unsigned int lvl)
{
	char q[CONF_MAX_NAME + 16], path[512];
	struct conf_node *r, *a;
	unsigned int i;
	int err;

	if (n->resolved)
		return 0;
	conf_node_path(n, path, sizeof(path));
	if (n->resolving || lvl > 4 * CONF_MAX_DEPTH) {
		conf_terr(t, n->refs_file, n->refs_line, "section '%s': reference loop", path);
		return -ELOOP;
	}
	n->resolving = true;
	for (i = 0; i < n->nrefs; i++) {
		r = conf_lookup_path(t, n->refs[i]);
		if (!r) {
			conf_terr(t, n->refs_file, n->refs_line,
				  "section '%s' references unknown section '%s'", path,
				  conf_quote(n->refs[i], strlen(n->refs[i]), q, sizeof(q)));
			return -ENOENT;
		}
		for (a = n; a; a = a->parent) {
			if (a == r) {
				conf_terr(t, n->refs_file, n->refs_line,
					  "section '%s' references its own parent '%s'", path,
					  conf_quote(n->refs[i], strlen(n->refs[i]), q, sizeof(q)));
				return -ELOOP;
			}
		}
		if (r->nrefs && (err = conf_resolve_section(t, r, lvl + 1)))
			return err;
		r->referenced = true;
		err = conf_merge(t, n, r, lvl + 1);
		if (err) {
			if (err == -ELOOP)
				conf_terr(t, n->refs_file, n->refs_line,
					  "section '%s': reference loop", path);
			return err;
		}
	}
	n->resolving = false;
	n->resolved = true;
	return 0;
}

static int conf_resolve_walk(struct conf_tree *t, struct conf_node *n, unsigned int lvl)
{
	struct conf_node *c;
	int err;

	if (lvl > 8 * CONF_MAX_DEPTH)
		return -ELOOP;
	for (c = n->head; c; c = c->next) {
		if (!c->section)
			continue;
		if (c->nrefs && (err = conf_resolve_section(t, c, 0)))
			return err;
		if ((err = conf_resolve_walk(t, c, lvl + 1)))
			return err;
	}
	return 0;
}

int conf_tree_resolve(struct conf_tree *tree)
{
	return conf_resolve_walk(tree, &tree->root, 0);
}
