/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Records on the xipsec_events ring buffer, read by xiked / `xipsec monitor`.
 */
#ifndef XIPSEC_EVENTS_H
#define XIPSEC_EVENTS_H

#include "xipsec/types.h"

enum xipsec_event_type {
	XIPSEC_EV_ACQUIRE = 1,
};

enum xipsec_acquire_flags {
	XIPSEC_ACQ_F_NOPORTS = 1u << 0, /* no ports in the packet (fragment, no L4 ports) */
	XIPSEC_ACQ_F_HELD = 1u << 1, /* packet was passed (hold bucket), not dropped */
};

/*
 * PROTECT bucket whose SA is not installed: the packet's exact selectors.
 * Rate-limited per bucket (rodata acquire_interval_ns of xipsec_inner).
 * Ports in host order; for ICMP/ICMPv6, sport = type and dport = code (as xfrm).
 */
struct xipsec_acquire {
	__u32 type; /* XIPSEC_EV_ACQUIRE */
	__u32 bucket;
	__u32 sa_id;
	__u32 ifindex; /* inner interface the packet arrived on */
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u8 family; /* enum xipsec_family */
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u16 flags; /* enum xipsec_acquire_flags */
	__be32 src[4]; /* IPv4 in src[0] */
	__be32 dst[4];
};
XIPSEC_ASSERT_SIZE(struct xipsec_acquire, 64);
XIPSEC_ASSERT_OFF(struct xipsec_acquire, src, 32);

#endif
