// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rules IFACE [--json]: the live rule set, read back from the maps, as a
 * config file that check accepts and reload turns into the same maps.
 *
 * What the maps keep is what the data path needs; the config is rebuilt from
 * it. Ports opened by a range carry PC_PORT_IN_RANGE and come back as ranges
 * (neighbouring ranges merged), single ports as single ports. The trie's
 * deny/trust/exempt entries carry the flags of every prefix around them
 * (maps/sources.h); a prefix is printed for the flags it adds to the prefix
 * around it, so the reload gives every entry the same flags again.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "exempt.h"
#include "log.h"
#include "pins.h"
#include "rules.h"
#include "../maps/sources.h"

#define BLANK_CHARS " \t\r\f\v"

struct trie_entry {
	struct pc_source_key key;
	__u32 value;
};

struct trie {
	struct trie_entry *entries;
	size_t n;
};

static int read_trie(const struct pc_maps *maps, __u32 set, struct trie *t, int *trie_fd)
{
	struct pc_source_key key, next;
	size_t cap = 0;
	void *prev = NULL;
	int fd = pc_sources_open(maps, set), err = 0;

	memset(t, 0, sizeof(*t));
	if (fd < 0)
		return fd;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (t->n == cap) {
			struct trie_entry *grown;

			cap = cap ? 2 * cap : 256;
			grown = realloc(t->entries, cap * sizeof(*grown));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			t->entries = grown;
		}
		t->entries[t->n].key = next;
		if (bpf_map_lookup_elem(fd, &next, &t->entries[t->n].value) == 0)
			t->n++;
		key = next;
		prev = &key;
	}
	if (err || !trie_fd)
		close(fd);
	else
		*trie_fd = fd;
	return err;
}

static void key_to_prefix(const struct pc_source_key *key, struct pc_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = key->family == PC_SRC_FAMILY_V4 ? AF_INET : AF_INET6;
	p->len = key->prefixlen - PC_SRC_KEY_HDR_BITS;
	memcpy(p->addr, key->addr, p->family == AF_INET ? 4 : 16);
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct pc_prefix *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	return c ? c : x->len - y->len;
}

static void sort_list(struct pc_prefix_list *list)
{
	if (list->count)
		qsort(list->items, list->count, sizeof(*list->items), cmp_prefix);
}

/* The prefixes of per-port list ID (0: of every per-port list), sorted. */
static int port_list(const struct trie *t, __u16 id, bool any, struct pc_prefix_list *list)
{
	struct pc_prefix p;

	memset(list, 0, sizeof(*list));
	for (size_t i = 0; i < t->n; i++) {
		const struct pc_source_key *key = &t->entries[i].key;

		if (key->kind != PC_SRC_PORT || (!any && key->list != id))
			continue;
		key_to_prefix(key, &p);
		if (pc_prefix_list_add(list, &p))
			return -ENOMEM;
	}
	sort_list(list);
	return 0;
}

/* The flags of the longest entry strictly around KEY (see the top of the file). */
static __u32 parent_flags(int trie_fd, const struct pc_source_key *key)
{
	struct pc_source_key parent = *key;
	__u32 value = 0;

	if (key->prefixlen <= PC_SRC_KEY_HDR_BITS)
		return 0;
	parent.prefixlen--;
	return bpf_map_lookup_elem(trie_fd, &parent, &value) ? 0 : value;
}

static bool listed(const struct pc_prefix_list *sorted, const struct pc_prefix *p)
{
	return sorted->count &&
	       bsearch(p, sorted->items, sorted->count, sizeof(*p), cmp_prefix) != NULL;
}

/* Deny, trust and exempt lists: each entry for the flags it adds. Exempt
 * prefixes that a per-port list or exempt auto put there are the loader's. */
