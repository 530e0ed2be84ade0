// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiked's event loop. See daemon.h.
 *
 *	poll(IKE sockets, signalfd, control socket; timeout = next engine timer)
 *	  -> engine_input() of the generation owning our SPI in the header
 *	  -> engine_tick() of every generation
 *	  -> queued CREATE_CHILD_SA requests retried (window of one)
 *	  -> key log, draining of old generations
 *
 * IKE sockets carry a per-socket xfrm bypass policy, so IKE keeps flowing
 * in the clear when a child's selectors cover the gateways themselves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>

#include "xipsec/dataplane.h"
#include "acquire.h"
#include "conf.h"
#include "crypto.h"
#include "ctl.h"
#include "daemon.h"
#include "ike_sa.h"
#include "ikev2_exch.h"
#include "kernel.h"
#include "log.h"
#include "proposal.h"
#include "ts.h"
#include "vip.h"

#define DAEMON_SOCK_MAX	      16
#define DAEMON_PEND_MAX	      64
#define DAEMON_PEND_GIVEUP_MS 60000
#define DAEMON_STOP_WAIT_MS   3000
#define DAEMON_NATT_PORT      4500
#define DAEMON_RX_MAX	      65536

struct daemon_gen {
	struct daemon_gen *next;
	struct conf *conf;
	struct engine *eng;
	unsigned int id;
};

struct daemon_sock {
	int fd;
	int family;
	uint16_t port;
};

/* A CREATE_CHILD_SA to send once the IKE SA is established and idle. */
struct daemon_pending {
	struct daemon_gen *gen;
	uint64_t spi;
	char child[128];
	uint64_t since;
};

struct daemon_keyed {
	uint64_t ispi, rspi;
};

struct daemon {
	const struct daemon_opts *opts;
	struct daemon_gen *gens; /* head: the current configuration */
	unsigned int next_gen_id;
	struct kernel *kern;
	struct daemon_sock socks[DAEMON_SOCK_MAX];
	size_t nsocks;
	int sfd, cfd;
	FILE *keylog;
	struct daemon_keyed *logged;
	size_t nlogged;
	struct daemon_pending pend[DAEMON_PEND_MAX];
	size_t npend;
	bool stopping;
	uint64_t stop_deadline;
	struct engine_ops ops;
	struct engine_stats retired; /* of generations already freed */
	struct cp_pools *pools; /* virtual IP pools, shared by all generations */
	struct vip_ctx *vip; /* our virtual IPs on this host, opened on first use */
	/* start_action = trap: trapped children, kernel acquires (acquire.h) */
	struct acq_table acq;
	struct mnl_socket *acq_sock;
	struct acq_dp acq_dp; /* the dataplane's acquires and trap buckets */
};

static void daemon_acquire_up(struct daemon *d, const struct engine_child *c);

static uint64_t daemon_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t daemon_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void daemon_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

/* ---- engine callbacks ---- */

/* @pkt from @local (the socket bound to its port) to @remote; IKE on the
 * NAT-T port gets the non-ESP marker (@ike), a keepalive does not. */
static void daemon_sendmsg(struct daemon *d, const uint8_t *pkt, size_t len,
			   const struct sockaddr *local, const struct sockaddr *remote, bool ike)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	static const uint8_t marker[4];
	uint16_t port = daemon_port(local);
	struct iovec iov[2];
	struct msghdr m;
	struct cmsghdr *cm;
	const struct daemon_sock *s = NULL;
	char ra[INET6_ADDRSTRLEN + 8];
	size_t i;
	int n = 0;

	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].family == local->sa_family && d->socks[i].port == port)
			s = &d->socks[i];
	if (!s) {
		ike_addr_str(local, ra, sizeof(ra));
		log_warn("net: no socket for local %s, %zu bytes not sent", ra, len);
		return;
	}
	/* RFC 3948 2.2: IKE on the NAT-T port carries a zero non-ESP marker. */
	if (ike && port == DAEMON_NATT_PORT) {
		iov[n].iov_base = (void *)marker;
		iov[n++].iov_len = sizeof(marker);
	}
	iov[n].iov_base = (void *)pkt;
	iov[n++].iov_len = len;
	memset(&m, 0, sizeof(m));
	memset(&cbuf, 0, sizeof(cbuf));
	m.msg_name = (void *)remote;
	m.msg_namelen = ike_addr_len(remote);
	m.msg_iov = iov;
	m.msg_iovlen = (size_t)n;
	m.msg_control = cbuf.buf;
	cm = (struct cmsghdr *)cbuf.buf;
	if (local->sa_family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
		m.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	if (sendmsg(s->fd, &m, 0) < 0) {
		ike_addr_str(remote, ra, sizeof(ra));
		log_warn("net: send %zu bytes to %s: %s", len, ra, strerror(errno));
	}
}

static void daemon_send(void *arg, const uint8_t *pkt, size_t len, const struct sockaddr *local,
			const struct sockaddr *remote)
{
	daemon_sendmsg(arg, pkt, len, local, remote, true);
}

/* RFC 3948 2.3: one 0xff byte keeps the NAT's mapping of our 4500 alive. */
static void daemon_send_keepalive(void *arg, const struct sockaddr *local,
				  const struct sockaddr *remote)
{
	static const uint8_t ka = 0xff;
	char ra[INET6_ADDRSTRLEN + 8];

	ike_addr_str(remote, ra, sizeof(ra));
	log_debug("net: NAT keepalive to %s", ra);
	daemon_sendmsg(arg, &ka, 1, local, remote, false);
}

static void daemon_update_child(void *arg, const struct engine_child *c,
				const struct sockaddr *old_remote)
{
	struct daemon *d = arg;

	kernel_update_child(d->kern, c, old_remote);
}

/*
 * A child of a connection with vips: our side is the virtual IP the peer
 * assigned (a single address), and locally sent traffic to the child's
 * remote selectors must leave with it as source (vip.h).
 */
static bool daemon_child_vip(const struct engine_child *c, struct pool_addr *src)
{
	const struct ikev2_ts *t = &c->ts_local->ts[0];
	size_t len = t->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16;

	if (!c->conn->nvips || !c->ts_local->n || memcmp(t->start_addr, t->end_addr, len))
		return false;
	memset(src, 0, sizeof(*src));
	src->family = len == 4 ? AF_INET : AF_INET6;
	memcpy(src->addr, t->start_addr, len);
	return true;
}

static int daemon_install_child(void *arg, const struct engine_child *c)
{
	struct daemon *d = arg;
	struct pool_addr src;
	int err;

	err = kernel_install_child(d->kern, c);
	if (!err)
		daemon_acquire_up(d, c);
	if (err || !d->vip || !daemon_child_vip(c, &src))
		return err;
	for (unsigned int i = 0; i < c->ts_remote->n && !err; i++)
		err = vip_route_add(d->vip, c->remote, &src, &c->ts_remote->ts[i]);
	if (err) {
		log_warn("vip: route for child %s: %s", c->cfg->name, strerror(-err));
		for (unsigned int i = 0; i < c->ts_remote->n; i++)
			vip_route_del(d->vip, &src, &c->ts_remote->ts[i]);
		kernel_remove_child(d->kern, c);
	}
	return err;
}

