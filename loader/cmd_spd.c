// SPDX-License-Identifier: GPL-2.0-only
/*
 * xipsec spd list [--json] | add RULE | del INDEX | flush
 *
 * Every change reads the active rule set, edits it in memory and installs
 * it as a new generation (lib/spd.c): the programs see the old set or the
 * new one, never a mix. Bucket counters stay with their bucket id.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xipsec/dataplane.h"
#include "apply.h"
#include "journal.h"
#include "log.h"
#include "spd.h"
#include "static_conf.h"
#include "xipsec.h"

static const char *spd_action_name(__u8 a)
{
	switch (a) {
	case SPD_ACT_PROTECT:
		return "protect";
	case SPD_ACT_BYPASS:
		return "bypass";
	case SPD_ACT_DISCARD:
		return "discard";
	}
	return "none";
}

static void spd_print_ports(const char *kw, __u16 lo, __u16 hi)
{
	if (lo == 0 && hi == 65535)
		return;
	if (lo == hi)
		printf(" %s %u", kw, lo);
	else
		printf(" %s %u-%u", kw, lo, hi);
}

static int spd_list(const struct spd_maps *m, bool json)
{
	struct spd_set set;
	size_t i;
	int err;

	err = spd_read_active(m, &set);
	if (err) {
		log_err("spd list: %s", strerror(-err));
		return err;
	}
	if (json)
		printf("[");
	for (i = 0; i < set.nrules; i++) {
		const struct spd_rule *r = &set.rules[i];
		const struct spd_bucket *b =
			r->bucket < set.nbuckets ? &set.buckets[r->bucket] : NULL;
		struct spd_bucket_stats st;
		char src[64], dst[64], pbuf[8];

		spd_format_prefix(r->family, r->src, r->src_plen, src, sizeof(src));
		spd_format_prefix(r->family, r->dst, r->dst_plen, dst, sizeof(dst));
		memset(&st, 0, sizeof(st));
		spd_bucket_stats_read(m, r->bucket, &st);
		if (json) {
			printf("%s{\"index\":%zu,\"from\":\"%s\",\"to\":\"%s\",\"proto\":%u,"
			       "\"sport\":[%u,%u],\"dport\":[%u,%u],\"priority\":%u,\"bucket\":%u,"
			       "\"bucket_name\":",
			       i ? "," : "", i, src, dst, r->proto, r->sport_lo, r->sport_hi,
			       r->dport_lo, r->dport_hi, r->priority, r->bucket);
			xipsec_json_str(stdout, b ? b->name : "");
			printf(",\"action\":\"%s\",\"sa_id\":%u,\"hold\":%s,\"packets\":%" PRIu64
			       ",\"bytes\":%" PRIu64 ",\"drop_discard\":%" PRIu64
			       ",\"drop_no_sa\":%" PRIu64 ",\"acquires\":%" PRIu64 "}",
			       spd_action_name(b ? b->action : 0), b ? b->sa_id : 0,
			       b && (b->flags & SPD_BKT_F_HOLD) ? "true" : "false",
			       (uint64_t)st.packets, (uint64_t)st.bytes, (uint64_t)st.drop_discard,
			       (uint64_t)st.drop_no_sa, (uint64_t)st.acquires);
		} else {
			printf("%zu: from %s to %s", i, src, dst);
			if (r->proto)
				printf(" proto %s",
				       static_conf_proto_name(r->proto, pbuf, sizeof(pbuf)));
			spd_print_ports("sport", r->sport_lo, r->sport_hi);
			spd_print_ports("dport", r->dport_lo, r->dport_hi);
			printf(" priority %u %s", r->priority, spd_action_name(b ? b->action : 0));
			if (b && b->action == SPD_ACT_PROTECT)
				printf(" sa-id %u%s", b->sa_id,
				       b->flags & SPD_BKT_F_HOLD ? " hold" : "");
			printf("  [bucket %u '%s': %" PRIu64 " pkts %" PRIu64 " bytes", r->bucket,
			       b ? b->name : "", (uint64_t)st.packets, (uint64_t)st.bytes);
			if (st.drop_discard || st.drop_no_sa)
				printf(", %" PRIu64 " dropped",
				       (uint64_t)(st.drop_discard + st.drop_no_sa));
			printf("]\n");
		}
	}
	if (json)
		printf("]\n");
	spd_set_free(&set);
	return 0;
}

/* Bucket of the given shape, reused by name or appended. */
static int spd_find_bucket(struct spd_set *set, const char *name, __u8 action, __u32 sa_id,
			   __u8 flags, __u32 *id)
{
	struct spd_bucket *b;
	size_t i;

	for (i = 0; i < set->nbuckets; i++) {
		b = &set->buckets[i];
		if (strcmp(b->name, name))
			continue;
		if (b->action != action || b->sa_id != sa_id || b->flags != flags) {
			log_err("spd add: bucket '%s' is used with another action", name);
			return -EINVAL;
		}
		*id = (__u32)i;
		return 0;
	}
	b = realloc(set->buckets, (set->nbuckets + 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	set->buckets = b;
	b = &set->buckets[set->nbuckets];
	memset(b, 0, sizeof(*b));
	b->action = action;
	b->sa_id = sa_id;
	b->flags = flags;
	snprintf(b->name, sizeof(b->name), "%s", name);
	*id = (__u32)set->nbuckets++;
	return 0;
}

/* A rule from the command line, resolved against the journal; before any map is touched. */
struct spd_new_rule {
	struct spd_rule r;
	char bucket[STATIC_CONF_NAME_MAX];
	__u32 sa_id;
	__u8 action, flags;
};

static int spd_parse_new(int argc, char **argv, struct spd_new_rule *n)
{
	char sa[STATIC_CONF_NAME_MAX], err_msg[200], path[512];
	const struct journal_sa *js;
	struct journal j;
	bool hold;
	int err;

	memset(n, 0, sizeof(*n));
	err = static_conf_parse_rule(argc, argv, &n->r, &n->action, &hold, sa, n->bucket, err_msg,
				     sizeof(err_msg));
	if (err) {
		fprintf(stderr, "xipsec spd add: %s\n", err_msg);
		xipsec_usage(stderr, "spd");
		return err;
	}
	if (n->action != SPD_ACT_PROTECT) {
		if (!n->bucket[0])
			snprintf(n->bucket, sizeof(n->bucket), "%s",
				 n->action == SPD_ACT_BYPASS ? "bypass" : "discard");
		return 0;
	}
	err = apply_journal_path(&xipsec_paths, path, sizeof(path));
	if (!err)
		err = journal_read(path, &j);
	if (err) {
		log_err("spd add: read journal: %s", strerror(-err));
		return err;
	}
	js = journal_find_sa_name(&j, sa);
	if (!js || js->inbound) {
		log_err("spd add: no outbound SA '%s' installed by 'xipsec load'", sa);
		journal_free(&j);
		return -ENOENT;
	}
	n->sa_id = js->id;
	journal_free(&j);
	n->flags = hold ? SPD_BKT_F_HOLD : 0;
	if (!n->bucket[0])
		snprintf(n->bucket, sizeof(n->bucket), "%.18s%s", sa, hold ? "/hold" : "");
	return 0;
}

static int spd_add(const struct spd_maps *m, struct spd_new_rule *n)
{
	struct spd_error e;
	struct spd_rule r = n->r;
	struct spd_set set;
	void *p;
	int err;

	err = spd_read_active(m, &set);
	if (err) {
		log_err("spd add: read rules: %s", strerror(-err));
		return err;
	}
	err = spd_find_bucket(&set, n->bucket, n->action, n->sa_id, n->flags, &r.bucket);
	if (err)
		goto out;
	p = realloc(set.rules, (set.nrules + 1) * sizeof(r));
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	set.rules = p;
	set.rules[set.nrules++] = r;
	memset(&e, 0, sizeof(e));
	err = spd_install(m, &set, &e);
	if (err)
		log_err("spd add: %s", e.msg[0] ? e.msg : strerror(-err));
out:
	spd_set_free(&set);
	return err;
}

static int spd_del(const struct spd_maps *m, const char *arg)
{
	struct spd_error e;
	struct spd_set set;
	unsigned long idx;
	char *end;
	int err;

	idx = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end) {
		fprintf(stderr, "xipsec spd del: bad index '%s'\n", arg);
		return -EINVAL;
	}
	err = spd_read_active(m, &set);
	if (err) {
		log_err("spd del: read rules: %s", strerror(-err));
		return err;
	}
	if (idx >= set.nrules) {
		log_err("spd del: no rule %lu (there are %zu)", idx, set.nrules);
		err = -ENOENT;
		goto out;
	}
	memmove(&set.rules[idx], &set.rules[idx + 1],
		(set.nrules - idx - 1) * sizeof(set.rules[0]));
	set.nrules--;
	memset(&e, 0, sizeof(e));
	err = spd_install(m, &set, &e);
	if (err)
		log_err("spd del: %s", e.msg[0] ? e.msg : strerror(-err));
out:
	spd_set_free(&set);
	return err;
}

static int spd_flush(const struct spd_maps *m)
{
	struct spd_set set;
	struct spd_error e;
	int err;

	memset(&set, 0, sizeof(set));
	memset(&e, 0, sizeof(e));
	err = spd_install(m, &set, &e);
	if (err)
		log_err("spd flush: %s", e.msg[0] ? e.msg : strerror(-err));
	return err;
}

int cmd_spd(int argc, char **argv)
{
	struct spd_new_rule n;
	struct spd_maps m;
	int err;

	memset(&n, 0, sizeof(n));
	if (argc < 1)
		goto usage;
	if (!strcmp(argv[0], "list")) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json")))
			goto usage;
	} else if (!strcmp(argv[0], "del")) {
		if (argc != 2)
			goto usage;
	} else if (!strcmp(argv[0], "flush")) {
		if (argc != 1)
			goto usage;
	} else if (strcmp(argv[0], "add") || argc < 2) {
		goto usage;
	} else if (spd_parse_new(argc - 1, argv + 1, &n)) {
		return 1;
	}
	err = spd_maps_open_pinned(&m, xipsec_paths.pin_dir);
	if (err) {
		log_err("spd: no dataplane maps in %s (%s): run 'xipsec attach' first",
			xipsec_paths.pin_dir, strerror(-err));
		return 1;
	}
	if (!strcmp(argv[0], "list"))
		err = spd_list(&m, argc == 2);
	else if (!strcmp(argv[0], "add"))
		err = spd_add(&m, &n);
	else if (!strcmp(argv[0], "del"))
		err = spd_del(&m, argv[1]);
	else
		err = spd_flush(&m);
	spd_maps_close(&m);
	return err ? 1 : 0;
usage:
	xipsec_usage(stderr, "spd");
	return 1;
}
