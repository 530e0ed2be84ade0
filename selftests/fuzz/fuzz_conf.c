// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the swanctl.conf reader: syntax (conf_parse.c),
 * references, and the typed model with every value parser (conf.c,
 * conf_value.c). Includes and credential files are off: the input is the
 * whole configuration. A loaded configuration is printed to /dev/null so the
 * summary code runs on whatever the parser accepted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../iked/conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	struct conf *conf = NULL;
	char err[1024];

	if (!null_out) {
		null_out = fopen("/dev/null", "w");
		log_init("fuzz_conf", LOG_LVL_ERR, false);
	}
	if (conf_load_buf((const char *)data, size, "fuzz.conf", CONF_NO_CREDS | CONF_NO_INCLUDE,
			  &conf, err, sizeof(err)) == 0) {
		if (null_out)
			conf_print_summary(conf, null_out, 1);
		conf_free(conf);
	}
	return 0;
}
