/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiked's control socket (a Unix stream socket, mode 0600, at -s PATH).
 *
 * Protocol: the client connects, writes one request line, reads one reply
 * line (a JSON object), and the server closes the connection.
 *
 *	list              {"ok":true,"ike_sas":[...],"stats":{...},...}
 *	                  (stats: ctl_stats_json())
 *	list text         {"ok":true,"text":"<the human-readable listing>"}
 *	up CONN[/CHILD]   {"ok":true,"message":"..."}
 *	down CONN[/CHILD] {"ok":true,"message":"..."}
 *	rekey CONN[/CHILD] {"ok":true,"message":"..."}
 *	reload            {"ok":true,"message":"..."}
 *	(any failure)     {"ok":false,"error":"..."}
 *
 * Requests are at most CTL_LINE_MAX bytes; "up", "down" and "rekey" start the
 * exchange and answer at once (the listing shows the outcome).
 */
#ifndef XIKED_CTL_H
#define XIKED_CTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define CTL_LINE_MAX 512

/* A growing reply buffer; on allocation failure it records that and the
 * server answers with an error instead. */
struct ctl_buf {
	char *s;
	size_t len, cap;
	bool oom;
};

void ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* @s as a JSON string literal, quotes included. */
void ctl_buf_json_str(struct ctl_buf *b, const char *s);
void ctl_buf_free(struct ctl_buf *b);

struct engine_stats;
/* "stats":{...}: the engine counters of the listing (documented in
 * xipsec(8), "ike list --json"). */
void ctl_stats_json(struct ctl_buf *b, const struct engine_stats *st);

/*
 * Handles one request. @cmd is the first word, @arg the rest (may be "").
 * Fill @reply with the whole JSON object, or return -errno and an error text
 * in @err.
 */
typedef int (*ctl_handler)(void *arg, const char *cmd, const char *args, struct ctl_buf *reply,
			   char *err, size_t errlen);

/* Bind and listen at @path (an old socket file there is replaced). */
int ctl_open(const char *path, int *fd_out);
void ctl_close(int fd, const char *path);
/* Accept one client on listening @fd and serve its request. */
void ctl_serve(int fd, ctl_handler handler, void *arg);

#endif
