/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKE SA and child SA state (RFC 7296 2.1-2.4): the SPI table, the window of
 * one (one outstanding request per direction), the retransmission schedule
 * of our request, and the cached reply to the peer's last request.
 *
 * The exchange logic lives in ikev2_exch.c; this file only keeps state and
 * answers "which SA", "is it time to resend" and "what did we answer".
 */
#ifndef XIKED_IKE_SA_H
#define XIKED_IKE_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "cookie.h"
#include "crypto.h"
#include "dh.h"
#include "ikev2_pld.h"
#include "proposal.h"
#include "cp.h"

#define IKE_NONCE_LEN  32
#define IKE_SA_BUCKETS 256
#define IKE_ID_MAX     512 /* DER distinguished names can be long */

enum ike_state {
	IKE_ST_INIT_SENT, /* initiator: IKE_SA_INIT request out */
	IKE_ST_AUTH_SENT, /* initiator: IKE_AUTH request out */
	IKE_ST_HALF_OPEN, /* responder: IKE_SA_INIT answered, IKE_AUTH awaited */
	IKE_ST_ESTABLISHED,
	IKE_ST_DELETING, /* our Delete for the IKE SA is out */
	IKE_ST_DEAD, /* freed at the next engine_tick() */
};

/* What our outstanding request is, so its response is routed right. */
enum ike_req_kind {
	IKE_REQ_NONE,
	IKE_REQ_INIT,
	IKE_REQ_AUTH,
	IKE_REQ_CHILD, /* CREATE_CHILD_SA for a new child */
	IKE_REQ_DEL_CHILD,
	IKE_REQ_DEL_IKE,
	IKE_REQ_LIVENESS,
	IKE_REQ_REKEY_CHILD, /* CREATE_CHILD_SA with REKEY_SA (1.3.3) */
	IKE_REQ_REKEY_IKE, /* CREATE_CHILD_SA rekeying the IKE SA (1.3.2) */
};

struct ike_retx_params {
	uint32_t timeout_ms; /* first retransmission after this */
	uint32_t max_tries; /* sends including the first; give up after */
};

/* Our request in flight (window of one). */
struct ike_req {
	enum ike_req_kind kind;
	uint32_t msgid;
	uint8_t *buf;
	size_t len;
	unsigned int tries; /* sends so far */
	uint64_t next_ms; /* when to resend */
	uint64_t timeout_ms; /* current backoff step */
	/* child being negotiated (IKE_REQ_AUTH, IKE_REQ_CHILD) */
	const struct conf_child *child_cfg;
	uint32_t child_spi;
	struct ikev2_sa child_offer;
	struct ikev2_ts_list tsi, tsr;
	uint8_t child_nonce[IKE_NONCE_LEN];
	struct dh_ctx *child_dh; /* CREATE_CHILD_SA with a KE method (PFS) */
	uint16_t child_ke;
	/* IKE_REQ_DEL_CHILD */
	uint32_t del_spi;
	/* IKE_REQ_REKEY_CHILD: spi_in of the child being replaced; the peer
	 * deleted it while our request was out (2.25.1) */
	uint32_t rekey_spi;
	bool rekey_old_deleted;
	/* IKE_REQ_REKEY_IKE: our SPI of the new IKE SA, our nonce in
	 * child_nonce, our key pair in child_dh / child_ke */
	uint64_t rekey_ike_spi;
};

enum child_state {
	CHILD_ST_INSTALLED,
	CHILD_ST_REKEYING, /* our CREATE_CHILD_SA replacing it is out */
	CHILD_ST_REKEYED, /* replaced; the Delete is due (del_pending) or the peer's */
	CHILD_ST_DELETING, /* our Delete for it is out */
};

/* The peer's rekey of a child we were rekeying too (2.8.1): what decides
 * which of the two new SAs survives. */
struct child_collision {
	uint32_t spi_in; /* of the child the peer's exchange made */
	uint8_t nonce[IKEV2_NONCE_MAX]; /* the lower nonce of that exchange */
	size_t nonce_len;
};

struct child_sa {
	struct child_sa *next;
	const struct conf_child *cfg;
	uint32_t spi_in, spi_out; /* host order; spi_in is the one we chose */
	struct proposal_choice alg;
	struct ikev2_ts_list ts_local, ts_remote;
	bool installed;
	enum child_state state;
	bool del_pending; /* send a Delete for it when the window is free */
	uint64_t rekey_ms, expire_ms; /* rekey_time and life_time, 0: never */
	bool has_coll; /* the peer rekeyed it too: coll */
	struct child_collision coll;
};

