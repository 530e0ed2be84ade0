// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/auth_sig.c: AUTH signatures (RFC 7427 method 14 with each key type
 * and hash, the classic RSA/ECDSA methods), what is refused (bad
 * signatures, algorithms we did not announce, malformed data, key type
 * mismatches), certificate chains (trust anchors, intermediates, expiry,
 * basic constraints), identities bound to certificates, CERTREQ hashes.
 *
 * Keys and certificates are generated here with OpenSSL
 * (selftests/include/auth_test_pki.h):
 *
 *	root CA (P-256) ---+--- inter CA (P-384) --- leaf "sun" (P-256)
 *	                   +--- moon (RSA), expired, notyet, ...
 *	other CA (P-256) ----- stranger
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth_test_pki.h"

#include "../../iked/auth_sig.h"

static const uint8_t msg[] = "IKE_SA_INIT | nonce | prf(SK_p, ID)";

static EVP_PKEY *k_root, *k_inter, *k_other, *k_sun, *k_moon, *k_ed;
static X509 *c_root, *c_inter, *c_other, *c_sun, *c_moon, *c_stranger;

static int setup(void **state)
{
	(void)state;
	k_root = pki_key("p256");
	k_inter = pki_key("p384");
	k_other = pki_key("p256");
	k_sun = pki_key("p256");
	k_moon = pki_key("rsa");
	k_ed = pki_key("ed25519");
	c_root = pki_cert(k_root, NULL, NULL, "root CA", NULL, 1, -3600, 86400);
	c_inter = pki_cert(k_inter, c_root, k_root, "inter CA", NULL, 1, -3600, 86400);
	c_other = pki_cert(k_other, NULL, NULL, "other CA", NULL, 1, -3600, 86400);
	c_sun = pki_cert(k_sun, c_inter, k_inter, "sun",
			 "DNS:sun.example.org,IP:192.0.2.1,IP:2001:db8::1,email:sun@example.org", 0,
			 -3600, 86400);
	c_moon = pki_cert(k_moon, c_root, k_root, "moon", "DNS:moon.example.org", 0, -3600, 86400);
	c_stranger =
		pki_cert(k_sun, c_other, k_other, "sun", "DNS:sun.example.org", 0, -3600, 86400);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(c_root);
	X509_free(c_inter);
	X509_free(c_other);
	X509_free(c_sun);
	X509_free(c_moon);
	X509_free(c_stranger);
	EVP_PKEY_free(k_root);
	EVP_PKEY_free(k_inter);
	EVP_PKEY_free(k_other);
	EVP_PKEY_free(k_sun);
	EVP_PKEY_free(k_moon);
	EVP_PKEY_free(k_ed);
	return 0;
}

/* The OID (short name) of a method-14 AUTH payload's AlgorithmIdentifier. */
static const char *aid_name(const uint8_t *auth, size_t len)
{
	const unsigned char *p = auth + 1;
	const ASN1_OBJECT *obj;
	X509_ALGOR *a;
	const char *sn;

	assert_true(len > 1 && auth[0] + 1u < len);
	a = d2i_X509_ALGOR(NULL, &p, auth[0]);
	assert_non_null(a);
	assert_ptr_equal(p, auth + 1 + auth[0]);
	X509_ALGOR_get0(&obj, NULL, NULL, a);
	sn = OBJ_nid2sn(OBJ_obj2nid(obj));
	X509_ALGOR_free(a);
	return sn;
}

static void test_hashes_notify(void **state)
{
	uint8_t buf[16];
	size_t n;
	const uint8_t odd[] = { 0, 2, 0 }, mixed[] = { 0, 1, 0, 2, 0x12, 0x34, 0, 4 };

	(void)state;
	n = auth_hashes_encode(buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "\0\2\0\3\0\4\0\5", 8);
	assert_int_equal(auth_hashes_decode(buf, n), AUTH_HASHES_OURS);
	assert_int_equal(auth_hashes_encode(buf, 7), 0);
	assert_int_equal(auth_hashes_decode(odd, sizeof(odd)), 0);
	/* SHA-1 and unknown IDs are kept or ignored, never a crash */
	assert_int_equal(auth_hashes_decode(mixed, sizeof(mixed)),
			 AUTH_HASH_BIT(1) | AUTH_HASH_BIT(2) | AUTH_HASH_BIT(4));
}

/* Sign with @key for a peer announcing @hashes; check method, algorithm and
 * that the signature verifies, and fails over other octets. */
