// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_exch.c with certificates: two engines in one process, each
 * with a swanctl.conf and x509/ x509ca/ private/ directories written by the
 * test, the network a queue in between (as test_ike_inproc.c).
 *
 *	+-------------------------+   queue (+ filter)   +-------------------------+
 *	| sun 192.0.2.1 initiator | -------------------> | moon 192.0.2.2 responder|
 *	| cert sun.example.org    | <------------------- | cert moon.example.org   |
 *	+-------------------------+                      +-------------------------+
 *
 *	root CA (P-256) --+-- sun (P-256), sun-expired, sun-rsa
 *	                  +-- moon (P-384), moon-rsa (RSA 2048)
 *	other CA (P-256) ---- the CA moon trusts in the "untrusted" case
 *
 * The test decrypts IKE_AUTH messages with the engines' own keys to check
 * what went on the wire (CERT, CERTREQ, AUTH method 14), and reads the log
 * to check that refusals say why.
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

#include "auth_test_pki.h"

#include "../../iked/auth_sig.h"
#include "../../iked/ikev2_exch.h"
#include "../../iked/ikev2_msg.h"
#include "log.h"

#define MAX_Q	  32
#define MAX_LOG	  16
#define MAX_CHILD 4

struct net;

struct peer {
	struct net *net;
	int idx;
	struct engine *eng;
	struct conf *conf;
	struct sockaddr_in addr;
	uint32_t spi_in[MAX_CHILD], spi_out[MAX_CHILD];
	unsigned int nch, nremoved;
	uint8_t *log[MAX_LOG];
	size_t log_len[MAX_LOG];
	unsigned int nsent;
};

struct pkt {
	int to;
	uint8_t *buf;
	size_t len;
};

struct net {
	struct peer p[2];
	struct pkt q[MAX_Q];
	unsigned int nq;
	uint64_t now;
	/* may rewrite a datagram in flight */
	void (*filter)(struct net *n, int from, uint8_t *buf, size_t len);
};

static char tmpdir[64];
static const char *conf_tail = ""; /* appended to the next peer_conf() */
static EVP_PKEY *k_root, *k_other, *k_sun, *k_moon, *k_rsa;
static X509 *c_root, *c_other, *c_sun, *c_sun_expired, *c_sun_rsa, *c_moon, *c_moon_rsa;

/* ---- files ---- */

static void path_of(char *buf, size_t len, const char *peer, const char *name)
{
	snprintf(buf, len, "%s/%s/%s", tmpdir, peer, name);
}

