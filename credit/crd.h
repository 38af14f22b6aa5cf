/* SPDX-License-Identifier: MIT */
/* credit/crd.h -- the credit module: the catalogue (what may be recorded:
 * categories, items, fields, publicity periods and the rules they come
 * from) and the scorecard (how items score), each a small, strict,
 * line-oriented text file with its own format version, version and
 * effective date (docs/credit.md).  Parsed forms are bounded structs (the
 * CRD_*_MAX limits); nothing in them grows with input beyond those limits.
 * Encoding a parsed file gives its canonical text, which parses back to the
 * same struct.  Dates are Asia/Shanghai calendar days.  Reentrant; objects
 * are not shared between threads without the caller's locking. */
#ifndef CREDIT_CRD_H
#define CREDIT_CRD_H

#include "ledger/ldg.h"

/* ---- limits ------------------------------------------------------------ */
#define CRD_FILE_MAX (64 * 1024) /* bytes in one catalogue or scorecard */
#define CRD_LINE_MAX 512         /* bytes in one line, without the LF */
#define CRD_NAME_MAX 40          /* bytes in a name: [a-z][a-z0-9._-]* */
#define CRD_TEXT_MAX 240         /* bytes of free text (a source's title) */
#define CRD_CAT_MAX 16           /* categories */
#define CRD_SOURCE_MAX 48        /* cited documents */
#define CRD_FORBID_MAX 32        /* forbidden field names */
#define CRD_REGIME_MAX 8         /* dispute regimes */
#define CRD_ITEM_MAX 128         /* catalogue items */
#define CRD_FIELD_MAX 16         /* fields of one item */
#define CRD_PERIOD_MAX 12        /* period rules of one item */
#define CRD_POINTS_MAX 384       /* points lines of a scorecard */
#define CRD_DECAY_MAX 8          /* decay steps of one category */
#define CRD_GRADE_MAX 12         /* grade bands */
#define CRD_VERSION_MAX 999999999u
#define CRD_POINTS_LIMIT 100000 /* |points|, |base|, |range|, |caps| */

/* The severities, fixed: the three grades every publicity rule uses
 * (国办发〔2025〕22号; NDRC 信用修复管理办法). */
typedef enum crd_severity {
	CRD_LIGHT,
	CRD_GENERAL,
	CRD_SERIOUS,
	CRD_NSEVERITY
} crd_severity;
/* "light", "general", "serious"; NULL outside the enum. */
const char *crd_severity_name(crd_severity s);

/* ---- dates and periods ------------------------------------------------- */
/* A calendar day: days since 1970-01-01 in Asia/Shanghai. */
typedef int32_t crd_day;
#define CRD_DAY_OPEN INT32_MAX /* an open end ("-" in the text) */
/* Parses exactly "YYYY-MM-DD" (cm_date_parse); CM_EPROTO otherwise. */
CM_MUST_CHECK cm_err crd_day_parse(const char *s, size_t len, crd_day *out);
/* "YYYY-MM-DD" (11 bytes with the NUL) for a day >= 0. */
void crd_day_format(crd_day d, char out[11]);

/* A period: n days, months or years.  A month is a calendar month: adding
 * n months to Y-M-D gives the same day n months later, or the last day of
 * that month if it is shorter (2024-01-31 + 1m = 2024-02-29); a year is 12
 * months.  No clock, no floating point. */
typedef enum crd_unit { CRD_DAYS, CRD_MONTHS, CRD_YEARS } crd_unit;
typedef struct crd_period {
	uint32_t n;
	crd_unit unit;
} crd_period;
#define CRD_PERIOD_DAYS_MAX 36600 /* and 1200 months, 100 years */
/* The day `p` after `from` (from >= 0). */
crd_day crd_period_end(crd_period p, crd_day from);

/* ---- the catalogue ----------------------------------------------------- */
typedef struct crd_category {
	char name[CRD_NAME_MAX + 1];
	bool positive; /* commendations, red list: raise a score */
} crd_category;

typedef struct crd_source {
	char id[CRD_NAME_MAX + 1];
	char title[CRD_TEXT_MAX + 1]; /* the document, as cited */
} crd_source;

/* A dispute regime: the deadlines of one objection procedure.  Unit days
 * are calendar days; CRD_WORKDAYS are working days of the Asia/Shanghai
 * working calendar (which the dispute code will take as data). */
