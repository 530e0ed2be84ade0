/* SPDX-License-Identifier: GPL-2.0-only */
/* Test-only hex helpers. */
#ifndef XIPSEC_TEST_HEXUTIL_H
#define XIPSEC_TEST_HEXUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decode @hex into @out (room @cap); returns the length or -1. */
static inline long hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t i, n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int x;

		if (sscanf(hex + 2 * i, "%2x", &x) != 1)
			return -1;
		out[i] = (uint8_t)x;
	}
	return (long)(n / 2);
}

#endif
