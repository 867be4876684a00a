// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One live-frames flood: the generator program runs under
 * BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES in the sending
 * namespace and returns XDP_TX, so every frame leaves the sending veth and
 * is received by its peer, where the filter under test runs (an XDP program
 * this command attaches for the run, or whatever bench/run.sh set up in
 * nftables/iptables). Reported: the receiver's rx_packets, the wall time,
 * and the kernel's busy time per frame. The receiver's NAPI runs on the
 * sending CPU inside the test run, so the busy time is generator plus
 * receiver, minus whatever time other tasks took the CPU; "-f gen-only"
 * measures the generator alone (frames dropped before they are sent).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bans.h"
#include "bare.skel.h"
#include "gen.skel.h"
#include "portcullis.skel.h"

struct live_opts {
	const char *gen_ns, *rx_ns, *tx_if, *rx_if, *filter, *label;
	bool mixed; /* allowed, closed, Xmas and scanning frames (gen.bpf.c) */
	bool ipv6;
	__u16 dport;
	__u32 frames;
	__u32 sources; /* pool size of gen.bpf.c, 0 for its default cycle */
	int round;
};

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || setns(fd, CLONE_NEWNET))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(stderr, "pcbench: cannot enter %s: %s\n", path, strerror(-err));
	return err;
}

/* rx_packets of IFNAME in the current namespace, through rtnetlink. */
static long long rx_packets(const char *ifname)
{
	struct ifaddrs *ifaddrs, *ifa;
	long long packets = -1;

	if (getifaddrs(&ifaddrs))
		return -1;
	for (ifa = ifaddrs; ifa; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_PACKET && ifa->ifa_data &&
		    !strcmp(ifa->ifa_name, ifname)) {
			packets = ((struct rtnl_link_stats *)ifa->ifa_data)->rx_packets;
			break;
		}
	}
	freeifaddrs(ifaddrs);
	return packets;
}

