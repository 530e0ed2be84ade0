// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_exch.c rekeying: child SAs (RFC 7296 1.3.3) and IKE SAs
 * (1.3.2, 2.18) in both roles, simultaneous rekeys (2.8.1), rekeys meeting
 * deletes (2.25), lost messages, and the life_time / rekey_time timers.
 * Two engines in one process; time is a counter the test advances.
 *
 *	+-------------------+      queue + filter      +-------------------+
 *	| sun  (initiator)  | -----------------------> | moon (responder)  |
 *	| 192.0.2.1[500]    | <----------------------- | 192.0.2.2[500]    |
 *	| 10.1.0.0/16       |                          | 10.2.0.0/24       |
 *	+-------------------+                          +-------------------+
 *
 * install_child/remove_child record what the kernel would get: the tests
 * check that a rekey installs a new pair with new SPIs and new keys on both
 * sides and removes the old one, and that only one pair survives.
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
#include "../../iked/ikev2_msg.h"
#include "log.h"

#define MAX_Q	  64
#define MAX_CHILD 32
#define KEYMAX	  (CRYPTO_ENCR_KEY_MAX + CRYPTO_INTEG_KEY_MAX)

struct child_rec {
	uint32_t spi_in, spi_out;
	size_t el;
	uint32_t life_time;
	uint8_t ek_in[KEYMAX], ek_out[KEYMAX];
	char child[32];
	bool removed;
};

struct pkt {
	int to;
	uint8_t *buf;
	size_t len;
};

struct net;

struct peer {
	struct net *net;
	int idx;
	struct engine *eng;
	struct conf *conf;
	struct sockaddr_in addr;
	struct child_rec ch[MAX_CHILD];
	unsigned int nch, nremoved;
	unsigned int nsent;
};

struct net {
	struct peer p[2];
	struct pkt q[MAX_Q];
	unsigned int nq;
	uint64_t now;
	/* true: drop this datagram */
	bool (*drop)(struct net *n, int from, const uint8_t *buf, size_t len);
	unsigned int dropped;
	unsigned int drop_budget;
	unsigned int drop_nth, seen; /* drop_nth(): which matching datagram */
};

/* ---- callbacks ---- */

static void cb_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct peer *p = arg;
	struct net *n = p->net;
	struct pkt *q;

	(void)local;
	(void)remote;
	p->nsent++;
	assert_true(n->nq < MAX_Q);
	q = &n->q[n->nq++];
	q->to = 1 - p->idx;
	q->buf = malloc(len);
	assert_non_null(q->buf);
	memcpy(q->buf, pkt, len);
	q->len = len;
}

static int cb_install(void *arg, const struct engine_child *c)
{
	struct peer *p = arg;
	struct child_rec *r;

	assert_true(p->nch < MAX_CHILD);
	r = &p->ch[p->nch++];
	memset(r, 0, sizeof(*r));
	r->spi_in = c->spi_in;
	r->spi_out = c->spi_out;
	r->el = c->encr_key_len;
	r->life_time = c->life_time;
	assert_true(r->el > 0 && r->el <= KEYMAX);
	memcpy(r->ek_in, c->encr_key_in, r->el);
	memcpy(r->ek_out, c->encr_key_out, r->el);
	snprintf(r->child, sizeof(r->child), "%s", c->cfg->name);
	return 0;
}

static void cb_remove(void *arg, const struct engine_child *c)
{
	struct peer *p = arg;
	unsigned int i;

	assert_null(c->encr_key_in);
	for (i = 0; i < p->nch; i++)
		if (p->ch[i].spi_in == c->spi_in && !p->ch[i].removed) {
			p->ch[i].removed = true;
			p->nremoved++;
			return;
		}
	fail_msg("remove_child for unknown SPI 0x%08x", c->spi_in);
}

/* ---- configuration ---- */

