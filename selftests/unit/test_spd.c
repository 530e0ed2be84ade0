// SPDX-License-Identifier: GPL-2.0-only
/*
 * lib/spd.c compile step (no maps, no root): prefix parsing, validation
 * errors naming the bad rule, and equivalence of the compiled LPM +
 * candidate lists with a brute-force first-match over random rule sets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spd.h"

static struct spd_rule rule(const char *src, const char *dst, uint8_t proto, uint16_t slo,
			    uint16_t shi, uint16_t dlo, uint16_t dhi, uint32_t prio, uint32_t b)
{
	struct spd_rule r;
	uint8_t f1 = 0, f2 = 0;

	memset(&r, 0, sizeof(r));
	assert_int_equal(spd_parse_prefix(src, &f1, r.src, &r.src_plen), 0);
	assert_int_equal(spd_parse_prefix(dst, &f2, r.dst, &r.dst_plen), 0);
	r.family = f1;
	r.proto = proto;
	r.sport_lo = slo;
	r.sport_hi = shi;
	r.dport_lo = dlo;
	r.dport_hi = dhi;
	r.priority = prio;
	r.bucket = b;
	return r;
}

static struct spd_bucket bkt(uint8_t action, uint32_t sa)
{
	struct spd_bucket b;

	memset(&b, 0, sizeof(b));
	b.action = action;
	b.sa_id = sa;
	strcpy(b.name, "b");
	return b;
}

static void test_parse_prefix(void **state)
{
	uint8_t fam, plen;
	__be32 a[4];
	char buf[64];

	(void)state;
	assert_int_equal(spd_parse_prefix("10.1.2.0/24", &fam, a, &plen), 0);
	assert_int_equal(fam, XIPSEC_AF_INET);
	assert_int_equal(plen, 24);
	assert_int_equal(a[0], htonl(0x0a010200));
	assert_int_equal(a[1] | a[2] | a[3], 0);
	assert_int_equal(spd_parse_prefix("10.1.2.3", &fam, a, &plen), 0);
	assert_int_equal(plen, 32);
	assert_int_equal(spd_parse_prefix("2001:db8::/32", &fam, a, &plen), 0);
	assert_int_equal(fam, XIPSEC_AF_INET6);
	assert_int_equal(plen, 32);
	spd_format_prefix(fam, a, plen, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");
	assert_int_equal(spd_parse_prefix("::/0", &fam, a, &plen), 0);
	assert_int_equal(plen, 0);

	assert_int_equal(spd_parse_prefix("10.1.2.0/33", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("::/129", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("10.1.2.0/", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("10.1.2.0/-1", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("10.1.2.0/2x", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("10.1.2/24", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("", &fam, a, &plen), -EINVAL);
	assert_int_equal(spd_parse_prefix("host.example/24", &fam, a, &plen), -EINVAL);
}

/* Each invalid set fails with the index of the bad rule (or bucket) and a reason. */
static void test_validate_errors(void **state)
{
	struct spd_bucket b[2] = { bkt(SPD_ACT_BYPASS, 0), bkt(SPD_ACT_PROTECT, 3) };
	struct spd_rule ok = rule("10.0.0.0/8", "10.1.0.0/16", 0, 0, 65535, 0, 65535, 1, 0);
	struct spd_rule r[2];
	struct spd_set set = { .rules = r, .nrules = 2, .buckets = b, .nbuckets = 2 };
	struct spd_compiled c;
	struct spd_error e;

	(void)state;
	r[0] = ok;
	r[1] = ok;
	assert_int_equal(spd_compile(&set, 0, &c, &e), 0);
	spd_compiled_free(&c);

	r[1].sport_lo = 10;
	r[1].sport_hi = 5;
	r[1].proto = 6;
	assert_int_equal(spd_compile(&set, 0, &c, &e), -EINVAL);
	assert_int_equal(e.rule, 1);
	assert_non_null(strstr(e.msg, "10-5"));

	r[1] = ok;
	r[1].proto = 17;
	r[1].dport_lo = 9;
	r[1].dport_hi = 8;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_int_equal(e.rule, 1);
	assert_non_null(strstr(e.msg, "destination port"));

	r[1] = ok;
	r[1].dport_lo = 80; /* ports without a protocol that has them */
	r[1].dport_hi = 80;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "port ranges need protocol"));

	r[1] = ok;
	r[1].proto = 1;
	r[1].sport_lo = 8;
	r[1].sport_hi = 300;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "ICMP"));

	r[1] = ok;
	r[1].dst_plen = 33;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "prefix length 33"));

	r[1] = ok;
	r[1].family = 5;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "family"));

	r[1] = ok;
	r[1].bucket = 2;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_int_equal(e.rule, 1);
	assert_non_null(strstr(e.msg, "bucket 2 not defined"));

	r[1] = ok;
	b[1].sa_id = XIPSEC_MAX_SA;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_int_equal(e.rule, -1);
	assert_int_equal(e.bucket, 1);
	assert_non_null(strstr(e.msg, "SA id"));
	b[1].sa_id = 3;

	b[0].action = 0;
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_int_equal(e.bucket, 0);
	assert_non_null(strstr(e.msg, "bad action"));
	b[0].action = SPD_ACT_BYPASS;

	memset(b[0].name, 'x', sizeof(b[0].name));
	assert_int_equal(spd_validate(&set, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "name"));
}

