/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace access to the pinned dataplane maps other than the SPD
 * (lib/spd.h): SA records, the SPI index, run-time config flags, counters.
 * All functions return 0 or -errno and print nothing.
 */
#ifndef XIPSEC_LIB_DP_MAPS_H
#define XIPSEC_LIB_DP_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "xipsec/dataplane.h"
#include "xipsec/sa.h"

struct dp_maps {
	int config_fd;
	int sa_fd;
	int spi_fd;
	int sa_stat_fd;
	int drops_fd;
	int stats_fd;
};

/* Open the pinned maps under @pin_dir (normally XIPSEC_PIN_DIR). */
int dp_maps_open_pinned(struct dp_maps *m, const char *pin_dir);

/* A pinned object by name and the fd to fill in: a table for dp_pins_open(). */
struct dp_pin {
	int *fd;
	const char *name;
};

/*
 * Open every pin of @pins under @dir into its fd. All or nothing: on error the
 * fds already opened are closed, every fd is -1, and -errno is returned.
 */
int dp_pins_open(const char *dir, const struct dp_pin *pins, size_t n);
void dp_maps_close(struct dp_maps *m);

/*
 * Write SA @id. Install order matters for PROTECT: write the record with
 * XIPSEC_SA_F_INSTALLED only after the kernel xfrm state and policy exist.
 * For an inbound SA the SPI index entry is added too.
 */
int dp_sa_set(const struct dp_maps *m, uint32_t id, const struct xipsec_sa *sa);
/* Clear SA @id (and its SPI index entry if inbound). */
int dp_sa_del(const struct dp_maps *m, uint32_t id);
int dp_sa_get(const struct dp_maps *m, uint32_t id, struct xipsec_sa *sa);

/* xipsec_config.flags = (flags & ~clear) | set */
int dp_config_update_flags(const struct dp_maps *m, uint32_t set, uint32_t clear);
int dp_config_get(const struct dp_maps *m, struct xipsec_config *cfg);

/*
 * Sum a per-CPU map value made only of __u64 fields: @out gets value_size
 * bytes (a multiple of 8) summed over possible CPUs.
 */
int dp_percpu_sum(int fd, uint32_t key, void *out, size_t value_size);
int dp_sa_stats_read(const struct dp_maps *m, uint32_t id, struct xipsec_sa_stats *out);
/* Zero SA @id's counters on every CPU: a reused id starts from 0. */
int dp_sa_stats_clear(const struct dp_maps *m, uint32_t id);
int dp_drop_read(const struct dp_maps *m, enum xipsec_drop reason, uint64_t *out);
int dp_stat_read(const struct dp_maps *m, enum xipsec_stat stat, uint64_t *out);

/* Short names for status output ("esp_unknown_spi"); "?" if out of range. */
const char *dp_drop_name(unsigned int reason);
const char *dp_stat_name(unsigned int stat);

/* Prefix helper for selectors: fill @p from family/addr/plen (addr network order). */
void dp_prefix_from_plen(struct xipsec_prefix *p, uint8_t family, const __be32 addr[4],
			 uint8_t plen);

#endif
