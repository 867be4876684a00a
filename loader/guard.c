// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The SSH guard, shared by attach, reload, disallow, ban and run. The pure
 * decisions (pc_ssh_parse, pc_guard_ruleset_cut, pc_prefix_contains) are
 * unit-tested; the rest reads the environment and the live maps.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "guard.h"
#include "log.h"
#include "../maps/bans.h"
#include "../maps/sources.h"

bool pc_ssh_parse(const char *conn, struct pc_ssh_session *session)
{
	char client[64], server[64], why[128], rest;
	int client_port;

	if (!conn || sscanf(conn, "%63s %d %63s %d %c", client, &client_port, server,
			    &session->port, &rest) != 4)
		return false;
	if (session->port < 1 || session->port > 65535 || strchr(client, '/') ||
	    strchr(server, '/'))
		return false;
	if (pc_parse_prefix(client, &session->client, why, sizeof(why)) ||
	    pc_parse_prefix(server, &session->server, why, sizeof(why)))
		return false;
	snprintf(session->client_text, sizeof(session->client_text), "%s", client);
	return true;
}

bool pc_prefix_contains(const struct pc_prefix *prefix, const struct pc_prefix *addr)
{
	unsigned int bits = prefix->len;

	if (prefix->family != addr->family)
		return false;
	for (unsigned int i = 0; bits; i++) {
		unsigned int take = bits < 8 ? bits : 8;
		__u8 mask = (__u8)(0xff << (8 - take));

		if ((prefix->addr[i] ^ addr->addr[i]) & mask)
			return false;
		bits -= take;
	}
	return true;
}

static const struct pc_prefix *list_find(const struct pc_prefix_list *list,
					 const struct pc_prefix *addr)
{
	for (size_t i = 0; i < list->count; i++)
		if (pc_prefix_contains(&list->items[i], addr))
			return &list->items[i];
	return NULL;
}

enum pc_guard_cut pc_guard_ruleset_cut(const struct pc_ruleset *rs,
				       const struct pc_ssh_session *session,
				       const struct pc_prefix **denied)
{
	const struct pc_prefix *client = &session->client;

	if (rs->mode == PC_MODE_MONITOR)
		return PC_GUARD_SURVIVES; /* counts, drops nothing */
	*denied = list_find(&rs->denied, client);
	if (*denied)
		return PC_GUARD_DENIED;
	if (list_find(&rs->trusted, client))
		return PC_GUARD_SURVIVES;
	for (size_t i = 0; i < rs->n_allows; i++) {
		const struct pc_allow *allow = &rs->allows[i];

		if (allow->proto != PC_PROTO_TCP || session->port < allow->lo ||
		    session->port > allow->hi)
			continue;
		if (!allow->sources.count || list_find(&allow->sources, client))
			return PC_GUARD_SURVIVES;
	}
	return PC_GUARD_PORT_CLOSED;
}

/*
 * Does the SSH server address live on IFNAME? When it lives on another local
 * interface the session cannot be cut by a change to IFNAME; when it is on
 * none we cannot tell, and assume the worst.
 */
static bool ssh_may_cross(const char *ifname, const struct pc_prefix *server)
{
	struct ifaddrs *addrs, *ifa;
	bool elsewhere = false, here = false;

	if (getifaddrs(&addrs))
		return true;
	for (ifa = addrs; ifa; ifa = ifa->ifa_next) {
		const void *raw;
		size_t len;

		if (!ifa->ifa_addr)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET && server->family == AF_INET) {
			raw = &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			len = 4;
		} else if (ifa->ifa_addr->sa_family == AF_INET6 && server->family == AF_INET6) {
			raw = &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
			len = 16;
		} else {
			continue;
		}
		if (memcmp(raw, server->addr, len) != 0)
			continue;
		if (strcmp(ifa->ifa_name, ifname) == 0)
			here = true;
		else
			elsewhere = true;
	}
	freeifaddrs(addrs);
	return here || !elsewhere;
}

/* The session this command runs from, if a change to IFNAME can reach it. */
static bool session_on(const char *ifname, struct pc_ssh_session *session)
{
	return pc_ssh_parse(getenv("SSH_CONNECTION"), session) &&
	       ssh_may_cross(ifname, &session->server);
}

/* The two lines of every refusal: what would be cut, and what to do instead. */
static int refuse(const char *ifname, const char *action, const char *cut, const char *remedy,
		  char *why, size_t why_len)
{
	pc_warn("%s: refusing to %s: %s.", ifname, action, cut);
	pc_warn("%s", remedy);
	if (why)
		snprintf(why, why_len, "refused by the SSH guard: %s", cut);
	return -EPERM;
}

int pc_guard_ruleset(const char *ifname, const char *verb, const struct pc_ruleset *rs,
		     char *why, size_t why_len)
{
	const struct pc_prefix *denied = NULL;
	struct pc_ssh_session s;
	char cut[256], remedy[256], prefix[64];

	if (!session_on(ifname, &s))
		return 0;
	switch (pc_guard_ruleset_cut(rs, &s, &denied)) {
	case PC_GUARD_SURVIVES:
		return 0;
	case PC_GUARD_DENIED:
		pc_prefix_format(denied, prefix, sizeof(prefix));
		snprintf(cut, sizeof(cut),
			 "this config would cut off your SSH session (%s is in 'deny from %s')",
			 s.client_text, prefix);
		snprintf(remedy, sizeof(remedy),
			 "take %s out of 'deny from' in the config (deny beats every allow), or "
			 "use --force", prefix);
		break;
	case PC_GUARD_PORT_CLOSED:
		snprintf(cut, sizeof(cut),
			 "this config would cut off your SSH session (%s -> tcp port %d is not "
			 "allowed)", s.client_text, s.port);
		snprintf(remedy, sizeof(remedy),
			 "add 'allow tcp %d' (or 'allow tcp %d from %s') to the config, or use "
			 "--force", s.port, s.port, s.client_text);
		break;
	}
	return refuse(ifname, verb, cut, remedy, why, why_len);
}

