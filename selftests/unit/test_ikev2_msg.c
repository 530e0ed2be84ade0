// SPDX-License-Identifier: GPL-2.0-only
/*
 * iked/ikev2_msg.c: messages with an SK payload built, sealed, parsed and
 * opened for every IKE SA cipher; tampering, wrong keys, bad padding and
 * unknown critical inner payloads; and Wireshark's dissector (tshark), given
 * the keys, decrypting our messages without a malformed-packet mark.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../iked/ikev2_msg.h"
#include "ikev2_samples.h"
#include "pcap_write.h"

struct suite_case {
	struct crypto_suite s;
};

static const struct suite_case suites[] = {
	{ { IKEV2_ENCR_AES_GCM_16, 128, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 } },
	{ { IKEV2_ENCR_AES_GCM_16, 256, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 } },
	{ { IKEV2_ENCR_CHACHA20_POLY1305, 0, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_NONE, 0 } },
	{ { IKEV2_ENCR_AES_CBC, 128, IKEV2_PRF_HMAC_SHA2_256, IKEV2_INTEG_HMAC_SHA2_256_128, 0 } },
	{ { IKEV2_ENCR_AES_CBC, 256, IKEV2_PRF_HMAC_SHA2_384, IKEV2_INTEG_HMAC_SHA2_384_192, 0 } },
	{ { IKEV2_ENCR_AES_CBC, 256, IKEV2_PRF_HMAC_SHA2_512, IKEV2_INTEG_HMAC_SHA2_512_256, 0 } },
};
#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* Derive IKE SA keys from fixed inputs; init both directions. */
static void make_keys_spi(const struct crypto_suite *s, uint64_t spi_i, struct crypto_ike_keys *k,
			  struct crypto_sk *i2r, struct crypto_sk *r2i)
{
	uint8_t ni[32], nr[32], gir[32], ss[CRYPTO_PRF_MAX];

	sample_fill(ni, sizeof(ni), 11);
	sample_fill(nr, sizeof(nr), 12);
	sample_fill(gir, sizeof(gir), 13);
	assert_int_equal(crypto_skeyseed(s->prf, ni, 32, nr, 32, gir, 32, ss), 0);
	assert_int_equal(crypto_ike_keys_derive(s, ss, ni, 32, nr, 32, spi_i, SAMPLE_SPI_R, k), 0);
	assert_int_equal(crypto_sk_init(i2r, s, k->sk_ei, k->sk_ai), 0);
	assert_int_equal(crypto_sk_init(r2i, s, k->sk_er, k->sk_ar), 0);
}

static void make_keys(const struct crypto_suite *s, struct crypto_ike_keys *k,
		      struct crypto_sk *i2r, struct crypto_sk *r2i)
{
	make_keys_spi(s, SAMPLE_SPI_I, k, i2r, r2i);
}

/* IKE_AUTH request: HDR, SK{IDi, CERT, N, AUTH, CP, SA, TSi, TSr, D, D} */
static size_t build_auth_spi(uint8_t *buf, size_t cap, uint64_t spi_i, struct crypto_sk *sk)
{
	struct ikev2_enc e;
	struct ikev2_hdr h;

	sample_hdr(&h, IKEV2_EXCH_IKE_AUTH, 1, false);
	h.ispi = spi_i;
	ikev2_msg_begin(&e, buf, cap, &h);
	ikev2_msg_sk_begin(&e, sk);
	sample_auth_payloads(&e);
	assert_int_equal(ikev2_msg_finish(&e, sk), 0);
	return e.len;
}

static size_t build_auth(uint8_t *buf, size_t cap, struct crypto_sk *sk)
{
	return build_auth_spi(buf, cap, SAMPLE_SPI_I, sk);
}

