/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The contract between bpf/ and loader/: every map's name, key, value, the
 * verdict reasons and the limits. Both sides include this file and nothing
 * else describes a map layout. Byte order is stated beside every field.
 */
#ifndef PORTCULLIS_MAPS_H
#define PORTCULLIS_MAPS_H

#include <linux/types.h>

/*
 * Rule sets are double-buffered: the loader fills the inactive set, then
 * flips pc_active with one 4-byte store, so every packet sees either the old
 * rules or the new ones, never a mix.
 */
#define PC_RULE_SETS 2

/* L4 protocols with a port allowlist. The index is part of map keys. */
enum pc_proto {
	PC_PROTO_TCP = 0,
	PC_PROTO_UDP = 1,
	PC_PROTOS,
};

#define PC_PORTS 65536
#define PC_PORT_SLOTS (PC_PROTOS * PC_PORTS)

/*
 * Why a packet got its verdict. Drop reasons come first so that the
 * contract's "drops" object is the range [0, PC_DROP_REASONS). The order of
 * the drop reasons is the order of pc_reason_names[] in maps/reasons.c.
 */
enum pc_reason {
	PC_DROP_NOT_ALLOWED = 0,
	PC_DROP_SOURCE_NOT_ALLOWED,
	PC_DROP_SCAN_NULL,
	PC_DROP_SCAN_FIN,
	PC_DROP_SCAN_XMAS,
	PC_DROP_SCAN_SYNFIN,
	PC_DROP_SCAN_SYNRST,
	PC_DROP_SCAN_OTHER,
	PC_DROP_BANNED,
	PC_DROP_DENIED_SOURCE,
	PC_DROP_MALFORMED,
	PC_DROP_FRAGMENT,
	PC_DROP_ICMP,
	PC_DROP_PROTOCOL, /* an IP protocol not opened by "allow proto" */
	PC_DROP_RATE_LIMITED, /* over its source's "limit" rate on an allowed port */
	PC_DROP_REASONS,

	PC_PASS_ALLOWED = PC_DROP_REASONS, /* destination port allowed */
	PC_PASS_ESTABLISHED,               /* reply to a local socket */
	PC_PASS_TRUSTED,                   /* source in "allow from" */
	PC_PASS_NOT_IP,                    /* ARP, LLDP, ... */
	PC_PASS_OTHER_PROTO,               /* opened by "allow proto": GRE, ESP, ... */
	PC_PASS_ICMP,                      /* ICMP allowed by policy */
	PC_PASS_ICMP_ESSENTIAL,            /* ND and packet-too-big: never dropped */
	PC_PASS_FRAGMENT,                  /* non-first fragment, policy allow */
	PC_REASONS,
};

/*
 * No verdict yet: what a parse step, the flag check or the fast path returns
 * to let the packet go on to the next step. Never a reason, never counted.
 */
#define PC_UNDECIDED (-1)

/*
 * Reason counters are split by mode so that user space can tell real drops
 * (enforce) from would-be drops (monitor) and still derive the totals from
 * one counter per packet: key = mode * PC_REASONS + reason.
 */
enum pc_mode {
	PC_MODE_ENFORCE = 0,
	PC_MODE_MONITOR = 1,
	PC_MODES,
};

#define PC_REASON_SLOTS (PC_MODES * PC_REASONS)

/*
 * The one reason the data path does not count in pc_reasons is
 * PC_PASS_ALLOWED: an allowed packet is counted once, in its port's
 * pc_port_pass slot, and the reason's count is the sum of those slots. That
 * spares the fast path a second counter per packet, and the sum only grows,
 * because a pass slot, once handed out, is never taken back.
 * pc_maps_read_reasons() fills the reason in from the pass slots, in its
 * enforce slot whatever the mode: a pass is a pass in both.
 */
static inline __u32 pc_reason_slot(__u32 mode, __u32 reason)
{
	return reason == PC_PASS_ALLOWED ? reason : mode * PC_REASONS + reason;
}

/* How replies to the host's own conversations are recognised (step 9). */
enum pc_established {
	PC_ESTABLISHED_SOCKET = 0,    /* kernel socket lookup */
	PC_ESTABLISHED_EPHEMERAL = 1, /* non-SYN TCP and UDP to the local port range */
	PC_ESTABLISHED_OFF = 2,
};

/* pc_config.flags */
#define PC_CFG_MONITOR   (1U << 0) /* count, never drop */
#define PC_CFG_SCAN_PASS (1U << 1) /* let illegal TCP flag combinations through */
#define PC_CFG_ICMP_DENY (1U << 2) /* drop ICMP except the essential types */
#define PC_CFG_FRAG_DENY (1U << 3) /* drop non-first fragments */
#define PC_CFG_SCAN_DETECT (1U << 4) /* feed the scan detector */
#define PC_CFG_HAVE_DENY (1U << 5)   /* the set has "deny from" entries */
#define PC_CFG_HAVE_TRUST (1U << 6)  /* the set has "allow from" entries */
#define PC_CFG_HAVE_EXEMPT (1U << 7) /* the set has scan-exempt sources */
/*
 * Safe rollout. A set applied with --confirm carries CONFIRM_PENDING and its
 * confirm_deadline_ns: once that has passed, the data path judges by the
 * other set instead, with no process needed. A set marked UNFILTERED (the
 * "previous rules" of an attach --confirm) passes every packet uncounted.
 * ROLLED_BACK marks, for status, a set the loader took back after its
 * deadline; the data path never reads it.
 */
