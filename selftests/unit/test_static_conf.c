// SPDX-License-Identifier: GPL-2.0-only
/*
 * Static configuration parser: a full valid file and what it turns into
 * (SA ids, marks, reqids, buckets, kernel policies, map records), then every
 * error path with the exact "file:line: message" it must produce, and the
 * file mode check for files holding keys.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "xipsec/dataplane.h"
#include "static_conf.h"

#define K20 "0x0102030405060708090a0b0c0d0e0f1011121314"
#define K36 "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324"
#define K16 "0x0102030405060708090a0b0c0d0e0f10"
#define K32 "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"

static const char *const good_conf =
	"# gateway 1\n"
	"set mark-mask 0x00ff0000\n"
	"set drop-unknown-spi on\n"
	"sa gw1-gw2 out spi 0x1001 src 192.0.2.1 dst 192.0.2.2 \\\n"
	"    aead aes-gcm " K20 " 128 replay-window 64\n"
	"sa gw2-gw1 in spi 0x2002 src 192.0.2.2 dst 192.0.2.1 reqid 2 \\\n"
	"    enc aes-cbc " K16 " auth sha256 " K32 " \\\n"
	"    traffic 10.1.0.0/24 10.2.0.0/24   # local remote\n"
	"\n"
	"rule from 10.1.0.0/24 to 10.2.0.0/24 proto tcp dport 22 bypass\n"
	"rule from 10.1.0.0/24 to 10.2.0.0/24 proto udp dport 5000-5010 discard\n"
	"rule from 10.1.0.0/24 to 10.2.0.0/24 protect gw1-gw2 priority 2000\n"
	"rule from 10.1.0.0/24 to 10.2.9.0/24 protect gw1-gw2 hold\n"
	"rule from 2001:db8:1::/48 to 2001:db8:2::/48 protect gw1-gw2 bucket v6\n";

static int parse(struct static_conf *c, const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	int err;

	assert_non_null(copy);
	static_conf_init(c, "test.conf");
	/* strtok_r would merge empty lines and shift line numbers: split by hand */
	for (line = copy; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		if (!save && !*line)
			break;
		static_conf_line(c, line);
	}
	err = static_conf_finish(c);
	free(copy);
	return err;
}

