// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The bans state file: its format (see state.h), where it lives, writing it
 * atomically and reading it back as hostile input. Nothing here is fatal to
 * the command that asked: a ban that can't be saved or restored is a
 * warning, never a filter that does not attach.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "config.h"
#include "events.h"
#include "guard.h"
#include "log.h"
#include "netns.h"
#include "state.h"

const char *pc_state_dir = PC_STATE_DIR_DEFAULT;

void pc_state_clock_now(struct pc_state_clock *clock)
{
	clock->real_s = (__u64)time(NULL);
	clock->mono_ns = pc_now_ns();
}

/* A monotonic time as wall-clock seconds, and back (clamped, never 0 or past forever). */
static __u64 to_real(__u64 mono_ns, const struct pc_state_clock *clock)
{
	if (mono_ns >= clock->mono_ns)
		return clock->real_s + (mono_ns - clock->mono_ns + 999999999ULL) / 1000000000ULL;
	return clock->real_s - (clock->mono_ns - mono_ns) / 1000000000ULL;
}

static __u64 to_mono(__u64 real_s, const struct pc_state_clock *clock)
{
	__u64 ago_ns;

	if (real_s >= clock->real_s)
		return clock->mono_ns + (real_s - clock->real_s) * 1000000000ULL;
	ago_ns = (clock->real_s - real_s) * 1000000000ULL;
	return ago_ns < clock->mono_ns ? clock->mono_ns - ago_ns : 1;
}

int pc_state_format(const struct pc_ban_entry *entry, __u32 ipv6_prefix,
		    const struct pc_state_clock *clock, char *buf, size_t len)
{
	const struct pc_ban *ban = &entry->ban;
	char addr[64], expires[24], last[24] = "-";
	__u64 scan_ms = ban->created_ns > ban->first_ns && ban->first_ns
				? (ban->created_ns - ban->first_ns) / 1000000ULL
				: 0;

	/* The key as the detector cut it; /128 written out so the prefix is always there. */
	if (entry->prefix_len) {
		pc_ban_entry_format(entry, ipv6_prefix, addr, sizeof(addr));
	} else if (entry->key.family == PC_SRC_FAMILY_V6 && ipv6_prefix >= 128) {
		pc_addr_key_format(&entry->key, 128, addr, sizeof(addr));
		strncat(addr, "/128", sizeof(addr) - strlen(addr) - 1);
	} else {
		pc_addr_key_format(&entry->key, ipv6_prefix, addr, sizeof(addr));
	}
	if (ban->expires_ns == PC_BAN_FOREVER)
		snprintf(expires, sizeof(expires), "forever");
	else
		snprintf(expires, sizeof(expires), "%llu",
			 (unsigned long long)to_real(ban->expires_ns, clock));
	if (ban->last_port && ban->last_proto < PC_PROTOS)
		snprintf(last, sizeof(last), "%s/%u", pc_proto_name(ban->last_proto),
			 ban->last_port);
	return snprintf(buf, len, "%s %s %s %llu %u %s %u %llu", addr,
			ban->reason == PC_BAN_SCAN	   ? "scan"
			: ban->reason == PC_BAN_CROWDSEC ? "crowdsec"
							 : "manual",
			expires,
			(unsigned long long)to_real(ban->created_ns, clock), ban->ports, last,
			ban->repeat, (unsigned long long)scan_ms);
}

static int bad(char *why, size_t why_len, const char *fmt, const char *word)
{
	snprintf(why, why_len, fmt, word);
	return -EINVAL;
}

/* A decimal number from 0 to MAX, all of WORD. */
static int parse_number(const char *word, __u64 max, __u64 *value)
{
	char *end;

	if (*word < '0' || *word > '9')
		return -EINVAL;
	errno = 0;
	*value = strtoull(word, &end, 10);
	return errno || *end || *value > max ? -EINVAL : 0;
}

/*
 * "198.51.100.7", "2001:db8::/64", "198.51.100.0/24": a ban's key. A scan
 * ban's is cut to IPV6_PREFIX as the detector does; a manual or CrowdSec
 * ban goes where pc_ban_is_prefix() says, so prefix bans come back as such.
 */
static int parse_key(const char *word, __u32 ipv6_prefix, __u32 reason,
		     struct pc_ban_entry *entry, char *why, size_t why_len)
{
	char text[INET6_ADDRSTRLEN + 8];
	__u8 addr[16] = {};
	__u64 bits = 128;
	char *slash;
	int family;

