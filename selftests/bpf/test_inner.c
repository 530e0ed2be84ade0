// SPDX-License-Identifier: GPL-2.0-only
/*
 * Inner classifier (bpf/xipsec_inner.bpf.c) under BPF_PROG_TEST_RUN on the
 * host kernel: parser edges, every bucket action, acquire events, counters,
 * atomic rule-set replacement.
 *
 *   test packet --BPF_PROG_TEST_RUN--> xipsec_inner_xdp / xipsec_inner_tc
 *                                        | maps filled by lib/spd.c (spd_install)
 *                                        v
 *                                 retval, skb->mark (ctx_out), counters, ring buffer
 *
 * Rule set used by most tests (bucket: action):
 *   0 protect-a: PROTECT SA 1 (installed, mark 0x100/0xf00)
 *   1 bypass:    BYPASS
 *   2 discard:   DISCARD
 *   3 nosa-drop: PROTECT SA 2 (not installed)
 *   4 nosa-hold: PROTECT SA 3 (not installed), HOLD
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dp_test_util.h"
#include "xipsec_inner.skel.h"

struct fx {
	struct xipsec_inner_bpf *skel;
	struct spd_maps maps;
	int xdp_fd, tc_fd;
	struct ring_buffer *rb;
	struct xipsec_acquire ev[8];
	int nev;
};

enum { B_PROT, B_BYP, B_DISC, B_NOSA, B_HOLD, NBUCKETS };

static int on_event(void *ctx, void *data, size_t len)
{
	struct fx *f = ctx;

	if (len == sizeof(struct xipsec_acquire) && f->nev < 8)
		memcpy(&f->ev[f->nev++], data, len);
	return 0;
}

static void default_buckets(struct spd_bucket *b)
{
	b[B_PROT] = dp_bucket(SPD_ACT_PROTECT, 0, 1, "protect-a");
	b[B_BYP] = dp_bucket(SPD_ACT_BYPASS, 0, 0, "bypass");
	b[B_DISC] = dp_bucket(SPD_ACT_DISCARD, 0, 0, "discard");
	b[B_NOSA] = dp_bucket(SPD_ACT_PROTECT, 0, 2, "nosa-drop");
	b[B_HOLD] = dp_bucket(SPD_ACT_PROTECT, SPD_BKT_F_HOLD, 3, "nosa-hold");
}

static int fx_install(struct fx *f, struct spd_rule *rules, size_t n)
{
	struct spd_bucket b[NBUCKETS];
	struct spd_set set = { .rules = rules, .nrules = n, .buckets = b, .nbuckets = NBUCKETS };
	struct spd_error e;
	int ret;

	default_buckets(b);
	ret = spd_install(&f->maps, &set, &e);
	if (ret)
		fprintf(stderr, "spd_install: %s (rule %d)\n", e.msg, e.rule);
	return ret;
}

/* The default rule set (see the header comment) into @out[16]; returns the count. */
static size_t default_rules(struct spd_rule *out)
{
	struct spd_rule r[] = {
		dp_rule("10.1.0.0/24", "10.2.0.0/24", 0, DP_ANYPORTS, 100, B_PROT),
		dp_rule("10.1.0.0/24", "10.2.0.0/16", 17, 0, 65535, 53, 53, 50, B_BYP),
		dp_rule("10.1.0.0/24", "10.2.0.0/24", 6, 0, 65535, 22, 22, 10, B_DISC),
		dp_rule("0.0.0.0/0", "10.3.0.0/16", 0, DP_ANYPORTS, 100, B_NOSA),
		dp_rule("0.0.0.0/0", "10.4.0.0/16", 0, DP_ANYPORTS, 100, B_HOLD),
		dp_rule("10.1.0.0/24", "10.5.0.0/24", 1, 8, 8, 0, 255, 10, B_DISC), /* echo req */
		dp_rule("10.1.0.0/24", "10.5.0.0/24", 0, DP_ANYPORTS, 20, B_BYP),
		dp_rule("fd00:1::/64", "fd00:2::/64", 0, DP_ANYPORTS, 100, B_PROT),
		dp_rule("fd00:1::/64", "fd00:2::/64", 17, 0, 65535, 53, 53, 10, B_DISC),
		dp_rule("::/0", "fd00:3::/48", 0, DP_ANYPORTS, 100, B_NOSA),
		/* only ranged ports: never matches packets without ports */
		dp_rule("10.1.0.0/24", "10.6.0.0/24", 17, 0, 65535, 1000, 2000, 10, B_DISC),
		dp_rule("10.1.0.0/24", "10.6.0.0/24", 0, DP_ANYPORTS, 20, B_BYP),
	};

	memcpy(out, r, sizeof(r));
	return sizeof(r) / sizeof(r[0]);
}