static int read_source_lists(const struct trie *t, int trie_fd, struct pc_ruleset *rs)
{
	struct pc_prefix_list port_sources, automatic = {};
	struct pc_prefix p;
	int err = port_list(t, 0, true, &port_sources);

	if (!err && rs->exempt_auto && pc_exempt_auto(&automatic) == 0)
		sort_list(&automatic);
	for (size_t i = 0; i < t->n && !err; i++) {
		const struct trie_entry *e = &t->entries[i];
		bool loaders;
		__u32 own;

		if (e->key.kind != PC_SRC_SOURCE)
			continue;
		own = e->value & ~parent_flags(trie_fd, &e->key);
		key_to_prefix(&e->key, &p);
		loaders = listed(&port_sources, &p) || listed(&automatic, &p);
		if (loaders)
			own &= ~PC_SRC_F_EXEMPT;
		/* Listed again inside a prefix with the same flags: one of them
		 * brings the entry back, the prefix around it the rest. */
		if (!own && !loaders)
			own = e->value & -e->value;
		if (own & PC_SRC_F_DENY)
			err = pc_prefix_list_add(&rs->denied, &p);
		if (!err && (own & PC_SRC_F_TRUST))
			err = pc_prefix_list_add(&rs->trusted, &p);
		if (!err && (own & PC_SRC_F_EXEMPT))
			err = pc_prefix_list_add(&rs->exempt, &p);
	}
	sort_list(&rs->denied);
	sort_list(&rs->trusted);
	sort_list(&rs->exempt);
	pc_prefix_list_free(&port_sources);
	pc_prefix_list_free(&automatic);
	return err;
}

static void read_settings(const struct pc_config *cfg, struct pc_ruleset *rs)
{
	rs->mode = cfg->flags & PC_CFG_MONITOR ? PC_MODE_MONITOR : PC_MODE_ENFORCE;
	rs->scan_flags_pass = cfg->flags & PC_CFG_SCAN_PASS;
	rs->icmp_deny = cfg->flags & PC_CFG_ICMP_DENY;
	rs->frag_deny = cfg->flags & PC_CFG_FRAG_DENY;
	rs->scan_detect = cfg->flags & PC_CFG_SCAN_DETECT;
	rs->exempt_auto = cfg->flags & PC_CFG_EXEMPT_AUTO;
	rs->established = cfg->established;
	rs->scan_ports = cfg->scan_ports;
	rs->scan_window_ns = cfg->scan_window_ns;
	rs->ban_ns = cfg->ban_ns;
	rs->ban_max_ns = cfg->ban_max_ns;
	rs->scan_ipv6_prefix = cfg->scan_ipv6_prefix;
	memcpy(rs->allowed_protos, cfg->protos, sizeof(rs->allowed_protos));
	rs->log_drops_rate = cfg->flags & PC_CFG_LOG_DROPS ? cfg->log_drops_rate : 0;
}

