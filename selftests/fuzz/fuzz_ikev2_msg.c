// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: arbitrary bytes as an IKEv2 datagram.
 *
 * Runs what a responder does with a packet: ikev2_msg_parse(), every typed
 * payload parser on the cleartext chain, and ikev2_msg_sk_open() with fixed
 * keys (AES-GCM-16-256 and AES-CBC-256/HMAC-SHA2-256-128) so seeds sealed
 * with those keys reach the inner chain. Parsed SA, TS and CP payloads are
 * re-encoded and re-parsed, and must come back equal.
 *
 * The seed corpus (corpus/ikev2_msg/) is made by this file built with
 * -DFUZZ_GEN_CORPUS (see the end of the file):
 *   gcc -DFUZZ_GEN_CORPUS -D_GNU_SOURCE -Iinclude -Ilib -Iselftests/include \
 *       selftests/fuzz/fuzz_ikev2_msg.c iked/ikev2_pld.c iked/ikev2_msg.c \
 *       iked/crypto.c iked/dh.c -lcrypto -o /tmp/gen && /tmp/gen selftests/fuzz/corpus/ikev2_msg
 *
 * plus scapy_sa_init_modp, an IKE_SA_INIT from an independent encoder
 * (python3-scapy 2.5, scapy.contrib.ikev2: SA with AES-CBC-256, PRF and
 * INTEG SHA2-256, MODP-2048; KE group 14; Nonce; two NAT-D notifies; the
 * next_payload fields set by hand, scapy leaves them 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../iked/ikev2_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct crypto_suite fuzz_suites[] = {
	{ IKEV2_ENCR_AES_GCM_16, 256, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 },
	{ IKEV2_ENCR_AES_CBC, 256, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_HMAC_SHA2_256_128, 0 },
};

static void fuzz_keys(unsigned int i, struct crypto_sk *sk)
{
	uint8_t ekey[CRYPTO_ENCR_KEY_MAX], akey[CRYPTO_INTEG_KEY_MAX];
	size_t j;

	for (j = 0; j < sizeof(ekey); j++)
		ekey[j] = 0x01 + j;
	for (j = 0; j < sizeof(akey); j++)
		akey[j] = 0x41 + j;
	if (crypto_sk_init(sk, &fuzz_suites[i], ekey, akey))
		abort();
}

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_reencode_sa(const struct ikev2_sa *sa)
{
	static uint8_t out[IKEV2_MSG_MAX];
	static struct ikev2_sa again;
	struct ikev2_enc e;
	struct ikev2_pld p;
	unsigned int i, j;

	ikev2_enc_init(&e, out, sizeof(out), SIZE_MAX);
	ikev2_enc_sa(&e, sa);
	if (ikev2_enc_error(&e))
		return;	/* too big for one payload after re-encoding */
	p = (struct ikev2_pld){ IKEV2_PLD_SA, 0, (uint16_t)(e.len - 4), out + 4 };
	fuzz_check(ikev2_pld_parse_sa(&p, &again, NULL) == 0);
	fuzz_check(again.n_props == sa->n_props);
	for (i = 0; i < sa->n_props; i++) {
		fuzz_check(again.props[i].n_xforms == sa->props[i].n_xforms);
		for (j = 0; j < sa->props[i].n_xforms; j++) {
			fuzz_check(again.props[i].xforms[j].id == sa->props[i].xforms[j].id);
			fuzz_check(again.props[i].xforms[j].keylen ==
				   sa->props[i].xforms[j].keylen);
		}
	}
}

static void fuzz_reencode_ts(uint8_t type, const struct ikev2_ts_list *tl)
{
	uint8_t out[4 + IKEV2_MAX_TS * 40 + 8];
	struct ikev2_ts_list again;
	struct ikev2_enc e;
	struct ikev2_pld p;

	ikev2_enc_init(&e, out, sizeof(out), SIZE_MAX);
	ikev2_enc_ts(&e, type, tl);
	fuzz_check(ikev2_enc_error(&e) == 0);
	p = (struct ikev2_pld){ type, 0, (uint16_t)(e.len - 4), out + 4 };
	fuzz_check(ikev2_pld_parse_ts(&p, &again, NULL) == 0);
	fuzz_check(again.n == tl->n && !memcmp(again.ts, tl->ts, tl->n * sizeof(tl->ts[0])));
}

static void fuzz_reencode_cp(const struct ikev2_cp *cp)
{
	static uint8_t out[IKEV2_MSG_MAX];
	static struct ikev2_cp again;
	struct ikev2_enc e;
	struct ikev2_pld p;

	ikev2_enc_init(&e, out, sizeof(out), SIZE_MAX);
	ikev2_enc_cp(&e, cp);
	if (ikev2_enc_error(&e))
		return;
	p = (struct ikev2_pld){ IKEV2_PLD_CP, 0, (uint16_t)(e.len - 4), out + 4 };
	fuzz_check(ikev2_pld_parse_cp(&p, &again, NULL) == 0);
	fuzz_check(again.n_attrs == cp->n_attrs);
}

static void fuzz_payloads(struct ikev2_pld_list *list)
{
	static struct ikev2_sa sa;
	static struct ikev2_cp cp;
	struct ikev2_ts_list tl;
	struct ikev2_notify n;
	struct ikev2_delete d;
	struct ikev2_auth auth;
	struct ikev2_cert cert;
	struct ikev2_blob blob;
	struct ikev2_ke ke;
	struct ikev2_id id;
	enum ikev2_perr why;
	unsigned int i;

	for (i = 0; i < list->n; i++) {
		struct ikev2_pld *p = &list->pld[i];

		switch (p->type) {
		case IKEV2_PLD_SA:
			if (!ikev2_pld_parse_sa(p, &sa, &why))
				fuzz_reencode_sa(&sa);
			break;
		case IKEV2_PLD_KE:
			ikev2_pld_parse_ke(p, &ke, &why);
			break;
		case IKEV2_PLD_IDI:
		case IKEV2_PLD_IDR:
			ikev2_pld_parse_id(p, &id, &why);
			break;
		case IKEV2_PLD_CERT:
		case IKEV2_PLD_CERTREQ:
			ikev2_pld_parse_cert(p, &cert, &why);
			break;
		case IKEV2_PLD_AUTH:
			ikev2_pld_parse_auth(p, &auth, &why);
			break;
		case IKEV2_PLD_NONCE:
			ikev2_pld_parse_nonce(p, &blob, &why);
			break;
		case IKEV2_PLD_VENDOR:
			ikev2_pld_parse_vendor(p, &blob, &why);
			break;
		case IKEV2_PLD_NOTIFY:
			ikev2_pld_parse_notify(p, &n, &why);
			break;
		case IKEV2_PLD_DELETE:
			ikev2_pld_parse_delete(p, &d, &why);
			break;
		case IKEV2_PLD_TSI:
		case IKEV2_PLD_TSR:
			if (!ikev2_pld_parse_ts(p, &tl, &why))
				fuzz_reencode_ts(p->type, &tl);
			break;
		case IKEV2_PLD_CP:
			if (!ikev2_pld_parse_cp(p, &cp, &why))
				fuzz_reencode_cp(&cp);
			break;
		}
		fuzz_check(ikev2_perr_name(why) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ikev2_msg m;
	static uint8_t buf[IKEV2_MSG_MAX];
	static struct crypto_sk sk[2];
	static int init;
	enum ikev2_perr why;
	unsigned int i;

	if (!init) {
		fuzz_keys(0, &sk[0]);
		fuzz_keys(1, &sk[1]);
		init = 1;
	}
	if (size > sizeof(buf))
		return 0;
	for (i = 0; i < 2; i++) {
		memcpy(buf, data, size);
		if (ikev2_msg_parse(buf, size, &m, &why)) {
			fuzz_check(why != IKEV2_PERR_NONE);
			return 0;
		}
		fuzz_payloads(&m.plds);
		if (!m.sk)
			return 0;
		if (ikev2_msg_sk_open(&m, &sk[i], &why) == 0)
			fuzz_payloads(&m.inner);
	}
	return 0;
}

#ifdef FUZZ_GEN_CORPUS
#include "ikev2_samples.h"

static void gen_write(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, len, 1, f) != 1 || fclose(f))
		abort();
}

int main(int argc, char **argv)
{
	static uint8_t buf[4096];
	struct crypto_sk sk;
	struct ikev2_enc e;
	struct ikev2_hdr h;
	uint8_t spi[4] = { 0xc1, 0, 0, 9 }, nonce[32];
	size_t len;
	unsigned int i;

	if (argc != 2)
		return 2;
	if (sample_sa_init(buf, sizeof(buf), &len))
		abort();
	gen_write(argv[1], "sa_init_req", buf, len);

	/* IKE_SA_INIT response: SA (one proposal), KE, Nr, N(COOKIE) */
	{
		struct ikev2_sa sa;
		uint8_t ke[32];

		sample_ike_sa(&sa);
		sa.n_props = 1;
		sa.props[0].n_xforms = 3;
		sa.props[0].xforms[2].id = IKEV2_DH_CURVE25519;
		sample_hdr(&h, IKEV2_EXCH_IKE_SA_INIT, 0, true);
		sample_fill(ke, sizeof(ke), 21);
		sample_fill(nonce, sizeof(nonce), 22);
		ikev2_msg_begin(&e, buf, sizeof(buf), &h);
		ikev2_enc_sa(&e, &sa);
		ikev2_enc_ke(&e, IKEV2_DH_CURVE25519, ke, sizeof(ke));
		ikev2_enc_nonce(&e, nonce, sizeof(nonce));
		ikev2_enc_notify(&e, 0, NULL, 0, IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0);
		if (ikev2_msg_finish(&e, NULL))
			abort();
		gen_write(argv[1], "sa_init_resp", buf, e.len);
	}

	/* every payload type in clear */
	sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 4, false);
	ikev2_msg_begin(&e, buf, sizeof(buf), &h);
	sample_auth_payloads(&e);
	if (ikev2_msg_finish(&e, NULL))
		abort();
	gen_write(argv[1], "all_payloads_clear", buf, e.len);

	/* an unknown payload (type 200) before a Vendor ID: non-critical
	 * (skipped) and critical (UNSUPPORTED_CRITICAL_PAYLOAD) */
	for (i = 0; i < 2; i++) {
		static const uint8_t vid[] = { 0x2b, 0, 0, 6, 1, 2, 0, 0, 0, 5, 9 };

		sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 6, false);
		h.next = 200;
		h.length = IKEV2_HDR_LEN + sizeof(vid);
		ikev2_hdr_encode(&h, buf);
		memcpy(buf + IKEV2_HDR_LEN, vid, sizeof(vid));
		buf[IKEV2_HDR_LEN + 1] = i ? IKEV2_PLD_CRITICAL : 0;
		gen_write(argv[1], i ? "unknown_critical" : "unknown_noncritical", buf,
			  h.length);
	}

	for (i = 0; i < 2; i++) {
		char name[64];

		fuzz_keys(i, &sk);
		/* IKE_AUTH request in SK */
		sample_hdr(&h, IKEV2_EXCH_IKE_AUTH, 1, false);
		ikev2_msg_begin(&e, buf, sizeof(buf), &h);
		ikev2_msg_sk_begin(&e, &sk);
		sample_auth_payloads(&e);
		if (ikev2_msg_finish(&e, &sk))
			abort();
		snprintf(name, sizeof(name), "ike_auth_sk%u", i);
		gen_write(argv[1], name, buf, e.len);

		/* CREATE_CHILD_SA: SK{N(REKEY_SA), SA, Ni, TSi, TSr} */
		{
			struct ikev2_ts_list tl;
			struct ikev2_sa sa;

			sample_esp_sa(&sa);
			sample_ts(&tl);
			sample_fill(nonce, sizeof(nonce), 23);
			sample_hdr(&h, IKEV2_EXCH_CREATE_CHILD_SA, 2, false);
			ikev2_msg_begin(&e, buf, sizeof(buf), &h);
			ikev2_msg_sk_begin(&e, &sk);
			ikev2_enc_notify(&e, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
			ikev2_enc_sa(&e, &sa);
			ikev2_enc_nonce(&e, nonce, sizeof(nonce));
			ikev2_enc_ts(&e, IKEV2_PLD_TSI, &tl);
			ikev2_enc_ts(&e, IKEV2_PLD_TSR, &tl);
			if (ikev2_msg_finish(&e, &sk))
				abort();
			snprintf(name, sizeof(name), "create_child_sk%u", i);
			gen_write(argv[1], name, buf, e.len);
		}

		/* INFORMATIONAL liveness check: empty SK */
		sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 3, true);
		ikev2_msg_begin(&e, buf, sizeof(buf), &h);
		ikev2_msg_sk_begin(&e, &sk);
		if (ikev2_msg_finish(&e, &sk))
			abort();
		snprintf(name, sizeof(name), "informational_empty_sk%u", i);
		gen_write(argv[1], name, buf, e.len);

		/* INFORMATIONAL delete of a child SA */
		sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 5, false);
		ikev2_msg_begin(&e, buf, sizeof(buf), &h);
		ikev2_msg_sk_begin(&e, &sk);
		ikev2_enc_delete(&e, IKEV2_PROTO_ESP, 4, spi, 1);
		if (ikev2_msg_finish(&e, &sk))
			abort();
		snprintf(name, sizeof(name), "informational_delete_sk%u", i);
		gen_write(argv[1], name, buf, e.len);
		crypto_sk_clear(&sk);
	}
	return 0;
}
#endif
