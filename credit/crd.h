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
#define CRD_KIND_CALENDAR "credit.calendar"
extern const ldg_module crd_module;

/* Builds the record adopting text (parsed, then its canonical form) into
 * out.  CM_EPROTO with the parser's "line L col C: ..." in the diag. */
cm_err crd_record_build(bool scorecard, cm_bytes text, cm_buf *out, cm_diag *d);

typedef enum crd_which {
	CRD_CATALOGUE,
	CRD_SCORECARD_FULL,
	CRD_SCORECARD_PUBLIC,
	CRD_CALENDAR /* the working-day calendar (credit.calendar) */
} crd_which;
const char *crd_which_name(crd_which w); /* "catalogue", ... */
/* crd_record_build for any adopted file (both scorecard scopes give a
 * credit.scorecard record). */
cm_err crd_adopt_build(crd_which which, cm_bytes text, cm_buf *out, cm_diag *d);

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
/* ---- the working-day calendar (credit/crd_calendar.c) ------------------
 * Which days of the Asia/Shanghai calendar are working days: Monday to
 * Friday, except the holidays the file lists, plus the Saturdays and
 * Sundays it lists as make-up working days (docs/credit.md section 7). */
#define CRD_CAL_DAYS_MAX 256  /* holiday and workday lines */
#define CRD_CAL_SPAN_MAX 3660 /* days one calendar covers */
typedef struct crd_calday {
	crd_day day;
	bool    working; /* true: a make-up working day (a weekend day) */
	char    name[CRD_TEXT_MAX + 1];
} crd_calday;
typedef struct crd_calendar {
	uint32_t   version;
	crd_day    effective;
	crd_day    from, to; /* the days it covers, both included */
	char       source[CRD_TEXT_MAX + 1];
	size_t     nday;
	crd_calday day[CRD_CAL_DAYS_MAX]; /* in date order */
} crd_calendar;
CM_MUST_CHECK cm_err crd_calendar_decode(cm_bytes text, crd_calendar **out,
                                         cm_diag *d);
void                 crd_calendar_free(crd_calendar *c); /* NULL: no-op */
cm_err               crd_calendar_encode(const crd_calendar *c, cm_buf *out);
/* Whether d is a working day by c (NULL: no calendar).  Outside the days
 * c covers it is Monday to Friday, and *outside (may be NULL) is set. */
bool crd_workday(const crd_calendar *c, crd_day d, bool *outside);
/* The day a deadline falls on, counted from start (start not counted):
 * start + n for calendar days, the nth working day after start for
 * working days; CRD_DAY_OPEN for a step the regime lacks.  *outside
 * (may be NULL) is set when a day it counted lay outside c. */
crd_day crd_deadline_day(const crd_calendar *c, crd_day start, crd_deadline dl,
                         bool *outside);

/* ---- access: consent (credit/crd_access.c) ------------------------------
 * An enterprise grants one bank access to its full report for one purpose
 * until a day (included), and may revoke it (docs/credit.md section 8).
 * A consent never covers the personal data of a guarantor or legal
 * representative: those appear only as person tokens (section 9), and no
 * report carries more. */
#define CRD_KIND_CONSENT "credit.consent"

/* The purposes of a read.  A bank names one of the first three, which its
 * consent must name too (the PBoC's enterprise query reasons 贷款审批,
 * 贷后管理, 担保资格审查); the others are the bases of the subject's own
 * read, a regulator's supervision and an auditor's review. */
typedef enum crd_purpose {
	CRD_P_LOAN_APPROVAL,
	CRD_P_POST_LOAN,
	CRD_P_GUARANTEE_REVIEW,
	CRD_P_SELF,
	CRD_P_SUPERVISION,
	CRD_P_AUDIT,
	CRD_NPURPOSE
} crd_purpose;
#define CRD_NPURPOSE_BANK 3 /* the purposes a consent may name */
/* "loan-approval", "post-loan", "guarantee-review", "self",
 * "supervision", "audit"; NULL outside the enum. */
const char *crd_purpose_name(crd_purpose p);
/* The purpose named s, or -1. */
int crd_purpose_parse(cm_bytes s);

