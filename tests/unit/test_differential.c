// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Differential test of the data path: generated packets run through the XDP
 * program (BPF_PROG_TEST_RUN) and through the reference model of
 * tests/model/, which must agree on the reason of every one. Packets come
 * from valid templates (IPv4/IPv6 x TCP/UDP/ICMP/other, VLAN tags, IPv4
 * options, IPv6 extension chains, fragments), mutated (truncation, bit and
 * byte corruption, length fields, flags, extra VLAN tags), and some are
 * random bytes. Sources and ports are drawn to hit the edges of the
 * configured prefixes and port ranges.
 *
 *   test_differential [--seed N] [--count N] [--config NAME] [--packet I] [-v]
 *
 * The seed is printed first and with every mismatch; the default is a new
 * one per run (or $PORTCULLIS_DIFF_SEED). Every packet is generated from
 * (seed, configuration, index) alone, so "--seed S --config C --packet I"
 * replays exactly one of them. COUNT packets in all are shared between the
 * configurations.
 *
 * The program's reason is read from its counters: after each run the one
 * pc_reasons slot the model expects must have grown by one (one lookup);
 * only when it did not are all slots read to name the one that moved.
 * Needs root. Runs in a private network namespace, so that it can set the
 * local port range "established ephemeral" reads without touching the host.
 *
 * Configurations with scan detection run the model's detector alongside the
 * program's, packet by packet: thresholds, per-source and per-prefix
 * counting, and the bans that follow. Their window and ban time (an hour)
 * outlast the run, so the program's coarse clock and its pre-filter's time
 * steps never decide; their sources come from a small pool (mutations leave
 * the source alone), which the pre-filter holds without evicting anyone.
 * Their packets are generated to count as probes under the old rule (every
 * step-10 drop) and the new one (opening packets only) alike; the model
 * uses the new one. A packet of such a configuration depends on every one
 * before it: --packet I replays packets 0..I.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "program.h"
#include "maps/pcmaps.h"
#include "maps/bans.h"
#include "loader/apply.h"
#include "loader/config.h"
#include "loader/rollout.h"
#include "netns.h"
#include "libbpf_log.h"
#include "testing.h"

/* The model is one small file; built into this test rather than a library. */
#include "../model/model.c"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DEFAULT_COUNT  1000000
#define MAX_MISMATCHES 20
#define STOPPED	       "stopped after 20 mismatches"
/* Each reason must come up at least this often in a default run. */
#define MIN_PER_REASON 100

/* ---- configurations ------------------------------------------------------------- */

struct diff_allow {
	enum model_proto proto;
	__u16 lo, hi;	  /* hi 0 ends the list */
	const char *from; /* comma list of prefixes, NULL for every source */
};

/* Safe rollout: the configuration applied with --confirm over another. */
enum diff_rollout {
	ROLLOUT_NONE,
	ROLLOUT_AHEAD,         /* deadline an hour ahead: these rules judge */
	ROLLOUT_PASSED,        /* deadline passed: configs[previous] judges */
	ROLLOUT_ATTACH_PASSED, /* deadline passed after attach: not filtered */
};

/* limit PROTO LO-HI rate BURST/3h burst BURST: no token comes back within a run. */
struct diff_limit {
	enum model_proto proto;
	__u16 lo, hi; /* hi 0 ends the list */
	unsigned int burst;
};

struct diff_config {
	const char *name;
	unsigned int share; /* of the packets, in parts of the sum of all shares */
	bool monitor, scan_pass, icmp_deny, frag_deny;
	enum model_established established;
	__u16 ephemeral_lo, ephemeral_hi; /* written to the namespace's local port range */
	struct diff_allow allows[16];
	const char *deny;	      /* deny from, comma list */
	const char *trust;	      /* allow from */
	const char *bans;	      /* banned by hand, comma list of addresses */
	const char *protos;	      /* allow proto, comma list of numbers */
	unsigned int ban_ipv6_prefix; /* IPv6 ban grouping; 0 = the default 64 */
	unsigned int scan_ports;      /* scan-detect ports N (window and ban 1h); 0 = off */
	const char *scanners;	      /* more prefixes to send from, in no rule */
	enum diff_rollout rollout;    /* applied with --confirm over configs[previous] */
	unsigned int previous;	      /* same ban grouping, no scan detection */
	struct diff_limit limits[4];  /* rate limits on ports open to every source */
};

/* Overlapping "from" lines: ports 3005-3010 get the union of both lists. */
#define STANDARD_ALLOWS                                                                            \
	{ MODEL_TCP, 22, 22 }, { MODEL_TCP, 80, 80 }, { MODEL_TCP, 443, 443 },                     \
		{ MODEL_TCP, 8000, 8100 },                                                         \
		{ MODEL_TCP, 2222, 2222, "198.51.100.0/24,2001:db8:1::/48" },                      \
		{ MODEL_TCP, 3000, 3010, "198.51.100.128/25" },                                    \
		{ MODEL_TCP, 3005, 3020, "192.0.2.0/28,2001:db8:1::/48" }, { MODEL_UDP, 53, 53 },  \
		{ MODEL_UDP, 5000, 5010 }, { MODEL_UDP, 41000, 41002, "10.0.0.0/8" },              \
		{ MODEL_TCP, 45000, 45000 }, { MODEL_TCP, 65535, 65535 },                          \
		{ MODEL_UDP, 1, 1, "100.64.0.0/10" },

#define STANDARD_DENY  "203.0.113.0/24,2001:db8:bad::/48,198.18.0.0/15,198.51.100.200/30"
#define STANDARD_TRUST "192.0.2.99,2001:db8:7::/48,203.0.113.77,198.51.100.192/27"
#define STANDARD_BANS  "192.0.2.66,10.1.2.3,2001:db8:66:1::5,198.51.100.7"
/* Scanners' networks: IPv6 ones that one /48 or /64 groups, and ones it does not. */
#define SCANNERS                                                                                   \
	"198.18.0.0/28,198.18.1.0/30,198.18.7.0/24,100.64.3.7,2001:db8:5::/48,"                    \
	"2001:db8:5:1::/64,2001:db8:6:1::/64,2001:db8:6:2::/64,2001:db8:6:2::8/126"

/* Seeded IPv4 blocklists for the "blocklist" configuration: see make_blocklists(). */
static char random_deny[1024], random_trust[512];

