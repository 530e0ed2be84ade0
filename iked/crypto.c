// SPDX-License-Identifier: GPL-2.0-only
/*
 * IKEv2 key derivation and SK payload ciphers on OpenSSL 3 (EVP_MAC for HMAC,
 * EVP_CIPHER for AES-GCM, ChaCha20-Poly1305 and AES-CBC). No primitive is
 * implemented here; this file only composes them as RFC 7296 says.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "dh.h"
#include "ikev2.h"

#define CRYPTO_AEAD_SALT	4
#define CRYPTO_AEAD_IV		8
#define CRYPTO_AEAD_TAG		16
#define CRYPTO_AES_BLOCK	16

static const char *crypto_prf_digest(uint16_t prf)
{
	switch (prf) {
	case IKEV2_PRF_HMAC_SHA2_256:
		return "SHA256";
	case IKEV2_PRF_HMAC_SHA2_384:
		return "SHA384";
	case IKEV2_PRF_HMAC_SHA2_512:
		return "SHA512";
	}
	return NULL;
}

bool crypto_prf_supported(uint16_t prf)
{
	return crypto_prf_digest(prf) != NULL;
}

size_t crypto_prf_len(uint16_t prf)
{
	switch (prf) {
	case IKEV2_PRF_HMAC_SHA2_256:
		return 32;
	case IKEV2_PRF_HMAC_SHA2_384:
		return 48;
	case IKEV2_PRF_HMAC_SHA2_512:
		return 64;
	}
	return 0;
}

/* HMAC over up to three pieces; @out_len in: room, out: written. */
static int crypto_hmac3(const char *digest, const uint8_t *key, size_t key_len,
			const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2,
			const uint8_t *d3, size_t l3, uint8_t *out, size_t *out_len)
{
	/* Fetched once: prf+ runs HMAC many times per exchange, and a fetch
	 * is a locked provider lookup. Kept for the life of the process. */
	static EVP_MAC *mac;
	/* HMAC accepts any key length, but EVP_MAC_init refuses a NULL key. */
	static const uint8_t empty_key[1];
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	int err = -EIO;

	if (!mac)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return -EIO;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params))
		goto out;
	if ((l1 && !EVP_MAC_update(ctx, d1, l1)) || (l2 && !EVP_MAC_update(ctx, d2, l2)) ||
	    (l3 && !EVP_MAC_update(ctx, d3, l3)))
		goto out;
	if (!EVP_MAC_final(ctx, out, out_len, *out_len))
		goto out;
	err = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return err;
}

int crypto_hmac(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *data,
		size_t len, uint8_t *out, size_t *out_len)
{
	return crypto_hmac3(digest, key, key_len, data, len, NULL, 0, NULL, 0, out, out_len);
}

int crypto_prf(uint16_t prf, const uint8_t *key, size_t key_len, const uint8_t *d1, size_t l1,
	       const uint8_t *d2, size_t l2, const uint8_t *d3, size_t l3, uint8_t *out)
{
	const char *digest = crypto_prf_digest(prf);
	size_t out_len = crypto_prf_len(prf);
	int err;

	if (!digest)
		return -ENOTSUP;
	err = crypto_hmac3(digest, key, key_len, d1, l1, d2, l2, d3, l3, out, &out_len);
	if (!err && out_len != crypto_prf_len(prf))
		err = -EIO;
	return err;
}

int crypto_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len, const uint8_t *seed,
		    size_t seed_len, uint8_t *out, size_t out_len)
{
	size_t hlen = crypto_prf_len(prf), done = 0;
	uint8_t t[CRYPTO_PRF_MAX];
	uint8_t n;
	int err = 0;

	if (!hlen)
		return -ENOTSUP;
	if (out_len > 255 * hlen)
		return -EINVAL;
	for (n = 1; done < out_len; n++) {
		size_t take = out_len - done < hlen ? out_len - done : hlen;

		/* T1 has no previous block: seed | 0x01 */
		err = crypto_prf(prf, key, key_len, n == 1 ? NULL : t, n == 1 ? 0 : hlen, seed,
				 seed_len, &n, 1, t);
		if (err)
			break;
		memcpy(out + done, t, take);
		done += take;
	}
	OPENSSL_cleanse(t, sizeof(t));
	if (err)
		OPENSSL_cleanse(out, out_len);
	return err;
}

