/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The SSH guard: no rule-changing command may cut off the SSH session it
 * runs from (SSH_CONNECTION) unless --force. attach and reload hold a whole
 * rule set against the session, disallow the ports it closes, ban the
 * source it bans; run's SIGHUP reload goes through reload. Each check
 * returns 0 when the session survives, or -EPERM after saying on stderr what
 * would be cut and what to do instead.
 */
#ifndef PORTCULLIS_GUARD_H
#define PORTCULLIS_GUARD_H

#include <stdbool.h>

#include "config.h"
#include "../maps/pcmaps.h"

/* The session a command runs from: CLIENT -> SERVER tcp/PORT. */
struct pc_ssh_session {
	struct pc_prefix client, server; /* full-length prefixes */
	char client_text[64];
	int port;
};

/* SSH_CONNECTION's "CLIENT CPORT SERVER SPORT"; false when CONN is not that. */
bool pc_ssh_parse(const char *conn, struct pc_ssh_session *session);

/*
 * What a rule set does to a session, by the verdict order: a 'deny from'
 * prefix holding the client drops it (*DENIED names the prefix), 'allow
 * from' passes it, else its tcp port must be open for it.
 */
enum pc_guard_cut {
	PC_GUARD_SURVIVES,
	PC_GUARD_DENIED,
	PC_GUARD_PORT_CLOSED,
};
enum pc_guard_cut pc_guard_ruleset_cut(const struct pc_ruleset *rs,
				       const struct pc_ssh_session *session,
				       const struct pc_prefix **denied);

/* Does PREFIX hold ADDR (same family, the first PREFIX->len bits equal)? */
bool pc_prefix_contains(const struct pc_prefix *prefix, const struct pc_prefix *addr);

/*
 * attach and reload (VERB): refuse RS if it cuts the session off IFNAME. WHY
 * (may be NULL) gets the reason in one line, for run's log.
 */
int pc_guard_ruleset(const char *ifname, const char *verb, const struct pc_ruleset *rs,
		     char *why, size_t why_len);

/* disallow: refuse closing the session's tcp port on the live rules of MAPS. */
int pc_guard_disallow(const char *ifname, const struct pc_maps *maps, enum pc_proto proto,
		      const struct pc_port_range *ranges, size_t n);

/* ban: refuse banning a source (ADDR grouped per IPV6_PREFIX) that holds the client. */
int pc_guard_ban(const char *ifname, const struct pc_maps *maps, const struct pc_prefix *addr,
		 __u32 ipv6_prefix);

/* Is ADDR trusted ('allow from', not 'deny from') on the live rules, as the data path sees it? */
bool pc_live_trusted(const struct pc_maps *maps, const struct pc_prefix *addr);
/* The PC_SRC_F_* flags of ADDR (a whole address) in the live rule set, 0 if in no list. */
__u32 pc_live_source_flags(const struct pc_maps *maps, const struct pc_prefix *addr);

#endif /* PORTCULLIS_GUARD_H */
