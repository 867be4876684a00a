/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing for the XDP program: Ethernet, VLAN, IPv4, IPv6 with its
 * extension headers, and the first bytes of TCP, UDP and ICMP. Each step
 * either advances the cursor in struct packet and returns PC_UNDECIDED, or
 * returns the reason the packet is malformed; none of them decides a
 * verdict beyond that. The fast path's own parser (untagged_source(),
 * parse_untagged()) fills the same struct for the common shape only.
 */
#ifndef PORTCULLIS_PARSE_H
#define PORTCULLIS_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../maps/portcullis.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* linux/icmp.h drags in libc headers that do not build for -target bpf. */
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
/* Neighbour discovery, RFC 4861: router solicitation .. redirect. */
#define NDISC_ROUTER_SOLICITATION 133
#define NDISC_REDIRECT 137

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

#define IP_OFFSET_MASK 0x1FFF
#define IP6_OFFSET_MASK 0xFFF8

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* What the verdict steps need to know about a packet; filled by parse_*(). */
struct packet {
	void *data_end;
	void *l3;            /* IPv4 or IPv6 header */
	void *l4;            /* TCP/UDP/ICMP header, once parsed */
	__u32 len;           /* whole frame, for byte counters */
	__u32 l4_len;        /* bytes of L4 header + payload per the IP lengths */
	__be16 eth_proto;    /* after VLAN tags, network order */
	__u8 l4_proto;       /* IPPROTO_*, after IPv6 extension headers */
	__u8 non_first_frag; /* 1 for a fragment at offset > 0 */
	__u8 tcp_flags;      /* FIN..URG as in byte 13 of the TCP header */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 icmp_proto;     /* the family's ICMP: IPPROTO_ICMP or IPPROTO_ICMPV6 */
	__be16 sport;        /* network order */
	__be16 dport;        /* network order */
	__u32 src_flags;     /* PC_SRC_F_* of the source, once src_known */
	__u32 src_known;     /* 1 once the source lists were asked */
};

/*
 * IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) sources never
 * come off a wire honestly: a stack that has IPv4 sends IPv4. Their only use
 * is to look like an IPv4 host that IPv4 anti-spoofing would have stopped.
 * The unspecified address :: is no such source (DAD and MLD send from it),
 * nor is the loopback ::1 (the kernel refuses it from a wire itself).
 */
static __always_inline int ipv6_source_embeds_ipv4(const struct ipv6hdr *ip6)
{
	const __u32 *words = ip6->saddr.in6_u.u6_addr32;

	if (words[0] | words[1])
		return 0;
	if (words[2] == bpf_htonl(0xffff))
		return 1;
	return words[2] == 0 && bpf_ntohl(words[3]) > 1;
}

static __always_inline int parse_l2(struct xdp_md *ctx, struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct vlan_hdr *vlan;
	void *cursor;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > pkt->data_end)
		return PC_DROP_MALFORMED;
	proto = eth->h_proto;
	cursor = eth + 1;

#pragma unroll
	for (i = 0; i < PC_MAX_VLAN; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vlan = cursor;
		if ((void *)(vlan + 1) > pkt->data_end)
			return PC_DROP_MALFORMED;
		proto = vlan->encap_proto;
		cursor = vlan + 1;
	}
	/* A third tag would hide the payload from us but not from a nested
	 * VLAN device: refuse it rather than wave it through as "not IP". */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return PC_DROP_MALFORMED;

	pkt->eth_proto = proto;
	pkt->l3 = cursor;
	return PC_UNDECIDED;
}

/*
 * The fixed IPv4 or IPv6 header is in the frame: enough to read the source
 * for steps 2-4, which come before the header's lengths are judged (step 5).
 * A source that is no real address is judged first.
 */
static __always_inline int parse_l3_fixed(struct packet *pkt)
{
	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		if (pkt->l3 + sizeof(struct iphdr) > pkt->data_end)
			return PC_DROP_MALFORMED;
		return PC_UNDECIDED;
	}
	if (pkt->eth_proto == bpf_htons(ETH_P_IPV6)) {
		if (pkt->l3 + sizeof(struct ipv6hdr) > pkt->data_end)
			return PC_DROP_MALFORMED;
		/* Before steps 2-4: such a source is no address to look up. */
		if (ipv6_source_embeds_ipv4(pkt->l3))
			return PC_DROP_MALFORMED;
		return PC_UNDECIDED;
	}
	return PC_PASS_NOT_IP;
}

