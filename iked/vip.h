/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtual IPs on the client host, the way strongSwan installs them: the
 * address assigned by the gateway (CFG_REPLY) goes on the interface that
 * routes to the gateway, and each child's remote selectors get a route in a
 * routing table of our own with that address as preferred source, so
 * locally sent traffic leaves with the virtual IP and matches the child's
 * policy:
 *
 *	ip addr add 10.3.0.1/32 dev out0
 *	ip rule add priority 220 lookup 220            (once, while needed)
 *	ip route add 10.2.0.0/24 via 198.51.100.254 dev out0 src 10.3.0.1 table 220
 *
 * Everything added is remembered and removed again by vip_del()/
 * vip_route_del()/vip_close(); an address or route that already existed is
 * left to its owner.
 */
#ifndef XIKED_VIP_H
#define XIKED_VIP_H

#include <stdint.h>
#include <sys/socket.h>

#include "ikev2_pld.h"
#include "pool.h"

#define VIP_TABLE 220 /* as strongSwan's charon.routing_table */

struct vip_ctx;

int vip_open(uint32_t table, struct vip_ctx **out);
/* Removes every address, route and the rule this context added. */
void vip_close(struct vip_ctx *v);

/* Add @a on the interface the kernel routes @peer through. */
int vip_add(struct vip_ctx *v, const struct sockaddr *peer, const struct pool_addr *a);
int vip_del(struct vip_ctx *v, const struct pool_addr *a);

/* Routes for @dst (split into prefixes) via the path to @peer, source @src. */
int vip_route_add(struct vip_ctx *v, const struct sockaddr *peer, const struct pool_addr *src,
		  const struct ikev2_ts *dst);
void vip_route_del(struct vip_ctx *v, const struct pool_addr *src, const struct ikev2_ts *dst);

#endif
