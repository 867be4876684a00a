// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ban, unban, bans, events: the scan blocker's commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "config.h"
#include "events.h"
#include "guard.h"
#include "log.h"
#include "pins.h"
#include "../maps/bans.h"
#include "../maps/sources.h"

static int active_config(const struct pc_maps *maps, struct pc_config *cfg)
{
	__u32 set;
	int err = pc_maps_active_set(maps, &set);

	return err ? err : pc_maps_read_config(maps, set, cfg);
}

/* The address argument: a host or a prefix, IPv4 or IPv6. */
static int parse_target(const char *word, struct pc_prefix *addr, char *why, size_t why_len)
{
	return pc_parse_prefix(word, addr, why, why_len) ? -EINVAL : 0;
}

static const char *reason_name(__u32 reason)
{
	return reason == PC_BAN_SCAN ? "scan" : reason == PC_BAN_CROWDSEC ? "crowdsec" : "manual";
}

/* The live rule set's source trie, or -1: bans check against it (see bannable). */
static int live_sources(const struct pc_maps *maps)
{
	__u32 set;

	return pc_maps_active_set(maps, &set) ? -1 : pc_sources_open(maps, set);
}

/* ADDR's PC_SRC_F_* flags in TRIE (a whole address), 0 if in no list. */
static __u32 live_flags(int trie, const struct pc_prefix *addr)
{
	struct pc_source_key key;
	__u32 value = 0;

	if (trie < 0)
		return 0;
	pc_source_key_make(&key, PC_SRC_SOURCE, 0, addr->family, addr->addr,
			   addr->family == AF_INET ? 32 : 128);
	return bpf_map_lookup_elem(trie, &key, &value) ? 0 : value;
}

/*
 * May ADDRESS (ADDR) be banned by hand on the live rules (TRIE, from
 * live_sources)? The SSH guard first, then trusted and exempt sources
 * (prefix bans are not asked about those: trusted sources pass at step 3
 * before any ban, and a prefix is banned on purpose whole). 0, or -EPERM
 * after saying why.
 */
static int bannable(const char *ifname, const struct pc_maps *maps, const struct pc_config *cfg,
		    int trie, const char *address, const struct pc_prefix *addr, bool force)
{
	bool prefix = pc_ban_is_prefix(addr->family == AF_INET ? PC_SRC_FAMILY_V4
							   : PC_SRC_FAMILY_V6,
				       addr->len, cfg->scan_ipv6_prefix);
	__u32 flags = prefix ? 0 : live_flags(trie, addr);

	if ((flags & PC_SRC_F_TRUST) && !(flags & PC_SRC_F_DENY)) {
		pc_warn("%s: %s is a trusted source ('allow from'): trusted sources are never "
			"banned", ifname, address);
		return -EPERM;
	}
	if (!force && pc_guard_ban(ifname, maps, addr, cfg->scan_ipv6_prefix))
		return -EPERM;
	/* Whoever the config says a scan must never ban is worth a second thought. The SSH
	 * guard speaks first: cutting the session is the graver mistake. */
	if (!force && (flags & PC_SRC_F_EXEMPT)) {
		pc_warn("%s: refusing to ban %s: it is exempt from scan bans ('exempt from', a "
			"port's 'from' list, or a gateway or resolver under 'exempt auto')",
			ifname, address);
		pc_warn("check the address, or use --force to ban it all the same");
		return -EPERM;
	}
	return 0;
}

static void entry_for(struct pc_ban_entry *entry, const struct pc_prefix *addr,
		      const struct pc_config *cfg, __u64 duration, __u32 reason, __u64 now)
{
	pc_ban_entry_make(entry, addr->family, addr->addr, addr->len, cfg->scan_ipv6_prefix);
	entry->ban.reason = reason;
	entry->ban.created_ns = entry->ban.first_ns = now;
	/* Without a duration a manual ban lasts as long as a scan ban. */
	entry->ban.expires_ns = now + (duration ? duration : cfg->ban_ns);
}

static int ban_stdin(const char *ifname, const struct pc_maps *maps, const struct pc_config *cfg,
		     __u64 duration, bool force);

