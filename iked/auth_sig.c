// SPDX-License-Identifier: GPL-2.0-only
/*
 * Public key authentication: AUTH signatures, certificate validation and
 * identity binding. See auth_sig.h for the contract.
 *
 * RFC 7427 AUTH data (method 14):
 *
 *	+--------+-----------------------------+-----------------------+
 *	| ASN.1  | AlgorithmIdentifier (DER)   | signature value       |
 *	| length |                             | (ECDSA: DER Sig-Value)|
 *	+--------+-----------------------------+-----------------------+
 *
 * Classic ECDSA (RFC 4754, methods 9/10/11) carries r | s, each the size
 * of the curve's order, instead of the DER ECDSA-Sig-Value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "auth_sig.h"

static const uint8_t auth_hash_ids[] = { IKEV2_HASH_SHA2_256, IKEV2_HASH_SHA2_384,
					 IKEV2_HASH_SHA2_512, IKEV2_HASH_IDENTITY };

size_t auth_hashes_encode(uint8_t *out, size_t cap)
{
	size_t i, n = sizeof(auth_hash_ids);

	if (cap < 2 * n)
		return 0;
	for (i = 0; i < n; i++) {
		out[2 * i] = 0;
		out[2 * i + 1] = auth_hash_ids[i];
	}
	return 2 * n;
}

unsigned int auth_hashes_decode(const uint8_t *data, size_t len)
{
	unsigned int set = 0;
	size_t i;

	if (len % 2)
		return 0;
	for (i = 0; i < len; i += 2) {
		unsigned int id = (unsigned int)data[i] << 8 | data[i + 1];

		if (id < 16)
			set |= AUTH_HASH_BIT(id);
	}
	return set;
}

static const EVP_MD *auth_hash_md(unsigned int id)
{
	switch (id) {
	case IKEV2_HASH_SHA2_256:
		return EVP_sha256();
	case IKEV2_HASH_SHA2_384:
		return EVP_sha384();
	case IKEV2_HASH_SHA2_512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static bool auth_is_rsa(EVP_PKEY *k)
{
	int t = EVP_PKEY_get_base_id(k);

	return t == EVP_PKEY_RSA || t == EVP_PKEY_RSA_PSS;
}

static bool auth_is_eddsa(EVP_PKEY *k)
{
	int t = EVP_PKEY_get_base_id(k);

	return t == EVP_PKEY_ED25519 || t == EVP_PKEY_ED448;
}

bool auth_key_fits(EVP_PKEY *key, enum conf_auth_method method)
{
	switch (method) {
	case CONF_AUTH_RSA:
		return auth_is_rsa(key);
	case CONF_AUTH_ECDSA:
		return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
	case CONF_AUTH_PUBKEY:
		return auth_is_rsa(key) || auth_is_eddsa(key) ||
		       EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
	default:
		return false;
	}
}

/* Classic ECDSA method and coordinate size for the key's curve, 0 if none. */
static uint8_t auth_ecdsa_classic(EVP_PKEY *k, size_t *coord, const EVP_MD **md)
{
	switch (EVP_PKEY_get_bits(k)) {
	case 256:
		*coord = 32;
		*md = EVP_sha256();
		return IKEV2_AUTH_ECDSA_256;
	case 384:
		*coord = 48;
		*md = EVP_sha384();
		return IKEV2_AUTH_ECDSA_384;
	case 521:
		*coord = 66;
		*md = EVP_sha512();
		return IKEV2_AUTH_ECDSA_521;
	default:
		return 0;
	}
}

/* One-shot sign; @pss selects RSASSA-PSS (salt = hash length, MGF1 with @md).
 * @aid (if not NULL) gets the DER AlgorithmIdentifier of the operation. */
