/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the three parts of the config parser share, and nothing else
 * includes: config_words.c (the token parsers the command line uses too),
 * config_files.c (reading a file, the trust check, lines, list files and
 * source lists) and config.c (the grammar); cli.c borrows cfg_suggest.
 *
 * Messages are short and lower-case and quote the offending word, cut to
 * SHOW_MAX characters so a 4 KiB token cannot drown the message.
 */
#ifndef PORTCULLIS_CONFIG_INTERNAL_H
#define PORTCULLIS_CONFIG_INTERNAL_H

#include <string.h>

#include "config.h"

#define NSEC_PER_SEC	1000000000ULL
#define MAX_DURATION_NS (36500ULL * 86400 * NSEC_PER_SEC) /* 100 years: now + ban never wraps */
#define MAX_FILE_SIZE	(64U << 20)			  /* config and list files */
#define SHOW_MAX	64				  /* longest word quoted in full */
#define BLANKS		" \t\r\f\v"

/* A quoted word in a message: printf("bad port " QW, SHOWN(p, n)). */
#define QW	    "'%.*s%s'"
#define SHOWN(s, n) (int)((n) > SHOW_MAX ? SHOW_MAX : (n)), (s), ((n) > SHOW_MAX ? "..." : "")
#define SHOW(s)	    SHOWN(s, strlen(s))

/* "tcp", "udp": by enum pc_proto. */
extern const char *const cfg_proto_names[PC_PROTOS];

/* Formats WHY (may be NULL) and returns -EINVAL, for the token parsers. */
__attribute__((format(printf, 3, 4))) int cfg_fail(char *why, size_t why_len, const char *fmt, ...);
/* A message without location into ERR, ending in "..." if it was cut; returns RET. */
__attribute__((format(printf, 3, 4))) int cfg_error_msg(struct pc_error *err, int ret,
							const char *fmt, ...);
/* "FILE:LINE: message"; returns RET. */
__attribute__((format(printf, 5, 6))) int
cfg_error_at(struct pc_error *err, int ret, const char *file, int line, const char *fmt, ...);
/* "FILE: strerror" for a file that cannot be read; returns -ERRNUM. */
int cfg_error_file(struct pc_error *err, const char *file, int errnum);

/* Decimal digits only. 0, -EINVAL (not a number) or -ERANGE (above MAX). */
int cfg_parse_uint(const char *s, size_t n, __u64 max, __u64 *out);
/* "10m" for 600 s: the largest unit that divides NS; NS is whole seconds. */
void cfg_format_duration(__u64 ns, char *buf, size_t len);
/* Edit distance (swaps of neighbours count one), for "did you mean"; SIZE_MAX for words
 * over 31 characters. */
size_t cfg_edit_distance(const char *a, const char *b);
#define CFG_SUGGEST_EDITS 3 /* "did you mean" only for fewer edits than this */
/* Copies CANDIDATE into CLOSEST if it is nearer to WORD than *BEST edits. */
void cfg_suggest(const char *word, const char *candidate, char *closest, size_t len, size_t *best);

/*
 * Lines of a config or list file, copied one at a time into BUF without
 * their newline (and a trailing CR). Binary content and over-long lines are
 * errors in the file's own FILE:LINE.
 */
struct cfg_lines {
	const char *name;
	const char *text;
	size_t len;
	size_t pos;
	int number;
	char buf[PC_CONFIG_MAX_LINE + 1];
};

int cfg_lines_init(struct cfg_lines *lines, const char *name, const char *text, size_t len,
		   struct pc_error *err);
/* 1 with the next line in lines->buf, 0 at the end, or -EINVAL. */
int cfg_lines_next(struct cfg_lines *lines, struct pc_error *err);
/*
 * Cuts LINE at the first of COMMENT and splits it at blanks. Returns the
 * number of words; only the first MAX words are stored.
 */
int cfg_split_words(char *line, const char *comment, char **words, int max);
/* A parser of a file's text (a config, a list) into INTO; errors are "NAME:LINE: message". */
typedef int cfg_text_parser(const char *name, const char *text, size_t len, void *into,
			    struct pc_error *err);
/*
 * Reads PATH (a regular file no other user can change) and parses its text
 * with PARSE. *ERR_HAS_LOCATION (may be NULL)
 * tells a parse error ("FILE:LINE: ...") from a read error ("FILE: ...").
 */
int cfg_parse_file(const char *path, cfg_text_parser *parse, void *into, struct pc_error *err,
		   bool *err_has_location);

#endif /* PORTCULLIS_CONFIG_INTERNAL_H */
