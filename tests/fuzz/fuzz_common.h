/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared by the libFuzzer targets: a checked invariant that aborts with a reason. */
#ifndef PORTCULLIS_FUZZ_COMMON_H
#define PORTCULLIS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash the fuzzer keeps, like a sanitizer report. */
#define FUZZ_ASSERT(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant '%s' broken: ", __FILE__, __LINE__,      \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* PORTCULLIS_FUZZ_COMMON_H */
