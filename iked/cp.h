/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Configuration payloads for virtual IPs (RFC 7296 2.19, 3.15) in IKE_AUTH:
 *
 *	initiator (vips = 0.0.0.0)              responder (pools = rw)
 *	CP(CFG_REQUEST) INTERNAL_IP4_ADDRESS()  -->
 *	TSi 0.0.0.0/0, TSr ...                        lease from the pool
 *	                                        <--  CP(CFG_REPLY) INTERNAL_IP4_ADDRESS(a),
 *	                                             INTERNAL_IP4_DNS(d), TSi a/32, TSr ...
 *
 * The responder narrows the initiator's "dynamic" selectors to the leased
 * address, so each client's child SAs carry only its own virtual IP. The
 * pools themselves are shared by every engine of a daemon (configuration
 * generations) through a cp_pools set, so a reload never hands out an
 * address an older generation's SA still holds.
 */
#ifndef XIKED_CP_H
#define XIKED_CP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "ikev2_pld.h"
#include "pool.h"

#define CP_MAX_VIPS 2 /* one IPv4, one IPv6 */
#define CP_MAX_DNS  4

/* Pools by name, created on first use and shared by engines. */
struct cp_pools;

int cp_pools_new(struct cp_pools **out);
void cp_pools_free(struct cp_pools *set);
/* The pool for @cfg: an existing one with the same name and range, else a
 * new one. -EINVAL (message in @err) for an unusable range. */
int cp_pools_get(struct cp_pools *set, const struct conf_pool *cfg, struct pool **out, char *err,
		 size_t errlen);

/* A CP payload and the attribute bytes it points to. */
struct cp_msg {
	struct ikev2_cp cp;
	uint8_t store[IKEV2_MAX_CP_ATTRS][17];
};

/* Addresses held by one IKE SA: leased to the peer or assigned to us. */
struct cp_vips {
	struct pool_addr addr[CP_MAX_VIPS];
	struct pool *pool[CP_MAX_VIPS]; /* responder: where to release it */
	unsigned int n;
};

/* Initiator: the CFG_REQUEST for @conn's vips (a specific address is asked
 * for as such, 0.0.0.0 / :: as empty attributes), with DNS requested. */
void cp_build_request(const struct conf_conn *conn, struct cp_msg *out);

/*
 * Initiator: the addresses in a CFG_REPLY, checked against what @conn
 * asked for. -EBADMSG for a malformed attribute, -ENOENT if the reply has
 * no address of a family we requested.
 */
int cp_parse_reply(const struct conf_conn *conn, const struct ikev2_cp *cp, struct cp_vips *out);

/*
 * Responder: lease one address per family requested in @req from @conn's
 * pools (in their order) to @client, fill the CFG_REPLY in @reply (with the
 * pools' DNS servers) and the leases in @vips. A requested family without
 * a pool or a free address is left out; if that leaves no address at all,
 * -ENOENT (no pool) or -ENOSPC (pools full): the caller answers
 * INTERNAL_ADDRESS_FAILURE. -EBADMSG for a malformed request. Nothing
 * stays leased on error. A request without address attributes gets an
 * empty reply.
 */
int cp_respond(struct cp_pools *set, const struct conf_conn *conn, const struct ikev2_cp *req,
	       const struct pool_client *client, struct cp_vips *vips, struct cp_msg *reply);

/* Responder: give the leases back (the IKE SA is gone). */
void cp_release(struct cp_vips *vips);

/* The virtual IP of @family in @v, or NULL. */
const struct pool_addr *cp_vip(const struct cp_vips *v, int family);

#endif
