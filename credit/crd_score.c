/* SPDX-License-Identifier: MIT */
/* credit/crd_score.c -- scores: the events of one subject at a tree size,
 * read with the catalogue and scorecard adopted by then, counted by time
 * (each while the as-of day lies in its window), in integers; the reasons
 * (the largest contributions before caps, ties by leaf), what changes
 * without any action (the days records leave their windows or decay, and
 * the score after each), and the public part.  No clock is read: the
 * default day is the log time at the size.  docs/credit.md section 5. */
#include "credit/crd_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The query right on negative items (上海市社会信用条例 Art. 35; 征信业管理条例
 * Art. 16): 5 years from the end of the behaviour.  It is the law's one
 * fixed span for every item, so it is not a catalogue field. */
static const crd_period query_span = {5, CRD_YEARS};

/* ---- the commit boundary ------------------------------------------- */

cm_err
crd_size_floor(ldg_txn *t, uint64_t size, uint64_t *out_size,
               uint64_t *out_log_time)
{
	cm_buf   note = {0};
	uint64_t got;
	cm_err   rv;

	if (size == 0 || size > ldg_size(t))
		return (CM_EINVAL);
	for (;;) {
		cm_bytes    leaf;
		ldg_rleaf   rl;
		ldg_hleaf   hl;
		ldg_genesis g;

		cm_buf_reset(&note);
		rv = ldg_checkpoint_get(t, size, &note, &got);
		if (rv != CM_OK && rv != CM_ENOTFOUND)
			break;
		if ((rv == CM_OK || size == 1) &&
		    (rv = ldg_leaf_get(t, size - 1, &leaf)) == CM_OK) {
			/* The boundary's last leaf: a record of the last
			 * batch (its header has the log time) or genesis. */
			if (ldg_rleaf_decode(leaf, &rl, NULL) == CM_OK) {
				if ((rv = ldg_leaf_get(t, rl.hi, &leaf)) ==
				        CM_OK &&
				    (rv = ldg_hleaf_decode(leaf, &hl, NULL)) ==
				        CM_OK)
					*out_log_time = hl.log_time;
			} else if ((rv = ldg_genesis_decode(leaf, &g, NULL)) ==
			           CM_OK)
				*out_log_time = g.log_time;
			*out_size = size;
			break;
		}
		if (rv != CM_OK && rv != CM_ENOTFOUND)
			break;
		/* No commit ends here: step back to the start of the batch
		 * leaf size - 1 belongs to, which no commit splits. */
		if ((rv = ldg_leaf_get(t, size - 1, &leaf)) != CM_OK)
			break;
		if (ldg_rleaf_decode(leaf, &rl, NULL) == CM_OK)
			size = rl.hi;
		else
			size--;
		if (size == 0) {
			rv = CM_ECORRUPT;
			break;
		}
	}
	cm_buf_fini(&note);
	return (rv);
}

/* ---- loading -------------------------------------------------------- */

typedef struct loader {
	crd_score *s;
	size_t     cap;
	bool       extra;
} loader;

static cm_err
fact_add(void *arg, const crd_fact *f)
{
	loader     *l = arg;
	crd_score  *s = l->s;
	crd_scored *n;

	if (s->nitem == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;

		if ((n = cm_realloc(s->item, cap * sizeof(*n))) == NULL)
			return (CM_ENOMEM);
		s->item = n;
		l->cap = cap;
	}
	n = &s->item[s->nitem++];
	memset(n, 0, sizeof(*n));
	n->f = *f;
	n->repair = CRD_DAY_NONE;
	if (l->extra) {
		const crd_item *ci = crd_catalogue_item(
		    s->cat_, CM_BYTES(f->item, strlen(f->item)));

		/* A fact that names no item is an inspection: the
		 * catalogue's first item of type "inspection" (the default's
		 * quality.sampling-failure).  The category is the
		 * catalogue's, not the hook's. */
		for (size_t i = 0;
		     ci == NULL && f->item[0] == '\0' && i < s->cat_->nitem;
		     i++)
			if (strcmp(s->cat_->item[i].type, "inspection") == 0)
				ci = &s->cat_->item[i];
		n->flags |= CRD_F_EXTRA;
		n->f.category[0] = '\0';
		if (ci != NULL) {
			memcpy(n->f.item, ci->id, sizeof(n->f.item));
			memcpy(n->f.category, s->cat_->cat[ci->category].name,
			       sizeof(n->f.category));
		}
	}
	return (CM_OK);
}

static int
scored_cmp(const void *a, const void *b)
{
	const crd_scored *x = a, *y = b;

	return (x->f.leaf < y->f.leaf ? -1 : x->f.leaf > y->f.leaf);
}

