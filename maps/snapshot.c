// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "bans.h"
#include "snapshot.h"

static void add(struct pc_counter *sum, const struct pc_counter *c)
{
	sum->packets += c->packets;
	sum->bytes += c->bytes;
}

static void derive_totals(struct pc_snapshot *snap)
{
	for (int mode = 0; mode < PC_MODES; mode++) {
		for (int reason = 0; reason < PC_REASONS; reason++) {
			const struct pc_counter *c = &snap->reasons[mode * PC_REASONS + reason];
			bool dropped = reason < PC_DROP_REASONS && mode == PC_MODE_ENFORCE;

			add(&snap->by_reason[reason], c);
			add(dropped ? &snap->drop_total : &snap->pass_total, c);
		}
	}
}

/*
 * Rows for ports that were opened one by one, plus every port with traffic.
 * Ports opened by a range are listed only once they have counters, so a
 * wide range does not flood the output.
 */
static int derive_ports(struct pc_snapshot *snap, const struct pc_port_table *table,
			const struct pc_counter *drops, const struct pc_counter *pass,
			const __u32 *owner)
{
	struct pc_counter *pass_by_port = calloc(PC_PORT_SLOTS, sizeof(*pass_by_port));
	size_t cap = 64;

	snap->ports = calloc(cap, sizeof(*snap->ports));
	if (!pass_by_port || !snap->ports) {
		free(pass_by_port);
		return -ENOMEM;
	}
	snap->pass_overflow = pass[0];
	for (__u32 slot = 1; slot < PC_PASS_SLOTS; slot++) {
		__u32 proto;
		__u16 port_be;

		if (!owner[slot])
			continue;
		pc_port_counter_decode(owner[slot] - 1, &proto, &port_be);
		if (proto >= PC_PROTOS)
			continue;
		add(&pass_by_port[proto * PC_PORTS + ntohs(port_be)], &pass[slot]);
	}

	for (__u32 index = 0; index < PC_PORT_SLOTS; index++) {
		__u32 proto = index / PC_PORTS, port = index % PC_PORTS;
		const struct pc_port_rule *rule = &table->rules[index];
		const struct pc_counter *drop = &drops[pc_port_counter_key(proto, htons(port))];
		bool open = rule->flags & (PC_PORT_ALLOWED | PC_PORT_SOURCE_LIMITED);
		bool counted = drop->packets || pass_by_port[index].packets;

		if (open)
			snap->allowed_ports++;
		if (!counted && !(open && !(rule->flags & PC_PORT_IN_RANGE)))
			continue;
		if (snap->n_ports == cap) {
			struct pc_port_row *grown = realloc(snap->ports, 2 * cap * sizeof(*grown));

			if (!grown) {
				free(pass_by_port);
				return -ENOMEM;
			}
			snap->ports = grown;
			cap *= 2;
		}
		snap->ports[snap->n_ports++] = (struct pc_port_row){
			.proto = proto,
			.port = port,
			.allowed = open,
			.pass = pass_by_port[index],
			.drop = *drop,
		};
	}
	free(pass_by_port);
	return 0;
}

int pc_snapshot_read(const struct pc_maps *maps, struct pc_snapshot *snap)
{
	struct pc_counter *drops = calloc(PC_PORT_SLOTS, sizeof(*drops));
	struct pc_counter *pass = calloc(PC_PASS_SLOTS, sizeof(*pass));
	__u32 *owner = calloc(PC_PASS_SLOTS, sizeof(*owner));
	struct pc_port_table *table = calloc(1, sizeof(*table));
	__u32 zero = 0;
	int err = -ENOMEM;

	memset(snap, 0, sizeof(*snap));
	if (!drops || !pass || !owner || !table)
		goto out;
	err = pc_maps_active_set(maps, &snap->active_set);
	if (!err)
		err = pc_maps_read_config(maps, snap->active_set, &snap->config);
	if (!err && bpf_map_lookup_elem(maps->meta, &zero, &snap->meta))
		err = -errno;
	if (!err)
		err = pc_maps_sum_counters(maps, maps->reasons, PC_REASON_SLOTS, snap->reasons);
	if (!err)
		err = pc_maps_sum_counters(maps, maps->port_drops, PC_PORT_SLOTS, drops);
	if (!err)
		err = pc_maps_sum_counters(maps, maps->port_pass, PC_PASS_SLOTS, pass);
	if (!err)
		err = pc_maps_read_pass_owners(maps, owner);
	if (!err)
		err = pc_maps_read_ports(maps, snap->active_set, table);
	if (!err)
		err = pc_bans_stats(maps, snap->scan, &snap->bans_active);
	if (err)
		goto out;
	pc_reasons_add_pass(snap->reasons, pass);
	derive_totals(snap);
	err = derive_ports(snap, table, drops, pass, owner);
out:
	free(drops);
	free(pass);
	free(owner);
	free(table);
	if (err)
		pc_snapshot_free(snap);
	return err;
}

void pc_snapshot_free(struct pc_snapshot *snap)
{
	free(snap->ports);
	snap->ports = NULL;
	snap->n_ports = 0;
}
