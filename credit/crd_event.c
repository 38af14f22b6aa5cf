/* SPDX-License-Identifier: MIT */
/* credit/crd_event.c -- credit events: the record kinds credit.event
 * (with "amends", an amendment), credit.revoke and credit.confirm, the
 * checks every event passes at the door (the adopted catalogue's item,
 * severity, fields and forbidden fields, dates in order and not in the
 * future, the writer's scopes), and their indexer credit.events: subject ->
 * events in leaf order with the dates the windows need, leaf -> event,
 * category -> events by decision day.  Reached through ledger/ldg.h only.
 * Formats: docs/format.md 5.6, docs/credit.md section 4. */
#include "credit/crd_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SUBJ_DB "crd_subject"
#define EVENT_DB "crd_event"
#define CAT_IDX_DB "crd_category"
#define CITE_DB "crd_cites"

typedef crd_ev_rec ev_rec;

crd_day
crd_day_of_ms(uint64_t ms)
{
	return ((crd_day) ((ms + CM_TZ_OFFSET_MS) / 86400000u));
}

static cm_err
day_field(const ldg_field *f, const char *kind, const char *what, crd_day *out,
          cm_diag *d)
{
	cm_bytes s;

	if (!f->present) {
		*out = CRD_DAY_NONE;
		return (CM_OK);
	}
	if (ldg_field_text(f, &s, NULL) != CM_OK ||
	    crd_day_parse((const char *) s.p, s.len, out) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s must be a date YYYY-MM-DD", kind,
		                what));
	return (CM_OK);
}

typedef cm_err (*ref_fn)(void *arg, uint64_t index);

/* Calls fn with the leaf index of each reference of a refs array; CM_EPROTO
 * on one that is not {"h": bytes, "i": uint}. */
static cm_err
refs_each(cm_bytes refs, ref_fn fn, void *arg)
{
	cm_cbor_rd rd;
	uint64_t   n;
	cm_err     rv;

	cm_cbor_rd_init(&rd, refs, NULL);
	if (cm_cbor_rd_array(&rd, &n) != CM_OK)
		return (CM_EPROTO);
	for (uint64_t i = 0; i < n; i++) {
		ldg_field r[2] = {{"h", true}, {"i", true}};
		cm_bytes  item;
		uint64_t  ix;

		if (cm_cbor_rd_skip(&rd, &item) != CM_OK ||
		    ldg_fields_decode(item, NULL, r, 2, NULL) != CM_OK ||
		    ldg_field_uint(&r[1], &ix, NULL) != CM_OK)
			return (CM_EPROTO);
		if ((rv = fn(arg, ix)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

static cm_err
ref_is(void *arg, uint64_t index)
{
	return (index == *(const uint64_t *) arg ? CM_EEXIST : CM_OK);
}

/* A target (the leaf an amendment, revocation or confirmation is about):
 * a leaf index, which must also be among the record's refs, so that the
 * ledger binds it to the leaf's hash (docs/format.md 5.3). */
static cm_err
target_field(const ldg_field *f, const ldg_field *refs, const char *kind,
             const char *what, uint64_t *index, cm_diag *d)
{
	if (ldg_field_uint(f, index, NULL) != CM_OK)
		return (cm_fail(d, CM_EPROTO, "%s: %s must be a leaf index",
		                kind, what));
	if (refs->present && refs_each(refs->val, ref_is, index) == CM_EEXIST)
		return (CM_OK);
	return (cm_fail(d, CM_EPROTO,
	                "%s: %s %llu must also be in refs (with its leaf "
	                "hash)",
	                kind, what, (unsigned long long) *index));
}

static cm_err
text_field(const ldg_field *f, const char *kind, const char *what, size_t max,
           cm_bytes *out, cm_diag *d)
{
	if (ldg_field_text(f, out, NULL) != CM_OK || out->len == 0 ||
	    out->len > max)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s must be text of 1..%zu bytes", kind,
		                what, max));
	return (CM_OK);
}

/* Walks a details map: text names to text values, at most
 * CRD_DETAIL_MAX. */
static cm_err
details_read(cm_bytes map, crd_detail *out, size_t *n, cm_diag *d)
{
	cm_cbor_rd rd;
	uint64_t   cnt;

	cm_cbor_rd_init(&rd, map, NULL);
	if (cm_cbor_rd_map(&rd, &cnt) != CM_OK || cnt == 0 ||
	    cnt > CRD_DETAIL_MAX)
		return (cm_fail(d, CM_EPROTO,
		                "credit.event: details must be a map of 1..%d "
		                "fields",
		                CRD_DETAIL_MAX));
	for (uint64_t i = 0; i < cnt; i++) {
		cm_bytes k, v;

		if (cm_cbor_rd_text(&rd, &k) != CM_OK ||
		    cm_cbor_rd_text(&rd, &v) != CM_OK || v.len == 0 ||
		    v.len > CRD_TEXT_MAX)
			return (cm_fail(d, CM_EPROTO,
			                "credit.event: details values must be "
			                "text of 1..%d bytes",
			                CRD_TEXT_MAX));
		if (out != NULL) {
			out[i].name = k;
			out[i].value = v;
		}
	}
	*n = (size_t) cnt;
	return (CM_OK);
}

static cm_err
event_fields(const cm_cbor_map *rec, ev_rec *e, cm_diag *d)
{
	enum {
		T,
		DOC,
		ITEM,
		KIND,
		REFS,
		ENDED,
		UNTIL,
		AMENDS,
		AMOUNT,
		DECIDED,
		DETAILS,
		SUBJECT,
		OCCURRED,
		SEVERITY,
		NF
	};
	static const char *const kind = CRD_KIND_EVENT;
	ldg_field                f[NF] = {
	                   {"t", true},        {"doc", true},      {"item", true},
	                   {"kind", true},     {"refs", false},    {"ended", false},
	                   {"until", false},   {"amends", false},  {"amount", false},
	                   {"decided", true},  {"details", false}, {"subject", true},
	                   {"occurred", true}, {"severity", true}};
	cm_bytes sev;
	size_t   n;
	cm_err   rv;

	memset(e, 0, sizeof(*e));
	e->op = CRD_OP_EVENT;
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	    CM_OK)
		return (rv);
	if ((rv = text_field(&f[SUBJECT], kind, "subject", LDG_USCC_LEN * 4,
	                     &e->subject, d)) != CM_OK ||
	    (rv = text_field(&f[ITEM], kind, "item", CRD_NAME_MAX, &e->item,
	                     d)) != CM_OK ||
	    (rv = text_field(&f[DOC], kind, "doc", CRD_DOC_MAX, &e->doc, d)) !=
	        CM_OK ||
	    (rv = day_field(&f[OCCURRED], kind, "occurred", &e->occurred, d)) !=
	        CM_OK ||
	    (rv = day_field(&f[DECIDED], kind, "decided", &e->decided, d)) !=
	        CM_OK ||
	    (rv = day_field(&f[ENDED], kind, "ended", &e->ended, d)) != CM_OK ||
	    (rv = day_field(&f[UNTIL], kind, "until", &e->until, d)) != CM_OK)
		return (rv);
	if (ldg_field_text(&f[SEVERITY], &sev, NULL) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "credit.event: severity must be "
		                "light, general or serious"));
	for (e->severity = CRD_LIGHT; e->severity < CRD_NSEVERITY;
	     e->severity++)
		if (cm_bytes_eq_str(sev, crd_severity_name(e->severity)))
			break;
	if (e->severity == CRD_NSEVERITY)
		return (cm_fail(d, CM_EPROTO,
		                "credit.event: severity must be "
		                "light, general or serious"));
	if (f[AMOUNT].present) {
		e->has_amount = true;
		if (ldg_field_uint(&f[AMOUNT], &e->amount, NULL) != CM_OK)
			return (cm_fail(d, CM_EPROTO,
			                "credit.event: amount must be an "
			                "unsigned integer (fen)"));
	}
	if (f[AMENDS].present) {
		e->op = CRD_OP_AMEND;
		e->has_target = true;
		if ((rv = target_field(&f[AMENDS], &f[REFS], kind, "amends",
		                       &e->target, d)) != CM_OK)
			return (rv);
	}
	if (f[DETAILS].present) {
		e->details = f[DETAILS].val;
		if ((rv = details_read(e->details, NULL, &n, d)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

static cm_err
target_fields(const cm_cbor_map *rec, bool revoke, ev_rec *e, cm_diag *d)
{
	enum { T, DOC, KIND, REFS, REASON, TARGET, DECIDED, NF };
	const char *kind = revoke ? CRD_KIND_REVOKE : CRD_KIND_CONFIRM;
	ldg_field   f[NF] = {{"t", true},        {"doc", revoke},
	                     {"kind", true},     {"refs", false},
	                     {"reason", revoke}, {"target", true},
	                     {"decided", revoke}};
	cm_err      rv;

	memset(e, 0, sizeof(*e));
	e->op = revoke ? CRD_OP_REVOKE : CRD_OP_CONFIRM;
	e->has_target = true;
	e->occurred = e->decided = e->ended = e->until = CRD_DAY_NONE;
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	    CM_OK)
		return (rv);
	if ((rv = target_field(&f[TARGET], &f[REFS], kind, "target", &e->target,
	                       d)) != CM_OK)
		return (rv);
	if (!revoke) {
		if (f[DOC].present || f[REASON].present || f[DECIDED].present)
			return (
			    cm_fail(d, CM_EPROTO,
			            "credit.confirm: only target (and refs)"));
		return (CM_OK);
	}
	if ((rv = text_field(&f[DOC], kind, "doc", CRD_DOC_MAX, &e->doc, d)) !=
	        CM_OK ||
	    (rv = text_field(&f[REASON], kind, "reason", CRD_TEXT_MAX,
	                     &e->reason, d)) != CM_OK ||
	    (rv = day_field(&f[DECIDED], kind, "decided", &e->decided, d)) !=
	        CM_OK)
		return (rv);
	return (CM_OK);
}

cm_err
crd_ev_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	ev_rec e;

	return (event_fields(rec, out != NULL ? out : &e, d));
}

cm_err
crd_rv_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	ev_rec e;

	return (target_fields(rec, true, out != NULL ? out : &e, d));
}

cm_err
crd_cf_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	ev_rec e;

	return (target_fields(rec, false, out != NULL ? out : &e, d));
}

