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

struct pc_ban_entry {
	struct pc_addr_key key;
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

/* Insert or replace a ban; *REPLACED tells which. */
int pc_bans_add(const struct pc_maps *maps, const struct pc_addr_key *key,
		const struct pc_ban *ban, bool *replaced);
/* -ENOENT when the source is not banned. */
int pc_bans_remove(const struct pc_maps *maps, const struct pc_addr_key *key);
/* Soonest expiry first, the order bans are listed and restored in. */
void pc_bans_sort_by_expiry(struct pc_ban_entry *entries, size_t n);
/*
 * Bans in force, soonest expiry first. With SWEEP, expired ones are deleted
 * on the way and returned in *EXPIRED (may be NULL) instead.
 */
int pc_bans_list(const struct pc_maps *maps, bool sweep, struct pc_ban_entry **list, size_t *n,
		 struct pc_ban_entry **expired, size_t *n_expired);

/* The detector's per-CPU counters, summed, and the number of bans in force. */
int pc_bans_stats(const struct pc_maps *maps, __u64 stats[PC_SCAN_STATS], __u64 *active);
/* Count a ban made by hand in the bans total. */
int pc_bans_count_manual(const struct pc_maps *maps);

#endif /* PORTCULLIS_BANS_H */
