// SPDX-License-Identifier: GPL-2.0-only
/*
 * xfrm netlink module: requests built offline and parsed back (no kernel
 * needed), malformed replies rejected, and policies round-tripped through the
 * host kernel in a private network namespace with `ip xfrm` as the oracle
 * (root only; the host kernel has no ESP, so states are only checked to fail
 * cleanly there: the VM tests install real ones).
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/udp.h>
#include <cmocka.h>

#include "xfrm_nl.h"

static void set_v4(xfrm_address_t *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(AF_INET, s, &a->a4), 1);
}

static void set_v6(xfrm_address_t *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(AF_INET6, s, &a->a6), 1);
}

static void fill_key(struct xfrm_nl_alg *alg, const char *name, __u16 len, __u16 bits, __u8 seed)
{
	__u16 i;

	snprintf(alg->name, sizeof(alg->name), "%s", name);
	alg->key_len = len;
	alg->bits = bits;
	for (i = 0; i < len; i++)
		alg->key[i] = (__u8)(seed + i);
}

static void sa_gcm(struct xfrm_nl_sa *sa)
{
	xfrm_nl_sa_init(sa, AF_INET);
	set_v4(&sa->saddr, "192.0.2.1");
	set_v4(&sa->daddr, "192.0.2.2");
	sa->spi = htonl(0x1001);
	sa->reqid = 7;
	sa->sel.family = AF_INET;
	set_v4(&sa->sel.saddr, "10.1.0.0");
	set_v4(&sa->sel.daddr, "10.2.0.0");
	sa->sel.prefixlen_s = 24;
	sa->sel.prefixlen_d = 24;
	fill_key(&sa->aead, "rfc4106(gcm(aes))", 36, 128, 0x40);
}

static const struct nlattr *find_attr(const struct nlmsghdr *nlh, size_t hdrlen, __u16 type)
{
	const struct nlattr *attr;

	mnl_attr_for_each (attr, nlh, hdrlen)
		if (mnl_attr_get_type(attr) == type)
			return attr;
	return NULL;
}

static void test_sa_gcm_roundtrip(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_sa sa, back;
	const struct xfrm_algo_aead *a;
	const struct xfrm_usersa_info *p;
	const struct nlattr *attr;
	struct nlmsghdr *nlh;

	(void)state;
	sa_gcm(&sa);
	sa.has_mark = true;
	sa.mark.v = 0x100;
	sa.mark.m = 0xff00;
	sa.has_if_id = true;
	sa.if_id = 42;
	nlh = xfrm_nl_build_sa_add(buf, &sa, false, 99);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_NEWSA);
	assert_int_equal(nlh->nlmsg_seq, 99);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);

	/* Wire layout the kernel expects: key length in bits, ICV bits, key after the header. */
	p = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(p->replay_window, 32);
	assert_int_equal(p->mode, XFRM_MODE_TUNNEL);
	assert_int_equal(p->id.proto, IPPROTO_ESP);
	assert_int_equal(p->lft.hard_byte_limit, XFRM_INF);
	attr = find_attr(nlh, sizeof(*p), XFRMA_ALG_AEAD);
	assert_non_null(attr);
	a = mnl_attr_get_payload(attr);
	assert_string_equal(a->alg_name, "rfc4106(gcm(aes))");
	assert_int_equal(a->alg_key_len, 288);
	assert_int_equal(a->alg_icv_len, 128);
	assert_int_equal(mnl_attr_get_payload_len(attr), sizeof(*a) + 36);
	assert_memory_equal(a->alg_key, sa.aead.key, 36);
	assert_null(find_attr(nlh, sizeof(*p), XFRMA_ALG_CRYPT));
	assert_null(find_attr(nlh, sizeof(*p), XFRMA_REPLAY_ESN_VAL));
	assert_null(find_attr(nlh, sizeof(*p), XFRMA_ENCAP));

	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), 0);
	assert_int_equal(back.family, AF_INET);
	assert_memory_equal(&back.saddr, &sa.saddr, sizeof(sa.saddr));
	assert_memory_equal(&back.daddr, &sa.daddr, sizeof(sa.daddr));
	assert_int_equal(back.spi, htonl(0x1001));
	assert_int_equal(back.reqid, 7);
	assert_int_equal(back.replay_window, 32);
	assert_memory_equal(&back.sel, &sa.sel, sizeof(sa.sel));
	assert_string_equal(back.aead.name, "rfc4106(gcm(aes))");
	assert_int_equal(back.aead.key_len, 36);
	assert_int_equal(back.aead.bits, 128);
	assert_memory_equal(back.aead.key, sa.aead.key, 36);
	assert_true(back.has_mark);
	assert_int_equal(back.mark.v, 0x100);
	assert_int_equal(back.mark.m, 0xff00);
	assert_true(back.has_if_id);
	assert_int_equal(back.if_id, 42);
	assert_false(back.has_encap);

	xfrm_nl_sa_scrub(&back);
	assert_int_equal(back.aead.key[0], 0);
	assert_int_equal(back.aead.key_len, 0);
}

