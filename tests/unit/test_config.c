// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Config parser tests: one row per case, the exact message of every error
 * (FILE:LINE included) and the exact parsed values of every success.
 *
 * Fixtures live in $TESTS_DIR/configs (default "tests/configs", from the
 * repository root). In expected strings "{T}" stands for $TESTS_DIR and
 * "{A}" for its absolute path and "{TMP}" for a scratch directory the test
 * creates and removes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testing.h"
#include "loader/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SEC	      1000000000ULL

static const char *tests_dir = "tests";
static char tests_dir_abs[4096]; /* realpath of tests_dir, for absolute @FILE paths */
static char tmp_dir[] = "/tmp/portcullis-test-config.XXXXXX";

/* TEMPLATE with {T} and {TMP} replaced, in a static buffer (one at a time per slot). */
static const char *expand(const char *template, int slot)
{
	static char bufs[2][8192];
	char *out = bufs[slot], *end = out + sizeof(bufs[slot]) - 1;

	if (!template)
		return NULL;
	while (*template && out < end) {
		const char *with = NULL;
		size_t skip = 0;

		if (strncmp(template, "{TMP}", 5) == 0) {
			with = tmp_dir;
			skip = 5;
		} else if (strncmp(template, "{T}", 3) == 0) {
			with = tests_dir;
			skip = 3;
		} else if (strncmp(template, "{A}", 3) == 0) {
			with = tests_dir_abs;
			skip = 3;
		}
		if (with) {
			out += snprintf(out, end - out, "%s", with);
			if (out > end)
				out = end;
			template += skip;
		} else {
			*out++ = *template ++;
		}
	}
	*out = '\0';
	return bufs[slot];
}

