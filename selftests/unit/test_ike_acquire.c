// SPDX-License-Identifier: GPL-2.0-only
/*
 * On demand (start_action = trap): acquires into negotiations.
 *
 *	ini 192.0.2.1[500]  ------------  resp 192.0.2.2[500]
 *	net:   10.1.0.0/24 === 10.2.0.0/24     net:   10.2.0.0/25 === 10.1.0.0/24
 *	other: 10.1.1.0/24 === 10.2.1.0/24     other: 10.2.1.0/24 === 10.1.1.0/24
 *
 * The initiator negotiates "net" for a packet 10.1.0.5:40000 -> 10.2.0.7:5353
 * (UDP): its TSi/TSr start with the packet's flow (RFC 7296 2.9), followed
 * by the configured ranges, and the responder narrows the destination side
 * to its /25. Then the acquire table (iked/acquire.c): matching packets to
 * trapped children and coalescing concurrent acquires into one negotiation.
 * Datagrams go through a queue delivered at once; install_child records
 * each side's selectors.
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
#include <netinet/in.h>

#include <cmocka.h>

#include "xipsec/dataplane.h"
#include "../../iked/acquire.h"
#include "dp_ike.h"
#include "../../iked/ikev2_exch.h"
#include "../../iked/ts.h"

#define NNODE 2
#define MAXQ  32

struct node {
	struct engine *eng;
	struct conf *conf;
	struct sockaddr_in addr;
	struct ikev2_ts_list tsl, tsr; /* of the last child installed */
	char child[32];
	unsigned int installed;
};

struct msg {
	int from, to;
	uint8_t *buf;
	size_t len;
};

static struct node nodes[NNODE];
static struct msg q[MAXQ];
static unsigned int nq;

static void cb_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct node *n = arg;

	(void)local;
	(void)remote;
	assert_true(nq < MAXQ);
	q[nq].from = (int)(n - nodes);
	q[nq].to = 1 - q[nq].from;
	q[nq].buf = malloc(len);
	memcpy(q[nq].buf, pkt, len);
	q[nq].len = len;
	nq++;
}

static int cb_install(void *arg, const struct engine_child *c)
{
	struct node *n = arg;

	n->tsl = *c->ts_local;
	n->tsr = *c->ts_remote;
	snprintf(n->child, sizeof(n->child), "%s", c->cfg->name);
	n->installed++;
	return 0;
}

static void cb_remove(void *arg, const struct engine_child *c)
{
	(void)arg;
	(void)c;
}

/* Delivers the first queued datagram only. */
static void deliver_one(uint64_t now)
{
	struct msg m = q[0];

	assert_true(nq > 0);
	memmove(&q[0], &q[1], (nq - 1) * sizeof(q[0]));
	nq--;
	engine_input(nodes[m.to].eng, m.buf, m.len, (const struct sockaddr *)&nodes[m.to].addr,
		     (const struct sockaddr *)&nodes[m.from].addr, now);
	free(m.buf);
}

static void deliver(uint64_t now)
{
	unsigned int guard = 0;

	while (nq) {
		assert_true(++guard < 100);
		deliver_one(now);
	}
}

#define PROPS \
	"  proposals = aes128gcm16-prfsha256-x25519\n"

#define INI_CONF \
	"connections { gw {\n" \
	"  local_addrs = 192.0.2.1\n  remote_addrs = 192.0.2.2\n" PROPS \
	"  local { auth = psk\n id = ini.example.org }\n" \
	"  remote { auth = psk\n id = resp.example.org }\n" \
	"  children {\n" \
	"    net { local_ts = 10.1.0.0/24\n remote_ts = 10.2.0.0/24\n" \
	"          esp_proposals = aes128gcm16\n start_action = trap }\n" \
	"    other { local_ts = 10.1.1.0/24\n remote_ts = 10.2.1.0/24\n" \
	"          esp_proposals = aes128gcm16 }\n" \
	"  }\n" \
	"} }\n" \
	"secrets { ike { secret = \"an acquired taste\" } }\n"

