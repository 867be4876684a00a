// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Where a namespace's state lives and whether a pinned link still filters:
 * the pure parts of pins per network namespace and of recreated interfaces.
 */
#include <errno.h>

#include "testing.h"
#include "../../loader/netns.h"
#include "../../loader/pins.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct pc_netns initial = { .initial = true, .inode = 4026531840ULL };
static const struct pc_netns named = { .inode = 4026532301ULL, .name = "web" };
static const struct pc_netns unnamed = { .inode = 4026532999ULL };

struct path_case {
	const char *name;
	const struct pc_netns *ns;
	const char *want_pins;
	int want_state_err;
	const char *want_state;
};

static const struct path_case path_cases[] = {
	{ "the initial namespace keeps today's paths", &initial, "/sys/fs/bpf/portcullis", 0,
	  "/var/lib/portcullis" },
	{ "a named namespace: pins by inode, bans by name", &named,
	  "/sys/fs/bpf/portcullis/netns-4026532301", 0, "/var/lib/portcullis/netns-web" },
	{ "a namespace without a name: pins by inode, no state file", &unnamed,
	  "/sys/fs/bpf/portcullis/netns-4026532999", -ENOENT, NULL },
};

static void path_case(const struct path_case *c)
{
	char buf[256];

	test_begin("%s", c->name);
	if (CHECK_INT(pc_netns_pin_root("/sys/fs/bpf/portcullis", c->ns, buf, sizeof(buf)), 0))
		CHECK_STR(buf, c->want_pins);
	if (CHECK_INT(pc_netns_state_dir("/var/lib/portcullis", c->ns, buf, sizeof(buf)),
		      c->want_state_err) &&
	    c->want_state)
		CHECK_STR(buf, c->want_state);
	test_end();
}

static void too_long(void)
{
	char buf[20];

	test_begin("a path that does not fit is -ENAMETOOLONG, not cut short");
	CHECK_INT(pc_netns_pin_root("/sys/fs/bpf/portcullis", &named, buf, sizeof(buf)),
		  -ENAMETOOLONG);
	CHECK_INT(pc_netns_state_dir("/var/lib/portcullis", &named, buf, sizeof(buf)),
		  -ENAMETOOLONG);
	test_end();
}

struct link_case {
	const char *name;
	unsigned int link_ifindex, current;
	enum pc_link_state want;
};

static const struct link_case link_cases[] = {
	{ "the link is on the interface of that name", 7, 7, PC_LINK_FILTERING },
	{ "deleted and created again: the link went with the old one", 0, 9, PC_LINK_RECREATED },
	{ "the name now belongs to another interface", 7, 9, PC_LINK_RECREATED },
	{ "no interface of that name", 0, 0, PC_LINK_GONE },
	{ "no interface of that name, the link on another", 7, 0, PC_LINK_GONE },
};

static void link_case(const struct link_case *c)
{
	test_begin("link state: %s", c->name);
	CHECK_INT(pc_link_state_of(c->link_ifindex, c->current), c->want);
	test_end();
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(path_cases); i++)
		path_case(&path_cases[i]);
	too_long();
	for (size_t i = 0; i < ARRAY_SIZE(link_cases); i++)
		link_case(&link_cases[i]);
	return test_failures ? 1 : 0;
}
