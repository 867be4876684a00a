// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdbool.h>
#include <unistd.h>
#include <bpf/btf.h>

#include "conntrack.h"

/* The BTF of a kfunc that is a module's (nf_conntrack built as one) is in
 * the module's BTF. */
static bool kernel_has_kfunc(const char *name, const char *module)
{
	struct btf *vmlinux = btf__load_vmlinux_btf(), *mod = NULL;
	bool found = false;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
	if (!found && (mod = btf__load_module_btf(module, vmlinux)))
		found = btf__find_by_name_kind(mod, name, BTF_KIND_FUNC) > 0;
	btf__free(mod);
	btf__free(vmlinux);
	return found;
}

enum pc_conntrack pc_conntrack_probe(void)
{
	if (!kernel_has_kfunc("bpf_xdp_ct_lookup", "nf_conntrack"))
		return PC_CONNTRACK_NO_KFUNC;
	if (access("/proc/sys/net/netfilter/nf_conntrack_max", F_OK) &&
	    access("/sys/module/nf_conntrack", F_OK))
		return PC_CONNTRACK_NO_MODULE;
	return PC_CONNTRACK_YES;
}

const char *pc_conntrack_text(__u32 found)
{
	switch (found) {
	case PC_CONNTRACK_YES:
		return "bpf_xdp_ct_lookup and nf_conntrack present at attach";
	case PC_CONNTRACK_NO_KFUNC:
		return "no bpf_xdp_ct_lookup kfunc at attach (not in this kernel, or nf_conntrack "
		       "not loaded): sockets only";
	case PC_CONNTRACK_NO_MODULE:
		return "nf_conntrack was not loaded at attach: sockets only; attach again "
		       "after loading it";
	default:
		return "not recorded at attach (attached by an older version)";
	}
}
