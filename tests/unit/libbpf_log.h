/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * libbpf's messages in the BPF unit tests: warnings always, the debug
 * chatter (loader steps, the verifier's log) only when -v set verbose.
 * Hand libbpf_print to libbpf_set_print().
 */
#ifndef PORTCULLIS_TESTS_LIBBPF_LOG_H
#define PORTCULLIS_TESTS_LIBBPF_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <bpf/libbpf.h>

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

#endif /* PORTCULLIS_TESTS_LIBBPF_LOG_H */
