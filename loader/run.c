// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The service mode. The main thread only waits on a signalfd (nothing runs
 * in a signal handler) and on link events, and does what they ask; the HTTP
 * server has its own thread. Everything an operator must know about (start,
 * reloads, bans, an interface gone and back, stop) is one line on stderr and
 * in syslog, and systemd hears READY, RELOADING and STOPPING through
 * sd_notify.
 *
 * Several interfaces share one process: each has a struct run_iface, and
 * everything done for an interface (start, tick, reload, stop) is a call
 * taking it, so per-interface work hooks in at one place.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <systemd/sd-daemon.h>

#include "commands.h"
#include "config.h"
#include "droplog.h"
#include "crowdsec.h"
#include "events.h"
#include "exporter.h"
#include "log.h"
#include "pins.h"
#include "rollout.h"
#include "run.h"
#include "upgrade.h"
#include "state.h"
#include "../maps/bans.h"

/* How often the loop looks at the interfaces and the ban events. */
#define TICK_MS 250
/* Bans are saved at most this often: a scan flood must not become a write flood. */
#define SAVE_INTERVAL_NS 1000000000ULL
/* A failed re-attach of a recreated interface is tried again this often. */
#define RETRY_NS 5000000000ULL

/* One interface this service filters, and what the loop keeps for it between ticks. */
struct run_iface {
	const struct pc_run_opts *opts;
	const char *ifname;
	bool attached_here;	  /* attached by this run, not adopted */
	struct pc_pin_hold hold;  /* the link and maps, held open */
	bool gave_up;		  /* removed pins could not be restored */
	struct pc_events *events; /* NULL: not following bans */
	struct pc_maps maps;	  /* the events follower's; open while events is */
	bool present;		  /* the interface existed at the last look */
	__u64 reattach_failed_ns; /* pc_now_ns() of a failed re-attach, 0 if none */
	bool bans_changed;	  /* is the state file behind the maps? */
	__u64 saved_ns;		  /* pc_now_ns() of the last save */
	struct pc_crowdsec *crowdsec; /* the config's crowdsec lines at work, or NULL */
	struct pc_droplog *droplog;   /* the drop log to syslog, with events; or NULL */
};

/* One line to stderr (as every message) and the same line to syslog. */
static void __attribute__((format(printf, 2, 3))) note(int priority, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pc_log(priority <= LOG_WARNING ? PC_LOG_WARN : PC_LOG_INFO, "%s", line);
	syslog(priority, "%s", line);
}

static unsigned int current_generation(const char *ifname)
{
	struct pc_config cfg = {};
	struct pc_maps maps;
	__u32 active;

	if (pc_open_iface(ifname, &maps))
		return 0;
	if (!pc_maps_active_set(&maps, &active))
		pc_maps_read_config(&maps, active, &cfg);
	pc_maps_close(&maps);
	return cfg.generation;
}

static void notify_reloading(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)now.tv_sec * 1000000ULL + now.tv_nsec / 1000);
}

/*
 * SIGHUP: the config file again, atomically; a bad one, or one that would
 * cut off the SSH session run was started from, keeps the old rules.
 * Returns whether it was applied.
 */
static bool reload(const struct run_iface *iface)
{
	const struct pc_run_opts *opts = iface->opts;
	struct pc_reload_opts reload = {
	    .ifname = iface->ifname,
	    .config_path = opts->config_path,
	    .force = opts->force,
	};
	char why[1100];
	int ret;

	ret = pc_cmd_reload(&reload, why, sizeof(why));
	if (ret == PC_EXIT_OK)
		note(LOG_INFO, "%s: reloaded %s (generation %u)", iface->ifname, opts->config_path,
		     current_generation(iface->ifname));
	else
		note(LOG_ERR, "%s: reload of %s failed: %s; the old rules stay in force",
		     iface->ifname, opts->config_path, why);
	return ret == PC_EXIT_OK;
}

/* "eth0" or "eth0 eth1 ...": the interfaces, for systemd's status line. */
static const char *names(const struct pc_run_opts *opts, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < opts->n_ifaces && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? " " : "", opts->ifnames[i]);
	return buf;
}

static void reload_all(struct run_iface *ifaces, int n)
{
	char list[1100];
	bool all_ok = true;

	notify_reloading();
	for (int i = 0; i < n; i++) {
		bool ok = reload(&ifaces[i]);

		/* The crowdsec lines follow the rules: a refused file changes neither. */
		if (ok)
			ifaces[i].crowdsec = pc_crowdsec_reload(ifaces[i].crowdsec,
								ifaces[i].ifname,
								ifaces[i].opts->config_path);
		all_ok &= ok;
	}
	sd_notifyf(0, "READY=1\nSTATUS=%s %s", names(ifaces->opts, list, sizeof(list)),
		   all_ok ? "reloaded" : "reload failed, old rules in force");
}

