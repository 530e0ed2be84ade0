// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/crypto.c: prf+, SKEYSEED/SK_* and KEYMAT known answers, Wycheproof
 * AES-GCM, ChaCha20-Poly1305 and HMAC-SHA2 vectors, SK payload seal/open.
 *
 * The known answers below were computed independently with Python's stdlib
 * (hmac, hashlib) by a direct transcription of RFC 7296 2.13/2.14/2.17/2.18:
 *
 *   def prf(h, k, d): return hmac.new(k, d, h).digest()
 *   def prfplus(h, k, s, n):
 *       out = t = b''; i = 1
 *       while len(out) < n: t = prf(h, k, t + s + bytes([i])); out += t; i += 1
 *       return out[:n]
 *   key = bytes(range(32)); seed = b'xipsec prf+ seed' * 3
 *   ni = bytes((i*7+1) & 0xff for i in range(32))
 *   nr = bytes((i*13+5) & 0xff for i in range(32))
 *   gir = bytes((i*31+3) & 0xff for i in range(256))
 *   spii, spir = 0x0102030405060708, 0x1112131415161718 (8 bytes big-endian)
 *   suite A (AES-GCM-16-256, PRF-HMAC-SHA2-256):
 *       skeyseed = prf(sha256, ni+nr, gir)
 *       keymat = prfplus(sha256, skeyseed, ni+nr+spii+spir, 32+36+36+32+32)
 *   suite B (AES-CBC-128, HMAC-SHA2-256-128, PRF-HMAC-SHA2-384):
 *       skeyseed = prf(sha384, ni+nr, gir)
 *       keymat = prfplus(sha384, skeyseed, ni+nr+spii+spir, 48+32+32+16+16+48+48)
 *       child = prfplus(sha384, sk_d, ni+nr, 96)
 *       child_pfs = prfplus(sha384, sk_d, gir+ni+nr, 72)
 *       rekey = prf(sha384, sk_d, gir+ni+nr)
 *   AUTH (2.15) and NAT-D (2.23), PRF-HMAC-SHA2-256:
 *       skp = bytes(range(0x30, 0x50)); idb = bytes([2,0,0,0]) + b'moon.example.org'
 *       maced_id = prf(sha256, skp, idb)
 *       msg = bytes((i*3) & 0xff for i in range(300))
 *       nonce = bytes((i*5+1) & 0xff for i in range(32))
 *       auth_psk = prf(sha256, prf(sha256, b'correct horse battery staple',
 *                      b'Key Pad for IKEv2'), msg + nonce + maced_id)
 *       natd_v4 = sha1(spii' + spir' + 192.0.2.1 + port 500)
 *       natd_v6 = sha1(spii' + spir' + 2001:db8::1 + port 4500)
 *       with spii' = 0x0011223344556677, spir' = 0x8899aabbccddeeff
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../iked/crypto.h"
#include "hexutil.h"
#include "../../iked/ikev2.h"
#include "wycheproof.h"

static const char kat_prfplus_sha256[] =
	"142a084da62dc4839ec8f5cd2cb2c93f19504310607de50544f907dbe4b7c72d"
	"ac94306fcaf857e9ddb8dca03340ea3a3c83b50b95f565c60c65297b31ceaee8"
	"ede93c3fdaf1836847ebabcdafeafbed6f66e39afd4558a5cd779f6c817f2672"
	"8dbf050e"
	;
static const char kat_prfplus_sha384[] =
	"1661557b55b6ceebd49f06caf7cb81ba10e974b7b080d113630c65dc7cddc767"
	"292d20f294735c08b1461e64410bf86017626e4cd808c2e0176ddf1984140f61"
	"014cb4a82a4eea3b084f17ae3f287968fbb48f040c1fad600afc67c0a25192d4"
	"3be125d6"
	;
