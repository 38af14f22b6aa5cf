/* SPDX-License-Identifier: MIT */
/* trace/trc_verify.c -- verification of one code (known? commissioned by
 * whom? lot and expiry consistent? its status) and the alerts indexer
 * (trace.alerts: a second sale or dispensing of a serial, a sale of
 * recalled or expired stock), both from the identifier -> events index as
 * of a tree size.  Statuses and alerts are defined from the CBV 2.0
 * dispositions and business steps in docs/trace.md, Verification. */
#include "ledger/ldg.h"
#include "trace/trc_impl.h"

#include <stdio.h>
#include <string.h>

#define ALERT_DB "trace_alert"
#define ALERT_OBJ_DB "trace_alert_obj"

static const char *const status_names[] = {"unknown",   "never commissioned",
                                           "active",    "in transit",
                                           "recalled",  "sold",
                                           "dispensed", "partially dispensed",
                                           "destroyed", "decommissioned",
                                           "expired"};

const char *
trc_status_name(trc_status s)
{
	if ((size_t) s >= sizeof(status_names) / sizeof(status_names[0]))
		return ("?");
	return (status_names[s]);
}

/* ---- one event, as verification reads it ---- */

static void
copy_view(char *out, size_t cap, cm_bytes v)
{
	size_t n = v.len < cap - 1 ? v.len : cap - 1;

	if (n > 0)
		memcpy(out, v.p, n);
	out[n] = '\0';
}

/* An xsd:date (or dateTime) as its first ten bytes YYYY-MM-DD, or "". */
static void
date_copy(char out[TRC_DATE_MAX], cm_bytes v)
{
	out[0] = '\0';
	if (v.len < 10 || v.p[4] != '-' || v.p[7] != '-')
		return;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (v.p[i] < '0' || v.p[i] > '9'))
			return;
	memcpy(out, v.p, 10);
	out[10] = '\0';
}