	if (strlen(word) >= sizeof(text))
		return bad(why, why_len, "'%.60s': not an address", word);
	strcpy(text, word);
	slash = strchr(text, '/');
	if (slash) {
		*slash = '\0';
		if (parse_number(slash + 1, 128, &bits))
			return bad(why, why_len, "'%.60s': not an address or prefix", word);
	}
	if (inet_pton(AF_INET, text, addr) == 1 && (!slash || (reason != PC_BAN_SCAN && bits <= 32))) {
		family = AF_INET;
		bits = slash ? bits : 32;
	} else if (inet_pton(AF_INET6, text, addr) == 1) {
		family = AF_INET6;
	} else {
		return bad(why, why_len, "'%.60s': not an address or prefix", word);
	}
	if (reason != PC_BAN_SCAN)
		return pc_ban_entry_make(entry, family, addr, (__u32)bits, ipv6_prefix);
	pc_addr_key_make(&entry->key, family, addr, ipv6_prefix < bits ? ipv6_prefix : (__u32)bits);
	return 0;
}

/* "tcp/8080" or "-". */
static int parse_last(const char *word, struct pc_ban *ban, char *why, size_t why_len)
{
	const char *slash = strchr(word, '/');
	char proto_word[8];
	enum pc_proto proto;
	__u64 port;

	if (strcmp(word, "-") == 0)
		return 0;
	if (!slash || slash - word >= (long)sizeof(proto_word) ||
	    parse_number(slash + 1, 65535, &port))
		return bad(why, why_len, "'%.60s': not PROTO/PORT or -", word);
	memcpy(proto_word, word, slash - word);
	proto_word[slash - word] = '\0';
	if (pc_parse_proto(proto_word, &proto, NULL, 0))
		return bad(why, why_len, "'%.60s': not PROTO/PORT or -", word);
	ban->last_proto = proto;
	ban->last_port = port;
	return 0;
}

/* The line's words; more than MAX is an error (*N = MAX + 1). */
static size_t split(char *line, char **words, size_t max)
{
	size_t n = 0;

	for (char *save = NULL, *word = strtok_r(line, " \t", &save); word;
	     word = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		words[n++] = word;
	}
	return n;
}

enum { W_ADDR, W_REASON, W_EXPIRES, W_CREATED, W_PORTS, W_LAST, W_REPEAT, W_SCAN_MS, WORDS };

static int parse_words(char **w, __u32 ipv6_prefix, const struct pc_state_clock *clock,
		       struct pc_ban_entry *entry, __u64 *expires_s, char *why, size_t why_len)
{
	struct pc_ban *ban = &entry->ban;
	__u64 created_s, ports, repeat, scan_ms;

	__u32 reason;

	if (strcmp(w[W_REASON], "scan") == 0)
		reason = PC_BAN_SCAN;
	else if (strcmp(w[W_REASON], "manual") == 0)
		reason = PC_BAN_MANUAL;
	else if (strcmp(w[W_REASON], "crowdsec") == 0)
		reason = PC_BAN_CROWDSEC;
	else
		return bad(why, why_len, "'%.60s': the reason is scan, manual or crowdsec",
			   w[W_REASON]);
	if (parse_key(w[W_ADDR], ipv6_prefix, reason, entry, why, why_len))
		return -EINVAL;
	ban->reason = reason;
	if (strcmp(w[W_EXPIRES], "forever") == 0)
		*expires_s = UINT64_MAX;
	else if (parse_number(w[W_EXPIRES], UINT64_MAX / 2000000000ULL, expires_s))
		return bad(why, why_len, "'%.60s': the expiry is seconds or forever", w[W_EXPIRES]);
	if (parse_number(w[W_CREATED], UINT64_MAX / 2000000000ULL, &created_s))
		return bad(why, why_len, "'%.60s': the creation time is seconds", w[W_CREATED]);
	if (parse_number(w[W_PORTS], 131072, &ports))
		return bad(why, why_len, "'%.60s': not a port count", w[W_PORTS]);
	if (parse_last(w[W_LAST], ban, why, why_len))
		return -EINVAL;
	if (parse_number(w[W_REPEAT], PC_REPEAT_LEVEL_MAX, &repeat))
		return bad(why, why_len, "'%.60s': not a repeat level (0 .. 31)", w[W_REPEAT]);
	if (parse_number(w[W_SCAN_MS], 86400000ULL * 366, &scan_ms))
		return bad(why, why_len, "'%.60s': not milliseconds", w[W_SCAN_MS]);
	ban->ports = ports;
	ban->repeat = repeat;
	/* Made before this boot: as early as the clock allows, the scan's length kept. */
	ban->created_ns = to_mono(created_s, clock);
	if (ban->created_ns <= scan_ms * 1000000ULL)
		ban->created_ns = scan_ms * 1000000ULL + 1;
	ban->first_ns = ban->created_ns - scan_ms * 1000000ULL;
	ban->expires_ns = *expires_s == UINT64_MAX ? PC_BAN_FOREVER : to_mono(*expires_s, clock);
	return 0;
}

