/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xfrm netlink (NETLINK_XFRM) over libmnl: add, update, delete, get and dump
 * kernel xfrm states (SAs) and policies. Shared by xipsec (static keying) and
 * xiked (negotiated SAs).
 *
 * One params struct per object (struct xfrm_nl_sa, struct xfrm_nl_policy),
 * built into a request by xfrm_nl_build_*() and parsed back from kernel
 * replies by xfrm_nl_parse_*(); both halves are usable without a socket so
 * tests can round-trip messages offline. Every function returns 0 or -errno;
 * when the kernel sent an extended ACK message it is kept in the handle
 * (xfrm_nl_errmsg()).
 *
 * Keys live in struct xfrm_nl_sa: callers clear them with xfrm_nl_sa_scrub()
 * once done. Nothing here logs key bytes; request buffers holding keys are
 * scrubbed before they go out of scope.
 */
#ifndef XIPSEC_XFRM_NL_H
#define XIPSEC_XFRM_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

/* Longest key any supported transform takes (hmac(sha512): 64 bytes). */
#define XFRM_NL_KEY_MAX 64
/* Algorithm names as the kernel's crypto API spells them ("rfc4106(gcm(aes))"). */
#define XFRM_NL_ALG_NAME_MAX 64
/* Templates per policy (tunnel mode ESP needs one). */
#define XFRM_NL_TMPL_MAX 4
/* Largest request we build: usersa_info + 3 algs + marks + encap + replay. */
#define XFRM_NL_BUF_SIZE 8192

struct xfrm_nl_alg {
	char name[XFRM_NL_ALG_NAME_MAX]; /* empty: not present */
	__u8 key[XFRM_NL_KEY_MAX];
	__u16 key_len; /* bytes */
	__u16 bits; /* AEAD: ICV bits; auth: truncation bits */
};

/*
 * One xfrm state. Kernel structs keep the kernel's byte order (addresses,
 * SPI, selector and encap ports in network order). @sel is the inner traffic selector of a tunnel-mode SA;
 * all-zero means "any" (family still set). Optional parts are flagged by
 * has_* so a zero value can be requested explicitly.
 */
struct xfrm_nl_sa {
	__u16 family; /* outer: AF_INET or AF_INET6 */
	xfrm_address_t saddr; /* outer source (our end for outbound) */
	xfrm_address_t daddr; /* outer destination */
	__be32 spi;
	__u8 proto; /* IPPROTO_ESP */
	__u8 mode; /* XFRM_MODE_TUNNEL */
	__u8 flags; /* XFRM_STATE_* (XFRM_STATE_ESN, AF_UNSPEC...) */
	__u32 reqid;
	__u32 replay_window; /* packets; > 32 or ESN use XFRMA_REPLAY_ESN_VAL */
	struct xfrm_selector sel;
	struct xfrm_lifetime_cfg lft; /* zero: xfrm_nl_sa_init() sets "infinite" */

	struct xfrm_nl_alg aead; /* rfc4106(gcm(aes)), rfc7539esp(chacha20,poly1305) */
	struct xfrm_nl_alg crypt; /* cbc(aes) */
	struct xfrm_nl_alg auth; /* hmac(sha256|sha384|sha512), truncated */

	bool has_mark;
	struct xfrm_mark mark;
	bool has_if_id;
	__u32 if_id;
	bool has_encap;
	struct xfrm_encap_tmpl encap; /* encap_type UDP_ENCAP_ESPINUDP */

	/*
	 * Sequence numbers and counters: filled by xfrm_nl_parse_sa(), sent
	 * back when set, so a state put back after a failed change (a copy
	 * read before) continues its sequence numbers instead of restarting
	 * at 1, which the peer would drop as replays. Of an ESN bitmap only the
	 * first 32 bits are kept.
	 */
	bool has_replay;
	__u32 oseq, seq, oseq_hi, seq_hi, replay_bitmap;
	bool has_curlft;
	struct xfrm_lifetime_cur curlft;
	struct xfrm_stats stats; /* filled by xfrm_nl_parse_sa() only */
};

/* The key of a state: what DELSA and GETSA take. */
struct xfrm_nl_sa_id {
	__u16 family;
	xfrm_address_t daddr;
	__be32 spi;
	__u8 proto;
	bool has_mark;
	struct xfrm_mark mark;
};

struct xfrm_nl_policy {
	struct xfrm_selector sel;
	__u8 dir; /* XFRM_POLICY_IN / OUT / FWD */
	__u8 action; /* XFRM_POLICY_ALLOW / BLOCK */
	__u32 priority; /* lower wins */
	__u32 index; /* 0: kernel chooses */
	struct xfrm_lifetime_cfg lft;
	bool has_mark;
	struct xfrm_mark mark;
	bool has_if_id;
	__u32 if_id;
	unsigned int ntmpl;
	struct xfrm_user_tmpl tmpl[XFRM_NL_TMPL_MAX];
};

