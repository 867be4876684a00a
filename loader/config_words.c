// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The token parsers shared by the config file and the command line:
 * protocol, ports, duration, address/prefix, so "allow eth0 tcp 80,443" and
 * "allow tcp 80,443" accept exactly the same words. Each returns 0 or
 * -EINVAL with a message (no file/line) in WHY; callers add the context.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_internal.h"

const char *const cfg_proto_names[PC_PROTOS] = { "tcp", "udp" };

int cfg_fail(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int cfg_parse_uint(const char *s, size_t n, __u64 max, __u64 *out)
{
	bool too_big = false;
	__u64 value = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int digit = (unsigned char)s[i] - '0';

		if (digit > 9)
			return -EINVAL;
		if (too_big || digit > max || value > (max - digit) / 10)
			too_big = true;
		else
			value = value * 10 + digit;
	}
	if (too_big)
		return -ERANGE;
	*out = value;
	return 0;
}

int pc_prefix_list_add(struct pc_prefix_list *list, const struct pc_prefix *prefix)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct pc_prefix *items;

		if (cap < list->cap || cap > SIZE_MAX / sizeof(*items))
			return -ENOMEM;
		items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = *prefix;
	return 0;
}

void pc_prefix_list_free(struct pc_prefix_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
	list->cap = 0;
}

const char *pc_prefix_format(const struct pc_prefix *prefix, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned int full = prefix->family == AF_INET ? 32 : 128;

	if (!len)
		return buf;
	if ((prefix->family != AF_INET && prefix->family != AF_INET6) ||
	    !inet_ntop(prefix->family, prefix->addr, addr, sizeof(addr)))
		snprintf(buf, len, "?");
	else if (prefix->len >= full)
		snprintf(buf, len, "%s", addr);
	else
		snprintf(buf, len, "%s/%u", addr, prefix->len);
	return buf;
}

int pc_parse_proto(const char *word, enum pc_proto *proto, char *why, size_t why_len)
{
	for (int i = 0; i < PC_PROTOS; i++) {
		if (strcmp(word, cfg_proto_names[i]) == 0) {
			*proto = i;
			return 0;
		}
	}
	return cfg_fail(why, why_len, "bad protocol " QW ": must be tcp or udp", SHOW(word));
}

static int parse_port(const char *s, size_t n, __u16 *port, char *why, size_t why_len)
{
	__u64 value;
	int ret = cfg_parse_uint(s, n, 65535, &value);

	if (ret == -EINVAL)
		return cfg_fail(why, why_len, "bad port " QW ": not a number", SHOWN(s, n));
	if (ret || value == 0)
		return cfg_fail(why, why_len, "bad port " QW ": must be 1..65535", SHOWN(s, n));
	*port = value;
	return 0;
}

/* One item of a port list: "N" or "LO-HI". */
static int parse_port_item(const char *item, size_t n, struct pc_port_range *range, char *why,
			   size_t why_len)
{
	const char *dash = memchr(item, '-', n);
	size_t lo_len, hi_len;
	int ret;

	if (!dash) {
		ret = parse_port(item, n, &range->lo, why, why_len);
		range->hi = range->lo;
		return ret;
	}
	lo_len = dash - item;
	hi_len = n - lo_len - 1;
	if (!lo_len || !hi_len || memchr(dash + 1, '-', hi_len))
		return cfg_fail(why, why_len, "bad port range " QW ": expected LO-HI",
				SHOWN(item, n));
	ret = parse_port(item, lo_len, &range->lo, why, why_len);
	if (!ret)
		ret = parse_port(dash + 1, hi_len, &range->hi, why, why_len);
	if (!ret && range->lo > range->hi)
		ret = cfg_fail(why, why_len, "bad port range " QW ": %u is greater than %u",
			       SHOWN(item, n), range->lo, range->hi);
	return ret;
}