static void daemon_remove_child(void *arg, const struct engine_child *c)
{
	struct daemon *d = arg;
	struct pool_addr src;

	if (d->vip && daemon_child_vip(c, &src))
		for (unsigned int i = 0; i < c->ts_remote->n; i++)
			vip_route_del(d->vip, &src, &c->ts_remote->ts[i]);
	kernel_remove_child(d->kern, c);
}

static int daemon_vip_add(void *arg, const struct ike_sa *sa, const struct cp_vips *v)
{
	struct daemon *d = arg;
	char a[INET6_ADDRSTRLEN];
	unsigned int i;
	int err = 0;

	if (!d->vip)
		err = vip_open(VIP_TABLE, &d->vip);
	for (i = 0; i < v->n && !err; i++) {
		err = vip_add(d->vip, (const struct sockaddr *)&sa->remote, &v->addr[i]);
		if (!err)
			log_info("vip: %s added", inet_ntop(v->addr[i].family, v->addr[i].addr, a,
							    sizeof(a)));
	}
	if (err)
		while (i-- > 0)
			(void)vip_del(d->vip, &v->addr[i]);
	return err;
}

static void daemon_vip_del(void *arg, const struct ike_sa *sa, const struct cp_vips *v)
{
	struct daemon *d = arg;
	char a[INET6_ADDRSTRLEN];

	(void)sa;
	for (unsigned int i = 0; d->vip && i < v->n; i++)
		if (!vip_del(d->vip, &v->addr[i]))
			log_info("vip: %s removed", inet_ntop(v->addr[i].family, v->addr[i].addr, a,
							      sizeof(a)));
}

static int daemon_alloc_spi(void *arg, const struct sockaddr *l, const struct sockaddr *r,
			    uint32_t *spi)
{
	return kernel_alloc_spi(((struct daemon *)arg)->kern, l, r, spi);
}

static void daemon_release_spi(void *arg, const struct sockaddr *l, const struct sockaddr *r,
			       uint32_t spi)
{
	kernel_release_spi(((struct daemon *)arg)->kern, l, r, spi);
}

/* ---- sockets ---- */

static int daemon_open_sock(struct daemon *d, int family, uint16_t port)
{
	struct xfrm_userpolicy_info pol;
	struct sockaddr_storage ss;
	socklen_t slen;
	int fd, one = 1, lvl, opt, err;

	if (d->nsocks == DAEMON_SOCK_MAX)
		return -ENOSPC;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)))
			goto fail;
		lvl = IPPROTO_IPV6;
		opt = IPV6_XFRM_POLICY;
		slen = sizeof(struct sockaddr_in6);
	} else {
		if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)))
			goto fail;
		lvl = IPPROTO_IP;
		opt = IP_XFRM_POLICY;
		slen = sizeof(struct sockaddr_in);
	}
	/* Per-socket bypass, both directions (what charon does too). */
	memset(&pol, 0, sizeof(pol));
	pol.action = XFRM_POLICY_ALLOW;
	pol.sel.family = (__u16)family;
	pol.lft.soft_byte_limit = pol.lft.hard_byte_limit = XFRM_INF;
	pol.lft.soft_packet_limit = pol.lft.hard_packet_limit = XFRM_INF;
	pol.dir = XFRM_POLICY_IN;
	if (setsockopt(fd, lvl, opt, &pol, sizeof(pol)))
		goto fail;
	pol.dir = XFRM_POLICY_OUT;
	if (setsockopt(fd, lvl, opt, &pol, sizeof(pol)))
		goto fail;
	daemon_set_port((struct sockaddr *)&ss, port);
	if (bind(fd, (struct sockaddr *)&ss, slen))
		goto fail;
	/* RFC 3948: the kernel takes ESP-in-UDP off this port and decrypts it;
	 * IKE (non-ESP marker) still reaches us, keepalives it drops. IPv6
	 * sockets take it from Linux 5.7 on: without it IPv6 IKE still works. */
	if (port == DAEMON_NATT_PORT) {
		int encap = UDP_ENCAP_ESPINUDP;

		if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap))) {
			if (family == AF_INET)
				goto fail;
			log_warn("net: UDP_ENCAP on the IPv6 port %u: %s", port, strerror(errno));
		}
	}
	d->socks[d->nsocks].fd = fd;
	d->socks[d->nsocks].family = family;
	d->socks[d->nsocks++].port = port;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

static bool daemon_has_port(const struct daemon *d, uint16_t port)
{
	size_t i;

	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].port == port)
			return true;
	return false;
}

static int daemon_open_socks(struct daemon *d, const struct conf *conf)
{
	uint16_t ports[DAEMON_SOCK_MAX / 2];
	size_t nports = 0, i, j;
	int err;

	ports[nports++] = IKEV2_PORT;
	ports[nports++] = DAEMON_NATT_PORT;
	for (i = 0; i < conf->nconns; i++) {
		uint16_t p = conf->conns[i]->local_port;

		for (j = 0; j < nports && ports[j] != p; j++)
			;
		if (j == nports && nports < DAEMON_SOCK_MAX / 2)
			ports[nports++] = p;
	}
	for (i = 0; i < nports; i++) {
		err = daemon_open_sock(d, AF_INET, ports[i]);
		if (err) {
			log_err("net: UDP port %u (IPv4): %s", ports[i], strerror(-err));
			return err;
		}
		err = daemon_open_sock(d, AF_INET6, ports[i]);
		if (err)
			log_warn("net: UDP port %u (IPv6): %s; IPv4 only", ports[i],
				 strerror(-err));
		log_info("net: listening on UDP port %u", ports[i]);
	}
	return 0;
}

/* Generation that owns the SA the message names (our SPI), else the current one. */
static struct daemon_gen *daemon_gen_for(struct daemon *d, const uint8_t *pkt, size_t len)
{
	uint64_t ispi = 0, rspi = 0, ours;
	struct daemon_gen *g;
	size_t i;

	if (len < IKEV2_HDR_LEN)
		return d->gens;
	for (i = 0; i < 8; i++) {
		ispi = (ispi << 8) | pkt[i];
		rspi = (rspi << 8) | pkt[8 + i];
	}
	/* Header byte 19: flags; I set means the sender is the original initiator. */
	ours = (pkt[19] & IKEV2_FLAG_INITIATOR) ? rspi : ispi;
	if (!ours)
		return d->gens;
	for (g = d->gens; g; g = g->next)
		if (engine_sa_find(g->eng, ours))
			return g;
	return d->gens;
}

