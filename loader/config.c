// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The config file parser of shared/interface.md. A config is parsed into a
 * private ruleset and handed to the caller only when every line was good, so
 * a failed parse leaves nothing behind. No global state, no exit(): these
 * functions are fuzzed and run under the sanitizers.
 *
 * Messages are short and lower-case and quote the offending word, cut to
 * SHOW_MAX characters so a 4 KiB token cannot drown the message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define NSEC_PER_SEC	1000000000ULL
#define MAX_DURATION_NS (36500ULL * 86400 * NSEC_PER_SEC) /* 100 years: now + ban never wraps */
#define MAX_FILE_SIZE	(64U << 20)			  /* config and list files */
#define MAX_WORDS	16				  /* words kept per line */
#define SHOW_MAX	64				  /* longest word quoted in full */
#define BLANKS		" \t\r\f\v"

/* A quoted word in a message: printf("bad port " QW, SHOWN(p, n)). */
#define QW	    "'%.*s%s'"
#define SHOWN(s, n) (int)((n) > SHOW_MAX ? SHOW_MAX : (n)), (s), ((n) > SHOW_MAX ? "..." : "")
#define SHOW(s)	    SHOWN(s, strlen(s))

static const char *const proto_names[PC_PROTOS] = {"tcp", "udp"};

/* Formats WHY (may be NULL) and returns -EINVAL, for the token parsers. */
__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t why_len, const char *fmt,
						      ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A message without location into ERR, ending in "..." if it was cut; returns RET. */
