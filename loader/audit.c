// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * audit IFACE [--json]: which ports this host exposes, without a scan. The
 * namespace's TCP listeners and unconnected UDP sockets (sock_diag netlink,
 * IPv4 and IPv6) held against the live rules:
 *
 *   exposed  listening, allowed from every source
 *   limited  listening, allowed for some sources only
 *   hidden   listening, not allowed
 *   idle     allowed, nothing listening
 *
 * Sockets bound to a loopback address are not reachable through an
 * interface and are left out. The owning process comes from /proc/PID/fd,
 * where /proc lets us read it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "audit.h"
#include "commands.h"
#include "log.h"
#include "pins.h"
#include "rules.h"

#define TCP_LISTEN_STATE 10
#define PROCESS_LEN	 300

struct listener {
	enum pc_proto proto;
	__u16 port; /* host order */
	__u32 inode;
	char process[PROCESS_LEN]; /* "sshd[812]", "" if unknown */
};

struct listeners {
	struct listener *items;
	size_t n, cap;
};

static bool loopback(int family, const __u32 *addr)
{
	static const __u32 v6_loopback[4] = { 0, 0, 0, 0x01000000 };

	if (family == AF_INET)
		return (ntohl(addr[0]) >> 24) == 127;
	return memcmp(addr, v6_loopback, 16) == 0 && htonl(1) == 0x01000000;
}

static int add_listener(struct listeners *l, enum pc_proto proto, const struct inet_diag_msg *msg)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct listener *grown = realloc(l->items, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		l->items = grown;
		l->cap = cap;
	}
	l->items[l->n] = (struct listener){ .proto = proto,
					    .port = ntohs(msg->id.idiag_sport),
					    .inode = msg->idiag_inode };
	l->n++;
	return 0;
}

/* One sock_diag dump: FAMILY x PROTO, listeners (TCP) or unconnected sockets (UDP). */
static int dump_sockets(int family, enum pc_proto proto, struct listeners *l)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} request = {
		.nlh = { .nlmsg_len = sizeof(request),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = family,
			 .sdiag_protocol = proto == PC_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP,
			 .idiag_states = proto == PC_PROTO_TCP ? 1U << TCP_LISTEN_STATE : ~0U },
	};
	static __u8 buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), err = 0;
	bool done = false;

	if (fd < 0)
		return -errno;
	if (send(fd, &request, sizeof(request), 0) < 0)
		err = -errno;
	while (!err && !done) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh = (void *)buf;

		if (len < 0) {
			err = -errno;
			break;
		}
		for (; NLMSG_OK(nlh, len) && !err; nlh = NLMSG_NEXT(nlh, len)) {
			const struct inet_diag_msg *msg = NLMSG_DATA(nlh);

			if (nlh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				err = e->error ? e->error : -EPROTO;
				break;
			}
			/* UDP: a socket connected to a peer is not a listener. */
			if (proto == PC_PROTO_UDP && msg->id.idiag_dport)
				continue;
			if (loopback(family, msg->id.idiag_src))
				continue;
			err = add_listener(l, proto, msg);
		}
	}
	close(fd);
	return err;
}

/* "sshd[812]" for every listener whose socket inode a readable /proc/PID/fd holds. */
static void find_processes(struct listeners *l)
{
	DIR *proc = opendir("/proc"), *fds;
	struct dirent *p, *f;
	char path[600], link[64], comm[32];

	while (proc && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		while (fds && (f = readdir(fds))) {
			unsigned long inode;
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (sscanf(link, "socket:[%lu]", &inode) != 1)
				continue;
			for (size_t i = 0; i < l->n; i++) {
				FILE *c;

				if (l->items[i].inode != inode || l->items[i].process[0])
					continue;
				snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
				c = fopen(path, "r");
				if (!c || !fgets(comm, sizeof(comm), c))
					snprintf(comm, sizeof(comm), "?");
				if (c)
					fclose(c);
				comm[strcspn(comm, "\n")] = '\0';
				snprintf(l->items[i].process, PROCESS_LEN, "%s[%s]", comm,
					 p->d_name);
			}
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
}

static int cmp_listener(const void *a, const void *b)
{
	const struct listener *x = a, *y = b;

	if (x->proto != y->proto)
		return (int)x->proto - (int)y->proto;
	return (int)x->port - (int)y->port;
}

const char *const pc_audit_state_names[PC_AUDIT_STATES] = {
	[PC_AUDIT_EXPOSED] = "exposed",
	[PC_AUDIT_LIMITED] = "limited",
	[PC_AUDIT_HIDDEN] = "hidden",
	[PC_AUDIT_IDLE] = "idle",
};

static int row_add(struct pc_audit *a, enum pc_proto proto, __u16 lo, __u16 hi,
		   enum pc_audit_state state, const char *process)
{
	struct pc_audit_row *row;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct pc_audit_row *grown = realloc(a->rows, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		a->rows = grown;
		a->cap = cap;
	}
	row = &a->rows[a->n++];
	*row = (struct pc_audit_row){ .proto = proto, .port = lo, .port_end = hi, .state = state };
	snprintf(row->process, sizeof(row->process), "%s", process);
	return 0;
}

/* The allow entry of RS that opens PROTO/PORT, or NULL. */
static const struct pc_allow *allow_of(const struct pc_ruleset *rs, enum pc_proto proto, __u16 port)
{
	for (size_t i = 0; i < rs->n_allows; i++)
		if (rs->allows[i].proto == proto && rs->allows[i].lo <= port &&
		    port <= rs->allows[i].hi)
			return &rs->allows[i];
	return NULL;
}

static bool listening_in(const struct listeners *l, enum pc_proto proto, __u16 lo, __u16 hi)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].proto == proto && l->items[i].port >= lo && l->items[i].port <= hi)
			return true;
	return false;
}