/* Prefix as "ADDR/LEN", formatted here rather than by the code under test. */
static void describe_prefix(const struct pc_prefix *prefix, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	bool junk = false;

	if (prefix->family == AF_INET)
		for (int i = 4; i < 16; i++)
			junk |= prefix->addr[i] != 0;
	if (prefix->family == AF_INET || prefix->family == AF_INET6)
		inet_ntop(prefix->family, prefix->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u%s", addr, prefix->len, junk ? "!junk" : "");
}

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void describe_list(const struct pc_prefix_list *list, char *buf, size_t len)
{
	char prefix[64];

	append(buf, len, "<");
	for (size_t i = 0; i < list->count; i++) {
		describe_prefix(&list->items[i], prefix, sizeof(prefix));
		append(buf, len, "%s%s", i ? "," : "", prefix);
	}
	append(buf, len, ">");
}

/*
 * A ruleset as text: the settings that differ from the contract's defaults
 * (which are written out here, not taken from pc_ruleset_init), then every
 * allow entry, the trusted and the denied sources. "" is the default ruleset.
 */
static const char *describe(const struct pc_ruleset *rs, bool with_lines)
{
	static const char *const established[] = {"socket", "ephemeral", "off"};
	static char buf[8192];

	buf[0] = '\0';
	if (rs->mode != PC_MODE_ENFORCE)
		append(buf, sizeof(buf), " mode=%s", rs->mode == PC_MODE_MONITOR ? "monitor" : "?");
	if (rs->scan_flags_pass)
		append(buf, sizeof(buf), " scan-flags=pass");
	if (!rs->scan_detect)
		append(buf, sizeof(buf), " scan-detect=off");
	if (rs->scan_ports != 20)
		append(buf, sizeof(buf), " scan-ports=%u", rs->scan_ports);
	if (rs->scan_window_ns != 10 * SEC)
		append(buf, sizeof(buf), " window=%lluns", (unsigned long long)rs->scan_window_ns);
	if (rs->ban_ns != 600 * SEC)
		append(buf, sizeof(buf), " ban=%lluns", (unsigned long long)rs->ban_ns);
	if (rs->scan_ipv6_prefix != 64)
		append(buf, sizeof(buf), " ipv6-prefix=%u", rs->scan_ipv6_prefix);
	if (rs->established != PC_ESTABLISHED_SOCKET)
		append(buf, sizeof(buf), " established=%s",
		       rs->established <= PC_ESTABLISHED_OFF ? established[rs->established] : "?");
	if (rs->icmp_deny)
		append(buf, sizeof(buf), " icmp=deny");
	if (rs->frag_deny)
		append(buf, sizeof(buf), " fragments=deny");
	if (rs->ban_max_ns)
		append(buf, sizeof(buf), " ban-max=%lluns", (unsigned long long)rs->ban_max_ns);
	if (!rs->exempt_auto)
		append(buf, sizeof(buf), " exempt-auto=off");
	if (rs->crowdsec.url[0])
		append(buf, sizeof(buf), " crowdsec=%s,key=%s,poll=%llus", rs->crowdsec.url,
		       rs->crowdsec.key_file,
		       (unsigned long long)(rs->crowdsec.poll_ns / 1000000000ULL));
	if (rs->crowdsec.push_file[0])
		append(buf, sizeof(buf), " crowdsec-push=%s", rs->crowdsec.push_file);
	for (int proto = 0; proto < 256; proto++)
		if (rs->allowed_protos[proto / 64] & (1ULL << (proto % 64)))
			append(buf, sizeof(buf), "%s%d", strstr(buf, " protos=") ? "," : " protos=",
			       proto);
	for (size_t i = 0; i < rs->n_allows; i++) {
		const struct pc_allow *allow = &rs->allows[i];

		append(buf, sizeof(buf), " %s:%u-%u",
		       allow->proto == PC_PROTO_TCP   ? "tcp"
		       : allow->proto == PC_PROTO_UDP ? "udp"
						      : "?",
		       allow->lo, allow->hi);
		if (with_lines)
			append(buf, sizeof(buf), "@%d", allow->line);
		if (allow->sources.count)
			describe_list(&allow->sources, buf, sizeof(buf));
	}
	if (rs->trusted.count) {
		append(buf, sizeof(buf), " trusted");
		describe_list(&rs->trusted, buf, sizeof(buf));
	}
	if (rs->denied.count) {
		append(buf, sizeof(buf), " denied");
		describe_list(&rs->denied, buf, sizeof(buf));
	}
	if (rs->exempt.count) {
		append(buf, sizeof(buf), " exempt");
		describe_list(&rs->exempt, buf, sizeof(buf));
	}
	for (size_t i = 0; i < rs->n_limits; i++) {
		const struct pc_limit_rule *limit = &rs->limits[i];

		append(buf, sizeof(buf), " limit=%s:%u-%u:%u/%llus:b%u",
		       limit->proto == PC_PROTO_TCP ? "tcp" : "udp", limit->lo, limit->hi,
		       limit->rate, (unsigned long long)(limit->per_ns / SEC), limit->burst);
		if (with_lines)
			append(buf, sizeof(buf), "@%d", limit->line);
	}
	return buf[0] == ' ' ? buf + 1 : buf;
}

/* After a failed parse the ruleset must be the untouched default. */
static void check_empty(const struct pc_ruleset *rs)
{
	CHECK_STR(describe(rs, true), "");
	CHECK(rs->allows == NULL && rs->trusted.items == NULL && rs->denied.items == NULL &&
		  rs->exempt.items == NULL,
	      "failed parse left allocations in the ruleset");
}

/* One config text, parsed as FILE (default "t.conf"); exactly one of RULESET/ERROR is set. */
struct parse_case {
	const char *name;
	const char *text;
	const char *ruleset; /* describe() of the result */
	const char *error;   /* exact err.msg */
	const char *file;
	size_t len; /* 0: strlen(text) */
};

#define GOOD(n, t, r)                                                                              \
	{                                                                                          \
		.name = n, .text = t, .ruleset = r                                                 \
	}
#define BAD(n, t, e)                                                                               \
	{                                                                                          \
		.name = n, .text = t, .error = e                                                   \
	}
#define GOOD_IN(f, n, t, r)                                                                        \
	{                                                                                          \
		.name = n, .text = t, .ruleset = r, .file = f                                      \
	}
#define BAD_IN(f, n, t, e)                                                                         \
	{                                                                                          \
		.name = n, .text = t, .error = e, .file = f                                        \
	}
#define BAD_BYTES(n, t, e)                                                                         \
	{                                                                                          \
		.name = n, .text = t, .error = e, .len = sizeof(t) - 1                             \
	}

static const struct parse_case parse_cases[] = {
    /* Layout: comments, blanks, line endings. */
    GOOD("empty text", "", ""),
    GOOD("comments and blank lines", "# a comment\n\n   \t\n  # indented comment\n", ""),
    GOOD("comment at end of line", "allow tcp 22 # ssh\n", "tcp:22-22@1"),
    GOOD("comment without a space", "allow tcp 22#ssh", "tcp:22-22@1"),
    GOOD("no final newline", "icmp deny", "icmp=deny"),
    GOOD("crlf line endings", "mode monitor\r\nallow udp 53\r\n", "mode=monitor udp:53-53@2"),
    GOOD("tabs between words", "allow\ttcp\t22\tfrom\t198.51.100.0/24",
	 "tcp:22-22@1<198.51.100.0/24>"),
    GOOD("utf-8 byte order mark", "\xef\xbb\xbfmode monitor\n", "mode=monitor"),
    GOOD("utf-8 in a comment", "# café\nfragments deny\n", "fragments=deny"),
    GOOD("line numbers count blank and comment lines", "\n# x\n\nallow tcp 1\n", "tcp:1-1@4"),

    /* mode */
    GOOD("mode enforce", "mode enforce", ""),
    GOOD("mode monitor", "mode monitor", "mode=monitor"),
    GOOD("mode identical repeat", "mode monitor\nmode monitor\n", "mode=monitor"),
    BAD("mode missing argument", "\n\nmode\n",
	"t.conf:3: mode: missing argument (enforce or monitor)"),
    BAD("mode extra argument", "mode enforce now", "t.conf:1: mode: extra argument 'now'"),
    BAD("mode bad value", "mode fast", "t.conf:1: bad mode 'fast': must be enforce or monitor"),
    BAD("mode bad utf-8 value", "mode \xc3\xa9",
	"t.conf:1: bad mode '\xc3\xa9': must be enforce or monitor"),
    BAD("mode conflict", "mode enforce\n\nmode monitor\n",
	"t.conf:3: 'mode monitor' conflicts with line 1 ('mode enforce')"),

    /* allow PROTO PORTS */
    GOOD("allow tcp single port", "allow tcp 22", "tcp:22-22@1"),
    GOOD("allow udp single port", "allow udp 53", "udp:53-53@1"),
    GOOD("allow port 1 and 65535", "allow tcp 1,65535", "tcp:1-1@1 tcp:65535-65535@1"),
    GOOD("allow whole range", "allow udp 1-65535", "udp:1-65535@1"),
    GOOD("allow range", "allow tcp 8000-8100", "tcp:8000-8100@1"),
    GOOD("allow one-port range", "allow tcp 5-5", "tcp:5-5@1"),
    GOOD("allow comma list", "allow tcp 80,443", "tcp:80-80@1 tcp:443-443@1"),
    GOOD("allow mixed list", "allow tcp 22,8000-8100,443",
	 "tcp:22-22@1 tcp:8000-8100@1 tcp:443-443@1"),
    GOOD("allow same port twice to everyone", "allow tcp 22\nallow tcp 22,80",
	 "tcp:22-22@1 tcp:22-22@2 tcp:80-80@2"),
    GOOD("allow same port for tcp and udp", "allow tcp 53 from 192.0.2.1\nallow udp 53",
	 "tcp:53-53@1<192.0.2.1/32> udp:53-53@2"),
    BAD("allow missing everything", "allow",
	"t.conf:1: allow: missing protocol (tcp or udp) or 'from'"),
    BAD("allow bad protocol", "allow icmp 22", "t.conf:1: bad protocol 'icmp': must be tcp or udp"),
    BAD("allow upper-case protocol", "allow TCP 22",
	"t.conf:1: bad protocol 'TCP': must be tcp or udp"),
    BAD("allow missing ports", "allow tcp", "t.conf:1: allow: missing ports after 'tcp'"),
    BAD("allow port 0", "allow tcp 0", "t.conf:1: bad port '0': must be 1..65535"),
    BAD("allow port 65536", "allow udp 65536", "t.conf:1: bad port '65536': must be 1..65535"),
    BAD("allow port 70000", "\n\nallow tcp 70000", "t.conf:3: bad port '70000': must be 1..65535"),
    BAD("allow huge port", "allow tcp 99999999999999999999999999",
	"t.conf:1: bad port '99999999999999999999999999': must be 1..65535"),
    BAD("allow port name", "allow tcp ssh", "t.conf:1: bad port 'ssh': not a number"),
    BAD("allow signed port", "allow tcp +22", "t.conf:1: bad port '+22': not a number"),
    BAD("allow reversed range", "allow tcp 100-20",
	"t.conf:1: bad port range '100-20': 100 is greater than 20"),
    BAD("allow range without end", "allow tcp 20-",
	"t.conf:1: bad port range '20-': expected LO-HI"),
    BAD("allow range without start", "allow tcp -20",
	"t.conf:1: bad port range '-20': expected LO-HI"),
    BAD("allow range with three parts", "allow tcp 1-2-3",
	"t.conf:1: bad port range '1-2-3': expected LO-HI"),
    BAD("allow range end 0", "allow tcp 1-0", "t.conf:1: bad port '0': must be 1..65535"),
    BAD("allow range end too big", "allow tcp 1-65536",
	"t.conf:1: bad port '65536': must be 1..65535"),
    BAD("allow bad item in list", "allow tcp 22,80,http",
	"t.conf:1: bad port 'http': not a number"),
    BAD("allow empty list item", "allow tcp 22,,80",
	"t.conf:1: bad port list '22,,80': empty item"),
    BAD("allow trailing comma", "allow tcp 22,", "t.conf:1: bad port list '22,': empty item"),
    BAD("allow leading comma", "allow tcp ,22", "t.conf:1: bad port list ',22': empty item"),

    /* allow PROTO PORTS from SOURCES */
    GOOD("allow from prefixes", "allow tcp 22 from 198.51.100.0/24,2001:db8:1::/48",
	 "tcp:22-22@1<198.51.100.0/24,2001:db8:1::/48>"),
    GOOD("allow list from host", "allow tcp 22,80 from 198.51.100.7",
	 "tcp:22-22@1<198.51.100.7/32> tcp:80-80@1<198.51.100.7/32>"),
    GOOD("allow same port from two lines",
	 "allow tcp 22 from 192.0.2.1\nallow tcp 22 from 192.0.2.2",
	 "tcp:22-22@1<192.0.2.1/32> tcp:22-22@2<192.0.2.2/32>"),
    BAD("allow to instead of from", "allow tcp 22 to 10.0.0.1",
	"t.conf:1: allow: expected 'from' after the ports, got 'to'"),
    BAD("allow from without sources", "allow tcp 22 from",
	"t.conf:1: allow: missing sources after 'from'"),
    BAD("allow from extra argument", "allow tcp 22 from 10.0.0.1 10.0.0.2",
	"t.conf:1: allow: extra argument '10.0.0.2'"),
    BAD("allow from many extra arguments",
	"allow tcp 22 from 1.1.1.1 a b c d e f g h i j k l m n o p",
	"t.conf:1: allow: extra argument 'a'"),
    BAD("allow from bad address", "allow tcp 22 from 10.0.0.256",
	"t.conf:1: bad address '10.0.0.256'"),
    BAD("allow from host bits set", "allow tcp 22 from 198.51.100.7/24",
	"t.conf:1: bad prefix '198.51.100.7/24': host bits set, did you mean '198.51.100.0/24'?"),
    BAD("allow from /33", "allow tcp 22 from 10.0.0.0/33",
	"t.conf:1: bad prefix length in '10.0.0.0/33': must be 0..32"),
    BAD("allow from /129", "allow tcp 22 from 2001:db8::/129",
	"t.conf:1: bad prefix length in '2001:db8::/129': must be 0..128"),
    BAD("allow from empty prefix length", "allow tcp 22 from 10.0.0.0/",
	"t.conf:1: bad prefix length in '10.0.0.0/': must be 0..32"),
    BAD("allow from empty source item", "allow tcp 22 from 10.0.0.0/8,,10.1.0.0/16",
	"t.conf:1: bad source list '10.0.0.0/8,,10.1.0.0/16': empty item"),
    BAD("allow from empty @ path", "allow tcp 22 from @",
	"t.conf:1: bad source '@': empty file name"),
    BAD("allow from empty @ path in a list", "allow tcp 22 from 10.0.0.0/8,@",
	"t.conf:1: bad source '@': empty file name"),
    BAD("allow port to everyone then from sources", "allow tcp 22\nallow tcp 22 from 10.0.0.0/8",
	"t.conf:2: tcp port 22 conflicts with line 1: allowed from every source there"),
    BAD("allow range from sources then overlapping port to everyone",
	"allow udp 20-30 from 10.0.0.0/8\n#\nallow udp 40,25-26",
	"t.conf:3: udp port 25 conflicts with line 1: allowed only from listed sources there"),
    GOOD("allow adjacent ranges do not conflict", "allow tcp 20-30 from 10.0.0.0/8\nallow tcp 31",
	 "tcp:20-30@1<10.0.0.0/8> tcp:31-31@2"),

    /* allow from (trusted) */
    GOOD("allow from trusted host", "allow from 192.0.2.10", "trusted<192.0.2.10/32>"),
    GOOD("allow from trusted list", "allow from 192.0.2.10\nallow from 2001:db8::/32,192.0.2.0/28",
	 "trusted<192.0.2.10/32,2001:db8::/32,192.0.2.0/28>"),
    BAD("allow from missing sources", "allow from",
	"t.conf:1: allow: missing sources after 'from'"),
    BAD("allow from extra argument", "allow from 192.0.2.10 now",
	"t.conf:1: allow: extra argument 'now'"),

    /* deny from */
    GOOD("deny from prefix", "deny from 203.0.113.0/24", "denied<203.0.113.0/24>"),
    BAD("deny from ipv4-mapped ipv6", "deny from ::ffff:1.2.3.4",
	"t.conf:1: bad address '::ffff:1.2.3.4': IPv4-mapped IPv6 addresses are dropped as "
	"malformed, write 1.2.3.4"),
    BAD("allow from ipv4-compatible ipv6 prefix", "allow tcp 22 from 2001:db8::/32,::192.0.2.0/120",
	"t.conf:1: bad prefix '::192.0.2.0/120': IPv4-compatible IPv6 addresses are dropped as "
	"malformed, write 192.0.2.0/24"),
    GOOD("deny from nat64 ipv6 with an ipv4 tail", "deny from 64:ff9b::1.2.3.4,::1,::/96",
	 "denied<64:ff9b::102:304/128,::1/128,::/96>"),
    GOOD("deny from everything", "deny from 0.0.0.0/0,::/0", "denied<0.0.0.0/0,::/0>"),
    BAD("deny missing from", "deny", "t.conf:1: deny: missing 'from'"),
    BAD("deny port", "deny tcp 22", "t.conf:1: deny: expected 'from', got 'tcp'"),
    BAD("deny from missing sources", "deny from", "t.conf:1: deny: missing sources after 'from'"),
    BAD("deny from extra argument", "deny from 1.2.3.4 5.6.7.8",
	"t.conf:1: deny: extra argument '5.6.7.8'"),
    BAD("deny from zone index", "deny from fe80::1%eth0", "t.conf:1: bad address 'fe80::1%eth0'"),

    /* scan-flags */
    GOOD("scan-flags drop", "scan-flags drop", ""),
    GOOD("scan-flags pass", "scan-flags pass", "scan-flags=pass"),
    BAD("scan-flags missing", "scan-flags",
	"t.conf:1: scan-flags: missing argument (drop or pass)"),
    BAD("scan-flags bad", "scan-flags maybe",
	"t.conf:1: bad scan-flags 'maybe': must be drop or pass"),
    BAD("scan-flags conflict", "scan-flags pass\nscan-flags drop",
	"t.conf:2: 'scan-flags drop' conflicts with line 1 ('scan-flags pass')"),

    /* scan-detect */
    GOOD("scan-detect off", "scan-detect off", "scan-detect=off"),
    GOOD("scan-detect all options", "scan-detect ports 5 window 30s ban 1h ipv6-prefix 48",
	 "scan-ports=5 window=30000000000ns ban=3600000000000ns ipv6-prefix=48"),
    GOOD("scan-detect contract defaults", "scan-detect ports 20 window 10s ban 10m", ""),
    GOOD("scan-detect options in any order", "scan-detect ban 1d ports 40",
	 "scan-ports=40 ban=86400000000000ns"),
    GOOD("scan-detect edges", "scan-detect ports 64 window 1s ban 36500d ipv6-prefix 128",
	 "scan-ports=64 window=1000000000ns ban=3153600000000000000ns ipv6-prefix=128"),
    GOOD("scan-detect smallest values", "scan-detect ports 2 ipv6-prefix 32",
	 "scan-ports=2 ipv6-prefix=32"),
    GOOD("scan-detect same values spelled differently", "scan-detect ban 10m\nscan-detect ban 600s",
	 ""),
    GOOD("scan-detect off repeated", "scan-detect off\nscan-detect off", "scan-detect=off"),
    BAD("scan-detect missing arguments", "scan-detect",
	"t.conf:1: scan-detect: missing arguments (ports N window DURATION ban DURATION, or off)"),
    BAD("scan-detect off extra argument", "scan-detect off now",
	"t.conf:1: scan-detect: extra argument 'now'"),
    BAD("scan-detect missing value", "scan-detect ports 5 window",
	"t.conf:1: scan-detect: missing value after 'window'"),
    BAD("scan-detect unknown option", "scan-detect speed 5",
	"t.conf:1: scan-detect: unknown option 'speed' (ports, window, ban, max, ipv6-prefix or off)"),
    BAD("scan-detect option twice", "scan-detect ports 5 ports 6",
	"t.conf:1: scan-detect: 'ports' given twice"),
    BAD("scan-detect off after options", "scan-detect ports 5 off",
	"t.conf:1: scan-detect: unknown option 'off' (ports, window, ban, max, ipv6-prefix or off)"),
    BAD("scan-detect too many words",
	"scan-detect ports 2 window 1s ban 1s ipv6-prefix 64 ports 3 window 2s",
	"t.conf:1: scan-detect: 'ports' given twice"),
    BAD("scan-detect ports 0", "scan-detect ports 0",
	"t.conf:1: bad scan-detect ports '0': must be 2..64"),
    BAD("scan-detect ports 1", "scan-detect ports 1",
	"t.conf:1: bad scan-detect ports '1': must be 2..64"),
    BAD("scan-detect ports 65", "scan-detect ports 65",
	"t.conf:1: bad scan-detect ports '65': must be 2..64"),
    BAD("scan-detect ports not a number", "scan-detect ports many",
	"t.conf:1: bad scan-detect ports 'many': must be 2..64"),
    BAD("scan-detect duration without unit", "scan-detect window 10",
	"t.conf:1: bad duration '10': missing unit (s, m, h or d)"),
    BAD("scan-detect duration 0", "scan-detect window 0s",
	"t.conf:1: bad duration '0s': must be greater than 0"),
    BAD("scan-detect duration bad unit", "scan-detect ban 10x",
	"t.conf:1: bad duration '10x': unknown unit 'x' (s, m, h or d)"),
    BAD("scan-detect duration milliseconds", "scan-detect ban 10ms",
	"t.conf:1: bad duration '10ms': unknown unit 'ms' (s, m, h or d)"),
    BAD("scan-detect duration too large", "scan-detect ban 36501d",
	"t.conf:1: bad duration '36501d': too large (at most 36500d)"),
    BAD("scan-detect duration overflow", "scan-detect ban 18446744073709551617s",
	"t.conf:1: bad duration '18446744073709551617s': too large (at most 36500d)"),
    BAD("scan-detect ipv6-prefix 0", "scan-detect ipv6-prefix 0",
	"t.conf:1: bad ipv6-prefix '0': must be 32..128"),
    BAD("scan-detect ipv6-prefix 1", "scan-detect ipv6-prefix 1",
	"t.conf:1: bad ipv6-prefix '1': must be 32..128"),
    BAD("scan-detect ipv6-prefix 31", "scan-detect ipv6-prefix 31",
	"t.conf:1: bad ipv6-prefix '31': must be 32..128"),
    BAD("scan-detect ipv6-prefix 129", "scan-detect ipv6-prefix 129",
	"t.conf:1: bad ipv6-prefix '129': must be 32..128"),

    /* scan-detect ... max: repeat offenders */
    GOOD("scan-detect ban and max", "scan-detect ban 10m max 7d", "ban-max=604800000000000ns"),
    GOOD("scan-detect max equal to the default ban", "scan-detect max 10m",
	 "ban-max=600000000000ns"),
    GOOD("scan-detect max spelled differently", "scan-detect max 7d\nscan-detect max 168h",
	 "ban-max=604800000000000ns"),
    BAD("scan-detect max below ban", "scan-detect ban 1h max 30m",
	"t.conf:1: scan-detect: max 30m is shorter than ban 1h"),
    BAD("scan-detect max below the default ban", "scan-detect max 5m",
	"t.conf:1: scan-detect: max 5m is shorter than ban 10m"),
    BAD("scan-detect max zero", "scan-detect max 0s",
	"t.conf:1: bad duration '0s': must be greater than 0"),
    BAD("scan-detect max missing value", "scan-detect ban 1m max",
	"t.conf:1: scan-detect: missing value after 'max'"),
    BAD("scan-detect max twice", "scan-detect max 1d max 2d",
	"t.conf:1: scan-detect: 'max' given twice"),
    BAD("scan-detect max conflict", "scan-detect max 7d\nscan-detect max 1d",
	"t.conf:2: 'scan-detect ports 20 window 10s ban 10m max 1d ipv6-prefix 64' conflicts with "
	"line 1 ('scan-detect ports 20 window 10s ban 10m max 7d ipv6-prefix 64')"),
    BAD("scan-detect every key and one too many",
	"scan-detect ports 2 window 1s ban 1s max 2s ipv6-prefix 64 ports 3",
	"t.conf:1: scan-detect: 'ports' given twice"),
    BAD("scan-detect conflict with off", "scan-detect off\nscan-detect ports 20",
	"t.conf:2: 'scan-detect ports 20 window 10s ban 10m ipv6-prefix 64' conflicts with line 1 "
	"('scan-detect off')"),
    BAD("scan-detect conflict of values", "scan-detect ban 1h\nscan-detect ban 2h",
	"t.conf:2: 'scan-detect ports 20 window 10s ban 2h ipv6-prefix 64' conflicts with line 1 "
	"('scan-detect ports 20 window 10s ban 1h ipv6-prefix 64')"),

    /* established, icmp, fragments */
    GOOD("established socket", "established socket", ""),
    GOOD("established ephemeral", "established ephemeral", "established=ephemeral"),
    GOOD("established off", "established off", "established=off"),
    BAD("established bad", "established always",
	"t.conf:1: bad established 'always': must be socket, ephemeral or off"),
    BAD("established missing", "established",
	"t.conf:1: established: missing argument (socket, ephemeral or off)"),
    BAD("established conflict", "established off\nestablished socket",
	"t.conf:2: 'established socket' conflicts with line 1 ('established off')"),
    GOOD("icmp allow", "icmp allow", ""),
    GOOD("icmp deny", "icmp deny\nicmp deny", "icmp=deny"),
    BAD("icmp bad", "icmp drop", "t.conf:1: bad icmp 'drop': must be allow or deny"),
    BAD("icmp extra", "icmp deny all", "t.conf:1: icmp: extra argument 'all'"),
    GOOD("fragments allow", "fragments allow", ""),
    GOOD("fragments deny", "fragments deny", "fragments=deny"),
    BAD("fragments bad", "fragments yes", "t.conf:1: bad fragments 'yes': must be allow or deny"),
    BAD("fragments conflict", "fragments deny\nfragments allow",
	"t.conf:2: 'fragments allow' conflicts with line 1 ('fragments deny')"),

    /* exempt from SOURCES, exempt auto on|off */
    GOOD("exempt from prefixes", "exempt from 192.0.2.1,2001:db8::/32",
	 "exempt<192.0.2.1/32,2001:db8::/32>"),
    GOOD("exempt from accumulates", "exempt from 192.0.2.1\nallow tcp 22\nexempt from 10.0.0.0/8",
	 "tcp:22-22@2 exempt<192.0.2.1/32,10.0.0.0/8>"),
    GOOD("exempt from everything", "exempt from 0.0.0.0/0,::/0", "exempt<0.0.0.0/0,::/0>"),
    BAD("exempt missing everything", "exempt", "t.conf:1: exempt: missing 'from' or 'auto'"),
    BAD("exempt to", "exempt to 192.0.2.1",
	"t.conf:1: exempt: expected 'from' or 'auto', got 'to'"),
    BAD("exempt from missing sources", "exempt from",
	"t.conf:1: exempt: missing sources after 'from'"),
    BAD("exempt from extra argument", "exempt from 192.0.2.1 192.0.2.2",
	"t.conf:1: exempt: extra argument '192.0.2.2'"),
    BAD("exempt from bad address", "\nexempt from 192.0.2.1,gateway",
	"t.conf:2: bad address 'gateway'"),
    BAD("exempt from ipv4-mapped ipv6", "exempt from ::ffff:192.0.2.1",
	"t.conf:1: bad address '::ffff:192.0.2.1': IPv4-mapped IPv6 addresses are dropped as "
	"malformed, write 192.0.2.1"),
    GOOD("exempt auto on", "exempt auto on", ""),
    GOOD("exempt auto off", "exempt auto off\nexempt auto off", "exempt-auto=off"),
    GOOD("exempt auto with exempt from", "exempt auto off\nexempt from 192.0.2.53",
	 "exempt-auto=off exempt<192.0.2.53/32>"),
    BAD("exempt auto missing argument", "exempt auto",
	"t.conf:1: exempt auto: missing argument (on or off)"),
    BAD("exempt auto bad", "exempt auto yes", "t.conf:1: bad exempt auto 'yes': must be on or off"),
    BAD("exempt auto extra argument", "exempt auto off now",
	"t.conf:1: exempt auto: extra argument 'now'"),
    BAD("exempt auto conflict", "exempt auto off\n\nexempt auto on",
	"t.conf:3: 'exempt auto on' conflicts with line 1 ('exempt auto off')"),
    /* crowdsec url URL key @FILE [poll DURATION], crowdsec push @FILE */
    GOOD("crowdsec bouncer, default poll", "crowdsec url http://127.0.0.1:8080/ key @/etc/passwd",
	 "crowdsec=http://127.0.0.1:8080/,key=/etc/passwd,poll=10s"),
    GOOD("crowdsec bouncer and push", "crowdsec url https://lapi:8080 key @/etc/passwd poll 1m\n"
				      "crowdsec push @/etc/passwd",
	 "crowdsec=https://lapi:8080,key=/etc/passwd,poll=60s crowdsec-push=/etc/passwd"),
    GOOD_IN("/etc/portcullis.conf", "crowdsec key relative to the config",
	    "crowdsec url http://x key @passwd", "crowdsec=http://x,key=/etc/passwd,poll=10s"),
    BAD("crowdsec nothing", "crowdsec",
	"t.conf:1: crowdsec: expected 'url URL key @FILE [poll DURATION]' or 'push @FILE'"),
    BAD("crowdsec bad url", "crowdsec url ftp://x key @/etc/passwd",
	"t.conf:1: crowdsec: bad url 'ftp://x': must start with http:// or https://"),
    BAD("crowdsec missing key", "crowdsec url http://x",
	"t.conf:1: crowdsec: expected 'key @FILE' after the url"),
    BAD("crowdsec key not a file reference", "crowdsec url http://x key secret",
	"t.conf:1: crowdsec: key: expected @FILE, got 'secret'"),
    BAD("crowdsec key file missing", "crowdsec url http://x key @/nonexistent/key",
	"t.conf:1: crowdsec: key: /nonexistent/key: No such file or directory"),
    BAD("crowdsec key not a regular file", "crowdsec url http://x key @/etc",
	"t.conf:1: crowdsec: key: /etc: not a regular file"),
    BAD("crowdsec poll too long", "crowdsec url http://x key @/etc/passwd poll 2h",
	"t.conf:1: crowdsec: bad poll '2h': must be 1s..1h"),
    BAD("crowdsec poll missing", "crowdsec url http://x key @/etc/passwd poll",
	"t.conf:1: crowdsec: missing duration after 'poll'"),
    BAD("crowdsec extra", "crowdsec url http://x key @/etc/passwd every 5s",
	"t.conf:1: crowdsec: extra argument 'every'"),
    BAD("crowdsec url twice", "crowdsec url http://x key @/etc/passwd\n"
			      "crowdsec url http://y key @/etc/passwd",
	"t.conf:2: crowdsec url: given twice"),
    BAD("crowdsec push missing file", "crowdsec push",
	"t.conf:1: crowdsec push: missing @CREDENTIALS_FILE"),

    BAD("misspelt exempt", "exemt from 192.0.2.1",
	"t.conf:1: unknown directive 'exemt' (did you mean 'exempt'?)"),

    /* allow proto LIST (names are in test_ip_protos: they come from /etc/protocols) */
    GOOD("allow proto numbers", "allow proto 47,50,112", "protos=47,50,112"),
    GOOD("allow proto accumulates", "allow proto 255\nallow tcp 22\nallow proto 0,47,47",
	 "protos=0,47,255 tcp:22-22@2"),
    BAD("allow proto missing list", "allow proto", "t.conf:1: allow: missing protocols after 'proto'"),
    BAD("allow proto extra argument", "allow proto 47 50", "t.conf:1: allow: extra argument '50'"),
    BAD("allow proto from", "allow proto 47 from 192.0.2.1",
	"t.conf:1: allow: extra argument 'from'"),
    BAD("allow proto 256", "allow proto 47,256", "t.conf:1: bad protocol '256': must be 0..255"),
    BAD("allow proto negative", "allow proto -1", "t.conf:1: bad protocol '-1': must be 0..255"),
    BAD("allow proto empty item", "allow proto 47,,50",
	"t.conf:1: bad protocol list '47,,50': empty item"),
    BAD("allow proto tcp by number", "allow proto 6",
	"t.conf:1: protocol '6' has a directive of its own: write 'allow tcp PORTS'"),
    BAD("allow proto udp by number", "allow proto 47,17",
	"t.conf:1: protocol '17' has a directive of its own: write 'allow udp PORTS'"),
    BAD("allow proto icmp by number", "allow proto 1",
	"t.conf:1: protocol '1' has a directive of its own: write 'icmp allow'"),
    BAD("allow proto icmpv6 by number", "allow proto 58",
	"t.conf:1: protocol '58' has a directive of its own: write 'icmp allow'"),
    BAD("allow proto error keeps nothing", "allow proto 47\nallow proto 50,6",
	"t.conf:2: protocol '6' has a directive of its own: write 'allow tcp PORTS'"),

    /* Unknown directives. */
    BAD("unknown directive", "frobnicate 1", "t.conf:1: unknown directive 'frobnicate'"),
    BAD("misspelt allow", "alow tcp 22",
	"t.conf:1: unknown directive 'alow' (did you mean 'allow'?)"),
    BAD("capitalised mode", "Mode enforce",
	"t.conf:1: unknown directive 'Mode' (did you mean 'mode'?)"),
    BAD("misspelt scan-detect", "scan-detet off",
	"t.conf:1: unknown directive 'scan-detet' (did you mean 'scan-detect'?)"),
    BAD("misspelt fragments", "fragment deny",
	"t.conf:1: unknown directive 'fragment' (did you mean 'fragments'?)"),
    BAD("long unknown directive",
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxx"
	"xxx",
	"t.conf:1: unknown directive "
	"'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"),

    /* Binary content, by exact byte count. */
    BAD_BYTES("nul byte", "mode enforce\nallow tcp 22\n\0mode",
	      "t.conf:3: binary file (byte 0x00)"),
    BAD_BYTES("nul byte at the end", "mode enforce\0", "t.conf:1: binary file (byte 0x00)"),
    BAD("control byte", "mode\x01 enforce", "t.conf:1: binary file (byte 0x01)"),
    BAD("elf header",
	"\x7f"
	"ELF\x02\x01\x01",
	"t.conf:1: binary file (byte 0x7f)"),
    BAD("gzip header", "\x1f\x8b\x08", "t.conf:1: binary file (byte 0x1f)"),
    BAD("binary after an error line", "mode fast\n\x02", "t.conf:2: binary file (byte 0x02)"),

    /* Nothing of a failed parse is kept (check_empty runs on every error row). */
    BAD("error after good lines", "mode monitor\nallow tcp 22\nallow from 192.0.2.1\nallow tcp 0",
	"t.conf:4: bad port '0': must be 1..65535"),

    /* The contract's example, list file line left out. */
    GOOD("contract example",
	 "mode enforce                       # enforce | monitor\n"
	 "allow tcp 22 from 198.51.100.0/24,2001:db8:1::/48\n"
	 "allow tcp 80,443\n"
	 "allow tcp 8000-8100\n"
	 "allow udp 53\n"
	 "allow from 192.0.2.10              # trusted source: every port, never banned\n"
	 "deny from 203.0.113.0/24           # always dropped\n"
	 "scan-flags drop                    # drop | pass\n"
	 "scan-detect ports 20 window 10s ban 10m   # or: scan-detect off\n"
	 "                                   # optional: ipv6-prefix 64\n"
	 "established socket                 # socket | ephemeral | off\n"
	 "icmp allow                         # allow | deny\n"
	 "fragments allow                    # allow | deny non-first fragments\n",
	 "tcp:22-22@2<198.51.100.0/24,2001:db8:1::/48> tcp:80-80@3 tcp:443-443@3 "
	 "tcp:8000-8100@4 udp:53-53@5 trusted<192.0.2.10/32> denied<203.0.113.0/24>"),

    /* Relative @FILE paths start in the directory of the config that names them. */
    GOOD_IN("{T}/configs/inline.conf", "list file relative to the config",
	    "deny from @lists/drop.txt",
	    "denied<1.10.16.0/20,203.0.113.0/24,2001:db8:dead::/48,198.18.7.7/32>"),
    GOOD_IN("{T}/configs/inline.conf", "list file and prefixes mixed",
	    "allow tcp 22 from 192.0.2.1,@lists/admins.txt,192.0.2.2",
	    "tcp:22-22@1<192.0.2.1/32,2001:db8:1::/48,198.18.0.1/32,192.0.2.2/32>"),
    GOOD_IN("{T}/configs/inline.conf", "empty list file for deny", "deny from @lists/empty.txt",
	    ""),
    GOOD_IN("{T}/configs/inline.conf", "empty list file for trusted", "allow from @lists/empty.txt",
	    ""),
    BAD_IN("{T}/configs/inline.conf", "empty list file for a port",
	   "\nallow tcp 22 from @lists/empty.txt",
	   "{T}/configs/inline.conf:2: empty source list '@lists/empty.txt': the ports would be "
	   "open to every source"),
    BAD_IN("{T}/configs/inline.conf", "bad line in a list file",
	   "allow tcp 22\ndeny from @lists/bad.txt",
	   "{T}/configs/lists/bad.txt:4: bad address '192.0.2.300'"),
    BAD_IN(
	"{T}/configs/inline.conf", "host bits in a list file", "deny from @lists/host-bits.txt",
	"{T}/configs/lists/host-bits.txt:1: bad prefix '198.51.100.7/24': host bits set, did you "
	"mean '198.51.100.0/24'?"),
    BAD_IN("{T}/configs/inline.conf", "two addresses on a list line",
	   "deny from @lists/two-per-line.txt",
	   "{T}/configs/lists/two-per-line.txt:1: unexpected '192.0.2.2' after '192.0.2.1'"),
    BAD_IN("{T}/configs/inline.conf", "missing list file", "\n\ndeny from @lists/missing.txt",
	   "{T}/configs/inline.conf:3: {T}/configs/lists/missing.txt: No such file or directory"),
    BAD_IN("{T}/configs/inline.conf", "directory as list file", "deny from @lists",
	   "{T}/configs/inline.conf:1: {T}/configs/lists: not a regular file"),
    BAD("device as list file", "exempt from @/dev/null",
	"t.conf:1: /dev/null: not a regular file"),
    GOOD_IN("{T}/configs/inline.conf", "exempt from a list file", "exempt from @lists/admins.txt",
	    "exempt<2001:db8:1::/48,198.18.0.1/32>"),
    GOOD_IN("/nonexistent/dir/inline.conf", "absolute list file path",
	    "deny from @{A}/configs/lists/admins.txt", "denied<2001:db8:1::/48,198.18.0.1/32>"),
    BAD("bare config name: list relative to cwd", "deny from @lists/admins.txt",
	"t.conf:1: lists/admins.txt: No such file or directory"),

    /* limit: per-source rate limits on ports open to every source */
    GOOD("limit: burst defaults to N", "allow tcp 22\nlimit tcp 22 rate 6/30s",
	 "tcp:22-22@1 limit=tcp:22-22:6/30s:b6@2"),
    GOOD("limit: burst and a list of ports, before the allow",
	 "limit udp 53,5000-5001 rate 10/1m burst 20\nallow udp 53,5000-5010",
	 "udp:53-53@2 udp:5000-5010@2 limit=udp:53-53:10/60s:b20@1 limit=udp:5000-5001:10/60s:b20@1"),
    GOOD("limit: N and M up to 1000000", "allow tcp 80\nlimit tcp 80 rate 1000000/1s burst 1000000",
	 "tcp:80-80@1 limit=tcp:80-80:1000000/1s:b1000000@2"),
    BAD("limit: rate 0/30s", "allow tcp 22\nlimit tcp 22 rate 0/30s",
	"t.conf:2: bad rate '0/30s': expected N/DURATION with N 1..1000000, e.g. 6/30s"),
    BAD("limit: rate over 1000000", "allow tcp 22\nlimit tcp 22 rate 1000001/1s",
	"t.conf:2: bad rate '1000001/1s': expected N/DURATION with N 1..1000000, e.g. 6/30s"),
    BAD("limit: rate without a duration", "allow tcp 22\nlimit tcp 22 rate 6",
	"t.conf:2: bad rate '6': expected N/DURATION with N 1..1000000, e.g. 6/30s"),
    BAD("limit: rate with a bad unit", "allow tcp 22\nlimit tcp 22 rate 6/30x",
	"t.conf:2: bad rate '6/30x': bad duration '30x': unknown unit 'x' (s, m, h or d)"),
    BAD("limit: rate over 0s", "allow tcp 22\nlimit tcp 22 rate 6/0s",
	"t.conf:2: bad rate '6/0s': bad duration '0s': must be greater than 0"),
    BAD("limit: rate without a unit", "allow tcp 22\nlimit tcp 22 rate 6/30",
	"t.conf:2: bad rate '6/30': bad duration '30': missing unit (s, m, h or d)"),
    BAD("limit: burst 0", "allow tcp 22\nlimit tcp 22 rate 6/30s burst 0",
	"t.conf:2: bad burst '0': must be 1..1000000"),
    BAD("limit: burst not a number", "allow tcp 22\nlimit tcp 22 rate 6/30s burst many",
	"t.conf:2: bad burst 'many': must be 1..1000000"),
    BAD("limit: a bucket that takes over a year to refill",
	"allow tcp 22\nlimit tcp 22 rate 1/1d burst 400",
	"t.conf:2: bad burst '400': 400 tokens at 1/1d take over a year to refill"),
    BAD("limit: burst missing its number", "allow tcp 22\nlimit tcp 22 rate 6/30s burst",
	"t.conf:2: limit: missing number after 'burst'"),
    BAD("limit: unknown word after the rate", "allow tcp 22\nlimit tcp 22 rate 6/30s bust 3",
	"t.conf:2: limit: expected 'burst' after the rate, got 'bust'"),
    BAD("limit: extra argument", "allow tcp 22\nlimit tcp 22 rate 6/30s burst 3 now",
	"t.conf:2: limit: extra argument 'now'"),
    BAD("limit: missing rate", "allow tcp 22\nlimit tcp 22",
	"t.conf:2: limit: missing 'rate N/DURATION' after the ports"),
    BAD("limit: missing N/DURATION", "allow tcp 22\nlimit tcp 22 rate",
	"t.conf:2: limit: missing N/DURATION after 'rate'"),
    BAD("limit: missing ports", "limit tcp", "t.conf:1: limit: missing ports after 'tcp'"),
    BAD("limit: missing protocol", "limit", "t.conf:1: limit: missing protocol (tcp or udp)"),
    BAD("limit: bad protocol", "limit sctp 22 rate 6/30s",
	"t.conf:1: bad protocol 'sctp': must be tcp or udp"),
    BAD("limit: a port not allowed", "allow tcp 22\nlimit tcp 22-23 rate 6/30s",
	"t.conf:2: limit: tcp port 23 is not allowed (add 'allow tcp 23' or drop it from the limit)"),
    BAD("limit: allowed for the other protocol only", "allow udp 53\nlimit tcp 53 rate 6/30s",
	"t.conf:2: limit: tcp port 53 is not allowed (add 'allow tcp 53' or drop it from the limit)"),
    BAD("limit: a port open only to a from list",
	"allow tcp 22 from 198.51.100.0/24\nlimit tcp 22 rate 6/30s",
	"t.conf:2: limit: tcp port 22 is open only to listed sources, which are exempt: the limit "
	"would never apply"),
    BAD("limit: a port limited twice", "allow tcp 20-30\nlimit tcp 22 rate 6/30s\n"
	"limit tcp 20-25 rate 1/1s",
	"t.conf:3: limit: tcp port 22 conflicts with line 2: limited there already"),
};

static void run_parse_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		char text[1024], file[1024], error[2048];
		struct pc_ruleset rs;
		struct pc_error err = {""};
		size_t len = c->len ? c->len : strlen(c->text);
		int ret;

		test_begin("parse: %s", c->name);
		/* Tables cannot hold {T} inside text with NULs; expand only NUL-free text. */
		if (c->len) {
			memcpy(text, c->text, len);
		} else {
			snprintf(text, sizeof(text), "%s", expand(c->text, 0));
			len = strlen(text);
		}
		snprintf(file, sizeof(file), "%s", c->file ? expand(c->file, 0) : "t.conf");
		snprintf(error, sizeof(error), "%s", c->error ? expand(c->error, 1) : "");
		memset(&rs, 0xa5, sizeof(rs)); /* the parser must not read what it overwrites */
		ret = pc_config_parse(file, text, len, &rs, &err);
		if (c->error) {
			CHECK_INT(ret, -EINVAL);
			CHECK_STR(err.msg, error);
			check_empty(&rs);
		} else {
			CHECK(ret == 0, "expected success, got %d: %s", ret, err.msg);
			CHECK_STR(describe(&rs, true), c->ruleset);
		}
		pc_ruleset_free(&rs);
		CHECK_STR(describe(&rs, true), "");
		test_end();
	}
}

