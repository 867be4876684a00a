// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line: options once, then the command, then a check that the
 * command got the options and arguments it takes. No side effects beyond
 * messages on stderr and the help text on stdout; main() runs the command.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "config_internal.h" /* cfg_suggest, for did-you-mean */
#include "log.h"
#include "metrics.h"
#include "pins.h"
#include "state.h"

/*
 * One row per option: the bit a command accepts it by (0: a global option,
 * accepted anywhere), its names, how its argument is taken and its help.
 * The getopt tables, the synopses and every help text are made from these.
 */
struct cli_option {
	unsigned int bit;
	const char *name;
	char short_name; /* 0: long only */
	int has_arg;
	/* Takes ARG into the field at FIELD; PC_CLI_RUN, or an exit status after a message. */
	int (*take)(const struct cli_option *opt, void *field, const char *arg);
	size_t field; /* offsetof(struct pc_cli, ...) */
	const char *metavar;
	const char *help;
};

static int take_string(const struct cli_option *opt, void *field, const char *arg)
{
	*(const char **)field = arg;
	return PC_CLI_RUN;
}

static int take_flag(const struct cli_option *opt, void *field, const char *arg)
{
	*(bool *)field = true;
	return PC_CLI_RUN;
}

static int take_count(const struct cli_option *opt, void *field, const char *arg)
{
	(*(int *)field)++;
	return PC_CLI_RUN;
}

/* "portcullis X.Y.Z", plus " (git COMMIT)" when built from a git checkout. */
#ifndef PORTCULLIS_FULL_VERSION
#define PORTCULLIS_FULL_VERSION PORTCULLIS_VERSION
#endif

static int take_version(const struct cli_option *opt, void *field, const char *arg)
{
	printf("portcullis %s\n", PORTCULLIS_FULL_VERSION);
	return PC_EXIT_OK;
}

static int take_xdp_mode(const struct cli_option *opt, void *field, const char *arg)
{
	static const struct {
		const char *word;
		int mode;
	} modes[] = { { "auto", 0 }, { "native", PC_XDP_NATIVE }, { "generic", PC_XDP_GENERIC } };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(arg, modes[i].word) == 0) {
			*(int *)field = modes[i].mode;
			return PC_CLI_RUN;
		}
	}
	pc_warn("--%s: '%s' is not auto, native or generic", opt->name, arg);
	return PC_EXIT_USAGE;
}

static int take_watch(const struct cli_option *opt, void *field, const char *arg)
{
	double *seconds = field;
	char *end;

	errno = 0;
	*seconds = strtod(arg, &end);
	if (errno || end == arg || *end || !(*seconds >= 0.1 && *seconds <= 86400)) {
		pc_warn("--%s: '%s' is not a number of seconds (0.1 .. 86400)", opt->name, arg);
		return PC_EXIT_USAGE;
	}
	return PC_CLI_RUN;
}

/* A whole number from MIN to MAX into the unsigned int at FIELD. */
static int take_count_in(const struct cli_option *opt, void *field, const char *arg,
			 unsigned long min, unsigned long max)
{
	unsigned long value;
	char *end;

	errno = 0;
	value = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || value < min || value > max) {
		pc_warn("--%s: '%s' is not a number from %lu to %lu", opt->name, arg, min, max);
		return PC_EXIT_USAGE;
	}
	*(unsigned int *)field = value;
	return PC_CLI_RUN;
}

/* --confirm: long enough to type 'confirm', short enough to be a rollback. */
#define CONFIRM_MIN_NS 1000000000ULL
#define CONFIRM_MAX_NS (24 * 3600 * 1000000000ULL)

static int take_confirm(const struct cli_option *opt, void *field, const char *arg)
{
	__u64 ns;
	char why[128];

	if (pc_parse_duration(arg, &ns, why, sizeof(why)) || ns < CONFIRM_MIN_NS ||
	    ns > CONFIRM_MAX_NS) {
		pc_warn("--%s: '%s' is not a duration from 1s to 24h (e.g. 30s, 2m)", opt->name,
			arg);
		return PC_EXIT_USAGE;
	}
	*(unsigned long long *)field = ns;
	return PC_CLI_RUN;
}

