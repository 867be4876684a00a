// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Test frames in the style of the kernel selftests: headers packed in order. */
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "bench.h"

static const __u8 default_dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const __u8 src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

static __u16 ipv4_checksum(const struct iphdr *ip)
{
	const __u16 *word = (const __u16 *)ip;
	__u32 sum = 0;

	for (int i = 0; i < ip->ihl * 2; i++)
		sum += word[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static size_t put_l4(__u8 *at, const struct packet_spec *spec)
{
	if (spec->l4 == L4_TCP) {
		struct tcphdr *tcp = (struct tcphdr *)at;

		tcp->source = htons(40000);
		tcp->dest = htons(spec->dport);
		tcp->seq = htonl(1);
		tcp->ack_seq = htonl(spec->tcp_flags & TCP_ACK ? 1 : 0);
		tcp->doff = sizeof(*tcp) / 4;
		at[13] = spec->tcp_flags;
		tcp->window = htons(64240);
		return sizeof(*tcp) + spec->payload;
	}

	struct udphdr *udp = (struct udphdr *)at;

	udp->source = htons(40000);
	udp->dest = htons(spec->dport);
	udp->len = htons(sizeof(*udp) + spec->payload);
	return sizeof(*udp) + spec->payload;
}

void packet_build(struct frame *frame, const struct packet_spec *spec)
{
	static const __u8 zero_mac[6];
	__u8 *at = frame->data;
	struct ethhdr *eth = (struct ethhdr *)at;
	__u16 l3_proto = spec->family == 4 ? ETH_P_IP : ETH_P_IPV6;
	__u8 ipproto = spec->l4 == L4_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	size_t l4_len;

	memset(frame, 0, sizeof(*frame));
	memcpy(eth->h_dest, memcmp(spec->dst_mac, zero_mac, 6) ? spec->dst_mac : default_dst_mac,
	       6);
	memcpy(eth->h_source, src_mac, 6);
	at += sizeof(*eth);
	if (spec->vlan) {
		eth->h_proto = htons(ETH_P_8021Q);
		*(__u16 *)at = htons(100);	      /* TCI: VLAN 100 */
		*(__u16 *)(at + 2) = htons(l3_proto); /* encapsulated protocol */
		at += 4;
	} else {
		eth->h_proto = htons(l3_proto);
	}

	if (spec->family == 4) {
		struct iphdr *ip = (struct iphdr *)at;

		l4_len = put_l4(at + sizeof(*ip), spec);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(*ip) + l4_len);
		ip->id = htons(1);
		ip->frag_off = htons(0x4000); /* DF */
		ip->ttl = 64;
		ip->protocol = ipproto;
		ip->saddr = htonl(BENCH_SRC4);
		if (spec->src)
			inet_pton(AF_INET, spec->src, &ip->saddr);
		ip->daddr = htonl(BENCH_DST4);
		ip->check = ipv4_checksum(ip);
		at += sizeof(*ip) + l4_len;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)at;

		l4_len = put_l4(at + sizeof(*ip6), spec);
		ip6->version = 6;
		ip6->payload_len = htons(l4_len);
		ip6->nexthdr = ipproto;
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, spec->src ? spec->src : "2001:2::1", &ip6->saddr);
		inet_pton(AF_INET6, "2001:2::2", &ip6->daddr);
		at += sizeof(*ip6) + l4_len;
	}
	frame->len = at - frame->data;
	if (frame->len < 60)
		frame->len = 60; /* Ethernet minimum; the IP length says what is padding */
}
