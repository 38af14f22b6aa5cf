/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_event_test.c -- the credit event API an import uses
 * (crd_event_check, crd_event_build) against the default catalogue: a
 * built record decodes through the credit.event kind to the same fields
 * and encodes back to the same bytes; each refusal at the door gives its
 * exact reason; the writer rules by role and scope; the revoke and confirm
 * records decode, and their targets must be in refs.  (The checks that
 * need the log run through tally: tests/integration/test_credit_events.py.)
 * With CRD_EVENT_SEEDS=DIR set it writes the records it builds there, the
 * fuzz corpus's seeds. */
#include "credit/crd_impl.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

#include <stdio.h>
#include <string.h>

#define ENT "91440300000079193X"
#define BANK "91440300000395954L"

static crd_catalogue *
catalogue(void)
{
	cm_buf         text = {0};
	crd_catalogue *c = NULL;
	cm_diag        d;

	TST_TRUE(tst_file_read("credit/data/default.catalogue", &text));
	TST_OK(crd_catalogue_decode(cm_buf_bytes(&text), &c, &d));
	cm_buf_fini(&text);
	return (c);
}

static crd_day
day(const char *s)
{
	crd_day out = CRD_DAY_NONE;

	TST_OK(crd_day_parse(s, strlen(s), &out));
	return (out);
}

#define B(s) CM_BYTES(s, strlen(s))

static void
penalty(crd_event *e)
{
	memset(e, 0, sizeof(*e));
	e->subject = B(ENT);
	e->item = B("violation.penalty");
	e->severity = CRD_GENERAL;
	e->doc = B("SHSC-2026-0042");
	e->occurred = day("2026-05-01");
	e->decided = day("2026-06-01");
	e->ended = CRD_DAY_NONE;
	e->until = CRD_DAY_NONE;
	e->has_amount = true;
	e->amount_fen = 5000000;
	e->ndetail = 2;
	e->detail[0].name = B("penalty_kind");
	e->detail[0].value = B("fine");
	e->detail[1].name = B("legal_basis");
	e->detail[1].value = B("Food Safety Law Art. 124");
}

static void
regulator(ldg_identity *w, const char *scope)
{
	memset(w, 0, sizeof(*w));
	w->role = LDG_ROLE_REGULATOR;
	strcpy(w->uscc, "91310000MA1FL0L33B");
	strcpy(w->scopes[0], scope);
	w->nscopes = 1;
}

static void
seed(const char *name, cm_bytes rec)
{
	const char *dir = getenv("CRD_EVENT_SEEDS");
	char        p[512];
	FILE       *f;

	if (dir == NULL)
		return;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	TST_TRUE((f = fopen(p, "wb")) != NULL);
	TST_TRUE(fwrite(rec.p, 1, rec.len, f) == rec.len);
	fclose(f);
}

static cm_err
decode(int kind, cm_bytes rec, crd_ev_rec *out, cm_diag *d)
{
	cm_cbor_map m;
	cm_err      rv;

	cm_diag_clear(d);
	if ((rv = cm_cbor_check_map(rec, &m, d)) != CM_OK)
		return (rv);
	TST_TRUE(crd_module.kinds[kind].decoded_size <= LDG_DECODED_MAX);
	return (crd_module.kinds[kind].decode(&m, out, d));
}

static const ldg_kind *
kind_named(const char *name, int *index)
{
	for (size_t i = 0; i < crd_module.nkinds; i++)
		if (strcmp(crd_module.kinds[i].name, name) == 0) {
			*index = (int) i;
			return (&crd_module.kinds[i]);
		}
	return (NULL);
}