static const struct diff_config configs[] = {
	{
		.name = "enforce, ephemeral 40000-50000, source lists",
		.share = 30,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 40000,
		.ephemeral_hi = 50000,
		.allows = { STANDARD_ALLOWS },
		.deny = STANDARD_DENY,
		.trust = STANDARD_TRUST,
		.bans = STANDARD_BANS,
	},
	{
		.name = "monitor, established off, allow proto gre",
		.share = 15,
		.monitor = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { STANDARD_ALLOWS },
		.deny = STANDARD_DENY,
		.trust = STANDARD_TRUST,
		.bans = STANDARD_BANS,
		.protos = "47",
	},
	{
		.name = "scan-flags pass, icmp deny, fragments deny, bans per /56",
		.share = 20,
		.scan_pass = true,
		.icmp_deny = true,
		.frag_deny = true,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 32768,
		.ephemeral_hi = 60999,
		.allows = { { MODEL_TCP, 1, 100 },
			    { MODEL_TCP, 1000, 1000, "0.0.0.0/0" },
			    { MODEL_UDP, 33000, 33100, "2001:db8::/32,100.64.0.0/10" },
			    { MODEL_UDP, 123, 123 } },
		.deny = "0.0.0.0/8,2001:db8:bad::/48",
		.trust = "2001:db8:7::/48",
		.bans = "192.0.2.66,2001:db8:66:1::5,2001:db8:67::",
		.ban_ipv6_prefix = 56,
	},
	{
		.name = "icmp deny, fragments deny, no source lists",
		.share = 15,
		.icmp_deny = true,
		.frag_deny = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { { MODEL_TCP, 22, 22 }, { MODEL_UDP, 53, 53 } },
	},
	{
		.name = "monitor, scan-flags pass, icmp deny, fragments deny, wide prefixes",
		.share = 10,
		.monitor = true,
		.scan_pass = true,
		.icmp_deny = true,
		.frag_deny = true,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 1024,
		.ephemeral_hi = 65535,
		.allows = { { MODEL_TCP, 1, 1023, "::/0" }, { MODEL_UDP, 1, 65535 } },
		.deny = "0.0.0.0/1,8000::/1",
		.trust = "128.0.0.0/2",
		.bans = "192.0.2.66,2001:db8:66:1::5",
		.ban_ipv6_prefix = 128,
	},
	{
		.name = "enforce, everything open, ephemeral 50000-50001",
		.share = 10,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 50000,
		.ephemeral_hi = 50001,
		.allows = { { MODEL_TCP, 1, 49999 }, { MODEL_UDP, 1, 65535 } },
		.trust = "192.0.2.0/24",
		.bans = "8000::,198.51.100.1",
		.ban_ipv6_prefix = 32,
		.protos = "47,50,132",
	},
	/* Scan detection, with no per-port "from" lists: until issue 12 lands,
	 * a listed source's probes count before and not after. */
	{
		.name = "scan-detect ports 12 ipv6-prefix 64, ephemeral 40000-50000",
		.share = 10,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 40000,
		.ephemeral_hi = 50000,
		.allows = { { MODEL_TCP, 22, 22 },
			    { MODEL_TCP, 80, 80 },
			    { MODEL_TCP, 8000, 8100 },
			    { MODEL_UDP, 53, 53 },
			    { MODEL_UDP, 5000, 5010 } },
		.deny = "203.0.113.0/24,2001:db8:bad::/48",
		.trust = "192.0.2.99,2001:db8:7::/48",
		.bans = "192.0.2.66,2001:db8:66:1::5",
		.scan_ports = 12,
		.scanners = SCANNERS,
	},
	{
		.name = "scan-detect ports 40 ipv6-prefix 48, monitor, established off",
		.share = 10,
		.monitor = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { { MODEL_TCP, 1, 1023 }, { MODEL_UDP, 53, 53 } },
		.trust = "198.18.7.0/24",
		.ban_ipv6_prefix = 48,
		.scan_ports = 40,
		.scanners = SCANNERS,
	},
	/* No deny/trust lists and no bans: the program's fast path takes part. */
	{
		.name = "fast path: enforce, ephemeral 40000-50000, port lists only",
		.share = 15,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 40000,
		.ephemeral_hi = 50000,
		.allows = { STANDARD_ALLOWS },
	},
	{
		.name = "fast path: monitor, scan-flags pass, established off, port lists only",
		.share = 10,
		.monitor = true,
		.scan_pass = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { STANDARD_ALLOWS },
	},
	/* Safe rollout: the same packets decided by the set the deadline says. */
	{
		.name = "rollout pending, deadline ahead: monitor, source lists over config 3",
		.share = 4,
		.rollout = ROLLOUT_AHEAD,
		.monitor = true,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 45000,
		.ephemeral_hi = 46000,
		.allows = { STANDARD_ALLOWS },
		.deny = STANDARD_DENY,
		.trust = "192.0.2.0/25",
		.bans = "192.0.2.66,2001:db8:66:1::5",
		.previous = 3,
	},
	{
		.name = "rollout passed: config 0's rules back over icmp/fragments deny",
		.share = 4,
		.icmp_deny = true,
		.frag_deny = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { { MODEL_TCP, 22, 22 }, { MODEL_UDP, 53, 53 } },
		.bans = STANDARD_BANS,
		.rollout = ROLLOUT_PASSED,
		.previous = 0,
	},
	{
		.name = "rollout passed after attach: not filtered",
		.share = 2,
		.icmp_deny = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { { MODEL_TCP, 22, 22 } },
		.rollout = ROLLOUT_ATTACH_PASSED,
	},
	/* IPv4 lists of every length from /8 to /32, nested into each other around
	 * /24 edges, drawn from the seed: the program answers /24 and shorter from
	 * its /24 table and asks the trie where a longer prefix lies inside. */
	{
		.name = "blocklist: seeded nested IPv4 deny and trust prefixes /8../32",
		.share = 15,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { { MODEL_TCP, 22, 22 }, { MODEL_TCP, 80, 80 }, { MODEL_UDP, 53, 53 },
			    { MODEL_TCP, 2222, 2222, "198.51.100.0/24" } },
		.deny = random_deny,
		.trust = random_trust,
		.bans = "192.0.2.66",
	},
	/* Rate limits: a few openings per source, then rate-limited for the run. */
	{
		.name = "limits: enforce, source lists, bans per /56",
		.share = 25,
		.established = MODEL_ESTABLISHED_EPHEMERAL,
		.ephemeral_lo = 40000,
		.ephemeral_hi = 50000,
		.allows = { STANDARD_ALLOWS },
		.deny = STANDARD_DENY,
		.trust = STANDARD_TRUST,
		.bans = STANDARD_BANS,
		.ban_ipv6_prefix = 56,
		.limits = { { MODEL_TCP, 22, 22, 1 }, { MODEL_TCP, 8000, 8100, 2 },
			    { MODEL_UDP, 53, 53, 1 }, { MODEL_UDP, 5000, 5010, 1 } },
	},
	{
		.name = "limits: fast path, monitor, scan-flags pass, port lists only",
		.share = 15,
		.monitor = true,
		.scan_pass = true,
		.established = MODEL_ESTABLISHED_OFF,
		.allows = { STANDARD_ALLOWS },
		.limits = { { MODEL_TCP, 80, 80, 1 }, { MODEL_TCP, 443, 443, 1 },
			    { MODEL_UDP, 53, 53, 2 }, { MODEL_UDP, 5000, 5010, 1 } },
	},
};

/* Scan windows and bans: longer than any run, so that no clock decides. */
#define SCAN_TIME_NS (3600 * 1000000000ULL)

/* A configuration in the model's terms, with the pools packets draw from. */
#define POOL_MAX  512
#define PORTS_MAX 256

struct diff_rules {
	struct model_rules rules;
	struct model_allow allows[16];
	struct model_limit limits[4];
	struct model_prefix prefixes[64]; /* every list's entries, in order */
	size_t n_prefixes;
	struct model_prefix pool4[POOL_MAX], pool6[POOL_MAX];
	size_t n_pool4, n_pool6;
	__u16 ports[PORTS_MAX];
	size_t n_ports;
	bool scan;   /* scan detection on: sources from the pools only */
	bool pooled; /* sources from the pools only, left alone by mutations */
};

/* ---- random numbers ------------------------------------------------------------- */

static __u64 rng_state;

/* splitmix64: tiny, fast, and good enough to spread mutations. */
static __u64 rng_next(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static __u32 rnd(__u32 n)
{
	return n ? (__u32)(rng_next() % n) : 0;
}

static bool chance(__u32 percent)
{
	return rnd(100) < percent;
}

/* The generator state for packet INDEX of configuration CONFIG. */
static void rng_seed_packet(__u64 seed, __u32 config, __u64 index)
{
	rng_state = seed ^ ((__u64)config << 56) ^ (index * 0xd1342543de82ef95ULL);
	rng_next();
}

/* ---- addresses and ports ---------------------------------------------------------- */

static int parse_prefix(const char *text, struct model_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	int family;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(p, 0, sizeof(*p));
	family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, buf, p->addr) != 1)
		return -EINVAL;
	p->family = family == AF_INET ? 4 : 6;
	p->len = slash ? atoi(slash + 1) : (p->family == 4 ? 32 : 128);
	return 0;
}

