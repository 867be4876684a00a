/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The metrics, exporter and run commands, and the HTTP server they share:
 * libmicrohttpd on its own thread, GET /metrics and a landing page at /.
 */
#ifndef PORTCULLIS_EXPORTER_H
#define PORTCULLIS_EXPORTER_H

#include "metrics.h"

#define PC_LISTEN_DEFAULT "127.0.0.1:9433"

struct pc_exporter;

/*
 * Bind LISTEN ("ADDR:PORT", "[V6ADDR]:PORT", ":PORT" for every address) and
 * serve the metrics of IFNAMES (n = 0: every attached interface, looked up
 * at each scrape). IFNAMES must outlive the server. On failure prints why,
 * naming the address, sets *status to the exit status (2 for a malformed
 * or unresolvable address, 1 when it cannot be bound) and returns NULL.
 */
struct pc_exporter *pc_exporter_start(const char *listen, char *const *ifnames, int n,
				      const struct pc_metrics_opts *opts, int *status);
void pc_exporter_stop(struct pc_exporter *exporter);
/* "http://127.0.0.1:9433/metrics", for messages. */
const char *pc_exporter_url(const struct pc_exporter *exporter);

/*
 * Block SIGHUP, SIGTERM and SIGINT in the calling thread (and the threads
 * it starts afterwards) and return a signalfd that reads them, or -errno.
 * Call before pc_exporter_start so the server thread never takes a signal.
 */
int pc_service_signalfd(void);

int pc_cmd_metrics(char *const *ifnames, int n, const struct pc_metrics_opts *opts);
int pc_cmd_exporter(const char *listen, char *const *ifnames, int n,
		    const struct pc_metrics_opts *opts);

#endif /* PORTCULLIS_EXPORTER_H */
