// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the static configuration parser: the input is split
 * into lines and fed through the same init/line/finish state machine that
 * `xipsec load` uses, then the kernel objects and map records of every SA
 * are derived, as the loader does before it talks to the kernel.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "static_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct static_conf c; /* large: keep it off the stack */
	struct xfrm_nl_policy pol[STATIC_CONF_MAX_POL];
	struct xipsec_sa rec;
	char *buf, *p, *nl;
	size_t i;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	static_conf_init(&c, "fuzz");
	for (p = buf; p < buf + size; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + size - p));
		if (!nl)
			nl = buf + size;
		*nl = '\0';
		static_conf_line(&c, p);
	}
	if (static_conf_finish(&c) == 0) {
		for (i = 0; i < c.nsas; i++) {
			int n = static_conf_sa_policies(&c, &c.sas[i], pol);

			if (n < 0 || n > STATIC_CONF_MAX_POL)
				abort();
			while (n-- > 0)
				if (xfrm_nl_policy_check(&pol[n], NULL))
					abort();
			if (xfrm_nl_sa_check(&c.sas[i].x, NULL))
				abort();
			static_conf_sa_record(&c, &c.sas[i], &rec);
		}
		for (i = 0; i < c.nrules; i++)
			if (c.rules[i].bucket >= c.nbuckets)
				abort();
	}
	if (strlen(c.errs) >= sizeof(c.errs))
		abort();
	static_conf_free(&c);
	free(buf);
	return 0;
}