typedef enum crd_consent_status {
	CRD_CONSENT_VALID,   /* leaf: the grant; until: its last day */
	CRD_CONSENT_NONE,    /* never granted to this bank */
	CRD_CONSENT_EXPIRED, /* leaf: the grant; until: past */
	CRD_CONSENT_REVOKED, /* leaf: the revoke */
	CRD_CONSENT_OTHER    /* granted in force, for other purposes only */
} crd_consent_status;
typedef struct crd_consent {
	crd_consent_status status;
	uint64_t           leaf;
	crd_day            until;
	unsigned           other; /* OTHER: bit p for each purpose p */
} crd_consent;
/* The consent of subject to bank for purpose in the first `before` leaves,
 * on day (its expiry is checked against it).  USCCs are 18 bytes. */
cm_err crd_consent_get(ldg_txn *t, const char *subject, const char *bank,
                       crd_purpose p, uint64_t before, crd_day day,
                       crd_consent *out);
/* Why c is not valid, in words ("no consent of <subject> to this bank",
 * "the consent at leaf 7 expired on 2026-03-01", ...). */
void crd_consent_why(const crd_consent *c, const char *subject, char *out,
                     size_t cap);

/* ---- query records and reports (credit/crd_access.c, crd_report.c) -----
 * Every full read is a one-record batch of kind credit.query signed by
 * the reader: subject, purpose, staff ID, as-of day, the tree size the
 * answer is computed at (before the record), the SHA-256 of the answer,
 * and for a bank the consent it reads under (format.md 5.8). */
#define CRD_KIND_QUERY "credit.query"
#define CRD_STAFF_MAX 64 /* bytes of a staff ID */

/* Who reads, as the report states it. */
typedef struct crd_reader {
	ldg_role    role;
	char        uscc[LDG_USCC_LEN + 1];
	crd_purpose purpose;
	cm_bytes    staff;
	uint64_t    consent; /* a bank's consent leaf (0: none) */
} crd_reader;

/* May id read subject's full report for purpose, by the first `before`
 * leaves, on day?  CM_OK, with *consent the consent leaf for a bank;
 * CM_EDENIED with the reason in d (for a bank: none, expired, revoked or
 * other purpose) otherwise. */
cm_err crd_access_check(ldg_txn *t, const ldg_identity *id, const char *subject,
                        crd_purpose purpose, uint64_t before, crd_day day,
                        uint64_t *consent, cm_diag *d);

/* The full report of subject as of day as_of, computed over the first
 * `size` leaves for reader: canonical CBOR appended to out
 * (docs/credit.md section 9).  The same inputs give the same bytes. */
cm_err crd_report_build(ldg_txn *t, const char *subject, crd_day as_of,
                        uint64_t size, const crd_reader *reader, cm_buf *out,
                        cm_diag *d);
/* The leaves a report over the first size leaves cites (records,
 * queries, disputes, statements, repairs), in leaf order; *out is the
 * caller's (cm_free). */
cm_err crd_report_leaves(ldg_txn *t, const char *subject, uint64_t size,
                         uint64_t **out, size_t *n);
/* The public part: what anyone may see without a query record (public
 * catalogue items within their publicity windows on as_of, not revoked
 * or repaired, each with the day it stops being public). */
cm_err crd_public_build(ldg_txn *t, const char *subject, crd_day as_of,
                        uint64_t size, cm_buf *out, cm_diag *d);
/* Builds the credit.query record for a report whose canonical CBOR has
 * SHA-256 answer. */
cm_err crd_query_build(const char *subject, const crd_reader *reader,
                       crd_day as_of, uint64_t size,
                       const uint8_t answer[CM_HASH_LEN], cm_buf *out,
                       cm_diag *d);

/* The audit replay: for every credit.query record in the log, the reader
 * may read (its consent valid at that position) and the report rebuilt
 * from the record's inputs has the record's answer.  One line per failure
 * appended to report, then a summary; *bad the failures. */
cm_err crd_audit(ldg_txn *t, cm_buf *report, uint64_t *nqueries, uint64_t *bad,
                 cm_diag *d);

/* ---- disputes, statements, repair (credit/crd_dispute.c) ---------------
 * The marks every view (score, report, public part) reads for a record:
 * disputes about it and repairs of it, as of the first `before` leaves
 * and valid day `day` (docs/credit.md sections 10-11). */
#define CRD_KIND_DISPUTE "credit.dispute"
#define CRD_KIND_STATEMENT "credit.statement"
#define CRD_KIND_REPAIR "credit.repair"
#define CRD_STATEMENT_MAX 1000 /* bytes of a statement or commitment */

