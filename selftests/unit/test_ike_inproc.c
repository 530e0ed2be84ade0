// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_exch.c: two engines in one process, the network mocked by the
 * send callback. Every datagram goes through a queue and a per-test filter
 * that may drop or duplicate it; time is a counter the test advances.
 *
 *	+-------------------+      queue + filter      +-------------------+
 *	| initiator (sun)   | -----------------------> | responder (moon)  |
 *	| 192.0.2.1[500]    | <----------------------- | 192.0.2.2[500]    |
 *	| 10.1.0.0/16       |                          | 10.2.0.0/24       |
 *	+-------------------+                          +-------------------+
 *
 * install_child/remove_child record what the kernel would get, so the test
 * compares both sides' SPIs and keys (initiator's outbound = responder's
 * inbound).
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
#include <unistd.h>

#include <cmocka.h>

#include "../../iked/ikev2_exch.h"
#include "../../iked/ikev2_msg.h"
#include "log.h"

#define MAX_Q	  64
#define MAX_LOG	  64
#define MAX_CHILD 16
#define KEYMAX	  (CRYPTO_ENCR_KEY_MAX + CRYPTO_INTEG_KEY_MAX)

struct child_rec {
	uint32_t spi_in, spi_out;
	uint16_t encr, encr_keylen, integ;
	size_t el, il;
	uint8_t ek_in[KEYMAX], ik_in[KEYMAX], ek_out[KEYMAX], ik_out[KEYMAX];
	struct ikev2_ts_list tsl, tsr;
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
	/* copies of every datagram this peer sent */
	uint8_t *log[MAX_LOG];
	size_t log_len[MAX_LOG];
	unsigned int nsent;
};

enum verdict { PASS, DROP, DUP };

struct net {
	struct peer p[2];
	struct pkt q[MAX_Q];
	unsigned int nq;
	uint64_t now;
	enum verdict (*filter)(struct net *n, int from, unsigned int nth, const uint8_t *buf,
			       size_t len);
	uint64_t drop_auth_spi; /* for the cookie test */
	uint32_t next_spi; /* alloc_spi callback of the responder, 0: not used */
	unsigned int delivered[2];
};

/* ---- raw header access ---- */

static uint64_t raw_ispi(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static uint8_t raw_exch(const uint8_t *b)
{
	return b[18];
}

static bool raw_response(const uint8_t *b)
{
	return b[19] & IKEV2_FLAG_RESPONSE;
}

/* ---- callbacks ---- */

static void cb_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct peer *p = arg;
	struct net *n = p->net;
	struct pkt *q;

	assert_int_equal(local->sa_family, AF_INET);
	assert_memory_equal(&((const struct sockaddr_in *)(const void *)local)->sin_addr,
			    &p->addr.sin_addr, 4);
	assert_memory_equal(&((const struct sockaddr_in *)(const void *)remote)->sin_addr,
			    &n->p[1 - p->idx].addr.sin_addr, 4);
	if (p->nsent < MAX_LOG) {
		p->log[p->nsent] = malloc(len);
		memcpy(p->log[p->nsent], pkt, len);
		p->log_len[p->nsent] = len;
	}
	p->nsent++;
	assert_true(n->nq < MAX_Q);
	q = &n->q[n->nq++];
	q->to = 1 - p->idx;
	q->buf = malloc(len);
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
	r->encr = c->encr;
	r->encr_keylen = c->encr_keylen;
	r->integ = c->integ;
	r->el = c->encr_key_len;
	r->il = c->integ_key_len;
	assert_true(r->el > 0 && r->el <= KEYMAX && r->il <= KEYMAX);
	memcpy(r->ek_in, c->encr_key_in, r->el);
	memcpy(r->ek_out, c->encr_key_out, r->el);
	if (r->il) {
		memcpy(r->ik_in, c->integ_key_in, r->il);
		memcpy(r->ik_out, c->integ_key_out, r->il);
	}
	r->tsl = *c->ts_local;
	r->tsr = *c->ts_remote;
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
	const char *ike, *esp;
	const char *local_id, *remote_id;
	const char *psk;
	const char *local_ts, *remote_ts;
	const char *local_ts2, *remote_ts2;
	const char *conn_extra; /* more connection keys, may be NULL */
	const char *esp2; /* esp_proposals of net2, NULL: as net */
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
		 "    proposals = %s\n"
		 "    local {\n      auth = psk\n      id = %s\n    }\n"
		 "    remote {\n      auth = psk\n      id = %s\n    }\n"
		 "    children {\n"
		 "      net {\n        esp_proposals = %s\n"
		 "        local_ts = %s\n        remote_ts = %s\n      }\n"
		 "      net2 {\n        esp_proposals = %s\n"
		 "        local_ts = %s\n        remote_ts = %s\n      }\n"
		 "    }\n"
		 "  }\n"
		 "}\n"
		 "secrets {\n  ike-1 {\n    id-1 = %s\n    id-2 = %s\n    secret = %s\n  }\n}\n",
		 c->conn_extra ? c->conn_extra : "", c->ike, c->local_id, c->remote_id, c->esp,
		 c->local_ts, c->remote_ts, c->esp2 ? c->esp2 : c->esp, c->local_ts2, c->remote_ts2,
		 c->local_id, c->remote_id, c->psk);
	rc = conf_load_buf(text, strlen(text), "inproc.conf", CONF_NO_CREDS | CONF_NO_INCLUDE,
			   &conf, err, sizeof(err));
	if (rc)
		fail_msg("config: %s\n%s", err, text);
	return conf;
}

static const struct cfg sun_default = {
	"aes256gcm16-prfsha256-x25519",
	"aes128gcm16",
	"sun.example.org",
	"moon.example.org",
	"\"a shared secret\"",
	"10.1.0.0/16",
	"10.2.0.0/16",
	"10.2.0.0/24",
	"10.3.0.0/24",
	NULL,
	NULL,
};
static const struct cfg moon_default = {
	"aes256gcm16-prfsha256-x25519",
	"aes128gcm16",
	"moon.example.org",
	"sun.example.org",
	"\"a shared secret\"",
	"10.2.0.0/24",
	"10.1.0.0/16",
	"10.3.0.0/24",
	"10.2.0.0/24",
	NULL,
	NULL,
};

