// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_exch.c under bad input (issue 4 item 9): two engines in one
 * process with an established IKE SA, one malformed or hostile datagram per
 * case. Each case checks that the datagram is dropped or answered as RFC 7296
 * says, that a log line names the problem (stderr is captured around the
 * injection), and that the IKE SA still works afterwards (a liveness round
 * trip in both directions and a CREATE_CHILD_SA); ASan/LSan check for leaks.
 *
 *	+-------------------+      queue (mocked)      +-------------------+
 *	| initiator (sun)   | -----------------------> | responder (moon)  |
 *	| 192.0.2.1[500]    | <----------------------- | 192.0.2.2[500]    |
 *	+-------------------+                          +-------------------+
 *	           ^ forged datagrams (inject)             ^
 *
 * Covered elsewhere, not repeated here (selftests/unit/test_ike_inproc.c):
 * test_bad_input (unknown SPIs in a request, cut at 20 bytes and inside the
 * payloads, a header-only IKE_SA_INIT, IKE_AUTH on an established SA, an ICV
 * whose last byte is flipped, a message ID from the future, the old IKE_AUTH
 * request replayed, a stray response) and test_unsupported_critical (an
 * unknown critical payload in IKE_SA_INIT and inside SK).
 *
 * Also here: the SPIs the engine gets from ops.alloc_spi (XFRM_MSG_ALLOCSPI
 * in the daemon) are handed back with ops.release_spi when the child they
 * were meant for is not made, so no larval kernel state is left behind.
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

#define MAX_Q	 32
#define MAX_SPIS 32
#define LOG_CAP	 65536

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
	unsigned int nch, nremoved, nsent;
};

enum spi_st { SPI_ALLOC = 1, SPI_INSTALLED, SPI_RELEASED };

struct net {
	struct peer p[2];
	struct pkt q[MAX_Q];
	unsigned int nq;
	uint64_t now;
	bool hold; /* queue without delivering (the test decides) */
	uint32_t spis[MAX_SPIS];
	enum spi_st spi_st[MAX_SPIS];
	unsigned int nspis, nreleased;
	char log[LOG_CAP];
	int saved_fd;
	FILE *cap;
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

static int spi_idx(struct net *n, uint32_t spi)
{
	unsigned int i;

	for (i = 0; i < n->nspis; i++)
		if (n->spis[i] == spi)
			return (int)i;
	return -1;
}

static int cb_install(void *arg, const struct engine_child *c)
{
	struct peer *p = arg;
	int i = spi_idx(p->net, c->spi_in);

	assert_true(i >= 0);
	assert_int_equal(p->net->spi_st[i], SPI_ALLOC);
	p->net->spi_st[i] = SPI_INSTALLED;
	p->nch++;
	return 0;
}

static void cb_remove(void *arg, const struct engine_child *c)
{
	struct peer *p = arg;
	int i = spi_idx(p->net, c->spi_in);

	assert_true(i >= 0);
	assert_int_equal(p->net->spi_st[i], SPI_INSTALLED);
	p->nremoved++;
}

static int cb_alloc_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			uint32_t *spi)
{
	struct peer *p = arg;
	struct net *n = p->net;

	(void)local;
	(void)remote;
	assert_true(n->nspis < MAX_SPIS);
	*spi = 0xc0000100u + n->nspis;
	n->spis[n->nspis] = *spi;
	n->spi_st[n->nspis++] = SPI_ALLOC;
	return 0;
}

static void cb_release_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			   uint32_t spi)
{
	struct peer *p = arg;
	int i = spi_idx(p->net, spi);

	(void)local;
	(void)remote;
	assert_true(i >= 0);
	assert_int_equal(p->net->spi_st[i], SPI_ALLOC);
	p->net->spi_st[i] = SPI_RELEASED;
	p->net->nreleased++;
}

/* ---- configuration ---- */

static struct conf *make_conf(bool moon, const char *ike, const char *psk, const char *ts2)
{
	char text[2048], err[256];
	struct conf *conf = NULL;
	int rc;

	snprintf(text, sizeof(text),
		 "connections {\n"
		 "  c {\n"
		 "    proposals = %s\n"
		 "    local {\n      auth = psk\n      id = %s\n    }\n"
		 "    remote {\n      auth = psk\n      id = %s\n    }\n"
		 "    children {\n"
		 "      net {\n        esp_proposals = aes128gcm16\n"
		 "        local_ts = %s\n        remote_ts = %s\n      }\n"
		 "      net2 {\n        esp_proposals = aes256-sha256-ecp256\n"
		 "        local_ts = %s\n        remote_ts = %s\n      }\n"
		 "    }\n"
		 "  }\n"
		 "}\n"
		 "secrets {\n  ike-1 {\n    id-1 = sun.example.org\n    id-2 = moon.example.org\n"
		 "    secret = \"%s\"\n  }\n}\n",
		 ike, moon ? "moon.example.org" : "sun.example.org",
		 moon ? "sun.example.org" : "moon.example.org", moon ? "10.2.0.0/24" : "10.1.0.0/16",
		 moon ? "10.1.0.0/16" : "10.2.0.0/24", moon ? "10.3.0.0/24" : ts2,
		 moon ? "10.2.0.0/24" : "10.3.0.0/24", psk);
	rc = conf_load_buf(text, strlen(text), "badinput.conf", CONF_NO_CREDS | CONF_NO_INCLUDE,
			   &conf, err, sizeof(err));
	if (rc)
		fail_msg("config: %s\n%s", err, text);
	return conf;
}

