// SPDX-License-Identifier: GPL-2.0-only
/*
 * NAT traversal in iked/ikev2_exch.c (RFC 7296 2.23, RFC 3948): two engines
 * in one process, the network mocked by the send callback, with an
 * optional NAT in front of the initiator that rewrites its source address
 * and port (and may change its mapping, as a NAT does after a timeout).
 *
 *	+--------------------+        +--------------+        +--------------------+
 *	| initiator (sun)    | -----> | NAT          | -----> | responder (moon)   |
 *	| 10.0.0.1[500/4500] |        | 203.0.113.9  |        | 192.0.2.2[500/4500]|
 *	+--------------------+ <----- | port + base  | <----- +--------------------+
 *
 * install_child/update_child/send_keepalive record what the daemon would get.
 * test_two_clients adds a second initiator (10.0.0.3) behind the same NAT
 * address, mapped to other ports.
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

#include "../../iked/ikev2_exch.h"
#include "log.h"

#define MAX_Q	  32
#define MAX_CHILD 8
#define SUN_IP	  "10.0.0.1"
#define MOON_IP	  "192.0.2.2"
#define SUN2_IP	  "10.0.0.3"
#define NAT_IP	  "203.0.113.9"

struct child_rec {
	uint32_t spi_in, spi_out;
	bool encap;
	struct sockaddr_in local, remote;
};

struct pkt {
	int to;
	uint8_t *buf;
	size_t len;
	struct sockaddr_in local, remote; /* as the receiver sees them */
};

struct net;

struct peer {
	struct net *net;
	int idx;
	struct engine *eng;
	struct conf *conf;
	struct in_addr ip;
	struct child_rec ch[MAX_CHILD];
	unsigned int nch, nupdates, nkeepalives;
	uint16_t last_sport; /* source port of the last datagram sent */
	struct sockaddr_in ka_remote;
};

/* p[0] and p[2] are initiators (p[2] only in test_two_clients), p[1] moon. */
struct net {
	struct peer p[3];
	int npeers;
	struct pkt q[MAX_Q];
	unsigned int nq;
	uint64_t now;
	bool nat; /* rewrite the initiators' source */
	uint16_t nat_base[3]; /* public port = private port + nat_base[initiator] */
	struct in_addr nat_ip;
};

static struct sockaddr_in addr_of(struct in_addr ip, uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr = ip;
	a.sin_port = htons(port);
	return a;
}

static const struct sockaddr_in *in4(const struct sockaddr *sa)
{
	assert_int_equal(sa->sa_family, AF_INET);
	return (const struct sockaddr_in *)(const void *)sa;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
}

/* ---- callbacks ---- */

static void cb_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct peer *p = arg;
	struct net *n = p->net;
	struct pkt *q;

	assert_memory_equal(&in4(local)->sin_addr, &p->ip, 4);
	assert_true(n->nq < MAX_Q);
	q = &n->q[n->nq++];
	q->to = p->idx == 1 ? 0 : 1;
	q->buf = malloc(len);
	assert_non_null(q->buf);
	memcpy(q->buf, pkt, len);
	q->len = len;
	p->last_sport = ntohs(in4(local)->sin_port);
	if (p->idx != 1) {
		/* initiator -> moon: through the NAT, if any */
		assert_memory_equal(&in4(remote)->sin_addr, &n->p[1].ip, 4);
		q->local = *in4(remote);
		q->remote = *in4(local);
		if (n->nat) {
			q->remote.sin_addr = n->nat_ip;
			q->remote.sin_port =
				htons(ntohs(in4(local)->sin_port) + n->nat_base[p->idx]);
		}
	} else {
		/* moon -> initiator: to the NAT's public side, which maps back */
		uint16_t port = ntohs(in4(remote)->sin_port);
		int to = -1, i;

		q->remote = *in4(local);
		q->local = *in4(remote);
		for (i = 0; i < n->npeers; i++) {
			if (i == 1)
				continue;
			if (n->nat ? (port - n->nat_base[i] == 500 || port - n->nat_base[i] == 4500) :
				     !memcmp(&in4(remote)->sin_addr, &n->p[i].ip, 4))
				to = i;
		}
		assert_true(to >= 0);
		q->to = to;
		if (n->nat) {
			assert_memory_equal(&in4(remote)->sin_addr, &n->nat_ip, 4);
			q->local.sin_addr = n->p[to].ip;
			q->local.sin_port = htons(port - n->nat_base[to]);
		}
	}
}

