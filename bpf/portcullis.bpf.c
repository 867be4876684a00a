// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portcullis: default-deny port filter on the XDP driver path.
 *
 * Every packet walks the verdict order of shared/interface.md once: parse,
 * source checks, header sanity, ICMP policy, scan flags, the port allowlist,
 * established traffic, default drop. The fast path for an allowed port is
 * the parse, one lookup in pc_ports and two per-CPU counters.
 */
#include "parse.h"
#include "droplog.h"
#include "scan.h"
#include "ratelimit.h"
#include "tcp_flags.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pc_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_RULE_SETS);
	__type(key, __u32);
	__type(value, struct pc_config);
} pc_config SEC(".maps");

/* Mappable, so stats and scrapes read 2 MiB of rules without 262,144 copies. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_RULE_SETS * PC_PORT_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pc_port_rule);
} pc_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct pc_counter);
} pc_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_PORT_SLOTS);
	__type(key, __u32);
	__type(value, struct pc_counter);
} pc_port_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_PASS_SLOTS);
	__type(key, __u32);
	__type(value, struct pc_counter);
} pc_port_pass SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_PASS_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} pc_pass_owner SEC(".maps");

/* Never read here: it keeps the loader's bookkeeping next to the rules. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_meta);
} pc_meta SEC(".maps");

/* One trie per rule set holds every source list (see maps/portcullis.h). */
struct pc_sources_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PC_MAX_SOURCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pc_source_key);
	__type(value, __u32);
} pc_sources_in0 SEC(".maps"), pc_sources_in1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, PC_RULE_SETS);
	__type(key, __u32);
	__array(values, struct pc_sources_trie);
} pc_sources SEC(".maps") = {
	.values = { &pc_sources_in0, &pc_sources_in1 },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_RULE_SETS);
	__type(key, __u32);
	__type(value, struct pc_source_hint);
} pc_source_hint SEC(".maps");

/* IPv4 deny/trust/exempt lists per /24: one read answers most sources (see maps/portcullis.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_RULE_SETS * PC_SOURCE24_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} pc_source24 SEC(".maps");

/*
 * The /24 table's answer for KEY's IPv4 source in SET's kind-SOURCE lists:
 * 1 with the source's flags in *FLAGS, or 0 when the trie must be asked.
 */
static __always_inline int source24_answer(__u32 set, const struct pc_source_key *key,
					   __u32 *flags)
{
	__u32 addr, index;
	__u64 *word, field;

	__builtin_memcpy(&addr, key->addr, 4);
	addr = bpf_ntohl(addr);
	index = pc_source24_word(set, addr);
	word = bpf_map_lookup_elem(&pc_source24, &index);
	if (!word)
		return 0;
	field = *word >> pc_source24_shift(addr);
	if (field & PC_SOURCE24_TRIE)
		return 0;
	*flags = field & PC_SOURCE24_DENY ? PC_SRC_F_DENY : 0;
	return 1;
}

/* Could any list of SET hold KEY's address? No means the trie need not be asked. */
static __always_inline int source_hinted(__u32 set, const struct pc_source_key *key)
{
	const struct pc_source_hint *hint = bpf_map_lookup_elem(&pc_source_hint, &set);
	__u32 bit = pc_source_hint_bit(key), index = (bit / 64) & (PC_SOURCE_HINT_BITS / 64 - 1);
	__u64 word;

	if (!hint)
		return 1;
	word = key->family == PC_SRC_FAMILY_V4 ? hint->v4[index] : hint->v6[index];
	return (word >> (bit & 63)) & 1;
}

/* The trie half of source_lookup(). */
static __always_inline __u32 source_find(const struct pc_source_key *key, __u32 set)
{
	__u32 *value;
	void *trie;

	trie = bpf_map_lookup_elem(&pc_sources, &set);
	if (!trie)
		return 0;
	value = bpf_map_lookup_elem(trie, key);
	return value ? *value : 0;
}

/* The same as a global function, which the verifier walks once rather than
 * at each place the general path checks a list. */
__noinline __u32 pc_source_find(const struct pc_source_key *key, __u32 set)
{
	struct pc_source_key copy;

	if (!key)
		return 0;
	copy = *key;
	return source_find(&copy, set);
}

