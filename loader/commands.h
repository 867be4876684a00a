/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One function per CLI command; each returns the process exit status. */
#ifndef PORTCULLIS_COMMANDS_H
#define PORTCULLIS_COMMANDS_H

#include <stdbool.h>

struct pc_attach_opts {
	const char *ifname;
	const char *config_path;
	int xdp_mode; /* 0 = auto, else enum pc_xdp_mode */
	bool force;
};

int pc_cmd_check(const char *config_path);
int pc_cmd_attach(const struct pc_attach_opts *opts);
int pc_cmd_detach(const char *ifname);
int pc_cmd_reload(const char *ifname, const char *config_path);

/* allow IFACE PROTO PORTS [from SOURCES] / disallow IFACE PROTO PORTS */
int pc_cmd_allow(const char *ifname, int argc, char **argv, bool allow);

int pc_cmd_ban(const char *ifname, const char *address, const char *for_duration);
int pc_cmd_unban(const char *ifname, const char *address);
int pc_cmd_bans(const char *ifname, bool json);
int pc_cmd_events(const char *ifname);

int pc_cmd_stats(const char *ifname, bool json, double watch_seconds);
int pc_cmd_status(const char *ifname, bool json);

#endif /* PORTCULLIS_COMMANDS_H */
