/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Bans that outlive the maps: STATE_DIR/IFACE.bans (STATE_DIR/netns-NAME/
 * IFACE.bans in a named network namespace other than the initial one),
 * written by detach and run, read back by attach.
 *
 * The file is text, one ban per line after a version line:
 *
 *   portcullis-bans 1
 *   # ADDRESS REASON EXPIRES CREATED PORTS LAST REPEAT SCAN_MS
 *   198.51.100.7 manual forever 1764500000 0 - 0 0
 *   2001:db8:1:2::/64 scan 1764503600 1764500000 20 tcp/8080 1 3100
 *
 *   198.18.9.0/24 crowdsec 1764501800 1764500000 0 - 0 0
 *
 * ADDRESS is a ban key: an IPv4 address or an IPv6 prefix (a scan ban's is
 * re-cut to the config's scan-detect ipv6-prefix on restore), or the prefix
 * of a prefix ban (manual and crowdsec bans go back to the table
 * pc_ban_is_prefix() says). REASON is scan, manual or crowdsec. EXPIRES and CREATED are
 * CLOCK_REALTIME seconds, so the time left survives a reboot (the data
 * path's monotonic clock starts again at 0); EXPIRES may be "forever". PORTS,
 * LAST (PROTO/PORT or -), REPEAT and SCAN_MS (first probe to ban) are what
 * 'bans' shows of a scan ban. Blank lines and lines starting with # are
 * skipped. A bad line is skipped with a warning naming the file and line; a
 * file without the version line is not ours and is ignored whole.
 */
#ifndef PORTCULLIS_STATE_H
#define PORTCULLIS_STATE_H

#include <stddef.h>

#include "../maps/bans.h"

#define PC_STATE_DIR_DEFAULT  "/var/lib/portcullis"
#define PC_STATE_VERSION_LINE "portcullis-bans 1"
/* Longest line read; a longer one is skipped. */
#define PC_STATE_LINE_MAX 256

/* --state-dir, else $PORTCULLIS_STATE_DIR, else the default. */
extern const char *pc_state_dir;

/* The clocks a line is read and written against. */
struct pc_state_clock {
	__u64 real_s;  /* CLOCK_REALTIME, seconds */
	__u64 mono_ns; /* CLOCK_MONOTONIC, as the data path's times */
};

void pc_state_clock_now(struct pc_state_clock *clock);

/* One ban as a line (without the newline). Returns the length, as snprintf. */
int pc_state_format(const struct pc_ban_entry *entry, __u32 ipv6_prefix,
		    const struct pc_state_clock *clock, char *buf, size_t len);

enum pc_state_line {
	PC_STATE_BAN,	  /* *ENTRY holds a ban in force */
	PC_STATE_SKIP,	  /* blank or comment */
	PC_STATE_EXPIRED, /* a good line whose ban is over */
	PC_STATE_BAD,	  /* WHY says what is wrong */
};

/* Parse one line (no newline). Pure: no clock, no files. */
enum pc_state_line pc_state_parse(const char *line, __u32 ipv6_prefix,
				  const struct pc_state_clock *clock, struct pc_ban_entry *entry,
				  char *why, size_t why_len);

/*
 * IFACE's state file. -ENOENT in a network namespace with no name under
 * /run/netns: its bans are kept only while it lives.
 */
int pc_state_path(const char *ifname, char *buf, size_t len);

/*
 * Save the bans in force in MAPS, atomically (a temporary file, fsync,
 * rename). Prints why it could not; returns 0 or a negative errno.
 */
int pc_state_save(const char *ifname, const struct pc_maps *maps);

/*
 * Restore the saved bans into the maps of an attachment whose program is
 * not attached yet (attach calls it before the link is made, so restored
 * scan bans can take ring slots without racing the data path). A missing
 * file is no error; a bad one is reported and ignored. Never fails.
 */
void pc_state_restore(const char *ifname, const struct pc_maps *maps);

#endif /* PORTCULLIS_STATE_H */
