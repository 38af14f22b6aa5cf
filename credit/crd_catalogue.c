/* SPDX-License-Identifier: MIT */
/* credit/crd_catalogue.c -- the catalogue file: categories, cited sources,
 * forbidden fields, dispute regimes and items with their publicity rules.
 * Names are declared before they are used, so one pass resolves every
 * reference and the canonical text (declarations grouped, items last)
 * parses to the same struct.  Format: docs/credit.md section 2. */
#include "credit/crd_impl.h"

#include <string.h>

#define MAGIC "tally-credit-catalogue"

static const char *const anchors[] = {"decision", "publication", "end"};

typedef struct cat_parse {
	crd_lex        lx;
	crd_catalogue *c;
	unsigned       item_line; /* line of the open item, 0 if none */
	bool           item_fields;
} cat_parse;

static int
find_name(const char *names, size_t stride, size_t n, cm_bytes w)
{
	for (size_t i = 0; i < n; i++)
		if (crd_name_eq(names + i * stride, w))
			return ((int) i);
	return (-1);
}

#define FIND(arr, n, w) find_name((arr)[0].id, sizeof((arr)[0]), (n), (w))

/* A declared name: its index, or a refusal at the token. */
static cm_err
lex_ref(crd_lex *lx, const char *what, const char *names, size_t stride,
        size_t n, uint16_t *out)
{
	cm_bytes w;
	int      k;
	cm_err   rv;

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	if ((k = find_name(names, stride, n, w)) < 0)
		return (crd_lex_fail(
		    lx, "unknown %s '%.*s' (not declared above)", what,
		    (int) (w.len > 40 ? 40 : w.len), (const char *) w.p));
	*out = (uint16_t) k;
	return (CM_OK);
}

static cm_err
lex_new_name(crd_lex *lx, const char *what, const char *names, size_t stride,
             size_t n, size_t max, char out[CRD_NAME_MAX + 1])
{
	char   name[CRD_NAME_MAX + 1] = {0};
	cm_err rv;

	/* out may be one past the array when n == max: read into name. */
	if ((rv = crd_lex_name(lx, what, name)) != CM_OK)
		return (rv);
	if (find_name(names, stride, n, CM_BYTES(name, strlen(name))) >= 0)
		return (crd_lex_fail(lx, "duplicate %s '%s'", what, name));
	if (n >= max)
		return (
		    crd_lex_fail(lx, "one %s too many (limit %zu)", what, max));
	memcpy(out, name, sizeof(name));
	return (CM_OK);
}

static cm_err
lex_deadline(crd_lex *lx, const char *what, crd_deadline *out)
{
	cm_bytes w;
	uint32_t v = 0;
	size_t   nd = 0;

	cm_err rv = crd_lex_word(lx, what, &w);
	if (rv != CM_OK)
		return (rv);
	memset(out, 0, sizeof(*out));
	if (cm_bytes_eq_str(w, "-"))
		return (CM_OK);
	while (nd < w.len && nd < 4 && w.p[nd] >= '0' && w.p[nd] <= '9')
		v = v * 10 + (uint32_t) (w.p[nd++] - '0');
	out->clock = CRD_CAL;
	if (nd < w.len && w.len - nd == 2 && w.p[nd] == 'w' &&
	    w.p[nd + 1] == 'd')
		out->clock = CRD_WORKDAYS;
	else if (!(nd < w.len && w.len - nd == 1 && w.p[nd] == 'd'))
		nd = 0;
	if (nd == 0 || (nd > 1 && w.p[0] == '0') || v < 1 || v > 366)
		return (
		    crd_lex_fail(lx,
		                 "%s must be '-', Nd (calendar days) or Nwd "
		                 "(working days), N in 1..366",
		                 what));
	out->set = true;
	out->n = v;
	return (CM_OK);
}

static cm_err
close_item(cat_parse *cp)
{
	const crd_item *it;

	if (cp->item_line == 0)
		return (CM_OK);
	it = &cp->c->item[cp->c->nitem - 1];
	if (!cp->item_fields)
		return (cm_fail(cp->lx.d, CM_EPROTO,
		                "line %u col 1: item '%s' has no 'fields' line",
		                cp->item_line, it->id));
	if (it->nrule == 0)
		return (cm_fail(cp->lx.d, CM_EPROTO,
		                "line %u col 1: item '%s' has no 'rule' line",
		                cp->item_line, it->id));
	cp->item_line = 0;
	return (CM_OK);
}

