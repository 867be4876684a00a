// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The CrowdSec bouncer and signal source (see crowdsec.h).
 *
 * Why a thread and libcurl's easy interface, not the multi interface in
 * run's poll loop: applying a startup answer of tens of thousands of
 * decisions is map work of its own (tens of milliseconds), and the push
 * side needs a login, a post and backoff; a thread keeps all of it out of
 * the loop that handles signals, reloads and the pins, with plain blocking
 * code bounded by curl's timeouts, and stops at once on pc_crowdsec_stop()
 * (curl's progress callback aborts a request in flight).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "crowdsec.h"
#include "log.h"
#include "pins.h"
#include "../maps/bans.h"

#define NSEC_PER_SEC 1000000000ULL
#define SCENARIO     "portcullis/port-scan"
/* An HTTP request gives up after this long: the LAPI is down or hung. */
#define CONNECT_TIMEOUT_MS 3000L
#define REQUEST_TIMEOUT_MS 20000L
/* Failures are said when they start, then this often while they last. */
#define REPEAT_FAILURE_NS (300 * NSEC_PER_SEC)
/* Alerts per POST, and alerts kept while the LAPI cannot take them. */
#define PUSH_BATCH	    50
#define PUSH_QUEUE_MAX	    10000
#define PUSH_BACKOFF_MAX_NS (300 * NSEC_PER_SEC)
/* How often the thread looks for new scan bans to push. */
#define TICK_NS (1 * NSEC_PER_SEC)

/* A side's failure state, for logging transitions rather than every poll. */
struct health {
	bool failing;
	__u64 said_ns; /* when the failure was last logged */
};

struct pc_crowdsec {
	char ifname[64];
	struct pc_crowdsec_config cfg;
	char key[256]; /* the bouncer's API key */
	char login[256], password[256], push_url[PC_CROWDSEC_TEXT_MAX];
	char token[2048]; /* the machine's JWT, "" until logged in */
	struct pc_maps maps;
	__u32 ipv6_prefix;

	/* bouncer */
	bool startup; /* the next poll asks for everything */
	__u64 next_poll_ns;
	struct health pull;

	/* push */
	struct pc_ban_entry *queue; /* scan bans not posted yet, oldest first */
	size_t queued;
	__u64 ring_seen; /* pc_ban_state.scan_next already looked at */
	__u64 next_push_ns, backoff_ns;
	struct health push;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
};

/* One line to stderr and syslog, as run's own. */
static void __attribute__((format(printf, 3, 4)))
say(const struct pc_crowdsec *cs, int priority, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: crowdsec: ", cs->ifname);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	pc_log(priority <= LOG_WARNING ? PC_LOG_WARN : PC_LOG_INFO, "%s", line);
	syslog(priority, "%s", line);
}

static bool stopping(struct pc_crowdsec *cs)
{
	bool stop;

	pthread_mutex_lock(&cs->lock);
	stop = cs->stopping;
	pthread_mutex_unlock(&cs->lock);
	return stop;
}

/* ---- files -------------------------------------------------------------------------- */

/* The first line of PATH, trimmed, into OUT. */
static int read_key(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char *end;

	if (!f)
		return -errno;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	for (end = out + strlen(out); end > out && (end[-1] == '\n' || end[-1] == '\r' ||
						    end[-1] == ' ' || end[-1] == '\t');)
		*--end = '\0';
	return out[0] ? 0 : -ENODATA;
}

/*
 * cscli's machine credentials (machines add -f): three "key: value" lines,
 * url, login and password. Only those plain scalars are read.
 */
static int read_credentials(struct pc_crowdsec *cs, const char *path)
{
	char line[1024], *value, *end;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		value = strchr(line, ':');
		if (!value)
			continue;
		*value++ = '\0';
		value += strspn(value, " \t\"'");
		end = value + strlen(value);
		while (end > value && strchr(" \t\r\n\"'", end[-1]))
			*--end = '\0';
		if (strcmp(line, "url") == 0)
			snprintf(cs->push_url, sizeof(cs->push_url), "%s", value);
		else if (strcmp(line, "login") == 0)
			snprintf(cs->login, sizeof(cs->login), "%s", value);
		else if (strcmp(line, "password") == 0)
			snprintf(cs->password, sizeof(cs->password), "%s", value);
	}
	fclose(f);
	return cs->push_url[0] && cs->login[0] && cs->password[0] ? 0 : -ENODATA;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

struct body {
	char *data;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ctx)
{
	struct body *body = ctx;
	char *grown = realloc(body->data, body->len + size * n + 1);

	if (!grown)
		return 0;
	memcpy(grown + body->len, ptr, size * n);
	body->len += size * n;
	grown[body->len] = '\0';
	body->data = grown;
	return size * n;
}

/* Abandons a request in flight when the service stops. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	return stopping(ctx);
}

/*
 * One request: BASE + PATH, POST when POST_BODY is not NULL, one extra
 * header HEADER (may be NULL). The answer goes to *ANSWER (free it), the
 * status to *STATUS; returns 0, or -EIO with WHY.
 */
static int http(struct pc_crowdsec *cs, const char *base, const char *path, const char *header,
		const char *post_body, struct body *answer, long *status, char *why, size_t why_len)
{
	char url[PC_CROWDSEC_TEXT_MAX + 128], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURL *curl = curl_easy_init();
	CURLcode res;

	answer->data = NULL;
	answer->len = 0;
	*status = 0;
	if (!curl) {
		snprintf(why, why_len, "curl_easy_init failed");
		return -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s%s%s", base,
		 base[0] && base[strlen(base) - 1] == '/' ? "" : "/", path);
	if (header)
		headers = curl_slist_append(headers, header);
	headers = curl_slist_append(headers, "User-Agent: portcullis/" PORTCULLIS_VERSION);
	if (post_body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, cs);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	res = curl_easy_perform(curl);
	if (res == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	else
		snprintf(why, why_len, "%.300s: %s", url,
			 errbuf[0] ? errbuf : curl_easy_strerror(res));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (res != CURLE_OK)
		return -EIO;
	if (*status < 200 || *status >= 300) {
		snprintf(why, why_len, "%.300s: HTTP %ld%s%.200s", url, *status,
			 answer->data ? ": " : "", answer->data ? answer->data : "");
		return -EIO;
	}
	return 0;
}

/* Logs a side's failure when it starts and every few minutes; and its recovery. */
static void health(struct pc_crowdsec *cs, struct health *h, const char *side, int err,
		   const char *why)
{
	__u64 now = pc_now_ns();

	if (!err) {
		if (h->failing)
			say(cs, LOG_NOTICE, "%s works again", side);
		h->failing = false;
		return;
	}
	if (!h->failing || now - h->said_ns >= REPEAT_FAILURE_NS) {
		say(cs, LOG_ERR, "%s failed: %s%s", side, why,
		    h->failing ? " (still failing)" : "; filtering goes on, retrying");
		h->said_ns = now;
	}
	h->failing = true;
}

/* ---- durations -------------------------------------------------------------------------- */

int pc_crowdsec_parse_duration(const char *text, __s64 *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 },   { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
		{ "ms", 1e6 }, { "s", 1e9 },  { "m", 60e9 },	    { "h", 3600e9 },
	};
	bool negative = false;
	double total = 0;
	const char *at = text;

	if (*at == '-' || *at == '+')
		negative = *at++ == '-';
	if (!*at)
		return -EINVAL;
	if (strcmp(at, "0") == 0) {
		*ns = 0;
		return 0;
	}
	while (*at) {
		char *end;
		double value = strtod(at, &end);
		size_t best = 0, u_best = 0;

		if (end == at || *at == '-' || *at == '+' || value < 0)
			return -EINVAL;
		at = end;
		/* The longest unit that matches: "ms" before "m". */
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t n = strlen(units[u].unit);

			if (strncmp(at, units[u].unit, n) == 0 && n > best) {
				best = n;
				u_best = u;
			}
		}
		if (!best)
			return -EINVAL;
		total += value * units[u_best].ns;
		at += best;
	}
	if (total > 9.2e18)
		return -ERANGE;
	*ns = negative ? -(__s64)total : (__s64)total;
	return 0;
}

