// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipsec sa list [--json]: every kernel xfrm state (never its keys), which
 * of them `load` installed, and the dataplane counters of those.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "apply.h"
#include "dp_ike.h"
#include "dp_maps.h"
#include "journal.h"
#include "log.h"
#include "xfrm_nl.h"
#include "xipsec.h"

struct sa_list_ctx {
	const struct journal *j;
	const struct dp_maps *m; /* NULL: no dataplane maps */
	bool json;
	unsigned int n;
};

/* A record xiked wrote for @sa (dp_ike.h): same SPI and reqid, id in its range. */
static bool sa_list_ike(const struct dp_maps *m, const struct xfrm_nl_sa *sa,
			struct journal_sa *out)
{
	uint32_t id = DP_IKE_SA_ID_FIRST;
	struct xipsec_sa rec;

	while (id < XIPSEC_MAX_SA &&
	       !dp_sa_find_spi(m, sa->spi, XIPSEC_SA_F_INBOUND | XIPSEC_SA_F_OUTBOUND, id, &id)) {
		if (!dp_sa_get(m, id, &rec) && rec.reqid == sa->reqid) {
			memset(out, 0, sizeof(*out));
			snprintf(out->name, sizeof(out->name), "xiked");
			out->id = id;
			out->inbound = rec.flags & XIPSEC_SA_F_INBOUND;
			return true;
		}
		id++;
	}
	return false;
}

static int sa_list_one(const struct xfrm_nl_sa *sa, void *arg)
{
	struct sa_list_ctx *ctx = arg;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct xipsec_sa_stats st;
	const struct journal_sa *js;
	struct journal_sa ike;
	struct xfrm_nl_sa_id id;
	const char *alg;
	bool have_stats = false;

	xfrm_nl_sa_to_id(sa, &id);
	js = journal_find_sa(ctx->j, &id);
	if (!js && ctx->m && sa_list_ike(ctx->m, sa, &ike))
		js = &ike;
	inet_ntop(sa->family, &sa->saddr, src, sizeof(src));
	inet_ntop(sa->family, &sa->daddr, dst, sizeof(dst));
	alg = sa->aead.name[0] ? sa->aead.name : sa->crypt.name;
	memset(&st, 0, sizeof(st));
	if (js && ctx->m && !dp_sa_stats_read(ctx->m, js->id, &st))
		have_stats = true;

	if (ctx->json) {
		printf("%s{\"src\":\"%s\",\"dst\":\"%s\",\"spi\":\"0x%08x\",\"proto\":%u,"
		       "\"reqid\":%u,\"mode\":%u,\"enc\":",
		       ctx->n ? "," : "", src, dst, ntohl(sa->spi), sa->proto, sa->reqid, sa->mode);
		xipsec_json_str(stdout, alg);
		printf(",\"auth\":");
		xipsec_json_str(stdout, sa->auth.name);
		printf(",\"kernel_packets\":%" PRIu64 ",\"kernel_bytes\":%" PRIu64
		       ",\"replay_errors\":%u,\"integrity_errors\":%u,\"xipsec\":",
		       (uint64_t)sa->curlft.packets, (uint64_t)sa->curlft.bytes, sa->stats.replay,
		       sa->stats.integrity_failed);
		if (js) {
			printf("{\"name\":");
			xipsec_json_str(stdout, js->name);
			printf(",\"id\":%u,\"dir\":\"%s\"", js->id, js->inbound ? "in" : "out");
			if (have_stats)
				printf(",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
				       ",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
				       ",\"rx_inner_packets\":%" PRIu64
				       ",\"drop_selector\":%" PRIu64,
				       (uint64_t)st.tx_packets, (uint64_t)st.tx_bytes,
				       (uint64_t)st.rx_packets, (uint64_t)st.rx_bytes,
				       (uint64_t)st.rx_inner_packets, (uint64_t)st.drop_selector);
			printf("}}");
		} else {
			printf("null}");
		}
	} else {
		printf("%s -> %s spi 0x%08x reqid %u %s%s%s  kernel %" PRIu64 " pkts\n", src, dst,
		       ntohl(sa->spi), sa->reqid, alg, sa->auth.name[0] ? "+" : "", sa->auth.name,
		       (uint64_t)sa->curlft.packets);
		if (js) {
			printf("    xipsec '%s' id %u %s", js->name, js->id,
			       js->inbound ? "in" : "out");
			if (have_stats && js->inbound)
				printf(": rx %" PRIu64 " pkts %" PRIu64
				       " bytes, decrypted ok %" PRIu64 ", selector drops %" PRIu64,
				       (uint64_t)st.rx_packets, (uint64_t)st.rx_bytes,
				       (uint64_t)st.rx_inner_packets, (uint64_t)st.drop_selector);
			else if (have_stats)
				printf(": tx %" PRIu64 " pkts %" PRIu64 " bytes",
				       (uint64_t)st.tx_packets, (uint64_t)st.tx_bytes);
			printf("\n");
		}
	}
	ctx->n++;
	return 0;
}

int cmd_sa(int argc, char **argv)
{
	struct sa_list_ctx ctx;
	struct journal j;
	struct dp_maps m;
	struct xfrm_nl *nl;
	char path[512];
	bool have_maps;
	int err;

	memset(&ctx, 0, sizeof(ctx));
	if (argc < 1 || strcmp(argv[0], "list") || argc > 2 ||
	    (argc == 2 && strcmp(argv[1], "--json"))) {
		xipsec_usage(stderr, "sa");
		return 1;
	}
	ctx.json = argc == 2;
	err = apply_journal_path(&xipsec_paths, path, sizeof(path));
	if (!err)
		err = journal_read(path, &j);
	if (err) {
		log_err("sa: read journal: %s", strerror(-err));
		return 1;
	}
	have_maps = !dp_maps_open_pinned(&m, xipsec_paths.pin_dir);
	ctx.j = &j;
	ctx.m = have_maps ? &m : NULL;
	err = xfrm_nl_open(&nl);
	if (!err) {
		if (ctx.json)
			printf("[");
		err = xfrm_nl_sa_list(nl, sa_list_one, &ctx);
		if (ctx.json)
			printf("]\n");
		xfrm_nl_close(nl);
	}
	if (err)
		log_err("sa list: %s", strerror(-err));
	if (have_maps)
		dp_maps_close(&m);
	journal_free(&j);
	return err ? 1 : 0;
}