static void daemon_recv(struct daemon *d, const struct daemon_sock *s, uint64_t now)
{
	static uint8_t buf[DAEMON_RX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} cbuf;
	struct sockaddr_storage from, local;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m;
	struct cmsghdr *cm;
	bool have_local = false;
	const uint8_t *pkt = buf;
	ssize_t n;
	size_t len;
	int loops;

	for (loops = 0; loops < 64; loops++) {
		memset(&m, 0, sizeof(m));
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cbuf.buf;
		m.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(s->fd, &m, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("net: recvmsg: %s", strerror(errno));
			return;
		}
		memset(&local, 0, sizeof(local));
		local.ss_family = (sa_family_t)s->family;
		have_local = false;
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				((struct sockaddr_in *)&local)->sin_addr = pi.ipi_addr;
				have_local = true;
			} else if (cm->cmsg_level == IPPROTO_IPV6 &&
				   cm->cmsg_type == IPV6_PKTINFO &&
				   cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				((struct sockaddr_in6 *)&local)->sin6_addr = pi.ipi6_addr;
				have_local = true;
			}
		}
		if (!have_local || (m.msg_flags & MSG_TRUNC)) {
			log_debug("net: datagram without local address or truncated, dropped");
			continue;
		}
		daemon_set_port((struct sockaddr *)&local, s->port);
		pkt = buf;
		len = (size_t)n;
		if (s->port == DAEMON_NATT_PORT) {
			/* Non-ESP marker; anything else here is ESP-in-UDP, not ours. */
			if (len < 4 || pkt[0] || pkt[1] || pkt[2] || pkt[3])
				continue;
			pkt += 4;
			len -= 4;
		}
		engine_input(daemon_gen_for(d, pkt, len)->eng, pkt, len,
			     (const struct sockaddr *)&local, (const struct sockaddr *)&from, now);
	}
}

/* ---- addresses of a connection ---- */

static int daemon_host_addr(const struct conf_host *h, uint16_t port, struct sockaddr_storage *out)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (h->kind == CONF_HOST_RANGE) {
		size_t alen = h->range.family == AF_INET6 ? 16 : 4;

		if (memcmp(h->range.from, h->range.to, alen) != 0)
			return -EDESTADDRREQ;
		out->ss_family = (sa_family_t)h->range.family;
		if (alen == 4)
			memcpy(&((struct sockaddr_in *)out)->sin_addr, h->range.from, 4);
		else
			memcpy(&((struct sockaddr_in6 *)out)->sin6_addr, h->range.from, 16);
	} else if (h->kind == CONF_HOST_NAME) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = h->family;
		hints.ai_socktype = SOCK_DGRAM;
		rc = getaddrinfo(h->name, NULL, &hints, &res);
		if (rc || !res)
			return -EHOSTUNREACH;
		memcpy(out, res->ai_addr, res->ai_addrlen);
		freeaddrinfo(res);
	} else {
		return -EDESTADDRREQ;
	}
	daemon_set_port((struct sockaddr *)out, port);
	return 0;
}

/* Our address towards @remote: the configured one, else the route's source. */
static int daemon_local_for(const struct conf_conn *conn, const struct sockaddr_storage *remote,
			    struct sockaddr_storage *local)
{
	socklen_t len = sizeof(*local);
	size_t i;
	int fd, err = 0;

	for (i = 0; i < conn->nlocal_addrs; i++)
		if (!daemon_host_addr(&conn->local_addrs[i], conn->local_port, local) &&
		    local->ss_family == remote->ss_family)
			return 0;
	fd = socket(remote->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)remote,
		    ike_addr_len((const struct sockaddr *)remote)) ||
	    getsockname(fd, (struct sockaddr *)local, &len))
		err = -errno;
	close(fd);
	if (!err)
		daemon_set_port((struct sockaddr *)local, conn->local_port);
	return err;
}

/* Addresses to initiate (or trap) @conn with; @msg says why not. */
static int daemon_conn_addrs(const struct conf_conn *conn, struct sockaddr_storage *local,
			     struct sockaddr_storage *remote, char *msg, size_t msglen)
{
	size_t i;
	int err = -EDESTADDRREQ;

	for (i = 0; i < conn->nremote_addrs; i++) {
		err = daemon_host_addr(&conn->remote_addrs[i], conn->remote_port, remote);
		if (!err)
			break;
	}
	if (err) {
		snprintf(msg, msglen, "connection '%s' has no single remote address to initiate to",
			 conn->name);
		return err;
	}
	err = daemon_local_for(conn, remote, local);
	if (err)
		snprintf(msg, msglen, "no local address towards the peer of '%s': %s", conn->name,
			 strerror(-err));
	return err;
}

/* ---- commands ---- */

static bool daemon_sa_live(const struct ike_sa *sa)
{
	return sa->state == IKE_ST_INIT_SENT || sa->state == IKE_ST_AUTH_SENT ||
	       sa->state == IKE_ST_ESTABLISHED;
}

static int daemon_queue(struct daemon *d, struct daemon_gen *g, uint64_t spi, const char *child,
			uint64_t now)
{
	struct daemon_pending *p;

	if (d->npend == DAEMON_PEND_MAX)
		return -ENOSPC;
	p = &d->pend[d->npend++];
	p->gen = g;
	p->spi = spi;
	snprintf(p->child, sizeof(p->child), "%s", child);
	p->since = now;
	return 0;
}

static int daemon_up(struct daemon *d, const char *name, const char *child, uint64_t now, char *msg,
		     size_t msglen)
{
	struct daemon_gen *g = d->gens;
	const struct conf_conn *conn = conf_find_conn(g->conf, name);
	const struct ike_sa *sa;
	struct sockaddr_storage local, remote;
	char la[INET6_ADDRSTRLEN + 8], ra[INET6_ADDRSTRLEN + 8];
	uint64_t spi;
	int err;

	if (!conn) {
		snprintf(msg, msglen, "no connection '%s'", name);
		return -ENOENT;
	}
	if (child && !conf_find_child(conn, child)) {
		snprintf(msg, msglen, "connection '%s' has no child '%s'", name, child);
		return -ENOENT;
	}
	for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa))
		if (sa->conn == conn && daemon_sa_live(sa))
			break;
	if (sa) {
		spi = ike_sa_local_spi(sa);
		if (!child) {
			snprintf(msg, msglen, "IKE SA %s is already up (SPI %016" PRIx64 ")", name,
				 spi);
			return 0;
		}
		err = engine_child_create(g->eng, spi, child, now);
		if (err == -EAGAIN || err == -EBUSY) {
			err = daemon_queue(d, g, spi, child, now);
			snprintf(msg, msglen, "child %s/%s queued on IKE SA %016" PRIx64, name,
				 child, spi);
			return err;
		}
		if (err)
			snprintf(msg, msglen, "CREATE_CHILD_SA for %s/%s: %s", name, child,
				 strerror(-err));
		else
			snprintf(msg, msglen, "CREATE_CHILD_SA for %s/%s sent", name, child);
		return err;
	}
	err = daemon_conn_addrs(conn, &local, &remote, msg, msglen);
	if (err)
		return err;
	err = engine_initiate(g->eng, conn->name, child, (struct sockaddr *)&local,
			      (struct sockaddr *)&remote, now, &spi);
	ike_addr_str((struct sockaddr *)&local, la, sizeof(la));
	ike_addr_str((struct sockaddr *)&remote, ra, sizeof(ra));
	if (err) {
		snprintf(msg, msglen, "initiating %s %s -> %s: %s", name, la, ra, strerror(-err));
		return err;
	}
	snprintf(msg, msglen, "initiating %s%s%s %s -> %s, SPI %016" PRIx64, name, child ? "/" : "",
		 child ? child : "", la, ra, spi);
	log_info("ike: %s", msg);
	return 0;
}

