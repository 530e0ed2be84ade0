// SPDX-License-Identifier: GPL-2.0-only
/*
 * xfrm netlink requests over libmnl. See xfrm_nl.h for the contract.
 *
 * Request layout (NEWSA):
 *
 *   struct nlmsghdr | struct xfrm_usersa_info | XFRMA_ALG_AEAD (or CRYPT + AUTH_TRUNC)
 *                   | [XFRMA_REPLAY_ESN_VAL] [XFRMA_ENCAP] [XFRMA_MARK] [XFRMA_IF_ID]
 *
 * The socket sets NETLINK_CAP_ACK so an error does not echo our request (which
 * holds keys) back into the receive buffer, and NETLINK_EXT_ACK for the
 * kernel's reason text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/udp.h>
#include <libmnl/libmnl.h>

#include "log.h"
#include "xfrm_nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Big enough for one dump skb of the kernel (up to 32 KiB on 6.x). */
#define XFRM_NL_RX_SIZE 65536

struct xfrm_nl {
	struct mnl_socket *sock;
	__u32 portid;
	__u32 seq;
	char errmsg[256];
	char rx[XFRM_NL_RX_SIZE] __attribute__((aligned(8)));
};

static const struct xfrm_nl_alg_info xfrm_nl_algs[] = {
	/* key includes the 4-byte salt (RFC 4106 / RFC 7634) */
	{ "rfc4106(gcm(aes))", XFRMA_ALG_AEAD, { 20, 28, 36 }, 128 },
	{ "rfc7539esp(chacha20,poly1305)", XFRMA_ALG_AEAD, { 36 }, 128 },
	{ "cbc(aes)", XFRMA_ALG_CRYPT, { 16, 24, 32 }, 0 },
	{ "hmac(sha256)", XFRMA_ALG_AUTH_TRUNC, { 32 }, 128 },
	{ "hmac(sha384)", XFRMA_ALG_AUTH_TRUNC, { 48 }, 192 },
	{ "hmac(sha512)", XFRMA_ALG_AUTH_TRUNC, { 64 }, 256 },
};

const struct xfrm_nl_alg_info *xfrm_nl_alg_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(xfrm_nl_algs) / sizeof(xfrm_nl_algs[0]); i++)
		if (!strcmp(xfrm_nl_algs[i].name, name))
			return &xfrm_nl_algs[i];
	return NULL;
}

static void xfrm_nl_lft_infinite(struct xfrm_lifetime_cfg *lft)
{
	memset(lft, 0, sizeof(*lft));
	lft->soft_byte_limit = XFRM_INF;
	lft->hard_byte_limit = XFRM_INF;
	lft->soft_packet_limit = XFRM_INF;
	lft->hard_packet_limit = XFRM_INF;
}

void xfrm_nl_sa_init(struct xfrm_nl_sa *sa, __u16 family)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = family;
	sa->sel.family = family;
	sa->proto = IPPROTO_ESP;
	sa->mode = XFRM_MODE_TUNNEL;
	sa->replay_window = 32;
	xfrm_nl_lft_infinite(&sa->lft);
}

void xfrm_nl_policy_init(struct xfrm_nl_policy *pol, __u16 family, __u8 dir)
{
	memset(pol, 0, sizeof(*pol));
	pol->sel.family = family;
	pol->dir = dir;
	pol->action = XFRM_POLICY_ALLOW;
	xfrm_nl_lft_infinite(&pol->lft);
}

void xfrm_nl_sa_scrub(struct xfrm_nl_sa *sa)
{
	explicit_bzero(&sa->aead, sizeof(sa->aead));
	explicit_bzero(&sa->crypt, sizeof(sa->crypt));
	explicit_bzero(&sa->auth, sizeof(sa->auth));
}

void xfrm_nl_sa_to_id(const struct xfrm_nl_sa *sa, struct xfrm_nl_sa_id *id)
{
	memset(id, 0, sizeof(*id));
	id->family = sa->family;
	id->daddr = sa->daddr;
	id->spi = sa->spi;
	id->proto = sa->proto;
	id->has_mark = sa->has_mark;
	id->mark = sa->mark;
}

void xfrm_nl_policy_to_id(const struct xfrm_nl_policy *pol, struct xfrm_nl_policy_id *id)
{
	memset(id, 0, sizeof(*id));
	id->sel = pol->sel;
	id->dir = pol->dir;
	id->has_mark = pol->has_mark;
	id->mark = pol->mark;
	id->has_if_id = pol->has_if_id;
	id->if_id = pol->if_id;
}

static bool xfrm_nl_family_ok(__u16 family)
{
	return family == AF_INET || family == AF_INET6;
}

static bool xfrm_nl_prefix_ok(__u16 family, __u8 plen)
{
	return plen <= (family == AF_INET ? 32 : 128);
}

static int xfrm_nl_alg_check(const struct xfrm_nl_alg *alg, int type, const char **why)
{
	const struct xfrm_nl_alg_info *info = xfrm_nl_alg_lookup(alg->name);
	int i;

	if (!info || info->type != type) {
		*why = "unsupported algorithm for this slot";
		return -EINVAL;
	}
	for (i = 0; i < 3 && info->key_len[i]; i++)
		if (alg->key_len == info->key_len[i])
			break;
	if (i == 3 || !info->key_len[i]) {
		*why = "key length does not fit the algorithm";
		return -EINVAL;
	}
	/* RFC 4106 allows 8, 12 or 16 byte ICVs; the others have one (RFC 4868, 7634). */
	if (type != XFRMA_ALG_CRYPT && alg->bits != info->bits &&
	    !(!strcmp(info->name, "rfc4106(gcm(aes))") && (alg->bits == 64 || alg->bits == 96))) {
		*why = "ICV/truncation length not supported";
		return -EINVAL;
	}
	return 0;
}

