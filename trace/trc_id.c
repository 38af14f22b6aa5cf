/* SPDX-License-Identifier: MIT */
/* trace/trc_id.c -- identifier forms and canonical keys.  Every GS1 form
 * (EPC URN, Digital Link, element string) is first read into a list of
 * (AI, value) pairs; one builder checks the pairs against the AI table
 * and writes the key, so the forms cannot disagree on a rule.  Rules:
 * GS1 TDS 2.x and Digital Link 1.x; docs/trace.md lists the forms. */
#include "trace/trc_impl.h"
#include "ledger/ldg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- refusals ------------------------------------------------------------ */

static cm_err id_fail(const trc_id_ctx *ctx, cm_diag *d, const char *fmt, ...)
    CM_PRINTF(3, 4);

static cm_err
id_fail(const trc_id_ctx *ctx, cm_diag *d, const char *fmt, ...)
{
	char    msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx != NULL && ctx->field != NULL)
		return (cm_fail(d, CM_EPROTO, "%s: %s", ctx->field, msg));
	return (cm_fail(d, CM_EPROTO, "%s", msg));
}

/* ---- character sets ------------------------------------------------------ */

/* GS1 AI encodable character set 82 (GS1 General Specifications 7.11). */
static bool
is_cs82(uint8_t c)
{
	return (c == '!' || c == '"' || (c >= '%' && c <= '?') ||
	        (c >= 'A' && c <= 'Z') || c == '_' || (c >= 'a' && c <= 'z'));
}

/* Character set 39 (CPID): digits, upper case, '#', '-', '/'. */
static bool
is_cs39(uint8_t c)
{
	return ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '#' ||
	        c == '-' || c == '/');
}

static bool
is_digit(uint8_t c)
{
	return (c >= '0' && c <= '9');
}

static bool
all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit((uint8_t) p[i]))
			return (false);
	return (true);
}

char
trc_gs1_check_digit(const char *p, size_t n)
{
	unsigned sum = 0;

	/* Weights 3, 1, 3, ... from the digit next to the check digit. */
	for (size_t i = 0; i < n; i++)
		sum += (unsigned) (p[n - 1 - i] - '0') * (i % 2 == 0 ? 3 : 1);
	return ((char) ('0' + (10 - sum % 10) % 10));
}

/* ---- the AI table -------------------------------------------------------- */

/* An application identifier: its value is `head` digits (the last of the
 * first `check` of them a check digit) followed by characters of `set`
 * ('N' digits, 'X' set 82, 'C' set 39), min..max in all. */
typedef struct ai_def {
	const char *ai;
	const char *name;
	uint8_t     min, max, head, check;
	char        set;
	const char *quals; /* qualifiers of a primary key, in DL order; NULL
	                      if not a primary key */
} ai_def;

static const ai_def ai_table[] = {
    {"00", "SSCC", 18, 18, 18, 18, 'N', ""},
    {"01", "GTIN", 14, 14, 14, 14, 'N', "22 10 21 235"},
    {"253", "GDTI", 13, 30, 13, 13, 'X', ""},
    {"255", "GCN", 13, 25, 13, 13, 'N', ""},
    {"401", "GINC", 1, 30, 0, 0, 'X', ""},
    {"402", "GSIN", 17, 17, 17, 17, 'N', ""},
    {"414", "GLN", 13, 13, 13, 13, 'N', "254"},
    {"417", "party GLN", 13, 13, 13, 13, 'N', ""},
    {"8003", "GRAI", 14, 30, 14, 14, 'X', ""},
    {"8004", "GIAI", 1, 30, 0, 0, 'X', ""},
    {"8006", "ITIP", 18, 18, 18, 14, 'N', "22 10 21"},
    {"8010", "CPID", 1, 30, 0, 0, 'C', "8011"},
    {"8017", "GSRNP", 18, 18, 18, 18, 'N', ""},
    {"8018", "GSRN", 18, 18, 18, 18, 'N', "8019"},
    /* qualifiers */
    {"10", "lot", 1, 20, 0, 0, 'X', NULL},
    {"21", "serial", 1, 20, 0, 0, 'X', NULL},
    {"22", "CPV", 1, 20, 0, 0, 'X', NULL},
    {"235", "TPX", 1, 28, 0, 0, 'X', NULL},
    {"254", "GLN extension", 1, 20, 0, 0, 'X', NULL},
    {"8011", "CPID serial", 1, 12, 0, 0, 'N', NULL},
    {"8019", "SRIN", 1, 10, 0, 0, 'N', NULL},
    /* other AIs a scanned element string may carry (read, then ignored) */
    {"02", "content GTIN", 14, 14, 14, 14, 'N', NULL},
    {"11", "production date", 6, 6, 6, 0, 'N', NULL},
    {"12", "due date", 6, 6, 6, 0, 'N', NULL},
    {"13", "packaging date", 6, 6, 6, 0, 'N', NULL},
    {"15", "best before date", 6, 6, 6, 0, 'N', NULL},
    {"16", "sell by date", 6, 6, 6, 0, 'N', NULL},
    {"17", "expiration date", 6, 6, 6, 0, 'N', NULL},
    {"20", "internal product variant", 2, 2, 2, 0, 'N', NULL},
    {"30", "variable count", 1, 8, 0, 0, 'N', NULL},
    {"37", "count of trade items", 1, 8, 0, 0, 'N', NULL},
    {"240", "additional product identification", 1, 30, 0, 0, 'X', NULL},
    {"241", "customer part number", 1, 30, 0, 0, 'X', NULL},
    {"250", "secondary serial number", 1, 30, 0, 0, 'X', NULL},
    {"251", "reference to source entity", 1, 30, 0, 0, 'X', NULL},
    {"400", "customer's purchase order number", 1, 30, 0, 0, 'X', NULL},
    {"403", "routing code", 1, 30, 0, 0, 'X', NULL},
    {"410", "ship to GLN", 13, 13, 13, 13, 'N', NULL},
    {"411", "bill to GLN", 13, 13, 13, 13, 'N', NULL},
    {"412", "purchased from GLN", 13, 13, 13, 13, 'N', NULL},
    {"413", "ship for GLN", 13, 13, 13, 13, 'N', NULL},
    {"415", "invoicing party GLN", 13, 13, 13, 13, 'N', NULL},
    {"416", "production GLN", 13, 13, 13, 13, 'N', NULL},
    {"420", "ship to postal code", 1, 20, 0, 0, 'X', NULL},
    {"422", "country of origin", 3, 3, 3, 0, 'N', NULL},
    {"7003", "expiration date and time", 10, 10, 10, 0, 'N', NULL},
    {"90", "mutually agreed information", 1, 30, 0, 0, 'X', NULL},
};
#define AI_N (sizeof(ai_table) / sizeof(ai_table[0]))

/* Trade measures 310n-369n: N6 with the decimal-point digit n. */
static const ai_def ai_measure = {"31nn-36nn", "trade measure", 6, 6, 6, 0, 'N',
                                  NULL};
/* Company internal information 91-99. */
static const ai_def ai_internal = {
    "91-99", "company internal information", 1, 90, 0, 0, 'X', NULL};

