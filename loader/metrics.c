// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prometheus text format 0.0.4. Every family is written once with its HELP
 * and TYPE, then one sample per interface (and per reason or port), so the
 * output of several interfaces stays a valid exposition. Values come from
 * pc_snapshot_read(), exactly as stats --json reads them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "log.h"
#include "audit.h"
#include "metrics.h"
#include "upgrade.h"
#include "pins.h"
#include "../maps/bans.h"
#include "../maps/snapshot.h"

#define MAX_IFACES 64

/* What the scan blocker knows about one interface. */
struct ban_counts {
	unsigned long long banned_now; /* sources banned at this moment */
	unsigned long long bans_total; /* bans since attach */
	__u64 banned_by[PC_BAN_REASONS]; /* bans in force by enum pc_ban_reason */
	__u64 made_by[PC_BAN_REASONS];   /* bans since attach by reason */
	__u64 crowdsec_sync[2];          /* decision stream polls: succeeded, failed */
	unsigned long long evictions;  /* scan bans replaced by newer ones */
};

struct iface_sample {
	char name[IF_NAMESIZE];
	bool readable; /* pins opened and counters read */
	bool present;  /* the network interface exists */
	struct pc_snapshot snap;
	struct ban_counts bans;
	const struct pc_port_row **rows; /* exported per-port rows, by proto and port */
	size_t n_rows;
	size_t omitted; /* denied ports left out by the cap */
	unsigned long exposed[PC_AUDIT_STATES]; /* ports by audit state (loader/audit.c) */
};

/* The scan blocker's numbers, as stats --json reports them under "bans". */
static void read_bans(const struct pc_snapshot *snap, struct ban_counts *bans)
{
	bans->banned_now = snap->bans_active;
	bans->bans_total = snap->scan[PC_STAT_BANS]; /* the detector's and manual ones */
	bans->evictions = snap->scan[PC_STAT_EVICTED];
	bans->made_by[PC_BAN_MANUAL] = snap->scan[PC_STAT_BANS_MANUAL];
	bans->made_by[PC_BAN_CROWDSEC] = snap->scan[PC_STAT_BANS_CROWDSEC];
	bans->made_by[PC_BAN_SCAN] = snap->scan[PC_STAT_BANS] - snap->scan[PC_STAT_BANS_MANUAL] -
				     snap->scan[PC_STAT_BANS_CROWDSEC];
	bans->crowdsec_sync[0] = snap->scan[PC_STAT_CROWDSEC_SYNC_OK];
	bans->crowdsec_sync[1] = snap->scan[PC_STAT_CROWDSEC_SYNC_FAILED];
}

static const char *const ban_reason_names[PC_BAN_REASONS] = {
	[PC_BAN_SCAN] = "scan",
	[PC_BAN_MANUAL] = "manual",
	[PC_BAN_CROWDSEC] = "crowdsec",
};

static const char *mode_name(const struct pc_config *cfg)
{
	return cfg->flags & PC_CFG_MONITOR ? "monitor" : "enforce";
}

static const char *xdp_mode_name(__u32 mode)
{
	return mode == PC_XDP_NATIVE ? "native" : mode == PC_XDP_GENERIC ? "generic" : "unknown";
}

