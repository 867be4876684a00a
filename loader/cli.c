// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line: options once, then the command, then a check that the
 * command got the options and arguments it takes. No side effects beyond
 * messages on stderr and the help text on stdout; main() runs the command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "pins.h"

static const struct pc_command_spec commands[PC_COMMANDS] = {
	[PC_CMD_CHECK] = { "check", "[-c FILE]", "validate a config; prints nothing on success",
			   PC_OPT_CONFIG, 0, 0 },
	[PC_CMD_ATTACH] = { "attach", "IFACE [-c FILE] [--xdp-mode auto|native|generic] [--force]",
			    "load the filter, fill its rules from the config and attach it to "
			    "IFACE",
			    PC_OPT_CONFIG | PC_OPT_XDP_MODE | PC_OPT_FORCE, 1, 1 },
	[PC_CMD_DETACH] = { "detach", "IFACE", "detach the filter and remove its pins", 0, 1, 1 },
	[PC_CMD_RELOAD] = { "reload", "IFACE [-c FILE]",
			    "replace the rules atomically from the config", PC_OPT_CONFIG, 1, 1 },
	[PC_CMD_ALLOW] = { "allow", "IFACE tcp|udp PORTS [from SOURCES]",
			   "open ports now, without a reload", 0, 3, 5 },
	[PC_CMD_DISALLOW] = { "disallow", "IFACE tcp|udp PORTS",
			      "close ports now, without a reload", 0, 3, 3 },
	[PC_CMD_BAN] = { "ban", "IFACE ADDRESS [--for DURATION]",
			 "ban a source (IPv6: its scan-detect prefix); default: the config's ban "
			 "time",
			 PC_OPT_FOR, 2, 2 },
	[PC_CMD_UNBAN] = { "unban", "IFACE ADDRESS", "lift a ban", 0, 2, 2 },
	[PC_CMD_BANS] = { "bans", "IFACE [--json]", "list bans with reason and time left",
			  PC_OPT_JSON, 1, 1 },
	[PC_CMD_EVENTS] = { "events", "IFACE", "follow bans, unbans and expiries, one line each", 0,
			    1, 1 },
	[PC_CMD_STATS] = { "stats", "IFACE [--json] [--watch SECONDS]",
			   "counters: totals, drops by reason, per-port traffic",
			   PC_OPT_JSON | PC_OPT_WATCH, 1, 1 },
	[PC_CMD_STATUS] = { "status", "[IFACE] [--json]",
			    "attached interfaces, XDP mode, config, map memory", PC_OPT_JSON, 0,
			    1 },
	[PC_CMD_METRICS] = { "metrics", "[IFACE...] [--port-series N]",
			     "one-shot Prometheus text on stdout", PC_OPT_PORT_SERIES, 0, 64 },
	[PC_CMD_EXPORTER] = { "exporter", "[--listen ADDR:PORT] [--port-series N] [IFACE...]",
			      "serve /metrics (default 127.0.0.1:9433)",
			      PC_OPT_LISTEN | PC_OPT_PORT_SERIES, 0, 64 },
	[PC_CMD_RUN] = { "run",
			 "IFACE [-c FILE] [--listen ADDR:PORT] [--keep] [--xdp-mode MODE] "
			 "[--port-series N]",
			 "foreground service: attach, serve /metrics, reload on SIGHUP, detach on "
			 "SIGTERM",
			 PC_OPT_CONFIG | PC_OPT_LISTEN | PC_OPT_KEEP | PC_OPT_XDP_MODE |
				 PC_OPT_PORT_SERIES,
			 1, 1 },
};

