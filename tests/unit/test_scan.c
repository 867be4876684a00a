// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The scan detector and bans through BPF_PROG_TEST_RUN: the threshold and
 * window edges, IPv6 grouping per prefix, trusted sources, expiry and the
 * counters. Each case loads a fresh program, configures it the way the
 * loader does (pc_ruleset_commit) and sends crafted SYNs to closed ports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "packets.h"
#include "portcullis.skel.h"
#include "testing.h"
#include "../../loader/apply.h"
#include "../../maps/bans.h"

#define SEC_NS 1000000000ULL

struct lab {
	struct portcullis_bpf *skel;
	struct pc_maps maps;
	int prog_fd;
};

/* A fresh program with "allow tcp 22", the detector at PORTS/WINDOW/BAN. */
static bool lab_up(struct lab *lab, __u32 ports, __u64 window_ns, __u64 ban_ns, __u32 v6_prefix,
		   const char *trusted)
{
	struct pc_allow allow = { .proto = PC_PROTO_TCP, .lo = 22, .hi = 22 };
	struct pc_ruleset rs;
	struct pc_prefix prefix;
	char why[128];

	memset(lab, 0, sizeof(*lab));
	lab->skel = portcullis_bpf__open_and_load();
	if (!CHECK(lab->skel, "open_and_load: %s", strerror(errno)))
		return false;
	lab->prog_fd = bpf_program__fd(lab->skel->progs.portcullis_xdp);
	if (!CHECK(pc_maps_from_object(lab->skel->obj, &lab->maps) == 0, "maps"))
		return false;
	pc_ruleset_init(&rs);
	rs.established = PC_ESTABLISHED_OFF;
	rs.scan_ports = ports;
	rs.scan_window_ns = window_ns;
	rs.ban_ns = ban_ns;
	rs.scan_ipv6_prefix = v6_prefix;
	rs.allows = &allow;
	rs.n_allows = 1;
	if (trusted && pc_parse_prefix(trusted, &prefix, why, sizeof(why)) == 0)
		pc_prefix_list_add(&rs.trusted, &prefix);
	CHECK(pc_ruleset_commit(&lab->maps, &rs, 1) == 0, "commit");
	pc_prefix_list_free(&rs.trusted);
	return !case_failed;
}

/*
 * The ban hint's invariant, after whatever the case did: each slot counts
 * exactly the bans in pc_bans whose source hashes there. One too few would
 * let a banned source through; one too many costs lookups for good.
 */
static void check_hint(struct lab *lab)
{
	static __u64 want[PC_BAN_HINT_SLOTS];
	size_t len = sizeof(want), wrong = 0;
	struct pc_addr_key key, next;
	const __u64 *hint;
	void *prev = NULL;
	__u32 first = 0;

	memset(want, 0, sizeof(want));
	while (bpf_map_get_next_key(lab->maps.bans, prev, &next) == 0) {
		key = next;
		prev = &key;
		want[pc_ban_hint_slot(&key)]++;
	}
	hint = mmap(NULL, len, PROT_READ, MAP_SHARED, lab->maps.ban_hint, 0);
	if (!CHECK(hint != MAP_FAILED, "mmap pc_ban_hint: %s", strerror(errno)))
		return;
	for (__u32 slot = 0; slot < PC_BAN_HINT_SLOTS; slot++) {
		if (hint[slot] != want[slot] && wrong++ == 0)
			first = slot;
	}
	CHECK(wrong == 0, "%zu ban hint slots wrong, first %u: %llu for %llu bans", wrong, first,
	      (unsigned long long)hint[first], (unsigned long long)want[first]);
	munmap((void *)hint, len);
}

static void lab_down(struct lab *lab)
{
	if (lab->skel)
		check_hint(lab);
	portcullis_bpf__destroy(lab->skel);
}

/* A SYN from SRC (v4 or v6 text) to tcp/PORT; returns the XDP verdict. */
static int syn(struct lab *lab, const char *src, __u16 port)
{
	struct ipv4_tcp_packet v4 = pkt_v4_tcp;
	struct ipv6_tcp_packet v6 = pkt_v6_tcp;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = 1);

	if (strchr(src, ':')) {
		inet_pton(AF_INET6, src, &v6.ip6.saddr);
		v6.tcp.dest = htons(port);
		opts.data_in = &v6;
		opts.data_size_in = sizeof(v6);
	} else {
		inet_pton(AF_INET, src, &v4.ip.saddr);
		v4.tcp.dest = htons(port);
		opts.data_in = &v4;
		opts.data_size_in = sizeof(v4);
	}
	if (bpf_prog_test_run_opts(lab->prog_fd, &opts))
		return -errno;
	return opts.retval;
}

