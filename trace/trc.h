/* SPDX-License-Identifier: MIT */
/* trace/trc.h -- the trace module: identifiers of traced things (GS1 keys as
 * EPC URNs, Digital Link URIs or element strings; China's drug codes and
 * enterprise batches; opaque URIs) and the EPCIS event hash.  The forms and
 * the canonical key are described in docs/trace.md.  Thread safety: all
 * functions are reentrant; objects are not shared without the caller's
 * locking.  The module reaches the ledger only through ledger/ldg.h. */
#ifndef TRACE_TRC_H
#define TRACE_TRC_H

#include "ledger/cm.h"

/* ==== Identifiers (trace/trc_id.c) =======================================
 * trc_id_parse turns one identifier's text into its canonical key: for a GS1
 * key the path of its constrained canonical Digital Link without the host
 * ("/01/10614141073464/21/2017"), prefixed "@<USCC>" for a
 * restricted-circulation GTIN; "urn:tally:cndrug:<20 digits>" and
 * "urn:tally:batch:<USCC>:<product>:<lot>" for the Chinese forms; the text
 * itself for an opaque URI.  Keys are at most TRC_ID_KEY_MAX bytes of
 * printable ASCII, so they serve as LMDB index keys as they are. */
#define TRC_ID_TEXT_MAX 400 /* longest identifier text accepted */
#define TRC_ID_KEY_MAX 160
#define TRC_ID_PART_MAX 31 /* longest GS1 value: 30 characters */

typedef enum trc_id_kind {
	TRC_ID_GS1,    /* a GS1 key (ai, value and qualifiers below) */
	TRC_ID_EPC,    /* an EPC without a GS1 key: urn:epc:id:gid */
	TRC_ID_CNDRUG, /* China's 20-digit drug traceability code */
	TRC_ID_BATCH,  /* an enterprise's own batch (a class) */
	TRC_ID_OPAQUE  /* any other absolute URI, kept as written */
} trc_id_kind;

/* How the identifier was written. */
typedef enum trc_id_src {
	TRC_SRC_URN,     /* urn:epc:id:, urn:epc:class:, urn:epc:idpat: */
	TRC_SRC_DL,      /* a GS1 Digital Link URI on any host */
	TRC_SRC_ELEMENT, /* a GS1 element string (scans) */
	TRC_SRC_TALLY,   /* urn:tally:..., or 20 bare numerals (scans) */
	TRC_SRC_OTHER    /* an opaque URI */
} trc_id_src;

/* The form an answer is written in (trc_id_format). */
typedef enum trc_id_form {
	TRC_FORM_DL,      /* canonical Digital Link on id.gs1.org (default) */
	TRC_FORM_URN,     /* EPC URN; Digital Link if the prefix length is
	                     unknown */
	TRC_FORM_ORIGINAL /* the text as it was given */
} trc_id_form;

typedef struct trc_id {
	trc_id_kind kind;
	trc_id_src  src;
	bool        is_class;   /* names a class: GTIN, LGTIN, batch */
	bool        is_pattern; /* written as urn:epc:idpat: */
	bool        restricted; /* restricted-circulation GTIN, keyed by uscc */
	/* GS1 keys: the primary key's AI ("01", "00", "414", "417", "8003",
	 * ...), its value (the digits with check digit, or the characters),
	 * the serial component (AI 21, 235 or 8011, or the serial part of a
	 * GRAI, GDTI or SGCN), the lot (AI 10), the CPV (AI 22), the GLN
	 * extension (AI 254; "" is none) and the piece/total of an ITIP.
	 * Values are decoded (no percent escapes), NUL-terminated. */
	char ai[5];
	char value[TRC_ID_PART_MAX];
	char serial[TRC_ID_PART_MAX];
	char lot[TRC_ID_PART_MAX];
	char cpv[TRC_ID_PART_MAX];
	char ext[TRC_ID_PART_MAX];
	char piece[5];
	char serial_ai[5]; /* the AI of serial ("21", "235", "8011", "8019";
	                      "" when it sits inside the value) */
	/* GS1 company-prefix length (6-12), 0 if unknown. */
	uint8_t gcp_len;
	char    uscc[19]; /* the USCC of a restricted GTIN's key or batch */
	size_t  key_len;
	char    key[TRC_ID_KEY_MAX + 1];
	size_t  orig_len;
	char    orig[TRC_ID_TEXT_MAX + 1];
} trc_id;