static int take_port_series(const struct cli_option *opt, void *field, const char *arg)
{
	return take_count_in(opt, field, arg, 0, PC_PORT_SERIES_MAX);
}

static int take_top(const struct cli_option *opt, void *field, const char *arg)
{
	return take_count_in(opt, field, arg, 1, PC_PORT_SLOTS);
}

#define FIELD(member) offsetof(struct pc_cli, member)

static const struct cli_option options[] = {
	{ PC_OPT_CONFIG, "config", 'c', required_argument, take_string, FIELD(config_path), "FILE",
	  "config file (default " PC_CONFIG_DEFAULT_PATH ")" },
	{ PC_OPT_XDP_MODE, "xdp-mode", 0, required_argument, take_xdp_mode, FIELD(xdp_mode),
	  "auto|native|generic", "XDP attach mode; auto tries native, then generic" },
	{ PC_OPT_FORCE, "force", 0, no_argument, take_flag, FIELD(force), NULL,
	  "go ahead even if the change cuts off the SSH session this runs from" },
	{ PC_OPT_JSON, "json", 0, no_argument, take_flag, FIELD(json), NULL,
	  "JSON output, for scripts" },
	{ PC_OPT_WATCH, "watch", 0, required_argument, take_watch, FIELD(watch), "SECONDS",
	  "print again every SECONDS (0.1 .. 86400), with rates" },
	{ PC_OPT_FOR, "for", 0, required_argument, take_string, FIELD(for_duration), "DURATION",
	  "how long, e.g. 10m, 1h30m or 2d (default: the config's ban time)" },
	{ PC_OPT_LISTEN, "listen", 0, required_argument, take_string, FIELD(listen), "ADDR:PORT",
	  "HTTP address (default 127.0.0.1:9433; :PORT for every address)" },
	{ PC_OPT_KEEP, "keep", 0, no_argument, take_flag, FIELD(keep), NULL,
	  "leave the filter attached when stopping (the default; kept for old unit files)" },
	{ PC_OPT_DETACH_ON_EXIT, "detach-on-exit", 0, no_argument, take_flag,
	  FIELD(detach_on_exit), NULL,
	  "detach the filter when stopping (default: it stays attached and filtering)" },
	{ PC_OPT_PORT_SERIES, "port-series", 0, required_argument, take_port_series,
	  FIELD(port_series), "N",
	  "denied ports with per-port series, the busiest first (default 64, 0 .. 65536)" },
	{ PC_OPT_TOP, "top", 0, required_argument, take_top, FIELD(top), "N",
	  "only the N ports with the most drops, most first" },
	{ PC_OPT_TCP_FLAGS, "flags", 0, required_argument, take_string, FIELD(tcp_flags),
	  "S|SA|A|F|...", "TCP flags of the packet, letters of FSRPAUEC (default S)" },
	{ PC_OPT_CONFIRM, "confirm", 0, required_argument, take_confirm, FIELD(confirm_ns),
	  "DURATION", "roll the change back by itself unless 'portcullis confirm' runs within "
	  "DURATION (1s .. 24h)" },
	{ 0, "pin-root", 0, required_argument, take_string, FIELD(pin_root), "DIR",
	  "where pins live (default " PC_PIN_ROOT_DEFAULT ", env PORTCULLIS_PIN_ROOT)" },
	{ 0, "state-dir", 0, required_argument, take_string, FIELD(state_dir),
	  "DIR", "where bans are saved (default " PC_STATE_DIR_DEFAULT
	  ", env PORTCULLIS_STATE_DIR)" },
	{ 0, "verbose", 'v', no_argument, take_count, FIELD(verbosity), NULL,
	  "more detail; -vv adds libbpf and verifier output" },
	{ 0, "help", 'h', no_argument, take_flag, FIELD(help), NULL,
	  "this text; after a command, that command's help" },
	{ 0, "version", 0, no_argument, take_version, 0, NULL, "print the version" },
};

#define N_OPTIONS    (sizeof(options) / sizeof(options[0]))
#define SYNOPSIS_MAX 256

