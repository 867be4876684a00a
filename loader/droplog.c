// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The drop log's reader: records from pc_drops become lines, and the data
 * path's count of suppressed drops becomes a "suppressed N drops" line once
 * a second when it grew. Kernel times are CLOCK_MONOTONIC; lines carry UTC
 * wall time to the millisecond.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "droplog.h"
#include "log.h"
#include "pins.h"
#include "../maps/bans.h"

#define NSEC_PER_SEC 1000000000ULL

struct pc_droplog {
	struct pc_ring_reader r;
	__u64 suppressed; /* the data path's count, last seen */
};

static __u64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

const char *pc_format_mono_time(__u64 mono_ns, char *buf, size_t len)
{
	__u64 now_mono = clock_ns(CLOCK_MONOTONIC), wall = clock_ns(CLOCK_REALTIME);
	struct tm tm;
	time_t secs;

	/* The wall clock of that moment: now, less the time since. */
	wall -= now_mono > mono_ns ? now_mono - mono_ns : 0;
	secs = wall / NSEC_PER_SEC;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(wall % NSEC_PER_SEC / 1000000));
	return buf;
}

const char *pc_format_tcp_flags(__u8 flags, char *buf, size_t len)
{
	static const struct {
		__u8 bit;
		char letter;
	} names[] = { { 0x02, 'S' }, { 0x01, 'F' }, { 0x04, 'R' },
		      { 0x08, 'P' }, { 0x10, 'A' }, { 0x20, 'U' } };
	size_t used = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && used + 1 < len; i++)
		if (flags & names[i].bit)
			buf[used++] = names[i].letter;
	if (len)
		buf[used < len ? used : len - 1] = '\0';
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

/* "tcp", "udp", "icmp", "ipv6-icmp", "gre", or the number. */
static const char *ip_proto_name(__u8 proto, char *buf, size_t len)
{
	struct protoent entry, *found = NULL;
	char scratch[1024];

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		return proto == IPPROTO_TCP ? "tcp" : "udp";
	if (getprotobynumber_r(proto, &entry, scratch, sizeof(scratch), &found) == 0 && found)
		snprintf(buf, len, "%s", found->p_name);
	else
		snprintf(buf, len, "proto-%u", proto);
	return buf;
}

/* "198.51.100.7:51234", "[2001:db8::7]:51234", or without ":PORT" when PORT is 0. */
static void endpoint(const struct pc_drop_record *rec, const __u8 *addr, __u16 port_be, bool ports,
		     char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	bool v6 = rec->family == PC_SRC_FAMILY_V6;

	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text, sizeof(text));
	if (!ports)
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", text, ntohs(port_be));
}

void pc_droplog_format(const struct pc_drop_record *rec, char *buf, size_t len)
{
	char when[40], proto[32], src[64], dst[64], flags[16];
	bool tcp = rec->l4_proto == IPPROTO_TCP,
	     ports = (tcp || rec->l4_proto == IPPROTO_UDP) && (rec->sport || rec->dport);
	int used;

	pc_format_mono_time(rec->time_ns, when, sizeof(when));
	used = snprintf(buf, len, "%s drop %s", when, pc_reason_name(rec->reason));
	if (rec->family) {
		endpoint(rec, rec->saddr, rec->sport, ports, src, sizeof(src));
		endpoint(rec, rec->daddr, rec->dport, ports, dst, sizeof(dst));
		used += snprintf(buf + used, len - used, " %s %s -> %s",
				 rec->l4_proto ? ip_proto_name(rec->l4_proto, proto, sizeof(proto))
					       : "ip",
				 src, dst);
	}
	if (tcp && ports && (size_t)used < len)
		used += snprintf(buf + used, len - used, " flags %s",
				 pc_format_tcp_flags(rec->tcp_flags, flags, sizeof(flags)));
	if ((size_t)used < len)
		used += snprintf(buf + used, len - used, " len %u", rec->len);
	if (rec->monitor && (size_t)used < len)
		snprintf(buf + used, len - used, " (monitor: passed)");
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct pc_droplog *log = ctx;
	char line[256];

	if (size < sizeof(struct pc_drop_record))
		return 0;
	pc_droplog_format(data, line, sizeof(line));
	log->r.line(line, log->r.ctx);
	return 0;
}

