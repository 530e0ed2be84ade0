// SPDX-License-Identifier: GPL-2.0-only
/*
 * IKEv2 payload chain walking, typed payload parsing, payload encoding, and
 * the protocol name tables. See ikev2_pld.h for the contracts.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "dh.h"
#include "ikev2.h"
#include "ikev2_pld.h"

/* ---- name tables ---- */

struct ikev2_name {
	unsigned int val;
	const char *name;
};

#define N(pfx, x) { pfx##x, #x }

static const struct ikev2_name ikev2_exchange_names[] = {
	N(IKEV2_EXCH_, IKE_SA_INIT), N(IKEV2_EXCH_, IKE_AUTH), N(IKEV2_EXCH_, CREATE_CHILD_SA),
	N(IKEV2_EXCH_, INFORMATIONAL), N(IKEV2_EXCH_, IKE_SESSION_RESUME),
	N(IKEV2_EXCH_, IKE_INTERMEDIATE),
};

static const struct ikev2_name ikev2_pld_names[] = {
	N(IKEV2_PLD_, NONE), N(IKEV2_PLD_, SA), N(IKEV2_PLD_, KE), N(IKEV2_PLD_, IDI),
	N(IKEV2_PLD_, IDR), N(IKEV2_PLD_, CERT), N(IKEV2_PLD_, CERTREQ), N(IKEV2_PLD_, AUTH),
	N(IKEV2_PLD_, NONCE), N(IKEV2_PLD_, NOTIFY), N(IKEV2_PLD_, DELETE), N(IKEV2_PLD_, VENDOR),
	N(IKEV2_PLD_, TSI), N(IKEV2_PLD_, TSR), N(IKEV2_PLD_, SK), N(IKEV2_PLD_, CP),
	N(IKEV2_PLD_, EAP), N(IKEV2_PLD_, SKF),
};

static const struct ikev2_name ikev2_proto_names[] = {
	N(IKEV2_PROTO_, NONE), N(IKEV2_PROTO_, IKE), N(IKEV2_PROTO_, AH), N(IKEV2_PROTO_, ESP),
};

static const struct ikev2_name ikev2_xform_type_names[] = {
	N(IKEV2_XFORM_, ENCR), N(IKEV2_XFORM_, PRF), N(IKEV2_XFORM_, INTEG),
	N(IKEV2_XFORM_, DH), N(IKEV2_XFORM_, ESN),
};

static const struct ikev2_name ikev2_encr_names[] = {
	N(IKEV2_ENCR_, DES), N(IKEV2_ENCR_, 3DES), N(IKEV2_ENCR_, NULL), N(IKEV2_ENCR_, AES_CBC),
	N(IKEV2_ENCR_, AES_CTR), N(IKEV2_ENCR_, AES_CCM_8), N(IKEV2_ENCR_, AES_CCM_12),
	N(IKEV2_ENCR_, AES_CCM_16), N(IKEV2_ENCR_, AES_GCM_8), N(IKEV2_ENCR_, AES_GCM_12),
	N(IKEV2_ENCR_, AES_GCM_16), N(IKEV2_ENCR_, NULL_AUTH_AES_GMAC),
	N(IKEV2_ENCR_, CHACHA20_POLY1305),
};

static const struct ikev2_name ikev2_prf_names[] = {
	N(IKEV2_PRF_, HMAC_MD5), N(IKEV2_PRF_, HMAC_SHA1), N(IKEV2_PRF_, AES128_XCBC),
	N(IKEV2_PRF_, HMAC_SHA2_256), N(IKEV2_PRF_, HMAC_SHA2_384), N(IKEV2_PRF_, HMAC_SHA2_512),
	N(IKEV2_PRF_, AES128_CMAC),
};

static const struct ikev2_name ikev2_integ_names[] = {
	N(IKEV2_INTEG_, NONE), N(IKEV2_INTEG_, HMAC_MD5_96), N(IKEV2_INTEG_, HMAC_SHA1_96),
	N(IKEV2_INTEG_, AES_XCBC_96), N(IKEV2_INTEG_, AES_CMAC_96),
	N(IKEV2_INTEG_, HMAC_SHA2_256_128), N(IKEV2_INTEG_, HMAC_SHA2_384_192),
	N(IKEV2_INTEG_, HMAC_SHA2_512_256),
};

static const struct ikev2_name ikev2_dh_names[] = {
	N(IKEV2_DH_, NONE), N(IKEV2_DH_, MODP_1024), N(IKEV2_DH_, MODP_1536),
	N(IKEV2_DH_, MODP_2048), N(IKEV2_DH_, MODP_3072), N(IKEV2_DH_, MODP_4096),
	N(IKEV2_DH_, ECP_256), N(IKEV2_DH_, ECP_384), N(IKEV2_DH_, ECP_521),
	N(IKEV2_DH_, CURVE25519), N(IKEV2_DH_, CURVE448),
};

static const struct ikev2_name ikev2_esn_names[] = {
	N(IKEV2_ESN_, NO), N(IKEV2_ESN_, YES),
};

static const struct ikev2_name ikev2_id_names[] = {
	N(IKEV2_ID_, IPV4_ADDR), N(IKEV2_ID_, FQDN), N(IKEV2_ID_, RFC822_ADDR),
	N(IKEV2_ID_, IPV6_ADDR), N(IKEV2_ID_, DER_ASN1_DN), N(IKEV2_ID_, DER_ASN1_GN),
	N(IKEV2_ID_, KEY_ID),
};