typedef enum crd_clock { CRD_CAL, CRD_WORKDAYS } crd_clock;
typedef struct crd_deadline {
	bool      set; /* false: the regime has no such step ("-") */
	uint32_t  n;
	crd_clock clock;
} crd_deadline;
typedef struct crd_regime {
	char         id[CRD_NAME_MAX + 1];
	crd_deadline mark, forward, decide;
	uint16_t     source;                    /* index into sources */
	char         article[CRD_TEXT_MAX + 1]; /* where in the source */
} crd_regime;

/* The day a rule's periods are counted from: the decision (or the
 * judicial document), its publication, or the end of the behaviour
 * (征信业管理条例 Art. 16). */
typedef enum crd_anchor {
	CRD_FROM_DECISION,
	CRD_FROM_PUBLICATION,
	CRD_FROM_END
} crd_anchor;

/* One publicity rule of an item at one severity. */
typedef struct crd_rule {
	crd_severity severity;
	crd_period   min, max; /* publicity: repair after min, stop at max */
	crd_anchor   anchor;
	crd_day      from, to; /* effective [from, to); to may be open */
	uint16_t     source;
	char         article[CRD_TEXT_MAX + 1];
} crd_rule;

typedef struct crd_item {
	char     id[CRD_NAME_MAX + 1];
	uint16_t category; /* index into categories */
	char     type[CRD_NAME_MAX + 1];
	bool     public_;    /* published on the public platform */
	bool     repairable; /* credit repair may end publicity early */
	uint16_t regime;     /* index into regimes */
	size_t   nfield;
	char     field[CRD_FIELD_MAX][CRD_NAME_MAX + 1];
	size_t   nrule;
	crd_rule rule[CRD_PERIOD_MAX];
} crd_item;

typedef struct crd_catalogue {
	uint32_t     version;
	crd_day      effective;
	size_t       ncat, nsource, nforbid, nregime, nitem;
	crd_category cat[CRD_CAT_MAX];
	crd_source   source[CRD_SOURCE_MAX];
	char         forbid[CRD_FORBID_MAX][CRD_NAME_MAX + 1];
	crd_regime   regime[CRD_REGIME_MAX];
	crd_item     item[CRD_ITEM_MAX];
} crd_catalogue;

/* Parses a catalogue.  *out is owned by the caller; release it with
 * crd_catalogue_free().  CM_EPROTO with "line L col C: reason" in the diag
 * on any refusal, CM_ETOOBIG past CRD_FILE_MAX, CM_ENOMEM. */
CM_MUST_CHECK cm_err crd_catalogue_decode(cm_bytes text, crd_catalogue **out,
                                          cm_diag *d);
void                 crd_catalogue_free(crd_catalogue *c); /* NULL: no-op */
/* Appends the canonical text of c (no comments, single spaces, the
 * parsed order) to out. */
cm_err crd_catalogue_encode(const crd_catalogue *c, cm_buf *out);
/* The item named id, or NULL. */
const crd_item *crd_catalogue_item(const crd_catalogue *c, cm_bytes id);
/* The category named name, or -1. */
int crd_catalogue_category(const crd_catalogue *c, cm_bytes name);
/* The rule of item at severity effective on day (decision date), or NULL
 * if the item does not allow that severity on that day. */
const crd_rule *crd_item_rule(const crd_item *it, crd_severity s, crd_day day);

/* ---- the scorecard ----------------------------------------------------- */
typedef enum crd_dispute { CRD_DISPUTE_EXCLUDE, CRD_DISPUTE_COUNT } crd_dispute;

typedef struct crd_points {
	char         item[CRD_NAME_MAX + 1];
	crd_severity severity;
	int32_t      points;
} crd_points;

typedef struct crd_step {
	crd_period age;     /* from this age of the decision on ... */
	uint32_t   percent; /* ... the points count this much */
} crd_step;

typedef struct crd_cat_rule {
	char     category[CRD_NAME_MAX + 1];
	bool     has_cap;
	int32_t  cap_min, cap_max; /* the category's total is clamped */
	size_t   nstep;
	crd_step step[CRD_DECAY_MAX];
} crd_cat_rule;

