/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sampled drop log ("log drops RATE", maps/portcullis.h): a record of a
 * dropped packet for at most log_drops_rate drops a second, the rest
 * counted. With logging off a drop pays one test of a flag in the config
 * word it has loaded already; the work is out of line, in pc_drop_log_emit().
 * Under PC_NO_SIDE_EFFECTS (the explain build) log_drop() is empty.
 */
#ifndef PORTCULLIS_DROPLOG_H
#define PORTCULLIS_DROPLOG_H

#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_drop_budget);
} pc_drop_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_DROP_STATS);
	__type(key, __u32);
	__type(value, __u64);
} pc_drop_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PC_DROPS_RING_BYTES);
} pc_drops SEC(".maps");

#define DROP_INFO_MONITOR (1U << 8) /* with the reason in the low byte */
#define DROP_L4_MAX	  1024	    /* no L4 header is looked for further in */

#ifndef PC_NO_SIDE_EFFECTS
static __always_inline void drop_stat(__u32 stat)
{
	__u64 *value = bpf_map_lookup_elem(&pc_drop_stats, &stat);

	if (value)
		(*value)++;
}

/* Past Ethernet and up to PC_MAX_VLAN tags: the L3 offset, 0 if the frame ends first. */
static __always_inline __u32 drop_l3(void *data, void *data_end, __be16 *proto)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return 0;
	*proto = eth->h_proto;
	for (int i = 0; i < PC_MAX_VLAN; i++) {
		struct vlan_hdr *vlan = data + off;

		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vlan + 1) > data_end)
			return 0;
		*proto = vlan->encap_proto;
		off += sizeof(*vlan);
	}
	return off;
}

/* Past IPv6 extension headers, as the parser walks them: the L4 offset, 0 if there is
 * none to read (a later fragment, a chain too long or cut short). */
static __always_inline __u32 drop_l4_v6(void *data, void *data_end, __u32 off, __u8 *proto)
{
	for (int i = 0; i < PC_IPV6_MAX_EXT; i++) {
		__u8 *ext;

		if (*proto != IPPROTO_HOPOPTS && *proto != IPPROTO_ROUTING &&
		    *proto != IPPROTO_DSTOPTS && *proto != IPPROTO_FRAGMENT && *proto != IPPROTO_AH)
			return off;
		if (off > DROP_L4_MAX)
			return 0;
		ext = data + off;
		if ((void *)(ext + 8) > data_end)
			return 0;
		if (*proto == IPPROTO_FRAGMENT) {
			if (((__u16)ext[2] << 8 | ext[3]) & IP6_OFFSET_MASK)
				return 0; /* a later fragment: no ports in it */
			off += 8;
		} else if (*proto == IPPROTO_AH) {
			off += ((__u32)ext[1] + 2) * 4;
		} else {
			off += ((__u32)ext[1] + 1) * 8;
		}
		*proto = ext[0];
	}
	return 0;
}

/*
 * The record's addresses, protocol, ports and flags, read from the frame
 * again: the caller hands over no pointer, so the verifier's view of the
 * verdict paths is not widened by the drop log. What the frame lacks (a
 * malformed packet's) stays 0.
 */
