// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proposal building and selection. See proposal.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proposal.h"

static int proposal_add_xform(struct ikev2_prop *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	if (p->n_xforms == IKEV2_MAX_XFORMS)
		return -E2BIG;
	p->xforms[p->n_xforms].type = type;
	p->xforms[p->n_xforms].id = id;
	p->xforms[p->n_xforms].keylen = keylen;
	p->n_xforms++;
	return 0;
}

int proposal_build(const struct conf_proposals *cp, uint8_t proto, const uint8_t *spi,
		   uint8_t spi_size, uint16_t first_ke, unsigned int flags, struct ikev2_sa *out)
{
	size_t i;
	unsigned int j;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (cp->n > IKEV2_MAX_PROPOSALS || spi_size > IKEV2_MAX_SPI_SIZE)
		return -E2BIG;
	for (i = 0; i < cp->n; i++) {
		const struct conf_proposal *c = &cp->v[i];
		struct ikev2_prop *p = &out->props[out->n_props++];

		p->num = (uint8_t)(i + 1);
		p->proto = proto;
		p->spi_size = spi_size;
		if (spi_size)
			memcpy(p->spi, spi, spi_size);
		for (j = 0; j < c->nencr; j++)
			err = err   ?:
				      proposal_add_xform(p, IKEV2_XFORM_ENCR, c->encr[j],
							 c->encr_keylen[j]);
		if (proto == IKEV2_PROTO_IKE)
			for (j = 0; j < c->nprf; j++)
				err = err ?: proposal_add_xform(p, IKEV2_XFORM_PRF, c->prf[j], 0);
		for (j = 0; j < c->ninteg; j++)
			err = err ?: proposal_add_xform(p, IKEV2_XFORM_INTEG, c->integ[j], 0);
		if (!(flags & PROPOSAL_NO_KE)) {
			bool has_first = false;

			for (j = 0; j < c->nke; j++)
				if (first_ke && c->ke[j] == first_ke)
					has_first = true;
			if (has_first)
				err = err ?: proposal_add_xform(p, IKEV2_XFORM_DH, first_ke, 0);
			for (j = 0; j < c->nke; j++)
				if (!has_first || c->ke[j] != first_ke)
					err = err   ?:
						      proposal_add_xform(p, IKEV2_XFORM_DH,
									 c->ke[j], 0);
		}
		if (proto != IKEV2_PROTO_IKE) {
			if (!c->nesn)
				err = err   ?:
					      proposal_add_xform(p, IKEV2_XFORM_ESN, IKEV2_ESN_NO,
								 0);
			for (j = 0; j < c->nesn; j++)
				err = err ?: proposal_add_xform(p, IKEV2_XFORM_ESN, c->esn[j], 0);
		}
		if (err)
			return err;
	}
	return 0;
}

static bool prop_has(const struct ikev2_prop *p, uint8_t type, uint16_t id, uint16_t keylen)
{
	unsigned int i;

	for (i = 0; i < p->n_xforms; i++)
		if (p->xforms[i].type == type && p->xforms[i].id == id &&
		    p->xforms[i].keylen == keylen)
			return true;
	return false;
}

static bool prop_has_type(const struct ikev2_prop *p, uint8_t type)
{
	unsigned int i;

	for (i = 0; i < p->n_xforms; i++)
		if (p->xforms[i].type == type)
			return true;
	return false;
}

/* A type we do not configure must be absent from the peer's proposal or
 * offer "none" (id 0), e.g. no integrity next to an AEAD cipher. */
static bool prop_none_ok(const struct ikev2_prop *p, uint8_t type)
{
	return !prop_has_type(p, type) || prop_has(p, type, 0, 0);
}

