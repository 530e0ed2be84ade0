/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Static configuration of `xipsec load`: manually keyed SAs and SPD rules.
 *
 * Parsing is a state machine fed one physical line at a time
 * (static_conf_init / static_conf_line / static_conf_finish), so the fuzz
 * target drives exactly what `xipsec load` runs. Nothing here touches the
 * kernel or prints: errors collect in conf->errs as "file:line: message" with
 * the offending token quoted; the caller prints them. Grammar (one statement
 * per line, '\' at the end of a line continues it, '#' starts a comment):
 *
 *   set mark-mask MASK
 *   set drop-unknown-spi on|off
 *   sa NAME in|out spi SPI src ADDR dst ADDR
 *      (aead ALG KEY [ICV-BITS] | enc ALG KEY auth ALG KEY [TRUNC-BITS])
 *      [reqid N] [replay-window N] [encap espinudp SPORT DPORT]
 *      [traffic LOCAL-PREFIX REMOTE-PREFIX]...
 *   rule from PREFIX to PREFIX [proto P] [sport N[-M]] [dport N[-M]]
 *      [priority N] [bucket NAME] (protect SA [hold] | bypass | discard)
 *
 * Keys are hex with a 0x prefix and include the salt for AEADs (RFC 4106:
 * AES key + 4 bytes). conf->has_keys tells the caller to insist on a file
 * mode without group/other access (static_conf_load_file does).
 */
#ifndef XIPSEC_STATIC_CONF_H
#define XIPSEC_STATIC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "xipsec/sa.h"
#include "xipsec/spd.h"
#include "xfrm_nl.h"

#define STATIC_CONF_NAME_MAX   24 /* fits spd_bucket.name */
#define STATIC_CONF_MAX_SA     1024
#define STATIC_CONF_MAX_TOKENS 64
#define STATIC_CONF_TOKEN_MAX  192
#define STATIC_CONF_MAX_ERRS   20
/* Default mark bits xipsec owns in skb->mark; SA ids are shifted into them. */
#define STATIC_CONF_MARK_MASK 0xffff0000u
/* Static SAs without an explicit reqid get STATIC_CONF_REQID_BASE + SA id. */
#define STATIC_CONF_REQID_BASE 0x78490000u
#define STATIC_CONF_PRIORITY   1000
/* xfrm priority of the kernel policies xipsec installs (lower wins). */
#define STATIC_CONF_XFRM_PRIORITY 0x7800
/* Most kernel policies one SA needs: in + fwd per selector. */
#define STATIC_CONF_MAX_POL (2 * XIPSEC_SA_MAX_SEL)

struct static_conf_sel {
	__u8 family; /* enum xipsec_family */
	__u8 local_plen, remote_plen;
	__be32 local[4]; /* our protected side */
	__be32 remote[4]; /* the peer's protected side */
};

struct static_conf_sa {
	char name[STATIC_CONF_NAME_MAX];
	unsigned int line;
	bool inbound;
	bool reqid_set;
	__u32 id; /* xipsec_sa index (1..), set by finish */
	__u32 mark; /* outbound: policy/skb mark, set by finish */
	__u8 inner_families; /* bit 0 IPv4, bit 1 IPv6: set by finish */
	struct xfrm_nl_sa x; /* the kernel state; holds the keys */
	unsigned int nsel;
	struct static_conf_sel sel[XIPSEC_SA_MAX_SEL];
};

struct static_conf {
	const char *file; /* for messages */
	__u32 mark_mask;
	int drop_unknown_spi; /* -1 unset, 0 off, 1 on */
	bool has_keys;

	struct static_conf_sa *sas;
	size_t nsas;
	struct spd_rule *rules;
	unsigned int *rule_line; /* source line of each rule */
	size_t nrules;
	struct spd_bucket *buckets;
	size_t nbuckets;

	unsigned int nerrs;
	char errs[STATIC_CONF_MAX_ERRS * 160];

	/* parser state */
	unsigned int lineno;
	unsigned int ntok;
	char tok[STATIC_CONF_MAX_TOKENS][STATIC_CONF_TOKEN_MAX];
	unsigned int tok_line[STATIC_CONF_MAX_TOKENS];
	bool cont; /* previous line ended with '\' */
	bool overflow; /* statement had too many or too long tokens */
	char (*rule_sa)[STATIC_CONF_NAME_MAX]; /* protect SA name per rule until finish */
	__u8 *rule_hold;
	char (*rule_bucket)[STATIC_CONF_NAME_MAX];
	__u8 *rule_action;
	size_t rules_cap, sas_cap;
};

void static_conf_init(struct static_conf *c, const char *file);
/* One physical line, without or with its '\n'. Returns 0 or -EINVAL (error recorded). */
int static_conf_line(struct static_conf *c, const char *line);
/* Ends input: resolves names, assigns SA ids, marks, reqids and buckets, validates. */
int static_conf_finish(struct static_conf *c);
/* Frees everything and scrubs the keys. */
void static_conf_free(struct static_conf *c);

/*
 * Reads @path through the state machine. Refuses a file holding keys that is
 * readable or writable by group or others (recorded as an error). Returns 0,
 * -EINVAL (errors in conf->errs) or another -errno from opening the file.
 */
int static_conf_load_file(struct static_conf *c, const char *path);

/*
 * Parses one rule given as words (as `xipsec spd add` receives them, without
 * the leading "rule"). SA names resolve through @sas/@nsas (may be NULL when
 * the rule names none). On success @rule gets everything but the bucket id;
 * *action, *hold, @sa_name and @bucket_name (STATIC_CONF_NAME_MAX each) say
 * where it goes. Returns 0 or -EINVAL with @err (>= 160 bytes) filled.
 */
int static_conf_parse_rule(int argc, char **argv, struct spd_rule *rule, __u8 *action, bool *hold,
			   char *sa_name, char *bucket_name, char *err, size_t errlen);

/*
 * Kernel policies for @sa into @pol (STATIC_CONF_MAX_POL entries); returns
 * how many. Outbound: one 'out' policy per inner family, any to any, matching
 * the SA's mark under conf->mark_mask, template to the SA. Inbound: 'in' and
 * 'fwd' per traffic selector (remote -> local), or any of the outer family.
 */
int static_conf_sa_policies(const struct static_conf *c, const struct static_conf_sa *sa,
			    struct xfrm_nl_policy *pol);
/* The dataplane's xipsec_sa record for @sa (without XIPSEC_SA_F_INSTALLED). */
void static_conf_sa_record(const struct static_conf *c, const struct static_conf_sa *sa,
			   struct xipsec_sa *rec);

/* "tcp" / "17" -> protocol number; -1 when unknown. */
int static_conf_proto(const char *s);
/* Protocol name for output ("any" for 0, else number as text in @buf). */
const char *static_conf_proto_name(__u8 proto, char *buf, size_t len);

#endif
