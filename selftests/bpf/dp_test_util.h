/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the dataplane BPF tests: skeleton loading without pinning,
 * packet builders, BPF_PROG_TEST_RUN wrappers, per-CPU counter sums.
 * Header-only (static functions) so each test binary stays one file.
 */
#ifndef XIPSEC_DP_TEST_UTIL_H
#define XIPSEC_DP_TEST_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xipsec/dataplane.h"
#include "xipsec/events.h"
#include "xipsec/sa.h"
#include "xipsec/spd.h"

#define DP_SKIP_RC 4

/* Tests run side by side with other tests: never pin into the shared bpffs. */
static inline void dp_unpin_all(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) bpf_map__set_pin_path(map, NULL);
}

static inline __attribute__((format(printf, 2, 0))) int
dp_quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN || getenv("DP_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* Exit with the skip code when not root (BPF_PROG_TEST_RUN needs CAP_BPF+). */
static inline void dp_require_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root\n");
		exit(DP_SKIP_RC);
	}
	libbpf_set_print(dp_quiet_print);
}

/* --- packet building ------------------------------------------------------ */

struct pkt {
	uint8_t buf[2048];
	size_t len;
};

static inline void pkt_put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->buf + p->len, d, n);
	p->len += n;
}

static inline void pkt_eth(struct pkt *p, uint16_t proto)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint16_t pr = htons(proto);

	p->len = 0;
	pkt_put(p, macs, 12);
	pkt_put(p, &pr, 2);
}

static inline void pkt_vlan(struct pkt *p, uint16_t tpid, uint16_t inner)
{
	uint16_t tci = htons(100), in = htons(inner);

	pkt_eth(p, tpid);
	pkt_put(p, &tci, 2);
	pkt_put(p, &in, 2);
}

static inline uint16_t ip_csum(const void *d, size_t n)
{
	const uint8_t *b = d;
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (b[i] << 8) | b[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s & 0xffff);
}

/* IPv4 header with @optlen bytes of options (NOPs); @l4len bytes follow. */
static inline void pkt_ip4(struct pkt *p, const char *src, const char *dst, uint8_t proto,
			   uint16_t frag_off, size_t optlen, size_t l4len)
{
	uint8_t h[60] = { 0 };
	size_t hl = 20 + optlen;

	h[0] = 0x40 | (hl / 4);
	h[2] = (hl + l4len) >> 8;
	h[3] = (hl + l4len) & 0xff;
	h[6] = frag_off >> 8;
	h[7] = frag_off & 0xff;
	h[8] = 64;
	h[9] = proto;
	inet_pton(AF_INET, src, h + 12);
	inet_pton(AF_INET, dst, h + 16);
	memset(h + 20, 1, optlen);
	*(uint16_t *)(h + 10) = ip_csum(h, hl);
	pkt_put(p, h, hl);
}

static inline void pkt_ip6(struct pkt *p, const char *src, const char *dst, uint8_t nexthdr,
			   size_t paylen)
{
	uint8_t h[40] = { 0x60 };

	h[4] = paylen >> 8;
	h[5] = paylen & 0xff;
	h[6] = nexthdr;
	h[7] = 64;
	inet_pton(AF_INET6, src, h + 8);
	inet_pton(AF_INET6, dst, h + 24);
	pkt_put(p, h, 40);
}

/* IPv6 extension header of 8 * (hdrlen + 1) bytes. */
static inline void pkt_ip6_ext(struct pkt *p, uint8_t nexthdr, uint8_t hdrlen)
{
	uint8_t h[16] = { 0 };
	size_t n = 8 * ((size_t)hdrlen + 1);
	size_t i;

	h[0] = nexthdr;
	h[1] = hdrlen;
	h[2] = 1; /* PadN */
	h[3] = n - 4;
	pkt_put(p, h, 8);
	for (i = 8; i < n; i++)
		pkt_put(p, "\0", 1);
}

