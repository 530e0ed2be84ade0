// SPDX-License-Identifier: GPL-2.0-only
/*
 * SPD rule compiler and map writer (API and map layout: spd.h,
 * include/xipsec/spd.h).
 *
 * Compilation groups rules by destination prefix. Every distinct prefix P
 * becomes one leaf whose candidate list holds all rules whose destination
 * prefix contains P, sorted by (priority, rule index). A packet's longest
 * matching leaf therefore lists every rule whose destination covers the
 * packet, and the first candidate that matches the rest of the selector is
 * the answer. Ancestors of P are found by masking P to each prefix length in
 * use and probing a hash of the groups: O(rules x lengths in use).
 *
 * The longest match itself is a binary search on the lengths in use
 * (include/xipsec/spd.h): for each leaf, every length the search visits on
 * its way to the leaf's length, and from which it must continue to longer
 * lengths, gets a marker entry; a marker carries the leaf of the longest real
 * prefix that covers it, so the search never backtracks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_maps.h"
#include "spd.h"

#define SPD_BATCH 8192
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, leaks out of some BPF commands */
#endif

static void spd_err(struct spd_error *err, int rule, int bucket, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void spd_err(struct spd_error *err, int rule, int bucket, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->rule = rule;
	err->bucket = bucket;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int spd_parse_prefix(const char *s, uint8_t *family, __be32 addr[4], uint8_t *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(s);
	unsigned long len;
	char *slash, *end;
	int max;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = XIPSEC_AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = XIPSEC_AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	if (!slash) {
		*plen = max;
		return 0;
	}
	if (*slash < '0' || *slash > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash, &end, 10);
	if (errno || *end || len > (unsigned long)max)
		return -EINVAL;
	*plen = len;
	return 0;
}

void spd_format_prefix(uint8_t family, const __be32 addr[4], uint8_t plen, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == XIPSEC_AF_INET ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, plen);
}

/* Network-order mask words for @plen bits. */
static void spd_mask(uint8_t plen, __be32 mask[4])
{
	int i, bits;

	for (i = 0; i < 4; i++) {
		bits = (int)plen - 32 * i;
		if (bits >= 32)
			mask[i] = 0xffffffffu;
		else if (bits <= 0)
			mask[i] = 0;
		else
			mask[i] = htonl(~0u << (32 - bits));
	}
}

static void spd_apply_mask(const __be32 in[4], uint8_t plen, __be32 out[4])
{
	__be32 m[4];
	int i;

	spd_mask(plen, m);
	for (i = 0; i < 4; i++)
		out[i] = in[i] & m[i];
}

static int spd_proto_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136 || proto == 1 ||
	       proto == 58;
}