/* getopt_long's value for a row: its letter, or past every letter. */
static int option_value(size_t index)
{
	return options[index].short_name ? options[index].short_name : 0x100 + (int)index;
}

static const struct cli_option *option_by_value(int value)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (option_value(i) == value)
			return &options[i];
	return NULL;
}

static const struct pc_command_spec commands[PC_COMMANDS] = {
	[PC_CMD_CHECK] = { "check", "", "validate a config; prints nothing on success",
			   "Parses the config and every list file it names, as attach and reload "
			   "would, and reports the first error as FILE:LINE: message.",
			   { "check -c ./portcullis.conf", "check && systemctl reload portcullis" },
			   PC_OPT_CONFIG, 0, 0 },
	[PC_CMD_ATTACH] = { "attach", "IFACE",
			    "load the filter, fill its rules from the config and attach it to "
			    "IFACE",
			    "The attachment outlives the command (a pinned bpf_link). A config "
			    "that would cut off the SSH session this runs from is refused. The "
			    "bans saved by detach or run are restored with their remaining time.",
			    { "attach eth0", "attach eth0 -c ./portcullis.conf --xdp-mode generic",
			      "attach eth0 --confirm 2m" },
			    PC_OPT_CONFIG | PC_OPT_XDP_MODE | PC_OPT_FORCE | PC_OPT_CONFIRM, 1, 1 },
	[PC_CMD_DETACH] = { "detach", "IFACE", "detach the filter and remove its pins",
			    "The bans in force are saved first, for the next attach.",
			    { "detach eth0", "--pin-root /sys/fs/bpf/test detach veth0" }, 0, 1, 1 },
	[PC_CMD_RELOAD] = { "reload", "IFACE", "replace the rules atomically from the config",
			    "A packet sees the old rules or the new ones, never a mix. A bad "
			    "config, or one that would cut off the SSH session this runs from, "
			    "is refused and the old rules stay in force.",
			    { "reload eth0", "reload eth0 -c /etc/portcullis/staging.conf",
			      "reload eth0 --confirm 60s" },
			    PC_OPT_CONFIG | PC_OPT_FORCE | PC_OPT_CONFIRM, 1, 1 },
	[PC_CMD_ALLOW] = { "allow", "IFACE tcp|udp PORTS [from SOURCES]",
			   "open ports now, without a reload",
			   "PORTS and SOURCES as in the config; the next reload rebuilds the "
			   "rules from the config file.",
			   { "allow eth0 tcp 8080,9000-9100", "allow eth0 tcp 22 from 192.0.2.0/24" },
			   0, 3, 5 },
	[PC_CMD_DISALLOW] = { "disallow", "IFACE tcp|udp PORTS", "close ports now, without a reload",
			      "Closing the port of the SSH session this runs from is refused.",
			      { "disallow eth0 tcp 8080", "disallow eth0 udp 5000-5010" },
			      PC_OPT_FORCE, 3, 3 },
	[PC_CMD_BAN] = { "ban", "IFACE ADDRESS|PREFIX|-",
			 "ban a source (IPv6: its scan-detect prefix) or a prefix; default: the "
			 "config's ban time",
			 "Banning the client of the SSH session this runs from is refused. With -, "
			 "one ADDRESS|PREFIX [DURATION] per line from stdin; a bad line applies none.",
			 { "ban eth0 198.51.100.7 --for 1h", "ban eth0 203.0.113.0/24",
			   "ban eth0 - <blocklist.txt" },
			 PC_OPT_FORCE | PC_OPT_FOR, 2, 2 },
	[PC_CMD_UNBAN] = { "unban", "IFACE ADDRESS|PREFIX|-", "lift a ban, as 'bans' shows it",
			   NULL, { "unban eth0 198.51.100.7", "unban eth0 2001:db8:1:2::/64" }, 0, 2,
			   2 },
	[PC_CMD_BANS] = { "bans", "IFACE", "list bans with reason and time left",
			  "Time left is given in its two largest units, e.g. 12d4h or 1h30m.",
			  { "bans eth0", "bans eth0 --json" }, PC_OPT_JSON, 1, 1 },
	[PC_CMD_EVENTS] = { "events", "IFACE", "follow bans, unbans and expiries, one line each",
			    "Each line starts with its UTC time, e.g. "
			    "'2026-11-30T08:00:00.123Z ban 198.51.100.7 scan: 20 ports in 3.1s, "
			    "last tcp/3306, for 10m'. Ctrl-C stops.",
			    { "events eth0", "events eth0 | grep --line-buffered ' ban '" }, 0, 1, 1 },
	[PC_CMD_LOG] = { "log", "IFACE", "follow the sampled drop log, one line per dropped packet",
			 "Needs 'log drops RATE' in the config (at most RATE lines a second; "
			 "the rest are counted in a 'suppressed N drops' line). Lines look like "
			 "'2026-11-30T08:00:00.123Z drop not-allowed tcp 198.51.100.7:51234 -> "
			 "203.0.113.1:8080 flags S len 60'. run sends the same lines to syslog. "
			 "Ctrl-C stops.",
			 { "log eth0", "log eth0 | grep --line-buffered 'tcp .*:22 '" }, 0, 1, 1 },
	[PC_CMD_STATS] = { "stats", "IFACE", "counters: totals, drops by reason, per-port traffic",
			   "With --json one JSON object on one line; with --watch one a line "
			   "(NDJSON).",
			   { "stats eth0 --watch 1", "stats eth0 --top 10",
			     "stats eth0 --json --watch 5" },
			   PC_OPT_JSON | PC_OPT_WATCH | PC_OPT_TOP, 1, 1 },
	[PC_CMD_STATUS] = { "status", "[IFACE]",
			    "attached interfaces, XDP mode, config, map memory",
			    "Without IFACE: every interface attached in this network namespace.",
			    { "status", "status eth0", "status eth0 --json" }, PC_OPT_JSON, 0, 1 },
	[PC_CMD_METRICS] = { "metrics", "[IFACE...]", "one-shot Prometheus text on stdout",
			     "Without IFACE: every attached interface.",
			     { "metrics eth0", "metrics --port-series 16" }, PC_OPT_PORT_SERIES, 0,
			     64 },
	[PC_CMD_EXPORTER] = { "exporter", "[IFACE...]", "serve /metrics (default 127.0.0.1:9433)",
			      "Without IFACE: every interface attached at the time of each scrape.",
			      { "exporter --listen :9433", "exporter eth0 --listen 127.0.0.1:9500" },
			      PC_OPT_LISTEN | PC_OPT_PORT_SERIES, 0,
			      64 },
	[PC_CMD_RUN] = { "run", "IFACE...",
			 "foreground service: attach, serve /metrics, reload on SIGHUP; the filter "
			 "stays attached when it stops",
			 "Several interfaces share one process, one config, one /metrics and one "
			 "log; SIGHUP reloads them all. An interface deleted and created again is "
			 "attached again within a second. "
			 "Adopts an existing attachment, so a restart leaves no unfiltered moment. "
			 "A SIGHUP reload that is refused (a bad config, or one that would cut off "
			 "the SSH session run was started from) is logged and the old rules stay "
			 "in force. Bans are saved at every change (at most once a second) and at "
			 "exit; 'portcullis detach' unfilters.",
			 { "run eth0 -c /etc/portcullis/portcullis.conf",
			   "run eth0 eth1 --detach-on-exit" },
			 PC_OPT_CONFIG | PC_OPT_XDP_MODE | PC_OPT_FORCE | PC_OPT_LISTEN |
				 PC_OPT_KEEP | PC_OPT_DETACH_ON_EXIT | PC_OPT_PORT_SERIES,
			 1, 64 },
	[PC_CMD_RULES] = { "rules", "IFACE", "the live rule set, as a config file",
			   "Ports and ranges merged, source lists inline, headed by the config "
			   "file and generation. 'check' accepts the output and 'reload -c' with it "
			   "gives the same maps.",
			   { "rules eth0", "rules eth0 > /tmp/live.conf" }, PC_OPT_JSON, 1, 1 },
	[PC_CMD_EXPLAIN] = { "explain", "IFACE tcp|udp SOURCE DPORT",
			     "the verdict a packet gets now, and why; changes nothing",
			     "Runs the attached program's logic (a build without side effects) "
			     "on the live maps: no counter, ban or scan state changes.",
			     { "explain eth0 tcp 198.51.100.7 22",
			       "explain eth0 tcp 2001:db8::7 443 --flags SA --json" },
			     PC_OPT_JSON | PC_OPT_TCP_FLAGS, 4, 4 },
	[PC_CMD_AUDIT] = { "audit", "IFACE",
			   "listening sockets against the live rules: exposed, limited, hidden, "
			   "idle",
			   "Reads the namespace's TCP listeners and unconnected UDP sockets "
			   "(sock_diag) and the owning process where /proc tells.",
			   { "audit eth0", "audit eth0 --json" }, PC_OPT_JSON, 1, 1 },
	[PC_CMD_CONFIRM] = { "confirm", "IFACE",
			     "keep the change made with --confirm; without this it rolls back",
			     "While a change awaits confirmation, reload and attach are refused "
			     "(unless --force) and allow/disallow change the pending rules only.",
			     { "confirm eth0" }, 0, 1, 1 },
};

