// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "bans.h"

__u64 pc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void pc_addr_key_make(struct pc_addr_key *key, int family, const __u8 *addr, __u32 ipv6_prefix)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, sizeof(*key));
	if (family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += 12;
	}
	if (family == AF_INET) {
		key->family = PC_SRC_FAMILY_V4;
		memcpy(key->addr, addr, 4);
		return;
	}
	key->family = PC_SRC_FAMILY_V6;
	for (__u32 bit = 0; bit < 128 && bit < ipv6_prefix; bit += 8) {
		__u32 take = ipv6_prefix - bit < 8 ? ipv6_prefix - bit : 8;

		key->addr[bit / 8] = addr[bit / 8] & (__u8)(0xff << (8 - take));
	}
}

const char *pc_addr_key_format(const struct pc_addr_key *key, __u32 ipv6_prefix, char *buf,
			       size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (key->family == PC_SRC_FAMILY_V4) {
		inet_ntop(AF_INET, key->addr, buf, len);
		return buf;
	}
	inet_ntop(AF_INET6, key->addr, text, sizeof(text));
	if (ipv6_prefix >= 128)
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "%s/%u", text, ipv6_prefix);
	return buf;
}

/*
 * The gate count and the hint slots are shared with the data path, which
 * changes them with atomic adds; user space maps them and does the same, so
 * neither side can lose the other's update. Both may run high for a moment
 * and never low: a high count only costs lookups, a low one would let
 * banned sources through. So a new ban is counted before it is inserted and
 * a deleted one after it is gone. A gate is mapped once per command, so a
 * batch of bans costs one map update each and no more system calls.
 */
struct ban_gate {
	struct pc_ban_state *state;
	__u64 *hint; /* PC_BAN_HINT_SLOTS */
};

#define HINT_BYTES (PC_BAN_HINT_SLOTS * sizeof(__u64))

static void gate_close(struct ban_gate *gate)
{
	if (gate->state)
		munmap(gate->state, sizeof(*gate->state));
	if (gate->hint)
		munmap(gate->hint, HINT_BYTES);
	gate->state = NULL;
	gate->hint = NULL;
}

static int gate_open(const struct pc_maps *maps, struct ban_gate *gate)
{
	void *state, *hint;

	gate->state = NULL;
	gate->hint = NULL;
	state = mmap(NULL, sizeof(*gate->state), PROT_READ | PROT_WRITE, MAP_SHARED,
		     maps->ban_state, 0);
	if (state == MAP_FAILED)
		return -errno;
	gate->state = state;
	hint = mmap(NULL, HINT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, maps->ban_hint, 0);
	if (hint == MAP_FAILED) {
		int err = -errno;

		gate_close(gate);
		return err;
	}
	gate->hint = hint;
	return 0;
}

static void gate_add(__u64 *word, int delta)
{
	__atomic_add_fetch(word, (__u64)(__s64)delta, __ATOMIC_SEQ_CST);
}

static void add_hint(struct ban_gate *gate, const struct pc_addr_key *key, int delta)
{
	gate_add(&gate->hint[pc_ban_hint_slot(key)], delta);
}

/* Adds N to a per-CPU __u64 statistic (on the first CPU's share). */
static int count_stat(const struct pc_maps *maps, __u32 stat, size_t n)
{
	__u64 *percpu = calloc(maps->ncpus, sizeof(*percpu));
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(maps->scan_stats, &stat, percpu) == 0) {
		percpu[0] += n;
		if (bpf_map_update_elem(maps->scan_stats, &stat, percpu, BPF_ANY))
			err = -errno;
	} else {
		err = -errno;
	}
	free(percpu);
	return err;
}

static int ban_remove(const struct pc_maps *maps, struct ban_gate *gate,
		      const struct pc_addr_key *key)
{
	if (bpf_map_delete_elem(maps->bans, key))
		return -errno;
	add_hint(gate, key, -1);
	gate_add(&gate->state->active, -1);
	gate_add(&gate->state->gen, 1); /* after the change: see pc_ban_cache */
	return 0;
}

/*
 * Frees a place for a manual ban in a table that scan bans and manual bans
 * fill to the brim: the oldest scan ban still in force goes, the one the
 * data path's ring would replace next. -E2BIG if there is none: the table
 * is full of manual bans.
 */