/* Fixed IPv4 header: its version and lengths sane. */
static __always_inline int parse_ipv4(struct packet *pkt)
{
	struct iphdr *ip = pkt->l3;
	__u32 hdr_len, tot_len;

	if ((void *)(ip + 1) > pkt->data_end)
		return PC_DROP_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PC_DROP_MALFORMED;
	hdr_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	/* Trailing padding (short frames) is fine, a length past the end is not. */
	if (tot_len < hdr_len || (void *)ip + tot_len > pkt->data_end)
		return PC_DROP_MALFORMED;

	pkt->l4_proto = ip->protocol;
	pkt->icmp_proto = IPPROTO_ICMP;
	pkt->l4 = (void *)ip + hdr_len;
	pkt->l4_len = tot_len - hdr_len;
	pkt->non_first_frag = (bpf_ntohs(ip->frag_off) & IP_OFFSET_MASK) != 0;
	return PC_UNDECIDED;
}

static __always_inline int ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT ||
	       nexthdr == IPPROTO_AH;
}

struct ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
	__be16 frag_off; /* fragment header only */
	__be32 rest;
};

/*
 * IPv6 with a bounded walk over extension headers. A chain longer than
 * PC_IPV6_MAX_EXT is malformed: a receiver that gives up early is exactly
 * what header-chain evasion exploits.
 */
static __always_inline int parse_ipv6(struct packet *pkt)
{
	struct ipv6hdr *ip6 = pkt->l3;
	struct ipv6_ext *ext;
	__u32 payload_len, ext_len;
	__u8 nexthdr;
	void *cursor;
	int i;

	if ((void *)(ip6 + 1) > pkt->data_end)
		return PC_DROP_MALFORMED;
	if (ip6->version != 6)
		return PC_DROP_MALFORMED;
	payload_len = bpf_ntohs(ip6->payload_len);
	if ((void *)(ip6 + 1) + payload_len > pkt->data_end)
		return PC_DROP_MALFORMED;

	nexthdr = ip6->nexthdr;
	cursor = ip6 + 1;

#pragma unroll
	for (i = 0; i < PC_IPV6_MAX_EXT; i++) {
		if (!ipv6_is_ext(nexthdr))
			break;
		ext = cursor;
		if ((void *)(ext + 1) > pkt->data_end || payload_len < sizeof(*ext))
			return PC_DROP_MALFORMED;
		if (nexthdr == IPPROTO_FRAGMENT) {
			ext_len = 8;
			if (bpf_ntohs(ext->frag_off) & IP6_OFFSET_MASK) {
				/* Later headers are in the first fragment only. */
				pkt->non_first_frag = 1;
				nexthdr = ext->nexthdr;
				payload_len -= ext_len;
				cursor += ext_len;
				break;
			}
		} else if (nexthdr == IPPROTO_AH) {
			ext_len = ((__u32)ext->hdrlen + 2) * 4;
		} else {
			ext_len = ((__u32)ext->hdrlen + 1) * 8;
		}
		if (ext_len > payload_len)
			return PC_DROP_MALFORMED;
		nexthdr = ext->nexthdr;
		payload_len -= ext_len;
		cursor += ext_len;
	}
	if (!pkt->non_first_frag && ipv6_is_ext(nexthdr))
		return PC_DROP_MALFORMED;

	pkt->l4_proto = nexthdr;
	pkt->icmp_proto = IPPROTO_ICMPV6;
	pkt->l4 = cursor;
	pkt->l4_len = payload_len;
	return PC_UNDECIDED;
}

/*
 * The L4 header must fit both in the frame and in what the IP header says the
 * payload is: a first fragment too short for its ports is malformed too.
 */
static __always_inline int parse_l4(struct packet *pkt)
{
	struct tcphdr *tcp;
	struct udphdr *udp;
	struct icmphdr *icmp;

	switch (pkt->l4_proto) {
	case IPPROTO_TCP:
		tcp = pkt->l4;
		if ((void *)(tcp + 1) > pkt->data_end || pkt->l4_len < sizeof(*tcp))
			return PC_DROP_MALFORMED;
		if (tcp->doff < 5 || tcp->doff * 4U > pkt->l4_len)
			return PC_DROP_MALFORMED;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13] & 0x3f;
		return PC_UNDECIDED;
	case IPPROTO_UDP:
		udp = pkt->l4;
		if ((void *)(udp + 1) > pkt->data_end || pkt->l4_len < sizeof(*udp))
			return PC_DROP_MALFORMED;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		return PC_UNDECIDED;
	}
	/* Only the family's own ICMP: ICMPv6 in IPv4 is just another protocol. */
	if (pkt->l4_proto == pkt->icmp_proto) {
		/* icmphdr and icmp6hdr share the type/code/checksum layout. */
		icmp = pkt->l4;
		if ((void *)(icmp + 1) > pkt->data_end || pkt->l4_len < sizeof(*icmp))
			return PC_DROP_MALFORMED;
		pkt->icmp_type = icmp->type;
		pkt->icmp_code = icmp->code;
	}
	return PC_UNDECIDED;
}