cm_err
crd_ev_event(const ev_rec *er, crd_event *e, cm_diag *d)
{
	memset(e, 0, sizeof(*e));
	e->subject = er->subject;
	e->item = er->item;
	e->severity = er->severity;
	e->doc = er->doc;
	e->occurred = er->occurred;
	e->decided = er->decided;
	e->ended = er->ended;
	e->until = er->until;
	e->has_amount = er->has_amount;
	e->amount_fen = er->amount;
	e->amends = er->op == CRD_OP_AMEND;
	e->amended.index = er->target;
	if (er->details.len == 0)
		return (CM_OK);
	return (details_read(er->details, e->detail, &e->ndetail, d));
}

/* ---- the checks at the door ------------------------------------------ */

static bool
item_has_field(const crd_item *it, cm_bytes name)
{
	for (size_t i = 0; i < it->nfield; i++)
		if (crd_name_eq(it->field[i], name))
			return (true);
	return (false);
}

/* The item's amount field (the one whose name ends in "_fen"), or NULL. */
static const char *
item_amount_field(const crd_item *it)
{
	for (size_t i = 0; i < it->nfield; i++) {
		size_t n = strlen(it->field[i]);

		if (n > 4 && memcmp(it->field[i] + n - 4, "_fen", 4) == 0)
			return (it->field[i]);
	}
	return (NULL);
}

static bool
scope_is(const ldg_identity *w, const char *category)
{
	char   s[LDG_SCOPE_MAX + 1];
	size_t n = strlen(CRD_SCOPE_PREFIX) + strlen(category);

	if (n > LDG_SCOPE_MAX)
		return (false);
	memcpy(s, CRD_SCOPE_PREFIX, strlen(CRD_SCOPE_PREFIX));
	memcpy(s + strlen(CRD_SCOPE_PREFIX), category, strlen(category));
	return (ldg_identity_has_scope(w, CM_BYTES(s, n)));
}

cm_err
crd_writer_check(const ldg_identity *w, const crd_category *cat,
                 cm_bytes subject, const char *what, cm_diag *d)
{
	char show[LDG_USCC_LEN * 4 + 1];

	switch (w->role) {
	case LDG_ROLE_ENTERPRISE:
		if (!cat->positive)
			return (
			    cm_fail(d, CM_EDENIED,
			            "%s: an enterprise writes only its own "
			            "positive facts; %s is a negative category",
			            what, cat->name));
		if (!cm_bytes_eq_str(subject, w->uscc)) {
			memcpy(show, subject.p,
			       subject.len < sizeof(show) ? subject.len
			                                  : sizeof(show) - 1);
			show[subject.len < sizeof(show) ? subject.len
			                                : sizeof(show) - 1] =
			    '\0';
			return (cm_fail(d, CM_EDENIED,
			                "%s: an enterprise writes facts about "
			                "itself only (%s), not about %s",
			                what, w->uscc, show));
		}
		return (CM_OK);
	case LDG_ROLE_REGULATOR:
	case LDG_ROLE_BANK:
		if (scope_is(w, cat->name))
			return (CM_OK);
		return (cm_fail(d, CM_EDENIED,
		                "%s: category %s needs the scope %s%s, which "
		                "this %s key does not hold",
		                what, cat->name, CRD_SCOPE_PREFIX, cat->name,
		                ldg_role_name(w->role)));
	default:
		return (cm_fail(d, CM_EDENIED,
		                "%s: role %s writes no credit events", what,
		                ldg_role_name(w->role)));
	}
}

