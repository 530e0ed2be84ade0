// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual IPs through configuration payloads (iked/cp.c in the engine):
 * three road-warrior engines sharing one identity and one PSK, seen by the
 * gateway from one address with distinct ports (as behind a NAT), each
 * asking for an address from the gateway's pool.
 *
 *	rw0 198.51.100.1[4500] --+
 *	rw1 198.51.100.1[4501] --+--> gw 192.0.2.2[500]   pools { rw { addrs = 10.3.0.0/28 } }
 *	rw2 198.51.100.1[4502] --+                         local_ts = 10.2.0.0/24
 *
 * Datagrams are delivered at once through a queue; install_child records
 * each side's selectors.
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

#include "../../iked/cp.h"
#include "../../iked/ikev2_exch.h"
#include "../../iked/ts.h"

#define NRW   3
#define NNODE (NRW + 1) /* the gateway is the last */
#define MAXQ  32

struct node {
	struct engine *eng;
	struct conf *conf;
	struct sockaddr_in addr;
	char tsl[64], tsr[64]; /* selectors of the last child installed */
	unsigned int installed, removed;
	struct cp_vips vips; /* vip_add / vip_del */
	unsigned int vip_adds, vip_dels;
	uint64_t spi;
};

struct msg {
	int from, to;
	uint8_t *buf;
	size_t len;
};

static struct node nodes[NNODE];
static struct msg q[MAXQ];
static unsigned int nq;
static struct cp_pools *pools;

static int node_by_addr(const struct sockaddr *a)
{
	for (int i = 0; i < NNODE; i++)
		if (ike_addr_equal(a, (const struct sockaddr *)&nodes[i].addr))
			return i;
	return -1;
}

static void cb_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct node *n = arg;

	assert_true(ike_addr_equal(local, (const struct sockaddr *)&n->addr));
	assert_true(nq < MAXQ);
	q[nq].from = (int)(n - nodes);
	q[nq].to = node_by_addr(remote);
	assert_true(q[nq].to >= 0);
	q[nq].buf = malloc(len);
	memcpy(q[nq].buf, pkt, len);
	q[nq].len = len;
	nq++;
}

static int cb_install(void *arg, const struct engine_child *c)
{
	struct node *n = arg;

	ts_str(&c->ts_local->ts[0], n->tsl, sizeof(n->tsl));
	ts_str(&c->ts_remote->ts[0], n->tsr, sizeof(n->tsr));
	n->installed++;
	return 0;
}

static void cb_remove(void *arg, const struct engine_child *c)
{
	struct node *n = arg;

	(void)c;
	n->removed++;
}

static int cb_vip_add(void *arg, const struct ike_sa *sa, const struct cp_vips *v)
{
	struct node *n = arg;

	(void)sa;
	n->vips = *v;
	n->vip_adds++;
	return 0;
}

static void cb_vip_del(void *arg, const struct ike_sa *sa, const struct cp_vips *v)
{
	struct node *n = arg;

	(void)sa;
	assert_int_equal(v->n, n->vips.n);
	n->vip_dels++;
}

static void deliver(uint64_t now)
{
	unsigned int guard = 0;

	while (nq) {
		struct msg m = q[0];

		assert_true(++guard < 200);
		memmove(&q[0], &q[1], (nq - 1) * sizeof(q[0]));
		nq--;
		engine_input(nodes[m.to].eng, m.buf, m.len,
			     (const struct sockaddr *)&nodes[m.to].addr,
			     (const struct sockaddr *)&nodes[m.from].addr, now);
		free(m.buf);
	}
}

#define RW_CONF \
	"connections { gw {\n" \
	"  remote_addrs = 192.0.2.2\n  vips = 0.0.0.0\n" \
	"  proposals = aes128gcm16-prfsha256-x25519\n" \
	"  local { auth = psk\n id = rw@example.org }\n" \
	"  remote { auth = psk\n id = gw.example.org }\n" \
	"  children { net { remote_ts = 10.2.0.0/24\n esp_proposals = aes128gcm16 } }\n" \
	"} }\n" \
	"secrets { ike { secret = \"one secret for all\" } }\n"

