/* SPDX-License-Identifier: MIT */
/* credit/crd_dispute.c -- the subject's answers to what is recorded about
 * it: disputes (credit.dispute: opened by the subject about a record or a
 * missing one, escalated by a regulator in scope, resolved by the issuer
 * or such a regulator), statements (credit.statement) and credit repair
 * (credit.repair: applied for by the subject, decided by a regulator in
 * scope once the minimum period has passed).  Each is one record that
 * every view reads through crd_marks_get: there is no second place to
 * mark or repair.  Formats: docs/format.md 5.8, docs/credit.md 10-11. */
#include "credit/crd_impl.h"

#include <stdio.h>
#include <string.h>

#define MARKS_DB "crd_marks"
#define SUBJECT_DB "crd_about"

static const char *const grounds_names[] = {"inaccurate", "not-ours", "expired",
                                            "incomplete", "missing"};
#define NGROUNDS 5
#define G_MISSING 4
static const char *const outcome_names[] = {"removed", "corrected",
                                            "unresolved"};

const char *
crd_dispute_state_name(crd_dispute_state s)
{
	static const char *const n[] = {"none", "open", "removed", "corrected",
	                                "unresolved"};

	return ((unsigned) s < 5 ? n[s] : "?");
}

static int
word_index(cm_bytes w, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (cm_bytes_eq_str(w, names[i]))
			return (i);
	return (-1);
}

/* ---- credit.dispute ---- */

enum { OP_OPEN, OP_RESOLVE, OP_ESCALATE };

typedef struct dispute_rec {
	int      op;
	bool     has_record;
	uint64_t record; /* open: the record disputed */
	cm_bytes missing;
	char     item[CRD_NAME_MAX + 1];
	char     issuer[LDG_USCC_LEN + 1];
	int      grounds;
	cm_bytes statement;
	uint64_t dispute; /* resolve, escalate */
	int      outcome; /* resolve */
	bool     has_correction;
	uint64_t correction;
} dispute_rec;

cm_err
crd_dispute_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum {
		T,
		OP,
		ITEM,
		KIND,
		ISSUER,
		RECORD,
		DISPUTE,
		GROUNDS,
		MISSING,
		OUTCOME,
		STATEMENT,
		CORRECTION,
		NF
	};
	ldg_field   f[NF] = {{.name = "t", .required = true},
	                     {.name = "op", .required = true},
	                     {.name = "item"},
	                     {.name = "kind", .required = true},
	                     {.name = "issuer"},
	                     {.name = "record"},
	                     {.name = "dispute"},
	                     {.name = "grounds"},
	                     {.name = "missing"},
	                     {.name = "outcome"},
	                     {.name = "statement", .required = true},
	                     {.name = "correction"}};
	const char *what = CRD_KIND_DISPUTE;
	dispute_rec x;
	cm_bytes    op, w;
	cm_err      rv;
	unsigned    want = 0, have = 0;

	memset(&x, 0, sizeof(x));
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_text(&f[OP], &op, d)) != CM_OK ||
	    (rv = crd_field_textn(&f[STATEMENT], what, CRD_STATEMENT_MAX,
	                          &x.statement, d)) != CM_OK)
		return (rv);
	x.op = cm_bytes_eq_str(op, "open")       ? OP_OPEN
	       : cm_bytes_eq_str(op, "resolve")  ? OP_RESOLVE
	       : cm_bytes_eq_str(op, "escalate") ? OP_ESCALATE
	                                         : -1;
	if (x.op < 0)
		return (cm_fail(d, CM_EPROTO,
		                "%s: op must be open, resolve or escalate",
		                what));
	/* The members each op carries (bit i: field i); others refused. */
	for (int i = ITEM; i < NF; i++)
		if (i != KIND && i != STATEMENT && f[i].present)
			have |= 1u << i;
	if (x.op == OP_OPEN) {
		x.grounds = -1;
		if (f[GROUNDS].present) {
			if ((rv = ldg_field_text(&f[GROUNDS], &w, d)) != CM_OK)
				return (rv);
			x.grounds = word_index(w, grounds_names, NGROUNDS);
		}
		if (x.grounds < 0)
			return (cm_fail(d, CM_EPROTO,
			                "%s: grounds must be inaccurate, "
			                "not-ours, expired, incomplete or "
			                "missing",
			                what));
		x.has_record = f[RECORD].present;
		want = x.has_record ? (1u << RECORD) | (1u << GROUNDS)
		                    : (1u << MISSING) | (1u << ITEM) |
		                          (1u << ISSUER) | (1u << GROUNDS);
		if (x.has_record != (x.grounds != G_MISSING))
			return (cm_fail(d, CM_EPROTO,
			                "%s: grounds missing goes with a "
			                "missing record, the others with a "
			                "record leaf",
			                what));
	} else if (x.op == OP_RESOLVE) {
		want = (1u << DISPUTE) | (1u << OUTCOME) |
		       (f[CORRECTION].present ? 1u << CORRECTION : 0);
	} else
		want = 1u << DISPUTE;
	if (have != want)
		return (cm_fail(d, CM_EPROTO, "%s: an %s carries %s", what,
		                x.op == OP_OPEN      ? "open"
		                : x.op == OP_RESOLVE ? "resolve"
		                                     : "escalate",
		                x.op == OP_OPEN
		                    ? "grounds and either record or missing, "
		                      "item and issuer"
		                : x.op == OP_RESOLVE
		                    ? "dispute, outcome and maybe correction"
		                    : "dispute"));
	if (x.has_record &&
	    (rv = ldg_field_uint(&f[RECORD], &x.record, d)) != CM_OK)
		return (rv);
	if (f[MISSING].present &&
	    ((rv = crd_field_textn(&f[MISSING], what, CRD_STATEMENT_MAX,
	                           &x.missing, d)) != CM_OK ||
	     (rv = ldg_field_cstr(&f[ITEM], x.item, sizeof(x.item), d)) !=
	         CM_OK ||
	     (rv = crd_field_uscc(&f[ISSUER], what, x.issuer, d)) != CM_OK))
		return (rv);
	if (f[DISPUTE].present &&
	    (rv = ldg_field_uint(&f[DISPUTE], &x.dispute, d)) != CM_OK)
		return (rv);
	if (f[OUTCOME].present) {
		if ((rv = ldg_field_text(&f[OUTCOME], &w, d)) != CM_OK)
			return (rv);
		if ((x.outcome = word_index(w, outcome_names, 3)) < 0)
			return (cm_fail(d, CM_EPROTO,
			                "%s: outcome must be removed, "
			                "corrected or unresolved",
			                what));
	}
	if ((x.has_correction = f[CORRECTION].present) &&
	    (rv = ldg_field_uint(&f[CORRECTION], &x.correction, d)) != CM_OK)
		return (rv);
	if (x.has_correction && x.outcome != 1)
		return (cm_fail(d, CM_EPROTO,
		                "%s: a correction goes with outcome corrected",
		                what));
	if (out != NULL)
		memcpy(out, &x, sizeof(x));
	return (CM_OK);
}

