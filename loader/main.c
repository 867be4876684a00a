// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * portcullis: the command line. loader/cli.c parses the options once and
 * checks that the command got the options and arguments it takes; this file
 * hands over to the command's function. Exit status: 0 success, 1 runtime
 * failure, 2 usage or config error.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"
#include "exporter.h"
#include "log.h"
#include "pins.h"
#include "run.h"
#include "state.h"

static int run_check(const struct pc_cli *cli)
{
	return pc_cmd_check(cli->config_path);
}

static int run_attach(const struct pc_cli *cli)
{
	struct pc_attach_opts opts = {
	    .ifname = cli->argv[0],
	    .config_path = cli->config_path,
	    .xdp_mode = cli->xdp_mode,
	    .force = cli->force,
	    .confirm_ns = cli->confirm_ns,
	};

	return pc_cmd_attach(&opts);
}

static int run_detach(const struct pc_cli *cli)
{
	return pc_cmd_detach(cli->argv[0]);
}

static int run_reload(const struct pc_cli *cli)
{
	struct pc_reload_opts opts = {
	    .ifname = cli->argv[0],
	    .config_path = cli->config_path,
	    .force = cli->force,
	    .confirm_ns = cli->confirm_ns,
	};

	return pc_cmd_reload(&opts, NULL, 0);
}

static int run_allow(const struct pc_cli *cli)
{
	return pc_cmd_allow(cli->argv[0], cli->argc - 1, cli->argv + 1, true, false);
}

static int run_disallow(const struct pc_cli *cli)
{
	return pc_cmd_allow(cli->argv[0], cli->argc - 1, cli->argv + 1, false, cli->force);
}

static int run_stats(const struct pc_cli *cli)
{
	return pc_cmd_stats(cli->argv[0], cli->json, cli->watch);
}

static int run_status(const struct pc_cli *cli)
{
	return pc_cmd_status(cli->argc ? cli->argv[0] : NULL, cli->json);
}

static int run_metrics(const struct pc_cli *cli)
{
	struct pc_metrics_opts opts = {.port_series = cli->port_series};

	return pc_cmd_metrics(cli->argv, cli->argc, &opts);
}

static int run_exporter(const struct pc_cli *cli)
{
	struct pc_metrics_opts opts = {.port_series = cli->port_series};

	return pc_cmd_exporter(cli->listen, cli->argv, cli->argc, &opts);
}

static int run_run(const struct pc_cli *cli)
{
	struct pc_run_opts opts = {
	    .ifnames = cli->argv,
	    .n_ifaces = cli->argc,
	    .config_path = cli->config_path,
	    .listen = cli->listen,
	    .xdp_mode = cli->xdp_mode,
	    .detach_on_exit = cli->detach_on_exit,
	    .force = cli->force,
	    .metrics = {.port_series = cli->port_series},
	};

	return pc_cmd_run(&opts);
}

static int run_ban(const struct pc_cli *cli)
{
	return pc_cmd_ban(cli->argv[0], cli->argv[1], cli->for_duration, cli->force);
}

static int run_unban(const struct pc_cli *cli)
{
	return pc_cmd_unban(cli->argv[0], cli->argv[1]);
}

static int run_bans(const struct pc_cli *cli)
{
	return pc_cmd_bans(cli->argv[0], cli->json);
}

static int run_events(const struct pc_cli *cli)
{
	return pc_cmd_events(cli->argv[0]);
}

static int run_rules(const struct pc_cli *cli)
{
	return pc_cmd_rules(cli->argv[0], cli->json);
}

static int run_explain(const struct pc_cli *cli)
{
	return pc_cmd_explain(cli->argv[0], cli->argc - 1, cli->argv + 1, cli->tcp_flags,
			      cli->json);
}

static int run_audit(const struct pc_cli *cli)
{
	return pc_cmd_audit(cli->argv[0], cli->json);
}

static int run_confirm(const struct pc_cli *cli)
{
	return pc_cmd_confirm(cli->argv[0]);
}

static int (*const runners[PC_COMMANDS])(const struct pc_cli *cli) = {
    [PC_CMD_CHECK] = run_check,	    [PC_CMD_ATTACH] = run_attach,
    [PC_CMD_DETACH] = run_detach,   [PC_CMD_RELOAD] = run_reload,
    [PC_CMD_ALLOW] = run_allow,	    [PC_CMD_DISALLOW] = run_disallow,
    [PC_CMD_BAN] = run_ban,	    [PC_CMD_UNBAN] = run_unban,
    [PC_CMD_BANS] = run_bans,	    [PC_CMD_EVENTS] = run_events,
    [PC_CMD_STATS] = run_stats,	    [PC_CMD_STATUS] = run_status,
    [PC_CMD_METRICS] = run_metrics, [PC_CMD_EXPORTER] = run_exporter,
    [PC_CMD_RUN] = run_run,
    [PC_CMD_RULES] = run_rules,
    [PC_CMD_EXPLAIN] = run_explain,
    [PC_CMD_AUDIT] = run_audit,
    [PC_CMD_CONFIRM] = run_confirm,
};

int main(int argc, char **argv)
{
	const char *env_root = getenv("PORTCULLIS_PIN_ROOT");
	const char *env_state = getenv("PORTCULLIS_STATE_DIR");
	struct pc_cli cli;
	int ret;

	ret = pc_cli_parse(argc, argv, &cli);
	if (ret != PC_CLI_RUN)
		return ret;
	if (cli.pin_root)
		pc_pin_root = cli.pin_root;
	else if (env_root && *env_root)
		pc_pin_root = env_root;
	if (cli.state_dir)
		pc_state_dir = cli.state_dir;
	else if (env_state && *env_state)
		pc_state_dir = env_state;
	pc_log_init(cli.verbosity);
	return runners[cli.command](&cli);
}
