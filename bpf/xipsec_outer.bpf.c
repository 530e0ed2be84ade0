// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outer interface (facing the peers).
 *
 *   ESP/IKE -> XDP xipsec_outer_xdp -> stack -> xfrm_input (decrypt)
 *                                                 |
 *              TC ingress xipsec_outer_tc  <------+ decrypted inner packet,
 *                                                   same device, with secpath
 *
 * XDP: per-SPI receive counters, unknown-SPI and short-ESP drops, IKE and
 * keepalives to the stack, everything else untouched.
 * TC: inner selector check of decrypted packets; packets without secpath pass.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/esp.h"
#include "lib/inbound.h"
#include "lib/stats.h"

/*
 * Test hook, never set by the loader: BPF_PROG_TEST_RUN cannot attach a
 * secpath, so a non-zero value makes packets without one look as if they
 * were decrypted by the SA of this SPI (network order). Fixed at load time.
 */
const volatile __be32 test_fake_spi = 0;

SEC("xdp")
int xipsec_outer_xdp(struct xdp_md *ctx)
{
	int ret = outer_classify((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	if (ret < 0) {
		drop_count(-ret);
		return XDP_DROP;
	}
	return ret;
}

static __always_inline int outer_tc(struct __sk_buff *skb)
{
	struct bpf_xfrm_state x = {};
	struct xipsec_spi_key key = {};
	struct xipsec_sa_stats *ss;
	struct pkt_info pi = {};
	struct xipsec_sa *sa;
	__u32 *id;
	int ret;

	if (bpf_skb_get_xfrm_state(skb, 0, &x, sizeof(x), 0) == 0) {
		key.spi = x.spi;
	} else if (test_fake_spi) {
		key.spi = test_fake_spi;
	} else {
		stat_inc(XIPSEC_STAT_INBOUND_NO_SECPATH);
		return TC_ACT_OK;
	}

	id = bpf_map_lookup_elem(&xipsec_spi, &key);
	sa = id ? bpf_map_lookup_elem(&xipsec_sa, id) : NULL;
	if (!sa || !(sa->flags & XIPSEC_SA_F_INBOUND)) {
		stat_inc(XIPSEC_STAT_INBOUND_UNKNOWN_SA);
		return TC_ACT_OK;
	}

	/* Decrypted packets are linear up to the inner headers: no pull needed. */
	ret = parse_l3((void *)(long)skb->data, (void *)(long)skb->data_end, &pi);
	if (ret <= 0) {
		/* Not IP after decryption (tunnel mode carries IP only) or malformed. */
		ret = ret ?: -XIPSEC_DROP_INNER_SELECTOR;
	} else {
		ret = inbound_sel_check(sa, &pi);
	}
	ss = sa_stats(*id);
	if (ret < 0) {
		if (ss && ret == -XIPSEC_DROP_INNER_SELECTOR)
			ss->drop_selector++;
		return ret;
	}
	stat_inc(XIPSEC_STAT_INBOUND_CHECKED);
	if (ss) {
		ss->rx_inner_packets++;
		ss->rx_inner_bytes += skb->len;
	}
	return TC_ACT_OK;
}

SEC("tc")
int xipsec_outer_tc(struct __sk_buff *skb)
{
	int ret = outer_tc(skb);

	if (ret < 0) {
		drop_count(-ret);
		return TC_ACT_SHOT;
	}
	return ret;
}