static const char kat_prfplus_sha512[] =
	"4ce7e391ee727051b9f8d6aa735acd5cf6344e303cb5bb9ebf9316ddcac9eb72"
	"e0679a49869df4d6f47ca5e21ce9468cbaf2dfcdf2e21548ebe2519023bd574e"
	"a3100161ce934f5aac3eb603bc30e262a5293827df789de37db6f55e5aebaab8"
	"b4fdb805c3527af754e678bece1bae779ec7122dcd3b098d0265eb151580c5a7"
	"e2fa416a9a411616772c4c387e914f1bb7e8314dcc9f2d6132dea7fc79ca90bf"
	"5f026baec69b75a1da1b8d80879a1274d68cf12256617070a2f7dc82b77c61a6"
	"1834dbe41c3d88e1"
	;
static const char kat_skeyseed_a[] =
	"5462b700aaa6e8726e4a21ce9d17020fddb4051a5fc3b936277bae32867c6372"
	;
static const char kat_keymat_a[] =
	"68c48edbe96f08e6315a4318d8bb8df5150bfd23002d8ef09468f1157808c1d4"
	"0b8f48e433e18ef1bb6a4c15e9d83d2548dd1a7ce97a0b42c1af4ea503a592c4"
	"2ebc7822e1022d8a54f3102bfcd551c69da6e582adb1fe3c0d38ac818b2a11aa"
	"38ef1740e84912d266f4fae8628cee4042396a89b082a697b1ff1c80737b2b42"
	"e203e48e358b2c495193781cb856b991d0445eadb3e1ca9e20a9a9f545e1c2a1"
	"3876d1d930c87d17"
	;
static const char kat_skeyseed_b[] =
	"ecb2be2094b8e6f806b950ead941a5354cec9dee8a696d609e75f7dd60715228"
	"944c355aab3140017e22f10fa82cd621"
	;
static const char kat_keymat_b[] =
	"2f557697d21f3dcdbb2a48b89197ea8748fb87fba5ac2289637d870f0e632651"
	"584ace044fc68ef394e0c9f7a82c670bc0ffdc6b38e85f305c8800d9d1767bd8"
	"bebfd30a0d9d79cd27d64ec9f196118f37f821f0309a77adfbfb968102f7bbde"
	"dd63c8bb53f47245d50d19796041e0839ef8d79d3b91a8557a6cc26108de5d9d"
	"a228c95d9376a97fffbbe627eb861fbe3719600d728cabe1dcf61c69574e83cb"
	"f6a9e6f925950cdc67621f0887d91ad4e97150a213fb8459ff40bf7b3d6041c6"
	"c6758e1f5f2bfd49dfa319514f04ee9abd8a7a974a34400a164507a793a9da8e"
	"0292c61de81fb7dac7cd39481144a0b0"
	;
static const char kat_child_b[] =
	"43010333acd9797956502ff27cfab2482072678d6f548ba469f4a1c96ccc1505"
	"4e020019d050e3b77c2df552e49c5922288b70597594370b68a112082d7c18a3"
	"cbf41aa6f1200a1e14e999a332921e9c08afe6e5caeb4b8482a60d9a58dfc113"
	;
static const char kat_child_pfs_b[] =
	"6a0787c0e6623cea52f86c0810345172c5beacd90725941a07bdd1c4c54c73e6"
	"6f9e0e061a21797b84fa40633112039dcdba484f7954afb7567c4b590eb96055"
	"9245e910c10eaf3f"
	;
static const char kat_rekey_b[] =
	"a4a2804f30b0fbe73c109514351509fac6221a614b4c5d53fabf7dd2f7adba2f"
	"56427ca04004a6515f0a25c99b7cc350"
	;

static const char kat_maced_id[] =
	"d61db3b7d778f9345e010e8a9b17a2bd8b5a1b65d29cf32401623135716d3e76"
	;
static const char kat_auth_psk[] =
	"49f04245dc4a3e58fdcc2a9b2f3f023720b8062120052badbf3e3e5795548745"
	;
static const char kat_natd_v4[] =
	"f62ead21e6a756c429b205b272e506bec103e0ea"
	;
