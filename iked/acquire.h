/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * On demand (start_action = trap): turning acquires into negotiations.
 *
 * An acquire says "a packet needs an SA that does not exist". Two sources
 * report one: the kernel (XFRM_MSG_ACQUIRE from a trap policy, see
 * kernel_install_trap()) and the xipsec dataplane (struct xipsec_acquire on
 * its ring buffer, from a PROTECT bucket without SA). Both carry the
 * packet's exact flow; acq_pkt_from_*() turn them into a pair of IKEv2
 * selectors, acq_match() finds the trapped child whose configured selectors
 * contain the flow, and acq_decide() says what to do:
 *
 *	IDLE ---acquire---> START: the caller negotiates, then acq_started()
 *	PENDING --acquire--> coalesced (counted, dropped)
 *	PENDING --acq_sync(): up-----> IDLE
 *	PENDING --acq_sync(): failed or ACQ_PENDING_MAX_MS--> HOLD
 *	HOLD ---acquire---> held (counted, dropped) until ACQ_HOLD_MS passed
 *
 * So concurrent acquires for one child, from either source, make one
 * negotiation, and a peer that does not answer is not hammered. The table
 * knows nothing of engines: acq_sync() asks the caller about each pending
 * negotiation. Trapped children are kept by name (the configuration they
 * came from may be replaced by a reload).
 */
#ifndef XIKED_ACQUIRE_H
#define XIKED_ACQUIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "xipsec/events.h"
#include "conf.h"
#include "ikev2_pld.h"
#include "xfrm_nl.h"

/* After a failed negotiation, acquires for the child are dropped this
 * long (the kernel's own larval state holds its acquires for
 * net.core.xfrm_acq_expires, 30 s by default, anyway). */
#define ACQ_HOLD_MS 10000
/* A negotiation still unresolved after this is taken as failed (the
 * engine's retransmissions give up after about 31 s by default). */
#define ACQ_PENDING_MAX_MS 60000

/* A packet's flow as selectors: tsi its source (our side), tsr its
 * destination; single addresses, the protocol, single ports or all
 * ports (no ports in the packet, ICMP). */
struct acq_pkt {
	struct ikev2_ts tsi, tsr;
	bool has_peer; /* kernel: the template's destination, the peer */
	struct sockaddr_storage peer;
	const char *source; /* "kernel" or "dataplane", for logs */
};

enum acq_state {
	ACQ_IDLE,
	ACQ_PENDING, /* a negotiation is in flight */
	ACQ_HOLD, /* the last one failed: wait until @until */
};

struct acq_trap {
	char conn[128], child[128];
	struct sockaddr_storage local, remote; /* IKE addresses */
	struct ikev2_ts_list tl, tr; /* configured selectors, dynamic resolved */
	enum acq_state state;
	unsigned int gen; /* the caller's: which engine runs it */
	uint64_t spi; /* our SPI of the IKE SA negotiating it */
	uint64_t since, until; /* PENDING since, HOLD until (ms) */
	uint64_t started, coalesced, held; /* acquires by outcome */
};

struct acq_stats {
	uint64_t kernel, dataplane; /* acquires received by source */
	uint64_t unmatched; /* no trapped child contains the flow */
	uint64_t started, coalesced, held, failed;
};

struct acq_table {
	struct acq_trap *traps;
	size_t n, cap;
	struct acq_stats st;
};

void acq_table_free(struct acq_table *t);
/* Trap child @cfg of @conn between @local and @remote (IKE addresses, which
 * also resolve "dynamic" selectors). Re-adding the same conn/child
 * replaces its selectors and keeps its state. 0 or -errno. */
int acq_trap_add(struct acq_table *t, const struct conf_conn *conn, const struct conf_child *cfg,
		 const struct sockaddr *local, const struct sockaddr *remote);

/* -EINVAL for a family or prefix the flow cannot have. */
int acq_pkt_from_xfrm(const struct xfrm_nl_acquire *a, struct acq_pkt *p);
int acq_pkt_from_dp(const struct xipsec_acquire *e, struct acq_pkt *p);

/* The first trapped child whose selectors contain the flow (and whose peer
 * is the template's destination, when known); NULL if none. */
struct acq_trap *acq_match(struct acq_table *t, const struct acq_pkt *p);

enum acq_verdict {
	ACQ_START, /* negotiate now, then acq_started() or acq_failed() */
	ACQ_COALESCED, /* one is in flight */
	ACQ_HELD, /* one failed recently */
};
enum acq_verdict acq_decide(struct acq_table *t, struct acq_trap *tr, uint64_t now);
void acq_started(struct acq_table *t, struct acq_trap *tr, unsigned int gen, uint64_t spi,
		 uint64_t now);
void acq_failed(struct acq_table *t, struct acq_trap *tr, uint64_t now);

enum acq_status {
	ACQ_ST_INFLIGHT,
	ACQ_ST_UP, /* the child is installed */
	ACQ_ST_FAILED, /* IKE SA gone, or up without the child */
};
typedef enum acq_status (*acq_status_fn)(const struct acq_trap *tr, void *arg);
/* Moves every PENDING entry on, as @status says. */
void acq_sync(struct acq_table *t, uint64_t now, acq_status_fn status, void *arg);
/* Any PENDING entry (the caller then polls acq_sync() now and then)? */
bool acq_any_pending(const struct acq_table *t);

#endif
