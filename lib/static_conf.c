// SPDX-License-Identifier: GPL-2.0-only
/*
 * Static configuration parser (grammar in static_conf.h).
 *
 * Two steps, as for any untrusted input: a line is first split into bounded
 * tokens (each remembers its line so an error names the right one), then a
 * complete statement is interpreted into bounded structs. Cross references
 * (rule -> SA) are resolved in static_conf_finish, after the whole file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <linux/udp.h>

#include "xipsec/dataplane.h"
#include "spd.h"
#include "static_conf.h"

static const struct {
	const char *alias;
	const char *kernel;
} static_conf_alg_alias[] = {
	{ "aes-gcm", "rfc4106(gcm(aes))" },
	{ "chacha20-poly1305", "rfc7539esp(chacha20,poly1305)" },
	{ "aes-cbc", "cbc(aes)" },
	{ "sha256", "hmac(sha256)" },
	{ "sha384", "hmac(sha384)" },
	{ "sha512", "hmac(sha512)" },
};

static const struct {
	const char *name;
	__u8 proto;
} static_conf_protos[] = {
	{ "any", 0 },  { "icmp", 1 },	    { "tcp", 6 },     { "udp", 17 },   { "gre", 47 },
	{ "esp", 50 }, { "ipv6-icmp", 58 }, { "icmpv6", 58 }, { "sctp", 132 },
};

int static_conf_proto(const char *s)
{
	unsigned long v;
	char *end;
	size_t i;

	for (i = 0; i < sizeof(static_conf_protos) / sizeof(static_conf_protos[0]); i++)
		if (!strcasecmp(s, static_conf_protos[i].name))
			return static_conf_protos[i].proto;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 255)
		return -1;
	return (int)v;
}

const char *static_conf_proto_name(__u8 proto, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(static_conf_protos) / sizeof(static_conf_protos[0]); i++)
		if (static_conf_protos[i].proto == proto)
			return static_conf_protos[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static __attribute__((format(printf, 3, 4))) void conf_err(struct static_conf *c, unsigned int line,
							   const char *fmt, ...)
{
	size_t used = strlen(c->errs);
	va_list ap;
	int n;

	c->nerrs++;
	if (c->nerrs > STATIC_CONF_MAX_ERRS || used + 2 >= sizeof(c->errs))
		return;
	if (line)
		n = snprintf(c->errs + used, sizeof(c->errs) - used, "%s:%u: ", c->file, line);
	else
		n = snprintf(c->errs + used, sizeof(c->errs) - used, "%s: ", c->file);
	if (n < 0 || (size_t)n >= sizeof(c->errs) - used)
		return;
	used += n;
	va_start(ap, fmt);
	n = vsnprintf(c->errs + used, sizeof(c->errs) - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->errs) - used - 1) {
		c->errs[sizeof(c->errs) - 2] = '\n';
		c->errs[sizeof(c->errs) - 1] = '\0';
		return;
	}
	strcat(c->errs, "\n");
}

void static_conf_init(struct static_conf *c, const char *file)
{
	memset(c, 0, sizeof(*c));
	c->file = file ? file : "-";
	c->mark_mask = STATIC_CONF_MARK_MASK;
	c->drop_unknown_spi = -1;
}

void static_conf_free(struct static_conf *c)
{
	size_t i;

	for (i = 0; i < c->nsas; i++)
		xfrm_nl_sa_scrub(&c->sas[i].x);
	if (c->sas)
		explicit_bzero(c->sas, c->sas_cap * sizeof(*c->sas));
	free(c->sas);
	free(c->rules);
	free(c->rule_line);
	free(c->rule_sa);
	free(c->rule_hold);
	free(c->rule_bucket);
	free(c->rule_action);
	free(c->buckets);
	/* tokens may have held a key */
	explicit_bzero(c->tok, sizeof(c->tok));
	c->sas = NULL;
	c->rules = NULL;
	c->buckets = NULL;
	c->nsas = c->nrules = c->nbuckets = 0;
}

/* ---- value parsers: 0 or -EINVAL, never partial ---- */

static int conf_u32(const char *s, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

static int conf_addr(const char *s, __u8 *family, __be32 addr[4])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = XIPSEC_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = XIPSEC_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* "10.0.0.0/8", "2001:db8::/32", or an address alone (full length). Host bits must be 0. */
static int conf_prefix(const char *s, __u8 *family, __be32 addr[4], __u8 *plen, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 5];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	__u32 len, bits, i;

	*why = "not an address prefix";
	if (alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (conf_addr(buf, family, addr))
		return -EINVAL;
	bits = *family == XIPSEC_AF_INET ? 32 : 128;
	if (!slash) {
		len = bits;
	} else if (conf_u32(slash + 1, bits, &len) || (slash[1] == '0' && slash[2])) {
		*why = "bad prefix length";
		return -EINVAL;
	}
	for (i = 0; i < 4; i++) {
		__u32 keep = len >= (i + 1) * 32 ? 32 : len > i * 32 ? len - i * 32 : 0;
		__u32 mask = keep ? htonl(~0u << (32 - keep)) : 0;

		if (addr[i] & ~mask) {
			*why = "host bits set after the prefix length";
			return -EINVAL;
		}
	}
	*plen = (__u8)len;
	return 0;
}

static int conf_hex_key(const char *s, __u8 *key, __u16 *len)
{
	size_t n, i;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -EINVAL;
	s += 2;
	n = strlen(s);
	if (!n || n % 2 || n / 2 > XFRM_NL_KEY_MAX)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], '\0' };
		char *end;

		if (!strchr("0123456789abcdefABCDEF", pair[0]) ||
		    !strchr("0123456789abcdefABCDEF", pair[1]))
			goto bad;
		key[i] = (__u8)strtoul(pair, &end, 16);
	}
	*len = (__u16)(n / 2);
	return 0;
