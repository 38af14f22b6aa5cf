/* SPDX-License-Identifier: MIT */
/* tools/cli_trace.c -- `tally trace`: supply-chain trace commands.  `hash`
 * prints the CBV 2.0 event hash ID of each event of an EPCIS JSON-LD
 * document (trace/trc_hash.c), touching no ledger. */
#include "tools/cli.h"
#include "trace/trc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An EPCIS document file: large capture documents fit. */
#define EPCIS_FILE_MAX (64u << 20)

static const char usage_trace[] =
    "usage: tally trace hash FILE [--prehash]\n"
    "       tally trace history ID --data DIR [--json] [--id-form FORM]\n"
    "       tally trace import FILE --data DIR --key KEYFILE [--batch N]\n"
    "                          [--json]\n"
    "       tally trace export --data DIR [--size N] [--id ID | --from L\n"
    "                          --to L] [--out FILE]\n"
    "Reads an EPCIS 2.0 JSON-LD document (an EPCISDocument, an\n"
    "EPCISQueryDocument, or one event; FILE - is stdin) and prints the CBV\n"
    "2.0 event hash ID of each event, one line per event in document\n"
    "order, or with --prehash each event's pre-hash string.  Reads no\n"
    "ledger.  Exit 0 when every event is hashed; 1 when the document or an\n"
    "event is refused (then nothing is printed); 2 usage or I/O error.\n"
    "history prints every event on the object ID (an EPC URN, a Digital\n"
    "Link, urn:tally:...) in event-time order: leaf, time, type, action,\n"
    "bizStep, disposition, location, eventID, hash ID, and any error\n"
    "declaration; the first line names the object (in FORM: dl, urn or\n"
    "original) and the tree size the answer was computed at.  Exit 1 if ID\n"
    "is refused (a restricted-circulation GTIN needs its owner's USCC,\n"
    "which this command does not take).\n"
    "import checks every event of the document FILE (of any size, read\n"
    "twice in constant memory), refuses the whole document on the first\n"
    "bad one (its position, eventID and reason; nothing is written), then\n"
    "submits the events as batches of N (default 1000) signed by KEYFILE.\n"
    "Events the log holds already are counted as duplicates and not sent\n"
    "again, so an interrupted import is finished by running it again.\n"
    "Prints the events, how many were imported in how many batches (the\n"
    "records' leaf range), the duplicates and the tree size.  A progress\n"
    "bar goes to stderr when it is a terminal.\n"
    "export writes an EPCIS 2.0 EPCISDocument of the stored events as they\n"
    "were stored (each with its @context and extensions), in leaf order:\n"
    "all of them, those on the object ID (with their error declarations),\n"
    "or those in leaves L..L, as of tree size N (default the current).\n";

static int
trace_hash(const opts *o)
{
	cm_buf         text = {0}, out = {0};
	cm_json       *doc = NULL;
	const cm_json *list, *one[1];
	size_t         n;
	cm_diag        d;
	bool           pre = opt(o, "prehash") != NULL;
	const char    *type;
	size_t         tl;

	if (o->npos != 1)
		die(EX_USAGE, "hash needs one FILE (see --help)");
	file_read(o->pos[0], EPCIS_FILE_MAX, "an EPCIS document", &text);
	cm_diag_clear(&d);
	if (cm_json_parse(cm_buf_bytes(&text), &doc, &d) != CM_OK)
		die(EX_NO, "%s: %s", o->pos[0], d.msg);
	type = cm_json_str(cm_json_get(doc, "type"), &tl);
	if (cm_json_get(doc, "epcisBody") == NULL && type != NULL &&
	    !(tl >= 5 && memcmp(type, "EPCIS", 5) == 0)) {
		one[0] = doc; /* a single event */
		list = NULL;
		n = 1;
	} else if ((list = trc_hash_events(doc, &d)) == NULL) {
		die(EX_NO, "%s: %s", o->pos[0], d.msg);
	} else {
		n = cm_json_len(list);
	}
	/* All events first, so a refusal prints nothing. */
	for (size_t i = 0; i < n; i++) {
		const cm_json *ev = list != NULL ? cm_json_at(list, i) : one[0];
		cm_buf         p = {0};
		cm_err         rv;

		rv = trc_hash_prehash(doc, ev, &p, &d);
		if (rv == CM_ENOMEM)
			die(EX_USAGE, "out of memory");
		if (rv != CM_OK)
			die(EX_NO, "%s: event %zu: %s", o->pos[0], i + 1,
			    d.msg);
		if ((pre ? cm_buf_append(&out, p.p, p.len)
		         : trc_hash_id(cm_buf_bytes(&p), &out)) != CM_OK)
			die(EX_USAGE, "out of memory");
		cm_buf_fini(&p);
		if (cm_buf_append_byte(&out, '\n') != CM_OK)
			die(EX_USAGE, "out of memory");
	}
	if (out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len)
		die(EX_USAGE, "cannot write the output");
	cm_buf_fini(&out);
	cm_buf_fini(&text);
	cm_json_free(doc);
	return (EX_OK);
}

/* ms since 1970 UTC as 2026-01-01T00:00:00.000Z. */
static void
time_fmt(int64_t ms, char *out, size_t cap)
{
	int64_t   s = ms / 1000, r = ms % 1000;
	time_t    tt;
	struct tm tm;

	if (r < 0) {
		r += 1000;
		s -= 1;
	}
	tt = (time_t) s;
	gmtime_r(&tt, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int) r);
}

typedef struct hist_ctx {
	ldg_txn   *t;
	bool       json;
	size_t     n;
	cm_buf     text; /* the text answer */
	cm_buf     cbor; /* the events' JSON array items (CBOR) */
	cm_cbor_wr w;
	uint64_t   decl[TRC_EVENT_LIST_MAX];
	size_t     ndecl;
} hist_ctx;