/* Whole files through pc_config_load. */
struct load_case {
	const char *name;
	const char *path;
	const char *ruleset;
	const char *error;
	int ret;
};

#define LOAD_GOOD(n, p, r)                                                                         \
	{                                                                                          \
		.name = n, .path = p, .ruleset = r                                                 \
	}
#define LOAD_BAD(n, p, e, r)                                                                       \
	{                                                                                          \
		.name = n, .path = p, .error = e, .ret = r                                         \
	}

static const struct load_case load_cases[] = {
    LOAD_GOOD(
	"load every directive", "{T}/configs/good.conf",
	"mode=monitor scan-flags=pass scan-ports=10 window=30000000000ns ban=3600000000000ns "
	"ipv6-prefix=56 established=ephemeral icmp=deny fragments=deny "
	"tcp:22-22@3<198.51.100.0/24,2001:db8:1::/48,198.18.0.1/32> tcp:80-80@4 tcp:443-443@4 "
	"udp:53-53@5 trusted<192.0.2.10/32> "
	"denied<1.10.16.0/20,203.0.113.0/24,2001:db8:dead::/48,198.18.7.7/32>"),
    LOAD_GOOD("load nested config with ../ list paths", "{T}/configs/sub/nested.conf",
	      "tcp:22-22@3<2001:db8:1::/48,198.18.0.1/32> "
	      "denied<1.10.16.0/20,203.0.113.0/24,2001:db8:dead::/48,198.18.7.7/32>"),
    LOAD_BAD("load bad list file", "{T}/configs/bad-list.conf",
	     "{T}/configs/lists/bad.txt:4: bad address '192.0.2.300'", -EINVAL),
    LOAD_BAD(
	"load missing list file", "{T}/configs/missing-list.conf",
	"{T}/configs/missing-list.conf:2: {T}/configs/lists/missing.txt: No such file or directory",
	-EINVAL),
    LOAD_BAD("load port conflict", "{T}/configs/conflict.conf",
	     "{T}/configs/conflict.conf:3: tcp port 22 conflicts with line 1: allowed from every "
	     "source there",
	     -EINVAL),
    LOAD_BAD("load missing file", "{T}/configs/no-such.conf",
	     "{T}/configs/no-such.conf: No such file or directory", -ENOENT),
    LOAD_BAD("load directory", "{T}/configs", "{T}/configs: not a regular file", -EINVAL),
    LOAD_BAD("load empty path", "", ": No such file or directory", -ENOENT),
    LOAD_BAD("load binary file", "{TMP}/binary.conf",
	     "{TMP}/binary.conf:3: binary file (byte 0x00)", -EINVAL),
    LOAD_BAD("load gzip file", "{TMP}/gzip.conf", "{TMP}/gzip.conf:1: binary file (byte 0x1f)",
	     -EINVAL),
    LOAD_GOOD("load line of 4096 characters", "{TMP}/max-line.conf", "tcp:22-22@3"),
    LOAD_GOOD("load line of 4096 characters and crlf", "{TMP}/max-line-crlf.conf", "tcp:22-22@3"),
    LOAD_BAD("load line of 4097 characters", "{TMP}/long-line.conf",
	     "{TMP}/long-line.conf:2: line too long (over 4096 characters)", -EINVAL),
    LOAD_BAD("load long line after crlf", "{TMP}/long-crlf.conf",
	     "{TMP}/long-crlf.conf:2: line too long (over 4096 characters)", -EINVAL),
    LOAD_BAD("load list file with a nul byte", "{TMP}/binary-list.conf",
	     "{TMP}/binary.txt:2: binary file (byte 0x00)", -EINVAL),
    LOAD_BAD("load list file with a long line", "{TMP}/long-list.conf",
	     "{TMP}/long.txt:1: line too long (over 4096 characters)", -EINVAL),
    LOAD_GOOD("load empty file", "{TMP}/empty.conf", ""),
    LOAD_BAD("load /dev/null", "/dev/null", "/dev/null: not a regular file", -EINVAL),
    LOAD_BAD("load a list file with an ipv4-mapped address", "{TMP}/mapped-list.conf",
	     "{TMP}/mapped.txt:2: bad address '::ffff:198.51.100.7': IPv4-mapped IPv6 addresses are "
	     "dropped as malformed, write 198.51.100.7",
	     -EINVAL),
};