#define GW_CONF \
	"connections { rw {\n" \
	"  pools = rw\n" \
	"  proposals = aes128gcm16-prfsha256-x25519\n" \
	"  local { auth = psk\n id = gw.example.org }\n" \
	"  remote { auth = psk }\n" \
	"  children { net { local_ts = 10.2.0.0/24\n esp_proposals = aes128gcm16 } }\n" \
	"} }\n" \
	"pools { rw { addrs = %s\n dns = 10.2.0.53 } }\n" \
	"secrets { ike { secret = \"one secret for all\" } }\n"

static void setup_nodes(const char *pool_addrs)
{
	struct engine_ops ops = { .send = cb_send,
				  .install_child = cb_install,
				  .remove_child = cb_remove,
				  .vip_add = cb_vip_add,
				  .vip_del = cb_vip_del };
	struct engine_params params = { 0 };
	char text[1024], err[256];

	memset(nodes, 0, sizeof(nodes));
	nq = 0;
	assert_int_equal(cp_pools_new(&pools), 0);
	params.pools = pools;
	for (int i = 0; i < NNODE; i++) {
		struct node *n = &nodes[i];
		bool gw = i == NRW;

		n->addr.sin_family = AF_INET;
		n->addr.sin_port = htons(gw ? 500 : (uint16_t)(4500 + i));
		inet_pton(AF_INET, gw ? "192.0.2.2" : "198.51.100.1", &n->addr.sin_addr);
		if (gw)
			snprintf(text, sizeof(text), GW_CONF, pool_addrs);
		else
			snprintf(text, sizeof(text), "%s", RW_CONF);
		if (conf_load_buf(text, strlen(text), gw ? "gw.conf" : "rw.conf",
				  CONF_NO_CREDS | CONF_NO_INCLUDE, &n->conf, err, sizeof(err)))
			fail_msg("config: %s", err);
		ops.arg = n;
		assert_int_equal(engine_new(n->conf, &ops, gw ? &params : NULL, &n->eng), 0);
	}
}

static void teardown_nodes(void)
{
	for (int i = 0; i < NNODE; i++) {
		engine_free(nodes[i].eng);
		conf_free(nodes[i].conf);
	}
	for (unsigned int i = 0; i < nq; i++)
		free(q[i].buf);
	cp_pools_free(pools);
}

static void connect_rw(int i, uint64_t now)
{
	assert_int_equal(engine_initiate(nodes[i].eng, "gw", NULL,
					 (const struct sockaddr *)&nodes[i].addr,
					 (const struct sockaddr *)&nodes[NRW].addr, now,
					 &nodes[i].spi),
			 0);
	deliver(now);
}

static const char *vip_str(const struct node *n, char *buf)
{
	assert_int_equal(n->vips.n, 1);
	return inet_ntop(AF_INET, n->vips.addr[0].addr, buf, INET6_ADDRSTRLEN);
}

static void test_distinct_vips_behind_one_nat(void **state)
{
	char a[INET6_ADDRSTRLEN], want[64];
	const char *expect[NRW] = { "10.3.0.1", "10.3.0.2", "10.3.0.3" };

	(void)state;
	setup_nodes("10.3.0.0/28");
	for (int i = 0; i < NRW; i++) {
		connect_rw(i, 1000 + i);
		assert_int_equal(nodes[i].vip_adds, 1);
		assert_string_equal(vip_str(&nodes[i], a), expect[i]);
		/* the client's child carries only its own address ... */
		assert_int_equal(nodes[i].installed, 1);
		snprintf(want, sizeof(want), "%s..%s", expect[i], expect[i]);
		assert_string_equal(nodes[i].tsl, want);
		assert_string_equal(nodes[i].tsr, "10.2.0.0..10.2.0.255");
		/* ... and so does the gateway's */
		assert_int_equal(nodes[NRW].installed, (unsigned int)i + 1);
		assert_string_equal(nodes[NRW].tsr, want);
	}
	assert_int_equal(engine_sa_count(nodes[NRW].eng), NRW);

	/* rw1 leaves: its lease goes offline, the others stay */
	assert_int_equal(engine_ike_delete(nodes[1].eng, nodes[1].spi, 2000), 0);
	deliver(2000);
	engine_tick(nodes[1].eng, 2001);
	engine_tick(nodes[NRW].eng, 2001);
	assert_int_equal(nodes[1].vip_dels, 1);
	assert_int_equal(nodes[NRW].removed, 1);
	assert_int_equal(engine_sa_count(nodes[NRW].eng), NRW - 1);
	assert_int_equal(nodes[0].removed + nodes[2].removed, 0);

	/* and gets the same address back when it reconnects from that port */
	nodes[1].vips.n = 0;
	connect_rw(1, 3000);
	assert_string_equal(vip_str(&nodes[1], a), "10.3.0.2");
	teardown_nodes();
}