static const struct ikev2_name ikev2_auth_names[] = {
	N(IKEV2_AUTH_, RSA_SIG), N(IKEV2_AUTH_, SHARED_KEY_MIC), N(IKEV2_AUTH_, DSS_SIG),
	N(IKEV2_AUTH_, ECDSA_256), N(IKEV2_AUTH_, ECDSA_384), N(IKEV2_AUTH_, ECDSA_521),
	N(IKEV2_AUTH_, NULL), N(IKEV2_AUTH_, DIGITAL_SIGNATURE),
};

static const struct ikev2_name ikev2_cert_names[] = {
	N(IKEV2_CERT_, PKCS7_X509), N(IKEV2_CERT_, PGP), N(IKEV2_CERT_, DNS_SIGNED_KEY),
	N(IKEV2_CERT_, X509_SIG), N(IKEV2_CERT_, KERBEROS), N(IKEV2_CERT_, X509_CRL),
	N(IKEV2_CERT_, X509_ARL), N(IKEV2_CERT_, SPKI), N(IKEV2_CERT_, X509_ATTR),
	N(IKEV2_CERT_, RAW_RSA_KEY), N(IKEV2_CERT_, HASH_URL_X509),
	N(IKEV2_CERT_, HASH_URL_BUNDLE), N(IKEV2_CERT_, RAW_PUBLIC_KEY),
};

static const struct ikev2_name ikev2_notify_names[] = {
	N(IKEV2_N_, UNSUPPORTED_CRITICAL_PAYLOAD), N(IKEV2_N_, INVALID_IKE_SPI),
	N(IKEV2_N_, INVALID_MAJOR_VERSION), N(IKEV2_N_, INVALID_SYNTAX),
	N(IKEV2_N_, INVALID_MESSAGE_ID), N(IKEV2_N_, INVALID_SPI),
	N(IKEV2_N_, NO_PROPOSAL_CHOSEN), N(IKEV2_N_, INVALID_KE_PAYLOAD),
	N(IKEV2_N_, AUTHENTICATION_FAILED), N(IKEV2_N_, SINGLE_PAIR_REQUIRED),
	N(IKEV2_N_, NO_ADDITIONAL_SAS), N(IKEV2_N_, INTERNAL_ADDRESS_FAILURE),
	N(IKEV2_N_, FAILED_CP_REQUIRED), N(IKEV2_N_, TS_UNACCEPTABLE),
	N(IKEV2_N_, INVALID_SELECTORS), N(IKEV2_N_, TEMPORARY_FAILURE),
	N(IKEV2_N_, CHILD_SA_NOT_FOUND), N(IKEV2_N_, INITIAL_CONTACT),
	N(IKEV2_N_, SET_WINDOW_SIZE), N(IKEV2_N_, ADDITIONAL_TS_POSSIBLE),
	N(IKEV2_N_, IPCOMP_SUPPORTED), N(IKEV2_N_, NAT_DETECTION_SOURCE_IP),
	N(IKEV2_N_, NAT_DETECTION_DESTINATION_IP), N(IKEV2_N_, COOKIE),
	N(IKEV2_N_, USE_TRANSPORT_MODE), N(IKEV2_N_, HTTP_CERT_LOOKUP_SUPPORTED),
	N(IKEV2_N_, REKEY_SA), N(IKEV2_N_, ESP_TFC_PADDING_NOT_SUPPORTED),
	N(IKEV2_N_, NON_FIRST_FRAGMENTS_ALSO), N(IKEV2_N_, MOBIKE_SUPPORTED),
	N(IKEV2_N_, ADDITIONAL_IP4_ADDRESS), N(IKEV2_N_, ADDITIONAL_IP6_ADDRESS),
	N(IKEV2_N_, NO_ADDITIONAL_ADDRESSES), N(IKEV2_N_, UPDATE_SA_ADDRESSES),
	N(IKEV2_N_, COOKIE2), N(IKEV2_N_, NO_NATS_ALLOWED), N(IKEV2_N_, AUTH_LIFETIME),
	N(IKEV2_N_, MULTIPLE_AUTH_SUPPORTED), N(IKEV2_N_, ANOTHER_AUTH_FOLLOWS),
	N(IKEV2_N_, REDIRECT_SUPPORTED), N(IKEV2_N_, REDIRECT),
	N(IKEV2_N_, CHILDLESS_IKEV2_SUPPORTED), N(IKEV2_N_, IKEV2_FRAGMENTATION_SUPPORTED),
	N(IKEV2_N_, SIGNATURE_HASH_ALGORITHMS), N(IKEV2_N_, INTERMEDIATE_EXCHANGE_SUPPORTED),
};

static const struct ikev2_name ikev2_cfg_attr_names[] = {
	N(IKEV2_CFG_, INTERNAL_IP4_ADDRESS), N(IKEV2_CFG_, INTERNAL_IP4_NETMASK),
	N(IKEV2_CFG_, INTERNAL_IP4_DNS), N(IKEV2_CFG_, INTERNAL_IP4_NBNS),
	N(IKEV2_CFG_, INTERNAL_IP4_DHCP), N(IKEV2_CFG_, APPLICATION_VERSION),
	N(IKEV2_CFG_, INTERNAL_IP6_ADDRESS), N(IKEV2_CFG_, INTERNAL_IP6_DNS),
	N(IKEV2_CFG_, INTERNAL_IP6_DHCP), N(IKEV2_CFG_, INTERNAL_IP4_SUBNET),
	N(IKEV2_CFG_, SUPPORTED_ATTRIBUTES), N(IKEV2_CFG_, INTERNAL_IP6_SUBNET),
};