bool crypto_encr_is_aead(uint16_t encr)
{
	return encr == IKEV2_ENCR_AES_GCM_16 || encr == IKEV2_ENCR_CHACHA20_POLY1305;
}

size_t crypto_encr_key_len(uint16_t encr, uint16_t keylen_bits)
{
	switch (encr) {
	case IKEV2_ENCR_AES_CBC:
	case IKEV2_ENCR_AES_GCM_16:
		if (keylen_bits != 128 && keylen_bits != 192 && keylen_bits != 256)
			return 0;
		return keylen_bits / 8 + (encr == IKEV2_ENCR_AES_GCM_16 ? CRYPTO_AEAD_SALT : 0);
	case IKEV2_ENCR_CHACHA20_POLY1305:
		/* RFC 7634 2: no Key Length attribute */
		if (keylen_bits != 0 && keylen_bits != 256)
			return 0;
		return 32 + CRYPTO_AEAD_SALT;
	}
	return 0;
}

static const char *crypto_integ_digest(uint16_t integ)
{
	switch (integ) {
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		return "SHA256";
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		return "SHA384";
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		return "SHA512";
	}
	return NULL;
}

/* RFC 4868 2.1.1: the key is as long as the hash output. */
size_t crypto_integ_key_len(uint16_t integ)
{
	switch (integ) {
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		return 32;
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		return 48;
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		return 64;
	}
	return 0;
}

/* RFC 4868 2.3: truncated to half the hash output. */
size_t crypto_integ_icv_len(uint16_t integ)
{
	return crypto_integ_key_len(integ) / 2;
}

int crypto_suite_check(const struct crypto_suite *s)
{
	if (!crypto_encr_key_len(s->encr, s->encr_keylen) || !crypto_prf_supported(s->prf))
		return -ENOTSUP;
	if (crypto_encr_is_aead(s->encr)) {
		if (s->integ != IKEV2_INTEG_NONE)
			return -EINVAL;	/* RFC 5282 8: no integrity with AEAD */
	} else if (!crypto_integ_key_len(s->integ)) {
		return -ENOTSUP;
	}
	if (s->dh != IKEV2_DH_NONE && !dh_group_supported(s->dh))
		return -ENOTSUP;
	return 0;
}

