// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtual IP addresses and their routes over rtnetlink (libmnl); see vip.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "kernel.h"
#include "log.h"
#include "vip.h"

#define VIP_RULE_PRIO 220
#define VIP_MAX_PFX   16 /* prefixes per selector range */

struct vip_addr_rec {
	struct pool_addr a;
	int ifindex;
};

struct vip_route_rec {
	int family;
	uint8_t dst[16], plen;
	struct pool_addr src;
};

struct vip_ctx {
	struct mnl_socket *nl;
	uint32_t seq, portid, table;
	struct vip_addr_rec *addrs;
	size_t naddrs;
	struct vip_route_rec *routes;
	size_t nroutes;
	bool rule[2]; /* added by us: [0] IPv4, [1] IPv6 */
};

static size_t vip_alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

int vip_open(uint32_t table, struct vip_ctx **out)
{
	struct vip_ctx *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!v->nl || mnl_socket_bind(v->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		if (v->nl)
			mnl_socket_close(v->nl);
		free(v);
		return err;
	}
	v->portid = mnl_socket_get_portid(v->nl);
	v->seq = (uint32_t)time(NULL);
	v->table = table;
	*out = v;
	return 0;
}

typedef int (*vip_cb)(const struct nlmsghdr *nlh, void *arg);

/* Send @nlh, read until its ACK or error; replies go to @cb. */
static int vip_talk(struct vip_ctx *v, struct nlmsghdr *nlh, vip_cb cb, void *arg)
{
	uint8_t buf[16384];
	ssize_t n;
	int rc;

	nlh->nlmsg_seq = ++v->seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(v->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(v->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, v->seq, v->portid, cb, arg);
		if (rc <= MNL_CB_STOP)
			return rc < 0 ? -errno : 0;
	}
}

struct vip_path {
	int oif;
	bool has_gw;
	uint8_t gw[16];
};

static int vip_route_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct vip_path *p = arg;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) >= 4)
			p->oif = (int)mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == RTA_GATEWAY &&
		    mnl_attr_get_payload_len(a) == vip_alen(rtm->rtm_family)) {
			memcpy(p->gw, mnl_attr_get_payload(a), vip_alen(rtm->rtm_family));
			p->has_gw = true;
		}
	}
	return MNL_CB_OK;
}

/* How the kernel reaches @peer: output interface and gateway. */
static int vip_path_to(struct vip_ctx *v, const struct sockaddr *peer, struct vip_path *p)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	int err;

	memset(p, 0, sizeof(*p));
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)peer->sa_family;
	if (peer->sa_family == AF_INET) {
		rtm->rtm_dst_len = 32;
		mnl_attr_put(nlh, RTA_DST, 4, &((const struct sockaddr_in *)(const void *)peer)->sin_addr);
	} else if (peer->sa_family == AF_INET6) {
		rtm->rtm_dst_len = 128;
		mnl_attr_put(nlh, RTA_DST, 16,
			     &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr);
	} else {
		return -EAFNOSUPPORT;
	}
	err = vip_talk(v, nlh, vip_route_cb, p);
	if (!err && !p->oif)
		err = -ENETUNREACH;
	return err;
}

int vip_add(struct vip_ctx *v, const struct sockaddr *peer, const struct pool_addr *a)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct vip_addr_rec *n;
	struct ifaddrmsg *ifa;
	struct vip_path path;
	int err;

	err = vip_path_to(v, peer, &path);
	if (err)
		return err;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)a->family;
	ifa->ifa_prefixlen = (unsigned char)(vip_alen(a->family) * 8);
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)path.oif;
	/* no duplicate address detection: the address is ours by assignment */
	ifa->ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, vip_alen(a->family), a->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, vip_alen(a->family), a->addr);
	err = vip_talk(v, nlh, NULL, NULL);
	if (err == -EEXIST) {
		log_info("vip: address already on interface %d, left to its owner", path.oif);
		return 0;
	}
	if (err)
		return err;
	n = realloc(v->addrs, (v->naddrs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM; /* stays on the host: vip_close() cannot know it */
	v->addrs = n;
	v->addrs[v->naddrs].a = *a;
	v->addrs[v->naddrs].ifindex = path.oif;
	v->naddrs++;
	return 0;
}

static int vip_addr_remove(struct vip_ctx *v, const struct vip_addr_rec *r)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_DELADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)r->a.family;
	ifa->ifa_prefixlen = (unsigned char)(vip_alen(r->a.family) * 8);
	ifa->ifa_index = (unsigned int)r->ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, vip_alen(r->a.family), r->a.addr);
	mnl_attr_put(nlh, IFA_ADDRESS, vip_alen(r->a.family), r->a.addr);
	return vip_talk(v, nlh, NULL, NULL);
}

