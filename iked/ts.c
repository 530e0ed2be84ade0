// SPDX-License-Identifier: GPL-2.0-only
/*
 * Traffic selector narrowing (RFC 7296 2.9). See ts.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "ts.h"

static size_t ts_addr_len(uint8_t type)
{
	return type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;
}

int ts_from_conf(const struct conf_ts *v, size_t n, const struct sockaddr *addr,
		 struct ikev2_ts_list *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (n > IKEV2_MAX_TS)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		struct ikev2_ts *ts = &out->ts[i];

		ts->start_port = 0;
		ts->end_port = 0xffff;
		if (v[i].dynamic) {
			if (addr && addr->sa_family == AF_INET) {
				const struct sockaddr_in *s4 = (const void *)addr;

				ts->type = IKEV2_TS_IPV4_ADDR_RANGE;
				memcpy(ts->start_addr, &s4->sin_addr, 4);
				memcpy(ts->end_addr, &s4->sin_addr, 4);
			} else if (addr && addr->sa_family == AF_INET6) {
				const struct sockaddr_in6 *s6 = (const void *)addr;

				ts->type = IKEV2_TS_IPV6_ADDR_RANGE;
				memcpy(ts->start_addr, &s6->sin6_addr, 16);
				memcpy(ts->end_addr, &s6->sin6_addr, 16);
			} else {
				return -EINVAL;
			}
		} else {
			const struct conf_range *r = &v[i].range;

			if (r->family == AF_INET)
				ts->type = IKEV2_TS_IPV4_ADDR_RANGE;
			else if (r->family == AF_INET6)
				ts->type = IKEV2_TS_IPV6_ADDR_RANGE;
			else
				return -EINVAL;
			memcpy(ts->start_addr, r->from, ts_addr_len(ts->type));
			memcpy(ts->end_addr, r->to, ts_addr_len(ts->type));
		}
		out->n++;
	}
	return 0;
}

static void ts_host(struct ikev2_ts *ts, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16;

	ts->type = family == AF_INET ? IKEV2_TS_IPV4_ADDR_RANGE : IKEV2_TS_IPV6_ADDR_RANGE;
	memcpy(ts->start_addr, addr, len);
	memcpy(ts->end_addr, addr, len);
}

int ts_from_conf_dyn(const struct conf_ts *v, size_t n, const struct ts_dynamic *dyn,
		     struct ikev2_ts_list *out)
{
	struct ikev2_ts_list one;
	int err;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		struct ikev2_ts t = { .start_port = 0, .end_port = 0xffff };
		unsigned int k, cnt = 0;
		struct ikev2_ts add[2];

		if (!v[i].dynamic || (!dyn->nvips && !dyn->any4 && !dyn->any6)) {
			err = ts_from_conf(&v[i], 1, dyn->addr, &one);
			if (err)
				return err;
			add[cnt++] = one.ts[0];
		} else if (dyn->nvips) {
			for (k = 0; k < dyn->nvips && k < 2; k++) {
				ts_host(&t, dyn->vips[k].family, dyn->vips[k].addr);
				add[cnt++] = t;
			}
		} else {
			if (dyn->any4) {
				t.type = IKEV2_TS_IPV4_ADDR_RANGE;
				memset(t.start_addr, 0, sizeof(t.start_addr));
				memset(t.end_addr, 0xff, 4);
				add[cnt++] = t;
			}
			if (dyn->any6) {
				t.type = IKEV2_TS_IPV6_ADDR_RANGE;
				memset(t.start_addr, 0, sizeof(t.start_addr));
				memset(t.end_addr, 0xff, 16);
				add[cnt++] = t;
			}
		}
		for (k = 0; k < cnt; k++) {
			if (out->n >= IKEV2_MAX_TS)
				return -E2BIG;
			out->ts[out->n++] = add[k];
		}
	}
	return 0;
}

bool ts_intersect(const struct ikev2_ts *a, const struct ikev2_ts *b, struct ikev2_ts *out)
{
	size_t alen;

	if (a->type != b->type)
		return false;
	if (a->ipproto && b->ipproto && a->ipproto != b->ipproto)
		return false;
	alen = ts_addr_len(a->type);
	memset(out, 0, sizeof(*out));
	out->type = a->type;
	out->ipproto = a->ipproto ? a->ipproto : b->ipproto;
	out->start_port = a->start_port > b->start_port ? a->start_port : b->start_port;
	out->end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
	if (out->start_port > out->end_port)
		return false;
	memcpy(out->start_addr,
	       memcmp(a->start_addr, b->start_addr, alen) > 0 ? a->start_addr : b->start_addr,
	       alen);
	memcpy(out->end_addr,
	       memcmp(a->end_addr, b->end_addr, alen) < 0 ? a->end_addr : b->end_addr, alen);
	return memcmp(out->start_addr, out->end_addr, alen) <= 0;
}

static bool ts_equal(const struct ikev2_ts *a, const struct ikev2_ts *b)
{
	size_t alen = ts_addr_len(a->type);

	return a->type == b->type && a->ipproto == b->ipproto && a->start_port == b->start_port &&
	       a->end_port == b->end_port && !memcmp(a->start_addr, b->start_addr, alen) &&
	       !memcmp(a->end_addr, b->end_addr, alen);
}

int ts_narrow(const struct ikev2_ts_list *offered, const struct ikev2_ts_list *allow,
	      struct ikev2_ts_list *out)
{
	unsigned int i, j, k;
	struct ikev2_ts t;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < offered->n; i++) {
		for (j = 0; j < allow->n; j++) {
			if (!ts_intersect(&offered->ts[i], &allow->ts[j], &t))
				continue;
			for (k = 0; k < out->n; k++)
				if (ts_equal(&out->ts[k], &t))
					break;
			if (k < out->n)
				continue;
			if (out->n == IKEV2_MAX_TS)
				return 0;
			out->ts[out->n++] = t;
		}
	}
	return out->n ? 0 : -ENOENT;
}

static bool ts_inside(const struct ikev2_ts *in, const struct ikev2_ts *out)
{
	struct ikev2_ts t;

	/* @in lies inside @out exactly when intersecting changes nothing;
	 * a specific protocol is inside "any" but not the other way round. */
	if (out->ipproto && in->ipproto != out->ipproto)
		return false;
	return ts_intersect(in, out, &t) && ts_equal(&t, in);
}