static void roundtrip(EVP_PKEY *key, unsigned int hashes, bool pss, uint8_t want_method,
		      const char *want_alg)
{
	uint8_t auth[AUTH_SIG_MAX], other[sizeof(msg)];
	size_t len = 0;
	uint8_t method = 0;
	char why[256];

	assert_int_equal(auth_sign(key, hashes, pss, msg, sizeof(msg), &method, auth, &len), 0);
	assert_int_equal(method, want_method);
	assert_true(len > 0 && len <= AUTH_SIG_MAX);
	if (want_alg)
		assert_string_equal(aid_name(auth, len), want_alg);
	assert_int_equal(auth_verify(key, method, auth, len, msg, sizeof(msg), why, sizeof(why)),
			 0);
	memcpy(other, msg, sizeof(msg));
	other[3] ^= 1;
	assert_int_equal(
		auth_verify(key, method, auth, len, other, sizeof(other), why, sizeof(why)),
		-EBADMSG);
	assert_non_null(strstr(why, "bad signature"));
	/* a flipped bit in the signature value */
	auth[len - 2] ^= 0x40;
	assert_int_not_equal(
		auth_verify(key, method, auth, len, msg, sizeof(msg), why, sizeof(why)), 0);
}

static void test_sign_ecdsa(void **state)
{
	EVP_PKEY *p384 = pki_key("p384"), *p521 = pki_key("p521");

	(void)state;
	/* RFC 7427: the hash of the curve's size first */
	roundtrip(k_sun, AUTH_HASHES_OURS, false, IKEV2_AUTH_DIGITAL_SIGNATURE,
		  "ecdsa-with-SHA256");
	roundtrip(p384, AUTH_HASHES_OURS, false, IKEV2_AUTH_DIGITAL_SIGNATURE, "ecdsa-with-SHA384");
	roundtrip(p521, AUTH_HASHES_OURS, false, IKEV2_AUTH_DIGITAL_SIGNATURE, "ecdsa-with-SHA512");
	/* ... else what the peer accepts */
	roundtrip(k_sun, AUTH_HASH_BIT(IKEV2_HASH_SHA2_512), false, IKEV2_AUTH_DIGITAL_SIGNATURE,
		  "ecdsa-with-SHA512");
	roundtrip(p521, AUTH_HASH_BIT(IKEV2_HASH_SHA2_256), false, IKEV2_AUTH_DIGITAL_SIGNATURE,
		  "ecdsa-with-SHA256");
	/* no SIGNATURE_HASH_ALGORITHMS from the peer: RFC 4754 methods */
	roundtrip(k_sun, 0, false, IKEV2_AUTH_ECDSA_256, NULL);
	roundtrip(p384, 0, false, IKEV2_AUTH_ECDSA_384, NULL);
	roundtrip(p521, 0, false, IKEV2_AUTH_ECDSA_521, NULL);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
}

static void test_sign_rsa(void **state)
{
	(void)state;
	roundtrip(k_moon, AUTH_HASHES_OURS, false, IKEV2_AUTH_DIGITAL_SIGNATURE, "RSA-SHA256");
	roundtrip(k_moon, AUTH_HASH_BIT(IKEV2_HASH_SHA2_384), false, IKEV2_AUTH_DIGITAL_SIGNATURE,
		  "RSA-SHA384");
	roundtrip(k_moon, AUTH_HASH_BIT(IKEV2_HASH_SHA2_512), false, IKEV2_AUTH_DIGITAL_SIGNATURE,
		  "RSA-SHA512");
	roundtrip(k_moon, AUTH_HASHES_OURS, true, IKEV2_AUTH_DIGITAL_SIGNATURE, "RSASSA-PSS");
	roundtrip(k_moon, AUTH_HASH_BIT(IKEV2_HASH_SHA2_512), true, IKEV2_AUTH_DIGITAL_SIGNATURE,
		  "RSASSA-PSS");
	roundtrip(k_moon, 0, false, IKEV2_AUTH_RSA_SIG, NULL);
}

static void test_sign_eddsa(void **state)
{
	uint8_t auth[AUTH_SIG_MAX], method;
	size_t len;

	(void)state;
	roundtrip(k_ed, AUTH_HASHES_OURS, false, IKEV2_AUTH_DIGITAL_SIGNATURE, "ED25519");
	/* EdDSA needs the Identity "hash" and RFC 7427 */
	assert_int_equal(auth_sign(k_ed, AUTH_HASH_BIT(IKEV2_HASH_SHA2_256), false, msg,
				   sizeof(msg), &method, auth, &len),
			 -ENOTSUP);
	assert_int_equal(auth_sign(k_ed, 0, false, msg, sizeof(msg), &method, auth, &len),
			 -ENOTSUP);
	/* nothing the peer accepts: SHA-1 only */
	assert_int_equal(auth_sign(k_sun, AUTH_HASH_BIT(IKEV2_HASH_SHA1), false, msg, sizeof(msg),
				   &method, auth, &len),
			 -ENOTSUP);
}

