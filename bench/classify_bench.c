// SPDX-License-Identifier: GPL-2.0-only
/*
 * Classifier benchmark (not part of `make test`).
 *
 *   bench/classify_bench [--rules 10,1000,10000,100000] [--repeat N] [--passes N]
 *                        [--cpu N] [--dst-plen L] [--xfrm N] [--xfrm-cap SECONDS]
 *
 * For each rule count: random rules (random IPv4 source and destination
 * prefixes /16../32, or destinations all /L with --dst-plen; TCP or UDP,
 * random port ranges), installed with spd_install (timed) into an object of
 * its own, then xipsec_inner_tc and xipsec_inner_xdp run over a set of 64
 * packets (each inside a random rule) with BPF_PROG_TEST_RUN repeat (default
 * 5000); the kernel's average ns per run is the cost of one pass. All sizes
 * are loaded at once and measured in interleaved passes (default 31), so the
 * ratio to the first rule count is taken within each pass; printed are the
 * median, quartiles and range over the passes. --cpu N pins the process
 * (and so the test runs) to CPU N.
 * --xfrm N installs the same selectors (first N rules) as kernel xfrm
 * policies with `ip -force -batch` in a scratch network namespace and prints
 * the time, capped at --xfrm-cap seconds (default 300).
 * Needs root. Maps are not pinned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "spd.h"
#include "xipsec_inner.skel.h"

#define NPKT 64
#define NBKT 16

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fixed_plen; /* --dst-plen: every destination prefix this long */

static void rand_rule(struct spd_rule *r)
{
	uint16_t a, b;

	memset(r, 0, sizeof(*r));
	r->family = XIPSEC_AF_INET;
	r->src_plen = 16 + rnd() % 17;
	r->dst_plen = fixed_plen ? (uint8_t)fixed_plen : 16 + rnd() % 17;
	r->src[0] = htonl(rnd() & (~0u << (32 - r->src_plen)));
	r->dst[0] = htonl(rnd() & (~0u << (32 - r->dst_plen)));
	r->proto = rnd() % 2 ? 6 : 17;
	r->sport_hi = 65535;
	a = rnd();
	b = rnd();
	r->dport_lo = a < b ? a : b;
	r->dport_hi = a < b ? b : a;
	r->priority = rnd() % 1000;
	r->bucket = rnd() % NBKT;
}

/* A packet inside rule @r (it or a higher-priority rule matches). */
static size_t make_pkt(uint8_t *buf, const struct spd_rule *r)
{
	uint8_t *ip = buf + 14, *l4 = ip + 20;
	uint32_t s = ntohl(r->src[0]) | (r->src_plen < 32 ? rnd() >> r->src_plen : 0);
	uint32_t d = ntohl(r->dst[0]) | (r->dst_plen < 32 ? rnd() >> r->dst_plen : 0);
	uint16_t dp = r->dport_lo + rnd() % ((uint32_t)r->dport_hi - r->dport_lo + 1);

	memset(buf, 0, 14 + 20 + 20);
	buf[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 40;
	ip[8] = 64;
	ip[9] = r->proto;
	s = htonl(s);
	d = htonl(d);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	l4[0] = 0x30;
	l4[1] = 0x39;
	l4[2] = dp >> 8;
	l4[3] = dp & 0xff;
	return 14 + 20 + 20;
}

/* Mean ns per run of packet @pkt, run @repeat times in the kernel. */
static double run_one(int fd, bool tc, const uint8_t *pkt, size_t len, int repeat)
{
	struct __sk_buff ctx = { 0 };
	uint8_t out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (tc) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "test_run: %s\n", strerror(errno));
		return -1;
	}
	return o.duration;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile @q (0..1) of @n values, by linear interpolation; sorts @v. */
static double quantile(double *v, int n, double q)
{
	double pos, frac;
	int i;

	qsort(v, n, sizeof(*v), cmp_double);
	pos = q * (n - 1);
	i = (int)pos;
	frac = pos - i;
	return i + 1 < n ? v[i] + frac * (v[i + 1] - v[i]) : v[i];
}

