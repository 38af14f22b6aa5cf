/* SPDX-License-Identifier: MIT */
/* credit/crd_text.c -- the strict line reader both credit file formats use,
 * and their shared value forms: names, integers, days, periods.  A line is a
 * comment ('#' first after optional spaces), blank, or a directive whose
 * tokens are separated by spaces; nothing is guessed (docs/credit.md). */
#include "credit/crd_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const sev_names[CRD_NSEVERITY] = {"light", "general",
                                                     "serious"};

const char *
crd_severity_name(crd_severity s)
{
	return ((unsigned) s < CRD_NSEVERITY ? sev_names[s] : NULL);
}

/* ---- days -------------------------------------------------------------- */
/* Howard Hinnant's civil_from_days, for days >= 0. */
static void
civil_from_days(int64_t z, unsigned *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t  era = z / 146097;
	unsigned doe = (unsigned) (z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned) (yoe + era * 400) + (*m <= 2);
}

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t  era = y / 400;
	unsigned yoe = (unsigned) (y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (era * 146097 + (int64_t) doe - 719468);
}

static unsigned
month_days(unsigned y, unsigned m)
{
	static const unsigned md[] = {31, 28, 31, 30, 31, 30,
	                              31, 31, 30, 31, 30, 31};
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return (m == 2 && leap ? 29 : md[m - 1]);
}

cm_err
crd_day_parse(const char *s, size_t len, crd_day *out)
{
	char     buf[11];
	uint64_t ms;

	if (len != 10)
		return (CM_EPROTO);
	memcpy(buf, s, 10);
	buf[10] = '\0';
	if (cm_date_parse(buf, &ms) != CM_OK)
		return (CM_EPROTO);
	ms += CM_TZ_OFFSET_MS;
	if (ms / 86400000u >= (uint64_t) CRD_DAY_OPEN / 2)
		return (CM_EPROTO);
	*out = (crd_day) (ms / 86400000u);
	return (CM_OK);
}

void
crd_day_format(crd_day day, char out[11])
{
	unsigned y, m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04u-%02u-%02u", y % 10000, m, d);
}

crd_day
crd_period_end(crd_period p, crd_day from)
{
	unsigned y, m, d;
	uint64_t months;

	if (p.unit == CRD_DAYS)
		return ((crd_day) (from + (int64_t) p.n));
	months = p.unit == CRD_YEARS ? (uint64_t) p.n * 12 : p.n;
	civil_from_days(from, &y, &m, &d);
	months += (uint64_t) y * 12 + (m - 1);
	y = (unsigned) (months / 12);
	m = (unsigned) (months % 12) + 1;
	if (d > month_days(y, m))
		d = month_days(y, m);
	return ((crd_day) days_from_civil(y, m, d));
}

bool
crd_period_le(crd_period a, crd_period b)
{
	uint64_t am = a.unit == CRD_YEARS ? (uint64_t) a.n * 12 : a.n;
	uint64_t bm = b.unit == CRD_YEARS ? (uint64_t) b.n * 12 : b.n;

	if ((a.unit == CRD_DAYS) == (b.unit == CRD_DAYS))
		return (a.unit == CRD_DAYS ? a.n <= b.n : am <= bm);
	/* Days against months: true for every start day only if the longest
	 * a is no longer than the shortest b. */
	if (a.unit == CRD_DAYS)
		return (a.n <= bm * 28);
	return (am * 31 <= b.n);
}

/* ---- the reader -------------------------------------------------------- */
static size_t
col_of(const crd_lex *lx, size_t at)
{
	size_t c = 1;

	for (size_t i = 0; i < at && i < lx->llen; i++)
		if ((lx->lp[i] & 0xc0) != 0x80)
			c++;
	return (c);
}

cm_err
crd_lex_fail_at(crd_lex *lx, size_t at, const char *fmt, ...)
{
	char    why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cm_diag_set(lx->d, "line %u col %zu: %s", lx->line, col_of(lx, at),
	            why);
	return (CM_EPROTO);
}

