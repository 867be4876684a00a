/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Safe rollout: changes that undo themselves unless confirmed.
 *
 * `reload --confirm D` writes the new rules into the inactive half of the
 * double-buffered rule set as usual, marked PC_CFG_CONFIRM_PENDING with a
 * deadline D from now, and switches to it. Until `confirm`, the previous half
 * is left alone; once the deadline has passed the data path itself judges
 * by the previous half (bpf/portcullis.bpf.c, rollout_config), so the
 * rollback needs no process. `attach --confirm D` does the same with a
 * previous half marked PC_CFG_UNFILTERED, which passes everything.
 *
 * The maps are tidied afterwards by whoever looks next: `run`'s loop, or a
 * command that changes rules. Tidying flips pc_active back (one store) and
 * marks the taken-back set PC_CFG_ROLLED_BACK for status; after an attach it
 * detaches. Counters and bans belong to no rule set and survive.
 */
#ifndef PORTCULLIS_ROLLOUT_H
#define PORTCULLIS_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "../maps/pcmaps.h"

/* The clock of the data path's deadline check: CLOCK_MONOTONIC_COARSE. */
__u64 pc_rollout_now_ns(void);

/* What an interface's rule sets say about a change awaiting confirmation. */
struct pc_rollout {
	bool pending;	   /* a change awaits confirmation and its deadline is ahead */
	bool expired;	   /* its deadline passed: the previous rules are in force */
	bool after_attach; /* the previous rules are "not filtered" (attach --confirm) */
	bool rolled_back;  /* the last change was taken back (tidied) */
	__u64 left_ns;	   /* pending: time left */
	__u64 confirm_ns;  /* the change's --confirm DURATION */
	__u64 deadline_ns; /* its deadline; identifies the change */
};

int pc_rollout_read(const struct pc_maps *maps, struct pc_rollout *r);

/* "rollback: not confirmed within 2s" (+ "; IFACE detached" after an attach). */
const char *pc_rollout_line(const struct pc_rollout *r, char *buf, size_t len);

/*
 * Make the previous half of an attach's maps the "not filtered" rules that
 * an unconfirmed attach --confirm falls back to. Before pc_ruleset_commit.
 */
int pc_rollout_prepare_attach(const struct pc_maps *maps);

/*
 * If a change's deadline has passed: take it back for good (flip pc_active
 * back, or detach after an attach), and say so on stderr unless QUIET.
 * Takes the interface lock itself: call it without holding it. Returns 1
 * when it rolled back (*DETACHED says whether IFNAME is detached now), 0
 * when there was nothing to do, or a negative errno.
 */
int pc_rollout_tidy(const char *ifname, const struct pc_maps *maps, bool quiet, bool *detached);

/*
 * reload and attach (VERB): tidy, then refuse a change while another one is
 * pending, unless FORCE. A forced change after `reload --confirm` first
 * returns to the confirmed rules (so they stay what a new --confirm falls
 * back to); after `attach --confirm` it takes the attach as confirmed. Call
 * without the interface lock. Returns PC_EXIT_OK to go on, else an exit
 * status after saying why.
 */
int pc_rollout_gate(const char *ifname, const struct pc_maps *maps, const char *verb, bool force);

/* allow, disallow: tidy before changing the live rules (the pending set, if any). */
int pc_rollout_before_change(const char *ifname, const struct pc_maps *maps);

/*
 * Rollbacks for the events follower. *SEEN is the deadline of the last one
 * reported; true when there is a newer one, with its line in LINE.
 */
bool pc_rollout_news(const struct pc_maps *maps, __u64 *seen, char *line, size_t len);

#endif /* PORTCULLIS_ROLLOUT_H */