static int daemon_down(struct daemon *d, const char *name, const char *child, uint64_t now,
		       char *msg, size_t msglen)
{
	unsigned int sent = 0, busy = 0, failed = 0;
	struct daemon_gen *g;
	int err, last = 0;

	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa)) {
			const struct child_sa *c;

			if (strcmp(sa->conn->name, name) != 0 || !daemon_sa_live(sa))
				continue;
			if (!child) {
				err = engine_ike_delete(g->eng, ike_sa_local_spi(sa), now);
				sent += !err;
				busy += err == -EBUSY;
				failed += err && err != -EBUSY;
				last = err ? err : last;
				continue;
			}
			for (c = sa->children; c; c = c->next) {
				if (strcmp(c->cfg->name, child) != 0)
					continue;
				err = engine_child_delete(g->eng, ike_sa_local_spi(sa), c->spi_in,
							  now);
				sent += !err;
				busy += err == -EBUSY;
				failed += err && err != -EBUSY;
				last = err ? err : last;
			}
		}
	}
	if (!sent && !busy && !failed) {
		snprintf(msg, msglen, "no %s SA of '%s%s%s'", child ? "CHILD" : "IKE", name,
			 child ? "/" : "", child ? child : "");
		return -ENOENT;
	}
	snprintf(msg, msglen, "%u delete(s) sent, %u busy (retry), %u failed%s%s", sent, busy,
		 failed, last ? ": " : "", last ? strerror(-last) : "");
	return sent ? 0 : (busy ? -EBUSY : last);
}

static int daemon_reload(struct daemon *d, char *msg, size_t msglen)
{
	struct daemon_gen *g;
	char err[1024];
	size_t i;
	int rc;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	rc = conf_load(d->opts->conf_path, 0, &g->conf, err, sizeof(err));
	if (rc) {
		snprintf(msg, msglen, "%s", err);
		log_err("reload: %s (keeping the running configuration)", err);
		free(g);
		return rc;
	}
	rc = engine_new(g->conf, &d->ops, &(struct engine_params){ .pools = d->pools }, &g->eng);
	if (rc) {
		snprintf(msg, msglen, "engine: %s", strerror(-rc));
		conf_free(g->conf);
		free(g);
		return rc;
	}
	for (i = 0; i < g->conf->nconns; i++)
		if (!daemon_has_port(d, g->conf->conns[i]->local_port))
			log_warn("reload: %s: local_port %u is not open (restart xiked for it)",
				 g->conf->conns[i]->name, g->conf->conns[i]->local_port);
	g->id = d->next_gen_id++;
	g->next = d->gens;
	d->gens = g;
	snprintf(msg, msglen,
		 "reloaded %s: %zu connections; existing SAs keep their configuration until "
		 "they close",
		 d->opts->conf_path, g->conf->nconns);
	log_info("reload: %s", msg);
	return 0;
}

static void daemon_stats(const struct daemon *d, struct engine_stats *st, unsigned int *nsa,
			 unsigned int *nhalf)
{
	const struct daemon_gen *g;

	*st = d->retired;
	*nsa = *nhalf = 0;
	for (g = d->gens; g; g = g->next) {
		engine_stats_add(st, engine_get_stats(g->eng));
		*nsa += engine_sa_count(g->eng);
		*nhalf += engine_half_open_count(g->eng);
	}
}

static void daemon_list_text(struct daemon *d, struct ctl_buf *b, uint64_t now)
{
	struct engine_stats stats, *st = &stats;
	unsigned int nsa, nhalf;
	struct daemon_gen *g;
	char la[64], ra[64], alg[160], tl[512], tr[512];

	daemon_stats(d, st, &nsa, &nhalf);
	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa)) {
			const struct child_sa *c;

			ike_addr_str((const struct sockaddr *)&sa->local, la, sizeof(la));
			ike_addr_str((const struct sockaddr *)&sa->remote, ra, sizeof(ra));
			proposal_str(&sa->alg, alg, sizeof(alg));
			ctl_buf_printf(b,
				       "%s: %s, %s, %s...%s, SPIs %016" PRIx64 "_i%s %016" PRIx64
				       "_r%s, %" PRIu64 "s\n  %s\n",
				       sa->conn->name, ike_state_name(sa->state),
				       sa->initiator ? "initiator" : "responder", la, ra, sa->ispi,
				       sa->initiator ? "*" : "", sa->rspi, sa->initiator ? "" : "*",
				       (now - sa->created_ms) / 1000, alg);
			for (c = sa->children; c; c = c->next) {
				proposal_str(&c->alg, alg, sizeof(alg));
				ts_list_str(&c->ts_local, tl, sizeof(tl));
				ts_list_str(&c->ts_remote, tr, sizeof(tr));
				ctl_buf_printf(b,
					       "  %s: %s, SPIs in 0x%08x out 0x%08x, %s\n"
					       "    %s === %s\n",
					       c->cfg->name, ike_child_state_name(c),
					       c->spi_in, c->spi_out, alg, tl, tr);
			}
		}
	}
	ctl_buf_printf(b,
		       "%u IKE SAs (%u half-open), %zu kernel objects; established %" PRIu64
		       ", children installed %" PRIu64 ", rx %" PRIu64 " tx %" PRIu64
		       "; rekeyed IKE %" PRIu64 " child %" PRIu64 ", reauthenticated %" PRIu64
		       "\n",
		       nsa, nhalf, kernel_object_count(d->kern), st->ike_established,
		       st->child_installed, st->rx, st->tx, st->ike_rekeyed, st->child_rekeyed,
		       st->ike_reauthed);
}

