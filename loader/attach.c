// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach, detach, reload, check: the commands that create, replace and
 * remove an interface's rules as a whole.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>

#include "apply.h"
#include "commands.h"
#include "log.h"
#include "pins.h"
#include "portcullis.skel.h"

/* Parse and validate a config; prints the error. Returns an exit status. */
static int load_config(const char *path, struct pc_ruleset *rs)
{
	struct pc_error err = {};

	if (pc_config_load(path, rs, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		pc_ruleset_free(rs);
		return PC_EXIT_USAGE;
	}
	return PC_EXIT_OK;
}

int pc_cmd_check(const char *config_path)
{
	struct pc_ruleset rs;
	int ret = load_config(config_path, &rs);

	if (ret == PC_EXIT_OK)
		pc_ruleset_free(&rs);
	return ret;
}

static bool prefix_contains(const struct pc_prefix *prefix, const struct pc_prefix *addr)
{
	unsigned int bits = prefix->len;

	if (prefix->family != addr->family)
		return false;
	for (unsigned int i = 0; bits; i++) {
		unsigned int take = bits < 8 ? bits : 8;
		__u8 mask = (__u8)(0xff << (8 - take));

		if ((prefix->addr[i] ^ addr->addr[i]) & mask)
			return false;
		bits -= take;
	}
	return true;
}

static bool list_contains(const struct pc_prefix_list *list, const struct pc_prefix *addr)
{
	for (size_t i = 0; i < list->count; i++)
		if (prefix_contains(&list->items[i], addr))
			return true;
	return false;
}

/* Would RS let CLIENT reach tcp/PORT? Follows the verdict order's source steps. */
static bool ruleset_admits(const struct pc_ruleset *rs, const struct pc_prefix *client, int port)
{
	if (list_contains(&rs->denied, client))
		return false;
	if (list_contains(&rs->trusted, client))
		return true;
	for (size_t i = 0; i < rs->n_allows; i++) {
		const struct pc_allow *allow = &rs->allows[i];

		if (allow->proto != PC_PROTO_TCP || port < allow->lo || port > allow->hi)
			continue;
		if (!allow->sources.count || list_contains(&allow->sources, client))
			return true;
	}
	return false;
}

/*
 * Does the SSH server address live on IFACE? When it lives on another local
 * interface the session cannot be cut by this attach; when it is on none we
 * cannot tell, and assume the worst.
 */
static bool ssh_may_cross(const char *ifname, const struct pc_prefix *server)
{
	struct ifaddrs *addrs, *ifa;
	bool elsewhere = false, here = false;

	if (getifaddrs(&addrs))
		return true;
	for (ifa = addrs; ifa; ifa = ifa->ifa_next) {
		const void *raw;
		size_t len;

		if (!ifa->ifa_addr)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET && server->family == AF_INET) {
			raw = &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			len = 4;
		} else if (ifa->ifa_addr->sa_family == AF_INET6 && server->family == AF_INET6) {
			raw = &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
			len = 16;
		} else {
			continue;
		}
		if (memcmp(raw, server->addr, len) != 0)
			continue;
		if (strcmp(ifa->ifa_name, ifname) == 0)
			here = true;
		else
			elsewhere = true;
	}
	freeifaddrs(addrs);
	return here || !elsewhere;
}

/*
 * The lock-out guard: refuse a config that would cut off the SSH session
 * this command runs from. Returns true when attaching is safe.
 */
static bool ssh_session_survives(const char *ifname, const struct pc_ruleset *rs)
{
	const char *conn = getenv("SSH_CONNECTION");
	char client_s[64], server_s[64], why[128];
	struct pc_prefix client, server;
	int client_port, server_port;

	if (!conn || sscanf(conn, "%63s %d %63s %d", client_s, &client_port, server_s,
			    &server_port) != 4)
		return true;
	if (pc_parse_prefix(client_s, &client, why, sizeof(why)) ||
	    pc_parse_prefix(server_s, &server, why, sizeof(why)))
		return true;
	if (!ssh_may_cross(ifname, &server) || ruleset_admits(rs, &client, server_port))
		return true;
	pc_warn("%s: refusing to attach: this config would cut off your SSH session "
		"(%s -> tcp port %d is not allowed).", ifname, client_s, server_port);
	pc_warn("add 'allow tcp %d' (or 'allow tcp %d from %s') to the config, or use --force",
		server_port, server_port, client_s);
	return false;
}

static const char *xdp_mode_name(int mode)
{
	return mode == PC_XDP_NATIVE ? "native" : mode == PC_XDP_GENERIC ? "generic" : "unknown";
}

