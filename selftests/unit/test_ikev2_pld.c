// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_pld.c: encode/decode of every supported payload, exact wire
 * bytes for an SA payload, and the parser's answers to malformed input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../iked/ikev2_msg.h"
#include "ikev2_samples.h"

static uint8_t buf[4096];

static void check_sa_equal(const struct ikev2_sa *a, const struct ikev2_sa *b)
{
	unsigned int i, j;

	assert_int_equal(a->n_props, b->n_props);
	for (i = 0; i < a->n_props; i++) {
		const struct ikev2_prop *p = &a->props[i], *q = &b->props[i];

		assert_int_equal(p->num, q->num);
		assert_int_equal(p->proto, q->proto);
		assert_int_equal(p->spi_size, q->spi_size);
		assert_memory_equal(p->spi, q->spi, p->spi_size);
		assert_int_equal(p->n_xforms, q->n_xforms);
		for (j = 0; j < p->n_xforms; j++) {
			assert_int_equal(p->xforms[j].type, q->xforms[j].type);
			assert_int_equal(p->xforms[j].id, q->xforms[j].id);
			assert_int_equal(p->xforms[j].keylen, q->xforms[j].keylen);
		}
	}
}

static void check_ts_equal(const struct ikev2_ts_list *a, const struct ikev2_ts_list *b)
{
	unsigned int i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_memory_equal(&a->ts[i], &b->ts[i], sizeof(a->ts[i]));
}

/* IKE_SA_INIT: SA, KE, Nonce, Notify, Vendor ID, CERTREQ */
static void test_sa_init_round_trip(void **state)
{
	struct ikev2_sa sa, want_sa;
	struct ikev2_notify n;
	struct ikev2_blob blob;
	struct ikev2_cert cert;
	struct ikev2_ke ke;
	struct ikev2_msg m;
	enum ikev2_perr why;
	uint8_t expect[64];
	size_t len;

	(void)state;
	assert_int_equal(sample_sa_init(buf, sizeof(buf), &len), 0);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(why, IKEV2_PERR_NONE);
	assert_int_equal(m.hdr.ispi, SAMPLE_SPI_I);
	assert_int_equal(m.hdr.rspi, 0);
	assert_int_equal(m.hdr.exchange, IKEV2_EXCH_IKE_SA_INIT);
	assert_int_equal(m.hdr.flags, IKEV2_FLAG_INITIATOR);
	assert_int_equal(m.hdr.next, IKEV2_PLD_SA);
	assert_int_equal(m.hdr.length, len);
	assert_null(m.sk);
	assert_int_equal(m.plds.n, 8);

	assert_int_equal(ikev2_pld_parse_sa(ikev2_pld_find(&m.plds, IKEV2_PLD_SA, 0), &sa, &why),
			 0);
	sample_ike_sa(&want_sa);
	check_sa_equal(&sa, &want_sa);

	assert_int_equal(ikev2_pld_parse_ke(ikev2_pld_find(&m.plds, IKEV2_PLD_KE, 0), &ke, &why),
			 0);
	assert_int_equal(ke.group, IKEV2_DH_ECP_256);
	sample_fill(expect, 64, 1);
	assert_int_equal(ke.len, 64);
	assert_memory_equal(ke.data, expect, 64);

	assert_int_equal(ikev2_pld_parse_nonce(ikev2_pld_find(&m.plds, IKEV2_PLD_NONCE, 0), &blob,
					       &why),
			 0);
	sample_fill(expect, 32, 2);
	assert_int_equal(blob.len, 32);
	assert_memory_equal(blob.data, expect, 32);

	assert_int_equal(ikev2_pld_count(&m.plds, IKEV2_PLD_NOTIFY), 3);
	assert_int_equal(ikev2_pld_parse_notify(ikev2_pld_find(&m.plds, IKEV2_PLD_NOTIFY, 1), &n,
						&why),
			 0);
	assert_int_equal(n.type, IKEV2_N_NAT_DETECTION_DESTINATION_IP);
	assert_int_equal(n.spi_size, 0);
	assert_int_equal(n.len, 20);
	assert_int_equal(ikev2_pld_parse_notify(ikev2_pld_find(&m.plds, IKEV2_PLD_NOTIFY, 2), &n,
						&why),
			 0);
	assert_int_equal(n.type, IKEV2_N_SIGNATURE_HASH_ALGORITHMS);
	assert_memory_equal(n.data, "\0\2\0\3\0\4\0\5", 8);

	assert_int_equal(ikev2_pld_parse_vendor(ikev2_pld_find(&m.plds, IKEV2_PLD_VENDOR, 0),
						&blob, &why),
			 0);
	assert_int_equal(blob.len, 16);

	assert_int_equal(ikev2_pld_parse_cert(ikev2_pld_find(&m.plds, IKEV2_PLD_CERTREQ, 0), &cert,
					      &why),
			 0);
	assert_int_equal(cert.encoding, IKEV2_CERT_X509_SIG);
	assert_int_equal(cert.len, 40);
}