static int cb_alloc_spi_real(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			     uint32_t *spi)
{
	struct peer *p = arg;

	(void)local;
	(void)remote;
	*spi = p->net->next_spi++;
	return 0;
}

static void net_init_spi(struct net *n, const struct cfg *sun, const struct cfg *moon,
			 const struct engine_params *rparams, uint32_t first_spi)
{
	struct engine_ops ops = { .send = cb_send,
				  .install_child = cb_install,
				  .remove_child = cb_remove };
	int i;

	memset(n, 0, sizeof(*n));
	n->next_spi = first_spi;
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
		ops.alloc_spi = i && first_spi ? cb_alloc_spi_real : NULL;
		assert_int_equal(engine_new(p->conf, &ops, i ? rparams : NULL, &p->eng), 0);
	}
}

static void net_init(struct net *n, const struct cfg *sun, const struct cfg *moon,
		     const struct engine_params *rparams)
{
	net_init_spi(n, sun, moon, rparams, 0);
}

static void net_free(struct net *n)
{
	unsigned int i, j;

	for (i = 0; i < 2; i++) {
		engine_free(n->p[i].eng);
		conf_free(n->p[i].conf);
		for (j = 0; j < MAX_LOG && j < n->p[i].nsent; j++)
			free(n->p[i].log[j]);
	}
	for (i = 0; i < n->nq; i++)
		free(n->q[i].buf);
}

static const struct sockaddr *sa_of(struct peer *p)
{
	return (const struct sockaddr *)&p->addr;
}

/* Deliver queued datagrams (and what they trigger) until the queue is empty. */
static void net_deliver(struct net *n)
{
	unsigned int guard = 0;

	while (n->nq) {
		struct pkt q = n->q[0];
		int from = 1 - q.to;
		enum verdict v = PASS;

		assert_true(++guard < 1000);
		memmove(&n->q[0], &n->q[1], (n->nq - 1) * sizeof(n->q[0]));
		n->nq--;
		if (n->filter)
			v = n->filter(n, from, n->delivered[from], q.buf, q.len);
		n->delivered[from]++;
		if (v != DROP)
			engine_input(n->p[q.to].eng, q.buf, q.len, sa_of(&n->p[q.to]),
				     sa_of(&n->p[from]), n->now);
		if (v == DUP)
			engine_input(n->p[q.to].eng, q.buf, q.len, sa_of(&n->p[q.to]),
				     sa_of(&n->p[from]), n->now);
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

static uint64_t net_up(struct net *n, const char *child)
{
	uint64_t spi = 0;

	assert_int_equal(engine_initiate(n->p[0].eng, "c", child, sa_of(&n->p[0]), sa_of(&n->p[1]),
					 n->now, &spi),
			 0);
	assert_true(spi != 0);
	return spi;
}

static const struct ike_sa *resp_sa(struct net *n, uint64_t ispi)
{
	const struct ike_sa *i = engine_sa_find(n->p[0].eng, ispi);

	assert_non_null(i);
	return engine_sa_find(n->p[1].eng, i->rspi);
}

static void assert_established(struct net *n, uint64_t ispi)
{
	const struct ike_sa *i = engine_sa_find(n->p[0].eng, ispi), *r;

	assert_non_null(i);
	assert_int_equal(i->state, IKE_ST_ESTABLISHED);
	r = resp_sa(n, ispi);
	assert_non_null(r);
	assert_int_equal(r->state, IKE_ST_ESTABLISHED);
	assert_true(r->ispi == i->ispi && r->rspi == i->rspi);
}

static void ts_list_eq(const struct ikev2_ts_list *a, const struct ikev2_ts_list *b)
{
	unsigned int i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->ts[i].type, b->ts[i].type);
		assert_int_equal(a->ts[i].ipproto, b->ts[i].ipproto);
		assert_int_equal(a->ts[i].start_port, b->ts[i].start_port);
		assert_int_equal(a->ts[i].end_port, b->ts[i].end_port);
		assert_memory_equal(a->ts[i].start_addr, b->ts[i].start_addr, 16);
		assert_memory_equal(a->ts[i].end_addr, b->ts[i].end_addr, 16);
	}
}

/* Child @ci of the initiator and @cr of the responder are one SA pair. */
static void assert_child_pair(const struct child_rec *a, const struct child_rec *b)
{
	assert_int_equal(a->spi_out, b->spi_in);
	assert_int_equal(a->spi_in, b->spi_out);
	assert_int_equal(a->encr, b->encr);
	assert_int_equal(a->encr_keylen, b->encr_keylen);
	assert_int_equal(a->integ, b->integ);
	assert_int_equal(a->el, b->el);
	assert_int_equal(a->il, b->il);
	assert_memory_equal(a->ek_out, b->ek_in, a->el);
	assert_memory_equal(a->ek_in, b->ek_out, a->el);
	assert_memory_not_equal(a->ek_in, a->ek_out, a->el);
	if (a->il) {
		assert_memory_equal(a->ik_out, b->ik_in, a->il);
		assert_memory_equal(a->ik_in, b->ik_out, a->il);
	}
	ts_list_eq(&a->tsl, &b->tsr);
	ts_list_eq(&a->tsr, &b->tsl);
	assert_string_equal(a->child, b->child);
}

static void ts_is(const struct ikev2_ts_list *l, const char *from, const char *to)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	assert_int_equal(l->n, 1);
	inet_ntop(AF_INET, l->ts[0].start_addr, a, sizeof(a));
	inet_ntop(AF_INET, l->ts[0].end_addr, b, sizeof(b));
	assert_string_equal(a, from);
	assert_string_equal(b, to);
}

/* ---- 1. PSK with several suites and identity types ---- */

struct suite_case {
	const char *ike, *esp;
	uint16_t encr;
	size_t el, il;
};

static const struct suite_case suite_cases[] = {
	{ "aes256gcm16-prfsha256-x25519", "aes128gcm16", IKEV2_ENCR_AES_GCM_16, 20, 0 },
	{ "aes128-sha256-modp2048", "aes256-sha256", IKEV2_ENCR_AES_CBC, 32, 32 },
	{ "aes256gcm16-prfsha256-x25519", "aes256-sha256", IKEV2_ENCR_AES_CBC, 32, 32 },
	{ "aes128-sha256-modp2048", "aes128gcm16", IKEV2_ENCR_AES_GCM_16, 20, 0 },
};

