// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the IKEv2 exchange engine (iked/ikev2_exch.c) fed
 * arbitrary datagrams, in a fresh responder and in SAs waiting for a request
 * or a response, with the real peer next to it:
 *
 *	+--------------------+    queue (delivered    +--------------------+
 *	| P0 initiator (sun) | <--- after each ---->  | P1 responder (moon)|
 *	| 192.0.2.1[500]     |       record)          | 192.0.2.2[500]     |
 *	+--------------------+                        +--------------------+
 *	        ^ fuzz records (scenarios 3-6)          ^ fuzz records (0-2)
 *
 * Input: one scenario byte, then records [ctl][len_hi][len_lo][len bytes].
 *
 *	scenario  target  state before the records
 *	0         P1      no SA (IKE_SA_INIT requests, stray messages)
 *	1         P1      half-open: IKE_SA_INIT done, P0's IKE_AUTH lost
 *	2         P1      established (requests from P0's side)
 *	3         P0      IKE_SA_INIT request out, no answer yet
 *	4         P0      IKE_AUTH request out, P1 half-open
 *	5         P0      established, its CREATE_CHILD_SA request out
 *	6         P0      established (requests from P1's side)
 *
 *	ctl bit 0  overwrite the SPIs (bytes 0-15) with the target SA's
 *	ctl bit 1  seal: the bytes are EXCH FLAGS MSGID_DELTA FIRST_TYPE INNER...,
 *	           and the harness builds HDR, SK {INNER} with the other peer's
 *	           keys, so the fuzzer reaches the payload handling after the
 *	           ICV check (FLAGS bit 5 = response; message ID = the one the
 *	           target expects + (int8_t)MSGID_DELTA)
 *	ctl bit 2  let (ctl >> 3) seconds pass first (retransmissions, timeouts)
 *
 * Oracles besides ASan/UBSan/LSan: every datagram an engine sends parses
 * (ikev2_msg_parse), and every inbound SPI from alloc_spi ends up in an
 * installed child or is handed back with release_spi exactly once.
 *
 * Seed corpus (corpus/ike_engine/): FUZZ_IKE_GEN_CORPUS=DIR ./fuzz_ike_engine
 * writes records of real messages from in-process exchanges and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../iked/ikev2_exch.h"
#include "../../iked/ikev2_msg.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_Q	    16 /* a ring: a full wire drops */
#define FZ_PKT_MAX  8192 /* the engine's transmit buffer */
#define FZ_SPIS	    64
#define FZ_DELIVER  64 /* datagrams per delivery round: no endless ping-pong */
#define FZ_SCENARIO 7

enum fz_spi_state { FZ_SPI_FREE, FZ_SPI_ALLOC, FZ_SPI_INSTALLED, FZ_SPI_RELEASED };

struct fz_pkt {
	int to;
	size_t len;
	uint8_t buf[FZ_PKT_MAX];
};

struct fz_peer {
	int idx;
	struct engine *eng;
	struct sockaddr_in addr;
};

static struct conf *fz_conf[2];
static struct fz_peer fz_p[2];
static struct fz_pkt fz_q[FZ_Q];
static unsigned int fz_qhead, fz_nq;
static uint64_t fz_now;
static struct {
	uint32_t spi;
	enum fz_spi_state st;
} fz_spis[FZ_SPIS];
static unsigned int fz_nspis;
static uint8_t fz_rx[IKEV2_MSG_MAX];
/* corpus generation: record every datagram sent */
static FILE *fz_capture;

static const char *fz_conf_text[2] = {
	"connections {\n"
	"  c {\n"
	"    proposals = aes256gcm16-prfsha256-x25519, aes128-sha256-modp2048\n"
	"    local {\n      auth = psk\n      id = sun.example.org\n    }\n"
	"    remote {\n      auth = psk\n      id = moon.example.org\n    }\n"
	"    children {\n"
	"      net {\n        esp_proposals = aes128gcm16\n"
	"        local_ts = 10.1.0.0/16\n        remote_ts = 10.2.0.0/16\n      }\n"
	"      net2 {\n        esp_proposals = aes256-sha256-ecp256\n"
	"        local_ts = 10.2.0.0/24\n        remote_ts = 10.3.0.0/24\n      }\n"
	"    }\n"
	"  }\n"
	"}\n"
	"secrets {\n  ike-1 {\n    id-1 = sun.example.org\n    id-2 = moon.example.org\n"
	"    secret = \"a shared secret\"\n  }\n}\n",
	"connections {\n"
	"  c {\n"
	"    proposals = aes256gcm16-prfsha256-x25519, aes128-sha256-modp2048\n"
	"    local {\n      auth = psk\n      id = moon.example.org\n    }\n"
	"    remote {\n      auth = psk\n      id = sun.example.org\n    }\n"
	"    children {\n"
	"      net {\n        esp_proposals = aes128gcm16\n"
	"        local_ts = 10.2.0.0/24\n        remote_ts = 10.1.0.0/16\n      }\n"
	"      net2 {\n        esp_proposals = aes256-sha256-ecp256\n"
	"        local_ts = 10.3.0.0/24\n        remote_ts = 10.2.0.0/24\n      }\n"
	"    }\n"
	"  }\n"
	"}\n"
	"secrets {\n  ike-1 {\n    id-1 = moon.example.org\n    id-2 = sun.example.org\n"
	"    secret = \"a shared secret\"\n  }\n}\n",
};

static void fz_check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_ike_engine: %s\n", what);
		abort();
	}
}

