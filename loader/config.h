/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The config file grammar of shared/interface.md, parsed into a struct
 * pc_ruleset that loader/apply.c turns into map contents. Parsing never
 * touches bpffs; every error is one "FILE:LINE: message" and nothing of a
 * failed parse is kept.
 *
 * The token parsers (ports, protocol, duration, address/prefix, source
 * lists) are shared with the command line, so "allow eth0 tcp 80,443" and
 * "allow tcp 80,443" accept exactly the same words.
 */
#ifndef PORTCULLIS_CONFIG_H
#define PORTCULLIS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "../maps/pcmaps.h"

#define PC_CONFIG_DEFAULT_PATH "/etc/portcullis/portcullis.conf"
#define PC_CONFIG_MAX_LINE 4096 /* longer lines are an error, not truncated */

/* An IPv4 or IPv6 address with a prefix length; host bits are zero. */
struct pc_prefix {
	__u8 family;   /* AF_INET or AF_INET6 */
	__u8 len;      /* 0..32 or 0..128 */
	__u8 addr[16]; /* network order; IPv4 uses the first 4 bytes */
};

struct pc_prefix_list {
	struct pc_prefix *items;
	size_t count;
	size_t cap;
};

/* One "allow PROTO PORTS [from SOURCES]" range (a comma list becomes several). */
struct pc_allow {
	enum pc_proto proto;
	__u16 lo, hi;                  /* host order, inclusive, 1..65535 */
	struct pc_prefix_list sources; /* empty: every source */
	int line;                      /* where it was written, for messages */
};

/*
 * crowdsec url URL key @FILE [poll DURATION] and crowdsec push @FILE: what
 * 'run' does with a CrowdSec Local API (loader/crowdsec.c). Files are kept
 * as paths (relative ones resolved against the config's directory) and
 * read by run: the key and the password never sit in the ruleset.
 */
#define PC_CROWDSEC_TEXT_MAX 512
#define PC_CROWDSEC_POLL_DEFAULT_NS (10ULL * 1000000000ULL)

struct pc_crowdsec_config {
	char url[PC_CROWDSEC_TEXT_MAX];       /* "": no bouncer */
	char key_file[PC_CROWDSEC_TEXT_MAX];  /* the bouncer's API key, first line */
	__u64 poll_ns;                        /* decision stream poll interval */
	char push_file[PC_CROWDSEC_TEXT_MAX]; /* cscli machine credentials; "": no push */
};

/*
 * One port range of a "limit PROTO PORTS rate N/DURATION [burst M]" line.
 * The ranges of one line share their sources' buckets: LINE tells them apart.
 */
struct pc_limit_rule {
	enum pc_proto proto;
	__u16 lo, hi;   /* host order, inclusive; every port allowed to every source */
	__u32 rate;     /* N tokens ... */
	__u64 per_ns;   /* ... per DURATION */
	__u32 burst;    /* M, at most this many tokens; N when not given */
	int line;
};

struct pc_ruleset {
	enum pc_mode mode;
	bool scan_flags_pass;  /* scan-flags pass */
	bool scan_detect;      /* false for "scan-detect off" */
	__u32 scan_ports;
	__u64 scan_window_ns;
	__u64 ban_ns;
	__u32 scan_ipv6_prefix;
	enum pc_established established;
	bool icmp_deny;
	bool frag_deny;

	/*
	 * scan-detect ... max DURATION: a source banned again within 24 h of
	 * its last ban is banned 4 times as long as the last time, up to this.
	 * 0 (no max given): every ban lasts ban_ns. Never below ban_ns.
	 */
	__u64 ban_max_ns;

	struct pc_allow *allows;
	size_t n_allows;
	struct pc_prefix_list trusted; /* allow from */
	struct pc_prefix_list denied;  /* deny from */
	/*
	 * exempt from: sources the scan detector never counts or bans, and
	 * that are otherwise filtered like any other source. allow from and
	 * every per-port from list are exempt too; the loader adds them.
	 */
	struct pc_prefix_list exempt;
	/*
	 * exempt auto on|off (default on): the host's default gateways and
	 * the nameservers of /etc/resolv.conf are exempt as well, read when
	 * the rules are applied (attach, reload), not when parsed.
	 */
	bool exempt_auto;
	/*
	 * allow proto LIST: IP protocols other than TCP, UDP, ICMP and ICMPv6
	 * that pass; every other one is dropped (reason "protocol"). Protocol
	 * N is bit N % 64 of allowed_protos[N / 64]. Bits 1, 6, 17 and 58 are
	 * never set: those protocols have directives of their own.
	 */
	__u64 allowed_protos[4];

	struct pc_crowdsec_config crowdsec;
	/* limit lines, in file order; at most PC_LIMITS_MAX - 1 lines */
	struct pc_limit_rule *limits;
	size_t n_limits;
};

/*
 * RS as a config file that pc_config_parse() reads back to the same rules:
 * every setting spelt out, ports of one protocol and source list on one line,
 * long lists over several lines. Returns 0 or -EIO.
 */
int pc_ruleset_print(FILE *out, const struct pc_ruleset *rs);

