/* SPDX-License-Identifier: MIT */
/* tools/cli_credit_import.c -- `tally credit import`: an authority's CSV
 * file of credit events (docs/credit.md section 6: the columns), read by
 * the streaming CSV reader (credit/crd_csv.c) in the two passes of
 * tools/cli.c (import_run): every row checked as the ledger will check its
 * credit.event (crd_event_check), the whole file refused on the first bad
 * row with its row, column and reason; then signed batches, rows the log
 * holds already left out, and a credit.import manifest at the end. */
#include "credit/crd.h"
#include "tools/cli.h"

#include <stdio.h>
#include <string.h>

#define CSV_FIELD_MAX 1024
#define CSV_ROW_MAX 16384
#define IMPORT_BATCH 1000
#define DETAIL_PREFIX "detail."

/* The columns a row may have; a detail.<field> column fills a detail. */
enum {
	C_SUBJECT,
	C_ITEM,
	C_SEVERITY,
	C_DOC,
	C_OCCURRED,
	C_DECIDED,
	C_ENDED,
	C_UNTIL,
	C_AMOUNT,
	C_EVIDENCE,
	C_AMENDS,
	C_NFIXED,
	C_DETAIL = C_NFIXED
};
static const struct {
	const char *name;
	bool        required;
} cols[C_NFIXED] = {{"subject", true},   {"item", true},     {"severity", true},
                    {"doc", true},       {"occurred", true}, {"decided", true},
                    {"ended", false},    {"until", false},   {"amount", false},
                    {"evidence", false}, {"amends", false}};

typedef struct credit_src {
	imp_file            *f;
	ldg_params           p;
	crd_csv             *csv;
	int                  pass;
	ldg_identity         who;
	const crd_catalogue *cat;
	crd_day              today;
	uint64_t             size; /* the tree size the rows are checked at */
	/* The header: each column's kind, and the names (for messages). */
	size_t ncol;
	int    kind[CRD_CSV_FIELDS_MAX];
	char   name[CRD_CSV_FIELDS_MAX][CRD_NAME_MAX + 16];
	bool   header;
	/* The current row. */
	crd_csv_row row;
	crd_event   ev;
	uint64_t    evleaf[CRD_EVIDENCE_MAX];
	cm_buf      rec;
	uint8_t     key[CM_HASH_LEN];
} credit_src;

static void
refuse(const credit_src *cs, const char *msg)
{
	imp_refuse(cs->f, cs->pass, msg);
}

/* Refuses the current row, naming column i (from 0; -1: none). */
static void
refuse_col(const credit_src *cs, int i, const char *fmt, const char *why)
{
	char msg[512], w[300];

	snprintf(w, sizeof(w), fmt, why);
	if (i < 0)
		snprintf(msg, sizeof(msg), "row %llu (line %llu): %s",
		         (unsigned long long) cs->row.row,
		         (unsigned long long) cs->row.line, w);
	else
		snprintf(msg, sizeof(msg),
		         "row %llu (line %llu), column %d (%s): %s",
		         (unsigned long long) cs->row.row,
		         (unsigned long long) cs->row.line, i + 1, cs->name[i],
		         w);
	refuse(cs, msg);
}

