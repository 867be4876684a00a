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
 * Not modelled: "established socket" (needs the host's sockets) and the scan
 * detector (its state changes verdicts under the test): the runs use
 * "established off|ephemeral" and "scan-detect off" with a fixed ban list.
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
};

/* The destination a verdict of steps 7-10 was made on. */
struct model_port {
	bool valid; /* false: the verdict came before the port was read */
	enum model_proto proto;
	uint16_t port; /* host order */
};

/*
 * The contract's reason for FRAME (LEN bytes from the Ethernet header); and,
 * if PORT is not NULL, the port the verdict was made on, for the per-port
 * counters.
 */
enum pc_reason model_verdict(const struct model_rules *rules, const uint8_t *frame, size_t len,
			     struct model_port *port);

/* True when REASON drops the packet under RULES (never in monitor mode). */
bool model_drops(const struct model_rules *rules, enum pc_reason reason);

#endif /* PORTCULLIS_MODEL_H */
