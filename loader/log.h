/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Messages to people. Every message names its object ("eth0: ...") and, for
 * a failed system call, the errno text and number, xdp-tools style:
 *   portcullis: eth0: couldn't attach XDP program: Device or resource busy (-16)
 */
#ifndef PORTCULLIS_LOG_H
#define PORTCULLIS_LOG_H

enum pc_log_level {
	PC_LOG_WARN = 0,
	PC_LOG_INFO = 1,
	PC_LOG_DEBUG = 2,
};

/* Exit statuses of the contract. */
#define PC_EXIT_OK 0
#define PC_EXIT_FAILURE 1
#define PC_EXIT_USAGE 2

extern int pc_verbosity;

void pc_log_init(int verbosity);
void pc_log(enum pc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pc_warn(...) pc_log(PC_LOG_WARN, __VA_ARGS__)
#define pc_info(...) pc_log(PC_LOG_INFO, __VA_ARGS__)
#define pc_debug(...) pc_log(PC_LOG_DEBUG, __VA_ARGS__)

/* "Device or resource busy (-16)" for ERR < 0; in a buffer of the calling thread,
 * valid until its next call. */
const char *pc_strerr(int err);

#endif /* PORTCULLIS_LOG_H */
