/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A minimal test harness shared by the unit tests. Every case prints one line
 * that tests/run.sh counts:
 *
 *   PASS: name
 *   FAIL: name: what was expected, what came back
 *   SKIP: name: why
 *
 * CHECK* return bool so a case can bail out early; a case fails when any of
 * its checks failed. The process exits 1 when any case failed.
 */
#ifndef PORTCULLIS_TESTING_H
#define PORTCULLIS_TESTING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int test_failures;   /* failed cases so far */
static int case_failed;     /* the current case has a failed check */
static char case_name[256];

static inline void test_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void test_begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
	case_failed = 0;
}

/* Reports a failed check of the current case; the first one names the case. */
static inline void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void test_fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s: ", case_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	case_failed = 1;
}

static inline bool test_end(void)
{
	if (case_failed)
		test_failures++;
	else
		printf("PASS: %s\n", case_name);
	fflush(stdout);
	return !case_failed;
}

/*
 * For cases with many checks: the first failure makes the case's one FAIL
 * line (tests/run.sh counts them), later ones are printed as details under it.
 */
static inline void test_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void test_detail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (case_failed)
		printf("    %s\n", msg);
	else
		test_fail("%s", msg);
}

/* A packet under a failed case, 16 bytes a line. */
static inline void test_hexdump(const unsigned char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%s%02x%s", i % 16 == 0 ? "    " : "", data[i],
		       i % 16 == 15 || i + 1 == len ? "\n" : " ");
}

static inline void test_skip(const char *name, const char *why)
{
	printf("SKIP: %s: %s\n", name, why);
	fflush(stdout);
}

#define CHECK(cond, fmt, ...)                                                      \
	({                                                                         \
		bool ok_ = (cond);                                                 \
		if (!ok_)                                                          \
			test_fail("%s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__); \
		ok_;                                                               \
	})

#define CHECK_INT(got, want)                                                       \
	({                                                                         \
		long long got_ = (long long)(got), want_ = (long long)(want);      \
		CHECK(got_ == want_, "%s: expected %lld, got %lld", #got, want_, got_); \
	})

#define CHECK_STR(got, want)                                                       \
	({                                                                         \
		const char *got_ = (got), *want_ = (want);                         \
		CHECK(got_ && strcmp(got_, want_) == 0, "%s: expected \"%s\", got \"%s\"", \
		      #got, want_, got_ ? got_ : "(null)");                         \
	})

static inline int test_exit_code(void)
{
	return test_failures ? 1 : 0;
}

#endif /* PORTCULLIS_TESTING_H */
