/* SPDX-License-Identifier: MIT */
/* credit/crd_impl.h -- internals of the credit module: the line reader the
 * catalogue and scorecard parsers share (credit/crd_text.c).  Not for other
 * modules.  Every refusal is "line L col C: reason" (C counts characters,
 * from 1), CM_EPROTO. */
#ifndef CREDIT_CRD_IMPL_H
#define CREDIT_CRD_IMPL_H

#include "credit/crd.h"

typedef struct crd_lex {
	const uint8_t *p; /* the whole text */
	size_t         len, pos;
	unsigned       line;
	const uint8_t *lp;       /* the current line, without its LF */
	size_t         llen, at; /* at: next byte to read in the line */
	size_t         tok;      /* where the last token began */
	cm_diag       *d;
} crd_lex;

/* Checks the whole text (size, UTF-8, no NUL, CR or tab) and starts at
 * the top. */
cm_err crd_lex_init(crd_lex *lx, cm_bytes text, cm_diag *d);
/* Moves to the next line that is not blank or a comment; false at the end.
 * Refuses trailing spaces and over-long lines through *rv. */
bool crd_lex_line(crd_lex *lx, cm_err *rv);
/* Fails at byte offset `at` of the current line. */
cm_err crd_lex_fail_at(crd_lex *lx, size_t at, const char *fmt, ...)
    CM_PRINTF(3, 4);
/* Fails at the last token. */
#define crd_lex_fail(lx, ...) crd_lex_fail_at((lx), (lx)->tok, __VA_ARGS__)
bool   crd_lex_more(const crd_lex *lx); /* another token on this line */
cm_err crd_lex_word(crd_lex *lx, const char *what, cm_bytes *out);
cm_err crd_lex_name(crd_lex *lx, const char *what, char out[CRD_NAME_MAX + 1]);
/* One of words[0..n); its index in *out. */
cm_err crd_lex_keyword(crd_lex *lx, const char *what, const char *const *words,
                       size_t n, int *out);
cm_err crd_lex_uint(crd_lex *lx, const char *what, uint32_t min, uint32_t max,
                    uint32_t *out);
cm_err crd_lex_int(crd_lex *lx, const char *what, int32_t limit, int32_t *out);
/* A day, or "-" (CRD_DAY_OPEN) if open_ok. */
cm_err crd_lex_day(crd_lex *lx, const char *what, bool open_ok, crd_day *out);
cm_err crd_lex_period(crd_lex *lx, const char *what, crd_period *out);
cm_err crd_lex_severity(crd_lex *lx, crd_severity *out);
/* The rest of the line as free text (1..CRD_TEXT_MAX bytes). */
cm_err crd_lex_rest(crd_lex *lx, const char *what, char out[CRD_TEXT_MAX + 1]);
/* Refuses anything left on the line. */
cm_err crd_lex_end(crd_lex *lx);
/* The next directive line must start with the keyword want. */
cm_err crd_lex_expect(crd_lex *lx, const char *want);
/* The header every file opens with: "format <magic> 1", "version N",
 * "effective YYYY-MM-DD", in that order. */
cm_err crd_lex_header(crd_lex *lx, const char *magic, uint32_t *out_version,
                      crd_day *out_effective);

/* True if min <= max for every start day (months count 28..31 days each
 * against days; months and years compare exactly). */
bool   crd_period_le(crd_period min, crd_period max);
cm_err crd_put_period(cm_buf *b, crd_period p);
cm_err crd_put_day(cm_buf *b, crd_day d);
cm_err crd_put_header(cm_buf *b, const char *magic, uint32_t version,
                      crd_day effective);
bool   crd_name_eq(const char *a, cm_bytes b);

