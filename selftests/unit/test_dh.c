// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/dh.c: key exchange round trips for groups 14, 19, 20, 31, peer value
 * validation, and the Wycheproof x25519 and ECDH P-256/P-384 vectors
 * (invalid points must be refused, all-zero X25519 secrets too).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>

#include "../../iked/dh.h"
#include "../../iked/ikev2.h"
#include "wycheproof.h"

static void round_trip(uint16_t group)
{
	uint8_t pa[DH_MAX_PUBLIC_LEN], pb[DH_MAX_PUBLIC_LEN];
	uint8_t sa[DH_MAX_SECRET_LEN], sb[DH_MAX_SECRET_LEN];
	size_t pl = dh_public_len(group), sl = dh_secret_len(group);
	struct dh_ctx *a, *b;

	assert_true(pl > 0 && sl > 0);
	assert_int_equal(dh_new(group, &a), 0);
	assert_int_equal(dh_new(group, &b), 0);
	assert_int_equal(dh_group(a), group);
	assert_int_equal(dh_public(a, pa, pl), 0);
	assert_int_equal(dh_public(b, pb, pl), 0);
	assert_memory_not_equal(pa, pb, pl);
	assert_int_equal(dh_check_peer(group, pb, pl), 0);
	assert_int_equal(dh_derive(a, pb, pl, sa, sl), 0);
	assert_int_equal(dh_derive(b, pa, pl, sb, sl), 0);
	assert_memory_equal(sa, sb, sl);
	/* wrong lengths, both ways */
	assert_int_equal(dh_derive(a, pb, pl - 1, sa, sl), -EINVAL);
	assert_int_equal(dh_check_peer(group, pb, pl + 1), -EINVAL);
	assert_int_equal(dh_derive(a, pb, pl, sa, sl - 1), -EINVAL);
	assert_int_equal(dh_public(a, pa, pl + 1), -EINVAL);
	dh_free(a);
	dh_free(b);
}

static void test_round_trips(void **state)
{
	(void)state;
	round_trip(IKEV2_DH_MODP_2048);
	round_trip(IKEV2_DH_ECP_256);
	round_trip(IKEV2_DH_ECP_384);
	round_trip(IKEV2_DH_CURVE25519);
}

static void test_unsupported(void **state)
{
	struct dh_ctx *dh = (void *)1;

	(void)state;
	assert_int_equal(dh_new(IKEV2_DH_MODP_1024, &dh), -ENOTSUP);
	assert_null(dh);
	assert_int_equal(dh_new(IKEV2_DH_CURVE448, &dh), -ENOTSUP);
	assert_false(dh_group_supported(IKEV2_DH_ECP_521));
	assert_int_equal(dh_public_len(IKEV2_DH_ECP_521), 0);
	assert_int_equal(dh_public_len(IKEV2_DH_ECP_256), 64);
	assert_int_equal(dh_public_len(IKEV2_DH_ECP_384), 96);
	assert_int_equal(dh_secret_len(IKEV2_DH_ECP_384), 48);
}

/* y must satisfy 1 < y < p-1 (RFC 7296 5 / RFC 6989 2.1) */
static void test_modp_range(void **state)
{
	uint8_t y[256], s[256];
	BIGNUM *p = BN_get_rfc3526_prime_2048(NULL);
	struct dh_ctx *dh;

	(void)state;
	assert_non_null(p);
	assert_int_equal(dh_new(IKEV2_DH_MODP_2048, &dh), 0);

	memset(y, 0, sizeof(y));
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), -EINVAL);	/* 0 */
	y[255] = 1;
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), -EINVAL);	/* 1 */
	assert_int_equal(dh_derive(dh, y, 256, s, 256), -EINVAL);
	y[255] = 2;
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), 0);	/* g itself */

	assert_int_equal(BN_bn2binpad(p, y, 256), 256);	/* p */
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), -EINVAL);
	y[255] -= 1;	/* p - 1 (p is odd) */
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), -EINVAL);
	assert_int_equal(dh_derive(dh, y, 256, s, 256), -EINVAL);
	y[255] -= 1;
	/* p - 2 is in range but, p being 7 mod 8, -2 is a non-residue: outside
	 * the order-q subgroup g = 2 generates, so OpenSSL's check refuses it */
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), -EINVAL);
	y[255] = 4;
	memset(y, 0, 255);	/* 4 = g^2 */
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), 0);
	memset(y, 0xff, sizeof(y));	/* > p */
	assert_int_equal(dh_check_peer(IKEV2_DH_MODP_2048, y, 256), -EINVAL);
	BN_free(p);
	dh_free(dh);
}

static void test_ecp_invalid_points(void **state)
{
	uint8_t pub[96], s[48];
	struct dh_ctx *dh;
	size_t i;

	(void)state;
	assert_int_equal(dh_new(IKEV2_DH_ECP_256, &dh), 0);
	memset(pub, 0, sizeof(pub));
	assert_int_equal(dh_check_peer(IKEV2_DH_ECP_256, pub, 64), -EINVAL);
	assert_int_equal(dh_derive(dh, pub, 64, s, 32), -EINVAL);
	/* a valid x with y + 1 is off the curve */
	assert_int_equal(dh_public(dh, pub, 64), 0);
	pub[63] ^= 1;
	assert_int_equal(dh_check_peer(IKEV2_DH_ECP_256, pub, 64), -EINVAL);
	assert_int_equal(dh_derive(dh, pub, 64, s, 32), -EINVAL);
	dh_free(dh);

	assert_int_equal(dh_new(IKEV2_DH_ECP_384, &dh), 0);
	for (i = 0; i < 96; i++)
		pub[i] = i;
	assert_int_equal(dh_derive(dh, pub, 96, s, 48), -EINVAL);
	dh_free(dh);
}