static void test_good(void **state)
{
	struct xfrm_nl_policy pol[STATIC_CONF_MAX_POL];
	struct static_conf c;
	struct xipsec_sa rec;
	const struct static_conf_sa *out, *in;
	__be32 a;
	int n;

	(void)state;
	assert_int_equal(parse(&c, good_conf), 0);
	assert_string_equal(c.errs, "");
	assert_true(c.has_keys);
	assert_int_equal(c.mark_mask, 0x00ff0000);
	assert_int_equal(c.drop_unknown_spi, 1);
	assert_int_equal(c.nsas, 2);
	out = &c.sas[0];
	in = &c.sas[1];

	assert_string_equal(out->name, "gw1-gw2");
	assert_false(out->inbound);
	assert_int_equal(out->line, 4);
	assert_int_equal(out->id, 1);
	assert_int_equal(out->mark, 0x00010000);
	assert_int_equal(out->x.reqid, STATIC_CONF_REQID_BASE + 1);
	assert_int_equal(out->x.spi, htonl(0x1001));
	assert_int_equal(out->x.family, AF_INET);
	assert_int_equal(out->x.replay_window, 64);
	assert_string_equal(out->x.aead.name, "rfc4106(gcm(aes))");
	assert_int_equal(out->x.aead.key_len, 20);
	assert_int_equal(out->x.aead.key[19], 0x14);
	assert_int_equal(out->x.aead.bits, 128);
	assert_int_equal(out->x.sel.family, 0);
	assert_true(out->x.flags & XFRM_STATE_AF_UNSPEC);
	assert_int_equal(out->inner_families, 3); /* v4 and v6 rules use it */

	assert_true(in->inbound);
	assert_int_equal(in->id, 2);
	assert_int_equal(in->x.reqid, 2);
	assert_string_equal(in->x.crypt.name, "cbc(aes)");
	assert_string_equal(in->x.auth.name, "hmac(sha256)");
	assert_int_equal(in->x.auth.bits, 128);
	assert_int_equal(in->nsel, 1);
	/* inbound state selector: remote -> local */
	assert_int_equal(in->x.sel.family, AF_INET);
	inet_pton(AF_INET, "10.2.0.0", &a);
	assert_int_equal(in->x.sel.saddr.a4, a);
	assert_int_equal(in->x.sel.prefixlen_s, 24);
	assert_false(in->x.flags & XFRM_STATE_AF_UNSPEC);

	assert_int_equal(c.nrules, 5);
	assert_int_equal(c.rule_line[0], 10);
	assert_int_equal(c.rules[0].proto, 6);
	assert_int_equal(c.rules[0].dport_lo, 22);
	assert_int_equal(c.rules[0].dport_hi, 22);
	assert_int_equal(c.rules[0].sport_lo, 0);
	assert_int_equal(c.rules[0].sport_hi, 65535);
	assert_int_equal(c.rules[0].priority, STATIC_CONF_PRIORITY);
	assert_int_equal(c.rules[1].dport_lo, 5000);
	assert_int_equal(c.rules[1].dport_hi, 5010);
	assert_int_equal(c.rules[2].priority, 2000);
	assert_int_equal(c.rules[4].family, XIPSEC_AF_INET6);
	assert_int_equal(c.rules[4].src_plen, 48);

	/* buckets: bypass, discard, gw1-gw2, gw1-gw2/hold, v6 */
	assert_int_equal(c.nbuckets, 5);
	assert_string_equal(c.buckets[c.rules[0].bucket].name, "bypass");
	assert_int_equal(c.buckets[c.rules[0].bucket].action, SPD_ACT_BYPASS);
	assert_int_equal(c.buckets[c.rules[1].bucket].action, SPD_ACT_DISCARD);
	assert_string_equal(c.buckets[c.rules[2].bucket].name, "gw1-gw2");
	assert_int_equal(c.buckets[c.rules[2].bucket].action, SPD_ACT_PROTECT);
	assert_int_equal(c.buckets[c.rules[2].bucket].sa_id, 1);
	assert_int_equal(c.buckets[c.rules[2].bucket].flags, 0);
	assert_string_equal(c.buckets[c.rules[3].bucket].name, "gw1-gw2/hold");
	assert_int_equal(c.buckets[c.rules[3].bucket].flags, SPD_BKT_F_HOLD);
	assert_string_equal(c.buckets[c.rules[4].bucket].name, "v6");

	/* kernel policies: outbound SA -> one 'out' policy per inner family, by mark */
	n = static_conf_sa_policies(&c, out, pol);
	assert_int_equal(n, 2);
	assert_int_equal(pol[0].dir, XFRM_POLICY_OUT);
	assert_int_equal(pol[0].sel.family, AF_INET);
	assert_int_equal(pol[0].sel.prefixlen_d, 0);
	assert_int_equal(pol[1].sel.family, AF_INET6);
	assert_true(pol[0].has_mark);
	assert_int_equal(pol[0].mark.v, 0x00010000);
	assert_int_equal(pol[0].mark.m, 0x00ff0000);
	assert_int_equal(pol[0].ntmpl, 1);
	assert_int_equal(pol[0].tmpl[0].reqid, STATIC_CONF_REQID_BASE + 1);
	assert_int_equal(pol[0].tmpl[0].family, AF_INET);
	assert_int_equal(xfrm_nl_policy_check(&pol[0], NULL), 0);
	assert_int_equal(xfrm_nl_policy_check(&pol[1], NULL), 0);

	/* inbound SA -> 'in' and 'fwd' for its selector, no mark */
	n = static_conf_sa_policies(&c, in, pol);
	assert_int_equal(n, 2);
	assert_int_equal(pol[0].dir, XFRM_POLICY_IN);
	assert_int_equal(pol[1].dir, XFRM_POLICY_FWD);
	assert_false(pol[0].has_mark);
	assert_int_equal(pol[0].sel.saddr.a4, a);
	assert_int_equal(pol[0].sel.prefixlen_d, 24);
	assert_int_equal(pol[1].tmpl[0].reqid, 2);

	static_conf_sa_record(&c, out, &rec);
	assert_int_equal(rec.flags, XIPSEC_SA_F_OUTBOUND);
	assert_int_equal(rec.mark, 0x00010000);
	assert_int_equal(rec.mark_mask, 0x00ff0000);
	assert_int_equal(rec.spi, htonl(0x1001));
	static_conf_sa_record(&c, in, &rec);
	assert_int_equal(rec.flags, XIPSEC_SA_F_INBOUND);
	assert_int_equal(rec.nsel, 1);
	assert_int_equal(rec.sel[0].family, XIPSEC_AF_INET);
	assert_int_equal(rec.sel[0].src.net[0], a);
	assert_int_equal(rec.sel[0].src.mask[0], htonl(0xffffff00));
	assert_int_equal(rec.reqid, 2);

	static_conf_free(&c);
}