static const ai_def *
ai_find(const char *p, size_t n)
{
	if (n == 4 && all_digits(p, 4) && p[0] == '3' && p[1] >= '1' &&
	    p[1] <= '6')
		return (&ai_measure);
	if (n == 2 && p[0] == '9' && p[1] >= '1' && p[1] <= '9')
		return (&ai_internal);
	for (size_t i = 0; i < AI_N; i++)
		if (strlen(ai_table[i].ai) == n &&
		    memcmp(ai_table[i].ai, p, n) == 0)
			return (&ai_table[i]);
	return (NULL);
}

static bool
in_set(char set, uint8_t c)
{
	return (set == 'N'   ? is_digit(c)
	        : set == 'C' ? is_cs39(c)
	                     : is_cs82(c));
}

static const char *
set_name(char set)
{
	return (set == 'N'   ? "digits only"
	        : set == 'C' ? "GS1 character set 39"
	                     : "GS1 AI encodable character set 82");
}

/* Checks one value against its AI's rules. */
static cm_err
ai_check(const ai_def *a, const char *v, size_t n, const trc_id_ctx *ctx,
         cm_diag *d)
{
	if (n < a->min || n > a->max) {
		if (a->min == a->max)
			return (id_fail(
			    ctx, d, "%s (AI %s) has %zu characters, want %u",
			    a->name, a->ai, n, a->min));
		return (id_fail(ctx, d,
		                "%s (AI %s) has %zu characters, want %u to %u",
		                a->name, a->ai, n, a->min, a->max));
	}
	for (size_t i = 0; i < n; i++) {
		char set = i < a->head ? 'N' : a->set;

		if (!in_set(set, (uint8_t) v[i])) {
			uint8_t c = (uint8_t) v[i];

			if (c > 0x20 && c < 0x7f)
				return (id_fail(ctx, d,
				                "%s (AI %s): character '%c' at "
				                "%zu is not allowed (%s)",
				                a->name, a->ai, c, i + 1,
				                set_name(set)));
			return (id_fail(ctx, d,
			                "%s (AI %s): byte 0x%02x at %zu is not "
			                "allowed (%s)",
			                a->name, a->ai, c, i + 1,
			                set_name(set)));
		}
	}
	if (strcmp(a->ai, "8003") == 0 && v[0] != '0')
		return (id_fail(ctx, d, "GRAI (AI 8003) must start with 0"));
	if (a->check > 0) {
		char want = trc_gs1_check_digit(v, a->check - 1u);

		if (v[a->check - 1] != want)
			return (id_fail(
			    ctx, d, "%s (AI %s): check digit is %c, want %c",
			    a->name, a->ai, v[a->check - 1], want));
	}
	return (CM_OK);
}

/* ---- building the key ---------------------------------------------------- */

typedef struct ai_pair {
	const ai_def *def;
	size_t        len;
	char          v[TRC_ID_PART_MAX];
} ai_pair;

#define PAIRS_MAX 16

/* Characters written as they are in a canonical Digital Link; the rest
 * are percent-encoded.  This is the set the published event-hash vectors
 * leave bare (' stays, ! ( ) * + , : are encoded). */
static bool
dl_plain(uint8_t c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	        is_digit(c) || c == '\'' || c == '-' || c == '.' || c == ';' ||
	        c == '=' || c == '_');
}

/* Characters an EPC URN must escape (TDS 2.x table "characters that must
 * be escaped"), and '#', '/' of set 39 in a CPI. */
static bool
urn_plain(uint8_t c)
{
	return (c != '"' && c != '%' && c != '&' && c != '/' && c != '<' &&
	        c != '>' && c != '?' && c != '#');
}