/*
 * Fill random_deny and random_trust from SEED: prefixes of /8 to /32 whose
 * addresses share most of their bits (a few networks of 10/8, 11/8 and 198.18/15),
 * so that they nest and sit at each other's edges: trust inside deny and
 * deny inside trust, /25s and /32s inside listed and unlisted /24s.
 */
static void make_blocklists(__u64 seed)
{
	static const __u8 lens[] = { 8, 12, 16, 19, 20, 22, 23, 24, 24, 24, 24, 25, 26, 28, 30, 31,
				     32, 32, 32 };
	char *lists[] = { random_deny, random_trust };
	size_t sizes[] = { sizeof(random_deny), sizeof(random_trust) };
	int counts[] = { 24, 8 };

	rng_seed_packet(seed, 0xb1, ~0ULL);
	for (int l = 0; l < 2; l++) {
		lists[l][0] = '\0';
		for (int i = 0; i < counts[l]; i++) {
			__u32 len = lens[rnd(sizeof(lens))], net = rnd(3);
			__u32 addr = net == 0   ? 10U << 24 | rnd(8) << 16
				     : net == 1 ? 0xc6120000U | rnd(2) << 16
						: 11U << 24 | rnd(2) << 16;

			/* Shorter than /16 only in 11/8, so the others are not all covered. */
			if (len < 16 && net != 2)
				len = 16;
			/* Third octets 0-7 and a few fourth octets: many share a /24. */
			addr |= rnd(8) << 8 | (chance(50) ? rnd(256) : rnd(4) * 64);
			if (len < 32)
				addr &= ~0U << (32 - len);
			snprintf(lists[l] + strlen(lists[l]), sizes[l] - strlen(lists[l]),
				 "%s%u.%u.%u.%u/%u", i ? "," : "", addr >> 24, addr >> 16 & 0xff,
				 addr >> 8 & 0xff, addr & 0xff, len);
		}
	}
}

/* Parse comma list TEXT into the prefix store; *FIRST and *N say where. */
static int parse_list(struct diff_rules *d, const char *text, const struct model_prefix **first,
		      size_t *n)
{
	char buf[1024], *word, *save;

	*first = NULL;
	*n = 0;
	if (!text)
		return 0;
	*first = &d->prefixes[d->n_prefixes];
	snprintf(buf, sizeof(buf), "%s", text);
	for (word = strtok_r(buf, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		if (d->n_prefixes == ARRAY_SIZE(d->prefixes) ||
		    parse_prefix(word, &d->prefixes[d->n_prefixes]))
			return -EINVAL;
		d->n_prefixes++;
		(*n)++;
	}
	return 0;
}

/* ADDR (BYTES long, big-endian) += DELTA, wrapping. */
static void addr_add(__u8 *addr, int bytes, int delta)
{
	for (int i = bytes - 1; i >= 0 && delta; i--) {
		int sum = addr[i] + delta;

		addr[i] = sum & 0xff;
		delta = sum >> 8; /* arithmetic shift: -1 carries a borrow */
	}
}

static void pool_add(struct diff_rules *d, int family, const __u8 *addr)
{
	struct model_prefix *p;

	if (family == 4 && d->n_pool4 < POOL_MAX)
		p = &d->pool4[d->n_pool4++];
	else if (family == 6 && d->n_pool6 < POOL_MAX)
		p = &d->pool6[d->n_pool6++];
	else
		return;
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = family == 4 ? 32 : 128;
	memcpy(p->addr, addr, family == 4 ? 4 : 16);
}

/*
 * The addresses worth sending from for prefix P of LEN bits: its first and
 * last, their neighbours outside it, one inside at random (with an unused
 * generator, so that pools do not depend on the packet seed).
 */
static void pool_add_prefix(struct diff_rules *d, const struct model_prefix *given, int len)
{
	struct model_prefix p = *given;
	int bytes = p.family == 4 ? 4 : 16;
	__u8 first[16], last[16], addr[16];

	if (len < 0)
		len = p.len;
	else if (p.family == 4)
		len = 32;
	memcpy(first, p.addr, 16);
	for (int bit = len; bit < bytes * 8; bit++)
		first[bit / 8] &= ~(0x80 >> bit % 8);
	memcpy(last, first, 16);
	for (int bit = len; bit < bytes * 8; bit++)
		last[bit / 8] |= 0x80 >> bit % 8;
	pool_add(d, p.family, first);
	pool_add(d, p.family, last);
	memcpy(addr, first, 16);
	addr_add(addr, bytes, -1);
	pool_add(d, p.family, addr);
	memcpy(addr, last, 16);
	addr_add(addr, bytes, 1);
	pool_add(d, p.family, addr);
	memcpy(addr, first, 16);
	for (int bit = len; bit < bytes * 8; bit++)
		if (rand() & 1)
			addr[bit / 8] |= 0x80 >> bit % 8;
	pool_add(d, p.family, addr);
	pool_add(d, p.family, p.addr);
}

static void ports_add(struct diff_rules *d, long port)
{
	if (port < 0 || port > 65535 || d->n_ports == PORTS_MAX)
		return;
	d->ports[d->n_ports++] = port;
}

static void ports_add_edges(struct diff_rules *d, long lo, long hi)
{
	ports_add(d, lo - 1);
	ports_add(d, lo);
	ports_add(d, lo + 1);
	ports_add(d, hi - 1);
	ports_add(d, hi);
	ports_add(d, hi + 1);
}

static int build_rules(__u32 config, struct diff_rules *d)
{
	const struct diff_config *c = &configs[config];
	struct model_rules *r = &d->rules;
	static const char *const fixed[] = { "192.0.2.10", "198.51.100.9", "2001:db8::10",
					     "2001:db8:1::1" };
	const struct model_prefix *scanners;
	size_t first_ban, n_scanners;
	int err = 0;

	memset(d, 0, sizeof(*d));
	r->monitor = c->monitor;
	r->scan_pass = c->scan_pass;
	r->icmp_deny = c->icmp_deny;
	r->frag_deny = c->frag_deny;
	r->established = c->established;
	r->ephemeral_lo = c->ephemeral_lo;
	r->ephemeral_hi = c->ephemeral_hi;
	r->ban_ipv6_prefix = c->ban_ipv6_prefix ? c->ban_ipv6_prefix : 64;
	for (const char *p = c->protos; p && *p; p += strcspn(p, ","), p += *p == ',') {
		unsigned long proto = strtoul(p, NULL, 10);

		r->protos[proto / 64 % 4] |= 1ULL << (proto % 64);
	}
	r->scan_ports = c->scan_ports;
	r->scan_window_ns = SCAN_TIME_NS;
	r->scan_ban_ns = SCAN_TIME_NS;
	r->scan_openings_only = true;
	d->scan = c->scan_ports != 0;
	r->allows = d->allows;
	r->limits = d->limits;
	for (size_t i = 0; i < ARRAY_SIZE(c->limits) && c->limits[i].hi; i++)
		d->limits[r->n_limits++] = (struct model_limit){ c->limits[i].proto, c->limits[i].lo,
								 c->limits[i].hi, c->limits[i].burst };
	/* A bucket table that had to make room would differ from the model,
	 * which remembers everyone: limits, like the detector, take sources
	 * from the pools only. */
	d->pooled = d->scan || r->n_limits;
	for (size_t i = 0; i < ARRAY_SIZE(c->allows) && c->allows[i].hi; i++) {
		struct model_allow *a = &d->allows[r->n_allows++];

		a->proto = c->allows[i].proto;
		a->lo = c->allows[i].lo;
		a->hi = c->allows[i].hi;
		err = err ?: parse_list(d, c->allows[i].from, &a->from, &a->n_from);
		ports_add_edges(d, a->lo, a->hi);
	}
	err = err ?: parse_list(d, c->deny, &r->deny, &r->n_deny);
	err = err ?: parse_list(d, c->trust, &r->trust, &r->n_trust);
	err = err ?: parse_list(d, c->scanners, &scanners, &n_scanners);
	first_ban = d->n_prefixes;
	err = err ?: parse_list(d, c->bans, &r->banned, &r->n_banned);
	if (err)
		return err;

	srand(config + 1); /* the pools depend on the configuration only */
	for (size_t i = 0; i < d->n_prefixes; i++)
		pool_add_prefix(d, &d->prefixes[i], i >= first_ban ? (int)r->ban_ipv6_prefix : -1);
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		struct model_prefix p;

		parse_prefix(fixed[i], &p);
		pool_add(d, p.family, p.addr);
	}
	if (r->established == MODEL_ESTABLISHED_EPHEMERAL)
		ports_add_edges(d, r->ephemeral_lo, r->ephemeral_hi);
	ports_add(d, 0);
	ports_add(d, 65535);
	return 0;
}

