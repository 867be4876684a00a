// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* allow / disallow: change the live rules of an attached interface. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "config.h"
#include "guard.h"
#include "log.h"
#include "pins.h"
#include "rollout.h"
#include "../maps/sources.h"

/* Per-port source lists in use: how many ports point at each id. */
struct list_use {
	__u32 total[PC_MAX_SOURCE_LISTS];  /* over the whole table */
	__u32 inside[PC_MAX_SOURCE_LISTS]; /* over the command's ports */
	__u16 target[PC_MAX_SOURCE_LISTS]; /* old list id -> list id it becomes */
	__u16 target_closed;               /* list for ports that had none */
};

static __u16 port_list(const struct pc_port_table *table, __u32 index)
{
	const struct pc_port_rule *rule = &table->rules[index];

	return rule->flags & PC_PORT_SOURCE_LIMITED ? rule->source_list : 0;
}

static int next_list_id(const struct pc_maps *maps, __u16 *id)
{
	struct pc_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(maps->meta, &zero, &meta))
		return -errno;
	if (!meta.next_source_list)
		meta.next_source_list = 1;
	if (meta.next_source_list >= PC_MAX_SOURCE_LISTS)
		return -E2BIG;
	*id = meta.next_source_list++;
	return bpf_map_update_elem(maps->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

/*
 * Decide the list every group of the command's ports ends up with: a list
 * only these ports use grows in place; a list shared with other ports is
 * copied first, so those ports do not open to the new sources; ports that
 * had no list share a new one. Every target list gets KEYS (list id patched).
 */
static int plan_lists(const struct pc_maps *maps, const struct pc_port_table *table,
		      enum pc_proto proto, const struct pc_port_range *ranges, size_t n,
		      struct list_use *use, int trie_fd, struct pc_source_key *keys,
		      size_t n_keys)
{
	int err = 0;

	for (__u32 index = 0; index < PC_PORT_SLOTS; index++)
		use->total[port_list(table, index)]++;
	for (size_t i = 0; i < n; i++)
		for (__u32 port = ranges[i].lo; port <= ranges[i].hi; port++)
			use->inside[port_list(table, proto * PC_PORTS + port)]++;

	for (__u32 old = 0; old < PC_MAX_SOURCE_LISTS && !err; old++) {
		__u16 target = old;

		if (!use->inside[old])
			continue;
		if (!old || use->total[old] > use->inside[old]) {
			err = next_list_id(maps, &target);
			if (!err && old)
				err = pc_sources_copy_list(trie_fd, old, target);
		}
		for (size_t k = 0; k < n_keys; k++)
			keys[k].list = target;
		if (!err)
			err = pc_sources_add(trie_fd, NULL, keys, n_keys);
		if (old)
			use->target[old] = target;
		else
			use->target_closed = target;
	}
	return err;
}

/* Point the command's ports at their new lists, in runs of equal lists. */
static int write_lists(const struct pc_maps *maps, const struct pc_port_table *table,
		       enum pc_proto proto, const struct pc_port_range *ranges, size_t n,
		       const struct list_use *use)
{
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		struct pc_port_range run = { .lo = ranges[i].lo };
		__u16 run_list = 0;

		for (__u32 port = ranges[i].lo; port <= ranges[i].hi + 1U && !err; port++) {
			__u16 old = port <= ranges[i].hi ? port_list(table, proto * PC_PORTS + port)
							 : 0;
			__u16 list = port > ranges[i].hi ? 0
				     : old		   ? use->target[old]
							   : use->target_closed;

			if (port > ranges[i].lo && (list != run_list || port > ranges[i].hi)) {
				run.hi = port - 1;
				err = pc_maps_update_live_ports(maps, proto, &run, 1,
								PC_PORT_SOURCE_LIMITED, run_list);
				run.lo = port;
			}
			run_list = list;
		}
	}
	return err;
}

/*
 * Whoever a port is opened to is exempt from scan bans, as if the line had
 * been in the config: flagged in the live trie before the port opens. A
 * later 'disallow' leaves the exemption until the next reload: exempting
 * too long only spares a source bans, never lets it through.
 */
/* Set FLAG (PC_CFG_*) in rule set SET's config, unless it is set already. */
static int add_config_flag(const struct pc_maps *maps, __u32 set, __u32 flag)
{
	struct pc_config cfg;
	int err = pc_maps_read_config(maps, set, &cfg);

	if (!err && !(cfg.flags & flag)) {
		cfg.flags |= flag;
		err = pc_maps_write_config(maps, set, &cfg);
	}
	return err;
}

static int exempt_live(const struct pc_maps *maps, __u32 set, int trie_fd,
		       const struct pc_source_key *keys, size_t n)
{
	int err = pc_sources_flag_live(trie_fd, keys, n, PC_SRC_F_EXEMPT);

	return err ? err : add_config_flag(maps, set, PC_CFG_HAVE_EXEMPT);
}

