/* SPDX-License-Identifier: MIT */
/* ledger/ldg_ident.c -- identities as records: registration (with proof of
 * possession), rotation, revocation and USCC exceptions, all signed by the
 * operator.  Identity state is derived, kept by an indexer that uses only
 * the public module API.  An organisation (a USCC) is registered once, by
 * its first key, and may hold several active keys, each with a label and
 * its own sequence numbers.  Validity is decided by log position: a key
 * ended at leaf E is active for headers before E (docs/format.md 5.1). */
#include "ledger/ldg_impl.h"

#include <stdio.h>
#include <string.h>

#define KEYS_DB "id_keys"              /* key ID -> identity state (CBOR) */
#define ORGS_DB "id_orgs"              /* USCC -> organisation state (CBOR) */
#define ORG_KEYS_DB "id_org_keys"      /* USCC || u64be(reg leaf) -> key ID */
#define EXCEPT_DB "id_uscc_exceptions" /* USCC -> exception leaf index */
/* Version 2: several keys per organisation (id_orgs holds the
 * organisation, id_org_keys its keys); version 1 kept one key ID per USCC
 * in id_orgs. */
#define IDENT_INDEXER "identity"
#define IDENT_VERSION 2
#define T_STATE "tally/identity-state/v1"
#define T_ORG "tally/org-state/v1"

/* ---- state encoding ---- */

void
ldg_scopes_write(cm_cbor_wr *w, const char (*scopes)[LDG_SCOPE_MAX + 1],
                 size_t      n)
{
	cm_cbor_wr_cstr(w, "scopes");
	cm_cbor_wr_array(w, n);
	for (size_t i = 0; i < n; i++)
		cm_cbor_wr_cstr(w, scopes[i]);
}

static cm_err
state_encode(const ldg_identity *id, cm_buf *out)
{
	cm_cbor_wr w;
	bool       label = id->label[0] != '\0';

	/* keys: t, end, pub, reg, name, role, uscc, [label,] since, reason,
	 * scopes.  No label, no key: an unlabelled key's state is the same
	 * bytes as before labels existed. */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, label ? 11 : 10);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, T_STATE);
	cm_cbor_wr_cstr(&w, "end");
	cm_cbor_wr_uint(&w, id->end_index);
	cm_cbor_wr_cstr(&w, "pub");
	cm_cbor_wr_bytes(&w, CM_BYTES(id->pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "reg");
	cm_cbor_wr_uint(&w, id->reg_index);
	cm_cbor_wr_cstr(&w, "name");
	cm_cbor_wr_cstr(&w, id->name);
	cm_cbor_wr_cstr(&w, "role");
	cm_cbor_wr_cstr(&w, ldg_role_name(id->role));
	cm_cbor_wr_cstr(&w, "uscc");
	cm_cbor_wr_cstr(&w, id->uscc);
	if (label) {
		cm_cbor_wr_cstr(&w, "label");
		cm_cbor_wr_cstr(&w, id->label);
	}
	cm_cbor_wr_cstr(&w, "since");
	cm_cbor_wr_uint(&w, id->compromised_since);
	cm_cbor_wr_cstr(&w, "reason");
	cm_cbor_wr_cstr(&w, id->end_reason);
	ldg_scopes_write(&w, id->scopes, id->nscopes);
	return (cm_cbor_wr_finish(&w, NULL));
}

static cm_err
org_encode(const ldg_org *o, cm_buf *out)
{
	cm_cbor_wr w;

	/* keys: t, reg, name, role, scopes */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, T_ORG);
	cm_cbor_wr_cstr(&w, "reg");
	cm_cbor_wr_uint(&w, o->reg_index);
	cm_cbor_wr_cstr(&w, "name");
	cm_cbor_wr_cstr(&w, o->name);
	cm_cbor_wr_cstr(&w, "role");
	cm_cbor_wr_cstr(&w, ldg_role_name(o->role));
	ldg_scopes_write(&w, o->scopes, o->nscopes);
	return (cm_cbor_wr_finish(&w, NULL));
}

static cm_err
scopes_decode(const ldg_field *f, char (*scopes)[LDG_SCOPE_MAX + 1],
              size_t *out_n, cm_diag *d)
{
	cm_cbor_rd r;
	uint64_t   n;

	cm_cbor_rd_init(&r, f->val, d);
	if (cm_cbor_rd_array(&r, &n) != CM_OK || n > LDG_MAX_SCOPES)
		return (cm_fail(d, CM_EPROTO, "scopes: at most %d texts",
		                LDG_MAX_SCOPES));
	*out_n = 0;
	for (uint64_t i = 0; i < n; i++) {
		cm_bytes s;

		if (cm_cbor_rd_text(&r, &s) != CM_OK || s.len == 0 ||
		    s.len > LDG_SCOPE_MAX || memchr(s.p, 0, s.len) != NULL)
			return (
			    cm_fail(d, CM_EPROTO,
			            "scope %llu must be 1..%d bytes of text",
			            (unsigned long long) i, LDG_SCOPE_MAX));
		memcpy(scopes[i], s.p, s.len);
		scopes[i][s.len] = '\0';
		(*out_n)++;
	}
	return (CM_OK);
}

/* A label: 1..LDG_LABEL_MAX bytes of text without NUL.  No label is
 * written by leaving the field out, so that each state has one encoding. */