static int fx_install_default(struct fx *f)
{
	struct spd_rule r[16];

	return fx_install(f, r, default_rules(r));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct xipsec_sa sa = { .flags = XIPSEC_SA_F_INSTALLED | XIPSEC_SA_F_OUTBOUND,
				.mark = 0x100,
				.mark_mask = 0xf00 };
	uint32_t id = 1;

	if (!f)
		return -1;
	f->skel = xipsec_inner_bpf__open();
	if (!f->skel)
		goto err;
	dp_unpin_all(f->skel->obj);
	f->skel->rodata->acquire_interval_ns = 60ULL * 1000000000ULL;
	if (xipsec_inner_bpf__load(f->skel))
		goto err;
	f->xdp_fd = bpf_program__fd(f->skel->progs.xipsec_inner_xdp);
	f->tc_fd = bpf_program__fd(f->skel->progs.xipsec_inner_tc);
	f->maps = (struct spd_maps){
		.config_fd = bpf_map__fd(f->skel->maps.xipsec_config),
		.pfx_fd = bpf_map__fd(f->skel->maps.xipsec_spd_pfx),
		.lens_fd = bpf_map__fd(f->skel->maps.xipsec_spd_lens),
		.blk4_fd = bpf_map__fd(f->skel->maps.xipsec_spd_blk4),
		.cand_fd = bpf_map__fd(f->skel->maps.xipsec_spd_cand),
		.rule_fd = bpf_map__fd(f->skel->maps.xipsec_spd_rule),
		.bucket_fd = bpf_map__fd(f->skel->maps.xipsec_bucket),
		.bkt_stat_fd = bpf_map__fd(f->skel->maps.xipsec_bkt_stat),
	};
	if (bpf_map_update_elem(bpf_map__fd(f->skel->maps.xipsec_sa), &id, &sa, BPF_ANY))
		goto err;
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.xipsec_events), on_event, f, NULL);
	if (!f->rb || fx_install_default(f))
		goto err;
	*state = f;
	return 0;
err:
	fprintf(stderr, "setup failed: %s\n", strerror(errno));
	ring_buffer__free(f->rb);
	xipsec_inner_bpf__destroy(f->skel);
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ring_buffer__free(f->rb);
	xipsec_inner_bpf__destroy(f->skel);
	free(f);
	return 0;
}

static uint64_t drops(struct fx *f, enum xipsec_drop r)
{
	return dp_counter(bpf_map__fd(f->skel->maps.xipsec_drops), r);
}

static uint64_t stat(struct fx *f, enum xipsec_stat s)
{
	return dp_counter(bpf_map__fd(f->skel->maps.xipsec_stats), s);
}

static struct spd_bucket_stats bstats(struct fx *f, uint32_t b)
{
	struct spd_bucket_stats s;

	assert_int_equal(spd_bucket_stats_read(&f->maps, b, &s), 0);
	return s;
}

/* Run TC and XDP on @p; assert the verdicts; return the TC mark. */
static uint32_t run_both(struct fx *f, const struct pkt *p, uint32_t want_tc, uint32_t want_xdp)
{
	uint32_t ret, mark = 0;

	assert_int_equal(dp_run_tc(f->tc_fd, p, &ret, &mark), 0);
	assert_int_equal(ret, want_tc);
	assert_int_equal(dp_run_xdp(f->xdp_fd, p, &ret), 0);
	assert_int_equal(ret, want_xdp);
	return mark;
}

/*
 * BPF_PROG_TEST_RUN for skbs rejects frames shorter than Ethernet + the IPv4
 * or IPv6 header their ethertype announces (and both test_run flavours reject
 * frames under 14 bytes), so truncated L3 headers are exercised through XDP;
 * TC runs the same parser (bpf/lib/parse.h).
 */
static void run_xdp_only(struct fx *f, const struct pkt *p, uint32_t want)
{
	uint32_t ret;

	assert_int_equal(dp_run_xdp(f->xdp_fd, p, &ret), 0);
	assert_int_equal(ret, want);
}

static void udp4(struct pkt *p, const char *s, const char *d, uint16_t sp, uint16_t dp)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ip4(p, s, d, 17, 0, 0, 8);
	pkt_ports(p, sp, dp, 8);
}

#define TC_OK	0
#define TC_SHOT 2

