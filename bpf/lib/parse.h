/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parser shared by the XDP and TC programs: works on [data, data_end)
 * with direct packet access, so every read is preceded by a bounds check the
 * verifier can see.
 *
 *   | Ethernet 14 | [802.1Q/802.1ad tag 4] | IPv4 20..60 or IPv6 40 + ext | L4 |
 *
 * Returns 1 for an IP packet (fields of struct pkt_info filled), 0 for
 * anything that is not IP (not ours: passed), -XIPSEC_DROP_* for a malformed
 * IP packet. Policy decisions for odd packets, in one place:
 *   - truncated Ethernet header, non-IP ethertype, a second VLAN tag: not IP
 *   - IPv4 options: skipped (IHL); IHL < 5, version != 4 or IHL beyond the
 *     packet: TRUNC_IP4
 *   - IPv6: hop-by-hop, routing, destination options and fragment headers are
 *     walked, at most XIPSEC_IP6_MAX_EXT of them (IP6_EXT_DEPTH beyond)
 *   - fragments: the first (offset 0) carries the ports and is parsed like any
 *     packet; later ones have no ports (noports = 1)
 *   - TCP/UDP/UDP-Lite/SCTP: ports; ICMP/ICMPv6: type -> sport, code -> dport
 *     (the xfrm selector convention); other protocols: noports = 1
 *   - a first fragment too short for its ports: TRUNC_L4
 */
#ifndef XIPSEC_BPF_PARSE_H
#define XIPSEC_BPF_PARSE_H

#include "lib/common.h"

struct pkt_info {
	__be32 src[4]; /* IPv4 in [0], rest zero */
	__be32 dst[4];
	__u8 family; /* XIPSEC_AF_INET / XIPSEC_AF_INET6 */
	__u8 proto; /* upper-layer protocol after extension headers */
	__u8 noports; /* ports unknown: fragment or protocol without ports */
	__u8 frag; /* a fragment (first or later) */
	__u16 sport; /* host order */
	__u16 dport;
	__u16 l3_off; /* offset of the IP header from data */
	__u16 l4_off; /* offset of the upper-layer header (valid unless frag later) */
	__u32 l3_len; /* IP total length claimed by the header */
};

struct xipsec_vlan {
	__be16 tci;
	__be16 proto;
};

/* Common layout of hop-by-hop, routing and destination options headers. */
struct xipsec_ip6_ext {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-octet units, not counting the first 8 */
};

struct xipsec_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

/* Ethernet + at most one VLAN tag: returns the L3 ethertype and sets *off. */
static __always_inline __be16 parse_eth(void *data, void *data_end, __u32 *off)
{
	struct ethhdr *eth = data;
	struct xipsec_vlan *vh;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return 0;
	proto = eth->h_proto;
	*off = sizeof(*eth);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		vh = data + sizeof(*eth);
		if ((void *)(vh + 1) > data_end)
			return 0;
		proto = vh->proto;
		*off += sizeof(*vh);
	}
	return proto;
}

static __always_inline int parse_ip4(void *data, void *data_end, __u32 off, struct pkt_info *pi)
{
	struct iphdr *ip = data + off;
	__u32 hlen;
	__u16 frag;

	if ((void *)(ip + 1) > data_end)
		return -XIPSEC_DROP_TRUNC_IP4;
	if (ip->version != 4 || ip->ihl < 5)
		return -XIPSEC_DROP_TRUNC_IP4;
	/* ihl is 4 bits: hlen in [20, 60], a bound the verifier tracks. */
	hlen = ip->ihl * 4;
	if (data + off + hlen > data_end)
		return -XIPSEC_DROP_TRUNC_IP4;

	pi->family = XIPSEC_AF_INET;
	pi->src[0] = ip->saddr;
	pi->dst[0] = ip->daddr;
	pi->proto = ip->protocol;
	pi->l3_off = off;
	pi->l4_off = off + hlen;
	pi->l3_len = bpf_ntohs(ip->tot_len);
	frag = bpf_ntohs(ip->frag_off);
	if (frag & (IP4_OFFSET_MASK | 0x2000 /* MF */))
		pi->frag = 1;
	if (frag & IP4_OFFSET_MASK)
		pi->noports = 1;
	return 1;
}

