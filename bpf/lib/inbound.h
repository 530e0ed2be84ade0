/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inbound inner check: a packet decrypted by an SA must have inner addresses
 * inside that SA's traffic selectors (RFC 4301 5.2, the check the kernel
 * leaves to the inbound policy, which a permissive policy skips).
 */
#ifndef XIPSEC_BPF_INBOUND_H
#define XIPSEC_BPF_INBOUND_H

#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/stats.h"

static __always_inline bool prefix_match(const struct xipsec_prefix *p, const __be32 a[4])
{
	return (a[0] & p->mask[0]) == p->net[0] && (a[1] & p->mask[1]) == p->net[1] &&
	       (a[2] & p->mask[2]) == p->net[2] && (a[3] & p->mask[3]) == p->net[3];
}

/* 0 if some selector of @sa covers (src, dst), else -XIPSEC_DROP_INNER_SELECTOR. */
static __always_inline int inbound_sel_check(const struct xipsec_sa *sa, const struct pkt_info *pi)
{
	int i;

#pragma unroll
	for (i = 0; i < XIPSEC_SA_MAX_SEL; i++) {
		const struct xipsec_sel *s = &sa->sel[i];

		if (i >= sa->nsel)
			break;
		if (s->family == pi->family && prefix_match(&s->src, pi->src) &&
		    prefix_match(&s->dst, pi->dst))
			return 0;
	}
	return -XIPSEC_DROP_INNER_SELECTOR;
}

#endif