/* --- actions ----------------------------------------------------------------- */

static void test_protect_sets_mark(void **state)
{
	struct fx *f = *state;
	struct xipsec_sa_stats ss = { 0 };
	struct pkt p;
	uint32_t mark = 0;

	udp4(&p, "10.1.0.5", "10.2.0.7", 1234, 80);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);

	/* Bits outside mark_mask survive. */
	{
		uint8_t out[256];
		struct __sk_buff in = { .mark = 0x7003 }, o = { 0 };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.buf, .data_size_in = p.len,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &in,
			    .ctx_size_in = sizeof(in), .ctx_out = &o, .ctx_size_out = sizeof(o));

		assert_int_equal(bpf_prog_test_run_opts(f->tc_fd, &opts), 0);
		assert_int_equal(opts.retval, TC_OK);
		mark = o.mark;
	}
	assert_int_equal(mark, 0x7103);

	assert_int_equal(dp_sum_percpu(bpf_map__fd(f->skel->maps.xipsec_sa_stat), 1,
				       (uint64_t *)&ss, sizeof(ss)),
			 0);
	assert_int_equal(ss.tx_packets, 2);
	assert_int_equal(ss.tx_bytes, 2 * p.len);
	assert_int_equal(bstats(f, B_PROT).packets, 2);
}

static void test_bypass(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	udp4(&p, "10.1.0.5", "10.2.9.9", 1234, 53);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
	assert_int_equal(bstats(f, B_BYP).packets, 1);
	assert_int_equal(bstats(f, B_PROT).packets, 0);
}

static void test_discard_counted(void **state)
{
	struct fx *f = *state;
	struct spd_bucket_stats s;
	struct pkt p;
	int i;

	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.2.0.7", 6, 0, 0, 20);
	pkt_ports(&p, 40000, 22, 20);
	for (i = 0; i < 5; i++)
		run_both(f, &p, TC_SHOT, XDP_DROP);
	s = bstats(f, B_DISC);
	assert_int_equal(s.packets, 10);
	assert_int_equal(s.bytes, 10 * p.len);
	assert_int_equal(s.drop_discard, 10);
	assert_int_equal(drops(f, XIPSEC_DROP_SPD_DISCARD), 10);
}

static void test_priority_beats_longer_prefix(void **state)
{
	struct fx *f = *state;
	struct spd_rule r[] = {
		dp_rule("0.0.0.0/0", "10.0.0.0/8", 0, DP_ANYPORTS, 1, B_DISC),
		dp_rule("0.0.0.0/0", "10.2.0.0/24", 0, DP_ANYPORTS, 5, B_BYP),
		dp_rule("0.0.0.0/0", "10.9.0.0/24", 0, DP_ANYPORTS, 0, B_BYP),
		/* equal priority: the earlier rule wins */
		dp_rule("0.0.0.0/0", "10.8.0.0/24", 0, DP_ANYPORTS, 0, B_PROT),
		dp_rule("0.0.0.0/0", "10.8.0.0/16", 0, DP_ANYPORTS, 0, B_BYP),
	};
	struct pkt p;

	assert_int_equal(fx_install(f, r, 5), 0);
	udp4(&p, "1.2.3.4", "10.2.0.1", 1, 2);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	udp4(&p, "1.2.3.4", "10.9.0.1", 1, 2);
	run_both(f, &p, TC_OK, XDP_PASS);
	udp4(&p, "1.2.3.4", "10.8.0.1", 1, 2);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
	udp4(&p, "1.2.3.4", "10.8.1.1", 1, 2);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
}

static void test_no_match_default_bypass(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	udp4(&p, "10.1.0.5", "192.168.1.1", 1, 2);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
	/* Source outside every rule of a matching destination. */
	udp4(&p, "10.9.0.5", "10.2.0.7", 1, 2);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
	assert_int_equal(stat(f, XIPSEC_STAT_INNER_NO_MATCH), 2);
}

static void test_ports_and_proto(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	udp4(&p, "10.1.0.5", "10.6.0.1", 5, 1000);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	udp4(&p, "10.1.0.5", "10.6.0.1", 5, 2000);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	udp4(&p, "10.1.0.5", "10.6.0.1", 5, 2001);
	run_both(f, &p, TC_OK, XDP_PASS);
	udp4(&p, "10.1.0.5", "10.6.0.1", 5, 999);
	run_both(f, &p, TC_OK, XDP_PASS);
	/* TCP to the same port: the UDP rule does not apply. */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.6.0.1", 6, 0, 0, 20);
	pkt_ports(&p, 5, 1500, 20);
	run_both(f, &p, TC_OK, XDP_PASS);
	/* SCTP has ports at the same place: the UDP rule does not match it either */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.6.0.1", 132, 0, 0, 12);
	pkt_ports(&p, 5, 1500, 12);
	run_both(f, &p, TC_OK, XDP_PASS);
}

