// SPDX-License-Identifier: GPL-2.0-only
/*
 * IKEv2 exchanges (RFC 7296 1.2-1.4, 2.1-2.6, 2.15, 2.17, 2.21). See
 * ikev2_exch.h for the engine's contract.
 *
 * Message flow, initiator on the left:
 *
 *	HDR, SAi1, KEi, Ni                -->
 *	                                  <--  HDR, SAr1, KEr, Nr
 *	   (or N(COOKIE) / N(INVALID_KE_PAYLOAD): retry with it)
 *	HDR, SK {IDi, [CERT+,] [CERTREQ,]
 *	         [IDr,] AUTH, SAi2,
 *	         TSi, TSr}                -->
 *	                                  <--  HDR, SK {IDr, [CERT+,] AUTH, SAr2,
 *	                                                TSi, TSr}
 *	HDR, SK {SA, Ni, [KEi,] TSi, TSr} -->  CREATE_CHILD_SA (KE: PFS)
 *	                                  <--  HDR, SK {SA, Nr, [KEr,] TSi, TSr}
 *	HDR, SK {[D...]}                  -->  INFORMATIONAL
 *	                                  <--  HDR, SK {[D...]}
 *
 * Every request we send stays in sa->req until its response arrives (window
 * of one) and is resent by engine_tick() with exponential backoff; every
 * response we send is cached so a retransmitted request is answered without
 * being processed again.
 *
 * Rekeying (1.3.2, 1.3.3, 2.8, 2.18, 2.25) of child and IKE SAs in both
 * roles, driven by the swanctl timers: see "rekeying" below.
 *
 * Authentication (2.15): PSK or certificates with RFC 7427 signatures
 * (auth_sig.h), chosen per side; IKE_SA_INIT carries N(SIGNATURE_HASH_
 * ALGORITHMS) and the responder's CERTREQ: see "public key authentication".
 *
 * Configuration payloads (2.19): virtual IPs from pools as responder, asked
 * for as initiator (cp.h); "dynamic" selectors follow them (eng_ts_local,
 * eng_ts_remote).
 *
 * Reauthentication (reauth_time, 2.8.3): a new IKE SA beside the old one,
 * make-before-break; see "reauthentication" below.
 *
 * Not implemented (refused or ignored with a log line): EAP, MOBIKE,
 * fragmentation, windows larger than one.
 *
 * NAT traversal (2.23): both IKE_SA_INIT messages carry NAT_DETECTION
 * notifies; with a NAT (or encap = yes) the initiator moves to port 4500
 * from IKE_AUTH on, children are UDP-encapsulated (engine_child.encap), the
 * side behind the NAT sends keepalives (engine_keepalive) and both follow
 * the peer's address on authenticated messages (eng_natt_follow).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "auth_sig.h"
#include "ikev2_exch.h"
#include "ikev2_msg.h"
#include "log.h"
#include "ts.h"

#define ENG_TX_MAX	     8192
#define ENG_INIT_TRIES	     5 /* IKE_SA_INIT sends after COOKIE / INVALID_KE answers */
#define ENG_DEL_MAX	     64 /* child SPIs in one Delete answer */
#define ENG_COOKIE_ROTATE_MS 300000ULL /* 5 min */

struct engine {
	const struct conf *conf;
	struct engine_ops ops;
	struct engine_params p;
	struct ike_retx_params retx;
	struct ike_sa_table sas;
	struct cookie_ctx cookie;
	struct engine_stats stats;
	uint64_t now; /* of the engine_input() / engine_tick() running */
	uint64_t cookie_rotated_ms;
	struct cp_pools *pools; /* virtual IP pools (cp.h) */
	bool own_pools;
	uint8_t rx[IKEV2_MSG_MAX];
	uint8_t tx[ENG_TX_MAX];
};

/* What a responder picked for a child SA, encoded after the checks. */
struct eng_child_answer {
	struct ikev2_sa sa;
	struct ikev2_ts_list tsi, tsr;
	uint16_t ke_group; /* KEr to send (PFS), 0 if none */
	uint8_t ke_pub[DH_MAX_PUBLIC_LEN];
	uint16_t notify; /* error notify instead of the payloads */
	uint8_t notify_data[2]; /* INVALID_KE_PAYLOAD: the group we want */
	size_t notify_len;
};

/* Where a child SA is negotiated: IKE_AUTH ignores KE methods (RFC 7296
 * 1.2), CREATE_CHILD_SA uses them for PFS (1.3.1). */
enum eng_child_exch { ENG_CHILD_IN_AUTH, ENG_CHILD_IN_CREATE };

/* ---- small helpers ---- */

static const char *eng_tag(const struct ike_sa *sa, char *buf, size_t len)
{
	char peer[80];

	ike_addr_str((const struct sockaddr *)&sa->remote, peer, sizeof(peer));
	snprintf(buf, len, "%s[%016" PRIx64 "_i %016" PRIx64 "_r] %s", sa->conn->name, sa->ispi,
		 sa->rspi, peer);
	return buf;
}

#define TAG(sa) eng_tag(sa, tagbuf, sizeof(tagbuf))

static void eng_send(struct engine *eng, const struct sockaddr *local,
		     const struct sockaddr *remote, const uint8_t *buf, size_t len)
{
	eng->stats.tx++;
	eng->ops.send(eng->ops.arg, buf, len, local, remote);
}

static void eng_send_sa(struct engine *eng, const struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	eng_send(eng, (const struct sockaddr *)&sa->local, (const struct sockaddr *)&sa->remote,
		 buf, len);
}

static uint8_t *eng_dup(const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p)
		memcpy(p, buf, len);
	return p;
}

static void eng_hdr(const struct ike_sa *sa, struct ikev2_hdr *h, uint8_t exch, uint32_t msgid,
		    bool response)
{
	memset(h, 0, sizeof(*h));
	h->ispi = sa->ispi;
	h->rspi = sa->rspi;
	h->exchange = exch;
	h->msgid = msgid;
	h->flags =
		(sa->initiator ? IKEV2_FLAG_INITIATOR : 0) | (response ? IKEV2_FLAG_RESPONSE : 0);
}

static uint32_t eng_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void eng_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static bool eng_host_match(const struct conf_host *v, size_t n, const struct sockaddr *a)
{
	const uint8_t *addr;
	size_t i, alen;

	if (!n)
		return true;
	if (a->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)a)->sin_addr;
		alen = 4;
	} else if (a->sa_family == AF_INET6) {
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr;
		alen = 16;
	} else {
		return false;
	}
	for (i = 0; i < n; i++) {
		if (v[i].kind == CONF_HOST_ANY &&
		    (v[i].family == AF_UNSPEC || v[i].family == a->sa_family))
			return true;
		if (v[i].kind == CONF_HOST_RANGE && v[i].range.family == a->sa_family &&
		    memcmp(addr, v[i].range.from, alen) >= 0 &&
		    memcmp(addr, v[i].range.to, alen) <= 0)
			return true;
		/* CONF_HOST_NAME: resolved by the daemon, which then passes
		 * addresses; an unresolved name matches nothing here. */
	}
	return false;
}

/* The ID payload body (type | 3 reserved | data) we send, and the same as a
 * conf_id (pointing into @body) for secret lookups. A configured %any local
 * identity is our IP address (swanctl's default). */
static int eng_local_id(const struct ike_sa *sa, uint8_t *body, size_t cap, size_t *len,
			struct conf_id *id)
{
	const struct conf_id *cid = &sa->conn->local[0].id;
	const struct sockaddr *l = (const struct sockaddr *)&sa->local;
	uint8_t type;
	const void *data;
	size_t dlen;

	if (cid->type != CONF_ID_ANY) {
		type = (uint8_t)cid->type;
		data = cid->data;
		dlen = cid->len;
	} else if (l->sa_family == AF_INET) {
		type = IKEV2_ID_IPV4_ADDR;
		data = &((const struct sockaddr_in *)(const void *)l)->sin_addr;
		dlen = 4;
	} else {
		type = IKEV2_ID_IPV6_ADDR;
		data = &((const struct sockaddr_in6 *)(const void *)l)->sin6_addr;
		dlen = 16;
	}
	if (dlen + 4 > cap)
		return -E2BIG;
	memset(body, 0, 4);
	body[0] = type;
	memcpy(body + 4, data, dlen);
	*len = dlen + 4;
	memset(id, 0, sizeof(*id));
	id->type = type;
	id->data = body + 4;
	id->len = dlen;
	return 0;
}

static void eng_peer_conf_id(const uint8_t *body, size_t len, struct conf_id *id)
{
	memset(id, 0, sizeof(*id));
	id->type = body[0];
	id->data = (uint8_t *)body + 4;
	id->len = len - 4;
}

/* Printable identity for logs: names as text, addresses as numbers. */
static void eng_id_str(const uint8_t *body, size_t len, char *buf, size_t cap)
{
	size_t i, o = 0;

	if (len < 4) {
		snprintf(buf, cap, "?");
		return;
	}
	if (body[0] == IKEV2_ID_IPV4_ADDR && len == 8) {
		snprintf(buf, cap, "%u.%u.%u.%u", body[4], body[5], body[6], body[7]);
		return;
	}
	if (body[0] == IKEV2_ID_IPV6_ADDR && len == 20) {
		char a[INET6_ADDRSTRLEN];

		snprintf(buf, cap, "%s", inet_ntop(AF_INET6, body + 4, a, sizeof(a)) ? a : "?");
		return;
	}
	if (body[0] == IKEV2_ID_DER_ASN1_DN) {
		auth_dn_str(body + 4, len - 4, buf, cap);
		return;
	}
	if (body[0] == IKEV2_ID_FQDN || body[0] == IKEV2_ID_RFC822_ADDR) {
		for (i = 4; i < len && o + 1 < cap; i++)
			buf[o++] = (body[i] >= 0x20 && body[i] < 0x7f) ? (char)body[i] : '?';
		buf[o] = '\0';
		return;
	}
	snprintf(buf, cap, "%s (%zu bytes)", ikev2_id_type_name(body[0]), len - 4);
}

/*
 * Shared-key AUTH (RFC 7296 2.15) of the initiator (@of_initiator) or the
 * responder: prf(prf(PSK, "Key Pad for IKEv2"), <its IKE_SA_INIT message> |
 * <the other's nonce> | prf(SK_p*, <its ID payload body>)).
 */
static int eng_psk_auth(struct engine *eng, const struct ike_sa *sa, bool of_initiator,
			const uint8_t *id_body, size_t id_len, const struct conf_id *me,
			const struct conf_id *peer, uint8_t *out, size_t *out_len)
{
	const struct conf_secret *sec = conf_find_ike_secret(eng->conf, me, peer);
	uint8_t maced[CRYPTO_PRF_MAX];
	int err;

	if (!sec)
		return -ENOKEY;
	err = crypto_auth_maced_id(sa->suite.prf, of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr,
				   sa->keys.prf_len, id_body, id_len, maced);
	if (!err)
		err = crypto_auth_psk(sa->suite.prf, sec->secret, sec->secret_len,
				      of_initiator ? sa->init_req : sa->init_resp,
				      of_initiator ? sa->init_req_len : sa->init_resp_len,
				      of_initiator ? sa->nr : sa->ni,
				      of_initiator ? sa->nr_len : sa->ni_len, maced, out);
	explicit_bzero(maced, sizeof(maced));
	*out_len = crypto_prf_len(sa->suite.prf);
	return err;
}

/* ---- SA lifetime ---- */

static void eng_child_info(const struct ike_sa *sa, const struct child_sa *c,
			   struct engine_child *info)
{
	memset(info, 0, sizeof(*info));
	info->conn = sa->conn;
	info->cfg = c->cfg;
	info->ispi = sa->ispi;
	info->rspi = sa->rspi;
	info->local = (const struct sockaddr *)&sa->local;
	info->remote = (const struct sockaddr *)&sa->remote;
	info->encap = sa->nat_local || sa->nat_remote || sa->nat_fake;
	info->spi_in = c->spi_in;
	info->spi_out = c->spi_out;
	info->encr = c->alg.encr;
	info->encr_keylen = c->alg.encr_keylen;
	info->integ = c->alg.integ;
	info->esn = c->alg.esn == IKEV2_ESN_YES;
	info->ts_local = &c->ts_local;
	info->ts_remote = &c->ts_remote;
	info->life_time = c->cfg->life_time;
}

static void eng_child_remove(struct engine *eng, struct ike_sa *sa, struct child_sa *c,
			     const char *why)
{
	struct engine_child info;
	char tagbuf[160];

	log_info("ike: %s: CHILD_SA %s SPIs in 0x%08x out 0x%08x %s", TAG(sa), c->cfg->name,
		 c->spi_in, c->spi_out, why);
	if (c->installed && eng->ops.remove_child) {
		eng_child_info(sa, c, &info);
		eng->ops.remove_child(eng->ops.arg, &info);
	}
	eng->stats.child_removed++;
	ike_child_unlink(sa, c);
	free(c);
}

static void eng_req_child_release(struct engine *eng, struct ike_sa *sa);
static void eng_reauth_failed(struct engine *eng, struct ike_sa *sa, const char *why);

/* The IKE SA's virtual IPs go with it: leases back to the pool, our own
 * addresses off the host. */
static void eng_vips_drop(struct engine *eng, struct ike_sa *sa)
{
	char tagbuf[160];

	if (sa->vips_peer.n)
		log_info("ike: %s: virtual IP lease(s) released", TAG(sa));
	cp_release(&sa->vips_peer);
	if (sa->vips_own.n && eng->ops.vip_del)
		eng->ops.vip_del(eng->ops.arg, sa, &sa->vips_own);
	memset(&sa->vips_own, 0, sizeof(sa->vips_own));
}

/* Mark @sa dead: children removed now, memory freed by eng_reap(). */
static void eng_ike_kill(struct engine *eng, struct ike_sa *sa, const char *why)
{
	char tagbuf[160];

	if (sa->state == IKE_ST_DEAD)
		return;
	if (sa->reauth_of)
		eng_reauth_failed(eng, sa, why);
	eng_req_child_release(eng, sa);
	while (sa->children)
		eng_child_remove(eng, sa, sa->children, "removed with its IKE SA");
	eng_vips_drop(eng, sa);
	log_info("ike: %s: IKE SA %s (was %s)", TAG(sa), why, ike_state_name(sa->state));
	if (sa->state == IKE_ST_ESTABLISHED || sa->state == IKE_ST_DELETING)
		eng->stats.ike_deleted++;
	ike_sa_set_state(&eng->sas, sa, IKE_ST_DEAD);
}

static void eng_reap(struct engine *eng, struct ike_sa *sa)
{
	if (!sa || sa->state != IKE_ST_DEAD)
		return;
	ike_sa_table_del(&eng->sas, sa);
	ike_sa_free(sa);
}

static void eng_child_timers(struct child_sa *c, uint64_t now);
static void eng_ike_timers(struct ike_sa *sa, uint64_t now);

static int eng_derive_ike_keys(struct ike_sa *sa, const uint8_t *gir, size_t gir_len)
{
	uint8_t ss[CRYPTO_PRF_MAX];
	const uint8_t *ei, *ai, *er, *ar;
	int err;

	sa->suite.encr = sa->alg.encr;
	sa->suite.encr_keylen = sa->alg.encr_keylen;
	sa->suite.prf = sa->alg.prf;
	sa->suite.integ = sa->alg.integ;
	sa->suite.dh = sa->alg.dh;
	err = crypto_suite_check(&sa->suite);
	if (err)
		return err;
	err = crypto_skeyseed(sa->suite.prf, sa->ni, sa->ni_len, sa->nr, sa->nr_len, gir, gir_len,
			      ss);
	if (!err)
		err = crypto_ike_keys_derive(&sa->suite, ss, sa->ni, sa->ni_len, sa->nr, sa->nr_len,
					     sa->ispi, sa->rspi, &sa->keys);
	explicit_bzero(ss, sizeof(ss));
	if (err)
		return err;
	ei = sa->keys.sk_ei;
	ai = sa->keys.sk_ai;
	er = sa->keys.sk_er;
	ar = sa->keys.sk_ar;
	err = crypto_sk_init(&sa->sk_out, &sa->suite, sa->initiator ? ei : er,
			     sa->initiator ? ai : ar);
	if (!err)
		err = crypto_sk_init(&sa->sk_in, &sa->suite, sa->initiator ? er : ei,
				     sa->initiator ? ar : ai);
	if (err)
		return err;
	sa->keyed = true;
	/* the private value is not needed any more */
	dh_free(sa->dh);
	sa->dh = NULL;
	return 0;
}

/* Both AUTH payloads are checked: the IKE_SA_INIT messages they signed are
 * not needed any more (a retransmitted IKE_SA_INIT is dropped from now on). */
static void eng_established(struct engine *eng, struct ike_sa *sa)
{
	ike_sa_set_state(&eng->sas, sa, IKE_ST_ESTABLISHED);
	eng->stats.ike_established++;
	/* inside engine_input(): last_rx_ms is now */
	eng_ike_timers(sa, sa->last_rx_ms);
	free(sa->init_req);
	free(sa->init_resp);
	sa->init_req = sa->init_resp = NULL;
	sa->init_req_len = sa->init_resp_len = 0;
}

/* ---- sending requests and replies ---- */

static void eng_req_begin(struct engine *eng, struct ike_sa *sa, struct ikev2_enc *e, uint8_t exch)
{
	struct ikev2_hdr h;

	eng_hdr(sa, &h, exch, sa->next_msgid, false);
	ikev2_msg_begin(e, eng->tx, sizeof(eng->tx), &h);
	ikev2_msg_sk_begin(e, &sa->sk_out);
}

static int eng_req_finish(struct engine *eng, struct ike_sa *sa, struct ikev2_enc *e,
			  enum ike_req_kind kind, uint64_t now)
{
	uint8_t *copy;
	int err;

	err = ikev2_msg_finish(e, &sa->sk_out);
	if (err)
		return err;
	copy = eng_dup(e->buf, e->len);
	if (!copy)
		return -ENOMEM;
	ike_req_start(&sa->req, kind, sa->next_msgid++, copy, e->len, now, &eng->retx);
	eng_send_sa(eng, sa, copy, e->len);
	return 0;
}

static void eng_reply_begin(struct engine *eng, struct ike_sa *sa, struct ikev2_enc *e,
			    const struct ikev2_msg *req)
{
	struct ikev2_hdr h;

	eng_hdr(sa, &h, req->hdr.exchange, req->hdr.msgid, true);
	ikev2_msg_begin(e, eng->tx, sizeof(eng->tx), &h);
	ikev2_msg_sk_begin(e, &sa->sk_out);
}

/* Seal, cache and send our answer to the peer's request; opens the window
 * for the peer's next request. */
static int eng_reply_finish(struct engine *eng, struct ike_sa *sa, struct ikev2_enc *e)
{
	char tagbuf[160];
	int err;

	err = ikev2_msg_finish(e, &sa->sk_out);
	if (!err)
		err = ike_sa_cache_reply(sa, e->buf, e->len);
	if (err) {
		log_warn("ike: %s: cannot build reply: %s", TAG(sa), strerror(-err));
		return err;
	}
	sa->expect_msgid++;
	eng_send_sa(eng, sa, sa->reply, sa->reply_len);
	return 0;
}

static int eng_reply_notify_data(struct engine *eng, struct ike_sa *sa, const struct ikev2_msg *req,
				 uint16_t type, const uint8_t *data, size_t len)
{
	struct ikev2_enc e;

	eng_reply_begin(eng, sa, &e, req);
	ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, type, data, len);
	return eng_reply_finish(eng, sa, &e);
}

static int eng_reply_notify(struct engine *eng, struct ike_sa *sa, const struct ikev2_msg *req,
			    uint16_t type)
{
	return eng_reply_notify_data(eng, sa, req, type, NULL, 0);
}

/* Unencrypted IKE_SA_INIT answer without state: N(COOKIE),
 * N(INVALID_KE_PAYLOAD), N(NO_PROPOSAL_CHOSEN). */
static void eng_init_notify(struct engine *eng, const struct ikev2_msg *req,
			    const struct sockaddr *local, const struct sockaddr *remote,
			    uint16_t type, const uint8_t *data, size_t len)
{
	struct ikev2_enc e;
	struct ikev2_hdr h;

	memset(&h, 0, sizeof(h));
	h.ispi = req->hdr.ispi;
	h.exchange = IKEV2_EXCH_IKE_SA_INIT;
	h.flags = IKEV2_FLAG_RESPONSE;
	ikev2_msg_begin(&e, eng->tx, sizeof(eng->tx), &h);
	ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, type, data, len);
	if (!ikev2_msg_finish(&e, NULL))
		eng_send(eng, local, remote, e.buf, e.len);
}

/* ---- child SAs ---- */

static int eng_alloc_spi(struct engine *eng, const struct ike_sa *sa, uint32_t *spi)
{
	if (eng->ops.alloc_spi)
		return eng->ops.alloc_spi(eng->ops.arg, (const struct sockaddr *)&sa->local,
					  (const struct sockaddr *)&sa->remote, spi);
	return ike_child_new_spi(&eng->sas, spi);
}

