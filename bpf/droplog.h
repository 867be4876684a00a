/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sampled drop log ("log drops RATE", maps/portcullis.h): a record of a
 * dropped packet for at most log_drops_rate drops a second, the rest
 * counted. With logging off a drop pays one test of a flag in the config
 * word it has loaded already; the work is out of line, in drop_log_emit().
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

#ifndef PC_NO_SIDE_EFFECTS
static __always_inline void drop_stat(__u32 stat)
{
	__u64 *value = bpf_map_lookup_elem(&pc_drop_stats, &stat);

	if (value)
		(*value)++;
}

/* Addresses and ports, as far as the parse got: a malformed packet may lack them. */
static __always_inline void drop_record_fill(struct pc_drop_record *rec, const struct packet *pkt)
{
	const void *l4 = pkt->l4;

	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *ip = pkt->l3;

		if (ip && (void *)(ip + 1) <= pkt->data_end) {
			rec->family = PC_SRC_FAMILY_V4;
			__builtin_memcpy(rec->saddr, &ip->saddr, 4);
			__builtin_memcpy(rec->daddr, &ip->daddr, 4);
		}
	} else if (pkt->eth_proto == bpf_htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = pkt->l3;

		if (ip6 && (void *)(ip6 + 1) <= pkt->data_end) {
			rec->family = PC_SRC_FAMILY_V6;
			__builtin_memcpy(rec->saddr, &ip6->saddr, 16);
			__builtin_memcpy(rec->daddr, &ip6->daddr, 16);
		}
	}
	if (!rec->family)
		return;
	rec->l4_proto = pkt->l4_proto;
	/* A later fragment has no ports, only payload where they would be. */
	if (pkt->non_first_frag)
		return;
	/* Both ports sit in the first four bytes of TCP and UDP alike. */
	if ((pkt->l4_proto == IPPROTO_TCP || pkt->l4_proto == IPPROTO_UDP) && l4 &&
	    l4 + 4 <= pkt->data_end) {
		rec->sport = ((const __u16 *)l4)[0];
		rec->dport = ((const __u16 *)l4)[1];
		rec->tcp_flags = pkt->tcp_flags;
	}
}

/*
 * Within this second's budget: a record to pc_drops. Over it, or with the
 * ring full: a count. The budget is shared by every CPU; racing CPUs at the
 * turn of a second may send a record or two more than RATE.
 */
static __noinline void drop_log_emit(const struct packet *pkt, __u32 rate, __u32 reason,
				     __u32 monitor)
{
	__u32 zero = 0;
	struct pc_drop_budget *budget = bpf_map_lookup_elem(&pc_drop_budget, &zero);
	struct pc_drop_record *rec;
	__u64 second = bpf_ktime_get_coarse_ns() / 1000000000ULL;

	if (!budget)
		return;
	if (budget->second != second) {
		budget->second = second;
		budget->sent = 0;
	}
	if (budget->sent >= rate || __sync_fetch_and_add(&budget->sent, 1) >= rate) {
		drop_stat(PC_DROP_STAT_SUPPRESSED);
		return;
	}
	rec = bpf_ringbuf_reserve(&pc_drops, sizeof(*rec), 0);
	if (!rec) {
		drop_stat(PC_DROP_STAT_SUPPRESSED);
		return;
	}
	__builtin_memset(rec, 0, sizeof(*rec));
	rec->time_ns = bpf_ktime_get_ns();
	rec->len = pkt->len;
	rec->reason = reason;
	rec->monitor = monitor;
	drop_record_fill(rec, pkt);
	bpf_ringbuf_submit(rec, 0);
	drop_stat(PC_DROP_STAT_LOGGED);
}
#endif

/* A drop (REASON < PC_DROP_REASONS) to the drop log, if it is on. */
static __always_inline void log_drop(const struct packet *pkt, const struct pc_config *cfg,
				     int reason)
{
#ifndef PC_NO_SIDE_EFFECTS
	if (cfg->flags & PC_CFG_LOG_DROPS)
		drop_log_emit(pkt, cfg->log_drops_rate, reason, (cfg->flags & PC_CFG_MONITOR) != 0);
#endif
}

#endif /* PORTCULLIS_DROPLOG_H */