cm_err
trc_vev_load(ldg_txn *t, uint64_t leaf, cm_bytes key, trc_vev *out, cm_diag *d)
{
	cm_json       *j = NULL;
	trc_event      ev;
	trc_event_ctx  c = {0};
	cm_bytes       text, id;
	const cm_json *ilmd;
	cm_err         rv;

	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	out->leaf = leaf;
	if ((rv = trc_event_at(t, leaf, &text, &id, d)) != CM_OK)
		return (rv);
	if (cm_json_parse(text, &j, d) != CM_OK) {
		rv = cm_fail(d, CM_ECORRUPT, "leaf %llu: not an event",
		             (unsigned long long) leaf);
		goto out;
	}
	c.unscoped = true;
	if ((rv = trc_event_check(j, &c, &ev, d)) != CM_OK) {
		rv = rv == CM_ENOMEM ? rv : CM_ECORRUPT;
		goto out;
	}
	out->type = ev.type;
	out->action = ev.action;
	out->time_ms = ev.time_ms;
	out->local_ms = ev.time_ms + (int64_t) ev.tz_min * 60000;
	out->has_error = ev.has_error;
	if (ev.biz_step.cbv)
		copy_view(out->step, sizeof(out->step), ev.biz_step.word);
	copy_view(out->disp, sizeof(out->disp), ev.disposition.word);
	out->disp_cbv = ev.disposition.cbv;
	copy_view(out->lot, sizeof(out->lot), ev.lot);
	date_copy(out->expiry, ev.expiry);
	if ((ilmd = cm_json_get(j, "ilmd")) != NULL &&
	    cm_json_is_object(ilmd)) {
		for (size_t i = 0; i < cm_json_len(ilmd); i++) {
			cm_json    *v;
			size_t      kl, n;
			const char *k = cm_json_key_at(ilmd, i, &v, &kl);
			const char *s = cm_json_str(v, &n);

			if (s != NULL &&
			    (cm_bytes_eq_str(CM_BYTES(k, kl),
			                     "cbvmda:bestBeforeDate") ||
			     cm_bytes_eq_str(CM_BYTES(k, kl),
			                     "urn:epcglobal:cbv:mda:"
			                     "bestBeforeDate")))
				date_copy(out->best, CM_BYTES(s, n));
		}
	}
	/* The identifier's own entries: its roles and a lot its Digital
	 * Link carries.  Keys are read unscoped here: a restricted GTIN's
	 * "@<USCC>" is left off the key compared. */
	if (key.len > 0 && key.p[0] == '@') {
		const uint8_t *sl = memchr(key.p, '/', key.len);

		if (sl != NULL)
			key = CM_BYTES(sl, key.len - (size_t) (sl - key.p));
	}
	for (size_t i = 0; i < ev.nrefs; i++) {
		const trc_event_ref *r = &ev.refs[i];

		if (!cm_bytes_eq(CM_BYTES(r->key, r->key_len), key))
			continue;
		out->roles |= (uint8_t) (1u << r->role);
		if (r->lot[0] != '\0')
			memcpy(out->ref_lot, r->lot, sizeof(out->ref_lot));
	}
	out->commissions =
	    (ev.type == TRC_EV_OBJECT && ev.action == TRC_ACT_ADD &&
	     (out->roles & (1u << TRC_ROLE_EPC))) ||
	    (ev.type == TRC_EV_TRANSFORMATION &&
	     (out->roles & (1u << TRC_ROLE_OUTPUT)));
	rv = CM_OK;
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

bool
trc_vev_is_sale(const trc_vev *e)
{
	if (e->disp_cbv && e->disp[0] != '\0')
		return (strcmp(e->disp, "retail_sold") == 0 ||
		        strcmp(e->disp, "dispensed") == 0);
	return (strcmp(e->step, "retail_selling") == 0 ||
	        strcmp(e->step, "dispensing") == 0);
}

bool
trc_vev_is_return(const trc_vev *e)
{
	return ((e->disp_cbv && strcmp(e->disp, "returned") == 0) ||
	        strcmp(e->step, "receiving") == 0 ||
	        strcmp(e->step, "returning") == 0 ||
	        strcmp(e->step, "accepting") == 0);
}

/* The status an event leaves the object in, or -1 when it says nothing
 * of its life cycle (docs/trace.md, Verification, the table). */
static int
vev_status(const trc_vev *e)
{
	static const struct {
		const char *w;
		trc_status  s;
	} disp[] = {{"active", TRC_STATUS_ACTIVE},
	            {"returned", TRC_STATUS_ACTIVE},
	            {"sellable_accessible", TRC_STATUS_ACTIVE},
	            {"sellable_not_accessible", TRC_STATUS_ACTIVE},
	            {"available", TRC_STATUS_ACTIVE},
	            {"in_progress", TRC_STATUS_ACTIVE},
	            {"container_closed", TRC_STATUS_ACTIVE},
	            {"conformant", TRC_STATUS_ACTIVE},
	            {"in_transit", TRC_STATUS_IN_TRANSIT},
	            {"recalled", TRC_STATUS_RECALLED},
	            {"retail_sold", TRC_STATUS_SOLD},
	            {"dispensed", TRC_STATUS_DISPENSED},
	            {"partially_dispensed", TRC_STATUS_PARTIAL},
	            {"destroyed", TRC_STATUS_DESTROYED},
	            {"disposed", TRC_STATUS_DESTROYED},
	            {"expired", TRC_STATUS_EXPIRED},
	            {"inactive", TRC_STATUS_DECOMMISSIONED}},
	  step[] = {{"commissioning", TRC_STATUS_ACTIVE},
	            {"receiving", TRC_STATUS_ACTIVE},
	            {"accepting", TRC_STATUS_ACTIVE},
	            {"arriving", TRC_STATUS_ACTIVE},
	            {"stocking", TRC_STATUS_ACTIVE},
	            {"storing", TRC_STATUS_ACTIVE},
	            {"shipping", TRC_STATUS_IN_TRANSIT},
	            {"departing", TRC_STATUS_IN_TRANSIT},
	            {"retail_selling", TRC_STATUS_SOLD},
	            {"dispensing", TRC_STATUS_DISPENSED},
	            {"destroying", TRC_STATUS_DESTROYED},
	            {"decommissioning", TRC_STATUS_DECOMMISSIONED}};

	if (e->type == TRC_EV_OBJECT && e->action == TRC_ACT_DELETE &&
	    (e->roles & (1u << TRC_ROLE_EPC)))
		return (e->disp_cbv && (strcmp(e->disp, "destroyed") == 0 ||
		                        strcmp(e->disp, "disposed") == 0)
		            ? TRC_STATUS_DESTROYED
		            : TRC_STATUS_DECOMMISSIONED);
	if (e->disp_cbv && e->disp[0] != '\0') {
		for (size_t i = 0; i < sizeof(disp) / sizeof(disp[0]); i++)
			if (strcmp(e->disp, disp[i].w) == 0)
				return ((int) disp[i].s);
		return (-1);
	}
	if (e->disp[0] != '\0')
		return (-1); /* a custom disposition */
	for (size_t i = 0; i < sizeof(step) / sizeof(step[0]); i++)
		if (strcmp(e->step, step[i].w) == 0)
			return ((int) step[i].s);
	return (e->commissions ? (int) TRC_STATUS_ACTIVE : -1);
}

/* ---- the object's events in time order, below a size ---- */

typedef struct hist_list {
	uint64_t  size;
	trc_hist *v;
	size_t    n, cap;
	cm_err    err;
} hist_list;

static cm_err
hist_add(void *arg, const trc_hist *h)
{
	hist_list *l = arg;

	if (h->leaf >= l->size)
		return (CM_OK);
	if (l->n == l->cap) {
		size_t    cap = l->cap ? 2 * l->cap : 16;
		trc_hist *v = cm_realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return (CM_ENOMEM);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *h;
	return (CM_OK);
}

typedef struct decl_any {
	uint64_t size;
	bool     any;
} decl_any;

static cm_err
decl_seen(void *arg, uint64_t leaf)
{
	decl_any *a = arg;

	if (leaf < a->size)
		a->any = true;
	return (CM_OK);
}

bool
trc_declared_below(ldg_txn *t, uint64_t leaf, uint64_t size)
{
	decl_any a = {size, false};

	(void) trc_declarations(t, leaf, decl_seen, &a);
	return (a.any);
}

bool
trc_alert_declared(ldg_txn *t, uint64_t leaf, uint64_t size)
{
	return (trc_declared_below(t, leaf, size));
}

/* The events on key below size that count (none declared an error
 * below size), loaded; *out owned by the caller (cm_free). */
cm_err
trc_vev_list(ldg_txn *t, cm_bytes key, uint64_t size, trc_vev **out, size_t *n,
             cm_diag *d)
{
	hist_list l = {size, NULL, 0, 0, CM_OK};
	trc_vev  *v = NULL;
	size_t    k = 0;
	cm_err    rv;

	*out = NULL;
	*n = 0;
	if ((rv = trc_history(t, key, hist_add, &l)) != CM_OK)
		goto out;
	if (l.n > 0 && (v = cm_calloc(l.n, sizeof(*v))) == NULL) {
		rv = CM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (trc_declared_below(t, l.v[i].leaf, size))
			continue;
		if ((rv = trc_vev_load(t, l.v[i].leaf, key, &v[k], d)) != CM_OK)
			goto out;
		if (v[k].has_error)
			continue; /* a declaration stored as its event */
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	cm_free(v);
	cm_free(l.v);
	return (rv);
}

/* ---- the log time at a size, the signer of a leaf ---- */

int64_t
trc_log_time_at(ldg_txn *t, uint64_t size)
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
			return ((int64_t) hl.log_time);
		if (ldg_genesis_decode(leaf, &g, NULL) == CM_OK)
			return ((int64_t) g.log_time);
	}
	return (0);
}

cm_err
trc_leaf_signer(ldg_txn *t, uint64_t leaf, char uscc[19])
{
	cm_bytes     lb;
	ldg_rleaf    rl;
	ldg_identity who;
	bool         flagged;
	cm_err       rv;

	uscc[0] = '\0';
	if ((rv = ldg_leaf_get(t, leaf, &lb)) != CM_OK)
		return (rv);
	if (ldg_rleaf_decode(lb, &rl, NULL) != CM_OK)
		return (CM_ECORRUPT);
	if ((rv = ldg_batch_flagged(t, rl.hi, &flagged, &who)) != CM_OK)
		return (rv);
	snprintf(uscc, 19, "%s", who.uscc);
	return (CM_OK);
}

/* ms since 1970 as its UTC date YYYY-MM-DD (civil from days, Howard
 * Hinnant's algorithm). */
void
trc_date_of_ms(int64_t ms, char out[TRC_DATE_MAX])
{
	int64_t  z = (ms >= 0 ? ms : ms - 86399999) / 86400000 + 719468;
	int64_t  era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned) (z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t  y = (int64_t) yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned dd = doy - (153 * mp + 2) / 5 + 1;
	unsigned mm = mp < 10 ? mp + 3 : mp - 9;

	char b[48];

	snprintf(b, sizeof(b), "%04d-%02u-%02u",
	         (int) ((y + (mm <= 2)) % 10000), mm, dd);
	memcpy(out, b, TRC_DATE_MAX - 1);
	out[TRC_DATE_MAX - 1] = '\0';
}

/* ---- what a scan carries ---- */

/* The GS1 predefined-length AIs (General Specifications, figure
 * 7.8.5-2): the first two digits and the element's whole length; every
 * other element ends at a GS (or the end). */
static int
predefined_len(const char *p)
{
	static const struct {
		char two[3];
		int  len;
	} t[] = {{"00", 20}, {"01", 16}, {"02", 16}, {"03", 16}, {"04", 18},
	         {"11", 8},  {"12", 8},  {"13", 8},  {"14", 8},  {"15", 8},
	         {"16", 8},  {"17", 8},  {"18", 8},  {"19", 8},  {"20", 4},
	         {"31", 10}, {"32", 10}, {"33", 10}, {"34", 10}, {"35", 10},
	         {"36", 10}, {"41", 16}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (p[0] == t[i].two[0] && p[1] == t[i].two[1])
			return (t[i].len);
	return (0);
}

static bool
attr_set(const char *v, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap)
		return (false);
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return (false); /* printable ASCII only */
	memcpy(out, v, n);
	out[n] = '\0';
	return (true);
}

bool
trc_scan_attr(cm_bytes text, const char *ai, char *out, size_t cap)
{
	const char *s = (const char *) text.p;
	size_t      n = text.len, al = strlen(ai), i = 0;

	if (n == 0 || cap == 0)
		return (false);
	out[0] = '\0';
	if (s[0] == '(') {
		while (i < n && s[i] == '(') {
			const char *c = memchr(s + i, ')', n - i);
			size_t      vs, ve;

			if (c == NULL)
				return (false);
			vs = (size_t) (c - s) + 1;
			for (ve = vs; ve < n && s[ve] != '('; ve++)
				;
			if ((size_t) (c - s) - i - 1 == al &&
			    memcmp(s + i + 1, ai, al) == 0)
				return (attr_set(s + vs, ve - vs, out, cap));
			i = ve;
		}
		return (false);
	}
	if (n > 3 && s[0] == ']')
		i = 3;
	else if (s[0] == 0x1d)
		i = 1;
	if (i > 0) {
		while (i + 2 <= n) {
			int    pl = predefined_len(s + i);
			size_t ve;

			if (pl > 0)
				ve = i + (size_t) pl > n ? n : i + (size_t) pl;
			else
				for (ve = i; ve < n && s[ve] != 0x1d; ve++)
					;
			if (i + al <= ve && memcmp(s + i, ai, al) == 0 &&
			    al == 2)
				return (
				    attr_set(s + i + 2, ve - i - 2, out, cap));
			i = ve < n && s[ve] == 0x1d ? ve + 1 : ve;
		}
		return (false);
	}
	/* A Digital Link: "/<ai>/<value>" in the path, or "<ai>=<value>"
	 * in the query (where the standard puts data attributes such as
	 * 17); values percent-encoded are compared as written. */
	{
		const char *q = memchr(s, '?', n);
		size_t      pe = q != NULL ? (size_t) (q - s) : n;

		for (size_t k = 0; k + al + 2 <= pe; k++) {
			if (s[k] == '/' && memcmp(s + k + 1, ai, al) == 0 &&
			    s[k + 1 + al] == '/') {
				size_t vs = k + al + 2, ve = vs;

				while (ve < pe && s[ve] != '/')
					ve++;
				return (attr_set(s + vs, ve - vs, out, cap));
			}
		}
		for (size_t k = pe + 1; q != NULL && k + al + 1 <= n; k++) {
			if ((s[k - 1] == '?' || s[k - 1] == '&') &&
			    memcmp(s + k, ai, al) == 0 && s[k + al] == '=') {
				size_t vs = k + al + 1, ve = vs;

				while (ve < n && s[ve] != '&' && s[ve] != '#')
					ve++;
				return (attr_set(s + vs, ve - vs, out, cap));
			}
		}
	}
	return (false);
}

/* YYMMDD (DD 00: the month's last day) against YYYY-MM-DD. */
static trc_check
date_check(const char *scan, const char *date)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	int              y, m, dd;

	if (scan[0] == '\0' || date[0] == '\0')
		return (TRC_CHECK_NONE);
	if (strlen(scan) != 6 || memcmp(scan, date + 2, 2) != 0 ||
	    memcmp(scan + 2, date + 5, 2) != 0)
		return (TRC_CHECK_MISMATCH);
	if (memcmp(scan + 4, date + 8, 2) == 0)
		return (TRC_CHECK_OK);
	if (memcmp(scan + 4, "00", 2) != 0)
		return (TRC_CHECK_MISMATCH);
	y = (date[0] - '0') * 1000 + (date[1] - '0') * 100 +
	    (date[2] - '0') * 10 + (date[3] - '0');
	m = (date[5] - '0') * 10 + (date[6] - '0');
	dd = (date[8] - '0') * 10 + (date[9] - '0');
	if (m < 1 || m > 12)
		return (TRC_CHECK_MISMATCH);
	return (dd == mdays[m - 1] + (m == 2 && y % 4 == 0 &&
	                              (y % 100 != 0 || y % 400 == 0))
	            ? TRC_CHECK_OK
	            : TRC_CHECK_MISMATCH);
}