#define IKE_DEFAULT "aes256gcm16-prfsha256-x25519, aes128-sha256-x25519-ecp256-modp2048"

struct setup {
	const char *ike_sun, *ike_moon;
	const char *psk_moon;
	const char *ts2_sun; /* sun's net2 local_ts */
};

static void net_init_with(struct net *n, const struct setup *s)
{
	struct engine_ops ops = { .send = cb_send,
				  .install_child = cb_install,
				  .remove_child = cb_remove,
				  .alloc_spi = cb_alloc_spi,
				  .release_spi = cb_release_spi };
	int i;

	memset(n, 0, sizeof(*n));
	n->now = 1000;
	n->saved_fd = -1;
	for (i = 0; i < 2; i++) {
		struct peer *p = &n->p[i];

		p->net = n;
		p->idx = i;
		p->addr.sin_family = AF_INET;
		p->addr.sin_port = htons(500);
		inet_pton(AF_INET, i ? "192.0.2.2" : "192.0.2.1", &p->addr.sin_addr);
		p->conf = make_conf(i, i ? s->ike_moon : s->ike_sun,
				    i && s->psk_moon ? s->psk_moon : "a shared secret",
				    s->ts2_sun ? s->ts2_sun : "10.2.0.0/24");
		ops.arg = p;
		assert_int_equal(engine_new(p->conf, &ops, NULL, &p->eng), 0);
	}
}

static void net_init(struct net *n)
{
	const struct setup s = { IKE_DEFAULT, IKE_DEFAULT, NULL, NULL };

	net_init_with(n, &s);
}

static void net_drop_queue(struct net *n)
{
	unsigned int i;

	for (i = 0; i < n->nq; i++)
		free(n->q[i].buf);
	n->nq = 0;
}

/* Frees everything; every SPI from alloc_spi was installed or released. */
static void net_free(struct net *n)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		engine_free(n->p[i].eng);
		conf_free(n->p[i].conf);
	}
	net_drop_queue(n);
	for (i = 0; i < n->nspis; i++)
		if (n->spi_st[i] == SPI_ALLOC)
			fail_msg("SPI 0x%08x allocated, never used nor released", n->spis[i]);
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

		assert_true(++guard < 200);
		memmove(&n->q[0], &n->q[1], (n->nq - 1) * sizeof(n->q[0]));
		n->nq--;
		engine_input(n->p[q.to].eng, q.buf, q.len, sa_of(&n->p[q.to]),
			     sa_of(&n->p[1 - q.to]), n->now);
		free(q.buf);
	}
}

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

static void inject(struct net *n, int to, const uint8_t *buf, size_t len)
{
	engine_input(n->p[to].eng, buf, len, sa_of(&n->p[to]), sa_of(&n->p[1 - to]), n->now);
}

static const struct ike_sa *isa_of(struct net *n, uint64_t spi)
{
	const struct ike_sa *sa = engine_sa_find(n->p[0].eng, spi);

	assert_non_null(sa);
	return sa;
}

static const struct ike_sa *rsa_of(struct net *n, uint64_t spi)
{
	const struct ike_sa *sa = engine_sa_find(n->p[1].eng, isa_of(n, spi)->rspi);

	assert_non_null(sa);
	return sa;
}

static uint64_t net_up(struct net *n)
{
	uint64_t spi = 0;

	assert_int_equal(engine_initiate(n->p[0].eng, "c", NULL, sa_of(&n->p[0]), sa_of(&n->p[1]),
					 n->now, &spi),
			 0);
	net_run(n, 0);
	assert_int_equal(isa_of(n, spi)->state, IKE_ST_ESTABLISHED);
	assert_int_equal(rsa_of(n, spi)->state, IKE_ST_ESTABLISHED);
	return spi;
}

/* The IKE SA still works: liveness both ways, then a new child (PFS). */
static void assert_sa_works(struct net *n, uint64_t spi)
{
	unsigned int nch0 = n->p[0].nch, nch1 = n->p[1].nch;

	assert_int_equal(n->nq, 0);
	assert_int_equal(engine_liveness(n->p[0].eng, spi, n->now), 0);
	net_run(n, 0);
	assert_int_equal(isa_of(n, spi)->req.kind, IKE_REQ_NONE);
	assert_int_equal(engine_liveness(n->p[1].eng, isa_of(n, spi)->rspi, n->now), 0);
	net_run(n, 0);
	assert_int_equal(rsa_of(n, spi)->req.kind, IKE_REQ_NONE);
	assert_int_equal(engine_child_create(n->p[0].eng, spi, "net2", n->now), 0);
	net_run(n, 0);
	assert_int_equal(n->p[0].nch, nch0 + 1);
	assert_int_equal(n->p[1].nch, nch1 + 1);
	assert_int_equal(isa_of(n, spi)->state, IKE_ST_ESTABLISHED);
	assert_int_equal(rsa_of(n, spi)->state, IKE_ST_ESTABLISHED);
}

/* ---- log capture: stderr into a temporary file ---- */

static void log_begin(struct net *n)
{
	fflush(stderr);
	n->cap = tmpfile();
	assert_non_null(n->cap);
	n->saved_fd = dup(2);
	assert_true(n->saved_fd >= 0);
	assert_true(dup2(fileno(n->cap), 2) >= 0);
}