/* Label values escape backslash, double quote and newline. */
static void label_value(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "NAME{interface="IFACE"" : the caller adds more labels, then "} VALUE". */
static void sample_start(FILE *out, const char *name, const struct iface_sample *iface)
{
	fprintf(out, "%s{interface=", name);
	label_value(out, iface->name);
}

/* Busiest denied ports first; ties in port order, so output is stable. */
static int by_drops_desc(const void *a, const void *b)
{
	const struct pc_port_row *x = *(const struct pc_port_row *const *)a;
	const struct pc_port_row *y = *(const struct pc_port_row *const *)b;

	if (x->drop.packets != y->drop.packets)
		return x->drop.packets < y->drop.packets ? 1 : -1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int by_proto_port(const void *a, const void *b)
{
	const struct pc_port_row *x = *(const struct pc_port_row *const *)a;
	const struct pc_port_row *y = *(const struct pc_port_row *const *)b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/*
 * The per-port rows to export: every allowed port, plus the CAP denied
 * ports with the most drops. Bounded cardinality whatever a scan touches.
 */
static int pick_port_rows(struct iface_sample *iface, unsigned int cap)
{
	const struct pc_snapshot *snap = &iface->snap;
	size_t n_denied = 0, n_allowed = 0;
	const struct pc_port_row **denied;

	iface->rows = calloc(snap->n_ports + 1, sizeof(*iface->rows));
	denied = calloc(snap->n_ports + 1, sizeof(*denied));
	if (!iface->rows || !denied) {
		free(denied);
		return -ENOMEM;
	}
	for (size_t i = 0; i < snap->n_ports; i++) {
		if (snap->ports[i].allowed)
			iface->rows[n_allowed++] = &snap->ports[i];
		else
			denied[n_denied++] = &snap->ports[i];
	}
	qsort(denied, n_denied, sizeof(*denied), by_drops_desc);
	if (n_denied > cap) {
		iface->omitted = n_denied - cap;
		n_denied = cap;
	}
	memcpy(iface->rows + n_allowed, denied, n_denied * sizeof(*denied));
	iface->n_rows = n_allowed + n_denied;
	qsort(iface->rows, iface->n_rows, sizeof(*iface->rows), by_proto_port);
	free(denied);
	return 0;
}

/*
 * Remember what was last said about each interface, so the exporter warns
 * once when an interface goes away or comes back, not on every scrape.
 */
enum iface_state { STATE_UNKNOWN, STATE_FINE, STATE_DETACHED, STATE_UNREADABLE, STATE_GONE };

static struct {
	char name[IF_NAMESIZE];
	int state; /* enum iface_state */
} reported[MAX_IFACES];

/* The state last reported for NAME if STATE differs from it, else -1. */
static int state_changed(const char *name, enum iface_state state)
{
	enum iface_state before;
	size_t i;

	for (i = 0; i < MAX_IFACES && reported[i].name[0]; i++)
		if (strcmp(reported[i].name, name) == 0)
			break;
	if (i == MAX_IFACES)
		return STATE_UNKNOWN;
	if (!reported[i].name[0])
		snprintf(reported[i].name, sizeof(reported[i].name), "%s", name);
	before = reported[i].state;
	if (before == state)
		return -1;
	reported[i].state = state;
	return before;
}

/* Ports by exposure, as audit counts them; none when the sockets cannot be read. */
static void read_exposure(const struct pc_maps *maps, struct iface_sample *iface)
{
	struct pc_audit audit;

	if (pc_audit_read(maps, &audit, false))
		return;
	memcpy(iface->exposed, audit.count, sizeof(iface->exposed));
	pc_audit_free(&audit);
}

static void read_iface(struct iface_sample *iface, const struct pc_metrics_opts *opts)
{
	char dir[4096], why[160];
	struct pc_maps maps;
	int err, before;

	iface->present = if_nametoindex(iface->name) != 0;
	pc_pin_dir(iface->name, dir, sizeof(dir));
	if (!pc_is_attached(iface->name)) {
		if (!opts->quiet_errors || state_changed(iface->name, STATE_DETACHED) >= 0)
			pc_warn("%s: not attached (no pins under %s)", iface->name, dir);
		return;
	}
	/* Another version's maps (before 'attach' upgrades it) would be misread. */
	if (pc_pins_compatible(iface->name, why, sizeof(why)) == -EPROTO) {
		if (!opts->quiet_errors || state_changed(iface->name, STATE_UNREADABLE) >= 0)
			pc_warn("%s: attached by another version of portcullis (%s): no counters "
				"until 'portcullis attach %s' upgrades it",
				iface->name, why, iface->name);
		return;
	}
	err = pc_maps_open_pinned(dir, &maps);
	if (!err) {
		err = pc_snapshot_read(&maps, &iface->snap);
		if (!err)
			read_bans(&iface->snap, &iface->bans);
		if (!err)
			err = pc_bans_by_reason(&maps, iface->bans.banned_by);
		if (!err)
			read_exposure(&maps, iface);
		pc_maps_close(&maps);
	}
	if (!err)
		err = pick_port_rows(iface, opts->port_series);
	if (err) {
		if (!opts->quiet_errors || state_changed(iface->name, STATE_UNREADABLE) >= 0)
			pc_warn("%s: couldn't read counters under %s: %s", iface->name, dir,
				pc_strerr(err));
		return;
	}
	iface->readable = true;
	if (!opts->quiet_errors) {
		if (!iface->present)
			pc_warn("%s: the interface no longer exists; these are its last counters",
				iface->name);
		return;
	}
	before = state_changed(iface->name, iface->present ? STATE_FINE : STATE_GONE);
	if (before >= 0 && !iface->present)
		pc_warn("%s: the interface no longer exists; reporting its last counters",
			iface->name);
	else if (before > STATE_FINE)
		pc_info("%s: attached and readable again", iface->name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct iface_sample *)a)->name,
		      ((const struct iface_sample *)b)->name);
}

/* Every interface with pins under the pin root, sorted by name. */
static int list_attached(struct iface_sample *ifaces)
{
	struct dirent *entry;
	char root[4096];
	int n = 0;
	DIR *dir = pc_pin_ns_root(root, sizeof(root)) ? NULL : opendir(root);

	while (dir && n < MAX_IFACES && (entry = readdir(dir))) {
		if (entry->d_name[0] == '.' || strlen(entry->d_name) >= IF_NAMESIZE ||
		    !pc_is_attached(entry->d_name))
			continue;
		snprintf(ifaces[n++].name, IF_NAMESIZE, "%s", entry->d_name);
	}
	if (dir)
		closedir(dir);
	qsort(ifaces, n, sizeof(*ifaces), cmp_names);
	return n;
}

/* One sample of IFACE: NAME{interface="IFACE"LABELS} VALUE. */
static void sample(FILE *out, const char *name, const struct iface_sample *iface,
		   const char *labels, unsigned long long value)
{
	sample_start(out, name, iface);
	fprintf(out, "%s} %llu\n", labels, value);
}

static void packets(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, ",verdict=\"pass\"", iface->snap.pass_total.packets);
	sample(out, name, iface, ",verdict=\"drop\"", iface->snap.drop_total.packets);
}