static const char kat_natd_v6[] =
	"7f7c5aa4915eb030dac4b5f24f3465a8e60ca958"
	;

static void kat_key(uint8_t *key, size_t *key_len, uint8_t *seed, size_t *seed_len)
{
	size_t i;

	for (i = 0; i < 32; i++)
		key[i] = i;
	*key_len = 32;
	for (i = 0; i < 3; i++)
		memcpy(seed + 16 * i, "xipsec prf+ seed", 16);
	*seed_len = 48;
}

static void kat_inputs(uint8_t ni[32], uint8_t nr[32], uint8_t gir[256])
{
	size_t i;

	for (i = 0; i < 32; i++) {
		ni[i] = (i * 7 + 1) & 0xff;
		nr[i] = (i * 13 + 5) & 0xff;
	}
	for (i = 0; i < 256; i++)
		gir[i] = (i * 31 + 3) & 0xff;
}

static void check_hex(const uint8_t *got, size_t len, const char *want_hex)
{
	uint8_t want[1024];
	long n = hex_decode(want_hex, want, sizeof(want));

	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
}

static void test_prf_plus_kat(void **state)
{
	static const struct {
		uint16_t prf;
		size_t len;
		const char *hex;
	} c[] = {
		{ IKEV2_PRF_HMAC_SHA2_256, 100, kat_prfplus_sha256 },
		{ IKEV2_PRF_HMAC_SHA2_384, 100, kat_prfplus_sha384 },
		{ IKEV2_PRF_HMAC_SHA2_512, 200, kat_prfplus_sha512 },
	};
	uint8_t key[32], seed[48], out[200];
	size_t key_len, seed_len, i;

	(void)state;
	kat_key(key, &key_len, seed, &seed_len);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(crypto_prf_plus(c[i].prf, key, key_len, seed, seed_len, out,
						 c[i].len),
				 0);
		check_hex(out, c[i].len, c[i].hex);
	}
}

static void test_prf_plus_limits(void **state)
{
	static uint8_t out[255 * 32 + 1];
	uint8_t key[4] = { 1, 2, 3, 4 };

	(void)state;
	/* 255 blocks is the most prf+ can produce (the counter is one octet) */
	assert_int_equal(crypto_prf_plus(IKEV2_PRF_HMAC_SHA2_256, key, 4, key, 4, out, 255 * 32),
			 0);
	assert_int_equal(crypto_prf_plus(IKEV2_PRF_HMAC_SHA2_256, key, 4, key, 4, out,
					 255 * 32 + 1),
			 -EINVAL);
	assert_int_equal(crypto_prf_plus(IKEV2_PRF_HMAC_SHA1, key, 4, key, 4, out, 20), -ENOTSUP);
	assert_int_equal(crypto_prf_len(IKEV2_PRF_AES128_XCBC), 0);
}

static void test_ike_keys_kat_gcm(void **state)
{
	struct crypto_suite s = { .encr = IKEV2_ENCR_AES_GCM_16, .encr_keylen = 256,
				  .prf = IKEV2_PRF_HMAC_SHA2_256, .dh = IKEV2_DH_CURVE25519 };
	uint8_t ni[32], nr[32], gir[256], ss[64], want[512];
	struct crypto_ike_keys k;
	size_t off = 0;

	(void)state;
	kat_inputs(ni, nr, gir);
	assert_int_equal(crypto_skeyseed(s.prf, ni, 32, nr, 32, gir, 256, ss), 0);
	check_hex(ss, 32, kat_skeyseed_a);
	assert_int_equal(crypto_ike_keys_derive(&s, ss, ni, 32, nr, 32, 0x0102030405060708ULL,
						0x1112131415161718ULL, &k),
			 0);
	assert_int_equal(k.prf_len, 32);
	assert_int_equal(k.integ_len, 0);
	assert_int_equal(k.encr_len, 36);	/* 32-byte key + 4-byte salt */
	assert_int_equal(hex_decode(kat_keymat_a, want, sizeof(want)), 32 + 36 + 36 + 32 + 32);
	assert_memory_equal(k.sk_d, want + off, 32);
	off += 32;
	assert_memory_equal(k.sk_ei, want + off, 36);
	off += 36;
	assert_memory_equal(k.sk_er, want + off, 36);
	off += 36;
	assert_memory_equal(k.sk_pi, want + off, 32);
	off += 32;
	assert_memory_equal(k.sk_pr, want + off, 32);
	crypto_ike_keys_clear(&k);
}