static cm_err
day_order_in(const char *kind, crd_day a, const char *an, crd_day b,
             const char *bn, cm_diag *d)
{
	char as[11], bs[11];

	if (a == CRD_DAY_NONE || b == CRD_DAY_NONE || a <= b)
		return (CM_OK);
	crd_day_format(a, as);
	crd_day_format(b, bs);
	return (cm_fail(d, CM_EINVAL, "%s: %s %s is after %s %s", kind, an, as,
	                bn, bs));
}

static cm_err
day_order(crd_day a, const char *an, crd_day b, const char *bn, cm_diag *d)
{
	return (day_order_in(CRD_KIND_EVENT, a, an, b, bn, d));
}

static cm_err
not_future_in(const char *kind, crd_day a, const char *an, crd_day today,
              cm_diag *d)
{
	char as[11], ts[11];

	if (a == CRD_DAY_NONE || a <= today)
		return (CM_OK);
	crd_day_format(a, as);
	crd_day_format(today, ts);
	return (cm_fail(d, CM_EINVAL,
	                "%s: %s %s is in the future (the log's date is %s)",
	                kind, an, as, ts));
}

static cm_err
not_future(crd_day a, const char *an, crd_day today, cm_diag *d)
{
	return (not_future_in(CRD_KIND_EVENT, a, an, today, d));
}

static cm_err
details_check(const crd_item *it, const crd_catalogue *c, const crd_detail *det,
              size_t n, cm_diag *d)
{
	char        nm[CRD_NAME_MAX + 1];
	const char *amt = item_amount_field(it);

	for (size_t i = 0; i < n; i++) {
		size_t l = det[i].name.len < CRD_NAME_MAX ? det[i].name.len
		                                          : CRD_NAME_MAX;

		memcpy(nm, det[i].name.p, l);
		nm[l] = '\0';
		for (size_t j = 0; j < c->nforbid; j++)
			if (crd_name_eq(c->forbid[j], det[i].name))
				return (
				    cm_fail(d, CM_EINVAL,
				            "credit.event: field %s is "
				            "forbidden by the catalogue (it "
				            "may not be collected)",
				            c->forbid[j]));
		if (!item_has_field(it, det[i].name))
			return (
			    cm_fail(d, CM_EINVAL,
			            "credit.event: field '%s' is not a field "
			            "of item %s",
			            nm, it->id));
		if (amt != NULL && crd_name_eq(amt, det[i].name))
			return (cm_fail(d, CM_EINVAL,
			                "credit.event: the amount (%s) goes in "
			                "\"amount\", not in details",
			                amt));
		for (size_t j = 0; j < i; j++)
			if (cm_bytes_eq(det[j].name, det[i].name))
				return (cm_fail(d, CM_EINVAL,
				                "credit.event: field %s given "
				                "twice",
				                nm));
	}
	return (CM_OK);
}

/* The lender detail of a bank's event must be the bank itself. */
static cm_err
lender_check(const crd_item *it, const crd_detail *det, size_t n,
             const ldg_identity *w, cm_diag *d)
{
	if (w == NULL || w->role != LDG_ROLE_BANK ||
	    !item_has_field(it, CM_BYTES("lender", 6)))
		return (CM_OK);
	for (size_t i = 0; i < n; i++)
		if (cm_bytes_eq_str(det[i].name, "lender") &&
		    cm_bytes_eq_str(det[i].value, w->uscc))
			return (CM_OK);
	return (cm_fail(d, CM_EDENIED,
	                "credit.event: a bank writes events about its own "
	                "loans only: details.lender must be its USCC %s",
	                w->uscc));
}

static const char *
allowed_severities(const crd_item *it, char out[32])
{
	out[0] = '\0';
	for (int s = 0; s < CRD_NSEVERITY; s++)
		for (size_t i = 0; i < it->nrule; i++)
			if ((int) it->rule[i].severity == s) {
				if (out[0] != '\0')
					strcat(out, ", ");
				strcat(out, crd_severity_name(s));
				break;
			}
	return (out);
}

/* Every check of an event that the catalogue, the writer and the day
 * decide. */
static cm_err
event_check(const crd_event *e, const crd_catalogue *c, const ldg_identity *w,
            crd_day today, cm_diag *d)
{
	const crd_item *it;
	cm_diag         ud;
	char            ds[11], sv[32], nm[CRD_NAME_MAX + 1];
	cm_err          rv;

	cm_diag_clear(&ud);
	if (ldg_uscc_check(e->subject, &ud) != CM_OK)
		return (
		    cm_fail(d, CM_EINVAL, "credit.event: subject: %s", ud.msg));
	if ((it = crd_catalogue_item(c, e->item)) == NULL) {
		size_t l =
		    e->item.len < CRD_NAME_MAX ? e->item.len : CRD_NAME_MAX;

		memcpy(nm, e->item.p, l);
		nm[l] = '\0';
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: item '%s' is not in catalogue "
		                "version %u",
		                nm, c->version));
	}
	if (e->severity >= CRD_NSEVERITY)
		return (
		    cm_fail(d, CM_EINVAL, "credit.event: no such severity"));
	if ((rv = day_order(e->occurred, "occurred", e->decided, "decided",
	                    d)) != CM_OK ||
	    (rv = day_order(e->occurred, "occurred", e->ended, "ended", d)) !=
	        CM_OK ||
	    (rv = day_order(e->decided, "decided", e->until, "until", d)) !=
	        CM_OK ||
	    (rv = not_future(e->occurred, "occurred", today, d)) != CM_OK ||
	    (rv = not_future(e->decided, "decided", today, d)) != CM_OK ||
	    (rv = not_future(e->ended, "ended", today, d)) != CM_OK)
		return (rv);
	if (crd_item_rule(it, e->severity, e->decided) == NULL) {
		crd_day_format(e->decided, ds);
		allowed_severities(it, sv);
		for (size_t i = 0; i < it->nrule; i++)
			if (it->rule[i].severity == e->severity)
				return (cm_fail(
				    d, CM_EINVAL,
				    "credit.event: item %s has no %s rule in "
				    "force on the decision day %s",
				    it->id, crd_severity_name(e->severity),
				    ds));
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: item %s does not allow "
		                "severity %s (allowed: %s)",
		                it->id, crd_severity_name(e->severity), sv));
	}
	if (e->has_amount && item_amount_field(it) == NULL)
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: item %s has no amount field",
		                it->id));
	if ((rv = details_check(it, c, e->detail, e->ndetail, d)) != CM_OK)
		return (rv);
	if (w != NULL &&
	    (rv = crd_writer_check(w, &c->cat[it->category], e->subject,
	                           "credit.event", d)) != CM_OK)
		return (rv);
	return (lender_check(it, e->detail, e->ndetail, w, d));
}

