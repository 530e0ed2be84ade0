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
 *	HDR, SK {IDi, [IDr,] AUTH,
 *	         SAi2, TSi, TSr}          -->
 *	                                  <--  HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
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
 * Not implemented (refused or ignored with a log line): rekeying of IKE and
 * child SAs (REKEY_SA / IKE proposals in CREATE_CHILD_SA are answered
 * NO_ADDITIONAL_SAS), certificate authentication, EAP, configuration
 * payloads, NAT-T (no NAT_DETECTION notifies, no port 4500), MOBIKE,
 * fragmentation, windows larger than one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

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
	uint64_t cookie_rotated_ms;
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
	info->spi_in = c->spi_in;
	info->spi_out = c->spi_out;
	info->encr = c->alg.encr;
	info->encr_keylen = c->alg.encr_keylen;
	info->integ = c->alg.integ;
	info->esn = c->alg.esn == IKEV2_ESN_YES;
	info->ts_local = &c->ts_local;
	info->ts_remote = &c->ts_remote;
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

/* Mark @sa dead: children removed now, memory freed by eng_reap(). */
static void eng_ike_kill(struct engine *eng, struct ike_sa *sa, const char *why)
{
	char tagbuf[160];

	if (sa->state == IKE_ST_DEAD)
		return;
	while (sa->children)
		eng_child_remove(eng, sa, sa->children, "removed with its IKE SA");
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
	proposal_str(&c->alg, alg, sizeof(alg));
	ts_list_str(&c->ts_local, tl, sizeof(tl));
	ts_list_str(&c->ts_remote, tr, sizeof(tr));
	log_info("ike: %s: CHILD_SA %s established, SPIs in 0x%08x out 0x%08x, %s, %s === %s",
		 TAG(sa), c->cfg->name, c->spi_in, c->spi_out, alg, tl, tr);
out:
	explicit_bzero(km, sizeof(km));
	return err;
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
		err = ts_from_conf(cc->local_ts, cc->nlocal_ts, (const struct sockaddr *)&sa->local,
				   &sa->req.tsi);
	if (!err)
		err = ts_from_conf(cc->remote_ts, cc->nremote_ts,
				   (const struct sockaddr *)&sa->remote, &sa->req.tsr);
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
static void eng_child_respond(struct engine *eng, struct ike_sa *sa, struct ikev2_pld_list *l,
			      enum eng_child_exch where, const struct ikev2_ke *ke,
			      const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
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

		if (ts_from_conf(x->remote_ts, x->nremote_ts, (const struct sockaddr *)&sa->remote,
				 &allow_i) ||
		    ts_from_conf(x->local_ts, x->nlocal_ts, (const struct sockaddr *)&sa->local,
				 &allow_r) ||
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

static void eng_enc_child_answer(struct ikev2_enc *e, const struct eng_child_answer *ans)
{
	if (ans->notify)
		ikev2_enc_notify(e, IKEV2_PROTO_NONE, NULL, 0, ans->notify, ans->notify_data,
				 ans->notify_len);
	else
		ikev2_enc_sa(e, &ans->sa);
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
	char peer[80], tagbuf[160], alg[128];
	int err;

	ike_addr_str(remote, peer, sizeof(peer));
	sa = ike_sa_lookup_init(&eng->sas, m->hdr.ispi, remote);
	if (sa) {
		if (m->hdr.msgid == 0 && sa->init_resp && sa->state == IKE_ST_HALF_OPEN) {
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
	    ikev2_pld_parse_sa(p_sa, &offer, NULL) || ikev2_pld_parse_ke(p_ke, &ke, NULL) ||
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
	if (!err)
		err = dh_derive(sa->dh, ke.data, ke.len, gir, dh_secret_len(ch.dh));
	if (!err)
		err = eng_derive_ike_keys(sa, gir, dh_secret_len(ch.dh));
	explicit_bzero(gir, sizeof(gir));
	if (err) {
		log_warn("ike: %s: IKE_SA_INIT SPI %016" PRIx64 "_i: key exchange failed: %s, "
			 "dropped",
			 peer, m->hdr.ispi, strerror(-err));
		ike_sa_free(sa);
		return;
	}
	eng_hdr(sa, &h, IKEV2_EXCH_IKE_SA_INIT, 0, true);
	ikev2_msg_begin(&e, eng->tx, sizeof(eng->tx), &h);
	proposal_choice_to_sa(&ch, &answer);
	ikev2_enc_sa(&e, &answer);
	ikev2_enc_ke(&e, ch.dh, pub, dh_public_len(ch.dh));
	ikev2_enc_nonce(&e, sa->nr, sa->nr_len);
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
	eng_send_sa(eng, sa, sa->init_resp, sa->init_resp_len);
}

/* ---- IKE_AUTH ---- */

static int eng_auth_send(struct engine *eng, struct ike_sa *sa, uint64_t now)
{
	const struct conf_auth *la = &sa->conn->local[0], *ra = &sa->conn->remote[0];
	uint8_t idb[IKE_ID_MAX], auth[CRYPTO_PRF_MAX];
	struct conf_id me;
	struct ikev2_enc e;
	size_t idb_len, auth_len;
	char tagbuf[160];
	int err;

	if (la->method != CONF_AUTH_PSK || ra->method != CONF_AUTH_PSK) {
		log_warn("ike: %s: only PSK authentication is implemented", TAG(sa));
		return -ENOTSUP;
	}
	err = eng_local_id(sa, idb, sizeof(idb), &idb_len, &me);
	if (err)
		return err;
	err = eng_psk_auth(eng, sa, true, idb, idb_len, &me, &ra->id, auth, &auth_len);
	if (err) {
		log_warn("ike: %s: no PSK for our identity: %s", TAG(sa), strerror(-err));
		return err;
	}
	if (sa->first_child) {
		err = eng_child_offer(eng, sa, sa->first_child, ENG_CHILD_IN_AUTH, 0);
		if (err)
			goto out;
	}
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_IKE_AUTH);
	ikev2_enc_id(&e, IKEV2_PLD_IDI, idb[0], idb + 4, idb_len - 4);
	if (ra->id.type != CONF_ID_ANY && !ra->id.wildcard)
		ikev2_enc_id(&e, IKEV2_PLD_IDR, (uint8_t)ra->id.type, ra->id.data, ra->id.len);
	ikev2_enc_auth(&e, IKEV2_AUTH_SHARED_KEY_MIC, auth, auth_len);
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
	uint8_t idb[IKE_ID_MAX], want[CRYPTO_PRF_MAX];
	struct ikev2_pld *p_id, *p_auth;
	struct conf_id me, peer;
	struct ikev2_auth auth;
	struct ikev2_id id;
	size_t idb_len, want_len;
	uint16_t notify;
	char tagbuf[160], ids[128];
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
		log_warn("ike: %s: peer identity '%s' does not match '%s'", TAG(sa), ids,
			 ra->id.str ? ra->id.str : "%any");
		eng->stats.auth_failed++;
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	err = eng_local_id(sa, idb, sizeof(idb), &idb_len, &me);
	if (!err)
		err = eng_psk_auth(eng, sa, false, sa->peer_id, sa->peer_id_len, &me, &peer, want,
				   &want_len);
	if (err || auth.method != IKEV2_AUTH_SHARED_KEY_MIC || auth.len != want_len ||
	    CRYPTO_memcmp(auth.data, want, want_len)) {
		explicit_bzero(want, sizeof(want));
		log_warn("ike: %s: authentication of peer '%s' failed", TAG(sa), ids);
		eng->stats.auth_failed++;
		eng_ike_kill(eng, sa, "failed");
		return;
	}
	explicit_bzero(want, sizeof(want));
	eng_established(eng, sa);
	log_info("ike: %s: IKE SA established with '%s' (PSK)", TAG(sa), ids);
	if (sa->req.child_cfg)
		eng_child_response(eng, sa, &m->inner, ENG_CHILD_IN_AUTH, sa->ni, sa->ni_len,
				   sa->nr, sa->nr_len);
}

/* The connection for an authenticated peer: the one picked at IKE_SA_INIT
 * if its remote identity accepts @peer, else another one with fitting
 * addresses, identities and IKE proposal. */
static const struct conf_conn *eng_find_conn_auth(struct engine *eng, const struct ike_sa *sa,
						  const struct conf_id *peer,
						  const struct conf_id *idr)
{
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
	uint8_t idb[IKE_ID_MAX], want[CRYPTO_PRF_MAX], mine[CRYPTO_PRF_MAX];
	struct ikev2_pld *p_id, *p_idr, *p_auth;
	struct conf_id me, peer, idr_id;
	const struct conf_conn *conn;
	struct eng_child_answer ans;
	struct ikev2_auth auth;
	struct ikev2_id id;
	struct ikev2_enc e;
	size_t idb_len, want_len, mine_len;
	char tagbuf[160], ids[128];
	bool has_child;
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
	conn = eng_find_conn_auth(eng, sa, &peer, p_idr ? &idr_id : NULL);
	if (!conn || conn->local[0].method != CONF_AUTH_PSK ||
	    conn->remote[0].method != CONF_AUTH_PSK) {
		log_warn("ike: %s: no PSK connection for peer '%s'", TAG(sa), ids);
		goto fail;
	}
	sa->conn = conn;
	err = eng_local_id(sa, idb, sizeof(idb), &idb_len, &me);
	if (!err)
		err = eng_psk_auth(eng, sa, true, sa->peer_id, sa->peer_id_len, &me, &peer, want,
				   &want_len);
	if (err || auth.method != IKEV2_AUTH_SHARED_KEY_MIC || auth.len != want_len ||
	    CRYPTO_memcmp(auth.data, want, want_len)) {
		log_warn("ike: %s: authentication of peer '%s' failed", TAG(sa), ids);
		goto fail;
	}
	err = eng_psk_auth(eng, sa, false, idb, idb_len, &me, &peer, mine, &mine_len);
	if (err)
		goto fail;
	eng_established(eng, sa);
	log_info("ike: %s: IKE SA established with '%s' (PSK)", TAG(sa), ids);

	has_child = ikev2_pld_find(&m->inner, IKEV2_PLD_SA, 0) != NULL;
	if (has_child)
		eng_child_respond(eng, sa, &m->inner, ENG_CHILD_IN_AUTH, NULL, sa->ni, sa->ni_len,
				  sa->nr, sa->nr_len, &ans);
	eng_reply_begin(eng, sa, &e, m);
	ikev2_enc_id(&e, IKEV2_PLD_IDR, idb[0], idb + 4, idb_len - 4);
	ikev2_enc_auth(&e, IKEV2_AUTH_SHARED_KEY_MIC, mine, mine_len);
	if (has_child) {
		eng_enc_child_answer(&e, &ans);
		if (!ans.notify)
			eng_enc_child_ts(&e, &ans.tsi, &ans.tsr);
	}
	explicit_bzero(want, sizeof(want));
	explicit_bzero(mine, sizeof(mine));
	if (eng_reply_finish(eng, sa, &e))
		eng_ike_kill(eng, sa, "failed");
	return;
fail:
	explicit_bzero(want, sizeof(want));
	eng->stats.auth_failed++;
	eng_reply_notify(eng, sa, m, IKEV2_N_AUTHENTICATION_FAILED);
	eng_ike_kill(eng, sa, "failed: AUTHENTICATION_FAILED sent");
}

/* ---- CREATE_CHILD_SA ---- */

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
	char tagbuf[160];

	memset(&ans, 0, sizeof(ans));
	p_nonce = ikev2_pld_find(&m->inner, IKEV2_PLD_NONCE, 0);
	p_ke = ikev2_pld_find(&m->inner, IKEV2_PLD_KE, 0);
	if (!p_nonce || ikev2_pld_parse_nonce(p_nonce, &nonce, NULL) ||
	    (p_ke && ikev2_pld_parse_ke(p_ke, &ke, NULL))) {
		ans.notify = IKEV2_N_INVALID_SYNTAX;
	} else if (eng_find_notify(&m->inner, IKEV2_N_REKEY_SA, &n)) {
		/* Rekeying is not implemented: refuse rather than make an
		 * unrelated SA (RFC 7296 2.8 lets us refuse). */
		log_warn("ike: %s: CREATE_CHILD_SA to rekey a CHILD_SA: not supported", TAG(sa));
		ans.notify = IKEV2_N_NO_ADDITIONAL_SAS;
	} else {
		struct ikev2_pld *p_sa = ikev2_pld_find(&m->inner, IKEV2_PLD_SA, 0);

		if (p_sa && !ikev2_pld_parse_sa(p_sa, &offer, NULL) && offer.n_props &&
		    offer.props[0].proto == IKEV2_PROTO_IKE) {
			log_warn("ike: %s: IKE SA rekeying not supported", TAG(sa));
			ans.notify = IKEV2_N_NO_ADDITIONAL_SAS;
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
			if (n_spis < ENG_DEL_MAX)
				eng_put32(spis + (size_t)4 * n_spis++, c->spi_in);
			eng_child_remove(eng, sa, c, "deleted by peer");
		}
	}
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

/* ---- input dispatch ---- */

static int eng_child_start(struct engine *eng, struct ike_sa *sa, const struct conf_child *cc,
			   uint16_t ke, uint64_t now);

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
		ike_req_done(&sa->req);
		return;
	case IKE_REQ_CHILD: {
		const struct conf_child *cc = sa->req.child_cfg;
		uint16_t retry;

		if (m->hdr.exchange != IKEV2_EXCH_CREATE_CHILD_SA)
			break;
		retry = eng_child_create_response(eng, sa, m);
		ike_req_done(&sa->req);
		if (retry && eng_child_start(eng, sa, cc, retry, now))
			log_warn("ike: %s: CHILD_SA %s: cannot retry", TAG(sa), cc->name);
		return;
	}
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
	if (response)
		eng_response(eng, sa, &m, now);
	else
		eng_request(eng, sa, &m);
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

void engine_tick(struct engine *eng, uint64_t now)
{
	struct ike_sa *sa, *next;
	char tagbuf[160];
	int r;

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
	}
	return t;
}

/* ---- initiator API ---- */

int engine_initiate(struct engine *eng, const char *conn_name, const char *child_name,
		    const struct sockaddr *local, const struct sockaddr *remote, uint64_t now,
		    uint64_t *spi_out)
{
	const struct conf_conn *conn = conf_find_conn(eng->conf, conn_name);
	const struct conf_child *child = NULL;
	struct ike_sa *sa;
	char tagbuf[160];
	int err;

	if (!conn)
		return -ENOENT;
	if (!ike_addr_len(local) || local->sa_family != remote->sa_family)
		return -EINVAL;
	if (child_name) {
		child = conf_find_child(conn, child_name);
		if (!child)
			return -ENOENT;
	} else if (conn->nchildren) {
		child = conn->children[0];
	}
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
	if (spi_out)
		*spi_out = sa->ispi;
	return 0;
}

static int eng_sa_idle(struct engine *eng, uint64_t spi, struct ike_sa **out)
{
	struct ike_sa *sa = ike_sa_lookup(&eng->sas, spi);

	if (!sa || sa->state == IKE_ST_DEAD)
		return -ENOENT;
	if (sa->state != IKE_ST_ESTABLISHED)
		return -EAGAIN;
	if (sa->req.kind != IKE_REQ_NONE)
		return -EBUSY;
	*out = sa;
	return 0;
}

int engine_child_create(struct engine *eng, uint64_t spi, const char *child, uint64_t now)
{
	const struct conf_child *cc;
	struct ike_sa *sa;
	int err;

	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	cc = conf_find_child(sa->conn, child);
	if (!cc)
		return -ENOENT;
	return eng_child_start(eng, sa, cc, 0, now);
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
	struct ikev2_enc e;
	struct ike_sa *sa;
	uint8_t s[4];
	int err;

	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	if (!ike_child_find_in(sa, spi_in))
		return -ENOENT;
	eng_put32(s, spi_in);
	sa->req.del_spi = spi_in;
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_INFORMATIONAL);
	ikev2_enc_delete(&e, IKEV2_PROTO_ESP, 4, s, 1);
	return eng_req_finish(eng, sa, &e, IKE_REQ_DEL_CHILD, now);
}

int engine_ike_delete(struct engine *eng, uint64_t spi, uint64_t now)
{
	struct ikev2_enc e;
	struct ike_sa *sa;
	int err;

	err = eng_sa_idle(eng, spi, &sa);
	if (err)
		return err;
	eng_req_begin(eng, sa, &e, IKEV2_EXCH_INFORMATIONAL);
	ikev2_enc_delete(&e, IKEV2_PROTO_IKE, 0, NULL, 0);
	err = eng_req_finish(eng, sa, &e, IKE_REQ_DEL_IKE, now);
	if (!err)
		ike_sa_set_state(&eng->sas, sa, IKE_ST_DELETING);
	return err;
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