/* Reads the event at leaf, unscoped (for its fields only). */
static void
event_read(ldg_txn *t, uint64_t leaf, cm_json **j, trc_event *ev, cm_bytes *id)
{
	trc_event_ctx c = {0};
	cm_bytes      text;
	cm_diag       d;

	cm_diag_clear(&d);
	memset(ev, 0, sizeof(*ev));
	c.unscoped = true;
	if (trc_event_at(t, leaf, &text, id, &d) != CM_OK ||
	    cm_json_parse(text, j, &d) != CM_OK ||
	    trc_event_check(*j, &c, ev, &d) != CM_OK)
		die(EX_USAGE, "leaf %llu: %s", (unsigned long long) leaf,
		    d.msg);
}

static cm_err
decl_add(void *arg, uint64_t leaf)
{
	hist_ctx *h = arg;

	if (h->ndecl < TRC_EVENT_LIST_MAX)
		h->decl[h->ndecl++] = leaf;
	return (CM_OK);
}

static void
wr_view(cm_cbor_wr *w, cm_bytes b)
{
	if (b.len == 0)
		cm_cbor_wr_null(w);
	else
		cm_cbor_wr_text(w, b);
}

static void
wr_vocab(cm_cbor_wr *w, const trc_vocab *v)
{
	wr_view(w, v->word);
}

static cm_bytes
place(const trc_place *p)
{
	return (CM_BYTES(p->key, p->key_len));
}

/* One declaration (of the event at the leaf being printed). */
static void
decl_out(hist_ctx *h, uint64_t leaf, const trc_event *dv)
{
	char tb[40];

	time_fmt(dv->error_time_ms, tb, sizeof(tb));
	if (h->json) {
		cm_cbor_wr_map(&h->w, 4);
		cm_cbor_wr_cstr(&h->w, "leaf");
		cm_cbor_wr_uint(&h->w, leaf);
		cm_cbor_wr_cstr(&h->w, "time");
		cm_cbor_wr_cstr(&h->w, tb);
		cm_cbor_wr_cstr(&h->w, "reason");
		wr_vocab(&h->w, &dv->error_reason);
		cm_cbor_wr_cstr(&h->w, "corrective");
		cm_cbor_wr_array(&h->w, dv->ncorrective);
		for (size_t i = 0; i < dv->ncorrective; i++)
			cm_cbor_wr_text(&h->w, dv->corrective[i]);
		return;
	}
	(void) cm_buf_printf(&h->text, "  declared an error at leaf %llu: %s",
	                     (unsigned long long) leaf, tb);
	if (dv->error_reason.word.len > 0)
		(void) cm_buf_printf(&h->text, " reason %.*s",
		                     (int) dv->error_reason.word.len,
		                     (const char *) dv->error_reason.word.p);
	for (size_t i = 0; i < dv->ncorrective; i++)
		(void) cm_buf_printf(&h->text, "%s%.*s",
		                     i == 0 ? " corrective " : " ",
		                     (int) dv->corrective[i].len,
		                     (const char *) dv->corrective[i].p);
	(void) cm_buf_append_byte(&h->text, '\n');
}

static void
text_field(cm_buf *b, const char *name, cm_bytes v)
{
	if (v.len > 0)
		(void) cm_buf_printf(b, " %s %.*s", name, (int) v.len,
		                     (const char *) v.p);
}

/* A location in a history line: its key, after its name when it has one
 * ("bizLocation \"Farm A\" (/414/...)", a claim's name marked). */
static void
place_field(ldg_txn *t, cm_buf *b, const char *field, const trc_place *p)
{
	trc_name n;
	char     sh[SHOW_MAX];

	if (p->key_len == 0)
		return;
	if (trc_name_of(t, CM_BYTES(p->key, p->key_len), &n) != CM_OK) {
		text_field(b, field, CM_BYTES(p->key, p->key_len));
		return;
	}
	(void) cm_buf_printf(b, " %s %s%s (%.*s)", field,
	                     text_show(CM_BYTES(n.name, strlen(n.name)), sh),
	                     n.standing == TRC_NAME_CLAIM ? " [claim]"
	                     : n.standing == TRC_NAME_UNCONFIRMED
	                         ? " [unconfirmed]"
	                         : "",
	                     (int) p->key_len, p->key);
}

static void
wr_place_name(cm_cbor_wr *w, ldg_txn *t, const trc_place *p)
{
	trc_name n;

	if (p->key_len == 0 ||
	    trc_name_of(t, CM_BYTES(p->key, p->key_len), &n) != CM_OK) {
		cm_cbor_wr_null(w);
		return;
	}
	cm_cbor_wr_map(w, 3);
	cm_cbor_wr_cstr(w, "by");
	cm_cbor_wr_cstr(w, n.by);
	cm_cbor_wr_cstr(w, "name");
	cm_cbor_wr_cstr(w, n.name);
	cm_cbor_wr_cstr(w, "standing");
	cm_cbor_wr_cstr(w, trc_name_standing_name(n.standing));
}