int xfrm_nl_sa_check(const struct xfrm_nl_sa *sa, const char **why)
{
	const char *dummy;
	int err;

	if (!why)
		why = &dummy;
	if (!xfrm_nl_family_ok(sa->family)) {
		*why = "outer family must be inet or inet6";
		return -EINVAL;
	}
	if (sa->sel.family && (!xfrm_nl_family_ok(sa->sel.family) ||
			       !xfrm_nl_prefix_ok(sa->sel.family, sa->sel.prefixlen_s) ||
			       !xfrm_nl_prefix_ok(sa->sel.family, sa->sel.prefixlen_d))) {
		*why = "bad selector family or prefix length";
		return -EINVAL;
	}
	if (sa->proto != IPPROTO_ESP) {
		*why = "only ESP is supported";
		return -EINVAL;
	}
	if (!sa->spi) {
		*why = "SPI 0 is reserved";
		return -EINVAL;
	}
	if (sa->replay_window > XFRMA_REPLAY_ESN_MAX) {
		*why = "replay window too large";
		return -EINVAL;
	}
	/* RFC 3948 ESP-in-UDP only; the kernel would take port 0 as given */
	if (sa->has_encap && (sa->encap.encap_type != UDP_ENCAP_ESPINUDP ||
			      !sa->encap.encap_sport || !sa->encap.encap_dport)) {
		*why = "encapsulation must be espinudp with both ports set";
		return -EINVAL;
	}
	if (sa->aead.name[0]) {
		if (sa->crypt.name[0] || sa->auth.name[0]) {
			*why = "aead excludes enc/auth";
			return -EINVAL;
		}
		return xfrm_nl_alg_check(&sa->aead, XFRMA_ALG_AEAD, why);
	}
	if (!sa->crypt.name[0] || !sa->auth.name[0]) {
		*why = "need aead, or enc and auth";
		return -EINVAL;
	}
	err = xfrm_nl_alg_check(&sa->crypt, XFRMA_ALG_CRYPT, why);
	if (err)
		return err;
	return xfrm_nl_alg_check(&sa->auth, XFRMA_ALG_AUTH_TRUNC, why);
}

