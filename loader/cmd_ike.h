/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `xipsec ike ...`: the client of xiked's control socket (protocol in
 * iked/ctl.h).
 *
 *	xipsec ike [--socket PATH] list [--json]
 *	xipsec ike [--socket PATH] up CONN[/CHILD]
 *	xipsec ike [--socket PATH] down CONN[/CHILD]
 *	xipsec ike [--socket PATH] reload
 */
#ifndef XIPSEC_CMD_IKE_H
#define XIPSEC_CMD_IKE_H

#include <stddef.h>

#define IKE_CTL_DEFAULT_SOCKET "/run/xiked.sock"

/* @argv holds the words after "ike". Returns the exit status (0 or 1). */
int cmd_ike(int argc, char **argv);

/*
 * The string value of top-level @key in xiked's JSON reply @json,
 * unescaped into @out. -ENOENT if absent, -ENOSPC if @out is too small.
 */
int ike_json_get_str(const char *json, const char *key, char *out, size_t outlen);

#endif