bad:
	explicit_bzero(key, XFRM_NL_KEY_MAX);
	return -EINVAL;
}

static const char *conf_alg_name(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(static_conf_alg_alias) / sizeof(static_conf_alg_alias[0]); i++)
		if (!strcmp(s, static_conf_alg_alias[i].alias))
			return static_conf_alg_alias[i].kernel;
	return s;
}

static int conf_port_range(const char *s, __u16 *lo, __u16 *hi)
{
	char buf[16];
	const char *dash = strchr(s, '-');
	__u32 a, b;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	if (!dash) {
		if (conf_u32(s, 65535, &a))
			return -EINVAL;
		*lo = *hi = (__u16)a;
		return 0;
	}
	memcpy(buf, s, (size_t)(dash - s));
	buf[dash - s] = '\0';
	if (conf_u32(buf, 65535, &a) || conf_u32(dash + 1, 65535, &b) || a > b)
		return -EINVAL;
	*lo = (__u16)a;
	*hi = (__u16)b;
	return 0;
}

static bool conf_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= STATIC_CONF_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:",
			    s[i]))
			return false;
	return true;
}

/* ---- rules ---- */

enum {
	RULE_SEEN_FROM = 1,
	RULE_SEEN_TO = 2,
	RULE_SEEN_PROTO = 4,
	RULE_SEEN_SPORT = 8,
	RULE_SEEN_DPORT = 16,
	RULE_SEEN_PRIO = 32,
	RULE_SEEN_BUCKET = 64,
	RULE_SEEN_ACTION = 128
};

/*
 * The rule grammar, shared by the file and `xipsec spd add`. On error *bad is
 * the index of the offending word (argc when something is missing).
 */
static int rule_parse(int argc, char **argv, struct spd_rule *r, __u8 *action, bool *hold,
		      char *sa_name, char *bucket, char *err, size_t errlen, int *bad)
{
	unsigned int seen = 0, flag;
	__u8 fam_to = 0;
	const char *why;
	int i, p;

	memset(r, 0, sizeof(*r));
	r->sport_hi = r->dport_hi = 65535;
	r->priority = STATIC_CONF_PRIORITY;
	*action = SPD_ACT_NONE;
	*hold = false;
	sa_name[0] = bucket[0] = '\0';

	for (i = 0; i < argc; i++) {
		const char *kw = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		*bad = i;
		if (!strcmp(kw, "from"))
			flag = RULE_SEEN_FROM;
		else if (!strcmp(kw, "to"))
			flag = RULE_SEEN_TO;
		else if (!strcmp(kw, "proto"))
			flag = RULE_SEEN_PROTO;
		else if (!strcmp(kw, "sport"))
			flag = RULE_SEEN_SPORT;
		else if (!strcmp(kw, "dport"))
			flag = RULE_SEEN_DPORT;
		else if (!strcmp(kw, "priority"))
			flag = RULE_SEEN_PRIO;
		else if (!strcmp(kw, "bucket"))
			flag = RULE_SEEN_BUCKET;
		else if (!strcmp(kw, "protect") || !strcmp(kw, "bypass") || !strcmp(kw, "discard"))
			flag = RULE_SEEN_ACTION;
		else {
			snprintf(err, errlen, "unknown rule keyword '%s'", kw);
			return -EINVAL;
		}
		if (seen & flag) {
			snprintf(err, errlen, "'%s' given twice", kw);
			return -EINVAL;
		}
		seen |= flag;
		if (!strcmp(kw, "bypass")) {
			*action = SPD_ACT_BYPASS;
			continue;
		}
		if (!strcmp(kw, "discard")) {
			*action = SPD_ACT_DISCARD;
			continue;
		}
		if (!val) {
			snprintf(err, errlen, "'%s' needs a value", kw);
			*bad = argc;
			return -EINVAL;
		}
		*bad = ++i;
		switch (flag) {
		case RULE_SEEN_FROM:
			if (conf_prefix(val, &r->family, r->src, &r->src_plen, &why)) {
				snprintf(err, errlen, "%s: '%s'", why, val);
				return -EINVAL;
			}
			break;
		case RULE_SEEN_TO:
			if (conf_prefix(val, &fam_to, r->dst, &r->dst_plen, &why)) {
				snprintf(err, errlen, "%s: '%s'", why, val);
				return -EINVAL;
			}
			break;
		case RULE_SEEN_PROTO:
			p = static_conf_proto(val);
			if (p < 0) {
				snprintf(err, errlen, "unknown protocol '%s'", val);
				return -EINVAL;
			}
			r->proto = (__u8)p;
			break;
		case RULE_SEEN_SPORT:
		case RULE_SEEN_DPORT:
			if (conf_port_range(
				    val, flag == RULE_SEEN_SPORT ? &r->sport_lo : &r->dport_lo,
				    flag == RULE_SEEN_SPORT ? &r->sport_hi : &r->dport_hi)) {
				snprintf(err, errlen, "bad port or port range '%s'", val);
				return -EINVAL;
			}
			break;
		case RULE_SEEN_PRIO:
			if (conf_u32(val, 0xffffffffu, &r->priority)) {
				snprintf(err, errlen, "bad priority '%s'", val);
				return -EINVAL;
			}
			break;
		case RULE_SEEN_BUCKET:
			if (!conf_name_ok(val)) {
				snprintf(err, errlen,
					 "bad bucket name '%s' (1-%d of [A-Za-z0-9-_.:])", val,
					 STATIC_CONF_NAME_MAX - 1);
				return -EINVAL;
			}
			strcpy(bucket, val);
			break;
		case RULE_SEEN_ACTION: /* protect SA [hold] */
			if (!conf_name_ok(val)) {
				snprintf(err, errlen, "bad SA name '%s'", val);
				return -EINVAL;
			}
			strcpy(sa_name, val);
			*action = SPD_ACT_PROTECT;
			if (i + 1 < argc && !strcmp(argv[i + 1], "hold")) {
				*hold = true;
				i++;
			}
			break;
		}
	}
	*bad = argc;
	if (!(seen & RULE_SEEN_FROM) || !(seen & RULE_SEEN_TO)) {
		snprintf(err, errlen, "rule needs 'from PREFIX' and 'to PREFIX'");
		return -EINVAL;
	}
	if (!(seen & RULE_SEEN_ACTION)) {
		snprintf(err, errlen, "rule needs an action: protect SA, bypass or discard");
		return -EINVAL;
	}
	if (r->family != fam_to) {
		for (i = 0; i < argc && strcmp(argv[i], "to"); i++)
			;
		*bad = i + 1 < argc ? i + 1 : argc;
		snprintf(err, errlen, "'from' and 'to' are of different address families");
		return -EINVAL;
	}
	if ((r->sport_lo != 0 || r->sport_hi != 65535 || r->dport_lo != 0 ||
	     r->dport_hi != 65535) &&
	    r->proto != 6 && r->proto != 17 && r->proto != 132 && r->proto != 1 && r->proto != 58) {
		snprintf(err, errlen, "ports need proto tcp, udp, sctp, icmp or ipv6-icmp");
		return -EINVAL;
	}
	return 0;
}

