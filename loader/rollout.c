// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Safe rollout: --confirm, confirm, and taking unconfirmed changes back (see rollout.h). */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "events.h"
#include "log.h"
#include "pins.h"
#include "rollout.h"

__u64 pc_rollout_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The active set's number and both sets' settings. */
static int read_sets(const struct pc_maps *maps, __u32 *active, struct pc_config *cur,
		     struct pc_config *other)
{
	int err = pc_maps_active_set(maps, active);

	if (!err)
		err = pc_maps_read_config(maps, *active, cur);
	if (!err)
		err = pc_maps_read_config(maps, *active ^ 1, other);
	return err;
}

int pc_rollout_read(const struct pc_maps *maps, struct pc_rollout *r)
{
	struct pc_config cur, other;
	__u32 active;
	int err = read_sets(maps, &active, &cur, &other);

	*r = (struct pc_rollout){};
	if (err)
		return err;
	if (cur.flags & PC_CFG_CONFIRM_PENDING) {
		__u64 now = pc_rollout_now_ns();

		r->deadline_ns = cur.confirm_deadline_ns;
		r->confirm_ns = cur.confirm_ns;
		r->after_attach = other.flags & PC_CFG_UNFILTERED;
		r->pending = now < cur.confirm_deadline_ns;
		r->expired = !r->pending;
		r->left_ns = r->pending ? cur.confirm_deadline_ns - now : 0;
	} else if (other.flags & PC_CFG_ROLLED_BACK) {
		r->rolled_back = true;
		r->deadline_ns = other.confirm_deadline_ns;
		r->confirm_ns = other.confirm_ns;
	}
	return 0;
}

const char *pc_rollout_line(const struct pc_rollout *r, char *buf, size_t len)
{
	char within[32];

	snprintf(buf, len, "rollback: not confirmed within %s%s",
		 pc_format_duration(r->confirm_ns, 0, within, sizeof(within)),
		 r->after_attach ? "; the attach is undone, the interface is not filtered"
				 : "; the previous rules are back in force");
	return buf;
}

int pc_rollout_prepare_attach(const struct pc_maps *maps)
{
	struct pc_config unfiltered = { .flags = PC_CFG_UNFILTERED };
	__u32 active;
	int err = pc_maps_active_set(maps, &active);

	return err ? err : pc_maps_write_config(maps, active, &unfiltered);
}

/* Back to the other set for good; the one taken back keeps its deadline for status. */
static int roll_back(const struct pc_maps *maps)
{
	struct pc_config cur, other;
	__u32 active;
	int err = read_sets(maps, &active, &cur, &other);

	if (!err)
		err = pc_maps_activate(maps, active ^ 1);
	cur.flags = (cur.flags & ~PC_CFG_CONFIRM_PENDING) | PC_CFG_ROLLED_BACK;
	if (!err)
		err = pc_maps_write_config(maps, active, &cur);
	return err;
}

/* The active set, pending no more. */
static int take_as_confirmed(const struct pc_maps *maps)
{
	struct pc_config cfg;
	__u32 active;
	int err = pc_maps_active_set(maps, &active);

	if (!err)
		err = pc_maps_read_config(maps, active, &cfg);
	cfg.flags &= ~PC_CFG_CONFIRM_PENDING;
	cfg.confirm_deadline_ns = 0;
	if (!err)
		err = pc_maps_write_config(maps, active, &cfg);
	return err;
}

int pc_rollout_tidy(const char *ifname, const struct pc_maps *maps, bool quiet, bool *detached)
{
	struct pc_rollout r;
	char line[160];
	int lock_fd, err;

	*detached = false;
	err = pc_rollout_read(maps, &r);
	if (err || !r.expired)
		return err;
	lock_fd = pc_lock_iface(ifname);
	/* Someone may have tidied (or confirmed) while we waited for the lock. */
	err = pc_rollout_read(maps, &r);
	if (!err && r.expired && !r.after_attach)
		err = roll_back(maps);
	if (lock_fd >= 0)
		close(lock_fd);
	if (err || !r.expired)
		return err;
	if (!quiet)
		pc_warn("%s: %s", ifname, pc_rollout_line(&r, line, sizeof(line)));
	if (r.after_attach) {
		/* Saves the bans for the next attach, like any detach. */
		pc_cmd_detach(ifname);
		*detached = true;
	}
	return 1;
}