static void
header_read(credit_src *cs)
{
	const crd_csv_row *r = &cs->row;
	char               show[SHOW_MAX];

	cs->ncol = r->n;
	for (size_t i = 0; i < r->n; i++) {
		cm_bytes n = r->field[i];
		size_t   pl = strlen(DETAIL_PREFIX);

		cs->kind[i] = -1;
		for (int c = 0; c < C_NFIXED; c++)
			if (cm_bytes_eq_str(n, cols[c].name))
				cs->kind[i] = c;
		if (cs->kind[i] < 0 && n.len > pl &&
		    n.len - pl <= CRD_NAME_MAX &&
		    memcmp(n.p, DETAIL_PREFIX, pl) == 0)
			cs->kind[i] = C_DETAIL;
		snprintf(cs->name[i], sizeof(cs->name[i]), "%s",
		         text_show(n, show));
		if (cs->kind[i] < 0)
			refuse_col(cs, (int) i, "%s",
			           "not a column of credit events (subject, "
			           "item, severity, doc, occurred, decided, "
			           "ended, until, amount, evidence, amends, "
			           "detail.<field>)");
		for (size_t j = 0; j < i; j++)
			if (cm_bytes_eq(r->field[j], n))
				refuse_col(cs, (int) i, "%s",
				           "the column is named twice");
	}
	for (int c = 0; c < C_NFIXED; c++) {
		bool has = false;

		for (size_t i = 0; i < cs->ncol; i++)
			has = has || cs->kind[i] == c;
		if (cols[c].required && !has)
			refuse_col(cs, -1, "the header has no column %s",
			           cols[c].name);
	}
}

static bool
digits(cm_bytes v, uint64_t *out)
{
	uint64_t x = 0;

	if (v.len == 0 || v.len > 19)
		return (false);
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return (false);
		x = x * 10 + (uint64_t) (v.p[i] - '0');
	}
	*out = x;
	return (true);
}

static crd_day
day_col(credit_src *cs, int i, cm_bytes v, bool required)
{
	crd_day day;

	if (v.len == 0) {
		if (required)
			refuse_col(cs, i, "%s", "is required");
		return (CRD_DAY_NONE);
	}
	if (crd_day_parse((const char *) v.p, v.len, &day) != CM_OK)
		refuse_col(cs, i, "%s", "not a date YYYY-MM-DD");
	return (day);
}

/* The current row as an event (refs' hashes filled by refs_fill). */
static void
row_event(credit_src *cs)
{
	crd_event *e = &cs->ev;

	memset(e, 0, sizeof(*e));
	e->ended = e->until = CRD_DAY_NONE;
	if (cs->row.n != cs->ncol) {
		char w[80];

		snprintf(w, sizeof(w), "%zu fields, where the header has %zu",
		         cs->row.n, cs->ncol);
		refuse_col(cs, -1, "%s", w);
	}
	for (size_t i = 0; i < cs->ncol; i++) {
		cm_bytes v = cs->row.field[i];
		int      c = (int) i;
		uint64_t n;

		switch (cs->kind[i]) {
		case C_SUBJECT:
			e->subject = v;
			break;
		case C_ITEM:
			e->item = v;
			break;
		case C_DOC:
			e->doc = v;
			break;
		case C_SEVERITY:
			e->severity = CRD_NSEVERITY;
			for (int s = 0; s < CRD_NSEVERITY; s++)
				if (cm_bytes_eq_str(v, crd_severity_name(s)))
					e->severity = (crd_severity) s;
			if (e->severity == CRD_NSEVERITY)
				refuse_col(cs, c, "%s",
				           "not a severity (light, general or "
				           "serious)");
			break;
		case C_OCCURRED:
			e->occurred = day_col(cs, c, v, true);
			break;
		case C_DECIDED:
			e->decided = day_col(cs, c, v, true);
			break;
		case C_ENDED:
			e->ended = day_col(cs, c, v, false);
			break;
		case C_UNTIL:
			e->until = day_col(cs, c, v, false);
			break;
		case C_AMOUNT:
			if (v.len == 0)
				break;
			if (!digits(v, &e->amount_fen))
				refuse_col(cs, c, "%s",
				           "not an amount in fen (digits, at "
				           "most 19)");
			e->has_amount = true;
			break;
		case C_EVIDENCE:
			for (size_t a = 0, b; a < v.len; a = b + 1) {
				for (b = a; b < v.len && v.p[b] != ';'; b++)
					;
				if (e->nevidence == CRD_EVIDENCE_MAX)
					refuse_col(cs, c, "%s",
					           "more than 8 leaves");
				if (!digits(CM_BYTES(v.p + a, b - a), &n))
					refuse_col(cs, c, "%s",
					           "not leaf indexes separated "
					           "by ';'");
				cs->evleaf[e->nevidence++] = n;
			}
			break;
		case C_AMENDS:
			if (v.len == 0)
				break;
			if (!digits(v, &e->amended.index))
				refuse_col(cs, c, "%s", "not a leaf index");
			e->amends = true;
			break;
		default: /* C_DETAIL */
			if (v.len == 0)
				break;
			e->detail[e->ndetail].name = CM_BYTES(
			    cs->name[i] + strlen(DETAIL_PREFIX),
			    strlen(cs->name[i]) - strlen(DETAIL_PREFIX));
			e->detail[e->ndetail++].value = v;
			break;
		}
	}
}