int static_conf_parse_rule(int argc, char **argv, struct spd_rule *rule, __u8 *action, bool *hold,
			   char *sa_name, char *bucket_name, char *err, size_t errlen)
{
	int bad;

	return rule_parse(argc, argv, rule, action, hold, sa_name, bucket_name, err, errlen, &bad);
}

static int conf_add_rule(struct static_conf *c)
{
	char *argv[STATIC_CONF_MAX_TOKENS];
	char err[200];
	struct spd_rule r;
	char sa[STATIC_CONF_NAME_MAX], bucket[STATIC_CONF_NAME_MAX];
	__u8 action;
	bool hold;
	unsigned int i;
	int bad;

	for (i = 1; i < c->ntok; i++)
		argv[i - 1] = c->tok[i];
	if (rule_parse((int)c->ntok - 1, argv, &r, &action, &hold, sa, bucket, err, sizeof(err),
		       &bad)) {
		unsigned int t = (unsigned int)bad + 1;

		conf_err(c, c->tok_line[t < c->ntok ? t : c->ntok - 1], "%s", err);
		return -EINVAL;
	}
	if (c->nrules >= SPD_MAX_RULES) {
		conf_err(c, c->tok_line[0], "more than %d rules", SPD_MAX_RULES);
		return -E2BIG;
	}
	if (c->nrules == c->rules_cap) {
		size_t cap = c->rules_cap ? c->rules_cap * 2 : 64;
		void *p;

		p = realloc(c->rules, cap * sizeof(*c->rules));
		if (!p)
			return -ENOMEM;
		c->rules = p;
		p = realloc(c->rule_line, cap * sizeof(*c->rule_line));
		if (!p)
			return -ENOMEM;
		c->rule_line = p;
		p = realloc(c->rule_sa, cap * sizeof(*c->rule_sa));
		if (!p)
			return -ENOMEM;
		c->rule_sa = p;
		p = realloc(c->rule_bucket, cap * sizeof(*c->rule_bucket));
		if (!p)
			return -ENOMEM;
		c->rule_bucket = p;
		p = realloc(c->rule_hold, cap);
		if (!p)
			return -ENOMEM;
		c->rule_hold = p;
		p = realloc(c->rule_action, cap);
		if (!p)
			return -ENOMEM;
		c->rule_action = p;
		c->rules_cap = cap;
	}
	c->rules[c->nrules] = r;
	c->rule_line[c->nrules] = c->tok_line[0];
	memcpy(c->rule_sa[c->nrules], sa, sizeof(sa));
	memcpy(c->rule_bucket[c->nrules], bucket, sizeof(bucket));
	c->rule_hold[c->nrules] = hold;
	c->rule_action[c->nrules] = action;
	c->nrules++;
	return 0;
}

/* ---- SAs ---- */