int pc_rollout_before_change(const char *ifname, const struct pc_maps *maps)
{
	bool detached;
	int err = pc_rollout_tidy(ifname, maps, false, &detached);

	if (err < 0)
		pc_warn("%s: can't read the pending change: %s", ifname, pc_strerr(err));
	if (detached)
		pc_warn("%s: not attached any more: the attach was not confirmed", ifname);
	return err < 0 ? err : detached ? -ENOENT : 0;
}

int pc_rollout_gate(const char *ifname, const struct pc_maps *maps, const char *verb, bool force)
{
	struct pc_rollout r;
	char left[32];
	int lock_fd, err;

	if (pc_rollout_before_change(ifname, maps))
		return PC_EXIT_FAILURE;
	if (pc_rollout_read(maps, &r) || !r.pending)
		return PC_EXIT_OK;
	pc_format_duration(r.left_ns, 0, left, sizeof(left));
	if (!force) {
		pc_warn("%s: %s refused: a change is pending confirmation (%s left); run "
			"'portcullis confirm %s' first, wait for its rollback, or use --force",
			ifname, verb, left, ifname);
		return PC_EXIT_USAGE;
	}
	lock_fd = pc_lock_iface(ifname);
	err = r.after_attach ? take_as_confirmed(maps) : roll_back(maps);
	if (lock_fd >= 0)
		close(lock_fd);
	if (err) {
		pc_warn("%s: %s: can't settle the pending change: %s", ifname, verb,
			pc_strerr(err));
		return PC_EXIT_FAILURE;
	}
	pc_info("%s: --force: %s", ifname,
		r.after_attach ? "the pending attach is taken as confirmed"
			       : "the pending change is rolled back first");
	return PC_EXIT_OK;
}

bool pc_rollout_news(const struct pc_maps *maps, __u64 *seen, char *line, size_t len)
{
	struct pc_rollout r;

	if (pc_rollout_read(maps, &r) || !(r.expired || r.rolled_back) || r.deadline_ns == *seen)
		return false;
	*seen = r.deadline_ns;
	pc_rollout_line(&r, line, len);
	return true;
}

int pc_cmd_confirm(const char *ifname)
{
	struct pc_maps maps;
	struct pc_rollout r;
	bool detached;
	char within[32];
	int lock_fd, ret = PC_EXIT_FAILURE, err;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	err = pc_rollout_tidy(ifname, &maps, false, &detached);
	if (err) {
		if (err > 0)
			pc_warn("%s: too late to confirm: the change was rolled back", ifname);
		else
			pc_warn("%s: can't read the pending change: %s", ifname, pc_strerr(err));
		goto out;
	}
	lock_fd = pc_lock_iface(ifname);
	err = pc_rollout_read(&maps, &r);
	if (!err && r.pending)
		err = take_as_confirmed(&maps);
	if (lock_fd >= 0)
		close(lock_fd);
	if (err) {
		pc_warn("%s: confirm failed: %s", ifname, pc_strerr(err));
	} else if (r.pending) {
		pc_info("%s: confirmed; the change stays in force", ifname);
		ret = PC_EXIT_OK;
	} else if (r.rolled_back || r.expired) {
		pc_warn("%s: too late to confirm: the last change was not confirmed within %s and "
			"was rolled back",
			ifname, pc_format_duration(r.confirm_ns, 0, within, sizeof(within)));
	} else {
		pc_warn("%s: nothing is pending confirmation", ifname);
	}
out:
	pc_maps_close(&maps);
	return ret;
}
