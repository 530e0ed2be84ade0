// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/vip.c: selector ranges split into the CIDR prefixes routed in the
 * virtual IP routing table. (Adding addresses and routes is VM-tested.)
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../iked/vip.h"

/* "a/p a/p ..." for the range [from, to] */
static void split_is(const char *from, const char *to, const char *expect)
{
	int af = strchr(from, ':') ? AF_INET6 : AF_INET;
	size_t len = af == AF_INET ? 4 : 16;
	uint8_t f[16], t[16], addrs[8][16], plens[8];
	char out[512] = "", a[INET6_ADDRSTRLEN];
	unsigned int n;

	assert_int_equal(inet_pton(af, from, f), 1);
	assert_int_equal(inet_pton(af, to, t), 1);
	n = vip_range_prefixes(f, t, len, addrs, plens, 8);
	assert_true(n <= 8);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s/%u", i ? " " : "",
			 inet_ntop(af, addrs[i], a, sizeof(a)), plens[i]);
	assert_string_equal(out, expect);
}

static void test_range_prefixes(void **state)
{
	(void)state;
	split_is("10.2.0.0", "10.2.0.255", "10.2.0.0/24");
	split_is("10.2.0.7", "10.2.0.7", "10.2.0.7/32");
	split_is("0.0.0.0", "255.255.255.255", "0.0.0.0/0");
	split_is("10.0.0.1", "10.0.0.6", "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32");
	split_is("10.0.0.255", "10.0.1.0", "10.0.0.255/32 10.0.1.0/32");
	split_is("fd00::", "fd00::ffff", "fd00::/112");
	split_is("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/0");
}

static void test_range_too_many(void **state)
{
	uint8_t f[4] = { 10, 0, 0, 1 }, t[4] = { 10, 0, 255, 254 }, addrs[4][16], plens[4];

	(void)state;
	/* 1/32 2/31 ... : more than fit; the count says so */
	assert_true(vip_range_prefixes(f, t, 4, addrs, plens, 4) > 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_prefixes),
		cmocka_unit_test(test_range_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
