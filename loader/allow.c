// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* allow / disallow: change the live rules of an attached interface. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "pins.h"

int pc_cmd_allow(const char *ifname, int argc, char **argv, bool allow)
{
	const char *verb = allow ? "allow" : "disallow";
	struct pc_port_range *ranges = NULL;
	struct pc_maps maps;
	enum pc_proto proto;
	size_t n_ranges = 0;
	char why[256];
	int lock_fd, err;

	/* Validate every argument before touching anything. */
	if (argc != 2 && !(allow && argc == 4)) {
		pc_warn("usage: portcullis %s IFACE tcp|udp PORTS%s", verb,
			allow ? " [from SOURCES]" : "");
		return PC_EXIT_USAGE;
	}
	if (pc_parse_proto(argv[0], &proto, why, sizeof(why))) {
		pc_warn("%s: %s", verb, why);
		return PC_EXIT_USAGE;
	}
	if (pc_parse_ports(argv[1], &ranges, &n_ranges, why, sizeof(why))) {
		pc_warn("%s: %s", verb, why);
		return PC_EXIT_USAGE;
	}
	if (argc == 4) {
		free(ranges);
		if (strcmp(argv[2], "from") != 0) {
			pc_warn("allow: expected 'from SOURCES' after the ports, got '%s'", argv[2]);
			return PC_EXIT_USAGE;
		}
		pc_warn("allow: per-port source lists are not supported by this build yet");
		return PC_EXIT_USAGE;
	}

	if (pc_open_iface(ifname, &maps)) {
		free(ranges);
		return PC_EXIT_FAILURE;
	}
	lock_fd = pc_lock_iface(ifname);
	err = pc_maps_update_live_ports(&maps, proto, ranges, n_ranges, allow ? PC_PORT_ALLOWED : 0);
	if (err)
		pc_warn("%s: %s %s %s failed: %s", ifname, verb, argv[0], argv[1], pc_strerr(err));
	else
		pc_debug("%s: %s %s %s", ifname, verb, argv[0], argv[1]);
	if (lock_fd >= 0)
		close(lock_fd);
	pc_maps_close(&maps);
	free(ranges);
	return err ? PC_EXIT_FAILURE : PC_EXIT_OK;
}
