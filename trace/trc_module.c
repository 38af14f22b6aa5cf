/* SPDX-License-Identifier: MIT */
/* trace/trc_module.c -- the trace module's ledger side: the record kind
 * "trace.event" (docs/format.md section 5.4), one EPCIS 2.0 event as its
 * JSON text with its hash ID.  Decode runs the event validator on the
 * stored text; only enterprises and regulators write events.  Written only
 * against the public module API (ledger/ldg.h). */
#include "ledger/ldg.h"
#include "trace/trc_impl.h"

#include <stdio.h>
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

/* A trace.event record's fields: its event text and hash ID. */
static cm_err
event_fields(const cm_cbor_map *rec, cm_bytes *event, cm_bytes *id, cm_diag *d)
{
	enum { T, ID, KIND, REFS, EVENT, NF };
	ldg_field f[NF] = {{"t", true},
	                   {"id", true},
	                   {"kind", true},
	                   {"refs", false},
	                   {"event", true}};
	cm_err    rv;

	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	    CM_OK)
		return (rv);
	/* The getters' own message names no field: say which. */
	if (ldg_field_text(&f[EVENT], event, NULL) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "trace.event: event must be text (the "
		                "event's JSON as a string)"));
	if (ldg_field_text(&f[ID], id, NULL) != CM_OK)
		return (cm_fail(d, CM_EPROTO,
		                "trace.event: id must be text (the event's "
		                "hash ID)"));
	return (CM_OK);
}

static cm_err
event_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	trc_event_rec      r;
	trc_event_rec_info info;
	cm_err             rv;

	memset(&r, 0, sizeof(r));
	if ((rv = event_fields(rec, &r.event, &r.id, d)) != CM_OK)
		return (rv);
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

/* ---- indexes (docs/format.md section 10.2, docs/trace.md section 4) ----
 * trace_obj: canonical identifier key || 0x00 || event time || leaf index
 * -> the roles the identifier has in the event (a bit per trc_role).  Keys
 * are printable ASCII, so the 0x00 ends them: an object's history is the
 * range of its key and 0x00, in event-time order, ties in leaf order.  The
 * time is ms since 1970 UTC plus 2^63, so that earlier times, negative
 * ones too, sort first as unsigned big-endian bytes.
 * trace_hash: hash ID (and 0x00 || USCC for events naming a restricted
 * GTIN) -> u64be(leaf index) || the signer's USCC, duplicate-sorted: the
 * first value is the first capture of the event.
 * trace_eventid: SHA-256(eventID) -> u64be(leaf) || hash ID, the first
 * event with that eventID.
 * trace_decl: u64be(original's leaf) || u64be(declaration's leaf) -> empty:
 * the error declarations of an event in the log. */
#define OBJ_DB "trace_obj"
#define HASH_DB "trace_hash"
#define EVID_DB "trace_eventid"
#define DECL_DB "trace_decl"

/* The first capture of hash ID h: its leaf and its signer's USCC (the
 * first trace_hash value: u64be(leaf) || USCC).  CM_ENOTFOUND if none. */
static cm_err
first_capture(ldg_txn *t, cm_bytes h, uint64_t *leaf, cm_bytes *uscc)
{
	ldg_db   db;
	cm_bytes v;
	cm_err   rv;

	if ((rv = ldg_db_find(t, HASH_DB, &db)) != CM_OK ||
	    (rv = ldg_kv_get(t, db, h, &v)) != CM_OK)
		return (rv);
	if (v.len < 8)
		return (CM_ECORRUPT);
	*leaf = cm_get_u64be(v.p);
	*uscc = CM_BYTES(v.p + 8, v.len - 8);
	return (CM_OK);
}

/* The trace_hash key of ev: its hash ID, followed by 0x00 and the signer's
 * USCC when the event names a restricted GTIN (keyed "@<USCC>..."): the
 * hash has no scope, and two enterprises' equal events on their own
 * internal numbers are two events. */
static cm_bytes
hash_key(const trc_event *ev, cm_bytes id, const ldg_identity *sig,
         uint8_t *buf, size_t cap)
{
	size_t ul = strlen(sig->uscc);
	bool   scoped = false;

	for (size_t i = 0; i < ev->nrefs && !scoped; i++)
		scoped = ev->refs[i].key[0] == '@';
	if (!scoped || id.len + 1 + ul > cap)
		return (id);
	memcpy(buf, id.p, id.len);
	buf[id.len] = 0;
	memcpy(buf + id.len + 1, sig->uscc, ul);
	return (CM_BYTES(buf, id.len + 1 + ul));
}

