// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "netns.h"

/* The name under /run/netns of the namespace SELF, or "". */
static void find_name(const struct stat *self, char *name, size_t len)
{
	struct stat named;
	struct dirent *ent;
	DIR *dir = opendir("/run/netns");

	*name = '\0';
	while (dir && (ent = readdir(dir))) {
		char path[300];

		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", ent->d_name);
		if (stat(path, &named) == 0 && named.st_dev == self->st_dev &&
		    named.st_ino == self->st_ino) {
			snprintf(name, len, "%s", ent->d_name);
			break;
		}
	}
	if (dir)
		closedir(dir);
}

static struct pc_netns self_ns;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void find_self(void)
{
	struct stat self, init;

	self_ns.initial = true;
	if (stat("/proc/self/ns/net", &self))
		return; /* no namespaces to tell apart */
	self_ns.inode = self.st_ino;
	find_name(&self, self_ns.name, sizeof(self_ns.name));
	if (stat("/proc/1/ns/net", &init) == 0)
		self_ns.initial = self.st_dev == init.st_dev && self.st_ino == init.st_ino;
	else
		self_ns.initial = !self_ns.name[0];
	if (self_ns.initial)
		self_ns.name[0] = '\0';
}

const struct pc_netns *pc_netns_self(void)
{
	pthread_once(&self_once, find_self);
	return &self_ns;
}

static int fits(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int pc_netns_pin_root(const char *root, const struct pc_netns *ns, char *buf, size_t len)
{
	if (ns->initial)
		return fits(snprintf(buf, len, "%s", root), len);
	return fits(snprintf(buf, len, "%s/netns-%llu", root, ns->inode), len);
}

int pc_netns_state_dir(const char *dir, const struct pc_netns *ns, char *buf, size_t len)
{
	if (ns->initial)
		return fits(snprintf(buf, len, "%s", dir), len);
	if (!ns->name[0])
		return -ENOENT;
	return fits(snprintf(buf, len, "%s/netns-%s", dir, ns->name), len);
}
