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

#endif /* CREDIT_CRD_IMPL_H */
