// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outer prefilter and inbound inner check (bpf/xipsec_outer.bpf.c) under
 * BPF_PROG_TEST_RUN on the host kernel.
 *
 *   peer --ESP / UDP 4500 / UDP 500--> [out0: XDP xipsec_outer_xdp] --> stack
 *   decrypted inner packet ----------> [out0: TC  xipsec_outer_tc ] --> forward
 *
 * Inbound SA in every test: id 7, SPI 0x1001, selectors
 * src 10.2.0.0/24 -> dst 10.1.0.0/24 and src fd00:2::/64 -> dst fd00:1::/64.
 *
 * BPF_PROG_TEST_RUN cannot give an skb a secpath, so the inner check is run
 * through the object's test hook (rodata test_fake_spi: packets without a
 * secpath are treated as decrypted by that SPI); the real path, with
 * bpf_skb_get_xfrm_state(), is covered by the VM tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dp_test_util.h"
#include "xipsec_outer.skel.h"
#include "dp_maps.h"

#define SA_ID	7
#define SA_SPI	0x1001
#define TC_OK	0
#define TC_SHOT 2

struct fx {
	struct xipsec_outer_bpf *skel;
	struct dp_maps m;
	int xdp_fd, tc_fd;
};

static int fx_open(void **state, uint32_t fake_spi)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct xipsec_sa sa = { .flags = XIPSEC_SA_F_INBOUND | XIPSEC_SA_F_INSTALLED,
				.spi = htonl(SA_SPI),
				.reqid = 2,
				.nsel = 2 };
	__be32 a[4];
	uint8_t fam, plen;

	if (!f)
		return -1;
	f->skel = xipsec_outer_bpf__open();
	if (!f->skel)
		goto err;
	dp_unpin_all(f->skel->obj);
	f->skel->rodata->test_fake_spi = htonl(fake_spi);
	if (xipsec_outer_bpf__load(f->skel))
		goto err;
	f->xdp_fd = bpf_program__fd(f->skel->progs.xipsec_outer_xdp);
	f->tc_fd = bpf_program__fd(f->skel->progs.xipsec_outer_tc);
	f->m = (struct dp_maps){
		.config_fd = bpf_map__fd(f->skel->maps.xipsec_config),
		.sa_fd = bpf_map__fd(f->skel->maps.xipsec_sa),
		.spi_fd = bpf_map__fd(f->skel->maps.xipsec_spi),
		.sa_stat_fd = bpf_map__fd(f->skel->maps.xipsec_sa_stat),
		.drops_fd = bpf_map__fd(f->skel->maps.xipsec_drops),
		.stats_fd = bpf_map__fd(f->skel->maps.xipsec_stats),
	};
	sa.sel[0].family = XIPSEC_AF_INET;
	spd_parse_prefix("10.2.0.0/24", &fam, a, &plen);
	dp_prefix_from_plen(&sa.sel[0].src, fam, a, plen);
	spd_parse_prefix("10.1.0.0/24", &fam, a, &plen);
	dp_prefix_from_plen(&sa.sel[0].dst, fam, a, plen);
	sa.sel[1].family = XIPSEC_AF_INET6;
	spd_parse_prefix("fd00:2::/64", &fam, a, &plen);
	dp_prefix_from_plen(&sa.sel[1].src, fam, a, plen);
	spd_parse_prefix("fd00:1::/64", &fam, a, &plen);
	dp_prefix_from_plen(&sa.sel[1].dst, fam, a, plen);
	if (dp_sa_set(&f->m, SA_ID, &sa))
		goto err;
	*state = f;
	return 0;
err:
	fprintf(stderr, "setup failed: %s\n", strerror(errno));
	xipsec_outer_bpf__destroy(f->skel);
	free(f);
	return -1;
}

static int setup(void **state)
{
	return fx_open(state, 0);
}

static int setup_fake_secpath(void **state)
{
	return fx_open(state, SA_SPI);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	xipsec_outer_bpf__destroy(f->skel);
	free(f);
	return 0;
}

static uint64_t drops(struct fx *f, enum xipsec_drop r)
{
	uint64_t v = UINT64_MAX;

	assert_int_equal(dp_drop_read(&f->m, r, &v), 0);
	return v;
}

