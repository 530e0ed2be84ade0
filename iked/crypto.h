/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKEv2 cryptography on OpenSSL 3: PRFs, prf+, SKEYSEED and SK_* derivation
 * (RFC 7296 2.13, 2.14, 2.18), child SA KEYMAT (2.17), and the ciphers that
 * protect the SK payload: AES-GCM-16 (RFC 5282), ChaCha20-Poly1305 (RFC 7634)
 * and AES-CBC with HMAC-SHA2 truncated per RFC 4868.
 *
 * Algorithms are named by their IKEv2 transform IDs (ikev2.h). Functions
 * return 0 or -errno: -ENOTSUP for an algorithm we do not implement, -EINVAL
 * for bad lengths, -EBADMSG for a failed integrity check, -EIO when OpenSSL
 * fails. Key material lives in caller-owned structs: scrub them with
 * crypto_ike_keys_clear() / crypto_sk_clear(). Nothing here logs.
 */
#ifndef XIKED_CRYPTO_H
#define XIKED_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_PRF_MAX		64	/* HMAC-SHA2-512 output */
#define CRYPTO_ENCR_KEY_MAX	36	/* AES-256 key + 4-byte salt */
#define CRYPTO_INTEG_KEY_MAX	64
#define CRYPTO_ICV_MAX		32
#define CRYPTO_IV_MAX		16
#define CRYPTO_PRF_PLUS_MAX	(255 * CRYPTO_PRF_MAX)

/* A negotiated IKE SA suite. integ is IKEV2_INTEG_NONE with AEAD ciphers.
 * encr_keylen is the Key Length attribute in bits (0 = algorithm default). */
struct crypto_suite {
	uint16_t encr;
	uint16_t encr_keylen;
	uint16_t prf;
	uint16_t integ;
	uint16_t dh;
};

/* ---- PRF ---- */

bool crypto_prf_supported(uint16_t prf);
/* Output length in bytes (also the preferred key length), 0 if unsupported. */
size_t crypto_prf_len(uint16_t prf);
/* out = prf(key, d1 | d2 | d3); NULL pieces are skipped. @out has
 * crypto_prf_len() bytes. */
int crypto_prf(uint16_t prf, const uint8_t *key, size_t key_len, const uint8_t *d1, size_t l1,
	       const uint8_t *d2, size_t l2, const uint8_t *d3, size_t l3, uint8_t *out);
/* RFC 7296 2.13: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); at most
 * 255 blocks. */
int crypto_prf_plus(uint16_t prf, const uint8_t *key, size_t key_len, const uint8_t *seed,
		    size_t seed_len, uint8_t *out, size_t out_len);

/* ---- algorithm properties ---- */

bool crypto_encr_is_aead(uint16_t encr);
/* Key material for the cipher in bytes, salt included for AEAD (RFC 5282 7.1:
 * 16/24/32 + 4), 0 if the encr/keylen pair is unsupported. */
size_t crypto_encr_key_len(uint16_t encr, uint16_t keylen_bits);
size_t crypto_integ_key_len(uint16_t integ);
size_t crypto_integ_icv_len(uint16_t integ);
/* 0 if the combination is implemented and consistent (AEAD without integ,
 * CBC with one, PRF and DH known), else -ENOTSUP/-EINVAL. */
int crypto_suite_check(const struct crypto_suite *s);

/* ---- IKE SA keys ---- */

struct crypto_ike_keys {
	size_t prf_len, encr_len, integ_len;
	uint8_t sk_d[CRYPTO_PRF_MAX];
	uint8_t sk_ai[CRYPTO_INTEG_KEY_MAX], sk_ar[CRYPTO_INTEG_KEY_MAX];
	uint8_t sk_ei[CRYPTO_ENCR_KEY_MAX], sk_er[CRYPTO_ENCR_KEY_MAX];
	uint8_t sk_pi[CRYPTO_PRF_MAX], sk_pr[CRYPTO_PRF_MAX];
};

/* SKEYSEED = prf(Ni | Nr, g^ir). @out has crypto_prf_len() bytes. */
int crypto_skeyseed(uint16_t prf, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
		    size_t nr_len, const uint8_t *gir, size_t gir_len, uint8_t *out);
/* Rekeyed IKE SA (2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr),
 * with @old_prf the PRF of the old SA. */
int crypto_skeyseed_rekey(uint16_t old_prf, const uint8_t *sk_d, size_t sk_d_len,
			  const uint8_t *gir, size_t gir_len, const uint8_t *ni, size_t ni_len,
			  const uint8_t *nr, size_t nr_len, uint8_t *out);
/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *	= prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), SPIs in network order. */
int crypto_ike_keys_derive(const struct crypto_suite *s, const uint8_t *skeyseed,
			   const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
			   uint64_t spi_i, uint64_t spi_r, struct crypto_ike_keys *k);
void crypto_ike_keys_clear(struct crypto_ike_keys *k);

/* Child SA (2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); @gir may be
 * NULL. Keys are taken in the order encr_i, integ_i, encr_r, integ_r. */
int crypto_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t sk_d_len, const uint8_t *gir,
			size_t gir_len, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			size_t nr_len, uint8_t *out, size_t out_len);

/* ---- AUTH payload and NAT detection (RFC 7296 2.15, 2.23) ---- */

