/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Part of test_verdict.c: the IPv4 /24 table in front of the source trie
 * (pc_source24). Rule set 1 gets lists of its own, built the loader's way
 * (pc_sources_add_lists, pc_sources_install), and goes live: every prefix
 * length around /24, the first and last address of listed prefixes and
 * their neighbours outside, trust inside deny and deny inside trust, a
 * reload that removes prefixes and adds others, and a source exempted at
 * runtime the way 'allow ... from' does it. Set 0, the other tables' rules,
 * is in force again afterwards.
 */

struct source24_entry {
	const char *prefix;
	int len;
	__u32 flags; /* PC_SRC_F_* */
};

#define S24_DENY  PC_SRC_F_DENY
#define S24_TRUST PC_SRC_F_TRUST

/* The first rule set: a prefix of each length around /24, and nesting. */
static const struct source24_entry source24_first[] = {
    {"11.0.0.0", 8, S24_DENY},		{"198.19.0.0", 16, S24_DENY},
    {"198.18.2.0", 23, S24_DENY},	{"198.18.10.0", 24, S24_DENY},
    {"198.18.10.77", 32, S24_TRUST},	{"198.18.11.0", 24, S24_TRUST},
    {"198.18.11.9", 32, S24_DENY},	{"198.18.20.128", 25, S24_DENY},
    {"198.18.21.6", 31, S24_DENY},	{"198.18.22.9", 32, S24_DENY},
    {"2001:db8:bad::", 48, S24_DENY},
};

/* The reload: the /8, the /24 and the /32 gone, a /24 and a /20 added. */
static const struct source24_entry source24_second[] = {
    {"198.19.0.0", 16, S24_DENY},     {"198.18.2.0", 23, S24_DENY},
    {"198.18.11.0", 24, S24_TRUST},   {"198.18.11.9", 32, S24_DENY},
    {"198.18.20.128", 25, S24_DENY},  {"198.18.21.6", 31, S24_DENY},
    {"198.18.30.0", 24, S24_DENY},    {"198.18.48.0", 20, S24_DENY},
    {"2001:db8:bad::", 48, S24_DENY},
};

#define S24_CASE(what, source, want) {"source24: " what, b_v4_tcp, 22, SYN, .src = source, want}
#define S24_DENIED  DROPS(PC_DROP_DENIED_SOURCE)
#define S24_TRUSTED PASSES(PC_PASS_TRUSTED)