static void test_ike_keys_kat_cbc(void **state)
{
	struct crypto_suite s = { .encr = IKEV2_ENCR_AES_CBC, .encr_keylen = 128,
				  .prf = IKEV2_PRF_HMAC_SHA2_384,
				  .integ = IKEV2_INTEG_HMAC_SHA2_256_128, .dh = IKEV2_DH_MODP_2048 };
	uint8_t ni[32], nr[32], gir[256], ss[64], want[512], out[128];
	struct crypto_ike_keys k;
	size_t off = 0;

	(void)state;
	kat_inputs(ni, nr, gir);
	assert_int_equal(crypto_skeyseed(s.prf, ni, 32, nr, 32, gir, 256, ss), 0);
	check_hex(ss, 48, kat_skeyseed_b);
	assert_int_equal(crypto_ike_keys_derive(&s, ss, ni, 32, nr, 32, 0x0102030405060708ULL,
						0x1112131415161718ULL, &k),
			 0);
	assert_int_equal(hex_decode(kat_keymat_b, want, sizeof(want)),
			 48 + 32 + 32 + 16 + 16 + 48 + 48);
	assert_memory_equal(k.sk_d, want + off, 48);
	off += 48;
	assert_memory_equal(k.sk_ai, want + off, 32);
	off += 32;
	assert_memory_equal(k.sk_ar, want + off, 32);
	off += 32;
	assert_memory_equal(k.sk_ei, want + off, 16);
	off += 16;
	assert_memory_equal(k.sk_er, want + off, 16);
	off += 16;
	assert_memory_equal(k.sk_pi, want + off, 48);
	off += 48;
	assert_memory_equal(k.sk_pr, want + off, 48);

	/* child SA KEYMAT without and with PFS, rekeyed IKE SA SKEYSEED */
	assert_int_equal(crypto_child_keymat(s.prf, k.sk_d, 48, NULL, 0, ni, 32, nr, 32, out, 96),
			 0);
	check_hex(out, 96, kat_child_b);
	assert_int_equal(crypto_child_keymat(s.prf, k.sk_d, 48, gir, 256, ni, 32, nr, 32, out, 72),
			 0);
	check_hex(out, 72, kat_child_pfs_b);
	assert_int_equal(crypto_skeyseed_rekey(s.prf, k.sk_d, 48, gir, 256, ni, 32, nr, 32, out),
			 0);
	check_hex(out, 48, kat_rekey_b);
	crypto_ike_keys_clear(&k);
}

