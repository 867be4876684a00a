// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Verdict tests of the XDP program with BPF_PROG_TEST_RUN: crafted packets
 * from tests/unit/packets.h, run once each against rules written through
 * maps/pcmaps.h, checked for the XDP return code and for the counters: the
 * expected reason slot grows by exactly one packet and the frame's bytes, the
 * per-port counter too when the verdict is made on the port, and nothing
 * else moves. The expectations are written out here from the contract's
 * "Verdict order" (shared/interface.md), never computed by the program's own
 * helpers.
 *
 *   test_verdict            run every case, one PASS/FAIL line each
 *   test_verdict --bench    verifier statistics and ns/packet, no tests
 *
 * Needs root (BPF_PROG_TEST_RUN). Runs in a private network namespace when it
 * can, so the socket lookup of "established socket" sees only our sockets.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "program.h"
#include "loader/explain.h"
#include "maps/pcmaps.h"
#include "maps/sources.h"
#include "maps/bans.h"
#include "loader/rollout.h"
#include "packets.h"
#include "netns.h"
#include "libbpf_log.h"
#include "testing.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The local port range of "established ephemeral" in every case. */
#define EPHEMERAL_LO 32768
#define EPHEMERAL_HI 60999

static struct portcullis_bpf *skel;
static struct pc_maps maps;
static int prog_fd;
static struct pc_port_table *ports; /* rule set 0 as written, for pass slots */

/*
 * Rule set 0 of every table case:
 *   tcp 22, 80, 443, 8000-8100 open; udp 53, 5000-5010 open
 *   tcp 2222 open to list 1 only: 198.51.100.0/24, 2001:db8:1::/48
 *   tcp 40001 source-limited with no list, inside the ephemeral range
 *   deny from 203.0.113.0/24, 2001:db8:bad::/48
 *   allow from 192.0.2.99, 2001:db8:7::/48, and 203.0.113.77 (denied too)
 *   exempt from 198.18.5.0/24
 * The templates' own sources (192.0.2.10, 2001:db8::10) are in no list.
 */
#define PORT_LIST_2222 1

struct test_source {
	__u8 kind;	    /* enum pc_source_kind */
	__u16 list;	    /* per-port list id */
	const char *prefix; /* address */
	int len;	    /* prefix length */
	__u32 flags;	    /* PC_SRC_F_* for deny and trust */
};

static const struct test_source test_sources[] = {
    {PC_SRC_SOURCE, 0, "203.0.113.0", 24, PC_SRC_F_DENY},
    {PC_SRC_SOURCE, 0, "2001:db8:bad::", 48, PC_SRC_F_DENY},
    {PC_SRC_SOURCE, 0, "192.0.2.99", 32, PC_SRC_F_TRUST},
    {PC_SRC_SOURCE, 0, "2001:db8:7::", 48, PC_SRC_F_TRUST},
    {PC_SRC_SOURCE, 0, "203.0.113.77", 32, PC_SRC_F_TRUST},
    {PC_SRC_SOURCE, 0, "198.18.5.0", 24, PC_SRC_F_EXEMPT},
    {PC_SRC_PORT, PORT_LIST_2222, "198.51.100.0", 24, 0},
    {PC_SRC_PORT, PORT_LIST_2222, "2001:db8:1::", 48, 0},
};

/* A trie with test_sources for rule set SET. */
static int write_sources(__u32 set)
{
	struct pc_source_entry lists[ARRAY_SIZE(test_sources)];
	struct pc_source_key keys[ARRAY_SIZE(test_sources)];
	static struct pc_source_hint hint;
	int fd = pc_sources_create(), err;
	size_t n_lists = 0, n_keys = 0;
	__u64 *source24;

	if (fd < 0)
		return fd;
	source24 = pc_source24_new();
	for (size_t i = 0; i < ARRAY_SIZE(test_sources); i++) {
		const struct test_source *src = &test_sources[i];
		int family = strchr(src->prefix, ':') ? AF_INET6 : AF_INET;
		__u8 addr[16] = {};

		if (inet_pton(family, src->prefix, addr) != 1) {
			close(fd);
			free(source24);
			return -EINVAL;
		}
		/* Deny and trust go in together, the way the loader puts them. */
		if (src->kind == PC_SRC_SOURCE) {
			pc_source_key_make(&lists[n_lists].key, src->kind, 0, family, addr, src->len);
			lists[n_lists++].flags = src->flags;
		} else {
			pc_source_key_make(&keys[n_keys++], src->kind, src->list, family, addr,
					   src->len);
		}
	}
	memset(&hint, 0, sizeof(hint));
	err = source24 ? 0 : -ENOMEM;
	if (!err)
		err = pc_sources_add_lists(fd, &hint, source24, lists, n_lists);
	if (!err)
		err = pc_sources_add(fd, &hint, keys, n_keys);
	if (!err)
		err = pc_sources_install(&maps, set, fd, &hint, source24);
	close(fd); /* the outer map holds the trie now */
	free(source24);
	return err;
}

static int write_rules(__u32 set, const struct pc_config *cfg, struct pc_port_table *table)
{
	int err = pc_maps_write_config(&maps, set, cfg);

	return err ? err : pc_maps_write_ports(&maps, set, table);
}

static void limited_ports(struct pc_port_table *table);

static struct pc_port_table *standard_ports(void)
{
	struct pc_port_table *table = pc_port_table_new(&maps);

	if (!table)
		return NULL;
	pc_port_table_set(table, PC_PROTO_TCP, 22, 22, PC_PORT_ALLOWED);
	pc_port_table_set(table, PC_PROTO_TCP, 80, 80, PC_PORT_ALLOWED);
	pc_port_table_set(table, PC_PROTO_TCP, 443, 443, PC_PORT_ALLOWED);
	pc_port_table_set(table, PC_PROTO_TCP, 8000, 8100, PC_PORT_ALLOWED);
	pc_port_table_set(table, PC_PROTO_TCP, 2222, 2222, PC_PORT_SOURCE_LIMITED);
	table->rules[PC_PROTO_TCP * PC_PORTS + 2222].source_list = PORT_LIST_2222;
	pc_port_table_set(table, PC_PROTO_TCP, 40001, 40001, PC_PORT_SOURCE_LIMITED);
	pc_port_table_set(table, PC_PROTO_UDP, 53, 53, PC_PORT_ALLOWED);
	pc_port_table_set(table, PC_PROTO_UDP, 5000, 5010, PC_PORT_ALLOWED);
	limited_ports(table); /* verdict_ratelimit.h */
	return table;
}

/*
 * The tables run twice. First with the deny and trust lists the rules hold,
 * which sends every packet down the program's general path; then with the
 * lists switched off, so that the packets the fast path takes are judged by
 * it, and the cases whose verdict comes from those lists are left out.
 */
static bool without_lists;

static struct pc_config make_config(__u32 flags, __u32 established)
{
	struct pc_config cfg = {};

	/* The loader sets HAVE_DENY/HAVE_TRUST when the set has such entries: ours has. */
	cfg.flags = flags | (without_lists ? 0
						   : PC_CFG_HAVE_DENY | PC_CFG_HAVE_TRUST |
							     PC_CFG_HAVE_EXEMPT);
	cfg.established = established;
	cfg.ephemeral_lo = EPHEMERAL_LO;
	cfg.ephemeral_hi = EPHEMERAL_HI;
	cfg.scan_ipv6_prefix = 64; /* the contract's default grouping of IPv6 sources */
	cfg.scan_stamp_shift = PC_SCAN_STAMP_SHIFT_MIN;
	return cfg;
}

#define EXPECT(cond, fmt, ...)                                                                     \
	({                                                                                         \
		bool ok_ = (cond);                                                                 \
		if (!ok_)                                                                          \
			test_detail("%s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__);                    \
		ok_;                                                                               \
	})

/* ---- counters ---------------------------------------------------------- */

struct counters {
	struct pc_counter reasons[PC_REASON_SLOTS];
	struct pc_counter port_drops[PC_PORT_SLOTS];
	struct pc_counter port_pass[PC_PASS_SLOTS];
};

/* The last snapshot; every run compares against it and then replaces it. */
static struct counters *snap, *fresh;
static struct pc_counter *percpu_buf;
static __u32 *key_buf;

/*
 * pc_maps_sum_counters costs one syscall per key: fine for the 42 reason
 * slots, too slow for 131072 port slots after every packet. The port maps are
 * read in batches instead and summed the same way.
 */
static int sum_counters_batch(int fd, __u32 n, struct pc_counter *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 done = 0, count, token = 0;
	int err;

	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(fd, done ? &token : NULL, &token, key_buf + done,
					   percpu_buf + (size_t)done * maps.ncpus, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		done += count;
		if (err || !count)
			break;
	}
	if (done != n)
		return -EIO;
	memset(out, 0, n * sizeof(*out));
	for (__u32 i = 0; i < n; i++) {
		for (int cpu = 0; cpu < maps.ncpus; cpu++) {
			out[key_buf[i]].packets += percpu_buf[(size_t)i * maps.ncpus + cpu].packets;
			out[key_buf[i]].bytes += percpu_buf[(size_t)i * maps.ncpus + cpu].bytes;
		}
	}
	return 0;
}

/* Reasons as the contract counts them: PC_PASS_ALLOWED from the pass slots. */
static int read_counters(struct counters *c)
{
	int err = pc_maps_sum_counters(&maps, maps.reasons, PC_REASON_SLOTS, c->reasons);

	if (!err)
		err = sum_counters_batch(maps.port_drops, PC_PORT_SLOTS, c->port_drops);
	if (!err)
		err = sum_counters_batch(maps.port_pass, PC_PASS_SLOTS, c->port_pass);
	if (!err)
		pc_reasons_add_pass(c->reasons, c->port_pass);
	return err;
}

static const char *slot_name(__u32 slot)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s%s", slot >= PC_REASONS ? "monitor:" : "",
		 pc_reason_name(slot % PC_REASONS));
	return buf;
}

/* Every entry of OLD..NEW unchanged except WANT, which grew by one packet of LEN. */
static void check_delta(const char *map, const struct pc_counter *old, const struct pc_counter *new,
			__u32 n, long long want, __u32 len, const char *(*name)(__u32))
{
	for (__u32 i = 0; i < n; i++) {
		__u64 packets = new[i].packets - old[i].packets;
		__u64 bytes = new[i].bytes - old[i].bytes;
		__u64 want_packets = i == want ? 1 : 0, want_bytes = i == want ? len : 0;

		if (packets != want_packets || bytes != want_bytes)
			test_detail("%s[%u]%s%s: +%llu packets +%llu bytes, expected +%llu +%llu", map, i,
			     name ? " " : "", name ? name(i) : "", (unsigned long long)packets,
			     (unsigned long long)bytes, (unsigned long long)want_packets,
			     (unsigned long long)want_bytes);
	}
	if (want >= (long long)n)
		test_detail("%s: expected slot %lld out of range", map, want);
}

/*
 * Compare the counters with the last snapshot and make them the new one.
 * With PORT_MAPS false only the reason slots are read and compared (the
 * truncation loop, which checks the port maps once at its end).
 */
static int check_snapshot(long long reason_slot, long long drop_key, long long pass_slot, __u32 len,
			  bool port_maps)
{
	struct counters *tmp;
	int err;

	err = port_maps ? read_counters(fresh) : pc_maps_read_reasons(&maps, fresh->reasons);
	if (!EXPECT(err == 0, "reading counters: %s", strerror(-err)))
		return err;
	check_delta("pc_reasons", snap->reasons, fresh->reasons, PC_REASON_SLOTS, reason_slot, len,
		    slot_name);
	if (!port_maps) {
		memcpy(snap->reasons, fresh->reasons, sizeof(snap->reasons));
		return 0;
	}
	check_delta("pc_port_drops", snap->port_drops, fresh->port_drops, PC_PORT_SLOTS, drop_key,
		    len, NULL);
	check_delta("pc_port_pass", snap->port_pass, fresh->port_pass, PC_PASS_SLOTS, pass_slot,
		    len, NULL);
	tmp = snap;
	snap = fresh;
	fresh = tmp;
	return 0;
}

/* ---- running packets ------------------------------------------------------ */

static int run_prog(int fd, const void *data, __u32 len, __u32 repeat, __u32 *retval,
		    __u32 *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len,
		    .repeat = repeat);
	int err = bpf_prog_test_run_opts(fd, &opts);

	if (err < 0)
		return -errno;
	*retval = opts.retval;
	if (duration)
		*duration = opts.duration;
	return 0;
}

static const char *xdp_name(int ret)
{
	switch (ret) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	}
	return "?";
}

enum port_effect {
	PORT_NONE, /* the verdict was not made on a port */
	PORT_PASS, /* pc_port_pass[slot of the port] + 1 */
	PORT_DROP, /* pc_port_drops[proto, port] + 1 */
};

struct expect {
	int ret;      /* XDP_PASS or XDP_DROP */
	int reason;   /* enum pc_reason */
	bool monitor; /* counted in the monitor slots */
	enum port_effect port;
};

static __u16 frame_dport(const struct frame *f)
{
	return frame_get16(f, f->l4 + 2); /* same offset in TCP and UDP */
}

static enum pc_proto frame_pc_proto(const struct frame *f)
{
	return frame_l4_proto(f) == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;
}

/*
 * The explain build (loader/explain.c) runs every frame first, on the same
 * maps: it must reach the verdict and reason the program then reaches, and
 * change nothing. A digest of every map's contents (all but the event ring)
 * is taken before and after it.
 */
static struct portcullis_explain_bpf *explainer;

static __u64 digest_bytes(__u64 h, const void *data, size_t len)
{
	const __u8 *b = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static __u64 digest_map(int fd, __u64 h)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), value_size;
	void *key, *next, *value;
	void *prev = NULL;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || info.type == BPF_MAP_TYPE_RINGBUF)
		return h;
	value_size = info.value_size;
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH)
		value_size = ((value_size + 7) & ~7U) * maps.ncpus;
	if (info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		/* Arrays in one batch: a key at a time is too slow for every case. */
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = info.max_entries, token = 0;

		key = calloc(count, sizeof(__u32));
		value = calloc(count, value_size);
		if (key && value && (bpf_map_lookup_batch(fd, NULL, &token, key, value, &count, &opts) == 0 ||
				     errno == ENOENT))
			h = digest_bytes(h, value, (size_t)count * value_size);
		free(key);
		free(value);
		return h;
	}
	key = calloc(1, info.key_size);
	next = calloc(1, info.key_size);
	value = calloc(1, value_size);
	while (key && next && value && bpf_map_get_next_key(fd, prev, next) == 0) {
		if (bpf_map_lookup_elem(fd, next, value) == 0) {
			h = digest_bytes(h, next, info.key_size);
			h = digest_bytes(h, value, value_size);
		}
		memcpy(key, next, info.key_size);
		prev = key;
	}
	free(key);
	free(next);
	free(value);
	return h;
}

/* The maps of the scan detector and bans (the counters are check_snapshot's);
 * tests/integration/explain.sh compares every pinned map, once. */
static __u64 digest_state(void)
{
	const int fds[] = { maps.active,     maps.config,    maps.scan_seen,
			    maps.scan_track, maps.bans,      maps.ban_state,
			    maps.offenders,  maps.scan_stats };
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		h = digest_map(fds[i], h);
	return h;
}

static int load_explainer(void)
{
	size_t n;
	const char *const *names = pc_map_names(&n);
	int fds[64];

	for (size_t i = 0; i < n && i < ARRAY_SIZE(fds); i++)
		fds[i] = bpf_object__find_map_fd_by_name(skel->obj, names[i]);
	explainer = pc_explainer_load(fds, 0, "test_verdict"); /* loaded with key 0 */
	return explainer ? 0 : -errno;
}

static void check_explain(const struct frame *f, __u32 len, const struct expect *e)
{
	__u64 before = digest_state();
	__u32 reason = PC_EXPLAIN_NONE, action = 0;
	int err = pc_explainer_run(explainer, f->data, len, &reason, &action);

	if (!EXPECT(err == 0, "explain test_run: %s", strerror(-err)))
		return;
	EXPECT(action == (__u32)e->ret && reason == (__u32)e->reason,
	       "explain says %s %s, expected %s %s", xdp_name(action),
	       reason < PC_REASONS ? pc_reason_name(reason) : "(none)", xdp_name(e->ret),
	       pc_reason_name(e->reason));
	EXPECT(digest_state() == before, "explain changed a map (scan, ban or meta state)");
	/* Not one reason counter moved (the port counters go with them in count()). */
	check_snapshot(-1, -1, -1, 0, false);
}

/*
 * Run the first LEN bytes of F once; check verdict and counters, the port
 * maps only if PORT_MAPS. Records failures.
 */
static void check_frame_ports(const struct frame *f, __u32 len, const struct expect *e,
			      bool port_maps)
{
	long long slot = pc_reason_slot(e->monitor ? PC_MODE_MONITOR : PC_MODE_ENFORCE, e->reason);
	long long drop_key = -1, pass_slot = -1;
	__u8 out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->data, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	__u32 retval;
	int err;

	check_explain(f, len, e);
	if (e->port == PORT_DROP)
		drop_key = pc_port_counter_key(frame_pc_proto(f), htons(frame_dport(f)));
	if (e->port == PORT_PASS)
		pass_slot = ports->slot_of[frame_pc_proto(f) * PC_PORTS + frame_dport(f)];

	err = bpf_prog_test_run_opts(prog_fd, &opts) ? -errno : 0;
	retval = opts.retval;
	if (EXPECT(err == 0, "test_run: %s", strerror(-err))) {
		EXPECT(retval == (__u32)e->ret, "verdict %s, expected %s (%s)", xdp_name(retval),
		       xdp_name(e->ret), slot_name(slot));
		/* A filter never rewrites the frame. */
		EXPECT(opts.data_size_out == len && memcmp(out, f->data, len) == 0,
		       "frame changed by the program (%u bytes out)", opts.data_size_out);
	}
	check_snapshot(slot, drop_key, pass_slot, len, port_maps);
	if (case_failed)
		test_hexdump(f->data, len);
}

