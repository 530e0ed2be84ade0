// SPDX-License-Identifier: GPL-2.0-only
/*
 * Acquire coalescing and matching for start_action = trap. See acquire.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xipsec/dataplane.h"
#include "acquire.h"
#include "dp_ike.h"
#include "ike_sa.h"
#include "kernel.h"
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
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC, as the callers' ms clocks */
	p->seen = e->ts_ns / 1000000;
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

enum acq_verdict acq_decide_pkt(struct acq_table *t, struct acq_trap *tr, const struct acq_pkt *p,
				uint64_t now)
{
	/* same ms: the record was queued before the bucket flip (install
	 * comes first, then acq_child_up()) */
	if (p->seen && tr->up && p->seen <= tr->up) {
		t->st.stale++;
		return ACQ_STALE;
	}
	return acq_decide(t, tr, now);
}

void acq_child_up(struct acq_table *t, const char *conn, const char *child, uint64_t now)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct acq_trap *e = &t->traps[i];

		if (strcmp(e->conn, conn) || strcmp(e->child, child))
			continue;
		e->up = now;
		if (e->state == ACQ_PENDING) {
			e->state = ACQ_IDLE;
			e->spi = 0;
		}
	}
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
		/* @now may be older than @since: the caller read its clock
		 * before the acquire that started it was handled */
		if (s == ACQ_ST_INFLIGHT && now > e->since && now - e->since >= ACQ_PENDING_MAX_MS)
			s = ACQ_ST_FAILED;
		if (s == ACQ_ST_UP) {
			log_debug("acquire: %s/%s is up (%" PRIu64 " acquires coalesced so far)",
				  e->conn, e->child, e->coalesced);
			e->state = ACQ_IDLE;
			e->spi = 0;
			e->up = now;
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

/* ---- the xipsec dataplane as a source (acq_dp) ---- */

#define ACQ_PFX_MAX 8 /* prefixes per selector range, as kernel policies */

int acq_dp_record(const void *data, size_t size, struct acq_pkt *p)
{
	struct xipsec_acquire e;
	__u32 type;

	if (size < sizeof(type))
		return -EMSGSIZE;
	memcpy(&type, data, sizeof(type));
	if (type != XIPSEC_EV_ACQUIRE)
		return -EOPNOTSUPP;
	if (size < sizeof(e))
		return -EMSGSIZE;
	memcpy(&e, data, sizeof(e)); /* ring buffer samples are only 8-byte aligned */
	return acq_pkt_from_dp(&e, p);
}

/* Rules local -> remote of trap @e into @out->rules, bucket @bucket. */
static int acq_dp_trap_rules(const struct acq_trap *e, uint32_t bucket, struct spd_set *out,
			     size_t *cap)
{
	uint8_t la[ACQ_PFX_MAX][16], ra[ACQ_PFX_MAX][16], lp[ACQ_PFX_MAX], rp[ACQ_PFX_MAX];
	size_t i, j;
	int nl, nr, x, y;

	for (i = 0; i < e->tl.n; i++) {
		const struct ikev2_ts *lt = &e->tl.ts[i];

		for (j = 0; j < e->tr.n; j++) {
			const struct ikev2_ts *rt = &e->tr.ts[j];
			size_t alen = lt->type == IKEV2_TS_IPV6_ADDR_RANGE ? 16 : 4;

			if (lt->type != rt->type ||
			    (lt->ipproto && rt->ipproto && lt->ipproto != rt->ipproto))
				continue;
			nl = kernel_range_to_prefixes(lt->start_addr, lt->end_addr, alen, la, lp,
						      ACQ_PFX_MAX);
			nr = kernel_range_to_prefixes(rt->start_addr, rt->end_addr, alen, ra, rp,
						      ACQ_PFX_MAX);
			if (nl < 0 || nr < 0)
				return nl < 0 ? nl : nr;
			for (x = 0; x < nl; x++) {
				for (y = 0; y < nr; y++) {
					struct spd_rule *r;

					if (out->nrules == *cap) {
						size_t ncap = *cap ? 2 * *cap : 8;
						void *n = realloc(out->rules,
								  ncap * sizeof(*out->rules));

						if (!n)
							return -ENOMEM;
						out->rules = n;
						*cap = ncap;
					}
					r = &out->rules[out->nrules++];
					memset(r, 0, sizeof(*r));
					r->family = alen == 16 ? XIPSEC_AF_INET6 : XIPSEC_AF_INET;
					memcpy(r->src, la[x], 16);
					r->src_plen = lp[x];
					memcpy(r->dst, ra[y], 16);
					r->dst_plen = rp[y];
					r->proto = lt->ipproto ? lt->ipproto : rt->ipproto;
					r->sport_lo = lt->start_port;
					r->sport_hi = lt->end_port;
					r->dport_lo = rt->start_port;
					r->dport_hi = rt->end_port;
					r->priority = DP_IKE_TRAP_PRIORITY;
					r->bucket = bucket;
				}
			}
		}
	}
	return 0;
}

int acq_dp_trap_set(const struct acq_table *t, uint32_t instance, struct spd_set *out)
{
	size_t i, cap = 0, before;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->buckets = calloc(t->n + 1, sizeof(*out->buckets));
	if (!out->buckets)
		goto fail;
	for (i = 0; i < t->n; i++) {
		struct spd_bucket *b = &out->buckets[out->nbuckets];

		before = out->nrules;
		err = acq_dp_trap_rules(&t->traps[i], (uint32_t)out->nbuckets, out, &cap);
		if (err)
			goto fail;
		if (out->nrules == before)
			continue;
		memset(b, 0, sizeof(*b));
		b->action = SPD_ACT_PROTECT;
		b->sa_id = DP_IKE_TRAP_SA_ID;
		/* no SPD_BKT_F_HOLD: dropped like the kernel's larval drop, and
		 * the kernel's trap policy does not see it (no second acquire) */
		err = dp_ike_trap_name(b->name, sizeof(b->name), instance, (uint32_t)i);
		if (err)
			goto fail;
		out->nbuckets++;
	}
	return 0;
fail:
	spd_set_free(out);
	return err;
}

static bool acq_dp_owned(const struct spd_bucket *b, void *arg)
{
	const struct acq_dp *dp = arg;

	return dp_ike_trap_bucket(b, dp->instance);
}

static int acq_dp_install(struct acq_dp *dp, const struct spd_set *mine)
{
	struct spd_error e;
	int err;

	memset(&e, 0, sizeof(e));
	err = dp_spd_replace(&dp->spd, acq_dp_owned, dp, mine, false, &e);
	if (err) {
		log_err("acquire: dataplane trap buckets: %s", e.msg[0] ? e.msg : strerror(-err));
		return err;
	}
	dp->nbuckets = mine->nbuckets;
	return 0;
}

int acq_dp_sync(struct acq_dp *dp, const struct acq_table *t)
{
	struct spd_set mine;
	int err;

	if (!dp->have_spd)
		return 0;
	err = acq_dp_trap_set(t, dp->instance, &mine);
	if (err) {
		log_err("acquire: dataplane trap buckets: %s", strerror(-err));
		return err;
	}
	err = acq_dp_install(dp, &mine);
	if (!err)
		log_info("acquire: dataplane: %zu trap buckets (%zu rules), " DP_IKE_TRAP_PREFIX
			 "%08x.*",
			 mine.nbuckets, mine.nrules, dp->instance);
	spd_set_free(&mine);
	return err;
}

static int acq_dp_sample(void *ctx, void *data, size_t size)
{
	struct acq_dp *dp = ctx;
	struct acq_pkt p;
	int err;

	dp->records++;
	err = acq_dp_record(data, size, &p);
	if (err) {
		dp->malformed++;
		log_warn("acquire: dataplane record of %zu bytes dropped: %s", size,
			 strerror(-err));
		return 0;
	}
	dp->fn(&p, dp->arg);
	return 0;
}

/* Any trap bucket of ours in the active rule set (an earlier run's)? */
static bool acq_dp_has_own(struct acq_dp *dp)
{
	struct spd_set active;
	bool found = false;
	size_t i;

	if (spd_read_active(&dp->spd, &active))
		return false;
	for (i = 0; i < active.nbuckets && !found; i++)
		found = acq_dp_owned(&active.buckets[i], dp);
	spd_set_free(&active);
	return found;
}

int acq_dp_open(struct acq_dp *dp, const char *pin_dir, const char *sock_path, acq_pkt_fn fn,
		void *arg)
{
	char path[PATH_MAX];
	int fd, err;

	memset(dp, 0, sizeof(*dp));
	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, XIPSEC_MAP_EVENTS) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	dp->fn = fn;
	dp->arg = arg;
	dp->instance = dp_ike_instance(sock_path);
	/* the ring buffer keeps its own reference to the map */
	dp->rb = ring_buffer__new(fd, acq_dp_sample, dp, NULL);
	err = dp->rb ? 0 : -errno;
	close(fd);
	if (!dp->rb) {
		memset(dp, 0, sizeof(*dp));
		return err ? err : -EINVAL;
	}
	err = spd_maps_open_pinned(&dp->spd, pin_dir);
	if (err) {
		ring_buffer__free(dp->rb);
		memset(dp, 0, sizeof(*dp));
		return err;
	}
	dp->have_spd = true;
	if (acq_dp_has_own(dp)) {
		struct spd_set none = { 0 };

		if (!acq_dp_install(dp, &none))
			log_info("acquire: dataplane trap buckets of an earlier run removed");
	}
	return 0;
}

void acq_dp_close(struct acq_dp *dp)
{
	if (dp->have_spd) {
		struct spd_set none = { 0 };

		if (dp->nbuckets && !acq_dp_install(dp, &none))
			log_info("acquire: dataplane trap buckets removed");
		spd_maps_close(&dp->spd);
	}
	ring_buffer__free(dp->rb);
	memset(dp, 0, sizeof(*dp));
}

int acq_dp_fd(const struct acq_dp *dp)
{
	return dp->rb ? ring_buffer__epoll_fd(dp->rb) : -1;
}

int acq_dp_read(struct acq_dp *dp)
{
	return dp->rb ? ring_buffer__consume(dp->rb) : 0;
}
