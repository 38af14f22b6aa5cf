/* SPDX-License-Identifier: MIT */
/* trace/trc_module.c -- the trace module's ledger side: the record kind
 * "trace.event" (docs/format.md section 5.4), one EPCIS 2.0 event as its
 * JSON text with its hash ID.  Decode runs the event validator on the
 * stored text; only enterprises and regulators write events.  Written only
 * against the public module API (ledger/ldg.h). */
#include "ledger/ldg.h"
#include "trace/trc.h"

#include <string.h>

typedef struct trc_event_rec {
	cm_bytes event; /* the event's JSON text, as submitted */
	cm_bytes id;    /* its hash ID */
	int64_t  time_ms;
	uint8_t  type; /* trc_event_type */
} trc_event_rec;

/* Checks one stored event: its text is one JSON object, a valid event
 * (the validator, restricted GTINs unscoped: scoping by the signer's USCC
 * needs the signer, which decode does not see), and id is its hash ID. */
cm_err
trc_event_record_check(cm_bytes text, cm_bytes id, trc_event_rec_info *out,
                       cm_diag *d)
{
	cm_json      *j = NULL;
	trc_event     ev;
	trc_event_ctx c = {0};
	cm_diag       jd;
	cm_err        rv;

	memset(&ev, 0, sizeof(ev));
	cm_diag_clear(&jd);
	if (cm_json_parse(text, &j, &jd) != CM_OK) {
		rv = cm_fail(d, CM_EPROTO, "trace.event: event: %s", jd.msg);
		goto out;
	}
	c.unscoped = true;
	if ((rv = trc_event_check(j, &c, &ev, d)) != CM_OK)
		goto out;
	if (!cm_bytes_eq(id, CM_BYTES(ev.hash_id, strlen(ev.hash_id)))) {
		rv = cm_fail(d, CM_EPROTO,
		             "trace.event: id is not the event's hash ID %s",
		             ev.hash_id);
		goto out;
	}
	if (out != NULL) {
		out->type = ev.type;
		out->time_ms = ev.time_ms;
	}
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

static cm_err
event_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	enum { T, ID, KIND, REFS, EVENT, NF };
	ldg_field          f[NF] = {{"t", true},
	                            {"id", true},
	                            {"kind", true},
	                            {"refs", false},
	                            {"event", true}};
	trc_event_rec      r;
	trc_event_rec_info info;
	cm_err             rv;

	memset(&r, 0, sizeof(r));
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	    CM_OK)
		return (rv);
	/* The getters' own message names no field: say which. */
	if (ldg_field_text(&f[EVENT], &r.event, NULL) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "trace.event: event must be text (the "
		                "event's JSON as a string)"));
	if (ldg_field_text(&f[ID], &r.id, NULL) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "trace.event: id must be text (the event's "
		                "hash ID)"));
	if ((rv = trc_event_record_check(r.event, r.id, &info, d)) != CM_OK)
		return (rv);
	r.time_ms = info.time_ms;
	r.type = (uint8_t) info.type;
	if (out != NULL)
		memcpy(out, &r, sizeof(r));
	return (CM_OK);
}

static bool
event_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role == LDG_ROLE_ENTERPRISE || id->role == LDG_ROLE_REGULATOR)
		return (true);
	cm_diag_set(d, "role %s may not write trace events",
	            ldg_role_name(id->role));
	return (false);
}

/* Reads the record's event again, restricted GTINs keyed within the
 * signer's USCC (decode could not: it does not see the signer).  The
 * caller frees *j and finishes *ev, also after a refusal. */
static cm_err
event_scoped(const ldg_record *r, cm_json **j, trc_event *ev, cm_diag *d)
{
	const trc_event_rec *er = r->decoded;
	trc_event_ctx        c = {0};
	cm_diag              jd;

	memset(ev, 0, sizeof(*ev));
	cm_diag_clear(&jd);
	if (cm_json_parse(er->event, j, &jd) != CM_OK)
		return (
		    cm_fail(d, CM_EPROTO, "trace.event: event: %s", jd.msg));
	if (r->signer != NULL && r->signer->uscc[0] != '\0')
		c.uscc = CM_BYTES(r->signer->uscc, strlen(r->signer->uscc));
	else
		c.unscoped = true;
	return (trc_event_check(*j, &c, ev, d));
}