/* The key of a policy: selector + direction (+ mark, if_id), as DELPOLICY takes it. */
struct xfrm_nl_policy_id {
	struct xfrm_selector sel;
	__u8 dir;
	bool has_mark;
	struct xfrm_mark mark;
	bool has_if_id;
	__u32 if_id;
};

/*
 * XFRM_MSG_ALLOCSPI: the kernel picks an SPI in [@min, @max] (host order,
 * inclusive) unused for @daddr/@proto and holds it with a larval state
 * (XFRM_STATE_ACQ, no keys) saddr -> daddr until either a state with that
 * SPI is written with UPDSA (which replaces it; NEWSA gets -EEXIST) or it
 * expires after net.core.xfrm_acq_expires seconds (30 by default), or it is
 * deleted like any state (xfrm_nl_sa_del).
 */
struct xfrm_nl_spi_req {
	__u16 family;
	xfrm_address_t saddr; /* the peer: source of the future inbound state */
	xfrm_address_t daddr; /* us */
	__u8 proto; /* IPPROTO_ESP */
	__u8 mode; /* XFRM_MODE_TUNNEL */
	__u32 reqid; /* 0: none */
	__u32 min, max;
	bool has_mark;
	struct xfrm_mark mark;
};

struct xfrm_nl;

/* Socket handle. NETLINK_EXT_ACK is requested so errors carry the kernel's reason. */
int xfrm_nl_open(struct xfrm_nl **out);
void xfrm_nl_close(struct xfrm_nl *nl);
/* Kernel's extended ACK text for the last failed request, or "" */
const char *xfrm_nl_errmsg(const struct xfrm_nl *nl);

/* Defaults: tunnel mode ESP, infinite lifetimes, replay window 32. */
void xfrm_nl_sa_init(struct xfrm_nl_sa *sa, __u16 family);
void xfrm_nl_policy_init(struct xfrm_nl_policy *pol, __u16 family, __u8 dir);
void xfrm_nl_sa_scrub(struct xfrm_nl_sa *sa);
void xfrm_nl_sa_to_id(const struct xfrm_nl_sa *sa, struct xfrm_nl_sa_id *id);
void xfrm_nl_policy_to_id(const struct xfrm_nl_policy *pol, struct xfrm_nl_policy_id *id);

/*
 * Checks a state for consistency before any message is built: exactly one of
 * aead or crypt+auth, key lengths the named algorithm takes, family set.
 * Returns 0 or -EINVAL and a static reason in *why.
 */
int xfrm_nl_sa_check(const struct xfrm_nl_sa *sa, const char **why);
int xfrm_nl_policy_check(const struct xfrm_nl_policy *pol, const char **why);

/*
 * Request builders: write one nlmsg into @buf (XFRM_NL_BUF_SIZE bytes) and
 * return it, or NULL when the object fails its check. @update selects
 * UPDSA/UPDPOLICY instead of NEW*. @seq goes into nlmsg_seq.
 */
struct nlmsghdr *xfrm_nl_build_sa_add(void *buf, const struct xfrm_nl_sa *sa, bool update,
				      __u32 seq);
struct nlmsghdr *xfrm_nl_build_sa_del(void *buf, const struct xfrm_nl_sa_id *id, __u32 seq);
struct nlmsghdr *xfrm_nl_build_sa_get(void *buf, const struct xfrm_nl_sa_id *id, __u32 seq);
struct nlmsghdr *xfrm_nl_build_sa_dump(void *buf, __u32 seq);
/* NULL when @req is inconsistent (family, min > max, min 0). */
struct nlmsghdr *xfrm_nl_build_alloc_spi(void *buf, const struct xfrm_nl_spi_req *req, __u32 seq);
struct nlmsghdr *xfrm_nl_build_policy_add(void *buf, const struct xfrm_nl_policy *pol, bool update,
					  __u32 seq);
struct nlmsghdr *xfrm_nl_build_policy_del(void *buf, const struct xfrm_nl_policy_id *id, __u32 seq);
struct nlmsghdr *xfrm_nl_build_policy_get(void *buf, const struct xfrm_nl_policy_id *id, __u32 seq);
struct nlmsghdr *xfrm_nl_build_policy_dump(void *buf, __u32 seq);

/*
 * Parsers for NEWSA / NEWPOLICY messages (kernel replies and dumps, or our own
 * requests in tests; UPD* types accepted too). Lengths are checked before
 * every read; returns -EBADMSG for a malformed message.
 */
int xfrm_nl_parse_sa(const struct nlmsghdr *nlh, struct xfrm_nl_sa *sa);
int xfrm_nl_parse_policy(const struct nlmsghdr *nlh, struct xfrm_nl_policy *pol);

