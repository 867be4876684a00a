// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Traffic generator for the live-frames benchmark. BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs this on copies of one template frame
 * (Ethernet + IPv4 + TCP/UDP, no VLAN); each copy gets its own source
 * address (the low 16 bits of 198.18.0.0/16 cycle) and source port, with the
 * IPv4 checksum fixed up so the IP stack takes the frame, and goes out of
 * the sending veth (XDP_TX) to the filter on the peer. gen_only does the
 * same and drops the frame, so the generator's share can be subtracted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Frames sent so far: one CPU runs the generator, so no atomics. */
__u64 sequence = 0;

/*
 * Mixed traffic for load tests: each source address gets one of four kinds
 * of frame, by the low bits of its sequence number: a SYN to an allowed port
 * (80), a SYN to a closed one (8080), an Xmas probe to port 80, and a SYN to
 * a port that changes with every frame of that source (a scan, 1024..2023).
 */
const volatile __u8 mixed = 0;

#define TCP_FLAGS_OFFSET 13
#define FLAGS_SYN 0x02
#define FLAGS_XMAS 0x29 /* FIN + PSH + URG */

static __always_inline void mix_kind(__be16 *ports, void *data_end, __u64 seq)
{
	__u8 *flags = (__u8 *)ports + TCP_FLAGS_OFFSET;

	if ((void *)(flags + 1) > data_end)
		return;
	switch (seq & 3) {
	case 0:
		ports[1] = bpf_htons(80);
		*flags = FLAGS_SYN;
		break;
	case 1:
		ports[1] = bpf_htons(8080);
		*flags = FLAGS_SYN;
		break;
	case 2:
		ports[1] = bpf_htons(80);
		*flags = FLAGS_XMAS;
		break;
	default:
		ports[1] = bpf_htons(1024 + (__u16)(seq >> 16) % 1000);
		*flags = FLAGS_SYN;
		break;
	}
}

/* One's complement update of a 16-bit checksum for one changed word (RFC 1624). */
static __always_inline __u16 csum_replace(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32) new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Give the frame its own source address and port; 0, or -1 if it is not ours. */
static __always_inline int rewrite(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__be16 *ports = (void *)(ip + 1); /* TCP and UDP both start with sport, dport */
	__u16 *saddr_low;
	__u16 old, new;
	__u64 seq;

	if ((void *)(ports + 2) > data_end || ip->ihl != 5)
		return -1;
	seq = sequence++;

	saddr_low = (__u16 *)&ip->saddr + 1;
	old = *saddr_low;
	new = bpf_htons((__u16)seq | 1); /* never .0 */
	*saddr_low = new;
	ip->check = csum_replace(ip->check, old, new);
	ports[0] = bpf_htons(1024 + (__u16)(seq >> 4) % 60000);
	if (mixed)
		mix_kind(ports, data_end, seq);
	return 0;
}

SEC("xdp")
int gen_flood(struct xdp_md *ctx)
{
	return rewrite(ctx) ? XDP_ABORTED : XDP_TX;
}

/* The generator's own cost: the same work, then the frame is dropped unsent. */
SEC("xdp")
int gen_only(struct xdp_md *ctx)
{
	return rewrite(ctx) ? XDP_ABORTED : XDP_DROP;
}