static cm_err
enc_append(cm_buf *b, const char *v, size_t n, bool (*plain)(uint8_t))
{
	static const char hex[] = "0123456789ABCDEF";
	cm_err            rv = CM_OK;

	for (size_t i = 0; i < n && rv == CM_OK; i++) {
		uint8_t c = (uint8_t) v[i];

		if (plain(c)) {
			rv = cm_buf_append_byte(b, c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			rv = cm_buf_append(b, e, 3);
		}
	}
	return (rv);
}

static void
part_set(char *dst, const char *v, size_t n)
{
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* The digits at which a key's company prefix starts, for ctx->gcp_len. */
static const char *
gcp_start(const trc_id *id, size_t *out_len)
{
	const char *v = id->value;
	size_t      n = strlen(v);

	if (strcmp(id->ai, "01") == 0 || strcmp(id->ai, "00") == 0 ||
	    strcmp(id->ai, "8006") == 0 || strcmp(id->ai, "8003") == 0) {
		*out_len = n - 1;
		return (v + 1);
	}
	*out_len = n;
	return (v);
}

static bool
restricted_gtin(const char *g)
{
	/* GTIN-13 prefixes 02, 04 and 20-29 (the digits after the indicator)
	 * are restricted circulation numbers. */
	return ((g[1] == '0' && (g[2] == '2' || g[2] == '4')) || g[1] == '2');
}

/* The path of the constrained canonical Digital Link of id (the key
 * without a USCC scope; as_key: a PGLN as /414/): "/01/<gtin>/21/<serial>" and
 * so on. */
static cm_err
dl_path(const trc_id *id, bool as_key, cm_buf *b)
{
	/* One party: a PGLN keys as its GLN's location without extension. */
	const char *ai = as_key && strcmp(id->ai, "417") == 0 ? "414" : id->ai;
	cm_err      rv;

	rv = cm_buf_printf(b, "/%s/", ai);
	if (rv == CM_OK)
		rv = enc_append(b, id->value, strlen(id->value), dl_plain);
	if (rv == CM_OK)
		rv = cm_buf_append(b, id->piece, strlen(id->piece));
	if (rv != CM_OK)
		return (rv);
	if (id->serial_ai[0] != '\0')
		rv = cm_buf_printf(b, "/%s/", id->serial_ai);
	else if (id->lot[0] != '\0')
		rv = cm_buf_printf(b, "/10/");
	else if (id->ext[0] != '\0')
		rv = cm_buf_printf(b, "/254/");
	if (rv != CM_OK)
		return (rv);
	if (id->serial[0] != '\0')
		rv = enc_append(b, id->serial, strlen(id->serial), dl_plain);
	else if (id->lot[0] != '\0')
		rv = enc_append(b, id->lot, strlen(id->lot), dl_plain);
	else if (id->ext[0] != '\0')
		rv = enc_append(b, id->ext, strlen(id->ext), dl_plain);
	return (rv);
}

/* The canonical key: the constrained canonical Digital Link path (finest
 * key only: a lot beside a serial and a CPV are parts, not key), a PGLN as
 * the GLN's /414/, and a restricted GTIN prefixed by "@<USCC>". */
static cm_err
key_write(const trc_id *id, cm_buf *b)
{
	cm_err rv = CM_OK;

	if (id->restricted)
		rv = cm_buf_printf(b, "@%s", id->uscc);
	if (rv == CM_OK)
		rv = dl_path(id, true, b);
	return (rv);
}

/* Builds id's parts and key from the pairs.  dl: the pairs came from a
 * Digital Link path, so qualifiers must follow the key in DL order and no
 * other AI may appear. */
static cm_err
gs1_build(trc_id *id, ai_pair *pv, size_t n, bool dl, unsigned gcp_len,
          const trc_id_ctx *ctx, cm_diag *d)
{
	const ai_def *key = NULL;
	size_t        ki = 0;
	cm_buf        kb = {0};
	cm_err        rv;
	int           last_q = -1;

	for (size_t i = 0; i < n; i++) {
		if ((rv = ai_check(pv[i].def, pv[i].v, pv[i].len, ctx, d)) !=
		    CM_OK)
			return (rv);
		for (size_t j = 0; j < i; j++)
			if (pv[j].def == pv[i].def)
				return (id_fail(ctx, d, "AI %s appears twice",
				                pv[i].def->ai));
		if (pv[i].def->quals == NULL)
			continue;
		if (key != NULL)
			return (id_fail(ctx, d,
			                "two GS1 keys (AI %s and AI %s) in one "
			                "identifier",
			                key->ai, pv[i].def->ai));
		key = pv[i].def;
		ki = i;
	}
	if (key == NULL)
		return (id_fail(ctx, d, "no GS1 key (such as AI 01, 00, 414)"));
	if (dl && ki != 0)
		return (id_fail(ctx, d,
		                "Digital Link order: /%s/ comes before the "
		                "primary key /%s/",
		                pv[0].def->ai, key->ai));
	memset(id, 0, offsetof(trc_id, orig_len));
	id->kind = TRC_ID_GS1;
	part_set(id->ai, key->ai, strlen(key->ai));
	for (size_t i = 0; i < n; i++) {
		const ai_def *a = pv[i].def;
		const char   *q;
		int           pos;

		if (a == key || a->quals != NULL)
			continue;
		q = strstr(key->quals, a->ai);
		/* A match must be a whole word of the list. */
		while (q != NULL &&
		       ((q != key->quals && q[-1] != ' ') ||
		        (q[strlen(a->ai)] != ' ' && q[strlen(a->ai)] != '\0')))
			q = strstr(q + 1, a->ai);
		if (q == NULL) {
			if (dl)
				return (
				    id_fail(ctx, d,
				            "AI %s is not a key qualifier of "
				            "AI %s in a Digital Link",
				            a->ai, key->ai));
			continue; /* a data attribute in a scan */
		}
		pos = (int) (q - key->quals);
		if (dl && pos < last_q)
			return (id_fail(ctx, d,
			                "Digital Link order: /%s/ must come "
			                "before /%s/",
			                a->ai, pv[i - 1].def->ai));
		last_q = pos;
		if (strcmp(a->ai, "10") == 0)
			part_set(id->lot, pv[i].v, pv[i].len);
		else if (strcmp(a->ai, "22") == 0)
			part_set(id->cpv, pv[i].v, pv[i].len);
		else if (strcmp(a->ai, "254") == 0)
			part_set(id->ext, pv[i].v, pv[i].len);
		else if (id->serial[0] != '\0')
			return (id_fail(ctx, d,
			                "AI 21 and AI 235 in one identifier"));
		else {
			part_set(id->serial, pv[i].v, pv[i].len);
			part_set(id->serial_ai, a->ai, strlen(a->ai));
		}
	}
	/* The value proper; GRAI, GDTI and SGCN carry a serial inside it,
	 * an ITIP its piece and total. */
	if (strcmp(key->ai, "8006") == 0) {
		const char *v = pv[ki].v;
		int         piece = (v[14] - '0') * 10 + (v[15] - '0');
		int         total = (v[16] - '0') * 10 + (v[17] - '0');

		if (piece == 0 || total == 0 || piece > total)
			return (id_fail(ctx, d,
			                "ITIP (AI 8006): piece %02d of %02d is "
			                "not a piece of the total",
			                piece, total));
		part_set(id->value, v, 14);
		part_set(id->piece, v + 14, 4);
	} else if (key->head > 0 && key->max > key->head) {
		part_set(id->value, pv[ki].v, key->head);
		part_set(id->serial, pv[ki].v + key->head,
		         pv[ki].len - key->head);
	} else {
		part_set(id->value, pv[ki].v, pv[ki].len);
	}
	if (strcmp(id->ext, "0") == 0)
		id->ext[0] = '\0'; /* SGLN extension 0 means none (TDS) */
	if (strcmp(id->ai, "01") == 0 || strcmp(id->ai, "8006") == 0 ||
	    strcmp(id->ai, "8010") == 0)
		id->is_class = id->serial[0] == '\0';
	else if (strcmp(id->ai, "8003") == 0 || strcmp(id->ai, "253") == 0 ||
	         strcmp(id->ai, "255") == 0)
		id->is_class = id->serial[0] == '\0';
	/* Unscoped (the hash's Digital Link) leaves a restricted GTIN as it
	 * is; otherwise it is keyed within the submitter's USCC. */
	if ((strcmp(id->ai, "01") == 0 || strcmp(id->ai, "8006") == 0) &&
	    restricted_gtin(id->value) &&
	    !(ctx != NULL && ctx->unscoped && ctx->uscc.len == 0)) {
		cm_diag ud;

		cm_diag_clear(&ud);
		if (ctx == NULL || ctx->uscc.len == 0)
			return (id_fail(ctx, d,
			                "GTIN %s is a restricted circulation "
			                "number: it needs the submitter's USCC",
			                id->value));
		if (ldg_uscc_check(ctx->uscc, &ud) != CM_OK ||
		    ctx->uscc.len != LDG_USCC_LEN)
			return (id_fail(ctx, d,
			                "GTIN %s is a restricted circulation "
			                "number and the submitter's USCC is "
			                "invalid: %s",
			                id->value, ud.msg));
		id->restricted = true;
		part_set(id->uscc, (const char *) ctx->uscc.p, ctx->uscc.len);
	}
	/* The company-prefix length: from the URN, else master data. */
	if (gcp_len == 0 && ctx != NULL && ctx->gcp_len != NULL) {
		size_t      gn;
		const char *p = gcp_start(id, &gn);

		gcp_len = ctx->gcp_len(ctx->arg, p, gn);
		if (gcp_len < 6 || gcp_len > 12 || gcp_len >= gn ||
		    !all_digits(p, gcp_len))
			gcp_len = 0;
	}
	id->gcp_len = (uint8_t) gcp_len;
	rv = key_write(id, &kb);
	if (rv == CM_OK && kb.len > TRC_ID_KEY_MAX)
		rv = id_fail(ctx, d, "canonical key longer than %d bytes",
		             TRC_ID_KEY_MAX);
	if (rv == CM_OK) {
		memcpy(id->key, kb.p, kb.len);
		id->key[kb.len] = '\0';
		id->key_len = kb.len;
	}
	cm_buf_fini(&kb);
	return (rv);
}

static cm_err
pair_add(ai_pair *pv, size_t *n, const ai_def *a, const char *v, size_t len,
         const trc_id_ctx *ctx, cm_diag *d)
{
	if (*n == PAIRS_MAX)
		return (id_fail(ctx, d, "more than %d AIs", PAIRS_MAX));
	if (len > TRC_ID_PART_MAX - 1)
		return (ai_check(a, v, len, ctx, d)); /* names the length */
	pv[*n].def = a;
	pv[*n].len = len;
	memcpy(pv[*n].v, v, len);
	pv[*n].v[len] = '\0';
	(*n)++;
	return (CM_OK);
}

static const ai_def *
ai_named(const char *ai)
{
	return (ai_find(ai, strlen(ai)));
}

/* ---- EPC URNs (TDS 2.x section 6) ---------------------------------------- */

static bool
dl_literal(uint8_t c)
{
	/* RFC 3986 pchar without '%': unreserved, sub-delims, ':' and '@'. */
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	        is_digit(c) || strchr("-._~!$&'()*+,;=:@", c) != NULL) &&
	       c != '\0';
}

/* Characters an EPC URN holds bare: in set 82 letters, digits and the marks
 * TDS leaves unescaped; in a CPI reference (set 39) digits, upper case and
 * '-' ('#' and '/' only as %23 and %2F). */
static bool
urn_literal(char set, uint8_t c)
{
	if (set == 'C')
		return (is_digit(c) || (c >= 'A' && c <= 'Z') || c == '-');
	return (dl_plain(c) || (c != '\0' && strchr("!()*+,:", c) != NULL));
}

/* Percent-decodes p[0..n) into out (at most max bytes).  mode 'D': a DL path
 * segment (pchar literals; the AI's rules check the decoded value later);
 * 'X' or 'C': an EPC URN component of set 82 or 39, escapes included. */
static cm_err
pct_decode(const char *p, size_t n, char mode, char *out, size_t max,
           size_t *out_len, const char *what, const trc_id_ctx *ctx, cm_diag *d)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t) p[i];

		if (c == '%') {
			int hi =
			    i + 2 < n ? cm_hex_value((uint8_t) p[i + 1]) : -1;
			int lo =
			    i + 2 < n ? cm_hex_value((uint8_t) p[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return (id_fail(ctx, d,
				                "%s: bad percent escape at %zu",
				                what, i + 1));
			c = (uint8_t) (hi * 16 + lo);
			if (mode != 'D' && !in_set(mode, c))
				return (
				    id_fail(ctx, d,
				            "%s: escape %%%02X at %zu is not "
				            "in %s",
				            what, c, i + 1, set_name(mode)));
			i += 2;
		} else if (mode == 'D' && !dl_literal(c)) {
			return (id_fail(ctx, d,
			                "%s: byte 0x%02x at %zu must be "
			                "percent-encoded",
			                what, c, i + 1));
		} else if (mode != 'D' && !urn_literal(mode, c)) {
			if (c > 0x20 && c < 0x7f)
				return (
				    id_fail(ctx, d,
				            "%s: character '%c' at %zu is not "
				            "allowed in an EPC URN",
				            what, c, i + 1));
			return (id_fail(ctx, d,
			                "%s: byte 0x%02x at %zu is not allowed "
			                "in an EPC URN",
			                what, c, i + 1));
		}
		if (o == max)
			return (id_fail(ctx, d,
			                "%s: longer than %zu characters", what,
			                max));
		out[o++] = (char) c;
	}
	*out_len = o;
	return (CM_OK);
}

