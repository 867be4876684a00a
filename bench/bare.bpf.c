// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor: XDP programs that only return a verdict. Whatever a filter
 * costs beyond these is the price of its decision.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int bare_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bare_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
