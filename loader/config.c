// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The config grammar of shared/interface.md. A config is parsed into a
 * private ruleset and handed to the caller only when every line was good, so
 * a failed parse leaves nothing behind. No global state, no exit(): these
 * functions are fuzzed and run under the sanitizers.
 *
 * A setting that takes one word of a fixed set (mode, icmp, ...) is one row
 * of the choices table; every other directive has its own handler in the
 * directives table. A setting remembers the line that set it, so a second,
 * different value can name it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config_internal.h"

#define MAX_WORDS     16 /* words kept per line */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void pc_ruleset_init(struct pc_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->mode = PC_MODE_ENFORCE;
	rs->scan_flags_pass = false;
	rs->scan_detect = true;
	rs->scan_ports = 20;
	rs->scan_window_ns = 10 * NSEC_PER_SEC;
	rs->ban_ns = 10 * 60 * NSEC_PER_SEC;
	rs->scan_ipv6_prefix = 64;
	rs->established = PC_ESTABLISHED_SOCKET;
	rs->icmp_deny = false;
	rs->frag_deny = false;
	rs->exempt_auto = true;
	rs->crowdsec.poll_ns = PC_CROWDSEC_POLL_DEFAULT_NS;
}

void pc_ruleset_free(struct pc_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_allows; i++)
		pc_prefix_list_free(&rs->allows[i].sources);
	free(rs->allows);
	free(rs->limits);
	pc_prefix_list_free(&rs->trusted);
	pc_prefix_list_free(&rs->denied);
	pc_prefix_list_free(&rs->exempt);
	pc_ruleset_init(rs);
}

static int prefix_list_copy(struct pc_prefix_list *to, const struct pc_prefix_list *from)
{
	memset(to, 0, sizeof(*to));
	if (!from->count)
		return 0;
	to->items = malloc(from->count * sizeof(*to->items));
	if (!to->items)
		return -ENOMEM;
	memcpy(to->items, from->items, from->count * sizeof(*to->items));
	to->count = to->cap = from->count;
	return 0;
}

#define MAX_CHOICE_WORDS 3

/*
 * A setting of one word from a fixed set: the word's index picks the value
 * stored in the ruleset field at OFFSET (a bool or an int-sized enum).
 */
static const struct choice {
	const char *name; /* as written, and quoted in messages */
	size_t offset, size;
	const char *words[MAX_CHOICE_WORDS + 1]; /* NULL-terminated */
	int values[MAX_CHOICE_WORDS];
} choices[] = {
#define FIELD(f) offsetof(struct pc_ruleset, f), sizeof(((struct pc_ruleset *)0)->f)
	{ "mode", FIELD(mode), { "enforce", "monitor" }, { PC_MODE_ENFORCE, PC_MODE_MONITOR } },
	{ "scan-flags", FIELD(scan_flags_pass), { "drop", "pass" }, { false, true } },
	{ "established",
	  FIELD(established),
	  { "socket", "ephemeral", "off" },
	  { PC_ESTABLISHED_SOCKET, PC_ESTABLISHED_EPHEMERAL, PC_ESTABLISHED_OFF } },
	{ "icmp", FIELD(icmp_deny), { "allow", "deny" }, { false, true } },
	{ "fragments", FIELD(frag_deny), { "allow", "deny" }, { false, true } },
	{ "exempt auto", FIELD(exempt_auto), { "on", "off" }, { true, false } },
#undef FIELD
};

#define N_CHOICES ARRAY_SIZE(choices)

_Static_assert(sizeof(enum pc_mode) == sizeof(int) && sizeof(enum pc_established) == sizeof(int),
	       "choice values are stored as int");

#define PORT_WORDS (PC_PORTS / 64)

/* Which ports some line opened, per protocol, to everyone [0] or to a list [1]. */
struct port_marks {
	__u64 bits[PC_PROTOS][2][PORT_WORDS];
};

struct parser {
	const char *name;     /* the config file, as named in messages */
	const char *base_dir; /* where relative @FILE paths start; NULL: cwd */
	int line;
	struct pc_ruleset *rs;
	struct pc_error *err;
	int choice_line[N_CHOICES]; /* 0: not set by the file */
	int choice_index[N_CHOICES];
	int scan_detect_line;
	struct port_marks *marks; /* keeps the conflict check linear in the config */
	size_t allows_cap;	  /* allocated entries of rs->allows */
	int limit_lines;	  /* limit lines so far: each gets a bucket id */
};

__attribute__((format(printf, 2, 3))) static int parse_error(struct parser *p, const char *fmt, ...)
{
	char message[sizeof(p->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return cfg_error_at(p->err, -EINVAL, p->name, p->line, "%s", message);
}

static int out_of_memory(struct parser *p)
{
	return cfg_error_at(p->err, -ENOMEM, p->name, p->line, "out of memory");
}

static int extra_word(struct parser *p, const char *directive, const char *word)
{
	return parse_error(p, "%s: extra argument " QW, directive, SHOW(word));
}

/* Adds WORD to the "a, b or c" list in BUF; LAST says it is the final one. */
static void append_or(char *buf, size_t len, const char *word, bool last)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? (last ? " or " : ", ") : "", word);
}

static void choice_words(const struct choice *c, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; c->words[i]; i++)
		append_or(buf, len, c->words[i], !c->words[i + 1]);
}

