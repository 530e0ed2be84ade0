// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ts.c: traffic selector narrowing (RFC 7296 2.9) as responder and the
 * initiator's subset check; iked/proposal.c: proposal choice; iked/cookie.c.
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

#include "../../iked/cookie.h"
#include "../../iked/proposal.h"
#include "../../iked/ts.h"

static struct ikev2_ts mk(const char *from, const char *to, uint8_t proto, uint16_t sp, uint16_t ep)
{
	struct ikev2_ts t;
	int af = strchr(from, ':') ? AF_INET6 : AF_INET;

	memset(&t, 0, sizeof(t));
	t.type = af == AF_INET ? IKEV2_TS_IPV4_ADDR_RANGE : IKEV2_TS_IPV6_ADDR_RANGE;
	t.ipproto = proto;
	t.start_port = sp;
	t.end_port = ep;
	assert_int_equal(inet_pton(af, from, t.start_addr), 1);
	assert_int_equal(inet_pton(af, to, t.end_addr), 1);
	return t;
}

static struct ikev2_ts any4(const char *from, const char *to)
{
	return mk(from, to, 0, 0, 0xffff);
}

static void ts_eq(const struct ikev2_ts *t, const char *want)
{
	char buf[160];

	ts_str(t, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_intersect(void **state)
{
	struct ikev2_ts a, b, o;

	(void)state;
	a = any4("10.0.0.0", "10.0.255.255");
	b = any4("10.0.1.0", "10.0.1.255");
	assert_true(ts_intersect(&a, &b, &o));
	ts_eq(&o, "10.0.1.0..10.0.1.255");
	/* overlapping ranges */
	a = any4("10.0.0.10", "10.0.0.20");
	b = any4("10.0.0.15", "10.0.0.30");
	assert_true(ts_intersect(&a, &b, &o));
	ts_eq(&o, "10.0.0.15..10.0.0.20");
	/* disjoint */
	b = any4("10.0.0.21", "10.0.0.30");
	assert_false(ts_intersect(&a, &b, &o));
	/* protocol: "any" narrows to the specific one; two specific must agree */
	a = mk("10.0.0.0", "10.0.0.255", 0, 0, 0xffff);
	b = mk("10.0.0.0", "10.0.0.255", 6, 80, 80);
	assert_true(ts_intersect(&a, &b, &o));
	ts_eq(&o, "10.0.0.0..10.0.0.255[6/80-80]");
	a = mk("10.0.0.0", "10.0.0.255", 17, 0, 0xffff);
	assert_false(ts_intersect(&a, &b, &o));
	/* ports */
	a = mk("10.0.0.0", "10.0.0.255", 6, 1000, 2000);
	b = mk("10.0.0.0", "10.0.0.255", 6, 1500, 3000);
	assert_true(ts_intersect(&a, &b, &o));
	ts_eq(&o, "10.0.0.0..10.0.0.255[6/1500-2000]");
	b = mk("10.0.0.0", "10.0.0.255", 6, 2001, 3000);
	assert_false(ts_intersect(&a, &b, &o));
	/* families never mix */
	a = any4("0.0.0.0", "255.255.255.255");
	b = mk("::", "ffff::", 0, 0, 0xffff);
	assert_false(ts_intersect(&a, &b, &o));
	/* IPv6 */
	a = mk("2001:db8::", "2001:db8::ffff", 0, 0, 0xffff);
	b = mk("2001:db8::100", "2001:db8:1::", 0, 0, 0xffff);
	assert_true(ts_intersect(&a, &b, &o));
	ts_eq(&o, "2001:db8::100..2001:db8::ffff");
}

static void test_narrow(void **state)
{
	struct ikev2_ts_list off = { 0 }, allow = { 0 }, out;

	(void)state;
	/* the peer asks for everything; we allow two subnets */
	off.ts[off.n++] = any4("0.0.0.0", "255.255.255.255");
	allow.ts[allow.n++] = any4("10.1.0.0", "10.1.255.255");
	allow.ts[allow.n++] = any4("10.3.0.0", "10.3.0.255");
	assert_int_equal(ts_narrow(&off, &allow, &out), 0);
	assert_int_equal(out.n, 2);
	ts_eq(&out.ts[0], "10.1.0.0..10.1.255.255");
	ts_eq(&out.ts[1], "10.3.0.0..10.3.0.255");

	/* RFC 7296 2.9: a first, specific selector (the triggering packet)
	 * followed by the subnet; the duplicate result is removed */
	memset(&off, 0, sizeof(off));
	off.ts[off.n++] = mk("10.1.2.3", "10.1.2.3", 6, 443, 443);
	off.ts[off.n++] = any4("10.1.0.0", "10.1.255.255");
	off.ts[off.n++] = any4("10.1.0.0", "10.1.255.255");
	assert_int_equal(ts_narrow(&off, &allow, &out), 0);
	assert_int_equal(out.n, 2);
	ts_eq(&out.ts[0], "10.1.2.3..10.1.2.3[6/443-443]");
	ts_eq(&out.ts[1], "10.1.0.0..10.1.255.255");

	/* nothing in common: TS_UNACCEPTABLE */
	memset(&off, 0, sizeof(off));
	off.ts[off.n++] = any4("192.168.0.0", "192.168.255.255");
	assert_int_equal(ts_narrow(&off, &allow, &out), -ENOENT);
	assert_int_equal(out.n, 0);
	memset(&off, 0, sizeof(off));
	assert_int_equal(ts_narrow(&off, &allow, &out), -ENOENT);
}

static void test_subset(void **state)
{
	struct ikev2_ts_list sub = { 0 }, super = { 0 };

	(void)state;
	super.ts[super.n++] = any4("10.1.0.0", "10.1.255.255");
	super.ts[super.n++] = mk("10.9.0.0", "10.9.0.255", 17, 53, 53);
	assert_false(ts_subset(&sub, &super)); /* empty answer */
	sub.ts[sub.n++] = any4("10.1.5.0", "10.1.5.255");
	assert_true(ts_subset(&sub, &super));
	sub.ts[sub.n++] = mk("10.9.0.1", "10.9.0.1", 17, 53, 53);
	assert_true(ts_subset(&sub, &super));
	/* a responder may not widen: protocol "any" is not inside UDP/53 */
	sub.ts[1] = any4("10.9.0.1", "10.9.0.1");
	assert_false(ts_subset(&sub, &super));
	sub.ts[1] = any4("10.1.0.0", "10.2.0.0");
	assert_false(ts_subset(&sub, &super));
}

static void test_from_conf(void **state)
{
	struct conf_ts c[2];
	struct ikev2_ts_list l;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	(void)state;
	memset(c, 0, sizeof(c));
	c[0].dynamic = true;
	assert_int_equal(conf_parse_range("10.0.0.0/8", &c[1].range), 0);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	assert_int_equal(ts_from_conf(c, 2, (struct sockaddr *)&sin, &l), 0);
	assert_int_equal(l.n, 2);
	ts_eq(&l.ts[0], "192.0.2.7..192.0.2.7");
	ts_eq(&l.ts[1], "10.0.0.0..10.255.255.255");
	inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr);
	assert_int_equal(ts_from_conf(c, 1, (struct sockaddr *)&sin6, &l), 0);
	ts_eq(&l.ts[0], "2001:db8::7..2001:db8::7");
	assert_int_equal(ts_from_conf(c, 1, NULL, &l), -EINVAL);
}

/* ---- proposals ---- */

static struct conf_proposals props(const char *s, bool ike)
{
	struct conf_proposals p;
	char err[128];

	assert_int_equal(conf_parse_proposals(s, ike, &p, err, sizeof(err)), 0);
	return p;
}

static void test_proposal_select(void **state)
{
	struct conf_proposals mine = props("aes256gcm16-prfsha256-ecp256-x25519", true);
	struct conf_proposals peer =
		props("aes128-sha256-modp2048,aes256gcm16-prfsha256-x25519", true);
	struct conf_proposals other = props("aes128-sha512-modp2048", true);
	struct proposal_choice ch;
	struct ikev2_sa offer, answer;

	(void)state;
	assert_int_equal(proposal_build(&peer, IKEV2_PROTO_IKE, NULL, 0, 0, 0, &offer), 0);
	assert_int_equal(offer.n_props, 2);
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_IKE, &offer, -1, 0, &ch), 0);
	assert_int_equal(ch.num, 2);
	assert_int_equal(ch.encr, IKEV2_ENCR_AES_GCM_16);
	assert_int_equal(ch.encr_keylen, 256);
	assert_int_equal(ch.integ, 0);
	assert_int_equal(ch.dh, IKEV2_DH_CURVE25519);
	/* restricted to the KE payload's group */
	assert_int_equal(
		proposal_select(&mine, IKEV2_PROTO_IKE, &offer, IKEV2_DH_CURVE25519, 0, &ch), 0);
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_IKE, &offer, IKEV2_DH_ECP_256, 0, &ch),
			 -ENOENT);
	/* the answer passes the initiator's check; a foreign one does not */
	proposal_choice_to_sa(&ch, &answer);
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_IKE, &offer, -1, 0, &ch), 0);
	proposal_choice_to_sa(&ch, &answer);
	assert_int_equal(proposal_check_reply(&peer, IKEV2_PROTO_IKE, &answer, -1, 0, &ch), 0);
	assert_int_equal(proposal_check_reply(&other, IKEV2_PROTO_IKE, &answer, -1, 0, &ch),
			 -EBADMSG);
	answer.n_props = 2;
	assert_int_equal(proposal_check_reply(&peer, IKEV2_PROTO_IKE, &answer, -1, 0, &ch),
			 -EBADMSG);
	/* nothing in common */
	assert_int_equal(proposal_build(&other, IKEV2_PROTO_IKE, NULL, 0, 0, 0, &offer), 0);
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_IKE, &offer, -1, 0, &ch), -ENOENT);
	/* the first KE group is moved to the front */
	assert_int_equal(
		proposal_build(&mine, IKEV2_PROTO_IKE, NULL, 0, IKEV2_DH_CURVE25519, 0, &offer), 0);
	assert_int_equal(offer.props[0].xforms[2].type, IKEV2_XFORM_DH);
	assert_int_equal(offer.props[0].xforms[2].id, IKEV2_DH_CURVE25519);
	assert_true(proposal_has_ke(&mine, IKEV2_DH_ECP_256));
	assert_false(proposal_has_ke(&mine, IKEV2_DH_MODP_2048));
	assert_int_equal(proposal_first_ke(&mine), IKEV2_DH_ECP_256);
	conf_proposals_free(&mine);
	conf_proposals_free(&peer);
	conf_proposals_free(&other);
}