static int cb_install(void *arg, const struct engine_child *c)
{
	struct peer *p = arg;
	struct child_rec *r;

	assert_true(p->nch < MAX_CHILD);
	r = &p->ch[p->nch++];
	r->spi_in = c->spi_in;
	r->spi_out = c->spi_out;
	r->encap = c->encap;
	r->local = *in4(c->local);
	r->remote = *in4(c->remote);
	return 0;
}

static void cb_remove(void *arg, const struct engine_child *c)
{
	(void)arg;
	(void)c;
}

static void cb_update(void *arg, const struct engine_child *c, const struct sockaddr *old_remote)
{
	struct peer *p = arg;
	unsigned int i;

	for (i = 0; i < p->nch; i++) {
		if (p->ch[i].spi_in != c->spi_in)
			continue;
		assert_memory_equal(old_remote, &p->ch[i].remote, sizeof(struct sockaddr_in));
		p->ch[i].local = *in4(c->local);
		p->ch[i].remote = *in4(c->remote);
		p->ch[i].encap = c->encap;
		p->nupdates++;
		return;
	}
	fail_msg("update_child for unknown SPI 0x%08x", c->spi_in);
}

static void cb_keepalive(void *arg, const struct sockaddr *local, const struct sockaddr *remote)
{
	struct peer *p = arg;

	assert_int_equal(ntohs(in4(local)->sin_port), IKEV2_NATT_PORT);
	p->ka_remote = *in4(remote);
	p->nkeepalives++;
}

/* ---- set-up ---- */

static struct conf *make_conf(bool sun, const char *extra)
{
	char text[2048], err[256];
	struct conf *conf = NULL;

	snprintf(text, sizeof(text),
		 "connections {\n"
		 "  c {\n"
		 "    %s\n"
		 "    proposals = aes256gcm16-prfsha256-x25519\n"
		 "    local {\n      auth = psk\n      id = %s\n    }\n"
		 "    remote {\n      auth = psk\n      id = %s\n    }\n"
		 "    children {\n"
		 "      net {\n        esp_proposals = aes128gcm16\n"
		 "        local_ts = %s\n        remote_ts = %s\n      }\n"
		 "    }\n"
		 "  }\n"
		 "}\n"
		 "secrets {\n  ike-1 {\n    id-1 = sun\n    id-2 = moon\n"
		 "    secret = \"a shared secret\"\n  }\n}\n",
		 extra ? extra : "", sun ? "sun" : "moon", sun ? "moon" : "sun",
		 sun ? "10.1.0.0/24" : "10.2.0.0/24", sun ? "10.2.0.0/24" : "10.1.0.0/24");
	if (conf_load_buf(text, strlen(text), "natt.conf", CONF_NO_CREDS | CONF_NO_INCLUDE, &conf,
			  err, sizeof(err)))
		fail_msg("config: %s\n%s", err, text);
	return conf;
}

