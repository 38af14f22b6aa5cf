/* SPDX-License-Identifier: MIT */
/* credit/crd_calendar.c -- the working-day calendar file (the days the
 * State Council's annual notice makes holidays, and the weekend days it
 * makes working days in exchange), and the deadlines counted on it.
 * Format: docs/credit.md section 7.  The operator adopts it as a
 * credit.calendar record (credit/crd_adopt.c). */
#include "credit/crd_impl.h"

#include <string.h>

#define MAGIC "tally-credit-calendar"

/* 1970-01-01 was a Thursday: 0 Sunday .. 6 Saturday. */
static int
weekday(crd_day d)
{
	return ((int) (((int64_t) d + 4) % 7 + 7) % 7);
}

static bool
weekend(crd_day d)
{
	int w = weekday(d);

	return (w == 0 || w == 6);
}

static cm_err
d_day(crd_lex *lx, crd_calendar *c, bool working)
{
	crd_calday *e = &c->day[c->nday];
	char        s[11];
	cm_err      rv;

	if (c->nday >= CRD_CAL_DAYS_MAX)
		return (crd_lex_fail(lx,
		                     "more than %d holiday and workday "
		                     "lines",
		                     CRD_CAL_DAYS_MAX));
	if ((rv = crd_lex_day(lx, "date", false, &e->day)) != CM_OK)
		return (rv);
	crd_day_format(e->day, s);
	if (e->day < c->from || e->day > c->to)
		return (crd_lex_fail(lx, "%s is outside the covered days", s));
	if (c->nday > 0 && e->day <= c->day[c->nday - 1].day)
		return (crd_lex_fail(lx, "%s: days go in date order, each once",
		                     s));
	if (working && !weekend(e->day))
		return (crd_lex_fail(lx,
		                     "%s is a weekday: a workday line names a "
		                     "Saturday or Sunday made a working day",
		                     s));
	if (!working && weekend(e->day))
		return (crd_lex_fail(lx,
		                     "%s is a Saturday or Sunday: not a "
		                     "working day already, so no holiday line",
		                     s));
	e->working = working;
	if ((rv = crd_lex_rest(lx, "name", e->name)) != CM_OK)
		return (rv);
	c->nday++;
	return (CM_OK);
}

cm_err
crd_calendar_decode(cm_bytes text, crd_calendar **out, cm_diag *d)
{
	static const char *const dirs[] = {"holiday", "workday"};
	crd_calendar            *c;
	crd_lex                  lx;
	cm_err                   rv;
	int                      k;

	*out = NULL;
	if ((rv = crd_lex_init(&lx, text, d)) != CM_OK)
		return (rv);
	if ((c = cm_calloc(1, sizeof(*c))) == NULL)
		return (CM_ENOMEM);
	if ((rv = crd_lex_header(&lx, MAGIC, &c->version, &c->effective)) !=
	        CM_OK ||
	    (rv = crd_lex_expect(&lx, "covers")) != CM_OK ||
	    (rv = crd_lex_day(&lx, "first day", false, &c->from)) != CM_OK ||
	    (rv = crd_lex_day(&lx, "last day", false, &c->to)) != CM_OK)
		goto out;
	if (c->to < c->from || c->to - c->from >= CRD_CAL_SPAN_MAX) {
		rv = crd_lex_fail(&lx,
		                  "the last day must be on or after the "
		                  "first, at most %d days on",
		                  CRD_CAL_SPAN_MAX - 1);
		goto out;
	}
	if ((rv = crd_lex_end(&lx)) != CM_OK ||
	    (rv = crd_lex_expect(&lx, "source")) != CM_OK ||
	    (rv = crd_lex_rest(&lx, "source", c->source)) != CM_OK)
		goto out;
	while (crd_lex_line(&lx, &rv))
		if ((rv = crd_lex_keyword(&lx, "directive", dirs, 2, &k)) !=
		        CM_OK ||
		    (rv = d_day(&lx, c, k == 1)) != CM_OK ||
		    (rv = crd_lex_end(&lx)) != CM_OK)
			goto out;
	if (rv != CM_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	cm_free(c);
	return (rv);
}

void
crd_calendar_free(crd_calendar *c)
{
	cm_free(c);
}

cm_err
crd_calendar_encode(const crd_calendar *c, cm_buf *b)
{
	cm_err rv;

	if ((rv = crd_put_header(b, MAGIC, c->version, c->effective)) !=
	        CM_OK ||
	    (rv = cm_buf_printf(b, "covers")) != CM_OK ||
	    (rv = crd_put_day(b, c->from)) != CM_OK ||
	    (rv = crd_put_day(b, c->to)) != CM_OK ||
	    (rv = cm_buf_printf(b, "\nsource %s\n", c->source)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < c->nday && rv == CM_OK; i++) {
		if ((rv = cm_buf_printf(
		         b, "%s", c->day[i].working ? "workday" : "holiday")) !=
		        CM_OK ||
		    (rv = crd_put_day(b, c->day[i].day)) != CM_OK)
			return (rv);
		rv = cm_buf_printf(b, " %s\n", c->day[i].name);
	}
	return (rv);
}

bool
crd_workday(const crd_calendar *c, crd_day d, bool *outside)
{
	size_t lo = 0, hi;

	if (c == NULL || d < c->from || d > c->to) {
		if (outside != NULL)
			*outside = true;
		return (!weekend(d));
	}
	/* Binary search of the sorted exceptions. */
	hi = c->nday;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->day[mid].day < d)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nday && c->day[lo].day == d)
		return (c->day[lo].working);
	return (!weekend(d));
}

crd_day
crd_deadline_day(const crd_calendar *c, crd_day start, crd_deadline dl,
                 bool *outside)
{
	crd_day d = start;

	if (!dl.set)
		return (CRD_DAY_OPEN);
	if (dl.clock == CRD_CAL)
		return ((crd_day) (start + (int64_t) dl.n));
	/* The nth working day after start (start itself not counted): a
	 * step of 1wd opened on a Friday is due on Monday.  n <= 366, and a
	 * week always holds a working day outside a calendar, and inside
	 * one at most CRD_CAL_DAYS_MAX days are holidays, so this ends. */
	for (uint32_t n = 0; n < dl.n;)
		if (crd_workday(c, ++d, outside))
			n++;
	return (d);
}
