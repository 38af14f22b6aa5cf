/* SPDX-License-Identifier: MIT */
/* credit/crd_access.c -- who may read an enterprise's full report: the
 * record kinds credit.consent (an enterprise grants one bank access for a
 * purpose until a day, or revokes it) and credit.query (every full read,
 * signed by its reader), the access rule both apply, and the index
 * credit.access (consents, and every record about a subject).  Reached
 * through ledger/ldg.h only.  Formats: docs/format.md section 5.8,
 * docs/credit.md sections 8-9. */
#include "credit/crd_impl.h"

#include <stdio.h>
#include <string.h>

#define CONSENT_DB "crd_consent"
#define SUBJECT_DB "crd_about"
#define MARKS_DB "crd_marks"

const ldg_dbspec crd_access_dbs[] = {
    {CONSENT_DB, 0}, {SUBJECT_DB, 0}, {MARKS_DB, 0}};

static const char *const purpose_names[CRD_NPURPOSE] = {
    "loan-approval", "post-loan",   "guarantee-review",
    "self",          "supervision", "audit"};

const char *
crd_purpose_name(crd_purpose p)
{
	return ((unsigned) p < CRD_NPURPOSE ? purpose_names[p] : NULL);
}

int
crd_purpose_parse(cm_bytes s)
{
	for (int i = 0; i < CRD_NPURPOSE; i++)
		if (cm_bytes_eq_str(s, purpose_names[i]))
			return (i);
	return (-1);
}

/* ---- helpers shared by the access kinds ---- */

/* A text field that must be a USCC-shaped code (18 bytes; whether it is
 * admitted or registered is the validator's question). */
cm_err
crd_field_uscc(const ldg_field *f, const char *what, char out[LDG_USCC_LEN + 1],
               cm_diag *d)
{
	cm_bytes v;
	cm_err   rv;

	if ((rv = ldg_field_text(f, &v, d)) != CM_OK)
		return (rv);
	if (v.len != LDG_USCC_LEN || memchr(v.p, 0, v.len) != NULL)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s must be an 18-character "
		                "USCC",
		                what, f->name));
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return (CM_OK);
}

cm_err
crd_field_day(const ldg_field *f, const char *what, crd_day *out, cm_diag *d)
{
	cm_bytes v;
	cm_err   rv;

	if ((rv = ldg_field_text(f, &v, d)) != CM_OK)
		return (rv);
	if (crd_day_parse((const char *) v.p, v.len, out) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s must be a date YYYY-MM-DD", what,
		                f->name));
	return (CM_OK);
}

static cm_err
field_purpose(const ldg_field *f, const char *what, bool bank_only,
              crd_purpose *out, cm_diag *d)
{
	cm_bytes v;
	cm_err   rv;
	int      p;

	if ((rv = ldg_field_text(f, &v, d)) != CM_OK)
		return (rv);
	p = crd_purpose_parse(v);
	if (p < 0 || (bank_only && p >= CRD_NPURPOSE_BANK))
		return (cm_fail(d, CM_EPROTO, "%s: purpose must be %s", what,
		                bank_only ? "loan-approval, post-loan or "
		                            "guarantee-review"
		                          : "loan-approval, post-loan, "
		                            "guarantee-review, self, "
		                            "supervision or audit"));
	*out = (crd_purpose) p;
	return (CM_OK);
}

cm_err
crd_field_textn(const ldg_field *f, const char *what, size_t max, cm_bytes *out,
                cm_diag *d)
{
	cm_err rv;

	if ((rv = ldg_field_text(f, out, d)) != CM_OK)
		return (rv);
	if (out->len == 0 || out->len > max)
		return (cm_fail(d, CM_EPROTO, "%s: %s must be 1..%zu bytes",
		                what, f->name, max));
	return (CM_OK);
}

/* ---- reading records back ---- */