static cm_err
hist_one(void *arg, const trc_hist *e)
{
	hist_ctx    *h = arg;
	cm_json     *j = NULL;
	trc_event    ev;
	cm_bytes     id;
	char         tb[40];
	bool         self;
	trc_standing st;

	event_read(h->t, e->leaf, &j, &ev, &id);
	h->ndecl = 0;
	if (trc_declarations(h->t, e->leaf, decl_add, h) != CM_OK)
		die(EX_USAGE, "reading the declarations of leaf %llu",
		    (unsigned long long) e->leaf);
	/* A declaration stored as its event (its original not in the log)
	 * is marked by itself. */
	self = ev.has_error && h->ndecl == 0;
	if (trc_standing_of(h->t, e->leaf, &st) != CM_OK)
		st = TRC_STANDING_UNCONFIRMED;
	time_fmt(ev.time_ms, tb, sizeof(tb));
	h->n++;
	if (h->json) {
		cm_cbor_wr_map(&h->w, 14);
		cm_cbor_wr_cstr(&h->w, "leaf");
		cm_cbor_wr_uint(&h->w, e->leaf);
		cm_cbor_wr_cstr(&h->w, "time");
		cm_cbor_wr_cstr(&h->w, tb);
		cm_cbor_wr_cstr(&h->w, "type");
		cm_cbor_wr_cstr(&h->w, trc_event_type_name(ev.type));
		cm_cbor_wr_cstr(&h->w, "action");
		if (ev.action == TRC_ACT_NONE)
			cm_cbor_wr_null(&h->w);
		else
			cm_cbor_wr_cstr(&h->w, trc_action_name(ev.action));
		cm_cbor_wr_cstr(&h->w, "hashID");
		cm_cbor_wr_text(&h->w, id);
		cm_cbor_wr_cstr(&h->w, "bizStep");
		wr_vocab(&h->w, &ev.biz_step);
		cm_cbor_wr_cstr(&h->w, "eventID");
		wr_view(&h->w, ev.event_id);
		cm_cbor_wr_cstr(&h->w, "declared");
		cm_cbor_wr_array(&h->w, self ? 1 : h->ndecl);
	} else {
		(void) cm_buf_printf(&h->text, "leaf %llu %s %s",
		                     (unsigned long long) e->leaf, tb,
		                     trc_event_type_name(ev.type));
		if (ev.action != TRC_ACT_NONE)
			(void) cm_buf_printf(&h->text, " %s",
			                     trc_action_name(ev.action));
		text_field(&h->text, "bizStep", ev.biz_step.word);
		text_field(&h->text, "disposition", ev.disposition.word);
		place_field(h->t, &h->text, "readPoint", &ev.read_point);
		place_field(h->t, &h->text, "bizLocation", &ev.biz_location);
		text_field(&h->text, "eventID", ev.event_id);
		text_field(&h->text, "hashID", id);
		(void) cm_buf_printf(&h->text, " standing %s\n",
		                     trc_standing_name(st));
	}
	if (self) {
		decl_out(h, e->leaf, &ev);
	} else {
		for (size_t i = 0; i < h->ndecl; i++) {
			cm_json  *dj = NULL;
			trc_event dv;
			cm_bytes  did;

			event_read(h->t, h->decl[i], &dj, &dv, &did);
			decl_out(h, h->decl[i], &dv);
			trc_event_fini(&dv);
			cm_json_free(dj);
		}
	}
	if (h->json) {
		cm_cbor_wr_cstr(&h->w, "standing");
		cm_cbor_wr_cstr(&h->w, trc_standing_name(st));
		cm_cbor_wr_cstr(&h->w, "readPoint");
		wr_view(&h->w, place(&ev.read_point));
		cm_cbor_wr_cstr(&h->w, "bizLocation");
		wr_view(&h->w, place(&ev.biz_location));
		cm_cbor_wr_cstr(&h->w, "disposition");
		wr_vocab(&h->w, &ev.disposition);
		/* master data: names (trace/trc_master.c) */
		cm_cbor_wr_cstr(&h->w, "readPointName");
		wr_place_name(&h->w, h->t, &ev.read_point);
		cm_cbor_wr_cstr(&h->w, "bizLocationName");
		wr_place_name(&h->w, h->t, &ev.biz_location);
	}
	trc_event_fini(&ev);
	cm_json_free(j);
	return (CM_OK);
}

static int
trace_history(const opts *o)
{
	ldg_store  *s;
	hist_ctx    h;
	trc_id      id;
	trc_id_form form = TRC_FORM_DL;
	trc_id_ctx  ic = {0};
	cm_buf      name = {0}, out = {0}, head = {0};
	const char *f = opt(o, "id-form");
	cm_diag     d;
	uint64_t    size;

	if (o->npos != 1)
		die(EX_USAGE, "history needs one ID (see --help)");
	if (f != NULL &&
	    trc_id_form_parse(CM_BYTES(f, strlen(f)), &form) != CM_OK)
		die(EX_USAGE, "--id-form must be dl, urn or original");
	cm_diag_clear(&d);
	ic.scans = true;
	if (strlen(o->pos[0]) > TRC_ID_TEXT_MAX)
		die(EX_NO, "ID is longer than %d bytes", TRC_ID_TEXT_MAX);
	if (trc_id_parse(CM_BYTES(o->pos[0], strlen(o->pos[0])), &ic, &id,
	                 &d) != CM_OK)
		die(EX_NO, "ID: %s", d.msg);
	if (trc_id_format(&id, form, &name) != CM_OK ||
	    cm_buf_append_byte(&name, '\0') != CM_OK)
		die(EX_USAGE, "out of memory");
	s = store_open(need(o, "data"), true);
	memset(&h, 0, sizeof(h));
	h.t = rtxn(s);
	h.json = opt(o, "json") != NULL;
	size = ldg_size(h.t);
	cm_cbor_wr_init(&h.w, &h.cbor);
	if (trc_history(h.t, trc_id_key(&id), hist_one, &h) != CM_OK)
		die(EX_USAGE, "reading the history failed");
	if (h.json) {
		cm_cbor_wr wr;

		cm_cbor_wr_init(&wr, &out);
		cm_cbor_wr_map(&wr, 4);
		cm_cbor_wr_cstr(&wr, "id");
		cm_cbor_wr_cstr(&wr, (const char *) name.p);
		cm_cbor_wr_cstr(&wr, "key");
		cm_cbor_wr_text(&wr, trc_id_key(&id));
		cm_cbor_wr_cstr(&wr, "size");
		cm_cbor_wr_uint(&wr, size);
		cm_cbor_wr_cstr(&wr, "events");
		cm_cbor_wr_array(&wr, h.n);
		cm_cbor_wr_raw(&wr, cm_buf_bytes(&h.cbor));
		json_print(&wr, &out);
	} else {
		printf("history of %s at tree size %llu: %zu event%s\n",
		       (const char *) name.p, (unsigned long long) size, h.n,
		       h.n == 1 ? "" : "s");
		if (h.text.len > 0 &&
		    fwrite(h.text.p, 1, h.text.len, stdout) != h.text.len)
			die(EX_USAGE, "cannot write the output");
	}
	ldg_txn_end(h.t);
	ldg_close(s);
	cm_buf_fini(&name);
	cm_buf_fini(&out);
	cm_buf_fini(&head);
	cm_buf_fini(&h.text);
	cm_buf_fini(&h.cbor);
	return (EX_OK);
}

