// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * "exempt auto": the sources a host cannot afford to ban, found where the
 * host keeps them. A gateway that relays a scan, or a resolver whose
 * replies a spoofer imitates, would otherwise be banned and take the host
 * off the network. Read at attach and reload, in the caller's network
 * namespace (/proc/net is the namespace's own).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "exempt.h"

/* Whole addresses only: a gateway is one host, and so is a resolver. */
static int add_host(struct pc_prefix_list *list, int family, const void *addr)
{
	struct pc_prefix prefix = { .family = family, .len = family == AF_INET ? 32 : 128 };
	static const __u8 zero[16];
	size_t size = family == AF_INET ? 4 : 16;

	if (memcmp(addr, zero, size) == 0)
		return 0; /* on-link default route: no gateway to name */
	memcpy(prefix.addr, addr, size);
	return pc_prefix_list_add(list, &prefix) ? -ENOMEM : 0;
}

/* /proc/net/route: "Iface Destination Gateway Flags ..." in host-order hex. */
static int ipv4_gateways(struct pc_prefix_list *list)
{
	FILE *f = fopen("/proc/net/route", "re");
	unsigned int dest, gateway, flags, mask;
	char line[512];
	int err = 0;

	if (!f)
		return 0; /* no IPv4 in this kernel: nothing to exempt */
	while (!err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %x %x %x %*d %*d %*d %x", &dest, &gateway, &flags, &mask) != 4)
			continue; /* the header line */
		/* RTF_UP | RTF_GATEWAY, default route */
		if (dest == 0 && mask == 0 && (flags & 0x3) == 0x3)
			err = add_host(list, AF_INET, &gateway);
	}
	fclose(f);
	return err;
}

static int hex_bytes(const char *hex, __u8 *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = byte;
	}
	return 0;
}

/* /proc/net/ipv6_route: "DEST LEN SRC LEN NEXTHOP METRIC REF USE FLAGS IFACE". */
static int ipv6_gateways(struct pc_prefix_list *list)
{
	FILE *f = fopen("/proc/net/ipv6_route", "re");
	char dest[33], next[33], line[512];
	unsigned int dest_len, flags;
	__u8 addr[16];
	int err = 0;

	if (!f)
		return 0;
	while (!err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%32s %x %*s %*x %32s %*x %*x %*x %x", dest, &dest_len, next,
			   &flags) != 4)
			continue;
		if (dest_len != 0 || strspn(dest, "0") != 32 || !(flags & 0x2) /* RTF_GATEWAY */)
			continue;
		if (hex_bytes(next, addr, sizeof(addr)) == 0)
			err = add_host(list, AF_INET6, addr);
	}
	fclose(f);
	return err;
}

/* "nameserver ADDRESS" lines of resolv.conf(5); a zone index is dropped. */
static int resolvers(const char *path, struct pc_prefix_list *list)
{
	FILE *f = fopen(path, "re");
	char line[512], word[64];
	__u8 addr[16];
	int err = 0;

	if (!f)
		return 0; /* no resolver configured */
	while (!err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nameserver %63s", word) != 1)
			continue;
		word[strcspn(word, "%")] = '\0';
		if (inet_pton(AF_INET, word, addr) == 1)
			err = add_host(list, AF_INET, addr);
		else if (inet_pton(AF_INET6, word, addr) == 1)
			err = add_host(list, AF_INET6, addr);
	}
	fclose(f);
	return err;
}

/*
 * The resolv.conf of the caller's network namespace. A namespace made with
 * 'ip netns add NAME' keeps its own in /etc/netns/NAME/ ('ip netns exec'
 * mounts it over /etc/resolv.conf; nsenter, which portcullis is run under,
 * does not), so look for it by the namespace's name.
 */
static void resolv_conf_path(char *path, size_t len)
{
	struct stat self, named;
	struct dirent *entry;
	DIR *dir;

	snprintf(path, len, "%s", PC_RESOLV_CONF);
	dir = opendir("/run/netns");
	if (!dir || stat("/proc/self/ns/net", &self)) {
		if (dir)
			closedir(dir);
		return;
	}
	while ((entry = readdir(dir))) {
		char ns[300], conf[300];

		snprintf(ns, sizeof(ns), "/run/netns/%s", entry->d_name);
		if (entry->d_name[0] == '.' || stat(ns, &named) || named.st_ino != self.st_ino ||
		    named.st_dev != self.st_dev)
			continue;
		snprintf(conf, sizeof(conf), "/etc/netns/%s/resolv.conf", entry->d_name);
		if (access(conf, R_OK) == 0)
			snprintf(path, len, "%s", conf);
		break;
	}
	closedir(dir);
}

int pc_exempt_auto(struct pc_prefix_list *list)
{
	char conf[300];
	int err = ipv4_gateways(list);

	if (!err)
		err = ipv6_gateways(list);
	resolv_conf_path(conf, sizeof(conf));
	if (!err)
		err = resolvers(conf, list);
	return err;
}