cm_err
crd_leaf_read(ldg_txn *t, uint64_t index, crd_leaf *out)
{
	cm_bytes  leaf, hb;
	ldg_rleaf rl;
	ldg_hleaf hl;
	ldg_hdr   h;
	cm_err    rv;

	memset(out, 0, sizeof(*out));
	if ((rv = ldg_leaf_get(t, index, &leaf)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_EINVAL : rv);
	if (ldg_rleaf_decode(leaf, &rl, NULL) != CM_OK)
		return (CM_EINVAL);
	if ((rv = ldg_leaf_get(t, rl.hi, &hb)) != CM_OK ||
	    ldg_hleaf_decode(hb, &hl, NULL) != CM_OK ||
	    ldg_hdr_decode(hl.hdr, &h, NULL) != CM_OK ||
	    h.kid.len != CM_KEYID_LEN ||
	    ldg_identity_get(t, h.kid.p, &out->signer) != CM_OK ||
	    cm_cbor_check_map(rl.rec, &out->map, NULL) != CM_OK)
		return (CM_ECORRUPT);
	out->index = index;
	out->header_index = rl.hi;
	out->log_time = hl.log_time;
	out->rec = rl.rec;
	if (!crd_leaf_field(out, "kind", &leaf)) /* stored: canonical */
		return (CM_ECORRUPT);
	{
		cm_cbor_rd r;

		cm_cbor_rd_init(&r, leaf, NULL);
		if (cm_cbor_rd_text(&r, &out->kind) != CM_OK)
			return (CM_ECORRUPT);
	}
	return (CM_OK);
}

bool
crd_leaf_field(const crd_leaf *l, const char *name, cm_bytes *out)
{
	/* A stored record of a credit kind has far fewer entries than
	 * cm_cbor_check_map indexes; a larger one has none we read. */
	for (size_t i = 0; l->map.complete && i < l->map.n; i++)
		if (cm_bytes_eq_str(l->map.key[i], name)) {
			*out = l->map.val[i];
			return (true);
		}
	return (false);
}

bool
crd_leaf_text(const crd_leaf *l, const char *name, cm_bytes *out)
{
	cm_cbor_rd r;
	cm_bytes   v;

	if (!crd_leaf_field(l, name, &v))
		return (false);
	cm_cbor_rd_init(&r, v, NULL);
	return (cm_cbor_rd_text(&r, out) == CM_OK);
}

bool
crd_leaf_uint(const crd_leaf *l, const char *name, uint64_t *out)
{
	cm_cbor_rd r;
	cm_bytes   v;

	if (!crd_leaf_field(l, name, &v))
		return (false);
	cm_cbor_rd_init(&r, v, NULL);
	return (cm_cbor_rd_uint(&r, out) == CM_OK);
}

bool
crd_in_scope(const ldg_identity *id, const char *scope)
{
	return (id->role == LDG_ROLE_REGULATOR &&
	        ldg_identity_has_scope(id, CM_BYTES(scope, strlen(scope))));
}

/* A credit event as a citable record: its item, severity and dates, and
 * the scope "credit.<category>" a regulator needs for it. */
static cm_err
cited_event(ldg_txn *t, const crd_leaf *l, crd_cited *out, cm_diag *d)
{
	crd_catalogue  *c = NULL;
	const crd_item *it;
	crd_ev_rec      er;
	cm_err          rv;

	if (crd_ev_decode(&l->map, &er, NULL) != CM_OK ||
	    er.subject.len != LDG_USCC_LEN || er.item.len > CRD_NAME_MAX)
		return (CM_ECORRUPT);
	if (er.op == CRD_OP_AMEND)
		return (cm_fail(d, CM_EREF,
		                "leaf %llu amends the event at leaf %llu: name "
		                "the event itself",
		                (unsigned long long) l->index,
		                (unsigned long long) er.target));
	memcpy(out->subject, er.subject.p, LDG_USCC_LEN);
	memcpy(out->item, er.item.p, er.item.len);
	out->has_item = true;
	out->severity = er.severity;
	out->decided = out->published = er.decided;
	out->ended = er.ended == CRD_DAY_NONE ? CRD_DAY_OPEN : er.ended;
	snprintf(out->type, sizeof(out->type), "credit.event %s %s", out->item,
	         crd_severity_name(er.severity));
	if ((rv = crd_catalogue_at(t, l->index, &c, NULL)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_ECORRUPT : rv);
	it = crd_catalogue_item(c, er.item);
	if (it != NULL)
		snprintf(out->category, sizeof(out->category), "%s%s",
		         CRD_SCOPE_PREFIX, c->cat[it->category].name);
	crd_catalogue_free(c);
	return (it != NULL ? CM_OK : CM_ECORRUPT);
}

cm_err
crd_cited_get(ldg_txn *t, uint64_t leaf, uint64_t before, crd_cited *out,
              cm_diag *d)
{
	crd_leaf l;
	cm_bytes subject, type;
	size_t   n;
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	if (leaf >= before)
		return (cm_fail(d, CM_EREF,
		                "leaf %llu is not before this record",
		                (unsigned long long) leaf));
	if ((rv = crd_leaf_read(t, leaf, &l)) == CM_EINVAL)
		return (cm_fail(d, CM_EREF, "leaf %llu is not a record",
		                (unsigned long long) leaf));
	if (rv != CM_OK)
		return (rv);
	out->log_time = l.log_time;
	memcpy(out->issuer, l.signer.uscc, sizeof(out->issuer));
	if (cm_bytes_eq_str(l.kind, CRD_KIND_EVENT))
		return (cited_event(t, &l, out, d));
	if (cm_bytes_eq_str(l.kind, "attestation") &&
	    crd_leaf_text(&l, "subject", &subject) &&
	    crd_leaf_text(&l, "type", &type) && subject.len == LDG_USCC_LEN) {
		memcpy(out->subject, subject.p, LDG_USCC_LEN);
		for (n = 0; n < type.len && type.p[n] != '.'; n++)
			;
		if (n > LDG_SCOPE_MAX)
			n = LDG_SCOPE_MAX;
		memcpy(out->category, type.p, n);
		snprintf(
		    out->type, sizeof(out->type), "attestation %.*s",
		    (int) (type.len > CRD_NAME_MAX ? CRD_NAME_MAX : type.len),
		    (const char *) type.p);
		return (CM_OK);
	}
	return (cm_fail(d, CM_EREF,
	                "leaf %llu is a %.*s record, not a credit record "
	                "about a subject",
	                (unsigned long long) leaf,
	                (int) (l.kind.len > 40 ? 40 : l.kind.len),
	                (const char *) l.kind.p));
}

/* ---- the subject index ---- */

cm_err
crd_about_put(ldg_txn *t, const char *subject, uint64_t leaf, uint8_t tag)
{
	uint8_t key[LDG_USCC_LEN + 8];
	ldg_db  db;
	cm_err  rv;

	if (strlen(subject) != LDG_USCC_LEN)
		return (CM_OK); /* the operator: no subject */
	memcpy(key, subject, LDG_USCC_LEN);
	cm_put_u64be(key + LDG_USCC_LEN, leaf);
	if ((rv = ldg_db_find(t, SUBJECT_DB, &db)) != CM_OK)
		return (rv);
	return (ldg_kv_put(t, db, CM_BYTES(key, sizeof(key)), CM_BYTES(&tag, 1),
	                   0));
}

cm_err
crd_about_each(ldg_txn *t, const char *subject, uint64_t from, uint64_t before,
               crd_about_fn fn, void *arg)
{
	uint8_t     key[LDG_USCC_LEN + 8];
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	if (strlen(subject) != LDG_USCC_LEN)
		return (CM_OK);
	memcpy(key, subject, LDG_USCC_LEN);
	cm_put_u64be(key + LDG_USCC_LEN, from);
	if ((rv = ldg_db_find(t, SUBJECT_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(key, sizeof(key)), &k, &v);
	     rv == CM_OK; rv = ldg_cursor_next(c, &k, &v)) {
		uint64_t leaf;

		if (k.len != sizeof(key) ||
		    memcmp(k.p, subject, LDG_USCC_LEN) != 0)
			break;
		leaf = cm_get_u64be(k.p + LDG_USCC_LEN);
		if (leaf >= before)
			break;
		if (v.len != 1) {
			rv = CM_ECORRUPT;
			break;
		}
		if ((rv = fn(arg, leaf, v.p[0])) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

/* ---- credit.consent ---- */

typedef struct consent_rec {
	bool        grant;
	bool        all; /* a revoke of every purpose */
	crd_purpose purpose;
	crd_day     until;
	char        bank[LDG_USCC_LEN + 1];
} consent_rec;

cm_err
crd_consent_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum { T, KIND, OP, BANK, PURPOSE, UNTIL, NF };
	ldg_field   f[NF] = {{.name = "t", .required = true},
	                     {.name = "kind", .required = true},
	                     {.name = "op", .required = true},
	                     {.name = "bank", .required = true},
	                     {.name = "purpose"},
	                     {.name = "until"}};
	consent_rec c;
	cm_bytes    op;
	cm_err      rv;

	memset(&c, 0, sizeof(c));
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_text(&f[OP], &op, d)) != CM_OK ||
	    (rv = crd_field_uscc(&f[BANK], CRD_KIND_CONSENT, c.bank, d)) !=
	        CM_OK)
		return (rv);
	if (cm_bytes_eq_str(op, "grant")) {
		c.grant = true;
		if (!f[PURPOSE].present || !f[UNTIL].present)
			return (cm_fail(d, CM_EPROTO,
			                "credit.consent: a grant needs purpose "
			                "and until"));
		if ((rv = crd_field_day(&f[UNTIL], CRD_KIND_CONSENT, &c.until,
		                        d)) != CM_OK)
			return (rv);
	} else if (cm_bytes_eq_str(op, "revoke")) {
		if (f[UNTIL].present)
			return (
			    cm_fail(d, CM_EPROTO,
			            "credit.consent: a revoke has no until"));
		c.all = !f[PURPOSE].present;
	} else
		return (cm_fail(d, CM_EPROTO,
		                "credit.consent: op must be grant or revoke"));
	if (f[PURPOSE].present &&
	    (rv = field_purpose(&f[PURPOSE], CRD_KIND_CONSENT, true, &c.purpose,
	                        d)) != CM_OK)
		return (rv);
	if (out != NULL)
		memcpy(out, &c, sizeof(c));
	return (CM_OK);
}

bool
crd_consent_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role == LDG_ROLE_ENTERPRISE)
		return (true);
	cm_diag_set(d,
	            "only an enterprise grants or revokes consent to its own "
	            "report; this key's role is %s",
	            ldg_role_name(id->role));
	return (false);
}

/* Index key: subject (18) || bank (18) || u64be(leaf); value: op (1: 'g'
 * grant, 'r' revoke, 'a' revoke all) || purpose (1) || u32be(until). */
#define CK_LEN (2 * LDG_USCC_LEN + 8)
#define CV_LEN 6

static void
consent_key(const char *subject, const char *bank, uint64_t leaf,
            uint8_t key[CK_LEN])
{
	memcpy(key, subject, LDG_USCC_LEN);
	memcpy(key + LDG_USCC_LEN, bank, LDG_USCC_LEN);
	cm_put_u64be(key + 2 * LDG_USCC_LEN, leaf);
}

cm_err
crd_consent_get(ldg_txn *t, const char *subject, const char *bank,
                crd_purpose p, uint64_t before, crd_day day, crd_consent *out)
{
	/* Per purpose: 0 none, else the last record's leaf and op. */
	struct {
		uint64_t leaf;
		uint8_t  op;
		crd_day  until;
	} st[CRD_NPURPOSE_BANK];
	ldg_cursor *c = NULL;
	uint8_t     key[CK_LEN];
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	memset(out, 0, sizeof(*out));
	memset(st, 0, sizeof(st));
	out->status = CRD_CONSENT_NONE;
	if (strlen(subject) != LDG_USCC_LEN || strlen(bank) != LDG_USCC_LEN ||
	    (unsigned) p >= CRD_NPURPOSE_BANK)
		return (CM_OK);
	consent_key(subject, bank, 0, key);
	if ((rv = ldg_db_find(t, CONSENT_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(key, CK_LEN), &k, &v);
	     rv == CM_OK; rv = ldg_cursor_next(c, &k, &v)) {
		uint64_t leaf;

		if (k.len != CK_LEN || memcmp(k.p, key, CK_LEN - 8) != 0)
			break;
		leaf = cm_get_u64be(k.p + CK_LEN - 8);
		if (leaf >= before)
			break;
		if (v.len != CV_LEN || v.p[1] >= CRD_NPURPOSE_BANK) {
			rv = CM_ECORRUPT;
			goto out;
		}
		for (int i = 0; i < CRD_NPURPOSE_BANK; i++)
			if (v.p[0] == 'a' || i == v.p[1]) {
				st[i].leaf = leaf;
				st[i].op = v.p[0];
				st[i].until = (crd_day) cm_get_u32be(v.p + 2);
			}
	}
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		goto out;
	rv = CM_OK;
	out->leaf = st[p].leaf;
	out->until = st[p].until;
	if (st[p].op == 'g')
		out->status = st[p].until >= day ? CRD_CONSENT_VALID
		                                 : CRD_CONSENT_EXPIRED;
	else if (st[p].op != 0)
		out->status = CRD_CONSENT_REVOKED;
	else {
		for (int i = 0; i < CRD_NPURPOSE_BANK; i++)
			if (st[i].op == 'g' && st[i].until >= day)
				out->other |= 1u << i;
		if (out->other != 0)
			out->status = CRD_CONSENT_OTHER;
	}
out:
	ldg_cursor_close(c);
	return (rv);
}

void
crd_consent_why(const crd_consent *c, const char *subject, char *out,
                size_t cap)
{
	char until[11];
	int  n;

	crd_day_format(c->until, until);
	switch (c->status) {
	case CRD_CONSENT_VALID:
		snprintf(out, cap, "consent at leaf %llu, until %s",
		         (unsigned long long) c->leaf, until);
		break;
	case CRD_CONSENT_EXPIRED:
		snprintf(out, cap,
		         "expired: the consent of %s at leaf %llu ran until %s",
		         subject, (unsigned long long) c->leaf, until);
		break;
	case CRD_CONSENT_REVOKED:
		snprintf(out, cap,
		         "revoked: %s revoked its consent at leaf %llu",
		         subject, (unsigned long long) c->leaf);
		break;
	case CRD_CONSENT_OTHER:
		n = snprintf(out, cap,
		             "other purpose: %s consents to this bank only for",
		             subject);
		for (int i = 0;
		     i < CRD_NPURPOSE_BANK && n >= 0 && (size_t) n < cap; i++)
			if (c->other & (1u << i))
				n += snprintf(out + n, cap - (size_t) n, " %s",
				              purpose_names[i]);
		break;
	default:
		snprintf(out, cap, "none: %s has given this bank no consent",
		         subject);
	}
}

cm_err
crd_consent_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const consent_rec *c = r->decoded;
	crd_day            today = crd_day_of_ms(r->log_time);
	ldg_org            bank;
	crd_consent        cur;
	char               day[11];
	cm_err             rv;

	if ((rv = ldg_org_get(t, c->bank, &bank, NULL)) == CM_ENOTFOUND ||
	    (rv == CM_OK && bank.role != LDG_ROLE_BANK))
		return (cm_fail(d, CM_EREF,
		                "credit.consent: %s is not a registered bank",
		                c->bank));
	if (rv != CM_OK)
		return (rv);
	if (c->grant) {
		crd_day_format(today, day);
		if (c->until < today)
			return (cm_fail(d, CM_EINVAL,
			                "credit.consent: until is before the "
			                "log day %s",
			                day));
		return (CM_OK);
	}
	/* A revoke must end something in force (or the refusal would be
	 * silent: a revoke of nothing is a mistake worth naming). */
	for (int i = 0; i < CRD_NPURPOSE_BANK; i++) {
		if (!c->all && i != (int) c->purpose)
			continue;
		if ((rv = crd_consent_get(t, r->signer->uscc, c->bank,
		                          (crd_purpose) i, r->index, today,
		                          &cur)) != CM_OK)
			return (rv);
		if (cur.status == CRD_CONSENT_VALID)
			return (CM_OK);
	}
	return (cm_fail(d, CM_ENOTFOUND,
	                "credit.consent: no consent of %s to %s%s%s is in "
	                "force to revoke",
	                r->signer->uscc, c->bank, c->all ? "" : " for ",
	                c->all ? "" : purpose_names[c->purpose]));
}

/* ---- the access rule ---- */

/* A regulator reads in scope: one of its scopes is "credit.<category>"
 * for a category of the catalogue adopted before `before` (the scope it
 * writes that category with). */
static cm_err
regulator_scope(ldg_txn *t, const ldg_identity *id, uint64_t before, bool *ok)
{
	crd_adopted    a;
	crd_catalogue *c = NULL;
	cm_err         rv;

	*ok = false;
	if ((rv = crd_adopted_get(t, CRD_CATALOGUE, before, &a)) ==
	    CM_ENOTFOUND)
		return (CM_OK);
	if (rv != CM_OK)
		return (rv);
	if (crd_catalogue_decode(a.text, &c, NULL) != CM_OK)
		return (CM_ECORRUPT);
	for (size_t i = 0; i < c->ncat && !*ok; i++) {
		char scope[CRD_NAME_MAX + 16];

		snprintf(scope, sizeof(scope), "%s%s", CRD_SCOPE_PREFIX,
		         c->cat[i].name);
		*ok =
		    ldg_identity_has_scope(id, CM_BYTES(scope, strlen(scope)));
	}
	crd_catalogue_free(c);
	return (CM_OK);
}

/* The purpose a role reads for, by itself: CRD_NPURPOSE for a bank,
 * which names its consent's. */
static crd_purpose
role_purpose(ldg_role role)
{
	return (role == LDG_ROLE_ENTERPRISE  ? CRD_P_SELF
	        : role == LDG_ROLE_REGULATOR ? CRD_P_SUPERVISION
	        : role == LDG_ROLE_AUDITOR   ? CRD_P_AUDIT
	                                     : CRD_NPURPOSE);
}

/* The stateless part of the rule (may_write and the CLI share it). */
static cm_err
access_static(const ldg_identity *id, const char *subject, crd_purpose p,
              cm_diag *d)
{
	crd_purpose want = role_purpose(id->role);

	switch (id->role) {
	case LDG_ROLE_ENTERPRISE:
		if (strcmp(subject, id->uscc) != 0)
			return (cm_fail(d, CM_EDENIED,
			                "an enterprise reads only its own full "
			                "report: %s is not %s",
			                subject, id->uscc));
		break;
	case LDG_ROLE_REGULATOR:
	case LDG_ROLE_AUDITOR:
		break;
	case LDG_ROLE_BANK:
		if (p >= CRD_NPURPOSE_BANK)
			return (cm_fail(d, CM_EDENIED,
			                "a bank reads for loan-approval, "
			                "post-loan or guarantee-review, under "
			                "the enterprise's consent"));
		return (CM_OK);
	default:
		return (cm_fail(d, CM_EDENIED,
		                "role %s does not read full reports (the "
		                "operator reads the directory without a query "
		                "record)",
		                ldg_role_name(id->role)));
	}
	if (p != want)
		return (
		    cm_fail(d, CM_EDENIED, "a%s %s reads for %s, not %s",
		            id->role == LDG_ROLE_ENTERPRISE ||
		                    id->role == LDG_ROLE_AUDITOR
		                ? "n"
		                : "",
		            ldg_role_name(id->role), purpose_names[want],
		            crd_purpose_name(p) ? crd_purpose_name(p) : "?"));
	return (CM_OK);
}

cm_err
crd_access_check(ldg_txn *t, const ldg_identity *id, const char *subject,
                 crd_purpose purpose, uint64_t before, crd_day day,
                 uint64_t *consent, cm_diag *d)
{
	crd_consent c;
	char        why[256];
	bool        ok;
	cm_err      rv;

	*consent = 0;
	if ((rv = access_static(id, subject, purpose, d)) != CM_OK)
		return (rv);
	if ((rv = ldg_uscc_admitted(t, CM_BYTES(subject, strlen(subject)),
	                            d)) != CM_OK)
		return (cm_fail(d, CM_EDENIED, "%s is not an admitted USCC",
		                subject));
	if (id->role == LDG_ROLE_REGULATOR) {
		if ((rv = regulator_scope(t, id, before, &ok)) != CM_OK)
			return (rv);
		if (!ok)
			return (cm_fail(d, CM_EDENIED,
			                "regulator %s is not in scope: none of "
			                "its scopes is credit.<category> for a "
			                "category of the catalogue",
			                id->uscc));
	}
	if (id->role != LDG_ROLE_BANK)
		return (CM_OK);
	if ((rv = crd_consent_get(t, subject, id->uscc, purpose, before, day,
	                          &c)) != CM_OK)
		return (rv);
	if (c.status != CRD_CONSENT_VALID) {
		crd_consent_why(&c, subject, why, sizeof(why));
		return (cm_fail(d, CM_EDENIED, "no valid consent for %s: %s",
		                purpose_names[purpose], why));
	}
	*consent = c.leaf;
	return (CM_OK);
}

/* ---- credit.query ---- */

typedef struct query_rec {
	char        subject[LDG_USCC_LEN + 1];
	crd_purpose purpose;
	cm_bytes    staff;
	crd_day     as_of;
	uint64_t    size, consent;
	bool        has_consent;
	uint8_t     answer[CM_HASH_LEN];
} query_rec;

cm_err
crd_query_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum {
		T,
		KIND,
		SIZE,
		AS_OF,
		STAFF,
		ANSWER,
		CONSENT,
		PURPOSE,
		SUBJECT,
		NF
	};
	ldg_field f[NF] = {{.name = "t", .required = true},
	                   {.name = "kind", .required = true},
	                   {.name = "size", .required = true},
	                   {.name = "as_of", .required = true},
	                   {.name = "staff", .required = true},
	                   {.name = "answer", .required = true},
	                   {.name = "consent"},
	                   {.name = "purpose", .required = true},
	                   {.name = "subject", .required = true}};
	query_rec q;
	cm_err    rv;

	memset(&q, 0, sizeof(q));
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = crd_field_uscc(&f[SUBJECT], CRD_KIND_QUERY, q.subject, d)) !=
	        CM_OK ||
	    (rv = field_purpose(&f[PURPOSE], CRD_KIND_QUERY, false, &q.purpose,
	                        d)) != CM_OK ||
	    (rv = crd_field_textn(&f[STAFF], CRD_KIND_QUERY, CRD_STAFF_MAX,
	                          &q.staff, d)) != CM_OK ||
	    (rv = crd_field_day(&f[AS_OF], CRD_KIND_QUERY, &q.as_of, d)) !=
	        CM_OK ||
	    (rv = ldg_field_uint(&f[SIZE], &q.size, d)) != CM_OK ||
	    (rv = ldg_field_fixed(&f[ANSWER], CM_HASH_LEN, q.answer, d)) !=
	        CM_OK)
		return (rv);
	if ((q.has_consent = f[CONSENT].present) &&
	    (rv = ldg_field_uint(&f[CONSENT], &q.consent, d)) != CM_OK)
		return (rv);
	if (q.has_consent != (q.purpose < CRD_NPURPOSE_BANK))
		return (cm_fail(d, CM_EPROTO,
		                "credit.query: a consent leaf goes with a "
		                "bank's purpose, and only with one"));
	if (out != NULL)
		memcpy(out, &q, sizeof(q));
	return (CM_OK);
}