static void daemon_list_json(struct daemon *d, struct ctl_buf *b, uint64_t now)
{
	struct engine_stats stats, *st = &stats;
	unsigned int nsa, nhalf;
	struct daemon_gen *g;
	char s[512], tr[512];
	bool first = true;

	daemon_stats(d, st, &nsa, &nhalf);
	ctl_buf_printf(b, "{\"ok\":true,\"config\":");
	ctl_buf_json_str(b, d->opts->conf_path);
	ctl_buf_printf(b, ",\"ike_sas\":[");
	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa)) {
			const struct child_sa *c;
			bool cfirst = true;

			ctl_buf_printf(b, "%s{\"conn\":", first ? "" : ",");
			first = false;
			ctl_buf_json_str(b, sa->conn->name);
			ctl_buf_printf(b,
				       ",\"generation\":%u,\"state\":\"%s\",\"initiator\":%s,"
				       "\"spi_i\":\"%016" PRIx64 "\",\"spi_r\":\"%016" PRIx64
				       "\",\"age_s\":%" PRIu64 ",\"local\":",
				       g->id, ike_state_name(sa->state),
				       sa->initiator ? "true" : "false", sa->ispi, sa->rspi,
				       (now - sa->created_ms) / 1000);
			ike_addr_str((const struct sockaddr *)&sa->local, s, sizeof(s));
			ctl_buf_json_str(b, s);
			ctl_buf_printf(b, ",\"remote\":");
			ike_addr_str((const struct sockaddr *)&sa->remote, s, sizeof(s));
			ctl_buf_json_str(b, s);
			ctl_buf_printf(b, ",\"proposal\":");
			proposal_str(&sa->alg, s, sizeof(s));
			ctl_buf_json_str(b, s);
			ctl_buf_printf(b, ",\"children\":[");
			for (c = sa->children; c; c = c->next) {
				ctl_buf_printf(b, "%s{\"name\":", cfirst ? "" : ",");
				cfirst = false;
				ctl_buf_json_str(b, c->cfg->name);
				ctl_buf_printf(b,
					       ",\"state\":\"%s\",\"spi_in\":\"%08x\","
					       "\"spi_out\":\"%08x\",\"proposal\":",
					       ike_child_state_name(c), c->spi_in,
					       c->spi_out);
				proposal_str(&c->alg, s, sizeof(s));
				ctl_buf_json_str(b, s);
				ts_list_str(&c->ts_local, s, sizeof(s));
				ts_list_str(&c->ts_remote, tr, sizeof(tr));
				ctl_buf_printf(b, ",\"local_ts\":");
				ctl_buf_json_str(b, s);
				ctl_buf_printf(b, ",\"remote_ts\":");
				ctl_buf_json_str(b, tr);
				ctl_buf_printf(b, "}");
			}
			ctl_buf_printf(b, "]}");
		}
	}
	ctl_buf_printf(b, "],\"ike_sa_count\":%u,\"half_open\":%u,\"kernel_objects\":%zu,", nsa,
		       nhalf, kernel_object_count(d->kern));
	ctl_stats_json(b, st);
	ctl_buf_printf(b, "}");
}

/* "CONN" or "CONN/CHILD" into @conn and @child (NULL if absent). */
static int daemon_split(const char *args, char *conn, size_t len, const char **child)
{
	char *slash;

	if (!*args || strlen(args) >= len || strpbrk(args, " \t"))
		return -EINVAL;
	memcpy(conn, args, strlen(args) + 1);
	slash = strchr(conn, '/');
	*child = NULL;
	if (slash) {
		*slash = '\0';
		*child = slash + 1;
		if (!**child || !*conn)
			return -EINVAL;
	}
	return 0;
}

/* Rekey the IKE SAs of @name, or their children named @child, now. */
static int daemon_rekey(struct daemon *d, const char *name, const char *child, uint64_t now,
			char *msg, size_t msglen)
{
	unsigned int started = 0, failed = 0;
	struct daemon_gen *g;
	int err, last = 0;

	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa)) {
			const struct child_sa *c;

			/* a replaced SA's successor is listed too */
			if (strcmp(sa->conn->name, name) != 0 || sa->state != IKE_ST_ESTABLISHED ||
			    sa->successor)
				continue;
			if (!child) {
				err = engine_rekey_ike(g->eng, ike_sa_local_spi(sa), now);
				started += !err;
				failed += !!err;
				last = err ? err : last;
				continue;
			}
			for (c = sa->children; c; c = c->next) {
				if (strcmp(c->cfg->name, child) != 0 ||
				    c->state != CHILD_ST_INSTALLED)
					continue;
				err = engine_rekey_child(g->eng, ike_sa_local_spi(sa), c->spi_in,
							 now);
				started += !err;
				failed += !!err;
				last = err ? err : last;
			}
		}
	}
	if (!started && !failed) {
		snprintf(msg, msglen, "no established %s SA of '%s%s%s'", child ? "CHILD" : "IKE",
			 name, child ? "/" : "", child ? child : "");
		return -ENOENT;
	}
	snprintf(msg, msglen, "%u rekey(s) started, %u failed%s%s", started, failed,
		 last ? ": " : "", last ? strerror(-last) : "");
	return started ? 0 : last;
}

static int daemon_ctl(void *arg, const char *cmd, const char *args, struct ctl_buf *reply,
		      char *err, size_t errlen)
{
	struct daemon *d = arg;
	uint64_t now = daemon_now();
	char conn[CTL_LINE_MAX], msg[1024] = "";
	const char *child;
	int rc;

	if (!strcmp(cmd, "list")) {
		if (!strcmp(args, "text")) {
			struct ctl_buf t = { 0 };

			daemon_list_text(d, &t, now);
			ctl_buf_printf(reply, "{\"ok\":true,\"text\":");
			ctl_buf_json_str(reply, t.oom ? "" : t.s);
			reply->oom |= t.oom;
			ctl_buf_printf(reply, "}");
			ctl_buf_free(&t);
			return 0;
		}
		if (*args) {
			snprintf(err, errlen, "usage: list [text]");
			return -EINVAL;
		}
		daemon_list_json(d, reply, now);
		return 0;
	}
	if (d->stopping) {
		snprintf(err, errlen, "shutting down");
		return -ESHUTDOWN;
	}
	if (!strcmp(cmd, "up") || !strcmp(cmd, "down") || !strcmp(cmd, "rekey")) {
		if (daemon_split(args, conn, sizeof(conn), &child)) {
			snprintf(err, errlen, "usage: %s CONN[/CHILD]", cmd);
			return -EINVAL;
		}
		if (cmd[0] == 'r')
			rc = daemon_rekey(d, conn, child, now, msg, sizeof(msg));
		else
			rc = cmd[0] == 'u' ? daemon_up(d, conn, child, now, msg, sizeof(msg)) :
					     daemon_down(d, conn, child, now, msg, sizeof(msg));
	} else if (!strcmp(cmd, "reload")) {
		rc = daemon_reload(d, msg, sizeof(msg));
	} else {
		snprintf(err, errlen, "unknown command '%s' (list, up, down, rekey, reload)", cmd);
		return -EINVAL;
	}
	if (rc) {
		snprintf(err, errlen, "%s", msg);
		return rc;
	}
	ctl_buf_printf(reply, "{\"ok\":true,\"message\":");
	ctl_buf_json_str(reply, msg);
	ctl_buf_printf(reply, "}");
	return 0;
}

/* ---- housekeeping ---- */

static void daemon_pending_run(struct daemon *d, uint64_t now)
{
	size_t i = 0;

	while (i < d->npend) {
		struct daemon_pending *p = &d->pend[i];
		int err = engine_child_create(p->gen->eng, p->spi, p->child, now);

		if ((err == -EAGAIN || err == -EBUSY) && now - p->since < DAEMON_PEND_GIVEUP_MS) {
			i++;
			continue;
		}
		if (err)
			log_warn("ike: CREATE_CHILD_SA for child %s on IKE SA %016" PRIx64 ": %s",
				 p->child, p->spi, strerror(-err));
		d->pend[i] = d->pend[--d->npend];
	}
}