int pc_audit_read(const struct pc_maps *maps, struct pc_audit *a, bool processes)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct listeners l = {};
	struct pc_ruleset rs;
	__u32 set;
	int err;

	memset(a, 0, sizeof(*a));
	err = pc_maps_active_set(maps, &set);
	if (!err)
		err = pc_rules_read(maps, set, &rs);
	if (err)
		return err;
	for (int f = 0; f < 2 && !err; f++)
		for (int proto = 0; proto < PC_PROTOS && !err; proto++)
			err = dump_sockets(families[f], proto, &l);
	if (!err) {
		if (processes)
			find_processes(&l);
		if (l.n)
			qsort(l.items, l.n, sizeof(*l.items), cmp_listener);
	}
	/* One row per listening port; IPv4 and IPv6 sockets of a port share it. */
	for (size_t i = 0; i < l.n && !err; i++) {
		const struct listener *s = &l.items[i];
		const struct pc_allow *allow;
		char process[PC_AUDIT_PROCESS_LEN] = "";
		size_t used = 0;
		size_t k = i;

		for (; k < l.n && l.items[k].proto == s->proto && l.items[k].port == s->port; k++) {
			const char *name = l.items[k].process;

			if (!name[0] || strstr(process, name))
				continue;
			used += snprintf(process + used, sizeof(process) - used, "%s%s",
					 used ? "," : "", name);
			if (used >= sizeof(process))
				break;
		}
		allow = allow_of(&rs, s->proto, s->port);
		err = row_add(a, s->proto, s->port, s->port,
			      !allow		     ? PC_AUDIT_HIDDEN
			      : allow->sources.count ? PC_AUDIT_LIMITED
						     : PC_AUDIT_EXPOSED,
			      process);
		i = k - 1;
	}
	/* Allowed with nothing listening: single ports one by one, a range as one row. */
	for (size_t i = 0; i < rs.n_allows && !err; i++) {
		const struct pc_allow *allow = &rs.allows[i];

		if (allow->lo == allow->hi) {
			if (!listening_in(&l, allow->proto, allow->lo, allow->lo))
				err = row_add(a, allow->proto, allow->lo, allow->lo, PC_AUDIT_IDLE,
					      "");
		} else if (!listening_in(&l, allow->proto, allow->lo, allow->hi)) {
			err = row_add(a, allow->proto, allow->lo, allow->hi, PC_AUDIT_IDLE, "");
		}
	}
	for (size_t i = 0; i < a->n; i++)
		a->count[a->rows[i].state] += a->rows[i].port_end - a->rows[i].port + 1;
	free(l.items);
	pc_ruleset_free(&rs);
	if (err)
		pc_audit_free(a);
	return err;
}

void pc_audit_free(struct pc_audit *a)
{
	free(a->rows);
	memset(a, 0, sizeof(*a));
}

int pc_cmd_audit(const char *ifname, bool json)
{
	struct pc_maps maps;
	struct pc_audit a;
	int err;

	if (pc_open_iface(ifname, &maps))
		return PC_EXIT_FAILURE;
	err = pc_audit_read(&maps, &a, true);
	pc_maps_close(&maps);
	if (err) {
		pc_warn("%s: audit failed: %s", ifname, pc_strerr(err));
		return PC_EXIT_FAILURE;
	}
	if (json)
		printf("[");
	else
		printf("%-5s %-11s %-8s %s\n", "PROTO", "PORT", "STATE", "PROCESS");
	for (size_t i = 0; i < a.n; i++) {
		const struct pc_audit_row *r = &a.rows[i];
		char port[16];

		if (json) {
			printf("%s\n  {\"proto\": \"%s\", \"port\": %u, ", i ? "," : "",
			       pc_proto_name(r->proto), r->port);
			if (r->port_end != r->port)
				printf("\"port_end\": %u, ", r->port_end);
			printf("\"state\": \"%s\", \"process\": ", pc_audit_state_names[r->state]);
			if (r->process[0])
				json_string(r->process);
			else
				printf("null");
			printf("}");
			continue;
		}
		if (r->port_end != r->port)
			snprintf(port, sizeof(port), "%u-%u", r->port, r->port_end);
		else
			snprintf(port, sizeof(port), "%u", r->port);
		printf("%-5s %-11s %-8s %s\n", pc_proto_name(r->proto), port,
		       pc_audit_state_names[r->state], r->process[0] ? r->process : "-");
	}
	if (json)
		printf("%s]\n", a.n ? "\n" : "");
	pc_audit_free(&a);
	return PC_EXIT_OK;
}