/* IKE_AUTH payloads in clear: IDi, CERT, Notify, AUTH, CP, SA, TSi, TSr, Delete */
static void test_auth_payloads_round_trip(void **state)
{
	struct ikev2_ts_list ts, want_ts;
	struct ikev2_sa sa, want_sa;
	struct ikev2_delete d;
	struct ikev2_auth auth;
	struct ikev2_cert cert;
	struct ikev2_id id;
	struct ikev2_cp cp;
	struct ikev2_enc e;
	struct ikev2_hdr h;
	struct ikev2_msg m;
	enum ikev2_perr why;
	static const uint8_t order[] = { IKEV2_PLD_IDI,	  IKEV2_PLD_CERT, IKEV2_PLD_NOTIFY,
					 IKEV2_PLD_AUTH,  IKEV2_PLD_CP,	  IKEV2_PLD_SA,
					 IKEV2_PLD_TSI,	  IKEV2_PLD_TSR,  IKEV2_PLD_DELETE,
					 IKEV2_PLD_DELETE };
	unsigned int i;

	(void)state;
	sample_hdr(&h, IKEV2_EXCH_IKE_AUTH, 1, false);
	ikev2_msg_begin(&e, buf, sizeof(buf), &h);
	sample_auth_payloads(&e);
	assert_int_equal(ikev2_msg_finish(&e, NULL), 0);
	assert_int_equal(ikev2_msg_parse(buf, e.len, &m, &why), 0);
	assert_int_equal(m.plds.n, sizeof(order));
	for (i = 0; i < sizeof(order); i++)
		assert_int_equal(m.plds.pld[i].type, order[i]);

	assert_int_equal(ikev2_pld_parse_id(&m.plds.pld[0], &id, &why), 0);
	assert_int_equal(id.type, IKEV2_ID_FQDN);
	assert_int_equal(id.len, 16);
	assert_memory_equal(id.data, "moon.example.org", 16);

	assert_int_equal(ikev2_pld_parse_cert(&m.plds.pld[1], &cert, &why), 0);
	assert_int_equal(cert.len, SAMPLE_CERT_LEN);
	assert_memory_equal(cert.data, sample_cert_der, SAMPLE_CERT_LEN);

	assert_int_equal(ikev2_pld_parse_auth(&m.plds.pld[3], &auth, &why), 0);
	assert_int_equal(auth.method, IKEV2_AUTH_SHARED_KEY_MIC);
	assert_int_equal(auth.len, 32);

	assert_int_equal(ikev2_pld_parse_cp(&m.plds.pld[4], &cp, &why), 0);
	assert_int_equal(cp.cfg_type, IKEV2_CFG_REQUEST);
	assert_int_equal(cp.n_attrs, 3);
	assert_int_equal(cp.attrs[0].type, IKEV2_CFG_INTERNAL_IP4_ADDRESS);
	assert_int_equal(cp.attrs[0].len, 0);
	assert_int_equal(cp.attrs[1].type, IKEV2_CFG_INTERNAL_IP4_DNS);
	assert_int_equal(cp.attrs[1].len, 4);
	assert_int_equal(cp.attrs[2].type, IKEV2_CFG_INTERNAL_IP6_ADDRESS);

	assert_int_equal(ikev2_pld_parse_sa(&m.plds.pld[5], &sa, &why), 0);
	sample_esp_sa(&want_sa);
	check_sa_equal(&sa, &want_sa);

	sample_ts(&want_ts);
	assert_int_equal(ikev2_pld_parse_ts(&m.plds.pld[6], &ts, &why), 0);
	check_ts_equal(&ts, &want_ts);
	assert_int_equal(ikev2_pld_parse_ts(&m.plds.pld[7], &ts, &why), 0);
	check_ts_equal(&ts, &want_ts);

	assert_int_equal(ikev2_pld_parse_delete(&m.plds.pld[8], &d, &why), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_ESP);
	assert_int_equal(d.n_spi, 2);
	assert_memory_equal(d.spis, "\xc1\0\0\2\xc1\0\0\3", 8);
	assert_int_equal(ikev2_pld_parse_delete(&m.plds.pld[9], &d, &why), 0);
	assert_int_equal(d.proto, IKEV2_PROTO_IKE);
	assert_int_equal(d.n_spi, 0);
}

