/* SPDX-License-Identifier: MIT */
/* credit/crd_report.c -- the full credit report of a subject as of a day
 * and a tree size, for one reader (canonical CBOR: the same inputs give
 * the same bytes, so its SHA-256 in the query record can be checked by
 * rebuilding it), the public part anyone may see, and the audit replay of
 * every query record.  docs/credit.md section 9. */
#include "credit/crd_impl.h"

#include <stdio.h>
#include <string.h>

/* One line of a report section. */
typedef struct entry {
	uint64_t leaf, about; /* about: UINT64_MAX none */
	crd_day  date;
	char     by[LDG_USCC_LEN + 1];
	char     kind[CRD_NAME_MAX + 24];
	char     what[96];
	char     state[96];
	cm_bytes text;
} entry;

enum { S_RECORDS, S_QUERIES, S_DISPUTES, S_STATEMENTS, S_REPAIRS, NSECT };

typedef struct report {
	ldg_txn          *t;
	const char       *subject;
	crd_day           as_of;
	uint64_t          size;
	const crd_reader *rd;
	entry            *e[NSECT];
	size_t            n[NSECT], cap[NSECT];
	uint64_t          last_query, last_size; /* a bank's own, 0 none */
	uint64_t         *since;
	size_t            nsince, capsince;
	cm_err            rv;
} report;

/* Room for one more of n items of size bytes in *p (capacity *cap). */
static bool
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? 2 * *cap : 16;
	void  *q;

	if (n < *cap)
		return (true);
	if ((q = cm_realloc(*p, c * size)) == NULL)
		return (false);
	*p = q;
	*cap = c;
	return (true);
}

static entry *
add(report *r, int s)
{
	if (!grow((void **) &r->e[s], &r->cap[s], r->n[s], sizeof(entry)))
		return (NULL);
	memset(&r->e[s][r->n[s]], 0, sizeof(entry));
	r->e[s][r->n[s]].about = UINT64_MAX;
	return (&r->e[s][r->n[s]++]);
}

static void
cstr(char *out, size_t cap, cm_bytes b)
{
	snprintf(out, cap, "%.*s", (int) (b.len < cap ? b.len : cap - 1),
	         (const char *) b.p);
}

typedef struct fact_q {
	uint64_t leaf;
	crd_fact f;
	bool     found;
} fact_q;

static cm_err
fact_fn(void *arg, const crd_fact *f)
{
	fact_q *q = arg;

	if (f->leaf == q->leaf) {
		q->f = *f;
		q->found = true;
	}
	return (CM_OK);
}

/* The marks of a record, in words: a credit event's revocation and
 * amendments (credit/crd_event.c), then disputes and repair. */
static cm_err
record_state(report *r, uint64_t leaf, char *out, size_t cap)
{
	crd_marks m;
	fact_q    fq = {.leaf = leaf};
	char      day[11];
	cm_err    rv;

	if ((rv = crd_marks_get(r->t, leaf, r->size, r->as_of, &m)) != CM_OK ||
	    (rv = crd_facts(r->t, CM_BYTES(r->subject, strlen(r->subject)),
	                    r->size, fact_fn, &fq)) != CM_OK)
		return (rv);
	out[0] = '\0';
	if (fq.found && fq.f.revoked != 0)
		snprintf(out, cap, "revoked at leaf %llu; ",
		         (unsigned long long) fq.f.revoked);
	else if (fq.found && fq.f.namend != 0)
		snprintf(out, cap, "amended: read leaf %llu; ",
		         (unsigned long long) fq.f.current);
	if (m.dispute != CRD_DISPUTE_NONE) {
		size_t n = strlen(out);

		snprintf(out + n, cap - n,
		         "disputed: %s (dispute at leaf %llu)",
		         crd_dispute_state_name(m.dispute),
		         (unsigned long long) m.dispute_leaf);
	}
	if (m.repaired) {
		size_t n = strlen(out);

		crd_day_format(m.repaired_from, day);
		snprintf(out + n, cap - n, "%srepaired from %s (leaf %llu)",
		         n && out[n - 1] != ' ' ? "; " : "", day,
		         (unsigned long long) m.repair_leaf);
	}
	/* No trailing separator. */
	for (size_t n = strlen(out);
	     n > 0 && (out[n - 1] == ' ' || out[n - 1] == ';');)
		out[--n] = '\0';
	return (CM_OK);
}