bool
crd_dispute_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const dispute_rec *x = r->decoded;

	if (x->op == OP_OPEN && id->role == LDG_ROLE_ENTERPRISE)
		return (true);
	if (x->op == OP_ESCALATE && id->role == LDG_ROLE_REGULATOR)
		return (true);
	if (x->op == OP_RESOLVE &&
	    (id->role == LDG_ROLE_REGULATOR || id->role == LDG_ROLE_BANK ||
	     id->role == LDG_ROLE_ENTERPRISE))
		return (true);
	cm_diag_set(d, "%s: %s; this key's role is %s", CRD_KIND_DISPUTE,
	            x->op == OP_OPEN ? "only the subject (an enterprise) opens "
	                               "a dispute"
	            : x->op == OP_ESCALATE
	                ? "only a regulator escalates a dispute"
	                : "only the record's issuer or a regulator resolves "
	                  "a dispute",
	            ldg_role_name(id->role));
	return (false);
}

/* ---- the marks index ----
 * Key: u64be(X) || u64be(mark leaf), X a record leaf (marks of that
 * record: disputes, resolutions, statements, repair applications and
 * decisions) or a dispute or application leaf (what answered it).  Value:
 * tag, then per tag: 'd'/'D' grounds (1); 'x' outcome (1: 0-2, 3
 * escalate) || u64be(dispute leaf); 'g' grant (1) || u64be(application)
 * || u32be(effective day). */
#define MK_LEN 16

static cm_err
mark_put(ldg_txn *t, uint64_t x, uint64_t leaf, const uint8_t *val, size_t n)
{
	uint8_t key[MK_LEN];
	ldg_db  db;
	cm_err  rv;

	cm_put_u64be(key, x);
	cm_put_u64be(key + 8, leaf);
	if ((rv = ldg_db_find(t, MARKS_DB, &db)) != CM_OK)
		return (rv);
	return (ldg_kv_put(t, db, CM_BYTES(key, MK_LEN), CM_BYTES(val, n), 0));
}

typedef cm_err (*mark_fn)(void *arg, uint64_t leaf, cm_bytes val);