static const struct sockaddr *fz_sa(const struct fz_peer *p)
{
	return (const struct sockaddr *)&p->addr;
}

/* ---- engine callbacks ---- */

static void fz_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
		    const struct sockaddr *remote)
{
	struct fz_peer *p = arg;
	struct ikev2_msg m;
	struct fz_pkt *q;

	(void)local;
	(void)remote;
	fz_check(len <= FZ_PKT_MAX, "datagram larger than the engine's buffer sent");
	memcpy(fz_rx, pkt, len);
	fz_check(ikev2_msg_parse(fz_rx, len, &m, NULL) == 0, "engine sent a malformed message");
	if (fz_capture) {
		uint8_t hdr[3] = { (uint8_t)p->idx, (uint8_t)(len >> 8), (uint8_t)len };

		fwrite(hdr, sizeof(hdr), 1, fz_capture);
		fwrite(pkt, len, 1, fz_capture);
	}
	if (fz_nq == FZ_Q)
		return;
	q = &fz_q[(fz_qhead + fz_nq++) % FZ_Q];
	q->to = 1 - p->idx;
	q->len = len;
	memcpy(q->buf, pkt, len);
}

static int fz_spi_find(uint32_t spi)
{
	unsigned int i;

	for (i = 0; i < fz_nspis; i++)
		if (fz_spis[i].spi == spi)
			return (int)i;
	return -1;
}

static int fz_install(void *arg, const struct engine_child *c)
{
	int i = fz_spi_find(c->spi_in);

	(void)arg;
	fz_check(i >= 0 && fz_spis[i].st == FZ_SPI_ALLOC, "child installed with a foreign SPI");
	fz_spis[i].st = FZ_SPI_INSTALLED;
	return 0;
}

static void fz_remove(void *arg, const struct engine_child *c)
{
	int i = fz_spi_find(c->spi_in);

	(void)arg;
	fz_check(i >= 0 && fz_spis[i].st == FZ_SPI_INSTALLED, "removed a child never installed");
	fz_spis[i].st = FZ_SPI_RELEASED;
}

static int fz_alloc_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			uint32_t *spi)
{
	(void)arg;
	(void)local;
	(void)remote;
	if (fz_nspis == FZ_SPIS)
		return -ENOSPC;
	*spi = 0xc0000000u + fz_nspis;
	fz_spis[fz_nspis].spi = *spi;
	fz_spis[fz_nspis].st = FZ_SPI_ALLOC;
	fz_nspis++;
	return 0;
}

