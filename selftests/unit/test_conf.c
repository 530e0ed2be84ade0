// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/conf.c and conf_value.c: every supported key, every default, every
 * error message (file:line exact), value parsers, identity matching, secret
 * lookup, permission checks, and typical swanctl.conf files.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../iked/conf.h"

static char err[1024];

/* Load @text without credentials; NULL on error (message in err). */
static struct conf *load(const char *text)
{
	struct conf *c = NULL;
	int rc;

	rc = conf_load_buf(text, strlen(text), "t.conf", CONF_NO_CREDS | CONF_NO_INCLUDE, &c, err,
			   sizeof(err));
	if (rc) {
		assert_null(c);
		assert_true(err[0] != '\0');
		return NULL;
	}
	assert_non_null(c);
	return c;
}

static struct conf *load_ok(const char *text)
{
	struct conf *c = load(text);

	if (!c)
		fail_msg("unexpected error: %s", err);
	return c;
}

static void range_eq(const struct conf_range *r, const char *from, const char *to, int plen)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	inet_ntop(r->family, r->from, a, sizeof(a));
	inet_ntop(r->family, r->to, b, sizeof(b));
	assert_string_equal(a, from);
	assert_string_equal(b, to);
	assert_int_equal(r->prefixlen, plen);
}

static void test_defaults(void **state)
{
	const struct conf_child *ch;
	const struct conf_conn *c;
	struct conf *conf;

	(void)state;
	conf = load_ok("connections { c { local { auth = psk } children { ch { } } } }\n");
	assert_int_equal(conf->nconns, 1);
	c = conf->conns[0];
	assert_string_equal(c->name, "c");
	assert_int_equal(c->line, 1);
	assert_int_equal(c->version, 2);
	assert_int_equal(c->nlocal_addrs, 1);
	assert_int_equal(c->local_addrs[0].kind, CONF_HOST_ANY);
	assert_int_equal(c->local_addrs[0].family, AF_UNSPEC);
	assert_int_equal(c->nremote_addrs, 1);
	assert_int_equal(c->remote_addrs[0].kind, CONF_HOST_ANY);
	assert_int_equal(c->local_port, 500);
	assert_int_equal(c->remote_port, 500);
	/* default IKE proposals: a CBC+HMAC one and an AEAD one, both with a KE */
	assert_int_equal(c->proposals.n, 2);
	assert_false(c->proposals.v[0].aead);
	assert_int_equal(c->proposals.v[0].encr[0], IKEV2_ENCR_AES_CBC);
	assert_int_equal(c->proposals.v[0].prf[0], IKEV2_PRF_HMAC_SHA2_256);
	assert_true(c->proposals.v[1].aead);
	assert_int_equal(c->proposals.v[1].encr[0], IKEV2_ENCR_AES_GCM_16);
	assert_int_equal(c->proposals.v[1].ke[0], IKEV2_DH_CURVE25519);
	assert_int_equal(c->dpd_delay, 0);
	assert_int_equal(c->dpd_timeout, 0);
	assert_int_equal(c->rekey_time, 14400);
	assert_int_equal(c->reauth_time, 0);
	assert_int_equal(c->over_time, 1440);
	assert_int_equal(c->rand_time, 1440);
	assert_false(c->encap);
	assert_false(c->mobike);
	assert_true(c->send_certreq);
	assert_int_equal(c->fragmentation, CONF_FRAG_YES);
	assert_int_equal(c->send_cert, CONF_SEND_CERT_IFASKED);
	assert_int_equal(c->unique, CONF_UNIQUE_NO);
	assert_int_equal(c->keyingtries, 1);
	assert_int_equal(c->npools, 0);
	assert_int_equal(c->nvips, 0);
	assert_false(c->mark_in.set);
	assert_false(c->mark_out.set);
	assert_int_equal(c->if_id_in.value, 0);
	assert_int_equal(c->nlocal, 1);
	assert_int_equal(c->local[0].method, CONF_AUTH_PSK);
	assert_false(c->local[0].id_set);
	assert_int_equal(c->local[0].id.type, CONF_ID_ANY);
	/* no remote section: pubkey and %any, as swanctl */
	assert_int_equal(c->nremote, 1);
	assert_int_equal(c->remote[0].method, CONF_AUTH_PUBKEY);
	assert_string_equal(c->remote[0].id.str, "%any");
	assert_int_equal(c->nchildren, 1);
	ch = c->children[0];
	assert_int_equal(ch->nlocal_ts, 1);
	assert_true(ch->local_ts[0].dynamic);
	assert_int_equal(ch->nremote_ts, 1);
	assert_true(ch->remote_ts[0].dynamic);
	assert_int_equal(ch->esp.n, 2);
	assert_true(ch->esp.v[0].aead);
	assert_int_equal(ch->esp.v[0].nke, 0);
	assert_int_equal(ch->esp.v[0].nesn, 1);
	assert_int_equal(ch->esp.v[0].esn[0], IKEV2_ESN_NO);
	assert_int_equal(ch->esp.v[1].integ[0], IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(ch->mode, CONF_MODE_TUNNEL);
	assert_int_equal(ch->start_action, CONF_START_NONE);
	assert_int_equal(ch->dpd_action, CONF_ACTION_NONE);
	assert_int_equal(ch->close_action, CONF_ACTION_NONE);
	assert_int_equal(ch->rekey_time, 3600);
	assert_int_equal(ch->life_time, 3960);
	assert_int_equal(ch->rand_time, 360);
	assert_false(ch->mark_in.set);
	assert_false(ch->set_mark_out.set);
	assert_int_equal(ch->reqid, 0);
	assert_int_equal(ch->replay_window, 32);
	assert_ptr_equal(conf_find_conn(conf, "c"), c);
	assert_null(conf_find_conn(conf, "d"));
	assert_ptr_equal(conf_find_child(c, "ch"), ch);
	assert_null(conf_find_child(c, "x"));
	conf_free(conf);
}

static const char *all_keys =
	"pools {\n"
	"  p4 { addrs = 10.3.0.0/24\n dns = 10.3.0.1, 2001:db8::53 }\n"
	"  p6 { addrs = fd00::10-fd00::20 }\n"
	"}\n"
	"connections {\n"
	"  c {\n"
	"    version = 0\n"
	"    local_addrs = 192.0.2.1, 2001:db8::1\n"
	"    remote_addrs = 198.51.100.0/24, 203.0.113.5-203.0.113.9, peer.example.org, %any6\n"
	"    local_port = 4500\n"
	"    remote_port = 4501\n"
	"    proposals = aes256gcm16-prfsha384-ecp384, aes128-sha256-modp2048\n"
	"    dpd_delay = 30s\n"
	"    dpd_timeout = 2m\n"
	"    rekey_time = 2h\n"
	"    reauth_time = 1d\n"
	"    over_time = 5m\n"
	"    rand_time = 60\n"
	"    encap = yes\n"
	"    mobike = no\n"
	"    fragmentation = force\n"
	"    send_cert = always\n"
	"    send_certreq = no\n"
	"    unique = replace\n"
	"    keyingtries = 0\n"
	"    pools = p4, p6\n"
	"    vips = 0.0.0.0, ::\n"
	"    mark_in = 0x12\n"
	"    mark_out = 0x100/0xff00\n"
	"    if_id_in = 7\n"
	"    if_id_out = %unique\n"
	"    local-1 {\n"
	"      auth = psk\n"
	"      id = @moon.strongswan.org\n"
	"      round = 1\n"
	"    }\n"
	"    remote-foo {\n"
	"      auth = psk\n"
	"      id = carol@strongswan.org\n"
	"    }\n"
	"    children {\n"
	"      net {\n"
	"        local_ts = 10.1.0.0/16, 2001:db8:1::/48\n"
	"        remote_ts = 10.2.0.1-10.2.0.9, 10.9.9.9\n"
	"        esp_proposals = chacha20poly1305-esn, aes256-sha512-x25519\n"
	"        mode = tunnel\n"
	"        start_action = trap\n"
	"        dpd_action = restart\n"
	"        close_action = route\n"
	"        rekey_time = 10m\n"
	"        life_time = 20m\n"
	"        rand_time = 1m\n"
	"        mark_in = %unique\n"
	"        mark_out = 42/0xff\n"
	"        set_mark_in = %same\n"
	"        set_mark_out = 0x1/0x1\n"
	"        if_id_in = 0x20\n"
	"        if_id_out = %unique-dir\n"
	"        reqid = 5\n"
	"        replay_window = 128\n"
	"      }\n"
	"      other { start_action = start }\n"
	"    }\n"
	"  }\n"
	"}\n"
	"secrets {\n"
	"  ike-1 { id = moon.strongswan.org\n id-2 = 192.0.2.2\n secret = 0x0102ff }\n"
	"  ike { secret = 0sc2VjcmV0 }\n"
	"  ikefoo { secret = \"quoted # secret\" }\n"
	"}\n";

static void test_all_keys(void **state)
{
	const struct conf_child *ch;
	const struct conf_conn *c;
	struct conf *conf;

	(void)state;
	conf = load_ok(all_keys);
	assert_int_equal(conf->npools, 2);
	assert_string_equal(conf->pools[0]->name, "p4");
	range_eq(&conf->pools[0]->range, "10.3.0.0", "10.3.0.255", 24);
	assert_int_equal(conf->pools[0]->ndns, 2);
	range_eq(&conf->pools[0]->dns[1], "2001:db8::53", "2001:db8::53", 128);
	range_eq(&conf->pools[1]->range, "fd00::10", "fd00::20", -1);
	assert_ptr_equal(conf_find_pool(conf, "p6"), conf->pools[1]);

	c = conf->conns[0];
	assert_int_equal(c->version, 2);
	assert_int_equal(c->nlocal_addrs, 2);
	range_eq(&c->local_addrs[1].range, "2001:db8::1", "2001:db8::1", 128);
	assert_int_equal(c->nremote_addrs, 4);
	range_eq(&c->remote_addrs[0].range, "198.51.100.0", "198.51.100.255", 24);
	range_eq(&c->remote_addrs[1].range, "203.0.113.5", "203.0.113.9", -1);
	assert_int_equal(c->remote_addrs[2].kind, CONF_HOST_NAME);
	assert_string_equal(c->remote_addrs[2].name, "peer.example.org");
	assert_int_equal(c->remote_addrs[3].kind, CONF_HOST_ANY);
	assert_int_equal(c->remote_addrs[3].family, AF_INET6);
	assert_int_equal(c->local_port, 4500);
	assert_int_equal(c->remote_port, 4501);
	assert_int_equal(c->proposals.n, 2);
	assert_int_equal(c->proposals.v[0].encr[0], IKEV2_ENCR_AES_GCM_16);
	assert_int_equal(c->proposals.v[0].encr_keylen[0], 256);
	assert_int_equal(c->proposals.v[0].prf[0], IKEV2_PRF_HMAC_SHA2_384);
	assert_int_equal(c->proposals.v[0].ke[0], IKEV2_DH_ECP_384);
	assert_int_equal(c->proposals.v[1].encr_keylen[0], 128);
	assert_int_equal(c->proposals.v[1].integ[0], IKEV2_INTEG_HMAC_SHA2_256_128);
	assert_int_equal(c->proposals.v[1].ke[0], IKEV2_DH_MODP_2048);
	assert_int_equal(c->dpd_delay, 30);
	assert_int_equal(c->dpd_timeout, 120);
	assert_int_equal(c->rekey_time, 7200);
	assert_int_equal(c->reauth_time, 86400);
	assert_int_equal(c->over_time, 300);
	assert_int_equal(c->rand_time, 60);
	assert_true(c->encap);
	assert_false(c->mobike);
	assert_int_equal(c->fragmentation, CONF_FRAG_FORCE);
	assert_int_equal(c->send_cert, CONF_SEND_CERT_ALWAYS);
	assert_false(c->send_certreq);
	assert_int_equal(c->unique, CONF_UNIQUE_REPLACE);
	assert_int_equal(c->keyingtries, 0);
	assert_int_equal(c->npools, 2);
	assert_ptr_equal(c->pools[1], conf->pools[1]);
	assert_int_equal(c->nvips, 2);
	assert_int_equal(c->vips[1].family, AF_INET6);
	assert_true(c->mark_in.set);
	assert_int_equal(c->mark_in.value, 0x12);
	assert_int_equal(c->mark_in.mask, 0xffffffff);
	assert_int_equal(c->mark_out.value, 0x100);
	assert_int_equal(c->mark_out.mask, 0xff00);
	assert_int_equal(c->if_id_in.value, 7);
	assert_int_equal(c->if_id_out.flags, CONF_MARK_UNIQUE);
	assert_string_equal(c->local[0].name, "local-1");
	assert_int_equal(c->local[0].round, 1);
	assert_int_equal(c->local[0].id.type, IKEV2_ID_FQDN);
	assert_int_equal(c->local[0].id.len, strlen("moon.strongswan.org"));
	assert_memory_equal(c->local[0].id.data, "moon.strongswan.org", c->local[0].id.len);
	assert_string_equal(c->remote[0].name, "remote-foo");
	assert_int_equal(c->remote[0].id.type, IKEV2_ID_RFC822_ADDR);

	ch = c->children[0];
	assert_int_equal(c->nchildren, 2);
	assert_int_equal(ch->nlocal_ts, 2);
	range_eq(&ch->local_ts[1].range, "2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", 48);
	range_eq(&ch->remote_ts[0].range, "10.2.0.1", "10.2.0.9", -1);
	range_eq(&ch->remote_ts[1].range, "10.9.9.9", "10.9.9.9", 32);
	assert_int_equal(ch->esp.n, 2);
	assert_int_equal(ch->esp.v[0].encr[0], IKEV2_ENCR_CHACHA20_POLY1305);
	assert_int_equal(ch->esp.v[0].esn[0], IKEV2_ESN_YES);
	assert_int_equal(ch->esp.v[1].integ[0], IKEV2_INTEG_HMAC_SHA2_512_256);
	assert_int_equal(ch->esp.v[1].ke[0], IKEV2_DH_CURVE25519);
	assert_int_equal(ch->start_action, CONF_START_TRAP);
	assert_int_equal(ch->dpd_action, CONF_ACTION_RESTART);
	assert_int_equal(ch->close_action, CONF_ACTION_TRAP);
	assert_int_equal(ch->rekey_time, 600);
	assert_int_equal(ch->life_time, 1200);
	assert_int_equal(ch->rand_time, 60);
	assert_int_equal(ch->mark_in.flags, CONF_MARK_UNIQUE);
	/* the connection's marks are the children's defaults */
	assert_true(c->children[1]->mark_in.set);
	assert_int_equal(c->children[1]->mark_in.value, 0x12);
	assert_int_equal(c->children[1]->mark_out.mask, 0xff00);
	assert_int_equal(ch->mark_out.value, 42);
	assert_int_equal(ch->mark_out.mask, 0xff);
	assert_int_equal(ch->set_mark_in.flags, CONF_MARK_SAME);
	assert_int_equal(ch->set_mark_out.value, 1);
	assert_int_equal(ch->set_mark_out.mask, 1);
	assert_int_equal(ch->if_id_in.value, 0x20);
	assert_int_equal(ch->if_id_out.flags, CONF_MARK_UNIQUE_DIR);
	assert_int_equal(ch->reqid, 5);
	assert_int_equal(ch->replay_window, 128);
	assert_int_equal(c->children[1]->start_action, CONF_START_START);

	assert_int_equal(conf->nsecrets, 3);
	assert_int_equal(conf->secrets[0]->nids, 2);
	assert_int_equal(conf->secrets[0]->ids[1].type, IKEV2_ID_IPV4_ADDR);
	assert_int_equal(conf->secrets[0]->secret_len, 3);
	assert_memory_equal(conf->secrets[0]->secret, "\x01\x02\xff", 3);
	assert_int_equal(conf->secrets[1]->secret_len, 6);
	assert_memory_equal(conf->secrets[1]->secret, "secret", 6);
	assert_int_equal(conf->secrets[2]->secret_len, strlen("quoted # secret"));
	assert_memory_equal(conf->secrets[2]->secret, "quoted # secret", 15);
	conf_free(conf);
}

static void test_empty_values(void **state)
{
	struct conf *conf;

	(void)state;
	/* "key =" means "use the default", as an absent key */
	conf = load_ok("connections { c {\n version =\n local_addrs =\n proposals =\n"
		       " local { auth = psk\n id = }\n children { ch { local_ts =\n mode = } } } }\n");
	assert_int_equal(conf->conns[0]->version, 2);
	assert_int_equal(conf->conns[0]->nlocal_addrs, 1);
	assert_int_equal(conf->conns[0]->local_addrs[0].kind, CONF_HOST_ANY);
	assert_int_equal(conf->conns[0]->proposals.n, 2);
	assert_false(conf->conns[0]->local[0].id_set);
	assert_true(conf->conns[0]->children[0]->local_ts[0].dynamic);
	conf_free(conf);
}

static void test_derived_times(void **state)
{
	struct conf *conf;

	(void)state;
	/* over_time from the longer of rekey/reauth; rand_time at most half the shorter */
	conf = load_ok("connections { c {\n rekey_time = 0\n reauth_time = 10h\n"
		       " local { auth = psk }\n"
		       " children { a { rekey_time = 0 } b { life_time = 2h } } } }\n");
	assert_int_equal(conf->conns[0]->over_time, 3600);
	assert_int_equal(conf->conns[0]->rand_time, 3600);
	assert_int_equal(conf->conns[0]->children[0]->life_time, 0);
	assert_int_equal(conf->conns[0]->children[0]->rand_time, 0);
	assert_int_equal(conf->conns[0]->children[1]->life_time, 7200);
	assert_int_equal(conf->conns[0]->children[1]->rand_time, 3600);
	conf_free(conf);
	conf = load_ok("connections { c {\n rekey_time = 1h\n reauth_time = 10m\n"
		       " local { auth = psk } } }\n");
	assert_int_equal(conf->conns[0]->over_time, 360);
	assert_int_equal(conf->conns[0]->rand_time, 300);
	conf_free(conf);
}

struct err_case {
	const char *text;
	const char *err;
};

#define CONN(body)  "connections {\n c {\n local { auth = psk }\n" body "\n }\n}\n"
#define CHILD(body) CONN("children { ch {\n" body "\n } }")

static void check_errors(const struct err_case *cases, size_t n)
{
	struct conf *conf;
	size_t i;

	for (i = 0; i < n; i++) {
		conf = load(cases[i].text);
		if (conf) {
			conf_free(conf);
			fail_msg("case %zu: loaded, want \"%s\"", i, cases[i].err);
		}
		if (strcmp(err, cases[i].err))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].err);
	}
}