/* The scoped reading must succeed here, with its reason, so that the
 * indexer (whose failures name only the leaf) cannot fail on it. */
static cm_err
event_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	cm_json  *j = NULL;
	trc_event ev;
	cm_err    rv;

	(void) t;
	rv = event_scoped(r, &j, &ev, d);
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

/* ---- indexes (docs/format.md section 10.2, docs/trace.md section 4) ----
 * trace_obj: canonical identifier key || 0x00 || event time || leaf index
 * -> the roles the identifier has in the event (a bit per trc_role).  Keys
 * are printable ASCII, so the 0x00 ends them: an object's history is the
 * range of its key and 0x00, in event-time order, ties in leaf order.  The
 * time is ms since 1970 UTC plus 2^63, so that earlier times, negative
 * ones too, sort first as unsigned big-endian bytes.
 * trace_hash: hash ID -> leaf index, duplicate-sorted: the first value is
 * the first capture of the event. */
#define OBJ_DB "trace_obj"
#define HASH_DB "trace_hash"

static bool
is_event(const ldg_leaf *leaf)
{
	return (leaf->record != NULL &&
	        cm_bytes_eq(leaf->record->kind, CM_BYTES("trace.event", 11)));
}

static cm_err
obj_put(ldg_txn *t, ldg_db db, const trc_event *ev, const trc_event_ref *ref,
        uint64_t index)
{
	uint8_t  k[TRC_ID_KEY_MAX + 17];
	uint8_t  role = (uint8_t) (1u << ref->role);
	cm_bytes key, old;

	memcpy(k, ref->key, ref->key_len);
	k[ref->key_len] = 0;
	cm_put_u64be(k + ref->key_len + 1,
	             (uint64_t) ev->time_ms ^ (UINT64_C(1) << 63));
	cm_put_u64be(k + ref->key_len + 9, index);
	key = CM_BYTES(k, ref->key_len + 17);
	/* One identifier in two roles (a parent also listed as a child):
	 * one entry holding both. */
	if (ldg_kv_get(t, db, key, &old) == CM_OK && old.len == 1)
		role |= old.p[0];
	return (ldg_kv_put(t, db, key, CM_BYTES(&role, 1), 0));
}

static cm_err
event_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const trc_event_rec *er;
	cm_json             *j = NULL;
	trc_event            ev;
	uint8_t              v[8];
	ldg_db               odb, hdb;
	cm_err               rv;

	memset(&ev, 0, sizeof(ev));
	if (!is_event(leaf))
		return (CM_OK);
	er = leaf->record->decoded;
	if ((rv = ldg_db_find(t, OBJ_DB, &odb)) != CM_OK ||
	    (rv = ldg_db_find(t, HASH_DB, &hdb)) != CM_OK ||
	    (rv = event_scoped(leaf->record, &j, &ev, d)) != CM_OK)
		goto out;
	for (size_t i = 0; i < ev.nrefs; i++)
		if ((rv = obj_put(t, odb, &ev, &ev.refs[i], leaf->index)) !=
		    CM_OK)
			goto out;
	cm_put_u64be(v, leaf->index);
	rv = ldg_kv_put(t, hdb, er->id, CM_BYTES(v, 8), 0);
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

static const ldg_kind    trc_kinds[] = {{"trace.event", sizeof(trc_event_rec),
                                         event_decode, event_may_write,
                                         event_validate}};
static const ldg_dbspec  trc_dbs[] = {{OBJ_DB, 0}, {HASH_DB, LDG_DB_DUPSORT}};
static const ldg_indexer trc_indexers[] = {
    {"trace", 1, trc_dbs, 2, event_index}};
const ldg_module trc_ledger_module = {"trace", trc_kinds, 1,   trc_indexers,
                                      1,       NULL,      NULL};