const struct pc_command_spec *pc_command_spec(enum pc_command command)
{
	return command < PC_COMMANDS ? &commands[command] : NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: portcullis [-v] [--pin-root DIR] COMMAND [ARGS]\n\n"
		     "An XDP port filter: a default-deny allowlist of TCP/UDP ports, stealth-scan\n"
		     "drops and scan bans on the NIC driver path.\n\ncommands:\n");
	for (size_t i = 0; i < PC_COMMANDS; i++)
		fprintf(out, "  %-9s %s\n  %-9s   %s\n", commands[i].name, commands[i].synopsis, "",
			commands[i].help);
	fprintf(out,
		"\noptions:\n"
		"  -c, --config FILE   config file (default %s)\n"
		"  --pin-root DIR      where pins live (default %s, env PORTCULLIS_PIN_ROOT)\n"
		"  -v, --verbose       more detail; -vv adds libbpf and verifier output\n"
		"  -h, --help          this text\n\n"
		"examples:\n"
		"  portcullis check -c ./portcullis.conf\n"
		"  sudo portcullis attach eth0\n"
		"  sudo portcullis allow eth0 tcp 8080,9000-9100\n"
		"  sudo portcullis stats eth0 --watch 1\n\n"
		"Exit status: 0 success, 1 runtime failure, 2 usage or config error.\n"
		"Interfaces in another network namespace: run under nsenter "
		"--net=/run/netns/NAME.\n",
		PC_CONFIG_DEFAULT_PATH, PC_PIN_ROOT_DEFAULT);
}

static int find_command(const char *name)
{
	for (int i = 0; i < PC_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return i;
	return -1;
}

static const char *option_name(unsigned int bit)
{
	switch (bit) {
	case PC_OPT_CONFIG:
		return "--config";
	case PC_OPT_XDP_MODE:
		return "--xdp-mode";
	case PC_OPT_FORCE:
		return "--force";
	case PC_OPT_JSON:
		return "--json";
	case PC_OPT_WATCH:
		return "--watch";
	case PC_OPT_FOR:
		return "--for";
	case PC_OPT_LISTEN:
		return "--listen";
	case PC_OPT_KEEP:
		return "--keep";
	case PC_OPT_PORT_SERIES:
		return "--port-series";
	}
	return "?";
}

static int parse_xdp_mode(const char *word, int *mode)
{
	if (strcmp(word, "auto") == 0)
		*mode = 0;
	else if (strcmp(word, "native") == 0)
		*mode = PC_XDP_NATIVE;
	else if (strcmp(word, "generic") == 0)
		*mode = PC_XDP_GENERIC;
	else
		return -EINVAL;
	return 0;
}

static int parse_port_series(const char *word, unsigned int *count)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(word, &end, 10);
	if (errno || end == word || *end || word[0] == '-' || value > PC_PORT_SERIES_MAX)
		return -EINVAL;
	*count = value;
	return 0;
}

static int parse_watch(const char *word, double *seconds)
{
	char *end;

	errno = 0;
	*seconds = strtod(word, &end);
	if (errno || end == word || *end || !(*seconds >= 0.1 && *seconds <= 86400))
		return -EINVAL;
	return 0;
}

/* One option from getopt_long; returns PC_CLI_RUN to go on, or an exit status. */
static int take_option(int opt, struct pc_cli *cli)
{
	switch (opt) {
	case 'c':
		cli->config_path = optarg;
		cli->given |= PC_OPT_CONFIG;
		break;
	case 'm':
		if (parse_xdp_mode(optarg, &cli->xdp_mode)) {
			pc_warn("--xdp-mode: '%s' is not auto, native or generic", optarg);
			return PC_EXIT_USAGE;
		}
		cli->given |= PC_OPT_XDP_MODE;
		break;
	case 'f':
		cli->force = true;
		cli->given |= PC_OPT_FORCE;
		break;
	case 'j':
		cli->json = true;
		cli->given |= PC_OPT_JSON;
		break;
	case 'w':
		if (parse_watch(optarg, &cli->watch)) {
			pc_warn("--watch: '%s' is not a number of seconds (0.1 .. 86400)", optarg);
			return PC_EXIT_USAGE;
		}
		cli->given |= PC_OPT_WATCH;
		break;
	case 'F':
		cli->for_duration = optarg;
		cli->given |= PC_OPT_FOR;
		break;
	case 'l':
		cli->listen = optarg;
		cli->given |= PC_OPT_LISTEN;
		break;
	case 'k':
		cli->keep = true;
		cli->given |= PC_OPT_KEEP;
		break;
	case 'P':
		if (parse_port_series(optarg, &cli->port_series)) {
			pc_warn("--port-series: '%s' is not a number from 0 to %d", optarg,
				PC_PORT_SERIES_MAX);
			return PC_EXIT_USAGE;
		}
		cli->given |= PC_OPT_PORT_SERIES;
		break;
	case 'p':
		cli->pin_root = optarg;
		break;
	case 'v':
		cli->verbosity++;
		break;
	case 'h':
		usage(stdout);
		return PC_EXIT_OK;
	case 'V':
		printf("portcullis %s\n", PORTCULLIS_VERSION);
		return PC_EXIT_OK;
	}
	return PC_CLI_RUN;
}