/* Each mark under x at a leaf before `before`, in leaf order. */
static cm_err
marks_each(ldg_txn *t, uint64_t x, uint64_t before, mark_fn fn, void *arg)
{
	uint8_t     key[MK_LEN];
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	cm_put_u64be(key, x);
	cm_put_u64be(key + 8, 0);
	if ((rv = ldg_db_find(t, MARKS_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(key, MK_LEN), &k, &v);
	     rv == CM_OK; rv = ldg_cursor_next(c, &k, &v)) {
		uint64_t leaf;

		if (k.len != MK_LEN || memcmp(k.p, key, 8) != 0)
			break;
		leaf = cm_get_u64be(k.p + 8);
		if (leaf >= before)
			break;
		if (v.len < 1) {
			rv = CM_ECORRUPT;
			break;
		}
		if ((rv = fn(arg, leaf, v)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

/* What answered a dispute or an application: the first resolution (or
 * decision), and an escalation. */
typedef struct answer {
	uint64_t resolved, escalated, correction;
	uint8_t  outcome;
	uint64_t decided;
	bool     granted;
	crd_day  effective;
} answer;

static cm_err
answer_fn(void *arg, uint64_t leaf, cm_bytes v)
{
	answer *a = arg;

	if (v.p[0] == 'x' && v.len == 10 + 8) {
		if (v.p[1] == 3) {
			if (a->escalated == 0)
				a->escalated = leaf;
		} else if (a->resolved == 0) {
			a->resolved = leaf;
			a->outcome = v.p[1];
			a->correction = cm_get_u64be(v.p + 10);
		}
	} else if (v.p[0] == 'g' && v.len == 14 && a->decided == 0) {
		a->decided = leaf;
		a->granted = v.p[1] != 0;
		a->effective = (crd_day) cm_get_u32be(v.p + 10);
	}
	return (CM_OK);
}

static cm_err
answer_get(ldg_txn *t, uint64_t x, uint64_t before, answer *a)
{
	memset(a, 0, sizeof(*a));
	return (marks_each(t, x, before, answer_fn, a));
}

typedef struct repeat_q {
	int      grounds;
	uint64_t first; /* the first dispute on these grounds, 0 none */
} repeat_q;

static cm_err
repeat_fn(void *arg, uint64_t leaf, cm_bytes v)
{
	repeat_q *q = arg;

	if ((v.p[0] == 'd' || v.p[0] == 'D') && v.len == 2 &&
	    v.p[1] == q->grounds && q->first == 0)
		q->first = leaf;
	return (CM_OK);
}

/* The earlier dispute of record on the same grounds, if any: a repeat
 * marks nothing again (docs/credit.md 10). */
static cm_err
repeat_of(ldg_txn *t, uint64_t record, int grounds, uint64_t before,
          uint64_t *first)
{
	repeat_q q = {.grounds = grounds};
	cm_err   rv = marks_each(t, record, before, repeat_fn, &q);

	*first = q.first;
	return (rv);
}

/* A dispute record, read back and decoded. */
static cm_err
dispute_read(ldg_txn *t, uint64_t leaf, uint64_t before, crd_leaf *l,
             dispute_rec *x, cm_diag *d)
{
	cm_err rv;

	if (leaf >= before || (rv = crd_leaf_read(t, leaf, l)) == CM_EINVAL ||
	    (rv == CM_OK && !cm_bytes_eq_str(l->kind, CRD_KIND_DISPUTE)))
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is not a dispute before this "
		                "record",
		                CRD_KIND_DISPUTE, (unsigned long long) leaf));
	if (rv != CM_OK)
		return (rv);
	if (crd_dispute_decode(&l->map, x, NULL) != CM_OK)
		return (CM_ECORRUPT);
	if (x->op != OP_OPEN)
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is not the opening of a dispute",
		                CRD_KIND_DISPUTE, (unsigned long long) leaf));
	return (CM_OK);
}

/* The catalogue item it names, in the catalogue adopted before `before`:
 * *cat (free it) and *it. */
static cm_err
item_get(ldg_txn *t, const char *item, uint64_t before, crd_catalogue **cat,
         const crd_item **it, cm_diag *d)
{
	crd_adopted a;
	cm_err      rv;

	*cat = NULL;
	*it = NULL;
	if ((rv = crd_adopted_get(t, CRD_CATALOGUE, before, &a)) ==
	    CM_ENOTFOUND)
		return (cm_fail(d, CM_EREF, "no catalogue is adopted"));
	if (rv != CM_OK)
		return (rv);
	if (crd_catalogue_decode(a.text, cat, NULL) != CM_OK)
		return (CM_ECORRUPT);
	if ((*it = crd_catalogue_item(*cat, CM_BYTES(item, strlen(item)))) ==
	    NULL) {
		crd_catalogue_free(*cat);
		*cat = NULL;
		return (cm_fail(d, CM_EREF,
		                "no item '%s' in catalogue version %u", item,
		                a.version));
	}
	return (CM_OK);
}

/* Who may answer the dispute x (opened by subject): the issuer, or a
 * regulator in scope of the record's category.  Fills issuer and cat. */
static cm_err
dispute_parties(ldg_txn *t, const dispute_rec *x, uint64_t before,
                char issuer[LDG_USCC_LEN + 1], char *cat, size_t catcap,
                cm_diag *d)
{
	crd_catalogue  *c;
	const crd_item *it;
	crd_cited       ci;
	cm_err          rv;

	if (x->has_record) {
		if ((rv = crd_cited_get(t, x->record, before, &ci, d)) != CM_OK)
			return (rv);
		memcpy(issuer, ci.issuer, LDG_USCC_LEN + 1);
		snprintf(cat, catcap, "%s", ci.category);
		return (CM_OK);
	}
	memcpy(issuer, x->issuer, LDG_USCC_LEN + 1);
	if ((rv = item_get(t, x->item, before, &c, &it, d)) != CM_OK)
		return (rv);
	snprintf(cat, catcap, "%s%s", CRD_SCOPE_PREFIX,
	         c->cat[it->category].name);
	crd_catalogue_free(c);
	return (CM_OK);
}

static cm_err
dispute_open_validate(ldg_txn *t, const ldg_record *r, const dispute_rec *x,
                      cm_diag *d)
{
	crd_catalogue  *c;
	const crd_item *it;
	crd_cited       ci;
	ldg_org         org;
	cm_err          rv;

	if (!x->has_record) {
		if ((rv = ldg_org_get(t, x->issuer, &org, NULL)) ==
		        CM_ENOTFOUND ||
		    (rv == CM_OK && org.role == LDG_ROLE_ENTERPRISE &&
		     strcmp(x->issuer, r->signer->uscc) != 0))
			return (cm_fail(d, CM_EREF,
			                "%s: issuer %s is not a registered "
			                "authority or bank",
			                CRD_KIND_DISPUTE, x->issuer));
		if (rv != CM_OK)
			return (rv);
		if ((rv = item_get(t, x->item, r->index, &c, &it, d)) != CM_OK)
			return (rv == CM_EREF
			            ? cm_fail(d, CM_EREF, "%s: %s",
			                      CRD_KIND_DISPUTE, d ? d->msg : "")
			            : rv);
		crd_catalogue_free(c);
		return (CM_OK);
	}
	if ((rv = crd_cited_get(t, x->record, r->header_index, &ci, d)) !=
	    CM_OK)
		return (rv == CM_EREF
		            ? cm_fail(d, CM_EREF, "%s: %s", CRD_KIND_DISPUTE,
		                      d ? d->msg : "")
		            : rv);
	if (strcmp(ci.subject, r->signer->uscc) != 0)
		return (cm_fail(d, CM_EDENIED,
		                "%s: the record at leaf %llu is about %s: only "
		                "its subject disputes it",
		                CRD_KIND_DISPUTE,
		                (unsigned long long) x->record, ci.subject));
	return (CM_OK);
}

static cm_err
dispute_answer_validate(ldg_txn *t, const ldg_record *r, const dispute_rec *x,
                        cm_diag *d)
{
	char        issuer[LDG_USCC_LEN + 1], cat[CRD_NAME_MAX + 16];
	crd_leaf    l;
	dispute_rec o;
	answer      a;
	uint64_t    first = 0;
	crd_cited   ci;
	cm_err      rv;

	if ((rv = dispute_read(t, x->dispute, r->header_index, &l, &o, d)) !=
	        CM_OK ||
	    (rv = dispute_parties(t, &o, x->dispute, issuer, cat, sizeof(cat),
	                          d)) != CM_OK)
		return (rv);
	if (o.has_record && (rv = repeat_of(t, o.record, o.grounds, x->dispute,
	                                    &first)) != CM_OK)
		return (rv);
	if (first != 0)
		return (cm_fail(d, CM_EINVAL,
		                "%s: the dispute at leaf %llu repeats the one "
		                "at leaf %llu on the same grounds: answer that "
		                "one",
		                CRD_KIND_DISPUTE,
		                (unsigned long long) x->dispute,
		                (unsigned long long) first));
	if ((rv = answer_get(t, x->dispute, r->index, &a)) != CM_OK)
		return (rv);
	if (a.resolved != 0)
		return (cm_fail(d, CM_EEXIST,
		                "%s: the dispute at leaf %llu was resolved at "
		                "leaf %llu",
		                CRD_KIND_DISPUTE,
		                (unsigned long long) x->dispute,
		                (unsigned long long) a.resolved));
	if (x->op == OP_ESCALATE) {
		if (!crd_in_scope(r->signer, cat))
			return (cm_fail(d, CM_EDENIED,
			                "%s: regulator %s is not in scope for "
			                "%s (its scopes)",
			                CRD_KIND_DISPUTE, r->signer->uscc,
			                cat));
		if (a.escalated != 0)
			return (cm_fail(d, CM_EEXIST,
			                "%s: the dispute at leaf %llu was "
			                "escalated at leaf %llu",
			                CRD_KIND_DISPUTE,
			                (unsigned long long) x->dispute,
			                (unsigned long long) a.escalated));
		return (CM_OK);
	}
	if (strcmp(r->signer->uscc, issuer) != 0 &&
	    !crd_in_scope(r->signer, cat))
		return (
		    cm_fail(d, CM_EDENIED,
		            "%s: only the issuer %s or a regulator in scope "
		            "for %s resolves the dispute at leaf %llu",
		            CRD_KIND_DISPUTE, issuer, cat,
		            (unsigned long long) x->dispute));
	if (x->has_correction) {
		if ((rv = crd_cited_get(t, x->correction, r->header_index, &ci,
		                        d)) != CM_OK)
			return (rv);
		if (strcmp(ci.subject, l.signer.uscc) != 0 ||
		    strcmp(ci.issuer, issuer) != 0)
			return (cm_fail(d, CM_EREF,
			                "%s: the correction at leaf %llu is "
			                "not a record of %s about %s",
			                CRD_KIND_DISPUTE,
			                (unsigned long long) x->correction,
			                issuer, l.signer.uscc));
	}
	return (CM_OK);
}

cm_err
crd_dispute_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const dispute_rec *x = r->decoded;

	if (x->op == OP_OPEN)
		return (dispute_open_validate(t, r, x, d));
	return (dispute_answer_validate(t, r, x, d));
}