/* The window of one item by the catalogue's rule (docs/credit.md 5.1). */
static void
window(crd_score *s, crd_scored *it)
{
	const crd_item *ci;
	const crd_rule *r;
	crd_day         anchor;

	it->start = it->f.decided;
	it->end = it->min_end = it->start;
	it->query_end = it->f.ended == CRD_DAY_NONE
	                    ? CRD_DAY_OPEN
	                    : crd_period_end(query_span, it->f.ended);
	ci = crd_catalogue_item(s->cat_,
	                        CM_BYTES(it->f.item, strlen(it->f.item)));
	if (ci == NULL ||
	    (r = crd_item_rule(ci, it->f.severity, it->f.decided)) == NULL)
		return;
	it->known = true;
	if (!ci->public_)
		it->flags |= CRD_F_PRIVATE;
	anchor = r->anchor == CRD_FROM_END ? it->f.ended : it->f.decided;
	if (anchor == CRD_DAY_NONE) {
		/* Counted from an end that has not come: it lasts. */
		it->end = it->min_end = CRD_DAY_OPEN;
	} else {
		it->end = crd_period_end(r->max, anchor);
		it->min_end = crd_period_end(r->min, anchor);
		if (it->end < it->start)
			it->end = it->start;
	}
	/* A restriction is public for its actual term when that is longer
	 * (SAMR Order 45 Art. 13). */
	if (it->f.until != CRD_DAY_NONE && it->end != CRD_DAY_OPEN &&
	    it->f.until + 1 > it->end)
		it->end = it->f.until + 1;
	if (it->repair != CRD_DAY_NONE && ci->repairable) {
		crd_day rd = it->repair;

		if (it->min_end != CRD_DAY_OPEN && rd < it->min_end)
			rd = it->min_end;
		if (rd < it->end) {
			it->end = rd < it->start ? it->start : rd;
			it->flags |= CRD_F_REPAIRED;
		}
	}
}

static const crd_points *
points_of(const crd_scorecard *sc, const crd_scored *it)
{
	for (size_t i = 0; i < sc->npoints; i++)
		if (strcmp(sc->points[i].item, it->f.item) == 0 &&
		    sc->points[i].severity == it->f.severity)
			return (&sc->points[i]);
	return (NULL);
}

static const crd_cat_rule *
cat_rule(const crd_scorecard *sc, const char *cat)
{
	for (size_t i = 0; i < sc->ncat; i++)
		if (strcmp(sc->cat[i].category, cat) == 0)
			return (&sc->cat[i]);
	return (NULL);
}

static crd_day
age_anchor(const crd_score *s, const crd_scored *it)
{
	const crd_item *ci = crd_catalogue_item(
	    s->cat_, CM_BYTES(it->f.item, strlen(it->f.item)));
	const crd_rule *r =
	    ci ? crd_item_rule(ci, it->f.severity, it->f.decided) : NULL;

	if (r != NULL && r->anchor == CRD_FROM_END)
		return (it->f.ended);
	return (it->f.decided);
}

/* Whether it counts at day at all (points aside). */
static bool
counts_at(const crd_score *s, const crd_scored *it, crd_day day)
{
	if (!it->known || it->f.revoked != 0 ||
	    it->dispute == CRD_DISPUTE_REMOVED)
		return (false);
	if (s->public_ && (it->flags & CRD_F_PRIVATE))
		return (false);
	return (it->start <= day && (it->end == CRD_DAY_OPEN || day < it->end));
}

/* What scoring needs of each item and category, looked up once: its
 * points, its category, the days its decay steps start; the caps. */
static void
prepare(crd_score *s)
{
	const crd_scorecard *sc = s->sc_;

	for (size_t c = 0; c < s->ncat; c++) {
		const crd_cat_rule *cr =
		    sc ? cat_rule(sc, s->cat[c].name) : NULL;

		s->cat[c].has_cap_ = cr != NULL && cr->has_cap;
		s->cat[c].cap_min_ = cr != NULL ? cr->cap_min : 0;
		s->cat[c].cap_max_ = cr != NULL ? cr->cap_max : 0;
	}
	for (size_t i = 0; i < s->nitem; i++) {
		crd_scored         *it = &s->item[i];
		const crd_points   *p = sc ? points_of(sc, it) : NULL;
		const crd_cat_rule *cr =
		    sc ? cat_rule(sc, it->f.category) : NULL;
		crd_day anchor = age_anchor(s, it);

		it->has_points_ = p != NULL;
		it->base_points_ = p != NULL ? p->points : 0;
		it->cat_ = -1;
		for (size_t c = 0; c < s->ncat; c++)
			if (strcmp(s->cat[c].name, it->f.category) == 0)
				it->cat_ = (int) c;
		it->nstep_ = 0;
		/* An item with no end yet (counted from it) does not decay. */
		for (size_t k = 0;
		     cr != NULL && anchor != CRD_DAY_NONE && k < cr->nstep;
		     k++) {
			it->step_day_[k] =
			    crd_period_end(cr->step[k].age, anchor);
			it->step_pct_[k] = cr->step[k].percent;
			it->nstep_++;
		}
	}
}