static void put_cert(const char *peer, const char *name, X509 *x)
{
	char path[256];
	FILE *f;

	path_of(path, sizeof(path), peer, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
}

static void put_key(const char *peer, const char *name, EVP_PKEY *k)
{
	char path[256];
	FILE *f;

	path_of(path, sizeof(path), peer, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* A fresh swanctl directory for @peer (the old one removed). */
static void peer_dir(const char *peer)
{
	static const char *const subs[] = { "", "/x509", "/x509ca", "/private", "/pkcs8" };
	char path[256], cmd[320];
	size_t i;

	path_of(path, sizeof(path), peer, "");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s%s", tmpdir, peer, subs[i]);
		assert_int_equal(mkdir(cmd, 0700), 0);
	}
}

/*
 * A site-to-site connection "c" authenticated with certificates; @local and
 * @remote are the bodies of the local and remote sections, @extra more
 * connection keys.
 */
static struct conf *peer_conf(const char *peer, const char *extra, const char *local,
			      const char *remote, const char *lts, const char *rts)
{
	char text[2048], path[256], err[512];
	struct conf *conf = NULL;
	FILE *f;
	int rc;

	snprintf(text, sizeof(text),
		 "connections {\n"
		 "  c {\n"
		 "    proposals = aes256gcm16-prfsha256-x25519\n"
		 "    %s\n"
		 "    local {\n%s\n    }\n"
		 "    remote {\n%s\n    }\n"
		 "    children {\n"
		 "      net {\n        esp_proposals = aes128gcm16\n"
		 "        local_ts = %s\n        remote_ts = %s\n      }\n"
		 "    }\n"
		 "  }\n"
		 "}\n%s",
		 extra ? extra : "", local, remote, lts, rts, conf_tail);
	conf_tail = "";
	path_of(path, sizeof(path), peer, "swanctl.conf");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(chmod(path, 0600), 0);
	fputs(text, f);
	fclose(f);
	rc = conf_load(path, CONF_NO_INCLUDE, &conf, err, sizeof(err));
	if (rc)
		fail_msg("config: %s\n%s", err, text);
	return conf;
}

/* ---- the network ---- */

static void cb_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct peer *p = arg;
	struct net *n = p->net;
	struct pkt *q;

	(void)local;
	(void)remote;
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

	assert_true(p->nch < MAX_CHILD);
	p->spi_in[p->nch] = c->spi_in;
	p->spi_out[p->nch] = c->spi_out;
	p->nch++;
	return 0;
}

static void cb_remove(void *arg, const struct engine_child *c)
{
	struct peer *p = arg;

	(void)c;
	p->nremoved++;
}

static void net_init(struct net *n, struct conf *sun, struct conf *moon)
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
		p->conf = i ? moon : sun;
		ops.arg = p;
		assert_int_equal(engine_new(p->conf, &ops, NULL, &p->eng), 0);
	}
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

static void net_run(struct net *n)
{
	unsigned int guard = 0;

	while (n->nq) {
		struct pkt q = n->q[0];
		int from = 1 - q.to;

		assert_true(++guard < 100);
		memmove(&n->q[0], &n->q[1], (n->nq - 1) * sizeof(n->q[0]));
		n->nq--;
		if (n->filter)
			n->filter(n, from, q.buf, q.len);
		engine_input(n->p[q.to].eng, q.buf, q.len, sa_of(&n->p[q.to]), sa_of(&n->p[from]),
			     n->now);
		free(q.buf);
	}
}

static uint64_t net_up(struct net *n)
{
	uint64_t spi = 0;

	assert_int_equal(engine_initiate(n->p[0].eng, "c", NULL, sa_of(&n->p[0]), sa_of(&n->p[1]),
					 n->now, &spi),
			 0);
	net_run(n);
	return spi;
}

static void assert_up(struct net *n, uint64_t spi)
{
	const struct ike_sa *i = engine_sa_find(n->p[0].eng, spi), *r;

	assert_non_null(i);
	assert_int_equal(i->state, IKE_ST_ESTABLISHED);
	r = engine_sa_find(n->p[1].eng, i->rspi);
	assert_non_null(r);
	assert_int_equal(r->state, IKE_ST_ESTABLISHED);
	assert_int_equal(n->p[0].nch, 1);
	assert_int_equal(n->p[1].nch, 1);
	assert_int_equal(n->p[0].spi_out[0], n->p[1].spi_in[0]);
	assert_int_equal(n->p[0].spi_in[0], n->p[1].spi_out[0]);
}

/* Both IKE SAs gone. When the initiator refused, the responder had
 * installed its child already (IKE_AUTH): removed again. */
static void assert_refused(struct net *n)
{
	assert_int_equal(engine_sa_count(n->p[0].eng), 0);
	assert_int_equal(engine_sa_count(n->p[1].eng), 0);
	assert_int_equal(n->p[0].nch, 0);
	assert_int_equal(n->p[1].nch, n->p[1].nremoved);
	assert_int_equal(engine_get_stats(n->p[1].eng)->auth_failed, 1);
	assert_int_equal(engine_get_stats(n->p[0].eng)->auth_failed, 1);
}

/* ---- looking at messages ---- */

struct seen {
	unsigned int certs, certreqs, sig_hash_notifies;
	uint8_t auth_method;
	uint8_t certreq[8 * AUTH_CA_HASH_LEN];
	size_t certreq_len;
	X509 *first_cert;
};

