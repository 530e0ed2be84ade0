/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test-only IKEv2 message samples built with the real encoder, shared by the
 * payload/message unit tests (and used to make the fuzz seed corpus).
 */
#ifndef XIPSEC_TEST_IKEV2_SAMPLES_H
#define XIPSEC_TEST_IKEV2_SAMPLES_H

#include <stdint.h>
#include <string.h>

#include "../../iked/ikev2_msg.h"

#define SAMPLE_SPI_I 0x0011223344556677ULL
#define SAMPLE_SPI_R 0x8899aabbccddeeffULL

/* A self-signed P-256 certificate (CN=moon), DER, so dissectors parse CERT. */
static const char sample_cert_der[] =
	"\x30\x82\x01\x74\x30\x82\x01\x19\xa0\x03\x02\x01\x02\x02\x14\x4d\xe8\xbe"
	"\x3e\x96\xde\xf9\x01\x11\x84\xff\x08\x4a\x45\xce\x6d\x09\xc1\xf8\xda\x30"
	"\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02\x30\x0f\x31\x0d\x30\x0b\x06"
	"\x03\x55\x04\x03\x0c\x04\x6d\x6f\x6f\x6e\x30\x1e\x17\x0d\x32\x36\x31\x31"
	"\x32\x37\x32\x33\x32\x33\x31\x33\x5a\x17\x0d\x33\x36\x31\x31\x32\x34\x32"
	"\x33\x32\x33\x31\x33\x5a\x30\x0f\x31\x0d\x30\x0b\x06\x03\x55\x04\x03\x0c"
	"\x04\x6d\x6f\x6f\x6e\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
	"\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00\x04\x5a\x01\xf0\xd4"
	"\x64\x4a\x56\x72\x41\xcc\xde\x3b\xe0\x4f\x4a\xe3\x0e\x5c\xfb\x80\xba\xfc"
	"\x22\xac\x0d\xfc\x5b\xb0\x78\x81\xcd\xb4\xe1\x1b\x35\xe5\x0b\xe2\x95\xe5"
	"\xd6\x9f\xeb\x5e\x10\x92\xe7\x24\xc8\x94\x53\x10\x5a\xf8\xa8\x05\xe4\xf4"
	"\x2f\x5d\x16\x32\x69\x7f\xa3\x53\x30\x51\x30\x1d\x06\x03\x55\x1d\x0e\x04"
	"\x16\x04\x14\x13\x3a\x2a\xf8\x4e\x69\x94\xed\x27\xe1\xbf\x7b\xfc\xbf\xac"
	"\x7d\xd0\x61\x27\x21\x30\x1f\x06\x03\x55\x1d\x23\x04\x18\x30\x16\x80\x14"
	"\x13\x3a\x2a\xf8\x4e\x69\x94\xed\x27\xe1\xbf\x7b\xfc\xbf\xac\x7d\xd0\x61"
	"\x27\x21\x30\x0f\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x01\x01"
	"\xff\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02\x03\x49\x00\x30\x46"
	"\x02\x21\x00\xce\x37\xef\x00\x6c\x32\x03\x2f\x3e\x90\x81\x85\x25\x72\xb1"
	"\x26\xa4\x79\x50\xb7\xad\xe0\xcc\x8d\xa4\x6e\xbe\x08\xa5\xd3\xb8\x55\x02"
	"\x21\x00\xec\x77\x52\x0c\x8e\xc8\x8b\xd0\xc0\x3d\xaf\xf7\xff\x37\x38\x1b"
	"\x6c\x4e\x3f\x16\xa5\x43\x2e\xf7\x16\x66\x93\xf0\x34\xf2\xf7\x3c";
#define SAMPLE_CERT_LEN (sizeof(sample_cert_der) - 1)

static inline void sample_fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 37);
}

/* Two proposals: IKE (AES-GCM-16-256, PRF-SHA256, ECP-256, X25519) and
 * IKE (AES-CBC-128, HMAC-SHA2-256-128, PRF-SHA384, MODP-2048). */
