// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration payloads for virtual IPs; see cp.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "cp.h"

struct cp_pools {
	struct pool **v;
	struct conf_range *ranges; /* the range each pool was made from */
	size_t n;
};

int cp_pools_new(struct cp_pools **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void cp_pools_free(struct cp_pools *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		pool_free(set->v[i]);
	free(set->v);
	free(set->ranges);
	free(set);
}

static bool cp_same_range(const struct conf_range *a, const struct conf_range *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->from, b->from, sizeof(a->from)) && !memcmp(a->to, b->to, sizeof(a->to));
}

int cp_pools_get(struct cp_pools *set, const struct conf_pool *cfg, struct pool **out, char *err,
		 size_t errlen)
{
	struct conf_range *nr;
	struct pool **nv, *p;
	int rc;

	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(pool_name(set->v[i]), cfg->name) &&
		    cp_same_range(&set->ranges[i], &cfg->range)) {
			*out = set->v[i];
			return 0;
		}
	rc = pool_new(cfg, &p, err, errlen);
	if (rc)
		return rc;
	nv = realloc(set->v, (set->n + 1) * sizeof(*nv));
	if (nv)
		set->v = nv;
	nr = nv ? realloc(set->ranges, (set->n + 1) * sizeof(*nr)) : NULL;
	if (!nr) {
		pool_free(p);
		return -ENOMEM;
	}
	set->ranges = nr;
	set->v[set->n] = p;
	set->ranges[set->n] = cfg->range;
	set->n++;
	*out = p;
	return 0;
}

static bool cp_unspecified(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i])
			return false;
	return true;
}

static void cp_add(struct cp_msg *m, uint16_t type, const uint8_t *val, uint16_t len)
{
	struct ikev2_cp_attr *a;

	if (m->cp.n_attrs >= IKEV2_MAX_CP_ATTRS || len > sizeof(m->store[0]))
		return;
	a = &m->cp.attrs[m->cp.n_attrs];
	a->type = type;
	a->len = len;
	a->value = m->store[m->cp.n_attrs];
	if (len)
		memcpy(m->store[m->cp.n_attrs], val, len);
	m->cp.n_attrs++;
}

/* INTERNAL_IP6_ADDRESS carries a prefix length after the address (3.15.1). */
static void cp_add_addr(struct cp_msg *m, const struct pool_addr *a)
{
	uint8_t v[17];

	if (a->family == AF_INET) {
		cp_add(m, IKEV2_CFG_INTERNAL_IP4_ADDRESS, a->addr, 4);
		return;
	}
	memcpy(v, a->addr, 16);
	v[16] = 128;
	cp_add(m, IKEV2_CFG_INTERNAL_IP6_ADDRESS, v, 17);
}

void cp_build_request(const struct conf_conn *conn, struct cp_msg *out)
{
	bool want4 = false, want6 = false;

	memset(out, 0, sizeof(*out));
	out->cp.cfg_type = IKEV2_CFG_REQUEST;
	for (size_t i = 0; i < conn->nvips; i++) {
		const struct conf_range *r = &conn->vips[i];
		struct pool_addr a = { .family = r->family };
		bool v4 = r->family == AF_INET;

		if ((v4 && want4) || (!v4 && want6))
			continue;
		*(v4 ? &want4 : &want6) = true;
		memcpy(a.addr, r->from, v4 ? 4 : 16);
		if (cp_unspecified(a.addr, v4 ? 4 : 16))
			cp_add(out,
			       v4 ? IKEV2_CFG_INTERNAL_IP4_ADDRESS : IKEV2_CFG_INTERNAL_IP6_ADDRESS,
			       NULL, 0);
		else
			cp_add_addr(out, &a);
	}
	if (want4)
		cp_add(out, IKEV2_CFG_INTERNAL_IP4_DNS, NULL, 0);
	if (want6)
		cp_add(out, IKEV2_CFG_INTERNAL_IP6_DNS, NULL, 0);
}

static bool cp_conn_wants(const struct conf_conn *conn, int family)
{
	for (size_t i = 0; i < conn->nvips; i++)
		if (conn->vips[i].family == family)
			return true;
	return false;
}

/* The address in an INTERNAL_IP4/6_ADDRESS attribute; false if empty.
 * -EBADMSG through @bad for a wrong length. */
static bool cp_attr_addr(const struct ikev2_cp_attr *a, struct pool_addr *out, bool *bad)
{
	memset(out, 0, sizeof(*out));
	if (a->type == IKEV2_CFG_INTERNAL_IP4_ADDRESS) {
		out->family = AF_INET;
		if (a->len != 0 && a->len != 4)
			*bad = true;
		if (a->len == 4)
			memcpy(out->addr, a->value, 4);
		return a->len == 4;
	}
	out->family = AF_INET6;
	if (a->len != 0 && a->len != 17)
		*bad = true;
	if (a->len == 17)
		memcpy(out->addr, a->value, 16);
	return a->len == 17;
}

