// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line parser: the input, split at NUL bytes, is argv after
 * "portcullis". pc_cli_parse() must either name a command whose options and
 * argument count it accepts, or return exit status 0 or 2. Run with
 * -close_fd_mask=3: the messages are not the point.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "loader/cli.h"
#include "loader/log.h"

#define MAX_ARGS 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *copy, *saved[MAX_ARGS + 2];
	struct pc_cli cli;
	int argc = 1, ret;

	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "portcullis";
	for (size_t at = 0; at < size && argc < MAX_ARGS;) {
		argv[argc++] = copy + at;
		at += strlen(copy + at) + 1;
	}
	argv[argc] = NULL;
	memcpy(saved, argv, sizeof(argv));

	ret = pc_cli_parse(argc, argv, &cli);
	if (ret == PC_CLI_RUN) {
		const struct pc_command_spec *spec = pc_command_spec(cli.command);

		FUZZ_ASSERT(spec, "command %d", cli.command);
		FUZZ_ASSERT(cli.argc >= spec->min_args && cli.argc <= spec->max_args,
			    "%s with %d arguments", spec->name, cli.argc);
		FUZZ_ASSERT(!(cli.given & ~spec->options), "%s with options %#x", spec->name,
			    cli.given);
		FUZZ_ASSERT(cli.argv + cli.argc == argv + argc, "arguments do not end argv");
		FUZZ_ASSERT(cli.config_path && cli.verbosity >= PC_LOG_INFO, "defaults lost");
		FUZZ_ASSERT(!(cli.given & PC_OPT_WATCH) || (cli.watch >= 0.1 && cli.watch <= 86400),
			    "watch %g", cli.watch);
	} else {
		FUZZ_ASSERT(ret == PC_EXIT_OK || ret == PC_EXIT_USAGE, "exit status %d", ret);
	}
	/* getopt may reorder argv, never lose or invent an element. */
	for (int i = 1; i < argc; i++) {
		bool found = false;

		for (int j = 1; j < argc && !found; j++)
			found = argv[j] == saved[i];
		FUZZ_ASSERT(found, "argument %d lost", i);
	}
	free(copy);
	return 0;
}