/* "FILE:LINE: message", or "FILE: message" for a file that cannot be read. */
struct pc_error {
	char msg[1024];
};

/* The contract's defaults: enforce, scan-flags drop, scan-detect ports 20
 * window 10s ban 10m ipv6-prefix 64 (no max), established socket, icmp
 * allow, fragments allow, exempt auto on, no port or other protocol open. */
void pc_ruleset_init(struct pc_ruleset *rs);
void pc_ruleset_free(struct pc_ruleset *rs);

/*
 * Parse a config file. On error RS is left initialised but empty. RS is
 * overwritten, not freed: pc_ruleset_free() an old ruleset before reusing it.
 * Returns 0, -EINVAL for a bad config, -ENOMEM, -EPERM for a file that
 * another user could change (not owned by root or the caller, or writable by
 * group or others: "FILE: bad ownership or modes ..."; list files too), or
 * -EINVAL for a file that is not a regular file ("FILE: not a regular file",
 * found without blocking on a FIFO), or -errno of a file that cannot be
 * read ("FILE: No such file or directory");
 * every error is a config error (exit status 2). ERR may be NULL.
 */
int pc_config_load(const char *path, struct pc_ruleset *rs, struct pc_error *err);
/*
 * Parse TEXT as if read from a file called NAME (for tests, stdin and the
 * fuzzer). TEXT need not be NUL-terminated; a NUL byte in it is a "binary
 * file" error. Relative @FILE paths start in NAME's directory (or the
 * current one when NAME has no '/').
 */
int pc_config_parse(const char *name, const char *text, size_t len, struct pc_ruleset *rs,
		    struct pc_error *err);

/*
 * Token parsers. Each returns 0, or -EINVAL with a message (no file/line
 * prefix) in WHY; callers add the context.
 */
int pc_parse_proto(const char *word, enum pc_proto *proto, char *why, size_t why_len);
/* "22", "8000-8100", "22,80,443,8000-8100". *RANGES is malloc'ed. */
int pc_parse_ports(const char *word, struct pc_port_range **ranges, size_t *n, char *why,
		   size_t why_len);
/*
 * "gre,esp,112": IP protocol names (getprotobyname(3), /etc/protocols) and
 * numbers 0..255, set in the 256-bit map PROTOS (bit N % 64 of PROTOS[N /
 * 64]); tcp, udp, icmp and ipv6-icmp are refused (they have directives of
 * their own). On error PROTOS is unchanged.
 */
int pc_parse_ip_protos(const char *word, __u64 protos[4], char *why, size_t why_len);
/* "10s", "10m", "2h", "1d" -> nanoseconds. */
int pc_parse_duration(const char *word, __u64 *ns, char *why, size_t why_len);
/*
 * "198.51.100.7", "198.51.100.0/24", "2001:db8::/32" (host bits must be
 * zero). IPv4 written as IPv6 is refused with the IPv4 form as a hint:
 * IPv4-mapped (inside ::ffff:0:0/96) and IPv4-compatible (inside ::/96,
 * other than :: and ::1) addresses and prefixes of length 96 or more.
 */
int pc_parse_prefix(const char *word, struct pc_prefix *prefix, char *why, size_t why_len);
/*
 * Comma list of prefixes and @FILE list files, appended to LIST. Errors in a
 * list file are reported as that file's FILE:LINE in ERR; other errors as the
 * bare message in ERR (the caller prefixes its own FILE:LINE).
 */
int pc_parse_sources(const char *word, struct pc_prefix_list *list, struct pc_error *err,
		     bool *err_has_location);
/*
 * pc_parse_sources with relative @FILE paths starting in BASE_DIR (NULL: the
 * current directory). On error nothing is appended to LIST. ERR and
 * ERR_HAS_LOCATION may be NULL.
 */
int pc_parse_sources_at(const char *word, const char *base_dir, struct pc_prefix_list *list,
			struct pc_error *err, bool *err_has_location);
/*
 * A list file (FireHOL/Spamhaus DROP format): one address or prefix per line,
 * '#' and ';' start comments, blank lines ignored. Appends to LIST; on error
 * appends nothing. Errors in the text are "FILE:LINE: message" and set
 * *ERR_HAS_LOCATION; a file that cannot be read is "FILE: strerror". ERR and
 * ERR_HAS_LOCATION may be NULL.
 */
int pc_parse_list_file(const char *path, struct pc_prefix_list *list, struct pc_error *err,
		       bool *err_has_location);
/* The text of a list file read from NAME; errors are always "NAME:LINE: message". */
int pc_parse_list_text(const char *name, const char *text, size_t len, struct pc_prefix_list *list,
		       struct pc_error *err);

int pc_prefix_list_add(struct pc_prefix_list *list, const struct pc_prefix *prefix);
void pc_prefix_list_free(struct pc_prefix_list *list);
/*
 * "198.51.100.0/24"; a whole address (/32, /128) is printed bare:
 * "198.51.100.7". BUF needs INET6_ADDRSTRLEN + 4 bytes.
 */
const char *pc_prefix_format(const struct pc_prefix *prefix, char *buf, size_t len);

#endif /* PORTCULLIS_CONFIG_H */
