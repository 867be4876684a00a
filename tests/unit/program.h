/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The XDP program as every unit test loads it: a fresh copy from the
 * skeleton (its own maps, nothing pinned, nothing attached), the fd that
 * BPF_PROG_TEST_RUN runs, and the maps as maps/pcmaps.h names them.
 */
#ifndef PORTCULLIS_TEST_PROGRAM_H
#define PORTCULLIS_TEST_PROGRAM_H

#include <errno.h>
#include <bpf/libbpf.h>

#include "portcullis.skel.h"
#include "maps/pcmaps.h"

/* 0, or -errno with *SKEL NULL or loaded (portcullis_bpf__destroy takes either). */
static inline int test_program_load(struct portcullis_bpf **skel, int *prog_fd,
				    struct pc_maps *maps)
{
	*skel = portcullis_bpf__open_and_load();
	if (!*skel)
		return -errno;
	*prog_fd = bpf_program__fd((*skel)->progs.portcullis_xdp);
	return pc_maps_from_object((*skel)->obj, maps);
}

#endif /* PORTCULLIS_TEST_PROGRAM_H */