/*
 * What getopt_long refused. A long option is always the argument before
 * optind ("--frob", "--force=yes", a final "--config"), and getopt sets
 * optopt to 0 for an unknown one and to its value for a bad argument. A
 * short one is only a letter, optopt, maybe inside a cluster ("-vx").
 */
static void say_bad_option(int argc, char **argv, const struct option *long_options)
{
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	size_t name_len = strcspn(word, "=");

	if (strncmp(word, "--", 2) == 0 && !optopt) {
		pc_warn("unknown option '%.*s' (see portcullis --help)", (int)name_len, word);
		return;
	}
	for (const struct option *o = long_options; o->name && strncmp(word, "--", 2) == 0; o++) {
		if (o->val != optopt || strncmp(o->name, word + 2, name_len - 2) != 0)
			continue;
		if (o->has_arg == no_argument && word[name_len] == '=') {
			pc_warn("option --%s takes no argument", o->name);
			return;
		}
		if (o->has_arg == required_argument && !word[name_len] && optind == argc) {
			pc_warn("option --%s needs an argument", o->name);
			return;
		}
	}
	if (optopt == 'c')
		pc_warn("option -c needs an argument");
	else if (optopt > ' ' && optopt < 0x7f)
		pc_warn("unknown option '-%c' (see portcullis --help)", optopt);
	else
		pc_warn("unknown option (see portcullis --help)");
}

int pc_cli_parse(int argc, char **argv, struct pc_cli *cli)
{
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "for", required_argument, NULL, 'F' },
		{ "listen", required_argument, NULL, 'l' },
		{ "keep", no_argument, NULL, 'k' },
		{ "port-series", required_argument, NULL, 'P' },
		{ "pin-root", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	const struct pc_command_spec *spec;
	int opt, ret, command;

	*cli = (struct pc_cli){
		.config_path = PC_CONFIG_DEFAULT_PATH,
		.port_series = PC_PORT_SERIES_DEFAULT,
		.verbosity = PC_LOG_INFO,
	};
	/* 0, not 1: getopt starts afresh, so the parser can be called again. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:vh", long_options, NULL)) != -1) {
		if (opt == '?') {
			say_bad_option(argc, argv, long_options);
			return PC_EXIT_USAGE;
		}
		ret = take_option(opt, cli);
		if (ret != PC_CLI_RUN)
			return ret;
	}

	if (optind >= argc) {
		usage(stderr);
		return PC_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return PC_EXIT_OK;
	}
	command = find_command(argv[optind]);
	if (command < 0) {
		pc_warn("unknown command '%s' (see portcullis --help)", argv[optind]);
		return PC_EXIT_USAGE;
	}
	cli->command = command;
	spec = &commands[command];
	cli->argc = argc - optind - 1;
	cli->argv = argv + optind + 1;

	for (unsigned int bit = 1; bit <= PC_OPT_LAST; bit <<= 1) {
		if ((cli->given & bit) && !(spec->options & bit)) {
			pc_warn("%s: option %s does not apply (usage: portcullis %s %s)",
				spec->name, option_name(bit), spec->name, spec->synopsis);
			return PC_EXIT_USAGE;
		}
	}
	if (cli->argc < spec->min_args || cli->argc > spec->max_args) {
		pc_warn("%s: expected %s (usage: portcullis %s %s)", spec->name,
			cli->argc < spec->min_args ? "more arguments" : "fewer arguments",
			spec->name, spec->synopsis);
		return PC_EXIT_USAGE;
	}
	return PC_CLI_RUN;
}
