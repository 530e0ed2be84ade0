// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiked: the IKEv2 daemon's command line. -n checks the configuration;
 * otherwise the daemon runs (daemon.c) until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "kernel.h"
#include "log.h"

#define XIKED_DEFAULT_SOCKET "/run/xiked.sock"

static void xiked_usage(FILE *f)
{
	fprintf(f,
		"usage: xiked [-F] [-n] [-v]... [-c FILE] [-s PATH] [--keylog FILE]\n"
		"  -c FILE   configuration in swanctl.conf syntax (default %s)\n"
		"  -F        stay in the foreground, log to stderr\n"
		"  -n        check the configuration, print a summary and exit (0 ok, 1 error)\n"
		"  -s PATH   control socket (default %s)\n"
		"  -v        more detail (repeat for debug output)\n"
		"  -h        this help\n"
		"  --keylog FILE  append IKE SA keys in Wireshark's ikev2_decryption_table\n"
		"                 format (debugging only: anyone with FILE can decrypt IKE)\n"
		"  --keep-caps    do not drop capabilities other than CAP_NET_ADMIN\n",
		CONF_DEFAULT_PATH, XIKED_DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keylog", required_argument, NULL, 'K' },
		{ "keep-caps", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = CONF_DEFAULT_PATH, *sock_path = XIKED_DEFAULT_SOCKET;
	const char *keylog = NULL;
	bool foreground = false, check_only = false, keep_caps = false;
	struct daemon_opts opts;
	char err[1024];
	struct conf *conf = NULL;
	int verbose = 0, opt, rc;

	while ((opt = getopt_long(argc, argv, "c:Fns:vh", longopts, NULL)) != -1) {
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
		case 'K':
			keylog = optarg;
			break;
		case 'P':
			keep_caps = true;
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
	conf_free(conf);
	if (!foreground) {
		/* Detach; from here on, lines go to syslog. */
		if (daemon(1, 0)) {
			log_err("xiked: daemon: %s", strerror(errno));
			return 1;
		}
		log_init("xiked", verbose >= 2 ? LOG_LVL_DEBUG : LOG_LVL_INFO, true);
	}
	opts = (struct daemon_opts){
		.conf_path = conf_path,
		.sock_path = sock_path,
		.state_dir = KERNEL_STATE_DIR,
		.keylog_path = keylog,
		.drop_caps = !keep_caps,
	};
	rc = daemon_run(&opts);
	return rc ? 1 : 0;
}
