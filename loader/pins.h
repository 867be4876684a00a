/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where an interface's state lives: PIN_ROOT/IFACE/ holds the pinned bpf_link
 * and every map. Its presence is what "attached" means to every command.
 * In a network namespace other than the initial one it is
 * PIN_ROOT/netns-INODE/IFACE/: a command sees only its own namespace's.
 */
#ifndef PORTCULLIS_PINS_H
#define PORTCULLIS_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "../maps/pcmaps.h"

#define PC_PIN_ROOT_DEFAULT "/sys/fs/bpf/portcullis"

/* --pin-root, else $PORTCULLIS_PIN_ROOT, else the default. */
extern const char *pc_pin_root;

/* This namespace's pin root: PIN_ROOT, or PIN_ROOT/netns-INODE. */
int pc_pin_ns_root(char *buf, size_t len);
int pc_pin_dir(const char *ifname, char *buf, size_t len);
int pc_pin_path(const char *ifname, const char *name, char *buf, size_t len);
/* Mount bpffs at /sys/fs/bpf if the pin root is below it and nothing is mounted. */
int pc_ensure_bpffs(void);
/* mkdir -p the pin root and IFACE's directory, mode 0700. */
int pc_make_pin_dir(const char *ifname);
bool pc_is_attached(const char *ifname);
/* Serialise commands on one interface: an exclusive flock on its pin dir.
 * Returns the fd to close, or a negative errno. */
int pc_lock_iface(const char *ifname);

/*
 * An attachment's link and maps held open by a long-running process (run),
 * so pins removed by hand can be put back: the held link keeps the XDP
 * program attached meanwhile. -1 / NULL when not held.
 */
struct pc_pin_hold {
	int link;
	int *maps; /* in pc_map_names() order */
	size_t n_maps;
};

/* Open IFACE's pinned link and maps into HOLD. Returns 0 or a negative errno. */
int pc_pins_hold(const char *ifname, struct pc_pin_hold *hold);
/* Is the held link still attached? False after detach or when the interface went away. */
bool pc_pins_link_attached(const struct pc_pin_hold *hold);
/* Re-create IFACE's pin directory and every missing pin from HOLD, the link last. */
int pc_pins_restore(const char *ifname, const struct pc_pin_hold *hold);
void pc_pins_release(struct pc_pin_hold *hold);

/*
 * Is the pinned link on the interface that has its name now? An interface
 * deleted and created again (a VM's tap, a veth, a driver reload) is another
 * interface: the XDP link went with the old one (its ifindex reads 0), and
 * nothing filters the new one until attach or run attaches it again.
 */
enum pc_link_state {
	PC_LINK_FILTERING, /* the link is on the interface of that name */
	PC_LINK_GONE,	   /* no interface has that name */
	PC_LINK_RECREATED, /* the interface of that name is not the one attached */
	PC_LINK_UNKNOWN,   /* the link pin can't be read */
};

/* Pure: LINK_IFINDEX from the link's info (0: defunct), CURRENT from the name. */
enum pc_link_state pc_link_state_of(unsigned int link_ifindex, unsigned int current);
/* IFACE's pinned link now; PROG_ID (may be NULL) gets its program's id. */
enum pc_link_state pc_link_state(const char *ifname, __u32 *prog_id);
#define PC_RECREATED_TEXT "not filtered: the interface was recreated since attach"

/*
 * Open an attached interface's maps. On failure prints why, naming the
 * interface and the pin directory, and returns a negative errno.
 */
int pc_open_iface(const char *ifname, struct pc_maps *maps);
/*
 * The same for an interface recreated since attach: pc_open_iface refuses it
 * (-ESTALE, saying "IFACE: not filtered: ..."), so changes to rules nobody
 * applies fail; detach, status and run open it with this.
 */
int pc_open_iface_recreated_ok(const char *ifname, struct pc_maps *maps);
/* An interface name that exists and fits IFNAMSIZ; prints why not. */
int pc_check_ifname(const char *ifname, bool must_exist);

#endif /* PORTCULLIS_PINS_H */
