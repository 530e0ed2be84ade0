// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipsec attach IFACE --inner|--outer [--mode auto|native|generic|tc] [--allow-unknown-spi]
 *
 * Attaching the outer side turns dropping of ESP with an unknown SPI on
 * (issue 3: dropped at XDP unless switched off), or off with
 * --allow-unknown-spi (when other software installs SAs xipsec does not know).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include "dp_maps.h"
#include "hook.h"
#include "log.h"
#include "xipsec.h"

int cmd_attach(int argc, char **argv)
{
	enum hook_xdp_mode mode = HOOK_XDP_AUTO;
	enum hook_side side = HOOK_NONE;
	const char *ifname = NULL;
	bool allow_unknown = false;
	struct dp_maps m;
	unsigned int ifindex;
	int i, err;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--inner") || !strcmp(argv[i], "--outer")) {
			if (side != HOOK_NONE) {
				fprintf(stderr, "xipsec attach: give one of --inner and --outer\n");
				goto usage;
			}
			side = argv[i][2] == 'i' ? HOOK_INNER : HOOK_OUTER;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "auto")) {
				mode = HOOK_XDP_AUTO;
			} else if (!strcmp(argv[i], "native")) {
				mode = HOOK_XDP_NATIVE;
			} else if (!strcmp(argv[i], "generic")) {
				mode = HOOK_XDP_GENERIC;
			} else if (!strcmp(argv[i], "tc")) {
				mode = HOOK_XDP_NONE;
			} else {
				fprintf(stderr, "xipsec attach: unknown mode '%s'\n", argv[i]);
				goto usage;
			}
		} else if (!strcmp(argv[i], "--allow-unknown-spi")) {
			allow_unknown = true;
		} else if (argv[i][0] != '-' && !ifname) {
			ifname = argv[i];
		} else {
			fprintf(stderr, "xipsec attach: unexpected '%s'\n", argv[i]);
			goto usage;
		}
	}
	if (!ifname || side == HOOK_NONE || (allow_unknown && side != HOOK_OUTER))
		goto usage;
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "xipsec attach: no interface '%s'\n", ifname);
		return 1;
	}
	err = hook_attach((int)ifindex, side, mode, xipsec_paths.pin_dir);
	if (err) {
		log_err("attach %s: %s", ifname, strerror(-err));
		return 1;
	}
	log_debug("attach: %s: %s programs in place", ifname, hook_side_name(side));
	if (side != HOOK_OUTER)
		return 0;
	err = dp_maps_open_pinned(&m, xipsec_paths.pin_dir);
	if (!err) {
		err = allow_unknown ? dp_config_update_flags(&m, 0, XIPSEC_CFG_DROP_UNKNOWN_SPI) :
				      dp_config_update_flags(&m, XIPSEC_CFG_DROP_UNKNOWN_SPI, 0);
		dp_maps_close(&m);
	}
	if (err) {
		log_err("attach %s: set unknown-SPI policy: %s", ifname, strerror(-err));
		return 1;
	}
	return 0;
usage:
	xipsec_usage(stderr, "attach");
	return 1;
}
