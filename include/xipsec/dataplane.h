/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dataplane constants shared by the BPF programs (bpf/) and userspace (lib/, loader/):
 * map names, sizes, the global config record, drop reasons and global counters.
 * See /work/notes/dataplane-design.md (docs) for how the pieces fit together.
 */
#ifndef XIPSEC_DATAPLANE_H
#define XIPSEC_DATAPLANE_H

#include "xipsec/types.h"

/* Directory the CLI passes as bpf_object_open_opts.pin_root_path. */
#define XIPSEC_PIN_DIR "/sys/fs/bpf/xipsec"

/* Map names (<= 15 characters: the kernel's BPF_OBJ_NAME_LEN); pinned as XIPSEC_PIN_DIR/NAME. */
#define XIPSEC_MAP_CONFIG   "xipsec_config" /* ARRAY[1] of struct xipsec_config */
#define XIPSEC_MAP_SPD_PFX  "xipsec_spd_pfx" /* HASH spd_pfx_key -> spd_leaf */
#define XIPSEC_MAP_SPD_LENS "xipsec_spd_lens" /* ARRAY[4] of struct spd_lens */
#define XIPSEC_MAP_SPD_BLK4 "xipsec_spd_blk4" /* ARRAY[2 * SPD_BLK4_N] of spd_blk4 */
#define XIPSEC_MAP_SPD_CAND "xipsec_spd_cand" /* ARRAY[2 * SPD_MAX_CANDS] of spd_cand */
#define XIPSEC_MAP_SPD_RULE "xipsec_spd_rule" /* ARRAY[2 * SPD_MAX_RULES] of spd_rule */
#define XIPSEC_MAP_BUCKET   "xipsec_bucket" /* ARRAY[2 * SPD_MAX_BUCKETS] of spd_bucket */
#define XIPSEC_MAP_BKT_STAT "xipsec_bkt_stat" /* PERCPU_ARRAY[SPD_MAX_BUCKETS] */
#define XIPSEC_MAP_SA	    "xipsec_sa" /* ARRAY[XIPSEC_MAX_SA] of struct xipsec_sa */
#define XIPSEC_MAP_SPI	    "xipsec_spi" /* HASH xipsec_spi_key -> __u32 sa id */
#define XIPSEC_MAP_SA_STAT  "xipsec_sa_stat" /* PERCPU_ARRAY[XIPSEC_MAX_SA] */
#define XIPSEC_MAP_DROPS    "xipsec_drops" /* PERCPU_ARRAY[XIPSEC_DROP_MAX] of __u64 */
#define XIPSEC_MAP_STATS    "xipsec_stats" /* PERCPU_ARRAY[XIPSEC_STAT_MAX] of __u64 */
#define XIPSEC_MAP_EVENTS   "xipsec_events" /* RINGBUF of struct xipsec_acquire */
#define XIPSEC_MAP_ACQ_RL   "xipsec_acq_rl" /* ARRAY[SPD_MAX_BUCKETS] of __u64 last-event ns */

/* Program names (bpf_object__find_program_by_name / skeleton fields). */
#define XIPSEC_PROG_INNER_XDP "xipsec_inner_xdp" /* xipsec_inner.bpf.o, SEC("xdp") */
#define XIPSEC_PROG_INNER_TC  "xipsec_inner_tc" /* xipsec_inner.bpf.o, SEC("tc"), ingress */
#define XIPSEC_PROG_OUTER_XDP "xipsec_outer_xdp" /* xipsec_outer.bpf.o, SEC("xdp") */
#define XIPSEC_PROG_OUTER_TC  "xipsec_outer_tc" /* xipsec_outer.bpf.o, SEC("tc"), ingress */

#define XIPSEC_MAX_SA 8192

/* Address families as stored in maps (not AF_*: BPF has no socket headers). */
enum xipsec_family {
	XIPSEC_AF_NONE = 0,
	XIPSEC_AF_INET = 4,
	XIPSEC_AF_INET6 = 6,
};

/* xipsec_config.flags: run-time switches, written by the CLI at any time. */
enum xipsec_config_flags {
	XIPSEC_CFG_DROP_UNKNOWN_SPI = 1u << 0, /* outer XDP drops ESP of no inbound SA */
};

