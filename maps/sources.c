// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "sources.h"

int pc_sources_create(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "pc_sources_in", sizeof(struct pc_source_key),
				sizeof(__u32), PC_MAX_SOURCES, &opts);

	return fd < 0 ? -errno : fd;
}

#define SOURCE24_SET_BYTES ((size_t)PC_SOURCE24_WORDS * sizeof(__u64))
/* Every field PC_SOURCE24_TRIE: the answer that is never wrong. */
#define SOURCE24_ALL_TRIE 0xaaaaaaaaaaaaaaaaULL

/* SET's part of the mappable pc_source24, to munmap(SOURCE24_SET_BYTES). */
static __u64 *source24_map(const struct pc_maps *maps, __u32 set)
{
	void *words;

	if (set >= PC_RULE_SETS)
		return NULL;
	words = mmap(NULL, SOURCE24_SET_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		     maps->source24, (off_t)set * SOURCE24_SET_BYTES);
	return words == MAP_FAILED ? NULL : words;
}

__u64 *pc_source24_new(void)
{
	return calloc(PC_SOURCE24_WORDS, sizeof(__u64));
}

int pc_sources_install(const struct pc_maps *maps, __u32 set, int trie_fd,
		       const struct pc_source_hint *hint, const __u64 *source24)
{
	__u64 *live = source24_map(maps, set);

	if (!live)
		return errno ? -errno : -EINVAL;
	/* The summaries first: the trie they describe may go live with them. */
	if (source24) {
		memcpy(live, source24, SOURCE24_SET_BYTES);
	} else {
		for (__u32 i = 0; i < PC_SOURCE24_WORDS; i++)
			live[i] = SOURCE24_ALL_TRIE;
	}
	munmap(live, SOURCE24_SET_BYTES);
	if (bpf_map_update_elem(maps->source_hint, &set, hint, BPF_ANY))
		return -errno;
	return bpf_map_update_elem(maps->sources, &set, &trie_fd, BPF_ANY) ? -errno : 0;
}

/* The first /24 of an IPv4 KEY and how many /24s it covers (1 for /24 and longer). */
static __u32 key_slash24s(const struct pc_source_key *key, __u32 *first)
{
	__u32 len = key->prefixlen - PC_SRC_KEY_HDR_BITS;
	__u32 addr = (__u32)key->addr[0] << 24 | (__u32)key->addr[1] << 16 |
		     (__u32)key->addr[2] << 8 | key->addr[3];
	__u32 count = len >= 24 ? 1 : 1U << (24 - len);

	*first = (addr >> 8) & ~(count - 1);
	return count;
}

/* Set the fields of /24s FIRST .. FIRST + COUNT - 1 to FIELD (table of one set). */
static void source24_fill(__u64 *words, __u32 first, __u32 count, __u64 field)
{
	const __u32 per = PC_SOURCE24_PER_WORD;
	__u64 every = 0;

	for (__u32 i = 0; i < per; i++)
		every |= field << (i * PC_SOURCE24_FIELD_BITS);
	for (__u32 s24 = first; s24 < first + count;) {
		__u32 shift = pc_source24_shift(s24 << 8);

		if (s24 % per == 0 && first + count - s24 >= per) {
			words[s24 / per] = every; /* a whole word: /19 and shorter */
			s24 += per;
			continue;
		}
		words[s24 / per] &= ~(3ULL << shift);
		words[s24 / per] |= field << shift;
		s24++;
	}
}

/*
 * The /24 field of a SOURCE prefix with FLAGS (the merged flags of every
 * prefix around it): what the data path may answer without the trie.
 */
static __u64 source24_field(__u32 flags)
{
	if (!flags)
		return 0;
	return flags == PC_SRC_F_DENY ? PC_SOURCE24_DENY : PC_SOURCE24_TRIE;
}

/*
 * Fill WORDS (one set's table, zero) from N merged SOURCE entries in
 * pc_sources_add_lists() order, where a prefix comes before those inside
 * it, so each inner prefix overwrites its part of the outer one's range.
 */
