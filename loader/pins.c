// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "netns.h"
#include "pins.h"
#include "upgrade.h"

const char *pc_pin_root = PC_PIN_ROOT_DEFAULT;

int pc_pin_ns_root(char *buf, size_t len)
{
	return pc_netns_pin_root(pc_pin_root, pc_netns_self(), buf, len);
}

static int fmt_path(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	char root[4096];
	int n, err = pc_pin_ns_root(root, sizeof(root));

	if (err)
		return err;
	n = snprintf(buf, len, fmt, root, a, b);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int pc_pin_dir(const char *ifname, char *buf, size_t len)
{
	return fmt_path(buf, len, "%s/%s%s", ifname, "");
}

int pc_pin_path(const char *ifname, const char *name, char *buf, size_t len)
{
	return fmt_path(buf, len, "%s/%s/%s", ifname, name);
}

int pc_ensure_bpffs(void)
{
	struct statfs fs;

	if (strncmp(pc_pin_root, "/sys/fs/bpf", 11) != 0)
		return 0;
	if (statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		int err = -errno;

		pc_warn("couldn't mount bpffs at /sys/fs/bpf: %s", pc_strerr(err));
		return err;
	}
	pc_info("mounted bpffs at /sys/fs/bpf");
	return 0;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) && errno != EEXIST) {
		int err = -errno;

		pc_warn("couldn't create %s: %s", path, pc_strerr(err));
		return err;
	}
	return 0;
}

int pc_make_pin_dir(const char *ifname)
{
	char path[4096];
	struct statfs fs;
	int err = make_dir(pc_pin_root);

	if (err)
		return err;
	if (statfs(pc_pin_root, &fs) == 0 && fs.f_type != BPF_FS_MAGIC) {
		pc_warn("pin root %s is not on a BPF filesystem (mount -t bpf bpf DIR, or use a "
			"directory under /sys/fs/bpf)",
			pc_pin_root);
		return -EINVAL;
	}
	/* Another network namespace's attachments live in a directory of their own. */
	err = pc_pin_ns_root(path, sizeof(path));
	if (!err && strcmp(path, pc_pin_root) != 0)
		err = make_dir(path);
	if (!err)
		err = pc_pin_dir(ifname, path, sizeof(path));
	return err ? err : make_dir(path);
}

bool pc_is_attached(const char *ifname)
{
	char path[4096];

	if (pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path)))
		return false;
	return access(path, F_OK) == 0;
}

int pc_lock_iface(const char *ifname)
{
	char path[4096];
	int fd, err = pc_pin_dir(ifname, path, sizeof(path));

	if (err)
		return err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int pc_check_ifname(const char *ifname, bool must_exist)
{
	if (!*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') ||
	    strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0) {
		pc_warn("'%s': not a valid interface name", ifname);
		return -EINVAL;
	}
	if (must_exist && !if_nametoindex(ifname)) {
		pc_warn("%s: no such interface%s", ifname,
			errno == ENODEV
				? " (in another network namespace? run under nsenter --net=...)"
				: "");
		return -ENODEV;
	}
	return 0;
}

/*
 * Why IFACE has no pins, and what that means for its traffic: nothing
 * filters it, unless a program is still attached without pins (a run
 * process holding it, or pins removed by hand while one held it).
 */
static int say_not_attached(const char *ifname, const char *dir)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, query);
	char link[4096];
	unsigned int ifindex;

	pc_pin_path(ifname, PC_LINK_NAME, link, sizeof(link));
	if (access(link, F_OK) && (errno == EACCES || errno == EPERM)) {
		pc_warn("%s: can't read the pins under %s: %s (run as root)", ifname, dir,
			pc_strerr(-errno));
		return -EACCES;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pc_warn("%s: not attached (no pins under %s)", ifname, dir);
	} else if (bpf_xdp_query(ifindex, 0, &query) == 0 && query.prog_id) {
		pc_warn("%s: not attached (no pins under %s), yet XDP program id %u is on it: pins "
			"removed by hand? A running 'portcullis run' puts them back; else see "
			"'bpftool net'",
			ifname, dir, query.prog_id);
	} else {
		pc_warn("%s: not attached (no pins under %s); its traffic is not filtered", ifname,
			dir);
	}
	return -ENOENT;
}

enum pc_link_state pc_link_state_of(unsigned int link_ifindex, unsigned int current)
{
	if (!current)
		return PC_LINK_GONE;
	return link_ifindex == current ? PC_LINK_FILTERING : PC_LINK_RECREATED;
}

