// SPDX-License-Identifier: GPL-2.0-only
/* xipsec: the command line lives in cli.c (xipsec_run) so tests can link it. */
#include "xipsec.h"

int main(int argc, char **argv)
{
	return xipsec_run(argc, argv);
}