typedef struct crd_grade {
	char    label[CRD_NAME_MAX + 1];
	int32_t min; /* scores >= min (and below the band above) */
} crd_grade;

typedef struct crd_scorecard {
	uint32_t     version;
	crd_day      effective;
	bool         public_; /* scores public items only */
	int32_t      base, lo, hi;
	crd_dispute  dispute;
	size_t       npoints, ncat, ngrade;
	crd_points   points[CRD_POINTS_MAX];
	crd_cat_rule cat[CRD_CAT_MAX];
	crd_grade    grade[CRD_GRADE_MAX];
} crd_scorecard;

/* As crd_catalogue_decode, for a scorecard.  It checks the file alone;
 * crd_scorecard_check checks it against a catalogue. */
CM_MUST_CHECK cm_err crd_scorecard_decode(cm_bytes text, crd_scorecard **out,
                                          cm_diag *d);
void                 crd_scorecard_free(crd_scorecard *s); /* NULL: no-op */
cm_err               crd_scorecard_encode(const crd_scorecard *s, cm_buf *out);
/* CM_OK if every item s scores exists in c and allows that severity (in
 * some rule), every points sign matches its category (negative categories
 * score <= 0, positive >= 0), a public scorecard scores public items only,
 * and every category s names exists in c.  CM_EREF naming the first
 * mismatch otherwise. */
CM_MUST_CHECK cm_err crd_scorecard_check(const crd_scorecard *s,
                                         const crd_catalogue *c, cm_diag *d);
/* The grade of score (s's bands cover [lo, hi]). */
const char *crd_scorecard_grade(const crd_scorecard *s, int32_t score);

/* ---- adoption: record kinds and their index (credit/crd_adopt.c) -------
 * The operator adopts a catalogue or scorecard with a record
 * {"t": "tally/record/v1", "kind": K, "text": canonical text, "sha256":
 * its SHA-256, "version": N, "effective": "YYYY-MM-DD"} (docs/format.md).
 * Validation: the text parses and is canonical, the other fields are its;
 * the version is newer than the last adopted of that kind (scorecards:
 * of that scope); a scorecard holds against the catalogue adopted before
 * it (crd_scorecard_check).  Pass crd_module in ldg_opts.modules. */
#define CRD_KIND_CATALOGUE "credit.catalogue"
#define CRD_KIND_SCORECARD "credit.scorecard"
extern const ldg_module crd_module;

/* Builds the record adopting text (parsed, then its canonical form) into
 * out.  CM_EPROTO with the parser's "line L col C: ..." in the diag. */
cm_err crd_record_build(bool scorecard, cm_bytes text, cm_buf *out, cm_diag *d);

typedef enum crd_which {
	CRD_CATALOGUE,
	CRD_SCORECARD_FULL,
	CRD_SCORECARD_PUBLIC
} crd_which;
const char *crd_which_name(crd_which w); /* "catalogue", ... */

typedef struct crd_adopted {
	uint64_t leaf; /* the adopting record's leaf */
	uint32_t version;
	crd_day  effective;
	uint8_t  sha[CM_HASH_LEN];
	cm_bytes text; /* borrowed: valid until the txn ends */
} crd_adopted;
/* The last one adopted at a leaf before `before` (O(log n): one seek).
 * CM_ENOTFOUND if none. */
cm_err crd_adopted_get(ldg_txn *t, crd_which which, uint64_t before,
                       crd_adopted *out);

/* ---- credit events (credit/crd_event.c) --------------------------------
 * Three record kinds (docs/format.md 5.6, docs/credit.md section 4):
 *   credit.event    one fact about an enterprise (subject USCC), naming a
 *                   catalogue item and severity, with its dates; with
 *                   "amends" it corrects an earlier event of its issuer;
 *   credit.revoke   the issuer withdraws an event: it never counted;
 *   credit.confirm  an authority confirms a positive fact the enterprise
 *                   wrote about itself (unconfirmed, it scores 0).
 * Who writes what: an authority (regulator or bank) writes category C only
 * with the scope "credit.C"; a bank's event about a loan names itself as
 * the lender; an enterprise writes only positive facts about itself.  The
 * issuer of an event is the signer's organisation. */
