// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * explain IFACE tcp|udp SOURCE DPORT [--flags S|SA|...]: the verdict the
 * attached program gives such a packet now, and why.
 *
 * It runs the program's own logic on the live maps: a second build of
 * bpf/portcullis.bpf.c with -DPC_NO_SIDE_EFFECTS (no counter, ban, scan
 * state, event or log record is written; an expired ban is judged gone but
 * left for the attached program to remove), loaded with every pinned map of
 * the interface reused, and run once with BPF_PROG_TEST_RUN on a crafted
 * frame. The reason comes back through that build's private pc_explain map.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "config.h"
#include "events.h"
#include "explain.h"
#include "log.h"
#include "pins.h"
#include "rules.h"
#include "../maps/bans.h"
#include "portcullis.skel.h"
#include "portcullis_explain.skel.h"

#define SOURCE_PORT 40000 /* the crafted packet's; any unprivileged port */

/* "S", "SA", "FPU", "none": TCP flag letters as tcpdump and nmap write them. */
static const char tcp_flag_letters[] = "FSRPAUEC"; /* bit 0 .. bit 7 */

static int parse_tcp_flags(const char *word, __u8 *flags)
{
	*flags = 0;
	if (strcmp(word, "none") == 0 || strcmp(word, "0") == 0)
		return 0;
	if (!*word)
		return -EINVAL;
	for (const char *c = word; *c; c++) {
		/* strchr finds the terminating NUL too: not a flag. */
		const char *at = strchr(tcp_flag_letters, toupper((unsigned char)*c));

		if (!at || !*at)
			return -EINVAL;
		*flags |= 1U << (at - tcp_flag_letters);
	}
	return 0;
}

static void format_tcp_flags(__u8 flags, char *buf, size_t len)
{
	size_t n = 0;

	for (int bit = 0; bit < 8 && n + 1 < len; bit++)
		if (flags & (1U << bit))
			buf[n++] = tcp_flag_letters[bit];
	buf[n] = '\0';
	if (!n)
		snprintf(buf, len, "none");
}

/* An address of IFNAME in FAMILY, for the frame's destination (socket
 * lookups need it); zeros when it has none. */
static void local_address(const char *ifname, int family, __u8 addr[16])
{
	struct ifaddrs *list, *ifa;

	memset(addr, 0, 16);
	if (getifaddrs(&list))
		return;
	for (ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family ||
		    strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		if (family == AF_INET)
			memcpy(addr, &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr, 4);
		else
			memcpy(addr, &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr, 16);
		break;
	}
	freeifaddrs(list);
}

struct probe {
	enum pc_proto proto;
	struct pc_prefix source; /* a whole address */
	__u16 dport;		 /* host order */
	__u8 tcp_flags;
};

/* Ethernet + IPv4/IPv6 + TCP/UDP, as a client would send it; returns the length. */
static size_t craft_frame(const struct probe *p, const __u8 dst[16], __u8 *frame)
{
	size_t l3_len = p->source.family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	size_t l4_len = p->proto == PC_PROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	struct ethhdr *eth = (void *)frame;
	__u8 *l4 = frame + sizeof(*eth) + l3_len;

	memset(frame, 0, sizeof(*eth) + l3_len + l4_len);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	if (p->source.family == AF_INET) {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->tot_len = htons(l3_len + l4_len);
		ip->protocol = p->proto == PC_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(&ip->saddr, p->source.addr, 4);
		memcpy(&ip->daddr, dst, 4);
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->hop_limit = 64;
		ip6->payload_len = htons(l4_len);
		ip6->nexthdr = p->proto == PC_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(&ip6->saddr, p->source.addr, 16);
		memcpy(&ip6->daddr, dst, 16);
	}
	if (p->proto == PC_PROTO_TCP) {
		struct tcphdr *tcp = (void *)l4;

		tcp->source = htons(SOURCE_PORT);
		tcp->dest = htons(p->dport);
		tcp->doff = 5;
		tcp->window = htons(64240);
		l4[13] = p->tcp_flags;
	} else {
		struct udphdr *udp = (void *)l4;

		udp->source = htons(SOURCE_PORT);
		udp->dest = htons(p->dport);
		udp->len = htons(l4_len);
	}
	return sizeof(*eth) + l3_len + l4_len;
}