static int auth_do_sign(EVP_PKEY *key, const EVP_MD *md, bool pss, const uint8_t *octets,
			size_t len, uint8_t *aid, size_t *aid_len, uint8_t *sig, size_t *sig_len)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int err = -EIO;

	if (!mctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(mctx, &pctx, md, NULL, key) != 1)
		goto out;
	if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
		goto out;
	if (aid) {
		OSSL_PARAM p[2] = {
			OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid,
							  *aid_len),
			OSSL_PARAM_construct_end(),
		};

		if (EVP_PKEY_CTX_get_params(pctx, p) != 1 || !OSSL_PARAM_modified(&p[0]) ||
		    !p[0].return_size || p[0].return_size > 255)
			goto out;
		*aid_len = p[0].return_size;
	}
	if (EVP_DigestSign(mctx, NULL, sig_len, octets, len) != 1)
		goto out;
	if (EVP_DigestSign(mctx, sig, sig_len, octets, len) != 1)
		goto out;
	err = 0;
out:
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return err;
}

static int auth_sign_classic(EVP_PKEY *key, const uint8_t *octets, size_t len, uint8_t *method,
			     uint8_t *out, size_t *out_len)
{
	uint8_t der[AUTH_SIG_MAX];
	size_t der_len = sizeof(der), coord;
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	const EVP_MD *md;
	ECDSA_SIG *es;
	int err;

	if (auth_is_rsa(key)) {
		/* RFC 7296 method 1: RSASSA-PKCS1-v1_5, SHA-1 by convention */
		if ((size_t)EVP_PKEY_get_size(key) > AUTH_SIG_MAX)
			return -E2BIG;
		*out_len = AUTH_SIG_MAX;
		*method = IKEV2_AUTH_RSA_SIG;
		return auth_do_sign(key, EVP_sha1(), false, octets, len, NULL, NULL, out, out_len);
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return -ENOTSUP;
	*method = auth_ecdsa_classic(key, &coord, &md);
	if (!*method)
		return -ENOTSUP;
	err = auth_do_sign(key, md, false, octets, len, NULL, NULL, der, &der_len);
	if (err)
		return err;
	es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!es)
		return -EIO;
	ECDSA_SIG_get0(es, &r, &s);
	err = BN_bn2binpad(r, out, (int)coord) == (int)coord &&
			      BN_bn2binpad(s, out + coord, (int)coord) == (int)coord ?
		      0 :
		      -EIO;
	ECDSA_SIG_free(es);
	*out_len = 2 * coord;
	return err;
}

int auth_sign(EVP_PKEY *key, unsigned int peer_hashes, bool rsa_pss, const uint8_t *octets,
	      size_t len, uint8_t *method, uint8_t *out, size_t *out_len)
{
	static const uint8_t pref_256[] = { IKEV2_HASH_SHA2_256, IKEV2_HASH_SHA2_384,
					    IKEV2_HASH_SHA2_512 };
	static const uint8_t pref_384[] = { IKEV2_HASH_SHA2_384, IKEV2_HASH_SHA2_512,
					    IKEV2_HASH_SHA2_256 };
	static const uint8_t pref_512[] = { IKEV2_HASH_SHA2_512, IKEV2_HASH_SHA2_384,
					    IKEV2_HASH_SHA2_256 };
	const uint8_t *pref = pref_256;
	const EVP_MD *md = NULL;
	size_t i, aid_len, sig_len;
	int err;

	if (!peer_hashes)
		return auth_sign_classic(key, octets, len, method, out, out_len);
	if (auth_is_eddsa(key)) {
		if (!(peer_hashes & AUTH_HASH_BIT(IKEV2_HASH_IDENTITY)))
			return -ENOTSUP;
	} else {
		if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
			int bits = EVP_PKEY_get_bits(key);

			pref = bits > 384 ? pref_512 : bits > 256 ? pref_384 : pref_256;
		} else if (!auth_is_rsa(key)) {
			return -ENOTSUP;
		}
		for (i = 0; i < sizeof(pref_256) && !md; i++)
			if (peer_hashes & AUTH_HASH_BIT(pref[i]))
				md = auth_hash_md(pref[i]);
		if (!md)
			return -ENOTSUP;
	}
	if ((size_t)EVP_PKEY_get_size(key) + 256 > AUTH_SIG_MAX)
		return -E2BIG;
	/* a key restricted to PSS cannot make PKCS#1 v1.5 signatures */
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA_PSS)
		rsa_pss = true;
	aid_len = 255;
	sig_len = AUTH_SIG_MAX - 256;
	err = auth_do_sign(key, md, auth_is_rsa(key) && rsa_pss, octets, len, out + 1, &aid_len,
			   out + 256, &sig_len);
	if (err)
		return err;
	out[0] = (uint8_t)aid_len;
	memmove(out + 1 + aid_len, out + 256, sig_len);
	*out_len = 1 + aid_len + sig_len;
	*method = IKEV2_AUTH_DIGITAL_SIGNATURE;
	return 0;
}