#define PC_CFG_CONFIRM_PENDING (1U << 8)
#define PC_CFG_UNFILTERED      (1U << 9)
#define PC_CFG_ROLLED_BACK     (1U << 10)
#define PC_CFG_LOG_DROPS (1U << 11)  /* sample drops to pc_drops, log_drops_rate a second */
/* Bookkeeping the data path never reads, from the top bit down: */
#define PC_CFG_MODIFIED    (1U << 31) /* changed by allow/disallow since reload/attach */
#define PC_CFG_EXEMPT_AUTO (1U << 30) /* the config said (or defaulted to) exempt auto on */

/* IP protocols opened by "allow proto", one bit per protocol number. */
#define PC_PROTO_WORDS (256 / 64)

/*
 * Pre-filter stamps count time in units of 2^scan_stamp_shift ns, at least
 * PC_SCAN_STAMP_SHIFT_MIN (about a millisecond); longer windows get coarser
 * units so that a window always spans fewer than PC_SCAN_STAMP_WINDOW_MAX
 * units of the 15-bit stamp. pc_scan_stamp_shift() is the one rule.
 */
#define PC_SCAN_STAMP_SHIFT_MIN 20
#define PC_SCAN_STAMP_WINDOW_MAX 16384

static inline __u32 pc_scan_stamp_shift(__u64 window_ns)
{
	__u32 shift = PC_SCAN_STAMP_SHIFT_MIN;

	while ((window_ns >> shift) + 1 >= PC_SCAN_STAMP_WINDOW_MAX)
		shift++;
	return shift;
}

/* Repeat offenders: each ban within this long of the last multiplies by 4. */
#define PC_REPEAT_WINDOW_NS (24ULL * 3600 * 1000000000ULL)

/*
 * One rule set's scalar settings. Map "pc_config", ARRAY, key = rule set
 * index (0 or 1). All fields host byte order.
 */
struct pc_config {
	__u32 flags;             /* PC_CFG_* */
	__u32 established;       /* enum pc_established */
	__u16 ephemeral_lo;      /* host order; local port range for "ephemeral" */
	__u16 ephemeral_hi;      /* host order; inclusive */
	__u32 generation;        /* bumped by every reload, for status output */
	__u32 scan_ports;        /* distinct closed ports that make a scanner */
	__u32 scan_ipv6_prefix;  /* IPv6 sources tracked per this prefix length */
	__u64 scan_window_ns;    /* detection window */
	__u64 ban_ns;            /* ban duration; the first one of a repeat offender */
	__u64 ban_max_ns;        /* longest repeat-offender ban; 0 = every ban is ban_ns */
	__u32 scan_stamp_shift;  /* pc_scan_stamp_shift(scan_window_ns) */
	__u32 log_drops_rate;    /* drop records a second with PC_CFG_LOG_DROPS; 0 = off */
	__u64 protos[PC_PROTO_WORDS]; /* bit N: IP protocol N opened by "allow proto" */
	/* PC_CFG_CONFIRM_PENDING: from this bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE)
	 * on, the other rule set is in force */
	__u64 confirm_deadline_ns;
	__u64 confirm_ns;        /* the --confirm DURATION, for messages */
};
_Static_assert(sizeof(struct pc_config) == 104, "pc_config layout changed");

/* pc_port_rule.flags */
#define PC_PORT_ALLOWED        (1U << 0) /* open to every source */
#define PC_PORT_SOURCE_LIMITED (1U << 1) /* open only to the port's source list */
#define PC_PORT_IN_RANGE       (1U << 2) /* opened by a range: listed only when counted */
#define PC_PORT_RATE_LIMITED   (1U << 3) /* "limit" line pc_port_rule.limit applies */

/*
 * Map "pc_ports", ARRAY, key = pc_port_key(set, proto, port_be): one entry
 * per rule set, protocol and destination port, so a lookup costs the same
 * whether one port or all 65535 are allowed.
 */
struct pc_port_rule {
	__u16 flags;       /* PC_PORT_* */
	__u16 pass_slot;   /* host order; index into pc_port_pass, 0 = shared overflow slot */
	__u16 source_list; /* host order; id of the port's source list, 0 = none */
	__u16 limit;       /* host order; "limit" line id (pc_limits), with PC_PORT_RATE_LIMITED */
};
_Static_assert(sizeof(struct pc_port_rule) == 8, "pc_port_rule layout changed");

/*
 * The port goes into the key as it sits in the TCP/UDP header (network byte
 * order), so the data path indexes without a byte swap. User space converts
 * once, here.
 */
static inline __u32 pc_port_key(__u32 set, __u32 proto, __u16 port_be)
{
	return (set << 17) | (proto << 16) | port_be;
}

/* Key of the per-port drop counters: protocol and network-order port. */
static inline __u32 pc_port_counter_key(__u32 proto, __u16 port_be)
{
	return (proto << 16) | port_be;
}

/* pc_port_counter_key()'s inverse: the protocol and network-order port. */
static inline void pc_port_counter_decode(__u32 key, __u32 *proto, __u16 *port_be)
{
	*proto = key >> 16;
	*port_be = key & 0xffff;
}

/*
 * Packets and bytes. Used by every counter map; all PERCPU_ARRAY, summed in
 * user space. Host byte order.
 */
struct pc_counter {
	__u64 packets;
	__u64 bytes; /* whole frame, from the Ethernet header */
};
_Static_assert(sizeof(struct pc_counter) == 16, "pc_counter layout changed");

/*
 * Pass counters for allowed ports live in a small slot array instead of one
 * entry per port: a full per-port pass array would double the per-CPU memory
 * (2 MiB more per CPU) for ports that are almost all closed. Slot 0 is shared
 * by allowed ports beyond PC_PASS_SLOTS; the loader hands out slots and
 * records their owners in pc_pass_owner.
 */
