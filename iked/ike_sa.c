// SPDX-License-Identifier: GPL-2.0-only
/*
 * IKE SA state, SPI table, retransmission schedule and reply cache.
 * See ike_sa.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/rand.h>

#include "ike_sa.h"

static unsigned int ike_sa_hash(uint64_t spi)
{
	spi ^= spi >> 33;
	spi *= 0xff51afd7ed558ccdULL;
	spi ^= spi >> 33;
	return (unsigned int)(spi % IKE_SA_BUCKETS);
}

socklen_t ike_addr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

bool ike_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

void ike_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s[%u]", a, ntohs(s->sin_port));
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "%s[%u]", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

const char *ike_state_name(enum ike_state st)
{
	switch (st) {
	case IKE_ST_INIT_SENT:
		return "INIT_SENT";
	case IKE_ST_AUTH_SENT:
		return "AUTH_SENT";
	case IKE_ST_HALF_OPEN:
		return "HALF_OPEN";
	case IKE_ST_ESTABLISHED:
		return "ESTABLISHED";
	case IKE_ST_DELETING:
		return "DELETING";
	case IKE_ST_DEAD:
		return "DEAD";
	}
	return "UNKNOWN";
}

const char *ike_child_state_name(const struct child_sa *c)
{
	if (!c->installed)
		return "PENDING";
	switch (c->state) {
	case CHILD_ST_INSTALLED:
		return "INSTALLED";
	case CHILD_ST_REKEYING:
		return "REKEYING";
	case CHILD_ST_REKEYED:
		return "REKEYED";
	case CHILD_ST_DELETING:
		return "DELETING";
	}
	return "UNKNOWN";
}

struct ike_sa *ike_sa_new(bool initiator, const struct conf_conn *conn,
			  const struct sockaddr *local, const struct sockaddr *remote, uint64_t now)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));

	if (!sa)
		return NULL;
	sa->initiator = initiator;
	sa->conn = conn;
	memcpy(&sa->local, local, ike_addr_len(local));
	memcpy(&sa->remote, remote, ike_addr_len(remote));
	sa->created_ms = now;
	sa->last_rx_ms = now;
	return sa;
}

void ike_sa_free(struct ike_sa *sa)
{
	struct child_sa *c, *n;

	if (!sa)
		return;
	for (c = sa->children; c; c = n) {
		n = c->next;
		free(c);
	}
	dh_free(sa->dh);
	crypto_ike_keys_clear(&sa->keys);
	crypto_sk_clear(&sa->sk_in);
	crypto_sk_clear(&sa->sk_out);
	dh_free(sa->req.child_dh);
	free(sa->req.buf);
	free(sa->reply);
	free(sa->init_req);
	free(sa->init_resp);
	free(sa->reauth_queue);
	explicit_bzero(sa, sizeof(*sa));
	free(sa);
}

void ike_sa_set_state(struct ike_sa_table *t, struct ike_sa *sa, enum ike_state st)
{
	if (!sa->initiator && sa->state == IKE_ST_HALF_OPEN && st != IKE_ST_HALF_OPEN &&
	    t->n_half_open)
		t->n_half_open--;
	if (!sa->initiator && st == IKE_ST_HALF_OPEN && sa->state != IKE_ST_HALF_OPEN)
		t->n_half_open++;
	sa->state = st;
}

int ike_sa_new_spi(const struct ike_sa_table *t, uint64_t *spi)
{
	int i;

	for (i = 0; i < 16; i++) {
		if (RAND_bytes((unsigned char *)spi, sizeof(*spi)) != 1)
			return -EIO;
		if (*spi && !ike_sa_lookup(t, *spi))
			return 0;
	}
	return -EAGAIN;
}

void ike_sa_table_add(struct ike_sa_table *t, struct ike_sa *sa)
{
	unsigned int h = ike_sa_hash(ike_sa_local_spi(sa));

	sa->hnext = t->bucket[h];
	t->bucket[h] = sa;
	if (!sa->initiator) {
		h = ike_sa_hash(sa->ispi);
		sa->inext = t->ibucket[h];
		t->ibucket[h] = sa;
	}
	t->n++;
	if (!sa->initiator && sa->state == IKE_ST_HALF_OPEN)
		t->n_half_open++;
}

void ike_sa_table_del(struct ike_sa_table *t, struct ike_sa *sa)
{
	struct ike_sa **pp = &t->bucket[ike_sa_hash(ike_sa_local_spi(sa))];

	if (!sa->initiator) {
		struct ike_sa **ip = &t->ibucket[ike_sa_hash(sa->ispi)];

		for (; *ip; ip = &(*ip)->inext)
			if (*ip == sa) {
				*ip = sa->inext;
				sa->inext = NULL;
				break;
			}
	}
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp != sa)
			continue;
		*pp = sa->hnext;
		sa->hnext = NULL;
		t->n--;
		if (!sa->initiator && sa->state == IKE_ST_HALF_OPEN && t->n_half_open)
			t->n_half_open--;
		return;
	}
}

struct ike_sa *ike_sa_lookup(const struct ike_sa_table *t, uint64_t local_spi)
{
	struct ike_sa *sa;

	for (sa = t->bucket[ike_sa_hash(local_spi)]; sa; sa = sa->hnext)
		if (ike_sa_local_spi(sa) == local_spi)
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_lookup_init(const struct ike_sa_table *t, uint64_t ispi,
				  const struct sockaddr *remote)
{
	struct ike_sa *sa;

	for (sa = t->ibucket[ike_sa_hash(ispi)]; sa; sa = sa->inext)
		if (sa->ispi == ispi &&
		    ike_addr_equal((const struct sockaddr *)&sa->remote, remote))
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_next(const struct ike_sa_table *t, const struct ike_sa *prev)
{
	unsigned int h = 0;

	if (prev) {
		if (prev->hnext)
			return prev->hnext;
		h = ike_sa_hash(ike_sa_local_spi(prev)) + 1;
	}
	for (; h < IKE_SA_BUCKETS; h++)
		if (t->bucket[h])
			return t->bucket[h];
	return NULL;
}

void ike_req_start(struct ike_req *r, enum ike_req_kind kind, uint32_t msgid, uint8_t *buf,
		   size_t len, uint64_t now, const struct ike_retx_params *p)
{
	free(r->buf);
	r->kind = kind;
	r->msgid = msgid;
	r->buf = buf;
	r->len = len;
	r->tries = 1;
	r->timeout_ms = p->timeout_ms;
	r->next_ms = now + p->timeout_ms;
}

void ike_req_restart(struct ike_req *r, uint8_t *buf, size_t len, uint64_t now,
		     const struct ike_retx_params *p)
{
	ike_req_start(r, r->kind, r->msgid, buf, len, now, p);
}

void ike_req_done(struct ike_req *r)
{
	dh_free(r->child_dh);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int ike_req_due(struct ike_req *r, uint64_t now, const struct ike_retx_params *p)
{
	if (r->kind == IKE_REQ_NONE || now < r->next_ms)
		return 0;
	if (r->tries >= p->max_tries)
		return -ETIMEDOUT;
	r->tries++;
	r->timeout_ms *= 2;
	r->next_ms = now + r->timeout_ms;
	return 1;
}

int ike_sa_cache_reply(struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len);

	if (!p)
		return -ENOMEM;
	memcpy(p, buf, len);
	free(sa->reply);
	sa->reply = p;
	sa->reply_len = len;
	sa->has_reply = true;
	return 0;
}

struct child_sa *ike_child_find_in(const struct ike_sa *sa, uint32_t spi_in)
{
	struct child_sa *c;

	for (c = sa->children; c; c = c->next)
		if (c->spi_in == spi_in)
			return c;
	return NULL;
}

struct child_sa *ike_child_find_out(const struct ike_sa *sa, uint32_t spi_out)
{
	struct child_sa *c;

	for (c = sa->children; c; c = c->next)
		if (c->spi_out == spi_out)
			return c;
	return NULL;
}

void ike_child_unlink(struct ike_sa *sa, struct child_sa *c)
{
	struct child_sa **pp;

	for (pp = &sa->children; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			c->next = NULL;
			return;
		}
}

int ike_child_new_spi(const struct ike_sa_table *t, uint32_t *spi)
{
	const struct ike_sa *sa;
	int i;

	for (i = 0; i < 16; i++) {
		if (RAND_bytes((unsigned char *)spi, sizeof(*spi)) != 1)
			return -EIO;
		if (*spi < 256)
			continue;
		for (sa = ike_sa_next(t, NULL); sa; sa = ike_sa_next(t, sa))
			if (ike_child_find_in(sa, *spi) ||
			    (sa->req.child_spi == *spi && sa->req.kind != IKE_REQ_NONE))
				break;
		if (!sa)
			return 0;
	}
	return -EAGAIN;
}