static cm_err
label_decode(const ldg_field *f, char out[LDG_LABEL_MAX + 1], cm_diag *d)
{
	cm_bytes t;
	cm_err   rv;

	out[0] = '\0';
	if (!f->present)
		return (CM_OK);
	if ((rv = ldg_field_text(f, &t, d)) != CM_OK)
		return (rv);
	if (t.len == 0 || t.len > LDG_LABEL_MAX ||
	    memchr(t.p, 0, t.len) != NULL)
		return (cm_fail(d, CM_EPROTO,
		                "label must be 1..%d bytes of text without NUL "
		                "(no label: leave it out)",
		                LDG_LABEL_MAX));
	memcpy(out, t.p, t.len);
	out[t.len] = '\0';
	return (CM_OK);
}

static cm_err
state_decode(cm_bytes in, const uint8_t kid[CM_KEYID_LEN], ldg_identity *id)
{
	enum {
		T,
		END,
		PUB,
		REG,
		NAME,
		ROLE,
		USCC,
		LABEL,
		SINCE,
		REASON,
		SCOPES,
		NF
	};
	ldg_field f[NF] = {{"t", true},      {"end", true},    {"pub", true},
	                   {"reg", true},    {"name", true},   {"role", true},
	                   {"uscc", true},   {"label", false}, {"since", true},
	                   {"reason", true}, {"scopes", true}};
	cm_bytes  role;

	memset(id, 0, sizeof(*id));
	if (ldg_fields_decode(in, T_STATE, f, NF, NULL) != CM_OK ||
	    ldg_field_uint(&f[END], &id->end_index, NULL) != CM_OK ||
	    ldg_field_fixed(&f[PUB], CM_PUBKEY_LEN, id->pub, NULL) != CM_OK ||
	    ldg_field_uint(&f[REG], &id->reg_index, NULL) != CM_OK ||
	    ldg_field_cstr(&f[NAME], id->name, sizeof(id->name), NULL) !=
	        CM_OK ||
	    ldg_field_text(&f[ROLE], &role, NULL) != CM_OK ||
	    ldg_field_cstr(&f[USCC], id->uscc, sizeof(id->uscc), NULL) !=
	        CM_OK ||
	    label_decode(&f[LABEL], id->label, NULL) != CM_OK ||
	    ldg_field_uint(&f[SINCE], &id->compromised_since, NULL) != CM_OK ||
	    ldg_field_cstr(&f[REASON], id->end_reason, sizeof(id->end_reason),
	                   NULL) != CM_OK ||
	    scopes_decode(&f[SCOPES], id->scopes, &id->nscopes, NULL) != CM_OK)
		return (CM_ECORRUPT);
	id->role = ldg_role_from_text(role);
	memcpy(id->key_id, kid, CM_KEYID_LEN);
	return (CM_OK);
}

static cm_err
org_decode(cm_bytes in, cm_bytes uscc, ldg_org *o)
{
	enum { T, REG, NAME, ROLE, SCOPES, NF };
	ldg_field f[NF] = {{"t", true},
	                   {"reg", true},
	                   {"name", true},
	                   {"role", true},
	                   {"scopes", true}};
	cm_bytes  role;

	memset(o, 0, sizeof(*o));
	if (uscc.len != LDG_USCC_LEN ||
	    ldg_fields_decode(in, T_ORG, f, NF, NULL) != CM_OK ||
	    ldg_field_uint(&f[REG], &o->reg_index, NULL) != CM_OK ||
	    ldg_field_cstr(&f[NAME], o->name, sizeof(o->name), NULL) != CM_OK ||
	    ldg_field_text(&f[ROLE], &role, NULL) != CM_OK ||
	    scopes_decode(&f[SCOPES], o->scopes, &o->nscopes, NULL) != CM_OK)
		return (CM_ECORRUPT);
	o->role = ldg_role_from_text(role);
	memcpy(o->uscc, uscc.p, LDG_USCC_LEN);
	o->uscc[LDG_USCC_LEN] = '\0';
	return (CM_OK);
}

cm_err
ldg_identity_get(ldg_txn *t, const uint8_t key_id[CM_KEYID_LEN],
                 ldg_identity *out)
{
	cm_bytes v;
	ldg_db   db;
	cm_err   rv;

	if ((rv = ldg_db_find(t, KEYS_DB, &db)) != CM_OK ||
	    (rv = ldg_kv_get(t, db, CM_BYTES(key_id, CM_KEYID_LEN), &v)) !=
	        CM_OK)
		return (rv);
	return (state_decode(v, key_id, out));
}

/* A reader of a ledger that an older tally indexed would find id_orgs in
 * the old layout (writers are stopped at open until the reindex). */
static cm_err
index_current(ldg_txn *t, cm_diag *d)
{
	char     key[32];
	cm_bytes v;

	if (t->write)
		return (CM_OK);
	snprintf(key, sizeof(key), "idx/%s", IDENT_INDEXER);
	if (ldg_meta_get(t, key, &v) == CM_OK && v.len == 12 &&
	    cm_get_u32be(v.p) == IDENT_VERSION)
		return (CM_OK);
	return (cm_fail(d, CM_EINVAL,
	                "the identity indexes of this ledger are from an "
	                "older tally (want version %d); run tally ledger "
	                "reindex",
	                IDENT_VERSION));
}

static cm_err
org_read(ldg_txn *t, cm_bytes uscc, ldg_org *out)
{
	cm_bytes v;
	ldg_db   db;
	cm_err   rv;

	if ((rv = ldg_db_find(t, ORGS_DB, &db)) != CM_OK ||
	    (rv = ldg_kv_get(t, db, uscc, &v)) != CM_OK)
		return (rv);
	return (org_decode(v, uscc, out));
}

cm_err
ldg_org_get(ldg_txn *t, const char *uscc, ldg_org *out, cm_diag *d)
{
	cm_err rv;

	if ((rv = index_current(t, d)) != CM_OK)
		return (rv);
	return (org_read(t, CM_BYTES(uscc, strlen(uscc)), out));
}

