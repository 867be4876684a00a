// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../maps/pcmaps.h"
#include "pins.h"
#include "portcullis.skel.h"
#include "upgrade.h"

static int differs(char *why, size_t why_len, const char *fmt, const char *map, unsigned int was,
		   unsigned int want)
{
	if (why && why_len)
		snprintf(why, why_len, fmt, map, was, want);
	return -EPROTO;
}

/* Compare the pinned map NAME with this build's definition of it. */
static int compare_map(const char *ifname, const struct bpf_map *map, const char *name, char *why,
		       size_t why_len)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[4096];
	int fd, err = 0;

	if (pc_pin_path(ifname, name, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (why && why_len)
			snprintf(why, why_len, "it has no map %s", name);
		return -EPROTO;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	else if (info.type != (__u32)bpf_map__type(map))
		err = differs(why, why_len, "map %s is of type %u, this version's of type %u", name,
			      info.type, bpf_map__type(map));
	else if (info.key_size != bpf_map__key_size(map))
		err = differs(why, why_len, "map %s has %u-byte keys, this version's %u", name,
			      info.key_size, bpf_map__key_size(map));
	else if (info.value_size != bpf_map__value_size(map))
		err = differs(why, why_len, "map %s has %u-byte values, this version's %u", name,
			      info.value_size, bpf_map__value_size(map));
	else if (info.max_entries != bpf_map__max_entries(map))
		err = differs(why, why_len, "map %s has %u entries, this version's %u", name,
			      info.max_entries, bpf_map__max_entries(map));
	close(fd);
	return err;
}

int pc_pins_compatible(const char *ifname, char *why, size_t why_len)
{
	struct portcullis_bpf *skel = portcullis_bpf__open();
	const char *const *names;
	size_t n;
	int err = 0;

	if (!skel)
		return -errno;
	names = pc_map_names(&n);
	for (size_t i = 0; i < n && !err; i++) {
		const struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, names[i]);

		err = map ? compare_map(ifname, map, names[i], why, why_len) : -ENOENT;
	}
	portcullis_bpf__destroy(skel);
	return err;
}