/* Operations: build, send, wait for the ACK or reply. */
int xfrm_nl_sa_add(struct xfrm_nl *nl, const struct xfrm_nl_sa *sa, bool update);
int xfrm_nl_sa_del(struct xfrm_nl *nl, const struct xfrm_nl_sa_id *id);
/* -ENOENT when absent. @out holds keys: scrub it. */
int xfrm_nl_sa_get(struct xfrm_nl *nl, const struct xfrm_nl_sa_id *id, struct xfrm_nl_sa *out);
/* @cb sees each state (keys scrubbed right after it returns); non-zero stops the walk. */
typedef int (*xfrm_nl_sa_cb)(const struct xfrm_nl_sa *sa, void *arg);
int xfrm_nl_sa_list(struct xfrm_nl *nl, xfrm_nl_sa_cb cb, void *arg);
/* Allocates an SPI (see struct xfrm_nl_spi_req); *@spi in network order.
 * -ENOENT when the range is exhausted (the kernel then keeps an SPI-less
 * larval state until it expires). */
int xfrm_nl_alloc_spi(struct xfrm_nl *nl, const struct xfrm_nl_spi_req *req, __be32 *spi);

int xfrm_nl_policy_add(struct xfrm_nl *nl, const struct xfrm_nl_policy *pol, bool update);
int xfrm_nl_policy_del(struct xfrm_nl *nl, const struct xfrm_nl_policy_id *id);
int xfrm_nl_policy_get(struct xfrm_nl *nl, const struct xfrm_nl_policy_id *id,
		       struct xfrm_nl_policy *out);
typedef int (*xfrm_nl_policy_cb)(const struct xfrm_nl_policy *pol, void *arg);
int xfrm_nl_policy_list(struct xfrm_nl *nl, xfrm_nl_policy_cb cb, void *arg);

/*
 * XFRM_MSG_ACQUIRE: an outbound packet matched a policy whose template has
 * no state (a trap). The kernel multicasts it to XFRMNLGRP_ACQUIRE once per
 * larval (XFRM_STATE_ACQ) state, which then blocks further acquires for the
 * same template for net.core.xfrm_acq_expires seconds (30 by default).
 * @sel is the packet's exact flow: full-length prefixes, ports with masks
 * 0xffff (ICMP: type/code), proto. Addresses in network order.
 */
struct xfrm_nl_acquire {
	__u16 family; /* of the template (outer) */
	xfrm_address_t saddr, daddr; /* template: our end, the peer */
	__u8 proto; /* IPPROTO_ESP */
	__u32 reqid; /* of the first template, 0 if none was attached */
	struct xfrm_selector sel; /* the packet (sel.family: inner family) */
	__u32 policy_index;
	__u8 policy_dir;
	__u32 policy_priority;
	__u32 seq; /* the kernel's acquire sequence number */
	bool has_mark;
	struct xfrm_mark mark;
	bool has_if_id;
	__u32 if_id;
};

/* -EBADMSG unless @nlh is a well-formed XFRM_MSG_ACQUIRE. */
int xfrm_nl_parse_acquire(const struct nlmsghdr *nlh, struct xfrm_nl_acquire *acq);
/* The message the kernel would send (tests and fuzzing only); @seq goes
 * into nlmsg_seq, acq->seq into the payload. */
struct nlmsghdr *xfrm_nl_build_acquire(void *buf, const struct xfrm_nl_acquire *acq, __u32 seq);
/* A non-blocking NETLINK_XFRM socket joined to XFRMNLGRP_ACQUIRE; its fd
 * goes into poll(). Close with xfrm_nl_acquire_close(). */
struct mnl_socket;
int xfrm_nl_acquire_open(struct mnl_socket **out);
void xfrm_nl_acquire_close(struct mnl_socket *sock);
/* Reads what is queued, @cb for each parsed acquire (malformed messages and
 * other types are skipped); 0 when drained, -ENOBUFS if the kernel dropped
 * messages (socket overrun), other -errno. */
typedef void (*xfrm_nl_acquire_cb)(const struct xfrm_nl_acquire *acq, void *arg);
int xfrm_nl_acquire_read(struct mnl_socket *sock, xfrm_nl_acquire_cb cb, void *arg);

/* Known transforms: key length in bytes (incl. salt) and default ICV/trunc bits. */
struct xfrm_nl_alg_info {
	const char *name; /* kernel name */
	int type; /* XFRMA_ALG_AEAD, XFRMA_ALG_CRYPT, XFRMA_ALG_AUTH_TRUNC */
	__u16 key_len[3]; /* accepted lengths, 0-terminated */
	__u16 bits; /* ICV / truncation bits */
};
const struct xfrm_nl_alg_info *xfrm_nl_alg_lookup(const char *name);

#endif
