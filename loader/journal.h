/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ownership journal: the kernel xfrm states and policies `xipsec load`
 * installed, so xipsec only ever removes or replaces what it made.
 *
 * A text file, RUN_DIR/journal (mode 0600, replaced atomically by rename):
 *
 *   # xipsec journal v1
 *   sa NAME ID in|out FAMILY DADDR SPI PROTO REQID
 *   pol DIR MARK/MASK SELECTOR-HEX
 *
 * FAMILY is 4 or 6, SPI hex, SELECTOR-HEX the struct xfrm_selector as the
 * kernel keys it (with DIR and the mark it names exactly one policy). Before
 * changing the kernel, `load` writes the union of the old and new object
 * sets (intent), and the new set once done, so a crash in between still
 * leaves every object xipsec may have made listed.
 */
#ifndef XIPSEC_JOURNAL_H
#define XIPSEC_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "static_conf.h"
#include "xfrm_nl.h"

struct journal_sa {
	char name[STATIC_CONF_NAME_MAX];
	__u32 id;
	bool inbound;
	__u32 reqid;
	struct xfrm_nl_sa_id xid;
};

struct journal_pol {
	struct xfrm_nl_policy_id pid;
};

struct journal {
	struct journal_sa *sas;
	size_t nsas;
	struct journal_pol *pols;
	size_t npols;
};

/* Missing file: empty journal, 0. Malformed line: -EBADMSG. */
int journal_read(const char *path, struct journal *j);
int journal_write(const char *path, const struct journal *j);
void journal_free(struct journal *j);
int journal_add_sa(struct journal *j, const struct journal_sa *sa);
int journal_add_pol(struct journal *j, const struct journal_pol *pol);
/* Entry equal to @id, or NULL. */
const struct journal_sa *journal_find_sa(const struct journal *j, const struct xfrm_nl_sa_id *id);
const struct journal_sa *journal_find_sa_name(const struct journal *j, const char *name);
const struct journal_pol *journal_find_pol(const struct journal *j,
					   const struct xfrm_nl_policy_id *id);
bool journal_sa_id_eq(const struct xfrm_nl_sa_id *a, const struct xfrm_nl_sa_id *b);
bool journal_pol_id_eq(const struct xfrm_nl_policy_id *a, const struct xfrm_nl_policy_id *b);

#endif
