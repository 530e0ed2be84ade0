// SPDX-License-Identifier: GPL-2.0-only
/*
 * Key exchange groups 14 (MODP-2048), 19 (P-256), 20 (P-384) and 31
 * (Curve25519) on OpenSSL 3 EVP_PKEY. The wire formats differ from OpenSSL's
 * (ECP points go without the 0x04 prefix), so conversions live here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dh.h"
#include "ikev2.h"

enum dh_kind {
	DH_KIND_MODP,
	DH_KIND_ECP,
	DH_KIND_X25519,
};

struct dh_group_info {
	uint16_t group;
	enum dh_kind kind;
	const char *name;	/* OpenSSL group or algorithm name */
	size_t pub_len;
	size_t secret_len;
};

static const struct dh_group_info dh_groups[] = {
	{ IKEV2_DH_MODP_2048, DH_KIND_MODP, "modp_2048", 256, 256 },
	{ IKEV2_DH_ECP_256, DH_KIND_ECP, "P-256", 64, 32 },
	{ IKEV2_DH_ECP_384, DH_KIND_ECP, "P-384", 96, 48 },
	{ IKEV2_DH_CURVE25519, DH_KIND_X25519, "X25519", 32, 32 },
};

struct dh_ctx {
	const struct dh_group_info *info;
	EVP_PKEY *key;
};

static const struct dh_group_info *dh_info(uint16_t group)
{
	size_t i;

	for (i = 0; i < sizeof(dh_groups) / sizeof(dh_groups[0]); i++)
		if (dh_groups[i].group == group)
			return &dh_groups[i];
	return NULL;
}

bool dh_group_supported(uint16_t group)
{
	return dh_info(group) != NULL;
}

size_t dh_public_len(uint16_t group)
{
	const struct dh_group_info *gi = dh_info(group);

	return gi ? gi->pub_len : 0;
}

size_t dh_secret_len(uint16_t group)
{
	const struct dh_group_info *gi = dh_info(group);

	return gi ? gi->secret_len : 0;
}

uint16_t dh_group(const struct dh_ctx *dh)
{
	return dh->info->group;
}

int dh_new(uint16_t group, struct dh_ctx **out)
{
	const struct dh_group_info *gi = dh_info(group);
	EVP_PKEY_CTX *pctx = NULL;
	struct dh_ctx *dh;
	int err = -EIO;

	*out = NULL;
	if (!gi)
		return -ENOTSUP;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->info = gi;
	switch (gi->kind) {
	case DH_KIND_MODP:
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
		break;
	case DH_KIND_ECP:
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		break;
	case DH_KIND_X25519:
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
		break;
	}
	if (!pctx || EVP_PKEY_keygen_init(pctx) <= 0)
		goto out;
	if (gi->kind != DH_KIND_X25519 && EVP_PKEY_CTX_set_group_name(pctx, gi->name) <= 0)
		goto out;
	if (EVP_PKEY_generate(pctx, &dh->key) <= 0)
		goto out;
	*out = dh;
	dh = NULL;
	err = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	dh_free(dh);
	return err;
}

/* An EVP_PKEY from group name plus one parameter, via EVP_PKEY_fromdata. */
static EVP_PKEY *dh_fromdata(const char *alg, const char *group, const char *param,
			     const BIGNUM *bn, const uint8_t *oct, size_t oct_len, int selection)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (!bld)
		return NULL;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0))
		goto out;
	if (bn && !OSSL_PARAM_BLD_push_BN(bld, param, bn))
		goto out;
	if (oct && !OSSL_PARAM_BLD_push_octet_string(bld, param, oct, oct_len))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) <= 0)
		goto out;
	if (EVP_PKEY_fromdata(pctx, &pkey, selection, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	/* frees (and clears) the secure copy of a private scalar */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

int dh_new_private(uint16_t group, const uint8_t *priv, size_t len, struct dh_ctx **out)
{
	const struct dh_group_info *gi = dh_info(group);
	struct dh_ctx *dh;
	BIGNUM *bn;

	*out = NULL;
	if (!gi || gi->kind == DH_KIND_MODP)
		return -ENOTSUP;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->info = gi;
	if (gi->kind == DH_KIND_X25519) {
		if (len != 32)
			goto inval;
		dh->key = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, len);
	} else {
		if (len > 80)
			goto inval;
		bn = BN_secure_new();
		if (!bn || !BN_bin2bn(priv, (int)len, bn)) {
			BN_clear_free(bn);
			dh_free(dh);
			return -ENOMEM;
		}
		dh->key = dh_fromdata("EC", gi->name, OSSL_PKEY_PARAM_PRIV_KEY, bn, NULL, 0,
				      EVP_PKEY_KEYPAIR);
		BN_clear_free(bn);
	}
	if (!dh->key)
		goto inval;
	*out = dh;
	return 0;
inval:
	dh_free(dh);
	return -EINVAL;
}

void dh_free(struct dh_ctx *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->key);
	free(dh);
}