enum pc_link_state pc_link_state(const char *ifname, __u32 *prog_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[4096];
	int fd, err;

	if (prog_id)
		*prog_id = 0;
	if (pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path)))
		return PC_LINK_UNKNOWN;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return PC_LINK_UNKNOWN;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err || info.type != BPF_LINK_TYPE_XDP)
		return PC_LINK_UNKNOWN;
	if (prog_id)
		*prog_id = info.prog_id;
	return pc_link_state_of(info.xdp.ifindex, if_nametoindex(ifname));
}

static int open_iface(const char *ifname, struct pc_maps *maps, bool recreated_ok)
{
	char dir[4096], why[160];
	int err;

	err = pc_check_ifname(ifname, false);
	if (err)
		return err;
	pc_pin_dir(ifname, dir, sizeof(dir));
	if (!pc_is_attached(ifname))
		return say_not_attached(ifname, dir);
	if (!recreated_ok && pc_link_state(ifname, NULL) == PC_LINK_RECREATED) {
		pc_warn("%s: " PC_RECREATED_TEXT "; nothing changed ('portcullis attach %s' "
			"attaches it again, keeping its rules and bans)",
			ifname, ifname);
		return -ESTALE;
	}
	err = pc_pins_compatible(ifname, why, sizeof(why));
	if (err == -EPROTO) {
		pc_warn("%s: attached by another version of portcullis (%s): this one can neither "
			"read nor change it; 'portcullis attach %s' upgrades it in place, with no "
			"unfiltered moment",
			ifname, why, ifname);
		return err;
	}
	err = pc_maps_open_pinned(dir, maps);
	if (err)
		pc_warn("%s: couldn't open pinned maps under %s: %s", ifname, dir, pc_strerr(err));
	return err;
}

int pc_open_iface(const char *ifname, struct pc_maps *maps)
{
	return open_iface(ifname, maps, false);
}

int pc_open_iface_recreated_ok(const char *ifname, struct pc_maps *maps)
{
	return open_iface(ifname, maps, true);
}

void pc_pins_release(struct pc_pin_hold *hold)
{
	if (hold->link >= 0)
		close(hold->link);
	for (size_t i = 0; hold->maps && i < hold->n_maps; i++)
		if (hold->maps[i] >= 0)
			close(hold->maps[i]);
	free(hold->maps);
	hold->link = -1;
	hold->maps = NULL;
	hold->n_maps = 0;
}

int pc_pins_hold(const char *ifname, struct pc_pin_hold *hold)
{
	const char *const *names = pc_map_names(&hold->n_maps);
	char path[4096];
	int err = 0;

	hold->link = -1;
	hold->maps = calloc(hold->n_maps, sizeof(*hold->maps));
	if (!hold->maps) {
		hold->n_maps = 0;
		return -ENOMEM;
	}
	for (size_t i = 0; i < hold->n_maps; i++)
		hold->maps[i] = -1;
	for (size_t i = 0; !err && i < hold->n_maps; i++) {
		err = pc_pin_path(ifname, names[i], path, sizeof(path));
		if (!err && (hold->maps[i] = bpf_obj_get(path)) < 0)
			err = -errno;
	}
	if (!err)
		err = pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	if (!err && (hold->link = bpf_obj_get(path)) < 0)
		err = -errno;
	if (err)
		pc_pins_release(hold);
	return err;
}

bool pc_pins_link_attached(const struct pc_pin_hold *hold)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (hold->link < 0 || bpf_obj_get_info_by_fd(hold->link, &info, &len))
		return false;
	return info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex != 0;
}

/* Pin FD at PATH unless something is there already. */
static int pin_missing(int fd, const char *path)
{
	if (access(path, F_OK) == 0)
		return 0;
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

int pc_pins_restore(const char *ifname, const struct pc_pin_hold *hold)
{
	const char *const *names;
	char path[4096];
	size_t n;
	int lock_fd, err;

	if (hold->link < 0 || !hold->maps)
		return -EBADF;
	names = pc_map_names(&n);
	err = pc_make_pin_dir(ifname);
	if (err)
		return err;
	/* Commands on this interface wait, as they do for attach. */
	lock_fd = pc_lock_iface(ifname);
	for (size_t i = 0; !err && i < n && i < hold->n_maps; i++) {
		err = pc_pin_path(ifname, names[i], path, sizeof(path));
		if (!err)
			err = pin_missing(hold->maps[i], path);
	}
	/* The link last: its pin is what "attached" means to every command. */
	if (!err)
		err = pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	if (!err)
		err = pin_missing(hold->link, path);
	if (lock_fd >= 0)
		close(lock_fd);
	return err;
}