/* Scores every item at day; fills the totals, score and grade. */
static void
score_at(crd_score *s, crd_day day)
{
	const crd_scorecard *sc = s->sc_;
	int64_t              sum = 0;

	s->ncounting = 0;
	for (size_t c = 0; c < s->ncat; c++)
		s->cat[c].raw = s->cat[c].total = 0;
	for (size_t i = 0; i < s->nitem; i++) {
		crd_scored *it = &s->item[i];

		it->counts = counts_at(s, it, day);
		it->percent = 0;
		it->points = 0;
		if (!it->counts)
			continue;
		s->ncounting++;
		if (!it->has_points_)
			continue;
		/* The percent of the last step begun (100 before the
		 * first). */
		it->percent = 100;
		for (size_t k = 0; k < it->nstep_; k++)
			if (it->step_day_[k] <= day)
				it->percent = it->step_pct_[k];
		if (it->flags & (CRD_F_UNCONFIRMED | CRD_F_EXCLUDED))
			continue;
		/* |points| <= 100000 and percent <= 100: no overflow; C
		 * division rounds toward zero, as the format says. */
		it->points =
		    (int32_t) ((int64_t) it->base_points_ * it->percent / 100);
		if (it->cat_ >= 0)
			s->cat[it->cat_].raw += it->points;
	}
	for (size_t c = 0; c < s->ncat; c++) {
		int64_t v = s->cat[c].raw;

		if (s->cat[c].has_cap_) {
			if (v < s->cat[c].cap_min_)
				v = s->cat[c].cap_min_;
			if (v > s->cat[c].cap_max_)
				v = s->cat[c].cap_max_;
		}
		s->cat[c].total = (int32_t) v;
		sum += v;
	}
	if (sc == NULL)
		return;
	sum += sc->base;
	if (sum < sc->lo)
		sum = sc->lo;
	if (sum > sc->hi)
		sum = sc->hi;
	s->score = (int32_t) sum;
	snprintf(s->grade, sizeof(s->grade), "%s",
	         crd_scorecard_grade(sc, s->score));
}

static int
day_cmp(const void *a, const void *b)
{
	crd_day x = *(const crd_day *) a, y = *(const crd_day *) b;

	return (x < y ? -1 : x > y);
}

/* What happens on day: which items start, leave their window or decay
 * (cut with "..." to fit). */
static void
why(const crd_score *s, crd_day day, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->nitem; i++) {
		const crd_scored *it = &s->item[i];
		char              one[64];

		one[0] = '\0';
		if (!it->known || it->f.revoked != 0)
			continue;
		if (it->start == day)
			snprintf(one, sizeof(one), "leaf %llu starts",
			         (unsigned long long) it->f.leaf);
		else if (it->end == day)
			snprintf(one, sizeof(one),
			         "leaf %llu leaves its window",
			         (unsigned long long) it->f.leaf);
		else if (counts_at(s, it, day))
			for (size_t k = 0; k < it->nstep_; k++)
				if (it->step_day_[k] == day)
					snprintf(
					    one, sizeof(one),
					    "leaf %llu counts %u%%",
					    (unsigned long long) it->f.leaf,
					    it->step_pct_[k]);
		if (one[0] == '\0')
			continue;
		if (n + strlen(one) + 6 >= cap) {
			snprintf(out + n, cap - n, "%s...", n ? ", " : "");
			return;
		}
		n += (size_t) snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
		                       one);
	}
}

