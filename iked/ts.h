/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Traffic selectors (RFC 7296 2.9, 3.13.1): building our TS payloads from a
 * child's configuration, narrowing a peer's offer to what we allow
 * (responder), and checking that a responder's answer stays inside our
 * offer (initiator).
 *
 * Addresses are compared as big-endian byte strings, so one code path serves
 * IPv4 and IPv6. A selector with IP protocol 0 means "any protocol".
 */
#ifndef XIKED_TS_H
#define XIKED_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"
#include "ikev2_pld.h"
#include "pool.h"

/* One selector per configured entry; "dynamic" becomes @addr (the IKE or
 * virtual address) as a single host. -EINVAL if @addr is needed but has no
 * IPv4/IPv6 family, -E2BIG over IKEV2_MAX_TS. */
int ts_from_conf(const struct conf_ts *v, size_t n, const struct sockaddr *addr,
		 struct ikev2_ts_list *out);

/* What "dynamic" stands for when virtual IPs are involved. */
struct ts_dynamic {
	const struct sockaddr *addr; /* the IKE address */
	const struct pool_addr *vips; /* virtual IPs: replace @addr, one selector each */
	unsigned int nvips;
	bool any4, any6; /* initiator asking for a virtual IP: 0.0.0.0/0, ::/0 */
};

/* ts_from_conf() with "dynamic" as @dyn says (RFC 7296 2.19: an initiator
 * that requests an address proposes any address; the responder narrows
 * to the one it assigned). */
int ts_from_conf_dyn(const struct conf_ts *v, size_t n, const struct ts_dynamic *dyn,
		     struct ikev2_ts_list *out);

/* Intersection of one pair; false if empty or of different families. */
bool ts_intersect(const struct ikev2_ts *a, const struct ikev2_ts *b, struct ikev2_ts *out);

/*
 * Responder narrowing: every non-empty intersection of a selector the peer
 * @offered with one we @allow, duplicates removed, in the peer's order.
 * -ENOENT if nothing is left (TS_UNACCEPTABLE).
 */
int ts_narrow(const struct ikev2_ts_list *offered, const struct ikev2_ts_list *allow,
	      struct ikev2_ts_list *out);

/* True if each selector of @sub lies inside one selector of @super (the
 * initiator's check of a narrowed reply). An empty @sub is not a subset. */
bool ts_subset(const struct ikev2_ts_list *sub, const struct ikev2_ts_list *super);

/* "10.0.0.0..10.0.0.255[proto/ports]" style text for logs. */
void ts_str(const struct ikev2_ts *ts, char *buf, size_t len);
void ts_list_str(const struct ikev2_ts_list *l, char *buf, size_t len);

#endif