/* ---- the bouncer ------------------------------------------------------------------------ */

static const char *json_string(json_object *obj, const char *key)
{
	json_object *value;

	if (!json_object_object_get_ex(obj, key, &value) ||
	    !json_object_is_type(value, json_type_string))
		return NULL;
	return json_object_get_string(value);
}

/*
 * A decision as a ban entry: type ban, scope Ip or Range, a value we can
 * hold. 1 when it is one, 0 when it is none of ours (another type or
 * scope, an address we do not ban), -EINVAL when it is malformed.
 */
static int decision_entry(const struct pc_crowdsec *cs, json_object *decision, __u64 now,
			  struct pc_ban_entry *entry, __s64 *left_ns)
{
	const char *type = json_string(decision, "type"), *scope = json_string(decision, "scope");
	const char *value = json_string(decision, "value");
	const char *duration = json_string(decision, "duration");
	struct pc_prefix prefix;
	char why[256];

	if (!type || !scope || !value)
		return -EINVAL;
	if (strcasecmp(type, "ban") != 0 ||
	    (strcasecmp(scope, "ip") != 0 && strcasecmp(scope, "range") != 0))
		return 0;
	if (pc_parse_prefix(value, &prefix, why, sizeof(why)))
		return 0;
	*left_ns = 0;
	if (duration && pc_crowdsec_parse_duration(duration, left_ns))
		return -EINVAL;
	pc_ban_entry_make(entry, prefix.family, prefix.addr, prefix.len, cs->ipv6_prefix);
	entry->ban.reason = PC_BAN_CROWDSEC;
	entry->ban.created_ns = entry->ban.first_ns = now;
	entry->ban.expires_ns = now + (__u64)(*left_ns > 0 ? *left_ns : 0);
	return 1;
}