#undef N

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *ikev2_lookup(const struct ikev2_name *tbl, size_t n, unsigned int val)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tbl[i].val == val)
			return tbl[i].name;
	return "UNKNOWN";
}

#define LOOKUP(tbl, v) ikev2_lookup(tbl, ARRAY_SIZE(tbl), v)

const char *ikev2_exchange_name(unsigned int exch)
{
	return LOOKUP(ikev2_exchange_names, exch);
}

const char *ikev2_pld_type_name(unsigned int type)
{
	return LOOKUP(ikev2_pld_names, type);
}

const char *ikev2_proto_name(unsigned int proto)
{
	return LOOKUP(ikev2_proto_names, proto);
}

const char *ikev2_xform_type_name(unsigned int type)
{
	return LOOKUP(ikev2_xform_type_names, type);
}

const char *ikev2_xform_id_name(unsigned int type, unsigned int id)
{
	switch (type) {
	case IKEV2_XFORM_ENCR:
		return LOOKUP(ikev2_encr_names, id);
	case IKEV2_XFORM_PRF:
		return LOOKUP(ikev2_prf_names, id);
	case IKEV2_XFORM_INTEG:
		return LOOKUP(ikev2_integ_names, id);
	case IKEV2_XFORM_DH:
		return LOOKUP(ikev2_dh_names, id);
	case IKEV2_XFORM_ESN:
		return LOOKUP(ikev2_esn_names, id);
	}
	return "UNKNOWN";
}

const char *ikev2_id_type_name(unsigned int type)
{
	return LOOKUP(ikev2_id_names, type);
}

const char *ikev2_auth_method_name(unsigned int method)
{
	return LOOKUP(ikev2_auth_names, method);
}

const char *ikev2_cert_encoding_name(unsigned int enc)
{
	return LOOKUP(ikev2_cert_names, enc);
}

const char *ikev2_notify_name(unsigned int type)
{
	return LOOKUP(ikev2_notify_names, type);
}

const char *ikev2_cfg_attr_name(unsigned int type)
{
	return LOOKUP(ikev2_cfg_attr_names, type);
}

static const char *const ikev2_perr_names[IKEV2_PERR_MAX] = {
	[IKEV2_PERR_NONE] = "no error",
	[IKEV2_PERR_TRUNCATED] = "truncated",
	[IKEV2_PERR_BAD_VERSION] = "unsupported major version",
	[IKEV2_PERR_LENGTH_MISMATCH] = "header length differs from datagram length",
	[IKEV2_PERR_PLD_TOO_SHORT] = "payload length below minimum",
	[IKEV2_PERR_PLD_OVERRUN] = "payload runs past the end",
	[IKEV2_PERR_TRAILING_DATA] = "data after the last payload",
	[IKEV2_PERR_TOO_MANY_PAYLOADS] = "too many payloads",
	[IKEV2_PERR_UNSUPPORTED_CRITICAL] = "unsupported critical payload",
	[IKEV2_PERR_SK_NOT_LAST] = "encrypted payload is not the last one",
	[IKEV2_PERR_BAD_PROPOSAL] = "malformed proposal",
	[IKEV2_PERR_BAD_TRANSFORM] = "malformed transform",
	[IKEV2_PERR_BAD_ATTRIBUTE] = "malformed transform attribute",
	[IKEV2_PERR_TOO_MANY_PROPOSALS] = "too many proposals",
	[IKEV2_PERR_TOO_MANY_XFORMS] = "too many transforms",
	[IKEV2_PERR_BAD_SPI_SIZE] = "invalid SPI size",
	[IKEV2_PERR_BAD_KE_LENGTH] = "KE data length does not match the group",
	[IKEV2_PERR_BAD_NONCE_LENGTH] = "nonce length outside 16..256",
	[IKEV2_PERR_BAD_ID] = "malformed identification",
	[IKEV2_PERR_BAD_TS] = "malformed traffic selector",
	[IKEV2_PERR_TOO_MANY_TS] = "too many traffic selectors",
	[IKEV2_PERR_BAD_DELETE] = "malformed delete payload",
	[IKEV2_PERR_BAD_CP] = "malformed configuration payload",
	[IKEV2_PERR_TOO_MANY_CP_ATTRS] = "too many configuration attributes",
	[IKEV2_PERR_BAD_SK] = "malformed encrypted payload",
	[IKEV2_PERR_ICV_MISMATCH] = "integrity check failed",
};

const char *ikev2_perr_name(enum ikev2_perr reason)
{
	if ((unsigned int)reason >= IKEV2_PERR_MAX || !ikev2_perr_names[reason])
		return "unknown parse error";
	return ikev2_perr_names[reason];
}

uint16_t ikev2_perr_notify(enum ikev2_perr reason)
{
	switch (reason) {
	case IKEV2_PERR_NONE:
		return 0;
	case IKEV2_PERR_BAD_VERSION:
		return IKEV2_N_INVALID_MAJOR_VERSION;
	case IKEV2_PERR_UNSUPPORTED_CRITICAL:
		return IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD;
	case IKEV2_PERR_BAD_KE_LENGTH:
		return IKEV2_N_INVALID_SYNTAX;
	case IKEV2_PERR_ICV_MISMATCH:
	case IKEV2_PERR_BAD_SK:
		/* RFC 7296 2.21.2: failed integrity checks are dropped silently */
		return 0;
	default:
		return IKEV2_N_INVALID_SYNTAX;
	}
}