/* ---- import (docs/cli.md section 11) ---- */

/* A top-level member of a document held whole (the epcisHeader with its
 * master data is the large one). */
#define EPCIS_MEMBER_MAX (16u << 20)
#define IMPORT_BATCH 1000

/* The document's epcisHeader as given (its bytes and where they start),
 * for the master-data reader (trace/trc_master.c, another change): pass 1
 * may refuse it (exit), pass 2 may add its records.  Nothing is set here:
 * the header is read past until then. */
typedef void (*header_fn)(void *arg, int pass, cm_bytes header,
                          uint64_t offset);
static header_fn import_header_hook;
static void     *import_header_arg;

typedef struct trace_src {
	imp_file    *f;
	ldg_params   p;
	trc_stream  *st;
	int          pass;
	ldg_identity who; /* the signer */
	cm_bytes     uscc;
	cm_buf       ctx;     /* the document's @context value, as given */
	cm_json     *ctxdoc;  /* {"@context": ctx} */
	bool         has_ctx; /* ctx seen */
	bool         has_type;
	cm_buf       type;
	bool         first_event;
	/* The current event. */
	trc_item  it;
	cm_buf    text; /* as it is stored */
	cm_json  *j;
	trc_event ev;
	cm_buf    key, rec;
	/* Pass 1: each eventID of the document (a fingerprint of it and of
	 * its event's hash ID, and the event's position), so that one used
	 * by two different events is refused before anything is written. */
	struct evid_slot *ids;
	size_t            nids, ids_cap;
	/* The names the epcisHeader gives (trace.name records, read in pass
	 * 1), sent as one batch before the events. */
	ldg_store    *s;
	const cm_key *k;
	cm_buf        names;
	size_t       *name_end;
	size_t        nnames;
} trace_src;

static void src_refuse(const trace_src *ts, const char *msg);

struct evid_slot {
	uint8_t  id[16], hash[8];
	uint64_t index; /* 0: empty */
};

static struct evid_slot *
evid_find(struct evid_slot *v, size_t cap, const uint8_t id[16])
{
	size_t i = (size_t) cm_get_u64be(id) & (cap - 1);

	while (v[i].index != 0 && memcmp(v[i].id, id, 16) != 0)
		i = (i + 1) & (cap - 1);
	return (&v[i]);
}

/* The current event's eventID against the document's earlier ones. */
static void
evid_check(trace_src *ts)
{
	uint8_t           id[CM_HASH_LEN], h[CM_HASH_LEN];
	struct evid_slot *e;
	char              msg[400];

	if (ts->ev.event_id.len == 0)
		return;
	if (2 * (ts->nids + 1) > ts->ids_cap) {
		size_t            cap = ts->ids_cap ? 2 * ts->ids_cap : 1024;
		struct evid_slot *v = xalloc(cm_calloc(cap, sizeof(*v)));

		for (size_t i = 0; i < ts->ids_cap; i++)
			if (ts->ids[i].index != 0)
				*evid_find(v, cap, ts->ids[i].id) = ts->ids[i];
		cm_free(ts->ids);
		ts->ids = v;
		ts->ids_cap = cap;
	}
	cm_sha256(ts->ev.event_id.p, ts->ev.event_id.len, id);
	cm_sha256(ts->ev.hash_id, strlen(ts->ev.hash_id), h);
	e = evid_find(ts->ids, ts->ids_cap, id);
	if (e->index == 0) {
		memcpy(e->id, id, 16);
		memcpy(e->hash, h, 8);
		e->index = ts->it.index;
		ts->nids++;
	} else if (memcmp(e->hash, h, 8) != 0) {
		snprintf(
		    msg, sizeof(msg),
		    "event %zu (%.*s): eventID %.*s is the eventID of event "
		    "%llu too, another event (another hash ID)",
		    ts->it.index, (int) ts->ev.event_id.len,
		    (const char *) ts->ev.event_id.p, (int) ts->ev.event_id.len,
		    (const char *) ts->ev.event_id.p,
		    (unsigned long long) e->index);
		src_refuse(ts, msg);
	}
}

static void
src_refuse(const trace_src *ts, const char *msg)
{
	imp_refuse(ts->f, ts->pass, msg);
}

static void
src_stream(trace_src *ts, imp_file *f)
{
	trc_stream_free(ts->st);
	ts->st = NULL;
	if (trc_stream_new(imp_file_read, f, EPCIS_MEMBER_MAX,
	                   (size_t) ts->p.max_leaf, &ts->st) != CM_OK)
		die(EX_USAGE, "out of memory");
}

