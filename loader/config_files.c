// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Files of the config parser: reading a config or list file (only a
 * regular file that no other user can change), cutting text into lines and
 * words, and list files and source lists ("10.0.0.0/8,@drop.txt"), whose
 * errors name the list file's own FILE:LINE.
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
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"

int cfg_error_msg(struct pc_error *err, int ret, const char *fmt, ...)
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

int cfg_error_at(struct pc_error *err, int ret, const char *file, int line, const char *fmt, ...)
{
	char message[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return cfg_error_msg(err, ret, "%.*s:%d: %s", PATH_MAX, file, line, message);
}

int cfg_error_file(struct pc_error *err, const char *file, int errnum)
{
	return cfg_error_msg(err, -errnum, "%.*s: %s", PATH_MAX, file, strerror(errnum));
}

static bool is_binary_byte(unsigned char c)
{
	/* Not strchr(): it would find the NUL terminator for c == 0. */
	return c == 0x7f ||
	       (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v');
}

int cfg_lines_init(struct cfg_lines *lines, const char *name, const char *text, size_t len,
		   struct pc_error *err)
{
	int line = 1;

	lines->name = name;
	lines->text = text ? text : "";
	lines->len = text ? len : 0;
	lines->pos = 0;
	lines->number = 0;
	if (lines->len > MAX_FILE_SIZE) /* also keeps line numbers in an int */
		return cfg_error_file(err, name, EFBIG);
	if (lines->len >= 3 && memcmp(lines->text, "\xef\xbb\xbf", 3) == 0)
		lines->pos = 3; /* UTF-8 byte order mark */
	for (size_t i = lines->pos; i < lines->len; i++) {
		unsigned char c = lines->text[i];

		if (is_binary_byte(c))
			return cfg_error_at(err, -EINVAL, name, line, "binary file (byte 0x%02x)",
					    c);
		line += c == '\n';
	}
	return 0;
}

/* 1 with the next line in lines->buf, 0 at the end, or -EINVAL. */
int cfg_lines_next(struct cfg_lines *lines, struct pc_error *err)
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
		return cfg_error_at(err, -EINVAL, lines->name, lines->number,
				    "line too long (over %d characters)", PC_CONFIG_MAX_LINE);
	memcpy(lines->buf, start, n);
	lines->buf[n] = '\0';
	return 1;
}

int cfg_split_words(char *line, const char *comment, char **words, int max)
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
 * and must not be writable by group or others. The check is on the open
 * file, so a rename in between cannot fool it.
 */
static int check_file_trusted(const char *path, const struct stat *st, struct pc_error *err)
{
	bool owner_ok = st->st_uid == 0 || st->st_uid == geteuid();
	bool modes_ok = !(st->st_mode & (S_IWGRP | S_IWOTH));

	if (owner_ok && modes_ok)
		return 0;
	return cfg_error_msg(err, -EPERM,
			     "%.*s: bad ownership or modes (owner uid %u, mode %04o): portcullis "
			     "reads only files owned by root or by the user running it, and not "
			     "writable by group or others",
			     PATH_MAX, path, (unsigned int)st->st_uid,
			     (unsigned int)(st->st_mode & 07777));
}

/*
 * Reads a whole file, NUL-terminated. Errors are "FILE: strerror". Only a
 * regular file is read: a FIFO planted where a list file should be would
 * block check and reload for ever, and a device or socket is no config.
 * O_NONBLOCK lets open() return on a FIFO without a writer, so fstat() can
 * refuse it at once.
 */
static int read_file(const char *path, char **text, size_t *len, struct pc_error *err)
{
	size_t size = 0, cap = 0;
	char *buf = NULL;
	struct stat st;
	int fd, ret = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cfg_error_file(err, path, errno);
	if (fstat(fd, &st)) {
		ret = cfg_error_file(err, path, errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = cfg_error_msg(err, -EINVAL, "%.*s: not a regular file", PATH_MAX, path);
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
				ret = cfg_error_file(err, path, EFBIG);
				goto out;
			}
			if (grow > MAX_FILE_SIZE + 2)
				grow = MAX_FILE_SIZE + 2;
			bigger = realloc(buf, grow);
			if (!bigger) {
				ret = cfg_error_file(err, path, ENOMEM);
				goto out;
			}
			buf = bigger;
			cap = grow;
		}
		got = read(fd, buf + size, cap - size - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = cfg_error_file(err, path, errno);
			goto out;
		}
		if (got == 0)
			break;
		size += got;
	}
	if (size > MAX_FILE_SIZE) {
		ret = cfg_error_file(err, path, EFBIG);
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
	struct cfg_lines *lines;
	int ret;

	if (!err)
		err = &unused;
	lines = malloc(sizeof(*lines));
	if (!lines)
		return cfg_error_file(err, name, ENOMEM);
	ret = cfg_lines_init(lines, name, text, len, err);
	while (!ret && (ret = cfg_lines_next(lines, err)) > 0) {
		char *words[2], why[512];
		struct pc_prefix prefix;
		int n = cfg_split_words(lines->buf, "#;", words, 2);

		ret = 0;
		if (n == 0)
			continue;
		if (n > 1) {
			ret = cfg_error_at(err, -EINVAL, name, lines->number,
					   "unexpected " QW " after " QW, SHOW(words[1]),
					   SHOW(words[0]));
		} else if (pc_parse_prefix(words[0], &prefix, why, sizeof(why))) {
			ret = cfg_error_at(err, -EINVAL, name, lines->number, "%s", why);
		} else if (pc_prefix_list_add(list, &prefix)) {
			ret = cfg_error_at(err, -ENOMEM, name, lines->number, "out of memory");
		}
	}
	free(lines);
	if (ret < 0) {
		list->count = saved;
		return ret;
	}
	return 0;
}

int cfg_parse_file(const char *path, cfg_text_parser *parse, void *into, struct pc_error *err,
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
	ret = parse(path, text, len, into, err);
	if (err_has_location)
		*err_has_location = ret != 0;
	free(text);
	return ret;
}

static int parse_list_text(const char *name, const char *text, size_t len, void *list,
			   struct pc_error *err)
{
	return pc_parse_list_text(name, text, len, list, err);
}

int pc_parse_list_file(const char *path, struct pc_prefix_list *list, struct pc_error *err,
		       bool *err_has_location)
{
	return cfg_parse_file(path, parse_list_text, list, err, err_has_location);
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
			return cfg_error_msg(err, -EINVAL, "bad source '@': empty file name");
		if (item[1] == '/' || !base_dir || !*base_dir)
			len = snprintf(path, sizeof(path), "%.*s", (int)(n - 1), item + 1);
		else
			len = snprintf(path, sizeof(path), "%s%s%.*s", base_dir,
				       base_dir[strlen(base_dir) - 1] == '/' ? "" : "/",
				       (int)(n - 1), item + 1);
		if (len < 0 || (size_t)len >= sizeof(path))
			return cfg_error_msg(err, -EINVAL, "bad source " QW ": file name too long",
					     SHOWN(item, n));
		return pc_parse_list_file(path, list, err, err_has_location);
	}
	/* pc_parse_prefix wants a string; anything longer than an address is bad anyway. */
	if (n >= sizeof(word))
		return cfg_error_msg(err, -EINVAL, "bad address " QW, SHOWN(item, n));
	memcpy(word, item, n);
	word[n] = '\0';
	if (pc_parse_prefix(word, &prefix, why, sizeof(why)))
		return cfg_error_msg(err, -EINVAL, "%s", why);
	if (pc_prefix_list_add(list, &prefix))
		return cfg_error_msg(err, -ENOMEM, "out of memory");
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
		ret = cfg_error_msg(err, -EINVAL, "missing sources");
	while (!ret) {
		size_t len = strcspn(item, ",");

		if (!len)
			ret = cfg_error_msg(err, -EINVAL, "bad source list " QW ": empty item",
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