/*
 * The value of the packet's source in list (KIND, LIST) of rule set SET, 0
 * when it is in none. Only called when the set has such a list, so packets
 * pay nothing for empty ones. (IPv4-mapped IPv6 sources were dropped before
 * any list is asked.) An IPv4 source's deny/trust/exempt flags come from
 * the /24 table unless it says to ask the trie; other lists and IPv6 go
 * to the trie only where the hint says it may hold a prefix. FAST (a
 * constant): the fast path inlines the trie
 * lookup, whose call and key copy would cost it about 8 ns; the general
 * path calls it.
 */
static __always_inline __u32 source_lookup(const struct packet *pkt, __u32 set, __u8 kind,
					   __u16 list, int fast)
{
	struct pc_source_key key = { .kind = kind, .list = list };
	__u32 bits = source_address(pkt, &key.family, key.addr);

	if (!bits)
		return 0;
	key.prefixlen = PC_SRC_KEY_HDR_BITS + bits;
	if (kind == PC_SRC_SOURCE && key.family == PC_SRC_FAMILY_V4) {
		__u32 flags;

		if (source24_answer(set, &key, &flags))
			return flags;
	} else if (!source_hinted(set, &key)) {
		return 0;
	}
	return fast ? source_find(&key, set) : pc_source_find(&key, set);
}

/*
 * The source's PC_SRC_F_* flags in the set's deny/trust/exempt lists, asked
 * once per packet at most, and only of a set that has such lists.
 */
static __always_inline __u32 source_flags(struct packet *pkt, const struct pc_config *cfg,
					  __u32 set, int fast)
{
	if (!pkt->src_known) {
		pkt->src_known = 1;
		pkt->src_flags = cfg->flags & (PC_CFG_HAVE_DENY | PC_CFG_HAVE_TRUST |
					       PC_CFG_HAVE_EXEMPT)
					 ? source_lookup(pkt, set, PC_SRC_SOURCE, 0, fast)
					 : 0;
	}
	return pkt->src_flags;
}

/* Exempt sources are never counted or banned by the scan detector. */
static __always_inline int source_exempt(struct packet *pkt, const struct pc_config *cfg,
					 __u32 set, int fast)
{
	return (cfg->flags & PC_CFG_HAVE_EXEMPT) &&
	       (source_flags(pkt, cfg, set, fast) & PC_SRC_F_EXEMPT);
}

/*
 * A SYN without ACK asks for a new connection: it is never a reply to one of
 * ours. A SYN+ACK answers our own connect() and must pass, or no outgoing TCP
 * connection would complete. (Simultaneous open, a SYN crossing ours, is the
 * one exception; it is given up for SYN floods that cost no socket lookup.)
 */
static __always_inline int opens_connection(__u8 l4_proto, __u8 tcp_flags)
{
	return l4_proto == IPPROTO_TCP && (tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) == PC_TCP_SYN;
}

/*
 * What a scanner sends and a conversation does not: a TCP SYN without ACK,
 * any UDP, and illegal flag combinations. A dropped reply (SYN+ACK, ACK,
 * RST) says nothing about its sender, who may be a peer of a NATed flow or
 * the victim of spoofing, so it never feeds the detector.
 */
static __always_inline int probes(__u8 l4_proto, __u8 tcp_flags)
{
	return l4_proto == IPPROTO_UDP || opens_connection(l4_proto, tcp_flags) ||
	       pc_tcp_flags_reason(tcp_flags) != PC_UNDECIDED;
}

/*
 * A denied probe to the scan detector, if it is on and the packet is a
 * probe. Exempt sources are never tracked or banned; the pre-filter asks
 * about the exemption only for a source that came back on another port, so
 * a flood of new sources never does. The explain build feeds nothing.
 */
static __always_inline void feed_detector(struct packet *pkt, const struct pc_config *cfg,
					  __u32 set, int fast)
{
#ifndef PC_NO_SIDE_EFFECTS
	struct scan_probe probe;

	if (!(cfg->flags & PC_CFG_SCAN_DETECT) || !probes(pkt->l4_proto, pkt->tcp_flags))
		return;
	if (scan_feed(pkt, cfg, &probe) && !source_exempt(pkt, cfg, set, fast))
		scan_track(&probe);
#endif
}

/*
 * Step 8's "limit" on an allowed port: 1 to drop the packet as rate-limited.
 * What opens something counts (a TCP SYN without ACK, any UDP packet), the
 * rest of a conversation never; exempt sources are never limited.
 */