static int xfrm_policies(const struct spd_rule *r, size_t n, int cap)
{
	char path[] = "/tmp/xipsec-bench-XXXXXX";
	char cmd[512], s[32], d[32];
	double t0, t1;
	FILE *f;
	size_t i;
	int fd, rc;

	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		return -errno;
	for (i = 0; i < n; i++) {
		inet_ntop(AF_INET, r[i].src, s, sizeof(s));
		inet_ntop(AF_INET, r[i].dst, d, sizeof(d));
		fprintf(f,
			"xfrm policy add src %s/%u dst %s/%u proto %s dport %u dir out priority %u "
			"tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode tunnel\n",
			s, r[i].src_plen, d, r[i].dst_plen, r[i].proto == 6 ? "tcp" : "udp",
			r[i].dport_lo, r[i].priority);
	}
	fclose(f);
	snprintf(
		cmd, sizeof(cmd),
		"ip netns add xipsec-bench && timeout %d ip -n xipsec-bench -force -batch %s "
		">/dev/null 2>&1; rc=$?; "
		"echo \"  kernel policies installed: $(ip -n xipsec-bench xfrm policy count | grep -o 'OUT [0-9]*' "
		"| head -1)\"; ip netns del xipsec-bench; exit $rc",
		cap, path);
	t0 = now_s();
	rc = system(cmd);
	t1 = now_s();
	unlink(path);
	printf("xfrm policies (ip -force -batch, %zu selectors): %.2f s%s\n", n, t1 - t0,
	       WIFEXITED(rc) && WEXITSTATUS(rc) == 124 ? " (hit the cap: did not finish)" : "");
	return 0;
}

/* One rule-set size: its own object and maps, loaded side by side with the others. */
struct bench_size {
	size_t nrules;
	struct xipsec_inner_bpf *skel;
	uint8_t pkts[NPKT][64];
	size_t lens[NPKT];
	double install_s;
	size_t nleaves, ncands;
	double *ns[2]; /* [TC, XDP][pass] */
};

static int size_setup(struct bench_size *z, struct spd_rule *rules, struct spd_bucket *b)
{
	struct spd_set set = { .rules = rules, .nrules = z->nrules, .buckets = b, .nbuckets = NBKT };
	struct spd_compiled cc;
	struct spd_error e;
	struct bpf_map *map;
	struct spd_maps m;
	double t0;
	size_t i;

	z->skel = xipsec_inner_bpf__open();
	if (!z->skel)
		return -1;
	bpf_object__for_each_map(map, z->skel->obj) bpf_map__set_pin_path(map, NULL);
	if (xipsec_inner_bpf__load(z->skel)) {
		fprintf(stderr, "load failed\n");
		return -1;
	}
	m = (struct spd_maps){
		.config_fd = bpf_map__fd(z->skel->maps.xipsec_config),
		.pfx_fd = bpf_map__fd(z->skel->maps.xipsec_spd_pfx),
		.lens_fd = bpf_map__fd(z->skel->maps.xipsec_spd_lens),
		.blk4_fd = bpf_map__fd(z->skel->maps.xipsec_spd_blk4),
		.cand_fd = bpf_map__fd(z->skel->maps.xipsec_spd_cand),
		.rule_fd = bpf_map__fd(z->skel->maps.xipsec_spd_rule),
		.bucket_fd = bpf_map__fd(z->skel->maps.xipsec_bucket),
		.bkt_stat_fd = bpf_map__fd(z->skel->maps.xipsec_bkt_stat),
	};
	/* Same seed for every size: the 10-rule set is the start of the 100k one. */
	rng_state = 0x9e3779b97f4a7c15ull;
	for (i = 0; i < z->nrules; i++)
		rand_rule(&rules[i]);
	if (spd_compile(&set, 0, &cc, &e)) {
		fprintf(stderr, "compile: %s\n", e.msg);
		return -1;
	}
	z->nleaves = cc.nleaves;
	z->ncands = cc.ncands;
	spd_compiled_free(&cc);
	t0 = now_s();
	if (spd_install(&m, &set, &e)) {
		fprintf(stderr, "install: %s\n", e.msg);
		return -1;
	}
	z->install_s = now_s() - t0;
	for (i = 0; i < NPKT; i++)
		z->lens[i] = make_pkt(z->pkts[i], &rules[rnd() % z->nrules]);
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--rules N,N,..] [--repeat N] [--passes N] [--cpu N] [--dst-plen L]\n"
		"       [--xfrm N] [--xfrm-cap S]\n",
		argv0);
}

