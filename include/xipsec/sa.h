/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SA records shared by the dataplane and the CLI / daemon that install the
 * kernel xfrm states. An SA id is an index into xipsec_sa chosen by userspace.
 *
 * Outbound SA: a PROTECT bucket names it; the inner TC program sets
 *   skb->mark = (skb->mark & ~mark_mask) | mark, and the CLI installs the
 *   xfrm policy for that mark/mask so the kernel's lookup picks the SA.
 * Inbound SA: xipsec_spi[spi] = id; the outer XDP counts ESP per SPI and may
 *   drop unknown SPIs; the outer TC checks decrypted packets against sel[].
 */
#ifndef XIPSEC_SA_SHARED_H
#define XIPSEC_SA_SHARED_H

#include "xipsec/types.h"
#include "xipsec/spd.h"

enum xipsec_sa_flags {
	XIPSEC_SA_F_INSTALLED = 1u << 0, /* kernel state present: PROTECT may steer */
	XIPSEC_SA_F_INBOUND = 1u << 1,
	XIPSEC_SA_F_OUTBOUND = 1u << 2,
};

#define XIPSEC_SA_MAX_SEL 4

/* One traffic-selector pair (addresses only) of an inbound SA. */
struct xipsec_sel {
	__u8 family; /* enum xipsec_family; 0 = unused slot */
	__u8 pad[3];
	struct xipsec_prefix src; /* inner source of decrypted packets (peer side) */
	struct xipsec_prefix dst; /* inner destination (our side) */
};
XIPSEC_ASSERT_SIZE(struct xipsec_sel, 68);

struct xipsec_sa {
	__u32 flags; /* enum xipsec_sa_flags */
	__be32 spi;
	__u32 reqid;
	__u32 mark; /* outbound: value written into skb->mark */
	__u32 mark_mask; /* outbound: bits of skb->mark owned by xipsec */
	__u8 nsel; /* inbound: used entries of sel[] */
	__u8 pad[3];
	struct xipsec_sel sel[XIPSEC_SA_MAX_SEL];
};
XIPSEC_ASSERT_SIZE(struct xipsec_sa, 296);
XIPSEC_ASSERT_OFF(struct xipsec_sa, sel, 24);

/* xipsec_spi key: inbound SPI in network order, as in the ESP header. */
struct xipsec_spi_key {
	__be32 spi;
};
XIPSEC_ASSERT_SIZE(struct xipsec_spi_key, 4);

/* Per-CPU counters per SA id (xipsec_sa_stat), summed by the CLI. */
struct xipsec_sa_stats {
	__u64 tx_packets; /* steered to the SA by PROTECT (inner TC) */
	__u64 tx_bytes;
	__u64 rx_packets; /* ESP received with the SA's SPI (outer XDP) */
	__u64 rx_bytes;
	__u64 rx_inner_packets; /* decrypted, inner selectors ok (outer TC) */
	__u64 rx_inner_bytes;
	__u64 drop_selector; /* decrypted, inner outside selectors: dropped */
	__u64 pad;
};
XIPSEC_ASSERT_SIZE(struct xipsec_sa_stats, 64);

#endif