int crypto_skeyseed(uint16_t prf, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		    size_t nr_len, const uint8_t *gir, size_t gir_len, uint8_t *out)
{
	uint8_t key[2 * 256];
	int err;

	if (ni_len > 256 || nr_len > 256)
		return -EINVAL;
	memcpy(key, ni, ni_len);
	memcpy(key + ni_len, nr, nr_len);
	err = crypto_prf(prf, key, ni_len + nr_len, gir, gir_len, NULL, 0, NULL, 0, out);
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

int crypto_skeyseed_rekey(uint16_t old_prf, const uint8_t *sk_d, size_t sk_d_len,
			  const uint8_t *gir, size_t gir_len, const uint8_t *ni, size_t ni_len,
			  const uint8_t *nr, size_t nr_len, uint8_t *out)
{
	return crypto_prf(old_prf, sk_d, sk_d_len, gir, gir_len, ni, ni_len, nr, nr_len, out);
}

static void crypto_put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

int crypto_ike_keys_derive(const struct crypto_suite *s, const uint8_t *skeyseed,
			   const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
			   uint64_t spi_i, uint64_t spi_r, struct crypto_ike_keys *k)
{
	uint8_t seed[2 * 256 + 16];
	uint8_t km[3 * CRYPTO_PRF_MAX + 2 * CRYPTO_INTEG_KEY_MAX + 2 * CRYPTO_ENCR_KEY_MAX];
	size_t seed_len, total, off = 0;
	int err;

	memset(k, 0, sizeof(*k));
	err = crypto_suite_check(s);
	if (err)
		return err;
	if (ni_len > 256 || nr_len > 256)
		return -EINVAL;
	k->prf_len = crypto_prf_len(s->prf);
	k->encr_len = crypto_encr_key_len(s->encr, s->encr_keylen);
	k->integ_len = crypto_encr_is_aead(s->encr) ? 0 : crypto_integ_key_len(s->integ);

	memcpy(seed, ni, ni_len);
	memcpy(seed + ni_len, nr, nr_len);
	crypto_put64(seed + ni_len + nr_len, spi_i);
	crypto_put64(seed + ni_len + nr_len + 8, spi_r);
	seed_len = ni_len + nr_len + 16;

	total = 3 * k->prf_len + 2 * k->integ_len + 2 * k->encr_len;
	err = crypto_prf_plus(s->prf, skeyseed, k->prf_len, seed, seed_len, km, total);
	if (err)
		goto out;

	memcpy(k->sk_d, km + off, k->prf_len);
	off += k->prf_len;
	memcpy(k->sk_ai, km + off, k->integ_len);
	off += k->integ_len;
	memcpy(k->sk_ar, km + off, k->integ_len);
	off += k->integ_len;
	memcpy(k->sk_ei, km + off, k->encr_len);
	off += k->encr_len;
	memcpy(k->sk_er, km + off, k->encr_len);
	off += k->encr_len;
	memcpy(k->sk_pi, km + off, k->prf_len);
	off += k->prf_len;
	memcpy(k->sk_pr, km + off, k->prf_len);
out:
	OPENSSL_cleanse(km, sizeof(km));
	OPENSSL_cleanse(seed, sizeof(seed));
	if (err)
		crypto_ike_keys_clear(k);
	return err;
}

void crypto_ike_keys_clear(struct crypto_ike_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int crypto_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len, const uint8_t *gir,
			size_t gir_len, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			size_t nr_len, uint8_t *out, size_t out_len)
{
	uint8_t seed[DH_MAX_SECRET_LEN + 2 * 256];
	size_t seed_len = 0;
	int err;

	if (!gir)
		gir_len = 0;
	if (gir_len > DH_MAX_SECRET_LEN || ni_len > 256 || nr_len > 256)
		return -EINVAL;
	if (gir_len)
		memcpy(seed, gir, gir_len);
	seed_len += gir_len;
	memcpy(seed + seed_len, ni, ni_len);
	seed_len += ni_len;
	memcpy(seed + seed_len, nr, nr_len);
	seed_len += nr_len;
	err = crypto_prf_plus(prf, sk_d, sk_d_len, seed, seed_len, out, out_len);
	OPENSSL_cleanse(seed, sizeof(seed));
	return err;
}

int crypto_auth_maced_id(uint16_t prf, const uint8_t *sk_p, size_t sk_p_len,
			 const uint8_t *id_body, size_t id_len, uint8_t *out)
{
	return crypto_prf(prf, sk_p, sk_p_len, id_body, id_len, NULL, 0, NULL, 0, out);
}

int crypto_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len, const uint8_t *msg,
		    size_t msg_len, const uint8_t *nonce, size_t nonce_len,
		    const uint8_t *maced_id, uint8_t *out)
{
	static const char pad[] = "Key Pad for IKEv2";	/* 17 octets, no NUL */
	uint8_t key[CRYPTO_PRF_MAX];
	int err;

	err = crypto_prf(prf, psk, psk_len, (const uint8_t *)pad, sizeof(pad) - 1, NULL, 0, NULL,
			 0, key);
	if (!err)
		err = crypto_prf(prf, key, crypto_prf_len(prf), msg, msg_len, nonce, nonce_len,
				 maced_id, crypto_prf_len(prf), out);
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

int crypto_natd_hash(uint64_t spi_i, uint64_t spi_r, const uint8_t *addr, size_t addr_len,
		     uint16_t port, uint8_t out[20])
{
	uint8_t in[16 + 16 + 2];
	unsigned int len = 20;

	if (addr_len != 4 && addr_len != 16)
		return -EINVAL;
	crypto_put64(in, spi_i);
	crypto_put64(in + 8, spi_r);
	memcpy(in + 16, addr, addr_len);
	in[16 + addr_len] = port >> 8;
	in[16 + addr_len + 1] = port & 0xff;
	if (!EVP_Digest(in, 16 + addr_len + 2, out, &len, EVP_sha1(), NULL) || len != 20)
		return -EIO;
	return 0;
}

static void crypto_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = 0;
}

