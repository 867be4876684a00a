// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "events.h"
#include "../maps/bans.h"

struct pc_events {
	const struct pc_maps *maps;
	struct ring_buffer *ring;
	pc_event_line_fn line;
	void *ctx;
	struct pc_ban_entry *known; /* bans already reported, from the last look */
	size_t n_known;
	__u64 last_sweep_ns;
	__u64 suppressed;
};

const char *pc_format_duration(__u64 ns, int fraction, char *buf, size_t len)
{
	__u64 s = ns / 1000000000ULL;

	if (fraction && s < 60)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else if (s % 86400 == 0 && s)
		snprintf(buf, len, "%llud", s / 86400);
	else if (s % 3600 == 0 && s)
		snprintf(buf, len, "%lluh", s / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%llum", s / 3600, s % 3600 / 60);
	else if (s % 60 == 0 && s)
		snprintf(buf, len, "%llum", s / 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum%llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%llus", s);
	return buf;
}

static __u32 ipv6_prefix(const struct pc_maps *maps)
{
	struct pc_config cfg = { .scan_ipv6_prefix = 64 };
	__u32 set;

	if (pc_maps_active_set(maps, &set) == 0)
		pc_maps_read_config(maps, set, &cfg);
	return cfg.scan_ipv6_prefix;
}

static const char *reason_name(__u32 reason)
{
	return reason == PC_BAN_SCAN ? "scan" : "manual";
}

static void say_ban(struct pc_events *ev, const struct pc_addr_key *key, const struct pc_ban *ban)
{
	char addr[64], took[32], dur[32], line[256];

	pc_addr_key_format(key, ipv6_prefix(ev->maps), addr, sizeof(addr));
	pc_format_duration(ban->expires_ns - ban->created_ns, 0, dur, sizeof(dur));
	if (ban->reason == PC_BAN_SCAN)
		snprintf(line, sizeof(line), "ban %s scan: %u ports in %s, last %s/%u, for %s", addr,
			 ban->ports,
			 pc_format_duration(ban->created_ns - ban->first_ns, 1, took, sizeof(took)),
			 pc_proto_name(ban->last_proto), ban->last_port, dur);
	else
		snprintf(line, sizeof(line), "ban %s manual, for %s", addr, dur);
	ev->line(line, ev->ctx);
}

static void say(struct pc_events *ev, const char *what, const struct pc_addr_key *key,
		const struct pc_ban *ban)
{
	char addr[64], dur[32], line[256];

	pc_addr_key_format(key, ipv6_prefix(ev->maps), addr, sizeof(addr));
	if (ban)
		snprintf(line, sizeof(line), "%s %s (%s ban, %s)", what, addr,
			 reason_name(ban->reason),
			 pc_format_duration(ban->expires_ns - ban->created_ns, 0, dur, sizeof(dur)));
	else
		snprintf(line, sizeof(line), "%s %s", what, addr);
	ev->line(line, ev->ctx);
}

static struct pc_ban_entry *find(struct pc_ban_entry *list, size_t n, const struct pc_addr_key *key)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&list[i].key, key, sizeof(*key)) == 0)
			return &list[i];
	return NULL;
}

/* Forget a ban the ring buffer already reported gone. */
static void forget(struct pc_events *ev, const struct pc_addr_key *key)
{
	struct pc_ban_entry *entry = find(ev->known, ev->n_known, key);

	if (entry)
		*entry = ev->known[--ev->n_known];
}

static int on_ring_event(void *ctx, void *data, size_t size)
{
	struct pc_events *ev = ctx;
	const struct pc_event *event = data;
	struct pc_ban ban = {};

	if (size < sizeof(*event))
		return 0;
	ban.reason = event->reason;
	ban.created_ns = event->time_ns;
	ban.expires_ns = event->time_ns + event->duration_ns;
	ban.first_ns = event->first_ns;
	ban.ports = event->ports;
	ban.last_port = event->last_port;
	ban.last_proto = event->last_proto;
	if (event->type == PC_EVENT_BAN) {
		struct pc_ban_entry *grown;

		say_ban(ev, &event->source, &ban);
		/* Remember it so the next table look does not report it again. */
		grown = realloc(ev->known, (ev->n_known + 1) * sizeof(*grown));
		if (grown) {
			ev->known = grown;
			ev->known[ev->n_known].key = event->source;
			ev->known[ev->n_known++].ban = ban;
		}
	} else {
		ban.expires_ns = event->time_ns;
		ban.created_ns = event->time_ns - event->duration_ns;
		say(ev, "expire", &event->source, &ban);
		forget(ev, &event->source);
	}
	return 0;
}

/* Compare the ban table with what was reported; report the difference. */
static int look(struct pc_events *ev, bool report)
{
	struct pc_ban_entry *now = NULL, *expired = NULL;
	size_t n_now = 0, n_expired = 0;
	__u64 stats[PC_SCAN_STATS], active;
	int err;

	err = pc_bans_list(ev->maps, true, &now, &n_now, &expired, &n_expired);
	if (err)
		goto out;
	for (size_t i = 0; report && i < n_expired; i++) {
		say(ev, "expire", &expired[i].key, &expired[i].ban);
		forget(ev, &expired[i].key);
	}
	for (size_t i = 0; report && i < n_now; i++) {
		struct pc_ban_entry *old = find(ev->known, ev->n_known, &now[i].key);

		if (!old || old->ban.created_ns != now[i].ban.created_ns)
			say_ban(ev, &now[i].key, &now[i].ban);
	}
	for (size_t i = 0; report && i < ev->n_known; i++) {
		if (find(now, n_now, &ev->known[i].key))
			continue;
		say(ev, ev->known[i].ban.expires_ns <= pc_now_ns() ? "expire" : "unban",
		    &ev->known[i].key, ev->known[i].ban.expires_ns <= pc_now_ns() ? &ev->known[i].ban
										: NULL);
	}
	free(ev->known);
	ev->known = now;
	ev->n_known = n_now;
	now = NULL;

	if (pc_bans_stats(ev->maps, stats, &active) == 0) {
		if (report && stats[PC_STAT_EVENTS_SUPPRESSED] > ev->suppressed) {
			char line[128];

			snprintf(line, sizeof(line), "(%llu ban events suppressed by the rate limit)",
				 stats[PC_STAT_EVENTS_SUPPRESSED] - ev->suppressed);
			ev->line(line, ev->ctx);
		}
		ev->suppressed = stats[PC_STAT_EVENTS_SUPPRESSED];
	}
out:
	free(now);
	free(expired);
	return err;
}

struct pc_events *pc_events_open(const struct pc_maps *maps, pc_event_line_fn line, void *ctx)
{
	struct pc_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->maps = maps;
	ev->line = line;
	ev->ctx = ctx;
	ev->ring = ring_buffer__new(maps->events, on_ring_event, ev, NULL);
	if (!ev->ring || look(ev, false)) {
		pc_events_close(ev);
		return NULL;
	}
	ev->last_sweep_ns = pc_now_ns();
	return ev;
}

int pc_events_poll(struct pc_events *ev, int timeout_ms)
{
	int err = ring_buffer__poll(ev->ring, timeout_ms);

	if (err < 0 && err != -EINTR)
		return err;
	if (pc_now_ns() - ev->last_sweep_ns >= 1000000000ULL) {
		ev->last_sweep_ns = pc_now_ns();
		return look(ev, true);
	}
	return 0;
}

void pc_events_close(struct pc_events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->ring);
	free(ev->known);
	free(ev);
}