static int evict_oldest_scan_ban(const struct pc_maps *maps, struct ban_gate *gate)
{
	struct pc_ban_state state;
	struct pc_ring_slot slot;
	struct pc_ban ban;
	__u32 zero = 0;
	__u64 pos;

	if (bpf_map_lookup_elem(maps->ban_state, &zero, &state))
		return -errno;
	pos = state.scan_next > PC_SCAN_BANS_MAX ? state.scan_next - PC_SCAN_BANS_MAX : 0;
	for (; pos < state.scan_next; pos++) {
		__u32 index = pos % PC_SCAN_BANS_MAX;

		if (bpf_map_lookup_elem(maps->scan_ring, &index, &slot) || slot.ring_pos != pos ||
		    bpf_map_lookup_elem(maps->bans, &slot.source, &ban))
			continue;
		if (ban.reason != PC_BAN_SCAN || ban.ring_pos != pos)
			continue;
		if (ban_remove(maps, gate, &slot.source) == 0)
			return count_stat(maps, PC_STAT_EVICTED, 1);
	}
	return -E2BIG;
}

static int ban_insert(const struct pc_maps *maps, struct ban_gate *gate,
		      const struct pc_addr_key *key, const struct pc_ban *ban, bool *replaced)
{
	int err = 0, tries = 0;

	add_hint(gate, key, 1);
	while (bpf_map_update_elem(maps->bans, key, ban, BPF_NOEXIST) != 0) {
		err = errno;
		/* A manual ban always gets in while scan bans hold the room. */
		if (err != E2BIG || ban->reason == PC_BAN_SCAN || tries++ > 8 ||
		    evict_oldest_scan_ban(maps, gate))
			break;
		err = 0;
	}
	if (!err) {
		*replaced = false;
		gate_add(&gate->state->active, 1);
		gate_add(&gate->state->gen, 1);
		return 0;
	}
	/* Not inserted: the ban there already was counted when it was. */
	add_hint(gate, key, -1);
	if (err != EEXIST)
		return -err;
	*replaced = true;
	err = bpf_map_update_elem(maps->bans, key, ban, BPF_EXIST) ? -errno : 0;
	gate_add(&gate->state->gen, 1);
	return err;
}

int pc_bans_add(const struct pc_maps *maps, const struct pc_addr_key *key,
		const struct pc_ban *ban, bool *replaced)
{
	struct pc_ban_entry entry = { .key = *key, .ban = *ban };

	return pc_ban_entry_add(maps, &entry, replaced);
}

int pc_bans_remove(const struct pc_maps *maps, const struct pc_addr_key *key)
{
	struct pc_ban_entry entry = { .key = *key };

	return pc_ban_entry_remove(maps, &entry);
}

/* ---- prefix bans --------------------------------------------------------------------- */

bool pc_ban_is_prefix(__u8 family, __u32 len, __u32 ipv6_prefix)
{
	if (family == PC_SRC_FAMILY_V4)
		return len < 32;
	return len < 128 && len != ipv6_prefix;
}

static void prefix_key(const struct pc_ban_entry *entry, struct pc_prefix_ban_key *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = PC_PREFIX_KEY_HDR_BITS + entry->prefix_len;
	key->family = entry->key.family;
	memcpy(key->addr, entry->key.addr, sizeof(key->addr));
}

static int prefix_insert(const struct pc_maps *maps, struct ban_gate *gate,
			 const struct pc_ban_entry *entry, bool *replaced)
{
	struct pc_prefix_ban_key key;

	struct pc_ban ban = entry->ban;

	prefix_key(entry, &key);
	ban.prefix_len = entry->prefix_len;
	/* Counted before it can be found, as the hint is. */
	gate_add(&gate->state->prefix_active, 1);
	if (bpf_map_update_elem(maps->prefix_bans, &key, &ban, BPF_NOEXIST) == 0) {
		*replaced = false;
		return 0;
	}
	gate_add(&gate->state->prefix_active, -1);
	if (errno != EEXIST)
		return -errno;
	*replaced = true;
	return bpf_map_update_elem(maps->prefix_bans, &key, &ban, BPF_EXIST) ? -errno : 0;
}

static int prefix_remove(const struct pc_maps *maps, struct ban_gate *gate,
			 const struct pc_ban_entry *entry)
{
	struct pc_prefix_ban_key key;

	prefix_key(entry, &key);
	if (bpf_map_delete_elem(maps->prefix_bans, &key))
		return -errno;
	gate_add(&gate->state->prefix_active, -1);
	return 0;
}

static int entry_insert(const struct pc_maps *maps, struct ban_gate *gate,
			const struct pc_ban_entry *entry, bool *replaced)
{
	return entry->prefix_len ? prefix_insert(maps, gate, entry, replaced)
				 : ban_insert(maps, gate, &entry->key, &entry->ban, replaced);
}

static int entry_remove(const struct pc_maps *maps, struct ban_gate *gate,
			const struct pc_ban_entry *entry)
{
	return entry->prefix_len ? prefix_remove(maps, gate, entry)
				 : ban_remove(maps, gate, &entry->key);
}

