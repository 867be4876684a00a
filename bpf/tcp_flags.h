/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which TCP flag combinations are stealth-scan probes (verdict step 7).
 * Shared with the unit tests, which check all 64 combinations against a table
 * of their own, so this stays a pure function of the six flag bits.
 */
#ifndef PORTCULLIS_TCP_FLAGS_H
#define PORTCULLIS_TCP_FLAGS_H

#include "../maps/portcullis.h"

#define PC_TCP_FIN 0x01
#define PC_TCP_SYN 0x02
#define PC_TCP_RST 0x04
#define PC_TCP_PSH 0x08
#define PC_TCP_ACK 0x10
#define PC_TCP_URG 0x20

/* The scan reason of a flag combination, or PC_UNDECIDED for one a real
 * TCP stack may send. */
static __always_inline int pc_tcp_flags_reason(__u8 flags)
{
	flags &= 0x3f; /* ECE and CWR are legal with anything */

	if (flags == 0)
		return PC_DROP_SCAN_NULL;
	if ((flags & (PC_TCP_SYN | PC_TCP_FIN)) == (PC_TCP_SYN | PC_TCP_FIN))
		return PC_DROP_SCAN_SYNFIN;
	if ((flags & (PC_TCP_SYN | PC_TCP_RST)) == (PC_TCP_SYN | PC_TCP_RST))
		return PC_DROP_SCAN_SYNRST;
	if (flags & PC_TCP_ACK)
		return PC_UNDECIDED;
	/* Without ACK only a bare SYN (connection open) or RST is legal. */
	if ((flags & (PC_TCP_FIN | PC_TCP_PSH | PC_TCP_URG)) ==
	    (PC_TCP_FIN | PC_TCP_PSH | PC_TCP_URG))
		return PC_DROP_SCAN_XMAS;
	if (flags & PC_TCP_FIN)
		return PC_DROP_SCAN_FIN;
	if (flags & (PC_TCP_PSH | PC_TCP_URG))
		return PC_DROP_SCAN_OTHER;
	return PC_UNDECIDED;
}

#endif /* PORTCULLIS_TCP_FLAGS_H */