int xfrm_nl_policy_check(const struct xfrm_nl_policy *pol, const char **why)
{
	const char *dummy;
	unsigned int i;

	if (!why)
		why = &dummy;
	if (!xfrm_nl_family_ok(pol->sel.family) ||
	    !xfrm_nl_prefix_ok(pol->sel.family, pol->sel.prefixlen_s) ||
	    !xfrm_nl_prefix_ok(pol->sel.family, pol->sel.prefixlen_d)) {
		*why = "bad selector family or prefix length";
		return -EINVAL;
	}
	if (pol->dir != XFRM_POLICY_IN && pol->dir != XFRM_POLICY_OUT &&
	    pol->dir != XFRM_POLICY_FWD) {
		*why = "direction must be in, out or fwd";
		return -EINVAL;
	}
	if (pol->action != XFRM_POLICY_ALLOW && pol->action != XFRM_POLICY_BLOCK) {
		*why = "action must be allow or block";
		return -EINVAL;
	}
	if (pol->ntmpl > XFRM_NL_TMPL_MAX) {
		*why = "too many templates";
		return -EINVAL;
	}
	for (i = 0; i < pol->ntmpl; i++) {
		if (!xfrm_nl_family_ok(pol->tmpl[i].family)) {
			*why = "template family must be inet or inet6";
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- builders ---- */

static struct nlmsghdr *xfrm_nl_hdr(void *buf, __u16 type, __u16 flags, __u32 seq)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, XFRM_NL_BUF_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

static void xfrm_nl_put_alg(struct nlmsghdr *nlh, const struct xfrm_nl_alg *alg, int type)
{
	/* Largest of the three layouts: xfrm_algo_auth/aead have one extra __u32. */
	char raw[sizeof(struct xfrm_algo_aead) + XFRM_NL_KEY_MAX];
	size_t len;

	memset(raw, 0, sizeof(raw));
	if (type == XFRMA_ALG_AEAD) {
		struct xfrm_algo_aead *a = (void *)raw;

		memcpy(a->alg_name, alg->name, sizeof(a->alg_name));
		a->alg_key_len = alg->key_len * 8;
		a->alg_icv_len = alg->bits;
		memcpy(a->alg_key, alg->key, alg->key_len);
		len = sizeof(*a) + alg->key_len;
	} else if (type == XFRMA_ALG_AUTH_TRUNC) {
		struct xfrm_algo_auth *a = (void *)raw;

		memcpy(a->alg_name, alg->name, sizeof(a->alg_name));
		a->alg_key_len = alg->key_len * 8;
		a->alg_trunc_len = alg->bits;
		memcpy(a->alg_key, alg->key, alg->key_len);
		len = sizeof(*a) + alg->key_len;
	} else {
		struct xfrm_algo *a = (void *)raw;

		memcpy(a->alg_name, alg->name, sizeof(a->alg_name));
		a->alg_key_len = alg->key_len * 8;
		memcpy(a->alg_key, alg->key, alg->key_len);
		len = sizeof(*a) + alg->key_len;
	}
	mnl_attr_put(nlh, type, len, raw);
	explicit_bzero(raw, sizeof(raw));
}

struct nlmsghdr *xfrm_nl_build_sa_add(void *buf, const struct xfrm_nl_sa *sa, bool update,
				      __u32 seq)
{
	struct nlmsghdr *nlh;
	struct xfrm_usersa_info *p;
	bool use_esn = (sa->flags & XFRM_STATE_ESN) || sa->replay_window > 32;

	if (xfrm_nl_sa_check(sa, NULL))
		return NULL;
	nlh = xfrm_nl_hdr(buf, update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA, NLM_F_ACK, seq);
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	p->sel = sa->sel;
	p->id.daddr = sa->daddr;
	p->id.spi = sa->spi;
	p->id.proto = sa->proto;
	p->saddr = sa->saddr;
	p->lft = sa->lft;
	p->reqid = sa->reqid;
	p->family = sa->family;
	p->mode = sa->mode;
	p->flags = sa->flags;
	/* The kernel refuses a non-zero legacy window next to XFRMA_REPLAY_ESN_VAL. */
	p->replay_window = use_esn ? 0 : sa->replay_window;

	if (sa->aead.name[0]) {
		xfrm_nl_put_alg(nlh, &sa->aead, XFRMA_ALG_AEAD);
	} else {
		xfrm_nl_put_alg(nlh, &sa->crypt, XFRMA_ALG_CRYPT);
		xfrm_nl_put_alg(nlh, &sa->auth, XFRMA_ALG_AUTH_TRUNC);
	}
	if (use_esn) {
		char raw[sizeof(struct xfrm_replay_state_esn) + XFRMA_REPLAY_ESN_MAX / 8];
		struct xfrm_replay_state_esn *rs = (void *)raw;

		memset(raw, 0, sizeof(raw));
		rs->replay_window = sa->replay_window;
		rs->bmp_len = (sa->replay_window + 31) / 32;
		if (sa->has_replay) {
			rs->oseq = sa->oseq;
			rs->seq = sa->seq;
			rs->oseq_hi = sa->oseq_hi;
			rs->seq_hi = sa->seq_hi;
			if (rs->bmp_len)
				rs->bmp[0] = sa->replay_bitmap;
		}
		mnl_attr_put(nlh, XFRMA_REPLAY_ESN_VAL, sizeof(*rs) + rs->bmp_len * sizeof(__u32),
			     raw);
	} else if (sa->has_replay) {
		struct xfrm_replay_state rp = { .oseq = sa->oseq,
						.seq = sa->seq,
						.bitmap = sa->replay_bitmap };

		mnl_attr_put(nlh, XFRMA_REPLAY_VAL, sizeof(rp), &rp);
	}
	if (sa->has_curlft)
		mnl_attr_put(nlh, XFRMA_LTIME_VAL, sizeof(sa->curlft), &sa->curlft);
	if (sa->has_encap)
		mnl_attr_put(nlh, XFRMA_ENCAP, sizeof(sa->encap), &sa->encap);
	if (sa->has_mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(sa->mark), &sa->mark);
	if (sa->has_if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, sa->if_id);
	return nlh;
}

static struct nlmsghdr *xfrm_nl_build_sa_id(void *buf, __u16 type, __u16 flags,
					    const struct xfrm_nl_sa_id *id, __u32 seq)
{
	struct nlmsghdr *nlh = xfrm_nl_hdr(buf, type, flags, seq);
	struct xfrm_usersa_id *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

	p->daddr = id->daddr;
	p->spi = id->spi;
	p->family = id->family;
	p->proto = id->proto;
	if (id->has_mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(id->mark), &id->mark);
	return nlh;
}

struct nlmsghdr *xfrm_nl_build_sa_del(void *buf, const struct xfrm_nl_sa_id *id, __u32 seq)
{
	return xfrm_nl_build_sa_id(buf, XFRM_MSG_DELSA, NLM_F_ACK, id, seq);
}

struct nlmsghdr *xfrm_nl_build_sa_get(void *buf, const struct xfrm_nl_sa_id *id, __u32 seq)
{
	return xfrm_nl_build_sa_id(buf, XFRM_MSG_GETSA, 0, id, seq);
}

struct nlmsghdr *xfrm_nl_build_sa_dump(void *buf, __u32 seq)
{
	return xfrm_nl_hdr(buf, XFRM_MSG_GETSA, NLM_F_DUMP, seq);
}

struct nlmsghdr *xfrm_nl_build_alloc_spi(void *buf, const struct xfrm_nl_spi_req *req, __u32 seq)
{
	struct xfrm_userspi_info *p;
	struct nlmsghdr *nlh;

	if (!xfrm_nl_family_ok(req->family) || !req->min || req->min > req->max)
		return NULL;
	/* No NLM_F_ACK: the answer is a NEWSA with the larval state, or an error. */
	nlh = xfrm_nl_hdr(buf, XFRM_MSG_ALLOCSPI, 0, seq);
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	p->info.family = req->family;
	p->info.saddr = req->saddr;
	p->info.id.daddr = req->daddr;
	p->info.id.proto = req->proto;
	p->info.mode = req->mode;
	p->info.reqid = req->reqid;
	p->info.sel.family = req->family;
	xfrm_nl_lft_infinite(&p->info.lft);
	p->min = req->min;
	p->max = req->max;
	if (req->has_mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(req->mark), &req->mark);
	return nlh;
}

struct nlmsghdr *xfrm_nl_build_policy_add(void *buf, const struct xfrm_nl_policy *pol, bool update,
					  __u32 seq)
{
	struct nlmsghdr *nlh;
	struct xfrm_userpolicy_info *p;

	if (xfrm_nl_policy_check(pol, NULL))
		return NULL;
	nlh = xfrm_nl_hdr(buf, update ? XFRM_MSG_UPDPOLICY : XFRM_MSG_NEWPOLICY, NLM_F_ACK, seq);
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	p->sel = pol->sel;
	p->lft = pol->lft;
	p->priority = pol->priority;
	p->index = pol->index;
	p->dir = pol->dir;
	p->action = pol->action;
	p->share = XFRM_SHARE_ANY;
	if (pol->ntmpl)
		mnl_attr_put(nlh, XFRMA_TMPL, pol->ntmpl * sizeof(pol->tmpl[0]), pol->tmpl);
	if (pol->has_mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(pol->mark), &pol->mark);
	if (pol->has_if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, pol->if_id);
	return nlh;
}

static struct nlmsghdr *xfrm_nl_build_policy_id(void *buf, __u16 type, __u16 flags,
						const struct xfrm_nl_policy_id *id, __u32 seq)
{
	struct nlmsghdr *nlh = xfrm_nl_hdr(buf, type, flags, seq);
	struct xfrm_userpolicy_id *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

	p->sel = id->sel;
	p->dir = id->dir;
	if (id->has_mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(id->mark), &id->mark);
	if (id->has_if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, id->if_id);
	return nlh;
}

struct nlmsghdr *xfrm_nl_build_policy_del(void *buf, const struct xfrm_nl_policy_id *id, __u32 seq)
{
	return xfrm_nl_build_policy_id(buf, XFRM_MSG_DELPOLICY, NLM_F_ACK, id, seq);
}

struct nlmsghdr *xfrm_nl_build_policy_get(void *buf, const struct xfrm_nl_policy_id *id, __u32 seq)
{
	return xfrm_nl_build_policy_id(buf, XFRM_MSG_GETPOLICY, 0, id, seq);
}

struct nlmsghdr *xfrm_nl_build_policy_dump(void *buf, __u32 seq)
{
	return xfrm_nl_hdr(buf, XFRM_MSG_GETPOLICY, NLM_F_DUMP, seq);
}

/* ---- parsers ---- */

/* Minimum payload per attribute; variable-length ones are checked again when read. */
static const size_t xfrm_nl_attr_min[XFRMA_MAX + 1] = {
	[XFRMA_ALG_AUTH] = sizeof(struct xfrm_algo),
	[XFRMA_ALG_CRYPT] = sizeof(struct xfrm_algo),
	[XFRMA_ALG_AEAD] = sizeof(struct xfrm_algo_aead),
	[XFRMA_ALG_AUTH_TRUNC] = sizeof(struct xfrm_algo_auth),
	[XFRMA_ENCAP] = sizeof(struct xfrm_encap_tmpl),
	[XFRMA_TMPL] = sizeof(struct xfrm_user_tmpl),
	[XFRMA_MARK] = sizeof(struct xfrm_mark),
	[XFRMA_IF_ID] = sizeof(__u32),
	[XFRMA_REPLAY_ESN_VAL] = sizeof(struct xfrm_replay_state_esn),
	[XFRMA_REPLAY_VAL] = sizeof(struct xfrm_replay_state),
	[XFRMA_LTIME_VAL] = sizeof(struct xfrm_lifetime_cur),
};

/*
 * Fills tb[] from the attributes after a @hdrlen payload header. Unlike
 * mnl_attr_parse() this also fails when an attribute overruns the message
 * instead of silently stopping there.
 */
static int xfrm_nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
			       const struct nlattr *tb[XFRMA_MAX + 1])
{
	const struct nlattr *attr;
	const char *tail;

	memset(tb, 0, sizeof(*tb) * (XFRMA_MAX + 1));
	if (nlh->nlmsg_len < mnl_nlmsg_size(hdrlen))
		return -EBADMSG;
	tail = mnl_nlmsg_get_payload_tail(nlh);
	mnl_attr_for_each (attr, nlh, hdrlen) {
		__u16 type = mnl_attr_get_type(attr);

		if (type > XFRMA_MAX)
			continue; /* newer kernel: unknown attribute */
		if (mnl_attr_get_payload_len(attr) < xfrm_nl_attr_min[type])
			return -EBADMSG;
		tb[type] = attr;
	}
	if ((const char *)attr < tail)
		return -EBADMSG;
	return 0;
}

/* Copies a kernel algorithm attribute; @klen_off/@key_off locate the fields per layout. */
static int xfrm_nl_get_alg(const struct nlattr *attr, int type, struct xfrm_nl_alg *alg)
{
	const void *p = mnl_attr_get_payload(attr);
	size_t plen = mnl_attr_get_payload_len(attr);
	const char *name = p;
	__u32 key_bits;
	size_t hdr;

	if (type == XFRMA_ALG_AEAD) {
		const struct xfrm_algo_aead *a = p;

		key_bits = a->alg_key_len;
		alg->bits = a->alg_icv_len;
		hdr = sizeof(*a);
	} else if (type == XFRMA_ALG_AUTH_TRUNC) {
		const struct xfrm_algo_auth *a = p;

		key_bits = a->alg_key_len;
		alg->bits = a->alg_trunc_len;
		hdr = sizeof(*a);
	} else {
		const struct xfrm_algo *a = p;

		key_bits = a->alg_key_len;
		alg->bits = 0;
		hdr = sizeof(*a);
	}
	if (key_bits % 8 || key_bits / 8 > XFRM_NL_KEY_MAX || hdr + key_bits / 8 > plen)
		return -EBADMSG;
	if (!memchr(name, '\0', XFRM_NL_ALG_NAME_MAX))
		return -EBADMSG;
	memcpy(alg->name, name, XFRM_NL_ALG_NAME_MAX);
	alg->key_len = key_bits / 8;
	memcpy(alg->key, (const char *)p + hdr, alg->key_len);
	return 0;
}

int xfrm_nl_parse_sa(const struct nlmsghdr *nlh, struct xfrm_nl_sa *sa)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_usersa_info info, *p = &info;
	int err;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA && nlh->nlmsg_type != XFRM_MSG_UPDSA)
		return -EBADMSG;
	err = xfrm_nl_parse_attrs(nlh, sizeof(*p), tb);
	if (err)
		return err;
	/* Netlink only guarantees 4-byte alignment; the struct holds __u64s. */
	memcpy(p, mnl_nlmsg_get_payload(nlh), sizeof(*p));
	memset(sa, 0, sizeof(*sa));
	sa->family = p->family;
	sa->saddr = p->saddr;
	sa->daddr = p->id.daddr;
	sa->spi = p->id.spi;
	sa->proto = p->id.proto;
	sa->mode = p->mode;
	sa->flags = p->flags;
	sa->reqid = p->reqid;
	sa->replay_window = p->replay_window;
	sa->sel = p->sel;
	sa->lft = p->lft;
	sa->curlft = p->curlft;
	sa->stats = p->stats;

	if (tb[XFRMA_ALG_AEAD])
		err = xfrm_nl_get_alg(tb[XFRMA_ALG_AEAD], XFRMA_ALG_AEAD, &sa->aead);
	if (!err && tb[XFRMA_ALG_CRYPT])
		err = xfrm_nl_get_alg(tb[XFRMA_ALG_CRYPT], XFRMA_ALG_CRYPT, &sa->crypt);
	if (!err && tb[XFRMA_ALG_AUTH_TRUNC])
		err = xfrm_nl_get_alg(tb[XFRMA_ALG_AUTH_TRUNC], XFRMA_ALG_AUTH_TRUNC, &sa->auth);
	if (err)
		goto out;
	if (tb[XFRMA_REPLAY_ESN_VAL]) {
		struct xfrm_replay_state_esn rs;

		size_t len = mnl_attr_get_payload_len(tb[XFRMA_REPLAY_ESN_VAL]);

		memcpy(&rs, mnl_attr_get_payload(tb[XFRMA_REPLAY_ESN_VAL]), sizeof(rs));
		sa->replay_window = rs.replay_window;
		sa->has_replay = true;
		sa->oseq = rs.oseq;
		sa->seq = rs.seq;
		sa->oseq_hi = rs.oseq_hi;
		sa->seq_hi = rs.seq_hi;
		if (rs.bmp_len && len >= sizeof(rs) + sizeof(__u32))
			memcpy(&sa->replay_bitmap,
			       (const char *)mnl_attr_get_payload(tb[XFRMA_REPLAY_ESN_VAL]) +
				       sizeof(rs),
			       sizeof(__u32));
	} else if (tb[XFRMA_REPLAY_VAL]) {
		struct xfrm_replay_state rp;

		memcpy(&rp, mnl_attr_get_payload(tb[XFRMA_REPLAY_VAL]), sizeof(rp));
		sa->has_replay = true;
		sa->oseq = rp.oseq;
		sa->seq = rp.seq;
		sa->replay_bitmap = rp.bitmap;
	}
	if (tb[XFRMA_ENCAP]) {
		sa->has_encap = true;
		memcpy(&sa->encap, mnl_attr_get_payload(tb[XFRMA_ENCAP]), sizeof(sa->encap));
	}
	if (tb[XFRMA_MARK]) {
		sa->has_mark = true;
		memcpy(&sa->mark, mnl_attr_get_payload(tb[XFRMA_MARK]), sizeof(sa->mark));
	}
	if (tb[XFRMA_IF_ID]) {
		sa->has_if_id = true;
		sa->if_id = mnl_attr_get_u32(tb[XFRMA_IF_ID]);
	}
	if (tb[XFRMA_LTIME_VAL]) {
		sa->has_curlft = true;
		memcpy(&sa->curlft, mnl_attr_get_payload(tb[XFRMA_LTIME_VAL]), sizeof(sa->curlft));
	}
out:
	if (err)
		xfrm_nl_sa_scrub(sa);
	return err;
}