static void test_sk_round_trip(void **state)
{
	static const uint8_t order[] = { IKEV2_PLD_IDI,	  IKEV2_PLD_CERT, IKEV2_PLD_NOTIFY,
					 IKEV2_PLD_AUTH,  IKEV2_PLD_CP,	  IKEV2_PLD_SA,
					 IKEV2_PLD_TSI,	  IKEV2_PLD_TSR,  IKEV2_PLD_DELETE,
					 IKEV2_PLD_DELETE };
	size_t i, j;

	(void)state;
	for (i = 0; i < N_SUITES; i++) {
		struct crypto_sk i2r, r2i;
		struct crypto_ike_keys k;
		struct ikev2_msg m;
		enum ikev2_perr why;
		struct ikev2_id id;
		uint8_t buf[2048];
		size_t len;

		make_keys(&suites[i].s, &k, &i2r, &r2i);
		len = build_auth(buf, sizeof(buf), &i2r);
		/* the plaintext identity must not be visible */
		assert_null(memmem(buf, len, "moon.example.org", 16));

		assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
		assert_int_equal(m.hdr.next, IKEV2_PLD_SK);
		assert_int_equal(m.plds.n, 1);
		assert_non_null(m.sk);
		assert_int_equal(m.sk_next, IKEV2_PLD_IDI);
		/* CBC: payload + padding + pad length fill whole blocks */
		assert_int_equal((m.sk->len - crypto_sk_iv_len(&i2r) - crypto_sk_icv_len(&i2r)) %
					 crypto_sk_block_len(&i2r),
				 0);
		/* the other direction's key does not open it */
		assert_int_equal(ikev2_msg_sk_open(&m, &r2i, &why), -EBADMSG);
		assert_int_equal(why, IKEV2_PERR_ICV_MISMATCH);
		assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), 0);
		assert_int_equal(m.inner.n, sizeof(order));
		for (j = 0; j < sizeof(order); j++)
			assert_int_equal(m.inner.pld[j].type, order[j]);
		assert_int_equal(ikev2_pld_parse_id(&m.inner.pld[0], &id, &why), 0);
		assert_memory_equal(id.data, "moon.example.org", 16);
		/* opening twice would decrypt plaintext */
		assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), -EALREADY);
		crypto_sk_clear(&i2r);
		crypto_sk_clear(&r2i);
		crypto_ike_keys_clear(&k);
	}
}

static void test_sk_tamper(void **state)
{
	size_t i, pos;

	(void)state;
	for (i = 0; i < N_SUITES; i++) {
		struct crypto_sk i2r, r2i;
		struct crypto_ike_keys k;
		uint8_t buf[2048], copy[2048];
		struct ikev2_msg m;
		enum ikev2_perr why;
		size_t len;

		make_keys(&suites[i].s, &k, &i2r, &r2i);
		len = build_auth(buf, sizeof(buf), &i2r);
		memcpy(copy, buf, len);
		/* flip one bit anywhere: the header (SPIs, message ID, flags)
		 * is authenticated too. Flipped length fields make parsing fail
		 * first, which also drops the message. */
		for (pos = 0; pos < len; pos += 5) {
			memcpy(buf, copy, len);
			buf[pos] ^= 0x10;
			if (ikev2_msg_parse(buf, len, &m, &why))
				continue;	/* header/chain now invalid: also dropped */
			assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), -EBADMSG);
			assert_int_equal(why, IKEV2_PERR_ICV_MISMATCH);
		}
		/* truncated SK payload: shorter than IV + ICV */
		memcpy(buf, copy, len);
		assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
		m.sk->len = crypto_sk_iv_len(&i2r) + crypto_sk_icv_len(&i2r);
		assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), -EBADMSG);
		assert_int_equal(why, IKEV2_PERR_BAD_SK);
		crypto_sk_clear(&i2r);
		crypto_sk_clear(&r2i);
		crypto_ike_keys_clear(&k);
	}
}

/* An INFORMATIONAL liveness check: an empty SK payload. */
static void test_sk_empty(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_SUITES; i++) {
		struct crypto_sk i2r, r2i;
		struct crypto_ike_keys k;
		struct ikev2_enc e;
		struct ikev2_hdr h;
		struct ikev2_msg m;
		enum ikev2_perr why;
		uint8_t buf[256];

		make_keys(&suites[i].s, &k, &i2r, &r2i);
		sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 7, true);
		ikev2_msg_begin(&e, buf, sizeof(buf), &h);
		ikev2_msg_sk_begin(&e, &r2i);
		assert_int_equal(ikev2_msg_finish(&e, &r2i), 0);
		assert_int_equal(ikev2_msg_parse(buf, e.len, &m, &why), 0);
		assert_int_equal(m.sk_next, IKEV2_PLD_NONE);
		assert_int_equal(ikev2_msg_sk_open(&m, &r2i, &why), 0);
		assert_int_equal(m.inner.n, 0);
		assert_int_equal(m.hdr.msgid, 7);
		assert_int_equal(m.hdr.flags, IKEV2_FLAG_RESPONSE);
		crypto_sk_clear(&i2r);
		crypto_sk_clear(&r2i);
	}
}

