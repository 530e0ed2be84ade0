// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipsec: attach the dataplane, manage SPD rules and static SAs.
 * A table of subcommands, one file each (loader/cmd_*.c). Kept out of
 * main.c so the unit tests can drive the argument handling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xipsec/dataplane.h"
#include "log.h"
#include "cmd_ike.h"
#include "xipsec.h"

struct xipsec_paths xipsec_paths = {
	.pin_dir = XIPSEC_PIN_DIR,
	.run_dir = XIPSEC_RUN_DIR,
};

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *grammar;
	const char *help;
} xipsec_cmds[] = {
	{ "attach", cmd_attach,
	  "attach IFACE --inner|--outer [--mode auto|native|generic|tc] [--allow-unknown-spi]",
	  "load the dataplane programs on IFACE (idempotent, replaces in place); --outer\n"
	  "      drops ESP of unknown SPIs unless --allow-unknown-spi" },
	{ "detach", cmd_detach, "detach IFACE", "remove xipsec's programs from IFACE" },
	{ "status", cmd_status, "status [--json]", "interfaces, rule set, SAs, counters" },
	{ "spd", cmd_spd, "spd list [--json] | spd add RULE | spd del INDEX | spd flush",
	  "show or change the SPD rules (RULE as in a 'rule' line of the configuration)" },
	{ "sa", cmd_sa, "sa list [--json]", "kernel xfrm states, which are xipsec's, counters" },
	{ "load", cmd_load, "load [--check] FILE",
	  "install a static configuration (SAs and rules) as one transaction" },
	{ "unload", cmd_unload, "unload", "remove every SA, policy and rule 'load' installed" },
	{ "ike", cmd_ike,
	  "ike [--socket PATH] list [--json] | up CONN[/CHILD] | down CONN[/CHILD] | reload",
	  "talk to the xiked daemon over its control socket" },
	{ "set", cmd_set, "set unknown-spi drop|pass",
	  "run-time switch: drop ESP whose SPI is no inbound SA at the outer XDP, or pass it" },
};

#define XIPSEC_NCMDS (sizeof(xipsec_cmds) / sizeof(xipsec_cmds[0]))

void xipsec_usage(FILE *f, const char *cmd)
{
	size_t i;

	for (i = 0; i < XIPSEC_NCMDS; i++)
		if (cmd && !strcmp(cmd, xipsec_cmds[i].name))
			break;
	if (cmd && i < XIPSEC_NCMDS) {
		fprintf(f, "usage: xipsec %s\n", xipsec_cmds[i].grammar);
		if (!strcmp(cmd, "spd") || !strcmp(cmd, "load"))
			fprintf(f,
				"RULE: from PREFIX to PREFIX [proto P] [sport N[-M]] [dport N[-M]]\n"
				"      [priority N] [bucket NAME] (protect SA [hold] | bypass | discard)\n");
		return;
	}
	fprintf(f, "usage: xipsec [-v] [--pin-dir DIR] [--run-dir DIR] COMMAND [ARGS]\n\n");
	for (i = 0; i < XIPSEC_NCMDS; i++)
		fprintf(f, "  %s\n      %s\n", xipsec_cmds[i].grammar, xipsec_cmds[i].help);
	fprintf(f,
		"\n  -v             debug output (ours, libbpf's and libxdp's)\n"
		"  --pin-dir DIR  pinned maps (default %s)\n"
		"  --run-dir DIR  ownership journal (default %s)\n"
		"See xipsec(8).\n",
		XIPSEC_PIN_DIR, XIPSEC_RUN_DIR);
}

void xipsec_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int xipsec_run(int argc, char **argv)
{
	int verbose = 0, i = 1;
	size_t c;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v")) {
			verbose++;
		} else if (!strcmp(argv[i], "-vv")) {
			verbose += 2;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			xipsec_usage(stdout, NULL);
			return 0;
		} else if ((!strcmp(argv[i], "--pin-dir") || !strcmp(argv[i], "--run-dir")) &&
			   i + 1 < argc && argv[i + 1][0] == '/') {
			if (argv[i][2] == 'p')
				xipsec_paths.pin_dir = argv[++i];
			else
				xipsec_paths.run_dir = argv[++i];
		} else {
			fprintf(stderr, "xipsec: unknown or incomplete option '%s'\n", argv[i]);
			xipsec_usage(stderr, NULL);
			return 1;
		}
	}
	if (i >= argc) {
		xipsec_usage(stderr, NULL);
		return 1;
	}
	log_init("xipsec", verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO, false);
	log_route_libbpf();
	/*
	 * libxdp keeps its dispatcher pins on a bpffs too: with a private pin
	 * directory (one per network namespace in tests) use the same mount.
	 */
	if (strcmp(xipsec_paths.pin_dir, XIPSEC_PIN_DIR) && !getenv("LIBXDP_BPFFS")) {
		char parent[256];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", xipsec_paths.pin_dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			setenv("LIBXDP_BPFFS", parent, 0);
		}
	}

	for (c = 0; c < XIPSEC_NCMDS; c++)
		if (!strcmp(argv[i], xipsec_cmds[c].name))
			return xipsec_cmds[c].fn(argc - i - 1, argv + i + 1) ? 1 : 0;
	fprintf(stderr, "xipsec: unknown command '%s'\n", argv[i]);
	xipsec_usage(stderr, NULL);
	return 1;
}