static void test_suite_check(void **state)
{
	struct crypto_suite ok_gcm = { IKEV2_ENCR_AES_GCM_16, 128, IKEV2_PRF_HMAC_SHA2_256,
				       IKEV2_INTEG_NONE, IKEV2_DH_ECP_256 };
	struct crypto_suite ok_cbc = { IKEV2_ENCR_AES_CBC, 256, IKEV2_PRF_HMAC_SHA2_512,
				       IKEV2_INTEG_HMAC_SHA2_512_256, IKEV2_DH_MODP_2048 };
	struct crypto_suite s;

	(void)state;
	assert_int_equal(crypto_suite_check(&ok_gcm), 0);
	assert_int_equal(crypto_suite_check(&ok_cbc), 0);
	s = ok_gcm;
	s.integ = IKEV2_INTEG_HMAC_SHA2_256_128;	/* AEAD with integrity */
	assert_int_equal(crypto_suite_check(&s), -EINVAL);
	s = ok_cbc;
	s.integ = IKEV2_INTEG_NONE;	/* CBC without integrity */
	assert_int_equal(crypto_suite_check(&s), -ENOTSUP);
	s = ok_cbc;
	s.encr_keylen = 0;	/* AES needs a key length */
	assert_int_equal(crypto_suite_check(&s), -ENOTSUP);
	s = ok_cbc;
	s.dh = IKEV2_DH_MODP_1024;
	assert_int_equal(crypto_suite_check(&s), -ENOTSUP);
	s = ok_gcm;
	s.encr = IKEV2_ENCR_3DES;
	assert_int_equal(crypto_suite_check(&s), -ENOTSUP);
	assert_int_equal(crypto_encr_key_len(IKEV2_ENCR_CHACHA20_POLY1305, 0), 36);
	assert_int_equal(crypto_integ_icv_len(IKEV2_INTEG_HMAC_SHA2_384_192), 24);
}

static void test_auth_natd_kat(void **state)
{
	static const char psk[] = "correct horse battery staple";
	uint8_t skp[32], idb[20], msg[300], nonce[32], maced[32], auth[32], natd[20];
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		skp[i] = 0x30 + i;
	memcpy(idb, "\x02\0\0\0moon.example.org", 20);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (i * 3) & 0xff;
	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (i * 5 + 1) & 0xff;
	assert_int_equal(crypto_auth_maced_id(IKEV2_PRF_HMAC_SHA2_256, skp, 32, idb, 20, maced), 0);
	check_hex(maced, 32, kat_maced_id);
	assert_int_equal(crypto_auth_psk(IKEV2_PRF_HMAC_SHA2_256, (const uint8_t *)psk,
					 strlen(psk), msg, sizeof(msg), nonce, sizeof(nonce), maced,
					 auth),
			 0);
	check_hex(auth, 32, kat_auth_psk);

	assert_int_equal(crypto_natd_hash(0x0011223344556677ULL, 0x8899aabbccddeeffULL,
					  (const uint8_t *)"\xc0\x00\x02\x01", 4, 500, natd),
			 0);
	check_hex(natd, 20, kat_natd_v4);
	assert_int_equal(crypto_natd_hash(0x0011223344556677ULL, 0x8899aabbccddeeffULL,
					  (const uint8_t *)"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0"
							   "\0\0\0\x01",
					  16, 4500, natd),
			 0);
	check_hex(natd, 20, kat_natd_v6);
	assert_int_equal(crypto_natd_hash(1, 2, natd, 5, 500, natd), -EINVAL);
}

/* ---- Wycheproof ---- */

static struct wpj *load_or_skip(const char *name)
{
	struct wpj *root = wpj_load(name);

	if (!root) {
		print_message("wycheproof/%s not found (set XIPSEC_TESTVECTORS)\n", name);
		skip();
	}
	return root;
}

