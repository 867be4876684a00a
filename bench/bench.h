/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Shared pieces of the benchmark harness: test packets, statistics over
 * rounds, and the portcullis configuration every measurement uses.
 */
#ifndef PCBENCH_H
#define PCBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pcmaps.h"

#define MAX_ROUNDS 64
#define MAX_FRAME  1600

/* Addresses from the benchmarking ranges only: 198.18.0.0/15, 2001:2::/48. */
#define BENCH_SRC4 0xc6120001U /* 198.18.0.1, host order */
#define BENCH_DST4 0xc6120002U /* 198.18.0.2 */

/* Largest IPv4 source pool of bench/gen.bpf.c: 198.18.1.0 .. 198.19.255.255. */
#define GEN_IPV4_POOL_MAX 130816U

enum l4 { L4_TCP, L4_UDP };

/* What a test packet looks like; packet_build() turns it into a frame. */
struct packet_spec {
	int family; /* 4 or 6 */
	int vlan;   /* 1: one 802.1Q tag */
	enum l4 l4;
	__u16 dport;	 /* host order */
	__u8 tcp_flags;	 /* byte 13 of the TCP header */
	__u16 payload;	 /* bytes after the L4 header */
	__u8 dst_mac[6]; /* all zero: a fixed locally administered address */
	const char *src; /* source address; NULL: 198.18.0.1 or 2001:2::1 */
};

struct frame {
	__u8 data[MAX_FRAME];
	__u32 len;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/*
 * Build a frame. The IPv4 header checksum is right; the TCP/UDP checksum is
 * left zero on purpose: filters do not look at it, and a frame that gets
 * past a filter is then discarded by the receiver's TCP without a reply.
 */
void packet_build(struct frame *frame, const struct packet_spec *spec);

/* Median and spread of one series of per-round values. */
struct summary {
	double median, min, max;
};
struct summary summarize(const double *values, int n);
/* "12.3 (11.9-13.0)" */
const char *fmt_summary(char *buf, size_t size, struct summary s, int decimals);

/* The portcullis policy equivalent to xdp-filter's deny policy with the same ports. */
/*
 * The portcullis policy every measurement uses: mode enforce, scan-flags
 * drop, ICMP and fragments allowed, the given established mode and
 * scan-detect (on: 20 ports in 10 s, ban 10 m), udp 53 and either tcp
 * 22,80,443 (TCP_RANGE_HI == 0) or tcp 1..TCP_RANGE_HI for the scaling
 * curve. With established off and scan-detect off it is the equivalent of
 * xdp-filter's deny policy with the same ports; with socket and on, the
 * contract's defaults.
 */
int portcullis_configure(struct bpf_object *obj, __u32 established, bool scan_detect,
			 __u16 tcp_range_hi);
/*
 * The xdp-filter equivalent plus source lists, for the source classes: deny from
 * 198.19.0.0/17, 2001:2:0:ff00::/56 and 1,000 more /32s in 198.19.0.0/17;
 * allow from 198.19.200.0/24 (trusted); allow tcp 2222 from 198.19.201.0/24;
 * and a manual ban of 198.18.0.66. No list holds anything in 198.18.0.0/16,
 * so the lookup hint answers for sources there.
 */
int portcullis_configure_sources(struct bpf_object *obj);
/* The policies a build of the data path can be measured under. */
enum bench_policy {
	POLICY_XF,	 /* the xdp-filter equivalent: established off, scan-detect off */
	POLICY_DEFAULTS, /* the contract's defaults: established socket, scan-detect on */
	POLICY_SOURCES,	 /* the xdp-filter equivalent plus portcullis_configure_sources() */
	POLICY_SCAN,	 /* the xdp-filter equivalent plus scan-detect (the "+ scan-detect" column) */
};

/*
 * Another build of portcullis.bpf.o, loaded and configured with POLICY;
 * returns the program fd or negative errno. *OBJ is to be closed by the
 * caller either way.
 */
int load_candidate(const char *path, enum bench_policy policy, struct bpf_object **obj);
/* Sum of pc_map_memlock() over every map of OBJ. */
long long object_memlock(struct bpf_object *obj);

/* Options of the scaling curves: -r ROUNDS -n REPEAT -k CALLS -o DATA. */
struct curve_opts {
	int rounds, calls;
	__u32 repeat;
	const char *data_path;
};

int parse_curve_opts(int argc, char **argv, const char *name, struct curve_opts *o);

int bench_classes(int argc, char **argv);
int bench_scaling(int argc, char **argv);
int bench_live(int argc, char **argv);
int bench_prefixes(int argc, char **argv);
int bench_ab(int argc, char **argv);

/*
 * Per-packet run time of PROG_FD on FRAME as BPF_PROG_TEST_RUN measures it
 * (duration of REPEAT runs / REPEAT, kernel side, so the syscall's fixed
 * cost stays out), averaged over CALLS calls: the kernel reports whole
 * nanoseconds, and run-to-run jitter dithers the truncation away in the
 * average. Returns negative errno on failure; *RETVAL is the verdict.
 */
double test_run_ns(int prog_fd, const struct frame *frame, __u32 repeat, int calls, int *retval);

/* Pin to one CPU so that rounds do not migrate. */
void pin_cpu(int cpu);
double now_seconds(void);

#endif /* PCBENCH_H */