static int conf_alg(struct static_conf *c, unsigned int *i, int type, struct xfrm_nl_alg *alg)
{
	const struct xfrm_nl_alg_info *info;
	const char *name, *kw = c->tok[*i];
	__u32 bits;

	if (*i + 2 >= c->ntok) {
		conf_err(c, c->tok_line[*i], "'%s' needs ALGORITHM KEY", kw);
		return -EINVAL;
	}
	name = conf_alg_name(c->tok[*i + 1]);
	info = xfrm_nl_alg_lookup(name);
	if (!info || info->type != type) {
		conf_err(c, c->tok_line[*i + 1], "unknown %s algorithm '%s'", kw, c->tok[*i + 1]);
		return -EINVAL;
	}
	snprintf(alg->name, sizeof(alg->name), "%s", info->name);
	alg->bits = info->bits;
	if (conf_hex_key(c->tok[*i + 2], alg->key, &alg->key_len)) {
		/* never echo a (possibly almost right) key */
		conf_err(c, c->tok_line[*i + 2],
			 "%s key must be hex digits after 0x, at most %d bytes", kw,
			 XFRM_NL_KEY_MAX);
		return -EINVAL;
	}
	c->has_keys = true;
	if (alg->key_len != info->key_len[0] && alg->key_len != info->key_len[1] &&
	    alg->key_len != info->key_len[2]) {
		conf_err(c, c->tok_line[*i + 2], "%s key of %u bytes does not fit '%s'%s", kw,
			 alg->key_len, info->name,
			 type == XFRMA_ALG_AEAD ? " (key length includes the 4-byte salt)" : "");
		return -EINVAL;
	}
	*i += 3;
	/* optional ICV / truncation bits */
	if (type != XFRMA_ALG_CRYPT && *i < c->ntok && c->tok[*i][0] >= '0' &&
	    c->tok[*i][0] <= '9') {
		if (conf_u32(c->tok[*i], 1024, &bits)) {
			conf_err(c, c->tok_line[*i], "bad ICV/truncation length '%s'", c->tok[*i]);
			return -EINVAL;
		}
		alg->bits = (__u16)bits;
		(*i)++;
	}
	return 0;
}

