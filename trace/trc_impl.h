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

#endif /* TRACE_TRC_IMPL_H */
