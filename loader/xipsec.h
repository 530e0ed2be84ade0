/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The `xipsec` command: one cmd_<name>() per subcommand (loader/cmd_*.c),
 * dispatched from the table in main.c. A command gets the words after its
 * name and returns the process exit status (0 or 1); usage errors print the
 * command's grammar.
 */
#ifndef XIPSEC_LOADER_H
#define XIPSEC_LOADER_H

#include <stdbool.h>
#include <stdio.h>

/* Where the pinned maps and the ownership journal live (global options). */
struct xipsec_paths {
	const char *pin_dir; /* --pin-dir, default XIPSEC_PIN_DIR */
	const char *run_dir; /* --run-dir, default XIPSEC_RUN_DIR */
};

#define XIPSEC_RUN_DIR "/run/xipsec"

extern struct xipsec_paths xipsec_paths;

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_spd(int argc, char **argv);
int cmd_sa(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_set(int argc, char **argv);

/* The whole command line: global options, then the subcommand. Returns the exit status. */
int xipsec_run(int argc, char **argv);

/* Prints "usage: xipsec <grammar>" for @cmd (NULL: all) to @f. */
void xipsec_usage(FILE *f, const char *cmd);

/* JSON string output with escaping (names are user-chosen). */
void xipsec_json_str(FILE *f, const char *s);

#endif
