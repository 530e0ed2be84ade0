/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SPD rule compiler and map writer.
 *
 * A rule set (rules + buckets) is validated and compiled in memory
 * (spd_compile: pure, no root, unit-tested), then written into the inactive
 * generation of the double-buffered SPD maps and committed by flipping
 * xipsec_config.active_gen (spd_install). A rule set that fails validation
 * or a failed write changes nothing the programs read.
 *
 *   struct spd_set set = { .rules = r, .nrules = n, .buckets = b, .nbuckets = nb };
 *   struct spd_maps maps;
 *   struct spd_error e;
 *   err = spd_maps_open_pinned(&maps, XIPSEC_PIN_DIR);
 *   err = err ?: spd_install(&maps, &set, &e);
 *   if (err) print e.rule (index into set.rules, -1 if none) and e.msg
 *   spd_maps_close(&maps);
 */
#ifndef XIPSEC_LIB_SPD_H
#define XIPSEC_LIB_SPD_H

#include <stddef.h>
#include <stdint.h>

#include "xipsec/dataplane.h"
#include "xipsec/spd.h"

/* Bucket ids are indexes into buckets[]: rule.bucket < nbuckets. */
struct spd_set {
	struct spd_rule *rules;
	size_t nrules;
	struct spd_bucket *buckets;
	size_t nbuckets;
};

struct spd_error {
	int rule; /* index of the offending rule, -1 if none */
	int bucket; /* index of the offending bucket, -1 if none */
	char msg[200];
};

/* One xipsec_spd_pfx entry: a destination prefix (leaf) or a marker. */
struct spd_pfx_entry {
	struct spd_pfx_key key;
	struct spd_leaf leaf;
};

/* Output of spd_compile for one generation; candidate offsets start at 0. */
struct spd_compiled {
	struct spd_pfx_entry *entries; /* leaves first, then markers */
	size_t nentries;
	size_t nleaves; /* distinct destination prefixes */
	struct spd_cand *cands;
	size_t ncands;
	struct spd_lens lens[2]; /* [0] IPv4, [1] IPv6 */
	struct spd_blk4 *blk4; /* SPD_BLK4_N IPv4 /16 blocks, always allocated */
};

/* File descriptors of the maps spd_install touches (-1 when not open). */
struct spd_maps {
	int config_fd;
	int pfx_fd;
	int lens_fd;
	int blk4_fd;
	int cand_fd;
	int rule_fd;
	int bucket_fd;
	int bkt_stat_fd; /* only for spd_bucket_stats_read */
};

/* Helpers to fill rules: "10.0.0.0/8", "2001:db8::/32"; 0 or -EINVAL. */
int spd_parse_prefix(const char *s, uint8_t *family, __be32 addr[4], uint8_t *plen);
/* Format a rule's prefix ("10.0.0.0/8") into buf. */
void spd_format_prefix(uint8_t family, const __be32 addr[4], uint8_t plen, char *buf, size_t len);

/* Validate without compiling: 0 or -EINVAL/-E2BIG with err filled. */
int spd_validate(const struct spd_set *set, struct spd_error *err);
/* Validate and compile for generation @gen; 0 or -errno with err filled. */
int spd_compile(const struct spd_set *set, uint8_t gen, struct spd_compiled *out,
		struct spd_error *err);
void spd_compiled_free(struct spd_compiled *c);

/* Open the pinned maps under @pin_dir (normally XIPSEC_PIN_DIR). */
int spd_maps_open_pinned(struct spd_maps *m, const char *pin_dir);
void spd_maps_close(struct spd_maps *m);

/*
 * Compile @set, write it into the inactive generation, then flip active_gen.
 * Entries of the inactive generation left from two commits ago are removed
 * first. 0 or -errno (err->msg says why); on error the active generation is
 * untouched.
 */
int spd_install(const struct spd_maps *m, const struct spd_set *set, struct spd_error *err);

/* Read the active rule set back (for list/add/del); free with spd_set_free. */
int spd_read_active(const struct spd_maps *m, struct spd_set *out);
void spd_set_free(struct spd_set *s);

/* Sum the per-CPU counters of bucket @id. */
int spd_bucket_stats_read(const struct spd_maps *m, uint32_t id, struct spd_bucket_stats *out);

#endif