static void net_init3(struct net *n, int npeers, bool nat, const char *sun_extra,
		      const char *moon_extra)
{
	struct engine_ops ops = { .send = cb_send,
				  .install_child = cb_install,
				  .remove_child = cb_remove,
				  .update_child = cb_update,
				  .send_keepalive = cb_keepalive };
	int i;

	memset(n, 0, sizeof(*n));
	n->now = 1000;
	n->nat = nat;
	n->npeers = npeers;
	n->nat_base[0] = 40000;
	n->nat_base[2] = 41000;
	inet_pton(AF_INET, NAT_IP, &n->nat_ip);
	for (i = 0; i < npeers; i++) {
		struct peer *p = &n->p[i];

		p->net = n;
		p->idx = i;
		inet_pton(AF_INET, i == 1 ? MOON_IP : i ? SUN2_IP : SUN_IP, &p->ip);
		p->conf = make_conf(i != 1, i == 1 ? moon_extra : sun_extra);
		ops.arg = p;
		assert_int_equal(engine_new(p->conf, &ops, NULL, &p->eng), 0);
	}
}

static void net_init(struct net *n, bool nat, const char *sun_extra, const char *moon_extra)
{
	net_init3(n, 2, nat, sun_extra, moon_extra);
}

static void net_free(struct net *n)
{
	int i;

	for (i = 0; i < n->npeers; i++) {
		engine_free(n->p[i].eng);
		conf_free(n->p[i].conf);
	}
	for (i = 0; i < (int)n->nq; i++)
		free(n->q[i].buf);
}

static void net_deliver(struct net *n)
{
	unsigned int guard = 0;

	while (n->nq) {
		struct pkt q = n->q[0];

		assert_true(++guard < 200);
		memmove(&n->q[0], &n->q[1], (n->nq - 1) * sizeof(n->q[0]));
		n->nq--;
		engine_input(n->p[q.to].eng, q.buf, q.len, (const struct sockaddr *)&q.local,
			     (const struct sockaddr *)&q.remote, n->now);
		free(q.buf);
	}
}

static void net_run(struct net *n, uint64_t ms)
{
	uint64_t end = n->now + ms;

	net_deliver(n);
	while (n->now < end) {
		int i;

		n->now += 500;
		for (i = 0; i < n->npeers; i++) {
			engine_tick(n->p[i].eng, n->now);
			engine_keepalive(n->p[i].eng, n->now);
		}
		net_deliver(n);
	}
}

/* Initiator @i brings the IKE SA and its child up; returns its SPI. */
static uint64_t net_up_from(struct net *n, int i)
{
	struct sockaddr_in l = addr_of(n->p[i].ip, IKEV2_PORT), r = addr_of(n->p[1].ip, IKEV2_PORT);
	unsigned int before = n->p[1].nch;
	uint64_t spi = 0;

	assert_int_equal(engine_initiate(n->p[i].eng, "c", NULL, (const struct sockaddr *)&l,
					 (const struct sockaddr *)&r, n->now, &spi),
			 0);
	net_run(n, 1000);
	assert_int_equal(engine_sa_find(n->p[i].eng, spi)->state, IKE_ST_ESTABLISHED);
	assert_int_equal(n->p[i].nch, 1);
	assert_int_equal(n->p[1].nch, before + 1);
	return spi;
}

static uint64_t net_up(struct net *n)
{
	return net_up_from(n, 0);
}

static const struct ike_sa *moon_sa(struct net *n)
{
	const struct ike_sa *sa = engine_sa_next(n->p[1].eng, NULL);

	assert_non_null(sa);
	assert_int_equal(sa->state, IKE_ST_ESTABLISHED);
	return sa;
}

/* ---- tests ---- */

/* No NAT: both sides see matching hashes, IKE stays on 500, plain ESP. */
static void test_no_nat(void **state)
{
	const struct ike_sa *s, *m;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, false, NULL, NULL);
	spi = net_up(&n);
	s = engine_sa_find(n.p[0].eng, spi);
	m = moon_sa(&n);
	assert_true(s->natd && m->natd);
	assert_false(s->nat_local || s->nat_remote || s->nat_fake);
	assert_false(m->nat_local || m->nat_remote || m->nat_fake);
	assert_int_equal(port_of(&s->local), 500);
	assert_int_equal(port_of(&s->remote), 500);
	assert_int_equal(port_of(&m->local), 500);
	assert_int_equal(n.p[0].last_sport, 500);
	assert_false(n.p[0].ch[0].encap);
	assert_false(n.p[1].ch[0].encap);
	net_run(&n, 3 * ENGINE_KEEPALIVE_MS);
	assert_int_equal(n.p[0].nkeepalives + n.p[1].nkeepalives, 0);
	net_free(&n);
}