static cm_err
entry_fn(void *arg, uint64_t leaf, uint8_t tag)
{
	report  *r = arg;
	crd_leaf l;
	entry   *e;
	cm_bytes b;
	uint64_t u;
	int      s;
	cm_err   rv;

	if (tag == CRD_T_CONSENT)
		return (CM_OK);
	if ((rv = crd_leaf_read(r->t, leaf, &l)) != CM_OK)
		return (rv == CM_EINVAL ? CM_ECORRUPT : rv);
	s = tag == CRD_T_RECORD                          ? S_RECORDS
	    : tag == CRD_T_QUERY                         ? S_QUERIES
	    : tag == CRD_T_STATEMENT                     ? S_STATEMENTS
	    : tag == CRD_T_REPAIR || tag == CRD_T_DECIDE ? S_REPAIRS
	                                                 : S_DISPUTES;
	if ((e = add(r, s)) == NULL)
		return (CM_ENOMEM);
	e->leaf = leaf;
	e->date = crd_day_of_ms(l.log_time);
	memcpy(e->by, l.signer.uscc, sizeof(e->by));
	switch (tag) {
	case CRD_T_RECORD: {
		crd_cited ci;

		if ((rv = crd_cited_get(r->t, leaf, r->size, &ci, NULL)) !=
		    CM_OK)
			return (rv == CM_EREF ? CM_ECORRUPT : rv);
		snprintf(e->kind, sizeof(e->kind), "%s", ci.type);
		snprintf(e->what, sizeof(e->what), "%s", ci.category);
		return (record_state(r, leaf, e->state, sizeof(e->state)));
	}
	case CRD_T_QUERY:
		snprintf(e->kind, sizeof(e->kind), "query by %s",
		         ldg_role_name(l.signer.role));
		if (crd_leaf_text(&l, "purpose", &b))
			cstr(e->what, sizeof(e->what), b);
		if (l.signer.role == LDG_ROLE_BANK)
			snprintf(e->state, sizeof(e->state), "lender query");
		(void) crd_leaf_text(&l, "staff", &e->text);
		if (r->rd->role == LDG_ROLE_BANK &&
		    strcmp(l.signer.uscc, r->rd->uscc) == 0 &&
		    crd_leaf_uint(&l, "size", &u)) {
			r->last_query = leaf;
			r->last_size = u;
		}
		return (CM_OK);
	case CRD_T_STATEMENT:
		snprintf(e->kind, sizeof(e->kind), "statement");
		if (crd_leaf_uint(&l, "record", &u))
			e->about = u;
		(void) crd_leaf_text(&l, "text", &e->text);
		return (CM_OK);
	case CRD_T_REPAIR:
	case CRD_T_DECIDE: {
		bool app = tag == CRD_T_REPAIR;

		snprintf(e->kind, sizeof(e->kind), "repair %s",
		         app ? "application" : "decision");
		if (crd_leaf_uint(&l, app ? "record" : "application", &u))
			e->about = u;
		(void) crd_leaf_text(&l, app ? "commitment" : "reason",
		                     &e->text);
		if (!app) {
			bool       g = false;
			cm_bytes   v;
			cm_cbor_rd rd;

			if (crd_leaf_field(&l, "grant", &v)) {
				cm_cbor_rd_init(&rd, v, NULL);
				if (cm_cbor_rd_bool(&rd, &g) != CM_OK)
					g = false;
			}
			snprintf(e->what, sizeof(e->what), "%s",
			         g ? "granted" : "refused");
		}
		return (CM_OK);
	}
	default: {
		cm_bytes op = {0};

		(void) crd_leaf_text(&l, "op", &op);
		snprintf(e->kind, sizeof(e->kind), "dispute %.*s%s",
		         (int) (op.len > 10 ? 10 : op.len), (const char *) op.p,
		         tag == CRD_T_REPEAT ? " (a repeat: no new mark)" : "");
		if (crd_leaf_uint(&l, "record", &u) ||
		    crd_leaf_uint(&l, "dispute", &u))
			e->about = u;
		if (crd_leaf_text(&l, "grounds", &b) ||
		    crd_leaf_text(&l, "outcome", &b))
			cstr(e->what, sizeof(e->what), b);
		if (crd_leaf_text(&l, "missing", &b)) {
			size_t   n = strlen(e->what);
			cm_bytes it = {0};

			(void) crd_leaf_text(&l, "item", &it);
			snprintf(e->what + n, sizeof(e->what) - n,
			         ": %.*s (item %.*s)",
			         (int) (b.len > 40 ? 40 : b.len),
			         (const char *) b.p,
			         (int) (it.len > 40 ? 40 : it.len),
			         (const char *) it.p);
		}
		(void) crd_leaf_text(&l, "statement", &e->text);
		return (CM_OK);
	}
	}
}