#define RESP_CONF \
	"connections { ini {\n" \
	"  local_addrs = 192.0.2.2\n  remote_addrs = 192.0.2.1\n" PROPS \
	"  local { auth = psk\n id = resp.example.org }\n" \
	"  remote { auth = psk\n id = ini.example.org }\n" \
	"  children {\n" \
	"    net { local_ts = 10.2.0.0/25\n remote_ts = 10.1.0.0/24\n" \
	"          esp_proposals = aes128gcm16 }\n" \
	"    other { local_ts = 10.2.1.0/24\n remote_ts = 10.1.1.0/24\n" \
	"          esp_proposals = aes128gcm16 }\n" \
	"  }\n" \
	"} }\n" \
	"secrets { ike { secret = \"an acquired taste\" } }\n"

static int setup(void **state)
{
	struct engine_ops ops = { .send = cb_send,
				  .install_child = cb_install,
				  .remove_child = cb_remove };
	const char *text[NNODE] = { INI_CONF, RESP_CONF };
	const char *addr[NNODE] = { "192.0.2.1", "192.0.2.2" };
	char err[256];

	(void)state;
	memset(nodes, 0, sizeof(nodes));
	nq = 0;
	for (int i = 0; i < NNODE; i++) {
		struct node *n = &nodes[i];

		n->addr.sin_family = AF_INET;
		n->addr.sin_port = htons(500);
		inet_pton(AF_INET, addr[i], &n->addr.sin_addr);
		if (conf_load_buf(text[i], strlen(text[i]), i ? "resp.conf" : "ini.conf",
				  CONF_NO_CREDS | CONF_NO_INCLUDE, &n->conf, err, sizeof(err)))
			fail_msg("config: %s", err);
		ops.arg = n;
		assert_int_equal(engine_new(n->conf, &ops, NULL, &n->eng), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NNODE; i++) {
		engine_free(nodes[i].eng);
		conf_free(nodes[i].conf);
	}
	for (unsigned int i = 0; i < nq; i++)
		free(q[i].buf);
	nq = 0;
	return 0;
}

static void ts4(struct ikev2_ts *ts, const char *a, const char *b, uint8_t proto, uint16_t p0,
		uint16_t p1)
{
	memset(ts, 0, sizeof(*ts));
	ts->type = IKEV2_TS_IPV4_ADDR_RANGE;
	ts->ipproto = proto;
	inet_pton(AF_INET, a, ts->start_addr);
	inet_pton(AF_INET, b, ts->end_addr);
	ts->start_port = p0;
	ts->end_port = p1;
}

static void assert_ts(const struct ikev2_ts *ts, const char *want)
{
	char buf[128];

	ts_str(ts, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* The packet 10.1.0.5:40000 -> 10.2.0.7:5353/udp. */
static void pkt_flow(struct ikev2_ts *tsi, struct ikev2_ts *tsr)
{
	ts4(tsi, "10.1.0.5", "10.1.0.5", IPPROTO_UDP, 40000, 40000);
	ts4(tsr, "10.2.0.7", "10.2.0.7", IPPROTO_UDP, 5353, 5353);
}

/* IKE_AUTH of an IKE SA started by a packet. */
static void test_initiate_packet_first(void **state)
{
	const struct sockaddr *ini = (const struct sockaddr *)&nodes[0].addr;
	const struct sockaddr *resp = (const struct sockaddr *)&nodes[1].addr;
	struct ikev2_ts pi, pr;
	const struct ike_sa *sa;
	uint64_t spi;

	(void)state;
	pkt_flow(&pi, &pr);
	assert_int_equal(engine_initiate_ts(nodes[0].eng, "gw", "net", ini, resp, &pi, NULL, 1000,
					    &spi),
			 -EINVAL);
	assert_int_equal(engine_initiate_ts(nodes[0].eng, "gw", "net", ini, resp, &pi, &pr, 1000,
					    &spi),
			 0);
	deliver_one(1000); /* IKE_SA_INIT request */
	deliver_one(1000); /* its response: the initiator sends IKE_AUTH */
	sa = engine_sa_find(nodes[0].eng, spi);
	assert_non_null(sa);
	assert_int_equal(sa->state, IKE_ST_AUTH_SENT);
	/* as sent: the flow first, then the configured ranges */
	assert_int_equal(sa->req.tsi.n, 2);
	assert_ts(&sa->req.tsi.ts[0], "10.1.0.5..10.1.0.5[17/40000-40000]");
	assert_ts(&sa->req.tsi.ts[1], "10.1.0.0..10.1.0.255");
	assert_int_equal(sa->req.tsr.n, 2);
	assert_ts(&sa->req.tsr.ts[0], "10.2.0.7..10.2.0.7[17/5353-5353]");
	assert_ts(&sa->req.tsr.ts[1], "10.2.0.0..10.2.0.255");
	deliver(1000);

	/* the responder got them in that order (narrowing keeps it) and
	 * narrowed our destination side to its /25 */
	assert_int_equal(nodes[1].installed, 1);
	assert_string_equal(nodes[1].child, "net");
	assert_int_equal(nodes[1].tsr.n, 2);
	assert_ts(&nodes[1].tsr.ts[0], "10.1.0.5..10.1.0.5[17/40000-40000]");
	assert_ts(&nodes[1].tsr.ts[1], "10.1.0.0..10.1.0.255");
	assert_int_equal(nodes[1].tsl.n, 2);
	assert_ts(&nodes[1].tsl.ts[0], "10.2.0.7..10.2.0.7[17/5353-5353]");
	assert_ts(&nodes[1].tsl.ts[1], "10.2.0.0..10.2.0.127");
	/* and the initiator installed what the responder chose */
	assert_int_equal(nodes[0].installed, 1);
	assert_int_equal(nodes[0].tsr.n, 2);
	assert_ts(&nodes[0].tsr.ts[1], "10.2.0.0..10.2.0.127");
	sa = engine_sa_find(nodes[0].eng, spi);
	assert_int_equal(sa->state, IKE_ST_ESTABLISHED);
	assert_null(sa->pkt_ts_child);

	/* a later child over the same IKE SA without a packet: configured only */
	assert_int_equal(engine_child_create(nodes[0].eng, spi, "other", 2000), 0);
	sa = engine_sa_find(nodes[0].eng, spi);
	assert_int_equal(sa->req.tsi.n, 1);
	assert_ts(&sa->req.tsi.ts[0], "10.1.1.0..10.1.1.255");
	deliver(2000);
	assert_int_equal(nodes[0].installed, 2);
}

/* A packet for a child of an IKE SA that is up already: CREATE_CHILD_SA. */
static void test_child_create_packet_first(void **state)
{
	const struct sockaddr *ini = (const struct sockaddr *)&nodes[0].addr;
	const struct sockaddr *resp = (const struct sockaddr *)&nodes[1].addr;
	struct ikev2_ts pi, pr;
	const struct ike_sa *sa;
	uint64_t spi;

	(void)state;
	assert_int_equal(engine_initiate(nodes[0].eng, "gw", "other", ini, resp, 1000, &spi), 0);
	deliver(1000);
	assert_int_equal(nodes[0].installed, 1);

	ts4(&pi, "10.1.0.9", "10.1.0.9", IPPROTO_ICMP, 0, 0xffff);
	ts4(&pr, "10.2.0.1", "10.2.0.1", IPPROTO_ICMP, 0, 0xffff);
	assert_int_equal(engine_child_create_ts(nodes[0].eng, spi, "net", &pi, NULL, 2000),
			 -EINVAL);
	assert_int_equal(engine_child_create_ts(nodes[0].eng, spi, "net", &pi, &pr, 2000), 0);
	sa = engine_sa_find(nodes[0].eng, spi);
	assert_int_equal(sa->req.tsi.n, 2);
	assert_ts(&sa->req.tsi.ts[0], "10.1.0.9..10.1.0.9[1/0-65535]");
	assert_ts(&sa->req.tsr.ts[0], "10.2.0.1..10.2.0.1[1/0-65535]");
	/* window of one: a second acquire's request must wait */
	assert_int_equal(engine_child_create_ts(nodes[0].eng, spi, "net", &pi, &pr, 2000), -EBUSY);
	deliver(2000);
	assert_int_equal(nodes[0].installed, 2);
	assert_string_equal(nodes[0].child, "net");
	assert_ts(&nodes[0].tsl.ts[0], "10.1.0.9..10.1.0.9[1/0-65535]");
	assert_ts(&nodes[1].tsl.ts[1], "10.2.0.0..10.2.0.127");
	sa = engine_sa_find(nodes[0].eng, spi);
	assert_null(sa->pkt_ts_child);
}

/* ---- the acquire table ---- */

static const struct conf_child *child_of(const char *name)
{
	const struct conf_conn *c = nodes[0].conf->conns[0];

	return conf_find_child(c, name);
}

static void xfrm_acq(struct xfrm_nl_acquire *a, const char *src, const char *dst, uint8_t proto,
		     uint16_t sport, uint16_t dport, const char *peer)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &a->saddr.a4);
	inet_pton(AF_INET, peer, &a->daddr.a4);
	a->proto = IPPROTO_ESP;
	a->sel.family = AF_INET;
	inet_pton(AF_INET, src, &a->sel.saddr.a4);
	inet_pton(AF_INET, dst, &a->sel.daddr.a4);
	a->sel.prefixlen_s = a->sel.prefixlen_d = 32;
	a->sel.proto = proto;
	a->sel.sport = htons(sport);
	a->sel.dport = htons(dport);
	a->sel.sport_mask = a->sel.dport_mask = 0xffff;
}

static void test_acquire_packets(void **state)
{
	struct xfrm_nl_acquire a;
	struct xipsec_acquire e;
	struct acq_pkt p;

	(void)state;
	xfrm_acq(&a, "10.1.0.5", "10.2.0.7", IPPROTO_TCP, 40000, 22, "192.0.2.2");
	assert_int_equal(acq_pkt_from_xfrm(&a, &p), 0);
	assert_ts(&p.tsi, "10.1.0.5..10.1.0.5[6/40000-40000]");
	assert_ts(&p.tsr, "10.2.0.7..10.2.0.7[6/22-22]");
	assert_true(p.has_peer);
	assert_string_equal(p.source, "kernel");
	/* ICMP echo (kernel: sport = type 8, dport = code 0): every type/code */
	xfrm_acq(&a, "10.1.0.5", "10.2.0.7", IPPROTO_ICMP, 8, 0, "192.0.2.2");
	assert_int_equal(acq_pkt_from_xfrm(&a, &p), 0);
	assert_ts(&p.tsi, "10.1.0.5..10.1.0.5[1/0-65535]");
	assert_ts(&p.tsr, "10.2.0.7..10.2.0.7[1/0-65535]");
	a.sel.family = AF_UNIX;
	assert_int_equal(acq_pkt_from_xfrm(&a, &p), -EINVAL);

	memset(&e, 0, sizeof(e));
	e.type = XIPSEC_EV_ACQUIRE;
	e.family = XIPSEC_AF_INET;
	e.proto = IPPROTO_UDP;
	e.sport = 40000;
	e.dport = 53;
	inet_pton(AF_INET, "10.1.0.5", e.src);
	inet_pton(AF_INET, "10.2.0.7", e.dst);
	assert_int_equal(acq_pkt_from_dp(&e, &p), 0);
	assert_ts(&p.tsi, "10.1.0.5..10.1.0.5[17/40000-40000]");
	assert_ts(&p.tsr, "10.2.0.7..10.2.0.7[17/53-53]");
	assert_false(p.has_peer);
	assert_string_equal(p.source, "dataplane");
	/* a fragment: no ports */
	e.flags = XIPSEC_ACQ_F_NOPORTS;
	assert_int_equal(acq_pkt_from_dp(&e, &p), 0);
	assert_ts(&p.tsr, "10.2.0.7..10.2.0.7[17/0-65535]");
	e.family = XIPSEC_AF_INET6;
	inet_pton(AF_INET6, "fd00:1::5", e.src);
	inet_pton(AF_INET6, "fd00:2::7", e.dst);
	assert_int_equal(acq_pkt_from_dp(&e, &p), 0);
	assert_int_equal(p.tsi.type, IKEV2_TS_IPV6_ADDR_RANGE);
	e.type = 99;
	assert_int_equal(acq_pkt_from_dp(&e, &p), -EINVAL);
}

static void test_acquire_match(void **state)
{
	const struct conf_conn *conn = nodes[0].conf->conns[0];
	const struct sockaddr *ini = (const struct sockaddr *)&nodes[0].addr;
	const struct sockaddr *resp = (const struct sockaddr *)&nodes[1].addr;
	struct acq_table t = { 0 };
	struct xfrm_nl_acquire a;
	struct acq_pkt p;
	struct acq_trap *tr;

	(void)state;
	assert_int_equal(acq_trap_add(&t, conn, child_of("net"), ini, resp), 0);
	assert_int_equal(acq_trap_add(&t, conn, child_of("other"), ini, resp), 0);
	/* re-adding replaces, it does not duplicate */
	assert_int_equal(acq_trap_add(&t, conn, child_of("net"), ini, resp), 0);
	assert_int_equal(t.n, 2);

	xfrm_acq(&a, "10.1.1.5", "10.2.1.7", IPPROTO_TCP, 40000, 22, "192.0.2.2");
	acq_pkt_from_xfrm(&a, &p);
	tr = acq_match(&t, &p);
	assert_non_null(tr);
	assert_string_equal(tr->child, "other");
	xfrm_acq(&a, "10.1.0.5", "10.2.0.200", IPPROTO_UDP, 1, 2, "192.0.2.2");
	acq_pkt_from_xfrm(&a, &p);
	tr = acq_match(&t, &p);
	assert_non_null(tr);
	assert_string_equal(tr->child, "net");
	/* across children (10.1.0.x -> 10.2.1.x): none */
	xfrm_acq(&a, "10.1.0.5", "10.2.1.7", IPPROTO_UDP, 1, 2, "192.0.2.2");
	acq_pkt_from_xfrm(&a, &p);
	assert_null(acq_match(&t, &p));
	/* another peer's template: none */
	xfrm_acq(&a, "10.1.0.5", "10.2.0.7", IPPROTO_UDP, 1, 2, "192.0.2.99");
	acq_pkt_from_xfrm(&a, &p);
	assert_null(acq_match(&t, &p));
	acq_table_free(&t);
}

/*
 * Dataplane ring buffer records: length checked before anything is read;
 * a record then goes the kernel acquires' way (match, coalescing).
 */
static void test_acquire_dp_records(void **state)
{
	const struct conf_conn *conn = nodes[0].conf->conns[0];
	const struct sockaddr *ini = (const struct sockaddr *)&nodes[0].addr;
	const struct sockaddr *resp = (const struct sockaddr *)&nodes[1].addr;
	unsigned char buf[sizeof(struct xipsec_acquire) + 8];
	struct acq_table t = { 0 };
	struct xipsec_acquire e;
	struct xfrm_nl_acquire a;
	struct acq_pkt p;
	struct acq_trap *tr;
	__u32 other = 2;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = XIPSEC_EV_ACQUIRE;
	e.family = XIPSEC_AF_INET;
	e.proto = IPPROTO_ICMP;
	e.sport = 8;
	inet_pton(AF_INET, "10.1.0.5", e.src);
	inet_pton(AF_INET, "10.2.0.7", e.dst);
	memset(buf, 0xee, sizeof(buf));
	memcpy(buf + 1, &e, sizeof(e)); /* unaligned on purpose */
	assert_int_equal(acq_dp_record(buf + 1, sizeof(e), &p), 0);
	assert_ts(&p.tsi, "10.1.0.5..10.1.0.5[1/0-65535]");
	assert_ts(&p.tsr, "10.2.0.7..10.2.0.7[1/0-65535]");
	assert_string_equal(p.source, "dataplane");
	/* longer: a later version's record, the known part is read */
	assert_int_equal(acq_dp_record(buf + 1, sizeof(e) + 7, &p), 0);
	assert_int_equal(acq_dp_record(buf + 1, sizeof(e) - 1, &p), -EMSGSIZE);
	assert_int_equal(acq_dp_record(buf + 1, 3, &p), -EMSGSIZE);
	assert_int_equal(acq_dp_record(buf + 1, 0, &p), -EMSGSIZE);
	assert_int_equal(acq_dp_record(&other, sizeof(other), &p), -EOPNOTSUPP);
	e.family = 5;
	assert_int_equal(acq_dp_record(&e, sizeof(e), &p), -EINVAL);
	e.family = XIPSEC_AF_INET;

	/* the dataplane's acquire starts "net"; the kernel's for it coalesces */
	assert_int_equal(acq_trap_add(&t, conn, child_of("net"), ini, resp), 0);
	assert_int_equal(acq_dp_record(&e, sizeof(e), &p), 0);
	tr = acq_match(&t, &p);
	assert_non_null(tr);
	assert_string_equal(tr->child, "net");
	assert_int_equal(acq_decide(&t, tr, 1000), ACQ_START);
	acq_started(&t, tr, 0, 42, 1000);
	xfrm_acq(&a, "10.1.0.5", "10.2.0.7", IPPROTO_ICMP, 8, 0, "192.0.2.2");
	assert_int_equal(acq_pkt_from_xfrm(&a, &p), 0);
	assert_ptr_equal(acq_match(&t, &p), tr);
	assert_int_equal(acq_decide(&t, tr, 1100), ACQ_COALESCED);

	/* the child is up at 2000 ms: a record of a packet seen up to then was
	 * queued before its bucket took over; a later one is a new acquire */
	acq_child_up(&t, "gw", "net", 2000);
	assert_int_equal(tr->state, ACQ_IDLE);
	e.ts_ns = 1999999999ull; /* 1999.99 ms */
	assert_int_equal(acq_dp_record(&e, sizeof(e), &p), 0);
	assert_int_equal(p.seen, 1999);
	assert_int_equal(acq_decide_pkt(&t, tr, &p, 2001), ACQ_STALE);
	e.ts_ns = 2000000001ull; /* the same ms */
	acq_dp_record(&e, sizeof(e), &p);
	assert_int_equal(acq_decide_pkt(&t, tr, &p, 2001), ACQ_STALE);
	assert_int_equal(t.st.stale, 2);
	assert_int_equal(tr->state, ACQ_IDLE);
	e.ts_ns = 2001000000ull;
	acq_dp_record(&e, sizeof(e), &p);
	assert_int_equal(acq_decide_pkt(&t, tr, &p, 2002), ACQ_START);
	/* the kernel's carry no time: never stale */
	xfrm_acq(&a, "10.1.0.5", "10.2.0.7", IPPROTO_ICMP, 8, 0, "192.0.2.2");
	acq_pkt_from_xfrm(&a, &p);
	assert_int_equal(p.seen, 0);
	assert_int_equal(acq_decide_pkt(&t, tr, &p, 2002), ACQ_START);
	acq_table_free(&t);
}

/* Trap buckets: one per trap, its configured selectors local -> remote. */
static void test_acquire_dp_trap_set(void **state)
{
	const struct conf_conn *conn = nodes[0].conf->conns[0];
	const struct sockaddr *ini = (const struct sockaddr *)&nodes[0].addr;
	const struct sockaddr *resp = (const struct sockaddr *)&nodes[1].addr;
	struct acq_table t = { 0 };
	struct spd_set set;
	char name[32], pfx[64];
	size_t i;

	(void)state;
	assert_int_equal(acq_dp_trap_set(&t, 7, &set), 0);
	assert_int_equal(set.nbuckets, 0);
	assert_int_equal(set.nrules, 0);
	spd_set_free(&set);

	assert_int_equal(acq_trap_add(&t, conn, child_of("net"), ini, resp), 0);
	assert_int_equal(acq_trap_add(&t, conn, child_of("other"), ini, resp), 0);
	assert_int_equal(acq_dp_trap_set(&t, 0x1234abcd, &set), 0);
	assert_int_equal(set.nbuckets, 2);
	assert_int_equal(set.nrules, 2);
	for (i = 0; i < 2; i++) {
		const struct spd_bucket *b = &set.buckets[i];
		const struct spd_rule *r = &set.rules[i];

		snprintf(name, sizeof(name), "xiked:t1234abcd.%zx", i);
		assert_string_equal(b->name, name);
		assert_int_equal(b->action, SPD_ACT_PROTECT);
		assert_int_equal(b->flags, 0); /* dropped, not passed to the kernel */
		assert_int_equal(b->sa_id, DP_IKE_TRAP_SA_ID);
		assert_true(dp_ike_trap_bucket(b, 0x1234abcd));
		assert_int_equal(r->bucket, i);
		assert_int_equal(r->family, XIPSEC_AF_INET);
		assert_int_equal(r->src_plen, 24);
		assert_int_equal(r->dst_plen, 24);
		assert_int_equal(r->proto, 0);
		assert_int_equal(r->sport_lo, 0);
		assert_int_equal(r->sport_hi, 0xffff);
		assert_int_equal(r->dport_hi, 0xffff);
		assert_int_equal(r->priority, DP_IKE_TRAP_PRIORITY);
		spd_format_prefix(r->family, r->src, r->src_plen, pfx, sizeof(pfx));
		assert_string_equal(pfx, i ? "10.1.1.0/24" : "10.1.0.0/24");
		spd_format_prefix(r->family, r->dst, r->dst_plen, pfx, sizeof(pfx));
		assert_string_equal(pfx, i ? "10.2.1.0/24" : "10.2.0.0/24");
	}
	/* what the classifier gets is a valid rule set */
	{
		struct spd_error e;

		assert_int_equal(spd_validate(&set, &e), 0);
	}
	spd_set_free(&set);
	acq_table_free(&t);
}

struct fake_status {
	enum acq_status st;
	unsigned int calls;
};

static enum acq_status fake_status_fn(const struct acq_trap *tr, void *arg)
{
	struct fake_status *f = arg;

	(void)tr;
	f->calls++;
	return f->st;
}

/* Concurrent acquires make one negotiation; a failure holds the next ones. */
static void test_acquire_coalesce(void **state)
{
	const struct conf_conn *conn = nodes[0].conf->conns[0];
	const struct sockaddr *ini = (const struct sockaddr *)&nodes[0].addr;
	const struct sockaddr *resp = (const struct sockaddr *)&nodes[1].addr;
	struct fake_status f = { .st = ACQ_ST_INFLIGHT };
	struct acq_table t = { 0 };
	struct acq_trap *tr;
	int i;

	(void)state;
	assert_int_equal(acq_trap_add(&t, conn, child_of("net"), ini, resp), 0);
	tr = &t.traps[0];
	assert_int_equal(acq_decide(&t, tr, 1000), ACQ_START);
	acq_started(&t, tr, 0, 0x1234, 1000);
	assert_true(acq_any_pending(&t));
	for (i = 0; i < 10; i++)
		assert_int_equal(acq_decide(&t, tr, 1000 + (uint64_t)i), ACQ_COALESCED);
	assert_int_equal(tr->coalesced, 10);
	acq_sync(&t, 5000, fake_status_fn, &f);
	assert_int_equal(tr->state, ACQ_PENDING);
	/* up: the next acquire (a new flow the child does not cover) starts again */
	f.st = ACQ_ST_UP;
	acq_sync(&t, 6000, fake_status_fn, &f);
	assert_int_equal(tr->state, ACQ_IDLE);
	assert_false(acq_any_pending(&t));
	assert_int_equal(acq_decide(&t, tr, 7000), ACQ_START);
	acq_started(&t, tr, 0, 0x5678, 7000);
	/* failed: held for ACQ_HOLD_MS, then allowed again */
	f.st = ACQ_ST_FAILED;
	acq_sync(&t, 8000, fake_status_fn, &f);
	assert_int_equal(tr->state, ACQ_HOLD);
	assert_int_equal(acq_decide(&t, tr, 8000 + ACQ_HOLD_MS - 1), ACQ_HELD);
	assert_int_equal(acq_decide(&t, tr, 8000 + ACQ_HOLD_MS), ACQ_START);
	/* a negotiation that never resolves counts as failed */
	acq_started(&t, tr, 0, 0x9abc, 20000);
	f.st = ACQ_ST_INFLIGHT;
	/* the loop's clock, read before the acquire was handled, is not a
	 * negotiation that took forever */
	acq_sync(&t, 19999, fake_status_fn, &f);
	assert_int_equal(tr->state, ACQ_PENDING);
	acq_sync(&t, 20000 + ACQ_PENDING_MAX_MS - 1, fake_status_fn, &f);
	assert_int_equal(tr->state, ACQ_PENDING);
	acq_sync(&t, 20000 + ACQ_PENDING_MAX_MS, fake_status_fn, &f);
	assert_int_equal(tr->state, ACQ_HOLD);
	assert_int_equal(t.st.started, 3);
	assert_int_equal(t.st.coalesced, 10);
	assert_int_equal(t.st.held, 1);
	assert_int_equal(t.st.failed, 2);
	acq_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_initiate_packet_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_create_packet_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_dp_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acquire_dp_trap_set, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