static void fz_release_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			   uint32_t spi)
{
	int i = fz_spi_find(spi);

	(void)arg;
	(void)local;
	(void)remote;
	fz_check(i >= 0 && fz_spis[i].st == FZ_SPI_ALLOC, "release_spi of an SPI not pending");
	fz_spis[i].st = FZ_SPI_RELEASED;
}

/* ---- the two peers ---- */

/* The oldest queued datagram, out of the ring (valid until the next send
 * wraps onto it: copied first). */
static const struct fz_pkt *fz_pop(void)
{
	static struct fz_pkt q;
	const struct fz_pkt *h = &fz_q[fz_qhead];

	q.to = h->to;
	q.len = h->len;
	memcpy(q.buf, h->buf, h->len);
	fz_qhead = (fz_qhead + 1) % FZ_Q;
	fz_nq--;
	return &q;
}

static void fz_deliver(void)
{
	unsigned int n = 0;

	while (fz_nq && n++ < FZ_DELIVER) {
		const struct fz_pkt *q = fz_pop();

		engine_input(fz_p[q->to].eng, q->buf, q->len, fz_sa(&fz_p[q->to]),
			     fz_sa(&fz_p[1 - q->to]), fz_now);
	}
	fz_nq = 0;
}

/* Deliver only the first queued datagram: what it makes the receiver send
 * stays queued, the rest is dropped. */
static void fz_deliver_one(void)
{
	const struct fz_pkt *q;

	if (!fz_nq)
		return;
	q = fz_pop();
	fz_nq = 0;
	engine_input(fz_p[q->to].eng, q->buf, q->len, fz_sa(&fz_p[q->to]),
		     fz_sa(&fz_p[1 - q->to]), fz_now);
}

static void fz_start(void)
{
	struct engine_ops ops = {
		.send = fz_send,
		.install_child = fz_install,
		.remove_child = fz_remove,
		.alloc_spi = fz_alloc_spi,
		.release_spi = fz_release_spi,
	};
	int i;

	fz_nq = fz_qhead = 0;
	fz_nspis = 0;
	fz_now = 1000;
	for (i = 0; i < 2; i++) {
		fz_p[i].idx = i;
		ops.arg = &fz_p[i];
		fz_check(engine_new(fz_conf[i], &ops, NULL, &fz_p[i].eng) == 0, "engine_new");
	}
}

static void fz_stop(void)
{
	unsigned int i;

	engine_free(fz_p[0].eng);
	engine_free(fz_p[1].eng);
	for (i = 0; i < fz_nspis; i++)
		fz_check(fz_spis[i].st != FZ_SPI_ALLOC, "an allocated SPI was neither used nor released");
}

/* The SA the records go to: the only one of the target engine. */
static const struct ike_sa *fz_target_sa(int to)
{
	return engine_sa_next(fz_p[to].eng, NULL);
}

/* Set up scenario @s; returns the target peer. */
static int fz_scenario(unsigned int s)
{
	uint64_t spi = 0;

	if (s == 0)
		return 1;
	fz_check(engine_initiate(fz_p[0].eng, "c", NULL, fz_sa(&fz_p[0]), fz_sa(&fz_p[1]), fz_now,
				 &spi) == 0,
		 "engine_initiate");
	if (s == 3) {
		fz_nq = 0;
		return 0;
	}
	fz_deliver_one(); /* IKE_SA_INIT request */
	fz_deliver_one(); /* response; P0 sends IKE_AUTH */
	if (s == 1 || s == 4) {
		fz_nq = 0;
		return s == 1 ? 1 : 0;
	}
	fz_deliver();
	if (s == 5) {
		fz_check(engine_child_create(fz_p[0].eng, spi, "net2", fz_now) == 0,
			 "engine_child_create");
		fz_nq = 0;
	}
	return s == 2 ? 1 : 0;
}