static cm_err
since_fn(void *arg, uint64_t leaf, uint8_t tag)
{
	report *r = arg;

	if (tag == CRD_T_QUERY || tag == CRD_T_CONSENT)
		return (CM_OK);
	if (!grow((void **) &r->since, &r->capsince, r->nsince,
	          sizeof(uint64_t)))
		return (CM_ENOMEM);
	r->since[r->nsince++] = leaf;
	return (CM_OK);
}

static void
wr_day(cm_cbor_wr *w, crd_day d)
{
	char s[11];

	crd_day_format(d, s);
	cm_cbor_wr_cstr(w, s);
}

static void
wr_entries(cm_cbor_wr *w, const entry *e, size_t n)
{
	cm_cbor_wr_array(w, n);
	for (size_t i = 0; i < n; i++) {
		/* keys: by, date, kind, leaf, text, what, about, state */
		cm_cbor_wr_map(w, 8);
		cm_cbor_wr_cstr(w, "by");
		cm_cbor_wr_cstr(w, e[i].by);
		cm_cbor_wr_cstr(w, "date");
		wr_day(w, e[i].date);
		cm_cbor_wr_cstr(w, "kind");
		cm_cbor_wr_cstr(w, e[i].kind);
		cm_cbor_wr_cstr(w, "leaf");
		cm_cbor_wr_uint(w, e[i].leaf);
		cm_cbor_wr_cstr(w, "text");
		cm_cbor_wr_text(w, e[i].text);
		cm_cbor_wr_cstr(w, "what");
		cm_cbor_wr_cstr(w, e[i].what);
		cm_cbor_wr_cstr(w, "about");
		if (e[i].about == UINT64_MAX)
			cm_cbor_wr_null(w);
		else
			cm_cbor_wr_uint(w, e[i].about);
		cm_cbor_wr_cstr(w, "state");
		cm_cbor_wr_cstr(w, e[i].state);
	}
}

/* "name": the subject's registered name by then, or null. */
static void
wr_name(cm_cbor_wr *w, ldg_txn *t, const char *subject, uint64_t size)
{
	ldg_org o;

	cm_cbor_wr_cstr(w, "name");
	if (ldg_org_get(t, subject, &o, NULL) == CM_OK && o.reg_index < size)
		cm_cbor_wr_cstr(w, o.name);
	else
		cm_cbor_wr_null(w);
}

/* "score": the score and its reasons (credit/crd_score.c) at the size
 * and day, as its JSON rendering in CBOR; null without a scorecard. */
static cm_err
wr_score(cm_cbor_wr *w, ldg_txn *t, const char *subject, crd_day as_of,
         uint64_t size)
{
	crd_score sc;
	cm_buf    json = {0}, cbor = {0};
	cm_err    rv;

	memset(&sc, 0, sizeof(sc));
	cm_cbor_wr_cstr(w, "score");
	rv = crd_score_compute(t, subject, size, as_of, false,
	                       crd_access_hooks(), &sc, NULL);
	if (rv == CM_ENOTFOUND) {
		cm_cbor_wr_null(w);
		rv = CM_OK;
	} else if (rv == CM_OK &&
	           (rv = crd_score_render(&sc, true, &json)) == CM_OK &&
	           (rv = cm_json_to_cbor(cm_buf_bytes(&json), &cbor, NULL)) ==
	               CM_OK)
		cm_cbor_wr_raw(w, cm_buf_bytes(&cbor));
	crd_score_fini(&sc);
	cm_buf_fini(&json);
	cm_buf_fini(&cbor);
	return (rv);
}

