/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * strongSwan "settings" syntax (swanctl.conf, strongswan.conf) into a tree.
 *
 *   name {                       section; "name" may be followed by one
 *       key = value to eol       newline before "{"
 *       key = "quoted\tstring"   value parts are joined by one space
 *       include conf.d/x.conf    relative to the including file, at any level
 *   }
 *   conn : tmpl.base, other {    section references (strongSwan 5.7+)
 *   }
 *
 * A value ends at '#', '}' or the end of the line (unless inside quotes).
 * A repeated key replaces the earlier value; a repeated section is merged
 * into the first one (both as strongSwan does). The parser is a state
 * machine fed one line at a time (conf_parse_init/line/finish) so the fuzzer
 * and the unit tests drive it without files. Sizes and nesting are bounded.
 *
 * Errors are "file:line: message" with the offending token quoted, left in
 * conf_tree.err; functions return 0 or -errno.
 */
#ifndef XIKED_CONF_PARSE_H
#define XIKED_CONF_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONF_MAX_DEPTH	   16 /* nested sections */
#define CONF_MAX_INCLUDE   8 /* nested includes */
#define CONF_MAX_FILES	   256 /* files read in total */
#define CONF_MAX_FILE_SIZE (1 << 20)
#define CONF_MAX_VALUE	   (64 * 1024)
#define CONF_MAX_NAME	   256
#define CONF_MAX_NODES	   50000
#define CONF_MAX_REFS	   16 /* references per section */
#define CONF_ERR_MAX	   512

/* One file that contributed to the tree. */
struct conf_file {
	struct conf_file *next;
	char *path;
	mode_t mode; /* from fstat() of the open file */
	bool has_secret; /* defines a key named "secret" */
};

struct conf_node {
	struct conf_node *next; /* sibling, in order of first appearance */
	struct conf_node *parent;
	struct conf_node *head, *tail; /* children (sections only) */
	char *name;
	char *value; /* NULL for sections */
	const struct conf_file *file; /* where it was (last) defined */
	unsigned int line;
	bool section;
	bool referenced; /* some section inherits from it */
	bool resolving, resolved; /* reference resolution */
	char **refs; /* dotted paths from the root */
	unsigned int nrefs;
	unsigned int refs_line;
	const struct conf_file *refs_file;
};

struct conf_tree {
	struct conf_node root;
	struct conf_file *files;
	unsigned int nfiles;
	unsigned int nnodes;
	char err[CONF_ERR_MAX];
};

enum conf_parse_flags {
	CONF_PARSE_NO_INCLUDE = 1 << 0, /* "include" is an error (fuzzing) */
};

enum conf_pstate {
	CONF_PS_STMT, /* expecting a name, '}' or end of line */
	CONF_PS_NAME, /* got NAME, expecting '=', '{' or ':' */
	CONF_PS_NAME_NL, /* NAME then one newline: only '{' may follow */
	CONF_PS_REF, /* after ':' or ',': expecting a reference */
	CONF_PS_REF_SEP, /* after a reference: ',' or '{' */
	CONF_PS_VALUE, /* after '=' */
	CONF_PS_INCLUDE, /* after "include " */
};

struct conf_strbuf {
	char *buf;
	size_t len, cap;
};

struct conf_parser {
	struct conf_tree *tree;
	struct conf_file *file;
	unsigned int flags;
	unsigned int line;
	unsigned int incdepth;
	unsigned int base; /* stack depth this file started at */
	unsigned int depth;
	struct conf_node *stack[CONF_MAX_DEPTH + 1];
	unsigned int open_line[CONF_MAX_DEPTH + 1];
	enum conf_pstate state;
	bool in_string; /* inside "..." in a value or include */
	bool continued; /* string line ended in a backslash */
	bool value_parts; /* a value part was seen */
	bool failed;
	char *name; /* pending NAME */
	unsigned int name_line;
	char *refs[CONF_MAX_REFS];
	unsigned int nrefs;
	struct conf_strbuf val; /* value or include pattern */
};

void conf_tree_init(struct conf_tree *tree);
/* Frees all nodes and files; values are scrubbed since they may be secrets. */
void conf_tree_free(struct conf_tree *tree);

/*
 * Parse one file into @tree (at the root). Handles includes. After all
 * files are in, call conf_tree_resolve() once.
 */
int conf_parse_file(struct conf_tree *tree, const char *path, unsigned int flags);

/*
 * Line-at-a-time interface. @file_name names the input in messages. Lines
 * are passed without their '\n'; '\r' is ignored. finish checks that all
 * sections and strings are closed. The parser must be freed with
 * conf_parse_free() whatever happened.
 */
int conf_parse_init(struct conf_parser *p, struct conf_tree *tree, const char *file_name,
		    unsigned int flags);
int conf_parse_line(struct conf_parser *p, const char *line, size_t len);
int conf_parse_finish(struct conf_parser *p);
void conf_parse_free(struct conf_parser *p);

/* Parse a whole buffer (lines split on '\n') with the interface above. */
int conf_parse_buf(struct conf_tree *tree, const char *buf, size_t len, const char *file_name,
		   unsigned int flags);

/* Apply section references (copy what a section lacks from its templates). */
int conf_tree_resolve(struct conf_tree *tree);

/* Child of @sec named @name, a section or a key. */
struct conf_node *conf_node_get(const struct conf_node *sec, const char *name, bool section);
/* Dotted path of a section ("connections.home"), "" for the root. */
void conf_node_path(const struct conf_node *n, char *buf, size_t len);

#endif