static uint64_t stat(struct fx *f, enum xipsec_stat s)
{
	uint64_t v = UINT64_MAX;

	assert_int_equal(dp_stat_read(&f->m, s, &v), 0);
	return v;
}

static struct xipsec_sa_stats sastats(struct fx *f)
{
	struct xipsec_sa_stats s;

	assert_int_equal(dp_sa_stats_read(&f->m, SA_ID, &s), 0);
	return s;
}

static void xdp_expect(struct fx *f, const struct pkt *p, uint32_t want)
{
	uint32_t ret;

	assert_int_equal(dp_run_xdp(f->xdp_fd, p, &ret), 0);
	assert_int_equal(ret, want);
}

/* IPv4 ESP with @len bytes after the IP header, padded to 60 like a NIC. */
static void esp4(struct pkt *p, uint32_t spi, size_t len)
{
	uint8_t b[64] = { 0 };
	uint32_t s = htonl(spi);

	memcpy(b, &s, 4);
	b[7] = 1; /* seq */
	pkt_eth(p, ETH_P_IP);
	pkt_ip4(p, "192.0.2.2", "192.0.2.1", 50, 0, 0, len);
	pkt_put(p, b, len);
	pkt_pad60(p);
}

/* IPv4 UDP to @dport carrying @pl (@n bytes), padded to 60. */
static void udp4_payload(struct pkt *p, uint16_t dport, const void *pl, size_t n)
{
	uint8_t h[8] = { 0x11, 0x94 }; /* sport 4500 */

	h[2] = dport >> 8;
	h[3] = dport & 0xff;
	h[4] = (8 + n) >> 8;
	h[5] = (8 + n) & 0xff;
	pkt_eth(p, ETH_P_IP);
	pkt_ip4(p, "192.0.2.2", "192.0.2.1", 17, 0, 0, 8 + n);
	pkt_put(p, h, 8);
	pkt_put(p, pl, n);
	pkt_pad60(p);
}

static void test_esp_known_spi_counted(void **state)
{
	struct fx *f = *state;
	struct xipsec_sa_stats s;
	struct pkt p;
	int i;

	esp4(&p, SA_SPI, 64);
	for (i = 0; i < 10; i++)
		xdp_expect(f, &p, XDP_PASS);
	s = sastats(f);
	assert_int_equal(s.rx_packets, 10);
	assert_int_equal(s.rx_bytes, 10 * (20 + 64));
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_ESP), 10);
}

static void test_esp_unknown_spi_switch(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	esp4(&p, 0xdead, 64);
	xdp_expect(f, &p, XDP_PASS); /* default: off */
	assert_int_equal(dp_config_update_flags(&f->m, XIPSEC_CFG_DROP_UNKNOWN_SPI, 0), 0);
	xdp_expect(f, &p, XDP_DROP);
	xdp_expect(f, &p, XDP_DROP);
	esp4(&p, SA_SPI, 64);
	xdp_expect(f, &p, XDP_PASS); /* the real tunnel keeps working */
	esp4(&p, 0xdead, 64);
	assert_int_equal(dp_config_update_flags(&f->m, 0, XIPSEC_CFG_DROP_UNKNOWN_SPI), 0);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(drops(f, XIPSEC_DROP_ESP_UNKNOWN_SPI), 2);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_ESP_UNKNOWN), 4);
	assert_int_equal(sastats(f).rx_packets, 1);
}

static void test_esp_short(void **state)
{
	struct fx *f = *state;
	struct pkt p;
	size_t n;

	/* 0..7 bytes after the IP header (frame padded to 60: length from the IP header). */
	for (n = 0; n < 8; n++) {
		esp4(&p, SA_SPI, n);
		xdp_expect(f, &p, XDP_DROP);
	}
	esp4(&p, SA_SPI, 8);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(drops(f, XIPSEC_DROP_ESP_SHORT), 8);
}