__attribute__((format(printf, 3, 4))) static int error_msg(struct pc_error *err, int ret,
							   const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->msg[0] = '\0';
	else if ((size_t)n >= sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
	return ret;
}

/* "FILE:LINE: message"; returns RET. */
__attribute__((format(printf, 5, 6))) static int
error_at(struct pc_error *err, int ret, const char *file, int line, const char *fmt, ...)
{
	char message[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return error_msg(err, ret, "%.*s:%d: %s", PATH_MAX, file, line, message);
}

/* "FILE: strerror" for a file that cannot be read; returns -ERRNUM. */
static int error_file(struct pc_error *err, const char *file, int errnum)
{
	return error_msg(err, -errnum, "%.*s: %s", PATH_MAX, file, strerror(errnum));
}

/* Decimal digits only. 0, -EINVAL (not a number) or -ERANGE (above MAX). */
static int parse_uint(const char *s, size_t n, __u64 max, __u64 *out)
{
	bool too_big = false;
	__u64 value = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int digit = (unsigned char)s[i] - '0';

		if (digit > 9)
			return -EINVAL;
		if (too_big || digit > max || value > (max - digit) / 10)
			too_big = true;
		else
			value = value * 10 + digit;
	}
	if (too_big)
		return -ERANGE;
	*out = value;
	return 0;
}

void pc_ruleset_init(struct pc_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->mode = PC_MODE_ENFORCE;
	rs->scan_flags_pass = false;
	rs->scan_detect = true;
	rs->scan_ports = 20;
	rs->scan_window_ns = 10 * NSEC_PER_SEC;
	rs->ban_ns = 10 * 60 * NSEC_PER_SEC;
	rs->scan_ipv6_prefix = 64;
	rs->exempt_auto = true;
	rs->established = PC_ESTABLISHED_SOCKET;
	rs->icmp_deny = false;
	rs->frag_deny = false;
}

void pc_ruleset_free(struct pc_ruleset *rs)
{
	for (size_t i = 0; i < rs->n_allows; i++)
		pc_prefix_list_free(&rs->allows[i].sources);
	free(rs->allows);
	pc_prefix_list_free(&rs->trusted);
	pc_prefix_list_free(&rs->denied);
	pc_prefix_list_free(&rs->exempt);
	pc_ruleset_init(rs);
}

int pc_prefix_list_add(struct pc_prefix_list *list, const struct pc_prefix *prefix)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct pc_prefix *items;

		if (cap < list->cap || cap > SIZE_MAX / sizeof(*items))
			return -ENOMEM;
		items = realloc(list->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = *prefix;
	return 0;
}

void pc_prefix_list_free(struct pc_prefix_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
	list->cap = 0;
}

static int prefix_list_copy(struct pc_prefix_list *to, const struct pc_prefix_list *from)
{
	memset(to, 0, sizeof(*to));
	if (!from->count)
		return 0;
	to->items = malloc(from->count * sizeof(*to->items));
	if (!to->items)
		return -ENOMEM;
	memcpy(to->items, from->items, from->count * sizeof(*to->items));
	to->count = to->cap = from->count;
	return 0;
}

const char *pc_prefix_format(const struct pc_prefix *prefix, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned int full = prefix->family == AF_INET ? 32 : 128;

	if (!len)
		return buf;
	if ((prefix->family != AF_INET && prefix->family != AF_INET6) ||
	    !inet_ntop(prefix->family, prefix->addr, addr, sizeof(addr)))
		snprintf(buf, len, "?");
	else if (prefix->len >= full)
		snprintf(buf, len, "%s", addr);
	else
		snprintf(buf, len, "%s/%u", addr, prefix->len);
	return buf;
}

int pc_parse_proto(const char *word, enum pc_proto *proto, char *why, size_t why_len)
{
	for (int i = 0; i < PC_PROTOS; i++) {
		if (strcmp(word, proto_names[i]) == 0) {
			*proto = i;
			return 0;
		}
	}
	return fail(why, why_len, "bad protocol " QW ": must be tcp or udp", SHOW(word));
}

static int parse_port(const char *s, size_t n, __u16 *port, char *why, size_t why_len)
{
	__u64 value;
	int ret = parse_uint(s, n, 65535, &value);

	if (ret == -EINVAL)
		return fail(why, why_len, "bad port " QW ": not a number", SHOWN(s, n));
	if (ret || value == 0)
		return fail(why, why_len, "bad port " QW ": must be 1..65535", SHOWN(s, n));
	*port = value;
	return 0;
}

/* One item of a port list: "N" or "LO-HI". */
static int parse_port_item(const char *item, size_t n, struct pc_port_range *range, char *why,
			   size_t why_len)
{
	const char *dash = memchr(item, '-', n);
	size_t lo_len, hi_len;
	int ret;

	if (!dash) {
		ret = parse_port(item, n, &range->lo, why, why_len);
		range->hi = range->lo;
		return ret;
	}
	lo_len = dash - item;
	hi_len = n - lo_len - 1;
	if (!lo_len || !hi_len || memchr(dash + 1, '-', hi_len))
		return fail(why, why_len, "bad port range " QW ": expected LO-HI", SHOWN(item, n));
	ret = parse_port(item, lo_len, &range->lo, why, why_len);
	if (!ret)
		ret = parse_port(dash + 1, hi_len, &range->hi, why, why_len);
	if (!ret && range->lo > range->hi)
		ret = fail(why, why_len, "bad port range " QW ": %u is greater than %u",
			   SHOWN(item, n), range->lo, range->hi);
	return ret;
}

int pc_parse_ports(const char *word, struct pc_port_range **ranges, size_t *n, char *why,
		   size_t why_len)
{
	struct pc_port_range *out;
	size_t items = 1, count = 0;
	const char *item = word;
	int ret;

	*ranges = NULL;
	*n = 0;
	if (!*word)
		return fail(why, why_len, "missing port");
	for (const char *c = word; *c; c++)
		items += *c == ',';
	out = calloc(items, sizeof(*out));
	if (!out) {
		fail(why, why_len, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		size_t len = strcspn(item, ",");

		if (!len)
			ret = fail(why, why_len, "bad port list " QW ": empty item", SHOW(word));
		else
			ret = parse_port_item(item, len, &out[count], why, why_len);
		if (ret) {
			free(out);
			return ret;
		}
		count++;
		if (!item[len])
			break;
		item += len + 1;
	}
	*ranges = out;
	*n = count;
	return 0;
}

static const struct duration_unit {
	char name;
	__u64 ns;
} duration_units[] = {
    {'s', NSEC_PER_SEC},
    {'m', 60 * NSEC_PER_SEC},
    {'h', 3600 * NSEC_PER_SEC},
    {'d', 86400 * NSEC_PER_SEC},
};

#define N_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

int pc_parse_duration(const char *word, __u64 *ns, char *why, size_t why_len)
{
	size_t digits = strspn(word, "0123456789");
	const char *unit = word + digits;
	const struct duration_unit *found = NULL;
	__u64 value;

	if (!digits)
		return fail(why, why_len,
			    "bad duration " QW ": expected a number and a unit, e.g. 10m",
			    SHOW(word));
	if (!*unit)
		return fail(why, why_len, "bad duration " QW ": missing unit (s, m, h or d)",
			    SHOW(word));
	for (size_t i = 0; i < N_UNITS && !unit[1]; i++)
		if (duration_units[i].name == *unit)
			found = &duration_units[i];
	if (!found)
		return fail(why, why_len, "bad duration " QW ": unknown unit " QW " (s, m, h or d)",
			    SHOW(word), SHOW(unit));
	if (parse_uint(word, digits, MAX_DURATION_NS / found->ns, &value))
		return fail(why, why_len, "bad duration " QW ": too large (at most 36500d)",
			    SHOW(word));
	if (!value)
		return fail(why, why_len, "bad duration " QW ": must be greater than 0",
			    SHOW(word));
	*ns = value * found->ns;
	return 0;
}

/* "10m" for 600 s: the largest unit that divides NS; NS is whole seconds. */
static void format_duration(__u64 ns, char *buf, size_t len)
{
	for (size_t i = N_UNITS; i-- > 0;) {
		if (ns % duration_units[i].ns == 0 || i == 0) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(ns / duration_units[i].ns),
				 duration_units[i].name);
			return;
		}
	}
}

