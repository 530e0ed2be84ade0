/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dataplane maps shared by two writers: `xipsec load` (static rules and
 * SAs) and xiked (rules and SA records of the child SAs it negotiates).
 *
 *   xipsec_sa ids   1 .. 1024 (STATIC_CONF_MAX_SA)       static, by position
 *                   DP_IKE_SA_ID_FIRST .. XIPSEC_MAX_SA-1 xiked, first free
 *   marks           id << 16 under 0xffff0000: the ranges never meet
 *   buckets         named DP_IKE_BUCKET_PREFIX "<spi>" belong to xiked,
 *                   all others to `load`; among xiked's, trap buckets
 *                   DP_IKE_TRAP_PREFIX "<instance>.<n>" (below)
 *
 * Each writer replaces only its own part of the rule set: dp_spd_replace()
 * reads the active generation, keeps the rules of buckets it does not own,
 * appends its own and installs the result (one generation flip).
 */
#ifndef XIPSEC_LIB_DP_IKE_H
#define XIPSEC_LIB_DP_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_maps.h"
#include "spd.h"

#define DP_IKE_SA_ID_FIRST    4096u
#define DP_IKE_MARK_MASK      0xffff0000u
#define DP_IKE_BUCKET_PREFIX  "xiked:"
/* Static rules (priority 1000 unless set) win over negotiated ones. */
#define DP_IKE_RULE_PRIORITY  2000u

/* Does @b belong to xiked (its name has DP_IKE_BUCKET_PREFIX)? */
bool dp_ike_bucket(const struct spd_bucket *b);

/*
 * Trap buckets (start_action = trap, iked/acquire.h): PROTECT buckets that
 * name SA record DP_IKE_TRAP_SA_ID, which neither writer ever fills, so a
 * matching packet is dropped and reported on the xipsec_events ring buffer.
 * A child SA's own bucket wins over them by priority. Named
 * DP_IKE_TRAP_PREFIX "<instance>.<n>": the instance is dp_ike_instance() of
 * the xiked's control socket path (8 hex digits), so a restarted xiked finds
 * (and removes) its own leftovers and leaves another instance's alone; <n>
 * is the trap's position in xiked's trap table. "xiked:t..." never clashes
 * with a child's "xiked:<8 hex digits>" ('t' is no hex digit).
 */
#define DP_IKE_TRAP_PREFIX   DP_IKE_BUCKET_PREFIX "t"
#define DP_IKE_TRAP_PRIORITY (DP_IKE_RULE_PRIORITY + 100u)
#define DP_IKE_TRAP_SA_ID    0u
#define DP_IKE_TRAP_MAX	     65536u /* <n> in 4 hex digits: the name fits */

/* FNV-1a of @sock_path: the <instance> of trap bucket names. */
uint32_t dp_ike_instance(const char *sock_path);
/* The name of trap @n of @instance into @name (sizeof(struct spd_bucket.name));
 * -E2BIG if @n >= DP_IKE_TRAP_MAX. */
int dp_ike_trap_name(char *name, size_t len, uint32_t instance, uint32_t n);
/* Is @b a trap bucket of @instance? */
bool dp_ike_trap_bucket(const struct spd_bucket *b, uint32_t instance);

/* Says whether a bucket of the active rule set is the caller's. */
typedef bool (*dp_owned_fn)(const struct spd_bucket *b, void *arg);

/*
 * Pure: into @out (free with spd_set_free) the rules of @active whose bucket
 * @owned() does not claim, their buckets renumbered in order, and all of
 * @mine (its bucket ids shifted). @mine_first puts @mine's rules and buckets
 * first, unchanged, so an spd_error's rule index is the caller's; either
 * way the static part should come first (`load`: true, xiked: false), since
 * bucket counters are kept per bucket id and static ids then stay put.
 * Unused buckets of @active are dropped. 0, -EINVAL (a rule names a bucket
 * that does not exist) or -ENOMEM.
 */
int dp_spd_merge(const struct spd_set *active, dp_owned_fn owned, void *arg,
		 const struct spd_set *mine, bool mine_first, struct spd_set *out);

/* Read the active rule set, merge, install (spd_install). 0 or -errno. */
int dp_spd_replace(const struct spd_maps *m, dp_owned_fn owned, void *arg,
		   const struct spd_set *mine, bool mine_first, struct spd_error *err);

/* A free xipsec_sa id (record flags 0) >= DP_IKE_SA_ID_FIRST that @skip()
 * does not reserve; -ENOSPC if none. */
int dp_ike_sa_alloc(const struct dp_maps *m, bool (*skip)(uint32_t id, void *arg), void *arg,
		    uint32_t *id);

/* The id of the record with SPI @spi (network order) and @flag
 * (XIPSEC_SA_F_INBOUND or _OUTBOUND) among ids >= @first; -ENOENT if none. */
int dp_sa_find_spi(const struct dp_maps *m, __be32 spi, uint32_t flag, uint32_t first,
		   uint32_t *id);

#endif