#define PC_PASS_SLOTS 8192

/*
 * Map "pc_pass_owner", ARRAY, key = pass slot: which port owns the slot,
 * pc_port_counter_key() + 1 (host order), 0 = free. Never read by the data
 * path; it lets every loader process agree on slots without a daemon.
 */

/* Map "pc_active", ARRAY of one __u32 (host order): the rule set in force. */

/* pc_meta.xdp_mode */
enum pc_xdp_mode {
	PC_XDP_NATIVE = 1,
	PC_XDP_GENERIC = 2,
};

#define PC_META_PATH_LEN 256

/* pc_meta.conntrack: can step 9 ask the connection tracker, as found at attach? */
enum pc_conntrack {
	PC_CONNTRACK_UNKNOWN = 0,   /* attached by a version that did not record it */
	PC_CONNTRACK_YES = 1,       /* bpf_xdp_ct_lookup and nf_conntrack present */
	PC_CONNTRACK_NO_KFUNC = 2,  /* the kernel has no bpf_xdp_ct_lookup kfunc */
	PC_CONNTRACK_NO_MODULE = 3, /* nf_conntrack was not loaded */
};

/*
 * Map "pc_meta", ARRAY of one: what later commands and status need to know
 * about the attachment. Written by the loader only; the data path never
 * reads it. Host byte order.
 */
struct pc_meta {
	__u32 xdp_mode;                      /* enum pc_xdp_mode */
	__u32 reloads_ok;                    /* successful reloads since attach */
	__u32 reloads_failed;                /* refused reloads since attach */
	__u32 next_source_list;              /* first unused per-port list id of the active set */
	__u64 attached_at;                   /* CLOCK_REALTIME seconds */
	char config_path[PC_META_PATH_LEN];  /* NUL-terminated, "" if none */
	__u32 conntrack;                     /* enum pc_conntrack, found at attach */
	__u32 ifindex;                       /* the interface attached to, at attach */
	__u32 layout;                        /* PC_LAYOUT_VERSION of the build that made the maps */
	__u32 reserved;
};
_Static_assert(sizeof(struct pc_meta) == 296, "pc_meta layout changed");

/*
 * What the maps' bytes mean, beyond their shapes: bumped whenever a change
 * keeps every map's type and sizes but changes how they are read (a hash
 * that picks a slot, a flag bit, a unit). Commands compare it with the
 * pinned pc_meta's as they compare shapes (loader/upgrade.c), so a program
 * and a loader that disagree never share maps.
 */
#define PC_LAYOUT_VERSION 1

/*
 * Source lists: "deny from", "allow from" (trusted) and per-port "from"
 * lists, all in one longest-prefix-match trie per rule set. The first four
 * bytes of the key say which list an entry belongs to, so a lookup for one
 * list never matches another's prefixes; the prefix length counts them too.
 *
 * Map "pc_sources", ARRAY_OF_MAPS, key = rule set, value = the set's trie
 * (inner template "pc_sources_in"). A reload builds a fresh trie and swaps
 * it in with the rest of the rule set, so there is nothing to delete on the
 * way and no moment with a half-filled list.
 */
enum pc_source_kind {
	PC_SRC_SOURCE = 1,  /* deny from and allow from, one key space: value = PC_SRC_F_* */
	PC_SRC_PORT = 3,    /* allow PROTO PORTS from: list = pc_port_rule.source_list */
};

/*
 * Value of a PC_SRC_SOURCE entry. Steps 2 and 3 take one lookup: the longest
 * matching prefix carries the flags of every prefix around it too (the
 * loader works them out), so a trusted /32 inside a denied /16 still says
 * "denied", and deny wins as the verdict order wants.
 */
#define PC_SRC_F_DENY  (1U << 0)
#define PC_SRC_F_TRUST (1U << 1)
/* Never counted or banned by the scan detector: "exempt from", every per-port
 * "from" list, and with "exempt auto" the gateways and resolvers. */
#define PC_SRC_F_EXEMPT (1U << 2)

#define PC_SRC_FAMILY_V4 4
#define PC_SRC_FAMILY_V6 6
/* Bits of the key before the address: kind, family and list. */
#define PC_SRC_KEY_HDR_BITS 32

struct pc_source_key {
	__u32 prefixlen; /* host order; PC_SRC_KEY_HDR_BITS + address prefix length */
	__u8 kind;       /* enum pc_source_kind */
	__u8 family;     /* PC_SRC_FAMILY_V4 or _V6 */
	__u16 list;      /* host order; per-port list id, 0 for deny and trust */
	__u8 addr[16];   /* network order; IPv4 in the first 4 bytes, rest zero */
};
_Static_assert(sizeof(struct pc_source_key) == 24, "pc_source_key layout changed");

/*
 * Map "pc_source_hint", ARRAY, key = rule set, value struct pc_source_hint:
 * which parts of the address space the set's trie has any prefix in, of
 * any list but the IPv4 kind-SOURCE ones (pc_source24 answers those). IPv4 is cut by its first 16 bits, IPv6 by a hash of its first
 * 32; a shorter prefix sets every bit it covers (for IPv6, all of them). A
 * clear bit proves a source is in no list, so nearly every packet of a host
 * with a deny list costs a bit test instead of a trie walk. The loader sets
 * a set's bits before the trie can hold a key under them, and never clears
 * one of a live set: a stale set bit costs a lookup, a clear one is never
 * wrong.
 */