static inline void pkt_ip6_frag(struct pkt *p, uint8_t nexthdr, uint16_t offset8, bool more)
{
	uint8_t h[8] = { nexthdr, 0 };
	uint16_t fo = htons((uint16_t)(offset8 << 3) | (more ? 1 : 0));

	memcpy(h + 2, &fo, 2);
	h[7] = 42;
	pkt_put(p, h, 8);
}

static inline void pkt_ports(struct pkt *p, uint16_t sport, uint16_t dport, size_t total)
{
	uint8_t h[64] = { 0 };
	uint16_t s = htons(sport), d = htons(dport);

	memcpy(h, &s, 2);
	memcpy(h + 2, &d, 2);
	if (total >= 6) {
		/* UDP length in case this is UDP; TCP ignores the bytes here */
		h[4] = total >> 8;
		h[5] = total & 0xff;
	}
	pkt_put(p, h, total);
}

/* Pad to the Ethernet minimum (60 bytes), as a NIC would. */
static inline void pkt_pad60(struct pkt *p)
{
	while (p->len < 60)
		pkt_put(p, "\0", 1);
}

/* --- running --------------------------------------------------------------- */

static inline int dp_run_xdp(int prog_fd, const struct pkt *p, uint32_t *retval)
{
	uint8_t out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(prog_fd, &o);

	*retval = o.retval;
	return err;
}

/* TC run; *mark gets skb->mark from ctx_out. */
static inline int dp_run_tc(int prog_fd, const struct pkt *p, uint32_t *retval, uint32_t *mark)
{
	uint8_t out[4096];
	struct __sk_buff ctx_in = { .ifindex = 1 }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
	int err;

	ctx_in.ifindex = 0;
	err = bpf_prog_test_run_opts(prog_fd, &o);
	*retval = o.retval;
	if (mark)
		*mark = ctx_out.mark;
	return err;
}

/* Sum @value_size bytes of __u64 counters over all possible CPUs. */
static inline int dp_sum_percpu(int fd, uint32_t key, uint64_t *out, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t nwords = value_size / 8, i;
	uint64_t *vals;
	int c, err;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, value_size);
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, &key, vals);
	if (!err) {
		memset(out, 0, value_size);
		for (c = 0; c < ncpu; c++)
			for (i = 0; i < nwords; i++)
				out[i] += vals[(size_t)c * nwords + i];
	}
	free(vals);
	return err ? -errno : 0;
}

static inline uint64_t dp_counter(int fd, uint32_t key)
{
	uint64_t v = 0;

	if (dp_sum_percpu(fd, key, &v, sizeof(v)))
		return UINT64_MAX;
	return v;
}

#endif

/* --- SPD helpers (lib/spd.c is linked into every test) ---------------------- */
#include "spd.h"

/* A rule from text: "10.1.0.0/24" "10.2.0.0/24", proto, ports, priority, bucket. */
static inline struct spd_rule dp_rule(const char *src, const char *dst, uint8_t proto,
				      uint16_t sp_lo, uint16_t sp_hi, uint16_t dp_lo,
				      uint16_t dp_hi, uint32_t prio, uint32_t bucket)
{
	struct spd_rule r;
	uint8_t f1 = 0, f2 = 0;

	memset(&r, 0, sizeof(r));
	if (spd_parse_prefix(src, &f1, r.src, &r.src_plen) ||
	    spd_parse_prefix(dst, &f2, r.dst, &r.dst_plen) || f1 != f2) {
		fprintf(stderr, "bad test rule %s -> %s\n", src, dst);
		abort();
	}
	r.family = f1;
	r.proto = proto;
	r.sport_lo = sp_lo;
	r.sport_hi = sp_hi;
	r.dport_lo = dp_lo;
	r.dport_hi = dp_hi;
	r.priority = prio;
	r.bucket = bucket;
	return r;
}

#define DP_ANYPORTS 0, 65535, 0, 65535

static inline struct spd_bucket dp_bucket(uint8_t action, uint8_t flags, uint32_t sa_id,
					  const char *name)
{
	struct spd_bucket b;

	memset(&b, 0, sizeof(b));
	b.action = action;
	b.flags = flags;
	b.sa_id = sa_id;
	snprintf(b.name, sizeof(b.name), "%s", name);
	return b;
}