/* The column a crd_event_check refusal is about, from the field its
 * message names first; -1 for a rule of the whole row. */
static int
reason_col(const credit_src *cs, const char *msg)
{
	static const struct {
		const char *word;
		int         col;
	} w[] = {{"severity", C_SEVERITY}, {"subject", C_SUBJECT},
	         {"item '", C_ITEM},       {"amount", C_AMOUNT},
	         {"doc ", C_DOC},          {"occurred", C_OCCURRED},
	         {"decided", C_DECIDED},   {"ended", C_ENDED},
	         {"until", C_UNTIL}};
	const char *best = NULL;
	int         col = -1;

	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		const char *at = strstr(msg, w[k].word);

		if (at != NULL && (best == NULL || at < best)) {
			best = at;
			col = w[k].col;
		}
	}
	/* A detail field named in the message. */
	for (size_t i = 0; i < cs->ncol; i++)
		if (cs->kind[i] == C_DETAIL) {
			const char *f = cs->name[i] + strlen(DETAIL_PREFIX);
			const char *at = strstr(msg, f);

			if (at != NULL && (best == NULL || at < best) &&
			    (at > msg && (at[-1] == ' ' || at[-1] == '\'' ||
			                  at[-1] == '.'))) {
				best = at;
				col = C_DETAIL + (int) i;
			}
		}
	/* A value of bad length: the first detail column holding one. */
	if (best == NULL && strstr(msg, "details values") != NULL)
		for (size_t i = 0; i < cs->ncol; i++)
			if (cs->kind[i] == C_DETAIL &&
			    cs->row.field[i].len > CRD_TEXT_MAX)
				return ((int) i);
	if (col >= C_DETAIL)
		return (col - C_DETAIL);
	for (size_t i = 0; i < cs->ncol && col >= 0; i++)
		if (cs->kind[i] == col)
			return ((int) i);
	return (-1);
}

static int
col_of(const credit_src *cs, int kind)
{
	for (size_t i = 0; i < cs->ncol; i++)
		if (cs->kind[i] == kind)
			return ((int) i);
	return (-1);
}

/* The evidence and amended leaves' hashes, from the log in t. */
static void
refs_fill(credit_src *cs, ldg_txn *t)
{
	crd_event *e = &cs->ev;
	cm_bytes   leaf;
	char       w[96];

	for (size_t i = 0; i <= e->nevidence; i++) {
		bool     am = i == e->nevidence;
		uint64_t at = am ? e->amended.index : cs->evleaf[i];
		uint8_t *h = am ? e->amended.hash : e->evidence[i].hash;

		if (am && !e->amends)
			break;
		if (at >= cs->size || ldg_leaf_get(t, at, &leaf) != CM_OK) {
			snprintf(w, sizeof(w),
			         "leaf %llu is not in the log (tree size %llu)",
			         (unsigned long long) at,
			         (unsigned long long) cs->size);
			refuse_col(cs, col_of(cs, am ? C_AMENDS : C_EVIDENCE),
			           "%s", w);
		}
		ldg_leaf_hash(leaf, h);
		if (!am)
			e->evidence[i].index = at;
	}
}