/* ---- credit events (credit/crd_event.c), for the module tables ---- */
/* A decoded credit.event, credit.revoke or credit.confirm record. */
typedef struct crd_ev_rec {
	crd_op       op;
	cm_bytes     subject, item, doc, reason;
	crd_severity severity;
	crd_day      occurred, decided, ended, until;
	bool         has_amount, has_target;
	uint64_t     amount;
	uint64_t     target;  /* amends / target leaf (also in refs) */
	cm_bytes     details; /* the map's CBOR item, or empty */
} crd_ev_rec;
cm_err crd_ev_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err crd_rv_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
cm_err crd_cf_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool crd_ev_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d);
cm_err crd_ev_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err crd_ev_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d);
extern const ldg_dbspec crd_ev_dbs[4];
/* credit.import (credit/crd_import.c); decoded: a crd_import. */
cm_err crd_im_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool crd_im_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d);
cm_err crd_im_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
/* The event a decoded credit.event states (its views borrowed from er; no
 * evidence: the refs stay in the record). */
cm_err crd_ev_event(const crd_ev_rec *er, crd_event *out, cm_diag *d);
/* ---- the access records (credit/crd_access.c, crd_dispute.c,
 * crd_person.c) ----
 * Their kinds and indexer, listed into crd_module's tables by
 * credit/crd_adopt.c (one module, one list of kinds). */
#define CRD_DECODED_ACCESS 256 /* room for any access record decoded */

/* Typed fields shared by the access kinds; what names the kind. */
cm_err crd_field_uscc(const ldg_field *f, const char *what,
                      char out[LDG_USCC_LEN + 1], cm_diag *d);
cm_err crd_field_day(const ldg_field *f, const char *what, crd_day *out,
                     cm_diag *d);
/* A text of 1..max bytes. */
cm_err crd_field_textn(const ldg_field *f, const char *what, size_t max,
                       cm_bytes *out, cm_diag *d);

/* One record leaf, read back: its kind, record bytes, signer and log
 * time (header leaf), and its fields as cm_cbor_check_map found them. */
typedef struct crd_leaf {
	uint64_t     index, header_index, log_time;
	cm_bytes     rec, kind;
	ldg_identity signer;
	cm_cbor_map  map;
} crd_leaf;
/* CM_EINVAL if leaf index is not a record leaf. */
cm_err crd_leaf_read(ldg_txn *t, uint64_t index, crd_leaf *out);
/* The field name of l's record map (the value's CBOR item), or false. */
bool crd_leaf_field(const crd_leaf *l, const char *name, cm_bytes *out);
/* The same, read as a text or an unsigned integer. */
bool crd_leaf_text(const crd_leaf *l, const char *name, cm_bytes *out);
bool crd_leaf_uint(const crd_leaf *l, const char *name, uint64_t *out);

/* The subject index (crd_about): every credit-relevant record about a
 * subject, by leaf.  The tag says what it is. */
#define CRD_T_RECORD 'e'    /* a record others may dispute: attestation */
#define CRD_T_CONSENT 'c'   /* credit.consent */
#define CRD_T_QUERY 'q'     /* credit.query */
#define CRD_T_DISPUTE 'd'   /* credit.dispute open */
#define CRD_T_REPEAT 'D'    /* credit.dispute open, on the same grounds */
#define CRD_T_RESOLVE 'x'   /* credit.dispute resolve / escalate */
#define CRD_T_STATEMENT 's' /* credit.statement */
#define CRD_T_REPAIR 'r'    /* credit.repair apply */
#define CRD_T_DECIDE 'g'    /* credit.repair decide */
cm_err crd_about_put(ldg_txn *t, const char *subject, uint64_t leaf,
                     uint8_t tag);
/* Calls fn for each entry about subject with leaf in [from, before), in
 * leaf order; a return other than CM_OK stops the walk (returned). */
typedef cm_err (*crd_about_fn)(void *arg, uint64_t leaf, uint8_t tag);
cm_err crd_about_each(ldg_txn *t, const char *subject, uint64_t from,
                      uint64_t before, crd_about_fn fn, void *arg);

