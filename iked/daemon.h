/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiked's event loop: IKE sockets (UDP 500/local_port and 4500, IPv4 and
 * IPv6, the local address of each datagram learnt with IP_PKTINFO /
 * IPV6_RECVPKTINFO), engine timers, signals (SIGINT/SIGTERM: delete our IKE
 * SAs and exit; SIGHUP: reload) and the control socket.
 *
 * Reload keeps generations: a new configuration gets a new engine for new
 * SAs, while the engines of earlier configurations keep running (and keep
 * their configuration alive) until their last SA is gone. Datagrams go to
 * the generation that knows our SPI in them.
 */
#ifndef XIKED_DAEMON_H
#define XIKED_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char *conf_path;
	const char *sock_path;
	const char *state_dir; /* kernel.h: where the ownership record lives */
	const char *keylog_path; /* NULL: no key log */
	bool drop_caps;
};

/* Runs until SIGINT/SIGTERM. 0 on a clean exit, -errno if it could not start. */
int daemon_run(const struct daemon_opts *opts);

#endif