int pc_parse_prefix(const char *word, struct pc_prefix *prefix, char *why, size_t why_len)
{
	const char *slash = strchr(word, '/');
	size_t addr_len = slash ? (size_t)(slash - word) : strlen(word);
	struct pc_prefix out = {0};
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned int max, bytes, bits;
	bool host_bits = false;
	__u64 len;

	if (!addr_len || addr_len >= sizeof(addr))
		return fail(why, why_len, "bad address " QW, SHOW(word));
	memcpy(addr, word, addr_len);
	addr[addr_len] = '\0';
	out.family = memchr(addr, ':', addr_len) ? AF_INET6 : AF_INET;
	max = out.family == AF_INET ? 32 : 128;
	if (inet_pton(out.family, addr, out.addr) != 1)
		return fail(why, why_len, "bad address " QW, SHOW(word));
	len = max;
	if (slash && parse_uint(slash + 1, strlen(slash + 1), max, &len))
		return fail(why, why_len, "bad prefix length in " QW ": must be 0..%u", SHOW(word),
			    max);
	out.len = len;

	/* Clear the host bits, remembering whether any were set. */
	bytes = out.len / 8;
	bits = out.len % 8;
	for (unsigned int i = bytes; i < max / 8; i++) {
		__u8 keep = i == bytes ? (__u8)(0xff00 >> bits) : 0;

		host_bits |= (out.addr[i] & ~keep) != 0;
		out.addr[i] &= keep;
	}
	if (host_bits) {
		char network[INET6_ADDRSTRLEN + 8];

		pc_prefix_format(&out, network, sizeof(network));
		return fail(why, why_len, "bad prefix " QW ": host bits set, did you mean '%s'?",
			    SHOW(word), network);
	}
	*prefix = out;
	return 0;
}

/*
 * Lines of a config or list file, copied one at a time into BUF without
 * their newline (and a trailing CR). Binary content and over-long lines are
 * errors in the file's own FILE:LINE.
 */
struct lines {
	const char *name;
	const char *text;
	size_t len;
	size_t pos;
	int number;
	char buf[PC_CONFIG_MAX_LINE + 1];
};