struct id_case {
	const char *sun, *moon;
};

static const struct id_case id_cases[] = {
	{ "sun.example.org", "moon.example.org" },
	{ "192.0.2.1", "192.0.2.2" },
	{ "sun@example.org", "moon@example.org" },
};

static void test_psk_suites(void **state)
{
	unsigned int s, i;

	(void)state;
	for (s = 0; s < sizeof(suite_cases) / sizeof(suite_cases[0]); s++) {
		for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
			struct cfg sun = sun_default, moon = moon_default;
			const struct ike_sa *isa, *rsa;
			struct net n;
			uint64_t spi;

			sun.ike = moon.ike = suite_cases[s].ike;
			sun.esp = moon.esp = suite_cases[s].esp;
			sun.local_id = moon.remote_id = id_cases[i].sun;
			sun.remote_id = moon.local_id = id_cases[i].moon;
			net_init(&n, &sun, &moon, NULL);
			spi = net_up(&n, NULL);
			net_run(&n, 0);
			assert_established(&n, spi);
			isa = engine_sa_find(n.p[0].eng, spi);
			rsa = resp_sa(&n, spi);
			assert_int_equal(isa->alg.encr, rsa->alg.encr);
			assert_int_equal(isa->alg.dh, rsa->alg.dh);
			assert_int_equal(n.p[0].nch, 1);
			assert_int_equal(n.p[1].nch, 1);
			assert_int_equal(n.p[0].ch[0].encr, suite_cases[s].encr);
			assert_int_equal(n.p[0].ch[0].el, suite_cases[s].el);
			assert_int_equal(n.p[0].ch[0].il, suite_cases[s].il);
			assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
			/* the responder narrowed 10.2.0.0/16 to its 10.2.0.0/24 */
			ts_is(&n.p[0].ch[0].tsl, "10.1.0.0", "10.1.255.255");
			ts_is(&n.p[0].ch[0].tsr, "10.2.0.0", "10.2.0.255");
			/* two exchanges, four datagrams, nothing resent */
			assert_int_equal(n.p[0].nsent, 2);
			assert_int_equal(n.p[1].nsent, 2);
			assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 0);
			/* time passes without retransmissions or timeouts */
			net_run(&n, 60000);
			assert_established(&n, spi);
			assert_int_equal(n.p[0].nsent, 2);
			net_free(&n);
		}
	}
}

/* ---- 2. wrong PSK ---- */

static void test_wrong_psk(void **state)
{
	struct cfg moon = moon_default;
	struct net n;

	(void)state;
	moon.psk = "\"another secret\"";
	net_init(&n, &sun_default, &moon, NULL);
	net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	assert_int_equal(n.p[0].nch, 0);
	assert_int_equal(n.p[1].nch, 0);
	assert_int_equal(engine_get_stats(n.p[1].eng)->auth_failed, 1);
	/* the initiator failed because of the AUTHENTICATION_FAILED notify */
	assert_int_equal(engine_get_stats(n.p[0].eng)->auth_failed, 1);
	assert_int_equal(n.p[1].nsent, 2);
	net_run(&n, 60000);
	assert_int_equal(n.p[0].nsent, 2);
	net_free(&n);
}

/* A responder that trusts another identity refuses too. */
static void test_wrong_id(void **state)
{
	struct cfg moon = moon_default;
	struct net n;

	(void)state;
	moon.remote_id = "venus.example.org";
	net_init(&n, &sun_default, &moon, NULL);
	net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	assert_int_equal(n.p[0].nch + n.p[1].nch, 0);
	net_free(&n);
}

/* ---- 3. lost and duplicated messages ---- */

static enum verdict drop_first_request(struct net *n, int from, unsigned int nth,
				       const uint8_t *buf, size_t len)
{
	(void)n;
	(void)buf;
	(void)len;
	return from == 0 && nth == 0 ? DROP : PASS;
}

static enum verdict drop_first_response(struct net *n, int from, unsigned int nth,
					const uint8_t *buf, size_t len)
{
	(void)n;
	(void)buf;
	(void)len;
	return from == 1 && nth == 0 ? DROP : PASS;
}

static enum verdict drop_auth_response(struct net *n, int from, unsigned int nth,
				       const uint8_t *buf, size_t len)
{
	(void)n;
	(void)len;
	return from == 1 && nth == 1 && raw_exch(buf) == IKEV2_EXCH_IKE_AUTH ? DROP : PASS;
}

static enum verdict dup_requests(struct net *n, int from, unsigned int nth, const uint8_t *buf,
				 size_t len)
{
	(void)n;
	(void)nth;
	(void)len;
	return from == 0 && !raw_response(buf) ? DUP : PASS;
}

static enum verdict drop_all_from_initiator(struct net *n, int from, unsigned int nth,
					    const uint8_t *buf, size_t len)
{
	(void)n;
	(void)nth;
	(void)buf;
	(void)len;
	return from == 0 ? DROP : PASS;
}

static enum verdict drop_auth_requests(struct net *n, int from, unsigned int nth,
				       const uint8_t *buf, size_t len)
{
	(void)n;
	(void)nth;
	(void)len;
	return from == 0 && raw_exch(buf) == IKEV2_EXCH_IKE_AUTH ? DROP : PASS;
}

static void test_lost_request(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	n.filter = drop_first_request;
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	/* the first retransmission comes after ENGINE_RETX_TIMEOUT_MS */
	net_run(&n, ENGINE_RETX_TIMEOUT_MS - 100);
	assert_int_equal(n.p[0].nsent, 1);
	net_run(&n, 100);
	assert_int_equal(n.p[0].nsent, 3);
	assert_established(&n, spi);
	assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 1);
	assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
	net_free(&n);
}

static void test_lost_response(void **state)
{
	const struct engine_stats *rs;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	n.filter = drop_first_response;
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 1);
	net_run(&n, ENGINE_RETX_TIMEOUT_MS);
	assert_established(&n, spi);
	rs = engine_get_stats(n.p[1].eng);
	/* the resent IKE_SA_INIT got the cached answer, no second SA */
	assert_int_equal(rs->cached_replies, 1);
	assert_int_equal(rs->requests_processed, 2);
	assert_int_equal(engine_sa_count(n.p[1].eng), 1);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 0);
	assert_int_equal(n.p[1].nch, 1);
	assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
	net_free(&n);
}