#define PC_SOURCE_HINT_BITS 65536

struct pc_source_hint {
	__u64 v4[PC_SOURCE_HINT_BITS / 64];
	__u64 v6[PC_SOURCE_HINT_BITS / 64];
};
_Static_assert(sizeof(struct pc_source_hint) == PC_SOURCE_HINT_BITS / 4,
	       "pc_source_hint layout changed");

/*
 * KEY's bit in its family's half of struct pc_source_hint: the address's
 * first 16 bits for IPv4, a hash of its first 32 for IPv6. The hash is
 * fixed: aiming at a set bit only buys a lookup.
 */
static inline __u32 pc_source_hint_bit(const struct pc_source_key *key)
{
	__u32 top = (__u32)key->addr[0] << 24 | (__u32)key->addr[1] << 16 |
		    (__u32)key->addr[2] << 8 | key->addr[3];

	return key->family == PC_SRC_FAMILY_V4 ? top >> 16 : (top * 0x9e3779b1U) >> 16;
}

/*
 * Map "pc_source24", ARRAY of PC_RULE_SETS * PC_SOURCE24_WORDS __u64,
 * mappable: the kind-SOURCE lists (deny/trust/exempt) of each rule set for
 * IPv4, two bits per /24, so a blocklist of any size costs one array read.
 * A /24's field is 0 (every address in it is in no list), PC_SOURCE24_DENY
 * (every address in it has exactly the flags PC_SRC_F_DENY) or has
 * PC_SOURCE24_TRIE set: ask the trie, which stays complete. That is the
 * answer for a /24 with a prefix longer than /24 inside it, and for flags
 * other than none or deny alone (trust and exempt lists are short; deny
 * lists are the long ones). TRIE is always a correct answer, so the loader
 * may set it at any time; it fills a set's fields before the set goes live
 * and on a live set only ever sets TRIE before it changes the trie. Words
 * are host order; fields go up from bit 0 in address order.
 */
#define PC_SOURCE24_DENY 1ULL
#define PC_SOURCE24_TRIE 2ULL
#define PC_SOURCE24_FIELD_BITS 2
#define PC_SOURCE24_PER_WORD (64 / PC_SOURCE24_FIELD_BITS)
#define PC_SOURCE24_WORDS ((1U << 24) / PC_SOURCE24_PER_WORD) /* per rule set: 4 MiB */
_Static_assert(PC_SOURCE24_WORDS * 8ULL == 4ULL << 20, "pc_source24 layout changed");

/* The word of SET holding the field of ADDR (IPv4, host order). */
static inline __u32 pc_source24_word(__u32 set, __u32 addr)
{
	return set * PC_SOURCE24_WORDS + (addr >> 8) / PC_SOURCE24_PER_WORD;
}

/* The shift of ADDR's field in its word. */
static inline __u32 pc_source24_shift(__u32 addr)
{
	return (addr >> 8) % PC_SOURCE24_PER_WORD * PC_SOURCE24_FIELD_BITS;
}

/* Tries allocate per entry; this only caps a runaway list. Both rule sets
 * exist at once during a reload, each in its own trie. */
#define PC_MAX_SOURCES (4 * 1024 * 1024)
/* Per-port source list ids: 1 .. PC_MAX_SOURCE_LISTS - 1. */
#define PC_MAX_SOURCE_LISTS 65536

/*
 * Scan detection and bans. A source that sends denied probes (not-allowed
 * ports, scan-flag packets) to scan_ports distinct ports within
 * scan_window_ns of its first probe is banned for ban_ns. IPv6 sources are
 * grouped by scan_ipv6_prefix. Three maps, each of fixed size, so a flood
 * from millions of spoofed sources can neither grow memory nor evict a ban:
 *
 * pc_scan_seen   ARRAY, the pre-filter: buckets of 8 one-word records, each
 *                remembering a source's last denied port. Only a source seen
 *                again on another port is worth exact tracking, which a
 *                spoofed random-source flood (one packet per source) never is.
 * pc_scan_track  LRU_HASH, exact distinct-port sets of promoted sources.
 * pc_bans        HASH, never LRU: manual bans are only removed by expiry or
 *                unban; scan bans also by pc_scan_ring, below.
 * pc_scan_ring   ARRAY, the order scan bans were made in. A scan ban takes
 *                the next slot and replaces the scan ban that slot held, so
 *                at most PC_SCAN_BANS_MAX scan bans are in force, the table
 *                never fills up with them, and a ban lasts until a table's
 *                worth of newer ones has been made (or it expires). With one
 *                ban time the oldest ban is the one that expires soonest.
 *                Manual bans keep the rest of pc_bans: a flood of scan bans
 *                can never take their room.
 * pc_offenders   LRU_HASH, when each recently banned source was last banned
 *                and how often in a row, for repeat-offender ban times.
 */
/*
 * Every packet of a spoofed flood touches the pre-filter, so it must stay in
 * cache: 128 KiB. 65536 slots (512 KiB) cost 220 ns per flood frame on the
 * dev VM against 121 ns for this size. A bucket is one cache line of 8
 * records: sources that hash to the same bucket do not push each other out
 * until a ninth arrives, and then the one seen longest ago goes. (With one
 * record per hash, a quarter of 4,000 sources scanning at once, or two
 * addresses an attacker picked to collide, were never seen twice.) The hash
 * is keyed with a secret the loader draws at attach (scan_hash_key), so
 * nobody can pick sources that share a bucket.
 */
