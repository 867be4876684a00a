/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * From a parsed ruleset to map contents. A rule set is always written into
 * the inactive half and switched in with one store, so a packet sees the old
 * rules or the new ones, never a mix and never an empty set.
 */
#ifndef PORTCULLIS_APPLY_H
#define PORTCULLIS_APPLY_H

#include "config.h"

/* The scalar settings of a rule set; reads the local port range. */
void pc_ruleset_to_config(const struct pc_ruleset *rs, struct pc_config *cfg);

/*
 * Write RS into the inactive rule set and make it active. GENERATION is
 * stored with it (attach uses 1, reload the old one + 1). The switch is the
 * last step that can fail: on error the old rules are in force, unchanged.
 */
int pc_ruleset_commit(const struct pc_maps *maps, const struct pc_ruleset *rs, __u32 generation);

/*
 * The same, for --confirm: CONFIRM_NS (0: none) from the switch on, the new
 * set is in force only until confirmed; after that the data path goes back
 * to the set it replaced (see loader/rollout.h).
 */
int pc_ruleset_commit_confirm(const struct pc_maps *maps, const struct pc_ruleset *rs,
			      __u32 generation, __u64 confirm_ns);

#endif /* PORTCULLIS_APPLY_H */
