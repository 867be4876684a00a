// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The service mode. The main thread only waits on a signalfd (nothing runs
 * in a signal handler) and does what a signal asks; the HTTP server has its
 * own thread. Everything an operator must know about (start, reloads, bans,
 * stop) is one line on stderr and in syslog, and systemd hears READY,
 * RELOADING and STOPPING through sd_notify.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>

#include "commands.h"
#include "config.h"
#include "droplog.h"
#include "events.h"
#include "exporter.h"
#include "log.h"
#include "pins.h"
#include "run.h"
#include "state.h"
#include "../maps/bans.h"

/* How often the loop looks at the interface and the ban events. */
#define TICK_MS 250
/* Bans are saved at most this often: a scan flood must not become a write flood. */
#define SAVE_INTERVAL_NS 1000000000ULL

/* What the loop keeps between ticks: is the state file behind the maps? */
struct run_state {
	const struct pc_run_opts *opts;
	bool bans_changed;
	struct pc_droplog *droplog; /* the drop log to syslog; NULL: not followed */
	__u64 saved_ns; /* pc_now_ns() of the last save */
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
 */
static void reload(const struct pc_run_opts *opts)
{
	struct pc_reload_opts reload = {
	    .ifname = opts->ifname,
	    .config_path = opts->config_path,
	    .force = opts->force,
	};
	char why[1100];
	int ret;

	notify_reloading();
	ret = pc_cmd_reload(&reload, why, sizeof(why));
	if (ret == PC_EXIT_OK)
		note(LOG_INFO, "%s: reloaded %s (generation %u)", opts->ifname, opts->config_path,
		     current_generation(opts->ifname));
	else
		note(LOG_ERR, "%s: reload of %s failed: %s; the old rules stay in force",
		     opts->ifname, opts->config_path, why);
	sd_notifyf(0, "READY=1\nSTATUS=%s %s", opts->ifname,
		   ret == PC_EXIT_OK ? "reloaded" : "reload failed, old rules in force");
}

/* Bans, unbans and expiries from the events follower, one line each. */
static void log_ban_event(const char *line, void *ctx)
{
	struct run_state *state = ctx;

	note(LOG_NOTICE, "%s: %s", state->opts->ifname, line);
	state->bans_changed = true;
}

static struct pc_events *follow_bans(struct run_state *state, struct pc_maps *maps)
{
	const struct pc_run_opts *opts = state->opts;
	struct pc_events *events;