/* Exact bytes for a small SA payload, written out from RFC 7296 3.3. */
static void test_sa_wire_bytes(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x24,			/* generic header: last, len 36 */
		0x00, 0x00, 0x00, 0x20,			/* proposal: last, len 32 */
		0x01, 0x03, 0x04, 0x02,			/* #1 ESP spi 4 bytes, 2 xforms */
		0xc1, 0x00, 0x00, 0x01,			/* SPI */
		0x03, 0x00, 0x00, 0x0c,			/* transform: more, len 12 */
		0x01, 0x00, 0x00, 0x14,			/* ENCR AES_GCM_16 */
		0x80, 0x0e, 0x01, 0x00,			/* Key Length 256 (TV) */
		0x00, 0x00, 0x00, 0x08,			/* transform: last, len 8 */
		0x05, 0x00, 0x00, 0x00,			/* ESN no */
	};
	struct ikev2_sa sa;
	struct ikev2_enc e;
	uint8_t out[64];

	(void)state;
	sample_esp_sa(&sa);
	sa.props[0].n_xforms = 2;
	sa.props[0].xforms[0].keylen = 256;
	ikev2_enc_init(&e, out, sizeof(out), SIZE_MAX);
	ikev2_enc_sa(&e, &sa);
	assert_int_equal(ikev2_enc_error(&e), 0);
	assert_int_equal(e.len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void test_encoder_overflow(void **state)
{
	uint8_t small[40];
	struct ikev2_enc e;
	struct ikev2_hdr h;
	uint8_t nonce[32] = { 0 };

	(void)state;
	sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 2, false);
	ikev2_msg_begin(&e, small, sizeof(small), &h);
	ikev2_enc_nonce(&e, nonce, sizeof(nonce));	/* 28 + 36 > 40 */
	ikev2_enc_nonce(&e, nonce, 4);
	assert_int_equal(ikev2_enc_error(&e), -ENOSPC);
	assert_int_equal(ikev2_msg_finish(&e, NULL), -ENOSPC);

	/* payloads do not nest */
	ikev2_msg_begin(&e, buf, sizeof(buf), &h);
	ikev2_enc_pld_begin(&e, IKEV2_PLD_VENDOR, false);
	ikev2_enc_pld_begin(&e, IKEV2_PLD_VENDOR, false);
	assert_int_equal(ikev2_enc_error(&e), -EINVAL);
}

/* ---- malformed messages ---- */

static size_t build(uint8_t *out, const uint8_t *plds, size_t plen, uint8_t first)
{
	struct ikev2_hdr h;

	sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 5, false);
	h.next = first;
	h.length = IKEV2_HDR_LEN + plen;
	ikev2_hdr_encode(&h, out);
	memcpy(out + IKEV2_HDR_LEN, plds, plen);
	return IKEV2_HDR_LEN + plen;
}

static int parse(const uint8_t *plds, size_t plen, uint8_t first, struct ikev2_msg *m,
		 enum ikev2_perr *why)
{
	size_t len = build(buf, plds, plen, first);

	return ikev2_msg_parse(buf, len, m, why);
}