bool
crd_query_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const query_rec *q = r->decoded;
	cm_diag          e;

	cm_diag_clear(&e);
	if (access_static(id, q->subject, q->purpose, &e) == CM_OK)
		return (true);
	cm_diag_set(d, "%s", e.msg);
	return (false);
}

cm_err
crd_query_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const query_rec *q = r->decoded;
	crd_day          today = crd_day_of_ms(r->log_time);
	uint64_t         consent;
	cm_err           rv;

	if (q->size == 0 || q->size > r->header_index)
		return (cm_fail(d, CM_EINVAL,
		                "credit.query: size %llu is not a size before "
		                "this record's batch (header leaf %llu)",
		                (unsigned long long) q->size,
		                (unsigned long long) r->header_index));
	if (q->as_of > today)
		return (cm_fail(d, CM_EINVAL,
		                "credit.query: as_of is after the log day"));
	if ((rv = crd_access_check(t, r->signer, q->subject, q->purpose,
	                           r->index, today, &consent, d)) != CM_OK)
		return (rv);
	if (q->has_consent && q->consent != consent)
		return (cm_fail(d, CM_EDENIED,
		                "credit.query: the consent in force is at "
		                "leaf %llu, not %llu",
		                (unsigned long long) consent,
		                (unsigned long long) q->consent));
	return (CM_OK);
}