static int hw_addr(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/* Packets portcullis counted (every reason, pass and drop). */
static long long portcullis_seen(struct portcullis_bpf *skel, long long *drops)
{
	struct pc_counter counters[PC_REASON_SLOTS];
	struct pc_maps maps;
	long long total = 0;

	*drops = 0;
	if (pc_maps_from_object(skel->obj, &maps) ||
	    pc_maps_read_reasons(&maps, counters))
		return -1;
	for (int i = 0; i < PC_REASON_SLOTS; i++) {
		total += counters[i].packets;
		if (i < PC_DROP_REASONS)
			*drops += counters[i].packets;
	}
	return total;
}

/*
 * What runs on the receiver: portcullis as the xdp-filter equivalent; with
 * the contract's defaults; with scan-detect on, IPv6 sources tracked one by
 * one (ipv6-prefix 128) and established off, for the distinct-sources
 * curve; a bare XDP_DROP; no XDP program (nftables, iptables or nothing);
 * or the generator alone, its frames dropped unsent.
 */
static const char *const filters[] = {
	"portcullis",	    "portcullis-defaults", "portcullis-scan", "portcullis-limit",
	"portcullis-limit-wide", "drop",		   "none",	      "gen-only",
};

/*
 * portcullis with "limit tcp 22,80,443 rate 6/30s" (ufw's), or with a limit
 * whose bucket never runs dry (WIDE: a token a nanosecond), so that every
 * allowed SYN pays for its bucket and passes.
 */
static int configure_limit(struct bpf_object *obj, bool wide)
{
	static const __u16 limited[] = { 22, 80, 443 };
	struct pc_limit limits[PC_LIMITS_MAX] = {};
	struct pc_port_rule rule;
	struct pc_maps maps;
	int err = portcullis_configure(obj, PC_ESTABLISHED_OFF, false, 0);

	err = err ?: pc_maps_from_object(obj, &maps);
	if (err)
		return err;
	limits[1].interval_ns = wide ? 1 : 5000000000ULL;
	limits[1].tolerance_ns = wide ? 1000000000ULL : 5 * limits[1].interval_ns;
	err = pc_maps_write_limits(&maps, 0, limits);
	for (size_t i = 0; i < sizeof(limited) / sizeof(limited[0]) && !err; i++) {
		__u32 key = pc_port_key(0, PC_PROTO_TCP, htons(limited[i]));

		err = bpf_map_lookup_elem(maps.ports, &key, &rule) ? -errno : 0;
		rule.flags |= PC_PORT_RATE_LIMITED;
		rule.limit = 1;
		err = err ?: (bpf_map_update_elem(maps.ports, &key, &rule, BPF_ANY) ? -errno : 0);
	}
	return err;
}

/* scan-detect on with IPv6 sources one by one, established off. */
static int configure_scan(struct bpf_object *obj)
{
	struct pc_config cfg;
	struct pc_maps maps;
	int err = portcullis_configure(obj, PC_ESTABLISHED_OFF, true, 0);

	err = err ?: pc_maps_from_object(obj, &maps);
	err = err ?: pc_maps_read_config(&maps, 0, &cfg);
	if (err)
		return err;
	cfg.scan_ipv6_prefix = 128;
	return pc_maps_write_config(&maps, 0, &cfg);
}

static int parse_args(int argc, char **argv, struct live_opts *o)
{
	int opt;

	*o = (struct live_opts){.filter = "none", .label = "?", .dport = 8080, .frames = 2000000};
	while ((opt = getopt(argc, argv, "g:R:t:i:f:l:p:n:r:s:m6")) != -1) {
		switch (opt) {
		case 'm':
			o->mixed = true;
			break;
		case '6':
			o->ipv6 = true;
			break;
		case 's':
			o->sources = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			o->gen_ns = optarg;
			break;
		case 'R':
			o->rx_ns = optarg;
			break;
		case 't':
			o->tx_if = optarg;
			break;
		case 'i':
			o->rx_if = optarg;
			break;
		case 'f':
			o->filter = optarg;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'p':
			o->dport = atoi(optarg);
			break;
		case 'n':
			o->frames = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o->round = atoi(optarg);
			break;
		default:
			return -1;
		}
	}
	if (!o->gen_ns || !o->rx_ns || !o->tx_if || !o->rx_if || !o->frames)
		return -1;
	if (o->sources && (o->mixed || (!o->ipv6 && o->sources > GEN_IPV4_POOL_MAX)))
		return -1;
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (!strcmp(o->filter, filters[i]))
			return 0;
	return -1;
}

int bench_live(int argc, char **argv)
{
	struct portcullis_bpf *pc = NULL;
	struct bare_bpf *bare = NULL;
	struct gen_bpf *gen = NULL;
	struct bpf_link *link = NULL;
	struct bpf_program *gen_prog;
	struct packet_spec spec = {4, 0, L4_TCP, 0, TCP_SYN, 0, {}, NULL};
	long long before, after, seen = -1, drops = 0, memory = -1;
	__u64 scan[PC_SCAN_STATS] = {}, bans_active = 0;
	struct xdp_md ctx = {};
	struct frame frame;
	struct live_opts o;
	double start, elapsed;
	int err = 1, rx_ifindex, tx_ifindex;

	if (parse_args(argc, argv, &o)) {
		fprintf(stderr,
			"usage: pcbench live -g GEN_NETNS -R RX_NETNS -t TX_IF -i RX_IF "
			"[-f portcullis|portcullis-defaults|portcullis-scan|drop|none|gen-only] "
			"[-p DPORT] [-n FRAMES] [-l LABEL] [-r ROUND] [-6 (IPv6 frames)] "
			"[-m (mixed traffic) | -s SOURCES (pool of sources, each pass over it "
			"probing the next port; IPv4 at most %u)]\n",
			GEN_IPV4_POOL_MAX);
		return 2;
	}

	gen = gen_bpf__open();
	if (gen) {
		gen->rodata->mixed = o.mixed;
		gen->rodata->n_sources = o.sources;
	}
	if (gen && gen_bpf__load(gen)) {
		gen_bpf__destroy(gen);
		gen = NULL;
	}
	if (!gen)
		goto load_error;
	if (!strncmp(o.filter, "portcullis", 10)) {
		bool defaults = !strcmp(o.filter, "portcullis-defaults");

		pc = portcullis_bpf__open_and_load();
		if (!pc)
			goto load_error;
		if (!strncmp(o.filter, "portcullis-limit", 16)) {
			if (configure_limit(pc->obj, !strcmp(o.filter, "portcullis-limit-wide")))
				goto load_error;
		} else if (!strcmp(o.filter, "portcullis-scan") ? configure_scan(pc->obj)
								 : portcullis_configure(
									   pc->obj,
									   defaults ? PC_ESTABLISHED_SOCKET
										    : PC_ESTABLISHED_OFF,
									   defaults, 0)) {
			goto load_error;
		}
	} else if (!strcmp(o.filter, "drop")) {
		bare = bare_bpf__open_and_load();
		if (!bare)
			goto load_error;
	}

	/* Receiver side: its address for the template, the filter, the counter. */
	if (enter_netns(o.rx_ns))
		goto cleanup;
	rx_ifindex = if_nametoindex(o.rx_if);
	if (!rx_ifindex || hw_addr(o.rx_if, spec.dst_mac)) {
		fprintf(stderr, "pcbench: %s: no such interface in %s\n", o.rx_if, o.rx_ns);
		goto cleanup;
	}
	if (pc || bare) {
		link = bpf_program__attach_xdp(
		    pc ? pc->progs.portcullis_xdp : bare->progs.bare_drop, rx_ifindex);
		if (!link) {
			fprintf(stderr, "pcbench: cannot attach XDP to %s: %s\n", o.rx_if,
				strerror(errno));
			goto cleanup;
		}
	}
	before = rx_packets(o.rx_if);

	/* Sender side: flood. */
	if (enter_netns(o.gen_ns))
		goto cleanup;
	tx_ifindex = if_nametoindex(o.tx_if);
	if (!tx_ifindex) {
		fprintf(stderr, "pcbench: %s: no such interface in %s\n", o.tx_if, o.gen_ns);
		goto cleanup;
	}
	spec.dport = o.dport;
	spec.family = o.ipv6 ? 6 : 4;
	packet_build(&frame, &spec);
	ctx.data_end = frame.len;
	ctx.ingress_ifindex = tx_ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data, .data_size_in = frame.len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = o.frames,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	pin_cpu(sysconf(_SC_NPROCESSORS_ONLN) - 1);
	start = now_seconds();
	gen_prog = strcmp(o.filter, "gen-only") ? gen->progs.gen_flood : gen->progs.gen_only;
	if (bpf_prog_test_run_opts(bpf_program__fd(gen_prog), &run)) {
		fprintf(stderr, "pcbench: live-frames run from %s: %s\n", o.tx_if, strerror(errno));
		goto cleanup;
	}
	elapsed = now_seconds() - start;

	/* Let the receiver finish what is still queued, then count. */
	usleep(200000);
	if (enter_netns(o.rx_ns))
		goto cleanup;
	after = rx_packets(o.rx_if);
	if (before < 0 || after < 0) {
		fprintf(stderr, "pcbench: cannot read rx_packets of %s\n", o.rx_if);
		goto cleanup;
	}
	if (pc) {
		struct pc_maps maps;

		seen = portcullis_seen(pc, &drops);
		memory = object_memlock(pc->obj);
		if (pc_maps_from_object(pc->obj, &maps) ||
		    pc_bans_stats(&maps, scan, &bans_active))
			fprintf(stderr, "pcbench: cannot read the scan detector's counters\n");
	}

	/* label round wall-Mpps received sent wall-seconds busy-ns/frame filter-seen filter-drops
	 * bans-made promoted map-bytes */
	printf("live\t%s\t%d\t%.4f\t%lld\t%u\t%.4f\t%u\t%lld\t%lld\t%llu\t%llu\t%lld\n",
	       o.label, o.round, (after - before) / elapsed / 1e6, after - before, o.frames, elapsed,
	       run.duration, seen, drops, (unsigned long long)scan[PC_STAT_BANS],
	       (unsigned long long)scan[PC_STAT_PROMOTED], memory);
	err = 0;
	goto cleanup;

load_error:
	fprintf(stderr, "pcbench: cannot load the BPF programs: %s\n", strerror(errno));
cleanup:
	bpf_link__destroy(link);
	bare_bpf__destroy(bare);
	portcullis_bpf__destroy(pc);
	gen_bpf__destroy(gen);
	return err;
}