/*
 * Hand-sealed SK payloads whose plaintext is wrong: padding longer than the
 * plaintext, and an unknown critical inner payload.
 */
static size_t seal_raw(struct crypto_sk *sk, uint8_t *buf, uint8_t first, const uint8_t *pt,
		       size_t pt_len)
{
	size_t iv = crypto_sk_iv_len(sk), icv = crypto_sk_icv_len(sk);
	size_t sk_len = 4 + iv + pt_len + icv, len = IKEV2_HDR_LEN + sk_len;
	struct ikev2_hdr h;

	sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 3, false);
	h.next = IKEV2_PLD_SK;
	h.length = len;
	ikev2_hdr_encode(&h, buf);
	buf[28] = first;
	buf[29] = 0;
	buf[30] = sk_len >> 8;
	buf[31] = sk_len & 0xff;
	memcpy(buf + 32 + iv, pt, pt_len);
	assert_int_equal(crypto_sk_seal(sk, buf, 32, pt_len), 0);
	return len;
}

static void test_sk_bad_plaintext(void **state)
{
	struct crypto_sk i2r, r2i;
	struct crypto_ike_keys k;
	struct ikev2_msg m;
	enum ikev2_perr why;
	uint8_t buf[256], pt[16];
	size_t len;

	(void)state;
	make_keys(&suites[3].s, &k, &i2r, &r2i);	/* CBC: 16-byte blocks */

	memset(pt, 0, sizeof(pt));
	pt[15] = 15;	/* 15 bytes of padding + pad length: empty chain, fine */
	len = seal_raw(&i2r, buf, IKEV2_PLD_NONE, pt, 16);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), 0);

	pt[15] = 16;	/* padding longer than the plaintext */
	len = seal_raw(&i2r, buf, IKEV2_PLD_NONE, pt, 16);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_SK);

	/* inner: unknown type 222, critical, 5 bytes; then 10 bytes padding */
	memcpy(pt, "\x00\x80\x00\x05\xee", 5);
	pt[15] = 10;
	len = seal_raw(&i2r, buf, 222, pt, 16);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), -ENOTSUP);
	assert_int_equal(why, IKEV2_PERR_UNSUPPORTED_CRITICAL);
	assert_int_equal(m.inner.unsupported_type, 222);

	/* the same payload without the critical bit is skipped */
	pt[1] = 0;
	len = seal_raw(&i2r, buf, 222, pt, 16);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), 0);
	assert_int_equal(m.inner.n, 0);
	assert_int_equal(m.inner.n_skipped, 1);

	/* an SK payload inside the SK payload */
	memcpy(pt, "\x00\x00\x00\x05\xee", 5);
	len = seal_raw(&i2r, buf, IKEV2_PLD_SK, pt, 16);
	assert_int_equal(ikev2_msg_parse(buf, len, &m, &why), 0);
	assert_int_equal(ikev2_msg_sk_open(&m, &i2r, &why), -EBADMSG);
	assert_int_equal(why, IKEV2_PERR_BAD_SK);
	crypto_sk_clear(&i2r);
	crypto_sk_clear(&r2i);
}

/*
 * tshark dissects our IKE_SA_INIT, a cleartext message with every other
 * payload type, and one encrypted IKE_AUTH per suite Wireshark can decrypt
 * (each its own initiator SPI, keys given as ikev2_decryption_table records
 * made by crypto_wireshark_keys()):
 * no malformed or error mark, and the decrypted payloads are seen. Wireshark
 * implements the decryption independently, so this also checks our SK
 * format and key derivation order. Skipped without tshark.
 */