static void seen_list(struct seen *s, struct ikev2_pld_list *l)
{
	struct ikev2_notify nt;
	struct ikev2_cert c;
	struct ikev2_auth a;
	struct ikev2_pld *p;
	unsigned int i;

	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_CERT, i)); i++) {
		assert_int_equal(ikev2_pld_parse_cert(p, &c, NULL), 0);
		assert_int_equal(c.encoding, IKEV2_CERT_X509_SIG);
		if (!s->certs++) {
			const unsigned char *q = c.data;

			s->first_cert = d2i_X509(NULL, &q, c.len);
			assert_non_null(s->first_cert);
		}
	}
	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_CERTREQ, i)); i++) {
		assert_int_equal(ikev2_pld_parse_cert(p, &c, NULL), 0);
		assert_int_equal(c.encoding, IKEV2_CERT_X509_SIG);
		assert_true(c.len <= sizeof(s->certreq));
		memcpy(s->certreq, c.data, c.len);
		s->certreq_len = c.len;
		s->certreqs++;
	}
	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_NOTIFY, i)); i++)
		if (!ikev2_pld_parse_notify(p, &nt, NULL) &&
		    nt.type == IKEV2_N_SIGNATURE_HASH_ALGORITHMS)
			s->sig_hash_notifies++;
	p = ikev2_pld_find(l, IKEV2_PLD_AUTH, 0);
	if (p) {
		assert_int_equal(ikev2_pld_parse_auth(p, &a, NULL), 0);
		s->auth_method = a.method;
	}
}

/* What datagram @nth of @from carried; an SK payload is opened with @sk. */
static void seen(struct net *n, int from, unsigned int nth, const struct crypto_sk *sk,
		 struct seen *s)
{
	uint8_t buf[IKEV2_MSG_MAX];
	struct ikev2_msg m;
	struct peer *p = &n->p[from];

	memset(s, 0, sizeof(*s));
	assert_true(nth < p->nsent && nth < MAX_LOG);
	memcpy(buf, p->log[nth], p->log_len[nth]);
	assert_int_equal(ikev2_msg_parse(buf, p->log_len[nth], &m, NULL), 0);
	seen_list(s, &m.plds);
	if (m.sk) {
		assert_non_null(sk);
		assert_int_equal(ikev2_msg_sk_open(&m, sk, NULL), 0);
		seen_list(s, &m.inner);
	}
}

static void seen_free(struct seen *s)
{
	X509_free(s->first_cert);
}

/* Run @fn with stderr (the log) captured into @text. */
static void capture_begin(FILE **f, int *saved)
{
	*f = tmpfile();
	assert_non_null(*f);
	fflush(stderr);
	*saved = dup(2);
	assert_true(*saved >= 0);
	assert_true(dup2(fileno(*f), 2) >= 0);
}

static void capture_end(FILE *f, int saved, char *text, size_t cap)
{
	size_t len;

	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	len = fread(text, 1, cap - 1, f);
	text[len] = '\0';
	fclose(f);
	fputs(text, stderr);
}