static inline void sample_ike_sa(struct ikev2_sa *sa)
{
	struct ikev2_prop *p;

	memset(sa, 0, sizeof(*sa));
	sa->n_props = 2;
	p = &sa->props[0];
	p->num = 1;
	p->proto = IKEV2_PROTO_IKE;
	p->n_xforms = 4;
	p->xforms[0] = (struct ikev2_xform){ IKEV2_XFORM_ENCR, IKEV2_ENCR_AES_GCM_16, 256 };
	p->xforms[1] = (struct ikev2_xform){ IKEV2_XFORM_PRF, IKEV2_PRF_HMAC_SHA2_256, 0 };
	p->xforms[2] = (struct ikev2_xform){ IKEV2_XFORM_DH, IKEV2_DH_ECP_256, 0 };
	p->xforms[3] = (struct ikev2_xform){ IKEV2_XFORM_DH, IKEV2_DH_CURVE25519, 0 };
	p = &sa->props[1];
	p->num = 2;
	p->proto = IKEV2_PROTO_IKE;
	p->n_xforms = 4;
	p->xforms[0] = (struct ikev2_xform){ IKEV2_XFORM_ENCR, IKEV2_ENCR_AES_CBC, 128 };
	p->xforms[1] = (struct ikev2_xform){ IKEV2_XFORM_INTEG, IKEV2_INTEG_HMAC_SHA2_256_128, 0 };
	p->xforms[2] = (struct ikev2_xform){ IKEV2_XFORM_PRF, IKEV2_PRF_HMAC_SHA2_384, 0 };
	p->xforms[3] = (struct ikev2_xform){ IKEV2_XFORM_DH, IKEV2_DH_MODP_2048, 0 };
}

/* One ESP proposal with a 4-byte SPI and ESN. */
static inline void sample_esp_sa(struct ikev2_sa *sa)
{
	struct ikev2_prop *p;

	memset(sa, 0, sizeof(*sa));
	sa->n_props = 1;
	p = &sa->props[0];
	p->num = 1;
	p->proto = IKEV2_PROTO_ESP;
	p->spi_size = 4;
	memcpy(p->spi, "\xc1\x00\x00\x01", 4);
	p->n_xforms = 3;
	p->xforms[0] = (struct ikev2_xform){ IKEV2_XFORM_ENCR, IKEV2_ENCR_AES_GCM_16, 128 };
	p->xforms[1] = (struct ikev2_xform){ IKEV2_XFORM_ESN, IKEV2_ESN_NO, 0 };
	p->xforms[2] = (struct ikev2_xform){ IKEV2_XFORM_ESN, IKEV2_ESN_YES, 0 };
}