struct cfg {
	const char *local_id, *remote_id;
	const char *local_ts, *remote_ts;
	const char *esp;
	const char *conn_extra; /* e.g. "rekey_time = 100s" */
	const char *child_extra; /* keys of child "net" */
};

static struct conf *make_conf(const struct cfg *c)
{
	char text[2048], err[256];
	struct conf *conf = NULL;
	int rc;

	snprintf(text, sizeof(text),
		 "connections {\n"
		 "  c {\n"
		 "    %s\n"
		 "    proposals = aes256gcm16-prfsha256-x25519-ecp256\n"
		 "    local {\n      auth = psk\n      id = %s\n    }\n"
		 "    remote {\n      auth = psk\n      id = %s\n    }\n"
		 "    children {\n"
		 "      net {\n        esp_proposals = %s\n"
		 "        local_ts = %s\n        remote_ts = %s\n        %s\n      }\n"
		 "    }\n"
		 "  }\n"
		 "}\n"
		 "secrets {\n  ike-1 {\n    id-1 = %s\n    id-2 = %s\n    secret = psk-of-test\n"
		 "  }\n}\n",
		 c->conn_extra ? c->conn_extra : "rekey_time = 0", c->local_id, c->remote_id,
		 c->esp ? c->esp : "aes128gcm16", c->local_ts, c->remote_ts,
		 c->child_extra ? c->child_extra : "rekey_time = 0", c->local_id, c->remote_id);
	rc = conf_load_buf(text, strlen(text), "rekey.conf", CONF_NO_CREDS | CONF_NO_INCLUDE, &conf,
			   err, sizeof(err));
	if (rc)
		fail_msg("config: %s\n%s", err, text);
	return conf;
}

static const struct cfg sun_default = {
	"sun.example.org", "moon.example.org", "10.1.0.0/16", "10.2.0.0/24", NULL, NULL, NULL,
};
static const struct cfg moon_default = {
	"moon.example.org", "sun.example.org", "10.2.0.0/24", "10.1.0.0/16", NULL, NULL, NULL,
};

static void net_init(struct net *n, const struct cfg *sun, const struct cfg *moon)
{
	struct engine_ops ops = { .send = cb_send,
				  .install_child = cb_install,
				  .remove_child = cb_remove };
	int i;

	memset(n, 0, sizeof(*n));
	n->now = 1000;
	for (i = 0; i < 2; i++) {
		struct peer *p = &n->p[i];

		p->net = n;
		p->idx = i;
		p->addr.sin_family = AF_INET;
		p->addr.sin_port = htons(500);
		inet_pton(AF_INET, i ? "192.0.2.2" : "192.0.2.1", &p->addr.sin_addr);
		p->conf = make_conf(i ? moon : sun);
		ops.arg = p;
		assert_int_equal(engine_new(p->conf, &ops, NULL, &p->eng), 0);
	}
}

static void net_free(struct net *n)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		engine_free(n->p[i].eng);
		conf_free(n->p[i].conf);
	}
	for (i = 0; i < n->nq; i++)
		free(n->q[i].buf);
}

static const struct sockaddr *sa_of(struct peer *p)
{
	return (const struct sockaddr *)&p->addr;
}

static void net_deliver(struct net *n)
{
	unsigned int guard = 0;

	while (n->nq) {
		struct pkt q = n->q[0];
		int from = 1 - q.to;

		assert_true(++guard < 1000);
		memmove(&n->q[0], &n->q[1], (n->nq - 1) * sizeof(n->q[0]));
		n->nq--;
		if (n->drop && n->drop_budget && n->drop(n, from, q.buf, q.len)) {
			n->drop_budget--;
			n->dropped++;
		} else {
			engine_input(n->p[q.to].eng, q.buf, q.len, sa_of(&n->p[q.to]),
				     sa_of(&n->p[from]), n->now);
		}
		free(q.buf);
	}
}