cm_err
crd_event_check(const crd_event *e, const crd_catalogue *c,
                const ldg_identity *writer, crd_day today, cm_diag *d)
{
	if (e->ndetail > CRD_DETAIL_MAX || e->nevidence > CRD_EVIDENCE_MAX)
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: too many details "
		                "or evidence references"));
	if (e->doc.len == 0 || e->doc.len > CRD_DOC_MAX)
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: doc must be text of 1..%d bytes",
		                CRD_DOC_MAX));
	for (size_t i = 0; i < e->ndetail; i++)
		if (e->detail[i].value.len == 0 ||
		    e->detail[i].value.len > CRD_TEXT_MAX)
			return (cm_fail(d, CM_EINVAL,
			                "credit.event: details values must be "
			                "text of 1..%d bytes",
			                CRD_TEXT_MAX));
	if (e->occurred == CRD_DAY_NONE || e->decided == CRD_DAY_NONE)
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: occurred and decided are "
		                "required"));
	return (event_check(e, c, writer, today, d));
}

/* ---- encoding ------------------------------------------------------- */

typedef struct member {
	const char *key;
	cm_buf      val;
} member;

static int
member_cmp(const void *a, const void *b)
{
	const member *x = a, *y = b;

	return (cm_cbor_key_cmp(CM_BYTES(x->key, strlen(x->key)),
	                        CM_BYTES(y->key, strlen(y->key))));
}

/* Writes the members, sorted into canonical order, as one map. */
static cm_err
members_write(member *m, size_t n, cm_buf *out, cm_diag *d)
{
	cm_cbor_wr w;

	qsort(m, n, sizeof(*m), member_cmp);
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, n);
	for (size_t i = 0; i < n; i++) {
		cm_cbor_wr_cstr(&w, m[i].key);
		cm_cbor_wr_raw(&w, cm_buf_bytes(&m[i].val));
	}
	return (cm_cbor_wr_finish(&w, d));
}

/* Starts member m, named key: w writes its value. */
static cm_cbor_wr *
member_wr(member *m, const char *key, cm_cbor_wr *w)
{
	m->key = key;
	cm_cbor_wr_init(w, &m->val);
	return (w);
}

static void
put_text(member *m, const char *key, cm_bytes s)
{
	cm_cbor_wr w;

	cm_cbor_wr_text(member_wr(m, key, &w), s);
}

static void
put_day(member *m, const char *key, crd_day day)
{
	char s[11];

	crd_day_format(day, s);
	put_text(m, key, CM_BYTES(s, 10));
}

static void
ref_write(cm_cbor_wr *w, const crd_ref *r)
{
	cm_cbor_wr_map(w, 2);
	cm_cbor_wr_cstr(w, "h");
	cm_cbor_wr_bytes(w, CM_BYTES(r->hash, CM_HASH_LEN));
	cm_cbor_wr_cstr(w, "i");
	cm_cbor_wr_uint(w, r->index);
}

/* "refs": the target first (if any), then the evidence. */
static void
put_refs(member *m, const crd_ref *target, const crd_ref *ev, size_t n)
{
	cm_cbor_wr w;

	cm_cbor_wr_array(member_wr(m, "refs", &w), n + (target != NULL));
	if (target != NULL)
		ref_write(&w, target);
	for (size_t i = 0; i < n; i++)
		ref_write(&w, &ev[i]);
}

static void
put_uint(member *m, const char *key, uint64_t v)
{
	cm_cbor_wr w;

	cm_cbor_wr_uint(member_wr(m, key, &w), v);
}

static cm_err
members_fini(member *m, size_t n, cm_err rv)
{
	for (size_t i = 0; i < n; i++)
		cm_buf_fini(&m[i].val);
	return (rv);
}

static int
detail_cmp(const void *a, const void *b)
{
	const crd_detail *x = a, *y = b;

	return (cm_cbor_key_cmp(x->name, y->name));
}

cm_err
crd_event_encode(const crd_event *e, cm_buf *out, cm_diag *d)
{
	member     m[16];
	size_t     n = 0;
	cm_cbor_wr w;

	memset(m, 0, sizeof(m));
	if (e->ndetail > CRD_DETAIL_MAX || e->nevidence > CRD_EVIDENCE_MAX ||
	    e->severity >= CRD_NSEVERITY)
		return (cm_fail(d, CM_EINVAL,
		                "credit.event: too many details "
		                "or evidence references"));
	put_text(&m[n++], "t", CM_BYTES("tally/record/v1", 15));
	put_text(&m[n++], "kind",
	         CM_BYTES(CRD_KIND_EVENT, strlen(CRD_KIND_EVENT)));
	put_text(&m[n++], "subject", e->subject);
	put_text(&m[n++], "item", e->item);
	put_text(&m[n++], "severity",
	         CM_BYTES(crd_severity_name(e->severity),
	                  strlen(crd_severity_name(e->severity))));
	put_text(&m[n++], "doc", e->doc);
	put_day(&m[n++], "occurred", e->occurred);
	put_day(&m[n++], "decided", e->decided);
	if (e->ended != CRD_DAY_NONE)
		put_day(&m[n++], "ended", e->ended);
	if (e->until != CRD_DAY_NONE)
		put_day(&m[n++], "until", e->until);
	if (e->has_amount)
		put_uint(&m[n++], "amount", e->amount_fen);
	if (e->amends)
		put_uint(&m[n++], "amends", e->amended.index);
	if (e->ndetail > 0) {
		crd_detail det[CRD_DETAIL_MAX];

		memcpy(det, e->detail, e->ndetail * sizeof(det[0]));
		qsort(det, e->ndetail, sizeof(det[0]), detail_cmp);
		cm_cbor_wr_map(member_wr(&m[n++], "details", &w), e->ndetail);
		for (size_t i = 0; i < e->ndetail; i++) {
			cm_cbor_wr_text(&w, det[i].name);
			cm_cbor_wr_text(&w, det[i].value);
		}
	}
	if (e->nevidence > 0 || e->amends)
		put_refs(&m[n++], e->amends ? &e->amended : NULL, e->evidence,
		         e->nevidence);
	return (members_fini(m, n, members_write(m, n, out, d)));
}

cm_err
crd_event_build(const crd_event *e, const crd_catalogue *c,
                const ldg_identity *writer, crd_day today, cm_buf *out,
                cm_diag *d)
{
	cm_err rv;

	if ((rv = crd_event_check(e, c, writer, today, d)) != CM_OK)
		return (rv);
	return (crd_event_encode(e, out, d));
}

