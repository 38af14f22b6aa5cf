/* SPDX-License-Identifier: MIT */
/* credit/crd_scorecard.c -- the scorecard file: scope, range, base score,
 * dispute policy, then points per (item, severity), caps and decay steps
 * per category, and grade bands from the top down.  Alone it is checked for
 * internal sense; crd_scorecard_check holds it against a catalogue.
 * Format: docs/credit.md section 3. */
#include "credit/crd_impl.h"

#include <string.h>

#define MAGIC "tally-credit-scorecard"

static cm_err
preamble(crd_lex *lx, crd_scorecard *s)
{
	static const char *const scope[] = {"full", "public"};
	static const char *const disp[] = {"exclude", "count"};
	int                      k;
	cm_err                   rv;

	if ((rv = crd_lex_expect(lx, "scope")) != CM_OK ||
	    (rv = crd_lex_keyword(lx, "scope", scope, 2, &k)) != CM_OK ||
	    (rv = crd_lex_end(lx)) != CM_OK)
		return (rv);
	s->public_ = k == 1;
	if ((rv = crd_lex_expect(lx, "range")) != CM_OK ||
	    (rv = crd_lex_int(lx, "lowest score", CRD_POINTS_LIMIT, &s->lo)) !=
	        CM_OK ||
	    (rv = crd_lex_int(lx, "highest score", CRD_POINTS_LIMIT, &s->hi)) !=
	        CM_OK)
		return (rv);
	if (s->hi <= s->lo)
		return (crd_lex_fail(lx, "highest score not above the lowest"));
	if ((rv = crd_lex_end(lx)) != CM_OK ||
	    (rv = crd_lex_expect(lx, "base")) != CM_OK ||
	    (rv = crd_lex_int(lx, "base score", CRD_POINTS_LIMIT, &s->base)) !=
	        CM_OK)
		return (rv);
	if (s->base < s->lo || s->base > s->hi)
		return (crd_lex_fail(lx, "base score outside the range %d..%d",
		                     s->lo, s->hi));
	if ((rv = crd_lex_end(lx)) != CM_OK ||
	    (rv = crd_lex_expect(lx, "dispute")) != CM_OK ||
	    (rv = crd_lex_keyword(lx, "dispute policy", disp, 2, &k)) != CM_OK)
		return (rv);
	s->dispute = k == 0 ? CRD_DISPUTE_EXCLUDE : CRD_DISPUTE_COUNT;
	return (crd_lex_end(lx));
}