/* Advance time in 100 ms steps for @ms, ticking both engines. */
static void net_run(struct net *n, uint64_t ms)
{
	uint64_t end = n->now + ms;

	net_deliver(n);
	while (n->now < end) {
		n->now += 100;
		engine_tick(n->p[0].eng, n->now);
		engine_tick(n->p[1].eng, n->now);
		net_deliver(n);
	}
}

/* Both peers' only IKE SA, established and matching. */
static void ike_pair(struct net *n, const struct ike_sa **s, const struct ike_sa **m)
{
	assert_int_equal(engine_sa_count(n->p[0].eng), 1);
	assert_int_equal(engine_sa_count(n->p[1].eng), 1);
	*s = engine_sa_next(n->p[0].eng, NULL);
	*m = engine_sa_next(n->p[1].eng, NULL);
	assert_int_equal((*s)->state, IKE_ST_ESTABLISHED);
	assert_int_equal((*m)->state, IKE_ST_ESTABLISHED);
	assert_true((*s)->ispi == (*m)->ispi && (*s)->rspi == (*m)->rspi);
	assert_true((*s)->initiator != (*m)->initiator);
}

static uint64_t net_up(struct net *n)
{
	const struct ike_sa *s, *m;
	uint64_t spi = 0;

	assert_int_equal(engine_initiate(n->p[0].eng, "c", "net", sa_of(&n->p[0]), sa_of(&n->p[1]),
					 n->now, &spi),
			 0);
	net_run(n, 0);
	ike_pair(n, &s, &m);
	assert_int_equal(n->p[0].nch, 1);
	assert_int_equal(n->p[1].nch, 1);
	return spi;
}

static unsigned int active(const struct peer *p, const struct child_rec **last)
{
	unsigned int i, k = 0;

	for (i = 0; i < p->nch; i++)
		if (!p->ch[i].removed) {
			k++;
			if (last)
				*last = &p->ch[i];
		}
	return k;
}

/* Exactly one child pair installed on both sides, with matching SPIs and
 * keys, and the engines' records agree. */
static void one_pair(struct net *n, const struct child_rec **ps, const struct child_rec **pm)
{
	const struct ike_sa *s, *m;

	assert_int_equal(active(&n->p[0], ps), 1);
	assert_int_equal(active(&n->p[1], pm), 1);
	assert_int_equal((*ps)->spi_in, (*pm)->spi_out);
	assert_int_equal((*ps)->spi_out, (*pm)->spi_in);
	assert_memory_equal((*ps)->ek_out, (*pm)->ek_in, (*ps)->el);
	assert_memory_equal((*ps)->ek_in, (*pm)->ek_out, (*ps)->el);
	ike_pair(n, &s, &m);
	assert_non_null(s->children);
	assert_null(s->children->next);
	assert_non_null(m->children);
	assert_null(m->children->next);
	assert_int_equal(s->children->spi_in, (*ps)->spi_in);
	assert_int_equal(m->children->spi_in, (*pm)->spi_in);
	assert_int_equal(s->children->state, CHILD_ST_INSTALLED);
	assert_int_equal(m->children->state, CHILD_ST_INSTALLED);
}

/* @now replaced @before: new SPIs both ways, new keys. */
static void replaced(const struct child_rec *before, const struct child_rec *now)
{
	assert_true(before->removed);
	assert_false(now->removed);
	assert_int_not_equal(before->spi_in, now->spi_in);
	assert_int_not_equal(before->spi_out, now->spi_out);
	assert_memory_not_equal(before->ek_in, now->ek_in, now->el);
	assert_memory_not_equal(before->ek_out, now->ek_out, now->el);
}

/* ---- child SA rekey, each role, with and without PFS ---- */