/* The EPC schemes with a GS1 key: components, and whether a pattern
 * (last component '*') and the class form exist. */
typedef struct urn_scheme {
	const char *name;
	uint8_t     ncomp;
	bool        idpat;
} urn_scheme;

static const urn_scheme urn_schemes[] = {
    {"sgtin", 3, true},  {"sscc", 2, false}, {"sgln", 3, false},
    {"grai", 3, true},   {"giai", 2, false}, {"gsrn", 2, false},
    {"gsrnp", 2, false}, {"gdti", 3, true},  {"cpi", 3, true},
    {"sgcn", 3, true},   {"ginc", 2, false}, {"gsin", 2, false},
    {"itip", 5, true},   {"upui", 3, true},  {"pgln", 2, false},
    {"lgtin", 3, false}, {"gid", 3, false},
};

static bool
is_name(const char *p, size_t n, const char *name)
{
	return (strlen(name) == n && memcmp(p, name, n) == 0);
}

/* urn:epc:id:gid:<manager>.<class>.<serial>, decimals without leading
 * zeros within the GID-96 ranges (TDS 6.3.11 / 14.5.11). */
static cm_err
gid_check(const char *const c[], const size_t cl[], const trc_id_ctx *ctx,
          cm_diag *d)
{
	static const uint64_t lim[3] = {268435455u, 16777215u, 68719476735u};
	static const char    *what[3] = {"manager number", "object class",
	                                 "serial number"};

	for (int i = 0; i < 3; i++) {
		uint64_t v = 0;

		if (cl[i] == 0 || cl[i] > 11 || !all_digits(c[i], cl[i]) ||
		    (cl[i] > 1 && c[i][0] == '0'))
			return (id_fail(ctx, d,
			                "GID %s must be a decimal number "
			                "without leading zeros",
			                what[i]));
		for (size_t j = 0; j < cl[i]; j++)
			v = v * 10 + (uint64_t) (c[i][j] - '0');
		if (v > lim[i])
			return (id_fail(ctx, d, "GID %s is above %llu", what[i],
			                (unsigned long long) lim[i]));
	}
	return (CM_OK);
}