/* ---- the verdict ---- */

/* The lot class key of a serial key "/01/<gtin>/21/<s>" (with an
 * "@<USCC>" scope kept) and a lot: "/01/<gtin>/10/<lot>", the lot
 * percent-encoded as a key holds it.  False if key is no SGTIN. */
bool
trc_lot_key(cm_bytes key, const char *lot, char *out, size_t cap)
{
	const uint8_t *p = NULL;
	cm_buf         b = {0};
	bool           ok;

	for (size_t i = 0; i + 4 <= key.len; i++)
		if (memcmp(key.p + i, "/21/", 4) == 0) {
			p = key.p + i;
			break;
		}
	if (p == NULL || lot[0] == '\0')
		return (false);
	ok = cm_buf_append(&b, key.p, (size_t) (p - key.p)) == CM_OK &&
	     cm_buf_append(&b, "/10/", 4) == CM_OK;
	for (const char *c = lot; ok && *c != '\0'; c++) {
		unsigned char u = (unsigned char) *c;

		if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
		    (u >= '0' && u <= '9') || strchr("'-.;=_", u) != NULL)
			ok = cm_buf_append_byte(&b, u) == CM_OK;
		else
			ok = cm_buf_printf(&b, "%%%02X", u) == CM_OK;
	}
	ok = ok && b.len < cap;
	if (ok) {
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
	}
	cm_buf_fini(&b);
	return (ok);
}