static void fz_patch_spis(uint8_t *b, const struct ike_sa *sa)
{
	int i;

	/* an SA still waiting for IKE_SA_INIT's answer has no SPIr yet */
	for (i = 0; i < 8; i++) {
		b[i] = (uint8_t)(sa->ispi >> (56 - 8 * i));
		if (sa->rspi)
			b[8 + i] = (uint8_t)(sa->rspi >> (56 - 8 * i));
	}
}

/* HDR, SK {INNER} from the other peer to @to, sealed with its keys. */
static size_t fz_seal(int to, const uint8_t *d, size_t n, uint8_t *out, size_t cap)
{
	const struct ike_sa *t = fz_target_sa(to), *o;
	struct crypto_sk sk;
	struct ikev2_enc e;
	struct ikev2_hdr h;
	uint32_t base;

	if (!t || n < 4)
		return 0;
	o = engine_sa_find(fz_p[1 - to].eng, to ? t->ispi : t->rspi);
	if (!o || !o->keyed)
		return 0;
	memset(&h, 0, sizeof(h));
	h.ispi = t->ispi;
	h.rspi = t->rspi;
	h.exchange = d[0];
	h.flags = (d[1] & IKEV2_FLAG_RESPONSE) | (to ? IKEV2_FLAG_INITIATOR : 0);
	base = (h.flags & IKEV2_FLAG_RESPONSE) ? t->req.msgid : t->expect_msgid;
	h.msgid = base + (uint32_t)(int32_t)(int8_t)d[2];
	sk = o->sk_out;
	sk.iv_counter += 1000000; /* never an IV the real peer used */
	ikev2_msg_begin(&e, out, cap, &h);
	ikev2_msg_sk_begin(&e, &sk);
	if (!ikev2_enc_error(&e)) {
		e.buf[e.np_off] = d[3];
		e.np_off = SIZE_MAX;
		ikev2_enc_put(&e, d + 4, n - 4);
	}
	n = ikev2_msg_finish(&e, &sk) ? 0 : e.len;
	crypto_sk_clear(&sk);
	return n;
}

static uint8_t fz_buf[IKEV2_MSG_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 1, len;
	int to;

	if (size < 1)
		return 0;
	fz_start();
	to = fz_scenario(data[0] % FZ_SCENARIO);
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t n = (size_t)data[off + 1] << 8 | data[off + 2];
		const struct ike_sa *sa = fz_target_sa(to);

		off += 3;
		if (n > size - off)
			n = size - off;
		if (ctl & 4) {
			fz_now += (uint64_t)(ctl >> 3) * 1000;
			engine_tick(fz_p[0].eng, fz_now);
			engine_tick(fz_p[1].eng, fz_now);
			fz_deliver();
			sa = fz_target_sa(to);
		}
		if (ctl & 2) {
			len = fz_seal(to, data + off, n, fz_buf, sizeof(fz_buf));
		} else {
			len = n;
			memcpy(fz_buf, data + off, n);
			if ((ctl & 1) && sa && n >= 16)
				fz_patch_spis(fz_buf, sa);
		}
		off += n;
		n = len;
		if (n) {
			engine_input(fz_p[to].eng, fz_buf, n, fz_sa(&fz_p[to]), fz_sa(&fz_p[1 - to]),
				     fz_now);
			fz_deliver();
		}
	}
	/* what is left to time out, does */
	fz_now += 40000;
	engine_tick(fz_p[0].eng, fz_now);
	engine_tick(fz_p[1].eng, fz_now);
	fz_deliver();
	fz_stop();
	return 0;
}

/* ---- seed corpus ---- */

/* One seed: scenario @s, then one record per datagram. */
static void fz_gen_write(const char *dir, const char *name, uint8_t s, const uint8_t *rec,
			 size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	fz_check(f && fwrite(&s, 1, 1, f) == 1 && (!len || fwrite(rec, len, 1, f) == 1) &&
			 !fclose(f),
		 "cannot write seed");
}