/* Bans, unbans and expiries from the events follower, one line each. */
static void log_ban_event(const char *line, void *ctx)
{
	struct run_iface *iface = ctx;

	note(LOG_NOTICE, "%s: %s", iface->ifname, line);
	iface->bans_changed = true;
}

static void follow_bans(struct run_iface *iface)
{
	if (pc_open_iface_recreated_ok(iface->ifname, &iface->maps))
		return;
	iface->events = pc_events_open(&iface->maps, log_ban_event, iface);
	if (!iface->events) {
		pc_warn("%s: can't follow ban events; bans are not logged", iface->ifname);
		pc_maps_close(&iface->maps);
		return;
	}
	iface->droplog = pc_droplog_syslog(&iface->maps, iface->ifname);
}

/* Held so that pins removed by hand neither detach the filter nor go unnoticed. */
static void hold_pins(struct run_iface *iface)
{
	pc_pins_release(&iface->hold);
	if (pc_pins_hold(iface->ifname, &iface->hold))
		note(LOG_WARNING,
		     "%s: can't hold the attachment; pins removed by hand will not be "
		     "put back",
		     iface->ifname);
}

/*
 * The interface came back (deleted and created again: a VM's tap, a veth, a
 * driver reload): the old XDP link went with the old interface, so attach
 * the same program, maps and bans to the new one at once.
 */
static void attach_again(struct run_iface *iface)
{
	int err;

	if (pc_link_state(iface->ifname, NULL) != PC_LINK_RECREATED)
		return;
	/* A failure (another XDP program took the interface?) is tried again, not every tick. */
	if (iface->reattach_failed_ns && pc_now_ns() - iface->reattach_failed_ns < RETRY_NS)
		return;
	err = pc_reattach(iface->ifname, iface->opts->xdp_mode);
	if (err) {
		if (!iface->reattach_failed_ns)
			note(LOG_ERR,
			     "%s: the interface is back but can't be attached again: %s; its "
			     "traffic is not filtered (trying again every %d s)",
			     iface->ifname, pc_strerr(err), (int)(RETRY_NS / 1000000000ULL));
		iface->reattach_failed_ns = pc_now_ns();
		return;
	}
	iface->reattach_failed_ns = 0;
	hold_pins(iface);
	note(LOG_NOTICE,
	     "%s: the interface was recreated; attached again, with its rules and bans",
	     iface->ifname);
}

/* Say once when the interface goes away or comes back; neither stops the service. */
static void watch_interface(struct run_iface *iface)
{
	bool now = if_nametoindex(iface->ifname) != 0;

	if (now != iface->present) {
		iface->present = now;
		iface->reattach_failed_ns = 0; /* a new interface: try at once */
		if (!now)
			note(LOG_WARNING,
			     "%s: the interface went away; its XDP program went with it (attached "
			     "again when it comes back)",
			     iface->ifname);
	}
	if (now)
		attach_again(iface);
}

/*
 * Pins removed by hand (rm -rf PIN_ROOT/IFACE) while this service holds the
 * link: the filter is still attached, so put the pins back and say so.
 * Without pins and without a link (detach, or the interface went away) the
 * interface is not filtered any more: say that once and let go.
 */
static void watch_pins(struct run_iface *iface)
{
	struct pc_pin_hold *hold = &iface->hold;
	char dir[4096];
	int err;

	if (hold->link < 0 || iface->gave_up || pc_is_attached(iface->ifname))
		return;
	pc_pin_dir(iface->ifname, dir, sizeof(dir));
	if (!pc_pins_link_attached(hold)) {
		note(LOG_WARNING,
		     "%s: detached under this service (no pins under %s, no XDP link); "
		     "its traffic is not filtered",
		     iface->ifname, dir);
		pc_pins_release(hold);
		return;
	}
	err = pc_pins_restore(iface->ifname, hold);
	if (err) {
		note(LOG_ERR,
		     "%s: the pins under %s were removed and can't be restored: %s; the filter "
		     "stays attached only while this service runs",
		     iface->ifname, dir, pc_strerr(err));
		/* Keep holding the link: it is what keeps the filter attached now. */
		iface->gave_up = true;
		return;
	}
	note(LOG_WARNING,
	     "%s: the pins under %s were removed by hand; put them back (the filter "
	     "stayed attached)",
	     iface->ifname, dir);
}

/* Does a change made with --confirm await confirmation on IFNAME? */
static bool rollout_pending(const char *ifname)
{
	struct pc_rollout rollout = {};
	struct pc_maps maps;

	if (pc_open_iface(ifname, &maps))
		return false;
	pc_rollout_read(&maps, &rollout);
	pc_maps_close(&maps);
	return rollout.pending;
}