static void store_choice(struct pc_ruleset *rs, const struct choice *c, int value)
{
	char *field = (char *)rs + c->offset;
	bool flag = value;

	if (c->size == sizeof(bool))
		memcpy(field, &flag, sizeof(flag));
	else
		memcpy(field, &value, sizeof(value));
}

/*
 * "NAME WORD" with WORD at WORDS[ARG]: stores WORD's value, unless an
 * earlier line chose a different word.
 */
static int set_choice(struct parser *p, const struct choice *c, char **words, int n, int arg)
{
	size_t row = c - choices;
	char expected[128];
	int index = -1;

	choice_words(c, expected, sizeof(expected));
	if (n <= arg)
		return parse_error(p, "%s: missing argument (%s)", c->name, expected);
	if (n > arg + 1)
		return extra_word(p, c->name, words[arg + 1]);
	for (int i = 0; c->words[i] && index < 0; i++)
		if (strcmp(words[arg], c->words[i]) == 0)
			index = i;
	if (index < 0)
		return parse_error(p, "bad %s " QW ": must be %s", c->name, SHOW(words[arg]),
				   expected);
	if (p->choice_line[row] && p->choice_index[row] != index)
		return parse_error(p, "'%s %s' conflicts with line %d ('%s %s')", c->name,
				   c->words[index], p->choice_line[row], c->name,
				   c->words[p->choice_index[row]]);
	if (!p->choice_line[row]) {
		p->choice_line[row] = p->line;
		p->choice_index[row] = index;
	}
	store_choice(p->rs, c, c->values[index]);
	return 0;
}

/* Parses a DURATION word into *NS, with this line as the context. */
static int parse_duration_here(struct parser *p, const char *word, __u64 *ns)
{
	char why[512];

	if (pc_parse_duration(word, ns, why, sizeof(why)))
		return parse_error(p, "%s", why);
	return 0;
}

static int scan_ports(struct parser *p, const char *value, struct pc_ruleset *want)
{
	__u64 number;

	/* The detector's exact port sets hold PC_SCAN_MAX_PORTS, and a scan is
	 * a second port at the least. */
	if (cfg_parse_uint(value, strlen(value), PC_SCAN_MAX_PORTS, &number) || number < 2)
		return parse_error(p, "bad scan-detect ports " QW ": must be 2..%d", SHOW(value),
				   PC_SCAN_MAX_PORTS);
	want->scan_ports = number;
	return 0;
}

static int scan_window(struct parser *p, const char *value, struct pc_ruleset *want)
{
	return parse_duration_here(p, value, &want->scan_window_ns);
}

static int scan_ban(struct parser *p, const char *value, struct pc_ruleset *want)
{
	return parse_duration_here(p, value, &want->ban_ns);
}

static int scan_ban_max(struct parser *p, const char *value, struct pc_ruleset *want)
{
	return parse_duration_here(p, value, &want->ban_max_ns);
}

static int scan_ipv6_prefix(struct parser *p, const char *value, struct pc_ruleset *want)
{
	__u64 number;

	/* Shorter than a /32 would put whole providers (a RIR's smallest
	 * allocation) into one ban. */
	if (cfg_parse_uint(value, strlen(value), 128, &number) || number < 32)
		return parse_error(p, "bad ipv6-prefix " QW ": must be 32..128", SHOW(value));
	want->scan_ipv6_prefix = number;
	return 0;
}

/* The "KEY VALUE" pairs of scan-detect, in the order messages list them. */
static const struct scan_key {
	const char *key;
	int (*parse)(struct parser *p, const char *value, struct pc_ruleset *want);
} scan_keys[] = {
	{ "ports", scan_ports }, { "window", scan_window },	      { "ban", scan_ban },
	{ "max", scan_ban_max }, { "ipv6-prefix", scan_ipv6_prefix },
};

#define N_SCAN_KEYS ARRAY_SIZE(scan_keys)

/* scan-detect as a config line would write it, for conflict messages. */
static void format_scan_detect(const struct pc_ruleset *rs, char *buf, size_t len)
{
	char window[32], ban[32], max[40] = "";

	if (!rs->scan_detect) {
		snprintf(buf, len, "scan-detect off");
		return;
	}
	cfg_format_duration(rs->scan_window_ns, window, sizeof(window));
	cfg_format_duration(rs->ban_ns, ban, sizeof(ban));
	if (rs->ban_max_ns) {
		strcpy(max, " max ");
		cfg_format_duration(rs->ban_max_ns, max + 5, sizeof(max) - 5);
	}
	snprintf(buf, len, "scan-detect ports %u window %s ban %s%s ipv6-prefix %u", rs->scan_ports,
		 window, ban, max, rs->scan_ipv6_prefix);
}

static bool same_scan_detect(const struct pc_ruleset *a, const struct pc_ruleset *b)
{
	if (!a->scan_detect || !b->scan_detect)
		return a->scan_detect == b->scan_detect;
	return a->scan_ports == b->scan_ports && a->scan_window_ns == b->scan_window_ns &&
	       a->ban_ns == b->ban_ns && a->ban_max_ns == b->ban_max_ns &&
	       a->scan_ipv6_prefix == b->scan_ipv6_prefix;
}

/*
 * Takes WANT, a copy of the ruleset with only scan-detect's fields changed,
 * unless an earlier line set those fields differently.
 */