static void eng_release_spi(struct engine *eng, const struct ike_sa *sa, uint32_t spi)
{
	if (eng->ops.alloc_spi && eng->ops.release_spi)
		eng->ops.release_spi(eng->ops.arg, (const struct sockaddr *)&sa->local,
				     (const struct sockaddr *)&sa->remote, spi);
}

/* The SPI offered for the child of our request, unless a child took it. */
static void eng_req_child_release(struct engine *eng, struct ike_sa *sa)
{
	if (sa->req.child_spi && !ike_child_find_in(sa, sa->req.child_spi))
		eng_release_spi(eng, sa, sa->req.child_spi);
	sa->req.child_spi = 0;
}

/* KEYMAT (2.17) split into both directions and handed to install_child().
 * @exch_initiator: we sent the request of the exchange that made @c, so
 * our outbound keys are the "i" ones. */
static int eng_child_install(struct engine *eng, struct ike_sa *sa, struct child_sa *c,
			     const uint8_t *gir, size_t gir_len, const uint8_t *ni, size_t ni_len,
			     const uint8_t *nr, size_t nr_len, bool exch_initiator)
{
	uint8_t km[2 * (CRYPTO_ENCR_KEY_MAX + CRYPTO_INTEG_KEY_MAX)];
	struct engine_child info;
	size_t el, il;
	char tagbuf[160], alg[128], tl[256], tr[256];
	int err;

	el = crypto_encr_key_len(c->alg.encr, c->alg.encr_keylen);
	il = c->alg.integ ? crypto_integ_key_len(c->alg.integ) : 0;
	if (!el || (c->alg.integ && !il))
		return -ENOTSUP;
	err = crypto_child_keymat(sa->suite.prf, sa->keys.sk_d, sa->keys.prf_len, gir, gir_len, ni,
				  ni_len, nr, nr_len, km, 2 * (el + il));
	if (err)
		goto out;
	eng_child_info(sa, c, &info);
	info.encr_key_len = el;
	info.integ_key_len = il;
	info.encr_key_out = exch_initiator ? km : km + el + il;
	info.integ_key_out = exch_initiator ? km + el : km + 2 * el + il;
	info.encr_key_in = exch_initiator ? km + el + il : km;
	info.integ_key_in = exch_initiator ? km + 2 * el + il : km + el;
	if (!il)
		info.integ_key_in = info.integ_key_out = NULL;
	err = eng->ops.install_child ? eng->ops.install_child(eng->ops.arg, &info) : 0;
	if (err)
		goto out;
	c->installed = true;
	eng->stats.child_installed++;
	/* inside engine_input(): last_rx_ms is now */
	eng_child_timers(c, sa->last_rx_ms);
	proposal_str(&c->alg, alg, sizeof(alg));
	ts_list_str(&c->ts_local, tl, sizeof(tl));
	ts_list_str(&c->ts_remote, tr, sizeof(tr));
	log_info("ike: %s: CHILD_SA %s established, SPIs in 0x%08x out 0x%08x, %s, %s === %s",
		 TAG(sa), c->cfg->name, c->spi_in, c->spi_out, alg, tl, tr);
out:
	explicit_bzero(km, sizeof(km));
	return err;
}

/* Our selectors of child @cc: "dynamic" is our virtual IP once assigned,
 * any address while we ask for one (IKE_AUTH with a CFG_REQUEST), else our
 * IKE address. */
static int eng_ts_local(const struct ike_sa *sa, const struct conf_child *cc,
			struct ikev2_ts_list *out)
{
	struct ts_dynamic dyn = { .addr = (const struct sockaddr *)&sa->local };

	dyn.vips = sa->vips_own.addr;
	dyn.nvips = sa->vips_own.n;
	if (!dyn.nvips && sa->initiator && sa->state != IKE_ST_ESTABLISHED) {
		for (size_t i = 0; i < sa->conn->nvips; i++) {
			dyn.any4 |= sa->conn->vips[i].family == AF_INET;
			dyn.any6 |= sa->conn->vips[i].family == AF_INET6;
		}
	}
	return ts_from_conf_dyn(cc->local_ts, cc->nlocal_ts, &dyn, out);
}

/* The peer's selectors of @cc: "dynamic" is the virtual IP we leased it,
 * else its IKE address. */
static int eng_ts_remote(const struct ike_sa *sa, const struct conf_child *cc,
			 struct ikev2_ts_list *out)
{
	struct ts_dynamic dyn = { .addr = (const struct sockaddr *)&sa->remote };

	dyn.vips = sa->vips_peer.addr;
	dyn.nvips = sa->vips_peer.n;
	return ts_from_conf_dyn(cc->remote_ts, cc->nremote_ts, &dyn, out);
}

/* The triggering packet's selector goes first (RFC 7296 2.9); the
 * configured ones follow so the responder may pick a wider range. */
static int eng_ts_prepend(struct ikev2_ts_list *l, const struct ikev2_ts *ts)
{
	if (l->n >= IKEV2_MAX_TS)
		return -E2BIG;
	memmove(&l->ts[1], &l->ts[0], l->n * sizeof(l->ts[0]));
	l->ts[0] = *ts;
	l->n++;
	return 0;
}

/* Initiator: prepare SPI, offer, selectors and (CREATE_CHILD_SA with a KE
 * method configured) the key pair of @cc in sa->req. */
static int eng_child_offer(struct engine *eng, struct ike_sa *sa, const struct conf_child *cc,
			   enum eng_child_exch where, uint16_t want_ke)
{
	uint16_t ke = where == ENG_CHILD_IN_CREATE ? want_ke ?: proposal_first_ke(&cc->esp) : 0;
	uint8_t spi[4];
	int err;

	err = eng_alloc_spi(eng, sa, &sa->req.child_spi);
	if (err)
		return err;
	eng_put32(spi, sa->req.child_spi);
	sa->req.child_cfg = cc;
	sa->req.child_ke = ke;
	dh_free(sa->req.child_dh);
	sa->req.child_dh = NULL;
	if (ke) {
		err = dh_new(ke, &sa->req.child_dh);
		if (err)
			return err;
	}
	err = proposal_build(&cc->esp, IKEV2_PROTO_ESP, spi, 4, ke,
			     where == ENG_CHILD_IN_AUTH ? PROPOSAL_NO_KE : 0, &sa->req.child_offer);
	if (!err)
		err = eng_ts_local(sa, cc, &sa->req.tsi);
	if (!err)
		err = eng_ts_remote(sa, cc, &sa->req.tsr);
	if (!err && sa->pkt_ts_child == cc) {
		err = eng_ts_prepend(&sa->req.tsi, &sa->pkt_tsi);
		if (!err)
			err = eng_ts_prepend(&sa->req.tsr, &sa->pkt_tsr);
	}
	return err;
}

static void eng_enc_child_offer(struct ikev2_enc *e, const struct ike_req *r)
{
	ikev2_enc_sa(e, &r->child_offer);
}

static void eng_enc_child_ts(struct ikev2_enc *e, const struct ikev2_ts_list *tsi,
			     const struct ikev2_ts_list *tsr)
{
	ikev2_enc_ts(e, IKEV2_PLD_TSI, tsi);
	ikev2_enc_ts(e, IKEV2_PLD_TSR, tsr);
}

static int eng_parse_child_plds(struct ikev2_pld_list *l, struct ikev2_sa *sa,
				struct ikev2_ts_list *tsi, struct ikev2_ts_list *tsr)
{
	struct ikev2_pld *p_sa = ikev2_pld_find(l, IKEV2_PLD_SA, 0);
	struct ikev2_pld *p_tsi = ikev2_pld_find(l, IKEV2_PLD_TSI, 0);
	struct ikev2_pld *p_tsr = ikev2_pld_find(l, IKEV2_PLD_TSR, 0);

	if (!p_sa && !p_tsi && !p_tsr)
		return -ENOENT;
	if (!p_sa || !p_tsi || !p_tsr || ikev2_pld_parse_sa(p_sa, sa, NULL) ||
	    ikev2_pld_parse_ts(p_tsi, tsi, NULL) || ikev2_pld_parse_ts(p_tsr, tsr, NULL))
		return -EBADMSG;
	return 0;
}

/* First error notify in @l, 0 if none. */
static uint16_t eng_error_notify(struct ikev2_pld_list *l)
{
	struct ikev2_notify n;
	struct ikev2_pld *p;
	unsigned int i;

	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_NOTIFY, i)); i++)
		if (!ikev2_pld_parse_notify(p, &n, NULL) && n.type <= IKEV2_N_ERROR_MAX)
			return n.type;
	return 0;
}

static bool eng_find_notify(struct ikev2_pld_list *l, uint16_t type, struct ikev2_notify *out)
{
	struct ikev2_pld *p;
	unsigned int i;

	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_NOTIFY, i)); i++)
		if (!ikev2_pld_parse_notify(p, out, NULL) && out->type == type)
			return true;
	return false;
}

/* Initiator: the responder's SA/TSi/TSr (and KEr) for the child in sa->req. */
static void eng_child_response(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l,
			       enum eng_child_exch where, const uint8_t *ni, size_t ni_len,
			       const uint8_t *nr, size_t nr_len)
{
	const struct conf_child *cc = sa->req.child_cfg;
	uint8_t gir[DH_MAX_SECRET_LEN];
	struct ikev2_ts_list tsi, tsr;
	struct proposal_choice ch;
	struct ikev2_pld *p_ke;
	struct ikev2_sa rsa;
	struct ikev2_ke ke;
	struct child_sa *c;
	size_t gir_len = 0;
	uint16_t notify;
	char tagbuf[160];
	int err;

	notify = eng_error_notify(l);
	if (notify) {
		log_warn("ike: %s: CHILD_SA %s refused by peer: %s", TAG(sa), cc->name,
			 ikev2_notify_name(notify));
		return;
	}
	err = eng_parse_child_plds(l, &rsa, &tsi, &tsr);
	if (err) {
		log_warn("ike: %s: CHILD_SA %s: %s SA/TS payloads in response", TAG(sa), cc->name,
			 err == -ENOENT ? "no" : "malformed");
		return;
	}
	if (proposal_check_reply(&cc->esp, IKEV2_PROTO_ESP, &rsa,
				 sa->req.child_ke ? sa->req.child_ke : -1,
				 where == ENG_CHILD_IN_AUTH ? PROPOSAL_NO_KE : 0, &ch) ||
	    ch.spi_size != 4) {
		log_warn("ike: %s: CHILD_SA %s: peer chose a proposal we did not offer", TAG(sa),
			 cc->name);
		return;
	}
	if (ch.dh) {
		p_ke = ikev2_pld_find(l, IKEV2_PLD_KE, 0);
		gir_len = dh_secret_len(ch.dh);
		if (!p_ke || ikev2_pld_parse_ke(p_ke, &ke, NULL) || ke.group != ch.dh ||
		    !sa->req.child_dh ||
		    dh_derive(sa->req.child_dh, ke.data, ke.len, gir, gir_len)) {
			log_warn("ike: %s: CHILD_SA %s: missing or invalid KE payload in response",
				 TAG(sa), cc->name);
			explicit_bzero(gir, sizeof(gir));
			return;
		}
	}
	if (!ts_subset(&tsi, &sa->req.tsi) || !ts_subset(&tsr, &sa->req.tsr)) {
		log_warn("ike: %s: CHILD_SA %s: peer's traffic selectors exceed our offer", TAG(sa),
			 cc->name);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		explicit_bzero(gir, sizeof(gir));
		return;
	}
	c->cfg = cc;
	c->spi_in = sa->req.child_spi;
	c->spi_out = eng_get32(ch.spi);
	c->alg = ch;
	c->ts_local = tsi;
	c->ts_remote = tsr;
	err = eng_child_install(eng, sa, c, gir_len ? gir : NULL, gir_len, ni, ni_len, nr, nr_len,
				true);
	explicit_bzero(gir, sizeof(gir));
	if (err) {
		log_warn("ike: %s: CHILD_SA %s SPIs in 0x%08x out 0x%08x: install failed: %s",
			 TAG(sa), cc->name, c->spi_in, c->spi_out, strerror(-err));
		free(c);
		return;
	}
	c->next = sa->children;
	sa->children = c;
}

/*
 * Responder: choose a child config of the connection for the peer's SA,
 * TSi, TSr (2.9: narrowed to what we allow), install it and fill @ans.
 * @ans->notify is set instead when nothing fits or installing fails.
 */
static void eng_child_respond_cfg(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l,
				  enum eng_child_exch where, const struct ikev2_ke *ke,
				  const uint8_t *ni, size_t ni_len, const uint8_t *nr,
				  size_t nr_len, const struct conf_child *only,
				  struct eng_child_answer *ans)
{
	unsigned int flags = where == ENG_CHILD_IN_AUTH ? PROPOSAL_NO_KE : 0;
	int ke_group = where == ENG_CHILD_IN_AUTH ? -1 : ke ? ke->group : 0;
	struct ikev2_ts_list tsi, tsr, allow_i, allow_r;
	const struct conf_child *cc = NULL;
	uint8_t gir[DH_MAX_SECRET_LEN];
	struct proposal_choice ch, other;
	struct dh_ctx *dh = NULL;
	struct ikev2_sa offer;
	uint16_t want_ke = 0;
	bool ts_ok = false;
	struct child_sa *c;
	size_t gir_len = 0;
	char tagbuf[160];
	size_t i;
	int err;

	memset(ans, 0, sizeof(*ans));
	if (eng_parse_child_plds(l, &offer, &tsi, &tsr)) {
		ans->notify = IKEV2_N_INVALID_SYNTAX;
		return;
	}
	for (i = 0; i < sa->conn->nchildren && !cc; i++) {
		const struct conf_child *x = sa->conn->children[i];

		if (only && x != only)
			continue;
		if (eng_ts_remote(sa, x, &allow_i) || eng_ts_local(sa, x, &allow_r) ||
		    ts_narrow(&tsi, &allow_i, &ans->tsi) || ts_narrow(&tsr, &allow_r, &ans->tsr))
			continue;
		ts_ok = true;
		if (!proposal_select(&x->esp, IKEV2_PROTO_ESP, &offer, ke_group, flags, &ch))
			cc = x;
		else if (ke_group > 0 && !want_ke &&
			 !proposal_select(&x->esp, IKEV2_PROTO_ESP, &offer, -1, flags, &other) &&
			 other.dh)
			want_ke = other.dh;
	}
	if (!cc && want_ke) {
		/* 1.3.1: the peer's KE is of a group we do not take */
		ans->notify = IKEV2_N_INVALID_KE_PAYLOAD;
		ans->notify_data[0] = want_ke >> 8;
		ans->notify_data[1] = want_ke & 0xff;
		ans->notify_len = 2;
		log_info("ike: %s: CREATE_CHILD_SA KE group %d not accepted, asking for %s",
			 TAG(sa), ke_group, ikev2_xform_id_name(IKEV2_XFORM_DH, want_ke));
		return;
	}
	if (!cc) {
		ans->notify = ts_ok ? IKEV2_N_NO_PROPOSAL_CHOSEN : IKEV2_N_TS_UNACCEPTABLE;
		log_warn("ike: %s: no child config for the peer's request: %s", TAG(sa),
			 ikev2_notify_name(ans->notify));
		return;
	}
	if (ch.dh) {
		gir_len = dh_secret_len(ch.dh);
		if (!ke || dh_new(ch.dh, &dh) || dh_public(dh, ans->ke_pub, dh_public_len(ch.dh)) ||
		    dh_derive(dh, ke->data, ke->len, gir, gir_len)) {
			dh_free(dh);
			explicit_bzero(gir, sizeof(gir));
			log_warn("ike: %s: CREATE_CHILD_SA: invalid KE payload", TAG(sa));
			ans->notify = IKEV2_N_INVALID_SYNTAX;
			return;
		}
		dh_free(dh);
		ans->ke_group = ch.dh;
	}
	c = calloc(1, sizeof(*c));
	if (!c || eng_alloc_spi(eng, sa, &c->spi_in)) {
		free(c);
		explicit_bzero(gir, sizeof(gir));
		ans->notify = IKEV2_N_NO_ADDITIONAL_SAS;
		ans->ke_group = 0;
		return;
	}
	c->cfg = cc;
	c->spi_out = eng_get32(ch.spi);
	c->alg = ch;
	c->ts_local = ans->tsr;
	c->ts_remote = ans->tsi;
	err = eng_child_install(eng, sa, c, gir_len ? gir : NULL, gir_len, ni, ni_len, nr, nr_len,
				false);
	explicit_bzero(gir, sizeof(gir));
	if (err) {
		log_warn("ike: %s: CHILD_SA %s SPIs in 0x%08x out 0x%08x: install failed: %s",
			 TAG(sa), cc->name, c->spi_in, c->spi_out, strerror(-err));
		eng_release_spi(eng, sa, c->spi_in);
		free(c);
		ans->notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		ans->ke_group = 0;
		return;
	}
	c->next = sa->children;
	sa->children = c;
	eng_put32(ch.spi, c->spi_in);
	proposal_choice_to_sa(&ch, &ans->sa);
}

/* Any child config of the connection (a rekey restricts it to the old
 * child's: eng_child_respond_cfg()). */
static void eng_child_respond(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l,
			      enum eng_child_exch where, const struct ikev2_ke *ke,
			      const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
			      struct eng_child_answer *ans)
{
	eng_child_respond_cfg(eng, sa, l, where, ke, ni, ni_len, nr, nr_len, NULL, ans);
}

static void eng_enc_child_answer(struct ikev2_enc *e, const struct eng_child_answer *ans)
{
	if (ans->notify)
		ikev2_enc_notify(e, IKEV2_PROTO_NONE, NULL, 0, ans->notify, ans->notify_data,
				 ans->notify_len);
	else
		ikev2_enc_sa(e, &ans->sa);
}

/* ---- NAT traversal (RFC 7296 2.23, RFC 3948) ---- */

static uint16_t eng_port(const struct sockaddr *a)
{
	if (a->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)a)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)(const void *)a)->sin6_port);
}

static void eng_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
}

/* NAT_DETECTION_*_IP data for @a; @fake: random bytes, so the peer sees a
 * NAT that is not there (encap = yes, as strongSwan does it). */
static int eng_natd_hash(uint64_t ispi, uint64_t rspi, const struct sockaddr *a, bool fake,
			 uint8_t out[20])
{
	if (fake)
		return RAND_bytes(out, 20) == 1 ? 0 : -EIO;
	if (a->sa_family == AF_INET)
		return crypto_natd_hash(ispi, rspi,
					(const uint8_t *)&((const struct sockaddr_in *)(const void *)a)
						->sin_addr,
					4, eng_port(a), out);
	return crypto_natd_hash(ispi, rspi,
				(const uint8_t *)&((const struct sockaddr_in6 *)(const void *)a)
					->sin6_addr,
				16, eng_port(a), out);
}

/* Our two NAT_DETECTION notifies for a message with SPIs @ispi/@rspi sent
 * from sa->local to sa->remote. */
static int eng_natd_enc(struct ikev2_enc *e, const struct ike_sa *sa, uint64_t ispi, uint64_t rspi)
{
	uint8_t src[20], dst[20];
	int err;

	err = eng_natd_hash(ispi, rspi, (const struct sockaddr *)&sa->local, sa->conn->encap, src);
	if (!err)
		err = eng_natd_hash(ispi, rspi, (const struct sockaddr *)&sa->remote, false, dst);
	if (err)
		return err;
	ikev2_enc_notify(e, IKEV2_PROTO_NONE, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, src,
			 sizeof(src));
	ikev2_enc_notify(e, IKEV2_PROTO_NONE, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP, dst,
			 sizeof(dst));
	return 0;
}

/*
 * The peer's NAT_DETECTION notifies of IKE_SA_INIT message @m, received on
 * @local from @remote, into sa->natd / nat_local / nat_remote. The peer may
 * send several SOURCE_IP hashes (one per address it has): any match means
 * no NAT on its side. A DESTINATION_IP that does not hash to our address as
 * we see it means a NAT in front of us.
 */
static void eng_natd_check(struct ike_sa *sa, struct ikev2_pld_list *l, uint64_t ispi,
			   uint64_t rspi, const struct sockaddr *local, const struct sockaddr *remote)
{
	uint8_t want_src[20], want_dst[20];
	bool src_seen = false, src_ok = false, dst_seen = false, dst_ok = false;
	struct ikev2_notify n;
	struct ikev2_pld *p;
	unsigned int i;

	if (eng_natd_hash(ispi, rspi, remote, false, want_src) ||
	    eng_natd_hash(ispi, rspi, local, false, want_dst))
		return;
	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_NOTIFY, i)); i++) {
		if (ikev2_pld_parse_notify(p, &n, NULL))
			continue;
		if (n.type == IKEV2_N_NAT_DETECTION_SOURCE_IP) {
			src_seen = true;
			src_ok |= n.len == 20 && !CRYPTO_memcmp(n.data, want_src, 20);
		} else if (n.type == IKEV2_N_NAT_DETECTION_DESTINATION_IP) {
			dst_seen = true;
			dst_ok |= n.len == 20 && !CRYPTO_memcmp(n.data, want_dst, 20);
		}
	}
	/* 2.23: both or neither; one alone is treated as no NAT-T support */
	sa->natd = src_seen && dst_seen;
	sa->nat_remote = sa->natd && !src_ok;
	sa->nat_local = sa->natd && !dst_ok;
	sa->nat_fake = sa->natd && sa->conn->encap;
}