static int conf_add_sa(struct static_conf *c)
{
	struct static_conf_sa sa;
	__u8 fam_src = 0, fam_dst = 0, fam;
	__be32 addr[4];
	unsigned int i, seen_dir = 0;
	bool have_spi = false;
	const char *why;
	__u32 v;
	int err = -EINVAL;
	size_t k;

	memset(&sa, 0, sizeof(sa));
	sa.line = c->tok_line[0];
	if (c->ntok < 2 || !conf_name_ok(c->tok[1])) {
		conf_err(c, c->tok_line[c->ntok < 2 ? 0 : 1],
			 "'sa' needs a name (1-%d of [A-Za-z0-9-_.:])%s%s%s",
			 STATIC_CONF_NAME_MAX - 1, c->ntok < 2 ? "" : ", got '",
			 c->ntok < 2 ? "" : c->tok[1], c->ntok < 2 ? "" : "'");
		return -EINVAL;
	}
	strcpy(sa.name, c->tok[1]);
	xfrm_nl_sa_init(&sa.x, AF_INET);

	for (i = 2; i < c->ntok;) {
		const char *kw = c->tok[i];
		const char *val = i + 1 < c->ntok ? c->tok[i + 1] : NULL;
		unsigned int line = c->tok_line[i];

		if (!strcmp(kw, "in") || !strcmp(kw, "out")) {
			if (seen_dir++) {
				conf_err(c, line, "direction given twice ('%s')", kw);
				goto out;
			}
			sa.inbound = kw[0] == 'i';
			i++;
			continue;
		}
		if (!strcmp(kw, "aead")) {
			if (sa.x.aead.name[0] || sa.x.crypt.name[0]) {
				conf_err(c, line, "'aead' excludes a second aead or enc/auth");
				goto out;
			}
			if (conf_alg(c, &i, XFRMA_ALG_AEAD, &sa.x.aead))
				goto out;
			continue;
		}
		if (!strcmp(kw, "enc")) {
			if (sa.x.aead.name[0] || sa.x.crypt.name[0]) {
				conf_err(c, line, "'enc' excludes aead or a second enc");
				goto out;
			}
			if (conf_alg(c, &i, XFRMA_ALG_CRYPT, &sa.x.crypt))
				goto out;
			continue;
		}
		if (!strcmp(kw, "auth")) {
			if (sa.x.aead.name[0] || sa.x.auth.name[0]) {
				conf_err(c, line, "'auth' excludes aead or a second auth");
				goto out;
			}
			if (conf_alg(c, &i, XFRMA_ALG_AUTH_TRUNC, &sa.x.auth))
				goto out;
			continue;
		}
		if (!val) {
			conf_err(c, line, "'%s' needs a value", kw);
			goto out;
		}
		line = c->tok_line[i + 1];
		if (!strcmp(kw, "spi")) {
			if (conf_u32(val, 0xffffffffu, &v) || v < 256) {
				conf_err(c, line, "bad SPI '%s' (256..0xffffffff)", val);
				goto out;
			}
			sa.x.spi = htonl(v);
			have_spi = true;
			i += 2;
		} else if (!strcmp(kw, "src") || !strcmp(kw, "dst")) {
			if (conf_addr(val, &fam, addr)) {
				conf_err(c, line, "bad address '%s'", val);
				goto out;
			}
			if (kw[0] == 's') {
				fam_src = fam;
				memcpy(&sa.x.saddr, addr, 16);
			} else {
				fam_dst = fam;
				memcpy(&sa.x.daddr, addr, 16);
			}
			i += 2;
		} else if (!strcmp(kw, "reqid")) {
			if (conf_u32(val, 0xffffffffu, &v) || !v) {
				conf_err(c, line, "bad reqid '%s'", val);
				goto out;
			}
			sa.x.reqid = v;
			sa.reqid_set = true;
			i += 2;
		} else if (!strcmp(kw, "replay-window")) {
			if (conf_u32(val, XFRMA_REPLAY_ESN_MAX, &v)) {
				conf_err(c, line, "bad replay window '%s' (0..%d)", val,
					 XFRMA_REPLAY_ESN_MAX);
				goto out;
			}
			sa.x.replay_window = v;
			i += 2;
		} else if (!strcmp(kw, "encap")) {
			__u32 sp, dp;

			if (strcmp(val, "espinudp") || i + 3 >= c->ntok ||
			    conf_u32(c->tok[i + 2], 65535, &sp) || !sp ||
			    conf_u32(c->tok[i + 3], 65535, &dp) || !dp) {
				conf_err(c, line, "encap needs 'espinudp SPORT DPORT', got '%s'",
					 val);
				goto out;
			}
			sa.x.has_encap = true;
			sa.x.encap.encap_type = UDP_ENCAP_ESPINUDP;
			sa.x.encap.encap_sport = htons((__u16)sp);
			sa.x.encap.encap_dport = htons((__u16)dp);
			i += 4;
		} else if (!strcmp(kw, "traffic")) {
			struct static_conf_sel *s = &sa.sel[sa.nsel];
			__u8 f2;

			if (sa.nsel >= XIPSEC_SA_MAX_SEL) {
				conf_err(c, c->tok_line[i], "at most %d 'traffic' selectors per SA",
					 XIPSEC_SA_MAX_SEL);
				goto out;
			}
			if (i + 2 >= c->ntok) {
				conf_err(c, line, "'traffic' needs LOCAL-PREFIX REMOTE-PREFIX");
				goto out;
			}
			if (conf_prefix(val, &s->family, s->local, &s->local_plen, &why)) {
				conf_err(c, line, "%s: '%s'", why, val);
				goto out;
			}
			if (conf_prefix(c->tok[i + 2], &f2, s->remote, &s->remote_plen, &why)) {
				conf_err(c, c->tok_line[i + 2], "%s: '%s'", why, c->tok[i + 2]);
				goto out;
			}
			if (f2 != s->family) {
				conf_err(c, c->tok_line[i + 2],
					 "'traffic' prefixes of different families: '%s'",
					 c->tok[i + 2]);
				goto out;
			}
			sa.nsel++;
			i += 3;
		} else {
			conf_err(c, c->tok_line[i], "unknown SA keyword '%s'", kw);
			goto out;
		}
	}

	if (!seen_dir) {
		conf_err(c, sa.line, "SA '%s' needs a direction: in or out", sa.name);
		goto out;
	}
	if (!have_spi) {
		conf_err(c, sa.line, "SA '%s' needs 'spi'", sa.name);
		goto out;
	}
	if (!fam_src || !fam_dst) {
		conf_err(c, sa.line, "SA '%s' needs 'src' and 'dst' (outer addresses)", sa.name);
		goto out;
	}
	if (fam_src != fam_dst) {
		conf_err(c, sa.line, "SA '%s': 'src' and 'dst' of different families", sa.name);
		goto out;
	}
	if (!sa.x.aead.name[0] && !(sa.x.crypt.name[0] && sa.x.auth.name[0])) {
		conf_err(c, sa.line, "SA '%s' needs 'aead ALG KEY' or 'enc ALG KEY auth ALG KEY'",
			 sa.name);
		goto out;
	}
	sa.x.family = fam_src == XIPSEC_AF_INET ? AF_INET : AF_INET6;
	for (k = 0; k < c->nsas; k++) {
		if (!strcmp(c->sas[k].name, sa.name)) {
			conf_err(c, sa.line, "SA '%s' already defined on line %u", sa.name,
				 c->sas[k].line);
			goto out;
		}
		if (c->sas[k].x.spi == sa.x.spi && c->sas[k].x.family == sa.x.family &&
		    !memcmp(&c->sas[k].x.daddr, &sa.x.daddr, sizeof(sa.x.daddr))) {
			conf_err(c, sa.line, "SA '%s' has the SPI and destination of SA '%s'",
				 sa.name, c->sas[k].name);
			goto out;
		}
	}
	if (xfrm_nl_sa_check(&sa.x, &why)) {
		conf_err(c, sa.line, "SA '%s': %s", sa.name, why);
		goto out;
	}
	if (c->nsas >= STATIC_CONF_MAX_SA) {
		conf_err(c, sa.line, "more than %d SAs", STATIC_CONF_MAX_SA);
		goto out;
	}
	if (c->nsas == c->sas_cap) {
		size_t cap = c->sas_cap ? c->sas_cap * 2 : 8;
		struct static_conf_sa *p = calloc(cap, sizeof(*p));

		if (!p) {
			err = -ENOMEM;
			goto out;
		}
		if (c->sas) {
			memcpy(p, c->sas, c->nsas * sizeof(*p));
			explicit_bzero(c->sas, c->sas_cap * sizeof(*p));
			free(c->sas);
		}
		c->sas = p;
		c->sas_cap = cap;
	}
	c->sas[c->nsas++] = sa;
	err = 0;
out:
	xfrm_nl_sa_scrub(&sa.x);
	explicit_bzero(&sa, sizeof(sa));
	return err;
}

