// SPDX-License-Identifier: GPL-2.0-only
/*
 * Inner interface (facing the protected network): SPD classification.
 *
 *   packet -> XDP xipsec_inner_xdp -> (skb) -> TC ingress xipsec_inner_tc -> routing,
 *                                                        xfrm policy lookup (uses skb->mark)
 *
 * XDP gives early verdicts (DISCARD, PROTECT without SA that drops, malformed
 * IP) and hands its bucket to TC in XDP metadata. TC applies the verdict that
 * needs an skb (PROTECT sets skb->mark before the forward path's xfrm lookup)
 * and classifies by itself when there is no metadata (XDP not attached,
 * generic XDP, metadata of another program). Each packet is counted in its
 * bucket once: by XDP if XDP drops it, otherwise by TC.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/spd.h"
#include "lib/stats.h"

/* Bytes pulled into the linear area when the headers are not all there. */
#define XIPSEC_TC_PULL_LEN 1024

static __always_inline void xdp_set_meta(struct xdp_md *ctx, __u32 bucket, __u32 gen, __u32 flags)
{
	struct xipsec_xdp_meta *m;
	void *data;

	/* Fails on drivers without metadata support: TC then classifies. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return;
	data = (void *)(long)ctx->data;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data)
		return;
	m->magic = XIPSEC_META_MAGIC;
	m->bucket = bucket;
	m->flags = flags;
	m->gen = gen;
}

static __always_inline int inner_xdp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 len = data_end - data;
	struct spd_bucket_stats *bs;
	struct pkt_info pi = {};
	struct spd_bucket *b;
	__u32 gen, flags = 0;
	__s64 bucket;
	int ret;

	ret = parse_inner(data, data_end, &pi);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return XDP_PASS; /* counted by TC */

	gen = config_active_gen();
	bucket = spd_classify(&pi, gen);
	if (bucket < 0)
		return bucket;
	b = bucket == SPD_BUCKET_NONE ? NULL : spd_bucket_get(gen, bucket);
	if (!b || b->action == SPD_ACT_NONE) {
		if (spd_default_action == SPD_ACT_DISCARD) {
			stat_inc(XIPSEC_STAT_INNER_NO_MATCH);
			return -XIPSEC_DROP_SPD_DISCARD;
		}
		goto pass;
	}

	if (b->action == SPD_ACT_DISCARD) {
		bs = bucket_stats(bucket);
		if (bs) {
			bs->packets++;
			bs->bytes += len;
			bs->drop_discard++;
		}
		return -XIPSEC_DROP_SPD_DISCARD;
	}
	if (b->action == SPD_ACT_PROTECT && !spd_bucket_sa(b)) {
		bs = bucket_stats(bucket);
		spd_acquire(&pi, bucket, b, ctx->ingress_ifindex, bs);
		flags |= XIPSEC_META_F_ACQ_DONE;
		if (!(b->flags & SPD_BKT_F_HOLD)) {
			if (bs) {
				bs->packets++;
				bs->bytes += len;
				bs->drop_no_sa++;
			}
			return -XIPSEC_DROP_SPD_NO_SA;
		}
	}
pass:
	xdp_set_meta(ctx, bucket, gen, flags);
	return XDP_PASS;
}

SEC("xdp")
int xipsec_inner_xdp(struct xdp_md *ctx)
{
	int ret = inner_xdp(ctx);

	if (ret < 0) {
		drop_count(-ret);
		return XDP_DROP;
	}
	return ret;
}

static __always_inline bool tc_read_meta(struct __sk_buff *skb, struct xipsec_xdp_meta *out)
{
	void *data = (void *)(long)skb->data;
	struct xipsec_xdp_meta *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 1) > data)
		return false;
	if (m->magic != XIPSEC_META_MAGIC)
		return false;
	*out = *m;
	return true;
}

/*
 * Parse from the linear area; if headers run past it (non-linear skb),
 * pull and parse again. The pull invalidates packet pointers: none survive.
 */
