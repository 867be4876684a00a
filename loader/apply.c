// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>

#include "apply.h"

int pc_ruleset_check_supported(const struct pc_ruleset *rs, const char *file,
			       struct pc_error *err)
{
	for (size_t i = 0; i < rs->n_allows; i++) {
		if (rs->allows[i].sources.count) {
			snprintf(err->msg, sizeof(err->msg),
				 "%s:%d: per-port source lists are not supported by this build yet",
				 file, rs->allows[i].line);
			return -EOPNOTSUPP;
		}
	}
	if (rs->trusted.count || rs->denied.count) {
		snprintf(err->msg, sizeof(err->msg),
			 "%s: 'allow from' and 'deny from' are not supported by this build yet",
			 file);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The kernel's ephemeral range; replies to our own connections land there. */
static void local_port_range(__u16 *lo, __u16 *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned int a, b;

	*lo = 32768;
	*hi = 60999;
	if (!f)
		return;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a > 0 && a <= b && b <= 65535) {
		*lo = a;
		*hi = b;
	}
	fclose(f);
}

void pc_ruleset_to_config(const struct pc_ruleset *rs, struct pc_config *cfg)
{
	*cfg = (struct pc_config){
		.established = rs->established,
		.scan_ports = rs->scan_ports,
		.scan_ipv6_prefix = rs->scan_ipv6_prefix,
		.scan_window_ns = rs->scan_window_ns,
		.ban_ns = rs->ban_ns,
	};
	if (rs->mode == PC_MODE_MONITOR)
		cfg->flags |= PC_CFG_MONITOR;
	if (rs->scan_flags_pass)
		cfg->flags |= PC_CFG_SCAN_PASS;
	if (rs->icmp_deny)
		cfg->flags |= PC_CFG_ICMP_DENY;
	if (rs->frag_deny)
		cfg->flags |= PC_CFG_FRAG_DENY;
	if (rs->scan_detect)
		cfg->flags |= PC_CFG_SCAN_DETECT;
	local_port_range(&cfg->ephemeral_lo, &cfg->ephemeral_hi);
}

int pc_ruleset_commit(const struct pc_maps *maps, const struct pc_ruleset *rs, __u32 generation)
{
	struct pc_port_table *table;
	struct pc_config cfg;
	__u32 active, next;
	int err;

	err = pc_maps_active_set(maps, &active);
	if (err)
		return err;
	next = active ^ 1;

	table = pc_port_table_new(maps);
	if (!table)
		return -ENOMEM;
	/* Ranges first, so a port also named on its own is listed as a single port. */
	for (int singles = 0; singles <= 1; singles++) {
		for (size_t i = 0; i < rs->n_allows; i++) {
			const struct pc_allow *allow = &rs->allows[i];
			__u16 flags = allow->sources.count ? PC_PORT_SOURCE_LIMITED
							   : PC_PORT_ALLOWED;

			if ((allow->lo == allow->hi) != singles)
				continue;
			if (!singles)
				flags |= PC_PORT_IN_RANGE;
			pc_port_table_set(table, allow->proto, allow->lo, allow->hi, flags);
		}
	}
	pc_ruleset_to_config(rs, &cfg);
	cfg.generation = generation;

	/* Everything goes into the inactive half first; the switch is last. */
	err = pc_maps_write_ports(maps, next, table);
	if (!err)
		err = pc_maps_write_config(maps, next, &cfg);
	if (!err)
		err = pc_maps_activate(maps, next);
	pc_port_table_free(table);
	return err;
}