static void test_sa_cbc_hmac_esn_encap(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_sa sa, back;
	const struct xfrm_usersa_info *p;
	const struct xfrm_replay_state_esn *rs;
	const struct xfrm_algo_auth *auth;
	const struct nlattr *attr;
	struct nlmsghdr *nlh;

	(void)state;
	xfrm_nl_sa_init(&sa, AF_INET6);
	set_v6(&sa.saddr, "2001:db8::1");
	set_v6(&sa.daddr, "2001:db8::2");
	sa.spi = htonl(0xdeadbeef);
	sa.replay_window = 128;
	fill_key(&sa.crypt, "cbc(aes)", 32, 0, 1);
	fill_key(&sa.auth, "hmac(sha512)", 64, 256, 2);
	sa.has_encap = true;
	sa.encap.encap_type = UDP_ENCAP_ESPINUDP;
	sa.encap.encap_sport = htons(4500);
	sa.encap.encap_dport = htons(4501);
	nlh = xfrm_nl_build_sa_add(buf, &sa, true, 1);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_UPDSA);
	p = mnl_nlmsg_get_payload(nlh);
	/* A window over 32 travels in XFRMA_REPLAY_ESN_VAL and the legacy field must be 0. */
	assert_int_equal(p->replay_window, 0);
	attr = find_attr(nlh, sizeof(*p), XFRMA_REPLAY_ESN_VAL);
	assert_non_null(attr);
	rs = mnl_attr_get_payload(attr);
	assert_int_equal(rs->replay_window, 128);
	assert_int_equal(rs->bmp_len, 4);
	assert_int_equal(mnl_attr_get_payload_len(attr), sizeof(*rs) + 16);
	attr = find_attr(nlh, sizeof(*p), XFRMA_ALG_AUTH_TRUNC);
	assert_non_null(attr);
	auth = mnl_attr_get_payload(attr);
	assert_int_equal(auth->alg_key_len, 512);
	assert_int_equal(auth->alg_trunc_len, 256);

	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), 0);
	assert_int_equal(back.family, AF_INET6);
	assert_memory_equal(&back.daddr, &sa.daddr, sizeof(sa.daddr));
	assert_int_equal(back.replay_window, 128);
	assert_string_equal(back.crypt.name, "cbc(aes)");
	assert_int_equal(back.crypt.key_len, 32);
	assert_memory_equal(back.crypt.key, sa.crypt.key, 32);
	assert_string_equal(back.auth.name, "hmac(sha512)");
	assert_int_equal(back.auth.key_len, 64);
	assert_int_equal(back.auth.bits, 256);
	assert_memory_equal(back.auth.key, sa.auth.key, 64);
	assert_true(back.has_encap);
	assert_int_equal(back.encap.encap_type, UDP_ENCAP_ESPINUDP);
	assert_int_equal(ntohs(back.encap.encap_dport), 4501);
	assert_false(back.has_mark);
	assert_false(back.has_if_id);
	xfrm_nl_sa_scrub(&back);
}

/* A state read back from the kernel keeps its sequence numbers when added again. */
static void test_sa_replay_state(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_sa sa, back;
	const struct xfrm_replay_state *rp;
	const struct xfrm_replay_state_esn *rs;
	const struct nlattr *attr;
	struct nlmsghdr *nlh;

	(void)state;
	sa_gcm(&sa);
	nlh = xfrm_nl_build_sa_add(buf, &sa, false, 1);
	assert_null(find_attr(nlh, sizeof(struct xfrm_usersa_info), XFRMA_REPLAY_VAL));
	assert_null(find_attr(nlh, sizeof(struct xfrm_usersa_info), XFRMA_LTIME_VAL));
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), 0);
	assert_false(back.has_replay);
	assert_false(back.has_curlft);

	sa.has_replay = true;
	sa.oseq = 1234;
	sa.seq = 99;
	sa.replay_bitmap = 0xf0f0;
	sa.has_curlft = true;
	sa.curlft.packets = 77;
	nlh = xfrm_nl_build_sa_add(buf, &sa, false, 1);
	attr = find_attr(nlh, sizeof(struct xfrm_usersa_info), XFRMA_REPLAY_VAL);
	assert_non_null(attr);
	rp = mnl_attr_get_payload(attr);
	assert_int_equal(rp->oseq, 1234);
	assert_int_equal(rp->bitmap, 0xf0f0);
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), 0);
	assert_true(back.has_replay);
	assert_int_equal(back.oseq, 1234);
	assert_int_equal(back.seq, 99);
	assert_int_equal(back.replay_bitmap, 0xf0f0);
	assert_true(back.has_curlft);
	assert_int_equal(back.curlft.packets, 77);

	/* wide window: the counters travel in the ESN attribute */
	sa.replay_window = 256;
	sa.oseq_hi = 2;
	nlh = xfrm_nl_build_sa_add(buf, &sa, false, 1);
	assert_null(find_attr(nlh, sizeof(struct xfrm_usersa_info), XFRMA_REPLAY_VAL));
	attr = find_attr(nlh, sizeof(struct xfrm_usersa_info), XFRMA_REPLAY_ESN_VAL);
	assert_non_null(attr);
	rs = mnl_attr_get_payload(attr);
	assert_int_equal(rs->oseq, 1234);
	assert_int_equal(rs->oseq_hi, 2);
	assert_int_equal(rs->bmp_len, 8);
	assert_int_equal(rs->bmp[0], 0xf0f0);
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), 0);
	assert_int_equal(back.replay_window, 256);
	assert_int_equal(back.oseq, 1234);
	assert_int_equal(back.oseq_hi, 2);
	assert_int_equal(back.seq, 99);
	assert_int_equal(back.replay_bitmap, 0xf0f0);
	xfrm_nl_sa_scrub(&back);
}