int pc_parse_ports(const char *word, struct pc_port_range **ranges, size_t *n, char *why,
		   size_t why_len)
{
	struct pc_port_range *out;
	size_t items = 1, count = 0;
	const char *item = word;
	int ret;

	*ranges = NULL;
	*n = 0;
	if (!*word)
		return cfg_fail(why, why_len, "missing port");
	for (const char *c = word; *c; c++)
		items += *c == ',';
	out = calloc(items, sizeof(*out));
	if (!out) {
		cfg_fail(why, why_len, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		size_t len = strcspn(item, ",");

		if (!len)
			ret = cfg_fail(why, why_len, "bad port list " QW ": empty item",
				       SHOW(word));
		else
			ret = parse_port_item(item, len, &out[count], why, why_len);
		if (ret) {
			free(out);
			return ret;
		}
		count++;
		if (!item[len])
			break;
		item += len + 1;
	}
	*ranges = out;
	*n = count;
	return 0;
}

/* Protocols with directives of their own, and what to write instead. */
static const struct own_directive {
	int number;
	const char *instead;
} own_directives[] = {
	{ IPPROTO_ICMP, "icmp allow" },
	{ IPPROTO_TCP, "allow tcp PORTS" },
	{ IPPROTO_UDP, "allow udp PORTS" },
	{ IPPROTO_ICMPV6, "icmp allow" },
};

/* "unknown protocol", with the closest name of /etc/protocols if one is close. */
static int unknown_ip_proto(const char *name, char *why, size_t why_len)
{
	struct protoent entry, *found;
	char buf[1024], closest[64] = "";
	/* Half the name at most: names are short, and "xy" is not "ip". */
	size_t best = strlen(name) / 2 + 1;

	if (best > CFG_SUGGEST_EDITS)
		best = CFG_SUGGEST_EDITS;
	setprotoent(0);
	while (getprotoent_r(&entry, buf, sizeof(buf), &found) == 0 && found) {
		cfg_suggest(name, found->p_name, closest, sizeof(closest), &best);
		for (char **alias = found->p_aliases; *alias; alias++)
			cfg_suggest(name, *alias, closest, sizeof(closest), &best);
	}
	endprotoent();
	if (closest[0])
		return cfg_fail(why, why_len, "unknown protocol " QW " (did you mean '%s'?)",
				SHOW(name), closest);
	return cfg_fail(why, why_len,
			"unknown protocol " QW ": not in /etc/protocols (or give a number 0..255)",
			SHOW(name));
}

/* One item of a protocol list: a number 0..255 or a name. */
static int parse_ip_proto(const char *item, size_t n, int *number, char *why, size_t why_len)
{
	char name[64], buf[1024];
	struct protoent entry, *found = NULL;
	__u64 value;

	if (n >= sizeof(name))
		return cfg_fail(why, why_len, "unknown protocol " QW, SHOWN(item, n));
	memcpy(name, item, n);
	name[n] = '\0';
	if (strspn(name, "0123456789+-") == n) {
		if (cfg_parse_uint(name, n, 255, &value))
			return cfg_fail(why, why_len, "bad protocol " QW ": must be 0..255",
					SHOW(name));
		*number = value;
	} else if (getprotobyname_r(name, &entry, buf, sizeof(buf), &found) == 0 && found) {
		*number = found->p_proto;
	} else {
		return unknown_ip_proto(name, why, why_len);
	}
	for (size_t i = 0; i < sizeof(own_directives) / sizeof(own_directives[0]); i++)
		if (own_directives[i].number == *number)
			return cfg_fail(why, why_len,
					"protocol " QW " has a directive of its own: write '%s'",
					SHOW(name), own_directives[i].instead);
	return 0;
}

int pc_parse_ip_protos(const char *word, __u64 protos[4], char *why, size_t why_len)
{
	__u64 parsed[4] = { 0 };
	const char *item = word;
	int number, ret;

	if (!*word)
		return cfg_fail(why, why_len, "missing protocol");
	for (;;) {
		size_t len = strcspn(item, ",");

		if (!len)
			return cfg_fail(why, why_len, "bad protocol list " QW ": empty item",
					SHOW(word));
		ret = parse_ip_proto(item, len, &number, why, why_len);
		if (ret)
			return ret;
		parsed[number / 64] |= 1ULL << (number % 64);
		if (!item[len])
			break;
		item += len + 1;
	}
	for (int i = 0; i < 4; i++)
		protos[i] |= parsed[i];
	return 0;
}

static const struct duration_unit {
	char name;
	__u64 ns;
} duration_units[] = {
	{ 's', NSEC_PER_SEC },
	{ 'm', 60 * NSEC_PER_SEC },
	{ 'h', 3600 * NSEC_PER_SEC },
	{ 'd', 86400 * NSEC_PER_SEC },
};

#define N_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/*
 * One NUMBER UNIT step of a duration at *CURSOR, with a unit smaller than
 * the one before (*LAST, N_UNITS at first), added to *NS.
 */
static int duration_part(const char *word, const char **cursor, size_t *last, __u64 *ns,
			 char *why, size_t why_len)
{
	const char *at = *cursor;
	size_t digits = strspn(at, "0123456789");
	const char *unit = at + digits;
	size_t found = N_UNITS, unit_len;
	__u64 value;

	if (!digits)
		return cfg_fail(why, why_len,
				"bad duration " QW ": expected a number and a unit, e.g. 10m",
				SHOW(word));
	if (!*unit && at == word)
		return cfg_fail(why, why_len, "bad duration " QW ": missing unit (s, m, h or d)",
				SHOW(word));
	if (!*unit)
		return cfg_fail(why, why_len,
				"bad duration " QW ": missing unit after '%.*s' (s, m, h or d)",
				SHOW(word), (int)(digits > SHOW_MAX ? SHOW_MAX : digits), at);
	unit_len = strcspn(unit, "0123456789");
	for (size_t i = 0; i < N_UNITS && unit_len == 1; i++)
		if (duration_units[i].name == *unit)
			found = i;
	if (*unit == '.')
		return cfg_fail(why, why_len,
				"bad duration " QW ": no fractions (write e.g. 1h30m for 1.5h)",
				SHOW(word));
	if (found == N_UNITS)
		return cfg_fail(why, why_len,
				"bad duration " QW ": unknown unit " QW " (s, m, h or d)", SHOW(word),
				SHOWN(unit, unit_len));
	if (found >= *last)
		return cfg_fail(why, why_len,
				"bad duration " QW ": '%c' after a smaller or the same unit (write "
				"the largest first, e.g. 1d12h)",
				SHOW(word), *unit);
	if (cfg_parse_uint(at, digits, MAX_DURATION_NS / duration_units[found].ns, &value) ||
	    value * duration_units[found].ns > MAX_DURATION_NS - *ns)
		return cfg_fail(why, why_len, "bad duration " QW ": too large (at most 36500d)",
				SHOW(word));
	*ns += value * duration_units[found].ns;
	*last = found;
	*cursor = unit + 1;
	return 0;
}

int pc_parse_duration(const char *word, __u64 *ns, char *why, size_t why_len)
{
	const char *cursor = word;
	size_t last = N_UNITS;
	__u64 total = 0;
	int ret;

	do {
		ret = duration_part(word, &cursor, &last, &total, why, why_len);
		if (ret)
			return ret;
	} while (*cursor);
	if (!total)
		return cfg_fail(why, why_len, "bad duration " QW ": must be greater than 0",
				SHOW(word));
	*ns = total;
	return 0;
}

/* "10m" for 600 s, "1h30m" for 5400 s: every non-zero unit, largest first; NS is whole
 * seconds. pc_parse_duration() reads it back. */
void cfg_format_duration(__u64 ns, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = N_UNITS; i-- > 0 && used < len;) {
		__u64 count = ns / duration_units[i].ns;

		if (!count && (i || used))
			continue;
		used += snprintf(buf + used, len - used, "%llu%c", (unsigned long long)count,
				 duration_units[i].name);
		ns -= count * duration_units[i].ns;
	}
}