/* Stops capturing; the text is in n->log (and echoed for the test log). */
static void log_end(struct net *n)
{
	size_t len;

	fflush(stderr);
	assert_true(dup2(n->saved_fd, 2) >= 0);
	close(n->saved_fd);
	n->saved_fd = -1;
	rewind(n->cap);
	len = fread(n->log, 1, sizeof(n->log) - 1, n->cap);
	n->log[len] = '\0';
	fclose(n->cap);
	n->cap = NULL;
	fputs(n->log, stderr);
}

#define assert_logged(n, text)                                                    \
	do {                                                                      \
		if (!strstr((n)->log, (text)))                                    \
			fail_msg("log has no \"%s\":\n%s", (text), (n)->log);     \
	} while (0)

/* Inject one datagram to @to with the log captured; the expected reason
 * must be in it and @to's dropped counter must move by @dropped. */
static void inject_expect(struct net *n, int to, const uint8_t *buf, size_t len,
			  uint64_t dropped, const char *why)
{
	const struct engine_stats *st = engine_get_stats(n->p[to].eng);
	uint64_t before = st->rx_dropped;

	log_begin(n);
	inject(n, to, buf, len);
	log_end(n);
	assert_int_equal(st->rx_dropped - before, dropped);
	if (why)
		assert_logged(n, why);
}

/* ---- forging ---- */

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/*
 * HDR, SK {raw inner chain} from peer @from's side of IKE SA @spi to the
 * other peer, sealed with a copy of @from's keys (IV counter far ahead so
 * no IV repeats). @first: type of the first inner payload.
 */
static size_t forge_sk(struct net *n, uint64_t spi, int from, uint8_t exch, bool response,
		       uint32_t msgid, uint8_t first, const uint8_t *inner, size_t inner_len,
		       uint8_t *buf, size_t cap)
{
	const struct ike_sa *sa = from ? rsa_of(n, spi) : isa_of(n, spi);
	struct crypto_sk sk;
	struct ikev2_enc e;
	struct ikev2_hdr h;

	sk = sa->sk_out;
	sk.iv_counter += 100000 + msgid;
	memset(&h, 0, sizeof(h));
	h.ispi = sa->ispi;
	h.rspi = sa->rspi;
	h.exchange = exch;
	h.flags = (from ? 0 : IKEV2_FLAG_INITIATOR) | (response ? IKEV2_FLAG_RESPONSE : 0);
	h.msgid = msgid;
	ikev2_msg_begin(&e, buf, cap, &h);
	ikev2_msg_sk_begin(&e, &sk);
	assert_int_equal(ikev2_enc_error(&e), 0);
	e.buf[e.np_off] = inner_len ? first : IKEV2_PLD_NONE;
	e.np_off = SIZE_MAX;
	ikev2_enc_put(&e, inner, inner_len);
	assert_int_equal(ikev2_msg_finish(&e, &sk), 0);
	crypto_sk_clear(&sk);
	return e.len;
}

/* A request from the initiator with the message ID the responder expects. */
static size_t forge_req(struct net *n, uint64_t spi, uint8_t exch, uint8_t first,
			const uint8_t *inner, size_t inner_len, uint8_t *buf, size_t cap)
{
	return forge_sk(n, spi, 0, exch, false, rsa_of(n, spi)->expect_msgid, first, inner,
			inner_len, buf, cap);
}

/* The responder answered a request forged with the initiator's next
 * message ID: the initiator must not use that ID again, as if it had sent
 * the request itself (the engine exposes its SAs read-only; tests only). */
static void msgid_consumed(struct net *n, uint64_t spi)
{
	struct ike_sa *sa = (struct ike_sa *)(uintptr_t)isa_of(n, spi);

	assert_int_equal(sa->next_msgid, rsa_of(n, spi)->expect_msgid - 1);
	sa->next_msgid++;
}

/* The responder's answer to our forged request: open it with the
 * initiator's keys; returns the first notify type in it (0: none). */
static uint16_t open_answer(struct net *n, uint64_t spi, int *npld)
{
	struct ikev2_notify nt;
	struct ikev2_msg m;
	struct ikev2_pld *p;
	uint8_t buf[2048];

	assert_int_equal(n->nq, 1);
	assert_int_equal(n->q[0].to, 0);
	assert_true(n->q[0].len <= sizeof(buf));
	memcpy(buf, n->q[0].buf, n->q[0].len);
	assert_int_equal(ikev2_msg_parse(buf, n->q[0].len, &m, NULL), 0);
	assert_true(m.hdr.flags & IKEV2_FLAG_RESPONSE);
	assert_int_equal(ikev2_msg_sk_open(&m, &isa_of(n, spi)->sk_in, NULL), 0);
	net_drop_queue(n);
	if (npld)
		*npld = (int)m.inner.n;
	p = ikev2_pld_find(&m.inner, IKEV2_PLD_NOTIFY, 0);
	if (!p)
		return 0;
	assert_int_equal(ikev2_pld_parse_notify(p, &nt, NULL), 0);
	return nt.type;
}