static void test_defaults(void **state)
{
	struct xfrm_nl_policy pol[STATIC_CONF_MAX_POL];
	struct static_conf c;
	struct xipsec_sa rec;

	(void)state;
	assert_int_equal(parse(&c, "sa a in spi 300 src 2001:db8::2 dst 2001:db8::1 aead "
				   "chacha20-poly1305 " K36 "\n"),
			 0);
	assert_int_equal(c.drop_unknown_spi, -1);
	assert_int_equal(c.sas[0].x.family, AF_INET6);
	assert_int_equal(c.sas[0].x.replay_window, 32);
	assert_int_equal(c.sas[0].x.reqid, STATIC_CONF_REQID_BASE + 1);
	/* no traffic selectors: any of the outer family, both inner families in the map */
	assert_int_equal(static_conf_sa_policies(&c, &c.sas[0], pol), 2);
	assert_int_equal(pol[0].sel.family, AF_INET6);
	static_conf_sa_record(&c, &c.sas[0], &rec);
	assert_int_equal(rec.nsel, 2);
	static_conf_free(&c);

	/* an empty file is valid and means "nothing" */
	assert_int_equal(parse(&c, "# nothing\n\n   \n"), 0);
	assert_false(c.has_keys);
	assert_int_equal(c.nsas + c.nrules, 0);
	static_conf_free(&c);
}

struct bad_case {
	const char *text;
	const char *msg; /* expected first error line */
};