int crypto_wireshark_keys(const struct crypto_suite *s, uint64_t spi_i, uint64_t spi_r,
			  const struct crypto_ike_keys *k, char *out, size_t out_len)
{
	char spii[17], spir[17], ei[2 * CRYPTO_ENCR_KEY_MAX + 1], er[sizeof(ei)];
	char ai[2 * CRYPTO_INTEG_KEY_MAX + 1], ar[sizeof(ai)], encr[48];
	const char *integ;
	uint8_t spi[8];
	int n;

	switch (s->encr) {
	case IKEV2_ENCR_AES_CBC:
		snprintf(encr, sizeof(encr), "AES-CBC-%u [RFC3602]", s->encr_keylen);
		break;
	case IKEV2_ENCR_AES_GCM_16:
		snprintf(encr, sizeof(encr), "AES-GCM-%u with 16 octet ICV [RFC5282]",
			 s->encr_keylen);
		break;
	default:
		return -ENOTSUP;
	}
	switch (crypto_encr_is_aead(s->encr) ? IKEV2_INTEG_NONE : s->integ) {
	case IKEV2_INTEG_NONE:
		integ = "NONE [RFC4306]";
		break;
	case IKEV2_INTEG_HMAC_SHA2_256_128:
		integ = "HMAC_SHA2_256_128 [RFC4868]";
		break;
	case IKEV2_INTEG_HMAC_SHA2_384_192:
		integ = "HMAC_SHA2_384_192 [RFC4868]";
		break;
	case IKEV2_INTEG_HMAC_SHA2_512_256:
		integ = "HMAC_SHA2_512_256 [RFC4868]";
		break;
	default:
		return -ENOTSUP;
	}
	if (k->encr_len > CRYPTO_ENCR_KEY_MAX || k->integ_len > CRYPTO_INTEG_KEY_MAX)
		return -EINVAL;
	crypto_put64(spi, spi_i);
	crypto_hex(spii, spi, 8);
	crypto_put64(spi, spi_r);
	crypto_hex(spir, spi, 8);
	crypto_hex(ei, k->sk_ei, k->encr_len);
	crypto_hex(er, k->sk_er, k->encr_len);
	crypto_hex(ai, k->sk_ai, k->integ_len);
	crypto_hex(ar, k->sk_ar, k->integ_len);
	/* hex fields bare, strings quoted */
	n = snprintf(out, out_len, "%s,%s,%s,%s,\"%s\",%s,%s,\"%s\"", spii, spir, ei, er, encr,
		     ai, ar, integ);
	OPENSSL_cleanse(ei, sizeof(ei));
	OPENSSL_cleanse(er, sizeof(er));
	OPENSSL_cleanse(ai, sizeof(ai));
	OPENSSL_cleanse(ar, sizeof(ar));
	if (n < 0 || (size_t)n >= out_len) {
		OPENSSL_cleanse(out, out_len);
		return -ENOSPC;
	}
	return 0;
}

/* ---- primitives ---- */

static const EVP_CIPHER *crypto_aead_cipher(uint16_t encr, size_t key_len)
{
	if (encr == IKEV2_ENCR_AES_GCM_16) {
		switch (key_len) {
		case 16:
			return EVP_aes_128_gcm();
		case 24:
			return EVP_aes_192_gcm();
		case 32:
			return EVP_aes_256_gcm();
		}
	} else if (encr == IKEV2_ENCR_CHACHA20_POLY1305 && key_len == 32) {
		return EVP_chacha20_poly1305();
	}
	return NULL;
}

static int crypto_aead(bool seal, uint16_t encr, const uint8_t *key, size_t key_len,
		       const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
		       uint8_t *buf, size_t len, uint8_t *tag, size_t tag_len)
{
	const EVP_CIPHER *cipher = crypto_aead_cipher(encr, key_len);
	EVP_CIPHER_CTX *ctx;
	int outl, err = -EIO;

	if (!cipher)
		return -ENOTSUP;
	/* IKE only uses 12-byte nonces and full 16-byte tags. */
	if (nonce_len != 12 || tag_len != CRYPTO_AEAD_TAG || len > INT32_MAX ||
	    aad_len > INT32_MAX)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, seal) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) ||
	    !EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, seal))
		goto out;
	if (!seal && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag))
		goto out;
	if (aad_len && !EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aad_len))
		goto out;
	if (len && !EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len))
		goto out;
	if (!EVP_CipherFinal_ex(ctx, buf + len, &outl)) {
		err = seal ? -EIO : -EBADMSG;
		goto out;
	}
	if (seal && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)tag_len, tag))
		goto out;
	err = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