/* Record for datagram @pkt as raw (SPIs patched) or, for SK messages, as
 * a sealed record of its decrypted inner chain (@sk: the receiver's). */
static size_t fz_gen_record(const uint8_t *pkt, size_t len, const struct crypto_sk *sk,
			    uint8_t *out)
{
	static uint8_t b[IKEV2_MSG_MAX];
	struct ikev2_msg m;
	size_t n, ivl, icvl, pt_len;
	const uint8_t *pt;

	memcpy(b, pkt, len);
	fz_check(ikev2_msg_parse(b, len, &m, NULL) == 0, "gen: parse");
	if (!m.sk || !sk) {
		out[0] = 1;
		out[1] = (uint8_t)(len >> 8);
		out[2] = (uint8_t)len;
		memcpy(out + 3, pkt, len);
		return len + 3;
	}
	fz_check(ikev2_msg_sk_open(&m, sk, NULL) == 0, "gen: open");
	ivl = crypto_sk_iv_len(sk);
	icvl = crypto_sk_icv_len(sk);
	pt = m.sk->body + ivl;
	pt_len = m.sk->len - ivl - icvl;
	n = pt_len - pt[pt_len - 1] - 1;
	out[0] = 2;
	out[1] = (uint8_t)((n + 4) >> 8);
	out[2] = (uint8_t)(n + 4);
	out[3] = m.hdr.exchange;
	out[4] = m.hdr.flags & IKEV2_FLAG_RESPONSE;
	out[5] = 0;
	out[6] = m.sk_next;
	memcpy(out + 7, pt, n);
	return n + 7;
}

struct fz_gen_msg {
	int from;
	size_t len;
	uint8_t buf[2048];
};