/* Attach PROG_FD through a bpf_link in the requested mode; auto tries native first. */
static int attach_link(const char *ifname, int ifindex, int prog_fd, int want_mode, int *got_mode)
{
	int modes[2], n = 0, fd = -1, err = 0;

	if (want_mode != PC_XDP_GENERIC)
		modes[n++] = PC_XDP_NATIVE;
	if (want_mode != PC_XDP_NATIVE)
		modes[n++] = PC_XDP_GENERIC;

	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, opts,
			    .flags = modes[i] == PC_XDP_NATIVE ? XDP_FLAGS_DRV_MODE
							       : XDP_FLAGS_SKB_MODE);

		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
		if (fd >= 0) {
			*got_mode = modes[i];
			return fd;
		}
		err = -errno;
		pc_debug("%s: %s XDP attach failed: %s", ifname, xdp_mode_name(modes[i]),
			 pc_strerr(err));
	}
	if (err == -EBUSY || err == -EEXIST)
		pc_warn("%s: couldn't attach XDP program: %s; another XDP program is attached "
			"(see 'ip link show %s' or 'bpftool net')",
			ifname, pc_strerr(err), ifname);
	else
		pc_warn("%s: couldn't attach XDP program in %s mode: %s", ifname,
			want_mode ? xdp_mode_name(want_mode) : "native or generic", pc_strerr(err));
	return err;
}

static void remove_map_pins(const char *ifname)
{
	size_t n;
	const char *const *names = pc_map_names(&n);
	char path[4096];

	for (size_t i = 0; i < n; i++) {
		if (pc_pin_path(ifname, names[i], path, sizeof(path)) == 0)
			unlink(path);
	}
}

static void remove_pins(const char *ifname)
{
	char path[4096];

	if (pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path)) == 0)
		unlink(path);
	remove_map_pins(ifname);
	if (pc_pin_dir(ifname, path, sizeof(path)) == 0)
		rmdir(path);
}

static int pin_maps(struct bpf_object *obj, const char *ifname)
{
	size_t n;
	const char *const *names = pc_map_names(&n);
	char path[4096];
	int err;

	for (size_t i = 0; i < n; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, names[i]);

		err = map ? pc_pin_path(ifname, names[i], path, sizeof(path)) : -ENOENT;
		if (!err)
			err = bpf_map__pin(map, path);
		if (err) {
			pc_warn("%s: couldn't pin map %s at %s: %s", ifname, names[i], path,
				pc_strerr(err));
			return err;
		}
	}
	return 0;
}

