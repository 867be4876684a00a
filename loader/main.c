// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portcullis: the command line. Parses options once, checks that each
 * command got the options and arguments it takes, and hands over to the
 * command's function. Exit status: 0 success, 1 runtime failure, 2 usage or
 * config error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "exporter.h"
#include "log.h"
#include "pins.h"
#include "run.h"

enum opt_bit {
	OPT_CONFIG = 1 << 0,
	OPT_XDP_MODE = 1 << 1,
	OPT_FORCE = 1 << 2,
	OPT_JSON = 1 << 3,
	OPT_WATCH = 1 << 4,
	OPT_FOR = 1 << 5,
	OPT_LISTEN = 1 << 6,
	OPT_KEEP = 1 << 7,
	OPT_PORT_SERIES = 1 << 8,
};

struct cli {
	const char *config_path;
	int xdp_mode;
	bool force;
	bool json;
	double watch;
	const char *listen;
	const char *for_duration; /* ban --for */
	bool keep;
	unsigned int port_series; /* denied ports in the per-port metrics */
	unsigned int given; /* OPT_* seen on the command line */
	int argc;           /* positional arguments after the command */
	char **argv;
};

struct command {
	const char *name;
	const char *synopsis;
	const char *help;
	unsigned int options; /* OPT_* it accepts */
	int min_args, max_args;
	int (*run)(struct cli *cli);
};

static int run_check(struct cli *cli)
{
	return pc_cmd_check(cli->config_path);
}

static int run_attach(struct cli *cli)
{
	struct pc_attach_opts opts = {
		.ifname = cli->argv[0],
		.config_path = cli->config_path,
		.xdp_mode = cli->xdp_mode,
		.force = cli->force,
	};

	return pc_cmd_attach(&opts);
}

static int run_detach(struct cli *cli)
{
	return pc_cmd_detach(cli->argv[0]);
}

static int run_reload(struct cli *cli)
{
	return pc_cmd_reload(cli->argv[0], cli->config_path);
}

static int run_allow(struct cli *cli)
{
	return pc_cmd_allow(cli->argv[0], cli->argc - 1, cli->argv + 1, true);
}

static int run_disallow(struct cli *cli)
{
	return pc_cmd_allow(cli->argv[0], cli->argc - 1, cli->argv + 1, false);
}

static int run_stats(struct cli *cli)
{
	return pc_cmd_stats(cli->argv[0], cli->json, cli->watch);
}

static int run_status(struct cli *cli)
{
	return pc_cmd_status(cli->argc ? cli->argv[0] : NULL, cli->json);
}

static int run_metrics(struct cli *cli)
{
	struct pc_metrics_opts opts = { .port_series = cli->port_series };

	return pc_cmd_metrics(cli->argv, cli->argc, &opts);
}

static int run_exporter(struct cli *cli)
{
	struct pc_metrics_opts opts = { .port_series = cli->port_series };

	return pc_cmd_exporter(cli->listen, cli->argv, cli->argc, &opts);
}

static int run_run(struct cli *cli)
{
	struct pc_run_opts opts = {
		.ifname = cli->argv[0],
		.config_path = cli->config_path,
		.listen = cli->listen,
		.xdp_mode = cli->xdp_mode,
		.keep = cli->keep,
		.metrics = { .port_series = cli->port_series },
	};

	return pc_cmd_run(&opts);
}

static int run_ban(struct cli *cli)
{
	return pc_cmd_ban(cli->argv[0], cli->argv[1], cli->for_duration);
}

static int run_unban(struct cli *cli)
{
	return pc_cmd_unban(cli->argv[0], cli->argv[1]);
}

static int run_bans(struct cli *cli)
{
	return pc_cmd_bans(cli->argv[0], cli->json);
}

static int run_events(struct cli *cli)
{
	return pc_cmd_events(cli->argv[0]);
}