	if (pc_open_iface(opts->ifname, maps))
		return NULL;
	events = pc_events_open(maps, log_ban_event, state);
	if (!events) {
		pc_warn("%s: can't follow ban events; bans are not logged", opts->ifname);
		pc_maps_close(maps);
	}
	return events;
}

/* Say once when the interface goes away or comes back; neither stops the service. */
static void watch_interface(const struct pc_run_opts *opts, bool *present)
{
	bool now = if_nametoindex(opts->ifname) != 0;

	if (now == *present)
		return;
	*present = now;
	if (now)
		note(LOG_NOTICE,
		     "%s: the interface is back; the filter is not re-attached "
		     "until 'systemctl restart' or a new 'portcullis run'",
		     opts->ifname);
	else
		note(LOG_WARNING, "%s: the interface went away; its XDP program went with it",
		     opts->ifname);
}

/*
 * Pins removed by hand (rm -rf PIN_ROOT/IFACE) while this service holds the
 * link: the filter is still attached, so put the pins back and say so.
 * Without pins and without a link (detach, or the interface went away) the
 * interface is not filtered any more: say that once and let go.
 */
static void watch_pins(const struct pc_run_opts *opts, struct pc_pin_hold *hold, bool *gave_up)
{
	char dir[4096];
	int err;

	if (hold->link < 0 || *gave_up || pc_is_attached(opts->ifname))
		return;
	pc_pin_dir(opts->ifname, dir, sizeof(dir));
	if (!pc_pins_link_attached(hold)) {
		note(LOG_WARNING,
		     "%s: detached under this service (no pins under %s, no XDP link); "
		     "its traffic is not filtered",
		     opts->ifname, dir);
		pc_pins_release(hold);
		return;
	}
	err = pc_pins_restore(opts->ifname, hold);
	if (err) {
		note(LOG_ERR,
		     "%s: the pins under %s were removed and can't be restored: %s; the filter "
		     "stays attached only while this service runs",
		     opts->ifname, dir, pc_strerr(err));
		/* Keep holding the link: it is what keeps the filter attached now. */
		*gave_up = true;
		return;
	}
	note(LOG_WARNING,
	     "%s: the pins under %s were removed by hand; put them back (the filter "
	     "stayed attached)",
	     opts->ifname, dir);
}

/* Attach, or adopt an attachment and bring it to the config. Returns an exit status. */
static int attach_or_adopt(const struct pc_run_opts *opts, bool *attached_here)
{
	struct pc_attach_opts attach = {
	    .ifname = opts->ifname,
	    .config_path = opts->config_path,
	    .xdp_mode = opts->xdp_mode,
	    .force = opts->force,
	};
	struct pc_reload_opts reload = {
	    .ifname = opts->ifname,
	    .config_path = opts->config_path,
	    .force = opts->force,
	};
	int ret;

	*attached_here = false;
	if (pc_check_ifname(opts->ifname, true))
		return PC_EXIT_FAILURE;
	if (!pc_is_attached(opts->ifname)) {
		ret = pc_cmd_attach(&attach);
		*attached_here = ret == PC_EXIT_OK;
		return ret;
	}
	ret = pc_cmd_reload(&reload, NULL, 0);
	if (ret == PC_EXIT_OK)
		note(LOG_INFO, "%s: adopted the existing attachment with %s", opts->ifname,
		     opts->config_path);
	else
		note(LOG_ERR, "%s: not adopting the existing attachment: %s is refused",
		     opts->ifname, opts->config_path);
	return ret;
}

/* The bans to the state file, after a change, at most once a second. */
static void save_bans(struct run_state *state, const struct pc_maps *maps, bool now)
{
	__u64 time = pc_now_ns();

	if (!now && (!state->bans_changed || time - state->saved_ns < SAVE_INTERVAL_NS))
		return;
	state->bans_changed = false;
	state->saved_ns = time;
	pc_state_save(state->opts->ifname, maps);
}

/* Wait for signals; returns on SIGTERM or SIGINT. */
static void serve(struct run_state *state, int sig_fd, struct pc_events *events,
		  const struct pc_maps *maps, struct pc_pin_hold *hold)
{
	const struct pc_run_opts *opts = state->opts;
	struct pollfd pfd = {.fd = sig_fd, .events = POLLIN};
	struct signalfd_siginfo info;
	bool present = true, gave_up = false;

	for (;;) {
		int ready = poll(&pfd, 1, TICK_MS);

		if (ready < 0 && errno != EINTR)
			return;
		if (events && pc_events_poll(events, 0) < 0)
			events = NULL; /* detached under us: said by watch_interface or stop */
		if (events)
			save_bans(state, maps, false);
		if (state->droplog)
			pc_droplog_poll(state->droplog, 0);
		watch_interface(opts, &present);
		watch_pins(opts, hold, &gave_up);
		if (ready <= 0)
			continue;
		if (read(sig_fd, &info, sizeof(info)) != sizeof(info))
			continue;
		if (info.ssi_signo == SIGHUP) {
			reload(opts);
			continue;
		}
		note(LOG_INFO, "%s: stopping on %s", opts->ifname, strsignal(info.ssi_signo));
		return;
	}
}

int pc_cmd_run(const struct pc_run_opts *opts)
{
	struct pc_exporter *exporter = NULL;
	struct pc_pin_hold hold = {.link = -1};
	struct run_state state = {.opts = opts};
	struct pc_events *events = NULL;
	struct pc_maps maps;
	bool attached_here;
	int sig_fd, ret;

	openlog("portcullis", LOG_PID, LOG_DAEMON);
	sig_fd = pc_service_signalfd();
	if (sig_fd < 0) {
		pc_warn("run: couldn't set up signals: %s", pc_strerr(sig_fd));
		ret = PC_EXIT_FAILURE;
		goto out;
	}
	ret = attach_or_adopt(opts, &attached_here);
	if (ret != PC_EXIT_OK)
		goto out;
	exporter =
	    pc_exporter_start(opts->listen, (char *const *)&opts->ifname, 1, &opts->metrics, &ret);
	if (!exporter) {
		if (attached_here)
			pc_cmd_detach(opts->ifname);
		goto out;
	}
	note(LOG_INFO, "%s: filtering with %s; metrics at %s", opts->ifname, opts->config_path,
	     pc_exporter_url(exporter));
	sd_notifyf(0, "READY=1\nSTATUS=filtering %s, metrics at %s", opts->ifname,
		   pc_exporter_url(exporter));

	/* Held so that pins removed by hand neither detach the filter nor go unnoticed. */
	if (pc_pins_hold(opts->ifname, &hold))
		note(LOG_WARNING,
		     "%s: can't hold the attachment; pins removed by hand will not be "
		     "put back",
		     opts->ifname);
	events = follow_bans(&state, &maps);
	if (events)
		state.droplog = pc_droplog_syslog(&maps, opts->ifname);
	serve(&state, sig_fd, events, &maps, &hold);

	sd_notify(0, "STOPPING=1");
	pc_exporter_stop(exporter);
	if (events) {
		/* Detach saves them too; a run that stays attached saves them here. */
		if (!opts->detach_on_exit && pc_is_attached(opts->ifname))
			save_bans(&state, &maps, true);
		pc_events_close(events);
		pc_droplog_close(state.droplog);
		pc_maps_close(&maps);
	}
	/* Fail-closed: the pinned link keeps filtering until 'portcullis detach'. */
	if (opts->detach_on_exit && pc_is_attached(opts->ifname))
		ret = pc_cmd_detach(opts->ifname);
	else if (pc_is_attached(opts->ifname))
		note(LOG_INFO, "%s: left attached and filtering; 'portcullis detach %s' unfilters",
		     opts->ifname, opts->ifname);
	pc_pins_release(&hold);
out:
	if (sig_fd >= 0)
		close(sig_fd);
	closelog();
	return ret;
}