static void test_sctp_ports(void **state)
{
	struct fx *f = *state;
	struct spd_rule r[] = {
		dp_rule("0.0.0.0/0", "10.7.0.0/24", 132, 0, 65535, 3868, 3868, 1, B_DISC),
	};
	struct pkt p;

	assert_int_equal(fx_install(f, r, 1), 0);
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.7.0.1", 132, 0, 0, 12);
	pkt_ports(&p, 5, 3868, 12);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.7.0.1", 132, 0, 0, 12);
	pkt_ports(&p, 5, 3869, 12);
	run_both(f, &p, TC_OK, XDP_PASS);
}

static void test_icmp_type_code(void **state)
{
	struct fx *f = *state;
	uint8_t icmp[8] = { 8, 0 }; /* echo request */
	struct pkt p;

	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.5.0.1", 1, 0, 0, 8);
	pkt_put(&p, icmp, 8);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	icmp[0] = 0; /* echo reply: the bypass rule */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.5.0.1", 1, 0, 0, 8);
	pkt_put(&p, icmp, 8);
	run_both(f, &p, TC_OK, XDP_PASS);
}

/* --- acquire ------------------------------------------------------------------ */

static void test_acquire_drop_exact_selectors(void **state)
{
	struct fx *f = *state;
	struct spd_bucket_stats s;
	struct pkt p;
	uint32_t src, dst;
	int i;

	udp4(&p, "10.1.0.5", "10.3.1.2", 4321, 8080);
	assert_int_equal(run_both(f, &p, TC_SHOT, XDP_DROP), 0);
	for (i = 0; i < 3; i++)
		run_both(f, &p, TC_SHOT, XDP_DROP);
	ring_buffer__consume(f->rb);
	assert_int_equal(f->nev, 1); /* rate-limited: one per bucket per interval */
	inet_pton(AF_INET, "10.1.0.5", &src);
	inet_pton(AF_INET, "10.3.1.2", &dst);
	assert_int_equal(f->ev[0].type, XIPSEC_EV_ACQUIRE);
	assert_int_equal(f->ev[0].bucket, B_NOSA);
	assert_int_equal(f->ev[0].sa_id, 2);
	assert_int_equal(f->ev[0].family, XIPSEC_AF_INET);
	assert_int_equal(f->ev[0].proto, 17);
	assert_int_equal(f->ev[0].sport, 4321);
	assert_int_equal(f->ev[0].dport, 8080);
	assert_int_equal(f->ev[0].flags, 0);
	assert_int_equal(f->ev[0].src[0], src);
	assert_int_equal(f->ev[0].dst[0], dst);
	assert_int_equal(f->ev[0].src[1] | f->ev[0].dst[3], 0);
	s = bstats(f, B_NOSA);
	assert_int_equal(s.packets, 8);
	assert_int_equal(s.drop_no_sa, 8);
	assert_int_equal(s.acquires, 1);
	assert_int_equal(s.acquires_limited, 7);
	assert_int_equal(drops(f, XIPSEC_DROP_SPD_NO_SA), 8);
}

static void test_acquire_hold_passes(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	udp4(&p, "10.9.9.9", "10.4.0.1", 1, 2);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
	ring_buffer__consume(f->rb);
	assert_int_equal(f->nev, 1);
	assert_int_equal(f->ev[0].flags, XIPSEC_ACQ_F_HELD);
	assert_int_equal(bstats(f, B_HOLD).drop_no_sa, 0);
}

static void test_acquire_ipv6(void **state)
{
	struct fx *f = *state;
	uint8_t src[16], dst[16];
	struct pkt p;

	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "fd00:9::1", "fd00:3:0:1::2", 6, 20);
	pkt_ports(&p, 33333, 443, 20);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	ring_buffer__consume(f->rb);
	assert_int_equal(f->nev, 1);
	inet_pton(AF_INET6, "fd00:9::1", src);
	inet_pton(AF_INET6, "fd00:3:0:1::2", dst);
	assert_int_equal(f->ev[0].family, XIPSEC_AF_INET6);
	assert_int_equal(f->ev[0].proto, 6);
	assert_int_equal(f->ev[0].sport, 33333);
	assert_int_equal(f->ev[0].dport, 443);
	assert_memory_equal(f->ev[0].src, src, 16);
	assert_memory_equal(f->ev[0].dst, dst, 16);
}

