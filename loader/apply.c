// SPDX-License-Identifier: GPL-2.0-only
/* The `load` transaction; steps in apply.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include "xipsec/dataplane.h"
#include "dp_ike.h"
#include "dp_maps.h"
#include "journal.h"
#include "log.h"
#include "spd.h"
#include "apply.h"

enum apply_undo_kind {
	UNDO_SA_ADDED, /* delete it */
	UNDO_SA_REPLACED, /* delete the new one, re-add .sa (old copy, keys) */
	UNDO_POL_ADDED,
	UNDO_POL_REPLACED, /* update back to .pol */
	UNDO_REC, /* restore xipsec_sa[.rec_id] to .rec */
};

struct apply_undo {
	enum apply_undo_kind kind;
	struct xfrm_nl_sa sa;
	struct xfrm_nl_policy pol;
	__u32 rec_id;
	struct xipsec_sa rec;
};

struct apply_ctx {
	const struct static_conf *c;
	struct xfrm_nl *nl;
	struct dp_maps dp;
	struct spd_maps spd;
	bool have_maps;
	struct journal old, new;
	struct apply_undo *undo;
	size_t nundo, undo_cap;
	char journal[512];
};

int apply_journal_path(const struct xipsec_paths *paths, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/journal", paths->run_dir) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static struct apply_undo *apply_push(struct apply_ctx *a, enum apply_undo_kind kind)
{
	struct apply_undo *u;

	if (a->nundo == a->undo_cap) {
		size_t cap = a->undo_cap ? a->undo_cap * 2 : 16;

		u = calloc(cap, sizeof(*u));
		if (!u)
			return NULL;
		if (a->undo) {
			memcpy(u, a->undo, a->nundo * sizeof(*u));
			explicit_bzero(a->undo, a->undo_cap * sizeof(*u));
			free(a->undo);
		}
		a->undo = u;
		a->undo_cap = cap;
	}
	u = &a->undo[a->nundo++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	return u;
}

static void apply_rollback(struct apply_ctx *a)
{
	struct xfrm_nl_policy_id pid;
	struct xfrm_nl_sa_id sid;
	int err = 0;

	while (a->nundo) {
		struct apply_undo *u = &a->undo[--a->nundo];

		switch (u->kind) {
		case UNDO_SA_ADDED:
			xfrm_nl_sa_to_id(&u->sa, &sid);
			err = xfrm_nl_sa_del(a->nl, &sid);
			break;
		case UNDO_SA_REPLACED:
			xfrm_nl_sa_to_id(&u->sa, &sid);
			xfrm_nl_sa_del(a->nl, &sid);
			err = xfrm_nl_sa_add(a->nl, &u->sa, false);
			break;
		case UNDO_POL_ADDED:
			xfrm_nl_policy_to_id(&u->pol, &pid);
			err = xfrm_nl_policy_del(a->nl, &pid);
			break;
		case UNDO_POL_REPLACED:
			err = xfrm_nl_policy_add(a->nl, &u->pol, true);
			break;
		case UNDO_REC:
			err = u->rec.flags ? dp_sa_set(&a->dp, u->rec_id, &u->rec) :
					     dp_sa_del(&a->dp, u->rec_id);
			break;
		}
		if (err && err != -ENOENT)
			log_warn("load: rollback step failed: %s", strerror(-err));
		xfrm_nl_sa_scrub(&u->sa);
	}
}

/* The fields `load` sets, compared with what the kernel holds. */
static bool apply_sa_same(const struct xfrm_nl_sa *k, const struct xfrm_nl_sa *n)
{
	const struct xfrm_nl_alg *ka[] = { &k->aead, &k->crypt, &k->auth };
	const struct xfrm_nl_alg *na[] = { &n->aead, &n->crypt, &n->auth };
	int i;

	if (k->family != n->family || memcmp(&k->saddr, &n->saddr, sizeof(k->saddr)) ||
	    k->reqid != n->reqid || k->mode != n->mode || k->replay_window != n->replay_window ||
	    memcmp(&k->sel, &n->sel, sizeof(k->sel)) || k->has_encap != n->has_encap ||
	    (k->has_encap && memcmp(&k->encap, &n->encap, sizeof(k->encap))))
		return false;
	for (i = 0; i < 3; i++)
		if (strcmp(ka[i]->name, na[i]->name) || ka[i]->key_len != na[i]->key_len ||
		    ka[i]->bits != na[i]->bits || memcmp(ka[i]->key, na[i]->key, ka[i]->key_len))
			return false;
	return true;
}

static void apply_sa_desc(const struct xfrm_nl_sa_id *id, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(id->family, &id->daddr, addr, sizeof(addr));
	snprintf(buf, len, "spi 0x%08x dst %s", ntohl(id->spi), addr);
}

/* Step 1: is every object we are about to write either absent or ours? */
static int apply_check_conflicts(struct apply_ctx *a)
{
	const struct static_conf *c = a->c;
	struct xfrm_nl_policy pol[STATIC_CONF_MAX_POL], got_pol;
	struct xfrm_nl_policy_id pid;
	struct xfrm_nl_sa_id sid;
	struct xfrm_nl_sa got;
	char desc[96];
	size_t i;
	int n, k, err, bad = 0;

	for (i = 0; c && i < c->nsas; i++) {
		xfrm_nl_sa_to_id(&c->sas[i].x, &sid);
		err = xfrm_nl_sa_get(a->nl, &sid, &got);
		xfrm_nl_sa_scrub(&got);
		if (err == -ENOENT)
			continue;
		apply_sa_desc(&sid, desc, sizeof(desc));
		if (err) {
			log_err("%s:%u: SA '%s': look up %s: %s", c->file, c->sas[i].line,
				c->sas[i].name, desc, strerror(-err));
			return err;
		}
		if (!journal_find_sa(&a->old, &sid)) {
			log_err("%s:%u: SA '%s': a state with %s exists and was not installed by "
				"xipsec; not replacing it",
				c->file, c->sas[i].line, c->sas[i].name, desc);
			bad = -EEXIST;
		}
	}
	for (i = 0; c && i < c->nsas; i++) {
		n = static_conf_sa_policies(c, &c->sas[i], pol);
		for (k = 0; k < n; k++) {
			xfrm_nl_policy_to_id(&pol[k], &pid);
			err = xfrm_nl_policy_get(a->nl, &pid, &got_pol);
			if (err == -ENOENT)
				continue;
			if (err) {
				log_err("%s:%u: SA '%s': look up policy: %s", c->file,
					c->sas[i].line, c->sas[i].name, strerror(-err));
				return err;
			}
			if (!journal_find_pol(&a->old, &pid)) {
				log_err("%s:%u: SA '%s': a 'dir %s' policy with the same selector and mark "
					"exists and was not installed by xipsec; not replacing it",
					c->file, c->sas[i].line, c->sas[i].name,
					pid.dir == XFRM_POLICY_OUT ? "out" :
					pid.dir == XFRM_POLICY_IN  ? "in" :
								     "fwd");
				bad = -EEXIST;
			}
		}
	}
	return bad;
}

static int apply_build_journal(struct apply_ctx *a)
{
	const struct static_conf *c = a->c;
	struct xfrm_nl_policy pol[STATIC_CONF_MAX_POL];
	size_t i;
	int n, k, err;

	for (i = 0; c && i < c->nsas; i++) {
		struct journal_sa s;

		memset(&s, 0, sizeof(s));
		snprintf(s.name, sizeof(s.name), "%s", c->sas[i].name);
		s.id = c->sas[i].id;
		s.inbound = c->sas[i].inbound;
		s.reqid = c->sas[i].x.reqid;
		xfrm_nl_sa_to_id(&c->sas[i].x, &s.xid);
		err = journal_add_sa(&a->new, &s);
		if (err)
			return err;
		n = static_conf_sa_policies(c, &c->sas[i], pol);
		for (k = 0; k < n; k++) {
			struct journal_pol p;

			xfrm_nl_policy_to_id(&pol[k], &p.pid);
			err = journal_add_pol(&a->new, &p);
			if (err)
				return err;
		}
	}
	return 0;
}

static int apply_write_intent(struct apply_ctx *a)
{
	struct journal u;
	size_t i;
	int err = 0;

	memset(&u, 0, sizeof(u));
	for (i = 0; !err && i < a->old.nsas; i++)
		err = journal_add_sa(&u, &a->old.sas[i]);
	for (i = 0; !err && i < a->new.nsas; i++)
		if (!journal_find_sa(&u, &a->new.sas[i].xid))
			err = journal_add_sa(&u, &a->new.sas[i]);
	for (i = 0; !err && i < a->old.npols; i++)
		err = journal_add_pol(&u, &a->old.pols[i]);
	for (i = 0; !err && i < a->new.npols; i++)
		if (!journal_find_pol(&u, &a->new.pols[i].pid))
			err = journal_add_pol(&u, &a->new.pols[i]);
	if (!err)
		err = journal_write(a->journal, &u);
	journal_free(&u);
	if (err)
		log_err("load: write %s: %s", a->journal, strerror(-err));
	return err;
}

/* Step 3 for one SA. */
static int apply_sa(struct apply_ctx *a, const struct static_conf_sa *s)
{
	const struct static_conf *c = a->c;
	struct xfrm_nl_sa_id sid;
	struct xfrm_nl_sa old;
	struct apply_undo *u;
	char desc[96];
	int err;

	xfrm_nl_sa_to_id(&s->x, &sid);
	apply_sa_desc(&sid, desc, sizeof(desc));
	err = xfrm_nl_sa_get(a->nl, &sid, &old);
	if (!err && apply_sa_same(&old, &s->x)) {
		xfrm_nl_sa_scrub(&old);
		log_debug("load: SA '%s' (%s) unchanged", s->name, desc);
		return 0;
	}
	if (!err) {
		/* changed keys or parameters: UPDSA would keep the old keys */
		u = apply_push(a, UNDO_SA_REPLACED);
		if (!u) {
			xfrm_nl_sa_scrub(&old);
			return -ENOMEM;
		}
		u->sa = old;
		xfrm_nl_sa_scrub(&old);
		err = xfrm_nl_sa_del(a->nl, &sid);
		if (err) {
			a->nundo--;
			xfrm_nl_sa_scrub(&u->sa);
			goto fail;
		}
	} else if (err == -ENOENT) {
		u = apply_push(a, UNDO_SA_ADDED);
		if (!u)
			return -ENOMEM;
		u->sa.family = s->x.family;
		u->sa.daddr = s->x.daddr;
		u->sa.spi = s->x.spi;
		u->sa.proto = s->x.proto;
	} else {
		goto fail;
	}
	err = xfrm_nl_sa_add(a->nl, &s->x, false);
	if (err) {
		if (u->kind == UNDO_SA_ADDED)
			a->nundo--;
		goto fail;
	}
	log_info("load: SA '%s' %s %s reqid %u installed", s->name, s->inbound ? "in" : "out", desc,
		 s->x.reqid);
	return 0;
fail:
	log_err("%s:%u: SA '%s' (%s): kernel refused it: %s%s%s", c->file, s->line, s->name, desc,
		strerror(-err), *xfrm_nl_errmsg(a->nl) ? ": " : "", xfrm_nl_errmsg(a->nl));
	return err;
}

static int apply_policies(struct apply_ctx *a, const struct static_conf_sa *s)
{
	const struct static_conf *c = a->c;
	struct xfrm_nl_policy pol[STATIC_CONF_MAX_POL], old;
	struct xfrm_nl_policy_id pid;
	struct apply_undo *u;
	int n, k, err;

	n = static_conf_sa_policies(c, s, pol);
	for (k = 0; k < n; k++) {
		xfrm_nl_policy_to_id(&pol[k], &pid);
		err = xfrm_nl_policy_get(a->nl, &pid, &old);
		if (err && err != -ENOENT)
			goto fail;
		u = apply_push(a, err ? UNDO_POL_ADDED : UNDO_POL_REPLACED);
		if (!u)
			return -ENOMEM;
		u->pol = err ? pol[k] : old;
		err = xfrm_nl_policy_add(a->nl, &pol[k], u->kind == UNDO_POL_REPLACED);
		if (err) {
			a->nundo--;
			goto fail;
		}
	}
	return 0;
fail:
	log_err("%s:%u: SA '%s': kernel refused its policy: %s%s%s", c->file, s->line, s->name,
		strerror(-err), *xfrm_nl_errmsg(a->nl) ? ": " : "", xfrm_nl_errmsg(a->nl));
	return err;
}

static int apply_records(struct apply_ctx *a)
{
	const struct static_conf *c = a->c;
	struct xipsec_sa rec;
	struct apply_undo *u;
	size_t i;
	int err;

	for (i = 0; c && i < c->nsas; i++) {
		const struct static_conf_sa *s = &c->sas[i];

		u = apply_push(a, UNDO_REC);
		if (!u)
			return -ENOMEM;
		u->rec_id = s->id;
		if (dp_sa_get(&a->dp, s->id, &u->rec))
			memset(&u->rec, 0, sizeof(u->rec));
		static_conf_sa_record(c, s, &rec);
		/* the kernel state and policy exist by now: PROTECT may steer */
		rec.flags |= XIPSEC_SA_F_INSTALLED;
		err = dp_sa_set(&a->dp, s->id, &rec);
		if (err) {
			log_err("load: write %s[%u]: %s", XIPSEC_MAP_SA, s->id, strerror(-err));
			return err;
		}
	}
	return 0;
}

static bool apply_static_bucket(const struct spd_bucket *b, void *arg)
{
	(void)arg;
	return !dp_ike_bucket(b);
}

static int apply_rules(struct apply_ctx *a)
{
	const struct static_conf *c = a->c;
	struct spd_set set;
	struct spd_error e;
	int err;

	memset(&set, 0, sizeof(set));
	if (c) {
		set.rules = c->rules;
		set.nrules = c->nrules;
		set.buckets = c->buckets;
		set.nbuckets = c->nbuckets;
	}
	memset(&e, 0, sizeof(e));
	e.rule = e.bucket = -1;
	/* xiked's buckets (dp_ike.h) stay; everything else is this file's */
	err = dp_spd_replace(&a->spd, apply_static_bucket, NULL, &set, true, &e);
	if (err) {
		if (c && e.rule >= 0 && (size_t)e.rule < c->nrules)
			log_err("%s:%u: %s", c->file, c->rule_line[e.rule], e.msg);
		else
			log_err("load: SPD: %s", e.msg[0] ? e.msg : strerror(-err));
	}
	return err;
}

/* Step 5: what the old configuration had and the new one does not. */
static void apply_remove_stale(struct apply_ctx *a)
{
	size_t i, nsas = a->c ? a->c->nsas : 0;
	int err;

	for (i = 0; a->have_maps && i < a->old.nsas; i++) {
		__u32 id = a->old.sas[i].id;

		if (id > nsas && id < XIPSEC_MAX_SA) {
			err = dp_sa_del(&a->dp, id);
			if (err && err != -ENOENT)
				log_warn("load: clear %s[%u]: %s", XIPSEC_MAP_SA, id,
					 strerror(-err));
		}
	}
	for (i = 0; i < a->old.npols; i++) {
		if (journal_find_pol(&a->new, &a->old.pols[i].pid))
			continue;
		err = xfrm_nl_policy_del(a->nl, &a->old.pols[i].pid);
		if (err && err != -ENOENT)
			log_warn("load: remove old policy: %s", strerror(-err));
	}
	for (i = 0; i < a->old.nsas; i++) {
		char desc[96];

		if (journal_find_sa(&a->new, &a->old.sas[i].xid))
			continue;
		apply_sa_desc(&a->old.sas[i].xid, desc, sizeof(desc));
		err = xfrm_nl_sa_del(a->nl, &a->old.sas[i].xid);
		if (err && err != -ENOENT)
			log_warn("load: remove old SA '%s' (%s): %s", a->old.sas[i].name, desc,
				 strerror(-err));
		else
			log_info("load: SA '%s' (%s) removed", a->old.sas[i].name, desc);
	}
}

int apply_conf(const struct static_conf *c, const struct xipsec_paths *paths)
{
	struct apply_ctx a;
	size_t i;
	int err;

	memset(&a, 0, sizeof(a));
	a.c = c && (c->nsas || c->nrules) ? c : NULL;
	a.dp.config_fd = -1;
	err = apply_journal_path(paths, a.journal, sizeof(a.journal));
	if (err)
		return err;
	err = dp_maps_open_pinned(&a.dp, paths->pin_dir);
	if (!err) {
		err = spd_maps_open_pinned(&a.spd, paths->pin_dir);
		if (err)
			dp_maps_close(&a.dp);
	}
	if (err) {
		if (a.c) {
			log_err("load: dataplane maps not found in %s (%s): run 'xipsec attach' first",
				paths->pin_dir, strerror(-err));
			goto out_journal;
		}
		log_debug("load: no dataplane maps in %s: kernel objects only", paths->pin_dir);
	} else {
		a.have_maps = true;
	}
	if (mkdir(paths->run_dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_err("load: create %s: %s", paths->run_dir, strerror(errno));
		goto out_maps;
	}
	err = journal_read(a.journal, &a.old);
	if (err) {
		log_err("load: read %s: %s", a.journal, strerror(-err));
		goto out_maps;
	}
	err = xfrm_nl_open(&a.nl);
	if (err) {
		log_err("load: xfrm netlink: %s", strerror(-err));
		goto out_maps;
	}
	if (a.c) {
		struct spd_set set = { .rules = a.c->rules,
				       .nrules = a.c->nrules,
				       .buckets = a.c->buckets,
				       .nbuckets = a.c->nbuckets };
		struct spd_error e;

		memset(&e, 0, sizeof(e));
		e.rule = -1;
		err = spd_validate(&set, &e);
		if (err) {
			if (e.rule >= 0 && (size_t)e.rule < a.c->nrules)
				log_err("%s:%u: %s", a.c->file, a.c->rule_line[e.rule], e.msg);
			else
				log_err("%s: %s", a.c->file, e.msg);
			goto out_nl;
		}
	}
	err = apply_check_conflicts(&a);
	if (err)
		goto out_nl;
	err = apply_build_journal(&a);
	if (err)
		goto out_nl;
	err = apply_write_intent(&a);
	if (err)
		goto out_nl;

	for (i = 0; a.c && i < a.c->nsas && !err; i++)
		err = apply_sa(&a, &a.c->sas[i]);
	for (i = 0; a.c && i < a.c->nsas && !err; i++)
		err = apply_policies(&a, &a.c->sas[i]);
	if (!err && a.have_maps)
		err = apply_records(&a);
	if (!err && a.have_maps)
		err = apply_rules(&a);
	if (!err && a.have_maps && c && c->drop_unknown_spi >= 0) {
		err = c->drop_unknown_spi ?
			      dp_config_update_flags(&a.dp, XIPSEC_CFG_DROP_UNKNOWN_SPI, 0) :
			      dp_config_update_flags(&a.dp, 0, XIPSEC_CFG_DROP_UNKNOWN_SPI);
		if (err)
			log_err("load: set drop-unknown-spi: %s", strerror(-err));
	}
	if (err) {
		log_err("load: rolling back; the previous configuration stays");
		apply_rollback(&a);
		if (journal_write(a.journal, &a.old))
			log_warn("load: restore %s failed", a.journal);
		goto out_nl;
	}
	apply_remove_stale(&a);
	err = journal_write(a.journal, &a.new);
	if (err)
		log_err("load: write %s: %s", a.journal, strerror(-err));
out_nl:
	for (i = 0; i < a.nundo; i++)
		xfrm_nl_sa_scrub(&a.undo[i].sa);
	if (a.undo)
		explicit_bzero(a.undo, a.undo_cap * sizeof(*a.undo));
	free(a.undo);
	xfrm_nl_close(a.nl);
out_maps:
	if (a.have_maps) {
		dp_maps_close(&a.dp);
		spd_maps_close(&a.spd);
	}
out_journal:
	journal_free(&a.old);
	journal_free(&a.new);
	return err;
}
