/* SPDX-License-Identifier: MIT */
/* tools/cli_trace.c -- `tally trace`: supply-chain trace commands.  `hash`
 * prints the CBV 2.0 event hash ID of each event of an EPCIS JSON-LD
 * document (trace/trc_hash.c), touching no ledger. */
#include "tools/cli.h"
#include "trace/trc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* An EPCIS document file: large capture documents fit. */
#define EPCIS_FILE_MAX (64u << 20)

static const char usage_trace[] =
    "usage: tally trace hash FILE [--prehash]\n"
    "       tally trace history ID --data DIR [--json] [--id-form FORM]\n"
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
    "which this command does not take).\n";

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

static cm_err
hist_one(void *arg, const trc_hist *e)
{
	hist_ctx *h = arg;
	cm_json  *j = NULL;
	trc_event ev;
	cm_bytes  id;
	char      tb[40];
	bool      self;

	event_read(h->t, e->leaf, &j, &ev, &id);
	h->ndecl = 0;
	if (trc_declarations(h->t, e->leaf, decl_add, h) != CM_OK)
		die(EX_USAGE, "reading the declarations of leaf %llu",
		    (unsigned long long) e->leaf);
	/* A declaration stored as its event (its original not in the log)
	 * is marked by itself. */
	self = ev.has_error && h->ndecl == 0;
	time_fmt(ev.time_ms, tb, sizeof(tb));
	h->n++;
	if (h->json) {
		cm_cbor_wr_map(&h->w, 11);
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
		text_field(&h->text, "readPoint", place(&ev.read_point));
		text_field(&h->text, "bizLocation", place(&ev.biz_location));
		text_field(&h->text, "eventID", ev.event_id);
		text_field(&h->text, "hashID", id);
		(void) cm_buf_append_byte(&h->text, '\n');
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
		cm_cbor_wr_cstr(&h->w, "readPoint");
		wr_view(&h->w, place(&ev.read_point));
		cm_cbor_wr_cstr(&h->w, "bizLocation");
		wr_view(&h->w, place(&ev.biz_location));
		cm_cbor_wr_cstr(&h->w, "disposition");
		wr_vocab(&h->w, &ev.disposition);
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

int
cli_trace(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	int         ex;

	if ((ex = group_parse(argc, argv, " prehash! data json! id-form ",
	                      usage_trace, &o)) >= 0)
		return (ex);
	if (strcmp(sub, "hash") == 0)
		return (trace_hash(&o));
	if (strcmp(sub, "history") == 0)
		return (trace_history(&o));
	die(EX_USAGE, "unknown trace command \"%s\" (see tally trace --help)",
	    sub);
}