cm_err
crd_revoke_encode(const crd_ref *target, cm_bytes doc, crd_day decided,
                  cm_bytes reason, cm_buf *out, cm_diag *d)
{
	member m[7];
	size_t n = 0;

	memset(m, 0, sizeof(m));
	put_text(&m[n++], "t", CM_BYTES("tally/record/v1", 15));
	put_text(&m[n++], "kind",
	         CM_BYTES(CRD_KIND_REVOKE, strlen(CRD_KIND_REVOKE)));
	put_uint(&m[n++], "target", target->index);
	put_refs(&m[n++], target, NULL, 0);
	put_text(&m[n++], "doc", doc);
	put_day(&m[n++], "decided", decided);
	put_text(&m[n++], "reason", reason);
	return (members_fini(m, n, members_write(m, n, out, d)));
}

cm_err
crd_confirm_encode(const crd_ref *target, cm_buf *out, cm_diag *d)
{
	member m[4];
	size_t n = 0;

	memset(m, 0, sizeof(m));
	put_text(&m[n++], "t", CM_BYTES("tally/record/v1", 15));
	put_text(&m[n++], "kind",
	         CM_BYTES(CRD_KIND_CONFIRM, strlen(CRD_KIND_CONFIRM)));
	put_uint(&m[n++], "target", target->index);
	put_refs(&m[n++], target, NULL, 0);
	return (members_fini(m, n, members_write(m, n, out, d)));
}

/* ---- the index ------------------------------------------------------ */

/* The value kept for every event-kind record (docs/format.md 10.2):
 * op, severity, flags, 0, u64be root leaf, u32be occurred, decided, ended,
 * until (as int32, -1 absent), subject (18), issuer USCC (18, zeros for
 * none), category name length (1) and name, then the item name. */
#define SUM_FIXED (4 + 8 + 16 + 2 * LDG_USCC_LEN + 1)

static cm_err
sum_parse(cm_bytes v, crd_fact *f)
{
	size_t cl;

	if (v.len < SUM_FIXED || v.p[0] > CRD_OP_CONFIRM ||
	    v.p[1] >= CRD_NSEVERITY)
		return (CM_ECORRUPT);
	cl = v.p[SUM_FIXED - 1];
	if (v.len < SUM_FIXED + cl || cl > CRD_NAME_MAX ||
	    v.len - SUM_FIXED - cl > CRD_NAME_MAX)
		return (CM_ECORRUPT);
	f->op = (crd_op) v.p[0];
	f->severity = (crd_severity) v.p[1];
	f->self = (v.p[2] & 1) != 0;
	f->positive = (v.p[2] & 2) != 0;
	f->leaf = cm_get_u64be(v.p + 4);
	f->occurred = (crd_day) cm_get_u32be(v.p + 12);
	f->decided = (crd_day) cm_get_u32be(v.p + 16);
	f->ended = (crd_day) cm_get_u32be(v.p + 20);
	f->until = (crd_day) cm_get_u32be(v.p + 24);
	memcpy(f->subject, v.p + 28, LDG_USCC_LEN);
	f->subject[LDG_USCC_LEN] = '\0';
	memcpy(f->issuer, v.p + 28 + LDG_USCC_LEN, LDG_USCC_LEN);
	f->issuer[LDG_USCC_LEN] = '\0';
	memcpy(f->category, v.p + SUM_FIXED, cl);
	f->category[cl] = '\0';
	memcpy(f->item, v.p + SUM_FIXED + cl, v.len - SUM_FIXED - cl);
	f->item[v.len - SUM_FIXED - cl] = '\0';
	return (CM_OK);
}

cm_err
crd_event_get(ldg_txn *t, uint64_t leaf, crd_fact *f)
{
	uint8_t  k[8];
	cm_bytes v;
	ldg_db   db;
	cm_err   rv;

	cm_put_u64be(k, leaf);
	if ((rv = ldg_db_find(t, EVENT_DB, &db)) != CM_OK ||
	    (rv = ldg_kv_get(t, db, CM_BYTES(k, 8), &v)) != CM_OK)
		return (rv);
	memset(f, 0, sizeof(*f));
	return (sum_parse(v, f));
}

cm_err
crd_catalogue_at(ldg_txn *t, uint64_t before, crd_catalogue **out,
                 uint64_t *out_leaf)
{
	crd_adopted a;
	cm_err      rv;

	*out = NULL;
	if ((rv = crd_adopted_get(t, CRD_CATALOGUE, before, &a)) != CM_OK)
		return (rv);
	if (out_leaf != NULL)
		*out_leaf = a.leaf;
	/* It parsed when it was adopted: a failure now is a damaged index. */
	if (crd_catalogue_decode(a.text, out, NULL) != CM_OK)
		return (CM_ECORRUPT);
	return (CM_OK);
}

/* The catalogue every event of a batch is checked against and indexed
 * under is the same text, mostly for a long run of records: validation and
 * the indexer share one parsed copy, kept while the adopted catalogue (its
 * leaf and SHA-256) stays the same.  A copy in use is never freed under its
 * user: a change while it is held makes a private copy. */
static pthread_mutex_t cat_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t       leaf;
	uint8_t        sha[CM_HASH_LEN];
	crd_catalogue *c;
	unsigned       users;
} cat_cache;

static cm_err
cat_hold(ldg_txn *t, uint64_t before, crd_catalogue **out)
{
	crd_adopted    a;
	crd_catalogue *c = NULL;
	cm_err         rv;

	*out = NULL;
	if ((rv = crd_adopted_get(t, CRD_CATALOGUE, before, &a)) != CM_OK)
		return (rv);
	pthread_mutex_lock(&cat_mu);
	if (cat_cache.c != NULL && cat_cache.leaf == a.leaf &&
	    memcmp(cat_cache.sha, a.sha, CM_HASH_LEN) == 0) {
		cat_cache.users++;
		*out = cat_cache.c;
		pthread_mutex_unlock(&cat_mu);
		return (CM_OK);
	}
	pthread_mutex_unlock(&cat_mu);
	if (crd_catalogue_decode(a.text, &c, NULL) != CM_OK)
		return (CM_ECORRUPT);
	pthread_mutex_lock(&cat_mu);
	if (cat_cache.users == 0) {
		crd_catalogue_free(cat_cache.c);
		cat_cache.c = c;
		cat_cache.leaf = a.leaf;
		memcpy(cat_cache.sha, a.sha, CM_HASH_LEN);
		cat_cache.users = 1;
	}
	pthread_mutex_unlock(&cat_mu);
	*out = c;
	return (CM_OK);
}

static void
cat_release(crd_catalogue *c)
{
	bool mine;

	if (c == NULL)
		return;
	pthread_mutex_lock(&cat_mu);
	mine = c != cat_cache.c;
	if (!mine)
		cat_cache.users--;
	pthread_mutex_unlock(&cat_mu);
	if (mine)
		crd_catalogue_free(c);
}