/* ---- setup ---- */

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xiked-authinproc-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	k_root = pki_key("p256");
	k_other = pki_key("p256");
	k_sun = pki_key("p256");
	k_moon = pki_key("p384");
	k_rsa = pki_key("rsa");
	c_root = pki_cert(k_root, NULL, NULL, "root CA", NULL, 1, -3600, 86400);
	c_other = pki_cert(k_other, NULL, NULL, "other CA", NULL, 1, -3600, 86400);
	c_sun = pki_cert(k_sun, c_root, k_root, "sun", "DNS:sun.example.org,IP:192.0.2.1", 0, -3600,
			 86400);
	c_sun_expired =
		pki_cert(k_sun, c_root, k_root, "sun", "DNS:sun.example.org", 0, -7200, -3600);
	c_sun_rsa = pki_cert(k_rsa, c_root, k_root, "sun", "DNS:sun.example.org", 0, -3600, 86400);
	c_moon = pki_cert(k_moon, c_root, k_root, "moon", "DNS:moon.example.org", 0, -3600, 86400);
	c_moon_rsa = pki_cert(k_rsa, c_root, k_root, "moon",
			      "DNS:moon.example.org,email:moon@example.org", 0, -3600, 86400);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	X509_free(c_root);
	X509_free(c_other);
	X509_free(c_sun);
	X509_free(c_sun_expired);
	X509_free(c_sun_rsa);
	X509_free(c_moon);
	X509_free(c_moon_rsa);
	EVP_PKEY_free(k_root);
	EVP_PKEY_free(k_other);
	EVP_PKEY_free(k_sun);
	EVP_PKEY_free(k_moon);
	EVP_PKEY_free(k_rsa);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* sun: c_sun + key, root CA; moon: c_moon + key, root CA. */
static void standard_dirs(void)
{
	peer_dir("sun");
	put_cert("sun", "x509/sun.pem", c_sun);
	put_key("sun", "private/sun.key", k_sun);
	put_cert("sun", "x509ca/root.pem", c_root);
	peer_dir("moon");
	put_cert("moon", "x509/moon.pem", c_moon);
	put_key("moon", "private/moon.key", k_moon);
	put_cert("moon", "x509ca/root.pem", c_root);
}

#define SUN_LOCAL   "      auth = pubkey\n      certs = sun.pem\n      id = sun.example.org"
#define SUN_REMOTE  "      auth = pubkey\n      id = moon.example.org"
#define MOON_LOCAL  "      auth = pubkey\n      certs = moon.pem\n      id = moon.example.org"
#define MOON_REMOTE "      auth = pubkey\n      id = sun.example.org"

static struct conf *sun_conf(const char *extra, const char *local, const char *remote)
{
	return peer_conf("sun", extra, local ? local : SUN_LOCAL, remote ? remote : SUN_REMOTE,
			 "10.1.0.0/24", "10.2.0.0/24");
}

static struct conf *moon_conf(const char *extra, const char *local, const char *remote)
{
	return peer_conf("moon", extra, local ? local : MOON_LOCAL, remote ? remote : MOON_REMOTE,
			 "10.2.0.0/24", "10.1.0.0/24");
}

/* ---- cases ---- */

/* ECDSA P-256 and P-384, FQDN identities, send_cert = ifasked on both
 * sides: CERTREQs make both send their certificates. */
static void test_ecdsa(void **state)
{
	const struct ike_sa *i, *r;
	uint8_t root_hash[AUTH_CA_HASH_LEN];
	struct seen s;
	struct net n;
	uint64_t spi;

	(void)state;
	standard_dirs();
	net_init(&n, sun_conf(NULL, NULL, NULL), moon_conf(NULL, NULL, NULL));
	spi = net_up(&n);
	assert_up(&n, spi);
	i = engine_sa_find(n.p[0].eng, spi);
	r = engine_sa_find(n.p[1].eng, i->rspi);
	assert_int_equal(i->peer_hashes, AUTH_HASHES_OURS);
	assert_int_equal(r->peer_hashes, AUTH_HASHES_OURS);
	assert_true(i->peer_certreq && r->peer_certreq);
	assert_int_equal(auth_ca_hash(c_root, root_hash), 0);

	/* IKE_SA_INIT request: N(SIGNATURE_HASH_ALGORITHMS), no CERTREQ */
	seen(&n, 0, 0, NULL, &s);
	assert_int_equal(s.sig_hash_notifies, 1);
	assert_int_equal(s.certreqs, 0);
	/* IKE_SA_INIT response: the notify and a CERTREQ naming the root CA */
	seen(&n, 1, 0, NULL, &s);
	assert_int_equal(s.sig_hash_notifies, 1);
	assert_int_equal(s.certreqs, 1);
	assert_int_equal(s.certreq_len, AUTH_CA_HASH_LEN);
	assert_memory_equal(s.certreq, root_hash, AUTH_CA_HASH_LEN);
	/* IKE_AUTH request: CERT (sun's), CERTREQ, AUTH method 14 */
	seen(&n, 0, 1, &r->sk_in, &s);
	assert_int_equal(s.certs, 1);
	assert_int_equal(X509_cmp(s.first_cert, c_sun), 0);
	assert_int_equal(s.certreqs, 1);
	assert_memory_equal(s.certreq, root_hash, AUTH_CA_HASH_LEN);
	assert_int_equal(s.auth_method, IKEV2_AUTH_DIGITAL_SIGNATURE);
	seen_free(&s);
	/* IKE_AUTH response: moon's CERT and a signature */
	seen(&n, 1, 1, &i->sk_in, &s);
	assert_int_equal(s.certs, 1);
	assert_int_equal(X509_cmp(s.first_cert, c_moon), 0);
	assert_int_equal(s.auth_method, IKEV2_AUTH_DIGITAL_SIGNATURE);
	seen_free(&s);
	net_free(&n);
}

