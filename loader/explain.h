/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The explainer: the program built without side effects (-DPC_NO_SIDE_EFFECTS),
 * loaded on another instance's maps and run on one frame at a time. Used by
 * "portcullis explain" on the pinned maps, and by the verdict tests on theirs.
 */
#ifndef PORTCULLIS_EXPLAIN_H
#define PORTCULLIS_EXPLAIN_H

#include <linux/types.h>

struct portcullis_explain_bpf;

/*
 * Load it with MAP_FDS, in pc_map_names() order (-1: keep its own), in place
 * of its maps, and HASH_KEY, the scan_hash_key the maps' program was loaded
 * with; WHO names the maps' owner in messages. NULL with errno set on
 * failure (after a message).
 */
struct portcullis_explain_bpf *pc_explainer_load(const int *map_fds, __u64 hash_key,
					       const char *who);
/* Run FRAME once: *REASON (enum pc_reason, PC_EXPLAIN_NONE if no verdict) and
 * *ACTION (XDP_*). 0 or a negative errno. */
int pc_explainer_run(struct portcullis_explain_bpf *skel, const void *frame, __u32 len,
		     __u32 *reason, __u32 *action);
void pc_explainer_destroy(struct portcullis_explain_bpf *skel);

#endif /* PORTCULLIS_EXPLAIN_H */