static void run_aead_vectors(const char *file, uint16_t encr)
{
	struct wpj *root = load_or_skip(file);
	const struct wpj *g, *t;
	unsigned int n_valid = 0, n_invalid = 0;

	wpj_for_each_test(root, g, t) {
		uint8_t *key, *iv, *aad, *msg, *ct, *tag, out[4096], tagout[16];
		long kl, ivl, al, ml, cl, tl;
		bool valid = strcmp(wpj_str(t, "result"), "invalid") != 0;
		int err;

		kl = wpj_hex(t, "key", &key);
		ivl = wpj_hex(t, "iv", &iv);
		al = wpj_hex(t, "aad", &aad);
		ml = wpj_hex(t, "msg", &msg);
		cl = wpj_hex(t, "ct", &ct);
		tl = wpj_hex(t, "tag", &tag);
		assert_true(kl >= 0 && ivl >= 0 && al >= 0 && ml >= 0 && cl >= 0 && tl >= 0);
		assert_true(ml == cl && (size_t)cl <= sizeof(out));

		memcpy(out, ct, cl);
		err = crypto_aead_open(encr, key, kl, iv, ivl, aad, al, out, cl, tag, tl);
		if (ivl != 12 || tl != 16) {
			/* IKE uses only 12-byte nonces and 16-byte tags: refused */
			assert_int_equal(err, -EINVAL);
		} else if (valid) {
			assert_int_equal(err, 0);
			assert_memory_equal(out, msg, ml);
			memcpy(out, msg, ml);
			assert_int_equal(crypto_aead_seal(encr, key, kl, iv, ivl, aad, al, out, ml,
							  tagout, 16),
					 0);
			assert_memory_equal(out, ct, cl);
			assert_memory_equal(tagout, tag, 16);
			n_valid++;
		} else {
			if (err != -EBADMSG)
				fail_msg("tcId %ld: invalid vector accepted (%d)", wpj_num(t, "tcId"),
					 err);
			n_invalid++;
		}
		free(key);
		free(iv);
		free(aad);
		free(msg);
		free(ct);
		free(tag);
	}
	print_message("%s: %u valid, %u invalid vectors checked\n", file, n_valid, n_invalid);
	assert_true(n_valid > 100 && n_invalid > 10);
	wpj_free(root);
}

static void test_wycheproof_aes_gcm(void **state)
{
	(void)state;
	run_aead_vectors("aes_gcm_test.json", IKEV2_ENCR_AES_GCM_16);
}

static void test_wycheproof_chacha20_poly1305(void **state)
{
	(void)state;
	run_aead_vectors("chacha20_poly1305_test.json", IKEV2_ENCR_CHACHA20_POLY1305);
}

static void run_hmac_vectors(const char *file, const char *digest, uint16_t integ)
{
	struct wpj *root = load_or_skip(file);
	const struct wpj *g, *t;
	unsigned int n = 0, n_trunc = 0;

	wpj_for_each_test(root, g, t) {
		uint8_t *key, *msg, *tag, full[64], icv[32];
		size_t full_len = sizeof(full);
		long kl, ml, tl, tag_bits = wpj_num(g, "tagSize");
		bool valid = !strcmp(wpj_str(t, "result"), "valid");
		bool match;

		kl = wpj_hex(t, "key", &key);
		ml = wpj_hex(t, "msg", &msg);
		tl = wpj_hex(t, "tag", &tag);
		assert_true(kl >= 0 && ml >= 0 && tl >= 0 && tag_bits / 8 == tl);
		assert_int_equal(crypto_hmac(digest, key, kl, msg, ml, full, &full_len), 0);
		assert_true((size_t)tl <= full_len);
		match = !memcmp(full, tag, tl);
		if (match != valid)
			fail_msg("tcId %ld: HMAC verdict %d, expected %d", wpj_num(t, "tcId"), match,
				 valid);
		/* RFC 4868 truncation: the ICV is the first half of the HMAC */
		if ((size_t)tl == crypto_integ_icv_len(integ)) {
			assert_int_equal(crypto_integ(integ, key, kl, msg, ml, icv), 0);
			assert_int_equal(!memcmp(icv, tag, tl), valid);
			n_trunc++;
		}
		n++;
		free(key);
		free(msg);
		free(tag);
	}
	print_message("%s: %u vectors, %u at the RFC 4868 ICV length\n", file, n, n_trunc);
	assert_true(n > 100 && n_trunc > 10);
	wpj_free(root);
}

static void test_wycheproof_hmac(void **state)
{
	(void)state;
	run_hmac_vectors("hmac_sha256_test.json", "SHA256", IKEV2_INTEG_HMAC_SHA2_256_128);
	run_hmac_vectors("hmac_sha384_test.json", "SHA384", IKEV2_INTEG_HMAC_SHA2_384_192);
	run_hmac_vectors("hmac_sha512_test.json", "SHA512", IKEV2_INTEG_HMAC_SHA2_512_256);
}

/* ---- SK payload protection ---- */

