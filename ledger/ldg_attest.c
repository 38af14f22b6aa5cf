/* SPDX-License-Identifier: MIT */
/* ledger/ldg_attest.c -- the "attestation" record kind: a statement about
 * an organisation (subject USCC, type text, JSON body, optional refs).  An
 * enterprise may name only its own USCC; a regulator any subject, for types
 * whose scope prefix ("tax.paid" -> "tax") it holds.  Written only against
 * the public module API, as trace and credit will be.  Index: subject ->
 * record leaves (duplicate-sorted). */
#include "ledger/ldg.h"

#include <string.h>

#define SUBJECT_DB "attest_subject"

typedef struct attest {
	cm_bytes subject, type, body;
	bool     uscc_valid; /* the check digits, known without state */
} attest;

static cm_err
attest_fields(const cm_cbor_map *rec, attest *a, cm_diag *d)
{
	enum { T, BODY, KIND, REFS, TYPE, SUBJECT, NF };
	ldg_field  f[NF] = {{"t", true},     {"body", true}, {"kind", true},
	                    {"refs", false}, {"type", true}, {"subject", true}};
	cm_cbor_rd r;
	uint64_t   n;
	cm_err     rv;

	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_text(&f[SUBJECT], &a->subject, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[TYPE], &a->type, d)) != CM_OK)
		return (rv);
	a->body = f[BODY].val;
	cm_cbor_rd_init(&r, a->body, d);
	if (cm_cbor_rd_map(&r, &n) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "attestation: body must be an "
		                "object"));
	if (a->type.len == 0 || a->type.len > 64)
		return (cm_fail(d, CM_EPROTO,
		                "attestation: type must be 1..64 "
		                "bytes"));
	return (CM_OK);
}

static cm_err
attest_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	attest a, *ap = out != NULL ? out : &a;
	cm_err rv;

	if ((rv = attest_fields(rec, ap, d)) != CM_OK)
		return (rv);
	/* Stateless, so here (on the append path's threads) rather than in
	 * validate, which only looks for an exception when it fails. */
	ap->uscc_valid = ldg_uscc_check(ap->subject, NULL) == CM_OK;
	return (CM_OK);
}

static bool
attest_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const attest *ap = r->decoded, a = *ap;
	const char   *dot;
	size_t        n;

	switch (id->role) {
	case LDG_ROLE_ENTERPRISE:
		if (cm_bytes_eq_str(a.subject, id->uscc))
			return (true);
		cm_diag_set(d,
		            "an enterprise may attest only about its own "
		            "USCC %s",
		            id->uscc);
		return (false);
	case LDG_ROLE_REGULATOR:
		dot = memchr(a.type.p, '.', a.type.len);
		n = dot ? (size_t) (dot - (const char *) a.type.p) : a.type.len;
		if (n == 0 || n > LDG_SCOPE_MAX) {
			cm_diag_set(d, "a regulator's attestation type needs a "
			               "scope prefix such as \"market.\"");
			return (false);
		}
		/* The prefix is compared as the bytes it is, with its
		 * length: never as a C string, which would stop at a NUL. */
		if (ldg_identity_has_scope(id, CM_BYTES(a.type.p, n)))
			return (true);
		cm_diag_set(d, "wrong scope: regulator %s lacks scope \"%.*s\"",
		            id->uscc, (int) n, (const char *) a.type.p);
		return (false);
	default:
		cm_diag_set(d, "role %s may not write attestations",
		            ldg_role_name(id->role));
		return (false);
	}
}

static cm_err
attest_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const attest *a = r->decoded;
	ldg_params    p;

	ldg_txn_params(t, &p);
	if (a->body.len > p.max_body)
		return (cm_fail(
		    d, CM_ETOOBIG,
		    "attestation: body is %zu bytes of CBOR (limit %llu)",
		    a->body.len, (unsigned long long) p.max_body));
	if (a->uscc_valid)
		return (CM_OK);
	return (ldg_uscc_admitted(t, a->subject, d));
}

static cm_err
attest_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const attest *a;
	uint8_t       key[LDG_USCC_LEN + 8];
	ldg_db        db;
	cm_err        rv;

	(void) d;
	if (leaf->record == NULL ||
	    !cm_bytes_eq(leaf->record->kind, CM_BYTES("attestation", 11)))
		return (CM_OK);
	a = leaf->record->decoded;
	/* validate admitted the subject: a USCC, 18 bytes. */
	if (a->subject.len != LDG_USCC_LEN)
		return (CM_EINVAL);
	if ((rv = ldg_db_find(t, SUBJECT_DB, &db)) != CM_OK)
		return (rv);
	/* One plain key per attestation, not a duplicate-sorted value under
	 * the subject: one B-tree insert instead of two (measured: the
	 * nested insert was a tenth of the writer's time in 1,000-record
	 * batches).  A subject's attestations are one key range. */
	memcpy(key, a->subject.p, LDG_USCC_LEN);
	cm_put_u64be(key + LDG_USCC_LEN, leaf->index);
	return (ldg_kv_put(t, db, CM_BYTES(key, sizeof(key)), CM_BYTES(NULL, 0),
	                   0));
}

static const ldg_kind    attest_kinds[] = {{"attestation", sizeof(attest),
                                            attest_decode, attest_may_write,
                                            attest_validate}};
static const ldg_dbspec  attest_dbs[] = {{SUBJECT_DB, 0}};
static const ldg_indexer attest_indexers[] = {
    {"attestation", 2, attest_dbs, 1, attest_index}};
const ldg_module ldg_attest_module = {
    "attestation", attest_kinds, 1, attest_indexers, 1, NULL, NULL};