static void test_lost_auth_response(void **state)
{
	const struct engine_stats *rs;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	n.filter = drop_auth_response;
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	/* the responder is done, the initiator still waits */
	assert_int_equal(resp_sa(&n, spi)->state, IKE_ST_ESTABLISHED);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->state, IKE_ST_AUTH_SENT);
	net_run(&n, ENGINE_RETX_TIMEOUT_MS);
	assert_established(&n, spi);
	rs = engine_get_stats(n.p[1].eng);
	assert_int_equal(rs->cached_replies, 1);
	assert_int_equal(rs->requests_processed, 2);
	/* the child was installed once on each side */
	assert_int_equal(n.p[1].nch, 1);
	assert_int_equal(n.p[0].nch, 1);
	assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
	net_free(&n);
}

static void test_dup_request(void **state)
{
	const struct engine_stats *rs, *is;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	n.filter = dup_requests;
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	rs = engine_get_stats(n.p[1].eng);
	is = engine_get_stats(n.p[0].eng);
	assert_int_equal(rs->requests_processed, 2);
	assert_int_equal(rs->cached_replies, 2);
	assert_int_equal(n.p[1].nch, 1);
	assert_int_equal(engine_sa_count(n.p[1].eng), 1);
	/* the initiator dropped the duplicate answers */
	assert_int_equal(is->rx_dropped, 2);
	assert_int_equal(n.p[0].nch, 1);
	assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
	/* liveness with a duplicated request still works */
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(rs->requests_processed, 3);
	assert_int_equal(rs->cached_replies, 3);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->req.kind, IKE_REQ_NONE);
	net_free(&n);
}

static void test_give_up(void **state)
{
	uint64_t total = 0, step = ENGINE_RETX_TIMEOUT_MS;
	unsigned int i;
	struct net n;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	n.filter = drop_all_from_initiator;
	net_up(&n, NULL);
	/* backoff 1 + 2 + 4 + 8 + 16 s: five sends, then give up */
	for (i = 0; i < ENGINE_RETX_TRIES; i++, step *= 2)
		total += step;
	net_run(&n, total - 200);
	assert_int_equal(n.p[0].nsent, ENGINE_RETX_TRIES);
	assert_int_equal(engine_sa_count(n.p[0].eng), 1);
	net_run(&n, 200);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, ENGINE_RETX_TRIES - 1);
	net_run(&n, 100000);
	assert_int_equal(n.p[0].nsent, ENGINE_RETX_TRIES);
	net_free(&n);
}

/* IKE_AUTH never arrives: the initiator gives up, the responder's half-open
 * SA times out. */
static void test_half_open_timeout(void **state)
{
	struct net n;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	n.filter = drop_auth_requests;
	net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 1);
	net_run(&n, ENGINE_HALF_OPEN_TIMEOUT_MS + 1000);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 0);
	net_free(&n);
}

/* ---- 4. INVALID_KE_PAYLOAD ---- */

static void test_invalid_ke(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.ike = "aes256gcm16-prfsha256-x25519-ecp256";
	moon.ike = "aes256gcm16-prfsha256-ecp256";
	net_init(&n, &sun, &moon, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	assert_int_equal(engine_get_stats(n.p[1].eng)->invalid_ke_sent, 1);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->alg.dh, IKEV2_DH_ECP_256);
	assert_int_equal(resp_sa(&n, spi)->alg.dh, IKEV2_DH_ECP_256);
	/* INIT, INIT again, AUTH */
	assert_int_equal(n.p[0].nsent, 3);
	assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
	net_free(&n);
}

/* A group the initiator does not have at all fails cleanly. */
static void test_no_common_group(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct net n;

	(void)state;
	sun.ike = "aes256gcm16-prfsha256-x25519";
	moon.ike = "aes256gcm16-prfsha256-ecp256";
	net_init(&n, &sun, &moon, NULL);
	net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	net_free(&n);
}

/* ---- 5. cookies ---- */

static enum verdict drop_auth_of_spi(struct net *n, int from, unsigned int nth, const uint8_t *buf,
				     size_t len)
{
	(void)nth;
	(void)len;
	return from == 0 && raw_exch(buf) == IKEV2_EXCH_IKE_AUTH &&
			       raw_ispi(buf) == n->drop_auth_spi ?
		       DROP :
		       PASS;
}

static void test_cookie(void **state)
{
	struct engine_params rp = { .cookie_threshold = 1 };
	uint64_t spi1, spi2;
	struct net n;

	(void)state;
	net_init(&n, &sun_default, &moon_default, &rp);
	n.filter = drop_auth_of_spi;
	spi1 = net_up(&n, NULL);
	n.drop_auth_spi = spi1;
	net_run(&n, 0);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 1);
	assert_int_equal(engine_get_stats(n.p[1].eng)->cookies_sent, 0);

	spi2 = net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_get_stats(n.p[1].eng)->cookies_sent, 1);
	assert_established(&n, spi2);
	assert_int_equal(n.p[0].nch, 1);
	assert_child_pair(&n.p[0].ch[0], &n.p[1].ch[0]);
	/* the retried IKE_SA_INIT carried the cookie as its first payload */
	assert_int_equal(n.p[0].log[3][16], IKEV2_PLD_NOTIFY);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi1)->state, IKE_ST_AUTH_SENT);
	net_free(&n);
}

/* A forged cookie is answered with a fresh COOKIE, never with state. */
static void test_cookie_forged(void **state)
{
	struct engine_params rp = { .cookie_threshold = 1 };
	struct net n;
	uint64_t spi1;
	uint8_t *req;
	size_t len;

	(void)state;
	net_init(&n, &sun_default, &moon_default, &rp);
	n.filter = drop_auth_of_spi;
	spi1 = net_up(&n, NULL);
	n.drop_auth_spi = spi1;
	net_run(&n, 0);
	net_up(&n, NULL);
	net_run(&n, 0);
	/* the second initiator's retried IKE_SA_INIT with the cookie */
	len = n.p[0].log_len[3];
	req = malloc(len);
	memcpy(req, n.p[0].log[3], len);
	/* first payload is N(COOKIE): flip a cookie byte (header 28 + 4 + 4 + version 4) */
	req[28 + 8 + 5] ^= 1;
	req[7] ^= 1; /* a new initiator SPI */
	engine_input(n.p[1].eng, req, len, sa_of(&n.p[1]), sa_of(&n.p[0]), n.now);
	assert_int_equal(engine_get_stats(n.p[1].eng)->cookies_sent, 2);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 1);
	free(req);
	for (; n.nq; n.nq--)
		free(n.q[n.nq - 1].buf);
	net_free(&n);
}