const struct pc_command_spec *pc_command_spec(enum pc_command command)
{
	return command < PC_COMMANDS ? &commands[command] : NULL;
}

/* "-c FILE", "--xdp-mode auto|native|generic", "--force": how the option is written. */
static void option_usage(const struct cli_option *opt, char *buf, size_t len)
{
	if (opt->short_name)
		snprintf(buf, len, "-%c%s%s", opt->short_name, opt->metavar ? " " : "",
			 opt->metavar ? opt->metavar : "");
	else
		snprintf(buf, len, "--%s%s%s", opt->name, opt->metavar ? " " : "",
			 opt->metavar ? opt->metavar : "");
}

/* The arguments, then every option the command takes, in the table's order. */
static const char *synopsis(const struct pc_command_spec *spec, char *text, size_t len)
{
	size_t used = snprintf(text, len, "%s", spec->args);

	for (size_t i = 0; i < N_OPTIONS && used < len; i++) {
		char one[64];

		if (!(options[i].bit & spec->options))
			continue;
		option_usage(&options[i], one, sizeof(one));
		used += snprintf(text + used, len - used, "%s[%s]", used ? " " : "", one);
	}
	return text;
}

/* TEXT, already at column COLUMN, in lines of at most 79 columns, going on at INDENT. */
static void wrap(FILE *out, int column, int indent, const char *text)
{
	for (bool first = true; *text; first = false) {
		int word = strcspn(text, " ");

		if (!first && column + 1 + word > 79) {
			column = fprintf(out, "\n%*s", indent, "") - 1;
		} else if (!first) {
			fputc(' ', out);
			column++;
		}
		column += fprintf(out, "%.*s", word, text);
		text += word + strspn(text + word, " ");
	}
	fputc('\n', out);
}