static void test_header_errors(void **state)
{
	static const uint8_t vid[] = { 0, 0, 0, 5, 0xaa };
	struct ikev2_msg m;
	enum ikev2_perr why;
	size_t len;

	(void)state;
	len = build(buf, vid, sizeof(vid), IKEV2_PLD_VENDOR);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(ikev2_msg_parse(buf, 27, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_TRUNCATED);
	/* datagram shorter and longer than the header's length */
	assert_int_equal(ikev2_msg_parse(buf, len - 1, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_LENGTH_MISMATCH);
	buf[len] = 0;
	assert_int_equal(ikev2_msg_parse(buf, len + 1, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_LENGTH_MISMATCH);
	/* major version 3: INVALID_MAJOR_VERSION, header still readable */
	buf[17] = 0x30;
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), -EPROTONOSUPPORT);
	assert_int_equal(why, IKEV2_PERR_BAD_VERSION);
	assert_int_equal(ikev2_perr_notify(why), IKEV2_N_INVALID_MAJOR_VERSION);
	assert_int_equal(m.hdr.ispi, SAMPLE_SPI_I);
	/* minor version is ignored (RFC 7296 2.5) */
	buf[17] = 0x21;
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
}

static void test_chain_errors(void **state)
{
	struct ikev2_msg m;
	enum ikev2_perr why;
	uint8_t p[512];

	(void)state;
	/* payload length below the generic header */
	memcpy(p, "\0\0\0\3\0", 5);
	assert_int_equal(parse(p, 5, IKEV2_PLD_VENDOR, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_PLD_TOO_SHORT);
	/* payload running past the end */
	memcpy(p, "\0\0\0\x09\xaa", 5);
	assert_int_equal(parse(p, 5, IKEV2_PLD_VENDOR, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_PLD_OVERRUN);
	/* next payload announced but no bytes left */
	memcpy(p, "\x2b\0\0\x05\xaa", 5);
	assert_int_equal(parse(p, 5, IKEV2_PLD_VENDOR, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_TRUNCATED);
	/* half a generic header */
	assert_int_equal(parse(p, 2, IKEV2_PLD_VENDOR, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_TRUNCATED);
	/* bytes after the last payload */
	memcpy(p, "\0\0\0\x05\xaa\xbb", 6);
	assert_int_equal(parse(p, 6, IKEV2_PLD_VENDOR, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_TRAILING_DATA);
	/* no payloads but bytes */
	assert_int_equal(parse(p, 6, IKEV2_PLD_NONE, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_TRAILING_DATA);
	/* SK followed by another payload */
	memcpy(p, "\x2b\0\0\x05\xaa" "\0\0\0\x05\xbb", 10);
	assert_int_equal(parse(p, 10, IKEV2_PLD_SK, &m, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_SK_NOT_LAST);
}

static void test_chain_bound(void **state)
{
	struct ikev2_msg m;
	enum ikev2_perr why;
	uint8_t p[4 * (IKEV2_MAX_PAYLOADS + 1)];
	size_t i;

	(void)state;
	/* a chain of empty Vendor IDs, one more than the bound */
	for (i = 0; i <= IKEV2_MAX_PAYLOADS; i++) {
		p[4 * i] = i == IKEV2_MAX_PAYLOADS ? 0 : IKEV2_PLD_VENDOR;
		p[4 * i + 1] = 0;
		p[4 * i + 2] = 0;
		p[4 * i + 3] = 4;
	}
	assert_int_equal(parse(p, sizeof(p), IKEV2_PLD_VENDOR, &m, &why), -E2BIG);
	assert_int_equal(why, IKEV2_PERR_TOO_MANY_PAYLOADS);
	assert_int_equal(parse(p + 4, sizeof(p) - 4, IKEV2_PLD_VENDOR, &m, &why), 0);
	assert_int_equal(m.plds.n, IKEV2_MAX_PAYLOADS);
	/* an empty Vendor ID parses in the chain but not as a payload */
	assert_int_equal(ikev2_pld_parse_vendor(&m.plds.pld[0], &(struct ikev2_blob){ 0 }, &why),
			 -EBADMSG);
}

static void test_unknown_payloads(void **state)
{
	/* unknown type 200 (non-critical), then a Vendor ID */
	static const uint8_t skip[] = { 0x2b, 0x00, 0x00, 0x06, 1, 2, 0x00, 0x00, 0x00, 0x05, 9 };
	/* unknown type 201 with the critical bit */
	static const uint8_t crit[] = { 0x2b, 0x80, 0x00, 0x06, 1, 2, 0x00, 0x00, 0x00, 0x05, 9 };
	struct ikev2_msg m;
	enum ikev2_perr why;

	(void)state;
	assert_int_equal(parse(skip, sizeof(skip), 200, &m, &why), 0);
	assert_int_equal(m.plds.n, 1);
	assert_int_equal(m.plds.n_skipped, 1);
	assert_int_equal(m.plds.pld[0].type, IKEV2_PLD_VENDOR);

	assert_int_equal(parse(crit, sizeof(crit), 201, &m, &why), -ENOTSUP);
	assert_int_equal(why, IKEV2_PERR_UNSUPPORTED_CRITICAL);
	assert_int_equal(m.plds.unsupported_type, 201);
	assert_int_equal(ikev2_perr_notify(why), IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD);

	/* the critical bit on a known payload changes nothing */
	assert_int_equal(parse(crit + 6, 5, IKEV2_PLD_VENDOR, &m, &why), 0);
}

static struct ikev2_pld mkpld(uint8_t type, uint8_t *body, uint16_t len)
{
	return (struct ikev2_pld){ .type = type, .len = len, .body = body };
}

static void test_sa_errors(void **state)
{
	struct ikev2_sa sa, want;
	struct ikev2_enc e;
	struct ikev2_pld p;
	enum ikev2_perr why;
	uint8_t b[2048], *body = b + 4;
	size_t blen, i;

	(void)state;
	sample_esp_sa(&want);
	ikev2_enc_init(&e, b, sizeof(b), SIZE_MAX);
	ikev2_enc_sa(&e, &want);
	assert_int_equal(ikev2_enc_error(&e), 0);
	blen = e.len - 4;
	p = mkpld(IKEV2_PLD_SA, body, blen);
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), 0);

	/* proposal says "more follow" but none does */
	body[0] = 2;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_PROPOSAL);
	body[0] = 0;
	/* proposal length beyond the payload */
	body[3]++;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_PROPOSAL);
	body[3]--;
	/* transform count larger than the transforms present */
	body[7]++;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	body[7] = 0;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	body[7] = 3;
	/* ESP with an 8-byte SPI */
	body[6] = 8;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_SPI_SIZE);
	body[6] = 4;
	/* transform length running past the proposal */
	body[8 + 4 + 3] = 0xff;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_TRANSFORM);
	body[8 + 4 + 3] = 12;
	/* attribute cut short: transform length 10 */
	body[8 + 4 + 3] = 10;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);
	body[8 + 4 + 3] = 12;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), 0);
	/* empty SA */
	p.len = 0;
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -EBADMSG);

	/* more proposals than the bound */
	memset(&want, 0, sizeof(want));
	want.n_props = IKEV2_MAX_PROPOSALS;
	for (i = 0; i < IKEV2_MAX_PROPOSALS; i++) {
		want.props[i].num = i + 1;
		want.props[i].proto = IKEV2_PROTO_IKE;
		want.props[i].n_xforms = 1;
		want.props[i].xforms[0].type = IKEV2_XFORM_ENCR;
		want.props[i].xforms[0].id = IKEV2_ENCR_AES_CBC;
	}
	ikev2_enc_init(&e, b, sizeof(b), SIZE_MAX);
	ikev2_enc_sa(&e, &want);
	assert_int_equal(ikev2_enc_error(&e), 0);
	/* append a 17th copy of the last proposal, marking the 16th "more" */
	memcpy(b + e.len, b + e.len - 16, 16);
	b[e.len - 16] = 2;
	p = mkpld(IKEV2_PLD_SA, body, e.len + 16 - 4);
	assert_int_equal(ikev2_pld_parse_sa(&p, &sa, &why), -E2BIG);
	assert_int_equal(why, IKEV2_PERR_TOO_MANY_PROPOSALS);
}