enum pc_state_line pc_state_parse(const char *line, __u32 ipv6_prefix,
				  const struct pc_state_clock *clock, struct pc_ban_entry *entry,
				  char *why, size_t why_len)
{
	char copy[PC_STATE_LINE_MAX + 1], *words[WORDS];
	__u64 expires_s;
	size_t n;

	if (strlen(line) > PC_STATE_LINE_MAX) {
		snprintf(why, why_len, "longer than %d characters", PC_STATE_LINE_MAX);
		return PC_STATE_BAD;
	}
	strcpy(copy, line);
	n = split(copy, words, WORDS);
	if (n == 0 || words[0][0] == '#')
		return PC_STATE_SKIP;
	if (n != WORDS) {
		snprintf(why, why_len,
			 "%s%zu words, expected %d (ADDRESS REASON EXPIRES CREATED "
			 "PORTS LAST REPEAT SCAN_MS)",
			 n > WORDS ? "more than " : "", n > WORDS ? (size_t)WORDS : n, WORDS);
		return PC_STATE_BAD;
	}
	memset(entry, 0, sizeof(*entry));
	if (parse_words(words, ipv6_prefix, clock, entry, &expires_s, why, why_len))
		return PC_STATE_BAD;
	if (expires_s != UINT64_MAX && expires_s <= clock->real_s)
		return PC_STATE_EXPIRED;
	return PC_STATE_BAN;
}

/* The directory of this namespace's state files: STATE_DIR or STATE_DIR/netns-NAME. */
static int state_dir(char *buf, size_t len)
{
	return pc_netns_state_dir(pc_state_dir, pc_netns_self(), buf, len);
}

int pc_state_path(const char *ifname, char *buf, size_t len)
{
	char dir[4096];
	int err = state_dir(dir, sizeof(dir));

	if (err)
		return err;
	return snprintf(buf, len, "%s/%s.bans", dir, ifname) < (int)len ? 0 : -ENAMETOOLONG;
}

/* mkdir -p DIR, each directory made 0700. */
static int make_dirs(const char *dir)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char was = *p;

		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = was;
		if (!was)
			return 0;
	}
}

static int write_all(FILE *out, const char *ifname, const struct pc_maps *maps)
{
	struct pc_ban_entry *list = NULL;
	struct pc_config cfg = { .scan_ipv6_prefix = 64 };
	struct pc_state_clock clock;
	char line[PC_STATE_LINE_MAX + 1];
	size_t n = 0;
	__u32 set;
	int err;

	if (pc_maps_active_set(maps, &set) == 0)
		pc_maps_read_config(maps, set, &cfg);
	err = pc_bans_list(maps, false, &list, &n, NULL, NULL);
	if (err)
		return err;
	pc_state_clock_now(&clock);
	fprintf(out,
		"%s\n# %s: ADDRESS REASON EXPIRES CREATED PORTS LAST REPEAT SCAN_MS "
		"(times in seconds since 1970, UTC)\n",
		PC_STATE_VERSION_LINE, ifname);
	for (size_t i = 0; i < n; i++) {
		pc_state_format(&list[i], cfg.scan_ipv6_prefix, &clock, line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	free(list);
	return 0;
}

int pc_state_save(const char *ifname, const struct pc_maps *maps)
{
	char dir[4096], path[4200], tmp[4300];
	FILE *out = NULL;
	int fd, dir_fd, err;

	err = state_dir(dir, sizeof(dir));
	if (err == -ENOENT) {
		pc_debug("%s: this network namespace has no name under /run/netns: its bans "
			 "are not saved",
			 ifname);
		return err;
	}
	if (!err)
		err = make_dirs(dir);
	if (err) {
		pc_warn("%s: can't make the state directory %s: %s; bans not saved", ifname, dir,
			pc_strerr(err));
		return err;
	}
	snprintf(path, sizeof(path), "%s/%s.bans", dir, ifname);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || !(out = fdopen(fd, "w"))) {
		err = -errno;
		pc_warn("%s: can't write %s: %s; bans not saved", ifname, tmp, pc_strerr(err));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return err;
	}
	err = write_all(out, ifname, maps);
	if (!err && (fflush(out) || fsync(fd)))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		pc_warn("%s: can't save bans in %s: %s", ifname, path, pc_strerr(err));
		unlink(tmp);
		return err;
	}
	/* The rename itself, on disk: a power cut must leave the old file or the new. */
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0) {
		fsync(dir_fd);
		close(dir_fd);
	}
	pc_debug("%s: bans saved in %s", ifname, path);
	return 0;
}

