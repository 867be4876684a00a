// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Placeholder until the CLI lands: proves the skeleton links. */
#include <stdio.h>
#include "portcullis.skel.h"

int main(void)
{
	struct portcullis_bpf *skel = portcullis_bpf__open();

	if (!skel)
		return 1;
	portcullis_bpf__destroy(skel);
	puts("portcullis " PORTCULLIS_VERSION);
	return 0;
}