int pc_ban_entry_make(struct pc_ban_entry *entry, int family, const __u8 *addr, __u32 len,
		      __u32 ipv6_prefix)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	__u8 pc_family;

	memset(entry, 0, sizeof(*entry));
	if (family == AF_INET6 && len >= 96 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		family = AF_INET;
		addr += 12;
		len -= 96;
	}
	pc_family = family == AF_INET ? PC_SRC_FAMILY_V4 : PC_SRC_FAMILY_V6;
	if (!pc_ban_is_prefix(pc_family, len, ipv6_prefix)) {
		pc_addr_key_make(&entry->key, family, addr, ipv6_prefix);
		return 0;
	}
	entry->key.family = pc_family;
	entry->prefix_len = len;
	for (__u32 bit = 0; bit < len; bit += 8) {
		__u32 take = len - bit < 8 ? len - bit : 8;

		entry->key.addr[bit / 8] = addr[bit / 8] & (__u8)(0xff << (8 - take));
	}
	return 0;
}

const char *pc_ban_entry_format(const struct pc_ban_entry *entry, __u32 ipv6_prefix, char *buf,
				size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (!entry->prefix_len)
		return pc_addr_key_format(&entry->key, ipv6_prefix, buf, len);
	inet_ntop(entry->key.family == PC_SRC_FAMILY_V4 ? AF_INET : AF_INET6, entry->key.addr,
		  text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, entry->prefix_len);
	return buf;
}

const char *pc_ban_entry_cidr(const struct pc_ban_entry *entry, __u32 ipv6_prefix, char *buf,
			      size_t len)
{
	char text[INET6_ADDRSTRLEN];
	__u32 bits = entry->prefix_len;

	if (!bits)
		bits = entry->key.family == PC_SRC_FAMILY_V4 ? 32 : ipv6_prefix;
	inet_ntop(entry->key.family == PC_SRC_FAMILY_V4 ? AF_INET : AF_INET6, entry->key.addr,
		  text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, bits);
	return buf;
}

int pc_ban_entry_add(const struct pc_maps *maps, const struct pc_ban_entry *entry, bool *replaced)
{
	struct ban_gate gate;
	int err = gate_open(maps, &gate);

	if (!err)
		err = entry_insert(maps, &gate, entry, replaced);
	gate_close(&gate);
	return err;
}

int pc_ban_entry_remove(const struct pc_maps *maps, const struct pc_ban_entry *entry)
{
	struct ban_gate gate;
	int err = gate_open(maps, &gate);

	if (!err)
		err = entry_remove(maps, &gate, entry);
	gate_close(&gate);
	return err;
}

int pc_bans_add_many(const struct pc_maps *maps, const struct pc_ban_entry *entries, size_t n,
		     size_t *added, size_t *failed)
{
	struct ban_gate gate;
	bool replaced;
	int err = gate_open(maps, &gate), first = 0;

	*added = *failed = 0;
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		err = entry_insert(maps, &gate, &entries[i], &replaced);
		if (err) {
			(*failed)++;
			first = first ?: err;
		} else if (!replaced) {
			(*added)++;
		}
	}
	gate_close(&gate);
	return first;
}

int pc_bans_remove_many(const struct pc_maps *maps, const struct pc_ban_entry *entries, size_t n,
			size_t *removed)
{
	struct ban_gate gate;
	int err = gate_open(maps, &gate);

	*removed = 0;
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (entry_remove(maps, &gate, &entries[i]) == 0)
			(*removed)++;
	gate_close(&gate);
	return 0;
}

static int by_expiry(const void *a, const void *b)
{
	const struct pc_ban_entry *x = a, *y = b;

	return x->ban.expires_ns < y->ban.expires_ns ? -1 : x->ban.expires_ns > y->ban.expires_ns;
}

void pc_bans_sort_by_expiry(struct pc_ban_entry *entries, size_t n)
{
	qsort(entries, n, sizeof(*entries), by_expiry);
}

int pc_ban_entries_push(struct pc_ban_entry **list, size_t *n, size_t *cap,
			const struct pc_ban_entry *entry)
{
	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 64;
		struct pc_ban_entry *grown = realloc(*list, want * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		*list = grown;
		*cap = want;
	}
	(*list)[(*n)++] = *entry;
	return 0;
}

/*
 * Every ban of both tables, ban values not read yet. Keys are gathered
 * before any is deleted: a hash map walked with get_next_key starts over
 * when the key it was given has gone, so sweeping while walking visits a
 * table of expired bans again and again.
 */