static cm_err
d_category(cat_parse *cp)
{
	static const char *const pol[] = {"negative", "positive"};
	crd_catalogue           *c = cp->c;
	crd_category            *k = &c->cat[c->ncat];
	int                      p;
	cm_err                   rv;

	if ((rv = lex_new_name(&cp->lx, "category", c->cat[0].name,
	                       sizeof(c->cat[0]), c->ncat, CRD_CAT_MAX,
	                       k->name)) != CM_OK ||
	    (rv = crd_lex_keyword(&cp->lx, "polarity", pol, 2, &p)) != CM_OK)
		return (rv);
	k->positive = p == 1;
	c->ncat++;
	return (CM_OK);
}

static cm_err
d_source(cat_parse *cp)
{
	crd_catalogue *c = cp->c;
	crd_source    *s = &c->source[c->nsource];
	cm_err         rv;

	if ((rv = lex_new_name(&cp->lx, "source", c->source[0].id,
	                       sizeof(c->source[0]), c->nsource, CRD_SOURCE_MAX,
	                       s->id)) != CM_OK ||
	    (rv = crd_lex_rest(&cp->lx, "source title", s->title)) != CM_OK)
		return (rv);
	c->nsource++;
	return (CM_OK);
}

static cm_err
d_forbid(cat_parse *cp)
{
	crd_catalogue *c = cp->c;
	cm_err         rv;

	if ((rv = lex_new_name(&cp->lx, "forbidden field", c->forbid[0],
	                       sizeof(c->forbid[0]), c->nforbid, CRD_FORBID_MAX,
	                       c->forbid[c->nforbid])) != CM_OK)
		return (rv);
	/* A field an item already collects cannot become forbidden below
	 * it: that would make the file's meaning depend on line order. */
	for (size_t i = 0; i < c->nitem; i++)
		for (size_t f = 0; f < c->item[i].nfield; f++)
			if (strcmp(c->item[i].field[f],
			           c->forbid[c->nforbid]) == 0)
				return (crd_lex_fail(&cp->lx,
				                     "item '%s' above collects "
				                     "'%s'",
				                     c->item[i].id,
				                     c->forbid[c->nforbid]));
	c->nforbid++;
	return (CM_OK);
}

static cm_err
d_regime(cat_parse *cp)
{
	crd_catalogue *c = cp->c;
	crd_regime    *r = &c->regime[c->nregime];
	cm_err         rv;

	if ((rv = lex_new_name(&cp->lx, "regime", c->regime[0].id,
	                       sizeof(c->regime[0]), c->nregime, CRD_REGIME_MAX,
	                       r->id)) != CM_OK ||
	    (rv = lex_deadline(&cp->lx, "mark deadline", &r->mark)) != CM_OK ||
	    (rv = lex_deadline(&cp->lx, "forward deadline", &r->forward)) !=
	        CM_OK ||
	    (rv = lex_deadline(&cp->lx, "decide deadline", &r->decide)) !=
	        CM_OK)
		return (rv);
	if (!r->decide.set)
		return (
		    crd_lex_fail(&cp->lx, "a regime needs a decide deadline"));
	if ((rv = lex_ref(&cp->lx, "source", c->source[0].id,
	                  sizeof(c->source[0]), c->nsource, &r->source)) !=
	        CM_OK ||
	    (rv = crd_lex_rest(&cp->lx, "article", r->article)) != CM_OK)
		return (rv);
	c->nregime++;
	return (CM_OK);
}

static cm_err
d_item(cat_parse *cp)
{
	static const char *const pub[] = {"private", "public"};
	static const char *const rep[] = {"final", "repairable"};
	crd_catalogue           *c = cp->c;
	crd_item                *it = &c->item[c->nitem];
	int                      p, r;
	cm_err                   rv;

	if ((rv = close_item(cp)) != CM_OK)
		return (rv);
	if ((rv = lex_new_name(&cp->lx, "item", c->item[0].id,
	                       sizeof(c->item[0]), c->nitem, CRD_ITEM_MAX,
	                       it->id)) != CM_OK ||
	    (rv = lex_ref(&cp->lx, "category", c->cat[0].name,
	                  sizeof(c->cat[0]), c->ncat, &it->category)) !=
	        CM_OK ||
	    (rv = crd_lex_name(&cp->lx, "type", it->type)) != CM_OK ||
	    (rv = crd_lex_keyword(&cp->lx, "publicity", pub, 2, &p)) != CM_OK ||
	    (rv = crd_lex_keyword(&cp->lx, "repair", rep, 2, &r)) != CM_OK ||
	    (rv = lex_ref(&cp->lx, "regime", c->regime[0].id,
	                  sizeof(c->regime[0]), c->nregime, &it->regime)) !=
	        CM_OK)
		return (rv);
	it->public_ = p == 1;
	it->repairable = r == 1;
	c->nitem++;
	cp->item_line = cp->lx.line;
	cp->item_fields = false;
	return (CM_OK);
}