int xfrm_nl_parse_policy(const struct nlmsghdr *nlh, struct xfrm_nl_policy *pol)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_userpolicy_info info, *p = &info;
	int err;

	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY && nlh->nlmsg_type != XFRM_MSG_UPDPOLICY)
		return -EBADMSG;
	err = xfrm_nl_parse_attrs(nlh, sizeof(*p), tb);
	if (err)
		return err;
	memcpy(p, mnl_nlmsg_get_payload(nlh), sizeof(*p));
	memset(pol, 0, sizeof(*pol));
	pol->sel = p->sel;
	pol->dir = p->dir;
	pol->action = p->action;
	pol->priority = p->priority;
	pol->index = p->index;
	pol->lft = p->lft;
	if (tb[XFRMA_TMPL]) {
		size_t len = mnl_attr_get_payload_len(tb[XFRMA_TMPL]);

		if (len % sizeof(pol->tmpl[0]) || len / sizeof(pol->tmpl[0]) > XFRM_NL_TMPL_MAX)
			return -EBADMSG;
		pol->ntmpl = len / sizeof(pol->tmpl[0]);
		memcpy(pol->tmpl, mnl_attr_get_payload(tb[XFRMA_TMPL]), len);
	}
	if (tb[XFRMA_MARK]) {
		pol->has_mark = true;
		memcpy(&pol->mark, mnl_attr_get_payload(tb[XFRMA_MARK]), sizeof(pol->mark));
	}
	if (tb[XFRMA_IF_ID]) {
		pol->has_if_id = true;
		pol->if_id = mnl_attr_get_u32(tb[XFRMA_IF_ID]);
	}
	return 0;
}