/* allow IFACE PROTO PORTS from SOURCES, on the live rules. */
static int allow_from(const struct pc_maps *maps, const char *ifname, enum pc_proto proto,
		      const struct pc_port_range *ranges, size_t n,
		      const struct pc_prefix_list *sources)
{
	struct pc_port_table *table = calloc(1, sizeof(*table));
	struct list_use *use = calloc(1, sizeof(*use));
	struct pc_source_key *keys = calloc(sources->count, sizeof(*keys));
	int trie_fd = -1, err;
	__u32 set;

	err = table && use && keys ? pc_maps_active_set(maps, &set) : -ENOMEM;
	if (!err)
		err = pc_maps_read_ports(maps, set, table);
	for (size_t i = 0; i < n && !err; i++) {
		for (__u32 port = ranges[i].lo; port <= ranges[i].hi; port++) {
			if (table->rules[proto * PC_PORTS + port].flags & PC_PORT_ALLOWED) {
				pc_warn("%s: %s %u is open to every source already; 'disallow' it "
					"first to limit it to sources",
					ifname, pc_proto_name(proto), port);
				err = -EEXIST;
				break;
			}
		}
	}
	if (err)
		goto out;
	trie_fd = pc_sources_open(maps, set);
	if (trie_fd < 0) {
		err = trie_fd;
		goto out;
	}
	for (size_t i = 0; i < sources->count; i++)
		pc_source_key_make(&keys[i], PC_SRC_PORT, 0, sources->items[i].family,
				   sources->items[i].addr, sources->items[i].len);
	/* The hint, then the lists, then the ports: a port never points at a
	 * half-made list, and no key is in the trie where the hint says none is. */
	err = pc_source_hint_extend(maps, set, keys, sources->count);
	if (!err)
		err = exempt_live(maps, set, trie_fd, keys, sources->count);
	if (!err)
		err = plan_lists(maps, table, proto, ranges, n, use, trie_fd, keys, sources->count);
	if (err == -E2BIG)
		pc_warn("%s: out of per-port source list ids; a reload compacts them", ifname);
	if (!err)
		err = write_lists(maps, table, proto, ranges, n, use);
out:
	if (trie_fd >= 0)
		close(trie_fd);
	free(keys);
	free(use);
	free(table);
	return err;
}

/* The live rules differ from the config now: status says so until the next
 * reload or attach, which write a config without the flag. */
static int mark_modified(const struct pc_maps *maps)
{
	__u32 set;
	int err = pc_maps_active_set(maps, &set);

	return err ? err : add_config_flag(maps, set, PC_CFG_MODIFIED);
}

int pc_cmd_allow(const char *ifname, int argc, char **argv, bool allow, bool force)
{
	const char *verb = allow ? "allow" : "disallow";
	struct pc_prefix_list sources = {};
	struct pc_port_range *ranges = NULL;
	struct pc_error perr = {};
	struct pc_maps maps;
	enum pc_proto proto;
	size_t n_ranges = 0;
	int lock_fd, ret = PC_EXIT_USAGE, err;
	char why[256];

	/* Validate every argument before touching anything. */
	if (argc != 2 && !(allow && argc == 4)) {
		pc_warn("usage: portcullis %s IFACE tcp|udp PORTS%s", verb,
			allow ? " [from SOURCES]" : "");
		return PC_EXIT_USAGE;
	}
	if (pc_parse_proto(argv[0], &proto, why, sizeof(why)) ||
	    pc_parse_ports(argv[1], &ranges, &n_ranges, why, sizeof(why))) {
		pc_warn("%s: %s", verb, why);
		return PC_EXIT_USAGE;
	}
	if (argc == 4) {
		if (strcmp(argv[2], "from") != 0) {
			pc_warn("allow: expected 'from SOURCES' after the ports, got '%s'", argv[2]);
			goto out;
		}
		if (pc_parse_sources(argv[3], &sources, &perr, NULL)) {
			pc_warn("allow: %s", perr.msg);
			goto out;
		}
		/* An empty list must not fall through to "open to every source". */
		if (!sources.count) {
			pc_warn("allow: '%s' names no sources", argv[3]);
			goto out;
		}
	}

	ret = PC_EXIT_FAILURE;
	if (pc_open_iface(ifname, &maps))
		goto out;
	/* While a change is pending, the live rules are the pending ones. */
	if (pc_rollout_before_change(ifname, &maps)) {
		pc_maps_close(&maps);
		goto out;
	}
	lock_fd = pc_lock_iface(ifname);
	/* allow only opens: it cannot cut a session. */
	if (!allow && !force && pc_guard_disallow(ifname, &maps, proto, ranges, n_ranges))
		err = -EPERM;
	else if (sources.count)
		err = allow_from(&maps, ifname, proto, ranges, n_ranges, &sources);
	else
		err = pc_maps_update_live_ports(&maps, proto, ranges, n_ranges,
						allow ? PC_PORT_ALLOWED : 0, 0);
	if (!err)
		err = mark_modified(&maps);
	if (err && err != -EEXIST && err != -E2BIG && err != -EPERM)
		pc_warn("%s: %s %s %s failed: %s", ifname, verb, argv[0], argv[1], pc_strerr(err));
	else if (!err)
		pc_debug("%s: %s %s %s", ifname, verb, argv[0], argv[1]);
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	ret = err == -EPERM ? PC_EXIT_USAGE : err ? PC_EXIT_FAILURE : PC_EXIT_OK;
out:
	pc_prefix_list_free(&sources);
	free(ranges);
	return ret;
}