/* ---- the program side ------------------------------------------------------------- */

static struct portcullis_bpf *skel;
static struct pc_maps maps;
static int prog_fd;
static __u64 slot_seen[PC_REASON_SLOTS]; /* packets per reason slot, as last read */
static struct pc_counter *percpu;	 /* one slot's per-CPU values */

static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* The config file a user would write for C. */
static void config_text(const struct diff_config *c, char *buf, size_t size)
{
	static const char *const proto[] = { "tcp", "udp" };

	buf[0] = '\0';
	append(buf, size, "mode %s\n", c->monitor ? "monitor" : "enforce");
	append(buf, size, "scan-flags %s\n", c->scan_pass ? "pass" : "drop");
	if (c->scan_ports)
		append(buf, size, "scan-detect ports %u window 1h ban 1h ipv6-prefix %u\n",
		       c->scan_ports, c->ban_ipv6_prefix ? c->ban_ipv6_prefix : 64);
	else
		append(buf, size, "scan-detect off\n");
	append(buf, size, "established %s\n",
	       c->established == MODEL_ESTABLISHED_EPHEMERAL ? "ephemeral" : "off");
	append(buf, size, "icmp %s\n", c->icmp_deny ? "deny" : "allow");
	append(buf, size, "fragments %s\n", c->frag_deny ? "deny" : "allow");
	for (size_t i = 0; i < ARRAY_SIZE(c->allows) && c->allows[i].hi; i++) {
		const struct diff_allow *a = &c->allows[i];

		append(buf, size, "allow %s %u-%u", proto[a->proto], a->lo, a->hi);
		if (a->from)
			append(buf, size, " from %s", a->from);
		append(buf, size, "\n");
	}
	if (c->deny)
		append(buf, size, "deny from %s\n", c->deny);
	if (c->trust)
		append(buf, size, "allow from %s\n", c->trust);
	if (c->protos)
		append(buf, size, "allow proto %s\n", c->protos);
	for (size_t i = 0; i < ARRAY_SIZE(c->limits) && c->limits[i].hi; i++) {
		const struct diff_limit *l = &c->limits[i];

		append(buf, size, "limit %s %u-%u rate %u/3h burst %u\n", proto[l->proto], l->lo,
		       l->hi, l->burst, l->burst);
	}
	/* The host's resolvers would be exempt from limits, unknown to the model. */
	if (c->limits[0].hi)
		append(buf, size, "exempt auto off\n");
}

static int set_local_port_range(__u16 lo, __u16 hi)
{
	int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);
	char text[32];
	int n, err = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%u %u\n", lo, hi);
	if (write(fd, text, n) != n)
		err = -errno;
	close(fd);
	return err;
}

/* The local port range the loader will read; the model gets the same. */
static void get_local_port_range(__u16 *lo, __u16 *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned int a, b;

	if (f && fscanf(f, "%u %u", &a, &b) == 2) {
		*lo = a;
		*hi = b;
	}
	if (f)
		fclose(f);
}

static int remove_all_bans(void)
{
	struct pc_ban_entry *list = NULL;
	size_t n = 0;
	int err = pc_bans_list(&maps, false, &list, &n, NULL, NULL);

	for (size_t i = 0; i < n && !err; i++)
		err = pc_ban_entry_remove(&maps, &list[i]);
	free(list);
	return err;
}

static struct model_detector detector; /* the model's, for the configuration running */

/* Empty the program's pre-filter and tracker, as a fresh program has them. */
static int forget_scans(void)
{
	static const struct pc_scan_bucket empty;
	struct pc_addr_key key;

	for (__u32 bucket = 0; bucket < PC_SCAN_SEEN_BUCKETS; bucket++)
		if (bpf_map_update_elem(maps.scan_seen, &bucket, &empty, BPF_ANY))
			return -errno;
	while (bpf_map_get_next_key(maps.scan_track, NULL, &key) == 0)
		if (bpf_map_delete_elem(maps.scan_track, &key))
			return -errno;
	return 0;
}

/* Empty the program's rate-limit buckets, as a fresh program has them. */
static int forget_rates(void)
{
	static const struct pc_rate_bucket empty;

	for (__u32 bucket = 0; bucket < PC_RATE_BUCKETS; bucket++)
		if (bpf_map_update_elem(maps.rate, &bucket, &empty, BPF_ANY))
			return -errno;
	return 0;
}

static int read_all_slots(__u64 out[PC_REASON_SLOTS])
{
	struct pc_counter sums[PC_REASON_SLOTS];
	int err = pc_maps_read_reasons(&maps, sums);

	for (int i = 0; i < PC_REASON_SLOTS && !err; i++)
		out[i] = sums[i].packets;
	return err;
}

static __u64 read_percpu(int map_fd, __u32 key)
{
	__u64 sum = 0;

	if (bpf_map_lookup_elem(map_fd, &key, percpu))
		return ~0ULL;
	for (int cpu = 0; cpu < maps.ncpus; cpu++)
		sum += percpu[cpu].packets;
	return sum;
}

/* Packets per pass slot, as last read. */
static __u64 pass_seen[PC_PASS_SLOTS];
/* The active rules: which pass slot counts each (proto, port). */
static struct pc_port_table rules_table;

static int read_pass_slots(void)
{
	static struct pc_counter sums[PC_PASS_SLOTS];
	int err = pc_maps_sum_counters(&maps, maps.port_pass, PC_PASS_SLOTS, sums);

	for (__u32 slot = 0; slot < PC_PASS_SLOTS && !err; slot++)
		pass_seen[slot] = sums[slot].packets;
	return err;
}

static int read_rules_table(void)
{
	__u32 active;
	int err = pc_maps_active_set(&maps, &active);

	return err ?: pc_maps_read_ports(&maps, active, &rules_table);
}

/* The pass slot of the port the model made its verdict on. */
static __u32 pass_slot_of(const struct model_port *port)
{
	enum pc_proto proto = port->proto == MODEL_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;

	return rules_table.rules[proto * PC_PORTS + port->port].pass_slot;
}