struct ike_sa {
	struct ike_sa *hnext; /* SPI table bucket chain (our SPI) */
	struct ike_sa *inext; /* responder SAs by initiator SPI */
	uint64_t ispi, rspi;
	bool initiator; /* we sent the IKE_SA_INIT request */
	enum ike_state state;
	const struct conf_conn *conn;
	const struct conf_child *first_child; /* negotiated in IKE_AUTH */
	/* On demand (start_action = trap): the triggering packet's flow,
	 * offered first (RFC 7296 2.9) when child pkt_ts_child is proposed in
	 * IKE_AUTH or the next CREATE_CHILD_SA; NULL once that is answered. */
	const struct conf_child *pkt_ts_child;
	struct ikev2_ts pkt_tsi, pkt_tsr;
	struct sockaddr_storage local, remote;
	/* NAT traversal (RFC 7296 2.23): what IKE_SA_INIT's NAT_DETECTION
	 * notifies told; ESP is UDP-encapsulated if any of the last three. */
	bool natd; /* the peer sent NAT_DETECTION notifies */
	bool nat_local; /* we are behind a NAT: keepalives are ours to send */
	bool nat_remote; /* the peer is behind a NAT: follow its address */
	bool nat_fake; /* encap = yes: our source hash was faked */
	uint64_t ka_next_ms; /* next NAT keepalive (nat_local) */

	struct proposal_choice alg;
	struct crypto_suite suite;
	struct crypto_ike_keys keys;
	struct crypto_sk sk_in, sk_out; /* peer -> us, us -> peer */
	bool keyed;
	struct dh_ctx *dh;
	uint16_t ke_group; /* group of our KE payload */
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
	size_t ni_len, nr_len;
	uint8_t cookie[COOKIE_MAX];
	size_t cookie_len;
	/* Both IKE_SA_INIT messages as sent, signed by the AUTH payloads */
	uint8_t *init_req, *init_resp;
	size_t init_req_len, init_resp_len;
	uint8_t peer_id[IKE_ID_MAX]; /* ID payload body (type | 3 reserved | data) */
	size_t peer_id_len;
	/* Public key authentication (auth_sig.h): what the peer said in
	 * IKE_SA_INIT (and in the IKE_AUTH request, for a responder). */
	unsigned int peer_hashes; /* SIGNATURE_HASH_ALGORITHMS as AUTH_HASH_BIT()s; 0: none */
	bool peer_certreq; /* a CERTREQ came: send_cert = ifasked sends ours */

	uint32_t next_msgid; /* of our next request */
	struct ike_req req; /* outstanding request, kind NONE if idle */
	uint32_t expect_msgid; /* of the peer's next request */
	uint8_t *reply; /* our answer to the peer's last request */
	size_t reply_len;
	bool has_reply;

	uint64_t created_ms, last_rx_ms;
	/* Rekeying (1.3.2, 2.18). rekey_ms: our rekey is due (rekey_time minus
	 * jitter); expire_ms: deleted if not rekeyed by then (+ over_time). */
	uint64_t rekey_ms, expire_ms;
	uint64_t successor; /* our SPI of the IKE SA that replaced this one */
	bool del_pending; /* replaced: send our Delete when the window is free */
	/* The peer rekeyed this IKE SA while our rekey was out (2.8.1): our
	 * SPI of the SA its exchange made and that exchange's lower nonce. */
	uint64_t coll_spi;
	uint8_t coll_nonce[IKEV2_NONCE_MAX];
	size_t coll_nonce_len;
	/* SPIs of children that expired (life_time) and whose Delete is due */
	uint32_t expired_spis[8];
	unsigned int n_expired;
	struct child_sa *children;
	unsigned int n_inits;
	/* Reauthentication (reauth_time; RFC 7296 2.8.3), make-before-break:
	 * a new IKE SA with a new IKE_SA_INIT and IKE_AUTH is set up beside
	 * this one, re-creates its children, and then this one is deleted.
	 * In the old SA: reauth_ms, when ours is due; reauth_end_ms, when the
	 * old SA is deleted if reauthentication kept failing (+ over_time);
	 * reauth_spi, our SPI of the new SA while it is being set up.
	 * In the new SA: reauth_of, our SPI of the SA it replaces, and the
	 * configurations of that SA's further children, created one by one
	 * (CREATE_CHILD_SA) once it is established. */
	uint64_t reauth_ms, reauth_end_ms, reauth_spi;
	uint64_t reauth_of;
	const struct conf_child **reauth_queue;
	unsigned int n_reauth_queue; /* IKE_SA_INIT sends incl. cookie/KE retries */