/* RSA on moon, ECDSA on sun; DN identities (the local default: the
 * certificate's subject), e-mail on the other way round. */
static void test_rsa_and_dn(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	standard_dirs();
	put_cert("moon", "x509/moon.pem", c_moon_rsa);
	put_key("moon", "private/moon.key", k_rsa);
	net_init(&n,
		 sun_conf(NULL, "      auth = pubkey\n      certs = sun.pem",
			  "      auth = rsa\n      id = \"O=xipsec test, CN=moon\""),
		 moon_conf(NULL, "      auth = rsa\n      certs = moon.pem",
			   "      auth = ecdsa\n      id = \"O=xipsec test, CN=sun\""));
	spi = net_up(&n);
	assert_up(&n, spi);
	net_free(&n);

	/* an RFC822 identity, found in x509/ by identity (no certs =); the
	 * key in pkcs8/ */
	standard_dirs();
	put_cert("moon", "x509/moon.pem", c_moon_rsa);
	put_key("moon", "private/moon.key", k_root);
	put_key("moon", "pkcs8/moon.key", k_rsa);
	net_init(&n, sun_conf(NULL, NULL, "      auth = pubkey\n      id = moon@example.org"),
		 moon_conf(NULL, "      auth = pubkey\n      id = moon@example.org", NULL));
	spi = net_up(&n);
	assert_up(&n, spi);
	net_free(&n);
}

/* send_cert = never: the peer's certificate comes from x509/; = always
 * sends one even without a CERTREQ (send_certreq = no). */
static void test_send_cert(void **state)
{
	struct seen s;
	struct net n;
	uint64_t spi;

	(void)state;
	standard_dirs();
	put_cert("sun", "x509/moon.pem", c_moon);
	net_init(&n, sun_conf("send_cert = always\n    send_certreq = no", NULL, NULL),
		 moon_conf("send_cert = never\n    send_certreq = no", NULL, NULL));
	spi = net_up(&n);
	assert_up(&n, spi);
	seen(&n, 1, 0, NULL, &s);
	assert_int_equal(s.certreqs, 0);
	seen(&n, 0, 1, &engine_sa_find(n.p[1].eng, engine_sa_find(n.p[0].eng, spi)->rspi)->sk_in,
	     &s);
	assert_int_equal(s.certs, 1);
	assert_int_equal(s.certreqs, 0);
	seen_free(&s);
	seen(&n, 1, 1, &engine_sa_find(n.p[0].eng, spi)->sk_in, &s);
	assert_int_equal(s.certs, 0);
	net_free(&n);

	/* without moon's certificate in x509/, sun cannot check moon */
	standard_dirs();
	net_init(&n, sun_conf(NULL, NULL, NULL), moon_conf("send_cert = never", NULL, NULL));
	net_up(&n);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_get_stats(n.p[0].eng)->auth_failed, 1);
	/* sun said so in an INFORMATIONAL: IKE_SA_INIT, IKE_AUTH, that */
	assert_int_equal(n.p[0].nsent, 3);
	net_free(&n);
}