static void test_sa_chacha(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_sa sa, back;

	(void)state;
	sa_gcm(&sa);
	memset(&sa.aead, 0, sizeof(sa.aead));
	fill_key(&sa.aead, "rfc7539esp(chacha20,poly1305)", 36, 128, 9);
	assert_non_null(xfrm_nl_build_sa_add(buf, &sa, false, 1));
	assert_int_equal(xfrm_nl_parse_sa((void *)buf, &back), 0);
	assert_string_equal(back.aead.name, "rfc7539esp(chacha20,poly1305)");
	assert_memory_equal(back.aead.key, sa.aead.key, 36);
	xfrm_nl_sa_scrub(&back);
}

static void test_sa_check_errors(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_sa sa;
	const char *why;

	(void)state;
	sa_gcm(&sa);
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), 0);

	sa.aead.key_len = 32; /* gcm key without its salt */
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	assert_string_equal(why, "key length does not fit the algorithm");
	assert_null(xfrm_nl_build_sa_add(buf, &sa, false, 1));

	sa_gcm(&sa);
	sa.aead.bits = 32;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	sa.aead.bits = 96;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), 0);

	sa_gcm(&sa);
	snprintf(sa.aead.name, sizeof(sa.aead.name), "cbc(aes)");
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	assert_string_equal(why, "unsupported algorithm for this slot");

	sa_gcm(&sa);
	fill_key(&sa.crypt, "cbc(aes)", 16, 0, 0);
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	assert_string_equal(why, "aead excludes enc/auth");

	sa_gcm(&sa);
	memset(&sa.aead, 0, sizeof(sa.aead));
	fill_key(&sa.crypt, "cbc(aes)", 16, 0, 0);
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	assert_string_equal(why, "need aead, or enc and auth");
	fill_key(&sa.auth, "hmac(sha256)", 32, 96, 0);
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	sa.auth.bits = 128;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), 0);

	/* UDP encapsulation: ESP-in-UDP with both ports, nothing else */
	sa_gcm(&sa);
	sa.has_encap = true;
	sa.encap.encap_type = UDP_ENCAP_ESPINUDP;
	sa.encap.encap_sport = htons(4500);
	sa.encap.encap_dport = htons(61000);
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), 0);
	sa.encap.encap_dport = 0;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	assert_string_equal(why, "encapsulation must be espinudp with both ports set");
	assert_null(xfrm_nl_build_sa_add(buf, &sa, false, 1));
	sa.encap.encap_dport = htons(61000);
	sa.encap.encap_type = UDP_ENCAP_ESPINUDP_NON_IKE;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);

	sa_gcm(&sa);
	sa.spi = 0;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	sa_gcm(&sa);
	sa.family = AF_UNIX;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	sa_gcm(&sa);
	sa.sel.prefixlen_d = 33;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
	sa_gcm(&sa);
	sa.replay_window = XFRMA_REPLAY_ESN_MAX + 1;
	assert_int_equal(xfrm_nl_sa_check(&sa, &why), -EINVAL);
}

static void test_sa_parse_malformed(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_sa sa, back;
	struct xfrm_usersa_info *p;
	struct xfrm_algo_aead *a;
	struct nlattr *attr;
	struct nlmsghdr *nlh;
	__u32 len;

	(void)state;
	sa_gcm(&sa);
	nlh = xfrm_nl_build_sa_add(buf, &sa, false, 1);
	assert_non_null(nlh);
	len = nlh->nlmsg_len;

	/* Header shorter than xfrm_usersa_info. */
	nlh->nlmsg_len = NLMSG_HDRLEN + 8;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	nlh->nlmsg_len = len;

	/* Key length claiming more bytes than the attribute carries. */
	p = mnl_nlmsg_get_payload(nlh);
	attr = (struct nlattr *)find_attr(nlh, sizeof(*p), XFRMA_ALG_AEAD);
	a = mnl_attr_get_payload(attr);
	a->alg_key_len = 8 * 60;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	a->alg_key_len = 8 * 36 + 1;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	a->alg_key_len = 8 * 36;

	/* Algorithm name without a terminator. */
	memset(a->alg_name, 'A', sizeof(a->alg_name));
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	snprintf(a->alg_name, sizeof(a->alg_name), "rfc4106(gcm(aes))");

	/* Attribute running past the message. */
	attr->nla_len = 0x7ff0;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	attr->nla_len = sizeof(*attr) + sizeof(*a) + 36;

	/* Attribute shorter than its fixed part. */
	attr->nla_len = sizeof(*attr) + 4;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	attr->nla_len = sizeof(*attr) + sizeof(*a) + 36;

	nlh->nlmsg_type = XFRM_MSG_NEWPOLICY;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), -EBADMSG);
	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	assert_int_equal(xfrm_nl_parse_sa(nlh, &back), 0);
	xfrm_nl_sa_scrub(&back);
}