static void test_proposal_esp(void **state)
{
	struct conf_proposals mine = props("aes128gcm16,aes256-sha256", false);
	struct conf_proposals peer = props("aes256-sha256-modp2048", false);
	uint8_t spi[4] = { 0xc0, 0x01, 0x02, 0x03 };
	struct proposal_choice ch;
	struct ikev2_sa offer;

	(void)state;
	assert_int_equal(proposal_build(&peer, IKEV2_PROTO_ESP, spi, 4, 0, 0, &offer), 0);
	/* with PFS the peer's DH must be accepted: we have none */
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_ESP, &offer, -1, 0, &ch), -ENOENT);
	/* IKE_AUTH ignores KE methods (RFC 7296 1.2) */
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_ESP, &offer, -1, PROPOSAL_NO_KE, &ch),
			 0);
	assert_int_equal(ch.encr, IKEV2_ENCR_AES_CBC);
	assert_int_equal(ch.integ, IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(ch.esn, IKEV2_ESN_NO);
	assert_int_equal(ch.spi_size, 4);
	assert_memory_equal(ch.spi, spi, 4);
	/* wrong SPI size is refused */
	offer.props[0].spi_size = 8;
	assert_int_equal(proposal_select(&mine, IKEV2_PROTO_ESP, &offer, -1, PROPOSAL_NO_KE, &ch),
			 -ENOENT);
	conf_proposals_free(&mine);
	conf_proposals_free(&peer);
}

