/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Includes and constants every xipsec BPF object needs. vmlinux.h comes
 * first so the shared include/xipsec headers skip <linux/types.h>.
 */
#ifndef XIPSEC_BPF_COMMON_H
#define XIPSEC_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xipsec/dataplane.h"
#include "xipsec/spd.h"
#include "xipsec/sa.h"
#include "xipsec/events.h"

/* UAPI macros that are not in BTF, hence not in vmlinux.h. */
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88A8

#define TC_ACT_OK   0
#define TC_ACT_SHOT 2

#define XIPSEC_IPPROTO_HOPOPTS	0
#define XIPSEC_IPPROTO_ICMP	1
#define XIPSEC_IPPROTO_TCP	6
#define XIPSEC_IPPROTO_UDP	17
#define XIPSEC_IPPROTO_ROUTING	43
#define XIPSEC_IPPROTO_FRAGMENT 44
#define XIPSEC_IPPROTO_ESP	50
#define XIPSEC_IPPROTO_ICMPV6	58
#define XIPSEC_IPPROTO_DSTOPTS	60
#define XIPSEC_IPPROTO_SCTP	132
#define XIPSEC_IPPROTO_UDPLITE	136

#define IP4_OFFSET_MASK 0x1fff /* IPv4 fragment offset, host order */
#define IP6_OFFSET_MASK 0xfff8 /* IPv6 fragment offset, host order */

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

char LICENSE[] SEC("license") = "GPL";

#endif
