// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

int pc_verbosity = PC_LOG_INFO;

/* libbpf's own messages are detail: shown with -v, warnings with -vv too. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (pc_verbosity < PC_LOG_DEBUG)
		return 0;
	if (level == LIBBPF_DEBUG && pc_verbosity < PC_LOG_DEBUG + 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void pc_log_init(int verbosity)
{
	pc_verbosity = verbosity;
	libbpf_set_print(libbpf_print);
}

void pc_log(enum pc_log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((int)level > pc_verbosity)
		return;
	fputs("portcullis: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *pc_strerr(int err)
{
	/* Per thread: the exporter's thread and the main thread both call it. */
	static __thread char buf[128];

	snprintf(buf, sizeof(buf), "%s (%d)", strerror(err < 0 ? -err : err), err < 0 ? err : -err);
	return buf;
}