bool
crd_ev_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const ev_rec *e = r->decoded;

	if (id->role == LDG_ROLE_REGULATOR || id->role == LDG_ROLE_BANK ||
	    id->role == LDG_ROLE_ENTERPRISE)
		return (true);
	cm_diag_set(d, "%s: role %s writes no credit events",
	            e->op == CRD_OP_REVOKE    ? CRD_KIND_REVOKE
	            : e->op == CRD_OP_CONFIRM ? CRD_KIND_CONFIRM
	                                      : CRD_KIND_EVENT,
	            ldg_role_name(id->role));
	return (false);
}

/* The event a target names, resolved to its original: a credit.event
 * leaf (the ledger has checked the target's ref: an earlier batch's leaf
 * with that hash). */
static cm_err
target_get(ldg_txn *t, const ldg_record *r, const ev_rec *e, const char *kind,
           crd_fact *out, cm_diag *d)
{
	cm_err rv;

	(void) r;
	rv = crd_event_get(t, e->target, out);
	if (rv == CM_ENOTFOUND)
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is not a credit event", kind,
		                (unsigned long long) e->target));
	if (rv == CM_OK && out->op != CRD_OP_EVENT && out->op != CRD_OP_AMEND)
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is not a credit event", kind,
		                (unsigned long long) e->target));
	if (rv == CM_OK && out->op == CRD_OP_AMEND)
		rv = crd_event_get(t, out->leaf, out);
	return (rv);
}

typedef struct state_scan {
	uint64_t root;
	bool     revoked, confirmed;
} state_scan;

static cm_err
state_fn(void *arg, const crd_fact *f)
{
	state_scan *s = arg;

	if (f->leaf == s->root) {
		s->revoked = f->revoked != 0;
		s->confirmed = f->confirmed != 0;
	}
	return (CM_OK);
}

static bool
same_issuer(const crd_fact *f, const ldg_identity *id)
{
	return (id->uscc[0] != '\0' &&
	        memcmp(f->issuer, id->uscc, LDG_USCC_LEN) == 0);
}

cm_err
crd_ev_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const ev_rec  *er = r->decoded;
	crd_catalogue *c = NULL;
	crd_event      e;
	crd_fact       orig;
	state_scan     st = {0};
	const char    *kind = CRD_KIND_EVENT;
	cm_err         rv;

	memset(&e, 0, sizeof(e));
	if (er->op == CRD_OP_REVOKE || er->op == CRD_OP_CONFIRM) {
		kind = er->op == CRD_OP_REVOKE ? CRD_KIND_REVOKE
		                               : CRD_KIND_CONFIRM;
	}
	if ((rv = cat_hold(t, r->index, &c)) == CM_ENOTFOUND)
		return (cm_fail(d, CM_EREF,
		                "%s: no catalogue is adopted yet: the operator "
		                "adopts one first",
		                kind));
	if (rv != CM_OK)
		return (rv);
	if (er->has_target) {
		if ((rv = target_get(t, r, er, kind, &orig, d)) != CM_OK)
			goto out;
		st.root = orig.leaf;
		if ((rv = crd_facts(t, CM_BYTES(orig.subject, LDG_USCC_LEN),
		                    r->index, state_fn, &st)) != CM_OK)
			goto out;
		if (st.revoked) {
			rv = cm_fail(d, CM_EINVAL,
			             "%s: the event at leaf %llu is revoked",
			             kind, (unsigned long long) orig.leaf);
			goto out;
		}
		if (er->op != CRD_OP_CONFIRM &&
		    !same_issuer(&orig, r->signer)) {
			rv = cm_fail(
			    d, CM_EDENIED,
			    "%s: only the issuer of the event at leaf "
			    "%llu (%s) may %s it",
			    kind, (unsigned long long) orig.leaf, orig.issuer,
			    er->op == CRD_OP_REVOKE ? "revoke" : "amend");
			goto out;
		}
	}
	if (er->op == CRD_OP_CONFIRM) {
		int ci = crd_catalogue_category(
		    c, CM_BYTES(orig.category, strlen(orig.category)));

		if (!orig.self || !orig.positive) {
			rv =
			    cm_fail(d, CM_EINVAL,
			            "credit.confirm: the event at leaf %llu is "
			            "not a positive fact written by the "
			            "enterprise itself",
			            (unsigned long long) orig.leaf);
		} else if (st.confirmed) {
			rv =
			    cm_fail(d, CM_EEXIST,
			            "credit.confirm: the event at leaf %llu is "
			            "already confirmed",
			            (unsigned long long) orig.leaf);
		} else if (r->signer->role == LDG_ROLE_ENTERPRISE || ci < 0) {
			rv =
			    cm_fail(d, CM_EDENIED,
			            "credit.confirm: an authority with the "
			            "scope %s%s confirms it, not an enterprise",
			            CRD_SCOPE_PREFIX, orig.category);
		} else
			rv = crd_writer_check(
			    r->signer, &c->cat[ci],
			    CM_BYTES(orig.subject, LDG_USCC_LEN),
			    "credit.confirm", d);
		goto out;
	}
	if (er->op == CRD_OP_REVOKE) {
		rv = day_order_in(kind, orig.decided, "the event's decision",
		                  er->decided, "the revocation's decision", d);
		if (rv == CM_OK)
			rv = not_future_in(kind, er->decided, "decided",
			                   crd_day_of_ms(r->log_time), d);
		goto out;
	}
	if ((rv = crd_ev_event(er, &e, d)) != CM_OK)
		goto out;
	if ((rv = event_check(&e, c, r->signer, crd_day_of_ms(r->log_time),
	                      d)) != CM_OK)
		goto out;
	if (er->op == CRD_OP_AMEND &&
	    !cm_bytes_eq(er->subject, CM_BYTES(orig.subject, LDG_USCC_LEN)))
		rv = cm_fail(d, CM_EINVAL,
		             "credit.event: an amendment keeps the subject %s "
		             "of the event at leaf %llu",
		             orig.subject, (unsigned long long) orig.leaf);
	else
		rv = ldg_uscc_admitted(t, er->subject, d);
out:
	cat_release(c);
	return (rv);
}

typedef struct cite_put {
	ldg_txn *t;
	ldg_db   db;
	uint64_t leaf;
} cite_put;

static cm_err
cite_one(void *arg, uint64_t index)
{
	cite_put *c = arg;
	uint8_t   key[16];

	cm_put_u64be(key, index);
	cm_put_u64be(key + 8, c->leaf);
	return (ldg_kv_put(c->t, c->db, CM_BYTES(key, 16), CM_BYTES("", 0), 0));
}

/* Indexes the leaves an event cites in its refs (its evidence), so that
 * a fact from elsewhere (a trace inspection) an event already enters is
 * not counted twice. */