int crypto_aead_seal(uint16_t encr, const uint8_t *key, size_t key_len, const uint8_t *nonce,
		     size_t nonce_len, const uint8_t *aad, size_t aad_len, uint8_t *buf,
		     size_t len, uint8_t *tag, size_t tag_len)
{
	return crypto_aead(true, encr, key, key_len, nonce, nonce_len, aad, aad_len, buf, len,
			   tag, tag_len);
}

int crypto_aead_open(uint16_t encr, const uint8_t *key, size_t key_len, const uint8_t *nonce,
		     size_t nonce_len, const uint8_t *aad, size_t aad_len, uint8_t *buf,
		     size_t len, const uint8_t *tag, size_t tag_len)
{
	/* The tag is only read when opening; the cast matches the shared helper. */
	return crypto_aead(false, encr, key, key_len, nonce, nonce_len, aad, aad_len, buf, len,
			   (uint8_t *)tag, tag_len);
}

int crypto_cbc(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t *iv, uint8_t *buf,
	       size_t len)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	int outl, err = -EIO;

	switch (key_len) {
	case 16:
		cipher = EVP_aes_128_cbc();
		break;
	case 24:
		cipher = EVP_aes_192_cbc();
		break;
	case 32:
		cipher = EVP_aes_256_cbc();
		break;
	default:
		return -EINVAL;
	}
	if (len % CRYPTO_AES_BLOCK || len > INT32_MAX)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt) ||
	    !EVP_CIPHER_CTX_set_padding(ctx, 0))
		goto out;
	if (len && !EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len))
		goto out;
	if (!EVP_CipherFinal_ex(ctx, buf + len, &outl))
		goto out;
	err = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

int crypto_integ(uint16_t integ, const uint8_t *key, size_t key_len, const uint8_t *data,
		 size_t len, uint8_t *icv)
{
	const char *digest = crypto_integ_digest(integ);
	uint8_t full[CRYPTO_PRF_MAX];
	size_t full_len = sizeof(full);
	int err;

	if (!digest)
		return -ENOTSUP;
	err = crypto_hmac(digest, key, key_len, data, len, full, &full_len);
	if (!err)
		memcpy(icv, full, crypto_integ_icv_len(integ));
	OPENSSL_cleanse(full, sizeof(full));
	return err;
}

/* ---- SK payload ---- */

int crypto_sk_init(struct crypto_sk *sk, const struct crypto_suite *s, const uint8_t *ekey,
		   const uint8_t *akey)
{
	int err;

	memset(sk, 0, sizeof(*sk));
	err = crypto_suite_check(s);
	if (err)
		return err;
	sk->encr = s->encr;
	sk->integ = crypto_encr_is_aead(s->encr) ? IKEV2_INTEG_NONE : s->integ;
	sk->ekey_len = crypto_encr_key_len(s->encr, s->encr_keylen);
	sk->akey_len = crypto_integ_key_len(sk->integ);
	memcpy(sk->ekey, ekey, sk->ekey_len);
	if (sk->akey_len)
		memcpy(sk->akey, akey, sk->akey_len);
	return 0;
}

void crypto_sk_clear(struct crypto_sk *sk)
{
	OPENSSL_cleanse(sk, sizeof(*sk));
}

size_t crypto_sk_iv_len(const struct crypto_sk *sk)
{
	return crypto_encr_is_aead(sk->encr) ? CRYPTO_AEAD_IV : CRYPTO_AES_BLOCK;
}

size_t crypto_sk_icv_len(const struct crypto_sk *sk)
{
	return crypto_encr_is_aead(sk->encr) ? CRYPTO_AEAD_TAG : crypto_integ_icv_len(sk->integ);
}