static void policy_out(struct xfrm_nl_policy *pol)
{
	xfrm_nl_policy_init(pol, AF_INET, XFRM_POLICY_OUT);
	set_v4(&pol->sel.saddr, "10.1.0.0");
	set_v4(&pol->sel.daddr, "10.2.0.0");
	pol->sel.prefixlen_s = 24;
	pol->sel.prefixlen_d = 24;
	pol->sel.proto = IPPROTO_TCP;
	pol->sel.dport = htons(22);
	pol->sel.dport_mask = 0xffff;
	pol->priority = 1000;
	pol->has_mark = true;
	pol->mark.v = 0x7e570001;
	pol->mark.m = 0xffffffff;
	pol->ntmpl = 1;
	pol->tmpl[0].family = AF_INET;
	set_v4(&pol->tmpl[0].saddr, "192.0.2.1");
	set_v4(&pol->tmpl[0].id.daddr, "192.0.2.2");
	pol->tmpl[0].id.proto = IPPROTO_ESP;
	pol->tmpl[0].mode = XFRM_MODE_TUNNEL;
	pol->tmpl[0].reqid = 0x7e57;
	pol->tmpl[0].aalgos = ~0u;
	pol->tmpl[0].ealgos = ~0u;
	pol->tmpl[0].calgos = ~0u;
}

static void test_policy_roundtrip(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_policy pol, back;
	struct xfrm_nl_policy_id id;
	const struct xfrm_userpolicy_id *pid;
	struct nlmsghdr *nlh;
	const char *why;

	(void)state;
	policy_out(&pol);
	pol.has_if_id = true;
	pol.if_id = 5;
	nlh = xfrm_nl_build_policy_add(buf, &pol, false, 3);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_NEWPOLICY);
	assert_int_equal(xfrm_nl_parse_policy(nlh, &back), 0);
	assert_memory_equal(&back.sel, &pol.sel, sizeof(pol.sel));
	assert_int_equal(back.dir, XFRM_POLICY_OUT);
	assert_int_equal(back.priority, 1000);
	assert_int_equal(back.action, XFRM_POLICY_ALLOW);
	assert_int_equal(back.ntmpl, 1);
	assert_memory_equal(&back.tmpl[0], &pol.tmpl[0], sizeof(pol.tmpl[0]));
	assert_true(back.has_mark);
	assert_int_equal(back.mark.v, 0x7e570001);
	assert_true(back.has_if_id);
	assert_int_equal(back.if_id, 5);

	xfrm_nl_policy_to_id(&pol, &id);
	nlh = xfrm_nl_build_policy_del(buf, &id, 4);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_DELPOLICY);
	pid = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(pid->dir, XFRM_POLICY_OUT);
	assert_memory_equal(&pid->sel, &pol.sel, sizeof(pol.sel));
	assert_non_null(find_attr(nlh, sizeof(*pid), XFRMA_MARK));
	assert_non_null(find_attr(nlh, sizeof(*pid), XFRMA_IF_ID));

	pol.ntmpl = XFRM_NL_TMPL_MAX + 1;
	assert_int_equal(xfrm_nl_policy_check(&pol, &why), -EINVAL);
	assert_null(xfrm_nl_build_policy_add(buf, &pol, false, 1));
	policy_out(&pol);
	pol.dir = 7;
	assert_int_equal(xfrm_nl_policy_check(&pol, &why), -EINVAL);
	policy_out(&pol);
	pol.sel.family = 0;
	assert_int_equal(xfrm_nl_policy_check(&pol, &why), -EINVAL);
	policy_out(&pol);
	pol.tmpl[0].family = 0;
	assert_int_equal(xfrm_nl_policy_check(&pol, &why), -EINVAL);
}

static void test_sa_id_messages(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	const struct xfrm_usersa_id *p;
	struct xfrm_nl_sa_id id;
	struct xfrm_nl_sa sa;
	struct nlmsghdr *nlh;

	(void)state;
	sa_gcm(&sa);
	xfrm_nl_sa_to_id(&sa, &id);
	nlh = xfrm_nl_build_sa_del(buf, &id, 5);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_DELSA);
	p = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(p->spi, htonl(0x1001));
	assert_int_equal(p->family, AF_INET);
	assert_int_equal(p->proto, IPPROTO_ESP);
	assert_memory_equal(&p->daddr, &sa.daddr, sizeof(sa.daddr));
	assert_null(find_attr(nlh, sizeof(*p), XFRMA_MARK));
	id.has_mark = true;
	nlh = xfrm_nl_build_sa_get(buf, &id, 6);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_GETSA);
	assert_false(nlh->nlmsg_flags & NLM_F_ACK);
	assert_non_null(find_attr(nlh, sizeof(*p), XFRMA_MARK));
	nlh = xfrm_nl_build_sa_dump(buf, 7);
	assert_true(nlh->nlmsg_flags & NLM_F_DUMP);
}