cm_err
crd_report_build(ldg_txn *t, const char *subject, crd_day as_of, uint64_t size,
                 const crd_reader *rd, cm_buf *out, cm_diag *d)
{
	report     r;
	cm_cbor_wr w;
	bool       bank = rd->role == LDG_ROLE_BANK;
	cm_err     rv;

	memset(&r, 0, sizeof(r));
	r.t = t;
	r.subject = subject;
	r.as_of = as_of;
	r.size = size;
	r.rd = rd;
	if ((rv = crd_about_each(t, subject, 0, size, entry_fn, &r)) != CM_OK ||
	    (bank && r.last_query != 0 &&
	     (rv = crd_about_each(t, subject, r.last_size, size, since_fn,
	                          &r)) != CM_OK))
		goto out;
	/* keys: name, size, as_of, score, since, reader, queries,
	 * records, repairs, subject, disputes, statements */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 12);
	wr_name(&w, t, subject, size);
	cm_cbor_wr_cstr(&w, "size");
	cm_cbor_wr_uint(&w, size);
	cm_cbor_wr_cstr(&w, "as_of");
	wr_day(&w, as_of);
	if ((rv = wr_score(&w, t, subject, as_of, size)) != CM_OK)
		goto out;
	cm_cbor_wr_cstr(&w, "since");
	if (!bank) {
		cm_cbor_wr_null(&w);
	} else {
		/* keys: from, last, leaves */
		cm_cbor_wr_map(&w, 3);
		cm_cbor_wr_cstr(&w, "from");
		cm_cbor_wr_uint(&w, r.last_query ? r.last_size : 0);
		cm_cbor_wr_cstr(&w, "last");
		if (r.last_query)
			cm_cbor_wr_uint(&w, r.last_query);
		else
			cm_cbor_wr_null(&w);
		cm_cbor_wr_cstr(&w, "leaves");
		cm_cbor_wr_array(&w, r.nsince);
		for (size_t i = 0; i < r.nsince; i++)
			cm_cbor_wr_uint(&w, r.since[i]);
	}
	cm_cbor_wr_cstr(&w, "reader");
	/* keys: role, uscc, staff, consent, purpose */
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "role");
	cm_cbor_wr_cstr(&w, ldg_role_name(rd->role));
	cm_cbor_wr_cstr(&w, "uscc");
	cm_cbor_wr_cstr(&w, rd->uscc);
	cm_cbor_wr_cstr(&w, "staff");
	cm_cbor_wr_text(&w, rd->staff);
	cm_cbor_wr_cstr(&w, "consent");
	if (bank)
		cm_cbor_wr_uint(&w, rd->consent);
	else
		cm_cbor_wr_null(&w);
	cm_cbor_wr_cstr(&w, "purpose");
	cm_cbor_wr_cstr(&w, crd_purpose_name(rd->purpose));
	cm_cbor_wr_cstr(&w, "queries");
	wr_entries(&w, r.e[S_QUERIES], r.n[S_QUERIES]);
	cm_cbor_wr_cstr(&w, "records");
	wr_entries(&w, r.e[S_RECORDS], r.n[S_RECORDS]);
	cm_cbor_wr_cstr(&w, "repairs");
	wr_entries(&w, r.e[S_REPAIRS], r.n[S_REPAIRS]);
	cm_cbor_wr_cstr(&w, "subject");
	cm_cbor_wr_cstr(&w, subject);
	cm_cbor_wr_cstr(&w, "disputes");
	wr_entries(&w, r.e[S_DISPUTES], r.n[S_DISPUTES]);
	cm_cbor_wr_cstr(&w, "statements");
	wr_entries(&w, r.e[S_STATEMENTS], r.n[S_STATEMENTS]);
	rv = cm_cbor_wr_finish(&w, d);
