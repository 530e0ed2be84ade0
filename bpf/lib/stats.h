/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-CPU counters: plain increments, no atomics needed. */
#ifndef XIPSEC_BPF_STATS_H
#define XIPSEC_BPF_STATS_H

#include "lib/maps.h"

static __always_inline void drop_count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&xipsec_drops, &reason);

	if (c)
		*c += 1;
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&xipsec_stats, &idx);

	if (c)
		*c += 1;
}

static __always_inline struct spd_bucket_stats *bucket_stats(__u32 bucket)
{
	return bpf_map_lookup_elem(&xipsec_bkt_stat, &bucket);
}

static __always_inline struct xipsec_sa_stats *sa_stats(__u32 sa_id)
{
	return bpf_map_lookup_elem(&xipsec_sa_stat, &sa_id);
}

static __always_inline __u32 config_flags(void)
{
	__u32 zero = 0;
	struct xipsec_config *cfg = bpf_map_lookup_elem(&xipsec_config, &zero);

	return cfg ? cfg->flags : 0;
}

static __always_inline __u32 config_active_gen(void)
{
	__u32 zero = 0;
	struct xipsec_config *cfg = bpf_map_lookup_elem(&xipsec_config, &zero);

	return cfg ? (cfg->active_gen & 1) : 0;
}

#endif