/* A method-14 AUTH payload made by hand: @md with @key, AlgorithmIdentifier @nid. */
static size_t sign_raw(EVP_PKEY *key, const EVP_MD *md, int nid, uint8_t *out)
{
	X509_ALGOR *a = X509_ALGOR_new();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	size_t sl = 600;
	int l;

	assert_non_null(a);
	assert_int_equal(X509_ALGOR_set0(a, OBJ_nid2obj(nid), V_ASN1_NULL, NULL), 1);
	l = i2d_X509_ALGOR(a, &der);
	assert_true(l > 0 && l < 255);
	out[0] = (uint8_t)l;
	memcpy(out + 1, der, (size_t)l);
	assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, key), 1);
	assert_int_equal(EVP_DigestSign(c, out + 1 + l, &sl, msg, sizeof(msg)), 1);
	OPENSSL_free(der);
	X509_ALGOR_free(a);
	EVP_MD_CTX_free(c);
	return 1 + (size_t)l + sl;
}

static void test_verify_refused(void **state)
{
	uint8_t auth[AUTH_SIG_MAX], method;
	size_t len;
	char why[256];

	(void)state;
	/* a valid sha256WithRSAEncryption signature is accepted ... */
	len = sign_raw(k_moon, EVP_sha256(), NID_sha256WithRSAEncryption, auth);
	assert_int_equal(auth_verify(k_moon, IKEV2_AUTH_DIGITAL_SIGNATURE, auth, len, msg,
				     sizeof(msg), why, sizeof(why)),
			 0);
	/* ... SHA-1 is not: we never announce it */
	len = sign_raw(k_moon, EVP_sha1(), NID_sha1WithRSAEncryption, auth);
	assert_int_equal(auth_verify(k_moon, IKEV2_AUTH_DIGITAL_SIGNATURE, auth, len, msg,
				     sizeof(msg), why, sizeof(why)),
			 -ENOTSUP);
	assert_non_null(strstr(why, "not accepted"));
	/* an ECDSA algorithm with an RSA certificate */
	assert_int_equal(
		auth_sign(k_sun, AUTH_HASHES_OURS, false, msg, sizeof(msg), &method, auth, &len),
		0);
	assert_int_equal(auth_verify(k_moon, method, auth, len, msg, sizeof(msg), why, sizeof(why)),
			 -ENOTSUP);
	assert_non_null(strstr(why, "does not fit"));
	/* a signature by another key of the same type */
	assert_int_equal(auth_verify(k_root, method, auth, len, msg, sizeof(msg), why, sizeof(why)),
			 -EBADMSG);
	/* classic ECDSA-384 method with a P-256 key */
	assert_int_equal(auth_sign(k_sun, 0, false, msg, sizeof(msg), &method, auth, &len), 0);
	assert_int_equal(auth_verify(k_sun, IKEV2_AUTH_ECDSA_384, auth, len, msg, sizeof(msg), why,
				     sizeof(why)),
			 -ENOTSUP);
	assert_int_equal(auth_verify(k_sun, IKEV2_AUTH_ECDSA_256, auth, len - 1, msg, sizeof(msg),
				     why, sizeof(why)),
			 -EINVAL);
	/* methods we do not take with signatures */
	assert_int_equal(auth_verify(k_sun, IKEV2_AUTH_DSS_SIG, auth, len, msg, sizeof(msg), why,
				     sizeof(why)),
			 -ENOTSUP);
	assert_int_equal(auth_verify(k_sun, IKEV2_AUTH_SHARED_KEY_MIC, auth, len, msg, sizeof(msg),
				     why, sizeof(why)),
			 -ENOTSUP);
}

