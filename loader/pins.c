// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "log.h"
#include "pins.h"

const char *pc_pin_root = PC_PIN_ROOT_DEFAULT;

static int fmt_path(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(buf, len, fmt, pc_pin_root, a, b);

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
			"directory under /sys/fs/bpf)", pc_pin_root);
		return -EINVAL;
	}
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
			errno == ENODEV ? " (in another network namespace? run under nsenter --net=...)"
					: "");
		return -ENODEV;
	}
	return 0;
}

int pc_open_iface(const char *ifname, struct pc_maps *maps)
{
	char dir[4096];
	int err;

	err = pc_check_ifname(ifname, false);
	if (err)
		return err;
	pc_pin_dir(ifname, dir, sizeof(dir));
	if (!pc_is_attached(ifname)) {
		pc_warn("%s: not attached (no pins under %s)", ifname, dir);
		return -ENOENT;
	}
	err = pc_maps_open_pinned(dir, maps);
	if (err)
		pc_warn("%s: couldn't open pinned maps under %s: %s", ifname, dir, pc_strerr(err));
	return err;
}
