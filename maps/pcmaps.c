// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "pcmaps.h"

struct map_slot {
	const char *name;
	size_t offset; /* of the fd in struct pc_maps */
};

static const struct map_slot map_slots[] = {
	{ PC_MAP_ACTIVE, offsetof(struct pc_maps, active) },
	{ PC_MAP_CONFIG, offsetof(struct pc_maps, config) },
	{ PC_MAP_PORTS, offsetof(struct pc_maps, ports) },
	{ PC_MAP_REASONS, offsetof(struct pc_maps, reasons) },
	{ PC_MAP_PORT_DROPS, offsetof(struct pc_maps, port_drops) },
	{ PC_MAP_PORT_PASS, offsetof(struct pc_maps, port_pass) },
	{ PC_MAP_PASS_OWNER, offsetof(struct pc_maps, pass_owner) },
	{ PC_MAP_META, offsetof(struct pc_maps, meta) },
	{ PC_MAP_SOURCES, offsetof(struct pc_maps, sources) },
	{ PC_MAP_SOURCE_HINT, offsetof(struct pc_maps, source_hint) },
	{ PC_MAP_SOURCE24, offsetof(struct pc_maps, source24) },
	{ PC_MAP_SCAN_SEEN, offsetof(struct pc_maps, scan_seen) },
	{ PC_MAP_SCAN_TRACK, offsetof(struct pc_maps, scan_track) },
	{ PC_MAP_BANS, offsetof(struct pc_maps, bans) },
	{ PC_MAP_BAN_STATE, offsetof(struct pc_maps, ban_state) },
	{ PC_MAP_BAN_HINT, offsetof(struct pc_maps, ban_hint) },
	{ PC_MAP_PREFIX_BANS, offsetof(struct pc_maps, prefix_bans) },
	{ PC_MAP_SCAN_RING, offsetof(struct pc_maps, scan_ring) },
	{ PC_MAP_OFFENDERS, offsetof(struct pc_maps, offenders) },
	{ PC_MAP_SCAN_STATS, offsetof(struct pc_maps, scan_stats) },
	{ PC_MAP_EVENTS, offsetof(struct pc_maps, events) },
	{ PC_MAP_DROPS, offsetof(struct pc_maps, drops) },
	{ PC_MAP_DROP_BUDGET, offsetof(struct pc_maps, drop_budget) },
	{ PC_MAP_DROP_STATS, offsetof(struct pc_maps, drop_stats) },
	{ PC_MAP_LIMITS, offsetof(struct pc_maps, limits) },
	{ PC_MAP_RATE, offsetof(struct pc_maps, rate) },
};

#define N_MAPS (sizeof(map_slots) / sizeof(map_slots[0]))

const char *const *pc_map_names(size_t *n)
{
	static const char *names[N_MAPS];

	for (size_t i = 0; i < N_MAPS; i++)
		names[i] = map_slots[i].name;
	*n = N_MAPS;
	return names;
}

static int *map_fd(struct pc_maps *maps, size_t i)
{
	return (int *)((char *)maps + map_slots[i].offset);
}

long long pc_map_memlock(int map_fd)
{
	char path[64], line[256];
	long long memlock = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", map_fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &memlock) == 1)
			break;
	fclose(f);
	return memlock;
}

unsigned long long pc_maps_memory(const struct pc_maps *maps)
{
	unsigned long long total = 0;
	__u32 set;

	for (size_t i = 0; i < N_MAPS; i++) {
		long long bytes = pc_map_memlock(*map_fd((struct pc_maps *)maps, i));

		if (bytes > 0)
			total += bytes;
	}
	/* The source tries hang off pc_sources: count both rule sets' tries. */
	for (set = 0; set < PC_RULE_SETS; set++) {
		__u32 id;
		int fd;

		if (bpf_map_lookup_elem(maps->sources, &set, &id))
			continue;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		if (pc_map_memlock(fd) > 0)
			total += pc_map_memlock(fd);
		close(fd);
	}
	return total;
}