static const struct verdict_case source24_first_cases[] = {
    S24_CASE("/8 first address 11.0.0.0: denied", "11.0.0.0", S24_DENIED),
    S24_CASE("/8 last address 11.255.255.255: denied", "11.255.255.255", S24_DENIED),
    S24_CASE("10.255.255.255 below the /8: allowed", "10.255.255.255", ALLOWED),
    S24_CASE("12.0.0.0 above the /8: allowed", "12.0.0.0", ALLOWED),
    S24_CASE("/16 first address 198.19.0.0: denied", "198.19.0.0", S24_DENIED),
    S24_CASE("/16 last address 198.19.255.255: denied", "198.19.255.255", S24_DENIED),
    S24_CASE("198.18.255.255 below the /16: allowed", "198.18.255.255", ALLOWED),
    S24_CASE("/23 first address 198.18.2.0: denied", "198.18.2.0", S24_DENIED),
    S24_CASE("/23 last address 198.18.3.255: denied", "198.18.3.255", S24_DENIED),
    S24_CASE("198.18.1.255 below the /23: allowed", "198.18.1.255", ALLOWED),
    S24_CASE("198.18.4.0 above the /23: allowed", "198.18.4.0", ALLOWED),
    S24_CASE("/24 first address 198.18.10.0: denied", "198.18.10.0", S24_DENIED),
    S24_CASE("/24 last address 198.18.10.255: denied", "198.18.10.255", S24_DENIED),
    S24_CASE("198.18.9.255 below the denied /24: allowed", "198.18.9.255", ALLOWED),
    S24_CASE("trusted /32 198.18.10.77 in the denied /24: denied", "198.18.10.77",
	     S24_DENIED),
    S24_CASE("198.18.11.0 in the trusted /24 above: trusted", "198.18.11.0", S24_TRUSTED),
    S24_CASE("denied /32 198.18.11.9 in the trusted /24: denied", "198.18.11.9", S24_DENIED),
    S24_CASE("198.18.11.8 beside it: trusted", "198.18.11.8", S24_TRUSTED),
    S24_CASE("198.18.11.10 beside it: trusted", "198.18.11.10", S24_TRUSTED),
    S24_CASE("/25 first address 198.18.20.128: denied", "198.18.20.128", S24_DENIED),
    S24_CASE("/25 last address 198.18.20.255: denied", "198.18.20.255", S24_DENIED),
    S24_CASE("198.18.20.127 below the /25, same /24: allowed", "198.18.20.127", ALLOWED),
    S24_CASE("/31 198.18.21.6: denied", "198.18.21.6", S24_DENIED),
    S24_CASE("/31 198.18.21.7: denied", "198.18.21.7", S24_DENIED),
    S24_CASE("198.18.21.5 below the /31: allowed", "198.18.21.5", ALLOWED),
    S24_CASE("198.18.21.8 above the /31: allowed", "198.18.21.8", ALLOWED),
    S24_CASE("/32 198.18.22.9: denied", "198.18.22.9", S24_DENIED),
    S24_CASE("198.18.22.8 beside the /32: allowed", "198.18.22.8", ALLOWED),
    S24_CASE("198.18.22.10 beside the /32: allowed", "198.18.22.10", ALLOWED),
    S24_CASE("198.18.30.5, in no list yet: allowed", "198.18.30.5", ALLOWED),
    {"source24: ipv6 2001:db8:bad::1 beside the table: denied", b_v6_tcp, 22, SYN,
     .src = "2001:db8:bad::1", S24_DENIED},
    {"source24: ipv6 2001:db8::10: allowed", b_v6_tcp, 22, SYN, ALLOWED},
};

static const struct verdict_case source24_second_cases[] = {
    S24_CASE("after reload: 11.1.2.3, its /8 removed: allowed", "11.1.2.3", ALLOWED),
    S24_CASE("after reload: 198.18.10.5, its /24 removed: allowed", "198.18.10.5", ALLOWED),
    S24_CASE("after reload: 198.18.22.9, its /32 removed: allowed", "198.18.22.9", ALLOWED),
    S24_CASE("after reload: 198.18.30.5 in the added /24: denied", "198.18.30.5", S24_DENIED),
    S24_CASE("after reload: 198.18.48.0 in the added /20: denied", "198.18.48.0", S24_DENIED),
    S24_CASE("after reload: 198.18.63.255 in the added /20: denied", "198.18.63.255",
	     S24_DENIED),
    S24_CASE("after reload: 198.18.64.0 above the /20: allowed", "198.18.64.0", ALLOWED),
    S24_CASE("after reload: 198.18.11.9 still denied in the trusted /24", "198.18.11.9",
	     S24_DENIED),
    S24_CASE("after reload: 198.19.128.1 still denied", "198.19.128.1", S24_DENIED),
};

/* The lists of ENTRIES as rule set SET's trie and /24 table, as a commit writes them. */
static int source24_write(__u32 set, const struct source24_entry *entries, size_t n)
{
	struct pc_source_entry lists[16];
	static struct pc_source_hint hint;
	__u64 *table = pc_source24_new();
	int fd = pc_sources_create(), err = 0;

	if (!table || fd < 0 || n > ARRAY_SIZE(lists))
		err = fd < 0 ? fd : -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		int family = strchr(entries[i].prefix, ':') ? AF_INET6 : AF_INET;
		__u8 addr[16] = {};

		if (inet_pton(family, entries[i].prefix, addr) != 1)
			err = -EINVAL;
		pc_source_key_make(&lists[i].key, PC_SRC_SOURCE, 0, family, addr, entries[i].len);
		lists[i].flags = entries[i].flags;
	}
	memset(&hint, 0, sizeof(hint));
	if (!err)
		err = pc_sources_add_lists(fd, &hint, table, lists, n);
	if (!err)
		err = pc_sources_install(&maps, set, fd, &hint, table);
	if (fd >= 0)
		close(fd);
	free(table);
	return err;
}