static __always_inline int parse_ip6(void *data, void *data_end, __u32 off, struct pkt_info *pi)
{
	struct ipv6hdr *ip6 = data + off;
	struct xipsec_ip6_frag *fh;
	struct xipsec_ip6_ext *eh;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return -XIPSEC_DROP_TRUNC_IP6;
	if (ip6->version != 6)
		return -XIPSEC_DROP_TRUNC_IP6;

	pi->family = XIPSEC_AF_INET6;
	__builtin_memcpy(pi->src, &ip6->saddr, 16);
	__builtin_memcpy(pi->dst, &ip6->daddr, 16);
	pi->l3_off = off;
	pi->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	nexthdr = ip6->nexthdr;
	off += sizeof(*ip6);

	/*
	 * Unrolled: each step adds at most 2048 to off, so off stays far below
	 * the verifier's 64 KiB packet-offset limit and every pointer below
	 * is "pkt + bounded var", which a single data_end check validates.
	 */
#pragma unroll
	for (i = 0; i < XIPSEC_IP6_MAX_EXT; i++) {
		switch (nexthdr) {
		case XIPSEC_IPPROTO_HOPOPTS:
		case XIPSEC_IPPROTO_ROUTING:
		case XIPSEC_IPPROTO_DSTOPTS:
			eh = data + off;
			/* The shortest extension header is 8 bytes. */
			if ((void *)eh + 8 > data_end)
				return -XIPSEC_DROP_TRUNC_IP6_EXT;
			nexthdr = eh->nexthdr;
			off += (eh->hdrlen + 1) * 8;
			break;
		case XIPSEC_IPPROTO_FRAGMENT:
			fh = data + off;
			if ((void *)(fh + 1) > data_end)
				return -XIPSEC_DROP_TRUNC_IP6_EXT;
			pi->frag = 1;
			nexthdr = fh->nexthdr;
			off += sizeof(*fh);
			if (bpf_ntohs(fh->frag_off) & IP6_OFFSET_MASK) {
				pi->noports = 1;
				goto done;
			}
			break;
		default:
			goto done;
		}
	}
	if (nexthdr == XIPSEC_IPPROTO_HOPOPTS || nexthdr == XIPSEC_IPPROTO_ROUTING ||
	    nexthdr == XIPSEC_IPPROTO_DSTOPTS || nexthdr == XIPSEC_IPPROTO_FRAGMENT)
		return -XIPSEC_DROP_IP6_EXT_DEPTH;
done:
	pi->proto = nexthdr;
	pi->l4_off = off;
	return 1;
}

/* L3 only: Ethernet, VLAN, IPv4/IPv6 (ports not read). */
static __always_inline int parse_l3(void *data, void *data_end, struct pkt_info *pi)
{
	__u32 off = 0;
	__be16 proto = parse_eth(data, data_end, &off);

	if (proto == bpf_htons(ETH_P_IP))
		return parse_ip4(data, data_end, off, pi);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ip6(data, data_end, off, pi);
	return 0;
}

/* Full inner parse: L3 plus the selector ports (see the policy above). */
static __always_inline int parse_inner(void *data, void *data_end, struct pkt_info *pi)
{
	__u8 *l4;
	int ret;

	ret = parse_l3(data, data_end, pi);
	if (ret <= 0)
		return ret;
	if (pi->noports)
		return 1;

	/* l4_off <= 14 + 4 + 40 + 6 * 2048: masking keeps that bound explicit. */
	l4 = data + (pi->l4_off & 0x3fff);
	switch (pi->proto) {
	case XIPSEC_IPPROTO_TCP:
	case XIPSEC_IPPROTO_UDP:
	case XIPSEC_IPPROTO_UDPLITE:
	case XIPSEC_IPPROTO_SCTP:
		if ((void *)l4 + 4 > data_end)
			return -XIPSEC_DROP_TRUNC_L4;
		pi->sport = ((__u16)l4[0] << 8) | l4[1];
		pi->dport = ((__u16)l4[2] << 8) | l4[3];
		break;
	case XIPSEC_IPPROTO_ICMP:
	case XIPSEC_IPPROTO_ICMPV6:
		if ((void *)l4 + 2 > data_end)
			return -XIPSEC_DROP_TRUNC_L4;
		pi->sport = l4[0];
		pi->dport = l4[1];
		break;
	default:
		pi->noports = 1;
		break;
	}
	return 1;
}

#endif