/*
 * Open the state file for reading: a regular file, not through a symlink,
 * and without blocking on a FIFO put in its place. NULL when there is none
 * (quietly) or it is refused (with a warning).
 */
static FILE *open_state(const char *ifname, const char *path)
{
	struct stat st;
	FILE *in;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return NULL;
	if (fd < 0) {
		pc_warn("%s: %s: can't read it: %s%s; no bans restored", ifname, path,
			pc_strerr(-errno), errno == ELOOP ? " (a symlink: refused)" : "");
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		pc_warn("%s: %s: not a regular file; ignored, no bans restored", ifname, path);
		close(fd);
		return NULL;
	}
	in = fdopen(fd, "r");
	if (!in)
		close(fd);
	return in;
}

/*
 * Reads one line into LINE; a longer one is consumed whole and *LONG set.
 * Returns false at the end of the file.
 */
static bool read_line(FILE *in, char *line, size_t len, bool *too_long)
{
	size_t used;
	int c;

	*too_long = false;
	if (!fgets(line, len, in))
		return false;
	used = strlen(line);
	if (used && line[used - 1] == '\n') {
		line[used - 1] = '\0';
		return true;
	}
	if (used < len - 1)
		return true; /* the last line, without a newline */
	*too_long = true;
	while ((c = getc(in)) != EOF && c != '\n')
		;
	return true;
}

/* Address and prefix bans: as many as both tables hold. */
#define RESTORE_MAX (PC_BANS_MAX + PC_PREFIX_BANS_MAX)

/* The file's bans in force, at most RESTORE_MAX; bad lines are reported and skipped. */
static size_t read_bans(FILE *in, const char *ifname, const char *path, __u32 ipv6_prefix,
			struct pc_ban_entry *bans)
{
	struct pc_state_clock clock;
	char line[PC_STATE_LINE_MAX + 2], why[160];
	size_t n = 0, bad_lines = 0;
	bool too_long;
	int number = 0;

	pc_state_clock_now(&clock);
	if (!read_line(in, line, sizeof(line), &too_long) || too_long ||
	    strcmp(line, PC_STATE_VERSION_LINE) != 0) {
		pc_warn("%s: %s:1: not a portcullis bans file (no '%s' line); ignored, no bans "
			"restored",
			ifname, path, PC_STATE_VERSION_LINE);
		return 0;
	}
	number = 1;
	while (read_line(in, line, sizeof(line), &too_long)) {
		enum pc_state_line kind;

		number++;
		if (too_long) {
			snprintf(why, sizeof(why), "longer than %d characters", PC_STATE_LINE_MAX);
			kind = PC_STATE_BAD;
		} else {
			kind = pc_state_parse(line, ipv6_prefix, &clock, &bans[n], why,
					      sizeof(why));
		}
		if (kind == PC_STATE_BAD && bad_lines++ < 10)
			pc_warn("%s: %s:%d: %s; line skipped", ifname, path, number, why);
		if (kind != PC_STATE_BAN)
			continue;
		if (n == RESTORE_MAX) {
			pc_warn("%s: %s:%d: more than %d bans; the rest is ignored", ifname, path,
				number, RESTORE_MAX);
			break;
		}
		n++;
	}
	if (bad_lines > 10)
		pc_warn("%s: %s: %zu bad lines in all, skipped", ifname, path, bad_lines);
	return n;
}

/*
 * Restored scan bans take ring slots as if they had just been made, the one
 * expiring soonest first: the ring replaces them oldest first, and they
 * count against PC_SCAN_BANS_MAX as every scan ban does. Only the
 * PC_SCAN_BANS_MAX that last longest can be kept. Runs before the program
 * is attached, so scan_next is ours to set.
 */