static void test_verify_malformed(void **state)
{
	uint8_t auth[AUTH_SIG_MAX], bad[AUTH_SIG_MAX], method;
	size_t len, i;
	char why[256];

	(void)state;
	assert_int_equal(
		auth_sign(k_sun, AUTH_HASHES_OURS, false, msg, sizeof(msg), &method, auth, &len),
		0);
	/* empty, length byte past the end, length that cuts the AlgorithmIdentifier */
	assert_int_equal(auth_verify(k_sun, method, auth, 0, msg, sizeof(msg), why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(
		auth_verify(k_sun, method, auth, auth[0] + 1u, msg, sizeof(msg), why, sizeof(why)),
		-EINVAL);
	memcpy(bad, auth, len);
	bad[0]--;
	assert_int_equal(auth_verify(k_sun, method, bad, len, msg, sizeof(msg), why, sizeof(why)),
			 -EINVAL);
	/* every truncation fails, none crashes */
	for (i = 0; i < len; i++)
		assert_int_not_equal(auth_verify(k_sun, method, auth, i, msg, sizeof(msg), NULL, 0),
				     0);
	/* every single-byte corruption fails */
	for (i = 0; i < len; i++) {
		memcpy(bad, auth, len);
		bad[i] ^= 0x01;
		assert_int_not_equal(
			auth_verify(k_sun, method, bad, len, msg, sizeof(msg), why, sizeof(why)),
			0);
	}
}

static void test_ca_hash(void **state)
{
	uint8_t h1[AUTH_CA_HASH_LEN], h2[AUTH_CA_HASH_LEN], h3[AUTH_CA_HASH_LEN];
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len;

	(void)state;
	assert_int_equal(auth_ca_hash(c_root, h1), 0);
	/* RFC 7296 3.7: SHA-1 of the whole SubjectPublicKeyInfo, as the key encodes it */
	len = i2d_PUBKEY(k_root, &der);
	assert_true(len > 0);
	assert_int_equal(EVP_Digest(der, (size_t)len, h2, &n, EVP_sha1(), NULL), 1);
	OPENSSL_free(der);
	assert_memory_equal(h1, h2, AUTH_CA_HASH_LEN);
	assert_int_equal(auth_ca_hash(c_other, h3), 0);
	assert_memory_not_equal(h1, h3, AUTH_CA_HASH_LEN);
}

static void test_cert_ids(void **state)
{
	uint8_t v4[4], v6[16], dn[512], *p = dn;
	int dn_len;

	(void)state;
	inet_pton(AF_INET, "192.0.2.1", v4);
	inet_pton(AF_INET6, "2001:db8::1", v6);
	assert_true(auth_cert_has_id(c_sun, IKEV2_ID_FQDN, (const uint8_t *)"sun.example.org", 15));
	assert_true(auth_cert_has_id(c_sun, IKEV2_ID_FQDN, (const uint8_t *)"SUN.Example.ORG", 15));
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_FQDN, (const uint8_t *)"sun.example.or", 14));
	assert_false(
		auth_cert_has_id(c_sun, IKEV2_ID_FQDN, (const uint8_t *)"moon.example.org", 16));
	/* an embedded NUL never matches by prefix */
	assert_false(
		auth_cert_has_id(c_sun, IKEV2_ID_FQDN, (const uint8_t *)"sun.example.org\0x", 17));
	assert_true(auth_cert_has_id(c_sun, IKEV2_ID_RFC822_ADDR,
				     (const uint8_t *)"sun@example.org", 15));
	/* the types do not mix: an FQDN is not an e-mail address */
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_RFC822_ADDR,
				      (const uint8_t *)"sun.example.org", 15));
	assert_true(auth_cert_has_id(c_sun, IKEV2_ID_IPV4_ADDR, v4, 4));
	assert_true(auth_cert_has_id(c_sun, IKEV2_ID_IPV6_ADDR, v6, 16));
	v4[3] = 2;
	v6[15] = 2;
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_IPV4_ADDR, v4, 4));
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_IPV6_ADDR, v6, 16));
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_IPV4_ADDR, v6, 16));
	/* DNs against the subject */
	dn_len = i2d_X509_NAME(X509_get_subject_name(c_sun), &p);
	assert_true(dn_len > 0);
	assert_true(auth_cert_has_id(c_sun, IKEV2_ID_DER_ASN1_DN, dn, (size_t)dn_len));
	assert_false(auth_cert_has_id(c_moon, IKEV2_ID_DER_ASN1_DN, dn, (size_t)dn_len));
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_DER_ASN1_DN, dn, (size_t)dn_len - 1));
	assert_false(auth_cert_has_id(c_sun, IKEV2_ID_KEY_ID, dn, 20));
	/* no subjectAltName at all */
	assert_false(auth_cert_has_id(c_root, IKEV2_ID_FQDN, (const uint8_t *)"root CA", 7));
}