/* The days after as_of on which some item starts, stops or decays. */
static cm_err
changes(crd_score *s)
{
	crd_day *days = NULL;
	size_t   n = 0, cap = 0;
	int32_t  last_score = s->score;
	char     last_grade[CRD_NAME_MAX + 1];
	cm_err   rv = CM_OK;

	memcpy(last_grade, s->grade, sizeof(last_grade));
	for (size_t i = 0; i < s->nitem; i++) {
		const crd_scored *it = &s->item[i];
		crd_day           cand[2 + CRD_DECAY_MAX];
		size_t            nc = 0;

		if (!it->known || it->f.revoked != 0)
			continue;
		cand[nc++] = it->start;
		if (it->end != CRD_DAY_OPEN)
			cand[nc++] = it->end;
		for (size_t k = 0; k < it->nstep_; k++)
			cand[nc++] = it->step_day_[k];
		for (size_t k = 0; k < nc; k++) {
			if (cand[k] <= s->as_of)
				continue;
			if (n == cap) {
				crd_day *nd;

				cap = cap ? 2 * cap : 16;
				if ((nd = cm_realloc(
				         days, cap * sizeof(*nd))) == NULL) {
					cm_free(days);
					return (CM_ENOMEM);
				}
				days = nd;
			}
			days[n++] = cand[k];
		}
	}
	qsort(days, n, sizeof(*days), day_cmp);
	for (size_t i = 0; i < n; i++) {
		crd_change *c;

		if (i > 0 && days[i] == days[i - 1])
			continue;
		score_at(s, days[i]);
		if (s->score == last_score && strcmp(s->grade, last_grade) == 0)
			continue;
		if ((c = cm_realloc(s->change,
		                    (s->nchange + 1) * sizeof(*c))) == NULL) {
			rv = CM_ENOMEM;
			break;
		}
		s->change = c;
		c = &s->change[s->nchange++];
		why(s, days[i], c->why, sizeof(c->why));
		c->day = days[i];
		c->score = last_score = s->score;
		memcpy(c->grade, s->grade, sizeof(c->grade));
		memcpy(last_grade, s->grade, sizeof(last_grade));
	}
	cm_free(days);
	return (rv);
}

/* The reasons: counting items with points, by |points| (before caps),
 * ties by leaf. */
static void
reasons(crd_score *s)
{
	s->nreason = 0;
	for (size_t i = 0; i < s->nitem; i++) {
		const crd_scored *it = &s->item[i];
		size_t            k;

		if (!it->counts || it->points == 0)
			continue;
		for (k = s->nreason; k > 0; k--) {
			const crd_scored *o = &s->item[s->reason[k - 1]];
			int64_t a = llabs(it->points), b = llabs(o->points);

			if (a < b || (a == b && o->f.leaf < it->f.leaf))
				break;
			if (k < CRD_REASONS_MAX)
				s->reason[k] = s->reason[k - 1];
		}
		if (k < CRD_REASONS_MAX) {
			s->reason[k] = i;
			if (s->nreason < CRD_REASONS_MAX)
				s->nreason++;
		}
	}
}

typedef struct cite_ctx {
	const crd_score *s;
	bool             entered;
} cite_ctx;

/* An event (not revoked) about the subject cites the leaf. */
static cm_err
cite_fn(void *arg, uint64_t by)
{
	cite_ctx *c = arg;

	for (size_t i = 0; i < c->s->nitem; i++) {
		const crd_fact *f = &c->s->item[i].f;

		if (!(c->s->item[i].flags & CRD_F_EXTRA) && f->revoked == 0 &&
		    (f->leaf == by || f->current == by))
			c->entered = true;
	}
	return (CM_OK);
}

/* A fact from elsewhere (a trace inspection) that a credit event about the
 * subject already enters (citing it in its refs) counts once: as that
 * event. */
static cm_err
drop_entered(ldg_txn *t, crd_score *s)
{
	size_t n = 0;
	cm_err rv = CM_OK;

	for (size_t i = 0; i < s->nitem && rv == CM_OK; i++) {
		cite_ctx c = {s, false};

		if ((s->item[i].flags & CRD_F_EXTRA) &&
		    (rv = crd_citing(t, s->item[i].f.leaf, s->size, cite_fn,
		                     &c)) == CM_OK &&
		    c.entered)
			continue;
		s->item[n++] = s->item[i];
	}
	s->nitem = n;
	return (rv);
}

typedef struct notice_ctx {
	cm_buf  *out;
	uint64_t leaf;
} notice_ctx;

/* One bank to send a correction notice about a revoked event. */
static cm_err
notice_add(void *arg, const char *bank, uint64_t query_leaf)
{
	notice_ctx *n = arg;

	return (cm_buf_printf(n->out,
	                      "  correction notice: leaf %llu was in the "
	                      "report of query leaf %llu to %s\n",
	                      (unsigned long long) n->leaf,
	                      (unsigned long long) query_leaf, bank));
}