static bool write_file(const char *name, const char *text, size_t len)
{
	char path[4096];
	FILE *file;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	file = fopen(path, "w");
	if (!file)
		return false;
	ok = fwrite(text, 1, len, file) == len;
	/* Whatever the umask: the loader refuses group- or world-writable files. */
	ok &= fchmod(fileno(file), 0644) == 0;
	return fclose(file) == 0 && ok;
}

#define WRITE_LITERAL(name, text) write_file(name, text, sizeof(text) - 1)

/* Files that git should not hold (binary, 4 KiB lines) are made at run time. */
static bool make_tmp_files(void)
{
	static char line[PC_CONFIG_MAX_LINE + 64];
	char text[sizeof(line) + 64], conf[4096 + 64];
	bool ok = true;
	int n;

	if (!mkdtemp(tmp_dir))
		return false;
	ok &= WRITE_LITERAL("binary.conf", "mode enforce\nallow tcp 22\n\0\0\0garbage");
	ok &= WRITE_LITERAL("gzip.conf", "\x1f\x8b\x08\x00\x00\x00\x00\x00");
	ok &= WRITE_LITERAL("empty.conf", "");

	/* "# xxx...": exactly PC_CONFIG_MAX_LINE characters, then one more. */
	memset(line, 'x', sizeof(line));
	line[0] = '#';
	line[PC_CONFIG_MAX_LINE] = '\0';
	n = snprintf(text, sizeof(text), "mode enforce\n%s\nallow tcp 22\n", line);
	ok &= write_file("max-line.conf", text, n);
	n = snprintf(text, sizeof(text), "mode enforce\r\n%s\r\nallow tcp 22\r\n", line);
	ok &= write_file("max-line-crlf.conf", text, n);
	line[PC_CONFIG_MAX_LINE] = 'x';
	line[PC_CONFIG_MAX_LINE + 1] = '\0';
	n = snprintf(text, sizeof(text), "mode enforce\n%s\nallow tcp 22\n", line);
	ok &= write_file("long-line.conf", text, n);
	n = snprintf(text, sizeof(text), "mode enforce\r\n%s\r\n", line);
	ok &= write_file("long-crlf.conf", text, n);
	n = snprintf(text, sizeof(text), "%s\n", line);
	ok &= write_file("long.txt", text, n);

	ok &= WRITE_LITERAL("binary.txt", "192.0.2.1\n192.0.2.2\0\n");
	n = snprintf(conf, sizeof(conf), "deny from @binary.txt\n");
	ok &= write_file("binary-list.conf", conf, n);
	n = snprintf(conf, sizeof(conf), "deny from 192.0.2.1,@long.txt\n");
	ok &= write_file("long-list.conf", conf, n);
	ok &= WRITE_LITERAL("mapped.txt", "192.0.2.1\n::ffff:198.51.100.7\n");
	ok &= WRITE_LITERAL("mapped-list.conf", "exempt from @mapped.txt\n");
	return ok;
}