__attribute__((format(printf, 3, 4))) static void auth_why(char *why, size_t whylen,
							   const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* The hash of an AlgorithmIdentifier (RSASSA-PSS hash or MGF1 parameter):
 * SHA2 only, the ones we announce. */
static const EVP_MD *auth_algor_md(const X509_ALGOR *a)
{
	const ASN1_OBJECT *obj;

	if (!a)
		return NULL; /* the default is SHA-1 */
	X509_ALGOR_get0(&obj, NULL, NULL, a);
	switch (OBJ_obj2nid(obj)) {
	case NID_sha256:
		return EVP_sha256();
	case NID_sha384:
		return EVP_sha384();
	case NID_sha512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* RSASSA-PSS-params of an AlgorithmIdentifier into hash, MGF1 hash, salt. */
static int auth_pss_params(const X509_ALGOR *alg, const EVP_MD **md, const EVP_MD **mgf1, int *salt)
{
	const ASN1_STRING *seq;
	const unsigned char *p;
	RSA_PSS_PARAMS *pss;
	const void *pval;
	int ptype, err = -ENOTSUP;
	long v;

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return -EINVAL;
	seq = pval;
	p = ASN1_STRING_get0_data(seq);
	pss = d2i_RSA_PSS_PARAMS(NULL, &p, ASN1_STRING_length(seq));
	if (!pss)
		return -EINVAL;
	*md = auth_algor_md(pss->hashAlgorithm);
	*mgf1 = NULL;
	if (pss->maskGenAlgorithm) {
		const ASN1_OBJECT *obj;
		const void *mval;
		int mtype;

		/* MGF1's parameter is the AlgorithmIdentifier of its hash */
		X509_ALGOR_get0(&obj, &mtype, &mval, pss->maskGenAlgorithm);
		if (OBJ_obj2nid(obj) == NID_mgf1 && mtype == V_ASN1_SEQUENCE) {
			const ASN1_STRING *ms = mval;
			const unsigned char *mp = ASN1_STRING_get0_data(ms);
			X509_ALGOR *mh = d2i_X509_ALGOR(NULL, &mp, ASN1_STRING_length(ms));

			*mgf1 = auth_algor_md(mh);
			X509_ALGOR_free(mh);
		}
	}
	*salt = 20;
	if (pss->saltLength) {
		v = ASN1_INTEGER_get(pss->saltLength);
		*salt = v < 0 || v > 1024 ? -1 : (int)v;
	}
	if (pss->trailerField && ASN1_INTEGER_get(pss->trailerField) != 1)
		*salt = -1;
	if (*md && *mgf1 && *salt >= 0)
		err = 0;
	RSA_PSS_PARAMS_free(pss);
	return err;
}

static int auth_do_verify(EVP_PKEY *pub, const EVP_MD *md, const EVP_MD *mgf1, int pss_salt,
			  const uint8_t *sig, size_t sig_len, const uint8_t *octets, size_t len)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc, err = -EBADMSG;

	if (!mctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pub) != 1) {
		err = -ENOTSUP;
		goto out;
	}
	if (mgf1 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1) <= 0)) {
		err = -ENOTSUP;
		goto out;
	}
	rc = EVP_DigestVerify(mctx, sig, sig_len, octets, len);
	if (rc == 1)
		err = 0;