static __always_inline int tc_parse(struct __sk_buff *skb, struct pkt_info *pi)
{
	__u32 want;
	int ret;

	ret = parse_inner((void *)(long)skb->data, (void *)(long)skb->data_end, pi);
	if (ret >= 0 || skb->len <= skb->data_end - skb->data)
		return ret;
	want = skb->len < XIPSEC_TC_PULL_LEN ? skb->len : XIPSEC_TC_PULL_LEN;
	if (bpf_skb_pull_data(skb, want))
		return ret;
	__builtin_memset(pi, 0, sizeof(*pi));
	return parse_inner((void *)(long)skb->data, (void *)(long)skb->data_end, pi);
}

static __always_inline int inner_tc(struct __sk_buff *skb)
{
	struct xipsec_xdp_meta meta = {};
	struct spd_bucket_stats *bs;
	struct xipsec_sa_stats *ss;
	struct pkt_info pi = {};
	bool have_meta, parsed = false;
	struct xipsec_sa *sa;
	struct spd_bucket *b;
	__s64 bucket;
	__u32 gen;
	int ret;

	have_meta = tc_read_meta(skb, &meta);
	if (have_meta) {
		stat_inc(XIPSEC_STAT_INNER_META);
		gen = meta.gen & 1;
		bucket = meta.bucket;
	} else {
		ret = tc_parse(skb, &pi);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			stat_inc(XIPSEC_STAT_INNER_NON_IP);
			return TC_ACT_OK;
		}
		parsed = true;
		if (pi.noports && pi.frag)
			stat_inc(XIPSEC_STAT_INNER_FRAG);
		gen = config_active_gen();
		bucket = spd_classify(&pi, gen);
		if (bucket < 0)
			return bucket;
	}

	b = bucket == SPD_BUCKET_NONE ? NULL : spd_bucket_get(gen, bucket);
	if (!b || b->action == SPD_ACT_NONE) {
		stat_inc(XIPSEC_STAT_INNER_NO_MATCH);
		if (spd_default_action == SPD_ACT_DISCARD)
			return -XIPSEC_DROP_SPD_DISCARD;
		return TC_ACT_OK;
	}

	bs = bucket_stats(bucket);
	if (bs) {
		bs->packets++;
		bs->bytes += skb->len;
	}
	switch (b->action) {
	case SPD_ACT_BYPASS:
		return TC_ACT_OK;
	case SPD_ACT_DISCARD:
		if (bs)
			bs->drop_discard++;
		return -XIPSEC_DROP_SPD_DISCARD;
	case SPD_ACT_PROTECT:
		break;
	default:
		return -XIPSEC_DROP_INTERNAL;
	}

	sa = spd_bucket_sa(b);
	if (sa) {
		/* Read by the forward path's xfrm policy lookup after this hook. */
		skb->mark = (skb->mark & ~sa->mark_mask) | sa->mark;
		ss = sa_stats(b->sa_id);
		if (ss) {
			ss->tx_packets++;
			ss->tx_bytes += skb->len;
		}
		return TC_ACT_OK;
	}

	if (!(have_meta && (meta.flags & XIPSEC_META_F_ACQ_DONE))) {
		/* The acquire needs the selectors that the metadata path skipped. */
		if (!parsed)
			parsed = tc_parse(skb, &pi) > 0;
		if (parsed)
			spd_acquire(&pi, bucket, b, skb->ingress_ifindex, bs);
	}
	if (b->flags & SPD_BKT_F_HOLD)
		return TC_ACT_OK;
	if (bs)
		bs->drop_no_sa++;
	return -XIPSEC_DROP_SPD_NO_SA;
}

SEC("tc")
int xipsec_inner_tc(struct __sk_buff *skb)
{
	int ret = inner_tc(skb);

	if (ret < 0) {
		drop_count(-ret);
		return TC_ACT_SHOT;
	}
	return ret;
}