static void remove_tmp_files(void)
{
	static const char *const names[] = {
	    "binary.conf",    "gzip.conf",	  "empty.conf",		"max-line.conf",
	    "long-line.conf", "long-crlf.conf",	  "max-line-crlf.conf", "long.txt",
	    "binary.txt",     "binary-list.conf", "long-list.conf",	"mapped.txt",
	    "mapped-list.conf",
	};
	char path[4096];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, names[i]);
		unlink(path);
	}
	rmdir(tmp_dir);
}

/*
 * The loader refuses files another user could change (see
 * test_file_trust), so fixtures from a clone owned by someone else cannot
 * be loaded as root: say so instead of failing every file case.
 */
static const char *untrusted_fixtures(void)
{
	static char why[256];
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/configs/good.conf", tests_dir);
	if (stat(path, &st) ||
	    ((st.st_uid == 0 || st.st_uid == geteuid()) && !(st.st_mode & (S_IWGRP | S_IWOTH))))
		return NULL;
	snprintf(why, sizeof(why),
		 "fixtures under %s are owned by uid %u, mode %04o: the loader refuses them "
		 "(run from a clone owned by root or by you, without group write)",
		 tests_dir, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777));
	return why;
}

static void run_load_cases(bool have_tmp)
{
	const char *untrusted = untrusted_fixtures();

	for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
		const struct load_case *c = &load_cases[i];
		struct pc_error err = {""};
		struct pc_ruleset rs;
		char path[4096];
		int ret;

		if (!have_tmp && strstr(c->path, "{TMP}")) {
			test_skip(c->name, "could not create a scratch directory");
			continue;
		}
		if (untrusted && strstr(c->path, "{T}")) {
			test_skip(c->name, untrusted);
			continue;
		}
		test_begin("load: %s", c->name);
		snprintf(path, sizeof(path), "%s", expand(c->path, 0));
		ret = pc_config_load(path, &rs, &err);
		if (c->error) {
			CHECK_INT(ret, c->ret);
			CHECK_STR(err.msg, expand(c->error, 1));
			check_empty(&rs);
		} else {
			CHECK(ret == 0, "expected success, got %d: %s", ret, err.msg);
			CHECK_STR(describe(&rs, true), c->ruleset);
		}
		pc_ruleset_free(&rs);
		test_end();
	}
}

static void test_unreadable_file(bool have_tmp)
{
	const char *name = "load: unreadable file";
	char path[4096], want[4200];
	struct pc_error err = {""};
	struct pc_ruleset rs;

	if (geteuid() == 0) {
		test_skip(name, "root reads files whatever their mode");
		return;
	}
	if (!have_tmp) {
		test_skip(name, "could not create a scratch directory");
		return;
	}
	test_begin("%s", name);
	snprintf(path, sizeof(path), "%s/unreadable.conf", tmp_dir);
	if (CHECK(write_file("unreadable.conf", "mode enforce\n", 13), "cannot write %s", path) &&
	    CHECK(chmod(path, 0) == 0, "chmod %s: %s", path, strerror(errno))) {
		snprintf(want, sizeof(want), "%s: Permission denied", path);
		CHECK_INT(pc_config_load(path, &rs, &err), -EACCES);
		CHECK_STR(err.msg, want);
		check_empty(&rs);
	}
	unlink(path);
	test_end();
}

/* Loads PATH and expects RET with the message WANT ("" for success). */
static void expect_load(const char *path, int want_ret, const char *want)
{
	struct pc_error err = {""};
	struct pc_ruleset rs;

	CHECK_INT(pc_config_load(path, &rs, &err), want_ret);
	CHECK_STR(err.msg, want);
	pc_ruleset_free(&rs);
}

/* As another user: the file's owner may check it; exits with the failures. */
static int load_as(uid_t uid, const char *path)
{
	struct pc_error err = {""};
	struct pc_ruleset rs;
	int ret;

	if (setgid(uid) || setuid(uid))
		return 2;
	ret = pc_config_load(path, &rs, &err);
	if (ret)
		printf("  as uid %u: %s\n", (unsigned int)uid, err.msg);
	pc_ruleset_free(&rs);
	return ret ? 1 : 0;
}

/*
 * sshd's StrictModes: a config or list file that someone other than root
 * or the caller could change is refused, naming the file, its owner and its
 * mode; the same file is fine for its owner (portcullis check on a draft).
 */