/* ---- socket ---- */

int xfrm_nl_open(struct xfrm_nl **out)
{
	struct xfrm_nl *nl;
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open(NETLINK_XFRM);
	if (!nl->sock) {
		err = -errno;
		goto fail;
	}
	/* Best effort: older kernels lack these; errors still work without them. */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (__u32)time(NULL);
	*out = nl;
	return 0;
fail:
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
	return err;
}

void xfrm_nl_close(struct xfrm_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	explicit_bzero(nl->rx, sizeof(nl->rx));
	free(nl);
}

const char *xfrm_nl_errmsg(const struct xfrm_nl *nl)
{
	return nl->errmsg;
}

/* Pulls NLMSGERR_ATTR_MSG out of an extended ACK, if any. */
static void xfrm_nl_save_extack(struct xfrm_nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off, total = nlh->nlmsg_len;
	const struct nlattr *attr;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	while (off + sizeof(*attr) <= total) {
		attr = (const void *)((const char *)nlh + off);
		if (attr->nla_len < sizeof(*attr) || off + attr->nla_len > total)
			return;
		if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			size_t n = attr->nla_len - sizeof(*attr);
			const char *s = (const char *)(attr + 1);

			if (n >= sizeof(nl->errmsg))
				n = sizeof(nl->errmsg) - 1;
			memcpy(nl->errmsg, s, n);
			nl->errmsg[n] = '\0';
			nl->errmsg[strcspn(nl->errmsg, "\n")] = '\0';
			return;
		}
		off += NLMSG_ALIGN(attr->nla_len);
	}
}

