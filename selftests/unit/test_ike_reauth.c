// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_exch.c reauthentication (reauth_time, RFC 7296 2.8.3),
 * make-before-break: a new IKE SA (new IKE_SA_INIT and IKE_AUTH, new SPIs)
 * beside the old one, its children re-created with the same selectors, then
 * the old IKE SA deleted with its children. Either role reauthenticates;
 * reauth_time + over_time ends an IKE SA whose reauthentication keeps
 * failing; rekey_time and reauth_time run side by side.
 * Two engines in one process; time is a counter the test advances.
 *
 *	+-------------------+      queue + filter      +-------------------+
 *	| sun               | -----------------------> | moon              |
 *	| 192.0.2.1[500]    | <----------------------- | 192.0.2.2[500]    |
 *	| 10.1.0.0/16       |                          | 10.2.0.0/24       |
 *	| 10.1.9.0/24 (web) |                          | 10.2.9.0/24 (web) |
 *	+-------------------+                          +-------------------+
 *
 * install_child/remove_child stand for the kernel: they record every child
 * with its selectors, and the most children installed at once (two during a
 * make-before-break reauthentication of one child, never zero).
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
#include "../../iked/ts.h"
#include "log.h"

#define MAX_Q	  64
#define MAX_CHILD 32
#define KEYMAX	  (CRYPTO_ENCR_KEY_MAX + CRYPTO_INTEG_KEY_MAX)

struct child_rec {
	uint32_t spi_in, spi_out;
	size_t el;
	uint8_t ek_in[KEYMAX], ek_out[KEYMAX];
	char child[32];
	char ts[272]; /* "local === remote" */
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
	unsigned int nactive, max_active, min_active_after_up;
};

struct net {
	struct peer p[2];
	struct pkt q[MAX_Q];
	unsigned int nq;
	uint64_t now;
	/* true: drop this datagram */
	bool (*drop)(struct net *n, int from, const uint8_t *buf, size_t len);
	unsigned int dropped, drop_budget;
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
	char l[128], rm[128];

	assert_true(p->nch < MAX_CHILD);
	r = &p->ch[p->nch++];
	memset(r, 0, sizeof(*r));
	r->spi_in = c->spi_in;
	r->spi_out = c->spi_out;
	r->el = c->encr_key_len;
	assert_true(r->el > 0 && r->el <= KEYMAX);
	memcpy(r->ek_in, c->encr_key_in, r->el);
	memcpy(r->ek_out, c->encr_key_out, r->el);
	snprintf(r->child, sizeof(r->child), "%s", c->cfg->name);
	ts_list_str(c->ts_local, l, sizeof(l));
	ts_list_str(c->ts_remote, rm, sizeof(rm));
	snprintf(r->ts, sizeof(r->ts), "%s === %s", l, rm);
	if (++p->nactive > p->max_active)
		p->max_active = p->nactive;
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
			p->nactive--;
			if (p->nactive < p->min_active_after_up)
				p->min_active_after_up = p->nactive;
			return;
		}
	fail_msg("remove_child for unknown SPI 0x%08x", c->spi_in);
}

/* ---- configuration ---- */

struct cfg {
	const char *local_id, *remote_id;
	const char *net_local, *net_remote, *web_local, *web_remote;
	const char *conn_extra; /* e.g. "reauth_time = 100s" */
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
		 "    proposals = aes256gcm16-prfsha256-x25519\n"
		 "    local {\n      auth = psk\n      id = %s\n    }\n"
		 "    remote {\n      auth = psk\n      id = %s\n    }\n"
		 "    children {\n"
		 "      net {\n        esp_proposals = aes128gcm16\n"
		 "        local_ts = %s\n        remote_ts = %s\n        rekey_time = 0\n"
		 "      }\n"
		 "      web {\n        esp_proposals = aes128gcm16\n"
		 "        local_ts = %s\n        remote_ts = %s\n        rekey_time = 0\n"
		 "      }\n"
		 "    }\n"
		 "  }\n"
		 "}\n"
		 "secrets {\n  ike-1 {\n    id-1 = %s\n    id-2 = %s\n    secret = psk-of-test\n"
		 "  }\n}\n",
		 c->conn_extra ? c->conn_extra : "rekey_time = 0", c->local_id, c->remote_id,
		 c->net_local, c->net_remote, c->web_local, c->web_remote, c->local_id,
		 c->remote_id);
	rc = conf_load_buf(text, strlen(text), "reauth.conf", CONF_NO_CREDS | CONF_NO_INCLUDE,
			   &conf, err, sizeof(err));
	if (rc)
		fail_msg("config: %s\n%s", err, text);
	return conf;
}

