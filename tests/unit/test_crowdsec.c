// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Local API's durations (Go's time.Duration text), as the decision
 * stream writes them: remaining times of new decisions, negative ones of
 * deleted decisions. One row per case; a bad one must be refused, never
 * read as some other time.
 */
#include <errno.h>
#include <string.h>

#include "testing.h"
#include "loader/crowdsec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MS	      1000000LL
#define S	      (1000 * MS)

static const struct {
	const char *text;
	int err;
	long long ns;
} cases[] = {
	{ "3h59m58.123456789s", 0, (3 * 3600 + 59 * 60 + 58) * S + 123456789 },
	{ "29m59.208861398s", 0, (29 * 60 + 59) * S + 208861398 },
	{ "-52.862073ms", 0, -52862073 },
	{ "4h", 0, 4 * 3600 * S },
	{ "168h0m0s", 0, 168 * 3600 * S },
	{ "1.5h", 0, 5400 * S },
	{ "1500us", 0, 1500000 },
	{ "1500\xc2\xb5s", 0, 1500000 },
	{ "250ns", 0, 250 },
	{ "0", 0, 0 },
	{ "", -EINVAL, 0 },
	{ "-", -EINVAL, 0 },
	{ "10", -EINVAL, 0 },
	{ "5d", -EINVAL, 0 },
	{ "1h-5m", -EINVAL, 0 },
	{ "h", -EINVAL, 0 },
	{ "3m junk", -EINVAL, 0 },
	{ "99999999999h", -ERANGE, 0 },
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		__s64 ns = 0;
		int err = pc_crowdsec_parse_duration(cases[i].text, &ns);

		test_begin("crowdsec: duration '%s'", cases[i].text);
		CHECK_INT(err, cases[i].err);
		if (!cases[i].err)
			CHECK(ns == cases[i].ns, "%lld ns, expected %lld", (long long)ns,
			      cases[i].ns);
		test_end();
	}
	return test_failures ? 1 : 0;
}
