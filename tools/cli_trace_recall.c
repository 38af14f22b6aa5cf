/* SPDX-License-Identifier: MIT */
/* tools/cli_trace_recall.c -- the verification and recall commands of
 * `tally trace`: verify (is this code genuine? its status and alerts) and
 * alerts (trace/trc_verify.c); docs/cli.md section 11. */
#include "tools/cli.h"
#include "trace/trc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

const char cli_trace_recall_usage[] =
    "       tally trace verify ID --data DIR [--size N] [--json]\n"
    "       tally trace alerts --data DIR [--since SIZE] [--json]\n"
    "verify answers for one code (an EPC URN, a Digital Link, a GS1\n"
    "element string such as (01)...(17)...(10)...(21)... or a raw scan,\n"
    "20 numerals): known or not, who commissioned it, its lot, expiry\n"
    "and best-before date against the commissioning ilmd (a (10), (17)\n"
    "or (15) the code carries, in a Digital Link /10/ or ?17=), its\n"
    "status (active, in transit, recalled, sold, dispensed, partially\n"
    "dispensed, destroyed, decommissioned, expired, never commissioned)\n"
    "and its alerts, as of tree size N (default the current).  Exit 0\n"
    "when the code is known, commissioned and consistent; 1 when it is\n"
    "unknown, never commissioned or inconsistent, or ID is refused.\n"
    "alerts lists the alerts the log recorded (a second sale or\n"
    "dispensing of one serial, a sale of recalled or expired stock) in\n"
    "leaves from SIZE (default 0) on, in leaf order.\n";

/* ms since 1970 UTC as 2026-01-01T00:00:00.000Z. */
static void
ms_fmt(int64_t ms, char *out, size_t cap)
{
	time_t    tt = (time_t) (ms / 1000);
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}

/* A canonical key as an answer: a GS1 key as its Digital Link. */
static void
key_show(cm_bytes key, cm_buf *out)
{
	cm_buf_reset(out);
	if ((key.len > 0 && key.p[0] == '/' &&
	     cm_buf_append(out, "https://id.gs1.org", 18) != CM_OK) ||
	    cm_buf_append(out, key.p, key.len) != CM_OK ||
	    cm_buf_append_byte(out, '\0') != CM_OK)
		die(EX_USAGE, "out of memory");
}

static const char *
kind_word(trc_alert_kind k)
{
	return (k == TRC_ALERT_DOUBLE     ? "double"
	        : k == TRC_ALERT_RECALLED ? "recalled"
	                                  : "expired");
}

static const char *
check_word(trc_check c)
{
	return (c == TRC_CHECK_OK         ? "ok"
	        : c == TRC_CHECK_MISMATCH ? "mismatch"
	                                  : "none");
}

/* An alert in words: "a second sale or dispensing (also at leaf 9)". */
static void
alert_words(const trc_alert *a, char *out, size_t cap)
{
	if (a->kind == TRC_ALERT_DOUBLE)
		snprintf(out, cap,
		         "a second sale or dispensing (the other at leaf "
		         "%llu)",
		         (unsigned long long) a->other);
	else if (a->kind == TRC_ALERT_RECALLED)
		snprintf(out, cap,
		         "a sale of recalled stock (recalled at leaf %llu)",
		         (unsigned long long) a->other);
	else
		snprintf(out, cap, "a sale of expired stock (expiry %s%s%llu)",
		         a->detail, a->other ? ", given at leaf " : "",
		         (unsigned long long) a->other);
}

typedef struct alert_out {
	ldg_txn   *t;
	uint64_t   size;
	bool       json, with_id;
	size_t     n;
	cm_buf     text, cbor, id;
	cm_cbor_wr w;
} alert_out;

