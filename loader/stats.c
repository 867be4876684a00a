// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stats and status: what the filter is doing, for people and for scripts. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "conntrack.h"
#include "log.h"
#include "pins.h"
#include "rollout.h"
#include "events.h"
#include "../maps/snapshot.h"

static const char *mode_name(const struct pc_config *cfg)
{
	return cfg->flags & PC_CFG_MONITOR ? "monitor" : "enforce";
}

static const char *xdp_mode_name(__u32 mode)
{
	return mode == PC_XDP_NATIVE ? "native" : mode == PC_XDP_GENERIC ? "generic" : "unknown";
}

/* S as a JSON string on stdout; also for the other commands' JSON. */
void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/*
 * stats --top N: the N ports with the most drops, most first, into SNAP's
 * port list (its rows are reordered and the rest left out). Ports without a
 * drop are no top port.
 */
static int by_drops(const void *a, const void *b)
{
	const struct pc_port_row *x = a, *y = b;

	if (x->drop.packets != y->drop.packets)
		return x->drop.packets < y->drop.packets ? 1 : -1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* How many ports with drops were left out. */
static size_t keep_top(struct pc_snapshot *snap, unsigned int top)
{
	size_t with_drops = 0;

	qsort(snap->ports, snap->n_ports, sizeof(*snap->ports), by_drops);
	while (with_drops < snap->n_ports && snap->ports[with_drops].drop.packets)
		with_drops++;
	snap->n_ports = with_drops < top ? with_drops : top;
	return with_drops - snap->n_ports;
}

/* One line: with --watch, a stream of these is NDJSON. */
static void print_stats_json(const char *ifname, const struct pc_snapshot *snap)
{
	printf("{\"interface\": ");
	json_string(ifname);
	printf(", \"mode\": \"%s\", \"generation\": %u, ", mode_name(&snap->config),
	       snap->config.generation);
	printf("\"totals\": {\"pass_packets\": %llu, \"pass_bytes\": %llu, "
	       "\"drop_packets\": %llu, \"drop_bytes\": %llu}, ",
	       snap->pass_total.packets, snap->pass_total.bytes, snap->drop_total.packets,
	       snap->drop_total.bytes);
	printf("\"drops\": {");
	for (int reason = 0; reason < PC_DROP_REASONS; reason++)
		printf("%s\"%s\": %llu", reason ? ", " : "", pc_reason_name(reason),
		       snap->by_reason[reason].packets);
	printf("}, \"passes\": {");
	for (int reason = PC_DROP_REASONS; reason < PC_REASONS; reason++)
		printf("%s\"%s\": %llu", reason > PC_DROP_REASONS ? ", " : "",
		       pc_reason_name(reason), snap->by_reason[reason].packets);
	printf("}, \"bans\": {\"active\": %llu, \"total\": %llu, \"expired\": %llu, "
	       "\"promoted\": %llu, \"table_full\": %llu, \"evicted\": %llu, "
	       "\"events_suppressed\": %llu",
	       snap->bans_active, snap->scan[PC_STAT_BANS], snap->scan[PC_STAT_EXPIRED],
	       snap->scan[PC_STAT_PROMOTED], snap->scan[PC_STAT_BAN_TABLE_FULL],
	       snap->scan[PC_STAT_EVICTED], snap->scan[PC_STAT_EVENTS_SUPPRESSED]);
	printf("}, \"limits\": {\"untracked\": %llu", snap->scan[PC_STAT_RATE_UNTRACKED]);
	printf("}, \"ports\": [");
	for (size_t i = 0; i < snap->n_ports; i++) {
		const struct pc_port_row *row = &snap->ports[i];

		printf("%s{\"proto\": \"%s\", \"port\": %u, \"allowed\": %s, "
		       "\"pass_packets\": %llu, \"pass_bytes\": %llu, "
		       "\"drop_packets\": %llu, \"drop_bytes\": %llu}",
		       i ? ", " : "", pc_proto_name(row->proto), row->port,
		       row->allowed ? "true" : "false", row->pass.packets, row->pass.bytes,
		       row->drop.packets, row->drop.bytes);
	}
	printf("]}\n");
}

/* 1234567 -> "1.2M": compact columns that still line up. */
static const char *human(double value, char *buf, size_t len)
{
	static const char units[] = " kMGTPE";
	int unit = 0;

	while (value >= 1000 && unit < 6) {
		value /= 1000;
		unit++;
	}
	if (unit == 0)
		snprintf(buf, len, "%.0f", value);
	else
		snprintf(buf, len, "%.*f%c", value < 10 ? 2 : value < 100 ? 1 : 0, value, units[unit]);
	return buf;
}

/* A column of packets/bytes, or of rates when PREV and INTERVAL are given. */
static void print_counter(const struct pc_counter *now, const struct pc_counter *prev,
			  double interval)
{
	char a[32], b[32];

	if (prev && interval > 0)
		printf("  %9s/s %9sB/s", human((now->packets - prev->packets) / interval, a, 32),
		       human((now->bytes - prev->bytes) / interval, b, 32));
	else
		printf("  %11s %11s", human(now->packets, a, 32), human(now->bytes, b, 32));
}

static const struct pc_port_row *find_row(const struct pc_snapshot *snap,
					  const struct pc_port_row *row)
{
	for (size_t i = 0; snap && i < snap->n_ports; i++)
		if (snap->ports[i].proto == row->proto && snap->ports[i].port == row->port)
			return &snap->ports[i];
	return NULL;
}

static void print_stats_table(const char *ifname, const struct pc_snapshot *snap,
			      const struct pc_snapshot *prev, double interval, unsigned int top,
			      size_t left_out)
{
	const char *unit = prev ? "rate" : "total";

	printf("%s: mode %s, generation %u, %u ports open\n\n", ifname, mode_name(&snap->config),
	       snap->config.generation, snap->allowed_ports);
	printf("%-22s  %11s %11s\n", "verdict", prev ? "packets/s" : "packets",
	       prev ? "bytes/s" : "bytes");
	printf("  %-20s", "pass");
	print_counter(&snap->pass_total, prev ? &prev->pass_total : NULL, interval);
	printf("\n  %-20s", "drop");
	print_counter(&snap->drop_total, prev ? &prev->drop_total : NULL, interval);
	printf("\n\n%-22s  %11s %11s   (%s)\n",
	       snap->config.flags & PC_CFG_MONITOR ? "would drop (monitor)" : "drops by reason",
	       "packets", "bytes", unit);
	for (int reason = 0; reason < PC_DROP_REASONS; reason++) {
		printf("  %-20s", pc_reason_name(reason));
		print_counter(&snap->by_reason[reason], prev ? &prev->by_reason[reason] : NULL,
			      interval);
		printf("\n");
	}

	printf("\nbans: %llu in force, %llu made, %llu sources tracked as possible scanners\n",
	       snap->bans_active, snap->scan[PC_STAT_BANS], snap->scan[PC_STAT_PROMOTED]);
	if (snap->scan[PC_STAT_EVICTED])
		printf("warning: %llu scan bans were replaced by newer ones: more than %d scan "
		       "bans at once (a spoofed flood?)\n",
		       snap->scan[PC_STAT_EVICTED], PC_SCAN_BANS_MAX);
	if (snap->scan[PC_STAT_BAN_TABLE_FULL])
		printf("warning: %llu bans did not fit in the ban table (%d)\n",
		       snap->scan[PC_STAT_BAN_TABLE_FULL], PC_BANS_MAX);
	if (snap->scan[PC_STAT_RATE_UNTRACKED])
		printf("warning: %llu packets to rate-limited ports passed untracked: every "
		       "bucket they hashed to was busy limiting others (a flood?)\n",
		       snap->scan[PC_STAT_RATE_UNTRACKED]);

	if (top)
		printf("\ntop %u ports by drops (%s)", top, unit);
	printf("\n%-5s %5s %-7s  %11s %11s  %11s %11s\n", "proto", "port", "allowed", "pass pkts",
	       "pass bytes", "drop pkts", "drop bytes");
	for (size_t i = 0; i < snap->n_ports; i++) {
		const struct pc_port_row *row = &snap->ports[i];
		const struct pc_port_row *old = find_row(prev, row);
		struct pc_counter zero = {};

		printf("%-5s %5u %-7s", pc_proto_name(row->proto), row->port,
		       row->allowed ? "yes" : "no");
		print_counter(&row->pass, prev ? (old ? &old->pass : &zero) : NULL, interval);
		print_counter(&row->drop, prev ? (old ? &old->drop : &zero) : NULL, interval);
		printf("\n");
	}
	if (!snap->n_ports)
		printf(top ? "(no drops on any port yet)\n"
			   : "(no open ports and no per-port traffic yet)\n");
	if (left_out)
		printf("(%zu more ports with drops)\n", left_out);
	else if (!top && snap->n_ports > 50)
		printf("(%zu ports; --top 10 shows the 10 with the most drops)\n", snap->n_ports);
	if (snap->pass_overflow.packets)
		printf("(%llu packets passed on ports beyond the %d per-port counters)\n",
		       snap->pass_overflow.packets, PC_PASS_SLOTS - 1);
}

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	stop_watch = 1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int pc_cmd_stats(const char *ifname, bool json, double watch_seconds, unsigned int top)
{
	struct pc_snapshot snap, prev;
	bool have_prev = false;
	size_t left_out = 0;
	struct pc_maps maps;
	double then = 0;
	int err;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	err = pc_snapshot_read(&maps, &snap);
	if (err) {
		pc_warn("%s: couldn't read counters: %s", ifname, pc_strerr(err));
		pc_maps_close(&maps);
		return PC_EXIT_FAILURE;
	}
	if (top)
		left_out = keep_top(&snap, top);
	if (watch_seconds <= 0) {
		if (json)
			print_stats_json(ifname, &snap);
		else
			print_stats_table(ifname, &snap, NULL, 0, top, left_out);
		pc_snapshot_free(&snap);
		pc_maps_close(&maps);
		return PC_EXIT_OK;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (;;) {
		double now = now_seconds();

		if (json) {
			print_stats_json(ifname, &snap);
		} else {
			/* Clear the screen only on a terminal: piped output stays a log. */
			if (isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");
			print_stats_table(ifname, &snap, have_prev ? &prev : NULL, now - then, top,
					  left_out);
			printf("\nevery %gs, Ctrl-C to stop\n", watch_seconds);
		}
		fflush(stdout);
		if (have_prev)
			pc_snapshot_free(&prev);
		prev = snap;
		have_prev = true;
		then = now;
		usleep((useconds_t)(watch_seconds * 1e6));
		if (stop_watch)
			break;
		err = pc_snapshot_read(&maps, &snap);
		if (err) {
			pc_warn("%s: couldn't read counters: %s (detached?)", ifname,
				pc_strerr(err));
			break;
		}
		if (top)
			left_out = keep_top(&snap, top);
	}
	pc_snapshot_free(&prev);
	pc_maps_close(&maps);
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}

/*
 * Step 9's connection tracker: used by `established socket` when the kernel
 * had the bpf_xdp_ct_lookup kfunc and nf_conntrack was loaded at attach (the
 * program resolved the kfunc then). Without either, the program answers
 * from sockets only. WHY says which.
 */
static bool conntrack_offered(const struct pc_config *cfg, const struct pc_meta *meta,
			      const char **why)
{
	if (cfg->established != PC_ESTABLISHED_SOCKET) {
		*why = "not used: established is not socket";
		return false;
	}
	*why = pc_conntrack_text(meta->conntrack);
	return meta->conntrack == PC_CONNTRACK_YES;
}

struct iface_status {
	char ifname[IF_NAMESIZE];
	bool present;     /* the interface still exists */
	int link_state;   /* enum pc_link_state */
	__u32 prog_id;
	struct pc_config config;
	struct pc_meta meta;
	unsigned long long memory;
	bool conntrack;          /* step 9 may ask the connection tracker */
	const char *conntrack_why;
	struct pc_rollout rollout; /* a change awaiting confirmation, or rolled back */
};

static int read_status(const char *ifname, struct iface_status *st)
{
	__u32 zero = 0, active;
	struct pc_maps maps;

	memset(st, 0, sizeof(*st));
	snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
	st->present = if_nametoindex(ifname) != 0;
	if (pc_open_iface_recreated_ok(ifname, &maps))
		return -ENOENT;
	st->link_state = pc_link_state(ifname, &st->prog_id);
	pc_rollout_read(&maps, &st->rollout);
	/* Past an unconfirmed reload's deadline the other set is the one in force. */
	if (!pc_maps_active_set(&maps, &active))
		pc_maps_read_config(&maps, active ^ (st->rollout.expired && !st->rollout.after_attach),
				    &st->config);
	bpf_map_lookup_elem(maps.meta, &zero, &st->meta);
	st->memory = pc_maps_memory(&maps);
	pc_maps_close(&maps);
	st->conntrack = conntrack_offered(&st->config, &st->meta, &st->conntrack_why);
	return 0;
}

/* Safe rollout in status: "pending_confirm": seconds left or null. */
static void print_rollout_json(const struct pc_rollout *r)
{
	if (r->pending)
		printf(", \"pending_confirm\": %llu",
		       (unsigned long long)((r->left_ns + 999999999ULL) / 1000000000ULL));
	else
		printf(", \"pending_confirm\": null");
	printf(", \"rolled_back\": %s", r->expired || r->rolled_back ? "true" : "false");
}

static void print_rollout(const struct pc_rollout *r)
{
	char within[32];

	if (r->pending)
		printf("  rollout     pending confirmation (%llus left)\n",
		       (unsigned long long)((r->left_ns + 999999999ULL) / 1000000000ULL));
	else if (r->expired || r->rolled_back)
		printf("  rollout     rolled back: not confirmed within %s; the previous rules "
		       "are in force\n",
		       pc_format_duration(r->confirm_ns, 0, within, sizeof(within)));
}

/* An attach --confirm not confirmed: the program passes everything until tidied. */
static bool unfiltered(const struct iface_status *st)
{
	return st->rollout.expired && st->rollout.after_attach;
}

/* Is its traffic filtered? Not when it was recreated, or an attach --confirm
 * was not confirmed; a gone one has no traffic. */
static bool filtered(const struct iface_status *st)
{
	return st->link_state == PC_LINK_FILTERING && !unfiltered(st);
}

static void print_status(const struct iface_status *st, bool json, bool first)
{
	char when[64] = "";
	time_t at = st->meta.attached_at;

	if (json) {
		printf("%s\n  {\"interface\": ", first ? "" : ",");
		json_string(st->ifname);
		printf(", \"present\": %s, \"filtered\": %s, \"mode\": \"%s\", "
		       "\"xdp_mode\": \"%s\", \"program_id\": %u, \"config\": ",
		       st->present ? "true" : "false", filtered(st) ? "true" : "false",
		       mode_name(&st->config), xdp_mode_name(st->meta.xdp_mode), st->prog_id);
		json_string(st->meta.config_path);
		printf(", \"drift\": %s", st->config.flags & PC_CFG_MODIFIED ? "true" : "false");
		printf(", \"generation\": %u, \"reloads\": %u, \"reload_failures\": %u, "
		       "\"attached_at\": %llu, \"map_bytes\": %llu, \"conntrack\": %s, "
		       "\"conntrack_reason\": ",
		       st->config.generation, st->meta.reloads_ok, st->meta.reloads_failed,
		       (unsigned long long)st->meta.attached_at, st->memory,
		       st->conntrack ? "true" : "false");
		json_string(st->conntrack_why);
		print_rollout_json(&st->rollout);
		printf("}");
		return;
	}
	if (unfiltered(st)) {
		char within[32];

		printf("%s%s: not filtered: the attach was not confirmed within %s (rolled back; "
		       "'portcullis detach %s' clears what is left)\n",
		       first ? "" : "\n", st->ifname,
		       pc_format_duration(st->rollout.confirm_ns, 0, within, sizeof(within)),
		       st->ifname);
		return;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&at));
	if (st->link_state == PC_LINK_RECREATED)
		printf("%s%s: " PC_RECREATED_TEXT "\n  'portcullis attach %s' attaches it again "
		       "(its maps and bans are kept)\n",
		       first ? "" : "\n", st->ifname, st->ifname);
	else
		printf("%s%s: attached (%s XDP, program id %u) since %s\n", first ? "" : "\n",
		       st->ifname, xdp_mode_name(st->meta.xdp_mode), st->prog_id, when);
	if (!st->present)
		printf("  warning: the interface no longer exists\n");
	printf("  mode        %s\n", mode_name(&st->config));
	/* After a rollback the path recorded is the change's, not the rules'. */
	printf("  config      %s%s (generation %u, %u reloads, %u refused)\n",
	       st->meta.config_path[0] ? st->meta.config_path : "-",
	       st->rollout.expired || st->rollout.rolled_back ? " was rolled back; the rules before it"
							    : "",
	       st->config.generation, st->meta.reloads_ok, st->meta.reloads_failed);
	if (st->config.flags & PC_CFG_MODIFIED)
		printf("  rules       modified at runtime (allow/disallow since the last reload; "
		       "'portcullis rules %s' shows them)\n", st->ifname);
	printf("  map memory  %.1f MiB\n", st->memory / 1048576.0);
	printf("  conntrack   %s (%s)\n", st->conntrack ? "yes" : "no", st->conntrack_why);
	print_rollout(&st->rollout);
}

int pc_cmd_status(const char *ifname, bool json)
{
	struct iface_status st;
	struct dirent *entry;
	char root[4096];
	int shown = 0, ret = PC_EXIT_OK;
	DIR *dir;

	if (ifname) {
		if (read_status(ifname, &st))
			return PC_EXIT_FAILURE;
		if (json)
			printf("[");
		print_status(&st, json, true);
		if (json)
			printf("\n]\n");
		return st.link_state == PC_LINK_RECREATED || unfiltered(&st) ? PC_EXIT_FAILURE
									     : PC_EXIT_OK;
	}

	/* No pin root is "nothing attached"; one we may not read is not. */
	if (pc_pin_ns_root(root, sizeof(root)))
		return PC_EXIT_FAILURE;
	dir = opendir(root);
	if (!dir && errno != ENOENT) {
		int err = -errno;

		pc_warn("can't read the pin root %s: %s%s", root, pc_strerr(err),
			err == -EACCES ? " (run as root)" : "");
		return PC_EXIT_FAILURE;
	}
	if (json)
		printf("[");
	while (dir && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.' || !pc_is_attached(entry->d_name))
			continue;
		if (read_status(entry->d_name, &st))
			continue;
		print_status(&st, json, shown++ == 0);
		if (st.link_state == PC_LINK_RECREATED)
			ret = PC_EXIT_FAILURE;
	}
	if (dir)
		closedir(dir);
	if (json)
		printf("%s]\n", shown ? "\n" : "");
	else if (!shown)
		printf("no interfaces attached (pin root %s)\n", root);
	return ret;
}