static void test_esp_ipv6(void **state)
{
	struct fx *f = *state;
	uint8_t esp[16] = { 0, 0, 0x10, 0x01, 0, 0, 0, 1 };
	struct pkt p;

	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "2001:db8::2", "2001:db8::1", 50, 16);
	pkt_put(&p, esp, 16);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(sastats(f).rx_packets, 1);
	/* behind a destination options header */
	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "2001:db8::2", "2001:db8::1", 60, 24);
	pkt_ip6_ext(&p, 50, 0);
	pkt_put(&p, esp, 16);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(sastats(f).rx_packets, 2);
	/* short */
	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "2001:db8::2", "2001:db8::1", 50, 4);
	pkt_put(&p, esp, 4);
	pkt_pad60(&p);
	xdp_expect(f, &p, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_ESP_SHORT), 1);
}

static void test_natt_marker_keepalive_esp(void **state)
{
	struct fx *f = *state;
	uint8_t ike[28] = { 0, 0, 0, 0, 1, 2, 3, 4 }; /* non-ESP marker + IKE */
	uint8_t esp[24] = { 0, 0, 0x10, 0x01, 0, 0, 0, 9 }; /* SPI 0x1001 */
	uint8_t ka = 0xff, odd = 0x01;
	struct pkt p;

	udp4_payload(&p, 4500, ike, sizeof(ike));
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_IKE), 1);

	udp4_payload(&p, 4500, &ka, 1);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_KEEPALIVE), 1);

	udp4_payload(&p, 4500, esp, sizeof(esp));
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(sastats(f).rx_packets, 1);
	assert_int_equal(sastats(f).rx_bytes, 20 + 8 + sizeof(esp));

	/* ESP-in-UDP with an unknown SPI follows the same switch */
	esp[3] = 0x02;
	assert_int_equal(dp_config_update_flags(&f->m, XIPSEC_CFG_DROP_UNKNOWN_SPI, 0), 0);
	udp4_payload(&p, 4500, esp, sizeof(esp));
	xdp_expect(f, &p, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_ESP_UNKNOWN_SPI), 1);

	/* 1 byte that is not 0xff, 2-3 bytes, 4-7 non-marker bytes, empty: short */
	udp4_payload(&p, 4500, &odd, 1);
	xdp_expect(f, &p, XDP_DROP);
	udp4_payload(&p, 4500, esp, 3);
	xdp_expect(f, &p, XDP_DROP);
	udp4_payload(&p, 4500, esp, 6);
	xdp_expect(f, &p, XDP_DROP);
	udp4_payload(&p, 4500, esp, 0);
	xdp_expect(f, &p, XDP_DROP);
	assert_int_equal(drops(f, XIPSEC_DROP_ESP_SHORT), 4);
	/* The marker alone (4 zero bytes) is IKE, not short ESP. */
	udp4_payload(&p, 4500, ike, 4);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_IKE), 2);
}

static void test_ike_and_other_pass(void **state)
{
	struct fx *f = *state;
	uint8_t ike[28] = { 1, 2, 3, 4 };
	struct pkt p;

	udp4_payload(&p, 500, ike, sizeof(ike));
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_IKE), 1);
	udp4_payload(&p, 53, ike, 1);
	xdp_expect(f, &p, XDP_PASS);
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "192.0.2.2", "192.0.2.1", 6, 0, 0, 20);
	pkt_ports(&p, 1, 22, 20);
	xdp_expect(f, &p, XDP_PASS);
	pkt_eth(&p, 0x0806);
	pkt_pad60(&p);
	xdp_expect(f, &p, XDP_PASS);
	/* IPv4 header cut short, and Ethernet followed by garbage: untouched */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "192.0.2.2", "192.0.2.1", 17, 0, 0, 8);
	p.len -= 4;
	xdp_expect(f, &p, XDP_PASS);
	pkt_eth(&p, ETH_P_IP);
	p.len += 10;
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_OTHER), 5);
	assert_int_equal(drops(f, XIPSEC_DROP_ESP_SHORT) + drops(f, XIPSEC_DROP_TRUNC_IP4), 0);
}

static void test_esp_fragments_pass(void **state)
{
	struct fx *f = *state;
	uint8_t esp[16] = { 0, 0, 0, 9 };
	struct pkt p;

	assert_int_equal(dp_config_update_flags(&f->m, XIPSEC_CFG_DROP_UNKNOWN_SPI, 0), 0);
	/* First and later fragments of ESP: reassembly first, the stack decides. */
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "192.0.2.2", "192.0.2.1", 50, 0x2000, 0, 16);
	pkt_put(&p, esp, 16);
	xdp_expect(f, &p, XDP_PASS);
	pkt_eth(&p, ETH_P_IP);
	pkt_ip4(&p, "192.0.2.2", "192.0.2.1", 50, 100, 0, 16);
	pkt_put(&p, esp, 16);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(stat(f, XIPSEC_STAT_OUTER_OTHER), 2);
}