static void test_leaf_overflow(void **state)
{
	struct spd_rule *r = calloc(SPD_MAX_LEAF_CANDS + 1, sizeof(*r));
	struct spd_bucket b = bkt(SPD_ACT_BYPASS, 0);
	struct spd_set set = {
		.rules = r, .nrules = SPD_MAX_LEAF_CANDS, .buckets = &b, .nbuckets = 1
	};
	struct spd_compiled c;
	struct spd_error e;
	size_t i;
	char src[32];

	(void)state;
	assert_non_null(r);
	for (i = 0; i <= SPD_MAX_LEAF_CANDS; i++) {
		snprintf(src, sizeof(src), "10.%zu.%zu.0/24", i / 256, i % 256);
		r[i] = rule(src, i % 2 ? "192.168.0.0/16" : "192.168.1.0/24", 0, 0, 65535, 0, 65535,
			    1, 0);
	}
	assert_int_equal(spd_compile(&set, 1, &c, &e), 0);
	assert_int_equal(c.nleaves, 2);
	/* /24 leaf: all 64 rules; /16 leaf: the 32 odd ones */
	assert_int_equal(c.ncands, SPD_MAX_LEAF_CANDS + SPD_MAX_LEAF_CANDS / 2);
	assert_int_equal(c.entries[0].key.gen, 1);
	assert_int_equal(c.lens[0].n, 2);
	assert_int_equal(c.lens[1].n, 0);
	spd_compiled_free(&c);

	set.nrules++;
	assert_int_equal(spd_compile(&set, 1, &c, &e), -E2BIG);
	assert_true(e.rule >= 0);
	assert_non_null(strstr(e.msg, "192.168.1.0/24"));
	assert_null(c.entries);
	free(r);
}

static void test_empty(void **state)
{
	struct spd_set set = { 0 };
	struct spd_compiled c;
	struct spd_error e;

	(void)state;
	assert_int_equal(spd_compile(&set, 0, &c, &e), 0);
	assert_int_equal(c.nleaves, 0);
	assert_int_equal(c.ncands, 0);
	assert_non_null(c.blk4); /* an empty table still replaces the old one */
	spd_compiled_free(&c);
}

/* --- equivalence with brute force -------------------------------------------------- */

struct pktsel {
	uint8_t family, proto, noports;
	__be32 src[4], dst[4];
	uint16_t sport, dport;
};

static int in_prefix(const __be32 a[4], const __be32 p[4], uint8_t plen)
{
	int i, bits;

	for (i = 0; i < 4; i++) {
		uint32_t m;

		bits = (int)plen - 32 * i;
		m = bits >= 32 ? 0xffffffffu : bits <= 0 ? 0 : htonl(~0u << (32 - bits));
		if ((a[i] & m) != (p[i] & m))
			return 0;
	}
	return 1;
}

