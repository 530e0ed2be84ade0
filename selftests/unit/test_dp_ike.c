// SPDX-License-Identifier: GPL-2.0-only
/*
 * lib/dp_ike.c: merging one writer's rules into the active rule set, as
 * `xipsec load` and xiked do when they share the dataplane maps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dp_ike.h"

static void bucket(struct spd_bucket *b, const char *name, uint8_t action, uint32_t sa)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->action = action;
	b->sa_id = sa;
}

static void rule(struct spd_rule *r, uint32_t prio, uint32_t bkt)
{
	memset(r, 0, sizeof(*r));
	r->family = XIPSEC_AF_INET;
	r->priority = prio;
	r->bucket = bkt;
	r->sport_hi = r->dport_hi = 0xffff;
}

static bool owned_ike(const struct spd_bucket *b, void *arg)
{
	(void)arg;
	return dp_ike_bucket(b);
}

static bool owned_static(const struct spd_bucket *b, void *arg)
{
	(void)arg;
	return !dp_ike_bucket(b);
}

/* active: static "a" (2 rules), xiked "xiked:1", static "b"; xiked replaces its part */
static void test_merge_ike_part(void **state)
{
	struct spd_bucket ab[3], mb[2];
	struct spd_rule ar[4], mr[3];
	struct spd_set active = { ar, 4, ab, 3 }, mine = { mr, 3, mb, 2 }, out;

	(void)state;
	bucket(&ab[0], "a", SPD_ACT_BYPASS, 0);
	bucket(&ab[1], DP_IKE_BUCKET_PREFIX "1", SPD_ACT_PROTECT, 4096);
	bucket(&ab[2], "b", SPD_ACT_PROTECT, 1);
	rule(&ar[0], 1000, 0);
	rule(&ar[1], 2000, 1);
	rule(&ar[2], 1000, 2);
	rule(&ar[3], 1000, 0);
	bucket(&mb[0], DP_IKE_BUCKET_PREFIX "2", SPD_ACT_PROTECT, 4097);
	bucket(&mb[1], DP_IKE_BUCKET_PREFIX "3", SPD_ACT_PROTECT, 4098);
	rule(&mr[0], 2000, 1);
	rule(&mr[1], 2000, 0);
	rule(&mr[2], 2000, 1);

	/* xiked: the static part first, in its order, then ours */
	assert_int_equal(dp_spd_merge(&active, owned_ike, NULL, &mine, false, &out), 0);
	assert_int_equal(out.nrules, 6);
	assert_int_equal(out.nbuckets, 4);
	assert_string_equal(out.buckets[0].name, "a");
	assert_string_equal(out.buckets[1].name, "b");
	assert_string_equal(out.buckets[2].name, DP_IKE_BUCKET_PREFIX "2");
	assert_string_equal(out.buckets[3].name, DP_IKE_BUCKET_PREFIX "3");
	assert_int_equal(out.rules[0].bucket, 0);
	assert_int_equal(out.rules[1].bucket, 1);
	assert_int_equal(out.rules[2].bucket, 0);
	assert_int_equal(out.rules[3].bucket, 3);
	assert_int_equal(out.rules[4].bucket, 2);
	assert_int_equal(out.rules[5].bucket, 3);
	assert_int_equal(out.rules[3].priority, 2000);
	assert_int_equal(out.buckets[3].sa_id, 4098);
	spd_set_free(&out);

	/* `load`: its rules first, unchanged (error indexes), xiked's kept after */
	assert_int_equal(dp_spd_merge(&active, owned_static, NULL, &mine, true, &out), 0);
	assert_int_equal(out.nrules, 3 + 1);
	assert_int_equal(out.nbuckets, 2 + 1);
	assert_int_equal(out.rules[0].bucket, 1);
	assert_int_equal(out.rules[1].bucket, 0);
	assert_string_equal(out.buckets[2].name, DP_IKE_BUCKET_PREFIX "1");
	assert_int_equal(out.rules[3].bucket, 2);
	assert_int_equal(out.rules[3].priority, 2000);
	assert_int_equal(out.buckets[2].sa_id, 4096);
	spd_set_free(&out);
}