/* What the parser may consult.  All fields are optional (zero them). */
typedef struct trc_id_ctx {
	/* Names the field in refusals ("epcList[2]"); NULL for none. */
	const char *field;
	/* The submitter's USCC, which scopes restricted-circulation GTINs;
	 * empty if none (such GTINs are then refused). */
	cm_bytes uscc;
	/* Also accept GS1 element strings ("(01)...(21)..." or "]d2..." with
	 * GS separators) and 20 bare numerals, as scanned: for verify and
	 * import of scans, not for EPCIS fields. */
	bool scans;
	/* The GS1 company-prefix length of the digits at p (at least 12 of
	 * them: the key's digits from where its prefix starts), from master
	 * data or an earlier URN; 0 if unknown.  NULL for none. */
	unsigned (*gcp_len)(void *arg, const char *p, size_t len);
	void *arg;
	/* Accept restricted-circulation GTINs without a USCC, unscoped (the
	 * event hash: its Digital Link carries no scope). */
	bool unscoped;
} trc_id_ctx;

/* Parses text (at most TRC_ID_TEXT_MAX bytes) into *out.  CM_EPROTO if it
 * is malformed, a check digit is wrong, a Digital Link is out of order, a
 * restricted GTIN has no valid USCC to scope it, or a batch's USCC fails
 * ldg_uscc_check; the diag names the field and the part. */
CM_MUST_CHECK cm_err trc_id_parse(cm_bytes text, const trc_id_ctx *ctx,
                                  trc_id *out, cm_diag *d);
/* Appends id in the form asked for to out (not NUL-terminated).  URN form
 * needs the company-prefix length; without it the answer is in Digital
 * Link form.  Forms without a GS1 key are written as they are in every
 * form.  CM_ENOMEM only. */
cm_err trc_id_format(const trc_id *id, trc_id_form form, cm_buf *out);
/* "dl", "urn" or "original"; CM_EINVAL otherwise. */
CM_MUST_CHECK cm_err trc_id_form_parse(cm_bytes name, trc_id_form *out);
/* The key as a byte view (borrowed from id). */
cm_bytes trc_id_key(const trc_id *id);

/* Where an identifier stands in an event: an instance position (epcList,
 * parentID, childEPCs, inputEPCList, outputEPCList) or a class position
 * (quantity elements' epcClass). */
typedef enum trc_id_pos { TRC_POS_INSTANCE, TRC_POS_CLASS } trc_id_pos;
/* CM_OK if id may stand at pos: EPC patterns and classes only as an
 * epcClass, instances (SGTIN, SSCC, drug codes...) never as one; opaque
 * URIs anywhere.  CM_EPROTO with the reason (after ctx's field) otherwise. */
CM_MUST_CHECK cm_err trc_id_check_pos(const trc_id *id, trc_id_pos pos,
                                      const char *field, cm_diag *d);

/* The GS1 mod-10 check digit ('0'-'9') of the n digits at p (the digits
 * before the check digit).  p must hold only digits. */
char trc_gs1_check_digit(const char *p, size_t n);

/* ==== The event hash (trace/trc_hash.c) ==================================
 * CBV 2.0 section 8.9 as its published vectors compute it (docs/trace.md
 * section 2): a canonical pre-hash string per event, and its ID
 * "ni:///sha-256;<hex>?ver=CBV2.0".  eventID, recordTime, errorDeclaration
 * (and certificationInfo) are left out, so a declaration hashes like its
 * original.  doc is the EPCIS document (for its @context; may be NULL). */

/* The events of an EPCIS document (epcisBody.eventList, or a query
 * document's epcisBody.queryResults.resultsBody.eventList), borrowed from
 * doc; NULL with the reason in the diag if there is none. */
const cm_json *trc_hash_events(const cm_json *doc, cm_diag *d);
/* Appends event's pre-hash string to out.  CM_EPROTO if the event is not an
 * object, has no type or an unknown one, has no eventTime or one that is
 * not a date-time with a zone, or nests extensions too deep; out is then
 * unchanged.  CM_ENOMEM. */
CM_MUST_CHECK cm_err trc_hash_prehash(const cm_json *doc, const cm_json *event,
                                      cm_buf *out, cm_diag *d);
/* Appends the hash ID of a pre-hash string to out.  CM_ENOMEM only. */
cm_err trc_hash_id(cm_bytes prehash, cm_buf *out);
/* The event's ID: its eventID as given if that is an ni: hash (never
 * checked against the event), else its computed hash ID. */
CM_MUST_CHECK cm_err trc_hash_event_id(const cm_json *doc, const cm_json *event,
                                       cm_buf *out, cm_diag *d);

