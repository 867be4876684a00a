/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Scan detection and bans (verdict step 4 and the feed from steps 7 and 10).
 * The design and the maps are described in maps/portcullis.h; in short: a
 * fixed-size pre-filter lets only sources that come back on a second port
 * into exact tracking, exact tracking counts distinct ports with atomics so
 * probes spread over CPUs add up, and bans live in a map nothing evicts.
 */
#ifndef PORTCULLIS_SCAN_H
#define PORTCULLIS_SCAN_H

#include <asm-generic/errno-base.h>

#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_SCAN_SEEN_BUCKETS);
	__type(key, __u32);
	__type(value, struct pc_scan_bucket);
} pc_scan_seen SEC(".maps");

/*
 * The secret the source hash is keyed with, drawn by the loader before the
 * program is loaded (0 in tests and benchmarks, which do not care who can
 * predict it).
 */
const volatile __u64 scan_hash_key = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PC_SCAN_TRACK_MAX);
	__type(key, struct pc_addr_key);
	__type(value, struct pc_scan_track);
} pc_scan_track SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PC_BANS_MAX);
	__type(key, struct pc_addr_key);
	__type(value, struct pc_ban);
} pc_bans SEC(".maps");

/* Manual and CrowdSec bans of whole prefixes (see maps/portcullis.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PC_PREFIX_BANS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pc_prefix_ban_key);
	__type(value, struct pc_ban);
} pc_prefix_bans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_SCAN_BANS_MAX);
	__type(key, __u32);
	__type(value, struct pc_ring_slot);
} pc_scan_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PC_OFFENDERS_MAX);
	__type(key, struct pc_addr_key);
	__type(value, struct pc_offender);
} pc_offenders SEC(".maps");

/* Mappable, so user space can count its bans with real atomics too. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pc_ban_state);
} pc_ban_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_BAN_HINT_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} pc_ban_hint SEC(".maps");

/* The last answers for banned sources, per CPU (see maps/portcullis.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_BAN_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct pc_ban_cache_entry);
} pc_ban_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_SCAN_STATS);
	__type(key, __u32);
	__type(value, __u64);
} pc_scan_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PC_EVENTS_RING_BYTES);
} pc_events SEC(".maps");

/* pc_scan_seen.stamp: coarse time in the low 15 bits, protocol in the top one. */
#define SEEN_STAMP_MASK 0x7fff

/* A fresh tracking entry; lives in .rodata so it need not fit on the stack. */
static const struct pc_scan_track empty_track;

static __always_inline void scan_stat(__u32 stat)
{
	__u64 *value = bpf_map_lookup_elem(&pc_scan_stats, &stat);

	if (value)
		(*value)++;
}

static __always_inline __u32 prefix_mask(__u32 prefix, __u32 word)
{
	__u32 bits = prefix > word * 32 ? prefix - word * 32 : 0;

	if (bits >= 32)
		return ~0U;
	return bits ? bpf_htonl(~0U << (32 - bits)) : 0;
}

/* The packet's source as tracking and bans key it: IPv6 cut to the prefix. */
static __always_inline int source_addr_key(const struct packet *pkt, const struct pc_config *cfg,
					   struct pc_addr_key *key)
{
	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *ip = pkt->l3;

		if ((void *)(ip + 1) > pkt->data_end)
			return -1;
		key->family = PC_SRC_FAMILY_V4;
		__builtin_memcpy(key->addr, &ip->saddr, 4);
	} else {
		const struct ipv6hdr *ip6 = pkt->l3;
		__u32 *out = (__u32 *)key->addr;
		const __u32 *in;

		if ((void *)(ip6 + 1) > pkt->data_end)
			return -1;
		/* IPv4-mapped sources never get here: step 5 drops them. */
		in = ip6->saddr.in6_u.u6_addr32;
		key->family = PC_SRC_FAMILY_V6;
		out[0] = in[0] & prefix_mask(cfg->scan_ipv6_prefix, 0);
		out[1] = in[1] & prefix_mask(cfg->scan_ipv6_prefix, 1);
		out[2] = in[2] & prefix_mask(cfg->scan_ipv6_prefix, 2);
		out[3] = in[3] & prefix_mask(cfg->scan_ipv6_prefix, 3);
	}
	return 0;
}

