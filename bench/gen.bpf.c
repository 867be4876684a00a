// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Traffic generator for the live-frames benchmark. BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs this on copies of one template frame
 * (Ethernet + IPv4 or IPv6 + TCP/UDP, no VLAN); each copy gets its own source
 * address and source port and goes out of the sending veth (XDP_TX) to the
 * filter on the peer. IPv4 sources cycle through the low 16 bits of
 * 198.18.0.0/16, with the header checksum fixed up so the IP stack takes the
 * frame. With n_sources set, a pool of that many sources takes turns
 * instead, and each pass over the pool probes the next destination port: a
 * spoofed flood, or a distributed scan, from n_sources addresses. gen_only
 * does the same and drops the frame, so the generator's share can be
 * subtracted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
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

/*
 * Size of the source pool, 0 for the 16-bit IPv4 cycle. IPv6 templates take
 * the pool's addresses from 2001:2::/96 (the benchmarking range), IPv4 ones
 * from 198.18.1.0 to the end of 198.18.0.0/15, so IPv4 pools stop at 130,816
 * (GEN_IPV4_POOL_MAX; pcbench live checks).
 */
const volatile __u32 n_sources = 0;

#define IPV4_POOL_BASE 0xc6120100U /* 198.18.1.0; bench.h's GEN_IPV4_POOL_MAX fits */

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

/* The pool member for frame SEQ, spread over the address bits: a bijection
 * of 0..n_sources-1, so the pool holds exactly n_sources addresses. */
static __always_inline __u32 pool_member(__u64 seq)
{
	return (__u32)(seq % n_sources) * 0x9e3779b1U;
}

static __always_inline int rewrite_ipv6(struct ethhdr *eth, void *data_end, __u64 seq)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	__be16 *ports = (void *)(ip6 + 1);

	if ((void *)(ports + 2) > data_end)
		return -1;
	/* No header checksum in IPv6; 2001:2::/48 leaves 80 bits to vary. */
	ip6->saddr.in6_u.u6_addr32[3] = bpf_htonl(n_sources ? pool_member(seq) : (__u32)seq);
	ports[0] = bpf_htons(1024 + (__u16)(seq >> 4) % 60000);
	return 0;
}

/* Give the frame its own source address and port; 0, or -1 if it is not ours. */
static __always_inline int rewrite(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__be16 *ports = (void *)(ip + 1); /* TCP and UDP both start with sport, dport */
	__u32 *saddr = &ip->saddr;
	__u32 old, new;
	__u64 seq;
	int err;

	if ((void *)(eth + 1) > data_end)
		return -1;
	seq = sequence++;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		err = rewrite_ipv6(eth, data_end, seq);
		ports = (void *)eth + sizeof(*eth) + sizeof(struct ipv6hdr);
	} else {
		if ((void *)(ports + 2) > data_end || ip->ihl != 5)
			return -1;
		/* A pool from 198.18.1.0 up, clear of the two veths' addresses. */
		old = *saddr;
		if (n_sources)
			new = bpf_htonl(IPV4_POOL_BASE + (__u32)(seq % n_sources));
		else
			new = (old & bpf_htonl(0xffff0000)) | bpf_htonl((__u16)seq | 1);
		*saddr = new;
		ip->check = csum_replace(ip->check, old >> 16, new >> 16);
		ip->check = csum_replace(ip->check, old & 0xffff, new & 0xffff);
		ports[0] = bpf_htons(1024 + (__u16)(seq >> 4) % 60000);
		err = 0;
	}
	if (err || (void *)(ports + 2) > data_end)
		return -1;
	if (n_sources)
		ports[1] = bpf_htons(bpf_ntohs(ports[1]) + (__u16)((seq / n_sources) % 1000));
	else if (mixed)
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