/* ---- credit.statement ---- */

typedef struct statement_rec {
	uint64_t record;
	cm_bytes text;
} statement_rec;

cm_err
crd_statement_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum { T, KIND, TEXT, RECORD, NF };
	ldg_field     f[NF] = {{.name = "t", .required = true},
	                       {.name = "kind", .required = true},
	                       {.name = "text", .required = true},
	                       {.name = "record", .required = true}};
	statement_rec s;
	cm_err        rv;

	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = crd_field_textn(&f[TEXT], CRD_KIND_STATEMENT,
	                          CRD_STATEMENT_MAX, &s.text, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[RECORD], &s.record, d)) != CM_OK)
		return (rv);
	if (out != NULL)
		memcpy(out, &s, sizeof(s));
	return (CM_OK);
}

bool
crd_statement_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role == LDG_ROLE_ENTERPRISE)
		return (true);
	cm_diag_set(d,
	            "%s: only the subject (an enterprise) adds a statement; "
	            "this key's role is %s",
	            CRD_KIND_STATEMENT, ldg_role_name(id->role));
	return (false);
}

/* The record at leaf, which must be about the signer. */
static cm_err
own_record(ldg_txn *t, const ldg_record *r, uint64_t leaf, const char *what,
           crd_cited *ci, cm_diag *d)
{
	cm_err rv;

	if ((rv = crd_cited_get(t, leaf, r->header_index, ci, d)) != CM_OK)
		return (rv == CM_EREF ? cm_fail(d, CM_EREF, "%s: %s", what,
		                                d ? d->msg : "")
		                      : rv);
	if (strcmp(ci->subject, r->signer->uscc) != 0)
		return (cm_fail(d, CM_EDENIED,
		                "%s: the record at leaf %llu is about %s, not "
		                "about %s",
		                what, (unsigned long long) leaf, ci->subject,
		                r->signer->uscc));
	return (CM_OK);
}