/* Configure the program as the loader would for C; D gets the same rules. */
static int apply_config(__u32 config, struct diff_rules *d)
{
	const struct diff_config *c = &configs[config];
	static char text[8192];
	struct pc_ruleset rs;
	struct pc_error perr;
	struct pc_config cfg;
	__u32 active;
	int err;

	if (c->established == MODEL_ESTABLISHED_EPHEMERAL) {
		err = set_local_port_range(c->ephemeral_lo, c->ephemeral_hi);
		if (err)
			return err;
	}
	err = build_rules(config, d);
	if (err)
		return err;
	get_local_port_range(&d->rules.ephemeral_lo, &d->rules.ephemeral_hi);

	config_text(c, text, sizeof(text));
	pc_ruleset_init(&rs);
	err = pc_config_parse("differential.conf", text, strlen(text), &rs, &perr);
	if (err) {
		fprintf(stderr, "%s\n%s", perr.msg, text);
		pc_ruleset_free(&rs);
		return err;
	}
	err = pc_ruleset_commit(&maps, &rs, config + 1);
	pc_ruleset_free(&rs);
	if (err)
		return err;

	/* "scan-detect off" takes no ipv6-prefix; bans still group by one. */
	err = pc_maps_active_set(&maps, &active);
	err = err ?: pc_maps_read_config(&maps, active, &cfg);
	if (err)
		return err;
	cfg.scan_ipv6_prefix = d->rules.ban_ipv6_prefix;
	err = pc_maps_write_config(&maps, active, &cfg);

	err = err ?: remove_all_bans();
	err = err ?: forget_scans();
	err = err ?: forget_rates();
	model_detector_reset(&detector);
	for (size_t i = 0; i < d->rules.n_banned && !err; i++) {
		const struct model_prefix *b = &d->rules.banned[i];
		struct pc_ban ban = { .expires_ns = PC_BAN_FOREVER, .reason = PC_BAN_MANUAL };
		struct pc_addr_key key;
		bool replaced;

		pc_addr_key_make(&key, b->family == 4 ? AF_INET : AF_INET6, b->addr,
				 d->rules.ban_ipv6_prefix);
		err = pc_bans_add(&maps, &key, &ban, &replaced);
	}
	err = err ?: read_rules_table();
	err = err ?: read_pass_slots();
	return err ?: read_all_slots(slot_seen);
}



/* ---- frames ----------------------------------------------------------------------- */

#define FRAME_BYTES 1600

struct gen_frame {
	__u8 data[FRAME_BYTES];
	size_t len;
	int family;    /* 4, 6, or 0 when not IP */
	size_t l3, l4; /* header offsets */
	size_t ext[8]; /* IPv6 extension header offsets */
	int n_ext;
	__u8 proto;
};

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __u16 get16(const __u8 *p)
{
	return p[0] << 8 | p[1];
}

static void random_bytes(__u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rnd(256);
}

static void emit(struct gen_frame *f, const void *bytes, size_t n)
{
	if (f->len + n > FRAME_BYTES)
		n = FRAME_BYTES - f->len;
	memcpy(f->data + f->len, bytes, n);
	f->len += n;
}

static void emit_random(struct gen_frame *f, size_t n)
{
	__u8 buf[FRAME_BYTES];

	random_bytes(buf, n);
	emit(f, buf, n);
}

static __u16 vlan_tpid(void)
{
	return chance(50) ? 0x8100 : 0x88a8;
}

static void source_address(const struct diff_rules *d, int family, __u8 *out)
{
	const struct model_prefix *p;

	/* With the detector on, only the pools: a pre-filter that had to evict
	 * would differ from the model, which remembers everyone. */
	if (!d->pooled && chance(15)) {
		random_bytes(out, family == 4 ? 4 : 16);
		return;
	}
	/* TODO(issue 12): such sources become malformed; scan runs leave them out. */
	if (family == 6 && !d->pooled && chance(15) && d->n_pool4) {
		/* An IPv4-mapped source in an IPv6 header. */
		static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

		memcpy(out, mapped, 12);
		memcpy(out + 12, d->pool4[rnd(d->n_pool4)].addr, 4);
		return;
	}
	p = family == 4 ? &d->pool4[rnd(d->n_pool4)] : &d->pool6[rnd(d->n_pool6)];
	memcpy(out, p->addr, family == 4 ? 4 : 16);
}

static __u16 dest_port(const struct diff_rules *d)
{
	if (chance(80))
		return d->ports[rnd(d->n_ports)];
	return rnd(65536);
}

static __u8 tcp_flags(void)
{
	static const __u8 common[] = {
		0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x15, 0xc2, 0x00, 0x01, 0x29,
		0x03, 0x06, 0x08, 0x20, 0x07, 0x2b, 0x40, 0x19, 0x05, 0x0a, 0x3f, 0x13,
	};

	if (chance(25))
		return rnd(256);
	return common[rnd(ARRAY_SIZE(common))];
}

/* The L4 header and payload for protocol PROTO. */
static void emit_l4(struct gen_frame *f, const struct diff_rules *d, __u8 proto)
{
	__u8 h[60] = {};
	size_t payload = chance(60) ? 0 : rnd(48);

	f->l4 = f->len;
	if (proto == IPPROTO_TCP) {
		size_t doff = chance(75) ? 5 : 6 + rnd(10);

		put16(h, rnd(65536));
		put16(h + 2, dest_port(d));
		random_bytes(h + 4, 8);
		h[12] = doff << 4;
		h[13] = tcp_flags();
		put16(h + 14, 64240);
		memset(h + 20, 1 /* NOP */, doff * 4 - 20);
		emit(f, h, doff * 4);
	} else if (proto == IPPROTO_UDP) {
		put16(h, rnd(65536));
		put16(h + 2, dest_port(d));
		put16(h + 4, 8 + payload);
		emit(f, h, 8);
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		static const __u8 v4[][2] = { { 8, 0 },	 { 0, 0 }, { 3, 4 }, { 3, 3 },
					      { 11, 0 }, { 3, 1 }, { 2, 0 }, { 135, 0 } };
		static const __u8 v6[][2] = { { 128, 0 }, { 129, 0 }, { 2, 0 },	  { 1, 4 },
					      { 133, 0 }, { 134, 0 }, { 135, 0 }, { 136, 0 },
					      { 137, 0 }, { 132, 0 }, { 138, 0 }, { 3, 4 } };

		if (chance(15)) {
			h[0] = rnd(256);
			h[1] = rnd(256);
		} else if (proto == IPPROTO_ICMP) {
			memcpy(h, v4[rnd(ARRAY_SIZE(v4))], 2);
		} else {
			memcpy(h, v6[rnd(ARRAY_SIZE(v6))], 2);
		}
		random_bytes(h + 4, 4);
		emit(f, h, 8);
	} else {
		emit_random(f, rnd(24));
	}
	emit_random(f, payload);
}

static __u8 pick_l4_proto(int family)
{
	static const __u8 other[] = { IPPROTO_GRE,  IPPROTO_ESP,	59 /* no next header */,
				      IPPROTO_SCTP, 135 /* mobility */, 253 };
	__u32 pick = rnd(100);

	if (pick < 45)
		return IPPROTO_TCP;
	if (pick < 68)
		return IPPROTO_UDP;
	if (pick < 85)
		return family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	if (pick < 90) /* the other family's ICMP: not ICMP here */
		return family == 4 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	if (pick < 96)
		return other[rnd(ARRAY_SIZE(other))];
	return rnd(256);
}

static void emit_ipv4(struct gen_frame *f, const struct diff_rules *d)
{
	__u8 ip[60] = {};
	size_t words = chance(75) ? 0 : 1 + rnd(10);
	__u16 frag = 0;
	__u32 pick = rnd(100);

	f->l3 = f->len;
	f->proto = pick_l4_proto(4);
	if (pick < 12)
		frag = 0x4000; /* DF */
	else if (pick < 20)
		frag = 0x2000; /* MF: the first fragment */
	else if (pick < 30)
		frag = (chance(50) ? 0x2000 : 0) | (1 + rnd(0x1fff));
	ip[0] = 0x40 | (5 + words);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = f->proto;
	source_address(d, 4, ip + 12);
	ip[16] = 198;
	ip[17] = 51;
	ip[18] = 100;
	ip[19] = 1;
	if (chance(50))
		memset(ip + 20, 1 /* NOP */, words * 4);
	else
		random_bytes(ip + 20, words * 4);
	emit(f, ip, 20 + words * 4);
	emit_l4(f, d, f->proto);
	put16(f->data + f->l3 + 2, f->len - f->l3);
}

