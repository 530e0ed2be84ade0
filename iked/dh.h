/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKEv2 key exchange (RFC 7296 2.10, RFC 5903 ECP, RFC 8031 Curve25519) on
 * OpenSSL 3 EVP_PKEY.
 *
 * Wire formats: MODP public values are big-endian integers padded to the
 * modulus length; ECP values are x || y without the 0x04 prefix; Curve25519
 * is the 32-byte u coordinate. Shared secrets come out in the same fixed
 * lengths (leading zeros kept), as SKEYSEED needs them.
 *
 * Every peer value is validated before use: exact length, 1 < y < p-1 for
 * MODP, on the curve (and not infinity) for ECP; an all-zero X25519 result
 * (a low-order peer point) is refused.
 */
#ifndef XIKED_DH_H
#define XIKED_DH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DH_MAX_PUBLIC_LEN	256	/* MODP-2048 */
#define DH_MAX_SECRET_LEN	256

struct dh_ctx;

bool dh_group_supported(uint16_t group);
/* Length of the KE payload data / of g^ir for @group, 0 if unsupported. */
size_t dh_public_len(uint16_t group);
size_t dh_secret_len(uint16_t group);

/* A fresh key pair for @group. -ENOTSUP for groups we do not implement. */
int dh_new(uint16_t group, struct dh_ctx **out);
/* A key from a known private value (tests, Wycheproof vectors): big-endian
 * scalar for ECP, 32 bytes for X25519; -ENOTSUP for MODP. Only dh_derive()
 * is guaranteed to work on it (ECP keys made this way have no public part). */
int dh_new_private(uint16_t group, const uint8_t *priv, size_t len, struct dh_ctx **out);
void dh_free(struct dh_ctx *dh);

uint16_t dh_group(const struct dh_ctx *dh);
/* Our public value in wire format; @len must be dh_public_len(). */
int dh_public(const struct dh_ctx *dh, uint8_t *out, size_t len);
/* Validate a peer's public value without deriving: 0 or -EINVAL. */
int dh_check_peer(uint16_t group, const uint8_t *peer, size_t len);
/* g^ir with the peer's value; @out_len must be dh_secret_len(). -EINVAL for
 * an invalid peer value. The caller scrubs @out. */
int dh_derive(struct dh_ctx *dh, const uint8_t *peer, size_t peer_len, uint8_t *out,
	      size_t out_len);

#endif
