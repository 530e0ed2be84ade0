/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stateless IKE_SA_INIT cookies (RFC 7296 2.6).
 *
 * Cookie = VersionIDofSecret (4 bytes) | HMAC-SHA256(secret, Ni | IPi | SPIi).
 * The responder keeps no state for a cookie it hands out; checking one
 * recomputes it. The secret is rotated by cookie_rotate(); the previous one
 * stays valid so cookies issued just before a rotation still work.
 */
#ifndef XIKED_COOKIE_H
#define XIKED_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_LEN 36 /* 4 + 32; RFC 7296 allows 1..64 */
#define COOKIE_MAX 64

struct cookie_ctx {
	uint32_t version;
	uint8_t secret[32];
	uint8_t prev_secret[32];
};

/* Fresh random secret. 0 or -EIO. */
int cookie_init(struct cookie_ctx *c);
int cookie_rotate(struct cookie_ctx *c);
void cookie_clear(struct cookie_ctx *c);

int cookie_make(const struct cookie_ctx *c, const uint8_t *ni, size_t ni_len,
		const struct sockaddr *peer, uint64_t spi_i, uint8_t out[COOKIE_LEN]);
bool cookie_check(const struct cookie_ctx *c, const uint8_t *cookie, size_t len, const uint8_t *ni,
		  size_t ni_len, const struct sockaddr *peer, uint64_t spi_i);

#endif