static void emit_ipv6(struct gen_frame *f, const struct diff_rules *d)
{
	static const __u8 ext_types[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING,
					  IPPROTO_AH, IPPROTO_FRAGMENT };
	__u8 ip[40] = { 0x60 }, ext[64];
	int n_ext = chance(55) ? 0 : 1 + rnd(chance(80) ? 3 : 7);
	size_t next_at;

	f->l3 = f->len;
	ip[7] = 64;
	source_address(d, 6, ip + 8);
	ip[24] = 0x20;
	ip[25] = 0x01;
	ip[26] = 0x0d;
	ip[27] = 0xb8;
	ip[39] = 1;
	emit(f, ip, 40);
	next_at = f->l3 + 6;
	f->n_ext = 0;
	for (int i = 0; i < n_ext; i++) {
		__u8 type = ext_types[rnd(ARRAY_SIZE(ext_types))];
		size_t len;

		memset(ext, 0, sizeof(ext));
		if (type == IPPROTO_FRAGMENT) {
			len = 8;
			put16(ext + 2,
			      chance(65) ? (chance(50) ? 1 : 0) : (1 + rnd(0x1fff)) << 3 | rnd(2));
			random_bytes(ext + 4, 4);
		} else if (type == IPPROTO_AH) {
			len = 4 * (2 + 1 + rnd(6)); /* 12..32 bytes */
			ext[1] = len / 4 - 2;
			random_bytes(ext + 4, len - 4);
		} else {
			len = 8 * (1 + rnd(4));
			ext[1] = len / 8 - 1;
			ext[2] = 1; /* PadN over the rest */
			ext[3] = len - 4;
		}
		f->data[next_at] = type;
		next_at = f->len;
		f->ext[f->n_ext++] = f->len;
		emit(f, ext, len);
	}
	f->proto = pick_l4_proto(6);
	f->data[next_at] = f->proto;
	emit_l4(f, d, f->proto);
	put16(f->data + f->l3 + 4, f->len - f->l3 - 40);
}

/* A consistent frame: Ethernet, VLAN tags, IP, extensions, L4, payload, padding. */
static void build_template(struct gen_frame *f, const struct diff_rules *d)
{
	static const __u8 eth[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	__u32 tags = rnd(100);
	int n_tags = tags < 60 ? 0 : tags < 82 ? 1 : tags < 97 ? 2 : 3;
	__u8 tag[4];

	memset(f, 0, sizeof(*f));
	emit(f, eth, sizeof(eth));
	for (int i = 0; i < n_tags; i++) {
		put16(tag, vlan_tpid());
		put16(tag + 2, rnd(4096));
		emit(f, tag, 4);
	}
	f->family = chance(50) ? 4 : 6;
	put16(tag, f->family == 4 ? 0x0800 : 0x86dd);
	emit(f, tag, 2);
	if (f->family == 4)
		emit_ipv4(f, d);
	else
		emit_ipv6(f, d);
	if (chance(15)) /* Ethernet padding or trailing junk */
		emit_random(f, rnd(24));
}

/* Frames that are not IPv4/IPv6 at all, or only claim to be. */
static void build_other(struct gen_frame *f)
{
	static const __u16 types[] = { 0x0806, 0x88cc, 0x8035, 0x0800, 0x86dd,
				       0x8100, 0x88a8, 0x9100, 0x0042 };

	memset(f, 0, sizeof(*f));
	emit_random(f, 12);
	if (chance(70)) {
		__u8 type[2];

		put16(type, types[rnd(ARRAY_SIZE(types))]);
		emit(f, type, 2);
		emit_random(f, rnd(chance(50) ? 64 : 200));
	} else {
		emit_random(f, 2 + rnd(120));
	}
}

/* ---- mutations -------------------------------------------------------------------- */

static void set_len_field(__u8 *p)
{
	__u16 v = get16(p);

	switch (rnd(4)) {
	case 0:
		put16(p, rnd(65536));
		break;
	case 1:
		put16(p, v + 1 + rnd(16));
		break;
	case 2:
		put16(p, v - 1 - rnd(16));
		break;
	default:
		put16(p, rnd(80));
		break;
	}
}

/* Break one length field the parser relies on. */
static void mutate_length(struct gen_frame *f)
{
	__u8 *l3 = f->data + f->l3;

	switch (rnd(5)) {
	case 0: /* IPv4 total length, IPv6 payload length */
		set_len_field(l3 + (f->family == 4 ? 2 : 4));
		break;
	case 1: /* IHL or version */
		if (chance(70))
			l3[0] = (l3[0] & 0xf0) | rnd(16);
		else
			l3[0] = (l3[0] & 0x0f) | rnd(16) << 4;
		break;
	case 2: /* TCP data offset */
		if (f->l4 + 12 < f->len)
			f->data[f->l4 + 12] = rnd(16) << 4;
		break;
	case 3: /* an extension header's length */
		if (f->n_ext)
			f->data[f->ext[rnd(f->n_ext)] + 1] = chance(50) ? rnd(256) : rnd(8);
		else
			set_len_field(l3 + (f->family == 4 ? 2 : 4));
		break;
	default: /* UDP length, or a fragment offset */
		if (f->family == 4 && chance(50))
			put16(l3 + 6, rnd(65536));
		else if (f->l4 + 6 <= f->len)
			set_len_field(f->data + f->l4 + 4);
		break;
	}
}

static void mutate(struct gen_frame *f)
{
	size_t header_end = f->l4 + 20 < f->len ? f->l4 + 20 : f->len;
	__u8 tag[4];

	switch (rnd(8)) {
	case 0: /* truncation */
		f->len = 14 + rnd(f->len - 14 + 1);
		break;
	case 1: /* one bit anywhere in the headers */
		f->data[rnd(header_end)] ^= 1 << rnd(8);
		break;
	case 2: /* one byte anywhere in the headers */
		f->data[12 + rnd(header_end - 12)] = rnd(256);
		break;
	case 3:
	case 4:
		mutate_length(f);
		break;
	case 5: /* TCP flags, or the L4 protocol */
		if (f->proto == IPPROTO_TCP && f->l4 + 14 <= f->len)
			f->data[f->l4 + 13] = rnd(256);
		else if (f->family == 4)
			f->data[f->l3 + 9] = rnd(256);
		break;
	case 6: /* one more VLAN tag in front */
		if (f->len + 4 <= FRAME_BYTES) {
			put16(tag, vlan_tpid());
			put16(tag + 2, rnd(4096));
			memmove(f->data + 16, f->data + 12, f->len - 12);
			memcpy(f->data + 12, tag, 4);
			f->len += 4;
			f->l3 += 4;
			f->l4 += 4;
			for (int i = 0; i < f->n_ext; i++)
				f->ext[i] += 4;
		}
		break;
	default: /* the other family's EtherType */
		put16(f->data + f->l3 - 2, f->family == 4 ? 0x86dd : 0x0800);
		break;
	}
}

/* Where the IP source address of F lies and how long it is; 0 when not IP. */
static size_t source_bytes(const struct gen_frame *f, size_t *at)
{
	*at = f->l3 + (f->family == 4 ? 12 : 8);
	return f->family == 4 ? 4 : f->family == 6 ? 16 : 0;
}

/* One try at packet INDEX of configuration CONFIG. */
static void generate_once(struct gen_frame *f, const struct diff_rules *d, __u64 seed, __u32 config,
			  __u64 index)
{
	__u8 source[16];
	size_t at, n;
	__u32 kind;

	rng_seed_packet(seed, config, index);
	kind = rnd(100);
	if (kind < 4) {
		build_other(f);
		return;
	}
	build_template(f, d);
	n = source_bytes(f, &at);
	memcpy(source, f->data + at, n);
	if (kind < 50) {
		int mutations = 1 + (chance(30) ? rnd(3) : 0);

		for (int i = 0; i < mutations; i++)
			mutate(f);
	}
	/* With the detector on, mutations leave the source alone (see source_address). */
	if (d->pooled && source_bytes(f, &at) && at + n <= FRAME_BYTES)
		memcpy(f->data + at, source, n);
	if (f->len < 14) /* BPF_PROG_TEST_RUN refuses less than an Ethernet header */
		f->len = 14;
}

/*
 * A step-10 drop of a packet that opens nothing (a reply, say) feeds the
 * detector before issue 12 and not after; scan runs leave such packets out.
 */
static bool feeds_either_way(const struct diff_rules *d, const struct gen_frame *f)
{
	struct model_port port;

	return model_verdict(&d->rules, f->data, f->len, &port) != PC_DROP_NOT_ALLOWED ||
	       port.opening;
}

/* Packet INDEX of configuration CONFIG. */
static void generate(struct gen_frame *f, const struct diff_rules *d, __u64 seed, __u32 config,
		     __u64 index)
{
	for (__u64 attempt = 0;; attempt++) {
		generate_once(f, d, seed, config, index ^ attempt << 48);
		if (!d->scan || feeds_either_way(d, f))
			return;
	}
}

/* ---- running ------------------------------------------------------------------------ */

static __u64 coverage[PC_REASON_SLOTS]; /* packets per mode and reason, all configurations */

static __u64 clock_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec;
}
static int mismatches;
static __u64 compared;