static int init_cpus(struct pc_maps *maps)
{
	maps->ncpus = libbpf_num_possible_cpus();
	return maps->ncpus < 0 ? maps->ncpus : 0;
}

int pc_maps_from_object(struct bpf_object *obj, struct pc_maps *maps)
{
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_slots[i].name);

		if (!map)
			return -ENOENT;
		*map_fd(maps, i) = bpf_map__fd(map);
	}
	return init_cpus(maps);
}

int pc_maps_open_pinned(const char *pin_dir, struct pc_maps *maps)
{
	char path[4096];
	int err;

	for (size_t i = 0; i < N_MAPS; i++)
		*map_fd(maps, i) = -1;
	for (size_t i = 0; i < N_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_slots[i].name);
		*map_fd(maps, i) = bpf_obj_get(path);
		if (*map_fd(maps, i) < 0) {
			err = -errno;
			pc_maps_close(maps);
			return err;
		}
	}
	return init_cpus(maps);
}

void pc_maps_close(struct pc_maps *maps)
{
	for (size_t i = 0; i < N_MAPS; i++) {
		int *fd = map_fd(maps, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int lookup(int fd, __u32 key, void *value)
{
	return bpf_map_lookup_elem(fd, &key, value) ? -errno : 0;
}

static int update(int fd, __u32 key, const void *value)
{
	return bpf_map_update_elem(fd, &key, value, BPF_ANY) ? -errno : 0;
}

int pc_maps_active_set(const struct pc_maps *maps, __u32 *set)
{
	int err = lookup(maps->active, 0, set);

	*set &= 1;
	return err;
}

int pc_maps_activate(const struct pc_maps *maps, __u32 set)
{
	return update(maps->active, 0, &set);
}

int pc_maps_read_config(const struct pc_maps *maps, __u32 set, struct pc_config *cfg)
{
	return lookup(maps->config, set, cfg);
}

int pc_maps_write_config(const struct pc_maps *maps, __u32 set, const struct pc_config *cfg)
{
	return update(maps->config, set, cfg);
}

static __u32 table_index(enum pc_proto proto, __u16 port)
{
	return (__u32)proto * PC_PORTS + port;
}

void pc_reasons_add_pass(struct pc_counter reasons[PC_REASON_SLOTS],
			 const struct pc_counter pass[PC_PASS_SLOTS])
{
	struct pc_counter *allowed = &reasons[pc_reason_slot(PC_MODE_ENFORCE, PC_PASS_ALLOWED)];

	for (__u32 slot = 0; slot < PC_PASS_SLOTS; slot++) {
		allowed->packets += pass[slot].packets;
		allowed->bytes += pass[slot].bytes;
	}
}

int pc_maps_read_reasons(const struct pc_maps *maps, struct pc_counter reasons[PC_REASON_SLOTS])
{
	struct pc_counter *pass = calloc(PC_PASS_SLOTS, sizeof(*pass));
	int err = pass ? 0 : -ENOMEM;

	err = err ?: pc_maps_sum_counters(maps, maps->reasons, PC_REASON_SLOTS, reasons);
	err = err ?: pc_maps_sum_counters(maps, maps->port_pass, PC_PASS_SLOTS, pass);
	if (!err)
		pc_reasons_add_pass(reasons, pass);
	free(pass);
	return err;
}

int pc_maps_read_pass_owners(const struct pc_maps *maps, __u32 owner[PC_PASS_SLOTS])
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = malloc(PC_PASS_SLOTS * sizeof(*keys));
	__u32 *values = malloc(PC_PASS_SLOTS * sizeof(*values));
	__u32 done = 0, token = 0, batch;
	int err = 0;

	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	/* One batch instead of 8192 lookups: stats and scrapes read this. */
	memset(owner, 0, PC_PASS_SLOTS * sizeof(*owner));
	while (done < PC_PASS_SLOTS) {
		batch = PC_PASS_SLOTS - done;
		if (bpf_map_lookup_batch(maps->pass_owner, done ? &token : NULL, &token, keys,
					 values, &batch, &opts) &&
		    errno != ENOENT) {
			err = -errno;
			goto out;
		}
		if (!batch)
			break;
		for (__u32 i = 0; i < batch; i++)
			if (keys[i] < PC_PASS_SLOTS)
				owner[keys[i]] = values[i];
		done += batch;
	}
out:
	free(keys);
	free(values);
	return err;
}

struct pc_port_table *pc_port_table_new(const struct pc_maps *maps)
{
	struct pc_port_table *table = calloc(1, sizeof(*table));

	if (!table)
		return NULL;
	if (pc_maps_read_pass_owners(maps, table->owner)) {
		free(table);
		return NULL;
	}
	for (__u32 slot = 1; slot < PC_PASS_SLOTS; slot++) {
		__u32 owner = table->owner[slot];

		if (!owner)
			continue;
		/* Owners are stored by counter key (network-order port). */
		__u32 proto;
		__u16 port_be;

		pc_port_counter_decode(owner - 1, &proto, &port_be);
		if (proto < PC_PROTOS)
			table->slot_of[table_index(proto, ntohs(port_be))] = slot;
	}
	table->next_free = 1;
	return table;
}

void pc_port_table_free(struct pc_port_table *table)
{
	free(table);
}

static __u16 table_slot(struct pc_port_table *table, enum pc_proto proto, __u16 port)
{
	__u32 index = table_index(proto, port);

	if (table->slot_of[index])
		return table->slot_of[index];
	while (table->next_free < PC_PASS_SLOTS && table->owner[table->next_free])
		table->next_free++;
	if (table->next_free >= PC_PASS_SLOTS)
		return 0;
	table->owner[table->next_free] = pc_port_counter_key(proto, htons(port)) + 1;
	table->slot_of[index] = table->next_free;
	table->owners_changed = true;
	return table->next_free;
}

void pc_port_table_set(struct pc_port_table *table, enum pc_proto proto, __u16 lo, __u16 hi,
		       __u16 flags)
{
	for (__u32 port = lo; port <= hi; port++) {
		struct pc_port_rule *rule = &table->rules[table_index(proto, port)];

		rule->flags = flags;
		rule->pass_slot = flags ? table_slot(table, proto, port) : 0;
	}
}

/* The rules of SET straight from the mapped array: no syscall per entry. */
static int read_ports_mapped(const struct pc_maps *maps, __u32 set, struct pc_port_table *table)
{
	size_t len = (size_t)PC_RULE_SETS * PC_PORT_SLOTS * sizeof(struct pc_port_rule);
	const struct pc_port_rule *rules;

	rules = mmap(NULL, len, PROT_READ, MAP_SHARED, maps->ports, 0);
	if (rules == MAP_FAILED)
		return -errno;
	for (__u32 proto = 0; proto < PC_PROTOS; proto++)
		for (__u32 port = 0; port < PC_PORTS; port++)
			table->rules[table_index(proto, port)] =
				rules[pc_port_key(set, proto, htons(port))];
	munmap((void *)rules, len);
	return 0;
}

int pc_maps_read_ports(const struct pc_maps *maps, __u32 set, struct pc_port_table *table)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 total = PC_RULE_SETS * PC_PORT_SLOTS, done = 0, batch, token;
	struct pc_port_rule *all = malloc(total * sizeof(*all));
	__u32 *keys = malloc(total * sizeof(*keys));
	int err = 0;

	if (read_ports_mapped(maps, set, table) == 0)
		goto out;
	if (!all || !keys) {
		err = -ENOMEM;
		goto out;
	}
	/* Pins made before the map was mappable: one batch read of both sets. */
	while (done < total) {
		batch = total - done;
		if (bpf_map_lookup_batch(maps->ports, done ? &token : NULL, &token, keys + done,
					 all + done, &batch, &opts) &&
		    errno != ENOENT) {
			err = -errno;
			goto out;
		}
		if (!batch)
			break;
		done += batch;
	}
	for (__u32 i = 0; i < done; i++) {
		__u32 key = keys[i];

		if ((key >> 17) != set)
			continue;
		table->rules[table_index((key >> 16) & 1, ntohs(key & 0xffff))] = all[i];
	}
out:
	free(all);
	free(keys);
	return err;
}

static int write_owners(const struct pc_maps *maps, const struct pc_port_table *table)
{
	if (!table->owners_changed)
		return 0;
	for (__u32 slot = 1; slot < PC_PASS_SLOTS; slot++) {
		int err = update(maps->pass_owner, slot, &table->owner[slot]);

		if (err)
			return err;
	}
	return 0;
}

/* Write rules for [first, first + count) of the table's index space. */
static int write_rules(const struct pc_maps *maps, __u32 set, const struct pc_port_table *table,
		       __u32 first, __u32 count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = malloc(count * sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < count; i++) {
		__u32 index = first + i;

		keys[i] = pc_port_key(set, index / PC_PORTS, htons(index % PC_PORTS));
	}
	__u32 done = count;

	if (bpf_map_update_batch(maps->ports, keys, &table->rules[first], &done, &opts))
		err = -errno;
	free(keys);
	return err;
}

int pc_maps_write_ports(const struct pc_maps *maps, __u32 set, const struct pc_port_table *table)
{
	int err = write_owners(maps, table);

	return err ? err : write_rules(maps, set, table, 0, PC_PORT_SLOTS);
}

/* A port that stays open to every source keeps its "limit" line. */
static void keep_limit(const struct pc_maps *maps, __u32 set, enum pc_proto proto, __u16 port,
		       struct pc_port_rule *rule)
{
	__u32 key = pc_port_key(set, proto, htons(port));
	struct pc_port_rule live;

	if (!(rule->flags & PC_PORT_ALLOWED) || bpf_map_lookup_elem(maps->ports, &key, &live) ||
	    !(live.flags & PC_PORT_RATE_LIMITED))
		return;
	rule->flags |= PC_PORT_RATE_LIMITED;
	rule->limit = live.limit;
}

int pc_maps_update_live_ports(const struct pc_maps *maps, enum pc_proto proto,
			      const struct pc_port_range *ranges, size_t n, __u16 flags,
			      __u16 source_list)
{
	struct pc_port_table *table = pc_port_table_new(maps);
	__u32 set;
	int err;

	if (!table)
		return -ENOMEM;
	/* Only the ranges are written back, so the rest of the table may stay empty. */
	err = pc_maps_active_set(maps, &set);
	for (size_t i = 0; i < n && !err; i++) {
		__u16 range_flags = flags;

		if (flags && ranges[i].lo != ranges[i].hi)
			range_flags |= PC_PORT_IN_RANGE;
		pc_port_table_set(table, proto, ranges[i].lo, ranges[i].hi, range_flags);
		for (__u32 port = ranges[i].lo; port <= ranges[i].hi; port++) {
			table->rules[table_index(proto, port)].source_list = source_list;
			keep_limit(maps, set, proto, port, &table->rules[table_index(proto, port)]);
		}
	}
	if (!err)
		err = write_owners(maps, table);
	for (size_t i = 0; i < n && !err; i++)
		err = write_rules(maps, set, table, table_index(proto, ranges[i].lo),
				  ranges[i].hi - ranges[i].lo + 1U);
	pc_port_table_free(table);
	return err;
}

int pc_maps_write_limits(const struct pc_maps *maps, __u32 set,
			 const struct pc_limit limits[PC_LIMITS_MAX])
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 keys[PC_LIMITS_MAX], done = PC_LIMITS_MAX;

	for (__u32 id = 0; id < PC_LIMITS_MAX; id++)
		keys[id] = pc_limit_key(set, id);
	return bpf_map_update_batch(maps->limits, keys, limits, &done, &opts) ? -errno : 0;
}