int pc_cmd_ban(const char *ifname, const char *address, const char *for_word, bool force)
{
	struct pc_ban_entry entry;
	struct pc_prefix addr;
	struct pc_config cfg;
	struct pc_maps maps;
	char why[256], text[64], dur[32];
	bool bulk = strcmp(address, "-") == 0, replaced;
	__u64 duration = 0, now;
	int lock_fd, err, trie;

	if (!bulk && parse_target(address, &addr, why, sizeof(why))) {
		pc_warn("ban: %s", why);
		return PC_EXIT_USAGE;
	}
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
	if (bulk) {
		err = ban_stdin(ifname, &maps, &cfg, duration, force);
		goto out;
	}
	trie = live_sources(&maps);
	err = bannable(ifname, &maps, &cfg, trie, address, &addr, force);
	if (trie >= 0)
		close(trie);
	if (err)
		goto out;
	now = pc_now_ns();
	entry_for(&entry, &addr, &cfg, duration, PC_BAN_MANUAL, now);
	err = pc_ban_entry_add(&maps, &entry, &replaced);
	if (!err && !replaced)
		pc_bans_count_made(&maps, PC_BAN_MANUAL, 1);
	if (!err)
		pc_info("%s: banned %s for %s%s", ifname,
			pc_ban_entry_format(&entry, cfg.scan_ipv6_prefix, text, sizeof(text)),
			pc_format_duration(entry.ban.expires_ns - now, 0, dur, sizeof(dur)),
			replaced ? " (replaces the ban it had)" : "");
	else
		pc_warn("%s: couldn't ban %s: %s%s", ifname, address, pc_strerr(err),
			err == -E2BIG ? "; the ban table is full" : "");
out:
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return err == -EPERM || err == -EINVAL ? PC_EXIT_USAGE
	       : err			       ? PC_EXIT_FAILURE
					       : PC_EXIT_OK;
}

/* Errors shown of a bad stdin before the rest are only counted. */
#define BULK_ERRORS_SHOWN 10

/*
 * One line of 'ban IFACE -': ADDRESS|PREFIX [DURATION], # comments. 1 for a
 * ban in *ENTRY, 0 for a blank line, -EINVAL with WHY.
 */
static int bulk_line(char *line, const struct pc_config *cfg, __u64 duration, __u64 now,
		     struct pc_ban_entry *entry, struct pc_prefix *addr, char *word, size_t word_len,
		     char *why, size_t why_len)
{
	char *words[3], *save = NULL, *hash = strchr(line, '#');
	int n = 0;

	if (hash)
		*hash = '\0';
	for (char *w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save))
		words[n < 3 ? n++ : 2] = w;
	if (n == 0)
		return 0;
	if (n > 2) {
		snprintf(why, why_len, "expected ADDRESS|PREFIX [DURATION], got more words");
		return -EINVAL;
	}
	snprintf(word, word_len, "%s", words[0]);
	if (parse_target(words[0], addr, why, why_len))
		return -EINVAL;
	if (n == 2 && pc_parse_duration(words[1], &duration, why, why_len))
		return -EINVAL;
	entry_for(entry, addr, cfg, duration, PC_BAN_MANUAL, now);
	return 1;
}

/*
 * The lines of 'ban IFACE -' and 'unban IFACE -' into *ENTRIES. Every line
 * is checked before any is applied, so a bad line (shown with its number)
 * leaves the bans as they were, as a bad config does. CHECK (may be NULL)
 * refuses a ban on the live rules.
 */
static int read_stdin(const char *ifname, const struct pc_maps *maps, const struct pc_config *cfg,
		      __u64 duration, bool check, bool force, struct pc_ban_entry **entries,
		      size_t *n)
{
	struct pc_ban_entry *grown;
	size_t cap = 0, bad = 0, len = 0;
	char *line = NULL, why[256], word[64];
	struct pc_prefix addr;
	__u64 now = pc_now_ns();
	int lineno = 0, got, err = 0, trie = check ? live_sources(maps) : -1;

	*entries = NULL;
	*n = 0;
	while (getline(&line, &len, stdin) >= 0) {
		lineno++;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			grown = realloc(*entries, cap * sizeof(**entries));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			*entries = grown;
		}
		got = bulk_line(line, cfg, duration, now, &(*entries)[*n], &addr, word,
				sizeof(word), why, sizeof(why));
		if (got == 1 && check && bannable(ifname, maps, cfg, trie, word, &addr, force)) {
			snprintf(why, sizeof(why), "%s: this ban is refused (see above)", word);
			got = -EINVAL;
		}
		if (got < 0 && bad++ < BULK_ERRORS_SHOWN)
			pc_warn("%s: stdin:%d: %s", check ? "ban" : "unban", lineno, why);
		*n += got == 1;
	}
	free(line);
	if (trie >= 0)
		close(trie);
	if (!err && bad) {
		if (bad > BULK_ERRORS_SHOWN)
			pc_warn("%s: stdin: %zu more bad lines", ifname, bad - BULK_ERRORS_SHOWN);
		pc_warn("%s: %zu of %d lines are bad; nothing changed", ifname, bad, lineno);
		err = -EINVAL;
	}
	return err;
}

