// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The token parsers shared by the config and the command line: ports,
 * prefix, duration, protocol, IP protocol lists (when the first byte is 128
 * or more) and source lists (without @FILE, which fuzz_config covers). The first byte picks the size of the message buffer
 * (0 means NULL), so truncated messages are exercised too; the rest is the
 * word. Results are checked against the grammar, not only for crashes.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "loader/config.h"

#define NSEC_PER_SEC 1000000000ULL

static void check_ports(const char *word, char *why, size_t why_len)
{
	struct pc_port_range *ranges;
	size_t n, commas = 0;

	if (pc_parse_ports(word, &ranges, &n, why, why_len)) {
		FUZZ_ASSERT(!ranges && !n, "a failed parse returned %zu ranges", n);
		return;
	}
	for (const char *c = word; *c; c++)
		commas += *c == ',';
	FUZZ_ASSERT(n == commas + 1, "%zu ranges from %zu commas", n, commas);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(ranges[i].lo >= 1 && ranges[i].lo <= ranges[i].hi, "range %u-%u",
			    ranges[i].lo, ranges[i].hi);
	free(ranges);
}

static void check_prefix(const char *word, char *why, size_t why_len)
{
	char shown[INET6_ADDRSTRLEN + 8], why2[512];
	struct pc_prefix prefix, again;
	unsigned int max;

	if (pc_parse_prefix(word, &prefix, why, why_len))
		return;
	max = prefix.family == AF_INET ? 32 : 128;
	FUZZ_ASSERT(prefix.family == AF_INET || prefix.family == AF_INET6, "family");
	FUZZ_ASSERT(prefix.len <= max, "length %u", prefix.len);
	/* What we print must parse back to the same prefix. */
	pc_prefix_format(&prefix, shown, sizeof(shown));
	FUZZ_ASSERT(pc_parse_prefix(shown, &again, why2, sizeof(why2)) == 0,
		    "'%s' (from '%s') does not parse back: %s", shown, word, why2);
	FUZZ_ASSERT(memcmp(&prefix, &again, sizeof(prefix)) == 0, "'%s' round trip differs", shown);
}

static void check_duration(const char *word, char *why, size_t why_len)
{
	__u64 ns;

	if (pc_parse_duration(word, &ns, why, why_len))
		return;
	FUZZ_ASSERT(ns >= NSEC_PER_SEC && ns % NSEC_PER_SEC == 0, "%llu ns from '%s'",
		    (unsigned long long)ns, word);
	FUZZ_ASSERT(ns <= 36500ULL * 86400 * NSEC_PER_SEC, "%llu ns is over 100 years",
		    (unsigned long long)ns);
}

static void check_proto(const char *word, char *why, size_t why_len)
{
	enum pc_proto proto;

	if (pc_parse_proto(word, &proto, why, why_len))
		return;
	FUZZ_ASSERT(strcmp(word, proto == PC_PROTO_TCP ? "tcp" : "udp") == 0, "'%s' is proto %d",
		    word, proto);
}

static void check_ip_protos(const char *word, char *why, size_t why_len)
{
	__u64 protos[4] = {1ULL << 63, 0, 0, 1}; /* kept on error, added to on success */

	if (pc_parse_ip_protos(word, protos, why, why_len)) {
		FUZZ_ASSERT(protos[0] == 1ULL << 63 && !protos[1] && !protos[2] && protos[3] == 1,
			    "a failed parse changed the map");
		return;
	}
	FUZZ_ASSERT(protos[0] & 1ULL << 63 && protos[3] & 1, "success cleared bits");
	FUZZ_ASSERT(!(protos[0] & (1ULL << 1 | 1ULL << 6 | 1ULL << 17 | 1ULL << 58)),
		    "'%s' set tcp, udp or icmp", word);
}

static void check_sources(const char *word)
{
	struct pc_prefix seed = {.family = AF_INET6, .len = 128, .addr = {0x20, 0x01, 0x0d, 0xb8}};
	struct pc_prefix_list list = {0};
	struct pc_error err = {""};
	bool located = true;
	int ret;

	if (strchr(word, '@'))
		return;
	FUZZ_ASSERT(pc_prefix_list_add(&list, &seed) == 0, "out of memory");
	ret = pc_parse_sources(word, &list, &err, &located);
	if (ret) {
		FUZZ_ASSERT(err.msg[0], "error without a message");
		FUZZ_ASSERT(!located, "no file, yet a located error");
		FUZZ_ASSERT(list.count == 1, "a failed parse kept %zu entries", list.count);
	} else {
		FUZZ_ASSERT(list.count > 1, "success without a source");
	}
	pc_prefix_list_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pc_port_range *ranges = NULL;
	char *word, *why, *small;
	size_t why_len, n;

	if (size < 1)
		return 0;
	why_len = data[0] % 80; /* 0: no message buffer at all */
	word = strndup((const char *)data + 1, size - 1);
	why = malloc(512);
	small = why_len ? malloc(why_len) : NULL; /* exact size: ASan sees an overflow */
	if (!word || !why || (why_len && !small))
		goto out;

	check_ports(word, small, why_len);
	check_prefix(word, small, why_len);
	check_duration(word, small, why_len);
	check_proto(word, small, why_len);
	/* Names are looked up in /etc/protocols, which is slow: half the inputs. */
	if (data[0] & 0x80)
		check_ip_protos(word, small, why_len);
	check_sources(word);
	/* And with a roomy buffer: a message is always there. */
	why[0] = '\0';
	if (pc_parse_ports(word, &ranges, &n, why, 512) == 0)
		FUZZ_ASSERT(why[0] == '\0', "success wrote a message");
	else
		FUZZ_ASSERT(why[0], "failure without a message");
	free(ranges);
out:
	free(word);
	free(why);
	free(small);
	return 0;
}