/* A conf holding only trust anchors (x509ca/) and keys. */
struct fake_conf {
	struct conf conf;
	struct conf_cert ca[4];
	struct conf_cert ee[4];
	struct conf_key keys[2];
};

static void fake_init(struct fake_conf *f, X509 *ca1, X509 *ca2)
{
	memset(f, 0, sizeof(*f));
	f->conf.creds.cacerts = f->ca;
	if (ca1)
		f->ca[f->conf.creds.ncacerts++].x509 = ca1;
	if (ca2)
		f->ca[f->conf.creds.ncacerts++].x509 = ca2;
	f->conf.creds.certs = f->ee;
	f->conf.creds.keys = f->keys;
}

static int verify(struct fake_conf *f, X509 *const *anchors, size_t n, X509 *cert, X509 *extra,
		  char *why, size_t whylen)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	int rc;

	assert_non_null(chain);
	if (extra)
		assert_true(sk_X509_push(chain, extra) > 0);
	why[0] = '\0';
	rc = auth_cert_verify(&f->conf, anchors, n, cert, chain, 0, why, whylen);
	sk_X509_free(chain);
	return rc;
}

static void test_chain(void **state)
{
	struct fake_conf f;
	char why[512];

	(void)state;
	fake_init(&f, c_root, NULL);
	/* leaf -> intermediate (sent by the peer) -> root (trusted) */
	assert_int_equal(verify(&f, NULL, 0, c_sun, c_inter, why, sizeof(why)), 0);
	assert_int_equal(verify(&f, NULL, 0, c_moon, NULL, why, sizeof(why)), 0);
	/* without the intermediate the chain breaks */
	assert_int_equal(verify(&f, NULL, 0, c_sun, NULL, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "untrusted"));
	/* an intermediate in x509ca/ is a trust anchor of its own (as strongSwan) */
	fake_init(&f, c_inter, NULL);
	assert_int_equal(verify(&f, NULL, 0, c_sun, NULL, why, sizeof(why)), 0);
	/* another CA's certificate for the same name and key */
	fake_init(&f, c_root, NULL);
	assert_int_equal(verify(&f, NULL, 0, c_stranger, c_other, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "untrusted"));
	assert_non_null(strstr(why, "other CA"));
	/* a remote round's cacerts restrict the anchors */
	fake_init(&f, c_root, c_other);
	assert_int_equal(verify(&f, NULL, 0, c_stranger, NULL, why, sizeof(why)), 0);
	assert_int_equal(verify(&f, &c_root, 1, c_stranger, NULL, why, sizeof(why)), -EACCES);
	assert_int_equal(verify(&f, &c_other, 1, c_stranger, NULL, why, sizeof(why)), 0);
	/* nothing trusted at all */
	fake_init(&f, NULL, NULL);
	assert_int_equal(verify(&f, NULL, 0, c_moon, NULL, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "no CA certificate"));
	/* a self-signed peer certificate is not its own anchor */
	fake_init(&f, c_root, NULL);
	assert_int_equal(verify(&f, NULL, 0, c_other, NULL, why, sizeof(why)), -EACCES);
}

static void test_chain_validity(void **state)
{
	EVP_PKEY *k = pki_key("p256");
	X509 *expired = pki_cert(k, c_root, k_root, "old", "DNS:old.example.org", 0, -7200, -3600);
	X509 *notyet = pki_cert(k, c_root, k_root, "new", "DNS:new.example.org", 0, 3600, 7200);
	X509 *noca = pki_cert(k, c_root, k_root, "noca", NULL, 0, -3600, 86400);
	X509 *leaf = pki_cert(k_sun, noca, k, "leaf", "DNS:leaf.example.org", 0, -3600, 86400);
	X509 *oldca = pki_cert(k, c_root, k_root, "old CA", NULL, 1, -7200, -3600);
	X509 *leaf2 = pki_cert(k_sun, oldca, k, "leaf2", "DNS:leaf.example.org", 0, -3600, 86400);
	struct fake_conf f;
	char why[512];

	(void)state;
	fake_init(&f, c_root, NULL);
	assert_int_equal(verify(&f, NULL, 0, expired, NULL, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "expired"));
	assert_non_null(strstr(why, "CN=old"));
	assert_int_equal(verify(&f, NULL, 0, notyet, NULL, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "not yet valid"));
	/* ... valid at another time */
	assert_int_equal(auth_cert_verify(&f.conf, NULL, 0, notyet, NULL, time(NULL) + 5400, why,
					  sizeof(why)),
			 0);
	/* an issuer without CA:TRUE cannot issue */
	assert_int_equal(verify(&f, NULL, 0, leaf, noca, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "untrusted"));
	/* an expired intermediate breaks the chain */
	assert_int_equal(verify(&f, NULL, 0, leaf2, oldca, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "expired"));
	X509_free(expired);
	X509_free(notyet);
	X509_free(noca);
	X509_free(leaf);
	X509_free(oldca);
	X509_free(leaf2);
	EVP_PKEY_free(k);
}

