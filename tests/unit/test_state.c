// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The bans state file's lines (loader/state.c): a ban written and read back
 * is the same ban with the same time left, whatever the monotonic clock did
 * in between (a reboot); a hostile line is refused with a reason, never
 * crashes and never becomes a ban. One row per bad line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "testing.h"
#include "loader/state.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SEC	      1000000000ULL

/* Before: up for a day. After: rebooted, up for a minute, 1000 s later by the wall clock. */
static const struct pc_state_clock before = { .real_s = 1764500000, .mono_ns = 86400 * SEC };
static const struct pc_state_clock after = { .real_s = 1764501000, .mono_ns = 60 * SEC };

static struct pc_ban_entry v4_ban(const char *address, __u32 reason, __u64 expires_ns)
{
	struct pc_ban_entry entry = { .key.family = PC_SRC_FAMILY_V4 };

	inet_pton(AF_INET, address, entry.key.addr);
	entry.ban = (struct pc_ban){ .expires_ns = expires_ns,
				     .created_ns = before.mono_ns - 10 * SEC,
				     .first_ns = before.mono_ns - 10 * SEC - 3100000000ULL,
				     .reason = reason };
	return entry;
}

static void round_trip(const char *name, struct pc_ban_entry want, __u32 ipv6_prefix,
		       __u64 left_after_s)
{
	struct pc_ban_entry got;
	char line[PC_STATE_LINE_MAX + 1], why[160] = "";
	enum pc_state_line kind;

	test_begin("state: round trip: %s", name);
	pc_state_format(&want, ipv6_prefix, &before, line, sizeof(line));
	kind = pc_state_parse(line, ipv6_prefix, &after, &got, why, sizeof(why));
	if (!CHECK(kind == PC_STATE_BAN, "'%s' read back as %d (%s)", line, kind, why)) {
		test_end();
		return;
	}
	CHECK(memcmp(&got.key, &want.key, sizeof(got.key)) == 0, "'%s': another key", line);
	CHECK_INT(got.prefix_len, want.prefix_len);
	CHECK_INT(got.ban.reason, want.ban.reason);
	CHECK_INT(got.ban.ports, want.ban.ports);
	CHECK_INT(got.ban.last_port, want.ban.last_port);
	CHECK_INT(got.ban.last_proto, want.ban.last_proto);
	CHECK_INT(got.ban.repeat, want.ban.repeat);
	if (want.ban.expires_ns == PC_BAN_FOREVER)
		CHECK(got.ban.expires_ns == PC_BAN_FOREVER, "'%s': not forever any more", line);
	else
		CHECK(got.ban.expires_ns - after.mono_ns == left_after_s * SEC,
		      "'%s': %llu ns left, expected %llu s", line,
		      (unsigned long long)(got.ban.expires_ns - after.mono_ns),
		      (unsigned long long)left_after_s);
	CHECK(got.ban.created_ns - got.ban.first_ns == 3100 * 1000000ULL,
	      "'%s': the scan took %llu ns", line,
	      (unsigned long long)(got.ban.created_ns - got.ban.first_ns));
	test_end();
}

struct bad_line {
	const char *name;
	const char *line;
	const char *why; /* a piece of the reason */
};

static const struct bad_line bad_lines[] = {
	{ "too few words", "198.51.100.7 manual forever", "3 words, expected 8" },
	{ "too many words", "198.51.100.7 manual forever 0 0 - 0 0 extra", "more than 8 words" },
	{ "not an address", "300.1.2.3 manual forever 0 0 - 0 0", "not an address" },
	{ "an IPv4 prefix as a scan ban", "198.51.100.0/24 scan forever 0 0 - 0 0",
	  "not an address" },
	{ "an IPv4 prefix past 32", "198.51.100.0/33 manual forever 0 0 - 0 0", "not an address" },
	{ "an IPv6 prefix past 128", "2001:db8::/129 manual forever 0 0 - 0 0", "not an address" },
	{ "an unknown reason", "198.51.100.7 spite forever 0 0 - 0 0",
	  "scan, manual or crowdsec" },
	{ "a negative expiry", "198.51.100.7 manual -5 0 0 - 0 0", "seconds or forever" },
	{ "an expiry past 64-bit nanoseconds", "198.51.100.7 manual 99999999999999999999 0 0 - 0 0",
	  "seconds or forever" },
	{ "a creation time with junk", "198.51.100.7 manual forever 12x 0 - 0 0", "creation time" },
	{ "a port count too big", "198.51.100.7 scan forever 0 999999 - 0 0", "port count" },
	{ "a last port past 65535", "198.51.100.7 scan forever 0 20 tcp/65536 0 0", "PROTO/PORT" },
	{ "an unknown protocol", "198.51.100.7 scan forever 0 20 sctp/80 0 0", "PROTO/PORT" },
	{ "a repeat level past 31", "198.51.100.7 scan forever 0 20 tcp/80 32 0", "repeat level" },
	{ "a scan time of a year and more", "198.51.100.7 scan forever 0 20 tcp/80 0 99999999999",
	  "milliseconds" },
};

