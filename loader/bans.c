// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ban, unban, bans, events: the scan blocker's commands. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "events.h"
#include "guard.h"
#include "log.h"
#include "pins.h"
#include "../maps/bans.h"

static int active_config(const struct pc_maps *maps, struct pc_config *cfg)
{
	__u32 set;
	int err = pc_maps_active_set(maps, &set);

	return err ? err : pc_maps_read_config(maps, set, cfg);
}

/* The address argument: one host, IPv4 or IPv6, no prefix length. */
static int parse_host(const char *cmd, const char *word, struct pc_prefix *addr)
{
	char why[256];

	if (pc_parse_prefix(word, addr, why, sizeof(why))) {
		pc_warn("%s: %s", cmd, why);
		return -EINVAL;
	}
	if (strchr(word, '/')) {
		pc_warn("%s: '%s': give an address, not a prefix (IPv6 sources are grouped by the "
			"scan-detect ipv6-prefix)", cmd, word);
		return -EINVAL;
	}
	return 0;
}

int pc_cmd_ban(const char *ifname, const char *address, const char *for_word, bool force)
{
	struct pc_prefix addr;
	struct pc_config cfg;
	struct pc_addr_key key;
	struct pc_maps maps;
	struct pc_ban ban = { .reason = PC_BAN_MANUAL };
	char why[256], text[64], dur[32];
	__u64 duration = 0, now;
	bool replaced;
	int lock_fd, err;

	if (parse_host("ban", address, &addr))
		return PC_EXIT_USAGE;
	if (for_word && pc_parse_duration(for_word, &duration, why, sizeof(why))) {
		pc_warn("ban: --for: %s", why);
		return PC_EXIT_USAGE;
	}
	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	lock_fd = pc_lock_iface(ifname);
	err = active_config(&maps, &cfg);
	if (err)
		goto out;
	if (pc_live_trusted(&maps, &addr)) {
		pc_warn("%s: %s is a trusted source ('allow from'): trusted sources are never "
			"banned", ifname, address);
		err = -EPERM;
		goto out;
	}
	if (!force && pc_guard_ban(ifname, &maps, &addr, cfg.scan_ipv6_prefix)) {
		err = -EPERM;
		goto out;
	}
	/* Whoever the config says a scan must never ban is worth a second thought. The SSH
	 * guard speaks first: cutting the session is the graver mistake. */
	if (!force && (pc_live_source_flags(&maps, &addr) & PC_SRC_F_EXEMPT)) {
		pc_warn("%s: refusing to ban %s: it is exempt from scan bans ('exempt from', a "
			"port's 'from' list, or a gateway or resolver under 'exempt auto')",
			ifname, address);
		pc_warn("check the address, or use --force to ban it all the same");
		err = -EPERM;
		goto out;
	}
	now = pc_now_ns();
	ban.created_ns = ban.first_ns = now;
	/* Without --for a manual ban lasts as long as a scan ban. */
	ban.expires_ns = now + (duration ? duration : cfg.ban_ns);
	pc_addr_key_make(&key, addr.family, addr.addr, cfg.scan_ipv6_prefix);
	err = pc_bans_add(&maps, &key, &ban, &replaced);
	if (!err && !replaced)
		pc_bans_count_manual(&maps);
	if (!err)
		pc_info("%s: banned %s for %s%s", ifname,
			pc_addr_key_format(&key, cfg.scan_ipv6_prefix, text, sizeof(text)),
			pc_format_duration(ban.expires_ns - now, 0, dur, sizeof(dur)),
			replaced ? " (replaces the ban it had)" : "");
	else
		pc_warn("%s: couldn't ban %s: %s%s", ifname, address, pc_strerr(err),
			err == -E2BIG ? "; the ban table is full" : "");
out:
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return err == -EPERM ? PC_EXIT_USAGE : err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}

