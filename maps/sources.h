/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The source tries behind "deny from", "allow from" and per-port "from"
 * lists: one LPM trie per rule set, reached through the pc_sources
 * array-of-maps (layout in portcullis.h).
 */
#ifndef PORTCULLIS_SOURCES_H
#define PORTCULLIS_SOURCES_H

#include "pcmaps.h"

/* A new, empty trie for a rule set being built; returns its fd. */
int pc_sources_create(void);
/*
 * Make TRIE_FD the trie of SET (the old one is freed when unused), with
 * HINT, which must cover every key in it (pc_source_hint_add), as its hint,
 * and SOURCE24 (pc_source24_new, filled by pc_sources_add_lists) as its
 * IPv4 /24 table; NULL makes every /24 ask the trie. SET must not be the
 * active one: its hint and table are replaced, not extended.
 */
int pc_sources_install(const struct pc_maps *maps, __u32 set, int trie_fd,
		       const struct pc_source_hint *hint, const __u64 *source24);
/* A zeroed /24 table for one rule set (PC_SOURCE24_WORDS words), to free(). */
__u64 *pc_source24_new(void);
/*
 * Make every /24 that one of KEYS' IPv4 prefixes covers ask the trie, in the
 * table of live set SET: before SOURCE entries under them change at runtime.
 */
int pc_source24_mark_live(const struct pc_maps *maps, __u32 set, const struct pc_source_key *keys,
			  size_t n);
/* fd of SET's current trie, to close after use. */
int pc_sources_open(const struct pc_maps *maps, __u32 set);

/*
 * A key for one prefix. FAMILY is AF_INET or AF_INET6; an IPv4-mapped IPv6
 * prefix (::ffff:0:0/96 and longer) becomes the IPv4 prefix it means, which
 * is how the data path looks such sources up.
 */
void pc_source_key_make(struct pc_source_key *key, __u8 kind, __u16 list, int family,
			const __u8 *addr, __u8 prefix_len);

/* Set the hint bits that KEY's prefix covers (none for IPv4 SOURCE keys: see pc_source24). */
void pc_source_hint_add(struct pc_source_hint *hint, const struct pc_source_key *key);
/* Extend the hint of live set SET to N more keys, and mark their /24s
 * (pc_source24_mark_live); call before inserting them (with a NULL hint:
 * the live one covers them already). */
int pc_source_hint_extend(const struct pc_maps *maps, __u32 set, const struct pc_source_key *keys,
			  size_t n);

/* Insert N keys (value 1) in batches, and set their bits in HINT, the hint
 * of a trie that is not live yet (NULL: see pc_source_hint_extend). */
int pc_sources_add(int trie_fd, struct pc_source_hint *hint, const struct pc_source_key *keys,
		   size_t n);

/* A "deny from" or "allow from" prefix: key kind PC_SRC_SOURCE, flags PC_SRC_F_*. */
struct pc_source_entry {
	struct pc_source_key key;
	__u32 flags;
};

/*
 * Insert the deny and trust lists as one: every prefix gets the flags of all
 * prefixes that contain it, so the data path's single longest-prefix lookup
 * answers both questions. Fills SOURCE24 (a zeroed table of a set that is
 * not live; NULL: none) with their IPv4 /24 answers. Sorts ENTRIES in place.
 */
int pc_sources_add_lists(int trie_fd, struct pc_source_hint *hint, __u64 *source24,
			 struct pc_source_entry *entries, size_t n);

/*
 * Flag KEYS' prefixes with FLAG in a live trie, as pc_sources_add_lists()
 * would have: each becomes a PC_SRC_SOURCE entry with the flags around it
 * plus FLAG, and every such entry inside one of them gains FLAG. Walks the
 * whole trie once.
 */
int pc_sources_flag_live(int trie_fd, const struct pc_source_key *keys, size_t n, __u32 flag);

/* Copy every entry of per-port list FROM into list TO of the same trie. */
int pc_sources_copy_list(int trie_fd, __u16 from, __u16 to);

#endif /* PORTCULLIS_SOURCES_H */