static __always_inline int rate_limited(struct packet *pkt, const struct pc_config *cfg, __u32 set,
					const struct pc_port_rule *rule, int fast)
{
	if (!(rule->flags & PC_PORT_RATE_LIMITED))
		return 0;
	if (pkt->l4_proto != IPPROTO_UDP && !opens_connection(pkt->l4_proto, pkt->tcp_flags))
		return 0;
	return !source_exempt(pkt, cfg, set, fast) && rate_over(pkt, cfg, set, rule->limit, fast);
}

/* Is IP protocol PROTO opened by "allow proto"? */
static __always_inline int proto_allowed(const struct pc_config *cfg, __u8 proto)
{
	return (cfg->protos[(proto >> 6) & (PC_PROTO_WORDS - 1)] >> (proto & 63)) & 1;
}

#ifdef PC_NO_SIDE_EFFECTS
/* The explain build's own answer: the reason of the last verdict. Private to
 * that build, never pinned or shared with the attached program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_explain_result);
} pc_explain SEC(".maps");

static __always_inline void explain_note(int reason)
{
	__u32 zero = 0;
	struct pc_explain_result *out = bpf_map_lookup_elem(&pc_explain, &zero);

	if (out)
		out->reason = reason;
}
#else
static __always_inline void explain_note(int reason)
{
}
#endif

/* What the packet's fate is: drops drop, except in monitor mode. Every
 * verdict leaves through here. */
static __always_inline int xdp_action(int reason, int monitor)
{
	explain_note(reason);
	return reason < PC_DROP_REASONS && !monitor ? XDP_DROP : XDP_PASS;
}

/* The decision plus what the counters need to attribute it to a port. */
struct verdict {
	int reason;             /* enum pc_reason */
	int port_counted;       /* 1 when the verdict was made on the port */
	__u32 pass_slot;        /* pc_port_pass slot, for allowed ports */
};

static __always_inline void count(void *map, __u32 key, __u32 len)
{
#ifndef PC_NO_SIDE_EFFECTS
	struct pc_counter *counter = bpf_map_lookup_elem(map, &key);

	if (counter) {
		counter->packets++;
		counter->bytes += len;
	}
#endif
}

static __always_inline int l4_index(const struct packet *pkt)
{
	return pkt->l4_proto == IPPROTO_TCP ? PC_PROTO_TCP : PC_PROTO_UDP;
}

static __always_inline int is_icmp(const struct packet *pkt)
{
	return pkt->l4_proto == pkt->icmp_proto;
}

/*
 * ICMP that keeps the network working is never dropped: IPv6 neighbour
 * discovery (router/neighbour solicitation and advertisement, redirect),
 * and path MTU discovery on both families.
 */
static __always_inline int icmp_is_essential(const struct packet *pkt)
{
	if (pkt->l4_proto == IPPROTO_ICMP)
		return pkt->icmp_type == ICMP_DEST_UNREACH && pkt->icmp_code == ICMP_FRAG_NEEDED;
	return pkt->icmp_type == ICMPV6_PKT_TOOBIG ||
	       (pkt->icmp_type >= NDISC_ROUTER_SOLICITATION && pkt->icmp_type <= NDISC_REDIRECT);
}

/* The packet's addresses and ports as socket and conntrack lookups take
 * them. Returns the tuple's length, 0 if the headers are out of reach. */
static __always_inline __u32 lookup_tuple(const struct packet *pkt, struct bpf_sock_tuple *tuple)
{
	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *ip = pkt->l3;

		/* Checked by the parser already; the verifier forgets by now. */
		if ((void *)(ip + 1) > pkt->data_end)
			return 0;
		tuple->ipv4.saddr = ip->saddr;
		tuple->ipv4.daddr = ip->daddr;
		tuple->ipv4.sport = pkt->sport;
		tuple->ipv4.dport = pkt->dport;
		return sizeof(tuple->ipv4);
	}

	const struct ipv6hdr *ip6 = pkt->l3;

	if ((void *)(ip6 + 1) > pkt->data_end)
		return 0;
	__builtin_memcpy(tuple->ipv6.saddr, &ip6->saddr, sizeof(tuple->ipv6.saddr));
	__builtin_memcpy(tuple->ipv6.daddr, &ip6->daddr, sizeof(tuple->ipv6.daddr));
	tuple->ipv6.sport = pkt->sport;
	tuple->ipv6.dport = pkt->dport;
	return sizeof(tuple->ipv6);
}

