// SPDX-License-Identifier: GPL-2.0-only
/*
 * Child SAs into the kernel: xfrm states and tunnel-mode policies, and the
 * record of what xiked installed. See kernel.h for the ownership scheme.
 *
 * State file, one object per line:
 *
 *	sa  FAMILY DADDR SPI PROTO HASMARK MARK MASK REQID
 *	pol DIR SELECTOR HASMARK MARK MASK HASIFID IFID REQID
 *	dp  ID SPI  /  dpb NAME                  (dataplane record / bucket)
 *
 * DADDR is the 16-byte xfrm_address_t and SELECTOR the kernel's struct
 * xfrm_selector, both in hex (kernel ABI, so stable across xiked versions);
 * SPI is in host order; numbers are hex.
 *
 * It is a journal: a child's lines are appended when it is installed, the
 * same lines prefixed "- " when it is removed (each change one write(), so
 * O(1), not a rewrite of everything: with N children that was O(N) per
 * change). A line describes an object while it was added more often than
 * removed. When most lines are such pairs the file is rewritten with the
 * live lines only (to a new file renamed over it, so a crash never leaves
 * half a file); a crash in the middle of an append leaves at most a torn last
 * line, ignored as bad.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/udp.h>

#include "dp_ike.h"
#include "ike_sa.h"
#include "kernel.h"
#include "log.h"
#include "ts.h"

#define KERNEL_PFX_MAX	 8 /* prefixes per selector range */
#define KERNEL_PRIO_BASE 100000

/* A policy of a child in the kernel's table of ours (k->pol_hash). */
struct kernel_polref {
	struct kernel_polref *next;
	struct kernel_child *kc;
	size_t i; /* kc->pols[i] */
};

struct kernel_child {
	struct kernel_child *next, **pprev; /* k->children */
	struct kernel_child *hnext; /* k->child_hash, by SPIs */
	struct kernel_child *trap_next; /* k->traps */
	uint64_t seq; /* k->children order: higher is newer */
	uint32_t spi_in, spi_out; /* both 0 for a trap */
	char *trap_name; /* a trap's "conn/child": its child SAs take its reqid */
	struct sockaddr_storage local, remote;
	uint32_t reqid;
	struct xfrm_nl_sa_id sa_in, sa_out;
	bool sa_in_ok, sa_out_ok;
	struct xfrm_nl_policy *pols;
	bool *pol_ok; /* installed by us: then also in k->pol_hash */
	struct kernel_polref *prefs; /* npols, for k->pol_hash */
	size_t npols;
	/* xipsec dataplane (dp_ike.h): record ids (0: none), the rules of
	 * its PROTECT bucket (bucket 0 = this child's) */
	uint32_t dp_in, dp_out;
	struct spd_rule *dp_rules;
	size_t dp_nrules;
};

/* A record or bucket name in the dataplane written by this run or an earlier one. */
struct kernel_dp_obj {
	uint32_t id; /* record id, 0 for a bucket */
	uint32_t spi; /* record: SPI, host order */
	char name[24]; /* bucket name */
};

/* An SPI from XFRM_MSG_ALLOCSPI whose larval state no child SA replaced yet. */
struct kernel_larval {
	struct kernel_larval *next;
	struct xfrm_nl_sa_id id;
};

struct kernel {
	struct xfrm_nl *nl;
	char *state_path;
	/* the state file open for appends, its lines, and how many of them
	 * describe objects still installed (the rest add and remove) */
	int state_fd;
	size_t state_lines, state_live;
	/* newest first; child SAs also by SPIs, traps also in their own list */
	struct kernel_child *children;
	struct kernel_child **child_hash;
	size_t child_hash_size, nchildren;
	struct kernel_child *traps;
	uint64_t next_seq;
	/* every installed policy of ours by its key, for the holder of a
	 * shared one (a duplicate child SA, a trap a child SA took over) */
	struct kernel_polref **pol_hash;
	size_t pol_hash_size, npolrefs;
	/* reqids in the kernel's states and policies at the last dump */
	uint32_t *reqids_used;
	size_t nreqids_used;
	bool reqids_scanned;
	struct timespec reqids_time;
	struct kernel_larval *larval;
	uint32_t next_reqid;
	/* xipsec's pinned maps, when it is attached (kernel_dp_open) */
	bool have_dp;
	struct dp_maps dp;
	struct spd_maps spd;
	/* record ids our children hold (dp_in, dp_out) */
	uint64_t dp_ids[XIPSEC_MAX_SA / 64];
	/* records and buckets of an earlier run, removed by kernel_dp_open();
	 * bucket names this run wrote (so a rule-set rewrite finds them) */
	struct kernel_dp_obj *dp_stale;
	size_t ndp_stale;
	char (*dp_names)[24];
	size_t ndp_names, dp_names_cap;
};

/* ---- selectors ---- */

typedef unsigned __int128 kernel_u128;

static kernel_u128 kernel_load(const uint8_t *b, size_t alen)
{
	kernel_u128 v = 0;
	size_t i;

	for (i = 0; i < alen; i++)
		v = (v << 8) | b[i];
	return v;
}

static void kernel_store(kernel_u128 v, uint8_t *b, size_t alen)
{
	size_t i;

	memset(b, 0, 16);
	for (i = alen; i-- > 0;) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

int kernel_range_to_prefixes(const uint8_t *start, const uint8_t *end, size_t alen,
			     uint8_t (*addr)[16], uint8_t *plen, size_t max)
{
	unsigned int bits = (unsigned int)alen * 8;
	kernel_u128 s, e;
	size_t n = 0;

	if (alen != 4 && alen != 16)
		return -EINVAL;
	s = kernel_load(start, alen);
	e = kernel_load(end, alen);
	if (s > e)
		return -EINVAL;
	for (;;) {
		unsigned int k = 0; /* host bits of this block */

		/* The largest aligned block at s that ends at or before e. */
		while (k < bits) {
			kernel_u128 mask =
				k + 1 == 128 ? ~(kernel_u128)0 : ((kernel_u128)1 << (k + 1)) - 1;

			if ((s & mask) || e - s < mask)
				break;
			k++;
		}
		if (n == max)
			return -E2BIG;
		kernel_store(s, addr[n], alen);
		plen[n++] = (uint8_t)(bits - k);
		if (k == bits)
			break;
		s += (kernel_u128)1 << k;
		/* Past the end (or wrapped around the top of the space). */
		if (s == 0 || s - 1 == e)
			break;
	}
	return (int)n;
}

/* Ports of a selector: any, or one port. Ranges are not expressible as one
 * xfrm selector in general, so they are refused rather than widened. */
static int kernel_ts_ports(const struct ikev2_ts *ts, __be16 *port, __be16 *mask)
{
	if (ts->start_port == 0 && ts->end_port == 0xffff) {
		*port = 0;
		*mask = 0;
		return 0;
	}
	if (ts->start_port == ts->end_port) {
		*port = htons(ts->start_port);
		*mask = 0xffff;
		return 0;
	}
	return -EOPNOTSUPP;
}

static size_t kernel_ts_alen(const struct ikev2_ts *ts)
{
	return ts->type == IKEV2_TS_IPV6_ADDR_RANGE ? 16 : 4;
}

/* ---- configuration bits ---- */

static int kernel_mark(const struct conf_mark *child, const struct conf_mark *conn, bool *has,
		       struct xfrm_mark *m)
{
	const struct conf_mark *x = child->set ? child : conn;

	*has = false;
	if (!x->set)
		return 0;
	if (x->flags & (CONF_MARK_UNIQUE | CONF_MARK_UNIQUE_DIR))
		return -EOPNOTSUPP;
	*has = true;
	m->v = x->value;
	m->m = x->mask;
	return 0;
}

static void kernel_if_id(const struct conf_if_id *child, const struct conf_if_id *conn, bool *has,
			 __u32 *if_id)
{
	const struct conf_if_id *x = child->value ? child : conn;

	*has = x->value != 0;
	*if_id = x->value;
}

/* Network order, as struct xfrm_encap_tmpl keeps it. */
static __be16 kernel_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_port;
	return ((const struct sockaddr_in6 *)sa)->sin6_port;
}

static void kernel_addr(const struct sockaddr *sa, xfrm_address_t *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET)
		memcpy(&a->a4, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else
		memcpy(a->a6, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

/* ESP transforms as the kernel names them. */
static int kernel_algs(const struct engine_child *c, struct xfrm_nl_sa *sa, const uint8_t *ekey,
		       const uint8_t *akey)
{
	const char *aead = NULL, *crypt = NULL, *auth = NULL;
	__u16 auth_bits = 0;

	switch (c->encr) {
	case IKEV2_ENCR_AES_GCM_16:
		aead = "rfc4106(gcm(aes))";
		break;
	case IKEV2_ENCR_CHACHA20_POLY1305:
		aead = "rfc7539esp(chacha20,poly1305)";
		break;
	case IKEV2_ENCR_AES_CBC:
		crypt = "cbc(aes)";
		break;
	default:
		return -ENOTSUP;
	}
	if (crypt) {
		switch (c->integ) {
		case IKEV2_INTEG_HMAC_SHA2_256_128:
			auth = "hmac(sha256)";
			auth_bits = 128;
			break;
		case IKEV2_INTEG_HMAC_SHA2_384_192:
			auth = "hmac(sha384)";
			auth_bits = 192;
			break;
		case IKEV2_INTEG_HMAC_SHA2_512_256:
			auth = "hmac(sha512)";
			auth_bits = 256;
			break;
		default:
			return -ENOTSUP;
		}
	}
	if (c->encr_key_len > XFRM_NL_KEY_MAX || c->integ_key_len > XFRM_NL_KEY_MAX)
		return -EINVAL;
	if (aead) {
		snprintf(sa->aead.name, sizeof(sa->aead.name), "%s", aead);
		memcpy(sa->aead.key, ekey, c->encr_key_len);
		sa->aead.key_len = (__u16)c->encr_key_len;
		sa->aead.bits = 128;
	} else {
		if (!akey)
			return -EINVAL;
		snprintf(sa->crypt.name, sizeof(sa->crypt.name), "%s", crypt);
		memcpy(sa->crypt.key, ekey, c->encr_key_len);
		sa->crypt.key_len = (__u16)c->encr_key_len;
		snprintf(sa->auth.name, sizeof(sa->auth.name), "%s", auth);
		memcpy(sa->auth.key, akey, c->integ_key_len);
		sa->auth.key_len = (__u16)c->integ_key_len;
		sa->auth.bits = auth_bits;
	}
	return 0;
}

/* ---- the state file ---- */

/* Lines are built in memory and written with one write(): an append is then
 * a whole line or, after a crash in the middle of it, a torn last line that
 * the next run ignores as bad. */
struct kernel_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void kernel_buf_reserve(struct kernel_buf *b, size_t more)
{
	size_t cap;
	char *n;

	if (b->oom || b->len + more <= b->cap)
		return;
	cap = b->cap ? b->cap : 512;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->p, cap);
	if (!n) {
		b->oom = true;
		return;
	}
	b->p = n;
	b->cap = cap;
}

static void __attribute__((format(printf, 2, 3))) kernel_buf_printf(struct kernel_buf *b,
								    const char *fmt, ...)
{
	va_list ap;
	int n;

	kernel_buf_reserve(b, 128);
	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		/* the longest line piece is far below 128 bytes */
		b->oom = true;
		return;
	}
	b->len += (size_t)n;
}

