/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One consistent-enough read of an interface's counters and rules, with the
 * sums the contract reports (totals, drops by reason, per-port rows). stats,
 * metrics and the exporter all print from this, so they agree by design.
 */
#ifndef PORTCULLIS_SNAPSHOT_H
#define PORTCULLIS_SNAPSHOT_H

#include "pcmaps.h"

struct pc_port_row {
	enum pc_proto proto;
	__u16 port;   /* host order */
	bool allowed; /* open to some or all sources */
	struct pc_counter pass;
	struct pc_counter drop;
};

struct pc_snapshot {
	__u32 active_set;
	struct pc_config config; /* of the active set */
	struct pc_meta meta;
	struct pc_counter reasons[PC_REASON_SLOTS]; /* by mode, see pc_reason_slot() */

	/* Derived */
	struct pc_counter pass_total;
	struct pc_counter drop_total;               /* real drops: enforce mode only */
	struct pc_counter by_reason[PC_REASONS];    /* both modes added up */
	struct pc_counter pass_overflow;            /* allowed ports past PC_PASS_SLOTS */
	struct pc_port_row *ports;                  /* sorted by proto, port */
	size_t n_ports;
	__u32 allowed_ports;                        /* open (proto, port) pairs */
	__u64 bans_active;                          /* bans in force (pc_ban_state) */
	__u64 scan[PC_SCAN_STATS];                  /* detector counters, summed */
};

/* Read everything; free with pc_snapshot_free. */
int pc_snapshot_read(const struct pc_maps *maps, struct pc_snapshot *snap);
void pc_snapshot_free(struct pc_snapshot *snap);

#endif /* PORTCULLIS_SNAPSHOT_H */
