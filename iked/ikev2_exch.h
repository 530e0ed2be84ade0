/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IKEv2 exchange engine (RFC 7296): IKE_SA_INIT, IKE_AUTH with PSK or
 * certificates (RFC 7427 signatures),
 * CREATE_CHILD_SA for additional child SAs and rekeys of child and IKE SAs,
 * INFORMATIONAL (delete, liveness), cookies and INVALID_KE_PAYLOAD, in both
 * roles.
 *
 * The engine owns no sockets and no timers: the daemon (or a test) feeds it
 * datagrams with engine_input() and the time with engine_tick(), and the
 * engine answers through callbacks. Time is a monotonic count of
 * milliseconds chosen by the caller. Nothing here blocks.
 *
 *	daemon                       engine
 *	recvmsg() ---------------->  engine_input(pkt, local, remote, now)
 *	timerfd / poll timeout --->  engine_tick(now)
 *	sendto() <-----------------  ops.send(pkt, local, remote)
 *	xfrm_nl state+policy <-----  ops.install_child(child) / ops.remove_child()
 *
 * Child SA keys are passed to install_child() only and scrubbed right after:
 * the engine keeps no ESP key material.
 */
#ifndef XIKED_IKEV2_EXCH_H
#define XIKED_IKEV2_EXCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "ike_sa.h"

struct engine;

/* A child SA as the kernel needs it. "in" is peer -> us. Keys are NULL in
 * remove_child(). SPIs are host order. */
struct engine_child {
	const struct conf_conn *conn;
	const struct conf_child *cfg;
	uint64_t ispi, rspi; /* the IKE SA it belongs to */
	const struct sockaddr *local, *remote;
	bool encap; /* ESP in UDP (RFC 3948) between the ports of local/remote */
	uint32_t spi_in, spi_out;
	uint16_t encr, encr_keylen, integ; /* IKEv2 transform IDs, keylen in bits */
	bool esn;
	size_t encr_key_len, integ_key_len; /* bytes; AEAD salt included */
	const uint8_t *encr_key_in, *integ_key_in;
	const uint8_t *encr_key_out, *integ_key_out;
	const struct ikev2_ts_list *ts_local, *ts_remote;
	/* seconds, 0: none. The engine rekeys before and deletes the child at
	 * life_time itself; the kernel state's hard add-expiry (xfrm
	 * lifetime_cfg hard_add_expires_seconds) is the safety net. */
	uint32_t life_time;
};

struct engine_ops {
	void (*send)(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		     const struct sockaddr *remote);
	/* 0 or -errno; on error the child is not kept (and not announced). */
	int (*install_child)(void *arg, const struct engine_child *c);
	void (*remove_child)(void *arg, const struct engine_child *c);
	/* Optional: our inbound ESP SPI (XFRM_MSG_ALLOCSPI in the daemon).
	 * NULL: a random SPI unused by this engine's children. */
	int (*alloc_spi)(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			 uint32_t *spi);
	/* Optional, initiator: the peer assigned us virtual IPs (CFG_REPLY);
	 * add them to the host before the first child is installed. -errno
	 * fails the IKE SA. vip_del() when the IKE SA is gone. */
	int (*vip_add)(void *arg, const struct ike_sa *sa, const struct cp_vips *vips);
	void (*vip_del)(void *arg, const struct ike_sa *sa, const struct cp_vips *vips);
	/* Optional: an SPI from alloc_spi that no installed child took (the
	 * negotiation failed or was abandoned): the daemon drops its larval
	 * state. Called at most once per SPI. */
	void (*release_spi)(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			    uint32_t spi);
	/* Optional: the IKE SA's addresses moved (a NAT changed the peer's
	 * address or port); @c has the new ones, @old_remote the previous. */
	void (*update_child)(void *arg, const struct engine_child *c,
			     const struct sockaddr *old_remote);
	/* Optional: a NAT keepalive (RFC 3948 2.3, one 0xff byte without the
	 * non-ESP marker) from @local to @remote. */
	void (*send_keepalive)(void *arg, const struct sockaddr *local,
			       const struct sockaddr *remote);
	void *arg;
};

struct engine_params {
	uint32_t retx_timeout_ms; /* first retransmission; doubles each time */
	uint32_t retx_tries; /* sends of one request before giving up */
	uint32_t half_open_timeout_ms; /* responder SAs waiting for IKE_AUTH */
	uint32_t cookie_threshold; /* half-open SAs from which cookies are required */
	/* Virtual IP pools shared with other engines (configuration
	 * generations); NULL: the engine keeps its own. */
	struct cp_pools *pools;
};
#define ENGINE_RETX_TIMEOUT_MS	    1000
#define ENGINE_RETX_TRIES	    5
#define ENGINE_HALF_OPEN_TIMEOUT_MS 30000
#define ENGINE_COOKIE_THRESHOLD	    64