/* The walk behind ldg_org_keys, without the version check (the append
 * path's validators run it in write transactions, also while replaying). */
static cm_err
keys_walk(ldg_txn *t, cm_bytes uscc, unsigned flags, ldg_key_fn fn, void *arg)
{
	ldg_cursor  *c = NULL;
	ldg_identity id;
	cm_bytes     k, v;
	ldg_db       db;
	cm_err       rv, stop = CM_OK;

	if (uscc.len != LDG_USCC_LEN)
		return (CM_OK); /* no organisation has such a code */
	if ((rv = ldg_db_find(t, ORG_KEYS_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, uscc, &k, &v); rv == CM_OK;
	     rv = ldg_cursor_next(c, &k, &v)) {
		if (k.len != LDG_USCC_LEN + 8 ||
		    memcmp(k.p, uscc.p, LDG_USCC_LEN) != 0)
			break;
		if (v.len != CM_KEYID_LEN ||
		    (rv = ldg_identity_get(t, v.p, &id)) != CM_OK) {
			rv = CM_ECORRUPT;
			break;
		}
		if ((flags & LDG_KEYS_ACTIVE) && id.end_index != 0)
			continue;
		if ((stop = fn(arg, &id)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	if (stop != CM_OK)
		return (stop); /* fn's answer, even CM_ENOTFOUND */
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

cm_err
ldg_org_keys(ldg_txn *t, const char *uscc, unsigned flags, ldg_key_fn fn,
             void *arg, cm_diag *d)
{
	cm_err rv;

	if ((rv = index_current(t, d)) != CM_OK)
		return (rv);
	return (keys_walk(t, CM_BYTES(uscc, strlen(uscc)), flags, fn, arg));
}

cm_err
ldg_org_each(ldg_txn *t, ldg_org_fn fn, void *arg, cm_diag *d)
{
	ldg_cursor *c = NULL;
	ldg_org     o;
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv, stop = CM_OK;

	if ((rv = index_current(t, d)) != CM_OK ||
	    (rv = ldg_db_find(t, ORGS_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_first(c, &k, &v); rv == CM_OK;
	     rv = ldg_cursor_next(c, &k, &v)) {
		if ((rv = org_decode(v, k, &o)) != CM_OK ||
		    (stop = fn(arg, &o)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	if (stop != CM_OK)
		return (stop);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

/* Texts that came from canonical CBOR (NUL-free), compared as bytes. */
static bool
text_eq(const char *a, const char *b)
{
	return (cm_bytes_eq_str(CM_BYTES(a, strlen(a)), b));
}

/* Whether scope (compared byte for byte with its length) is one of
 * scopes[0..n); stored scopes hold no NUL (scopes_decode). */
static bool
scopes_have(const char (*scopes)[LDG_SCOPE_MAX + 1], size_t n, cm_bytes scope)
{
	for (size_t i = 0; i < n; i++)
		if (cm_bytes_eq_str(scope, scopes[i]))
			return (true);
	return (false);
}

bool
ldg_identity_has_scope(const ldg_identity *id, cm_bytes scope)
{
	return (scopes_have(id->scopes, id->nscopes, scope));
}

cm_err
ldg_uscc_admitted(ldg_txn *t, cm_bytes uscc, cm_diag *d)
{
	cm_diag  inner;
	cm_bytes v;
	ldg_db   db;

	cm_diag_clear(&inner);
	if (ldg_uscc_check(uscc, &inner) == CM_OK)
		return (CM_OK);
	if (ldg_db_find(t, EXCEPT_DB, &db) == CM_OK &&
	    ldg_kv_get(t, db, uscc, &v) == CM_OK)
		return (CM_OK);
	return (cm_fail(d, CM_EINVAL, "USCC %.*s invalid: %s",
	                (int) (uscc.len > 20 ? 20 : uscc.len), uscc.p,
	                inner.msg));
}

static cm_err
state_put(ldg_txn *t, const ldg_identity *id)
{
	cm_buf b = {0};
	ldg_db db;
	cm_err rv;

	if ((rv = ldg_db_find(t, KEYS_DB, &db)) == CM_OK &&
	    (rv = state_encode(id, &b)) == CM_OK)
		rv = ldg_kv_put(t, db, CM_BYTES(id->key_id, CM_KEYID_LEN),
		                cm_buf_bytes(&b), 0);
	cm_buf_fini(&b);
	return (rv);
}

/* Files key id under its organisation, and makes the organisation when id
 * is the first key registered for its USCC (which fixes the role, name
 * and scopes). */
static cm_err
org_key_put(ldg_txn *t, const ldg_identity *id)
{
	uint8_t  key[LDG_USCC_LEN + 8];
	cm_bytes uscc = CM_BYTES(id->uscc, strlen(id->uscc));
	cm_buf   b = {0};
	ldg_org  o;
	ldg_db   db;
	cm_err   rv;

	/* validate admitted the code: 18 bytes */
	if (uscc.len != LDG_USCC_LEN)
		return (CM_ECORRUPT);
	if ((rv = org_read(t, uscc, &o)) == CM_ENOTFOUND) {
		memset(&o, 0, sizeof(o));
		o.role = id->role;
		memcpy(o.name, id->name, sizeof(o.name));
		memcpy(o.scopes, id->scopes, sizeof(o.scopes));
		o.nscopes = id->nscopes;
		o.reg_index = id->reg_index;
		if ((rv = ldg_db_find(t, ORGS_DB, &db)) == CM_OK &&
		    (rv = org_encode(&o, &b)) == CM_OK)
			rv = ldg_kv_put(t, db, uscc, cm_buf_bytes(&b), 0);
		cm_buf_fini(&b);
	}
	if (rv != CM_OK || (rv = ldg_db_find(t, ORG_KEYS_DB, &db)) != CM_OK)
		return (rv);
	memcpy(key, uscc.p, LDG_USCC_LEN);
	cm_put_u64be(key + LDG_USCC_LEN, id->reg_index);
	return (ldg_kv_put(t, db, CM_BYTES(key, sizeof(key)),
	                   CM_BYTES(id->key_id, CM_KEYID_LEN), 0));
}

/* ---- identity statements ---- */

/* An identity statement's op, decoded once from its text: later steps
 * compare the enum, never the text again. */
typedef enum stmt_op { OP_REGISTER, OP_ROTATE, OP_REVOKE, OP_EXCEPT } stmt_op;
static const char *const op_names[] = {"register", "rotate", "revoke",
                                       "except"};

typedef struct stmt {
	stmt_op  op;
	cm_bytes origin;
	/* register */
	ldg_identity id;
	cm_bytes     pop;
	/* rotate, revoke */
	uint8_t kid[CM_KEYID_LEN];
	bool    compromised; /* revoke: reason "compromised", not "retired" */
	/* except */
	char except_reason[LDG_NAME_MAX + 1];
} stmt;

/* The op named by text t; false if none. */
static bool
op_parse(cm_bytes t, stmt_op *out)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (cm_bytes_eq_str(t, op_names[i])) {
			*out = (stmt_op) i;
			return (true);
		}
	return (false);
}

static cm_err
stmt_decode(cm_bytes in, stmt *st, cm_diag *d)
{
	enum {
		T,
		OP,
		KID,
		POP,
		PUB,
		NAME,
		ROLE,
		USCC,
		LABEL,
		SINCE,
		ORIGIN,
		REASON,
		SCOPES,
		NF
	};
	ldg_field f[NF] = {
	    {"t", true},      {"op", true},     {"kid", false},
	    {"pop", false},   {"pub", false},   {"name", false},
	    {"role", false},  {"uscc", false},  {"label", false},
	    {"since", false}, {"origin", true}, {"reason", false},
	    {"scopes", false}};
	cm_bytes op, role, reason;
	cm_err   rv;

	memset(st, 0, sizeof(*st));
	if ((rv = cm_cbor_check(in, d)) != CM_OK ||
	    (rv = ldg_fields_decode(in, LDG_T_IDENTITY, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[OP], &op, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[ORIGIN], &st->origin, d)) != CM_OK)
		return (rv);
	if (!op_parse(op, &st->op))
		return (cm_fail(d, CM_EPROTO, "identity: unknown op \"%.*s\"",
		                (int) (op.len > 16 ? 16 : op.len), op.p));
#define NEED(i)                                                                \
	(f[i].present ? CM_OK                                                  \
	              : cm_fail(d, CM_EPROTO, "identity %s: missing \"%s\"",   \
	                        op_names[st->op], f[i].name))
#define NONE(i)                                                                \
	(!f[i].present                                                         \
	     ? CM_OK                                                           \
	     : cm_fail(d, CM_EPROTO, "identity %s: unexpected \"%s\"",         \
	               op_names[st->op], f[i].name))
	switch (st->op) {
	case OP_REGISTER:
		if ((rv = NEED(POP)) || (rv = NEED(PUB)) || (rv = NEED(NAME)) ||
		    (rv = NEED(ROLE)) || (rv = NEED(USCC)) ||
		    (rv = NEED(SCOPES)) || (rv = NONE(KID)) ||
		    (rv = NONE(SINCE)) || (rv = NONE(REASON)) ||
		    (rv = ldg_field_bytes(&f[POP], &st->pop, d)) ||
		    (rv = ldg_field_fixed(&f[PUB], CM_PUBKEY_LEN, st->id.pub,
		                          d)) ||
		    (rv = ldg_field_cstr(&f[NAME], st->id.name,
		                         sizeof(st->id.name), d)) ||
		    (rv = ldg_field_text(&f[ROLE], &role, d)) ||
		    (rv = ldg_field_cstr(&f[USCC], st->id.uscc,
		                         sizeof(st->id.uscc), d)) ||
		    (rv = label_decode(&f[LABEL], st->id.label, d)) ||
		    (rv = scopes_decode(&f[SCOPES], st->id.scopes,
		                        &st->id.nscopes, d)))
			return (rv);
		st->id.role = ldg_role_from_text(role);
		if (st->id.role == LDG_ROLE_NONE ||
		    st->id.role == LDG_ROLE_OPERATOR)
			return (cm_fail(
			    d, CM_EPROTO,
			    "identity register: role \"%.*s\" cannot be "
			    "registered",
			    (int) (role.len > 16 ? 16 : role.len), role.p));
		if (st->id.name[0] == '\0')
			return (cm_fail(d, CM_EPROTO, "identity: empty name"));
		break;
	case OP_ROTATE:
		if ((rv = NEED(KID)) || (rv = NEED(POP)) || (rv = NEED(PUB)) ||
		    (rv = NONE(NAME)) || (rv = NONE(ROLE)) ||
		    (rv = NONE(USCC)) || (rv = NONE(LABEL)) ||
		    (rv = NONE(SINCE)) || (rv = NONE(REASON)) ||
		    (rv = NONE(SCOPES)) ||
		    (rv = ldg_field_fixed(&f[KID], CM_KEYID_LEN, st->kid, d)) ||
		    (rv = ldg_field_bytes(&f[POP], &st->pop, d)) ||
		    (rv = ldg_field_fixed(&f[PUB], CM_PUBKEY_LEN, st->id.pub,
		                          d)))
			return (rv);
		break;
	case OP_REVOKE:
		if ((rv = NEED(KID)) || (rv = NEED(REASON)) ||
		    (rv = NONE(POP)) || (rv = NONE(PUB)) || (rv = NONE(NAME)) ||
		    (rv = NONE(ROLE)) || (rv = NONE(USCC)) ||
		    (rv = NONE(LABEL)) || (rv = NONE(SCOPES)) ||
		    (rv = ldg_field_fixed(&f[KID], CM_KEYID_LEN, st->kid, d)) ||
		    (rv = ldg_field_text(&f[REASON], &reason, d)))
			return (rv);
		st->compromised = cm_bytes_eq_str(reason, "compromised");
		if (!st->compromised && !cm_bytes_eq_str(reason, "retired"))
			return (cm_fail(d, CM_EPROTO,
			                "identity revoke: reason "
			                "must be retired or compromised"));
		if (f[SINCE].present) {
			if (!st->compromised)
				return (
				    cm_fail(d, CM_EPROTO,
				            "identity revoke: since only with "
				            "compromised"));
			if ((rv = ldg_field_uint(&f[SINCE],
			                         &st->id.compromised_since, d)))
				return (rv);
		}
		break;
	case OP_EXCEPT:
		if ((rv = NEED(USCC)) || (rv = NEED(REASON)) ||
		    (rv = NONE(POP)) || (rv = NONE(PUB)) || (rv = NONE(NAME)) ||
		    (rv = NONE(ROLE)) || (rv = NONE(KID)) ||
		    (rv = NONE(LABEL)) || (rv = NONE(SINCE)) ||
		    (rv = NONE(SCOPES)) ||
		    (rv = ldg_field_cstr(&f[USCC], st->id.uscc,
		                         sizeof(st->id.uscc), d)) ||
		    (rv = ldg_field_cstr(&f[REASON], st->except_reason,
		                         sizeof(st->except_reason), d)))
			return (rv);
		if (strlen(st->id.uscc) != LDG_USCC_LEN)
			return (cm_fail(
			    d, CM_EPROTO,
			    "identity except: a USCC has 18 characters"));
		break;
	}
#undef NEED
#undef NONE
	return (CM_OK);
}

/* The record: {"t", "sig", "kind": "identity", "stmt"}. */
static cm_err
ident_record_decode(cm_bytes rec, cm_bytes *out_stmt, cm_bytes *out_sig,
                    cm_diag *d)
{
	enum { T, SIG, KIND, STMT, NF };
	ldg_field f[NF] = {
	    {"t", true}, {"sig", true}, {"kind", true}, {"stmt", true}};
	cm_err rv;

	if ((rv = ldg_fields_decode(rec, LDG_T_RECORD, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[SIG], out_sig, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[STMT], out_stmt, d)) != CM_OK)
		return (rv);
	if (out_sig->len != CM_SIG_LEN)
		return (
		    cm_fail(d, CM_EPROTO, "identity: sig must be 64 bytes"));
	return (CM_OK);
}

cm_err
ldg_identity_leaf_key(cm_bytes leaf, const uint8_t op_pub[CM_PUBKEY_LEN],
                      uint8_t out[CM_PUBKEY_LEN], cm_diag *d)
{
	ldg_rleaf rl;
	cm_bytes  st, sig;
	stmt      s;
	cm_err    rv;

	if ((rv = ldg_rleaf_decode(leaf, &rl, d)) != CM_OK ||
	    (rv = ident_record_decode(rl.rec, &st, &sig, d)) != CM_OK ||
	    (rv = stmt_decode(st, &s, d)) != CM_OK)
		return (rv);
	if (s.op != OP_REGISTER && s.op != OP_ROTATE)
		return (cm_fail(d, CM_EPROTO, "identity %s: establishes no key",
		                op_names[s.op]));
	if (cm_verify(op_pub, "identity", st, sig.p) != CM_OK)
		return (cm_fail(d, CM_EBADSIG,
		                "identity record: the operator's signature "
		                "does not verify"));
	memcpy(out, s.id.pub, CM_PUBKEY_LEN);
	return (CM_OK);
}

static cm_err
ident_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	/* Identity records are rare and their statement is large: each
	 * callback decodes it again rather than carrying it (size 0). */
	(void) out;
	cm_bytes st, sig;
	stmt     s;
	cm_err   rv;

	if ((rv = ident_record_decode(rec->item, &st, &sig, d)) != CM_OK)
		return (rv);
	return (stmt_decode(st, &s, d));
}

static bool
ident_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role != LDG_ROLE_OPERATOR) {
		cm_diag_set(d, "only the operator writes identity records");
		return (false);
	}
	return (true);
}

static cm_err
pop_stmt(cm_bytes origin, const uint8_t pub[CM_PUBKEY_LEN], cm_buf *out)
{
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 3);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_POP);
	cm_cbor_wr_cstr(&w, "pub");
	cm_cbor_wr_bytes(&w, CM_BYTES(pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_text(&w, origin);
	return (cm_cbor_wr_finish(&w, NULL));
}

static cm_err
pop_verify(cm_bytes origin, const uint8_t pub[CM_PUBKEY_LEN], cm_bytes pop,
           cm_diag *d)
{
	cm_buf b = {0};
	cm_err rv;

	if (pop.len != CM_SIG_LEN)
		return (cm_fail(d, CM_EBADSIG,
		                "proof of possession must be "
		                "64 bytes"));
	if ((rv = pop_stmt(origin, pub, &b)) == CM_OK &&
	    cm_verify(pub, "identity-pop", cm_buf_bytes(&b), pop.p) != CM_OK)
		rv =
		    cm_fail(d, CM_EBADSIG,
		            "proof of possession does not verify for this key");
	cm_buf_fini(&b);
	return (rv);
}

/* A new key: well formed, not the checkpoint or operator key, never seen. */
static cm_err
newkey_check(ldg_txn *t, const uint8_t pub[CM_PUBKEY_LEN], cm_bytes origin,
             cm_bytes pop, uint8_t kid[CM_KEYID_LEN], cm_diag *d)
{
	ldg_identity old;
	cm_err       rv;

	if ((rv = cm_pubkey_check(pub, d)) != CM_OK)
		return (rv);
	cm_key_id(pub, kid);
	if (memcmp(kid, t->s->ckpt_kid, CM_KEYID_LEN) == 0 ||
	    memcmp(kid, t->s->op_kid, CM_KEYID_LEN) == 0)
		return (cm_fail(d, CM_EBADKEY,
		                "the checkpoint and operator "
		                "keys cannot be registered as submitter keys"));
	if (ldg_identity_get(t, kid, &old) == CM_OK)
		return (cm_fail(d, CM_EEXIST,
		                "this key is already registered "
		                "(leaf %llu); key IDs are unique",
		                (unsigned long long) old.reg_index));
	return (pop_verify(origin, pub, pop, d));
}

typedef struct label_find {
	const char  *label;
	bool         found;
	ldg_identity hit;
} label_find;

static cm_err
label_taken(void *arg, const ldg_identity *key)
{
	label_find *lf = arg;

	if (!text_eq(key->label, lf->label))
		return (CM_OK);
	lf->found = true;
	lf->hit = *key;
	return (CM_EEXIST);
}

/* A register record for a USCC that already has an organisation adds a
 * key to it: the operator must restate the organisation's role and name,
 * may give the key fewer of its scopes but no other, and the label must
 * be free among its active keys (no label counts as one).  So a further
 * key can neither change nor widen what the organisation may write. */
static cm_err
org_join_check(ldg_txn *t, const ldg_identity *nk, cm_diag *d)
{
	cm_bytes       uscc = CM_BYTES(nk->uscc, strlen(nk->uscc));
	ldg_org        o;
	const ldg_org *oc = &o; /* const arrays for scopes_have */
	label_find     lf;
	cm_err         rv;

	if ((rv = org_read(t, uscc, &o)) == CM_ENOTFOUND)
		return (CM_OK); /* its first key: the organisation begins */
	if (rv != CM_OK)
		return (rv);
	if (nk->role != o.role)
		return (cm_fail(d, CM_EDENIED,
		                "%s is registered as %s (leaf %llu); a further "
		                "key of it cannot be %s: an organisation keeps "
		                "its role",
		                o.uscc, ldg_role_name(o.role),
		                (unsigned long long) o.reg_index,
		                ldg_role_name(nk->role)));
	if (!text_eq(nk->name, o.name))
		return (cm_fail(d, CM_EDENIED,
		                "%s is registered under another name (leaf "
		                "%llu); a further key must repeat the "
		                "organisation's name",
		                o.uscc, (unsigned long long) o.reg_index));
	for (size_t i = 0; i < nk->nscopes; i++)
		if (!scopes_have(
		        oc->scopes, o.nscopes,
		        CM_BYTES(nk->scopes[i], strlen(nk->scopes[i]))))
			return (cm_fail(
			    d, CM_EDENIED,
			    "scope \"%s\" is not one of %s's scopes (leaf "
			    "%llu): a further key may narrow its "
			    "organisation's scopes, never widen them",
			    nk->scopes[i], o.uscc,
			    (unsigned long long) o.reg_index));
	memset(&lf, 0, sizeof(lf));
	lf.label = nk->label;
	rv = keys_walk(t, uscc, LDG_KEYS_ACTIVE, label_taken, &lf);
	if (!lf.found)
		return (rv);
	if (nk->label[0] == '\0')
		return (cm_fail(d, CM_EEXIST,
		                "%s already has an active key without a label "
		                "(leaf %llu); labels are unique among an "
		                "organisation's active keys",
		                o.uscc, (unsigned long long) lf.hit.reg_index));
	return (cm_fail(d, CM_EEXIST,
	                "%s already has an active key labelled \"%s\" (leaf "
	                "%llu); labels are unique among an organisation's "
	                "active keys",
	                o.uscc, nk->label,
	                (unsigned long long) lf.hit.reg_index));
}

static cm_err
ident_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	cm_bytes     sst, sig;
	stmt         st;
	ldg_identity cur;
	uint8_t      kid[CM_KEYID_LEN];
	cm_err       rv;

	if ((rv = ident_record_decode(r->rec, &sst, &sig, d)) != CM_OK ||
	    (rv = stmt_decode(sst, &st, d)) != CM_OK)
		return (rv);
	if (!cm_bytes_eq(st.origin,
	                 CM_BYTES(t->s->origin, strlen(t->s->origin))))
		return (cm_fail(d, CM_EORIGIN,
		                "identity statement names "
		                "another origin"));
	if (cm_verify(t->s->op_pub, "identity", sst, sig.p) != CM_OK)
		return (cm_fail(d, CM_EBADSIG,
		                "identity statement is not "
		                "signed by the operator"));
	if (st.op == OP_REGISTER) {
		if ((rv = ldg_uscc_admitted(
		         t, CM_BYTES(st.id.uscc, strlen(st.id.uscc)), d)) !=
		    CM_OK)
			return (rv);
		if ((rv = org_join_check(t, &st.id, d)) != CM_OK)
			return (rv);
		return (newkey_check(t, st.id.pub, st.origin, st.pop, kid, d));
	}
	if (st.op == OP_ROTATE || st.op == OP_REVOKE) {
		const char *op = op_names[st.op];

		if (ldg_identity_get(t, st.kid, &cur) != CM_OK)
			return (
			    cm_fail(d, CM_EUNKNOWNKEY, "%s: unknown key", op));
		if (cur.role == LDG_ROLE_OPERATOR)
			return (cm_fail(d, CM_EDENIED,
			                "%s: the operator key "
			                "is fixed by genesis",
			                op));
		if (cur.end_index != 0)
			return (cm_fail(d, CM_EKEYREVOKED,
			                "%s: key already "
			                "%s",
			                op, cur.end_reason));
		if (st.op == OP_ROTATE)
			return (newkey_check(t, st.id.pub, st.origin, st.pop,
			                     kid, d));
		if (st.id.compromised_since > r->log_time)
			return (cm_fail(d, CM_EINVAL,
			                "revoke: since is after "
			                "the log time"));
		return (CM_OK);
	}
	/* except: only for a code that fails the check, and only once. */
	if (ldg_uscc_check(CM_BYTES(st.id.uscc, strlen(st.id.uscc)), NULL) ==
	    CM_OK)
		return (cm_fail(d, CM_EINVAL,
		                "except: %s is a valid USCC; no "
		                "exception needed",
		                st.id.uscc));
	if (ldg_uscc_admitted(t, CM_BYTES(st.id.uscc, strlen(st.id.uscc)),
	                      NULL) == CM_OK)
		return (cm_fail(d, CM_EEXIST, "except: %s is already admitted",
		                st.id.uscc));
	return (CM_OK);
}

static cm_err
ident_index_record(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	cm_bytes     sst, sig;
	stmt         st;
	ldg_identity cur, nid;
	uint8_t      key[8];
	ldg_db       db;
	cm_err       rv;

	if ((rv = ident_record_decode(r->rec, &sst, &sig, d)) != CM_OK ||
	    (rv = stmt_decode(sst, &st, d)) != CM_OK)
		return (rv);
	if (st.op == OP_REGISTER) {
		nid = st.id;
		cm_key_id(nid.pub, nid.key_id);
		nid.reg_index = r->index;
		if ((rv = state_put(t, &nid)) != CM_OK)
			return (rv);
		return (org_key_put(t, &nid));
	}
	if (st.op == OP_EXCEPT) {
		if ((rv = ldg_db_find(t, EXCEPT_DB, &db)) != CM_OK)
			return (rv);
		cm_put_u64be(key, r->index);
		return (ldg_kv_put(t, db, CM_BYTES(st.id.uscc, LDG_USCC_LEN),
		                   CM_BYTES(key, 8), 0));
	}
	if ((rv = ldg_identity_get(t, st.kid, &cur)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_ECORRUPT : rv);
	cur.end_index = r->index;
	if (st.op == OP_ROTATE) {
		snprintf(cur.end_reason, sizeof(cur.end_reason), "rotated");
		nid = cur;
		memcpy(nid.pub, st.id.pub, CM_PUBKEY_LEN);
		cm_key_id(nid.pub, nid.key_id);
		nid.reg_index = r->index;
		nid.end_index = 0;
		nid.end_reason[0] = '\0';
		nid.compromised_since = 0;
		if ((rv = state_put(t, &cur)) != CM_OK ||
		    (rv = state_put(t, &nid)) != CM_OK)
			return (rv);
		return (org_key_put(t, &nid));
	}
	snprintf(cur.end_reason, sizeof(cur.end_reason),
	         st.compromised ? "compromised" : "revoked");
	cur.compromised_since = st.id.compromised_since;
	return (state_put(t, &cur));
}

static cm_err
ident_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	if (leaf->index == 0) {
		/* Genesis: the operator's identity. */
		ldg_genesis  g;
		ldg_identity op;
		cm_err       rv;

		if ((rv = ldg_genesis_decode(leaf->bytes, &g, d)) != CM_OK)
			return (rv);
		memset(&op, 0, sizeof(op));
		memcpy(op.pub, g.op_pub, CM_PUBKEY_LEN);
		cm_key_id(op.pub, op.key_id);
		op.role = LDG_ROLE_OPERATOR;
		snprintf(op.name, sizeof(op.name), "operator");
		return (state_put(t, &op));
	}
	if (leaf->record == NULL ||
	    !cm_bytes_eq(leaf->record->kind, CM_BYTES("identity", 8)))
		return (CM_OK);
	return (ident_index_record(t, leaf->record, d));
}

static const ldg_kind ident_kinds[] = {
    {"identity", 0, ident_decode, ident_may_write, ident_validate}};
static const ldg_dbspec ident_dbs[] = {
    {KEYS_DB, 0}, {ORGS_DB, 0}, {ORG_KEYS_DB, 0}, {EXCEPT_DB, 0}};
static const ldg_indexer ident_indexers[] = {
    {IDENT_INDEXER, IDENT_VERSION, ident_dbs, 4, ident_index}};
const ldg_module ldg_ident_module = {
    "identity", ident_kinds, 1, ident_indexers, 1, NULL, NULL};

/* ---- builders ---- */

cm_err
ldg_pop_make(const char *origin, const cm_key *newkey, cm_buf *out)
{
	uint8_t pub[CM_PUBKEY_LEN], sig[CM_SIG_LEN];
	cm_buf  b = {0};
	cm_err  rv;

	cm_key_public(newkey, pub);
	if ((rv = pop_stmt(CM_BYTES(origin, strlen(origin)), pub, &b)) ==
	        CM_OK &&
	    (rv = cm_sign(newkey, "identity-pop", cm_buf_bytes(&b), sig)) ==
	        CM_OK)
		rv = cm_buf_append(out, sig, CM_SIG_LEN);
	cm_buf_fini(&b);
	return (rv);
}

/* Wraps a statement into the signed identity record. */
static cm_err
ident_wrap(const cm_key *op, cm_bytes st, cm_buf *out, cm_diag *d)
{
	uint8_t    sig[CM_SIG_LEN];
	cm_cbor_wr w;
	cm_err     rv;

	if ((rv = cm_sign(op, "identity", st, sig)) != CM_OK)
		return (rv);
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 4);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_RECORD);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_bytes(&w, CM_BYTES(sig, CM_SIG_LEN));
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, "identity");
	cm_cbor_wr_cstr(&w, "stmt");
	cm_cbor_wr_bytes(&w, st);
	return (cm_cbor_wr_finish(&w, d));
}

static cm_err
ident_finish(const cm_key *op, cm_cbor_wr *w, cm_buf *st, cm_buf *out,
             cm_diag *d)
{
	cm_err rv = cm_cbor_wr_finish(w, d);

	if (rv == CM_OK)
		rv = ident_wrap(op, cm_buf_bytes(st), out, d);
	cm_buf_fini(st);
	return (rv);
}

cm_err
ldg_id_register_record(const char *origin, const cm_key *op,
                       const ldg_id_register *r, cm_buf *out, cm_diag *d)
{
	cm_buf     st = {0};
	cm_cbor_wr w;
	bool       label = r->label != NULL && r->label[0] != '\0';

	/* keys: t, op, pop, pub, name, role, uscc, [label,] origin, scopes */
	cm_cbor_wr_init(&w, &st);
	cm_cbor_wr_map(&w, label ? 10 : 9);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_IDENTITY);
	cm_cbor_wr_cstr(&w, "op");
	cm_cbor_wr_cstr(&w, "register");
	cm_cbor_wr_cstr(&w, "pop");
	cm_cbor_wr_bytes(&w, r->pop);
	cm_cbor_wr_cstr(&w, "pub");
	cm_cbor_wr_bytes(&w, CM_BYTES(r->pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "name");
	cm_cbor_wr_cstr(&w, r->name);
	cm_cbor_wr_cstr(&w, "role");
	cm_cbor_wr_cstr(&w, ldg_role_name(r->role));
	cm_cbor_wr_cstr(&w, "uscc");
	cm_cbor_wr_cstr(&w, r->uscc);
	if (label) {
		cm_cbor_wr_cstr(&w, "label");
		cm_cbor_wr_cstr(&w, r->label);
	}
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, origin);
	cm_cbor_wr_cstr(&w, "scopes");
	cm_cbor_wr_array(&w, r->nscopes);
	for (size_t i = 0; i < r->nscopes; i++)
		cm_cbor_wr_cstr(&w, r->scopes[i]);
	return (ident_finish(op, &w, &st, out, d));
}

cm_err
ldg_id_rotate_record(const char *origin, const cm_key *op,
                     const uint8_t old_kid[CM_KEYID_LEN],
                     const uint8_t pub[CM_PUBKEY_LEN], cm_bytes pop,
                     cm_buf *out, cm_diag *d)
{
	cm_buf     st = {0};
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, &st);
	cm_cbor_wr_map(&w, 6);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_IDENTITY);
	cm_cbor_wr_cstr(&w, "op");
	cm_cbor_wr_cstr(&w, "rotate");
	cm_cbor_wr_cstr(&w, "kid");
	cm_cbor_wr_bytes(&w, CM_BYTES(old_kid, CM_KEYID_LEN));
	cm_cbor_wr_cstr(&w, "pop");
	cm_cbor_wr_bytes(&w, pop);
	cm_cbor_wr_cstr(&w, "pub");
	cm_cbor_wr_bytes(&w, CM_BYTES(pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, origin);
	return (ident_finish(op, &w, &st, out, d));
}

cm_err
ldg_id_revoke_record(const char *origin, const cm_key *op,
                     const uint8_t kid[CM_KEYID_LEN],
                     uint64_t compromised_since, cm_buf *out, cm_diag *d)
{
	cm_buf     st = {0};
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, &st);
	cm_cbor_wr_map(&w, compromised_since ? 6 : 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_IDENTITY);
	cm_cbor_wr_cstr(&w, "op");
	cm_cbor_wr_cstr(&w, "revoke");
	cm_cbor_wr_cstr(&w, "kid");
	cm_cbor_wr_bytes(&w, CM_BYTES(kid, CM_KEYID_LEN));
	if (compromised_since) {
		cm_cbor_wr_cstr(&w, "since");
		cm_cbor_wr_uint(&w, compromised_since);
	}
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, origin);
	cm_cbor_wr_cstr(&w, "reason");
	cm_cbor_wr_cstr(&w, compromised_since ? "compromised" : "retired");
	return (ident_finish(op, &w, &st, out, d));
}

cm_err
ldg_id_except_record(const char *origin, const cm_key *op, const char *uscc,
                     const char *reason, cm_buf *out, cm_diag *d)
{
	cm_buf     st = {0};
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, &st);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_IDENTITY);
	cm_cbor_wr_cstr(&w, "op");
	cm_cbor_wr_cstr(&w, "except");
	cm_cbor_wr_cstr(&w, "uscc");
	cm_cbor_wr_cstr(&w, uscc);
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, origin);
	cm_cbor_wr_cstr(&w, "reason");
	cm_cbor_wr_cstr(&w, reason);
	return (ident_finish(op, &w, &st, out, d));
}