static cm_err
cites_put(ldg_txn *t, cm_bytes rec, uint64_t leaf)
{
	cite_put   c = {t, 0, leaf};
	cm_cbor_rd rd;
	uint64_t   n;
	cm_err     rv;

	if ((rv = ldg_db_find(t, CITE_DB, &c.db)) != CM_OK)
		return (rv);
	cm_cbor_rd_init(&rd, rec, NULL);
	if (cm_cbor_rd_map(&rd, &n) != CM_OK)
		return (CM_ECORRUPT);
	for (uint64_t i = 0; i < n; i++) {
		cm_bytes k, v;

		if (cm_cbor_rd_text(&rd, &k) != CM_OK ||
		    cm_cbor_rd_skip(&rd, &v) != CM_OK)
			return (CM_ECORRUPT);
		if (cm_bytes_eq_str(k, "refs")) {
			rv = refs_each(v, cite_one, &c);
			return (rv == CM_EPROTO ? CM_ECORRUPT : rv);
		}
	}
	return (CM_OK);
}

cm_err
crd_citing(ldg_txn *t, uint64_t leaf, uint64_t size, crd_leaf_fn fn, void *arg)
{
	ldg_cursor *cur = NULL;
	uint8_t     key[16];
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	cm_put_u64be(key, leaf);
	memset(key + 8, 0, 8);
	if ((rv = ldg_db_find(t, CITE_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &cur)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(cur, CM_BYTES(key, 16), &k, &v); rv == CM_OK;
	     rv = ldg_cursor_next(cur, &k, &v)) {
		uint64_t by;

		if (k.len != 16 || memcmp(k.p, key, 8) != 0)
			break;
		if ((by = cm_get_u64be(k.p + 8)) >= size)
			break;
		if ((rv = fn(arg, by)) != CM_OK)
			break;
	}
	if (rv == CM_ENOTFOUND)
		rv = CM_OK;
	ldg_cursor_close(cur);
	return (rv);
}

cm_err
crd_ev_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const ldg_record *r = leaf->record;
	const ev_rec     *er;
	crd_catalogue    *c = NULL;
	crd_fact          orig;
	const char       *cat = "";
	cm_bytes          subject, item;
	uint8_t           key[LDG_USCC_LEN + 8], ckey[CRD_NAME_MAX + 13];
	uint8_t           flags = 0, sev;
	crd_day           days[4];
	uint64_t          root = leaf->index;
	cm_buf            val = {0};
	ldg_db            sdb, edb, cdb;
	size_t            cl;
	cm_err            rv;

	(void) d;
	if (r == NULL || (!cm_bytes_eq_str(r->kind, CRD_KIND_EVENT) &&
	                  !cm_bytes_eq_str(r->kind, CRD_KIND_REVOKE) &&
	                  !cm_bytes_eq_str(r->kind, CRD_KIND_CONFIRM)))
		return (CM_OK);
	er = r->decoded;
	if ((rv = ldg_db_find(t, SUBJ_DB, &sdb)) != CM_OK ||
	    (rv = ldg_db_find(t, EVENT_DB, &edb)) != CM_OK ||
	    (rv = ldg_db_find(t, CAT_IDX_DB, &cdb)) != CM_OK)
		return (rv);
	if (er->has_target) {
		if ((rv = crd_event_get(t, er->target, &orig)) != CM_OK)
			return (rv == CM_ENOTFOUND ? CM_ECORRUPT : rv);
		if (orig.op == CRD_OP_AMEND &&
		    (rv = crd_event_get(t, orig.leaf, &orig)) != CM_OK)
			return (rv);
		root = orig.leaf;
	}
	if (er->op == CRD_OP_EVENT || er->op == CRD_OP_AMEND) {
		const crd_item *it;

		subject = er->subject;
		item = er->item;
		sev = (uint8_t) er->severity;
		days[0] = er->occurred;
		days[1] = er->decided;
		days[2] = er->ended;
		days[3] = er->until;
		if ((rv = cat_hold(t, leaf->index, &c)) != CM_OK)
			return (rv);
		if ((it = crd_catalogue_item(c, item)) == NULL) {
			rv = CM_ECORRUPT;
			goto out;
		}
		cat = c->cat[it->category].name;
		if (c->cat[it->category].positive)
			flags |= 2;
		if (r->signer->role == LDG_ROLE_ENTERPRISE)
			flags |= 1;
	} else {
		subject = CM_BYTES(orig.subject, LDG_USCC_LEN);
		item = CM_BYTES(orig.item, strlen(orig.item));
		sev = (uint8_t) orig.severity;
		days[0] = er->occurred;
		days[1] = er->decided;
		days[2] = days[3] = CRD_DAY_NONE;
	}
	if (subject.len != LDG_USCC_LEN) {
		/* Validation admitted it (an exception record may admit
		 * one that fails the check, never one of another length). */
		rv = CM_ECORRUPT;
		goto out;
	}
	cl = strlen(cat);
	if ((rv = cm_buf_reserve(&val, SUM_FIXED + cl + item.len)) != CM_OK)
		goto out;
	memset(val.p, 0, SUM_FIXED);
	val.p[0] = (uint8_t) er->op;
	val.p[1] = sev;
	val.p[2] = flags;
	cm_put_u64be(val.p + 4, root);
	for (int i = 0; i < 4; i++)
		cm_put_u32be(val.p + 12 + 4 * i, (uint32_t) days[i]);
	memcpy(val.p + 28, subject.p, LDG_USCC_LEN);
	if (r->signer->uscc[0] != '\0')
		memcpy(val.p + 28 + LDG_USCC_LEN, r->signer->uscc,
		       LDG_USCC_LEN);
	val.p[SUM_FIXED - 1] = (uint8_t) cl;
	memcpy(val.p + SUM_FIXED, cat, cl);
	memcpy(val.p + SUM_FIXED + cl, item.p, item.len);
	val.len = SUM_FIXED + cl + item.len;
	memcpy(key, subject.p, LDG_USCC_LEN);
	cm_put_u64be(key + LDG_USCC_LEN, leaf->index);
	if ((rv = ldg_kv_put(t, sdb, CM_BYTES(key, sizeof(key)),
	                     cm_buf_bytes(&val), 0)) != CM_OK ||
	    (rv = ldg_kv_put(t, edb, CM_BYTES(key + LDG_USCC_LEN, 8),
	                     cm_buf_bytes(&val), 0)) != CM_OK)
		goto out;
	if (er->op == CRD_OP_EVENT || er->op == CRD_OP_AMEND) {
		memcpy(ckey, cat, cl);
		ckey[cl] = 0;
		cm_put_u32be(ckey + cl + 1, (uint32_t) er->decided);
		cm_put_u64be(ckey + cl + 5, leaf->index);
		if ((rv = ldg_kv_put(t, cdb, CM_BYTES(ckey, cl + 13),
		                     CM_BYTES(subject.p, LDG_USCC_LEN), 0)) ==
		    CM_OK)
			rv = cites_put(t, r->rec, leaf->index);
	}
out:
	cat_release(c);
	cm_buf_fini(&val);
	return (rv);
}