static const struct cfg sun_default = {
	"sun.example.org", "moon.example.org", "10.1.0.0/16", "10.2.0.0/24",
	"10.1.9.0/24",	   "10.2.9.0/24",      NULL,
};
static const struct cfg moon_default = {
	"moon.example.org", "sun.example.org", "10.2.0.0/24", "10.1.0.0/16",
	"10.2.9.0/24",	    "10.1.9.0/24",     NULL,
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

/* sun initiates with child "net" (and "web" if @web); returns sun's SPI. */
static uint64_t net_up(struct net *n, bool web)
{
	const struct ike_sa *s, *m;
	uint64_t spi = 0;
	int i;

	assert_int_equal(engine_initiate(n->p[0].eng, "c", "net", sa_of(&n->p[0]), sa_of(&n->p[1]),
					 n->now, &spi),
			 0);
	net_run(n, 0);
	if (web) {
		assert_int_equal(engine_child_create(n->p[0].eng, spi, "web", n->now), 0);
		net_run(n, 0);
	}
	ike_pair(n, &s, &m);
	for (i = 0; i < 2; i++) {
		assert_int_equal(n->p[i].nch, web ? 2 : 1);
		n->p[i].min_active_after_up = n->p[i].nactive;
	}
	return spi;
}

static unsigned int active(const struct peer *p)
{
	unsigned int i, k = 0;

	for (i = 0; i < p->nch; i++)
		k += !p->ch[i].removed;
	return k;
}

/* The active record of @p for child @name (exactly one). */
static const struct child_rec *active_child(const struct peer *p, const char *name)
{
	const struct child_rec *r = NULL;
	unsigned int i;

	for (i = 0; i < p->nch; i++)
		if (!p->ch[i].removed && !strcmp(p->ch[i].child, name)) {
			assert_null(r);
			r = &p->ch[i];
		}
	assert_non_null(r);
	return r;
}

/* The removed record of @p for child @name installed first. */
static const struct child_rec *first_child(const struct peer *p, const char *name)
{
	unsigned int i;

	for (i = 0; i < p->nch; i++)
		if (!strcmp(p->ch[i].child, name))
			return &p->ch[i];
	fail_msg("no child %s", name);
	return NULL;
}

/*
 * Child @name was re-created: the first pair is gone on both sides, the
 * active one has new SPIs and keys, the same selectors, and both sides'
 * records and engines agree on it.
 */
static void recreated(struct net *n, const char *name)
{
	const struct child_rec *s0 = first_child(&n->p[0], name), *m0 = first_child(&n->p[1], name);
	const struct child_rec *s = active_child(&n->p[0], name), *m = active_child(&n->p[1], name);
	const struct ike_sa *ss, *ms;
	const struct child_sa *c;
	bool found = false;

	assert_true(s0->removed && m0->removed);
	assert_int_not_equal(s0->spi_in, s->spi_in);
	assert_int_not_equal(s0->spi_out, s->spi_out);
	assert_memory_not_equal(s0->ek_in, s->ek_in, s->el);
	assert_string_equal(s0->ts, s->ts);
	assert_string_equal(m0->ts, m->ts);
	assert_int_equal(s->spi_in, m->spi_out);
	assert_int_equal(s->spi_out, m->spi_in);
	assert_memory_equal(s->ek_out, m->ek_in, s->el);
	assert_memory_equal(s->ek_in, m->ek_out, s->el);
	ike_pair(n, &ss, &ms);
	for (c = ss->children; c; c = c->next)
		if (c->spi_in == s->spi_in) {
			assert_int_equal(c->state, CHILD_ST_INSTALLED);
			found = true;
		}
	assert_true(found);
}

/* ---- reauthentication by either role ---- */

static void reauth_by(int who, bool web)
{
	struct cfg sun = sun_default, moon = moon_default;
	const struct engine_stats *st;
	const struct ike_sa *s, *m;
	uint64_t ispi, rspi, spi;
	unsigned int nchild = web ? 2 : 1, i;
	struct net n;

	if (who == 0)
		sun.conn_extra = "rekey_time = 0\n reauth_time = 100s\n rand_time = 0";
	else
		moon.conn_extra = "rekey_time = 0\n reauth_time = 100s\n rand_time = 0";
	net_init(&n, &sun, &moon);
	spi = net_up(&n, web);
	ike_pair(&n, &s, &m);
	ispi = s->ispi;
	rspi = s->rspi;
	net_run(&n, 98000);
	ike_pair(&n, &s, &m);
	assert_int_equal(s->ispi, ispi);
	assert_int_equal(n.p[0].nch, nchild);
	net_run(&n, 3000);
	/* one IKE SA on each side again: new SPIs both ways, the
	 * reauthenticating peer is its initiator, both authenticated anew */
	ike_pair(&n, &s, &m);
	assert_true(s->ispi != ispi && s->rspi != rspi);
	assert_true(who == 0 ? s->initiator : m->initiator);
	assert_null(engine_sa_find(n.p[0].eng, spi));
	for (i = 0; i < 2; i++) {
		st = engine_get_stats(n.p[i].eng);
		assert_int_equal(st->ike_reauthed, i == (unsigned int)who ? 1 : 0);
		assert_int_equal(st->ike_established, 2);
		assert_int_equal(st->ike_deleted, 1);
		assert_int_equal(st->ike_rekeyed, 0);
		assert_int_equal(st->retransmits, 0);
		/* every child re-created, the old ones removed with their IKE SA */
		assert_int_equal(n.p[i].nch, 2 * nchild);
		assert_int_equal(n.p[i].nremoved, nchild);
		assert_int_equal(active(&n.p[i]), nchild);
		/* make-before-break: the new ones came before the old ones went */
		assert_int_equal(n.p[i].max_active, 2 * nchild);
		assert_int_equal(n.p[i].min_active_after_up, nchild);
	}
	recreated(&n, "net");
	if (web)
		recreated(&n, "web");
	/* the old SA is gone for the API too; rekey the new one */
	assert_int_equal(engine_rekey_ike(n.p[0].eng, spi, n.now), -ENOENT);
	assert_int_equal(engine_rekey_ike(n.p[0].eng, ike_sa_local_spi(s), n.now), 0);
	net_run(&n, 0);
	ike_pair(&n, &s, &m);
	assert_int_equal(engine_get_stats(n.p[0].eng)->ike_rekeyed, 1);
	assert_int_equal(active(&n.p[0]), nchild);
	/* the rekeyed SA keeps the reauthentication clock: 100 s after the
	 * first reauthentication, not after the rekey */
	ispi = s->ispi;
	net_run(&n, 97000);
	ike_pair(&n, &s, &m);
	assert_int_equal(s->ispi, ispi);
	net_run(&n, 4000);
	ike_pair(&n, &s, &m);
	assert_true(s->ispi != ispi);
	assert_int_equal(engine_get_stats(n.p[who].eng)->ike_reauthed, 2);
	assert_int_equal(n.p[0].nch, 3 * nchild);
	assert_int_equal(active(&n.p[0]), nchild);
	assert_int_equal(active(&n.p[1]), nchild);
	net_free(&n);
}

static void test_reauth_initiator(void **state)
{
	(void)state;
	reauth_by(0, false);
}

static void test_reauth_responder(void **state)
{
	(void)state;
	reauth_by(1, false);
}

static void test_reauth_two_children(void **state)
{
	(void)state;
	reauth_by(0, true);
	reauth_by(1, true);
}

/* ---- rekey_time and reauth_time together: each does its job ---- */

static void test_reauth_and_rekey(void **state)
{
	struct cfg sun = sun_default;
	const struct engine_stats *st;
	const struct ike_sa *s, *m;
	struct net n;

	(void)state;
	sun.conn_extra = "rekey_time = 30s\n reauth_time = 100s\n rand_time = 0\n over_time = 20s";
	net_init(&n, &sun, &moon_default);
	net_up(&n, false);
	st = engine_get_stats(n.p[0].eng);
	net_run(&n, 95000);
	/* rekeyed at 30, 60, 90 s; the rekeys did not push reauth_time back */
	assert_int_equal(st->ike_rekeyed, 3);
	assert_int_equal(st->ike_reauthed, 0);
	net_run(&n, 6000);
	assert_int_equal(st->ike_rekeyed, 3);
	assert_int_equal(st->ike_reauthed, 1);
	ike_pair(&n, &s, &m);
	assert_int_equal(active(&n.p[0]), 1);
	assert_int_equal(active(&n.p[1]), 1);
	recreated(&n, "net");
	/* the new SA's own clocks: rekeyed 30 s after it was made */
	net_run(&n, 31000);
	assert_int_equal(st->ike_rekeyed, 4);
	assert_int_equal(st->ike_reauthed, 1);
	assert_int_equal(st->retransmits, 0);
	net_free(&n);
}

/* ---- failures ---- */

static bool drop_init_from_sun(struct net *n, int from, const uint8_t *buf, size_t len)
{
	(void)n;
	return from == 0 && len > 18 && buf[18] == IKEV2_EXCH_IKE_SA_INIT;
}

/* The new IKE SA never gets an answer: the old one, with its child, stays
 * until reauth_time + over_time and is deleted then. */
static void test_reauth_over_time(void **state)
{
	struct cfg sun = sun_default;
	const struct engine_stats *st;
	struct net n;
	uint64_t spi;

	(void)state;
	/* reauth at 100 s; IKE_SA_INIT retransmissions give up at 131 s */
	sun.conn_extra = "rekey_time = 0\n reauth_time = 100s\n rand_time = 0\n over_time = 20s";
	net_init(&n, &sun, &moon_default);
	spi = net_up(&n, false);
	st = engine_get_stats(n.p[0].eng);
	n.drop = drop_init_from_sun;
	n.drop_budget = 1000;
	net_run(&n, 119000); /* 1 s after the SA was made */
	assert_true(n.dropped >= 4);
	assert_non_null(engine_sa_find(n.p[0].eng, spi));
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->state, IKE_ST_ESTABLISHED);
	assert_int_equal(active(&n.p[0]), 1);
	assert_int_equal(engine_sa_count(n.p[0].eng), 2); /* old + IKE_SA_INIT sent */
	net_run(&n, 2000);
	/* deleted at 120 s, by a Delete the peer answered */
	assert_null(engine_sa_find(n.p[0].eng, spi));
	assert_int_equal(active(&n.p[0]), 0);
	assert_int_equal(active(&n.p[1]), 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	assert_int_equal(st->ike_reauthed, 0);
	/* and the new one gives up */
	net_run(&n, 20000);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	net_free(&n);
}

/* The first attempt fails (IKE_SA_INIT unanswered until the retransmissions
 * give up); a later one succeeds before reauth_time + over_time. */
static void test_reauth_retry(void **state)
{
	struct cfg sun = sun_default;
	const struct engine_stats *st;
	const struct ike_sa *s, *m;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.conn_extra = "rekey_time = 0\n reauth_time = 100s\n rand_time = 0\n over_time = 100s";
	net_init(&n, &sun, &moon_default);
	spi = net_up(&n, false);
	st = engine_get_stats(n.p[0].eng);
	n.drop = drop_init_from_sun;
	n.drop_budget = 5; /* all sends of the first new IKE SA */
	net_run(&n, 130000);
	assert_int_equal(n.dropped, 5);
	assert_int_equal(st->ike_reauthed, 0);
	assert_int_equal(st->retransmits, 4);
	assert_non_null(engine_sa_find(n.p[0].eng, spi));
	/* given up at 131 s; retried 5 to 15 s later */
	net_run(&n, 17000);
	assert_int_equal(st->ike_reauthed, 1);
	assert_null(engine_sa_find(n.p[0].eng, spi));
	ike_pair(&n, &s, &m);
	recreated(&n, "net");
	assert_int_equal(n.p[0].min_active_after_up, 1);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reauth_initiator),  cmocka_unit_test(test_reauth_responder),
		cmocka_unit_test(test_reauth_two_children), cmocka_unit_test(test_reauth_and_rekey),
		cmocka_unit_test(test_reauth_over_time),  cmocka_unit_test(test_reauth_retry),
	};

	log_init("test_ike_reauth", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