/*
 * One 64-bit hash of the key under the secret: the low bits pick a bucket,
 * the high ones fingerprint. The closing avalanche (MurmurHash3's fmix64
 * constants) lets every bit of the chain reach the bucket bits.
 */
static __always_inline __u64 source_hash(const struct pc_addr_key *key)
{
	const __u32 *w = (const __u32 *)key;
	__u64 h = 0x9e3779b97f4a7c15ULL ^ scan_hash_key;

#pragma unroll
	for (int i = 0; i < 5; i++)
		h = (h ^ w[i]) * 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/*
 * The detector and bans keep time in milliseconds and up: the coarse clock
 * (same base as bpf_ktime_get_ns, a scheduler tick behind at most: 4 ms at
 * HZ=250) is cheaper per call, and a flood calls it once per frame.
 */
static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline void send_event(struct pc_ban_state *state, __u32 type,
				       const struct pc_addr_key *source, const struct pc_ban *ban,
				       __u64 now)
{
	struct pc_event *event;
	__u64 second = now >> 30;

	/* A budget per second, so a storm of bans cannot flood the log. */
	if (state->event_window != second) {
		state->event_window = second;
		state->event_count = 0;
	}
	if (__sync_fetch_and_add(&state->event_count, 1) >= PC_EVENTS_PER_SEC) {
		scan_stat(PC_STAT_EVENTS_SUPPRESSED);
		return;
	}
	event = bpf_ringbuf_reserve(&pc_events, sizeof(*event), 0);
	if (!event) {
		scan_stat(PC_STAT_EVENTS_SUPPRESSED);
		return;
	}
	event->time_ns = now;
	event->type = type;
	event->reason = ban->reason;
	event->duration_ns = ban->expires_ns - ban->created_ns;
	event->first_ns = ban->first_ns;
	event->ports = ban->ports;
	event->last_port = ban->last_port;
	event->last_proto = ban->last_proto;
	event->pad = 0;
	event->pad2 = 0;
	event->source = *source;
	bpf_ringbuf_submit(event, 0);
}

/* The count of bans in SOURCE's hint slot (see maps/portcullis.h). */
static __always_inline __u64 *ban_hint(const struct pc_addr_key *source)
{
	__u32 slot = pc_ban_hint_slot(source);

	return bpf_map_lookup_elem(&pc_ban_hint, &slot);
}

/* Could SOURCE be banned? A zero hint slot says nobody with its hash is. */
static __always_inline int ban_hinted(const struct pc_addr_key *source)
{
	__u64 *hint = ban_hint(source);

	return !hint || *hint;
}

/* Takes a ban out of the table and the counts that gate step 4. Only the
 * caller whose delete succeeds accounts for it. */
static __always_inline int ban_remove(const struct pc_addr_key *key, __u64 *hint,
				      struct pc_ban_state *state)
{
	if (bpf_map_delete_elem(&pc_bans, key))
		return -1;
	if (hint)
		__sync_fetch_and_add(hint, -1);
	__sync_fetch_and_add(&state->active, -1);
	__sync_fetch_and_add(&state->gen, 1);
	return 0;
}

static __always_inline int same_source(const struct pc_addr_key *a, const struct pc_addr_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/*
 * The cached answer for SOURCE: its ban's reason while the ban table is
 * unchanged since it was cached and the ban has not expired; 0 = ask
 * pc_bans.
 */
static __always_inline int ban_cached(const struct pc_addr_key *source,
				      const struct pc_ban_state *state)
{
#ifndef PC_NO_SIDE_EFFECTS
	__u32 index = pc_ban_cache_slot(source);
	struct pc_ban_cache_entry *entry = bpf_map_lookup_elem(&pc_ban_cache, &index);

	if (entry && entry->gen == *(volatile const __u64 *)&state->gen &&
	    same_source(&entry->key, source) && now_ns() < entry->expires_ns)
		return entry->reason;
#endif
	return 0;
}

/*
 * Is SOURCE banned? The ban's reason (enum pc_ban_reason), 0 if none; an
 * expired ban is removed on the way. A global function, like scan_track,
 * so the verifier checks it once, not once per parse path; the call and the
 * key copy alone cost about 8 ns, so the fast path asks the hint first.
 */
__noinline int pc_ban_lookup(const struct pc_addr_key *source)
{
	struct pc_ban_state *state;
	struct pc_addr_key key;
	struct pc_ban *ban, copy;
	__u32 zero = 0, slot;
	__u64 now, *hint;

	if (!source)
		return 0;
	key = *source;
	slot = pc_ban_hint_slot(&key);
	hint = bpf_map_lookup_elem(&pc_ban_hint, &slot);
	if (hint && *hint == 0)
		return 0; /* nobody with this hash is banned */
	state = bpf_map_lookup_elem(&pc_ban_state, &zero);
	if (!state)
		return 0;
#ifndef PC_NO_SIDE_EFFECTS
	/* Read before the lookup: a change after it makes the cache miss. */
	__u64 gen = *(volatile const __u64 *)&state->gen;
#endif
	ban = bpf_map_lookup_elem(&pc_bans, &key);
	if (!ban)
		return 0;
	now = now_ns();
	if (now < ban->expires_ns) {
#ifndef PC_NO_SIDE_EFFECTS
		__u32 index = pc_ban_cache_slot(&key);
		struct pc_ban_cache_entry *entry = bpf_map_lookup_elem(&pc_ban_cache, &index);

		if (entry) {
			entry->key = key;
			entry->reason = ban->reason;
			entry->expires_ns = ban->expires_ns;
			entry->gen = gen;
		}
#endif
		return ban->reason;
	}
#ifdef PC_NO_SIDE_EFFECTS
	/* Explain judges an expired ban as gone and leaves its removal to
	 * the attached program. */
	return 0;
#endif
	copy = *ban;
	if (ban_remove(&key, hint, state) == 0) {
		scan_stat(PC_STAT_EXPIRED);
		send_event(state, PC_EVENT_EXPIRE, &key, &copy, now);
	}
	return 0;
}

/* The gate of step 4: while no ban is in force, nobody needs a lookup. */
static __always_inline int bans_in_force(void)
{
	struct pc_ban_state *state;
	__u32 zero = 0;

	state = bpf_map_lookup_elem(&pc_ban_state, &zero);
	return state && (state->active | state->prefix_active);
}

/*
 * Does a prefix ban hold SOURCE (the whole address)? Its reason, 0 if none.
 * An expired entry holds nobody; user space sweeps it. A global function,
 * so the verifier walks the trie lookup once.
 */
__noinline int pc_prefix_ban_lookup(const struct pc_prefix_ban_key *source)
{
	struct pc_prefix_ban_key key;
	struct pc_ban *ban;
	__u64 now;

	if (!source)
		return 0;
	key = *source;
	now = now_ns();
	/* The trie answers with the longest prefix only: past an expired one,
	 * a wider ban around it may still hold. */
	for (int i = 0; i < PC_PREFIX_BAN_NESTING; i++) {
		ban = bpf_map_lookup_elem(&pc_prefix_bans, &key);
		if (!ban)
			return 0;
		if (now < ban->expires_ns)
			return ban->reason;
		if (!ban->prefix_len || ban->prefix_len > 128)
			return 0;
		key.prefixlen = PC_PREFIX_KEY_HDR_BITS + ban->prefix_len - 1;
	}
	return 0;
}

/* The packet's source as pc_prefix_bans keys it: every bit of it. */
static __always_inline int source_prefix_ban(const struct packet *pkt)
{
	struct pc_prefix_ban_key key = {};
	__u32 bits = source_address(pkt, &key.family, key.addr);

	if (!bits)
		return 0;
	key.prefixlen = PC_PREFIX_KEY_HDR_BITS + bits;
	return pc_prefix_ban_lookup(&key);
}

/*
 * Step 4: the reason of the source's ban, 0 if none. Free while nobody is
 * banned; the prefix trie is asked only while it holds a ban, and also when
 * the source's own ban is a scan ban (which does not hold an exempt source,
 * while a prefix ban does). pc_ban_lookup() asks the hint itself; FAST (a
 * constant) asks it here first too, which spares the fast path the call but
 * doubles the verifier's work where the general parser's states meet it, so
 * decide() does without.
 */
static __always_inline int source_ban(const struct packet *pkt, const struct pc_config *cfg,
				      int fast)
{
	struct pc_addr_key key = {};
	struct pc_ban_state *state;
	__u32 zero = 0;
	int reason = 0, prefix;

	state = bpf_map_lookup_elem(&pc_ban_state, &zero);
	if (!state)
		return 0;
	if (state->active && !source_addr_key(pkt, cfg, &key)) {
		/* A zero hint: nobody with this hash is banned, the common case.
		 * Else a banned source that keeps sending has its last answer. */
		if (!fast || ban_hinted(&key)) {
			if (fast)
				reason = ban_cached(&key, state);
			if (!reason)
				reason = pc_ban_lookup(&key);
		}
	}
	if ((!reason || reason == PC_BAN_SCAN) && state->prefix_active) {
		prefix = source_prefix_ban(pkt);
		if (prefix)
			reason = prefix;
	}
	return reason;
}

/* The detector: every map write of a denied probe. None of it is in the
 * explain build (PC_NO_SIDE_EFFECTS). */
#ifndef PC_NO_SIDE_EFFECTS
/* Where this CPU's last repeating source has its record (maps/portcullis.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_scan_last);
} pc_scan_last SEC(".maps");

/* The pre-filter's time unit, 2^shift ns, for the config's scan_stamp_shift. */
static __always_inline __u32 seen_shift(__u32 stamp_shift)
{
	return stamp_shift > PC_SCAN_STAMP_SHIFT_MIN ? stamp_shift & 63 : PC_SCAN_STAMP_SHIFT_MIN;
}

/* A port as the tracker's sets hold it (pc_scan_track.ports): never 0. */
static __always_inline __u32 tracked_port(__u32 port, __u32 proto)
{
	return port + 1 + ((proto & 1) << 16);
}

/* Add PORT to the set; returns the new count, or 0 if it was there already. */
static __always_inline __u32 track_port(struct pc_scan_track *track, __u32 port)
{
	__u32 start = (port * 0x9e3779b1) >> 26; /* 0..63 */

	for (__u32 i = 0; i < PC_SCAN_MAX_PORTS; i++) {
		__u32 *slot = &track->ports[(start + i) & (PC_SCAN_MAX_PORTS - 1)];
		__u32 old = __sync_val_compare_and_swap(slot, 0, port);

		if (old == 0)
			return __sync_add_and_fetch(&track->count, 1);
		if (old == port)
			return 0;
	}
	return 0;
}

/*
 * One denied probe, as the detector needs it. Passed by pointer to a global
 * function: the verifier then checks the detector once, not once for every
 * path through the verdict steps that can end in a drop.
 */
struct scan_probe {
	struct pc_addr_key source;
	__u32 threshold;    /* scan_ports */
	__u64 window_ns;
	__u64 ban_ns;
	__u64 ban_max_ns;   /* 0: no repeat-offender escalation */
	__u32 stamp_shift;  /* pre-filter time unit, 2^stamp_shift ns */
	__u32 port;         /* host order */
	__u32 proto;        /* enum pc_proto */
	/* Filled by scan_prefilter() for scan_track(): */
	__u32 seen_port;    /* the remembered probe's port, as track_port() counts it */
	__u32 bucket;       /* where the source's pre-filter record is */
	__u32 way;
	__u64 first_ns;     /* when the remembered probe came */
};

/*
 * How long to ban a source: ban_ns, times 4 for each earlier ban of it
 * within PC_REPEAT_WINDOW_NS of the one before, up to ban_max_ns. The
 * offender record is written whatever happens next, so a source the table
 * had no room for still counts as having been banned.
 */
static __always_inline __u64 ban_time(const struct scan_probe *probe, __u64 now, __u8 *repeat)
{
	struct pc_offender *last, record = { .last_ban_ns = now };
	__u64 duration = probe->ban_ns;

	*repeat = 0;
	if (probe->ban_max_ns <= probe->ban_ns)
		return duration;
	last = bpf_map_lookup_elem(&pc_offenders, &probe->source);
	if (last && now - last->last_ban_ns < PC_REPEAT_WINDOW_NS)
		record.repeat = last->repeat < PC_REPEAT_LEVEL_MAX ? last->repeat + 1
								 : PC_REPEAT_LEVEL_MAX;
	bpf_map_update_elem(&pc_offenders, &probe->source, &record, BPF_ANY);
	*repeat = record.repeat;
	for (__u32 i = 0; i < PC_REPEAT_LEVEL_MAX && i < record.repeat; i++) {
		if (duration >= probe->ban_max_ns / 4)
			return probe->ban_max_ns;
		duration *= 4;
	}
	return duration < probe->ban_max_ns ? duration : probe->ban_max_ns;
}

/*
 * Make room for the scan ban about to be made at ring position POS: the
 * scan ban made PC_SCAN_BANS_MAX positions earlier goes, if it is still in
 * force as that very ban. The new ban then takes the slot.
 */
static __always_inline void ring_evict(struct pc_ban_state *state, struct pc_ring_slot *slot)
{
	struct pc_addr_key victim = slot->source;
	struct pc_ban *ban;

	if (!victim.family)
		return; /* never used */
	ban = bpf_map_lookup_elem(&pc_bans, &victim);
	if (!ban || ban->reason != PC_BAN_SCAN || ban->ring_pos != slot->ring_pos)
		return;
	if (ban_remove(&victim, ban_hint(&victim), state) == 0)
		scan_stat(PC_STAT_EVICTED);
}

static __always_inline void ban_scanner(const struct scan_probe *probe,
					const struct pc_scan_track *track, __u32 ports, __u64 now)
{
	struct pc_ban_state *state;
	struct pc_ring_slot *slot;
	__u32 zero = 0, index;
	__u64 *hint, pos;
	struct pc_ban ban = {
		.created_ns = now,
		.first_ns = track->first_ns,
		.reason = PC_BAN_SCAN,
		.ports = ports,
		.last_port = probe->port,
		.last_proto = probe->proto,
	};
	long err;

	state = bpf_map_lookup_elem(&pc_ban_state, &zero);
	hint = ban_hint(&probe->source);
	if (!state || !hint)
		return;
	ban.expires_ns = now + ban_time(probe, now, &ban.repeat);
	pos = __sync_fetch_and_add(&state->scan_next, 1);
	index = pos % PC_SCAN_BANS_MAX;
	slot = bpf_map_lookup_elem(&pc_scan_ring, &index);
	if (!slot)
		return;
	ring_evict(state, slot);
	ban.ring_pos = pos;

	/* The hint counts the ban before anyone can find it (see its map). */
	__sync_fetch_and_add(hint, 1);
	err = bpf_map_update_elem(&pc_bans, &probe->source, &ban, BPF_NOEXIST);
	if (err != 0)
		__sync_fetch_and_add(hint, -1);
	if (err == 0) {
		slot->source = probe->source;
		slot->ring_pos = pos;
		__sync_fetch_and_add(&state->active, 1);
		__sync_fetch_and_add(&state->gen, 1);
		scan_stat(PC_STAT_BANS);
		send_event(state, PC_EVENT_BAN, &probe->source, &ban, now);
	} else if (err != -EEXIST /* banned already */) {
		scan_stat(PC_STAT_BAN_TABLE_FULL);
	}
}

/* SOURCE's record is at BUCKET/WAY and the pre-filter left it as it was. */
static __always_inline void remember_repeat(const struct pc_addr_key *source, __u32 bucket,
					    __u32 way, __u32 fingerprint)
{
	__u32 zero = 0;
	struct pc_scan_last *last = bpf_map_lookup_elem(&pc_scan_last, &zero);

	if (last) {
		last->source = *source;
		last->bucket = bucket;
		last->way = way;
		last->fingerprint = fingerprint;
	}
}

/* Repeat checks between two reads of the clock within a tick (a power of 2). */
#define SCAN_CLOCK_REREAD 64

/*
 * The coarse clock for the repeat check, without a helper call on most
 * packets (bpf_ktime_get_coarse_ns() costs about 17 ns here; jiffies is
 * inlined, about 1). The coarse clock is what the timekeeper was at its
 * last update, made by the tick that bumps jiffies, so while jiffies stands
 * still so does the clock: it is read once a tick and kept per CPU. Once a
 * tick is not quite enough: the timekeeper is updated a moment after
 * jiffies, and a read in between still holds the previous tick's time (as
 * does a clock stepped or slewed between ticks by settimeofday or adjtimex),
 * so the clock is read again every SCAN_CLOCK_REREAD checks. What the kept
 * time can be behind is then the least of a tick and those checks.
 */
static __always_inline __u64 scan_clock(struct pc_scan_last *last)
{
	__u64 tick = bpf_jiffies64();

	if (tick != last->tick || (++last->uses & (SCAN_CLOCK_REREAD - 1)) == 0) {
		last->tick = tick;
		last->tick_ns = now_ns();
	}
	return last->tick_ns;
}

/*
 * Is the packet's source the one LAST notes, as source_addr_key() would key
 * it? Compared in place: building the key costs more than the answer.
 */
static __always_inline int noted_source(const struct pc_scan_last *last, const struct packet *pkt,
					const struct pc_config *cfg)
{
	const __u32 *noted = (const __u32 *)last->source.addr;

	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *ip = pkt->l3;

		if ((void *)(ip + 1) > pkt->data_end)
			return 0;
		/* The rest of an IPv4 key is zeros. */
		return last->source.family == PC_SRC_FAMILY_V4 && noted[0] == ip->saddr;
	} else {
		const struct ipv6hdr *ip6 = pkt->l3;
		const __u32 *in;

		if ((void *)(ip6 + 1) > pkt->data_end)
			return 0;
		in = ip6->saddr.in6_u.u6_addr32;
		return last->source.family == PC_SRC_FAMILY_V6 &&
		       !(((in[0] & prefix_mask(cfg->scan_ipv6_prefix, 0)) ^ noted[0]) |
			 ((in[1] & prefix_mask(cfg->scan_ipv6_prefix, 1)) ^ noted[1]) |
			 ((in[2] & prefix_mask(cfg->scan_ipv6_prefix, 2)) ^ noted[2]) |
			 ((in[3] & prefix_mask(cfg->scan_ipv6_prefix, 3)) ^ noted[3]));
	}
}

/*
 * Would the pre-filter leave the source's record just as it is, for this
 * probe to its port over PROTO? Then it would do nothing else either
 * (the same port again is never promoted), and the probe is done without
 * the hash, the walk over the ways or the call: the commonest flood, one
 * source retrying one port. The record word is read where this CPU last
 * found it, and any write to it since (another CPU, an eviction, a ban's
 * reset, a new stamp unit) makes it differ from what the pre-filter would
 * write. (The pre-filter takes the first way holding the fingerprint; there
 * is a second only when two CPUs inserted the same new source at once, a
 * race the pre-filter already lives with.) The stamp is the clock as
 * scan_clock() keeps it: just after a tick, a repeat's stamp may be renewed
 * up to SCAN_CLOCK_REREAD probes late (never later than the next tick), a
 * lag far below the coarse clock's own tick.
 */
static __always_inline int scan_repeat(const struct packet *pkt, const struct pc_config *cfg,
				       __u32 proto)
{
	struct pc_scan_bucket *bucket;
	struct pc_scan_last *last;
	struct pc_scan_seen want;
	__u32 zero = 0, index;
	__u64 raw, want_raw;

	last = bpf_map_lookup_elem(&pc_scan_last, &zero);
	if (!last || !noted_source(last, pkt, cfg))
		return 0;
	index = last->bucket;
	bucket = bpf_map_lookup_elem(&pc_scan_seen, &index);
	if (!bucket)
		return 0;
	raw = *(volatile __u64 *)&bucket->way[last->way & (PC_SCAN_SEEN_WAYS - 1)];
	want.fingerprint = last->fingerprint;
	want.port = pkt->dport;
	want.stamp = ((scan_clock(last) >> seen_shift(cfg->scan_stamp_shift)) & SEEN_STAMP_MASK) |
		     ((proto & 1) << 15);
	__builtin_memcpy(&want_raw, &want, sizeof(want_raw));
	return raw == want_raw;
}

/*
 * The pre-filter's half of a denied probe. The common case under a spoofed
 * flood costs two hashes, one read and one 8-byte store of the pre-filter
 * slot. Returns 1 when the source came back on another port within the
 * window, which is worth exact tracking (scan_track()): the caller asks
 * first whether the source is exempt, so a flood of new sources never pays
 * for that question.
 */
__noinline int scan_prefilter(struct scan_probe *probe)
{
	struct pc_scan_seen before, after;
	struct pc_scan_bucket *bucket;
	struct pc_addr_key key;
	__u32 index, fingerprint, port, way, victim = 0, oldest = 0, age;
	__u64 now, raw, old_raw = 0, hash;
	__u16 now_units, elapsed;
	__u32 shift, window_units;
	int found = 0;

	if (!probe)
		return 0;
	key = probe->source;
	hash = source_hash(&key);
	index = hash & (PC_SCAN_SEEN_BUCKETS - 1);
	fingerprint = (__u32)(hash >> 32) | 1;
	bucket = bpf_map_lookup_elem(&pc_scan_seen, &index);
	if (!bucket)
		return 0;
	now = now_ns();
	shift = seen_shift(probe->stamp_shift);
	now_units = (now >> shift) & SEEN_STAMP_MASK;

	/*
	 * The source's record, or where a new one goes: an empty way, else the
	 * one seen longest ago. Records are read and written as one 8-byte
	 * word, so a CPU never sees half of another CPU's.
	 */
	for (way = 0; way < PC_SCAN_SEEN_WAYS; way++) {
		raw = *(volatile __u64 *)&bucket->way[way];
		__builtin_memcpy(&before, &raw, sizeof(before));
		if (before.fingerprint == fingerprint) {
			old_raw = raw;
			found = 1;
			break;
		}
		age = before.fingerprint ? (now_units - before.stamp) & SEEN_STAMP_MASK
					 : SEEN_STAMP_MASK + 1;
		if (age > oldest) {
			oldest = age;
			victim = way;
		}
	}
	if (found)
		victim = way;
	if (victim >= PC_SCAN_SEEN_WAYS)
		return 0;

	after.fingerprint = fingerprint;
	after.port = bpf_htons(probe->port);
	after.stamp = now_units | ((probe->proto & 1) << 15);
	__builtin_memcpy(&raw, &after, sizeof(raw));
	/* A source repeating itself leaves the line clean for the other CPUs,
	 * and its next probe needs only this word (scan_repeat()). */
	if (raw == old_raw) {
		remember_repeat(&key, index, victim, fingerprint);
		return 0;
	}
	*(volatile __u64 *)&bucket->way[victim] = raw;

	/* A unit's slack: both stamps are rounded down. The tracker's check
	 * is exact. */
	window_units = (probe->window_ns >> shift) + 1;
	elapsed = (after.stamp - before.stamp) & SEEN_STAMP_MASK;
	if (!found || elapsed > window_units)
		return 0; /* new here, or back too late: remembered, nothing more */

	port = tracked_port(probe->port, probe->proto);
	probe->seen_port = tracked_port(bpf_ntohs(before.port), before.stamp >> 15);
	/* The same port again tells nothing new: no tracker lookup for it. */
	if (probe->seen_port == port)
		return 0;
	probe->bucket = index;
	probe->way = victim;
	/* The scan began with the remembered probe, not this one. */
	probe->first_ns = now - ((__u64)elapsed << shift);
	return 1;
}

/*
 * The tracker's half: count the port among the source's distinct ones and
 * ban at the threshold. A global function, so the verifier checks the
 * detector once, not once for every path that can end in a drop.
 */
__noinline int scan_track(struct scan_probe *probe)
{
	struct pc_scan_bucket *bucket;
	struct pc_scan_track *track;
	struct pc_addr_key key;
	__u32 index, count;
	__u64 now;

	if (!probe)
		return 0;
	key = probe->source;
	now = now_ns();
	track = bpf_map_lookup_elem(&pc_scan_track, &key);
	if (!track || now - track->first_ns > probe->window_ns) {
		/* Promote a source that came back on another port. */
		if (bpf_map_update_elem(&pc_scan_track, &key, &empty_track, BPF_ANY))
			return 0;
		track = bpf_map_lookup_elem(&pc_scan_track, &key);
		if (!track)
			return 0;
		track->first_ns = probe->first_ns;
		scan_stat(PC_STAT_PROMOTED);
		track_port(track, probe->seen_port);
	}
	count = track_port(track, tracked_port(probe->port, probe->proto));
	if (count != probe->threshold)
		return 0;
	/* Exactly one probe makes the count reach the threshold: it bans. The
	 * source starts from nothing when its ban ends: its ports are spent. */
	ban_scanner(probe, track, count, now);
	bpf_map_delete_elem(&pc_scan_track, &key);
	index = probe->bucket;
	bucket = bpf_map_lookup_elem(&pc_scan_seen, &index);
	if (bucket && probe->way < PC_SCAN_SEEN_WAYS)
		*(volatile __u64 *)&bucket->way[probe->way] = 0;
	return 1;
}

/*
 * Steps 7 and 10 start with this on the packet they dropped: 1 when the
 * source is worth tracking, and PROBE is ready for scan_track().
 */
static __always_inline int scan_feed(const struct packet *pkt, const struct pc_config *cfg,
				     struct scan_probe *probe)
{
	__u32 proto = pkt->l4_proto == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;

	if (scan_repeat(pkt, cfg, proto))
		return 0;
	probe->source = (struct pc_addr_key){};
	if (source_addr_key(pkt, cfg, &probe->source))
		return 0;
	probe->threshold = cfg->scan_ports;
	probe->window_ns = cfg->scan_window_ns;
	probe->ban_ns = cfg->ban_ns;
	probe->ban_max_ns = cfg->ban_max_ns;
	probe->stamp_shift = cfg->scan_stamp_shift;
	probe->port = bpf_ntohs(pkt->dport);
	probe->proto = proto;
	probe->seen_port = 0;
	probe->bucket = 0;
	probe->way = 0;
	probe->first_ns = 0;
	return scan_prefilter(probe);
}

#endif /* PC_NO_SIDE_EFFECTS */

#endif /* PORTCULLIS_SCAN_H */