/* ---- reading the index ---------------------------------------------- */

static crd_fact *
fact_find(crd_fact *f, size_t n, uint64_t root)
{
	/* Originals are appended in leaf order: binary search. */
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f[mid].leaf < root)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < n && f[lo].leaf == root ? &f[lo] : NULL);
}

cm_err
crd_facts(ldg_txn *t, cm_bytes subject, uint64_t size, crd_fact_fn fn,
          void *arg)
{
	ldg_cursor *cur = NULL;
	crd_fact   *f = NULL, x, *o;
	size_t      n = 0, cap = 0;
	uint8_t     key[LDG_USCC_LEN + 8];
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	if (subject.len != LDG_USCC_LEN)
		return (CM_OK);
	memcpy(key, subject.p, LDG_USCC_LEN);
	memset(key + LDG_USCC_LEN, 0, 8);
	if ((rv = ldg_db_find(t, SUBJ_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &cur)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(cur, CM_BYTES(key, sizeof(key)), &k, &v);
	     rv == CM_OK; rv = ldg_cursor_next(cur, &k, &v)) {
		uint64_t leaf;

		if (k.len != sizeof(key) ||
		    memcmp(k.p, subject.p, LDG_USCC_LEN) != 0)
			break;
		leaf = cm_get_u64be(k.p + LDG_USCC_LEN);
		if (leaf >= size)
			break;
		memset(&x, 0, sizeof(x));
		if ((rv = sum_parse(v, &x)) != CM_OK)
			goto out;
		if (x.op == CRD_OP_EVENT) {
			if (n == cap) {
				crd_fact *nf;

				cap = cap ? 2 * cap : 16;
				if ((nf = cm_realloc(f, cap * sizeof(*f))) ==
				    NULL) {
					rv = CM_ENOMEM;
					goto out;
				}
				f = nf;
			}
			x.current = leaf;
			f[n++] = x;
			continue;
		}
		if ((o = fact_find(f, n, x.leaf)) == NULL) {
			rv = CM_ECORRUPT;
			goto out;
		}
		if (x.op == CRD_OP_REVOKE) {
			o->revoked = leaf;
			o->revoked_day = x.decided;
		} else if (x.op == CRD_OP_CONFIRM)
			o->confirmed = leaf;
		else {
			/* An amendment: the new statement, same original. */
			uint64_t r = o->revoked, c = o->confirmed;
			bool     self = o->self;

			*o = x;
			o->leaf = x.leaf;
			o->current = leaf;
			o->revoked = r;
			o->confirmed = c;
			o->self = self;
			o->namend++;
			o->op = CRD_OP_EVENT;
		}
	}
	if (rv == CM_ENOTFOUND || rv == CM_OK)
		rv = CM_OK;
	else
		goto out;
	ldg_cursor_close(cur);
	cur = NULL;
	for (size_t i = 0; i < n && rv == CM_OK; i++)
		rv = fn(arg, &f[i]);
out:
	ldg_cursor_close(cur);
	cm_free(f);
	return (rv);
}

cm_err
crd_subjects(ldg_txn *t, uint64_t size, crd_subject_fn fn, void *arg)
{
	ldg_cursor *cur = NULL;
	uint8_t     key[LDG_USCC_LEN + 8];
	char        s[LDG_USCC_LEN + 1];
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	if ((rv = ldg_db_find(t, SUBJ_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &cur)) != CM_OK)
		return (rv);
	rv = ldg_cursor_first(cur, &k, &v);
	while (rv == CM_OK) {
		if (k.len != sizeof(key)) {
			rv = CM_ECORRUPT;
			break;
		}
		memcpy(s, k.p, LDG_USCC_LEN);
		s[LDG_USCC_LEN] = '\0';
		if (cm_get_u64be(k.p + LDG_USCC_LEN) < size &&
		    (rv = fn(arg, s)) != CM_OK)
			break;
		/* The next subject: past every leaf of this one. */
		memcpy(key, s, LDG_USCC_LEN);
		memset(key + LDG_USCC_LEN, 0xff, 8);
		if ((rv = ldg_cursor_seek(cur, CM_BYTES(key, sizeof(key)), &k,
		                          &v)) == CM_OK &&
		    memcmp(k.p, s, LDG_USCC_LEN) == 0)
			rv = ldg_cursor_next(cur, &k, &v);
	}
	if (rv == CM_ENOTFOUND)
		rv = CM_OK;
	ldg_cursor_close(cur);
	return (rv);
}

cm_err
crd_category_events(ldg_txn *t, cm_bytes category, crd_day since, uint64_t size,
                    crd_catev_fn fn, void *arg)
{
	ldg_cursor *cur = NULL;
	uint8_t     key[CRD_NAME_MAX + 13];
	char        s[LDG_USCC_LEN + 1];
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	if (category.len == 0 || category.len > CRD_NAME_MAX)
		return (CM_OK);
	memcpy(key, category.p, category.len);
	key[category.len] = 0;
	cm_put_u32be(key + category.len + 1,
	             (uint32_t) (since < 0 ? 0 : since));
	memset(key + category.len + 5, 0, 8);
	if ((rv = ldg_db_find(t, CAT_IDX_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &cur)) != CM_OK)
		return (rv);
	for (rv =
	         ldg_cursor_seek(cur, CM_BYTES(key, category.len + 13), &k, &v);
	     rv == CM_OK; rv = ldg_cursor_next(cur, &k, &v)) {
		uint64_t leaf;

		if (k.len != category.len + 13 ||
		    memcmp(k.p, key, category.len + 1) != 0)
			break;
		if (v.len != LDG_USCC_LEN) {
			rv = CM_ECORRUPT;
			break;
		}
		leaf = cm_get_u64be(k.p + category.len + 5);
		if (leaf >= size)
			continue;
		memcpy(s, v.p, LDG_USCC_LEN);
		s[LDG_USCC_LEN] = '\0';
		if ((rv = fn(arg, leaf,
		             (crd_day) cm_get_u32be(k.p + category.len + 1),
		             s)) != CM_OK)
			break;
	}
	if (rv == CM_ENOTFOUND)
		rv = CM_OK;
	ldg_cursor_close(cur);
	return (rv);
}

/* The indexer's databases, for crd_adopt.c's module tables. */
const ldg_dbspec crd_ev_dbs[4] = {
    {SUBJ_DB, 0}, {EVENT_DB, 0}, {CAT_IDX_DB, 0}, {CITE_DB, 0}};