static int set_scan_detect(struct parser *p, const struct pc_ruleset *want)
{
	struct pc_ruleset *rs = p->rs;
	char old[160], new[160];

	if (p->scan_detect_line && !same_scan_detect(rs, want)) {
		format_scan_detect(rs, old, sizeof(old));
		format_scan_detect(want, new, sizeof(new));
		return parse_error(p, "'%s' conflicts with line %d ('%s')", new,
				   p->scan_detect_line, old);
	}
	if (!p->scan_detect_line)
		p->scan_detect_line = p->line;
	*rs = *want;
	return 0;
}

static const struct scan_key *find_scan_key(const char *word)
{
	for (size_t k = 0; k < N_SCAN_KEYS; k++)
		if (strcmp(word, scan_keys[k].key) == 0)
			return &scan_keys[k];
	return NULL;
}

static int unknown_scan_key(struct parser *p, const char *word)
{
	char keys[128] = "";

	for (size_t k = 0; k < N_SCAN_KEYS; k++)
		append_or(keys, sizeof(keys), scan_keys[k].key, false);
	append_or(keys, sizeof(keys), "off", true);
	return parse_error(p, "scan-detect: unknown option " QW " (%s)", SHOW(word), keys);
}

/* scan-detect off | scan-detect [KEY VALUE]... with each KEY of scan_keys once at most */
static int parse_scan_detect(struct parser *p, char **words, int n)
{
	struct pc_ruleset want = *p->rs;
	bool seen[N_SCAN_KEYS] = { false };
	int ret;

	if (n < 2)
		return parse_error(p, "scan-detect: missing arguments "
				      "(ports N window DURATION ban DURATION, or off)");
	if (strcmp(words[1], "off") == 0) {
		if (n > 2)
			return extra_word(p, "scan-detect", words[2]);
		want.scan_detect = false;
		return set_scan_detect(p, &want);
	}
	want.scan_detect = true;
	for (int i = 1; i < n; i += 2) {
		const struct scan_key *key = find_scan_key(words[i]);

		if (!key)
			return unknown_scan_key(p, words[i]);
		if (seen[key - scan_keys])
			return parse_error(p, "scan-detect: '%s' given twice", key->key);
		seen[key - scan_keys] = true;
		if (i + 1 >= n)
			return parse_error(p, "scan-detect: missing value after '%s'", key->key);
		ret = key->parse(p, words[i + 1], &want);
		if (ret)
			return ret;
	}
	if (want.ban_max_ns && want.ban_max_ns < want.ban_ns) {
		char ban[32], max[32];

		cfg_format_duration(want.ban_ns, ban, sizeof(ban));
		cfg_format_duration(want.ban_max_ns, max, sizeof(max));
		return parse_error(p, "scan-detect: max %s is shorter than ban %s", max, ban);
	}
	return set_scan_detect(p, &want);
}

/* Parses SOURCES into LIST, with this line as the context of bare messages. */
static int parse_sources_here(struct parser *p, const char *word, struct pc_prefix_list *list)
{
	struct pc_error sub;
	bool located = false;
	int ret = pc_parse_sources_at(word, p->base_dir, list, &sub, &located);

	if (!ret)
		return 0;
	/* A list file that cannot be read is a config error like any other. */
	if (ret != -ENOMEM)
		ret = -EINVAL;
	if (located) {
		*p->err = sub;
		return ret;
	}
	return cfg_error_at(p->err, ret, p->name, p->line, "%s", sub.msg);
}

/*
 * A port is either open to every source or limited to source lists; one
 * config saying both is a mistake the user should see, not a silent merge.
 */
/* The bits of word W of a port bitmap that stand for ports LO..HI. */
static __u64 word_mask(__u32 w, __u32 lo, __u32 hi)
{
	__u64 mask = ~0ULL;

	if (w == lo / 64)
		mask &= ~0ULL << (lo % 64);
	if (w == hi / 64)
		mask &= ~0ULL >> (63 - hi % 64);
	return mask;
}

static bool ports_marked(const __u64 *bits, __u32 lo, __u32 hi)
{
	for (__u32 w = lo / 64; w <= hi / 64; w++)
		if (bits[w] & word_mask(w, lo, hi))
			return true;
	return false;
}

static void mark_ports(__u64 *bits, __u32 lo, __u32 hi)
{
	for (__u32 w = lo / 64; w <= hi / 64; w++)
		bits[w] |= word_mask(w, lo, hi);
}

static int check_port_conflict(struct parser *p, enum pc_proto proto,
			       const struct pc_port_range *range, bool limited)
{
	/* The bitmaps answer "no conflict" without looking at earlier lines;
	 * only an actual conflict pays for finding the line to name. */
	if (!ports_marked(p->marks->bits[proto][!limited], range->lo, range->hi))
		return 0;
	for (size_t i = 0; i < p->rs->n_allows; i++) {
		const struct pc_allow *other = &p->rs->allows[i];

		if (other->proto != proto || (other->sources.count > 0) == limited)
			continue;
		if (range->lo > other->hi || other->lo > range->hi)
			continue;
		return parse_error(p, "%s port %u conflicts with line %d: allowed %s there",
				   cfg_proto_names[proto],
				   range->lo > other->lo ? range->lo : other->lo, other->line,
				   limited ? "from every source" : "only from listed sources");
	}
	return 0;
}