/*
 * The initiator's first IKE_SA_INIT (A) got a cookie demand; its retry with
 * the cookie (B) is delayed; a stale copy of A reaches the responder once the
 * half-open count has dropped and makes the SA. The initiator takes the reply
 * as the answer to B and signs B (2.15): when B arrives, it becomes the SA's
 * request, and IKE_AUTH succeeds (it failed as a PSK mismatch before).
 */
static enum verdict hold_cookie_retry(struct net *n, int from, unsigned int nth,
				      const uint8_t *buf, size_t len)
{
	if (from == 0 && raw_exch(buf) == IKEV2_EXCH_IKE_SA_INIT && !raw_response(buf) &&
	    buf[16] == IKEV2_PLD_NOTIFY)
		return DROP;
	return drop_auth_of_spi(n, from, nth, buf, len);
}

static void test_cookie_stale_copy(void **state)
{
	struct engine_params rp = { .cookie_threshold = 1 };
	uint64_t spi1, spi2;
	uint8_t *a, *b;
	size_t alen, blen;
	struct net n;

	(void)state;
	net_init(&n, &sun_default, &moon_default, &rp);
	n.filter = hold_cookie_retry;
	spi1 = net_up(&n, NULL);
	n.drop_auth_spi = spi1;
	net_run(&n, 0);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 1);
	spi2 = net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_get_stats(n.p[1].eng)->cookies_sent, 1);
	/* A without, B with the cookie: the same SPI, nonce and KE */
	alen = n.p[0].log_len[2];
	blen = n.p[0].log_len[3];
	assert_true(blen > alen);
	a = malloc(alen);
	b = malloc(blen);
	memcpy(a, n.p[0].log[2], alen);
	memcpy(b, n.p[0].log[3], blen);
	assert_int_equal(raw_ispi(a), spi2);
	assert_int_equal(raw_ispi(b), spi2);

	/* the first IKE SA completes: no half-open SA left */
	n.drop_auth_spi = 0;
	net_run(&n, 5000);
	assert_established(&n, spi1);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 0);

	/* the stale A makes the SA, then B arrives */
	engine_input(n.p[1].eng, a, alen, sa_of(&n.p[1]), sa_of(&n.p[0]), n.now);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 1);
	engine_input(n.p[1].eng, b, blen, sa_of(&n.p[1]), sa_of(&n.p[0]), n.now);
	n.filter = NULL;
	net_run(&n, 0);
	assert_established(&n, spi2);
	assert_int_equal(engine_get_stats(n.p[1].eng)->auth_failed, 0);
	free(a);
	free(b);
	net_free(&n);
}

/* ---- 6. CREATE_CHILD_SA, delete, liveness ---- */

static struct child_rec *find_child(struct peer *p, const char *name, bool removed)
{
	unsigned int i;

	for (i = 0; i < p->nch; i++)
		if (!strcmp(p->ch[i].child, name) && p->ch[i].removed == removed)
			return &p->ch[i];
	return NULL;
}

static void test_child_and_delete(void **state)
{
	struct child_rec *ci, *cr;
	const struct ike_sa *rsa;
	struct net n;
	uint64_t spi, rspi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	rspi = resp_sa(&n, spi)->rspi;

	/* additional child initiated by the initiator */
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), -EBUSY);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 2);
	assert_int_equal(n.p[1].nch, 2);
	ci = find_child(&n.p[0], "net2", false);
	cr = find_child(&n.p[1], "net2", false);
	assert_non_null(ci);
	assert_non_null(cr);
	assert_child_pair(ci, cr);
	ts_is(&ci->tsl, "10.2.0.0", "10.2.0.255");
	ts_is(&ci->tsr, "10.3.0.0", "10.3.0.255");
	/* new keys, not those of the first child */
	assert_memory_not_equal(ci->ek_out, n.p[0].ch[0].ek_out, ci->el);

	/* and one initiated by the original responder */
	assert_int_equal(engine_child_create(n.p[1].eng, rspi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 3);
	assert_int_equal(n.p[1].nch, 3);
	assert_child_pair(&n.p[0].ch[2], &n.p[1].ch[2]);

	/* liveness both ways */
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(engine_liveness(n.p[1].eng, rspi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->req.kind, IKE_REQ_NONE);
	assert_int_equal(engine_sa_find(n.p[1].eng, rspi)->req.kind, IKE_REQ_NONE);
	assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 0);

	/* delete the initiator's net2 child */
	assert_int_equal(engine_child_delete(n.p[0].eng, spi, ci->spi_in, n.now), 0);
	net_run(&n, 0);
	assert_true(ci->removed);
	assert_true(cr->removed);
	assert_int_equal(n.p[0].nremoved, 1);
	assert_int_equal(n.p[1].nremoved, 1);
	assert_int_equal(engine_child_delete(n.p[0].eng, spi, ci->spi_in, n.now), -ENOENT);

	/* delete the IKE SA: both sides drop it and the remaining children */
	rsa = resp_sa(&n, spi);
	assert_non_null(rsa);
	assert_int_equal(engine_ike_delete(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	assert_int_equal(n.p[0].nremoved, 3);
	assert_int_equal(n.p[1].nremoved, 3);
	assert_int_equal(engine_get_stats(n.p[0].eng)->ike_deleted, 1);
	assert_int_equal(engine_get_stats(n.p[1].eng)->ike_deleted, 1);
	net_free(&n);
}

/* Does the initiator's request @nth carry a KE payload? Opened with the
 * responder's inbound keys. */
static bool request_has_ke(struct net *n, uint64_t spi, unsigned int nth)
{
	const struct ike_sa *rsa = resp_sa(n, spi);
	uint8_t buf[2048];
	struct ikev2_msg m;
	size_t len = n->p[0].log_len[nth];

	assert_true(len <= sizeof(buf));
	memcpy(buf, n->p[0].log[nth], len);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, NULL), 0);
	assert_int_equal(m.hdr.exchange, IKEV2_EXCH_CREATE_CHILD_SA);
	assert_int_equal(ikev2_msg_sk_open(&m, &rsa->sk_in, NULL), 0);
	return ikev2_pld_find(&m.inner, IKEV2_PLD_KE, 0) != NULL;
}

