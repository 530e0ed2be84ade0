/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Public key authentication for IKEv2: AUTH payload signatures (RFC 7427
 * "Digital Signature" method 14, and the classic RSA (1) and ECDSA (9, 10,
 * 11) methods of RFC 7296 / RFC 4754), the SIGNATURE_HASH_ALGORITHMS notify
 * (RFC 7427 4), CERTREQ CA key hashes (RFC 7296 3.7), certificate chain
 * validation against the configured trust anchors, and the binding of an
 * IKE identity to a certificate.
 *
 * Nothing here knows about IKE SAs: the engine assembles the signed octets
 * (RFC 7296 2.15) and hands them in. Functions return 0 or -errno and, where
 * a peer is refused, write a short reason for the log into @why ("untrusted:
 * unable to get local issuer certificate", "bad signature", ...). Nothing
 * here logs and no key material is ever formatted.
 */
#ifndef XIKED_AUTH_SIG_H
#define XIKED_AUTH_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "conf.h"

/* AUTH payload data: ASN.1 length + AlgorithmIdentifier + a signature of RSA keys up to 7552 bits. */
#define AUTH_SIG_MAX 1200
/* CERTREQ: one 20-byte SHA-1 hash per trusted CA */
#define AUTH_CA_HASH_LEN 20

/* Bits of a hash set: bit n is RFC 7427 hash algorithm ID n (IKEV2_HASH_*). */
#define AUTH_HASH_BIT(id) (1u << (id))
/* What we implement and announce: SHA2-256/384/512 and Identity (EdDSA). */
#define AUTH_HASHES_OURS                                                           \
	(AUTH_HASH_BIT(IKEV2_HASH_SHA2_256) | AUTH_HASH_BIT(IKEV2_HASH_SHA2_384) | \
	 AUTH_HASH_BIT(IKEV2_HASH_SHA2_512) | AUTH_HASH_BIT(IKEV2_HASH_IDENTITY))

/* SIGNATURE_HASH_ALGORITHMS notify data for AUTH_HASHES_OURS; @cap >= 8. Returns the length. */
size_t auth_hashes_encode(uint8_t *out, size_t cap);
/* The peer's notify data as a hash set (unknown IDs ignored); 0 for odd lengths. */
unsigned int auth_hashes_decode(const uint8_t *data, size_t len);

/*
 * Sign @octets with @key for the AUTH payload. @peer_hashes is the peer's
 * announced hash set: 0 (no notify) selects a classic method (ECDSA 9/10/11
 * by curve, RSA 1 with SHA-1), otherwise method 14 with the strongest
 * fitting hash the peer accepts (ECDSA: the hash of the curve's size first;
 * RSA: SHA-256 first, RSASSA-PKCS1-v1_5, or RSASSA-PSS with @rsa_pss).
 * @out gets AUTH_SIG_MAX bytes at most. -ENOTSUP if no method fits the key.
 */
int auth_sign(EVP_PKEY *key, unsigned int peer_hashes, bool rsa_pss, const uint8_t *octets,
	      size_t len, uint8_t *method, uint8_t *out, size_t *out_len);

/*
 * Verify the AUTH payload (@method, @sig) over @octets with @pub.
 * Method 14 accepts sha256/384/512WithRSAEncryption, RSASSA-PSS with SHA2
 * (MGF1 with the same hash), ecdsa-with-SHA256/384/512 and Ed25519/Ed448;
 * classic methods 1, 9, 10, 11. -EBADMSG for a wrong signature, -ENOTSUP for
 * an algorithm we do not accept, -EINVAL for malformed data; @why says which.
 */
int auth_verify(EVP_PKEY *pub, uint8_t method, const uint8_t *sig, size_t sig_len,
		const uint8_t *octets, size_t len, char *why, size_t whylen);

/* SHA-1 over the DER SubjectPublicKeyInfo of @ca (RFC 7296 3.7 CERTREQ). */
int auth_ca_hash(X509 *ca, uint8_t out[AUTH_CA_HASH_LEN]);

/*
 * True if @cert names identity @type/@data (an ID payload body after the
 * 4-byte header): DER_ASN1_DN against the subject, FQDN / RFC822 against
 * dNSName / rfc822Name subjectAltNames (case-insensitive), IPV4/IPV6 against
 * iPAddress subjectAltNames.
 */
bool auth_cert_has_id(X509 *cert, unsigned int type, const uint8_t *data, size_t len);

/* True if the key is acceptable for @method (CONF_AUTH_RSA needs RSA, ...). */
bool auth_key_fits(EVP_PKEY *key, enum conf_auth_method method);

/*
 * Validate @cert up to a trust anchor: @anchors (a remote round's cacerts)
 * if not empty, else every CA certificate of @conf. @untrusted are further
 * certificates the peer sent (intermediates), may be NULL. Checks signatures,
 * validity times at @now (0: the current time) and basic constraints.
 * -EACCES with @why ("untrusted: ...", "expired", "not yet valid") if it
 * does not validate.
 */
int auth_cert_verify(const struct conf *conf, X509 *const *anchors, size_t nanchors, X509 *cert,
		     STACK_OF(X509) * untrusted, time_t now, char *why, size_t whylen);

/*
 * Our certificate for local round @la with identity @type/@data: its first
 * `certs` entry, else the first certificate of x509/ that names the
 * identity and has a private key. NULL if none.
 */
X509 *auth_local_cert(const struct conf *conf, const struct conf_auth *la, unsigned int type,
		      const uint8_t *data, size_t len);

/* A certificate of x509/ naming the peer's identity, for a peer that sends
 * none (strongSwan looks its store up the same way); NULL if none. */
X509 *auth_peer_cert_lookup(const struct conf *conf, unsigned int type, const uint8_t *data,
			    size_t len);

/* The CA certificates of @conf (not self-signed ones) that issued @cert or,
 * recursively, its issuers: the intermediates to send after it. At most
 * @max are stored in @out; returns how many. */
size_t auth_chain_intermediates(const struct conf *conf, X509 *cert, X509 **out, size_t max);

/* Subject DN of @cert as text ("O=x, CN=y") for logs. */
void auth_cert_subject(X509 *cert, char *buf, size_t len);
/* A DER distinguished name (ID_DER_ASN1_DN payload data) as text. */
void auth_dn_str(const uint8_t *der, size_t der_len, char *buf, size_t len);

#endif