/*
 * Does the packet belong to one of this host's own conversations? A TCP
 * socket that is not listening (established, SYN-SENT, TIME-WAIT, ...) or a
 * UDP socket connected to this very peer.
 */
static __always_inline int socket_owns(struct xdp_md *ctx, const struct packet *pkt,
				       struct bpf_sock_tuple *tuple, __u32 tuple_len)
{
	struct bpf_sock *sk;
	int owned;

	if (pkt->l4_proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(ctx, tuple, tuple_len, BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return 0;
		owned = sk->state != BPF_TCP_LISTEN;
	} else {
		sk = bpf_sk_lookup_udp(ctx, tuple, tuple_len, BPF_F_CURRENT_NETNS, 0);
		if (!sk)
			return 0;
		/* An unconnected socket matches any peer: that is a listener. */
		owned = sk->dst_port != 0;
	}
	bpf_sk_release(sk);
	return owned;
}

/*
 * nf_conntrack's XDP lookup (net/netfilter/nf_conntrack_bpf.c). Weak: on a
 * kernel without it, or with nf_conntrack a module not loaded at attach,
 * libbpf leaves the address 0, bpf_ksym_exists() says so and the verifier
 * drops the call: the program loads and answers from sockets only.
 */
/* Never read here. A body, not a forward declaration: libbpf matches the
 * kfunc prototypes against the kernel's, and a FWD is not a STRUCT. */
struct nf_conn {
	__u64 opaque;
};

struct bpf_ct_opts___local {
	__s32 netns_id; /* -1: the namespace of the receiving interface */
	__s32 error;    /* out: -errno of a failed lookup */
	__u8 l4proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 dir;       /* out: IP_CT_DIR_* the tuple matched */
	__u8 reserved[2];
};

/* The size every kernel with the kfunc takes (5.18+); 6.8 added a 16-byte
 * form with a conntrack zone, which the default zone does not need. */
#define PC_CT_OPTS_SIZE 12
_Static_assert(sizeof(struct bpf_ct_opts___local) == PC_CT_OPTS_SIZE, "bpf_ct_opts");

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
					 __u32 tuple_len, struct bpf_ct_opts___local *opts,
					 __u32 opts_len) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

#ifndef bpf_ksym_exists /* libbpf < 1.2 */
#define bpf_ksym_exists(sym) (!!(sym))
#endif

/*
 * Does the kernel's connection tracker know the flow? Forwarded and NATed
 * flows (containers behind masquerade: the reply remote:443 -> host:NATPORT)
 * have no local socket but an entry, matched in either direction.
 */
static __always_inline int conntrack_owns(struct xdp_md *ctx, const struct packet *pkt,
					  struct bpf_sock_tuple *tuple, __u32 tuple_len)
{
	struct bpf_ct_opts___local opts = {
		.netns_id = -1,
		.l4proto = pkt->l4_proto,
	};
	struct nf_conn *ct;