/* 'ban IFACE -': the checked lines go in with one mapping of the gate counts. */
static int ban_stdin(const char *ifname, const struct pc_maps *maps, const struct pc_config *cfg,
		     __u64 duration, bool force)
{
	struct pc_ban_entry *entries;
	size_t n, added, failed;
	int err = read_stdin(ifname, maps, cfg, duration, true, force, &entries, &n);

	if (!err) {
		err = pc_bans_add_many(maps, entries, n, &added, &failed);
		pc_bans_count_made(maps, PC_BAN_MANUAL, added);
		if (err)
			pc_warn("%s: %zu of %zu bans not applied: %s%s", ifname, failed, n,
				pc_strerr(err), err == -E2BIG ? "; the ban table is full" : "");
		pc_info("%s: banned %zu sources (%zu new)", ifname, n - failed, added);
	}
	free(entries);
	return err;
}

/* 'unban IFACE -': durations on the lines are allowed and ignored. */
static int unban_stdin(const char *ifname, const struct pc_maps *maps, const struct pc_config *cfg)
{
	struct pc_ban_entry *entries;
	size_t n, removed;
	int err = read_stdin(ifname, maps, cfg, 0, false, false, &entries, &n);

	if (!err)
		err = pc_bans_remove_many(maps, entries, n, &removed);
	if (!err)
		pc_info("%s: unbanned %zu of %zu (the rest were not banned)", ifname, removed, n);
	free(entries);
	return err;
}

int pc_cmd_unban(const char *ifname, const char *address)
{
	struct pc_ban_entry entry;
	struct pc_prefix addr;
	struct pc_config cfg;
	struct pc_maps maps;
	char why[256], text[64] = "";
	int lock_fd, err;

	bool bulk = strcmp(address, "-") == 0;

	if (!bulk && parse_target(address, &addr, why, sizeof(why))) {
		pc_warn("unban: %s", why);
		return PC_EXIT_USAGE;
	}
	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	lock_fd = pc_lock_iface(ifname);
	err = active_config(&maps, &cfg);
	if (!err && bulk) {
		err = unban_stdin(ifname, &maps, &cfg);
		goto out;
	}
	if (!err) {
		pc_ban_entry_make(&entry, addr.family, addr.addr, addr.len, cfg.scan_ipv6_prefix);
		pc_ban_entry_format(&entry, cfg.scan_ipv6_prefix, text, sizeof(text));
		err = pc_ban_entry_remove(&maps, &entry);
	}
	if (err == -ENOENT)
		pc_warn("%s: %s is not banned", ifname, text);
	else if (err)
		pc_warn("%s: couldn't unban %s: %s", ifname, address, pc_strerr(err));
	else
		pc_info("%s: unbanned %s", ifname, text);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return err == -EINVAL ? PC_EXIT_USAGE : err ? PC_EXIT_FAILURE : PC_EXIT_OK;
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
		printf("%-40s %-8s %-11s %5s  %s\n", "ADDRESS", "REASON", "EXPIRES IN", "PORTS",
		       "LAST PROBE");
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct pc_ban *ban = &list[i].ban;
		char addr[64], cidr[64], left[32], last[32] = "-";
		const char *reason = reason_name(ban->reason);
		/* A ban may expire between the listing and now: it has nothing left. */
		__u64 left_ns = ban->expires_ns > now ? ban->expires_ns - now : 0;

		pc_ban_entry_format(&list[i], cfg.scan_ipv6_prefix, addr, sizeof(addr));
		if (json) {
			pc_ban_entry_cidr(&list[i], cfg.scan_ipv6_prefix, cidr, sizeof(cidr));
			printf("%s\n  {\"address\": \"%s\", \"prefix\": \"%s\", \"reason\": \"%s\", "
			       "\"expires_in\": %llu, \"ports\": %u}",
			       i ? "," : "", addr, cidr, reason, left_ns / 1000000000ULL,
			       ban->ports);
			continue;
		}
		if (ban->reason == PC_BAN_SCAN)
			snprintf(last, sizeof(last), "%s/%u", pc_proto_name(ban->last_proto),
				 ban->last_port);
		printf("%-40s %-8s %-11s %5u  %s\n", addr, reason,
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

static void *open_events(const struct pc_maps *maps, pc_event_line_fn line, void *ctx)
{
	return pc_events_open(maps, line, ctx);
}

static int poll_events(void *events, int timeout_ms)
{
	return pc_events_poll(events, timeout_ms);
}

static void close_events(void *events)
{
	pc_events_close(events);
}

int pc_cmd_events(const char *ifname)
{
	static const struct pc_follow_ring ring = {
		.name = "events",
		.items = "events",
		.open = open_events,
		.poll = poll_events,
		.close = close_events,
	};

	return pc_follow(ifname, &ring);
}
