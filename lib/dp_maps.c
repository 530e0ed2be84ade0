// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinned dataplane maps other than the SPD: SAs, SPI index, config flags,
 * counters (API: dp_maps.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp_maps.h"

static const char *const dp_drop_names[XIPSEC_DROP_MAX] = {
	[XIPSEC_DROP_NONE] = "none",
	[XIPSEC_DROP_TRUNC_IP4] = "trunc_ip4",
	[XIPSEC_DROP_TRUNC_IP6] = "trunc_ip6",
	[XIPSEC_DROP_TRUNC_IP6_EXT] = "trunc_ip6_ext",
	[XIPSEC_DROP_IP6_EXT_DEPTH] = "ip6_ext_depth",
	[XIPSEC_DROP_TRUNC_L4] = "trunc_l4",
	[XIPSEC_DROP_SPD_DISCARD] = "spd_discard",
	[XIPSEC_DROP_SPD_NO_SA] = "spd_no_sa",
	[XIPSEC_DROP_ESP_SHORT] = "esp_short",
	[XIPSEC_DROP_ESP_UNKNOWN_SPI] = "esp_unknown_spi",
	[XIPSEC_DROP_INNER_SELECTOR] = "inner_selector",
	[XIPSEC_DROP_INTERNAL] = "internal",
};

static const char *const dp_stat_names[XIPSEC_STAT_MAX] = {
	[XIPSEC_STAT_INNER_NON_IP] = "inner_non_ip",
	[XIPSEC_STAT_INNER_NO_MATCH] = "inner_no_match",
	[XIPSEC_STAT_INNER_META] = "inner_xdp_meta",
	[XIPSEC_STAT_INNER_FRAG] = "inner_fragment",
	[XIPSEC_STAT_OUTER_ESP] = "outer_esp",
	[XIPSEC_STAT_OUTER_ESP_UNKNOWN] = "outer_esp_unknown_spi",
	[XIPSEC_STAT_OUTER_IKE] = "outer_ike",
	[XIPSEC_STAT_OUTER_KEEPALIVE] = "outer_natt_keepalive",
	[XIPSEC_STAT_OUTER_OTHER] = "outer_other",
	[XIPSEC_STAT_INBOUND_CHECKED] = "inbound_checked",
	[XIPSEC_STAT_INBOUND_UNKNOWN_SA] = "inbound_unknown_sa",
	[XIPSEC_STAT_INBOUND_NO_SECPATH] = "inbound_no_secpath",
	[XIPSEC_STAT_ACQUIRE_LOST] = "acquire_lost",
};

const char *dp_drop_name(unsigned int reason)
{
	return reason < XIPSEC_DROP_MAX && dp_drop_names[reason] ? dp_drop_names[reason] : "?";
}

const char *dp_stat_name(unsigned int stat)
{
	return stat < XIPSEC_STAT_MAX && dp_stat_names[stat] ? dp_stat_names[stat] : "?";
}

static int dp_obj_get(const char *dir, const char *name)
{
	char path[512];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int dp_pins_open(const char *dir, const struct dp_pin *pins, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		*pins[i].fd = -1;
	for (i = 0; i < n; i++) {
		int fd = dp_obj_get(dir, pins[i].name);

		if (fd < 0) {
			while (i-- > 0) {
				close(*pins[i].fd);
				*pins[i].fd = -1;
			}
			return fd;
		}
		*pins[i].fd = fd;
	}
	return 0;
}

int dp_maps_open_pinned(struct dp_maps *m, const char *pin_dir)
{
	const struct dp_pin t[] = {
		{ &m->config_fd, XIPSEC_MAP_CONFIG }, { &m->sa_fd, XIPSEC_MAP_SA },
		{ &m->spi_fd, XIPSEC_MAP_SPI },	      { &m->sa_stat_fd, XIPSEC_MAP_SA_STAT },
		{ &m->drops_fd, XIPSEC_MAP_DROPS },   { &m->stats_fd, XIPSEC_MAP_STATS },
	};

	return dp_pins_open(pin_dir, t, sizeof(t) / sizeof(t[0]));
}

void dp_maps_close(struct dp_maps *m)
{
	int *fds[] = { &m->config_fd,  &m->sa_fd,    &m->spi_fd,
		       &m->sa_stat_fd, &m->drops_fd, &m->stats_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int dp_sa_get(const struct dp_maps *m, uint32_t id, struct xipsec_sa *sa)
{
	if (id >= XIPSEC_MAX_SA)
		return -EINVAL;
	return bpf_map_lookup_elem(m->sa_fd, &id, sa) ? -errno : 0;
}

int dp_sa_set(const struct dp_maps *m, uint32_t id, const struct xipsec_sa *sa)
{
	struct xipsec_spi_key key = { .spi = sa->spi };
	struct xipsec_sa old;

	if (id >= XIPSEC_MAX_SA || sa->nsel > XIPSEC_SA_MAX_SEL)
		return -EINVAL;
	/* A record that changes SPI must not leave the old index entry behind. */
	if (!dp_sa_get(m, id, &old) && (old.flags & XIPSEC_SA_F_INBOUND) && old.spi != sa->spi) {
		struct xipsec_spi_key ok = { .spi = old.spi };

		bpf_map_delete_elem(m->spi_fd, &ok);
	}
	/* Record first, index second: the index never points at a stale record. */
	if (bpf_map_update_elem(m->sa_fd, &id, sa, BPF_ANY))
		return -errno;
	if ((sa->flags & XIPSEC_SA_F_INBOUND) && bpf_map_update_elem(m->spi_fd, &key, &id, BPF_ANY))
		return -errno;
	return 0;
}

int dp_sa_del(const struct dp_maps *m, uint32_t id)
{
	struct xipsec_sa sa, zero = { 0 };
	int ret;

	ret = dp_sa_get(m, id, &sa);
	if (ret)
		return ret;
	if (sa.flags & XIPSEC_SA_F_INBOUND) {
		struct xipsec_spi_key key = { .spi = sa.spi };

		if (bpf_map_delete_elem(m->spi_fd, &key) && errno != ENOENT)
			return -errno;
	}
	return bpf_map_update_elem(m->sa_fd, &id, &zero, BPF_ANY) ? -errno : 0;
}

int dp_config_get(const struct dp_maps *m, struct xipsec_config *cfg)
{
	uint32_t zero = 0;

	return bpf_map_lookup_elem(m->config_fd, &zero, cfg) ? -errno : 0;
}

int dp_config_update_flags(const struct dp_maps *m, uint32_t set, uint32_t clear)
{
	struct xipsec_config cfg;
	uint32_t zero = 0;
	int ret;

	ret = dp_config_get(m, &cfg);
	if (ret)
		return ret;
	cfg.flags = (cfg.flags & ~clear) | set;
	return bpf_map_update_elem(m->config_fd, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

int dp_percpu_sum(int fd, uint32_t key, void *out, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t nwords = value_size / 8, i;
	uint64_t *vals, *o = out;
	int c, ret = 0;

	if (ncpu <= 0 || value_size % 8)
		return -EINVAL;
	vals = calloc((size_t)ncpu, value_size);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		ret = -errno;
		goto out;
	}
	memset(out, 0, value_size);
	for (c = 0; c < ncpu; c++)
		for (i = 0; i < nwords; i++)
			o[i] += vals[(size_t)c * nwords + i];
out:
	free(vals);
	return ret;
}

int dp_sa_stats_read(const struct dp_maps *m, uint32_t id, struct xipsec_sa_stats *out)
{
	return dp_percpu_sum(m->sa_stat_fd, id, out, sizeof(*out));
}

int dp_sa_stats_clear(const struct dp_maps *m, uint32_t id)
{
	int ncpu = libbpf_num_possible_cpus(), ret = 0;
	void *zero;

	if (ncpu <= 0 || id >= XIPSEC_MAX_SA)
		return -EINVAL;
	zero = calloc((size_t)ncpu, sizeof(struct xipsec_sa_stats));
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(m->sa_stat_fd, &id, zero, BPF_ANY))
		ret = -errno;
	free(zero);
	return ret;
}

int dp_drop_read(const struct dp_maps *m, enum xipsec_drop reason, uint64_t *out)
{
	return dp_percpu_sum(m->drops_fd, reason, out, sizeof(*out));
}

int dp_stat_read(const struct dp_maps *m, enum xipsec_stat stat, uint64_t *out)
{
	return dp_percpu_sum(m->stats_fd, stat, out, sizeof(*out));
}

void dp_prefix_from_plen(struct xipsec_prefix *p, uint8_t family, const __be32 addr[4],
			 uint8_t plen)
{
	int i, bits;

	memset(p, 0, sizeof(*p));
	if (family == XIPSEC_AF_INET && plen > 32)
		plen = 32;
	for (i = 0; i < 4; i++) {
		bits = (int)plen - 32 * i;
		if (bits >= 32)
			p->mask[i] = 0xffffffffu;
		else if (bits > 0)
			p->mask[i] = htonl(~0u << (32 - bits));
		p->net[i] = addr[i] & p->mask[i];
	}
}
