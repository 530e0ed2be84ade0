/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiked's kernel side: negotiated child SAs become xfrm states and tunnel-mode
 * policies (lib/xfrm_nl), and xiked keeps track of exactly what it installed.
 *
 * Per child SA: an inbound and an outbound ESP state sharing one reqid, and
 * for each pair of (local, remote) selector prefixes an out, an in and a fwd
 * policy whose template names that reqid. Marks and if_ids come from the
 * child's configuration (the connection's when the child sets none).
 *
 * Ownership: everything installed is listed in a state file
 * (@state_dir/<control socket path, '/' -> '_'>.state), appended to at every
 * change (a journal, compacted now and then; see kernel.c). kernel_open() removes what an earlier run with the same control
 * socket left behind (it crashed or was killed), checking each object's
 * reqid first so that a state or policy someone else installed since then
 * with the same key is left alone; kernel_close() removes everything this
 * run installed. Objects xiked did not install are never touched.
 */
#ifndef XIKED_KERNEL_H
#define XIKED_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ikev2_exch.h"
#include "xfrm_nl.h"

#define KERNEL_STATE_DIR "/run/xiked"

struct kernel;

/* Opens netlink, removes leftovers of an earlier run keyed by @sock_path. */
int kernel_open(const char *state_dir, const char *sock_path, struct kernel **out);
/* Removes every state and policy this run installed. */
void kernel_close(struct kernel *k);

/* engine_ops callbacks (@arg is the struct kernel). */
int kernel_install_child(void *arg, const struct engine_child *c);
void kernel_remove_child(void *arg, const struct engine_child *c);
/* The peer's outer address or port changed (NAT): states, encapsulation
 * ports and policy templates of the child follow. */
void kernel_update_child(void *arg, const struct engine_child *c,
			 const struct sockaddr *old_remote);
/* XFRM_MSG_ALLOCSPI for the inbound state remote -> local; the larval state
 * is replaced by kernel_install_child() or dropped by kernel_release_spi()
 * (or kernel_close()). */
#define KERNEL_SPI_MIN 0x100
int kernel_alloc_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
		     uint32_t *spi);
void kernel_release_spi(void *arg, const struct sockaddr *local, const struct sockaddr *remote,
			uint32_t spi);

/*
 * start_action = trap: the out policies of @cfg's configured selectors
 * (dynamic ones resolved to @local/@remote), with a template but no state,
 * so that matching traffic makes the kernel send XFRM_MSG_ACQUIRE. A child
 * SA negotiated later for the same selectors takes the policy over and hands
 * it back when it goes away. Removed by kernel_close().
 */
int kernel_install_trap(struct kernel *k, const struct conf_conn *conn,
			const struct conf_child *cfg, const struct sockaddr *local,
			const struct sockaddr *remote);

/*
 * xipsec is attached (its maps are pinned under @pin_dir): from now on each
 * child also gets SA records and a PROTECT bucket with its selectors in the
 * dataplane maps (lib/dp_ike.h: ids from DP_IKE_SA_ID_FIRST, buckets named
 * "xiked:<outbound SPI>"), listed in the state file like the states and
 * removed with them; leftovers of an earlier run are removed here.
 * -errno (nothing changes) when the maps cannot be opened.
 */
int kernel_dp_open(struct kernel *k, const char *pin_dir);
bool kernel_dp_active(const struct kernel *k);

/* Objects currently installed (states + policies), for `ike list`. */
size_t kernel_object_count(const struct kernel *k);

/*
 * An inclusive address range [@start, @end] (big-endian, @alen 4 or 16 bytes)
 * as the fewest CIDR prefixes, at most @max of them into @addr/@plen.
 * Returns the number, -E2BIG if more are needed, -EINVAL if start > end.
 */
int kernel_range_to_prefixes(const uint8_t *start, const uint8_t *end, size_t alen,
			     uint8_t (*addr)[16], uint8_t *plen, size_t max);

#endif