/* The state of the disputes about a record (the scores read it through
 * crd_access_hooks).  "Removed" is the outcome that removes the mark:
 * the issuer kept the record as it is (征信业管理条例 Art. 25), so it
 * counts as if never disputed; the hooks report it to a score as NONE. */
typedef enum crd_dispute_state {
	CRD_DISPUTE_NONE,    /* never disputed */
	CRD_DISPUTE_OPEN,    /* marked, not decided: the policy says */
	CRD_DISPUTE_REMOVED, /* decided: the mark removed, the record stands */
	CRD_DISPUTE_CORRECTED,  /* decided: corrected by the issuer */
	CRD_DISPUTE_UNRESOLVED, /* decided: both statements kept, flagged */
} crd_dispute_state;
const char *crd_dispute_state_name(crd_dispute_state s);

typedef struct crd_marks {
	crd_dispute_state dispute; /* the latest dispute's (not a repeat) */
	uint64_t          dispute_leaf, resolve_leaf, correction;
	unsigned          ndisputes, nstatements;
	bool              repaired; /* a granted repair in effect on day */
	crd_day           repaired_from;
	uint64_t          repair_leaf; /* the granting decision */
} crd_marks;
cm_err crd_marks_get(ldg_txn *t, uint64_t record, uint64_t before, crd_day day,
                     crd_marks *out);

/* One dispute as listed by tally credit disputes. */
typedef struct crd_dispute_info {
	uint64_t          leaf; /* the opening record */
	char              subject[LDG_USCC_LEN + 1];
	uint64_t          record; /* UINT64_MAX: about a missing record */
	char              grounds[24];
	crd_day           opened;
	crd_day           forward_due, decide_due; /* CRD_DAY_OPEN: none */
	bool              outside;  /* a deadline counted past the calendar */
	bool              calendar; /* a calendar was adopted before it */
	char              regime[CRD_NAME_MAX + 1]; /* "" none */
	crd_dispute_state state;                    /* as of the day asked */
	uint64_t          escalated, resolved;      /* leaves, 0 none */
	crd_day           resolved_on;
} crd_dispute_info;
typedef cm_err (*crd_dispute_fn)(void *arg, const crd_dispute_info *di);
/* Each dispute opened in the first `before` leaves (repeats left out), by
 * subject (USCC order) and leaf, with its state on day. */
cm_err crd_disputes_each(ldg_txn *t, uint64_t before, crd_day day,
                         crd_dispute_fn fn, void *arg, cm_diag *d);

/* ---- person tokens (credit/crd_person.c) --------------------------------
 * A natural person (legal representative, guarantor) appears only as
 * HMAC-SHA-256(key, "tally/person/v1" || 0x00 || the 18-character resident
 * identity number), the key held by the operator outside the ledger; a
 * writer obtains a token through tally credit token, which logs a
 * credit.token record (the writer, the key's ID and the token; never the
 * number).  docs/credit.md section 12. */
#define CRD_KIND_TOKEN "credit.token"
#define CRD_TOKEN_KEY_MIN 32 /* bytes of HMAC key */
/* CM_OK if id is an 18-character resident identity number (GB 11643): 17
 * digits, a birth date that exists, and the ISO 7064 MOD 11-2 check
 * character (0-9 or X, upper case).  CM_EINVAL with the reason. */
CM_MUST_CHECK cm_err crd_person_id_check(cm_bytes id, cm_diag *d);
void crd_person_token(cm_bytes key, cm_bytes id, uint8_t out[CM_HASH_LEN]);
/* The key's ID: HMAC-SHA-256(key, "tally/person-key/v1"). */
void   crd_person_key_id(cm_bytes key, uint8_t out[CM_HASH_LEN]);
cm_err crd_token_build(const uint8_t key_id[CM_HASH_LEN],
                       const uint8_t token[CM_HASH_LEN], const char *role,
                       cm_buf *out, cm_diag *d);

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
/* crd_dispute_state: with the access records, above. */
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

/* The access part's hooks for scores (credit/crd_report.c): the query
 * count (every query record about the subject), the dispute state (the
 * mark removed counts as NONE), the repair's effective day, and the banks
 * whose reports held an event (their query records over a size past its
 * leaf).  Trace's extra facts are not here. */
const crd_hooks *crd_access_hooks(void);

#endif /* CREDIT_CRD_H */