static void
src_member(trace_src *ts, const trc_item *it)
{
	cm_bytes name = CM_BYTES(it->name, it->name_len);

	if (cm_bytes_eq_str(name, "@context") && !ts->has_ctx) {
		cm_buf  w = {0};
		cm_diag d;

		cm_buf_reset(&ts->ctx);
		if (cm_buf_append(&ts->ctx, it->value.p, it->value.len) !=
		        CM_OK ||
		    cm_buf_printf(&w, "{\"@context\":%.*s}",
		                  (int) it->value.len,
		                  (const char *) it->value.p) != CM_OK)
			die(EX_USAGE, "out of memory");
		cm_diag_clear(&d);
		if (cm_json_parse(cm_buf_bytes(&w), &ts->ctxdoc, &d) != CM_OK)
			src_refuse(ts, d.msg);
		cm_buf_fini(&w);
		ts->has_ctx = true;
	} else if (cm_bytes_eq_str(name, "type")) {
		cm_buf_reset(&ts->type);
		if (cm_buf_append(&ts->type, it->value.p, it->value.len) !=
		    CM_OK)
			die(EX_USAGE, "out of memory");
		ts->has_type = true;
	} else if (cm_bytes_eq_str(name, "epcisHeader") &&
	           import_header_hook != NULL) {
		import_header_hook(import_header_arg, ts->pass, it->value,
		                   it->offset);
	}
}

/* An @context after epcisBody: a quick look through the file for it (the
 * events passed over), before the first event is checked. */
static void
src_context_first(trace_src *ts)
{
	imp_file    f;
	trc_stream *st = NULL;
	trc_item    it;
	cm_diag     d;

	imp_file_open(&f, ts->f->path);
	f.bar = false;
	imp_file_pass(&f, "context");
	if (trc_stream_new(imp_file_read, &f, EPCIS_MEMBER_MAX, 0, &st) !=
	    CM_OK)
		die(EX_USAGE, "out of memory");
	trc_stream_skip_events(st, true);
	cm_diag_clear(&d);
	while (!ts->has_ctx) {
		if (trc_stream_next(st, &it, &d) != CM_OK)
			src_refuse(ts, d.msg);
		if (it.kind == TRC_ITEM_END)
			break;
		if (it.kind == TRC_ITEM_MEMBER &&
		    cm_bytes_eq_str(CM_BYTES(it.name, it.name_len), "@context"))
			src_member(ts, &it);
	}
	trc_stream_free(st);
	imp_file_close(&f);
}

/* The document's type and event list, at its end. */
static void
src_end(trace_src *ts)
{
	int list = trc_stream_list(ts->st);

	if (!ts->has_type)
		src_refuse(ts, "not an EPCIS document: it has no type");
	if (cm_bytes_eq_str(cm_buf_bytes(&ts->type), "\"EPCISDocument\"")) {
		if (list != TRC_LIST_BODY)
			src_refuse(ts, "an EPCISDocument has no "
			               "epcisBody.eventList");
	} else if (cm_bytes_eq_str(cm_buf_bytes(&ts->type),
	                           "\"EPCISQueryDocument\"")) {
		if (list != TRC_LIST_QUERY)
			src_refuse(ts, "an EPCISQueryDocument has no "
			               "epcisBody.queryResults.resultsBody."
			               "eventList");
	} else {
		src_refuse(ts, "not an EPCIS document: its type is not "
		               "EPCISDocument or EPCISQueryDocument");
	}
}

/* The current event as it is stored: with the document's @context when
 * it has none of its own, so that the record stands alone (the module
 * reads a stored event without its document) and hashes as it did in the
 * document.  Then checked as the ledger will check it. */
static void
src_event(trace_src *ts)
{
	trc_event_ctx c = {0};
	cm_bytes      span = ts->it.value;
	cm_diag       d, jd;
	bool          own = false;
	char          msg[400];

	cm_json_free(ts->j);
	ts->j = NULL;
	trc_event_fini(&ts->ev);
	cm_buf_reset(&ts->text);
	cm_diag_clear(&d);
	cm_diag_clear(&jd);
	if (ts->has_ctx) {
		/* One parse when the event has no @context; with one, the
		 * joined text repeats the key, which jansson refuses. */
		size_t k = 1;

		while (k < span.len && (span.p[k] == ' ' || span.p[k] == '\n' ||
		                        span.p[k] == '\t' || span.p[k] == '\r'))
			k++;
		if (cm_buf_append(&ts->text, "{\"@context\":", 12) != CM_OK ||
		    cm_buf_append(&ts->text, ts->ctx.p, ts->ctx.len) != CM_OK ||
		    (k < span.len && span.p[k] != '}' &&
		     cm_buf_append_byte(&ts->text, ',') != CM_OK) ||
		    cm_buf_append(&ts->text, span.p + 1, span.len - 1) != CM_OK)
			die(EX_USAGE, "out of memory");
		if (cm_json_parse(cm_buf_bytes(&ts->text), &ts->j, &jd) !=
		    CM_OK)
			own = true;
	}
	if (!ts->has_ctx || own) {
		cm_buf_reset(&ts->text);
		if (cm_buf_append(&ts->text, span.p, span.len) != CM_OK)
			die(EX_USAGE, "out of memory");
		if (cm_json_parse(span, &ts->j, &jd) != CM_OK) {
			snprintf(msg, sizeof(msg), "event %zu: %s",
			         ts->it.index, jd.msg);
			src_refuse(ts, msg);
		}
		own = own && cm_json_get(ts->j, "@context") != NULL;
	}
	memset(&ts->ev, 0, sizeof(ts->ev));
	c.index = ts->it.index;
	c.uscc = ts->uscc;
	c.unscoped = ts->uscc.len == 0;
	if (trc_event_check(ts->j, &c, &ts->ev, &d) != CM_OK)
		src_refuse(ts, d.msg);
	if (own && ts->has_ctx) {
		cm_buf pre = {0}, id = {0};

		/* Its hash in the document (both contexts) must be the one
		 * it has alone, or the record would not be that event. */
		if (trc_hash_prehash(ts->ctxdoc, ts->j, &pre, &d) != CM_OK ||
		    trc_hash_id(cm_buf_bytes(&pre), &id) != CM_OK)
			src_refuse(ts, d.msg);
		if (!cm_bytes_eq_str(cm_buf_bytes(&id), ts->ev.hash_id)) {
			snprintf(msg, sizeof(msg),
			         "event %zu: it has an @context of its own and "
			         "also uses the document's, and Tally stores "
			         "each event with one: put every prefix it "
			         "uses in its own @context",
			         ts->it.index);
			src_refuse(ts, msg);
		}
		cm_buf_fini(&pre);
		cm_buf_fini(&id);
	}
	cm_buf_reset(&ts->rec);
	if (trc_event_record(cm_buf_bytes(&ts->text), ts->ev.hash_id,
	                     &ts->rec) != CM_OK)
		die(EX_USAGE, "out of memory");
}