#define PC_SCAN_SEEN_WAYS 8
#define PC_SCAN_SEEN_BUCKETS 2048
#define PC_SCAN_TRACK_MAX 16384          /* sources tracked exactly at once */
#define PC_SCAN_BANS_MAX 65536           /* scan bans in force at once */
#define PC_MANUAL_BANS_MAX 32768         /* room kept for manual bans */
#define PC_BANS_MAX (PC_SCAN_BANS_MAX + PC_MANUAL_BANS_MAX) /* entries of pc_bans */
#define PC_OFFENDERS_MAX 65536           /* sources remembered for repeat bans */
#define PC_REPEAT_LEVEL_MAX 31           /* ban_ns << 2 * level stays in 64 bits */
#define PC_SCAN_MAX_PORTS 64             /* largest "scan-detect ports N" */
#define PC_EVENTS_PER_SEC 200            /* ring buffer events, then suppressed */

/* A source as scan tracking and bans see it. Key of pc_scan_track, pc_bans. */
struct pc_addr_key {
	__u8 family;   /* PC_SRC_FAMILY_V4 or _V6 */
	__u8 pad[3];
	__u8 addr[16]; /* network order; IPv6 masked to scan_ipv6_prefix; IPv4 in addr[0..3] */
};
_Static_assert(sizeof(struct pc_addr_key) == 20, "pc_addr_key layout changed");

/*
 * One record of the pre-filter: what it remembers of one source. Read and
 * written as one 8-byte word; aligned so, or clang splits those accesses in
 * two 4-byte ones and a CPU could see half of another CPU's record.
 */
struct pc_scan_seen {
	__u32 fingerprint; /* host order; second hash of the source, 0 = empty */
	__u16 port;        /* network order; last denied destination port */
	__u16 stamp;       /* host order; time in 2^scan_stamp_shift ns units (15 bits), proto in bit 15 */
} __attribute__((aligned(8)));
_Static_assert(sizeof(struct pc_scan_seen) == 8, "pc_scan_seen layout changed");

/* Value of pc_scan_seen, key = bucket: one cache line. */
struct pc_scan_bucket {
	struct pc_scan_seen way[PC_SCAN_SEEN_WAYS];
};
_Static_assert(sizeof(struct pc_scan_bucket) == 64, "pc_scan_bucket layout changed");

/*
 * Map "pc_scan_last", PERCPU_ARRAY of 1: where the pre-filter record of the
 * last source this CPU saw repeat itself is (a probe the pre-filter left as
 * it was: same port, protocol and stamp unit). The next probe from that
 * source skips the hash, the walk over the ways and the clock: it reads the
 * record at bucket/way and is done if the record is word for word what the
 * pre-filter would write. Another CPU's write, an eviction, a ban's reset or
 * a new stamp unit all change the word, and the probe takes the whole
 * pre-filter. The stamp comes from the coarse clock as read once a tick
 * and every SCAN_CLOCK_REREAD checks (tick, tick_ns, uses): that clock moves
 * only when the tick that bumps jiffies updates the timekeeper (see
 * scan_clock() in bpf/scan.h).
 * Data path only, never pinned; user space reads it only in tests.
 */
struct pc_scan_last {
	struct pc_addr_key source; /* as pc_scan_track keys it; family 0 = empty */
	__u32 bucket;              /* host order; key of pc_scan_seen */
	__u32 way;                 /* host order; < PC_SCAN_SEEN_WAYS */
	__u32 fingerprint;         /* host order; pc_scan_seen.fingerprint of the source */
	__u32 uses;                /* host order; repeat checks, to re-read the clock now and then */
	__u64 tick;                /* host order; jiffies when tick_ns was read, 0 = never */
	__u64 tick_ns;             /* host order; bpf_ktime_get_coarse_ns() in that tick */
};
_Static_assert(sizeof(struct pc_scan_last) == 56, "pc_scan_last layout changed");

/*
 * Value of pc_scan_track. Ports are a small open-addressing set filled with
 * atomic compare-and-swap, so probes landing on different CPUs at once are
 * all counted exactly, without a lock.
 */
struct pc_scan_track {
	__u64 first_ns;                   /* bpf_ktime_get_ns() of the first probe */
	__u32 count;                      /* distinct ports in the set */
	__u32 pad;
	__u32 ports[PC_SCAN_MAX_PORTS];   /* host order port + 1 + (proto << 16); 0 = empty */
};
_Static_assert(sizeof(struct pc_scan_track) == 16 + 4 * PC_SCAN_MAX_PORTS,
	       "pc_scan_track layout changed");

enum pc_ban_reason {
	PC_BAN_SCAN = 1,
	PC_BAN_MANUAL = 2,
	PC_BAN_CROWDSEC = 3, /* a CrowdSec Local API decision (loader/crowdsec.c) */
	PC_BAN_REASONS,
};

#define PC_BAN_FOREVER (~0ULL)

/* Value of pc_bans. Times are bpf_ktime_get_ns(), i.e. CLOCK_MONOTONIC. */
struct pc_ban {
	__u64 expires_ns;  /* PC_BAN_FOREVER for a manual ban without --for */
	__u64 created_ns;
	__u64 first_ns;    /* first probe of the scan, for "20 ports in 3.1s" */
	__u32 reason;      /* enum pc_ban_reason */
	__u32 ports;       /* distinct ports probed */
	__u16 last_port;   /* host order */
	__u8 last_proto;   /* enum pc_proto */
	__u8 repeat;       /* repeat-offender level: the ban time was ban_ns * 4^repeat */
	__u32 prefix_len;  /* host order; pc_prefix_bans: the key's address bits; else 0 */
	__u64 ring_pos;    /* scan bans: pc_ban_state.scan_next when made (see pc_scan_ring) */
};
_Static_assert(sizeof(struct pc_ban) == 48, "pc_ban layout changed");