/* The SA gets installed: the same bucket now steers instead of dropping. */
static void test_sa_installed_later(void **state)
{
	struct fx *f = *state;
	struct xipsec_sa sa = { .flags = XIPSEC_SA_F_INSTALLED, .mark = 0x200, .mark_mask = 0xf00 };
	uint32_t id = 2;
	struct pkt p;

	udp4(&p, "10.1.0.5", "10.3.1.2", 1, 2);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(
		bpf_map_update_elem(bpf_map__fd(f->skel->maps.xipsec_sa), &id, &sa, BPF_ANY), 0);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x200);
}

/* --- parser edges --------------------------------------------------------------- */

static void test_non_ip_and_short_l2(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	pkt_eth(&p, 0x0806); /* ARP */
	pkt_pad60(&p);
	run_both(f, &p, TC_OK, XDP_PASS);
	/* VLAN header cut in half (a truncated Ethernet header cannot be run). */
	pkt_vlan(&p, 0x8100, ETH_P_IP);
	p.len = 16;
	run_both(f, &p, TC_OK, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_INNER_NON_IP), 2);
}

static void test_vlan(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	pkt_vlan(&p, 0x8100, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.2.0.7", 6, 0, 0, 20);
	pkt_ports(&p, 1, 22, 20);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	pkt_vlan(&p, 0x88a8, ETH_P_IPV6);
	pkt_ip6(&p, "fd00:1::1", "fd00:2::1", 17, 8);
	pkt_ports(&p, 1, 53, 8);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	/* Second tag (QinQ): not parsed, passed as non-IP. */
	pkt_vlan(&p, 0x88a8, 0x8100);
	pkt_put(&p, "\x00\x64\x08\x00", 4);
	pkt_ip4(&p, "10.1.0.5", "10.2.0.7", 6, 0, 0, 20);
	pkt_ports(&p, 1, 22, 20);
	run_both(f, &p, TC_OK, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_INNER_NON_IP), 1);
}

static void test_ip4_truncated(void **state)
{
	struct fx *f = *state;
	struct pkt p, full;
	size_t cut;

	pkt_eth(&full, ETH_P_IP);
	pkt_ip4(&full, "10.1.0.5", "10.2.0.7", 6, 0, 0, 20);
	pkt_ports(&full, 1, 22, 20);
	/* Every cut inside the IP header, then inside the port bytes. */
	for (cut = 14; cut < 14 + 20; cut++) {
		p = full;
		p.len = cut;
		run_xdp_only(f, &p, XDP_DROP);
	}
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_IP4), 20);
	for (cut = 34; cut < 38; cut++) {
		p = full;
		p.len = cut;
		run_both(f, &p, TC_SHOT, XDP_DROP);
	}
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_L4), 2 * 4);
	p = full;
	p.len = 38; /* ports present: classified (DISCARD rule for port 22) */
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_SPD_DISCARD), 2);

	/* IHL < 5, wrong version, IHL past the end */
	p = full;
	p.buf[14] = 0x44;
	run_both(f, &p, TC_SHOT, XDP_DROP);
	p = full;
	p.buf[14] = 0x65;
	run_both(f, &p, TC_SHOT, XDP_DROP);
	p = full;
	p.buf[14] = 0x4f;
	p.len = 14 + 40;
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_IP4), 20 + 2 * 3);
}

static void test_ip4_options(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.2.0.7", 6, 0, 40, 20); /* IHL 15 */
	pkt_ports(&p, 1, 22, 20);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.2.0.7", 6, 0, 4, 20);
	pkt_ports(&p, 1, 80, 20);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
}

static void test_ip4_fragments(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	/* First fragment (MF, offset 0) has ports: UDP 1500 hits the ranged DISCARD. */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.6.0.1", 17, 0x2000, 0, 16);
	pkt_ports(&p, 5, 1500, 16);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	/* Later fragment: no ports, the ranged rule cannot match, any-port BYPASS does. */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.6.0.1", 17, 0x2000 | 100, 0, 16);
	pkt_ports(&p, 5, 1500, 16);
	run_both(f, &p, TC_OK, XDP_PASS);
	/* Last fragment (no MF, offset > 0), even if shorter than a UDP header. */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.6.0.1", 17, 200, 0, 2);
	pkt_put(&p, "\x05\xdc", 2);
	run_both(f, &p, TC_OK, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_INNER_FRAG), 2);
	/* A later fragment of a PROTECT flow is still protected (any-port rule). */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "10.1.0.5", "10.2.0.7", 17, 300, 0, 16);
	pkt_ports(&p, 5, 53, 16);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
}