static void spi_req(struct xfrm_nl_spi_req *r)
{
	memset(r, 0, sizeof(*r));
	r->family = AF_INET;
	set_v4(&r->saddr, "192.0.2.2");
	set_v4(&r->daddr, "192.0.2.1");
	r->proto = IPPROTO_ESP;
	r->mode = XFRM_MODE_TUNNEL;
	r->reqid = 9;
	r->min = 0x100;
	r->max = 0xffffffff;
}

/* XFRM_MSG_ALLOCSPI encoding: xfrm_userspi_info with the range, no ACK flag
 * (the kernel answers with the larval state), mark only when asked for. */
static void test_alloc_spi_message(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	const struct xfrm_userspi_info *p;
	struct xfrm_nl_spi_req r;
	struct nlmsghdr *nlh;
	const struct nlattr *a;

	(void)state;
	spi_req(&r);
	r.min = 0xc0000000;
	r.max = 0xcfffffff;
	nlh = xfrm_nl_build_alloc_spi(buf, &r, 11);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_ALLOCSPI);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
	assert_int_equal(nlh->nlmsg_seq, 11);
	assert_int_equal(nlh->nlmsg_len, NLMSG_ALIGN(mnl_nlmsg_size(sizeof(*p))));
	p = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(p->info.family, AF_INET);
	assert_int_equal(p->info.id.proto, IPPROTO_ESP);
	assert_int_equal(p->info.id.spi, 0);
	assert_int_equal(p->info.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(p->info.reqid, 9);
	assert_memory_equal(&p->info.saddr, &r.saddr, sizeof(r.saddr));
	assert_memory_equal(&p->info.id.daddr, &r.daddr, sizeof(r.daddr));
	assert_int_equal(p->min, 0xc0000000);
	assert_int_equal(p->max, 0xcfffffff);
	assert_null(find_attr(nlh, sizeof(*p), XFRMA_MARK));

	r.has_mark = true;
	r.mark.v = 0x42;
	r.mark.m = 0xff;
	nlh = xfrm_nl_build_alloc_spi(buf, &r, 12);
	a = find_attr(nlh, sizeof(*p), XFRMA_MARK);
	assert_non_null(a);
	assert_int_equal(mnl_attr_get_payload_len(a), sizeof(struct xfrm_mark));
	assert_memory_equal(mnl_attr_get_payload(a), &r.mark, sizeof(r.mark));

	/* refused before anything is sent */
	spi_req(&r);
	r.min = 0x2000;
	r.max = 0x1000;
	assert_null(xfrm_nl_build_alloc_spi(buf, &r, 13));
	spi_req(&r);
	r.min = 0;
	assert_null(xfrm_nl_build_alloc_spi(buf, &r, 13));
	spi_req(&r);
	r.family = AF_UNIX;
	assert_null(xfrm_nl_build_alloc_spi(buf, &r, 13));
}

/* XFRM_MSG_ACQUIRE as the kernel sends it: xfrm_user_acquire, then the
 * template, mark and if_id; truncated and foreign messages refused. */
static void acq_sample(struct xfrm_nl_acquire *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->saddr.a4 = htonl(0xc0000201);
	a->daddr.a4 = htonl(0xc0000202);
	a->proto = IPPROTO_ESP;
	a->reqid = 77;
	a->sel.family = AF_INET;
	a->sel.saddr.a4 = htonl(0x0a010005);
	a->sel.daddr.a4 = htonl(0x0a020007);
	a->sel.prefixlen_s = a->sel.prefixlen_d = 32;
	a->sel.proto = IPPROTO_TCP;
	a->sel.sport = htons(40000);
	a->sel.sport_mask = a->sel.dport_mask = 0xffff;
	a->sel.dport = htons(22);
	a->policy_index = 0x1234;
	a->policy_dir = XFRM_POLICY_OUT;
	a->policy_priority = 99000;
	a->seq = 5;
}

