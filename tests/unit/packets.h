/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Crafted packets for BPF_PROG_TEST_RUN, in the style of the kernel BPF
 * selftests: packed structs of whole frames, const templates, and a copy
 * patched per case. Anything the templates cannot express (VLAN tags, IPv4
 * options, IPv6 extension headers, payload) is inserted into a struct frame
 * afterwards by helpers that keep the IP length fields consistent, so a case
 * only breaks the one thing it means to break.
 *
 * Addresses are from the documentation ranges (RFC 5737, RFC 3849); the
 * program ignores checksums, so they are left zero.
 */
#ifndef PORTCULLIS_TEST_PACKETS_H
#define PORTCULLIS_TEST_PACKETS_H

#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* linux/icmp.h pulls in linux/if.h, which clashes with libc: the few we need. */
#define ICMP_ECHOREPLY	  0
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED  4
#define ICMP_ECHO	  8
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_ECHO_REQ	  128

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TEST_SPORT 12345

struct icmp_hdr {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be32 rest; /* echo id/sequence, unused, or next-hop MTU */
};

struct ipv4_tcp_packet {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
} __attribute__((packed));

struct ipv4_udp_packet {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
} __attribute__((packed));

struct ipv4_icmp_packet {
	struct ethhdr eth;
	struct iphdr ip;
	struct icmp_hdr icmp;
} __attribute__((packed));

struct ipv6_tcp_packet {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct tcphdr tcp;
} __attribute__((packed));

struct ipv6_udp_packet {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct udphdr udp;
} __attribute__((packed));

struct ipv6_icmp_packet {
	struct ethhdr eth;
	struct ipv6hdr ip6;
	struct icmp_hdr icmp;
} __attribute__((packed));

/* ARP request, Ethernet/IPv4: the body is opaque to the program. */
struct arp_packet {
	struct ethhdr eth;
	__u8 arp[28];
} __attribute__((packed));

#define TEST_ETH .h_dest = {0x02, 0, 0, 0, 0, 0x01}, .h_source = {0x02, 0, 0, 0, 0, 0x02}

#define TEST_IPV4_SADDR 0xc000020a /* 192.0.2.10 */
#define TEST_IPV4_DADDR 0xc6336401 /* 198.51.100.1 */
/* 2001:db8::10 and 2001:db8::1 */
#define TEST_IPV6_SADDR                                                                            \
	{                                                                                          \
		.s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 }                                 \
	}
#define TEST_IPV6_DADDR                                                                            \
	{                                                                                          \
		.s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 }                                 \
	}

#define TEST_IPV4(proto, l4_len)                                                                   \
	{                                                                                          \
		.ihl = 5, .version = 4, .tot_len = __bpf_constant_htons(20 + (l4_len)), .ttl = 64, \
		.protocol = (proto), .saddr = __bpf_constant_htonl(TEST_IPV4_SADDR),               \
		.daddr = __bpf_constant_htonl(TEST_IPV4_DADDR),                                    \
	}

#define TEST_IPV6(next, l4_len)                                                                    \
	{                                                                                          \
		.version = 6, .payload_len = __bpf_constant_htons(l4_len), .nexthdr = (next),      \
		.hop_limit = 64, .saddr = TEST_IPV6_SADDR, .daddr = TEST_IPV6_DADDR,               \
	}

#define TEST_TCP                                                                                   \
	{                                                                                          \
		.source = __bpf_constant_htons(TEST_SPORT), .dest = __bpf_constant_htons(22),      \
		.seq = __bpf_constant_htonl(1), .doff = 5, .syn = 1,                               \
		.window = __bpf_constant_htons(64240),                                             \
	}

#define TEST_UDP(l4_len)                                                                           \
	{                                                                                          \
		.source = __bpf_constant_htons(TEST_SPORT), .dest = __bpf_constant_htons(53),      \
		.len = __bpf_constant_htons(l4_len),                                               \
	}

/* A SYN to TCP port 22. */
static const struct ipv4_tcp_packet pkt_v4_tcp = {
    .eth = {TEST_ETH, .h_proto = __bpf_constant_htons(ETH_P_IP)},
    .ip = TEST_IPV4(IPPROTO_TCP, sizeof(struct tcphdr)),
    .tcp = TEST_TCP,
};

