/* SPDX-License-Identifier: MIT */
/* trace/trc_impl.h -- the trace module's internals, shared between its
 * files (and its tests); other modules include only trace/trc.h. */
#ifndef TRACE_TRC_IMPL_H
#define TRACE_TRC_IMPL_H

#include "trace/trc.h"

/* The constrained canonical Digital Link of a GS1 key (host id.gs1.org,
 * finest key only, no CPV, no query), as the event hash writes it. */
cm_err trc_id_canonical_dl(const trc_id *id, cm_buf *out);

/* An xsd:dateTime with a zone as ms since 1970 UTC (trace/trc_hash.c). */
bool trc_time_ms(const char *s, size_t n, int64_t *out);

/* Calls fn for each prefix -> IRI an @context value defines: objects of
 * prefix -> IRI string, alone or in an array (remote contexts are not
 * fetched).  Views borrow from v.  (trace/trc_hash.c) */
typedef void (*trc_prefix_fn)(void *arg, const char *p, size_t pl,
                              const char *iri, size_t il);
void trc_context_prefixes(const cm_json *v, trc_prefix_fn fn, void *arg);

/* ---- master data (trace/trc_master.c), listed in the module ----
 * The decoded form of a master-data record, the kinds' functions and the
 * indexer "trace.master" (docs/format.md sections 5.9 and 10.2). */
#include "ledger/ldg.h"
typedef struct trc_mrec {
	uint8_t  op; /* trc_master_op */
	char     digits[14];
	char     uscc[LDG_USCC_LEN + 1];
	cm_bytes name;
	cm_bytes id; /* trace.name's id as written */
	size_t   key_len;
	char     key[TRC_ID_KEY_MAX + 1];
} trc_mrec;
cm_err trc_mk_bind_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err trc_mk_claim_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err trc_mk_confirm_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err trc_mk_delegate_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err trc_mk_undelegate_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err trc_mk_name_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   trc_mk_authority_may(const ldg_identity *id, const ldg_record *r,
                            cm_diag *d);
bool   trc_mk_enterprise_may(const ldg_identity *id, const ldg_record *r,
                             cm_diag *d);
bool   trc_mk_name_may(const ldg_identity *id, const ldg_record *r, cm_diag *d);
cm_err trc_mk_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err trc_master_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d);
extern const ldg_dbspec trc_master_dbs[1];
#define TRC_MASTER_KINDS                                                       \
	{TRC_KIND_BIND, sizeof(trc_mrec), trc_mk_bind_decode,                  \
	 trc_mk_authority_may, trc_mk_validate},                               \
	    {TRC_KIND_CLAIM, sizeof(trc_mrec), trc_mk_claim_decode,            \
	     trc_mk_enterprise_may, trc_mk_validate},                          \
	    {TRC_KIND_CONFIRM, sizeof(trc_mrec), trc_mk_confirm_decode,        \
	     trc_mk_authority_may, trc_mk_validate},                           \
	    {TRC_KIND_DELEGATE, sizeof(trc_mrec), trc_mk_delegate_decode,      \
	     trc_mk_enterprise_may, trc_mk_validate},                          \
	    {TRC_KIND_UNDELEGATE, sizeof(trc_mrec), trc_mk_undelegate_decode,  \
	     trc_mk_enterprise_may, trc_mk_validate},                          \
	{                                                                      \
		TRC_KIND_NAME, sizeof(trc_mrec), trc_mk_name_decode,           \
		    trc_mk_name_may, trc_mk_validate                           \
	}
#define TRC_MASTER_NKINDS 6
#define TRC_MASTER_INDEXER                                                     \
	{                                                                      \
		"trace.master", 1, trc_master_dbs, 1, trc_master_index         \
	}

/* ---- [recall's block] verification, alerts and recalls: what
 * trace/trc_verify.c and trace/trc_recall.c share ---- */
struct ldg_txn;
struct ldg_leaf;

/* One event on an object, as verification reads it (unscoped). */
typedef struct trc_vev {
	uint64_t       leaf;
	int64_t        time_ms;  /* eventTime, UTC */
	int64_t        local_ms; /* eventTime at its own offset */
	trc_event_type type;
	trc_action     action;
	char           step[40]; /* the CBV bizStep word ("" none/custom) */
	char           disp[40]; /* the disposition as given ("" none) */
	bool           disp_cbv; /* disp is a CBV word */
	bool           has_error;
	bool           commissions;          /* ObjectEvent ADD, or an output */
	uint8_t        roles;                /* the object's roles in it */
	char           lot[TRC_ID_PART_MAX]; /* ilmd lotNumber */
	char           ref_lot[TRC_ID_PART_MAX]; /* the object's /10/ */
	char           expiry[TRC_DATE_MAX], best[TRC_DATE_MAX]; /* ilmd */
} trc_vev;
cm_err trc_vev_load(struct ldg_txn *t, uint64_t leaf, cm_bytes key,
                    trc_vev *out, cm_diag *d);
/* The events on key below size that count (none declared an error below
 * size), in time order; *out owned by the caller (cm_free). */
cm_err trc_vev_list(struct ldg_txn *t, cm_bytes key, uint64_t size,
                    trc_vev **out, size_t *n, cm_diag *d);
bool   trc_vev_is_sale(const trc_vev *e);
bool   trc_vev_is_return(const trc_vev *e);
bool   trc_declared_below(struct ldg_txn *t, uint64_t leaf, uint64_t size);
/* The log time of the last batch below size (0 if none). */
int64_t trc_log_time_at(struct ldg_txn *t, uint64_t size);
/* The USCC of the organisation that signed record leaf ("" operator). */
cm_err trc_leaf_signer(struct ldg_txn *t, uint64_t leaf, char uscc[19]);
void   trc_date_of_ms(int64_t ms, char out[TRC_DATE_MAX]);
/* The lot class key of an SGTIN key and a lot (false if not an SGTIN). */
bool trc_lot_key(cm_bytes key, const char *lot, char *out, size_t cap);
/* The alerts indexer (trace.alerts). */
cm_err trc_alert_index(struct ldg_txn *t, const struct ldg_leaf *leaf,
                       cm_diag *d);
/* The latest recall record, active below size, whose scope at size holds
 * id (its key; a serial with its lot); *out 0 if none. */
cm_err trc_recall_covering(struct ldg_txn *t, const trc_id *id, uint64_t size,
                           uint64_t *out, cm_diag *d);
/* [end of recall's block] */

#endif /* TRACE_TRC_IMPL_H */