#define SA_OUT "sa o out spi 0x1001 src 192.0.2.1 dst 192.0.2.2 aead aes-gcm " K20
static const struct bad_case bad_cases[] = {
	{ "frobnicate\n", "test.conf:1: unknown statement 'frobnicate' (sa, rule or set)" },
	{ "set mark-mask 0\n", "test.conf:1: bad mark-mask '0'" },
	{ "set mark-mask\n", "test.conf:1: 'set' needs NAME VALUE" },
	{ "set drop-unknown-spi maybe\n",
	  "test.conf:1: drop-unknown-spi takes on or off, not 'maybe'" },
	{ "set colour blue\n", "test.conf:1: unknown setting 'colour'" },
	{ "sa\n", "test.conf:1: 'sa' needs a name (1-23 of [A-Za-z0-9-_.:])" },
	{ "sa a/b out\n", "test.conf:1: 'sa' needs a name (1-23 of [A-Za-z0-9-_.:]), got 'a/b'" },
	{ "sa a out out\n", "test.conf:1: direction given twice ('out')" },
	{ "sa a out spi 12\n", "test.conf:1: bad SPI '12' (256..0xffffffff)" },
	{ "sa a out spi 0x1x\n", "test.conf:1: bad SPI '0x1x' (256..0xffffffff)" },
	{ "sa a out spi\n", "test.conf:1: 'spi' needs a value" },
	{ "sa a out src 192.0.2.300\n", "test.conf:1: bad address '192.0.2.300'" },
	{ "sa a out reqid 0\n", "test.conf:1: bad reqid '0'" },
	{ "sa a out replay-window 5000\n", "test.conf:1: bad replay window '5000' (0..4096)" },
	{ "sa a out encap espinudp 4500\n",
	  "test.conf:1: encap needs 'espinudp SPORT DPORT', got 'espinudp'" },
	{ "sa a out colour red\n", "test.conf:1: unknown SA keyword 'colour'" },
	{ "sa a out aead aes-gcm\n", "test.conf:1: 'aead' needs ALGORITHM KEY" },
	{ "sa a out aead des 0x00\n", "test.conf:1: unknown aead algorithm 'des'" },
	{ "sa a out aead aes-cbc " K16 "\n", "test.conf:1: unknown aead algorithm 'aes-cbc'" },
	{ "sa a out aead aes-gcm 0x123\n",
	  "test.conf:1: aead key must be hex digits after 0x, at most 64 bytes" },
	{ "sa a out aead aes-gcm 0xzz\n",
	  "test.conf:1: aead key must be hex digits after 0x, at most 64 bytes" },
	{ "sa a out aead aes-gcm 1234\n",
	  "test.conf:1: aead key must be hex digits after 0x, at most 64 bytes" },
	{ "sa a out aead aes-gcm " K16 "\n",
	  "test.conf:1: aead key of 16 bytes does not fit 'rfc4106(gcm(aes))' (key length includes the 4-byte salt)" },
	{ "sa a out aead aes-gcm " K20 " 12345\n",
	  "test.conf:1: bad ICV/truncation length '12345'" },
	{ "sa a out enc aes-cbc " K16 " enc aes-cbc " K16 "\n",
	  "test.conf:1: 'enc' excludes aead or a second enc" },
	{ "sa a out aead aes-gcm " K20 " auth sha256 " K32 "\n",
	  "test.conf:1: 'auth' excludes aead or a second auth" },
	{ "sa a out enc aes-cbc " K16 " aead aes-gcm " K20 "\n",
	  "test.conf:1: 'aead' excludes a second aead or enc/auth" },
	{ "sa a out traffic 10.0.0.0/8\n",
	  "test.conf:1: 'traffic' needs LOCAL-PREFIX REMOTE-PREFIX" },
	{ "sa a out traffic 10.0.0.1/8 10.2.0.0/16\n",
	  "test.conf:1: host bits set after the prefix length: '10.0.0.1/8'" },
	{ "sa a out traffic 10.0.0.0/33 10.2.0.0/16\n",
	  "test.conf:1: bad prefix length: '10.0.0.0/33'" },
	{ "sa a out traffic 10.0.0.0/8 2001:db8::/32\n",
	  "test.conf:1: 'traffic' prefixes of different families: '2001:db8::/32'" },
	{ "sa a out traffic 10.0.0.0/8 fish\n", "test.conf:1: not an address prefix: 'fish'" },
	{ "sa a out traffic 0/0 0/0 traffic 0/0 0/0\n",
	  "test.conf:1: not an address prefix: '0/0'" },
	{ "sa a spi 300\n", "test.conf:1: SA 'a' needs a direction: in or out" },
	{ "sa a out src 1.1.1.1\n", "test.conf:1: SA 'a' needs 'spi'" },
	{ "sa a out spi 300 src 1.1.1.1\n",
	  "test.conf:1: SA 'a' needs 'src' and 'dst' (outer addresses)" },
	{ "sa a out spi 300 src 1.1.1.1 dst ::1\n",
	  "test.conf:1: SA 'a': 'src' and 'dst' of different families" },
	{ "sa a out spi 300 src 1.1.1.1 dst 1.1.1.2\n",
	  "test.conf:1: SA 'a' needs 'aead ALG KEY' or 'enc ALG KEY auth ALG KEY'" },
	{ "sa a out spi 300 src 1.1.1.1 dst 1.1.1.2 enc aes-cbc " K16 "\n",
	  "test.conf:1: SA 'a' needs 'aead ALG KEY' or 'enc ALG KEY auth ALG KEY'" },
	{ "sa a out spi 300 src 1.1.1.1 dst 1.1.1.2 aead aes-gcm " K20 " 32\n",
	  "test.conf:1: SA 'a': ICV/truncation length not supported" },
	{ SA_OUT "\n" SA_OUT "\n", "test.conf:2: SA 'o' already defined on line 1" },
	{ SA_OUT "\nsa p out spi 0x1001 src 192.0.2.9 dst 192.0.2.2 aead aes-gcm " K20 "\n",
	  "test.conf:2: SA 'p' has the SPI and destination of SA 'o'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16\n",
	  "test.conf:1: rule needs an action: protect SA, bypass or discard" },
	{ "rule to 10.2.0.0/16 bypass\n", "test.conf:1: rule needs 'from PREFIX' and 'to PREFIX'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 bypass discard\n",
	  "test.conf:1: 'discard' given twice" },
	{ "rule from 10.0.0.0/8 from 10.0.0.0/8 bypass\n", "test.conf:1: 'from' given twice" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 bypass colour\n",
	  "test.conf:1: unknown rule keyword 'colour'" },
	{ "rule from 10.0.0.0/8 to\n", "test.conf:1: 'to' needs a value" },
	{ "rule from 10.0.0.0/8 to ::/0 bypass\n",
	  "test.conf:1: 'from' and 'to' are of different address families" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 proto foo bypass\n",
	  "test.conf:1: unknown protocol 'foo'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 proto 256 bypass\n",
	  "test.conf:1: unknown protocol '256'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 proto tcp dport 9-1 bypass\n",
	  "test.conf:1: bad port or port range '9-1'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 proto tcp dport 70000 bypass\n",
	  "test.conf:1: bad port or port range '70000'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 dport 22 bypass\n",
	  "test.conf:1: ports need proto tcp, udp, sctp, icmp or ipv6-icmp" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 priority -1 bypass\n",
	  "test.conf:1: bad priority '-1'" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 bucket a/b bypass\n",
	  "test.conf:1: bad bucket name 'a/b' (1-23 of [A-Za-z0-9-_.:])" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 protect ghost\n",
	  "test.conf:1: rule protects with unknown SA 'ghost'" },
	{ "sa i in spi 0x1001 src 192.0.2.1 dst 192.0.2.2 aead aes-gcm " K20
	  "\nrule from 10.0.0.0/8 to 10.2.0.0/16 protect i\n",
	  "test.conf:2: rule protects with inbound SA 'i' (needs an 'out' SA)" },
	{ "rule from 10.0.0.0/8 to 10.2.0.0/16 bucket x bypass\n"
	  "rule from 10.0.0.0/8 to 10.3.0.0/16 bucket x discard\n",
	  "test.conf:2: bucket 'x' is used with another action" },
	{ "set mark-mask 0x80000000\n" SA_OUT
	  "\nsa o2 out spi 0x1002 src 192.0.2.1 dst 192.0.2.2 aead aes-gcm " K20 "\n",
	  "test.conf:3: SA 'o2': id 2 does not fit mark-mask 0x80000000" },
	{ "rule from 10.0.0.0/8 \\\n", "test.conf:1: file ends inside a continued statement" },
	{ "sa i in spi 0x1001 src 192.0.2.2 dst 192.0.2.1 aead aes-gcm " K20
	  " traffic 10.1.0.0/24 10.2.0.0/24\n"
	  "sa j in spi 0x1002 src 192.0.2.2 dst 192.0.2.1 aead aes-gcm " K20
	  " traffic 10.1.0.0/24 10.2.0.0/24\n",
	  "test.conf:2: inbound SA 'j' has traffic selectors of inbound SA 'i': their kernel in/fwd policies would be the same" },
	{ "sa i in spi 0x1001 src 192.0.2.2 dst 192.0.2.1 aead aes-gcm " K20 "\n"
	  "sa j in spi 0x1002 src 192.0.2.2 dst 192.0.2.1 aead aes-gcm " K20 "\n",
	  "test.conf:2: inbound SA 'j' has traffic selectors of inbound SA 'i': their kernel in/fwd policies would be the same" },
	/* the error names the line of the bad word inside a continued statement */
	{ "rule from 10.0.0.0/8 \\\n  to 10.2.0.0/16 \\\n  proto bogus bypass\n",
	  "test.conf:3: unknown protocol 'bogus'" },
	{ "sa a out spi 300 \\\n src 1.1.1.1 \\\n dst 1.1.1.x\n",
	  "test.conf:3: bad address '1.1.1.x'" },
};