#define CRD_KIND_EVENT "credit.event"
#define CRD_KIND_REVOKE "credit.revoke"
#define CRD_KIND_CONFIRM "credit.confirm"
#define CRD_SCOPE_PREFIX "credit." /* scope "credit.<category>" */
#define CRD_DOC_MAX 64             /* bytes of a document number */
#define CRD_DETAIL_MAX 12          /* entries of "details" */
#define CRD_EVIDENCE_MAX 8         /* evidence references */
#define CRD_DAY_NONE (-1)          /* an absent date */

typedef struct crd_detail {
	cm_bytes name;  /* one of the item's catalogue fields */
	cm_bytes value; /* text, 1..CRD_TEXT_MAX bytes */
} crd_detail;

typedef struct crd_ref {
	uint64_t index; /* an earlier leaf */
	uint8_t  hash[CM_HASH_LEN];
} crd_ref;

/* One credit event, as a writer gives it (all views borrowed). */
typedef struct crd_event {
	cm_bytes     subject;    /* the enterprise's USCC */
	cm_bytes     item;       /* a catalogue item's name */
	crd_severity severity;   /* one the item allows on the decision day */
	cm_bytes     doc;        /* decision (document) number, 1..64 bytes */
	crd_day      occurred;   /* the day it happened */
	crd_day      decided;    /* decision day, >= occurred */
	crd_day      ended;      /* ended/settled/cured, or CRD_DAY_NONE */
	crd_day      until;      /* a restriction's last day, or CRD_DAY_NONE */
	bool         has_amount; /* only if the item has a *_fen field */
	uint64_t     amount_fen; /* in fen (0.01 yuan) */
	size_t       ndetail;
	crd_detail   detail[CRD_DETAIL_MAX];
	size_t       nevidence; /* earlier leaves: an inspection in trace */
	crd_ref      evidence[CRD_EVIDENCE_MAX];
	bool         amends; /* true: corrects the event at `amended` */
	crd_ref      amended;
} crd_event;

/* Checks e as the ledger's credit.event kind will (except what needs the
 * log: the references and an amended event's issuer): the subject's GB
 * 32100 check (ldg_uscc_check), the item in catalogue c, the severity it
 * allows on the decision day, details only among the item's fields and
 * none the catalogue forbids, an amount only for an item with a *_fen
 * field, dates in order and none after today (the log's day: what
 * crd_day_of_ms gives for the log time), and, when writer is not NULL,
 * that the writer may write this category about this subject.  CM_OK, or
 * CM_EINVAL / CM_EDENIED with the reason ("credit.event: ...") in d. */
CM_MUST_CHECK cm_err crd_event_check(const crd_event *e, const crd_catalogue *c,
                                     const ldg_identity *writer, crd_day today,
                                     cm_diag *d);
/* Appends the canonical credit.event record of e to out (no check). */
cm_err crd_event_encode(const crd_event *e, cm_buf *out, cm_diag *d);
/* crd_event_check, then crd_event_encode: one row of an import. */
cm_err crd_event_build(const crd_event *e, const crd_catalogue *c,
                       const ldg_identity *writer, crd_day today, cm_buf *out,
                       cm_diag *d);
/* The credit.revoke and credit.confirm records of the event at target. */
cm_err crd_revoke_encode(const crd_ref *target, cm_bytes doc, crd_day decided,
                         cm_bytes reason, cm_buf *out, cm_diag *d);
cm_err crd_confirm_encode(const crd_ref *target, cm_buf *out, cm_diag *d);
/* The Asia/Shanghai day of a time in ms since the epoch (UTC). */
crd_day crd_day_of_ms(uint64_t ms);

/* The catalogue adopted at a leaf before `before`, parsed: owned by the
 * caller, release with crd_catalogue_free().  CM_ENOTFOUND if none. */
cm_err crd_catalogue_at(ldg_txn *t, uint64_t before, crd_catalogue **out,
                        uint64_t *out_leaf);
/* CM_OK if writer may write an event of category cat about subject (the
 * rules above); CM_EDENIED naming the rule otherwise ("what: ..."). */
CM_MUST_CHECK cm_err crd_writer_check(const ldg_identity *writer,
                                      const crd_category *cat, cm_bytes subject,
                                      const char *what, cm_diag *d);

/* ---- reading events (the credit.events index) ----------------------- */
typedef enum crd_op {
	CRD_OP_EVENT,
	CRD_OP_AMEND,
	CRD_OP_REVOKE,
	CRD_OP_CONFIRM
} crd_op;

