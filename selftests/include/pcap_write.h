/* SPDX-License-Identifier: GPL-2.0-only */
/* Test-only: write UDP datagrams into a pcap file (LINKTYPE_RAW, IPv4). */
#ifndef XIPSEC_TEST_PCAP_WRITE_H
#define XIPSEC_TEST_PCAP_WRITE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline int pcap_begin(FILE *f)
{
	/* magic, v2.4, thiszone, sigfigs, snaplen, LINKTYPE_RAW (101) */
	const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101 };

	return fwrite(hdr, sizeof(hdr), 1, f) == 1 ? 0 : -1;
}

/* One IPv4/UDP packet 192.0.2.1:sport -> 192.0.2.2:dport carrying @data. */
static inline int pcap_udp4(FILE *f, uint16_t sport, uint16_t dport, const uint8_t *data,
			    size_t len, uint32_t ts)
{
	uint8_t ip[28] = { 0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2 };
	uint32_t rec[4] = { ts, 0, (uint32_t)(len + 28), (uint32_t)(len + 28) };
	uint32_t sum = 0;
	size_t i;

	if (len > 65535 - 28)
		return -1;
	ip[2] = (len + 28) >> 8;
	ip[3] = (len + 28) & 0xff;
	for (i = 0; i < 20; i += 2)
		sum += ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = ~sum >> 8;
	ip[11] = ~sum & 0xff;
	ip[20] = sport >> 8;
	ip[21] = sport & 0xff;
	ip[22] = dport >> 8;
	ip[23] = dport & 0xff;
	ip[24] = (len + 8) >> 8;
	ip[25] = (len + 8) & 0xff;	/* checksum 0: none, allowed for IPv4 */
	if (fwrite(rec, sizeof(rec), 1, f) != 1 || fwrite(ip, sizeof(ip), 1, f) != 1 ||
	    fwrite(data, len, 1, f) != 1)
		return -1;
	return 0;
}

#endif
