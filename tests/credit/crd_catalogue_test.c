/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_catalogue_test.c -- the catalogue format: the default
 * catalogue parses with its items and rules; every refusal names its line,
 * column and reason; canonical text round-trips; periods add calendar
 * months as docs/credit.md says. */
#include "credit/crd.h"
#include "tests/credit/crd_tst.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

#define HDR "format tally-credit-catalogue 1\nversion 1\neffective 2026-01-01\n"
#define DECL                                                                   \
	"category violation negative\n"                                        \
	"category redlist positive\n"                                          \
	"source s1 A document\n"                                               \
	"forbid religion\n"                                                    \
	"regime city 1wd 2wd 5wd s1 Art. 36\n"
#define ITEM                                                                   \
	"item v.p violation penalty public repairable city\n"                  \
	"fields decision_no\n"
#define RULE "rule general 3m 1y decision 2020-01-01 - s1 Art. 1\n"

static crd_catalogue *
load_default(void)
{
	cm_buf         b = {0};
	crd_catalogue *c = NULL;
	cm_diag        d;

	cm_diag_clear(&d);
	TST_TRUE(tst_file_read("credit/data/default.catalogue", &b));
	TST_OK(crd_catalogue_decode(cm_buf_bytes(&b), &c, &d));
	if (c == NULL)
		fprintf(stderr, "default.catalogue: %s\n", d.msg);
	cm_buf_fini(&b);
	return (c);
}

static void
test_default_parses(void)
{
	crd_catalogue  *c = load_default();
	const crd_item *it;
	const crd_rule *r;
	crd_day         day;

	if (c == NULL)
		return;
	TST_EQ_U(c->version, 1);
	TST_EQ_U(c->ncat, 8);
	TST_TRUE(crd_catalogue_category(c, CM_BYTES("redlist", 7)) >= 0);
	TST_TRUE(
	    c->cat[crd_catalogue_category(c, CM_BYTES("redlist", 7))].positive);
	it = crd_catalogue_item(c, CM_BYTES("violation.penalty", 17));
	TST_TRUE(it != NULL);
	if (it == NULL)
		goto out;
	/* A serious penalty decided in 2020 follows 527号: 6 months to 3
	 * years; one decided in 2026-05 follows the 2026 measures: 1 to 3. */
	TST_OK(crd_day_parse("2020-06-01", 10, &day));
	r = crd_item_rule(it, CRD_SERIOUS, day);
	TST_TRUE(r != NULL && r->min.n == 6 && r->min.unit == CRD_MONTHS &&
	         r->max.n == 3 && r->max.unit == CRD_YEARS);
	TST_OK(crd_day_parse("2026-05-01", 10, &day));
	r = crd_item_rule(it, CRD_SERIOUS, day);
	TST_TRUE(r != NULL && r->min.n == 1 && r->min.unit == CRD_YEARS);
	/* No light penalty rule before 2025-06-22. */
	TST_OK(crd_day_parse("2024-01-01", 10, &day));
	TST_TRUE(crd_item_rule(it, CRD_LIGHT, day) == NULL);
	it = crd_catalogue_item(c, CM_BYTES("loan.overdue", 12));
	TST_TRUE(it != NULL && !it->public_ && !it->repairable &&
	         it->rule[0].anchor == CRD_FROM_END);
	it = crd_catalogue_item(c, CM_BYTES("violation.samr-warning", 22));
	TST_TRUE(it != NULL && !it->public_);
	TST_TRUE(crd_catalogue_item(c, CM_BYTES("violation", 9)) == NULL);
out:
	crd_catalogue_free(c);
}

static void
test_round_trip(void)
{
	crd_catalogue *c = load_default(), *again = NULL;
	cm_buf         e1 = {0}, e2 = {0};
	cm_diag        d;

	if (c == NULL)
		return;
	TST_OK(crd_catalogue_encode(c, &e1));
	TST_OK(crd_catalogue_decode(cm_buf_bytes(&e1), &again, &d));
	if (again != NULL) {
		TST_TRUE(memcmp(c, again, sizeof(*c)) == 0);
		TST_OK(crd_catalogue_encode(again, &e2));
		TST_EQ_U(e1.len, e2.len);
		TST_TRUE(e1.len == e2.len && memcmp(e1.p, e2.p, e1.len) == 0);
	}
	/* Canonical text has no comments and no blank lines. */
	TST_TRUE(memchr(e1.p, '#', e1.len) == NULL);
	TST_TRUE(e1.len > 0 && e1.p[e1.len - 1] == '\n');
	for (size_t i = 1; i < e1.len; i++)
		TST_TRUE(!(e1.p[i] == '\n' && e1.p[i - 1] == '\n'));
	crd_catalogue_free(again);
	crd_catalogue_free(c);
	cm_buf_fini(&e1);
	cm_buf_fini(&e2);
}