static int conf_set(struct static_conf *c)
{
	const char *key = c->ntok > 1 ? c->tok[1] : "";
	const char *val = c->ntok > 2 ? c->tok[2] : NULL;
	__u32 v;

	if (c->ntok != 3) {
		conf_err(c, c->tok_line[0], "'set' needs NAME VALUE");
		return -EINVAL;
	}
	if (!strcmp(key, "mark-mask")) {
		if (conf_u32(val, 0xffffffffu, &v) || !v) {
			conf_err(c, c->tok_line[2], "bad mark-mask '%s'", val);
			return -EINVAL;
		}
		c->mark_mask = v;
		return 0;
	}
	if (!strcmp(key, "drop-unknown-spi")) {
		if (strcmp(val, "on") && strcmp(val, "off")) {
			conf_err(c, c->tok_line[2], "drop-unknown-spi takes on or off, not '%s'",
				 val);
			return -EINVAL;
		}
		c->drop_unknown_spi = !strcmp(val, "on");
		return 0;
	}
	conf_err(c, c->tok_line[1], "unknown setting '%s'", key);
	return -EINVAL;
}

static int conf_statement(struct static_conf *c)
{
	const char *kw = c->tok[0];

	if (c->overflow) {
		conf_err(c, c->tok_line[0],
			 "statement too long (at most %d words of %d characters)",
			 STATIC_CONF_MAX_TOKENS, STATIC_CONF_TOKEN_MAX - 1);
		return -EINVAL;
	}
	if (!strcmp(kw, "sa"))
		return conf_add_sa(c);
	if (!strcmp(kw, "rule"))
		return conf_add_rule(c);
	if (!strcmp(kw, "set"))
		return conf_set(c);
	conf_err(c, c->tok_line[0], "unknown statement '%s' (sa, rule or set)", kw);
	return -EINVAL;
}

static int conf_end_statement(struct static_conf *c)
{
	int err = 0;

	if (c->ntok)
		err = conf_statement(c);
	explicit_bzero(c->tok, sizeof(c->tok[0]) * c->ntok);
	c->ntok = 0;
	c->overflow = false;
	return err;
}

int static_conf_line(struct static_conf *c, const char *line)
{
	const char *p = line;
	bool cont = false;

	c->lineno++;
	for (;;) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			break;
		n = strcspn(p, " \t\r\n");
		if (n == 1 && *p == '\\') {
			/* a lone '\' continues only as the last word */
			const char *q = p + 1;

			while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
				q++;
			if (!*q || *q == '#') {
				cont = true;
				break;
			}
		}
		if (c->ntok >= STATIC_CONF_MAX_TOKENS || n >= STATIC_CONF_TOKEN_MAX) {
			c->overflow = true;
			if (!c->ntok)
				c->tok_line[0] = c->lineno;
		} else {
			memcpy(c->tok[c->ntok], p, n);
			c->tok[c->ntok][n] = '\0';
			c->tok_line[c->ntok] = c->lineno;
			c->ntok++;
		}
		p += n;
	}
	c->cont = cont;
	if (cont)
		return 0;
	if (c->overflow && !c->ntok)
		c->ntok = 1; /* only over-long words: still report it */
	return conf_end_statement(c);
}

/* ---- finish ---- */

static __u16 conf_af(__u8 xfam)
{
	return xfam == XIPSEC_AF_INET ? AF_INET : AF_INET6;
}

static struct static_conf_sa *conf_find_sa(struct static_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nsas; i++)
		if (!strcmp(c->sas[i].name, name))
			return &c->sas[i];
	return NULL;
}

static int conf_bucket(struct static_conf *c, size_t r, const char *name, __u8 action, __u32 sa_id,
		       __u8 flags)
{
	size_t i;
	void *p;

	for (i = 0; i < c->nbuckets; i++) {
		struct spd_bucket *b = &c->buckets[i];

		if (strcmp(b->name, name))
			continue;
		if (b->action != action || b->sa_id != sa_id || b->flags != flags) {
			conf_err(c, c->rule_line[r], "bucket '%s' is used with another action",
				 name);
			return -EINVAL;
		}
		c->rules[r].bucket = (__u32)i;
		return 0;
	}
	if (c->nbuckets >= SPD_MAX_BUCKETS) {
		conf_err(c, c->rule_line[r], "more than %d buckets", SPD_MAX_BUCKETS);
		return -E2BIG;
	}
	p = realloc(c->buckets, (c->nbuckets + 1) * sizeof(*c->buckets));
	if (!p)
		return -ENOMEM;
	c->buckets = p;
	memset(&c->buckets[c->nbuckets], 0, sizeof(c->buckets[0]));
	c->buckets[c->nbuckets].action = action;
	c->buckets[c->nbuckets].flags = flags;
	c->buckets[c->nbuckets].sa_id = sa_id;
	snprintf(c->buckets[c->nbuckets].name, sizeof(c->buckets[0].name), "%s", name);
	c->rules[r].bucket = (__u32)c->nbuckets++;
	return 0;
}

/*
 * Two inbound SAs with the same traffic selector pair would need the same
 * kernel in/fwd policies (one selector, one template): refuse that.
 */