static cm_err
d_fields(cat_parse *cp)
{
	crd_catalogue *c = cp->c;
	crd_item      *it;
	cm_err         rv;

	if (cp->item_line == 0)
		return (crd_lex_fail(&cp->lx, "'fields' outside an item"));
	it = &c->item[c->nitem - 1];
	if (cp->item_fields)
		return (crd_lex_fail(&cp->lx,
		                     "second 'fields' line of item "
		                     "'%s'",
		                     it->id));
	cp->item_fields = true;
	do {
		char *f = it->field[it->nfield];

		if ((rv = lex_new_name(&cp->lx, "field", it->field[0],
		                       sizeof(it->field[0]), it->nfield,
		                       CRD_FIELD_MAX, f)) != CM_OK)
			return (rv);
		if (find_name(c->forbid[0], sizeof(c->forbid[0]), c->nforbid,
		              CM_BYTES(f, strlen(f))) >= 0)
			return (crd_lex_fail(
			    &cp->lx, "field '%s' is forbidden above", f));
		it->nfield++;
	} while (crd_lex_more(&cp->lx));
	return (CM_OK);
}

static cm_err
d_rule(cat_parse *cp)
{
	crd_catalogue *c = cp->c;
	crd_item      *it;
	crd_rule      *r;
	size_t         at;
	int            k;
	cm_err         rv;

	if (cp->item_line == 0)
		return (crd_lex_fail(&cp->lx, "'rule' outside an item"));
	it = &c->item[c->nitem - 1];
	if (it->nrule >= CRD_PERIOD_MAX)
		return (crd_lex_fail(&cp->lx, "more than %d rules in item '%s'",
		                     CRD_PERIOD_MAX, it->id));
	r = &it->rule[it->nrule];
	if ((rv = crd_lex_severity(&cp->lx, &r->severity)) != CM_OK ||
	    (rv = crd_lex_period(&cp->lx, "minimum period", &r->min)) !=
	        CM_OK ||
	    (rv = crd_lex_period(&cp->lx, "maximum period", &r->max)) != CM_OK)
		return (rv);
	if (!crd_period_le(r->min, r->max))
		return (crd_lex_fail(
		    &cp->lx, "minimum period is not at most the maximum "
		             "for every start day"));
	if ((rv = crd_lex_keyword(&cp->lx, "counted-from", anchors, 3, &k)) !=
	    CM_OK)
		return (rv);
	r->anchor = (crd_anchor) k;
	if ((rv = crd_lex_day(&cp->lx, "from date", false, &r->from)) != CM_OK)
		return (rv);
	at = cp->lx.tok;
	if ((rv = crd_lex_day(&cp->lx, "to date", true, &r->to)) != CM_OK)
		return (rv);
	if (r->to <= r->from)
		return (
		    crd_lex_fail(&cp->lx, "to date is not after from date"));
	for (size_t i = 0; i < it->nrule; i++) {
		const crd_rule *o = &it->rule[i];

		if (o->severity == r->severity && r->from < o->to &&
		    o->from < r->to)
			return (crd_lex_fail_at(
			    &cp->lx, at,
			    "%s dates overlap another %s rule of item '%s'",
			    crd_severity_name(r->severity),
			    crd_severity_name(r->severity), it->id));
	}
	if ((rv = lex_ref(&cp->lx, "source", c->source[0].id,
	                  sizeof(c->source[0]), c->nsource, &r->source)) !=
	        CM_OK ||
	    (rv = crd_lex_rest(&cp->lx, "article", r->article)) != CM_OK)
		return (rv);
	it->nrule++;
	return (CM_OK);
}

cm_err
crd_catalogue_decode(cm_bytes text, crd_catalogue **out, cm_diag *d)
{
	static const char *const dirs[] = {
	    "category", "source", "forbid", "regime", "item", "fields", "rule"};
	static cm_err (*const fns[])(cat_parse *) = {
	    d_category, d_source, d_forbid, d_regime, d_item, d_fields, d_rule};
	cat_parse cp;
	cm_err    rv;
	int       k;

	*out = NULL;
	memset(&cp, 0, sizeof(cp));
	if ((rv = crd_lex_init(&cp.lx, text, d)) != CM_OK)
		return (rv);
	if ((cp.c = cm_calloc(1, sizeof(*cp.c))) == NULL)
		return (CM_ENOMEM);
	if ((rv = crd_lex_header(&cp.lx, MAGIC, &cp.c->version,
	                         &cp.c->effective)) != CM_OK)
		goto out;
	while (crd_lex_line(&cp.lx, &rv)) {
		if ((rv = crd_lex_keyword(&cp.lx, "directive", dirs,
		                          sizeof(dirs) / sizeof(dirs[0]),
		                          &k)) != CM_OK ||
		    (rv = fns[k](&cp)) != CM_OK ||
		    (rv = crd_lex_end(&cp.lx)) != CM_OK)
			goto out;
	}
	if (rv != CM_OK || (rv = close_item(&cp)) != CM_OK)
		goto out;
	if (cp.c->nitem == 0) {
		rv = cm_fail(d, CM_EPROTO, "line %u: the catalogue has no item",
		             cp.lx.line);
		goto out;
	}
	*out = cp.c;
	cp.c = NULL;
out:
	cm_free(cp.c);
	return (rv);
}