static void test_vlan_esp(void **state)
{
	struct fx *f = *state;
	uint8_t esp[16] = { 0, 0, 0x10, 0x01 };
	struct pkt p;

	pkt_vlan(&p, 0x8100, ETH_P_IP);
	pkt_ip4(&p, "192.0.2.2", "192.0.2.1", 50, 0, 0, 16);
	pkt_put(&p, esp, 16);
	xdp_expect(f, &p, XDP_PASS);
	assert_int_equal(sastats(f).rx_packets, 1);
}

/* --- inbound inner check --------------------------------------------------------- */

static void tc_expect(struct fx *f, const struct pkt *p, uint32_t want)
{
	uint32_t ret;

	assert_int_equal(dp_run_tc(f->tc_fd, p, &ret, NULL), 0);
	assert_int_equal(ret, want);
}

static void inner4(struct pkt *p, const char *s, const char *d)
{
	pkt_eth(p, ETH_P_IP);
	pkt_ip4(p, s, d, 17, 0, 0, 8);
	pkt_ports(p, 1, 2, 8);
}

static void test_inbound_no_secpath_passes(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	inner4(&p, "172.16.0.1", "10.1.0.5"); /* outside: would fail the check */
	tc_expect(f, &p, TC_OK);
	assert_int_equal(stat(f, XIPSEC_STAT_INBOUND_NO_SECPATH), 1);
	assert_int_equal(drops(f, XIPSEC_DROP_INNER_SELECTOR), 0);
}

static void test_inbound_selectors(void **state)
{
	struct fx *f = *state;
	struct xipsec_sa_stats s;
	struct pkt p;

	inner4(&p, "10.2.0.9", "10.1.0.5");
	tc_expect(f, &p, TC_OK);
	inner4(&p, "10.2.1.9", "10.1.0.5"); /* spoofed source */
	tc_expect(f, &p, TC_SHOT);
	inner4(&p, "10.2.0.9", "10.1.1.5"); /* destination outside */
	tc_expect(f, &p, TC_SHOT);
	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "fd00:2::9", "fd00:1::5", 17, 8);
	pkt_ports(&p, 1, 2, 8);
	tc_expect(f, &p, TC_OK);
	pkt_eth(&p, ETH_P_IPV6);
	pkt_ip6(&p, "fd00:2:0:1::9", "fd00:1::5", 17, 8);
	pkt_ports(&p, 1, 2, 8);
	tc_expect(f, &p, TC_SHOT);
	/* A v4 packet never matches the v6 selector that has the same bits. */
	s = sastats(f);
	assert_int_equal(s.rx_inner_packets, 2);
	assert_int_equal(s.drop_selector, 3);
	assert_int_equal(drops(f, XIPSEC_DROP_INNER_SELECTOR), 3);
	assert_int_equal(stat(f, XIPSEC_STAT_INBOUND_CHECKED), 2);
}

static void test_inbound_unknown_sa_passes(void **state)
{
	struct fx *f = *state;
	struct pkt p;

	assert_int_equal(dp_sa_del(&f->m, SA_ID), 0);
	inner4(&p, "172.16.0.1", "10.1.0.5");
	tc_expect(f, &p, TC_OK);
	assert_int_equal(stat(f, XIPSEC_STAT_INBOUND_UNKNOWN_SA), 1);
}

#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, setup_fake_secpath, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_esp_known_spi_counted),
		T(test_esp_unknown_spi_switch),
		T(test_esp_short),
		T(test_esp_ipv6),
		T(test_natt_marker_keepalive_esp),
		T(test_ike_and_other_pass),
		T(test_esp_fragments_pass),
		T(test_vlan_esp),
		T(test_inbound_no_secpath_passes),
		TS(test_inbound_selectors),
		TS(test_inbound_unknown_sa_passes),
	};

	dp_require_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