out:
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return err;
}

static int auth_verify_7427(EVP_PKEY *pub, const uint8_t *sig, size_t sig_len,
			    const uint8_t *octets, size_t len, char *why, size_t whylen)
{
	const EVP_MD *md = NULL, *mgf1 = NULL;
	const unsigned char *p;
	const ASN1_OBJECT *obj;
	X509_ALGOR *alg;
	size_t aid_len;
	int nid, salt = 0, err;
	bool key_ok;
	char name[80];

	if (sig_len < 1 || (size_t)sig[0] + 1 >= sig_len) {
		auth_why(why, whylen, "%s", "malformed RFC 7427 signature");
		return -EINVAL;
	}
	aid_len = sig[0];
	p = sig + 1;
	alg = d2i_X509_ALGOR(NULL, &p, (long)aid_len);
	if (!alg || p != sig + 1 + aid_len) {
		X509_ALGOR_free(alg);
		ERR_clear_error();
		auth_why(why, whylen, "%s", "malformed AlgorithmIdentifier");
		return -EINVAL;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	nid = OBJ_obj2nid(obj);
	switch (nid) {
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
		md = nid == NID_sha256WithRSAEncryption ? EVP_sha256() :
		     nid == NID_sha384WithRSAEncryption ? EVP_sha384() :
							  EVP_sha512();
		key_ok = auth_is_rsa(pub);
		break;
	case NID_rsassaPss:
		err = auth_pss_params(alg, &md, &mgf1, &salt);
		if (err) {
			X509_ALGOR_free(alg);
			auth_why(
				why, whylen, "%s",
				"RSASSA-PSS parameters not accepted (SHA2 and MGF1 with SHA2 only)");
			return err;
		}
		key_ok = auth_is_rsa(pub);
		break;
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		md = nid == NID_ecdsa_with_SHA256 ? EVP_sha256() :
		     nid == NID_ecdsa_with_SHA384 ? EVP_sha384() :
						    EVP_sha512();
		key_ok = EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC;
		break;
	case NID_ED25519:
	case NID_ED448:
		key_ok = EVP_PKEY_get_base_id(pub) == nid;
		break;
	default:
		OBJ_obj2txt(name, sizeof(name), obj, 0);
		X509_ALGOR_free(alg);
		auth_why(why, whylen, "signature algorithm %s not accepted", name);
		return -ENOTSUP;
	}
	X509_ALGOR_free(alg);
	if (!key_ok) {
		auth_why(why, whylen, "signature algorithm %s does not fit the certificate's key",
			 OBJ_nid2sn(nid));
		return -ENOTSUP;
	}
	err = auth_do_verify(pub, md, mgf1, salt, sig + 1 + aid_len, sig_len - 1 - aid_len, octets,
			     len);
	if (err)
		auth_why(why, whylen, "bad signature (%s)", OBJ_nid2sn(nid));
	return err;
}

static int auth_verify_ecdsa_classic(EVP_PKEY *pub, uint8_t method, const uint8_t *sig,
				     size_t sig_len, const uint8_t *octets, size_t len, char *why,
				     size_t whylen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const EVP_MD *md;
	size_t coord;
	int der_len, err = -EINVAL;

	if (!es)
		return -ENOMEM;
	if (EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
	    auth_ecdsa_classic(pub, &coord, &md) != method) {
		auth_why(why, whylen, "%s", "ECDSA method does not fit the certificate's curve");
		err = -ENOTSUP;
		goto out;
	}
	if (sig_len != 2 * coord) {
		auth_why(why, whylen, "%s", "malformed ECDSA signature");
		goto out;
	}
	r = BN_bin2bn(sig, (int)coord, NULL);
	s = BN_bin2bn(sig + coord, (int)coord, NULL);
	if (!r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		err = -ENOMEM;
		goto out;
	}
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len <= 0) {
		err = -EIO;
		goto out;
	}
	err = auth_do_verify(pub, md, NULL, 0, der, (size_t)der_len, octets, len);
	if (err)
		auth_why(why, whylen, "%s", "bad signature (ECDSA)");
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	ERR_clear_error();
	return err;
}