/*
 * Value of pc_scan_ring, key = ring_pos % PC_SCAN_BANS_MAX: the scan ban
 * made at ring_pos. The ban it names is replaced only if it is still that
 * ban (same ring_pos, still a scan ban): a source unbanned and banned again,
 * or turned into a manual ban, is someone else's business by then.
 */
struct pc_ring_slot {
	struct pc_addr_key source;
	__u32 pad;
	__u64 ring_pos;
};
_Static_assert(sizeof(struct pc_ring_slot) == 32, "pc_ring_slot layout changed");

/* Value of pc_offenders: a source's last scan ban. Times as in pc_ban. */
struct pc_offender {
	__u64 last_ban_ns;
	__u32 repeat;      /* level of that ban */
	__u32 pad;
};
_Static_assert(sizeof(struct pc_offender) == 16, "pc_offender layout changed");

/*
 * Map "pc_ban_state", ARRAY of one, shared by all CPUs and updated with
 * atomics: active is the number of entries in pc_bans, the gate that lets
 * packets skip the ban lookup while nobody is banned. Whoever inserts a ban
 * (BPF_NOEXIST) increments it, whoever deletes one decrements it.
 */
struct pc_ban_state {
	__u64 active;
	__u64 event_window;  /* second (ktime >> 30) the event budget is for */
	__u64 event_count;   /* events sent in that second */
	__u64 scan_next;     /* ring_pos of the next scan ban */
	__u64 prefix_active; /* entries in pc_prefix_bans: the gate of its lookup */
	__u64 gen;           /* bumped after every change to pc_bans (see pc_ban_cache) */
};
_Static_assert(sizeof(struct pc_ban_state) == 48, "pc_ban_state layout changed");

/*
 * Map "pc_ban_cache", PERCPU_ARRAY of PC_BAN_CACHE_SLOTS, key =
 * pc_ban_cache_slot() (the low bits of the ban hint's slot, asked only when
 * the hint says the source may be banned): the data path's last pc_bans answer for a
 * banned source, so a banned source that keeps sending is answered without
 * the hash lookup. It holds only while pc_ban_state.gen is still the gen it
 * was read at (before the lookup) and the clock is before expires_ns: every
 * writer of pc_bans, kernel or user space, bumps gen after its change, so an
 * unban, a new ban, a replaced ban or an eviction is seen by the next packet.
 * Data path only; user space never reads it.
 */
#define PC_BAN_CACHE_SLOTS 64

struct pc_ban_cache_entry {
	struct pc_addr_key key; /* the source, as pc_bans keys it; family 0 = empty */
	__u32 reason;           /* enum pc_ban_reason */
	__u64 gen;              /* pc_ban_state.gen before the lookup */
	__u64 expires_ns;       /* of the ban */
};
_Static_assert(sizeof(struct pc_ban_cache_entry) == 40, "pc_ban_cache_entry layout changed");

/*
 * Prefix bans (manual and CrowdSec ranges): map "pc_prefix_bans", LPM_TRIE,
 * value struct pc_ban (reason never PC_BAN_SCAN, ring_pos unused). Checked
 * at step 4 after pc_bans, with the source's whole address, only while
 * pc_ban_state.prefix_active is not 0, so a host without prefix bans pays
 * nothing for them. Expired entries are ignored by the data path and swept
 * by user space (pc_bans_list). A ban whose key is one source as pc_bans
 * keys it (an IPv4 /32, an IPv6 /128 or /ipv6-prefix) goes to pc_bans
 * instead: pc_ban_is_prefix() is the one rule.
 */
#define PC_PREFIX_KEY_HDR_BITS 32 /* family and pad, before the address */
#define PC_PREFIX_BANS_MAX (256 * 1024)
/* Expired prefix bans the data path looks past to a wider one (until swept). */
#define PC_PREFIX_BAN_NESTING 4

struct pc_prefix_ban_key {
	__u32 prefixlen; /* host order; PC_PREFIX_KEY_HDR_BITS + address prefix length */
	__u8 family;     /* PC_SRC_FAMILY_V4 or _V6 */
	__u8 pad[3];
	__u8 addr[16];   /* network order; host bits zero; IPv4 in addr[0..3] */
};
_Static_assert(sizeof(struct pc_prefix_ban_key) == 24, "pc_prefix_ban_key layout changed");

/*
 * Map "pc_ban_hint", ARRAY of PC_BAN_HINT_SLOTS __u64, mappable: how many
 * bans in pc_bans have a source that pc_ban_hint_slot() puts in each slot.
 * A zero slot proves the source is not banned, which spares step 4 its
 * hash lookup while bans are in force (on a host facing the internet, nearly
 * always). It is kept like pc_ban_state.active, with atomics, but counted up
 * before a ban is inserted and down after one is deleted: it may be high for
 * a moment, which costs a lookup, and is never low, which would let a
 * banned source through. The hash is fixed, not keyed: whoever aims at a
 * banned source's slot only buys their own packets that lookup.
 */
#define PC_BAN_HINT_SLOTS 32768

static inline __u32 pc_ban_hint_slot(const struct pc_addr_key *key)
{
	const __u32 *w = (const __u32 *)key;
	__u32 fold = w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4];

	/* One multiply (Fibonacci hashing, top bits): every packet from a
	 * source nobody banned pays for this hash while any ban is in force. */
	return (__u32)(((__u64)fold * 0x9e3779b97f4a7c15ULL) >> 49) & (PC_BAN_HINT_SLOTS - 1);
}