static void
test_build_decode_round_trip(void)
{
	crd_catalogue *c = catalogue();
	crd_event      e, back;
	crd_ev_rec     r;
	ldg_identity   w;
	cm_buf         rec = {0}, again = {0};
	cm_diag        d;
	int            k;

	TST_TRUE(kind_named(CRD_KIND_EVENT, &k) != NULL);
	regulator(&w, "credit.violation");
	penalty(&e);
	e.ended = day("2026-07-01");
	e.until = day("2027-06-01");
	cm_diag_clear(&d);
	TST_OK(crd_event_build(&e, c, &w, day("2026-12-04"), &rec, &d));
	seed("penalty", cm_buf_bytes(&rec));
	TST_OK(decode(k, cm_buf_bytes(&rec), &r, &d));
	TST_EQ_U(r.op, CRD_OP_EVENT);
	TST_TRUE(cm_bytes_eq(r.subject, B(ENT)));
	TST_TRUE(cm_bytes_eq(r.item, B("violation.penalty")));
	TST_EQ_U(r.severity, CRD_GENERAL);
	TST_EQ_U(r.occurred, day("2026-05-01"));
	TST_EQ_U(r.decided, day("2026-06-01"));
	TST_EQ_U(r.ended, day("2026-07-01"));
	TST_EQ_U(r.until, day("2027-06-01"));
	TST_TRUE(r.has_amount && r.amount == 5000000);
	TST_OK(crd_ev_event(&r, &back, &d));
	TST_EQ_U(back.ndetail, 2);
	TST_OK(crd_event_encode(&back, &again, &d));
	TST_EQ_U(again.len, rec.len);
	TST_EQ_MEM(again.p, rec.p, rec.len);
	/* Details given in another order encode the same. */
	penalty(&e);
	e.ended = day("2026-07-01");
	e.until = day("2027-06-01");
	e.detail[0].name = B("legal_basis");
	e.detail[0].value = B("Food Safety Law Art. 124");
	e.detail[1].name = B("penalty_kind");
	e.detail[1].value = B("fine");
	cm_buf_reset(&again);
	TST_OK(crd_event_encode(&e, &again, &d));
	TST_EQ_U(again.len, rec.len);
	TST_EQ_MEM(again.p, rec.p, rec.len);
	/* The smallest event: no optional member. */
	memset(&e, 0, sizeof(e));
	e.subject = B(ENT);
	e.item = B("violation.serious-list");
	e.severity = CRD_SERIOUS;
	e.doc = B("L-1");
	e.occurred = e.decided = day("2026-03-01");
	e.ended = e.until = CRD_DAY_NONE;
	cm_buf_reset(&rec);
	TST_OK(crd_event_build(&e, c, &w, day("2026-03-01"), &rec, &d));
	seed("list", cm_buf_bytes(&rec));
	TST_OK(decode(k, cm_buf_bytes(&rec), &r, &d));
	TST_TRUE(r.ended == CRD_DAY_NONE && r.until == CRD_DAY_NONE &&
	         !r.has_amount && r.details.len == 0);
	cm_buf_fini(&rec);
	cm_buf_fini(&again);
	crd_catalogue_free(c);
}

typedef void (*mutate_fn)(crd_event *e);

static void
m_item(crd_event *e)
{
	e->item = B("violation.jaywalking");
}
static void
m_sev(crd_event *e)
{
	e->severity = CRD_LIGHT;
	e->decided = day("2025-01-01");
	e->occurred = e->decided;
}
static void
m_forbid(crd_event *e)
{
	e->detail[0].name = B("religion");
}
static void
m_field(crd_event *e)
{
	e->detail[0].name = B("product");
}
static void
m_twice(crd_event *e)
{
	e->detail[1].name = e->detail[0].name;
}
static void
m_amount(crd_event *e)
{
	e->item = B("violation.serious-list");
	e->severity = CRD_SERIOUS;
	e->ndetail = 0;
}
static void
m_order(crd_event *e)
{
	e->occurred = day("2026-06-02");
}
static void
m_future(crd_event *e)
{
	e->decided = day("2026-12-05");
}
static void
m_ended(crd_event *e)
{
	e->ended = day("2026-12-05");
}
static void
m_uscc(crd_event *e)
{
	e->subject = B("91440300000079193Y");
}
static void
m_doc(crd_event *e)
{
	e->doc = B("");
}
static void
m_lower(crd_event *e)
{
	e->subject = B("91440300000079193x");
}