static int read_suppressed(const struct pc_maps *maps, __u64 *total)
{
	__u32 key = PC_DROP_STAT_SUPPRESSED;
	__u64 *values = calloc(maps->ncpus, sizeof(*values));
	int err = values ? 0 : -ENOMEM;

	if (!err && bpf_map_lookup_elem(maps->drop_stats, &key, values))
		err = -errno;
	*total = 0;
	for (int cpu = 0; !err && cpu < maps->ncpus; cpu++)
		*total += values[cpu];
	free(values);
	return err;
}

/* The rate now in force, for the "suppressed" line. */
static __u32 current_rate(const struct pc_maps *maps)
{
	struct pc_config cfg = {};
	__u32 set;

	if (pc_maps_active_set(maps, &set) == 0)
		pc_maps_read_config(maps, set, &cfg);
	return cfg.log_drops_rate;
}

/* Once a second: the drops that got no record since the last look. */
static void look(struct pc_droplog *log)
{
	char when[40], line[160];
	__u64 total;

	if (read_suppressed(log->r.maps, &total) || total == log->suppressed)
		return;
	snprintf(line, sizeof(line), "%s suppressed %llu drops (rate limit %u/s)",
		 pc_format_mono_time(clock_ns(CLOCK_MONOTONIC), when, sizeof(when)),
		 (unsigned long long)(total - log->suppressed), current_rate(log->r.maps));
	log->suppressed = total;
	log->r.line(line, log->r.ctx);
}

struct pc_droplog *pc_droplog_open(const struct pc_maps *maps, pc_event_line_fn line, void *ctx)
{
	struct pc_droplog *log = calloc(1, sizeof(*log));

	if (!log)
		return NULL;
	if (pc_ring_reader_open(&log->r, maps, maps->drops, on_record, log, line, ctx) ||
	    read_suppressed(maps, &log->suppressed)) {
		pc_droplog_close(log);
		return NULL;
	}
	return log;
}

int pc_droplog_poll(struct pc_droplog *log, int timeout_ms)
{
	int err = pc_ring_reader_poll(&log->r, timeout_ms);

	if (err > 0)
		look(log);
	return err < 0 ? err : 0;
}

void pc_droplog_close(struct pc_droplog *log)
{
	if (!log)
		return;
	pc_ring_reader_close(&log->r);
	free(log);
}

static void syslog_line(const char *line, void *ctx)
{
	pc_info("%s: %s", (const char *)ctx, line);
	syslog(LOG_INFO, "%s: %s", (const char *)ctx, line);
}

struct pc_droplog *pc_droplog_syslog(const struct pc_maps *maps, const char *ifname)
{
	struct pc_droplog *log = pc_droplog_open(maps, syslog_line, (void *)ifname);

	if (!log)
		pc_warn("%s: can't follow the drop log; drops are not logged", ifname);
	return log;
}

static void *open_log(const struct pc_maps *maps, pc_event_line_fn line, void *ctx)
{
	return pc_droplog_open(maps, line, ctx);
}

static int poll_log(void *log, int timeout_ms)
{
	return pc_droplog_poll(log, timeout_ms);
}

static void close_log(void *log)
{
	pc_droplog_close(log);
}

static void say_if_off(const char *ifname, const struct pc_maps *maps)
{
	if (!current_rate(maps))
		pc_warn("%s: the drop log is off ('log drops RATE' in the config, then reload); "
			"waiting",
			ifname);
}

int pc_cmd_log(const char *ifname)
{
	static const struct pc_follow_ring ring = {
		.name = "the drop log",
		.items = "drops",
		.open = open_log,
		.poll = poll_log,
		.close = close_log,
		.opened = say_if_off,
	};

	return pc_follow(ifname, &ring);
}