/* ---- reading helpers; callers have checked the length ---- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int perr(enum ikev2_perr *reason, enum ikev2_perr r, int err)
{
	if (reason)
		*reason = r;
	return err;
}

bool ikev2_pld_known(uint8_t type)
{
	switch (type) {
	case IKEV2_PLD_SA:
	case IKEV2_PLD_KE:
	case IKEV2_PLD_IDI:
	case IKEV2_PLD_IDR:
	case IKEV2_PLD_CERT:
	case IKEV2_PLD_CERTREQ:
	case IKEV2_PLD_AUTH:
	case IKEV2_PLD_NONCE:
	case IKEV2_PLD_NOTIFY:
	case IKEV2_PLD_DELETE:
	case IKEV2_PLD_VENDOR:
	case IKEV2_PLD_TSI:
	case IKEV2_PLD_TSR:
	case IKEV2_PLD_SK:
	case IKEV2_PLD_CP:
		return true;
	}
	return false;
}

/*
 *  0                   1                   2                   3
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       IKE SA Initiator's SPI                  |
 *  |                                                               |
 *  |                       IKE SA Responder's SPI                  |
 *  |                                                               |
 *  |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 *  |                          Message ID                           |
 *  |                            Length                             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
int ikev2_hdr_parse(const uint8_t *buf, size_t len, struct ikev2_hdr *hdr,
		    enum ikev2_perr *reason)
{
	if (len < IKEV2_HDR_LEN)
		return perr(reason, IKEV2_PERR_TRUNCATED, -EBADMSG);
	hdr->ispi = get64(buf);
	hdr->rspi = get64(buf + 8);
	hdr->next = buf[16];
	hdr->version = buf[17];
	hdr->exchange = buf[18];
	hdr->flags = buf[19];
	hdr->msgid = get32(buf + 20);
	hdr->length = get32(buf + 24);
	if (IKEV2_MAJOR(hdr->version) != 2)
		return perr(reason, IKEV2_PERR_BAD_VERSION, -EPROTONOSUPPORT);
	if (hdr->length != len)
		return perr(reason, IKEV2_PERR_LENGTH_MISMATCH, -EBADMSG);
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_chain(uint8_t first, uint8_t *buf, size_t len, struct ikev2_pld_list *list,
			  enum ikev2_perr *reason)
{
	unsigned int seen = 0;
	uint8_t type = first;
	size_t pos = 0;

	list->n = 0;
	list->n_skipped = 0;
	list->unsupported_type = 0;

	while (type != IKEV2_PLD_NONE) {
		uint8_t next, flags;
		uint16_t plen;

		/* Each payload consumes >= 4 bytes, so the chain cannot loop;
		 * the bound caps work on long chains of tiny payloads. */
		if (++seen > IKEV2_MAX_PAYLOADS)
			return perr(reason, IKEV2_PERR_TOO_MANY_PAYLOADS, -E2BIG);
		if (len - pos < IKEV2_PLD_HDR_LEN)
			return perr(reason, IKEV2_PERR_TRUNCATED, -EBADMSG);
		next = buf[pos];
		flags = buf[pos + 1];
		plen = get16(buf + pos + 2);
		if (plen < IKEV2_PLD_HDR_LEN)
			return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
		if (plen > len - pos)
			return perr(reason, IKEV2_PERR_PLD_OVERRUN, -EBADMSG);

		if (ikev2_pld_known(type) || type == IKEV2_PLD_SKF) {
			struct ikev2_pld *p = &list->pld[list->n++];

			p->type = type;
			p->flags = flags;
			p->len = plen - IKEV2_PLD_HDR_LEN;
			p->body = buf + pos + IKEV2_PLD_HDR_LEN;
			if (type == IKEV2_PLD_SK || type == IKEV2_PLD_SKF) {
				/* Next Payload of SK names the first inner payload. */
				if (pos + plen != len)
					return perr(reason, IKEV2_PERR_SK_NOT_LAST, -EBADMSG);
				return perr(reason, IKEV2_PERR_NONE, 0);
			}
		} else if (flags & IKEV2_PLD_CRITICAL) {
			list->unsupported_type = type;
			return perr(reason, IKEV2_PERR_UNSUPPORTED_CRITICAL, -ENOTSUP);
		} else {
			list->n_skipped++;
		}
		pos += plen;
		type = next;
	}
	if (pos != len)
		return perr(reason, IKEV2_PERR_TRAILING_DATA, -EBADMSG);
	return perr(reason, IKEV2_PERR_NONE, 0);
}

struct ikev2_pld *ikev2_pld_find(struct ikev2_pld_list *list, uint8_t type, unsigned int nth)
{
	unsigned int i;

	for (i = 0; i < list->n; i++)
		if (list->pld[i].type == type && nth-- == 0)
			return &list->pld[i];
	return NULL;
}

unsigned int ikev2_pld_count(const struct ikev2_pld_list *list, uint8_t type)
{
	unsigned int i, n = 0;

	for (i = 0; i < list->n; i++)
		n += list->pld[i].type == type;
	return n;
}

/* ---- typed parsers ---- */

static bool ikev2_spi_size_ok(uint8_t proto, uint8_t size)
{
	switch (proto) {
	case IKEV2_PROTO_IKE:
		return size == 0 || size == 8;
	case IKEV2_PROTO_AH:
	case IKEV2_PROTO_ESP:
		return size == 4;
	}
	return size <= IKEV2_MAX_SPI_SIZE;
}

/*
 * Transform (RFC 7296 3.3.2):  Last(0|3) | RESERVED | Transform Length (16)
 *                              Type | RESERVED | Transform ID (16)
 *                              Attributes: AF|Type(15), Length or Value (16) [, Value]
 */