static void test_typed_errors(void **state)
{
	struct ikev2_ts_list tl;
	struct ikev2_notify n;
	struct ikev2_delete d;
	struct ikev2_blob blob;
	struct ikev2_ke ke;
	struct ikev2_id id;
	struct ikev2_cp cp;
	struct ikev2_pld p;
	struct ikev2_enc e;
	enum ikev2_perr why;
	uint8_t b[1024];
	size_t i;

	(void)state;
	/* KE: length must match the group; unknown groups pass */
	memset(b, 0, sizeof(b));
	b[1] = IKEV2_DH_ECP_256;
	p = mkpld(IKEV2_PLD_KE, b, 4 + 63);
	assert_int_equal(ikev2_pld_parse_ke(&p, &ke, &why), -EINVAL);
	assert_int_equal(why, IKEV2_PERR_BAD_KE_LENGTH);
	p.len = 4 + 64;
	assert_int_equal(ikev2_pld_parse_ke(&p, &ke, &why), 0);
	b[1] = IKEV2_DH_MODP_2048;
	assert_int_equal(ikev2_pld_parse_ke(&p, &ke, &why), -EINVAL);
	b[1] = 99;
	assert_int_equal(ikev2_pld_parse_ke(&p, &ke, &why), 0);
	assert_int_equal(ke.group, 99);
	p.len = 4;
	assert_int_equal(ikev2_pld_parse_ke(&p, &ke, &why), -EBADMSG);

	/* Nonce 16..256 */
	p = mkpld(IKEV2_PLD_NONCE, b, 15);
	assert_int_equal(ikev2_pld_parse_nonce(&p, &blob, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_NONCE_LENGTH);
	p.len = 257;
	assert_int_equal(ikev2_pld_parse_nonce(&p, &blob, &why), -EBADMSG);
	p.len = 256;
	assert_int_equal(ikev2_pld_parse_nonce(&p, &blob, &why), 0);

	/* ID: address lengths */
	b[0] = IKEV2_ID_IPV4_ADDR;
	p = mkpld(IKEV2_PLD_IDI, b, 4 + 5);
	assert_int_equal(ikev2_pld_parse_id(&p, &id, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_ID);
	p.len = 8;
	assert_int_equal(ikev2_pld_parse_id(&p, &id, &why), 0);
	b[0] = IKEV2_ID_IPV6_ADDR;
	assert_int_equal(ikev2_pld_parse_id(&p, &id, &why), -EBADMSG);
	p.len = 4;
	assert_int_equal(ikev2_pld_parse_id(&p, &id, &why), -EBADMSG);

	/* Notify: SPI longer than the payload */
	memcpy(b, "\x03\x04\x40\x09\xc1", 5);
	p = mkpld(IKEV2_PLD_NOTIFY, b, 5);
	assert_int_equal(ikev2_pld_parse_notify(&p, &n, &why), -EBADMSG);
	p.len = 8;
	assert_int_equal(ikev2_pld_parse_notify(&p, &n, &why), 0);
	assert_int_equal(n.type, IKEV2_N_REKEY_SA);
	assert_int_equal(n.len, 0);
	b[1] = 9;
	assert_int_equal(ikev2_pld_parse_notify(&p, &n, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_SPI_SIZE);

	/* Delete: SPI count must match the bytes */
	memcpy(b, "\x03\x04\x00\x02", 4);
	p = mkpld(IKEV2_PLD_DELETE, b, 4 + 7);
	assert_int_equal(ikev2_pld_parse_delete(&p, &d, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_DELETE);
	p.len = 4 + 8;
	assert_int_equal(ikev2_pld_parse_delete(&p, &d, &why), 0);
	memcpy(b, "\x01\x00\x00\x01", 4);	/* IKE delete with an SPI count */
	assert_int_equal(ikev2_pld_parse_delete(&p, &d, &why), -EBADMSG);

	/* TS: selector length, count, type */
	sample_ts(&tl);
	ikev2_enc_init(&e, b, sizeof(b), SIZE_MAX);
	ikev2_enc_ts(&e, IKEV2_PLD_TSI, &tl);
	assert_int_equal(ikev2_enc_error(&e), 0);
	p = mkpld(IKEV2_PLD_TSI, b + 4, e.len - 4);
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), 0);
	b[4] = 3;	/* three announced, two present */
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_TS);
	b[4] = 1;	/* one announced, two present */
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), -EBADMSG);
	b[4] = 0;
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), -EBADMSG);
	b[4] = IKEV2_MAX_TS + 1;
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), -E2BIG);
	b[4] = 2;
	b[8 + 3] = 17;	/* IPv4 selector length 17 */
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), -EBADMSG);
	b[8 + 3] = 16;
	b[8] = 9;	/* unknown TS type */
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), -EBADMSG);
	b[8] = IKEV2_TS_IPV4_ADDR_RANGE;
	assert_int_equal(ikev2_pld_parse_ts(&p, &tl, &why), 0);

	/* CP: attribute running past the end, too many attributes */
	memcpy(b, "\x01\0\0\0" "\x00\x01\x00\x08" "\x0a\0\0\x01", 12);
	p = mkpld(IKEV2_PLD_CP, b, 12);
	assert_int_equal(ikev2_pld_parse_cp(&p, &cp, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_CP);
	b[7] = 4;
	assert_int_equal(ikev2_pld_parse_cp(&p, &cp, &why), 0);
	memset(b + 4, 0, 4 * (IKEV2_MAX_CP_ATTRS + 1));
	for (i = 0; i <= IKEV2_MAX_CP_ATTRS; i++)
		b[4 + 4 * i + 1] = IKEV2_CFG_INTERNAL_IP4_ADDRESS;
	p.len = 4 + 4 * (IKEV2_MAX_CP_ATTRS + 1);
	assert_int_equal(ikev2_pld_parse_cp(&p, &cp, &why), -E2BIG);
	p.len -= 4;
	assert_int_equal(ikev2_pld_parse_cp(&p, &cp, &why), 0);
	assert_int_equal(cp.n_attrs, IKEV2_MAX_CP_ATTRS);
}