/*
 * The single record of XIPSEC_MAP_CONFIG (key 0). active_gen selects which half
 * of the double-buffered SPD maps the programs read; flipping it is the atomic
 * commit of a new rule set (lib/spd.c).
 */
struct xipsec_config {
	__u32 active_gen; /* 0 or 1 */
	__u32 flags; /* enum xipsec_config_flags */
	__u32 nrules[2]; /* rules stored per generation in XIPSEC_MAP_SPD_RULE */
	__u32 nbuckets[2]; /* bucket ids in use per generation (0..nbuckets-1) */
	__u64 serial; /* incremented by each commit */
};
XIPSEC_ASSERT_SIZE(struct xipsec_config, 32);
XIPSEC_ASSERT_OFF(struct xipsec_config, serial, 24);

/*
 * Drop reasons: BPF helpers return -XIPSEC_DROP_*, entry programs count them in
 * XIPSEC_MAP_DROPS[reason] and drop. Append only; the CLI prints the names.
 */
enum xipsec_drop {
	XIPSEC_DROP_NONE = 0,
	XIPSEC_DROP_TRUNC_IP4, /* IPv4 header truncated, bad version or IHL < 5 */
	XIPSEC_DROP_TRUNC_IP6, /* IPv6 fixed header truncated or bad version */
	XIPSEC_DROP_TRUNC_IP6_EXT, /* IPv6 extension header truncated */
	XIPSEC_DROP_IP6_EXT_DEPTH, /* more than XIPSEC_IP6_MAX_EXT extension headers */
	XIPSEC_DROP_TRUNC_L4, /* first fragment too short for the ports */
	XIPSEC_DROP_SPD_DISCARD, /* DISCARD bucket */
	XIPSEC_DROP_SPD_NO_SA, /* PROTECT bucket, SA not installed, bucket drops */
	XIPSEC_DROP_ESP_SHORT, /* ESP with fewer than 8 bytes (SPI + seq) */
	XIPSEC_DROP_ESP_UNKNOWN_SPI, /* ESP whose SPI is in no inbound SA (switchable) */
	XIPSEC_DROP_INNER_SELECTOR, /* decrypted packet outside its SA's selectors */
	XIPSEC_DROP_INTERNAL, /* inconsistent maps (should never count) */
	XIPSEC_DROP_MAX,
};

/* Global non-drop counters, XIPSEC_MAP_STATS[index]. Append only. */
enum xipsec_stat {
	XIPSEC_STAT_INNER_NON_IP = 0, /* inner: not IPv4/IPv6 (or truncated L2): passed */
	XIPSEC_STAT_INNER_NO_MATCH, /* inner: no rule matched: default action */
	XIPSEC_STAT_INNER_META, /* inner TC: verdict taken from XDP metadata */
	XIPSEC_STAT_INNER_FRAG, /* inner: non-first fragments classified without ports */
	XIPSEC_STAT_OUTER_ESP, /* outer: ESP (or ESP-in-UDP) with a known SPI */
	XIPSEC_STAT_OUTER_ESP_UNKNOWN, /* outer: ESP with an unknown SPI (dropped or not) */
	XIPSEC_STAT_OUTER_IKE, /* outer: IKE on UDP 500 or 4500 with marker */
	XIPSEC_STAT_OUTER_KEEPALIVE, /* outer: NAT-T keepalive (1 byte 0xff) */
	XIPSEC_STAT_OUTER_OTHER, /* outer: anything else, passed untouched */
	XIPSEC_STAT_INBOUND_CHECKED, /* outer TC: secpath, SA known, selectors ok */
	XIPSEC_STAT_INBOUND_UNKNOWN_SA, /* outer TC: secpath of an SA not in XIPSEC_MAP_SPI: passed */
	XIPSEC_STAT_INBOUND_NO_SECPATH, /* outer TC: no secpath: passed */
	XIPSEC_STAT_ACQUIRE_LOST, /* ring buffer full */
	XIPSEC_STAT_MAX,
};

/* Bounded parser depth: IPv6 extension headers (hop-by-hop, routing, dstopts, fragment). */
#define XIPSEC_IP6_MAX_EXT 6

#endif