/* "  -c, --config FILE     help" for every row that BIT_MASK selects (0: globals). */
static void option_help(FILE *out, unsigned int bit_mask)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *opt = &options[i];
		char names[64];
		int width;

		if (bit_mask ? !(opt->bit & bit_mask) : opt->bit != 0)
			continue;
		if (opt->short_name)
			snprintf(names, sizeof(names), "-%c, ", opt->short_name);
		else
			names[0] = '\0';
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "--%s%s%s",
			 opt->name, opt->metavar ? " " : "", opt->metavar ? opt->metavar : "");
		width = fprintf(out, "  %s", names);
		width += fprintf(out, "%*s", width < 23 ? 23 - width : 0, "");
		if (width > 23)
			width = fprintf(out, "\n%*s", 23, "") - 1;
		wrap(out, width, 23, opt->help);
	}
}

static void command_help(FILE *out, const struct pc_command_spec *spec)
{
	char text[SYNOPSIS_MAX];

	fprintf(out, "usage: portcullis %s ", spec->name);
	wrap(out, 18 + strlen(spec->name), 8, synopsis(spec, text, sizeof(text)));
	fprintf(out, "\n%s: ", spec->name);
	wrap(out, strlen(spec->name) + 2, 2, spec->help);
	if (spec->description) {
		fputc('\n', out);
		wrap(out, 0, 0, spec->description);
	}
	if (spec->options) {
		fprintf(out, "\noptions:\n");
		option_help(out, spec->options);
	}
	fprintf(out, "\nexamples:\n");
	for (size_t i = 0; i < 3 && spec->examples[i]; i++)
		fprintf(out, "  portcullis %s\n", spec->examples[i]);
	fprintf(out, "\nGlobal options (-v, --pin-root DIR, --state-dir DIR): see portcullis --help.\n");
}

