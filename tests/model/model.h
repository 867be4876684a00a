/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A reference model of the data path: the "Verdict order" of
 * shared/interface.md as a plain C function of the frame's bytes and a rule
 * set, written for clarity and not for speed. The differential test
 * (tests/unit/test_differential.c) runs every packet through this and
 * through the XDP program and wants the same reason from both.
 *
 * It is derived from the contract and the RFCs, not from bpf/: it shares
 * only the reason values of maps/portcullis.h (the names the counters and
 * the contract use), so a misreading in bpf/ is not copied here.
 *
 * Not modelled: "established socket" (needs the host's sockets): the runs
 * use "established off|ephemeral". The scan detector is modelled exactly
 * (struct model_detector, model_verdict_at); model_verdict() alone is the
 * verdict with "scan-detect off" and the fixed ban list.
 */
#ifndef PORTCULLIS_MODEL_H
#define PORTCULLIS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../maps/portcullis.h"

/* An address or prefix. IPv4 lives in addr[0..3]; network byte order. */
struct model_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;	/* prefix length in bits: 0..32 or 0..128 */
	uint8_t addr[16];
};

enum model_proto {
	MODEL_TCP,
	MODEL_UDP,
};

/* One "allow PROTO LO-HI [from SOURCES]" line. */
struct model_allow {
	enum model_proto proto;
	uint16_t lo, hi;		 /* inclusive, host order */
	const struct model_prefix *from; /* NULL: every source */
	size_t n_from;
};

/*
 * One "limit PROTO LO-HI rate N/DURATION burst M" line whose DURATION / N
 * outlasts the run, so no token comes back: a source (IPv6 grouped per
 * ban_ipv6_prefix, as the detector groups it) may open M connections (TCP
 * SYN without ACK, any UDP packet) to the line's ports, and every later one
 * is rate-limited. Step 8, on a port open to every source (the config only
 * takes limits there); sources in any "from" list are exempt, never limited.
 */
struct model_limit {
	enum model_proto proto;
	uint16_t lo, hi; /* inclusive, host order */
	unsigned int burst;
};

enum model_established {
	MODEL_ESTABLISHED_OFF,
	MODEL_ESTABLISHED_EPHEMERAL,
};

struct model_rules {
	bool monitor;	/* mode monitor: same reasons, nothing dropped */
	bool scan_pass; /* scan-flags pass */
	bool icmp_deny; /* icmp deny */
	bool frag_deny; /* fragments deny */
	enum model_established established;
	uint16_t ephemeral_lo, ephemeral_hi; /* the host's local port range, inclusive */
	uint64_t protos[4];                  /* bit N: "allow proto N" */

	const struct model_allow *allows;
	size_t n_allows;
	const struct model_prefix *deny; /* deny from */
	size_t n_deny;
	const struct model_prefix *trust; /* allow from */
	size_t n_trust;
	/* Banned sources: IPv4 addresses, and IPv6 sources banned per the
	 * ipv6-prefix grouping (every address sharing the first ban_ipv6_prefix
	 * bits with one of these is banned). */
	const struct model_prefix *banned;
	size_t n_banned;
	unsigned int ban_ipv6_prefix;

	/*
	 * scan-detect ports PORTS window WINDOW_NS ban BAN_NS ipv6-prefix
	 * BAN_IPV6_PREFIX (PORTS 0: off), for model_verdict_at(). The contract,
	 * exactly: a source whose denied probes (step 10's drops and step 7's)
	 * reach PORTS distinct (protocol, port) pairs within WINDOW_NS of its
	 * first counted probe is banned for BAN_NS from that probe on; IPv6
	 * sources count and are banned per BAN_IPV6_PREFIX bits. A ban forgets
	 * the scan that made it.
	 */
	unsigned int scan_ports;
	uint64_t scan_window_ns, scan_ban_ns;
	/*
	 * Issue 12 ("Only opening packets feed the detector"): only TCP SYN
	 * without ACK, UDP, and illegal flag combinations are counted; dropped
	 * replies (SYN+ACK, ACK, RST, FIN+ACK) never are. false: every step-10
	 * drop counts, as the data path did before.
	 * TODO(issue 12), not modelled yet: exempt sources (per-port "from"
	 * lists, "exempt from", gateways and resolvers) never counted; IPv4-
	 * mapped and -compatible IPv6 sources dropped as malformed (canonical()
	 * still reads them as IPv4); a full ban table evicting the scan ban
	 * that expires soonest (model_detector has no capacity); repeat
	 * offenders' ban times x4 up to "max".
	 */
	bool scan_openings_only;