cm_err
crd_lex_init(crd_lex *lx, cm_bytes text, cm_diag *d)
{
	unsigned line = 1;
	size_t   ls = 0;

	memset(lx, 0, sizeof(*lx));
	lx->p = text.p;
	lx->len = text.len;
	lx->d = d;
	if (text.len > CRD_FILE_MAX)
		return (cm_fail(d, CM_ETOOBIG, "file is %zu bytes, over %d",
		                text.len, CRD_FILE_MAX));
	for (size_t i = 0; i < text.len; i++) {
		const char *bad = NULL;

		if (text.p[i] == '\n') {
			line++;
			ls = i + 1;
			continue;
		}
		if (text.p[i] == '\r')
			bad = "carriage return (lines end with LF only)";
		else if (text.p[i] == '\t')
			bad = "tab (separate with spaces)";
		else if (text.p[i] == 0)
			bad = "NUL byte";
		else if (text.p[i] < 0x20 || text.p[i] == 0x7f)
			bad = "control character";
		if (bad != NULL) {
			lx->line = line;
			lx->lp = text.p + ls;
			lx->llen = i - ls;
			return (crd_lex_fail_at(lx, i - ls, "%s", bad));
		}
	}
	if (!cm_text_valid(text.p, text.len)) {
		/* Find the line for the message. */
		line = 1;
		ls = 0;
		for (size_t i = 0; i < text.len; i++) {
			size_t e = i;
			while (e < text.len && text.p[e] != '\n')
				e++;
			if (!cm_utf8_valid(text.p + i, e - i)) {
				lx->line = line;
				lx->lp = text.p + i;
				lx->llen = e - i;
				return (
				    crd_lex_fail_at(lx, 0, "invalid UTF-8"));
			}
			line++;
			i = e;
		}
		return (cm_fail(d, CM_EPROTO, "invalid UTF-8"));
	}
	return (CM_OK);
}

bool
crd_lex_line(crd_lex *lx, cm_err *rv)
{
	*rv = CM_OK;
	while (lx->pos < lx->len) {
		size_t s = lx->pos, e = s, i = 0;

		while (e < lx->len && lx->p[e] != '\n')
			e++;
		lx->pos = e < lx->len ? e + 1 : e;
		lx->line++;
		lx->lp = lx->p + s;
		lx->llen = e - s;
		lx->at = 0;
		lx->tok = 0;
		if (lx->llen > CRD_LINE_MAX) {
			*rv = crd_lex_fail_at(lx, CRD_LINE_MAX,
			                      "line longer than %d bytes",
			                      CRD_LINE_MAX);
			return (false);
		}
		while (i < lx->llen && lx->lp[i] == ' ')
			i++;
		if (i == lx->llen && i > 0) {
			*rv = crd_lex_fail_at(lx, 0, "blank line with spaces");
			return (false);
		}
		if (i == lx->llen || lx->lp[i] == '#')
			continue;
		if (lx->lp[lx->llen - 1] == ' ') {
			*rv =
			    crd_lex_fail_at(lx, lx->llen - 1, "trailing space");
			return (false);
		}
		lx->at = i;
		return (true);
	}
	return (false);
}

static void
skip_spaces(crd_lex *lx)
{
	while (lx->at < lx->llen && lx->lp[lx->at] == ' ')
		lx->at++;
}

bool
crd_lex_more(const crd_lex *lx)
{
	size_t i = lx->at;

	while (i < lx->llen && lx->lp[i] == ' ')
		i++;
	return (i < lx->llen);
}

cm_err
crd_lex_word(crd_lex *lx, const char *what, cm_bytes *out)
{
	size_t s;

	skip_spaces(lx);
	s = lx->at;
	lx->tok = s;
	if (s == lx->llen)
		return (crd_lex_fail(lx, "missing %s", what));
	while (lx->at < lx->llen && lx->lp[lx->at] != ' ')
		lx->at++;
	*out = CM_BYTES(lx->lp + s, lx->at - s);
	return (CM_OK);
}

static bool
name_ok(cm_bytes w)
{
	if (w.len == 0 || w.len > CRD_NAME_MAX || w.p[0] < 'a' || w.p[0] > 'z')
		return (false);
	for (size_t i = 0; i < w.len; i++) {
		uint8_t c = w.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return (false);
	}
	return (true);
}

bool
crd_name_eq(const char *a, cm_bytes b)
{
	return (strlen(a) == b.len && memcmp(a, b.p, b.len) == 0);
}

