/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef PORTCULLIS_EXEMPT_H
#define PORTCULLIS_EXEMPT_H

#include "config.h"

#define PC_RESOLV_CONF "/etc/resolv.conf"

/*
 * Appends the sources "exempt auto" protects to LIST: the default gateways
 * (IPv4 and IPv6) of the caller's network namespace and the nameservers of
 * its resolv.conf (/etc/netns/NAME/resolv.conf for a namespace named NAME
 * under /run/netns that has one, else /etc/resolv.conf), each as a whole
 * address. A file that is missing adds
 * nothing. Returns 0 or -ENOMEM.
 */
int pc_exempt_auto(struct pc_prefix_list *list);

#endif /* PORTCULLIS_EXEMPT_H */