static void test_pool_exhausted(void **state)
{
	char a[INET6_ADDRSTRLEN];

	(void)state;
	setup_nodes("10.3.0.9/32"); /* one address */
	connect_rw(0, 1000);
	assert_string_equal(vip_str(&nodes[0], a), "10.3.0.9");
	/* the second client: INTERNAL_ADDRESS_FAILURE, no child, and the
	 * client closes the IKE SA it cannot use */
	connect_rw(1, 1100);
	assert_int_equal(nodes[1].vip_adds, 0);
	assert_int_equal(nodes[1].installed, 0);
	engine_tick(nodes[1].eng, 1101);
	engine_tick(nodes[NRW].eng, 1101);
	assert_int_equal(engine_sa_count(nodes[1].eng), 0);
	assert_int_equal(engine_sa_count(nodes[NRW].eng), 1);
	/* the first one is untouched */
	assert_int_equal(nodes[0].removed, 0);
	assert_int_equal(nodes[NRW].installed, 1);
	teardown_nodes();
}

/* The CFG_REPLY itself: the lease and the pool's DNS server. */
static void test_reply_attributes(void **state)
{
	static const uint8_t dns[4] = { 10, 2, 0, 53 };
	struct cp_msg req, reply;
	struct pool_client pc;
	struct cp_vips vips;
	bool seen_dns = false;

	(void)state;
	setup_nodes("10.3.0.0/28");
	cp_build_request(nodes[0].conf->conns[0], &req);
	assert_int_equal(req.cp.cfg_type, IKEV2_CFG_REQUEST);
	pc.id = (const uint8_t *)"x";
	pc.id_len = 1;
	pc.remote = (const struct sockaddr *)&nodes[0].addr;
	assert_int_equal(cp_respond(pools, nodes[NRW].conf->conns[0], &req.cp, &pc, &vips, &reply),
			 0);
	assert_int_equal(vips.n, 1);
	assert_int_equal(reply.cp.cfg_type, IKEV2_CFG_REPLY);
	assert_int_equal(reply.cp.attrs[0].type, IKEV2_CFG_INTERNAL_IP4_ADDRESS);
	assert_int_equal(reply.cp.attrs[0].len, 4);
	assert_memory_equal(reply.cp.attrs[0].value, ((uint8_t[]){ 10, 3, 0, 1 }), 4);
	for (unsigned int i = 0; i < reply.cp.n_attrs; i++)
		if (reply.cp.attrs[i].type == IKEV2_CFG_INTERNAL_IP4_DNS &&
		    reply.cp.attrs[i].len == 4 && !memcmp(reply.cp.attrs[i].value, dns, 4))
			seen_dns = true;
	assert_true(seen_dns);
	/* a malformed address attribute: refused, nothing leased */
	req.cp.attrs[0].len = 3;
	cp_release(&vips);
	assert_int_equal(cp_respond(pools, nodes[NRW].conf->conns[0], &req.cp, &pc, &vips, &reply),
			 -EBADMSG);
	assert_int_equal(vips.n, 0);
	teardown_nodes();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distinct_vips_behind_one_nat),
		cmocka_unit_test(test_pool_exhausted),
		cmocka_unit_test(test_reply_attributes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