/* ==== Events (trace/trc_event.c) =========================================
 * trc_event_check validates one EPCIS 2.0 event (JSON binding) by the rules
 * of docs/trace.md section 3 and fills a trc_event with what the indexes
 * need.  Views (cm_bytes) borrow from the JSON and live as long as it;
 * identifiers are copied as canonical keys.  Bounds: TRC_EVENT_REFS_MAX
 * identifiers over all of an event's lists; TRC_EVENT_LIST_MAX each of
 * business transactions, sources and destinations together, persistent
 * dispositions, sensor exceptions and corrective event IDs; more is
 * refused (an event that large should be split). */
#define TRC_EVENT_REFS_MAX 100000
#define TRC_EVENT_LIST_MAX 32
#define TRC_HASH_ID_MAX 96 /* "ni:///sha-256;<64 hex>?ver=CBV2.0" is 89 */

typedef enum trc_event_type {
	TRC_EV_OBJECT,
	TRC_EV_AGGREGATION,
	TRC_EV_TRANSACTION,
	TRC_EV_TRANSFORMATION,
	TRC_EV_ASSOCIATION
} trc_event_type;

typedef enum trc_action {
	TRC_ACT_NONE, /* TransformationEvent: it has no action */
	TRC_ACT_ADD,
	TRC_ACT_OBSERVE,
	TRC_ACT_DELETE
} trc_action;

/* Where an identifier stands in the event. */
typedef enum trc_role {
	TRC_ROLE_EPC,    /* epcList, quantityList */
	TRC_ROLE_PARENT, /* parentID */
	TRC_ROLE_CHILD,  /* childEPCs, childQuantityList */
	TRC_ROLE_INPUT,  /* inputEPCList, inputQuantityList */
	TRC_ROLE_OUTPUT  /* outputEPCList, outputQuantityList */
} trc_role;

typedef struct trc_event_ref {
	trc_role role;
	bool     is_class;             /* from a quantity list (an epcClass) */
	bool     has_qty;              /* quantity given */
	double   quantity;             /* quantity elements only */
	char     uom[4];               /* "" if none */
	char     lot[TRC_ID_PART_MAX]; /* the identifier's lot ("" if none) */
	size_t   key_len;
	char     key[TRC_ID_KEY_MAX + 1];
} trc_event_ref;

/* A CBV value or a custom one: word is the bare CBV word however it was
 * written (cbv true), or the URI as given (cbv false).  Empty: absent. */
typedef struct trc_vocab {
	cm_bytes word;
	bool     cbv;
} trc_vocab;

/* readPoint, bizLocation, a source or a destination: its canonical key. */
typedef struct trc_place {
	size_t key_len; /* 0: absent */
	char   key[TRC_ID_KEY_MAX + 1];
} trc_place;

typedef struct trc_party {
	bool      dest; /* destinationList, else sourceList */
	trc_vocab type; /* owning_party, possessing_party, location or URI */
	trc_place who;
} trc_party;

typedef struct trc_biztx {
	trc_vocab type; /* empty if not given */
	cm_bytes  id;
} trc_biztx;

typedef struct trc_sensor_exc {
	trc_vocab type;      /* the report's measurement type */
	trc_vocab exception; /* ALARM_CONDITION, ERROR_CONDITION or a URI */
} trc_sensor_exc;

typedef struct trc_event {
	size_t         index; /* 1-based position in the document */
	trc_event_type type;
	trc_action     action;
	cm_bytes       event_id; /* as given; empty if none */
	/* The computed event hash ID (section 2), also when eventID is an
	 * ni: hash given by the capturer. */
	char      hash_id[TRC_HASH_ID_MAX + 1];
	int64_t   time_ms; /* eventTime, ms since 1970 UTC */
	int       tz_min;  /* eventTimeZoneOffset in minutes */
	trc_vocab biz_step, disposition;
	size_t    npset, npunset;
	trc_vocab pset[TRC_EVENT_LIST_MAX], punset[TRC_EVENT_LIST_MAX];
	trc_place read_point, biz_location;
	size_t    nparties;
	trc_party parties[TRC_EVENT_LIST_MAX];
	size_t    nbiztx;
	trc_biztx biztx[TRC_EVENT_LIST_MAX];
	cm_bytes  transformation_id; /* empty if none */
	/* From ilmd: cbvmda:lotNumber and cbvmda:itemExpirationDate. */
	cm_bytes       lot, expiry;
	size_t         nsensor_reports; /* reports over all sensor elements */
	size_t         nsensor_exc;
	trc_sensor_exc sensor_exc[TRC_EVENT_LIST_MAX];
	bool           has_error; /* errorDeclaration */
	int64_t        error_time_ms;
	trc_vocab      error_reason; /* empty if not given */
	size_t         ncorrective;
	cm_bytes       corrective[TRC_EVENT_LIST_MAX];
	size_t         next;  /* extension members kept (event and objects) */
	size_t         nrefs; /* refs[0..nrefs): owned, freed by fini */
	size_t         refs_cap;
	trc_event_ref *refs;
} trc_event;