/* crd_event_check on 2026-12-04 with a fresh diag. */
static cm_err
check(const crd_event *e, const crd_catalogue *c, const ldg_identity *w,
      cm_diag *d)
{
	cm_diag_clear(d);
	return (crd_event_check(e, c, w, day("2026-12-04"), d));
}

static void
test_refusals(void)
{
	static const struct {
		mutate_fn   fn;
		const char *msg;
	} cases[] = {
	    {m_item, "credit.event: item 'violation.jaywalking' is not in "
	             "catalogue version 1"},
	    {m_sev, "credit.event: item violation.penalty has no light rule "
	            "in force on the decision day 2025-01-01"},
	    {m_forbid, "credit.event: field religion is forbidden by the "
	               "catalogue (it may not be collected)"},
	    {m_field, "credit.event: field 'product' is not a field of item "
	              "violation.penalty"},
	    {m_twice, "credit.event: field penalty_kind given twice"},
	    {m_amount, "credit.event: item violation.serious-list has no "
	               "amount field"},
	    {m_order, "credit.event: occurred 2026-06-02 is after decided "
	              "2026-06-01"},
	    {m_future, "credit.event: decided 2026-12-05 is in the future "
	               "(the log's date is 2026-12-04)"},
	    {m_ended, "credit.event: ended 2026-12-05 is in the future (the "
	              "log's date is 2026-12-04)"},
	    {m_uscc, "credit.event: subject: "},
	    {m_doc, "credit.event: doc must be text of 1..64 bytes"},
	    {m_lower, "credit.event: subject: lowercase"},
	};
	crd_catalogue *c = catalogue();
	crd_event      e;
	cm_buf         rec = {0};
	cm_diag        d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		penalty(&e);
		cases[i].fn(&e);
		cm_diag_clear(&d);
		TST_TRUE(crd_event_build(&e, c, NULL, day("2026-12-04"), &rec,
		                         &d) != CM_OK);
		TST_TRUE(strncmp(d.msg, cases[i].msg, strlen(cases[i].msg)) ==
		         0);
		if (strncmp(d.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fprintf(stderr, "  case %zu: got \"%s\"\n", i, d.msg);
		TST_EQ_U(rec.len, 0);
	}
	/* A severity the item never allows. */
	penalty(&e);
	e.item = B("violation.samr-warning");
	e.ndetail = 0;
	e.has_amount = false;
	e.severity = CRD_SERIOUS;
	TST_ERR(check(&e, c, NULL, &d), CM_EINVAL);
	TST_EQ_STR(d.msg, "credit.event: item violation.samr-warning does not "
	                  "allow severity serious (allowed: light)");
	cm_buf_fini(&rec);
	crd_catalogue_free(c);
}

static void
test_writers(void)
{
	crd_catalogue *c = catalogue();
	crd_event      e;
	ldg_identity   w;
	cm_diag        d;

	penalty(&e);
	regulator(&w, "credit.tax");
	TST_ERR(check(&e, c, &w, &d), CM_EDENIED);
	TST_EQ_STR(d.msg, "credit.event: category violation needs the scope "
	                  "credit.violation, which this regulator key does not "
	                  "hold");
	/* A scope "violation" (an attestation scope) is not credit's. */
	regulator(&w, "violation");
	TST_ERR(check(&e, c, &w, &d), CM_EDENIED);
	regulator(&w, "credit.violation");
	TST_OK(check(&e, c, &w, &d));
	w.role = LDG_ROLE_ENTERPRISE;
	strcpy(w.uscc, ENT);
	TST_ERR(check(&e, c, &w, &d), CM_EDENIED);
	TST_EQ_STR(d.msg, "credit.event: an enterprise writes only its own "
	                  "positive facts; violation is a negative category");
	memset(&e, 0, sizeof(e));
	e.subject = B(ENT);
	e.item = B("commendation.honour");
	e.severity = CRD_GENERAL;
	e.doc = B("H-1");
	e.occurred = e.decided = day("2026-09-01");
	e.ended = e.until = CRD_DAY_NONE;
	TST_OK(check(&e, c, &w, &d));
	strcpy(w.uscc, BANK);
	TST_ERR(check(&e, c, &w, &d), CM_EDENIED);
	TST_EQ_STR(d.msg, "credit.event: an enterprise writes facts about "
	                  "itself only (" BANK "), not about " ENT);
	/* A bank: loans with the scope, and only its own. */
	memset(&e, 0, sizeof(e));
	e.subject = B(ENT);
	e.item = B("loan.overdue");
	e.severity = CRD_GENERAL;
	e.doc = B("LN-1");
	e.occurred = day("2026-02-01");
	e.decided = day("2026-03-01");
	e.ended = e.until = CRD_DAY_NONE;
	e.ndetail = 1;
	e.detail[0].name = B("lender");
	e.detail[0].value = B(BANK);
	w.role = LDG_ROLE_BANK;
	strcpy(w.scopes[0], "credit.loan");
	TST_OK(check(&e, c, &w, &d));
	e.detail[0].value = B(ENT);
	TST_ERR(check(&e, c, &w, &d), CM_EDENIED);
	TST_EQ_STR(d.msg, "credit.event: a bank writes events about its own "
	                  "loans only: details.lender must be its USCC " BANK);
	w.role = LDG_ROLE_OPERATOR;
	TST_ERR(check(&e, c, &w, &d), CM_EDENIED);
	TST_EQ_STR(d.msg,
	           "credit.event: role operator writes no credit events");
	crd_catalogue_free(c);
}

static void
test_targets(void)
{
	crd_ref    t = {.index = 7};
	crd_ev_rec r;
	cm_buf     rec = {0};
	cm_diag    d;
	int        kr, kc, ke;

	memset(t.hash, 0xab, sizeof(t.hash));
	TST_TRUE(kind_named(CRD_KIND_REVOKE, &kr) != NULL);
	TST_TRUE(kind_named(CRD_KIND_CONFIRM, &kc) != NULL);
	TST_TRUE(kind_named(CRD_KIND_EVENT, &ke) != NULL);
	TST_OK(crd_revoke_encode(&t, B("R-1"), day("2026-11-01"),
	                         B("annulled on review"), &rec, &d));
	seed("revoke", cm_buf_bytes(&rec));
	TST_OK(decode(kr, cm_buf_bytes(&rec), &r, &d));
	TST_TRUE(r.op == CRD_OP_REVOKE && r.target == 7 &&
	         r.decided == day("2026-11-01") &&
	         cm_bytes_eq(r.reason, B("annulled on review")));
	/* The confirm decoder refuses a revocation's members. */
	TST_ERR(decode(kc, cm_buf_bytes(&rec), &r, &d), CM_EPROTO);
	cm_buf_reset(&rec);
	TST_OK(crd_confirm_encode(&t, &rec, &d));
	seed("confirm", cm_buf_bytes(&rec));
	TST_OK(decode(kc, cm_buf_bytes(&rec), &r, &d));
	TST_TRUE(r.op == CRD_OP_CONFIRM && r.target == 7);
	TST_ERR(decode(kr, cm_buf_bytes(&rec), &r, &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "missing field \"doc\" in tally/record/v1");
	cm_buf_fini(&rec);
}

TST_MAIN(TST_CASE(test_build_decode_round_trip), TST_CASE(test_refusals),
         TST_CASE(test_writers), TST_CASE(test_targets))
