// SPDX-License-Identifier: GPL-2.0-only
/*
 * IKEv2 message framing and the Encrypted (SK) payload, RFC 7296 3.14:
 *
 *  +---------------+---------------+-------------------------------+
 *  | Next Payload  |C|  RESERVED   |         Payload Length        |
 *  +---------------+---------------+-------------------------------+
 *  |                     Initialization Vector                     |
 *  +---------------------------------------------------------------+
 *  ~                    Inner payloads (encrypted)                 ~
 *  +               +-----------------------------+-----------------+
 *  |               |       Padding (0-255)       |  Pad Length     |
 *  +---------------+-----------------------------+-----------------+
 *  ~                    Integrity Checksum Data                    ~
 *  +---------------------------------------------------------------+
 *
 * Next Payload names the first inner payload. The integrity check (AEAD
 * associated data, or HMAC input) starts at the IKE header, so the header and
 * all lengths are final before sealing.
 */
#include <errno.h>
#include <string.h>

#include "ikev2_msg.h"

static int ikev2_msg_err(enum ikev2_perr *reason, enum ikev2_perr r, int err)
{
	if (reason)
		*reason = r;
	return err;
}

int ikev2_msg_parse(uint8_t *buf, size_t len, struct ikev2_msg *m, enum ikev2_perr *reason)
{
	enum ikev2_perr why = IKEV2_PERR_NONE;
	int err;

	memset(m, 0, offsetof(struct ikev2_msg, plds));
	m->plds.n = 0;
	m->inner.n = 0;
	m->sk = NULL;
	m->sk_next = 0;
	m->opened = false;
	m->buf = buf;
	m->len = len;

	err = ikev2_hdr_parse(buf, len, &m->hdr, &why);
	if (err)
		return ikev2_msg_err(reason, why, err);
	err = ikev2_pld_parse_chain(m->hdr.next, buf + IKEV2_HDR_LEN, len - IKEV2_HDR_LEN,
				    &m->plds, &why);
	if (err)
		return ikev2_msg_err(reason, why, err);
	if (m->plds.n && m->plds.pld[m->plds.n - 1].type == IKEV2_PLD_SK) {
		m->sk = &m->plds.pld[m->plds.n - 1];
		m->sk_next = m->sk->body[-IKEV2_PLD_HDR_LEN];
	}
	return ikev2_msg_err(reason, IKEV2_PERR_NONE, 0);
}

int ikev2_msg_sk_open(struct ikev2_msg *m, const struct crypto_sk *sk, enum ikev2_perr *reason)
{
	size_t aad_len, iv_len, icv_len, pt_len;
	uint8_t *pt, padlen;
	unsigned int i;
	int err;

	m->inner.n = 0;
	if (!m->sk)
		return ikev2_msg_err(reason, IKEV2_PERR_BAD_SK, -ENOENT);
	if (m->opened)
		return ikev2_msg_err(reason, IKEV2_PERR_BAD_SK, -EALREADY);
	iv_len = crypto_sk_iv_len(sk);
	icv_len = crypto_sk_icv_len(sk);
	/* at least the Pad Length byte */
	if (m->sk->len < iv_len + icv_len + 1)
		return ikev2_msg_err(reason, IKEV2_PERR_BAD_SK, -EBADMSG);
	aad_len = (size_t)(m->sk->body - m->buf);
	err = crypto_sk_open(sk, m->buf, aad_len, m->sk->len);
	if (err == -EBADMSG)
		return ikev2_msg_err(reason, IKEV2_PERR_ICV_MISMATCH, err);
	if (err)
		return ikev2_msg_err(reason, IKEV2_PERR_BAD_SK, err);
	/* The buffer now holds plaintext: never open it twice. */
	m->opened = true;

	pt = m->sk->body + iv_len;
	pt_len = m->sk->len - iv_len - icv_len;
	padlen = pt[pt_len - 1];
	if ((size_t)padlen + 1 > pt_len)
		return ikev2_msg_err(reason, IKEV2_PERR_BAD_SK, -EBADMSG);
	err = ikev2_pld_parse_chain(m->sk_next, pt, pt_len - padlen - 1, &m->inner, reason);
	if (err)
		return err;
	for (i = 0; i < m->inner.n; i++)
		if (m->inner.pld[i].type == IKEV2_PLD_SK || m->inner.pld[i].type == IKEV2_PLD_SKF)
			return ikev2_msg_err(reason, IKEV2_PERR_BAD_SK, -EBADMSG);
	return ikev2_msg_err(reason, IKEV2_PERR_NONE, 0);
}