__u32 pc_live_source_flags(const struct pc_maps *maps, const struct pc_prefix *addr)
{
	struct pc_source_key key;
	__u32 set, value = 0;
	int trie;

	if (pc_maps_active_set(maps, &set))
		return 0;
	trie = pc_sources_open(maps, set);
	if (trie < 0)
		return 0;
	pc_source_key_make(&key, PC_SRC_SOURCE, 0, addr->family, addr->addr,
			   addr->family == AF_INET ? 32 : 128);
	if (bpf_map_lookup_elem(trie, &key, &value))
		value = 0;
	close(trie);
	return value;
}

bool pc_live_trusted(const struct pc_maps *maps, const struct pc_prefix *addr)
{
	__u32 value = pc_live_source_flags(maps, addr);

	return (value & PC_SRC_F_TRUST) && !(value & PC_SRC_F_DENY);
}

/* Does the live rule set drop nothing (monitor), or pass the client whatever its port? */
static bool live_lets_through(const struct pc_maps *maps, const struct pc_prefix *client)
{
	struct pc_config cfg = {};
	__u32 set;

	if (!pc_maps_active_set(maps, &set) && !pc_maps_read_config(maps, set, &cfg) &&
	    (cfg.flags & PC_CFG_MONITOR))
		return true;
	return pc_live_trusted(maps, client);
}

/* Is tcp/PORT open for CLIENT on the live rules: open to all, or CLIENT on its list? */
static bool live_port_admits(const struct pc_maps *maps, int port, const struct pc_prefix *client)
{
	struct pc_port_table *table = calloc(1, sizeof(*table));
	const struct pc_port_rule *rule;
	struct pc_source_key key;
	bool admits = true; /* when unsure, guard */
	__u32 set, value;
	int trie;

	if (!table || pc_maps_active_set(maps, &set) || pc_maps_read_ports(maps, set, table))
		goto out;
	rule = &table->rules[PC_PROTO_TCP * PC_PORTS + port];
	if (!(rule->flags & PC_PORT_SOURCE_LIMITED)) {
		admits = rule->flags & PC_PORT_ALLOWED;
		goto out;
	}
	trie = pc_sources_open(maps, set);
	if (trie < 0)
		goto out;
	pc_source_key_make(&key, PC_SRC_PORT, rule->source_list, client->family, client->addr,
			   client->family == AF_INET ? 32 : 128);
	admits = bpf_map_lookup_elem(trie, &key, &value) == 0;
	close(trie);
out:
	free(table);
	return admits;
}

int pc_guard_disallow(const char *ifname, const struct pc_maps *maps, enum pc_proto proto,
		      const struct pc_port_range *ranges, size_t n)
{
	struct pc_ssh_session s;
	char cut[256], remedy[256], action[64];
	bool closes = false;

	if (proto != PC_PROTO_TCP || !session_on(ifname, &s))
		return 0;
	for (size_t i = 0; i < n; i++)
		closes |= s.port >= ranges[i].lo && s.port <= ranges[i].hi;
	if (!closes || live_lets_through(maps, &s.client) ||
	    !live_port_admits(maps, s.port, &s.client))
		return 0;
	snprintf(action, sizeof(action), "disallow tcp %d", s.port);
	snprintf(cut, sizeof(cut), "it would cut off your SSH session (%s -> tcp port %d)",
		 s.client_text, s.port);
	snprintf(remedy, sizeof(remedy),
		 "leave tcp port %d open (or put 'allow from %s' in the config and reload first), "
		 "or use --force", s.port, s.client_text);
	return refuse(ifname, action, cut, remedy, NULL, 0);
}

int pc_guard_ban(const char *ifname, const struct pc_maps *maps, const struct pc_prefix *addr,
		 __u32 ipv6_prefix)
{
	struct pc_addr_key banned, client;
	struct pc_ssh_session s;
	char cut[256], remedy[256], action[96], text[64];

	if (!session_on(ifname, &s))
		return 0;
	pc_addr_key_make(&banned, addr->family, addr->addr, ipv6_prefix);
	pc_addr_key_make(&client, s.client.family, s.client.addr, ipv6_prefix);
	if (pc_ban_is_prefix(banned.family, addr->len, ipv6_prefix)) {
		/* A prefix ban holds whatever the prefix holds. */
		if (!pc_prefix_contains(addr, &s.client) || live_lets_through(maps, &s.client))
			return 0;
		inet_ntop(addr->family, addr->addr, text, sizeof(text));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%u", addr->len);
	} else if (memcmp(&banned, &client, sizeof(banned)) != 0 ||
		   live_lets_through(maps, &s.client)) {
		return 0;
	} else {
		pc_addr_key_format(&banned, ipv6_prefix, text, sizeof(text));
	}
	snprintf(action, sizeof(action), "ban %s", text);
	if (strcmp(text, s.client_text) == 0)
		snprintf(cut, sizeof(cut), "it would cut off your SSH session (it comes from %s)",
			 s.client_text);
	else
		snprintf(cut, sizeof(cut),
			 "it would cut off your SSH session (%s is in %s: IPv6 sources are banned "
			 "per scan-detect ipv6-prefix)", s.client_text, text);
	snprintf(remedy, sizeof(remedy), "ban another address, or use --force");
	return refuse(ifname, action, cut, remedy, NULL, 0);
}