static int ikev2_parse_xform(const uint8_t *p, size_t len, struct ikev2_xform *x,
			     enum ikev2_perr *reason)
{
	size_t pos = 8;

	x->type = p[4];
	x->id = get16(p + 6);
	x->keylen = 0;
	while (pos < len) {
		uint16_t atype, alen;

		if (len - pos < 4)
			return perr(reason, IKEV2_PERR_BAD_ATTRIBUTE, -EBADMSG);
		atype = get16(p + pos);
		if (atype & IKEV2_ATTR_AF) {
			if ((atype & ~IKEV2_ATTR_AF) == IKEV2_ATTR_KEY_LENGTH)
				x->keylen = get16(p + pos + 2);
			pos += 4;
			continue;
		}
		/* TLV attributes are not defined for IKEv2 transforms; skip them
		 * after checking they fit. Key Length must be TV. */
		if ((atype & ~IKEV2_ATTR_AF) == IKEV2_ATTR_KEY_LENGTH)
			return perr(reason, IKEV2_PERR_BAD_ATTRIBUTE, -EBADMSG);
		alen = get16(p + pos + 2);
		if (alen > len - pos - 4)
			return perr(reason, IKEV2_PERR_BAD_ATTRIBUTE, -EBADMSG);
		pos += 4 + alen;
	}
	return 0;
}

/*
 * Proposal (RFC 7296 3.3.1):  Last(0|2) | RESERVED | Proposal Length (16)
 *                             Proposal Num | Protocol ID | SPI Size | Num Transforms
 *                             SPI (variable) | Transforms
 */