	/* Virtual IPs (cp.h): leased to the peer from our pools (responder),
	 * or assigned to us by the peer (initiator). They belong to the IKE
	 * SA: an IKE rekey moves them to the new SA with the children. */
	struct cp_vips vips_peer, vips_own;
	bool close_after_auth; /* initiator: established but unusable (no VIP) */
};

struct ike_sa_table {
	struct ike_sa *bucket[IKE_SA_BUCKETS];
	struct ike_sa *ibucket[IKE_SA_BUCKETS]; /* responder SAs by SPIi */
	unsigned int n;
	unsigned int n_half_open; /* responder SAs in IKE_ST_HALF_OPEN */
};

/* Our SPI of @sa: the key of the table. */
static inline uint64_t ike_sa_local_spi(const struct ike_sa *sa)
{
	return sa->initiator ? sa->ispi : sa->rspi;
}

struct ike_sa *ike_sa_new(bool initiator, const struct conf_conn *conn,
			  const struct sockaddr *local, const struct sockaddr *remote,
			  uint64_t now);
/* Frees children records, keys (scrubbed), DH and buffers; not in a table. */
void ike_sa_free(struct ike_sa *sa);
void ike_sa_set_state(struct ike_sa_table *t, struct ike_sa *sa, enum ike_state st);

/* A random non-zero SPI not used in @t. */
int ike_sa_new_spi(const struct ike_sa_table *t, uint64_t *spi);
void ike_sa_table_add(struct ike_sa_table *t, struct ike_sa *sa);
void ike_sa_table_del(struct ike_sa_table *t, struct ike_sa *sa);
struct ike_sa *ike_sa_lookup(const struct ike_sa_table *t, uint64_t local_spi);
/* Responder SA made by an IKE_SA_INIT with @ispi from @remote (retransmits). */
struct ike_sa *ike_sa_lookup_init(const struct ike_sa_table *t, uint64_t ispi,
				  const struct sockaddr *remote);
/* Iterate: first with @prev NULL. */
struct ike_sa *ike_sa_next(const struct ike_sa_table *t, const struct ike_sa *prev);

/* Take ownership of @buf as the outstanding request and schedule it. */
void ike_req_start(struct ike_req *r, enum ike_req_kind kind, uint32_t msgid, uint8_t *buf,
		   size_t len, uint64_t now, const struct ike_retx_params *p);
/* Replace the request's bytes (cookie / KE retry), restarting the schedule. */
void ike_req_restart(struct ike_req *r, uint8_t *buf, size_t len, uint64_t now,
		     const struct ike_retx_params *p);
void ike_req_done(struct ike_req *r);
/* 1: resend now (schedule advanced, tries counted), 0: not yet,
 * -ETIMEDOUT: the give-up limit is reached. Exponential backoff. */
int ike_req_due(struct ike_req *r, uint64_t now, const struct ike_retx_params *p);

/* Keep a copy of the reply to the peer's request @msgid. */
int ike_sa_cache_reply(struct ike_sa *sa, const uint8_t *buf, size_t len);

struct child_sa *ike_child_find_in(const struct ike_sa *sa, uint32_t spi_in);
struct child_sa *ike_child_find_out(const struct ike_sa *sa, uint32_t spi_out);
void ike_child_unlink(struct ike_sa *sa, struct child_sa *c);
/* A random ESP SPI (>= 256) not used by any child in @t. */
int ike_child_new_spi(const struct ike_sa_table *t, uint32_t *spi);

/* "192.0.2.1[500]" */
void ike_addr_str(const struct sockaddr *sa, char *buf, size_t len);
socklen_t ike_addr_len(const struct sockaddr *sa);
bool ike_addr_equal(const struct sockaddr *a, const struct sockaddr *b);
const char *ike_state_name(enum ike_state st);
/* "INSTALLED", "REKEYING", "REKEYED", "DELETING"; "PENDING" if not installed */
const char *ike_child_state_name(const struct child_sa *c);

#endif
