// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>

#include "ratelimit.h"

void pc_limit_make(struct pc_limit *limit, __u32 rate, __u64 per_ns, __u32 burst)
{
	limit->interval_ns = per_ns / rate;
	if (!limit->interval_ns)
		limit->interval_ns = 1;
	limit->tolerance_ns = (__u64)(burst - 1) * limit->interval_ns;
}

int pc_limits_apply(const struct pc_maps *maps, __u32 set, const struct pc_ruleset *rs,
		    struct pc_port_table *table)
{
	struct pc_limit *limits = calloc(PC_LIMITS_MAX, sizeof(*limits));
	__u32 id = 0;
	int last_line = 0, err;

	if (!limits)
		return -ENOMEM;
	/* The parser keeps a line's ranges together and refuses a port limited twice. */
	for (size_t i = 0; i < rs->n_limits; i++) {
		const struct pc_limit_rule *rule = &rs->limits[i];

		if (rule->line != last_line || !id) {
			last_line = rule->line;
			if (++id >= PC_LIMITS_MAX) {
				free(limits);
				return -E2BIG;
			}
			pc_limit_make(&limits[id], rule->rate, rule->per_ns, rule->burst);
		}
		for (__u32 port = rule->lo; port <= rule->hi; port++) {
			struct pc_port_rule *port_rule =
				&table->rules[rule->proto * PC_PORTS + port];

			/* Only on ports open to every source (the parser makes sure). */
			if (!(port_rule->flags & PC_PORT_ALLOWED))
				continue;
			port_rule->flags |= PC_PORT_RATE_LIMITED;
			port_rule->limit = id;
		}
	}
	err = pc_maps_write_limits(maps, set, limits);
	free(limits);
	return err;
}
