// SPDX-License-Identifier: GPL-2.0-only
/*
 * Acquire coalescing and matching for start_action = trap. See acquire.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "xipsec/dataplane.h"
#include "acquire.h"
#include "ike_sa.h"
#include "log.h"
#include "ts.h"

void acq_table_free(struct acq_table *t)
{
	free(t->traps);
	memset(t, 0, sizeof(*t));
}

static struct acq_trap *acq_find(struct acq_table *t, const char *conn, const char *child)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->traps[i].conn, conn) && !strcmp(t->traps[i].child, child))
			return &t->traps[i];
	return NULL;
}

int acq_trap_add(struct acq_table *t, const struct conf_conn *conn, const struct conf_child *cfg,
		 const struct sockaddr *local, const struct sockaddr *remote)
{
	struct ikev2_ts_list tl, tr;
	struct acq_trap *e;
	int err;

	if (strlen(conn->name) >= sizeof(e->conn) || strlen(cfg->name) >= sizeof(e->child) ||
	    !ike_addr_len(local) || !ike_addr_len(remote))
		return -EINVAL;
	err = ts_from_conf(cfg->local_ts, cfg->nlocal_ts, local, &tl);
	if (!err)
		err = ts_from_conf(cfg->remote_ts, cfg->nremote_ts, remote, &tr);
	if (err)
		return err;
	e = acq_find(t, conn->name, cfg->name);
	if (!e) {
		if (t->n == t->cap) {
			size_t ncap = t->cap ? 2 * t->cap : 4;
			void *p = realloc(t->traps, ncap * sizeof(*t->traps));

			if (!p)
				return -ENOMEM;
			t->traps = p;
			t->cap = ncap;
		}
		e = &t->traps[t->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->conn, sizeof(e->conn), "%s", conn->name);
		snprintf(e->child, sizeof(e->child), "%s", cfg->name);
	}
	memset(&e->local, 0, sizeof(e->local));
	memset(&e->remote, 0, sizeof(e->remote));
	memcpy(&e->local, local, ike_addr_len(local));
	memcpy(&e->remote, remote, ike_addr_len(remote));
	e->tl = tl;
	e->tr = tr;
	return 0;
}

/* One address, protocol and port range into @ts. */
static void acq_ts_set(struct ikev2_ts *ts, bool v6, const void *addr, uint8_t proto,
		       bool ports, uint16_t port)
{
	size_t alen = v6 ? 16 : 4;

	memset(ts, 0, sizeof(*ts));
	ts->type = v6 ? IKEV2_TS_IPV6_ADDR_RANGE : IKEV2_TS_IPV4_ADDR_RANGE;
	ts->ipproto = proto;
	memcpy(ts->start_addr, addr, alen);
	memcpy(ts->end_addr, addr, alen);
	ts->start_port = ports ? port : 0;
	ts->end_port = ports ? port : 0xffff;
}

/*
 * ICMP type and code travel in the port fields, and implementations read
 * them differently (RFC 7296 3.13.1 vs. the kernel's sport = type, dport =
 * code): for ICMP the packet's selectors keep the protocol and allow every
 * type and code, so no peer refuses them over the encoding.
 */
static bool acq_proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

int acq_pkt_from_xfrm(const struct xfrm_nl_acquire *a, struct acq_pkt *p)
{
	const struct xfrm_selector *s = &a->sel;
	bool v6 = s->family == AF_INET6;
	bool ports = acq_proto_has_ports(s->proto);

	if (s->family != AF_INET && s->family != AF_INET6)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	acq_ts_set(&p->tsi, v6, &s->saddr, s->proto, ports && s->sport_mask, ntohs(s->sport));
	acq_ts_set(&p->tsr, v6, &s->daddr, s->proto, ports && s->dport_mask, ntohs(s->dport));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->peer;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, &a->daddr.a4, 4);
		p->has_peer = true;
	} else if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->peer;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, &a->daddr.a6, 16);
		p->has_peer = true;
	}
	p->source = "kernel";
	return 0;
}

int acq_pkt_from_dp(const struct xipsec_acquire *e, struct acq_pkt *p)
{
	bool v6 = e->family == XIPSEC_AF_INET6;
	bool ports = acq_proto_has_ports(e->proto) && !(e->flags & XIPSEC_ACQ_F_NOPORTS);

	if (e->type != XIPSEC_EV_ACQUIRE ||
	    (e->family != XIPSEC_AF_INET && e->family != XIPSEC_AF_INET6))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	acq_ts_set(&p->tsi, v6, e->src, e->proto, ports, e->sport);
	acq_ts_set(&p->tsr, v6, e->dst, e->proto, ports, e->dport);
	p->source = "dataplane";
	return 0;
}

/* Same address, ports ignored. */
static bool acq_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			       &((const struct sockaddr_in *)b)->sin_addr, 4);
	if (a->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
	return false;
}

struct acq_trap *acq_match(struct acq_table *t, const struct acq_pkt *p)
{
	struct ikev2_ts_list li = { .n = 1 }, lr = { .n = 1 };
	size_t i;

	li.ts[0] = p->tsi;
	lr.ts[0] = p->tsr;
	for (i = 0; i < t->n; i++) {
		struct acq_trap *e = &t->traps[i];

		if (p->has_peer && !acq_same_host((const struct sockaddr *)&p->peer,
						  (const struct sockaddr *)&e->remote))
			continue;
		if (ts_subset(&li, &e->tl) && ts_subset(&lr, &e->tr))
			return e;
	}
	return NULL;
}

enum acq_verdict acq_decide(struct acq_table *t, struct acq_trap *tr, uint64_t now)
{
	if (tr->state == ACQ_HOLD && now >= tr->until)
		tr->state = ACQ_IDLE;
	switch (tr->state) {
	case ACQ_PENDING:
		tr->coalesced++;
		t->st.coalesced++;
		return ACQ_COALESCED;
	case ACQ_HOLD:
		tr->held++;
		t->st.held++;
		return ACQ_HELD;
	case ACQ_IDLE:
		break;
	}
	return ACQ_START;
}

void acq_started(struct acq_table *t, struct acq_trap *tr, unsigned int gen, uint64_t spi,
		 uint64_t now)
{
	tr->state = ACQ_PENDING;
	tr->gen = gen;
	tr->spi = spi;
	tr->since = now;
	tr->started++;
	t->st.started++;
}

void acq_failed(struct acq_table *t, struct acq_trap *tr, uint64_t now)
{
	tr->state = ACQ_HOLD;
	tr->until = now + ACQ_HOLD_MS;
	tr->spi = 0;
	t->st.failed++;
}

void acq_sync(struct acq_table *t, uint64_t now, acq_status_fn status, void *arg)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct acq_trap *e = &t->traps[i];
		enum acq_status s;

		if (e->state != ACQ_PENDING)
			continue;
		s = status(e, arg);
		if (s == ACQ_ST_INFLIGHT && now - e->since >= ACQ_PENDING_MAX_MS)
			s = ACQ_ST_FAILED;
		if (s == ACQ_ST_UP) {
			log_debug("acquire: %s/%s is up (%" PRIu64 " acquires coalesced so far)",
				  e->conn, e->child, e->coalesced);
			e->state = ACQ_IDLE;
			e->spi = 0;
		} else if (s == ACQ_ST_FAILED) {
			log_info("acquire: %s/%s: negotiation failed, acquires held for %u s",
				 e->conn, e->child, ACQ_HOLD_MS / 1000);
			acq_failed(t, e, now);
		}
	}
}

bool acq_any_pending(const struct acq_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->traps[i].state == ACQ_PENDING)
			return true;
	return false;
}
