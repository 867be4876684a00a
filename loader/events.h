/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Following bans as they happen: the data path's ring buffer (scan bans and
 * expiries it noticed) plus a once-a-second look at the ban table (bans and
 * unbans made by hand, expiries nobody noticed). Each change becomes one
 * line, e.g.
 *   ban 198.51.100.7 scan: 20 ports in 3.1s, last tcp/3306, for 10m
 * Used by "events" and by "run".
 */
#ifndef PORTCULLIS_EVENTS_H
#define PORTCULLIS_EVENTS_H

#include <bpf/libbpf.h>

#include "../maps/pcmaps.h"

struct pc_events;

/* LINE is called once per event, without a trailing newline. */
typedef void (*pc_event_line_fn)(const char *line, void *ctx);

/*
 * What the events and drop-log readers share: a libbpf ring over one of the
 * data path's ring buffers, where lines go, and a once-a-second look at the
 * maps for what the ring cannot tell.
 */
struct pc_ring_reader {
	const struct pc_maps *maps;
	struct ring_buffer *ring;
	pc_event_line_fn line;
	void *ctx;
	__u64 last_look_ns;
};

/* Open a ring over MAP_FD whose records go to SAMPLE(OWNER, ...); 0 or -errno. */
int pc_ring_reader_open(struct pc_ring_reader *r, const struct pc_maps *maps, int map_fd,
			ring_buffer_sample_fn sample, void *owner, pc_event_line_fn line, void *ctx);
/* Wait up to TIMEOUT_MS for records: 1 when a second has passed since the
 * last look (the caller looks now), 0 if not, <0 on error. */
int pc_ring_reader_poll(struct pc_ring_reader *r, int timeout_ms);
void pc_ring_reader_close(struct pc_ring_reader *r);

struct pc_events *pc_events_open(const struct pc_maps *maps, pc_event_line_fn line, void *ctx);
/* Wait up to TIMEOUT_MS for events; returns <0 on error (e.g. detached). */
int pc_events_poll(struct pc_events *events, int timeout_ms);
void pc_events_close(struct pc_events *events);

/* A ring a follow command prints ('events', 'log'), and what its messages call it. */
struct pc_follow_ring {
	const char *name;  /* "events", "the drop log" */
	const char *items; /* "events", "drops" */
	void *(*open)(const struct pc_maps *maps, pc_event_line_fn line, void *ctx);
	int (*poll)(void *ring, int timeout_ms);
	void (*close)(void *ring);
	/* Optional: a word about the interface once the ring is open. */
	void (*opened)(const char *ifname, const struct pc_maps *maps);
};

/* Print RING's lines on stdout until SIGINT/SIGTERM or until IFNAME is
 * detached; returns an exit status. */
int pc_follow(const char *ifname, const struct pc_follow_ring *ring);

/* The two largest units: "12d4h", "10m", "1h30m", "45s"; "3.1s" for sub-minute values
 * with FRACTION. */
const char *pc_format_duration(__u64 ns, int fraction, char *buf, size_t len);

#endif /* PORTCULLIS_EVENTS_H */