static void test_names(void **state)
{
	unsigned int r;

	(void)state;
	assert_string_equal(ikev2_exchange_name(IKEV2_EXCH_IKE_AUTH), "IKE_AUTH");
	assert_string_equal(ikev2_pld_type_name(IKEV2_PLD_SK), "SK");
	assert_string_equal(ikev2_notify_name(IKEV2_N_COOKIE), "COOKIE");
	assert_string_equal(ikev2_notify_name(IKEV2_N_INVALID_KE_PAYLOAD), "INVALID_KE_PAYLOAD");
	assert_string_equal(ikev2_notify_name(12345), "UNKNOWN");
	assert_string_equal(ikev2_xform_id_name(IKEV2_XFORM_ENCR, IKEV2_ENCR_AES_GCM_16),
			    "AES_GCM_16");
	assert_string_equal(ikev2_xform_id_name(IKEV2_XFORM_DH, IKEV2_DH_CURVE25519),
			    "CURVE25519");
	assert_string_equal(ikev2_xform_id_name(IKEV2_XFORM_INTEG,
						IKEV2_INTEG_HMAC_SHA2_512_256),
			    "HMAC_SHA2_512_256");
	assert_string_equal(ikev2_auth_method_name(IKEV2_AUTH_DIGITAL_SIGNATURE),
			    "DIGITAL_SIGNATURE");
	assert_string_equal(ikev2_id_type_name(IKEV2_ID_DER_ASN1_DN), "DER_ASN1_DN");
	for (r = 0; r < IKEV2_PERR_MAX; r++)
		assert_string_not_equal(ikev2_perr_name(r), "unknown parse error");
	assert_int_equal(ikev2_perr_notify(IKEV2_PERR_ICV_MISMATCH), 0);
	assert_int_equal(ikev2_perr_notify(IKEV2_PERR_PLD_OVERRUN), IKEV2_N_INVALID_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_init_round_trip),
		cmocka_unit_test(test_auth_payloads_round_trip),
		cmocka_unit_test(test_sa_wire_bytes),
		cmocka_unit_test(test_encoder_overflow),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_chain_errors),
		cmocka_unit_test(test_chain_bound),
		cmocka_unit_test(test_unknown_payloads),
		cmocka_unit_test(test_sa_errors),
		cmocka_unit_test(test_typed_errors),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("ikev2_pld", tests, NULL, NULL);
}
