/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which network namespace a command runs in, for the paths of its state:
 * pins under PIN_ROOT/netns-INODE/ and saved bans under STATE_DIR/netns-NAME/
 * for every namespace but the initial one, whose paths stay as they were.
 */
#ifndef PORTCULLIS_NETNS_H
#define PORTCULLIS_NETNS_H

#include <stdbool.h>
#include <stddef.h>

struct pc_netns {
	bool initial;		  /* PID 1's namespace */
	unsigned long long inode; /* of /proc/self/ns/net; 0 if unknown */
	char name[256];		  /* its name under /run/netns, "" if none */
};

/*
 * This process's namespace, found once. The initial one is PID 1's; where
 * /proc/1 is hidden (a sandbox), one with a name under /run/netns is taken
 * for a non-initial one and one without for the initial one.
 */
const struct pc_netns *pc_netns_self(void);

/* ROOT, or ROOT/netns-INODE outside the initial namespace. Pure. */
int pc_netns_pin_root(const char *root, const struct pc_netns *ns, char *buf, size_t len);
/*
 * DIR, or DIR/netns-NAME outside the initial namespace; -ENOENT for a
 * namespace without a name (its bans are kept only while it lives). Pure.
 */
int pc_netns_state_dir(const char *dir, const struct pc_netns *ns, char *buf, size_t len);

#endif /* PORTCULLIS_NETNS_H */