int vip_del(struct vip_ctx *v, const struct pool_addr *a)
{
	for (size_t i = 0; i < v->naddrs; i++) {
		struct vip_addr_rec *r = &v->addrs[i];
		int err;

		if (r->a.family != a->family || memcmp(r->a.addr, a->addr, vip_alen(a->family)))
			continue;
		err = vip_addr_remove(v, r);
		v->addrs[i] = v->addrs[--v->naddrs];
		return err == -EADDRNOTAVAIL || err == -ENODEV ? 0 : err;
	}
	return -ENOENT;
}

static int vip_rule(struct vip_ctx *v, int family, bool add)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = add ? RTM_NEWRULE : RTM_DELRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (unsigned char)family;
	frh->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, VIP_RULE_PRIO);
	mnl_attr_put_u32(nlh, FRA_TABLE, v->table);
	return vip_talk(v, nlh, NULL, NULL);
}

static int vip_route_msg(struct vip_ctx *v, const struct vip_route_rec *r,
			 const struct vip_path *path, bool add)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	size_t len = vip_alen(r->family);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)r->family;
	rtm->rtm_dst_len = r->plen;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_type = RTN_UNICAST;
	/* a delete matches any scope only with RT_SCOPE_NOWHERE, as ip(8) sends */
	rtm->rtm_scope = !add || !path ? RT_SCOPE_NOWHERE :
			 path->has_gw	? RT_SCOPE_UNIVERSE :
					  RT_SCOPE_LINK;
	mnl_attr_put_u32(nlh, RTA_TABLE, v->table);
	mnl_attr_put(nlh, RTA_DST, len, r->dst);
	if (add && path) {
		mnl_attr_put(nlh, RTA_PREFSRC, len, r->src.addr);
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)path->oif);
		if (path->has_gw)
			mnl_attr_put(nlh, RTA_GATEWAY, len, path->gw);
	}
	return vip_talk(v, nlh, NULL, NULL);
}

int vip_route_add(struct vip_ctx *v, const struct sockaddr *peer, const struct pool_addr *src,
		  const struct ikev2_ts *dst)
{
	size_t len = vip_alen(src->family);
	uint8_t addrs[VIP_MAX_PFX][16], plens[VIP_MAX_PFX];
	int fam = dst->type == IKEV2_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	struct vip_path path;
	int n, err;

	if (fam != src->family)
		return 0; /* a selector of the other family: no route from this source */
	n = kernel_range_to_prefixes(dst->start_addr, dst->end_addr, len, addrs, plens,
				     VIP_MAX_PFX);
	if (n < 0)
		return n;
	err = vip_path_to(v, peer, &path);
	if (err)
		return err;
	if (!v->rule[fam == AF_INET6]) {
		err = vip_rule(v, fam, true);
		if (err && err != -EEXIST)
			return err;
		v->rule[fam == AF_INET6] = !err;
	}
	for (int i = 0; i < n; i++) {
		struct vip_route_rec r = { .family = fam, .plen = plens[i], .src = *src };
		struct vip_route_rec *nr;

		memcpy(r.dst, addrs[i], len);
		err = vip_route_msg(v, &r, &path, true);
		if (err == -EEXIST)
			continue; /* another child of ours, or someone else's */
		if (err)
			return err;
		nr = realloc(v->routes, (v->nroutes + 1) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		v->routes = nr;
		v->routes[v->nroutes++] = r;
	}
	return 0;
}

void vip_route_del(struct vip_ctx *v, const struct pool_addr *src, const struct ikev2_ts *dst)
{
	size_t len = vip_alen(src->family);
	uint8_t addrs[VIP_MAX_PFX][16], plens[VIP_MAX_PFX];
	int fam = dst->type == IKEV2_TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	int n;

	if (fam != src->family)
		return;
	n = kernel_range_to_prefixes(dst->start_addr, dst->end_addr, len, addrs, plens,
				     VIP_MAX_PFX);
	for (int i = 0; i < n; i++) {
		for (size_t k = 0; k < v->nroutes; k++) {
			struct vip_route_rec *r = &v->routes[k];

			if (r->family != fam || r->plen != plens[i] || memcmp(r->dst, addrs[i], len) ||
			    memcmp(r->src.addr, src->addr, len))
				continue;
			(void)vip_route_msg(v, r, NULL, false);
			v->routes[k] = v->routes[--v->nroutes];
			break;
		}
	}
	/* the rule goes with the last route of its family */
	for (size_t k = 0; k < v->nroutes; k++)
		if (v->routes[k].family == fam)
			return;
	if (v->rule[fam == AF_INET6] && !vip_rule(v, fam, false))
		v->rule[fam == AF_INET6] = false;
}

void vip_close(struct vip_ctx *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nroutes; i++)
		(void)vip_route_msg(v, &v->routes[i], NULL, false);
	for (size_t i = 0; i < v->naddrs; i++)
		(void)vip_addr_remove(v, &v->addrs[i]);
	if (v->rule[0])
		(void)vip_rule(v, AF_INET, false);
	if (v->rule[1])
		(void)vip_rule(v, AF_INET6, false);
	free(v->routes);
	free(v->addrs);
	mnl_socket_close(v->nl);
	free(v);
}