static void conf_check_inbound_overlap(struct static_conf *c)
{
	size_t i, k;
	unsigned int a, b;

	for (i = 0; i < c->nsas; i++) {
		const struct static_conf_sa *x = &c->sas[i];

		for (k = 0; k < i; k++) {
			const struct static_conf_sa *y = &c->sas[k];
			bool same = false;

			if (!x->inbound || !y->inbound)
				continue;
			if (!x->nsel || !y->nsel) {
				same = !x->nsel && !y->nsel && x->x.family == y->x.family;
			} else {
				for (a = 0; a < x->nsel && !same; a++)
					for (b = 0; b < y->nsel && !same; b++)
						same = !memcmp(&x->sel[a], &y->sel[b],
							       sizeof(x->sel[a]));
			}
			if (same) {
				conf_err(c, x->line,
					 "inbound SA '%s' has traffic selectors of inbound SA "
					 "'%s': their kernel in/fwd policies would be the same",
					 x->name, y->name);
				break;
			}
		}
	}
}

int static_conf_finish(struct static_conf *c)
{
	unsigned int shift = (unsigned int)__builtin_ctz(c->mark_mask);
	size_t i, k;

	if (c->cont || c->ntok) {
		conf_err(c, c->lineno, "file ends inside a continued statement");
		c->cont = false;
		c->ntok = 0;
	}
	for (i = 0; i < c->nsas; i++) {
		struct static_conf_sa *sa = &c->sas[i];

		sa->id = (__u32)i + 1;
		for (k = 0; k < sa->nsel; k++)
			sa->inner_families |= sa->sel[k].family == XIPSEC_AF_INET ? 1 : 2;
		/*
		 * The kernel state's own selector: outbound any (BPF chose the packets),
		 * inbound the single selector pair if there is one, so the kernel
		 * checks decrypted packets too; AF_UNSPEC lets both inner families in.
		 */
		memset(&sa->x.sel, 0, sizeof(sa->x.sel));
		sa->x.flags |= XFRM_STATE_AF_UNSPEC;
		if (sa->inbound && sa->nsel == 1) {
			const struct static_conf_sel *s = &sa->sel[0];

			sa->x.flags &= ~XFRM_STATE_AF_UNSPEC;
			sa->x.sel.family = conf_af(s->family);
			memcpy(&sa->x.sel.saddr, s->remote, 16);
			memcpy(&sa->x.sel.daddr, s->local, 16);
			sa->x.sel.prefixlen_s = s->remote_plen;
			sa->x.sel.prefixlen_d = s->local_plen;
		}
		if (!sa->reqid_set)
			sa->x.reqid = STATIC_CONF_REQID_BASE + sa->id;
		if (!sa->inbound) {
			__u64 mark = (__u64)sa->id << shift;

			if (mark & ~(__u64)c->mark_mask) {
				conf_err(c, sa->line,
					 "SA '%s': id %u does not fit mark-mask 0x%08x", sa->name,
					 sa->id, c->mark_mask);
				continue;
			}
			sa->mark = (__u32)mark;
		}
	}
	for (i = 0; i < c->nrules; i++) {
		char name[STATIC_CONF_NAME_MAX];
		__u8 action = c->rule_action[i];
		__u32 sa_id = 0;
		__u8 flags = 0;

		if (action == SPD_ACT_PROTECT) {
			struct static_conf_sa *sa = conf_find_sa(c, c->rule_sa[i]);

			if (!sa) {
				conf_err(c, c->rule_line[i], "rule protects with unknown SA '%s'",
					 c->rule_sa[i]);
				continue;
			}
			if (sa->inbound) {
				conf_err(c, c->rule_line[i],
					 "rule protects with inbound SA '%s' (needs an 'out' SA)",
					 c->rule_sa[i]);
				continue;
			}
			sa_id = sa->id;
			sa->inner_families |= c->rules[i].family == XIPSEC_AF_INET ? 1 : 2;
			flags = c->rule_hold[i] ? SPD_BKT_F_HOLD : 0;
			if (c->rule_bucket[i][0])
				snprintf(name, sizeof(name), "%s", c->rule_bucket[i]);
			else
				snprintf(name, sizeof(name), "%.18s%s", sa->name,
					 flags ? "/hold" : "");
		} else {
			snprintf(name, sizeof(name), "%s",
				 c->rule_bucket[i][0]	  ? c->rule_bucket[i] :
				 action == SPD_ACT_BYPASS ? "bypass" :
							    "discard");
		}
		if (conf_bucket(c, i, name, action, sa_id, flags) == -ENOMEM)
			return -ENOMEM;
	}
	/* An outbound SA no rule uses still gets a policy for its outer family. */
	for (i = 0; i < c->nsas; i++)
		if (!c->sas[i].inner_families)
			c->sas[i].inner_families = c->sas[i].x.family == AF_INET ? 1 : 2;
	conf_check_inbound_overlap(c);
	/* Compile the rules now: a set the dataplane cannot hold fails here, not half way. */
	if (!c->nerrs && c->nrules) {
		struct spd_set set = { .rules = c->rules,
				       .nrules = c->nrules,
				       .buckets = c->buckets,
				       .nbuckets = c->nbuckets };
		struct spd_compiled cc;
		struct spd_error e;
		int err;

		memset(&cc, 0, sizeof(cc));
		memset(&e, 0, sizeof(e));
		e.rule = e.bucket = -1;
		err = spd_compile(&set, 0, &cc, &e);
		spd_compiled_free(&cc);
		if (err == -ENOMEM)
			return err;
		if (err)
			conf_err(c,
				 e.rule >= 0 && (size_t)e.rule < c->nrules ? c->rule_line[e.rule] :
									     0,
				 "%s", e.msg);
	}
	return c->nerrs ? -EINVAL : 0;
}

/* Largest file accepted: 100k rules of ~100 bytes fit comfortably. */
#define STATIC_CONF_FILE_MAX (64u << 20)