static void bytes(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, ",verdict=\"pass\"", iface->snap.pass_total.bytes);
	sample(out, name, iface, ",verdict=\"drop\"", iface->snap.drop_total.bytes);
}

static void drops(FILE *out, const char *name, const struct iface_sample *iface)
{
	for (int reason = 0; reason < PC_DROP_REASONS; reason++) {
		sample_start(out, name, iface);
		fprintf(out, ",reason=\"%s\"} %llu\n", pc_reason_name(reason),
			iface->snap.by_reason[reason].packets);
	}
}

static void port_counters(FILE *out, const char *name, const struct iface_sample *iface,
			  bool bytes)
{
	for (size_t r = 0; r < iface->n_rows; r++) {
		const struct pc_port_row *row = iface->rows[r];

		sample_start(out, name, iface);
		fprintf(out, ",proto=\"%s\",port=\"%u\",verdict=\"pass\"} %llu\n",
			pc_proto_name(row->proto), row->port,
			bytes ? row->pass.bytes : row->pass.packets);
		sample_start(out, name, iface);
		fprintf(out, ",proto=\"%s\",port=\"%u\",verdict=\"drop\"} %llu\n",
			pc_proto_name(row->proto), row->port,
			bytes ? row->drop.bytes : row->drop.packets);
	}
}

static void port_packets(FILE *out, const char *name, const struct iface_sample *iface)
{
	port_counters(out, name, iface, false);
}

static void port_bytes(FILE *out, const char *name, const struct iface_sample *iface)
{
	port_counters(out, name, iface, true);
}

/* One sample per ban reason of BY. */
static void by_ban_reason(FILE *out, const char *name, const struct iface_sample *iface,
			  const __u64 by[PC_BAN_REASONS])
{
	char label[32];

	for (int reason = PC_BAN_SCAN; reason < PC_BAN_REASONS; reason++) {
		snprintf(label, sizeof(label), ",reason=\"%s\"", ban_reason_names[reason]);
		sample(out, name, iface, label, by[reason]);
	}
}

static void banned_sources(FILE *out, const char *name, const struct iface_sample *iface)
{
	by_ban_reason(out, name, iface, iface->bans.banned_by);
}

static void exposed_ports(FILE *out, const char *name, const struct iface_sample *iface)
{
	char labels[32];

	for (int state = 0; state < PC_AUDIT_STATES; state++) {
		snprintf(labels, sizeof(labels), ",state=\"%s\"", pc_audit_state_names[state]);
		sample(out, name, iface, labels, iface->exposed[state]);
	}
}

static void bans_total(FILE *out, const char *name, const struct iface_sample *iface)
{
	by_ban_reason(out, name, iface, iface->bans.made_by);
}

static void crowdsec_sync(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, ",result=\"success\"", iface->bans.crowdsec_sync[0]);
	sample(out, name, iface, ",result=\"failure\"", iface->bans.crowdsec_sync[1]);
}

static void ban_evictions(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, "", iface->bans.evictions);
}

static void rate_untracked(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, "", iface->snap.scan[PC_STAT_RATE_UNTRACKED]);
}

static void reloads(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, ",result=\"success\"", iface->snap.meta.reloads_ok);
	sample(out, name, iface, ",result=\"failure\"", iface->snap.meta.reloads_failed);
}

static void info(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample_start(out, name, iface);
	fprintf(out, ",mode=\"%s\",xdp_mode=\"%s\",version=", mode_name(&iface->snap.config),
		xdp_mode_name(iface->snap.meta.xdp_mode));
	label_value(out, PORTCULLIS_VERSION);
	fputs("} 1\n", out);
}

