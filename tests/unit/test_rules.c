// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The rules printer round trip (loader/rules.c, pc_ruleset_print): a config
 * is committed to a loaded program's maps, read back from them and printed;
 * the printout must parse, commit to the same maps (ports with their flags,
 * pass slots and source lists, the trie's flagged sources, the settings),
 * and print the same text again. Every config of examples/ and
 * tests/configs/ that parses, and cases written for the printer's corners:
 * merged ranges, a port named inside a range, nested deny/allow prefixes,
 * rate limits, long lists that must be cut into several lines.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "testing.h"
#include "loader/apply.h"
#include "loader/rules.h"
#include "maps/sources.h"
#include "program.h"

static struct portcullis_bpf *skel;
static struct pc_maps maps;
static int prog_fd;
static __u32 generation;

struct dump_entry {
	struct pc_source_key key;
	__u32 value;
};

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct dump_entry));
}

/* Sorted prefixes of per-port list ID, as text. */
static void dump_list(FILE *out, const struct dump_entry *e, size_t n, __u16 id)
{
	char addr[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++) {
		if (e[i].key.kind != PC_SRC_PORT || e[i].key.list != id)
			continue;
		inet_ntop(e[i].key.family == PC_SRC_FAMILY_V4 ? AF_INET : AF_INET6, e[i].key.addr,
			  addr, sizeof(addr));
		fprintf(out, " %s/%u", addr, e[i].key.prefixlen - PC_SRC_KEY_HDR_BITS);
	}
}

/*
 * What the live set holds, as text: settings (not the generation or the
 * runtime mark), every open port's rule with its list's prefixes (list ids
 * are the loader's numbering, the prefixes are the rule) and its limit's
 * bucket, every deny/trust/exempt entry with its flags.
 */
static char *dump_live(void)
{
	struct pc_port_table *table = calloc(1, sizeof(*table));
	struct dump_entry *entries = calloc(1 << 16, sizeof(*entries));
	struct pc_limit *limits = calloc(PC_LIMITS_MAX, sizeof(*limits));
	struct pc_source_key key, next;
	struct pc_config cfg;
	size_t n = 0, len = 0;
	char *text = NULL, addr[INET6_ADDRSTRLEN];
	void *prev = NULL;
	FILE *out = open_memstream(&text, &len);
	__u32 set;
	int trie;

	if (!table || !entries || !limits || !out || pc_maps_active_set(&maps, &set) ||
	    pc_maps_read_config(&maps, set, &cfg) || pc_maps_read_ports(&maps, set, table) ||
	    pc_maps_read_limits(&maps, set, limits))
		goto out;
	cfg.generation = 0;
	cfg.flags &= ~PC_CFG_MODIFIED;
	fprintf(out, "config");
	for (size_t i = 0; i < sizeof(cfg); i++)
		fprintf(out, " %02x", ((__u8 *)&cfg)[i]);
	fprintf(out, "\n");
	trie = pc_sources_open(&maps, set);
	while (trie >= 0 && n < (1 << 16) && bpf_map_get_next_key(trie, prev, &next) == 0) {
		entries[n].key = next;
		bpf_map_lookup_elem(trie, &next, &entries[n].value);
		n++;
		key = next;
		prev = &key;
	}
	if (trie >= 0)
		close(trie);
	qsort(entries, n, sizeof(*entries), cmp_entry);
	for (size_t i = 0; i < n; i++) {
		if (entries[i].key.kind != PC_SRC_SOURCE)
			continue;
		inet_ntop(entries[i].key.family == PC_SRC_FAMILY_V4 ? AF_INET : AF_INET6,
			  entries[i].key.addr, addr, sizeof(addr));
		fprintf(out, "source %s/%u flags %u\n", addr,
			entries[i].key.prefixlen - PC_SRC_KEY_HDR_BITS, entries[i].value);
	}
	for (__u32 index = 0; index < PC_PORT_SLOTS; index++) {
		const struct pc_port_rule *r = &table->rules[index];

		if (!r->flags)
			continue;
		fprintf(out, "port %u/%u flags %u slot %u list", index / PC_PORTS, index % PC_PORTS,
			r->flags, r->pass_slot);
		if (r->flags & PC_PORT_SOURCE_LIMITED)
			dump_list(out, entries, n, r->source_list);
		if (r->flags & PC_PORT_RATE_LIMITED)
			fprintf(out, " limit %u: %llu ns, %llu ns", r->limit,
				(unsigned long long)limits[r->limit].interval_ns,
				(unsigned long long)limits[r->limit].tolerance_ns);
		fprintf(out, "\n");
	}
out:
	if (out)
		fclose(out);
	free(entries);
	free(limits);
	free(table);
	return text;
}

static int commit_text(const char *name, const char *text)
{
	struct pc_error err = {};
	struct pc_ruleset rs;
	int ret = pc_config_parse(name, text, strlen(text), &rs, &err);

	if (ret) {
		test_detail("%s", err.msg);
		return ret;
	}
	ret = pc_ruleset_commit(&maps, &rs, ++generation);
	pc_ruleset_free(&rs);
	return ret;
}

/* The live rules printed; NULL on failure. */
static char *print_live(void)
{
	struct pc_ruleset rs;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	__u32 set;

	if (pc_maps_active_set(&maps, &set) || pc_rules_read(&maps, set, &rs))
		return NULL;
	out = open_memstream(&text, &len);
	if (out) {
		pc_ruleset_print(out, &rs);
		fclose(out);
	}
	pc_ruleset_free(&rs);
	return text;
}