static cm_err
alert_one(void *arg, const trc_alert *a)
{
	alert_out *o = arg;
	bool       decl = false;
	char       words[160];

	/* An alert stays recorded; an error declaration of its event is
	 * shown beside it. */
	decl = trc_alert_declared(o->t, a->leaf, o->size);
	key_show(CM_BYTES(a->key, a->key_len), &o->id);
	o->n++;
	if (o->json) {
		cm_cbor_wr_map(&o->w, o->with_id ? 7 : 5);
		if (o->with_id) {
			cm_cbor_wr_cstr(&o->w, "id");
			cm_cbor_wr_cstr(&o->w, (const char *) o->id.p);
			cm_cbor_wr_cstr(&o->w, "key");
			cm_cbor_wr_text(&o->w, CM_BYTES(a->key, a->key_len));
		}
		cm_cbor_wr_cstr(&o->w, "kind");
		cm_cbor_wr_cstr(&o->w, kind_word(a->kind));
		cm_cbor_wr_cstr(&o->w, "leaf");
		cm_cbor_wr_uint(&o->w, a->leaf);
		cm_cbor_wr_cstr(&o->w, "other");
		cm_cbor_wr_uint(&o->w, a->other);
		cm_cbor_wr_cstr(&o->w, "detail");
		if (a->detail[0] != '\0')
			cm_cbor_wr_cstr(&o->w, a->detail);
		else
			cm_cbor_wr_null(&o->w);
		cm_cbor_wr_cstr(&o->w, "declared");
		cm_cbor_wr_bool(&o->w, decl);
		return (CM_OK);
	}
	alert_words(a, words, sizeof(words));
	if (cm_buf_printf(
	        &o->text, "  leaf %llu: %s%s%s%s\n",
	        (unsigned long long) a->leaf, words, o->with_id ? " on " : "",
	        o->with_id ? (const char *) o->id.p : "",
	        decl ? " (the event is declared an error)" : "") != CM_OK)
		die(EX_USAGE, "out of memory");
	return (CM_OK);
}

static void
alert_out_fini(alert_out *o)
{
	cm_buf_fini(&o->text);
	cm_buf_fini(&o->cbor);
	cm_buf_fini(&o->id);
}

/* The tree size asked for with --size (1 to the current), or the current
 * one. */
static uint64_t
size_opt(const opts *o, ldg_txn *t)
{
	uint64_t cur = ldg_size(t), size = opt_u64(o, "size", cur);

	if (size == 0 || size > cur)
		die(EX_NO, "--size must be 1 to the tree size %llu",
		    (unsigned long long) cur);
	return (size);
}

static void
id_read(const char *text, trc_id *id)
{
	trc_id_ctx ic = {0};
	cm_diag    d;

	cm_diag_clear(&d);
	ic.scans = true;
	if (strlen(text) > TRC_ID_TEXT_MAX)
		die(EX_NO, "ID is longer than %d bytes", TRC_ID_TEXT_MAX);
	if (trc_id_parse(CM_BYTES(text, strlen(text)), &ic, id, &d) != CM_OK)
		die(EX_NO, "ID: %s", d.msg);
}

static void
wr_str_or_null(cm_cbor_wr *w, const char *s)
{
	if (s[0] == '\0')
		cm_cbor_wr_null(w);
	else
		cm_cbor_wr_cstr(w, s);
}

static void
wr_attr(cm_cbor_wr *w, const char *recorded, const char *scanned, trc_check c,
        bool leaf, uint64_t lv)
{
	cm_cbor_wr_map(w, leaf ? 4 : 3);
	if (leaf) {
		cm_cbor_wr_cstr(w, "leaf");
		if (lv != 0)
			cm_cbor_wr_uint(w, lv);
		else
			cm_cbor_wr_null(w);
	}
	cm_cbor_wr_cstr(w, "check");
	cm_cbor_wr_cstr(w, check_word(c));
	cm_cbor_wr_cstr(w, "scanned");
	wr_str_or_null(w, scanned);
	cm_cbor_wr_cstr(w, "recorded");
	wr_str_or_null(w, recorded);
}

/* "lot L1 (the code says L1: consistent)". */
static void
attr_line(const char *name, const char *recorded, const char *scanned,
          trc_check c)
{
	printf("%s: %s", name, recorded[0] ? recorded : "not recorded");
	if (scanned[0] != '\0')
		printf(" (the code carries %s: %s)", scanned,
		       c == TRC_CHECK_OK         ? "consistent"
		       : c == TRC_CHECK_MISMATCH ? "INCONSISTENT"
		                                 : "not checked");
	printf("\n");
}