static int add_allow(struct pc_ruleset *rs, size_t *cap, enum pc_proto proto, __u16 lo, __u16 hi,
		     const struct trie *t, __u16 list)
{
	struct pc_allow *a;

	if (rs->n_allows == *cap) {
		size_t want = *cap ? 2 * *cap : 64;
		struct pc_allow *grown = realloc(rs->allows, want * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		rs->allows = grown;
		*cap = want;
	}
	a = &rs->allows[rs->n_allows];
	memset(a, 0, sizeof(*a));
	a->proto = proto;
	a->lo = lo;
	a->hi = hi;
	rs->n_allows++;
	return list ? port_list(t, list, false, &a->sources) : 0;
}

/* What makes one port's rule the same as its neighbour's in a range. */
static __u32 rule_class(const struct pc_port_rule *r)
{
	__u32 open = r->flags & (PC_PORT_ALLOWED | PC_PORT_SOURCE_LIMITED);

	if (!open)
		return 0;
	return open | (r->flags & PC_PORT_IN_RANGE) |
	       (r->flags & PC_PORT_SOURCE_LIMITED ? (__u32)r->source_list << 16 : 0);
}

static int read_limits(const struct pc_maps *maps, __u32 set, const struct pc_port_table *table,
		       struct pc_ruleset *rs);

/* Open ports: runs of range ports with the same rule, single ports alone. */
static int read_ports(const struct pc_maps *maps, __u32 set, const struct trie *t,
		      struct pc_ruleset *rs)
{
	struct pc_port_table *table = calloc(1, sizeof(*table));
	size_t cap = 0;
	int err = table ? pc_maps_read_ports(maps, set, table) : -ENOMEM;

	for (int proto = 0; proto < PC_PROTOS && !err; proto++) {
		const struct pc_port_rule *rules = &table->rules[proto * PC_PORTS];

		for (__u32 port = 1; port < PC_PORTS && !err; port++) {
			__u32 class = rule_class(&rules[port]), hi = port;

			if (!class)
				continue;
			if (rules[port].flags & PC_PORT_IN_RANGE)
				while (hi + 1 < PC_PORTS && rule_class(&rules[hi + 1]) == class)
					hi++;
			err = add_allow(rs, &cap, proto, port, hi, t,
					rules[port].flags & PC_PORT_SOURCE_LIMITED
						? rules[port].source_list
						: 0);
			port = hi;
		}
	}
	if (!err)
		err = read_limits(maps, set, table, rs);
	free(table);
	return err;
}

/*
 * A rate the maps keep as interval_ns (DURATION / N, rounded down) written
 * back as N/DURATION: the smallest N whose whole-second DURATION gives the
 * same interval. Returns false when none up to PC_RATE_MAX_N does.
 */
static bool rate_of(__u64 interval_ns, __u32 *rate, __u64 *per_ns)
{
	const __u64 second = 1000000000ULL;

	for (__u64 n = 1; n <= PC_RATE_MAX_N; n++) {
		__u64 seconds = (interval_ns * n + second - 1) / second;

		if (seconds && seconds * second / n == interval_ns) {
			*rate = n;
			*per_ns = seconds * second;
			return true;
		}
	}
	return false;
}

/* "limit" lines: each line id's ports, in runs, as the line (id order is line order). */
static int read_limits(const struct pc_maps *maps, __u32 set, const struct pc_port_table *table,
		       struct pc_ruleset *rs)
{
	struct pc_limit *limits = calloc(PC_LIMITS_MAX, sizeof(*limits));
	int err = limits ? pc_maps_read_limits(maps, set, limits) : -ENOMEM;

	for (__u32 id = 1; id < PC_LIMITS_MAX && !err; id++) {
		struct pc_limit_rule rule = { .line = id };

		if (!limits[id].interval_ns)
			continue;
		if (!rate_of(limits[id].interval_ns, &rule.rate, &rule.per_ns)) {
			err = -ERANGE;
			break;
		}
		rule.burst = limits[id].tolerance_ns / limits[id].interval_ns + 1;
		for (__u32 index = 0; index < PC_PORT_SLOTS && !err; index++) {
			const struct pc_port_rule *r = &table->rules[index];
			struct pc_limit_rule *grown;

			if (!(r->flags & PC_PORT_RATE_LIMITED) || r->limit != id ||
			    !(index % PC_PORTS))
				continue;
			rule.proto = index / PC_PORTS;
			rule.lo = rule.hi = index % PC_PORTS;
			while (rule.hi + 1 < PC_PORTS && table->rules[index + 1].limit == id &&
			       (table->rules[index + 1].flags & PC_PORT_RATE_LIMITED)) {
				rule.hi++;
				index++;
			}
			grown = realloc(rs->limits, (rs->n_limits + 1) * sizeof(*grown));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			rs->limits = grown;
			rs->limits[rs->n_limits++] = rule;
		}
	}
	free(limits);
	return err;
}

int pc_rules_read(const struct pc_maps *maps, __u32 set, struct pc_ruleset *rs)
{
	struct pc_config cfg;
	struct trie t = {};
	int trie_fd = -1, err;

	pc_ruleset_init(rs);
	err = pc_maps_read_config(maps, set, &cfg);
	if (!err) {
		read_settings(&cfg, rs);
		err = read_trie(maps, set, &t, &trie_fd);
	}
	if (!err)
		err = read_source_lists(&t, trie_fd, rs);
	if (!err)
		err = read_ports(maps, set, &t, rs);
	if (trie_fd >= 0)
		close(trie_fd);
	free(t.entries);
	if (err)
		pc_ruleset_free(rs);
	return err;
}

/* The last line RS prints (the allow or limit line of a ruleset holding only that), into BUF. */
static void last_line(struct pc_ruleset *one, char *buf, size_t len)
{
	FILE *out = fmemopen(buf, len, "w");
	char *last;

	buf[0] = '\0';
	if (!out)
		return;
	/* The other printers have nothing to say but their settings. */
	one->scan_detect = false;
	pc_ruleset_print(out, one);
	fclose(out);
	buf[len - 1] = '\0';
	if (*buf && buf[strlen(buf) - 1] == '\n')
		buf[strlen(buf) - 1] = '\0';
	last = strrchr(buf, '\n');
	if (last)
		memmove(buf, last + 1, strlen(last + 1) + 1);
}

/* Picks the rules of RS that judge PROTO/PORT into ONE, which borrows them. */
typedef void (*rules_pick_fn)(const struct pc_ruleset *rs, struct pc_ruleset *one,
			      enum pc_proto proto, __u16 port);

/* The allow line holding the port: the last one, as the maps hold it. */
static void pick_allow(const struct pc_ruleset *rs, struct pc_ruleset *one, enum pc_proto proto,
		       __u16 port)
{
	for (size_t i = 0; i < rs->n_allows; i++) {
		if (rs->allows[i].proto == proto && rs->allows[i].lo <= port &&
		    port <= rs->allows[i].hi) {
			one->allows = &rs->allows[i];
			one->n_allows = 1;
		}
	}
}

/* The limit line holding the port: the whole line, every range with its id. */
static void pick_limit(const struct pc_ruleset *rs, struct pc_ruleset *one, enum pc_proto proto,
		       __u16 port)
{
	for (size_t i = 0; i < rs->n_limits && !one->n_limits; i++) {
		const struct pc_limit_rule *l = &rs->limits[i];
		size_t k = i;

		if (l->proto != proto || port < l->lo || port > l->hi)
			continue;
		while (k > 0 && rs->limits[k - 1].line == l->line)
			k--;
		one->limits = &rs->limits[k];
		while (k < rs->n_limits && rs->limits[k].line == l->line)
			k++, one->n_limits++;
	}
}

/* The config line PICK finds for PROTO/PORT in rule set SET, "" if none. */
static void rules_line(const struct pc_maps *maps, __u32 set, enum pc_proto proto, __u16 port,
		       rules_pick_fn pick, char *buf, size_t len)
{
	struct pc_ruleset rs, one;

	buf[0] = '\0';
	if (pc_rules_read(maps, set, &rs))
		return;
	pc_ruleset_init(&one);
	pick(&rs, &one, proto, port);
	if (one.n_allows || one.n_limits)
		last_line(&one, buf, len);
	pc_ruleset_free(&rs);
}

void pc_rules_port_line(const struct pc_maps *maps, __u32 set, enum pc_proto proto, __u16 port,
			char *buf, size_t len)
{
	rules_line(maps, set, proto, port, pick_allow, buf, len);
}

void pc_rules_limit_line(const struct pc_maps *maps, __u32 set, enum pc_proto proto, __u16 port,
			 char *buf, size_t len)
{
	rules_line(maps, set, proto, port, pick_limit, buf, len);
}

void pc_rules_source_line(const struct pc_maps *maps, __u32 set, const struct pc_prefix *source,
			  __u32 flag, char *buf, size_t len)
{
	struct pc_source_key key, best = {};
	struct trie t;
	struct pc_prefix p;
	char word[INET6_ADDRSTRLEN + 4];

	snprintf(buf, len, "%s from ?", flag == PC_SRC_F_DENY ? "deny" : "allow");
	int trie_fd = -1;

	pc_source_key_make(&key, PC_SRC_SOURCE, 0, source->family, source->addr, source->len);
	if (read_trie(maps, set, &t, &trie_fd))
		return;
	/* The longest prefix with FLAG of its own (not only from a prefix
	 * around it) that holds the source. */
	for (size_t i = 0; i < t.n; i++) {
		const struct trie_entry *e = &t.entries[i];
		__u32 bits = e->key.prefixlen - PC_SRC_KEY_HDR_BITS, whole = bits / 8;

		if (e->key.kind != PC_SRC_SOURCE || e->key.family != key.family ||
		    !(e->value & flag) || e->key.prefixlen < best.prefixlen ||
		    (parent_flags(trie_fd, &e->key) & flag))
			continue;
		if (memcmp(e->key.addr, key.addr, whole) ||
		    (bits % 8 && (e->key.addr[whole] ^ key.addr[whole]) >> (8 - bits % 8)))
			continue;
		best = e->key;
	}
	close(trie_fd);
	free(t.entries);
	if (!best.prefixlen)
		return;
	key_to_prefix(&best, &p);
	snprintf(buf, len, "%s from %s", flag == PC_SRC_F_DENY ? "deny" : "allow",
		 pc_prefix_format(&p, word, sizeof(word)));
}

/*
 * "deny from @FILE" and friends: a list file the recorded config names,
 * whose every prefix is still in the live list, is printed as the file
 * (with its size) instead of inline; reload reads the same file again.
 * Anything else, a file changed since, stays inline.
 */
struct list_ref {
	const char *directive; /* "deny from" */
	char path[PATH_MAX];   /* absolute */
	size_t count;
};

struct list_refs {
	struct list_ref items[32];
	size_t n;
};

static struct pc_prefix_list *list_of(struct pc_ruleset *rs, const char *directive)
{
	if (strcmp(directive, "deny") == 0)
		return &rs->denied;
	if (strcmp(directive, "allow") == 0)
		return &rs->trusted;
	if (strcmp(directive, "exempt") == 0)
		return &rs->exempt;
	return NULL;
}

/* Take FILE's prefixes out of LIST if every one of them is there. */
static bool take_file(struct pc_prefix_list *list, const char *file, size_t *count)
{
	struct pc_prefix_list from = {};
	size_t kept = 0;
	bool all = pc_parse_list_file(file, &from, NULL, NULL) == 0 && from.count > 0;

	sort_list(&from);
	for (size_t i = 0; all && i < from.count; i++)
		all = listed(list, &from.items[i]);
	for (size_t i = 0; all && i < list->count; i++)
		if (!listed(&from, &list->items[i]))
			list->items[kept++] = list->items[i];
	if (all) {
		list->count = kept;
		*count = from.count;
	}
	pc_prefix_list_free(&from);
	return all;
}

static void find_list_files(const char *config, struct pc_ruleset *rs, struct list_refs *refs)
{
	char line[PC_CONFIG_MAX_LINE + 2], dir[PATH_MAX], path[PATH_MAX * 2], *save;
	FILE *f = config[0] ? fopen(config, "r") : NULL;
	const char *slash = strrchr(config, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - config) : 1, slash ? config : ".");
	while (f && fgets(line, sizeof(line), f) && refs->n < 32) {
		char *directive, *from, *sources, *word;
		struct pc_prefix_list *list;

		line[strcspn(line, "#\n")] = '\0';
		directive = strtok_r(line, BLANK_CHARS, &save);
		from = strtok_r(NULL, BLANK_CHARS, &save);
		sources = strtok_r(NULL, BLANK_CHARS, &save);
		if (!directive || !from || !sources || strcmp(from, "from") != 0 ||
		    !(list = list_of(rs, directive)))
			continue;
		for (word = strtok_r(sources, ",", &save); word && refs->n < 32;
		     word = strtok_r(NULL, ",", &save)) {
			struct list_ref *ref = &refs->items[refs->n];

			if (word[0] != '@')
				continue;
			snprintf(path, sizeof(path), "%s%s%s", word[1] == '/' ? "" : dir,
				 word[1] == '/' ? "" : "/", word + 1);
			if (!realpath(path, ref->path) || !take_file(list, ref->path, &ref->count))
				continue;
			ref->directive = list == &rs->denied	? "deny from"
					 : list == &rs->trusted ? "allow from"
								: "exempt from";
			refs->n++;
		}
	}
	if (f)
		fclose(f);
}

