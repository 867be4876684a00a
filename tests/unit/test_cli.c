// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Command-line parser tests: one row per argv, the exit status or the
 * command chosen, and the exact message on stderr. The bad-option rows are
 * regressions from fuzzing (tests/fuzz/fuzz_cli.c): "-xv" used to be
 * reported as "unknown option 'portcullis'", "-w" as "option -w needs an
 * argument".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"
#include "loader/cli.h"
#include "loader/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS      16

struct cli_case {
	const char *name;
	const char *args[MAX_ARGS]; /* after "portcullis", NULL-terminated */
	int ret;		    /* PC_CLI_RUN or an exit status */
	int command;		    /* when PC_CLI_RUN */
	int argc;		    /* positional arguments after the command */
	const char *message;	    /* stderr, "" for none; NULL: not checked */
};

#define RUNS(n, cmd, nargs, ...)                                                                   \
	{                                                                                          \
		.name = n, .args = { __VA_ARGS__, NULL }, .ret = PC_CLI_RUN, .command = cmd,       \
		.argc = nargs, .message = ""                                                       \
	}
#define REFUSED(n, msg, ...)                                                                       \
	{                                                                                          \
		.name = n, .args = { __VA_ARGS__, NULL }, .ret = PC_EXIT_USAGE, .message = msg     \
	}