static void test_tshark_dissects(void **state)
{
	char path[] = "/tmp/xipsec-ikev2-XXXXXX", line[1024];
	unsigned int n_tsi = 0, n_ident = 0, n_malformed = 0, n_ike = 0, n_err = 0;
	static char cmd[8192];
	size_t i, len, n_enc = 0, off;
	struct ikev2_enc e;
	struct ikev2_hdr h;
	uint8_t buf[2048];
	FILE *f, *p;
	int fd;

	(void)state;
	if (system("command -v tshark >/dev/null 2>&1") != 0) {
		print_message("tshark not installed\n");
		skip();
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(pcap_begin(f), 0);
	assert_int_equal(sample_sa_init(buf, sizeof(buf), &len), 0);
	assert_int_equal(pcap_udp4(f, 500, 500, buf, len, 1), 0);
	sample_hdr(&h, IKEV2_EXCH_INFORMATIONAL, 9, false);
	ikev2_msg_begin(&e, buf, sizeof(buf), &h);
	sample_auth_payloads(&e);
	assert_int_equal(ikev2_msg_finish(&e, NULL), 0);
	assert_int_equal(pcap_udp4(f, 500, 500, buf, e.len, 2), 0);

	off = (size_t)snprintf(cmd, sizeof(cmd), "tshark -n -r %s -V", path);
	for (i = 0; i < N_SUITES; i++) {
		uint64_t spi_i = SAMPLE_SPI_I + i;
		struct crypto_sk i2r, r2i;
		struct crypto_ike_keys k;
		char rec[512];
		int err;

		make_keys_spi(&suites[i].s, spi_i, &k, &i2r, &r2i);
		err = crypto_wireshark_keys(&suites[i].s, spi_i, SAMPLE_SPI_R, &k, rec, sizeof(rec));
		if (err == -ENOTSUP) {
			/* Wireshark 4.0 has no ChaCha20-Poly1305 for IKE */
			assert_int_equal(suites[i].s.encr, IKEV2_ENCR_CHACHA20_POLY1305);
			goto next;
		}
		assert_int_equal(err, 0);
		assert_int_equal(crypto_wireshark_keys(&suites[i].s, spi_i, SAMPLE_SPI_R, &k, rec, 40),
				 -ENOSPC);
		assert_int_equal(crypto_wireshark_keys(&suites[i].s, spi_i, SAMPLE_SPI_R, &k, rec,
						       sizeof(rec)),
				 0);
		len = build_auth_spi(buf, sizeof(buf), spi_i, &i2r);
		assert_int_equal(pcap_udp4(f, 500, 500, buf, len, 3 + i), 0);
		n_enc++;
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off,
					" -o 'uat:ikev2_decryption_table:%s'", rec);
		assert_true(off < sizeof(cmd));
next:
		crypto_sk_clear(&i2r);
		crypto_sk_clear(&r2i);
		crypto_ike_keys_clear(&k);
	}
	assert_int_equal(fclose(f), 0);
	assert_true(off + 10 < sizeof(cmd));
	strcat(cmd, " 2>&1");

	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		n_malformed += strstr(line, "Malformed") != NULL;
		n_err += strstr(line, "[Expert Info (Error") != NULL;
		n_ike += strstr(line, "Internet Security Association") != NULL;
		n_tsi += strstr(line, "Traffic Selector - Initiator") != NULL;
		n_ident += strstr(line, "moon.example.org") != NULL;
	}
	assert_int_equal(pclose(p), 0);
	if (getenv("XIPSEC_KEEP_PCAP"))
		print_message("kept %s\n", path);
	else
		unlink(path);
	print_message("tshark: %u IKE packets (%zu encrypted), %u TSi lines, %u ID lines, "
		      "%u malformed\n", n_ike, n_enc, n_tsi, n_ident, n_malformed);
	assert_int_equal(n_malformed, 0);
	assert_int_equal(n_err, 0);
	assert_int_equal(n_ike, 2 + n_enc);
	/* "Next payload" and "Payload" lines per TSi; "Identification Data"
	 * and "ID_FQDN" per IDi: the cleartext message plus every decrypted one */
	assert_int_equal(n_tsi, 2 * (1 + n_enc));
	assert_int_equal(n_ident, 2 * (1 + n_enc));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sk_round_trip),
		cmocka_unit_test(test_sk_tamper),
		cmocka_unit_test(test_sk_empty),
		cmocka_unit_test(test_sk_bad_plaintext),
		cmocka_unit_test(test_tshark_dissects),
	};

	return cmocka_run_group_tests_name("ikev2_msg", tests, NULL, NULL);
}