static cm_err
urn_parse(const char *s, size_t n, const trc_id_ctx *ctx, trc_id *id,
          cm_diag *d)
{
	const urn_scheme *sc = NULL;
	const char       *c[5], *p, *end = s + n, *colon;
	size_t            cl[5], k = 0, cpl, vl = 0;
	bool              pat = false, cls = false;
	char              v[64], t[64];
	size_t            tl;
	ai_pair           pv[PAIRS_MAX];
	size_t            np = 0;
	cm_err            rv;

	if (n > 11 && memcmp(s, "urn:epc:id:", 11) == 0) {
		p = s + 11;
	} else if (n > 14 && memcmp(s, "urn:epc:class:", 14) == 0) {
		p = s + 14;
		cls = true;
	} else if (n > 14 && memcmp(s, "urn:epc:idpat:", 14) == 0) {
		p = s + 14;
		pat = true;
	} else {
		return (id_fail(ctx, d,
		                "EPC URN: want urn:epc:id:, urn:epc:class: "
		                "or urn:epc:idpat:"));
	}
	colon = memchr(p, ':', (size_t) (end - p));
	for (size_t i = 0;
	     colon != NULL && i < sizeof(urn_schemes) / sizeof(urn_schemes[0]);
	     i++)
		if (is_name(p, (size_t) (colon - p), urn_schemes[i].name))
			sc = &urn_schemes[i];
	if (sc == NULL)
		return (id_fail(ctx, d, "EPC URN: unknown scheme \"%.*s\"",
		                colon ? (int) (colon - p) : 0, p));
	if (cls != (strcmp(sc->name, "lgtin") == 0))
		return (id_fail(ctx, d,
		                cls ? "EPC class URN: only lgtin is a class"
		                    : "EPC URN: lgtin is a class "
		                      "(urn:epc:class:lgtin:)"));
	if (pat && !sc->idpat)
		return (id_fail(ctx, d, "EPC pattern: %s has no pattern form",
		                sc->name));
	/* Only the last component may hold '.'. */
	for (p = colon + 1; k + 1 < sc->ncomp; k++) {
		const char *dot = memchr(p, '.', (size_t) (end - p));

		if (dot == NULL)
			return (id_fail(ctx, d,
			                "EPC URN %s: want %u components "
			                "separated by '.'",
			                sc->name, sc->ncomp));
		c[k] = p;
		cl[k] = (size_t) (dot - p);
		p = dot + 1;
	}
	c[k] = p;
	cl[k] = (size_t) (end - p);
	if (strcmp(sc->name, "gid") == 0) {
		if ((rv = gid_check(c, cl, ctx, d)) != CM_OK)
			return (rv);
		memset(id, 0, offsetof(trc_id, orig_len));
		id->kind = TRC_ID_EPC;
		memcpy(id->key, s, n);
		id->key_len = n;
		return (CM_OK);
	}
	cpl = cl[0];
	if (cpl < 6 || cpl > 12 || !all_digits(c[0], cpl))
		return (id_fail(ctx, d,
		                "EPC URN %s: company prefix must be 6 to 12 "
		                "digits",
		                sc->name));
	if (pat) {
		/* Everything but the last component is given; TDS patterns
		 * with more wildcards name no GS1 key. */
		if (!is_name(c[k], cl[k], "*"))
			return (id_fail(ctx, d,
			                "EPC pattern %s: only the last "
			                "component may be '*', and it must be",
			                sc->name));
		for (size_t i = 0; i < k; i++)
			if (memchr(c[i], '*', cl[i]) != NULL)
				return (id_fail(ctx, d,
				                "EPC pattern %s: only the "
				                "last component may be '*'",
				                sc->name));
	}
	memcpy(v, c[0], cpl);
	if (strcmp(sc->name, "giai") == 0 || strcmp(sc->name, "ginc") == 0 ||
	    strcmp(sc->name, "cpi") == 0) {
		char set = strcmp(sc->name, "cpi") == 0 ? 'C' : 'X';

		if ((rv = pct_decode(c[1], cl[1], set, t, 30, &tl,
		                     "EPC URN reference", ctx, d)) != CM_OK)
			return (rv);
		if (cpl + tl > 30 || tl == 0)
			return (id_fail(ctx, d,
			                "EPC URN %s: company prefix and "
			                "reference have %zu characters, want 7 "
			                "to 30",
			                sc->name, cpl + tl));
		memcpy(v + cpl, t, tl);
		vl = cpl + tl;
		rv = pair_add(pv, &np,
		              ai_named(strcmp(sc->name, "giai") == 0  ? "8004"
		                       : strcmp(sc->name, "cpi") == 0 ? "8010"
		                                                      : "401"),
		              v, vl, ctx, d);
		if (rv == CM_OK && strcmp(sc->name, "cpi") == 0 && !pat) {
			if (cl[2] == 0 || !all_digits(c[2], cl[2]))
				return (id_fail(ctx, d,
				                "EPC URN cpi: serial must be "
				                "digits"));
			rv = pair_add(pv, &np, ai_named("8011"), c[2], cl[2],
			              ctx, d);
		}
		if (rv != CM_OK)
			return (rv);
	} else {
		/* The second component is digits: the item, serial,
		 * location, asset, service, document or coupon reference. */
		size_t want = 12, lead = 0;
		char   ai[5];

		if (strcmp(sc->name, "sgtin") == 0 ||
		    strcmp(sc->name, "lgtin") == 0 ||
		    strcmp(sc->name, "upui") == 0 ||
		    strcmp(sc->name, "itip") == 0) {
			want = 13, lead = 1;
			strcpy(ai,
			       strcmp(sc->name, "itip") == 0 ? "8006" : "01");
		} else if (strcmp(sc->name, "sscc") == 0) {
			want = 17, lead = 1;
			strcpy(ai, "00");
		} else if (strcmp(sc->name, "gsrn") == 0 ||
		           strcmp(sc->name, "gsrnp") == 0) {
			want = 17;
			strcpy(ai, sc->name[4] == 'p' ? "8017" : "8018");
		} else if (strcmp(sc->name, "gsin") == 0) {
			want = 16;
			strcpy(ai, "402");
		} else {
			strcpy(ai, strcmp(sc->name, "sgln") == 0   ? "414"
			           : strcmp(sc->name, "pgln") == 0 ? "417"
			           : strcmp(sc->name, "grai") == 0 ? "8003"
			           : strcmp(sc->name, "gdti") == 0 ? "253"
			                                           : "255");
		}
		if (!all_digits(c[1], cl[1]) || cpl + cl[1] != want ||
		    (lead && cl[1] == 0))
			return (id_fail(ctx, d,
			                "EPC URN %s: company prefix and the "
			                "next component must be %zu digits",
			                sc->name, want));
		vl = 0;
		if (strcmp(ai, "8003") == 0)
			v[vl++] = '0';
		if (lead)
			v[vl++] = c[1][0];
		memcpy(v + vl, c[0], cpl);
		vl += cpl;
		memcpy(v + vl, c[1] + lead, cl[1] - lead);
		vl += cl[1] - lead;
		v[vl] = trc_gs1_check_digit(v, vl);
		vl++;
		if (strcmp(ai, "8006") == 0) {
			if (cl[2] != 2 || cl[3] != 2 || !all_digits(c[2], 2) ||
			    !all_digits(c[3], 2))
				return (id_fail(ctx, d,
				                "EPC URN itip: piece and total "
				                "must be 2 digits each"));
			memcpy(v + vl, c[2], 2);
			memcpy(v + vl + 2, c[3], 2);
			vl += 4;
		}
		if (!pat && sc->ncomp > 2) {
			const char *sai = NULL;
			size_t      si = sc->ncomp - 1u;
			char        set = 'X';

			if (strcmp(ai, "01") == 0)
				sai = sc->name[0] == 'l'   ? "10"
				      : sc->name[0] == 'u' ? "235"
				                           : "21";
			else if (strcmp(ai, "8006") == 0)
				sai = "21";
			else if (strcmp(ai, "414") == 0)
				sai = "254";
			else if (strcmp(ai, "255") == 0)
				set = 'N';
			if (set == 'N' && !all_digits(c[si], cl[si]))
				return (id_fail(ctx, d,
				                "EPC URN sgcn: serial must be "
				                "digits"));
			if ((rv = pct_decode(c[si], cl[si], set, t, 30, &tl,
			                     "EPC URN serial", ctx, d)) !=
			    CM_OK)
				return (rv);
			if (tl == 0)
				return (
				    id_fail(ctx, d,
				            "EPC URN %s: the last component "
				            "is empty",
				            sc->name));
			if (sai != NULL) {
				rv = pair_add(pv, &np, ai_named(sai), t, tl,
				              ctx, d);
			} else {
				if (vl + tl > sizeof(v))
					tl = sizeof(v) - vl;
				memcpy(v + vl, t, tl);
				vl += tl;
			}
			if (rv != CM_OK)
				return (rv);
		}
		/* The key first, as gs1_build wants it in DL order. */
		if (np == PAIRS_MAX)
			return (id_fail(ctx, d, "too many parts"));
		memmove(pv + 1, pv, np * sizeof(pv[0]));
		{
			size_t one = 0;

			rv = pair_add(pv, &one, ai_named(ai), v, vl, ctx, d);
			if (rv != CM_OK) {
				memmove(pv, pv + 1, np * sizeof(pv[0]));
				return (rv);
			}
			np++;
		}
	}
	if ((rv = gs1_build(id, pv, np, false, (unsigned) cpl, ctx, d)) !=
	    CM_OK)
		return (rv);
	id->is_pattern = pat;
	return (CM_OK);
}

/* ---- GS1 Digital Link URIs (DL 1.x) -------------------------------------- */

/* Could seg (the value after a primary key's AI a) be that key?  Decides
 * whether a URI on another host than id.gs1.org is a Digital Link at all. */
static bool
dl_shape(const ai_def *a, const char *seg, size_t n)
{
	if (n == 0)
		return (false);
	if (strcmp(a->ai, "01") == 0)
		return ((n == 8 || n == 12 || n == 13 || n == 14) &&
		        all_digits(seg, n));
	if (a->head > 0)
		return (n >= a->head && all_digits(seg, a->head));
	return (true);
}