void
crd_catalogue_free(crd_catalogue *c)
{
	cm_free(c);
}

static cm_err
put_deadline(cm_buf *b, crd_deadline dl)
{
	if (!dl.set)
		return (cm_buf_printf(b, " -"));
	return (cm_buf_printf(b, " %u%s", dl.n,
	                      dl.clock == CRD_WORKDAYS ? "wd" : "d"));
}

cm_err
crd_catalogue_encode(const crd_catalogue *c, cm_buf *b)
{
	cm_err rv;

	if ((rv = crd_put_header(b, MAGIC, c->version, c->effective)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < c->ncat && rv == CM_OK; i++)
		rv =
		    cm_buf_printf(b, "category %s %s\n", c->cat[i].name,
		                  c->cat[i].positive ? "positive" : "negative");
	for (size_t i = 0; i < c->nsource && rv == CM_OK; i++)
		rv = cm_buf_printf(b, "source %s %s\n", c->source[i].id,
		                   c->source[i].title);
	for (size_t i = 0; i < c->nforbid && rv == CM_OK; i++)
		rv = cm_buf_printf(b, "forbid %s\n", c->forbid[i]);
	for (size_t i = 0; i < c->nregime && rv == CM_OK; i++) {
		const crd_regime *r = &c->regime[i];

		if ((rv = cm_buf_printf(b, "regime %s", r->id)) != CM_OK ||
		    (rv = put_deadline(b, r->mark)) != CM_OK ||
		    (rv = put_deadline(b, r->forward)) != CM_OK ||
		    (rv = put_deadline(b, r->decide)) != CM_OK)
			return (rv);
		rv = cm_buf_printf(b, " %s %s\n", c->source[r->source].id,
		                   r->article);
	}
	for (size_t i = 0; i < c->nitem && rv == CM_OK; i++) {
		const crd_item *it = &c->item[i];

		rv = cm_buf_printf(b, "item %s %s %s %s %s %s\nfields", it->id,
		                   c->cat[it->category].name, it->type,
		                   it->public_ ? "public" : "private",
		                   it->repairable ? "repairable" : "final",
		                   c->regime[it->regime].id);
		for (size_t f = 0; f < it->nfield && rv == CM_OK; f++)
			rv = cm_buf_printf(b, " %s", it->field[f]);
		if (rv == CM_OK)
			rv = cm_buf_append_byte(b, '\n');
		for (size_t r = 0; r < it->nrule && rv == CM_OK; r++) {
			const crd_rule *ru = &it->rule[r];

			if ((rv = cm_buf_printf(
			         b, "rule %s",
			         crd_severity_name(ru->severity))) != CM_OK ||
			    (rv = crd_put_period(b, ru->min)) != CM_OK ||
			    (rv = crd_put_period(b, ru->max)) != CM_OK ||
			    (rv = cm_buf_printf(
			         b, " %s", anchors[ru->anchor])) != CM_OK ||
			    (rv = crd_put_day(b, ru->from)) != CM_OK ||
			    (rv = crd_put_day(b, ru->to)) != CM_OK)
				return (rv);
			rv = cm_buf_printf(b, " %s %s\n",
			                   c->source[ru->source].id,
			                   ru->article);
		}
	}
	return (rv);
}

const crd_item *
crd_catalogue_item(const crd_catalogue *c, cm_bytes id)
{
	int k = FIND(c->item, c->nitem, id);

	return (k < 0 ? NULL : &c->item[k]);
}

int
crd_catalogue_category(const crd_catalogue *c, cm_bytes name)
{
	return (find_name(c->cat[0].name, sizeof(c->cat[0]), c->ncat, name));
}

const crd_rule *
crd_item_rule(const crd_item *it, crd_severity s, crd_day day)
{
	for (size_t i = 0; i < it->nrule; i++)
		if (it->rule[i].severity == s && it->rule[i].from <= day &&
		    day < it->rule[i].to)
			return (&it->rule[i]);
	return (NULL);
}