/* Record how and from what the interface was attached; other fields stay. */
static int write_meta(const struct pc_maps *maps, const char *config_path, int xdp_mode)
{
	struct pc_meta meta = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(maps->meta, &zero, &meta);
	meta.xdp_mode = xdp_mode;
	meta.attached_at = time(NULL);
	if (config_path && !realpath(config_path, meta.config_path))
		snprintf(meta.config_path, sizeof(meta.config_path), "%s", config_path);
	return bpf_map_update_elem(maps->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

int pc_cmd_attach(const struct pc_attach_opts *opts)
{
	const char *ifname = opts->ifname;
	struct portcullis_bpf *skel = NULL;
	__u64 key;
	int ifindex, link_fd = -1, lock_fd = -1, got_mode = 0, err;
	int ret = PC_EXIT_FAILURE;
	struct pc_ruleset rs;
	struct pc_maps maps;
	char path[4096];
	bool pinned = false;

	if (pc_check_ifname(ifname, true))
		return PC_EXIT_FAILURE;
	ifindex = if_nametoindex(ifname);
	ret = load_config(opts->config_path, &rs);
	if (ret != PC_EXIT_OK)
		return ret;
	ret = PC_EXIT_FAILURE;

	if (!opts->force && !ssh_session_survives(ifname, &rs)) {
		ret = PC_EXIT_USAGE;
		goto cleanup;
	}
	if (pc_ensure_bpffs())
		goto cleanup;
	if (pc_is_attached(ifname)) {
		pc_pin_dir(ifname, path, sizeof(path));
		pc_warn("%s: already attached (pins under %s); use 'portcullis reload %s' to change "
			"its rules, or 'portcullis detach %s' first",
			ifname, path, ifname, ifname);
		goto cleanup;
	}
	if (pc_make_pin_dir(ifname))
		goto cleanup;
	lock_fd = pc_lock_iface(ifname);
	/* Someone else may have attached while we waited for the lock. */
	if (lock_fd < 0 || pc_is_attached(ifname)) {
		pc_warn("%s: attached concurrently by another command", ifname);
		goto cleanup;
	}
	/* Map pins without a link pin (an attach killed half-way, pins removed
	 * by hand) belong to no attachment: clear them rather than fail on them. */
	remove_map_pins(ifname);
	pinned = true;

	skel = portcullis_bpf__open();
	if (!skel) {
		pc_warn("%s: couldn't open the BPF object: %s", ifname, pc_strerr(-errno));
		goto cleanup;
	}
	/* The scan detector's hash key: nobody outside may know it. */
	if (getrandom(&key, sizeof(key), 0) != sizeof(key)) {
		pc_warn("%s: couldn't draw the scan detector's hash key: %s", ifname,
			pc_strerr(-errno));
		goto cleanup;
	}
	skel->rodata->scan_hash_key = key;
	err = portcullis_bpf__load(skel);
	if (err) {
		pc_warn("%s: couldn't load the BPF program: %s (run with -v for the verifier log)",
			ifname, pc_strerr(err));
		goto cleanup;
	}
	err = pc_maps_from_object(skel->obj, &maps);
	if (!err)
		err = pc_ruleset_commit(&maps, &rs, 1);
	if (!err)
		err = write_meta(&maps, opts->config_path, 0);
	if (err) {
		pc_warn("%s: couldn't fill the maps: %s", ifname, pc_strerr(err));
		goto cleanup;
	}
	if (pin_maps(skel->obj, ifname))
		goto cleanup;

	link_fd = attach_link(ifname, ifindex, bpf_program__fd(skel->progs.portcullis_xdp),
			      opts->xdp_mode, &got_mode);
	if (link_fd < 0)
		goto cleanup;
	write_meta(&maps, opts->config_path, got_mode);
	pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	if (bpf_obj_pin(link_fd, path)) {
		pc_warn("%s: couldn't pin the XDP link at %s: %s", ifname, path, pc_strerr(-errno));
		goto cleanup;
	}
	pc_info("%s: attached in %s mode with %s", ifname, xdp_mode_name(got_mode),
		opts->config_path);
	pinned = false; /* keep them: success */
	ret = PC_EXIT_OK;

cleanup:
	if (pinned)
		remove_pins(ifname);
	if (link_fd >= 0)
		close(link_fd); /* the pin keeps the attachment alive */
	if (lock_fd >= 0)
		close(lock_fd);
	portcullis_bpf__destroy(skel);
	pc_ruleset_free(&rs);
	return ret;
}

int pc_cmd_detach(const char *ifname)
{
	char path[4096];
	int link_fd, lock_fd;

	if (pc_check_ifname(ifname, false))
		return PC_EXIT_USAGE;
	pc_pin_dir(ifname, path, sizeof(path));
	if (!pc_is_attached(ifname)) {
		pc_warn("%s: not attached (no pins under %s)", ifname, path);
		return PC_EXIT_FAILURE;
	}
	lock_fd = pc_lock_iface(ifname);
	pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	link_fd = bpf_obj_get(path);
	/* Detach explicitly: another process may still hold the link open. */
	if (link_fd >= 0) {
		if (bpf_link_detach(link_fd) && errno != ENOLINK)
			pc_warn("%s: couldn't detach the XDP link: %s", ifname, pc_strerr(-errno));
		close(link_fd);
	}
	remove_pins(ifname);
	if (lock_fd >= 0)
		close(lock_fd);
	pc_info("%s: detached", ifname);
	return PC_EXIT_OK;
}

static void count_reload(const struct pc_maps *maps, const char *config_path, bool ok)
{
	struct pc_meta meta;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(maps->meta, &zero, &meta))
		return;
	if (ok) {
		meta.reloads_ok++;
		if (!realpath(config_path, meta.config_path))
			snprintf(meta.config_path, sizeof(meta.config_path), "%s", config_path);
	} else {
		meta.reloads_failed++;
	}
	bpf_map_update_elem(maps->meta, &zero, &meta, BPF_ANY);
}

int pc_cmd_reload(const char *ifname, const char *config_path)
{
	struct pc_ruleset rs;
	struct pc_config cfg;
	struct pc_maps maps;
	__u32 active;
	int lock_fd, ret, err;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	lock_fd = pc_lock_iface(ifname);
	ret = load_config(config_path, &rs);
	if (ret != PC_EXIT_OK) {
		pc_warn("%s: reload refused; the old rules stay in force", ifname);
		count_reload(&maps, config_path, false);
		goto out;
	}
	err = pc_maps_active_set(&maps, &active);
	if (!err)
		err = pc_maps_read_config(&maps, active, &cfg);
	if (!err)
		err = pc_ruleset_commit(&maps, &rs, cfg.generation + 1);
	if (err) {
		pc_warn("%s: reload failed: %s; the old rules stay in force", ifname,
			pc_strerr(err));
		count_reload(&maps, config_path, false);
		ret = PC_EXIT_FAILURE;
	} else {
		count_reload(&maps, config_path, true);
		pc_debug("%s: reloaded %s (generation %u)", ifname, config_path,
			 cfg.generation + 1);
	}
	pc_ruleset_free(&rs);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return ret;
}