static void
test_minimal_and_missing_final_lf(void)
{
	static const char text[] =
	    HDR DECL ITEM "rule general 3m 1y decision 2020-01-01 - s1 Art. 1";
	crd_catalogue *c = NULL;
	cm_diag        d;

	TST_OK(crd_catalogue_decode(CM_BYTES(text, sizeof(text) - 1), &c, &d));
	TST_TRUE(c != NULL && c->nitem == 1 && c->item[0].nrule == 1 &&
	         c->item[0].rule[0].to == CRD_DAY_OPEN);
	crd_catalogue_free(c);
}

static const refusal refusals[] = {
    {"", "line 0: end of file before 'format'"},
    {"format tally-credit-scorecard 1\n",
     "line 1 col 8: unknown format name 'tally-credit-scorecard' (want "
     "tally-credit-catalogue)"},
    {"format tally-credit-catalogue 2\n",
     "line 1 col 31: format version 2 out of range 1..1"},
    {"format tally-credit-catalogue 1\nversion 0\n",
     "line 2 col 9: version 0 out of range 1..999999999"},
    {"format tally-credit-catalogue 1\nversion 01\n",
     "line 2 col 9: version must be a decimal integer without sign or "
     "leading zeros"},
    {"format tally-credit-catalogue 1\neffective 2026-01-01\n",
     "line 2 col 1: expected 'version' here"},
    {"format tally-credit-catalogue 1\nversion 1\neffective 2026-02-30\n",
     "line 3 col 11: effective date must be a date YYYY-MM-DD"},
    {HDR "colour red\n",
     "line 4 col 1: unknown directive 'colour' (want category, source, "
     "forbid, regime, item, fields, rule)"},
    {HDR "category violation negative extra\n",
     "line 4 col 29: unexpected text at the end of the line"},
    {HDR "category violation neutral\n",
     "line 4 col 20: unknown polarity 'neutral' (want negative, "
     "positive)"},
    {HDR "category Violation negative\n",
     "line 4 col 10: category must be 1-40 of [a-z0-9._-] starting with "
     "a letter"},
    {HDR "category v negative\ncategory v positive\n",
     "line 5 col 10: duplicate category 'v'"},
    {HDR "category v negative \n", "line 4 col 20: trailing space"},
    {HDR "category\tv negative\n", "line 4 col 9: tab (separate with spaces)"},
    {HDR "category v negative\r\n",
     "line 4 col 20: carriage return (lines end with LF only)"},
    {HDR "   \n", "line 4 col 1: blank line with spaces"},
    {HDR "source s1\n", "line 4 col 10: missing source title"},
    {HDR DECL "regime r2 1x - 5wd s1 A\n",
     "line 9 col 11: mark deadline must be '-', Nd (calendar days) or Nwd "
     "(working days), N in 1..366"},
    {HDR DECL "regime r2 - - - s1 A\n",
     "line 9 col 15: a regime needs a decide deadline"},
    {HDR DECL "regime r2 - - 20d s9 A\n",
     "line 9 col 19: unknown source 's9' (not declared above)"},
    {HDR DECL "item v.p loan penalty public repairable city\n",
     "line 9 col 10: unknown category 'loan' (not declared above)"},
    {HDR DECL "item v.p violation penalty open repairable city\n",
     "line 9 col 28: unknown publicity 'open' (want private, public)"},
    {HDR DECL "item v.p violation penalty public repairable court\n",
     "line 9 col 46: unknown regime 'court' (not declared above)"},
    {HDR DECL ITEM RULE "item v.p violation penalty public final city\n",
     "line 12 col 6: duplicate item 'v.p'"},
    {HDR DECL ITEM "fields other\n" RULE,
     "line 11 col 1: second 'fields' line of item 'v.p'"},
    {HDR DECL "item v.p violation penalty public repairable city\n"
              "fields a b a\n",
     "line 10 col 12: duplicate field 'a'"},
    {HDR DECL "item v.p violation penalty public repairable city\n"
              "fields a religion\n",
     "line 10 col 10: field 'religion' is forbidden above"},
    {HDR DECL ITEM RULE "forbid decision_no\n",
     "line 12 col 8: item 'v.p' above collects 'decision_no'"},
    {HDR DECL "fields a\n", "line 9 col 1: 'fields' outside an item"},
    {HDR DECL RULE, "line 9 col 1: 'rule' outside an item"},
    {HDR DECL ITEM "rule grave 3m 1y decision 2020-01-01 - s1 A\n",
     "line 11 col 6: unknown severity 'grave' (want light, general, "
     "serious)"},
    {HDR DECL ITEM "rule general 1y 3m decision 2020-01-01 - s1 A\n",
     "line 11 col 17: minimum period is not at most the maximum for every "
     "start day"},
    {HDR DECL ITEM "rule general 30d 1m decision 2020-01-01 - s1 A\n",
     "line 11 col 18: minimum period is not at most the maximum for every "
     "start day"},
    {HDR DECL ITEM "rule general 3w 1y decision 2020-01-01 - s1 A\n",
     "line 11 col 14: minimum period must be a period: digits then d, m or "
     "y (3m, 1y, 20d)"},
    {HDR DECL ITEM "rule general 3m 101y decision 2020-01-01 - s1 A\n",
     "line 11 col 17: maximum period over 100y"},
    {HDR DECL ITEM "rule general 3m 1y decided 2020-01-01 - s1 A\n",
     "line 11 col 20: unknown counted-from 'decided' (want decision, "
     "publication, end)"},
    {HDR DECL ITEM "rule general 3m 1y decision 2020-01-01 2020-01-01 s1 A\n",
     "line 11 col 40: to date is not after from date"},
    {HDR DECL ITEM "rule general 3m 1y decision 2020-01-01 2021-01-01 s1 A\n"
                   "rule general 3m 1y decision 2020-12-31 - s1 B\n",
     "line 12 col 29: general dates overlap another general rule of item "
     "'v.p'"},
    {HDR DECL ITEM "rule general 3m 1y decision 2020-01-01 - s1\n",
     "line 11 col 44: missing article"},
    {HDR DECL "item v.p violation penalty public repairable city\n" RULE,
     "line 9 col 1: item 'v.p' has no 'fields' line"},
    {HDR DECL ITEM "item v.q violation penalty public repairable city\n",
     "line 9 col 1: item 'v.p' has no 'rule' line"},
    {HDR DECL, "line 8: the catalogue has no item"},
    {HDR "source s1 \xff\n", "line 4 col 1: invalid UTF-8"},
};