typedef int (*xfrm_nl_msg_cb)(const struct nlmsghdr *nlh, void *arg);

/*
 * Sends @nlh and reads until the ACK (or NLMSG_DONE for dumps), handing
 * data messages to @cb. Scrubs the request afterwards: it may hold keys.
 */
static int xfrm_nl_talk(struct xfrm_nl *nl, struct nlmsghdr *nlh, xfrm_nl_msg_cb cb, void *arg)
{
	bool dump = nlh->nlmsg_flags & NLM_F_DUMP;
	bool want_ack = nlh->nlmsg_flags & NLM_F_ACK;
	__u32 seq = nlh->nlmsg_seq;
	int err = 0, cb_err = 0;
	ssize_t n;

	nl->errmsg[0] = '\0';
	n = mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len);
	explicit_bzero(nlh, nlh->nlmsg_len);
	if (n < 0)
		return -errno;

	for (;;) {
		const struct nlmsghdr *m;
		int left;

		n = mnl_socket_recvfrom(nl->sock, nl->rx, sizeof(nl->rx));
		if (n < 0) {
			err = -errno;
			goto out;
		}
		m = (const void *)nl->rx;
		left = (int)n;
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != nl->portid)
				continue; /* stale reply of an earlier request */
			if (m->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (m->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
					err = -EBADMSG;
					goto out;
				}
				err = e->error;
				if (err)
					xfrm_nl_save_extack(nl, m);
				goto out;
			}
			if (m->nlmsg_type == NLMSG_DONE)
				goto out;
			if (cb && !cb_err)
				cb_err = cb(m, arg);
			if (!dump && !want_ack)
				goto out;
		}
	}
out:
	explicit_bzero(nl->rx, sizeof(nl->rx));
	if (err)
		return err;
	return cb_err < 0 ? cb_err : 0;
}

static __u32 xfrm_nl_seq(struct xfrm_nl *nl)
{
	return ++nl->seq;
}

int xfrm_nl_sa_add(struct xfrm_nl *nl, const struct xfrm_nl_sa *sa, bool update)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct nlmsghdr *nlh;
	int err;

	nlh = xfrm_nl_build_sa_add(buf, sa, update, xfrm_nl_seq(nl));
	if (!nlh)
		return -EINVAL;
	err = xfrm_nl_talk(nl, nlh, NULL, NULL);
	explicit_bzero(buf, sizeof(buf));
	return err;
}

/* The kernel says ESRCH for a missing state and ENOENT for a missing policy: unify. */
static int xfrm_nl_enoent(int err)
{
	return err == -ESRCH ? -ENOENT : err;
}

