/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Outer prefilter: tell ESP, ESP-in-UDP, IKE and NAT-T keepalives apart.
 *
 *   IP | ESP: SPI 4 | seq 4 | ...                          (proto 50)
 *   IP | UDP dport 4500 | 0xff                              NAT-T keepalive (RFC 3948)
 *   IP | UDP dport 4500 | 00 00 00 00 (non-ESP marker) | IKE (RFC 3948)
 *   IP | UDP dport 4500 | SPI (non-zero) | seq | ...       ESP in UDP
 *   IP | UDP dport 500  | IKE
 *
 * Lengths come from the IP and UDP headers, not data_end: Ethernet pads
 * short frames to 60 bytes, so a 1-byte keepalive arrives with padding.
 * Returns XDP_PASS, or -XIPSEC_DROP_* for the caller to count and drop.
 */
#ifndef XIPSEC_BPF_ESP_H
#define XIPSEC_BPF_ESP_H

#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/stats.h"

const volatile __u16 ike_port = 500;
const volatile __u16 natt_port = 4500;

#define ESP_MIN_LEN 8 /* SPI + sequence number */

static __always_inline int esp_count_spi(__be32 spi, __u32 len)
{
	struct xipsec_spi_key key = { .spi = spi };
	struct xipsec_sa_stats *ss;
	__u32 *id;

	id = bpf_map_lookup_elem(&xipsec_spi, &key);
	if (!id) {
		stat_inc(XIPSEC_STAT_OUTER_ESP_UNKNOWN);
		if (config_flags() & XIPSEC_CFG_DROP_UNKNOWN_SPI)
			return -XIPSEC_DROP_ESP_UNKNOWN_SPI;
		return XDP_PASS;
	}
	stat_inc(XIPSEC_STAT_OUTER_ESP);
	ss = sa_stats(*id);
	if (ss) {
		ss->rx_packets++;
		ss->rx_bytes += len;
	}
	return XDP_PASS;
}

static __always_inline int outer_classify(void *data, void *data_end)
{
	struct pkt_info pi = {};
	struct udphdr *udp;
	__u32 l4, l3_end, ulen;
	__u8 *p;
	int ret;

	ret = parse_l3(data, data_end, &pi);
	/* Malformed IP is the stack's business here: pass untouched. */
	if (ret <= 0 || pi.frag)
		goto other;
	l4 = pi.l4_off & 0x3fff;
	l3_end = pi.l3_off + pi.l3_len;
	/*
	 * Compare as integers: the 6.1 verifier does not bound the result of
	 * a byte swap (tot_len), so data + l3_end would be rejected.
	 */
	if (l3_end < l4 || l3_end > (__u32)(data_end - data))
		goto other; /* IP length inconsistent with the frame */

	if (pi.proto == XIPSEC_IPPROTO_ESP) {
		p = data + l4;
		if (l3_end - l4 < ESP_MIN_LEN || (void *)(p + ESP_MIN_LEN) > data_end)
			return -XIPSEC_DROP_ESP_SHORT;
		return esp_count_spi(*(__be32 *)p, l3_end - pi.l3_off);
	}
	if (pi.proto != XIPSEC_IPPROTO_UDP)
		goto other;

	udp = data + l4;
	if ((void *)(udp + 1) > data_end)
		goto other;
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || ulen > l3_end - l4)
		goto other;
	if (udp->dest == bpf_htons(ike_port)) {
		stat_inc(XIPSEC_STAT_OUTER_IKE);
		return XDP_PASS;
	}
	if (udp->dest != bpf_htons(natt_port))
		goto other;

	ulen -= sizeof(*udp);
	p = (void *)(udp + 1);
	if (ulen == 1) {
		if ((void *)(p + 1) > data_end)
			goto other;
		if (p[0] == 0xff) {
			stat_inc(XIPSEC_STAT_OUTER_KEEPALIVE);
			return XDP_PASS;
		}
		return -XIPSEC_DROP_ESP_SHORT;
	}
	if (ulen < 4)
		return -XIPSEC_DROP_ESP_SHORT;
	if ((void *)(p + 4) > data_end)
		goto other;
	if (*(__u32 *)p == 0) {
		stat_inc(XIPSEC_STAT_OUTER_IKE);
		return XDP_PASS;
	}
	if (ulen < ESP_MIN_LEN)
		return -XIPSEC_DROP_ESP_SHORT;
	return esp_count_spi(*(__be32 *)p, l3_end - pi.l3_off);
other:
	stat_inc(XIPSEC_STAT_OUTER_OTHER);
	return XDP_PASS;
}

#endif