static bool
src_next(void *arg)
{
	trace_src *ts = arg;
	cm_diag    d;

	cm_diag_clear(&d);
	for (;;) {
		if (trc_stream_next(ts->st, &ts->it, &d) != CM_OK)
			src_refuse(ts, d.msg);
		if (ts->it.kind == TRC_ITEM_END) {
			src_end(ts);
			return (false);
		}
		if (ts->it.kind == TRC_ITEM_MEMBER) {
			src_member(ts, &ts->it);
			continue;
		}
		if (!ts->first_event && !ts->has_ctx)
			src_context_first(ts);
		ts->first_event = true;
		src_event(ts);
		return (true);
	}
}

/* The current event's state checks: eventID reuse, who may declare. */
static void
src_capture(trace_src *ts, ldg_txn *t, trc_capture *c)
{
	cm_diag d;
	char    msg[400];

	cm_diag_clear(&d);
	if (trc_capture_check(t, &ts->ev, cm_buf_bytes(&ts->text), &ts->who,
	                      UINT64_MAX, c, &d) != CM_OK) {
		snprintf(msg, sizeof(msg), "event %zu%s%.*s%s: %s",
		         ts->it.index, ts->ev.event_id.len ? " (" : "",
		         (int) ts->ev.event_id.len,
		         (const char *) ts->ev.event_id.p,
		         ts->ev.event_id.len ? ")" : "", d.msg);
		src_refuse(ts, msg);
	}
	/* master data: commissioning under another's prefix (the message
	 * names the event and the field) */
	if (trc_master_check(t, &ts->ev, &ts->who, NULL, &d) != CM_OK)
		src_refuse(ts, d.msg);
}

static void
src_check(void *arg, ldg_txn *t)
{
	trace_src  *ts = arg;
	trc_capture c;
	char        what[32];

	snprintf(what, sizeof(what), "event %zu", ts->it.index);
	imp_record_fits(ts->f, &ts->p, ts->rec.len, what);
	src_capture(ts, t, &c);
	evid_check(ts);
}

static void
src_record(void *arg, ldg_txn *t, cm_buf *rec, cm_bytes *key, bool *dup,
           uint64_t *dup_leaf)
{
	trace_src  *ts = arg;
	trc_capture c;

	src_capture(ts, t, &c);
	*dup = c.duplicate;
	*dup_leaf = c.first;
	if (c.duplicate)
		return;
	/* In one batch: an event is a duplicate of an equal one before it
	 * (a declaration only of the same text). */
	cm_buf_reset(&ts->key);
	if (cm_buf_append(&ts->key, ts->ev.hash_id, strlen(ts->ev.hash_id)) !=
	        CM_OK ||
	    (ts->ev.has_error &&
	     cm_buf_append(&ts->key, ts->text.p, ts->text.len) != CM_OK) ||
	    cm_buf_append(rec, ts->rec.p, ts->rec.len) != CM_OK)
		die(EX_USAGE, "out of memory");
	*key = cm_buf_bytes(&ts->key);
}

/* ---- master data from the epcisHeader (docs/trace.md section 6.6) ---- */

static cm_err
name_add(void *arg, cm_bytes rec)
{
	trace_src *ts = arg;

	imp_record_fits(ts->f, &ts->p, rec.len, "an epcisHeader name");
	ts->name_end =
	    xalloc(cm_realloc(ts->name_end, (ts->nnames + 1) * sizeof(size_t)));
	if (cm_buf_append(&ts->names, rec.p, rec.len) != CM_OK)
		die(EX_USAGE, "out of memory");
	ts->name_end[ts->nnames++] = ts->names.len;
	return (CM_OK);
}

/* Pass 1 reads the header's names (a bad one refuses the document). */
static void
header_names(void *arg, int pass, cm_bytes header, uint64_t offset)
{
	trace_src *ts = arg;
	cm_json   *j = NULL;
	cm_diag    d;
	char       msg[400];

	(void) offset;
	if (pass != 1)
		return;
	cm_diag_clear(&d);
	if (cm_json_parse(header, &j, &d) != CM_OK ||
	    trc_header_names(j, name_add, ts, &d) != CM_OK) {
		snprintf(msg, sizeof(msg), "epcisHeader: %s", d.msg);
		src_refuse(ts, msg);
	}
	cm_json_free(j);
}

