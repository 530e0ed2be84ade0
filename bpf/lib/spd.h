/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SPD lookup: longest-prefix match on the destination (binary search on the
 * prefix lengths in use, one hash lookup per step) gives a short list of
 * candidate rules precompiled by lib/spd.c, scanned in priority order
 * (layout in include/xipsec/spd.h). Cost: at most SPD_LENS_SEARCH hash
 * lookups plus the candidate scan, independent of the rule count.
 *
 * Not the kernel's LPM trie: its lookup walks one node per branching level,
 * so it costs O(log rules) and made classification 1.8x slower at 100k rules
 * than at 10 (bench/classify_bench).
 */
#ifndef XIPSEC_BPF_SPD_H
#define XIPSEC_BPF_SPD_H

#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/stats.h"

/* Set by the loader before load (skel->rodata->...). */
const volatile __u64 acquire_interval_ns = 1000000000ULL;
const volatile __u8 spd_default_action = SPD_ACT_BYPASS;

static __always_inline bool spd_cand_match(const struct spd_cand *c, const struct pkt_info *pi)
{
	if (c->proto && c->proto != pi->proto)
		return false;
	if ((pi->src[0] & c->src.mask[0]) != c->src.net[0] ||
	    (pi->src[1] & c->src.mask[1]) != c->src.net[1] ||
	    (pi->src[2] & c->src.mask[2]) != c->src.net[2] ||
	    (pi->src[3] & c->src.mask[3]) != c->src.net[3])
		return false;
	if (pi->noports)
		return c->flags & SPD_CF_ANY_PORTS;
	return pi->sport >= c->sport_lo && pi->sport <= c->sport_hi && pi->dport >= c->dport_lo &&
	       pi->dport <= c->dport_hi;
}

/* Network-order mask word @w of a prefix of @plen bits. */
static __always_inline __be32 spd_mask_word(__u32 plen, __u32 w)
{
	__s32 bits = (__s32)plen - 32 * (__s32)w;

	if (bits >= 32)
		return 0xffffffff;
	if (bits <= 0)
		return 0;
	return bpf_htonl(~0U << (32 - bits));
}

/*
 * Longest destination prefix of generation @gen matching @pi: its leaf
 * (count 0: none). Binary search on lengths: a hit (prefix or marker) means
 * the answer is at least this long, a miss that it is shorter. For IPv4 the
 * /16 block table gives the answer up to /16 and the range of longer lengths
 * present in the block, so the search is short whatever the rule count.
 */