static void test_bad(void **state)
{
	struct static_conf c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char first[512];
		size_t n;

		assert_int_equal(parse(&c, bad_cases[i].text), -EINVAL);
		n = strcspn(c.errs, "\n");
		assert_true(n < sizeof(first));
		memcpy(first, c.errs, n);
		first[n] = '\0';
		if (strcmp(first, bad_cases[i].msg))
			fail_msg("case %zu: got \"%s\"\n  wanted \"%s\"", i, first,
				 bad_cases[i].msg);
		/* nothing with a key survives an error either */
		static_conf_free(&c);
	}
}

/* A key must never be quoted back, even when it is the bad token. */
/* Rules the dataplane cannot hold are refused at parse time (spd_compile), with their line. */
static void test_rules_too_dense(void **state)
{
	struct static_conf c;
	char *text;
	size_t i, len = 0;

	(void)state;
	text = malloc((SPD_MAX_LEAF_CANDS + 2) * 80);
	assert_non_null(text);
	len += (size_t)sprintf(text, "# header\n");
	for (i = 0; i < SPD_MAX_LEAF_CANDS + 1; i++)
		len += (size_t)sprintf(text + len,
				       "rule from 10.%zu.0.0/16 to 10.2.0.0/16 bypass\n", i);
	assert_int_equal(parse(&c, text), -EINVAL);
	assert_non_null(strstr(c.errs, "test.conf:"));
	assert_non_null(strstr(c.errs, "cover destination 10.2.0.0/16"));
	static_conf_free(&c);
	free(text);
}