static void daemon_drop_pending(struct daemon *d, const struct daemon_gen *g)
{
	size_t i = 0;

	while (i < d->npend) {
		if (d->pend[i].gen == g)
			d->pend[i] = d->pend[--d->npend];
		else
			i++;
	}
}

/* Old generations without SAs are done. */
static void daemon_drain(struct daemon *d)
{
	struct daemon_gen **pp, *g;

	if (!d->gens)
		return;
	pp = &d->gens->next;
	while ((g = *pp)) {
		if (engine_sa_count(g->eng)) {
			pp = &g->next;
			continue;
		}
		*pp = g->next;
		log_info("reload: configuration generation %u has no SAs left, freed", g->id);
		engine_stats_add(&d->retired, engine_get_stats(g->eng));
		daemon_drop_pending(d, g);
		engine_free(g->eng);
		conf_free(g->conf);
		free(g);
	}
}

static bool daemon_keyed_has(const struct daemon_keyed *v, size_t n, uint64_t i, uint64_t r)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (v[k].ispi == i && v[k].rspi == r)
			return true;
	return false;
}

/* One line per keyed IKE SA, in Wireshark's ikev2_decryption_table format. */
static void daemon_keylog(struct daemon *d)
{
	struct daemon_keyed *now_keyed = NULL;
	size_t n = 0, cap = 0;
	struct daemon_gen *g;

	if (!d->keylog)
		return;
	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa)) {
			char line[1024];
			int err;

			if (!sa->keyed || !sa->rspi)
				continue;
			if (n == cap) {
				size_t ncap = cap ? 2 * cap : 16;
				void *p = realloc(now_keyed, ncap * sizeof(*now_keyed));

				if (!p)
					break;
				now_keyed = p;
				cap = ncap;
			}
			now_keyed[n].ispi = sa->ispi;
			now_keyed[n++].rspi = sa->rspi;
			if (daemon_keyed_has(d->logged, d->nlogged, sa->ispi, sa->rspi))
				continue;
			err = crypto_wireshark_keys(&sa->suite, sa->ispi, sa->rspi, &sa->keys, line,
						    sizeof(line));
			if (err) {
				log_info("keylog: IKE SA %016" PRIx64 ": not exportable (%s)",
					 sa->ispi, strerror(-err));
				continue;
			}
			fprintf(d->keylog, "%s\n", line);
			explicit_bzero(line, sizeof(line));
		}
	}
	fflush(d->keylog);
	free(d->logged);
	d->logged = now_keyed;
	d->nlogged = n;
}