/* The unencrypted answer to a forged IKE_SA_INIT: its notify type. */
static uint16_t init_answer(struct net *n)
{
	struct ikev2_notify nt;
	struct ikev2_msg m;
	struct ikev2_pld *p;
	uint8_t buf[2048];
	uint16_t type;

	assert_int_equal(n->nq, 1);
	memcpy(buf, n->q[0].buf, n->q[0].len);
	assert_int_equal(ikev2_msg_parse(buf, n->q[0].len, &m, NULL), 0);
	assert_true(m.hdr.flags & IKEV2_FLAG_RESPONSE);
	assert_true(m.hdr.rspi == 0);
	p = ikev2_pld_find(&m.plds, IKEV2_PLD_NOTIFY, 0);
	assert_non_null(p);
	assert_int_equal(ikev2_pld_parse_notify(p, &nt, NULL), 0);
	type = nt.type;
	net_drop_queue(n);
	return type;
}

/* A valid X25519 public value (the base point). */
static const uint8_t ke32[32] = { 9 };

/*
 * An IKE_SA_INIT request: SA (one IKE proposal for @group), KE (@group,
 * @ke_len bytes of @ke), Nonce. Built by hand so the KE can be anything.
 */
static size_t forge_init(uint16_t group, const uint8_t *ke, size_t ke_len, uint8_t *buf,
			 size_t cap)
{
	struct ikev2_enc e;
	struct ikev2_hdr h;
	struct ikev2_sa sa;
	uint8_t nonce[32];

	memset(&h, 0, sizeof(h));
	h.ispi = 0x0badc0de00000001ULL + group;
	h.exchange = IKEV2_EXCH_IKE_SA_INIT;
	h.flags = IKEV2_FLAG_INITIATOR;
	memset(&sa, 0, sizeof(sa));
	sa.n_props = 1;
	sa.props[0].num = 1;
	sa.props[0].proto = IKEV2_PROTO_IKE;
	sa.props[0].n_xforms = 4;
	sa.props[0].xforms[0].type = IKEV2_XFORM_ENCR;
	sa.props[0].xforms[0].id = IKEV2_ENCR_AES_CBC;
	sa.props[0].xforms[0].keylen = 128;
	sa.props[0].xforms[1].type = IKEV2_XFORM_PRF;
	sa.props[0].xforms[1].id = IKEV2_PRF_HMAC_SHA2_256;
	sa.props[0].xforms[2].type = IKEV2_XFORM_INTEG;
	sa.props[0].xforms[2].id = IKEV2_INTEG_HMAC_SHA2_256_128;
	sa.props[0].xforms[3].type = IKEV2_XFORM_DH;
	sa.props[0].xforms[3].id = group;
	memset(nonce, 0x5a, sizeof(nonce));
	ikev2_msg_begin(&e, buf, cap, &h);
	ikev2_enc_sa(&e, &sa);
	ikev2_enc_ke(&e, group, ke, ke_len);
	ikev2_enc_nonce(&e, nonce, sizeof(nonce));
	assert_int_equal(ikev2_msg_finish(&e, NULL), 0);
	return e.len;
}

/* ---- 1. truncation and lengths ---- */

/* Datagrams shorter than the header, and headers whose length field
 * disagrees with the datagram (longer, shorter, below the header size):
 * dropped without an answer (2.21.1: no state, no reply to garbage). */
static void test_lengths_header_vs_datagram(void **state)
{
	uint8_t init[2048], buf[2100];
	size_t len;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	len = forge_init(IKEV2_DH_CURVE25519, ke32, sizeof(ke32), init, sizeof(init));
	inject_expect(&n, 1, init, 0, 1, "truncated message (0 bytes)");
	inject_expect(&n, 1, init, 1, 1, "truncated message (1 bytes)");
	inject_expect(&n, 1, init, IKEV2_HDR_LEN - 1, 1, "truncated message (27 bytes)");
	/* header says 100 bytes more than arrived */
	memcpy(buf, init, len);
	put32(buf + 24, (uint32_t)len + 100);
	inject_expect(&n, 1, buf, len, 1, "header length differs from datagram length");
	/* header says less than arrived: trailing bytes */
	memcpy(buf, init, len);
	memset(buf + len, 0, 16);
	inject_expect(&n, 1, buf, len + 16, 1, "header length differs from datagram length");
	/* header length below the header's own size */
	memcpy(buf, init, len);
	put32(buf + 24, 20);
	inject_expect(&n, 1, buf, len, 1, "malformed IKE_SA_INIT");
	assert_int_equal(n.nq, 0);
	assert_int_equal(engine_sa_count(n.p[1].eng), 1);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 0);
	assert_sa_works(&n, spi);
	net_free(&n);
}

/* ---- 2. payload chains ---- */

/*
 * Payload lengths that run past the end, that are below the generic header
 * (0 would make a naive parser loop on the same payload forever), and a
 * chain whose last payload names a next one that is not there: in
 * cleartext IKE_SA_INIT dropped without state; inside an authentic SK
 * payload answered with INVALID_SYNTAX (3.10.1), which moves the window.
 */