static const char *slot_name(__u32 slot)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s%s%s", slot >= PC_REASONS ? "monitor:" : "",
		 slot % PC_REASONS >= PC_DROP_REASONS ? "pass:" : "",
		 pc_reason_name(slot % PC_REASONS));
	return buf;
}

/* Run one packet both ways; false on a mismatch (reported). */
static bool compare_unfiltered(const struct gen_frame *f, __u64 seed, __u32 config, __u64 index);

/* Run one packet both ways under the rules in force R (NULL: not filtered);
 * false on a mismatch (reported). */
static bool compare(const struct model_rules *r, const struct gen_frame *f, __u64 seed,
		    __u32 config, __u64 index)
{
	if (!r)
		return compare_unfiltered(f, seed, config, index);

	struct model_port port;
	enum pc_reason want = model_verdict_at(r, &detector, clock_ns(), f->data, f->len, &port);
	__u32 mode = r->monitor ? PC_MODE_MONITOR : PC_MODE_ENFORCE;
	__u32 slot = pc_reason_slot(mode, want);
	__u32 want_ret = model_drops(r, want) ? XDP_DROP : XDP_PASS;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->data, .data_size_in = f->len,
		    .repeat = 1);
	__u64 now[PC_REASON_SLOTS];
	char got[256] = "";
	int err;

	coverage[mode * PC_REASONS + want]++;
	compared++;
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		snprintf(got, sizeof(got), "test_run: %s", strerror(errno));
	} else if (want == PC_PASS_ALLOWED && port.valid) {
		/* Counted once, in the port's own pass slot (pc_reason_slot). */
		__u32 pass_slot = pass_slot_of(&port);

		if (read_percpu(maps.port_pass, pass_slot) == pass_seen[pass_slot] + 1 &&
		    opts.retval == want_ret) {
			pass_seen[pass_slot]++;
			slot_seen[slot]++;
			return true;
		}
	} else if (read_percpu(maps.reasons, slot) == slot_seen[slot] + 1 &&
		   opts.retval == want_ret) {
		slot_seen[slot]++;
		return true;
	}
	if (!err) {
		/* Which slot moved, then? */
		if (read_all_slots(now)) {
			snprintf(got, sizeof(got), "counters unreadable");
		} else {
			for (__u32 i = 0; i < PC_REASON_SLOTS; i++)
				if (now[i] != slot_seen[i])
					append(got, sizeof(got), "%s%s +%llu", got[0] ? ", " : "",
					       slot_name(i),
					       (unsigned long long)(now[i] - slot_seen[i]));
			memcpy(slot_seen, now, sizeof(now));
			read_pass_slots();
		}
		append(got, sizeof(got), " (retval %u, want %u)", opts.retval, want_ret);
	}
	mismatches++;
	test_detail("seed %llu config %u packet %llu: model %s, program %s", (unsigned long long)seed,
	       config, (unsigned long long)index, slot_name(slot), got);
	printf("    replay: test_differential --seed %llu --config %u --packet %llu\n",
	       (unsigned long long)seed, config, (unsigned long long)index);
	test_hexdump(f->data, f->len);
	return false;
}

/* Not filtered (an attach rolled back): XDP_PASS, and no reason counted. */
static bool compare_unfiltered(const struct gen_frame *f, __u64 seed, __u32 config, __u64 index)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->data, .data_size_in = f->len,
		    .repeat = 1);
	__u64 now[PC_REASON_SLOTS];
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	compared++;
	/* Every 1024th packet: nothing counted (all slots, the pass slots too). */
	if (!err && opts.retval == XDP_PASS && (index & 1023))
		return true;
	if (!err && opts.retval == XDP_PASS && !read_all_slots(now) &&
	    !memcmp(now, slot_seen, sizeof(now)))
		return true;
	mismatches++;
	test_detail("seed %llu config %u packet %llu: not filtered, program retval %u%s",
		    (unsigned long long)seed, config, (unsigned long long)index, opts.retval,
		    err ? " (test_run failed)" : ", or a counter moved");
	read_all_slots(slot_seen);
	test_hexdump(f->data, f->len);
	return false;
}

/*
 * Safe rollout: configuration CONFIG applied with --confirm over
 * configs[previous] (or over nothing, after attach), its deadline ahead or
 * passed. ROLLOUT gets what the model needs; *GEN the rules packets are
 * aimed at (those in force).
 */
static int apply_rollout(__u32 config, struct diff_rules *d, struct diff_rules *prev,
			 struct model_rollout *rollout, const struct diff_rules **gen)
{
	const struct diff_config *c = &configs[config];
	struct pc_config cfg, unfiltered = { .flags = PC_CFG_UNFILTERED };
	__u64 now = pc_rollout_now_ns();
	__u32 active;
	int err = 0;

	*rollout = (struct model_rollout){ .current = &d->rules, .previous = &prev->rules };
	*gen = d;
	if (c->rollout == ROLLOUT_NONE)
		return apply_config(config, d);
	if (c->rollout != ROLLOUT_ATTACH_PASSED)
		err = apply_config(c->previous, prev);
	err = err ?: apply_config(config, d);
	err = err ?: pc_maps_active_set(&maps, &active);
	err = err ?: pc_maps_read_config(&maps, active, &cfg);
	if (err)
		return err;
	rollout->pending = true;
	rollout->deadline_ns = c->rollout == ROLLOUT_AHEAD ? now + SCAN_TIME_NS : now - 1000000000ULL;
	cfg.flags |= PC_CFG_CONFIRM_PENDING;
	cfg.confirm_deadline_ns = rollout->deadline_ns;
	err = pc_maps_write_config(&maps, active, &cfg);
	if (c->rollout == ROLLOUT_ATTACH_PASSED) {
		rollout->previous = NULL;
		return err ?: pc_maps_write_config(&maps, active ^ 1, &unfiltered);
	}
	/* Bans belong to no rule set: the previous rules see the ones in force. */
	prev->rules.banned = d->rules.banned;
	prev->rules.n_banned = d->rules.n_banned;
	if (c->rollout == ROLLOUT_PASSED) {
		*gen = prev;
		err = err ?: pc_maps_read_ports(&maps, active ^ 1, &rules_table);
	}
	return err;
}