/* Keep CAP_NET_ADMIN (xfrm netlink) only: sockets are bound by now. */
static void daemon_drop_caps(bool bpf)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[CAP_NET_ADMIN / 32].effective = 1U << (CAP_NET_ADMIN % 32);
	data[CAP_NET_ADMIN / 32].permitted = 1U << (CAP_NET_ADMIN % 32);
	/* the bpf() syscall on the dataplane's map fds (unprivileged BPF is off) */
	if (bpf) {
		data[CAP_BPF / 32].effective |= 1U << (CAP_BPF % 32);
		data[CAP_BPF / 32].permitted |= 1U << (CAP_BPF % 32);
	}
	if (syscall(SYS_capset, &h, data)) {
		log_warn("xiked: cannot drop capabilities: %s", strerror(errno));
		return;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		log_warn("xiked: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	log_info("xiked: capabilities dropped except CAP_NET_ADMIN%s", bpf ? " and CAP_BPF" : "");
}

/* ---- on demand (start_action = trap) ---- */

static struct daemon_gen *daemon_gen_by_id(struct daemon *d, unsigned int id)
{
	struct daemon_gen *g;

	for (g = d->gens; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

/* A child was installed: the trap's negotiation (if any) is done. */
static void daemon_acquire_up(struct daemon *d, const struct engine_child *c)
{
	acq_child_up(&d->acq, c->conn->name, c->cfg->name, daemon_now());
}

static bool daemon_pending_has(const struct daemon *d, const struct daemon_gen *g, uint64_t spi)
{
	size_t i;

	for (i = 0; i < d->npend; i++)
		if (d->pend[i].gen == g && d->pend[i].spi == spi)
			return true;
	return false;
}

/* Still negotiating? Success is seen by daemon_acquire_up(). */
static enum acq_status daemon_acquire_status(const struct acq_trap *t, void *arg)
{
	struct daemon *d = arg;
	struct daemon_gen *g = daemon_gen_by_id(d, t->gen);
	const struct ike_sa *sa = g ? engine_sa_find(g->eng, t->spi) : NULL;

	if (!sa)
		return ACQ_ST_FAILED;
	if (sa->state == IKE_ST_INIT_SENT || sa->state == IKE_ST_AUTH_SENT)
		return ACQ_ST_INFLIGHT;
	if (sa->state == IKE_ST_ESTABLISHED &&
	    (sa->req.kind != IKE_REQ_NONE || daemon_pending_has(d, g, t->spi)))
		return ACQ_ST_INFLIGHT;
	return ACQ_ST_FAILED;
}

/*
 * An acquire: the trapped child whose selectors hold the packet is
 * negotiated with the packet's flow first in TSi/TSr, over the IKE SA to
 * its peer if one is up, else over a new one; unless one negotiation for
 * it is in flight already or failed within ACQ_HOLD_MS.
 */
static void daemon_acquire(struct daemon *d, const struct acq_pkt *p, uint64_t now)
{
	struct daemon_gen *g = d->gens;
	const struct conf_conn *conn;
	const struct ike_sa *sa;
	char fi[96], fr[96], la[64], ra[64];
	struct acq_trap *t;
	uint64_t spi = 0;
	int err;

	ts_str(&p->tsi, fi, sizeof(fi));
	ts_str(&p->tsr, fr, sizeof(fr));
	t = acq_match(&d->acq, p);
	if (!t) {
		d->acq.st.unmatched++;
		log_debug("acquire: %s %s === %s: no trapped child contains it", p->source, fi, fr);
		return;
	}
	switch (acq_decide_pkt(&d->acq, t, p, now)) {
	case ACQ_STALE:
		log_debug("acquire: %s %s === %s: seen before %s/%s came up, dropped", p->source,
			  fi, fr, t->conn, t->child);
		return;
	case ACQ_COALESCED:
		log_debug("acquire: %s %s === %s: %s/%s is being negotiated (%" PRIu64
			  " coalesced)",
			  p->source, fi, fr, t->conn, t->child, t->coalesced);
		return;
	case ACQ_HELD:
		log_debug("acquire: %s %s === %s: %s/%s failed recently, held (%" PRIu64 ")",
			  p->source, fi, fr, t->conn, t->child, t->held);
		return;
	case ACQ_START:
		break;
	}
	conn = conf_find_conn(g->conf, t->conn);
	if (!conn || !conf_find_child(conn, t->child)) {
		log_warn("acquire: %s/%s is no longer configured", t->conn, t->child);
		acq_failed(&d->acq, t, now);
		return;
	}
	log_info("acquire: %s %s === %s: starting %s/%s", p->source, fi, fr, t->conn, t->child);
	for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa))
		if (sa->conn == conn && daemon_sa_live(sa) &&
		    ike_addr_equal((const struct sockaddr *)&sa->remote,
				   (const struct sockaddr *)&t->remote))
			break;
	if (sa) {
		spi = ike_sa_local_spi(sa);
		if (sa->state != IKE_ST_ESTABLISHED && sa->first_child &&
		    !strcmp(sa->first_child->name, t->child)) {
			err = 0; /* its IKE_AUTH carries this child */
		} else {
			err = engine_child_create_ts(g->eng, spi, t->child, &p->tsi, &p->tsr, now);
			/* busy: later, with the configured selectors only */
			if (err == -EAGAIN || err == -EBUSY)
				err = daemon_queue(d, g, spi, t->child, now);
		}
	} else {
		err = engine_initiate_ts(g->eng, conn->name, t->child,
					 (const struct sockaddr *)&t->local,
					 (const struct sockaddr *)&t->remote, &p->tsi, &p->tsr, now,
					 &spi);
	}
	if (err) {
		ike_addr_str((const struct sockaddr *)&t->local, la, sizeof(la));
		ike_addr_str((const struct sockaddr *)&t->remote, ra, sizeof(ra));
		log_warn("acquire: %s/%s %s -> %s: %s", t->conn, t->child, la, ra, strerror(-err));
		acq_failed(&d->acq, t, now);
		return;
	}
	acq_started(&d->acq, t, g->id, spi, now);
}

static void daemon_acquire_kernel(const struct xfrm_nl_acquire *a, void *arg)
{
	struct daemon *d = arg;
	struct acq_pkt p;

	d->acq.st.kernel++;
	if (acq_pkt_from_xfrm(a, &p)) {
		log_debug("acquire: kernel acquire of family %u ignored", a->sel.family);
		return;
	}
	daemon_acquire(d, &p, daemon_now());
}

/* A record from the dataplane's ring buffer (acquire.h, acq_dp). */
static void daemon_acquire_dp(const struct acq_pkt *p, void *arg)
{
	struct daemon *d = arg;

	d->acq.st.dataplane++;
	daemon_acquire(d, p, daemon_now());
}

static void daemon_acquire_dp_read(struct daemon *d)
{
	int n = acq_dp_read(&d->acq_dp);

	if (n < 0)
		log_warn("acquire: reading the dataplane's ring buffer: %s", strerror(-n));
}

static void daemon_acquire_read(struct daemon *d)
{
	int err = xfrm_nl_acquire_read(d->acq_sock, daemon_acquire_kernel, d);

	if (err)
		log_warn("acquire: reading kernel acquires: %s%s", strerror(-err),
			 err == -ENOBUFS ? " (some were lost; the kernel repeats them)" : "");
}

/* start_action = trap: out policies without states, and with xipsec
 * attached a PROTECT bucket without SA; the kernel's acquires for them and
 * the dataplane's start the child, see acquire.h. */
static void daemon_trap(struct daemon *d, const struct conf_conn *conn, const struct conf_child *ch)
{
	struct sockaddr_storage local, remote;
	char msg[512];
	int err;

	err = daemon_conn_addrs(conn, &local, &remote, msg, sizeof(msg));
	if (!err)
		err = kernel_install_trap(d->kern, conn, ch, (struct sockaddr *)&local,
					  (struct sockaddr *)&remote);
	else
		log_err("xiked: trap %s/%s: %s", conn->name, ch->name, msg);
	if (!err)
		err = acq_trap_add(&d->acq, conn, ch, (struct sockaddr *)&local,
				   (struct sockaddr *)&remote);
	if (!err)
		(void)acq_dp_sync(&d->acq_dp, &d->acq); /* logged; the kernel's trap stays */
	if (!err)
		log_info("xiked: trap %s/%s: matching traffic starts the child SA%s", conn->name,
			 ch->name,
			 d->acq_sock || d->acq_dp.rb ? "" : " (no acquire socket: it will not)");
}

static void daemon_start_children(struct daemon *d, uint64_t now)
{
	const struct conf *conf = d->gens->conf;
	char msg[1024];
	size_t i, j;

	for (i = 0; i < conf->nconns; i++) {
		const struct conf_conn *conn = conf->conns[i];

		for (j = 0; j < conn->nchildren; j++) {
			const struct conf_child *ch = conn->children[j];

			if (ch->start_action == CONF_START_TRAP)
				daemon_trap(d, conn, ch);
			if (ch->start_action != CONF_START_START)
				continue;
			if (daemon_up(d, conn->name, ch->name, now, msg, sizeof(msg)))
				log_err("xiked: start %s/%s: %s", conn->name, ch->name, msg);
		}
	}
}

/* SIGTERM/SIGINT: delete our IKE SAs, wait a little for the answers. */
static void daemon_begin_stop(struct daemon *d, uint64_t now)
{
	struct daemon_gen *g;

	d->stopping = true;
	d->stop_deadline = now + DAEMON_STOP_WAIT_MS;
	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa))
			if (sa->state == IKE_ST_ESTABLISHED)
				(void)engine_ike_delete(g->eng, ike_sa_local_spi(sa), now);
	}
}

static bool daemon_stop_done(const struct daemon *d, uint64_t now)
{
	const struct daemon_gen *g;

	if (now >= d->stop_deadline)
		return true;
	for (g = d->gens; g; g = g->next) {
		const struct ike_sa *sa;

		for (sa = engine_sa_next(g->eng, NULL); sa; sa = engine_sa_next(g->eng, sa))
			if (sa->state == IKE_ST_DELETING)
				return false;
	}
	return true;
}

static void daemon_signal(struct daemon *d, uint64_t now)
{
	struct signalfd_siginfo si;
	char msg[1024];

	while (read(d->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("xiked: SIGHUP, reloading");
			if (!d->stopping)
				(void)daemon_reload(d, msg, sizeof(msg));
		} else if (!d->stopping) {
			log_info("xiked: signal %u, deleting IKE SAs and exiting", si.ssi_signo);
			daemon_begin_stop(d, now);
		}
	}
}

static int daemon_poll_timeout(const struct daemon *d, uint64_t now)
{
	uint64_t next = now + 1000;
	const struct daemon_gen *g;

	for (g = d->gens; g; g = g->next) {
		uint64_t t = engine_next_timeout(g->eng);

		if (t < next)
			next = t;
	}
	if (d->npend && now + 100 < next)
		next = now + 100;
	if (d->stopping && d->stop_deadline < next)
		next = d->stop_deadline;
	return next <= now ? 0 : (int)(next - now);
}