/* Attach, or adopt an attachment and bring it to the config (unless a change
 * awaits confirmation: that one decides). Returns an exit status. */
static int attach_or_adopt(struct run_iface *iface)
{
	const struct pc_run_opts *opts = iface->opts;
	struct pc_attach_opts attach = {
	    .ifname = iface->ifname,
	    .config_path = opts->config_path,
	    .xdp_mode = opts->xdp_mode,
	    .force = opts->force,
	};
	struct pc_reload_opts reload = {
	    .ifname = iface->ifname,
	    .config_path = opts->config_path,
	    .force = opts->force,
	};
	int ret;

	iface->attached_here = false;
	if (pc_check_ifname(iface->ifname, true))
		return PC_EXIT_FAILURE;
	if (!pc_is_attached(iface->ifname)) {
		ret = pc_cmd_attach(&attach);
		iface->attached_here = ret == PC_EXIT_OK;
		return ret;
	}
	/* Attached by another version (a package upgrade): attach swaps the program. */
	if (pc_pins_compatible(iface->ifname, NULL, 0) == -EPROTO) {
		ret = pc_cmd_attach(&attach);
		if (ret == PC_EXIT_OK)
			note(LOG_NOTICE, "%s: adopted an attachment of another version by upgrading it "
			     "in place", iface->ifname);
		return ret;
	}
	attach_again(iface);
	if (!opts->force && rollout_pending(iface->ifname)) {
		note(LOG_NOTICE,
		     "%s: adopted the existing attachment as it is: a change made with --confirm "
		     "awaits confirmation (%s not applied)",
		     iface->ifname, opts->config_path);
		return PC_EXIT_OK;
	}
	ret = pc_cmd_reload(&reload, NULL, 0);
	if (ret == PC_EXIT_OK)
		note(LOG_INFO, "%s: adopted the existing attachment with %s", iface->ifname,
		     opts->config_path);
	else
		note(LOG_ERR, "%s: not adopting the existing attachment: %s is refused",
		     iface->ifname, opts->config_path);
	return ret;
}

/* The bans to the state file, after a change, at most once a second. */
static void save_bans(struct run_iface *iface, bool now)
{
	__u64 time = pc_now_ns();

	if (!now && (!iface->bans_changed || time - iface->saved_ns < SAVE_INTERVAL_NS))
		return;
	iface->bans_changed = false;
	iface->saved_ns = time;
	pc_state_save(iface->ifname, &iface->maps);
}

/*
 * A change made with --confirm and not confirmed: the data path already
 * judges by the previous rules; put the maps in order (after an attach:
 * detach). The events follower logs the rollback line.
 */
static void tidy_rollout(struct run_iface *iface)
{
	bool detached;

	if (pc_rollout_tidy(iface->ifname, &iface->maps, true, &detached) > 0 && detached)
		note(LOG_WARNING, "%s: detached: the attach was not confirmed in time",
		     iface->ifname);
}

/* Everything the loop does for one interface, every tick and at every link event. */
static void tick(struct run_iface *iface)
{
	if (iface->events && pc_events_poll(iface->events, 0) < 0) {
		/* detached under us: said by watch_pins or at stop */
		pc_events_close(iface->events);
		iface->events = NULL;
		pc_droplog_close(iface->droplog);
		iface->droplog = NULL;
		pc_maps_close(&iface->maps);
	}
	if (iface->events) {
		save_bans(iface, false);
		tidy_rollout(iface);
	}
	if (iface->droplog)
		pc_droplog_poll(iface->droplog, 0);
	watch_interface(iface);
	watch_pins(iface);
}

/* What the service does for an interface once the exporter serves it. */
static void start(struct run_iface *iface)
{
	iface->present = true;
	hold_pins(iface);
	follow_bans(iface);
	iface->crowdsec = pc_crowdsec_run(iface->ifname, iface->opts->config_path);
}

/* Stopping: the bans saved, the filter left attached unless --detach-on-exit. */
static int stop(struct run_iface *iface)
{
	const struct pc_run_opts *opts = iface->opts;
	const char *ifname = iface->ifname;
	int ret = PC_EXIT_OK;

	pc_crowdsec_stop(iface->crowdsec);
	iface->crowdsec = NULL;
	if (iface->events) {
		/* Detach saves them too; a run that stays attached saves them here. */
		if (!opts->detach_on_exit && pc_is_attached(ifname))
			save_bans(iface, true);
		pc_events_close(iface->events);
		pc_droplog_close(iface->droplog);
		iface->droplog = NULL;
		pc_maps_close(&iface->maps);
		iface->events = NULL;
	}
	/* Fail-closed: the pinned link keeps filtering until 'portcullis detach'. */
	if (opts->detach_on_exit && pc_is_attached(ifname))
		ret = pc_cmd_detach(ifname);
	else if (pc_is_attached(ifname))
		note(LOG_INFO, "%s: left attached and filtering; 'portcullis detach %s' unfilters",
		     ifname, ifname);
	pc_pins_release(&iface->hold);
	return ret;
}