/* CREATE_CHILD_SA with a KE method (PFS), both directions. */
static void test_child_pfs(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct child_rec *ci, *cr;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.esp2 = moon.esp2 = "aes256-sha256-ecp256";
	net_init(&n, &sun, &moon, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	/* IKE_AUTH ignores the KE method of net2; net has none anyway */
	assert_established(&n, spi);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_true(request_has_ke(&n, spi, 2));
	ci = find_child(&n.p[0], "net2", false);
	cr = find_child(&n.p[1], "net2", false);
	assert_non_null(ci);
	assert_non_null(cr);
	assert_child_pair(ci, cr);
	assert_int_equal(ci->il, 32);
	/* from the responder's side too */
	assert_int_equal(engine_child_create(n.p[1].eng, resp_sa(&n, spi)->rspi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 3);
	assert_child_pair(&n.p[0].ch[2], &n.p[1].ch[2]);
	net_free(&n);
}

/* The responder wants another PFS group: INVALID_KE_PAYLOAD, one retry. */
static void test_child_pfs_retry(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.esp2 = "aes256-sha256-x25519-ecp256";
	moon.esp2 = "aes256-sha256-ecp256";
	net_init(&n, &sun, &moon, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	/* INIT, AUTH, CREATE_CHILD_SA (x25519), CREATE_CHILD_SA (ecp256) */
	assert_int_equal(n.p[0].nsent, 4);
	assert_true(request_has_ke(&n, spi, 3));
	assert_int_equal(n.p[0].nch, 2);
	assert_int_equal(n.p[1].nch, 2);
	assert_child_pair(&n.p[0].ch[1], &n.p[1].ch[1]);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->req.kind, IKE_REQ_NONE);
	net_free(&n);
}

/* PFS required by one side only: refused, the IKE SA stays. */
static void test_child_pfs_mismatch(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.esp2 = "aes256-sha256";
	moon.esp2 = "aes256-sha256-ecp256";
	net_init(&n, &sun, &moon, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_false(request_has_ke(&n, spi, 2));
	assert_int_equal(n.p[0].nch, 1);
	assert_int_equal(n.p[1].nch, 1);
	assert_int_equal(n.p[0].nsent, 3);
	assert_established(&n, spi);
	net_free(&n);
}

/* A child the responder cannot accept leaves the IKE SA up. */
static void test_child_ts_unacceptable(void **state)
{
	struct cfg sun = sun_default;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.local_ts2 = "172.16.0.0/24";
	net_init(&n, &sun, &moon_default, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 1);
	assert_int_equal(n.p[1].nch, 1);
	assert_established(&n, spi);
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(engine_sa_find(n.p[0].eng, spi)->req.kind, IKE_REQ_NONE);
	net_free(&n);
}

/* The peer vanishes: liveness gives up and deletes the IKE SA. */
static void test_liveness_gives_up(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	n.filter = drop_all_from_initiator;
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 40000);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(n.p[0].nremoved, 1);
	net_free(&n);
}

/* ---- 7. bad input ---- */

/* An encrypted request as the initiator would send it, with a copy of its
 * keys (its IV counter moved far ahead so no IV repeats). */
static size_t forge_request_crit(struct net *n, uint64_t spi, uint8_t exch, uint32_t msgid,
				 bool crit, uint8_t *buf, size_t cap)
{
	const struct ike_sa *sa = engine_sa_find(n->p[0].eng, spi);
	struct crypto_sk sk;
	struct ikev2_enc e;
	struct ikev2_hdr h;

	assert_non_null(sa);
	sk = sa->sk_out;
	sk.iv_counter += 1000 + msgid;
	memset(&h, 0, sizeof(h));
	h.ispi = sa->ispi;
	h.rspi = sa->rspi;
	h.exchange = exch;
	h.flags = IKEV2_FLAG_INITIATOR;
	h.msgid = msgid;
	ikev2_msg_begin(&e, buf, cap, &h);
	ikev2_msg_sk_begin(&e, &sk);
	if (crit) {
		ikev2_enc_pld_begin(&e, 99, true);
		ikev2_enc_put32(&e, 0x01020304);
		ikev2_enc_pld_end(&e);
	}
	assert_int_equal(ikev2_msg_finish(&e, &sk), 0);
	crypto_sk_clear(&sk);
	return e.len;
}

static size_t forge_request(struct net *n, uint64_t spi, uint8_t exch, uint32_t msgid, uint8_t *buf,
			    size_t cap)
{
	return forge_request_crit(n, spi, exch, msgid, false, buf, cap);
}

static void inject(struct net *n, int to, const uint8_t *buf, size_t len)
{
	engine_input(n->p[to].eng, buf, len, sa_of(&n->p[to]), sa_of(&n->p[1 - to]), n->now);
}

static void test_bad_input(void **state)
{
	const struct engine_stats *rs;
	uint8_t buf[512], old[512];
	uint64_t spi, dropped, processed;
	const struct ike_sa *isa, *rsa;
	size_t len, old_len;
	struct net n;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	rs = engine_get_stats(n.p[1].eng);
	isa = engine_sa_find(n.p[0].eng, spi);
	rsa = resp_sa(&n, spi);
	/* the IKE_AUTH request (message ID 1) for the replay below */
	old_len = n.p[0].log_len[1];
	memcpy(old, n.p[0].log[1], old_len);

	/* unknown SPIs: dropped without an answer */
	memcpy(buf, old, old_len);
	buf[9] ^= 0x55;
	dropped = rs->rx_dropped;
	inject(&n, 1, buf, old_len);
	assert_int_equal(rs->rx_dropped, dropped + 1);
	assert_int_equal(n.nq, 0);

	/* truncated messages, cut inside the header and inside the payloads */
	inject(&n, 1, old, 20);
	inject(&n, 1, old, old_len - 7);
	assert_int_equal(rs->rx_dropped, dropped + 3);
	assert_int_equal(n.nq, 0);

	/* an IKE_SA_INIT request that is only a header */
	memset(buf, 0, IKEV2_HDR_LEN);
	buf[7] = 1;
	buf[17] = IKEV2_VERSION;
	buf[18] = IKEV2_EXCH_IKE_SA_INIT;
	buf[19] = IKEV2_FLAG_INITIATOR;
	buf[27] = IKEV2_HDR_LEN;
	inject(&n, 1, buf, IKEV2_HDR_LEN);
	assert_int_equal(rs->rx_dropped, dropped + 4);
	assert_int_equal(engine_sa_count(n.p[1].eng), 1);

	/* wrong exchange for the state: IKE_AUTH on an established SA */
	processed = rs->requests_processed;
	len = forge_request(&n, spi, IKEV2_EXCH_IKE_AUTH, isa->next_msgid, buf, sizeof(buf));
	inject(&n, 1, buf, len);
	assert_int_equal(rs->rx_dropped, dropped + 5);
	assert_int_equal(rs->requests_processed, processed);
	assert_int_equal(n.nq, 0);

	/* a forged request with a bad ICV */
	len = forge_request(&n, spi, IKEV2_EXCH_INFORMATIONAL, isa->next_msgid, buf, sizeof(buf));
	buf[len - 1] ^= 1;
	inject(&n, 1, buf, len);
	assert_int_equal(rs->rx_dropped, dropped + 6);
	assert_int_equal(n.nq, 0);

	/* a request from the future (message ID beyond the window) */
	len = forge_request(&n, spi, IKEV2_EXCH_INFORMATIONAL, isa->next_msgid + 5, buf,
			    sizeof(buf));
	inject(&n, 1, buf, len);
	assert_int_equal(rs->rx_dropped, dropped + 7);

	/* two liveness checks, then replay the old IKE_AUTH request */
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(rsa->expect_msgid, 4);
	inject(&n, 1, old, old_len);
	assert_int_equal(rs->rx_dropped, dropped + 8);
	assert_int_equal(n.nq, 0);
	assert_int_equal(n.p[1].nch, 1);

	/* a stray response matching no request */
	memcpy(buf, n.p[1].log[n.p[1].nsent - 1], n.p[1].log_len[n.p[1].nsent - 1]);
	inject(&n, 0, buf, n.p[1].log_len[n.p[1].nsent - 1]);
	assert_int_equal(engine_get_stats(n.p[0].eng)->rx_dropped, 1);

	/* everything still works */
	assert_established(&n, spi);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 2);
	assert_child_pair(&n.p[0].ch[1], &n.p[1].ch[1]);
	assert_int_equal(engine_get_stats(n.p[0].eng)->retransmits, 0);
	net_free(&n);
}

/* RFC 7296 2.5: unknown critical payloads are refused with
 * UNSUPPORTED_CRITICAL_PAYLOAD naming the type, in IKE_SA_INIT (no state
 * made) and inside SK (the answer is encrypted and moves the window). */
static void test_unsupported_critical(void **state)
{
	const struct engine_stats *rs;
	const struct ike_sa *rsa;
	struct ikev2_notify nt;
	struct ikev2_msg m;
	struct ikev2_hdr h;
	struct ikev2_enc e;
	struct ikev2_pld *p;
	uint8_t buf[512];
	uint32_t expect;
	struct net n;
	uint64_t spi;
	size_t len;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	rs = engine_get_stats(n.p[1].eng);

	memset(&h, 0, sizeof(h));
	h.ispi = 0x1122334455667788ULL;
	h.exchange = IKEV2_EXCH_IKE_SA_INIT;
	h.flags = IKEV2_FLAG_INITIATOR;
	ikev2_msg_begin(&e, buf, sizeof(buf), &h);
	ikev2_enc_pld_begin(&e, 99, true);
	ikev2_enc_put32(&e, 0);
	ikev2_enc_pld_end(&e);
	assert_int_equal(ikev2_msg_finish(&e, NULL), 0);
	inject(&n, 1, buf, e.len);
	assert_int_equal(engine_sa_count(n.p[1].eng), 0);
	assert_int_equal(n.nq, 1);
	assert_int_equal(ikev2_msg_parse(n.q[0].buf, n.q[0].len, &m, NULL), 0);
	assert_true(m.hdr.flags & IKEV2_FLAG_RESPONSE);
	assert_true(m.hdr.ispi == h.ispi);
	p = ikev2_pld_find(&m.plds, IKEV2_PLD_NOTIFY, 0);
	assert_non_null(p);
	assert_int_equal(ikev2_pld_parse_notify(p, &nt, NULL), 0);
	assert_int_equal(nt.type, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);
	assert_int_equal(nt.len, 1);
	assert_int_equal(nt.data[0], 99);
	free(n.q[0].buf);
	n.nq = 0;

	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	rsa = resp_sa(&n, spi);
	expect = rsa->expect_msgid;
	len = forge_request_crit(&n, spi, IKEV2_EXCH_INFORMATIONAL, expect, true, buf, sizeof(buf));
	inject(&n, 1, buf, len);
	assert_int_equal(rsa->expect_msgid, expect + 1);
	assert_int_equal(n.nq, 1);
	/* the answer is sealed with the responder's keys: open it as the initiator */
	memcpy(buf, n.q[0].buf, n.q[0].len);
	assert_int_equal(ikev2_msg_parse(buf, n.q[0].len, &m, NULL), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &engine_sa_find(n.p[0].eng, spi)->sk_in, NULL), 0);
	p = ikev2_pld_find(&m.inner, IKEV2_PLD_NOTIFY, 0);
	assert_non_null(p);
	assert_int_equal(ikev2_pld_parse_notify(p, &nt, NULL), 0);
	assert_int_equal(nt.type, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);
	assert_int_equal(nt.data[0], 99);
	/* the initiator has no request with that ID: it drops the answer */
	net_run(&n, 0);
	assert_int_equal(engine_get_stats(n.p[0].eng)->rx_dropped, 1);
	assert_int_equal(rs->requests_processed, 2);
	/* the SA keeps working (the responder's direction, whose IDs are untouched) */
	assert_int_equal(engine_liveness(n.p[1].eng, rsa->rspi, n.now), 0);
	net_run(&n, 0);
	assert_int_equal(rsa->req.kind, IKE_REQ_NONE);
	assert_established(&n, spi);
	net_free(&n);
}