cm_err
crd_statement_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const statement_rec *s = r->decoded;
	crd_cited            ci;

	return (own_record(t, r, s->record, CRD_KIND_STATEMENT, &ci, d));
}

/* ---- credit.repair ---- */

typedef struct repair_rec {
	bool     apply;
	uint64_t record;      /* apply */
	cm_bytes text;        /* apply: commitment; decide: reason */
	uint64_t application; /* decide */
	bool     grant;
} repair_rec;

cm_err
crd_repair_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum {
		T,
		OP,
		KIND,
		GRANT,
		REASON,
		RECORD,
		COMMITMENT,
		APPLICATION,
		NF
	};
	ldg_field   f[NF] = {{.name = "t", .required = true},
	                     {.name = "op", .required = true},
	                     {.name = "kind", .required = true},
	                     {.name = "grant"},
	                     {.name = "reason"},
	                     {.name = "record"},
	                     {.name = "commitment"},
	                     {.name = "application"}};
	const char *what = CRD_KIND_REPAIR;
	repair_rec  x;
	cm_bytes    op;
	cm_err      rv;

	memset(&x, 0, sizeof(x));
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_text(&f[OP], &op, d)) != CM_OK)
		return (rv);
	if (cm_bytes_eq_str(op, "apply")) {
		x.apply = true;
		if (!f[RECORD].present || !f[COMMITMENT].present ||
		    f[GRANT].present || f[REASON].present ||
		    f[APPLICATION].present)
			return (cm_fail(d, CM_EPROTO,
			                "%s: an apply carries record and "
			                "commitment",
			                what));
		if ((rv = ldg_field_uint(&f[RECORD], &x.record, d)) != CM_OK ||
		    (rv = crd_field_textn(&f[COMMITMENT], what,
		                          CRD_STATEMENT_MAX, &x.text, d)) !=
		        CM_OK)
			return (rv);
	} else if (cm_bytes_eq_str(op, "decide")) {
		cm_cbor_rd r;

		if (!f[APPLICATION].present || !f[GRANT].present ||
		    !f[REASON].present || f[RECORD].present ||
		    f[COMMITMENT].present)
			return (cm_fail(d, CM_EPROTO,
			                "%s: a decide carries application, "
			                "grant and reason",
			                what));
		cm_cbor_rd_init(&r, f[GRANT].val, NULL);
		if (cm_cbor_rd_bool(&r, &x.grant) != CM_OK)
			return (cm_fail(d, CM_EPROTO,
			                "%s: grant must be true or false",
			                what));
		if ((rv = ldg_field_uint(&f[APPLICATION], &x.application, d)) !=
		        CM_OK ||
		    (rv = crd_field_textn(&f[REASON], what, CRD_STATEMENT_MAX,
		                          &x.text, d)) != CM_OK)
			return (rv);
	} else
		return (cm_fail(d, CM_EPROTO, "%s: op must be apply or decide",
		                what));
	if (out != NULL)
		memcpy(out, &x, sizeof(x));
	return (CM_OK);
}