static void test_merge_empty_and_bad(void **state)
{
	struct spd_bucket ab[1];
	struct spd_rule ar[1];
	struct spd_set active = { ar, 1, ab, 1 }, none = { NULL, 0, NULL, 0 }, out;

	(void)state;
	bucket(&ab[0], DP_IKE_BUCKET_PREFIX "9", SPD_ACT_PROTECT, 5000);
	rule(&ar[0], 2000, 0);
	/* xiked shutting down: its part goes, nothing is left */
	assert_int_equal(dp_spd_merge(&active, owned_ike, NULL, &none, false, &out), 0);
	assert_int_equal(out.nrules, 0);
	assert_int_equal(out.nbuckets, 0);
	spd_set_free(&out);
	/* a rule naming a bucket that does not exist */
	ar[0].bucket = 1;
	assert_int_equal(dp_spd_merge(&active, owned_ike, NULL, &none, false, &out), -EINVAL);
	assert_null(out.rules);
	ar[0].bucket = 0;
	{
		struct spd_rule mr[1];
		struct spd_set mine = { mr, 1, NULL, 0 };

		rule(&mr[0], 2000, 0);
		assert_int_equal(dp_spd_merge(&active, owned_static, NULL, &mine, true, &out), -EINVAL);
	}
	assert_true(dp_ike_bucket(&ab[0]));
	bucket(&ab[0], "xiked", SPD_ACT_BYPASS, 0);
	assert_false(dp_ike_bucket(&ab[0]));
}

static bool owned_traps(const struct spd_bucket *b, void *arg)
{
	return dp_ike_trap_bucket(b, *(const uint32_t *)arg);
}

/* Trap bucket names: one instance's are told from another's and from the
 * child SAs' "xiked:<spi>"; replacing them leaves every other bucket alone. */
static void test_trap_buckets(void **state)
{
	uint32_t a = dp_ike_instance("/run/xiked.sock"), b = dp_ike_instance("/run/xiked2.sock");
	struct spd_bucket ab[5], mb[1];
	struct spd_rule ar[5], mr[1];
	struct spd_set active = { ar, 5, ab, 5 }, mine = { mr, 1, mb, 1 }, out;
	char name[sizeof(ab[0].name)], want[64];
	size_t i;

	(void)state;
	assert_int_not_equal(a, b);
	/* FNV-1a 32 of "" is its offset basis */
	assert_int_equal(dp_ike_instance(""), 2166136261u);
	assert_int_equal(dp_ike_trap_name(name, sizeof(name), a, 0), 0);
	snprintf(want, sizeof(want), "xiked:t%08x.0", a);
	assert_string_equal(name, want);
	/* the largest index still fits the 24-byte name */
	assert_int_equal(dp_ike_trap_name(name, sizeof(name), 0xffffffffu, DP_IKE_TRAP_MAX - 1), 0);
	assert_string_equal(name, "xiked:tffffffff.ffff");
	assert_int_equal(dp_ike_trap_name(name, sizeof(name), a, DP_IKE_TRAP_MAX), -E2BIG);
	assert_int_equal(dp_ike_trap_name(name, 8, a, 1), -E2BIG);

	bucket(&ab[0], "static", SPD_ACT_BYPASS, 0);
	bucket(&ab[1], DP_IKE_BUCKET_PREFIX "0000abcd", SPD_ACT_PROTECT, 4096);
	dp_ike_trap_name(ab[2].name, sizeof(ab[2].name), a, 0);
	ab[2].action = SPD_ACT_PROTECT;
	dp_ike_trap_name(ab[3].name, sizeof(ab[3].name), b, 0);
	ab[3].action = SPD_ACT_PROTECT;
	dp_ike_trap_name(ab[4].name, sizeof(ab[4].name), a, 7); /* an earlier run's */
	ab[4].action = SPD_ACT_PROTECT;
	for (i = 0; i < 5; i++)
		rule(&ar[i], i ? 2000 : 1000, (uint32_t)i);
	assert_true(dp_ike_bucket(&ab[2]));
	assert_true(dp_ike_trap_bucket(&ab[2], a));
	assert_false(dp_ike_trap_bucket(&ab[3], a));
	assert_true(dp_ike_trap_bucket(&ab[3], b));
	assert_false(dp_ike_trap_bucket(&ab[1], a));
	assert_false(dp_ike_trap_bucket(&ab[0], a));

	dp_ike_trap_name(mb[0].name, sizeof(mb[0].name), a, 1);
	mb[0].action = SPD_ACT_PROTECT;
	mb[0].sa_id = DP_IKE_TRAP_SA_ID;
	rule(&mr[0], DP_IKE_TRAP_PRIORITY, 0);
	assert_int_equal(dp_spd_merge(&active, owned_traps, &a, &mine, false, &out), 0);
	assert_int_equal(out.nbuckets, 4);
	assert_string_equal(out.buckets[0].name, "static");
	assert_string_equal(out.buckets[1].name, DP_IKE_BUCKET_PREFIX "0000abcd");
	assert_string_equal(out.buckets[2].name, ab[3].name);
	assert_string_equal(out.buckets[3].name, mb[0].name);
	assert_int_equal(out.nrules, 4);
	assert_int_equal(out.rules[3].bucket, 3);
	/* a child's bucket wins over a trap's for the same packets */
	assert_true(DP_IKE_TRAP_PRIORITY > DP_IKE_RULE_PRIORITY);
	spd_set_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_ike_part),
		cmocka_unit_test(test_merge_empty_and_bad),
		cmocka_unit_test(test_trap_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