typedef struct trc_event_ctx {
	const cm_json *doc;   /* the document, for its @context; may be NULL */
	size_t         index; /* the event's 1-based position, for messages */
	cm_bytes       uscc;  /* the submitter, scoping restricted GTINs */
	bool unscoped; /* restricted GTINs unscoped (no submitter known) */
} trc_event_ctx;

/* Checks event and fills *out (which the caller releases with
 * trc_event_fini, also after a refusal).  CM_EPROTO with a diag naming the
 * event ("event 2 (urn:uuid:...): epcList[1]: ...") and the field;
 * CM_ENOMEM. */
CM_MUST_CHECK cm_err trc_event_check(const cm_json       *event,
                                     const trc_event_ctx *ctx, trc_event *out,
                                     cm_diag *d);
void                 trc_event_fini(trc_event *ev);
/* "ObjectEvent"...; "ADD", "OBSERVE", "DELETE" ("" for none). */
const char *trc_event_type_name(trc_event_type t);
const char *trc_action_name(trc_action a);

/* ==== The ledger record (trace/trc_module.c) =============================
 * Kind "trace.event": {"t", "kind": "trace.event", "event": <the event's
 * JSON text>, "id": <its hash ID>, "refs"?} (docs/format.md section 5.4).
 * trc_ledger_module registers the kind; pass it in ldg_opts.modules. */
typedef struct trc_event_rec_info {
	trc_event_type type;
	int64_t        time_ms;
} trc_event_rec_info;
/* A stored event's checks: text is one valid event (restricted GTINs
 * unscoped) and id its hash ID.  CM_EPROTO with the reason. */
CM_MUST_CHECK cm_err trc_event_record_check(cm_bytes text, cm_bytes id,
                                            trc_event_rec_info *out,
                                            cm_diag            *d);
struct ldg_module;
extern const struct ldg_module trc_ledger_module;

/* Appends the canonical trace.event record of an event's text and hash ID
 * to out.  CM_ENOMEM, or CM_ENONCANON if text is not valid text. */
cm_err trc_event_record(cm_bytes text, const char *hash_id, cm_buf *out);

/* Reading the indexes (docs/format.md section 10.2) in a read txn. */
struct ldg_txn;
struct ldg_identity;
/* What the log already holds of an event about to be captured. */
typedef struct trc_capture {
	bool     duplicate; /* already captured: the duplicate rule */
	uint64_t first;     /* the first capture's leaf (0: none) */
} trc_capture;
/* The duplicate and correction rules (docs/trace.md section 4.1) for ev
 * (checked, scoped by signer) as signer would capture it, in the state of
 * t: a duplicate is an event whose hash ID is captured and that declares
 * no error, or, when text is not empty, a declaration whose text is
 * stored already.  hi is the header leaf of the batch the event is in, for
 * messages (UINT64_MAX: none).  CM_EEXIST when its eventID is another
 * event's, CM_EDENIED when it declares an error in another submitter's
 * event and signer is no regulator (the diag says which). */
cm_err trc_capture_check(struct ldg_txn *t, const trc_event *ev, cm_bytes text,
                         const struct ldg_identity *signer, uint64_t hi,
                         trc_capture *out, cm_diag *d);
typedef struct trc_hist {
	uint64_t leaf;
	int64_t  time_ms;
	uint8_t  roles; /* a bit per trc_role */
} trc_hist;
typedef cm_err (*trc_hist_fn)(void *arg, const trc_hist *h);
/* Calls fn for each event on canonical key, in event-time order (ties in
 * leaf order); stops at fn's first error and returns it. */
cm_err trc_history(struct ldg_txn *t, cm_bytes key, trc_hist_fn fn, void *arg);
typedef cm_err (*trc_decl_fn)(void *arg, uint64_t decl_leaf);
/* Calls fn for each error declaration of the event at leaf, in log order. */
cm_err trc_declarations(struct ldg_txn *t, uint64_t leaf, trc_decl_fn fn,
                        void *arg);