/* KEY's slot in pc_ban_cache: part of its hint slot, which is asked first.
 * Two sources in one slot only cost each other a miss. */
static inline __u32 pc_ban_cache_slot(const struct pc_addr_key *key)
{
	return pc_ban_hint_slot(key) & (PC_BAN_CACHE_SLOTS - 1);
}

/* Map "pc_scan_stats", PERCPU_ARRAY, key = enum pc_scan_stat, value __u64. */
enum pc_scan_stat {
	PC_STAT_BANS = 0,          /* bans made: the detector's, manual and CrowdSec ones */
	PC_STAT_PROMOTED,          /* sources promoted to exact tracking */
	PC_STAT_BAN_TABLE_FULL,    /* bans that did not fit in pc_bans */
	PC_STAT_EVENTS_SUPPRESSED, /* events over PC_EVENTS_PER_SEC */
	PC_STAT_EXPIRED,           /* bans the data path found expired and removed */
	PC_STAT_EVICTED,           /* scan bans replaced by newer ones (pc_scan_ring) */
	PC_STAT_BANS_MANUAL,       /* of PC_STAT_BANS, made by 'ban' (user space only) */
	PC_STAT_BANS_CROWDSEC,     /* of PC_STAT_BANS, made from CrowdSec decisions */
	PC_STAT_CROWDSEC_SYNC_OK,  /* decision stream polls that succeeded (user space) */
	PC_STAT_CROWDSEC_SYNC_FAILED, /* and that failed */
	PC_STAT_RATE_UNTRACKED,    /* rate-limited packets with no room in pc_rate: passed */
	PC_SCAN_STATS,
};

/* Ring buffer "pc_events": one record per ban, unban and expiry. */
enum pc_event_type {
	PC_EVENT_BAN = 1,
	PC_EVENT_EXPIRE = 2,
};

struct pc_event {
	__u64 time_ns;          /* bpf_ktime_get_ns() */
	__u64 duration_ns;      /* of the ban */
	__u64 first_ns;         /* first probe of the scan */
	__u32 type;             /* enum pc_event_type */
	__u32 reason;           /* enum pc_ban_reason */
	__u32 ports;            /* distinct ports probed */
	__u16 last_port;        /* host order */
	__u8 last_proto;        /* enum pc_proto */
	__u8 pad;
	struct pc_addr_key source;
	__u32 pad2;
};
_Static_assert(sizeof(struct pc_event) == 64, "pc_event layout changed");

#define PC_EVENTS_RING_BYTES (256 * 1024)

/*
 * The drop log ("log drops RATE"): with PC_CFG_LOG_DROPS set, every drop
 * (monitor mode: every would-be drop) asks for a record, and at most
 * log_drops_rate of them a second get one; the rest are counted.
 *
 * pc_drop_budget  ARRAY of one struct pc_drop_budget, shared by all CPUs: a
 *                 rate limiter that lets one record through every 1/RATE s
 *                 and a tenth of a second's worth at once (GCRA), so any
 *                 second holds at most RATE + RATE / 10 + 1 records. Over
 *                 the rate it is only read, so a flood does not bounce its
 *                 cache line between CPUs.
 * pc_drop_stats   PERCPU_ARRAY, key = enum pc_drop_stat, value __u64.
 * pc_drops        RINGBUF of struct pc_drop_record.
 */
#define PC_LOG_DROPS_MAX 10000           /* largest "log drops RATE" */
#define PC_DROPS_RING_BYTES (256 * 1024) /* > a second of records at the largest rate */
#define PC_DROP_LOG_BURST_NS 100000000ULL /* records let through at once: 0.1 s worth */

struct pc_drop_budget {
	__u64 next_ns; /* bpf_ktime_get_coarse_ns() when the next record is due; 0 = at once */
	__u64 pad;
};
_Static_assert(sizeof(struct pc_drop_budget) == 16, "pc_drop_budget layout changed");

enum pc_drop_stat {
	PC_DROP_STAT_LOGGED = 0,  /* records sent */
	PC_DROP_STAT_SUPPRESSED,  /* drops over the rate, or with the ring full */
	PC_DROP_STATS,
};

struct pc_drop_record {
	__u64 time_ns;    /* bpf_ktime_get_ns(), i.e. CLOCK_MONOTONIC */
	__u32 len;        /* host order; whole frame */
	__u8 reason;      /* enum pc_reason, a drop reason */
	__u8 family;      /* PC_SRC_FAMILY_V4 or _V6; 0 = addresses not in the frame */
	__u8 l4_proto;    /* IPPROTO_*; 0 before the L4 header was parsed */
	__u8 tcp_flags;   /* FIN..URG as in byte 13 of the TCP header */
	__u16 sport;      /* network order; 0 when unknown */
	__u16 dport;      /* network order; 0 when unknown */
	__u8 monitor;     /* 1: mode monitor, the packet passed */
	__u8 pad[3];
	__u8 saddr[16];   /* network order; IPv4 in the first 4 bytes */
	__u8 daddr[16];   /* network order */
};
_Static_assert(sizeof(struct pc_drop_record) == 56, "pc_drop_record layout changed");

