// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
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

/* What this build says of one map: what a pinned map must match. */
struct map_shape {
	__u32 type, key_size, value_size, max_entries;
};

/* Parsed once per process from the embedded object (opening the skeleton
 * costs milliseconds, and the exporter asks on every scrape). */
static struct map_shape shapes[64];
static size_t n_shapes;
static int shapes_err;
static pthread_once_t shapes_once = PTHREAD_ONCE_INIT;

static void read_shapes(void)
{
	struct portcullis_bpf *skel = portcullis_bpf__open();
	const char *const *names = pc_map_names(&n_shapes);

	if (!skel) {
		shapes_err = -errno;
		return;
	}
	if (n_shapes > sizeof(shapes) / sizeof(shapes[0]))
		shapes_err = -E2BIG;
	for (size_t i = 0; i < n_shapes && !shapes_err; i++) {
		const struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, names[i]);

		if (!map) {
			shapes_err = -ENOENT;
			break;
		}
		shapes[i] = (struct map_shape){ bpf_map__type(map), bpf_map__key_size(map),
						bpf_map__value_size(map),
						bpf_map__max_entries(map) };
	}
	portcullis_bpf__destroy(skel);
}

/* Compare the pinned map NAME with this build's definition of it. */
static int compare_map(const char *ifname, const struct map_shape *want, const char *name,
		       char *why, size_t why_len)
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
	else if (info.type != want->type)
		err = differs(why, why_len, "map %s is of type %u, this version's of type %u", name,
			      info.type, want->type);
	else if (info.key_size != want->key_size)
		err = differs(why, why_len, "map %s has %u-byte keys, this version's %u", name,
			      info.key_size, want->key_size);
	else if (info.value_size != want->value_size)
		err = differs(why, why_len, "map %s has %u-byte values, this version's %u", name,
			      info.value_size, want->value_size);
	else if (info.max_entries != want->max_entries)
		err = differs(why, why_len, "map %s has %u entries, this version's %u", name,
			      info.max_entries, want->max_entries);
	close(fd);
	return err;
}

/* The same shapes can still mean different things: compare PC_LAYOUT_VERSION. */
static int compare_layout(const char *ifname, char *why, size_t why_len)
{
	struct pc_meta meta = {};
	char path[4096];
	__u32 zero = 0;
	int fd, err = 0;

	if (pc_pin_path(ifname, PC_MAP_META, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, &meta))
		err = -errno;
	else if (meta.layout != PC_LAYOUT_VERSION)
		err = differs(why, why_len, "%s says its maps are of layout %u, this version's %u",
			      PC_MAP_META, meta.layout, PC_LAYOUT_VERSION);
	close(fd);
	return err;
}

int pc_pins_compatible(const char *ifname, char *why, size_t why_len)
{
	const char *const *names;
	size_t n;
	int err;

	pthread_once(&shapes_once, read_shapes);
	if (shapes_err)
		return shapes_err;
	names = pc_map_names(&n);
	err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = compare_map(ifname, &shapes[i], names[i], why, why_len);
	return err ?: compare_layout(ifname, why, why_len);
}
