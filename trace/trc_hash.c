/* SPDX-License-Identifier: MIT */
/* trace/trc_hash.c -- the CBV 2.0 event hash: an event's canonical pre-hash
 * string and its ni:///sha-256 ID.  The rules follow the published vectors
 * of the reference implementation where they and the prose differ
 * (docs/trace.md section 2 lists them).  Every piece of the string is built
 * in its own buffer, then siblings are sorted bytewise and joined. */
#include "trace/trc_impl.h"

#include <math.h> /* isfinite: a macro, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_DEPTH_MAX 24
#define NUM_TEXT_MAX 400 /* longest text read as a number */

/* ---- sorted string lists ------------------------------------------------- */

typedef struct slist {
	cm_buf *v;
	size_t  n, cap;
} slist;

static void
sl_fini(slist *l)
{
	for (size_t i = 0; i < l->n; i++)
		cm_buf_fini(&l->v[i]);
	cm_free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Consumes *b (on success and on failure). */
static cm_err
sl_take(slist *l, cm_buf *b)
{
	if (l->n == l->cap) {
		size_t  cap = l->cap ? l->cap * 2 : 8;
		cm_buf *v = cm_realloc(l->v, cap * sizeof(*v));

		if (v == NULL) {
			cm_buf_fini(b);
			return (CM_ENOMEM);
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *b;
	memset(b, 0, sizeof(*b));
	return (CM_OK);
}

static int
buf_cmp(const void *a, const void *b)
{
	return (cm_bytes_cmp(cm_buf_bytes(a), cm_buf_bytes(b)));
}

/* Sorts the list and appends its members to out, in order. */
static cm_err
sl_join(slist *l, cm_buf *out)
{
	cm_err rv = CM_OK;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), buf_cmp);
	for (size_t i = 0; i < l->n && rv == CM_OK; i++)
		rv = cm_buf_append(out, l->v[i].p, l->v[i].len);
	return (rv);
}

static bool
name_is(const char *k, size_t kl, const char *s)
{
	return (cm_bytes_eq_str(CM_BYTES(k, kl), s));
}

/* ---- the context: CURIE prefixes ----------------------------------------- */

#define NS_MAX 32

typedef struct hash_ctx {
	size_t      n;
	const char *pfx[NS_MAX], *iri[NS_MAX];
	size_t      pfx_len[NS_MAX], iri_len[NS_MAX];
	cm_diag    *d;
} hash_ctx;

static void
ctx_add(hash_ctx *c, const char *p, size_t pl, const char *iri, size_t il)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->pfx_len[i] == pl && memcmp(c->pfx[i], p, pl) == 0) {
			c->iri[i] = iri; /* a later definition wins */
			c->iri_len[i] = il;
			return;
		}
	if (c->n == NS_MAX)
		return;
	c->pfx[c->n] = p;
	c->pfx_len[c->n] = pl;
	c->iri[c->n] = iri;
	c->iri_len[c->n] = il;
	c->n++;
}

void
trc_context_prefixes(const cm_json *v, trc_prefix_fn fn, void *arg)
{
	if (cm_json_is_array(v)) {
		for (size_t i = 0; i < cm_json_len(v); i++)
			trc_context_prefixes(cm_json_at(v, i), fn, arg);
		return;
	}
	if (!cm_json_is_object(v))
		return;
	for (size_t i = 0; i < cm_json_len(v); i++) {
		cm_json    *val;
		size_t      kl, il;
		const char *k = cm_json_key_at(v, i, &val, &kl);
		const char *iri = cm_json_str(val, &il);

		if (k != NULL && iri != NULL)
			fn(arg, k, kl, iri, il);
	}
}

static void
ctx_add_fn(void *arg, const char *p, size_t pl, const char *iri, size_t il)
{
	ctx_add(arg, p, pl, iri, il);
}

static void
ctx_read(hash_ctx *c, const cm_json *v)
{
	trc_context_prefixes(v, ctx_add_fn, c);
}

static void
ctx_init(hash_ctx *c, const cm_json *doc, const cm_json *event, cm_diag *d)
{
	static const char mda[] = "urn:epcglobal:cbv:mda";

	memset(c, 0, sizeof(*c));
	c->d = d;
	/* The EPCIS 2.0 context's own prefix, as the vectors write it. */
	ctx_add(c, "cbvmda", 6, mda, sizeof(mda) - 1);
	if (doc != NULL)
		ctx_read(c, cm_json_get(doc, "@context"));
	if (event != NULL)
		ctx_read(c, cm_json_get(event, "@context"));
}

