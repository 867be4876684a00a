/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * "limit" lines into a rule set: each line gets an id, its ports the
 * PC_PORT_RATE_LIMITED flag and that id, and pc_limits the line's bucket.
 */
#ifndef PORTCULLIS_RATELIMIT_H
#define PORTCULLIS_RATELIMIT_H

#include "config.h"

/* Mark RS's limited ports in TABLE and write the lines into rule set SET. */
int pc_limits_apply(const struct pc_maps *maps, __u32 set, const struct pc_ruleset *rs,
		    struct pc_port_table *table);

/* The bucket of a line: N tokens per PER_NS, at most BURST. */
void pc_limit_make(struct pc_limit *limit, __u32 rate, __u64 per_ns, __u32 burst);

#endif /* PORTCULLIS_RATELIMIT_H */