static void source24_build(__u64 *words, const struct pc_source_key *keys, const __u32 *values,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__u32 first, count;

		if (keys[i].family != PC_SRC_FAMILY_V4 || keys[i].kind != PC_SRC_SOURCE)
			continue;
		count = key_slash24s(&keys[i], &first);
		if (keys[i].prefixlen - PC_SRC_KEY_HDR_BITS > 24)
			source24_fill(words, first, 1, PC_SOURCE24_TRIE);
		else
			source24_fill(words, first, count, source24_field(values[i]));
	}
}

int pc_source24_mark_live(const struct pc_maps *maps, __u32 set, const struct pc_source_key *keys,
			  size_t n)
{
	bool any_v4 = false;
	__u64 *live;

	for (size_t i = 0; i < n; i++)
		any_v4 |= keys[i].family == PC_SRC_FAMILY_V4;
	if (!any_v4)
		return 0;
	live = source24_map(maps, set);
	if (!live)
		return errno ? -errno : -EINVAL;
	/* Only TRIE bits are set, each word in one atomic OR, so the data path
	 * sees the old answer or "ask the trie", both right until the trie changes. */
	for (size_t i = 0; i < n; i++) {
		__u32 first, count;

		if (keys[i].family != PC_SRC_FAMILY_V4)
			continue;
		count = key_slash24s(&keys[i], &first);
		for (__u32 s24 = first; s24 < first + count; s24++)
			__atomic_fetch_or(&live[s24 / PC_SOURCE24_PER_WORD],
					  PC_SOURCE24_TRIE << pc_source24_shift(s24 << 8),
					  __ATOMIC_RELAXED);
	}
	munmap(live, SOURCE24_SET_BYTES);
	return 0;
}

static void hint_set(__u64 *bits, __u32 bit)
{
	bits[bit / 64] |= 1ULL << (bit % 64);
}

void pc_source_hint_add(struct pc_source_hint *hint, const struct pc_source_key *key)
{
	__u32 len = key->prefixlen - PC_SRC_KEY_HDR_BITS, bit = pc_source_hint_bit(key);

	/* IPv4 deny/trust/exempt lists are answered by the /24 table instead:
	 * a blocklist does not send every per-port list lookup to the trie. */
	if (key->kind == PC_SRC_SOURCE && key->family == PC_SRC_FAMILY_V4)
		return;
	if (key->family == PC_SRC_FAMILY_V4) {
		if (len >= 16) {
			hint_set(hint->v4, bit);
			return;
		}
		/* Every /16 under a shorter prefix. */
		bit &= ~((1U << (16 - len)) - 1);
		for (__u32 i = 0; i < 1U << (16 - len); i++)
			hint_set(hint->v4, bit + i);
		return;
	}
	if (len < 32) {
		memset(hint->v6, 0xff, sizeof(hint->v6));
		return;
	}
	hint_set(hint->v6, bit);
}

int pc_source_hint_extend(const struct pc_maps *maps, __u32 set, const struct pc_source_key *keys,
			  size_t n)
{
	struct pc_source_hint *hint = malloc(sizeof(*hint));
	int err = 0;

	if (!hint)
		return -ENOMEM;
	/* Bits only ever get set here, and commands on one interface take
	 * turns, so the data path sees the old word or the new one. */
	if (bpf_map_lookup_elem(maps->source_hint, &set, hint))
		err = -errno;
	for (size_t i = 0; i < n && !err; i++)
		pc_source_hint_add(hint, &keys[i]);
	if (!err && bpf_map_update_elem(maps->source_hint, &set, hint, BPF_ANY))
		err = -errno;
	free(hint);
	/* New keys become SOURCE entries too (exempt): their /24s ask the trie. */
	return err ? err : pc_source24_mark_live(maps, set, keys, n);
}

