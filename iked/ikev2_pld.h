/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKEv2 payload parsing and encoding (RFC 7296 section 3).
 *
 * Parsing is two-step. ikev2_pld_parse_chain() walks a payload chain and only
 * checks the generic headers: every length is validated against the bytes
 * that are really there before anything is interpreted, and the result is a
 * bounded list of (type, body) views into the caller's buffer. The typed
 * ikev2_pld_parse_*() functions then interpret one body into a bounded struct,
 * again checking each inner length before reading. Views point into the
 * message buffer: keep it alive while they are used.
 *
 * Errors are -errno plus an enum ikev2_perr the caller can log with
 * ikev2_perr_name() and map to a notify (ikev2_perr_notify()).
 *
 * Encoding appends payloads to a struct ikev2_enc, patching the previous
 * payload's Next Payload field and each length on the way; errors are sticky,
 * so a builder checks only the final ikev2_enc_error().
 */
#ifndef XIKED_IKEV2_PLD_H
#define XIKED_IKEV2_PLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ikev2.h"

/* Bounds of the parsed structs; larger inputs fail with -E2BIG. */
#define IKEV2_MAX_PAYLOADS	64
#define IKEV2_MAX_PROPOSALS	16
#define IKEV2_MAX_XFORMS	32	/* per proposal */
#define IKEV2_MAX_TS		16
#define IKEV2_MAX_CP_ATTRS	32
#define IKEV2_MAX_SPI_SIZE	8

enum ikev2_perr {
	IKEV2_PERR_NONE = 0,
	IKEV2_PERR_TRUNCATED,		/* fewer bytes than a header needs */
	IKEV2_PERR_BAD_VERSION,		/* major version != 2 */
	IKEV2_PERR_LENGTH_MISMATCH,	/* header length != datagram length */
	IKEV2_PERR_PLD_TOO_SHORT,	/* payload length below its minimum */
	IKEV2_PERR_PLD_OVERRUN,		/* payload runs past the end */
	IKEV2_PERR_TRAILING_DATA,	/* bytes after the last payload */
	IKEV2_PERR_TOO_MANY_PAYLOADS,
	IKEV2_PERR_UNSUPPORTED_CRITICAL,	/* see ikev2_pld_list.unsupported_type */
	IKEV2_PERR_SK_NOT_LAST,
	IKEV2_PERR_BAD_PROPOSAL,
	IKEV2_PERR_BAD_TRANSFORM,
	IKEV2_PERR_BAD_ATTRIBUTE,
	IKEV2_PERR_TOO_MANY_PROPOSALS,
	IKEV2_PERR_TOO_MANY_XFORMS,
	IKEV2_PERR_BAD_SPI_SIZE,
	IKEV2_PERR_BAD_KE_LENGTH,
	IKEV2_PERR_BAD_NONCE_LENGTH,
	IKEV2_PERR_BAD_ID,
	IKEV2_PERR_BAD_TS,
	IKEV2_PERR_TOO_MANY_TS,
	IKEV2_PERR_BAD_DELETE,
	IKEV2_PERR_BAD_CP,
	IKEV2_PERR_TOO_MANY_CP_ATTRS,
	IKEV2_PERR_BAD_SK,		/* SK payload shorter than IV + ICV, bad padding */
	IKEV2_PERR_ICV_MISMATCH,	/* integrity check failed */
	IKEV2_PERR_MAX
};

const char *ikev2_perr_name(enum ikev2_perr reason);
/* The error notify RFC 7296 asks for (INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD,
 * INVALID_MAJOR_VERSION, INVALID_KE_PAYLOAD...), or 0 when the message is dropped silently. */
uint16_t ikev2_perr_notify(enum ikev2_perr reason);

/* IKE header (RFC 7296 3.1), host byte order. */
struct ikev2_hdr {
	uint64_t ispi;
	uint64_t rspi;
	uint8_t next;
	uint8_t version;
	uint8_t exchange;
	uint8_t flags;
	uint32_t msgid;
	uint32_t length;
};

/* One payload of a chain: body excludes the generic header. */
struct ikev2_pld {
	uint8_t type;
	uint8_t flags;
	uint16_t len;
	uint8_t *body;
};