/* The first commissioning among v[0..n) and the ilmd it gives. */
static const trc_vev *
commissioning(const trc_vev *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].commissions)
			return (&v[i]);
	return (NULL);
}

typedef struct alert_count {
	uint64_t size;
	size_t   n;
} alert_count;

static cm_err
alert_counted(void *arg, const trc_alert *a)
{
	alert_count *c = arg;

	if (a->leaf < c->size)
		c->n++;
	return (CM_OK);
}

cm_err
trc_verify(ldg_txn *t, const trc_id *id, cm_bytes scan, uint64_t size,
           trc_verdict *out, cm_diag *d)
{
	cm_bytes       key = trc_id_key(id);
	trc_vev       *v = NULL;
	size_t         n = 0;
	const trc_vev *com;
	int            st = -1;
	char           today[TRC_DATE_MAX];
	alert_count    ac = {size, 0};
	cm_err         rv;

	memset(out, 0, sizeof(*out));
	out->size = size;
	out->as_of_ms = trc_log_time_at(t, size);
	if ((rv = trc_vev_list(t, key, size, &v, &n, d)) != CM_OK)
		goto out;
	out->nevents = n;
	if (n == 0) {
		out->status = TRC_STATUS_UNKNOWN;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int s = vev_status(&v[i]);

		if (v[i].disp[0] != '\0')
			snprintf(out->disposition, sizeof(out->disposition),
			         "%s", v[i].disp);
		if (s >= 0) {
			st = s;
			out->status_leaf = v[i].leaf;
		}
	}
	/* Lot and expiry: the commissioning's ilmd, else (a serial) its
	 * lot class's commissioning. */
	snprintf(out->scan_lot, sizeof(out->scan_lot), "%s", id->lot);
	(void) trc_scan_attr(scan, "17", out->scan_expiry,
	                     sizeof(out->scan_expiry));
	(void) trc_scan_attr(scan, "15", out->scan_best,
	                     sizeof(out->scan_best));
	if ((com = commissioning(v, n)) == NULL) {
		out->status = TRC_STATUS_NEVER;
		out->status_leaf = 0;
		goto alerts;
	}
	out->commission_leaf = com->leaf;
	if ((rv = trc_leaf_signer(t, com->leaf, out->commissioner)) != CM_OK)
		goto out;
	snprintf(out->lot, sizeof(out->lot), "%s",
	         com->lot[0] != '\0' ? com->lot : com->ref_lot);
	memcpy(out->expiry, com->expiry, sizeof(out->expiry));
	memcpy(out->best_before, com->best, sizeof(out->best_before));
	if (out->expiry[0] != '\0')
		out->expiry_leaf = com->leaf;
	if (out->expiry[0] == '\0' || out->best_before[0] == '\0') {
		char           lk[TRC_ID_KEY_MAX + 1];
		trc_vev       *lv = NULL;
		size_t         ln = 0;
		const trc_vev *lc;
		const char    *lot = out->lot[0] != '\0' ? out->lot : id->lot;

		if (trc_lot_key(key, lot, lk, sizeof(lk))) {
			if ((rv = trc_vev_list(t, CM_BYTES(lk, strlen(lk)),
			                       size, &lv, &ln, d)) != CM_OK)
				goto out;
			if ((lc = commissioning(lv, ln)) != NULL) {
				if (out->expiry[0] == '\0' &&
				    lc->expiry[0] != '\0') {
					memcpy(out->expiry, lc->expiry,
					       sizeof(out->expiry));
					out->expiry_leaf = lc->leaf;
				}
				if (out->best_before[0] == '\0')
					memcpy(out->best_before, lc->best,
					       sizeof(out->best_before));
			}
			cm_free(lv);
		}
	}
	out->lot_check =
	    out->scan_lot[0] == '\0' || out->lot[0] == '\0' ? TRC_CHECK_NONE
	    : strcmp(out->scan_lot, out->lot) == 0          ? TRC_CHECK_OK
	                                           : TRC_CHECK_MISMATCH;
	out->expiry_check = date_check(out->scan_expiry, out->expiry);
	out->best_check = date_check(out->scan_best, out->best_before);
	out->status = st < 0 ? TRC_STATUS_ACTIVE : (trc_status) st;
	/* Stock (not sold, dispensed, destroyed or decommissioned) past
	 * its expiry date at the log time is expired. */
	trc_date_of_ms(out->as_of_ms, today);
	if ((out->status == TRC_STATUS_ACTIVE ||
	     out->status == TRC_STATUS_IN_TRANSIT ||
	     out->status == TRC_STATUS_PARTIAL) &&
	    out->expiry[0] != '\0' && strcmp(today, out->expiry) > 0)
		out->status = TRC_STATUS_EXPIRED;
	if ((rv = trc_recall_covering(t, id, size, &out->recall_leaf, d)) !=
	    CM_OK)
		goto out;
	if (out->recall_leaf != 0 && (out->status == TRC_STATUS_ACTIVE ||
	                              out->status == TRC_STATUS_IN_TRANSIT ||
	                              out->status == TRC_STATUS_PARTIAL ||
	                              out->status == TRC_STATUS_EXPIRED))
		out->status = TRC_STATUS_RECALLED;
alerts:
	if ((rv = trc_alerts(t, key, 0, size, alert_counted, &ac)) != CM_OK)
		goto out;
	out->nalerts = ac.n;
out:
	cm_free(v);
	return (rv);
}