	if (!bpf_ksym_exists(bpf_xdp_ct_lookup) || !bpf_ksym_exists(bpf_ct_release))
		return 0;
	ct = bpf_xdp_ct_lookup(ctx, tuple, tuple_len, &opts, PC_CT_OPTS_SIZE);
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

/* Step 9 of `established socket`: a local socket first, the cheaper and
 * more common answer, then the connection tracker. */
static __always_inline int connection_owns(struct xdp_md *ctx, const struct packet *pkt)
{
	struct bpf_sock_tuple tuple = {};
	__u32 tuple_len = lookup_tuple(pkt, &tuple);

	if (!tuple_len)
		return 0;
	return socket_owns(ctx, pkt, &tuple, tuple_len) ||
	       conntrack_owns(ctx, pkt, &tuple, tuple_len);
}

/* Without socket lookups, a reply is anything to the local port range that
 * does not open a connection. */
static __always_inline int ephemeral_owns(const struct packet *pkt, const struct pc_config *cfg)
{
	__u16 port = bpf_ntohs(pkt->dport);

	return port >= cfg->ephemeral_lo && port <= cfg->ephemeral_hi;
}

/* Steps 8-10 on the port's RULE (none: closed): the allowlist, then
 * established traffic, then default drop. */
static __always_inline void rule_verdict(struct xdp_md *ctx, struct packet *pkt,
					 const struct pc_config *cfg, __u32 set,
					 const struct pc_port_rule *rule, struct verdict *v, int fast)
{
	if (rule && (rule->flags & PC_PORT_ALLOWED)) {
		v->port_counted = 1;
		if (rate_limited(pkt, cfg, set, rule, fast)) {
			v->reason = PC_DROP_RATE_LIMITED;
			return;
		}
		v->reason = PC_PASS_ALLOWED;
		v->pass_slot = rule->pass_slot;
		return;
	}
	/* Step 8 for a port open to some sources only: this decides, established
	 * or not, so a port closed to a source stays closed to it. */
	if (rule && (rule->flags & PC_PORT_SOURCE_LIMITED)) {
		v->port_counted = 1;
		if (source_lookup(pkt, set, PC_SRC_PORT, rule->source_list, fast)) {
			v->reason = PC_PASS_ALLOWED;
			v->pass_slot = rule->pass_slot;
		} else {
			v->reason = PC_DROP_SOURCE_NOT_ALLOWED;
		}
		return;
	}

	switch (opens_connection(pkt->l4_proto, pkt->tcp_flags) ? PC_ESTABLISHED_OFF
								 : cfg->established) {
	case PC_ESTABLISHED_SOCKET:
		/* Sockets or conntrack: both count as `established`. */
		if (connection_owns(ctx, pkt)) {
			v->reason = PC_PASS_ESTABLISHED;
			return;
		}
		break;
	case PC_ESTABLISHED_EPHEMERAL:
		if (ephemeral_owns(pkt, cfg)) {
			v->reason = PC_PASS_ESTABLISHED;
			return;
		}
		break;
	}

	v->port_counted = 1;
	v->reason = PC_DROP_NOT_ALLOWED;
}

static __always_inline void port_verdict(struct xdp_md *ctx, struct packet *pkt,
					 const struct pc_config *cfg, __u32 set,
					 struct verdict *v)
{
	__u32 key = pc_port_key(set, l4_index(pkt), pkt->dport);