int ikev2_pld_parse_sa(const struct ikev2_pld *pl, struct ikev2_sa *sa, enum ikev2_perr *reason)
{
	const uint8_t *b = pl->body;
	size_t pos = 0, len = pl->len;
	bool last = false;
	int err;

	sa->n_props = 0;
	if (len == 0)
		return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
	while (pos < len) {
		struct ikev2_prop *prop;
		uint16_t plen;
		size_t xpos;
		unsigned int i, nx;

		if (last || len - pos < 8)
			return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
		plen = get16(b + pos + 2);
		if (plen < 8 || plen > len - pos)
			return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
		if (b[pos] == 0)
			last = true;
		else if (b[pos] != 2)
			return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
		if (sa->n_props >= IKEV2_MAX_PROPOSALS)
			return perr(reason, IKEV2_PERR_TOO_MANY_PROPOSALS, -E2BIG);
		prop = &sa->props[sa->n_props];
		prop->num = b[pos + 4];
		prop->proto = b[pos + 5];
		prop->spi_size = b[pos + 6];
		nx = b[pos + 7];
		if (!ikev2_spi_size_ok(prop->proto, prop->spi_size))
			return perr(reason, IKEV2_PERR_BAD_SPI_SIZE, -EBADMSG);
		if ((size_t)8 + prop->spi_size > plen)
			return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
		memset(prop->spi, 0, sizeof(prop->spi));
		memcpy(prop->spi, b + pos + 8, prop->spi_size);
		if (nx > IKEV2_MAX_XFORMS)
			return perr(reason, IKEV2_PERR_TOO_MANY_XFORMS, -E2BIG);
		if (nx == 0)
			return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);

		xpos = pos + 8 + prop->spi_size;
		for (i = 0; i < nx; i++) {
			const uint8_t *x = b + xpos;
			uint16_t xlen;

			if (pos + plen - xpos < 8)
				return perr(reason, IKEV2_PERR_BAD_TRANSFORM, -EBADMSG);
			xlen = get16(x + 2);
			if (xlen < 8 || xlen > pos + plen - xpos)
				return perr(reason, IKEV2_PERR_BAD_TRANSFORM, -EBADMSG);
			if (x[0] != (i + 1 == nx ? 0 : 3))
				return perr(reason, IKEV2_PERR_BAD_TRANSFORM, -EBADMSG);
			err = ikev2_parse_xform(x, xlen, &prop->xforms[i], reason);
			if (err)
				return err;
			xpos += xlen;
		}
		if (xpos != pos + plen)
			return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
		prop->n_xforms = nx;
		sa->n_props++;
		pos += plen;
	}
	if (!last)
		return perr(reason, IKEV2_PERR_BAD_PROPOSAL, -EBADMSG);
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_ke(const struct ikev2_pld *p, struct ikev2_ke *ke, enum ikev2_perr *reason)
{
	size_t want;

	if (p->len < 5)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	ke->group = get16(p->body);
	ke->len = p->len - 4;
	ke->data = p->body + 4;
	want = dh_public_len(ke->group);
	if (want && want != ke->len)
		return perr(reason, IKEV2_PERR_BAD_KE_LENGTH, -EINVAL);
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_id(const struct ikev2_pld *p, struct ikev2_id *id, enum ikev2_perr *reason)
{
	if (p->len < 5)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	id->type = p->body[0];
	id->len = p->len - 4;
	id->data = p->body + 4;
	if ((id->type == IKEV2_ID_IPV4_ADDR && id->len != 4) ||
	    (id->type == IKEV2_ID_IPV6_ADDR && id->len != 16))
		return perr(reason, IKEV2_PERR_BAD_ID, -EBADMSG);
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_auth(const struct ikev2_pld *p, struct ikev2_auth *auth,
			 enum ikev2_perr *reason)
{
	if (p->len < 5)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	auth->method = p->body[0];
	auth->len = p->len - 4;
	auth->data = p->body + 4;
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_nonce(const struct ikev2_pld *p, struct ikev2_blob *nonce,
			  enum ikev2_perr *reason)
{
	if (p->len < IKEV2_NONCE_MIN || p->len > IKEV2_NONCE_MAX)
		return perr(reason, IKEV2_PERR_BAD_NONCE_LENGTH, -EBADMSG);
	nonce->len = p->len;
	nonce->data = p->body;
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_vendor(const struct ikev2_pld *p, struct ikev2_blob *vid,
			   enum ikev2_perr *reason)
{
	if (p->len < 1)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	vid->len = p->len;
	vid->data = p->body;
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_notify(const struct ikev2_pld *p, struct ikev2_notify *n,
			   enum ikev2_perr *reason)
{
	if (p->len < 4)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	n->proto = p->body[0];
	n->spi_size = p->body[1];
	n->type = get16(p->body + 2);
	if (n->spi_size > IKEV2_MAX_SPI_SIZE)
		return perr(reason, IKEV2_PERR_BAD_SPI_SIZE, -EBADMSG);
	if ((size_t)4 + n->spi_size > p->len)
		return perr(reason, IKEV2_PERR_PLD_OVERRUN, -EBADMSG);
	memset(n->spi, 0, sizeof(n->spi));
	memcpy(n->spi, p->body + 4, n->spi_size);
	n->len = p->len - 4 - n->spi_size;
	n->data = p->body + 4 + n->spi_size;
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_delete(const struct ikev2_pld *p, struct ikev2_delete *d,
			   enum ikev2_perr *reason)
{
	if (p->len < 4)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	d->proto = p->body[0];
	d->spi_size = p->body[1];
	d->n_spi = get16(p->body + 2);
	d->spis = p->body + 4;
	switch (d->proto) {
	case IKEV2_PROTO_IKE:
		if (d->spi_size != 0 || d->n_spi != 0)
			return perr(reason, IKEV2_PERR_BAD_DELETE, -EBADMSG);
		break;
	case IKEV2_PROTO_AH:
	case IKEV2_PROTO_ESP:
		if (d->spi_size != 4)
			return perr(reason, IKEV2_PERR_BAD_SPI_SIZE, -EBADMSG);
		break;
	default:
		return perr(reason, IKEV2_PERR_BAD_DELETE, -EBADMSG);
	}
	if ((size_t)d->n_spi * d->spi_size != (size_t)p->len - 4)
		return perr(reason, IKEV2_PERR_BAD_DELETE, -EBADMSG);
	return perr(reason, IKEV2_PERR_NONE, 0);
}

/*
 * Traffic selector (RFC 7296 3.13.1): TS Type | IP Protocol ID | Selector Length (16)
 *                                     Start Port (16) | End Port (16)
 *                                     Starting Address | Ending Address
 */
int ikev2_pld_parse_ts(const struct ikev2_pld *p, struct ikev2_ts_list *tl,
		       enum ikev2_perr *reason)
{
	const uint8_t *b = p->body;
	size_t pos = 4;
	unsigned int i, num;

	tl->n = 0;
	if (p->len < 4)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	num = b[0];
	if (num == 0)
		return perr(reason, IKEV2_PERR_BAD_TS, -EBADMSG);
	if (num > IKEV2_MAX_TS)
		return perr(reason, IKEV2_PERR_TOO_MANY_TS, -E2BIG);
	for (i = 0; i < num; i++) {
		struct ikev2_ts *ts = &tl->ts[i];
		size_t alen;
		uint16_t slen;

		if (p->len - pos < 8)
			return perr(reason, IKEV2_PERR_BAD_TS, -EBADMSG);
		ts->type = b[pos];
		if (ts->type == IKEV2_TS_IPV4_ADDR_RANGE)
			alen = 4;
		else if (ts->type == IKEV2_TS_IPV6_ADDR_RANGE)
			alen = 16;
		else
			return perr(reason, IKEV2_PERR_BAD_TS, -EBADMSG);
		slen = get16(b + pos + 2);
		if (slen != 8 + 2 * alen || slen > p->len - pos)
			return perr(reason, IKEV2_PERR_BAD_TS, -EBADMSG);
		ts->ipproto = b[pos + 1];
		ts->start_port = get16(b + pos + 4);
		ts->end_port = get16(b + pos + 6);
		memset(ts->start_addr, 0, sizeof(ts->start_addr));
		memset(ts->end_addr, 0, sizeof(ts->end_addr));
		memcpy(ts->start_addr, b + pos + 8, alen);
		memcpy(ts->end_addr, b + pos + 8 + alen, alen);
		pos += slen;
	}
	if (pos != p->len)
		return perr(reason, IKEV2_PERR_BAD_TS, -EBADMSG);
	tl->n = num;
	return perr(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_pld_parse_cert(const struct ikev2_pld *p, struct ikev2_cert *cert,
			 enum ikev2_perr *reason)
{
	if (p->len < 1)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	cert->encoding = p->body[0];
	cert->len = p->len - 1;
	cert->data = p->body + 1;
	return perr(reason, IKEV2_PERR_NONE, 0);
}

/* CP (RFC 7296 3.15): CFG Type | RESERVED (24); attributes R|Type(15), Length(16), Value */
int ikev2_pld_parse_cp(const struct ikev2_pld *p, struct ikev2_cp *cp, enum ikev2_perr *reason)
{
	const uint8_t *b = p->body;
	size_t pos = 4;

	cp->n_attrs = 0;
	if (p->len < 4)
		return perr(reason, IKEV2_PERR_PLD_TOO_SHORT, -EBADMSG);
	cp->cfg_type = b[0];
	while (pos < p->len) {
		struct ikev2_cp_attr *a;
		uint16_t alen;

		if (p->len - pos < 4)
			return perr(reason, IKEV2_PERR_BAD_CP, -EBADMSG);
		alen = get16(b + pos + 2);
		if (alen > p->len - pos - 4)
			return perr(reason, IKEV2_PERR_BAD_CP, -EBADMSG);
		if (cp->n_attrs >= IKEV2_MAX_CP_ATTRS)
			return perr(reason, IKEV2_PERR_TOO_MANY_CP_ATTRS, -E2BIG);
		a = &cp->attrs[cp->n_attrs++];
		a->type = get16(b + pos) & 0x7fff;
		a->len = alen;
		a->value = b + pos + 4;
		pos += 4 + alen;
	}
	return perr(reason, IKEV2_PERR_NONE, 0);
}

/* ---- encoder ---- */

void ikev2_enc_init(struct ikev2_enc *e, uint8_t *buf, size_t cap, size_t np_off)
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->np_off = np_off;
	e->pld_off = 0;
	e->sk_off = 0;
	e->pld_open = false;
	e->err = 0;
}

int ikev2_enc_error(const struct ikev2_enc *e)
{
	return e->err;
}

uint8_t *ikev2_enc_reserve(struct ikev2_enc *e, size_t len)
{
	uint8_t *p;

	if (e->err)
		return NULL;
	if (len > e->cap - e->len || e->len + len > IKEV2_MSG_MAX) {
		e->err = -ENOSPC;
		return NULL;
	}
	p = e->buf + e->len;
	e->len += len;
	return p;
}

void ikev2_enc_put(struct ikev2_enc *e, const void *data, size_t len)
{
	uint8_t *p = ikev2_enc_reserve(e, len);

	if (p && len)
		memcpy(p, data, len);
}

void ikev2_enc_put8(struct ikev2_enc *e, uint8_t v)
{
	ikev2_enc_put(e, &v, 1);
}

void ikev2_enc_put16(struct ikev2_enc *e, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	ikev2_enc_put(e, b, sizeof(b));
}

void ikev2_enc_put32(struct ikev2_enc *e, uint32_t v)
{
	uint8_t b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

	ikev2_enc_put(e, b, sizeof(b));
}

static void ikev2_enc_set16(struct ikev2_enc *e, size_t off, size_t v)
{
	if (e->err)
		return;
	if (v > UINT16_MAX) {
		e->err = -EMSGSIZE;
		return;
	}
	e->buf[off] = v >> 8;
	e->buf[off + 1] = v & 0xff;
}

void ikev2_enc_pld_begin(struct ikev2_enc *e, uint8_t type, bool critical)
{
	size_t off = e->len;

	if (e->err)
		return;
	if (e->pld_open) {
		e->err = -EINVAL;	/* builder bug: payloads do not nest */
		return;
	}
	if (!ikev2_enc_reserve(e, IKEV2_PLD_HDR_LEN))
		return;
	if (e->np_off != SIZE_MAX)
		e->buf[e->np_off] = type;
	e->buf[off] = IKEV2_PLD_NONE;
	e->buf[off + 1] = critical ? IKEV2_PLD_CRITICAL : 0;
	e->buf[off + 2] = 0;
	e->buf[off + 3] = 0;
	e->np_off = off;
	e->pld_off = off;
	e->pld_open = true;
}

void ikev2_enc_pld_end(struct ikev2_enc *e)
{
	if (e->err)
		return;
	if (!e->pld_open) {
		e->err = -EINVAL;
		return;
	}
	ikev2_enc_set16(e, e->pld_off + 2, e->len - e->pld_off);
	e->pld_open = false;
}

void ikev2_enc_sa(struct ikev2_enc *e, const struct ikev2_sa *sa)
{
	unsigned int i, j;

	if (sa->n_props == 0 || sa->n_props > IKEV2_MAX_PROPOSALS) {
		e->err = e->err ?: -EINVAL;
		return;
	}
	ikev2_enc_pld_begin(e, IKEV2_PLD_SA, false);
	for (i = 0; i < sa->n_props && !e->err; i++) {
		const struct ikev2_prop *prop = &sa->props[i];
		size_t poff = e->len;

		if (prop->spi_size > IKEV2_MAX_SPI_SIZE || prop->n_xforms == 0 ||
		    prop->n_xforms > IKEV2_MAX_XFORMS) {
			e->err = -EINVAL;
			return;
		}
		ikev2_enc_put8(e, i + 1 == sa->n_props ? 0 : 2);
		ikev2_enc_put8(e, 0);
		ikev2_enc_put16(e, 0);
		ikev2_enc_put8(e, prop->num);
		ikev2_enc_put8(e, prop->proto);
		ikev2_enc_put8(e, prop->spi_size);
		ikev2_enc_put8(e, prop->n_xforms);
		ikev2_enc_put(e, prop->spi, prop->spi_size);
		for (j = 0; j < prop->n_xforms; j++) {
			const struct ikev2_xform *x = &prop->xforms[j];

			ikev2_enc_put8(e, j + 1 == prop->n_xforms ? 0 : 3);
			ikev2_enc_put8(e, 0);
			ikev2_enc_put16(e, x->keylen ? 12 : 8);
			ikev2_enc_put8(e, x->type);
			ikev2_enc_put8(e, 0);
			ikev2_enc_put16(e, x->id);
			if (x->keylen) {
				ikev2_enc_put16(e, IKEV2_ATTR_AF | IKEV2_ATTR_KEY_LENGTH);
				ikev2_enc_put16(e, x->keylen);
			}
		}
		ikev2_enc_set16(e, poff + 2, e->len - poff);
	}
	ikev2_enc_pld_end(e);
}

/* Payloads made of a 4-byte fixed part and one blob. */
static void ikev2_enc_simple(struct ikev2_enc *e, uint8_t type, const uint8_t fixed[4],
			     const uint8_t *data, size_t len)
{
	ikev2_enc_pld_begin(e, type, false);
	ikev2_enc_put(e, fixed, 4);
	ikev2_enc_put(e, data, len);
	ikev2_enc_pld_end(e);
}

void ikev2_enc_ke(struct ikev2_enc *e, uint16_t group, const uint8_t *data, size_t len)
{
	uint8_t fixed[4] = { group >> 8, group & 0xff, 0, 0 };

	ikev2_enc_simple(e, IKEV2_PLD_KE, fixed, data, len);
}

void ikev2_enc_id(struct ikev2_enc *e, uint8_t type, uint8_t id_type, const uint8_t *data,
		  size_t len)
{
	uint8_t fixed[4] = { id_type, 0, 0, 0 };

	ikev2_enc_simple(e, type, fixed, data, len);
}

void ikev2_enc_auth(struct ikev2_enc *e, uint8_t method, const uint8_t *data, size_t len)
{
	uint8_t fixed[4] = { method, 0, 0, 0 };

	ikev2_enc_simple(e, IKEV2_PLD_AUTH, fixed, data, len);
}

void ikev2_enc_nonce(struct ikev2_enc *e, const uint8_t *data, size_t len)
{
	ikev2_enc_pld_begin(e, IKEV2_PLD_NONCE, false);
	ikev2_enc_put(e, data, len);
	ikev2_enc_pld_end(e);
}

void ikev2_enc_vendor(struct ikev2_enc *e, const uint8_t *data, size_t len)
{
	ikev2_enc_pld_begin(e, IKEV2_PLD_VENDOR, false);
	ikev2_enc_put(e, data, len);
	ikev2_enc_pld_end(e);
}

void ikev2_enc_notify(struct ikev2_enc *e, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		      uint16_t type, const uint8_t *data, size_t len)
{
	ikev2_enc_pld_begin(e, IKEV2_PLD_NOTIFY, false);
	ikev2_enc_put8(e, proto);
	ikev2_enc_put8(e, spi_size);
	ikev2_enc_put16(e, type);
	ikev2_enc_put(e, spi, spi_size);
	ikev2_enc_put(e, data, len);
	ikev2_enc_pld_end(e);
}

void ikev2_enc_delete(struct ikev2_enc *e, uint8_t proto, uint8_t spi_size, const uint8_t *spis,
		      uint16_t n_spi)
{
	ikev2_enc_pld_begin(e, IKEV2_PLD_DELETE, false);
	ikev2_enc_put8(e, proto);
	ikev2_enc_put8(e, spi_size);
	ikev2_enc_put16(e, n_spi);
	ikev2_enc_put(e, spis, (size_t)spi_size * n_spi);
	ikev2_enc_pld_end(e);
}

void ikev2_enc_ts(struct ikev2_enc *e, uint8_t type, const struct ikev2_ts_list *tl)
{
	unsigned int i;

	if (tl->n == 0 || tl->n > IKEV2_MAX_TS) {
		e->err = e->err ?: -EINVAL;
		return;
	}
	ikev2_enc_pld_begin(e, type, false);
	ikev2_enc_put8(e, tl->n);
	ikev2_enc_put8(e, 0);
	ikev2_enc_put16(e, 0);
	for (i = 0; i < tl->n; i++) {
		const struct ikev2_ts *ts = &tl->ts[i];
		size_t alen = ts->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;

		if (ts->type != IKEV2_TS_IPV4_ADDR_RANGE && ts->type != IKEV2_TS_IPV6_ADDR_RANGE) {
			e->err = e->err ?: -EINVAL;
			return;
		}
		ikev2_enc_put8(e, ts->type);
		ikev2_enc_put8(e, ts->ipproto);
		ikev2_enc_put16(e, 8 + 2 * alen);
		ikev2_enc_put16(e, ts->start_port);
		ikev2_enc_put16(e, ts->end_port);
		ikev2_enc_put(e, ts->start_addr, alen);
		ikev2_enc_put(e, ts->end_addr, alen);
	}
	ikev2_enc_pld_end(e);
}

void ikev2_enc_cert(struct ikev2_enc *e, uint8_t type, uint8_t encoding, const uint8_t *data,
		    size_t len)
{
	ikev2_enc_pld_begin(e, type, false);
	ikev2_enc_put8(e, encoding);
	ikev2_enc_put(e, data, len);
	ikev2_enc_pld_end(e);
}

void ikev2_enc_cp(struct ikev2_enc *e, const struct ikev2_cp *cp)
{
	unsigned int i;

	if (cp->n_attrs > IKEV2_MAX_CP_ATTRS) {
		e->err = e->err ?: -EINVAL;
		return;
	}
	ikev2_enc_pld_begin(e, IKEV2_PLD_CP, false);
	ikev2_enc_put8(e, cp->cfg_type);
	ikev2_enc_put8(e, 0);
	ikev2_enc_put16(e, 0);
	for (i = 0; i < cp->n_attrs; i++) {
		ikev2_enc_put16(e, cp->attrs[i].type & 0x7fff);
		ikev2_enc_put16(e, cp->attrs[i].len);
		ikev2_enc_put(e, cp->attrs[i].value, cp->attrs[i].len);
	}
	ikev2_enc_pld_end(e);
}