/* dpd_delay: an idle IKE SA is checked; a dead peer is given up on. */
static void test_dpd(void **state)
{
	struct cfg sun = sun_default;
	struct net n;
	uint64_t spi;

	(void)state;
	sun.conn_extra = "dpd_delay = 30s";
	net_init(&n, &sun, &moon_default, NULL);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	assert_int_equal(n.p[0].nsent, 2);
	assert_true(engine_next_timeout(n.p[0].eng) <= n.now + 30000);
	net_run(&n, 29000);
	assert_int_equal(n.p[0].nsent, 2);
	net_run(&n, 1100);
	assert_int_equal(n.p[0].nsent, 3);
	assert_int_equal(engine_get_stats(n.p[1].eng)->requests_processed, 3);
	assert_established(&n, spi);
	/* the peer goes silent: the next check ends in a give-up */
	n.filter = drop_all_from_initiator;
	net_run(&n, 30000 + 31000 + 1000);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(n.p[0].nremoved, 1);
	net_free(&n);
}

/* The daemon's SPI allocator (XFRM_MSG_ALLOCSPI) is used for inbound SPIs. */
static void test_alloc_spi(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	net_init_spi(&n, &sun_default, &moon_default, NULL, 0xc0000001);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	assert_established(&n, spi);
	assert_int_equal(n.p[1].ch[0].spi_in, 0xc0000001);
	assert_int_equal(n.p[0].ch[0].spi_out, 0xc0000001);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[1].ch[1].spi_in, 0xc0000002);
	assert_child_pair(&n.p[0].ch[1], &n.p[1].ch[1]);
	net_free(&n);
}