static int rule_match(const struct spd_rule *r, const struct pktsel *p)
{
	if (r->family != p->family || !in_prefix(p->src, r->src, r->src_plen) ||
	    !in_prefix(p->dst, r->dst, r->dst_plen))
		return 0;
	if (r->proto && r->proto != p->proto)
		return 0;
	if (p->noports)
		return r->sport_lo == 0 && r->sport_hi == 65535 && r->dport_lo == 0 &&
		       r->dport_hi == 65535;
	return p->sport >= r->sport_lo && p->sport <= r->sport_hi && p->dport >= r->dport_lo &&
	       p->dport <= r->dport_hi;
}

static uint32_t brute(const struct spd_set *s, const struct pktsel *p)
{
	size_t i, best = SIZE_MAX;

	for (i = 0; i < s->nrules; i++) {
		if (!rule_match(&s->rules[i], p))
			continue;
		if (best == SIZE_MAX || s->rules[i].priority < s->rules[best].priority)
			best = i;
	}
	return best == SIZE_MAX ? SPD_BUCKET_NONE : s->rules[best].bucket;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct spd_pfx_entry *)a)->key,
		      &((const struct spd_pfx_entry *)b)->key, sizeof(struct spd_pfx_key));
}

/* What bpf/lib/spd.h does, over the compiled entries (sorted by key first). */
static uint32_t compiled(const struct spd_compiled *c, const struct pktsel *p)
{
	const struct spd_lens *lens = &c->lens[p->family == XIPSEC_AF_INET6];
	struct spd_leaf leaf = { 0 };
	int lo = 0, hi = (int)lens->n - 1, steps = 0;
	uint32_t j;

	const uint8_t *len = lens->len;

	if (p->family == XIPSEC_AF_INET) {
		const struct spd_blk4 *b = &c->blk4[ntohl(p->dst[0]) >> 16];

		leaf.first = b->first;
		leaf.count = b->count;
		len = b->len;
		hi = (int)b->n - 1;
		assert_true(b->n <= 16);
	}

	while (lo <= hi) {
		struct spd_pfx_entry k = { 0 }, *e;
		int mid = (lo + hi) / 2, w;
		uint8_t plen = len[mid];

		assert_true(++steps <= SPD_LENS_SEARCH);
		k.key.gen = c->nentries ? c->entries[0].key.gen : 0;
		k.key.family = p->family;
		k.key.plen = plen;
		for (w = 0; w < 4; w++) {
			int bits = (int)plen - 32 * w;
			uint32_t m = bits >= 32 ? 0xffffffffu :
				     bits <= 0	? 0 :
						  htonl(~0u << (32 - bits));

			k.key.addr[w] = p->dst[w] & m;
		}
		e = bsearch(&k, c->entries, c->nentries, sizeof(k), key_cmp);
		if (e) {
			leaf = e->leaf;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	assert_true(leaf.count <= SPD_MAX_LEAF_CANDS);
	for (j = 0; j < leaf.count; j++) {
		const struct spd_cand *cd = &c->cands[leaf.first + j];
		int w, ok = 1;

		if (cd->proto && cd->proto != p->proto)
			continue;
		for (w = 0; w < 4; w++)
			ok &= (p->src[w] & cd->src.mask[w]) == cd->src.net[w];
		if (!ok)
			continue;
		if (p->noports ? !(cd->flags & SPD_CF_ANY_PORTS) :
				 !(p->sport >= cd->sport_lo && p->sport <= cd->sport_hi &&
				   p->dport >= cd->dport_lo && p->dport <= cd->dport_hi))
			continue;
		return cd->bucket;
	}
	return SPD_BUCKET_NONE;
}

/* Addresses from a small pool so prefixes nest and overlap often. */
static void rand_addr(uint8_t family, __be32 a[4])
{
	static const uint32_t pool[] = { 0x0a000000, 0x0a010000, 0x0a010100,
					 0x0a018000, 0xc0a80000, 0xc0a80101 };

	memset(a, 0, 16);
	a[0] = htonl(pool[rand() % 6] | (rand() % 4 ? 0 : (uint32_t)rand() & 0xff));
	if (family == XIPSEC_AF_INET6) {
		a[1] = htonl(rand() % 3);
		a[3] = htonl(rand() % 4);
	}
}

static uint16_t rand_port(void)
{
	static const uint16_t p[] = { 0, 22, 53, 80, 443, 1000, 65535 };

	return p[rand() % 7];
}

static void rand_rule(struct spd_rule *r, size_t nbuckets)
{
	static const uint8_t protos[] = { 0, 0, 6, 17, 1 };
	static const uint8_t plens4[] = { 0, 8, 16, 17, 24, 32 };
	static const uint8_t plens6[] = { 0, 8, 16, 48, 64, 128 };

	memset(r, 0, sizeof(*r));
	r->family = rand() % 3 ? XIPSEC_AF_INET : XIPSEC_AF_INET6;
	rand_addr(r->family, r->src);
	rand_addr(r->family, r->dst);
	r->src_plen = (r->family == XIPSEC_AF_INET ? plens4 : plens6)[rand() % 6];
	r->dst_plen = (r->family == XIPSEC_AF_INET ? plens4 : plens6)[rand() % 6];
	r->proto = protos[rand() % 5];
	r->sport_hi = r->dport_hi = 65535;
	if (r->proto && rand() % 2) {
		uint16_t a = rand_port(), b = rand_port();

		r->dport_lo = a < b ? a : b;
		r->dport_hi = a < b ? b : a;
		if (r->proto == 1) {
			r->dport_lo %= 248;
			r->dport_hi = r->dport_lo + (r->dport_hi % 8);
		}
	}
	r->priority = rand() % 8;
	r->bucket = rand() % nbuckets;
}

static void test_random_equivalence(void **state)
{
	enum { NB = 16, NSETS = 40, NPKT = 3000 };
	struct spd_bucket b[NB];
	struct spd_rule r[300];
	struct spd_set set = { .rules = r, .buckets = b, .nbuckets = NB };
	struct spd_compiled c;
	struct spd_error e;
	int s, i, k, matched = 0;

	(void)state;
	srand(12345);
	for (i = 0; i < NB; i++)
		b[i] = bkt(SPD_ACT_BYPASS, 0);
	for (s = 0; s < NSETS; s++) {
		set.nrules = 1 + rand() % 300;
		for (k = 0; k < (int)set.nrules; k++)
			rand_rule(&r[k], NB);
		if (spd_compile(&set, s & 1, &c, &e)) {
			/* only legitimate failure: too many rules cover one prefix */
			if (!strstr(e.msg, "more than"))
				fail_msg("compile: %s", e.msg);
			continue;
		}
		qsort(c.entries, c.nentries, sizeof(c.entries[0]), key_cmp);
		for (i = 0; i < NPKT; i++) {
			struct pktsel p = { 0 };

			p.family = rand() % 3 ? XIPSEC_AF_INET : XIPSEC_AF_INET6;
			rand_addr(p.family, p.src);
			rand_addr(p.family, p.dst);
			p.proto = (uint8_t[]){ 6, 17, 1, 50 }[rand() % 4];
			p.noports = p.proto == 50 || rand() % 8 == 0;
			p.sport = rand_port();
			p.dport = p.proto == 1 ? rand_port() % 256 : rand_port();
			if (brute(&set, &p) != SPD_BUCKET_NONE)
				matched++;
			assert_int_equal(compiled(&c, &p), brute(&set, &p));
		}
		spd_compiled_free(&c);
	}
	assert_true(matched > NSETS * NPKT / 10); /* the test exercises matches */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_prefix),	   cmocka_unit_test(test_validate_errors),
		cmocka_unit_test(test_leaf_overflow),	   cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_equivalence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
