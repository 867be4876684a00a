/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* portcullis run: the filter as a foreground service (systemd Type=notify). */
#ifndef PORTCULLIS_RUN_H
#define PORTCULLIS_RUN_H

#include <stdbool.h>

#include "metrics.h"

struct pc_run_opts {
	char *const *ifnames; /* every interface served, with the same config */
	int n_ifaces;
	const char *config_path;
	const char *listen; /* NULL: PC_LISTEN_DEFAULT */
	int xdp_mode;	    /* 0 = auto, else enum pc_xdp_mode */
	bool detach_on_exit; /* detach when stopping; by default the filter stays */
	bool force;	    /* attach and reload even if that cuts off this SSH session */
	struct pc_metrics_opts metrics;
};

/*
 * Attach each IFACE (or adopt its attachment and apply the config to it),
 * serve one /metrics for all, reload all on SIGHUP, attach again an
 * interface that is recreated, stop on SIGTERM or SIGINT. The attachment
 * stays when it stops (fail-closed: a restart leaves no unfiltered moment
 * and the next run adopts it) unless DETACH_ON_EXIT. Returns the exit status.
 */
int pc_cmd_run(const struct pc_run_opts *opts);

#endif /* PORTCULLIS_RUN_H */