static void interface_up(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, "", iface->readable && iface->present);
}

static void port_series_omitted(FILE *out, const char *name, const struct iface_sample *iface)
{
	sample(out, name, iface, "", iface->omitted);
}

/* Every family, in the order of the exposition; one function writes an interface's samples. */
static const struct metric_family {
	const char *name, *type, *help;
	void (*write)(FILE *out, const char *name, const struct iface_sample *iface);
	bool unreadable_too; /* also for interfaces whose counters could not be read */
} families[] = {
	{ "portcullis_packets_total", "counter", "Packets seen by the XDP filter, by verdict.",
	  packets, false },
	{ "portcullis_bytes_total", "counter",
	  "Bytes (whole frames) seen by the XDP filter, by verdict.", bytes, false },
	{ "portcullis_drops_total", "counter",
	  "Dropped packets by reason (in monitor mode: would have been dropped).", drops, false },
	{ "portcullis_port_packets_total", "counter",
	  "Packets per destination port and verdict: allowed ports and the busiest denied ones.",
	  port_packets, false },
	{ "portcullis_port_bytes_total", "counter",
	  "Bytes per destination port and verdict: allowed ports and the busiest denied ones.",
	  port_bytes, false },
	{ "portcullis_banned_sources", "gauge", "Bans in force (addresses and prefixes), by reason.",
	  banned_sources, false },
	{ "portcullis_bans_total", "counter",
	  "Bans made since attach, by reason: scan detector, by hand, CrowdSec.", bans_total, false },
	{ "portcullis_crowdsec_sync_total", "counter",
	  "Polls of the CrowdSec decision stream, by result.", crowdsec_sync, false },
	{ "portcullis_ban_evictions_total", "counter",
	  "Scan bans replaced by newer ones because the ban table was full.", ban_evictions, false },
	{ "portcullis_rate_untracked_total", "counter",
	  "Packets to rate-limited ports passed untracked: no room in the bucket table.",
	  rate_untracked, false },
	{ "portcullis_exposed_ports", "gauge",
	  "Ports by exposure (as 'portcullis audit'): listening and allowed to every source "
	  "(exposed) or to some (limited), listening and not allowed (hidden), allowed with "
	  "nothing listening (idle).",
	  exposed_ports, false },
	{ "portcullis_config_reloads_total", "counter", "Config reloads since attach, by result.",
	  reloads, false },
	{ "portcullis_info", "gauge", "Always 1: the filter's mode, XDP attach mode and version.",
	  info, false },
	{ "portcullis_interface_up", "gauge",
	  "1 when the interface exists and its counters were read, else 0.", interface_up, true },
	{ "portcullis_port_series_omitted", "gauge",
	  "Denied ports with drops left out of the per-port series by the cap.",
	  port_series_omitted, false },
};

static void write_families(FILE *out, const struct iface_sample *ifaces, int n)
{
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		family(out, families[f].name, families[f].type, families[f].help);
		for (int i = 0; i < n; i++)
			if (ifaces[i].readable || families[f].unreadable_too)
				families[f].write(out, families[f].name, &ifaces[i]);
	}
}

int pc_metrics_write(FILE *out, char *const *ifnames, int n, const struct pc_metrics_opts *opts)
{
	struct iface_sample *ifaces = calloc(MAX_IFACES, sizeof(*ifaces));
	int unreadable = 0, err = 0;

	if (!ifaces)
		return -ENOMEM;
	if (n > MAX_IFACES)
		n = MAX_IFACES;
	if (n == 0)
		n = list_attached(ifaces);
	else
		for (int i = 0; i < n; i++)
			snprintf(ifaces[i].name, IF_NAMESIZE, "%s", ifnames[i]);

	for (int i = 0; i < n; i++) {
		read_iface(&ifaces[i], opts);
		unreadable += !ifaces[i].readable;
	}
	write_families(out, ifaces, n);

	for (int i = 0; i < n; i++) {
		free(ifaces[i].rows);
		pc_snapshot_free(&ifaces[i].snap);
	}
	free(ifaces);
	if (fflush(out) || ferror(out))
		err = -EIO;
	return err ? err : unreadable ? -ENOENT : 0;
}

int pc_metrics_render(char **text, size_t *len, char *const *ifnames, int n,
		      const struct pc_metrics_opts *opts)
{
	FILE *out = open_memstream(text, len);
	int err;

	if (!out)
		return -errno;
	err = pc_metrics_write(out, ifnames, n, opts);
	if (fclose(out) && !err)
		err = -EIO;
	return err;
}