	rule_verdict(ctx, pkt, cfg, set, bpf_map_lookup_elem(&pc_ports, &key), v, 0);
}

/*
 * Feeds the scan detector, counts the verdict and turns it into the XDP
 * action. Step 10's and step 7's drops are what a scanner leaves behind.
 */
static __always_inline int finish(struct xdp_md *ctx, struct packet *pkt,
				  const struct pc_config *cfg, __u32 set, const struct verdict *v,
				  int fast)
{
	int monitor = (cfg->flags & PC_CFG_MONITOR) != 0;

	if (v->reason == PC_DROP_NOT_ALLOWED ||
	    (v->reason >= PC_DROP_SCAN_NULL && v->reason <= PC_DROP_SCAN_OTHER))
		feed_detector(pkt, cfg, set, fast);
	if (v->reason < PC_DROP_REASONS)
		log_drop(ctx, cfg, v->reason);

	/* An allowed port's pass slot is the reason's count (fast_path). */
	if (v->reason != PC_PASS_ALLOWED)
		count(&pc_reasons, monitor * PC_REASONS + v->reason, pkt->len);
	if (v->port_counted) {
		if (v->reason == PC_PASS_ALLOWED)
			count(&pc_port_pass, v->pass_slot, pkt->len);
		else
			count(&pc_port_drops, pc_port_counter_key(l4_index(pkt), pkt->dport),
			      pkt->len);
	}
	return xdp_action(v->reason, monitor);
}

/*
 * Steps 2-4, on the source alone: its reason (denied, trusted, banned), or
 * PC_UNDECIDED to go on. Deny and trust take one lookup for both lists. FAST:
 * called from the fast path (see source_lookup).
 */
static __always_inline int source_steps(struct packet *pkt, const struct pc_config *cfg,
					__u32 set, int fast)
{
	int ban;

	if (cfg->flags & (PC_CFG_HAVE_DENY | PC_CFG_HAVE_TRUST)) {
		__u32 listed = source_flags(pkt, cfg, set, fast);

		if (listed & PC_SRC_F_DENY)
			return PC_DROP_DENIED_SOURCE;
		if (listed & PC_SRC_F_TRUST)
			return PC_PASS_TRUSTED;
	}
	/* A scan ban does not hold an exempt source: an IPv6 neighbour in its
	 * /64, or a ban made before the source was exempted. */
	ban = source_ban(pkt, cfg, fast);
	if (ban && !(ban == PC_BAN_SCAN && source_exempt(pkt, cfg, set, fast)))
		return PC_DROP_BANNED;
	return PC_UNDECIDED;
}

static __always_inline void decide(struct xdp_md *ctx, struct packet *pkt,
				   const struct pc_config *cfg, __u32 set, struct verdict *v)
{
	int ret;

	/* Step 1: only IP is ours to judge, and only once its source is in the frame. */
	ret = parse_l2(ctx, pkt);
	if (ret == PC_UNDECIDED)
		ret = parse_l3_fixed(pkt);
	if (ret != PC_UNDECIDED) {
		v->reason = ret;
		return;
	}

	/* Steps 2-4 */
	ret = source_steps(pkt, cfg, set, 0);
	if (ret != PC_UNDECIDED) {
		v->reason = ret;
		return;
	}

	/* Step 5: the IP header's lengths and extension chain, after the source
	 * checks so that a denied or trusted source is judged as such even when
	 * its packet is malformed. */
	if (pkt->eth_proto == bpf_htons(ETH_P_IP))
		ret = parse_ipv4(pkt);
	else
		ret = parse_ipv6(pkt);
	if (ret != PC_UNDECIDED) {
		v->reason = ret;
		return;
	}
	/* Non-first fragments carry no ports to judge. */
	if (pkt->non_first_frag) {
		v->reason = cfg->flags & PC_CFG_FRAG_DENY ? PC_DROP_FRAGMENT : PC_PASS_FRAGMENT;
		return;
	}
	ret = parse_l4(pkt);
	if (ret != PC_UNDECIDED) {
		v->reason = ret;
		return;
	}

	/* Step 6 */
	if (is_icmp(pkt)) {
		if (icmp_is_essential(pkt))
			v->reason = PC_PASS_ICMP_ESSENTIAL;
		else
			v->reason = cfg->flags & PC_CFG_ICMP_DENY ? PC_DROP_ICMP : PC_PASS_ICMP;
		return;
	}
	if (pkt->l4_proto != IPPROTO_TCP && pkt->l4_proto != IPPROTO_UDP) {
		v->reason = proto_allowed(cfg, pkt->l4_proto) ? PC_PASS_OTHER_PROTO
							       : PC_DROP_PROTOCOL;
		return;
	}

	/* Step 7 */
	if (pkt->l4_proto == IPPROTO_TCP && !(cfg->flags & PC_CFG_SCAN_PASS)) {
		ret = pc_tcp_flags_reason(pkt->tcp_flags);
		if (ret != PC_UNDECIDED) {
			v->reason = ret;
			v->port_counted = 1;
			return;
		}
	}

	port_verdict(ctx, pkt, cfg, set, v);
}

/*
 * The fast path: what a filter mostly sees, an untagged IPv4 (no options) or
 * IPv6 (no extension headers) TCP or UDP packet. For such a packet it checks
 * what decide() would check in decide()'s order, reaches the same verdict
 * (source lists, bans, source-limited ports and established-ephemeral
 * included), and leaves through finish() as decide() does; for anything
 * else, and for a scan flag or a socket lookup, it returns PC_UNDECIDED and
 * leaves the packet to decide().
 * tests/unit/test_differential holds the two paths to one model.
 */
static __always_inline int fast_path(struct xdp_md *ctx, const struct pc_config *cfg, __u32 set,
				     __u32 len)
{
	/* Its own packet, not decide()'s: clang keeps its fields in registers,
	 * which saves the hot paths about 5 ns. */
	struct packet fast = { .data_end = (void *)(long)ctx->data_end, .len = len };
	struct packet *pkt = &fast;
	const struct pc_port_rule *rule;
	struct verdict v = {};
	int allowed, limited, rate_counted, reply;
	__u32 key;

	if (!untagged_source(ctx, pkt))
		return PC_UNDECIDED;

	/* Steps 2-4 on the fixed header alone, as decide() asks them before
	 * step 5: a banned source that keeps sending is dropped before its L4
	 * header is read. Without lists or bans there is nothing to ask. */
	if (cfg->flags & (PC_CFG_HAVE_DENY | PC_CFG_HAVE_TRUST) || bans_in_force()) {
		v.reason = source_steps(pkt, cfg, set, 1);
		if (v.reason != PC_UNDECIDED)
			return finish(ctx, pkt, cfg, set, &v, 1);
	}

	if (!parse_untagged(pkt))
		return PC_UNDECIDED;
	if (pkt->l4_proto == IPPROTO_TCP && !(cfg->flags & PC_CFG_SCAN_PASS) &&
	    pc_tcp_flags_reason(pkt->tcp_flags) != PC_UNDECIDED)
		return PC_UNDECIDED;

	key = pc_port_key(set, l4_index(pkt), pkt->dport);
	rule = bpf_map_lookup_elem(&pc_ports, &key);
	if (!rule)
		return PC_UNDECIDED;
	allowed = rule->flags & PC_PORT_ALLOWED;
	limited = rule->flags & PC_PORT_SOURCE_LIMITED;
	/* An allowed port with a "limit", to a packet its bucket counts. */
	rate_counted = allowed && (rule->flags & PC_PORT_RATE_LIMITED) &&
		       (pkt->l4_proto == IPPROTO_UDP ||
			opens_connection(pkt->l4_proto, pkt->tcp_flags));
	/* A packet to a closed port that may answer one of ours: only a
	 * socket lookup goes to decide(), which costs more than the general
	 * parse it comes with. */
	reply = !allowed && !limited && cfg->established != PC_ESTABLISHED_OFF &&
		!opens_connection(pkt->l4_proto, pkt->tcp_flags);
	if (reply && cfg->established == PC_ESTABLISHED_SOCKET)
		return PC_UNDECIDED;

	/* A source-limited or rate-limited port, or maybe a reply (established
	 * ephemeral). */
	if (limited || rate_counted || reply) {
		rule_verdict(ctx, pkt, cfg, set, rule, &v, 1);
		return finish(ctx, pkt, cfg, set, &v, 1);
	}
	/* Steps 8 and 10 spelt out, each with its own finish() on a constant
	 * verdict, which clang folds to the counter it needs: these are
	 * normal traffic's and a flood's paths. */
	v.port_counted = 1;
	if (allowed) {
		v.reason = PC_PASS_ALLOWED;
		v.pass_slot = rule->pass_slot;
		return finish(ctx, pkt, cfg, set, &v, 1);
	}
	v.reason = PC_DROP_NOT_ALLOWED;
	return finish(ctx, pkt, cfg, set, &v, 1);
}

/*
 * Safe rollout: a rule set applied with --confirm is in force until its
 * deadline; after it the other set is (the rules from before the change),
 * whether or not any process is left to take the change back. Called only
 * while a deadline is pending, so only then is the clock read.
 */
static __always_inline struct pc_config *rollout_config(struct pc_config *cfg, __u32 *set)
{
	__u32 previous = *set ^ 1;

	if (now_ns() < cfg->confirm_deadline_ns)
		return cfg;
	*set = previous;
	return bpf_map_lookup_elem(&pc_config, &previous);
}

SEC("xdp")
int portcullis_xdp(struct xdp_md *ctx)
{
	struct packet pkt = {};
	struct verdict v = {};
	struct pc_config *cfg;
	__u32 zero = 0, set, *active;
	int ret;
	__u64 len;

	pkt.data_end = (void *)(long)ctx->data_end;
	len = pkt.data_end - (void *)(long)ctx->data;
	/* Make clang keep the length as a 64-bit scalar: left to itself it
	 * spills the data pointer in 32 bits, which the verifier refuses. */
	asm volatile("" : "+r"(len));
	pkt.len = len;

	active = bpf_map_lookup_elem(&pc_active, &zero);
	if (!active)
		return XDP_ABORTED;
	set = *active & 1;
	cfg = bpf_map_lookup_elem(&pc_config, &set);
	if (!cfg)
		return XDP_ABORTED;
	if (cfg->flags & PC_CFG_CONFIRM_PENDING) {
		cfg = rollout_config(cfg, &set);
		if (!cfg)
			return XDP_ABORTED;
		/* Rolled back past an attach: as if nothing were attached. */
		if (cfg->flags & PC_CFG_UNFILTERED)
			return XDP_PASS;
	}

#ifndef PC_NO_SIDE_EFFECTS
	/* explain judges by decide() alone: the fast path only reaches the same
	 * verdict sooner (test_differential), and leaving it out keeps that
	 * build within the verifier's budget. So explain's answer, checked
	 * against the attached program's on every test_verdict row, also
	 * cross-checks the two paths. */
	ret = fast_path(ctx, cfg, set, pkt.len);
	if (ret != PC_UNDECIDED)
		return ret;
#else
	(void)ret;
#endif

	decide(ctx, &pkt, cfg, set, &v);
	return finish(ctx, &pkt, cfg, set, &v, 0);
}
