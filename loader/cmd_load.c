// SPDX-License-Identifier: GPL-2.0-only
/* xipsec load [--check] FILE, xipsec unload */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "log.h"
#include "static_conf.h"
#include "xipsec.h"

int cmd_load(int argc, char **argv)
{
	struct static_conf *c;
	const char *file = NULL;
	bool check = false;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--check") || !strcmp(argv[i], "-n"))
			check = true;
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			goto usage;
	}
	if (!file)
		goto usage;
	c = malloc(sizeof(*c)); /* the token buffer makes it large */
	if (!c)
		return 1;
	static_conf_init(c, file);
	err = static_conf_load_file(c, file);
	if (err == -EINVAL) {
		fputs(c->errs, stderr);
		if (c->nerrs > STATIC_CONF_MAX_ERRS)
			fprintf(stderr, "%s: %u more errors not shown\n", file,
				c->nerrs - STATIC_CONF_MAX_ERRS);
	} else if (err) {
		log_err("load: %s: %s", file, strerror(-err));
	} else if (check) {
		printf("%s: ok: %zu SAs, %zu rules, %zu buckets\n", file, c->nsas, c->nrules,
		       c->nbuckets);
	} else {
		err = apply_conf(c, &xipsec_paths);
	}
	static_conf_free(c);
	free(c);
	return err ? 1 : 0;
usage:
	xipsec_usage(stderr, "load");
	return 1;
}

int cmd_unload(int argc, char **argv)
{
	(void)argv;
	if (argc) {
		xipsec_usage(stderr, "unload");
		return 1;
	}
	return apply_conf(NULL, &xipsec_paths) ? 1 : 0;
}