out:
	for (int s = 0; s < NSECT; s++)
		cm_free(r.e[s]);
	cm_free(r.since);
	return (rv);
}

typedef struct pub_q {
	ldg_txn    *t;
	crd_day     as_of;
	uint64_t    size;
	cm_cbor_wr *w;
	cm_buf      items;
	size_t      n;
} pub_q;

/* A public event within its publicity window on as_of, not repaired:
 * one entry {leaf, item, until, issuer, decided, severity}. */
static cm_err
pub_fn(void *arg, const crd_fact *f)
{
	pub_q          *q = arg;
	crd_catalogue  *c = NULL;
	const crd_item *it;
	const crd_rule *ru;
	crd_marks       m;
	crd_day         from, until;
	cm_cbor_wr      w;
	cm_err          rv;

	if (f->revoked != 0 || f->decided == CRD_DAY_NONE)
		return (CM_OK);
	if ((rv = crd_catalogue_at(q->t, f->leaf, &c, NULL)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_OK : rv);
	it = crd_catalogue_item(c, CM_BYTES(f->item, strlen(f->item)));
	ru = it != NULL ? crd_item_rule(it, f->severity, f->decided) : NULL;
	if (it == NULL || !it->public_ || ru == NULL || (ru->max.n == 0)) {
		crd_catalogue_free(c);
		return (CM_OK);
	}
	from = ru->anchor == CRD_FROM_END ? f->ended : f->decided;
	until =
	    from == CRD_DAY_NONE ? CRD_DAY_OPEN : crd_period_end(ru->max, from);
	crd_catalogue_free(c);
	if (until != CRD_DAY_OPEN && q->as_of >= until)
		return (CM_OK);
	if ((rv = crd_marks_get(q->t, f->leaf, q->size, q->as_of, &m)) != CM_OK)
		return (rv);
	if (m.repaired)
		return (CM_OK);
	q->n++;
	/* keys: item, leaf, until, issuer, decided, severity */
	cm_cbor_wr_init(&w, &q->items);
	cm_cbor_wr_map(&w, 6);
	cm_cbor_wr_cstr(&w, "item");
	cm_cbor_wr_cstr(&w, f->item);
	cm_cbor_wr_cstr(&w, "leaf");
	cm_cbor_wr_uint(&w, f->leaf);
	cm_cbor_wr_cstr(&w, "until");
	if (until == CRD_DAY_OPEN)
		cm_cbor_wr_null(&w);
	else
		wr_day(&w, until);
	cm_cbor_wr_cstr(&w, "issuer");
	cm_cbor_wr_cstr(&w, f->issuer);
	cm_cbor_wr_cstr(&w, "decided");
	wr_day(&w, f->decided);
	cm_cbor_wr_cstr(&w, "severity");
	cm_cbor_wr_cstr(&w, crd_severity_name(f->severity));
	return (cm_cbor_wr_end(&w));
}

cm_err
crd_public_build(ldg_txn *t, const char *subject, crd_day as_of, uint64_t size,
                 cm_buf *out, cm_diag *d)
{
	pub_q      q = {.t = t, .as_of = as_of, .size = size};
	cm_cbor_wr w;
	cm_err     rv;

	/* What anyone may see: public catalogue items within their
	 * publicity windows on as_of, not revoked, not repaired. */
	if ((rv = crd_facts(t, CM_BYTES(subject, strlen(subject)), size, pub_fn,
	                    &q)) != CM_OK)
		goto out;
	/* keys: name, size, as_of, records, subject */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 5);
	wr_name(&w, t, subject, size);
	cm_cbor_wr_cstr(&w, "size");
	cm_cbor_wr_uint(&w, size);
	cm_cbor_wr_cstr(&w, "as_of");
	wr_day(&w, as_of);
	cm_cbor_wr_cstr(&w, "records");
	cm_cbor_wr_array(&w, q.n);
	cm_cbor_wr_raw(&w, cm_buf_bytes(&q.items));
	cm_cbor_wr_cstr(&w, "subject");
	cm_cbor_wr_cstr(&w, subject);
	rv = cm_cbor_wr_finish(&w, d);
out:
	cm_buf_fini(&q.items);
	return (rv);
}