/* A member's name in the pre-hash: "{iri}local" for a CURIE whose prefix
 * the context defines, else the key as written. */
static cm_err
name_write(const hash_ctx *c, const char *k, size_t kl, cm_buf *out)
{
	const char *colon = memchr(k, ':', kl);

	if (colon != NULL) {
		size_t pl = (size_t) (colon - k);

		for (size_t i = 0; i < c->n; i++)
			if (c->pfx_len[i] == pl &&
			    memcmp(c->pfx[i], k, pl) == 0) {
				cm_err rv = cm_buf_append_byte(out, '{');

				if (rv == CM_OK)
					rv = cm_buf_append(out, c->iri[i],
					                   c->iri_len[i]);
				if (rv == CM_OK)
					rv = cm_buf_append_byte(out, '}');
				if (rv == CM_OK)
					rv = cm_buf_append(out, colon + 1,
					                   kl - pl - 1);
				return (rv);
			}
	}
	return (cm_buf_append(out, k, kl));
}

/* ---- values -------------------------------------------------------------- */

/* A double as the reference implementation writes numbers: integral values
 * as integers, others in their shortest round-trip form. */
static cm_err
num_write(double v, cm_buf *out)
{
	char b[40];

	if (!isfinite(v))
		return (cm_buf_printf(out, "%s", v != v ? "nan" : "inf"));
	/* From 2^52 up every double is an integer; an integer is written
	 * with all its digits (up to 309), as Python's int() has them. */
	if ((v < 0 ? -v : v) >= 4503599627370496.0 || v == (double) (int64_t) v)
		return (cm_buf_printf(out, "%.0f", v == 0 ? 0.0 : v));
	for (int p = 1; p <= 17; p++) {
		snprintf(b, sizeof(b), "%.*g", p, v);
		if (strtod(b, NULL) == v)
			break;
	}
	return (cm_buf_printf(out, "%s", b));
}

/* Number text as Python's float() reads it (the reference normalises every
 * value that reads as a number): [+-] digits [. digits] [e [+-] digits]. */
static bool
numeric(const char *s, size_t n)
{
	size_t i = 0, dig = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		dig++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			dig++;
	if (dig == 0)
		return (false);
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			ed++;
		if (ed == 0)
			return (false);
	}
	return (i == n && n < NUM_TEXT_MAX);
}

static int
dig2(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return (-1);
	return ((p[0] - '0') * 10 + (p[1] - '0'));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

/* An xsd:dateTime with a zone, "YYYY-MM-DDTHH:MM:SS[.f]Z|+hh:mm", as ms
 * since 1970 UTC, decimals past the third rounded half up; false if s is
 * not one. */
bool
trc_time_ms(const char *s, size_t n, int64_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	int              y, mo, d, h, mi, se, ms = 0, off = 0;
	size_t           i = 19;
	int64_t          t;

	if (n < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return (false);
	y = dig2(s) * 100 + dig2(s + 2);
	mo = dig2(s + 5), d = dig2(s + 8);
	h = dig2(s + 11), mi = dig2(s + 14), se = dig2(s + 17);
	if (dig2(s) < 0 || dig2(s + 2) < 0 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    se < 0 || se > 59)
		return (false);
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return (false);
	if (i < n && s[i] == '.') {
		int k = 0;

		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++) {
			if (k < 3)
				ms = ms * 10 + (s[i] - '0');
			else if (k == 3 && s[i] >= '5')
				ms++; /* half up, on the decimal digits */
		}
		if (k == 0)
			return (false);
		for (; k < 3; k++)
			ms *= 10;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		off = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
	           s[i + 3] == ':' && dig2(s + i + 1) >= 0 &&
	           dig2(s + i + 1) <= 23 && dig2(s + i + 4) >= 0 &&
	           dig2(s + i + 4) <= 59) {
		off = dig2(s + i + 1) * 60 + dig2(s + i + 4);
		if (s[i] == '-')
			off = -off;
	} else {
		return (false);
	}
	t = days_from_civil(y, mo, d) * 86400000 +
	    ((int64_t) h * 3600 + mi * 60 + se - (int64_t) off * 60) * 1000 +
	    ms;
	*out = t;
	return (true);
}

/* s as UTC with exactly three decimals; false if s is not a time or its
 * UTC year is outside 0000-9999. */
static bool
time_canon(const char *s, size_t n, char out[32])
{
	int     y, mo, d;
	int64_t t;

	if (!trc_time_ms(s, n, &t))
		return (false);
	{
		int64_t day =
		    t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
		int64_t rem = t - day * 86400000;

		civil_from_days(day, &y, &mo, &d);
		if (y < 0 || y > 9999)
			return (false);
		snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo,
		         d, (int) (rem / 3600000), (int) (rem / 60000 % 60),
		         (int) (rem / 1000 % 60), (int) (rem % 1000));
	}
	return (true);
}

