// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach, detach, reload, check: the commands that create, replace and
 * remove an interface's rules as a whole.
 */
#include <errno.h>
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
#include "conntrack.h"
#include "events.h"
#include "guard.h"
#include "log.h"
#include "pins.h"
#include "portcullis.skel.h"
#include "rollout.h"
#include "state.h"
#include "upgrade.h"

/*
 * Parse and validate a config; prints the error, and copies it to WHY (may
 * be NULL) for run's log. Returns an exit status.
 */
static int load_config(const char *path, struct pc_ruleset *rs, char *why, size_t why_len)
{
	struct pc_error err = {};

	if (pc_config_load(path, rs, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		if (why)
			snprintf(why, why_len, "%s", err.msg);
		pc_ruleset_free(rs);
		return PC_EXIT_USAGE;
	}
	return PC_EXIT_OK;
}

int pc_cmd_check(const char *config_path)
{
	struct pc_ruleset rs;
	int ret = load_config(config_path, &rs, NULL, 0);

	if (ret == PC_EXIT_OK)
		pc_ruleset_free(&rs);
	return ret;
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

/* Record how, where and from what the interface was attached; other fields stay. */
static int write_meta(const struct pc_maps *maps, const char *config_path, int xdp_mode,
		      int ifindex)
{
	struct pc_meta meta = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(maps->meta, &zero, &meta);
	if (xdp_mode)
		meta.xdp_mode = xdp_mode;
	if (ifindex)
		meta.ifindex = ifindex;
	meta.attached_at = time(NULL);
	if (config_path && !realpath(config_path, meta.config_path))
		snprintf(meta.config_path, sizeof(meta.config_path), "%s", config_path);
	return bpf_map_update_elem(maps->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

/* An attached interface: tidy an unconfirmed attach away; refuse while one is pending. */
static int attached_rollout(const char *ifname)
{
	struct pc_maps maps;
	int ret;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	ret = pc_rollout_gate(ifname, &maps, "attach", false);
	pc_maps_close(&maps);
	/* Detached by the tidy: free to attach again. */
	return ret == PC_EXIT_FAILURE && !pc_is_attached(ifname) ? PC_EXIT_OK : ret;
}

/* After a change made with --confirm: what happens without 'confirm'. */
static void say_pending(const char *ifname, __u64 confirm_ns, const char *undo)
{
	char within[32];

	pc_info("%s: pending confirmation: run 'portcullis confirm %s' within %s, or it is %s",
		ifname, ifname, pc_format_duration(confirm_ns, 0, within, sizeof(within)), undo);
}

/* What the program just loaded resolved its conntrack kfunc against, for
 * status, and what its maps mean, for the next version's upgrade check. */
static int record_build(const struct pc_maps *maps)
{
	struct pc_meta meta = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(maps->meta, &zero, &meta);
	meta.conntrack = pc_conntrack_probe();
	meta.layout = PC_LAYOUT_VERSION;
	return bpf_map_update_elem(maps->meta, &zero, &meta, BPF_ANY) ? -errno : 0;
}

/* RS into the inactive set of MAPS, as generation + 1, and make it the live one;
 * with CONFIRM_NS, only until then unless confirmed (loader/rollout.h). */
static int commit_next(const struct pc_maps *maps, const struct pc_ruleset *rs, __u64 confirm_ns,
		       __u32 *generation)
{
	struct pc_config cfg;
	__u32 active;
	int err;

	err = pc_maps_active_set(maps, &active);
	if (!err)
		err = pc_maps_read_config(maps, active, &cfg);
	if (!err)
		err = pc_ruleset_commit_confirm(maps, rs, cfg.generation + 1, confirm_ns);
	if (!err)
		*generation = cfg.generation + 1;
	return err;
}

/*
 * Put the pinned link PATH's program on IFINDEX with a new link, pinned in
 * the old one's place (a rename: the link pin never goes missing).
 */
static int relink(const char *ifname, const char *path, int ifindex, int want_mode, int *got_mode)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char fresh[4200];
	int old_fd, prog_fd = -1, link_fd = -1, err = 0;

	old_fd = bpf_obj_get(path);
	if (old_fd < 0 || bpf_obj_get_info_by_fd(old_fd, &info, &len))
		err = -errno;
	if (!err && (prog_fd = bpf_prog_get_fd_by_id(info.prog_id)) < 0)
		err = -errno;
	if (err) {
		pc_warn("%s: couldn't get the attached program from %s: %s", ifname, path,
			pc_strerr(err));
		goto out;
	}
	link_fd = attach_link(ifname, ifindex, prog_fd, want_mode, got_mode);
	if (link_fd < 0) {
		err = link_fd;
		goto out;
	}
	snprintf(fresh, sizeof(fresh), "%s.new", path);
	unlink(fresh);
	if (bpf_obj_pin(link_fd, fresh) == 0 && rename(fresh, path) == 0)
		goto out;
	/* bpffs without rename: a moment without a link pin, under the interface's lock. */
	unlink(fresh);
	unlink(path);
	if (bpf_obj_pin(link_fd, path)) {
		err = -errno;
		pc_warn("%s: couldn't pin the new XDP link at %s: %s", ifname, path,
			pc_strerr(err));
	}
out:
	if (link_fd >= 0)
		close(link_fd); /* pinned, or detached again on failure */
	if (prog_fd >= 0)
		close(prog_fd);
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

int pc_reattach(const char *ifname, int want_mode)
{
	struct pc_maps maps;
	char path[4096];
	int ifindex = if_nametoindex(ifname), got_mode = 0, lock_fd, err;

	if (!ifindex)
		return -ENODEV;
	err = pc_open_iface_recreated_ok(ifname, &maps);
	if (err)
		return err;
	lock_fd = pc_lock_iface(ifname);
	/* Another command may have attached it again while we waited. */
	if (pc_link_state(ifname, NULL) != PC_LINK_RECREATED)
		goto out;
	pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	err = relink(ifname, path, ifindex, want_mode, &got_mode);
	if (!err)
		err = write_meta(&maps, NULL, got_mode, ifindex);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return err;
}

/*
 * Upgrade in place: this version's program, with OBJ's maps already filled,
 * replaces the old version's on the pinned link in one step (bpf_link_update),
 * so the interface is never unfiltered; then this version's maps take the old
 * pins' places.
 */
static int swap_program(const char *ifname, int ifindex, struct bpf_object *obj, int prog_fd,
			int *got_mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, query);
	char path[4096];
	int link_fd, err = 0;

	pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	link_fd = bpf_obj_get(path);
	if (link_fd < 0 || bpf_link_update(link_fd, prog_fd, NULL))
		err = -errno;
	if (link_fd >= 0)
		close(link_fd);
	if (err) {
		pc_warn("%s: couldn't put this version's program on the link pinned at %s: %s; the "
			"old version's program goes on filtering",
			ifname, path, pc_strerr(err));
		return err;
	}
	*got_mode = PC_XDP_NATIVE;
	if (!bpf_xdp_query(ifindex, 0, &query) && query.attach_mode == XDP_ATTACHED_SKB)
		*got_mode = PC_XDP_GENERIC;
	remove_map_pins(ifname);
	return pin_maps(obj, ifname);
}

/* attach on an interface recreated since its attach: the same maps and bans, RS's rules. */
static int attach_again(const struct pc_attach_opts *opts, const struct pc_ruleset *rs)
{
	struct pc_maps maps;
	__u32 generation = 0;
	int err = pc_reattach(opts->ifname, opts->xdp_mode);

	if (err)
		return PC_EXIT_FAILURE;
	if (pc_open_iface(opts->ifname, &maps))
		return PC_EXIT_FAILURE;
	err = commit_next(&maps, rs, opts->confirm_ns, &generation);
	if (!err)
		err = write_meta(&maps, opts->config_path, 0, if_nametoindex(opts->ifname));
	pc_maps_close(&maps);
	if (err) {
		pc_warn("%s: attached again, but couldn't apply %s: %s; its previous rules are in "
			"force",
			opts->ifname, opts->config_path, pc_strerr(err));
		return PC_EXIT_FAILURE;
	}
	pc_info("%s: the interface was recreated since attach; attached again with %s, keeping "
		"its maps and bans",
		opts->ifname, opts->config_path);
	return PC_EXIT_OK;
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
	char path[4096], why[160];
	bool pinned = false, upgrade = false;

	if (pc_check_ifname(ifname, true))
		return PC_EXIT_FAILURE;
	ifindex = if_nametoindex(ifname);
	ret = load_config(opts->config_path, &rs, NULL, 0);
	if (ret != PC_EXIT_OK)
		return ret;
	ret = PC_EXIT_FAILURE;

	if (!opts->force && pc_guard_ruleset(ifname, "attach", &rs, NULL, 0)) {
		ret = PC_EXIT_USAGE;
		goto cleanup;
	}
	if (pc_ensure_bpffs())
		goto cleanup;
	if (pc_is_attached(ifname) && pc_link_state(ifname, NULL) == PC_LINK_RECREATED) {
		ret = attach_again(opts, &rs);
		goto cleanup;
	}
	if (pc_is_attached(ifname) && pc_pins_compatible(ifname, why, sizeof(why)) == -EPROTO) {
		pc_info("%s: attached by another version of portcullis (%s): upgrading it in place",
			ifname, why);
		upgrade = true;
		/* Unconfirmed, an attach is undone by detaching, but what an
		 * upgrade replaces (the old version's program) cannot come back. */
		if (opts->confirm_ns) {
			pc_warn("%s: --confirm cannot undo an upgrade in place (the old version's "
				"program would be gone); upgrade without it, then use 'reload "
				"%s --confirm DURATION' for rule changes",
				ifname, ifname);
			ret = PC_EXIT_USAGE;
			goto cleanup;
		}
	}
	/* An attach --confirm not confirmed in time is detached here first. */
	if (!upgrade && pc_is_attached(ifname)) {
		ret = attached_rollout(ifname);
		if (ret != PC_EXIT_OK)
			goto cleanup;
		ret = PC_EXIT_FAILURE;
	}
	if (!upgrade && pc_is_attached(ifname)) {
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
	if (lock_fd < 0 || pc_is_attached(ifname) != upgrade) {
		pc_warn("%s: attached or detached concurrently by another command", ifname);
		goto cleanup;
	}
	/* Map pins without a link pin (an attach killed half-way, pins removed
	 * by hand) belong to no attachment: clear them rather than fail on them.
	 * An upgrade keeps the old version's until its program is replaced. */
	if (!upgrade) {
		remove_map_pins(ifname);
		pinned = true;
	}

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
	if (!err && opts->confirm_ns)
		err = pc_rollout_prepare_attach(&maps);
	if (!err)
		err = pc_ruleset_commit_confirm(&maps, &rs, 1, opts->confirm_ns);
	if (!err)
		err = record_build(&maps);
	if (!err)
		err = write_meta(&maps, opts->config_path, 0, ifindex);
	if (err) {
		pc_warn("%s: couldn't fill the maps: %s", ifname, pc_strerr(err));
		goto cleanup;
	}
	/* Before the link: the saved bans are in force from the first packet. */
	pc_state_restore(ifname, &maps);
	if (upgrade) {
		if (swap_program(ifname, ifindex, skel->obj,
				 bpf_program__fd(skel->progs.portcullis_xdp), &got_mode))
			goto cleanup;
		write_meta(&maps, opts->config_path, got_mode, ifindex);
		pc_info("%s: upgraded in place to this version, in %s mode with %s", ifname,
			xdp_mode_name(got_mode), opts->config_path);
		ret = PC_EXIT_OK;
		goto cleanup;
	}
	if (pin_maps(skel->obj, ifname))
		goto cleanup;

	link_fd = attach_link(ifname, ifindex, bpf_program__fd(skel->progs.portcullis_xdp),
			      opts->xdp_mode, &got_mode);
	if (link_fd < 0)
		goto cleanup;
	write_meta(&maps, opts->config_path, got_mode, ifindex);
	pc_pin_path(ifname, PC_LINK_NAME, path, sizeof(path));
	if (bpf_obj_pin(link_fd, path)) {
		pc_warn("%s: couldn't pin the XDP link at %s: %s", ifname, path, pc_strerr(-errno));
		goto cleanup;
	}
	pc_info("%s: attached in %s mode with %s", ifname, xdp_mode_name(got_mode),
		opts->config_path);
	if (opts->confirm_ns)
		say_pending(ifname, opts->confirm_ns, "detached");
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

/* The bans in force, for the next attach; a failure is said and does not stop detach. */
static void save_bans(const char *ifname)
{
	struct pc_maps maps;

	if (pc_open_iface_recreated_ok(ifname, &maps))
		return;
	pc_state_save(ifname, &maps);
	pc_maps_close(&maps);
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
	save_bans(ifname);
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

int pc_cmd_reload(const struct pc_reload_opts *opts, char *why, size_t why_len)
{
	const char *ifname = opts->ifname, *config_path = opts->config_path;
	struct pc_ruleset rs;
	struct pc_maps maps;
	__u32 generation = 0;
	int lock_fd, ret, err;

	if (why)
		snprintf(why, why_len, "%s: can't open its pins", ifname);
	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	ret = pc_rollout_gate(ifname, &maps, "reload", opts->force);
	if (ret != PC_EXIT_OK) {
		if (why)
			snprintf(why, why_len, "%s",
				 ret == PC_EXIT_USAGE
					 ? "a change made with --confirm is pending confirmation"
					 : "the attach made with --confirm was not confirmed");
		pc_maps_close(&maps);
		return ret;
	}
	lock_fd = pc_lock_iface(ifname);
	ret = load_config(config_path, &rs, why, why_len);
	if (ret != PC_EXIT_OK) {
		pc_warn("%s: reload refused; the old rules stay in force", ifname);
		count_reload(&maps, config_path, false);
		goto out;
	}
	if (!opts->force && pc_guard_ruleset(ifname, "reload", &rs, why, why_len)) {
		pc_warn("%s: the old rules stay in force", ifname);
		count_reload(&maps, config_path, false);
		ret = PC_EXIT_USAGE;
		goto free;
	}
	err = commit_next(&maps, &rs, opts->confirm_ns, &generation);
	if (err) {
		pc_warn("%s: reload failed: %s; the old rules stay in force", ifname,
			pc_strerr(err));
		if (why)
			snprintf(why, why_len, "the maps could not be written: %s", pc_strerr(err));
		count_reload(&maps, config_path, false);
		ret = PC_EXIT_FAILURE;
	} else {
		count_reload(&maps, config_path, true);
		pc_debug("%s: reloaded %s (generation %u)", ifname, config_path, generation);
		if (opts->confirm_ns)
			say_pending(ifname, opts->confirm_ns, "rolled back");
	}
free:
	pc_ruleset_free(&rs);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	return ret;
}