/*
 * sun behind the NAT: sun finds itself behind one, moon finds sun behind
 * one; IKE_AUTH goes to 4500, moon follows to 4500 and the NAT's port, the
 * children are UDP-encapsulated between the ports each side sees.
 */
static void test_nat_detected(void **state)
{
	const struct ike_sa *s, *m;
	const struct child_rec *cs, *cm;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, true, NULL, NULL);
	spi = net_up(&n);
	s = engine_sa_find(n.p[0].eng, spi);
	m = moon_sa(&n);
	assert_true(s->natd && s->nat_local && !s->nat_remote && !s->nat_fake);
	assert_true(m->natd && !m->nat_local && m->nat_remote && !m->nat_fake);
	assert_int_equal(port_of(&s->local), 4500);
	assert_int_equal(port_of(&s->remote), 4500);
	assert_int_equal(port_of(&m->local), 4500);
	assert_int_equal(port_of(&m->remote), 4500 + n.nat_base[0]);
	assert_memory_equal(&((const struct sockaddr_in *)(const void *)&m->remote)->sin_addr,
			    &n.nat_ip, 4);
	assert_int_equal(n.p[0].last_sport, 4500);
	assert_int_equal(n.p[1].last_sport, 4500);
	cs = &n.p[0].ch[0];
	cm = &n.p[1].ch[0];
	assert_true(cs->encap && cm->encap);
	assert_int_equal(cs->spi_out, cm->spi_in);
	assert_int_equal(ntohs(cs->local.sin_port), 4500);
	assert_int_equal(ntohs(cs->remote.sin_port), 4500);
	assert_int_equal(ntohs(cm->local.sin_port), 4500);
	assert_int_equal(ntohs(cm->remote.sin_port), 4500 + n.nat_base[0]);
	assert_int_equal(n.p[0].nupdates + n.p[1].nupdates, 0);
	net_free(&n);
}

/* encap = yes on either side without a NAT: the faked hash makes both use
 * port 4500 and UDP encapsulation (as strongSwan's encap = yes). */
static void test_encap_forced(void **state)
{
	int side;

	(void)state;
	for (side = 0; side < 2; side++) {
		const struct ike_sa *s, *m;
		struct net n;
		uint64_t spi;

		net_init(&n, false, side ? NULL : "encap = yes", side ? "encap = yes" : NULL);
		spi = net_up(&n);
		s = engine_sa_find(n.p[0].eng, spi);
		m = moon_sa(&n);
		assert_false(s->nat_local || m->nat_local);
		assert_true(side ? (m->nat_fake && s->nat_remote) : (s->nat_fake && m->nat_remote));
		assert_int_equal(port_of(&s->local), 4500);
		assert_int_equal(port_of(&m->local), 4500);
		assert_int_equal(port_of(&m->remote), 4500);
		assert_true(n.p[0].ch[0].encap && n.p[1].ch[0].encap);
		/* nobody is behind a NAT: no keepalives */
		net_run(&n, 2 * ENGINE_KEEPALIVE_MS);
		assert_int_equal(n.p[0].nkeepalives + n.p[1].nkeepalives, 0);
		net_free(&n);
	}
}

/* The NAT maps sun to a new port: moon follows on the next authenticated
 * message, and its child with it; a forged copy from elsewhere (integrity
 * check fails) moves nothing. */