/* Does a member named so hold a time?  The reference's rule: the name holds
 * "time" and not "offset" (eventTime, time, startTime, ext:time...). */
static bool
time_name(const char *k, size_t kl)
{
	bool t = false, o = false;

	for (size_t i = 0; i + 4 <= kl; i++) {
		char w[7] = {0};

		for (size_t j = 0; j < 6 && i + j < kl; j++) {
			char c = k[i + j];

			w[j] =
			    (char) (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		t = t || memcmp(w, "time", 4) == 0;
		o = o || memcmp(w, "offset", 6) == 0;
	}
	return (t && !o);
}

/* Trims the JSON whitespace the reference strips from text values. */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 &&
	       (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r'))
		(*s)++, (*n)--;
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
	                  (*s)[*n - 1] == '\n' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* A value that is a CURIE whose prefix the context defines is written as
 * the full IRI (cbv:Comp-latitude); *out_done says whether it was one. */
static cm_err
curie_write(const hash_ctx *c, const char *s, size_t n, cm_buf *out,
            bool *out_done)
{
	const char *colon = memchr(s, ':', n);

	*out_done = false;
	if (colon == NULL)
		return (CM_OK);
	for (size_t i = 0; i < c->n; i++)
		if (c->pfx_len[i] == (size_t) (colon - s) &&
		    memcmp(c->pfx[i], s, c->pfx_len[i]) == 0) {
			cm_err rv =
			    cm_buf_append(out, c->iri[i], c->iri_len[i]);

			*out_done = true;
			if (rv == CM_OK)
				rv = cm_buf_append(out, colon + 1,
				                   n - c->pfx_len[i] - 1);
			return (rv);
		}
	return (CM_OK);
}

/* Writes a text value canonically: a time as UTC ms, a number without
 * trailing zeros, a CURIE of the context in full, a GS1 key as its
 * constrained canonical Digital Link, anything else as it is.  is_time: the
 * member's name marks a time. */
static cm_err
text_write(const hash_ctx *c, const char *s, size_t n, bool is_time,
           cm_buf *out)
{
	static const trc_id_ctx unscoped = {.unscoped = true};
	char                    tb[32];
	trc_id                  id;
	bool                    done = false;
	cm_err                  rv;

	trim(&s, &n);
	if (is_time && time_canon(s, n, tb))
		return (cm_buf_append(out, tb, strlen(tb)));
	if ((rv = curie_write(c, s, n, out, &done)) != CM_OK || done)
		return (rv);
	if (numeric(s, n)) {
		char b[NUM_TEXT_MAX];

		memcpy(b, s, n);
		b[n] = '\0';
		return (num_write(strtod(b, NULL), out));
	}
	if (n <= TRC_ID_TEXT_MAX &&
	    trc_id_parse(CM_BYTES(s, n), &unscoped, &id, NULL) == CM_OK &&
	    id.kind == TRC_ID_GS1)
		return (trc_id_canonical_dl(&id, out));
	return (cm_buf_append(out, s, n));
}

/* A scalar JSON value's text; false for objects, arrays and null. */
static cm_err
scalar_write(const hash_ctx *c, const cm_json *v, bool is_time, cm_buf *out,
             bool *out_done)
{
	const char *s;
	size_t      n;
	int64_t     i;
	double      r;

	*out_done = true;
	switch (cm_json_typeof(v)) {
	case CM_JSON_STRING:
		s = cm_json_str(v, &n);
		return (text_write(c, s, n, is_time, out));
	case CM_JSON_INTEGER:
		(void) cm_json_int(v, &i);
		return (cm_buf_printf(out, "%lld", (long long) i));
	case CM_JSON_REAL:
		(void) cm_json_real(v, &r);
		return (num_write(r, out));
	case CM_JSON_TRUE:
		return (cm_buf_append(out, "true", 4));
	case CM_JSON_FALSE:
		return (cm_buf_append(out, "false", 5));
	default:
		*out_done = false;
		return (CM_OK);
	}
}

/* A CBV value: a bare word becomes the Web URI base + word; the CBV 1.x
 * URN form (urn:epcglobal:cbv:<urn>:word) too; anything else is kept. */
static cm_err
vocab_write(const hash_ctx *c, const cm_json *v, const char *base,
            const char *urn, cm_buf *out)
{
	size_t      n, ul = urn != NULL ? strlen(urn) : 0;
	const char *s = cm_json_str(v, &n);
	bool        done;

	if (s != NULL) {
		trim(&s, &n);
		if (ul > 0 && n > ul && memcmp(s, urn, ul) == 0)
			return (cm_buf_printf(out, "%s%.*s", base,
			                      (int) (n - ul), s + ul));
		if (n > 4 && memcmp(s, "gs1:", 4) == 0 &&
		    strstr(base, "/voc/") != NULL)
			return (cm_buf_printf(out, "%s%.*s", base,
			                      (int) (n - 4), s + 4));
		if (n > 0 && memchr(s, ':', n) == NULL)
			return (cm_buf_printf(out, "%s%.*s", base, (int) n, s));
	}
	return (scalar_write(c, v, false, out, &done));
}

/* "name=value" into out; nothing if v is not a scalar. */
static cm_err
field_write(const hash_ctx *c, const char *name, const cm_json *v, cm_buf *out)
{
	size_t mark = out->len;
	bool   done;
	cm_err rv = cm_buf_printf(out, "%s=", name);

	if (rv == CM_OK)
		rv = scalar_write(c, v, time_name(name, strlen(name)), out,
		                  &done);
	if (rv == CM_OK && !done)
		out->len = mark;
	return (rv);
}

/* ---- extensions (members outside the standard fields) -------------------- */

static cm_err gen_member(const hash_ctx *c, const char *k, size_t kl,
                         const cm_json *v, int depth, slist *out);

/* The members of obj (those not named in skip, a NULL-terminated list),
 * each as one or more entries of out. */
static cm_err
gen_members(const hash_ctx *c, const cm_json *obj, const char *const *skip,
            int depth, slist *out)
{
	cm_err rv = CM_OK;

	for (size_t i = 0; i < cm_json_len(obj) && rv == CM_OK; i++) {
		cm_json    *v;
		size_t      kl;
		const char *k = cm_json_key_at(obj, i, &v, &kl);
		bool        std = false;

		for (size_t j = 0; skip != NULL && skip[j] != NULL; j++)
			std = std || name_is(k, kl, skip[j]);
		if (!std && kl > 0 && k[0] != '@')
			rv = gen_member(c, k, kl, v, depth, out);
	}
	return (rv);
}

/* One extension member: name=value, name + its sorted members for an
 * object, and one entry per element for an array. */
static cm_err
gen_member(const hash_ctx *c, const char *k, size_t kl, const cm_json *v,
           int depth, slist *out)
{
	cm_buf b = {0};
	slist  sub = {0};
	cm_err rv;
	bool   done;

	if (depth > HASH_DEPTH_MAX)
		return (cm_fail(c->d, CM_EPROTO,
		                "extension nested deeper than %d levels",
		                HASH_DEPTH_MAX));
	if (cm_json_is_array(v)) {
		rv = CM_OK;
		for (size_t i = 0; i < cm_json_len(v) && rv == CM_OK; i++)
			rv = gen_member(c, k, kl, cm_json_at(v, i), depth + 1,
			                out);
		return (rv);
	}
	if (cm_json_typeof(v) == CM_JSON_NULL)
		return (CM_OK);
	rv = name_write(c, k, kl, &b);
	if (rv == CM_OK && cm_json_is_object(v)) {
		rv = gen_members(c, v, NULL, depth + 1, &sub);
		if (rv == CM_OK)
			rv = sl_join(&sub, &b);
	} else if (rv == CM_OK) {
		size_t mark = b.len;

		rv = cm_buf_append_byte(&b, '=');
		if (rv == CM_OK)
			rv = scalar_write(c, v, time_name(k, kl), &b, &done);
		if (rv == CM_OK && !done)
			b.len = mark;
	}
	sl_fini(&sub);
	if (rv != CM_OK) {
		cm_buf_fini(&b);
		return (rv);
	}
	return (sl_take(out, &b));
}

/* The leftover (extension) members of a standard object, as one entry
 * "name" + sorted members, if there are any. */
static cm_err
leftover(const hash_ctx *c, const char *name, const cm_json *obj,
         const char *const *std, slist *extra, slist *out)
{
	slist  l = {0};
	cm_buf b = {0};
	cm_err rv = CM_OK;

	if (cm_json_is_object(obj))
		rv = gen_members(c, obj, std, 1, &l);
	for (size_t i = 0; extra != NULL && i < extra->n && rv == CM_OK; i++)
		rv = sl_take(&l, &extra->v[i]);
	if (extra != NULL)
		extra->n = 0;
	if (rv == CM_OK && l.n > 0) {
		rv = cm_buf_append(&b, name, strlen(name));
		if (rv == CM_OK)
			rv = sl_join(&l, &b);
		if (rv == CM_OK)
			rv = sl_take(out, &b);
		else
			cm_buf_fini(&b);
	}
	sl_fini(&l);
	return (rv);
}

/* ---- the standard fields ------------------------------------------------- */

/* The sensor fields in the order CBV 2.0 writes them. */
static const char *const sensor_meta[] = {"time",
                                          "startTime",
                                          "endTime",
                                          "deviceID",
                                          "deviceMetadata",
                                          "rawData",
                                          "dataProcessingMethod",
                                          "bizRules",
                                          NULL};
static const char *const sensor_report[] = {"type",
                                            "exception",
                                            "deviceID",
                                            "deviceMetadata",
                                            "rawData",
                                            "dataProcessingMethod",
                                            "time",
                                            "microorganism",
                                            "chemicalSubstance",
                                            "value",
                                            "component",
                                            "stringValue",
                                            "booleanValue",
                                            "hexBinaryValue",
                                            "uriValue",
                                            "minValue",
                                            "maxValue",
                                            "meanValue",
                                            "sDev",
                                            "percRank",
                                            "percValue",
                                            "uom",
                                            "coordinateReferenceSystem",
                                            NULL};
static const char *const sensor_elem[] = {"sensorMetadata", "sensorReport",
                                          NULL};
static const char *const id_only[] = {"id", NULL};

#define GS1_VOC "https://ref.gs1.org/voc/"
#define CBV "https://ref.gs1.org/cbv/"

/* Fields of a sensor object in their order: name=value. */
static cm_err
sensor_fields(const hash_ctx *c, const cm_json *o, const char *const *order,
              cm_buf *out)
{
	cm_err rv = CM_OK;

	for (size_t i = 0; order[i] != NULL && rv == CM_OK; i++) {
		const cm_json *v = cm_json_get(o, order[i]);

		if (v == NULL)
			continue;
		if (strcmp(order[i], "type") == 0 ||
		    strcmp(order[i], "exception") == 0) {
			rv = cm_buf_printf(out, "%s=", order[i]);
			if (rv == CM_OK)
				rv = vocab_write(c, v, GS1_VOC, NULL, out);
		} else {
			rv = field_write(c, order[i], v, out);
		}
	}
	return (rv);
}

static cm_err
sensors_write(const hash_ctx *c, const cm_json *list, cm_buf *out, slist *ext)
{
	slist  els = {0};
	cm_err rv = CM_OK;

	for (size_t i = 0; i < cm_json_len(list) && rv == CM_OK; i++) {
		const cm_json *e = cm_json_at(list, i);
		const cm_json *md = cm_json_get(e, "sensorMetadata");
		const cm_json *rep = cm_json_get(e, "sensorReport");
		cm_buf         b = {0};
		slist          reps = {0}, left = {0};

		rv = cm_buf_append(&b, "sensorElement", 13);
		if (rv == CM_OK && md != NULL) {
			rv = cm_buf_append(&b, "sensorMetadata", 14);
			if (rv == CM_OK)
				rv = sensor_fields(c, md, sensor_meta, &b);
			if (rv == CM_OK)
				rv = leftover(c, "sensorMetadata", md,
				              sensor_meta, NULL, &left);
		}
		for (size_t j = 0; j < cm_json_len(rep) && rv == CM_OK; j++) {
			const cm_json *r = cm_json_at(rep, j);
			cm_buf         rb = {0};

			rv = cm_buf_append(&rb, "sensorReport", 12);
			if (rv == CM_OK)
				rv = sensor_fields(c, r, sensor_report, &rb);
			if (rv == CM_OK)
				rv = sl_take(&reps, &rb);
			else
				cm_buf_fini(&rb);
			if (rv == CM_OK)
				rv = leftover(c, "sensorReport", r,
				              sensor_report, NULL, &left);
		}
		if (rv == CM_OK)
			rv = sl_join(&reps, &b);
		if (rv == CM_OK)
			rv = leftover(c, "sensorElement", e, sensor_elem, &left,
			              ext);
		if (rv == CM_OK)
			rv = sl_take(&els, &b);
		else
			cm_buf_fini(&b);
		sl_fini(&reps);
		sl_fini(&left);
	}
	if (rv == CM_OK)
		rv = sl_join(&els, out);
	sl_fini(&els);
	return (rv);
}

/* Writes one list member into its own buffer. */
typedef cm_err (*entry_fn)(const hash_ctx *c, const cm_json *e, const void *arg,
                           cm_buf *b);

/* name (when the list has members) and the members, sorted. */
static cm_err
list_write(const hash_ctx *c, const char *name, const cm_json *list,
           entry_fn fn, const void *arg, cm_buf *out)
{
	slist  l = {0};
	cm_err rv = CM_OK;

	for (size_t i = 0; i < cm_json_len(list) && rv == CM_OK; i++) {
		cm_buf b = {0};

		rv = fn(c, cm_json_at(list, i), arg, &b);
		if (rv == CM_OK)
			rv = sl_take(&l, &b);
		else
			cm_buf_fini(&b);
	}
	if (rv == CM_OK && l.n > 0 && name != NULL)
		rv = cm_buf_append(out, name, strlen(name));
	if (rv == CM_OK)
		rv = sl_join(&l, out);
	sl_fini(&l);
	return (rv);
}

/* An EPC list member: "epc=<canonical>". */
static cm_err
epc_entry(const hash_ctx *c, const cm_json *e, const void *arg, cm_buf *b)
{
	(void) arg;
	return (field_write(c, "epc", e, b));
}

/* A quantity element: "quantityElement" + epcClass, quantity, uom. */
static cm_err
qty_entry(const hash_ctx *c, const cm_json *q, const void *arg, cm_buf *b)
{
	static const char *const f[] = {"epcClass", "quantity", "uom"};
	cm_err                   rv = cm_buf_append(b, "quantityElement", 15);

	(void) arg;
	for (size_t i = 0; i < 3 && rv == CM_OK; i++)
		rv = field_write(c, f[i], cm_json_get(q, f[i]), b);
	return (rv);
}

struct typed {
	const char *item, *base, *urn;
};

/* bizTransactionList, sourceList, destinationList members: "type=<CBV
 * URI>" then "<item>=<canonical>" (type first, as the vectors have it). */
static cm_err
typed_entry(const hash_ctx *c, const cm_json *e, const void *arg, cm_buf *b)
{
	const struct typed *t = arg;
	const cm_json      *ty = cm_json_get(e, "type");
	cm_err              rv = CM_OK;

	if (ty != NULL) {
		rv = cm_buf_append(b, "type=", 5);
		if (rv == CM_OK)
			rv = vocab_write(c, ty, t->base, t->urn, b);
	}
	if (rv == CM_OK)
		rv = field_write(c, t->item, cm_json_get(e, t->item), b);
	return (rv);
}

/* A persistentDisposition set/unset member: "<part>=<Disp URI>". */
static cm_err
disp_entry(const hash_ctx *c, const cm_json *e, const void *arg, cm_buf *b)
{
	cm_err rv = cm_buf_printf(b, "%s=", (const char *) arg);

	if (rv == CM_OK)
		rv = vocab_write(c, e, CBV "Disp-",
		                 "urn:epcglobal:cbv:disp:", b);
	return (rv);
}

static cm_err
pdisp_write(const hash_ctx *c, const cm_json *pd, cm_buf *out)
{
	cm_err rv = cm_buf_append(out, "persistentDisposition", 21);

	if (rv == CM_OK)
		rv = list_write(c, NULL, cm_json_get(pd, "set"), disp_entry,
		                "set", out);
	if (rv == CM_OK)
		rv = list_write(c, NULL, cm_json_get(pd, "unset"), disp_entry,
		                "unset", out);
	return (rv);
}

/* The event fields in pre-hash order, and how each is written. */
typedef enum fkind {
	FK_TEXT,
	FK_EPCS,
	FK_QTY,
	FK_VOCAB,
	FK_PDISP,
	FK_IDOBJ,
	FK_TYPED,
	FK_SENSORS,
	FK_ILMD
} fkind;

static const struct efield {
	const char *name;
	fkind       kind;
	const char *a, *b, *c; /* item / vocabulary base / CBV 1.x URN */
} efields[] = {
    {"eventTime", FK_TEXT, NULL, NULL, NULL},
    {"eventTimeZoneOffset", FK_TEXT, NULL, NULL, NULL},
    {"epcList", FK_EPCS, NULL, NULL, NULL},
    {"parentID", FK_TEXT, NULL, NULL, NULL},
    {"inputEPCList", FK_EPCS, NULL, NULL, NULL},
    {"childEPCs", FK_EPCS, NULL, NULL, NULL},
    {"quantityList", FK_QTY, NULL, NULL, NULL},
    {"childQuantityList", FK_QTY, NULL, NULL, NULL},
    {"inputQuantityList", FK_QTY, NULL, NULL, NULL},
    {"outputEPCList", FK_EPCS, NULL, NULL, NULL},
    {"outputQuantityList", FK_QTY, NULL, NULL, NULL},
    {"action", FK_TEXT, NULL, NULL, NULL},
    {"transformationID", FK_TEXT, NULL, NULL, NULL},
    {"bizStep", FK_VOCAB, NULL, CBV "BizStep-", "urn:epcglobal:cbv:bizstep:"},
    {"disposition", FK_VOCAB, NULL, CBV "Disp-", "urn:epcglobal:cbv:disp:"},
    {"persistentDisposition", FK_PDISP, NULL, NULL, NULL},
    {"readPoint", FK_IDOBJ, NULL, NULL, NULL},
    {"bizLocation", FK_IDOBJ, NULL, NULL, NULL},
    {"bizTransactionList", FK_TYPED, "bizTransaction", CBV "BTT-",
     "urn:epcglobal:cbv:btt:"},
    {"sourceList", FK_TYPED, "source", CBV "SDT-", "urn:epcglobal:cbv:sdt:"},
    {"destinationList", FK_TYPED, "destination", CBV "SDT-",
     "urn:epcglobal:cbv:sdt:"},
    {"sensorElementList", FK_SENSORS, NULL, NULL, NULL},
    {"ilmd", FK_ILMD, NULL, NULL, NULL},
};
#define NEFIELDS (sizeof(efields) / sizeof(efields[0]))

/* Members that are not hashed (CBV 2.0: the ID, the record time and an
 * error declaration; the vectors leave certificationInfo out too). */
static const char *const not_hashed[] = {
    "type", "eventID", "recordTime", "errorDeclaration", "certificationInfo",
    NULL};

static const char *const event_types[] = {
    "ObjectEvent",         "AggregationEvent", "TransactionEvent",
    "TransformationEvent", "AssociationEvent", NULL};

static cm_err
efield_write(const hash_ctx *c, const struct efield *f, const cm_json *v,
             cm_buf *out, slist *ext)
{
	cm_err rv = CM_OK;
	slist  l = {0};

	switch (f->kind) {
	case FK_TEXT:
		return (field_write(c, f->name, v, out));
	case FK_EPCS:
		return (list_write(c, f->name, v, epc_entry, NULL, out));
	case FK_QTY:
		return (list_write(c, f->name, v, qty_entry, NULL, out));
	case FK_VOCAB:
		if ((rv = cm_buf_printf(out, "%s=", f->name)) == CM_OK)
			rv = vocab_write(c, v, f->b, f->c, out);
		return (rv);
	case FK_PDISP:
		return (pdisp_write(c, v, out));
	case FK_IDOBJ:
		if (cm_json_get(v, "id") != NULL) {
			rv = cm_buf_printf(out, "%s", f->name);
			if (rv == CM_OK)
				rv = field_write(c, "id", cm_json_get(v, "id"),
				                 out);
		}
		if (rv == CM_OK)
			rv = leftover(c, f->name, v, id_only, NULL, ext);
		return (rv);
	case FK_TYPED: {
		struct typed t = {f->a, f->b, f->c};

		return (list_write(c, f->name, v, typed_entry, &t, out));
	}
	case FK_SENSORS:
		return (sensors_write(c, v, out, ext));
	case FK_ILMD:
		rv = gen_members(c, v, NULL, 1, &l);
		if (rv == CM_OK && l.n > 0 &&
		    (rv = cm_buf_append(out, "ilmd", 4)) == CM_OK)
			rv = sl_join(&l, out);
		sl_fini(&l);
		return (rv);
	}
	return (CM_OK);
}

cm_err
trc_hash_prehash(const cm_json *doc, const cm_json *event, cm_buf *out,
                 cm_diag *d)
{
	hash_ctx    c;
	const char *type, *t;
	size_t      tl, n, start = out->len;
	slist       ext = {0};
	const char *skip[NEFIELDS + 8];
	cm_err      rv;
	bool        known = false;
	char        tb[32];

	if (!cm_json_is_object(event))
		return (cm_fail(d, CM_EPROTO, "event is not a JSON object"));
	type = cm_json_str(cm_json_get(event, "type"), &tl);
	if (type == NULL)
		return (cm_fail(d, CM_EPROTO, "event has no type"));
	for (size_t i = 0; event_types[i] != NULL; i++)
		known = known || name_is(type, tl, event_types[i]);
	if (!known)
		return (cm_fail(d, CM_EPROTO, "unknown event type \"%.*s\"",
		                (int) (tl > 40 ? 40 : tl), type));
	t = cm_json_str(cm_json_get(event, "eventTime"), &n);
	if (t == NULL)
		return (cm_fail(d, CM_EPROTO, "%.*s has no eventTime", (int) tl,
		                type));
	if (!time_canon(t, n, tb))
		return (cm_fail(d, CM_EPROTO,
		                "eventTime is not a date-time with a zone "
		                "(YYYY-MM-DDThh:mm:ss[.f]Z or +hh:mm)"));
	ctx_init(&c, doc, event, d);
	rv = cm_buf_printf(out, "eventType=%.*s", (int) tl, type);
	for (size_t i = 0; i < NEFIELDS && rv == CM_OK; i++) {
		const cm_json *v = cm_json_get(event, efields[i].name);

		skip[i] = efields[i].name;
		if (v != NULL && cm_json_typeof(v) != CM_JSON_NULL)
			rv = efield_write(&c, &efields[i], v, out, &ext);
	}
	for (size_t i = 0; not_hashed[i] != NULL; i++)
		skip[NEFIELDS + i] = not_hashed[i];
	skip[NEFIELDS + 5] = NULL;
	if (rv == CM_OK)
		rv = gen_members(&c, event, skip, 1, &ext);
	if (rv == CM_OK)
		rv = sl_join(&ext, out);
	sl_fini(&ext);
	if (rv != CM_OK)
		out->len = start;
	return (rv);
}

cm_err
trc_hash_id(cm_bytes prehash, cm_buf *out)
{
	uint8_t h[CM_HASH_LEN];
	cm_err  rv;

	cm_sha256(prehash.p, prehash.len, h);
	rv = cm_buf_append(out, "ni:///sha-256;", 14);
	if (rv == CM_OK)
		rv = cm_hex_encode(out, CM_BYTES(h, sizeof(h)));
	if (rv == CM_OK)
		rv = cm_buf_append(out, "?ver=CBV2.0", 11);
	return (rv);
}

cm_err
trc_hash_event_id(const cm_json *doc, const cm_json *event, cm_buf *out,
                  cm_diag *d)
{
	size_t      n;
	const char *id = cm_json_str(cm_json_get(event, "eventID"), &n);
	cm_buf      pre = {0};
	cm_err      rv;

	/* An eventID that is already a hash is the event's ID as given. */
	if (id != NULL && n > 3 && memcmp(id, "ni:", 3) == 0)
		return (cm_buf_append(out, id, n));
	rv = trc_hash_prehash(doc, event, &pre, d);
	if (rv == CM_OK)
		rv = trc_hash_id(cm_buf_bytes(&pre), out);
	cm_buf_fini(&pre);
	return (rv);
}

const cm_json *
trc_hash_events(const cm_json *doc, cm_diag *d)
{
	const cm_json *body = cm_json_get(doc, "epcisBody");
	const cm_json *list = cm_json_get(body, "eventList");

	if (list == NULL)
		list =
		    cm_json_get(cm_json_get(cm_json_get(body, "queryResults"),
		                            "resultsBody"),
		                "eventList");
	if (!cm_json_is_array(list)) {
		cm_fail(d, CM_EPROTO,
		        "not an EPCIS document: no epcisBody.eventList (or "
		        "epcisBody.queryResults.resultsBody.eventList)");
		return (NULL);
	}
	return (list);
}