static int ban_keys(const struct pc_maps *maps, struct pc_ban_entry **keys, size_t *n)
{
	struct pc_ban_entry entry = {};
	struct pc_prefix_ban_key pnext, pprev;
	struct pc_addr_key next, prev;
	size_t cap = 0;
	int err = 0;

	*keys = NULL;
	*n = 0;
	for (void *at = NULL; !err && bpf_map_get_next_key(maps->bans, at, &next) == 0;
	     at = &prev) {
		entry.key = next;
		prev = next;
		err = pc_ban_entries_push(keys, n, &cap, &entry);
		if (*n > PC_BANS_MAX * 2)
			break; /* a table changing under us faster than it is read */
	}
	for (void *at = NULL; !err && bpf_map_get_next_key(maps->prefix_bans, at, &pnext) == 0;
	     at = &pprev) {
		memset(&entry, 0, sizeof(entry));
		entry.key.family = pnext.family;
		memcpy(entry.key.addr, pnext.addr, sizeof(entry.key.addr));
		entry.prefix_len = pnext.prefixlen - PC_PREFIX_KEY_HDR_BITS;
		pprev = pnext;
		err = pc_ban_entries_push(keys, n, &cap, &entry);
	}
	return err;
}

int pc_ban_entry_lookup(const struct pc_maps *maps, struct pc_ban_entry *entry)
{
	struct pc_prefix_ban_key key;

	if (!entry->prefix_len)
		return bpf_map_lookup_elem(maps->bans, &entry->key, &entry->ban) ? -errno : 0;
	prefix_key(entry, &key);
	return bpf_map_lookup_elem(maps->prefix_bans, &key, &entry->ban) ? -errno : 0;
}

int pc_bans_list(const struct pc_maps *maps, bool sweep, struct pc_ban_entry **list, size_t *n,
		 struct pc_ban_entry **expired, size_t *n_expired)
{
	size_t cap = 0, cap_expired = 0, dummy_n = 0, n_keys = 0;
	struct pc_ban_entry *dummy = NULL, *keys = NULL;
	struct ban_gate gate = {};
	__u64 now = pc_now_ns();
	int err;

	*list = NULL;
	*n = 0;
	if (!expired) {
		expired = &dummy;
		n_expired = &dummy_n;
	}
	*expired = NULL;
	*n_expired = 0;
	err = ban_keys(maps, &keys, &n_keys);
	if (!err && sweep)
		err = gate_open(maps, &gate);
	for (size_t i = 0; i < n_keys && !err; i++) {
		struct pc_ban_entry *entry = &keys[i];

		if (pc_ban_entry_lookup(maps, entry))
			continue; /* expired and removed under us */
		if (entry->ban.expires_ns > now) {
			err = pc_ban_entries_push(list, n, &cap, entry);
		} else if (sweep && entry_remove(maps, &gate, entry) == 0) {
			err = pc_ban_entries_push(expired, n_expired, &cap_expired, entry);
		}
	}
	gate_close(&gate);
	free(keys);
	free(dummy);
	if (*list)
		pc_bans_sort_by_expiry(*list, *n);
	return err;
}

int pc_bans_stats(const struct pc_maps *maps, __u64 stats[PC_SCAN_STATS], __u64 *active)
{
	__u64 *percpu = calloc(maps->ncpus, sizeof(*percpu));
	struct pc_ban_state state;
	__u32 zero = 0;
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	for (__u32 stat = 0; stat < PC_SCAN_STATS && !err; stat++) {
		stats[stat] = 0;
		if (bpf_map_lookup_elem(maps->scan_stats, &stat, percpu))
			err = -errno;
		for (int cpu = 0; cpu < maps->ncpus && !err; cpu++)
			stats[stat] += percpu[cpu];
	}
	if (!err && bpf_map_lookup_elem(maps->ban_state, &zero, &state))
		err = -errno;
	*active = err ? 0 : state.active + state.prefix_active;
	free(percpu);
	return err;
}

int pc_bans_count_stat(const struct pc_maps *maps, __u32 stat, size_t n)
{
	return count_stat(maps, stat, n);
}

int pc_bans_by_reason(const struct pc_maps *maps, __u64 counts[PC_BAN_REASONS])
{
	struct pc_ban_entry *list = NULL;
	size_t n = 0;
	int err = pc_bans_list(maps, false, &list, &n, NULL, NULL);

	memset(counts, 0, PC_BAN_REASONS * sizeof(*counts));
	for (size_t i = 0; i < n; i++)
		if (list[i].ban.reason < PC_BAN_REASONS)
			counts[list[i].ban.reason]++;
	free(list);
	return err;
}

int pc_bans_count_made(const struct pc_maps *maps, __u32 reason, size_t n)
{
	__u32 stat = reason == PC_BAN_CROWDSEC ? PC_STAT_BANS_CROWDSEC : PC_STAT_BANS_MANUAL;

	return count_stat(maps, PC_STAT_BANS, n) ?: count_stat(maps, stat, n);
}