static void test_local_and_lookup(void **state)
{
	struct fake_conf f;
	struct conf_auth la;
	X509 *out[4];

	(void)state;
	memset(&la, 0, sizeof(la));
	fake_init(&f, c_root, c_inter);
	f.ee[0].x509 = c_moon; /* a peer's certificate: no key here */
	f.ee[1].x509 = c_sun;
	f.conf.creds.ncerts = 2;
	f.keys[0].pkey = k_sun;
	f.conf.creds.nkeys = 1;
	/* x509/ holds ours (with a key) and the peer's */
	assert_ptr_equal(auth_local_cert(&f.conf, &la, IKEV2_ID_FQDN,
					 (const uint8_t *)"sun.example.org", 15),
			 c_sun);
	assert_null(auth_local_cert(&f.conf, &la, IKEV2_ID_FQDN,
				    (const uint8_t *)"moon.example.org", 16));
	assert_ptr_equal(auth_peer_cert_lookup(&f.conf, IKEV2_ID_FQDN,
					       (const uint8_t *)"moon.example.org", 16),
			 c_moon);
	assert_null(auth_peer_cert_lookup(&f.conf, IKEV2_ID_FQDN,
					  (const uint8_t *)"sun.example.org", 15));
	assert_ptr_equal(conf_find_key(&f.conf, c_sun), k_sun);
	assert_null(conf_find_key(&f.conf, c_moon));
	/* certs = wins */
	la.certs = &c_moon;
	la.ncerts = 1;
	assert_ptr_equal(auth_local_cert(&f.conf, &la, IKEV2_ID_FQDN,
					 (const uint8_t *)"sun.example.org", 15),
			 c_moon);
	/* intermediates to send: inter, not the self-signed root */
	assert_int_equal(auth_chain_intermediates(&f.conf, c_sun, out, 4), 1);
	assert_ptr_equal(out[0], c_inter);
	assert_int_equal(auth_chain_intermediates(&f.conf, c_moon, out, 4), 0);
	assert_int_equal(auth_chain_intermediates(&f.conf, c_sun, out, 0), 0);
	/* key types against auth = */
	assert_true(auth_key_fits(k_sun, CONF_AUTH_PUBKEY));
	assert_true(auth_key_fits(k_sun, CONF_AUTH_ECDSA));
	assert_false(auth_key_fits(k_sun, CONF_AUTH_RSA));
	assert_true(auth_key_fits(k_moon, CONF_AUTH_RSA));
	assert_false(auth_key_fits(k_moon, CONF_AUTH_ECDSA));
	assert_true(auth_key_fits(k_ed, CONF_AUTH_PUBKEY));
	assert_false(auth_key_fits(k_ed, CONF_AUTH_PSK));
}

static void test_names(void **state)
{
	unsigned char dn[512], *p = dn;
	char buf[128];
	int len;

	(void)state;
	auth_cert_subject(c_sun, buf, sizeof(buf));
	assert_string_equal(buf, "O=xipsec test, CN=sun");
	len = i2d_X509_NAME(X509_get_subject_name(c_moon), &p);
	auth_dn_str(dn, (size_t)len, buf, sizeof(buf));
	assert_string_equal(buf, "O=xipsec test, CN=moon");
	auth_dn_str(dn, (size_t)len - 3, buf, sizeof(buf));
	assert_string_equal(buf, "(malformed DN)");
	auth_cert_subject(c_sun, buf, 8);
	assert_string_equal(buf, "O=xipse");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes_notify),
		cmocka_unit_test(test_sign_ecdsa),
		cmocka_unit_test(test_sign_rsa),
		cmocka_unit_test(test_sign_eddsa),
		cmocka_unit_test(test_verify_refused),
		cmocka_unit_test(test_verify_malformed),
		cmocka_unit_test(test_ca_hash),
		cmocka_unit_test(test_cert_ids),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_chain_validity),
		cmocka_unit_test(test_local_and_lookup),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