static void first_difference(const char *a, const char *b)
{
	int line = 1;

	for (; *a && *a == *b; a++, b++)
		line += *a == '\n';
	test_detail("first difference at line %d: '%.80s' vs '%.80s'", line, a, b);
}

/* NAME's TEXT committed, printed, the printout committed: same maps, same printout. */
static void round_trip(const char *name, const char *text)
{
	char *before = NULL, *printed = NULL, *after = NULL, *again = NULL;

	test_begin("rules round trip: %s", name);
	if (commit_text(name, text)) {
		test_fail("the config does not commit");
		goto out;
	}
	before = dump_live();
	printed = print_live();
	if (!before || !printed) {
		test_fail("can't read the live rules");
		goto out;
	}
	if (commit_text("printed", printed)) {
		test_fail("the printed rules do not parse and commit:\n%s", printed);
		goto out;
	}
	after = dump_live();
	again = print_live();
	if (!after || strcmp(before, after) != 0) {
		test_fail("the printed rules give other maps");
		first_difference(before, after ? after : "");
	}
	if (!again || strcmp(printed, again) != 0) {
		test_fail("printed twice, different text");
		first_difference(printed, again ? again : "");
	}
out:
	test_end();
	free(before);
	free(printed);
	free(after);
	free(again);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int c;

	if (!f)
		return NULL;
	out = open_memstream(&text, &len);
	while (out && (c = fgetc(f)) != EOF)
		fputc(c, out);
	if (out)
		fclose(out);
	fclose(f);
	return text;
}

/* Every config in DIR that parses (the others test the parser's errors). */
static int config_files(const char *dir)
{
	struct dirent *entry;
	DIR *d = opendir(dir);
	char path[512];
	int tried = 0;

	while (d && (entry = readdir(d))) {
		struct pc_ruleset rs;
		size_t n = strlen(entry->d_name);
		char *text;

		if (n < 6 || strcmp(entry->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		if (pc_config_load(path, &rs, NULL))
			continue;
		pc_ruleset_free(&rs);
		text = read_file(path);
		if (text)
			round_trip(path, text);
		free(text);
		tried++;
	}
	if (d)
		closedir(d);
	return tried;
}

/* A config with N prefixes in one list: the printer must cut its lines. */
static char *long_list(const char *head, int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	/* 100 to a line here; printed as one list, they need several. */
	for (int i = 0; i < n; i++)
		fprintf(out, "%s2001:2:0:%x::/64%s", i % 100 ? "," : head, i,
			i % 100 == 99 || i == n - 1 ? "\n" : "");
	fclose(out);
	return text;
}

static void run_cases(void)
{
	static const struct {
		const char *name, *text;
	} cases[] = {
		{ "defaults (no line)", "" },
		{ "every setting away from its default",
		  "mode monitor\nscan-flags pass\nestablished off\nicmp deny\nfragments deny\n"
		  "exempt auto off\nscan-detect ports 7 window 2m ban 1h max 7d ipv6-prefix 48\n"
		  "allow proto gre,esp,112\n" },
		{ "scan-detect off", "scan-detect off\nallow udp 53\n" },
		{ "single ports, ranges, a port inside a range, neighbouring ranges",
		  "allow tcp 80\nallow tcp 81\nallow tcp 8000-8050\nallow tcp 8051-8100\n"
		  "allow tcp 8080\nallow udp 1-1024\nallow tcp 65535\n" },
		{ "per-port lists, shared, overlapping and unioned",
		  "allow tcp 22 from 198.18.0.0/24\nallow tcp 2222 from 198.18.0.0/24\n"
		  "allow tcp 5000-5010 from 2001:2::/48\nallow tcp 5005 from 198.18.1.1\n"
		  "allow udp 161 from 198.18.0.7,2001:2::7\n" },
		{ "rate limits: one line over several ranges, burst, rates that do not divide",
		  "allow tcp 22,80,8000-8100\nallow udp 53\nlimit tcp 22 rate 6/30s\n"
		  "limit tcp 80,8000-8010 rate 100/1s burst 200\nlimit udp 53 rate 7/1s\n"
		  "limit tcp 8050 rate 3/1h burst 1\n" },
		{ "nested deny, trust and exempt prefixes",
		  "deny from 198.18.0.0/16,2001:2::/48\nallow from 198.18.0.7,198.18.5.0/24\n"
		  "exempt from 198.18.0.0/24,198.19.0.1\ndeny from 198.18.5.128/25\n"
		  "allow tcp 22 from 198.18.0.9\n" },
	};
	char *text;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip(cases[i].name, cases[i].text);
	text = long_list("deny from ", 600);
	if (text)
		round_trip("a deny list longer than a line", text);
	free(text);
	text = long_list("allow tcp 22,80 from ", 600);
	if (text)
		round_trip("a per-port list longer than a line", text);
	free(text);
}

int main(void)
{
	int err, files;

	if (geteuid() != 0) {
		test_skip("rules", "needs root to load the BPF program");
		return 0;
	}
	err = test_program_load(&skel, &prog_fd, &maps);
	if (err) {
		test_begin("rules: load the program");
		test_detail("%s", strerror(-err));
		test_end();
		portcullis_bpf__destroy(skel);
		return test_exit_code();
	}
	run_cases();
	files = config_files("examples") + config_files("tests/configs") +
		config_files("tests/configs/sub");
	test_begin("rules: every example and test config that parses was tried");
	CHECK(files >= 3, "only %d config files found (run from the repository root)", files);
	test_end();
	portcullis_bpf__destroy(skel);
	return test_exit_code();
}