int spd_validate(const struct spd_set *set, struct spd_error *err)
{
	size_t i;

	if (set->nrules > SPD_MAX_RULES) {
		spd_err(err, -1, -1, "%zu rules, at most %u", set->nrules, SPD_MAX_RULES);
		return -E2BIG;
	}
	if (set->nbuckets > SPD_MAX_BUCKETS) {
		spd_err(err, -1, -1, "%zu buckets, at most %u", set->nbuckets, SPD_MAX_BUCKETS);
		return -E2BIG;
	}
	for (i = 0; i < set->nbuckets; i++) {
		const struct spd_bucket *b = &set->buckets[i];

		if (b->action < SPD_ACT_PROTECT || b->action > SPD_ACT_DISCARD) {
			spd_err(err, -1, (int)i, "bucket %zu: bad action %u", i, b->action);
			return -EINVAL;
		}
		if (b->flags & ~SPD_BKT_F_HOLD) {
			spd_err(err, -1, (int)i, "bucket %zu: unknown flags 0x%x", i, b->flags);
			return -EINVAL;
		}
		if (b->action == SPD_ACT_PROTECT && b->sa_id >= XIPSEC_MAX_SA) {
			spd_err(err, -1, (int)i, "bucket %zu: SA id %u out of range (max %u)", i,
				b->sa_id, XIPSEC_MAX_SA - 1);
			return -EINVAL;
		}
		if (memchr(b->name, '\0', sizeof(b->name)) == NULL) {
			spd_err(err, -1, (int)i, "bucket %zu: name not terminated", i);
			return -EINVAL;
		}
	}
	for (i = 0; i < set->nrules; i++) {
		const struct spd_rule *r = &set->rules[i];
		int max = r->family == XIPSEC_AF_INET ? 32 : 128;
		bool full = r->sport_lo == 0 && r->sport_hi == 65535 && r->dport_lo == 0 &&
			    r->dport_hi == 65535;

		if (r->family != XIPSEC_AF_INET && r->family != XIPSEC_AF_INET6) {
			spd_err(err, (int)i, -1, "rule %zu: bad address family %u", i, r->family);
			return -EINVAL;
		}
		if (r->src_plen > max || r->dst_plen > max) {
			spd_err(err, (int)i, -1, "rule %zu: prefix length %u > %d", i,
				r->src_plen > max ? r->src_plen : r->dst_plen, max);
			return -EINVAL;
		}
		if (r->sport_lo > r->sport_hi) {
			spd_err(err, (int)i, -1, "rule %zu: source port range %u-%u is empty", i,
				r->sport_lo, r->sport_hi);
			return -EINVAL;
		}
		if (r->dport_lo > r->dport_hi) {
			spd_err(err, (int)i, -1, "rule %zu: destination port range %u-%u is empty",
				i, r->dport_lo, r->dport_hi);
			return -EINVAL;
		}
		if (!full && !spd_proto_has_ports(r->proto)) {
			spd_err(err, (int)i, -1,
				"rule %zu: port ranges need protocol tcp, udp, udplite, sctp, icmp or ipv6-icmp (have %u)",
				i, r->proto);
			return -EINVAL;
		}
		/* ICMP: type and code are one byte; a range is "any" or within 0-255. */
		if ((r->proto == 1 || r->proto == 58) &&
		    ((r->sport_hi > 255 && !(r->sport_lo == 0 && r->sport_hi == 65535)) ||
		     (r->dport_hi > 255 && !(r->dport_lo == 0 && r->dport_hi == 65535)))) {
			spd_err(err, (int)i, -1,
				"rule %zu: ICMP type/code ranges must be 0-65535 (any) or within 0-255",
				i);
			return -EINVAL;
		}
		if (r->bucket >= set->nbuckets) {
			spd_err(err, (int)i, -1, "rule %zu: bucket %u not defined (%zu buckets)", i,
				r->bucket, set->nbuckets);
			return -EINVAL;
		}
	}
	return 0;
}

/* --- compilation ------------------------------------------------------------ */

struct spd_group {
	__be32 addr[4]; /* masked */
	uint8_t family, plen;
	uint8_t marker; /* 1: marker only, no rules of its own */
	uint32_t first_rule; /* head of the rule chain (index into next[]) */
	uint32_t nrules;
	struct spd_leaf leaf; /* real: own candidates; marker: best covering leaf */
};

struct spd_ctx {
	const struct spd_set *set;
	struct spd_group *groups;
	size_t ngroups, cap;
	uint32_t *table; /* open addressing: group index + 1, 0 = empty */
	size_t table_mask;
	uint32_t *next; /* rule chains per group */
	uint8_t used[2][129]; /* prefix lengths with real prefixes, per family */
};