static void test_ip6_basic_and_truncated(void **state)
{
	struct fx *f = *state;
	struct pkt p, full;
	size_t cut;

	pkt_eth(&full, ETH_P_IPV6);
	pkt_ip6(&full, "fd00:1::1", "fd00:2::1", 17, 8);
	pkt_ports(&full, 1, 53, 8);
	run_both(f, &full, TC_SHOT, XDP_DROP);
	p = full;
	p.buf[14 + 40 + 3] = 54; /* dport 54: PROTECT */
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
	for (cut = 14; cut < 54; cut++) {
		p = full;
		p.len = cut;
		run_xdp_only(f, &p, XDP_DROP);
	}
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_IP6), 40);
	p = full;
	p.len = 56;
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_L4), 2);
	p = full;
	p.buf[14] = 0x40; /* version 4 in an IPv6 frame */
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_IP6), 40 + 2);
}

static void test_ip6_ext_chain(void **state)
{
	struct fx *f = *state;
	struct pkt p, full;
	size_t cut;

	/* hop-by-hop -> routing (24 bytes) -> dstopts -> fragment (first) -> UDP */
	pkt_eth(&full, ETH_P_IPV6);
	pkt_ip6(&full, "fd00:1::1", "fd00:2::1", 0, 8 + 24 + 8 + 8 + 8);
	pkt_ip6_ext(&full, 43, 0);
	pkt_ip6_ext(&full, 60, 2);
	pkt_ip6_ext(&full, 44, 0);
	pkt_ip6_frag(&full, 17, 0, true);
	pkt_ports(&full, 1, 53, 8);
	run_both(f, &full, TC_SHOT, XDP_DROP); /* ports seen: DISCARD dport 53 */

	/* Cut inside each extension header: TRUNC_IP6_EXT, inside UDP: TRUNC_L4. */
	for (cut = 54; cut < 54 + 48; cut++) {
		p = full;
		p.len = cut;
		run_both(f, &p, TC_SHOT, XDP_DROP);
	}
	assert_int_equal(drops(f, XIPSEC_DROP_TRUNC_IP6_EXT), 2 * 48);

	/* Non-first fragment: no ports, so the dport-53 DISCARD cannot match. */
	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "fd00:1::1", "fd00:2::1", 0, 8 + 8 + 8);
	pkt_ip6_ext(&p, 44, 0);
	pkt_ip6_frag(&p, 17, 10, false);
	pkt_ports(&p, 1, 53, 8);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
}

static void test_ip6_ext_too_deep(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	int i, n;

	for (n = XIPSEC_IP6_MAX_EXT; n <= XIPSEC_IP6_MAX_EXT + 1; n++) {
		pkt_eth(&p, ETH_P_IPV6);
		pkt_ip6(&p, "fd00:1::1", "fd00:2::1", 60, 8 * n + 8);
		for (i = 0; i < n; i++)
			pkt_ip6_ext(&p, i == n - 1 ? 17 : 60, 0);
		pkt_ports(&p, 1, 80, 8);
		if (n == XIPSEC_IP6_MAX_EXT)
			assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
		else
			run_both(f, &p, TC_SHOT, XDP_DROP);
	}
	assert_int_equal(drops(f, XIPSEC_DROP_IP6_EXT_DEPTH), 2);
}

/* --- XDP -> TC metadata ---------------------------------------------------------- */

static void test_xdp_metadata(void **state)
{
	struct fx *f = *state;
	struct xipsec_xdp_meta m;
	uint8_t out[512];
	struct xdp_md ctx = { 0 };
	struct pkt p;

	udp4(&p, "10.1.0.5", "10.2.0.7", 1234, 80);
	ctx.data_end = p.len;
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.buf, .data_size_in = p.len,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
			    .ctx_size_out = sizeof(ctx));

		assert_int_equal(bpf_prog_test_run_opts(f->xdp_fd, &o), 0);
		assert_int_equal(o.retval, XDP_PASS);
		/* data_out starts at data_meta; ctx.data is the metadata length. */
		assert_int_equal(ctx.data, sizeof(m));
		assert_int_equal(o.data_size_out, p.len + sizeof(m));
	}
	memcpy(&m, out, sizeof(m));
	assert_int_equal(m.magic, XIPSEC_META_MAGIC);
	assert_int_equal(m.bucket, B_PROT);
	assert_int_equal(m.flags, 0);
	assert_memory_equal(out + sizeof(m), p.buf, p.len);

	/* No rule: bucket NONE in the metadata, TC applies the default. */
	udp4(&p, "10.1.0.5", "192.0.2.1", 1, 2);
	memset(&ctx, 0, sizeof(ctx));
	ctx.data_end = p.len;
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.buf, .data_size_in = p.len,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
			    .ctx_size_out = sizeof(ctx));

		assert_int_equal(bpf_prog_test_run_opts(f->xdp_fd, &o), 0);
	}
	memcpy(&m, out, sizeof(m));
	assert_int_equal(m.bucket, SPD_BUCKET_NONE);
}