cm_err
crd_score_compute(ldg_txn *t, const char *uscc, uint64_t size, crd_day as_of,
                  bool public_, const crd_hooks *h, crd_score *s, cm_diag *d)
{
	loader      l = {s, 0, false};
	crd_adopted sa;
	uint64_t    ltime = 0, got;
	cm_diag     ud;
	cm_err      rv;

	memset(s, 0, sizeof(*s));
	s->public_ = public_;
	s->asked = size == 0 ? ldg_size(t) : size;
	snprintf(s->subject, sizeof(s->subject), "%.*s", LDG_USCC_LEN, uscc);
	cm_diag_clear(&ud);
	if (strlen(uscc) != LDG_USCC_LEN ||
	    ldg_uscc_check(CM_BYTES(uscc, strlen(uscc)), &ud) != CM_OK) {
		if ((rv = ldg_uscc_admitted(t, CM_BYTES(uscc, strlen(uscc)),
		                            NULL)) != CM_OK ||
		    strlen(uscc) != LDG_USCC_LEN)
			return (cm_fail(d, CM_EINVAL, "invalid USCC: %s",
			                ud.msg[0] ? ud.msg : "not admitted"));
	}
	if (s->asked > ldg_size(t))
		return (cm_fail(d, CM_EINVAL,
		                "size %llu is past the ledger's %llu leaves",
		                (unsigned long long) s->asked,
		                (unsigned long long) ldg_size(t)));
	if ((rv = crd_size_floor(t, s->asked, &s->size, &ltime)) != CM_OK)
		return (cm_fail(d, rv, "cannot find the commit at size %llu",
		                (unsigned long long) s->asked));
	s->as_of = as_of == CRD_DAY_NONE ? crd_day_of_ms(ltime) : as_of;
	if ((rv = ldg_checkpoint_get(t, s->size, &s->checkpoint, &got)) !=
	    CM_OK)
		return (cm_fail(d, rv, "no checkpoint at size %llu",
		                (unsigned long long) s->size));
	if ((rv = crd_catalogue_at(t, s->size, &s->cat_, &s->cat_leaf)) ==
	    CM_ENOTFOUND)
		return (cm_fail(d, rv,
		                "no catalogue is adopted in the first "
		                "%llu leaves",
		                (unsigned long long) s->size));
	if (rv != CM_OK)
		return (rv);
	s->cat_version = s->cat_->version;
	rv = crd_adopted_get(
	    t, public_ ? CRD_SCORECARD_PUBLIC : CRD_SCORECARD_FULL, s->size,
	    &sa);
	if (rv == CM_OK) {
		if (crd_scorecard_decode(sa.text, &s->sc_, NULL) != CM_OK)
			return (CM_ECORRUPT);
		s->sc_leaf = sa.leaf;
		s->sc_version = sa.version;
		s->scored = true;
		s->base = s->sc_->base;
		s->lo = s->sc_->lo;
		s->hi = s->sc_->hi;
	} else if (rv != CM_ENOTFOUND)
		return (rv);
	else if (!public_)
		return (cm_fail(d, rv,
		                "no scorecard is adopted in the first "
		                "%llu leaves",
		                (unsigned long long) s->size));
	s->ncat = s->cat_->ncat;
	for (size_t c = 0; c < s->ncat; c++)
		memcpy(s->cat[c].name, s->cat_->cat[c].name,
		       sizeof(s->cat[c].name));
	if ((rv = crd_facts(t, CM_BYTES(uscc, LDG_USCC_LEN), s->size, fact_add,
	                    &l)) != CM_OK)
		return (rv);
	if (h != NULL && h->extra_facts != NULL) {
		l.extra = true;
		if ((rv = h->extra_facts(h->arg, t, s->subject, s->size,
		                         fact_add, &l)) != CM_OK)
			return (rv);
		qsort(s->item, s->nitem, sizeof(*s->item), scored_cmp);
	}
	if ((rv = drop_entered(t, s)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < s->nitem; i++) {
		crd_scored *it = &s->item[i];

		if (it->f.namend > 0)
			it->flags |= CRD_F_AMENDED;
		if (it->f.self && it->f.confirmed == 0)
			it->flags |= CRD_F_UNCONFIRMED;
		if (h != NULL && h->repair != NULL &&
		    (rv = h->repair(h->arg, t, it->f.leaf, s->size,
		                    &it->repair)) != CM_OK)
			return (rv);
		if (h != NULL && h->dispute != NULL &&
		    (rv = h->dispute(h->arg, t, it->f.leaf, s->size,
		                     &it->dispute)) != CM_OK)
			return (rv);
		if (it->dispute == CRD_DISPUTE_OPEN ||
		    it->dispute == CRD_DISPUTE_UNRESOLVED)
			it->flags |= CRD_F_DISPUTED;
		if (it->dispute == CRD_DISPUTE_OPEN && s->sc_ != NULL &&
		    s->sc_->dispute == CRD_DISPUTE_EXCLUDE)
			it->flags |= CRD_F_EXCLUDED;
		window(s, it);
	}
	if (h != NULL && h->recipients != NULL)
		for (size_t i = 0; i < s->nitem && rv == CM_OK; i++) {
			notice_ctx nc = {&s->notices, s->item[i].f.leaf};

			if (s->item[i].f.revoked != 0)
				rv = h->recipients(h->arg, t, s->item[i].f.leaf,
				                   s->size, notice_add, &nc);
		}
	if (rv != CM_OK)
		return (rv);
	if (h != NULL && h->query_count != NULL &&
	    (rv = h->query_count(h->arg, t, s->subject, s->size,
	                         &s->queries)) != CM_OK)
		return (rv);
	prepare(s);
	/* The score at the day first: the changes are from it. */
	score_at(s, s->as_of);
	if (s->sc_ != NULL && (rv = changes(s)) != CM_OK)
		return (rv);
	score_at(s, s->as_of);
	reasons(s);
	return (CM_OK);
}

void
crd_score_fini(crd_score *s)
{
	cm_buf_fini(&s->checkpoint);
	cm_buf_fini(&s->notices);
	cm_free(s->item);
	cm_free(s->change);
	crd_catalogue_free(s->cat_);
	crd_scorecard_free(s->sc_);
	memset(s, 0, sizeof(*s));
}

/* ---- rendering ------------------------------------------------------ */

static void
put_day(cm_buf *b, const char *pre, crd_day day, const char *post)
{
	char s[11];

	if (day == CRD_DAY_OPEN || day == CRD_DAY_NONE) {
		(void) cm_buf_printf(b, "%s%s%s", pre, "-", post);
		return;
	}
	crd_day_format(day, s);
	(void) cm_buf_printf(b, "%s%s%s", pre, s, post);
}

/* A JSON string of text the ledger wrote (the checkpoint note: printable
 * ASCII, newlines and the note's UTF-8 dash). */
static void
put_json_str(cm_buf *b, cm_bytes s)
{
	(void) cm_buf_append_byte(b, '"');
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];

		if (c == '"' || c == '\\')
			(void) cm_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			(void) cm_buf_printf(b, "\\n");
		else if (c < 0x20)
			(void) cm_buf_printf(b, "\\u%04x", c);
		else
			(void) cm_buf_append_byte(b, c);
	}
	(void) cm_buf_append_byte(b, '"');
}