int xfrm_nl_sa_del(struct xfrm_nl *nl, const struct xfrm_nl_sa_id *id)
{
	char buf[XFRM_NL_BUF_SIZE];

	return xfrm_nl_enoent(
		xfrm_nl_talk(nl, xfrm_nl_build_sa_del(buf, id, xfrm_nl_seq(nl)), NULL, NULL));
}

struct xfrm_nl_get_ctx {
	void *out;
	bool found;
	int err;
};

static int xfrm_nl_get_sa_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xfrm_nl_get_ctx *ctx = arg;

	ctx->err = xfrm_nl_parse_sa(nlh, ctx->out);
	ctx->found = !ctx->err;
	return ctx->err;
}

int xfrm_nl_sa_get(struct xfrm_nl *nl, const struct xfrm_nl_sa_id *id, struct xfrm_nl_sa *out)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_get_ctx ctx = { .out = out };
	int err;

	err = xfrm_nl_talk(nl, xfrm_nl_build_sa_get(buf, id, xfrm_nl_seq(nl)), xfrm_nl_get_sa_cb,
			   &ctx);
	if (err)
		return xfrm_nl_enoent(err);
	return ctx.found ? 0 : -ENOENT;
}

int xfrm_nl_alloc_spi(struct xfrm_nl *nl, const struct xfrm_nl_spi_req *req, __be32 *spi)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_get_ctx ctx;
	struct xfrm_nl_sa sa;
	struct nlmsghdr *nlh;
	__u32 got;
	int err;

	nlh = xfrm_nl_build_alloc_spi(buf, req, xfrm_nl_seq(nl));
	if (!nlh)
		return -EINVAL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.out = &sa;
	err = xfrm_nl_talk(nl, nlh, xfrm_nl_get_sa_cb, &ctx);
	if (err)
		return err;
	if (!ctx.found)
		return -EBADMSG;
	/* The kernel answers with the larval state: it must be the one we asked for. */
	got = ntohl(sa.spi);
	if (sa.family != req->family || sa.proto != req->proto ||
	    memcmp(&sa.daddr, &req->daddr, sizeof(sa.daddr)) || got < req->min || got > req->max)
		return -EBADMSG;
	*spi = sa.spi;
	return 0;
}

struct xfrm_nl_list_ctx {
	xfrm_nl_sa_cb sa_cb;
	xfrm_nl_policy_cb pol_cb;
	void *arg;
};

static int xfrm_nl_list_sa_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xfrm_nl_list_ctx *ctx = arg;
	struct xfrm_nl_sa sa;
	int ret;

	if (xfrm_nl_parse_sa(nlh, &sa)) {
		log_debug("xfrm: skipping malformed state in dump");
		return 0;
	}
	ret = ctx->sa_cb(&sa, ctx->arg);
	xfrm_nl_sa_scrub(&sa);
	return ret;
}

int xfrm_nl_sa_list(struct xfrm_nl *nl, xfrm_nl_sa_cb cb, void *arg)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_list_ctx ctx = { .sa_cb = cb, .arg = arg };

	return xfrm_nl_talk(nl, xfrm_nl_build_sa_dump(buf, xfrm_nl_seq(nl)), xfrm_nl_list_sa_cb,
			    &ctx);
}

int xfrm_nl_policy_add(struct xfrm_nl *nl, const struct xfrm_nl_policy *pol, bool update)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct nlmsghdr *nlh;

	nlh = xfrm_nl_build_policy_add(buf, pol, update, xfrm_nl_seq(nl));
	if (!nlh)
		return -EINVAL;
	return xfrm_nl_talk(nl, nlh, NULL, NULL);
}

int xfrm_nl_policy_del(struct xfrm_nl *nl, const struct xfrm_nl_policy_id *id)
{
	char buf[XFRM_NL_BUF_SIZE];

	return xfrm_nl_talk(nl, xfrm_nl_build_policy_del(buf, id, xfrm_nl_seq(nl)), NULL, NULL);
}

static int xfrm_nl_get_policy_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xfrm_nl_get_ctx *ctx = arg;

	ctx->err = xfrm_nl_parse_policy(nlh, ctx->out);
	ctx->found = !ctx->err;
	return ctx->err;
}

int xfrm_nl_policy_get(struct xfrm_nl *nl, const struct xfrm_nl_policy_id *id,
		       struct xfrm_nl_policy *out)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_get_ctx ctx = { .out = out };
	int err;

	err = xfrm_nl_talk(nl, xfrm_nl_build_policy_get(buf, id, xfrm_nl_seq(nl)),
			   xfrm_nl_get_policy_cb, &ctx);
	if (err)
		return err;
	return ctx.found ? 0 : -ENOENT;
}

static int xfrm_nl_list_policy_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct xfrm_nl_list_ctx *ctx = arg;
	struct xfrm_nl_policy pol;

	if (xfrm_nl_parse_policy(nlh, &pol)) {
		log_debug("xfrm: skipping malformed policy in dump");
		return 0;
	}
	return ctx->pol_cb(&pol, ctx->arg);
}

int xfrm_nl_policy_list(struct xfrm_nl *nl, xfrm_nl_policy_cb cb, void *arg)
{
	char buf[XFRM_NL_BUF_SIZE];
	struct xfrm_nl_list_ctx ctx = { .pol_cb = cb, .arg = arg };

	return xfrm_nl_talk(nl, xfrm_nl_build_policy_dump(buf, xfrm_nl_seq(nl)),
			    xfrm_nl_list_policy_cb, &ctx);
}