/* --- counters and rule-set replacement ------------------------------------------- */

static void test_counters_equal_packets(void **state)
{
	struct fx *f = *state;
	struct spd_bucket_stats s;
	struct pkt p;
	uint32_t ret, mark;
	int i;

	udp4(&p, "10.1.0.5", "10.2.0.7", 1234, 80);
	for (i = 0; i < 100; i++) {
		assert_int_equal(dp_run_tc(f->tc_fd, &p, &ret, &mark), 0);
		assert_int_equal(mark, 0x100);
	}
	s = bstats(f, B_PROT);
	assert_int_equal(s.packets, 100);
	assert_int_equal(s.bytes, 100 * p.len);
	assert_int_equal(s.drop_discard + s.drop_no_sa + s.acquires, 0);
}

static size_t pfx_entries(struct fx *f, int gen)
{
	int fd = bpf_map__fd(f->skel->maps.xipsec_spd_pfx);
	struct spd_pfx_key k, *prev = NULL, next;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (next.gen == gen)
			n++;
		k = next;
		prev = &k;
	}
	return n;
}

static void test_atomic_replace(void **state)
{
	struct fx *f = *state;
	struct spd_rule bad[] = {
		dp_rule("0.0.0.0/0", "10.2.0.0/24", 0, DP_ANYPORTS, 1, B_DISC),
		dp_rule("0.0.0.0/0", "10.2.0.0/24", 6, 0, 65535, 30, 20, 1, B_DISC),
	};
	struct spd_rule good[] = {
		dp_rule("0.0.0.0/0", "10.2.0.0/24", 0, DP_ANYPORTS, 1, B_DISC),
	};
	struct spd_bucket b[3] = { dp_bucket(SPD_ACT_BYPASS, 0, 0, "x"),
				   dp_bucket(SPD_ACT_BYPASS, 0, 0, "y"),
				   dp_bucket(SPD_ACT_DISCARD, 0, 0, "z") };
	struct spd_set set = { .rules = bad, .nrules = 2, .buckets = b, .nbuckets = 3 };
	struct xipsec_config cfg;
	struct spd_error e;
	struct spd_set back;
	struct pkt p;
	uint32_t zero = 0;
	int g0;

	udp4(&p, "10.1.0.5", "10.2.0.7", 1234, 80);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
	assert_int_equal(bpf_map_lookup_elem(f->maps.config_fd, &zero, &cfg), 0);
	g0 = cfg.active_gen;

	/* Invalid: error names rule 1, nothing changes. */
	assert_int_equal(fx_install(f, bad, 2), -EINVAL);
	assert_int_equal(spd_install(&f->maps, &set, &e), -EINVAL);
	assert_int_equal(e.rule, 1);
	assert_non_null(strstr(e.msg, "30-20"));
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
	assert_int_equal(bpf_map_lookup_elem(f->maps.config_fd, &zero, &cfg), 0);
	assert_int_equal(cfg.active_gen, g0);

	/* Valid: flips generation, new verdict. */
	assert_int_equal(fx_install(f, good, 1), 0);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(bpf_map_lookup_elem(f->maps.config_fd, &zero, &cfg), 0);
	assert_int_equal(cfg.active_gen, !g0);
	assert_int_equal(pfx_entries(f, !g0), 1);

	/* Back to the default set in the old generation: its stale leaves are gone. */
	assert_int_equal(fx_install_default(f), 0);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0x100);
	{
		struct spd_rule r[16];
		struct spd_bucket bb[NBUCKETS];
		struct spd_set ds = {
			.rules = r, .nrules = default_rules(r), .buckets = bb, .nbuckets = NBUCKETS
		};
		struct spd_compiled cc;

		default_buckets(bb);
		assert_int_equal(spd_compile(&ds, g0, &cc, &e), 0);
		assert_int_equal(cc.nleaves, 8);
		assert_int_equal(pfx_entries(f, g0), cc.nentries);
		assert_int_equal(pfx_entries(f, !g0), 0 + 1); /* untouched until the next commit */
		spd_compiled_free(&cc);
	}

	/* The source rules read back equal what was installed. */
	assert_int_equal(spd_read_active(&f->maps, &back), 0);
	assert_int_equal(back.nrules, 12);
	assert_int_equal(back.nbuckets, NBUCKETS);
	assert_string_equal(back.buckets[B_HOLD].name, "nosa-hold");
	assert_int_equal(back.rules[2].dport_lo, 22);
	spd_set_free(&back);
}

