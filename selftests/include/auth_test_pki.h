/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test-only certificates made with OpenSSL's API: keys of each type, CA and
 * end-entity certificates with subjectAltNames, chosen validity windows.
 * Shared by selftests/unit/test_auth_*.c. Failures abort the test (cmocka).
 */
#ifndef XIPSEC_AUTH_TEST_PKI_H
#define XIPSEC_AUTH_TEST_PKI_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* "p256", "p384", "p521", "rsa" (2048), "rsa3072", "ed25519" */
static inline EVP_PKEY *pki_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (!strcmp(type, "p256"))
		k = EVP_EC_gen("P-256");
	else if (!strcmp(type, "p384"))
		k = EVP_EC_gen("P-384");
	else if (!strcmp(type, "p521"))
		k = EVP_EC_gen("P-521");
	else if (!strcmp(type, "rsa"))
		k = EVP_RSA_gen(2048);
	else if (!strcmp(type, "rsa3072"))
		k = EVP_RSA_gen(3072);
	else if (!strcmp(type, "ed25519"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	return k;
}

static inline void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for @key, subject "O=xipsec test, CN=@cn", issued by
 * @issuer/@issuer_key (NULL: self-signed), valid from now + @from to now +
 * @to seconds. @ca adds basicConstraints CA:TRUE; @san (may be NULL) is an
 * OpenSSL subjectAltName value ("DNS:a,IP:192.0.2.1,email:x@y").
 */
static inline X509 *pki_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *cn,
			     const char *san, int ca, long from, long to)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	EVP_PKEY *signer = issuer_key ? issuer_key : key;
	int st = EVP_PKEY_get_base_id(signer);

	assert_non_null(x);
	assert_non_null(name);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"xipsec test",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	if (ca) {
		pki_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		pki_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		pki_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
	}
	if (san)
		pki_ext(x, issuer, NID_subject_alt_name, san);
	assert_true(X509_sign(x, signer,
			      st == EVP_PKEY_ED25519 || st == EVP_PKEY_ED448 ? NULL :
									       EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

#endif