/* ---- the alerts index (docs/format.md section 10.2) ----
 * trace_alert: u64be(event leaf) || kind (1 byte) || object key ->
 * u64be(other leaf) || detail (the expiry date for 'e').
 * trace_alert_obj: object key || 0x00 || u64be(event leaf) || kind -> the
 * same value. */

static cm_err
alert_put(ldg_txn *t, const trc_alert *a)
{
	uint8_t k[8 + 1 + TRC_ID_KEY_MAX + 1], v[8 + TRC_DATE_MAX];
	size_t  dl = strlen(a->detail);
	ldg_db  adb, odb;
	cm_err  rv;

	cm_put_u64be(v, a->other);
	memcpy(v + 8, a->detail, dl);
	if ((rv = ldg_db_find(t, ALERT_DB, &adb)) != CM_OK ||
	    (rv = ldg_db_find(t, ALERT_OBJ_DB, &odb)) != CM_OK)
		return (rv);
	cm_put_u64be(k, a->leaf);
	k[8] = (uint8_t) a->kind;
	memcpy(k + 9, a->key, a->key_len);
	if ((rv = ldg_kv_put(t, adb, CM_BYTES(k, 9 + a->key_len),
	                     CM_BYTES(v, 8 + dl), 0)) != CM_OK)
		return (rv);
	memcpy(k, a->key, a->key_len);
	k[a->key_len] = 0;
	cm_put_u64be(k + a->key_len + 1, a->leaf);
	k[a->key_len + 9] = (uint8_t) a->kind;
	return (ldg_kv_put(t, odb, CM_BYTES(k, a->key_len + 10),
	                   CM_BYTES(v, 8 + dl), 0));
}