struct ikev2_pld_list {
	unsigned int n;
	struct ikev2_pld pld[IKEV2_MAX_PAYLOADS];
	unsigned int n_skipped;		/* unknown non-critical payloads */
	uint8_t unsupported_type;	/* with IKEV2_PERR_UNSUPPORTED_CRITICAL */
};

/* Payload types this codec understands (others are skipped or refused). */
bool ikev2_pld_known(uint8_t type);

int ikev2_hdr_parse(const uint8_t *buf, size_t len, struct ikev2_hdr *hdr,
		    enum ikev2_perr *reason);

/*
 * Walk the chain starting with payload type @first over exactly @len bytes.
 * The SK (or SKF) payload, if met, must be the last one: its body runs to the
 * end and its Next Payload names the first encrypted payload. Unknown payloads
 * are skipped unless critical, which fails with -ENOTSUP and records the type.
 */
int ikev2_pld_parse_chain(uint8_t first, uint8_t *buf, size_t len, struct ikev2_pld_list *list,
			  enum ikev2_perr *reason);

/* The @nth (0-based) payload of @type, or NULL. */
struct ikev2_pld *ikev2_pld_find(struct ikev2_pld_list *list, uint8_t type, unsigned int nth);
unsigned int ikev2_pld_count(const struct ikev2_pld_list *list, uint8_t type);

/* ---- typed payloads ---- */

struct ikev2_xform {
	uint8_t type;
	uint16_t id;
	uint16_t keylen;	/* bits, from the Key Length attribute; 0 if absent */
};

struct ikev2_prop {
	uint8_t num;
	uint8_t proto;
	uint8_t spi_size;
	uint8_t spi[IKEV2_MAX_SPI_SIZE];
	unsigned int n_xforms;
	struct ikev2_xform xforms[IKEV2_MAX_XFORMS];
};

struct ikev2_sa {
	unsigned int n_props;
	struct ikev2_prop props[IKEV2_MAX_PROPOSALS];
};

struct ikev2_ke {
	uint16_t group;
	uint16_t len;
	const uint8_t *data;
};

struct ikev2_id {
	uint8_t type;
	uint16_t len;
	const uint8_t *data;
};

struct ikev2_auth {
	uint8_t method;
	uint16_t len;
	const uint8_t *data;
};

/* Nonce, Vendor ID and other payloads that are one opaque blob. */
struct ikev2_blob {
	uint16_t len;
	const uint8_t *data;
};

struct ikev2_notify {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	uint8_t spi[IKEV2_MAX_SPI_SIZE];
	uint16_t len;
	const uint8_t *data;
};

struct ikev2_delete {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t n_spi;
	const uint8_t *spis;	/* n_spi * spi_size bytes */
};

struct ikev2_ts {
	uint8_t type;		/* IKEV2_TS_IPV4_ADDR_RANGE or _IPV6_ */
	uint8_t ipproto;
	uint16_t start_port;
	uint16_t end_port;
	uint8_t start_addr[16];	/* 4 bytes used for IPv4 */
	uint8_t end_addr[16];
};

struct ikev2_ts_list {
	unsigned int n;
	struct ikev2_ts ts[IKEV2_MAX_TS];
};

struct ikev2_cert {
	uint8_t encoding;
	uint16_t len;
	const uint8_t *data;	/* certificate, or CA key hashes for CERTREQ */
};

struct ikev2_cp_attr {
	uint16_t type;
	uint16_t len;
	const uint8_t *value;
};

struct ikev2_cp {
	uint8_t cfg_type;
	unsigned int n_attrs;
	struct ikev2_cp_attr attrs[IKEV2_MAX_CP_ATTRS];
};

int ikev2_pld_parse_sa(const struct ikev2_pld *p, struct ikev2_sa *sa, enum ikev2_perr *reason);
/* Checks the KE length against the group when the group is one dh.c knows
 * (-EINVAL, IKEV2_PERR_BAD_KE_LENGTH); other groups pass so the caller can
 * answer INVALID_KE_PAYLOAD with its preferred group. */
int ikev2_pld_parse_ke(const struct ikev2_pld *p, struct ikev2_ke *ke, enum ikev2_perr *reason);
int ikev2_pld_parse_id(const struct ikev2_pld *p, struct ikev2_id *id, enum ikev2_perr *reason);
int ikev2_pld_parse_auth(const struct ikev2_pld *p, struct ikev2_auth *auth,
			 enum ikev2_perr *reason);