static cm_err
d_points(crd_lex *lx, crd_scorecard *s)
{
	crd_points p;
	cm_err     rv;

	memset(&p, 0, sizeof(p)); /* parsed structs compare with memcmp */
	if ((rv = crd_lex_name(lx, "item", p.item)) != CM_OK ||
	    (rv = crd_lex_severity(lx, &p.severity)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < s->npoints; i++)
		if (strcmp(s->points[i].item, p.item) == 0 &&
		    s->points[i].severity == p.severity)
			return (crd_lex_fail(lx, "duplicate points for '%s' %s",
			                     p.item,
			                     crd_severity_name(p.severity)));
	if (s->npoints >= CRD_POINTS_MAX)
		return (crd_lex_fail(lx, "more than %d points lines",
		                     CRD_POINTS_MAX));
	if ((rv = crd_lex_int(lx, "points", CRD_POINTS_LIMIT, &p.points)) !=
	    CM_OK)
		return (rv);
	s->points[s->npoints++] = p;
	return (CM_OK);
}

/* The rules of the category named next on the line, added if new. */
static cm_err
cat_rule(crd_lex *lx, crd_scorecard *s, crd_cat_rule **out)
{
	char   name[CRD_NAME_MAX + 1] = {0};
	cm_err rv;

	if ((rv = crd_lex_name(lx, "category", name)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < s->ncat; i++)
		if (strcmp(s->cat[i].category, name) == 0) {
			*out = &s->cat[i];
			return (CM_OK);
		}
	if (s->ncat >= CRD_CAT_MAX)
		return (
		    crd_lex_fail(lx, "more than %d categories", CRD_CAT_MAX));
	*out = &s->cat[s->ncat++];
	memcpy((*out)->category, name, sizeof(name));
	return (CM_OK);
}

static cm_err
d_cap(crd_lex *lx, crd_scorecard *s)
{
	crd_cat_rule *r;
	cm_err        rv;
	int32_t       lo, hi;

	if ((rv = cat_rule(lx, s, &r)) != CM_OK)
		return (rv);
	if (r->has_cap)
		return (crd_lex_fail(lx, "second cap for '%s'", r->category));
	if ((rv = crd_lex_int(lx, "cap minimum", CRD_POINTS_LIMIT, &lo)) !=
	        CM_OK ||
	    (rv = crd_lex_int(lx, "cap maximum", CRD_POINTS_LIMIT, &hi)) !=
	        CM_OK)
		return (rv);
	if (hi < lo)
		return (crd_lex_fail(lx, "cap maximum below its minimum"));
	r->has_cap = true;
	r->cap_min = lo;
	r->cap_max = hi;
	return (CM_OK);
}

static cm_err
d_decay(crd_lex *lx, crd_scorecard *s)
{
	crd_cat_rule *r;
	crd_step      st;
	cm_err        rv;

	if ((rv = cat_rule(lx, s, &r)) != CM_OK)
		return (rv);
	if (r->nstep >= CRD_DECAY_MAX)
		return (crd_lex_fail(lx, "more than %d decay steps for '%s'",
		                     CRD_DECAY_MAX, r->category));
	if ((rv = crd_lex_period(lx, "age", &st.age)) != CM_OK)
		return (rv);
	if (r->nstep > 0) {
		crd_period prev = r->step[r->nstep - 1].age;

		if (!crd_period_le(prev, st.age) || crd_period_le(st.age, prev))
			return (crd_lex_fail(
			    lx, "age not later than the step above "
			        "for every start day"));
	}
	if ((rv = crd_lex_uint(lx, "percent", 0, 100, &st.percent)) != CM_OK)
		return (rv);
	if (r->nstep > 0 && st.percent > r->step[r->nstep - 1].percent)
		return (crd_lex_fail(lx, "percent rises with age"));
	r->step[r->nstep++] = st;
	return (CM_OK);
}

static bool
label_ok(cm_bytes w)
{
	if (w.len == 0 || w.len > 16)
		return (false);
	for (size_t i = 0; i < w.len; i++) {
		uint8_t c = w.p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-'))
			return (false);
	}
	return (true);
}

static cm_err
d_grade(crd_lex *lx, crd_scorecard *s)
{
	crd_grade *g = &s->grade[s->ngrade];
	cm_bytes   w;
	cm_err     rv;

	if ((rv = crd_lex_word(lx, "grade label", &w)) != CM_OK)
		return (rv);
	if (!label_ok(w))
		return (crd_lex_fail(lx, "grade label must be 1-16 of "
		                         "[A-Za-z0-9+-]"));
	for (size_t i = 0; i < s->ngrade; i++)
		if (crd_name_eq(s->grade[i].label, w))
			return (crd_lex_fail(lx, "duplicate grade '%.*s'",
			                     (int) w.len, (const char *) w.p));
	if (s->ngrade >= CRD_GRADE_MAX)
		return (crd_lex_fail(lx, "more than %d grades", CRD_GRADE_MAX));
	memcpy(g->label, w.p, w.len);
	g->label[w.len] = '\0';
	if ((rv = crd_lex_int(lx, "grade minimum", CRD_POINTS_LIMIT,
	                      &g->min)) != CM_OK)
		return (rv);
	if (g->min < s->lo || g->min > s->hi)
		return (crd_lex_fail(lx,
		                     "grade minimum outside the range %d..%d",
		                     s->lo, s->hi));
	if (s->ngrade > 0 && g->min >= s->grade[s->ngrade - 1].min)
		return (crd_lex_fail(lx,
		                     "grades go from the top down: %d is "
		                     "not below %d",
		                     g->min, s->grade[s->ngrade - 1].min));
	s->ngrade++;
	return (CM_OK);
}

cm_err
crd_scorecard_decode(cm_bytes text, crd_scorecard **out, cm_diag *d)
{
	static const char *const dirs[] = {"points", "cap", "decay", "grade"};
	static cm_err (*const fns[])(crd_lex *, crd_scorecard *) = {
	    d_points, d_cap, d_decay, d_grade};
	crd_scorecard *s;
	crd_lex        lx;
	cm_err         rv;
	int            k;

	*out = NULL;
	if ((rv = crd_lex_init(&lx, text, d)) != CM_OK)
		return (rv);
	if ((s = cm_calloc(1, sizeof(*s))) == NULL)
		return (CM_ENOMEM);
	if ((rv = crd_lex_header(&lx, MAGIC, &s->version, &s->effective)) !=
	        CM_OK ||
	    (rv = preamble(&lx, s)) != CM_OK)
		goto out;
	while (crd_lex_line(&lx, &rv)) {
		if (s->ngrade > 0) {
			cm_bytes w;
			size_t   at = lx.at;
			if ((rv = crd_lex_word(&lx, "directive", &w)) != CM_OK)
				goto out;
			if (!cm_bytes_eq_str(w, "grade")) {
				rv =
				    crd_lex_fail(&lx, "only grade lines may "
				                      "follow the first grade");
				goto out;
			}
			lx.at = at;
		}
		if ((rv = crd_lex_keyword(&lx, "directive", dirs,
		                          sizeof(dirs) / sizeof(dirs[0]),
		                          &k)) != CM_OK ||
		    (rv = fns[k](&lx, s)) != CM_OK ||
		    (rv = crd_lex_end(&lx)) != CM_OK)
			goto out;
	}
	if (rv != CM_OK)
		goto out;
	if (s->ngrade == 0 || s->grade[s->ngrade - 1].min != s->lo) {
		rv = cm_fail(d, CM_EPROTO,
		             "line %u: the last grade must start at the lowest "
		             "score %d, so every score has a grade",
		             lx.line, s->lo);
		goto out;
	}
	*out = s;
	s = NULL;
out:
	cm_free(s);
	return (rv);
}

void
crd_scorecard_free(crd_scorecard *s)
{
	cm_free(s);
}

cm_err
crd_scorecard_encode(const crd_scorecard *s, cm_buf *b)
{
	cm_err rv;

	if ((rv = crd_put_header(b, MAGIC, s->version, s->effective)) !=
	        CM_OK ||
	    (rv = cm_buf_printf(
	         b, "scope %s\nrange %d %d\nbase %d\ndispute %s\n",
	         s->public_ ? "public" : "full", s->lo, s->hi, s->base,
	         s->dispute == CRD_DISPUTE_EXCLUDE ? "exclude" : "count")) !=
	        CM_OK)
		return (rv);
	for (size_t i = 0; i < s->npoints && rv == CM_OK; i++)
		rv = cm_buf_printf(b, "points %s %s %d\n", s->points[i].item,
		                   crd_severity_name(s->points[i].severity),
		                   s->points[i].points);
	for (size_t i = 0; i < s->ncat && rv == CM_OK; i++) {
		const crd_cat_rule *r = &s->cat[i];

		if (r->has_cap)
			rv = cm_buf_printf(b, "cap %s %d %d\n", r->category,
			                   r->cap_min, r->cap_max);
		else if (r->nstep == 0)
			rv = CM_EINVAL; /* no decode makes such a rule */
		for (size_t k = 0; k < r->nstep && rv == CM_OK; k++) {
			if ((rv = cm_buf_printf(b, "decay %s", r->category)) !=
			        CM_OK ||
			    (rv = crd_put_period(b, r->step[k].age)) != CM_OK)
				return (rv);
			rv = cm_buf_printf(b, " %u\n", r->step[k].percent);
		}
	}
	for (size_t i = 0; i < s->ngrade && rv == CM_OK; i++)
		rv = cm_buf_printf(b, "grade %s %d\n", s->grade[i].label,
		                   s->grade[i].min);
	return (rv);
}

cm_err
crd_scorecard_check(const crd_scorecard *s, const crd_catalogue *c, cm_diag *d)
{
	for (size_t i = 0; i < s->npoints; i++) {
		const crd_points *p = &s->points[i];
		const crd_item   *it =
		    crd_catalogue_item(c, CM_BYTES(p->item, strlen(p->item)));
		bool sev = false;

		if (it == NULL)
			return (cm_fail(d, CM_EREF,
			                "points for '%s': no such item in "
			                "catalogue version %u",
			                p->item, c->version));
		for (size_t r = 0; r < it->nrule; r++)
			sev = sev || it->rule[r].severity == p->severity;
		if (!sev)
			return (cm_fail(d, CM_EREF,
			                "points for '%s' %s: the catalogue "
			                "allows no %s for that item",
			                p->item, crd_severity_name(p->severity),
			                crd_severity_name(p->severity)));
		if (c->cat[it->category].positive ? p->points < 0
		                                  : p->points > 0)
			return (cm_fail(
			    d, CM_EREF,
			    "points for '%s' %s: %d has the wrong "
			    "sign for %s category '%s'",
			    p->item, crd_severity_name(p->severity), p->points,
			    c->cat[it->category].positive ? "positive"
			                                  : "negative",
			    c->cat[it->category].name));
		if (s->public_ && !it->public_)
			return (cm_fail(d, CM_EREF,
			                "points for '%s': a public scorecard "
			                "scores public items only",
			                p->item));
	}
	for (size_t i = 0; i < s->ncat; i++) {
		const char *n = s->cat[i].category;

		if (crd_catalogue_category(c, CM_BYTES(n, strlen(n))) < 0)
			return (cm_fail(d, CM_EREF,
			                "rules for category '%s': no such "
			                "category in catalogue version %u",
			                n, c->version));
	}
	return (CM_OK);
}

const char *
crd_scorecard_grade(const crd_scorecard *s, int32_t score)
{
	for (size_t i = 0; i < s->ngrade; i++)
		if (score >= s->grade[i].min)
			return (s->grade[i].label);
	return (s->ngrade > 0 ? s->grade[s->ngrade - 1].label : "");
}