static uint64_t spd_hash(uint8_t family, uint8_t plen, const __be32 a[4])
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)family << 8 | plen);
	int i;

	for (i = 0; i < 4; i++) {
		h ^= a[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

static struct spd_group *spd_group_find(struct spd_ctx *c, uint8_t family, uint8_t plen,
					const __be32 a[4], bool create)
{
	size_t slot = spd_hash(family, plen, a) & c->table_mask;
	struct spd_group *g;

	for (;; slot = (slot + 1) & c->table_mask) {
		if (!c->table[slot])
			break;
		g = &c->groups[c->table[slot] - 1];
		if (g->family == family && g->plen == plen && !memcmp(g->addr, a, 16))
			return g;
	}
	if (!create || c->ngroups == c->cap)
		return NULL;
	g = &c->groups[c->ngroups++];
	memset(g, 0, sizeof(*g));
	memcpy(g->addr, a, 16);
	g->family = family;
	g->plen = plen;
	g->first_rule = UINT32_MAX;
	c->table[slot] = c->ngroups;
	return g;
}

/* Longest real prefix of length <= @plen covering @a, or NULL. */
static const struct spd_group *spd_best_cover(struct spd_ctx *c, uint8_t family, const __be32 a[4],
					      uint8_t plen)
{
	int fam = family == XIPSEC_AF_INET6, len;

	for (len = plen; len >= 0; len--) {
		const struct spd_group *g;
		__be32 m[4];

		if (!c->used[fam][len])
			continue;
		spd_apply_mask(a, len, m);
		g = spd_group_find(c, family, len, m, false);
		if (g && !g->marker)
			return g;
	}
	return NULL;
}

static const struct spd_set *spd_sort_set;

static int spd_cmp_rule(const void *a, const void *b)
{
	const struct spd_rule *r = spd_sort_set->rules;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;

	if (r[ia].priority != r[ib].priority)
		return r[ia].priority < r[ib].priority ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static void spd_fill_cand(struct spd_cand *c, const struct spd_rule *r)
{
	memset(c, 0, sizeof(*c));
	spd_mask(r->src_plen, c->src.mask);
	spd_apply_mask(r->src, r->src_plen, c->src.net);
	c->sport_lo = r->sport_lo;
	c->sport_hi = r->sport_hi;
	c->dport_lo = r->dport_lo;
	c->dport_hi = r->dport_hi;
	c->proto = r->proto;
	if (r->sport_lo == 0 && r->sport_hi == 65535 && r->dport_lo == 0 && r->dport_hi == 65535)
		c->flags |= SPD_CF_ANY_PORTS;
	c->bucket = r->bucket;
}

void spd_compiled_free(struct spd_compiled *c)
{
	free(c->entries);
	free(c->cands);
	free(c->blk4);
	memset(c, 0, sizeof(*c));
}

/* Candidate list of real group @g: all rules of g and of its ancestors. */
static int spd_leaf_build(struct spd_ctx *c, struct spd_group *g, struct spd_compiled *out,
			  size_t *cap_cands, struct spd_error *err)
{
	const struct spd_set *set = c->set;
	int fam = g->family == XIPSEC_AF_INET6, len;
	uint32_t list[SPD_MAX_LEAF_CANDS];
	uint32_t n = 0, j, ri;

	for (len = 0; len <= g->plen; len++) {
		const struct spd_group *anc;
		__be32 a[4];

		if (!c->used[fam][len])
			continue;
		spd_apply_mask(g->addr, len, a);
		anc = len == g->plen ? g : spd_group_find(c, g->family, len, a, false);
		if (!anc)
			continue;
		for (ri = anc->first_rule; ri != UINT32_MAX; ri = c->next[ri]) {
			if (n == SPD_MAX_LEAF_CANDS) {
				char p[64];

				spd_format_prefix(g->family, g->addr, g->plen, p, sizeof(p));
				spd_err(err, (int)ri, -1,
					"rule %u: more than %u rules cover destination %s", ri,
					SPD_MAX_LEAF_CANDS, p);
				return -E2BIG;
			}
			list[n++] = ri;
		}
	}
	spd_sort_set = set;
	qsort(list, n, sizeof(list[0]), spd_cmp_rule);

	if (out->ncands + n > SPD_MAX_CANDS) {
		spd_err(err, (int)list[0], -1,
			"rule %u: rule set needs more than %u candidate slots", list[0],
			SPD_MAX_CANDS);
		return -E2BIG;
	}
	if (out->ncands + n > *cap_cands) {
		size_t ncap = *cap_cands * 2;
		struct spd_cand *nc;

		while (ncap < out->ncands + n)
			ncap *= 2;
		nc = realloc(out->cands, ncap * sizeof(*nc));
		if (!nc) {
			spd_err(err, -1, -1, "out of memory");
			return -ENOMEM;
		}
		out->cands = nc;
		*cap_cands = ncap;
	}
	g->leaf.first = out->ncands;
	g->leaf.count = n;
	for (j = 0; j < n; j++)
		spd_fill_cand(&out->cands[out->ncands++], &set->rules[list[j]]);
	return 0;
}

/*
 * Add the markers on the binary-search path over lens[0..n-1] (ascending)
 * down to @g's length. IPv4 prefixes longer than /16 are searched over their
 * /16 block's own lengths, IPv6 prefixes over all IPv6 lengths in use.
 */
static int spd_add_markers(struct spd_ctx *c, const struct spd_group *g, const uint8_t *lens, int n,
			   struct spd_error *err)
{
	int lo = 0, hi = n - 1, mid;

	while (lo <= hi) {
		struct spd_group *m;
		const struct spd_group *best;
		__be32 a[4];
		uint8_t len;

		mid = (lo + hi) / 2;
		len = lens[mid];
		if (len == g->plen)
			return 0;
		if (len > g->plen) {
			hi = mid - 1;
			continue;
		}
		lo = mid + 1;
		spd_apply_mask(g->addr, len, a);
		if (spd_group_find(c, g->family, len, a, false))
			continue; /* a real prefix or an existing marker */
		m = spd_group_find(c, g->family, len, a, true);
		if (!m) {
			spd_err(err, -1, -1, "out of memory for markers");
			return -ENOMEM;
		}
		m->marker = 1;
		best = spd_best_cover(c, g->family, a, len);
		if (best)
			m->leaf = best->leaf;
	}
	return 0;
}

static uint32_t spd_blk4_index(const __be32 a[4])
{
	return ntohl(a[0]) >> (32 - SPD_BLK4_BITS);
}

/* The IPv4 /16 block table: best prefix <= /16 and the longer lengths used. */
static int spd_blk4_build(struct spd_ctx *c, size_t nreal, struct spd_compiled *out)
{
	uint32_t *mask = calloc(SPD_BLK4_N, sizeof(*mask)); /* bit L-17: length L used */
	int short_used = 0, len;
	uint32_t t;
	size_t i;

	if (!mask)
		return -ENOMEM;
	for (i = 0; i < nreal; i++) {
		const struct spd_group *g = &c->groups[i];

		if (g->family == XIPSEC_AF_INET && g->plen > SPD_BLK4_BITS)
			mask[spd_blk4_index(g->addr)] |= 1u << (g->plen - SPD_BLK4_BITS - 1);
	}
	for (t = 0; t < SPD_BLK4_N; t++) {
		struct spd_blk4 *b = &out->blk4[t];

		for (len = SPD_BLK4_BITS + 1; len <= 32 && mask[t]; len++)
			if (mask[t] & (1u << (len - SPD_BLK4_BITS - 1)))
				b->len[b->n++] = len;
	}
	free(mask);
	for (len = 0; len <= SPD_BLK4_BITS; len++)
		short_used |= c->used[0][len];
	if (!short_used)
		return 0;
	for (t = 0; t < SPD_BLK4_N; t++) {
		__be32 a[4] = { htonl(t << (32 - SPD_BLK4_BITS)), 0, 0, 0 };
		const struct spd_group *best = spd_best_cover(c, XIPSEC_AF_INET, a, SPD_BLK4_BITS);

		if (best) {
			out->blk4[t].first = best->leaf.first;
			out->blk4[t].count = best->leaf.count;
		}
	}
	return 0;
}

int spd_compile(const struct spd_set *set, uint8_t gen, struct spd_compiled *out,
		struct spd_error *err)
{
	struct spd_ctx c = { .set = set };
	size_t tsize = 16, i, nreal, cap_cands;
	int ret, fam, len;

	memset(out, 0, sizeof(*out));
	if (err) {
		err->rule = err->bucket = -1;
		err->msg[0] = '\0';
	}
	ret = spd_validate(set, err);
	if (ret)
		return ret;
	/* Written even for an empty set: it replaces the inactive generation's. */
	out->blk4 = calloc(SPD_BLK4_N, sizeof(*out->blk4));
	if (!out->blk4) {
		spd_err(err, -1, -1, "out of memory");
		return -ENOMEM;
	}
	if (!set->nrules)
		return 0;

	/* At most SPD_LENS_SEARCH - 1 markers per prefix. */
	c.cap = set->nrules * SPD_LENS_SEARCH;
	while (tsize < 2 * c.cap)
		tsize <<= 1;
	c.table_mask = tsize - 1;
	c.table = calloc(tsize, sizeof(*c.table));
	c.groups = calloc(c.cap, sizeof(*c.groups));
	c.next = calloc(set->nrules, sizeof(*c.next));
	cap_cands = set->nrules + 64;
	out->cands = calloc(cap_cands, sizeof(*out->cands));
	if (!c.table || !c.groups || !c.next || !out->cands) {
		spd_err(err, -1, -1, "out of memory");
		ret = -ENOMEM;
		goto out;
	}

	/* Group by masked destination; chains keep rule order (prepend in reverse). */
	for (i = set->nrules; i-- > 0;) {
		const struct spd_rule *r = &set->rules[i];
		struct spd_group *g;
		__be32 a[4];

		spd_apply_mask(r->dst, r->dst_plen, a);
		g = spd_group_find(&c, r->family, r->dst_plen, a, true);
		c.next[i] = g->first_rule;
		g->first_rule = i;
		g->nrules++;
		c.used[r->family == XIPSEC_AF_INET6][r->dst_plen] = 1;
	}
	nreal = c.ngroups;
	out->nleaves = nreal;

	for (fam = 0; fam < 2; fam++)
		for (len = 0; len <= (fam ? 128 : 32); len++)
			if (c.used[fam][len])
				out->lens[fam].len[out->lens[fam].n++] = len;

	for (i = 0; i < nreal; i++) {
		ret = spd_leaf_build(&c, &c.groups[i], out, &cap_cands, err);
		if (ret)
			goto out;
	}
	ret = spd_blk4_build(&c, nreal, out);
	if (ret) {
		spd_err(err, -1, -1, "out of memory");
		goto out;
	}
	for (i = 0; i < nreal; i++) {
		const struct spd_group *g = &c.groups[i];

		ret = 0;
		if (g->family == XIPSEC_AF_INET6) {
			ret = spd_add_markers(&c, g, out->lens[1].len, out->lens[1].n, err);
		} else if (g->plen > SPD_BLK4_BITS) {
			const struct spd_blk4 *b = &out->blk4[spd_blk4_index(g->addr)];

			ret = spd_add_markers(&c, g, b->len, b->n, err);
		}
		if (ret)
			goto out;
	}
	if (c.ngroups > SPD_MAX_PFX / 2) {
		spd_err(err, -1, -1, "rule set needs %zu prefix entries, at most %u", c.ngroups,
			SPD_MAX_PFX / 2);
		ret = -E2BIG;
		goto out;
	}

	out->entries = calloc(c.ngroups, sizeof(*out->entries));
	if (!out->entries) {
		spd_err(err, -1, -1, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < c.ngroups; i++) {
		struct spd_pfx_entry *e = &out->entries[i];
		const struct spd_group *g = &c.groups[i];

		e->key.gen = gen;
		e->key.family = g->family;
		e->key.plen = g->plen;
		memcpy(e->key.addr, g->addr, 16);
		e->leaf = g->leaf;
	}
	out->nentries = c.ngroups;
	ret = 0;
out:
	free(c.table);
	free(c.groups);
	free(c.next);
	if (ret)
		spd_compiled_free(out);
	return ret;
}

/* --- maps ------------------------------------------------------------------- */

int spd_maps_open_pinned(struct spd_maps *m, const char *pin_dir)
{
	const struct dp_pin t[] = {
		{ &m->config_fd, XIPSEC_MAP_CONFIG },	  { &m->pfx_fd, XIPSEC_MAP_SPD_PFX },
		{ &m->lens_fd, XIPSEC_MAP_SPD_LENS },	  { &m->cand_fd, XIPSEC_MAP_SPD_CAND },
		{ &m->rule_fd, XIPSEC_MAP_SPD_RULE },	  { &m->bucket_fd, XIPSEC_MAP_BUCKET },
		{ &m->bkt_stat_fd, XIPSEC_MAP_BKT_STAT }, { &m->blk4_fd, XIPSEC_MAP_SPD_BLK4 },
	};

	return dp_pins_open(pin_dir, t, sizeof(t) / sizeof(t[0]));
}

void spd_maps_close(struct spd_maps *m)
{
	int *fds[] = { &m->config_fd, &m->pfx_fd,  &m->lens_fd,	  &m->blk4_fd,
		       &m->cand_fd,   &m->rule_fd, &m->bucket_fd, &m->bkt_stat_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * Write @n values at keys base..base+n-1 of an array map, in batches when the
 * kernel supports them (5.6+ for arrays), one by one otherwise.
 */
static int spd_array_write(int fd, uint32_t base, const void *vals, size_t vsize, size_t n)
{
	uint32_t *keys;
	size_t i, done = 0;
	int ret = 0;

	if (!n)
		return 0;
	keys = malloc(sizeof(*keys) * (n < SPD_BATCH ? n : SPD_BATCH));
	if (!keys)
		return -ENOMEM;
	while (done < n) {
		uint32_t cnt = n - done < SPD_BATCH ? n - done : SPD_BATCH;
		const char *v = (const char *)vals + done * vsize;

		for (i = 0; i < cnt; i++)
			keys[i] = base + done + i;
		if (bpf_map_update_batch(fd, keys, v, &cnt, NULL)) {
			ret = -errno;
			if (ret != -EINVAL && ret != -EOPNOTSUPP && ret != -ENOTSUPP)
				goto out;
			for (i = 0; i < cnt; i++) {
				if (bpf_map_update_elem(fd, &keys[i], v + i * vsize, BPF_ANY)) {
					ret = -errno;
					goto out;
				}
			}
			ret = 0;
		}
		done += cnt;
	}
out:
	free(keys);
	return ret;
}

/* Remove every xipsec_spd_pfx entry of generation @gen. */
static int spd_pfx_clear_gen(int fd, uint8_t gen)
{
	struct spd_pfx_key key, next, *del = NULL;
	size_t n = 0, cap = 0, done = 0;
	void *prev = NULL;
	int ret = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.gen == gen) {
			if (n == cap) {
				struct spd_pfx_key *nd;

				cap = cap ? cap * 2 : 1024;
				nd = realloc(del, cap * sizeof(*del));
				if (!nd) {
					ret = -ENOMEM;
					goto out;
				}
				del = nd;
			}
			del[n++] = next;
		}
		key = next;
		prev = &key;
	}
	if (errno != ENOENT) {
		ret = -errno;
		goto out;
	}
	while (done < n) {
		uint32_t cnt = n - done < SPD_BATCH ? n - done : SPD_BATCH;

		if (bpf_map_delete_batch(fd, del + done, &cnt, NULL) == 0) {
			done += cnt;
			continue;
		}
		/* No batch support, or an entry vanished: one at a time. */
		for (; done < n; done++) {
			if (bpf_map_delete_elem(fd, &del[done]) && errno != ENOENT) {
				ret = -errno;
				goto out;
			}
		}
	}
out:
	free(del);
	return ret;
}

static int spd_pfx_write(int fd, const struct spd_compiled *cc)
{
	struct spd_pfx_key *keys = NULL;
	struct spd_leaf *vals = NULL;
	size_t i, done = 0;
	int ret = 0;

	if (!cc->nentries)
		return 0;
	keys = malloc(cc->nentries * sizeof(*keys));
	vals = malloc(cc->nentries * sizeof(*vals));
	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cc->nentries; i++) {
		keys[i] = cc->entries[i].key;
		vals[i] = cc->entries[i].leaf;
	}
	while (done < cc->nentries) {
		uint32_t cnt = cc->nentries - done < SPD_BATCH ? cc->nentries - done : SPD_BATCH;

		if (bpf_map_update_batch(fd, keys + done, vals + done, &cnt, NULL) == 0) {
			done += cnt;
			continue;
		}
		ret = -errno;
		if (ret != -EINVAL && ret != -EOPNOTSUPP && ret != -ENOTSUPP)
			goto out;
		ret = 0;
		for (; done < cc->nentries; done++) {
			if (bpf_map_update_elem(fd, &keys[done], &vals[done], BPF_ANY)) {
				ret = -errno;
				goto out;
			}
		}
	}
out:
	free(keys);
	free(vals);
	return ret;
}

int spd_install(const struct spd_maps *m, const struct spd_set *set, struct spd_error *err)
{
	struct spd_compiled cc = { 0 };
	struct xipsec_config cfg;
	uint32_t zero = 0;
	uint8_t gen;
	int ret;

	if (bpf_map_lookup_elem(m->config_fd, &zero, &cfg)) {
		ret = -errno;
		spd_err(err, -1, -1, "read %s: %s", XIPSEC_MAP_CONFIG, strerror(-ret));
		return ret;
	}
	gen = (cfg.active_gen & 1) ^ 1;
	ret = spd_compile(set, gen, &cc, err);
	if (ret)
		return ret;

	/* Nothing below is visible to the programs until active_gen flips. */
	ret = spd_pfx_clear_gen(m->pfx_fd, gen);
	if (ret) {
		spd_err(err, -1, -1, "clear %s: %s", XIPSEC_MAP_SPD_PFX, strerror(-ret));
		goto out;
	}
	ret = spd_array_write(m->cand_fd, gen * SPD_MAX_CANDS, cc.cands, sizeof(*cc.cands),
			      cc.ncands);
	if (ret) {
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_SPD_CAND, strerror(-ret));
		goto out;
	}
	ret = spd_array_write(m->rule_fd, gen * SPD_MAX_RULES, set->rules, sizeof(*set->rules),
			      set->nrules);
	if (ret) {
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_SPD_RULE, strerror(-ret));
		goto out;
	}
	ret = spd_array_write(m->bucket_fd, gen * SPD_MAX_BUCKETS, set->buckets,
			      sizeof(*set->buckets), set->nbuckets);
	if (ret) {
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_BUCKET, strerror(-ret));
		goto out;
	}
	ret = spd_pfx_write(m->pfx_fd, &cc);
	if (ret) {
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_SPD_PFX, strerror(-ret));
		goto out;
	}
	ret = spd_array_write(m->lens_fd, gen * 2, cc.lens, sizeof(cc.lens[0]), 2);
	if (ret) {
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_SPD_LENS, strerror(-ret));
		goto out;
	}
	ret = spd_array_write(m->blk4_fd, gen * SPD_BLK4_N, cc.blk4, sizeof(cc.blk4[0]),
			      SPD_BLK4_N);
	if (ret) {
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_SPD_BLK4, strerror(-ret));
		goto out;
	}

	/*
	 * The commit. Only active_gen matters to the programs; it is one aligned
	 * word whose value changes in a single bit, so readers see old or new.
	 */
	cfg.active_gen = gen;
	cfg.nrules[gen] = set->nrules;
	cfg.nbuckets[gen] = set->nbuckets;
	cfg.serial++;
	if (bpf_map_update_elem(m->config_fd, &zero, &cfg, BPF_ANY)) {
		ret = -errno;
		spd_err(err, -1, -1, "write %s: %s", XIPSEC_MAP_CONFIG, strerror(-ret));
	}
