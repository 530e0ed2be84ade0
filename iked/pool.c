// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual IP pools with per-client leases; see pool.h for the policy.
 *
 * Leases live in an array indexed by the address's offset in the pool,
 * grown as addresses are first handed out, so a /16 that serves ten clients
 * costs ten entries. Lookups by client are linear: pools serve remote-access
 * clients that connect at human rates, and a scan of a few thousand entries
 * is cheaper than the IKE exchange that asks for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "ike_sa.h"
#include "pool.h"

struct pool_lease {
	bool used; /* handed out at least once */
	bool online;
	uint64_t released; /* release sequence number, for oldest-first takeover */
	uint8_t *id;
	size_t id_len;
	struct sockaddr_storage remote;
};

struct pool {
	char *name;
	int family;
	uint8_t base[16]; /* first address handed out */
	uint32_t size;
	struct pool_lease *leases; /* [0, nalloc) */
	uint32_t nalloc;
	uint32_t fresh; /* no lease below this offset is unused */
	unsigned int online, offline;
	uint64_t seq;
};

static size_t pool_alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* @out = @base + @off, big-endian over @len bytes. */
static void pool_add(uint8_t *out, const uint8_t *base, size_t len, uint32_t off)
{
	uint64_t carry = off;

	for (size_t i = len; i-- > 0;) {
		carry += base[i];
		out[i] = carry & 0xff;
		carry >>= 8;
	}
}

/* @a - @b if it fits in 32 bits and @a >= @b, else UINT64_MAX. */
static uint64_t pool_sub(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t d[16] = { 0 };
	int borrow = 0;

	for (size_t i = len; i-- > 0;) {
		int v = a[i] - b[i] - borrow;

		borrow = v < 0;
		d[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
	if (borrow)
		return UINT64_MAX;
	for (size_t i = 0; i + 4 < len; i++)
		if (d[i])
			return UINT64_MAX;
	return (uint64_t)d[len - 4] << 24 | d[len - 3] << 16 | d[len - 2] << 8 | d[len - 1];
}

int pool_new(const struct conf_pool *cfg, struct pool **out, char *err, size_t errlen)
{
	const struct conf_range *r = &cfg->range;
	size_t len = pool_alen(r->family);
	uint8_t first[16];
	uint64_t span;
	struct pool *p;

	memcpy(first, r->from, len);
	span = pool_sub(r->to, r->from, len);
	if (span != UINT64_MAX)
		span += 1;
	/* A subnet's network address (and an IPv4 subnet's broadcast) is
	 * not a host address; /31, /32, /127, /128 have none to spare. */
	if (r->prefixlen >= 0 && r->prefixlen < (int)(len * 8) - 1) {
		pool_add(first, r->from, len, 1);
		if (span != UINT64_MAX)
			span -= r->family == AF_INET ? 2 : 1;
	}
	if (span == 0) {
		snprintf(err, errlen, "pool %s: no usable address", cfg->name);
		return -EINVAL;
	}
	if (span == UINT64_MAX || span > POOL_MAX_SIZE)
		span = POOL_MAX_SIZE; /* large IPv6 pools: the first 2^20 */

	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(cfg->name))) {
		free(p);
		return -ENOMEM;
	}
	p->family = r->family;
	memcpy(p->base, first, len);
	p->size = (uint32_t)span;
	*out = p;
	return 0;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->nalloc; i++)
		free(p->leases[i].id);
	free(p->leases);
	free(p->name);
	free(p);
}

const char *pool_name(const struct pool *p)
{
	return p->name;
}

int pool_family(const struct pool *p)
{
	return p->family;
}

unsigned int pool_size(const struct pool *p)
{
	return p->size;
}

unsigned int pool_online(const struct pool *p)
{
	return p->online;
}

unsigned int pool_offline(const struct pool *p)
{
	return p->offline;
}

static bool pool_same_id(const struct pool_lease *l, const struct pool_client *c)
{
	return l->id_len == c->id_len && (!c->id_len || !memcmp(l->id, c->id, c->id_len));
}

