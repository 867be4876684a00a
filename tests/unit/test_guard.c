// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The SSH guard's pure decisions (loader/guard.c): reading SSH_CONNECTION,
 * and what a rule set does to the session, by the verdict order. The live
 * checks (disallow, ban, run's SIGHUP) are in tests/integration/sshguard.sh.
 */
#include <string.h>
#include <sys/socket.h>

#include "testing.h"
#include "loader/guard.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *conn;
	bool ok;
	int port;
	const char *client;
} parse_cases[] = {
	{ "198.18.0.2 50000 198.18.0.1 22", true, 22, "198.18.0.2" },
	{ "2001:db8::2 50000 2001:db8::1 2222", true, 2222, "2001:db8::2" },
	{ "198.18.0.2 50000 198.18.0.1", false, 0, NULL },
	{ "198.18.0.2 50000 198.18.0.1 22 extra", false, 0, NULL },
	{ "198.18.0.2 50000 198.18.0.1 0", false, 0, NULL },
	{ "198.18.0.2 50000 198.18.0.1 65536", false, 0, NULL },
	{ "198.18.0.0/24 50000 198.18.0.1 22", false, 0, NULL },
	{ "not-an-address 50000 198.18.0.1 22", false, 0, NULL },
	{ "", false, 0, NULL },
	{ NULL, false, 0, NULL },
};

static void run_parse_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		struct pc_ssh_session s;
		bool ok;

		test_begin("guard: SSH_CONNECTION \"%s\"",
			   parse_cases[i].conn ? parse_cases[i].conn : "(unset)");
		ok = pc_ssh_parse(parse_cases[i].conn, &s);
		CHECK_INT(ok, parse_cases[i].ok);
		if (ok && parse_cases[i].ok) {
			CHECK_INT(s.port, parse_cases[i].port);
			CHECK_STR(s.client_text, parse_cases[i].client);
			CHECK_INT(s.client.len, s.client.family == AF_INET ? 32 : 128);
		}
		test_end();
	}
}

/* A config held against the session 198.18.0.2 -> tcp/22 (or 2001:db8:1::2 -> tcp/22). */
static const struct {
	const char *name;
	const char *config;
	bool ipv6;
	enum pc_guard_cut cut;
	const char *denied; /* the 'deny from' prefix named, for PC_GUARD_DENIED */
} cut_cases[] = {
	{ "port open to all", "allow tcp 22\n", false, PC_GUARD_SURVIVES, NULL },
	{ "port in a range", "allow tcp 20-30\n", false, PC_GUARD_SURVIVES, NULL },
	{ "no allow line", "", false, PC_GUARD_PORT_CLOSED, NULL },
	{ "another port only", "allow tcp 443\n", false, PC_GUARD_PORT_CLOSED, NULL },
	{ "udp 22 is not tcp 22", "allow udp 22\n", false, PC_GUARD_PORT_CLOSED, NULL },
	{ "port open to the client's prefix", "allow tcp 22 from 198.18.0.0/24\n", false,
	  PC_GUARD_SURVIVES, NULL },
	{ "port open to other sources only", "allow tcp 22 from 192.0.2.0/24\n", false,
	  PC_GUARD_PORT_CLOSED, NULL },
	{ "client trusted, port closed", "allow from 198.18.0.2\n", false, PC_GUARD_SURVIVES, NULL },
	{ "deny from the client's subnet", "allow tcp 22\ndeny from 198.18.0.0/16\n", false,
	  PC_GUARD_DENIED, "198.18.0.0/16" },
	{ "deny beats allow from", "allow from 198.18.0.2\ndeny from 198.18.0.2\n", false,
	  PC_GUARD_DENIED, "198.18.0.2" },
	{ "deny of a neighbour", "allow tcp 22\ndeny from 198.18.0.3\n", false,
	  PC_GUARD_SURVIVES, NULL },
	{ "monitor mode drops nothing", "mode monitor\ndeny from 198.18.0.0/16\n", false,
	  PC_GUARD_SURVIVES, NULL },
	{ "IPv6: deny of the client's /48", "allow tcp 22\ndeny from 2001:db8:1::/48\n", true,
	  PC_GUARD_DENIED, "2001:db8:1::/48" },
	{ "IPv6: an IPv4 list does not hold it", "allow tcp 22 from 198.18.0.0/16\n", true,
	  PC_GUARD_PORT_CLOSED, NULL },
};

static void run_cut_cases(void)
{
	struct pc_ssh_session v4, v6;

	pc_ssh_parse("198.18.0.2 50000 198.18.0.1 22", &v4);
	pc_ssh_parse("2001:db8:1::2 50000 2001:db8:1::1 22", &v6);
	for (size_t i = 0; i < ARRAY_SIZE(cut_cases); i++) {
		const struct pc_prefix *denied = NULL;
		struct pc_error err = {};
		struct pc_ruleset rs;
		char text[64];

		test_begin("guard: %s", cut_cases[i].name);
		if (!CHECK(pc_config_parse("guard.conf", cut_cases[i].config,
					   strlen(cut_cases[i].config), &rs, &err) == 0,
			   "config: %s", err.msg)) {
			test_end();
			continue;
		}
		CHECK_INT(pc_guard_ruleset_cut(&rs, cut_cases[i].ipv6 ? &v6 : &v4, &denied),
			  cut_cases[i].cut);
		if (cut_cases[i].denied && CHECK(denied, "no 'deny from' prefix named"))
			CHECK_STR(pc_prefix_format(denied, text, sizeof(text)), cut_cases[i].denied);
		pc_ruleset_free(&rs);
		test_end();
	}
}

int main(void)
{
	run_parse_cases();
	run_cut_cases();
	return test_exit_code();
}