static int
trace_verify(const opts *o)
{
	ldg_store  *s;
	ldg_txn    *t;
	trc_id      id;
	trc_verdict v;
	alert_out   ao;
	ldg_org     org;
	cm_buf      name = {0};
	cm_diag     d;
	char        tb[40];
	bool        genuine, have_org = false;

	if (o->npos != 1)
		die(EX_USAGE, "verify needs one ID (see --help)");
	id_read(o->pos[0], &id);
	key_show(trc_id_key(&id), &name);
	if (id.kind == TRC_ID_GS1) {
		cm_buf_reset(&name);
		if (trc_id_format(&id, TRC_FORM_DL, &name) != CM_OK ||
		    cm_buf_append_byte(&name, '\0') != CM_OK)
			die(EX_USAGE, "out of memory");
	}
	s = store_open(need(o, "data"), true);
	t = rtxn(s);
	cm_diag_clear(&d);
	if (trc_verify(t, &id, CM_BYTES(o->pos[0], strlen(o->pos[0])),
	               size_opt(o, t), &v, &d) != CM_OK)
		die(EX_USAGE, "verifying failed: %s", d.msg);
	if (v.commissioner[0] != '\0' &&
	    ldg_org_get(t, v.commissioner, &org, &d) == CM_OK)
		have_org = true;
	genuine = v.status != TRC_STATUS_UNKNOWN &&
	          v.status != TRC_STATUS_NEVER &&
	          v.lot_check != TRC_CHECK_MISMATCH &&
	          v.expiry_check != TRC_CHECK_MISMATCH &&
	          v.best_check != TRC_CHECK_MISMATCH;
	memset(&ao, 0, sizeof(ao));
	ao.t = t;
	ao.size = v.size;
	ao.json = opt(o, "json") != NULL;
	cm_cbor_wr_init(&ao.w, &ao.cbor);
	if (trc_alerts(t, trc_id_key(&id), 0, v.size, alert_one, &ao) != CM_OK)
		die(EX_USAGE, "reading the alerts failed");
	ms_fmt(v.as_of_ms, tb, sizeof(tb));
	if (ao.json) {
		cm_buf     out = {0};
		cm_cbor_wr w;

		cm_cbor_wr_init(&w, &out);
		cm_cbor_wr_map(&w, 16);
		cm_cbor_wr_cstr(&w, "id");
		cm_cbor_wr_cstr(&w, (const char *) name.p);
		cm_cbor_wr_cstr(&w, "key");
		cm_cbor_wr_text(&w, trc_id_key(&id));
		cm_cbor_wr_cstr(&w, "lot");
		wr_attr(&w, v.lot, v.scan_lot, v.lot_check, false, 0);
		cm_cbor_wr_cstr(&w, "asOf");
		cm_cbor_wr_cstr(&w, tb);
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, v.size);
		cm_cbor_wr_cstr(&w, "known");
		cm_cbor_wr_bool(&w, v.nevents > 0);
		cm_cbor_wr_cstr(&w, "alerts");
		cm_cbor_wr_array(&w, ao.n);
		cm_cbor_wr_raw(&w, cm_buf_bytes(&ao.cbor));
		cm_cbor_wr_cstr(&w, "events");
		cm_cbor_wr_uint(&w, v.nevents);
		cm_cbor_wr_cstr(&w, "expiry");
		wr_attr(&w, v.expiry, v.scan_expiry, v.expiry_check, true,
		        v.expiry_leaf);
		cm_cbor_wr_cstr(&w, "recall");
		if (v.recall_leaf != 0)
			cm_cbor_wr_uint(&w, v.recall_leaf);
		else
			cm_cbor_wr_null(&w);
		cm_cbor_wr_cstr(&w, "status");
		cm_cbor_wr_cstr(&w, trc_status_name(v.status));
		cm_cbor_wr_cstr(&w, "genuine");
		cm_cbor_wr_bool(&w, genuine);
		cm_cbor_wr_cstr(&w, "bestBefore");
		wr_attr(&w, v.best_before, v.scan_best, v.best_check, false, 0);
		cm_cbor_wr_cstr(&w, "statusLeaf");
		if (v.status_leaf != 0)
			cm_cbor_wr_uint(&w, v.status_leaf);
		else
			cm_cbor_wr_null(&w);
		cm_cbor_wr_cstr(&w, "disposition");
		wr_str_or_null(&w, v.disposition);
		cm_cbor_wr_cstr(&w, "commissioned");
		if (v.commission_leaf == 0) {
			cm_cbor_wr_null(&w);
		} else {
			cm_cbor_wr_map(&w, 3);
			cm_cbor_wr_cstr(&w, "by");
			cm_cbor_wr_cstr(&w, v.commissioner);
			cm_cbor_wr_cstr(&w, "leaf");
			cm_cbor_wr_uint(&w, v.commission_leaf);
			cm_cbor_wr_cstr(&w, "name");
			wr_str_or_null(&w, have_org ? org.name : "");
		}
		json_print(&w, &out);
		cm_buf_fini(&out);
	} else {
		printf("verify %s at tree size %llu (log time %s)\n",
		       (const char *) name.p, (unsigned long long) v.size, tb);
		if (v.nevents == 0) {
			printf("known: no (no event names it)\n");
		} else {
			printf("known: yes (%zu event%s)\n", v.nevents,
			       v.nevents == 1 ? "" : "s");
			if (v.commission_leaf != 0)
				printf(
				    "commissioned: at leaf %llu by %s%s%s%s\n",
				    (unsigned long long) v.commission_leaf,
				    have_org ? org.name : "",
				    have_org ? " (" : "", v.commissioner,
				    have_org ? ")" : "");
			else
				printf("commissioned: never\n");
			attr_line("lot", v.lot, v.scan_lot, v.lot_check);
			attr_line("expiry", v.expiry, v.scan_expiry,
			          v.expiry_check);
			if (v.best_before[0] != '\0' || v.scan_best[0] != '\0')
				attr_line("best before", v.best_before,
				          v.scan_best, v.best_check);
		}
		printf("status: %s", trc_status_name(v.status));
		if (v.status_leaf != 0)
			printf(" (leaf %llu%s%s)",
			       (unsigned long long) v.status_leaf,
			       v.disposition[0] ? ", disposition " : "",
			       v.disposition);
		if (v.recall_leaf != 0)
			printf(" (recall at leaf %llu)",
			       (unsigned long long) v.recall_leaf);
		printf("\nalerts: %zu\n", ao.n);
		if (ao.text.len > 0)
			fwrite(ao.text.p, 1, ao.text.len, stdout);
		printf("%s\n", genuine ? "genuine: yes"
		                       : "genuine: NO (unknown, never "
		                         "commissioned or inconsistent)");
	}
	alert_out_fini(&ao);
	cm_buf_fini(&name);
	ldg_txn_end(t);
	ldg_close(s);
	return (genuine ? EX_OK : EX_NO);
}