static void
put_json_day(cm_buf *b, const char *key, crd_day day)
{
	char s[11];

	if (day == CRD_DAY_OPEN || day == CRD_DAY_NONE) {
		(void) cm_buf_printf(b, "\"%s\":null", key);
		return;
	}
	crd_day_format(day, s);
	(void) cm_buf_printf(b, "\"%s\":\"%s\"", key, s);
}

static const struct {
	unsigned    flag;
	const char *name;
} flag_names[] = {{CRD_F_DISPUTED, "disputed"},
                  {CRD_F_EXCLUDED, "excluded while disputed"},
                  {CRD_F_UNCONFIRMED, "unconfirmed"},
                  {CRD_F_REPAIRED, "repaired"},
                  {CRD_F_AMENDED, "amended"},
                  {CRD_F_EXTRA, "inspection"}};

static void
put_flags(cm_buf *b, unsigned flags, bool json)
{
	bool first = true;

	if (json)
		(void) cm_buf_printf(b, ",\"flags\":[");
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]);
	     i++) {
		if (!(flags & flag_names[i].flag))
			continue;
		if (json)
			(void) cm_buf_printf(b, "%s\"%s\"", first ? "" : ",",
			                     flag_names[i].name);
		else
			(void) cm_buf_printf(b, "%s%s", first ? " [" : ", ",
			                     flag_names[i].name);
		first = false;
	}
	if (json)
		(void) cm_buf_printf(b, "]");
	else if (!first)
		(void) cm_buf_printf(b, "]");
}

static void
put_checkpoint_line(cm_buf *b, cm_bytes note)
{
	/* The note's body: origin, size, root: its first three lines. */
	size_t n = 0, lines = 0;

	while (n < note.len && lines < 3) {
		if (note.p[n] == '\n') {
			lines++;
			if (lines < 3)
				(void) cm_buf_append_byte(b, ' ');
		} else
			(void) cm_buf_append_byte(b, note.p[n]);
		n++;
	}
}