/* ---- acquires (XFRMNLGRP_ACQUIRE) ---- */

int xfrm_nl_parse_acquire(const struct nlmsghdr *nlh, struct xfrm_nl_acquire *acq)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	struct xfrm_user_acquire ua;
	int err;

	if (nlh->nlmsg_type != XFRM_MSG_ACQUIRE)
		return -EBADMSG;
	err = xfrm_nl_parse_attrs(nlh, sizeof(ua), tb);
	if (err)
		return err;
	memcpy(&ua, mnl_nlmsg_get_payload(nlh), sizeof(ua));
	if (!xfrm_nl_family_ok(ua.sel.family) || !xfrm_nl_prefix_ok(ua.sel.family, ua.sel.prefixlen_s) ||
	    !xfrm_nl_prefix_ok(ua.sel.family, ua.sel.prefixlen_d))
		return -EBADMSG;
	memset(acq, 0, sizeof(*acq));
	acq->family = ua.policy.sel.family ? ua.policy.sel.family : ua.sel.family;
	acq->saddr = ua.saddr;
	acq->daddr = ua.id.daddr;
	acq->proto = ua.id.proto;
	acq->sel = ua.sel;
	acq->policy_index = ua.policy.index;
	acq->policy_dir = ua.policy.dir;
	acq->policy_priority = ua.policy.priority;
	acq->seq = ua.seq;
	if (tb[XFRMA_TMPL]) {
		struct xfrm_user_tmpl t;
		size_t len = mnl_attr_get_payload_len(tb[XFRMA_TMPL]);

		if (len % sizeof(t))
			return -EBADMSG;
		memcpy(&t, mnl_attr_get_payload(tb[XFRMA_TMPL]), sizeof(t));
		acq->reqid = t.reqid;
		/* The outer family is the template's (tunnel mode may differ from the inner one). */
		if (xfrm_nl_family_ok(t.family))
			acq->family = t.family;
	}
	if (tb[XFRMA_MARK]) {
		acq->has_mark = true;
		memcpy(&acq->mark, mnl_attr_get_payload(tb[XFRMA_MARK]), sizeof(acq->mark));
	}
	if (tb[XFRMA_IF_ID]) {
		acq->has_if_id = true;
		acq->if_id = mnl_attr_get_u32(tb[XFRMA_IF_ID]);
	}
	return 0;
}

struct nlmsghdr *xfrm_nl_build_acquire(void *buf, const struct xfrm_nl_acquire *acq, __u32 seq)
{
	struct xfrm_user_acquire *p;
	struct xfrm_user_tmpl t;
	struct nlmsghdr *nlh;

	if (!xfrm_nl_family_ok(acq->family) || !xfrm_nl_family_ok(acq->sel.family))
		return NULL;
	nlh = xfrm_nl_hdr(buf, XFRM_MSG_ACQUIRE, 0, seq);
	p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	p->id.daddr = acq->daddr;
	p->id.proto = acq->proto;
	p->saddr = acq->saddr;
	p->sel = acq->sel;
	p->policy.sel.family = acq->sel.family;
	p->policy.index = acq->policy_index;
	p->policy.dir = acq->policy_dir;
	p->policy.priority = acq->policy_priority;
	p->aalgos = p->ealgos = p->calgos = ~0U;
	p->seq = acq->seq;
	memset(&t, 0, sizeof(t));
	t.id.daddr = acq->daddr;
	t.id.proto = acq->proto;
	t.family = acq->family;
	t.saddr = acq->saddr;
	t.reqid = acq->reqid;
	t.mode = XFRM_MODE_TUNNEL;
	t.aalgos = t.ealgos = t.calgos = ~0U;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(t), &t);
	if (acq->has_mark)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(acq->mark), &acq->mark);
	if (acq->has_if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, acq->if_id);
	return nlh;
}

int xfrm_nl_acquire_open(struct mnl_socket **out)
{
	struct mnl_socket *sock;
	int err;

	sock = mnl_socket_open2(NETLINK_XFRM, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!sock)
		return -errno;
	if (mnl_socket_bind(sock, 1u << (XFRMNLGRP_ACQUIRE - 1), MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(sock);
		return err;
	}
	*out = sock;
	return 0;
}

void xfrm_nl_acquire_close(struct mnl_socket *sock)
{
	if (sock)
		mnl_socket_close(sock);
}

int xfrm_nl_acquire_read(struct mnl_socket *sock, xfrm_nl_acquire_cb cb, void *arg)
{
	char buf[XFRM_NL_BUF_SIZE];

	for (;;) {
		const struct nlmsghdr *m;
		ssize_t n;
		int left;

		n = mnl_socket_recvfrom(sock, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		m = (const void *)buf;
		left = (int)n;
		for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
			struct xfrm_nl_acquire acq;

			/* Multicasts come from the kernel only (portid 0). */
			if (m->nlmsg_pid || m->nlmsg_type != XFRM_MSG_ACQUIRE)
				continue;
			if (xfrm_nl_parse_acquire(m, &acq)) {
				log_debug("xfrm_nl: malformed XFRM_MSG_ACQUIRE ignored");
				continue;
			}
			cb(&acq, arg);
		}
	}
}