static void test_payload_chains(void **state)
{
	static const uint16_t bad_len[] = { 0, 1, 3, 0x7fff };
	static const char *const bad_why[] = { "payload length below minimum",
					       "payload length below minimum",
					       "payload length below minimum",
					       "payload runs past the end" };
	uint8_t init[2048], buf[2100], inner[64];
	const struct ike_sa *rsa;
	uint32_t expect;
	size_t len, off, i;
	struct net n;
	uint64_t spi;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	rsa = rsa_of(&n, spi);
	len = forge_init(IKEV2_DH_CURVE25519, ke32, sizeof(ke32), init, sizeof(init));
	/* the first payload (SA) header is at 28; its length at 30 */
	for (i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		memcpy(buf, init, len);
		buf[30] = bad_len[i] >> 8;
		buf[31] = bad_len[i] & 0xff;
		inject_expect(&n, 1, buf, len, 1, bad_why[i]);
	}
	/* the last payload (Nonce) says another one follows */
	memcpy(buf, init, len);
	for (off = IKEV2_HDR_LEN; off + 4 < len;)
		off += (size_t)buf[off + 2] << 8 | buf[off + 3];
	assert_int_equal(off, len);
	off = IKEV2_HDR_LEN;
	while (off + ((size_t)buf[off + 2] << 8 | buf[off + 3]) < len)
		off += (size_t)buf[off + 2] << 8 | buf[off + 3];
	buf[off] = IKEV2_PLD_NOTIFY;
	inject_expect(&n, 1, buf, len, 1, "truncated message");
	assert_int_equal(n.nq, 0);
	assert_int_equal(engine_half_open_count(n.p[1].eng), 0);

	/* inside SK: a Notify whose length runs past the end, one of length 0,
	 * and a chain that promises one more payload */
	memset(inner, 0, sizeof(inner));
	for (i = 0; i < 3; i++) {
		size_t ilen = 8;

		inner[0] = i == 2 ? IKEV2_PLD_NOTIFY : IKEV2_PLD_NONE;
		inner[2] = 0;
		inner[3] = i == 0 ? 40 : i == 1 ? 0 : 8;
		inner[6] = IKEV2_N_INITIAL_CONTACT >> 8; /* a status notify */
		inner[7] = IKEV2_N_INITIAL_CONTACT & 0xff;
		expect = rsa->expect_msgid;
		len = forge_req(&n, spi, IKEV2_EXCH_INFORMATIONAL, IKEV2_PLD_NOTIFY, inner, ilen,
				buf, sizeof(buf));
		inject_expect(&n, 1, buf, len, 1, "answering INVALID_SYNTAX");
		assert_int_equal(rsa->expect_msgid, expect + 1);
		assert_int_equal(open_answer(&n, spi, NULL), IKEV2_N_INVALID_SYNTAX);
		msgid_consumed(&n, spi);
	}
	assert_sa_works(&n, spi);
	net_free(&n);
}

/* An unknown payload without the critical bit is skipped (2.5): the
 * request is handled as if it were not there (an empty INFORMATIONAL
 * answer). The critical case: test_ike_inproc.c test_unsupported_critical. */
static void test_unknown_noncritical(void **state)
{
	uint8_t buf[512], inner[8] = { 0, 0, 0, 8, 1, 2, 3, 4 };
	const struct ike_sa *rsa;
	uint32_t expect;
	struct net n;
	uint64_t spi;
	size_t len;
	int npld;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	rsa = rsa_of(&n, spi);
	expect = rsa->expect_msgid;
	len = forge_req(&n, spi, IKEV2_EXCH_INFORMATIONAL, 200, inner, sizeof(inner), buf,
			sizeof(buf));
	inject_expect(&n, 1, buf, len, 0, NULL);
	assert_int_equal(rsa->expect_msgid, expect + 1);
	assert_int_equal(open_answer(&n, spi, &npld), 0);
	assert_int_equal(npld, 0);
	msgid_consumed(&n, spi);
	assert_sa_works(&n, spi);
	net_free(&n);
}

/* ---- 3. exchange types ---- */

/* Requests that the state does not allow: CREATE_CHILD_SA and
 * INFORMATIONAL before IKE_AUTH (authentic, sealed with the half-open SA's
 * keys), an exchange type that does not exist on an established SA, and an
 * IKE_SA_INIT request carrying a responder SPI. All dropped (1.2: nothing
 * but IKE_AUTH may follow IKE_SA_INIT); IKE_AUTH then completes normally.
 * IKE_AUTH on an established SA: test_ike_inproc.c test_bad_input. */
static void test_wrong_exchange(void **state)
{
	uint8_t buf[2048], auth[2048];
	struct pkt held;
	struct net n;
	uint64_t spi;
	size_t len;

	(void)state;
	net_init(&n);
	assert_int_equal(engine_initiate(n.p[0].eng, "c", NULL, sa_of(&n.p[0]), sa_of(&n.p[1]),
					 n.now, &spi),
			 0);
	/* deliver IKE_SA_INIT both ways; hold the IKE_AUTH request */
	held = n.q[0];
	n.nq = 0;
	inject(&n, 1, held.buf, held.len);
	free(held.buf);
	held = n.q[0];
	n.nq = 0;
	inject(&n, 0, held.buf, held.len);
	free(held.buf);
	assert_int_equal(n.nq, 1);
	held = n.q[0];
	n.nq = 0;
	assert_int_equal(rsa_of(&n, spi)->state, IKE_ST_HALF_OPEN);

	len = forge_sk(&n, spi, 0, IKEV2_EXCH_CREATE_CHILD_SA, false, 1, 0, NULL, 0, buf,
		       sizeof(buf));
	inject_expect(&n, 1, buf, len, 1, "CREATE_CHILD_SA request (message ID 1) not valid in "
					  "state HALF_OPEN");
	len = forge_sk(&n, spi, 0, IKEV2_EXCH_INFORMATIONAL, false, 1, 0, NULL, 0, buf,
		       sizeof(buf));
	inject_expect(&n, 1, buf, len, 1, "not valid in state HALF_OPEN");
	assert_int_equal(n.nq, 0);
	assert_int_equal(rsa_of(&n, spi)->state, IKE_ST_HALF_OPEN);
	memcpy(auth, held.buf, held.len);
	inject(&n, 1, auth, held.len);
	free(held.buf);
	net_run(&n, 0);
	assert_int_equal(isa_of(&n, spi)->state, IKE_ST_ESTABLISHED);

	/* exchange type 99 on the established SA */
	len = forge_req(&n, spi, 99, 0, NULL, 0, buf, sizeof(buf));
	inject_expect(&n, 1, buf, len, 1, "not valid in state ESTABLISHED");
	/* IKE_SA_INIT "request" with both SPIs of the live SA */
	len = forge_init(IKEV2_DH_CURVE25519, ke32, sizeof(ke32), buf, sizeof(buf));
	put64(buf, isa_of(&n, spi)->ispi);
	put64(buf + 8, isa_of(&n, spi)->rspi);
	inject_expect(&n, 1, buf, len, 1, "unexpected IKE_SA_INIT request");
	assert_int_equal(n.nq, 0);
	assert_sa_works(&n, spi);
	net_free(&n);
}