static void child_rekey_by(int who, const char *esp)
{
	struct cfg sun = sun_default, moon = moon_default;
	const struct child_rec *cs, *cm;
	struct child_rec s0, m0;
	struct net n;

	/* only @who has a rekey_time; no jitter */
	if (who == 0)
		sun.child_extra = "rekey_time = 60s\n rand_time = 0\n life_time = 66s";
	else
		moon.child_extra = "rekey_time = 60s\n rand_time = 0\n life_time = 66s";
	sun.esp = moon.esp = esp;
	net_init(&n, &sun, &moon);
	net_up(&n);
	s0 = n.p[0].ch[0];
	m0 = n.p[1].ch[0];
	assert_int_equal(n.p[who].ch[0].life_time, 66);
	net_run(&n, 59000);
	assert_int_equal(n.p[0].nch, 1);
	net_run(&n, 1500);
	/* new pair installed on both sides, the old one removed on both */
	assert_int_equal(n.p[0].nch, 2);
	assert_int_equal(n.p[1].nch, 2);
	one_pair(&n, &cs, &cm);
	replaced(&n.p[0].ch[0], cs);
	replaced(&n.p[1].ch[0], cm);
	assert_int_equal(s0.spi_in, n.p[0].ch[0].spi_in);
	assert_int_equal(m0.spi_in, n.p[1].ch[0].spi_in);
	assert_int_equal(engine_get_stats(n.p[0].eng)->child_rekeyed, 1);
	assert_int_equal(engine_get_stats(n.p[1].eng)->child_rekeyed, 1);
	/* two IKE_SA_INIT/IKE_AUTH messages, then CREATE_CHILD_SA and the
	 * INFORMATIONAL deleting the old pair: requests from @who */
	assert_int_equal(n.p[0].nsent, 4);
	assert_int_equal(n.p[1].nsent, 4);
	assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 0);
	/* and again 60 s later */
	net_run(&n, 60000);
	assert_int_equal(n.p[0].nch, 3);
	assert_int_equal(n.p[1].nch, 3);
	one_pair(&n, &cs, &cm);
	replaced(&n.p[0].ch[1], cs);
	net_free(&n);
}

static void test_child_rekey_initiator(void **state)
{
	(void)state;
	child_rekey_by(0, NULL);
}

static void test_child_rekey_responder(void **state)
{
	(void)state;
	child_rekey_by(1, NULL);
}

/* PFS: the rekey carries a KE payload of the proposal's group. */
static void test_child_rekey_pfs(void **state)
{
	(void)state;
	child_rekey_by(0, "aes128gcm16-ecp256");
	child_rekey_by(1, "aes256-sha256-x25519");
}

/* ---- IKE SA rekey, each role ---- */