static int add_allows(struct parser *p, enum pc_proto proto, const struct pc_port_range *ranges,
		      size_t n_ranges, const struct pc_prefix_list *sources)
{
	struct pc_ruleset *rs = p->rs;
	struct pc_allow *allows;
	size_t total;
	int ret;

	for (size_t i = 0; i < n_ranges; i++) {
		ret = check_port_conflict(p, proto, &ranges[i], sources->count > 0);
		if (ret)
			return ret;
	}
	if (n_ranges > SIZE_MAX / sizeof(*allows) / 2 - rs->n_allows)
		return out_of_memory(p);
	total = rs->n_allows + n_ranges;
	if (total > p->allows_cap) {
		/* Doubling: a 100,000-line config must not copy its rules per line. */
		size_t cap = total > 2 * p->allows_cap ? total : 2 * p->allows_cap;

		allows = realloc(rs->allows, cap * sizeof(*allows));
		if (!allows)
			return out_of_memory(p);
		rs->allows = allows;
		p->allows_cap = cap;
	}
	for (size_t i = 0; i < n_ranges; i++) {
		struct pc_allow *allow = &rs->allows[rs->n_allows];

		mark_ports(p->marks->bits[proto][sources->count > 0], ranges[i].lo, ranges[i].hi);
		allow->proto = proto;
		allow->lo = ranges[i].lo;
		allow->hi = ranges[i].hi;
		allow->line = p->line;
		if (prefix_list_copy(&allow->sources, sources))
			return out_of_memory(p);
		rs->n_allows++;
	}
	return 0;
}

/* allow proto LIST: IP protocols other than TCP, UDP and ICMP; accumulates. */
static int parse_allow_proto(struct parser *p, char **words, int n)
{
	char why[512];

	if (n < 3)
		return parse_error(p, "allow: missing protocols after 'proto'");
	if (n > 3)
		return extra_word(p, "allow", words[3]);
	if (pc_parse_ip_protos(words[2], p->rs->allowed_protos, why, sizeof(why)))
		return parse_error(p, "%s", why);
	return 0;
}

/* allow from SOURCES | allow PROTO PORTS [from SOURCES] | allow proto LIST */
static int parse_allow(struct parser *p, char **words, int n)
{
	struct pc_prefix_list sources = { 0 };
	struct pc_port_range *ranges = NULL;
	enum pc_proto proto;
	size_t n_ranges;
	char why[512];
	int ret;

	if (n < 2)
		return parse_error(p, "allow: missing protocol (tcp or udp) or 'from'");
	if (strcmp(words[1], "proto") == 0)
		return parse_allow_proto(p, words, n);
	if (strcmp(words[1], "from") == 0) {
		if (n < 3)
			return parse_error(p, "allow: missing sources after 'from'");
		if (n > 3)
			return extra_word(p, "allow", words[3]);
		return parse_sources_here(p, words[2], &p->rs->trusted);
	}
	if (pc_parse_proto(words[1], &proto, why, sizeof(why)))
		return parse_error(p, "%s", why);
	if (n < 3)
		return parse_error(p, "allow: missing ports after '%s'", words[1]);
	if (n > 3 && strcmp(words[3], "from") != 0)
		return parse_error(p, "allow: expected 'from' after the ports, got " QW,
				   SHOW(words[3]));
	if (n == 4)
		return parse_error(p, "allow: missing sources after 'from'");
	if (n > 5)
		return extra_word(p, "allow", words[5]);
	ret = pc_parse_ports(words[2], &ranges, &n_ranges, why, sizeof(why));
	if (ret)
		return ret == -ENOMEM ? out_of_memory(p) : parse_error(p, "%s", why);
	if (n == 5) {
		ret = parse_sources_here(p, words[4], &sources);
		if (!ret && !sources.count)
			ret = parse_error(p,
					  "empty source list " QW
					  ": the ports would be open to every source",
					  SHOW(words[4]));
	}
	if (!ret)
		ret = add_allows(p, proto, ranges, n_ranges, &sources);
	free(ranges);
	pc_prefix_list_free(&sources);
	return ret;
}

/* "DIRECTIVE from SOURCES" into LIST; EXPECTED names what may follow DIRECTIVE. */
static int parse_from_sources(struct parser *p, char **words, int n, const char *expected,
			      struct pc_prefix_list *list)
{
	if (n < 2)
		return parse_error(p, "%s: missing %s", words[0], expected);
	if (strcmp(words[1], "from") != 0)
		return parse_error(p, "%s: expected %s, got " QW, words[0], expected,
				   SHOW(words[1]));
	if (n < 3)
		return parse_error(p, "%s: missing sources after 'from'", words[0]);
	if (n > 3)
		return extra_word(p, words[0], words[3]);
	return parse_sources_here(p, words[2], list);
}

/* deny from SOURCES */
static int parse_deny(struct parser *p, char **words, int n)
{
	return parse_from_sources(p, words, n, "'from'", &p->rs->denied);
}

static const struct choice *find_choice(const char *name)
{
	for (size_t i = 0; i < N_CHOICES; i++)
		if (strcmp(name, choices[i].name) == 0)
			return &choices[i];
	return NULL;
}