/* One event about a subject as the log knows it at a size: its latest
 * statement (the last amendment's, if any) and its state. */
typedef struct crd_fact {
	crd_op       op;      /* CRD_OP_EVENT once read by crd_facts */
	uint64_t     leaf;    /* the original event's leaf */
	uint64_t     current; /* the leaf of its latest statement */
	uint64_t     namend;  /* amendments before the size */
	uint64_t     revoked; /* the revocation's leaf, 0: none */
	crd_day      revoked_day;
	uint64_t     confirmed; /* the confirmation's leaf, 0: none */
	bool         self;      /* written by the subject itself */
	bool         positive;  /* of a positive category */
	char         subject[LDG_USCC_LEN + 1];
	char         issuer[LDG_USCC_LEN + 1]; /* the signer's organisation */
	char         category[CRD_NAME_MAX + 1];
	char         item[CRD_NAME_MAX + 1];
	crd_severity severity;
	crd_day      occurred, decided, ended, until; /* CRD_DAY_NONE: absent */
} crd_fact;
typedef cm_err (*crd_fact_fn)(void *arg, const crd_fact *f);
/* Calls fn for each event about subject in the first size leaves, in the
 * order of the original events' leaves, revoked ones included (f->revoked
 * says so).  A return other than CM_OK stops the walk and is returned. */
cm_err crd_facts(ldg_txn *t, cm_bytes subject, uint64_t size, crd_fact_fn fn,
                 void *arg);
/* The index entry of the record at leaf (an event, amendment, revocation
 * or confirmation: f->op says which; f->leaf is the original event's
 * leaf), without the state crd_facts adds.  CM_ENOTFOUND if leaf is no
 * credit event record. */
cm_err crd_event_get(ldg_txn *t, uint64_t leaf, crd_fact *f);
typedef cm_err (*crd_leaf_fn)(void *arg, uint64_t leaf);
/* Calls fn for each event or amendment in the first size leaves whose
 * refs cite leaf (its evidence), in leaf order. */
cm_err crd_citing(ldg_txn *t, uint64_t leaf, uint64_t size, crd_leaf_fn fn,
                  void *arg);
typedef cm_err (*crd_subject_fn)(void *arg, const char *uscc);
/* Calls fn for each subject with a credit record in the first size
 * leaves, in USCC order. */
cm_err crd_subjects(ldg_txn *t, uint64_t size, crd_subject_fn fn, void *arg);
typedef cm_err (*crd_catev_fn)(void *arg, uint64_t leaf, crd_day decided,
                               const char *uscc);
/* Calls fn for each event or amendment of category (as the catalogue of
 * its day placed its item) decided on or after since, in the first size
 * leaves, by decision day. */
cm_err crd_category_events(ldg_txn *t, cm_bytes category, crd_day since,
                           uint64_t size, crd_catev_fn fn, void *arg);

/* ---- scoring (credit/crd_score.c) --------------------------------------
 * A score is a function of (subject, tree size, as-of day) and nothing
 * else: the events the first `size` leaves hold, read with the catalogue
 * and scorecard adopted in those leaves, each counted while the as-of day
 * lies in its window (docs/credit.md section 5).  Integer arithmetic only;
 * the same inputs give the same bytes. */

/* What another part of the credit module (access: queries, disputes,
 * repair) or another module (trace: inspections) adds to a score.  Every
 * hook may be NULL (none of that yet); each sees the tree size and must
 * answer from the first `size` leaves only. */
typedef enum crd_dispute_state {
	CRD_DISPUTE_NONE,
	CRD_DISPUTE_OPEN,      /* marked, not decided: the policy says */
	CRD_DISPUTE_REMOVED,   /* decided: the record was wrong */
	CRD_DISPUTE_CORRECTED, /* decided: corrected (an amendment) */
	CRD_DISPUTE_UNRESOLVED /* decided: both statements kept */
} crd_dispute_state;
typedef cm_err (*crd_bank_fn)(void *arg, const char *bank_uscc,
                              uint64_t query_leaf);