static void test_acquire_message(void **state)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_acquire a, got;
	struct nlmsghdr *nlh;
	__u32 len;

	(void)state;
	acq_sample(&a);
	a.has_mark = true;
	a.mark.v = 0x10000;
	a.mark.m = 0xffff0000;
	a.has_if_id = true;
	a.if_id = 3;
	nlh = xfrm_nl_build_acquire(buf, &a, 9);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_ACQUIRE);
	assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), 0);
	assert_int_equal(got.family, AF_INET);
	assert_memory_equal(&got.saddr, &a.saddr, sizeof(a.saddr));
	assert_memory_equal(&got.daddr, &a.daddr, sizeof(a.daddr));
	assert_int_equal(got.proto, IPPROTO_ESP);
	assert_int_equal(got.reqid, 77);
	assert_memory_equal(&got.sel, &a.sel, sizeof(a.sel));
	assert_int_equal(got.policy_index, 0x1234);
	assert_int_equal(got.policy_dir, XFRM_POLICY_OUT);
	assert_int_equal(got.policy_priority, 99000);
	assert_int_equal(got.seq, 5);
	assert_true(got.has_mark);
	assert_int_equal(got.mark.v, 0x10000);
	assert_int_equal(got.mark.m, 0xffff0000);
	assert_true(got.has_if_id);
	assert_int_equal(got.if_id, 3);

	/* IPv6 inside, IPv4 outside: the family is the template's */
	acq_sample(&a);
	a.sel.family = AF_INET6;
	a.sel.prefixlen_s = a.sel.prefixlen_d = 128;
	nlh = xfrm_nl_build_acquire(buf, &a, 10);
	assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), 0);
	assert_int_equal(got.family, AF_INET);
	assert_int_equal(got.sel.family, AF_INET6);
	assert_false(got.has_mark);
	assert_false(got.has_if_id);

	/* every truncation of the payload or inside the template attribute;
	 * cut right after the payload it is a valid acquire without one */
	acq_sample(&a);
	nlh = xfrm_nl_build_acquire(buf, &a, 11);
	len = nlh->nlmsg_len;
	for (nlh->nlmsg_len = NLMSG_HDRLEN; nlh->nlmsg_len < len; nlh->nlmsg_len += 4) {
		if (nlh->nlmsg_len == mnl_nlmsg_size(sizeof(struct xfrm_user_acquire))) {
			assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), 0);
			assert_int_equal(got.reqid, 0);
			continue;
		}
		assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), -EBADMSG);
	}
	nlh->nlmsg_len = len;
	assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), 0);
	/* a selector prefix longer than its family allows */
	((struct xfrm_user_acquire *)mnl_nlmsg_get_payload(nlh))->sel.prefixlen_d = 33;
	assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), -EBADMSG);
	/* another message type */
	nlh = xfrm_nl_build_acquire(buf, &a, 12);
	nlh->nlmsg_type = XFRM_MSG_EXPIRE;
	assert_int_equal(xfrm_nl_parse_acquire(nlh, &got), -EBADMSG);
	a.family = AF_UNIX;
	assert_null(xfrm_nl_build_acquire(buf, &a, 13));
}

/* ---- host kernel, private netns ---- */

static int kernel_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	/* Our own netns: no effect on the host's xfrm tables, and `ip` inherits it. */
	return unshare(CLONE_NEWNET) ? -1 : 0;
}

static int run(const char *cmd, char *out, size_t len)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	return pclose(f);
}

struct count_ctx {
	int n;
	__u32 mark;
};

static int count_policy_cb(const struct xfrm_nl_policy *pol, void *arg)
{
	struct count_ctx *c = arg;

	if (pol->has_mark && pol->mark.v == c->mark)
		c->n++;
	return 0;
}

static void test_kernel_policy(void **state)
{
	struct xfrm_nl_policy pol, got;
	struct xfrm_nl_policy_id id;
	struct count_ctx cnt = { .mark = 0x7e570001 };
	struct xfrm_nl *nl;
	char out[4096];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(xfrm_nl_open(&nl), 0);
	policy_out(&pol);
	assert_int_equal(xfrm_nl_policy_add(nl, &pol, false), 0);
	/* Adding the same policy again is refused by the kernel. */
	assert_int_equal(xfrm_nl_policy_add(nl, &pol, false), -EEXIST);
	assert_int_equal(xfrm_nl_policy_add(nl, &pol, true), 0);

	assert_int_equal(run("ip xfrm policy list", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "src 10.1.0.0/24 dst 10.2.0.0/24 proto tcp dport 22"));
	assert_non_null(strstr(out, "dir out priority 1000"));
	assert_non_null(strstr(out, "mark 0x7e570001/0xffffffff"));
	assert_non_null(strstr(out, "tmpl src 192.0.2.1 dst 192.0.2.2"));
	assert_non_null(strstr(out, "proto esp reqid 32343 mode tunnel"));

	xfrm_nl_policy_to_id(&pol, &id);
	assert_int_equal(xfrm_nl_policy_get(nl, &id, &got), 0);
	assert_int_equal(got.priority, 1000);
	assert_int_equal(got.ntmpl, 1);
	assert_int_equal(got.tmpl[0].reqid, 0x7e57);
	assert_memory_equal(&got.sel, &pol.sel, sizeof(pol.sel));

	assert_int_equal(xfrm_nl_policy_list(nl, count_policy_cb, &cnt), 0);
	assert_int_equal(cnt.n, 1);

	/* A different mark is a different policy: nothing to delete. */
	id.mark.v = 0x7e570002;
	assert_int_equal(xfrm_nl_policy_del(nl, &id), -ENOENT);
	assert_int_equal(xfrm_nl_policy_get(nl, &id, &got), -ENOENT);
	id.mark.v = 0x7e570001;
	assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	assert_int_equal(xfrm_nl_policy_del(nl, &id), -ENOENT);
	assert_int_equal(run("ip xfrm policy list", out, sizeof(out)), 0);
	assert_null(strstr(out, "10.2.0.0/24"));
	xfrm_nl_close(nl);
}