/* The event text and hash ID of the trace.event record at leaf (views into
 * the txn's data).  CM_ECORRUPT if it is not one. */
cm_err trc_event_at(struct ldg_txn *t, uint64_t leaf, cm_bytes *text,
                    cm_bytes *id, cm_diag *d);

/* ==== Master data and standing (trace/trc_master.c) =====================
 * Who owns which GS1 company prefix and GLN, who may commission under a
 * prefix, and what locations and parties are called (docs/trace.md
 * section 6, docs/format.md section 5.9).  Record kinds: trace.bind (a
 * regulator with the scope trace.master registers a prefix or GLN to an
 * enterprise), trace.claim (an enterprise claims one for itself:
 * unconfirmed until a regulator confirms), trace.confirm, trace.delegate
 * and trace.undelegate (the owner of a prefix lets a contract manufacturer
 * or importer commission under it, and stops), trace.name (a name and
 * attributes for a location or party).  Indexer "trace.master". */
#define TRC_KIND_BIND "trace.bind"
#define TRC_KIND_CLAIM "trace.claim"
#define TRC_KIND_CONFIRM "trace.confirm"
#define TRC_KIND_DELEGATE "trace.delegate"
#define TRC_KIND_UNDELEGATE "trace.undelegate"
#define TRC_KIND_NAME "trace.name"
#define TRC_SCOPE_MASTER "trace.master"         /* bind, confirm */
#define TRC_SCOPE_INSPECTION "trace.inspection" /* an inspection body */
#define TRC_NAME_MAX 200                        /* bytes of a name */
#define TRC_ATTRS_MAX 16                        /* attributes of a trace.name */
#define TRC_ATTR_MAX 256 /* bytes of an attribute's id or value */
#define TRC_USCC_SIZE 19 /* a USCC (18 characters) and its NUL */

typedef enum trc_master_op {
	TRC_M_BIND,
	TRC_M_CLAIM,
	TRC_M_CONFIRM,
	TRC_M_DELEGATE,
	TRC_M_UNDELEGATE,
	TRC_M_NAME
} trc_master_op;

/* One master-data record to build.  key: a company prefix (6-12 digits)
 * or a GLN (13 digits, check digit verified); uscc: the owner (bind,
 * confirm) or the delegate (delegate, undelegate); id, name and attrs:
 * trace.name's (id: an identifier in any form trc_id_parse takes). */
typedef struct trc_master_in {
	trc_master_op op;
	const char   *key;
	const char   *uscc;
	const char   *id;
	const char   *name;
	size_t        nattrs;
	const char   *attr_id[TRC_ATTRS_MAX];
	const char   *attr_val[TRC_ATTRS_MAX];
} trc_master_in;
/* Appends the canonical record to out.  CM_EPROTO with the reason when a
 * field is malformed (the stateless checks the ledger makes); CM_ENOMEM. */
CM_MUST_CHECK cm_err trc_master_encode(const trc_master_in *in, cm_buf *out,
                                       cm_diag *d);
const char          *trc_master_kind(trc_master_op op);

/* What a prefix or GLN is bound to. */
typedef enum trc_bound {
	TRC_BOUND_NONE,
	TRC_BOUND_REGISTERED, /* by a regulator (a bind or a confirm) */
	TRC_BOUND_CLAIMED     /* by the enterprise itself, unconfirmed */
} trc_bound;
const char *trc_bound_name(trc_bound b); /* "registered", "claimed" */
typedef struct trc_owner {
	trc_bound status;
	char      digits[14]; /* the prefix or GLN that matched */
	char      uscc[TRC_USCC_SIZE];
	uint64_t  leaf; /* the record that made the binding as it is */
} trc_owner;
struct ldg_txn;
/* The owner of GS1 digits: a GLN bound exactly (13 digits), else the
 * longest bound company prefix of them (12 down to 6 digits).
 * CM_ENOTFOUND (out->status NONE) when none is bound. */
cm_err trc_owner_of(struct ldg_txn *t, cm_bytes digits, trc_owner *out);
/* The same for a canonical identifier key (trc_id_key): the GS1 key's
 * company-prefix digits (after a GTIN's indicator digit, an SSCC's
 * extension digit, a GRAI's leading zero); CM_ENOTFOUND for keys without
 * a GS1 key and for restricted-circulation GTINs. */
cm_err trc_key_owner(struct ldg_txn *t, cm_bytes key, trc_owner *out);
/* Whether owner has delegated commissioning under prefix to uscc (a
 * delegation not revoked, made while owner held the prefix). */
bool trc_delegated(struct ldg_txn *t, const char *prefix, const char *owner,
                   const char *uscc);

