// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The config parser on arbitrary bytes: pc_config_parse() as a config file
 * and pc_parse_list_text() as a list file. Beyond the sanitizers, it checks
 * what callers rely on: an error is a non-empty "NAME..." message and leaves
 * the ruleset empty; a success holds only valid ranges and prefixes.
 *
 * @FILE names are looked up in tests/fuzz/lists (FUZZ_LIST_DIR), and every
 * '/' after an '@' becomes '_', so the fuzzer reads only those fixtures and
 * never /dev/stdin, /dev/zero or the rest of the machine.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "loader/config.h"

static char config_name[4096];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_LIST_DIR");

	snprintf(config_name, sizeof(config_name), "%s/fuzz.conf", dir ? dir : "tests/fuzz/lists");
	return 0;
}

/* Every '/' between an '@' and the end of its source item becomes '_'. */
static void confine_list_paths(char *text, size_t len)
{
	bool in_name = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '@')
			in_name = true;
		else if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '#')
			in_name = false;
		else if (in_name && c == '/')
			text[i] = '_';
	}
}

static void check_prefix(const struct pc_prefix *prefix)
{
	unsigned int max = prefix->family == AF_INET ? 32 : 128;

	FUZZ_ASSERT(prefix->family == AF_INET || prefix->family == AF_INET6, "family %u",
		    prefix->family);
	FUZZ_ASSERT(prefix->len <= max, "prefix length %u", prefix->len);
	/* IPv4 written as IPv6 (::ffff:0:0/96) is refused with a hint. */
	FUZZ_ASSERT(prefix->family == AF_INET || prefix->len < 96 ||
			memcmp(prefix->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0,
		    "IPv4-mapped prefix accepted");
	for (unsigned int bit = prefix->len; bit < max; bit++)
		FUZZ_ASSERT(!(prefix->addr[bit / 8] & (0x80 >> (bit % 8))), "host bit %u set", bit);
}

static void check_list(const struct pc_prefix_list *list)
{
	FUZZ_ASSERT(list->count <= list->cap, "count %zu > cap %zu", list->count, list->cap);
	for (size_t i = 0; i < list->count; i++)
		check_prefix(&list->items[i]);
}

static void check_error(int ret, const struct pc_error *err)
{
	FUZZ_ASSERT(ret < 0, "ret %d", ret);
	FUZZ_ASSERT(err->msg[0], "error %d without a message", ret);
	FUZZ_ASSERT(memchr(err->msg, '\0', sizeof(err->msg)), "message not terminated");
}

static void fuzz_config(const char *text, size_t len)
{
	struct pc_error err = {""};
	struct pc_ruleset rs;
	int ret = pc_config_parse(config_name, text, len, &rs, &err);

	if (ret) {
		check_error(ret, &err);
		FUZZ_ASSERT(!rs.n_allows && !rs.allows && !rs.trusted.count && !rs.denied.count &&
				!rs.exempt.count && !rs.allowed_protos[0],
			    "a failed parse left rules behind");
		return;
	}
	for (size_t i = 0; i < rs.n_allows; i++) {
		const struct pc_allow *allow = &rs.allows[i];

		FUZZ_ASSERT(allow->proto < PC_PROTOS, "proto %d", allow->proto);
		FUZZ_ASSERT(allow->lo >= 1 && allow->lo <= allow->hi, "range %u-%u", allow->lo,
			    allow->hi);
		FUZZ_ASSERT(allow->line >= 1, "line %d", allow->line);
		check_list(&allow->sources);
	}
	check_list(&rs.trusted);
	check_list(&rs.denied);
	check_list(&rs.exempt);
	/* tcp, udp, icmp and ipv6-icmp have directives of their own. */
	FUZZ_ASSERT(!(rs.allowed_protos[0] & (1ULL << 1 | 1ULL << 6 | 1ULL << 17 | 1ULL << 58)),
		    "allow proto took tcp, udp or icmp: %#llx",
		    (unsigned long long)rs.allowed_protos[0]);
	FUZZ_ASSERT(!rs.ban_max_ns || rs.ban_max_ns >= rs.ban_ns, "max %llu below ban %llu",
		    (unsigned long long)rs.ban_max_ns, (unsigned long long)rs.ban_ns);
	FUZZ_ASSERT(!rs.scan_detect || (rs.scan_ports >= 2 && rs.scan_ports <= PC_SCAN_MAX_PORTS),
		    "scan ports %u", rs.scan_ports);
	FUZZ_ASSERT(rs.scan_ipv6_prefix >= 32 && rs.scan_ipv6_prefix <= 128, "ipv6-prefix %u",
		    rs.scan_ipv6_prefix);
	FUZZ_ASSERT(rs.scan_window_ns && rs.ban_ns, "zero duration");
	pc_ruleset_free(&rs);
}

static void fuzz_list(const char *text, size_t len)
{
	struct pc_prefix_list list = {0};
	struct pc_prefix seed = {.family = AF_INET, .len = 32, .addr = {192, 0, 2, 1}};
	struct pc_error err = {""};
	int ret;

	/* Appends to what is there, and on error keeps exactly that. */
	FUZZ_ASSERT(pc_prefix_list_add(&list, &seed) == 0, "out of memory");
	ret = pc_parse_list_text("fuzz.txt", text, len, &list, &err);
	if (ret) {
		check_error(ret, &err);
		FUZZ_ASSERT(strncmp(err.msg, "fuzz.txt", 8) == 0, "message '%s'", err.msg);
		FUZZ_ASSERT(list.count == 1, "a failed list kept %zu entries", list.count);
	}
	check_list(&list);
	pc_prefix_list_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not NUL-terminated, as the parser allows: ASan sees any over-read. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	confine_list_paths(text, size);
	fuzz_config(text, size);
	fuzz_list(text, size);
	free(text);
	return 0;
}
