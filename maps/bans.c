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
 * Adds DELTA to the __u64 at OFFSET of a mappable array, atomically. The
 * gate count and the hint slots are shared with the data path, which
 * changes them with atomic adds; user space maps the page and does the
 * same, so neither side can lose the other's update. Both may run high for
 * a moment and never low: a high count only costs lookups, a low one would
 * let banned sources through. So a new ban is counted before it is inserted
 * and a deleted one after it is gone.
 */
static int add_mapped(int map_fd, size_t offset, int delta)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), start = offset / page * page;
	char *base;

	base = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, (off_t)start);
	if (base == MAP_FAILED)
		return -errno;
	__atomic_add_fetch((__u64 *)(base + offset - start), (__u64)(__s64)delta,
			   __ATOMIC_SEQ_CST);
	munmap(base, page);
	return 0;
}

static int add_active(const struct pc_maps *maps, int delta)
{
	return add_mapped(maps->ban_state, offsetof(struct pc_ban_state, active), delta);
}

static int add_hint(const struct pc_maps *maps, const struct pc_addr_key *key, int delta)
{
	return add_mapped(maps->ban_hint, pc_ban_hint_slot(key) * sizeof(__u64), delta);
}

/* Adds one to a per-CPU __u64 statistic (on the first CPU's share). */
static int count_stat(const struct pc_maps *maps, __u32 stat)
{
	__u64 *percpu = calloc(maps->ncpus, sizeof(*percpu));
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(maps->scan_stats, &stat, percpu) == 0) {
		percpu[0]++;
		if (bpf_map_update_elem(maps->scan_stats, &stat, percpu, BPF_ANY))
			err = -errno;
	} else {
		err = -errno;
	}
	free(percpu);
	return err;
}

/*
 * Frees a place for a manual ban in a table that scan bans and manual bans
 * fill to the brim: the oldest scan ban still in force goes, the one the
 * data path's ring would replace next. -E2BIG if there is none: the table
 * is full of manual bans.
 */
static int evict_oldest_scan_ban(const struct pc_maps *maps)
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
		if (pc_bans_remove(maps, &slot.source) == 0)
			return count_stat(maps, PC_STAT_EVICTED);
	}
	return -E2BIG;
}

int pc_bans_add(const struct pc_maps *maps, const struct pc_addr_key *key,
		const struct pc_ban *ban, bool *replaced)
{
	int err = add_hint(maps, key, 1), tries = 0;

	if (err)
		return err;
	while (bpf_map_update_elem(maps->bans, key, ban, BPF_NOEXIST) != 0) {
		err = errno;
		/* A manual ban always gets in while scan bans hold the room. */
		if (err != E2BIG || ban->reason == PC_BAN_SCAN || tries++ > 8 ||
		    evict_oldest_scan_ban(maps))
			break;
		err = 0;
	}
	if (!err) {
		*replaced = false;
		return add_active(maps, 1);
	}
	/* Not inserted: the ban there already was counted when it was. */
	add_hint(maps, key, -1);
	if (err != EEXIST)
		return -err;
	*replaced = true;
	return bpf_map_update_elem(maps->bans, key, ban, BPF_EXIST) ? -errno : 0;
}

int pc_bans_remove(const struct pc_maps *maps, const struct pc_addr_key *key)
{
	int err;

	if (bpf_map_delete_elem(maps->bans, key))
		return -errno;
	err = add_hint(maps, key, -1);
	return add_active(maps, -1) ?: err;
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

static int push(struct pc_ban_entry **list, size_t *n, size_t *cap,
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
 * Every key of the ban table. Keys are gathered before any is deleted: a
 * hash map walked with get_next_key starts over when the key it was given
 * has gone, so sweeping while walking visits a table of expired bans again
 * and again.
 */
static int ban_keys(const struct pc_maps *maps, struct pc_addr_key **keys, size_t *n)
{
	struct pc_addr_key next, *grown;
	size_t cap = 0;
	void *prev = NULL;

	*keys = NULL;
	*n = 0;
	while (bpf_map_get_next_key(maps->bans, prev, &next) == 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			grown = realloc(*keys, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			*keys = grown;
		}
		(*keys)[(*n)++] = next;
		prev = &(*keys)[*n - 1];
		if (*n > PC_BANS_MAX * 2)
			break; /* a table changing under us faster than it is read */
	}
	return 0;
}

int pc_bans_list(const struct pc_maps *maps, bool sweep, struct pc_ban_entry **list, size_t *n,
		 struct pc_ban_entry **expired, size_t *n_expired)
{
	size_t cap = 0, cap_expired = 0, dummy_n = 0, n_keys = 0;
	struct pc_ban_entry entry, *dummy = NULL;
	struct pc_addr_key *keys = NULL;
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
	for (size_t i = 0; i < n_keys && !err; i++) {
		entry.key = keys[i];
		if (bpf_map_lookup_elem(maps->bans, &entry.key, &entry.ban))
			continue; /* expired and removed under us */
		if (entry.ban.expires_ns > now) {
			err = push(list, n, &cap, &entry);
		} else if (sweep && pc_bans_remove(maps, &entry.key) == 0) {
			err = push(expired, n_expired, &cap_expired, &entry);
		}
	}
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
	*active = err ? 0 : state.active;
	free(percpu);
	return err;
}

int pc_bans_count_manual(const struct pc_maps *maps)
{
	return count_stat(maps, PC_STAT_BANS);
}