static void ike_rekey_by(int who)
{
	struct cfg sun = sun_default, moon = moon_default;
	const struct ike_sa *s, *m;
	const struct child_rec *cs, *cm;
	uint64_t ispi, rspi, spi;
	struct net n;

	if (who == 0)
		sun.conn_extra = "rekey_time = 100s\n rand_time = 0";
	else
		moon.conn_extra = "rekey_time = 100s\n rand_time = 0";
	net_init(&n, &sun, &moon);
	spi = net_up(&n);
	ike_pair(&n, &s, &m);
	ispi = s->ispi;
	rspi = s->rspi;
	net_run(&n, 99000);
	ike_pair(&n, &s, &m);
	assert_int_equal(s->ispi, ispi);
	net_run(&n, 1500);
	/* one IKE SA on each side, new SPIs, the rekeying peer is its initiator */
	ike_pair(&n, &s, &m);
	assert_true(s->ispi != ispi && s->rspi != rspi);
	assert_true(who == 0 ? s->initiator : m->initiator);
	assert_int_equal(engine_get_stats(n.p[0].eng)->ike_rekeyed, 1);
	assert_int_equal(engine_get_stats(n.p[1].eng)->ike_rekeyed, 1);
	assert_int_equal(engine_get_stats(n.p[0].eng)->ike_deleted, 1);
	/* the child moved along: nothing installed or removed */
	assert_int_equal(n.p[0].nch, 1);
	assert_int_equal(n.p[1].nch, 1);
	one_pair(&n, &cs, &cm);
	/* the old SPI still finds the SA for the API (the new one) */
	assert_null(engine_sa_find(n.p[0].eng, spi));
	assert_int_equal(engine_rekey_child(n.p[0].eng, spi, cs->spi_in, n.now), -ENOENT);
	/* the new SA's SK_d keys a child rekey both sides agree on */
	assert_int_equal(engine_rekey_child(n.p[0].eng, ike_sa_local_spi(s), cs->spi_in, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 2);
	one_pair(&n, &cs, &cm);
	replaced(&n.p[0].ch[0], cs);
	/* and a new child over it */
	assert_int_equal(engine_child_create(n.p[1].eng, ike_sa_local_spi(m), "net", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(active(&n.p[0], NULL), 2);
	assert_int_equal(active(&n.p[1], NULL), 2);
	/* the next rekey of the new SA */
	net_run(&n, 101000);
	ike_pair(&n, &s, &m);
	assert_int_equal(engine_get_stats(n.p[0].eng)->ike_rekeyed, 2);
	assert_int_equal(active(&n.p[0], NULL), 2);
	net_free(&n);
}

static void test_ike_rekey_initiator(void **state)
{
	(void)state;
	ike_rekey_by(0);
}

static void test_ike_rekey_responder(void **state)
{
	(void)state;
	ike_rekey_by(1);
}

/* ---- simultaneous rekeys (2.8.1): one pair / one IKE SA survives ---- */

static void test_child_rekey_collision(void **state)
{
	unsigned int round;

	(void)state;
	/* the nonces are random: enough rounds to see both peers win */
	for (round = 0; round < 8; round++) {
		const struct child_rec *cs, *cm;
		uint32_t s_in, m_in;
		struct net n;
		uint64_t spi;

		net_init(&n, &sun_default, &moon_default);
		spi = net_up(&n);
		s_in = n.p[0].ch[0].spi_in;
		m_in = n.p[1].ch[0].spi_in;
		assert_int_equal(engine_rekey_child(n.p[0].eng, spi, s_in, n.now), 0);
		assert_int_equal(engine_rekey_child(n.p[1].eng,
						    engine_sa_next(n.p[1].eng, NULL)->rspi, m_in,
						    n.now),
				 0);
		assert_int_equal(engine_rekey_child(n.p[0].eng, spi, s_in, n.now), -EALREADY);
		net_run(&n, 0);
		/* two new pairs were made, the redundant one and the old one go */
		assert_int_equal(n.p[0].nch, 3);
		assert_int_equal(n.p[1].nch, 3);
		one_pair(&n, &cs, &cm);
		assert_true(n.p[0].ch[0].removed && n.p[1].ch[0].removed);
		assert_int_equal(n.p[0].nremoved, 2);
		assert_int_equal(n.p[1].nremoved, 2);
		/* nothing left waiting */
		net_run(&n, 40000);
		one_pair(&n, &cs, &cm);
		assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 0);
		net_free(&n);
	}
}

static void test_ike_rekey_collision(void **state)
{
	unsigned int round;

	(void)state;
	for (round = 0; round < 8; round++) {
		const struct child_rec *cs, *cm;
		const struct ike_sa *s, *m;
		uint64_t spi, mspi;
		struct net n;

		net_init(&n, &sun_default, &moon_default);
		spi = net_up(&n);
		mspi = engine_sa_next(n.p[1].eng, NULL)->rspi;
		assert_int_equal(engine_rekey_ike(n.p[0].eng, spi, n.now), 0);
		assert_int_equal(engine_rekey_ike(n.p[1].eng, mspi, n.now), 0);
		net_run(&n, 0);
		ike_pair(&n, &s, &m);
		assert_true(s->ispi != spi && m->rspi != mspi);
		assert_int_equal(n.p[0].nch, 1);
		assert_int_equal(n.p[1].nch, 1);
		one_pair(&n, &cs, &cm);
		/* the surviving SA works */
		assert_int_equal(
			engine_rekey_child(n.p[0].eng, ike_sa_local_spi(s), cs->spi_in, n.now), 0);
		net_run(&n, 40000);
		one_pair(&n, &cs, &cm);
		assert_int_equal(n.p[0].nch, 2);
		assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 0);
		net_free(&n);
	}
}

/* A child rekey meeting the peer's IKE rekey: both answer
 * TEMPORARY_FAILURE (2.25.2) and try again later. */
static void test_child_vs_ike_rekey(void **state)
{
	const struct child_rec *cs, *cm;
	const struct ike_sa *s, *m;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default);
	spi = net_up(&n);
	assert_int_equal(engine_rekey_child(n.p[0].eng, spi, n.p[0].ch[0].spi_in, n.now), 0);
	assert_int_equal(
		engine_rekey_ike(n.p[1].eng, engine_sa_next(n.p[1].eng, NULL)->rspi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 1);
	assert_int_equal(engine_get_stats(n.p[0].eng)->ike_rekeyed, 0);
	net_run(&n, 40000);
	ike_pair(&n, &s, &m);
	assert_true(s->ispi != spi);
	assert_int_equal(n.p[0].nch, 2);
	one_pair(&n, &cs, &cm);
	net_free(&n);
}

/* A child rekey meeting the peer's Delete of that child (2.25.1): the
 * child and its would-be replacement are gone on both sides. */
static void test_child_rekey_vs_delete(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default);
	spi = net_up(&n);
	assert_int_equal(engine_rekey_child(n.p[0].eng, spi, n.p[0].ch[0].spi_in, n.now), 0);
	assert_int_equal(engine_child_delete(n.p[1].eng, engine_sa_next(n.p[1].eng, NULL)->rspi,
					     n.p[1].ch[0].spi_in, n.now),
			 0);
	net_run(&n, 40000);
	assert_int_equal(active(&n.p[0], NULL), 0);
	assert_int_equal(active(&n.p[1], NULL), 0);
	assert_null(engine_sa_next(n.p[0].eng, NULL)->children);
	assert_null(engine_sa_next(n.p[1].eng, NULL)->children);
	net_free(&n);
}