cm_err
crd_lex_name(crd_lex *lx, const char *what, char out[CRD_NAME_MAX + 1])
{
	cm_bytes w;
	cm_err   rv;

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	if (!name_ok(w))
		return (crd_lex_fail(lx,
		                     "%s must be 1-%d of [a-z0-9._-] starting "
		                     "with a letter",
		                     what, CRD_NAME_MAX));
	memcpy(out, w.p, w.len);
	out[w.len] = '\0';
	return (CM_OK);
}

cm_err
crd_lex_keyword(crd_lex *lx, const char *what, const char *const *words,
                size_t n, int *out)
{
	cm_bytes w;
	cm_err   rv;
	char     list[160] = "";

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	for (size_t i = 0; i < n; i++) {
		if (cm_bytes_eq_str(w, words[i])) {
			*out = (int) i;
			return (CM_OK);
		}
		if (strlen(list) + strlen(words[i]) + 3 < sizeof(list)) {
			if (i > 0)
				strcat(list, ", ");
			strcat(list, words[i]);
		}
	}
	return (crd_lex_fail(lx, "unknown %s '%.*s' (want %s)", what,
	                     (int) (w.len > 40 ? 40 : w.len),
	                     (const char *) w.p, list));
}

/* Digits with no sign, no leading zero: the one spelling of each value. */
static bool
digits_value(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || (len > 1 && p[0] == '0'))
		return (false);
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (false);
		v = v * 10 + (uint64_t) (p[i] - '0');
	}
	*out = v;
	return (true);
}

cm_err
crd_lex_uint(crd_lex *lx, const char *what, uint32_t min, uint32_t max,
             uint32_t *out)
{
	cm_bytes w;
	uint64_t v;
	cm_err   rv;

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	if (!digits_value(w.p, w.len, &v))
		return (
		    crd_lex_fail(lx,
		                 "%s must be a decimal integer without sign "
		                 "or leading zeros",
		                 what));
	if (v < min || v > max)
		return (crd_lex_fail(lx, "%s %llu out of range %u..%u", what,
		                     (unsigned long long) v, min, max));
	*out = (uint32_t) v;
	return (CM_OK);
}

cm_err
crd_lex_int(crd_lex *lx, const char *what, int32_t limit, int32_t *out)
{
	cm_bytes w;
	uint64_t v;
	bool     neg;
	cm_err   rv;

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	neg = w.len > 0 && w.p[0] == '-';
	if (!digits_value(w.p + neg, w.len - neg, &v) || (neg && v == 0))
		return (crd_lex_fail(lx,
		                     "%s must be a decimal integer (a '-' for "
		                     "negative, no '+', no leading zeros)",
		                     what));
	if (v > (uint64_t) limit)
		return (crd_lex_fail(lx, "%s out of range -%d..%d", what, limit,
		                     limit));
	*out = neg ? -(int32_t) v : (int32_t) v;
	return (CM_OK);
}

cm_err
crd_lex_day(crd_lex *lx, const char *what, bool open_ok, crd_day *out)
{
	cm_bytes w;
	cm_err   rv;

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	if (open_ok && cm_bytes_eq_str(w, "-")) {
		*out = CRD_DAY_OPEN;
		return (CM_OK);
	}
	if (crd_day_parse((const char *) w.p, w.len, out) != CM_OK)
		return (crd_lex_fail(lx, "%s must be a date YYYY-MM-DD%s", what,
		                     open_ok ? " or -" : ""));
	return (CM_OK);
}

cm_err
crd_lex_period(crd_lex *lx, const char *what, crd_period *out)
{
	static const uint32_t max[] = {CRD_PERIOD_DAYS_MAX, 1200, 100};
	cm_bytes              w;
	uint64_t              v;
	cm_err                rv;
	uint8_t               u;

	if ((rv = crd_lex_word(lx, what, &w)) != CM_OK)
		return (rv);
	u = w.len > 0 ? w.p[w.len - 1] : 0;
	out->unit = u == 'd' ? CRD_DAYS : u == 'm' ? CRD_MONTHS : CRD_YEARS;
	if ((u != 'd' && u != 'm' && u != 'y') ||
	    !digits_value(w.p, w.len - 1, &v))
		return (
		    crd_lex_fail(lx,
		                 "%s must be a period: digits then d, m or y "
		                 "(3m, 1y, 20d)",
		                 what));
	if (v > max[out->unit])
		return (
		    crd_lex_fail(lx, "%s over %u%c", what, max[out->unit], u));
	out->n = (uint32_t) v;
	return (CM_OK);
}