static void daemon_free(struct daemon *d)
{
	struct daemon_gen *g;
	size_t i;

	while ((g = d->gens)) {
		d->gens = g->next;
		engine_free(g->eng);
		conf_free(g->conf);
		free(g);
	}
	vip_close(d->vip); /* after the engines: their vip_del() ran */
	cp_pools_free(d->pools);
	kernel_close(d->kern);
	acq_dp_close(&d->acq_dp);
	xfrm_nl_acquire_close(d->acq_sock);
	acq_table_free(&d->acq);
	ctl_close(d->cfd, d->opts->sock_path);
	for (i = 0; i < d->nsocks; i++)
		close(d->socks[i].fd);
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->keylog)
		fclose(d->keylog);
	free(d->logged);
}

int daemon_run(const struct daemon_opts *opts)
{
	const char *pin_dir;
	struct pollfd pfd[DAEMON_SOCK_MAX + 4];
	size_t ix_acq, ix_acq_dp; /* their pfd[] slots, 0: none */
	struct daemon d;
	struct daemon_gen *g;
	char err[1024];
	sigset_t mask;
	size_t i, n;
	uint64_t now;
	int rc;

	memset(&d, 0, sizeof(d));
	d.opts = opts;
	d.sfd = d.cfd = -1;
	d.ops.send = daemon_send;
	d.ops.install_child = daemon_install_child;
	d.ops.remove_child = daemon_remove_child;
	d.ops.update_child = daemon_update_child;
	d.ops.send_keepalive = daemon_send_keepalive;
	d.ops.alloc_spi = daemon_alloc_spi;
	d.ops.release_spi = daemon_release_spi;
	d.ops.vip_add = daemon_vip_add;
	d.ops.vip_del = daemon_vip_del;
	d.ops.arg = &d;
	if (cp_pools_new(&d.pools))
		return -ENOMEM;

	g = calloc(1, sizeof(*g));
	if (!g) {
		cp_pools_free(d.pools);
		return -ENOMEM;
	}
	d.gens = g;
	rc = conf_load(opts->conf_path, 0, &g->conf, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		goto out;
	}
	rc = engine_new(g->conf, &d.ops, &(struct engine_params){ .pools = d.pools }, &g->eng);
	if (rc) {
		log_err("xiked: engine: %s", strerror(-rc));
		goto out;
	}
	g->id = d.next_gen_id++;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d.sfd < 0) {
		rc = -errno;
		log_err("xiked: signalfd: %s", strerror(errno));
		goto out;
	}
	rc = ctl_open(opts->sock_path, &d.cfd);
	if (rc) {
		log_err("xiked: control socket %s: %s%s", opts->sock_path, strerror(-rc),
			rc == -EADDRINUSE ? " (another xiked answers there)" : "");
		d.cfd = -1;
		goto out;
	}
	rc = kernel_open(opts->state_dir, opts->sock_path, &d.kern);
	if (rc) {
		log_err("xiked: xfrm netlink: %s", strerror(-rc));
		goto out;
	}
	/* XIKED_PIN_DIR: xipsec's --pin-dir, for instances in network namespaces */
	pin_dir = getenv("XIKED_PIN_DIR");
	if (!pin_dir)
		pin_dir = XIPSEC_PIN_DIR;
	rc = kernel_dp_open(d.kern, pin_dir);
	if (rc)
		log_debug("xiked: no xipsec dataplane maps in %s (%s): kernel policies only", pin_dir,
			  strerror(-rc));
	else
		log_info("xiked: xipsec dataplane maps in %s: child SAs get rules and records there",
			 pin_dir);
	/* before the capabilities go: opening pins and mapping the ring buffer need CAP_BPF */
	rc = acq_dp_open(&d.acq_dp, pin_dir, opts->sock_path, daemon_acquire_dp, &d);
	if (rc)
		log_debug("xiked: no xipsec acquire ring buffer in %s (%s): kernel acquires only",
			  pin_dir, strerror(-rc));
	else
		log_info("xiked: reading the dataplane's acquires from %s/%s", pin_dir,
			 XIPSEC_MAP_EVENTS);
	rc = xfrm_nl_acquire_open(&d.acq_sock);
	if (rc) {
		log_warn("xiked: XFRMNLGRP_ACQUIRE: %s: start_action = trap cannot start children",
			 strerror(-rc));
		d.acq_sock = NULL;
	}
	rc = daemon_open_socks(&d, g->conf);
	if (rc)
		goto out;
	if (opts->keylog_path) {
		mode_t old = umask(0077);

		d.keylog = fopen(opts->keylog_path, "ae");
		umask(old);
		if (!d.keylog) {
			rc = -errno;
			log_err("xiked: key log %s: %s", opts->keylog_path, strerror(errno));
			goto out;
		}
		log_warn("xiked: writing IKE SA keys to %s (debugging only)", opts->keylog_path);
	}
	if (opts->drop_caps)
		daemon_drop_caps(kernel_dp_active(d.kern));
	log_info("xiked: running with %s (%zu connections), control socket %s", opts->conf_path,
		 g->conf->nconns, opts->sock_path);

	daemon_start_children(&d, daemon_now());
	for (;;) {
		now = daemon_now();
		if (d.stopping && daemon_stop_done(&d, now))
			break;
		n = 0;
		for (i = 0; i < d.nsocks; i++)
			pfd[n++] = (struct pollfd){ .fd = d.socks[i].fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = d.sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = d.cfd, .events = POLLIN };
		ix_acq = ix_acq_dp = 0;
		if (d.acq_sock) {
			ix_acq = n;
			pfd[n++] = (struct pollfd){ .fd = mnl_socket_get_fd(d.acq_sock),
						    .events = POLLIN };
		}
		if (acq_dp_fd(&d.acq_dp) >= 0) {
			ix_acq_dp = n;
			pfd[n++] = (struct pollfd){ .fd = acq_dp_fd(&d.acq_dp), .events = POLLIN };
		}
		if (poll(pfd, n, daemon_poll_timeout(&d, now)) < 0 && errno != EINTR) {
			rc = -errno;
			log_err("xiked: poll: %s", strerror(errno));
			break;
		}
		now = daemon_now();
		for (i = 0; i < d.nsocks; i++)
			if (pfd[i].revents & POLLIN)
				daemon_recv(&d, &d.socks[i], now);
		if (pfd[d.nsocks].revents & POLLIN)
			daemon_signal(&d, now);
		if (pfd[d.nsocks + 1].revents & POLLIN)
			ctl_serve(d.cfd, daemon_ctl, &d);
		if (ix_acq && (pfd[ix_acq].revents & POLLIN))
			daemon_acquire_read(&d);
		if (ix_acq_dp && (pfd[ix_acq_dp].revents & POLLIN))
			daemon_acquire_dp_read(&d);
		for (g = d.gens; g; g = g->next) {
			engine_tick(g->eng, now);
			engine_keepalive(g->eng, now);
		}
		daemon_pending_run(&d, now);
		acq_sync(&d.acq, now, daemon_acquire_status, &d);
		daemon_keylog(&d);
		daemon_drain(&d);
	}
	log_info("xiked: exiting, removing what it installed");
	rc = rc < 0 ? rc : 0;
out:
	daemon_free(&d);
	return rc;
}