static void test_file_trust(bool have_tmp)
{
	const char *name = "load: files others can write are refused";
	static const char reason[] = "portcullis reads only files owned by root or by the user "
				     "running it, and not writable by group or others";
	char conf[256], list_conf[256], list[256], want[2048];
	const uid_t other = 4242;

	if (!have_tmp) {
		test_skip(name, "could not create a scratch directory");
		return;
	}
	test_begin("%s", name);
	snprintf(conf, sizeof(conf), "%s/trust.conf", tmp_dir);
	snprintf(list_conf, sizeof(list_conf), "%s/trust-list.conf", tmp_dir);
	snprintf(list, sizeof(list), "%s/trust.txt", tmp_dir);
	if (!CHECK(WRITE_LITERAL("trust.conf", "allow tcp 22\n") &&
		       WRITE_LITERAL("trust.txt", "192.0.2.0/24\n") &&
		       WRITE_LITERAL("trust-list.conf", "mode enforce\ndeny from @trust.txt\n"),
		   "cannot write the scratch files"))
		goto out;

	expect_load(conf, 0, "");
	chmod(conf, 0664);
	snprintf(want, sizeof(want), "%s: bad ownership or modes (owner uid %u, mode 0664): %s",
		 conf, (unsigned int)geteuid(), reason);
	expect_load(conf, -EPERM, want);
	chmod(conf, 0646);
	snprintf(want, sizeof(want), "%s: bad ownership or modes (owner uid %u, mode 0646): %s",
		 conf, (unsigned int)geteuid(), reason);
	expect_load(conf, -EPERM, want);
	chmod(conf, 0600);
	expect_load(conf, 0, "");

	/* A list file is held to the same rule, reported at the line naming it. */
	chmod(list, 0666);
	snprintf(want, sizeof(want),
		 "%s:2: %s: bad ownership or modes (owner uid %u, mode 0666): %s", list_conf, list,
		 (unsigned int)geteuid(), reason);
	expect_load(list_conf, -EINVAL, want);
	chmod(list, 0644);
	expect_load(list_conf, 0, "");

	if (geteuid() == 0) {
		pid_t pid;
		int status = -1;

		/* Root refuses a user's file ... */
		CHECK(chown(conf, other, other) == 0, "chown: %s", strerror(errno));
		snprintf(want, sizeof(want),
			 "%s: bad ownership or modes (owner uid %u, mode 0600): %s", conf,
			 (unsigned int)other, reason);
		expect_load(conf, -EPERM, want);
		/* ... that the user may check as themselves (the scratch dir is 0700). */
		chmod(tmp_dir, 0755);
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(load_as(other, conf));
		if (pid > 0)
			waitpid(pid, &status, 0);
		chmod(tmp_dir, 0700);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the owner (uid %u) could not load their own file (status %#x)",
		      (unsigned int)other, status);
	}
out:
	unlink(conf);
	unlink(list_conf);
	unlink(list);
	test_end();
}

/*
 * A FIFO where a config or list file should be is refused at once, without
 * waiting for a writer: pc_config_load, and "portcullis check" when the
 * test runner names the binary ($PORTCULLIS). An alarm turns a hang into a
 * failure instead of a stuck test run.
 */
static void test_fifo(bool have_tmp)
{
	const char *name = "load: a FIFO is refused without blocking";
	char fifo[4096], list_conf[4096], want[8400];
	const char *binary = getenv("PORTCULLIS");
	struct timespec a, b;

	if (!have_tmp) {
		test_skip(name, "could not create a scratch directory");
		return;
	}
	test_begin("%s", name);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmp_dir);
	snprintf(list_conf, sizeof(list_conf), "%s/fifo-list.conf", tmp_dir);
	if (!CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s: %s", fifo, strerror(errno)) ||
	    !CHECK(WRITE_LITERAL("fifo-list.conf", "allow tcp 22\ndeny from 192.0.2.1,@fifo\n"),
		   "cannot write %s", list_conf))
		goto out;
	alarm(10);
	clock_gettime(CLOCK_MONOTONIC, &a);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	expect_load(fifo, -EINVAL, want);
	snprintf(want, sizeof(want), "%s:2: %s: not a regular file", list_conf, fifo);
	expect_load(list_conf, -EINVAL, want);
	if (binary && *binary) {
		char command[8400];
		FILE *out;
		char line[8400] = "";
		int status;

		snprintf(command, sizeof(command), "'%s' check -c '%s' 2>&1", binary, list_conf);
		out = popen(command, "r");
		if (CHECK(out, "popen: %s", strerror(errno))) {
			if (!fgets(line, sizeof(line), out))
				line[0] = '\0';
			line[strcspn(line, "\n")] = '\0';
			status = pclose(out);
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2,
			      "portcullis check: status %#x, want exit 2", status);
			CHECK_STR(line, want);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	alarm(0);
	CHECK((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < 5.0,
	      "refusing the FIFO took %ld s", (long)(b.tv_sec - a.tv_sec));
out:
	unlink(fifo);
	unlink(list_conf);
	test_end();
}

/* allow proto by name: getprotobyname(3), so only where /etc/protocols knows gre. */
static void test_ip_protos(void)
{
	static const struct {
		const char *text;
		const char *ruleset;
		const char *error;
	} cases[] = {
	    {"allow proto gre,esp,112", "protos=47,50,112", NULL},
	    {"allow proto sctp,udplite,GRE", "protos=47,132,136", NULL},
	    {"allow proto tcp", NULL,
	     "t.conf:1: protocol 'tcp' has a directive of its own: write 'allow tcp PORTS'"},
	    {"allow proto gre,udp", NULL,
	     "t.conf:1: protocol 'udp' has a directive of its own: write 'allow udp PORTS'"},
	    {"allow proto icmp", NULL,
	     "t.conf:1: protocol 'icmp' has a directive of its own: write 'icmp allow'"},
	    {"allow proto ipv6-icmp", NULL,
	     "t.conf:1: protocol 'ipv6-icmp' has a directive of its own: write 'icmp allow'"},
	    {"allow proto grx", NULL, "t.conf:1: unknown protocol 'grx' (did you mean 'gre'?)"},
	    {"allow proto esp,udplte", NULL,
	     "t.conf:1: unknown protocol 'udplte' (did you mean 'udplite'?)"},
	    {"allow proto frobnicate", NULL,
	     "t.conf:1: unknown protocol 'frobnicate': not in /etc/protocols (or give a number "
	     "0..255)"},
	    {"allow proto xy", NULL,
	     "t.conf:1: unknown protocol 'xy': not in /etc/protocols (or give a number 0..255)"},
	};

	if (!getprotobyname("gre") || !getprotobyname("udplite")) {
		test_skip("allow proto: names", "/etc/protocols does not know gre and udplite");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pc_error err = {""};
		struct pc_ruleset rs;
		int ret;

		test_begin("allow proto: '%s'", cases[i].text);
		ret = pc_config_parse("t.conf", cases[i].text, strlen(cases[i].text), &rs, &err);
		if (cases[i].error) {
			CHECK_INT(ret, -EINVAL);
			CHECK_STR(err.msg, cases[i].error);
			check_empty(&rs);
		} else {
			CHECK(ret == 0, "expected success, got %d: %s", ret, err.msg);
			CHECK_STR(describe(&rs, true), cases[i].ruleset);
		}
		pc_ruleset_free(&rs);
		test_end();
	}
}

/* The shipped example must parse and open exactly SSH, web and DNS. */
static void test_example(void)
{
	struct pc_error err = {""};
	struct pc_ruleset rs;
	char path[4096];
	int ret;

	if (untrusted_fixtures()) {
		test_skip("example: examples/portcullis.conf", untrusted_fixtures());
		return;
	}
	test_begin("example: examples/portcullis.conf");
	snprintf(path, sizeof(path), "%s/../examples/portcullis.conf", tests_dir);
	ret = pc_config_load(path, &rs, &err);
	CHECK(ret == 0, "expected success, got %d: %s", ret, err.msg);
	CHECK_STR(describe(&rs, false), "tcp:22-22 tcp:80-80 tcp:443-443 udp:53-53");
	pc_ruleset_free(&rs);
	test_end();
}

/* pc_ruleset_init against the contract's defaults, field by field. */
static void test_defaults(void)
{
	struct pc_ruleset rs;

	test_begin("defaults: pc_ruleset_init");
	memset(&rs, 0x5a, sizeof(rs));
	pc_ruleset_init(&rs);
	CHECK_INT(rs.mode, PC_MODE_ENFORCE);
	CHECK_INT(rs.scan_flags_pass, false);
	CHECK_INT(rs.scan_detect, true);
	CHECK_INT(rs.scan_ports, 20);
	CHECK_INT(rs.scan_window_ns, 10ULL * SEC);
	CHECK_INT(rs.ban_ns, 600ULL * SEC);
	CHECK_INT(rs.scan_ipv6_prefix, 64);
	CHECK_INT(rs.established, PC_ESTABLISHED_SOCKET);
	CHECK_INT(rs.icmp_deny, false);
	CHECK_INT(rs.frag_deny, false);
	CHECK_INT(rs.ban_max_ns, 0);
	CHECK_INT(rs.exempt_auto, true);
	CHECK_INT(rs.exempt.count, 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(rs.allowed_protos[i], 0);
	CHECK_INT(rs.n_allows, 0);
	CHECK(rs.allows == NULL, "allows not NULL");
	CHECK_INT(rs.trusted.count, 0);
	CHECK_INT(rs.denied.count, 0);
	pc_ruleset_free(&rs);
	test_end();
}

struct ports_case {
	const char *word;
	const char *ranges; /* "LO-HI,..." */
	const char *error;
};

static const struct ports_case ports_cases[] = {
    {.word = "1", .ranges = "1-1"},
    {.word = "65535", .ranges = "65535-65535"},
    {.word = "1-65535", .ranges = "1-65535"},
    {.word = "00022", .ranges = "22-22"},
    {.word = "22,80,443", .ranges = "22-22,80-80,443-443"},
    {.word = "8000-8100,22", .ranges = "8000-8100,22-22"},
    {.word = "22,22", .ranges = "22-22,22-22"},
    {.word = "", .error = "missing port"},
    {.word = "0", .error = "bad port '0': must be 1..65535"},
    {.word = "65536", .error = "bad port '65536': must be 1..65535"},
    {.word = "18446744073709551617", .error = "bad port '18446744073709551617': must be 1..65535"},
    {.word = "-1", .error = "bad port range '-1': expected LO-HI"},
    {.word = "2-1", .error = "bad port range '2-1': 2 is greater than 1"},
    {.word = "1-2,3-2", .error = "bad port range '3-2': 3 is greater than 2"},
    {.word = " 22", .error = "bad port ' 22': not a number"},
    {.word = "22 ", .error = "bad port '22 ': not a number"},
    {.word = "0x16", .error = "bad port '0x16': not a number"},
    {.word = ",", .error = "bad port list ',': empty item"},
    {.word = "-", .error = "bad port range '-': expected LO-HI"},
};

static void run_ports_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(ports_cases); i++) {
		const struct ports_case *c = &ports_cases[i];
		struct pc_port_range *ranges = (void *)1;
		char why[256] = "", got[512] = "";
		size_t n = 99;
		int ret;

		test_begin("ports: '%s'", c->word);
		ret = pc_parse_ports(c->word, &ranges, &n, why, sizeof(why));
		if (c->error) {
			CHECK_INT(ret, -EINVAL);
			CHECK_STR(why, c->error);
			CHECK(ranges == NULL && n == 0, "ranges not cleared on error");
		} else {
			CHECK(ret == 0, "expected success, got %d: %s", ret, why);
			for (size_t j = 0; !ret && j < n; j++)
				append(got, sizeof(got), "%s%u-%u", j ? "," : "", ranges[j].lo,
				       ranges[j].hi);
			CHECK_STR(got, c->ranges);
			free(ranges);
		}
		test_end();
	}
}

struct duration_case {
	const char *word;
	__u64 ns;
	const char *error;
};