static bool
is_dl_qualifier(const char *p, size_t n)
{
	const ai_def *a = ai_find(p, n);

	return (a != NULL && a->quals == NULL &&
	        (strcmp(a->ai, "10") == 0 || strcmp(a->ai, "21") == 0 ||
	         strcmp(a->ai, "22") == 0 || strcmp(a->ai, "235") == 0 ||
	         strcmp(a->ai, "254") == 0 || strcmp(a->ai, "8011") == 0 ||
	         strcmp(a->ai, "8019") == 0));
}

#define SEGS_MAX 32

/* CM_OK with *out_dl true if s is a Digital Link (then *id is set);
 * *out_dl false if it is some other http(s) URI. */
static cm_err
dl_parse(const char *s, size_t n, const trc_id_ctx *ctx, trc_id *id,
         bool *out_dl, cm_diag *d)
{
	const char *end = s + n, *host, *path, *pend, *seg[SEGS_MAX];
	size_t      sl[SEGS_MAX], ns = 0, start = 0;
	bool        gs1host, found = false;
	ai_pair     pv[PAIRS_MAX];
	size_t      np = 0;
	cm_err      rv;

	*out_dl = false;
	host = (const char *) memchr(s, ':', n) + 3;
	path = memchr(host, '/', (size_t) (end - host));
	if (path == NULL)
		path = end;
	gs1host = is_name(host, (size_t) (path - host), "id.gs1.org");
	for (pend = path; pend < end && *pend != '?' && *pend != '#'; pend++)
		;
	if (pend > path + 1 && pend[-1] == '/')
		pend--; /* one trailing slash */
	for (const char *p = path; p < pend;) {
		const char *q;

		p++;
		q = memchr(p, '/', (size_t) (pend - p));
		if (q == NULL)
			q = pend;
		if (ns == SEGS_MAX)
			return (gs1host ? id_fail(ctx, d,
			                          "Digital Link: more than %d "
			                          "path segments",
			                          SEGS_MAX)
			                : CM_OK);
		seg[ns] = p;
		sl[ns++] = (size_t) (q - p);
		p = q;
	}
	/* The primary key: the first AI of a key whose value has its shape
	 * and after which only AI/value pairs follow (DL 1.x: a path prefix
	 * may precede it). */
	for (size_t i = 0; i + 1 < ns && !found; i++) {
		const ai_def *a = ai_find(seg[i], sl[i]);

		if (a != NULL && a->quals != NULL && (ns - i) % 2 == 0 &&
		    dl_shape(a, seg[i + 1], sl[i + 1])) {
			found = true;
			start = i;
		}
	}
	if (!found) {
		if (gs1host)
			return (id_fail(ctx, d,
			                "Digital Link: no GS1 primary key in "
			                "the path"));
		return (CM_OK);
	}
	*out_dl = true;
	for (size_t i = 0; i + 1 < start; i++)
		if (is_dl_qualifier(seg[i], sl[i]))
			return (id_fail(ctx, d,
			                "Digital Link order: /%.*s/ comes "
			                "before the primary key /%.*s/",
			                (int) sl[i], seg[i], (int) sl[start],
			                seg[start]));
	for (size_t i = start; i + 1 < ns; i += 2) {
		const ai_def *a = ai_find(seg[i], sl[i]);
		char          v[TRC_ID_PART_MAX + 8];
		size_t        vl;

		if (a == NULL)
			return (id_fail(ctx, d,
			                "Digital Link: /%.*s/ is not an AI of "
			                "a key or key qualifier",
			                (int) (sl[i] > 8 ? 8 : sl[i]), seg[i]));
		if ((rv = pct_decode(seg[i + 1], sl[i + 1], 'D', v, 30, &vl,
		                     a->name, ctx, d)) != CM_OK)
			return (rv);
		if (strcmp(a->ai, "01") == 0 && vl < 14 &&
		    (vl == 8 || vl == 12 || vl == 13)) {
			/* GTIN-8, -12 and -13 are written as 14 digits. */
			memmove(v + 14 - vl, v, vl);
			memset(v, '0', 14 - vl);
			vl = 14;
		}
		if ((rv = pair_add(pv, &np, a, v, vl, ctx, d)) != CM_OK)
			return (rv);
	}
	return (gs1_build(id, pv, np, true, 0, ctx, d));
}

/* ---- GS1 element strings (GS1 General Specifications 7.8) ---------------- */

#define GS 0x1d

/* "(01)09506000134352(21)ABC" or, after a symbology identifier ]d2 ]C1
 * ]e0 ]Q3 ]J1 or a leading GS, the raw form with GS after each
 * variable-length value. */
static cm_err
element_parse(const char *s, size_t n, const trc_id_ctx *ctx, trc_id *id,
              cm_diag *d)
{
	ai_pair pv[PAIRS_MAX];
	size_t  np = 0, i = 0;
	bool    paren = s[0] == '(';
	cm_err  rv;

	if (!paren) {
		if (s[0] == GS)
			i = 1;
		else if (n >= 3 &&
		         (memcmp(s, "]d2", 3) == 0 ||
		          memcmp(s, "]C1", 3) == 0 ||
		          memcmp(s, "]e0", 3) == 0 ||
		          memcmp(s, "]Q3", 3) == 0 || memcmp(s, "]J1", 3) == 0))
			i = 3;
		else
			return (id_fail(ctx, d,
			                "element string: unknown symbology "
			                "identifier (want ]d2, ]C1, ]e0, ]Q3 "
			                "or ]J1)"));
	}
	while (i < n) {
		const ai_def *a = NULL;
		size_t        al = 0, vs, ve;

		if (paren) {
			const char *close;

			if (s[i] != '(' ||
			    (close = memchr(s + i, ')', n - i)) == NULL)
				return (id_fail(ctx, d,
				                "element string: want (AI) at "
				                "%zu",
				                i + 1));
			al = (size_t) (close - (s + i + 1));
			if (al >= 2 && al <= 4 && all_digits(s + i + 1, al))
				a = ai_find(s + i + 1, al);
			if (a == NULL)
				return (id_fail(ctx, d,
				                "element string: unknown AI "
				                "(%.*s)",
				                (int) (al > 4 ? 4 : al),
				                s + i + 1));
			vs = i + al + 2;
			for (ve = vs; ve < n && s[ve] != '('; ve++)
				;
			i = ve;
		} else {
			for (al = 2; al <= 4 && a == NULL; al++)
				if (i + al <= n && all_digits(s + i, al))
					a = ai_find(s + i, al);
			al--;
			if (a == NULL)
				return (id_fail(ctx, d,
				                "element string: unknown AI at "
				                "%zu",
				                i + 1));
			vs = i + al;
			if (a->min == a->max) {
				ve = vs + a->min > n ? n : vs + a->min;
			} else {
				for (ve = vs; ve < n && s[ve] != GS; ve++)
					;
			}
			i = ve < n && s[ve] == GS ? ve + 1 : ve;
		}
		if ((rv = pair_add(pv, &np, a, s + vs, ve - vs, ctx, d)) !=
		    CM_OK)
			return (rv);
	}
	return (gs1_build(id, pv, np, false, 0, ctx, d));
}

/* ---- Tally's own forms --------------------------------------------------- */

static void
key_set_text(trc_id *id, const char *p, size_t n)
{
	memcpy(id->key, p, n);
	id->key[n] = '\0';
	id->key_len = n;
}