/* The current row's record into cs->rec, checked as the ledger will. */
static void
row_record(credit_src *cs, ldg_txn *t)
{
	cm_diag d;

	refs_fill(cs, t);
	cm_diag_clear(&d);
	cm_buf_reset(&cs->rec);
	if (crd_event_build(&cs->ev, cs->cat, &cs->who, cs->today, &cs->rec,
	                    &d) != CM_OK)
		refuse_col(cs, reason_col(cs, d.msg), "%s", d.msg);
}

static void
src_begin(void *arg, int pass)
{
	credit_src *cs = arg;

	cs->pass = pass;
	cs->header = false;
	crd_csv_free(cs->csv);
	cs->csv = NULL;
	if (crd_csv_new(imp_file_read, cs->f, CSV_FIELD_MAX, CSV_ROW_MAX,
	                &cs->csv) != CM_OK)
		die(EX_USAGE, "out of memory");
}

static bool
src_next(void *arg)
{
	credit_src *cs = arg;
	cm_diag     d;
	bool        got;

	cm_diag_clear(&d);
	for (;;) {
		if (crd_csv_next(cs->csv, &cs->row, &got, &d) != CM_OK)
			refuse(cs, d.msg);
		if (!got) {
			if (!cs->header)
				refuse(cs, "the file is empty: it needs a "
				           "header row");
			return (false);
		}
		if (!cs->header) {
			header_read(cs);
			cs->header = true;
			continue;
		}
		row_event(cs);
		return (true);
	}
}

static void
src_check(void *arg, ldg_txn *t)
{
	credit_src *cs = arg;
	char        what[48];

	row_record(cs, t);
	snprintf(what, sizeof(what), "row %llu",
	         (unsigned long long) cs->row.row);
	imp_record_fits(cs->f, &cs->p, cs->rec.len, what);
}

typedef struct dup_ctx {
	ldg_txn         *t;
	const crd_event *e;
	const char      *issuer;
	cm_bytes         rec;
	uint64_t         leaf;
} dup_ctx;

/* Whether the statement f holds may be the row's (its item and days),
 * before the bytes are compared. */
static bool
may_be(const dup_ctx *dc, const crd_fact *f)
{
	return (f->decided == dc->e->decided &&
	        f->occurred == dc->e->occurred &&
	        cm_bytes_eq_str(dc->e->item, f->item));
}

/* Whether the record at leaf is byte for byte the row's. */
static bool
same_record(ldg_txn *t, uint64_t leaf, cm_bytes rec)
{
	cm_bytes  lb;
	ldg_rleaf rl;

	return (ldg_leaf_get(t, leaf, &lb) == CM_OK &&
	        ldg_rleaf_decode(lb, &rl, NULL) == CM_OK &&
	        cm_bytes_eq(rl.rec, rec));
}

static cm_err
dup_one(void *arg, const crd_fact *f)
{
	dup_ctx *dc = arg;

	/* f states its latest statement: the original's fields are read
	 * from its bytes when it was amended. */
	if (strcmp(f->issuer, dc->issuer) != 0)
		return (CM_OK);
	if ((f->namend > 0 || may_be(dc, f)) &&
	    same_record(dc->t, f->leaf, dc->rec))
		dc->leaf = f->leaf;
	else if (f->current != f->leaf && may_be(dc, f) &&
	         same_record(dc->t, f->current, dc->rec))
		dc->leaf = f->current;
	return (dc->leaf != 0 ? CM_EEXIST : CM_OK);
}