/* --json: the rule set as data, exactly as the maps hold it. */
static void print_list_json(const char *name, const struct pc_prefix_list *list)
{
	char word[INET6_ADDRSTRLEN + 4];

	printf(", \"%s\": [", name);
	for (size_t i = 0; i < list->count; i++)
		printf("%s\"%s\"", i ? ", " : "",
		       pc_prefix_format(&list->items[i], word, sizeof(word)));
	printf("]");
}

static void print_rules_json(const char *ifname, const struct pc_meta *meta,
			     const struct pc_config *cfg, const struct pc_ruleset *rs,
			     const char *text)
{
	printf("{\"interface\": ");
	json_string(ifname);
	printf(", \"config\": ");
	json_string(meta->config_path);
	printf(", \"generation\": %u, \"drift\": %s", cfg->generation,
	       cfg->flags & PC_CFG_MODIFIED ? "true" : "false");
	print_list_json("deny", &rs->denied);
	print_list_json("trusted", &rs->trusted);
	print_list_json("exempt", &rs->exempt);
	printf(", \"ports\": [");
	for (size_t i = 0; i < rs->n_allows; i++) {
		const struct pc_allow *a = &rs->allows[i];

		printf("%s\n  {\"proto\": \"%s\", \"from\": %u, \"to\": %u, \"range\": %s",
		       i ? "," : "", pc_proto_name(a->proto), a->lo, a->hi,
		       a->lo != a->hi ? "true" : "false");
		print_list_json("sources", &a->sources);
		printf("}");
	}
	printf("],\n \"text\": ");
	json_string(text);
	printf("}\n");
}