static void usage(FILE *out)
{
	char text[SYNOPSIS_MAX];

	fprintf(out, "usage: portcullis [-v] [--pin-root DIR] [--state-dir DIR] COMMAND [ARGS]\n\n"
		     "An XDP port filter: a default-deny allowlist of TCP/UDP ports, stealth-scan\n"
		     "drops and scan bans on the NIC driver path.\n\ncommands:\n");
	for (size_t i = 0; i < PC_COMMANDS; i++) {
		fprintf(out, "  %-9s ", commands[i].name);
		wrap(out, 12, 14, synopsis(&commands[i], text, sizeof(text)));
		fprintf(out, "%14s", "");
		wrap(out, 14, 14, commands[i].help);
	}
	fprintf(out, "\noptions:\n");
	option_help(out, 0);
	fprintf(out,
		"\nexamples:\n"
		"  portcullis check -c ./portcullis.conf\n"
		"  sudo portcullis attach eth0\n"
		"  sudo portcullis allow eth0 tcp 8080,9000-9100\n"
		"  sudo portcullis stats eth0 --watch 1\n\n"
		"A command's options and examples: portcullis help COMMAND, or COMMAND --help.\n"
		"Exit status: 0 success, 1 runtime failure, 2 usage or config error.\n"
		"Interfaces in another network namespace: run under nsenter "
		"--net=/run/netns/NAME.\n");
}

static int find_command(const char *name)
{
	for (int i = 0; i < PC_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return i;
	return -1;
}

/* An unknown long option, or an abbreviation of more than one (--conf). */
static void say_unknown_long(const char *word, size_t name_len)
{
	char names[128] = "";
	size_t used = 0;
	int matches = 0;

	for (size_t i = 0; i < N_OPTIONS && name_len > 2; i++) {
		if (strncmp(options[i].name, word + 2, name_len - 2) != 0)
			continue;
		matches++;
		used += snprintf(names + used, sizeof(names) - used, "%s--%s?",
				 used ? " " : "", options[i].name);
		if (used >= sizeof(names))
			break;
	}
	if (matches > 1)
		pc_warn("ambiguous option '%.*s' (%s)", (int)name_len, word, names);
	else
		pc_warn("unknown option '%.*s' (see portcullis --help)", (int)name_len, word);
}

/* "unknown command 'stauts'", with the nearest command name when one is near. */
static void say_unknown_command(const char *context, const char *name)
{
	char closest[32] = "";
	size_t best = CFG_SUGGEST_EDITS;

	for (int i = 0; i < PC_COMMANDS; i++)
		cfg_suggest(name, commands[i].name, closest, sizeof(closest), &best);
	if (closest[0])
		pc_warn("%sunknown command '%s': did you mean '%s'? (see portcullis --help)",
			context, name, closest);
	else
		pc_warn("%sunknown command '%s' (see portcullis --help)", context, name);
}

/*
 * What getopt_long refused. A long option is always the argument before
 * optind ("--frob", "--force=yes", a final "--config"), and getopt sets
 * optopt to 0 for an unknown one and to its value for a bad argument. A
 * short one is only a letter, optopt, maybe inside a cluster ("-vx").
 */
static void say_bad_option(int argc, char **argv)
{
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	const struct cli_option *opt = optopt ? option_by_value(optopt) : NULL;
	size_t name_len = strcspn(word, "=");

	if (strncmp(word, "--", 2) == 0 && !optopt) {
		say_unknown_long(word, name_len);
		return;
	}
	if (opt && strncmp(word, "--", 2) == 0 && strncmp(opt->name, word + 2, name_len - 2) == 0) {
		if (opt->has_arg == no_argument && word[name_len] == '=') {
			pc_warn("option --%s takes no argument", opt->name);
			return;
		}
		if (opt->has_arg == required_argument && !word[name_len] && optind == argc) {
			pc_warn("option --%s needs an argument", opt->name);
			return;
		}
	}
	if (opt && opt->short_name == optopt && opt->has_arg == required_argument)
		pc_warn("option -%c needs an argument", optopt);
	else if (optopt > ' ' && optopt < 0x7f)
		pc_warn("unknown option '-%c' (see portcullis --help)", optopt);
	else
		pc_warn("unknown option (see portcullis --help)");
}

/* getopt_long's tables, from the option rows. */
static void getopt_tables(struct option *long_options, char *short_options)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		long_options[i] = (struct option){ options[i].name, options[i].has_arg, NULL,
						   option_value(i) };
		if (!options[i].short_name)
			continue;
		*short_options++ = options[i].short_name;
		if (options[i].has_arg == required_argument)
			*short_options++ = ':';
	}
	long_options[N_OPTIONS] = (struct option){};
	*short_options = '\0';
}