bool
crd_repair_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const repair_rec *x = r->decoded;

	if (x->apply ? id->role == LDG_ROLE_ENTERPRISE
	             : id->role == LDG_ROLE_REGULATOR)
		return (true);
	cm_diag_set(d, "%s: %s; this key's role is %s", CRD_KIND_REPAIR,
	            x->apply ? "only the subject (an enterprise) applies for "
	                       "credit repair"
	                     : "only a regulator in scope decides on credit "
	                       "repair",
	            ldg_role_name(id->role));
	return (false);
}

typedef struct pending_q {
	uint64_t open; /* an application not yet decided */
	ldg_txn *t;
	uint64_t before;
	cm_err   rv;
} pending_q;

static cm_err
pending_fn(void *arg, uint64_t leaf, cm_bytes v)
{
	pending_q *q = arg;
	answer     a;

	if (v.p[0] != 'r')
		return (CM_OK);
	if ((q->rv = answer_get(q->t, leaf, q->before, &a)) != CM_OK)
		return (q->rv);
	if (a.decided == 0 && q->open == 0)
		q->open = leaf;
	return (CM_OK);
}

/* The day the minimum publicity period of record ci ends, by the rule of
 * its item and severity in the catalogue adopted before `before`. */
static cm_err
repair_min_day(ldg_txn *t, const crd_cited *ci, uint64_t before, crd_day *out,
               cm_diag *d)
{
	crd_catalogue  *c;
	const crd_item *it;
	const crd_rule *ru;
	crd_day         from;
	cm_err          rv;

	if ((rv = item_get(t, ci->item, before, &c, &it, d)) != CM_OK)
		return (rv);
	if (!it->repairable) {
		crd_catalogue_free(c);
		return (cm_fail(d, CM_EDENIED,
		                "%s: item %s is not repairable (the catalogue "
		                "says final)",
		                CRD_KIND_REPAIR, ci->item));
	}
	if ((ru = crd_item_rule(it, ci->severity, ci->decided)) == NULL) {
		crd_catalogue_free(c);
		return (cm_fail(d, CM_EREF,
		                "%s: no publicity rule of %s for that severity "
		                "and decision day",
		                CRD_KIND_REPAIR, ci->item));
	}
	from = ru->anchor == CRD_FROM_DECISION      ? ci->decided
	       : ru->anchor == CRD_FROM_PUBLICATION ? ci->published
	                                            : ci->ended;
	*out =
	    from == CRD_DAY_OPEN ? CRD_DAY_OPEN : crd_period_end(ru->min, from);
	crd_catalogue_free(c);
	return (CM_OK);
}

cm_err
crd_repair_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const repair_rec *x = r->decoded;
	crd_day           today = crd_day_of_ms(r->log_time), min;
	crd_cited         ci;
	crd_leaf          l;
	repair_rec        app;
	answer            a;
	pending_q         q = {.t = t, .before = r->index};
	char              day[11];
	cm_err            rv;

	if (x->apply) {
		if ((rv = own_record(t, r, x->record, CRD_KIND_REPAIR, &ci,
		                     d)) != CM_OK)
			return (rv);
		if (!ci.has_item)
			return (
			    cm_fail(d, CM_EDENIED,
			            "%s: the record at leaf %llu (%s) names "
			            "no catalogue item: nothing to repair",
			            CRD_KIND_REPAIR,
			            (unsigned long long) x->record, ci.type));
		if ((rv = repair_min_day(t, &ci, r->index, &min, d)) != CM_OK)
			return (rv);
		if ((rv = marks_each(t, x->record, r->index, pending_fn, &q)) !=
		    CM_OK)
			return (rv);
		if (q.open != 0)
			return (cm_fail(d, CM_EEXIST,
			                "%s: the application at leaf %llu is "
			                "not decided yet",
			                CRD_KIND_REPAIR,
			                (unsigned long long) q.open));
		return (CM_OK);
	}
	if (x->application >= r->header_index ||
	    (rv = crd_leaf_read(t, x->application, &l)) == CM_EINVAL ||
	    (rv == CM_OK && !cm_bytes_eq_str(l.kind, CRD_KIND_REPAIR)))
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is not a repair application "
		                "before this record",
		                CRD_KIND_REPAIR,
		                (unsigned long long) x->application));
	if (rv != CM_OK)
		return (rv);
	if (crd_repair_decode(&l.map, &app, NULL) != CM_OK)
		return (CM_ECORRUPT);
	if (!app.apply)
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is a decision, not an "
		                "application",
		                CRD_KIND_REPAIR,
		                (unsigned long long) x->application));
	if ((rv = crd_cited_get(t, app.record, x->application, &ci, d)) !=
	    CM_OK)
		return (rv);
	if (!crd_in_scope(r->signer, ci.category))
		return (cm_fail(d, CM_EDENIED,
		                "%s: regulator %s is not in scope for %s (the "
		                "record at leaf %llu)",
		                CRD_KIND_REPAIR, r->signer->uscc, ci.category,
		                (unsigned long long) app.record));
	if ((rv = answer_get(t, x->application, r->index, &a)) != CM_OK)
		return (rv);
	if (a.decided != 0)
		return (cm_fail(d, CM_EEXIST,
		                "%s: the application at leaf %llu was decided "
		                "at leaf %llu",
		                CRD_KIND_REPAIR,
		                (unsigned long long) x->application,
		                (unsigned long long) a.decided));
	if (!x->grant)
		return (CM_OK);
	if ((rv = repair_min_day(t, &ci, r->index, &min, d)) != CM_OK)
		return (rv);
	crd_day_format(min, day);
	if (min == CRD_DAY_OPEN || min > today)
		return (cm_fail(
		    d, CM_EDENIED,
		    "%s: the minimum publicity period of the record "
		    "at leaf %llu (%s) %s%s: no repair before it",
		    CRD_KIND_REPAIR, (unsigned long long) app.record, ci.item,
		    min == CRD_DAY_OPEN ? "has not started (no end "
		                          "date)"
		                        : "ends on ",
		    min == CRD_DAY_OPEN ? "" : day));
	return (CM_OK);
}