/* An event's standing, judged when it was captured. */
typedef enum trc_standing {
	TRC_STANDING_OK,          /* its codes and places are registered */
	TRC_STANDING_UNCONFIRMED, /* some are unregistered or only claimed */
	TRC_STANDING_THIRD_PARTY  /* at a GLN registered to another */
} trc_standing;
const char *trc_standing_name(trc_standing s); /* "ok", "unconfirmed",
                                                  "third-party claim" */
/* The standing of the trace.event at leaf.  CM_ENOTFOUND if the leaf is
 * not a trace.event the indexer has seen. */
cm_err trc_standing_of(struct ldg_txn *t, uint64_t leaf, trc_standing *out);

/* The capture rules for ev as signer would capture it in the state of t:
 * CM_EDENIED when it commissions (an ObjectEvent ADD with bizStep
 * commissioning, a TransformationEvent's outputs) a GS1 key under a
 * prefix registered to another enterprise that has delegated nothing to
 * the signer (the diag names the field and the prefix's owner).  *out:
 * the standing it would be stored with (may be NULL). */
cm_err trc_master_check(struct ldg_txn *t, const trc_event *ev,
                        const struct ldg_identity *signer, trc_standing *out,
                        cm_diag *d);

/* A name as an answer shows it. */
typedef enum trc_name_standing {
	TRC_NAME_OWN,         /* by the owner of the GLN it names */
	TRC_NAME_REGULATOR,   /* by a regulator */
	TRC_NAME_UNCONFIRMED, /* the GLN is unbound or only claimed */
	TRC_NAME_CLAIM        /* by another than the GLN's owner */
} trc_name_standing;
typedef struct trc_name {
	char              name[TRC_NAME_MAX + 1];
	trc_name_standing standing;
	char              by[TRC_USCC_SIZE];
	uint64_t          leaf;
} trc_name;
const char *trc_name_standing_name(trc_name_standing s);
/* The best name of the location or party with canonical key (an SGLN
 * without extension and a PGLN of one GLN are one): its owner's latest,
 * else a regulator's, else an unconfirmed one, else another's claim.
 * CM_ENOTFOUND if it has none. */
cm_err trc_name_of(struct ldg_txn *t, cm_bytes key, trc_name *out);

/* Walks the master data: every bound prefix and GLN in digit order
 * (owner NULL: all; else that owner's), with its live delegations. */
typedef struct trc_binding {
	trc_owner   o;
	size_t      ndeleg;
	const char *deleg[TRC_EVENT_LIST_MAX]; /* delegates' USCCs */
} trc_binding;
typedef cm_err (*trc_binding_fn)(void *arg, const trc_binding *b);
cm_err trc_bindings(struct ldg_txn *t, const char *owner, trc_binding_fn fn,
                    void *arg);
typedef cm_err (*trc_name_fn)(void *arg, cm_bytes key, const trc_name *n);
/* Every name record's latest text per (key, writer), in key order. */
cm_err trc_names(struct ldg_txn *t, trc_name_fn fn, void *arg);

/* The names an EPCIS document's epcisHeader gives: each element of
 * epcisMasterData.vocabularyList's BusinessLocation, ReadPoint and Party
 * vocabularies that has a name attribute (id urn:epcglobal:cbv:mda#name
 * or cbvmda:name), as one trace.name record with its other attributes
 * that are strings, handed to fn in document order.  Other vocabularies,
 * elements without a name and children are passed over.  CM_EPROTO when
 * the master data are malformed or a record would be (the diag names the
 * element: "epcisMasterData.vocabularyList[0].vocabularyElementList[2]:
 * ..."), or fn's error. */
typedef cm_err (*trc_rec_fn)(void *arg, cm_bytes rec);
cm_err trc_header_names(const cm_json *header, trc_rec_fn fn, void *arg,
                        cm_diag *d);
/* Whether rec (a trace.name record) is the latest name by the
 * organisation `by` of its location, byte for byte: *leaf is its leaf
 * then, else 0. */
cm_err trc_name_stored(struct ldg_txn *t, cm_bytes rec, const char *by,
                       uint64_t *leaf);

/* ==== Inspections (trace/trc_master.c) ===================================
 * A non-conformant result (disposition or persistentDisposition
 * non_conformant, or a sensor report with an exception) in an event
 * signed by a regulator or an organisation with the scope
 * trace.inspection is linked, when captured, to each producing enterprise
 * of its products: the registered owner of the company prefix, else the
 * enterprise that commissioned the identifier.  An enterprise's own
 * results are never linked. */