int pc_cmd_unban(const char *ifname, const char *address)
{
	struct pc_prefix addr;
	struct pc_config cfg;
	struct pc_addr_key key;
	struct pc_maps maps;
	char text[64];
	int lock_fd, err;

	if (parse_host("unban", address, &addr))
		return PC_EXIT_USAGE;
	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	lock_fd = pc_lock_iface(ifname);
	err = active_config(&maps, &cfg);
	if (!err) {
		pc_addr_key_make(&key, addr.family, addr.addr, cfg.scan_ipv6_prefix);
		pc_addr_key_format(&key, cfg.scan_ipv6_prefix, text, sizeof(text));
		err = pc_bans_remove(&maps, &key);
	}
	if (err == -ENOENT)
		pc_warn("%s: %s is not banned", ifname, text);
	else if (err)
		pc_warn("%s: couldn't unban %s: %s", ifname, address, pc_strerr(err));
	else
		pc_info("%s: unbanned %s", ifname, text);
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}

int pc_cmd_bans(const char *ifname, bool json)
{
	struct pc_ban_entry *list = NULL;
	struct pc_config cfg;
	struct pc_maps maps;
	size_t n = 0;
	__u64 now;
	int err;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	err = active_config(&maps, &cfg);
	if (!err)
		err = pc_bans_list(&maps, true, &list, &n, NULL, NULL);
	if (err) {
		pc_warn("%s: couldn't read bans: %s", ifname, pc_strerr(err));
		pc_maps_close(&maps);
		return PC_EXIT_FAILURE;
	}
	now = pc_now_ns();
	if (!json && n)
		printf("%-40s %-7s %-11s %5s  %s\n", "ADDRESS", "REASON", "EXPIRES IN", "PORTS",
		       "LAST PROBE");
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct pc_ban *ban = &list[i].ban;
		char addr[64], left[32], last[32] = "-";
		const char *reason = ban->reason == PC_BAN_SCAN ? "scan" : "manual";
		/* A ban may expire between the listing and now: it has nothing left. */
		__u64 left_ns = ban->expires_ns > now ? ban->expires_ns - now : 0;

		pc_addr_key_format(&list[i].key, cfg.scan_ipv6_prefix, addr, sizeof(addr));
		if (json) {
			printf("%s\n  {\"address\": \"%s\", \"reason\": \"%s\", \"expires_in\": %llu, "
			       "\"ports\": %u}",
			       i ? "," : "", addr, reason, left_ns / 1000000000ULL,
			       ban->ports);
			continue;
		}
		if (ban->reason == PC_BAN_SCAN)
			snprintf(last, sizeof(last), "%s/%u", pc_proto_name(ban->last_proto),
				 ban->last_port);
		printf("%-40s %-7s %-11s %5u  %s\n", addr, reason,
		       pc_format_duration(left_ns, 0, left, sizeof(left)), ban->ports,
		       last);
	}
	if (json)
		printf("%s]\n", n ? "\n" : "");
	else if (!n)
		printf("%s: no bans\n", ifname);
	free(list);
	pc_maps_close(&maps);
	return PC_EXIT_OK;
}

static volatile sig_atomic_t stop_events;

static void on_stop(int sig)
{
	stop_events = 1;
}

static void print_line(const char *line, void *ctx)
{
	printf("%s\n", line);
	fflush(stdout);
}

int pc_cmd_events(const char *ifname)
{
	struct pc_events *events;
	struct pc_maps maps;
	int err = 0;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	events = pc_events_open(&maps, print_line, NULL);
	if (!events) {
		pc_warn("%s: couldn't follow events: %s", ifname, pc_strerr(-errno));
		pc_maps_close(&maps);
		return PC_EXIT_FAILURE;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	while (!stop_events) {
		err = pc_events_poll(events, 250);
		if (err)
			break;
		if (!pc_is_attached(ifname)) {
			pc_warn("%s: detached; no more events", ifname);
			err = -ENOENT;
			break;
		}
	}
	pc_events_close(events);
	pc_maps_close(&maps);
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}