static bool eng_natt(const struct ike_sa *sa)
{
	return sa->nat_local || sa->nat_remote || sa->nat_fake;
}

static void eng_natd_log(const struct ike_sa *sa)
{
	char tagbuf[160];

	if (!sa->natd)
		log_debug("ike: %s: peer sent no NAT_DETECTION notifies: no NAT-T", TAG(sa));
	else if (eng_natt(sa))
		log_info("ike: %s: NAT detected:%s%s%s; UDP encapsulation", TAG(sa),
			 sa->nat_local ? " we are behind one" : "",
			 sa->nat_remote ? " the peer is behind one" : "",
			 sa->nat_fake ? " (faked, encap = yes)" : "");
	else
		log_debug("ike: %s: no NAT between the peers", TAG(sa));
}

/* Initiator after IKE_SA_INIT: with a NAT, IKE moves to port 4500 (2.23). */
static void eng_natt_switch(struct ike_sa *sa)
{
	char tagbuf[160];

	if (!eng_natt(sa))
		return;
	if (eng_port((const struct sockaddr *)&sa->local) == IKEV2_PORT)
		eng_set_port(&sa->local, IKEV2_NATT_PORT);
	if (eng_port((const struct sockaddr *)&sa->remote) == IKEV2_PORT)
		eng_set_port(&sa->remote, IKEV2_NATT_PORT);
	log_info("ike: %s: IKE continues on port %u", TAG(sa),
		 eng_port((const struct sockaddr *)&sa->local));
}

/*
 * An authenticated message arrived on @local from @remote. With a NAT
 * between the peers the addresses an IKE SA uses follow the latest one
 * (2.23): the initiator's move to port 4500, a NAT that maps the peer to a
 * new port or address. The installed children follow (update_child).
 * Without a NAT nothing moves (that would be MOBIKE).
 */
static void eng_natt_follow(struct engine *eng, struct ike_sa *sa, const struct sockaddr *local,
			    const struct sockaddr *remote)
{
	struct sockaddr_storage old_remote;
	struct engine_child info;
	struct child_sa *c;
	char tagbuf[160], was[80];

	if (ike_addr_equal(local, (const struct sockaddr *)&sa->local) &&
	    ike_addr_equal(remote, (const struct sockaddr *)&sa->remote))
		return;
	if (!eng_natt(sa) || local->sa_family != sa->local.ss_family ||
	    remote->sa_family != sa->remote.ss_family)
		return;
	old_remote = sa->remote;
	ike_addr_str((const struct sockaddr *)&old_remote, was, sizeof(was));
	memcpy(&sa->local, local, ike_addr_len(local));
	memcpy(&sa->remote, remote, ike_addr_len(remote));
	log_info("ike: %s: peer moved (was %s), following it", TAG(sa), was);
	for (c = sa->children; c; c = c->next) {
		if (!c->installed || !eng->ops.update_child)
			continue;
		eng_child_info(sa, c, &info);
		eng->ops.update_child(eng->ops.arg, &info, (const struct sockaddr *)&old_remote);
	}
}

void engine_keepalive(struct engine *eng, uint64_t now)
{
	struct ike_sa *sa = NULL;

	if (!eng->ops.send_keepalive)
		return;
	while ((sa = ike_sa_next(&eng->sas, sa))) {
		if (sa->state != IKE_ST_ESTABLISHED || !sa->nat_local)
			continue;
		if (!sa->ka_next_ms) {
			sa->ka_next_ms = now + ENGINE_KEEPALIVE_MS;
			continue;
		}
		if (now < sa->ka_next_ms)
			continue;
		sa->ka_next_ms = now + ENGINE_KEEPALIVE_MS;
		eng->ops.send_keepalive(eng->ops.arg, (const struct sockaddr *)&sa->local,
					(const struct sockaddr *)&sa->remote);
	}
}

/* ---- public key authentication (auth_sig.h) ---- */

#define ENG_CERTREQ_MAX 32 /* CA hashes in our CERTREQ */
#define ENG_CHAIN_MAX	4 /* intermediates sent after our certificate */

static bool eng_conn_pubkey(const struct conf_conn *c)
{
	return (c->nlocal && c->local[0].method != CONF_AUTH_PSK) ||
	       (c->nremote && c->remote[0].method != CONF_AUTH_PSK);
}

/* A responder learns the connection only in IKE_AUTH: any of them counts. */
static bool eng_conf_pubkey(const struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nconns; i++)
		if (eng_conn_pubkey(conf->conns[i]))
			return true;
	return false;
}

/* CERTREQ (RFC 7296 3.7): the SHA-1 hashes of the public keys of the CAs
 * we trust for the peer of @c (its cacerts, else every CA certificate). */
static void eng_enc_certreq(const struct engine *eng, struct ikev2_enc *e,
			    const struct conf_conn *c)
{
	const struct conf_auth *ra = c->nremote ? &c->remote[0] : NULL;
	uint8_t buf[ENG_CERTREQ_MAX * AUTH_CA_HASH_LEN];
	size_t i, j, n, len = 0;
	X509 *ca;

	if (!ra || ra->method == CONF_AUTH_PSK || !c->send_certreq)
		return;
	n = ra->ncacerts ? ra->ncacerts : eng->conf->creds.ncacerts;
	for (i = 0; i < n && len < sizeof(buf); i++) {
		ca = ra->ncacerts ? ra->cacerts[i] : eng->conf->creds.cacerts[i].x509;
		if (auth_ca_hash(ca, buf + len))
			continue;
		for (j = 0; j < len; j += AUTH_CA_HASH_LEN)
			if (!memcmp(buf + j, buf + len, AUTH_CA_HASH_LEN))
				break;
		if (j == len)
			len += AUTH_CA_HASH_LEN;
	}
	if (len)
		ikev2_enc_cert(e, IKEV2_PLD_CERTREQ, IKEV2_CERT_X509_SIG, buf, len);
}

/* IKE_SA_INIT: N(SIGNATURE_HASH_ALGORITHMS) (RFC 7427 4) when signatures
 * may be used; the responder adds its CERTREQ. */
static void eng_init_auth_enc(const struct engine *eng, struct ikev2_enc *e,
			      const struct conf_conn *c, bool responder)
{
	uint8_t h[16];
	size_t n;

	if (responder ? !eng_conf_pubkey(eng->conf) : !eng_conn_pubkey(c))
		return;
	n = auth_hashes_encode(h, sizeof(h));
	ikev2_enc_notify(e, IKEV2_PROTO_NONE, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, h, n);
	if (responder)
		eng_enc_certreq(eng, e, c);
}

/* What the peer's IKE_SA_INIT (or IKE_AUTH request) says about signatures. */
static void eng_auth_peer_info(struct ike_sa *sa, struct ikev2_pld_list *l)
{
	struct ikev2_notify n;
	struct ikev2_pld *p;
	unsigned int i;

	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_NOTIFY, i)); i++)
		if (!ikev2_pld_parse_notify(p, &n, NULL) &&
		    n.type == IKEV2_N_SIGNATURE_HASH_ALGORITHMS)
			sa->peer_hashes |= auth_hashes_decode(n.data, n.len);
	if (ikev2_pld_find(l, IKEV2_PLD_CERTREQ, 0))
		sa->peer_certreq = true;
}

/*
 * RFC 7296 2.15: what an AUTH payload signs, <the signer's IKE_SA_INIT
 * message> | <the other's nonce> | prf(SK_p*, <the signer's ID body>), in a
 * buffer the caller frees.
 */
static int eng_signed_octets(const struct ike_sa *sa, bool of_initiator, const uint8_t *id_body,
			     size_t id_len, uint8_t **out, size_t *out_len)
{
	const uint8_t *msg = of_initiator ? sa->init_req : sa->init_resp;
	size_t msg_len = of_initiator ? sa->init_req_len : sa->init_resp_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nonce_len = of_initiator ? sa->nr_len : sa->ni_len;
	size_t prf_len = crypto_prf_len(sa->suite.prf);
	uint8_t *b;
	int err;

	*out = NULL;
	if (!msg || !prf_len)
		return -EINVAL;
	b = malloc(msg_len + nonce_len + prf_len);
	if (!b)
		return -ENOMEM;
	memcpy(b, msg, msg_len);
	memcpy(b + msg_len, nonce, nonce_len);
	err = crypto_auth_maced_id(sa->suite.prf, of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr,
				   sa->keys.prf_len, id_body, id_len, b + msg_len + nonce_len);
	if (err) {
		free(b);
		return err;
	}
	*out = b;
	*out_len = msg_len + nonce_len + prf_len;
	return 0;
}

/* Our certificate when the local round signs (NULL for PSK); -ENOKEY,
 * logged, when none with a private key names our identity. */
static int eng_local_cert(struct engine *eng, const struct ike_sa *sa, const uint8_t *idb,
			  size_t idb_len, X509 **out)
{
	const struct conf_auth *la = &sa->conn->local[0];
	char tagbuf[160], ids[160], subj[160];

	*out = NULL;
	if (la->method == CONF_AUTH_PSK)
		return 0;
	*out = auth_local_cert(eng->conf, la, idb[0], idb + 4, idb_len - 4);
	eng_id_str(idb, idb_len, ids, sizeof(ids));
	if (!*out) {
		log_warn("ike: %s: no certificate with a private key for our identity '%s'",
			 TAG(sa), ids);
		return -ENOKEY;
	}
	if (!auth_cert_has_id(*out, idb[0], idb + 4, idb_len - 4)) {
		auth_cert_subject(*out, subj, sizeof(subj));
		log_warn("ike: %s: our certificate '%s' does not name our identity '%s': "
			 "the peer will refuse it",
			 TAG(sa), subj, ids);
	}
	return 0;
}

/* CERT payloads (X.509 signature encoding): our certificate and the
 * intermediates from x509ca/ above it, as send_cert says. */
static void eng_enc_certs(const struct engine *eng, struct ikev2_enc *e, const struct ike_sa *sa,
			  X509 *cert)
{
	X509 *chain[1 + ENG_CHAIN_MAX];
	unsigned char *der;
	size_t i, n;
	int len;

	if (!cert || sa->conn->send_cert == CONF_SEND_CERT_NEVER ||
	    (sa->conn->send_cert == CONF_SEND_CERT_IFASKED && !sa->peer_certreq))
		return;
	chain[0] = cert;
	n = 1 + auth_chain_intermediates(eng->conf, cert, chain + 1, ENG_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		der = NULL;
		len = i2d_X509(chain[i], &der);
		if (len > 0)
			ikev2_enc_cert(e, IKEV2_PLD_CERT, IKEV2_CERT_X509_SIG, der, (size_t)len);
		else
			e->err = e->err ?: -EINVAL;
		OPENSSL_free(der);
	}
}

/*
 * Our AUTH payload for the local round: the PSK MAC, or a signature with the
 * private key of @cert (RFC 7427 if the peer announced hash algorithms, the
 * classic method of the key type if not). @idb is our ID payload body.
 */
static int eng_auth_make(struct engine *eng, const struct ike_sa *sa, const uint8_t *idb,
			 size_t idb_len, const struct conf_id *me, const struct conf_id *peer,
			 X509 *cert, uint8_t *method, uint8_t *out, size_t *out_len)
{
	const struct conf_auth *la = &sa->conn->local[0];
	char tagbuf[160], subj[160];
	uint8_t *oct = NULL;
	size_t olen = 0;
	EVP_PKEY *key;
	int err;

	if (la->method == CONF_AUTH_PSK) {
		*method = IKEV2_AUTH_SHARED_KEY_MIC;
		err = eng_psk_auth(eng, sa, sa->initiator, idb, idb_len, me, peer, out, out_len);
		if (err)
			log_warn("ike: %s: no PSK for our identity: %s", TAG(sa), strerror(-err));
		return err;
	}
	auth_cert_subject(cert, subj, sizeof(subj));
	key = conf_find_key(eng->conf, cert);
	if (!key || !auth_key_fits(key, la->method)) {
		log_warn("ike: %s: %s for our certificate '%s'", TAG(sa),
			 key ? "the private key type does not fit 'auth'" : "no private key", subj);
		return -ENOKEY;
	}
	err = eng_signed_octets(sa, sa->initiator, idb, idb_len, &oct, &olen);
	if (!err)
		err = auth_sign(key, sa->peer_hashes, false, oct, olen, method, out, out_len);
	free(oct);
	if (err)
		log_warn("ike: %s: cannot sign with the key of '%s': %s", TAG(sa), subj,
			 err == -ENOTSUP ? "no signature scheme the peer accepts" :
					   strerror(-err));
	else
		log_debug("ike: %s: AUTH %s with the key of '%s'", TAG(sa),
			  ikev2_auth_method_name(*method), subj);
	return err;
}

/* The peer's CERT payloads: the first X.509 one in *@ee, the others in
 * @chain. Other encodings are ignored. -EINVAL for an unparsable one. */