static cm_err
cndrug_set(trc_id *id, const char *digits, size_t n, const trc_id_ctx *ctx,
           cm_diag *d)
{
	char k[64];

	/* The 20-digit code's inner layout and check are not public: only its
	 * shape is checked (docs/trace.md). */
	if (n != 20 || !all_digits(digits, n))
		return (id_fail(ctx, d,
		                "Chinese drug traceability code: want 20 "
		                "digits"));
	memset(id, 0, offsetof(trc_id, orig_len));
	id->kind = TRC_ID_CNDRUG;
	id->src = TRC_SRC_TALLY;
	snprintf(k, sizeof(k), "urn:tally:cndrug:%.20s", digits);
	key_set_text(id, k, strlen(k));
	return (CM_OK);
}

/* urn:tally:batch:<USCC>:<product>:<lot>: product and lot are 1-40
 * characters of set 82 written as in an EPC URN, ':' escaped as %3A. */
static cm_err
batch_parse(const char *s, size_t n, const trc_id_ctx *ctx, trc_id *id,
            cm_diag *d)
{
	const char *p = s + 16, *end = s + n, *c1, *c2;
	char        prod[41], lot[41];
	size_t      pl, ll;
	cm_buf      kb = {0};
	cm_diag     ud;
	cm_err      rv;

	c1 = memchr(p, ':', (size_t) (end - p));
	c2 = c1 ? memchr(c1 + 1, ':', (size_t) (end - c1 - 1)) : NULL;
	if (c2 == NULL || memchr(c2 + 1, ':', (size_t) (end - c2 - 1)) != NULL)
		return (id_fail(ctx, d,
		                "batch: want urn:tally:batch:<USCC>:<product>:"
		                "<lot>"));
	cm_diag_clear(&ud);
	if (ldg_uscc_check(CM_BYTES(p, (size_t) (c1 - p)), &ud) != CM_OK)
		return (id_fail(ctx, d, "batch: USCC %.*s: %s",
		                (int) ((c1 - p) > 18 ? 18 : (c1 - p)), p,
		                ud.msg));
	if ((rv = pct_decode(c1 + 1, (size_t) (c2 - c1 - 1), 'X', prod, 40, &pl,
	                     "batch product", ctx, d)) != CM_OK ||
	    (rv = pct_decode(c2 + 1, (size_t) (end - c2 - 1), 'X', lot, 40, &ll,
	                     "batch lot", ctx, d)) != CM_OK)
		return (rv);
	if (pl == 0 || ll == 0)
		return (id_fail(ctx, d, "batch: empty %s",
		                pl == 0 ? "product" : "lot"));
	memset(id, 0, offsetof(trc_id, orig_len));
	id->kind = TRC_ID_BATCH;
	id->src = TRC_SRC_TALLY;
	id->is_class = true;
	part_set(id->uscc, p, 18);
	if (ll < sizeof(id->lot))
		part_set(id->lot, lot, ll);
	/* The canonical text: escapes only where an EPC URN needs them, and
	 * ':' (the separator). */
	rv = cm_buf_printf(&kb, "urn:tally:batch:%s:", id->uscc);
	for (size_t i = 0; i < pl && rv == CM_OK; i++)
		rv = prod[i] == ':' ? cm_buf_append(&kb, "%3A", 3)
		                    : enc_append(&kb, prod + i, 1, urn_plain);
	if (rv == CM_OK)
		rv = cm_buf_append_byte(&kb, ':');
	for (size_t i = 0; i < ll && rv == CM_OK; i++)
		rv = lot[i] == ':' ? cm_buf_append(&kb, "%3A", 3)
		                   : enc_append(&kb, lot + i, 1, urn_plain);
	if (rv == CM_OK && kb.len > TRC_ID_KEY_MAX)
		rv = id_fail(ctx, d, "batch: longer than %d bytes",
		             TRC_ID_KEY_MAX);
	if (rv == CM_OK)
		key_set_text(id, (const char *) kb.p, kb.len);
	cm_buf_fini(&kb);
	return (rv);
}

/* ---- opaque URIs --------------------------------------------------------- */

/* The length of s's RFC 3986 scheme and ':', or 0. */
static size_t
uri_scheme_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return (0);
	while (i < n &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	        is_digit((uint8_t) s[i]) || s[i] == '+' || s[i] == '-' ||
	        s[i] == '.'))
		i++;
	return (i < n && s[i] == ':' ? i + 1 : 0);
}

static bool
prefix_ci(const char *s, size_t n, const char *pre)
{
	size_t pl = strlen(pre);

	if (n < pl)
		return (false);
	for (size_t i = 0; i < pl; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		if (c != pre[i])
			return (false);
	}
	return (true);
}

static cm_err
opaque_set(trc_id *id, const char *s, size_t n, const trc_id_ctx *ctx,
           cm_diag *d)
{
	size_t sl = uri_scheme_len(s, n);

	if (sl == 0)
		return (id_fail(ctx, d,
		                "not an identifier: want an EPC URN, a GS1 "
		                "Digital Link or another absolute URI"));
	if (sl == n)
		return (id_fail(ctx, d, "URI has nothing after its scheme"));
	for (size_t i = 0; i < n; i++)
		if ((uint8_t) s[i] <= 0x20 || (uint8_t) s[i] >= 0x7f)
			return (id_fail(ctx, d,
			                "URI: byte 0x%02x at %zu (write it "
			                "percent-encoded)",
			                (uint8_t) s[i], i + 1));
	if (n > TRC_ID_KEY_MAX)
		return (id_fail(ctx, d, "URI longer than %d bytes",
		                TRC_ID_KEY_MAX));
	memset(id, 0, offsetof(trc_id, orig_len));
	id->kind = TRC_ID_OPAQUE;
	id->src = TRC_SRC_OTHER;
	key_set_text(id, s, n);
	return (CM_OK);
}

/* ---- the API ------------------------------------------------------------- */

cm_err
trc_id_parse(cm_bytes text, const trc_id_ctx *ctx, trc_id *out, cm_diag *d)
{
	const char *s = (const char *) text.p;
	size_t      n = text.len;
	trc_id      id;
	cm_err      rv;

	memset(&id, 0, sizeof(id));
	if (n == 0)
		return (id_fail(ctx, d, "empty identifier"));
	if (n > TRC_ID_TEXT_MAX)
		return (id_fail(ctx, d, "identifier longer than %d bytes",
		                TRC_ID_TEXT_MAX));
	if (n > 8 && memcmp(s, "urn:epc:", 8) == 0) {
		rv = urn_parse(s, n, ctx, &id, d);
		id.src = TRC_SRC_URN;
	} else if (n > 17 && memcmp(s, "urn:tally:cndrug:", 17) == 0) {
		rv = cndrug_set(&id, s + 17, n - 17, ctx, d);
	} else if (n > 16 && memcmp(s, "urn:tally:batch:", 16) == 0) {
		rv = batch_parse(s, n, ctx, &id, d);
	} else if (n >= 10 && memcmp(s, "urn:tally:", 10) == 0) {
		rv = id_fail(ctx, d,
		             "unknown urn:tally: form (want cndrug or batch)");
	} else if (ctx != NULL && ctx->scans &&
	           (s[0] == '(' || s[0] == ']' || s[0] == GS)) {
		rv = element_parse(s, n, ctx, &id, d);
		id.src = TRC_SRC_ELEMENT;
	} else if (ctx != NULL && ctx->scans && n == 20 && all_digits(s, n)) {
		rv = cndrug_set(&id, s, n, ctx, d);
	} else if (prefix_ci(s, n, "http://") || prefix_ci(s, n, "https://")) {
		bool is_dl;

		rv = dl_parse(s, n, ctx, &id, &is_dl, d);
		if (rv == CM_OK && is_dl)
			id.src = TRC_SRC_DL;
		else if (rv == CM_OK)
			rv = opaque_set(&id, s, n, ctx, d);
	} else if (prefix_ci(s, n, "urn:epc:")) {
		rv = id_fail(ctx, d, "EPC URN: write urn:epc: in lower case");
	} else {
		rv = opaque_set(&id, s, n, ctx, d);
	}
	if (rv != CM_OK)
		return (rv);
	memcpy(id.orig, s, n);
	id.orig[n] = '\0';
	id.orig_len = n;
	*out = id;
	return (CM_OK);
}