static cm_err
decode(cm_bytes text, bool *out_null, cm_diag *d)
{
	crd_catalogue *c = (crd_catalogue *) 1;
	cm_err         rv = crd_catalogue_decode(text, &c, d);

	*out_null = c == NULL;
	crd_catalogue_free(c);
	return (rv);
}

static void
test_refusals(void)
{
	crd_tst_refusals(refusals, sizeof(refusals) / sizeof(refusals[0]),
	                 decode, CM_EPROTO);
}

static void
test_limits(void)
{
	cm_buf         b = {0};
	crd_catalogue *c = NULL;
	cm_diag        d;

	/* One category too many. */
	cm_diag_clear(&d);
	TST_OK(cm_buf_printf(&b, HDR));
	for (int i = 0; i <= CRD_CAT_MAX; i++)
		TST_OK(cm_buf_printf(&b, "category c%d negative\n", i));
	TST_ERR(crd_catalogue_decode(cm_buf_bytes(&b), &c, &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "line 20 col 10: one category too many (limit 16)");
	TST_TRUE(c == NULL);
	/* A file over the limit is refused before it is read. */
	cm_diag_clear(&d);
	cm_buf_reset(&b);
	TST_OK(cm_buf_reserve(&b, CRD_FILE_MAX + 1));
	memset(b.p, '#', CRD_FILE_MAX + 1);
	b.len = CRD_FILE_MAX + 1;
	TST_ERR(crd_catalogue_decode(cm_buf_bytes(&b), &c, &d), CM_ETOOBIG);
	/* A line over CRD_LINE_MAX. */
	cm_diag_clear(&d);
	cm_buf_reset(&b);
	TST_OK(cm_buf_printf(&b, HDR "source s1 "));
	for (int i = 0; i < CRD_LINE_MAX; i++)
		TST_OK(cm_buf_append_byte(&b, 'x'));
	TST_ERR(crd_catalogue_decode(cm_buf_bytes(&b), &c, &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "line 4 col 513: line longer than 512 bytes");
	TST_TRUE(c == NULL);
	cm_buf_fini(&b);
}

static void
test_periods(void)
{
	crd_day    a, want;
	crd_period m1 = {1, CRD_MONTHS}, y1 = {1, CRD_YEARS},
	           d30 = {30, CRD_DAYS};
	char s[11];

	TST_OK(crd_day_parse("2024-01-31", 10, &a));
	TST_OK(crd_day_parse("2024-02-29", 10, &want));
	TST_EQ_U(crd_period_end(m1, a), want);
	TST_OK(crd_day_parse("2024-02-29", 10, &a));
	TST_OK(crd_day_parse("2025-02-28", 10, &want));
	TST_EQ_U(crd_period_end(y1, a), want);
	TST_OK(crd_day_parse("2025-12-15", 10, &a));
	TST_OK(crd_day_parse("2026-01-14", 10, &want));
	TST_EQ_U(crd_period_end(d30, a), want);
	crd_day_format(want, s);
	TST_EQ_STR(s, "2026-01-14");
	TST_ERR(crd_day_parse("2026-1-14", 9, &a), CM_EPROTO);
	TST_ERR(crd_day_parse("2026-01-14T00", 13, &a), CM_EPROTO);
}

TST_MAIN(TST_CASE(test_default_parses), TST_CASE(test_round_trip),
         TST_CASE(test_minimal_and_missing_final_lf), TST_CASE(test_refusals),
         TST_CASE(test_limits), TST_CASE(test_periods))