static const struct duration_case duration_cases[] = {
    {.word = "1s", .ns = SEC},
    {.word = "10s", .ns = 10 * SEC},
    {.word = "10m", .ns = 600 * SEC},
    {.word = "2h", .ns = 7200 * SEC},
    {.word = "1d", .ns = 86400 * SEC},
    {.word = "007s", .ns = 7 * SEC},
    {.word = "36500d", .ns = 36500ULL * 86400 * SEC},
    {.word = "876000h", .ns = 876000ULL * 3600 * SEC},
    {.word = "3153600000s", .ns = 3153600000ULL * SEC},
    {.word = "3153600001s", .error = "bad duration '3153600001s': too large (at most 36500d)"},
    {.word = "36501d", .error = "bad duration '36501d': too large (at most 36500d)"},
    {.word = "99999999999999999999999999d",
     .error = "bad duration '99999999999999999999999999d': too large (at most 36500d)"},
    {.word = "10", .error = "bad duration '10': missing unit (s, m, h or d)"},
    {.word = "0s", .error = "bad duration '0s': must be greater than 0"},
    {.word = "0d", .error = "bad duration '0d': must be greater than 0"},
    {.word = "10x", .error = "bad duration '10x': unknown unit 'x' (s, m, h or d)"},
    {.word = "10S", .error = "bad duration '10S': unknown unit 'S' (s, m, h or d)"},
    {.word = "10ss", .error = "bad duration '10ss': unknown unit 'ss' (s, m, h or d)"},
    {.word = "1h30m", .error = "bad duration '1h30m': unknown unit 'h30m' (s, m, h or d)"},
    {.word = "1.5h", .error = "bad duration '1.5h': unknown unit '.5h' (s, m, h or d)"},
    {.word = "s", .error = "bad duration 's': expected a number and a unit, e.g. 10m"},
    {.word = "-5s", .error = "bad duration '-5s': expected a number and a unit, e.g. 10m"},
    {.word = "", .error = "bad duration '': expected a number and a unit, e.g. 10m"},
};

static void run_duration_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(duration_cases); i++) {
		const struct duration_case *c = &duration_cases[i];
		char why[256] = "";
		__u64 ns = 12345;
		int ret;

		test_begin("duration: '%s'", c->word);
		ret = pc_parse_duration(c->word, &ns, why, sizeof(why));
		if (c->error) {
			CHECK_INT(ret, -EINVAL);
			CHECK_STR(why, c->error);
			CHECK_INT(ns, 12345);
		} else {
			CHECK(ret == 0, "expected success, got %d: %s", ret, why);
			CHECK(ns == c->ns, "expected %llu ns, got %llu", (unsigned long long)c->ns,
			      (unsigned long long)ns);
		}
		test_end();
	}
}

struct prefix_case {
	const char *word;
	int family;
	int len;
	const char *hex; /* all 16 address bytes */
	const char *error;
};

#define ZERO12 "000000000000000000000000"

static const struct prefix_case prefix_cases[] = {
    {.word = "0.0.0.0/0", .family = AF_INET, .len = 0, .hex = "00000000" ZERO12},
    {.word = "198.51.100.7", .family = AF_INET, .len = 32, .hex = "c6336407" ZERO12},
    {.word = "198.51.100.7/32", .family = AF_INET, .len = 32, .hex = "c6336407" ZERO12},
    {.word = "198.51.100.0/24", .family = AF_INET, .len = 24, .hex = "c6336400" ZERO12},
    {.word = "198.51.100.128/25", .family = AF_INET, .len = 25, .hex = "c6336480" ZERO12},
    {.word = "10.0.0.0/8", .family = AF_INET, .len = 8, .hex = "0a000000" ZERO12},
    {.word = "128.0.0.0/1", .family = AF_INET, .len = 1, .hex = "80000000" ZERO12},
    {.word = "255.255.255.255", .family = AF_INET, .len = 32, .hex = "ffffffff" ZERO12},
    {.word = "198.51.100.0/024", .family = AF_INET, .len = 24, .hex = "c6336400" ZERO12},
    {.word = "::/0", .family = AF_INET6, .len = 0, .hex = "00000000000000000000000000000000"},
    {.word = "::", .family = AF_INET6, .len = 128, .hex = "00000000000000000000000000000000"},
    {.word = "2001:db8::/32",
     .family = AF_INET6,
     .len = 32,
     .hex = "20010db8000000000000000000000000"},
    {.word = "2001:db8:1::/48",
     .family = AF_INET6,
     .len = 48,
     .hex = "20010db8000100000000000000000000"},
    {.word = "2001:db8::1",
     .family = AF_INET6,
     .len = 128,
     .hex = "20010db8000000000000000000000001"},
    {.word = "2001:DB8::1/128",
     .family = AF_INET6,
     .len = 128,
     .hex = "20010db8000000000000000000000001"},
    {.word = "2001:db8::8000:0:0:0/65",
     .family = AF_INET6,
     .len = 65,
     .hex = "20010db8000000008000000000000000"},
    {.word = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     .family = AF_INET6,
     .len = 128,
     .hex = "ffffffffffffffffffffffffffffffff"},
    {.word = "::1", .family = AF_INET6, .len = 128, .hex = "00000000000000000000000000000001"},
    {.word = "::", .family = AF_INET6, .len = 128, .hex = "00000000000000000000000000000000"},
    {.word = "::/96", .family = AF_INET6, .len = 96, .hex = "00000000000000000000000000000000"},
    {.word = "::/80", .family = AF_INET6, .len = 80, .hex = "00000000000000000000000000000000"},
    {.word = "64:ff9b::198.51.100.7",
     .family = AF_INET6,
     .len = 128,
     .hex = "0064ff9b0000000000000000c6336407"},
    {.word = "::ffff:0:0/95",
     .error = "bad prefix '::ffff:0:0/95': host bits set, did you mean '::fffe:0:0/95'?"},
    {.word = "::ffff:1.2.3.4",
     .error = "bad address '::ffff:1.2.3.4': IPv4-mapped IPv6 addresses are dropped as "
	      "malformed, write 1.2.3.4"},
    {.word = "0:0:0:0:0:FFFF:198.51.100.7",
     .error = "bad address '0:0:0:0:0:FFFF:198.51.100.7': IPv4-mapped IPv6 addresses are "
	      "dropped as malformed, write 198.51.100.7"},
    {.word = "::ffff:c633:6407",
     .error = "bad address '::ffff:c633:6407': IPv4-mapped IPv6 addresses are dropped as "
	      "malformed, write 198.51.100.7"},
    {.word = "::ffff:0.0.0.0/96",
     .error = "bad prefix '::ffff:0.0.0.0/96': IPv4-mapped IPv6 addresses are dropped as "
	      "malformed, write 0.0.0.0/0"},
    {.word = "::ffff:198.51.100.0/120",
     .error = "bad prefix '::ffff:198.51.100.0/120': IPv4-mapped IPv6 addresses are dropped as "
	      "malformed, write 198.51.100.0/24"},
    {.word = "::198.51.100.7",
     .error = "bad address '::198.51.100.7': IPv4-compatible IPv6 addresses are dropped as "
	      "malformed, write 198.51.100.7"},
    {.word = "::2",
     .error = "bad address '::2': IPv4-compatible IPv6 addresses are dropped as malformed, "
	      "write 0.0.0.2"},
    {.word = "198.51.100.7/24",
     .error = "bad prefix '198.51.100.7/24': host bits set, did you mean '198.51.100.0/24'?"},
    {.word = "192.0.0.0/1",
     .error = "bad prefix '192.0.0.0/1': host bits set, did you mean '128.0.0.0/1'?"},
    {.word = "1.2.3.4/0",
     .error = "bad prefix '1.2.3.4/0': host bits set, did you mean '0.0.0.0/0'?"},
    {.word = "2001:db8::1/64",
     .error = "bad prefix '2001:db8::1/64': host bits set, did you mean '2001:db8::/64'?"},
    {.word = "2001:db8::1/127",
     .error = "bad prefix '2001:db8::1/127': host bits set, did you mean '2001:db8::/127'?"},
    {.word = "::ffff:1.2.3.4/96",
     .error = "bad prefix '::ffff:1.2.3.4/96': IPv4-mapped IPv6 addresses are dropped as "
	      "malformed, write 1.2.3.4/0"},
    {.word = "1.2.3.4/33", .error = "bad prefix length in '1.2.3.4/33': must be 0..32"},
    {.word = "::/129", .error = "bad prefix length in '::/129': must be 0..128"},
    {.word = "1.2.3.4/-1", .error = "bad prefix length in '1.2.3.4/-1': must be 0..32"},
    {.word = "1.2.3.4/ 8", .error = "bad prefix length in '1.2.3.4/ 8': must be 0..32"},
    {.word = "1.2.3.4/99999999999999999999",
     .error = "bad prefix length in '1.2.3.4/99999999999999999999': must be 0..32"},
    {.word = "1.2.3.4/8/8", .error = "bad prefix length in '1.2.3.4/8/8': must be 0..32"},
    {.word = "1.2.3", .error = "bad address '1.2.3'"},
    {.word = "1.2.3.4.5", .error = "bad address '1.2.3.4.5'"},
    {.word = "256.0.0.0", .error = "bad address '256.0.0.0'"},
    {.word = "example.com", .error = "bad address 'example.com'"},
    {.word = "2001:db8:::1", .error = "bad address '2001:db8:::1'"},
    {.word = "fe80::1%eth0", .error = "bad address 'fe80::1%eth0'"},
    {.word = "1111:2222:3333:4444:5555:6666:7777:8888:9999",
     .error = "bad address '1111:2222:3333:4444:5555:6666:7777:8888:9999'"},
    {.word = "/24", .error = "bad address '/24'"},
    {.word = "", .error = "bad address ''"},
};

static void run_prefix_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(prefix_cases); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct pc_prefix prefix;
		char why[256] = "", hex[40] = "";
		int ret;

		test_begin("prefix: '%s'", c->word);
		memset(&prefix, 0x77, sizeof(prefix));
		ret = pc_parse_prefix(c->word, &prefix, why, sizeof(why));
		if (c->error) {
			CHECK_INT(ret, -EINVAL);
			CHECK_STR(why, c->error);
		} else {
			CHECK(ret == 0, "expected success, got %d: %s", ret, why);
			for (int j = 0; j < 16; j++)
				snprintf(hex + 2 * j, 3, "%02x", prefix.addr[j]);
			CHECK_INT(prefix.family, c->family);
			CHECK_INT(prefix.len, c->len);
			CHECK_STR(hex, c->hex);
		}
		test_end();
	}
}

