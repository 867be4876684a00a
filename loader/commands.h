/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One function per CLI command; each returns the process exit status. */
#ifndef PORTCULLIS_COMMANDS_H
#define PORTCULLIS_COMMANDS_H

#include <stdbool.h>
#include <linux/types.h>

struct pc_attach_opts {
	const char *ifname;
	const char *config_path;
	int xdp_mode; /* 0 = auto, else enum pc_xdp_mode */
	bool force;
	__u64 confirm_ns; /* --confirm: rolls back unless confirmed within; 0 = no */
};

int pc_cmd_check(const char *config_path);
int pc_cmd_attach(const struct pc_attach_opts *opts);
/*
 * An attachment whose interface was recreated since: its program on the new
 * interface (XDP_MODE 0 = auto), the same maps, bans and rules. 0 when done
 * or not needed, else a negative errno (said).
 */
int pc_reattach(const char *ifname, int xdp_mode);
int pc_cmd_detach(const char *ifname);

struct pc_reload_opts {
	const char *ifname;
	const char *config_path;
	bool force; /* even if it cuts off this SSH session, or a change is pending */
	__u64 confirm_ns; /* --confirm: rolls back unless confirmed within; 0 = no */
};

/* WHY (may be NULL) gets the reason of a refusal or failure in one line, for run's log. */
int pc_cmd_reload(const struct pc_reload_opts *opts, char *why, size_t why_len);

/* allow IFACE PROTO PORTS [from SOURCES] / disallow IFACE PROTO PORTS; FORCE: disallow
 * even the port of this SSH session. */
int pc_cmd_allow(const char *ifname, int argc, char **argv, bool allow, bool force);

/* FORCE: ban even the source of this SSH session. */
int pc_cmd_ban(const char *ifname, const char *address, const char *for_duration, bool force);
int pc_cmd_unban(const char *ifname, const char *address);
int pc_cmd_bans(const char *ifname, bool json);
int pc_cmd_events(const char *ifname);

int pc_cmd_stats(const char *ifname, bool json, double watch_seconds);
int pc_cmd_status(const char *ifname, bool json);
/* S quoted and escaped as a JSON string, on stdout. */
void json_string(const char *s);

/* explain IFACE tcp|udp SOURCE DPORT [--flags S|SA|...]: the live verdict, nothing changed. */
int pc_cmd_explain(const char *ifname, int argc, char **argv, const char *flags, bool json);
/* rules IFACE: the live rule set as a config file. */
int pc_cmd_rules(const char *ifname, bool json);
/* audit IFACE: listening sockets held against the live rules. */
int pc_cmd_audit(const char *ifname, bool json);

/* Keep the change made with --confirm (loader/rollout.c). */
int pc_cmd_confirm(const char *ifname);

#endif /* PORTCULLIS_COMMANDS_H */