struct portcullis_explain_bpf *pc_explainer_load(const int *map_fds, __u64 hash_key,
						 const char *who)
{
	struct portcullis_explain_bpf *skel = portcullis_explain_bpf__open();
	size_t n;
	const char *const *names = pc_map_names(&n);
	int err = skel ? 0 : -errno;

	/* Buckets of the rate limits are found by a hash under the attached
	 * program's secret: the same secret finds the same records. */
	if (skel)
		skel->rodata->scan_hash_key = hash_key;

	for (size_t i = 0; i < n && !err; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, names[i]);

		if (!map || map_fds[i] < 0)
			continue;
		err = bpf_map__reuse_fd(map, map_fds[i]);
		if (err)
			pc_warn("%s: can't reuse the map %s: %s", who, names[i], pc_strerr(err));
	}
	if (!err) {
		err = portcullis_explain_bpf__load(skel);
		if (err)
			pc_warn("%s: can't load the explain program (-v for the verifier): %s", who,
				pc_strerr(err));
	}
	if (err) {
		portcullis_explain_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

void pc_explainer_destroy(struct portcullis_explain_bpf *skel)
{
	portcullis_explain_bpf__destroy(skel);
}

/*
 * The secret the attached program was loaded with (its .rodata, at the
 * place the skeleton of that build says), through its pinned link.
 */
static int live_hash_key(const char *ifname, __u64 *key)
{
	struct bpf_link_info link = {};
	struct bpf_prog_info prog = {};
	__u32 len = sizeof(link), ids[64], zero = 0;
	char path[4096];
	int link_fd, prog_fd = -1, err = -ENOENT;

	pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	link_fd = bpf_obj_get(path);
	if (link_fd < 0 || bpf_obj_get_info_by_fd(link_fd, &link, &len))
		goto out;
	prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
	prog.nr_map_ids = 64;
	prog.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(prog);
	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &prog, &len))
		goto out;
	for (__u32 i = 0; i < prog.nr_map_ids && i < 64 && err; i++) {
		struct bpf_map_info map = {};
		__u32 map_len = sizeof(map);
		int fd = bpf_map_get_fd_by_id(ids[i]);
		__u8 *value;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &map, &map_len) && strstr(map.name, ".rodata") &&
		    map.value_size >=
			    offsetof(struct portcullis_bpf__rodata, scan_hash_key) + sizeof(*key)) {
			value = calloc(1, map.value_size);
			if (value && !bpf_map_lookup_elem(fd, &zero, value)) {
				memcpy(key,
				       value + offsetof(struct portcullis_bpf__rodata,
							scan_hash_key),
				       sizeof(*key));
				err = 0;
			}
			free(value);
		}
		close(fd);
	}
out:
	if (prog_fd >= 0)
		close(prog_fd);
	if (link_fd >= 0)
		close(link_fd);
	return err;
}

/* The explainer on IFNAME's pinned maps. */
static struct portcullis_explain_bpf *load_explainer(const char *ifname)
{
	struct portcullis_explain_bpf *skel = NULL;
	size_t n;
	const char *const *names = pc_map_names(&n);
	int *fds = calloc(n, sizeof(*fds)), err = fds ? 0 : -ENOMEM;
	__u64 hash_key = 0;
	char path[4096];

	for (size_t i = 0; i < n && fds; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && !err; i++) {
		pc_pin_path(ifname, names[i], path, sizeof(path));
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0) {
			err = -errno;
			pc_warn("%s: can't open the pinned map %s: %s", ifname, path,
				pc_strerr(err));
		}
	}
	if (!err && live_hash_key(ifname, &hash_key))
		pc_warn("%s: can't read the attached program's hash key; rate limits are judged "
			"as if no source had used them",
			ifname);
	if (!err) {
		skel = pc_explainer_load(fds, hash_key, ifname);
		err = skel ? 0 : -errno;
	}
	for (size_t i = 0; i < n && fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	errno = -err;
	return skel;
}

int pc_explainer_run(struct portcullis_explain_bpf *skel, const void *frame, __u32 len,
		     __u32 *reason, __u32 *action)
{
	struct pc_explain_result result = { .reason = PC_EXPLAIN_NONE };
	__u8 out[256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int map_fd = bpf_map__fd(skel->maps.pc_explain), err;
	__u32 zero = 0;

	if (len > sizeof(out))
		opts.data_out = NULL, opts.data_size_out = 0;
	if (bpf_map_update_elem(map_fd, &zero, &result, BPF_ANY))
		return -errno;
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.portcullis_xdp), &opts);
	if (err)
		return -errno;
	if (bpf_map_lookup_elem(map_fd, &zero, &result))
		return -errno;
	*reason = result.reason;
	*action = opts.retval;
	return 0;
}

static const char *ban_kind(__u32 reason)
{
	return reason == PC_BAN_SCAN ? "scan" : reason == PC_BAN_CROWDSEC ? "crowdsec" : "manual";
}