struct engine_stats {
	uint64_t rx, rx_dropped, tx;
	uint64_t retransmits; /* our requests sent again */
	uint64_t cached_replies; /* peer retransmits answered from the cache */
	uint64_t requests_processed; /* peer requests handled (not from cache) */
	uint64_t cookies_sent, invalid_ke_sent;
	uint64_t ike_established, ike_deleted, auth_failed;
	uint64_t child_installed, child_removed;
	uint64_t ike_rekeyed, child_rekeyed; /* new SAs made by rekeys, both roles */
	uint64_t ike_reauthed; /* IKE SAs we replaced by reauthentication */
};

/* Add the counters of @from to @to (engines of several generations). */
void engine_stats_add(struct engine_stats *to, const struct engine_stats *from);

/* @params NULL: the defaults above; 0 fields take their default too.
 * @conf must outlive the engine. */
int engine_new(const struct conf *conf, const struct engine_ops *ops,
	       const struct engine_params *params, struct engine **out);
/* Removes all children (remove_child) and frees every SA; sends nothing. */
void engine_free(struct engine *eng);

/* Handle one received datagram; never fails (bad input is logged and dropped). */
void engine_input(struct engine *eng, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		  const struct sockaddr *remote, uint64_t now);
/* Retransmissions, give-ups, half-open timeouts, liveness checks of idle
 * peers (dpd_delay), rekeys and expiries, cookie secret rotation. Call it at engine_next_timeout()
 * at the latest. */
void engine_tick(struct engine *eng, uint64_t now);
/* NAT keepalives every ENGINE_KEEPALIVE_MS for IKE SAs behind a NAT
 * (ops.send_keepalive). Call it about once a second. */
#define ENGINE_KEEPALIVE_MS 20000
void engine_keepalive(struct engine *eng, uint64_t now);
/* Time of the next engine_tick() that has work (may be in the past: call
 * it now), UINT64_MAX if none. */
uint64_t engine_next_timeout(const struct engine *eng);

/*
 * Start IKE SA @conn as initiator with child @child (NULL: the connection's
 * first child; a connection without children sets up the IKE SA only).
 * @local/@remote are the addresses to use (ports included). Our SPI is stored
 * in @spi_out: it names the IKE SA in the calls below.
 */
int engine_initiate(struct engine *eng, const char *conn, const char *child,
		    const struct sockaddr *local, const struct sockaddr *remote, uint64_t now,
		    uint64_t *spi_out);
/*
 * On demand (start_action = trap): as engine_initiate() / engine_child_create(),
 * but TSi/TSr start with the triggering packet's flow (@pkt_tsi: its source,
 * @pkt_tsr: its destination, single addresses, protocol and ports), followed
 * by the configured selectors, so the responder can narrow to the flow or a
 * range that contains it (RFC 7296 2.9). Both NULL: engine_initiate().
 */
int engine_initiate_ts(struct engine *eng, const char *conn, const char *child,
		       const struct sockaddr *local, const struct sockaddr *remote,
		       const struct ikev2_ts *pkt_tsi, const struct ikev2_ts *pkt_tsr, uint64_t now,
		       uint64_t *spi_out);
int engine_child_create_ts(struct engine *eng, uint64_t spi, const char *child,
			   const struct ikev2_ts *pkt_tsi, const struct ikev2_ts *pkt_tsr,
			   uint64_t now);
/* Additional child SA over an established IKE SA (CREATE_CHILD_SA).
 * -ENOENT: no such SA/child, -EAGAIN: not established, -EBUSY: a request of
 * ours is in flight (window of one): retry after it completes. */
int engine_child_create(struct engine *eng, uint64_t spi, const char *child, uint64_t now);
/* INFORMATIONAL with a Delete for the child whose inbound SPI is @spi_in. */
int engine_child_delete(struct engine *eng, uint64_t spi, uint32_t spi_in, uint64_t now);
/* INFORMATIONAL with a Delete for the IKE SA (and so all its children). */
int engine_ike_delete(struct engine *eng, uint64_t spi, uint64_t now);
/*
 * Rekey now (as when rekey_time is reached): the IKE SA, or its child whose
 * inbound SPI is @spi_in. Starts at once if the window is free, else when
 * it is. -EALREADY: the child is being rekeyed or deleted already.
 * Rekeys also run by themselves from engine_tick() (rekey_time, rand_time,
 * life_time, over_time of the configuration), and so do reauthentications
 * (reauth_time): a new IKE SA with the same children replaces the old one.
 */
int engine_rekey_ike(struct engine *eng, uint64_t spi, uint64_t now);
int engine_rekey_child(struct engine *eng, uint64_t spi, uint32_t spi_in, uint64_t now);
/* Empty INFORMATIONAL request (liveness check); the give-up limit deletes
 * the IKE SA if the peer is gone. */
int engine_liveness(struct engine *eng, uint64_t spi, uint64_t now);

/* Inspection (control socket, tests). @spi is our SPI of the SA. */
const struct ike_sa *engine_sa_find(const struct engine *eng, uint64_t spi);
const struct ike_sa *engine_sa_next(const struct engine *eng, const struct ike_sa *prev);
unsigned int engine_sa_count(const struct engine *eng);
unsigned int engine_half_open_count(const struct engine *eng);
const struct engine_stats *engine_get_stats(const struct engine *eng);

#endif
