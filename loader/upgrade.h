/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef PORTCULLIS_UPGRADE_H
#define PORTCULLIS_UPGRADE_H

#include <stddef.h>

/*
 * An attachment made by another version of portcullis may pin maps of other
 * shapes than this build's (a grown struct, a new map). Reading or writing
 * them with this build's layouts would be wrong in silence, so every command
 * that opens the pins asks first; 'attach' (and so 'run') upgrades such an
 * attachment in place, with no unfiltered moment.
 */

/* 0 when every map this build uses is pinned for IFNAME with this build's
 * type, key, value and size; else -EPROTO, with the first difference in WHY. */
int pc_pins_compatible(const char *ifname, char *why, size_t why_len);

#endif