	/* limit lines, for model_verdict_at(); model_verdict() sees full buckets */
	const struct model_limit *limits;
	size_t n_limits;
};

/* The destination a verdict of steps 7-10 was made on. */
struct model_port {
	bool valid; /* false: the verdict came before the port was read */
	enum model_proto proto;
	uint16_t port; /* host order */
	/* Opens a conversation: UDP, TCP SYN without ACK, or an illegal TCP
	 * flag combination (see scan_openings_only). */
	bool opening;
};

/* A scan ban made by the detector: the source as bans key it. */
struct model_scan_ban {
	struct model_prefix source; /* IPv4 /32, or IPv6 cut to ban_ipv6_prefix */
	uint64_t expires_ns;
};

/* The detector's count of one source since its first counted probe. */
struct model_scan_track {
	struct model_prefix source;
	uint64_t first_ns;
	size_t n_ports;
	uint32_t ports[PC_SCAN_MAX_PORTS]; /* proto << 16 | port */
};

/* Openings a source made under one limit line (index into rules->limits). */
struct model_rate {
	struct model_prefix source; /* as the detector keys it */
	size_t line;
	unsigned int used;
};

/* The scan detector's state: every source exactly, no capacity limits; and
 * the limits' buckets, every source's exactly too. */
struct model_detector {
	struct model_scan_track *tracks;
	size_t n_tracks, cap_tracks;
	struct model_scan_ban *bans;
	size_t n_bans, cap_bans;
	struct model_rate *rates;
	size_t n_rates, cap_rates;
};

/*
 * The contract's reason for FRAME (LEN bytes from the Ethernet header); and,
 * if PORT is not NULL, the port the verdict was made on, for the per-port
 * counters.
 */
enum pc_reason model_verdict(const struct model_rules *rules, const uint8_t *frame, size_t len,
			     struct model_port *port);

/*
 * The reason for FRAME at time NOW_NS (CLOCK_MONOTONIC, any base) with the
 * scan detector of RULES: its bans are checked at step 4 with the fixed
 * ones, and a denied probe is counted in DETECTOR, which may ban. Without
 * scan_ports, the same as model_verdict().
 */
enum pc_reason model_verdict_at(const struct model_rules *rules, struct model_detector *detector,
				uint64_t now_ns, const uint8_t *frame, size_t len,
				struct model_port *port);

/* Forget every count and scan ban (a fresh program). */
void model_detector_reset(struct model_detector *detector);
/* `unban`: lift the scan ban of SOURCE (as bans key it); false if there was none. */
bool model_detector_unban(struct model_detector *detector, const struct model_prefix *source);

/*
 * Safe rollout (interface.md, "Safe rollout"): a change made with --confirm
 * is in force until its deadline unless confirmed; from the deadline on,
 * whatever it replaced is in force again, even with no process left: the
 * rules before a reload, or nothing at all (not filtered) before an attach.
 */
struct model_rollout {
	const struct model_rules *current;  /* the rules applied last */
	const struct model_rules *previous; /* what they replaced; NULL: not filtered */
	bool pending;                       /* applied with --confirm, not confirmed */
	uint64_t deadline_ns;               /* CLOCK_MONOTONIC_COARSE */
};

/* The rules in force at NOW_NS (CLOCK_MONOTONIC_COARSE); NULL: not filtered,
 * every packet passes and is counted nowhere. */
const struct model_rules *model_rules_at(const struct model_rollout *rollout, uint64_t now_ns);

/* True when REASON drops the packet under RULES (never in monitor mode). */
bool model_drops(const struct model_rules *rules, enum pc_reason reason);

#endif /* PORTCULLIS_MODEL_H */