int pc_cmd_rules(const char *ifname, bool json)
{
	struct pc_ruleset rs;
	struct pc_config cfg;
	struct pc_meta meta = {};
	struct list_refs refs = {};
	struct pc_maps maps;
	char *text = NULL;
	size_t text_len = 0;
	__u32 set, zero = 0;
	FILE *out;
	int err;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	err = pc_maps_active_set(&maps, &set);
	if (!err)
		err = pc_maps_read_config(&maps, set, &cfg);
	if (!err && bpf_map_lookup_elem(maps.meta, &zero, &meta))
		err = -errno;
	if (!err)
		err = pc_rules_read(&maps, set, &rs);
	pc_maps_close(&maps);
	if (err) {
		pc_warn("%s: can't read the live rules: %s", ifname, pc_strerr(err));
		return PC_EXIT_FAILURE;
	}
	out = open_memstream(&text, &text_len);
	if (!out) {
		pc_ruleset_free(&rs);
		return PC_EXIT_FAILURE;
	}
	fprintf(out, "# live rules of %s, from %s, generation %u%s\n", ifname,
		meta.config_path[0] ? meta.config_path : "(no config file)", cfg.generation,
		cfg.flags & PC_CFG_MODIFIED ? ", modified at runtime (allow/disallow)" : "");
	if (rs.exempt_auto)
		fprintf(out, "# exempt auto adds the gateways and resolvers at each reload\n");
	/* The JSON lists stay whole: they are a dump of the maps. */
	if (!json)
		find_list_files(meta.config_path, &rs, &refs);
	for (size_t i = 0; i < refs.n; i++)
		fprintf(out, "%s @%s  # %zu prefixes from %s\n", refs.items[i].directive,
			refs.items[i].path, refs.items[i].count, refs.items[i].path);
	pc_ruleset_print(out, &rs);
	fclose(out);
	if (json)
		print_rules_json(ifname, &meta, &cfg, &rs, text ? text : "");
	else
		fputs(text ? text : "", stdout);
	free(text);
	pc_ruleset_free(&rs);
	return PC_EXIT_OK;
}