static int by_key(const void *a, const void *b)
{
	return memcmp(a, b, offsetof(struct pc_ban_entry, ban));
}

/*
 * Decisions to ban: a ban of another reason that lasts as long stays as it
 * is (a scan ban this host made and pushed comes back as a decision), so
 * does one of a manual 'ban'; anything else becomes or renews a crowdsec ban.
 */
static bool takes_over(const struct pc_maps *maps, const struct pc_ban_entry *want)
{
	struct pc_ban_entry have = *want;

	if (pc_ban_entry_lookup(maps, &have))
		return true;
	if (have.ban.reason == PC_BAN_CROWDSEC)
		return true;
	if (have.ban.reason == PC_BAN_MANUAL)
		return false;
	return have.ban.expires_ns < want->ban.expires_ns;
}

/* Lifts the crowdsec bans in force that ACTIVE (sorted) does not hold. */
static size_t lift_stale(struct pc_crowdsec *cs, const struct pc_ban_entry *active, size_t n)
{
	struct pc_ban_entry *list = NULL, *stale = NULL;
	size_t n_list = 0, n_stale = 0, cap = 0, removed = 0;

	if (pc_bans_list(&cs->maps, false, &list, &n_list, NULL, NULL))
		return 0;
	for (size_t i = 0; i < n_list; i++)
		if (list[i].ban.reason == PC_BAN_CROWDSEC &&
		    !(n && bsearch(&list[i], active, n, sizeof(*active), by_key)))
			pc_ban_entries_push(&stale, &n_stale, &cap, &list[i]);
	pc_bans_remove_many(&cs->maps, stale, n_stale, &removed);
	free(list);
	free(stale);
	return removed;
}

