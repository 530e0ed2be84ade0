// SPDX-License-Identifier: GPL-2.0-only
/* xipsec detach IFACE */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include "hook.h"
#include "log.h"
#include "xipsec.h"

int cmd_detach(int argc, char **argv)
{
	unsigned int ifindex;
	int err;

	if (argc != 1 || argv[0][0] == '-') {
		xipsec_usage(stderr, "detach");
		return 1;
	}
	ifindex = if_nametoindex(argv[0]);
	if (!ifindex) {
		fprintf(stderr, "xipsec detach: no interface '%s'\n", argv[0]);
		return 1;
	}
	err = hook_detach((int)ifindex);
	if (err == -ENOENT) {
		log_err("detach %s: no xipsec programs attached", argv[0]);
		return 1;
	}
	if (err) {
		log_err("detach %s: %s", argv[0], strerror(-err));
		return 1;
	}
	return 0;
}
