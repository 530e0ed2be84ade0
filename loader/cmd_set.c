// SPDX-License-Identifier: GPL-2.0-only
/* xipsec set unknown-spi drop|pass: run-time switches in xipsec_config. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xipsec/dataplane.h"
#include "dp_maps.h"
#include "log.h"
#include "xipsec.h"

int cmd_set(int argc, char **argv)
{
	struct dp_maps m;
	bool drop;
	int err;

	if (argc != 2 || strcmp(argv[0], "unknown-spi") ||
	    (strcmp(argv[1], "drop") && strcmp(argv[1], "pass"))) {
		xipsec_usage(stderr, "set");
		return 1;
	}
	drop = !strcmp(argv[1], "drop");
	err = dp_maps_open_pinned(&m, xipsec_paths.pin_dir);
	if (err) {
		log_err("set: no dataplane maps in %s (%s): run 'xipsec attach' first",
			xipsec_paths.pin_dir, strerror(-err));
		return 1;
	}
	err = drop ? dp_config_update_flags(&m, XIPSEC_CFG_DROP_UNKNOWN_SPI, 0) :
		     dp_config_update_flags(&m, 0, XIPSEC_CFG_DROP_UNKNOWN_SPI);
	dp_maps_close(&m);
	if (err) {
		log_err("set unknown-spi: %s", strerror(-err));
		return 1;
	}
	return 0;
}