/* Applies one answer of the stream. Returns 0 or -EINVAL (not the stream's shape). */
static int apply_stream(struct pc_crowdsec *cs, const char *text, bool startup)
{
	struct pc_ban_entry *add = NULL, *del = NULL, entry;
	size_t n_add = 0, n_del = 0, cap_add = 0, cap_del = 0, added = 0, failed = 0, removed = 0,
	       stale = 0, bad = 0;
	json_object *root = json_tokener_parse(text), *list;
	__u64 now = pc_now_ns();
	__s64 left;
	int err = 0;

	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EINVAL;
	}
	if (json_object_object_get_ex(root, "new", &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list) && !err; i++) {
			int got = decision_entry(cs, json_object_array_get_idx(list, i), now,
						 &entry, &left);

			bad += got < 0;
			if (got == 1 && left > 0 && takes_over(&cs->maps, &entry))
				err = pc_ban_entries_push(&add, &n_add, &cap_add, &entry);
		}
	if (json_object_object_get_ex(root, "deleted", &list) &&
	    json_object_is_type(list, json_type_array))
		for (size_t i = 0; i < json_object_array_length(list) && !err; i++) {
			struct pc_ban_entry have;
			int got = decision_entry(cs, json_object_array_get_idx(list, i), now,
						 &entry, &left);

			bad += got < 0;
			have = entry;
			/* Only a crowdsec ban is lifted by a deleted decision. */
			if (got == 1 && !pc_ban_entry_lookup(&cs->maps, &have) &&
			    have.ban.reason == PC_BAN_CROWDSEC)
				err = pc_ban_entries_push(&del, &n_del, &cap_del, &entry);
		}
	json_object_put(root);
	if (!err && n_del)
		err = pc_bans_remove_many(&cs->maps, del, n_del, &removed);
	if (!err && n_add) {
		pc_bans_add_many(&cs->maps, add, n_add, &added, &failed);
		pc_bans_count_made(&cs->maps, PC_BAN_CROWDSEC, added);
	}
	if (!err && startup) {
		if (n_add)
			qsort(add, n_add, sizeof(*add), by_key);
		/* Decisions that ended while nobody listened: the startup answer
		 * lists every decision in force, so any other crowdsec ban is stale. */
		stale = lift_stale(cs, add, n_add);
	}
	if (bad)
		say(cs, LOG_WARNING, "%zu malformed decisions ignored", bad);
	if (failed)
		say(cs, LOG_WARNING, "%zu of %zu decisions could not be applied (ban tables full?)",
		    failed, n_add);
	if (startup || added || removed || stale)
		say(cs, LOG_INFO, "decisions %s: %zu bans (%zu new), %zu lifted in %llu ms",
		    startup ? "synced" : "updated", n_add - failed, added, removed + stale,
		    (unsigned long long)((pc_now_ns() - now) / 1000000));
	free(add);
	free(del);
	return err;
}

/* One poll of the decision stream. */
static void pull(struct pc_crowdsec *cs)
{
	char header[300], why[600] = "";
	struct body answer;
	long status;
	int err;

	snprintf(header, sizeof(header), "X-Api-Key: %s", cs->key);
	err = http(cs, cs->cfg.url,
		   cs->startup ? "v1/decisions/stream?startup=true" : "v1/decisions/stream", header,
		   NULL, &answer, &status, why, sizeof(why));
	if (!err && apply_stream(cs, answer.data ? answer.data : "", cs->startup)) {
		snprintf(why, sizeof(why), "the decision stream's answer is not its JSON");
		err = -EINVAL;
	}
	free(answer.data);
	if (stopping(cs))
		return;
	/* After a failure, ask for everything again: a delta may have been lost. */
	cs->startup = err != 0;
	pc_bans_count_stat(&cs->maps, err ? PC_STAT_CROWDSEC_SYNC_FAILED : PC_STAT_CROWDSEC_SYNC_OK,
			   1);
	health(cs, &cs->pull, "decision stream", err, why);
}