typedef struct crd_hooks {
	void *arg;
	/* Full reads of uscc's record (query records) in the first size
	 * leaves. */
	cm_err (*query_count)(void *arg, ldg_txn *t, const char *uscc,
	                      uint64_t size, uint64_t *out);
	/* The state of disputes about the event at leaf. */
	cm_err (*dispute)(void *arg, ldg_txn *t, uint64_t leaf, uint64_t size,
	                  crd_dispute_state *out);
	/* The effective day of a granted repair of the event at leaf, or
	 * CRD_DAY_NONE. */
	cm_err (*repair)(void *arg, ldg_txn *t, uint64_t leaf, uint64_t size,
	                 crd_day *out);
	/* The banks whose reports (query records) contained the event at
	 * leaf: those a revocation sends a correction notice to. */
	cm_err (*recipients)(void *arg, ldg_txn *t, uint64_t leaf,
	                     uint64_t size, crd_bank_fn fn, void *fnarg);
	/* Facts from outside the credit records (a non-conformant inspection
	 * in trace against the producer uscc), each as a crd_fact whose
	 * leaf is the evidence's leaf and item a catalogue item. */
	cm_err (*extra_facts)(void *arg, ldg_txn *t, const char *uscc,
	                      uint64_t size, crd_fact_fn fn, void *fnarg);
} crd_hooks;

/* Item flags in a score. */
#define CRD_F_DISPUTED 0x01    /* an open or unresolved dispute */
#define CRD_F_EXCLUDED 0x02    /* open dispute, policy exclude: 0 points */
#define CRD_F_UNCONFIRMED 0x04 /* the enterprise's own, not confirmed */
#define CRD_F_REPAIRED 0x08    /* repaired: the window ends early */
#define CRD_F_AMENDED 0x10     /* the latest of several statements */
#define CRD_F_EXTRA 0x20       /* from a hook (a trace inspection) */
#define CRD_F_PRIVATE 0x40     /* not a public catalogue item */

/* One event as a score sees it. */
typedef struct crd_scored {
	crd_fact f;
	bool     known;     /* its item has a rule in the catalogue */
	crd_day  start;     /* counts from this day ... */
	crd_day  end;       /* ... to the day before this (CRD_DAY_OPEN) */
	crd_day  min_end;   /* repair possible from this day */
	crd_day  query_end; /* queryable until the day before (5 years from
	                      the end; CRD_DAY_OPEN without an end) */
	crd_day repair;     /* CRD_DAY_NONE, or the repair's effective day */
	crd_dispute_state dispute;
	unsigned          flags;
	/* at the as-of day: */
	bool     counts;
	uint32_t percent;
	int32_t  points; /* after decay, before caps */
	/* derived once by the scorer (private): */
	bool     has_points_;
	int32_t  base_points_;
	int      cat_; /* index into crd_score.cat, -1: none */
	size_t   nstep_;
	crd_day  step_day_[CRD_DECAY_MAX]; /* the day each decay step starts */
	uint32_t step_pct_[CRD_DECAY_MAX];
} crd_scored;

typedef struct crd_change {
	crd_day day;
	int32_t score;
	char    grade[CRD_NAME_MAX + 1];
	char    why[160]; /* "leaf 16 leaves its window, leaf 18 50%" */
} crd_change;

#define CRD_REASONS_MAX 4 /* as many reasons as a reader can use (Reg B) */
typedef struct crd_score {
	char     subject[LDG_USCC_LEN + 1];
	bool     public_; /* computed with the public scorecard */
	uint64_t size, asked;
	crd_day  as_of;
	cm_buf   checkpoint; /* the note at size */
	uint64_t cat_leaf, sc_leaf;
	uint32_t cat_version, sc_version;
	bool     scored; /* false: no scorecard adopted (public only) */
	int32_t  base, lo, hi, score;
	char     grade[CRD_NAME_MAX + 1];
	size_t   ncat;
	struct {
		char    name[CRD_NAME_MAX + 1];
		int64_t raw;   /* the sum before the cap */
		int32_t total; /* after it */
		bool    has_cap_;
		int32_t cap_min_, cap_max_;
	} cat[CRD_CAT_MAX];
	size_t      nitem; /* every event of the subject, revoked ones too */
	crd_scored *item;
	size_t      nreason;
	size_t      reason[CRD_REASONS_MAX]; /* indexes into item */
	size_t      ncounting;
	uint64_t    queries;
	size_t      nchange;
	crd_change *change;  /* what changes without any action, by day */
	cm_buf      notices; /* correction notices for revoked events */
	/* private */
	crd_catalogue *cat_;
	crd_scorecard *sc_;
} crd_score;