/* -h/--help: the command's help when a command is named, else the overview. */
static int help(int argc, char **argv)
{
	int command = optind < argc ? find_command(argv[optind]) : -1;

	if (command >= 0)
		command_help(stdout, &commands[command]);
	else
		usage(stdout);
	return PC_EXIT_OK;
}

/* Does the command accept every option given? */
static int check_options(const struct pc_cli *cli, const struct pc_command_spec *spec)
{
	char text[SYNOPSIS_MAX];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (!(cli->given & options[i].bit) || (spec->options & options[i].bit))
			continue;
		pc_warn("%s: option --%s does not apply (usage: portcullis %s %s)", spec->name,
			options[i].name, spec->name, synopsis(spec, text, sizeof(text)));
		return PC_EXIT_USAGE;
	}
	if (cli->keep && cli->detach_on_exit) {
		pc_warn("%s: --keep and --detach-on-exit contradict each other", spec->name);
		return PC_EXIT_USAGE;
	}
	if (cli->argc < spec->min_args || cli->argc > spec->max_args) {
		pc_warn("%s: expected %s (usage: portcullis %s %s)", spec->name,
			cli->argc < spec->min_args ? "more arguments" : "fewer arguments",
			spec->name, synopsis(spec, text, sizeof(text)));
		return PC_EXIT_USAGE;
	}
	return PC_CLI_RUN;
}

int pc_cli_parse(int argc, char **argv, struct pc_cli *cli)
{
	struct option long_options[N_OPTIONS + 1];
	char short_options[2 * N_OPTIONS + 1];
	int opt, ret, command;

	*cli = (struct pc_cli){
		.config_path = PC_CONFIG_DEFAULT_PATH,
		.port_series = PC_PORT_SERIES_DEFAULT,
		.verbosity = PC_LOG_INFO,
	};
	getopt_tables(long_options, short_options);
	/* 0, not 1: getopt starts afresh, so the parser can be called again. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		const struct cli_option *row = option_by_value(opt);

		if (cli->help)
			continue; /* help was asked for: nothing after it matters */
		if (opt == '?' || !row) {
			say_bad_option(argc, argv);
			return PC_EXIT_USAGE;
		}
		ret = row->take(row, (char *)cli + row->field, optarg);
		if (ret != PC_CLI_RUN)
			return ret;
		cli->given |= row->bit;
	}
	if (cli->help)
		return help(argc, argv);

	if (optind >= argc) {
		usage(stderr);
		return PC_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		optind++;
		if (optind < argc && find_command(argv[optind]) < 0) {
			say_unknown_command("help: ", argv[optind]);
			return PC_EXIT_USAGE;
		}
		return help(argc, argv);
	}
	command = find_command(argv[optind]);
	if (command < 0) {
		say_unknown_command("", argv[optind]);
		return PC_EXIT_USAGE;
	}
	cli->command = command;
	cli->argc = argc - optind - 1;
	cli->argv = argv + optind + 1;
	return check_options(cli, &commands[command]);
}
