/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Prometheus exposition (text format 0.0.4) of one or more attached
 * interfaces, read at call time from the per-CPU maps through
 * pc_snapshot_read(), the same read stats uses. Shared by the metrics,
 * exporter and run commands.
 */
#ifndef PORTCULLIS_METRICS_H
#define PORTCULLIS_METRICS_H

#include <stdbool.h>
#include <stdio.h>

#define PC_PORT_SERIES_DEFAULT 64
#define PC_PORT_SERIES_MAX     65536

#define PC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct pc_metrics_opts {
	/* Denied ports exported, the ones with the most drops first. Every
	 * allowed port is exported on top of these. */
	unsigned int port_series;
	/* Warn about an interface that cannot be read only when its state
	 * changes (the exporter), not on every call. */
	bool quiet_errors;
};

/*
 * Write the exposition of IFNAMES (N of them; N = 0: every interface attached
 * under the pin root) to OUT. An interface that is not attached, or whose
 * maps cannot be read, is reported as portcullis_interface_up 0 and a
 * warning. Returns 0 when every interface was read, -ENOENT when some were
 * not, or a negative errno from writing.
 */
int pc_metrics_write(FILE *out, char *const *ifnames, int n, const struct pc_metrics_opts *opts);

/* The same into a malloc'd buffer (free it); for the HTTP exporter. */
int pc_metrics_render(char **text, size_t *len, char *const *ifnames, int n,
		      const struct pc_metrics_opts *opts);

#endif /* PORTCULLIS_METRICS_H */