/* "leaf L", or "record P of this batch" when L is in the batch whose
 * header is hi (which a refusal leaves unwritten); UINT64_MAX: no batch. */
static void
leaf_name(uint64_t hi, uint64_t leaf, char *out, size_t cap)
{
	if (hi != UINT64_MAX && leaf > hi)
		snprintf(out, cap, "record %llu of this batch",
		         (unsigned long long) (leaf - hi - 1));
	else
		snprintf(out, cap, "leaf %llu", (unsigned long long) leaf);
}

/* Whether one of the captures of hash key hk (its trace_hash values) holds
 * exactly text: a declaration sent again. */
static cm_err
text_stored(ldg_txn *t, cm_bytes hk, cm_bytes text, uint64_t *leaf)
{
	ldg_cursor *c = NULL;
	ldg_db      db;
	cm_bytes    k, v, et, eid;
	cm_err      rv;

	*leaf = 0;
	if ((rv = ldg_db_find(t, HASH_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, hk, &k, &v);
	     rv == CM_OK && cm_bytes_eq(k, hk);
	     rv = ldg_cursor_next_dup(c, &k, &v)) {
		if (v.len < 8) {
			rv = CM_ECORRUPT;
			break;
		}
		if (trc_event_at(t, cm_get_u64be(v.p), &et, &eid, NULL) ==
		        CM_OK &&
		    cm_bytes_eq(et, text)) {
			*leaf = cm_get_u64be(v.p);
			break;
		}
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

/* Duplicates and corrections (docs/trace.md section 4.1), for validate and
 * for importers: an eventID names one event; a second capture of a hash
 * ID is a duplicate of the first unless it declares an error, which only
 * the first capture's signer or a regulator may. */
cm_err
trc_capture_check(struct ldg_txn *t, const trc_event *ev, cm_bytes text,
                  const ldg_identity *signer, uint64_t hi, trc_capture *out,
                  cm_diag *d)
{
	uint64_t first;
	cm_bytes who, v, id = CM_BYTES(ev->hash_id, strlen(ev->hash_id));
	ldg_db   db;
	char     where[64];
	uint8_t  k[CM_HASH_LEN], hk[TRC_HASH_ID_MAX + 20];
	cm_bytes key;
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	if (ev->event_id.len > 0) {
		cm_sha256(ev->event_id.p, ev->event_id.len, k);
		if ((rv = ldg_db_find(t, EVID_DB, &db)) != CM_OK)
			return (rv);
		rv = ldg_kv_get(t, db, CM_BYTES(k, sizeof(k)), &v);
		if (rv == CM_OK && v.len > 8 &&
		    !cm_bytes_eq(CM_BYTES(v.p + 8, v.len - 8), id)) {
			leaf_name(hi, cm_get_u64be(v.p), where, sizeof(where));
			return (
			    cm_fail(d, CM_EEXIST,
			            "trace.event: eventID %.*s is already "
			            "the eventID of another event (%s, hash "
			            "ID %.*s)",
			            (int) ev->event_id.len,
			            (const char *) ev->event_id.p, where,
			            (int) (v.len - 8), (const char *) v.p + 8));
		}
		if (rv != CM_OK && rv != CM_ENOTFOUND)
			return (rv);
	}
	key = hash_key(ev, id, signer, hk, sizeof(hk));
	rv = first_capture(t, key, &first, &who);
	if (rv == CM_ENOTFOUND)
		return (CM_OK);
	if (rv != CM_OK)
		return (rv);
	out->first = first;
	if (!ev->has_error) {
		out->duplicate = true;
		return (CM_OK);
	}
	if (text.len > 0) {
		if ((rv = text_stored(t, key, text, &out->first)) != CM_OK)
			return (rv);
		if (out->first != 0) {
			out->duplicate = true;
			return (CM_OK);
		}
		out->first = first;
	}
	if (signer->role != LDG_ROLE_REGULATOR &&
	    !cm_bytes_eq(who, CM_BYTES(signer->uscc, strlen(signer->uscc)))) {
		leaf_name(hi, first, where, sizeof(where));
		return (cm_fail(d, CM_EDENIED,
		                "trace.event: only the submitter of the event "
		                "at %s (%.*s) or a regulator may declare it an "
		                "error",
		                where, (int) who.len, (const char *) who.p));
	}
	return (CM_OK);
}

/* The scoped reading must succeed here, with its reason, so that the
 * indexer (whose failures name only the leaf) cannot fail on it.  Then
 * trc_capture_check; a duplicate is refused naming the first capture. */
static cm_err
event_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	cm_json    *j = NULL;
	trc_event   ev;
	trc_capture c;
	char        where[64];
	cm_err      rv;

	if ((rv = event_scoped(r, &j, &ev, d)) != CM_OK ||
	    (rv = trc_capture_check(t, &ev, CM_BYTES(NULL, 0), r->signer,
	                            r->header_index, &c, d)) != CM_OK ||
	    /* master data: commissioning under another's prefix */
	    (rv = trc_master_check(t, &ev, r->signer, NULL, d)) != CM_OK)
		goto out;
	if (c.duplicate) {
		leaf_name(r->header_index, c.first, where, sizeof(where));
		rv = cm_fail(d, CM_EEXIST,
		             "trace.event: a duplicate: the event with hash ID "
		             "%s is already captured at %s",
		             ev.hash_id, where);
	}
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

cm_err
trc_event_record(cm_bytes text, const char *hash_id, cm_buf *out)
{
	cm_cbor_wr w;

	/* Canonical order: shorter keys first. */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 4);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "id");
	cm_cbor_wr_cstr(&w, hash_id);
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, "trace.event");
	cm_cbor_wr_cstr(&w, "event");
	cm_cbor_wr_text(&w, text);
	return (cm_cbor_wr_finish(&w, NULL));
}

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
	const ldg_identity  *sig;
	uint8_t              v[8 + LDG_USCC_LEN], dk[16];
	uint8_t              hkb[TRC_HASH_ID_MAX + 20];
	cm_bytes             hk;
	uint64_t             first;
	cm_bytes             who;
	size_t               ul;
	ldg_db               odb, hdb, ddb, edb;
	cm_err               rv;

	memset(&ev, 0, sizeof(ev));
	if (!is_event(leaf))
		return (CM_OK);
	er = leaf->record->decoded;
	sig = leaf->record->signer;
	ul = strlen(sig->uscc);
	if ((rv = ldg_db_find(t, OBJ_DB, &odb)) != CM_OK ||
	    (rv = ldg_db_find(t, HASH_DB, &hdb)) != CM_OK ||
	    (rv = event_scoped(leaf->record, &j, &ev, d)) != CM_OK)
		goto out;
	/* validate let a second capture through only as a declaration: it
	 * marks the first capture, which stays in every history. */
	hk = hash_key(&ev, er->id, sig, hkb, sizeof(hkb));
	if (first_capture(t, hk, &first, &who) == CM_OK) {
		cm_put_u64be(dk, first);
		cm_put_u64be(dk + 8, leaf->index);
		if ((rv = ldg_db_find(t, DECL_DB, &ddb)) != CM_OK ||
		    (rv = ldg_kv_put(t, ddb, CM_BYTES(dk, 16),
		                     CM_BYTES(NULL, 0), 0)) != CM_OK)
			goto out;
	} else {
		for (size_t i = 0; i < ev.nrefs; i++)
			if ((rv = obj_put(t, odb, &ev, &ev.refs[i],
			                  leaf->index)) != CM_OK)
				goto out;
	}
	cm_put_u64be(v, leaf->index);
	memcpy(v + 8, sig->uscc, ul);
	if ((rv = ldg_kv_put(t, hdb, hk, CM_BYTES(v, 8 + ul), 0)) != CM_OK)
		goto out;
	if (ev.event_id.len > 0) {
		uint8_t k[CM_HASH_LEN];
		cm_buf  ev_v = {0};

		cm_sha256(ev.event_id.p, ev.event_id.len, k);
		if ((rv = ldg_db_find(t, EVID_DB, &edb)) != CM_OK ||
		    (rv = cm_buf_append(&ev_v, v, 8)) != CM_OK ||
		    (rv = cm_buf_append(&ev_v, er->id.p, er->id.len)) !=
		        CM_OK) {
			cm_buf_fini(&ev_v);
			goto out;
		}
		/* The first event with this eventID keeps it. */
		rv = ldg_kv_put(t, edb, CM_BYTES(k, sizeof(k)),
		                cm_buf_bytes(&ev_v), LDG_PUT_NOOVERWRITE);
		if (rv == CM_EEXIST)
			rv = CM_OK;
		cm_buf_fini(&ev_v);
	}
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