int main(int argc, char **argv)
{
	size_t counts[8] = { 10, 1000, 10000, 100000 }, ncounts = 4, maxn = 0, i, j, c;
	int repeat = 5000, passes = 31, cpu = -1, xfrm_n = 0, xfrm_cap = 300, p, k, a;
	static const char *const prog_name[2] = { "TC", "XDP" };
	struct bench_size *sz;
	struct spd_bucket b[NBKT];
	struct spd_rule *rules;
	double *tmp;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--rules") && a + 1 < argc) {
			char *tok, *save = NULL;

			ncounts = 0;
			for (tok = strtok_r(argv[++a], ",", &save); tok && ncounts < 8;
			     tok = strtok_r(NULL, ",", &save))
				counts[ncounts++] = strtoul(tok, NULL, 10);
		} else if (!strcmp(argv[a], "--repeat") && a + 1 < argc) {
			repeat = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--dst-plen") && a + 1 < argc) {
			fixed_plen = atoi(argv[++a]);
			if (fixed_plen < 1 || fixed_plen > 32)
				return 2;
		} else if ((!strcmp(argv[a], "--passes") || !strcmp(argv[a], "--rounds")) &&
			   a + 1 < argc) {
			passes = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--cpu") && a + 1 < argc) {
			cpu = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--xfrm") && a + 1 < argc) {
			xfrm_n = atoi(argv[++a]);
		} else if (!strcmp(argv[a], "--xfrm-cap") && a + 1 < argc) {
			xfrm_cap = atoi(argv[++a]);
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (!ncounts || passes < 1 || repeat < 1) {
		usage(argv[0]);
		return 2;
	}
	for (c = 0; c < ncounts; c++) {
		if (!counts[c]) {
			usage(argv[0]);
			return 2;
		}
		if (counts[c] > maxn)
			maxn = counts[c];
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		/* BPF_PROG_TEST_RUN runs on the caller's CPU */
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "cpu %d: %s\n", cpu, strerror(errno));
			return 1;
		}
	}
	if ((size_t)xfrm_n > maxn)
		maxn = xfrm_n;
	rules = calloc(maxn, sizeof(*rules));
	sz = calloc(ncounts, sizeof(*sz));
	tmp = calloc(passes, sizeof(*tmp));
	if (!rules || !sz || !tmp)
		return 1;
	for (i = 0; i < NBKT; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].action = i % 2 ? SPD_ACT_BYPASS : SPD_ACT_PROTECT;
		b[i].sa_id = i;
		snprintf(b[i].name, sizeof(b[i].name), "b%zu", i);
	}

	for (c = 0; c < ncounts; c++) {
		sz[c].nrules = counts[c];
		sz[c].ns[0] = calloc(passes, sizeof(double));
		sz[c].ns[1] = calloc(passes, sizeof(double));
		if (!sz[c].ns[0] || !sz[c].ns[1] || size_setup(&sz[c], rules, b))
			return 1;
	}

	/*
	 * Interleaved passes: within a pass, packet i of every size (and both
	 * programs) runs before packet i + 1 of any, so a burst of load from
	 * the rest of the machine hits all sizes alike, and each size's ratio
	 * is taken within one pass. Pass -1 warms caches and is not recorded.
	 */
	for (p = -1; p < passes; p++) {
		for (j = 0; j < NPKT; j++) {
			for (i = 0; i < ncounts; i++) {
				struct bench_size *z = &sz[(i + j + (p < 0 ? 0 : p)) % ncounts];

				for (k = 0; k < 2; k++) {
					int fd = bpf_program__fd(k ? z->skel->progs.xipsec_inner_xdp
								   : z->skel->progs.xipsec_inner_tc);
					double ns = run_one(fd, !k, z->pkts[j], z->lens[j], repeat);

					if (ns < 0)
						return 1;
					if (p >= 0)
						z->ns[k][p] += ns / NPKT;
				}
			}
		}
	}

	printf("%d interleaved passes, repeat %d x %d packets%s; ns/pkt and ratio to %zu rules"
	       " (same pass): median [quartiles] (min-max); ratio of the median ns\n",
	       passes, repeat, NPKT, cpu >= 0 ? ", pinned" : "", counts[0]);
	for (c = 0; c < ncounts; c++) {
		printf("%-7zu rules: install %.3f s, %zu leaves, %zu candidates\n", sz[c].nrules,
		       sz[c].install_s, sz[c].nleaves, sz[c].ncands);
		for (k = 0; k < 2; k++) {
			double med_ns, med_r, q1, q3, lo, hi, base;

			memcpy(tmp, sz[c].ns[k], passes * sizeof(double));
			med_ns = quantile(tmp, passes, 0.5);
			memcpy(tmp, sz[0].ns[k], passes * sizeof(double));
			base = quantile(tmp, passes, 0.5);
			for (p = 0; p < passes; p++)
				tmp[p] = sz[c].ns[k][p] / sz[0].ns[k][p];
			med_r = quantile(tmp, passes, 0.5);
			q1 = quantile(tmp, passes, 0.25);
			q3 = quantile(tmp, passes, 0.75);
			lo = tmp[0];
			hi = tmp[passes - 1];
			printf("  %-3s %7.1f ns/pkt  ratio %.2f [%.2f, %.2f] (%.2f-%.2f); %.2f\n",
			       prog_name[k], med_ns, med_r, q1, q3, lo, hi, med_ns / base);
		}
	}
	fflush(stdout);
	for (c = 0; c < ncounts; c++) {
		xipsec_inner_bpf__destroy(sz[c].skel);
		free(sz[c].ns[0]);
		free(sz[c].ns[1]);
	}
	if (xfrm_n) {
		rng_state = 0x9e3779b97f4a7c15ull;
		for (i = 0; i < (size_t)xfrm_n; i++)
			rand_rule(&rules[i]);
		xfrm_policies(rules, xfrm_n, xfrm_cap);
	}
	free(tmp);
	free(sz);
	free(rules);
	return 0;
}