static void
render_head(const crd_score *s, bool json, cm_buf *b)
{
	if (json) {
		(void) cm_buf_printf(b,
		                     "{\"subject\":\"%s\",\"size\":%llu,"
		                     "\"asked_size\":%llu,",
		                     s->subject, (unsigned long long) s->size,
		                     (unsigned long long) s->asked);
		put_json_day(b, "as_of", s->as_of);
		(void) cm_buf_printf(b, ",\"checkpoint\":");
		put_json_str(b, cm_buf_bytes(&s->checkpoint));
		(void) cm_buf_printf(b,
		                     ",\"catalogue\":{\"version\":%u,"
		                     "\"leaf\":%llu}",
		                     s->cat_version,
		                     (unsigned long long) s->cat_leaf);
		return;
	}
	(void) cm_buf_printf(b, "subject %s\nsize %llu", s->subject,
	                     (unsigned long long) s->size);
	if (s->size != s->asked)
		(void) cm_buf_printf(b, " (%llu rounded down to a commit)",
		                     (unsigned long long) s->asked);
	put_day(b, "\nas of ", s->as_of,
	        " (end of day, Asia/Shanghai)\ncheckpoint ");
	put_checkpoint_line(b, cm_buf_bytes(&s->checkpoint));
	(void) cm_buf_printf(b, "\ncatalogue version %u (leaf %llu)\n",
	                     s->cat_version, (unsigned long long) s->cat_leaf);
}

cm_err
crd_score_render(const crd_score *s, bool json, cm_buf *b)
{
	const char *sc = s->public_ ? "public scorecard" : "scorecard";

	render_head(s, json, b);
	if (json) {
		(void) cm_buf_printf(
		    b,
		    ",\"scorecard\":{\"scope\":\"%s\",\"version\":%u,"
		    "\"leaf\":%llu},\"score\":%d,\"grade\":\"%s\",\"base\":%d,"
		    "\"categories\":[",
		    s->public_ ? "public" : "full", s->sc_version,
		    (unsigned long long) s->sc_leaf, s->score, s->grade,
		    s->base);
		for (size_t c = 0; c < s->ncat; c++)
			(void) cm_buf_printf(
			    b, "%s{\"name\":\"%s\",\"points\":%d,\"raw\":%lld}",
			    c ? "," : "", s->cat[c].name, s->cat[c].total,
			    (long long) s->cat[c].raw);
		(void) cm_buf_printf(b, "],\"counting\":%zu,\"reasons\":[",
		                     s->ncounting);
		for (size_t r = 0; r < s->nreason; r++) {
			const crd_scored *it = &s->item[s->reason[r]];

			(void) cm_buf_printf(
			    b,
			    "%s{\"leaf\":%llu,\"current\":%llu,\"item\":\"%s\","
			    "\"severity\":\"%s\",\"points\":%d,\"percent\":%u",
			    r ? "," : "", (unsigned long long) it->f.leaf,
			    (unsigned long long) it->f.current, it->f.item,
			    crd_severity_name(it->f.severity), it->points,
			    it->percent);
			put_flags(b, it->flags, true);
			(void) cm_buf_printf(b, "}");
		}
		(void) cm_buf_printf(b, "],\"queries\":%llu,\"changes\":[",
		                     (unsigned long long) s->queries);
		for (size_t i = 0; i < s->nchange; i++) {
			(void) cm_buf_printf(b, "%s{", i ? "," : "");
			put_json_day(b, "date", s->change[i].day);
			(void) cm_buf_printf(
			    b, ",\"score\":%d,\"grade\":\"%s\",\"why\":\"%s\"}",
			    s->change[i].score, s->change[i].grade,
			    s->change[i].why);
		}
		(void) cm_buf_printf(b, "]}\n");
		return (b->p == NULL ? CM_ENOMEM : CM_OK);
	}
	(void) cm_buf_printf(b, "%s version %u (leaf %llu)\n", sc,
	                     s->sc_version, (unsigned long long) s->sc_leaf);
	(void) cm_buf_printf(b, "score %d grade %s (base %d)\ncategories:\n",
	                     s->score, s->grade, s->base);
	for (size_t c = 0; c < s->ncat; c++) {
		(void) cm_buf_printf(b, "  %-14s %d", s->cat[c].name,
		                     s->cat[c].total);
		if (s->cat[c].raw != s->cat[c].total)
			(void) cm_buf_printf(b, " (capped from %lld)",
			                     (long long) s->cat[c].raw);
		(void) cm_buf_printf(b, "\n");
	}
	(void) cm_buf_printf(b, "reasons (%zu of %zu counting items):\n",
	                     s->nreason, s->ncounting);
	for (size_t r = 0; r < s->nreason; r++) {
		const crd_scored *it = &s->item[s->reason[r]];

		(void) cm_buf_printf(
		    b, "  leaf %llu %s %s %d", (unsigned long long) it->f.leaf,
		    it->f.item, crd_severity_name(it->f.severity), it->points);
		if (it->percent != 100)
			(void) cm_buf_printf(b, " (%u%%)", it->percent);
		put_flags(b, it->flags, false);
		(void) cm_buf_printf(b, "\n");
	}
	/* Items that are there but count nothing, and why. */
	for (size_t i = 0; i < s->nitem; i++) {
		const crd_scored *it = &s->item[i];
		bool              zero = it->counts &&
		            (it->flags & (CRD_F_UNCONFIRMED | CRD_F_EXCLUDED));

		if (!zero && it->f.revoked == 0)
			continue;
		(void) cm_buf_printf(b, "  note: leaf %llu %s",
		                     (unsigned long long) it->f.leaf,
		                     it->f.item);
		if (it->f.revoked != 0)
			(void) cm_buf_printf(
			    b,
			    " revoked at leaf %llu: it never "
			    "counted",
			    (unsigned long long) it->f.revoked);
		else
			(void) cm_buf_printf(b, " counts 0");
		put_flags(b, it->flags, false);
		(void) cm_buf_printf(b, "\n");
	}
	if (s->notices.len > 0)
		(void) cm_buf_append(b, s->notices.p, s->notices.len);
	(void) cm_buf_printf(b,
	                     "queries %llu\nwhat will change without any "
	                     "action:\n",
	                     (unsigned long long) s->queries);
	for (size_t i = 0; i < s->nchange; i++) {
		put_day(b, "  ", s->change[i].day, "");
		(void) cm_buf_printf(b, " score %d grade %s: %s\n",
		                     s->change[i].score, s->change[i].grade,
		                     s->change[i].why);
	}
	if (s->nchange == 0)
		(void) cm_buf_printf(b, "  nothing\n");
	return (b->p == NULL ? CM_ENOMEM : CM_OK);
}

