/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-source rate limits on allowed ports (verdict step 8, "limit" lines).
 * The design and the maps are described in maps/portcullis.h: a token
 * bucket per (source, line) kept as one time (GCRA), in a fixed table of
 * cache-line buckets where a spoofed flood only churns the records of
 * one-packet sources and never those of a source being limited.
 */
#ifndef PORTCULLIS_RATELIMIT_H
#define PORTCULLIS_RATELIMIT_H

#include "scan.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_RULE_SETS *PC_LIMITS_MAX);
	__type(key, __u32);
	__type(value, struct pc_limit);
} pc_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_RATE_BUCKETS);
	__type(key, __u32);
	__type(value, struct pc_rate_bucket);
} pc_rate SEC(".maps");

/* What pc_rate_over() needs of a packet; by pointer to a global function. */
struct rate_probe {
	struct pc_addr_key source; /* IPv6 cut to scan_ipv6_prefix */
	__u32 limit_key;	   /* pc_limit_key(set, line) */
	__u32 line;		   /* the line's id, mixed into the hash */
};

/* Writes to pc_rate, none in the side-effect-free (explain) build. */
#ifndef PC_NO_SIDE_EFFECTS
static __always_inline void rate_store(struct pc_rate_slot *slot, __u32 fingerprint, __u32 strong,
				       __u64 tat_ns)
{
	/* The time first: a CPU that sees the new fingerprint with the old
	 * time of a free record only lets one packet more through. */
	*(volatile __u64 *)&slot->tat_ns = tat_ns;
	*(volatile __u32 *)&slot->strong = strong;
	*(volatile __u32 *)&slot->fingerprint = fingerprint;
}

static __always_inline void rate_keep(struct pc_rate_slot *slot)
{
	*(volatile __u32 *)&slot->strong = PC_RATE_STRONG;
}

static __always_inline void rate_untracked(void)
{
	scan_stat(PC_STAT_RATE_UNTRACKED);
}
#else
static __always_inline void rate_store(struct pc_rate_slot *slot, __u32 fingerprint, __u32 strong,
				       __u64 tat_ns)
{
}

static __always_inline void rate_keep(struct pc_rate_slot *slot)
{
}

static __always_inline void rate_untracked(void)
{
}
#endif

/*
 * 1 when the packet is over its source's rate for the line: drop it, and
 * nothing is written. Otherwise the token is taken (see maps/portcullis.h
 * for who gets a record) and 0 returned.
 */
static __always_inline int rate_take(const struct rate_probe *probe)
{
	struct pc_addr_key key;
	struct pc_rate_bucket *bucket;
	struct pc_rate_slot *slot;
	struct pc_limit *limit;
	__u32 index, fingerprint, lkey, way, victim = PC_RATE_WAYS, fp, strong;
	__u64 hash, now, tat, victim_tat = ~0ULL;
	int victim_free = 0;

	key = probe->source;
	lkey = probe->limit_key;
	limit = bpf_map_lookup_elem(&pc_limits, &lkey);
	if (!limit || !limit->interval_ns)
		return 0;
	hash = source_hash(&key) ^ ((__u64)probe->line * 0x9e3779b97f4a7c15ULL);
	hash ^= hash >> 29;
	hash *= 0xbf58476d1ce4e5b9ULL;
	hash ^= hash >> 32;
	index = hash & (PC_RATE_BUCKETS - 1);
	fingerprint = (__u32)(hash >> 32) | 1;
	bucket = bpf_map_lookup_elem(&pc_rate, &index);
	if (!bucket)
		return 0;
	now = now_ns();

	for (way = 0; way < PC_RATE_WAYS; way++) {
		slot = &bucket->way[way];
		fp = *(volatile __u32 *)&slot->fingerprint;
		tat = *(volatile __u64 *)&slot->tat_ns;
		if (fp == fingerprint) {
			/* Over the rate: the bucket is more than M - 1 tokens in debt.
			 * Being limited, the source is worth keeping against a flood
			 * (with M = 1 it never passed while owing); later drops
			 * write nothing. */
			if (tat > now && tat - now > limit->tolerance_ns) {
				if (!*(volatile __u32 *)&slot->strong)
					rate_keep(slot);
				return 1;
			}
			/* Back while still owing: worth keeping against a flood. */
			strong = tat > now ? PC_RATE_STRONG : 0;
			rate_store(slot, fingerprint, strong,
				   (tat > now ? tat : now) + limit->interval_ns);
			return 0;
		}
		if (victim_free)
			continue;
		/* Free: never used, or full again (no debt, nothing to remember). */
		if (!fp || tat <= now) {
			victim = way;
			victim_free = 1;
			continue;
		}
		/* A weak record full again soonest; strong ones with a debt stay. */
		if (!*(volatile __u32 *)&slot->strong && tat < victim_tat) {
			victim = way;
			victim_tat = tat;
		}
	}
	/* A source without a record has a full bucket: it passes. */
	if (victim < PC_RATE_WAYS)
		rate_store(&bucket->way[victim], fingerprint, 0, now + limit->interval_ns);
	else
		rate_untracked();
	return 0;
}

/*
 * rate_take() as a global function, which the verifier checks once rather
 * than at each place the general path reaches step 8; the fast path inlines
 * rate_take(), which spares it the call and the copy (about 12 ns).
 */
__noinline int pc_rate_over(struct rate_probe *probe)
{
	struct rate_probe copy;

	if (!probe)
		return 0;
	copy = *probe;
	return rate_take(&copy);
}

/* 1 when PKT is over the rate of line LINE of rule set SET. FAST: a constant. */
static __always_inline int rate_over(const struct packet *pkt, const struct pc_config *cfg,
				     __u32 set, __u16 line, int fast)
{
	struct rate_probe probe = {
		.limit_key = pc_limit_key(set, line),
		.line = line,
	};

	if (source_addr_key(pkt, cfg, &probe.source))
		return 0;
	return fast ? rate_take(&probe) : pc_rate_over(&probe);
}

#endif /* PORTCULLIS_RATELIMIT_H */