/* ---- the audit replay ---- */

static cm_err
audit_one(ldg_txn *t, const crd_leaf *l, cm_buf *rep, bool *ok)
{
	crd_reader rd;
	cm_buf     body = {0};
	uint8_t    sha[CM_HASH_LEN], answer[CM_HASH_LEN];
	char       subject[LDG_USCC_LEN + 1];
	crd_day    as_of, day = crd_day_of_ms(l->log_time);
	uint64_t   size, consent = 0, want = 0;
	cm_bytes   v, s;
	cm_diag    e;
	cm_err     rv;
	int        p;

	*ok = false;
	memset(&rd, 0, sizeof(rd));
	if (!crd_leaf_text(l, "subject", &s) || s.len != LDG_USCC_LEN ||
	    !crd_leaf_text(l, "purpose", &v) ||
	    (p = crd_purpose_parse(v)) < 0 || !crd_leaf_text(l, "as_of", &v) ||
	    crd_day_parse((const char *) v.p, v.len, &as_of) != CM_OK ||
	    !crd_leaf_uint(l, "size", &size) ||
	    !crd_leaf_text(l, "staff", &rd.staff) ||
	    !crd_leaf_field(l, "answer", &v))
		return (CM_ECORRUPT);
	{
		cm_cbor_rd r;
		cm_bytes   a;

		cm_cbor_rd_init(&r, v, NULL);
		if (cm_cbor_rd_bytes(&r, &a) != CM_OK || a.len != CM_HASH_LEN)
			return (CM_ECORRUPT);
		memcpy(answer, a.p, CM_HASH_LEN);
	}
	(void) crd_leaf_uint(l, "consent", &want);
	memcpy(subject, s.p, LDG_USCC_LEN);
	subject[LDG_USCC_LEN] = '\0';
	cm_diag_clear(&e);
	rv = crd_access_check(t, &l->signer, subject, (crd_purpose) p, l->index,
	                      day, &consent, &e);
	if (rv == CM_EDENIED || (rv == CM_OK && consent != want)) {
		cm_buf_printf(rep, "leaf %llu: %s read %s without access: %s\n",
		              (unsigned long long) l->index, l->signer.uscc,
		              subject, rv == CM_OK ? "another consent" : e.msg);
		return (CM_OK);
	}
	if (rv != CM_OK)
		return (rv);
	rd.role = l->signer.role;
	memcpy(rd.uscc, l->signer.uscc, sizeof(rd.uscc));
	rd.purpose = (crd_purpose) p;
	rd.consent = consent;
	if ((rv = crd_report_build(t, subject, as_of, size, &rd, &body,
	                           NULL)) != CM_OK)
		goto out;
	cm_sha256(body.p, body.len, sha);
	if (memcmp(sha, answer, CM_HASH_LEN) != 0)
		cm_buf_printf(
		    rep,
		    "leaf %llu: the answer to %s about %s does not "
		    "rebuild (another report than the one recorded)\n",
		    (unsigned long long) l->index, l->signer.uscc, subject);
	else
		*ok = true;
out:
	cm_buf_fini(&body);
	return (rv);
}

cm_err
crd_audit(ldg_txn *t, cm_buf *rep, uint64_t *nq, uint64_t *bad, cm_diag *d)
{
	uint64_t size = ldg_size(t);
	crd_leaf l;
	bool     ok;
	cm_err   rv;

	(void) d;
	*nq = *bad = 0;
	for (uint64_t i = 1; i < size; i++) {
		rv = crd_leaf_read(t, i, &l);
		if (rv == CM_EINVAL)
			continue; /* a header leaf */
		if (rv != CM_OK)
			return (rv);
		if (!cm_bytes_eq_str(l.kind, CRD_KIND_QUERY))
			continue;
		(*nq)++;
		if ((rv = audit_one(t, &l, rep, &ok)) != CM_OK)
			return (rv);
		*bad += !ok;
	}
	return (CM_OK);
}

typedef struct leaves_q {
	uint64_t *v;
	size_t    n, cap;
} leaves_q;