cm_err
crd_query_build(const char *subject, const crd_reader *rd, crd_day as_of,
                uint64_t size, const uint8_t answer[CM_HASH_LEN], cm_buf *out,
                cm_diag *d)
{
	bool       bank = rd->purpose < CRD_NPURPOSE_BANK;
	cm_cbor_wr w;
	char       day[11];

	crd_day_format(as_of, day);
	/* keys: t, kind, size, as_of, staff, answer, [consent,] purpose,
	 * subject */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 8 + bank);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, CRD_KIND_QUERY);
	cm_cbor_wr_cstr(&w, "size");
	cm_cbor_wr_uint(&w, size);
	cm_cbor_wr_cstr(&w, "as_of");
	cm_cbor_wr_cstr(&w, day);
	cm_cbor_wr_cstr(&w, "staff");
	cm_cbor_wr_text(&w, rd->staff);
	cm_cbor_wr_cstr(&w, "answer");
	cm_cbor_wr_bytes(&w, CM_BYTES(answer, CM_HASH_LEN));
	if (bank) {
		cm_cbor_wr_cstr(&w, "consent");
		cm_cbor_wr_uint(&w, rd->consent);
	}
	cm_cbor_wr_cstr(&w, "purpose");
	cm_cbor_wr_cstr(&w, purpose_names[rd->purpose]);
	cm_cbor_wr_cstr(&w, "subject");
	cm_cbor_wr_cstr(&w, subject);
	return (cm_cbor_wr_finish(&w, d));
}

