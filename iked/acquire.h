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
#include "spd.h"

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
	uint64_t seen; /* dataplane: when the packet was seen (CLOCK_MONOTONIC
			* ms, as the caller's @now), 0 if unknown */
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
	uint64_t up; /* a child SA of it was last installed (ms), 0: never */
	uint64_t started, coalesced, held; /* acquires by outcome */
};

struct acq_stats {
	uint64_t kernel, dataplane; /* acquires received by source */
	uint64_t unmatched; /* no trapped child contains the flow */
	uint64_t stale; /* dataplane records older than the child SA now up */
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
	ACQ_STALE, /* the packet was seen before the trap's child SA came up */
};
/*
 * What to do with acquire @p for trap @tr. A dataplane record can be read
 * after the child SA it asked for is installed (it was queued on the ring
 * buffer before the child's bucket took the flow over); the kernel needs no
 * such check, its larval state holds further acquires back.
 */
enum acq_verdict acq_decide_pkt(struct acq_table *t, struct acq_trap *tr, const struct acq_pkt *p,
				uint64_t now);
enum acq_verdict acq_decide(struct acq_table *t, struct acq_trap *tr, uint64_t now);
/* A child SA of @conn/@child was installed at @now: a negotiation for it
 * is done. */
void acq_child_up(struct acq_table *t, const char *conn, const char *child, uint64_t now);
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

/*
 * The xipsec dataplane as a source of acquires (docs/ondemand.md).
 *
 * Every trap gets a PROTECT bucket with its configured selectors and no SA
 * (lib/dp_ike.h: trap buckets, DP_IKE_TRAP_PRIORITY, so a child's own bucket
 * wins). The inner classifier drops the packets that match it and emits a
 * struct xipsec_acquire on the pinned ring buffer XIPSEC_MAP_EVENTS; xiked
 * is that ring buffer's one consumer. Records become struct acq_pkt and go
 * to @fn, which feeds them to the same acq_match()/acq_decide() path as the
 * kernel's.
 *
 * Like the child SAs' entries (kernel_dp_open()), this is set up once at
 * start: without the pinned maps then, xiked uses kernel acquires only.
 */
struct ring_buffer;
typedef void (*acq_pkt_fn)(const struct acq_pkt *p, void *arg);

struct acq_dp {
	struct ring_buffer *rb; /* NULL: xipsec is not attached */
	struct spd_maps spd;
	bool have_spd;
	uint32_t instance; /* dp_ike_instance() of the control socket path */
	acq_pkt_fn fn;
	void *arg;
	size_t nbuckets; /* trap buckets installed */
	uint64_t records, malformed; /* ring buffer records read, dropped */
};

/* Opens the ring buffer and the SPD maps under @pin_dir and removes trap
 * buckets an earlier run with @sock_path left. -errno (nothing open) if
 * xipsec is not attached there. */
int acq_dp_open(struct acq_dp *dp, const char *pin_dir, const char *sock_path, acq_pkt_fn fn,
		void *arg);
/* Removes our trap buckets, closes everything. Safe on a zeroed acq_dp. */
void acq_dp_close(struct acq_dp *dp);
/* The fd to poll for records, or -1. */
int acq_dp_fd(const struct acq_dp *dp);
/* Reads all records (calling @fn). Number read or -errno. */
int acq_dp_read(struct acq_dp *dp);
/* Our trap buckets := one per trap of @t. 0 or -errno (the old ones stay). */
int acq_dp_sync(struct acq_dp *dp, const struct acq_table *t);

/* One ring buffer record of @size bytes into @p: -EMSGSIZE if too short
 * for its type, -EOPNOTSUPP for another record type, -EINVAL as
 * acq_pkt_from_dp(). */
int acq_dp_record(const void *data, size_t size, struct acq_pkt *p);
/* The trap buckets of @t (named for @instance) and their rules into @out
 * (free with spd_set_free). A trap whose selectors give no rule gets no
 * bucket. 0, -ENOMEM, or -E2BIG (a range needs too many prefixes). */
int acq_dp_trap_set(const struct acq_table *t, uint32_t instance, struct spd_set *out);

#endif