/* MACedIDForI/R = prf(SK_pi/SK_pr, RestOfIDPayload), the ID payload body
 * after the generic header. @out has crypto_prf_len() bytes. */
int crypto_auth_maced_id(uint16_t prf, const uint8_t *sk_p, size_t sk_p_len,
			 const uint8_t *id_body, size_t id_len, uint8_t *out);
/* Shared key AUTH data: prf(prf(PSK, "Key Pad for IKEv2"), RealMessage |
 * Nonce | MACedID). @out has crypto_prf_len() bytes; compare it with
 * CRYPTO_memcmp(). */
int crypto_auth_psk(uint16_t prf, const uint8_t *psk, size_t psk_len, const uint8_t *msg,
		    size_t msg_len, const uint8_t *nonce, size_t nonce_len,
		    const uint8_t *maced_id, uint8_t *out);
/* NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP address | port), the
 * address 4 or 16 bytes and SPIs/port in network order. */
int crypto_natd_hash(uint64_t spi_i, uint64_t spi_r, const uint8_t *addr, size_t addr_len,
		     uint16_t port, uint8_t out[20]);

/*
 * One record of Wireshark's ikev2_decryption_table (as in the file
 * ~/.config/wireshark/ikev2_decryption_table or `tshark -o uat:...`), for a
 * debugging option that exports keys. @out gets a NUL-terminated line
 * without newline; -ENOTSUP for ciphers Wireshark 4.0 cannot decrypt
 * (ChaCha20-Poly1305), -ENOSPC if @out_len is too small. This is the only
 * function that formats key material: never pass its output to the logger.
 */
int crypto_wireshark_keys(const struct crypto_suite *s, uint64_t spi_i, uint64_t spi_r,
			  const struct crypto_ike_keys *k, char *out, size_t out_len);

/* ---- SK payload protection, one direction ---- */

struct crypto_sk {
	uint16_t encr, integ;
	size_t ekey_len, akey_len;	/* ekey_len includes the AEAD salt */
	uint8_t ekey[CRYPTO_ENCR_KEY_MAX];
	uint8_t akey[CRYPTO_INTEG_KEY_MAX];
	uint64_t iv_counter;	/* AEAD: IVs must never repeat under one key */
};

/* @ekey/@akey as derived (SK_ei/SK_ai for initiator to responder). */
int crypto_sk_init(struct crypto_sk *sk, const struct crypto_suite *s, const uint8_t *ekey,
		   const uint8_t *akey);
void crypto_sk_clear(struct crypto_sk *sk);
size_t crypto_sk_iv_len(const struct crypto_sk *sk);
size_t crypto_sk_icv_len(const struct crypto_sk *sk);
/* Plaintext (payloads + padding + pad length) must be a multiple of this. */
size_t crypto_sk_block_len(const struct crypto_sk *sk);

/*
 * Protect one SK payload in place. @msg layout:
 *
 *   [0, aad_len)           IKE header .. SK generic header (lengths final)
 *   [aad_len, +iv)         IV, written here
 *   [.., +pt_len)          plaintext incl. padding and Pad Length, encrypted in place
 *   [.., +icv)             ICV, written here
 *
 * AEAD authenticates [0, aad_len) as associated data (RFC 5282 5.1); CBC's
 * HMAC covers everything before the ICV (RFC 7296 3.14).
 */
int crypto_sk_seal(struct crypto_sk *sk, uint8_t *msg, size_t aad_len, size_t pt_len);
/* The reverse, in place. The integrity check is constant time; -EBADMSG if
 * it fails, and @msg is then left as it was. */
int crypto_sk_open(const struct crypto_sk *sk, uint8_t *msg, size_t aad_len, size_t ct_len);

/* ---- primitives (exposed for tests and for ESP-side helpers) ---- */

/* AEAD with a 12-byte nonce and 16-byte tag: IKEV2_ENCR_AES_GCM_16 (16/24/32
 * byte key) or IKEV2_ENCR_CHACHA20_POLY1305 (32). In place. */
int crypto_aead_seal(uint16_t encr, const uint8_t *key, size_t key_len, const uint8_t *nonce,
		     size_t nonce_len, const uint8_t *aad, size_t aad_len, uint8_t *buf,
		     size_t len, uint8_t *tag, size_t tag_len);
int crypto_aead_open(uint16_t encr, const uint8_t *key, size_t key_len, const uint8_t *nonce,
		     size_t nonce_len, const uint8_t *aad, size_t aad_len, uint8_t *buf,
		     size_t len, const uint8_t *tag, size_t tag_len);
/* AES-CBC without padding, in place; @len a multiple of 16. */
int crypto_cbc(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t *iv, uint8_t *buf,
	       size_t len);
/* HMAC over @data with @integ, truncated to crypto_integ_icv_len(). */
int crypto_integ(uint16_t integ, const uint8_t *key, size_t key_len, const uint8_t *data,
		 size_t len, uint8_t *icv);
/* Full-length HMAC for an OpenSSL digest name ("SHA256"...); @out_len in/out. */
int crypto_hmac(const char *digest, const uint8_t *key, size_t key_len, const uint8_t *data,
		size_t len, uint8_t *out, size_t *out_len);

#endif