/* ---- 4. key exchange payloads ---- */

struct ke_case {
	const char *what;
	uint16_t group;
	size_t len;
	uint8_t fill; /* every byte */
	uint8_t first; /* byte 0 after the fill */
};

/*
 * IKE_SA_INIT requests whose KE data is the wrong length for the group
 * (3.4: MODP values are exactly the modulus length; ECP and X25519 have a
 * fixed size), not a point on the curve, a low-order X25519 point, or
 * outside 1 < y < p-1 for MODP (RFC 6989): answered with an unauthenticated
 * INVALID_SYNTAX (3.10.1, 2.21.1), no half-open SA kept.
 */
static void test_ke_invalid(void **state)
{
	static const struct ke_case cases[] = {
		{ "x25519 31 bytes", IKEV2_DH_CURVE25519, 31, 9, 9 },
		{ "x25519 33 bytes", IKEV2_DH_CURVE25519, 33, 9, 9 },
		{ "x25519 all zero (low order)", IKEV2_DH_CURVE25519, 32, 0, 0 },
		{ "x25519 point of order 1 (u = 1)", IKEV2_DH_CURVE25519, 32, 0, 1 },
		{ "ecp256 not on the curve", IKEV2_DH_ECP_256, 64, 0x11, 0x11 },
		{ "ecp256 63 bytes", IKEV2_DH_ECP_256, 63, 0x11, 0x11 },
		{ "modp2048 y = 1", IKEV2_DH_MODP_2048, 256, 0, 0 },
		{ "modp2048 y > p - 1 (all 0xff)", IKEV2_DH_MODP_2048, 256, 0xff, 0xff },
		{ "modp2048 255 bytes", IKEV2_DH_MODP_2048, 255, 0x22, 0x22 },
	};
	uint8_t ke[300], buf[2048];
	struct net n;
	uint64_t spi;
	size_t i, len;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ke_case *c = &cases[i];

		print_message("# %s\n", c->what);
		memset(ke, c->fill, c->len);
		ke[0] = c->first;
		if (c->group == IKEV2_DH_MODP_2048 && c->fill == 0)
			ke[c->len - 1] = 1;
		len = forge_init(c->group, ke, c->len, buf, sizeof(buf));
		log_begin(&n);
		inject(&n, 1, buf, len);
		log_end(&n);
		assert_logged(&n, "answering INVALID_SYNTAX");
		assert_int_equal(init_answer(&n), IKEV2_N_INVALID_SYNTAX);
		assert_int_equal(engine_half_open_count(n.p[1].eng), 0);
		assert_int_equal(engine_sa_count(n.p[1].eng), 1);
	}
	assert_sa_works(&n, spi);
	net_free(&n);
}

/* The same inside CREATE_CHILD_SA (PFS, ecp256): the KE is not on the
 * curve; the responder answers INVALID_SYNTAX in the encrypted response
 * and makes no child; the initiator's request completes without one. */
static void test_ke_invalid_create_child(void **state)
{
	uint8_t buf[2048], pt[2048];
	struct ikev2_msg m;
	struct ikev2_pld *ke;
	struct net n;
	uint64_t spi;
	size_t len, i;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	assert_int_equal(n.nq, 1);
	/* open the request with the responder's keys, spoil the KE, seal again */
	len = n.q[0].len;
	memcpy(pt, n.q[0].buf, len);
	net_drop_queue(&n);
	assert_int_equal(ikev2_msg_parse(pt, len, &m, NULL), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &rsa_of(&n, spi)->sk_in, NULL), 0);
	ke = ikev2_pld_find(&m.inner, IKEV2_PLD_KE, 0);
	assert_non_null(ke);
	for (i = 4; i < ke->len; i++)
		ke->body[i] = 0x11;
	{
		const uint8_t *first = m.inner.pld[0].body - IKEV2_PLD_HDR_LEN;
		const struct ikev2_pld *last = &m.inner.pld[m.inner.n - 1];
		size_t ilen = (size_t)(last->body + last->len - first);

		len = forge_sk(&n, spi, 0, IKEV2_EXCH_CREATE_CHILD_SA, false, m.hdr.msgid,
			       m.sk_next, first, ilen, buf, sizeof(buf));
	}
	log_begin(&n);
	inject(&n, 1, buf, len);
	log_end(&n);
	assert_logged(&n, "invalid KE payload");
	assert_int_equal(n.nq, 1);
	{
		uint8_t a[2048];
		struct ikev2_notify nt;
		struct ikev2_pld *p;
		struct ikev2_msg r;

		memcpy(a, n.q[0].buf, n.q[0].len);
		assert_int_equal(ikev2_msg_parse(a, n.q[0].len, &r, NULL), 0);
		assert_int_equal(ikev2_msg_sk_open(&r, &isa_of(&n, spi)->sk_in, NULL), 0);
		p = ikev2_pld_find(&r.inner, IKEV2_PLD_NOTIFY, 0);
		assert_non_null(p);
		assert_int_equal(ikev2_pld_parse_notify(p, &nt, NULL), 0);
		assert_int_equal(nt.type, IKEV2_N_INVALID_SYNTAX);
	}
	/* the answer goes to the initiator, whose request it answers */
	net_run(&n, 0);
	assert_int_equal(isa_of(&n, spi)->req.kind, IKE_REQ_NONE);
	assert_int_equal(n.p[0].nch, 1);
	assert_int_equal(n.p[1].nch, 1);
	assert_sa_works(&n, spi);
	net_free(&n);
}

