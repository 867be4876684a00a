/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A private network namespace for tests that create real sockets. */
#ifndef PORTCULLIS_TEST_NETNS_H
#define PORTCULLIS_TEST_NETNS_H

#include <sched.h>
#include <stdbool.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* A network namespace of our own with loopback up, so socket lookups see only our sockets. */
static inline bool enter_private_netns(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;
	bool ok;

	if (unshare(CLONE_NEWNET))
		return false;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	close(fd);
	return ok;
}

#endif /* PORTCULLIS_TEST_NETNS_H */