static void test_key_not_echoed(void **state)
{
	struct static_conf c;

	(void)state;
	assert_int_equal(parse(&c, "sa a out aead aes-gcm 0xdeadbeefcafe1\n"), -EINVAL);
	assert_null(strstr(c.errs, "deadbeef"));
	static_conf_free(&c);
	assert_int_equal(parse(&c, "sa a out aead aes-gcm 0xdeadbeefcafe\n"), -EINVAL);
	assert_null(strstr(c.errs, "deadbeef"));
	static_conf_free(&c);
}

static void test_many_errors_bounded(void **state)
{
	struct static_conf c;
	char *text;
	size_t i, len = 0;

	(void)state;
	text = malloc(100 * 16);
	assert_non_null(text);
	for (i = 0; i < 100; i++)
		len += (size_t)sprintf(text + len, "bogus%zu\n", i);
	assert_int_equal(parse(&c, text), -EINVAL);
	assert_int_equal(c.nerrs, 100);
	assert_non_null(strstr(c.errs, "test.conf:20: unknown statement 'bogus19'"));
	assert_null(strstr(c.errs, "bogus20'"));
	static_conf_free(&c);
	free(text);
}

static void test_long_tokens(void **state)
{
	struct static_conf c;
	char text[STATIC_CONF_TOKEN_MAX * 2 + 64];
	char words[STATIC_CONF_MAX_TOKENS * 3 + 64];
	size_t i;

	(void)state;
	memset(text, 'a', sizeof(text));
	memcpy(text, "rule ", 5);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(parse(&c, text), -EINVAL);
	assert_string_equal(
		c.errs, "test.conf:1: statement too long (at most 64 words of 191 characters)\n");
	static_conf_free(&c);

	memset(text, 'b', sizeof(text));
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(parse(&c, text), -EINVAL);
	assert_non_null(strstr(c.errs, "test.conf:1: statement too long"));
	static_conf_free(&c);

	words[0] = '\0';
	for (i = 0; i < STATIC_CONF_MAX_TOKENS + 1; i++)
		strcat(words, "x ");
	assert_int_equal(parse(&c, words), -EINVAL);
	assert_non_null(strstr(c.errs, "statement too long"));
	static_conf_free(&c);
}

