// SPDX-License-Identifier: GPL-2.0-only
/* Shared ownership of the dataplane maps between `xipsec load` and xiked (dp_ike.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_ike.h"

bool dp_ike_bucket(const struct spd_bucket *b)
{
	return !strncmp(b->name, DP_IKE_BUCKET_PREFIX, sizeof(DP_IKE_BUCKET_PREFIX) - 1);
}

uint32_t dp_ike_instance(const char *sock_path)
{
	uint32_t h = 2166136261u;

	for (; *sock_path; sock_path++) {
		h ^= (uint8_t)*sock_path;
		h *= 16777619u;
	}
	return h;
}

int dp_ike_trap_name(char *name, size_t len, uint32_t instance, uint32_t n)
{
	int w;

	if (n >= DP_IKE_TRAP_MAX)
		return -E2BIG;
	w = snprintf(name, len, DP_IKE_TRAP_PREFIX "%08x.%x", instance, n);
	return w < 0 || (size_t)w >= len ? -E2BIG : 0;
}

bool dp_ike_trap_bucket(const struct spd_bucket *b, uint32_t instance)
{
	char pfx[sizeof(b->name)];
	int w;

	w = snprintf(pfx, sizeof(pfx), DP_IKE_TRAP_PREFIX "%08x.", instance);
	return w > 0 && (size_t)w < sizeof(pfx) && !strncmp(b->name, pfx, (size_t)w);
}

static int dp_spd_add_mine(const struct spd_set *mine, struct spd_set *out)
{
	size_t i, base = out->nbuckets;

	for (i = 0; i < mine->nrules; i++) {
		if (mine->rules[i].bucket >= mine->nbuckets)
			return -EINVAL;
		out->rules[out->nrules] = mine->rules[i];
		out->rules[out->nrules++].bucket += (uint32_t)base;
	}
	for (i = 0; i < mine->nbuckets; i++)
		out->buckets[out->nbuckets++] = mine->buckets[i];
	return 0;
}

int dp_spd_merge(const struct spd_set *active, dp_owned_fn owned, void *arg,
		 const struct spd_set *mine, bool mine_first, struct spd_set *out)
{
	size_t nr = active->nrules + mine->nrules, nb = active->nbuckets + mine->nbuckets, i;
	uint32_t *map = NULL;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->rules = calloc(nr + 1, sizeof(*out->rules));
	out->buckets = calloc(nb + 1, sizeof(*out->buckets));
	map = calloc(active->nbuckets + 1, sizeof(*map));
	if (!out->rules || !out->buckets || !map)
		goto fail;
	if (mine_first) {
		ret = dp_spd_add_mine(mine, out);
		if (ret)
			goto fail;
	}
	ret = -EINVAL;
	for (i = 0; i < active->nbuckets; i++)
		map[i] = SPD_BUCKET_NONE;
	for (i = 0; i < active->nrules; i++) {
		const struct spd_rule *r = &active->rules[i];

		if (r->bucket >= active->nbuckets)
			goto fail;
		if (owned(&active->buckets[r->bucket], arg))
			continue;
		if (map[r->bucket] == SPD_BUCKET_NONE) {
			map[r->bucket] = (uint32_t)out->nbuckets;
			out->buckets[out->nbuckets++] = active->buckets[r->bucket];
		}
		out->rules[out->nrules] = *r;
		out->rules[out->nrules++].bucket = map[r->bucket];
	}
	if (!mine_first) {
		ret = dp_spd_add_mine(mine, out);
		if (ret)
			goto fail;
	}
	free(map);
	return 0;
fail:
	free(map);
	spd_set_free(out);
	return ret;
}

int dp_spd_replace(const struct spd_maps *m, dp_owned_fn owned, void *arg,
		   const struct spd_set *mine, bool mine_first, struct spd_error *err)
{
	struct spd_set active, merged;
	int ret;

	ret = spd_read_active(m, &active);
	if (ret)
		return ret;
	ret = dp_spd_merge(&active, owned, arg, mine, mine_first, &merged);
	spd_set_free(&active);
	if (ret)
		return ret;
	ret = spd_install(m, &merged, err);
	spd_set_free(&merged);
	return ret;
}

int dp_ike_sa_alloc(const struct dp_maps *m, bool (*skip)(uint32_t id, void *arg), void *arg,
		    uint32_t *id)
{
	struct xipsec_sa rec;
	uint32_t i;
	int ret;

	for (i = DP_IKE_SA_ID_FIRST; i < XIPSEC_MAX_SA; i++) {
		if (skip && skip(i, arg))
			continue;
		ret = dp_sa_get(m, i, &rec);
		if (ret)
			return ret;
		if (!rec.flags) {
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

int dp_sa_find_spi(const struct dp_maps *m, __be32 spi, uint32_t flag, uint32_t first,
		   uint32_t *id)
{
	struct xipsec_sa rec;
	uint32_t i;
	int ret;

	for (i = first; i < XIPSEC_MAX_SA; i++) {
		ret = dp_sa_get(m, i, &rec);
		if (ret)
			return ret;
		if ((rec.flags & flag) && rec.spi == spi) {
			*id = i;
			return 0;
		}
	}
	return -ENOENT;
}