int pc_sources_open(const struct pc_maps *maps, __u32 set)
{
	__u32 id;
	int fd;

	/* From user space an array-of-maps holds map ids, not fds. */
	if (bpf_map_lookup_elem(maps->sources, &set, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

static const __u8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void pc_source_key_make(struct pc_source_key *key, __u8 kind, __u16 list, int family,
			const __u8 *addr, __u8 prefix_len)
{
	memset(key, 0, sizeof(*key));
	key->kind = kind;
	key->list = list;
	if (family == AF_INET6 && prefix_len >= 96 && memcmp(addr, v4_mapped_prefix, 12) == 0) {
		addr += 12;
		prefix_len -= 96;
		family = AF_INET;
	}
	if (family == AF_INET) {
		key->family = PC_SRC_FAMILY_V4;
		memcpy(key->addr, addr, 4);
	} else {
		key->family = PC_SRC_FAMILY_V6;
		memcpy(key->addr, addr, 16);
	}
	key->prefixlen = PC_SRC_KEY_HDR_BITS + prefix_len;
}

/* The kernel's "operation not supported" for map ops; not in uapi headers. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define ADD_CHUNK 65536

/* Insert N keys with VALUES (NULL: all 1) in batches; HINT as pc_sources_add(). */
static int add_values(int trie_fd, struct pc_source_hint *hint, const struct pc_source_key *keys,
		      const __u32 *values, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *ones = NULL;
	int err = 0;

	if (hint)
		for (size_t i = 0; i < n; i++)
			pc_source_hint_add(hint, &keys[i]);

	if (!values) {
		ones = malloc(ADD_CHUNK * sizeof(*ones));
		if (!ones)
			return -ENOMEM;
		for (size_t i = 0; i < ADD_CHUNK; i++)
			ones[i] = 1;
	}
	for (size_t done = 0; done < n && !err;) {
		__u32 count = n - done < ADD_CHUNK ? n - done : ADD_CHUNK;
		const __u32 *chunk = values ? values + done : ones;

		if (bpf_map_update_batch(trie_fd, keys + done, chunk, &count, &opts)) {
			if (errno != EINVAL && errno != ENOTSUPP && errno != EOPNOTSUPP) {
				err = -errno;
				break;
			}
			/* Kernels without batch ops for tries: one at a time. */
			count = 0;
			if (bpf_map_update_elem(trie_fd, keys + done, chunk, BPF_ANY))
				err = -errno;
			else
				count = 1;
		}
		done += count;
	}
	free(ones);
	return err;
}

int pc_sources_add(int trie_fd, struct pc_source_hint *hint, const struct pc_source_key *keys,
		   size_t n)
{
	return add_values(trie_fd, hint, keys, NULL, n);
}

/* Family, then address, then shorter prefixes first: a prefix precedes all it contains. */
static int entry_order(const void *a, const void *b)
{
	const struct pc_source_key *x = &((const struct pc_source_entry *)a)->key;
	const struct pc_source_key *y = &((const struct pc_source_entry *)b)->key;
	int diff = (int)x->family - (int)y->family;

	if (!diff)
		diff = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (!diff)
		diff = (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
	return diff;
}

static bool contains(const struct pc_source_key *outer, const struct pc_source_key *inner)
{
	__u32 bits = outer->prefixlen - PC_SRC_KEY_HDR_BITS;

	if (outer->family != inner->family || outer->prefixlen > inner->prefixlen)
		return false;
	if (memcmp(outer->addr, inner->addr, bits / 8))
		return false;
	return bits % 8 == 0 ||
	       !((outer->addr[bits / 8] ^ inner->addr[bits / 8]) & (0xff << (8 - bits % 8)));
}

int pc_sources_add_lists(int trie_fd, struct pc_source_hint *hint, __u64 *source24,
			 struct pc_source_entry *entries, size_t n)
{
	struct pc_source_key *keys = malloc(n * sizeof(*keys));
	__u32 *values = malloc(n * sizeof(*values));
	size_t *stack = malloc(n * sizeof(*stack));
	size_t depth = 0, out = 0;
	int err;

	if (n && (!keys || !values || !stack)) {
		err = -ENOMEM;
		goto out;
	}
	qsort(entries, n, sizeof(*entries), entry_order);
	/* A sweep with the chain of prefixes containing the current one. */
	for (size_t i = 0; i < n; i++) {
		struct pc_source_entry *entry = &entries[i];

		while (depth && !contains(&entries[stack[depth - 1]].key, &entry->key))
			depth--;
		if (depth) {
			struct pc_source_entry *outer = &entries[stack[depth - 1]];

			if (outer->key.prefixlen == entry->key.prefixlen) {
				/* The same prefix in both lists: one entry with both flags. */
				outer->flags |= entry->flags;
				values[out - 1] = outer->flags; /* duplicates sort next to each other */
				continue;
			}
			entry->flags |= outer->flags;
		}
		stack[depth++] = i;
		keys[out] = entry->key;
		values[out++] = entry->flags;
	}
	if (source24)
		source24_build(source24, keys, values, out);
	err = add_values(trie_fd, hint, keys, values, out);
out:
	free(keys);
	free(values);
	free(stack);
	return err;
}

int pc_sources_copy_list(int trie_fd, __u16 from, __u16 to)
{
	struct pc_source_key key, next, *copies = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	while (bpf_map_get_next_key(trie_fd, prev, &next) == 0) {
		if (next.kind == PC_SRC_PORT && next.list == from) {
			if (n == cap) {
				struct pc_source_key *grown;

				cap = cap ? 2 * cap : 256;
				grown = realloc(copies, cap * sizeof(*copies));
				if (!grown) {
					err = -ENOMEM;
					break;
				}
				copies = grown;
			}
			copies[n] = next;
			copies[n++].list = to;
		}
		key = next;
		prev = &key;
	}
	/* Copies of keys in this trie: the hint covers them already. */
	if (!err)
		err = pc_sources_add(trie_fd, NULL, copies, n);
	free(copies);
	return err;
}

/*
 * Gives every SOURCE-kind entry covered by one of KEYS (any kind; read as
 * prefixes) the flag FLAG, and inserts each of KEYS as a SOURCE entry with
 * FLAG and the flags of the prefixes around it: what pc_sources_add_lists()
 * would have made had those prefixes been in its lists. For a live trie,
 * whose hint must cover KEYS already. Contained entries are flagged first,
 * so no lookup ever finds a prefix flagged while a longer one inside it is
 * not; in between, a source is only less flagged than it will be.
 */
int pc_sources_flag_live(int trie_fd, const struct pc_source_key *keys, size_t n, __u32 flag)
{
	struct pc_source_key key, next, wanted;
	void *prev = NULL;
	__u32 value;
	int err = 0;

	while (!err && bpf_map_get_next_key(trie_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.kind != PC_SRC_SOURCE || bpf_map_lookup_elem(trie_fd, &key, &value) ||
		    (value & flag))
			continue;
		for (size_t i = 0; i < n; i++) {
			wanted = keys[i];
			wanted.kind = PC_SRC_SOURCE;
			wanted.list = 0;
			if (!contains(&wanted, &key))
				continue;
			value |= flag;
			if (bpf_map_update_elem(trie_fd, &key, &value, BPF_EXIST))
				err = -errno;
			break;
		}
	}
	for (size_t i = 0; i < n && !err; i++) {
		wanted = keys[i];
		wanted.kind = PC_SRC_SOURCE;
		wanted.list = 0;
		/* The longest prefix around it (or itself) has the flags it inherits. */
		if (bpf_map_lookup_elem(trie_fd, &wanted, &value))
			value = 0;
		value |= flag;
		if (bpf_map_update_elem(trie_fd, &wanted, &value, BPF_ANY))
			err = -errno;
	}
	return err;
}
