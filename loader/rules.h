/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The live rules read back from an attachment's maps: as a ruleset (which
 * pc_ruleset_print() writes as a config file), and the config line behind a
 * port or a source, for explain.
 */
#ifndef PORTCULLIS_RULES_H
#define PORTCULLIS_RULES_H

#include <stddef.h>

#include "config.h"

/*
 * Rule set SET of MAPS as the ruleset a config would have made: settings
 * from pc_config, ports from pc_ports (ranges as runs of equally opened
 * ports), source lists from the set's trie. Prefixes that only the loader
 * adds (per-port sources as scan-exempt) are left out. RS must be freed.
 */
int pc_rules_read(const struct pc_maps *maps, __u32 set, struct pc_ruleset *rs);

/* "allow tcp 8000-8100" or "allow tcp 22 from 192.0.2.0/24": what opens PORT; "" if closed. */
void pc_rules_port_line(const struct pc_maps *maps, __u32 set, enum pc_proto proto, __u16 port,
			char *buf, size_t len);
/* "limit tcp 22 rate 6/30s burst 6": the limit line of PORT; "" if none. */
void pc_rules_limit_line(const struct pc_maps *maps, __u32 set, enum pc_proto proto, __u16 port,
			 char *buf, size_t len);
/* "deny from 198.18.0.0/15": the longest prefix with FLAG (PC_SRC_F_*) around SOURCE. */
void pc_rules_source_line(const struct pc_maps *maps, __u32 set, const struct pc_prefix *source,
			  __u32 flag, char *buf, size_t len);

#endif /* PORTCULLIS_RULES_H */