/* An empty datagram to UDP port 53. */
static const struct ipv4_udp_packet pkt_v4_udp = {
    .eth = {TEST_ETH, .h_proto = __bpf_constant_htons(ETH_P_IP)},
    .ip = TEST_IPV4(IPPROTO_UDP, sizeof(struct udphdr)),
    .udp = TEST_UDP(sizeof(struct udphdr)),
};

/* An echo request. */
static const struct ipv4_icmp_packet pkt_v4_icmp = {
    .eth = {TEST_ETH, .h_proto = __bpf_constant_htons(ETH_P_IP)},
    .ip = TEST_IPV4(IPPROTO_ICMP, sizeof(struct icmp_hdr)),
    .icmp = {.type = ICMP_ECHO},
};

static const struct ipv6_tcp_packet pkt_v6_tcp = {
    .eth = {TEST_ETH, .h_proto = __bpf_constant_htons(ETH_P_IPV6)},
    .ip6 = TEST_IPV6(IPPROTO_TCP, sizeof(struct tcphdr)),
    .tcp = TEST_TCP,
};

static const struct ipv6_udp_packet pkt_v6_udp = {
    .eth = {TEST_ETH, .h_proto = __bpf_constant_htons(ETH_P_IPV6)},
    .ip6 = TEST_IPV6(IPPROTO_UDP, sizeof(struct udphdr)),
    .udp = TEST_UDP(sizeof(struct udphdr)),
};

static const struct ipv6_icmp_packet pkt_v6_icmp = {
    .eth = {TEST_ETH, .h_proto = __bpf_constant_htons(ETH_P_IPV6)},
    .ip6 = TEST_IPV6(IPPROTO_ICMPV6, sizeof(struct icmp_hdr)),
    .icmp = {.type = ICMPV6_ECHO_REQ},
};

/* Who has 198.51.100.1? Tell 192.0.2.10. */
static const struct arp_packet pkt_arp = {
    .eth = {.h_dest = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	    .h_source = {0x02, 0, 0, 0, 0, 0x02},
	    .h_proto = __bpf_constant_htons(ETH_P_ARP)},
    .arp = {0,	 1, 0x08, 0,  6, 4, 0, 1, 0x02, 0, 0,	0,  0,	 0x02,
	    192, 0, 2,	  10, 0, 0, 0, 0, 0,	0, 198, 51, 100, 1},
};

/* Set the TCP flag bits of a packed template's tcp member from a byte. */
#define TCP_SET_FLAGS(tcp, flags)                                                                  \
	do {                                                                                       \
		(tcp).fin = !!((flags)&TCP_FIN);                                                   \
		(tcp).syn = !!((flags)&TCP_SYN);                                                   \
		(tcp).rst = !!((flags)&TCP_RST);                                                   \
		(tcp).psh = !!((flags)&TCP_PSH);                                                   \
		(tcp).ack = !!((flags)&TCP_ACK);                                                   \
		(tcp).urg = !!((flags)&TCP_URG);                                                   \
		(tcp).ece = !!((flags)&TCP_ECE);                                                   \
		(tcp).cwr = !!((flags)&TCP_CWR);                                                   \
	} while (0)

/*
 * A frame under construction: bytes plus where its headers start, so that
 * later insertions land in the right place and fix the right lengths.
 */
#define FRAME_MAX 1024

struct frame {
	__u8 data[FRAME_MAX];
	__u32 len;
	__u32 l3;      /* offset of the IPv4/IPv6 header */
	__u32 l4;      /* offset of the L4 header, after options and extensions */
	__u32 nexthdr; /* IPv6: offset of the last Next Header byte of the chain */
	int family;    /* 4, 6, or 0 for not IP */
};

/* Start FRAME from a template whose IP header, if any, directly follows Ethernet. */
static inline void frame_from(struct frame *f, const void *tmpl, size_t size, int family)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->data, tmpl, size);
	f->len = size;
	f->family = family;
	f->l3 = sizeof(struct ethhdr);
	if (family == 4)
		f->l4 = f->l3 + sizeof(struct iphdr);
	else if (family == 6)
		f->l4 = f->l3 + sizeof(struct ipv6hdr);
	f->nexthdr = f->l3 + offsetof(struct ipv6hdr, nexthdr);
}

static inline __u16 frame_get16(const struct frame *f, __u32 off)
{
	return (__u16)(f->data[off] << 8 | f->data[off + 1]);
}