/* ---- lost messages ---- */

/* The drop_nth-th CREATE_CHILD_SA or INFORMATIONAL datagram (0: the rekey
 * request, 1: its response, 2: the Delete, 3: the Delete's response). */
static bool drop_nth(struct net *n, int from, const uint8_t *buf, size_t len)
{
	(void)from;
	(void)len;
	if (buf[18] != IKEV2_EXCH_CREATE_CHILD_SA && buf[18] != IKEV2_EXCH_INFORMATIONAL)
		return false;
	return n->seen++ == n->drop_nth;
}

static void test_rekey_lost_messages(void **state)
{
	const struct child_rec *cs, *cm;
	const struct ike_sa *s, *m;
	unsigned int nth;
	uint64_t spi;

	(void)state;
	for (nth = 0; nth < 4; nth++) {
		struct net n;

		net_init(&n, &sun_default, &moon_default);
		spi = net_up(&n);
		n.drop = drop_nth;
		n.drop_nth = nth;
		n.drop_budget = 1;
		assert_int_equal(engine_rekey_child(n.p[0].eng, spi, n.p[0].ch[0].spi_in, n.now),
				 0);
		net_run(&n, 40000);
		assert_int_equal(n.dropped, 1);
		one_pair(&n, &cs, &cm);
		replaced(&n.p[0].ch[0], cs);
		assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 1);
		net_free(&n);

		/* a lost answer to the old IKE SA's Delete: the peer has
		 * forgotten that SA, ours gives up on it after the retries */
		net_init(&n, &sun_default, &moon_default);
		spi = net_up(&n);
		n.drop = drop_nth;
		n.drop_nth = nth;
		n.drop_budget = 1;
		assert_int_equal(engine_rekey_ike(n.p[0].eng, spi, n.now), 0);
		net_run(&n, 40000);
		assert_int_equal(n.dropped, 1);
		ike_pair(&n, &s, &m);
		assert_true(s->ispi != spi);
		one_pair(&n, &cs, &cm);
		net_free(&n);
	}
}

