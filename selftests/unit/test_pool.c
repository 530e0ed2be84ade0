// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/pool.c: virtual IP leases per client (identity + outer address and
 * port), not per identity; reuse on reconnect; exhaustion and takeover.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../iked/pool.h"

static struct pool *mkpool(const char *range)
{
	struct conf_pool cfg = { .name = (char *)"rw" };
	struct pool *p = NULL;
	char err[128];

	assert_int_equal(conf_parse_range(range, &cfg.range), 0);
	assert_int_equal(pool_new(&cfg, &p, err, sizeof(err)), 0);
	return p;
}

/* A client behind NAT 198.51.100.1, told apart by its outer port. */
struct client {
	struct sockaddr_in sin;
	struct pool_client pc;
};

static void mkclient(struct client *c, const char *id, uint16_t port)
{
	memset(c, 0, sizeof(*c));
	c->sin.sin_family = AF_INET;
	c->sin.sin_port = htons(port);
	inet_pton(AF_INET, "198.51.100.1", &c->sin.sin_addr);
	c->pc.id = (const uint8_t *)id;
	c->pc.id_len = strlen(id);
	c->pc.remote = (const struct sockaddr *)&c->sin;
}

static const char *astr(const struct pool_addr *a, char *buf)
{
	return inet_ntop(a->family, a->addr, buf, INET6_ADDRSTRLEN);
}

static void acquire_is(struct pool *p, const struct client *c, const struct pool_addr *want,
		       const char *expect)
{
	struct pool_addr a;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(pool_acquire(p, &c->pc, want, &a), 0);
	assert_string_equal(astr(&a, buf), expect);
}

static struct pool_addr addr(const char *s)
{
	struct pool_addr a = { .family = strchr(s, ':') ? AF_INET6 : AF_INET };

	assert_int_equal(inet_pton(a.family, s, a.addr), 1);
	return a;
}

static void test_same_identity_distinct_clients(void **state)
{
	struct pool *p = mkpool("10.3.0.0/24");
	struct client a, b, c;

	(void)state;
	assert_int_equal(pool_size(p), 254); /* network and broadcast skipped */
	mkclient(&a, "roadwarrior", 4500);
	mkclient(&b, "roadwarrior", 4501);
	mkclient(&c, "roadwarrior", 4502);
	acquire_is(p, &a, NULL, "10.3.0.1");
	acquire_is(p, &b, NULL, "10.3.0.2");
	acquire_is(p, &c, NULL, "10.3.0.3");
	/* the same client asking again (e.g. a retransmitted IKE_AUTH) */
	acquire_is(p, &b, NULL, "10.3.0.2");
	assert_int_equal(pool_online(p), 3);
	pool_free(p);
}

static void test_reconnect_reuses(void **state)
{
	struct pool *p = mkpool("10.3.0.0/24");
	struct client a, b, a2;
	struct pool_addr x = addr("10.3.0.1"), y = addr("10.3.0.2");

	(void)state;
	mkclient(&a, "alice", 4500);
	mkclient(&b, "bob", 4501);
	acquire_is(p, &a, NULL, "10.3.0.1");
	acquire_is(p, &b, NULL, "10.3.0.2");
	assert_int_equal(pool_release(p, &x), 0);
	assert_int_equal(pool_release(p, &x), -ENOENT);
	assert_int_equal(pool_offline(p), 1);
	/* a new client gets a fresh address, not alice's */
	mkclient(&a2, "carol", 4502);
	acquire_is(p, &a2, NULL, "10.3.0.3");
	/* alice from the same port gets hers back */
	acquire_is(p, &a, NULL, "10.3.0.1");
	assert_int_equal(pool_offline(p), 0);
	/* bob behind a new NAT mapping asking for his old address gets it */
	assert_int_equal(pool_release(p, &y), 0);
	mkclient(&b, "bob", 5000);
	acquire_is(p, &b, &y, "10.3.0.2");
	pool_free(p);
}