/* Many policies: the dump spans several receive buffers. */
static void test_kernel_policy_dump_many(void **state)
{
	struct count_ctx cnt = { .mark = 0x7e570009 };
	struct xfrm_nl_policy pol;
	struct xfrm_nl_policy_id id;
	struct xfrm_nl *nl;
	int i;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(xfrm_nl_open(&nl), 0);
	for (i = 0; i < 600; i++) {
		policy_out(&pol);
		pol.mark.v = cnt.mark;
		pol.sel.daddr.a4 = htonl(0x0a000000 | (i << 8));
		assert_int_equal(xfrm_nl_policy_add(nl, &pol, false), 0);
	}
	assert_int_equal(xfrm_nl_policy_list(nl, count_policy_cb, &cnt), 0);
	assert_int_equal(cnt.n, 600);
	for (i = 0; i < 600; i++) {
		policy_out(&pol);
		pol.mark.v = cnt.mark;
		pol.sel.daddr.a4 = htonl(0x0a000000 | (i << 8));
		xfrm_nl_policy_to_id(&pol, &id);
		assert_int_equal(xfrm_nl_policy_del(nl, &id), 0);
	}
	cnt.n = 0;
	assert_int_equal(xfrm_nl_policy_list(nl, count_policy_cb, &cnt), 0);
	assert_int_equal(cnt.n, 0);
	xfrm_nl_close(nl);
}

/* The host kernel has no ESP: adding a state must fail with an error, not hang or crash. */
static void test_kernel_sa_refused(void **state)
{
	struct xfrm_nl_sa sa, got;
	struct xfrm_nl_sa_id id;
	struct xfrm_nl *nl;
	int err;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(xfrm_nl_open(&nl), 0);
	sa_gcm(&sa);
	err = xfrm_nl_sa_add(nl, &sa, false);
	if (err == 0) {
		/* A kernel with ESP: then the state must be readable back. */
		xfrm_nl_sa_to_id(&sa, &id);
		assert_int_equal(xfrm_nl_sa_get(nl, &id, &got), 0);
		assert_memory_equal(got.aead.key, sa.aead.key, 36);
		xfrm_nl_sa_scrub(&got);
		assert_int_equal(xfrm_nl_sa_del(nl, &id), 0);
	} else {
		assert_true(err < 0);
		print_message("# host kernel refused the state: %s%s%s\n", strerror(-err),
			      *xfrm_nl_errmsg(nl) ? ": " : "", xfrm_nl_errmsg(nl));
		xfrm_nl_sa_to_id(&sa, &id);
		assert_int_equal(xfrm_nl_sa_get(nl, &id, &got), -ENOENT);
	}
	assert_int_equal(xfrm_nl_sa_del(nl, &id), -ENOENT);
	xfrm_nl_sa_scrub(&sa);
	xfrm_nl_close(nl);
}

/*
 * ALLOCSPI needs no ESP implementation (the larval state has no keys), so
 * the host kernel answers it: SPIs come from the range, are distinct, a
 * one-SPI range is honoured and then exhausted, and the larval states are
 * visible to `ip xfrm` and deletable. UPDSA over a larval state needs ESP:
 * the VM tests (ike_swan_*) cover that through xiked.
 */
static void test_kernel_alloc_spi(void **state)
{
	struct xfrm_nl_spi_req r;
	struct xfrm_nl_sa_id id;
	struct xfrm_nl_sa got;
	__be32 spi1, spi2, spi3;
	struct xfrm_nl *nl;
	char out[4096], want[64];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(xfrm_nl_open(&nl), 0);
	spi_req(&r);
	r.min = 0xc0000000;
	r.max = 0xcfffffff;
	assert_int_equal(xfrm_nl_alloc_spi(nl, &r, &spi1), 0);
	assert_int_equal(xfrm_nl_alloc_spi(nl, &r, &spi2), 0);
	assert_true(ntohl(spi1) >= 0xc0000000 && ntohl(spi1) <= 0xcfffffff);
	assert_true(ntohl(spi2) >= 0xc0000000 && ntohl(spi2) <= 0xcfffffff);
	assert_true(spi1 != spi2);

	r.min = r.max = 0x4242;
	assert_int_equal(xfrm_nl_alloc_spi(nl, &r, &spi3), 0);
	assert_int_equal(ntohl(spi3), 0x4242);
	/* exhausted; the kernel keeps an SPI-less larval state from the try,
	 * which only expiry removes (DELSA looks states up by SPI) */
	assert_int_equal(xfrm_nl_alloc_spi(nl, &r, &spi3), -ENOENT);

	assert_int_equal(run("ip xfrm state list", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "proto esp spi 0x%08x reqid 9", ntohl(spi1));
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "src 192.0.2.2 dst 192.0.2.1"));

	memset(&id, 0, sizeof(id));
	id.family = AF_INET;
	id.daddr = r.daddr;
	id.proto = IPPROTO_ESP;
	id.spi = spi1;
	assert_int_equal(xfrm_nl_sa_get(nl, &id, &got), 0);
	assert_int_equal(got.reqid, 9);
	assert_int_equal(got.aead.name[0], 0);
	assert_int_equal(xfrm_nl_sa_del(nl, &id), 0);
	assert_int_equal(xfrm_nl_sa_get(nl, &id, &got), -ENOENT);
	id.spi = spi2;
	assert_int_equal(xfrm_nl_sa_del(nl, &id), 0);
	id.spi = htonl(0x4242);
	assert_int_equal(xfrm_nl_sa_del(nl, &id), 0);
	assert_int_equal(run("ip xfrm state list", out, sizeof(out)), 0);
	assert_null(strstr(out, want));
	assert_null(strstr(out, "spi 0x00004242"));
	assert_non_null(strstr(out, "spi 0x00000000 reqid 9"));
	xfrm_nl_close(nl);
}

