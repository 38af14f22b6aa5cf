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

static const ldg_kind trc_kinds[] = {{"trace.event", sizeof(trc_event_rec),
                                      event_decode, event_may_write, NULL}};
const ldg_module      trc_ledger_module = {"trace", trc_kinds, 1,   NULL,
                                           0,       NULL,      NULL};
