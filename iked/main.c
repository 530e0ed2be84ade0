// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiked: the IKEv2 daemon's command line.
 *
 * Today it loads and checks the configuration; the IKE engine is not part
 * of this build yet, so without -n it says so and exits non-zero rather
 * than pretending to run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define XIKED_DEFAULT_SOCKET "/run/xiked.sock"

static void xiked_usage(FILE *f)
{
	fprintf(f,
		"usage: xiked [-F] [-n] [-v]... [-c FILE] [-s PATH]\n"
		"  -c FILE   configuration in swanctl.conf syntax (default %s)\n"
		"  -F        stay in the foreground, log to stderr\n"
		"  -n        check the configuration, print a summary and exit (0 ok, 1 error)\n"
		"  -s PATH   control socket (default %s)\n"
		"  -v        more detail (repeat for debug output)\n"
		"  -h        this help\n",
		CONF_DEFAULT_PATH, XIKED_DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
	const char *conf_path = CONF_DEFAULT_PATH, *sock_path = XIKED_DEFAULT_SOCKET;
	bool foreground = false, check_only = false;
	char err[1024];
	struct conf *conf = NULL;
	int verbose = 0, opt, rc;

	while ((opt = getopt(argc, argv, "c:Fns:vh")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'F':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			xiked_usage(stdout);
			return 0;
		default:
			xiked_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "xiked: unexpected argument '%s'\n", argv[optind]);
		xiked_usage(stderr);
		return 1;
	}
	if (!*sock_path) {
		fprintf(stderr, "xiked: -s needs a path\n");
		return 1;
	}

	/*
	 * Configuration errors go to the terminal that started us, daemon or
	 * not: syslog (without -F) only starts once the daemon detaches.
	 */
	log_init("xiked", verbose >= 2 ? LOG_LVL_DEBUG : LOG_LVL_INFO, false);

	rc = conf_load(conf_path, 0, &conf, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		return 1;
	}
	if (check_only) {
		conf_print_summary(conf, stdout, verbose);
		printf("configuration OK\n");
		conf_free(conf);
		return 0;
	}
	log_info("xiked: loaded %s (%zu connections); control socket %s, %s", conf_path,
		 conf->nconns, sock_path, foreground ? "foreground" : "daemon");
	log_err("xiked: the IKE engine is not implemented in this build; "
		"only configuration checking (-n) works");
	conf_free(conf);
	return 1;
}