static void fz_gen(const char *dir)
{
	static struct fz_gen_msg msgs[16];
	static uint8_t rec[8192];
	unsigned int nmsg = 0, i;
	char *cap = NULL;
	size_t caplen = 0, off = 0, n;
	const struct ike_sa *i_sa, *r_sa;
	struct crypto_sk sk_i, sk_r;
	uint64_t spi = 0;
	char name[64];

	/* A whole life: IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA (PFS),
	 * liveness, child delete, IKE delete; every datagram captured. */
	fz_capture = open_memstream(&cap, &caplen);
	fz_check(fz_capture != NULL, "open_memstream");
	fz_start();
	fz_check(engine_initiate(fz_p[0].eng, "c", NULL, fz_sa(&fz_p[0]), fz_sa(&fz_p[1]), fz_now,
				 &spi) == 0,
		 "gen: initiate");
	fz_deliver();
	i_sa = engine_sa_find(fz_p[0].eng, spi);
	r_sa = engine_sa_find(fz_p[1].eng, i_sa->rspi);
	fz_check(i_sa->state == IKE_ST_ESTABLISHED, "gen: not established");
	sk_i = i_sa->sk_in; /* what the initiator opens: the responder's messages */
	sk_r = r_sa->sk_in;
	fz_check(engine_child_create(fz_p[0].eng, spi, "net2", fz_now) == 0, "gen: child");
	fz_deliver();
	fz_check(engine_liveness(fz_p[1].eng, i_sa->rspi, fz_now) == 0, "gen: liveness");
	fz_deliver();
	fz_check(engine_child_delete(fz_p[0].eng, spi, 0xc0000002u, fz_now) == 0, "gen: delete");
	fz_deliver();
	fz_check(engine_ike_delete(fz_p[0].eng, spi, fz_now) == 0, "gen: ike delete");
	fz_deliver();
	fflush(fz_capture);
	while (off + 3 <= caplen && nmsg < 16) {
		struct fz_gen_msg *m = &msgs[nmsg++];

		m->from = cap[off];
		m->len = (size_t)(uint8_t)cap[off + 1] << 8 | (uint8_t)cap[off + 2];
		fz_check(m->len <= sizeof(m->buf), "gen: message too long");
		memcpy(m->buf, cap + off + 3, m->len);
		off += 3 + m->len;
	}
	fclose(fz_capture);
	fz_capture = NULL;
	free(cap);
	fz_stop();

	/* msgs: 0 INIT req, 1 INIT resp, 2 AUTH req, 3 AUTH resp, 4 CHILD req,
	 * 5 CHILD resp, 6 liveness req (P1), 7 resp, 8 DEL child req, 9 resp,
	 * 10 DEL IKE req, 11 resp */
	fz_check(nmsg == 12, "gen: unexpected message count");
	n = fz_gen_record(msgs[0].buf, msgs[0].len, NULL, rec);
	rec[0] = 0;
	fz_gen_write(dir, "s0_init_req", 0, rec, n);
	n += fz_gen_record(msgs[0].buf, msgs[0].len, NULL, rec + n);
	rec[n - msgs[0].len - 3] = 0;
	fz_gen_write(dir, "s0_init_req_twice", 0, rec, n);
	n = fz_gen_record(msgs[2].buf, msgs[2].len, &sk_r, rec);
	fz_gen_write(dir, "s1_auth_req", 1, rec, n);
	for (i = 4; i <= 10; i += 2) {
		const struct crypto_sk *k = msgs[i].from ? &sk_i : &sk_r;

		n = fz_gen_record(msgs[i].buf, msgs[i].len, k, rec);
		snprintf(name, sizeof(name), "s%d_req%u", msgs[i].from ? 6 : 2, i);
		fz_gen_write(dir, name, msgs[i].from ? 6 : 2, rec, n);
	}
	n = fz_gen_record(msgs[1].buf, msgs[1].len, NULL, rec);
	fz_gen_write(dir, "s3_init_resp", 3, rec, n);
	n = fz_gen_record(msgs[3].buf, msgs[3].len, &sk_i, rec);
	fz_gen_write(dir, "s4_auth_resp", 4, rec, n);
	n = fz_gen_record(msgs[5].buf, msgs[5].len, &sk_i, rec);
	fz_gen_write(dir, "s5_child_resp", 5, rec, n);
	/* a raw (unsealed) AUTH request with the live SPIs: ICV failure path */
	n = fz_gen_record(msgs[2].buf, msgs[2].len, NULL, rec);
	fz_gen_write(dir, "s1_auth_req_raw", 1, rec, n);
	/* time passes with nothing: retransmissions and give-ups */
	rec[0] = 4 | (31 << 3);
	rec[1] = rec[2] = 0;
	for (i = 3; i <= 6; i++) {
		snprintf(name, sizeof(name), "s%u_timeout", i);
		memcpy(rec + 3, rec, 3);
		memcpy(rec + 6, rec, 3);
		fz_gen_write(dir, name, (uint8_t)i, rec, 9);
	}
	crypto_sk_clear(&sk_i);
	crypto_sk_clear(&sk_r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *gen = getenv("FUZZ_IKE_GEN_CORPUS");
	char err[256];
	int i;

	(void)argc;
	(void)argv;
	log_init("fuzz_ike_engine", getenv("FUZZ_IKE_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR, false);
	for (i = 0; i < 2; i++) {
		fz_p[i].addr.sin_family = AF_INET;
		fz_p[i].addr.sin_port = htons(500);
		inet_pton(AF_INET, i ? "192.0.2.2" : "192.0.2.1", &fz_p[i].addr.sin_addr);
	}
	for (i = 0; i < 2; i++)
		fz_check(conf_load_buf(fz_conf_text[i], strlen(fz_conf_text[i]), "fuzz.conf",
				       CONF_NO_CREDS | CONF_NO_INCLUDE, &fz_conf[i], err,
				       sizeof(err)) == 0,
			 err);
	if (gen) {
		fz_gen(gen);
		exit(0);
	}
	return 0;
}