/* Store a host-order value in network order at OFF. */
static inline void frame_put16(struct frame *f, __u32 off, __u16 value)
{
	f->data[off] = value >> 8;
	f->data[off + 1] = value & 0xff;
}

/* Offsets of the length fields the helpers maintain. */
#define IPV4_TOT_LEN  offsetof(struct iphdr, tot_len)
#define IPV4_FRAG_OFF offsetof(struct iphdr, frag_off)
#define IPV6_PAYLOAD  offsetof(struct ipv6hdr, payload_len)

/* Add N to the IP length field that covers bytes after the IP header. */
static inline void frame_grow_ip(struct frame *f, int n)
{
	__u32 off = f->l3 + (f->family == 4 ? IPV4_TOT_LEN : IPV6_PAYLOAD);

	frame_put16(f, off, frame_get16(f, off) + n);
}

/* Insert N bytes at OFF; offsets of headers at or after OFF move along. */
static inline void frame_insert(struct frame *f, __u32 off, const void *bytes, __u32 n)
{
	memmove(f->data + off + n, f->data + off, f->len - off);
	memcpy(f->data + off, bytes, n);
	f->len += n;
	if (f->l3 >= off)
		f->l3 += n;
	if (f->l4 >= off)
		f->l4 += n;
	if (f->nexthdr >= off)
		f->nexthdr += n;
}

/* Push a VLAN tag in front of the current EtherType: push the inner tag first. */
static inline void frame_push_vlan(struct frame *f, __u16 tpid, __u16 vid)
{
	__u8 tag[4] = {tpid >> 8, tpid & 0xff, vid >> 8, vid & 0xff};

	frame_insert(f, offsetof(struct ethhdr, h_proto), tag, sizeof(tag));
}

/* IPv4 options: WORDS 4-byte words of NOPs, IHL and tot_len follow. */
static inline void frame_ipv4_options(struct frame *f, int words)
{
	__u8 nops[40];

	memset(nops, 1 /* IPOPT_NOOP */, sizeof(nops));
	frame_insert(f, f->l4, nops, words * 4);
	f->data[f->l3] = 0x40 | (5 + words);
	frame_grow_ip(f, words * 4);
}

/*
 * Append an IPv6 extension header of LEN bytes (a multiple of 8; 8 for the
 * fragment header) at the end of the chain, in front of the L4 header.
 * FRAG_OFF is the fragment header's offset/flags field, host order.
 */
static inline void frame_ipv6_ext(struct frame *f, __u8 type, __u32 len, __u16 frag_off)
{
	__u8 ext[256] = {};

	ext[0] = f->data[f->nexthdr];
	if (type == IPPROTO_FRAGMENT) {
		len = 8;
		ext[2] = frag_off >> 8;
		ext[3] = frag_off & 0xff;
		ext[7] = 0x2a; /* identification */
	} else if (type == IPPROTO_AH) {
		ext[1] = len / 4 - 2;
		ext[7] = 1; /* SPI */
	} else {
		ext[1] = len / 8 - 1;
		if (type != IPPROTO_ROUTING) {
			/* Hop-by-hop and destination options: one PadN filling the rest. */
			ext[2] = 1;
			ext[3] = len - 4;
		}
	}
	f->data[f->nexthdr] = type;
	frame_insert(f, f->l4, ext, len);
	f->nexthdr = f->l4 - len;
	frame_grow_ip(f, len);
}

static inline __u8 frame_l4_proto(const struct frame *f)
{
	if (f->family == 4)
		return f->data[f->l3 + offsetof(struct iphdr, protocol)];
	return f->data[f->nexthdr];
}

/* N bytes of L4 payload, counted in the IP (and UDP) length. */
static inline void frame_payload(struct frame *f, __u32 n)
{
	__u8 bytes[256];

	for (__u32 i = 0; i < n; i++)
		bytes[i] = 'a' + i % 26;
	frame_insert(f, f->len, bytes, n);
	frame_grow_ip(f, n);
	if (frame_l4_proto(f) == IPPROTO_UDP)
		frame_put16(f, f->l4 + offsetof(struct udphdr, len),
			    frame_get16(f, f->l4 + offsetof(struct udphdr, len)) + n);
}

#endif /* PORTCULLIS_TEST_PACKETS_H */