static bool pool_same_client(const struct pool_lease *l, const struct pool_client *c)
{
	return pool_same_id(l, c) && ike_addr_equal((const struct sockaddr *)&l->remote, c->remote);
}

/* Offset of @a in @p, or UINT32_MAX. */
static uint32_t pool_offset(const struct pool *p, const struct pool_addr *a)
{
	uint64_t off;

	if (!a || a->family != p->family)
		return UINT32_MAX;
	off = pool_sub(a->addr, p->base, pool_alen(p->family));
	return off < p->size ? (uint32_t)off : UINT32_MAX;
}

static int pool_reserve(struct pool *p, uint32_t off)
{
	struct pool_lease *n;
	uint32_t want;

	if (off < p->nalloc)
		return 0;
	want = p->nalloc ? p->nalloc : 16;
	while (want <= off)
		want *= 2;
	if (want > p->size)
		want = p->size;
	n = realloc(p->leases, want * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + p->nalloc, 0, (want - p->nalloc) * sizeof(*n));
	p->leases = n;
	p->nalloc = want;
	return 0;
}

/* Make lease @off online for @c. */
static int pool_take(struct pool *p, uint32_t off, const struct pool_client *c,
		     struct pool_addr *out)
{
	struct pool_lease *l;
	uint8_t *id = NULL;
	int err;

	err = pool_reserve(p, off);
	if (err)
		return err;
	l = &p->leases[off];
	if (!pool_same_id(l, c)) {
		if (c->id_len && !(id = malloc(c->id_len)))
			return -ENOMEM;
		if (id)
			memcpy(id, c->id, c->id_len);
		free(l->id);
		l->id = id;
		l->id_len = c->id_len;
	}
	memset(&l->remote, 0, sizeof(l->remote));
	memcpy(&l->remote, c->remote, ike_addr_len(c->remote));
	if (l->used && !l->online)
		p->offline--;
	if (!l->online)
		p->online++;
	l->used = true;
	l->online = true;
	memset(out, 0, sizeof(*out));
	out->family = p->family;
	pool_add(out->addr, p->base, pool_alen(p->family), off);
	return 0;
}

int pool_acquire(struct pool *p, const struct pool_client *c, const struct pool_addr *want,
		 struct pool_addr *out)
{
	uint32_t off, oldest = UINT32_MAX;

	for (off = 0; off < p->nalloc; off++)
		if (p->leases[off].online && pool_same_client(&p->leases[off], c))
			return pool_take(p, off, c, out);

	off = pool_offset(p, want);
	if (off != UINT32_MAX) {
		const struct pool_lease *l = off < p->nalloc ? &p->leases[off] : NULL;

		if (!l || !l->used || (!l->online && pool_same_id(l, c)))
			return pool_take(p, off, c, out);
	}

	for (off = 0; off < p->nalloc; off++)
		if (p->leases[off].used && !p->leases[off].online &&
		    pool_same_client(&p->leases[off], c))
			return pool_take(p, off, c, out);

	while (p->fresh < p->nalloc && p->leases[p->fresh].used)
		p->fresh++;
	if (p->fresh < p->size)
		return pool_take(p, p->fresh, c, out);

	for (off = 0; off < p->nalloc; off++) {
		const struct pool_lease *l = &p->leases[off];

		if (!l->online && (oldest == UINT32_MAX || l->released < p->leases[oldest].released))
			oldest = off;
	}
	if (oldest != UINT32_MAX)
		return pool_take(p, oldest, c, out);
	return -ENOSPC;
}

int pool_release(struct pool *p, const struct pool_addr *a)
{
	uint32_t off = pool_offset(p, a);
	struct pool_lease *l;

	if (off == UINT32_MAX || off >= p->nalloc || !p->leases[off].online)
		return -ENOENT;
	l = &p->leases[off];
	l->online = false;
	l->released = ++p->seq;
	p->online--;
	p->offline++;
	return 0;
}