/* ---- the signal source ------------------------------------------------------------------ */

/* New scan bans since the last look, from the data path's ring of them. */
static void collect_scan_bans(struct pc_crowdsec *cs)
{
	struct pc_ban_state state;
	struct pc_ring_slot slot;
	struct pc_ban_entry entry = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(cs->maps.ban_state, &zero, &state))
		return;
	if (state.scan_next - cs->ring_seen > PC_SCAN_BANS_MAX)
		cs->ring_seen = state.scan_next - PC_SCAN_BANS_MAX;
	for (; cs->ring_seen < state.scan_next; cs->ring_seen++) {
		__u32 index = cs->ring_seen % PC_SCAN_BANS_MAX;

		if (bpf_map_lookup_elem(cs->maps.scan_ring, &index, &slot) ||
		    slot.ring_pos != cs->ring_seen)
			continue;
		entry.key = slot.source;
		if (bpf_map_lookup_elem(cs->maps.bans, &entry.key, &entry.ban) ||
		    entry.ban.reason != PC_BAN_SCAN || entry.ban.ring_pos != cs->ring_seen)
			continue;
		if (cs->queued == PUSH_QUEUE_MAX) {
			/* The LAPI has been away a long time: the oldest go unreported. */
			memmove(cs->queue, cs->queue + 1,
				(PUSH_QUEUE_MAX - 1) * sizeof(*cs->queue));
			cs->queued--;
		}
		cs->queue[cs->queued++] = entry;
	}
}