/* ---- indexing ---- */

static cm_err
dispute_index(ldg_txn *t, const ldg_record *r, const dispute_rec *x)
{
	uint8_t     v[18];
	crd_leaf    l;
	dispute_rec o;
	uint64_t    first = 0;
	cm_err      rv;

	if (x->op == OP_OPEN) {
		if (x->has_record &&
		    (rv = repeat_of(t, x->record, x->grounds, r->index,
		                    &first)) != CM_OK)
			return (rv);
		v[0] = first != 0 ? 'D' : 'd';
		v[1] = (uint8_t) x->grounds;
		if (x->has_record &&
		    (rv = mark_put(t, x->record, r->index, v, 2)) != CM_OK)
			return (rv);
		return (
		    crd_about_put(t, r->signer->uscc, r->index,
		                  first != 0 ? CRD_T_REPEAT : CRD_T_DISPUTE));
	}
	if ((rv = dispute_read(t, x->dispute, r->index, &l, &o, NULL)) != CM_OK)
		return (rv == CM_EREF ? CM_ECORRUPT : rv);
	v[0] = 'x';
	v[1] = x->op == OP_ESCALATE ? 3 : (uint8_t) x->outcome;
	cm_put_u64be(v + 2, x->dispute);
	cm_put_u64be(v + 10, x->has_correction ? x->correction : 0);
	if ((rv = mark_put(t, x->dispute, r->index, v, 18)) != CM_OK ||
	    (o.has_record &&
	     (rv = mark_put(t, o.record, r->index, v, 18)) != CM_OK))
		return (rv);
	return (crd_about_put(t, l.signer.uscc, r->index, CRD_T_RESOLVE));
}

static cm_err
repair_index(ldg_txn *t, const ldg_record *r, const repair_rec *x)
{
	uint8_t    v[14];
	crd_leaf   l;
	repair_rec app;
	cm_err     rv;

	if (x->apply) {
		v[0] = 'r';
		if ((rv = mark_put(t, x->record, r->index, v, 1)) != CM_OK)
			return (rv);
		return (
		    crd_about_put(t, r->signer->uscc, r->index, CRD_T_REPAIR));
	}
	if ((rv = crd_leaf_read(t, x->application, &l)) != CM_OK ||
	    crd_repair_decode(&l.map, &app, NULL) != CM_OK)
		return (CM_ECORRUPT);
	v[0] = 'g';
	v[1] = x->grant;
	cm_put_u64be(v + 2, x->application);
	cm_put_u32be(v + 10, (uint32_t) crd_day_of_ms(r->log_time));
	if ((rv = mark_put(t, x->application, r->index, v, 14)) != CM_OK ||
	    (rv = mark_put(t, app.record, r->index, v, 14)) != CM_OK)
		return (rv);
	return (crd_about_put(t, l.signer.uscc, r->index, CRD_T_DECIDE));
}

cm_err
crd_dispute_index(ldg_txn *t, const ldg_record *r)
{
	uint8_t v = 's';
	cm_err  rv;

	if (cm_bytes_eq_str(r->kind, CRD_KIND_DISPUTE))
		return (dispute_index(t, r, r->decoded));
	if (cm_bytes_eq_str(r->kind, CRD_KIND_REPAIR))
		return (repair_index(t, r, r->decoded));
	if (!cm_bytes_eq_str(r->kind, CRD_KIND_STATEMENT))
		return (CM_OK);
	if ((rv = mark_put(t, ((const statement_rec *) r->decoded)->record,
	                   r->index, &v, 1)) != CM_OK)
		return (rv);
	return (crd_about_put(t, r->signer->uscc, r->index, CRD_T_STATEMENT));
}

/* ---- what every view reads ---- */

typedef struct marks_q {
	crd_marks *m;
	ldg_txn   *t;
	crd_day    day;
} marks_q;