static void test_nat_rebinding(void **state)
{
	const struct ike_sa *m;
	struct sockaddr_in from;
	uint8_t *forged;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, true, NULL, NULL);
	spi = net_up(&n);
	m = moon_sa(&n);

	n.nat_base[0] = 50000;
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	assert_int_equal(n.nq, 1);
	forged = malloc(n.q[0].len);
	assert_non_null(forged);
	memcpy(forged, n.q[0].buf, n.q[0].len);
	forged[n.q[0].len - 1] ^= 1;
	from = addr_of(n.nat_ip, 9999);
	engine_input(n.p[1].eng, forged, n.q[0].len, (const struct sockaddr *)&n.q[0].local,
		     (const struct sockaddr *)&from, n.now);
	free(forged);
	assert_int_equal(port_of(&m->remote), 4500 + 40000);
	assert_int_equal(n.p[1].nupdates, 0);

	net_run(&n, 1000);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->req.kind, IKE_REQ_NONE);
	assert_int_equal(port_of(&m->remote), 4500 + 50000);
	assert_int_equal(n.p[1].nupdates, 1);
	assert_int_equal(ntohs(n.p[1].ch[0].remote.sin_port), 4500 + 50000);
	assert_int_equal(ntohs(n.p[1].ch[0].local.sin_port), 4500);
	assert_true(n.p[1].ch[0].encap);
	/* sun saw no change on its side */
	assert_int_equal(n.p[0].nupdates, 0);
	net_free(&n);
}

/* Two initiators behind one NAT address: moon keeps two IKE SAs and two
 * children, each with its own NAT port. */
static void test_two_clients(void **state)
{
	const struct ike_sa *m;
	struct net n;
	int seen = 0;

	(void)state;
	net_init3(&n, 3, true, NULL, NULL);
	net_up_from(&n, 0);
	net_up_from(&n, 2);
	assert_int_equal(engine_sa_count(n.p[1].eng), 2);
	for (m = engine_sa_next(n.p[1].eng, NULL); m; m = engine_sa_next(n.p[1].eng, m)) {
		assert_int_equal(m->state, IKE_ST_ESTABLISHED);
		assert_true(m->nat_remote);
		if (port_of(&m->remote) == 4500 + n.nat_base[0])
			seen |= 1;
		else if (port_of(&m->remote) == 4500 + n.nat_base[2])
			seen |= 2;
	}
	assert_int_equal(seen, 3);
	assert_int_equal(ntohs(n.p[1].ch[0].remote.sin_port), 4500 + n.nat_base[0]);
	assert_int_equal(ntohs(n.p[1].ch[1].remote.sin_port), 4500 + n.nat_base[2]);
	assert_true(n.p[1].ch[0].encap && n.p[1].ch[1].encap);
	assert_int_equal(n.p[1].ch[0].spi_in, n.p[0].ch[0].spi_out);
	assert_int_equal(n.p[1].ch[1].spi_in, n.p[2].ch[0].spi_out);
	assert_int_not_equal(n.p[1].ch[0].spi_in, n.p[1].ch[1].spi_in);
	net_free(&n);
}

/* Only the side behind the NAT sends keepalives, every ENGINE_KEEPALIVE_MS. */
static void test_keepalive(void **state)
{
	struct net n;

	(void)state;
	net_init(&n, true, NULL, NULL);
	net_up(&n);
	net_run(&n, ENGINE_KEEPALIVE_MS / 2);
	assert_int_equal(n.p[0].nkeepalives, 0);
	net_run(&n, 3 * ENGINE_KEEPALIVE_MS);
	assert_in_range(n.p[0].nkeepalives, 2, 4);
	assert_int_equal(ntohs(n.p[0].ka_remote.sin_port), 4500);
	assert_int_equal(n.p[1].nkeepalives, 0);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_nat),
		cmocka_unit_test(test_nat_detected),
		cmocka_unit_test(test_encap_forced),
		cmocka_unit_test(test_nat_rebinding),
		cmocka_unit_test(test_two_clients),
		cmocka_unit_test(test_keepalive),
	};

	log_init("test_ike_natt", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