static const struct cli_case cases[] = {
	RUNS("check", PC_CMD_CHECK, 0, "check"),
	RUNS("attach with every option", PC_CMD_ATTACH, 1, "attach", "eth0", "-c", "x.conf",
	     "--xdp-mode", "native", "--force"),
	RUNS("options before the command", PC_CMD_STATUS, 0, "-vv", "--pin-root", "/tmp/x",
	     "status", "--json"),
	RUNS("allow from", PC_CMD_ALLOW, 5, "allow", "eth0", "tcp", "80", "from", "192.0.2.1"),
	RUNS("-- ends the options", PC_CMD_STATUS, 1, "status", "--", "-eth0"),
	RUNS("long option abbreviated", PC_CMD_STATS, 1, "stats", "eth0", "--wat=0.5"),
	RUNS("--config needs no more letters than its own", PC_CMD_CHECK, 0, "check",
	     "--config=x.conf"),
	RUNS("--confirm", PC_CMD_RELOAD, 1, "reload", "eth0", "--confirm", "90s"),
	RUNS("stats --watch", PC_CMD_STATS, 1, "stats", "eth0", "--watch", "0.5"),
	REFUSED("no command", NULL, "-v"),
	REFUSED("unknown command",
		"portcullis: unknown command 'frobnicate' (see portcullis --help)\n", "frobnicate"),
	REFUSED("option that does not apply",
		"portcullis: attach: option --json does not apply (usage: portcullis attach IFACE "
		"[-c FILE] [--xdp-mode auto|native|generic] [--force] [--confirm DURATION])\n",
		"attach", "eth0", "--json"),
	REFUSED("ambiguous abbreviation",
		"portcullis: ambiguous option '--conf' (--config? --confirm?)\n", "check",
		"--conf=x.conf"),
	REFUSED("--confirm out of range",
		"portcullis: --confirm: '0s' is not a duration from 1s to 24h (e.g. 30s, 2m)\n",
		"reload", "eth0", "--confirm", "0s"),
	REFUSED("--confirm not a duration",
		"portcullis: --confirm: 'soon' is not a duration from 1s to 24h (e.g. 30s, 2m)\n",
		"reload", "eth0", "--confirm", "soon"),
	REFUSED("--confirm does not apply to allow",
		"portcullis: allow: option --confirm does not apply (usage: portcullis allow IFACE "
		"tcp|udp PORTS [from SOURCES])\n",
		"allow", "eth0", "tcp", "80", "--confirm", "1m"),
	REFUSED("too few arguments",
		"portcullis: detach: expected more arguments (usage: portcullis detach IFACE)\n",
		"detach"),
	REFUSED("too many arguments",
		"portcullis: detach: expected fewer arguments (usage: portcullis detach IFACE)\n",
		"detach", "a", "b"),
	REFUSED("bad --xdp-mode",
		"portcullis: --xdp-mode: 'turbo' is not auto, native or generic\n", "attach",
		"eth0", "--xdp-mode", "turbo"),
	REFUSED("bad --watch",
		"portcullis: --watch: 'nan' is not a number of seconds (0.1 .. 86400)\n", "stats",
		"eth0", "--watch", "nan"),
	REFUSED("bad --port-series",
		"portcullis: --port-series: '-1' is not a number from 0 to 65536\n", "metrics",
		"--port-series", "-1"),
	REFUSED("unknown short option in a cluster, first",
		"portcullis: unknown option '-x' (see portcullis --help)\n", "-xv", "check"),
	REFUSED("unknown short option in a cluster, last",
		"portcullis: unknown option '-x' (see portcullis --help)\n", "-vx", "check"),
	REFUSED("unknown short option after the command",
		"portcullis: unknown option '-x' (see portcullis --help)\n", "check", "-xv"),
	REFUSED("a long option's letter is not a short option",
		"portcullis: unknown option '-w' (see portcullis --help)\n", "-w", "check"),
	REFUSED("unknown long option",
		"portcullis: unknown option '--frob' (see portcullis --help)\n", "--frob", "check"),
	REFUSED("ambiguous long option",
		"portcullis: ambiguous option '--f' (--force? --for? --flags?)\n", "--f", "check"),
	REFUSED("an argument to a flag", "portcullis: option --force takes no argument\n", "attach",
		"eth0", "--force=yes"),
	REFUSED("missing argument, long", "portcullis: option --config needs an argument\n",
		"check", "--config"),
	REFUSED("missing argument, abbreviated", "portcullis: option --watch needs an argument\n",
		"stats", "eth0", "--wat"),
	REFUSED("missing argument, short", "portcullis: option -c needs an argument\n", "check",
		"-c"),
	REFUSED("missing argument, short in a cluster", "portcullis: option -c needs an argument\n",
		"check", "-vc"),
	REFUSED("missing --pin-root", "portcullis: option --pin-root needs an argument\n",
		"--pin-root"),
	/* The SSH guard's --force: on every command that can cut a session. */
	RUNS("reload --force", PC_CMD_RELOAD, 1, "reload", "eth0", "--force"),
	RUNS("disallow --force", PC_CMD_DISALLOW, 3, "disallow", "eth0", "tcp", "22", "--force"),
	RUNS("ban --force", PC_CMD_BAN, 2, "ban", "eth0", "192.0.2.1", "--force", "--for", "1m"),
	RUNS("run --force", PC_CMD_RUN, 1, "run", "eth0", "--force"),
	REFUSED("allow cannot cut a session: no --force",
		"portcullis: allow: option --force does not apply (usage: portcullis allow IFACE "
		"tcp|udp PORTS [from SOURCES])\n",
		"allow", "eth0", "tcp", "22", "--force"),
	REFUSED("help for an unknown command",
		"portcullis: help: unknown command 'frob' (see portcullis --help)\n", "help", "frob"),	/* The fail-closed lifecycle: run keeps the filter unless told; --keep stays accepted. */
	RUNS("run --detach-on-exit", PC_CMD_RUN, 1, "run", "eth0", "--detach-on-exit"),
	RUNS("run --keep, the old unit files' option", PC_CMD_RUN, 1, "run", "eth0", "--keep"),
	/* run IFACE...: several interfaces in one process. */
	RUNS("run with two interfaces", PC_CMD_RUN, 2, "run", "eth0", "eth1", "-c", "x.conf"),
	REFUSED("run without an interface",
		"portcullis: run: expected more arguments (usage: portcullis run IFACE... [-c FILE] "
		"[--xdp-mode auto|native|generic] [--force] [--listen ADDR:PORT] [--keep] "
		"[--detach-on-exit] [--port-series N])\n",
		"run"),
	REFUSED("run --keep --detach-on-exit",
		"portcullis: run: --keep and --detach-on-exit contradict each other\n", "run", "eth0",
		"--keep", "--detach-on-exit"),
	REFUSED("--detach-on-exit is run's",
		"portcullis: detach: option --detach-on-exit does not apply (usage: portcullis "
		"detach IFACE)\n",
		"detach", "eth0", "--detach-on-exit"),
	/* --state-dir is global, like --pin-root: attach reads it, detach and run write it. */
	RUNS("--state-dir before the command", PC_CMD_ATTACH, 1, "--state-dir", "/tmp/s", "attach",
	     "eth0"),
	RUNS("--state-dir after it", PC_CMD_DETACH, 1, "detach", "eth0", "--state-dir", "/tmp/s"),
	REFUSED("--state-dir needs a directory", "portcullis: option --state-dir needs an argument\n",
		"detach", "eth0", "--state-dir"),
};

/* Help goes to stdout, made from the same rows: ARGS after "portcullis". */
struct help_case {
	const char *name;
	const char *args[4];
	const char *expect[4]; /* lines the help must contain */
};