/* ---- the index ---- */

static cm_err
consent_index(ldg_txn *t, const ldg_record *r)
{
	const consent_rec *c = r->decoded;
	uint8_t            key[CK_LEN], val[CV_LEN];
	ldg_db             db;
	cm_err             rv;

	consent_key(r->signer->uscc, c->bank, r->index, key);
	val[0] = c->grant ? 'g' : c->all ? 'a' : 'r';
	val[1] = (uint8_t) c->purpose;
	cm_put_u32be(val + 2, (uint32_t) c->until);
	if ((rv = ldg_db_find(t, CONSENT_DB, &db)) != CM_OK ||
	    (rv = ldg_kv_put(t, db, CM_BYTES(key, CK_LEN),
	                     CM_BYTES(val, CV_LEN), 0)) != CM_OK)
		return (rv);
	return (crd_about_put(t, r->signer->uscc, r->index, CRD_T_CONSENT));
}

/* An attestation's subject, read from the record (its decoded form is
 * the ledger's own). */
static cm_err
attestation_index(ldg_txn *t, const ldg_record *r)
{
	cm_cbor_map m;
	cm_bytes    subject = {0};
	char        s[LDG_USCC_LEN + 1];

	if (cm_cbor_check_map(r->rec, &m, NULL) != CM_OK)
		return (CM_ECORRUPT);
	for (size_t i = 0; m.complete && i < m.n; i++)
		if (cm_bytes_eq_str(m.key[i], "subject")) {
			cm_cbor_rd rd;

			cm_cbor_rd_init(&rd, m.val[i], NULL);
			if (cm_cbor_rd_text(&rd, &subject) != CM_OK)
				return (CM_ECORRUPT);
		}
	if (subject.len != LDG_USCC_LEN)
		return (CM_OK); /* not a code: no credit subject */
	memcpy(s, subject.p, LDG_USCC_LEN);
	s[LDG_USCC_LEN] = '\0';
	return (crd_about_put(t, s, r->index, CRD_T_RECORD));
}

cm_err
crd_access_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const ldg_record *r = leaf->record;

	(void) d;
	if (r == NULL)
		return (CM_OK);
	if (cm_bytes_eq_str(r->kind, CRD_KIND_CONSENT))
		return (consent_index(t, r));
	if (cm_bytes_eq_str(r->kind, CRD_KIND_QUERY))
		return (crd_about_put(t,
		                      ((const query_rec *) r->decoded)->subject,
		                      r->index, CRD_T_QUERY));
	if (cm_bytes_eq_str(r->kind, "attestation"))
		return (attestation_index(t, r));
	if (cm_bytes_eq_str(r->kind, CRD_KIND_EVENT)) {
		const crd_ev_rec *er = r->decoded;
		char              s[LDG_USCC_LEN + 1];

		if (er->op != CRD_OP_EVENT || er->subject.len != LDG_USCC_LEN)
			return (CM_OK); /* amendments stay under the event */
		memcpy(s, er->subject.p, LDG_USCC_LEN);
		s[LDG_USCC_LEN] = '\0';
		return (crd_about_put(t, s, r->index, CRD_T_RECORD));
	}
	return (crd_dispute_index(t, r));
}