/* exempt from SOURCES | exempt auto on|off */
static int parse_exempt(struct parser *p, char **words, int n)
{
	if (n >= 2 && strcmp(words[1], "auto") == 0)
		return set_choice(p, find_choice("exempt auto"), words, n, 2);
	return parse_from_sources(p, words, n, "'from' or 'auto'", &p->rs->exempt);
}

/*
 * An @FILE of a crowdsec line into OUT (resolved against the config's
 * directory): a regular file this process can read, checked now so that a
 * typo is a config error and not a failing service.
 */
static int crowdsec_file(struct parser *p, const char *what, const char *word, char *out,
			 size_t len)
{
	struct stat st;
	int fd, n;

	if (word[0] != '@' || !word[1])
		return parse_error(p, "crowdsec: %s: expected @FILE, got " QW, what, SHOW(word));
	if (word[1] == '/' || !p->base_dir)
		n = snprintf(out, len, "%s", word + 1);
	else
		n = snprintf(out, len, "%s/%s", p->base_dir, word + 1);
	if (n < 0 || (size_t)n >= len)
		return parse_error(p, "crowdsec: %s: file name too long", what);
	fd = open(out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return parse_error(p, "crowdsec: %s: %s: %s", what, out, strerror(errno));
	n = fstat(fd, &st);
	close(fd);
	if (n || !S_ISREG(st.st_mode))
		return parse_error(p, "crowdsec: %s: %s: not a regular file", what, out);
	if (st.st_size == 0)
		return parse_error(p, "crowdsec: %s: %s: empty", what, out);
	return 0;
}

/* crowdsec url URL key @FILE [poll DURATION] | crowdsec push @FILE */
static int parse_crowdsec(struct parser *p, char **words, int n)
{
	struct pc_crowdsec_config *cs = &p->rs->crowdsec;
	__u64 poll_ns = PC_CROWDSEC_POLL_DEFAULT_NS;

	if (n >= 2 && strcmp(words[1], "push") == 0) {
		if (n < 3)
			return parse_error(p, "crowdsec push: missing @CREDENTIALS_FILE");
		if (n > 3)
			return extra_word(p, "crowdsec push", words[3]);
		if (cs->push_file[0])
			return parse_error(p, "crowdsec push: given twice");
		return crowdsec_file(p, "push", words[2], cs->push_file, sizeof(cs->push_file));
	}
	if (n < 2 || strcmp(words[1], "url") != 0)
		return parse_error(p, "crowdsec: expected 'url URL key @FILE [poll DURATION]' or "
				      "'push @FILE'%s", n < 2 ? "" : ", got a bad first word");
	if (n < 3)
		return parse_error(p, "crowdsec: missing URL after 'url'");
	if (strncmp(words[2], "http://", 7) != 0 && strncmp(words[2], "https://", 8) != 0)
		return parse_error(p, "crowdsec: bad url " QW ": must start with http:// or https://",
				   SHOW(words[2]));
	if (strlen(words[2]) >= sizeof(cs->url))
		return parse_error(p, "crowdsec: url too long");
	if (n < 5 || strcmp(words[3], "key") != 0)
		return parse_error(p, "crowdsec: expected 'key @FILE' after the url");
	if (n > 5 && (strcmp(words[5], "poll") != 0 || n < 7))
		return n > 5 && strcmp(words[5], "poll") == 0
			       ? parse_error(p, "crowdsec: missing duration after 'poll'")
			       : extra_word(p, "crowdsec", words[5]);
	if (n > 7)
		return extra_word(p, "crowdsec", words[7]);
	if (n == 7 && parse_duration_here(p, words[6], &poll_ns))
		return -EINVAL;
	if (poll_ns < NSEC_PER_SEC || poll_ns > 3600 * NSEC_PER_SEC)
		return parse_error(p, "crowdsec: bad poll " QW ": must be 1s..1h", SHOW(words[6]));
	if (cs->url[0])
		return parse_error(p, "crowdsec url: given twice");
	if (crowdsec_file(p, "key", words[4], cs->key_file, sizeof(cs->key_file)))
		return -EINVAL;
	snprintf(cs->url, sizeof(cs->url), "%s", words[2]);
	cs->poll_ns = poll_ns;
	return 0;
}

/* "6/30s": N 1..PC_RATE_MAX_N tokens per DURATION. */
static int parse_rate(struct parser *p, const char *word, struct pc_limit_rule *limit)
{
	const char *slash = strchr(word, '/');
	__u64 number;
	char why[512];

	if (!slash || cfg_parse_uint(word, slash - word, PC_RATE_MAX_N, &number) || !number)
		return parse_error(p, "bad rate " QW ": expected N/DURATION with N 1..%d, e.g. 6/30s",
				   SHOW(word), PC_RATE_MAX_N);
	if (pc_parse_duration(slash + 1, &limit->per_ns, why, sizeof(why)))
		return parse_error(p, "bad rate " QW ": %s", SHOW(word), why);
	limit->rate = number;
	return 0;
}

/* The longest a bucket may take to refill: (M - 1) * DURATION / N. */
#define MAX_LIMIT_DEBT_NS (366ULL * 86400 * NSEC_PER_SEC)

static int parse_burst(struct parser *p, char **words, int n, struct pc_limit_rule *limit)
{
	__u64 number;

	if (strcmp(words[5], "burst") != 0)
		return parse_error(p, "limit: expected 'burst' after the rate, got " QW,
				   SHOW(words[5]));
	if (n < 7)
		return parse_error(p, "limit: missing number after 'burst'");
	if (n > 7)
		return extra_word(p, "limit", words[7]);
	if (cfg_parse_uint(words[6], strlen(words[6]), PC_RATE_MAX_N, &number) || !number)
		return parse_error(p, "bad burst " QW ": must be 1..%d", SHOW(words[6]),
				   PC_RATE_MAX_N);
	if ((number - 1) > MAX_LIMIT_DEBT_NS / (limit->per_ns / limit->rate))
		return parse_error(p, "bad burst " QW ": %llu tokens at %s take over a year to refill",
				   SHOW(words[6]), (unsigned long long)number, words[4]);
	limit->burst = number;
	return 0;
}

/* A port limited twice would need two buckets per packet: the user's mistake. */
static int check_limit_conflict(struct parser *p, const struct pc_limit_rule *limit)
{
	for (size_t i = 0; i < p->rs->n_limits; i++) {
		const struct pc_limit_rule *other = &p->rs->limits[i];

		if (other->proto != limit->proto || limit->lo > other->hi || other->lo > limit->hi)
			continue;
		return parse_error(p, "limit: %s port %u conflicts with line %d: limited there already",
				   cfg_proto_names[limit->proto],
				   limit->lo > other->lo ? limit->lo : other->lo, other->line);
	}
	return 0;
}

/* limit tcp|udp PORTS rate N/DURATION [burst M] */
static int parse_limit(struct parser *p, char **words, int n)
{
	struct pc_limit_rule limit = { .line = p->line }, *grown;
	struct pc_port_range *ranges = NULL;
	struct pc_ruleset *rs = p->rs;
	size_t n_ranges = 0;
	char why[512];
	int ret;

	if (n < 2)
		return parse_error(p, "limit: missing protocol (tcp or udp)");
	if (pc_parse_proto(words[1], &limit.proto, why, sizeof(why)))
		return parse_error(p, "%s", why);
	if (n < 3)
		return parse_error(p, "limit: missing ports after '%s'", words[1]);
	if (n < 4 || strcmp(words[3], "rate") != 0)
		return n < 4 ? parse_error(p, "limit: missing 'rate N/DURATION' after the ports")
			     : parse_error(p, "limit: expected 'rate' after the ports, got " QW,
					   SHOW(words[3]));
	if (n < 5)
		return parse_error(p, "limit: missing N/DURATION after 'rate'");
	ret = parse_rate(p, words[4], &limit);
	limit.burst = limit.rate;
	if (!ret && n > 5)
		ret = parse_burst(p, words, n, &limit);
	if (!ret && p->limit_lines + 1 >= PC_LIMITS_MAX)
		ret = parse_error(p, "limit: more than %d limit lines", PC_LIMITS_MAX - 1);
	if (!ret) {
		ret = pc_parse_ports(words[2], &ranges, &n_ranges, why, sizeof(why));
		if (ret)
			ret = ret == -ENOMEM ? out_of_memory(p) : parse_error(p, "%s", why);
	}
	if (!ret && n_ranges > SIZE_MAX / sizeof(*grown) / 2 - rs->n_limits)
		ret = out_of_memory(p);
	grown = ret ? NULL : realloc(rs->limits, (rs->n_limits + n_ranges) * sizeof(*grown));
	if (!ret && !grown)
		ret = out_of_memory(p);
	if (grown)
		rs->limits = grown;
	for (size_t i = 0; i < n_ranges && !ret; i++) {
		limit.lo = ranges[i].lo;
		limit.hi = ranges[i].hi;
		ret = check_limit_conflict(p, &limit);
		if (!ret)
			rs->limits[rs->n_limits++] = limit;
	}
	if (!ret)
		p->limit_lines++;
	free(ranges);
	return ret;
}

/*
 * After the last line, when every allow is known: a limit applies to ports
 * open to every source. On a closed port it would do nothing, and on a port
 * open only to listed sources neither (those are exempt): both are errors.
 */
static int check_limited_ports(struct parser *p)
{
	for (size_t i = 0; i < p->rs->n_limits; i++) {
		const struct pc_limit_rule *limit = &p->rs->limits[i];
		const __u64 *open = p->marks->bits[limit->proto][0];
		const __u64 *listed = p->marks->bits[limit->proto][1];
		const char *proto = cfg_proto_names[limit->proto];

		for (__u32 port = limit->lo; port <= limit->hi; port++) {
			if ((open[port / 64] >> (port % 64)) & 1)
				continue;
			p->line = limit->line;
			if ((listed[port / 64] >> (port % 64)) & 1)
				return parse_error(p,
						   "limit: %s port %u is open only to listed sources, "
						   "which are exempt: the limit would never apply",
						   proto, port);
			return parse_error(p,
					   "limit: %s port %u is not allowed (add 'allow %s %u' "
					   "or drop it from the limit)",
					   proto, port, proto, port);
		}
	}
	return 0;
}

static const struct directive {
	const char *name;
	int max_words; /* including the directive */
	int (*parse)(struct parser *p, char **words, int n);
} directives[] = {
	{ "allow", 5, parse_allow },
	{ "deny", 3, parse_deny },
	{ "exempt", 3, parse_exempt },
	{ "limit", 7, parse_limit },
	{ "scan-detect", 1 + 2 * N_SCAN_KEYS, parse_scan_detect },
	{ "crowdsec", 7, parse_crowdsec },
};

#define N_DIRECTIVES ARRAY_SIZE(directives)

static int unknown_directive(struct parser *p, const char *word)
{
	char closest[32] = "";
	size_t best = CFG_SUGGEST_EDITS;

	for (size_t i = 0; i < N_DIRECTIVES; i++)
		cfg_suggest(word, directives[i].name, closest, sizeof(closest), &best);
	for (size_t i = 0; i < N_CHOICES; i++)
		cfg_suggest(word, choices[i].name, closest, sizeof(closest), &best);
	if (closest[0])
		return parse_error(p, "unknown directive " QW " (did you mean '%s'?)", SHOW(word),
				   closest);
	return parse_error(p, "unknown directive " QW, SHOW(word));
}

static int parse_line(struct parser *p, char *line)
{
	const struct choice *choice;
	char *words[MAX_WORDS];
	int n = cfg_split_words(line, "#", words, MAX_WORDS);

	if (n == 0)
		return 0;
	choice = find_choice(words[0]);
	if (choice)
		return set_choice(p, choice, words, n < 3 ? n : 3, 1);
	for (size_t i = 0; i < N_DIRECTIVES; i++) {
		if (strcmp(words[0], directives[i].name) != 0)
			continue;
		/* Handlers see at most one word too many, which they report. */
		if (n > directives[i].max_words + 1)
			n = directives[i].max_words + 1;
		return directives[i].parse(p, words, n);
	}
	return unknown_directive(p, words[0]);
}

/* The directory part of NAME, or NULL for a bare file name. */
static int dir_of(const char *name, char **dir)
{
	const char *slash = strrchr(name, '/');

	*dir = NULL;
	if (!slash)
		return 0;
	*dir = slash == name ? strdup("/") : strndup(name, slash - name);
	return *dir ? 0 : -ENOMEM;
}

int pc_config_parse(const char *name, const char *text, size_t len, struct pc_ruleset *rs,
		    struct pc_error *err)
{
	struct pc_ruleset parsed;
	struct parser p = { 0 };
	struct pc_error unused;
	struct cfg_lines *lines;
	char *base_dir;
	int ret;

	if (!err)
		err = &unused;
	if (!name)
		name = "<config>";
	err->msg[0] = '\0';
	pc_ruleset_init(rs);
	pc_ruleset_init(&parsed);
	lines = malloc(sizeof(*lines));
	p.marks = calloc(1, sizeof(*p.marks));
	if (!lines || !p.marks || dir_of(name, &base_dir)) {
		free(lines);
		free(p.marks);
		return cfg_error_file(err, name, ENOMEM);
	}
	p.name = name;
	p.base_dir = base_dir;
	p.rs = &parsed;
	p.err = err;

	ret = cfg_lines_init(lines, name, text, len, err);
	while (!ret && (ret = cfg_lines_next(lines, err)) > 0) {
		p.line = lines->number;
		ret = parse_line(&p, lines->buf);
	}
	if (ret == 0)
		ret = check_limited_ports(&p);
	free(lines);
	free(p.marks);
	free(base_dir);
	if (ret < 0) {
		pc_ruleset_free(&parsed);
		return ret;
	}
	*rs = parsed;
	return 0;
}

static int parse_config_text(const char *name, const char *text, size_t len, void *rs,
			     struct pc_error *err)
{
	return pc_config_parse(name, text, len, rs, err);
}

int pc_config_load(const char *path, struct pc_ruleset *rs, struct pc_error *err)
{
	pc_ruleset_init(rs);
	return cfg_parse_file(path, parse_config_text, rs, err, NULL);
}
/*
 * The other way round: a ruleset as a config file that parses back to it.
 * One row per directive, in the order a config is usually written; a new
 * directive adds its row here next to its parser above. Lists are cut into
 * several lines of the same directive well below PC_CONFIG_MAX_LINE.
 */
#define PRINT_LINE_MAX 3000

/* Words joined by commas after HEAD (and before TAIL), as many lines as it takes. */
struct joiner {
	FILE *out;
	const char *head, *tail;
	size_t used; /* characters on the open line; 0: none open */
};

static void join_word(struct joiner *j, const char *word)
{
	size_t n = strlen(word);

	if (j->used && j->used + n + 1 > PRINT_LINE_MAX) {
		fprintf(j->out, "%s\n", j->tail);
		j->used = 0;
	}
	if (!j->used)
		j->used = fprintf(j->out, "%s %s", j->head, word);
	else
		j->used += fprintf(j->out, ",%s", word);
}

static void join_end(struct joiner *j)
{
	if (j->used)
		fprintf(j->out, "%s\n", j->tail);
	j->used = 0;
}

static void print_choices(FILE *out, const struct pc_ruleset *rs)
{
	for (size_t i = 0; i < N_CHOICES; i++) {
		const struct choice *c = &choices[i];
		const char *field = (const char *)rs + c->offset;
		int value = 0;
		bool flag;

		if (c->size == sizeof(bool)) {
			memcpy(&flag, field, sizeof(flag));
			value = flag;
		} else {
			memcpy(&value, field, sizeof(value));
		}
		for (int w = 0; c->words[w]; w++)
			if (c->values[w] == value)
				fprintf(out, "%s %s\n", c->name, c->words[w]);
	}
}

static void print_scan_detect(FILE *out, const struct pc_ruleset *rs)
{
	char line[160];

	format_scan_detect(rs, line, sizeof(line));
	fprintf(out, "%s\n", line);
}

static void print_allow_proto(FILE *out, const struct pc_ruleset *rs)
{
	struct joiner j = { .out = out, .head = "allow proto", .tail = "" };
	char number[8];

	for (int proto = 0; proto < 256; proto++) {
		if (!(rs->allowed_protos[proto / 64] >> (proto % 64) & 1))
			continue;
		snprintf(number, sizeof(number), "%d", proto);
		join_word(&j, number);
	}
	join_end(&j);
}

static void print_prefixes(FILE *out, const char *head, const struct pc_prefix_list *list)
{
	struct joiner j = { .out = out, .head = head, .tail = "" };
	char word[INET6_ADDRSTRLEN + 4];

	for (size_t i = 0; i < list->count; i++)
		join_word(&j, pc_prefix_format(&list->items[i], word, sizeof(word)));
	join_end(&j);
}

static void print_deny(FILE *out, const struct pc_ruleset *rs)
{
	print_prefixes(out, "deny from", &rs->denied);
}

static void print_trusted(FILE *out, const struct pc_ruleset *rs)
{
	print_prefixes(out, "allow from", &rs->trusted);
}

static void print_exempt(FILE *out, const struct pc_ruleset *rs)
{
	print_prefixes(out, "exempt from", &rs->exempt);
}

static bool same_prefixes(const struct pc_prefix_list *a, const struct pc_prefix_list *b)
{
	return a->count == b->count &&
	       (!a->count || memcmp(a->items, b->items, a->count * sizeof(*a->items)) == 0);
}

/* "allow PROTO PORTS [from SOURCES]": one line (or run of lines) for every
 * protocol and source list, ports in the order given. */
static void print_allows(FILE *out, const struct pc_ruleset *rs)
{
	bool *done = calloc(rs->n_allows ? rs->n_allows : 1, sizeof(*done));
	char head[32], tail[PRINT_LINE_MAX + 16], word[16];

	if (!done)
		return;
	for (size_t i = 0; i < rs->n_allows; i++) {
		const struct pc_allow *first = &rs->allows[i];
		struct joiner j = { .out = out, .head = head, .tail = "" };

		if (done[i])
			continue;
		snprintf(head, sizeof(head), "allow %s", cfg_proto_names[first->proto]);
		tail[0] = '\0';
		if (first->sources.count) {
			/* A long list goes on lines of its own, after the ports. */
			FILE *t = fmemopen(tail, sizeof(tail), "w");

			if (t) {
				print_prefixes(t, " from", &first->sources);
				fclose(t);
			}
			if (strchr(tail, '\n') != strrchr(tail, '\n') || strlen(tail) > 1024)
				tail[0] = '\0';
			else
				tail[strcspn(tail, "\n")] = '\0';
		}
		j.tail = tail;
		for (size_t k = i; k < rs->n_allows; k++) {
			const struct pc_allow *a = &rs->allows[k];

			if (done[k] || a->proto != first->proto ||
			    !same_prefixes(&a->sources, &first->sources))
				continue;
			done[k] = true;
			if (a->lo == a->hi)
				snprintf(word, sizeof(word), "%u", a->lo);
			else
				snprintf(word, sizeof(word), "%u-%u", a->lo, a->hi);
			if (first->sources.count && !tail[0]) {
				/* Sources too many for one line: a line per port range. */
				char line_head[64];

				snprintf(line_head, sizeof(line_head), "%s %s from", head, word);
				print_prefixes(out, line_head, &a->sources);
				continue;
			}
			join_word(&j, word);
		}
		join_end(&j);
	}
	free(done);
}

/* "limit PROTO PORTS rate N/DURATION burst M": the ranges of one line together. */
static void print_limits(FILE *out, const struct pc_ruleset *rs)
{
	char head[64], tail[96], word[16], per[32];

	for (size_t i = 0; i < rs->n_limits;) {
		const struct pc_limit_rule *first = &rs->limits[i];
		struct joiner j = { .out = out, .head = head, .tail = tail };

		snprintf(head, sizeof(head), "limit %s", cfg_proto_names[first->proto]);
		cfg_format_duration(first->per_ns, per, sizeof(per));
		snprintf(tail, sizeof(tail), " rate %u/%s burst %u", first->rate, per, first->burst);
		for (; i < rs->n_limits && rs->limits[i].line == first->line; i++) {
			const struct pc_limit_rule *l = &rs->limits[i];

			if (l->lo == l->hi)
				snprintf(word, sizeof(word), "%u", l->lo);
			else
				snprintf(word, sizeof(word), "%u-%u", l->lo, l->hi);
			join_word(&j, word);
		}
		join_end(&j);
	}
}

static const struct printer {
	void (*print)(FILE *out, const struct pc_ruleset *rs);
} printers[] = {
	{ print_choices },  { print_scan_detect }, { print_allow_proto }, { print_deny },
	{ print_trusted },  { print_exempt },	   { print_allows },	  { print_limits },
};

int pc_ruleset_print(FILE *out, const struct pc_ruleset *rs)
{
	for (size_t i = 0; i < ARRAY_SIZE(printers); i++)
		printers[i].print(out, rs);
	return ferror(out) ? -EIO : 0;
}