/* ---- 5. SPIs, message IDs, integrity ---- */

/*
 * 2.21.4: a message for an IKE SA we do not know. A response must not be
 * answered; for a request INVALID_IKE_SPI is only a MAY, and xiked drops
 * (no unauthenticated traffic for a flood of garbage). An unprotected
 * INFORMATIONAL carrying N(INVALID_IKE_SPI) with the live SA's SPIs is not
 * authentic: it changes nothing. (An unknown SPI in a request:
 * test_ike_inproc.c test_bad_input.)
 */
static void test_unknown_spi(void **state)
{
	uint8_t buf[512];
	struct ikev2_enc e;
	struct ikev2_hdr h;
	struct net n;
	uint64_t spi;
	size_t len;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	len = forge_sk(&n, spi, 1, IKEV2_EXCH_INFORMATIONAL, true, 7, 0, NULL, 0, buf,
		       sizeof(buf));
	buf[0] ^= 0x80; /* SPIi nobody has */
	inject_expect(&n, 0, buf, len, 1, "no IKE SA for SPIs");
	len = forge_sk(&n, spi, 1, IKEV2_EXCH_INFORMATIONAL, false, 7, 0, NULL, 0, buf,
		       sizeof(buf));
	buf[8] ^= 0x80;
	inject_expect(&n, 0, buf, len, 1, "no IKE SA for SPIs");
	assert_int_equal(n.nq, 0);

	memset(&h, 0, sizeof(h));
	h.ispi = isa_of(&n, spi)->ispi;
	h.rspi = isa_of(&n, spi)->rspi;
	h.exchange = IKEV2_EXCH_INFORMATIONAL;
	h.msgid = rsa_of(&n, spi)->next_msgid;
	ikev2_msg_begin(&e, buf, sizeof(buf), &h);
	ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, IKEV2_N_INVALID_IKE_SPI, NULL, 0);
	assert_int_equal(ikev2_msg_finish(&e, NULL), 0);
	inject_expect(&n, 0, buf, e.len, 1, "without SK payload, dropped");
	assert_int_equal(n.nq, 0);
	assert_sa_works(&n, spi);
	net_free(&n);
}

/*
 * Replays (2.1, 2.2): the responder's last request again gets the cached
 * answer, not a second execution; an older request (its ID below the
 * window) is dropped; a response replayed after its request completed is
 * dropped by the initiator. (The IKE_AUTH request replayed later:
 * test_ike_inproc.c test_bad_input.)
 */
static void test_replay(void **state)
{
	uint8_t req1[512], req2[512], resp[512];
	size_t req1_len, req2_len, resp_len;
	const struct engine_stats *rs;
	struct net n;
	uint64_t spi, processed;
	unsigned int ch1;

	(void)state;
	net_init(&n);
	spi = net_up(&n);
	rs = engine_get_stats(n.p[1].eng);
	/* a liveness request, then a child delete request; keep copies */
	assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
	req1_len = n.q[0].len;
	memcpy(req1, n.q[0].buf, req1_len);
	net_run(&n, 0);
	assert_int_equal(engine_child_delete(n.p[0].eng, spi, 0xc0000100u, n.now), 0);
	req2_len = n.q[0].len;
	memcpy(req2, n.q[0].buf, req2_len);
	net_deliver(&n);
	assert_int_equal(n.p[1].nremoved, 1);
	/* responder never saw these as new: answer from the cache only */
	processed = rs->requests_processed;
	ch1 = n.p[1].nremoved;
	log_begin(&n);
	inject(&n, 1, req2, req2_len);
	log_end(&n);
	assert_logged(&n, "retransmitted INFORMATIONAL request");
	assert_int_equal(rs->requests_processed, processed);
	assert_int_equal(n.p[1].nremoved, ch1);
	assert_int_equal(n.nq, 1);
	resp_len = n.q[0].len;
	memcpy(resp, n.q[0].buf, resp_len);
	net_drop_queue(&n);
	/* the older request: outside the window */
	inject_expect(&n, 1, req1, req1_len, 1, "outside the window");
	assert_int_equal(n.nq, 0);
	/* the answer again at the initiator, whose request is done */
	inject_expect(&n, 0, resp, resp_len, 1, "matches no request of ours");
	assert_int_equal(n.nq, 0);
	assert_sa_works(&n, spi);
	net_free(&n);
}