static cm_err
leaves_fn(void *arg, uint64_t leaf, uint8_t tag)
{
	leaves_q *q = arg;

	if (tag == CRD_T_CONSENT)
		return (CM_OK);
	if (!grow((void **) &q->v, &q->cap, q->n, sizeof(uint64_t)))
		return (CM_ENOMEM);
	q->v[q->n++] = leaf;
	return (CM_OK);
}

cm_err
crd_report_leaves(ldg_txn *t, const char *subject, uint64_t size,
                  uint64_t **out, size_t *n)
{
	leaves_q q = {0};
	cm_err   rv = crd_about_each(t, subject, 0, size, leaves_fn, &q);

	if (rv != CM_OK) {
		cm_free(q.v);
		q.v = NULL;
		q.n = 0;
	}
	*out = q.v;
	*n = q.n;
	return (rv);
}
/* ---- the hooks the scorer reads (crd_hooks, credit/crd_score.c) ---- */

typedef struct count_q {
	uint64_t n;
} count_q;

static cm_err
count_fn(void *arg, uint64_t leaf, uint8_t tag)
{
	(void) leaf;
	if (tag == CRD_T_QUERY)
		((count_q *) arg)->n++;
	return (CM_OK);
}

static cm_err
hook_query_count(void *arg, ldg_txn *t, const char *uscc, uint64_t size,
                 uint64_t *out)
{
	count_q q = {0};
	cm_err  rv;

	(void) arg;
	rv = crd_about_each(t, uscc, 0, size, count_fn, &q);
	*out = q.n;
	return (rv);
}

static cm_err
hook_dispute(void *arg, ldg_txn *t, uint64_t leaf, uint64_t size,
             crd_dispute_state *out)
{
	crd_marks m;
	cm_err    rv;

	(void) arg;
	rv = crd_marks_get(t, leaf, size, CRD_DAY_OPEN - 1, &m);
	/* "removed": the mark is removed and the record stands. */
	*out = m.dispute == CRD_DISPUTE_REMOVED ? CRD_DISPUTE_NONE : m.dispute;
	return (rv);
}

static cm_err
hook_repair(void *arg, ldg_txn *t, uint64_t leaf, uint64_t size, crd_day *out)
{
	crd_marks m;
	cm_err    rv;

	(void) arg;
	rv = crd_marks_get(t, leaf, size, CRD_DAY_OPEN - 1, &m);
	*out = m.repaired ? m.repaired_from : CRD_DAY_NONE;
	return (rv);
}

typedef struct recip_q {
	ldg_txn    *t;
	uint64_t    event;
	crd_bank_fn fn;
	void       *arg;
} recip_q;

static cm_err
recip_fn(void *arg, uint64_t leaf, uint8_t tag)
{
	recip_q *q = arg;
	crd_leaf l;
	uint64_t size;
	cm_err   rv;

	if (tag != CRD_T_QUERY)
		return (CM_OK);
	if ((rv = crd_leaf_read(q->t, leaf, &l)) != CM_OK)
		return (rv == CM_EINVAL ? CM_ECORRUPT : rv);
	/* A bank's report over more than the event's leaf held it. */
	if (l.signer.role != LDG_ROLE_BANK ||
	    !crd_leaf_uint(&l, "size", &size) || size <= q->event)
		return (CM_OK);
	return (q->fn(q->arg, l.signer.uscc, leaf));
}

static cm_err
hook_recipients(void *arg, ldg_txn *t, uint64_t leaf, uint64_t size,
                crd_bank_fn fn, void *fnarg)
{
	recip_q   q = {.t = t, .event = leaf, .fn = fn, .arg = fnarg};
	crd_cited ci;
	cm_err    rv;

	(void) arg;
	if ((rv = crd_cited_get(t, leaf, size, &ci, NULL)) != CM_OK)
		return (rv == CM_EREF ? CM_OK : rv);
	return (crd_about_each(t, ci.subject, leaf + 1, size, recip_fn, &q));
}

const crd_hooks *
crd_access_hooks(void)
{
	static const crd_hooks h = {.query_count = hook_query_count,
	                            .dispute = hook_dispute,
	                            .repair = hook_repair,
	                            .recipients = hook_recipients};

	return (&h);
}