static void check_frame(const struct frame *f, __u32 len, const struct expect *e)
{
	check_frame_ports(f, len, e, true);
}

/* ---- the verdict table ------------------------------------------------------ */

struct ext_spec {
	__u8 type;	/* IPPROTO_HOPOPTS, ... */
	__u8 len;	/* bytes; 0 ends the chain */
	__u16 frag_off; /* fragment header: offset << 3 | M flag */
};

struct verdict_case;
typedef void (*build_fn)(struct frame *f, const struct verdict_case *c);

struct verdict_case {
	const char *name;
	build_fn base;		     /* the template */
	__u16 port;		     /* destination port, host order */
	__u8 flags;		     /* TCP flags */
	const char *src;	     /* source address instead of the template's */
	__u16 vlan;		     /* VLAN_* tags in front */
	__u8 ip_opts;		     /* IPv4 option words */
	__u16 frag;		     /* IPv4 frag_off, host order */
	const struct ext_spec *exts; /* IPv6 extension chain */
	__u8 payload;		     /* L4 payload bytes */
	build_fn patch;		     /* applied last: breaks one field */
	int arg;		     /* for base (ICMP type/code) or patch */
	__u32 cfg_flags;	     /* PC_CFG_* */
	__u32 established;	     /* enum pc_established; 0 = socket, the default */
	__u8 open_proto;	     /* "allow proto" this IP protocol; 0 = none */
	struct expect want;
};

enum {
	VLAN_NONE,
	VLAN_Q,	     /* 802.1Q */
	VLAN_QINQ,   /* 802.1ad outer, 802.1Q inner */
	VLAN_Q_Q,    /* two 802.1Q tags (pre-802.1ad QinQ) */
	VLAN_TRIPLE, /* 802.1ad, 802.1Q, 802.1Q */
};

#define ICMP_TC(type, code) ((type) << 8 | (code))

static void b_arp(struct frame *f, const struct verdict_case *c)
{
	frame_from(f, &pkt_arp, sizeof(pkt_arp), 0);
}

static void b_v4_tcp(struct frame *f, const struct verdict_case *c)
{
	struct ipv4_tcp_packet pkt = pkt_v4_tcp;

	pkt.tcp.dest = htons(c->port);
	TCP_SET_FLAGS(pkt.tcp, c->flags);
	frame_from(f, &pkt, sizeof(pkt), 4);
}

static void b_v6_tcp(struct frame *f, const struct verdict_case *c)
{
	struct ipv6_tcp_packet pkt = pkt_v6_tcp;

	pkt.tcp.dest = htons(c->port);
	TCP_SET_FLAGS(pkt.tcp, c->flags);
	frame_from(f, &pkt, sizeof(pkt), 6);
}

static void b_v4_udp(struct frame *f, const struct verdict_case *c)
{
	struct ipv4_udp_packet pkt = pkt_v4_udp;

	pkt.udp.dest = htons(c->port);
	frame_from(f, &pkt, sizeof(pkt), 4);
}

static void b_v6_udp(struct frame *f, const struct verdict_case *c)
{
	struct ipv6_udp_packet pkt = pkt_v6_udp;

	pkt.udp.dest = htons(c->port);
	frame_from(f, &pkt, sizeof(pkt), 6);
}

static void b_v4_icmp(struct frame *f, const struct verdict_case *c)
{
	struct ipv4_icmp_packet pkt = pkt_v4_icmp;

	pkt.icmp.type = c->arg >> 8;
	pkt.icmp.code = c->arg & 0xff;
	frame_from(f, &pkt, sizeof(pkt), 4);
}

static void b_v6_icmp(struct frame *f, const struct verdict_case *c)
{
	struct ipv6_icmp_packet pkt = pkt_v6_icmp;

	pkt.icmp.type = c->arg >> 8;
	pkt.icmp.code = c->arg & 0xff;
	frame_from(f, &pkt, sizeof(pkt), 6);
}

/* GRE carrying IPv4: 4 bytes of GRE header and 4 of payload. */
static const __u8 gre_bytes[8] = {0, 0, 0x08, 0x00, 0x45, 0, 0, 0};

static void b_v4_gre(struct frame *f, const struct verdict_case *c)
{
	struct ipv4_icmp_packet pkt = pkt_v4_icmp;

	pkt.ip.protocol = IPPROTO_GRE;
	memcpy(&pkt.icmp, gre_bytes, sizeof(gre_bytes));
	frame_from(f, &pkt, sizeof(pkt), 4);
}

static void b_v6_gre(struct frame *f, const struct verdict_case *c)
{
	struct ipv6_icmp_packet pkt = pkt_v6_icmp;

	pkt.ip6.nexthdr = IPPROTO_GRE;
	memcpy(&pkt.icmp, gre_bytes, sizeof(gre_bytes));
	frame_from(f, &pkt, sizeof(pkt), 6);
}

/* Patches: each breaks one field of an otherwise consistent frame. */
static void p_ihl(struct frame *f, const struct verdict_case *c)
{
	f->data[f->l3] = (f->data[f->l3] & 0xf0) | c->arg;
}

static void p_version(struct frame *f, const struct verdict_case *c)
{
	f->data[f->l3] = (f->data[f->l3] & 0x0f) | c->arg << 4;
}

/* IPv4 tot_len or IPv6 payload_len := arg */
static void p_ip_len(struct frame *f, const struct verdict_case *c)
{
	frame_put16(f, f->l3 + (f->family == 4 ? IPV4_TOT_LEN : IPV6_PAYLOAD), c->arg);
}

/* IPv4 tot_len or IPv6 payload_len += arg */
static void p_ip_len_add(struct frame *f, const struct verdict_case *c)
{
	frame_grow_ip(f, c->arg);
}

static void p_doff(struct frame *f, const struct verdict_case *c)
{
	f->data[f->l4 + 12] = (f->data[f->l4 + 12] & 0x0f) | c->arg << 4;
}

/* Cut the L4 header to ARG bytes, IP length to match: a tiny fragment. */
static void p_cut_l4(struct frame *f, const struct verdict_case *c)
{
	frame_grow_ip(f, -(int)(f->len - f->l4 - c->arg));
	f->len = f->l4 + c->arg;
}

/* The frame ends after ARG bytes, lengths untouched. */
static void p_truncate(struct frame *f, const struct verdict_case *c)
{
	f->len = c->arg;
}

/* The first IPv6 extension header's length byte := arg */
static void p_ext_hdrlen(struct frame *f, const struct verdict_case *c)
{
	f->data[f->l3 + sizeof(struct ipv6hdr) + 1] = c->arg;
}

/* Replace the template's source address with SRC, an address of the frame's family. */
static void set_source(struct frame *f, const char *src)
{
	if (f->family == 4)
		inet_pton(AF_INET, src, f->data + f->l3 + offsetof(struct iphdr, saddr));
	else
		inet_pton(AF_INET6, src, f->data + f->l3 + offsetof(struct ipv6hdr, saddr));
}

static void build_case(struct frame *f, const struct verdict_case *c)
{
	c->base(f, c);
	if (c->src)
		set_source(f, c->src);
	if (c->ip_opts)
		frame_ipv4_options(f, c->ip_opts);
	if (c->frag)
		frame_put16(f, f->l3 + IPV4_FRAG_OFF, c->frag);
	for (const struct ext_spec *e = c->exts; e && e->len; e++)
		frame_ipv6_ext(f, e->type, e->len, e->frag_off);
	if (c->payload)
		frame_payload(f, c->payload);
	switch (c->vlan) {
	case VLAN_Q:
		frame_push_vlan(f, ETH_P_8021Q, 100);
		break;
	case VLAN_QINQ:
		frame_push_vlan(f, ETH_P_8021Q, 100);
		frame_push_vlan(f, ETH_P_8021AD, 200);
		break;
	case VLAN_Q_Q:
		frame_push_vlan(f, ETH_P_8021Q, 100);
		frame_push_vlan(f, ETH_P_8021Q, 200);
		break;
	case VLAN_TRIPLE:
		frame_push_vlan(f, ETH_P_8021Q, 100);
		frame_push_vlan(f, ETH_P_8021Q, 200);
		frame_push_vlan(f, ETH_P_8021AD, 300);
		break;
	}
	if (c->patch)
		c->patch(f, c);
}

#define ALLOWED		 .want = {XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS}
#define PASSES(reason)	 .want = {XDP_PASS, reason, false, PORT_NONE}
#define DROPS(reason)	 .want = {XDP_DROP, reason, false, PORT_NONE}
#define DROPS_ON_PORT(r) .want = {XDP_DROP, r, false, PORT_DROP}
/* Monitor mode: passes, counted in the monitor slot of REASON. */
#define MONITORED(r, port) .cfg_flags = PC_CFG_MONITOR, .want = {XDP_PASS, r, true, port}

#define SYN	  .flags = TCP_SYN
#define ACK	  .flags = TCP_ACK
#define ICMP_DENY .cfg_flags = PC_CFG_ICMP_DENY
#define FRAG_DENY .cfg_flags = PC_CFG_FRAG_DENY
#define EPHEMERAL .established = PC_ESTABLISHED_EPHEMERAL
#define EST_OFF	  .established = PC_ESTABLISHED_OFF

#define EXT(type, len)                                                                             \
	{                                                                                          \
		type, len, 0                                                                       \
	}
#define FRAG6(off_flags)                                                                           \
	{                                                                                          \
		IPPROTO_FRAGMENT, 8, off_flags                                                     \
	}
#define CHAIN(...) ((const struct ext_spec[]){__VA_ARGS__, {0, 0, 0}})

#define HBH EXT(IPPROTO_HOPOPTS, 8)
#define RTH EXT(IPPROTO_ROUTING, 24)
#define DOH EXT(IPPROTO_DSTOPTS, 16)
#define AH  EXT(IPPROTO_AH, 24)

/* Fragment offsets: 1480 bytes into the datagram, 8 bytes, more-fragments flag. */
#define V4_OFF_1480 (1480 / 8)
#define V4_MF	    0x2000
#define V6_OFF_1480 (1480)
#define V6_MF	    0x0001

