/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Following the sampled drop log ("log drops RATE"): the data path's
 * pc_drops ring buffer, one line per record,
 *   2026-11-30T08:00:00.123Z drop not-allowed tcp 198.51.100.7:51234 -> 203.0.113.1:8080 flags S
 * len 60 and, at most once a second, how many drops went unlogged, 2026-11-30T08:00:01.002Z
 * suppressed 5312 drops (rate limit 10/s) Used by "portcullis log" (stdout) and "run" (syslog, one
 * follower per interface).
 */
#ifndef PORTCULLIS_DROPLOG_H
#define PORTCULLIS_DROPLOG_H

#include <stddef.h>

#include "events.h"

struct pc_droplog;

/* LINE gets each line without a newline; CTX is passed through. */
struct pc_droplog *pc_droplog_open(const struct pc_maps *maps, pc_event_line_fn line, void *ctx);
/* Wait up to TIMEOUT_MS for records; <0 on error. */
int pc_droplog_poll(struct pc_droplog *log, int timeout_ms);
void pc_droplog_close(struct pc_droplog *log);

/* run: IFACE's drop log to syslog (LOG_DAEMON, LOG_INFO) and stderr, "IFACE: LINE". NULL if
 * it cannot be followed (said on stderr). */
struct pc_droplog *pc_droplog_syslog(const struct pc_maps *maps, const char *ifname);

/* "2026-11-30T08:00:00.123Z" for a CLOCK_MONOTONIC time (bpf_ktime_get_ns()). */
const char *pc_format_mono_time(__u64 mono_ns, char *buf, size_t len);

/* "S", "SA", "FPU", "none": TCP flags in the order S F R P A U. */
const char *pc_format_tcp_flags(__u8 flags, char *buf, size_t len);

/* One record as a line, without a newline. */
void pc_droplog_format(const struct pc_drop_record *rec, char *buf, size_t len);

/* portcullis log IFACE */
int pc_cmd_log(const char *ifname);

#endif /* PORTCULLIS_DROPLOG_H */
