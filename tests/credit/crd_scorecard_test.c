/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_scorecard_test.c -- the scorecard format: the default and
 * public scorecards parse and hold against the default catalogue; every
 * refusal names its line, column and reason; canonical text round-trips;
 * crd_scorecard_check refuses what the catalogue does not allow. */
#include "credit/crd.h"
#include "tests/credit/crd_tst.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

#define HDR                                                                    \
	"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"   \
	"scope full\nrange 0 1000\nbase 800\ndispute exclude\n"
#define GRADES "grade A 900\ngrade D 0\n"

static void *
load(const char *path, bool catalogue)
{
	cm_buf  b = {0};
	void   *out = NULL;
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	TST_TRUE(tst_file_read(path, &b));
	if (catalogue)
		rv = crd_catalogue_decode(cm_buf_bytes(&b),
		                          (crd_catalogue **) &out, &d);
	else
		rv = crd_scorecard_decode(cm_buf_bytes(&b),
		                          (crd_scorecard **) &out, &d);
	TST_OK(rv);
	if (rv != CM_OK)
		fprintf(stderr, "%s: %s\n", path, d.msg);
	cm_buf_fini(&b);
	return (out);
}

static void
test_defaults_parse_and_check(void)
{
	crd_catalogue *c = load("credit/data/default.catalogue", true);
	crd_scorecard *s = load("credit/data/default.scorecard", false);
	crd_scorecard *p = load("credit/data/public.scorecard", false);
	cm_diag        d;

	if (c == NULL || s == NULL || p == NULL)
		goto out;
	TST_TRUE(!s->public_ && p->public_);
	TST_EQ_U(s->base, 800);
	TST_TRUE(s->dispute == CRD_DISPUTE_EXCLUDE);
	TST_EQ_U(s->ngrade, 4);
	TST_OK(crd_scorecard_check(s, c, &d));
	TST_OK(crd_scorecard_check(p, c, &d));
	TST_EQ_STR(crd_scorecard_grade(s, 1000), "A");
	TST_EQ_STR(crd_scorecard_grade(s, 900), "A");
	TST_EQ_STR(crd_scorecard_grade(s, 899), "B");
	TST_EQ_STR(crd_scorecard_grade(s, 400), "C");
	TST_EQ_STR(crd_scorecard_grade(s, 0), "D");
	/* The full scorecard, declared public, scores private items. */
	s->public_ = true;
	cm_diag_clear(&d);
	TST_ERR(crd_scorecard_check(s, c, &d), CM_EREF);
	TST_EQ_STR(d.msg, "points for 'violation.samr-warning': a public "
	                  "scorecard scores public items only");
out:
	crd_catalogue_free(c);
	crd_scorecard_free(s);
	crd_scorecard_free(p);
}

static void
test_round_trip(void)
{
	static const char *const files[] = {"credit/data/default.scorecard",
	                                    "credit/data/public.scorecard"};

	for (size_t i = 0; i < 2; i++) {
		crd_scorecard *s = load(files[i], false), *again = NULL;
		cm_buf         e1 = {0}, e2 = {0};
		cm_diag        d;

		if (s == NULL)
			continue;
		TST_OK(crd_scorecard_encode(s, &e1));
		TST_OK(crd_scorecard_decode(cm_buf_bytes(&e1), &again, &d));
		if (again != NULL) {
			TST_TRUE(memcmp(s, again, sizeof(*s)) == 0);
			TST_OK(crd_scorecard_encode(again, &e2));
			TST_TRUE(e1.len == e2.len &&
			         memcmp(e1.p, e2.p, e1.len) == 0);
		}
		TST_TRUE(memchr(e1.p, '#', e1.len) == NULL);
		crd_scorecard_free(s);
		crd_scorecard_free(again);
		cm_buf_fini(&e1);
		cm_buf_fini(&e2);
	}
}