static void
src_record(void *arg, ldg_txn *t, cm_buf *rec, cm_bytes *key, bool *dup,
           uint64_t *dup_leaf)
{
	credit_src *cs = arg;
	dup_ctx     dc = {t, &cs->ev, cs->who.uscc, {0}, 0};
	cm_err      rv;

	row_record(cs, t);
	/* A row sent before (an interrupted import): its record is one of
	 * the subject's, byte for byte. */
	dc.rec = cm_buf_bytes(&cs->rec);
	rv = crd_facts(t, cs->ev.subject, ldg_size(t), dup_one, &dc);
	if (rv != CM_OK && rv != CM_EEXIST)
		die(EX_USAGE, "cannot read the credit index: %s",
		    cm_strerror(rv));
	*dup = dc.leaf != 0;
	*dup_leaf = dc.leaf;
	if (*dup)
		return;
	cm_sha256(cs->rec.p, cs->rec.len, cs->key);
	*key = CM_BYTES(cs->key, CM_HASH_LEN);
	if (cm_buf_append(rec, cs->rec.p, cs->rec.len) != CM_OK)
		die(EX_USAGE, "out of memory");
}

/* The manifest, unless the log holds this file's already (a complete
 * import run again): it would follow the rows' last leaf. */
static void
src_finish(void *arg, ldg_store *s, const imp_result *r, cm_buf *rec)
{
	credit_src *cs = arg;
	crd_import  m;
	ldg_txn    *t;

	(void) cs;
	memset(&m, 0, sizeof(m));
	memcpy(m.sha, r->hash, CM_HASH_LEN);
	m.rows = r->units;
	m.first = r->lo;
	m.last = r->hi;
	if (r->added == 0) {
		t = rtxn(s);
		for (uint64_t i = r->hi + 1; i < ldg_size(t); i++) {
			cm_bytes   lb;
			ldg_rleaf  rl;
			crd_import old;

			if (ldg_leaf_get(t, i, &lb) == CM_OK &&
			    ldg_rleaf_decode(lb, &rl, NULL) == CM_OK &&
			    crd_import_decode(rl.rec, &old, NULL) == CM_OK &&
			    memcmp(&old, &m, sizeof(m)) == 0) {
				ldg_txn_end(t);
				return;
			}
		}
		ldg_txn_end(t);
	}
	if (crd_import_encode(&m, rec) != CM_OK)
		die(EX_USAGE, "out of memory");
}

static const imp_ops credit_import_ops = {"row",     src_begin,  src_next,
                                          src_check, src_record, src_finish};

int
credit_import(const opts *o)
{
	credit_src     cs;
	imp_file       f;
	imp_result     r;
	ldg_store     *s;
	ldg_txn       *t;
	crd_catalogue *cat = NULL;
	cm_key        *k;
	cm_err         rv;

	if (o->npos != 1)
		die(EX_USAGE, "import needs one FILE.csv (see --help)");
	k = key_load(need(o, "key"));
	imp_file_open(&f, o->pos[0]);
	s = store_open_key(need(o, "data"), false, true, NULL);
	memset(&cs, 0, sizeof(cs));
	cs.f = &f;
	ldg_get_params(s, &cs.p);
	imp_signer(s, k, need(o, "key"), &cs.who);
	t = rtxn(s);
	/* Rows are checked against the catalogue adopted now; the log's day
	 * is the writer's clock's (the log time of the commits). */
	cs.size = ldg_size(t);
	if ((rv = crd_catalogue_at(t, cs.size, &cat, NULL)) == CM_ENOTFOUND)
		die(EX_NO, "no catalogue is adopted in this ledger: credit "
		           "events need one; nothing was written");
	if (rv != CM_OK)
		die(exit_for(rv), "cannot read the catalogue: %s",
		    cm_strerror(rv));
	ldg_txn_end(t);
	cs.cat = cat;
	cs.today = crd_day_of_ms(now_ms());
	import_run(s, k, &f, &credit_import_ops, &cs,
	           opt_u64(o, "batch", IMPORT_BATCH), &r);
	import_print(&f, &r, opt(o, "json") != NULL);
	crd_csv_free(cs.csv);
	crd_catalogue_free(cat);
	cm_buf_fini(&cs.rec);
	imp_file_close(&f);
	ldg_close(s);
	cm_key_free(k);
	return (EX_OK);
}
