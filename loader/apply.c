// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "apply.h"
#include "exempt.h"
#include "ratelimit.h"
#include "log.h"
#include "rollout.h"
#include "../maps/sources.h"

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
		.ban_max_ns = rs->ban_max_ns,
		.scan_stamp_shift = pc_scan_stamp_shift(rs->scan_window_ns),
		.log_drops_rate = rs->log_drops_rate,
	};
	if (rs->log_drops_rate)
		cfg->flags |= PC_CFG_LOG_DROPS;
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
	if (rs->exempt_auto)
		cfg->flags |= PC_CFG_EXEMPT_AUTO;
	memcpy(cfg->protos, rs->allowed_protos, sizeof(cfg->protos));
	local_port_range(&cfg->ephemeral_lo, &cfg->ephemeral_hi);
}

/*
 * Per-port source lists. Every "allow ... from" line gets a list id; a port
 * named by several such lines gets a list that is the union of theirs, so
 * the data path still does one lookup per packet.
 */
struct list_members {
	size_t *allows; /* indices into rs->allows */
	size_t n;
};

struct list_builder {
	const struct pc_ruleset *rs;
	__u16 *list_of;               /* by table index; 0 = none */
	struct list_members *members; /* by list id */
	__u32 n_lists;                /* ids 1 .. n_lists are in use */
	__u16 last_prev, last_list;   /* the union made for the previous port */
	size_t last_allow;
};