static const struct crypto_suite sk_suites[] = {
	{ IKEV2_ENCR_AES_GCM_16, 128, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 },
	{ IKEV2_ENCR_AES_GCM_16, 256, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 },
	{ IKEV2_ENCR_CHACHA20_POLY1305, 0, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 },
	{ IKEV2_ENCR_AES_CBC, 128, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_HMAC_SHA2_256_128, 0 },
	{ IKEV2_ENCR_AES_CBC, 192, IKEV2_PRF_HMAC_SHA2_384, IKEV2_INTEG_HMAC_SHA2_384_192, 0 },
	{ IKEV2_ENCR_AES_CBC, 256, IKEV2_PRF_HMAC_SHA2_512, IKEV2_INTEG_HMAC_SHA2_512_256, 0 },
};

static void test_sk_seal_open(void **state)
{
	uint8_t ekey[CRYPTO_ENCR_KEY_MAX], akey[CRYPTO_INTEG_KEY_MAX];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(ekey); i++)
		ekey[i] = 0xa0 + i;
	for (i = 0; i < sizeof(akey); i++)
		akey[i] = 0x10 + i;
	for (i = 0; i < sizeof(sk_suites) / sizeof(sk_suites[0]); i++) {
		struct crypto_sk out, in;
		uint8_t msg[256], copy[256], pt[64];
		size_t aad = 32, iv, icv, ptl = 64, total;

		assert_int_equal(crypto_sk_init(&out, &sk_suites[i], ekey, akey), 0);
		assert_int_equal(crypto_sk_init(&in, &sk_suites[i], ekey, akey), 0);
		iv = crypto_sk_iv_len(&out);
		icv = crypto_sk_icv_len(&out);
		total = aad + iv + ptl + icv;
		for (j = 0; j < aad; j++)
			msg[j] = j;
		for (j = 0; j < ptl; j++)
			pt[j] = 0x55 ^ j;
		memcpy(msg + aad + iv, pt, ptl);
		assert_int_equal(crypto_sk_seal(&out, msg, aad, ptl), 0);
		assert_memory_not_equal(msg + aad + iv, pt, ptl);
		memcpy(copy, msg, total);
		assert_int_equal(crypto_sk_open(&in, msg, aad, total - aad), 0);
		assert_memory_equal(msg + aad + iv, pt, ptl);

		/* any flipped bit (header, IV, ciphertext, ICV) fails the check */
		for (j = 0; j < total; j += 7) {
			memcpy(msg, copy, total);
			msg[j] ^= 0x04;
			assert_int_equal(crypto_sk_open(&in, msg, aad, total - aad), -EBADMSG);
		}
		/* AEAD IVs come from a counter: two seals never share one */
		if (crypto_encr_is_aead(out.encr)) {
			memcpy(msg + aad + iv, pt, ptl);
			assert_int_equal(crypto_sk_seal(&out, msg, aad, ptl), 0);
			assert_memory_not_equal(msg + aad, copy + aad, iv);
		} else {
			/* CBC plaintext must be block aligned */
			assert_int_equal(crypto_sk_seal(&out, msg, aad, 63), -EINVAL);
		}
		/* too short for IV + ICV */
		assert_int_equal(crypto_sk_open(&in, msg, aad, iv + icv - 1), -EBADMSG);
		crypto_sk_clear(&out);
		crypto_sk_clear(&in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prf_plus_kat),
		cmocka_unit_test(test_prf_plus_limits),
		cmocka_unit_test(test_ike_keys_kat_gcm),
		cmocka_unit_test(test_ike_keys_kat_cbc),
		cmocka_unit_test(test_suite_check),
		cmocka_unit_test(test_auth_natd_kat),
		cmocka_unit_test(test_wycheproof_aes_gcm),
		cmocka_unit_test(test_wycheproof_chacha20_poly1305),
		cmocka_unit_test(test_wycheproof_hmac),
		cmocka_unit_test(test_sk_seal_open),
	};

	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
