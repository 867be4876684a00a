/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CrowdSec, both ways, for one interface of 'run':
 *
 * - the bouncer ("crowdsec url URL key @FILE [poll D]"): streams the Local
 *   API's decisions (GET /v1/decisions/stream, startup=true first and after
 *   any failure, then deltas) and keeps the interface's bans of reason
 *   crowdsec equal to the "ban" decisions of scope Ip and Range, with their
 *   remaining time. A startup answer also lifts crowdsec bans it no longer
 *   lists, so a restart resyncs. A ban of another reason is never lifted
 *   or shortened by a decision.
 * - the signal source ("crowdsec push @CREDENTIALS_FILE"): every scan ban
 *   the data path makes is posted as an alert of scenario
 *   portcullis/port-scan with a ban decision of the ban's remaining time
 *   (POST /v1/alerts, logged in with the machine's credentials), in
 *   batches, retried with backoff.
 *
 * Both run in a thread of their own, with their own map handles and
 * libcurl timeouts: a Local API that is down or slow only delays that
 * thread, never the data path, run's main loop or the exporter. Every poll
 * is counted in portcullis_crowdsec_sync_total{result} (pc_scan_stats, so
 * any process's metrics see it) and failures are logged when the state
 * changes and every few minutes while it lasts.
 */
#ifndef PORTCULLIS_CROWDSEC_H
#define PORTCULLIS_CROWDSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "config.h"

struct pc_crowdsec;

/* Start what CFG asks for on IFNAME; NULL when it asks for nothing or cannot
 * start (said on stderr). Reads the key and credentials files now. */
struct pc_crowdsec *pc_crowdsec_start(const char *ifname, const struct pc_crowdsec_config *cfg);
/* The same for the crowdsec lines of the config file CONFIG_PATH (run's hook). */
struct pc_crowdsec *pc_crowdsec_run(const char *ifname, const char *config_path);
/* After a reload of CONFIG_PATH (run's SIGHUP): CS kept when its crowdsec
 * settings, key and scan ipv6-prefix are unchanged, else stopped and what
 * the file asks for started (a bouncer starts with a full resync). */
struct pc_crowdsec *pc_crowdsec_reload(struct pc_crowdsec *cs, const char *ifname,
				       const char *config_path);
/* Stop the thread (an HTTP request in flight is abandoned) and free CS. */
void pc_crowdsec_stop(struct pc_crowdsec *cs);

/* A Go duration as the Local API writes it ("3h59m58.1s", "-52ms") in ns. */
int pc_crowdsec_parse_duration(const char *text, __s64 *ns);

#endif /* PORTCULLIS_CROWDSEC_H */
