/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SPD (security policy database) records shared by the inner classifier and
 * lib/spd.c, which compiles a rule list into them.
 *
 * Lookup, per packet (bpf/lib/spd.h): longest-prefix match on the
 * destination by binary search on prefix lengths (Waldvogel et al., "Scalable
 * high speed IP routing lookups", SIGCOMM 1997), then a short candidate scan:
 *
 *   IPv4: xipsec_spd_blk4[gen * SPD_BLK4_N + (dst >> 16)] gives the leaf of
 *         the best prefix <= /16 and the lengths > 16 used inside that /16
 *   IPv6: xipsec_spd_lens[gen * 2 + 1] gives all IPv6 lengths in use
 *   binary search over those lengths: xipsec_spd_pfx{gen, family, len, dst & mask(len)}
 *       hit  -> remember its leaf, try longer lengths (markers make this exact)
 *       miss -> try shorter lengths
 *       IPv4: 1 array + at most 5 hash lookups (usually 1-2); IPv6: at most 8
 *       whatever the rule count
 *   leaf { first, count } -> xipsec_spd_cand[gen * SPD_MAX_CANDS + first ..]
 *       candidates sorted by (priority, rule order); each holds the src
 *       prefix, protocol and port ranges; the first that matches gives the
 *       bucket id
 *   xipsec_bucket[gen * SPD_MAX_BUCKETS + bucket] -> action (+ SA id)
 *
 * A leaf exists for every distinct destination prefix of the rule set; its
 * candidates are all rules whose destination prefix contains it, so the
 * longest-matching leaf lists every rule whose destination covers the packet.
 * Markers (entries on the binary-search path of a longer prefix) carry the
 * leaf of the longest real prefix covering them (count 0 if none).
 */
#ifndef XIPSEC_SPD_SHARED_H
#define XIPSEC_SPD_SHARED_H

#include "xipsec/types.h"

#define SPD_MAX_RULES	   131072 /* per generation */
#define SPD_MAX_CANDS	   262144 /* candidate slots per generation */
#define SPD_MAX_BUCKETS	   16384 /* per generation */
#define SPD_MAX_LEAF_CANDS 255 /* rules whose dst contains one leaf prefix */
#define SPD_MAX_PFX	   (2 * 4 * SPD_MAX_RULES) /* prefixes + markers, 2 gens */
#define SPD_LENS_SEARCH	   8 /* binary-search steps: ceil(log2(129 + 1)) */
#define SPD_BUCKET_NONE	   0xffffffffu

enum spd_action {
	SPD_ACT_NONE = 0, /* unused bucket slot: treated like no match */
	SPD_ACT_PROTECT = 1,
	SPD_ACT_BYPASS = 2,
	SPD_ACT_DISCARD = 3,
};

enum spd_bucket_flags {
	/* PROTECT without an installed SA: pass the packet unmarked (the kernel's
	 * own policy may hold it) instead of dropping it. Acquire is sent either way. */
	SPD_BKT_F_HOLD = 1u << 0,
};

/* xipsec_bucket value. */
struct spd_bucket {
	__u8 action; /* enum spd_action */
	__u8 flags; /* enum spd_bucket_flags */
	__u16 pad;
	__u32 sa_id; /* PROTECT: index into xipsec_sa */
	char name[24]; /* for `xipsec spd list`; NUL-terminated */
};
XIPSEC_ASSERT_SIZE(struct spd_bucket, 32);
XIPSEC_ASSERT_OFF(struct spd_bucket, sa_id, 4);

/* xipsec_spd_pfx key: a destination prefix (or marker) of one generation. */
struct spd_pfx_key {
	__u8 gen;
	__u8 family; /* enum xipsec_family */
	__u8 plen;
	__u8 pad; /* zero */
	__be32 addr[4]; /* masked to plen; IPv4 in addr[0] */
};
XIPSEC_ASSERT_SIZE(struct spd_pfx_key, 20);
XIPSEC_ASSERT_OFF(struct spd_pfx_key, addr, 4);

/* xipsec_spd_lens value, key gen * 2 + (family == IPv6). */
struct spd_lens {
	__u8 n; /* lengths in use */
	__u8 pad[3];
	__u8 len[256]; /* ascending; n <= 33 (IPv4) or 129 (IPv6); 256 so that
			* any byte indexes it (see spd_lpm in bpf/lib/spd.h) */
};
XIPSEC_ASSERT_SIZE(struct spd_lens, 260);

/*
 * IPv4 first stage, xipsec_spd_blk4[gen * SPD_BLK4_N + (dst >> 16)]: the leaf
 * of the longest prefix of length <= 16 covering the /16 block, and the
 * lengths (17..32) of the longer prefixes inside the block. The binary search
 * then runs over the block's own lengths (markers are computed per block):
 * usually one or two hash lookups, at most 5.
 */
struct spd_blk4 {
	__u32 first; /* leaf of the best prefix <= /16 (count 0: none) */
	__u32 count;
	__u8 n; /* lengths in len[] */
	__u8 len[16]; /* ascending, each 17..32 */
	__u8 pad[3];
};
XIPSEC_ASSERT_SIZE(struct spd_blk4, 28);
#define SPD_BLK4_BITS 16
#define SPD_BLK4_N    (1u << SPD_BLK4_BITS)

struct spd_leaf {
	__u32 first; /* offset into this generation's candidate slots */
	__u32 count; /* 0 (marker covered by no prefix) .. SPD_MAX_LEAF_CANDS */
};
XIPSEC_ASSERT_SIZE(struct spd_leaf, 8);

/* A prefix as network-order words plus mask: match is (addr & mask) == net per word. */
struct xipsec_prefix {
	__be32 net[4];
	__be32 mask[4];
};
XIPSEC_ASSERT_SIZE(struct xipsec_prefix, 32);

enum spd_cand_flags {
	/* Both port ranges are 0-65535: the rule also matches packets without
	 * ports (non-first fragments, protocols without ports). */
	SPD_CF_ANY_PORTS = 1u << 0,
};

/* xipsec_spd_cand value: one rule as seen from one leaf (dst already matched). */
struct spd_cand {
	struct xipsec_prefix src;
	__u16 sport_lo, sport_hi; /* host order; ICMP: type */
	__u16 dport_lo, dport_hi; /* host order; ICMP: code */
	__u8 proto; /* 0 = any */
	__u8 flags; /* enum spd_cand_flags */
	__u16 pad;
	__u32 bucket;
};
XIPSEC_ASSERT_SIZE(struct spd_cand, 48);
XIPSEC_ASSERT_OFF(struct spd_cand, sport_lo, 32);
XIPSEC_ASSERT_OFF(struct spd_cand, bucket, 44);

/*
 * A rule as written by the user; also the value of xipsec_spd_rule, which
 * keeps the source of each generation so `spd list/add/del` can read it back.
 * Both prefixes are of the same family. Lower priority value wins; ties go
 * to the earlier rule.
 */
struct spd_rule {
	__be32 src[4];
	__be32 dst[4];
	__u8 family; /* enum xipsec_family */
	__u8 src_plen;
	__u8 dst_plen;
	__u8 proto; /* 0 = any */
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u32 priority;
	__u32 bucket; /* bucket id, < SPD_MAX_BUCKETS */
};
XIPSEC_ASSERT_SIZE(struct spd_rule, 52);
XIPSEC_ASSERT_OFF(struct spd_rule, family, 32);
XIPSEC_ASSERT_OFF(struct spd_rule, priority, 44);

/* Per-CPU counters per bucket id (xipsec_bkt_stat), summed by the CLI. */
struct spd_bucket_stats {
	__u64 packets; /* classified into the bucket, any verdict */
	__u64 bytes;
	__u64 drop_discard; /* DISCARD */
	__u64 drop_no_sa; /* PROTECT, SA missing, dropped */
	__u64 acquires; /* acquire events emitted */
	__u64 acquires_limited; /* acquire suppressed by the per-bucket rate limit */
};
XIPSEC_ASSERT_SIZE(struct spd_bucket_stats, 48);

/* Handed from the inner XDP program to the inner TC program in XDP metadata. */
#define XIPSEC_META_MAGIC 0x78495053u /* "xIPS" */
struct xipsec_xdp_meta {
	__u32 magic;
	__u32 bucket; /* SPD_BUCKET_NONE: no rule matched */
	__u32 flags; /* XIPSEC_META_F_* */
	__u32 gen; /* generation the bucket id came from */
};
XIPSEC_ASSERT_SIZE(struct xipsec_xdp_meta, 16);
#define XIPSEC_META_F_ACQ_DONE (1u << 0) /* XDP already handled the acquire */

#endif