/*
 * Per-source rate limits ("limit tcp|udp PORTS rate N/DURATION [burst M]").
 * A port with PC_PORT_RATE_LIMITED names its line in pc_port_rule.limit;
 * the line's bucket parameters are in pc_limits, ARRAY, key =
 * pc_limit_key(set, id). Ports without the flag pay nothing.
 *
 * Each (source, line) is a token bucket kept as GCRA: one time, tat_ns, the
 * moment the source's bucket is full again. A packet at NOW passes when
 * tat_ns - NOW <= tolerance_ns ((M - 1) * interval_ns) and moves tat_ns to
 * max(tat_ns, NOW) + interval_ns (DURATION / N); a dropped packet writes
 * nothing. No record means a full bucket, so a record whose tat_ns has
 * passed carries nothing and is free for anyone.
 *
 * pc_rate   ARRAY, fixed size, preallocated: buckets of PC_RATE_WAYS records,
 *           one cache line each, picked by a hash of (source, line) keyed
 *           with scan_hash_key. A source's first packet takes a "weak"
 *           record (it owes one token); a source back while its record
 *           still holds a debt (passing or dropped) turns it "strong".
 *           A newcomer takes a free
 *           record, else the weak one full again soonest; strong records
 *           with a debt are never taken. So a spoofed flood (one packet per
 *           source) only churns weak records, and the bucket of a source
 *           being limited (strong, by then) lasts until it would have
 *           refilled anyway. When every way of a bucket is strong and owed,
 *           the newcomer is not tracked: it passes (PC_STAT_RATE_UNTRACKED).
 */
#define PC_LIMITS_MAX 1024      /* "limit" line ids 1 .. PC_LIMITS_MAX - 1 per rule set */
#define PC_RATE_WAYS 4
#define PC_RATE_BUCKETS 4096    /* 16384 records, 256 KiB */
#define PC_RATE_MAX_N 1000000   /* largest N and M */
#define PC_RATE_STRONG 1U       /* pc_rate_slot.strong */

static inline __u32 pc_limit_key(__u32 set, __u32 id)
{
	return set * PC_LIMITS_MAX + (id & (PC_LIMITS_MAX - 1));
}

/* Value of pc_limits. Host byte order. interval_ns 0: no such line. */
struct pc_limit {
	__u64 interval_ns;  /* DURATION / N: one token */
	__u64 tolerance_ns; /* (M - 1) * interval_ns: how far ahead tat_ns may run */
};
_Static_assert(sizeof(struct pc_limit) == 16, "pc_limit layout changed");

/* One record of pc_rate. Host byte order. */
struct pc_rate_slot {
	__u32 fingerprint; /* second hash of (source, line), bit 0 set; 0 = empty */
	__u32 strong;      /* PC_RATE_STRONG: came back while owing; never evicted while owing */
	__u64 tat_ns;      /* bpf_ktime_get_coarse_ns() the bucket is full again */
};
_Static_assert(sizeof(struct pc_rate_slot) == 16, "pc_rate_slot layout changed");

struct pc_rate_bucket {
	struct pc_rate_slot way[PC_RATE_WAYS];
};
_Static_assert(sizeof(struct pc_rate_bucket) == 64, "pc_rate_bucket layout changed");

/*
 * "portcullis explain" runs a second build of the program (-DPC_NO_SIDE_EFFECTS:
 * no counter, ban, scan state, log or bucket changes) on the pinned maps. Its
 * own map "pc_explain", ARRAY of one, never pinned, says why: the reason of
 * the last verdict (enum pc_reason, host order; PC_EXPLAIN_NONE before any).
 */
#define PC_EXPLAIN_NONE 0xffffffffU

struct pc_explain_result {
	__u32 reason;
	__u32 pad;
};
_Static_assert(sizeof(struct pc_explain_result) == 8, "pc_explain_result layout changed");

/* Map names, as pinned under PIN_ROOT/IFACE/. */
#define PC_MAP_CONFIG     "pc_config"
#define PC_MAP_ACTIVE     "pc_active"
#define PC_MAP_PORTS      "pc_ports"
#define PC_MAP_REASONS    "pc_reasons"
#define PC_MAP_PORT_DROPS "pc_port_drops"
#define PC_MAP_PORT_PASS  "pc_port_pass"
#define PC_MAP_PASS_OWNER "pc_pass_owner"
#define PC_MAP_META       "pc_meta"
#define PC_MAP_SOURCES    "pc_sources"
#define PC_MAP_SOURCE_HINT "pc_source_hint"
#define PC_MAP_SOURCE24   "pc_source24"
#define PC_MAP_SCAN_SEEN  "pc_scan_seen"
#define PC_MAP_SCAN_TRACK "pc_scan_track"
#define PC_MAP_BANS       "pc_bans"
#define PC_MAP_BAN_STATE  "pc_ban_state"
#define PC_MAP_BAN_HINT   "pc_ban_hint"
#define PC_MAP_PREFIX_BANS "pc_prefix_bans"
#define PC_MAP_SCAN_RING  "pc_scan_ring"
#define PC_MAP_OFFENDERS  "pc_offenders"
#define PC_MAP_SCAN_STATS "pc_scan_stats"
#define PC_MAP_EVENTS     "pc_events"
#define PC_MAP_DROPS      "pc_drops"
#define PC_MAP_DROP_BUDGET "pc_drop_budget"
#define PC_MAP_DROP_STATS "pc_drop_stats"
#define PC_MAP_LIMITS     "pc_limits"
#define PC_MAP_RATE       "pc_rate"
#define PC_LINK_NAME      "link"
#define PC_MAP_EXPLAIN    "pc_explain" /* the explain build's own, never pinned */

/* Bound of the IPv6 extension header walk; longer chains are malformed. */
#define PC_IPV6_MAX_EXT 6
/* VLAN tags parsed through; a frame with more is malformed. */
#define PC_MAX_VLAN 2

#endif /* PORTCULLIS_MAPS_H */