int static_conf_load_file(struct static_conf *c, const char *path)
{
	struct stat st;
	char *buf = NULL, *p, *nl;
	size_t len = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > STATIC_CONF_FILE_MAX) {
		conf_err(c, 0, "not a regular file of at most %u MiB", STATIC_CONF_FILE_MAX >> 20);
		err = -EINVAL;
		goto out;
	}
	/* Our own buffer rather than stdio's, so the keys in it can be scrubbed. */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	for (p = buf; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl)
			nl = buf + len;
		*nl = '\0';
		static_conf_line(c, p);
	}
	if (c->has_keys && (st.st_mode & (S_IRWXG | S_IRWXO)))
		conf_err(
			c, 0,
			"holds keys but is accessible by group or others (mode %04o): chmod 600 it",
			(unsigned int)(st.st_mode & 07777));
	err = static_conf_finish(c);
out:
	if (buf) {
		explicit_bzero(buf, len + 1);
		free(buf);
	}
	close(fd);
	return err;
}

/* ---- kernel objects and map records of an SA ---- */

static void conf_xfrm_addr(xfrm_address_t *a, const __be32 addr[4])
{
	memcpy(a, addr, sizeof(*a));
}

int static_conf_sa_policies(const struct static_conf *c, const struct static_conf_sa *sa,
			    struct xfrm_nl_policy *pol)
{
	struct xfrm_user_tmpl t;
	int n = 0;
	unsigned int i;

	(void)c;
	memset(&t, 0, sizeof(t));
	t.family = sa->x.family;
	t.saddr = sa->x.saddr;
	t.id.daddr = sa->x.daddr;
	t.id.proto = IPPROTO_ESP;
	t.mode = XFRM_MODE_TUNNEL;
	t.reqid = sa->x.reqid;
	t.aalgos = t.ealgos = t.calgos = ~0u;

	if (!sa->inbound) {
		/* Steering is by mark only: the SPD in BPF already chose the packets. */
		for (i = 0; i < 2; i++) {
			if (!(sa->inner_families & (1u << i)))
				continue;
			xfrm_nl_policy_init(&pol[n], i ? AF_INET6 : AF_INET, XFRM_POLICY_OUT);
			pol[n].priority = STATIC_CONF_XFRM_PRIORITY;
			pol[n].has_mark = true;
			pol[n].mark.v = sa->mark;
			pol[n].mark.m = c->mark_mask;
			pol[n].ntmpl = 1;
			pol[n].tmpl[0] = t;
			n++;
		}
		return n;
	}
	/* Inbound tunnel-mode packets need an 'in' (local) and 'fwd' (routed) policy. */
	for (i = 0; i < (sa->nsel ? sa->nsel : 1); i++) {
		struct xfrm_selector sel;
		unsigned int d;

		memset(&sel, 0, sizeof(sel));
		if (sa->nsel) {
			const struct static_conf_sel *s = &sa->sel[i];

			sel.family = conf_af(s->family);
			conf_xfrm_addr(&sel.saddr, s->remote);
			conf_xfrm_addr(&sel.daddr, s->local);
			sel.prefixlen_s = s->remote_plen;
			sel.prefixlen_d = s->local_plen;
		} else {
			sel.family = sa->x.family;
		}
		for (d = 0; d < 2; d++) {
			xfrm_nl_policy_init(&pol[n], sel.family,
					    d ? XFRM_POLICY_FWD : XFRM_POLICY_IN);
			pol[n].sel = sel;
			pol[n].priority = STATIC_CONF_XFRM_PRIORITY;
			pol[n].ntmpl = 1;
			pol[n].tmpl[0] = t;
			n++;
		}
	}
	return n;
}

static void conf_prefix_rec(struct xipsec_prefix *p, __u8 family, const __be32 addr[4], __u8 plen)
{
	unsigned int i, words = family == XIPSEC_AF_INET ? 1 : 4;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < words; i++) {
		__u32 keep = plen >= (i + 1) * 32 ? 32 : plen > i * 32 ? plen - i * 32 : 0;

		p->mask[i] = keep ? htonl(~0u << (32 - keep)) : 0;
		p->net[i] = addr[i] & p->mask[i];
	}
}

void static_conf_sa_record(const struct static_conf *c, const struct static_conf_sa *sa,
			   struct xipsec_sa *rec)
{
	unsigned int i;

	memset(rec, 0, sizeof(*rec));
	rec->spi = sa->x.spi;
	rec->reqid = sa->x.reqid;
	if (!sa->inbound) {
		rec->flags = XIPSEC_SA_F_OUTBOUND;
		rec->mark = sa->mark;
		rec->mark_mask = c->mark_mask;
		return;
	}
	rec->flags = XIPSEC_SA_F_INBOUND;
	if (!sa->nsel) {
		/* no selectors given: accept any inner address of either family */
		rec->nsel = 2;
		rec->sel[0].family = XIPSEC_AF_INET;
		rec->sel[1].family = XIPSEC_AF_INET6;
		return;
	}
	rec->nsel = (__u8)sa->nsel;
	for (i = 0; i < sa->nsel; i++) {
		const struct static_conf_sel *s = &sa->sel[i];

		rec->sel[i].family = s->family;
		conf_prefix_rec(&rec->sel[i].src, s->family, s->remote, s->remote_plen);
		conf_prefix_rec(&rec->sel[i].dst, s->family, s->local, s->local_plen);
	}
}