int pc_maps_read_limits(const struct pc_maps *maps, __u32 set, struct pc_limit limits[PC_LIMITS_MAX])
{
	for (__u32 id = 0; id < PC_LIMITS_MAX; id++) {
		__u32 key = pc_limit_key(set, id);

		if (bpf_map_lookup_elem(maps->limits, &key, &limits[id]))
			return -errno;
	}
	return 0;
}

/* Counters are read in chunks: one syscall per chunk, not per key. */
#define SUM_CHUNK 4096

int pc_maps_sum_counters(const struct pc_maps *maps, int map_fd, __u32 n, struct pc_counter *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct pc_counter *percpu = calloc((size_t)SUM_CHUNK * maps->ncpus, sizeof(*percpu));
	__u32 *keys = calloc(SUM_CHUNK, sizeof(*keys));
	__u32 done = 0, token = 0, batch;
	int err = 0;

	if (!percpu || !keys) {
		err = -ENOMEM;
		goto out;
	}
	memset(out, 0, n * sizeof(*out));
	while (done < n) {
		batch = n - done < SUM_CHUNK ? n - done : SUM_CHUNK;
		if (bpf_map_lookup_batch(map_fd, done ? &token : NULL, &token, keys, percpu,
					 &batch, &opts) &&
		    errno != ENOENT) {
			err = -errno;
			goto out;
		}
		if (!batch)
			break;
		for (__u32 i = 0; i < batch; i++) {
			struct pc_counter *sum = &out[keys[i]];

			if (keys[i] >= n)
				continue;
			for (int cpu = 0; cpu < maps->ncpus; cpu++) {
				sum->packets += percpu[(size_t)i * maps->ncpus + cpu].packets;
				sum->bytes += percpu[(size_t)i * maps->ncpus + cpu].bytes;
			}
		}
		done += batch;
	}
out:
	free(percpu);
	free(keys);
	return err;
}