/* ---- cookies ---- */

static void test_cookie(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b = { .sin_family = AF_INET };
	uint8_t ni[32], ck[COOKIE_LEN];
	struct cookie_ctx c;

	(void)state;
	memset(ni, 7, sizeof(ni));
	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	inet_pton(AF_INET, "192.0.2.9", &b.sin_addr);
	assert_int_equal(cookie_init(&c), 0);
	assert_int_equal(cookie_make(&c, ni, sizeof(ni), (struct sockaddr *)&a, 42, ck), 0);
	assert_true(cookie_check(&c, ck, sizeof(ck), ni, sizeof(ni), (struct sockaddr *)&a, 42));
	assert_false(cookie_check(&c, ck, sizeof(ck), ni, sizeof(ni), (struct sockaddr *)&b, 42));
	assert_false(cookie_check(&c, ck, sizeof(ck), ni, sizeof(ni), (struct sockaddr *)&a, 43));
	assert_false(
		cookie_check(&c, ck, sizeof(ck) - 1, ni, sizeof(ni), (struct sockaddr *)&a, 42));
	ni[0] ^= 1;
	assert_false(cookie_check(&c, ck, sizeof(ck), ni, sizeof(ni), (struct sockaddr *)&a, 42));
	ni[0] ^= 1;
	/* still valid after one rotation, not after two */
	assert_int_equal(cookie_rotate(&c), 0);
	assert_true(cookie_check(&c, ck, sizeof(ck), ni, sizeof(ni), (struct sockaddr *)&a, 42));
	assert_int_equal(cookie_rotate(&c), 0);
	assert_false(cookie_check(&c, ck, sizeof(ck), ni, sizeof(ni), (struct sockaddr *)&a, 42));
	cookie_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intersect),	cmocka_unit_test(test_narrow),
		cmocka_unit_test(test_subset),		cmocka_unit_test(test_from_conf),
		cmocka_unit_test(test_proposal_select), cmocka_unit_test(test_proposal_esp),
		cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