static const struct help_case help_cases[] = {
	{ "COMMAND --help",
	  { "ban", "--help" },
	  { "usage: portcullis ban IFACE ADDRESS|PREFIX|- [--force] [--for DURATION]\n",
	    "\n  --for DURATION       how long, e.g. 10m or 2h",
	    "\nexamples:\n  portcullis ban eth0 198.51.100.7 --for 1h\n" } },
	{ "help COMMAND",
	  { "help", "attach" },
	  { "usage: portcullis attach IFACE [-c FILE] [--xdp-mode auto|native|generic]\n"
	    "        [--force] [--confirm DURATION]\n",
	    "\n  -c, --config FILE    config file (default /etc/portcullis/portcullis.conf)\n",
	    "\n  --xdp-mode auto|native|generic\n                       XDP attach mode" } },
	{ "a bad option after --help is not reported",
	  { "--help", "--frob", "stats" },
	  { "usage: portcullis stats IFACE [--json] [--watch SECONDS]\n" } },
	{ "--help alone: every command and the global options",
	  { "--help" },
	  { "\n  disallow  IFACE tcp|udp PORTS [--force]\n", "\n  --pin-root DIR       where pins",
	    "\n  -v, --verbose        more detail" } },
};

static void run_help_case(const struct help_case *c)
{
	char *argv[8] = { "portcullis" }, text[8192] = "";
	FILE *capture = tmpfile();
	int saved = dup(STDOUT_FILENO), argc = 1, ret;
	struct pc_cli cli;
	size_t got;

	test_begin("cli: help: %s", c->name);
	for (int i = 0; i < 4 && c->args[i]; i++)
		argv[argc++] = (char *)c->args[i];
	if (!CHECK(capture && saved >= 0, "no temporary file"))
		goto out;
	fflush(stdout);
	dup2(fileno(capture), STDOUT_FILENO);
	ret = pc_cli_parse(argc, argv, &cli);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	rewind(capture);
	got = fread(text, 1, sizeof(text) - 1, capture);
	text[got] = '\0';
	CHECK_INT(ret, PC_EXIT_OK);
	for (int i = 0; i < 4 && c->expect[i]; i++)
		CHECK(strstr(text, c->expect[i]), "no \"%s\" in:\n%s", c->expect[i], text);
out:
	if (saved >= 0)
		close(saved);
	if (capture)
		fclose(capture);
	test_end();
}

/* pc_cli_parse on CASE with stderr captured into MESSAGE. */
static int parse_captured(const struct cli_case *c, struct pc_cli *cli, char **argv, char *message,
			  size_t len)
{
	FILE *capture = tmpfile();
	int saved = dup(STDERR_FILENO), argc = 1, ret;
	size_t got = 0;

	argv[0] = "portcullis";
	for (int i = 0; c->args[i]; i++)
		argv[argc++] = (char *)c->args[i];
	argv[argc] = NULL;
	message[0] = '\0';
	if (!capture || saved < 0) {
		if (capture)
			fclose(capture);
		return pc_cli_parse(argc, argv, cli);
	}
	fflush(stderr);
	dup2(fileno(capture), STDERR_FILENO);
	ret = pc_cli_parse(argc, argv, cli);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(capture);
	got = fread(message, 1, len - 1, capture);
	message[got] = '\0';
	fclose(capture);
	return ret;
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct cli_case *c = &cases[i];
		char *argv[MAX_ARGS + 2], message[1024];
		struct pc_cli cli;
		int ret;

		test_begin("cli: %s", c->name);
		ret = parse_captured(c, &cli, argv, message, sizeof(message));
		CHECK_INT(ret, c->ret);
		if (c->message)
			CHECK_STR(message, c->message);
		if (ret == PC_CLI_RUN && c->ret == PC_CLI_RUN) {
			CHECK_INT(cli.command, c->command);
			CHECK_INT(cli.argc, c->argc);
			if (cli.given & PC_OPT_DETACH_ON_EXIT)
				CHECK(cli.detach_on_exit, "--detach-on-exit was not taken");
			if (strstr(c->name, "--state-dir"))
				CHECK_STR(cli.state_dir ? cli.state_dir : "(none)", "/tmp/s");
		}
		test_end();
	}

	for (size_t i = 0; i < ARRAY_SIZE(help_cases); i++)
		run_help_case(&help_cases[i]);

	/* Called twice, the parser starts afresh: getopt keeps no state between calls. */
	test_begin("cli: a second parse is independent of the first");
	{
		char *first[] = { "portcullis", "-vx", "check", NULL };
		char *second[] = { "portcullis", "stats", "eth0", "--json", NULL };
		struct pc_cli cli;
		FILE *null = fopen("/dev/null", "w");
		int saved = dup(STDERR_FILENO);

		if (null)
			dup2(fileno(null), STDERR_FILENO);
		pc_cli_parse(3, first, &cli);
		CHECK_INT(pc_cli_parse(4, second, &cli), PC_CLI_RUN);
		CHECK_INT(cli.command, PC_CMD_STATS);
		CHECK(cli.json, "--json was not seen");
		if (saved >= 0) {
			dup2(saved, STDERR_FILENO);
			close(saved);
		}
		if (null)
			fclose(null);
	}
	test_end();
	return test_exit_code();
}