/* SYNs from SRC to N distinct closed ports starting at FIRST. */
static void probe(struct lab *lab, const char *src, __u16 first, int n)
{
	for (int i = 0; i < n; i++)
		CHECK_INT(syn(lab, src, first + i), XDP_DROP);
}

static size_t count_bans(struct lab *lab, struct pc_ban_entry *first)
{
	struct pc_ban_entry *list = NULL;
	size_t n = 0;

	if (!CHECK(pc_bans_list(&lab->maps, false, &list, &n, NULL, NULL) == 0, "bans list"))
		return 0;
	if (n && first)
		*first = list[0];
	free(list);
	return n;
}

static __u64 scan_stat(struct lab *lab, int stat, __u64 *active)
{
	__u64 stats[PC_SCAN_STATS] = {}, dummy;

	pc_bans_stats(&lab->maps, stats, active ? active : &dummy);
	return stats[stat];
}

static void test_threshold(void)
{
	struct pc_ban_entry ban;
	struct lab lab;
	__u64 active;

	test_begin("scan: N-1 distinct closed ports do not ban, the Nth does");
	if (lab_up(&lab, 5, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 4);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_PASS);
		probe(&lab, "198.18.0.2", 2000, 1);
		CHECK_INT(count_bans(&lab, &ban), 1);
		CHECK_INT(ban.ban.reason, PC_BAN_SCAN);
		CHECK_INT(ban.ban.ports, 5);
		CHECK_INT(ban.ban.last_port, 2000);
		CHECK_INT(ban.ban.expires_ns - ban.ban.created_ns, 60 * SEC_NS);
		CHECK_INT(scan_stat(&lab, PC_STAT_BANS, &active), 1);
		CHECK_INT(active, 1);
		/* Now every port is closed to it, the allowed one too. */
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_DROP);
		CHECK_INT(syn(&lab, "198.18.0.3", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();
}

static void test_repeats(void)
{
	struct lab lab;

	test_begin("scan: one closed port retried 100 times is not a scan");
	if (lab_up(&lab, 5, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 100; i++)
			CHECK_INT(syn(&lab, "198.18.0.2", 3306), XDP_DROP);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
	}
	lab_down(&lab);
	test_end();
}

static void test_two_ports_alternating(void)
{
	struct lab lab;

	test_begin("scan: two closed ports alternating 50 times count as two");
	if (lab_up(&lab, 3, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 50; i++)
			CHECK_INT(syn(&lab, "198.18.0.2", 1000 + i % 2), XDP_DROP);
		CHECK_INT(count_bans(&lab, NULL), 0);
		probe(&lab, "198.18.0.2", 1002, 1);
		CHECK_INT(count_bans(&lab, NULL), 1);
	}
	lab_down(&lab);
	test_end();
}

static void test_window(void)
{
	struct lab lab;

	test_begin("scan: the window resets the count");
	if (lab_up(&lab, 4, SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 3);
		usleep(1300 * 1000);
		/* 1.3 s later the three are forgotten: two more are not four. */
		probe(&lab, "198.18.0.2", 2000, 2);
		CHECK_INT(count_bans(&lab, NULL), 0);
		probe(&lab, "198.18.0.2", 2002, 2);
		CHECK_INT(count_bans(&lab, NULL), 1);
	}
	lab_down(&lab);
	test_end();

	test_begin("scan: ports within the window add up");
	if (lab_up(&lab, 4, 3 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 3);
		usleep(500 * 1000);
		probe(&lab, "198.18.0.2", 2000, 1);
		CHECK_INT(count_bans(&lab, NULL), 1);
	}
	lab_down(&lab);
	test_end();
}

static void test_ipv6_grouping(void)
{
	struct pc_ban_entry ban;
	struct lab lab;
	char text[64];

	test_begin("scan: IPv6 sources of one /64 are one scanner");
	if (lab_up(&lab, 4, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		/* Four ports from four addresses of 2001:2::/64. */
		CHECK_INT(syn(&lab, "2001:2::1", 1000), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::2", 1001), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::ffff:1", 1002), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::1:0:0:3", 1003), XDP_DROP);
		if (CHECK_INT(count_bans(&lab, &ban), 1))
			CHECK_STR(pc_addr_key_format(&ban.key, 64, text, sizeof(text)),
				  "2001:2::/64");
		CHECK_INT(syn(&lab, "2001:2::99", 22), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2:0:1::99", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();

	test_begin("scan: ipv6-prefix 128 keeps addresses apart");
	if (lab_up(&lab, 4, 10 * SEC_NS, 60 * SEC_NS, 128, NULL)) {
		CHECK_INT(syn(&lab, "2001:2::1", 1000), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::2", 1001), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::3", 1002), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::4", 1003), XDP_DROP);
		CHECK_INT(count_bans(&lab, NULL), 0);
		probe(&lab, "2001:2::1", 2000, 3);
		CHECK_INT(count_bans(&lab, NULL), 1);
		CHECK_INT(syn(&lab, "2001:2::2", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();

	/* IPv4 anti-spoofing does not stop ::ffff:198.18.0.2: it must not count. */
	test_begin("scan: IPv4-mapped IPv6 probes are malformed and never ban the IPv4 source");
	if (lab_up(&lab, 4, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 2);
		probe(&lab, "::ffff:198.18.0.2", 2000, 4);
		probe(&lab, "::198.18.0.2", 3000, 4);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();
}

static void test_trusted(void)
{
	struct lab lab;

	test_begin("scan: trusted sources are never tracked or banned");
	if (lab_up(&lab, 3, 10 * SEC_NS, 60 * SEC_NS, 64, "198.18.0.9")) {
		for (int i = 0; i < 10; i++)
			CHECK_INT(syn(&lab, "198.18.0.9", 1000 + i), XDP_PASS);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
	}
	lab_down(&lab);
	test_end();
}

static void test_expiry(void)
{
	struct lab lab;
	__u64 active;

	test_begin("scan: a ban expires and the next packet removes it");
	if (lab_up(&lab, 3, 10 * SEC_NS, SEC_NS / 2, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 3);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_DROP);
		usleep(700 * 1000);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_PASS);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(scan_stat(&lab, PC_STAT_EXPIRED, &active), 1);
		CHECK_INT(active, 0);
	}
	lab_down(&lab);
	test_end();
}

static void test_manual(void)
{
	struct pc_ban ban = { .reason = PC_BAN_MANUAL };
	struct pc_addr_key key;
	struct lab lab;
	__u8 addr[4] = { 198, 18, 0, 7 };
	bool replaced;
	__u64 active;

	test_begin("scan: a ban added from user space is enforced and counted");
	if (lab_up(&lab, 20, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_PASS);
		pc_addr_key_make(&key, AF_INET, addr, 64);
		ban.created_ns = pc_now_ns();
		ban.expires_ns = ban.created_ns + 60 * SEC_NS;
		CHECK_INT(pc_bans_add(&lab.maps, &key, &ban, &replaced), 0);
		CHECK_INT(replaced, 0);
		scan_stat(&lab, 0, &active);
		CHECK_INT(active, 1);
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_DROP);
		CHECK_INT(pc_bans_remove(&lab.maps, &key), 0);
		scan_stat(&lab, 0, &active);
		CHECK_INT(active, 0);
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_PASS);
		CHECK_INT(pc_bans_remove(&lab.maps, &key), -ENOENT);
		/* Banned again, then the ban replaced: lab_down checks it is counted once. */
		CHECK_INT(pc_bans_add(&lab.maps, &key, &ban, &replaced), 0);
		CHECK_INT(pc_bans_add(&lab.maps, &key, &ban, &replaced), 0);
		CHECK_INT(replaced, 1);
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_DROP);
	}
	lab_down(&lab);
	test_end();
}

static void test_many_sources(void)
{
	struct lab lab;
	char src[32];

	test_begin("scan: 3,000 sources with one probe each promote nobody");
	if (lab_up(&lab, 5, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 3000 && !case_failed; i++) {
			snprintf(src, sizeof(src), "198.18.%d.%d", (i >> 8) & 0x7f, i & 0xff);
			CHECK_INT(syn(&lab, src, 1000 + i % 5000), XDP_DROP);
		}
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
		CHECK_INT(count_bans(&lab, NULL), 0);
	}
	lab_down(&lab);
	test_end();
}

/*
 * A distributed scan: 4,000 sources take turns, each pass over them probing
 * the next closed port. Every one of them is a scanner and must be banned,
 * however the pre-filter's hash spreads them; with one slot per hash, the
 * quarter of them that shared a slot pushed each other out and went unseen.
 */
static void test_many_scanners(void)
{
	const int sources = 4000, ports = 5;
	struct lab lab;
	char src[32];

	test_begin("scan: 4,000 sources scanning at once are all banned");
	if (lab_up(&lab, ports, 60 * SEC_NS, 600 * SEC_NS, 64, NULL)) {
		for (int pass = 0; pass < ports && !case_failed; pass++) {
			for (int i = 0; i < sources && !case_failed; i++) {
				snprintf(src, sizeof(src), "198.18.%d.%d", 16 + (i >> 8), i & 0xff);
				CHECK_INT(syn(&lab, src, 2000 + pass), XDP_DROP);
			}
		}
		CHECK_INT(count_bans(&lab, NULL), sources);
	}
	lab_down(&lab);
	test_end();
}

int main(void)
{
	test_threshold();
	test_repeats();
	test_two_ports_alternating();
	test_window();
	test_ipv6_grouping();
	test_trusted();
	test_expiry();
	test_manual();
	test_many_sources();
	test_many_scanners();
	return test_exit_code();
}