static const char *const reason_names[PC_REASONS] = {
	[PC_DROP_NOT_ALLOWED] = "not-allowed",
	[PC_DROP_SOURCE_NOT_ALLOWED] = "source-not-allowed",
	[PC_DROP_SCAN_NULL] = "scan-null",
	[PC_DROP_SCAN_FIN] = "scan-fin",
	[PC_DROP_SCAN_XMAS] = "scan-xmas",
	[PC_DROP_SCAN_SYNFIN] = "scan-synfin",
	[PC_DROP_SCAN_SYNRST] = "scan-synrst",
	[PC_DROP_SCAN_OTHER] = "scan-other",
	[PC_DROP_BANNED] = "banned",
	[PC_DROP_DENIED_SOURCE] = "denied-source",
	[PC_DROP_MALFORMED] = "malformed",
	[PC_DROP_FRAGMENT] = "fragment",
	[PC_DROP_ICMP] = "icmp",
	[PC_DROP_PROTOCOL] = "protocol",
	[PC_DROP_RATE_LIMITED] = "rate-limited",
	[PC_PASS_ALLOWED] = "allowed",
	[PC_PASS_ESTABLISHED] = "established",
	[PC_PASS_TRUSTED] = "trusted",
	[PC_PASS_NOT_IP] = "not-ip",
	[PC_PASS_OTHER_PROTO] = "other-protocol",
	[PC_PASS_ICMP] = "icmp",
	[PC_PASS_ICMP_ESSENTIAL] = "icmp-essential",
	[PC_PASS_FRAGMENT] = "fragment",
};

const char *pc_reason_name(int reason)
{
	if (reason < 0 || reason >= PC_REASONS || !reason_names[reason])
		return "unknown";
	return reason_names[reason];
}

int pc_reason_from_name(const char *name)
{
	for (int reason = 0; reason < PC_DROP_REASONS; reason++)
		if (strcmp(reason_names[reason], name) == 0)
			return reason;
	return -1;
}

const char *pc_proto_name(enum pc_proto proto)
{
	return proto == PC_PROTO_TCP ? "tcp" : proto == PC_PROTO_UDP ? "udp" : "?";
}