/*
 * After a run with the detector on: the program banned exactly the sources
 * the model did, and enough of them for the run to have meant something.
 */
static void check_scan_bans(const struct model_rules *r, __u64 count)
{
	struct pc_ban_entry *list = NULL;
	struct pc_ban ban;
	size_t n = 0, scan_bans = 0;

	if (pc_bans_list(&maps, false, &list, &n, NULL, NULL)) {
		test_detail("listing bans: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++)
		scan_bans += list[i].ban.reason == PC_BAN_SCAN;
	free(list);
	if (scan_bans != detector.n_bans)
		test_detail("the program made %zu scan bans, the model %zu", scan_bans,
			    detector.n_bans);
	for (size_t i = 0; i < detector.n_bans; i++) {
		const struct model_prefix *source = &detector.bans[i].source;
		struct pc_addr_key key;
		char text[64];

		pc_addr_key_make(&key, source->family == 4 ? AF_INET : AF_INET6, source->addr,
				 r->ban_ipv6_prefix);
		if (bpf_map_lookup_elem(maps.bans, &key, &ban) || ban.reason != PC_BAN_SCAN)
			test_detail(
				"the model banned %s, the program did not",
				pc_addr_key_format(&key, r->ban_ipv6_prefix, text, sizeof(text)));
	}
	printf("    %zu sources banned by the detector\n", detector.n_bans);
	if (count >= DEFAULT_COUNT / 100 && detector.n_bans < 5)
		test_detail("only %zu scan bans: the run hardly tried the detector",
			    detector.n_bans);
}

static void run_config(__u32 config, __u64 seed, __u64 count, long long only)
{
	const struct diff_config *c = &configs[config];
	static struct diff_rules d, prev;
	const struct diff_rules *gen;
	struct model_rollout rollout;
	struct timespec t0, t1;
	struct gen_frame f;
	__u64 end = only >= 0 ? (__u64)only + 1 : count;
	/* With the detector or limits on, a packet's verdict depends on all before it. */
	__u64 first = only >= 0 && !c->scan_ports && !c->limits[0].hi ? (__u64)only : 0;
	int err;

	test_begin("differential: %s (%llu packets)", c->name, (unsigned long long)(end - first));
	if (mismatches >= MAX_MISMATCHES) {
		test_skip(case_name, STOPPED);
		return;
	}
	err = apply_rollout(config, &d, &prev, &rollout, &gen);
	if (err) {
		test_detail("configuring: %s", strerror(-err));
		test_end();
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (__u64 i = first; i < end && mismatches < MAX_MISMATCHES; i++) {
		generate(&f, gen, seed, config, i);
		compare(model_rules_at(&rollout, pc_rollout_now_ns()), &f, seed, config, i);
		if (only >= 0 && i + 1 == end) {
			printf("    model: %s\n",
			       slot_name(model_verdict(&gen->rules, f.data, f.len, NULL)));
			test_hexdump(f.data, f.len);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (verbose)
		printf("    %.2f s\n", t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (d.scan && only < 0 && mismatches < MAX_MISMATCHES)
		check_scan_bans(&d.rules, count);
	if (case_failed)
		printf("    seed %llu\n", (unsigned long long)seed);
	test_end();
}

/* Every reason reached, in enforce and in monitor mode, often enough to mean something. */
static void check_coverage(__u64 count)
{
	__u64 min = count >= DEFAULT_COUNT ? MIN_PER_REASON : count >= 100000 ? 1 : 0;

	test_begin("differential: every reason reached at least %llu times",
		   (unsigned long long)min);
	printf("    reason               enforce   monitor\n");
	for (int reason = 0; reason < PC_REASONS; reason++)
		printf("    %-20s %8llu  %8llu\n", slot_name(reason),
		       (unsigned long long)coverage[reason],
		       (unsigned long long)coverage[PC_REASONS + reason]);
	for (int reason = 0; reason < PC_REASONS; reason++) {
		if (coverage[reason] < min)
			test_detail("%s: %llu packets", slot_name(reason),
			       (unsigned long long)coverage[reason]);
		if (coverage[PC_REASONS + reason] < min)
			test_detail("%s: %llu packets", slot_name(PC_REASONS + reason),
			       (unsigned long long)coverage[PC_REASONS + reason]);
	}
	test_end();
}

/* ---- setup ------------------------------------------------------------------------------- */

static int setup(void)
{
	int err;

	err = test_program_load(&skel, &prog_fd, &maps);
	if (err)
		return err;
	percpu = calloc(maps.ncpus, sizeof(*percpu));
	return percpu ? 0 : -ENOMEM;
}

static __u64 default_seed(void)
{
	const char *env = getenv("PORTCULLIS_DIFF_SEED");
	struct timespec now;

	if (env && *env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	return (__u64)now.tv_sec * 1000003 ^ (__u64)now.tv_nsec ^ (__u64)getpid() << 32;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--seed N] [--count N] [--config INDEX] [--packet I] [-v]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	__u64 seed = default_seed(), count = DEFAULT_COUNT, shares = 0;
	long long only_config = -1, only_packet = -1;
	struct timespec t0, t1;

	for (int i = 1; i < argc; i++) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "-v")) {
			verbose = true;
			continue;
		}
		if (!value)
			usage(argv[0]);
		if (!strcmp(argv[i], "--seed"))
			seed = strtoull(value, NULL, 0);
		else if (!strcmp(argv[i], "--count"))
			count = strtoull(value, NULL, 0);
		else if (!strcmp(argv[i], "--config"))
			only_config = atoll(value);
		else if (!strcmp(argv[i], "--packet"))
			only_packet = atoll(value);
		else
			usage(argv[0]);
		i++;
	}
	if (only_config >= (long long)ARRAY_SIZE(configs) || (only_packet >= 0 && only_config < 0))
		usage(argv[0]);

	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		test_skip("differential", "needs root for BPF_PROG_TEST_RUN");
		return 0;
	}
	printf("seed %llu\n", (unsigned long long)seed);
	make_blocklists(seed);
	if (verbose)
		printf("blocklist: deny from %s\nblocklist: allow from %s\n", random_deny,
		       random_trust);
	fflush(stdout);
	if (!enter_private_netns()) {
		test_skip("differential", "no private network namespace for the local port range");
		return 0;
	}
	if (setup()) {
		test_begin("differential: load the program");
		test_detail("%s", strerror(errno));
		test_end();
		return test_exit_code();
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < ARRAY_SIZE(configs); i++)
		shares += configs[i].share;
	for (__u32 i = 0; i < ARRAY_SIZE(configs); i++) {
		if (only_config >= 0 && i != only_config)
			continue;
		run_config(i, seed, count * configs[i].share / shares, only_packet);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (only_config < 0 && mismatches >= MAX_MISMATCHES)
		test_skip("differential: coverage", STOPPED);
	else if (only_config < 0)
		check_coverage(count);
	printf("%llu packets compared in %.1f s, %d mismatches, seed %llu\n",
	       (unsigned long long)compared,
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9, mismatches,
	       (unsigned long long)seed);

	free(percpu);
	model_detector_reset(&detector);
	portcullis_bpf__destroy(skel);
	return test_exit_code();
}