static void test_rule_argv(void **state)
{
	char *ok[] = { "from",	"10.1.0.0/24", "to",	  "10.2.0.0/24", "proto", "icmp",
		       "sport", "8",	       "protect", "gw",		 "hold" };
	char *bad[] = { "from", "10.1.0.0/24", "to" };
	char sa[STATIC_CONF_NAME_MAX], bucket[STATIC_CONF_NAME_MAX], err[200];
	struct spd_rule r;
	__u8 action;
	bool hold;

	(void)state;
	assert_int_equal(
		static_conf_parse_rule(11, ok, &r, &action, &hold, sa, bucket, err, sizeof(err)),
		0);
	assert_int_equal(action, SPD_ACT_PROTECT);
	assert_true(hold);
	assert_string_equal(sa, "gw");
	assert_string_equal(bucket, "");
	assert_int_equal(r.proto, 1);
	assert_int_equal(r.sport_lo, 8);
	assert_int_equal(r.sport_hi, 8);
	assert_int_equal(r.dport_hi, 65535);
	assert_int_equal(
		static_conf_parse_rule(3, bad, &r, &action, &hold, sa, bucket, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "'to' needs a value");
}

static void test_proto_names(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(static_conf_proto("TCP"), 6);
	assert_int_equal(static_conf_proto("ipv6-icmp"), 58);
	assert_int_equal(static_conf_proto("47"), 47);
	assert_int_equal(static_conf_proto("x47"), -1);
	assert_string_equal(static_conf_proto_name(17, buf, sizeof(buf)), "udp");
	assert_string_equal(static_conf_proto_name(0, buf, sizeof(buf)), "any");
	assert_string_equal(static_conf_proto_name(99, buf, sizeof(buf)), "99");
}

static void test_file_mode(void **state)
{
	char path[] = "/tmp/xipsec-test-conf-XXXXXX";
	struct static_conf c;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(good_conf, f);
	fclose(f);

	assert_int_equal(chmod(path, 0600), 0);
	static_conf_init(&c, path);
	assert_int_equal(static_conf_load_file(&c, path), 0);
	assert_int_equal(c.nsas, 2);
	assert_int_equal(c.nrules, 5);
	static_conf_free(&c);

	assert_int_equal(chmod(path, 0640), 0);
	static_conf_init(&c, path);
	assert_int_equal(static_conf_load_file(&c, path), -EINVAL);
	assert_non_null(
		strstr(c.errs, "holds keys but is accessible by group or others (mode 0640)"));
	static_conf_free(&c);

	/* rules only: no secret, any mode */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("rule from 10.0.0.0/8 to 10.2.0.0/16 bypass\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	static_conf_init(&c, path);
	assert_int_equal(static_conf_load_file(&c, path), 0);
	static_conf_free(&c);

	unlink(path);
	static_conf_init(&c, path);
	assert_int_equal(static_conf_load_file(&c, path), -ENOENT);
	static_conf_free(&c);
	static_conf_init(&c, "/tmp");
	assert_int_equal(static_conf_load_file(&c, "/tmp"), -EINVAL);
	static_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_rules_too_dense),
		cmocka_unit_test(test_key_not_echoed),
		cmocka_unit_test(test_many_errors_bounded),
		cmocka_unit_test(test_long_tokens),
		cmocka_unit_test(test_rule_argv),
		cmocka_unit_test(test_proto_names),
		cmocka_unit_test(test_file_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