static const ldg_kind   trc_kinds[] = {{"trace.event", sizeof(trc_event_rec),
                                        event_decode, event_may_write,
                                        event_validate},
                                       TRC_MASTER_KINDS};
static const ldg_dbspec trc_dbs[] = {
    {OBJ_DB, 0}, {HASH_DB, LDG_DB_DUPSORT}, {EVID_DB, 0}, {DECL_DB, 0}};
/* [recall] the alerts indexer (trace/trc_verify.c). */
static const ldg_dbspec  trc_alert_dbs[] = {{"trace_alert", 0},
                                            {"trace_alert_obj", 0}};
static const ldg_indexer trc_indexers[] = {
    {"trace", 2, trc_dbs, 4, event_index},
    TRC_MASTER_INDEXER,
    /* [recall] after master's: alerts read the events' standing */
    {"trace.alerts", 1, trc_alert_dbs, 2, trc_alert_index}};
const ldg_module trc_ledger_module = {"trace",
                                      trc_kinds,
                                      sizeof(trc_kinds) / sizeof(trc_kinds[0]),
                                      trc_indexers,
                                      sizeof(trc_indexers) /
                                          sizeof(trc_indexers[0]),
                                      NULL,
                                      NULL};

/* ---- reading the indexes (trace/trc.h) ---- */