static size_t place_scan_bans(const struct pc_maps *maps, struct pc_ban_entry *scan, size_t n)
{
	struct pc_ban_state state;
	__u32 zero = 0;
	size_t first = n > PC_SCAN_BANS_MAX ? n - PC_SCAN_BANS_MAX : 0;

	pc_bans_sort_by_expiry(scan, n);
	if (bpf_map_lookup_elem(maps->ban_state, &zero, &state))
		return n; /* no ring: place none (the caller then adds none) */
	for (size_t i = first; i < n; i++) {
		struct pc_ring_slot slot = { .source = scan[i].key, .ring_pos = state.scan_next };
		__u32 index = state.scan_next % PC_SCAN_BANS_MAX;

		scan[i].ban.ring_pos = state.scan_next++;
		bpf_map_update_elem(maps->scan_ring, &index, &slot, BPF_ANY);
	}
	/* Only scan_next changes: active is counted by pc_bans_add, after this. */
	bpf_map_update_elem(maps->ban_state, &zero, &state, BPF_ANY);
	return first;
}

/*
 * A saved ban is restored unless the rules now say no ban may hold its
 * source: a trusted source ('allow from'), or the client of the SSH session
 * attach runs from (pc_guard_ban says why). The config may have changed
 * since the ban was saved.
 */
static bool restorable(const char *ifname, const struct pc_maps *maps,
		       const struct pc_ban_entry *entry, __u32 ipv6_prefix, size_t *trusted)
{
	struct pc_prefix addr = { .family = entry->key.family == PC_SRC_FAMILY_V4 ? AF_INET
										  : AF_INET6 };

	addr.len = entry->prefix_len ? entry->prefix_len : addr.family == AF_INET ? 32 : 128;
	memcpy(addr.addr, entry->key.addr, sizeof(addr.addr));
	/* Trusted sources pass before any prefix ban is asked. */
	if (!entry->prefix_len && pc_live_trusted(maps, &addr)) {
		++*trusted;
		return false;
	}
	return pc_guard_ban(ifname, maps, &addr, ipv6_prefix) == 0;
}

/* Manual bans first (scan bans never take their room), then scan bans in ring order. */
static void add_restored(const char *ifname, const struct pc_maps *maps, __u32 ipv6_prefix,
			 struct pc_ban_entry *bans, size_t n, size_t *restored)
{
	size_t n_scan = 0, kept = 0, trusted = 0, skip, added, failed;
	bool replaced;
	int err;

	for (size_t i = 0; i < n; i++)
		if (restorable(ifname, maps, &bans[i], ipv6_prefix, &trusted))
			bans[kept++] = bans[i];
	if (trusted)
		pc_warn("%s: %zu saved bans not restored: their sources are trusted ('allow from') "
			"now",
			ifname, trusted);
	n = kept;
	/* Scan bans to the front, where place_scan_bans orders them. */
	for (size_t i = 0; i < n; i++) {
		struct pc_ban_entry entry = bans[i];

		if (entry.ban.reason != PC_BAN_SCAN)
			continue;
		bans[i] = bans[n_scan];
		bans[n_scan++] = entry;
	}
	pc_bans_add_many(maps, bans + n_scan, n - n_scan, &added, &failed);
	*restored += added;
	skip = place_scan_bans(maps, bans, n_scan);
	if (skip)
		pc_warn("%s: %zu saved scan bans beyond the ring's %d not restored", ifname, skip,
			PC_SCAN_BANS_MAX);
	for (size_t i = skip; i < n_scan; i++) {
		err = pc_bans_add(maps, &bans[i].key, &bans[i].ban, &replaced);
		*restored += !err && !replaced;
	}
}

void pc_state_restore(const char *ifname, const struct pc_maps *maps)
{
	struct pc_config cfg = { .scan_ipv6_prefix = 64 };
	struct pc_ban_entry *bans;
	size_t n, restored = 0;
	char path[4200];
	__u32 set;
	FILE *in;
	int err;

	err = pc_state_path(ifname, path, sizeof(path));
	if (err) {
		pc_debug("%s: no state file in this network namespace: %s", ifname, pc_strerr(err));
		return;
	}
	in = open_state(ifname, path);
	if (!in)
		return;
	bans = calloc(RESTORE_MAX, sizeof(*bans));
	if (!bans) {
		pc_warn("%s: %s: no memory to read it; no bans restored", ifname, path);
		fclose(in);
		return;
	}
	if (pc_maps_active_set(maps, &set) == 0)
		pc_maps_read_config(maps, set, &cfg);
	n = read_bans(in, ifname, path, cfg.scan_ipv6_prefix, bans);
	fclose(in);
	add_restored(ifname, maps, cfg.scan_ipv6_prefix, bans, n, &restored);
	free(bans);
	if (restored)
		pc_info("%s: restored %zu bans from %s", ifname, restored, path);
}