static void bad_line_case(const struct bad_line *c)
{
	struct pc_ban_entry entry;
	char why[160] = "";
	enum pc_state_line kind;

	test_begin("state: refused: %s", c->name);
	kind = pc_state_parse(c->line, 64, &after, &entry, why, sizeof(why));
	if (CHECK(kind == PC_STATE_BAD, "'%s' was taken (%d)", c->line, kind))
		CHECK(strstr(why, c->why), "'%s': reason '%s' lacks '%s'", c->line, why, c->why);
	test_end();
}

static void special_lines(void)
{
	struct pc_ban_entry entry;
	char why[160], line[600];

	test_begin("state: blank lines and comments are skipped");
	CHECK_INT(pc_state_parse("", 64, &after, &entry, why, sizeof(why)), PC_STATE_SKIP);
	CHECK_INT(pc_state_parse(" \t ", 64, &after, &entry, why, sizeof(why)), PC_STATE_SKIP);
	CHECK_INT(pc_state_parse("# ADDRESS REASON", 64, &after, &entry, why, sizeof(why)),
		  PC_STATE_SKIP);
	test_end();

	test_begin("state: a ban that ended while down is expired, not bad");
	snprintf(line, sizeof(line), "198.51.100.7 scan %llu 1764400000 20 tcp/80 0 0",
		 (unsigned long long)after.real_s);
	CHECK_INT(pc_state_parse(line, 64, &after, &entry, why, sizeof(why)), PC_STATE_EXPIRED);
	test_end();

	test_begin("state: a line over %d characters is refused", PC_STATE_LINE_MAX);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	CHECK_INT(pc_state_parse(line, 64, &after, &entry, why, sizeof(why)), PC_STATE_BAD);
	CHECK(strstr(why, "longer than"), "reason '%s'", why);
	test_end();

	test_begin("state: an IPv6 key is cut to the config's prefix");
	CHECK_INT(pc_state_parse("2001:db8:1:2:3::9/128 manual forever 0 0 - 0 0", 48, &after,
				 &entry, why, sizeof(why)),
		  PC_STATE_BAN);
	inet_ntop(AF_INET6, entry.key.addr, line, sizeof(line));
	CHECK_STR(line, "2001:db8:1::");
	test_end();

	test_begin("state: a created time before the boot is clamped, not wrapped");
	CHECK_INT(pc_state_parse("198.51.100.7 manual forever 1 0 - 0 0", 64, &after, &entry, why,
				 sizeof(why)),
		  PC_STATE_BAN);
	CHECK(entry.ban.created_ns <= after.mono_ns && entry.ban.first_ns &&
		      entry.ban.first_ns <= entry.ban.created_ns,
	      "created %llu first %llu", (unsigned long long)entry.ban.created_ns,
	      (unsigned long long)entry.ban.first_ns);
	test_end();
}

int main(void)
{
	struct pc_ban_entry manual = v4_ban("198.51.100.7", PC_BAN_MANUAL, PC_BAN_FOREVER);
	struct pc_ban_entry timed =
		v4_ban("198.51.100.8", PC_BAN_MANUAL, before.mono_ns + 400ULL * 86400 * SEC);
	struct pc_ban_entry scan = v4_ban("198.51.100.9", PC_BAN_SCAN, before.mono_ns + 3600 * SEC);
	struct pc_ban_entry v6 = scan;

	scan.ban.ports = 20;
	scan.ban.last_port = 8080;
	scan.ban.last_proto = PC_PROTO_UDP;
	scan.ban.repeat = 2;
	v6 = scan;
	v6.key = (struct pc_addr_key){ .family = PC_SRC_FAMILY_V6 };
	inet_pton(AF_INET6, "2001:db8:1:2::", v6.key.addr);

	round_trip("a manual ban for ever", manual, 64, 0);
	round_trip("a 400-day ban, 1000 s later", timed, 64, 400ULL * 86400 - 1000);
	round_trip("a scan ban with its details", scan, 64, 3600 - 1000);
	round_trip("an IPv6 /64 scan ban", v6, 64, 3600 - 1000);
	round_trip("an IPv6 /128 ban", v6, 128, 3600 - 1000);

	struct pc_ban_entry range = timed, range6 = timed;

	range.prefix_len = 24;
	inet_pton(AF_INET, "198.51.100.0", range.key.addr);
	range.ban.reason = PC_BAN_CROWDSEC;
	round_trip("a CrowdSec ban of an IPv4 /24", range, 64, 400ULL * 86400 - 1000);
	range6.key = (struct pc_addr_key){ .family = PC_SRC_FAMILY_V6 };
	range6.prefix_len = 48;
	inet_pton(AF_INET6, "2001:db8:7::", range6.key.addr);
	round_trip("a manual ban of an IPv6 /48", range6, 64, 400ULL * 86400 - 1000);
	range6.prefix_len = 0;
	round_trip("a manual IPv6 /64 ban is an address ban", range6, 64, 400ULL * 86400 - 1000);
	for (size_t i = 0; i < ARRAY_SIZE(bad_lines); i++)
		bad_line_case(&bad_lines[i]);
	special_lines();
	return test_failures ? 1 : 0;
}