/* Remote certs: the peer must use one of them; sending none, the first. */
static void test_remote_certs(void **state)
{
	struct net n;
	uint64_t spi;

	(void)state;
	standard_dirs();
	put_cert("sun", "x509/moon.pem", c_moon);
	net_init(&n, sun_conf(NULL, NULL, SUN_REMOTE "\n      certs = moon.pem"),
		 moon_conf("send_cert = never", NULL, NULL));
	spi = net_up(&n);
	assert_up(&n, spi);
	net_free(&n);
	/* moon's certificate, sent, is not the one sun pinned */
	standard_dirs();
	put_cert("sun", "x509/moon-rsa.pem", c_moon_rsa);
	net_init(&n, sun_conf(NULL, NULL, SUN_REMOTE "\n      certs = moon-rsa.pem"),
		 moon_conf(NULL, NULL, NULL));
	net_up(&n);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(engine_get_stats(n.p[0].eng)->auth_failed, 1);
	net_free(&n);
}

/* Refusals, each with its reason in the log and AUTHENTICATION_FAILED. */
static void refused(struct conf *sun, struct conf *moon, const char *reason)
{
	static char text[65536];
	struct net n;
	FILE *f;
	int saved;

	net_init(&n, sun, moon);
	capture_begin(&f, &saved);
	net_up(&n);
	capture_end(f, saved, text, sizeof(text));
	assert_refused(&n);
	if (!strstr(text, reason))
		fail_msg("no '%s' in the log", reason);
	assert_non_null(strstr(text, "AUTHENTICATION_FAILED"));
	net_free(&n);
}

static void test_untrusted(void **state)
{
	(void)state;
	/* moon trusts another CA only */
	standard_dirs();
	put_cert("moon", "x509ca/root.pem", c_other);
	refused(sun_conf(NULL, NULL, NULL), moon_conf(NULL, NULL, NULL),
		"authentication of peer 'sun.example.org' failed: certificate 'O=xipsec test, "
		"CN=sun' untrusted");
	/* ... or its remote round names another CA */
	standard_dirs();
	put_cert("moon", "x509ca/other.pem", c_other);
	refused(sun_conf(NULL, NULL, NULL),
		moon_conf(NULL, NULL, MOON_REMOTE "\n      cacerts = other.pem"), "untrusted");
	/* sun refuses moon the same way (and tells it) */
	standard_dirs();
	put_cert("sun", "x509ca/root.pem", c_other);
	refused(sun_conf(NULL, NULL, NULL), moon_conf(NULL, NULL, NULL),
		"authentication of peer 'moon.example.org' failed: certificate");
}

static void test_expired(void **state)
{
	(void)state;
	standard_dirs();
	put_cert("sun", "x509/sun.pem", c_sun_expired);
	refused(sun_conf(NULL, NULL, NULL), moon_conf(NULL, NULL, NULL), "expired");
}