/* Before the events: the names the log does not hold yet, in batches. */
static void
names_send(trace_src *ts)
{
	cm_bytes   *v = xalloc(cm_calloc(ts->nnames + 1, sizeof(*v)));
	size_t      n = 0, old = 0, start = 0;
	uint64_t    first = 0, last = 0, at;
	ldg_txn    *t = rtxn(ts->s);
	ldg_receipt rc;
	cm_diag     d;
	cm_err      st;

	for (size_t i = 0; i < ts->nnames; i++) {
		cm_bytes r =
		    CM_BYTES(ts->names.p + start, ts->name_end[i] - start);

		start = ts->name_end[i];
		if (trc_name_stored(t, r, ts->who.uscc, &at) == CM_OK &&
		    at != 0) {
			old++;
			continue;
		}
		v[n++] = r;
	}
	ldg_txn_end(t);
	for (size_t i = 0; i < n; i += (size_t) ts->p.max_records) {
		size_t m = n - i < ts->p.max_records
		               ? n - i
		               : (size_t) ts->p.max_records;

		cm_diag_clear(&d);
		st = sign_append(ts->s, ts->k, v + i, m, &rc, &d);
		if (st != CM_OK && st != CM_EDUPLICATE)
			die(EX_NO,
			    "%s: the epcisHeader's names refused: %s%s%s",
			    ts->f->path, cm_strerror(st), d.msg[0] ? ": " : "",
			    d.msg);
		if (first == 0)
			first = rc.first_record;
		last = rc.first_record + rc.nrecords - 1;
		ldg_receipt_fini(&rc);
	}
	if (n > 0)
		fprintf(stderr,
		        "%s: epcisHeader: %zu name%s (records at leaves "
		        "%llu..%llu), %zu in the log already\n",
		        prog_cmd, n, n == 1 ? "" : "s",
		        (unsigned long long) first, (unsigned long long) last,
		        old);
	else if (old > 0)
		fprintf(stderr,
		        "%s: epcisHeader: %zu names in the log already\n",
		        prog_cmd, old);
	cm_free(v);
	ts->nnames = 0;
}

static void
src_pass(void *arg, int pass)
{
	trace_src *ts = arg;

	if (pass == 2 && ts->nnames > 0)
		names_send(ts);
	ts->pass = pass;
	ts->first_event = false;
	src_stream(ts, ts->f);
}

static const imp_ops trace_import_ops = {"event",   src_pass,   src_next,
                                         src_check, src_record, NULL};

/* The signer, who must be a registered, active enterprise or regulator. */
static void
signer_get(ldg_store *s, const cm_key *k, const char *path, ldg_identity *who)
{
	imp_signer(s, k, path, who);
	if (who->role != LDG_ROLE_ENTERPRISE && who->role != LDG_ROLE_REGULATOR)
		die(EX_NO,
		    "role %s may not write trace events; nothing was written",
		    ldg_role_name(who->role));
}

static int
trace_import(const opts *o)
{
	trace_src  ts;
	imp_file   f;
	imp_result r;
	ldg_store *s;
	cm_key    *k;

	if (o->npos != 1)
		die(EX_USAGE, "import needs one FILE (see --help)");
	k = key_load(need(o, "key"));
	imp_file_open(&f, o->pos[0]);
	s = store_open_key(need(o, "data"), false, true, NULL);
	memset(&ts, 0, sizeof(ts));
	ts.f = &f;
	ldg_get_params(s, &ts.p);
	signer_get(s, k, need(o, "key"), &ts.who);
	ts.uscc = CM_BYTES(ts.who.uscc, strlen(ts.who.uscc));
	ts.s = s;
	ts.k = k;
	import_header_hook = header_names;
	import_header_arg = &ts;
	import_run(s, k, &f, &trace_import_ops, &ts,
	           opt_u64(o, "batch", IMPORT_BATCH), &r);
	import_print(&f, &r, opt(o, "json") != NULL);
	trc_stream_free(ts.st);
	trc_event_fini(&ts.ev);
	cm_json_free(ts.j);
	cm_json_free(ts.ctxdoc);
	cm_buf_fini(&ts.ctx);
	cm_buf_fini(&ts.type);
	cm_buf_fini(&ts.text);
	cm_buf_fini(&ts.key);
	cm_buf_fini(&ts.rec);
	cm_free(ts.ids);
	cm_buf_fini(&ts.names);
	cm_free(ts.name_end);
	imp_file_close(&f);
	ldg_close(s);
	cm_key_free(k);
	return (EX_OK);
}

/* ---- export ---- */

typedef struct exp_ctx {
	ldg_txn  *t;
	FILE     *out;
	uint64_t  size; /* leaves below it */
	uint64_t  n;    /* events written */
	uint64_t *leaves;
	size_t    nleaves, cap;
} exp_ctx;

/* Writes the event at leaf, if it is one, as stored. */
static void
exp_leaf(exp_ctx *e, uint64_t leaf)
{
	cm_bytes text, id;

	if (trc_event_at(e->t, leaf, &text, &id, NULL) != CM_OK)
		return;
	if ((e->n > 0 && fputs(",\n", e->out) < 0) ||
	    fwrite(text.p, 1, text.len, e->out) != text.len)
		die(EX_USAGE, "cannot write the export: %s", strerror(errno));
	e->n++;
}

static void
exp_add(exp_ctx *e, uint64_t leaf)
{
	if (leaf >= e->size)
		return;
	if (e->nleaves == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		e->leaves =
		    xalloc(cm_realloc(e->leaves, e->cap * sizeof(*e->leaves)));
	}
	e->leaves[e->nleaves++] = leaf;
}

static cm_err
exp_decl(void *arg, uint64_t leaf)
{
	exp_add(arg, leaf);
	return (CM_OK);
}

static cm_err
exp_hist(void *arg, const trc_hist *h)
{
	exp_ctx *e = arg;

	exp_add(e, h->leaf);
	return (trc_declarations(e->t, h->leaf, exp_decl, e));
}

static int
leaf_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return (x < y ? -1 : x > y);
}

/* The log time of the last batch in the first size leaves (the export's
 * creationDate: what the ledger knew, not the wall clock). */
