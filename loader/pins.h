/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where an interface's state lives: PIN_ROOT/IFACE/ holds the pinned bpf_link
 * and every map. Its presence is what "attached" means to every command.
 */
#ifndef PORTCULLIS_PINS_H
#define PORTCULLIS_PINS_H

#include <stdbool.h>
#include <stddef.h>

#include "../maps/pcmaps.h"

#define PC_PIN_ROOT_DEFAULT "/sys/fs/bpf/portcullis"

/* --pin-root, else $PORTCULLIS_PIN_ROOT, else the default. */
extern const char *pc_pin_root;

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
 * Open an attached interface's maps. On failure prints why, naming the
 * interface and the pin directory, and returns a negative errno.
 */
int pc_open_iface(const char *ifname, struct pc_maps *maps);
/* An interface name that exists and fits IFNAMSIZ; prints why not. */
int pc_check_ifname(const char *ifname, bool must_exist);

#endif /* PORTCULLIS_PINS_H */