static void test_id_mismatch(void **state)
{
	struct conf *sun;

	(void)state;
	/* sun claims an identity its certificate does not name */
	standard_dirs();
	refused(sun_conf(NULL,
			 "      auth = pubkey\n      certs = sun.pem\n      id = sun2.example.org",
			 NULL),
		moon_conf(NULL, NULL, "      auth = pubkey\n      id = %any"),
		"identity mismatch: certificate 'O=xipsec test, CN=sun' does not name "
		"'sun2.example.org'");
	/* moon is not who sun wants: with IDr sent, moon has no such connection ... */
	standard_dirs();
	refused(sun_conf(NULL, NULL, "      auth = pubkey\n      id = mars.example.org"),
		moon_conf(NULL, NULL, NULL), "no connection for this identity");
	/* ... with a pattern (no IDr), sun refuses moon's answer */
	standard_dirs();
	refused(sun_conf(NULL, NULL, "      auth = pubkey\n      id = *.example.com"),
		moon_conf(NULL, NULL, NULL), "identity mismatch, '*.example.com' expected");
	/* auth = ecdsa refuses an RSA certificate */
	standard_dirs();
	put_cert("sun", "x509/sun.pem", c_sun_rsa);
	put_key("sun", "private/sun.key", k_rsa);
	refused(sun_conf(NULL, NULL, NULL),
		moon_conf(NULL, NULL, "      auth = ecdsa\n      id = sun.example.org"),
		"does not fit 'auth'");
	/* a PSK where a certificate is required */
	standard_dirs();
	conf_tail = "secrets { ike { secret = 0x0011223344556677 } }\n";
	sun = peer_conf("sun", NULL, "      auth = psk\n      id = sun.example.org", SUN_REMOTE,
			"10.1.0.0/24", "10.2.0.0/24");
	refused(sun, moon_conf(NULL, NULL, NULL), "no connection for this identity");
}

/* The signature of sun's AUTH payload, changed in flight; the message is
 * sealed again with sun's key so only the signature is wrong. */
static void flip_signature(struct net *n, int from, uint8_t *buf, size_t len)
{
	const struct ike_sa *sa;
	struct crypto_sk sk;
	struct ikev2_msg m;
	struct ikev2_pld *p;
	size_t aad, iv, icv, pt;

	if (from != 0 || len < IKEV2_HDR_LEN || buf[18] != IKEV2_EXCH_IKE_AUTH)
		return;
	sa = engine_sa_next(n->p[0].eng, NULL);
	assert_non_null(sa);
	sk = sa->sk_out;
	assert_int_equal(ikev2_msg_parse(buf, len, &m, NULL), 0);
	aad = (size_t)(m.sk->body - buf);
	iv = crypto_sk_iv_len(&sk);
	icv = crypto_sk_icv_len(&sk);
	pt = m.sk->len - iv - icv;
	assert_int_equal(ikev2_msg_sk_open(&m, &sk, NULL), 0);
	p = ikev2_pld_find(&m.inner, IKEV2_PLD_AUTH, 0);
	assert_non_null(p);
	p->body[p->len - 3] ^= 0x10;
	assert_int_equal(crypto_sk_seal(&sk, buf, aad, pt), 0);
	crypto_sk_clear(&sk);
}

static void test_bad_signature(void **state)
{
	struct net n;
	static char text[65536];
	FILE *f;
	int saved;

	(void)state;
	standard_dirs();
	net_init(&n, sun_conf(NULL, NULL, NULL), moon_conf(NULL, NULL, NULL));
	n.filter = flip_signature;
	capture_begin(&f, &saved);
	net_up(&n);
	capture_end(f, saved, text, sizeof(text));
	assert_refused(&n);
	assert_non_null(strstr(text, "bad signature (ecdsa-with-SHA256) with certificate "
				     "'O=xipsec test, CN=sun'"));
	net_free(&n);
}

/* No private key for our certificate: nothing is sent after IKE_SA_INIT. */
static void test_no_key(void **state)
{
	struct net n;

	(void)state;
	standard_dirs();
	put_key("sun", "private/sun.key", k_moon);
	net_init(&n, sun_conf(NULL, NULL, NULL), moon_conf(NULL, NULL, NULL));
	net_up(&n);
	assert_int_equal(engine_sa_count(n.p[0].eng), 0);
	assert_int_equal(n.p[0].nsent, 1);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa),	    cmocka_unit_test(test_rsa_and_dn),
		cmocka_unit_test(test_send_cert),   cmocka_unit_test(test_remote_certs),
		cmocka_unit_test(test_untrusted),   cmocka_unit_test(test_expired),
		cmocka_unit_test(test_id_mismatch), cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_no_key),
	};

	log_init("test_auth_inproc", LOG_LVL_INFO, false);
	return cmocka_run_group_tests(tests, setup, teardown);
}
