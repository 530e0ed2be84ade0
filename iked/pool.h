/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtual IP address pools (swanctl.conf pools.<name>.addrs) with leases
 * held per client, not per identity.
 *
 * strongSwan's in-memory pools key leases by the peer's identity, so two
 * road warriors behind one NAT that share a certificate or a PSK identity
 * get the same address, and the second one's policies then shadow the
 * first's. Here a client is its identity plus the outer address and port
 * it was seen from (after NAT), so such clients get distinct addresses.
 *
 * A released lease goes "offline" but keeps its client: the same client
 * reconnecting, or the same identity asking for that address again in its
 * CFG_REQUEST (a client whose NAT mapping changed), gets it back. Never-used
 * addresses are handed out before offline leases are taken over, oldest
 * release first.
 *
 * IPv4 pools given as a subnet skip the network and broadcast addresses
 * (as strongSwan does); ranges hand out every address in them.
 */
#ifndef XIKED_POOL_H
#define XIKED_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"

/* Larger pools are refused: leases are kept in arrays indexed by offset. */
#define POOL_MAX_SIZE (1u << 20)

struct pool;

/* Who asks for an address. */
struct pool_client {
	const uint8_t *id; /* the peer's ID payload body, as in struct ike_sa */
	size_t id_len;
	const struct sockaddr *remote; /* outer address and port of the peer */
};

/* One address of a pool; family AF_INET or AF_INET6, network order. */
struct pool_addr {
	int family;
	uint8_t addr[16];
};

/* -EINVAL for an empty or too large range (the message in @err). */
int pool_new(const struct conf_pool *cfg, struct pool **out, char *err, size_t errlen);
void pool_free(struct pool *p);

const char *pool_name(const struct pool *p);
int pool_family(const struct pool *p);

/*
 * Lease an address to @c. @want (may be NULL or the unspecified address) is
 * the address the client asked for; it is honoured when it is in the pool
 * and either unused or last leased to the same identity. A client holding
 * an online lease gets that one again. -ENOSPC when every address is online.
 */
int pool_acquire(struct pool *p, const struct pool_client *c, const struct pool_addr *want,
		 struct pool_addr *out);
/* Take @a offline; -ENOENT if it is not an online lease of this pool. */
int pool_release(struct pool *p, const struct pool_addr *a);

/* Counts for status output and tests. */
unsigned int pool_size(const struct pool *p);
unsigned int pool_online(const struct pool *p);
unsigned int pool_offline(const struct pool *p);

#endif