int cp_parse_reply(const struct conf_conn *conn, const struct ikev2_cp *cp, struct cp_vips *out)
{
	bool bad = false;

	memset(out, 0, sizeof(*out));
	if (cp->cfg_type != IKEV2_CFG_REPLY)
		return -EBADMSG;
	for (unsigned int i = 0; i < cp->n_attrs; i++) {
		const struct ikev2_cp_attr *a = &cp->attrs[i];
		struct pool_addr addr;

		if (a->type != IKEV2_CFG_INTERNAL_IP4_ADDRESS &&
		    a->type != IKEV2_CFG_INTERNAL_IP6_ADDRESS)
			continue;
		if (!cp_attr_addr(a, &addr, &bad) ||
		    cp_unspecified(addr.addr, addr.family == AF_INET ? 4 : 16))
			bad = true;
		if (bad)
			return -EBADMSG;
		if (!cp_conn_wants(conn, addr.family) || cp_vip(out, addr.family))
			continue; /* not asked for, or a second one: ignored */
		out->addr[out->n++] = addr;
	}
	for (size_t i = 0; i < conn->nvips; i++)
		if (!cp_vip(out, conn->vips[i].family))
			return -ENOENT;
	return 0;
}

const struct pool_addr *cp_vip(const struct cp_vips *v, int family)
{
	for (unsigned int i = 0; i < v->n; i++)
		if (v->addr[i].family == family)
			return &v->addr[i];
	return NULL;
}

void cp_release(struct cp_vips *vips)
{
	for (unsigned int i = 0; i < vips->n; i++)
		if (vips->pool[i])
			pool_release(vips->pool[i], &vips->addr[i]);
	memset(vips, 0, sizeof(*vips));
}

/* Lease one address of @family from the first of @conn's pools that has one. */
static int cp_lease(struct cp_pools *set, const struct conf_conn *conn, int family,
		    const struct pool_addr *want, const struct pool_client *client,
		    struct cp_vips *vips)
{
	int err = -ENOENT;
	char msg[128];

	for (size_t i = 0; i < conn->npools; i++) {
		const struct conf_pool *pc = conn->pools[i];
		struct pool *p;

		if (pc->range.family != family)
			continue;
		err = cp_pools_get(set, pc, &p, msg, sizeof(msg));
		if (err)
			continue;
		err = pool_acquire(p, client, want, &vips->addr[vips->n]);
		if (!err) {
			vips->pool[vips->n++] = p;
			return 0;
		}
	}
	return err;
}

static void cp_add_dns(struct cp_msg *m, const struct conf_conn *conn, const struct cp_vips *vips)
{
	for (unsigned int v = 0; v < vips->n; v++) {
		const char *name = pool_name(vips->pool[v]);

		for (size_t i = 0; i < conn->npools; i++) {
			const struct conf_pool *pc = conn->pools[i];

			if (strcmp(pc->name, name) != 0)
				continue;
			for (size_t d = 0; d < pc->ndns && d < CP_MAX_DNS; d++) {
				bool v4 = pc->dns[d].family == AF_INET;

				cp_add(m, v4 ? IKEV2_CFG_INTERNAL_IP4_DNS : IKEV2_CFG_INTERNAL_IP6_DNS,
				       pc->dns[d].from, v4 ? 4 : 16);
			}
			break;
		}
	}
}

int cp_respond(struct cp_pools *set, const struct conf_conn *conn, const struct ikev2_cp *req,
	       const struct pool_client *client, struct cp_vips *vips, struct cp_msg *reply)
{
	bool bad = false, asked4 = false, asked6 = false;
	int err = 0, last = 0;

	memset(vips, 0, sizeof(*vips));
	memset(reply, 0, sizeof(*reply));
	reply->cp.cfg_type = IKEV2_CFG_REPLY;
	if (req->cfg_type != IKEV2_CFG_REQUEST)
		return -EBADMSG;
	for (unsigned int i = 0; i < req->n_attrs && !err; i++) {
		const struct ikev2_cp_attr *a = &req->attrs[i];
		struct pool_addr want;
		bool specific;

		if (a->type != IKEV2_CFG_INTERNAL_IP4_ADDRESS &&
		    a->type != IKEV2_CFG_INTERNAL_IP6_ADDRESS)
			continue;
		specific = cp_attr_addr(a, &want, &bad);
		if (bad) {
			err = -EBADMSG;
			break;
		}
		if ((want.family == AF_INET && asked4) || (want.family == AF_INET6 && asked6))
			continue;
		*(want.family == AF_INET ? &asked4 : &asked6) = true;
		/* a family we have no pool or address for is left out of the
		 * reply (3.15.4); only when none is left is it a failure */
		int e = cp_lease(set, conn, want.family, specific ? &want : NULL, client, vips);

		if (e)
			last = e;
	}
	if (!err && !vips->n && (asked4 || asked6))
		err = last;
	if (err) {
		cp_release(vips);
		return err;
	}
	for (unsigned int i = 0; i < vips->n; i++)
		cp_add_addr(reply, &vips->addr[i]);
	cp_add_dns(reply, conn, vips);
	return 0;
}