/* RFC 3339 UTC of a data-path time (CLOCK_MONOTONIC ns). */
static void rfc3339(__u64 mono_ns, __u64 now_mono, char *buf, size_t len)
{
	time_t t = time(NULL) -
		   (time_t)((now_mono - (mono_ns < now_mono ? mono_ns : now_mono)) / NSEC_PER_SEC);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_meta(json_object *array, const char *key, const char *value)
{
	json_object *item = json_object_new_object();

	json_object_object_add(item, "key", json_object_new_string(key));
	json_object_object_add(item, "value", json_object_new_string(value));
	json_object_array_add(array, item);
}

/* One scan ban as a Local API alert with a ban decision of its remaining time. */
static json_object *alert_of(const struct pc_crowdsec *cs, const struct pc_ban_entry *entry,
			     __u64 now)
{
	const struct pc_ban *ban = &entry->ban;
	json_object *alert = json_object_new_object(), *source = json_object_new_object();
	json_object *decision = json_object_new_object(), *decisions = json_object_new_array();
	json_object *event = json_object_new_object(), *events = json_object_new_array();
	json_object *meta = json_object_new_array(), *event_meta = json_object_new_array();
	char addr[64], text[256], start[32], stop[32], number[32], last[32];
	bool range = entry->key.family == PC_SRC_FAMILY_V6 && cs->ipv6_prefix < 128;
	__u64 left = ban->expires_ns > now ? (ban->expires_ns - now) / NSEC_PER_SEC : 1;

	pc_ban_entry_format(entry, cs->ipv6_prefix, addr, sizeof(addr));
	rfc3339(ban->first_ns ? ban->first_ns : ban->created_ns, now, start, sizeof(start));
	rfc3339(ban->created_ns, now, stop, sizeof(stop));
	snprintf(last, sizeof(last), "%s/%u", pc_proto_name(ban->last_proto), ban->last_port);
	snprintf(text, sizeof(text), "portcullis %s: %s probed %u closed ports (last %s)",
		 cs->ifname, addr, ban->ports, last);

	json_object_object_add(source, "scope", json_object_new_string(range ? "Range" : "Ip"));
	json_object_object_add(source, "value", json_object_new_string(addr));
	json_object_object_add(source, range ? "range" : "ip", json_object_new_string(addr));

	snprintf(number, sizeof(number), "%llus", (unsigned long long)left);
	json_object_object_add(decision, "duration", json_object_new_string(number));
	json_object_object_add(decision, "origin", json_object_new_string("crowdsec"));
	json_object_object_add(decision, "scenario", json_object_new_string(SCENARIO));
	json_object_object_add(decision, "scope", json_object_new_string(range ? "Range" : "Ip"));
	json_object_object_add(decision, "type", json_object_new_string("ban"));
	json_object_object_add(decision, "value", json_object_new_string(addr));
	json_object_array_add(decisions, decision);

	snprintf(number, sizeof(number), "%u", ban->ports);
	add_meta(event_meta, "source_ip", addr);
	add_meta(event_meta, "service", "portcullis");
	add_meta(event_meta, "log_type", "port-scan");
	add_meta(event_meta, "ports_probed", number);
	add_meta(event_meta, "last_port", last);
	add_meta(event_meta, "interface", cs->ifname);
	json_object_object_add(event, "timestamp", json_object_new_string(stop));
	json_object_object_add(event, "meta", event_meta);
	json_object_array_add(events, event);
	add_meta(meta, "ports_probed", number);
	add_meta(meta, "last_port", last);

	json_object_object_add(alert, "scenario", json_object_new_string(SCENARIO));
	json_object_object_add(alert, "scenario_hash", json_object_new_string(""));
	json_object_object_add(alert, "scenario_version", json_object_new_string("1"));
	json_object_object_add(alert, "message", json_object_new_string(text));
	json_object_object_add(alert, "events_count", json_object_new_int((int)ban->ports));
	json_object_object_add(alert, "capacity", json_object_new_int((int)ban->ports));
	json_object_object_add(alert, "leakspeed", json_object_new_string("0s"));
	json_object_object_add(alert, "simulated", json_object_new_boolean(0));
	json_object_object_add(alert, "start_at", json_object_new_string(start));
	json_object_object_add(alert, "stop_at", json_object_new_string(stop));
	json_object_object_add(alert, "source", source);
	json_object_object_add(alert, "events", events);
	json_object_object_add(alert, "meta", meta);
	json_object_object_add(alert, "decisions", decisions);
	return alert;
}

/* POST /v1/watchers/login: the machine's token. */
static int login(struct pc_crowdsec *cs, char *why, size_t why_len)
{
	json_object *req = json_object_new_object(), *scenarios = json_object_new_array(), *root;
	struct body answer;
	const char *token;
	long status;
	int err;

	json_object_object_add(req, "machine_id", json_object_new_string(cs->login));
	json_object_object_add(req, "password", json_object_new_string(cs->password));
	json_object_array_add(scenarios, json_object_new_string(SCENARIO));
	json_object_object_add(req, "scenarios", scenarios);
	err = http(cs, cs->push_url, "v1/watchers/login", NULL, json_object_to_json_string(req),
		   &answer, &status, why, why_len);
	json_object_put(req);
	if (!err) {
		root = json_tokener_parse(answer.data ? answer.data : "");
		token = root ? json_string(root, "token") : NULL;
		if (token)
			snprintf(cs->token, sizeof(cs->token), "%s", token);
		else
			err = -EINVAL;
		if (err)
			snprintf(why, why_len, "login: no token in the answer");
		json_object_put(root);
	}
	free(answer.data);
	return err;
}

/* Posts up to PUSH_BATCH queued alerts; the posted ones leave the queue. */
static int push_batch(struct pc_crowdsec *cs, char *why, size_t why_len)
{
	size_t n = cs->queued < PUSH_BATCH ? cs->queued : PUSH_BATCH;
	json_object *alerts = json_object_new_array();
	char header[2100];
	struct body answer;
	__u64 now = pc_now_ns();
	long status;
	int err;

	for (size_t i = 0; i < n; i++)
		json_object_array_add(alerts, alert_of(cs, &cs->queue[i], now));
	snprintf(header, sizeof(header), "Authorization: Bearer %s", cs->token);
	err = http(cs, cs->push_url, "v1/alerts", header, json_object_to_json_string(alerts),
		   &answer, &status, why, why_len);
	json_object_put(alerts);
	free(answer.data);
	if (status == 401 || status == 403)
		cs->token[0] = '\0'; /* expired: log in again */
	if (err)
		return err;
	memmove(cs->queue, cs->queue + n, (cs->queued - n) * sizeof(*cs->queue));
	cs->queued -= n;
	say(cs, LOG_INFO, "reported %zu scan bans as alerts (%s)", n, SCENARIO);
	return 0;
}

/* Report what is queued, unless backing off after a failure. */
static void push(struct pc_crowdsec *cs)
{
	char why[600] = "";
	int err = 0;

	collect_scan_bans(cs);
	if (!cs->queued || pc_now_ns() < cs->next_push_ns)
		return;
	if (!cs->token[0])
		err = login(cs, why, sizeof(why));
	while (!err && cs->queued && !stopping(cs))
		err = push_batch(cs, why, sizeof(why));
	if (stopping(cs))
		return;
	if (err) {
		cs->backoff_ns = cs->backoff_ns ? cs->backoff_ns * 2 : NSEC_PER_SEC;
		if (cs->backoff_ns > PUSH_BACKOFF_MAX_NS)
			cs->backoff_ns = PUSH_BACKOFF_MAX_NS;
		cs->next_push_ns = pc_now_ns() + cs->backoff_ns;
	} else {
		cs->backoff_ns = 0;
	}
	health(cs, &cs->push, "alert push", err, why);
}

/* ---- the thread ------------------------------------------------------------------------- */

static void *crowdsec_main(void *arg)
{
	struct pc_crowdsec *cs = arg;
	struct timespec until;

	while (!stopping(cs)) {
		if (cs->key[0] && pc_now_ns() >= cs->next_poll_ns) {
			cs->next_poll_ns = pc_now_ns() + cs->cfg.poll_ns;
			pull(cs);
		}
		if (cs->login[0])
			push(cs);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&cs->lock);
		if (!cs->stopping)
			pthread_cond_timedwait(&cs->wake, &cs->lock, &until);
		pthread_mutex_unlock(&cs->lock);
	}
	return NULL;
}