static const struct command commands[] = {
	{ "check", "[-c FILE]", "validate a config; prints nothing on success", OPT_CONFIG, 0, 0,
	  run_check },
	{ "attach", "IFACE [-c FILE] [--xdp-mode auto|native|generic] [--force]",
	  "load the filter, fill its rules from the config and attach it to IFACE",
	  OPT_CONFIG | OPT_XDP_MODE | OPT_FORCE, 1, 1, run_attach },
	{ "detach", "IFACE", "detach the filter and remove its pins", 0, 1, 1, run_detach },
	{ "reload", "IFACE [-c FILE]", "replace the rules atomically from the config", OPT_CONFIG,
	  1, 1, run_reload },
	{ "allow", "IFACE tcp|udp PORTS [from SOURCES]", "open ports now, without a reload", 0,
	  3, 5, run_allow },
	{ "disallow", "IFACE tcp|udp PORTS", "close ports now, without a reload", 0, 3, 3,
	  run_disallow },
	{ "ban", "IFACE ADDRESS [--for DURATION]",
	  "ban a source (IPv6: its scan-detect prefix); default: the config's ban time",
	  OPT_FOR, 2, 2, run_ban },
	{ "unban", "IFACE ADDRESS", "lift a ban", 0, 2, 2, run_unban },
	{ "bans", "IFACE [--json]", "list bans with reason and time left", OPT_JSON, 1, 1,
	  run_bans },
	{ "events", "IFACE", "follow bans, unbans and expiries, one line each", 0, 1, 1,
	  run_events },
	{ "stats", "IFACE [--json] [--watch SECONDS]",
	  "counters: totals, drops by reason, per-port traffic", OPT_JSON | OPT_WATCH, 1, 1,
	  run_stats },
	{ "status", "[IFACE] [--json]", "attached interfaces, XDP mode, config, map memory",
	  OPT_JSON, 0, 1, run_status },
	{ "metrics", "[IFACE...] [--port-series N]", "one-shot Prometheus text on stdout",
	  OPT_PORT_SERIES, 0, 64, run_metrics },
	{ "exporter", "[--listen ADDR:PORT] [--port-series N] [IFACE...]",
	  "serve /metrics (default 127.0.0.1:9433)", OPT_LISTEN | OPT_PORT_SERIES, 0, 64,
	  run_exporter },
	{ "run", "IFACE [-c FILE] [--listen ADDR:PORT] [--keep] [--xdp-mode MODE] [--port-series N]",
	  "foreground service: attach, serve /metrics, reload on SIGHUP, detach on SIGTERM",
	  OPT_CONFIG | OPT_LISTEN | OPT_KEEP | OPT_XDP_MODE | OPT_PORT_SERIES, 1, 1, run_run },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: portcullis [-v] [--pin-root DIR] COMMAND [ARGS]\n\n"
		     "An XDP port filter: a default-deny allowlist of TCP/UDP ports, stealth-scan\n"
		     "drops and scan bans on the NIC driver path.\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
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
		"Interfaces in another network namespace: run under nsenter --net=/run/netns/NAME.\n",
		PC_CONFIG_DEFAULT_PATH, PC_PIN_ROOT_DEFAULT);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char *option_name(unsigned int bit)
{
	switch (bit) {
	case OPT_CONFIG: return "--config";
	case OPT_XDP_MODE: return "--xdp-mode";
	case OPT_FORCE: return "--force";
	case OPT_JSON: return "--json";
	case OPT_WATCH: return "--watch";
	case OPT_FOR: return "--for";
	case OPT_LISTEN: return "--listen";
	case OPT_KEEP: return "--keep";
	case OPT_PORT_SERIES: return "--port-series";
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

int main(int argc, char **argv)
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
	struct cli cli = {
		.config_path = PC_CONFIG_DEFAULT_PATH,
		.port_series = PC_PORT_SERIES_DEFAULT,
	};
	const struct command *cmd;
	int verbosity = PC_LOG_INFO, opt;
	const char *env_root = getenv("PORTCULLIS_PIN_ROOT");

	if (env_root && *env_root)
		pc_pin_root = env_root;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "c:vh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cli.config_path = optarg;
			cli.given |= OPT_CONFIG;
			break;
		case 'm':
			if (parse_xdp_mode(optarg, &cli.xdp_mode)) {
				pc_warn("--xdp-mode: '%s' is not auto, native or generic", optarg);
				return PC_EXIT_USAGE;
			}
			cli.given |= OPT_XDP_MODE;
			break;
		case 'f':
			cli.force = true;
			cli.given |= OPT_FORCE;
			break;
		case 'j':
			cli.json = true;
			cli.given |= OPT_JSON;
			break;
		case 'w':
			if (parse_watch(optarg, &cli.watch)) {
				pc_warn("--watch: '%s' is not a number of seconds (0.1 .. 86400)",
					optarg);
				return PC_EXIT_USAGE;
			}
			cli.given |= OPT_WATCH;
			break;
		case 'F':
			cli.for_duration = optarg;
			cli.given |= OPT_FOR;
			break;
		case 'l':
			cli.listen = optarg;
			cli.given |= OPT_LISTEN;
			break;
		case 'k':
			cli.keep = true;
			cli.given |= OPT_KEEP;
			break;
		case 'P':
			if (parse_port_series(optarg, &cli.port_series)) {
				pc_warn("--port-series: '%s' is not a number from 0 to %d", optarg,
					PC_PORT_SERIES_MAX);
				return PC_EXIT_USAGE;
			}
			cli.given |= OPT_PORT_SERIES;
			break;
		case 'p':
			pc_pin_root = optarg;
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			usage(stdout);
			return PC_EXIT_OK;
		case 'V':
			printf("portcullis %s\n", PORTCULLIS_VERSION);
			return PC_EXIT_OK;
		default:
			if (optopt && strchr("cwmFlpP", optopt))
				pc_warn("option %s needs an argument", argv[optind - 1]);
			else
				pc_warn("unknown option '%s' (see portcullis --help)",
					argv[optind - 1]);
			return PC_EXIT_USAGE;
		}
	}
	pc_log_init(verbosity);

	if (optind >= argc) {
		usage(stderr);
		return PC_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return PC_EXIT_OK;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		pc_warn("unknown command '%s' (see portcullis --help)", argv[optind]);
		return PC_EXIT_USAGE;
	}
	cli.argc = argc - optind - 1;
	cli.argv = argv + optind + 1;

	for (unsigned int bit = 1; bit <= OPT_PORT_SERIES; bit <<= 1) {
		if ((cli.given & bit) && !(cmd->options & bit)) {
			pc_warn("%s: option %s does not apply (usage: portcullis %s %s)", cmd->name,
				option_name(bit), cmd->name, cmd->synopsis);
			return PC_EXIT_USAGE;
		}
	}
	if (cli.argc < cmd->min_args || cli.argc > cmd->max_args) {
		pc_warn("%s: expected %s (usage: portcullis %s %s)", cmd->name,
			cli.argc < cmd->min_args ? "more arguments" : "fewer arguments", cmd->name,
			cmd->synopsis);
		return PC_EXIT_USAGE;
	}
	return cmd->run(&cli);
}