size_t crypto_sk_block_len(const struct crypto_sk *sk)
{
	return crypto_encr_is_aead(sk->encr) ? 1 : CRYPTO_AES_BLOCK;
}

/* RFC 5282 4 / RFC 7634 2: nonce = salt (last 4 key bytes) | 8-byte IV */
static void crypto_sk_nonce(const struct crypto_sk *sk, const uint8_t *iv, uint8_t nonce[12])
{
	memcpy(nonce, sk->ekey + sk->ekey_len - CRYPTO_AEAD_SALT, CRYPTO_AEAD_SALT);
	memcpy(nonce + CRYPTO_AEAD_SALT, iv, CRYPTO_AEAD_IV);
}

int crypto_sk_seal(struct crypto_sk *sk, uint8_t *msg, size_t aad_len, size_t pt_len)
{
	size_t iv_len = crypto_sk_iv_len(sk);
	uint8_t *iv = msg + aad_len, *pt = iv + iv_len, *icv = pt + pt_len;
	uint8_t nonce[12];
	int err;

	if (!sk->ekey_len)
		return -EINVAL;
	if (pt_len % crypto_sk_block_len(sk))
		return -EINVAL;
	if (crypto_encr_is_aead(sk->encr)) {
		/* A counter, not random bytes: RFC 5282 requires IVs to be unique
		 * per key, and 2^64 messages never happen. */
		if (sk->iv_counter == UINT64_MAX)
			return -EOVERFLOW;
		crypto_put64(iv, ++sk->iv_counter);
		crypto_sk_nonce(sk, iv, nonce);
		return crypto_aead_seal(sk->encr, sk->ekey, sk->ekey_len - CRYPTO_AEAD_SALT, nonce,
					sizeof(nonce), msg, aad_len, pt, pt_len, icv,
					CRYPTO_AEAD_TAG);
	}
	/* CBC IVs must be unpredictable (RFC 7296 3.14). */
	if (RAND_bytes(iv, (int)iv_len) != 1)
		return -EIO;
	err = crypto_cbc(true, sk->ekey, sk->ekey_len, iv, pt, pt_len);
	if (err)
		return err;
	return crypto_integ(sk->integ, sk->akey, sk->akey_len, msg, aad_len + iv_len + pt_len, icv);
}

int crypto_sk_open(const struct crypto_sk *sk, uint8_t *msg, size_t aad_len, size_t ct_len)
{
	size_t iv_len = crypto_sk_iv_len(sk), icv_len = crypto_sk_icv_len(sk), pt_len;
	uint8_t *iv = msg + aad_len, *ct = iv + iv_len;
	uint8_t nonce[12], icv[CRYPTO_ICV_MAX];
	int err;

	if (!sk->ekey_len)
		return -EINVAL;
	if (ct_len < iv_len + icv_len)
		return -EBADMSG;
	pt_len = ct_len - iv_len - icv_len;
	if (pt_len % crypto_sk_block_len(sk))
		return -EBADMSG;
	if (crypto_encr_is_aead(sk->encr)) {
		uint8_t *tmp;

		/* OpenSSL decrypts before it checks the tag: work on a copy so a
		 * forged message leaves the caller's buffer untouched. */
		tmp = OPENSSL_malloc(pt_len ? pt_len : 1);
		if (!tmp)
			return -ENOMEM;
		memcpy(tmp, ct, pt_len);
		crypto_sk_nonce(sk, iv, nonce);
		err = crypto_aead_open(sk->encr, sk->ekey, sk->ekey_len - CRYPTO_AEAD_SALT, nonce,
				       sizeof(nonce), msg, aad_len, tmp, pt_len, ct + pt_len,
				       CRYPTO_AEAD_TAG);
		if (!err)
			memcpy(ct, tmp, pt_len);
		OPENSSL_clear_free(tmp, pt_len ? pt_len : 1);
		return err;
	}
	err = crypto_integ(sk->integ, sk->akey, sk->akey_len, msg, aad_len + iv_len + pt_len, icv);
	if (err)
		return err;
	if (CRYPTO_memcmp(icv, ct + pt_len, icv_len) != 0)
		return -EBADMSG;
	return crypto_cbc(false, sk->ekey, sk->ekey_len, iv, ct, pt_len);
}