static void ikev2_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

void ikev2_hdr_encode(const struct ikev2_hdr *hdr, uint8_t out[IKEV2_HDR_LEN])
{
	ikev2_put32(out, hdr->ispi >> 32);
	ikev2_put32(out + 4, hdr->ispi & 0xffffffff);
	ikev2_put32(out + 8, hdr->rspi >> 32);
	ikev2_put32(out + 12, hdr->rspi & 0xffffffff);
	out[16] = hdr->next;
	out[17] = hdr->version;
	out[18] = hdr->exchange;
	out[19] = hdr->flags;
	ikev2_put32(out + 20, hdr->msgid);
	ikev2_put32(out + 24, hdr->length);
}

void ikev2_msg_begin(struct ikev2_enc *e, uint8_t *buf, size_t cap, const struct ikev2_hdr *hdr)
{
	struct ikev2_hdr h = *hdr;
	uint8_t *p;

	ikev2_enc_init(e, buf, cap, SIZE_MAX);
	h.next = IKEV2_PLD_NONE;
	h.length = 0;
	if (!h.version)
		h.version = IKEV2_VERSION;
	p = ikev2_enc_reserve(e, IKEV2_HDR_LEN);
	if (!p)
		return;
	ikev2_hdr_encode(&h, p);
	e->np_off = 16;
}

void ikev2_msg_sk_begin(struct ikev2_enc *e, const struct crypto_sk *sk)
{
	size_t off = e->len;

	if (e->err)
		return;
	if (e->sk_off) {
		e->err = -EINVAL;
		return;
	}
	ikev2_enc_pld_begin(e, IKEV2_PLD_SK, false);
	if (e->err)
		return;
	/* The SK payload stays open across the inner payloads; its Next
	 * Payload byte (np_off, set by pld_begin) gets the first inner type. */
	e->pld_open = false;
	e->sk_off = off;
	ikev2_enc_reserve(e, crypto_sk_iv_len(sk));
}

int ikev2_msg_finish(struct ikev2_enc *e, struct crypto_sk *sk)
{
	size_t pt_off, pt_len, block, padlen;
	uint8_t *p;
	int err;

	if (e->err)
		return e->err;
	if (e->pld_open || e->len < IKEV2_HDR_LEN)
		return -EINVAL;
	if (!e->sk_off) {
		ikev2_put32(e->buf + 24, e->len);
		return 0;
	}
	if (!sk)
		return -EINVAL;
	pt_off = e->sk_off + IKEV2_PLD_HDR_LEN + crypto_sk_iv_len(sk);
	pt_len = e->len - pt_off;
	block = crypto_sk_block_len(sk);
	padlen = (block - (pt_len + 1) % block) % block;
	p = ikev2_enc_reserve(e, padlen + 1);
	if (!p)
		return e->err;
	memset(p, 0, padlen);
	p[padlen] = padlen;
	pt_len += padlen + 1;
	if (!ikev2_enc_reserve(e, crypto_sk_icv_len(sk)))
		return e->err;
	if (e->len - e->sk_off > UINT16_MAX)
		return -EMSGSIZE;
	e->buf[e->sk_off + 2] = (e->len - e->sk_off) >> 8;
	e->buf[e->sk_off + 3] = (e->len - e->sk_off) & 0xff;
	ikev2_put32(e->buf + 24, e->len);
	err = crypto_sk_seal(sk, e->buf, e->sk_off + IKEV2_PLD_HDR_LEN, pt_len);
	if (err) {
		/* never let half-encrypted plaintext leave */
		memset(e->buf, 0, e->len);
		e->err = err;
	}
	return err;
}