cm_err
trc_history(struct ldg_txn *t, cm_bytes key, trc_hist_fn fn, void *arg)
{
	ldg_cursor *c = NULL;
	ldg_db      db;
	uint8_t     pfx[TRC_ID_KEY_MAX + 1];
	cm_bytes    k, v;
	cm_err      rv;

	if (key.len == 0 || key.len > TRC_ID_KEY_MAX)
		return (CM_EINVAL);
	memcpy(pfx, key.p, key.len);
	pfx[key.len] = 0;
	if ((rv = ldg_db_find(t, OBJ_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(pfx, key.len + 1), &k, &v);
	     rv == CM_OK; rv = ldg_cursor_next(c, &k, &v)) {
		trc_hist h;

		if (k.len != key.len + 17 || memcmp(k.p, pfx, key.len + 1) != 0)
			break;
		h.time_ms = (int64_t) (cm_get_u64be(k.p + key.len + 1) ^
		                       (UINT64_C(1) << 63));
		h.leaf = cm_get_u64be(k.p + key.len + 9);
		h.roles = v.len == 1 ? v.p[0] : 0;
		if ((rv = fn(arg, &h)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

cm_err
trc_declarations(struct ldg_txn *t, uint64_t leaf, trc_decl_fn fn, void *arg)
{
	ldg_cursor *c = NULL;
	ldg_db      db;
	uint8_t     k0[8];
	cm_bytes    k, v;
	cm_err      rv;

	cm_put_u64be(k0, leaf);
	if ((rv = ldg_db_find(t, DECL_DB, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(k0, 8), &k, &v); rv == CM_OK;
	     rv = ldg_cursor_next(c, &k, &v)) {
		if (k.len != 16 || memcmp(k.p, k0, 8) != 0)
			break;
		if ((rv = fn(arg, cm_get_u64be(k.p + 8))) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

cm_err
trc_event_at(struct ldg_txn *t, uint64_t leaf, cm_bytes *text, cm_bytes *id,
             cm_diag *d)
{
	cm_bytes    lb;
	ldg_rleaf   rl;
	cm_cbor_map m;

	if (ldg_leaf_get(t, leaf, &lb) != CM_OK ||
	    ldg_rleaf_decode(lb, &rl, d) != CM_OK ||
	    cm_cbor_check_map(rl.rec, &m, d) != CM_OK ||
	    event_fields(&m, text, id, d) != CM_OK)
		return (cm_fail(d, CM_ECORRUPT, "leaf %llu: not a trace event",
		                (unsigned long long) leaf));
	return (CM_OK);
}
