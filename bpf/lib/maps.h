/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map of the dataplane, defined identically in each BPF object so that
 * LIBBPF_PIN_BY_NAME makes the objects share one instance under the pin root
 * the loader chooses (XIPSEC_PIN_DIR). Names and layouts: include/xipsec/.
 */
#ifndef XIPSEC_BPF_MAPS_H
#define XIPSEC_BPF_MAPS_H

#include "lib/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xipsec_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_config SEC(".maps");

/* No prealloc: sized for the worst case, used far below it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPD_MAX_PFX);
	__type(key, struct spd_pfx_key);
	__type(value, struct spd_leaf);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_spd_pfx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct spd_lens);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_spd_lens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SPD_BLK4_N);
	__type(key, __u32);
	__type(value, struct spd_blk4);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_spd_blk4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SPD_MAX_CANDS);
	__type(key, __u32);
	__type(value, struct spd_cand);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_spd_cand SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SPD_MAX_RULES);
	__type(key, __u32);
	__type(value, struct spd_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_spd_rule SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SPD_MAX_BUCKETS);
	__type(key, __u32);
	__type(value, struct spd_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SPD_MAX_BUCKETS);
	__type(key, __u32);
	__type(value, struct spd_bucket_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_bkt_stat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XIPSEC_MAX_SA);
	__type(key, __u32);
	__type(value, struct xipsec_sa);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_sa SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XIPSEC_MAX_SA);
	__type(key, struct xipsec_spi_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_spi SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XIPSEC_MAX_SA);
	__type(key, __u32);
	__type(value, struct xipsec_sa_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_sa_stat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XIPSEC_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XIPSEC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPD_MAX_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xipsec_acq_rl SEC(".maps");

#endif