int auth_verify(EVP_PKEY *pub, uint8_t method, const uint8_t *sig, size_t sig_len,
		const uint8_t *octets, size_t len, char *why, size_t whylen)
{
	int err;

	switch (method) {
	case IKEV2_AUTH_DIGITAL_SIGNATURE:
		return auth_verify_7427(pub, sig, sig_len, octets, len, why, whylen);
	case IKEV2_AUTH_RSA_SIG:
		if (!auth_is_rsa(pub)) {
			auth_why(why, whylen, "%s",
				 "RSA signature but the certificate's key is not RSA");
			return -ENOTSUP;
		}
		err = auth_do_verify(pub, EVP_sha1(), NULL, 0, sig, sig_len, octets, len);
		if (err)
			auth_why(why, whylen, "%s", "bad signature (RSA)");
		return err;
	case IKEV2_AUTH_ECDSA_256:
	case IKEV2_AUTH_ECDSA_384:
	case IKEV2_AUTH_ECDSA_521:
		return auth_verify_ecdsa_classic(pub, method, sig, sig_len, octets, len, why,
						 whylen);
	default:
		auth_why(why, whylen, "%s", "authentication method not accepted");
		return -ENOTSUP;
	}
}

int auth_ca_hash(X509 *ca, uint8_t out[AUTH_CA_HASH_LEN])
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len, err = 0;

	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca), &der);
	if (len <= 0)
		return -EINVAL;
	if (EVP_Digest(der, (size_t)len, out, &n, EVP_sha1(), NULL) != 1 || n != AUTH_CA_HASH_LEN)
		err = -EIO;
	OPENSSL_free(der);
	return err;
}

bool auth_cert_has_id(X509 *cert, unsigned int type, const uint8_t *data, size_t len)
{
	GENERAL_NAMES *gens;
	bool found = false;
	int i, want;

	if (type == IKEV2_ID_DER_ASN1_DN) {
		const unsigned char *p = data;
		X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)len);

		found = n && p == data + len && X509_NAME_cmp(n, X509_get_subject_name(cert)) == 0;
		X509_NAME_free(n);
		ERR_clear_error();
		return found;
	}
	switch (type) {
	case IKEV2_ID_FQDN:
		want = GEN_DNS;
		break;
	case IKEV2_ID_RFC822_ADDR:
		want = GEN_EMAIL;
		break;
	case IKEV2_ID_IPV4_ADDR:
	case IKEV2_ID_IPV6_ADDR:
		if (len != (type == IKEV2_ID_IPV4_ADDR ? 4u : 16u))
			return false;
		want = GEN_IPADD;
		break;
	default:
		return false;
	}
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !found; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;

		if (g->type != want)
			continue;
		s = want == GEN_DNS   ? g->d.dNSName :
		    want == GEN_EMAIL ? g->d.rfc822Name :
					g->d.iPAddress;
		if ((size_t)ASN1_STRING_length(s) != len)
			continue;
		if (want == GEN_IPADD)
			found = !memcmp(ASN1_STRING_get0_data(s), data, len);
		else
			found = !memchr(data, '\0', len) &&
				!strncasecmp((const char *)ASN1_STRING_get0_data(s),
					     (const char *)data, len);
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return found;
}

static void auth_name_str(const X509_NAME *name, char *buf, size_t len)
{
	BIO *bio;
	char *mem;
	long n;
	size_t i;

	if (!len)
		return;
	buf[0] = '\0';
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, name, 0,
			       XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_ESC_CTRL |
				       ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(bio, &mem);
		snprintf(buf, len, "%.*s", (int)(n > 0 ? n : 0), mem);
	}
	BIO_free(bio);
	/* a peer's name: never let its bytes steer the log */
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
}