static __always_inline int spd_lpm(const struct pkt_info *pi, __u32 gen, struct spd_leaf *out)
{
	struct spd_pfx_key key = {};
	struct spd_lens *lens = NULL;
	struct spd_blk4 *blk = NULL;
	struct spd_leaf *e;
	__s32 lo = 0, hi, mid;
	__u32 idx, plen;
	int i;

	out->first = 0;
	out->count = 0;
	if (pi->family == XIPSEC_AF_INET) {
		idx = gen * SPD_BLK4_N + (bpf_ntohl(pi->dst[0]) >> (32 - SPD_BLK4_BITS));
		blk = bpf_map_lookup_elem(&xipsec_spd_blk4, &idx);
		if (!blk)
			return -XIPSEC_DROP_INTERNAL;
		out->first = blk->first;
		out->count = blk->count;
		hi = (__s32)blk->n - 1;
	} else {
		idx = gen * 2 + 1;
		lens = bpf_map_lookup_elem(&xipsec_spd_lens, &idx);
		if (!lens)
			return -XIPSEC_DROP_INTERNAL;
		hi = (__s32)lens->n - 1;
	}
	key.gen = gen;
	key.family = pi->family;

	for (i = 0; i < SPD_LENS_SEARCH; i++) {
		if (lo > hi)
			break;
		mid = (lo + hi) >> 1;
		/*
		 * 0 <= mid < n (n <= 16 in a block, <= 129 for IPv6). The
		 * verifier cannot follow lo/hi, and clang folds a range check
		 * into (lo + hi) before the shift, so bound the index by
		 * masking into the 16- and 256-byte arrays.
		 */
		if (blk)
			plen = blk->len[mid & 0xf];
		else if (lens)
			plen = lens->len[mid & 0xff];
		else
			break;
		key.plen = plen;
		key.addr[0] = pi->dst[0] & spd_mask_word(plen, 0);
		key.addr[1] = pi->dst[1] & spd_mask_word(plen, 1);
		key.addr[2] = pi->dst[2] & spd_mask_word(plen, 2);
		key.addr[3] = pi->dst[3] & spd_mask_word(plen, 3);
		e = bpf_map_lookup_elem(&xipsec_spd_pfx, &key);
		if (e) {
			*out = *e;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return 0;
}

/*
 * Bucket id of the best rule, SPD_BUCKET_NONE, or -XIPSEC_DROP_INTERNAL.
 *
 * A global (non-inlined, non-static) function: the verifier checks it once,
 * on its own, instead of once per parser path that reaches it. Inlined, the
 * candidate loop times the parser's IPv4/IPv6/extension-header states made
 * the inner XDP program cost 350k verifier steps on 6.1 (limit 1M).
 */
__noinline __s64 spd_classify(const struct pkt_info *pi, __u32 gen)
{
	struct spd_leaf leaf;
	__u32 i, base, count;
	int ret;

	if (!pi) /* global function arguments may be NULL as far as the verifier knows */
		return -XIPSEC_DROP_INTERNAL;
	gen &= 1;

	ret = spd_lpm(pi, gen, &leaf);
	if (ret < 0)
		return ret;
	count = leaf.count;
	base = gen * SPD_MAX_CANDS + leaf.first;
	for (i = 0; i < SPD_MAX_LEAF_CANDS; i++) {
		struct spd_cand *c;
		__u32 idx = base + i;

		if (i >= count)
			break;
		c = bpf_map_lookup_elem(&xipsec_spd_cand, &idx);
		if (!c)
			return -XIPSEC_DROP_INTERNAL;
		if (spd_cand_match(c, pi))
			return c->bucket;
	}
	return SPD_BUCKET_NONE;
}

static __always_inline struct spd_bucket *spd_bucket_get(__u32 gen, __u32 bucket)
{
	__u32 idx;

	if (bucket >= SPD_MAX_BUCKETS)
		return NULL;
	idx = gen * SPD_MAX_BUCKETS + bucket;
	return bpf_map_lookup_elem(&xipsec_bucket, &idx);
}

/* The SA a PROTECT bucket steers to, if the kernel state is installed. */
static __always_inline struct xipsec_sa *spd_bucket_sa(const struct spd_bucket *b)
{
	__u32 id = b->sa_id;
	struct xipsec_sa *sa = bpf_map_lookup_elem(&xipsec_sa, &id);

	if (sa && (sa->flags & XIPSEC_SA_F_INSTALLED))
		return sa;
	return NULL;
}

/*
 * Acquire event for a PROTECT bucket without SA, at most one per bucket per
 * acquire_interval_ns. The check-then-store on the timestamp races between
 * CPUs; the worst case is one extra event per CPU, which the reader tolerates.
 */
static __always_inline void spd_acquire(const struct pkt_info *pi, __u32 bucket,
					const struct spd_bucket *b, __u32 ifindex,
					struct spd_bucket_stats *bs)
{
	struct xipsec_acquire *ev;
	__u64 now = bpf_ktime_get_ns();
	__u64 *last;

	last = bpf_map_lookup_elem(&xipsec_acq_rl, &bucket);
	if (!last)
		return;
	if (*last && now - *last < acquire_interval_ns) {
		if (bs)
			bs->acquires_limited++;
		return;
	}
	ev = bpf_ringbuf_reserve(&xipsec_events, sizeof(*ev), 0);
	if (!ev) {
		stat_inc(XIPSEC_STAT_ACQUIRE_LOST);
		return;
	}
	*last = now;
	ev->type = XIPSEC_EV_ACQUIRE;
	ev->bucket = bucket;
	ev->sa_id = b->sa_id;
	ev->ifindex = ifindex;
	ev->ts_ns = now;
	ev->family = pi->family;
	ev->proto = pi->proto;
	ev->sport = pi->noports ? 0 : pi->sport;
	ev->dport = pi->noports ? 0 : pi->dport;
	ev->flags = (pi->noports ? XIPSEC_ACQ_F_NOPORTS : 0) |
		    ((b->flags & SPD_BKT_F_HOLD) ? XIPSEC_ACQ_F_HELD : 0);
	__builtin_memcpy(ev->src, pi->src, 16);
	__builtin_memcpy(ev->dst, pi->dst, 16);
	bpf_ringbuf_submit(ev, 0);
	if (bs)
		bs->acquires++;
}

#endif