static const refusal refusals[] = {
    {"format tally-credit-catalogue 1\n",
     "line 1 col 8: unknown format name 'tally-credit-catalogue' (want "
     "tally-credit-scorecard)"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope all\n",
     "line 4 col 7: unknown scope 'all' (want full, public)"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope full\nbase 800\n",
     "line 5 col 1: expected 'range' here"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope full\nrange 10 10\n",
     "line 5 col 10: highest score not above the lowest"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope full\nrange 0 1000\nbase 1001\n",
     "line 6 col 6: base score outside the range 0..1000"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope full\nrange 0 1000\nbase +800\n",
     "line 6 col 6: base score must be a decimal integer (a '-' for "
     "negative, no '+', no leading zeros)"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope full\nrange 0 1000\nbase 800\ndispute ignore\n",
     "line 7 col 9: unknown dispute policy 'ignore' (want exclude, count)"},
    {"format tally-credit-scorecard 1\nversion 1\neffective 2026-01-01\n"
     "scope full\nrange 0 1000\nbase 800\ndispute exclude\nscope full\n",
     "line 8 col 1: unknown directive 'scope' (want points, cap, decay, "
     "grade)"},
    {HDR "points a.b grave -5\n",
     "line 8 col 12: unknown severity 'grave' (want light, general, "
     "serious)"},
    {HDR "points a.b light -0\n",
     "line 8 col 18: points must be a decimal integer (a '-' for negative, "
     "no '+', no leading zeros)"},
    {HDR "points a.b light -100001\n",
     "line 8 col 18: points out of range -100000..100000"},
    {HDR "points a.b light -5\npoints a.b light -6\n",
     "line 9 col 12: duplicate points for 'a.b' light"},
    {HDR "cap tax 0 -5\n", "line 8 col 11: cap maximum below its minimum"},
    {HDR "cap tax -5 0\ncap tax -6 0\n", "line 9 col 5: second cap for 'tax'"},
    {HDR "decay tax 1y 101\n",
     "line 8 col 14: percent 101 out of range 0..100"},
    {HDR "decay tax 1y 50\ndecay tax 12m 25\n",
     "line 9 col 11: age not later than the step above for every start "
     "day"},
    {HDR "decay tax 1m 50\ndecay tax 30d 25\n",
     "line 9 col 11: age not later than the step above for every start "
     "day"},
    {HDR "decay tax 1y 50\ndecay tax 2y 60\n",
     "line 9 col 14: percent rises with age"},
    {HDR "grade A 900\ngrade B 900\n",
     "line 9 col 9: grades go from the top down: 900 is not below 900"},
    {HDR "grade A 1001\n",
     "line 8 col 9: grade minimum outside the range 0..1000"},
    {HDR "grade A* 900\n",
     "line 8 col 7: grade label must be 1-16 of [A-Za-z0-9+-]"},
    {HDR "grade A 900\ngrade A 0\n", "line 9 col 7: duplicate grade 'A'"},
    {HDR "grade A 900\npoints a.b light -5\n",
     "line 9 col 1: only grade lines may follow the first grade"},
    {HDR "grade A 900\n",
     "line 8: the last grade must start at the lowest score 0, so every "
     "score has a grade"},
    {HDR, "line 7: the last grade must start at the lowest score 0, so every "
          "score has a grade"},
    {HDR "# a comment\n  # indented comment\n\npoints a.b light -5 # no\n",
     "line 11 col 21: unexpected text at the end of the line"},
};

static cm_err
decode(cm_bytes text, bool *out_null, cm_diag *d)
{
	crd_scorecard *s = (crd_scorecard *) 1;
	cm_err         rv = crd_scorecard_decode(text, &s, d);

	*out_null = s == NULL;
	crd_scorecard_free(s);
	return (rv);
}

static void
test_refusals(void)
{
	crd_tst_refusals(refusals, sizeof(refusals) / sizeof(refusals[0]),
	                 decode, CM_EPROTO);
}

/* crd_scorecard_check against the default catalogue. */
static crd_catalogue *check_cat;

static cm_err
decode_check(cm_bytes text, bool *out_null, cm_diag *d)
{
	crd_scorecard *s = NULL;
	cm_err         rv = crd_scorecard_decode(text, &s, d);

	*out_null = true; /* the check has no output */
	TST_OK(rv);
	if (rv == CM_OK)
		rv = crd_scorecard_check(s, check_cat, d);
	crd_scorecard_free(s);
	return (rv);
}

static void
test_check_refusals(void)
{
	static const refusal cases[] = {
	    {HDR "points tax.unknown general -5\n" GRADES,
	     "points for 'tax.unknown': no such item in catalogue version 1"},
	    {HDR "points violation.samr-restriction light -5\n" GRADES,
	     "points for 'violation.samr-restriction' light: the catalogue "
	     "allows no light for that item"},
	    {HDR "points violation.penalty general 5\n" GRADES,
	     "points for 'violation.penalty' general: 5 has the wrong sign for "
	     "negative category 'violation'"},
	    {HDR "points redlist.listed general -5\n" GRADES,
	     "points for 'redlist.listed' general: -5 has the wrong sign for "
	     "positive category 'redlist'"},
	    {HDR "cap weather -5 0\n" GRADES,
	     "rules for category 'weather': no such category in catalogue "
	     "version 1"},
	    {HDR "decay weather 1y 50\n" GRADES,
	     "rules for category 'weather': no such category in catalogue "
	     "version 1"},
	};

	check_cat = load("credit/data/default.catalogue", true);
	if (check_cat == NULL)
		return;
	crd_tst_refusals(cases, sizeof(cases) / sizeof(cases[0]), decode_check,
	                 CM_EREF);
	crd_catalogue_free(check_cat);
}

TST_MAIN(TST_CASE(test_defaults_parse_and_check), TST_CASE(test_round_trip),
         TST_CASE(test_refusals), TST_CASE(test_check_refusals))