/* Link events (RTM_NEWLINK, RTM_DELLINK) of this namespace, or -1: the tick still looks. */
static int link_events_open(void)
{
	struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		pc_warn("run: can't follow link events: %s; interfaces that come back are "
			"attached again within %d ms",
			pc_strerr(-errno), TICK_MS);
	return fd;
}

/* Read what is queued; which link changed does not matter, every interface is looked at. */
static void link_events_drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), 0) > 0 || errno == ENOBUFS)
		;
}

/* Wait for signals and link events; returns on SIGTERM or SIGINT. */
static void serve(struct run_iface *ifaces, int n, int sig_fd, int link_fd)
{
	struct pollfd pfd[2] = {{.fd = sig_fd, .events = POLLIN},
				{.fd = link_fd, .events = POLLIN}};
	struct signalfd_siginfo info;

	for (;;) {
		int ready = poll(pfd, link_fd >= 0 ? 2 : 1, TICK_MS);

		if (ready < 0 && errno != EINTR)
			return;
		if (ready > 0 && (pfd[1].revents & POLLIN))
			link_events_drain(link_fd);
		for (int i = 0; i < n; i++)
			tick(&ifaces[i]);
		if (ready <= 0 || !(pfd[0].revents & POLLIN))
			continue;
		if (read(sig_fd, &info, sizeof(info)) != sizeof(info))
			continue;
		if (info.ssi_signo == SIGHUP) {
			reload_all(ifaces, n);
			continue;
		}
		for (int i = 0; i < n; i++)
			note(LOG_INFO, "%s: stopping on %s", ifaces[i].ifname,
			     strsignal(info.ssi_signo));
		return;
	}
}

/* Attach or adopt every interface; on a failure, undo what this run attached. */
static int start_filtering(struct run_iface *ifaces, int n)
{
	int ret = PC_EXIT_OK;
	int i;

	for (i = 0; i < n && ret == PC_EXIT_OK; i++)
		ret = attach_or_adopt(&ifaces[i]);
	if (ret != PC_EXIT_OK)
		while (i-- > 0)
			if (ifaces[i].attached_here)
				pc_cmd_detach(ifaces[i].ifname);
	return ret;
}

int pc_cmd_run(const struct pc_run_opts *opts)
{
	struct pc_exporter *exporter = NULL;
	struct run_iface *ifaces;
	int n = opts->n_ifaces, sig_fd, link_fd = -1, ret;
	char list[1100];

	ifaces = calloc(n, sizeof(*ifaces));
	if (!ifaces)
		return PC_EXIT_FAILURE;
	for (int i = 0; i < n; i++)
		ifaces[i] = (struct run_iface){
		    .opts = opts, .ifname = opts->ifnames[i], .hold = {.link = -1}};
	openlog("portcullis", LOG_PID, LOG_DAEMON);
	sig_fd = pc_service_signalfd();
	if (sig_fd < 0) {
		pc_warn("run: couldn't set up signals: %s", pc_strerr(sig_fd));
		ret = PC_EXIT_FAILURE;
		goto out;
	}
	ret = start_filtering(ifaces, n);
	if (ret != PC_EXIT_OK)
		goto out;
	exporter = pc_exporter_start(opts->listen, opts->ifnames, n, &opts->metrics, &ret);
	if (!exporter) {
		for (int i = 0; i < n; i++)
			if (ifaces[i].attached_here)
				pc_cmd_detach(ifaces[i].ifname);
		goto out;
	}
	for (int i = 0; i < n; i++)
		note(LOG_INFO, "%s: filtering with %s; metrics at %s", ifaces[i].ifname,
		     opts->config_path, pc_exporter_url(exporter));
	sd_notifyf(0, "READY=1\nSTATUS=filtering %s, metrics at %s",
		   names(opts, list, sizeof(list)), pc_exporter_url(exporter));

	link_fd = link_events_open();
	for (int i = 0; i < n; i++)
		start(&ifaces[i]);
	serve(ifaces, n, sig_fd, link_fd);

	sd_notify(0, "STOPPING=1");
	pc_exporter_stop(exporter);
	for (int i = 0; i < n; i++) {
		int stopped = stop(&ifaces[i]);

		if (stopped != PC_EXIT_OK)
			ret = stopped;
	}
out:
	if (link_fd >= 0)
		close(link_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	closelog();
	free(ifaces);
	return ret;
}