static const struct verdict_case cases[] = {
    /* Step 1: not IP passes; VLAN is parsed through, at most two tags. */
    {"arp: not IP", b_arp, PASSES(PC_PASS_NOT_IP)},
    {"arp in 802.1Q: not IP", b_arp, .vlan = VLAN_Q, PASSES(PC_PASS_NOT_IP)},
    {"arp in 802.1ad+802.1Q: not IP", b_arp, .vlan = VLAN_QINQ, PASSES(PC_PASS_NOT_IP)},
    {"vlan 802.1Q ipv4 tcp 22", b_v4_tcp, 22, SYN, .vlan = VLAN_Q, ALLOWED},
    {"vlan 802.1Q ipv4 tcp 23", b_v4_tcp, 23, SYN, .vlan = VLAN_Q,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"vlan 802.1Q ipv6 udp 53", b_v6_udp, 53, .vlan = VLAN_Q, ALLOWED},
    {"vlan 802.1ad+802.1Q ipv4 tcp 22", b_v4_tcp, 22, SYN, .vlan = VLAN_QINQ, ALLOWED},
    {"vlan 802.1ad+802.1Q ipv6 tcp 22", b_v6_tcp, 22, SYN, .vlan = VLAN_QINQ, ALLOWED},
    {"vlan 802.1ad+802.1Q ipv6 tcp 23", b_v6_tcp, 23, SYN, .vlan = VLAN_QINQ,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"vlan 802.1Q+802.1Q ipv4 udp 53", b_v4_udp, 53, .vlan = VLAN_Q_Q, ALLOWED},
    {"vlan triple tag: malformed", b_v4_tcp, 22, SYN, .vlan = VLAN_TRIPLE,
     DROPS(PC_DROP_MALFORMED)},
    {"vlan triple tag arp: malformed", b_arp, .vlan = VLAN_TRIPLE, DROPS(PC_DROP_MALFORMED)},
    {"vlan tag cut by end of frame: malformed", b_arp, .vlan = VLAN_Q, .patch = p_truncate,
     .arg = 16, DROPS(PC_DROP_MALFORMED)},
    {"vlan 802.1Q ipv4 ihl 4: malformed", b_v4_tcp, 22, SYN, .vlan = VLAN_Q, .patch = p_ihl,
     .arg = 4, DROPS(PC_DROP_MALFORMED)},

    /* Steps 2 and 3: denied sources drop, trusted sources pass, before anything else. */
    {"deny: ipv4 203.0.113.5 to allowed tcp 22: denied-source", b_v4_tcp, 22, SYN,
     .src = "203.0.113.5", DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: ipv4 203.0.112.255 (outside the /24): allowed", b_v4_tcp, 22, SYN,
     .src = "203.0.112.255", ALLOWED},
    {"deny: ipv6 2001:db8:bad:ffff::1 to udp 53: denied-source", b_v6_udp, 53,
     .src = "2001:db8:bad:ffff::1", DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: ipv6 2001:db8:bae::1 (outside the /48): allowed", b_v6_udp, 53,
     .src = "2001:db8:bae::1", ALLOWED},
    {"deny: ipv4-mapped ::ffff:203.0.113.5: malformed, before any list", b_v6_tcp, 22, SYN,
     .src = "::ffff:203.0.113.5", DROPS(PC_DROP_MALFORMED)},
    {"deny: ipv4-compatible ::203.0.113.5: malformed, before any list", b_v6_udp, 53,
     .src = "::203.0.113.5", DROPS(PC_DROP_MALFORMED)},
    {"deny: in 802.1ad+802.1Q: denied-source", b_v4_udp, 53, .src = "203.0.113.5",
     .vlan = VLAN_QINQ, DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: icmp frag-needed from a denied source: denied-source", b_v4_icmp,
     .arg = ICMP_TC(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED), .src = "203.0.113.5",
     DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: non-first fragment from a denied source: denied-source", b_v6_udp, 53,
     .src = "2001:db8:bad::1", .exts = CHAIN(FRAG6(V6_OFF_1480)), DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: gre from a denied source: denied-source", b_v4_gre, .src = "203.0.113.5",
     DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: ipv4 tot_len past the frame from a denied source: denied-source", b_v4_tcp, 22, SYN,
     .src = "203.0.113.5", .patch = p_ip_len_add, .arg = 1, DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: ipv6 7 extension headers from a denied source: denied-source", b_v6_udp, 53,
     .src = "2001:db8:bad::1", .exts = CHAIN(DOH, DOH, DOH, DOH, DOH, DOH, DOH),
     DROPS(PC_DROP_DENIED_SOURCE)},
    {"deny: ipv4 header cut before the source: malformed", b_v4_tcp, 22, SYN, .src = "203.0.113.5",
     .patch = p_truncate, .arg = ETH_HLEN + 19, DROPS(PC_DROP_MALFORMED)},
    {"deny and trust: 203.0.113.77 is denied first", b_v4_tcp, 22, SYN, .src = "203.0.113.77",
     DROPS(PC_DROP_DENIED_SOURCE)},
    {"trust: ipv4 192.0.2.99 to closed tcp 23: trusted", b_v4_tcp, 23, SYN, .src = "192.0.2.99",
     PASSES(PC_PASS_TRUSTED)},
    {"trust: ipv4 192.0.2.98 to closed tcp 23: not-allowed", b_v4_tcp, 23, SYN, .src = "192.0.2.98",
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"trust: ipv6 2001:db8:7:1::5 to closed udp 54: trusted", b_v6_udp, 54,
     .src = "2001:db8:7:1::5", PASSES(PC_PASS_TRUSTED)},
    {"trust: ipv4-mapped ::ffff:192.0.2.99 is not the trusted 192.0.2.99: malformed", b_v6_udp,
     23, .src = "::ffff:192.0.2.99", DROPS(PC_DROP_MALFORMED)},
    {"trust: null scan from a trusted source: trusted", b_v4_tcp, 22, .flags = 0,
     .src = "192.0.2.99", PASSES(PC_PASS_TRUSTED)},
    {"trust: source-limited tcp 2222: trusted", b_v4_tcp, 2222, SYN, .src = "192.0.2.99",
     PASSES(PC_PASS_TRUSTED)},
    {"trust: icmp echo, icmp deny: trusted", b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0),
     .src = "192.0.2.99", ICMP_DENY, PASSES(PC_PASS_TRUSTED)},
    {"trust: non-first fragment, fragments deny: trusted", b_v4_udp, 53, .src = "192.0.2.99",
     .frag = V4_OFF_1480, FRAG_DENY, PASSES(PC_PASS_TRUSTED)},
    {"trust: ipv4 tot_len past the frame from a trusted source: trusted", b_v4_tcp, 23, SYN,
     .src = "192.0.2.99", .patch = p_ip_len_add, .arg = 1, PASSES(PC_PASS_TRUSTED)},

    /* Step 8 with a port's own source list. */
    {"port list: ipv4 198.51.100.7 to tcp 2222: allowed", b_v4_tcp, 2222, SYN,
     .src = "198.51.100.7", ALLOWED},
    {"port list: ipv4 198.51.101.7 to tcp 2222: source-not-allowed", b_v4_tcp, 2222, SYN,
     .src = "198.51.101.7", DROPS_ON_PORT(PC_DROP_SOURCE_NOT_ALLOWED)},
    {"port list: ipv6 2001:db8:1:ff::9 to tcp 2222: allowed", b_v6_tcp, 2222, ACK,
     .src = "2001:db8:1:ff::9", ALLOWED},
    {"port list: ipv6 2001:db8:2::9 to tcp 2222: source-not-allowed", b_v6_tcp, 2222, ACK,
     .src = "2001:db8:2::9", DROPS_ON_PORT(PC_DROP_SOURCE_NOT_ALLOWED)},
    {"port list: ipv4-mapped ::ffff:198.51.100.7 to tcp 2222: malformed", b_v6_tcp, 2222, SYN,
     .src = "::ffff:198.51.100.7", DROPS(PC_DROP_MALFORMED)},
    {"ipv4-mapped ::ffff:198.18.0.3 to allowed tcp 22: malformed", b_v6_tcp, 22, SYN,
     .src = "::ffff:198.18.0.3", DROPS(PC_DROP_MALFORMED)},
    {"ipv4-compatible ::198.18.0.3 to allowed udp 53: malformed", b_v6_udp, 53,
     .src = "::198.18.0.3", DROPS(PC_DROP_MALFORMED)},
    {"unspecified :: (DAD) to allowed udp 53: allowed", b_v6_udp, 53, .src = "::", ALLOWED},
    {"::1.0.0.0 (one bit below ::ffff:0:0/96): malformed", b_v6_udp, 53, .src = "::1.0.0.0",
     DROPS(PC_DROP_MALFORMED)},
    {"::1:ffff:0:1 (outside ::/96): allowed", b_v6_udp, 53, .src = "::1:ffff:0:1", ALLOWED},
    {"port list: 198.51.100.7 to udp 2222 (list is tcp only): not-allowed", b_v4_udp, 2222,
     .src = "198.51.100.7", DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"port list: 198.51.100.7 to tcp 2223: not-allowed", b_v4_tcp, 2223, SYN, .src = "198.51.100.7",
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"port list: fin from a listed source: scan-fin", b_v4_tcp, 2222, .flags = TCP_FIN,
     .src = "198.51.100.7", DROPS_ON_PORT(PC_DROP_SCAN_FIN)},
    {"port list: 198.51.100.7 to tcp 40001 (no list), ephemeral: source-not-allowed", b_v4_tcp,
     40001, ACK, .src = "198.51.100.7", EPHEMERAL, DROPS_ON_PORT(PC_DROP_SOURCE_NOT_ALLOWED)},

    /* Step 5: headers truncated or inconsistent. */
    {"ipv4 ihl 4: malformed", b_v4_tcp, 22, SYN, .patch = p_ihl, .arg = 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 ihl 0: malformed", b_v4_tcp, 22, SYN, .patch = p_ihl, .arg = 0,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tot_len one past the frame: malformed", b_v4_tcp, 22, SYN, .patch = p_ip_len_add,
     .arg = 1, DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tot_len 19 < ihl*4: malformed", b_v4_tcp, 22, SYN, .patch = p_ip_len, .arg = 19,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 ihl 6 tot_len 23 < ihl*4: malformed", b_v4_udp, 53, .ip_opts = 1, .patch = p_ip_len,
     .arg = 23, DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tot_len 0: malformed", b_v4_tcp, 22, SYN, .patch = p_ip_len, .arg = 0,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tot_len short of the frame (padding): allowed", b_v4_udp, 53, .payload = 18,
     .patch = p_ip_len, .arg = 28, ALLOWED},
    {"ipv4 version 6 under ETH_P_IP: malformed", b_v4_tcp, 22, SYN, .patch = p_version, .arg = 6,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv6 version 4 under ETH_P_IPV6: malformed", b_v6_tcp, 22, SYN, .patch = p_version, .arg = 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tcp doff 4: malformed", b_v4_tcp, 22, SYN, .patch = p_doff, .arg = 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tcp doff 0: malformed", b_v4_tcp, 22, SYN, .patch = p_doff, .arg = 0,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tcp doff 6 beyond payload: malformed", b_v4_tcp, 22, SYN, .patch = p_doff, .arg = 6,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tcp doff 15 beyond frame: malformed", b_v4_tcp, 22, SYN, .patch = p_doff, .arg = 15,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tcp doff 6 with 4 option bytes: allowed", b_v4_tcp, 22, SYN, .payload = 4,
     .patch = p_doff, .arg = 6, ALLOWED},
    {"ipv4 udp header cut by tot_len: malformed", b_v4_udp, 53, .patch = p_ip_len, .arg = 20 + 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv4 icmp header cut by tot_len: malformed", b_v4_icmp, .patch = p_ip_len, .arg = 20 + 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv6 tcp doff 4: malformed", b_v6_tcp, 22, SYN, .patch = p_doff, .arg = 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv6 tcp doff 6 beyond payload: malformed", b_v6_tcp, 22, SYN, .patch = p_doff, .arg = 6,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv6 payload_len one past the frame: malformed", b_v6_tcp, 22, SYN, .patch = p_ip_len_add,
     .arg = 1, DROPS(PC_DROP_MALFORMED)},
    {"ipv6 payload_len 19 < tcp header: malformed", b_v6_tcp, 22, SYN, .patch = p_ip_len, .arg = 19,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv6 payload_len short of the frame (padding): allowed", b_v6_udp, 53, .payload = 10,
     .patch = p_ip_len, .arg = 8, ALLOWED},
    {"ipv6 icmpv6 header cut by payload_len: malformed", b_v6_icmp, .patch = p_ip_len, .arg = 4,
     DROPS(PC_DROP_MALFORMED)},
    {"ipv6 ext header longer than the payload: malformed", b_v6_tcp, 22, SYN, .exts = CHAIN(DOH),
     .patch = p_ext_hdrlen, .arg = 10, DROPS(PC_DROP_MALFORMED)},
    {"ipv6 ext header cut by payload_len: malformed", b_v6_tcp, 22, SYN, .exts = CHAIN(HBH),
     .patch = p_ip_len, .arg = 4, DROPS(PC_DROP_MALFORMED)},
    {"ipv6 6 extension headers (the limit): allowed", b_v6_tcp, 22, SYN,
     .exts = CHAIN(HBH, DOH, RTH, FRAG6(0), AH, DOH), ALLOWED},
    {"ipv6 6 extension headers to tcp 23: not-allowed", b_v6_tcp, 23, SYN,
     .exts = CHAIN(HBH, DOH, RTH, FRAG6(0), AH, DOH), DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv6 7 extension headers: malformed", b_v6_tcp, 22, SYN,
     .exts = CHAIN(HBH, DOH, RTH, FRAG6(0), AH, DOH, DOH), DROPS(PC_DROP_MALFORMED)},
    {"ipv6 7 destination options headers: malformed", b_v6_udp, 53,
     .exts = CHAIN(DOH, DOH, DOH, DOH, DOH, DOH, DOH), DROPS(PC_DROP_MALFORMED)},

    /* IPv4 options and IPv6 extension headers parsed through. */
    {"ipv4 ihl 6 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 1, ALLOWED},
    {"ipv4 ihl 7 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 2, ALLOWED},
    {"ipv4 ihl 8 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 3, ALLOWED},
    {"ipv4 ihl 9 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 4, ALLOWED},
    {"ipv4 ihl 10 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 5, ALLOWED},
    {"ipv4 ihl 11 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 6, ALLOWED},
    {"ipv4 ihl 12 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 7, ALLOWED},
    {"ipv4 ihl 13 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 8, ALLOWED},
    {"ipv4 ihl 14 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 9, ALLOWED},
    {"ipv4 ihl 15 (options): allowed", b_v4_tcp, 22, SYN, .ip_opts = 10, ALLOWED},
    {"ipv4 ihl 15 udp 53: allowed", b_v4_udp, 53, .ip_opts = 10, ALLOWED},
    {"ipv4 ihl 15 tcp 23: not-allowed", b_v4_tcp, 23, SYN, .ip_opts = 10,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv6 hop-by-hop: allowed", b_v6_tcp, 22, SYN, .exts = CHAIN(HBH), ALLOWED},
    {"ipv6 routing: allowed", b_v6_tcp, 22, SYN, .exts = CHAIN(RTH), ALLOWED},
    {"ipv6 destination options: allowed", b_v6_tcp, 22, SYN, .exts = CHAIN(DOH), ALLOWED},
    {"ipv6 atomic fragment header: allowed", b_v6_tcp, 22, SYN, .exts = CHAIN(FRAG6(0)), ALLOWED},
    {"ipv6 authentication header: allowed", b_v6_tcp, 22, SYN, .exts = CHAIN(AH), ALLOWED},
    {"ipv6 authentication header udp 53: allowed", b_v6_udp, 53, .exts = CHAIN(AH), ALLOWED},
    {"ipv6 hop-by-hop tcp 23: not-allowed", b_v6_tcp, 23, SYN, .exts = CHAIN(HBH),
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv6 128-byte destination options: allowed", b_v6_udp, 53,
     .exts = CHAIN(EXT(IPPROTO_DSTOPTS, 128)), ALLOWED},

    /* Step 5: fragments. */
    {"ipv4 non-first fragment, fragments allow", b_v4_tcp, 22, SYN, .frag = V4_OFF_1480,
     PASSES(PC_PASS_FRAGMENT)},
    {"ipv4 non-first fragment, fragments deny", b_v4_tcp, 22, SYN, .frag = V4_OFF_1480, FRAG_DENY,
     DROPS(PC_DROP_FRAGMENT)},
    {"ipv4 non-first fragment with MF, fragments deny", b_v4_udp, 53, .frag = V4_MF | V4_OFF_1480,
     FRAG_DENY, DROPS(PC_DROP_FRAGMENT)},
    {"ipv4 fragment at offset 8, fragments allow", b_v4_tcp, 23, SYN, .frag = 1,
     PASSES(PC_PASS_FRAGMENT)},
    {"ipv4 short non-first fragment is no tiny fragment", b_v4_tcp, 22, SYN, .frag = V4_OFF_1480,
     .patch = p_cut_l4, .arg = 8, PASSES(PC_PASS_FRAGMENT)},
    {"ipv4 first fragment tcp 22: allowed", b_v4_tcp, 22, SYN, .frag = V4_MF, ALLOWED},
    {"ipv4 first fragment tcp 22, fragments deny: allowed", b_v4_tcp, 22, SYN, .frag = V4_MF,
     FRAG_DENY, ALLOWED},
    {"ipv4 first fragment tcp 23: not-allowed", b_v4_tcp, 23, SYN, .frag = V4_MF,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tiny first fragment tcp (8 bytes): malformed", b_v4_tcp, 22, SYN, .frag = V4_MF,
     .patch = p_cut_l4, .arg = 8, DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tiny first fragment tcp (16 bytes, flags in): malformed", b_v4_tcp, 22, SYN,
     .frag = V4_MF, .patch = p_cut_l4, .arg = 16, DROPS(PC_DROP_MALFORMED)},
    {"ipv4 tiny first fragment udp (4 bytes): malformed", b_v4_udp, 53, .frag = V4_MF,
     .patch = p_cut_l4, .arg = 4, DROPS(PC_DROP_MALFORMED)},
    {"ipv6 non-first fragment, fragments allow", b_v6_tcp, 22, SYN,
     .exts = CHAIN(FRAG6(V6_OFF_1480)), PASSES(PC_PASS_FRAGMENT)},
    {"ipv6 non-first fragment, fragments deny", b_v6_tcp, 22, SYN,
     .exts = CHAIN(FRAG6(V6_OFF_1480 | V6_MF)), FRAG_DENY, DROPS(PC_DROP_FRAGMENT)},
    {"ipv6 hop-by-hop + non-first fragment, fragments deny", b_v6_udp, 53,
     .exts = CHAIN(HBH, FRAG6(V6_OFF_1480)), FRAG_DENY, DROPS(PC_DROP_FRAGMENT)},
    {"ipv6 first fragment tcp 22: allowed", b_v6_tcp, 22, SYN, .exts = CHAIN(FRAG6(V6_MF)),
     FRAG_DENY, ALLOWED},
    {"ipv6 first fragment udp 54: not-allowed", b_v6_udp, 54, .exts = CHAIN(FRAG6(V6_MF)),
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv6 tiny first fragment tcp (8 bytes): malformed", b_v6_tcp, 22, SYN,
     .exts = CHAIN(FRAG6(V6_MF)), .patch = p_cut_l4, .arg = 8, DROPS(PC_DROP_MALFORMED)},
    {"ipv6 tiny first fragment udp (4 bytes): malformed", b_v6_udp, 53, .exts = CHAIN(FRAG6(V6_MF)),
     .patch = p_cut_l4, .arg = 4, DROPS(PC_DROP_MALFORMED)},

    /* Step 6: ICMP policy; ND and packet-too-big always pass; other protocols pass. */
    {"icmp echo, icmp allow", b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0), PASSES(PC_PASS_ICMP)},
    {"icmp echo, icmp deny", b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0), ICMP_DENY,
     DROPS(PC_DROP_ICMP)},
    {"icmp echo reply, icmp deny", b_v4_icmp, .arg = ICMP_TC(ICMP_ECHOREPLY, 0), ICMP_DENY,
     DROPS(PC_DROP_ICMP)},
    {"icmp port unreachable, icmp deny", b_v4_icmp,
     .arg = ICMP_TC(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH), ICMP_DENY, DROPS(PC_DROP_ICMP)},
    {"icmp frag-needed, icmp deny: essential", b_v4_icmp,
     .arg = ICMP_TC(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED), ICMP_DENY,
     PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmp frag-needed, icmp allow: essential", b_v4_icmp,
     .arg = ICMP_TC(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED), PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmp frag-needed in 802.1ad+802.1Q, icmp deny: essential", b_v4_icmp,
     .arg = ICMP_TC(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED), .vlan = VLAN_QINQ, ICMP_DENY,
     PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 echo, icmp allow", b_v6_icmp, .arg = ICMP_TC(ICMPV6_ECHO_REQ, 0),
     PASSES(PC_PASS_ICMP)},
    {"icmpv6 echo, icmp deny", b_v6_icmp, .arg = ICMP_TC(ICMPV6_ECHO_REQ, 0), ICMP_DENY,
     DROPS(PC_DROP_ICMP)},
    {"icmpv6 destination unreachable, icmp deny", b_v6_icmp, .arg = ICMP_TC(1, 4), ICMP_DENY,
     DROPS(PC_DROP_ICMP)},
    {"icmpv6 packet-too-big, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(ICMPV6_PKT_TOOBIG, 0),
     ICMP_DENY, PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 132 (MLD done), icmp deny", b_v6_icmp, .arg = ICMP_TC(132, 0), ICMP_DENY,
     DROPS(PC_DROP_ICMP)},
    {"icmpv6 133 router solicitation, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(133, 0),
     ICMP_DENY, PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 134 router advertisement, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(134, 0),
     ICMP_DENY, PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 135 neighbour solicitation, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(135, 0),
     ICMP_DENY, PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 136 neighbour advertisement, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(136, 0),
     ICMP_DENY, PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 137 redirect, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(137, 0), ICMP_DENY,
     PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"icmpv6 138, icmp deny", b_v6_icmp, .arg = ICMP_TC(138, 0), ICMP_DENY, DROPS(PC_DROP_ICMP)},
    {"icmpv6 135 after hop-by-hop, icmp deny: essential", b_v6_icmp, .arg = ICMP_TC(135, 0),
     .exts = CHAIN(HBH), ICMP_DENY, PASSES(PC_PASS_ICMP_ESSENTIAL)},
    {"ipv4 gre: protocol", b_v4_gre, DROPS(PC_DROP_PROTOCOL)},
    {"ipv4 gre, allow proto gre: other protocol", b_v4_gre, .open_proto = IPPROTO_GRE,
     PASSES(PC_PASS_OTHER_PROTO)},
    {"ipv4 gre, allow proto 46 (gre is 47): protocol", b_v4_gre, .open_proto = 46,
     DROPS(PC_DROP_PROTOCOL)},
    {"ipv4 gre, icmp deny, fragments deny, allow proto gre: other protocol", b_v4_gre,
     .open_proto = IPPROTO_GRE, .cfg_flags = PC_CFG_ICMP_DENY | PC_CFG_FRAG_DENY,
     PASSES(PC_PASS_OTHER_PROTO)},
    {"ipv6 gre: protocol", b_v6_gre, DROPS(PC_DROP_PROTOCOL)},
    {"ipv6 gre, allow proto gre: other protocol", b_v6_gre, .open_proto = IPPROTO_GRE,
     PASSES(PC_PASS_OTHER_PROTO)},
    {"ipv6 gre after destination options: protocol", b_v6_gre, .exts = CHAIN(DOH),
     DROPS(PC_DROP_PROTOCOL)},
    {"ipv6 gre after destination options, allow proto gre: other protocol", b_v6_gre,
     .exts = CHAIN(DOH), .open_proto = IPPROTO_GRE, PASSES(PC_PASS_OTHER_PROTO)},

    /* Step 8: the port allowlist, single ports and range edges. */
    {"ipv4 tcp 22 syn: allowed", b_v4_tcp, 22, SYN, ALLOWED},
    {"ipv4 tcp 80 ack: allowed", b_v4_tcp, 80, ACK, ALLOWED},
    {"ipv4 tcp 443 psh+ack: allowed", b_v4_tcp, 443, .flags = TCP_PSH | TCP_ACK, ALLOWED},
    {"ipv6 tcp 22 syn: allowed", b_v6_tcp, 22, SYN, ALLOWED},
    {"ipv4 tcp 7999 (range lo-1): not-allowed", b_v4_tcp, 7999, SYN,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tcp 8000 (range lo): allowed", b_v4_tcp, 8000, SYN, ALLOWED},
    {"ipv4 tcp 8100 (range hi): allowed", b_v4_tcp, 8100, SYN, ALLOWED},
    {"ipv4 tcp 8101 (range hi+1): not-allowed", b_v4_tcp, 8101, SYN,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv6 tcp 8000 (range lo): allowed", b_v6_tcp, 8000, SYN, ALLOWED},
    {"ipv6 tcp 8101 (range hi+1): not-allowed", b_v6_tcp, 8101, SYN,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 udp 53: allowed", b_v4_udp, 53, ALLOWED},
    {"ipv6 udp 53: allowed", b_v6_udp, 53, ALLOWED},
    {"ipv4 udp 4999 (range lo-1): not-allowed", b_v4_udp, 4999, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 udp 5000 (range lo): allowed", b_v4_udp, 5000, ALLOWED},
    {"ipv6 udp 5010 (range hi): allowed", b_v6_udp, 5010, ALLOWED},
    {"ipv6 udp 5011 (range hi+1): not-allowed", b_v6_udp, 5011, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tcp 53 (open for udp only): not-allowed", b_v4_tcp, 53, SYN,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 udp 22 (open for tcp only): not-allowed", b_v4_udp, 22,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tcp 23: not-allowed", b_v4_tcp, 23, SYN, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv6 tcp 23: not-allowed", b_v6_tcp, 23, SYN, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tcp 0: not-allowed", b_v4_tcp, 0, SYN, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tcp 65535: not-allowed", b_v4_tcp, 65535, SYN, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 tcp 2222 source-limited: source-not-allowed", b_v4_tcp, 2222, SYN,
     DROPS_ON_PORT(PC_DROP_SOURCE_NOT_ALLOWED)},
    {"ipv6 tcp 2222 source-limited ack: source-not-allowed", b_v6_tcp, 2222, ACK,
     DROPS_ON_PORT(PC_DROP_SOURCE_NOT_ALLOWED)},

    /* Step 7 before step 8: illegal flags are judged before the port. */
    {"ipv4 fin to tcp 23: scan-fin", b_v4_tcp, 23, .flags = TCP_FIN,
     DROPS_ON_PORT(PC_DROP_SCAN_FIN)},
    {"ipv6 null to tcp 2222: scan-null", b_v6_tcp, 2222, .flags = 0,
     DROPS_ON_PORT(PC_DROP_SCAN_NULL)},
    {"ipv4 xmas to tcp 23, scan-flags pass: not-allowed", b_v4_tcp, 23,
     .flags = TCP_FIN | TCP_PSH | TCP_URG, .cfg_flags = PC_CFG_SCAN_PASS,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ipv4 syn+ece+cwr: allowed", b_v4_tcp, 22, .flags = TCP_SYN | TCP_ECE | TCP_CWR, ALLOWED},
    {"ipv4 ack+ece: allowed", b_v4_tcp, 22, .flags = TCP_ACK | TCP_ECE, ALLOWED},
    {"ipv4 ece+cwr only: scan-null", b_v4_tcp, 22, .flags = TCP_ECE | TCP_CWR,
     DROPS_ON_PORT(PC_DROP_SCAN_NULL)},
    {"ipv4 fin+psh+urg+ece+cwr: scan-xmas", b_v4_tcp, 22,
     .flags = TCP_FIN | TCP_PSH | TCP_URG | TCP_ECE | TCP_CWR, DROPS_ON_PORT(PC_DROP_SCAN_XMAS)},
    {"ipv6 syn+fin: scan-synfin", b_v6_tcp, 22, .flags = TCP_SYN | TCP_FIN,
     DROPS_ON_PORT(PC_DROP_SCAN_SYNFIN)},
    {"ipv6 rst: allowed", b_v6_tcp, 22, .flags = TCP_RST, ALLOWED},

    /* Step 9: established traffic. */
    {"ephemeral: ipv4 tcp ack to 40000: established", b_v4_tcp, 40000, ACK, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv6 tcp ack to 40000: established", b_v6_tcp, 40000, ACK, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 tcp syn+ack to 40000: established", b_v4_tcp, 40000,
     .flags = TCP_SYN | TCP_ACK, EPHEMERAL, PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 tcp fin+ack to 40000: established", b_v4_tcp, 40000,
     .flags = TCP_FIN | TCP_ACK, EPHEMERAL, PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 tcp rst to 40000: established", b_v4_tcp, 40000, .flags = TCP_RST, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 udp to 40000: established", b_v4_udp, 40000, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv6 udp to 40000: established", b_v6_udp, 40000, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 tcp syn to 40000: not-allowed", b_v4_tcp, 40000, SYN, EPHEMERAL,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ephemeral: ipv6 tcp syn+ece+cwr to 40000: not-allowed", b_v6_tcp, 40000,
     .flags = TCP_SYN | TCP_ECE | TCP_CWR, EPHEMERAL, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ephemeral: ipv4 tcp fin to 40000: scan-fin", b_v4_tcp, 40000, .flags = TCP_FIN, EPHEMERAL,
     DROPS_ON_PORT(PC_DROP_SCAN_FIN)},
    {"ephemeral: ipv4 tcp ack to 32767 (lo-1): not-allowed", b_v4_tcp, 32767, ACK, EPHEMERAL,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ephemeral: ipv4 tcp ack to 32768 (lo): established", b_v4_tcp, 32768, ACK, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 udp to 60999 (hi): established", b_v4_udp, 60999, EPHEMERAL,
     PASSES(PC_PASS_ESTABLISHED)},
    {"ephemeral: ipv4 udp to 61000 (hi+1): not-allowed", b_v4_udp, 61000, EPHEMERAL,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ephemeral: tcp 22 still allowed", b_v4_tcp, 22, SYN, EPHEMERAL, ALLOWED},
    {"ephemeral: ack to source-limited 40001: source-not-allowed", b_v4_tcp, 40001, ACK, EPHEMERAL,
     DROPS_ON_PORT(PC_DROP_SOURCE_NOT_ALLOWED)},
    {"established off: ipv4 tcp ack to 40000: not-allowed", b_v4_tcp, 40000, ACK, EST_OFF,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"established off: ipv6 udp to 40000: not-allowed", b_v6_udp, 40000, EST_OFF,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"established socket, no socket: ipv4 tcp ack to 40000: not-allowed", b_v4_tcp, 40000, ACK,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"established socket, no socket: ipv6 tcp ack to 40000: not-allowed", b_v6_tcp, 40000, ACK,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"established socket, no socket: ipv4 udp to 40000: not-allowed", b_v4_udp, 40000,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"established socket, no socket: ipv6 udp to 40000: not-allowed", b_v6_udp, 40000,
     DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},

    /* Monitor mode: counted as in enforce, in the monitor slots, and passed. */
    {"monitor: tcp 23 would be not-allowed", b_v4_tcp, 23, SYN,
     MONITORED(PC_DROP_NOT_ALLOWED, PORT_DROP)},
    {"monitor: tcp 2222 would be source-not-allowed", b_v6_tcp, 2222, SYN,
     MONITORED(PC_DROP_SOURCE_NOT_ALLOWED, PORT_DROP)},
    {"monitor: null scan would be scan-null", b_v4_tcp, 22, .flags = 0,
     MONITORED(PC_DROP_SCAN_NULL, PORT_DROP)},
    {"monitor: ihl 4 would be malformed", b_v4_tcp, 22, SYN, .patch = p_ihl, .arg = 4,
     MONITORED(PC_DROP_MALFORMED, PORT_NONE)},
    {"monitor: triple vlan would be malformed", b_v4_tcp, 22, SYN, .vlan = VLAN_TRIPLE,
     MONITORED(PC_DROP_MALFORMED, PORT_NONE)},
    {"monitor: tcp 22 allowed", b_v4_tcp, 22, SYN, MONITORED(PC_PASS_ALLOWED, PORT_PASS)},
    {"monitor: arp not IP", b_arp, MONITORED(PC_PASS_NOT_IP, PORT_NONE)},
    {"monitor+icmp deny: echo would be icmp", b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0),
     .cfg_flags = PC_CFG_MONITOR | PC_CFG_ICMP_DENY,
     .want = {XDP_PASS, PC_DROP_ICMP, true, PORT_NONE}},
    {"monitor+fragments deny: fragment would be dropped", b_v6_udp, 53,
     .exts = CHAIN(FRAG6(V6_OFF_1480)), .cfg_flags = PC_CFG_MONITOR | PC_CFG_FRAG_DENY,
     .want = {XDP_PASS, PC_DROP_FRAGMENT, true, PORT_NONE}},
};

static void run_case(const struct verdict_case *c)
{
	struct pc_config cfg = make_config(c->cfg_flags, c->established);
	struct frame f;
	int err;

	if (c->open_proto)
		cfg.protos[c->open_proto / 64] |= 1ULL << (c->open_proto % 64);
	if (without_lists &&
	    (c->want.reason == PC_DROP_DENIED_SOURCE || c->want.reason == PC_PASS_TRUSTED))
		return;
	test_begin("verdict%s: %s", without_lists ? " without lists" : "", c->name);
	build_case(&f, c);
	err = pc_maps_write_config(&maps, 0, &cfg);
	if (EXPECT(err == 0, "writing config: %s", strerror(-err)))
		check_frame(&f, f.len, &c->want);
	test_end();
}

/*
 * Every drop of the table once more in monitor mode: the same reason and
 * port counter, in the monitor slots, and the packet passes.
 */
static void run_monitor_replay(const struct verdict_case *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct verdict_case c = table[i];
		char name[160];

		if (c.want.ret != XDP_DROP)
			continue;
		snprintf(name, sizeof(name), "monitor replay: %s", c.name);
		c.name = name;
		c.cfg_flags |= PC_CFG_MONITOR;
		c.want.ret = XDP_PASS;
		c.want.monitor = true;
		run_case(&c);
	}
}

/* ---- all 64 TCP flag combinations --------------------------------------------- */

enum flag_class { LEGAL, S_NULL, S_FIN, S_XMAS, S_SYNFIN, S_SYNRST, S_OTHER };

/*
 * From the contract, step 7: no flags is scan-null; SYN+FIN scan-synfin and
 * SYN+RST scan-synrst whatever else is set; FIN+PSH+URG without ACK
 * scan-xmas; any other FIN without ACK scan-fin; PSH or URG without ACK
 * scan-other. With ACK anything else is legal, and without it only a bare
 * SYN or a bare RST. Index: URG ACK PSH RST SYN FIN.
 */
static const enum flag_class flag_table[64] = {
    [0x00] = S_NULL,   /* ...... */
    [0x01] = S_FIN,    /* .....F */
    [0x02] = LEGAL,    /* ....S. */
    [0x03] = S_SYNFIN, /* ....SF */
    [0x04] = LEGAL,    /* ...R.. */
    [0x05] = S_FIN,    /* ...R.F */
    [0x06] = S_SYNRST, /* ...RS. */
    [0x07] = S_SYNFIN, /* ...RSF */
    [0x08] = S_OTHER,  /* ..P... */
    [0x09] = S_FIN,    /* ..P..F */
    [0x0a] = S_OTHER,  /* ..P.S. */
    [0x0b] = S_SYNFIN, /* ..P.SF */
    [0x0c] = S_OTHER,  /* ..PR.. */
    [0x0d] = S_FIN,    /* ..PR.F */
    [0x0e] = S_SYNRST, /* ..PRS. */
    [0x0f] = S_SYNFIN, /* ..PRSF */
    [0x10] = LEGAL,    /* .A.... */
    [0x11] = LEGAL,    /* .A...F */
    [0x12] = LEGAL,    /* .A..S. */
    [0x13] = S_SYNFIN, /* .A..SF */
    [0x14] = LEGAL,    /* .A.R.. */
    [0x15] = LEGAL,    /* .A.R.F */
    [0x16] = S_SYNRST, /* .A.RS. */
    [0x17] = S_SYNFIN, /* .A.RSF */
    [0x18] = LEGAL,    /* .AP... */
    [0x19] = LEGAL,    /* .AP..F */
    [0x1a] = LEGAL,    /* .AP.S. */
    [0x1b] = S_SYNFIN, /* .AP.SF */
    [0x1c] = LEGAL,    /* .APR.. */
    [0x1d] = LEGAL,    /* .APR.F */
    [0x1e] = S_SYNRST, /* .APRS. */
    [0x1f] = S_SYNFIN, /* .APRSF */
    [0x20] = S_OTHER,  /* U..... */
    [0x21] = S_FIN,    /* U....F */
    [0x22] = S_OTHER,  /* U...S. */
    [0x23] = S_SYNFIN, /* U...SF */
    [0x24] = S_OTHER,  /* U..R.. */
    [0x25] = S_FIN,    /* U..R.F */
    [0x26] = S_SYNRST, /* U..RS. */
    [0x27] = S_SYNFIN, /* U..RSF */
    [0x28] = S_OTHER,  /* U.P... */
    [0x29] = S_XMAS,   /* U.P..F */
    [0x2a] = S_OTHER,  /* U.P.S. */
    [0x2b] = S_SYNFIN, /* U.P.SF */
    [0x2c] = S_OTHER,  /* U.PR.. */
    [0x2d] = S_XMAS,   /* U.PR.F */
    [0x2e] = S_SYNRST, /* U.PRS. */
    [0x2f] = S_SYNFIN, /* U.PRSF */
    [0x30] = LEGAL,    /* UA.... */
    [0x31] = LEGAL,    /* UA...F */
    [0x32] = LEGAL,    /* UA..S. */
    [0x33] = S_SYNFIN, /* UA..SF */
    [0x34] = LEGAL,    /* UA.R.. */
    [0x35] = LEGAL,    /* UA.R.F */
    [0x36] = S_SYNRST, /* UA.RS. */
    [0x37] = S_SYNFIN, /* UA.RSF */
    [0x38] = LEGAL,    /* UAP... */
    [0x39] = LEGAL,    /* UAP..F */
    [0x3a] = LEGAL,    /* UAP.S. */
    [0x3b] = S_SYNFIN, /* UAP.SF */
    [0x3c] = LEGAL,    /* UAPR.. */
    [0x3d] = LEGAL,    /* UAPR.F */
    [0x3e] = S_SYNRST, /* UAPRS. */
    [0x3f] = S_SYNFIN, /* UAPRSF */
};

static const int flag_class_reason[] = {
    [LEGAL] = PC_PASS_ALLOWED,	      [S_NULL] = PC_DROP_SCAN_NULL,
    [S_FIN] = PC_DROP_SCAN_FIN,	      [S_XMAS] = PC_DROP_SCAN_XMAS,
    [S_SYNFIN] = PC_DROP_SCAN_SYNFIN, [S_SYNRST] = PC_DROP_SCAN_SYNRST,
    [S_OTHER] = PC_DROP_SCAN_OTHER,
};

static const char *flag_string(__u8 flags)
{
	static const char letters[] = "FSRPAU";
	static char buf[8];

	for (int bit = 5; bit >= 0; bit--)
		buf[5 - bit] = flags & (1 << bit) ? letters[bit] : '.';
	buf[6] = '\0';
	return buf;
}

static void run_flag_cases(void)
{
	for (int scan_pass = 0; scan_pass <= 1; scan_pass++) {
		for (int flags = 0; flags < 64; flags++) {
			struct verdict_case c = {
			    .base = b_v4_tcp,
			    .port = 22,
			    .flags = flags,
			    .cfg_flags = scan_pass ? PC_CFG_SCAN_PASS : 0,
			};
			int reason = flag_class_reason[flag_table[flags]];
			char name[96];

			if (scan_pass)
				reason = PC_PASS_ALLOWED;
			c.want = (struct expect){reason == PC_PASS_ALLOWED ? XDP_PASS : XDP_DROP,
						 reason, false,
						 reason == PC_PASS_ALLOWED ? PORT_PASS : PORT_DROP};
			snprintf(name, sizeof(name), "tcp flags %s (0x%02x)%s: %s",
				 flag_string(flags), flags, scan_pass ? ", scan-flags pass" : "",
				 pc_reason_name(reason));
			c.name = name;
			run_case(&c);
		}
	}
}

/* ---- truncation ------------------------------------------------------------------ */

static const struct verdict_case truncation_packets[] = {
    {"ipv4 tcp", b_v4_tcp, 22, .flags = TCP_PSH | TCP_ACK, .payload = 6},
    {"ipv4 udp", b_v4_udp, 53, .payload = 6},
    {"ipv6 tcp", b_v6_tcp, 22, .flags = TCP_PSH | TCP_ACK, .payload = 6},
    {"ipv6 udp", b_v6_udp, 53, .payload = 6},
    {"ipv4 tcp, options, 802.1Q", b_v4_tcp, 22, SYN, .ip_opts = 3, .vlan = VLAN_Q, .payload = 2},
    {"ipv6 udp, hop-by-hop + fragment, 802.1ad+802.1Q", b_v6_udp, 53, .vlan = VLAN_QINQ,
     .exts = CHAIN(HBH, FRAG6(V6_MF)), .payload = 2},
};

/*
 * Every prefix of a valid packet whose IP lengths describe the whole packet:
 * the full length is allowed, every shorter one from 14 bytes on is
 * malformed, and below 14 bytes the kernel refuses to run the program.
 */
static void run_truncation(const struct verdict_case *c)
{
	const struct expect malformed = {XDP_DROP, PC_DROP_MALFORMED, false, PORT_NONE};
	const struct expect allowed = {XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS};
	struct pc_config cfg = make_config(0, PC_ESTABLISHED_OFF);
	struct frame f;
	__u32 retval;

	build_case(&f, c);
	test_begin("truncation%s: %s, every length 0..%u", without_lists ? " without lists" : "",
		   c->name, f.len);
	if (!EXPECT(pc_maps_write_config(&maps, 0, &cfg) == 0, "writing config")) {
		test_end();
		return;
	}
	for (__u32 len = 0; len <= f.len && !case_failed; len++) {
		if (len < ETH_HLEN) {
			int err = run_prog(prog_fd, f.data, len, 1, &retval, NULL);

			EXPECT(err == -EINVAL, "length %u: test_run returned %d, expected -EINVAL",
			       len, err);
			check_snapshot(-1, -1, -1, 0, false);
			continue;
		}
		check_frame_ports(&f, len, len == f.len ? &allowed : &malformed, false);
		if (case_failed)
			printf("    (at length %u of %u)\n", len, f.len);
	}
	/* Of all those runs only the full packet counted on its port. */
	if (!case_failed)
		check_snapshot(-1, -1,
			       ports->slot_of[frame_pc_proto(&f) * PC_PORTS + frame_dport(&f)],
			       f.len, true);
	else
		read_counters(snap); /* resynchronise the port maps for later cases */
	test_end();
}

/* ---- double-buffered rule sets ----------------------------------------------------- */

static void run_rule_set_switch(void)
{
	struct pc_config cfg0 = make_config(0, PC_ESTABLISHED_OFF);
	struct pc_config cfg1 = make_config(PC_CFG_ICMP_DENY, PC_ESTABLISHED_OFF);
	struct pc_port_table *table1 = standard_ports();
	struct verdict_case tcp9999 = {.base = b_v4_tcp, .port = 9999, .flags = TCP_SYN};
	struct verdict_case echo = {.base = b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0)};
	const struct expect not_allowed = {XDP_DROP, PC_DROP_NOT_ALLOWED, false, PORT_DROP};
	const struct expect icmp_pass = {XDP_PASS, PC_PASS_ICMP, false, PORT_NONE};
	const struct expect icmp_drop = {XDP_DROP, PC_DROP_ICMP, false, PORT_NONE};
	struct expect allowed = {XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS};
	struct frame syn, ping;
	__u32 slot;
	int err;

	test_begin("rule sets: set 1 has no effect until activated, then replaces set 0");
	if (!EXPECT(table1 != NULL, "pc_port_table_new failed"))
		goto out;
	build_case(&syn, &tcp9999);
	build_case(&ping, &echo);
	pc_port_table_set(table1, PC_PROTO_TCP, 9999, 9999, PC_PORT_ALLOWED);
	err = pc_maps_write_config(&maps, 0, &cfg0);
	if (!err)
		err = write_rules(1, &cfg1, table1);
	if (!EXPECT(err == 0, "writing rule set 1: %s", strerror(-err)))
		goto out;

	/* Set 0 in force: 9999 closed, ICMP allowed. */
	check_frame(&syn, syn.len, &not_allowed);
	check_frame(&ping, ping.len, &icmp_pass);

	err = pc_maps_activate(&maps, 1);
	if (!EXPECT(err == 0, "activating set 1: %s", strerror(-err)))
		goto out;
	/* The pass slot is the one set 1's table handed out to 9999. */
	slot = table1->slot_of[PC_PROTO_TCP * PC_PORTS + 9999];
	ports->slot_of[PC_PROTO_TCP * PC_PORTS + 9999] = slot;
	check_frame(&syn, syn.len, &allowed);
	check_frame(&ping, ping.len, &icmp_drop);

	err = pc_maps_activate(&maps, 0);
	if (!EXPECT(err == 0, "activating set 0: %s", strerror(-err)))
		goto out;
	check_frame(&syn, syn.len, &not_allowed);
	check_frame(&ping, ping.len, &icmp_pass);
out:
	ports->slot_of[PC_PROTO_TCP * PC_PORTS + 9999] = 0;
	pc_maps_activate(&maps, 0);
	pc_port_table_free(table1);
	test_end();
}

/* ---- safe rollout: the deadline of a pending rule set ------------------------------------ */

/*
 * Set 1 is in force and carries (or not) a --confirm deadline; set 0 holds
 * the rules it replaced, or "unfiltered" after an attach. Until the
 * deadline set 1 judges; after it set 0 does, without any process.
 */
struct rollout_case {
	const char *name;
	bool pending;         /* PC_CFG_CONFIRM_PENDING on set 1 */
	bool passed;          /* its deadline is behind us */
	bool after_attach;    /* set 0 is PC_CFG_UNFILTERED */
	struct expect syn9999; /* open in set 1 only */
	struct expect ping;    /* ICMP denied in set 1 only */
};

#define UNCOUNTED (-1) /* expect.reason: passed and counted nowhere */

static const struct rollout_case rollout_cases[] = {
	{"pending, deadline ahead: the new set judges", true, false, false,
	 {XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS}, {XDP_DROP, PC_DROP_ICMP, false, PORT_NONE}},
	{"pending, deadline passed: the previous set judges", true, true, false,
	 {XDP_DROP, PC_DROP_NOT_ALLOWED, false, PORT_DROP}, {XDP_PASS, PC_PASS_ICMP, false, PORT_NONE}},
	{"confirmed (no pending flag), old deadline: the new set stays", false, true, false,
	 {XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS}, {XDP_DROP, PC_DROP_ICMP, false, PORT_NONE}},
	{"after attach, deadline ahead: filtered by the new set", true, false, true,
	 {XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS}, {XDP_DROP, PC_DROP_ICMP, false, PORT_NONE}},
	{"after attach, deadline passed: not filtered, nothing counted", true, true, true,
	 {XDP_PASS, UNCOUNTED, false, PORT_NONE}, {XDP_PASS, UNCOUNTED, false, PORT_NONE}},
};

/* check_frame, or for UNCOUNTED: XDP_PASS and no counter moved. */
static void check_rollout_frame(const struct frame *f, const struct expect *e)
{
	__u32 retval = 0;
	int err;

	if (e->reason != UNCOUNTED) {
		check_frame(f, f->len, e);
		return;
	}
	err = run_prog(prog_fd, f->data, f->len, 1, &retval, NULL);
	if (EXPECT(err == 0, "test_run: %s", strerror(-err)))
		EXPECT(retval == XDP_PASS, "verdict %s, expected XDP_PASS", xdp_name(retval));
	check_snapshot(-1, -1, -1, f->len, true);
}

static void run_rollout_cases(void)
{
	struct verdict_case tcp9999 = {.base = b_v4_tcp, .port = 9999, .flags = TCP_SYN};
	struct verdict_case echo = {.base = b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0)};
	struct pc_port_table *table1 = standard_ports();
	struct frame syn, ping;
	__u32 slot = 0;

	build_case(&syn, &tcp9999);
	build_case(&ping, &echo);
	if (table1) {
		pc_port_table_set(table1, PC_PROTO_TCP, 9999, 9999, PC_PORT_ALLOWED);
		slot = table1->slot_of[PC_PROTO_TCP * PC_PORTS + 9999];
	}
	for (size_t i = 0; i < ARRAY_SIZE(rollout_cases); i++) {
		const struct rollout_case *c = &rollout_cases[i];
		struct pc_config cfg0 = make_config(0, PC_ESTABLISHED_OFF);
		struct pc_config cfg1 = make_config(PC_CFG_ICMP_DENY, PC_ESTABLISHED_OFF);
		__u64 now = pc_rollout_now_ns();
		int err;

		test_begin("rollout: %s", c->name);
		if (!EXPECT(table1 != NULL, "pc_port_table_new failed"))
			goto next;
		if (c->after_attach)
			cfg0 = (struct pc_config){.flags = PC_CFG_UNFILTERED};
		cfg1.flags |= c->pending ? PC_CFG_CONFIRM_PENDING : 0;
		cfg1.confirm_ns = 2000000000ULL;
		/* Ahead: an hour. Passed: a second ago (the coarse clock is a tick behind). */
		cfg1.confirm_deadline_ns = c->passed ? now - 1000000000ULL : now + 3600000000000ULL;
		err = pc_maps_write_config(&maps, 0, &cfg0);
		err = err ?: write_rules(1, &cfg1, table1);
		err = err ?: pc_maps_activate(&maps, 1);
		if (!EXPECT(err == 0, "writing the rule sets: %s", strerror(-err)))
			goto next;
		ports->slot_of[PC_PROTO_TCP * PC_PORTS + 9999] = slot;
		check_rollout_frame(&syn, &c->syn9999);
		check_rollout_frame(&ping, &c->ping);
next:
		ports->slot_of[PC_PROTO_TCP * PC_PORTS + 9999] = 0;
		test_end();
	}
	/* Set 0 as every other case has it. */
	if (pc_maps_activate(&maps, 0) == 0) {
		struct pc_config cfg0 = make_config(0, PC_ESTABLISHED_OFF);

		pc_maps_write_config(&maps, 0, &cfg0);
	}
	pc_port_table_free(table1);
}

/* ---- real sockets for "established socket" ------------------------------------------- */

static socklen_t loopback_addr(int family, __u16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = in6addr_loopback;
	return sizeof(*sin6);
}

/* Port of a bound socket, host order; the port field sits alike in both families. */
static __u16 local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A socket of TYPE bound to the loopback address on a port the kernel picks. */
static int bind_loopback(int family, int type, __u16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(family, 0, &ss);
	int fd = socket(family, type, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = local_port(fd);
	return fd;
}

static int connect_loopback(int family, int fd, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_addr(family, port, &ss);

	return connect(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
}

/* A frame loopback:SPORT -> loopback:DPORT, as the peer of a local socket sends it. */
static void loopback_frame(struct frame *f, int family, int type, __u16 sport, __u16 dport,
			   __u8 flags)
{
	struct verdict_case c = {.port = dport, .flags = flags};

	if (family == AF_INET)
		c.base = type == SOCK_STREAM ? b_v4_tcp : b_v4_udp;
	else
		c.base = type == SOCK_STREAM ? b_v6_tcp : b_v6_udp;
	build_case(f, &c);
	if (family == AF_INET) {
		__be32 lo = htonl(INADDR_LOOPBACK);

		memcpy(f->data + f->l3 + offsetof(struct iphdr, saddr), &lo, sizeof(lo));
		memcpy(f->data + f->l3 + offsetof(struct iphdr, daddr), &lo, sizeof(lo));
	} else {
		memcpy(f->data + f->l3 + offsetof(struct ipv6hdr, saddr), &in6addr_loopback,
		       sizeof(in6addr_loopback));
		memcpy(f->data + f->l3 + offsetof(struct ipv6hdr, daddr), &in6addr_loopback,
		       sizeof(in6addr_loopback));
	}
	frame_put16(f, f->l4, sport); /* source port: same offset in TCP and UDP */
}

/*
 * Sockets on the loopback address of our private namespace; the frames
 * claim to come from their peers. Listening and unconnected sockets must
 * not count as established, connections and connected UDP sockets must.
 */
static void run_socket_cases(int family)
{
	const struct expect not_allowed = {XDP_DROP, PC_DROP_NOT_ALLOWED, false, PORT_DROP};
	const struct expect established = {XDP_PASS, PC_PASS_ESTABLISHED, false, PORT_NONE};
	const char *fam = family == AF_INET ? "ipv4" : "ipv6";
	struct pc_config cfg = make_config(0, PC_ESTABLISHED_SOCKET);
	int listener, client = -1, server = -1, udp_open, udp_conn;
	__u16 lport = 0, cport, uport_open = 0, uport_conn = 0;
	struct frame f;
	int err = 0;

	listener = bind_loopback(family, SOCK_STREAM, &lport);
	udp_open = bind_loopback(family, SOCK_DGRAM, &uport_open);
	udp_conn = bind_loopback(family, SOCK_DGRAM, &uport_conn);
	if (listener < 0 || udp_open < 0 || udp_conn < 0)
		err = listener < 0 ? listener : udp_open < 0 ? udp_open : udp_conn;
	if (!err && listen(listener, 1))
		err = -errno;
	if (!err && (client = socket(family, SOCK_STREAM, 0)) < 0)
		err = -errno;
	if (!err)
		err = connect_loopback(family, client, lport);
	if (!err && (server = accept(listener, NULL, NULL)) < 0)
		err = -errno;
	if (!err)
		err = connect_loopback(family, udp_conn, 9);
	if (err) {
		test_begin("sockets: %s loopback sockets", fam);
		test_detail("socket setup: %s", strerror(-err));
		test_end();
		goto out;
	}
	cport = local_port(client);
	pc_maps_write_config(&maps, 0, &cfg);

	test_begin("sockets: %s ack to a listening tcp socket: not-allowed", fam);
	loopback_frame(&f, family, SOCK_STREAM, 5555, lport, TCP_ACK);
	check_frame(&f, f.len, &not_allowed);
	test_end();

	test_begin("sockets: %s syn to a listening tcp socket: not-allowed", fam);
	loopback_frame(&f, family, SOCK_STREAM, 5555, lport, TCP_SYN);
	check_frame(&f, f.len, &not_allowed);
	test_end();

	test_begin("sockets: %s ack on a tcp connection, connecting side: established", fam);
	loopback_frame(&f, family, SOCK_STREAM, lport, cport, TCP_ACK);
	check_frame(&f, f.len, &established);
	test_end();

	test_begin("sockets: %s ack on a tcp connection, accepted side: established", fam);
	loopback_frame(&f, family, SOCK_STREAM, cport, lport, TCP_ACK);
	check_frame(&f, f.len, &established);
	test_end();

	test_begin("sockets: %s ack from another peer port: not-allowed", fam);
	loopback_frame(&f, family, SOCK_STREAM, lport + 1, cport, TCP_ACK);
	check_frame(&f, f.len, &not_allowed);
	test_end();

	test_begin("sockets: %s udp to an unconnected socket: not-allowed", fam);
	loopback_frame(&f, family, SOCK_DGRAM, 9, uport_open, 0);
	check_frame(&f, f.len, &not_allowed);
	test_end();

	test_begin("sockets: %s udp to a socket connected to the sender: established", fam);
	loopback_frame(&f, family, SOCK_DGRAM, 9, uport_conn, 0);
	check_frame(&f, f.len, &established);
	test_end();

	test_begin("sockets: %s udp to a socket connected to another peer: not-allowed", fam);
	loopback_frame(&f, family, SOCK_DGRAM, 10, uport_conn, 0);
	check_frame(&f, f.len, &not_allowed);
	test_end();
out : {
	int fds[] = {listener, client, server, udp_open, udp_conn};

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}
}

/* ---- step 4: bans and the scan detector ------------------------------------------------- */

/* The key the data path uses for ADDR: IPv6 cut to the /64 of make_config(). */
static struct pc_addr_key ban_key(const char *addr)
{
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	struct pc_addr_key key;
	__u8 bytes[16] = {};

	inet_pton(family, addr, bytes);
	pc_addr_key_make(&key, family, bytes, 64);
	return key;
}

static int ban_for(const char *addr, __u64 expires_ns, __u32 reason)
{
	struct pc_addr_key key = ban_key(addr);
	struct pc_ban entry = {
	    .expires_ns = expires_ns, .created_ns = pc_now_ns(), .reason = reason};
	bool replaced;

	return pc_bans_add(&maps, &key, &entry, &replaced);
}

static int ban(const char *addr, __u64 expires_ns)
{
	return ban_for(addr, expires_ns, PC_BAN_MANUAL);
}

static int unban(const char *addr)
{
	struct pc_addr_key key = ban_key(addr);

	return pc_bans_remove(&maps, &key);
}

static bool is_banned(const char *addr)
{
	struct pc_addr_key key = ban_key(addr);
	struct pc_ban entry;

	return bpf_map_lookup_elem(maps.bans, &key, &entry) == 0;
}

/* Bans in force as the data path's gate counts them, and bans the detector made. */
static void ban_counts(__u64 *active, __u64 *made)
{
	__u64 stats[PC_SCAN_STATS] = {};

	*active = *made = 0;
	if (pc_bans_stats(&maps, stats, active) == 0)
		*made = stats[PC_STAT_BANS];
}

/*
 * Banned: 192.0.2.50, 2001:db8:5:1::/64, and the trusted 192.0.2.99 and
 * denied 203.0.113.5 (steps 2 and 3 come first), and the exempt 198.18.5.9
 * (a manual ban holds an exempt source). 192.0.2.51's ban expired. The
 * exempt 198.18.5.7 has a scan ban, which does not hold it.
 */
static const char *const manual_bans[] = {"192.0.2.50", "2001:db8:5:1::1", "192.0.2.99",
					  "203.0.113.5", "198.18.5.9"};
static const char scan_banned_exempt[] = "198.18.5.7";

static const struct verdict_case ban_cases[] = {
    {"ban: ipv4 192.0.2.50 to allowed tcp 22: banned", b_v4_tcp, 22, SYN, .src = "192.0.2.50",
     DROPS(PC_DROP_BANNED)},
    {"ban: ipv4 192.0.2.50 to closed udp 54: banned", b_v4_udp, 54, .src = "192.0.2.50",
     DROPS(PC_DROP_BANNED)},
    {"ban: ipv4-mapped ::ffff:192.0.2.50: malformed", b_v6_tcp, 22, SYN,
     .src = "::ffff:192.0.2.50", DROPS(PC_DROP_MALFORMED)},
    {"ban: ipv4 192.0.2.52 (not banned): allowed", b_v4_tcp, 22, SYN, .src = "192.0.2.52", ALLOWED},
    {"ban: ipv6 2001:db8:5:1::abcd, same /64 as the ban: banned", b_v6_udp, 53,
     .src = "2001:db8:5:1::abcd", DROPS(PC_DROP_BANNED)},
    {"ban: ipv6 2001:db8:5:2::1, next /64: allowed", b_v6_udp, 53, .src = "2001:db8:5:2::1",
     ALLOWED},
    {"ban: banned and trusted 192.0.2.99: trusted", b_v4_tcp, 23, SYN, .src = "192.0.2.99",
     PASSES(PC_PASS_TRUSTED)},
    {"ban: banned and denied 203.0.113.5: denied-source", b_v4_tcp, 22, SYN, .src = "203.0.113.5",
     DROPS(PC_DROP_DENIED_SOURCE)},
    {"ban: tot_len past the frame from a banned source: banned", b_v4_tcp, 22, SYN,
     .src = "192.0.2.50", .patch = p_ip_len_add, .arg = 1, DROPS(PC_DROP_BANNED)},
    {"ban: icmp frag-needed from a banned source: banned", b_v4_icmp,
     .arg = ICMP_TC(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED), .src = "192.0.2.50",
     DROPS(PC_DROP_BANNED)},
    {"ban: non-first fragment from a banned source: banned", b_v4_udp, 53, .src = "192.0.2.50",
     .frag = V4_OFF_1480, DROPS(PC_DROP_BANNED)},
    /* The fast path asks steps 2-4 right after the fixed IP header: every
     * way out of it must agree with decide(). */
    {"ban: tcp doff 4 from a banned source: banned", b_v4_tcp, 22, SYN, .src = "192.0.2.50",
     .patch = p_doff, .arg = 4, DROPS(PC_DROP_BANNED)},
    {"ban: tcp header cut to 8 bytes from a banned source: banned", b_v4_tcp, 22, SYN,
     .src = "192.0.2.50", .patch = p_cut_l4, .arg = 8, DROPS(PC_DROP_BANNED)},
    {"ban: ipv6 tcp doff 4 from a banned /64: banned", b_v6_tcp, 22, SYN,
     .src = "2001:db8:5:1::abcd", .patch = p_doff, .arg = 4, DROPS(PC_DROP_BANNED)},
    {"ban: ipv6 tcp to closed 23 from a banned /64: banned", b_v6_tcp, 23, SYN,
     .src = "2001:db8:5:1::1", DROPS(PC_DROP_BANNED)},
    {"ban: ipv4 options from a banned source: banned", b_v4_tcp, 22, SYN, .src = "192.0.2.50",
     .ip_opts = 2, DROPS(PC_DROP_BANNED)},
    {"ban: xmas probe from a banned source: banned", b_v4_tcp, 23, TCP_FIN | TCP_PSH | TCP_URG,
     .src = "192.0.2.50", DROPS(PC_DROP_BANNED)},
    {"ban: 802.1Q from a banned source: banned", b_v4_tcp, 22, SYN, .src = "192.0.2.50",
     .vlan = VLAN_Q, DROPS(PC_DROP_BANNED)},
    {"ban: 802.1ad+802.1Q from a banned /64: banned", b_v6_udp, 53, .src = "2001:db8:5:1::2",
     .vlan = VLAN_QINQ, DROPS(PC_DROP_BANNED)},
    {"ban: 802.1Q banned and denied 203.0.113.5: denied-source", b_v4_tcp, 22, SYN,
     .src = "203.0.113.5", .vlan = VLAN_Q, DROPS(PC_DROP_DENIED_SOURCE)},
    {"ban: banned and trusted 192.0.2.99 to closed udp 54: trusted", b_v4_udp, 54,
     .src = "192.0.2.99", PASSES(PC_PASS_TRUSTED)},
    {"ban: banned and denied 203.0.113.5, tcp doff 4: denied-source", b_v4_tcp, 22, SYN,
     .src = "203.0.113.5", .patch = p_doff, .arg = 4, DROPS(PC_DROP_DENIED_SOURCE)},
    {"ban: exempt 198.18.5.9 with a manual ban: banned", b_v4_tcp, 22, SYN, .src = "198.18.5.9",
     DROPS(PC_DROP_BANNED)},
    {"ban: exempt 198.18.5.7 with a scan ban: allowed", b_v4_tcp, 22, SYN, .src = "198.18.5.7",
     ALLOWED},
    {"ban: exempt 198.18.5.7 with a scan ban to closed tcp 23: not-allowed", b_v4_tcp, 23, SYN,
     .src = "198.18.5.7", DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
    {"ban: exempt 198.18.5.7 with a scan ban, 802.1Q: allowed", b_v4_udp, 53, .src = "198.18.5.7",
     .vlan = VLAN_Q, ALLOWED},
};

static void run_ban_cases(void)
{
	const struct verdict_case expired = {
	    "ban: expired ban of 192.0.2.51: allowed, and the ban removed",
	    b_v4_tcp,
	    22,
	    SYN,
	    .src = "192.0.2.51",
	    ALLOWED};
	const struct verdict_case unbanned = {"ban: 192.0.2.50 after unban: allowed",
					      b_v4_tcp,
					      22,
					      SYN,
					      .src = "192.0.2.50",
					      ALLOWED};
	__u64 active, active_after, made;
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(manual_bans) && !err; i++)
		err = ban(manual_bans[i], PC_BAN_FOREVER);
	if (!err)
		err = ban_for(scan_banned_exempt, PC_BAN_FOREVER, PC_BAN_SCAN);
	if (!err)
		err = ban("192.0.2.51", pc_now_ns() - 1);
	if (err) {
		test_begin("ban: set up bans");
		test_detail("pc_bans_add: %s", strerror(-err));
		test_end();
		return;
	}

	for (size_t i = 0; i < ARRAY_SIZE(ban_cases); i++)
		run_case(&ban_cases[i]);
	/* Again, now that the banned sources' answers are in the ban cache. */
	for (size_t i = 0; i < ARRAY_SIZE(ban_cases); i++) {
		struct verdict_case again = ban_cases[i];
		char name[160];

		snprintf(name, sizeof(name), "%s (again)", again.name);
		again.name = name;
		run_case(&again);
	}
	run_monitor_replay(ban_cases, ARRAY_SIZE(ban_cases));

	ban_counts(&active, &made);
	run_case(&expired);
	ban_counts(&active_after, &made);
	test_begin("ban: the data path removes an expired ban and counts it out");
	EXPECT(!is_banned("192.0.2.51"), "192.0.2.51 still in pc_bans");
	EXPECT(active_after + 1 == active, "bans in force %llu, expected %llu",
	       (unsigned long long)active_after, (unsigned long long)active - 1);
	test_end();

	err = unban("192.0.2.50");
	test_begin("ban: unban");
	EXPECT(err == 0, "pc_bans_remove: %s", strerror(-err));
	test_end();
	run_case(&unbanned);

	for (size_t i = 1; i < ARRAY_SIZE(manual_bans); i++)
		unban(manual_bans[i]);
	unban(scan_banned_exempt);
}

/*
 * The data path's per-CPU cache of bans (pc_ban_cache) answers a banned
 * source that keeps sending. Every row first makes the cache hold the
 * source (a packet on this CPU: the process is pinned to it), then changes
 * the ban table and asks the very next packet: a stale cache fails it.
 */
static const char ban_cache_src[] = "198.18.9.1";

/*
 * An address of 198.18.0.0/15 that SLOT_OF (pc_ban_hint_slot or
 * pc_ban_cache_slot) puts where ban_cache_src is, not that one.
 */
static bool slot_twin(__u32 (*slot_of)(const struct pc_addr_key *), char *out, size_t len)
{
	struct pc_addr_key want = ban_key(ban_cache_src);
	__u32 slot = slot_of(&want);

	for (__u32 i = 1; i < (1U << 17); i++) {
		__u32 addr = htonl(0xc6120000U + i); /* 198.18.0.0 + i */
		struct pc_addr_key key;

		pc_addr_key_make(&key, AF_INET, (const __u8 *)&addr, 64);
		if (slot_of(&key) == slot && memcmp(&key, &want, sizeof(key)) &&
		    inet_ntop(AF_INET, &addr, out, len))
			return true;
	}
	return false;
}

static void run_ban_cache_cases(void)
{
	struct verdict_case banned = {"ban cache: 198.18.9.1 banned: banned", b_v4_tcp, 22, SYN,
				      .src = ban_cache_src, DROPS(PC_DROP_BANNED)};
	struct verdict_case allowed = {"ban cache: 198.18.9.1 not banned: allowed", b_v4_tcp, 22, SYN,
				       .src = ban_cache_src, ALLOWED};
	struct verdict_case twin = {"ban cache: another source in its hint slot: allowed", b_v4_tcp,
				    22, SYN, ALLOWED};
	char twin_src[INET_ADDRSTRLEN];
	cpu_set_t was, here;
	bool pinned = false;
	int err;

	if (sched_getaffinity(0, sizeof(was), &was) == 0) {
		pinned = true;
		CPU_ZERO(&here);
		CPU_SET(sched_getcpu(), &here);
		sched_setaffinity(0, sizeof(here), &here);
	}

	err = ban(ban_cache_src, PC_BAN_FOREVER);
	test_begin("ban cache: ban 198.18.9.1");
	EXPECT(err == 0, "pc_bans_add: %s", strerror(-err));
	test_end();
	run_case(&banned);
	banned.name = "ban cache: 198.18.9.1 again (from the cache): banned";
	run_case(&banned);
	if (slot_twin(pc_ban_hint_slot, twin_src, sizeof(twin_src))) {
		twin.src = twin_src;
		run_case(&twin);
		banned.name = "ban cache: 198.18.9.1 after its hint twin: banned";
		run_case(&banned);
	} else {
		test_begin("ban cache: an address in 198.18.9.1's hint slot");
		EXPECT(false, "none in 198.18.0.0/15");
		test_end();
	}
	if (slot_twin(pc_ban_cache_slot, twin_src, sizeof(twin_src))) {
		twin.src = twin_src;
		twin.name = "ban cache: another source in its cache slot: allowed";
		run_case(&twin);
		banned.name = "ban cache: 198.18.9.1 after its cache twin: banned";
		run_case(&banned);
		run_case(&banned);
	} else {
		test_begin("ban cache: an address in 198.18.9.1's cache slot");
		EXPECT(false, "none in 198.18.0.0/15");
		test_end();
	}

	unban(ban_cache_src);
	allowed.name = "ban cache: the packet after the unban: allowed";
	run_case(&allowed);

	ban(ban_cache_src, PC_BAN_FOREVER);
	banned.name = "ban cache: the packet after a new ban: banned";
	run_case(&banned);

	/* Replaced by a ban that has expired already (pc_bans_add, BPF_EXIST). */
	ban(ban_cache_src, 1);
	allowed.name = "ban cache: the packet after the ban is replaced by an expired one: allowed";
	run_case(&allowed);

	/* An expiry that nobody writes: only the clock changes. */
	ban(ban_cache_src, pc_now_ns() + 60 * 1000000ULL);
	banned.name = "ban cache: a ban for 60 ms: banned";
	run_case(&banned);
	usleep(150 * 1000);
	allowed.name = "ban cache: the packet after it expired: allowed";
	run_case(&allowed);
	test_begin("ban cache: the expired ban was removed");
	EXPECT(!is_banned(ban_cache_src), "%s still in pc_bans", ban_cache_src);
	test_end();
	unban(ban_cache_src);

	if (pinned)
		sched_setaffinity(0, sizeof(was), &was);
}

/* ---- the drop log ------------------------------------------------------------ */

/* Records the ring held, collected by on_drop_record(). */
static struct pc_drop_record drop_records[32];
static size_t n_drop_records;

static int on_drop_record(void *ctx, void *data, size_t size)
{
	if (size == sizeof(struct pc_drop_record) && n_drop_records < ARRAY_SIZE(drop_records))
		memcpy(&drop_records[n_drop_records], data, size);
	n_drop_records++;
	return 0;
}

static __u64 drop_stat_sum(__u32 stat)
{
	__u64 values[512] = {}, sum = 0;

	if (maps.ncpus > 512 || bpf_map_lookup_elem(maps.drop_stats, &stat, values))
		return ~0ULL;
	for (int cpu = 0; cpu < maps.ncpus; cpu++)
		sum += values[cpu];
	return sum;
}

/* A fresh second's budget, as if no record had been sent yet. */
static void drop_budget_reset(void)
{
	struct pc_drop_budget budget = {};
	__u32 zero = 0;

	bpf_map_update_elem(maps.drop_budget, &zero, &budget, BPF_ANY);
}

/* A row: a verdict case, run with "log drops RATE" (0: off), and the record it must leave. */
struct droplog_case {
	struct verdict_case verdict;
	__u32 rate;
	bool record;          /* one record expected, else none */
	const char *src, *dst; /* the record's addresses */
	__u8 l4_proto;
	__u16 sport, dport;   /* host order; 0: none */
	__u8 tcp_flags;
};

#define TEST_DST4 "198.51.100.1"
#define TEST_SRC6 "2001:db8::10"

static const struct droplog_case droplog_cases[] = {
    {{"drop log: tcp 23 syn: a record", b_v4_tcp, 23, SYN, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_TCP, TEST_SPORT, 23, TCP_SYN},
    {{"drop log: ipv6 udp 9999: a record", b_v6_udp, 9999, DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
     100, true, TEST_SRC6, NULL, IPPROTO_UDP, TEST_SPORT, 9999, 0},
    {{"drop log: xmas to tcp 80: a record with its flags", b_v4_tcp, 80,
      .flags = TCP_FIN | TCP_PSH | TCP_URG, DROPS_ON_PORT(PC_DROP_SCAN_XMAS)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_TCP, TEST_SPORT, 80,
     TCP_FIN | TCP_PSH | TCP_URG},
    {{"drop log: denied source: a record", b_v4_tcp, 22, SYN, .src = "203.0.113.5",
      DROPS(PC_DROP_DENIED_SOURCE)},
     100, true, "203.0.113.5", TEST_DST4, IPPROTO_TCP, TEST_SPORT, 22, TCP_SYN},
    {{"drop log: tcp doff 4: a malformed record", b_v4_tcp, 22, SYN, .patch = p_doff, .arg = 4,
      DROPS(PC_DROP_MALFORMED)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_TCP, TEST_SPORT, 22, TCP_SYN},
    {{"drop log: vlan tcp 23: a record", b_v4_tcp, 23, SYN, .vlan = VLAN_QINQ,
      DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_TCP, TEST_SPORT, 23, TCP_SYN},
    {{"drop log: ipv6 tcp 23 behind extension headers: a record", b_v6_tcp, 23, SYN,
      .exts = CHAIN(HBH, DOH), DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
     100, true, TEST_SRC6, NULL, IPPROTO_TCP, TEST_SPORT, 23, TCP_SYN},
    {{"drop log: later fragment: a record without ports", b_v4_udp, 53, .frag = V4_OFF_1480,
      FRAG_DENY, DROPS(PC_DROP_FRAGMENT)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_UDP, 0, 0, 0},
    {{"drop log: icmp deny: a record without ports", b_v4_icmp, .arg = ICMP_TC(ICMP_ECHO, 0),
      ICMP_DENY, DROPS(PC_DROP_ICMP)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_ICMP, 0, 0, 0},
    {{"drop log: monitor mode tcp 23: a record, marked", b_v4_tcp, 23, SYN,
      MONITORED(PC_DROP_NOT_ALLOWED, PORT_DROP)},
     100, true, "192.0.2.10", TEST_DST4, IPPROTO_TCP, TEST_SPORT, 23, TCP_SYN},
    {{"drop log: tcp 22 allowed: no record", b_v4_tcp, 22, SYN, ALLOWED}, 100, false, .src = NULL},
    {{"drop log: ipv6 udp 53 allowed: no record", b_v6_udp, 53, ALLOWED}, 100, false, .src = NULL},
    {{"drop log off: tcp 23 syn: no record", b_v4_tcp, 23, SYN,
      DROPS_ON_PORT(PC_DROP_NOT_ALLOWED)},
     0, false, .src = NULL},
};

/* The record against the row, field by field. */
static void check_drop_record(const struct droplog_case *c, const struct pc_drop_record *rec,
			      __u32 len)
{
	int family = strchr(c->src, ':') ? AF_INET6 : AF_INET;
	__u8 src[16] = {}, dst[16] = {};

	inet_pton(family, c->src, src);
	if (c->dst)
		inet_pton(family, c->dst, dst);
	EXPECT(rec->reason == c->verdict.want.reason, "reason %u, expected %d", rec->reason,
	       c->verdict.want.reason);
	EXPECT(rec->family == (family == AF_INET ? PC_SRC_FAMILY_V4 : PC_SRC_FAMILY_V6),
	       "family %u", rec->family);
	EXPECT(memcmp(rec->saddr, src, 16) == 0, "source differs from %s", c->src);
	EXPECT(!c->dst || memcmp(rec->daddr, dst, 16) == 0, "destination differs from %s",
	       c->dst);
	EXPECT(rec->l4_proto == c->l4_proto, "protocol %u, expected %u", rec->l4_proto,
	       c->l4_proto);
	EXPECT(ntohs(rec->sport) == c->sport && ntohs(rec->dport) == c->dport,
	       "ports %u -> %u, expected %u -> %u", ntohs(rec->sport), ntohs(rec->dport), c->sport,
	       c->dport);
	EXPECT(rec->tcp_flags == c->tcp_flags, "flags 0x%x, expected 0x%x", rec->tcp_flags,
	       c->tcp_flags);
	EXPECT(rec->len == len, "len %u, expected %u", rec->len, len);
	EXPECT(rec->monitor == c->verdict.want.monitor, "monitor %u", rec->monitor);
	EXPECT(rec->time_ns <= pc_now_ns() && rec->time_ns + 5000000000ULL > pc_now_ns(),
	       "time %llu not within the last 5 s", (unsigned long long)rec->time_ns);
}

static void run_droplog_case(struct ring_buffer *ring, const struct droplog_case *c)
{
	struct pc_config cfg = make_config(c->verdict.cfg_flags, c->verdict.established);
	__u64 logged = drop_stat_sum(PC_DROP_STAT_LOGGED);
	__u64 suppressed = drop_stat_sum(PC_DROP_STAT_SUPPRESSED);
	struct frame f;

	if (c->rate) {
		cfg.flags |= PC_CFG_LOG_DROPS;
		cfg.log_drops_rate = c->rate;
	}
	test_begin("%s", c->verdict.name);
	build_case(&f, &c->verdict);
	drop_budget_reset();
	ring_buffer__consume(ring);
	n_drop_records = 0;
	if (EXPECT(pc_maps_write_config(&maps, 0, &cfg) == 0, "writing config"))
		check_frame(&f, f.len, &c->verdict.want);
	ring_buffer__consume(ring);
	EXPECT(n_drop_records == (c->record ? 1 : 0), "%zu records, expected %d", n_drop_records,
	       c->record ? 1 : 0);
	EXPECT(drop_stat_sum(PC_DROP_STAT_LOGGED) == logged + (c->record ? 1 : 0),
	       "logged count %llu, expected %llu",
	       (unsigned long long)drop_stat_sum(PC_DROP_STAT_LOGGED),
	       (unsigned long long)logged + (c->record ? 1 : 0));
	EXPECT(drop_stat_sum(PC_DROP_STAT_SUPPRESSED) == suppressed, "suppressed count moved");
	if (c->record && n_drop_records == 1)
		check_drop_record(c, &drop_records[0], f.len);
	test_end();
}

/*
 * Over the rate: a burst of drops at log drops 30 (one record every 33.3 ms,
 * 100 ms worth at once) gets 4 records; the rest are counted. The burst
 * takes microseconds, far less than the 33 ms that would earn a fifth.
 */
static void run_droplog_rate(struct ring_buffer *ring)
{
	struct verdict_case c = {"", b_v4_tcp, 23, SYN};
	struct pc_config cfg = make_config(0, 0);
	const __u32 rate = 30, sent = 10, records = 4;
	__u64 logged, suppressed;
	struct frame f;
	__u32 retval;

	cfg.flags |= PC_CFG_LOG_DROPS;
	cfg.log_drops_rate = rate;
	test_begin("drop log: %u drops at once at log drops %u: %u records, %u suppressed", sent,
		   rate, records, sent - records);
	build_case(&f, &c);
	EXPECT(pc_maps_write_config(&maps, 0, &cfg) == 0, "writing config");
	drop_budget_reset();
	ring_buffer__consume(ring);
	n_drop_records = 0;
	logged = drop_stat_sum(PC_DROP_STAT_LOGGED);
	suppressed = drop_stat_sum(PC_DROP_STAT_SUPPRESSED);
	EXPECT(run_prog(prog_fd, f.data, f.len, sent, &retval, NULL) == 0, "test_run");
	ring_buffer__consume(ring);
	EXPECT(n_drop_records == records, "%zu records, expected %u", n_drop_records, records);
	EXPECT(drop_stat_sum(PC_DROP_STAT_LOGGED) - logged == records,
	       "logged +%llu, expected +%u",
	       (unsigned long long)(drop_stat_sum(PC_DROP_STAT_LOGGED) - logged), records);
	EXPECT(drop_stat_sum(PC_DROP_STAT_SUPPRESSED) - suppressed == sent - records,
	       "suppressed +%llu, expected +%u",
	       (unsigned long long)(drop_stat_sum(PC_DROP_STAT_SUPPRESSED) - suppressed),
	       sent - records);
	test_end();
	/* The counters moved by SENT packets: take them in as the new snapshot. */
	read_counters(snap);
}

static void run_droplog_cases(void)
{
	struct ring_buffer *ring = ring_buffer__new(maps.drops, on_drop_record, NULL, NULL);

	if (!ring) {
		test_begin("drop log: open the ring buffer");
		test_detail("ring_buffer__new: %s", strerror(errno));
		test_end();
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(droplog_cases); i++)
		run_droplog_case(ring, &droplog_cases[i]);
	run_droplog_rate(ring);
	ring_buffer__free(ring);
}

/* ---- step 4: prefix bans ---------------------------------------------------------------- */

/* CIDR ("192.0.2.128/25") as 'ban' makes it, for the /64 of make_config(). */
static struct pc_ban_entry prefix_entry(const char *cidr, __u32 reason, __u64 expires_ns)
{
	char text[64];
	char *slash;
	__u8 bytes[16] = {};
	int family = strchr(cidr, ':') ? AF_INET6 : AF_INET;
	struct pc_ban_entry entry;

	snprintf(text, sizeof(text), "%s", cidr);
	slash = strchr(text, '/');
	*slash = '\0';
	inet_pton(family, text, bytes);
	pc_ban_entry_make(&entry, family, bytes, atoi(slash + 1), 64);
	entry.ban.reason = reason;
	entry.ban.created_ns = pc_now_ns();
	entry.ban.expires_ns = expires_ns;
	return entry;
}

/* The data path's gate of the prefix trie. */
static __u64 prefix_gate(void)
{
	struct pc_ban_state state = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(maps.ban_state, &zero, &state);
	return state.prefix_active;
}

/*
 * Prefix bans: 192.0.2.128/25 (manual), 2001:db8:6::/48 (crowdsec),
 * 192.0.2.96/27 around the trusted 192.0.2.99, 203.0.113.0/25 around the
 * denied 203.0.113.5, 198.18.5.0/24 = the exempt sources, 198.18.9.0/24
 * expired, and 198.18.10.0/24 (in force) around an expired 198.18.10.0/26.
 * 198.18.5.8 also has an address scan ban (which alone would not hold it).
 */
static const struct {
	const char *cidr;
	__u32 reason;
	int expired;
} prefix_bans[] = {
    {"192.0.2.128/25", PC_BAN_MANUAL, 0},	 {"2001:db8:6::/48", PC_BAN_CROWDSEC, 0},
    {"192.0.2.96/27", PC_BAN_MANUAL, 0},	 {"203.0.113.0/25", PC_BAN_CROWDSEC, 0},
    {"198.18.5.0/24", PC_BAN_MANUAL, 0},	 {"198.18.9.0/24", PC_BAN_MANUAL, 1},
    {"198.18.10.0/24", PC_BAN_CROWDSEC, 0}, {"198.18.10.0/26", PC_BAN_MANUAL, 1},
};

static const struct verdict_case prefix_ban_cases[] = {
    {"prefix ban: ipv4 192.0.2.200 in 192.0.2.128/25 to allowed tcp 22: banned", b_v4_tcp, 22,
     SYN, .src = "192.0.2.200", DROPS(PC_DROP_BANNED)},
    {"prefix ban: ipv4 192.0.2.128, its first address: banned", b_v4_udp, 53,
     .src = "192.0.2.128", DROPS(PC_DROP_BANNED)},
    {"prefix ban: ipv4 192.0.2.95 just below the /27: allowed", b_v4_tcp, 22, SYN,
     .src = "192.0.2.95", ALLOWED},
    {"prefix ban: ipv4 192.0.2.20 outside: allowed", b_v4_tcp, 22, SYN, .src = "192.0.2.20",
     ALLOWED},
    {"prefix ban: ipv6 2001:db8:6:ffff::1 in 2001:db8:6::/48: banned", b_v6_tcp, 22, SYN,
     .src = "2001:db8:6:ffff::1", DROPS(PC_DROP_BANNED)},
    {"prefix ban: ipv6 2001:db8:6::1 in /48 to closed udp 54: banned", b_v6_udp, 54,
     .src = "2001:db8:6::1", DROPS(PC_DROP_BANNED)},
    {"prefix ban: ipv6 2001:db8:16::1 outside the /48: allowed", b_v6_udp, 53,
     .src = "2001:db8:16::1", ALLOWED},
    {"prefix ban: ipv4-mapped ::ffff:192.0.2.200: malformed", b_v6_tcp, 22, SYN,
     .src = "::ffff:192.0.2.200", DROPS(PC_DROP_MALFORMED)},
    {"prefix ban: trusted 192.0.2.99 inside a banned /27: trusted", b_v4_tcp, 23, SYN,
     .src = "192.0.2.99", PASSES(PC_PASS_TRUSTED)},
    {"prefix ban: 192.0.2.100 beside it in the /27: banned", b_v4_tcp, 22, SYN,
     .src = "192.0.2.100", DROPS(PC_DROP_BANNED)},
    {"prefix ban: denied 203.0.113.5 inside a banned /25: denied-source", b_v4_tcp, 22, SYN,
     .src = "203.0.113.5", DROPS(PC_DROP_DENIED_SOURCE)},
    {"prefix ban: exempt 198.18.5.7 inside a banned prefix: banned", b_v4_tcp, 22, SYN,
     .src = "198.18.5.7", DROPS(PC_DROP_BANNED)},
    {"prefix ban: exempt 198.18.5.8 with a scan ban too: banned by the prefix", b_v4_udp, 53,
     .src = "198.18.5.8", DROPS(PC_DROP_BANNED)},
    {"prefix ban: 198.18.9.1 in an expired prefix ban: allowed", b_v4_tcp, 22, SYN,
     .src = "198.18.9.1", ALLOWED},
    {"prefix ban: 198.18.10.1 in an expired /26 inside a /24 in force: banned", b_v4_tcp, 22,
     SYN, .src = "198.18.10.1", DROPS(PC_DROP_BANNED)},
    {"prefix ban: tot_len past the frame from a banned prefix: banned", b_v4_tcp, 22, SYN,
     .src = "192.0.2.200", .patch = p_ip_len_add, .arg = 1, DROPS(PC_DROP_BANNED)},
    {"prefix ban: non-first fragment from a banned prefix: banned", b_v4_udp, 53,
     .src = "192.0.2.200", .frag = V4_OFF_1480, DROPS(PC_DROP_BANNED)},
    {"prefix ban: in 802.1Q from a banned prefix: banned", b_v4_udp, 53, .src = "192.0.2.200",
     .vlan = VLAN_Q, DROPS(PC_DROP_BANNED)},
};

static void run_prefix_ban_cases(void)
{
	const struct verdict_case after = {"prefix ban: 192.0.2.200 after unban of the /25: allowed",
					   b_v4_tcp,
					   22,
					   SYN,
					   .src = "192.0.2.200",
					   ALLOWED};
	struct pc_ban_entry entry, scan = prefix_entry("198.18.5.8/32", PC_BAN_SCAN,
						       PC_BAN_FOREVER);
	__u64 gate_before = prefix_gate();
	struct pc_ban_entry *list = NULL;
	size_t n = 0, found = 0;
	bool replaced;
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(prefix_bans) && !err; i++) {
		entry = prefix_entry(prefix_bans[i].cidr, prefix_bans[i].reason,
				     prefix_bans[i].expired ? pc_now_ns() - 1 : PC_BAN_FOREVER);
		err = pc_ban_entry_add(&maps, &entry, &replaced);
	}
	if (!err)
		err = pc_ban_entry_add(&maps, &scan, &replaced);
	test_begin("prefix ban: set up: all but the scan ban in the trie, counted by the gate");
	EXPECT(err == 0, "pc_ban_entry_add: %s", strerror(-err));
	EXPECT(prefix_gate() == gate_before + ARRAY_SIZE(prefix_bans), "gate %llu, expected %llu",
	       (unsigned long long)prefix_gate(),
	       (unsigned long long)(gate_before + ARRAY_SIZE(prefix_bans)));
	EXPECT(!scan.prefix_len, "a /32 went to the trie");
	test_end();
	if (err)
		return;

	for (size_t i = 0; i < ARRAY_SIZE(prefix_ban_cases); i++)
		run_case(&prefix_ban_cases[i]);
	run_monitor_replay(prefix_ban_cases, ARRAY_SIZE(prefix_ban_cases));

	test_begin("prefix ban: bans lists them with reason, and sweeps the expired ones");
	err = pc_bans_list(&maps, true, &list, &n, NULL, NULL);
	EXPECT(err == 0, "pc_bans_list: %s", strerror(-err));
	for (size_t i = 0; i < n; i++) {
		char text[64];

		pc_ban_entry_format(&list[i], 64, text, sizeof(text));
		found += strcmp(text, "2001:db8:6::/48") == 0 && list[i].ban.reason == PC_BAN_CROWDSEC;
		found += strcmp(text, "192.0.2.128/25") == 0 && list[i].ban.reason == PC_BAN_MANUAL;
	}
	free(list);
	EXPECT(found == 2, "%zu of the 2 bans found as expected", found);
	EXPECT(prefix_gate() == gate_before + ARRAY_SIZE(prefix_bans) - 2,
	       "gate %llu after the sweep, expected %llu", (unsigned long long)prefix_gate(),
	       (unsigned long long)(gate_before + ARRAY_SIZE(prefix_bans) - 2));
	test_end();

	entry = prefix_entry("192.0.2.128/25", PC_BAN_MANUAL, 0);
	err = pc_ban_entry_remove(&maps, &entry);
	test_begin("prefix ban: unban of the /25");
	EXPECT(err == 0, "pc_ban_entry_remove: %s", strerror(-err));
	EXPECT(pc_ban_entry_remove(&maps, &entry) == -ENOENT, "removed twice");
	test_end();
	run_case(&after);

	for (size_t i = 0; i < ARRAY_SIZE(prefix_bans); i++) {
		entry = prefix_entry(prefix_bans[i].cidr, 0, 0);
		pc_ban_entry_remove(&maps, &entry);
	}
	pc_ban_entry_remove(&maps, &scan);
	test_begin("prefix ban: every ban lifted: the gate is closed again");
	EXPECT(prefix_gate() == gate_before, "gate %llu, expected %llu",
	       (unsigned long long)prefix_gate(), (unsigned long long)gate_before);
	test_end();
}

/* One probe from SRC to PORT with FLAGS under CFG, expected to get REASON. */
static void probe(const struct pc_config *cfg, const char *src, __u16 port, __u8 flags,
		  const struct expect *want)
{
	struct verdict_case c = {.port = port, .flags = flags, .src = src};
	struct frame f;

	c.base = strchr(src, ':') ? b_v6_tcp : b_v4_tcp;
	build_case(&f, &c);
	pc_maps_write_config(&maps, 0, cfg);
	check_frame(&f, f.len, want);
}

/*
 * SRC probes each of PROBE_PORTS (a closed or scan-flag probe each), then sends a
 * SYN to the open tcp 22 from AFTER (SRC when NULL): banned or allowed.
 */
static void scan_case(const char *name, struct pc_config cfg, const char *src,
		      const __u16 *probe_ports, size_t n, __u8 flags, int probe_reason,
		      const char *after, bool banned)
{
	bool monitor = cfg.flags & PC_CFG_MONITOR;
	const struct expect probe_want = {monitor ? XDP_PASS : XDP_DROP, probe_reason, monitor,
					  PORT_DROP};
	const struct expect banned_want = {monitor ? XDP_PASS : XDP_DROP, PC_DROP_BANNED, monitor,
					   PORT_NONE};
	const struct expect allowed_want = {XDP_PASS, PC_PASS_ALLOWED, monitor, PORT_PASS};
	__u64 active, made, active_after, made_after;

	test_begin("scan detector: %s", name);
	ban_counts(&active, &made);
	for (size_t i = 0; i < n && !case_failed; i++) {
		char addr[INET6_ADDRSTRLEN];

		/* "%u" in SRC numbers the probes: sources of one /64 add up. */
		snprintf(addr, sizeof(addr), src, (unsigned)i + 1);
		probe(&cfg, addr, probe_ports[i], flags, &probe_want);
	}
	if (!after)
		after = src;
	probe(&cfg, after, 22, TCP_SYN, banned ? &banned_want : &allowed_want);
	ban_counts(&active_after, &made_after);
	EXPECT(made_after - made == banned, "detector made %llu bans, expected %d",
	       (unsigned long long)(made_after - made), banned);
	EXPECT(active_after - active == banned, "bans in force grew by %llu, expected %d",
	       (unsigned long long)(active_after - active), banned);
	test_end();
}

/* SRC scans CFG.scan_ports closed ports; the new ban, if any, in *OUT. */
static bool scan_to_ban(const struct pc_config *cfg, const char *src, struct pc_ban *out)
{
	const struct expect drop = {XDP_DROP, PC_DROP_NOT_ALLOWED, false, PORT_DROP};
	struct pc_addr_key key = ban_key(src);

	for (__u32 i = 0; i < cfg->scan_ports; i++)
		probe(cfg, src, 2001 + i, TCP_SYN, &drop);
	return bpf_map_lookup_elem(maps.bans, &key, out) == 0;
}

static int ban_state(struct pc_ban_state *state)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(maps.ban_state, &zero, state) ? -errno : 0;
}

/* Sets the ring position of the next scan ban, as if NEXT bans had been made. */
static int ring_skip_to(__u64 next)
{
	struct pc_ban_state state;
	__u32 zero = 0;
	int err = ban_state(&state);

	state.scan_next = next;
	return err ?: bpf_map_update_elem(maps.ban_state, &zero, &state, BPF_ANY) ? -errno : 0;
}

/*
 * A scan ban made PC_SCAN_BANS_MAX scan bans ago (VICTIM, with REASON and
 * ring position POS) in the slot the next scan ban takes.
 */
static int plant_victim(const char *victim, __u32 reason, __u64 pos, __u64 slot_pos)
{
	struct pc_addr_key key = ban_key(victim);
	struct pc_ring_slot slot = {.source = key, .ring_pos = slot_pos};
	struct pc_ban entry = {.expires_ns = PC_BAN_FOREVER, .created_ns = pc_now_ns(),
			       .reason = reason, .ring_pos = pos};
	__u32 index = slot_pos % PC_SCAN_BANS_MAX;
	bool replaced;
	int err = pc_bans_add(&maps, &key, &entry, &replaced);

	if (!err && bpf_map_update_elem(maps.scan_ring, &index, &slot, BPF_ANY))
		err = -errno;
	return err ?: ring_skip_to(slot_pos + PC_SCAN_BANS_MAX);
}

/*
 * The ban table's ring: a new scan ban replaces the scan ban made a
 * table's worth of bans before it, and nothing else.
 */
static void run_ban_ring_cases(struct pc_config cfg)
{
	static const struct {
		const char *name;
		__u32 reason;    /* the victim's ban */
		__u64 ban_pos;   /* its ring_pos */
		bool evicted;
	} ring[] = {
	    {"the scan ban a table's worth of bans older is replaced", PC_BAN_SCAN, 7, true},
	    {"a manual ban in that slot is never replaced", PC_BAN_MANUAL, 7, false},
	    {"a scan ban made again since (another position) stays", PC_BAN_SCAN, 8, false},
	};
	struct pc_ban made, gone;
	__u64 stats[PC_SCAN_STATS], active, evicted;
	char scanner[32];

	for (size_t i = 0; i < ARRAY_SIZE(ring); i++) {
		struct pc_addr_key victim = ban_key("198.18.9.1");
		int err;

		test_begin("ban table: %s", ring[i].name);
		snprintf(scanner, sizeof(scanner), "198.18.9.%zu", 10 + i);
		pc_bans_stats(&maps, stats, &active);
		evicted = stats[PC_STAT_EVICTED];
		err = plant_victim("198.18.9.1", ring[i].reason, ring[i].ban_pos, 7);
		if (EXPECT(err == 0, "planting the victim: %s", strerror(-err)) &&
		    EXPECT(scan_to_ban(&cfg, scanner, &made), "%s was not banned", scanner)) {
			bool there = bpf_map_lookup_elem(maps.bans, &victim, &gone) == 0;

			EXPECT(there != ring[i].evicted, "victim %s",
			       there ? "still banned" : "evicted");
			EXPECT(made.ring_pos == 7 + PC_SCAN_BANS_MAX, "new ban at ring_pos %llu",
			       (unsigned long long)made.ring_pos);
			pc_bans_stats(&maps, stats, &active);
			EXPECT(stats[PC_STAT_EVICTED] - evicted == ring[i].evicted,
			       "evictions counted %llu",
			       (unsigned long long)(stats[PC_STAT_EVICTED] - evicted));
		}
		pc_bans_remove(&maps, &victim);
		unban(scanner);
		test_end();
	}
}

/* A source banned again within 24 h is banned 4 times longer, up to max. */
static void run_repeat_offender_cases(struct pc_config cfg)
{
	static const __u64 want_s[] = {600, 2400, 9600, 10800, 10800};
	struct pc_ban made;

	cfg.ban_max_ns = 3 * 3600ULL * 1000000000;
	for (size_t i = 0; i < ARRAY_SIZE(want_s); i++) {
		test_begin("repeat offender: ban %zu of 198.18.8.1 lasts %llus", i + 1,
			   (unsigned long long)want_s[i]);
		if (EXPECT(scan_to_ban(&cfg, "198.18.8.1", &made), "not banned"))
			EXPECT(made.expires_ns - made.created_ns == want_s[i] * 1000000000ULL,
			       "ban of %llu ns", (unsigned long long)(made.expires_ns - made.created_ns));
		unban("198.18.8.1");
		test_end();
	}
	test_begin("repeat offender: without max, every ban is the ban time");
	cfg.ban_max_ns = 0;
	if (EXPECT(scan_to_ban(&cfg, "198.18.8.1", &made), "not banned"))
		EXPECT(made.expires_ns - made.created_ns == cfg.ban_ns, "ban of %llu ns",
		       (unsigned long long)(made.expires_ns - made.created_ns));
	unban("198.18.8.1");
	test_end();
}

/* The rule sets the detector cases run under. */
enum scan_rules { SCAN_ON, SCAN_OFF, SCAN_MONITOR, SCAN_FLAGS_PASS, SCAN_RULES };

static void run_scan_detector_cases(void)
{
	static const __u16 closed5[] = {1001, 1002, 1003, 1004, 1005};
	static const __u16 same10[] = {1001, 1001, 1001, 1001, 1001, 1001, 1001, 1001, 1001, 1001};
	static const __u16 open5[] = {22, 80, 443, 8000, 8001};
	static const struct {
		const char *name;
		enum scan_rules rules;
		const char *src; /* "%u" numbers the probes */
		const __u16 *ports;
		size_t n;
		__u8 flags;
		int reason;	   /* of each probe */
		const char *after; /* who sends the SYN to tcp 22 after (NULL: src) */
		bool banned;
	} rows[] = {
	    {"5 closed ports (the threshold) ban the source", SCAN_ON, "198.18.0.7", closed5, 5,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, true},
	    {"4 closed ports do not", SCAN_ON, "198.18.0.8", closed5, 4,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"one closed port 10 times does not", SCAN_ON, "198.18.0.9", same10, 10,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"FIN probes of 5 open ports (scan-fin) ban the source", SCAN_ON, "198.18.0.10", open5, 5,
	     TCP_FIN, PC_DROP_SCAN_FIN, NULL, true},
	    {"ipv6 probes from one /64 add up and ban the /64", SCAN_ON, "2001:db8:9:1::%u", closed5, 5,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, "2001:db8:9:1::77", true},
	    {"ipv6 probes from the next /64 are not banned", SCAN_ON, "2001:db8:9:2::%u", closed5, 4,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, "2001:db8:9:2::77", false},
	    {"scan-detect off: 5 closed ports do not ban", SCAN_OFF, "198.18.0.12", closed5, 5,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"monitor mode: bans are made and counted, nothing dropped", SCAN_MONITOR, "198.18.0.13", closed5, 5,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, true},
	    {"another source is not banned by someone else's scan", SCAN_ON, "198.18.0.14", closed5, 0,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, false},
	    /* Only what opens a conversation is a probe: replies say nothing of their sender. */
	    {"ACK to 5 closed ports (replies) does not ban", SCAN_ON, "198.18.0.15", closed5, 5,
	     TCP_ACK, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"SYN+ACK to 5 closed ports does not ban", SCAN_ON, "198.18.0.16", closed5, 5,
	     TCP_SYN | TCP_ACK, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"RST to 5 closed ports does not ban", SCAN_ON, "198.18.0.17", closed5, 5,
	     TCP_RST, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"FIN+ACK to 5 closed ports does not ban", SCAN_ON, "198.18.0.18", closed5, 5,
	     TCP_FIN | TCP_ACK, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"PSH probes of 5 closed ports (scan-other) ban", SCAN_ON, "198.18.0.19", closed5, 5,
	     TCP_PSH, PC_DROP_SCAN_OTHER, NULL, true},
	    {"scan-flags pass: FIN probes of 5 closed ports still ban", SCAN_FLAGS_PASS, "198.18.0.20", closed5, 5,
	     TCP_FIN, PC_DROP_NOT_ALLOWED, NULL, true},
	    /* Exempt is not trusted: its probes drop, and are never counted. */
	    {"an exempt source's 5 closed ports drop and do not ban", SCAN_ON, "198.18.5.7", closed5, 5,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, false},
	    {"its neighbour outside the exempt /24 is banned", SCAN_ON, "198.18.6.7", closed5, 5,
	     TCP_SYN, PC_DROP_NOT_ALLOWED, NULL, true},
	};
	struct pc_config cfg[SCAN_RULES];

	cfg[SCAN_ON] = make_config(PC_CFG_SCAN_DETECT, PC_ESTABLISHED_OFF);
	cfg[SCAN_ON].scan_ports = 5;
	cfg[SCAN_ON].scan_window_ns = 10ULL * 1000000000;
	cfg[SCAN_ON].ban_ns = 600ULL * 1000000000;
	cfg[SCAN_OFF] = cfg[SCAN_ON];
	cfg[SCAN_OFF].flags &= ~PC_CFG_SCAN_DETECT;
	cfg[SCAN_MONITOR] = cfg[SCAN_ON];
	cfg[SCAN_MONITOR].flags |= PC_CFG_MONITOR;
	cfg[SCAN_FLAGS_PASS] = cfg[SCAN_ON];
	cfg[SCAN_FLAGS_PASS].flags |= PC_CFG_SCAN_PASS;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		scan_case(rows[i].name, cfg[rows[i].rules], rows[i].src, rows[i].ports, rows[i].n,
			  rows[i].flags, rows[i].reason, rows[i].after, rows[i].banned);

	run_ban_ring_cases(cfg[SCAN_ON]);
	run_repeat_offender_cases(cfg[SCAN_ON]);
}

/* ---- one counter per packet ---------------------------------------------------- */

/* Every table packet once more: the reason slots together grow by one per run. */
static void run_counter_total(void)
{
	struct pc_counter before[PC_REASON_SLOTS], after[PC_REASON_SLOTS];
	__u64 packets = 0, bytes = 0, want_bytes = 0;
	int err;

	test_begin("counters: sum of all reason slots grows by exactly one per packet");
	err = pc_maps_read_reasons(&maps, before);
	for (size_t i = 0; i < ARRAY_SIZE(cases) && !err; i++) {
		struct pc_config cfg = make_config(cases[i].cfg_flags, cases[i].established);
		struct frame f;
		__u32 retval;

		build_case(&f, &cases[i]);
		err = pc_maps_write_config(&maps, 0, &cfg);
		if (!err)
			err = run_prog(prog_fd, f.data, f.len, 1, &retval, NULL);
		want_bytes += f.len;
	}
	if (!err)
		err = pc_maps_read_reasons(&maps, after);
	if (EXPECT(err == 0, "%s", strerror(-err))) {
		for (int slot = 0; slot < PC_REASON_SLOTS; slot++) {
			packets += after[slot].packets - before[slot].packets;
			bytes += after[slot].bytes - before[slot].bytes;
		}
		EXPECT(packets == ARRAY_SIZE(cases),
		       "reason slots grew by %llu packets, expected %zu",
		       (unsigned long long)packets, ARRAY_SIZE(cases));
		EXPECT(bytes == want_bytes, "reason slots grew by %llu bytes, expected %llu",
		       (unsigned long long)bytes, (unsigned long long)want_bytes);
	}
	/* Keep the snapshot current for any later case. */
	read_counters(snap);
	test_end();
}

#include "verdict_ratelimit.h"
#include "verdict_source24.h"

/* ---- setup ------------------------------------------------------------------------------- */

static int setup(void)
{
	struct pc_config cfg = make_config(0, PC_ESTABLISHED_SOCKET);
	int err;

	err = test_program_load(&skel, &prog_fd, &maps);
	if (err)
		return err;
	snap = calloc(1, sizeof(*snap));
	fresh = calloc(1, sizeof(*fresh));
	percpu_buf = calloc((size_t)PC_PORT_SLOTS * maps.ncpus, sizeof(*percpu_buf));
	key_buf = calloc(PC_PORT_SLOTS, sizeof(*key_buf));
	ports = standard_ports();
	if (!snap || !fresh || !percpu_buf || !key_buf || !ports)
		return -ENOMEM;
	err = write_rules(0, &cfg, ports);
	if (!err)
		err = write_sources(0);
	if (!err)
		err = pc_maps_activate(&maps, 0);
	if (!err)
		err = read_counters(snap);
	if (!err)
		err = load_explainer();
	return err;
}

static void teardown(void)
{
	pc_port_table_free(ports);
	free(snap);
	free(fresh);
	free(percpu_buf);
	free(key_buf);
	pc_explainer_destroy(explainer);
	portcullis_bpf__destroy(skel);
}

/* ---- --bench ------------------------------------------------------------------------------ */

static int load_bare_xdp_pass(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
	    {.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "bare_pass", "GPL", insns, ARRAY_SIZE(insns), NULL);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Verifier statistics from a fresh load with BPF_LOG_STATS. */
static void print_verifier_stats(void)
{
	static char log[65536];
	struct portcullis_bpf *obj = portcullis_bpf__open();
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	char *line;

	if (!obj)
		return;
	bpf_program__set_log_buf(obj->progs.portcullis_xdp, log, sizeof(log));
	bpf_program__set_log_level(obj->progs.portcullis_xdp, 4 /* BPF_LOG_STATS */);
	if (portcullis_bpf__load(obj)) {
		fprintf(stderr, "load with verifier log failed\n%s", log);
		portcullis_bpf__destroy(obj);
		return;
	}
	for (line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		printf("verifier: %s\n", line);
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(obj->progs.portcullis_xdp), &info, &info_len))
		printf("program: %u xlated bytes (%u insns), %u jited bytes\n",
		       info.xlated_prog_len, info.xlated_prog_len / 8, info.jited_prog_len);
	portcullis_bpf__destroy(obj);
}

#define BENCH_REPEAT 1000000
#define BENCH_ROUNDS 5

/* A row of the benchmark: one frame against one program and configuration. */
struct bench_row {
	const char *name;
	const struct verdict_case *packet;
	bool bare;	   /* the bare XDP_PASS program instead of portcullis */
	__u32 established; /* enum pc_established */
	bool source_lists; /* deny and trust lists consulted (two trie lookups) */
	bool pending;      /* a --confirm deadline ahead: the rollout check reads the clock */
	__u32 ns[BENCH_ROUNDS];
};

static int run_bench(void)
{
	static const struct verdict_case syn22 = {.base = b_v4_tcp, .port = 22, .flags = TCP_SYN};
	static const struct verdict_case syn23 = {.base = b_v4_tcp, .port = 23, .flags = TCP_SYN};
	static const struct verdict_case udp6 = {.base = b_v6_udp, .port = 53};
	/* Step 9's packets: not opening, to a closed port, no socket, no
	 * conntrack entry: a socket lookup and a conntrack lookup, both missing. */
	static const struct verdict_case ack23 = {.base = b_v4_tcp, .port = 23, .flags = TCP_ACK};
	static const struct verdict_case udp6_closed = {.base = b_v6_udp, .port = 5353};
	/* Rate limits (verdict_ratelimit.h): 2024 always has a token, 2022 none. */
	static const struct verdict_case syn2024 = {.base = b_v4_tcp, .port = 2024, .flags = TCP_SYN};
	static const struct verdict_case ack2024 = {.base = b_v4_tcp, .port = 2024, .flags = TCP_ACK};
	static const struct verdict_case syn2022 = {.base = b_v4_tcp, .port = 2022, .flags = TCP_SYN};
	struct bench_row rows[] = {
	    {.name = "bare XDP_PASS, ipv4 tcp syn", .packet = &syn22, .bare = true},
	    {.name = "ipv4 tcp syn to allowed 22",
	     .packet = &syn22,
	     .established = PC_ESTABLISHED_OFF},
	    {.name = "ipv6 udp to allowed 53", .packet = &udp6, .established = PC_ESTABLISHED_OFF},
	    {.name = "ipv4 tcp syn to 23, established off",
	     .packet = &syn23,
	     .established = PC_ESTABLISHED_OFF},
	    {.name = "ipv4 tcp syn to 23, established socket",
	     .packet = &syn23,
	     .established = PC_ESTABLISHED_SOCKET},
	    {.name = "ipv4 tcp ack to 23, established ephemeral",
	     .packet = &ack23,
	     .established = PC_ESTABLISHED_EPHEMERAL},
	    {.name = "ipv4 tcp ack to 23, established socket",
	     .packet = &ack23,
	     .established = PC_ESTABLISHED_SOCKET},
	    {.name = "ipv6 udp to 5353, established socket",
	     .packet = &udp6_closed,
	     .established = PC_ESTABLISHED_SOCKET},
	    {.name = "ipv4 tcp syn to allowed 22, --confirm pending",
	     .packet = &syn22,
	     .established = PC_ESTABLISHED_OFF,
	     .pending = true},
	    {.name = "ipv4 tcp syn to 23, established off, --confirm pending",
	     .packet = &syn23,
	     .established = PC_ESTABLISHED_OFF,
	     .pending = true},
	    {.name = "ipv4 tcp syn to allowed 22, deny+trust lists",
	     .packet = &syn22,
	     .established = PC_ESTABLISHED_OFF,
	     .source_lists = true},
	    {.name = "ipv4 tcp syn to allowed 2024, limit (a token)",
	     .packet = &syn2024,
	     .established = PC_ESTABLISHED_OFF},
	    {.name = "ipv4 tcp ack to allowed 2024, limit (not counted)",
	     .packet = &ack2024,
	     .established = PC_ESTABLISHED_OFF},
	    {.name = "ipv4 tcp syn to 2022, rate-limited",
	     .packet = &syn2022,
	     .established = PC_ESTABLISHED_OFF},
	};
	int bare = load_bare_xdp_pass();

	if (write_limits() || rate_age(0)) {
		fprintf(stderr, "writing the limits failed\n");
		return 1;
	}
	if (bare < 0) {
		fprintf(stderr, "loading the bare program: %s\n", strerror(errno));
		return 1;
	}
	print_verifier_stats();

	/* Interleaved rounds, so drift (frequency, other load) hits every row alike. */
	for (int round = 0; round < BENCH_ROUNDS; round++) {
		for (size_t r = 0; r < ARRAY_SIZE(rows); r++) {
			struct pc_config cfg = make_config(0, rows[r].established);
			struct frame f;
			__u32 retval;
			int err;

			if (!rows[r].source_lists)
				cfg.flags &= ~(PC_CFG_HAVE_DENY | PC_CFG_HAVE_TRUST |
					       PC_CFG_HAVE_EXEMPT);
			if (rows[r].pending) {
				cfg.flags |= PC_CFG_CONFIRM_PENDING;
				cfg.confirm_deadline_ns = pc_rollout_now_ns() + 3600000000000ULL;
			}
			pc_maps_write_config(&maps, 0, &cfg);
			build_case(&f, rows[r].packet);
			err = run_prog(rows[r].bare ? bare : prog_fd, f.data, f.len, BENCH_REPEAT,
				       &retval, &rows[r].ns[round]);
			if (err) {
				fprintf(stderr, "%s: test_run: %s\n", rows[r].name, strerror(-err));
				close(bare);
				return 1;
			}
		}
	}
	printf("ns/packet, bpf_prog_test_run repeat=%d, median of %d interleaved rounds:\n",
	       BENCH_REPEAT, BENCH_ROUNDS);
	for (size_t r = 0; r < ARRAY_SIZE(rows); r++) {
		__u32 sorted[BENCH_ROUNDS];

		memcpy(sorted, rows[r].ns, sizeof(sorted));
		qsort(sorted, BENCH_ROUNDS, sizeof(sorted[0]), cmp_u32);
		printf("  %-48s %4u ns  (rounds:", rows[r].name, sorted[BENCH_ROUNDS / 2]);
		for (int round = 0; round < BENCH_ROUNDS; round++)
			printf(" %u", rows[r].ns[round]);
		printf(")\n");
	}
	close(bare);
	return 0;
}

int main(int argc, char **argv)
{
	bool bench = false, private_netns;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bench")) {
			bench = true;
		} else if (!strcmp(argv[i], "-v")) {
			verbose = true;
		} else {
			fprintf(stderr, "usage: %s [--bench] [-v]\n", argv[0]);
			return 2;
		}
	}
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		test_skip("verdict", "needs root for BPF_PROG_TEST_RUN");
		return 0;
	}
	private_netns = enter_private_netns();
	err = setup();
	if (err) {
		test_begin("verdict: load the program and write the rules");
		test_detail("%s", strerror(-err));
		test_end();
		teardown();
		return test_exit_code();
	}
	if (bench) {
		err = run_bench();
		teardown();
		return err;
	}

	for (int pass = 0; pass < 2; pass++) {
		without_lists = pass == 1;
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
			run_case(&cases[i]);
		run_monitor_replay(cases, ARRAY_SIZE(cases));
		run_flag_cases();
		for (size_t i = 0; i < ARRAY_SIZE(truncation_packets); i++)
			run_truncation(&truncation_packets[i]);
	}
	without_lists = false;
	run_rule_set_switch();
	run_rollout_cases();
	if (private_netns) {
		run_socket_cases(AF_INET);
		run_socket_cases(AF_INET6);
	} else {
		test_skip("sockets: established socket", "no private network namespace");
	}
	run_droplog_cases();
	run_ban_cases();
	run_ban_cache_cases();
	run_prefix_ban_cases();
	run_source24_cases();
	run_scan_detector_cases();
	run_rate_limit_cases();
	run_counter_total();

	teardown();
	return test_exit_code();
}