static void run_ecdh_vectors(const char *file, uint16_t group)
{
	struct wpj *root = wpj_load(file);
	const struct wpj *g, *t;
	size_t pl = dh_public_len(group), sl = dh_secret_len(group);
	unsigned int n_ok = 0, n_rejected = 0, n_skipped = 0;

	if (!root) {
		print_message("wycheproof/%s not found (set XIPSEC_TESTVECTORS)\n", file);
		skip();
	}
	wpj_for_each_test(root, g, t) {
		uint8_t *pub, *priv, *shared, out[64];
		const char *result = wpj_str(t, "result");
		long publ, privl, sharedl;
		struct dh_ctx *dh;
		const uint8_t *ike;
		size_t ike_len;
		int err;

		publ = wpj_hex(t, "public", &pub);
		privl = wpj_hex(t, "private", &priv);
		sharedl = wpj_hex(t, "shared", &shared);
		assert_true(publ >= 0 && privl >= 0 && sharedl >= 0);
		/* IKE carries x | y: strip the uncompressed-point prefix; any other
		 * encoding goes in as is and must fail the length check. */
		if (publ == (long)pl + 1 && pub[0] == 0x04) {
			ike = pub + 1;
			ike_len = pl;
		} else {
			ike = pub;
			ike_len = publ;
		}
		assert_int_equal(dh_new_private(group, priv, privl, &dh), 0);
		err = dh_derive(dh, ike, ike_len, out, sl);
		if (!strcmp(result, "invalid")) {
			if (err == 0)
				fail_msg("%s tcId %ld: invalid public key accepted", file,
					 wpj_num(t, "tcId"));
			assert_int_equal(err, -EINVAL);
			n_rejected++;
		} else if (ike == pub) {
			/* valid compressed point: not representable in IKE */
			assert_int_equal(err, -EINVAL);
			n_skipped++;
		} else {
			if (err)
				fail_msg("%s tcId %ld: valid vector refused (%d)", file,
					 wpj_num(t, "tcId"), err);
			assert_int_equal(sharedl, sl);
			assert_memory_equal(out, shared, sl);
			n_ok++;
		}
		dh_free(dh);
		free(pub);
		free(priv);
		free(shared);
	}
	print_message("%s: %u agreed, %u invalid rejected, %u compressed (not IKE)\n", file, n_ok,
		      n_rejected, n_skipped);
	assert_true(n_ok > 100 && n_rejected > 5);
	wpj_free(root);
}

static void test_wycheproof_p256(void **state)
{
	(void)state;
	run_ecdh_vectors("ecdh_secp256r1_ecpoint_test.json", IKEV2_DH_ECP_256);
}

static void test_wycheproof_p384(void **state)
{
	(void)state;
	run_ecdh_vectors("ecdh_secp384r1_ecpoint_test.json", IKEV2_DH_ECP_384);
}

static void test_wycheproof_x25519(void **state)
{
	struct wpj *root = wpj_load("x25519_test.json");
	const struct wpj *g, *t;
	unsigned int n_ok = 0, n_zero = 0, n_refused = 0;

	(void)state;
	if (!root) {
		print_message("wycheproof/x25519_test.json not found (set XIPSEC_TESTVECTORS)\n");
		skip();
	}
	wpj_for_each_test(root, g, t) {
		uint8_t *pub, *priv, *shared, out[32], zero[32] = { 0 };
		bool valid = !strcmp(wpj_str(t, "result"), "valid");
		struct dh_ctx *dh;
		int err;

		assert_int_equal(wpj_hex(t, "public", &pub), 32);
		assert_int_equal(wpj_hex(t, "private", &priv), 32);
		assert_int_equal(wpj_hex(t, "shared", &shared), 32);
		assert_int_equal(dh_new_private(IKEV2_DH_CURVE25519, priv, 32, &dh), 0);
		err = dh_derive(dh, pub, 32, out, 32);
		if (!memcmp(shared, zero, 32)) {
			/* RFC 8031 2.3: an all-zero result must be refused */
			assert_int_equal(err, -EINVAL);
			n_zero++;
		} else if (valid) {
			if (err)
				fail_msg("tcId %ld: valid vector refused", wpj_num(t, "tcId"));
			assert_memory_equal(out, shared, 32);
			n_ok++;
		} else if (err == 0) {
			/* "acceptable" (non-canonical, twist...): if taken, exact */
			assert_memory_equal(out, shared, 32);
			n_ok++;
		} else {
			n_refused++;
		}
		dh_free(dh);
		free(pub);
		free(priv);
		free(shared);
	}
	print_message("x25519: %u agreed, %u all-zero refused, %u acceptable refused\n", n_ok,
		      n_zero, n_refused);
	assert_true(n_ok > 200 && n_zero > 0);
	wpj_free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_modp_range),
		cmocka_unit_test(test_ecp_invalid_points),
		cmocka_unit_test(test_wycheproof_p256),
		cmocka_unit_test(test_wycheproof_p384),
		cmocka_unit_test(test_wycheproof_x25519),
	};

	return cmocka_run_group_tests_name("dh", tests, NULL, NULL);
}