static void ban_left(const struct pc_ban *ban, char *buf, size_t len)
{
	char left[32];
	__u64 now = pc_now_ns();

	if (ban->expires_ns == PC_BAN_FOREVER)
		snprintf(buf, len, "no expiry");
	else
		snprintf(buf, len, "%s left",
			 pc_format_duration(ban->expires_ns > now ? ban->expires_ns - now : 0, 0,
					    left, sizeof(left)));
}

/* The ban that holds SOURCE: "scan ban, 7m12s left", its own or its prefix's. */
static void describe_ban(const struct pc_maps *maps, const struct pc_config *cfg,
			 const struct pc_prefix *source, char *why, size_t len, char *rule,
			 size_t rule_len)
{
	struct pc_prefix_ban_key prefix_key = {};
	struct pc_addr_key key;
	struct pc_ban ban;
	char left[48], addr[64];

	pc_addr_key_make(&key, source->family, source->addr, cfg->scan_ipv6_prefix);
	pc_addr_key_format(&key, cfg->scan_ipv6_prefix, addr, sizeof(addr));
	snprintf(rule, rule_len, "ban %s", addr);
	if (bpf_map_lookup_elem(maps->bans, &key, &ban) == 0) {
		ban_left(&ban, left, sizeof(left));
		snprintf(why, len, "%s ban, %s", ban_kind(ban.reason), left);
		return;
	}
	/* A prefix ban: the trie answers with the longest prefix that holds it. */
	prefix_key.family = key.family;
	memcpy(prefix_key.addr, source->addr, source->family == AF_INET ? 4 : 16);
	prefix_key.prefixlen = PC_PREFIX_KEY_HDR_BITS + (source->family == AF_INET ? 32 : 128);
	if (maps->prefix_bans >= 0 &&
	    bpf_map_lookup_elem(maps->prefix_bans, &prefix_key, &ban) == 0) {
		struct pc_prefix p = { .family = source->family, .len = ban.prefix_len };
		size_t bytes = ban.prefix_len / 8;

		memcpy(p.addr, source->addr, bytes);
		if (ban.prefix_len % 8 && bytes < 16)
			p.addr[bytes] = source->addr[bytes] & (0xff << (8 - ban.prefix_len % 8));
		snprintf(rule, rule_len, "ban %s", pc_prefix_format(&p, addr, sizeof(addr)));
		ban_left(&ban, left, sizeof(left));
		snprintf(why, len, "%s prefix ban %s, %s", ban_kind(ban.reason), addr, left);
		return;
	}
	snprintf(why, len, "banned");
}

static const char *flags_problem(int reason)
{
	switch (reason) {
	case PC_DROP_SCAN_NULL:
		return "no flags";
	case PC_DROP_SCAN_FIN:
		return "FIN without ACK";
	case PC_DROP_SCAN_XMAS:
		return "FIN+PSH+URG";
	case PC_DROP_SCAN_SYNFIN:
		return "SYN+FIN";
	case PC_DROP_SCAN_SYNRST:
		return "SYN+RST";
	default:
		return "an illegal combination";
	}
}

/* Why REASON, in words, and the config line (or command) behind it. */
static void describe(const struct pc_maps *maps, __u32 set, const struct pc_config *cfg,
		     const struct probe *p, int reason, char *why, size_t len, char *rule,
		     size_t rule_len)
{
	const char *proto = pc_proto_name(p->proto);
	char src[INET6_ADDRSTRLEN + 4], flags[16];

	pc_prefix_format(&p->source, src, sizeof(src));
	format_tcp_flags(p->tcp_flags, flags, sizeof(flags));
	rule[0] = '\0';
	switch (reason) {
	case PC_PASS_ALLOWED:
	case PC_DROP_SOURCE_NOT_ALLOWED:
		pc_rules_port_line(maps, set, p->proto, p->dport, rule, rule_len);
		if (reason == PC_PASS_ALLOWED)
			snprintf(why, len, "%s", rule);
		else
			snprintf(why, len, "%s/%u is allowed only from other sources: %s", proto,
				 p->dport, rule);
		break;
	case PC_DROP_RATE_LIMITED:
		pc_rules_limit_line(maps, set, p->proto, p->dport, rule, rule_len);
		snprintf(why, len, "this source is over the rate of %s", rule);
		break;
	case PC_DROP_NOT_ALLOWED:
		snprintf(why, len, "%s/%u is not allowed", proto, p->dport);
		break;
	case PC_PASS_ESTABLISHED:
		snprintf(rule, rule_len, "established %s",
			 cfg->established == PC_ESTABLISHED_EPHEMERAL ? "ephemeral" : "socket");
		snprintf(why, len, "a reply to a conversation of this host (%s)", rule);
		break;
	case PC_DROP_DENIED_SOURCE:
	case PC_PASS_TRUSTED:
		pc_rules_source_line(maps, set, &p->source,
				     reason == PC_PASS_TRUSTED ? PC_SRC_F_TRUST : PC_SRC_F_DENY,
				     rule, rule_len);
		snprintf(why, len, "%s", rule);
		break;
	case PC_DROP_BANNED:
		describe_ban(maps, cfg, &p->source, why, len, rule, rule_len);
		break;
	case PC_DROP_SCAN_NULL ... PC_DROP_SCAN_OTHER:
		snprintf(rule, rule_len, "scan-flags drop");
		snprintf(why, len, "TCP flags %s: %s", flags, flags_problem(reason));
		break;
	default:
		snprintf(why, len, "%s", pc_reason_name(reason));
	}
}