bool ts_subset(const struct ikev2_ts_list *sub, const struct ikev2_ts_list *super)
{
	unsigned int i, j;

	if (!sub->n)
		return false;
	for (i = 0; i < sub->n; i++) {
		for (j = 0; j < super->n; j++)
			if (ts_inside(&sub->ts[i], &super->ts[j]))
				break;
		if (j == super->n)
			return false;
	}
	return true;
}

void ts_str(const struct ikev2_ts *ts, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int af = ts->type == IKEV2_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;

	if (!inet_ntop(af, ts->start_addr, a, sizeof(a)) ||
	    !inet_ntop(af, ts->end_addr, b, sizeof(b))) {
		snprintf(buf, len, "?");
		return;
	}
	if (ts->ipproto || ts->start_port || ts->end_port != 0xffff)
		snprintf(buf, len, "%s..%s[%u/%u-%u]", a, b, ts->ipproto, ts->start_port,
			 ts->end_port);
	else
		snprintf(buf, len, "%s..%s", a, b);
}

void ts_list_str(const struct ikev2_ts_list *l, char *buf, size_t len)
{
	size_t o = 0;
	unsigned int i;
	char one[128];

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < l->n && o + 1 < len; i++) {
		int w;

		ts_str(&l->ts[i], one, sizeof(one));
		w = snprintf(buf + o, len - o, "%s%s", i ? " " : "", one);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}