cm_err
crd_public_render(const crd_score *s, bool json, cm_buf *b)
{
	bool first = true;

	render_head(s, json, b);
	if (json) {
		if (s->scored)
			(void) cm_buf_printf(b,
			                     ",\"public_grade\":{\"score\":%d,"
			                     "\"grade\":\"%s\",\"version\":%u,"
			                     "\"leaf\":%llu}",
			                     s->score, s->grade, s->sc_version,
			                     (unsigned long long) s->sc_leaf);
		(void) cm_buf_printf(b, ",\"items\":[");
	} else if (s->scored)
		(void) cm_buf_printf(b,
		                     "public grade %s (score %d, public "
		                     "scorecard version %u, leaf %llu)\n",
		                     s->grade, s->score, s->sc_version,
		                     (unsigned long long) s->sc_leaf);
	else
		(void) cm_buf_printf(b, "public grade: none (no public "
		                        "scorecard is adopted)\n");
	if (!json)
		(void) cm_buf_printf(b, "published:\n");
	for (size_t i = 0; i < s->nitem; i++) {
		const crd_scored *it = &s->item[i];

		if (!it->counts ||
		    (it->flags & (CRD_F_PRIVATE | CRD_F_UNCONFIRMED)))
			continue;
		if (json) {
			(void) cm_buf_printf(
			    b,
			    "%s{\"leaf\":%llu,\"current\":%llu,\"item\":\"%s\","
			    "\"category\":\"%s\",\"severity\":\"%s\","
			    "\"issuer\":\"%s\",",
			    first ? "" : ",", (unsigned long long) it->f.leaf,
			    (unsigned long long) it->f.current, it->f.item,
			    it->f.category, crd_severity_name(it->f.severity),
			    it->f.issuer);
			put_json_day(b, "decided", it->f.decided);
			(void) cm_buf_printf(b, ",");
			put_json_day(b, "public_ends", it->end);
			put_flags(b, it->flags, true);
			(void) cm_buf_printf(b, "}");
		} else {
			(void) cm_buf_printf(
			    b,
			    "  leaf %llu %s %s by %s, "
			    "decided ",
			    (unsigned long long) it->f.leaf, it->f.item,
			    crd_severity_name(it->f.severity),
			    it->f.issuer[0] ? it->f.issuer : "-");
			put_day(b, "", it->f.decided,
			        ", no longer public from ");
			if (it->end == CRD_DAY_OPEN)
				(void) cm_buf_printf(b, "its end (none yet)");
			else
				put_day(b, "", it->end, "");
			put_flags(b, it->flags, false);
			(void) cm_buf_printf(b, "\n");
		}
		first = false;
	}
	if (json)
		(void) cm_buf_printf(b, "]}\n");
	else if (first)
		(void) cm_buf_printf(b, "  nothing\n");
	return (b->p == NULL ? CM_ENOMEM : CM_OK);
}