/* A record that disputes, statements and repairs may cite: what it is
 * about and who issued it.  Attestations (format.md 5.2) are cited by
 * their type's scope prefix; catalogue items come with credit events. */
typedef struct crd_cited {
	char subject[LDG_USCC_LEN + 1];
	char issuer[LDG_USCC_LEN + 1];        /* the signer's organisation */
	char category[CRD_NAME_MAX + 16];     /* the scope a regulator needs:
	                                       credit.<category> for an
	                                       event, the type's prefix for
	                                       an attestation */
	char         type[CRD_NAME_MAX + 24]; /* what it is, in words */
	bool         has_item;                /* a catalogue item names it */
	char         item[CRD_NAME_MAX + 1];
	crd_severity severity;
	crd_day      decided, published, ended; /* CRD_DAY_OPEN: none */
	uint64_t     log_time;
} crd_cited;
/* CM_EREF (with the reason) when leaf is no such record before `before`. */
cm_err crd_cited_get(ldg_txn *t, uint64_t leaf, uint64_t before, crd_cited *out,
                     cm_diag *d);
/* Whether id is a regulator holding scope (a crd_cited category). */
bool crd_in_scope(const ldg_identity *id, const char *scope);

cm_err crd_consent_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   crd_consent_may_write(const ldg_identity *id, const ldg_record *r,
                             cm_diag *d);
cm_err crd_consent_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err crd_query_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   crd_query_may_write(const ldg_identity *id, const ldg_record *r,
                           cm_diag *d);
cm_err crd_query_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err crd_dispute_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   crd_dispute_may_write(const ldg_identity *id, const ldg_record *r,
                             cm_diag *d);
cm_err crd_dispute_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err crd_statement_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   crd_statement_may_write(const ldg_identity *id, const ldg_record *r,
                               cm_diag *d);
cm_err crd_statement_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err crd_repair_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   crd_repair_may_write(const ldg_identity *id, const ldg_record *r,
                            cm_diag *d);
cm_err crd_repair_validate(ldg_txn *t, const ldg_record *r, cm_diag *d);
cm_err crd_token_decode(const cm_cbor_map *rec, void *out, cm_diag *d);
bool   crd_token_may_write(const ldg_identity *id, const ldg_record *r,
                           cm_diag *d);
/* The indexer of every access record; the dispute part of it. */
cm_err crd_access_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d);
cm_err crd_dispute_index(ldg_txn *t, const ldg_record *r);
extern const ldg_dbspec crd_access_dbs[];
#define CRD_ACCESS_NDBS 3
#define CRD_ACCESS_KINDS                                                       \
	{CRD_KIND_CONSENT, CRD_DECODED_ACCESS, crd_consent_decode,             \
	 crd_consent_may_write, crd_consent_validate},                         \
	    {CRD_KIND_QUERY, CRD_DECODED_ACCESS, crd_query_decode,             \
	     crd_query_may_write, crd_query_validate},                         \
	    {CRD_KIND_DISPUTE, CRD_DECODED_ACCESS, crd_dispute_decode,         \
	     crd_dispute_may_write, crd_dispute_validate},                     \
	    {CRD_KIND_STATEMENT, CRD_DECODED_ACCESS, crd_statement_decode,     \
	     crd_statement_may_write, crd_statement_validate},                 \
	    {CRD_KIND_REPAIR, CRD_DECODED_ACCESS, crd_repair_decode,           \
	     crd_repair_may_write, crd_repair_validate},                       \
	{                                                                      \
		CRD_KIND_TOKEN, CRD_DECODED_ACCESS, crd_token_decode,          \
		    crd_token_may_write, NULL                                  \
	}
#define CRD_ACCESS_INDEXERS                                                    \
	{                                                                      \
		"credit.access", 1, crd_access_dbs, CRD_ACCESS_NDBS,           \
		    crd_access_index                                           \
	}

#endif /* CREDIT_CRD_IMPL_H */