/* TS list: 10.1.0.0-10.1.255.255 any proto, and 2001:db8::/64 TCP port 443. */
static inline void sample_ts(struct ikev2_ts_list *tl)
{
	memset(tl, 0, sizeof(*tl));
	tl->n = 2;
	tl->ts[0].type = IKEV2_TS_IPV4_ADDR_RANGE;
	tl->ts[0].end_port = 65535;
	memcpy(tl->ts[0].start_addr, "\x0a\x01\x00\x00", 4);
	memcpy(tl->ts[0].end_addr, "\x0a\x01\xff\xff", 4);
	tl->ts[1].type = IKEV2_TS_IPV6_ADDR_RANGE;
	tl->ts[1].ipproto = 6;
	tl->ts[1].start_port = 443;
	tl->ts[1].end_port = 443;
	memcpy(tl->ts[1].start_addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	memcpy(tl->ts[1].end_addr,
	       "\x20\x01\x0d\xb8\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16);
}

static inline void sample_hdr(struct ikev2_hdr *h, uint8_t exch, uint32_t msgid, bool resp)
{
	memset(h, 0, sizeof(*h));
	h->ispi = SAMPLE_SPI_I;
	h->rspi = exch == IKEV2_EXCH_IKE_SA_INIT && !resp ? 0 : SAMPLE_SPI_R;
	h->version = IKEV2_VERSION;
	h->exchange = exch;
	h->flags = resp ? IKEV2_FLAG_RESPONSE : IKEV2_FLAG_INITIATOR;
	h->msgid = msgid;
}

/* IKE_SA_INIT request: SA, KE (ECP-256), Ni, N(NAT_DETECTION_*), N(SHA), V, CERTREQ */
static inline int sample_sa_init(uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t ke[64], nonce[32], natd[20], vid[16], certreq[40];
	uint8_t hashes[8] = { 0, 2, 0, 3, 0, 4, 0, 5 };
	struct ikev2_enc e;
	struct ikev2_hdr h;
	struct ikev2_sa sa;
	int err;

	sample_hdr(&h, IKEV2_EXCH_IKE_SA_INIT, 0, false);
	sample_ike_sa(&sa);
	sample_fill(ke, sizeof(ke), 1);
	sample_fill(nonce, sizeof(nonce), 2);
	sample_fill(natd, sizeof(natd), 3);
	sample_fill(vid, sizeof(vid), 4);
	sample_fill(certreq, sizeof(certreq), 5);
	ikev2_msg_begin(&e, buf, cap, &h);
	ikev2_enc_sa(&e, &sa);
	ikev2_enc_ke(&e, IKEV2_DH_ECP_256, ke, sizeof(ke));
	ikev2_enc_nonce(&e, nonce, sizeof(nonce));
	ikev2_enc_notify(&e, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, natd, sizeof(natd));
	ikev2_enc_notify(&e, 0, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP, natd,
			 sizeof(natd));
	ikev2_enc_notify(&e, 0, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, hashes,
			 sizeof(hashes));
	ikev2_enc_vendor(&e, vid, sizeof(vid));
	ikev2_enc_cert(&e, IKEV2_PLD_CERTREQ, IKEV2_CERT_X509_SIG, certreq, sizeof(certreq));
	err = ikev2_msg_finish(&e, NULL);
	*len = e.len;
	return err;
}

/*
 * The payloads of an IKE_AUTH request: IDi, CERT, N(INITIAL_CONTACT), AUTH,
 * CP, SA (ESP), TSi, TSr, plus D(ESP) and D(IKE) to cover Delete. Encoded
 * into @e, inside or outside an SK payload as the caller chose.
 */
static inline void sample_auth_payloads(struct ikev2_enc *e)
{
	uint8_t auth[64], spis[8] = { 0xc1, 0, 0, 2, 0xc1, 0, 0, 3 };
	static const uint8_t v4[4];
	struct ikev2_ts_list tl;
	struct ikev2_sa sa;
	struct ikev2_cp cp;

	sample_fill(auth, sizeof(auth), 7);
	sample_esp_sa(&sa);
	sample_ts(&tl);
	memset(&cp, 0, sizeof(cp));
	cp.cfg_type = IKEV2_CFG_REQUEST;
	cp.n_attrs = 3;
	cp.attrs[0] = (struct ikev2_cp_attr){ IKEV2_CFG_INTERNAL_IP4_ADDRESS, 0, NULL };
	cp.attrs[1] = (struct ikev2_cp_attr){ IKEV2_CFG_INTERNAL_IP4_DNS, 4, v4 };
	cp.attrs[2] = (struct ikev2_cp_attr){ IKEV2_CFG_INTERNAL_IP6_ADDRESS, 0, NULL };

	ikev2_enc_id(e, IKEV2_PLD_IDI, IKEV2_ID_FQDN, (const uint8_t *)"moon.example.org", 16);
	ikev2_enc_cert(e, IKEV2_PLD_CERT, IKEV2_CERT_X509_SIG, (const uint8_t *)sample_cert_der,
		       SAMPLE_CERT_LEN);
	ikev2_enc_notify(e, 0, NULL, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	ikev2_enc_auth(e, IKEV2_AUTH_SHARED_KEY_MIC, auth, 32);
	ikev2_enc_cp(e, &cp);
	ikev2_enc_sa(e, &sa);
	ikev2_enc_ts(e, IKEV2_PLD_TSI, &tl);
	ikev2_enc_ts(e, IKEV2_PLD_TSR, &tl);
	ikev2_enc_delete(e, IKEV2_PROTO_ESP, 4, spis, 2);
	ikev2_enc_delete(e, IKEV2_PROTO_IKE, 0, NULL, 0);
}

#endif