static cm_err
marks_fn(void *arg, uint64_t leaf, cm_bytes v)
{
	marks_q   *q = arg;
	crd_marks *m = q->m;

	switch (v.p[0]) {
	case 'd':
		m->ndisputes++;
		m->dispute = CRD_DISPUTE_OPEN;
		m->dispute_leaf = leaf;
		m->resolve_leaf = 0;
		m->correction = 0;
		break;
	case 'D':
		m->ndisputes++;
		break;
	case 'x':
		if (v.len == 18 && v.p[1] < 3 &&
		    cm_get_u64be(v.p + 2) == m->dispute_leaf &&
		    m->resolve_leaf == 0) {
			m->dispute =
			    (crd_dispute_state) (CRD_DISPUTE_REMOVED + v.p[1]);
			m->resolve_leaf = leaf;
			m->correction = cm_get_u64be(v.p + 10);
		}
		break;
	case 's':
		m->nstatements++;
		break;
	case 'g':
		if (v.len == 14 && v.p[1] != 0 &&
		    (crd_day) cm_get_u32be(v.p + 10) <= q->day) {
			m->repaired = true;
			m->repaired_from = (crd_day) cm_get_u32be(v.p + 10);
			m->repair_leaf = leaf;
		}
		break;
	default:
		break;
	}
	return (CM_OK);
}

cm_err
crd_marks_get(ldg_txn *t, uint64_t record, uint64_t before, crd_day day,
              crd_marks *out)
{
	marks_q q = {.m = out, .t = t, .day = day};

	memset(out, 0, sizeof(*out));
	return (marks_each(t, record, before, marks_fn, &q));
}

/* ---- the dispute list ---- */

static cm_err
dispute_info(ldg_txn *t, uint64_t leaf, uint64_t before, crd_day day,
             crd_dispute_info *di, cm_diag *d)
{
	crd_catalogue  *c = NULL;
	const crd_item *it = NULL;
	crd_calendar   *cal = NULL;
	crd_adopted     ca;
	crd_cited       ci;
	crd_leaf        l;
	dispute_rec     x;
	answer          a;
	crd_leaf        rl;
	cm_err          rv;

	memset(di, 0, sizeof(*di));
	if ((rv = dispute_read(t, leaf, before, &l, &x, d)) != CM_OK)
		return (rv);
	di->leaf = leaf;
	memcpy(di->subject, l.signer.uscc, sizeof(di->subject));
	di->record = x.has_record ? x.record : UINT64_MAX;
	snprintf(di->grounds, sizeof(di->grounds), "%s",
	         grounds_names[x.grounds]);
	di->opened = crd_day_of_ms(l.log_time);
	di->forward_due = di->decide_due = CRD_DAY_OPEN;
	if (!x.has_record)
		rv = item_get(t, x.item, leaf, &c, &it, NULL);
	else if ((rv = crd_cited_get(t, x.record, leaf, &ci, NULL)) == CM_OK &&
	         ci.has_item)
		rv = item_get(t, ci.item, leaf, &c, &it, NULL);
	if (rv != CM_OK && rv != CM_EREF)
		return (rv);
	if ((rv = crd_adopted_get(t, CRD_CALENDAR, leaf, &ca)) == CM_OK) {
		di->calendar = true;
		if (crd_calendar_decode(ca.text, &cal, NULL) != CM_OK)
			rv = CM_ECORRUPT;
	}
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		goto out;
	rv = CM_OK;
	if (it != NULL) {
		const crd_regime *rg = &c->regime[it->regime];

		snprintf(di->regime, sizeof(di->regime), "%s", rg->id);
		di->forward_due = crd_deadline_day(cal, di->opened, rg->forward,
		                                   &di->outside);
		di->decide_due =
		    crd_deadline_day(cal, di->opened, rg->decide, &di->outside);
	}
	if ((rv = answer_get(t, leaf, before, &a)) != CM_OK)
		goto out;
	di->state = CRD_DISPUTE_OPEN;
	if (a.escalated != 0 && crd_leaf_read(t, a.escalated, &rl) == CM_OK &&
	    crd_day_of_ms(rl.log_time) <= day)
		di->escalated = a.escalated;
	if (a.resolved != 0 && crd_leaf_read(t, a.resolved, &rl) == CM_OK &&
	    crd_day_of_ms(rl.log_time) <= day) {
		di->resolved = a.resolved;
		di->resolved_on = crd_day_of_ms(rl.log_time);
		di->state =
		    (crd_dispute_state) (CRD_DISPUTE_REMOVED + a.outcome);
	}
out:
	crd_catalogue_free(c);
	crd_calendar_free(cal);
	return (rv);
}

cm_err
crd_disputes_each(ldg_txn *t, uint64_t before, crd_day day, crd_dispute_fn fn,
                  void *arg, cm_diag *d)
{
	crd_dispute_info di;
	ldg_cursor      *c = NULL;
	cm_bytes         k, v;
	ldg_db           db;
	cm_err           rv;

	/* Every subject's entries, in (subject, leaf) order. */
	if ((rv = ldg_db_find(t, SUBJECT_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_first(c, &k, &v); rv == CM_OK;
	     rv = ldg_cursor_next(c, &k, &v)) {
		uint64_t leaf;

		if (k.len != LDG_USCC_LEN + 8 || v.len != 1) {
			rv = CM_ECORRUPT;
			break;
		}
		leaf = cm_get_u64be(k.p + LDG_USCC_LEN);
		if (v.p[0] != CRD_T_DISPUTE || leaf >= before)
			continue;
		if ((rv = dispute_info(t, leaf, before, day, &di, d)) !=
		        CM_OK ||
		    (rv = fn(arg, &di)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}