static __always_inline void drop_record_fill(struct pc_drop_record *rec, struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u32 off, l4_off = 0;
	__u8 proto = 0;
	__be16 eth_proto;
	__u8 *l4;

	off = drop_l3(data, data_end, &eth_proto);
	if (!off || off > 64)
		return;
	if (eth_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > data_end)
			return;
		rec->family = PC_SRC_FAMILY_V4;
		__builtin_memcpy(rec->saddr, &ip->saddr, 4);
		__builtin_memcpy(rec->daddr, &ip->daddr, 4);
		proto = ip->protocol;
		if (ip->ihl >= 5 && !(ip->frag_off & bpf_htons(IP_OFFSET_MASK)))
			l4_off = off + ip->ihl * 4;
	} else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > data_end)
			return;
		rec->family = PC_SRC_FAMILY_V6;
		__builtin_memcpy(rec->saddr, &ip6->saddr, 16);
		__builtin_memcpy(rec->daddr, &ip6->daddr, 16);
		proto = ip6->nexthdr;
		l4_off = drop_l4_v6(data, data_end, off + sizeof(*ip6), &proto);
	} else {
		return;
	}
	rec->l4_proto = proto;
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || !l4_off || l4_off > DROP_L4_MAX)
		return;
	l4 = data + l4_off;
	/* Both ports sit in the first four bytes of TCP and UDP alike. */
	if ((void *)(l4 + 4) > data_end)
		return;
	rec->sport = ((__u16 *)l4)[0];
	rec->dport = ((__u16 *)l4)[1];
	if (proto == IPPROTO_TCP && (void *)(l4 + 14) <= data_end)
		rec->tcp_flags = l4[13] & 0x3f;
}

/*
 * Within the rate: a record to pc_drops. Over it, or with the ring full: a
 * count. The rate (maps/portcullis.h, pc_drop_budget) is shared by every CPU
 * and claimed with a compare-and-swap, so racing CPUs never exceed it. A
 * global function: the verifier walks it once, not once per path to a drop.
 */
__noinline int pc_drop_log_emit(struct xdp_md *ctx, __u32 info, __u32 rate)
{
	__u32 zero = 0;
	struct pc_drop_budget *budget;
	struct pc_drop_record *rec;
	/* The coarse clock (a tick's resolution, well below the 0.1 s burst) is a
	 * fraction of the precise one's cost, paid by every drop over the rate. */
	__u64 now = bpf_ktime_get_coarse_ns(), due, next;

	if (!ctx || !rate)
		return 0;
	budget = bpf_map_lookup_elem(&pc_drop_budget, &zero);
	if (!budget)
		return 0;
	due = budget->next_ns;
	next = (due > now ? due : now) + 1000000000ULL / rate;
	if (due > now + PC_DROP_LOG_BURST_NS ||
	    __sync_val_compare_and_swap(&budget->next_ns, due, next) != due) {
		drop_stat(PC_DROP_STAT_SUPPRESSED);
		return 0;
	}
	rec = bpf_ringbuf_reserve(&pc_drops, sizeof(*rec), 0);
	if (!rec) {
		drop_stat(PC_DROP_STAT_SUPPRESSED);
		return 0;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->time_ns = bpf_ktime_get_ns();
	rec->len = ctx->data_end - ctx->data;
	rec->reason = info & 0xff;
	rec->monitor = (info & DROP_INFO_MONITOR) != 0;
	drop_record_fill(rec, ctx);
	bpf_ringbuf_submit(rec, 0);
	drop_stat(PC_DROP_STAT_LOGGED);
	return 1;
}
#endif

/*
 * A drop (REASON < PC_DROP_REASONS) to the drop log, if it is on. Only the
 * reason and the mode cross into pc_drop_log_emit(), which reads the rest from the
 * frame: a packet field read here would keep it alive on every verdict path
 * and double the verifier's work.
 */
static __always_inline void log_drop(struct xdp_md *ctx, const struct pc_config *cfg, int reason)
{
#if defined(PC_BENCH_LOG_DROPS) && !defined(PC_NO_SIDE_EFFECTS)
	/* bench/: the cost of logging at this rate, whatever the config says */
	pc_drop_log_emit(ctx, reason & 0xff, PC_BENCH_LOG_DROPS);
#elif !defined(PC_NO_SIDE_EFFECTS)
	if (cfg->flags & PC_CFG_LOG_DROPS)
		pc_drop_log_emit(ctx,
				 (reason & 0xff) |
					 (cfg->flags & PC_CFG_MONITOR ? DROP_INFO_MONITOR : 0),
				 cfg->log_drops_rate);
#endif
}

#endif /* PORTCULLIS_DROPLOG_H */