#define TRC_INSP_DISPOSITION 0x1u
#define TRC_INSP_PERSISTENT 0x2u
#define TRC_INSP_SENSOR 0x4u
typedef struct trc_inspection {
	uint64_t leaf;
	int64_t  time_ms; /* the event's time */
	unsigned why;     /* TRC_INSP_* */
	char     producer[TRC_USCC_SIZE];
	char     inspector[TRC_USCC_SIZE];
} trc_inspection;
typedef cm_err (*trc_insp_fn)(void *arg, const trc_inspection *i);
/* Calls fn for each inspection linked to uscc in the first size leaves,
 * in leaf order; stops at fn's first error and returns it. */
cm_err trc_inspections(struct ldg_txn *t, const char *uscc, uint64_t size,
                       trc_insp_fn fn, void *arg);

/* ==== Reading large EPCIS documents (trace/trc_stream.c) =================
 * A pull reader over an EPCIS 2.0 JSON document (an EPCISDocument's
 * epcisBody.eventList, or an EPCISQueryDocument's
 * epcisBody.queryResults.resultsBody.eventList) in constant memory: it
 * hands out the document's top-level members (@context, epcisHeader, type,
 * ...) and then each event, as the bytes they have in the document, in
 * document order.  It finds spans only; every span it hands out or passes
 * over (except events when told to skip them) is parsed by cm_json, so a
 * document it reads to the end is valid JSON.  Memory: one input chunk,
 * the current span (at most the limit given for it) and the skeleton
 * objects' member names. */
#define TRC_STREAM_DEPTH_MAX 128 /* nesting inside one member or event */
#define TRC_STREAM_KEY_MAX 256   /* a skeleton member name's bytes */

typedef struct trc_stream trc_stream;

typedef enum trc_item_kind {
	TRC_ITEM_END,    /* the document ended, well formed */
	TRC_ITEM_MEMBER, /* a top-level member other than epcisBody */
	TRC_ITEM_EVENT   /* an element of the event list (a JSON object) */
} trc_item_kind;

/* Which event list the document had (trc_stream_list). */
enum { TRC_LIST_NONE, TRC_LIST_BODY, TRC_LIST_QUERY };

typedef struct trc_item {
	trc_item_kind kind;
	uint8_t       name[TRC_STREAM_KEY_MAX]; /* a member's name, decoded */
	size_t        name_len;
	/* The value's bytes as in the document, borrowed until the next
	 * call; offset is where they start in it. */
	cm_bytes value;
	uint64_t offset;
	size_t   index; /* an event's 1-based position in the list */
} trc_item;

/* A reader over rd (its errors are returned as they are from
 * trc_stream_next): members are at most member_max bytes, events at most
 * event_max (more is refused, CM_ETOOBIG).  Owned by the caller; release
 * with trc_stream_free.  CM_ENOMEM. */
cm_err trc_stream_new(cm_read_fn rd, void *arg, size_t member_max,
                      size_t event_max, trc_stream **out);
void   trc_stream_free(trc_stream *s); /* NULL-safe */
/* Events are passed over without being kept or parsed (a quick look for
 * the members, such as an @context after epcisBody). */
void trc_stream_skip_events(trc_stream *s, bool skip);
/* The next item.  CM_EPROTO (the diag names the byte offset) when the
 * skeleton is malformed, a member's value is not JSON, an event is not an
 * object, a member name repeats in a skeleton object, there are two event
 * lists or bytes after the document; CM_ETOOBIG past a limit; the read
 * function's error.  After an error every call answers TRC_ITEM_END. */
CM_MUST_CHECK cm_err trc_stream_next(trc_stream *s, trc_item *out, cm_diag *d);
uint64_t             trc_stream_offset(const trc_stream *s); /* bytes read */
int                  trc_stream_list(const trc_stream *s);   /* TRC_LIST_* */

/* ==== Verification and alerts (trace/trc_verify.c) =======================
 * [recall's block]  trc_verify answers "is this code genuine?" from the
 * log as of a tree size (docs/trace.md, Verification): known, who
 * commissioned it, lot and expiry against the commissioning ilmd, and one
 * status.  The alerts indexer (trace.alerts) records, in the write
 * transaction, a second sale or dispensing of one serial and sales of
 * recalled or expired stock; trc_alerts lists them. */