/*
 * A tampered SK payload (2.21.2): a flipped bit in the IV, in the
 * ciphertext or in the ICV, for AES-GCM and for AES-CBC + HMAC, in a
 * request and in a response. Dropped silently, no answer; the request's
 * sender retransmits, and the real response then completes it.
 */
static void test_tampered_sk(void **state)
{
	static const char *const suites[] = { "aes256gcm16-prfsha256-x25519",
					      "aes128-sha256-modp2048" };
	uint8_t buf[512];
	size_t s, pos, len;
	struct net n;
	uint64_t spi;

	(void)state;
	for (s = 0; s < 2; s++) {
		const struct setup st = { suites[s], suites[s], NULL, NULL };
		const struct ike_sa *isa;
		size_t at[3];

		net_init_with(&n, &st);
		spi = net_up(&n);
		isa = isa_of(&n, spi);
		/* request: liveness of the initiator, tampered in flight */
		assert_int_equal(engine_liveness(n.p[0].eng, spi, n.now), 0);
		len = n.q[0].len;
		memcpy(buf, n.q[0].buf, len);
		net_drop_queue(&n);
		at[0] = IKEV2_HDR_LEN + IKEV2_PLD_HDR_LEN; /* IV */
		at[1] = len - crypto_sk_icv_len(&isa->sk_out) - 1; /* ciphertext (padding) */
		at[2] = len - 1; /* ICV */
		for (pos = 0; pos < 3; pos++) {
			buf[at[pos]] ^= 0x01;
			inject_expect(&n, 1, buf, len, 1, "dropped");
			assert_logged(&n, "integrity check failed, dropped");
			buf[at[pos]] ^= 0x01;
			assert_int_equal(n.nq, 0);
		}
		/* the untouched request gets through; tamper with the answer */
		inject(&n, 1, buf, len);
		assert_int_equal(n.nq, 1);
		len = n.q[0].len;
		memcpy(buf, n.q[0].buf, len);
		net_drop_queue(&n);
		buf[len - 1] ^= 0x80;
		inject_expect(&n, 0, buf, len, 1, "dropped");
		assert_int_equal(isa->req.kind, IKE_REQ_LIVENESS);
		/* retransmission, answered from the cache, completes it */
		net_run(&n, 1100);
		assert_int_equal(isa->req.kind, IKE_REQ_NONE);
		assert_sa_works(&n, spi);
		net_free(&n);
	}
}

/* ---- 6. SPIs from alloc_spi handed back ---- */

/*
 * No larval kernel state left behind: the inbound SPI of a child that is
 * not made goes back through release_spi, in IKE_AUTH that fails (wrong
 * PSK), in a CREATE_CHILD_SA the peer refuses (TS_UNACCEPTABLE), and in a
 * CREATE_CHILD_SA whose IKE SA dies before the answer (no answer at all).
 * net_free() checks that nothing allocated is left pending.
 */
static void test_spi_released(void **state)
{
	const struct setup wrong_psk = { IKE_DEFAULT, IKE_DEFAULT, "another secret", NULL };
	const struct setup bad_ts = { IKE_DEFAULT, IKE_DEFAULT, NULL, "172.16.0.0/24" };
	uint64_t spi = 0;
	struct net n;

	(void)state;
	net_init_with(&n, &wrong_psk);
	assert_int_equal(engine_initiate(n.p[0].eng, "c", NULL, sa_of(&n.p[0]), sa_of(&n.p[1]),
					 n.now, &spi),
			 0);
	net_run(&n, 0);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(n.nspis, 1); /* the responder failed AUTH before choosing a child */
	assert_int_equal(n.nreleased, 1);
	net_free(&n);

	net_init_with(&n, &bad_ts);
	spi = net_up(&n);
	assert_int_equal(n.nspis, 2);
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net2", n.now), 0);
	net_run(&n, 0);
	assert_int_equal(n.p[0].nch, 1);
	assert_int_equal(n.nspis, 3);
	assert_int_equal(n.spi_st[2], SPI_RELEASED);
	/* the peer goes away with our CREATE_CHILD_SA in flight */
	engine_free(n.p[1].eng);
	conf_free(n.p[1].conf);
	n.p[1].eng = NULL;
	n.p[1].conf = NULL;
	assert_int_equal(engine_child_create(n.p[0].eng, spi, "net", n.now), 0);
	assert_int_equal(n.spi_st[3], SPI_ALLOC);
	net_drop_queue(&n);
	while (engine_sa_count(n.p[0].eng)) {
		n.now += 1000;
		engine_tick(n.p[0].eng, n.now);
		net_drop_queue(&n);
	}
	assert_int_equal(n.spi_st[3], SPI_RELEASED);
	engine_free(n.p[0].eng);
	conf_free(n.p[0].conf);
	n.p[0].eng = NULL;
	n.p[0].conf = NULL;
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths_header_vs_datagram),
		cmocka_unit_test(test_payload_chains),
		cmocka_unit_test(test_unknown_noncritical),
		cmocka_unit_test(test_wrong_exchange),
		cmocka_unit_test(test_ke_invalid),
		cmocka_unit_test(test_ke_invalid_create_child),
		cmocka_unit_test(test_unknown_spi),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_tampered_sk),
		cmocka_unit_test(test_spi_released),
	};

	log_init("test_ike_badinput", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