/*
 * The fast path's parser, in two halves around steps 2-4. The first: an
 * untagged IPv4 or IPv6 frame whose fixed header is in reach, i.e. what
 * parse_l2() and parse_l3_fixed() let through to the source checks without
 * a VLAN tag. 1 when it is one (data_end, l3, eth_proto filled), 0 when
 * decide() must judge the frame. An IPv6 source with 64 zero bits first is
 * left to decide() too: the IPv4-mapped and -compatible ones are malformed
 * before any list is asked.
 */
static __always_inline int untagged_source(struct xdp_md *ctx, struct packet *pkt)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	__be16 proto;

	if ((void *)(eth + 1) > pkt->data_end)
		return 0;
	proto = eth->h_proto;
	pkt->eth_proto = proto;
	pkt->l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_IP))
		return pkt->l3 + sizeof(struct iphdr) <= pkt->data_end;
	if (proto == bpf_htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = pkt->l3;

		return (void *)(ip6 + 1) <= pkt->data_end &&
		       (ip6->saddr.in6_u.u6_addr32[0] | ip6->saddr.in6_u.u6_addr32[1]);
	}
	return 0;
}

/*
 * The second half, after untagged_source(): IPv4 without options and not a
 * later fragment, or IPv6 without extension headers, carrying a TCP or UDP
 * header that fits the frame and the IP lengths. 1 with l4, l4_len,
 * l4_proto, icmp_proto, sport, dport and tcp_flags filled as parse_ipv4/6()
 * and parse_l4() would fill them; 0 for any other shape (decide() judges it,
 * malformed or not).
 */
static __always_inline int parse_untagged(struct packet *pkt)
{
	__u32 l4_len;
	void *l4;
	__u8 proto;

	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = pkt->l3;

		/* Version 4 and a 20-byte header; and not a later fragment. */
		if ((void *)(ip + 1) > pkt->data_end || *(__u8 *)ip != 0x45 ||
		    ip->frag_off & bpf_htons(IP_OFFSET_MASK))
			return 0;
		l4_len = bpf_ntohs(ip->tot_len);
		if (l4_len < sizeof(*ip) || (void *)ip + l4_len > pkt->data_end)
			return 0;
		l4_len -= sizeof(*ip);
		proto = ip->protocol;
		l4 = ip + 1;
		pkt->icmp_proto = IPPROTO_ICMP;
	} else {
		struct ipv6hdr *ip6 = pkt->l3;

		if ((void *)(ip6 + 1) > pkt->data_end || ip6->version != 6)
			return 0;
		l4_len = bpf_ntohs(ip6->payload_len);
		if ((void *)(ip6 + 1) + l4_len > pkt->data_end)
			return 0;
		proto = ip6->nexthdr;
		l4 = ip6 + 1;
		pkt->icmp_proto = IPPROTO_ICMPV6;
	}

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > pkt->data_end || l4_len < sizeof(*tcp) || tcp->doff < 5 ||
		    tcp->doff * 4U > l4_len)
			return 0;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13] & 0x3f;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > pkt->data_end || l4_len < sizeof(*udp))
			return 0;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
	} else {
		return 0;
	}
	pkt->l4 = l4;
	pkt->l4_len = l4_len;
	pkt->l4_proto = proto;
	return 1;
}

/*
 * The packet's whole source address into ADDR (16 bytes, IPv4 in the first
 * 4) and *FAMILY (PC_SRC_FAMILY_V4 or _V6): its length in bits, 0 when the
 * header is out of reach. For the source lists and prefix bans.
 */
static __always_inline __u32 source_address(const struct packet *pkt, __u8 *family, __u8 *addr)
{
	if (pkt->eth_proto == bpf_htons(ETH_P_IP)) {
		const struct iphdr *ip = pkt->l3;

		if ((void *)(ip + 1) > pkt->data_end)
			return 0;
		*family = PC_SRC_FAMILY_V4;
		__builtin_memcpy(addr, &ip->saddr, 4);
		return 32;
	}

	const struct ipv6hdr *ip6 = pkt->l3;

	if ((void *)(ip6 + 1) > pkt->data_end)
		return 0;
	*family = PC_SRC_FAMILY_V6;
	__builtin_memcpy(addr, &ip6->saddr, 16);
	return 128;
}

#endif /* PORTCULLIS_PARSE_H */