int dh_public(const struct dh_ctx *dh, uint8_t *out, size_t len)
{
	const struct dh_group_info *gi = dh->info;
	uint8_t pt[1 + 2 * 66];
	size_t n = 0;
	BIGNUM *bn = NULL;
	int err = -EIO;

	if (len != gi->pub_len)
		return -EINVAL;
	switch (gi->kind) {
	case DH_KIND_MODP:
		if (!EVP_PKEY_get_bn_param(dh->key, OSSL_PKEY_PARAM_PUB_KEY, &bn))
			break;
		if (BN_bn2binpad(bn, out, (int)len) == (int)len)
			err = 0;
		BN_free(bn);
		break;
	case DH_KIND_ECP:
		/* OpenSSL encodes 0x04 | x | y; IKE sends x | y (RFC 5903 7) */
		if (!EVP_PKEY_get_octet_string_param(dh->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
						     pt, sizeof(pt), &n))
			break;
		if (n == len + 1 && pt[0] == 0x04) {
			memcpy(out, pt + 1, len);
			err = 0;
		}
		break;
	case DH_KIND_X25519:
		n = len;
		if (EVP_PKEY_get_raw_public_key(dh->key, out, &n) && n == len)
			err = 0;
		break;
	}
	return err;
}

/*
 * Build the peer's key and validate it. MODP: 1 < y < p-1 (RFC 7296 5,
 * RFC 6989) and OpenSSL's public key check; ECP: the point decodes and
 * lies on the curve. X25519 has no invalid encodings of 32 bytes; low-order
 * points show up as an all-zero secret in dh_derive().
 */
static int dh_peer_key(const struct dh_group_info *gi, const uint8_t *peer, size_t len,
		       EVP_PKEY **out)
{
	EVP_PKEY_CTX *cctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *y = NULL, *pm1 = NULL;
	uint8_t pt[1 + 2 * 66];
	int err = -EINVAL;

	*out = NULL;
	if (len != gi->pub_len)
		return -EINVAL;
	switch (gi->kind) {
	case DH_KIND_MODP:
		y = BN_bin2bn(peer, (int)len, NULL);
		pm1 = BN_get_rfc3526_prime_2048(NULL);
		if (!y || !pm1 || !BN_sub_word(pm1, 1)) {
			err = -ENOMEM;
			goto out;
		}
		if (BN_cmp(y, BN_value_one()) <= 0 || BN_cmp(y, pm1) >= 0)
			goto out;
		pkey = dh_fromdata("DH", gi->name, OSSL_PKEY_PARAM_PUB_KEY, y, NULL, 0,
				   EVP_PKEY_PUBLIC_KEY);
		break;
	case DH_KIND_ECP:
		pt[0] = 0x04;
		memcpy(pt + 1, peer, len);
		pkey = dh_fromdata("EC", gi->name, OSSL_PKEY_PARAM_PUB_KEY, NULL, pt, len + 1,
				   EVP_PKEY_PUBLIC_KEY);
		break;
	case DH_KIND_X25519:
		pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer, len);
		break;
	}
	if (!pkey)
		goto out;
	if (gi->kind != DH_KIND_X25519) {
		cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (!cctx || EVP_PKEY_public_check(cctx) != 1)
			goto out;
	}
	*out = pkey;
	pkey = NULL;
	err = 0;
out:
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_free(pkey);
	BN_free(y);
	BN_free(pm1);
	return err;
}

int dh_check_peer(uint16_t group, const uint8_t *peer, size_t len)
{
	const struct dh_group_info *gi = dh_info(group);
	EVP_PKEY *pkey;
	int err;

	if (!gi)
		return -ENOTSUP;
	err = dh_peer_key(gi, peer, len, &pkey);
	EVP_PKEY_free(pkey);
	return err;
}

int dh_derive(struct dh_ctx *dh, const uint8_t *peer, size_t peer_len, uint8_t *out,
	      size_t out_len)
{
	const struct dh_group_info *gi = dh->info;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t n = out_len;
	uint8_t acc = 0;
	size_t i;
	int err;

	if (out_len != gi->secret_len)
		return -EINVAL;
	err = dh_peer_key(gi, peer, peer_len, &pkey);
	if (err)
		return err;
	err = -EIO;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->key, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0)
		goto out;
	/* g^ir keeps its leading zeros: it is fixed length in SKEYSEED */
	if (gi->kind == DH_KIND_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) <= 0)
		goto out;
	if (EVP_PKEY_derive_set_peer(ctx, pkey) <= 0) {
		err = -EINVAL;
		goto out;
	}
	if (EVP_PKEY_derive(ctx, out, &n) <= 0) {
		/* OpenSSL refuses an all-zero X25519 result itself */
		err = gi->kind == DH_KIND_X25519 ? -EINVAL : -EIO;
		goto out;
	}
	if (n != out_len)
		goto out;
	/* RFC 8031 2.3 / RFC 7748 6.1: refuse the all-zero X25519 output,
	 * whatever the OpenSSL version does; constant time. */
	for (i = 0; i < n; i++)
		acc |= out[i];
	if (gi->kind == DH_KIND_X25519 && acc == 0) {
		err = -EINVAL;
		goto out;
	}
	err = 0;
out:
	if (err)
		OPENSSL_cleanse(out, out_len);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return err;
}