struct acq_seen {
	int n;
	struct xfrm_nl_acquire a;
};

static void acq_seen_cb(const struct xfrm_nl_acquire *a, void *arg)
{
	struct acq_seen *s = arg;

	s->n++;
	s->a = *a;
}

/*
 * A real acquire: a trap policy (template, no state) and a UDP packet that
 * matches it. The host kernel has no ESP, but acquires need none: the
 * larval state and the XFRMNLGRP_ACQUIRE multicast come before any
 * transform is looked up. The acquire names the packet's exact flow.
 */
static void test_kernel_acquire(void **state)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct acq_seen seen = { 0 };
	struct xfrm_nl_policy pol;
	struct mnl_socket *as;
	struct xfrm_nl *nl;
	char out[4096];
	int fd, i;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* lo has disable_xfrm set by default: no policy lookup at all */
	assert_int_equal(run("ip link set lo up && ip addr add 10.1.0.1/32 dev lo && "
			     "ip route add 10.2.0.0/24 dev lo && "
			     "sysctl -q net.ipv4.conf.lo.disable_xfrm=0 2>&1",
			     out, sizeof(out)),
			 0);
	assert_int_equal(xfrm_nl_open(&nl), 0);
	assert_int_equal(xfrm_nl_acquire_open(&as), 0);
	policy_out(&pol);
	pol.has_mark = false;
	pol.sel.proto = 0;
	pol.sel.dport = pol.sel.dport_mask = 0;
	assert_int_equal(xfrm_nl_policy_add(nl, &pol, false), 0);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	src.sin_addr.s_addr = htonl(0x0a010001);
	src.sin_port = htons(40001);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	dst.sin_addr.s_addr = htonl(0x0a020007);
	dst.sin_port = htons(5353);
	/* dropped (or refused) while the larval state exists: not our concern */
	(void)sendto(fd, "x", 1, 0, (struct sockaddr *)&dst, sizeof(dst));
	for (i = 0; i < 100 && !seen.n; i++) {
		assert_int_equal(xfrm_nl_acquire_read(as, acq_seen_cb, &seen), 0);
		if (!seen.n)
			usleep(10000);
	}
	close(fd);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.a.family, AF_INET);
	assert_int_equal(seen.a.reqid, 0x7e57);
	assert_int_equal(seen.a.daddr.a4, htonl(0xc0000202));
	assert_int_equal(seen.a.saddr.a4, htonl(0xc0000201));
	assert_int_equal(seen.a.sel.family, AF_INET);
	assert_int_equal(seen.a.sel.saddr.a4, htonl(0x0a010001));
	assert_int_equal(seen.a.sel.daddr.a4, htonl(0x0a020007));
	assert_int_equal(seen.a.sel.proto, IPPROTO_UDP);
	assert_int_equal(seen.a.sel.sport, htons(40001));
	assert_int_equal(seen.a.sel.dport, htons(5353));
	assert_int_equal(seen.a.policy_dir, XFRM_POLICY_OUT);
	xfrm_nl_acquire_close(as);
	xfrm_nl_close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_gcm_roundtrip),
		cmocka_unit_test(test_sa_cbc_hmac_esn_encap),
		cmocka_unit_test(test_sa_replay_state),
		cmocka_unit_test(test_sa_chacha),
		cmocka_unit_test(test_sa_check_errors),
		cmocka_unit_test(test_sa_parse_malformed),
		cmocka_unit_test(test_policy_roundtrip),
		cmocka_unit_test(test_sa_id_messages),
		cmocka_unit_test(test_kernel_policy),
		cmocka_unit_test(test_kernel_policy_dump_many),
		cmocka_unit_test(test_kernel_sa_refused),
		cmocka_unit_test(test_alloc_spi_message),
		cmocka_unit_test(test_kernel_alloc_spi),
		cmocka_unit_test(test_acquire_message),
		cmocka_unit_test(test_kernel_acquire),
	};

	return cmocka_run_group_tests(tests, kernel_setup, NULL);
}
