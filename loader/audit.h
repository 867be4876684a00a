/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The exposure audit: listening sockets held against the live rules (loader/audit.c). */
#ifndef PORTCULLIS_AUDIT_H
#define PORTCULLIS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "../maps/pcmaps.h"

enum pc_audit_state {
	PC_AUDIT_EXPOSED, /* listening, allowed from every source */
	PC_AUDIT_LIMITED, /* listening, allowed for some sources */
	PC_AUDIT_HIDDEN,  /* listening, not allowed */
	PC_AUDIT_IDLE,	  /* allowed, nothing listening */
	PC_AUDIT_STATES,
};

extern const char *const pc_audit_state_names[PC_AUDIT_STATES];

#define PC_AUDIT_PROCESS_LEN 128

struct pc_audit_row {
	enum pc_proto proto;
	__u16 port, port_end; /* host order; port_end > port only for an idle range */
	enum pc_audit_state state;
	char process[PC_AUDIT_PROCESS_LEN]; /* "sshd[812]", comma-separated; "" if unknown */
};

struct pc_audit {
	struct pc_audit_row *rows; /* listening ports by protocol and port, then idle ones */
	size_t n, cap;
	unsigned long count[PC_AUDIT_STATES]; /* ports in each state */
};

/* The audit of the caller's network namespace against MAPS' live rules;
 * PROCESSES: name the owners (a walk of /proc). */
int pc_audit_read(const struct pc_maps *maps, struct pc_audit *audit, bool processes);
void pc_audit_free(struct pc_audit *audit);

#endif /* PORTCULLIS_AUDIT_H */
