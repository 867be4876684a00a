// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "droplog.h"
#include "events.h"
#include "log.h"
#include "pins.h"
#include "rollout.h"
#include "../maps/bans.h"

/* What the ring buffer already said since the last look at the table. */
struct key_list {
	struct pc_addr_key *keys;
	size_t n;
};

struct pc_events {
	struct pc_ring_reader r;
	struct pc_ban_entry *known; /* bans in force at the last look, sorted by key */
	size_t n_known;
	struct key_list ring_banned; /* announced by the ring, not yet seen in the table */
	struct key_list ring_gone;   /* expiries the ring announced */
	__u64 suppressed;            /* the data path's suppressed-event count, last seen */
	__u64 evicted;               /* and its count of scan bans replaced by newer ones */
	unsigned int budget;         /* lines left for this second */
	unsigned long long held_back; /* lines over the budget this second */
	__u64 rollout_seen;          /* deadline of the last rollback told (rollout.h) */
};

const char *pc_format_duration(__u64 ns, int fraction, char *buf, size_t len)
{
	static const struct {
		__u64 seconds;
		char name;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	__u64 s = ns / 1000000000ULL;
	size_t big = 0;

	if (fraction && s < 60) {
		snprintf(buf, len, "%.1fs", ns / 1e9);
		return buf;
	}
	/* The two largest units, the second left out when it is 0: 12d4h, 10m, 45s. */
	while (big + 1 < sizeof(units) / sizeof(units[0]) && s < units[big].seconds)
		big++;
	if (big + 1 == sizeof(units) / sizeof(units[0]) || s % units[big].seconds < units[big + 1].seconds)
		snprintf(buf, len, "%llu%c", s / units[big].seconds, units[big].name);
	else
		snprintf(buf, len, "%llu%c%llu%c", s / units[big].seconds, units[big].name,
			 s % units[big].seconds / units[big + 1].seconds, units[big + 1].name);
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
	return reason == PC_BAN_SCAN ? "scan" : reason == PC_BAN_CROWDSEC ? "crowdsec" : "manual";
}

/* The ring's sources are addresses: an entry of pc_bans. */
static struct pc_ban_entry address_entry(const struct pc_addr_key *key)
{
	struct pc_ban_entry entry = { .key = *key };

	return entry;
}

/* One line to the caller, within the per-second budget. */
static bool spend(struct pc_events *ev)
{
	if (ev->budget) {
		ev->budget--;
		return true;
	}
	ev->held_back++;
	return false;
}

/* The line with the time of WHEN_NS (CLOCK_MONOTONIC) in front, as the drop log has it. */
static void emit(struct pc_events *ev, __u64 when_ns, const char *text)
{
	char when[40], line[320];

	snprintf(line, sizeof(line), "%s %s", pc_format_mono_time(when_ns, when, sizeof(when)),
		 text);
	ev->r.line(line, ev->r.ctx);
}

/* A ban's line carries the time it was made. */
static void say_ban(struct pc_events *ev, const struct pc_ban_entry *entry,
		    const struct pc_ban *ban)
{
	char addr[64], took[32], dur[32], line[256];

	if (!spend(ev))
		return;
	pc_ban_entry_format(entry, ipv6_prefix(ev->r.maps), addr, sizeof(addr));
	pc_format_duration(ban->expires_ns - ban->created_ns, 0, dur, sizeof(dur));
	if (ban->reason == PC_BAN_SCAN)
		snprintf(line, sizeof(line), "ban %s scan: %u ports in %s, last %s/%u, for %s", addr,
			 ban->ports,
			 pc_format_duration(ban->created_ns - ban->first_ns, 1, took, sizeof(took)),
			 pc_proto_name(ban->last_proto), ban->last_port, dur);
	else
		snprintf(line, sizeof(line), "ban %s %s, for %s", addr, reason_name(ban->reason),
			 dur);
	emit(ev, ban->created_ns, line);
}

/* An expiry's line carries the time the ban ran out, other lines the time they are told. */
static void say(struct pc_events *ev, const char *what, const struct pc_ban_entry *entry,
		const struct pc_ban *ban)
{
	char addr[64], dur[32], line[256];

	if (!spend(ev))
		return;
	pc_ban_entry_format(entry, ipv6_prefix(ev->r.maps), addr, sizeof(addr));
	if (ban)
		snprintf(line, sizeof(line), "%s %s (%s ban, %s)", what, addr,
			 reason_name(ban->reason),
			 pc_format_duration(ban->expires_ns - ban->created_ns, 0, dur, sizeof(dur)));
	else
		snprintf(line, sizeof(line), "%s %s", what, addr);
	emit(ev, ban && strcmp(what, "expire") == 0 ? ban->expires_ns : pc_now_ns(), line);
}

/* By table and key: an address ban and a prefix ban of the same network differ. */
static int by_key(const void *a, const void *b)
{
	return memcmp(a, b, offsetof(struct pc_ban_entry, ban));
}

/* The ban table holds up to 65,536 bans: keep lookups logarithmic. */
static struct pc_ban_entry *find(struct pc_ban_entry *sorted, size_t n,
				 const struct pc_ban_entry *probe)
{
	return n ? bsearch(probe, sorted, n, sizeof(*sorted), by_key) : NULL;
}

static bool in_list(const struct key_list *list, const struct pc_addr_key *key)
{
	for (size_t i = 0; i < list->n; i++)
		if (memcmp(&list->keys[i], key, sizeof(*key)) == 0)
			return true;
	return false;
}

static void add_key(struct key_list *list, const struct pc_addr_key *key)
{
	struct pc_addr_key *grown = realloc(list->keys, (list->n + 1) * sizeof(*grown));

	if (grown) {
		list->keys = grown;
		list->keys[list->n++] = *key;
	}
}

static int on_ring_event(void *ctx, void *data, size_t size)
{
	struct pc_events *ev = ctx;
	const struct pc_event *event = data;
	struct pc_ban ban = {};
	struct pc_ban_entry entry;

	if (size < sizeof(*event))
		return 0;
	ban.reason = event->reason;
	ban.created_ns = event->time_ns;
	ban.expires_ns = event->time_ns + event->duration_ns;
	ban.first_ns = event->first_ns;
	ban.ports = event->ports;
	ban.last_port = event->last_port;
	ban.last_proto = event->last_proto;
	/* The data path sends at most PC_EVENTS_PER_SEC of these: the lists stay small. */
	entry = address_entry(&event->source);
	if (event->type == PC_EVENT_BAN) {
		say_ban(ev, &entry, &ban);
		add_key(&ev->ring_banned, &event->source);
	} else {
		ban.expires_ns = event->time_ns;
		ban.created_ns = event->time_ns - event->duration_ns;
		say(ev, "expire", &entry, &ban);
		add_key(&ev->ring_gone, &event->source);
	}
	return 0;
}

/*
 * Compare the ban table with what was reported; report the difference. A
 * flood of bans is summed up in one line once the second's budget is spent.
 */
static int look(struct pc_events *ev, bool report)
{
	struct pc_ban_entry *now = NULL, *expired = NULL;
	size_t n_now = 0, n_expired = 0;
	__u64 stats[PC_SCAN_STATS] = {}, active, clock = pc_now_ns();
	bool evictions;
	char line[160];
	int err;

	/* Read first: an eviction counted now happened before the list below. */
	pc_bans_stats(ev->r.maps, stats, &active);
	evictions = stats[PC_STAT_EVICTED] != ev->evicted;
	ev->evicted = stats[PC_STAT_EVICTED];
	err = pc_bans_list(ev->r.maps, true, &now, &n_now, &expired, &n_expired);
	if (err)
		goto out;
	if (now)
		qsort(now, n_now, sizeof(*now), by_key);
	if (expired)
		qsort(expired, n_expired, sizeof(*expired), by_key);
	for (size_t i = 0; report && i < n_expired; i++)
		if (expired[i].prefix_len || !in_list(&ev->ring_gone, &expired[i].key))
			say(ev, "expire", &expired[i], &expired[i].ban);
	for (size_t i = 0; report && i < n_now; i++) {
		struct pc_ban_entry *old = find(ev->known, ev->n_known, &now[i]);

		if ((!old || old->ban.created_ns != now[i].ban.created_ns) &&
		    (now[i].prefix_len || !in_list(&ev->ring_banned, &now[i].key)))
			say_ban(ev, &now[i], &now[i].ban);
	}
	for (size_t i = 0; report && i < ev->n_known; i++) {
		const struct pc_ban_entry *gone = &ev->known[i];

		/* Still in force, or its expiry was told above or by the ring. */
		if (find(now, n_now, gone) || find(expired, n_expired, gone) ||
		    (!gone->prefix_len && in_list(&ev->ring_gone, &gone->key)))
			continue;
		if (gone->ban.expires_ns <= clock)
			say(ev, "expire", gone, &gone->ban);
		else if (evictions && gone->ban.reason == PC_BAN_SCAN)
			say(ev, "evict", gone, &gone->ban);
		else
			say(ev, "unban", gone, NULL);
	}
	free(ev->known);
	ev->known = now;
	ev->n_known = n_now;
	now = NULL;
	ev->ring_banned.n = 0;
	ev->ring_gone.n = 0;

	if (pc_bans_stats(ev->r.maps, stats, &active) == 0) {
		ev->held_back += stats[PC_STAT_EVENTS_SUPPRESSED] - ev->suppressed;
		ev->suppressed = stats[PC_STAT_EVENTS_SUPPRESSED];
	}
	if (report && ev->held_back) {
		snprintf(line, sizeof(line), "(%llu more ban events not shown: over %d a second; "
			 "'portcullis bans' lists them all)", ev->held_back, PC_EVENTS_PER_SEC);
		emit(ev, clock, line);
	}
	ev->held_back = 0;
	ev->budget = PC_EVENTS_PER_SEC;
	if (pc_rollout_news(ev->r.maps, &ev->rollout_seen, line, sizeof(line)) && report)
		ev->r.line(line, ev->r.ctx);
out:
	free(now);
	free(expired);
	return err;
}

int pc_ring_reader_open(struct pc_ring_reader *r, const struct pc_maps *maps, int map_fd,
			ring_buffer_sample_fn sample, void *owner, pc_event_line_fn line, void *ctx)
{
	r->maps = maps;
	r->line = line;
	r->ctx = ctx;
	r->last_look_ns = pc_now_ns();
	r->ring = ring_buffer__new(map_fd, sample, owner, NULL);
	return r->ring ? 0 : -errno;
}

int pc_ring_reader_poll(struct pc_ring_reader *r, int timeout_ms)
{
	int err = ring_buffer__poll(r->ring, timeout_ms);

	if (err < 0 && err != -EINTR)
		return err;
	if (pc_now_ns() - r->last_look_ns < 1000000000ULL)
		return 0;
	r->last_look_ns = pc_now_ns();
	return 1;
}

void pc_ring_reader_close(struct pc_ring_reader *r)
{
	ring_buffer__free(r->ring);
	r->ring = NULL;
}

struct pc_events *pc_events_open(const struct pc_maps *maps, pc_event_line_fn line, void *ctx)
{
	struct pc_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	if (pc_ring_reader_open(&ev->r, maps, maps->events, on_ring_event, ev, line, ctx) ||
	    look(ev, false)) {
		pc_events_close(ev);
		return NULL;
	}
	return ev;
}

int pc_events_poll(struct pc_events *ev, int timeout_ms)
{
	int err = pc_ring_reader_poll(&ev->r, timeout_ms);

	return err > 0 ? look(ev, true) : err;
}

void pc_events_close(struct pc_events *ev)
{
	if (!ev)
		return;
	pc_ring_reader_close(&ev->r);
	free(ev->known);
	free(ev->ring_banned.keys);
	free(ev->ring_gone.keys);
	free(ev);
}

static volatile sig_atomic_t stop_following;

static void on_stop(int sig)
{
	stop_following = 1;
}

static void print_line(const char *line, void *ctx)
{
	printf("%s\n", line);
	fflush(stdout);
}

int pc_follow(const char *ifname, const struct pc_follow_ring *ring)
{
	struct pc_maps maps;
	void *open;
	int err = 0;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	open = ring->open(&maps, print_line, NULL);
	if (!open) {
		pc_warn("%s: couldn't follow %s: %s", ifname, ring->name, pc_strerr(-errno));
		pc_maps_close(&maps);
		return PC_EXIT_FAILURE;
	}
	if (ring->opened)
		ring->opened(ifname, &maps);
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	while (!stop_following) {
		err = ring->poll(open, 250);
		if (err)
			break;
		if (!pc_is_attached(ifname)) {
			pc_warn("%s: detached; no more %s", ifname, ring->items);
			err = -ENOENT;
			break;
		}
	}
	ring->close(open);
	pc_maps_close(&maps);
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}