/* A new list: the members of list BASE (0: none) plus allow line ALLOW. */
static int new_list(struct list_builder *b, __u16 base, size_t allow)
{
	struct list_members *grown, *m;
	size_t base_n = base ? b->members[base].n : 0;

	if (b->n_lists + 1 >= PC_MAX_SOURCE_LISTS)
		return -E2BIG;
	/* The realloc may move the base list: refer to it by id, not pointer. */
	grown = realloc(b->members, (b->n_lists + 2) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	b->members = grown;
	m = &b->members[++b->n_lists];
	m->n = base_n + 1;
	m->allows = malloc(m->n * sizeof(*m->allows));
	if (!m->allows)
		return -ENOMEM;
	if (base)
		memcpy(m->allows, b->members[base].allows, base_n * sizeof(*m->allows));
	m->allows[m->n - 1] = allow;
	return b->n_lists;
}

/* Give every port of allow line I its list: the line's own, or a union. */
static int assign_lists(struct list_builder *b, size_t i, __u16 *own)
{
	const struct pc_allow *allow = &b->rs->allows[i];

	for (__u32 port = allow->lo; port <= allow->hi; port++) {
		__u16 *slot = &b->list_of[allow->proto * PC_PORTS + port];
		int id;

		if (!*slot) {
			if (!*own) {
				id = new_list(b, 0, i);
				if (id < 0)
					return id;
				*own = id;
			}
			*slot = *own;
			continue;
		}
		/* Neighbouring ports usually share their history: reuse the union. */
		if (b->last_list && b->last_prev == *slot && b->last_allow == i) {
			*slot = b->last_list;
			continue;
		}
		id = new_list(b, *slot, i);
		if (id < 0)
			return id;
		b->last_prev = *slot;
		b->last_allow = i;
		b->last_list = id;
		*slot = id;
	}
	return 0;
}

static int add_keys(struct pc_source_key **keys, size_t *n, size_t *cap,
		    const struct pc_prefix_list *list, __u8 kind, __u16 id)
{
	if (*n + list->count > *cap) {
		size_t want = (*n + list->count) * 2;
		struct pc_source_key *grown = realloc(*keys, want * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		*keys = grown;
		*cap = want;
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct pc_prefix *p = &list->items[i];

		pc_source_key_make(&(*keys)[(*n)++], kind, id, p->family, p->addr, p->len);
	}
	return 0;
}

/* Appends LIST's prefixes to ENTRIES with FLAGS. */
static void add_flagged(struct pc_source_entry *entries, size_t *n,
			const struct pc_prefix_list *list, __u32 flags)
{
	for (size_t i = 0; i < list->count; i++, (*n)++) {
		const struct pc_prefix *p = &list->items[i];

		pc_source_key_make(&entries[*n].key, PC_SRC_SOURCE, 0, p->family, p->addr, p->len);
		entries[*n].flags = flags;
	}
}

/*
 * "deny from", "allow from" and the scan-exempt sources into the trie, as
 * one list of flagged prefixes. Exempt are "exempt from", every per-port
 * "from" list (whoever may reach a port is somebody the admin knows) and
 * AUTO, the gateways and resolvers.
 */
static int add_source_lists(const struct pc_ruleset *rs, const struct pc_prefix_list *auto_exempt,
			    int trie_fd, struct pc_source_hint *hint, __u64 *source24)
{
	size_t n = rs->denied.count + rs->trusted.count + rs->exempt.count + auto_exempt->count;
	struct pc_source_entry *entries;
	size_t i = 0;
	int err;

	for (size_t a = 0; a < rs->n_allows; a++)
		n += rs->allows[a].sources.count;
	entries = calloc(n ? n : 1, sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	add_flagged(entries, &i, &rs->denied, PC_SRC_F_DENY);
	add_flagged(entries, &i, &rs->trusted, PC_SRC_F_TRUST);
	add_flagged(entries, &i, &rs->exempt, PC_SRC_F_EXEMPT);
	add_flagged(entries, &i, auto_exempt, PC_SRC_F_EXEMPT);
	for (size_t a = 0; a < rs->n_allows; a++)
		add_flagged(entries, &i, &rs->allows[a].sources, PC_SRC_F_EXEMPT);
	err = pc_sources_add_lists(trie_fd, hint, source24, entries, n);
	free(entries);
	return err;
}

/* Fill a fresh trie, its HINT and its /24 table SOURCE24 with every source
 * list of RS; ports get their list ids. */
static int build_sources(const struct pc_ruleset *rs, const struct pc_prefix_list *auto_exempt,
			 struct pc_port_table *table, int trie_fd, struct pc_source_hint *hint,
			 __u64 *source24, __u32 *next_list)
{
	struct list_builder b = { .rs = rs };
	struct pc_source_key *keys = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	b.list_of = calloc(PC_PORT_SLOTS, sizeof(*b.list_of));
	if (!b.list_of)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_allows && !err; i++) {
		__u16 own = 0;

		if (rs->allows[i].sources.count)
			err = assign_lists(&b, i, &own);
	}
	for (__u32 index = 0; index < PC_PORT_SLOTS && !err; index++)
		table->rules[index].source_list = b.list_of[index];

	if (!err)
		err = add_source_lists(rs, auto_exempt, trie_fd, hint, source24);
	for (__u32 id = 1; id <= b.n_lists && !err; id++)
		for (size_t m = 0; m < b.members[id].n && !err; m++)
			err = add_keys(&keys, &n, &cap, &rs->allows[b.members[id].allows[m]].sources,
				       PC_SRC_PORT, id);
	if (!err)
		err = pc_sources_add(trie_fd, hint, keys, n);
	*next_list = b.n_lists + 1;

	for (__u32 id = 1; id <= b.n_lists; id++)
		free(b.members[id].allows);
	free(b.members);
	free(b.list_of);
	free(keys);
	return err;
}

static bool has_port_lists(const struct pc_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_allows; i++)
		if (rs->allows[i].sources.count)
			return true;
	return false;
}

/*
 * meta.next_source_list is the first list id runtime 'allow ... from' may
 * take. Before the switch it must be free in both rule sets, since either
 * may end up in force: raise it to NEXT_LIST when that is higher. After the
 * switch only the new set counts and it may come down to NEXT_LIST again
 * (LOWER), which reuses the ids the old set held.
 */
static int set_next_list(const struct pc_maps *maps, __u32 next_list, bool lower)
{
	struct pc_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(maps->meta, &zero, &meta))
		return -errno;
	if (meta.next_source_list >= next_list && !lower)
		return 0;
	meta.next_source_list = next_list;
	return bpf_map_update_elem(maps->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

int pc_ruleset_commit(const struct pc_maps *maps, const struct pc_ruleset *rs, __u32 generation)
{
	return pc_ruleset_commit_confirm(maps, rs, generation, 0);
}

int pc_ruleset_commit_confirm(const struct pc_maps *maps, const struct pc_ruleset *rs,
			      __u32 generation, __u64 confirm_ns)
{
	struct pc_prefix_list auto_exempt = {0};
	struct pc_port_table *table;
	struct pc_source_hint *hint;
	__u64 *source24 = pc_source24_new();
	struct pc_config cfg;
	__u32 active, next, next_list = 1;
	int trie_fd, err;

	err = pc_maps_active_set(maps, &active);
	if (err)
		return err;
	next = active ^ 1;

	table = pc_port_table_new(maps);
	hint = calloc(1, sizeof(*hint));
	err = rs->exempt_auto ? pc_exempt_auto(&auto_exempt) : 0;
	trie_fd = err ? err : table && hint && source24 ? pc_sources_create() : -ENOMEM;
	if (trie_fd < 0) {
		err = trie_fd;
		goto out;
	}
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
	if (rs->denied.count)
		cfg.flags |= PC_CFG_HAVE_DENY;
	if (rs->trusted.count)
		cfg.flags |= PC_CFG_HAVE_TRUST;
	if (rs->exempt.count || auto_exempt.count || has_port_lists(rs))
		cfg.flags |= PC_CFG_HAVE_EXEMPT;

	/*
	 * Everything goes into the inactive half first; the switch is the last
	 * step that can fail, so an error always leaves the old rules in force.
	 */
	err = build_sources(rs, &auto_exempt, table, trie_fd, hint, source24, &next_list);
	if (!err)
		err = pc_sources_install(maps, next, trie_fd, hint, source24);
	if (!err)
		err = pc_limits_apply(maps, next, rs, table);
	if (!err)
		err = pc_maps_write_ports(maps, next, table);
	/* The deadline counts from the switch, not from the parse. */
	if (confirm_ns) {
		cfg.flags |= PC_CFG_CONFIRM_PENDING;
		cfg.confirm_ns = confirm_ns;
		cfg.confirm_deadline_ns = pc_rollout_now_ns() + confirm_ns;
	}
	if (!err)
		err = pc_maps_write_config(maps, next, &cfg);
	if (!err)
		err = set_next_list(maps, next_list, false);
	if (!err)
		err = pc_maps_activate(maps, next);
	/* Not lowering it only leaves ids unused until the next reload: no error.
	 * A change that may roll back must leave the old set's ids reserved. */
	if (!err && !confirm_ns && set_next_list(maps, next_list, true))
		pc_debug("rule set %u: list ids stay reserved until the next reload", next);
	close(trie_fd); /* the outer map holds it now */
out:
	pc_port_table_free(table);
	pc_prefix_list_free(&auto_exempt);
	free(hint);
	free(source24);
	return err;
}