cm_err
crd_lex_severity(crd_lex *lx, crd_severity *out)
{
	int    k;
	cm_err rv =
	    crd_lex_keyword(lx, "severity", sev_names, CRD_NSEVERITY, &k);

	if (rv == CM_OK)
		*out = (crd_severity) k;
	return (rv);
}

cm_err
crd_lex_rest(crd_lex *lx, const char *what, char out[CRD_TEXT_MAX + 1])
{
	size_t n;

	skip_spaces(lx);
	lx->tok = lx->at;
	n = lx->llen - lx->at;
	if (n == 0)
		return (crd_lex_fail(lx, "missing %s", what));
	if (n > CRD_TEXT_MAX)
		return (crd_lex_fail(lx, "%s longer than %d bytes", what,
		                     CRD_TEXT_MAX));
	memcpy(out, lx->lp + lx->at, n);
	out[n] = '\0';
	lx->at = lx->llen;
	return (CM_OK);
}

cm_err
crd_lex_end(crd_lex *lx)
{
	skip_spaces(lx);
	if (lx->at < lx->llen)
		return (crd_lex_fail_at(lx, lx->at,
		                        "unexpected text at the "
		                        "end of the line"));
	return (CM_OK);
}

cm_err
crd_lex_expect(crd_lex *lx, const char *want)
{
	cm_bytes w;
	cm_err   rv;

	if (!crd_lex_line(lx, &rv)) {
		if (rv != CM_OK)
			return (rv);
		return (cm_fail(lx->d, CM_EPROTO,
		                "line %u: end of file before '%s'", lx->line,
		                want));
	}
	if ((rv = crd_lex_word(lx, "directive", &w)) != CM_OK)
		return (rv);
	if (!cm_bytes_eq_str(w, want))
		return (crd_lex_fail(lx, "expected '%s' here", want));
	return (CM_OK);
}

cm_err
crd_lex_header(crd_lex *lx, const char *magic, uint32_t *out_version,
               crd_day *out_effective)
{
	const char *const m[] = {magic};
	int               k;
	uint32_t          fv;
	cm_err            rv;

	if ((rv = crd_lex_expect(lx, "format")) != CM_OK ||
	    (rv = crd_lex_keyword(lx, "format name", m, 1, &k)) != CM_OK ||
	    (rv = crd_lex_uint(lx, "format version", 1, 1, &fv)) != CM_OK ||
	    (rv = crd_lex_end(lx)) != CM_OK)
		return (rv);
	if ((rv = crd_lex_expect(lx, "version")) != CM_OK ||
	    (rv = crd_lex_uint(lx, "version", 1, CRD_VERSION_MAX,
	                       out_version)) != CM_OK ||
	    (rv = crd_lex_end(lx)) != CM_OK)
		return (rv);
	if ((rv = crd_lex_expect(lx, "effective")) != CM_OK ||
	    (rv = crd_lex_day(lx, "effective date", false, out_effective)) !=
	        CM_OK ||
	    (rv = crd_lex_end(lx)) != CM_OK)
		return (rv);
	return (CM_OK);
}

/* ---- writing ----------------------------------------------------------- */
cm_err
crd_put_period(cm_buf *b, crd_period p)
{
	return (cm_buf_printf(b, " %u%c", p.n, "dmy"[p.unit]));
}

cm_err
crd_put_day(cm_buf *b, crd_day d)
{
	char s[11];

	if (d == CRD_DAY_OPEN)
		return (cm_buf_printf(b, " -"));
	crd_day_format(d, s);
	return (cm_buf_printf(b, " %s", s));
}

cm_err
crd_put_header(cm_buf *b, const char *magic, uint32_t version,
               crd_day effective)
{
	cm_err rv;

	if ((rv = cm_buf_printf(b, "format %s 1\nversion %u\neffective", magic,
	                        version)) != CM_OK ||
	    (rv = crd_put_day(b, effective)) != CM_OK)
		return (rv);
	return (cm_buf_append_byte(b, '\n'));
}