/* Rule set 1 with ENTRIES, the standard ports and established off, in force. */
static int source24_reload(const struct source24_entry *entries, size_t n)
{
	struct pc_config cfg = make_config(0, PC_ESTABLISHED_OFF);
	int err;

	/* As a reload does: the other set is written while set 0 is in force. */
	err = pc_maps_activate(&maps, 0);
	err = err ?: write_rules(1, &cfg, ports);
	err = err ?: source24_write(1, entries, n);
	return err ?: pc_maps_activate(&maps, 1);
}

static void source24_run(const struct verdict_case *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct frame f;

		test_begin("verdict: %s", table[i].name);
		build_case(&f, &table[i]);
		check_frame(&f, f.len, &table[i].want);
		test_end();
	}
}

/*
 * 'allow tcp 2222 from 198.18.40.9' on the live set 1: the source becomes
 * exempt, so its scan ban no longer holds it. The table said "in no list"
 * for its /24: without the mark the data path would not ask the trie.
 */
static void source24_runtime_exempt(void)
{
	const struct verdict_case banned = S24_CASE("198.18.40.9 with a scan ban: banned",
						    "198.18.40.9", DROPS(PC_DROP_BANNED));
	const struct verdict_case exempt = S24_CASE(
	    "198.18.40.9 exempted at runtime: its scan ban does not hold", "198.18.40.9", ALLOWED);
	struct pc_addr_key key = ban_key("198.18.40.9");
	struct pc_ban entry = {
	    .expires_ns = PC_BAN_FOREVER, .created_ns = pc_now_ns(), .reason = PC_BAN_SCAN};
	struct pc_source_key source;
	__u8 addr[16] = {};
	struct pc_config cfg;
	bool replaced;
	int err, fd;

	err = pc_bans_add(&maps, &key, &entry, &replaced);
	test_begin("source24: scan ban on 198.18.40.9");
	EXPECT(err == 0, "pc_bans_add: %s", strerror(-err));
	test_end();
	source24_run(&banned, 1);

	inet_pton(AF_INET, "198.18.40.9", addr);
	pc_source_key_make(&source, PC_SRC_PORT, 0, AF_INET, addr, 32);
	fd = pc_sources_open(&maps, 1);
	/* allow_from()'s order: hint and table, then the trie, then the config. */
	err = fd < 0 ? fd : pc_source_hint_extend(&maps, 1, &source, 1);
	err = err ?: pc_sources_flag_live(fd, &source, 1, PC_SRC_F_EXEMPT);
	err = err ?: pc_maps_read_config(&maps, 1, &cfg);
	cfg.flags |= PC_CFG_HAVE_EXEMPT;
	err = err ?: pc_maps_write_config(&maps, 1, &cfg);
	if (fd >= 0)
		close(fd);
	test_begin("source24: 198.18.40.9 exempted on the live set");
	EXPECT(err == 0, "exempting: %s", strerror(-err));
	test_end();
	source24_run(&exempt, 1);
	pc_bans_remove(&maps, &key);
}

static void run_source24_cases(void)
{
	int err = source24_reload(source24_first, ARRAY_SIZE(source24_first));

	test_begin("source24: rule set 1 with prefixes /8 to /32 in force");
	EXPECT(err == 0, "writing set 1: %s", strerror(-err));
	test_end();
	if (!err)
		source24_run(source24_first_cases, ARRAY_SIZE(source24_first_cases));

	err = source24_reload(source24_second, ARRAY_SIZE(source24_second));
	test_begin("source24: reload of set 1, prefixes removed and added");
	EXPECT(err == 0, "writing set 1: %s", strerror(-err));
	test_end();
	if (!err) {
		source24_run(source24_second_cases, ARRAY_SIZE(source24_second_cases));
		source24_runtime_exempt();
	}
	pc_maps_activate(&maps, 0);
}
