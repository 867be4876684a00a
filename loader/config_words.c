// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The token parsers shared by the config file and the command line:
 * protocol, ports, duration, address/prefix, so "allow eth0 tcp 80,443" and
 * "allow tcp 80,443" accept exactly the same words. Each returns 0 or
 * -EINVAL with a message (no file/line) in WHY; callers add the context.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_internal.h"

const char *const cfg_proto_names[PC_PROTOS] = {"tcp", "udp"};

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
		return cfg_fail(why, why_len, "bad port range " QW ": expected LO-HI", SHOWN(item, n));
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
			ret = cfg_fail(why, why_len, "bad port list " QW ": empty item", SHOW(word));
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

static const struct duration_unit {
	char name;
	__u64 ns;
} duration_units[] = {
    {'s', NSEC_PER_SEC},
    {'m', 60 * NSEC_PER_SEC},
    {'h', 3600 * NSEC_PER_SEC},
    {'d', 86400 * NSEC_PER_SEC},
};

#define N_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

int pc_parse_duration(const char *word, __u64 *ns, char *why, size_t why_len)
{
	size_t digits = strspn(word, "0123456789");
	const char *unit = word + digits;
	const struct duration_unit *found = NULL;
	__u64 value;

	if (!digits)
		return cfg_fail(why, why_len,
			    "bad duration " QW ": expected a number and a unit, e.g. 10m",
			    SHOW(word));
	if (!*unit)
		return cfg_fail(why, why_len, "bad duration " QW ": missing unit (s, m, h or d)",
			    SHOW(word));
	for (size_t i = 0; i < N_UNITS && !unit[1]; i++)
		if (duration_units[i].name == *unit)
			found = &duration_units[i];
	if (!found)
		return cfg_fail(why, why_len, "bad duration " QW ": unknown unit " QW " (s, m, h or d)",
			    SHOW(word), SHOW(unit));
	if (cfg_parse_uint(word, digits, MAX_DURATION_NS / found->ns, &value))
		return cfg_fail(why, why_len, "bad duration " QW ": too large (at most 36500d)",
			    SHOW(word));
	if (!value)
		return cfg_fail(why, why_len, "bad duration " QW ": must be greater than 0",
			    SHOW(word));
	*ns = value * found->ns;
	return 0;
}

/* "10m" for 600 s: the largest unit that divides NS; NS is whole seconds. */
void cfg_format_duration(__u64 ns, char *buf, size_t len)
{
	for (size_t i = N_UNITS; i-- > 0;) {
		if (ns % duration_units[i].ns == 0 || i == 0) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(ns / duration_units[i].ns),
				 duration_units[i].name);
			return;
		}
	}
}

int pc_parse_prefix(const char *word, struct pc_prefix *prefix, char *why, size_t why_len)
{
	const char *slash = strchr(word, '/');
	size_t addr_len = slash ? (size_t)(slash - word) : strlen(word);
	struct pc_prefix out = {0};
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
		return cfg_fail(why, why_len, "bad prefix length in " QW ": must be 0..%u", SHOW(word),
			    max);
	out.len = len;

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
		return cfg_fail(why, why_len, "bad prefix " QW ": host bits set, did you mean '%s'?",
			    SHOW(word), network);
	}
	*prefix = out;
	return 0;
}


/* Levenshtein distance, for "did you mean"; both words are short. */
size_t cfg_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32];

	if (la >= 32 || lb >= 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diagonal = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t above = row[j];
			size_t best = diagonal + (a[i - 1] != b[j - 1]);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diagonal = above;
		}
	}
	return row[lb];
}