static void kernel_buf_hex(struct kernel_buf *b, const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *x = p;
	size_t i;

	kernel_buf_reserve(b, 2 * len);
	if (b->oom)
		return;
	for (i = 0; i < len; i++) {
		b->p[b->len++] = digits[x[i] >> 4];
		b->p[b->len++] = digits[x[i] & 15];
	}
}

static int kernel_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int kernel_unhex(const char *s, void *p, size_t len)
{
	uint8_t *b = p;
	size_t i;

	if (strlen(s) != 2 * len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int hi = kernel_nibble(s[2 * i]), lo = kernel_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Split @line into at most @max words; hex numbers are parsed by kernel_num. */
static size_t kernel_words(char *line, char **w, size_t max)
{
	char *save = NULL, *t;
	size_t n = 0;

	for (t = strtok_r(line, " \t\r\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = t;
	return n;
}

static int kernel_num(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Each line of a record starts with @pfx: "" when it is written, "- " when
 * the object is gone (kernel_journal). */
static void kernel_write_sa(struct kernel_buf *b, const char *pfx, const struct xfrm_nl_sa_id *id,
			    uint32_t reqid)
{
	kernel_buf_printf(b, "%ssa %x ", pfx, id->family);
	kernel_buf_hex(b, &id->daddr, sizeof(id->daddr));
	kernel_buf_printf(b, " %x %x %d %x %x %x\n", ntohl(id->spi), id->proto, id->has_mark,
			  id->mark.v, id->mark.m, reqid);
}

/* dp ID SPI (a record of xipsec_sa) or dpb NAME (a bucket of the rule set) */
static void kernel_write_dp(struct kernel_buf *b, const char *pfx, const struct kernel_dp_obj *o)
{
	if (o->id)
		kernel_buf_printf(b, "%sdp %x %x\n", pfx, o->id, o->spi);
	else
		kernel_buf_printf(b, "%sdpb %s\n", pfx, o->name);
}

static void kernel_write_pol(struct kernel_buf *b, const char *pfx, const struct xfrm_nl_policy *p)
{
	kernel_buf_printf(b, "%spol %x ", pfx, p->dir);
	kernel_buf_hex(b, &p->sel, sizeof(p->sel));
	kernel_buf_printf(b, " %d %x %x %d %x %x\n", p->has_mark, p->mark.v, p->mark.m,
			  p->has_if_id, p->if_id, p->ntmpl ? p->tmpl[0].reqid : 0);
}

/* The lines of what @c has installed; returns how many. */
static size_t kernel_write_child(struct kernel_buf *b, const char *pfx,
				 const struct kernel_child *c)
{
	size_t i, n = 0;

	if (c->dp_out) {
		struct kernel_dp_obj o = { .id = c->dp_out, .spi = c->spi_out };

		kernel_write_dp(b, pfx, &o);
		o.id = 0;
		snprintf(o.name, sizeof(o.name), DP_IKE_BUCKET_PREFIX "%08x", c->spi_out);
		kernel_write_dp(b, pfx, &o);
		n += 2;
	}
	if (c->dp_in) {
		struct kernel_dp_obj o = { .id = c->dp_in, .spi = c->spi_in };

		kernel_write_dp(b, pfx, &o);
		n++;
	}
	if (c->sa_in_ok) {
		kernel_write_sa(b, pfx, &c->sa_in, c->reqid);
		n++;
	}
	if (c->sa_out_ok) {
		kernel_write_sa(b, pfx, &c->sa_out, c->reqid);
		n++;
	}
	for (i = 0; i < c->npols; i++)
		if (c->pol_ok[i]) {
			kernel_write_pol(b, pfx, &c->pols[i]);
			n++;
		}
	return n;
}

static int kernel_write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The whole record, written to a new file renamed over the old one (a crash
 * never leaves half a file), which then takes the appends: O(objects), so
 * only at start, when the dataplane is opened, and when the journal has
 * grown to twice what it describes (amortized O(1) per change).
 */
static int kernel_save(struct kernel *k)
{
	struct kernel_buf b = { 0 };
	const struct kernel_child *c;
	char tmp[4096 + 8];
	size_t i, lines = 0;
	int fd = -1, err;

	if (!k->state_path)
		return 0;
	for (i = 0; i < k->ndp_stale; i++)
		kernel_write_dp(&b, "", &k->dp_stale[i]);
	lines += k->ndp_stale;
	for (c = k->children; c; c = c->next)
		lines += kernel_write_child(&b, "", c);
	if (b.oom) {
		err = -ENOMEM;
		goto fail;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", k->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	err = kernel_write_all(fd, b.p, b.len);
	if (!err && rename(tmp, k->state_path))
		err = -errno;
	if (err)
		goto fail;
	if (k->state_fd >= 0)
		close(k->state_fd);
	k->state_fd = fd;
	k->state_lines = k->state_live = lines;
	free(b.p);
	return 0;
fail:
	log_warn("kernel: cannot write %s: %s (leftovers of this run would not be found)",
		 k->state_path, strerror(-err));
	if (fd >= 0)
		close(fd);
	free(b.p);
	return err;
}

/* More than this many lines per line that still describes an object: compact. */
#define KERNEL_JOURNAL_SLACK 2
#define KERNEL_JOURNAL_MIN   256

/*
 * Append @c's lines to the state file: what it installed (@gone false) or,
 * prefixed "- ", that these objects are gone (@gone true, with the fields
 * as they were when they were appended). @old, when not NULL, is a "- "
 * record built before a change, written in the same append.
 */
static void kernel_journal(struct kernel *k, struct kernel_buf *old, size_t nold,
			   const struct kernel_child *c, bool gone)
{
	struct kernel_buf nb = { 0 }, *b = old ? old : &nb;
	size_t n = 0;
	int err;

	if (!k->state_path)
		goto out;
	if (c)
		n = kernel_write_child(b, gone ? "- " : "", c);
	if (b->oom) {
		err = -ENOMEM;
		goto fail;
	}
	if (k->state_fd < 0) {
		/* an earlier write failed: try the whole file again */
		kernel_save(k);
		goto out;
	}
	err = kernel_write_all(k->state_fd, b->p, b->len);
	if (err)
		goto fail;
	k->state_lines += nold + n;
	if (!gone)
		k->state_live += n;
	else
		nold += n;
	k->state_live = k->state_live > nold ? k->state_live - nold : 0;
	if (k->state_lines > KERNEL_JOURNAL_MIN &&
	    k->state_lines > KERNEL_JOURNAL_SLACK * k->state_live)
		kernel_save(k);
	goto out;
fail:
	log_warn("kernel: cannot append to %s: %s (rewriting it)", k->state_path,
		 strerror(-err));
	if (k->state_fd >= 0)
		close(k->state_fd);
	k->state_fd = -1;
	kernel_save(k);
out:
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Remove one leftover line's object if it is still the one we installed. */
static void kernel_leftover(struct kernel *k, char *line)
{
	uint32_t v[10];
	char *w[12];
	size_t n, i;
	int err;

	n = kernel_words(line, w, 12);
	if (n == 9 && !strcmp(w[0], "sa")) {
		struct xfrm_nl_sa_id id;
		struct xfrm_nl_sa cur;

		/* sa FAMILY DADDR SPI PROTO HASMARK MARK MASK REQID: v[] = SPI..REQID */
		memset(&id, 0, sizeof(id));
		for (i = 0; i < 6; i++)
			if (kernel_num(w[i + 3], &v[i]))
				goto bad;
		if (kernel_num(w[1], &v[7]) || kernel_unhex(w[2], &id.daddr, sizeof(id.daddr)))
			goto bad;
		id.family = (__u16)v[7];
		id.spi = htonl(v[0]);
		id.proto = (__u8)v[1];
		id.has_mark = v[2] != 0;
		id.mark.v = v[3];
		id.mark.m = v[4];
		err = xfrm_nl_sa_get(k->nl, &id, &cur);
		if (err) {
			if (err != -ENOENT)
				log_warn("kernel: leftover SA 0x%08x: %s", v[0], strerror(-err));
			return;
		}
		xfrm_nl_sa_scrub(&cur);
		if (cur.reqid != v[5]) {
			log_info("kernel: SA 0x%08x now belongs to someone else (reqid %u), kept",
				 v[0], cur.reqid);
			return;
		}
		err = xfrm_nl_sa_del(k->nl, &id);
		if (err)
			log_warn("kernel: removing leftover SA 0x%08x: %s", v[0], strerror(-err));
		else
			log_info("kernel: removed leftover SA 0x%08x of an earlier run", v[0]);
		return;
	}
	if (n == 9 && !strcmp(w[0], "pol")) {
		struct xfrm_nl_policy_id id;
		struct xfrm_nl_policy cur;
		uint32_t cur_reqid;

		/* pol DIR SELECTOR HASMARK MARK MASK HASIFID IFID REQID */
		memset(&id, 0, sizeof(id));
		if (kernel_num(w[1], &v[0]) || kernel_unhex(w[2], &id.sel, sizeof(id.sel)))
			goto bad;
		for (i = 3; i < 9; i++)
			if (kernel_num(w[i], &v[i - 2]))
				goto bad;
		id.dir = (__u8)v[0];
		id.has_mark = v[1] != 0;
		id.mark.v = v[2];
		id.mark.m = v[3];
		id.has_if_id = v[4] != 0;
		id.if_id = v[5];
		err = xfrm_nl_policy_get(k->nl, &id, &cur);
		if (err) {
			if (err != -ENOENT)
				log_warn("kernel: leftover policy: %s", strerror(-err));
			return;
		}
		cur_reqid = cur.ntmpl ? cur.tmpl[0].reqid : 0;
		if (cur_reqid != v[6]) {
			log_info("kernel: policy now belongs to someone else (reqid %u), kept",
				 cur_reqid);
			return;
		}
		err = xfrm_nl_policy_del(k->nl, &id);
		if (err)
			log_warn("kernel: removing leftover policy: %s", strerror(-err));
		else
			log_info(
				"kernel: removed leftover policy (dir %u, reqid %u) of an earlier run",
				v[0], v[6]);
		return;
	}
bad:
	log_warn("kernel: bad line in %s ignored", k->state_path);
}

static void kernel_dp_stale_line(struct kernel *k, char *line)
{
	struct kernel_dp_obj o, *n;
	char *w[4];
	size_t nw;

	memset(&o, 0, sizeof(o));
	nw = kernel_words(line, w, 4);
	if (nw == 3 && !strcmp(w[0], "dp")) {
		if (kernel_num(w[1], &o.id) || kernel_num(w[2], &o.spi) || !o.id ||
		    o.id >= XIPSEC_MAX_SA)
			goto bad;
	} else if (nw == 2 && !strcmp(w[0], "dpb") && strlen(w[1]) < sizeof(o.name) &&
		   !strncmp(w[1], DP_IKE_BUCKET_PREFIX, sizeof(DP_IKE_BUCKET_PREFIX) - 1)) {
		memcpy(o.name, w[1], strlen(w[1]) + 1);
	} else {
		goto bad;
	}
	n = realloc(k->dp_stale, (k->ndp_stale + 1) * sizeof(*n));
	if (!n)
		return;
	k->dp_stale = n;
	k->dp_stale[k->ndp_stale++] = o;
	return;
bad:
	log_warn("kernel: bad dataplane line in %s ignored", k->state_path);
}

/* A line of the state file and how often it is added but not yet removed. */
struct kernel_jline {
	char *text;
	int live;
};

static uint64_t kernel_str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

/*
 * Replay the state file: a line adds its object, "- " + the same line
 * removes it again. Returns the lines still describing objects, in the
 * order of their first appearance (each once), via @out/@nout.
 */
static int kernel_journal_replay(FILE *f, struct kernel_jline **out, size_t *nout)
{
	struct kernel_jline *v = NULL;
	size_t n = 0, cap = 0, hsize = 0, i;
	size_t *hash = NULL; /* open addressing: index + 1 into v, 0 empty */
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	int err = 0;

	while ((len = getline(&line, &lcap, f)) > 0) {
		bool gone = !strncmp(line, "- ", 2);
		const char *text = gone ? line + 2 : line;
		uint64_t h;
		size_t slot;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (2 * (n + 1) > hsize) {
			size_t nh = hsize ? 2 * hsize : 64;
			size_t *t = calloc(nh, sizeof(*t));

			if (!t) {
				err = -ENOMEM;
				goto out;
			}
			for (i = 0; i < n; i++) {
				slot = kernel_str_hash(v[i].text) & (nh - 1);
				while (t[slot])
					slot = (slot + 1) & (nh - 1);
				t[slot] = i + 1;
			}
			free(hash);
			hash = t;
			hsize = nh;
		}
		h = kernel_str_hash(text);
		for (slot = h & (hsize - 1); hash[slot]; slot = (slot + 1) & (hsize - 1))
			if (!strcmp(v[hash[slot] - 1].text, text))
				break;
		if (hash[slot]) {
			struct kernel_jline *j = &v[hash[slot] - 1];

			if (gone)
				j->live -= j->live > 0;
			else
				j->live++;
			continue;
		}
		if (gone)
			continue; /* removal of something the file never had */
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 64;
			void *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = nc;
		}
		v[n].text = strdup(text);
		if (!v[n].text) {
			err = -ENOMEM;
			goto out;
		}
		v[n++].live = 1;
		hash[slot] = n;
	}
out:
	free(line);
	free(hash);
	if (err) {
		for (i = 0; i < n; i++)
			free(v[i].text);
		free(v);
		return err;
	}
	*out = v;
	*nout = n;
	return 0;
}

static void kernel_remove_leftovers(struct kernel *k)
{
	struct kernel_jline *v = NULL;
	size_t n = 0, i;
	int err;
	FILE *f;

	f = fopen(k->state_path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_warn("kernel: cannot read %s: %s", k->state_path, strerror(errno));
		return;
	}
	err = kernel_journal_replay(f, &v, &n);
	fclose(f);
	if (err) {
		log_warn("kernel: cannot read %s: %s", k->state_path, strerror(-err));
		return;
	}
	/* Policies first, so no packet meets a policy whose state is gone. */
	for (i = 0; i < n; i++)
		if (v[i].live > 0 && !strncmp(v[i].text, "pol ", 4))
			kernel_leftover(k, v[i].text);
	for (i = 0; i < n; i++)
		if (v[i].live > 0 && !strncmp(v[i].text, "sa ", 3))
			kernel_leftover(k, v[i].text);
	/* dataplane entries wait for kernel_dp_open(), which has the maps */
	for (i = 0; i < n; i++)
		if (v[i].live > 0 && !strncmp(v[i].text, "dp", 2))
			kernel_dp_stale_line(k, v[i].text);
	for (i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

int kernel_open(const char *state_dir, const char *sock_path, struct kernel **out)
{
	struct kernel *k;
	size_t i, len;
	char *p;
	int err;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->next_reqid = 1;
	k->state_fd = -1;
	err = xfrm_nl_open(&k->nl);
	if (err)
		goto fail;
	if (state_dir) {
		if (mkdir(state_dir, 0700) && errno != EEXIST) {
			err = -errno;
			log_err("kernel: cannot create %s: %s", state_dir, strerror(errno));
			goto fail;
		}
		len = strlen(state_dir) + 1 + strlen(sock_path) + sizeof(".state");
		if (len > 4096) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		k->state_path = malloc(len);
		if (!k->state_path) {
			err = -ENOMEM;
			goto fail;
		}
		snprintf(k->state_path, len, "%s/", state_dir);
		p = k->state_path + strlen(k->state_path);
		for (i = 0; sock_path[i]; i++)
			*p++ = sock_path[i] == '/' ? '_' : sock_path[i];
		memcpy(p, ".state", sizeof(".state"));
		kernel_remove_leftovers(k);
		err = kernel_save(k);
		if (err)
			goto fail;
	}
	*out = k;
	return 0;
fail:
	if (k->nl)
		xfrm_nl_close(k->nl);
	free(k->state_path);
	free(k);
	return err;
}

/* ---- install / remove ---- */

static bool kernel_sel_eq(const struct xfrm_selector *a, const struct xfrm_selector *b)
{
	return !memcmp(a->daddr.a6, b->daddr.a6, sizeof(a->daddr.a6)) &&
	       !memcmp(a->saddr.a6, b->saddr.a6, sizeof(a->saddr.a6)) && a->dport == b->dport &&
	       a->dport_mask == b->dport_mask && a->sport == b->sport &&
	       a->sport_mask == b->sport_mask && a->family == b->family &&
	       a->prefixlen_d == b->prefixlen_d && a->prefixlen_s == b->prefixlen_s &&
	       a->proto == b->proto && a->ifindex == b->ifindex && a->user == b->user;
}

static bool kernel_pol_id_eq(const struct xfrm_nl_policy *a, const struct xfrm_nl_policy *b)
{
	return a->dir == b->dir && kernel_sel_eq(&a->sel, &b->sel) && a->has_mark == b->has_mark &&
	       (!a->has_mark || (a->mark.v == b->mark.v && a->mark.m == b->mark.m)) &&
	       a->has_if_id == b->has_if_id && (!a->has_if_id || a->if_id == b->if_id);
}

/* ---- children by SPIs, policies by key ---- */

static size_t kernel_child_slot(const struct kernel *k, uint32_t spi_in, uint32_t spi_out)
{
	uint64_t h = ((uint64_t)spi_in << 32 | spi_out) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (k->child_hash_size - 1);
}

static int kernel_child_hash_grow(struct kernel *k)
{
	struct kernel_child **old = k->child_hash, *c, *next;
	size_t oldsize = k->child_hash_size, i, slot;

	k->child_hash_size = oldsize ? 2 * oldsize : 64;
	k->child_hash = calloc(k->child_hash_size, sizeof(*k->child_hash));
	if (!k->child_hash) {
		k->child_hash = old;
		k->child_hash_size = oldsize;
		return -ENOMEM;
	}
	for (i = 0; i < oldsize; i++)
		for (c = old[i]; c; c = next) {
			next = c->hnext;
			slot = kernel_child_slot(k, c->spi_in, c->spi_out);
			c->hnext = k->child_hash[slot];
			k->child_hash[slot] = c;
		}
	free(old);
	return 0;
}

/* Into k->children (newest first), the SPI table and, a trap, k->traps. */
static int kernel_child_link(struct kernel *k, struct kernel_child *kc)
{
	size_t slot;

	if (k->nchildren >= k->child_hash_size && kernel_child_hash_grow(k))
		return -ENOMEM;
	kc->seq = ++k->next_seq;
	kc->next = k->children;
	if (kc->next)
		kc->next->pprev = &kc->next;
	kc->pprev = &k->children;
	k->children = kc;
	slot = kernel_child_slot(k, kc->spi_in, kc->spi_out);
	kc->hnext = k->child_hash[slot];
	k->child_hash[slot] = kc;
	k->nchildren++;
	if (kc->trap_name) {
		kc->trap_next = k->traps;
		k->traps = kc;
	}
	return 0;
}

static void kernel_child_unlink(struct kernel *k, struct kernel_child *kc)
{
	struct kernel_child **pp;

	*kc->pprev = kc->next;
	if (kc->next)
		kc->next->pprev = kc->pprev;
	kc->next = NULL;
	kc->pprev = &kc->next;
	for (pp = &k->child_hash[kernel_child_slot(k, kc->spi_in, kc->spi_out)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == kc) {
			*pp = kc->hnext;
			k->nchildren--;
			break;
		}
	for (pp = &k->traps; kc->trap_name && *pp; pp = &(*pp)->trap_next)
		if (*pp == kc) {
			*pp = kc->trap_next;
			break;
		}
}

/* The newest child with these SPIs and @addr as its local (or remote) address. */
static struct kernel_child *kernel_child_find(const struct kernel *k, uint32_t spi_in,
					      uint32_t spi_out, const struct sockaddr *addr,
					      bool remote)
{
	struct kernel_child *c, *best = NULL;

	if (!k->child_hash_size)
		return NULL;
	for (c = k->child_hash[kernel_child_slot(k, spi_in, spi_out)]; c; c = c->hnext)
		if (c->spi_in == spi_in && c->spi_out == spi_out &&
		    ike_addr_equal((const struct sockaddr *)(remote ? &c->remote : &c->local),
				   addr) &&
		    (!best || c->seq > best->seq))
			best = c;
	return best;
}

/* FNV-1a over what kernel_pol_id_eq() compares of the selector (not padding). */
static size_t kernel_pol_slot(const struct kernel *k, const struct xfrm_nl_policy *p)
{
	const struct xfrm_selector *s = &p->sel;
	uint64_t h = 0xcbf29ce484222325ULL;
	uint8_t b[48];
	size_t i;

	memcpy(b, s->daddr.a6, 16);
	memcpy(b + 16, s->saddr.a6, 16);
	memcpy(b + 32, &s->dport, 2);
	memcpy(b + 34, &s->sport, 2);
	memcpy(b + 36, &s->family, 2);
	b[38] = s->prefixlen_d;
	b[39] = s->prefixlen_s;
	b[40] = s->proto;
	b[41] = p->dir;
	memcpy(b + 42, &s->dport_mask, 2);
	memcpy(b + 44, &s->sport_mask, 2);
	b[46] = b[47] = 0;
	for (i = 0; i < sizeof(b); i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32)) & (k->pol_hash_size - 1);
}

static int kernel_pol_hash_grow(struct kernel *k)
{
	struct kernel_polref **old = k->pol_hash, *r, *next;
	size_t oldsize = k->pol_hash_size, i, slot;

	k->pol_hash_size = oldsize ? 2 * oldsize : 64;
	k->pol_hash = calloc(k->pol_hash_size, sizeof(*k->pol_hash));
	if (!k->pol_hash) {
		k->pol_hash = old;
		k->pol_hash_size = oldsize;
		return -ENOMEM;
	}
	for (i = 0; i < oldsize; i++)
		for (r = old[i]; r; r = next) {
			next = r->next;
			slot = kernel_pol_slot(k, &r->kc->pols[r->i]);
			r->next = k->pol_hash[slot];
			k->pol_hash[slot] = r;
		}
	free(old);
	return 0;
}

/* Room for @kc's policies, before any is installed (then claiming cannot fail). */
static int kernel_pol_reserve(struct kernel *k, struct kernel_child *kc)
{
	/* at least one: calloc(0) may return NULL, which is no lack of memory */
	kc->prefs = calloc(kc->npols ? kc->npols : 1, sizeof(*kc->prefs));
	if (!kc->prefs)
		return -ENOMEM;
	while (k->npolrefs + kc->npols > k->pol_hash_size)
		if (kernel_pol_hash_grow(k))
			return -ENOMEM;
	return 0;
}

/* kc->pols[i] is installed and ours (room reserved by kernel_pol_reserve). */
static void kernel_pol_claim(struct kernel *k, struct kernel_child *kc, size_t i)
{
	struct kernel_polref *r = &kc->prefs[i];
	size_t slot;

	kc->pol_ok[i] = true;
	r->kc = kc;
	r->i = i;
	slot = kernel_pol_slot(k, &kc->pols[i]);
	r->next = k->pol_hash[slot];
	k->pol_hash[slot] = r;
	k->npolrefs++;
}

static void kernel_pol_unclaim(struct kernel *k, struct kernel_child *kc, size_t i)
{
	struct kernel_polref **pp;

	if (!kc->pol_ok[i])
		return;
	kc->pol_ok[i] = false;
	for (pp = &k->pol_hash[kernel_pol_slot(k, &kc->pols[i])]; *pp; pp = &(*pp)->next)
		if (*pp == &kc->prefs[i]) {
			*pp = kc->prefs[i].next;
			k->npolrefs--;
			return;
		}
}

/* The newest other child of ours holding an installed policy with @p's key. */
static const struct xfrm_nl_policy *kernel_pol_holder(const struct kernel *k,
						      const struct kernel_child *except,
						      const struct xfrm_nl_policy *p)
{
	const struct kernel_polref *r, *best = NULL;

	if (!k->pol_hash_size)
		return NULL;
	for (r = k->pol_hash[kernel_pol_slot(k, p)]; r; r = r->next)
		if (r->kc != except && kernel_pol_id_eq(&r->kc->pols[r->i], p) &&
		    (!best || r->kc->seq > best->kc->seq))
			best = r;
	return best ? &best->kc->pols[best->i] : NULL;
}

/*
 * Reqids are dumped from the kernel at most this often, not for every
 * child: a dump costs O(states + policies), most of them ours, which made
 * a burst of N children O(N^2). Ours since the dump are all below
 * k->next_reqid, so only someone else's reqid added in the meantime could
 * be taken twice, the same race a dump has with an add right after it.
 */
#define KERNEL_REQID_SCAN_MS 1000

struct kernel_reqid_scan {
	uint32_t *v;
	size_t n, cap;
	int err;
};

static void kernel_reqid_note(struct kernel_reqid_scan *s, uint32_t reqid)
{
	if (!reqid || s->err)
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint32_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->err = -ENOMEM;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = reqid;
}

static int kernel_scan_sa(const struct xfrm_nl_sa *sa, void *arg)
{
	kernel_reqid_note(arg, sa->reqid);
	return 0;
}

static int kernel_scan_pol(const struct xfrm_nl_policy *p, void *arg)
{
	unsigned int i;

	for (i = 0; i < p->ntmpl; i++)
		kernel_reqid_note(arg, p->tmpl[i].reqid);
	return 0;
}

static int kernel_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t kernel_ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* k->reqids_used := the reqids of all states and policies, sorted. */
static int kernel_reqid_rescan(struct kernel *k)
{
	struct kernel_reqid_scan s = { 0 };
	int err;

	err = xfrm_nl_sa_list(k->nl, kernel_scan_sa, &s);
	if (err >= 0)
		err = xfrm_nl_policy_list(k->nl, kernel_scan_pol, &s);
	if (err >= 0)
		err = s.err;
	if (err < 0) {
		free(s.v);
		return err;
	}
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), kernel_u32_cmp);
	free(k->reqids_used);
	k->reqids_used = s.v;
	k->nreqids_used = s.n;
	clock_gettime(CLOCK_MONOTONIC, &k->reqids_time);
	k->reqids_scanned = true;
	return 0;
}

/* A reqid no state or policy in the kernel uses (ours included). */
static int kernel_alloc_reqid(struct kernel *k, uint32_t *out)
{
	unsigned int tries;
	int err;

	if (!k->reqids_scanned || kernel_ms_since(&k->reqids_time) >= KERNEL_REQID_SCAN_MS) {
		err = kernel_reqid_rescan(k);
		if (err)
			return err;
	}
	for (tries = 0; tries < 1000; tries++) {
		uint32_t r = k->next_reqid++;

		if (r && (!k->nreqids_used || !bsearch(&r, k->reqids_used, k->nreqids_used,
						       sizeof(r), kernel_u32_cmp))) {
			*out = r;
			return 0;
		}
	}
	return -ENOSPC;
}

static void kernel_sel_set(struct xfrm_selector *sel, const uint8_t *saddr, uint8_t splen,
			   const uint8_t *daddr, uint8_t dplen, size_t alen)
{
	memcpy(&sel->saddr, saddr, alen);
	memcpy(&sel->daddr, daddr, alen);
	sel->prefixlen_s = splen;
	sel->prefixlen_d = dplen;
}

static void kernel_tmpl(struct xfrm_nl_policy *p, const struct sockaddr *src,
			const struct sockaddr *dst, uint32_t reqid)
{
	struct xfrm_user_tmpl *t = &p->tmpl[0];

	memset(t, 0, sizeof(*t));
	kernel_addr(dst, &t->id.daddr);
	kernel_addr(src, &t->saddr);
	t->id.proto = IPPROTO_ESP;
	t->family = src->sa_family;
	t->reqid = reqid;
	t->mode = XFRM_MODE_TUNNEL;
	t->aalgos = t->ealgos = t->calgos = ~0U;
	p->ntmpl = 1;
}

/* Out, in and fwd policies for every prefix pair of the negotiated selectors. */
static int kernel_build_policies(struct kernel_child *kc, const struct engine_child *c,
				 const struct xfrm_mark *mark_in, bool has_mark_in,
				 const struct xfrm_mark *mark_out, bool has_mark_out,
				 bool has_if_in, __u32 if_in, bool has_if_out, __u32 if_out)
{
	uint8_t la[KERNEL_PFX_MAX][16], ra[KERNEL_PFX_MAX][16], lp[KERNEL_PFX_MAX],
		rp[KERNEL_PFX_MAX];
	unsigned int i, j;
	size_t cap = 0;
	int nl, nr, x, y, err;

	for (i = 0; i < c->ts_local->n; i++) {
		const struct ikev2_ts *lt = &c->ts_local->ts[i];

		for (j = 0; j < c->ts_remote->n; j++) {
			const struct ikev2_ts *rt = &c->ts_remote->ts[j];
			size_t alen = kernel_ts_alen(lt);
			__be16 lport, lmask, rport, rmask;
			__u8 proto;
			__u16 family;

			if (lt->type != rt->type)
				continue;
			/* Protocol "any" on one side narrows to the other's. */
			if (lt->ipproto && rt->ipproto && lt->ipproto != rt->ipproto)
				continue;
			proto = lt->ipproto ? lt->ipproto : rt->ipproto;
			family = alen == 16 ? AF_INET6 : AF_INET;
			err = kernel_ts_ports(lt, &lport, &lmask);
			if (!err)
				err = kernel_ts_ports(rt, &rport, &rmask);
			if (err)
				return err;
			nl = kernel_range_to_prefixes(lt->start_addr, lt->end_addr, alen, la, lp,
						      KERNEL_PFX_MAX);
			nr = kernel_range_to_prefixes(rt->start_addr, rt->end_addr, alen, ra, rp,
						      KERNEL_PFX_MAX);
			if (nl < 0 || nr < 0)
				return nl < 0 ? nl : nr;
			for (x = 0; x < nl; x++) {
				for (y = 0; y < nr; y++) {
					struct xfrm_nl_policy *p;
					uint32_t prio = KERNEL_PRIO_BASE - 256 * (lp[x] + rp[y]) -
							(proto ? 2 : 0) - (lmask ? 1 : 0) -
							(rmask ? 1 : 0);
					int d;

					if (kc->npols + 3 > cap) {
						size_t ncap = cap ? 2 * cap : 6;
						void *np =
							realloc(kc->pols, ncap * sizeof(*kc->pols));

						if (!np)
							return -ENOMEM;
						kc->pols = np;
						np = realloc(kc->pol_ok,
							     ncap * sizeof(*kc->pol_ok));
						if (!np)
							return -ENOMEM;
						kc->pol_ok = np;
						cap = ncap;
					}
					for (d = 0; d < 3; d++) {
						static const __u8 dirs[3] = { XFRM_POLICY_OUT,
									      XFRM_POLICY_IN,
									      XFRM_POLICY_FWD };
						bool out = dirs[d] == XFRM_POLICY_OUT;

						p = &kc->pols[kc->npols];
						kc->pol_ok[kc->npols++] = false;
						xfrm_nl_policy_init(p, family, dirs[d]);
						p->priority = prio;
						p->sel.proto = proto;
						if (out) {
							kernel_sel_set(&p->sel, la[x], lp[x], ra[y],
								       rp[y], alen);
							p->sel.sport = lport;
							p->sel.sport_mask = lmask;
							p->sel.dport = rport;
							p->sel.dport_mask = rmask;
							kernel_tmpl(p, c->local, c->remote,
								    kc->reqid);
						} else {
							kernel_sel_set(&p->sel, ra[y], rp[y], la[x],
								       lp[x], alen);
							p->sel.sport = rport;
							p->sel.sport_mask = rmask;
							p->sel.dport = lport;
							p->sel.dport_mask = lmask;
							kernel_tmpl(p, c->remote, c->local,
								    kc->reqid);
						}
						p->has_mark = out ? has_mark_out : has_mark_in;
						if (p->has_mark)
							p->mark = out ? *mark_out : *mark_in;
						p->has_if_id = out ? has_if_out : has_if_in;
						p->if_id = out ? if_out : if_in;
					}
				}
			}
		}
	}
	return kc->npols ? 0 : -ENOENT;
}

static void kernel_child_undo(struct kernel *k, struct kernel_child *kc)
{
	size_t i;
	int err;

	for (i = 0; i < kc->npols; i++) {
		const struct xfrm_nl_policy *other;
		struct xfrm_nl_policy_id id;

		if (!kc->pol_ok[i])
			continue;
		kernel_pol_unclaim(k, kc, i);
		other = kernel_pol_holder(k, kc, &kc->pols[i]);
		if (other) {
			/* Shared with another child SA of ours: hand it over. */
			err = xfrm_nl_policy_add(k->nl, other, true);
			if (err)
				log_warn("kernel: policy handover to reqid %u: %s",
					 other->tmpl[0].reqid, strerror(-err));
			continue;
		}
		xfrm_nl_policy_to_id(&kc->pols[i], &id);
		err = xfrm_nl_policy_del(k->nl, &id);
		if (err && err != -ENOENT)
			log_warn("kernel: delete policy (reqid %u): %s", kc->reqid, strerror(-err));
	}
	if (kc->sa_in_ok) {
		err = xfrm_nl_sa_del(k->nl, &kc->sa_in);
		if (err && err != -ENOENT)
			log_warn("kernel: delete SA 0x%08x: %s", kc->spi_in, strerror(-err));
		kc->sa_in_ok = false;
	}
	if (kc->sa_out_ok) {
		err = xfrm_nl_sa_del(k->nl, &kc->sa_out);
		if (err && err != -ENOENT)
			log_warn("kernel: delete SA 0x%08x: %s", kc->spi_out, strerror(-err));
		kc->sa_out_ok = false;
	}
}

static void kernel_child_free(struct kernel_child *kc)
{
	free(kc->trap_name);
	free(kc->dp_rules);
	free(kc->pols);
	free(kc->pol_ok);
	free(kc->prefs);
	free(kc);
}

static struct kernel_larval **kernel_larval_find(struct kernel *k, const struct xfrm_nl_sa_id *id)
{
	struct kernel_larval **pp;

	for (pp = &k->larval; *pp; pp = &(*pp)->next)
		if ((*pp)->id.spi == id->spi && (*pp)->id.family == id->family &&
		    !memcmp(&(*pp)->id.daddr, &id->daddr, sizeof(id->daddr)))
			return pp;
	return NULL;
}

/* An inbound SPI from ALLOCSPI replaces its larval state (UPDSA: NEWSA
 * would be refused with EEXIST); one that expired meanwhile is free again. */
static int kernel_add_sa_spi(struct kernel *k, const struct xfrm_nl_sa *sa, bool in)
{
	struct kernel_larval **pp, *l;
	struct xfrm_nl_sa_id id;
	int err;

	xfrm_nl_sa_to_id(sa, &id);
	pp = in ? kernel_larval_find(k, &id) : NULL;
	if (!pp)
		return xfrm_nl_sa_add(k->nl, sa, false);
	err = xfrm_nl_sa_add(k->nl, sa, true);
	if (err == -ESRCH || err == -ENOENT)
		err = xfrm_nl_sa_add(k->nl, sa, false);
	if (!err) {
		l = *pp;
		*pp = l->next;
		free(l);
	}
	return err;
}

static void kernel_encap(struct xfrm_nl_sa *sa, const struct sockaddr *src,
			 const struct sockaddr *dst)
{
	sa->has_encap = true;
	memset(&sa->encap, 0, sizeof(sa->encap));
	sa->encap.encap_type = UDP_ENCAP_ESPINUDP;
	sa->encap.encap_sport = kernel_port(src);
	sa->encap.encap_dport = kernel_port(dst);
}

static int kernel_add_sa(struct kernel *k, const struct engine_child *c, bool in,
			 struct kernel_child *kc)
{
	const struct conf_child *cfg = c->cfg;
	const struct conf_conn *conn = c->conn;
	struct xfrm_nl_sa sa;
	int err;

	xfrm_nl_sa_init(&sa, c->local->sa_family);
	/* No selector on the state and no fixed inner family: a child may
	 * carry IPv4 and IPv6 selectors over either outer family, and the
	 * kernel then takes the inner family from each packet (the policies
	 * do the selecting). */
	memset(&sa.sel, 0, sizeof(sa.sel));
	sa.flags |= XFRM_STATE_AF_UNSPEC;
	/* Safety net only: the engine rekeys before and deletes at life_time. */
	if (c->life_time)
		sa.lft.hard_add_expires_seconds = c->life_time;
	kernel_addr(in ? c->remote : c->local, &sa.saddr);
	kernel_addr(in ? c->local : c->remote, &sa.daddr);
	sa.spi = htonl(in ? c->spi_in : c->spi_out);
	sa.reqid = kc->reqid;
	sa.replay_window = in ? cfg->replay_window : 0;
	if (c->esn)
		sa.flags |= XFRM_STATE_ESN;
	err = kernel_mark(in ? &cfg->mark_in : &cfg->mark_out,
			  in ? &conn->mark_in : &conn->mark_out, &sa.has_mark, &sa.mark);
	if (err)
		return err;
	kernel_if_id(in ? &cfg->if_id_in : &cfg->if_id_out, in ? &conn->if_id_in : &conn->if_id_out,
		     &sa.has_if_id, &sa.if_id);
	if (c->encap)
		kernel_encap(&sa, in ? c->remote : c->local, in ? c->local : c->remote);
	err = kernel_algs(c, &sa, in ? c->encr_key_in : c->encr_key_out,
			  in ? c->integ_key_in : c->integ_key_out);
	if (!err)
		err = kernel_add_sa_spi(k, &sa, in);
	xfrm_nl_sa_scrub(&sa);
	if (err) {
		log_err("kernel: add %s SA 0x%08x: %s%s%s", in ? "inbound" : "outbound",
			ntohl(sa.spi), strerror(-err), *xfrm_nl_errmsg(k->nl) ? ": " : "",
			xfrm_nl_errmsg(k->nl));
		return err;
	}
	xfrm_nl_sa_to_id(&sa, in ? &kc->sa_in : &kc->sa_out);
	if (in)
		kc->sa_in_ok = true;
	else
		kc->sa_out_ok = true;
	return 0;
}

/* ---- the xipsec dataplane (dp_ike.h) ---- */

static bool kernel_dp_owned(const struct spd_bucket *b, void *arg)
{
	const struct kernel *k = arg;
	size_t i;

	if (!dp_ike_bucket(b))
		return false;
	for (i = 0; i < k->ndp_names; i++)
		if (!strncmp(k->dp_names[i], b->name, sizeof(b->name)))
			return true;
	for (i = 0; i < k->ndp_stale; i++)
		if (!k->dp_stale[i].id && !strncmp(k->dp_stale[i].name, b->name, sizeof(b->name)))
			return true;
	return false;
}

static int kernel_dp_name_add(struct kernel *k, const char *name)
{
	if (k->ndp_names == k->dp_names_cap) {
		size_t cap = k->dp_names_cap ? 2 * k->dp_names_cap : 16;
		void *n = realloc(k->dp_names, cap * sizeof(*k->dp_names));

		if (!n)
			return -ENOMEM;
		k->dp_names = n;
		k->dp_names_cap = cap;
	}
	snprintf(k->dp_names[k->ndp_names++], sizeof(k->dp_names[0]), "%s", name);
	return 0;
}

/*
 * Our part of the rule set := one PROTECT bucket per child with its rules.
 * Buckets this run wrote before (dp_names) and stale ones of an earlier run
 * are replaced; everything else (`xipsec load`'s, another xiked's) stays.
 */
static int kernel_dp_sync(struct kernel *k)
{
	struct spd_set mine;
	struct spd_error e;
	const struct kernel_child *c;
	size_t nr = 0, nb = 0;
	int err = -ENOMEM;

	memset(&mine, 0, sizeof(mine));
	for (c = k->children; c; c = c->next)
		if (c->dp_out) {
			nr += c->dp_nrules;
			nb++;
		}
	mine.rules = calloc(nr + 1, sizeof(*mine.rules));
	mine.buckets = calloc(nb + 1, sizeof(*mine.buckets));
	if (!mine.rules || !mine.buckets)
		goto out;
	for (c = k->children; c; c = c->next) {
		struct spd_bucket *b;
		size_t i;

		if (!c->dp_out)
			continue;
		b = &mine.buckets[mine.nbuckets];
		b->action = SPD_ACT_PROTECT;
		b->sa_id = c->dp_out;
		snprintf(b->name, sizeof(b->name), DP_IKE_BUCKET_PREFIX "%08x", c->spi_out);
		for (i = 0; i < c->dp_nrules; i++) {
			mine.rules[mine.nrules] = c->dp_rules[i];
			mine.rules[mine.nrules++].bucket = (uint32_t)mine.nbuckets;
		}
		mine.nbuckets++;
	}
	memset(&e, 0, sizeof(e));
	err = dp_spd_replace(&k->spd, kernel_dp_owned, k, &mine, false, &e);
	if (err) {
		log_err("kernel: dataplane rule set: %s", e.msg[0] ? e.msg : strerror(-err));
		goto out;
	}
	/* now exactly the current children's buckets are ours */
	k->ndp_names = 0;
	for (err = 0, nb = 0; !err && nb < mine.nbuckets; nb++)
		err = kernel_dp_name_add(k, mine.buckets[nb].name);
out:
	spd_set_free(&mine);
	return err;
}

static bool kernel_dp_id_used(uint32_t id, void *arg)
{
	const struct kernel *k = arg;

	return id < XIPSEC_MAX_SA && (k->dp_ids[id / 64] >> (id % 64) & 1);
}

static void kernel_dp_id_take(struct kernel *k, uint32_t id)
{
	if (id && id < XIPSEC_MAX_SA)
		k->dp_ids[id / 64] |= 1ULL << (id % 64);
}

/* *@id (a record id of a child, or 0) is no longer the child's. */
static void kernel_dp_id_put(struct kernel *k, uint32_t *id)
{
	if (*id && *id < XIPSEC_MAX_SA)
		k->dp_ids[*id / 64] &= ~(1ULL << (*id % 64));
	*id = 0;
}

/* Clear record @id if it still holds @spi (host order): ours, not a reuse. */
static void kernel_dp_rec_del(struct kernel *k, uint32_t id, uint32_t spi)
{
	struct xipsec_sa rec;
	int err;

	if (!id || dp_sa_get(&k->dp, id, &rec) || !rec.flags || rec.spi != htonl(spi))
		return;
	err = dp_sa_del(&k->dp, id);
	if (err)
		log_warn("kernel: clear %s[%u]: %s", XIPSEC_MAP_SA, id, strerror(-err));
}

static void kernel_dp_addr(const uint8_t *a, __be32 out[4])
{
	memcpy(out, a, 16);
}

/*
 * The dataplane side of child @kc: an outbound record (mark id << 16) that a
 * PROTECT bucket names, with one rule per prefix pair of the negotiated
 * selectors (local -> remote), and an inbound record with the selectors the
 * decrypted packets must match (at most XIPSEC_SA_MAX_SEL pairs, else any).
 * Failures are logged: the kernel's own policies still carry the traffic.
 */
static void kernel_dp_add(struct kernel *k, struct kernel_child *kc, const struct engine_child *c)
{
	uint8_t la[KERNEL_PFX_MAX][16], ra[KERNEL_PFX_MAX][16], lp[KERNEL_PFX_MAX],
		rp[KERNEL_PFX_MAX];
	struct xipsec_sa out, in;
	unsigned int i, j;
	size_t cap = 0;
	int nl, nr, x, y, err;

	memset(&out, 0, sizeof(out));
	memset(&in, 0, sizeof(in));
	in.flags = XIPSEC_SA_F_INBOUND | XIPSEC_SA_F_INSTALLED;
	in.spi = htonl(kc->spi_in);
	in.reqid = kc->reqid;
	for (i = 0; i < c->ts_local->n; i++) {
		const struct ikev2_ts *lt = &c->ts_local->ts[i];

		for (j = 0; j < c->ts_remote->n; j++) {
			const struct ikev2_ts *rt = &c->ts_remote->ts[j];
			size_t alen = kernel_ts_alen(lt);
			uint8_t fam = alen == 16 ? XIPSEC_AF_INET6 : XIPSEC_AF_INET;
			uint8_t proto;

			if (lt->type != rt->type ||
			    (lt->ipproto && rt->ipproto && lt->ipproto != rt->ipproto))
				continue;
			proto = lt->ipproto ? lt->ipproto : rt->ipproto;
			nl = kernel_range_to_prefixes(lt->start_addr, lt->end_addr, alen, la, lp,
						      KERNEL_PFX_MAX);
			nr = kernel_range_to_prefixes(rt->start_addr, rt->end_addr, alen, ra, rp,
						      KERNEL_PFX_MAX);
			if (nl < 0 || nr < 0) {
				err = nl < 0 ? nl : nr;
				goto fail;
			}
			for (x = 0; x < nl; x++) {
				for (y = 0; y < nr; y++) {
					struct spd_rule *r;
					__be32 a[4];

					if (in.nsel < XIPSEC_SA_MAX_SEL) {
						struct xipsec_sel *sel = &in.sel[in.nsel];

						sel->family = fam;
						kernel_dp_addr(ra[y], a);
						dp_prefix_from_plen(&sel->src, fam, a, rp[y]);
						kernel_dp_addr(la[x], a);
						dp_prefix_from_plen(&sel->dst, fam, a, lp[x]);
					}
					in.nsel++; /* past the limit: "any" below */
					if (kc->dp_nrules == cap) {
						size_t ncap = cap ? 2 * cap : 4;
						void *n = realloc(kc->dp_rules,
								  ncap * sizeof(*kc->dp_rules));

						if (!n) {
							err = -ENOMEM;
							goto fail;
						}
						kc->dp_rules = n;
						cap = ncap;
					}
					r = &kc->dp_rules[kc->dp_nrules++];
					memset(r, 0, sizeof(*r));
					r->family = fam;
					kernel_dp_addr(la[x], r->src);
					r->src_plen = lp[x];
					kernel_dp_addr(ra[y], r->dst);
					r->dst_plen = rp[y];
					r->proto = proto;
					r->sport_lo = lt->start_port;
					r->sport_hi = lt->end_port;
					r->dport_lo = rt->start_port;
					r->dport_hi = rt->end_port;
					r->priority = DP_IKE_RULE_PRIORITY;
				}
			}
		}
	}
	if (in.nsel > XIPSEC_SA_MAX_SEL) {
		memset(in.sel, 0, sizeof(in.sel));
		in.nsel = 2;
		in.sel[0].family = XIPSEC_AF_INET;
		in.sel[1].family = XIPSEC_AF_INET6;
	}
	/* a freed id is reused: its counters must start from 0 */
	err = dp_ike_sa_alloc(&k->dp, kernel_dp_id_used, k, &kc->dp_in);
	if (!err) {
		kernel_dp_id_take(k, kc->dp_in);
		err = dp_sa_stats_clear(&k->dp, kc->dp_in);
	}
	if (!err)
		err = dp_sa_set(&k->dp, kc->dp_in, &in);
	if (err) {
		kernel_dp_id_put(k, &kc->dp_in);
		goto fail;
	}
	err = dp_ike_sa_alloc(&k->dp, kernel_dp_id_used, k, &kc->dp_out);
	if (!err) {
		kernel_dp_id_take(k, kc->dp_out);
		err = dp_sa_stats_clear(&k->dp, kc->dp_out);
	}
	if (!err) {
		out.flags = XIPSEC_SA_F_OUTBOUND | XIPSEC_SA_F_INSTALLED;
		out.spi = htonl(kc->spi_out);
		out.reqid = kc->reqid;
		out.mark = kc->dp_out << 16;
		out.mark_mask = DP_IKE_MARK_MASK;
		err = dp_sa_set(&k->dp, kc->dp_out, &out);
	}
	if (err) {
		kernel_dp_id_put(k, &kc->dp_out);
		goto fail;
	}
	err = kernel_dp_sync(k);
	if (err)
		goto fail;
	log_info("kernel: dataplane: SA records %u (in 0x%08x) and %u (out 0x%08x), "
		 "bucket " DP_IKE_BUCKET_PREFIX "%08x with %zu rules",
		 kc->dp_in, kc->spi_in, kc->dp_out, kc->spi_out, kc->spi_out, kc->dp_nrules);
	return;
fail:
	log_err("kernel: dataplane entries for SAs 0x%08x/0x%08x: %s", kc->spi_in, kc->spi_out,
		strerror(-err));
	kernel_dp_rec_del(k, kc->dp_out, kc->spi_out);
	kernel_dp_rec_del(k, kc->dp_in, kc->spi_in);
	kernel_dp_id_put(k, &kc->dp_in);
	kernel_dp_id_put(k, &kc->dp_out);
	kc->dp_nrules = 0;
}

/* @kc is already out of k->children: its rules go first, then its records
 * (a PROTECT bucket never names a missing record). */
static void kernel_dp_del(struct kernel *k, struct kernel_child *kc)
{
	if (!k->have_dp || (!kc->dp_in && !kc->dp_out))
		return;
	if (kc->dp_out)
		kernel_dp_sync(k);
	kernel_dp_rec_del(k, kc->dp_out, kc->spi_out);
	kernel_dp_rec_del(k, kc->dp_in, kc->spi_in);
	kernel_dp_id_put(k, &kc->dp_in);
	kernel_dp_id_put(k, &kc->dp_out);
}

int kernel_dp_open(struct kernel *k, const char *pin_dir)
{
	size_t i;
	int err;

	err = dp_maps_open_pinned(&k->dp, pin_dir);
	if (err)
		return err;
	err = spd_maps_open_pinned(&k->spd, pin_dir);
	if (err) {
		dp_maps_close(&k->dp);
		return err;
	}
	k->have_dp = true;
	/* leftovers of an earlier run: rules first, then records */
	for (i = 0; i < k->ndp_stale; i++)
		if (!k->dp_stale[i].id)
			break;
	if (i < k->ndp_stale && !kernel_dp_sync(k))
		log_info("kernel: dataplane rules of an earlier run removed");
	for (i = 0; i < k->ndp_stale; i++)
		kernel_dp_rec_del(k, k->dp_stale[i].id, k->dp_stale[i].spi);
	free(k->dp_stale);
	k->dp_stale = NULL;
	k->ndp_stale = 0;
	kernel_save(k);
	return 0;
}

bool kernel_dp_active(const struct kernel *k)
{
	return k->have_dp;
}

/*
 * The reqid of the trap for @c's child, if it has one: the kernel then
 * replaces the larval (XFRM_STATE_ACQ) state of the acquire with the
 * child's outbound state at once, instead of letting it block new acquires
 * for xfrm_acq_expires seconds after the child is gone (strongSwan shares
 * the reqid the same way).
 */
static bool kernel_trap_reqid(const struct kernel *k, const struct engine_child *c,
			      uint32_t *reqid)
{
	const struct kernel_child *t;
	xfrm_address_t a, b;
	char name[300];

	snprintf(name, sizeof(name), "%s/%s", c->conn->name, c->cfg->name);
	kernel_addr(c->local, &a);
	for (t = k->traps; t; t = t->trap_next) {
		if (strcmp(t->trap_name, name) ||
		    t->local.ss_family != c->local->sa_family)
			continue;
		/* the host only: NAT-T may have moved the IKE SA to port 4500 */
		kernel_addr((const struct sockaddr *)&t->local, &b);
		if (!memcmp(&a, &b, sizeof(a))) {
			*reqid = t->reqid;
			return true;
		}
	}
	return false;
}

int kernel_install_child(void *arg, const struct engine_child *c)
{
	struct kernel *k = arg;
	const struct conf_child *cfg = c->cfg;
	const struct conf_conn *conn = c->conn;
	struct xfrm_mark mark_in = { 0 }, mark_out = { 0 };
	bool has_mark_in, has_mark_out, has_if_in, has_if_out;
	__u32 if_in, if_out;
	struct kernel_child *kc;
	size_t i;
	int err;

	if (cfg->set_mark_in.set || cfg->set_mark_out.set) {
		log_err("kernel: child %s: set_mark_in/set_mark_out are not supported yet",
			cfg->name);
		return -EOPNOTSUPP;
	}
	err = kernel_mark(&cfg->mark_in, &conn->mark_in, &has_mark_in, &mark_in);
	if (!err)
		err = kernel_mark(&cfg->mark_out, &conn->mark_out, &has_mark_out, &mark_out);
	if (err) {
		log_err("kernel: child %s: %%unique marks are not supported yet", cfg->name);
		return err;
	}
	kernel_if_id(&cfg->if_id_in, &conn->if_id_in, &has_if_in, &if_in);
	kernel_if_id(&cfg->if_id_out, &conn->if_id_out, &has_if_out, &if_out);

	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	kc->spi_in = c->spi_in;
	kc->spi_out = c->spi_out;
	memcpy(&kc->local, c->local, ike_addr_len(c->local));
	memcpy(&kc->remote, c->remote, ike_addr_len(c->remote));
	if (cfg->reqid) {
		kc->reqid = cfg->reqid;
	} else if (!kernel_trap_reqid(k, c, &kc->reqid)) {
		err = kernel_alloc_reqid(k, &kc->reqid);
		if (err) {
			log_err("kernel: no reqid for child %s: %s", cfg->name, strerror(-err));
			goto fail;
		}
	}
	err = kernel_build_policies(kc, c, &mark_in, has_mark_in, &mark_out, has_mark_out,
				    has_if_in, if_in, has_if_out, if_out);
	if (err) {
		log_err("kernel: child %s: selectors not expressible as xfrm policies: %s",
			cfg->name, strerror(-err));
		goto fail;
	}
	err = kernel_pol_reserve(k, kc);
	if (!err)
		err = kernel_child_link(k, kc);
	if (err)
		goto fail;

	err = kernel_add_sa(k, c, true, kc);
	if (!err)
		err = kernel_add_sa(k, c, false, kc);
	for (i = 0; !err && i < kc->npols; i++) {
		struct xfrm_nl_policy *p = &kc->pols[i];

		err = xfrm_nl_policy_add(k->nl, p, false);
		if (err == -EEXIST && kernel_pol_holder(k, kc, p)) {
			/* Ours already (a duplicate child SA): the newest one wins. */
			err = xfrm_nl_policy_add(k->nl, p, true);
		} else if (err == -EEXIST) {
			log_err("kernel: child %s: a policy for these selectors exists and is "
				"not xiked's; not touching it",
				cfg->name);
		}
		if (err) {
			log_err("kernel: add policy dir %u for child %s: %s%s%s", p->dir, cfg->name,
				strerror(-err), *xfrm_nl_errmsg(k->nl) ? ": " : "",
				xfrm_nl_errmsg(k->nl));
			break;
		}
		kernel_pol_claim(k, kc, i);
	}
	if (err) {
		kernel_child_undo(k, kc);
		kernel_child_unlink(k, kc);
		goto fail;
	}
	if (k->have_dp)
		kernel_dp_add(k, kc, c);
	kernel_journal(k, NULL, 0, kc, false);
	log_info("kernel: child %s installed: SAs in 0x%08x out 0x%08x, reqid %u, %zu policies%s",
		 cfg->name, c->spi_in, c->spi_out, kc->reqid, kc->npols,
		 c->encap ? ", UDP-encapsulated" : "");
	return 0;
fail:
	kernel_child_free(kc);
	return err;
}

int kernel_install_trap(struct kernel *k, const struct conf_conn *conn,
			const struct conf_child *cfg, const struct sockaddr *local,
			const struct sockaddr *remote)
{
	struct xfrm_mark mark_in = { 0 }, mark_out = { 0 };
	bool has_mark_in, has_mark_out, has_if_in, has_if_out;
	struct ikev2_ts_list tl, tr;
	struct engine_child c;
	struct kernel_child *kc;
	__u32 if_in, if_out;
	size_t i, n;
	int err;

	err = kernel_mark(&cfg->mark_in, &conn->mark_in, &has_mark_in, &mark_in);
	if (!err)
		err = kernel_mark(&cfg->mark_out, &conn->mark_out, &has_mark_out, &mark_out);
	if (err)
		return err;
	kernel_if_id(&cfg->if_id_in, &conn->if_id_in, &has_if_in, &if_in);
	kernel_if_id(&cfg->if_id_out, &conn->if_id_out, &has_if_out, &if_out);
	err = ts_from_conf(cfg->local_ts, cfg->nlocal_ts, local, &tl);
	if (!err)
		err = ts_from_conf(cfg->remote_ts, cfg->nremote_ts, remote, &tr);
	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	c.conn = conn;
	c.cfg = cfg;
	c.local = local;
	c.remote = remote;
	c.ts_local = &tl;
	c.ts_remote = &tr;

	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return -ENOMEM;
	memcpy(&kc->local, local, ike_addr_len(local));
	if (asprintf(&kc->trap_name, "%s/%s", conn->name, cfg->name) < 0) {
		kc->trap_name = NULL;
		err = -ENOMEM;
		goto fail;
	}
	err = cfg->reqid ? (kc->reqid = cfg->reqid, 0) : kernel_alloc_reqid(k, &kc->reqid);
	if (!err)
		err = kernel_build_policies(kc, &c, &mark_in, has_mark_in, &mark_out, has_mark_out,
					    has_if_in, if_in, has_if_out, if_out);
	if (err)
		goto fail;
	/* Outbound only: the acquire comes from the out policy lookup. */
	for (i = n = 0; i < kc->npols; i++)
		if (kc->pols[i].dir == XFRM_POLICY_OUT)
			kc->pols[n++] = kc->pols[i];
	kc->npols = n;
	err = kernel_pol_reserve(k, kc);
	if (!err)
		err = kernel_child_link(k, kc);
	if (err)
		goto fail;
	for (i = 0; !err && i < kc->npols; i++) {
		err = xfrm_nl_policy_add(k->nl, &kc->pols[i], false);
		/* A child SA of ours may hold it already: it hands it over when it goes. */
		if (err == -EEXIST && kernel_pol_holder(k, kc, &kc->pols[i]))
			err = 0;
		if (!err)
			kernel_pol_claim(k, kc, i);
	}
	if (err) {
		log_err("kernel: trap for %s/%s: %s%s", conn->name, cfg->name, strerror(-err),
			err == -EEXIST ? " (a policy for these selectors is not xiked's)" : "");
		kernel_child_undo(k, kc);
		kernel_child_unlink(k, kc);
		goto fail;
	}
	kernel_journal(k, NULL, 0, kc, false);
	log_info("kernel: trap for %s/%s installed: %zu out policies, reqid %u", conn->name,
		 cfg->name, kc->npols, kc->reqid);
	return 0;
fail:
	kernel_child_free(kc);
	return err;
}

void kernel_remove_child(void *arg, const struct engine_child *c)
{
	struct kernel *k = arg;
	struct kernel_buf gone = { 0 };
	struct kernel_child *kc;
	size_t ngone;

	kc = kernel_child_find(k, c->spi_in, c->spi_out, c->local, false);
	if (!kc) {
		log_warn("kernel: remove child SAs 0x%08x/0x%08x: not installed by us", c->spi_in,
			 c->spi_out);
		return;
	}
	kernel_child_unlink(k, kc);
	/* the record as appended, before the fields below change */
	ngone = kernel_write_child(&gone, "- ", kc);
	kernel_dp_del(k, kc);
	kernel_child_undo(k, kc);
	kernel_journal(k, &gone, ngone, NULL, true);
	log_info("kernel: child %s removed: SAs in 0x%08x out 0x%08x, reqid %u",
		 c->cfg ? c->cfg->name : "?", kc->spi_in, kc->spi_out, kc->reqid);
	kernel_child_free(kc);
}

/*
 * One state of @kc moved to new outer addresses: read it back (keys and
 * sequence numbers included), then UPDSA when both addresses stay (a port
 * change: the encapsulation ports change in place), else delete and add.
 */
static int kernel_move_sa(struct kernel *k, struct kernel_child *kc, bool in,
			  const struct engine_child *c)
{
	struct xfrm_nl_sa_id *id = in ? &kc->sa_in : &kc->sa_out;
	const struct sockaddr *src = in ? c->remote : c->local, *dst = in ? c->local : c->remote;
	struct xfrm_nl_sa cur;
	xfrm_address_t saddr, daddr;
	bool same_key;
	int err;

	err = xfrm_nl_sa_get(k->nl, id, &cur);
	if (err)
		return err;
	kernel_addr(src, &saddr);
	kernel_addr(dst, &daddr);
	/* UPDSA keeps the old source: a new one needs a new state as well */
	same_key = !memcmp(&daddr, &cur.daddr, sizeof(daddr)) &&
		   !memcmp(&saddr, &cur.saddr, sizeof(saddr));
	cur.saddr = saddr;
	cur.daddr = daddr;
	if (c->encap)
		kernel_encap(&cur, src, dst);
	if (same_key) {
		err = xfrm_nl_sa_add(k->nl, &cur, true);
	} else {
		err = xfrm_nl_sa_del(k->nl, id);
		if (!err || err == -ENOENT)
			err = xfrm_nl_sa_add(k->nl, &cur, false);
		if (!err)
			xfrm_nl_sa_to_id(&cur, id);
	}
	xfrm_nl_sa_scrub(&cur);
	return err;
}

void kernel_update_child(void *arg, const struct engine_child *c,
			 const struct sockaddr *old_remote)
{
	struct kernel *k = arg;
	struct kernel_buf was_rec = { 0 };
	struct kernel_child *kc;
	char was[80], now[80];
	size_t i, nwas;
	int err = 0;

	kc = kernel_child_find(k, c->spi_in, c->spi_out, old_remote, true);
	if (!kc) {
		log_warn("kernel: move child SAs 0x%08x/0x%08x: not installed by us", c->spi_in,
			 c->spi_out);
		return;
	}
	nwas = kernel_write_child(&was_rec, "- ", kc);
	if (kc->sa_in_ok)
		err = kernel_move_sa(k, kc, true, c);
	if (!err && kc->sa_out_ok)
		err = kernel_move_sa(k, kc, false, c);
	/* Templates name the outer addresses: out is local -> remote, in/fwd the reverse. */
	for (i = 0; !err && i < kc->npols; i++) {
		struct xfrm_nl_policy *p = &kc->pols[i];
		bool out = p->dir == XFRM_POLICY_OUT;

		if (!kc->pol_ok[i] || !p->ntmpl)
			continue;
		kernel_addr(out ? c->local : c->remote, &p->tmpl[0].saddr);
		kernel_addr(out ? c->remote : c->local, &p->tmpl[0].id.daddr);
		err = xfrm_nl_policy_add(k->nl, p, true);
	}
	memcpy(&kc->local, c->local, ike_addr_len(c->local));
	memcpy(&kc->remote, c->remote, ike_addr_len(c->remote));
	kernel_journal(k, &was_rec, nwas, kc, false);
	ike_addr_str(old_remote, was, sizeof(was));
	ike_addr_str(c->remote, now, sizeof(now));
	if (err)
		log_err("kernel: child %s: moving SAs 0x%08x/0x%08x from %s to %s: %s%s%s",
			c->cfg ? c->cfg->name : "?", kc->spi_in, kc->spi_out, was, now,
			strerror(-err), *xfrm_nl_errmsg(k->nl) ? ": " : "", xfrm_nl_errmsg(k->nl));
	else
		log_info("kernel: child %s: SAs in 0x%08x out 0x%08x moved from %s to %s",
			 c->cfg ? c->cfg->name : "?", kc->spi_in, kc->spi_out, was, now);
}

size_t kernel_object_count(const struct kernel *k)
{
	const struct kernel_child *c;
	size_t n = 0, i;

	for (c = k->children; c; c = c->next) {
		n += c->sa_in_ok + c->sa_out_ok;
		for (i = 0; i < c->npols; i++)
			n += c->pol_ok[i];
	}
	return n;
}

void kernel_close(struct kernel *k)
{
	struct kernel_child *kc, *next;

	if (!k)
		return;
	while (k->larval)
		kernel_release_spi(k, NULL, NULL, ntohl(k->larval->id.spi));
	if (k->have_dp) {
		struct kernel_child *all = k->children;

		/* our rules out first, then records, states and policies */
		k->children = NULL;
		if (k->ndp_names)
			kernel_dp_sync(k);
		k->children = all;
		for (kc = all; kc; kc = kc->next) {
			kernel_dp_rec_del(k, kc->dp_out, kc->spi_out);
			kernel_dp_rec_del(k, kc->dp_in, kc->spi_in);
		}
	}
	for (kc = k->children; kc; kc = next) {
		next = kc->next;
		kernel_child_unlink(k, kc);
		kernel_child_undo(k, kc);
		kernel_child_free(kc);
	}
	free(k->child_hash);
	free(k->pol_hash);
	free(k->reqids_used);
	if (k->state_fd >= 0)
		close(k->state_fd);
	if (k->have_dp) {
		dp_maps_close(&k->dp);
		spd_maps_close(&k->spd);
	}
	free(k->dp_stale);
	free(k->dp_names);
	if (k->state_path) {
		if (unlink(k->state_path) && errno != ENOENT)
			log_warn("kernel: cannot remove %s: %s", k->state_path, strerror(errno));
		free(k->state_path);
	}
	xfrm_nl_close(k->nl);
	free(k);
}

int kernel_alloc_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
		     uint32_t *spi)
{
	struct kernel *k = arg;
	struct xfrm_nl_spi_req r;
	struct kernel_larval *l;
	__be32 got;
	int err;

	memset(&r, 0, sizeof(r));
	r.family = local->sa_family;
	kernel_addr(remote, &r.saddr);
	kernel_addr(local, &r.daddr);
	r.proto = IPPROTO_ESP;
	r.mode = XFRM_MODE_TUNNEL;
	r.min = KERNEL_SPI_MIN;
	r.max = UINT32_MAX;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	err = xfrm_nl_alloc_spi(k->nl, &r, &got);
	if (err) {
		log_err("kernel: allocate SPI: %s%s%s", strerror(-err),
			*xfrm_nl_errmsg(k->nl) ? ": " : "", xfrm_nl_errmsg(k->nl));
		free(l);
		return err;
	}
	l->id.family = r.family;
	l->id.daddr = r.daddr;
	l->id.spi = got;
	l->id.proto = IPPROTO_ESP;
	l->next = k->larval;
	k->larval = l;
	*spi = ntohl(got);
	log_debug("kernel: SPI 0x%08x allocated (larval state)", *spi);
	return 0;
}

/* @local/@remote unused: the SPI and our address in the record name it. */
void kernel_release_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			uint32_t spi)
{
	struct kernel *k = arg;
	struct kernel_larval **pp, *l;
	int err;

	(void)remote;
	for (pp = &k->larval; (l = *pp); pp = &l->next) {
		xfrm_address_t a;

		if (l->id.spi != htonl(spi))
			continue;
		if (local) {
			kernel_addr(local, &a);
			if (memcmp(&a, &l->id.daddr, sizeof(a)))
				continue;
		}
		break;
	}
	if (!l)
		return;
	*pp = l->next;
	err = xfrm_nl_sa_del(k->nl, &l->id);
	if (err && err != -ENOENT)
		log_warn("kernel: delete larval SA 0x%08x: %s", spi, strerror(-err));
	else
		log_debug("kernel: SPI 0x%08x released (larval state deleted)", spi);
	free(l);
}