static void test_requested_address(void **state)
{
	struct pool *p = mkpool("10.3.0.0/24");
	struct client a, b;
	struct pool_addr want = addr("10.3.0.77"), out = addr("10.9.0.1"), any = addr("0.0.0.0");

	(void)state;
	mkclient(&a, "alice", 4500);
	mkclient(&b, "bob", 4501);
	acquire_is(p, &a, &want, "10.3.0.77");
	/* online for alice: bob does not get it */
	acquire_is(p, &b, &want, "10.3.0.1");
	/* offline but alice's: still not bob's */
	assert_int_equal(pool_release(p, &want), 0);
	pool_release(p, &(struct pool_addr){ AF_INET, { 10, 3, 0, 1 } });
	mkclient(&b, "bob", 4600);
	acquire_is(p, &b, &want, "10.3.0.2");
	/* out of the pool, or 0.0.0.0: a fresh address */
	mkclient(&a, "alice", 4700);
	acquire_is(p, &a, &out, "10.3.0.3");
	mkclient(&a, "dave", 4701);
	acquire_is(p, &a, &any, "10.3.0.4");
	pool_free(p);
}

static void test_exhaustion_and_takeover(void **state)
{
	struct pool *p = mkpool("10.3.0.10-10.3.0.12");
	struct client c[5];
	struct pool_addr a, b = addr("10.3.0.11"), first = addr("10.3.0.10");

	(void)state;
	assert_int_equal(pool_size(p), 3); /* a range: every address */
	for (int i = 0; i < 5; i++)
		mkclient(&c[i], "rw", (uint16_t)(4500 + i));
	acquire_is(p, &c[0], NULL, "10.3.0.10");
	acquire_is(p, &c[1], NULL, "10.3.0.11");
	acquire_is(p, &c[2], NULL, "10.3.0.12");
	assert_int_equal(pool_acquire(p, &c[3].pc, NULL, &a), -ENOSPC);
	/* released leases are taken over oldest first */
	assert_int_equal(pool_release(p, &b), 0);
	assert_int_equal(pool_release(p, &first), 0);
	acquire_is(p, &c[3], NULL, "10.3.0.11");
	acquire_is(p, &c[4], NULL, "10.3.0.10");
	assert_int_equal(pool_online(p), 3);
	assert_int_equal(pool_offline(p), 0);
	pool_free(p);
}

static void test_ipv6_and_limits(void **state)
{
	struct conf_pool cfg = { .name = (char *)"one" };
	struct pool *p = mkpool("fd00:3::/64");
	struct client a;
	char err[128];

	(void)state;
	assert_int_equal(pool_size(p), POOL_MAX_SIZE);
	mkclient(&a, "v6", 4500);
	acquire_is(p, &a, NULL, "fd00:3::1");
	pool_free(p);

	/* a /32 is one usable address, a /31 two */
	p = mkpool("10.3.0.5/32");
	assert_int_equal(pool_size(p), 1);
	acquire_is(p, &a, NULL, "10.3.0.5");
	pool_free(p);
	p = mkpool("10.3.0.4/31");
	assert_int_equal(pool_size(p), 2);
	pool_free(p);
	/* carry across bytes */
	p = mkpool("10.3.0.255-10.3.1.1");
	acquire_is(p, &a, NULL, "10.3.0.255");
	mkclient(&a, "v6", 4501);
	acquire_is(p, &a, NULL, "10.3.1.0");
	pool_free(p);

	assert_int_equal(conf_parse_range("10.3.0.0/30", &cfg.range), 0);
	assert_int_equal(pool_new(&cfg, &p, err, sizeof(err)), 0);
	assert_int_equal(pool_size(p), 2);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_identity_distinct_clients),
		cmocka_unit_test(test_reconnect_reuses),
		cmocka_unit_test(test_requested_address),
		cmocka_unit_test(test_exhaustion_and_takeover),
		cmocka_unit_test(test_ipv6_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
