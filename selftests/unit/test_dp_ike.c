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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_ike_part),
		cmocka_unit_test(test_merge_empty_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