typedef enum trc_status {
	TRC_STATUS_UNKNOWN,        /* no event names it */
	TRC_STATUS_NEVER,          /* named, never commissioned */
	TRC_STATUS_ACTIVE,         /* commissioned, in the supply chain */
	TRC_STATUS_IN_TRANSIT,     /* shipped, not yet received */
	TRC_STATUS_RECALLED,       /* disposition recalled, or a recall */
	TRC_STATUS_SOLD,           /* retail_sold / retail_selling */
	TRC_STATUS_DISPENSED,      /* dispensed / dispensing */
	TRC_STATUS_PARTIAL,        /* partially_dispensed */
	TRC_STATUS_DESTROYED,      /* destroyed, disposed, destroying */
	TRC_STATUS_DECOMMISSIONED, /* DELETE, inactive, decommissioning */
	TRC_STATUS_EXPIRED         /* disposition expired, or past expiry */
} trc_status;
/* "active", "in transit", ... (docs/trace.md's words). */
const char *trc_status_name(trc_status s);

/* A check of one attribute a scan carries against the commissioning:
 * TRC_CHECK_NONE when the scan or the commissioning does not give it. */
typedef enum trc_check {
	TRC_CHECK_NONE,
	TRC_CHECK_OK,
	TRC_CHECK_MISMATCH
} trc_check;

#define TRC_DATE_MAX 11 /* "YYYY-MM-DD" and its NUL */
typedef struct trc_verdict {
	uint64_t   size;     /* the tree size answered at */
	int64_t    as_of_ms; /* the log time at that size */
	size_t     nevents;  /* events on the object below size */
	trc_status status;
	uint64_t   status_leaf;      /* the event that set it (0: none) */
	char       disposition[64];  /* the latest one given ("" none) */
	uint64_t   commission_leaf;  /* the first commissioning (0: none) */
	char       commissioner[19]; /* its signer's USCC */
	uint64_t   recall_leaf;      /* a recall record covering it (0: none) */
	/* From the commissioning's ilmd (or its lot's): lot, expiry and
	 * best-before date; "" when not given. */
	char      lot[TRC_ID_PART_MAX];
	char      expiry[TRC_DATE_MAX], best_before[TRC_DATE_MAX];
	uint64_t  expiry_leaf; /* the event that gave the expiry */
	char      scan_lot[TRC_ID_PART_MAX];    /* what the code carries */
	char      scan_expiry[7], scan_best[7]; /* YYMMDD ("" none) */
	trc_check lot_check, expiry_check, best_check;
	size_t    nalerts; /* alerts on the object below size */
} trc_verdict;

/* The verdict on id (parsed from scan, its text as given: a Digital Link's
 * ?17= and ?15= query attributes and an element string's (17) and (15) are
 * read from it) as of tree size size (<= ldg_size(t)).  CM_ENOMEM,
 * CM_ECORRUPT (an index names a leaf that is no event). */
cm_err trc_verify(struct ldg_txn *t, const trc_id *id, cm_bytes scan,
                  uint64_t size, trc_verdict *out, cm_diag *d);

/* The value of AI ai ("17", "15", "10") in an element string or in a
 * Digital Link's path or query, copied NUL-terminated into out (at most
 * cap - 1 bytes); false if text carries none. */
bool trc_scan_attr(cm_bytes text, const char *ai, char *out, size_t cap);

typedef enum trc_alert_kind {
	TRC_ALERT_DOUBLE = 'd',   /* a second sale or dispensing */
	TRC_ALERT_RECALLED = 'r', /* a sale of recalled stock */
	TRC_ALERT_EXPIRED = 'e'   /* a sale of expired stock */
} trc_alert_kind;
/* An alert: the sale or dispensing event at leaf; other is the other sale,
 * the recall (event or record) or the event that gave the expiry; detail
 * the expiry date (kind 'e'); key the object's. */
typedef struct trc_alert {
	uint64_t       leaf;
	trc_alert_kind kind;
	uint64_t       other;
	char           detail[TRC_DATE_MAX];
	size_t         key_len;
	char           key[TRC_ID_KEY_MAX + 1];
} trc_alert;
typedef cm_err (*trc_alert_fn)(void *arg, const trc_alert *a);
/* Calls fn for each alert recorded at a leaf in [from, to), in leaf
 * order, or (key not empty) for each on that object, in leaf order. */
cm_err trc_alerts(struct ldg_txn *t, cm_bytes key, uint64_t from, uint64_t to,
                  trc_alert_fn fn, void *arg);
/* Whether the event at leaf is declared an error by a leaf below size. */
bool trc_alert_declared(struct ldg_txn *t, uint64_t leaf, uint64_t size);
/* [end of recall's block] */

#endif /* TRACE_TRC_H */