/* No key material in the log: capture stderr over a whole SA lifetime and
 * look for every child key (hex, either case) and the SK_* keys. */
static bool hex_in(const char *text, const uint8_t *key, size_t len)
{
	char lo[2 * 8 + 1], up[2 * 8 + 1];
	size_t i, n = len < 8 ? len : 8;

	for (i = 0; i < n; i++) {
		snprintf(lo + 2 * i, 3, "%02x", key[i]);
		snprintf(up + 2 * i, 3, "%02X", key[i]);
	}
	return n && (strstr(text, lo) || strstr(text, up));
}

static void test_no_keys_in_log(void **state)
{
	struct cfg sun = sun_default, moon = moon_default;
	struct crypto_ike_keys ik;
	char text[65536], spi_txt[16];
	FILE *f = tmpfile();
	int saved, i;
	size_t len;
	struct net n;
	uint64_t spi;

	(void)state;
	assert_non_null(f);
	sun.ike = moon.ike = "aes128-sha256-modp2048";
	sun.esp = moon.esp = "aes256-sha256";
	net_init(&n, &sun, &moon, NULL);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), 2) >= 0);
	spi = net_up(&n, NULL);
	net_run(&n, 0);
	ik = engine_sa_find(n.p[0].eng, spi)->keys;
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(engine_ike_delete(n.p[0].eng, spi, n.now), 0);
	net_run(&n, 0);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	text[len] = '\0';
	fclose(f);
	/* the capture worked: the child SPIs are there */
	snprintf(spi_txt, sizeof(spi_txt), "0x%08x", n.p[0].ch[0].spi_in);
	assert_non_null(strstr(text, spi_txt));
	assert_int_equal(n.p[0].nch, 2);
	for (i = 0; i < 2; i++) {
		const struct child_rec *c = &n.p[0].ch[i];

		assert_false(hex_in(text, c->ek_in, c->el));
		assert_false(hex_in(text, c->ek_out, c->el));
		assert_false(hex_in(text, c->ik_in, c->il));
		assert_false(hex_in(text, c->ik_out, c->il));
	}
	assert_false(hex_in(text, ik.sk_d, ik.prf_len));
	assert_false(hex_in(text, ik.sk_ei, ik.encr_len));
	assert_false(hex_in(text, ik.sk_er, ik.encr_len));
	assert_false(hex_in(text, ik.sk_ai, ik.integ_len));
	assert_false(hex_in(text, ik.sk_pi, ik.prf_len));
	assert_false(hex_in(text, (const uint8_t *)"a shared secret", 15));
	assert_null(strstr(text, "a shared secret"));
	crypto_ike_keys_clear(&ik);
	net_free(&n);
}

/* An API call on a SA in the wrong state or unknown. */
static void test_api_errors(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n, &sun_default, &moon_default, NULL);
	assert_int_equal(engine_initiate(n.p[0].eng, "nope", NULL, sa_of(&n.p[0]), sa_of(&n.p[1]),
					 n.now, &spi),
			 -ENOENT);
	assert_int_equal(engine_initiate(n.p[0].eng, "c", "nope", sa_of(&n.p[0]), sa_of(&n.p[1]),
					 n.now, &spi),
			 -ENOENT);
	spi = net_up(&n, NULL);
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), -EAGAIN);
	assert_int_equal(engine_liveness(n.p[0].eng, spi + 1, n.now), -ENOENT);
	net_run(&n, 0);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "nope", n.now), -ENOENT);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_psk_suites),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_wrong_id),
		cmocka_unit_test(test_lost_request),
		cmocka_unit_test(test_lost_response),
		cmocka_unit_test(test_lost_auth_response),
		cmocka_unit_test(test_dup_request),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_half_open_timeout),
		cmocka_unit_test(test_invalid_ke),
		cmocka_unit_test(test_no_common_group),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_cookie_forged),
		cmocka_unit_test(test_cookie_stale_copy),
		cmocka_unit_test(test_child_and_delete),
		cmocka_unit_test(test_child_ts_unacceptable),
		cmocka_unit_test(test_child_pfs),
		cmocka_unit_test(test_child_pfs_retry),
		cmocka_unit_test(test_child_pfs_mismatch),
		cmocka_unit_test(test_liveness_gives_up),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_api_errors),
		cmocka_unit_test(test_unsupported_critical),
		cmocka_unit_test(test_dpd),
		cmocka_unit_test(test_alloc_spi),
		cmocka_unit_test(test_no_keys_in_log),
	};

	log_init("test_ike_inproc", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