static int parse_probe(int argc, char **argv, const char *flags, struct probe *p)
{
	char why[256];
	__u64 port;
	char *end;

	memset(p, 0, sizeof(*p));
	if (argc != 3) {
		pc_warn("usage: portcullis explain IFACE tcp|udp SOURCE DPORT [--flags "
			"S|SA|A|F|...]");
		return -EINVAL;
	}
	if (pc_parse_proto(argv[0], &p->proto, why, sizeof(why))) {
		pc_warn("explain: %s", why);
		return -EINVAL;
	}
	if (pc_parse_prefix(argv[1], &p->source, why, sizeof(why)) ||
	    p->source.len != (p->source.family == AF_INET ? 32 : 128)) {
		pc_warn("explain: '%s' is not an address%s%s", argv[1], *why ? ": " : "",
			*why ? why : "");
		return -EINVAL;
	}
	errno = 0;
	port = strtoull(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || port < 1 || port > 65535) {
		pc_warn("explain: bad port '%s': must be 1..65535", argv[2]);
		return -EINVAL;
	}
	p->dport = port;
	p->tcp_flags = 0x02; /* SYN: a new connection */
	if (flags && p->proto != PC_PROTO_TCP) {
		pc_warn("explain: --flags is for tcp only");
		return -EINVAL;
	}
	if (flags && parse_tcp_flags(flags, &p->tcp_flags)) {
		pc_warn("explain: bad --flags '%s': letters of FSRPAUEC (e.g. S, SA, A, FPU) or "
			"none",
			flags);
		return -EINVAL;
	}
	return 0;
}

int pc_cmd_explain(const char *ifname, int argc, char **argv, const char *flags, bool json)
{
	struct portcullis_explain_bpf *skel = NULL;
	struct pc_config cfg = {};
	struct pc_maps maps;
	struct probe p;
	/* Two bytes in, so the IP header after the 14-byte Ethernet one is aligned. */
	__u8 storage[132] __attribute__((aligned(8))), *frame = storage + 2, dst[16];
	char why[512] = "", rule[512] = "";
	__u32 reason = PC_EXPLAIN_NONE, action = 0, set;
	int err, monitor;
	size_t len;

	if (parse_probe(argc, argv, flags, &p))
		return PC_EXIT_USAGE;
	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	err = pc_maps_active_set(&maps, &set);
	if (!err)
		err = pc_maps_read_config(&maps, set, &cfg);
	if (!err) {
		skel = load_explainer(ifname);
		err = skel ? 0 : -errno;
	}
	if (!err) {
		local_address(ifname, p.source.family, dst);
		len = craft_frame(&p, dst, frame);
		err = pc_explainer_run(skel, frame, len, &reason, &action);
		if (err)
			pc_warn("%s: BPF_PROG_TEST_RUN failed: %s", ifname, pc_strerr(err));
	}
	if (!err && reason >= PC_REASONS) {
		pc_warn("%s: the program gave no verdict (action %u)", ifname, action);
		err = -EPROTO;
	}
	if (!err) {
		/* What it does to the packet: in monitor mode a drop reason passes. */
		monitor = reason < PC_DROP_REASONS && action != XDP_DROP;
		describe(&maps, set, &cfg, &p, reason, why, sizeof(why), rule, sizeof(rule));
		if (json) {
			printf("{\"verdict\": \"%s\", \"reason\": ",
			       action == XDP_DROP ? "drop" : "pass");
			json_string(pc_reason_name(reason));
			printf(", \"rule\": ");
			json_string(rule);
			printf(", \"why\": ");
			json_string(why);
			printf(", \"monitor\": %s}\n", monitor ? "true" : "false");
		} else {
			printf("%s: %s (%s)%s\n", action == XDP_DROP ? "drop" : "pass",
			       pc_reason_name(reason), why,
			       monitor ? " [mode monitor: counted as a drop, passed]" : "");
		}
	}
	pc_explainer_destroy(skel);
	pc_maps_close(&maps);
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}