static void crowdsec_free(struct pc_crowdsec *cs)
{
	pc_maps_close(&cs->maps);
	free(cs->queue);
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->wake);
	free(cs);
}

struct pc_crowdsec *pc_crowdsec_start(const char *ifname, const struct pc_crowdsec_config *cfg)
{
	struct pc_crowdsec *cs;
	pthread_condattr_t attr;
	struct pc_config live = { .scan_ipv6_prefix = 64 };
	__u32 set, zero = 0;
	struct pc_ban_state state;
	int err;

	if (!cfg->url[0] && !cfg->push_file[0])
		return NULL;
	/* Before any thread: curl's global setup is not thread-safe. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	snprintf(cs->ifname, sizeof(cs->ifname), "%s", ifname);
	cs->cfg = *cfg;
	cs->startup = true;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&cs->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pc_open_iface(ifname, &cs->maps)) {
		free(cs);
		return NULL;
	}
	if (!pc_maps_active_set(&cs->maps, &set))
		pc_maps_read_config(&cs->maps, set, &live);
	cs->ipv6_prefix = live.scan_ipv6_prefix;
	if (cfg->url[0]) {
		err = read_key(cfg->key_file, cs->key, sizeof(cs->key));
		if (err)
			say(cs, LOG_ERR, "can't read the API key from %s: %s; no decisions pulled",
			    cfg->key_file, pc_strerr(err));
	}
	if (cfg->push_file[0]) {
		err = read_credentials(cs, cfg->push_file);
		cs->queue = calloc(PUSH_QUEUE_MAX, sizeof(*cs->queue));
		if (err || !cs->queue) {
			say(cs, LOG_ERR,
			    "%s: no url, login and password in it (%s); scan bans "
			    "are not reported",
			    cfg->push_file, pc_strerr(err ?: -ENOMEM));
			cs->login[0] = '\0';
		}
		/* Only bans made from now on: older ones were reported by whoever made them. */
		if (!bpf_map_lookup_elem(cs->maps.ban_state, &zero, &state))
			cs->ring_seen = state.scan_next;
	}
	if (!cs->key[0] && !cs->login[0]) {
		crowdsec_free(cs);
		return NULL;
	}
	if (pthread_create(&cs->thread, NULL, crowdsec_main, cs)) {
		say(cs, LOG_ERR, "can't start its thread");
		crowdsec_free(cs);
		return NULL;
	}
	say(cs, LOG_INFO, "%s%s%s%s", cs->key[0] ? "bouncing decisions of " : "",
	    cs->key[0] ? cfg->url : "", cs->key[0] && cs->login[0] ? "; " : "",
	    cs->login[0] ? "reporting scan bans as alerts" : "");
	return cs;
}