void auth_cert_subject(X509 *cert, char *buf, size_t len)
{
	auth_name_str(X509_get_subject_name(cert), buf, len);
}

void auth_dn_str(const uint8_t *der, size_t der_len, char *buf, size_t len)
{
	const unsigned char *p = der;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)der_len);

	if (n && p == der + der_len)
		auth_name_str(n, buf, len);
	else if (len)
		snprintf(buf, len, "(malformed DN)");
	X509_NAME_free(n);
	ERR_clear_error();
}

static const char *auth_verify_reason(int code)
{
	switch (code) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not yet valid";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "untrusted";
	case X509_V_ERR_INVALID_CA:
		return "untrusted (issuer is not a CA)";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "bad certificate signature";
	default:
		return "invalid";
	}
}

int auth_cert_verify(const struct conf *conf, X509 *const *anchors, size_t nanchors, X509 *cert,
		     STACK_OF(X509) * untrusted, time_t now, char *why, size_t whylen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *bad;
	char subj[160];
	size_t i, n = 0;
	int rc, code, err = -EACCES;

	if (!store || !ctx) {
		err = -ENOMEM;
		goto out;
	}
	if (nanchors) {
		for (i = 0; i < nanchors; i++)
			n += X509_STORE_add_cert(store, anchors[i]) == 1;
	} else {
		for (i = 0; i < conf->creds.ncacerts; i++)
			n += X509_STORE_add_cert(store, conf->creds.cacerts[i].x509) == 1;
	}
	ERR_clear_error(); /* the same CA twice is not an error */
	if (!n) {
		auth_why(why, whylen, "%s", "untrusted: no CA certificate configured");
		goto out;
	}
	/* As strongSwan, every configured CA certificate is a trust anchor,
	 * an intermediate one too. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1) {
		err = -ENOMEM;
		goto out;
	}
	if (now)
		X509_STORE_CTX_set_time(ctx, 0, now);
	rc = X509_verify_cert(ctx);
	if (rc == 1) {
		err = 0;
		goto out;
	}
	code = X509_STORE_CTX_get_error(ctx);
	bad = X509_STORE_CTX_get_current_cert(ctx);
	subj[0] = '\0';
	if (bad)
		auth_cert_subject(bad, subj, sizeof(subj));
	if (why && whylen)
		snprintf(why, whylen, "%s: %s (at '%s')", auth_verify_reason(code),
			 X509_verify_cert_error_string(code), subj);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return err;
}

X509 *auth_local_cert(const struct conf *conf, const struct conf_auth *la, unsigned int type,
		      const uint8_t *data, size_t len)
{
	size_t i;

	if (la->ncerts)
		return la->certs[0];
	for (i = 0; i < conf->creds.ncerts; i++) {
		X509 *x = conf->creds.certs[i].x509;

		if (auth_cert_has_id(x, type, data, len) && conf_find_key(conf, x))
			return x;
	}
	return NULL;
}

X509 *auth_peer_cert_lookup(const struct conf *conf, unsigned int type, const uint8_t *data,
			    size_t len)
{
	size_t i;

	for (i = 0; i < conf->creds.ncerts; i++) {
		X509 *x = conf->creds.certs[i].x509;

		if (!conf_find_key(conf, x) && auth_cert_has_id(x, type, data, len))
			return x;
	}
	return NULL;
}

size_t auth_chain_intermediates(const struct conf *conf, X509 *cert, X509 **out, size_t max)
{
	X509 *cur = cert;
	size_t n = 0, i;
	bool more = true;

	while (more && n < max) {
		more = false;
		for (i = 0; i < conf->creds.ncacerts; i++) {
			X509 *ca = conf->creds.cacerts[i].x509;

			if (ca == cur || X509_self_signed(ca, 0) == 1 ||
			    X509_check_issued(ca, cur) != X509_V_OK)
				continue;
			out[n++] = ca;
			cur = ca;
			more = true;
			break;
		}
	}
	ERR_clear_error();
	return n;
}