/* The full candidate bound: the last of SPD_MAX_LEAF_CANDS rules on one destination matches. */
static void test_long_candidate_list(void **state)
{
	struct fx *f = *state;
	struct spd_rule *r = calloc(SPD_MAX_LEAF_CANDS + 1, sizeof(*r));
	struct pkt p;
	char src[32];
	size_t i;

	assert_non_null(r);
	for (i = 0; i <= SPD_MAX_LEAF_CANDS; i++) {
		snprintf(src, sizeof(src), "10.%zu.%zu.0/24", 100 + i / 256, i % 256);
		r[i] = dp_rule(src, i % 2 ? "10.9.0.0/16" : "10.9.1.0/24", 0, DP_ANYPORTS, 1,
			       i == SPD_MAX_LEAF_CANDS - 1 ? B_DISC : B_BYP);
	}
	assert_int_equal(fx_install(f, r, SPD_MAX_LEAF_CANDS), 0);
	/* source inside the last rule only (i = MAX - 1), then inside the one before */
	snprintf(src, sizeof(src), "10.%d.%d.1", 100 + (SPD_MAX_LEAF_CANDS - 1) / 256,
		 (SPD_MAX_LEAF_CANDS - 1) % 256);
	udp4(&p, src, "10.9.1.1", 1, 2);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	snprintf(src, sizeof(src), "10.%d.%d.1", 100 + (SPD_MAX_LEAF_CANDS - 2) / 256,
		 (SPD_MAX_LEAF_CANDS - 2) % 256);
	udp4(&p, src, "10.9.1.1", 1, 2);
	run_both(f, &p, TC_OK, XDP_PASS);
	/* one more rule covering 10.9.1.0/24 is refused, the active set stays */
	assert_int_equal(fx_install(f, r, SPD_MAX_LEAF_CANDS + 1), -E2BIG);
	snprintf(src, sizeof(src), "10.%d.%d.1", 100 + (SPD_MAX_LEAF_CANDS - 1) / 256,
		 (SPD_MAX_LEAF_CANDS - 1) % 256);
	udp4(&p, src, "10.9.1.1", 1, 2);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	free(r);
}

/* An empty rule set (spd flush) is a valid commit: every packet takes the default. */
static void test_flush(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	udp4(&p, "10.1.0.5", "10.3.1.2", 1, 2);
	run_both(f, &p, TC_SHOT, XDP_DROP);
	assert_int_equal(fx_install(f, NULL, 0), 0);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "fd00:1::1", "fd00:2::1", 17, 8);
	pkt_ports(&p, 1, 53, 8);
	assert_int_equal(run_both(f, &p, TC_OK, XDP_PASS), 0);
	/* setup committed generation 1, so the empty set went into generation 0 */
	assert_int_equal(pfx_entries(f, 0), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_protect_sets_mark),
		T(test_bypass),
		T(test_discard_counted),
		T(test_priority_beats_longer_prefix),
		T(test_no_match_default_bypass),
		T(test_ports_and_proto),
		T(test_sctp_ports),
		T(test_icmp_type_code),
		T(test_acquire_drop_exact_selectors),
		T(test_acquire_hold_passes),
		T(test_acquire_ipv6),
		T(test_sa_installed_later),
		T(test_non_ip_and_short_l2),
		T(test_vlan),
		T(test_ip4_truncated),
		T(test_ip4_options),
		T(test_ip4_fragments),
		T(test_ip6_basic_and_truncated),
		T(test_ip6_ext_chain),
		T(test_ip6_ext_too_deep),
		T(test_xdp_metadata),
		T(test_counters_equal_packets),
		T(test_atomic_replace),
		T(test_flush),
		T(test_long_candidate_list),
	};

	dp_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