/*
 * IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) IPv6 sources never
 * appear legitimately on the wire, and the data path drops them as
 * malformed: in a config such an address is an IPv4 one written the long
 * way, so say how to write it. :: and ::1 are no IPv4 addresses and stay.
 */
static int embedded_ipv4(const char *word, const struct pc_prefix *prefix, char *why,
			 size_t why_len)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff }, compatible[12];
	struct pc_prefix ipv4 = { .family = AF_INET };
	char shown[INET6_ADDRSTRLEN + 4];
	const char *kind;

	if (prefix->family != AF_INET6 || prefix->len < 96)
		return 0;
	ipv4.len = prefix->len - 96;
	memcpy(ipv4.addr, prefix->addr + 12, 4);
	if (memcmp(prefix->addr, mapped, sizeof(mapped)) == 0)
		kind = "IPv4-mapped";
	else if (memcmp(prefix->addr, compatible, sizeof(compatible)) == 0 &&
		 (ipv4.addr[0] | ipv4.addr[1] | ipv4.addr[2] | ipv4.addr[3]) > 1)
		kind = "IPv4-compatible";
	else
		return 0;
	pc_prefix_format(&ipv4, shown, sizeof(shown));
	return cfg_fail(why, why_len,
			"bad %s " QW ": %s IPv6 addresses are dropped as malformed, write %s",
			prefix->len == 128 ? "address" : "prefix", SHOW(word), kind, shown);
}