static bool is_binary_byte(unsigned char c)
{
	/* Not strchr(): it would find the NUL terminator for c == 0. */
	return c == 0x7f ||
	       (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v');
}

static int lines_init(struct lines *lines, const char *name, const char *text, size_t len,
		      struct pc_error *err)
{
	int line = 1;

	lines->name = name;
	lines->text = text ? text : "";
	lines->len = text ? len : 0;
	lines->pos = 0;
	lines->number = 0;
	if (lines->len > MAX_FILE_SIZE) /* also keeps line numbers in an int */
		return error_file(err, name, EFBIG);
	if (lines->len >= 3 && memcmp(lines->text, "\xef\xbb\xbf", 3) == 0)
		lines->pos = 3; /* UTF-8 byte order mark */
	for (size_t i = lines->pos; i < lines->len; i++) {
		unsigned char c = lines->text[i];

		if (is_binary_byte(c))
			return error_at(err, -EINVAL, name, line, "binary file (byte 0x%02x)", c);
		line += c == '\n';
	}
	return 0;
}

/* 1 with the next line in lines->buf, 0 at the end, or -EINVAL. */
static int lines_next(struct lines *lines, struct pc_error *err)
{
	const char *start = lines->text + lines->pos;
	const char *newline;
	size_t n;

	if (lines->pos >= lines->len)
		return 0;
	newline = memchr(start, '\n', lines->len - lines->pos);
	n = newline ? (size_t)(newline - start) : lines->len - lines->pos;
	lines->pos += n + (newline ? 1 : 0);
	lines->number++;
	if (n && start[n - 1] == '\r')
		n--;
	if (n > PC_CONFIG_MAX_LINE)
		return error_at(err, -EINVAL, lines->name, lines->number,
				"line too long (over %d characters)", PC_CONFIG_MAX_LINE);
	memcpy(lines->buf, start, n);
	lines->buf[n] = '\0';
	return 1;
}

/*
 * Cuts LINE at the first of COMMENT and splits it at blanks. Returns the
 * number of words; only the first MAX words are stored.
 */
static int split_words(char *line, const char *comment, char **words, int max)
{
	char *save = NULL;
	int n = 0;

	line[strcspn(line, comment)] = '\0';
	for (char *word = strtok_r(line, BLANKS, &save); word;
	     word = strtok_r(NULL, BLANKS, &save)) {
		if (n < max)
			words[n] = word;
		if (n < INT_MAX)
			n++;
	}
	return n;
}

/*
 * sshd's StrictModes for the files that decide what a root-run firewall
 * lets in: a config or list file must be owned by root or by the user
 * running portcullis (so "portcullis check" works on a user's own draft),
 * and must not be writable by group or others. Character devices such as
 * /dev/null hold nothing another user could edit; only their owner counts.
 * The check is on the open file, so a rename in between cannot fool it.
 */
static int check_file_trusted(const char *path, const struct stat *st, struct pc_error *err)
{
	bool owner_ok = st->st_uid == 0 || st->st_uid == geteuid();
	bool modes_ok = S_ISCHR(st->st_mode) || !(st->st_mode & (S_IWGRP | S_IWOTH));

	if (owner_ok && modes_ok)
		return 0;
	return error_msg(err, -EPERM,
			 "%.*s: bad ownership or modes (owner uid %u, mode %04o): portcullis "
			 "reads only files owned by root or by the user running it, and not "
			 "writable by group or others",
			 PATH_MAX, path, (unsigned int)st->st_uid,
			 (unsigned int)(st->st_mode & 07777));
}

/* Reads a whole file, NUL-terminated. Errors are "FILE: strerror". */
static int read_file(const char *path, char **text, size_t *len, struct pc_error *err)
{
	size_t size = 0, cap = 0;
	char *buf = NULL;
	struct stat st;
	int fd, ret = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_file(err, path, errno);
	if (fstat(fd, &st)) {
		ret = error_file(err, path, errno);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = error_file(err, path, EISDIR);
		goto out;
	}
	ret = check_file_trusted(path, &st, err);
	if (ret)
		goto out;
	/* Read at most MAX_FILE_SIZE + 1 bytes: enough to know the file is too large. */
	for (;;) {
		ssize_t got;

		if (size + 1 >= cap) {
			size_t grow = cap ? cap * 2 : 16384;
			char *bigger;

			if (cap >= MAX_FILE_SIZE + 2) {
				ret = error_file(err, path, EFBIG);
				goto out;
			}
			if (grow > MAX_FILE_SIZE + 2)
				grow = MAX_FILE_SIZE + 2;
			bigger = realloc(buf, grow);
			if (!bigger) {
				ret = error_file(err, path, ENOMEM);
				goto out;
			}
			buf = bigger;
			cap = grow;
		}
		got = read(fd, buf + size, cap - size - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = error_file(err, path, errno);
			goto out;
		}
		if (got == 0)
			break;
		size += got;
	}
	if (size > MAX_FILE_SIZE) {
		ret = error_file(err, path, EFBIG);
		goto out;
	}
	buf[size] = '\0';
	*text = buf;
	*len = size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

int pc_parse_list_text(const char *name, const char *text, size_t len, struct pc_prefix_list *list,
		       struct pc_error *err)
{
	size_t saved = list->count;
	struct pc_error unused;
	struct lines *lines;
	int ret;

	if (!err)
		err = &unused;
	lines = malloc(sizeof(*lines));
	if (!lines)
		return error_file(err, name, ENOMEM);
	ret = lines_init(lines, name, text, len, err);
	while (!ret && (ret = lines_next(lines, err)) > 0) {
		char *words[2], why[512];
		struct pc_prefix prefix;
		int n = split_words(lines->buf, "#;", words, 2);

		ret = 0;
		if (n == 0)
			continue;
		if (n > 1) {
			ret =
			    error_at(err, -EINVAL, name, lines->number,
				     "unexpected " QW " after " QW, SHOW(words[1]), SHOW(words[0]));
		} else if (pc_parse_prefix(words[0], &prefix, why, sizeof(why))) {
			ret = error_at(err, -EINVAL, name, lines->number, "%s", why);
		} else if (pc_prefix_list_add(list, &prefix)) {
			ret = error_at(err, -ENOMEM, name, lines->number, "out of memory");
		}
	}
	free(lines);
	if (ret < 0) {
		list->count = saved;
		return ret;
	}
	return 0;
}

int pc_parse_list_file(const char *path, struct pc_prefix_list *list, struct pc_error *err,
		       bool *err_has_location)
{
	struct pc_error unused;
	char *text;
	size_t len;
	int ret;

	if (!err)
		err = &unused;
	if (err_has_location)
		*err_has_location = false;
	ret = read_file(path, &text, &len, err);
	if (ret)
		return ret;
	ret = pc_parse_list_text(path, text, len, list, err);
	if (err_has_location)
		*err_has_location = ret != 0;
	free(text);
	return ret;
}

/* One item of a source list: a prefix or @FILE. */
static int parse_source(const char *item, size_t n, const char *base_dir,
			struct pc_prefix_list *list, struct pc_error *err, bool *err_has_location)
{
	char path[PATH_MAX], why[512], word[INET6_ADDRSTRLEN + 8];
	struct pc_prefix prefix;
	int len;

	if (item[0] == '@') {
		if (n == 1)
			return error_msg(err, -EINVAL, "bad source '@': empty file name");
		if (item[1] == '/' || !base_dir || !*base_dir)
			len = snprintf(path, sizeof(path), "%.*s", (int)(n - 1), item + 1);
		else
			len = snprintf(path, sizeof(path), "%s%s%.*s", base_dir,
				       base_dir[strlen(base_dir) - 1] == '/' ? "" : "/",
				       (int)(n - 1), item + 1);
		if (len < 0 || (size_t)len >= sizeof(path))
			return error_msg(err, -EINVAL, "bad source " QW ": file name too long",
					 SHOWN(item, n));
		return pc_parse_list_file(path, list, err, err_has_location);
	}
	/* pc_parse_prefix wants a string; anything longer than an address is bad anyway. */
	if (n >= sizeof(word))
		return error_msg(err, -EINVAL, "bad address " QW, SHOWN(item, n));
	memcpy(word, item, n);
	word[n] = '\0';
	if (pc_parse_prefix(word, &prefix, why, sizeof(why)))
		return error_msg(err, -EINVAL, "%s", why);
	if (pc_prefix_list_add(list, &prefix))
		return error_msg(err, -ENOMEM, "out of memory");
	return 0;
}

int pc_parse_sources_at(const char *word, const char *base_dir, struct pc_prefix_list *list,
			struct pc_error *err, bool *err_has_location)
{
	size_t saved = list->count;
	struct pc_error unused;
	bool located = false;
	const char *item = word;
	int ret = 0;

	if (!err)
		err = &unused;
	if (!*word)
		ret = error_msg(err, -EINVAL, "missing sources");
	while (!ret) {
		size_t len = strcspn(item, ",");

		if (!len)
			ret = error_msg(err, -EINVAL, "bad source list " QW ": empty item",
					SHOW(word));
		else
			ret = parse_source(item, len, base_dir, list, err, &located);
		if (!item[len])
			break;
		item += len + 1;
	}
	if (err_has_location)
		*err_has_location = ret && located;
	if (ret)
		list->count = saved;
	return ret;
}

int pc_parse_sources(const char *word, struct pc_prefix_list *list, struct pc_error *err,
		     bool *err_has_location)
{
	return pc_parse_sources_at(word, NULL, list, err, err_has_location);
}

/*
 * The config parser proper. Scalar directives remember the line that set
 * them, so a second, different value can name it.
 */
enum scalar {
	SCALAR_MODE,
	SCALAR_SCAN_FLAGS,
	SCALAR_SCAN_DETECT,
	SCALAR_ESTABLISHED,
	SCALAR_ICMP,
	SCALAR_FRAGMENTS,
	SCALARS,
};

#define PORT_WORDS (PC_PORTS / 64)

/* Which ports some line opened, per protocol, to everyone [0] or to a list [1]. */
struct port_marks {
	__u64 bits[PC_PROTOS][2][PORT_WORDS];
};

struct parser {
	const char *name;     /* the config file, as named in messages */
	const char *base_dir; /* where relative @FILE paths start; NULL: cwd */
	int line;
	struct pc_ruleset *rs;
	struct pc_error *err;
	int scalar_line[SCALARS]; /* 0: not set by the file */
	struct port_marks *marks; /* keeps the conflict check linear in the config */
	size_t allows_cap;        /* allocated entries of rs->allows */
};

__attribute__((format(printf, 2, 3))) static int parse_error(struct parser *p, const char *fmt, ...)
{
	char message[sizeof(p->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return error_at(p->err, -EINVAL, p->name, p->line, "%s", message);
}

static int out_of_memory(struct parser *p)
{
	return error_at(p->err, -ENOMEM, p->name, p->line, "out of memory");
}

static int extra_word(struct parser *p, const char *directive, const char *word)
{
	return parse_error(p, "%s: extra argument " QW, directive, SHOW(word));
}

static const char *const mode_names[] = {"enforce", "monitor", NULL};
static const char *const scan_flags_names[] = {"drop", "pass", NULL};
static const char *const established_names[] = {"socket", "ephemeral", "off", NULL};
static const char *const allow_deny_names[] = {"allow", "deny", NULL};

/* A scalar setting as a config line would write it: compared and quoted in conflicts. */
static void format_scalar(const struct pc_ruleset *rs, enum scalar kind, char *buf, size_t len)
{
	char window[32], ban[32];

	switch (kind) {
	case SCALAR_MODE:
		snprintf(buf, len, "mode %s", mode_names[rs->mode == PC_MODE_MONITOR]);
		break;
	case SCALAR_SCAN_FLAGS:
		snprintf(buf, len, "scan-flags %s", scan_flags_names[rs->scan_flags_pass]);
		break;
	case SCALAR_SCAN_DETECT:
		if (!rs->scan_detect) {
			snprintf(buf, len, "scan-detect off");
			break;
		}
		format_duration(rs->scan_window_ns, window, sizeof(window));
		format_duration(rs->ban_ns, ban, sizeof(ban));
		snprintf(buf, len, "scan-detect ports %u window %s ban %s ipv6-prefix %u",
			 rs->scan_ports, window, ban, rs->scan_ipv6_prefix);
		break;
	case SCALAR_ESTABLISHED:
		snprintf(
		    buf, len, "established %s",
		    established_names[rs->established <= PC_ESTABLISHED_OFF ? rs->established : 0]);
		break;
	case SCALAR_ICMP:
		snprintf(buf, len, "icmp %s", allow_deny_names[rs->icmp_deny]);
		break;
	case SCALAR_FRAGMENTS:
		snprintf(buf, len, "fragments %s", allow_deny_names[rs->frag_deny]);
		break;
	default:
		snprintf(buf, len, "?");
	}
}

/* Takes KIND's fields from WANT, unless an earlier line set a different value. */
static int set_scalar(struct parser *p, enum scalar kind, const struct pc_ruleset *want)
{
	char old[128], new[128];
	struct pc_ruleset *rs = p->rs;

	format_scalar(rs, kind, old, sizeof(old));
	format_scalar(want, kind, new, sizeof(new));
	if (p->scalar_line[kind] && strcmp(old, new) != 0)
		return parse_error(p, "'%s' conflicts with line %d ('%s')", new,
				   p->scalar_line[kind], old);
	if (!p->scalar_line[kind])
		p->scalar_line[kind] = p->line;
	switch (kind) {
	case SCALAR_MODE:
		rs->mode = want->mode;
		break;
	case SCALAR_SCAN_FLAGS:
		rs->scan_flags_pass = want->scan_flags_pass;
		break;
	case SCALAR_SCAN_DETECT:
		rs->scan_detect = want->scan_detect;
		rs->scan_ports = want->scan_ports;
		rs->scan_window_ns = want->scan_window_ns;
		rs->ban_ns = want->ban_ns;
		rs->scan_ipv6_prefix = want->scan_ipv6_prefix;
		break;
	case SCALAR_ESTABLISHED:
		rs->established = want->established;
		break;
	case SCALAR_ICMP:
		rs->icmp_deny = want->icmp_deny;
		break;
	case SCALAR_FRAGMENTS:
		rs->frag_deny = want->frag_deny;
		break;
	default:
		break;
	}
	return 0;
}

/* "DIRECTIVE WORD" with WORD one of CHOICES; *INDEX is its position. */
static int parse_choice(struct parser *p, char **words, int n, const char *const *choices,
			const char *expected, int *index)
{
	if (n < 2)
		return parse_error(p, "%s: missing argument (%s)", words[0], expected);
	if (n > 2)
		return extra_word(p, words[0], words[2]);
	for (int i = 0; choices[i]; i++) {
		if (strcmp(words[1], choices[i]) == 0) {
			*index = i;
			return 0;
		}
	}
	return parse_error(p, "bad %s " QW ": must be %s", words[0], SHOW(words[1]), expected);
}

static int parse_mode(struct parser *p, char **words, int n)
{
	struct pc_ruleset want = *p->rs;
	int index;

	if (parse_choice(p, words, n, mode_names, "enforce or monitor", &index))
		return -EINVAL;
	want.mode = index ? PC_MODE_MONITOR : PC_MODE_ENFORCE;
	return set_scalar(p, SCALAR_MODE, &want);
}

static int parse_scan_flags(struct parser *p, char **words, int n)
{
	struct pc_ruleset want = *p->rs;
	int index;

	if (parse_choice(p, words, n, scan_flags_names, "drop or pass", &index))
		return -EINVAL;
	want.scan_flags_pass = index == 1;
	return set_scalar(p, SCALAR_SCAN_FLAGS, &want);
}

static int parse_established(struct parser *p, char **words, int n)
{
	static const enum pc_established values[] = {
	    PC_ESTABLISHED_SOCKET,
	    PC_ESTABLISHED_EPHEMERAL,
	    PC_ESTABLISHED_OFF,
	};
	struct pc_ruleset want = *p->rs;
	int index;

	if (parse_choice(p, words, n, established_names, "socket, ephemeral or off", &index))
		return -EINVAL;
	want.established = values[index];
	return set_scalar(p, SCALAR_ESTABLISHED, &want);
}

static int parse_icmp(struct parser *p, char **words, int n)
{
	struct pc_ruleset want = *p->rs;
	int index;

	if (parse_choice(p, words, n, allow_deny_names, "allow or deny", &index))
		return -EINVAL;
	want.icmp_deny = index == 1;
	return set_scalar(p, SCALAR_ICMP, &want);
}

static int parse_fragments(struct parser *p, char **words, int n)
{
	struct pc_ruleset want = *p->rs;
	int index;

	if (parse_choice(p, words, n, allow_deny_names, "allow or deny", &index))
		return -EINVAL;
	want.frag_deny = index == 1;
	return set_scalar(p, SCALAR_FRAGMENTS, &want);
}

/* One "KEY VALUE" pair of scan-detect into WANT. */
static int parse_scan_option(struct parser *p, int key, const char *value, struct pc_ruleset *want)
{
	char why[512];
	__u64 number;

	switch (key) {
	case 0:
		/* The detector's exact port sets hold PC_SCAN_MAX_PORTS, and a scan
		 * is a second port at the least. */
		if (parse_uint(value, strlen(value), PC_SCAN_MAX_PORTS, &number) || number < 2)
			return parse_error(p, "bad scan-detect ports " QW ": must be 2..%d",
					   SHOW(value), PC_SCAN_MAX_PORTS);
		want->scan_ports = number;
		return 0;
	case 1:
	case 2:
		if (pc_parse_duration(value, key == 1 ? &want->scan_window_ns : &want->ban_ns, why,
				      sizeof(why)))
			return parse_error(p, "%s", why);
		return 0;
	default:
		if (parse_uint(value, strlen(value), 128, &number) || !number)
			return parse_error(p, "bad ipv6-prefix " QW ": must be 1..128",
					   SHOW(value));
		want->scan_ipv6_prefix = number;
		return 0;
	}
}

/* scan-detect off | scan-detect [ports N] [window D] [ban D] [ipv6-prefix LEN] */
static int parse_scan_detect(struct parser *p, char **words, int n)
{
	static const char *const keys[] = {"ports", "window", "ban", "ipv6-prefix"};
	struct pc_ruleset want = *p->rs;
	bool seen[4] = {false};
	int ret;

	if (n < 2)
		return parse_error(p, "scan-detect: missing arguments "
				      "(ports N window DURATION ban DURATION, or off)");
	if (strcmp(words[1], "off") == 0) {
		if (n > 2)
			return extra_word(p, "scan-detect", words[2]);
		want.scan_detect = false;
		return set_scalar(p, SCALAR_SCAN_DETECT, &want);
	}
	want.scan_detect = true;
	for (int i = 1; i < n; i += 2) {
		int key = -1;

		for (int k = 0; k < 4; k++)
			if (strcmp(words[i], keys[k]) == 0)
				key = k;
		if (key < 0)
			return parse_error(p,
					   "scan-detect: unknown option " QW
					   " (ports, window, ban, ipv6-prefix or off)",
					   SHOW(words[i]));
		if (seen[key])
			return parse_error(p, "scan-detect: '%s' given twice", keys[key]);
		seen[key] = true;
		if (i + 1 >= n)
			return parse_error(p, "scan-detect: missing value after '%s'", keys[key]);
		ret = parse_scan_option(p, key, words[i + 1], &want);
		if (ret)
			return ret;
	}
	return set_scalar(p, SCALAR_SCAN_DETECT, &want);
}

/* Parses SOURCES into LIST, with this line as the context of bare messages. */
static int parse_sources_here(struct parser *p, const char *word, struct pc_prefix_list *list)
{
	struct pc_error sub;
	bool located = false;
	int ret = pc_parse_sources_at(word, p->base_dir, list, &sub, &located);

	if (!ret)
		return 0;
	/* A list file that cannot be read is a config error like any other. */
	if (ret != -ENOMEM)
		ret = -EINVAL;
	if (located) {
		*p->err = sub;
		return ret;
	}
	return error_at(p->err, ret, p->name, p->line, "%s", sub.msg);
}

/*
 * A port is either open to every source or limited to source lists; one
 * config saying both is a mistake the user should see, not a silent merge.
 */
/* The bits of word W of a port bitmap that stand for ports LO..HI. */
static __u64 word_mask(__u32 w, __u32 lo, __u32 hi)
{
	__u64 mask = ~0ULL;

	if (w == lo / 64)
		mask &= ~0ULL << (lo % 64);
	if (w == hi / 64)
		mask &= ~0ULL >> (63 - hi % 64);
	return mask;
}

static bool ports_marked(const __u64 *bits, __u32 lo, __u32 hi)
{
	for (__u32 w = lo / 64; w <= hi / 64; w++)
		if (bits[w] & word_mask(w, lo, hi))
			return true;
	return false;
}

static void mark_ports(__u64 *bits, __u32 lo, __u32 hi)
{
	for (__u32 w = lo / 64; w <= hi / 64; w++)
		bits[w] |= word_mask(w, lo, hi);
}

static int check_port_conflict(struct parser *p, enum pc_proto proto,
			       const struct pc_port_range *range, bool limited)
{
	/* The bitmaps answer "no conflict" without looking at earlier lines;
	 * only an actual conflict pays for finding the line to name. */
	if (!ports_marked(p->marks->bits[proto][!limited], range->lo, range->hi))
		return 0;
	for (size_t i = 0; i < p->rs->n_allows; i++) {
		const struct pc_allow *other = &p->rs->allows[i];

		if (other->proto != proto || (other->sources.count > 0) == limited)
			continue;
		if (range->lo > other->hi || other->lo > range->hi)
			continue;
		return parse_error(p, "%s port %u conflicts with line %d: allowed %s there",
				   proto_names[proto],
				   range->lo > other->lo ? range->lo : other->lo, other->line,
				   limited ? "from every source" : "only from listed sources");
	}
	return 0;
}

static int add_allows(struct parser *p, enum pc_proto proto, const struct pc_port_range *ranges,
		      size_t n_ranges, const struct pc_prefix_list *sources)
{
	struct pc_ruleset *rs = p->rs;
	struct pc_allow *allows;
	size_t total;
	int ret;

	for (size_t i = 0; i < n_ranges; i++) {
		ret = check_port_conflict(p, proto, &ranges[i], sources->count > 0);
		if (ret)
			return ret;
	}
	if (n_ranges > SIZE_MAX / sizeof(*allows) / 2 - rs->n_allows)
		return out_of_memory(p);
	total = rs->n_allows + n_ranges;
	if (total > p->allows_cap) {
		/* Doubling: a 100,000-line config must not copy its rules per line. */
		size_t cap = total > 2 * p->allows_cap ? total : 2 * p->allows_cap;

		allows = realloc(rs->allows, cap * sizeof(*allows));
		if (!allows)
			return out_of_memory(p);
		rs->allows = allows;
		p->allows_cap = cap;
	}
	for (size_t i = 0; i < n_ranges; i++) {
		struct pc_allow *allow = &rs->allows[rs->n_allows];

		mark_ports(p->marks->bits[proto][sources->count > 0], ranges[i].lo, ranges[i].hi);
		allow->proto = proto;
		allow->lo = ranges[i].lo;
		allow->hi = ranges[i].hi;
		allow->line = p->line;
		if (prefix_list_copy(&allow->sources, sources))
			return out_of_memory(p);
		rs->n_allows++;
	}
	return 0;
}

/* allow from SOURCES | allow PROTO PORTS [from SOURCES] */
static int parse_allow(struct parser *p, char **words, int n)
{
	struct pc_prefix_list sources = {0};
	struct pc_port_range *ranges = NULL;
	enum pc_proto proto;
	size_t n_ranges;
	char why[512];
	int ret;

	if (n < 2)
		return parse_error(p, "allow: missing protocol (tcp or udp) or 'from'");
	if (strcmp(words[1], "from") == 0) {
		if (n < 3)
			return parse_error(p, "allow: missing sources after 'from'");
		if (n > 3)
			return extra_word(p, "allow", words[3]);
		return parse_sources_here(p, words[2], &p->rs->trusted);
	}
	if (pc_parse_proto(words[1], &proto, why, sizeof(why)))
		return parse_error(p, "%s", why);
	if (n < 3)
		return parse_error(p, "allow: missing ports after '%s'", words[1]);
	if (n > 3 && strcmp(words[3], "from") != 0)
		return parse_error(p, "allow: expected 'from' after the ports, got " QW,
				   SHOW(words[3]));
	if (n == 4)
		return parse_error(p, "allow: missing sources after 'from'");
	if (n > 5)
		return extra_word(p, "allow", words[5]);
	ret = pc_parse_ports(words[2], &ranges, &n_ranges, why, sizeof(why));
	if (ret)
		return ret == -ENOMEM ? out_of_memory(p) : parse_error(p, "%s", why);
	if (n == 5) {
		ret = parse_sources_here(p, words[4], &sources);
		if (!ret && !sources.count)
			ret = parse_error(
			    p, "empty source list " QW ": the ports would be open to every source",
			    SHOW(words[4]));
	}
	if (!ret)
		ret = add_allows(p, proto, ranges, n_ranges, &sources);
	free(ranges);
	pc_prefix_list_free(&sources);
	return ret;
}

/* deny from SOURCES */
static int parse_deny(struct parser *p, char **words, int n)
{
	if (n < 2)
		return parse_error(p, "deny: missing 'from'");
	if (strcmp(words[1], "from") != 0)
		return parse_error(p, "deny: expected 'from', got " QW, SHOW(words[1]));
	if (n < 3)
		return parse_error(p, "deny: missing sources after 'from'");
	if (n > 3)
		return extra_word(p, "deny", words[3]);
	return parse_sources_here(p, words[2], &p->rs->denied);
}

static const struct directive {
	const char *name;
	int max_words; /* including the directive */
	int (*parse)(struct parser *p, char **words, int n);
} directives[] = {
    {"mode", 2, parse_mode},
    {"allow", 5, parse_allow},
    {"deny", 3, parse_deny},
    {"scan-flags", 2, parse_scan_flags},
    {"scan-detect", 9, parse_scan_detect},
    {"established", 2, parse_established},
    {"icmp", 2, parse_icmp},
    {"fragments", 2, parse_fragments},
};

#define N_DIRECTIVES (sizeof(directives) / sizeof(directives[0]))

/* Levenshtein distance, for "did you mean"; both words are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32];

	if (la >= 32 || lb >= 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diagonal = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t above = row[j];
			size_t best = diagonal + (a[i - 1] != b[j - 1]);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diagonal = above;
		}
	}
	return row[lb];
}

static int unknown_directive(struct parser *p, const char *word)
{
	const char *closest = NULL;
	size_t best = 3; /* suggest only within two edits */

	for (size_t i = 0; i < N_DIRECTIVES; i++) {
		size_t distance = edit_distance(word, directives[i].name);

		if (distance < best) {
			best = distance;
			closest = directives[i].name;
		}
	}
	if (closest)
		return parse_error(p, "unknown directive " QW " (did you mean '%s'?)", SHOW(word),
				   closest);
	return parse_error(p, "unknown directive " QW, SHOW(word));
}

static int parse_line(struct parser *p, char *line)
{
	char *words[MAX_WORDS];
	int n = split_words(line, "#", words, MAX_WORDS);

	if (n == 0)
		return 0;
	for (size_t i = 0; i < N_DIRECTIVES; i++) {
		if (strcmp(words[0], directives[i].name) != 0)
			continue;
		/* Handlers see at most one word too many, which they report. */
		if (n > directives[i].max_words + 1)
			n = directives[i].max_words + 1;
		return directives[i].parse(p, words, n);
	}
	return unknown_directive(p, words[0]);
}

/* The directory part of NAME, or NULL for a bare file name. */
static int dir_of(const char *name, char **dir)
{
	const char *slash = strrchr(name, '/');

	*dir = NULL;
	if (!slash)
		return 0;
	*dir = slash == name ? strdup("/") : strndup(name, slash - name);
	return *dir ? 0 : -ENOMEM;
}

int pc_config_parse(const char *name, const char *text, size_t len, struct pc_ruleset *rs,
		    struct pc_error *err)
{
	struct pc_ruleset parsed;
	struct parser p = {0};
	struct pc_error unused;
	struct lines *lines;
	char *base_dir;
	int ret;

	if (!err)
		err = &unused;
	if (!name)
		name = "<config>";
	err->msg[0] = '\0';
	pc_ruleset_init(rs);
	pc_ruleset_init(&parsed);
	lines = malloc(sizeof(*lines));
	p.marks = calloc(1, sizeof(*p.marks));
	if (!lines || !p.marks || dir_of(name, &base_dir)) {
		free(lines);
		free(p.marks);
		return error_file(err, name, ENOMEM);
	}
	p.name = name;
	p.base_dir = base_dir;
	p.rs = &parsed;
	p.err = err;

	ret = lines_init(lines, name, text, len, err);
	while (!ret && (ret = lines_next(lines, err)) > 0) {
		p.line = lines->number;
		ret = parse_line(&p, lines->buf);
	}
	free(lines);
	free(p.marks);
	free(base_dir);
	if (ret < 0) {
		pc_ruleset_free(&parsed);
		return ret;
	}
	*rs = parsed;
	return 0;
}

int pc_config_load(const char *path, struct pc_ruleset *rs, struct pc_error *err)
{
	struct pc_error unused;
	char *text;
	size_t len;
	int ret;

	if (!err)
		err = &unused;
	pc_ruleset_init(rs);
	ret = read_file(path, &text, &len, err);
	if (ret)
		return ret;
	ret = pc_config_parse(path, text, len, rs, err);
	free(text);
	return ret;
}