static void test_proto(void)
{
	enum pc_proto proto = PC_PROTOS;
	char why[128] = "";

	test_begin("proto: tcp, udp and others");
	CHECK_INT(pc_parse_proto("tcp", &proto, why, sizeof(why)), 0);
	CHECK_INT(proto, PC_PROTO_TCP);
	CHECK_INT(pc_parse_proto("udp", &proto, why, sizeof(why)), 0);
	CHECK_INT(proto, PC_PROTO_UDP);
	CHECK_INT(pc_parse_proto("sctp", &proto, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "bad protocol 'sctp': must be tcp or udp");
	CHECK_INT(proto, PC_PROTO_UDP);
	CHECK_INT(pc_parse_proto("", &proto, NULL, 0), -EINVAL);
	test_end();
}

static void test_small_why_buffer(void)
{
	char why[8];
	__u64 ns;

	test_begin("messages: a small buffer is cut, not overrun");
	memset(why, 'z', sizeof(why));
	CHECK_INT(pc_parse_duration("10", &ns, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "bad dur");
	test_end();
}

static void test_format(void)
{
	static const struct {
		const char *word;
		const char *text;
	} cases[] = {
	    {"198.51.100.7", "198.51.100.7"}, {"198.51.100.0/24", "198.51.100.0/24"},
	    {"0.0.0.0/0", "0.0.0.0/0"},	      {"2001:db8:1::/48", "2001:db8:1::/48"},
	    {"2001:db8::1", "2001:db8::1"},   {"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
	};
	struct pc_prefix prefix = {0};
	char buf[INET6_ADDRSTRLEN + 4], tiny[6];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		test_begin("format: '%s'", cases[i].word);
		if (CHECK_INT(pc_parse_prefix(cases[i].word, &prefix, NULL, 0), 0))
			CHECK_STR(pc_prefix_format(&prefix, buf, sizeof(buf)), cases[i].text);
		test_end();
	}
	test_begin("format: bad family and short buffer");
	prefix.family = 99;
	CHECK_STR(pc_prefix_format(&prefix, buf, sizeof(buf)), "?");
	pc_parse_prefix("198.51.100.0/24", &prefix, NULL, 0);
	CHECK_STR(pc_prefix_format(&prefix, tiny, sizeof(tiny)), "198.5");
	test_end();
}

static void test_sources(void)
{
	struct pc_prefix_list list = {0};
	struct pc_prefix seed;
	struct pc_error err = {""};
	char list_path[4096], want[4200], word[4200];
	bool located = true;
	char got[512] = "";

	pc_parse_prefix("192.0.2.99", &seed, NULL, 0);

	test_begin("sources: comma list appends in order");
	CHECK_INT(pc_parse_sources("10.0.0.0/8,2001:db8::/32,192.0.2.1", &list, &err, &located), 0);
	describe_list(&list, got, sizeof(got));
	CHECK_STR(got, "<10.0.0.0/8,2001:db8::/32,192.0.2.1/32>");
	pc_prefix_list_free(&list);
	CHECK(list.items == NULL && list.count == 0 && list.cap == 0, "list not reset by free");
	test_end();

	test_begin("sources: an error appends nothing");
	pc_prefix_list_add(&list, &seed);
	CHECK_INT(pc_parse_sources("10.0.0.0/8,10.0.0.1/8", &list, &err, &located), -EINVAL);
	CHECK_STR(err.msg, "bad prefix '10.0.0.1/8': host bits set, did you mean '10.0.0.0/8'?");
	CHECK_INT(located, false);
	CHECK_INT(list.count, 1);
	pc_prefix_list_free(&list);
	test_end();

	test_begin("sources: list file relative to the base directory");
	snprintf(word, sizeof(word), "%s/configs", tests_dir);
	CHECK_INT(pc_parse_sources_at("@lists/admins.txt", word, &list, &err, &located), 0);
	got[0] = '\0';
	describe_list(&list, got, sizeof(got));
	CHECK_STR(got, "<2001:db8:1::/48,198.18.0.1/32>");
	pc_prefix_list_free(&list);
	test_end();

	test_begin("sources: base directory with a trailing slash");
	snprintf(word, sizeof(word), "%s/configs/", tests_dir);
	CHECK_INT(pc_parse_sources_at("@lists/missing.txt", word, &list, &err, &located), -ENOENT);
	snprintf(want, sizeof(want), "%s/configs/lists/missing.txt: No such file or directory",
		 tests_dir);
	CHECK_STR(err.msg, want);
	CHECK_INT(located, false);
	test_end();

	test_begin("sources: errors inside a list file carry its location");
	snprintf(list_path, sizeof(list_path), "%s/configs/lists/bad.txt", tests_dir);
	snprintf(word, sizeof(word), "192.0.2.1,@%s", list_path);
	pc_prefix_list_add(&list, &seed);
	CHECK_INT(pc_parse_sources(word, &list, &err, &located), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: bad address '192.0.2.300'", list_path);
	CHECK_STR(err.msg, want);
	CHECK_INT(located, true);
	CHECK_INT(list.count, 1);
	pc_prefix_list_free(&list);
	test_end();

	test_begin("sources: NULL error pointers are allowed");
	CHECK_INT(pc_parse_sources_at("bad", NULL, &list, NULL, NULL), -EINVAL);
	CHECK_INT(list.count, 0);
	test_end();

	test_begin("sources: list file read directly, NULL pointers allowed");
	snprintf(list_path, sizeof(list_path), "%s/configs/lists/admins.txt", tests_dir);
	CHECK_INT(pc_parse_list_file(list_path, &list, NULL, NULL), 0);
	CHECK_INT(list.count, 2);
	snprintf(list_path, sizeof(list_path), "%s/configs/lists/bad.txt", tests_dir);
	CHECK_INT(pc_parse_list_file(list_path, &list, NULL, NULL), -EINVAL);
	CHECK_INT(pc_parse_list_file("/nonexistent/list.txt", &list, &err, &located), -ENOENT);
	CHECK_STR(err.msg, "/nonexistent/list.txt: No such file or directory");
	CHECK_INT(located, false);
	CHECK_INT(list.count, 2);
	pc_prefix_list_free(&list);
	test_end();

	test_begin("sources: file name too long");
	memset(word, 'a', sizeof(word));
	word[0] = '@';
	word[sizeof(word) - 1] = '\0';
	CHECK_INT(pc_parse_sources(word, &list, &err, &located), -EINVAL);
	CHECK_STR(
	    err.msg,
	    "bad source '@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': "
	    "file name too long");
	test_end();
}

static void test_list_text(void)
{
	static const char spamhaus[] =
	    "; Spamhaus DROP List 2026/11/29 - (c) 2026 The Spamhaus Project SLC\n"
	    "; Last-Modified: Sat, 28 Nov 2026 18:02:10 GMT\n"
	    "1.10.16.0/20 ; SBL256894\n"
	    "1.19.0.0/16 ; SBL434604\n"
	    "223.254.0.0/16;SBL212803\n";
	static const char firehol[] = "#\n# firehol_level1\n#\n0.0.0.0/8\n10.0.0.0/8\n\n"
				      "  192.0.2.0/24  \r\n2001:db8::/32 # trailing\n";
	static const char bad_list[] = "10.0.0.0/8\n\n@other.txt\n";
	struct pc_prefix_list list = {0};
	struct pc_error err = {""};
	char got[512] = "";

	test_begin("list text: spamhaus drop format");
	CHECK_INT(pc_parse_list_text("drop.txt", spamhaus, strlen(spamhaus), &list, &err), 0);
	describe_list(&list, got, sizeof(got));
	CHECK_STR(got, "<1.10.16.0/20,1.19.0.0/16,223.254.0.0/16>");
	pc_prefix_list_free(&list);
	test_end();

	test_begin("list text: firehol format");
	got[0] = '\0';
	CHECK_INT(pc_parse_list_text("level1.netset", firehol, strlen(firehol), &list, &err), 0);
	describe_list(&list, got, sizeof(got));
	CHECK_STR(got, "<0.0.0.0/8,10.0.0.0/8,192.0.2.0/24,2001:db8::/32>");
	pc_prefix_list_free(&list);
	test_end();

	test_begin("list text: error names the list file and line, appends nothing");
	CHECK_INT(pc_parse_list_text("l.txt", bad_list, strlen(bad_list), &list, &err), -EINVAL);
	CHECK_STR(err.msg, "l.txt:3: bad address '@other.txt'");
	CHECK_INT(list.count, 0);
	pc_prefix_list_free(&list);
	test_end();

	test_begin("list text: empty and NULL text");
	CHECK_INT(pc_parse_list_text("l.txt", NULL, 0, &list, &err), 0);
	CHECK_INT(pc_parse_list_text("l.txt", "", 0, &list, NULL), 0);
	CHECK_INT(list.count, 0);
	test_end();
}

/* Defaults of the API itself: NULL err, NULL name, reuse after free. */
static void test_api_edges(void)
{
	struct pc_ruleset rs;
	struct pc_error err;

	test_begin("api: NULL err and name");
	CHECK_INT(pc_config_parse(NULL, "mode bad", 8, &rs, NULL), -EINVAL);
	CHECK_INT(pc_config_parse(NULL, "mode bad", 8, &rs, &err), -EINVAL);
	CHECK_STR(err.msg, "<config>:1: bad mode 'bad': must be enforce or monitor");
	CHECK_INT(pc_config_parse("t.conf", NULL, 0, &rs, &err), 0);
	CHECK_STR(describe(&rs, true), "");
	pc_ruleset_free(&rs);
	pc_ruleset_free(&rs); /* a freed ruleset is an empty one */
	test_end();

	test_begin("api: text over 64 MiB is refused before it is read");
	CHECK_INT(pc_config_parse("t.conf", "", (64U << 20) + 1, &rs, &err), -EFBIG);
	CHECK_STR(err.msg, "t.conf: File too large");
	check_empty(&rs);
	test_end();

	test_begin("api: text without a terminating NUL");
	/* "allow tcp 22" followed by bytes that are not part of the text */
	CHECK_INT(pc_config_parse("t.conf", "allow tcp 2299", 12, &rs, &err), 0);
	CHECK_STR(describe(&rs, true), "tcp:22-22@1");
	pc_ruleset_free(&rs);
	test_end();
}

/*
 * Not a fuzzer, just a smoke test for the sanitizers: mutate valid configs
 * with a fixed seed and require that every parse either succeeds or fails
 * with a located message, and frees everything.
 */
static void test_mutations(void)
{
	static const char *const seeds[] = {
	    "mode monitor\nallow tcp 22,80-90 from 198.51.100.0/24,2001:db8::/32\n",
	    "scan-detect ports 20 window 10s ban 10m ipv6-prefix 64\nicmp deny\n",
	    "allow from 192.0.2.1\ndeny from 64:ff9b::1.2.3.4/128\nfragments deny\n",
	    "exempt from 192.0.2.0/24,2001:db8::1\nexempt auto off\nallow proto 47,132\n",
	    "scan-detect ban 10m max 7d ipv6-prefix 48\n",
	};
	static const char alphabet[] = "0123456789/:,.-@# \n\tafx\0\xff";
	unsigned int state = 12345, failures = 0;

	test_begin("mutations: 20000 mutated configs parse or fail cleanly");
	for (int round = 0; round < 20000; round++) {
		char text[256];
		const char *seed = seeds[round % ARRAY_SIZE(seeds)];
		size_t len = strlen(seed);
		struct pc_error err = {""};
		struct pc_ruleset rs;
		int ret;

		memcpy(text, seed, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			state = state * 1103515245 + 12345;
			text[(state >> 8) % len] = alphabet[(state >> 20) % (sizeof(alphabet) - 1)];
		}
		ret = pc_config_parse("m.conf", text, len, &rs, &err);
		if (ret && (ret != -EINVAL || strncmp(err.msg, "m.conf:", 7) != 0)) {
			if (!failures++)
				printf("# first bad failure: %d '%s'\n", ret, err.msg);
		}
		if (ret && (rs.n_allows || rs.trusted.count || rs.denied.count))
			failures++;
		pc_ruleset_free(&rs);
	}
	CHECK_INT(failures, 0);
	test_end();
}

/* A 100,000-line config parses in well under a second: no per-line rescans. */
static void test_large_config(void)
{
	size_t cap = 100000 * 24, len = 0;
	char *text = malloc(cap);
	struct pc_ruleset rs;
	struct pc_error err;
	struct timespec a, b;
	double seconds;

	test_begin("parse: 100,000 allow lines, linear time");
	if (!CHECK(text, "malloc"))
		goto out;
	for (int i = 0; i < 100000; i++)
		len += snprintf(text + len, cap - len, "allow %s %d\n", i % 2 ? "tcp" : "udp",
				1 + (i * 7919) % 65535);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_INT(pc_config_parse("big.conf", text, len, &rs, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK_INT(rs.n_allows, 100000);
	CHECK(seconds < 2.0, "took %.2f s", seconds);
	pc_ruleset_free(&rs);
	/* And the conflict check still finds a conflict at the very end. */
	len += snprintf(text + len, cap - len, "allow tcp 7920 from 198.18.0.1\n");
	CHECK_INT(pc_config_parse("big.conf", text, len, &rs, &err), -EINVAL);
	CHECK_STR(err.msg, "big.conf:100001: tcp port 7920 conflicts with line 2: allowed from "
			   "every source there");
out:
	free(text);
	test_end();
}

int main(void)
{
	const char *env = getenv("TESTS_DIR");
	bool have_tmp;

	if (env && *env)
		tests_dir = env;
	if (!realpath(tests_dir, tests_dir_abs))
		snprintf(tests_dir_abs, sizeof(tests_dir_abs), "%s", tests_dir);
	have_tmp = make_tmp_files();

	test_defaults();
	test_proto();
	run_ports_cases();
	run_duration_cases();
	run_prefix_cases();
	test_format();
	test_small_why_buffer();
	test_sources();
	test_list_text();
	run_parse_cases();
	run_load_cases(have_tmp);
	test_unreadable_file(have_tmp);
	test_file_trust(have_tmp);
	test_fifo(have_tmp);
	test_ip_protos();
	test_example();
	test_api_edges();
	test_mutations();
	test_large_config();

	if (have_tmp)
		remove_tmp_files();
	return test_exit_code();
}
