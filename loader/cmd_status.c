// SPDX-License-Identifier: GPL-2.0-only
/* xipsec status [--json] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include "xipsec/dataplane.h"
#include "apply.h"
#include "dp_maps.h"
#include "hook.h"
#include "journal.h"
#include "log.h"
#include "xipsec.h"

static void status_interfaces(bool json)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	bool first = true;

	if (json)
		printf("\"interfaces\":[");
	else
		printf("interfaces:\n");
	for (it = ifs; it && it->if_index; it++) {
		struct hook_info hi;

		if (hook_query((int)it->if_index, &hi) || hi.side == HOOK_NONE)
			continue;
		if (json) {
			printf("%s{\"name\":", first ? "" : ",");
			xipsec_json_str(stdout, it->if_name);
			printf(",\"side\":\"%s\",\"tc_prog_id\":%u,\"xdp_prog_id\":%u,"
			       "\"xdp_mode\":\"%s\",\"xdp_dispatcher\":%s,\"xdp_programs\":%u}",
			       hook_side_name(hi.side), hi.tc_prog_id, hi.xdp_prog_id,
			       !hi.xdp_prog_id ? "none" :
			       hi.xdp_generic  ? "generic" :
						 "native",
			       hi.xdp_dispatcher ? "true" : "false", hi.xdp_count);
		} else {
			printf("  %-12s %-5s tc %s%u  xdp ", it->if_name, hook_side_name(hi.side),
			       hi.tc_prog_id ? "prog " : "none", hi.tc_prog_id);
			if (hi.xdp_prog_id)
				printf("prog %u %s%s\n", hi.xdp_prog_id,
				       hi.xdp_generic ? "generic" : "native",
				       hi.xdp_dispatcher ? " (libxdp dispatcher)" : "");
			else
				printf("none\n");
		}
		first = false;
	}
	if (json)
		printf("]");
	else if (first)
		printf("  (none)\n");
	if (ifs)
		if_freenameindex(ifs);
}

static void status_counters(const struct dp_maps *m, bool json)
{
	unsigned int i;
	uint64_t v;

	printf(json ? ",\"drops\":{" : "drops:\n");
	for (i = 1; i < XIPSEC_DROP_MAX; i++) {
		if (dp_drop_read(m, i, &v))
			v = 0;
		if (json)
			printf("%s\"%s\":%" PRIu64, i > 1 ? "," : "", dp_drop_name(i), v);
		else if (v)
			printf("  %-22s %" PRIu64 "\n", dp_drop_name(i), v);
	}
	printf(json ? "},\"stats\":{" : "counters:\n");
	for (i = 0; i < XIPSEC_STAT_MAX; i++) {
		if (dp_stat_read(m, i, &v))
			v = 0;
		if (json)
			printf("%s\"%s\":%" PRIu64, i ? "," : "", dp_stat_name(i), v);
		else if (v)
			printf("  %-22s %" PRIu64 "\n", dp_stat_name(i), v);
	}
	if (json)
		printf("}");
}

int cmd_status(int argc, char **argv)
{
	struct xipsec_config cfg;
	struct journal j;
	struct dp_maps m;
	char path[512];
	bool json = false;
	int err;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json"))) {
		xipsec_usage(stderr, "status");
		return 1;
	}
	json = argc == 1;
	if (json)
		printf("{");
	status_interfaces(json);

	err = dp_maps_open_pinned(&m, xipsec_paths.pin_dir);
	if (!err)
		err = dp_config_get(&m, &cfg);
	if (err) {
		if (json)
			printf(",\"dataplane\":null}\n");
		else
			printf("dataplane: no maps in %s (%s)\n", xipsec_paths.pin_dir,
			       strerror(-err));
		return 0;
	}
	memset(&j, 0, sizeof(j));
	if (apply_journal_path(&xipsec_paths, path, sizeof(path)) || journal_read(path, &j))
		log_warn("status: cannot read the journal in %s", xipsec_paths.run_dir);
	if (json) {
		printf(",\"dataplane\":{\"generation\":%u,\"serial\":%" PRIu64 ",\"rules\":%u,"
		       "\"buckets\":%u,\"drop_unknown_spi\":%s,\"static_sas\":%zu}",
		       cfg.active_gen & 1, (uint64_t)cfg.serial, cfg.nrules[cfg.active_gen & 1],
		       cfg.nbuckets[cfg.active_gen & 1],
		       cfg.flags & XIPSEC_CFG_DROP_UNKNOWN_SPI ? "true" : "false", j.nsas);
	} else {
		printf("spd: %u rules, %u buckets (generation %u, serial %" PRIu64 ")\n",
		       cfg.nrules[cfg.active_gen & 1], cfg.nbuckets[cfg.active_gen & 1],
		       cfg.active_gen & 1, (uint64_t)cfg.serial);
		printf("static SAs: %zu\ndrop-unknown-spi: %s\n", j.nsas,
		       cfg.flags & XIPSEC_CFG_DROP_UNKNOWN_SPI ? "on" : "off");
	}
	status_counters(&m, json);
	if (json)
		printf("}\n");
	journal_free(&j);
	dp_maps_close(&m);
	return 0;
}
