/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bans from user space: add, remove, list, sweep expired ones, and the
 * detector's counters. Keeps pc_ban_state.active equal to the number of
 * bans, as the data path does: every successful insert adds one, every
 * successful delete takes one away.
 */
#ifndef PORTCULLIS_BANS_H
#define PORTCULLIS_BANS_H

#include <stdbool.h>
#include <stddef.h>

#include "pcmaps.h"

/*
 * A ban of either table: an address ban (PREFIX_LEN 0, KEY as pc_bans keys
 * it) or a prefix ban (KEY's address is the network, host bits zero).
 */
struct pc_ban_entry {
	struct pc_addr_key key;
	__u32 prefix_len; /* 0: pc_bans; else pc_prefix_bans, this many address bits */
	struct pc_ban ban;
};

/* The data path's clock (bpf_ktime_get_ns is CLOCK_MONOTONIC). */
__u64 pc_now_ns(void);

/* FAMILY is AF_INET or AF_INET6; IPv6 is cut to IPV6_PREFIX bits as the
 * detector does, IPv4-mapped IPv6 becomes IPv4. */
void pc_addr_key_make(struct pc_addr_key *key, int family, const __u8 *addr, __u32 ipv6_prefix);
/* "198.51.100.7", or "2001:db8:1:2::/64" for a grouped IPv6 source. */
const char *pc_addr_key_format(const struct pc_addr_key *key, __u32 ipv6_prefix, char *buf,
			       size_t len);

/*
 * Which table a ban of LEN bits (FAMILY PC_SRC_FAMILY_*) goes in: an IPv4
 * /32, an IPv6 /128 or /IPV6_PREFIX is one source of pc_bans, anything else
 * a prefix ban. The one rule; bans, unban and the state file follow it.
 */
bool pc_ban_is_prefix(__u8 family, __u32 len, __u32 ipv6_prefix);
/* ENTRY's key for ADDR/LEN (FAMILY AF_INET or AF_INET6); the ban is zeroed. */
int pc_ban_entry_make(struct pc_ban_entry *entry, int family, const __u8 *addr, __u32 len,
		      __u32 ipv6_prefix);
/* What 'bans' shows and 'unban' takes: "198.51.100.7", "2001:db8:1:2::/64",
 * "198.51.100.0/24". */
const char *pc_ban_entry_format(const struct pc_ban_entry *entry, __u32 ipv6_prefix, char *buf,
				size_t len);
/* The ban's extent as a prefix, always with a length: "198.51.100.7/32". */
const char *pc_ban_entry_cidr(const struct pc_ban_entry *entry, __u32 ipv6_prefix, char *buf,
			      size_t len);
/* Insert or replace ENTRY's ban in its table; *REPLACED tells which. */
int pc_ban_entry_add(const struct pc_maps *maps, const struct pc_ban_entry *entry, bool *replaced);
/* ENTRY's ban as its table holds it (expired or not), -ENOENT if none. */
int pc_ban_entry_lookup(const struct pc_maps *maps, struct pc_ban_entry *entry);
/* -ENOENT when there is no such ban. */
int pc_ban_entry_remove(const struct pc_maps *maps, const struct pc_ban_entry *entry);
/*
 * Many bans at once with one mapping of the gate counts: a map update each.
 * *ADDED counts new bans (not replacements), *FAILED the ones refused;
 * returns the first error, or 0.
 */
int pc_bans_add_many(const struct pc_maps *maps, const struct pc_ban_entry *entries, size_t n,
		     size_t *added, size_t *failed);
int pc_bans_remove_many(const struct pc_maps *maps, const struct pc_ban_entry *entries, size_t n,
			size_t *removed);

/* Insert or replace an address ban; *REPLACED tells which. */
int pc_bans_add(const struct pc_maps *maps, const struct pc_addr_key *key,
		const struct pc_ban *ban, bool *replaced);
/* -ENOENT when the source is not banned. */
int pc_bans_remove(const struct pc_maps *maps, const struct pc_addr_key *key);
/* Appends ENTRY to a growing array (*CAP entries allocated). */
int pc_ban_entries_push(struct pc_ban_entry **list, size_t *n, size_t *cap,
			const struct pc_ban_entry *entry);
/* Soonest expiry first, the order bans are listed and restored in. */
void pc_bans_sort_by_expiry(struct pc_ban_entry *entries, size_t n);
/*
 * Bans in force, of both tables, soonest expiry first. With SWEEP, expired ones are deleted
 * on the way and returned in *EXPIRED (may be NULL) instead.
 */
int pc_bans_list(const struct pc_maps *maps, bool sweep, struct pc_ban_entry **list, size_t *n,
		 struct pc_ban_entry **expired, size_t *n_expired);

/* The detector's per-CPU counters, summed, and the number of bans in force. */
int pc_bans_stats(const struct pc_maps *maps, __u64 stats[PC_SCAN_STATS], __u64 *active);
/* Count N bans made in user space (REASON manual or crowdsec) in the totals. */
int pc_bans_count_made(const struct pc_maps *maps, __u32 reason, size_t n);
/* Add N to a statistic kept in user space (PC_STAT_CROWDSEC_*). */
int pc_bans_count_stat(const struct pc_maps *maps, __u32 stat, size_t n);
/* Bans in force by reason (enum pc_ban_reason), both tables. */
int pc_bans_by_reason(const struct pc_maps *maps, __u64 counts[PC_BAN_REASONS]);

#endif /* PORTCULLIS_BANS_H */
