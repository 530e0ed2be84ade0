/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Making the kernel and the dataplane maps match a parsed static
 * configuration, as one transaction:
 *
 *   1. check: rules compile, no SA or policy to install exists unless the
 *      journal says xipsec made it
 *   2. journal := old objects + new objects (intent)
 *   3. kernel states, then policies (an unchanged state is left alone; a
 *      changed one is replaced: UPDSA cannot change keys)
 *   4. xipsec_sa records with XIPSEC_SA_F_INSTALLED, then the SPD rules in
 *      one generation flip
 *   5. objects of the old configuration not in the new one are removed
 *      (records, then policies, then states); journal := new objects
 *
 * A failure in 3 or 4 undoes what was done, restoring replaced objects
 * from the copies read before, and leaves the previous configuration.
 */
#ifndef XIPSEC_APPLY_H
#define XIPSEC_APPLY_H

#include "static_conf.h"
#include "xipsec.h"

/* @c NULL (or empty) removes everything `load` installed. Prints its errors. */
int apply_conf(const struct static_conf *c, const struct xipsec_paths *paths);

/* RUN_DIR/journal */
int apply_journal_path(const struct xipsec_paths *paths, char *buf, size_t len);

#endif