static int
trace_alerts(const opts *o)
{
	ldg_store *s;
	alert_out  ao;
	uint64_t   since, size;

	if (o->npos != 0)
		die(EX_USAGE, "alerts takes no arguments besides options (see "
		              "--help)");
	s = store_open(need(o, "data"), true);
	memset(&ao, 0, sizeof(ao));
	ao.t = rtxn(s);
	size = ldg_size(ao.t);
	since = opt_u64(o, "since", 0);
	if (since > size)
		die(EX_NO, "--since %llu is past the tree size %llu",
		    (unsigned long long) since, (unsigned long long) size);
	ao.size = size;
	ao.json = opt(o, "json") != NULL;
	ao.with_id = true;
	cm_cbor_wr_init(&ao.w, &ao.cbor);
	if (trc_alerts(ao.t, CM_BYTES(NULL, 0), since, size, alert_one, &ao) !=
	    CM_OK)
		die(EX_USAGE, "reading the alerts failed");
	if (ao.json) {
		cm_buf     out = {0};
		cm_cbor_wr w;

		cm_cbor_wr_init(&w, &out);
		cm_cbor_wr_map(&w, 3);
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, size);
		cm_cbor_wr_cstr(&w, "since");
		cm_cbor_wr_uint(&w, since);
		cm_cbor_wr_cstr(&w, "alerts");
		cm_cbor_wr_array(&w, ao.n);
		cm_cbor_wr_raw(&w, cm_buf_bytes(&ao.cbor));
		json_print(&w, &out);
		cm_buf_fini(&out);
	} else {
		printf("alerts in leaves %llu to %llu: %zu\n",
		       (unsigned long long) since,
		       (unsigned long long) (size - 1), ao.n);
		if (ao.text.len > 0)
			fwrite(ao.text.p, 1, ao.text.len, stdout);
	}
	alert_out_fini(&ao);
	ldg_txn_end(ao.t);
	ldg_close(s);
	return (EX_OK);
}

static const struct {
	const char *word;
	const char *allowed;
	int (*fn)(const opts *o);
} cmds[] = {
    {"verify", " data size json! ", trace_verify},
    {"alerts", " data since json! ", trace_alerts},
};

int
cli_trace_recall(int argc, char **argv)
{
	const char *what = argc > 0 ? argv[0] : "";
	size_t      i, n = sizeof(cmds) / sizeof(cmds[0]);
	opts        o;

	for (i = 0; i < n && strcmp(what, cmds[i].word) != 0; i++)
		;
	if (i == n)
		return (-1);
	opts_parse(argc - 1, argv + 1, cmds[i].allowed, &o);
	if (o.help) {
		fputs(cli_trace_recall_usage, stdout);
		return (EX_OK);
	}
	return (cmds[i].fn(&o));
}