static int proposal_match(const struct conf_proposal *c, const struct ikev2_prop *p, int ke_group,
			  unsigned int flags, struct proposal_choice *out)
{
	unsigned int i;
	bool found;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < p->n_xforms; i++) {
		uint8_t t = p->xforms[i].type;

		/* RFC 7296 3.3.6: unknown transform types make the proposal unacceptable */
		if (t < IKEV2_XFORM_ENCR || t > IKEV2_XFORM_TYPE_MAX)
			return -ENOENT;
		if (p->proto == IKEV2_PROTO_IKE && t == IKEV2_XFORM_ESN)
			return -ENOENT;
		if (p->proto != IKEV2_PROTO_IKE && t == IKEV2_XFORM_PRF)
			return -ENOENT;
	}

	for (i = 0, found = false; i < c->nencr && !found; i++)
		if (prop_has(p, IKEV2_XFORM_ENCR, c->encr[i], c->encr_keylen[i])) {
			out->encr = c->encr[i];
			out->encr_keylen = c->encr_keylen[i];
			found = true;
		}
	if (!found)
		return -ENOENT;

	if (p->proto == IKEV2_PROTO_IKE) {
		for (i = 0, found = false; i < c->nprf && !found; i++)
			if (prop_has(p, IKEV2_XFORM_PRF, c->prf[i], 0)) {
				out->prf = c->prf[i];
				found = true;
			}
		if (!found)
			return -ENOENT;
	}

	if (c->ninteg) {
		for (i = 0, found = false; i < c->ninteg && !found; i++)
			if (prop_has(p, IKEV2_XFORM_INTEG, c->integ[i], 0)) {
				out->integ = c->integ[i];
				found = true;
			}
		if (!found)
			return -ENOENT;
	} else if (!prop_none_ok(p, IKEV2_XFORM_INTEG)) {
		return -ENOENT;
	}

	if (flags & PROPOSAL_NO_KE) {
		out->dh = 0;
	} else if (c->nke) {
		for (i = 0, found = false; i < c->nke && !found; i++) {
			if (ke_group >= 0 && c->ke[i] != ke_group)
				continue;
			if (prop_has(p, IKEV2_XFORM_DH, c->ke[i], 0)) {
				out->dh = c->ke[i];
				found = true;
			}
		}
		if (!found)
			return -ENOENT;
	} else if (!prop_none_ok(p, IKEV2_XFORM_DH) || ke_group > 0) {
		return -ENOENT;
	}

	if (p->proto != IKEV2_PROTO_IKE) {
		if (!prop_has_type(p, IKEV2_XFORM_ESN)) {
			/* ESN is mandatory for ESP; absent reads as "no" */
			found = !c->nesn;
			for (i = 0; i < c->nesn; i++)
				if (c->esn[i] == IKEV2_ESN_NO)
					found = true;
			out->esn = IKEV2_ESN_NO;
		} else {
			const uint16_t def = IKEV2_ESN_NO;
			const uint16_t *esn = c->nesn ? c->esn : &def;
			unsigned int nesn = c->nesn ? c->nesn : 1;

			for (i = 0, found = false; i < nesn && !found; i++)
				if (prop_has(p, IKEV2_XFORM_ESN, esn[i], 0)) {
					out->esn = esn[i];
					found = true;
				}
		}
		if (!found)
			return -ENOENT;
	}

	out->num = p->num;
	out->proto = p->proto;
	out->spi_size = p->spi_size;
	memcpy(out->spi, p->spi, p->spi_size);
	return 0;
}

int proposal_select(const struct conf_proposals *cp, uint8_t proto, const struct ikev2_sa *offer,
		    int ke_group, unsigned int flags, struct proposal_choice *out)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < cp->n; i++)
		for (j = 0; j < offer->n_props; j++) {
			const struct ikev2_prop *p = &offer->props[j];

			if (p->proto != proto)
				continue;
			if (proto == IKEV2_PROTO_ESP && p->spi_size != 4)
				continue;
			if (!proposal_match(&cp->v[i], p, ke_group, flags, out))
				return 0;
		}
	memset(out, 0, sizeof(*out));
	return -ENOENT;
}

int proposal_check_reply(const struct conf_proposals *cp, uint8_t proto,
			 const struct ikev2_sa *reply, int ke_group, unsigned int flags,
			 struct proposal_choice *out)
{
	const struct ikev2_prop *p;
	unsigned int i, j;

	if (reply->n_props != 1 || reply->props[0].proto != proto)
		return -EBADMSG;
	p = &reply->props[0];
	for (i = 0; i < p->n_xforms; i++)
		for (j = i + 1; j < p->n_xforms; j++)
			if (p->xforms[i].type == p->xforms[j].type)
				return -EBADMSG;
	if (proposal_select(cp, proto, reply, ke_group, flags, out))
		return -EBADMSG;
	return 0;
}

void proposal_choice_to_sa(const struct proposal_choice *c, struct ikev2_sa *out)
{
	struct ikev2_prop *p = &out->props[0];

	memset(out, 0, sizeof(*out));
	out->n_props = 1;
	p->num = c->num;
	p->proto = c->proto;
	p->spi_size = c->spi_size;
	memcpy(p->spi, c->spi, c->spi_size);
	proposal_add_xform(p, IKEV2_XFORM_ENCR, c->encr, c->encr_keylen);
	if (c->proto == IKEV2_PROTO_IKE)
		proposal_add_xform(p, IKEV2_XFORM_PRF, c->prf, 0);
	if (c->integ)
		proposal_add_xform(p, IKEV2_XFORM_INTEG, c->integ, 0);
	if (c->dh)
		proposal_add_xform(p, IKEV2_XFORM_DH, c->dh, 0);
	if (c->proto != IKEV2_PROTO_IKE)
		proposal_add_xform(p, IKEV2_XFORM_ESN, c->esn, 0);
}

uint16_t proposal_first_ke(const struct conf_proposals *cp)
{
	return cp->n && cp->v[0].nke ? cp->v[0].ke[0] : 0;
}

bool proposal_has_ke(const struct conf_proposals *cp, uint16_t group)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < cp->n; i++)
		for (j = 0; j < cp->v[i].nke; j++)
			if (cp->v[i].ke[j] == group)
				return true;
	return false;
}

void proposal_str(const struct proposal_choice *c, char *buf, size_t len)
{
	char kl[8] = "";

	if (c->encr_keylen)
		snprintf(kl, sizeof(kl), "_%u", c->encr_keylen);
	snprintf(buf, len, "%s%s%s%s%s%s%s%s", ikev2_xform_id_name(IKEV2_XFORM_ENCR, c->encr), kl,
		 c->prf ? "/PRF_" : "", c->prf ? ikev2_xform_id_name(IKEV2_XFORM_PRF, c->prf) : "",
		 c->integ ? "/" : "",
		 c->integ ? ikev2_xform_id_name(IKEV2_XFORM_INTEG, c->integ) : "", c->dh ? "/" : "",
		 c->dh ? ikev2_xform_id_name(IKEV2_XFORM_DH, c->dh) : "");
}
