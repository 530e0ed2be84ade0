// SPDX-License-Identifier: GPL-2.0-only
/*
 * RFC 7296 2.6 cookies. See cookie.h.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cookie.h"
#include "crypto.h"
#include "ikev2.h"

int cookie_init(struct cookie_ctx *c)
{
	memset(c, 0, sizeof(*c));
	if (RAND_bytes(c->secret, sizeof(c->secret)) != 1 ||
	    RAND_bytes(c->prev_secret, sizeof(c->prev_secret)) != 1)
		return -EIO;
	return 0;
}

int cookie_rotate(struct cookie_ctx *c)
{
	memcpy(c->prev_secret, c->secret, sizeof(c->secret));
	if (RAND_bytes(c->secret, sizeof(c->secret)) != 1)
		return -EIO;
	c->version++;
	return 0;
}

void cookie_clear(struct cookie_ctx *c)
{
	explicit_bzero(c, sizeof(*c));
}

static int cookie_hash(const uint8_t *secret, uint32_t version, const uint8_t *ni, size_t ni_len,
		       const struct sockaddr *peer, uint64_t spi_i, uint8_t out[COOKIE_LEN])
{
	uint8_t data[IKEV2_NONCE_MAX + 16 + 8];
	size_t len = 0, mac_len = 32;
	int i;

	if (ni_len > IKEV2_NONCE_MAX)
		return -EINVAL;
	memcpy(data, ni, ni_len);
	len = ni_len;
	if (peer->sa_family == AF_INET) {
		memcpy(data + len, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
		len += 4;
	} else if (peer->sa_family == AF_INET6) {
		memcpy(data + len, &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr,
		       16);
		len += 16;
	} else {
		return -EINVAL;
	}
	for (i = 7; i >= 0; i--)
		data[len++] = (uint8_t)(spi_i >> (i * 8));
	out[0] = version >> 24;
	out[1] = (version >> 16) & 0xff;
	out[2] = (version >> 8) & 0xff;
	out[3] = version & 0xff;
	return crypto_hmac("SHA256", secret, 32, data, len, out + 4, &mac_len);
}

int cookie_make(const struct cookie_ctx *c, const uint8_t *ni, size_t ni_len,
		const struct sockaddr *peer, uint64_t spi_i, uint8_t out[COOKIE_LEN])
{
	return cookie_hash(c->secret, c->version, ni, ni_len, peer, spi_i, out);
}

bool cookie_check(const struct cookie_ctx *c, const uint8_t *cookie, size_t len, const uint8_t *ni,
		  size_t ni_len, const struct sockaddr *peer, uint64_t spi_i)
{
	uint8_t want[COOKIE_LEN];
	const uint8_t *secret;
	uint32_t version;
	bool ok;

	if (len != COOKIE_LEN)
		return false;
	version = (uint32_t)cookie[0] << 24 | (uint32_t)cookie[1] << 16 | (uint32_t)cookie[2] << 8 |
		  cookie[3];
	if (version == c->version)
		secret = c->secret;
	else if (version == c->version - 1)
		secret = c->prev_secret;
	else
		return false;
	if (cookie_hash(secret, version, ni, ni_len, peer, spi_i, want))
		return false;
	ok = CRYPTO_memcmp(want, cookie, COOKIE_LEN) == 0;
	explicit_bzero(want, sizeof(want));
	return ok;
}