out:
	spd_compiled_free(&cc);
	return ret;
}

static int spd_array_read(int fd, uint32_t base, void *vals, size_t vsize, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t k = base + i;

		if (bpf_map_lookup_elem(fd, &k, (char *)vals + i * vsize))
			return -errno;
	}
	return 0;
}

void spd_set_free(struct spd_set *s)
{
	free(s->rules);
	free(s->buckets);
	memset(s, 0, sizeof(*s));
}

int spd_read_active(const struct spd_maps *m, struct spd_set *out)
{
	struct xipsec_config cfg;
	uint32_t zero = 0, gen;
	int ret;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(m->config_fd, &zero, &cfg))
		return -errno;
	gen = cfg.active_gen & 1;
	if (cfg.nrules[gen] > SPD_MAX_RULES || cfg.nbuckets[gen] > SPD_MAX_BUCKETS)
		return -EUCLEAN;
	out->nrules = cfg.nrules[gen];
	out->nbuckets = cfg.nbuckets[gen];
	out->rules = calloc(out->nrules + 1, sizeof(*out->rules));
	out->buckets = calloc(out->nbuckets + 1, sizeof(*out->buckets));
	if (!out->rules || !out->buckets) {
		ret = -ENOMEM;
		goto err;
	}
	ret = spd_array_read(m->rule_fd, gen * SPD_MAX_RULES, out->rules, sizeof(*out->rules),
			     out->nrules);
	if (!ret)
		ret = spd_array_read(m->bucket_fd, gen * SPD_MAX_BUCKETS, out->buckets,
				     sizeof(*out->buckets), out->nbuckets);
	if (!ret)
		return 0;
err:
	spd_set_free(out);
	return ret;
}

int spd_bucket_stats_read(const struct spd_maps *m, uint32_t id, struct spd_bucket_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct spd_bucket_stats *v;
	int c, ret = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->bkt_stat_fd, &id, v)) {
		ret = -errno;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpu; c++) {
		out->packets += v[c].packets;
		out->bytes += v[c].bytes;
		out->drop_discard += v[c].drop_discard;
		out->drop_no_sa += v[c].drop_no_sa;
		out->acquires += v[c].acquires;
		out->acquires_limited += v[c].acquires_limited;
	}
out:
	free(v);
	return ret;
}