cm_bytes
trc_id_key(const trc_id *id)
{
	return (CM_BYTES(id->key, id->key_len));
}

cm_err
trc_id_form_parse(cm_bytes name, trc_id_form *out)
{
	if (cm_bytes_eq_str(name, "dl"))
		*out = TRC_FORM_DL;
	else if (cm_bytes_eq_str(name, "urn"))
		*out = TRC_FORM_URN;
	else if (cm_bytes_eq_str(name, "original"))
		*out = TRC_FORM_ORIGINAL;
	else
		return (CM_EINVAL);
	return (CM_OK);
}

cm_err
trc_id_canonical_dl(const trc_id *id, cm_buf *out)
{
	cm_err rv = cm_buf_append(out, "https://id.gs1.org", 18);

	if (rv == CM_OK)
		rv = dl_path(id, false, out);
	return (rv);
}

/* The EPC URN of a GS1 key whose company-prefix length is known. */
static cm_err
urn_write(const trc_id *id, cm_buf *b)
{
	const char *v = id->value, *ai = id->ai;
	size_t      L = id->gcp_len, n = strlen(v);
	const char *sch, *kind = "id";
	bool        lead = false, no_check = false, pat = false;
	cm_err      rv;

	if (strcmp(ai, "01") == 0 || strcmp(ai, "8006") == 0) {
		lead = true;
		if (strcmp(ai, "8006") == 0)
			sch = "itip", pat = id->serial[0] == '\0';
		else if (strcmp(id->serial_ai, "235") == 0)
			sch = "upui";
		else if (id->serial[0] != '\0')
			sch = "sgtin";
		else if (id->lot[0] != '\0')
			sch = "lgtin", kind = "class";
		else
			sch = "sgtin", pat = true;
	} else if (strcmp(ai, "00") == 0) {
		sch = "sscc", lead = true;
	} else if (strcmp(ai, "414") == 0) {
		sch = "sgln";
	} else if (strcmp(ai, "417") == 0) {
		sch = "pgln";
	} else if (strcmp(ai, "8003") == 0) {
		sch = "grai", v++, n--; /* the leading 0 */
		pat = id->serial[0] == '\0';
	} else if (strcmp(ai, "253") == 0) {
		sch = "gdti", pat = id->serial[0] == '\0';
	} else if (strcmp(ai, "255") == 0) {
		sch = "sgcn", pat = id->serial[0] == '\0';
	} else if (strcmp(ai, "8017") == 0 || strcmp(ai, "8018") == 0) {
		sch = ai[3] == '7' ? "gsrnp" : "gsrn";
	} else if (strcmp(ai, "402") == 0) {
		sch = "gsin";
	} else if (strcmp(ai, "8004") == 0 || strcmp(ai, "401") == 0 ||
	           strcmp(ai, "8010") == 0) {
		sch = ai[0] == '4' ? "ginc" : ai[3] == '4' ? "giai" : "cpi";
		no_check = true;
		pat = ai[3] == '0' && id->serial[0] == '\0';
	} else {
		return (CM_EINVAL);
	}
	if (pat)
		kind = "idpat";
	rv = cm_buf_printf(b, "urn:epc:%s:%s:", kind, sch);
	if (rv != CM_OK)
		return (rv);
	/* company prefix . [indicator] reference */
	rv = cm_buf_append(b, v + (lead ? 1 : 0), L);
	if (rv == CM_OK)
		rv = cm_buf_append_byte(b, '.');
	if (rv == CM_OK && lead)
		rv = cm_buf_append_byte(b, (uint8_t) v[0]);
	if (rv == CM_OK && no_check)
		rv = enc_append(b, v + L, n - L, urn_plain);
	else if (rv == CM_OK)
		rv = cm_buf_append(b, v + (lead ? 1 : 0) + L,
		                   n - 1 - L - (lead ? 1 : 0));
	if (rv == CM_OK && id->piece[0] != '\0')
		rv = cm_buf_printf(b, ".%.2s.%.2s", id->piece, id->piece + 2);
	if (rv != CM_OK)
		return (rv);
	if (pat)
		return (cm_buf_append(b, ".*", 2));
	if (strcmp(sch, "sgln") == 0)
		return (
		    id->ext[0] == '\0' ? cm_buf_append(b, ".0", 2)
		    : (rv = cm_buf_append_byte(b, '.')) != CM_OK
		        ? rv
		        : enc_append(b, id->ext, strlen(id->ext), urn_plain));
	if (id->serial[0] != '\0' || id->lot[0] != '\0') {
		const char *t = id->serial[0] != '\0' ? id->serial : id->lot;

		if ((rv = cm_buf_append_byte(b, '.')) != CM_OK)
			return (rv);
		return (enc_append(b, t, strlen(t), urn_plain));
	}
	return (CM_OK);
}

cm_err
trc_id_format(const trc_id *id, trc_id_form form, cm_buf *out)
{
	if (form == TRC_FORM_ORIGINAL)
		return (cm_buf_append(out, id->orig, id->orig_len));
	if (id->kind != TRC_ID_GS1)
		return (cm_buf_append(out, id->key, id->key_len));
	if (form == TRC_FORM_URN && id->gcp_len != 0 &&
	    strcmp(id->ai, "8019") != 0 && strcmp(id->serial_ai, "8019") != 0)
		return (urn_write(id, out));
	return (trc_id_canonical_dl(id, out));
}

cm_err
trc_id_check_pos(const trc_id *id, trc_id_pos pos, const char *field,
                 cm_diag *d)
{
	const char *f = field != NULL ? field : "identifier";

	if (id->kind == TRC_ID_OPAQUE || id->kind == TRC_ID_EPC)
		return (id->kind == TRC_ID_EPC && pos == TRC_POS_CLASS
		            ? cm_fail(d, CM_EPROTO,
		                      "%s: %s is an instance, not a class", f,
		                      id->orig)
		            : CM_OK);
	if (pos == TRC_POS_INSTANCE && id->is_pattern)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s is an EPC pattern, only valid as an "
		                "epcClass",
		                f, id->orig));
	if (pos == TRC_POS_INSTANCE && id->is_class)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s names a class, only valid as an "
		                "epcClass",
		                f, id->orig));
	if (pos == TRC_POS_CLASS && !id->is_class)
		return (cm_fail(d, CM_EPROTO,
		                "%s: %s is an instance, not a class", f,
		                id->orig));
	return (CM_OK);
}