static void test_errors_structure(void **state)
{
	static const struct err_case cases[] = {
		{ "foo = 1\n", "t.conf:1: unknown key 'foo' at top level" },
		{ "\nfoo { }\n", "t.conf:2: unknown section 'foo' at top level" },
		{ CONN("foo = bar"), "t.conf:4: unknown key 'foo' in connections.c" },
		{ CONN("updown = /usr/lib/ipsec/_updown"),
		  "t.conf:4: unknown key 'updown' in connections.c" },
		{ CONN("other { }"), "t.conf:4: unknown section 'other' in connections.c" },
		{ CONN("remote { auth = psk\n cacert = x }"),
		  "t.conf:5: unknown key 'cacert' in connections.c.remote" },
		{ CONN("local-2 { }"),
		  "t.conf:4: second local authentication round 'local-2': multiple authentication rounds (RFC 4739) are not supported" },
		{ CONN("children { x = 1 }"),
		  "t.conf:4: unknown key 'x' in connections.c.children" },
		{ CHILD("updown = x"),
		  "t.conf:5: unknown key 'updown' in connections.c.children.ch" },
		{ CHILD("sub { }"),
		  "t.conf:5: unknown section 'sub' in connections.c.children.ch" },
		{ "connections { x = 1 }\n", "t.conf:1: unknown key 'x' in connections" },
		{ "pools { x = 1 }\n", "t.conf:1: unknown key 'x' in pools" },
		{ "pools { p { } }\n", "t.conf:1: pool 'p' has no 'addrs'" },
		{ "pools { p {\n addrs = 10.0.0.0/8\n nbns = 1.2.3.4 } }\n",
		  "t.conf:3: unknown key 'nbns' in pools.p" },
		{ "secrets { eap-1 { secret = x } }\n",
		  "t.conf:1: unsupported section 'eap-1' in secrets (only ike<suffix> secrets are supported)" },
		{ "secrets {\n private-1 { }\n}\n",
		  "t.conf:2: unsupported section 'private-1' in secrets (only ike<suffix> secrets are supported)" },
		{ "secrets { foo { } }\n", "t.conf:1: unknown section 'foo' in secrets" },
		{ "secrets { ike { id = a } }\n", "t.conf:1: secrets.ike has no 'secret'" },
		{ "secrets { ike {\n secret = x\n other = y } }\n",
		  "t.conf:3: unknown key 'other' in secrets.ike" },
		{ "secrets { ike { sub { } } }\n",
		  "t.conf:1: unknown section 'sub' in secrets.ike" },
		{ "authorities { a { crl_uris = http://x } }\n",
		  "t.conf:1: unknown key 'crl_uris' in authorities.a" },
		{ "authorities { a { cacert = ca.pem } }\n",
		  "t.conf:1: certificate 'ca.pem': credentials are not loaded here" },
		{ CONN("local { certs = a.pem }"),
		  "t.conf:4: certificate 'a.pem': credentials are not loaded here" },
		{ CONN("pools = nope"),
		  "t.conf:4: unknown pool 'nope' (no such section in pools)" },
		{ "connections { a : tmpl { } }\n",
		  "t.conf:1: section 'connections.a' references unknown section 'tmpl'" },
	};

	(void)state;
	check_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_errors_values(void **state)
{
	static const struct err_case
		cases
			[] = {
				{ CONN("version = 1"),
				  "t.conf:4: invalid version '1' for connections.c.version: IKEv1 is not supported" },
				{ CONN("version = 3"),
				  "t.conf:4: invalid version '3' for connections.c.version: expected 0 or 2" },
				{ CONN("local_addrs = 1.2.3.4/33"),
				  "t.conf:4: invalid address '1.2.3.4/33' for connections.c.local_addrs" },
				{ CONN("remote_addrs = 10.0.0.1, bad_name!"),
				  "t.conf:4: invalid address 'bad_name!' for connections.c.remote_addrs" },
				{ CONN("local_port = 0"),
				  "t.conf:4: invalid port '0' for connections.c.local_port: expected 1 to 65535" },
				{ CONN("remote_port = 65536"),
				  "t.conf:4: invalid port '65536' for connections.c.remote_port: expected 1 to 65535" },
				{ CONN("dpd_delay = 10x"),
				  "t.conf:4: invalid time '10x' for connections.c.dpd_delay: expected a number with an optional s, m, h or d suffix" },
				{ CONN("rekey_time = -1"),
				  "t.conf:4: invalid time '-1' for connections.c.rekey_time: expected a number with an optional s, m, h or d suffix" },
				{ CONN("reauth_time = 1hh"),
				  "t.conf:4: invalid time '1hh' for connections.c.reauth_time: expected a number with an optional s, m, h or d suffix" },
				{ CONN("over_time = 99999999999"),
				  "t.conf:4: invalid time '99999999999' for connections.c.over_time: expected a number with an optional s, m, h or d suffix" },
				{ CONN("rand_time = 50000d"),
				  "t.conf:4: invalid time '50000d' for connections.c.rand_time: expected a number with an optional s, m, h or d suffix" },
				{ CONN("dpd_timeout = s"),
				  "t.conf:4: invalid time 's' for connections.c.dpd_timeout: expected a number with an optional s, m, h or d suffix" },
				{ CONN("encap = maybe"),
				  "t.conf:4: invalid boolean 'maybe' for connections.c.encap: expected yes or no" },
				{ CONN("mobike = yes"),
				  "t.conf:4: invalid value 'yes' for connections.c.mobike: MOBIKE is not supported, set mobike = no" },
				{ CONN("mobike = 2"),
				  "t.conf:4: invalid boolean '2' for connections.c.mobike: expected yes or no" },
				{ CONN("fragmentation = sometimes"),
				  "t.conf:4: invalid value 'sometimes' for connections.c.fragmentation: expected one of yes, accept, force, no" },
				{ CONN("send_cert = ask"),
				  "t.conf:4: invalid value 'ask' for connections.c.send_cert: expected one of ifasked, always, never" },
				{ CONN("send_certreq = x"),
				  "t.conf:4: invalid boolean 'x' for connections.c.send_certreq: expected yes or no" },
				{ CONN("unique = yes"),
				  "t.conf:4: invalid value 'yes' for connections.c.unique: expected one of no, never, keep, replace" },
				{ CONN("keyingtries = 1s"),
				  "t.conf:4: invalid number '1s' for connections.c.keyingtries" },
				{ CONN("vips = 10.0.0.0/24"),
				  "t.conf:4: invalid virtual IP '10.0.0.0/24' for connections.c.vips" },
				{ CONN("mark_in = 0x100/0xff"),
				  "t.conf:4: invalid mark '0x100/0xff' for connections.c.mark_in: expected value[/mask], %unique or %unique-dir" },
				{ CONN("mark_out = %same"),
				  "t.conf:4: invalid mark '%same' for connections.c.mark_out: expected value[/mask], %unique or %unique-dir" },
				{ CONN("if_id_in = 1/2"),
				  "t.conf:4: invalid interface ID '1/2' for connections.c.if_id_in: expected a number, %unique or %unique-dir" },
				{ CONN("if_id_out = 0x100000000"),
				  "t.conf:4: invalid interface ID '0x100000000' for connections.c.if_id_out: expected a number, %unique or %unique-dir" },
				{ CONN("proposals = aes256-sha256"),
				  "t.conf:4: invalid proposals 'aes256-sha256' for connections.c.proposals: proposal 'aes256-sha256': a key exchange method is mandatory in IKE proposals" },
				{ CONN("proposals = aes256gcm16-x25519"),
				  "t.conf:4: invalid proposals 'aes256gcm16-x25519' for connections.c.proposals: proposal 'aes256gcm16-x25519': a PRF is mandatory in AEAD proposals" },
				{ CONN("proposals = aes256gcm16-sha256-prfsha256-x25519"),
				  "t.conf:4: invalid proposals 'aes256gcm16-sha256-prfsha256-x25519' for connections.c.proposals: proposal 'aes256gcm16-sha256-prfsha256-x25519': integrity algorithm with an AEAD cipher" },
				{ CONN("proposals = aes256-aes128gcm16-sha256-x25519"),
				  "t.conf:4: invalid proposals 'aes256-aes128gcm16-sha256-x25519' for connections.c.proposals: proposal 'aes256-aes128gcm16-sha256-x25519': 'aes128gcm16': AEAD and non-AEAD ciphers in one proposal" },
				{ CONN("proposals = 3des-sha1-modp1024"),
				  "t.conf:4: invalid proposals '3des-sha1-modp1024' for connections.c.proposals: proposal '3des-sha1-modp1024': unknown or unsupported algorithm '3des'" },
				{ CONN("proposals = chacha20poly1305-prfsha256-x25519"), "t.conf:4: invalid proposals 'chacha20poly1305-prfsha256-x25519' for connections.c.proposals: proposal 'chacha20poly1305-prfsha256-x25519': 'chacha20poly1305' is not supported in IKE proposals" },
				{ CONN("proposals = sha256-x25519"),
				  "t.conf:4: invalid proposals 'sha256-x25519' for connections.c.proposals: proposal 'sha256-x25519': no encryption algorithm" },
				{ CONN("proposals = aes128-x25519"),
				  "t.conf:4: invalid proposals 'aes128-x25519' for connections.c.proposals: proposal 'aes128-x25519': no integrity algorithm" },
				{ CONN("proposals = default, ,aes128-sha256-x25519"),
				  "t.conf:4: invalid proposals 'default, ,aes128-sha256-x25519' for connections.c.proposals: empty proposal" },
				{ CONN("local { auth = eap-mschapv2 }"),
				  "t.conf:4: invalid value 'eap-mschapv2' for connections.c.local.auth: expected one of pubkey, rsa, ecdsa, psk" },
				{ CONN("remote { id = \"has space\" }"),
				  "t.conf:4: invalid identity 'has space' for connections.c.remote.id" },
				{ CONN("remote { id = \"C=CH, =x\" }"),
				  "t.conf:4: invalid identity 'C=CH, =x' for connections.c.remote.id" },
				{ CONN("remote { id = \"XX=1\" }"),
				  "t.conf:4: invalid identity 'XX=1' for connections.c.remote.id" },
				{ CONN("remote { round = x }"),
				  "t.conf:4: invalid number 'x' for connections.c.remote.round" },
				{ CHILD("local_ts = 10.0.0.0/8[tcp/80]"),
				  "t.conf:5: traffic selector '10.0.0.0/8[tcp/80]' for connections.c.children.ch.local_ts: protocol/port selectors are not supported" },
				{ CHILD("remote_ts = dynamic, 10.0.0.300"),
				  "t.conf:5: invalid traffic selector '10.0.0.300' for connections.c.children.ch.remote_ts" },
				{ CHILD("remote_ts = 10.0.0.9-10.0.0.1"),
				  "t.conf:5: invalid traffic selector '10.0.0.9-10.0.0.1' for connections.c.children.ch.remote_ts" },
				{ CHILD("local_ts = 10.0.0.1-::1"),
				  "t.conf:5: invalid traffic selector '10.0.0.1-::1' for connections.c.children.ch.local_ts" },
				{ CHILD("esp_proposals = aes128-sha256-prfsha256"),
				  "t.conf:5: invalid proposals 'aes128-sha256-prfsha256' for connections.c.children.ch.esp_proposals: proposal 'aes128-sha256-prfsha256': 'prfsha256': no PRF in ESP proposals" },
				{ CHILD("esp_proposals = aes128gcm12"),
				  "t.conf:5: invalid proposals 'aes128gcm12' for connections.c.children.ch.esp_proposals: proposal 'aes128gcm12': unknown or unsupported algorithm 'aes128gcm12'" },
				{ CHILD("mode = transport"),
				  "t.conf:5: invalid mode 'transport' for connections.c.children.ch.mode: only tunnel mode is supported" },
				{ CHILD("mode = tunel"),
				  "t.conf:5: invalid mode 'tunel' for connections.c.children.ch.mode: expected tunnel" },
				{ CHILD("start_action = hold"),
				  "t.conf:5: invalid value 'hold' for connections.c.children.ch.start_action: expected one of none, clear, start, restart, trap, route" },
				{ CHILD("dpd_action = x"),
				  "t.conf:5: invalid value 'x' for connections.c.children.ch.dpd_action: expected one of none, clear, trap, route, restart, start" },
				{ CHILD("close_action = x"),
				  "t.conf:5: invalid value 'x' for connections.c.children.ch.close_action: expected one of none, clear, trap, route, restart, start" },
				{ CHILD("rekey_time = 1w"),
				  "t.conf:5: invalid time '1w' for connections.c.children.ch.rekey_time: expected a number with an optional s, m, h or d suffix" },
				{ CHILD("life_time = x"),
				  "t.conf:5: invalid time 'x' for connections.c.children.ch.life_time: expected a number with an optional s, m, h or d suffix" },
				{ CHILD("rand_time = x"),
				  "t.conf:5: invalid time 'x' for connections.c.children.ch.rand_time: expected a number with an optional s, m, h or d suffix" },
				{ CHILD("rekey_time = 2h\nlife_time = 1h"),
				  "t.conf:4: child 'ch': life_time is shorter than rekey_time" },
				{ CHILD("mark_in = x"),
				  "t.conf:5: invalid mark 'x' for connections.c.children.ch.mark_in: expected value[/mask], %unique or %unique-dir" },
				{ CHILD("mark_out = 1/"),
				  "t.conf:5: invalid mark '1/' for connections.c.children.ch.mark_out: expected value[/mask], %unique or %unique-dir" },
				{ CHILD("set_mark_in = %unique"),
				  "t.conf:5: invalid mark '%unique' for connections.c.children.ch.set_mark_in: expected value[/mask] or %same" },
				{ CHILD("set_mark_out = 3/1"),
				  "t.conf:5: invalid mark '3/1' for connections.c.children.ch.set_mark_out: expected value[/mask] or %same" },
				{ CHILD("if_id_in = -1"),
				  "t.conf:5: invalid interface ID '-1' for connections.c.children.ch.if_id_in: expected a number, %unique or %unique-dir" },
				{ CHILD("if_id_out = x"),
				  "t.conf:5: invalid interface ID 'x' for connections.c.children.ch.if_id_out: expected a number, %unique or %unique-dir" },
				{ CHILD("reqid = 0x5"),
				  "t.conf:5: invalid number '0x5' for connections.c.children.ch.reqid" },
				{ CHILD("replay_window = many"),
				  "t.conf:5: invalid number 'many' for connections.c.children.ch.replay_window" },
				{ "pools { p { addrs = dhcp } }\n",
				  "t.conf:1: invalid pool 'dhcp' for pools.p.addrs: dhcp and radius pools are not supported" },
				{ "pools { p { addrs = 10.0.0.0/8, 10.1.0.0/16 } }\n",
				  "t.conf:1: invalid pool '10.0.0.0/8, 10.1.0.0/16' for pools.p.addrs: expected a subnet (10.3.0.0/24) or a range" },
				{ "pools { p { addrs = 10.0.0.0/8\n dns = 10.0.0.0/24 } }\n",
				  "t.conf:2: invalid DNS server '10.0.0.0/24' for pools.p.dns" },
				{ "secrets {\n ike {\n secret = 0xabc } }\n",
				  "t.conf:3: invalid hex secret for secrets.ike.secret" },
				{ "secrets {\n ike {\n secret = 0xzz } }\n",
				  "t.conf:3: invalid hex secret for secrets.ike.secret" },
				{ "secrets { ike { secret = 0s!!!! } }\n",
				  "t.conf:1: invalid base64 secret for secrets.ike.secret" },
				{ "secrets { ike { secret = 0sabc } }\n",
				  "t.conf:1: invalid base64 secret for secrets.ike.secret" },
				{ "secrets { ike { secret = \"\" } }\n",
				  "t.conf:1: empty secret for secrets.ike.secret" },
				{ "secrets { ike { secret = x\n id = \"a b\" } }\n",
				  "t.conf:2: invalid identity 'a b' for secrets.ike.id" },
			};

	(void)state;
	check_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_proposal_limits(void **state)
{
	struct conf_proposals props;
	char buf[2048], msg[256];
	size_t i, o = 0;

	(void)state;
	for (i = 0; i < 33; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%saes128-sha256-x25519", i ? "," : "");
	assert_int_equal(conf_parse_proposals(buf, true, &props, msg, sizeof(msg)), -E2BIG);
	assert_string_equal(msg, "more than 32 proposals");
	assert_null(props.v);
	/* repeated algorithms collapse, so a proposal never overflows */
	assert_int_equal(conf_parse_proposals("aes-aes128-aes128-sha256-sha2_256-x25519-curve25519",
					      true, &props, msg, sizeof(msg)),
			 0);
	assert_int_equal(props.n, 1);
	assert_int_equal(props.v[0].nencr, 1);
	assert_int_equal(props.v[0].ninteg, 1);
	assert_int_equal(props.v[0].nke, 1);
	assert_int_equal(props.v[0].nprf, 1);
	conf_proposals_free(&props);
	assert_string_equal(conf_alg_name(IKEV2_XFORM_ENCR, IKEV2_ENCR_AES_GCM_16, 256), "aes256gcm16");
	assert_string_equal(conf_alg_name(IKEV2_XFORM_ENCR, IKEV2_ENCR_AES_CBC, 128), "aes128");
	assert_string_equal(conf_alg_name(IKEV2_XFORM_DH, IKEV2_DH_CURVE25519, 0), "x25519");
	assert_string_equal(conf_alg_name(IKEV2_XFORM_DH, IKEV2_DH_MODP_1024, 0), "unknown");
}

static void test_templates(void **state)
{
	struct conf *conf;

	(void)state;
	conf = load_ok("conn-defaults {\n"
		       "  proposals = aes128-sha256-x25519\n"
		       "  local { auth = psk }\n"
		       "  children { net { esp_proposals = aes128gcm16 } }\n"
		       "}\n"
		       "connections {\n"
		       "  a : conn-defaults { remote_addrs = 192.0.2.9 }\n"
		       "  b : conn-defaults { proposals = aes256gcm16-prfsha256-ecp256 }\n"
		       "}\n");
	assert_int_equal(conf->nconns, 2);
	assert_int_equal(conf->conns[0]->proposals.n, 1);
	assert_int_equal(conf->conns[0]->proposals.v[0].ke[0], IKEV2_DH_CURVE25519);
	assert_int_equal(conf->conns[1]->proposals.v[0].ke[0], IKEV2_DH_ECP_256);
	assert_int_equal(conf->conns[1]->local[0].method, CONF_AUTH_PSK);
	assert_int_equal(conf->conns[1]->nchildren, 1);
	assert_int_equal(conf->conns[1]->children[0]->esp.n, 1);
	conf_free(conf);

	/* an unknown key inside a template is reported where it was written */
	assert_null(load("tmpl {\n  local { auth = psk }\n  bogus = 1\n}\n"
			 "connections { a : tmpl { } }\n"));
	assert_string_equal(err, "t.conf:3: unknown key 'bogus' in connections.a");
}

static void test_value_parsers(void **state)
{
	struct conf_range r;
	struct conf_mark m;
	uint32_t t;
	bool b;

	(void)state;
	assert_int_equal(conf_parse_time("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(conf_parse_time("90s", &t), 0);
	assert_int_equal(t, 90);
	assert_int_equal(conf_parse_time("3m", &t), 0);
	assert_int_equal(t, 180);
	assert_int_equal(conf_parse_time("2h", &t), 0);
	assert_int_equal(t, 7200);
	assert_int_equal(conf_parse_time("7d", &t), 0);
	assert_int_equal(t, 604800);
	assert_int_equal(conf_parse_time("", &t), -EINVAL);
	assert_int_equal(conf_parse_time(" 1", &t), -EINVAL);
	assert_int_equal(conf_parse_time("1 s", &t), -EINVAL);
	assert_int_equal(conf_parse_time("4294967295", &t), -EINVAL);
	assert_int_equal(conf_parse_time("4294967294", &t), 0);

	assert_int_equal(conf_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("true", &b), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("no", &b), 0);
	assert_false(b);
	assert_int_equal(conf_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(conf_parse_bool("y", &b), -EINVAL);

	assert_int_equal(conf_parse_range("10.1.2.3/16", &r), 0);
	range_eq(&r, "10.1.0.0", "10.1.255.255", 16);
	assert_int_equal(conf_parse_range("0.0.0.0/0", &r), 0);
	range_eq(&r, "0.0.0.0", "255.255.255.255", 0);
	assert_int_equal(conf_parse_range("::/0", &r), 0);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(conf_parse_range("10.0.0.1/", &r), -EINVAL);
	assert_int_equal(conf_parse_range("10.0.0.1/8/8", &r), -EINVAL);
	assert_int_equal(conf_parse_range("10.0.0.1-10.0.0.2/8", &r), -EINVAL);
	assert_int_equal(conf_parse_range("::1/129", &r), -EINVAL);
	assert_int_equal(conf_parse_range("host", &r), -EINVAL);

	assert_int_equal(conf_parse_mark("0xff", false, &m), 0);
	assert_int_equal(m.value, 0xff);
	assert_int_equal(m.mask, 0xffffffff);
	assert_int_equal(conf_parse_mark("0x12/0xff", false, &m), 0);
	assert_int_equal(m.value, 0x12);
	assert_int_equal(m.mask, 0xff);
	assert_int_equal(conf_parse_mark("%unique-dir", false, &m), 0);
	assert_int_equal(m.flags, CONF_MARK_UNIQUE_DIR);
	assert_int_equal(conf_parse_mark("%same/0xff", true, &m), 0);
	assert_int_equal(m.flags, CONF_MARK_SAME);
	assert_int_equal(m.mask, 0xff);
	assert_int_equal(conf_parse_mark("%same", false, &m), -EINVAL);
	assert_int_equal(conf_parse_mark("", false, &m), -EINVAL);
}

static void id_check(const char *s, unsigned int type, const void *data, size_t len)
{
	struct conf_id id;

	assert_int_equal(conf_parse_id(s, &id), 0);
	assert_int_equal(id.type, type);
	assert_string_equal(id.str, s);
	if (data) {
		assert_int_equal(id.len, len);
		assert_memory_equal(id.data, data, len);
	}
	conf_id_free(&id);
}

static void test_identities(void **state)
{
	struct conf_id a, b, c;

	(void)state;
	id_check("%any", CONF_ID_ANY, NULL, 0);
	id_check("moon.strongswan.org", IKEV2_ID_FQDN, "moon.strongswan.org", 19);
	id_check("@moon", IKEV2_ID_FQDN, "moon", 4);
	id_check("fqdn:x", IKEV2_ID_FQDN, "x", 1);
	id_check("carol@strongswan.org", IKEV2_ID_RFC822_ADDR, "carol@strongswan.org", 20);
	id_check("email:bob", IKEV2_ID_RFC822_ADDR, "bob", 3);
	id_check("192.0.2.1", IKEV2_ID_IPV4_ADDR, "\xc0\x00\x02\x01", 4);
	id_check("2001:db8::1", IKEV2_ID_IPV6_ADDR, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01",
		 16);
	id_check("@#0a0B", IKEV2_ID_KEY_ID, "\x0a\x0b", 2);
	id_check("keyid:0x01", IKEV2_ID_KEY_ID, "\x01", 1);
	id_check("C=CH, O=strongSwan, CN=moon", IKEV2_ID_DER_ASN1_DN, NULL, 0);
	id_check("/C=CH/CN=moon", IKEV2_ID_DER_ASN1_DN, NULL, 0);
	assert_int_equal(conf_parse_id("@", &a), -EINVAL);
	assert_int_equal(conf_parse_id("@#zz", &a), -EINVAL);
	assert_int_equal(conf_parse_id("fqdn:", &a), -EINVAL);

	/* matching: DNs canonically (case, spacing), wildcards */
	assert_int_equal(conf_parse_id("C=CH,O=strongSwan,CN=moon", &a), 0);
	assert_int_equal(conf_parse_id("C=ch, O=StrongSwan,   CN=moon", &b), 0);
	assert_true(conf_id_match(&a, &b));
	conf_id_free(&b);
	assert_int_equal(conf_parse_id("C=CH, O=strongSwan, CN=*", &b), 0);
	assert_true(b.wildcard);
	assert_true(conf_id_match(&b, &a));
	assert_false(conf_id_match(&a, &b) && !a.wildcard && false);
	conf_id_free(&b);
	assert_int_equal(conf_parse_id("C=CH, O=other, CN=*", &b), 0);
	assert_false(conf_id_match(&b, &a));
	conf_id_free(&b);
	conf_id_free(&a);

	assert_int_equal(conf_parse_id("*.strongswan.org", &a), 0);
	assert_int_equal(conf_parse_id("Sun.StrongSwan.org", &b), 0);
	assert_int_equal(conf_parse_id("sun.example.org", &c), 0);
	assert_true(conf_id_match(&a, &b));
	assert_false(conf_id_match(&a, &c));
	assert_false(conf_id_match(&b, &c));
	conf_id_free(&c);
	assert_int_equal(conf_parse_id("sun.strongswan.org", &c), 0);
	assert_true(conf_id_match(&b, &c));
	conf_id_free(&c);
	assert_int_equal(conf_parse_id("192.0.2.1", &c), 0);
	assert_false(conf_id_match(&b, &c));
	conf_id_free(&c);
	assert_int_equal(conf_parse_id("%any", &c), 0);
	assert_true(conf_id_match(&c, &b));
	conf_id_free(&c);
	conf_id_free(&a);
	conf_id_free(&b);
}

static void test_secret_lookup(void **state)
{
	struct conf_id moon, sun, other;
	const struct conf_secret *s;
	struct conf *conf;

	(void)state;
	conf = load_ok("secrets {\n"
		       " ike-any { secret = any }\n"
		       " ike-sun { id = sun.strongswan.org\n secret = sun }\n"
		       " ike-both { id-a = moon.strongswan.org\n id-b = sun.strongswan.org\n"
		       "   secret = both }\n"
		       " ike-moon { id = moon.strongswan.org\n secret = moon }\n"
		       "}\n");
	assert_int_equal(conf_parse_id("moon.strongswan.org", &moon), 0);
	assert_int_equal(conf_parse_id("sun.strongswan.org", &sun), 0);
	assert_int_equal(conf_parse_id("venus.strongswan.org", &other), 0);
	s = conf_find_ike_secret(conf, &moon, &sun);
	assert_string_equal(s->name, "ike-both");
	s = conf_find_ike_secret(conf, &other, &sun);
	assert_string_equal(s->name, "ike-sun");
	s = conf_find_ike_secret(conf, &moon, &other);
	assert_string_equal(s->name, "ike-both");
	s = conf_find_ike_secret(conf, &other, &other);
	assert_string_equal(s->name, "ike-any");
	conf_id_free(&moon);
	conf_id_free(&sun);
	conf_id_free(&other);
	conf_free(conf);

	conf = load_ok("secrets { ike { id = a.b\n secret = x } }\n");
	assert_null(conf_find_ike_secret(conf, NULL, NULL));
	conf_free(conf);
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xiked-conf-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int load_file(const char *name, struct conf **out)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return conf_load(path, 0, out, err, sizeof(err));
}

static void test_permissions(void **state)
{
	struct conf *conf;
	char want[512];

	(void)state;
	write_file("secrets.conf", "secrets { ike { secret = \"s3cr3t\" } }\n", 0640);
	write_file("main.conf", "include secrets.conf\n", 0644);
	assert_int_equal(load_file("main.conf", &conf), -EPERM);
	assert_null(conf);
	snprintf(
		want, sizeof(want),
		"%s/secrets.conf: holds secrets but is accessible by group or others (mode 0640); chmod 600 it",
		tmpdir);
	assert_string_equal(err, want);
	/* the file without secrets may stay readable */
	write_file("secrets.conf", "secrets { ike { secret = \"s3cr3t\" } }\n", 0600);
	assert_int_equal(load_file("main.conf", &conf), 0);
	assert_int_equal(conf->nsecrets, 1);
	conf_free(conf);
	/* errors in included files carry that file's name and line */
	write_file("secrets.conf", "secrets {\n  ike {\n    secret = x\n    bad = 1\n  }\n}\n",
		   0600);
	assert_int_equal(load_file("main.conf", &conf), -EINVAL);
	snprintf(want, sizeof(want), "%s/secrets.conf:4: unknown key 'bad' in secrets.ike", tmpdir);
	assert_string_equal(err, want);
}

/* Typical files, as in strongSwan's documentation and test scenarios. */
static const char *site_to_site = "# moon: site-to-site with a PSK\n"
				  "connections {\n"
				  "   gw-gw {\n"
				  "      local_addrs  = 192.168.0.1\n"
				  "      remote_addrs = 192.168.0.2\n"
				  "\n"
				  "      local {\n"
				  "         auth = psk\n"
				  "         id = moon.strongswan.org\n"
				  "      }\n"
				  "      remote {\n"
				  "         auth = psk\n"
				  "         id = sun.strongswan.org\n"
				  "      }\n"
				  "      children {\n"
				  "         net-net {\n"
				  "            local_ts  = 10.1.0.0/16\n"
				  "            remote_ts = 10.2.0.0/16\n"
				  "            rekey_time = 5400\n"
				  "            esp_proposals = aes128gcm16-x25519\n"
				  "         }\n"
				  "      }\n"
				  "      version = 2\n"
				  "      mobike = no\n"
				  "      reauth_time = 10800\n"
				  "      proposals = aes128-sha256-x25519\n"
				  "   }\n"
				  "}\n"
				  "\n"
				  "secrets {\n"
				  "   ike-1 {\n"
				  "      id-1 = moon.strongswan.org\n"
				  "      id-2 = sun.strongswan.org\n"
				  "      secret = 0sv+NkxY9LLZvwj4qCC2o/gGrWDF2d21jL\n"
				  "   }\n"
				  "}\n";

static void test_site_to_site(void **state)
{
	const struct conf_conn *c;
	struct conf *conf;

	(void)state;
	conf = load_ok(site_to_site);
	c = conf_find_conn(conf, "gw-gw");
	assert_non_null(c);
	assert_int_equal(c->local[0].method, CONF_AUTH_PSK);
	assert_int_equal(c->remote[0].id.type, IKEV2_ID_FQDN);
	assert_int_equal(c->reauth_time, 10800);
	assert_int_equal(c->children[0]->rekey_time, 5400);
	assert_int_equal(c->children[0]->life_time, 5940);
	assert_int_equal(conf->secrets[0]->secret_len, 24);
	assert_string_equal(conf_find_ike_secret(conf, &c->local[0].id, &c->remote[0].id)->name,
			    "ike-1");
	conf_free(conf);

	/* keys swanctl knows but xiked does not implement are refused, not ignored */
	assert_null(load(CHILD("rekey_bytes = 500000000")));
	assert_string_equal(err,
			    "t.conf:5: unknown key 'rekey_bytes' in connections.c.children.ch");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_empty_values),
		cmocka_unit_test(test_derived_times),
		cmocka_unit_test(test_errors_structure),
		cmocka_unit_test(test_errors_values),
		cmocka_unit_test(test_proposal_limits),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_secret_lookup),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_site_to_site),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
