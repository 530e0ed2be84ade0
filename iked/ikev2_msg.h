/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IKEv2 messages: header + payload chain parsing, SK payload open/seal, and
 * building a message (optionally with an SK payload) into a buffer.
 *
 * Receiving:
 *	struct ikev2_msg m;
 *	err = ikev2_msg_parse(buf, len, &m, &why);   // header, cleartext chain
 *	... find the IKE SA by m.hdr.ispi/rspi, check exchange and msgid ...
 *	if (m.sk) err = ikev2_msg_sk_open(&m, &sa->sk_in, &why);  // m.inner
 *
 * Sending:
 *	struct ikev2_enc e;
 *	ikev2_msg_begin(&e, buf, sizeof(buf), &hdr);
 *	ikev2_enc_sa(&e, ...); ikev2_enc_ke(&e, ...);       // cleartext payloads
 *	ikev2_msg_sk_begin(&e, &sa->sk_out);                 // optional
 *	ikev2_enc_id(&e, ...); ikev2_enc_auth(&e, ...);      // encrypted payloads
 *	err = ikev2_msg_finish(&e, &sa->sk_out);             // e.len bytes ready
 */
#ifndef XIKED_IKEV2_MSG_H
#define XIKED_IKEV2_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "ikev2_pld.h"

struct ikev2_msg {
	struct ikev2_hdr hdr;
	uint8_t *buf;
	size_t len;
	struct ikev2_pld_list plds;	/* cleartext chain; SK (if any) last */
	struct ikev2_pld *sk;		/* the SK payload in plds, or NULL */
	uint8_t sk_next;		/* type of the first encrypted payload */
	struct ikev2_pld_list inner;	/* filled by ikev2_msg_sk_open() */
	bool opened;
};

/*
 * Parse the header and the cleartext payload chain of the datagram @buf
 * (kept, not copied: ikev2_msg_sk_open() decrypts in place). On -ENOTSUP
 * with IKEV2_PERR_UNSUPPORTED_CRITICAL, m->plds.unsupported_type is the
 * payload type to put in the UNSUPPORTED_CRITICAL_PAYLOAD notify; m->hdr is
 * valid whenever the reason is not IKEV2_PERR_TRUNCATED.
 */
int ikev2_msg_parse(uint8_t *buf, size_t len, struct ikev2_msg *m, enum ikev2_perr *reason);

/*
 * Check the SK payload's integrity with @sk, decrypt it in place and parse
 * the inner chain into m->inner. -EBADMSG with IKEV2_PERR_ICV_MISMATCH or
 * _BAD_SK means "drop silently" (RFC 7296 2.21.2); inner chain errors are
 * as for ikev2_msg_parse(). -ENOENT without an SK payload.
 */
int ikev2_msg_sk_open(struct ikev2_msg *m, const struct crypto_sk *sk, enum ikev2_perr *reason);

void ikev2_hdr_encode(const struct ikev2_hdr *hdr, uint8_t out[IKEV2_HDR_LEN]);

/* Start a message with @hdr (its next and length fields are filled later). */
void ikev2_msg_begin(struct ikev2_enc *e, uint8_t *buf, size_t cap, const struct ikev2_hdr *hdr);
/* Open the SK payload: what is encoded after this is encrypted. Must be the
 * last cleartext payload. */
void ikev2_msg_sk_begin(struct ikev2_enc *e, const struct crypto_sk *sk);
/* Pad and seal the SK payload if one was begun, fix all lengths. The message
 * is e->buf[0, e->len). @sk may be NULL for messages without SK. */
int ikev2_msg_finish(struct ikev2_enc *e, struct crypto_sk *sk);

#endif