/* The largest commit boundary (a size with a stored checkpoint) <= size,
 * and the log time at it (its last batch's, genesis's for 1). */
cm_err crd_size_floor(ldg_txn *t, uint64_t size, uint64_t *out_size,
                      uint64_t *out_log_time);

/* Computes uscc's score at size (0: the current size; rounded down to a
 * commit boundary) as of day as_of (CRD_DAY_NONE: the day of the log time
 * at that size), with the full or public scorecard adopted by then.  *out
 * is the caller's; release with crd_score_fini (also after a failure).
 * CM_ENOTFOUND (reason in d) without an adopted catalogue or scorecard;
 * CM_EINVAL for a size past the ledger or an invalid USCC. */
cm_err crd_score_compute(ldg_txn *t, const char *uscc, uint64_t size,
                         crd_day as_of, bool public_, const crd_hooks *h,
                         crd_score *out, cm_diag *d);
void   crd_score_fini(crd_score *s);
/* The score as text or JSON (docs/credit.md), appended to out. */
cm_err crd_score_render(const crd_score *s, bool json, cm_buf *out);
/* What must be published about the subject at the as-of day (public
 * items in their windows, with the day each stops being public), and the
 * public grade when a public scorecard is adopted: text or JSON. */
cm_err crd_public_render(const crd_score *s, bool json, cm_buf *out);

/* ---- the import manifest (credit/crd_import.c) --------------------------
 * A CSV import ends with a credit.import record (docs/format.md 5.7): the
 * file's SHA-256, its event rows and the first and last leaf of their
 * records (0 and 0 when it has none), all before the manifest's batch. */
#define CRD_KIND_IMPORT "credit.import"
typedef struct crd_import {
	uint8_t  sha[CM_HASH_LEN];
	uint64_t rows, first, last;
} crd_import;
cm_err crd_import_encode(const crd_import *m, cm_buf *out);
/* Decodes a record (canonical CBOR) as a credit.import.  CM_EPROTO,
 * CM_ENONCANON with the reason. */
CM_MUST_CHECK cm_err crd_import_decode(cm_bytes rec, crd_import *out,
                                       cm_diag *d);

/* ---- CSV (credit/crd_csv.c) ---------------------------------------------
 * A streaming RFC 4180 reader: fields separated by ',', rows ended by CRLF
 * or LF (the last may have none), a field quoted with '"' may hold commas,
 * line breaks and '"' written twice; a UTF-8 byte order mark at the start
 * is skipped.  One row is held at a time: at most field_max bytes a field,
 * row_max bytes a row (fields as decoded), CRD_CSV_FIELDS_MAX fields.
 * Every field must be UTF-8 without NUL.  Rows are numbered from 1 (the
 * header is row 1, as a spreadsheet shows it); line is the row's first
 * line in the file. */
#define CRD_CSV_FIELDS_MAX 64

typedef struct crd_csv crd_csv;
typedef struct crd_csv_row {
	uint64_t row, line;
	size_t   n;                         /* fields */
	cm_bytes field[CRD_CSV_FIELDS_MAX]; /* borrowed until the next call */
} crd_csv_row;

/* A reader over rd.  Owned by the caller; release with crd_csv_free.
 * CM_ENOMEM. */
cm_err crd_csv_new(cm_read_fn rd, void *arg, size_t field_max, size_t row_max,
                   crd_csv **out);
void   crd_csv_free(crd_csv *c); /* NULL-safe */
/* The next row in *out (*got false at the end of the file).  CM_EPROTO
 * ("row R (line L), column C: why": a quote inside an unquoted field, text
 * after a closing quote, a quoted field without its end, a CR without LF,
 * an empty line, a field that is not UTF-8 or holds a NUL), CM_ETOOBIG
 * past a bound, the read function's error ("row R (line L): read failed:
 * ...").  After an error, every call answers the end. */
CM_MUST_CHECK cm_err crd_csv_next(crd_csv *c, crd_csv_row *out, bool *got,
                                  cm_diag *d);
uint64_t             crd_csv_offset(const crd_csv *c); /* bytes read */

#endif /* CREDIT_CRD_H */
