/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The command line, parsed without side effects: pc_cli_parse() turns argv
 * into a struct pc_cli naming one command, or prints why it cannot (or the
 * help text) and returns the exit status. It never exits, never touches
 * bpffs and keeps no state between calls, so it is fuzzed (tests/fuzz).
 * main() runs the chosen command.
 */
#ifndef PORTCULLIS_CLI_H
#define PORTCULLIS_CLI_H

#include <stdbool.h>

enum pc_command {
	PC_CMD_CHECK,
	PC_CMD_ATTACH,
	PC_CMD_DETACH,
	PC_CMD_RELOAD,
	PC_CMD_ALLOW,
	PC_CMD_DISALLOW,
	PC_CMD_BAN,
	PC_CMD_UNBAN,
	PC_CMD_BANS,
	PC_CMD_EVENTS,
	PC_CMD_STATS,
	PC_CMD_STATUS,
	PC_CMD_METRICS,
	PC_CMD_EXPORTER,
	PC_CMD_RUN,
	PC_CMD_RULES,
	PC_CMD_EXPLAIN,
	PC_CMD_AUDIT,
	PC_CMD_CONFIRM,
	PC_COMMANDS,
};

/* Options, as bits of pc_cli.given and of what a command accepts. */
enum pc_cli_option {
	PC_OPT_CONFIG = 1 << 0,
	PC_OPT_XDP_MODE = 1 << 1,
	PC_OPT_FORCE = 1 << 2,
	PC_OPT_JSON = 1 << 3,
	PC_OPT_WATCH = 1 << 4,
	PC_OPT_FOR = 1 << 5,
	PC_OPT_LISTEN = 1 << 6,
	PC_OPT_KEEP = 1 << 7,
	PC_OPT_PORT_SERIES = 1 << 8,
	PC_OPT_DETACH_ON_EXIT = 1 << 9,
	PC_OPT_TCP_FLAGS = 1 << 14, /* explain --flags */
	PC_OPT_CONFIRM = 1 << 15,   /* reload/attach --confirm */
	PC_OPT_LAST = PC_OPT_CONFIRM,
};

struct pc_cli {
	enum pc_command command;
	const char *config_path;
	int xdp_mode; /* 0 = auto, else enum pc_xdp_mode */
	bool force;
	bool json;
	double watch;
	const char *listen;	  /* NULL: the exporter's default */
	const char *for_duration; /* ban --for */
	const char *tcp_flags;	  /* explain --flags */
	bool keep;		  /* accepted for old unit files; keeping is the default */
	bool detach_on_exit;	  /* run: detach when stopping */
	unsigned int port_series; /* denied ports in the per-port metrics */
	const char *pin_root;	  /* --pin-root, else NULL */
	const char *state_dir;	  /* --state-dir, else NULL */
	unsigned long long confirm_ns; /* --confirm DURATION, else 0 */
	int verbosity;		  /* enum pc_log_level, raised by each -v */
	bool help;		  /* -h/--help: print help instead of running */
	unsigned int given;	  /* PC_OPT_* seen on the command line */
	int argc;		  /* positional arguments after the command */
	char **argv;
};

/*
 * One row per command: what it accepts (for the checks) and what its help
 * says. The synopsis is made from ARGS and the options' rows.
 */
struct pc_command_spec {
	const char *name;
	const char *args;	  /* positional arguments, as in the synopsis */
	const char *help;	  /* one line, for the command list */
	const char *description;  /* more, for 'portcullis help CMD'; may be NULL */
	const char *examples[3];  /* command lines after "portcullis "; NULL ends */
	unsigned int options;	  /* PC_OPT_* it accepts */
	int min_args, max_args;
};

const struct pc_command_spec *pc_command_spec(enum pc_command command);

/* pc_cli_parse's result when CLI names a command to run. */
#define PC_CLI_RUN (-1)

/*
 * Parse ARGV (which getopt may reorder). Returns PC_CLI_RUN with CLI filled
 * in, or an exit status after printing the error (or the help or version
 * text, status 0).
 */
int pc_cli_parse(int argc, char **argv, struct pc_cli *cli);

#endif /* PORTCULLIS_CLI_H */
