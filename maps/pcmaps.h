/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * User-space access to the data path's maps: open them from a freshly loaded
 * object or from their pins, write rule sets, flip the active set, read and
 * sum the per-CPU counters. Every loader command and test goes through here,
 * so no other user-space file needs to know a map's byte layout.
 *
 * Functions return 0 or a negative errno, as libbpf does.
 */
#ifndef PORTCULLIS_PCMAPS_H
#define PORTCULLIS_PCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>

#include "portcullis.h"

struct pc_maps {
	int active;
	int config;
	int ports;
	int reasons;
	int port_drops;
	int port_pass;
	int pass_owner;
	int meta;
	int sources; /* ARRAY_OF_MAPS: one source trie per rule set */
	int source_hint;
	int source24; /* mappable: IPv4 source lists per /24, both rule sets */
	int scan_seen;
	int scan_track;
	int bans;
	int ban_state;
	int ban_hint;
	int prefix_bans; /* LPM trie of manual and CrowdSec prefix bans */
	int scan_ring;
	int offenders;
	int scan_stats;
	int events;
	int drops;       /* the drop log's ring buffer */
	int drop_budget;
	int drop_stats;
	int limits; /* "limit" lines: struct pc_limit by pc_limit_key() */
	int rate;   /* per-source token buckets of the limits */
	int ncpus; /* possible CPUs: the stride of per-CPU values */
};

/* A port range with the rule every port in it gets. Host byte order. */
struct pc_port_range {
	__u16 lo;
	__u16 hi; /* inclusive */
};

/* Map fds of a loaded object (borrowed: the object owns them). */
int pc_maps_from_object(struct bpf_object *obj, struct pc_maps *maps);
/* Map fds from PIN_DIR/<map name> (owned: close with pc_maps_close). */
int pc_maps_open_pinned(const char *pin_dir, struct pc_maps *maps);
void pc_maps_close(struct pc_maps *maps);
/* A map's memory as the kernel accounts it (fdinfo memlock), or -1. */
long long pc_map_memlock(int map_fd);
/* Kernel memory of every map of an attachment, the source tries included. */
unsigned long long pc_maps_memory(const struct pc_maps *maps);
/* Names of the maps that make up an attachment, as pinned; N gets the count. */
const char *const *pc_map_names(size_t *n);

int pc_maps_active_set(const struct pc_maps *maps, __u32 *set);
/* Make SET the rule set every following packet sees: one 4-byte store. */
int pc_maps_activate(const struct pc_maps *maps, __u32 set);

int pc_maps_read_config(const struct pc_maps *maps, __u32 set, struct pc_config *cfg);
int pc_maps_write_config(const struct pc_maps *maps, __u32 set, const struct pc_config *cfg);

/*
 * A whole port table for one rule set, built in memory and written in one
 * batch: rules[proto * PC_PORTS + port], port in host order. It carries the
 * pass-slot owners too, so slots are handed out without a map read per port.
 */
struct pc_port_table {
	struct pc_port_rule rules[PC_PORT_SLOTS];
	__u32 owner[PC_PASS_SLOTS];    /* pc_port_counter_key() + 1, 0 = free */
	__u16 slot_of[PC_PORT_SLOTS];  /* by proto * PC_PORTS + port; 0 = none yet */
	__u32 next_free;               /* where the search for a free slot resumes */
	bool owners_changed;
};

/* An empty table (every port closed) with the interface's slot owners. */
struct pc_port_table *pc_port_table_new(const struct pc_maps *maps);
void pc_port_table_free(struct pc_port_table *table);
/*
 * Give every port in [lo, hi] FLAGS. Open ports get a pass counter slot:
 * their old one, else a free one, else the shared overflow slot 0. Slots stay
 * with their port for good, so its counters survive disallow and reload.
 */
void pc_port_table_set(struct pc_port_table *table, enum pc_proto proto, __u16 lo, __u16 hi,
		       __u16 flags);
int pc_maps_read_ports(const struct pc_maps *maps, __u32 set, struct pc_port_table *table);
/* Write slot owners, then the whole table into SET (normally the inactive one). */
int pc_maps_write_ports(const struct pc_maps *maps, __u32 set, const struct pc_port_table *table);

/*
 * Change the live rules of the active set in place, for runtime allow and
 * disallow: each entry update is atomic, so a packet sees a port either
 * before or after the change, and the other ports are not touched. FLAGS 0
 * closes the ports; open multi-port ranges are marked PC_PORT_IN_RANGE.
 * SOURCE_LIST goes with PC_PORT_SOURCE_LIMITED, else 0.
 */
int pc_maps_update_live_ports(const struct pc_maps *maps, enum pc_proto proto,
			      const struct pc_port_range *ranges, size_t n, __u16 flags,
			      __u16 source_list);

/*
 * The "limit" lines of rule set SET: LIMITS[id] for ids 0 .. PC_LIMITS_MAX - 1
 * (id 0 unused, interval 0), all written in one batch so no id of an
 * earlier rule set is left behind.
 */
int pc_maps_write_limits(const struct pc_maps *maps, __u32 set,
			 const struct pc_limit limits[PC_LIMITS_MAX]);
int pc_maps_read_limits(const struct pc_maps *maps, __u32 set, struct pc_limit limits[PC_LIMITS_MAX]);

/* Sum of a per-CPU counter array of N entries into OUT[N]. */
int pc_maps_sum_counters(const struct pc_maps *maps, int map_fd, __u32 n, struct pc_counter *out);
/*
 * The reason counters as the contract counts them, PC_PASS_ALLOWED included
 * (see pc_reason_slot): pc_reasons plus the sum of PASS[PC_PASS_SLOTS], the
 * pass slots already read; pc_maps_read_reasons() reads both itself.
 */
void pc_reasons_add_pass(struct pc_counter reasons[PC_REASON_SLOTS],
			 const struct pc_counter pass[PC_PASS_SLOTS]);
int pc_maps_read_reasons(const struct pc_maps *maps, struct pc_counter reasons[PC_REASON_SLOTS]);
/* Owners of the pass slots: owner[slot] = pc_port_counter_key() + 1, or 0. */
int pc_maps_read_pass_owners(const struct pc_maps *maps, __u32 owner[PC_PASS_SLOTS]);

/* Names of enum pc_reason values as the contract spells them. */
const char *pc_reason_name(int reason);
/* Inverse of pc_reason_name, or -1. */
int pc_reason_from_name(const char *name);
const char *pc_proto_name(enum pc_proto proto);

#endif /* PORTCULLIS_PCMAPS_H */