static int eng_peer_certs(struct ikev2_pld_list *l, X509 **ee, STACK_OF(X509) *chain)
{
	const unsigned char *q;
	struct ikev2_cert c;
	struct ikev2_pld *p;
	unsigned int i;
	X509 *x;

	for (i = 0; (p = ikev2_pld_find(l, IKEV2_PLD_CERT, i)); i++) {
		if (ikev2_pld_parse_cert(p, &c, NULL) || c.encoding != IKEV2_CERT_X509_SIG)
			continue;
		q = c.data;
		x = d2i_X509(NULL, &q, c.len);
		if (!x || q != c.data + c.len) {
			X509_free(x);
			ERR_clear_error();
			return -EINVAL;
		}
		if (!*ee) {
			*ee = x;
		} else if (!sk_X509_push(chain, x)) {
			X509_free(x);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool eng_cert_listed(X509 *x, X509 *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!X509_cmp(x, list[i]))
			return true;
	return false;
}

/*
 * Check the peer's AUTH payload against the remote round: the PSK MAC, or a
 * signature by a certificate (from its CERT payloads, else the remote
 * round's first certs entry or one in x509/ naming it; one of certs if
 * that is set) that validates up to a trust anchor and names the identity
 * the peer sent (sa->peer_id, already matched against the configured one).
 * 0, or -EACCES with the reason logged.
 */
static int eng_auth_check(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l,
			  const struct ikev2_auth *auth, const struct conf_id *me,
			  const struct conf_id *peer, const char *ids)
{
	const struct conf_auth *ra = &sa->conn->remote[0];
	bool of_initiator = !sa->initiator;
	uint8_t want[CRYPTO_PRF_MAX], *oct = NULL;
	char tagbuf[160], why[768], w[256], subj[160];
	STACK_OF(X509) *chain = NULL;
	size_t want_len = 0, olen = 0;
	X509 *ee = NULL;
	EVP_PKEY *pub;
	int err = -EACCES;

	if (ra->method == CONF_AUTH_PSK) {
		if (auth->method != IKEV2_AUTH_SHARED_KEY_MIC) {
			snprintf(why, sizeof(why), "it used %s, a PSK is configured",
				 ikev2_auth_method_name(auth->method));
			goto fail;
		}
		if (eng_psk_auth(eng, sa, of_initiator, sa->peer_id, sa->peer_id_len, me, peer,
				 want, &want_len)) {
			snprintf(why, sizeof(why), "no PSK for these identities");
		} else if (auth->len != want_len || CRYPTO_memcmp(auth->data, want, want_len)) {
			snprintf(why, sizeof(why), "PSK mismatch");
		} else {
			err = 0;
		}
		explicit_bzero(want, sizeof(want));
		if (err)
			goto fail;
		return 0;
	}
	if (auth->method == IKEV2_AUTH_SHARED_KEY_MIC) {
		snprintf(why, sizeof(why), "it used a PSK, a certificate is required");
		goto fail;
	}
	chain = sk_X509_new_null();
	if (!chain) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	if (eng_peer_certs(l, &ee, chain)) {
		snprintf(why, sizeof(why), "malformed CERT payload");
		goto fail;
	}
	if (!ee) {
		ee = ra->ncerts ? ra->certs[0] :
				  auth_peer_cert_lookup(eng->conf, peer->type, peer->data,
							peer->len);
		if (ee && !X509_up_ref(ee))
			ee = NULL;
	}
	if (!ee) {
		snprintf(why, sizeof(why), "no certificate (none sent, none in x509/ names it)");
		goto fail;
	}
	auth_cert_subject(ee, subj, sizeof(subj));
	if (ra->ncerts && !eng_cert_listed(ee, ra->certs, ra->ncerts)) {
		snprintf(why, sizeof(why), "certificate '%s' is not one of remote certs", subj);
		goto fail;
	}
	if (!auth_cert_has_id(ee, peer->type, peer->data, peer->len)) {
		snprintf(why, sizeof(why), "identity mismatch: certificate '%s' does not name '%s'",
			 subj, ids);
		goto fail;
	}
	if (auth_cert_verify(eng->conf, ra->cacerts, ra->ncacerts, ee, chain, 0, w, sizeof(w))) {
		snprintf(why, sizeof(why), "certificate '%s' %s", subj, w);
		goto fail;
	}
	pub = X509_get0_pubkey(ee);
	if (!pub || !auth_key_fits(pub, ra->method)) {
		snprintf(why, sizeof(why), "the key of certificate '%s' does not fit 'auth'", subj);
		goto fail;
	}
	if (eng_signed_octets(sa, of_initiator, sa->peer_id, sa->peer_id_len, &oct, &olen)) {
		snprintf(why, sizeof(why), "internal error");
		goto fail;
	}
	if (auth_verify(pub, auth->method, auth->data, auth->len, oct, olen, w, sizeof(w))) {
		snprintf(why, sizeof(why), "%s with certificate '%s' (%s)", w, subj,
			 ikev2_auth_method_name(auth->method));
		goto fail;
	}
	log_info("ike: %s: peer '%s' authenticated with certificate '%s' (%s)", TAG(sa), ids, subj,
		 ikev2_auth_method_name(auth->method));
	err = 0;
	goto out;
fail:
	log_warn("ike: %s: authentication of peer '%s' failed: %s", TAG(sa), ids, why);
	err = -EACCES;
out:
	free(oct);
	X509_free(ee);
	sk_X509_pop_free(chain, X509_free);
	return err;
}

/* 2.21.2: an initiator that refuses the responder's AUTH may say so in an
 * INFORMATIONAL request; sent once, the IKE SA is gone before any answer. */
static void eng_auth_failed_notify(struct engine *eng, struct ike_sa *sa)
{
	struct ikev2_enc e;

	eng_req_begin(eng, sa, &e, IKEV2_EXCH_INFORMATIONAL);
	ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
	if (!ikev2_msg_finish(&e, &sa->sk_out))
		eng_send_sa(eng, sa, e.buf, e.len);
	sa->next_msgid++;
}

/* The other side of that: an INFORMATIONAL request with
 * N(AUTHENTICATION_FAILED) closes the IKE SA (as strongSwan does). */
static bool eng_auth_failed_recv(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l)
{
	struct ikev2_notify n;
	char tagbuf[160];

	if (!eng_find_notify(l, IKEV2_N_AUTHENTICATION_FAILED, &n))
		return false;
	log_warn("ike: %s: peer refused our authentication (AUTHENTICATION_FAILED)", TAG(sa));
	eng->stats.auth_failed++;
	return true;
}

/* ---- IKE_SA_INIT ---- */

static int eng_init_send(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	uint8_t pub[DH_MAX_PUBLIC_LEN];
	size_t pub_len = dh_public_len(sa->ke_group);
	struct ikev2_sa offer;
	struct ikev2_enc e;
	struct ikev2_hdr h;
	uint8_t *req, *copy;
	int err;

	eng_hdr(sa, &h, IKEV2_EXCH_IKE_SA_INIT, 0, false);
	ikev2_msg_begin(&e, eng->tx, sizeof(eng->tx), &h);
	if (sa->cookie_len)
		ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, IKEV2_N_COOKIE, sa->cookie,
				 sa->cookie_len);
	err = proposal_build(&sa->conn->proposals, IKEV2_PROTO_IKE, NULL, 0, sa->ke_group, 0,
			     &offer);
	if (!err)
		err = dh_public(sa->dh, pub, pub_len);
	if (err)
		return err;
	ikev2_enc_sa(&e, &offer);
	ikev2_enc_ke(&e, sa->ke_group, pub, pub_len);
	ikev2_enc_nonce(&e, sa->ni, sa->ni_len);
	eng_init_auth_enc(eng, &e, sa->conn, false);
	err = eng_natd_enc(&e, sa, sa->ispi, 0);
	if (!err)
		err = ikev2_msg_finish(&e, NULL);
	if (err)
		return err;
	req = eng_dup(e.buf, e.len);
	copy = eng_dup(e.buf, e.len);
	if (!req || !copy) {
		free(req);
		free(copy);
		return -ENOMEM;
	}
	free(sa->init_req);
	sa->init_req = copy;
	sa->init_req_len = e.len;
	sa->n_inits++;
	ike_req_start(&sa->req, IKE_REQ_INIT, 0, req, e.len, now, &eng->retx);
	sa->next_msgid = 1;
	eng_send_sa(eng, sa, req, e.len);
	return 0;
}

static int eng_auth_send(struct engine *eng, struct ike_sa *sa, uint64_t now);

static void eng_init_response(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
			      uint64_t now)
{
	struct ikev2_pld *p_sa, *p_ke, *p_nonce;
	uint8_t gir[DH_MAX_SECRET_LEN];
	struct ikev2_notify n;
	struct ikev2_blob nonce;
	struct ikev2_ke ke;
	struct ikev2_sa rsa;
	uint16_t notify;
	char tagbuf[160];
	int err;

	if (m->hdr.msgid != 0) {
		log_warn("ike: %s: IKE_SA_INIT response with message ID %u, dropped", TAG(sa),
			 m->hdr.msgid);
		eng->stats.rx_dropped++;
		return;
	}
	if (eng_find_notify(&m->plds, IKEV2_N_COOKIE, &n)) {
		if (!n.len || n.len > COOKIE_MAX || sa->n_inits >= ENG_INIT_TRIES) {
			eng_ike_kill(eng, sa, "failed: unusable COOKIE");
			return;
		}
		memcpy(sa->cookie, n.data, n.len);
		sa->cookie_len = n.len;
		log_info("ike: %s: responder asks for a cookie, retrying", TAG(sa));
		err = eng_init_send(eng, sa, now);
		if (err)
			eng_ike_kill(eng, sa, "failed: cannot resend IKE_SA_INIT");
		return;
	}
	if (eng_find_notify(&m->plds, IKEV2_N_INVALID_KE_PAYLOAD, &n)) {
		uint16_t group = n.len == 2 ? (uint16_t)(n.data[0] << 8 | n.data[1]) : 0;
		struct dh_ctx *dh = NULL;

		if (!group || group == sa->ke_group ||
		    !proposal_has_ke(&sa->conn->proposals, group) ||
		    sa->n_inits >= ENG_INIT_TRIES || dh_new(group, &dh)) {
			log_warn("ike: %s: peer wants KE group %u, which we cannot use", TAG(sa),
				 group);
			eng_ike_kill(eng, sa, "failed: INVALID_KE_PAYLOAD");
			return;
		}
		log_info("ike: %s: peer wants KE group %s, retrying", TAG(sa),
			 ikev2_xform_id_name(IKEV2_XFORM_DH, group));
		dh_free(sa->dh);
		sa->dh = dh;
		sa->ke_group = group;
		err = eng_init_send(eng, sa, now);
		if (err)
			eng_ike_kill(eng, sa, "failed: cannot resend IKE_SA_INIT");
		return;
	}
	notify = eng_error_notify(&m->plds);
	if (notify) {
		log_warn("ike: %s: IKE_SA_INIT refused: %s", TAG(sa), ikev2_notify_name(notify));
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	p_sa = ikev2_pld_find(&m->plds, IKEV2_PLD_SA, 0);
	p_ke = ikev2_pld_find(&m->plds, IKEV2_PLD_KE, 0);
	p_nonce = ikev2_pld_find(&m->plds, IKEV2_PLD_NONCE, 0);
	if (!p_sa || !p_ke || !p_nonce || !m->hdr.rspi || ikev2_pld_parse_sa(p_sa, &rsa, NULL) ||
	    ikev2_pld_parse_ke(p_ke, &ke, NULL) || ikev2_pld_parse_nonce(p_nonce, &nonce, NULL)) {
		log_warn("ike: %s: malformed IKE_SA_INIT response", TAG(sa));
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	if (proposal_check_reply(&sa->conn->proposals, IKEV2_PROTO_IKE, &rsa, sa->ke_group, 0,
				 &sa->alg) ||
	    ke.group != sa->ke_group) {
		log_warn("ike: %s: responder chose a proposal or KE group we did not offer",
			 TAG(sa));
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	sa->rspi = m->hdr.rspi;
	memcpy(sa->nr, nonce.data, nonce.len);
	sa->nr_len = nonce.len;
	err = dh_derive(sa->dh, ke.data, ke.len, gir, dh_secret_len(sa->ke_group));
	if (!err)
		err = eng_derive_ike_keys(sa, gir, dh_secret_len(sa->ke_group));
	explicit_bzero(gir, sizeof(gir));
	if (err) {
		log_warn("ike: %s: key exchange failed: %s", TAG(sa), strerror(-err));
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	sa->init_resp = eng_dup(m->buf, m->len);
	if (!sa->init_resp) {
		eng_ike_kill(eng, sa, "failed: out of memory");
		return;
	}
	sa->init_resp_len = m->len;
	ike_req_done(&sa->req);
	eng_auth_peer_info(sa, &m->plds);
	eng_natd_check(sa, &m->plds, sa->ispi, sa->rspi, (const struct sockaddr *)&sa->local,
		       (const struct sockaddr *)&sa->remote);
	eng_natd_log(sa);
	eng_natt_switch(sa);
	ike_sa_set_state(&eng->sas, sa, IKE_ST_AUTH_SENT);
	err = eng_auth_send(eng, sa, now);
	if (err) {
		log_warn("ike: %s: cannot send IKE_AUTH: %s", TAG(sa), strerror(-err));
		eng_ike_kill(eng, sa, "failed");
	}
}

/* The first connection whose addresses fit and which accepts the offer. */
static const struct conf_conn *eng_find_conn_init(struct engine *eng, const struct sockaddr *local,
						  const struct sockaddr *remote,
						  const struct ikev2_sa *offer)
{
	struct proposal_choice ch;
	size_t i;

	for (i = 0; i < eng->conf->nconns; i++) {
		const struct conf_conn *c = eng->conf->conns[i];

		if (eng_host_match(c->local_addrs, c->nlocal_addrs, local) &&
		    eng_host_match(c->remote_addrs, c->nremote_addrs, remote) &&
		    !proposal_select(&c->proposals, IKEV2_PROTO_IKE, offer, -1, 0, &ch))
			return c;
	}
	return NULL;
}

/*
 * Is @m, an IKE_SA_INIT request for half-open @sa, the request @sa answered?
 * A retransmission is byte-identical. The one other request we accept is the
 * initiator's retry with our cookie of a request that we answered with the
 * cookie demand (2.6: the retry repeats all other payloads unchanged, so the
 * nonce and KE, hence the keys, are the same) while a stale copy without the
 * cookie, processed once the half-open count had dropped, made @sa. The
 * initiator signs the request it sent last (2.15): from now on that one is
 * @sa's, else its AUTH would fail as a PSK or signature mismatch.
 */
static bool eng_init_same_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				  const struct sockaddr *remote)
{
	struct ikev2_pld *p_nonce = ikev2_pld_find(&m->plds, IKEV2_PLD_NONCE, 0);
	struct ikev2_blob nonce;
	struct ikev2_notify n;
	char tagbuf[160];
	uint8_t *copy;

	if (m->len == sa->init_req_len && !memcmp(m->buf, sa->init_req, m->len))
		return true;
	if (!p_nonce || ikev2_pld_parse_nonce(p_nonce, &nonce, NULL) ||
	    nonce.len != sa->ni_len || memcmp(nonce.data, sa->ni, nonce.len) ||
	    !eng_find_notify(&m->plds, IKEV2_N_COOKIE, &n) ||
	    !cookie_check(&eng->cookie, n.data, n.len, nonce.data, nonce.len, remote,
			  m->hdr.ispi)) {
		log_info("ike: %s: IKE_SA_INIT request that differs from the one answered, dropped",
			 TAG(sa));
		return false;
	}
	copy = eng_dup(m->buf, m->len);
	if (!copy)
		return false;
	free(sa->init_req);
	sa->init_req = copy;
	sa->init_req_len = m->len;
	log_info("ike: %s: IKE_SA_INIT retried with our cookie after a stale copy made the SA; "
		 "answering it",
		 TAG(sa));
	return true;
}

static void eng_init_request(struct engine *eng, struct ikev2_msg *m, const struct sockaddr *local,
			     const struct sockaddr *remote, uint64_t now)
{
	struct ikev2_pld *p_sa, *p_ke, *p_nonce;
	uint8_t gir[DH_MAX_SECRET_LEN], pub[DH_MAX_PUBLIC_LEN];
	const struct conf_conn *conn;
	struct proposal_choice ch;
	struct ikev2_sa offer, answer;
	struct ikev2_blob nonce;
	struct ikev2_notify n;
	struct ikev2_ke ke;
	struct ikev2_enc e;
	struct ikev2_hdr h;
	struct ike_sa *sa;
	enum ikev2_perr ke_why = IKEV2_PERR_NONE;
	char peer[80], tagbuf[160], alg[128];
	bool bad_ke = false;
	int err;

	ike_addr_str(remote, peer, sizeof(peer));
	sa = ike_sa_lookup_init(&eng->sas, m->hdr.ispi, remote);
	if (sa) {
		if (m->hdr.msgid == 0 && sa->init_resp && sa->state == IKE_ST_HALF_OPEN &&
		    eng_init_same_request(eng, sa, m, remote)) {
			log_info("ike: %s: retransmitted IKE_SA_INIT request, resending our reply",
				 TAG(sa));
			eng->stats.cached_replies++;
			eng_send_sa(eng, sa, sa->init_resp, sa->init_resp_len);
		} else {
			eng->stats.rx_dropped++;
		}
		return;
	}
	p_sa = ikev2_pld_find(&m->plds, IKEV2_PLD_SA, 0);
	p_ke = ikev2_pld_find(&m->plds, IKEV2_PLD_KE, 0);
	p_nonce = ikev2_pld_find(&m->plds, IKEV2_PLD_NONCE, 0);
	if (m->hdr.msgid != 0 || !p_sa || !p_ke || !p_nonce ||
	    ikev2_pld_parse_sa(p_sa, &offer, NULL) ||
	    (ikev2_pld_parse_ke(p_ke, &ke, &ke_why) && ke_why != IKEV2_PERR_BAD_KE_LENGTH) ||
	    ikev2_pld_parse_nonce(p_nonce, &nonce, NULL)) {
		log_warn("ike: %s: malformed IKE_SA_INIT request SPI %016" PRIx64 "_i, dropped",
			 peer, m->hdr.ispi);
		eng->stats.rx_dropped++;
		return;
	}
	eng->stats.requests_processed++;
	conn = eng_find_conn_init(eng, local, remote, &offer);
	if (!conn) {
		log_warn("ike: %s: IKE_SA_INIT SPI %016" PRIx64 "_i: no matching connection "
			 "or proposal, answering NO_PROPOSAL_CHOSEN",
			 peer, m->hdr.ispi);
		eng_init_notify(eng, m, local, remote, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
		return;
	}
	if (eng->sas.n_half_open >= eng->p.cookie_threshold) {
		bool ok = eng_find_notify(&m->plds, IKEV2_N_COOKIE, &n) &&
			  cookie_check(&eng->cookie, n.data, n.len, nonce.data, nonce.len, remote,
				       m->hdr.ispi);

		if (!ok) {
			uint8_t ck[COOKIE_LEN];

			if (cookie_make(&eng->cookie, nonce.data, nonce.len, remote, m->hdr.ispi,
					ck))
				return;
			log_info("ike: %s: %u half-open SAs, asking SPI %016" PRIx64
				 "_i for a cookie",
				 peer, eng->sas.n_half_open, m->hdr.ispi);
			eng->stats.cookies_sent++;
			eng_init_notify(eng, m, local, remote, IKEV2_N_COOKIE, ck, sizeof(ck));
			return;
		}
	}
	if (proposal_select(&conn->proposals, IKEV2_PROTO_IKE, &offer, ke.group, 0, &ch)) {
		uint8_t g[2];

		if (proposal_select(&conn->proposals, IKEV2_PROTO_IKE, &offer, -1, 0, &ch))
			return;
		g[0] = ch.dh >> 8;
		g[1] = ch.dh & 0xff;
		log_info("ike: %s: IKE_SA_INIT SPI %016" PRIx64 "_i: KE group %u not accepted, "
			 "asking for %s",
			 peer, m->hdr.ispi, ke.group, ikev2_xform_id_name(IKEV2_XFORM_DH, ch.dh));
		eng->stats.invalid_ke_sent++;
		eng_init_notify(eng, m, local, remote, IKEV2_N_INVALID_KE_PAYLOAD, g, sizeof(g));
		return;
	}
	if (ke_why == IKEV2_PERR_BAD_KE_LENGTH) {
		/* 3.4: the group is right, the size is not: a syntax error */
		log_warn("ike: %s: IKE_SA_INIT SPI %016" PRIx64 "_i: %zu bytes of KE data for "
			 "%s, answering INVALID_SYNTAX",
			 peer, m->hdr.ispi, (size_t)ke.len,
			 ikev2_xform_id_name(IKEV2_XFORM_DH, ke.group));
		eng_init_notify(eng, m, local, remote, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	sa = ike_sa_new(false, conn, local, remote, now);
	if (!sa)
		return;
	sa->ispi = m->hdr.ispi;
	sa->alg = ch;
	sa->ke_group = ch.dh;
	memcpy(sa->ni, nonce.data, nonce.len);
	sa->ni_len = nonce.len;
	sa->nr_len = IKE_NONCE_LEN;
	err = ike_sa_new_spi(&eng->sas, &sa->rspi);
	if (!err && RAND_bytes(sa->nr, (int)sa->nr_len) != 1)
		err = -EIO;
	if (!err)
		err = dh_new(ch.dh, &sa->dh);
	if (!err)
		err = dh_public(sa->dh, pub, dh_public_len(ch.dh));
	if (!err) {
		err = dh_derive(sa->dh, ke.data, ke.len, gir, dh_secret_len(ch.dh));
		/* RFC 6989, RFC 8031 2.3: not a valid public value (off the
		 * curve, out of range, low order): refused, no state */
		bad_ke = err == -EINVAL;
	}
	if (!err)
		err = eng_derive_ike_keys(sa, gir, dh_secret_len(ch.dh));
	explicit_bzero(gir, sizeof(gir));
	if (err) {
		log_warn("ike: %s: IKE_SA_INIT SPI %016" PRIx64 "_i: key exchange failed: %s, %s",
			 peer, m->hdr.ispi,
			 bad_ke ? "invalid KE public value" : strerror(-err),
			 bad_ke ? "answering INVALID_SYNTAX" : "dropped");
		ike_sa_free(sa);
		if (bad_ke)
			eng_init_notify(eng, m, local, remote, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	eng_natd_check(sa, &m->plds, sa->ispi, 0, local, remote);
	eng_auth_peer_info(sa, &m->plds);
	eng_hdr(sa, &h, IKEV2_EXCH_IKE_SA_INIT, 0, true);
	ikev2_msg_begin(&e, eng->tx, sizeof(eng->tx), &h);
	proposal_choice_to_sa(&ch, &answer);
	ikev2_enc_sa(&e, &answer);
	ikev2_enc_ke(&e, ch.dh, pub, dh_public_len(ch.dh));
	ikev2_enc_nonce(&e, sa->nr, sa->nr_len);
	eng_init_auth_enc(eng, &e, conn, true);
	/* 2.23: NAT_DETECTION only to a peer that sent them */
	err = sa->natd ? eng_natd_enc(&e, sa, sa->ispi, sa->rspi) : 0;
	if (!err)
		err = ikev2_msg_finish(&e, NULL);
	sa->init_req = eng_dup(m->buf, m->len);
	sa->init_req_len = m->len;
	sa->init_resp = err ? NULL : eng_dup(e.buf, e.len);
	sa->init_resp_len = e.len;
	if (!sa->init_req || !sa->init_resp) {
		ike_sa_free(sa);
		return;
	}
	sa->state = IKE_ST_HALF_OPEN;
	sa->expect_msgid = 1;
	ike_sa_table_add(&eng->sas, sa);
	proposal_str(&ch, alg, sizeof(alg));
	log_info("ike: %s: IKE_SA_INIT answered, %s, half-open", TAG(sa), alg);
	eng_natd_log(sa);
	eng_send_sa(eng, sa, sa->init_resp, sa->init_resp_len);
}

/* ---- IKE_AUTH ---- */

/*
 * Responder: lease virtual IPs for a CFG_REQUEST in IKE_AUTH (cp.h). 0 with
 * @send set when there is a CFG_REPLY to add, an error notify
 * (INTERNAL_ADDRESS_FAILURE) when nothing could be leased. A request on a
 * connection without pools is ignored, as strongSwan does.
 */
static uint16_t eng_cp_respond(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l,
			       struct cp_msg *reply, bool *send)
{
	struct ikev2_pld *p = ikev2_pld_find(l, IKEV2_PLD_CP, 0);
	struct pool_client client;
	char tagbuf[160], a[INET6_ADDRSTRLEN];
	struct ikev2_cp req;
	int err;

	*send = false;
	if (!p)
		return 0;
	if (ikev2_pld_parse_cp(p, &req, NULL)) {
		log_warn("ike: %s: malformed configuration payload", TAG(sa));
		return IKEV2_N_INTERNAL_ADDRESS_FAILURE;
	}
	if (req.cfg_type != IKEV2_CFG_REQUEST)
		return 0;
	if (!sa->conn->npools) {
		log_info("ike: %s: peer asks for a virtual IP, connection %s has no pools", TAG(sa),
			 sa->conn->name);
		return 0;
	}
	client.id = sa->peer_id;
	client.id_len = sa->peer_id_len;
	client.remote = (const struct sockaddr *)&sa->remote;
	cp_release(&sa->vips_peer);
	err = cp_respond(eng->pools, sa->conn, &req, &client, &sa->vips_peer, reply);
	if (err) {
		log_warn("ike: %s: no virtual IP for the peer: %s", TAG(sa),
			 err == -ENOSPC ? "pools exhausted" :
			 err == -ENOENT ? "no pool of the requested family" :
					  strerror(-err));
		return IKEV2_N_INTERNAL_ADDRESS_FAILURE;
	}
	for (unsigned int i = 0; i < sa->vips_peer.n; i++)
		log_info("ike: %s: virtual IP %s leased from pool %s", TAG(sa),
			 inet_ntop(sa->vips_peer.addr[i].family, sa->vips_peer.addr[i].addr, a,
				   sizeof(a)),
			 pool_name(sa->vips_peer.pool[i]));
	*send = true;
	return 0;
}

/* Initiator: the virtual IPs in the IKE_AUTH response, added to the host.
 * -errno (logged) if we asked and got none: the IKE SA is closed. */
static int eng_cp_assigned(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l)
{
	struct ikev2_pld *p = ikev2_pld_find(l, IKEV2_PLD_CP, 0);
	char tagbuf[160], a[INET6_ADDRSTRLEN];
	struct ikev2_cp cp;
	uint16_t notify;
	int err;

	if (!p) {
		notify = eng_error_notify(l);
		log_warn("ike: %s: no virtual IP assigned by the peer%s%s, closing", TAG(sa),
			 notify ? ": " : "", notify ? ikev2_notify_name(notify) : "");
		return -ENOENT;
	}
	err = ikev2_pld_parse_cp(p, &cp, NULL);
	if (!err)
		err = cp_parse_reply(sa->conn, &cp, &sa->vips_own);
	if (err) {
		log_warn("ike: %s: %s configuration reply, closing", TAG(sa),
			 err == -ENOENT ? "no requested virtual IP in the" : "malformed");
		memset(&sa->vips_own, 0, sizeof(sa->vips_own));
		return err;
	}
	for (unsigned int i = 0; i < sa->vips_own.n; i++)
		log_info("ike: %s: virtual IP %s assigned", TAG(sa),
			 inet_ntop(sa->vips_own.addr[i].family, sa->vips_own.addr[i].addr, a,
				   sizeof(a)));
	err = eng->ops.vip_add ? eng->ops.vip_add(eng->ops.arg, sa, &sa->vips_own) : 0;
	if (err) {
		log_warn("ike: %s: cannot add the virtual IP: %s, closing", TAG(sa),
			 strerror(-err));
		memset(&sa->vips_own, 0, sizeof(sa->vips_own));
	}
	return err;
}

static int eng_auth_send(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	const struct conf_auth *ra = &sa->conn->remote[0];
	uint8_t idb[IKE_ID_MAX], auth[AUTH_SIG_MAX], method;
	struct conf_id me;
	struct cp_msg cpm;
	struct ikev2_enc e;
	size_t idb_len, auth_len;
	X509 *cert;
	int err;

	err = eng_local_id(sa, idb, sizeof(idb), &idb_len, &me);
	if (!err)
		err = eng_local_cert(eng, sa, idb, idb_len, &cert);
	if (!err)
		err = eng_auth_make(eng, sa, idb, idb_len, &me, &ra->id, cert, &method, auth,
				    &auth_len);
	if (err)
		goto out;
	if (sa->first_child) {
		err = eng_child_offer(eng, sa, sa->first_child, ENG_CHILD_IN_AUTH, 0);
		if (err)
			goto out;
	}
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_IKE_AUTH);
	ikev2_enc_id(&e, IKEV2_PLD_IDI, idb[0], idb + 4, idb_len - 4);
	eng_enc_certs(eng, &e, sa, cert);
	eng_enc_certreq(eng, &e, sa->conn);
	if (ra->id.type != CONF_ID_ANY && !ra->id.wildcard)
		ikev2_enc_id(&e, IKEV2_PLD_IDR, (uint8_t)ra->id.type, ra->id.data, ra->id.len);
	ikev2_enc_auth(&e, method, auth, auth_len);
	if (sa->conn->nvips) {
		cp_build_request(sa->conn, &cpm);
		ikev2_enc_cp(&e, &cpm.cp);
	}
	if (sa->first_child) {
		eng_enc_child_offer(&e, &sa->req);
		eng_enc_child_ts(&e, &sa->req.tsi, &sa->req.tsr);
	}
	err = eng_req_finish(eng, sa, &e, IKE_REQ_AUTH, now);
out:
	explicit_bzero(auth, sizeof(auth));
	return err;
}

static void eng_auth_response(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m)
{
	const struct conf_auth *ra = &sa->conn->remote[0];
	uint8_t idb[IKE_ID_MAX];
	struct ikev2_pld *p_id, *p_auth;
	struct conf_id me, peer;
	struct ikev2_auth auth;
	struct ikev2_id id;
	size_t idb_len;
	uint16_t notify;
	char tagbuf[160], ids[256];
	int err;

	p_id = ikev2_pld_find(&m->inner, IKEV2_PLD_IDR, 0);
	p_auth = ikev2_pld_find(&m->inner, IKEV2_PLD_AUTH, 0);
	if (!p_id || !p_auth) {
		notify = eng_error_notify(&m->inner);
		if (notify == IKEV2_N_AUTHENTICATION_FAILED)
			eng->stats.auth_failed++;
		log_warn("ike: %s: IKE_AUTH failed: %s", TAG(sa),
			 notify ? ikev2_notify_name(notify) : "no IDr/AUTH in response");
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	if (ikev2_pld_parse_id(p_id, &id, NULL) || ikev2_pld_parse_auth(p_auth, &auth, NULL) ||
	    p_id->len > sizeof(sa->peer_id) || p_id->len < 4) {
		log_warn("ike: %s: malformed IKE_AUTH response", TAG(sa));
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	memcpy(sa->peer_id, p_id->body, p_id->len);
	sa->peer_id_len = p_id->len;
	eng_id_str(sa->peer_id, sa->peer_id_len, ids, sizeof(ids));
	eng_peer_conf_id(sa->peer_id, sa->peer_id_len, &peer);
	if (!conf_id_match(&ra->id, &peer)) {
		log_warn("ike: %s: authentication of peer '%s' failed: identity mismatch, "
			 "'%s' expected",
			 TAG(sa), ids, ra->id.str ? ra->id.str : "%any");
		err = -EACCES;
	} else {
		err = eng_local_id(sa, idb, sizeof(idb), &idb_len, &me);
		if (!err)
			err = eng_auth_check(eng, sa, &m->inner, &auth, &me, &peer, ids);
	}
	if (err) {
		eng->stats.auth_failed++;
		eng_auth_failed_notify(eng, sa);
		eng_ike_kill(eng, sa, "failed: AUTHENTICATION_FAILED sent");
		return;
	}
	eng_established(eng, sa);
	log_info("ike: %s: IKE SA established with '%s' (%s)", TAG(sa), ids,
		 ra->method == CONF_AUTH_PSK ? "PSK" : "certificate");
	if (sa->conn->nvips && eng_cp_assigned(eng, sa, &m->inner)) {
		sa->close_after_auth = true; /* Delete sent by eng_response() */
		return;
	}
	if (sa->req.child_cfg)
		eng_child_response(eng, sa, &m->inner, ENG_CHILD_IN_AUTH, sa->ni, sa->ni_len,
				   sa->nr, sa->nr_len);
}

/* The connection for an authenticated peer: the one picked at IKE_SA_INIT
 * if its remote identity accepts @peer, else another one with fitting
 * addresses, identities and IKE proposal. */
static const struct conf_conn *eng_find_conn_auth(struct engine *eng, const struct ike_sa *sa,
						  const struct conf_id *peer,
						  const struct conf_id *idr, uint8_t auth_method)
{
	bool psk = auth_method == IKEV2_AUTH_SHARED_KEY_MIC;

	struct proposal_choice ch;
	struct ikev2_sa mine;
	size_t i;

	proposal_choice_to_sa(&sa->alg, &mine);
	for (i = 0; i <= eng->conf->nconns; i++) {
		const struct conf_conn *c = i ? eng->conf->conns[i - 1] : sa->conn;

		if (i && c == sa->conn)
			continue;
		if (!c->nremote || !c->nlocal || !conf_id_match(&c->remote[0].id, peer))
			continue;
		/* the peer's AUTH method tells a PSK connection from a certificate one */
		if (psk != (c->remote[0].method == CONF_AUTH_PSK))
			continue;
		if (idr && c->local[0].id.type != CONF_ID_ANY &&
		    !conf_id_match(&c->local[0].id, idr))
			continue;
		if (!eng_host_match(c->local_addrs, c->nlocal_addrs,
				    (const struct sockaddr *)&sa->local) ||
		    !eng_host_match(c->remote_addrs, c->nremote_addrs,
				    (const struct sockaddr *)&sa->remote) ||
		    proposal_select(&c->proposals, IKEV2_PROTO_IKE, &mine, sa->alg.dh, 0, &ch))
			continue;
		return c;
	}
	return NULL;
}

static void eng_auth_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m)
{
	uint8_t idb[IKE_ID_MAX], mine[AUTH_SIG_MAX], method;
	struct ikev2_pld *p_id, *p_idr, *p_auth;
	struct conf_id me, peer, idr_id;
	const struct conf_conn *conn;
	struct eng_child_answer ans;
	struct ikev2_auth auth;
	struct ikev2_id id;
	struct ikev2_enc e;
	size_t idb_len, mine_len;
	char tagbuf[160], ids[256];
	X509 *cert = NULL;
	bool has_child, has_cp;
	struct cp_msg cpm;
	uint16_t cp_notify;
	int err;

	p_id = ikev2_pld_find(&m->inner, IKEV2_PLD_IDI, 0);
	p_idr = ikev2_pld_find(&m->inner, IKEV2_PLD_IDR, 0);
	p_auth = ikev2_pld_find(&m->inner, IKEV2_PLD_AUTH, 0);
	if (!p_id || !p_auth || ikev2_pld_parse_id(p_id, &id, NULL) ||
	    ikev2_pld_parse_auth(p_auth, &auth, NULL) || p_id->len > sizeof(sa->peer_id) ||
	    p_id->len < 4 || (p_idr && (p_idr->len < 4 || ikev2_pld_parse_id(p_idr, &id, NULL)))) {
		log_warn("ike: %s: malformed IKE_AUTH request", TAG(sa));
		eng_reply_notify(eng, sa, m, IKEV2_N_INVALID_SYNTAX);
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	memcpy(sa->peer_id, p_id->body, p_id->len);
	sa->peer_id_len = p_id->len;
	eng_id_str(sa->peer_id, sa->peer_id_len, ids, sizeof(ids));
	eng_peer_conf_id(sa->peer_id, sa->peer_id_len, &peer);
	if (p_idr)
		eng_peer_conf_id(p_idr->body, p_idr->len, &idr_id);
	eng_auth_peer_info(sa, &m->inner);
	conn = eng_find_conn_auth(eng, sa, &peer, p_idr ? &idr_id : NULL, auth.method);
	if (!conn) {
		log_warn("ike: %s: authentication of peer '%s' failed: no connection for this "
			 "identity and %s",
			 TAG(sa), ids, ikev2_auth_method_name(auth.method));
		goto fail;
	}
	sa->conn = conn;
	err = eng_local_id(sa, idb, sizeof(idb), &idb_len, &me);
	if (!err)
		err = eng_auth_check(eng, sa, &m->inner, &auth, &me, &peer, ids);
	if (!err)
		err = eng_local_cert(eng, sa, idb, idb_len, &cert);
	if (!err)
		err = eng_auth_make(eng, sa, idb, idb_len, &me, &peer, cert, &method, mine,
				    &mine_len);
	if (err)
		goto fail;
	eng_established(eng, sa);
	log_info("ike: %s: IKE SA established with '%s' (%s)", TAG(sa), ids,
		 conn->remote[0].method == CONF_AUTH_PSK ? "PSK" : "certificate");

	has_child = ikev2_pld_find(&m->inner, IKEV2_PLD_SA, 0) != NULL;
	cp_notify = eng_cp_respond(eng, sa, &m->inner, &cpm, &has_cp);
	memset(&ans, 0, sizeof(ans));
	if (has_child && cp_notify)
		ans.notify = cp_notify; /* 3.15.4: the IKE SA stays, the child does not */
	else if (has_child)
		eng_child_respond(eng, sa, &m->inner, ENG_CHILD_IN_AUTH, NULL, sa->ni, sa->ni_len,
				  sa->nr, sa->nr_len, &ans);
	eng_reply_begin(eng, sa, &e, m);
	ikev2_enc_id(&e, IKEV2_PLD_IDR, idb[0], idb + 4, idb_len - 4);
	eng_enc_certs(eng, &e, sa, cert);
	ikev2_enc_auth(&e, method, mine, mine_len);
	if (has_cp)
		ikev2_enc_cp(&e, &cpm.cp);
	else if (cp_notify && !has_child)
		ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, cp_notify, NULL, 0);
	if (has_child) {
		eng_enc_child_answer(&e, &ans);
		if (!ans.notify)
			eng_enc_child_ts(&e, &ans.tsi, &ans.tsr);
	}
	explicit_bzero(mine, sizeof(mine));
	if (eng_reply_finish(eng, sa, &e))
		eng_ike_kill(eng, sa, "failed");
	return;
fail:
	explicit_bzero(mine, sizeof(mine));
	eng->stats.auth_failed++;
	eng_reply_notify(eng, sa, m, IKEV2_N_AUTHENTICATION_FAILED);
	eng_ike_kill(eng, sa, "failed: AUTHENTICATION_FAILED sent");
}

/* ---- CREATE_CHILD_SA ---- */

static void eng_child_rekey_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				    const struct ikev2_notify *n, const struct ikev2_ke *ke,
				    const struct ikev2_blob *ni, const uint8_t *nr, size_t nr_len,
				    struct eng_child_answer *ans, uint64_t now);
static void eng_ike_rekey_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				  const struct ikev2_sa *offer, const struct ikev2_blob *ni,
				  const struct ikev2_ke *ke, uint64_t now);

static void eng_child_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m)
{
	struct ikev2_pld *p_nonce, *p_ke;
	struct eng_child_answer ans;
	struct ikev2_blob nonce;
	struct ikev2_notify n;
	struct ikev2_sa offer;
	struct ikev2_enc e;
	struct ikev2_ke ke;
	uint8_t nr[IKE_NONCE_LEN];

	memset(&ans, 0, sizeof(ans));
	p_nonce = ikev2_pld_find(&m->inner, IKEV2_PLD_NONCE, 0);
	p_ke = ikev2_pld_find(&m->inner, IKEV2_PLD_KE, 0);
	if (!p_nonce || ikev2_pld_parse_nonce(p_nonce, &nonce, NULL) ||
	    (p_ke && ikev2_pld_parse_ke(p_ke, &ke, NULL))) {
		ans.notify = IKEV2_N_INVALID_SYNTAX;
	} else if (eng_find_notify(&m->inner, IKEV2_N_REKEY_SA, &n)) {
		/* sa->last_rx_ms is engine_input()'s now */
		if (RAND_bytes(nr, sizeof(nr)) != 1)
			ans.notify = IKEV2_N_NO_ADDITIONAL_SAS;
		else
			eng_child_rekey_request(eng, sa, m, &n, p_ke ? &ke : NULL, &nonce, nr,
						sizeof(nr), &ans, sa->last_rx_ms);
	} else {
		struct ikev2_pld *p_sa = ikev2_pld_find(&m->inner, IKEV2_PLD_SA, 0);

		if (p_sa && !ikev2_pld_parse_sa(p_sa, &offer, NULL) && offer.n_props &&
		    offer.props[0].proto == IKEV2_PROTO_IKE) {
			eng_ike_rekey_request(eng, sa, m, &offer, &nonce, p_ke ? &ke : NULL,
					      sa->last_rx_ms);
			return;
		} else if (sa->successor || sa->req.kind == IKE_REQ_REKEY_IKE) {
			/* 2.25.2: no new children while the IKE SA is rekeyed */
			ans.notify = IKEV2_N_TEMPORARY_FAILURE;
		} else if (RAND_bytes(nr, sizeof(nr)) != 1) {
			ans.notify = IKEV2_N_NO_ADDITIONAL_SAS;
		} else {
			eng_child_respond(eng, sa, &m->inner, ENG_CHILD_IN_CREATE,
					  p_ke ? &ke : NULL, nonce.data, nonce.len, nr, sizeof(nr),
					  &ans);
		}
	}
	eng_reply_begin(eng, sa, &e, m);
	eng_enc_child_answer(&e, &ans);
	if (!ans.notify) {
		ikev2_enc_nonce(&e, nr, sizeof(nr));
		if (ans.ke_group)
			ikev2_enc_ke(&e, ans.ke_group, ans.ke_pub, dh_public_len(ans.ke_group));
		eng_enc_child_ts(&e, &ans.tsi, &ans.tsr);
	}
	eng_reply_finish(eng, sa, &e);
}

/* Returns the KE group to retry with after INVALID_KE_PAYLOAD, else 0. */
static uint16_t eng_child_create_response(struct engine *eng, struct ike_sa *sa,
					  struct ikev2_msg *m)
{
	struct ikev2_pld *p_nonce = ikev2_pld_find(&m->inner, IKEV2_PLD_NONCE, 0);
	const struct conf_child *cc = sa->req.child_cfg;
	struct ikev2_blob nonce;
	struct ikev2_notify n;
	char tagbuf[160];

	if (eng_find_notify(&m->inner, IKEV2_N_INVALID_KE_PAYLOAD, &n) && n.len == 2) {
		uint16_t group = (uint16_t)(n.data[0] << 8 | n.data[1]);

		if (group && group != sa->req.child_ke && proposal_has_ke(&cc->esp, group) &&
		    dh_group_supported(group)) {
			log_info("ike: %s: CHILD_SA %s: peer wants KE group %s, retrying", TAG(sa),
				 cc->name, ikev2_xform_id_name(IKEV2_XFORM_DH, group));
			return group;
		}
	}
	if (eng_error_notify(&m->inner) || !p_nonce) {
		eng_child_response(eng, sa, &m->inner, ENG_CHILD_IN_CREATE, NULL, 0, NULL, 0);
		if (!eng_error_notify(&m->inner))
			log_warn("ike: %s: CREATE_CHILD_SA response without nonce", TAG(sa));
		return 0;
	}
	if (ikev2_pld_parse_nonce(p_nonce, &nonce, NULL)) {
		log_warn("ike: %s: malformed CREATE_CHILD_SA response", TAG(sa));
		return 0;
	}
	eng_child_response(eng, sa, &m->inner, ENG_CHILD_IN_CREATE, sa->req.child_nonce,
			   IKE_NONCE_LEN, nonce.data, nonce.len);
	return 0;
}

/* ---- INFORMATIONAL ---- */

static void eng_info_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m)
{
	uint8_t spis[ENG_DEL_MAX * 4];
	struct ikev2_delete d;
	struct ikev2_pld *p;
	struct ikev2_enc e;
	uint16_t n_spis = 0;
	bool del_ike = false;
	unsigned int i;
	char tagbuf[160];
	size_t j;

	for (i = 0; (p = ikev2_pld_find(&m->inner, IKEV2_PLD_DELETE, i)); i++) {
		if (ikev2_pld_parse_delete(p, &d, NULL))
			continue;
		if (d.proto == IKEV2_PROTO_IKE) {
			del_ike = true;
			continue;
		}
		if (d.proto != IKEV2_PROTO_ESP || d.spi_size != 4)
			continue;
		for (j = 0; j < d.n_spi; j++) {
			uint32_t spi = eng_get32(d.spis + 4 * j);
			struct child_sa *c = ike_child_find_out(sa, spi);

			if (!c) {
				log_info("ike: %s: peer deletes unknown CHILD_SA 0x%08x", TAG(sa),
					 spi);
				continue;
			}
			/* 1.4.1: both deleting it: answer without it */
			if (n_spis < ENG_DEL_MAX && c->state != CHILD_ST_DELETING)
				eng_put32(spis + (size_t)4 * n_spis++, c->spi_in);
			/* 2.25.1: the rekey of our request replaces nothing now */
			if (sa->req.kind == IKE_REQ_REKEY_CHILD && sa->req.rekey_spi == c->spi_in)
				sa->req.rekey_old_deleted = true;
			eng_child_remove(eng, sa, c, "deleted by peer");
		}
	}
	if (eng_auth_failed_recv(eng, sa, &m->inner))
		del_ike = true;
	eng_reply_begin(eng, sa, &e, m);
	if (!del_ike && n_spis)
		ikev2_enc_delete(&e, IKEV2_PROTO_ESP, 4, spis, n_spis);
	eng_reply_finish(eng, sa, &e);
	if (del_ike)
		eng_ike_kill(eng, sa, "deleted by peer");
}

static void eng_info_response(struct engine *eng, struct ike_sa *sa, enum ike_req_kind kind,
			      uint32_t del_spi)
{
	struct child_sa *c;

	if (kind == IKE_REQ_DEL_IKE) {
		eng_ike_kill(eng, sa, "deleted");
	} else if (kind == IKE_REQ_DEL_CHILD) {
		c = ike_child_find_in(sa, del_spi);
		if (c)
			eng_child_remove(eng, sa, c, "deleted");
	}
}

/* ---- rekeying (RFC 7296 1.3.2, 1.3.3, 2.8, 2.18, 2.25) ---- */

/*
 * Timers: swanctl's rekey_time minus a random part of rand_time (so both
 * peers rarely start at once), life_time for children, rekey_time +
 * over_time for IKE SAs. The requests run when the window is free
 * (eng_sa_work()); a collision with the peer's own rekey is settled by the
 * nonces (2.8.1), a rekey meeting a delete by 2.25.
 *
 *	child:  HDR, SK {N(REKEY_SA, old SPI), SA, Ni, [KEi,] TSi, TSr}  -->
 *	                                  <--  HDR, SK {SA, Nr, [KEr,] TSi, TSr}
 *	        HDR, SK {D(old SPI)}      -->  (after the new SA is installed)
 *	IKE:    HDR, SK {SA(new SPIi), Ni, KEi}  -->
 *	                                  <--  HDR, SK {SA(new SPIr), Nr, KEr}
 *	        HDR, SK {D(IKE)}          -->  (old SA, children moved to the new)
 */

#define ENG_REKEY_RETRY_MS   10000 /* TEMPORARY_FAILURE and friends: try again */
#define ENG_REKEYED_GRACE_MS 30000 /* an SA the peer replaced waits this for its Delete */
#define ENG_N_EXPIRED	     (sizeof(((struct ike_sa *)0)->expired_spis) / sizeof(uint32_t))

static void eng_sa_work(struct engine *eng, struct ike_sa *sa, uint64_t now);

static uint32_t eng_rand32(void)
{
	uint32_t x = 0;

	if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
		x = 0;
	return x;
}

/* @base_s minus a random part of @rand_s (never all of it), in ms. */
static uint64_t eng_jitter_ms(uint32_t base_s, uint32_t rand_s)
{
	uint64_t base = (uint64_t)base_s * 1000, r = 0;

	if (rand_s)
		r = eng_rand32() % ((uint64_t)rand_s * 1000 + 1);
	if (r >= base)
		r = base / 2;
	return base - r;
}

static uint64_t eng_retry_ms(void)
{
	return ENG_REKEY_RETRY_MS / 2 + eng_rand32() % ENG_REKEY_RETRY_MS;
}

/* Bring expiry @e forward to @t (0 is "never"). */
static void eng_expire_by(uint64_t *e, uint64_t t)
{
	if (!*e || *e > t)
		*e = t;
}

static void eng_child_timers(struct child_sa *c, uint64_t now)
{
	const struct conf_child *cc = c->cfg;

	c->rekey_ms = cc->rekey_time ? now + eng_jitter_ms(cc->rekey_time, cc->rand_time) : 0;
	c->expire_ms = cc->life_time ? now + (uint64_t)cc->life_time * 1000 : 0;
}

/*
 * An IKE SA is rekeyed at rekey_time and reauthenticated at reauth_time
 * (each minus a random part of rand_time), and deleted over_time after the
 * earlier of the two if that did not succeed, as strongSwan does. A rekey
 * does not restart the reauth_time clock (eng_ike_rekeyed_new()).
 */
static void eng_ike_timers(struct ike_sa *sa, uint64_t now)
{
	const struct conf_conn *cn = sa->conn;
	uint64_t over = (uint64_t)cn->over_time * 1000;

	sa->rekey_ms = sa->expire_ms = sa->reauth_ms = sa->reauth_end_ms = 0;
	if (cn->rekey_time) {
		sa->rekey_ms = now + eng_jitter_ms(cn->rekey_time, cn->rand_time);
		if (over)
			sa->expire_ms = sa->rekey_ms + over;
	}
	if (cn->reauth_time) {
		sa->reauth_ms = now + eng_jitter_ms(cn->reauth_time, cn->rand_time);
		if (over) {
			sa->reauth_end_ms = sa->reauth_ms + over;
			eng_expire_by(&sa->expire_ms, sa->reauth_end_ms);
		}
	}
}

static void eng_put64(uint8_t *p, uint64_t v)
{
	eng_put32(p, (uint32_t)(v >> 32));
	eng_put32(p + 4, (uint32_t)v);
}

static uint64_t eng_get64(const uint8_t *p)
{
	return (uint64_t)eng_get32(p) << 32 | eng_get32(p + 4);
}

/* 2.8.1: the lower of an exchange's two nonces, compared as strongSwan
 * does (memcmp over the shorter length). */
static void eng_nonce_lower(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
			    uint8_t *out, size_t *out_len)
{
	size_t n = alen < blen ? alen : blen;
	bool a_low = memcmp(a, b, n) < 0;

	*out_len = a_low ? alen : blen;
	memcpy(out, a_low ? a : b, *out_len);
}

static bool eng_nonce_less(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return memcmp(a, b, alen < blen ? alen : blen) < 0;
}

static int eng_ike_delete_send(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	struct ikev2_enc e;
	int err;

	eng_req_begin(eng, sa, &e, IKEV2_EXCH_INFORMATIONAL);
	ikev2_enc_delete(&e, IKEV2_PROTO_IKE, 0, NULL, 0);
	err = eng_req_finish(eng, sa, &e, IKE_REQ_DEL_IKE, now);
	if (!err)
		ike_sa_set_state(&eng->sas, sa, IKE_ST_DELETING);
	return err;
}

/* Delete for @n inbound SPIs; @c (may be NULL) is removed on the answer. */
static int eng_child_delete_send(struct engine *eng, struct ike_sa *sa, struct child_sa *c,
				 const uint32_t *spis, unsigned int n, uint64_t now)
{
	uint8_t s[4 * ENG_N_EXPIRED];
	struct ikev2_enc e;
	unsigned int i;
	int err;

	if (n > ENG_N_EXPIRED)
		return -E2BIG;
	for (i = 0; i < n; i++)
		eng_put32(s + 4 * i, spis[i]);
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_INFORMATIONAL);
	ikev2_enc_delete(&e, IKEV2_PROTO_ESP, 4, s, (uint16_t)n);
	err = eng_req_finish(eng, sa, &e, IKE_REQ_DEL_CHILD, now);
	if (!err && c) {
		sa->req.del_spi = c->spi_in;
		c->state = CHILD_ST_DELETING;
		c->del_pending = false;
	}
	return err;
}

/* Initiator: CREATE_CHILD_SA replacing @old, with its selectors; @ke
 * forces the KE group (INVALID_KE_PAYLOAD retry). */
static int eng_child_rekey_start(struct engine *eng, struct ike_sa *sa, struct child_sa *old,
				 uint16_t ke, uint64_t now)
{
	struct ikev2_enc e;
	uint8_t spi[4];
	char tagbuf[160];
	int err;

	err = eng_child_offer(eng, sa, old->cfg, ENG_CHILD_IN_CREATE, ke);
	if (!err && RAND_bytes(sa->req.child_nonce, IKE_NONCE_LEN) != 1)
		err = -EIO;
	if (err)
		goto fail;
	sa->req.tsi = old->ts_local;
	sa->req.tsr = old->ts_remote;
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_CREATE_CHILD_SA);
	eng_put32(spi, old->spi_in);
	ikev2_enc_notify(&e, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
	eng_enc_child_offer(&e, &sa->req);
	ikev2_enc_nonce(&e, sa->req.child_nonce, IKE_NONCE_LEN);
	if (sa->req.child_dh) {
		uint8_t pub[DH_MAX_PUBLIC_LEN];
		size_t len = dh_public_len(sa->req.child_ke);

		err = dh_public(sa->req.child_dh, pub, len);
		if (err)
			goto fail;
		ikev2_enc_ke(&e, sa->req.child_ke, pub, len);
	}
	eng_enc_child_ts(&e, &sa->req.tsi, &sa->req.tsr);
	err = eng_req_finish(eng, sa, &e, IKE_REQ_REKEY_CHILD, now);
	if (err)
		goto fail;
	sa->req.rekey_spi = old->spi_in;
	old->state = CHILD_ST_REKEYING;
	log_info("ike: %s: rekeying CHILD_SA %s SPIs in 0x%08x out 0x%08x", TAG(sa),
		 old->cfg->name, old->spi_in, old->spi_out);
	return 0;
fail:
	eng_req_child_release(eng, sa);
	ike_req_done(&sa->req);
	return err;
}

/* Initiator: the answer to our child rekey. */
static void eng_child_rekey_response(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				     uint64_t now)
{
	uint32_t old_spi = sa->req.rekey_spi, new_spi = sa->req.child_spi;
	bool old_deleted = sa->req.rekey_old_deleted;
	uint8_t ours[IKEV2_NONCE_MAX];
	struct ikev2_pld *p_nonce;
	struct child_sa *old, *c;
	struct ikev2_blob nr;
	size_t ours_len = 0;
	uint16_t notify, retry;
	char tagbuf[160];

	notify = eng_error_notify(&m->inner);
	p_nonce = ikev2_pld_find(&m->inner, IKEV2_PLD_NONCE, 0);
	if (!notify && p_nonce && !ikev2_pld_parse_nonce(p_nonce, &nr, NULL))
		eng_nonce_lower(sa->req.child_nonce, IKE_NONCE_LEN, nr.data, nr.len, ours,
				&ours_len);
	retry = eng_child_create_response(eng, sa, m);
	eng_req_child_release(eng, sa);
	ike_req_done(&sa->req);
	old = ike_child_find_in(sa, old_spi);
	c = ike_child_find_in(sa, new_spi);
	if (!c) {
		if (!old)
			return;
		old->state = CHILD_ST_INSTALLED;
		if (retry && !eng_child_rekey_start(eng, sa, old, retry, now))
			return;
		if (notify == IKEV2_N_CHILD_SA_NOT_FOUND) {
			eng_child_remove(eng, sa, old, "unknown to the peer, removed");
			return;
		}
		if (old->has_coll) {
			/* the peer's rekey of it succeeded: that one stays */
			old->state = CHILD_ST_REKEYED;
			old->has_coll = false;
			return;
		}
		old->rekey_ms = now + eng_retry_ms();
		log_info("ike: %s: CHILD_SA %s rekey failed (%s), retrying in %" PRIu64 " s",
			 TAG(sa), old->cfg->name, notify ? ikev2_notify_name(notify) : "bad answer",
			 (old->rekey_ms - now) / 1000);
		return;
	}
	eng->stats.child_rekeyed++;
	if (!old) {
		/* 2.25.1: the peer deleted the old one meanwhile; it wants
		 * this traffic gone, so the replacement goes too */
		if (old_deleted) {
			c->state = CHILD_ST_REKEYED;
			c->del_pending = true;
			log_info("ike: %s: CHILD_SA %s was deleted by the peer while rekeyed, "
				 "deleting its replacement 0x%08x",
				 TAG(sa), c->cfg->name, c->spi_in);
		}
		return;
	}
	old->state = CHILD_ST_REKEYED;
	if (old->has_coll &&
	    eng_nonce_less(ours, ours_len, old->coll.nonce, old->coll.nonce_len)) {
		/* 2.8.1: our exchange has the lowest nonce: ours is redundant,
		 * the peer deletes the old SA */
		log_info("ike: %s: CHILD_SA %s rekey collision lost, deleting redundant 0x%08x",
			 TAG(sa), c->cfg->name, c->spi_in);
		c->state = CHILD_ST_REKEYED;
		c->del_pending = true;
		eng_expire_by(&old->expire_ms, now + ENG_REKEYED_GRACE_MS);
		return;
	}
	if (old->has_coll) {
		struct child_sa *theirs = ike_child_find_in(sa, old->coll.spi_in);

		log_info("ike: %s: CHILD_SA %s rekey collision won", TAG(sa), c->cfg->name);
		/* the peer deletes its redundant one */
		if (theirs) {
			theirs->state = CHILD_ST_REKEYED;
			eng_expire_by(&theirs->expire_ms, now + ENG_REKEYED_GRACE_MS);
		}
	}
	old->del_pending = true;
}

/*
 * Responder: the peer's CREATE_CHILD_SA with N(REKEY_SA) @n. Fills @ans
 * (an error notify or the new child's payloads, as eng_child_respond()).
 */
static void eng_child_rekey_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				    const struct ikev2_notify *n, const struct ikev2_ke *ke,
				    const struct ikev2_blob *ni, const uint8_t *nr, size_t nr_len,
				    struct eng_child_answer *ans, uint64_t now)
{
	struct child_sa *old = NULL, *c;
	char tagbuf[160];

	memset(ans, 0, sizeof(*ans));
	if (n->proto == IKEV2_PROTO_ESP && n->spi_size == 4)
		old = ike_child_find_out(sa, eng_get32(n->spi));
	if (!old) {
		log_info("ike: %s: peer rekeys unknown CHILD_SA, answering CHILD_SA_NOT_FOUND",
			 TAG(sa));
		ans->notify = IKEV2_N_CHILD_SA_NOT_FOUND;
		return;
	}
	/* 2.25: not while we delete it, replaced it already, or rekey the
	 * IKE SA */
	if (old->state == CHILD_ST_DELETING || old->state == CHILD_ST_REKEYED ||
	    sa->req.kind == IKE_REQ_REKEY_IKE || sa->successor) {
		log_info("ike: %s: peer rekeys CHILD_SA %s 0x%08x while %s, answering "
			 "TEMPORARY_FAILURE",
			 TAG(sa), old->cfg->name, old->spi_in,
			 sa->req.kind == IKE_REQ_REKEY_IKE || sa->successor ?
				 "the IKE SA is rekeyed" :
				 old->state == CHILD_ST_DELETING ? "we delete it" :
								   "it is replaced already");
		ans->notify = IKEV2_N_TEMPORARY_FAILURE;
		return;
	}
	eng_child_respond_cfg(eng, sa, &m->inner, ENG_CHILD_IN_CREATE, ke, ni->data, ni->len, nr,
			      nr_len, old->cfg, ans);
	if (ans->notify)
		return;
	c = ike_child_find_in(sa, eng_get32(ans->sa.props[0].spi));
	if (!c)
		return;
	eng->stats.child_rekeyed++;
	log_info("ike: %s: CHILD_SA %s 0x%08x rekeyed by peer, replaced by 0x%08x", TAG(sa),
		 old->cfg->name, old->spi_in, c->spi_in);
	if (old->state == CHILD_ST_REKEYING) {
		/* 2.8.1: ours is out too; its answer decides */
		old->has_coll = true;
		old->coll.spi_in = c->spi_in;
		eng_nonce_lower(ni->data, ni->len, nr, nr_len, old->coll.nonce,
				&old->coll.nonce_len);
		return;
	}
	/* the peer deletes the old one */
	old->state = CHILD_ST_REKEYED;
	eng_expire_by(&old->expire_ms, now + ENG_REKEYED_GRACE_MS);
}

/*
 * A new IKE SA replacing @old (2.18): SKEYSEED = prf(SK_d (old), g^ir (new)
 * | Ni | Nr), keys with the new SPIs, the old one's peer, addresses and
 * connection; established, in the table, message IDs from 0.
 */
static struct ike_sa *eng_ike_rekeyed_new(struct engine *eng, struct ike_sa *old, bool initiator,
					  uint64_t ispi, uint64_t rspi,
					  const struct proposal_choice *ch, const uint8_t *ni,
					  size_t ni_len, const uint8_t *nr, size_t nr_len,
					  const uint8_t *gir, size_t gir_len, uint64_t now)
{
	uint8_t ss[CRYPTO_PRF_MAX];
	struct ike_sa *sa;
	int err;

	if (ni_len > sizeof(old->ni) || nr_len > sizeof(old->nr))
		return NULL;
	sa = ike_sa_new(initiator, old->conn, (const struct sockaddr *)&old->local,
			(const struct sockaddr *)&old->remote, now);
	if (!sa)
		return NULL;
	sa->ispi = ispi;
	sa->rspi = rspi;
	sa->alg = *ch;
	sa->ke_group = ch->dh;
	memcpy(sa->ni, ni, ni_len);
	sa->ni_len = ni_len;
	memcpy(sa->nr, nr, nr_len);
	sa->nr_len = nr_len;
	memcpy(sa->peer_id, old->peer_id, old->peer_id_len);
	sa->peer_id_len = old->peer_id_len;
	sa->natd = old->natd;
	sa->nat_local = old->nat_local;
	sa->nat_remote = old->nat_remote;
	sa->nat_fake = old->nat_fake;
	sa->ka_next_ms = old->ka_next_ms;
	sa->suite.encr = ch->encr;
	sa->suite.encr_keylen = ch->encr_keylen;
	sa->suite.prf = ch->prf;
	sa->suite.integ = ch->integ;
	sa->suite.dh = ch->dh;
	err = crypto_suite_check(&sa->suite);
	if (!err)
		err = crypto_skeyseed_rekey(old->suite.prf, old->keys.sk_d, old->keys.prf_len, gir,
					    gir_len, ni, ni_len, nr, nr_len, ss);
	if (!err)
		err = crypto_ike_keys_derive(&sa->suite, ss, ni, ni_len, nr, nr_len, ispi, rspi,
					     &sa->keys);
	explicit_bzero(ss, sizeof(ss));
	if (!err)
		err = crypto_sk_init(&sa->sk_out, &sa->suite,
				     initiator ? sa->keys.sk_ei : sa->keys.sk_er,
				     initiator ? sa->keys.sk_ai : sa->keys.sk_ar);
	if (!err)
		err = crypto_sk_init(&sa->sk_in, &sa->suite,
				     initiator ? sa->keys.sk_er : sa->keys.sk_ei,
				     initiator ? sa->keys.sk_ar : sa->keys.sk_ai);
	if (err) {
		ike_sa_free(sa);
		return NULL;
	}
	sa->keyed = true;
	sa->state = IKE_ST_ESTABLISHED;
	eng_ike_timers(sa, now);
	if (old->reauth_ms || old->reauth_spi) {
		/* strongSwan: the reauthentication time survives a rekey */
		sa->reauth_ms = old->reauth_ms;
		sa->reauth_end_ms = old->reauth_end_ms;
		sa->reauth_spi = old->reauth_spi;
		if (sa->reauth_end_ms)
			eng_expire_by(&sa->expire_ms, sa->reauth_end_ms);
	}
	ike_sa_table_add(&eng->sas, sa);
	eng->stats.ike_rekeyed++;
	return sa;
}

/* Children and virtual IPs of @old go to @new, which replaces it. */
static void eng_ike_handover(struct ike_sa *old, struct ike_sa *new)
{
	struct child_sa **pp = &new->children;
	char tagbuf[160], newtag[160];

	while (*pp)
		pp = &(*pp)->next;
	*pp = old->children;
	old->children = NULL;
	new->vips_peer = old->vips_peer;
	memset(&old->vips_peer, 0, sizeof(old->vips_peer));
	new->vips_own = old->vips_own;
	memset(&old->vips_own, 0, sizeof(old->vips_own));
	old->successor = ike_sa_local_spi(new);
	old->rekey_ms = old->reauth_ms = 0;
	old->reauth_spi = 0;
	/* the peer rekeyed a reauthenticating SA before its children were
	 * all re-created: the rest is up to the new one */
	if (old->reauth_of && !new->reauth_of) {
		new->reauth_of = old->reauth_of;
		new->reauth_queue = old->reauth_queue;
		new->n_reauth_queue = old->n_reauth_queue;
		old->reauth_queue = NULL;
		old->n_reauth_queue = 0;
	}
	old->reauth_of = 0;
	eng_tag(new, newtag, sizeof(newtag));
	log_info("ike: %s: IKE SA rekeyed, replaced by %s", TAG(old), newtag);
}

/* Initiator: CREATE_CHILD_SA rekeying @sa with a new SPI, nonce and key
 * pair (in sa->req); @ke forces the group. */
static int eng_ike_rekey_start(struct engine *eng, struct ike_sa *sa, uint16_t ke, uint64_t now)
{
	uint8_t spi[8], pub[DH_MAX_PUBLIC_LEN];
	struct ikev2_sa offer;
	struct ikev2_enc e;
	char tagbuf[160];
	size_t len;
	int err;

	ke = ke ?: sa->alg.dh ?: proposal_first_ke(&sa->conn->proposals);
	len = dh_public_len(ke);
	err = ike_sa_new_spi(&eng->sas, &sa->req.rekey_ike_spi);
	if (!err && RAND_bytes(sa->req.child_nonce, IKE_NONCE_LEN) != 1)
		err = -EIO;
	if (!err)
		err = dh_new(ke, &sa->req.child_dh);
	if (!err)
		err = dh_public(sa->req.child_dh, pub, len);
	eng_put64(spi, sa->req.rekey_ike_spi);
	if (!err)
		err = proposal_build(&sa->conn->proposals, IKEV2_PROTO_IKE, spi, 8, ke, 0, &offer);
	if (err) {
		ike_req_done(&sa->req);
		return err;
	}
	sa->req.child_ke = ke;
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_CREATE_CHILD_SA);
	ikev2_enc_sa(&e, &offer);
	ikev2_enc_nonce(&e, sa->req.child_nonce, IKE_NONCE_LEN);
	ikev2_enc_ke(&e, ke, pub, len);
	err = eng_req_finish(eng, sa, &e, IKE_REQ_REKEY_IKE, now);
	if (err) {
		ike_req_done(&sa->req);
		return err;
	}
	log_info("ike: %s: rekeying IKE SA, new SPI %016" PRIx64 "_i", TAG(sa),
		 sa->req.rekey_ike_spi);
	return 0;
}

/* Our rekey of @sa did not work: the peer's (a collision) may have. */
static void eng_ike_rekey_failed(struct engine *eng, struct ike_sa *sa, const char *why,
				 uint64_t now)
{
	struct ike_sa *theirs = sa->coll_spi ? ike_sa_lookup(&eng->sas, sa->coll_spi) : NULL;
	char tagbuf[160];

	sa->coll_spi = 0;
	if (theirs && theirs->state == IKE_ST_ESTABLISHED) {
		eng_ike_handover(sa, theirs);
		eng_expire_by(&sa->expire_ms, now + ENG_REKEYED_GRACE_MS);
		return;
	}
	sa->rekey_ms = now + eng_retry_ms();
	log_info("ike: %s: IKE SA rekey failed (%s), retrying in %" PRIu64 " s", TAG(sa), why,
		 (sa->rekey_ms - now) / 1000);
}

/* Initiator: the answer to our IKE SA rekey. */
static void eng_ike_rekey_response(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				   uint64_t now)
{
	struct ikev2_pld *p_sa, *p_ke, *p_nonce;
	uint8_t gir[DH_MAX_SECRET_LEN], ours[IKEV2_NONCE_MAX];
	struct ike_sa *new, *theirs;
	struct proposal_choice ch;
	struct ikev2_blob nonce;
	struct ikev2_notify n;
	struct ikev2_sa rsa;
	struct ikev2_ke ke;
	size_t ours_len;
	uint16_t notify;
	char tagbuf[160];

	if (eng_find_notify(&m->inner, IKEV2_N_INVALID_KE_PAYLOAD, &n) && n.len == 2) {
		uint16_t group = (uint16_t)(n.data[0] << 8 | n.data[1]);

		if (group && group != sa->req.child_ke &&
		    proposal_has_ke(&sa->conn->proposals, group) && dh_group_supported(group)) {
			log_info("ike: %s: IKE SA rekey: peer wants KE group %s, retrying",
				 TAG(sa), ikev2_xform_id_name(IKEV2_XFORM_DH, group));
			ike_req_done(&sa->req);
			if (eng_ike_rekey_start(eng, sa, group, now))
				eng_ike_rekey_failed(eng, sa, "cannot retry", now);
			return;
		}
	}
	notify = eng_error_notify(&m->inner);
	if (notify) {
		ike_req_done(&sa->req);
		eng_ike_rekey_failed(eng, sa, ikev2_notify_name(notify), now);
		return;
	}
	p_sa = ikev2_pld_find(&m->inner, IKEV2_PLD_SA, 0);
	p_ke = ikev2_pld_find(&m->inner, IKEV2_PLD_KE, 0);
	p_nonce = ikev2_pld_find(&m->inner, IKEV2_PLD_NONCE, 0);
	if (!p_sa || !p_ke || !p_nonce || ikev2_pld_parse_sa(p_sa, &rsa, NULL) ||
	    ikev2_pld_parse_ke(p_ke, &ke, NULL) || ikev2_pld_parse_nonce(p_nonce, &nonce, NULL) ||
	    proposal_check_reply(&sa->conn->proposals, IKEV2_PROTO_IKE, &rsa, sa->req.child_ke, 0,
				 &ch) ||
	    ch.spi_size != 8 || !eng_get64(ch.spi) || ke.group != ch.dh ||
	    dh_derive(sa->req.child_dh, ke.data, ke.len, gir, dh_secret_len(ch.dh))) {
		ike_req_done(&sa->req);
		explicit_bzero(gir, sizeof(gir));
		eng_ike_rekey_failed(eng, sa, "malformed or unacceptable answer", now);
		return;
	}
	new = eng_ike_rekeyed_new(eng, sa, true, sa->req.rekey_ike_spi, eng_get64(ch.spi), &ch,
				  sa->req.child_nonce, IKE_NONCE_LEN, nonce.data, nonce.len, gir,
				  dh_secret_len(ch.dh), now);
	explicit_bzero(gir, sizeof(gir));
	eng_nonce_lower(sa->req.child_nonce, IKE_NONCE_LEN, nonce.data, nonce.len, ours,
			&ours_len);
	ike_req_done(&sa->req);
	if (!new) {
		eng_ike_rekey_failed(eng, sa, "key derivation failed", now);
		return;
	}
	theirs = sa->coll_spi ? ike_sa_lookup(&eng->sas, sa->coll_spi) : NULL;
	sa->coll_spi = 0;
	if (theirs && theirs->state == IKE_ST_ESTABLISHED &&
	    eng_nonce_less(ours, ours_len, sa->coll_nonce, sa->coll_nonce_len)) {
		/* 2.8.1: ours has the lowest nonce and goes; the peer's SA
		 * survives and the peer deletes the old one */
		log_info("ike: %s: IKE SA rekey collision lost", TAG(sa));
		eng_ike_handover(sa, theirs);
		eng_expire_by(&sa->expire_ms, now + ENG_REKEYED_GRACE_MS);
		new->del_pending = true;
		new->rekey_ms = 0;
		eng_sa_work(eng, new, now);
		return;
	}
	if (theirs && theirs->state == IKE_ST_ESTABLISHED) {
		log_info("ike: %s: IKE SA rekey collision won", TAG(sa));
		theirs->rekey_ms = 0;
		eng_expire_by(&theirs->expire_ms, now + ENG_REKEYED_GRACE_MS);
		theirs->successor = ike_sa_local_spi(new);
	}
	eng_ike_handover(sa, new);
	sa->del_pending = true;
}

/* Responder: the peer's CREATE_CHILD_SA with an IKE proposal (1.3.2). */
static void eng_ike_rekey_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m,
				  const struct ikev2_sa *offer, const struct ikev2_blob *ni,
				  const struct ikev2_ke *ke, uint64_t now)
{
	uint8_t gir[DH_MAX_SECRET_LEN], pub[DH_MAX_PUBLIC_LEN], nr[IKE_NONCE_LEN], nd[2];
	struct ike_sa *new = NULL;
	struct proposal_choice ch;
	struct dh_ctx *dh = NULL;
	struct ikev2_sa answer;
	struct ikev2_enc e;
	uint16_t notify = 0;
	uint64_t spi = 0;
	size_t nd_len = 0;
	char tagbuf[160];

	/* 2.25.2: not while a child of ours is under way, nor twice */
	if (sa->successor || sa->del_pending || sa->req.kind == IKE_REQ_CHILD ||
	    sa->req.kind == IKE_REQ_REKEY_CHILD || sa->req.kind == IKE_REQ_DEL_CHILD ||
	    sa->req.kind == IKE_REQ_DEL_IKE) {
		notify = IKEV2_N_TEMPORARY_FAILURE;
	} else if (!ke) { // NOLINT(bugprone-branch-clone): same answer as a bad SPI below, other cause
		notify = IKEV2_N_INVALID_SYNTAX;
	} else if (proposal_select(&sa->conn->proposals, IKEV2_PROTO_IKE, offer, ke->group, 0,
				   &ch)) {
		if (!proposal_select(&sa->conn->proposals, IKEV2_PROTO_IKE, offer, -1, 0, &ch)) {
			notify = IKEV2_N_INVALID_KE_PAYLOAD;
			nd[0] = ch.dh >> 8;
			nd[1] = ch.dh & 0xff;
			nd_len = 2;
		} else {
			notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
		}
	} else if (ch.spi_size != 8 || !eng_get64(ch.spi)) {
		notify = IKEV2_N_INVALID_SYNTAX;
	} else if (ike_sa_new_spi(&eng->sas, &spi) || RAND_bytes(nr, sizeof(nr)) != 1 ||
		   dh_new(ch.dh, &dh) || dh_public(dh, pub, dh_public_len(ch.dh)) ||
		   dh_derive(dh, ke->data, ke->len, gir, dh_secret_len(ch.dh))) {
		notify = ke && ke->group == ch.dh ? IKEV2_N_NO_PROPOSAL_CHOSEN :
						    IKEV2_N_INVALID_SYNTAX;
	} else {
		new = eng_ike_rekeyed_new(eng, sa, false, eng_get64(ch.spi), spi, &ch, ni->data,
					  ni->len, nr, sizeof(nr), gir, dh_secret_len(ch.dh), now);
		if (!new)
			notify = IKEV2_N_NO_PROPOSAL_CHOSEN;
	}
	dh_free(dh);
	explicit_bzero(gir, sizeof(gir));
	if (notify)
		log_info("ike: %s: peer's IKE SA rekey refused: %s", TAG(sa),
			 ikev2_notify_name(notify));
	eng_reply_begin(eng, sa, &e, m);
	if (notify) {
		ikev2_enc_notify(&e, IKEV2_PROTO_NONE, NULL, 0, notify, nd, nd_len);
	} else {
		eng_put64(ch.spi, spi);
		proposal_choice_to_sa(&ch, &answer);
		ikev2_enc_sa(&e, &answer);
		ikev2_enc_nonce(&e, nr, sizeof(nr));
		ikev2_enc_ke(&e, ch.dh, pub, dh_public_len(ch.dh));
	}
	if (eng_reply_finish(eng, sa, &e) || !new) {
		if (new)
			eng_ike_kill(eng, new, "failed: cannot answer the rekey");
		eng_reap(eng, new);
		return;
	}
	if (sa->req.kind == IKE_REQ_REKEY_IKE) {
		/* 2.8.1: ours is out too; its answer decides */
		sa->coll_spi = ike_sa_local_spi(new);
		eng_nonce_lower(ni->data, ni->len, nr, sizeof(nr), sa->coll_nonce,
				&sa->coll_nonce_len);
		return;
	}
	/* the peer deletes the old SA */
	eng_ike_handover(sa, new);
	eng_expire_by(&sa->expire_ms, now + ENG_REKEYED_GRACE_MS);
}

/* ---- reauthentication (reauth_time; RFC 7296 2.8.3) ---- */

/*
 * Make-before-break, as strongSwan does with make_before_break = yes: the
 * new IKE SA is negotiated from scratch beside the old one (new SPIs, new
 * IKE_SA_INIT keys, both peers authenticated again), with the old SA's
 * first child in IKE_AUTH and its other children by CREATE_CHILD_SA, one
 * after the other; only then is the old SA deleted, and its children with
 * it. The kernel holds two children with the same selectors at once as it
 * does during a rekey (the newest holds the policies), so traffic has no
 * gap. Either role reauthenticates by initiating, as strongSwan does for an
 * IKE SA it responded to, except with virtual IPs: leases we gave would be
 * lost and ours would change, so such an SA is left to expire.
 *
 *	old SA (ESTABLISHED)            new SA
 *	reauth_ms reached   --------->  IKE_SA_INIT, IKE_AUTH (+ first child)
 *	                                CREATE_CHILD_SA for each further child
 *	Delete(IKE)         <---------  all re-created (or refused)
 *
 * If the new SA fails, the old one retries a few seconds later and is
 * deleted at reauth_end_ms (reauth_time + over_time) at the latest.
 */

static int eng_sa_start(struct engine *eng, const struct conf_conn *conn,
			const struct conf_child *child, const struct sockaddr *local,
			const struct sockaddr *remote, uint64_t now, struct ike_sa **out);
static int eng_child_start(struct engine *eng, struct ike_sa *sa, const struct conf_child *cc,
			   uint16_t ke, uint64_t now);

/* The SA new SA @sa replaces: its reauth_of, or what a rekey of that made. */
static struct ike_sa *eng_reauth_old(struct engine *eng, const struct ike_sa *sa)
{
	struct ike_sa *old = ike_sa_lookup(&eng->sas, sa->reauth_of);
	unsigned int hops = 0;

	while (old && old->successor && hops++ < 8)
		old = ike_sa_lookup(&eng->sas, old->successor);
	if (!old || old->state != IKE_ST_ESTABLISHED ||
	    old->reauth_spi != ike_sa_local_spi(sa))
		return NULL;
	return old;
}

/* New SA @sa is going away before it replaced the old one. */
static void eng_reauth_failed(struct engine *eng, struct ike_sa *sa, const char *why)
{
	struct ike_sa *old = eng_reauth_old(eng, sa);
	char tagbuf[160];

	sa->reauth_of = 0;
	if (!old)
		return;
	old->reauth_spi = 0;
	old->reauth_ms = eng->now + eng_retry_ms();
	log_warn("ike: %s: reauthentication failed (new IKE SA %s), retrying in %" PRIu64 " s",
		 TAG(old), why, (old->reauth_ms - eng->now) / 1000);
}

/* Old SA @sa: start the IKE SA that replaces it. */
static void eng_reauth_start(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	const struct conf_child *first = NULL;
	const struct conf_child **q = NULL;
	const struct child_sa *c;
	struct ike_sa *new;
	unsigned int n = 0;
	char tagbuf[160];
	int err;

	sa->reauth_ms = 0;
	if (sa->vips_peer.n || sa->vips_own.n) {
		if (sa->reauth_end_ms)
			log_warn("ike: %s: cannot reauthenticate an IKE SA with virtual IPs; it "
				 "is deleted in %" PRIu64 " s (over_time)",
				 TAG(sa),
				 sa->reauth_end_ms > now ? (sa->reauth_end_ms - now) / 1000 : 0);
		else
			log_warn("ike: %s: cannot reauthenticate an IKE SA with virtual IPs; "
				 "kept (over_time = 0)",
				 TAG(sa));
		return;
	}
	for (c = sa->children; c; c = c->next)
		n++;
	if (n > 1) {
		q = calloc(n - 1, sizeof(*q));
		if (!q) {
			err = -ENOMEM;
			goto fail;
		}
	}
	/* the children that carry traffic now; those replaced or going are not */
	n = 0;
	for (c = sa->children; c; c = c->next) {
		if (!c->installed || c->del_pending ||
		    (c->state != CHILD_ST_INSTALLED && c->state != CHILD_ST_REKEYING))
			continue;
		if (!first)
			first = c->cfg;
		else
			q[n++] = c->cfg;
	}
	err = eng_sa_start(eng, sa->conn, first, (const struct sockaddr *)&sa->local,
			   (const struct sockaddr *)&sa->remote, now, &new);
	if (err)
		goto fail;
	new->reauth_of = ike_sa_local_spi(sa);
	new->reauth_queue = q;
	new->n_reauth_queue = n;
	sa->reauth_spi = ike_sa_local_spi(new);
	log_info("ike: %s: reauthenticating IKE SA: new IKE SA %016" PRIx64 "_i, %u CHILD_SA(s)",
		 TAG(sa), new->ispi, n + (first != NULL));
	return;
fail:
	free(q);
	sa->reauth_ms = now + eng_retry_ms();
	log_warn("ike: %s: cannot start reauthentication: %s, retrying in %" PRIu64 " s",
		 TAG(sa), strerror(-err), (sa->reauth_ms - now) / 1000);
}

/*
 * New SA @sa, established and idle: re-create the next child of the old
 * SA, or, all done, have the old SA deleted. 1 if a request went out.
 */
static int eng_reauth_step(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	struct ike_sa *old;
	char tagbuf[160], newtag[160];
	int err;

	while (sa->n_reauth_queue) {
		const struct conf_child *cc = sa->reauth_queue[--sa->n_reauth_queue];

		err = eng_child_start(eng, sa, cc, 0, now);
		if (!err)
			return 1;
		eng_req_child_release(eng, sa);
		log_warn("ike: %s: reauthentication: cannot re-create CHILD_SA %s: %s", TAG(sa),
			 cc->name, strerror(-err));
	}
	old = eng_reauth_old(eng, sa);
	sa->reauth_of = 0;
	if (!old)
		return 0;
	old->reauth_spi = 0;
	old->reauth_ms = old->rekey_ms = 0;
	old->successor = ike_sa_local_spi(sa);
	old->del_pending = true;
	eng_expire_by(&old->expire_ms, now + ENG_REKEYED_GRACE_MS);
	eng->stats.ike_reauthed++;
	eng_tag(sa, newtag, sizeof(newtag));
	log_info("ike: %s: IKE SA reauthenticated, replaced by %s", TAG(old), newtag);
	eng_sa_work(eng, old, now);
	return 0;
}

/*
 * Our next request when the window is free: Deletes first (SAs replaced by
 * a rekey or reauthentication, redundant ones of a collision, expired
 * children), then children a reauthentication re-creates, then a due
 * reauthentication, a due IKE rekey, due child rekeys.
 */
static void eng_sa_work(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	struct child_sa *c;
	char tagbuf[160];
	int err;

	if (sa->state != IKE_ST_ESTABLISHED || sa->req.kind != IKE_REQ_NONE)
		return;
	if (sa->del_pending) {
		sa->del_pending = false;
		if (eng_ike_delete_send(eng, sa, now))
			eng_ike_kill(eng, sa, "replaced (cannot send Delete)");
		return;
	}
	for (c = sa->children; c; c = c->next) {
		if (!c->del_pending)
			continue;
		err = eng_child_delete_send(eng, sa, c, &c->spi_in, 1, now);
		if (err) {
			log_warn("ike: %s: cannot send Delete: %s", TAG(sa), strerror(-err));
			eng_child_remove(eng, sa, c, "removed");
		}
		return;
	}
	if (sa->n_expired) {
		unsigned int n = sa->n_expired;

		sa->n_expired = 0;
		if (eng_child_delete_send(eng, sa, NULL, sa->expired_spis, n, now))
			log_warn("ike: %s: cannot send Delete for expired CHILD_SAs", TAG(sa));
		return;
	}
	if (sa->successor)
		return;
	if (sa->reauth_of && eng_reauth_step(eng, sa, now))
		return;
	/* being replaced by a new IKE SA: no rekeys of the old one */
	if (sa->reauth_spi)
		return;
	if (sa->reauth_ms && now >= sa->reauth_ms) {
		eng_reauth_start(eng, sa, now);
		return;
	}
	if (sa->rekey_ms && now >= sa->rekey_ms) {
		err = eng_ike_rekey_start(eng, sa, 0, now);
		if (err)
			eng_ike_rekey_failed(eng, sa, strerror(-err), now);
		return;
	}
	for (c = sa->children; c; c = c->next) {
		if (c->state != CHILD_ST_INSTALLED || !c->rekey_ms || now < c->rekey_ms)
			continue;
		err = eng_child_rekey_start(eng, sa, c, 0, now);
		if (err) {
			c->rekey_ms = now + eng_retry_ms();
			log_warn("ike: %s: cannot rekey CHILD_SA %s: %s", TAG(sa), c->cfg->name,
				 strerror(-err));
		}
		return;
	}
}

/* life_time of children (the kernel's hard expiry does the same to the
 * states) and the IKE SA's rekey_time + over_time. */
static void eng_sa_expire(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	struct child_sa *c, *next;
	char tagbuf[160];

	if (sa->state != IKE_ST_ESTABLISHED && sa->state != IKE_ST_DELETING)
		return;
	for (c = sa->children; c; c = next) {
		next = c->next;
		if (!c->expire_ms || now < c->expire_ms)
			continue;
		if (c->state != CHILD_ST_DELETING &&
		    sa->n_expired < ENG_N_EXPIRED)
			sa->expired_spis[sa->n_expired++] = c->spi_in;
		eng_child_remove(eng, sa, c,
				 c->state == CHILD_ST_REKEYED ? "replaced, removed" : "expired");
	}
	if (sa->state != IKE_ST_ESTABLISHED || !sa->expire_ms || now < sa->expire_ms)
		return;
	sa->expire_ms = 0;
	if (sa->successor && !sa->del_pending) {
		eng_ike_kill(eng, sa, "replaced, removed");
	} else if (sa->req.kind == IKE_REQ_NONE) {
		log_info("ike: %s: IKE SA not %s in time, deleting it", TAG(sa),
			 sa->reauth_end_ms && now >= sa->reauth_end_ms ? "reauthenticated" :
									  "rekeyed");
		if (eng_ike_delete_send(eng, sa, now))
			eng_ike_kill(eng, sa, "expired");
	} else {
		eng_ike_kill(eng, sa, "expired");
	}
}

/* ---- input dispatch ---- */

static void eng_response(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m, uint64_t now)
{
	enum ike_req_kind kind = sa->req.kind;
	uint32_t del_spi = sa->req.del_spi;
	char tagbuf[160];

	switch (kind) {
	case IKE_REQ_AUTH:
		if (m->hdr.exchange != IKEV2_EXCH_IKE_AUTH)
			break;
		eng_auth_response(eng, sa, m);
		sa->pkt_ts_child = NULL;
		eng_req_child_release(eng, sa);
		ike_req_done(&sa->req);
		if (sa->close_after_auth && sa->state == IKE_ST_ESTABLISHED &&
		    engine_ike_delete(eng, ike_sa_local_spi(sa), now))
			eng_ike_kill(eng, sa, "closed");
		return;
	case IKE_REQ_CHILD: {
		const struct conf_child *cc = sa->req.child_cfg;
		uint16_t retry;

		if (m->hdr.exchange != IKEV2_EXCH_CREATE_CHILD_SA)
			break;
		retry = eng_child_create_response(eng, sa, m);
		eng_req_child_release(eng, sa);
		ike_req_done(&sa->req);
		if (retry && eng_child_start(eng, sa, cc, retry, now)) {
			log_warn("ike: %s: CHILD_SA %s: cannot retry", TAG(sa), cc->name);
			eng_req_child_release(eng, sa);
		}
		if (sa->req.kind != IKE_REQ_CHILD)
			sa->pkt_ts_child = NULL;
		return;
	}
	case IKE_REQ_REKEY_CHILD:
		if (m->hdr.exchange != IKEV2_EXCH_CREATE_CHILD_SA)
			break;
		eng_child_rekey_response(eng, sa, m, now);
		return;
	case IKE_REQ_REKEY_IKE:
		if (m->hdr.exchange != IKEV2_EXCH_CREATE_CHILD_SA)
			break;
		eng_ike_rekey_response(eng, sa, m, now);
		return;
	case IKE_REQ_DEL_CHILD:
	case IKE_REQ_DEL_IKE:
	case IKE_REQ_LIVENESS:
		if (m->hdr.exchange != IKEV2_EXCH_INFORMATIONAL)
			break;
		ike_req_done(&sa->req);
		eng_info_response(eng, sa, kind, del_spi);
		return;
	default:
		break;
	}
	log_warn("ike: %s: %s response does not answer our request, dropped", TAG(sa),
		 ikev2_exchange_name(m->hdr.exchange));
	eng->stats.rx_dropped++;
}

static void eng_request(struct engine *eng, struct ike_sa *sa, struct ikev2_msg *m)
{
	uint8_t exch = m->hdr.exchange;
	char tagbuf[160];

	if (exch == IKEV2_EXCH_IKE_AUTH && sa->state == IKE_ST_HALF_OPEN) {
		eng->stats.requests_processed++;
		eng_auth_request(eng, sa, m);
		return;
	}
	if (exch == IKEV2_EXCH_CREATE_CHILD_SA && sa->state == IKE_ST_ESTABLISHED) {
		eng->stats.requests_processed++;
		eng_child_request(eng, sa, m);
		return;
	}
	if (exch == IKEV2_EXCH_INFORMATIONAL &&
	    (sa->state == IKE_ST_ESTABLISHED || sa->state == IKE_ST_DELETING)) {
		eng->stats.requests_processed++;
		eng_info_request(eng, sa, m);
		return;
	}
	log_warn("ike: %s: %s request (message ID %u) not valid in state %s, dropped", TAG(sa),
		 ikev2_exchange_name(exch), m->hdr.msgid, ike_state_name(sa->state));
	eng->stats.rx_dropped++;
}

void engine_input(struct engine *eng, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		  const struct sockaddr *remote, uint64_t now)
{
	enum ikev2_perr why = IKEV2_PERR_NONE;
	struct ike_sa *sa = NULL;
	struct ikev2_msg m;
	uint64_t lspi;
	char peer[80], tagbuf[160];
	bool response;
	int err;

	eng->now = now;
	eng->stats.rx++;
	ike_addr_str(remote, peer, sizeof(peer));
	if (len > sizeof(eng->rx) || !ike_addr_len(local) || !ike_addr_len(remote)) {
		eng->stats.rx_dropped++;
		return;
	}
	memcpy(eng->rx, pkt, len);
	err = ikev2_msg_parse(eng->rx, len, &m, &why);
	if (err) {
		if (why == IKEV2_PERR_TRUNCATED)
			log_warn("ike: %s: truncated message (%zu bytes), dropped", peer, len);
		else
			log_warn("ike: %s: malformed %s SPIs %016" PRIx64 "_i %016" PRIx64 "_r: %s",
				 peer, ikev2_exchange_name(m.hdr.exchange), m.hdr.ispi, m.hdr.rspi,
				 ikev2_perr_name(why));
		eng->stats.rx_dropped++;
		/* 2.5: an IKE_SA_INIT request with a critical payload we do not
		 * know is refused with UNSUPPORTED_CRITICAL_PAYLOAD; no state */
		if (why == IKEV2_PERR_UNSUPPORTED_CRITICAL &&
		    m.hdr.exchange == IKEV2_EXCH_IKE_SA_INIT && !m.hdr.rspi &&
		    !(m.hdr.flags & IKEV2_FLAG_RESPONSE)) {
			uint8_t t = m.plds.unsupported_type;

			eng_init_notify(eng, &m, local, remote,
					IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		}
		return;
	}
	response = m.hdr.flags & IKEV2_FLAG_RESPONSE;

	if (m.hdr.exchange == IKEV2_EXCH_IKE_SA_INIT) {
		if (!response && !m.hdr.rspi) {
			eng_init_request(eng, &m, local, remote, now);
			return;
		}
		sa = ike_sa_lookup(&eng->sas, m.hdr.ispi);
		if (!response || !sa || !sa->initiator || sa->state != IKE_ST_INIT_SENT) {
			log_warn("ike: %s: unexpected IKE_SA_INIT %s SPIs %016" PRIx64
				 "_i %016" PRIx64 "_r, dropped",
				 peer, response ? "response" : "request", m.hdr.ispi, m.hdr.rspi);
			eng->stats.rx_dropped++;
			return;
		}
		sa->last_rx_ms = now;
		eng_init_response(eng, sa, &m, now);
		eng_reap(eng, sa);
		return;
	}

	/* The original initiator sets the I flag; our SPI is the other one. */
	lspi = (m.hdr.flags & IKEV2_FLAG_INITIATOR) ? m.hdr.rspi : m.hdr.ispi;
	sa = ike_sa_lookup(&eng->sas, lspi);
	if (!sa || sa->ispi != m.hdr.ispi || sa->rspi != m.hdr.rspi || sa->state == IKE_ST_DEAD ||
	    !sa->keyed) {
		log_warn("ike: %s: no IKE SA for SPIs %016" PRIx64 "_i %016" PRIx64 "_r (%s %s), "
			 "dropped",
			 peer, m.hdr.ispi, m.hdr.rspi, ikev2_exchange_name(m.hdr.exchange),
			 response ? "response" : "request");
		eng->stats.rx_dropped++;
		return;
	}
	if (!m.sk) {
		log_warn("ike: %s: %s without SK payload, dropped", TAG(sa),
			 ikev2_exchange_name(m.hdr.exchange));
		eng->stats.rx_dropped++;
		return;
	}
	if (response) {
		if (sa->req.kind == IKE_REQ_NONE || sa->req.kind == IKE_REQ_INIT ||
		    m.hdr.msgid != sa->req.msgid) {
			log_warn("ike: %s: response with message ID %u matches no request of ours, "
				 "dropped",
				 TAG(sa), m.hdr.msgid);
			eng->stats.rx_dropped++;
			return;
		}
	} else if (sa->has_reply && m.hdr.msgid + 1 == sa->expect_msgid) {
		/* 2.1: a retransmitted request gets the same answer again */
		log_info("ike: %s: retransmitted %s request (message ID %u), resending our reply",
			 TAG(sa), ikev2_exchange_name(m.hdr.exchange), m.hdr.msgid);
		eng->stats.cached_replies++;
		eng_send_sa(eng, sa, sa->reply, sa->reply_len);
		return;
	} else if (m.hdr.msgid != sa->expect_msgid) {
		log_warn("ike: %s: request with message ID %u outside the window (expected %u), "
			 "dropped",
			 TAG(sa), m.hdr.msgid, sa->expect_msgid);
		eng->stats.rx_dropped++;
		return;
	}
	err = ikev2_msg_sk_open(&m, &sa->sk_in, &why);
	if (err && m.opened && !response && ikev2_perr_notify(why)) {
		/* Authentic but unacceptable inside (2.5, 2.21.3): answer
		 * with the error so the peer's window moves on. */
		uint8_t t = m.inner.unsupported_type;
		uint16_t type = ikev2_perr_notify(why);

		log_warn("ike: %s: %s request message ID %u: %s, answering %s", TAG(sa),
			 ikev2_exchange_name(m.hdr.exchange), m.hdr.msgid, ikev2_perr_name(why),
			 ikev2_notify_name(type));
		eng->stats.rx_dropped++;
		eng_reply_notify_data(eng, sa, &m, type, &t,
				      type == IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD ? 1 : 0);
		if (sa->state == IKE_ST_HALF_OPEN)
			eng_ike_kill(eng, sa, "failed");
		eng_reap(eng, sa);
		return;
	}
	if (err) {
		/* 2.21.2: failed integrity is dropped without an answer */
		log_warn("ike: %s: %s %s message ID %u: %s, dropped", TAG(sa),
			 ikev2_exchange_name(m.hdr.exchange), response ? "response" : "request",
			 m.hdr.msgid, ikev2_perr_name(why));
		eng->stats.rx_dropped++;
		return;
	}
	sa->last_rx_ms = now;
	eng_natt_follow(eng, sa, local, remote);
	if (response)
		eng_response(eng, sa, &m, now);
	else
		eng_request(eng, sa, &m);
	eng_sa_work(eng, sa, now);
	eng_reap(eng, sa);
}

/* ---- timers ---- */

static int eng_liveness_send(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	struct ikev2_enc e;

	eng_req_begin(eng, sa, &e, IKEV2_EXCH_INFORMATIONAL);
	return eng_req_finish(eng, sa, &e, IKE_REQ_LIVENESS, now);
}

/* dpd_delay: check an idle peer's liveness; the retransmission give-up
 * deletes the IKE SA if it is gone (dpd_timeout is IKEv1 only). */
static bool eng_dpd_due(const struct ike_sa *sa, uint64_t now)
{
	return sa->state == IKE_ST_ESTABLISHED && sa->conn->dpd_delay &&
	       sa->req.kind == IKE_REQ_NONE &&
	       now - sa->last_rx_ms >= (uint64_t)sa->conn->dpd_delay * 1000;
}

/* Rekeys wait for a free window (the response runs eng_sa_work()),
 * expiries do not. */
static void eng_sa_next_timeout(const struct ike_sa *sa, uint64_t *t)
{
	const struct child_sa *c;
	bool idle = sa->req.kind == IKE_REQ_NONE && sa->state == IKE_ST_ESTABLISHED;

	if (sa->state != IKE_ST_ESTABLISHED && sa->state != IKE_ST_DELETING)
		return;
	if (sa->expire_ms && sa->state == IKE_ST_ESTABLISHED && sa->expire_ms < *t)
		*t = sa->expire_ms;
	if (idle && sa->reauth_of)
		*t = 0; /* children to re-create, or the old SA to delete */
	if (idle && !sa->successor && !sa->reauth_spi && sa->rekey_ms && sa->rekey_ms < *t)
		*t = sa->rekey_ms;
	if (idle && !sa->successor && !sa->reauth_spi && sa->reauth_ms && sa->reauth_ms < *t)
		*t = sa->reauth_ms;
	for (c = sa->children; c; c = c->next) {
		if (c->expire_ms && c->expire_ms < *t)
			*t = c->expire_ms;
		if (idle && !sa->successor && !sa->reauth_spi && c->state == CHILD_ST_INSTALLED &&
		    c->rekey_ms && c->rekey_ms < *t)
			*t = c->rekey_ms;
	}
}

void engine_tick(struct engine *eng, uint64_t now)
{
	struct ike_sa *sa, *next;
	char tagbuf[160];
	int r;

	eng->now = now;
	if (!eng->cookie_rotated_ms) {
		eng->cookie_rotated_ms = now;
	} else if (now - eng->cookie_rotated_ms >= ENG_COOKIE_ROTATE_MS) {
		cookie_rotate(&eng->cookie);
		eng->cookie_rotated_ms = now;
	}
	for (sa = ike_sa_next(&eng->sas, NULL); sa; sa = next) {
		next = ike_sa_next(&eng->sas, sa);
		if (eng_dpd_due(sa, now)) {
			log_info("ike: %s: idle for %u s, checking liveness", TAG(sa),
				 sa->conn->dpd_delay);
			if (eng_liveness_send(eng, sa, now))
				eng_ike_kill(eng, sa, "failed: cannot send liveness check");
		}
		if (sa->state == IKE_ST_HALF_OPEN &&
		    now - sa->created_ms >= eng->p.half_open_timeout_ms)
			eng_ike_kill(eng, sa, "timed out waiting for IKE_AUTH");
		r = sa->state == IKE_ST_DEAD ? 0 : ike_req_due(&sa->req, now, &eng->retx);
		if (r > 0) {
			log_info("ike: %s: retransmit %u of message ID %u", TAG(sa),
				 sa->req.tries - 1, sa->req.msgid);
			eng->stats.retransmits++;
			eng_send_sa(eng, sa, sa->req.buf, sa->req.len);
		} else if (r < 0) {
			log_warn("ike: %s: no answer to message ID %u after %u tries, giving up",
				 TAG(sa), sa->req.msgid, sa->req.tries);
			eng_ike_kill(eng, sa, "deleted");
		}
		eng_sa_expire(eng, sa, now);
		eng_sa_work(eng, sa, now);
		eng_reap(eng, sa);
	}
}

uint64_t engine_next_timeout(const struct engine *eng)
{
	const struct ike_sa *sa = NULL;
	uint64_t t = UINT64_MAX;

	while ((sa = ike_sa_next(&eng->sas, sa))) {
		if (sa->req.kind != IKE_REQ_NONE && sa->req.next_ms < t)
			t = sa->req.next_ms;
		if (sa->state == IKE_ST_HALF_OPEN &&
		    sa->created_ms + eng->p.half_open_timeout_ms < t)
			t = sa->created_ms + eng->p.half_open_timeout_ms;
		if (sa->state == IKE_ST_ESTABLISHED && sa->conn->dpd_delay &&
		    sa->req.kind == IKE_REQ_NONE &&
		    sa->last_rx_ms + (uint64_t)sa->conn->dpd_delay * 1000 < t)
			t = sa->last_rx_ms + (uint64_t)sa->conn->dpd_delay * 1000;
		if (sa->state == IKE_ST_DEAD)
			t = 0;
		eng_sa_next_timeout(sa, &t);
	}
	return t;
}

/* ---- initiator API ---- */

int engine_initiate(struct engine *eng, const char *conn_name, const char *child_name,
		    const struct sockaddr *local, const struct sockaddr *remote, uint64_t now,
		    uint64_t *spi_out)
{
	return engine_initiate_ts(eng, conn_name, child_name, local, remote, NULL, NULL, now,
				  spi_out);
}

int engine_initiate_ts(struct engine *eng, const char *conn_name, const char *child_name,
		       const struct sockaddr *local, const struct sockaddr *remote,
		       const struct ikev2_ts *pkt_tsi, const struct ikev2_ts *pkt_tsr, uint64_t now,
		       uint64_t *spi_out)
{
	const struct conf_conn *conn = conf_find_conn(eng->conf, conn_name);
	const struct conf_child *child = NULL;
	struct ike_sa *sa;
	int err;

	if (!conn)
		return -ENOENT;
	if (!ike_addr_len(local) || local->sa_family != remote->sa_family || !pkt_tsi != !pkt_tsr)
		return -EINVAL;
	if (child_name) {
		child = conf_find_child(conn, child_name);
		if (!child)
			return -ENOENT;
	} else if (conn->nchildren) {
		child = conn->children[0];
	}
	err = eng_sa_start(eng, conn, child, local, remote, now, &sa);
	if (err)
		return err;
	if (pkt_tsi && child) {
		/* read when the IKE_AUTH request is built */
		sa->pkt_ts_child = child;
		sa->pkt_tsi = *pkt_tsi;
		sa->pkt_tsr = *pkt_tsr;
	}
	if (spi_out)
		*spi_out = sa->ispi;
	return 0;
}

/* A new IKE SA of @conn as initiator, its IKE_SA_INIT request sent. */
static int eng_sa_start(struct engine *eng, const struct conf_conn *conn,
			const struct conf_child *child, const struct sockaddr *local,
			const struct sockaddr *remote, uint64_t now, struct ike_sa **out)
{
	struct ike_sa *sa;
	char tagbuf[160];
	int err;

	sa = ike_sa_new(true, conn, local, remote, now);
	if (!sa)
		return -ENOMEM;
	sa->first_child = child;
	sa->ke_group = proposal_first_ke(&conn->proposals);
	sa->ni_len = IKE_NONCE_LEN;
	err = ike_sa_new_spi(&eng->sas, &sa->ispi);
	if (!err && RAND_bytes(sa->ni, (int)sa->ni_len) != 1)
		err = -EIO;
	if (!err)
		err = dh_new(sa->ke_group, &sa->dh);
	if (err) {
		ike_sa_free(sa);
		return err;
	}
	sa->state = IKE_ST_INIT_SENT;
	ike_sa_table_add(&eng->sas, sa);
	err = eng_init_send(eng, sa, now);
	if (err) {
		ike_sa_table_del(&eng->sas, sa);
		ike_sa_free(sa);
		return err;
	}
	log_info("ike: %s: initiating IKE SA", TAG(sa));
	*out = sa;
	return 0;
}

/* The SA our SPI @spi names, or the one that replaced it (a rekey). */
static int eng_sa_live(struct engine *eng, uint64_t spi, struct ike_sa **out)
{
	struct ike_sa *sa = ike_sa_lookup(&eng->sas, spi);
	unsigned int hops = 0;

	while (sa && sa->successor && hops++ < 8) {
		struct ike_sa *next = ike_sa_lookup(&eng->sas, sa->successor);

		if (!next || next->state == IKE_ST_DEAD)
			break;
		sa = next;
	}
	if (!sa || sa->state == IKE_ST_DEAD)
		return -ENOENT;
	if (sa->state != IKE_ST_ESTABLISHED)
		return -EAGAIN;
	*out = sa;
	return 0;
}

static int eng_sa_idle(struct engine *eng, uint64_t spi, struct ike_sa **out)
{
	int err = eng_sa_live(eng, spi, out);

	if (!err && (*out)->req.kind != IKE_REQ_NONE)
		return -EBUSY;
	return err;
}

int engine_child_create(struct engine *eng, uint64_t spi, const char *child, uint64_t now)
{
	return engine_child_create_ts(eng, spi, child, NULL, NULL, now);
}

int engine_child_create_ts(struct engine *eng, uint64_t spi, const char *child,
			   const struct ikev2_ts *pkt_tsi, const struct ikev2_ts *pkt_tsr,
			   uint64_t now)
{
	const struct conf_child *cc;
	struct ike_sa *sa;
	int err;

	if (!pkt_tsi != !pkt_tsr)
		return -EINVAL;
	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	cc = conf_find_child(sa->conn, child);
	if (!cc)
		return -ENOENT;
	sa->pkt_ts_child = pkt_tsi ? cc : NULL;
	if (pkt_tsi) {
		sa->pkt_tsi = *pkt_tsi;
		sa->pkt_tsr = *pkt_tsr;
	}
	err = eng_child_start(eng, sa, cc, 0, now);
	if (err) {
		sa->pkt_ts_child = NULL;
		eng_req_child_release(eng, sa);
	}
	return err;
}

/* CREATE_CHILD_SA request for @cc; @ke forces the KE group (a retry). */
static int eng_child_start(struct engine *eng, struct ike_sa *sa, const struct conf_child *cc,
			   uint16_t ke, uint64_t now)
{
	struct ikev2_enc e;
	int err;

	err = eng_child_offer(eng, sa, cc, ENG_CHILD_IN_CREATE, ke);
	if (!err && RAND_bytes(sa->req.child_nonce, IKE_NONCE_LEN) != 1)
		err = -EIO;
	if (err)
		return err;
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_CREATE_CHILD_SA);
	eng_enc_child_offer(&e, &sa->req);
	ikev2_enc_nonce(&e, sa->req.child_nonce, IKE_NONCE_LEN);
	if (sa->req.child_dh) {
		uint8_t pub[DH_MAX_PUBLIC_LEN];
		size_t len = dh_public_len(sa->req.child_ke);

		err = dh_public(sa->req.child_dh, pub, len);
		if (err)
			return err;
		ikev2_enc_ke(&e, sa->req.child_ke, pub, len);
	}
	eng_enc_child_ts(&e, &sa->req.tsi, &sa->req.tsr);
	return eng_req_finish(eng, sa, &e, IKE_REQ_CHILD, now);
}

int engine_child_delete(struct engine *eng, uint64_t spi, uint32_t spi_in, uint64_t now)
{
	struct child_sa *c;
	struct ike_sa *sa;
	int err;

	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	c = ike_child_find_in(sa, spi_in);
	if (!c)
		return -ENOENT;
	return eng_child_delete_send(eng, sa, c, &c->spi_in, 1, now);
}

int engine_ike_delete(struct engine *eng, uint64_t spi, uint64_t now)
{
	struct ike_sa *sa;
	int err;

	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	return eng_ike_delete_send(eng, sa, now);
}

int engine_rekey_ike(struct engine *eng, uint64_t spi, uint64_t now)
{
	struct ike_sa *sa;
	int err;

	err = eng_sa_live(eng, spi, &sa);
	if (err)
		return err;
	sa->rekey_ms = now ?: 1;
	eng_sa_work(eng, sa, now);
	return 0;
}

int engine_rekey_child(struct engine *eng, uint64_t spi, uint32_t spi_in, uint64_t now)
{
	struct child_sa *c;
	struct ike_sa *sa;
	int err;

	err = eng_sa_live(eng, spi, &sa);
	if (err)
		return err;
	c = ike_child_find_in(sa, spi_in);
	if (!c)
		return -ENOENT;
	if (c->state != CHILD_ST_INSTALLED)
		return -EALREADY;
	c->rekey_ms = now ?: 1;
	eng_sa_work(eng, sa, now);
	return 0;
}

int engine_liveness(struct engine *eng, uint64_t spi, uint64_t now)
{
	struct ike_sa *sa;
	int err;

	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	return eng_liveness_send(eng, sa, now);
}

/* ---- engine object ---- */

int engine_new(const struct conf *conf, const struct engine_ops *ops,
	       const struct engine_params *params, struct engine **out)
{
	struct engine *eng;
	int err;

	if (!conf || !ops || !ops->send)
		return -EINVAL;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return -ENOMEM;
	eng->conf = conf;
	eng->ops = *ops;
	if (params)
		eng->p = *params;
	if (!eng->p.retx_timeout_ms)
		eng->p.retx_timeout_ms = ENGINE_RETX_TIMEOUT_MS;
	if (!eng->p.retx_tries)
		eng->p.retx_tries = ENGINE_RETX_TRIES;
	if (!eng->p.half_open_timeout_ms)
		eng->p.half_open_timeout_ms = ENGINE_HALF_OPEN_TIMEOUT_MS;
	if (!eng->p.cookie_threshold)
		eng->p.cookie_threshold = ENGINE_COOKIE_THRESHOLD;
	eng->retx.timeout_ms = eng->p.retx_timeout_ms;
	eng->retx.max_tries = eng->p.retx_tries;
	err = cookie_init(&eng->cookie);
	if (err) {
		free(eng);
		return err;
	}
	eng->pools = eng->p.pools;
	if (!eng->pools) {
		err = cp_pools_new(&eng->pools);
		if (err) {
			cookie_clear(&eng->cookie);
			free(eng);
			return err;
		}
		eng->own_pools = true;
	}
	*out = eng;
	return 0;
}

void engine_free(struct engine *eng)
{
	struct ike_sa *sa, *next;

	if (!eng)
		return;
	for (sa = ike_sa_next(&eng->sas, NULL); sa; sa = next) {
		next = ike_sa_next(&eng->sas, sa);
		eng_ike_kill(eng, sa, "removed at shutdown");
		eng_reap(eng, sa);
	}
	cookie_clear(&eng->cookie);
	if (eng->own_pools)
		cp_pools_free(eng->pools);
	free(eng);
}

const struct ike_sa *engine_sa_find(const struct engine *eng, uint64_t spi)
{
	return ike_sa_lookup(&eng->sas, spi);
}

const struct ike_sa *engine_sa_next(const struct engine *eng, const struct ike_sa *prev)
{
	return ike_sa_next(&eng->sas, prev);
}

unsigned int engine_sa_count(const struct engine *eng)
{
	return eng->sas.n;
}

unsigned int engine_half_open_count(const struct engine *eng)
{
	return eng->sas.n_half_open;
}

const struct engine_stats *engine_get_stats(const struct engine *eng)
{
	return &eng->stats;
}

void engine_stats_add(struct engine_stats *to, const struct engine_stats *from)
{
	to->rx += from->rx;
	to->rx_dropped += from->rx_dropped;
	to->tx += from->tx;
	to->retransmits += from->retransmits;
	to->cached_replies += from->cached_replies;
	to->requests_processed += from->requests_processed;
	to->cookies_sent += from->cookies_sent;
	to->invalid_ke_sent += from->invalid_ke_sent;
	to->ike_established += from->ike_established;
	to->ike_deleted += from->ike_deleted;
	to->auth_failed += from->auth_failed;
	to->child_installed += from->child_installed;
	to->child_removed += from->child_removed;
	to->ike_rekeyed += from->ike_rekeyed;
	to->child_rekeyed += from->child_rekeyed;
	to->ike_reauthed += from->ike_reauthed;
}