int ikev2_pld_parse_nonce(const struct ikev2_pld *p, struct ikev2_blob *nonce,
			  enum ikev2_perr *reason);
int ikev2_pld_parse_vendor(const struct ikev2_pld *p, struct ikev2_blob *vid,
			   enum ikev2_perr *reason);
int ikev2_pld_parse_notify(const struct ikev2_pld *p, struct ikev2_notify *n,
			   enum ikev2_perr *reason);
int ikev2_pld_parse_delete(const struct ikev2_pld *p, struct ikev2_delete *d,
			   enum ikev2_perr *reason);
int ikev2_pld_parse_ts(const struct ikev2_pld *p, struct ikev2_ts_list *ts,
		       enum ikev2_perr *reason);
/* CERT and CERTREQ share the layout. */
int ikev2_pld_parse_cert(const struct ikev2_pld *p, struct ikev2_cert *cert,
			 enum ikev2_perr *reason);
int ikev2_pld_parse_cp(const struct ikev2_pld *p, struct ikev2_cp *cp, enum ikev2_perr *reason);

/* ---- encoding ---- */

struct ikev2_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t np_off;		/* Next Payload byte to patch with the next type */
	size_t pld_off;		/* start of the open payload, for its length */
	size_t sk_off;		/* open SK payload (ikev2_msg_sk_begin), 0 if none */
	bool pld_open;
	int err;		/* first error, sticky */
};

/* Start encoding into @buf. @np_off is the offset of the Next Payload byte
 * the first payload type goes into (SIZE_MAX if there is none). */
void ikev2_enc_init(struct ikev2_enc *e, uint8_t *buf, size_t cap, size_t np_off);
int ikev2_enc_error(const struct ikev2_enc *e);
/* Append raw bytes / reserve @len bytes; NULL on overflow (sticky -ENOSPC). */
uint8_t *ikev2_enc_reserve(struct ikev2_enc *e, size_t len);
void ikev2_enc_put(struct ikev2_enc *e, const void *data, size_t len);
void ikev2_enc_put8(struct ikev2_enc *e, uint8_t v);
void ikev2_enc_put16(struct ikev2_enc *e, uint16_t v);
void ikev2_enc_put32(struct ikev2_enc *e, uint32_t v);

/* Open a payload: patch the previous Next Payload, write a generic header.
 * Its body is appended with the put functions; close fixes the length. */
void ikev2_enc_pld_begin(struct ikev2_enc *e, uint8_t type, bool critical);
void ikev2_enc_pld_end(struct ikev2_enc *e);

void ikev2_enc_sa(struct ikev2_enc *e, const struct ikev2_sa *sa);
void ikev2_enc_ke(struct ikev2_enc *e, uint16_t group, const uint8_t *data, size_t len);
/* @type is IKEV2_PLD_IDI or IKEV2_PLD_IDR */
void ikev2_enc_id(struct ikev2_enc *e, uint8_t type, uint8_t id_type, const uint8_t *data,
		  size_t len);
void ikev2_enc_auth(struct ikev2_enc *e, uint8_t method, const uint8_t *data, size_t len);
void ikev2_enc_nonce(struct ikev2_enc *e, const uint8_t *data, size_t len);
void ikev2_enc_vendor(struct ikev2_enc *e, const uint8_t *data, size_t len);
void ikev2_enc_notify(struct ikev2_enc *e, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		      uint16_t type, const uint8_t *data, size_t len);
void ikev2_enc_delete(struct ikev2_enc *e, uint8_t proto, uint8_t spi_size, const uint8_t *spis,
		      uint16_t n_spi);
/* @type is IKEV2_PLD_TSI or IKEV2_PLD_TSR */
void ikev2_enc_ts(struct ikev2_enc *e, uint8_t type, const struct ikev2_ts_list *ts);
/* @type is IKEV2_PLD_CERT or IKEV2_PLD_CERTREQ */
void ikev2_enc_cert(struct ikev2_enc *e, uint8_t type, uint8_t encoding, const uint8_t *data,
		    size_t len);
void ikev2_enc_cp(struct ikev2_enc *e, const struct ikev2_cp *cp);

#endif
