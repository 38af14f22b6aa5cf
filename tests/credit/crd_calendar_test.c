/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_calendar_test.c -- the working-day calendar: the 2026
 * file parses and round-trips; every refusal names its line, column and
 * reason; working-day deadlines, counted by hand, across holidays and
 * make-up working days, and outside the calendar Monday to Friday. */
#include "credit/crd.h"
#include "tests/credit/crd_tst.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

#define HDR                                                                    \
	"format tally-credit-calendar 1\nversion 1\neffective 2026-01-01\n"    \
	"covers 2026-01-01 2026-12-31\nsource the notice\n"

static crd_calendar *
load(void)
{
	cm_buf        b = {0};
	crd_calendar *c = NULL;
	cm_diag       d;

	cm_diag_clear(&d);
	TST_TRUE(tst_file_read("credit/data/2026.calendar", &b));
	TST_OK(crd_calendar_decode(cm_buf_bytes(&b), &c, &d));
	if (c == NULL)
		fprintf(stderr, "2026.calendar: %s\n", d.msg);
	cm_buf_fini(&b);
	return (c);
}

static crd_day
day(const char *s)
{
	crd_day out = 0;

	TST_OK(crd_day_parse(s, strlen(s), &out));
	return (out);
}

static void
due(const crd_calendar *c, const char *start, uint32_t n, crd_clock clock,
    const char *want, bool want_outside)
{
	crd_deadline dl = {.set = true, .n = n, .clock = clock};
	bool         outside = false;
	char         got[11];

	crd_day_format(crd_deadline_day(c, day(start), dl, &outside), got);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s + %u%s: got %s, want %s\n", start, n,
		        clock == CRD_CAL ? "d" : "wd", got, want);
	TST_EQ_STR(got, want);
	TST_TRUE(outside == want_outside);
}

static void
test_deadlines(void)
{
	crd_calendar *c = load();
	crd_deadline  none = {.set = false};

	if (c == NULL)
		return;
	TST_EQ_U(c->nday, 25);
	/* Thursday 24 September: Friday 25 is Mid-Autumn, then the weekend;
	 * 28, 29, 30 September, then National Day (1-7 October; 3 and 4 a
	 * weekend anyway), then Thursday 8 (4) and Friday 9 (5). */
	due(c, "2026-09-24", 1, CRD_WORKDAYS, "2026-09-28", false);
	due(c, "2026-09-24", 5, CRD_WORKDAYS, "2026-10-09", false);
	/* Thursday 8 October: Friday 9 (1), the make-up Saturday 10 (2),
	 * Monday 12 (3), 13 (4), 14 (5). */
	due(c, "2026-10-08", 2, CRD_WORKDAYS, "2026-10-10", false);
	due(c, "2026-10-08", 5, CRD_WORKDAYS, "2026-10-14", false);
	/* Friday 18 September: the make-up Sunday 20 is the next one. */
	due(c, "2026-09-18", 1, CRD_WORKDAYS, "2026-09-20", false);
	/* Friday 13 February: Saturday 14 worked (1), Monday 16 to Monday
	 * 23 off, Tuesday 24 (2), ... Friday 27 (5), Saturday 28 (6). */
	due(c, "2026-02-13", 2, CRD_WORKDAYS, "2026-02-24", false);
	due(c, "2026-02-13", 6, CRD_WORKDAYS, "2026-02-28", false);
	/* Calendar days ignore all that: 20 days of loan data. */
	due(c, "2026-09-24", 20, CRD_CAL, "2026-10-14", false);
	/* Past the covered days: Monday to Friday, and said so.  Thursday
	 * 31 December 2026: Friday 1 January 2027 (a holiday in fact, but
	 * no calendar says so yet). */
	due(c, "2026-12-31", 1, CRD_WORKDAYS, "2027-01-01", true);
	due(NULL, "2026-09-24", 1, CRD_WORKDAYS, "2026-09-25", true);
	TST_TRUE(crd_deadline_day(c, day("2026-01-05"), none, NULL) ==
	         CRD_DAY_OPEN);
	TST_TRUE(!crd_workday(c, day("2026-10-01"), NULL));
	TST_TRUE(crd_workday(c, day("2026-10-10"), NULL));
	TST_TRUE(!crd_workday(c, day("2026-10-11"), NULL));
	TST_TRUE(crd_workday(c, day("2026-10-12"), NULL));
	crd_calendar_free(c);
}

static void
test_round_trip(void)
{
	crd_calendar *c = load(), *again = NULL;
	cm_buf        e1 = {0}, e2 = {0};
	cm_diag       d;

	if (c == NULL)
		return;
	TST_OK(crd_calendar_encode(c, &e1));
	TST_OK(crd_calendar_decode(cm_buf_bytes(&e1), &again, &d));
	if (again != NULL) {
		TST_TRUE(memcmp(c, again, sizeof(*c)) == 0);
		TST_OK(crd_calendar_encode(again, &e2));
		TST_TRUE(e1.len == e2.len && memcmp(e1.p, e2.p, e1.len) == 0);
	}
	TST_TRUE(memchr(e1.p, '#', e1.len) == NULL);
	crd_calendar_free(c);
	crd_calendar_free(again);
	cm_buf_fini(&e1);
	cm_buf_fini(&e2);
}

static cm_err
decode(cm_bytes text, bool *out_null, cm_diag *d)
{
	crd_calendar *c = NULL;
	cm_err        rv = crd_calendar_decode(text, &c, d);

	*out_null = c == NULL;
	crd_calendar_free(c);
	return (rv);
}

static void
test_refusals(void)
{
	static const refusal r[] = {
	    {"format tally-credit-scorecard 1\n",
	     "line 1 col 8: unknown format name 'tally-credit-scorecard' "
	     "(want tally-credit-calendar)"},
	    {"format tally-credit-calendar 1\nversion 1\neffective "
	     "2026-01-01\nsource x\n",
	     "line 4 col 1: expected 'covers' here"},
	    {"format tally-credit-calendar 1\nversion 1\neffective "
	     "2026-01-01\ncovers 2026-02-01 2026-01-31\nsource x\n",
	     "line 4 col 19: the last day must be on or after the first, at "
	     "most 3659 days on"},
	    {HDR "holiday 2026-01-03 x\n",
	     "line 6 col 9: 2026-01-03 is a Saturday or Sunday: not a "
	     "working day already, so no holiday line"},
	    {HDR "workday 2026-01-05 x\n",
	     "line 6 col 9: 2026-01-05 is a weekday: a workday line names a "
	     "Saturday or Sunday made a working day"},
	    {HDR "holiday 2026-01-02 x\nholiday 2026-01-01 y\n",
	     "line 7 col 9: 2026-01-01: days go in date order, each once"},
	    {HDR "holiday 2026-01-02 x\nholiday 2026-01-02 y\n",
	     "line 7 col 9: 2026-01-02: days go in date order, each once"},
	    {HDR "holiday 2027-01-01 x\n",
	     "line 6 col 9: 2027-01-01 is outside the covered days"},
	    {HDR "holiday 2026-01-02\n", "line 6 col 19: missing name"},
	    {HDR "holiday 2026-02-30 x\n",
	     "line 6 col 9: date must be a date YYYY-MM-DD"},
	    {HDR "vacation 2026-01-02 x\n",
	     "line 6 col 1: unknown directive 'vacation' (want holiday, "
	     "workday)"},
	};

	crd_tst_refusals(r, sizeof(r) / sizeof(r[0]), decode, CM_EPROTO);
}

TST_MAIN(TST_CASE(test_deadlines), TST_CASE(test_round_trip),
         TST_CASE(test_refusals))