static void
alert_value(trc_alert *a, cm_bytes v)
{
	a->other = v.len >= 8 ? cm_get_u64be(v.p) : 0;
	copy_view(a->detail, sizeof(a->detail),
	          v.len > 8 ? CM_BYTES(v.p + 8, v.len - 8) : CM_BYTES("", 0));
}

cm_err
trc_alerts(ldg_txn *t, cm_bytes key, uint64_t from, uint64_t to,
           trc_alert_fn fn, void *arg)
{
	ldg_cursor *c = NULL;
	ldg_db      db;
	uint8_t     k0[TRC_ID_KEY_MAX + 9];
	cm_bytes    k, v;
	trc_alert   a;
	cm_err      rv;

	if (key.len > TRC_ID_KEY_MAX)
		return (CM_EINVAL);
	if ((rv = ldg_db_find(t, key.len > 0 ? ALERT_OBJ_DB : ALERT_DB, &db)) !=
	        CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	if (key.len > 0) {
		memcpy(k0, key.p, key.len);
		k0[key.len] = 0;
		rv = ldg_cursor_seek(c, CM_BYTES(k0, key.len + 1), &k, &v);
	} else {
		cm_put_u64be(k0, from);
		rv = ldg_cursor_seek(c, CM_BYTES(k0, 8), &k, &v);
	}
	for (; rv == CM_OK; rv = ldg_cursor_next(c, &k, &v)) {
		memset(&a, 0, sizeof(a));
		if (key.len > 0) {
			if (k.len != key.len + 10 ||
			    memcmp(k.p, k0, key.len + 1) != 0)
				break;
			a.leaf = cm_get_u64be(k.p + key.len + 1);
			a.kind = (trc_alert_kind) k.p[key.len + 9];
			memcpy(a.key, key.p, key.len);
			a.key_len = key.len;
		} else {
			if (k.len < 10 || k.len > 9 + TRC_ID_KEY_MAX) {
				rv = CM_ECORRUPT;
				break;
			}
			a.leaf = cm_get_u64be(k.p);
			a.kind = (trc_alert_kind) k.p[8];
			a.key_len = k.len - 9;
			memcpy(a.key, k.p + 9, a.key_len);
		}
		if (a.leaf < from)
			continue;
		if (a.leaf >= to) {
			if (key.len > 0)
				continue;
			break;
		}
		alert_value(&a, v);
		if ((rv = fn(arg, &a)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

/* The alerts of sale s (of v[0..n), in time order) on key: the nearest
 * other sale or dispensing with no return between; the disposition
 * recalled just before it; its expiry passed on its local date. */
static cm_err
sale_alerts(ldg_txn *t, const trc_vev *v, size_t n, size_t s, cm_bytes key,
            bool serial, const char *expiry, uint64_t expiry_leaf,
            uint64_t recall_leaf)
{
	trc_alert a;
	char      day[TRC_DATE_MAX];
	cm_err    rv;

	memset(&a, 0, sizeof(a));
	a.leaf = v[s].leaf;
	memcpy(a.key, key.p, key.len);
	a.key_len = key.len;
	if (serial) {
		uint64_t other = 0;

		for (size_t i = s; other == 0 && i-- > 0;) {
			if (trc_vev_is_return(&v[i]))
				break;
			if (trc_vev_is_sale(&v[i]))
				other = v[i].leaf;
		}
		for (size_t i = s + 1; other == 0 && i < n; i++) {
			if (trc_vev_is_return(&v[i]))
				break;
			if (trc_vev_is_sale(&v[i]))
				other = v[i].leaf;
		}
		if (other != 0) {
			a.kind = TRC_ALERT_DOUBLE;
			a.other = other;
			if ((rv = alert_put(t, &a)) != CM_OK)
				return (rv);
		}
	}
	a.other = recall_leaf;
	for (size_t i = s; a.other == 0 && i-- > 0;) {
		if (v[i].disp[0] == '\0')
			continue;
		if (v[i].disp_cbv && strcmp(v[i].disp, "recalled") == 0)
			a.other = v[i].leaf;
		break;
	}
	if (a.other != 0) {
		a.kind = TRC_ALERT_RECALLED;
		if ((rv = alert_put(t, &a)) != CM_OK)
			return (rv);
	}
	trc_date_of_ms(v[s].local_ms, day);
	if (expiry[0] != '\0' && strcmp(day, expiry) > 0) {
		a.kind = TRC_ALERT_EXPIRED;
		a.other = expiry_leaf;
		snprintf(a.detail, sizeof(a.detail), "%s", expiry);
		if ((rv = alert_put(t, &a)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

/* The alerts of a sale on one of its identifiers (the key as indexed). */
static cm_err
ref_alerts(ldg_txn *t, const ldg_leaf *leaf, const trc_event_ref *r,
           uint64_t size, cm_diag *d)
{
	cm_bytes       key = CM_BYTES(r->key, r->key_len);
	trc_vev       *v = NULL, *lv = NULL;
	size_t         n = 0, ln = 0, s;
	const trc_vev *com, *lc = NULL;
	char           expiry[TRC_DATE_MAX] = "", lk[TRC_ID_KEY_MAX + 1];
	const char    *lot;
	uint64_t       expiry_leaf = 0, recall_leaf = 0;
	trc_id         id;
	cm_err         rv;

	if ((rv = trc_vev_list(t, key, size, &v, &n, d)) != CM_OK)
		goto out;
	for (s = 0; s < n && v[s].leaf != leaf->index; s++)
		;
	if (s == n || !trc_vev_is_sale(&v[s]))
		goto out;
	if ((com = commissioning(v, n)) != NULL) {
		memcpy(expiry, com->expiry, sizeof(expiry));
		expiry_leaf = com->leaf;
	}
	lot = com != NULL && com->lot[0] != '\0'       ? com->lot
	      : com != NULL && com->ref_lot[0] != '\0' ? com->ref_lot
	                                               : r->lot;
	if (!r->is_class && trc_lot_key(key, lot, lk, sizeof(lk))) {
		if ((rv = trc_vev_list(t, CM_BYTES(lk, strlen(lk)), size, &lv,
		                       &ln, d)) != CM_OK)
			goto out;
		if (expiry[0] == '\0' && (lc = commissioning(lv, ln)) != NULL) {
			memcpy(expiry, lc->expiry, sizeof(expiry));
			expiry_leaf = lc->leaf;
		}
		/* The lot's disposition recalled, before the sale. */
		for (size_t i = ln; i-- > 0;) {
			if (lv[i].time_ms > v[s].time_ms || lv[i].disp[0] == 0)
				continue;
			if (lv[i].disp_cbv &&
			    strcmp(lv[i].disp, "recalled") == 0)
				recall_leaf = lv[i].leaf;
			break;
		}
	}
	memset(&id, 0, sizeof(id));
	memcpy(id.key, key.p, key.len);
	id.key_len = key.len;
	id.is_class = r->is_class;
	snprintf(id.lot, sizeof(id.lot), "%s", lot);
	if (recall_leaf == 0 &&
	    (rv = trc_recall_covering(t, &id, size, &recall_leaf, d)) != CM_OK)
		goto out;
	rv = sale_alerts(t, v, n, s, key, !r->is_class, expiry, expiry_leaf,
	                 recall_leaf);
out:
	cm_free(v);
	cm_free(lv);
	return (rv);
}

cm_err
trc_alert_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	cm_json      *j = NULL;
	trc_event     ev;
	trc_event_ctx c = {0};
	cm_bytes      text, id;
	cm_err        rv;

	memset(&ev, 0, sizeof(ev));
	if (leaf->record == NULL ||
	    !cm_bytes_eq_str(leaf->record->kind, "trace.event"))
		return (CM_OK);
	if ((rv = trc_event_at(t, leaf->index, &text, &id, d)) != CM_OK)
		return (rv);
	if (cm_json_parse(text, &j, d) != CM_OK)
		return (CM_ECORRUPT);
	if (leaf->record->signer != NULL &&
	    leaf->record->signer->uscc[0] != '\0')
		c.uscc = CM_BYTES(leaf->record->signer->uscc,
		                  strlen(leaf->record->signer->uscc));
	else
		c.unscoped = true;
	if ((rv = trc_event_check(j, &c, &ev, d)) != CM_OK || ev.has_error)
		goto out;
	for (size_t i = 0; i < ev.nrefs; i++) {
		const trc_event_ref *r = &ev.refs[i];

		if (r->role != TRC_ROLE_EPC)
			continue;
		if ((rv = ref_alerts(t, leaf, r, leaf->index + 1, d)) != CM_OK)
			goto out;
	}
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}
