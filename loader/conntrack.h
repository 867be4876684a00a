/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Can step 9 ask the kernel's connection tracker? Found once, at attach (the
 * program resolves its weak kfunc when it is loaded), and kept in pc_meta so
 * that status says what the attached program does, not what the kernel
 * would offer now.
 */
#ifndef PORTCULLIS_CONNTRACK_H
#define PORTCULLIS_CONNTRACK_H

#include "../maps/portcullis.h"

/* The running kernel: the bpf_xdp_ct_lookup kfunc, and nf_conntrack loaded. */
enum pc_conntrack pc_conntrack_probe(void);
/* What a recorded enum pc_conntrack means, for status. */
const char *pc_conntrack_text(__u32 found);

#endif /* PORTCULLIS_CONNTRACK_H */