int pc_parse_prefix(const char *word, struct pc_prefix *prefix, char *why, size_t why_len)
{
	const char *slash = strchr(word, '/');
	size_t addr_len = slash ? (size_t)(slash - word) : strlen(word);
	struct pc_prefix out = { 0 };
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned int max, bytes, bits;
	bool host_bits = false;
	__u64 len;

	if (!addr_len || addr_len >= sizeof(addr))
		return cfg_fail(why, why_len, "bad address " QW, SHOW(word));
	memcpy(addr, word, addr_len);
	addr[addr_len] = '\0';
	out.family = memchr(addr, ':', addr_len) ? AF_INET6 : AF_INET;
	max = out.family == AF_INET ? 32 : 128;
	if (inet_pton(out.family, addr, out.addr) != 1)
		return cfg_fail(why, why_len, "bad address " QW, SHOW(word));
	len = max;
	if (slash && cfg_parse_uint(slash + 1, strlen(slash + 1), max, &len))
		return cfg_fail(why, why_len, "bad prefix length in " QW ": must be 0..%u",
				SHOW(word), max);
	out.len = len;
	if (embedded_ipv4(word, &out, why, why_len))
		return -EINVAL;

	/* Clear the host bits, remembering whether any were set. */
	bytes = out.len / 8;
	bits = out.len % 8;
	for (unsigned int i = bytes; i < max / 8; i++) {
		__u8 keep = i == bytes ? (__u8)(0xff00 >> bits) : 0;

		host_bits |= (out.addr[i] & ~keep) != 0;
		out.addr[i] &= keep;
	}
	if (host_bits) {
		char network[INET6_ADDRSTRLEN + 8];

		pc_prefix_format(&out, network, sizeof(network));
		return cfg_fail(why, why_len,
				"bad prefix " QW ": host bits set, did you mean '%s'?", SHOW(word),
				network);
	}
	*prefix = out;
	return 0;
}

/*
 * Edit distance for "did you mean": insertions, deletions, substitutions
 * and swaps of two neighbours ("stauts" is one edit from "status"), each
 * one edit (optimal string alignment). Both words are short.
 */
size_t cfg_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[32][32];

	if (la >= 32 || lb >= 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

void cfg_suggest(const char *word, const char *candidate, char *closest, size_t len, size_t *best)
{
	size_t distance = cfg_edit_distance(word, candidate);
	size_t len_word = strlen(word);

	/* Of two as near, the one as long as WORD: a swap, not a letter lost. */
	if (distance < *best || (distance == *best && closest[0] &&
				 strlen(candidate) == len_word && strlen(closest) != len_word)) {
		*best = distance;
		snprintf(closest, len, "%s", candidate);
	}
}
