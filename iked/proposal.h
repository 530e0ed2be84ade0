/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SA payload proposals against the configuration (RFC 7296 2.7, 3.3).
 *
 * proposal_build() turns configured proposals into the SA payload we offer;
 * proposal_select() is the responder's choice among a peer's offer (our
 * configured order wins, strongSwan's default); proposal_check_reply() is the
 * initiator's check that a responder chose exactly one of the things offered.
 */
#ifndef XIKED_PROPOSAL_H
#define XIKED_PROPOSAL_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "ikev2_pld.h"

/* The negotiated algorithms of one SA; 0 for absent transforms. */
struct proposal_choice {
	uint8_t num;
	uint8_t proto;
	uint8_t spi_size;
	uint8_t spi[IKEV2_MAX_SPI_SIZE];
	uint16_t encr, encr_keylen, prf, integ, dh, esn;
};

enum proposal_flags {
	PROPOSAL_NO_KE = 1 << 0, /* leave KE methods out / ignore them (IKE_AUTH) */
};

/*
 * Offer @cp for @proto (IKEV2_PROTO_IKE or _ESP) with our SPI. With
 * @first_ke non-zero, that group is listed first in every proposal holding
 * it (the group of the KE payload we send). -E2BIG if too large.
 */
int proposal_build(const struct conf_proposals *cp, uint8_t proto, const uint8_t *spi,
		   uint8_t spi_size, uint16_t first_ke, unsigned int flags, struct ikev2_sa *out);

/*
 * Pick from the peer's @offer. @ke_group >= 0 restricts the KE method to
 * that group (the peer's KE payload); -1 takes the first acceptable one.
 * -ENOENT if nothing matches (NO_PROPOSAL_CHOSEN).
 */
int proposal_select(const struct conf_proposals *cp, uint8_t proto, const struct ikev2_sa *offer,
		    int ke_group, unsigned int flags, struct proposal_choice *out);

/* The responder's answer must be one proposal, one transform per type, all
 * of them acceptable to @cp. -EBADMSG otherwise. */
int proposal_check_reply(const struct conf_proposals *cp, uint8_t proto,
			 const struct ikev2_sa *reply, int ke_group, unsigned int flags,
			 struct proposal_choice *out);

/* The one-proposal SA payload answering with @c. */
void proposal_choice_to_sa(const struct proposal_choice *c, struct ikev2_sa *out);

/* First KE group of the first proposal (0 if none); whether @group appears. */
uint16_t proposal_first_ke(const struct conf_proposals *cp);
bool proposal_has_ke(const struct conf_proposals *cp, uint16_t group);

/* "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE25519" style text for logs. */
void proposal_str(const struct proposal_choice *c, char *buf, size_t len);

#endif