static uint64_t
exp_time(ldg_txn *t, uint64_t size)
{
	cm_bytes    leaf;
	ldg_rleaf   rl;
	ldg_hleaf   hl;
	ldg_genesis g;

	for (uint64_t i = size; i-- > 0;) {
		if (ldg_leaf_get(t, i, &leaf) != CM_OK)
			break;
		if (ldg_rleaf_decode(leaf, &rl, NULL) == CM_OK &&
		    ldg_leaf_get(t, rl.hi, &leaf) != CM_OK)
			break;
		if (ldg_hleaf_decode(leaf, &hl, NULL) == CM_OK)
			return (hl.log_time);
		if (ldg_genesis_decode(leaf, &g, NULL) == CM_OK)
			return (g.log_time);
	}
	die(EX_USAGE, "cannot read the log time at size %llu",
	    (unsigned long long) size);
}

static int
trace_export(const opts *o)
{
	ldg_store  *s;
	exp_ctx     e;
	const char *id = opt(o, "id"), *path = opt(o, "out");
	uint64_t    size, from, to;
	char        tb[40];

	if (o->npos != 0)
		die(EX_USAGE, "export takes no FILE: the output is --out FILE "
		              "or stdout (see --help)");
	opt_exclusive(o, " id ", " from to ");
	s = store_open(need(o, "data"), true);
	memset(&e, 0, sizeof(e));
	e.t = rtxn(s);
	size = ldg_size(e.t);
	e.size = opt_u64(o, "size", size);
	if (e.size == 0 || e.size > size)
		die(EX_NO, "--size must be 1 to the tree size %llu",
		    (unsigned long long) size);
	from = opt_u64(o, "from", 0);
	to = opt_u64(o, "to", e.size - 1);
	if (from > to || to >= e.size)
		die(EX_NO,
		    "--from %llu --to %llu is not a leaf range of tree size "
		    "%llu",
		    (unsigned long long) from, (unsigned long long) to,
		    (unsigned long long) e.size);
	if (id != NULL) {
		trc_id_ctx ic = {0};
		trc_id     tid;
		cm_diag    d;

		cm_diag_clear(&d);
		ic.scans = true;
		if (strlen(id) > TRC_ID_TEXT_MAX)
			die(EX_NO, "--id is longer than %d bytes",
			    TRC_ID_TEXT_MAX);
		if (trc_id_parse(CM_BYTES(id, strlen(id)), &ic, &tid, &d) !=
		    CM_OK)
			die(EX_NO, "--id: %s", d.msg);
		if (trc_history(e.t, trc_id_key(&tid), exp_hist, &e) != CM_OK)
			die(EX_USAGE, "reading the history failed");
		/* Leaf order, each once (a declaration may mark several). */
		qsort(e.leaves, e.nleaves, sizeof(*e.leaves), leaf_cmp);
	}
	e.out = stdout;
	if (path != NULL && (e.out = fopen(path, "wx")) == NULL)
		die(EX_USAGE, "cannot create %s: %s", path,
		    errno == EEXIST ? "it exists (export never overwrites)"
		                    : strerror(errno));
	time_fmt((int64_t) exp_time(e.t, e.size), tb, sizeof(tb));
	fprintf(e.out,
	        "{\"@context\":[\"https://ref.gs1.org/standards/epcis/2.0.0/"
	        "epcis-context.jsonld\"],\n\"type\":\"EPCISDocument\",\n"
	        "\"schemaVersion\":\"2.0\",\n\"creationDate\":\"%s\",\n"
	        "\"epcisBody\":{\"eventList\":[\n",
	        tb);
	if (id != NULL) {
		for (size_t i = 0; i < e.nleaves; i++)
			if (i == 0 || e.leaves[i] != e.leaves[i - 1])
				exp_leaf(&e, e.leaves[i]);
	} else {
		for (uint64_t i = from; i <= to; i++)
			exp_leaf(&e, i);
	}
	fputs("\n]}}\n", e.out);
	if (fflush(e.out) != 0 || ferror(e.out) ||
	    (path != NULL && fclose(e.out) != 0))
		die(EX_USAGE, "cannot write the export: %s", strerror(errno));
	fprintf(stderr, "%s: %llu event%s at tree size %llu\n", prog_cmd,
	        (unsigned long long) e.n, e.n == 1 ? "" : "s",
	        (unsigned long long) e.size);
	cm_free(e.leaves);
	ldg_txn_end(e.t);
	ldg_close(s);
	return (EX_OK);
}

int
cli_trace(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	int         ex;

	/* [recall] verify, alerts and the recall commands
	 * (tools/cli_trace_recall.c); their usage follows master's. */
	if (argc == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		FILE *f = argc == 0 ? stderr : stdout;

		fputs(usage_trace, f);
		fputs(cli_trace_master_usage, f);
		fputs(cli_trace_recall_usage, f);
		return (argc == 0 ? EX_USAGE : EX_OK);
	}
	if ((ex = cli_trace_master(argc, argv)) >= 0)
		return (ex);
	if ((ex = cli_trace_recall(argc, argv)) >= 0)
		return (ex);
	if ((ex = group_parse(argc, argv,
	                      " prehash! data json! id-form key batch size "
	                      "id from to out ",
	                      usage_trace, &o)) >= 0)
		return (ex);
	if (strcmp(sub, "hash") == 0)
		return (trace_hash(&o));
	if (strcmp(sub, "history") == 0)
		return (trace_history(&o));
	if (strcmp(sub, "import") == 0)
		return (trace_import(&o));
	if (strcmp(sub, "export") == 0)
		return (trace_export(&o));
	die(EX_USAGE, "unknown trace command \"%s\" (see tally trace --help)",
	    sub);
}