/* ---- life_time without rekey ---- */

static void test_life_expiry(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	const struct ike_sa *s, *m;
	struct net n;

	(void)state;
	/* rekey_time = 0: never rekeyed; life_time ends it */
	sun.child_extra = "rekey_time = 0\n life_time = 30s";
	moon.child_extra = "rekey_time = 0\n life_time = 40s";
	net_init(&n, &sun, &moon);
	net_up(&n);
	assert_int_equal(n.p[0].ch[0].life_time, 30);
	net_run(&n, 29000);
	assert_int_equal(active(&n.p[0], NULL), 1);
	net_run(&n, 1500);
	/* sun removed it and told moon */
	assert_int_equal(active(&n.p[0], NULL), 0);
	assert_int_equal(active(&n.p[1], NULL), 0);
	assert_int_equal(n.p[0].nch, 1);
	ike_pair(&n, &s, &m);
	assert_null(s->children);
	assert_null(m->children);
	net_free(&n);
}

/* The peer never answers the rekey: the old child lives to its
 * life_time, then goes; the IKE SA gives up on the silent peer. */
static bool drop_all_from_moon(struct net *n, int from, const uint8_t *buf, size_t len)
{
	(void)n;
	(void)buf;
	(void)len;
	return from == 1;
}

static void test_rekey_unanswered(void **state)
{
	struct cfg sun = sun_default;
	struct net n;

	(void)state;
	sun.child_extra = "rekey_time = 20s\n rand_time = 0\n life_time = 25s";
	net_init(&n, &sun, &moon_default);
	net_up(&n);
	n.drop = drop_all_from_moon;
	n.drop_budget = 1000;
	net_run(&n, 24000);
	assert_int_equal(active(&n.p[0], NULL), 1);
	net_run(&n, 1500);
	assert_int_equal(active(&n.p[0], NULL), 0);
	net_run(&n, 60000);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	net_free(&n);
}

/* IKE over_time: a rekey that keeps failing ends the IKE SA. */
static void test_ike_over_time(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct net n;

	(void)state;
	/* rekey at 100 s, unanswered; deleted at 110 s, before the
	 * retransmissions give up (131 s) */
	sun.conn_extra = "rekey_time = 100s\n rand_time = 0\n over_time = 10s";
	net_init(&n, &sun, &moon);
	net_up(&n);
	n.drop = drop_all_from_moon;
	n.drop_budget = 1000;
	net_run(&n, 108500);
	assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 3);
	assert_int_equal(engine_sa_count(n.p[0].eng), 1);
	net_run(&n, 2000);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(active(&n.p[0], NULL), 0);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_rekey_initiator),
		cmocka_unit_test(test_child_rekey_responder),
		cmocka_unit_test(test_child_rekey_pfs),
		cmocka_unit_test(test_ike_rekey_initiator),
		cmocka_unit_test(test_ike_rekey_responder),
		cmocka_unit_test(test_child_rekey_collision),
		cmocka_unit_test(test_ike_rekey_collision),
		cmocka_unit_test(test_child_vs_ike_rekey),
		cmocka_unit_test(test_child_rekey_vs_delete),
		cmocka_unit_test(test_rekey_lost_messages),
		cmocka_unit_test(test_life_expiry),
		cmocka_unit_test(test_rekey_unanswered),
		cmocka_unit_test(test_ike_over_time),
	};

	log_init("test_ike_rekey", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