struct pc_crowdsec *pc_crowdsec_run(const char *ifname, const char *config_path)
{
	struct pc_crowdsec *cs;
	struct pc_ruleset rs;
	struct pc_error err;

	pc_ruleset_init(&rs);
	if (pc_config_load(config_path, &rs, &err)) {
		pc_warn("%s: crowdsec: %s", ifname, err.msg);
		return NULL;
	}
	cs = pc_crowdsec_start(ifname, &rs.crowdsec);
	pc_ruleset_free(&rs);
	return cs;
}

/* Would CS do what CFG asks, with the files as they read now? A key or a
 * scan ipv6-prefix changed is a change too. */
static bool crowdsec_same(const struct pc_crowdsec *cs, const struct pc_crowdsec_config *cfg)
{
	struct pc_config live = { .scan_ipv6_prefix = 64 };
	char key[sizeof(cs->key)] = "";
	__u32 set;

	if (!pc_maps_active_set(&cs->maps, &set))
		pc_maps_read_config(&cs->maps, set, &live);
	if (strcmp(cs->cfg.url, cfg->url) || strcmp(cs->cfg.key_file, cfg->key_file) ||
	    cs->cfg.poll_ns != cfg->poll_ns || strcmp(cs->cfg.push_file, cfg->push_file) ||
	    cs->ipv6_prefix != live.scan_ipv6_prefix)
		return false;
	if (cfg->url[0] && (read_key(cfg->key_file, key, sizeof(key)) || strcmp(key, cs->key)))
		return false;
	return true;
}

struct pc_crowdsec *pc_crowdsec_reload(struct pc_crowdsec *cs, const char *ifname,
				       const char *config_path)
{
	struct pc_ruleset rs;
	struct pc_error err;
	bool same;

	pc_ruleset_init(&rs);
	if (pc_config_load(config_path, &rs, &err)) {
		pc_warn("%s: crowdsec: %s; its settings are kept", ifname, err.msg);
		return cs;
	}
	same = cs ? crowdsec_same(cs, &rs.crowdsec)
		  : !rs.crowdsec.url[0] && !rs.crowdsec.push_file[0];
	if (!same) {
		if (cs)
			pc_info("%s: crowdsec: settings changed: %s", ifname,
				rs.crowdsec.url[0] || rs.crowdsec.push_file[0] ? "restarting"
									 : "stopped");
		pc_crowdsec_stop(cs);
		cs = pc_crowdsec_start(ifname, &rs.crowdsec);
	}
	pc_ruleset_free(&rs);
	return cs;
}

void pc_crowdsec_stop(struct pc_crowdsec *cs)
{
	if (!cs)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stopping = true;
	pthread_cond_signal(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->thread, NULL);
	crowdsec_free(cs);
}
