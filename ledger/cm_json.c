/* SPDX-License-Identifier: MIT */
/* ledger/cm_json.c -- JSON <-> canonical CBOR, and a thin walking API over
 * parsed JSON.  The one file that includes <jansson.h>; a cm_json * is a
 * json_t * in disguise.  JSON input is strict: duplicate keys, trailing
 * garbage, \u0000, fractions, exponents and integers beyond int64 are
 * refused (docs/format.md). */
#include "ledger/cm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* The token jansson quotes in "... near '<token>'", or an empty view. */
static cm_bytes
near_token(const char *text)
{
	const char *p = strstr(text, " near '");
	size_t      len;

	if (p == NULL)
		return (CM_BYTES("", 0));
	p += strlen(" near '");
	len = strlen(p);
	if (len == 0 || p[len - 1] != '\'')
		return (CM_BYTES("", 0));
	return (CM_BYTES(p, len - 1));
}

static bool number_find(cm_bytes t, bool real, cm_bytes *out_tok, int *out_line,
                        int *out_col);

/* Maps a jansson parse error to a diag that names the problem and where. */
static cm_err
error_report(const json_error_t *e, cm_bytes text, cm_diag *d)
{
	cm_bytes tok = near_token(e->text);
	int      tl = (int) (tok.len > 64 ? 64 : tok.len);
	int      line = e->line, col = e->column;
	size_t   digits;

	switch (json_error_code(e)) {
	case json_error_duplicate_key:
		/* jansson quotes at most 20 bytes of a token: a longer key
		 * is the string that ends where the error is (the unescaped
		 * '"' before starts it), quoted as jansson quotes one. */
		if (tok.len == 0 && e->position >= 2 &&
		    (size_t) e->position <= text.len &&
		    text.p[e->position - 1] == '"') {
			size_t end = (size_t) e->position - 1, i = end;

			while (i > 0) {
				size_t bs = 0;

				i--;
				while (i - bs > 0 && text.p[i - bs - 1] == '\\')
					bs++;
				if (text.p[i] == '"' && bs % 2 == 0)
					break;
			}
			tok = CM_BYTES(text.p + i, end - i + 1);
			tl = (int) (tok.len > 64 ? 64 : tok.len);
		}
		return (cm_fail(d, CM_EPROTO,
		                "JSON: duplicate key %.*s (line %d, column %d)",
		                tl, (const char *) tok.p, line, col));
	case json_error_numeric_overflow:
		if (strncmp(e->text, "too big", 7) == 0) {
			/* The same 20 bytes: find the token; its place is
			 * then where it starts, as for reals. */
			(void) number_find(text, false, &tok, &line, &col);
			digits = tok.len - (tok.len > 0 && tok.p[0] == '-');
			if (digits > 40)
				return (cm_fail(
				    d, CM_EPROTO,
				    "JSON: integer does not fit int64: "
				    "%.20s... "
				    "(%zu digits) (line %d, column %d)",
				    (const char *) tok.p, digits, line, col));
			return (cm_fail(
			    d, CM_EPROTO,
			    "JSON: integer does not fit int64: %.*s (line %d, "
			    "column %d)",
			    (int) tok.len, (const char *) tok.p, line, col));
		}
		return (cm_fail(
		    d, CM_EPROTO,
		    "JSON: number with fraction or exponent not allowed: "
		    "%.*s (line %d, column %d)",
		    tl, (const char *) tok.p, line, col));
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return (cm_fail(
		    d, CM_EPROTO,
		    "JSON: \\u0000 in string not allowed (line %d, column %d)",
		    line, col));
	case json_error_invalid_utf8:
		return (cm_fail(d, CM_EPROTO,
		                "JSON: invalid UTF-8 (line %d, column %d)",
		                line, col));
	case json_error_end_of_input_expected:
		return (cm_fail(
		    d, CM_EPROTO,
		    "JSON: trailing garbage after the value (line %d, column "
		    "%d)",
		    line, col));
	default:
		return (cm_fail(d, CM_EPROTO, "JSON: %s (line %d, column %d)",
		                e->text, line, col));
	}
}

/* True if the integer token t (JSON: -?digits) is outside int64. */
static bool
int_too_big(cm_bytes t)
{
	static const char max[] = "9223372036854775807";
	bool              neg = t.len > 0 && t.p[0] == '-';
	const uint8_t    *p = t.p + neg;
	size_t            n = t.len - neg;
	int               c;

	while (n > 1 && p[0] == '0')
		p++, n--;
	if (n != sizeof(max) - 1)
		return (n > sizeof(max) - 1);
	c = memcmp(p, max, n);
	/* -9223372036854775808 is the one more that fits. */
	return (c > 0 && !(neg && memcmp(p, "9223372036854775808", n) == 0));
}

/* Finds the first number token in valid JSON text that has a fraction or
 * exponent (real) or else is an integer beyond int64, to name it and its
 * place: jansson keeps neither for reals, nor the text of a long integer. */
static bool
number_find(cm_bytes t, bool real, cm_bytes *out_tok, int *out_line,
            int *out_col)
{
	int  line = 1, col = 1;
	bool str = false, esc = false;

	for (size_t i = 0; i < t.len; i++, col++) {
		uint8_t c = t.p[i];

		if (str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '\n') {
			line++;
			col = 0;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i;
			bool   isreal = false;

			while (j < t.len && strchr("+-.0123456789eE", t.p[j]) &&
			       t.p[j] != '\0') {
				if (t.p[j] == '.' || t.p[j] == 'e' ||
				    t.p[j] == 'E')
					isreal = true;
				j++;
			}
			if (real ? isreal
			         : !isreal &&
			               int_too_big(CM_BYTES(t.p + i, j - i))) {
				*out_tok = CM_BYTES(t.p + i, j - i);
				*out_line = line;
				*out_col = col;
				return (true);
			}
			col += (int) (j - i - 1);
			i = j - 1;
		}
	}
	return (false);
}

typedef struct key_ent {
	const char *key;
	size_t      len;
	json_t     *val;
} key_ent;

static int
key_ent_cmp(const void *a, const void *b)
{
	const key_ent *x = a, *y = b;

	return (cm_cbor_key_cmp(CM_BYTES(x->key, x->len),
	                        CM_BYTES(y->key, y->len)));
}

/* The shortest %g form of a real that reads back the same, for diags. */
static void
real_format(double v, char *buf, size_t len)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static cm_err value_encode(const json_t *v, cm_cbor_wr *w, int depth,
                           cm_diag *d);

static cm_err
object_encode(const json_t *v, cm_cbor_wr *w, int depth, cm_diag *d)
{
	key_ent    *ents = NULL;
	size_t      n = json_object_size(v), i = 0;
	const char *key;
	size_t      keylen;
	json_t     *val;
	cm_err      rv = CM_OK;

	if ((ents = cm_calloc(n, sizeof(*ents))) == NULL) {
		rv = cm_fail(d, CM_ENOMEM, "JSON: out of memory");
		goto out;
	}
	/* json_object_keylen_foreach's iterator is not const-correct. */
	json_object_keylen_foreach((json_t *) (uintptr_t) v, key, keylen, val)
	{
		if (i == n)
			break;
		ents[i].key = key;
		ents[i].len = keylen;
		ents[i].val = val;
		i++;
	}
	qsort(ents, i, sizeof(*ents), key_ent_cmp);
	cm_cbor_wr_map(w, i);
	for (size_t k = 0; k < i; k++) {
		if (memchr(ents[k].key, 0, ents[k].len) != NULL) {
			rv = cm_fail(d, CM_EPROTO,
			             "JSON: \\u0000 in key not allowed");
			goto out;
		}
		cm_cbor_wr_text(w, CM_BYTES(ents[k].key, ents[k].len));
		if ((rv = value_encode(ents[k].val, w, depth + 1, d)) != CM_OK)
			goto out;
	}
out:
	cm_free(ents);
	return (rv);
}

static cm_err
value_encode(const json_t *v, cm_cbor_wr *w, int depth, cm_diag *d)
{
	char   buf[32];
	cm_err rv;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth >= CM_CBOR_MAX_DEPTH)
			return (cm_fail(d, CM_EPROTO,
			                "JSON: nesting deeper than %d",
			                CM_CBOR_MAX_DEPTH));
		if (json_is_object(v))
			return (object_encode(v, w, depth, d));
		cm_cbor_wr_array(w, json_array_size(v));
		for (size_t i = 0; i < json_array_size(v); i++) {
			rv =
			    value_encode(json_array_get(v, i), w, depth + 1, d);
			if (rv != CM_OK)
				return (rv);
		}
		return (CM_OK);
	case JSON_STRING:
		if (memchr(json_string_value(v), 0, json_string_length(v)))
			return (cm_fail(d, CM_EPROTO,
			                "JSON: \\u0000 in string not allowed"));
		cm_cbor_wr_text(
		    w, CM_BYTES(json_string_value(v), json_string_length(v)));
		return (CM_OK);
	case JSON_INTEGER:
		cm_cbor_wr_int(w, (int64_t) json_integer_value(v));
		return (CM_OK);
	case JSON_REAL:
		real_format(json_real_value(v), buf, sizeof(buf));
		return (cm_fail(
		    d, CM_EPROTO,
		    "JSON: number with fraction or exponent not allowed: %s",
		    buf));
	case JSON_TRUE:
		cm_cbor_wr_bool(w, true);
		return (CM_OK);
	case JSON_FALSE:
		cm_cbor_wr_bool(w, false);
		return (CM_OK);
	case JSON_NULL:
		cm_cbor_wr_null(w);
		return (CM_OK);
	}
	return (cm_fail(d, CM_EINVAL, "JSON: unknown value type"));
}

cm_err
cm_json_encode_cbor(const cm_json *j, cm_buf *out, cm_diag *d)
{
	cm_cbor_wr w;
	size_t     start = out->len;
	cm_err     rv;

	if (j == NULL)
		return (cm_fail(d, CM_EINVAL, "JSON: NULL value"));
	cm_cbor_wr_init(&w, out);
	if ((rv = value_encode((const json_t *) j, &w, 0, d)) == CM_OK)
		rv = cm_cbor_wr_finish(&w, d);
	if (rv != CM_OK && out->p != NULL) {
		out->len = start; /* leave out as it was */
		out->p[start] = 0;
	}
	return (rv);
}

cm_err
cm_json_to_cbor(cm_bytes json, cm_buf *out, cm_diag *d)
{
	json_t      *root = NULL;
	json_error_t e;
	cm_bytes     tok;
	int          line, col;
	cm_err       rv;

	if (json.p == NULL && json.len > 0)
		return (cm_fail(d, CM_EINVAL, "JSON: NULL input"));
	root = json_loadb(json.len > 0 ? (const char *) json.p : "", json.len,
	                  JSON_LOAD_FLAGS, &e);
	if (root == NULL &&
	    (json_error_code(&e) != json_error_numeric_overflow ||
	     strncmp(e.text, "too big", 7) == 0)) {
		rv = error_report(&e, json, d);
		goto out;
	}
	/* Reals (also those too big for a double, which jansson refuses):
	 * name the token where it starts. */
	if (number_find(json, true, &tok, &line, &col)) {
		rv = cm_fail(
		    d, CM_EPROTO,
		    "JSON: number with fraction or exponent not allowed: %.*s "
		    "(line %d, column %d)",
		    (int) (tok.len > 64 ? 64 : tok.len), (const char *) tok.p,
		    line, col);
		goto out;
	}
	if (root == NULL) {
		rv = error_report(&e, json, d);
		goto out;
	}
	rv = cm_json_encode_cbor((const cm_json *) root, out, d);
out:
	json_decref(root);
	return (rv);
}

/* ---- CBOR -> JSON ------------------------------------------------------ */

static cm_err
item_to_json(cm_cbor_rd *r, int depth, json_t **out)
{
	json_t  *v = NULL, *child = NULL;
	cm_buf   hex = {0};
	cm_bytes s;
	uint64_t n;
	int64_t  i;
	bool     b;
	size_t   off = r->off;
	cm_err   rv = CM_OK;

	if (depth >= CM_CBOR_MAX_DEPTH + 1) {
		rv = cm_fail(
		    r->d, CM_ENONCANON,
		    "non-canonical: nesting deeper than %d at offset %zu",
		    CM_CBOR_MAX_DEPTH, off);
		goto out;
	}
	switch (cm_cbor_rd_peek(r)) {
	case CM_CBOR_UINT:
	case CM_CBOR_NEGINT:
		if ((rv = cm_cbor_rd_int(r, &i)) != CM_OK) {
			rv = cm_fail(
			    r->d, CM_ETOOBIG,
			    "JSON: integer at offset %zu does not fit int64",
			    off);
			goto out;
		}
		v = json_integer((json_int_t) i);
		break;
	case CM_CBOR_BYTES:
		if ((rv = cm_cbor_rd_bytes(r, &s)) != CM_OK)
			goto out;
		if ((rv = cm_hex_encode(&hex, s)) != CM_OK)
			goto out;
		v = json_stringn(hex.len > 0 ? (const char *) hex.p : "",
		                 hex.len);
		break;
	case CM_CBOR_TEXT:
		if ((rv = cm_cbor_rd_text(r, &s)) != CM_OK)
			goto out;
		v = json_stringn(s.len > 0 ? (const char *) s.p : "", s.len);
		break;
	case CM_CBOR_ARRAY:
		if ((rv = cm_cbor_rd_array(r, &n)) != CM_OK)
			goto out;
		if ((v = json_array()) == NULL)
			break;
		for (uint64_t k = 0; k < n; k++) {
			if ((rv = item_to_json(r, depth + 1, &child)) != CM_OK)
				goto out;
			if (json_array_append_new(v, child) != 0) {
				child = NULL;
				rv = CM_ENOMEM;
				goto out;
			}
			child = NULL;
		}
		break;
	case CM_CBOR_MAP:
		if ((rv = cm_cbor_rd_map(r, &n)) != CM_OK)
			goto out;
		if ((v = json_object()) == NULL)
			break;
		for (uint64_t k = 0; k < n; k++) {
			if ((rv = cm_cbor_rd_text(r, &s)) != CM_OK)
				goto out;
			if ((rv = item_to_json(r, depth + 1, &child)) != CM_OK)
				goto out;
			/* Keys were checked unique and UTF-8 already. */
			if (json_object_setn_new_nocheck(
			        v, s.len > 0 ? (const char *) s.p : "", s.len,
			        child) != 0) {
				child = NULL;
				rv = CM_ENOMEM;
				goto out;
			}
			child = NULL;
		}
		break;
	case CM_CBOR_FALSE:
	case CM_CBOR_TRUE:
		if ((rv = cm_cbor_rd_bool(r, &b)) != CM_OK)
			goto out;
		v = json_boolean(b);
		break;
	case CM_CBOR_NULL:
		if ((rv = cm_cbor_rd_null(r)) != CM_OK)
			goto out;
		v = json_null();
		break;
	case CM_CBOR_INVALID:
	default:
		/* Re-read to get the precise reason into the diag. */
		rv = cm_cbor_rd_skip(r, NULL);
		if (rv == CM_OK)
			rv =
			    cm_fail(r->d, CM_EPROTO,
			            "CBOR: unexpected item at offset %zu", off);
		goto out;
	}
	if (v == NULL)
		rv = CM_ENOMEM;
out:
	cm_buf_fini(&hex);
	json_decref(child);
	if (rv != CM_OK) {
		json_decref(v);
		v = NULL;
		if (rv == CM_ENOMEM)
			cm_diag_set(r->d, "JSON: out of memory");
	}
	*out = v;
	return (rv);
}

static int
dump_append(const char *buf, size_t size, void *data)
{
	return (cm_buf_append(data, buf, size) == CM_OK ? 0 : -1);
}

cm_err
cm_cbor_to_json(cm_bytes cbor, cm_buf *out, cm_diag *d)
{
	json_t    *root = NULL;
	cm_cbor_rd r;
	size_t     start = out->len;
	cm_err     rv;

	if ((rv = cm_cbor_check(cbor, d)) != CM_OK)
		goto out;
	cm_cbor_rd_init(&r, cbor, d);
	if ((rv = item_to_json(&r, 0, &root)) != CM_OK)
		goto out;
	if (json_dump_callback(root, dump_append, out, JSON_DUMP_FLAGS) != 0 ||
	    cm_buf_append(out, "", 0) != CM_OK) {
		out->len = start;
		rv = cm_fail(d, CM_ENOMEM, "JSON: out of memory");
	}
out:
	json_decref(root);
	return (rv);
}

/* ---- walking ----------------------------------------------------------- */

cm_err
cm_json_parse(cm_bytes text, cm_json **out, cm_diag *d)
{
	json_t      *root;
	json_error_t e;

	*out = NULL;
	if (text.p == NULL && text.len > 0)
		return (cm_fail(d, CM_EINVAL, "JSON: NULL input"));
	root = json_loadb(text.len > 0 ? (const char *) text.p : "", text.len,
	                  JSON_LOAD_FLAGS, &e);
	if (root == NULL)
		return (error_report(&e, text, d));
	*out = (cm_json *) root;
	return (CM_OK);
}

void
cm_json_free(cm_json *j)
{
	json_decref((json_t *) j);
}

cm_json *
cm_json_get(const cm_json *obj, const char *key)
{
	if (obj == NULL || key == NULL)
		return (NULL);
	return ((cm_json *) json_object_get((const json_t *) obj, key));
}

cm_json *
cm_json_at(const cm_json *arr, size_t i)
{
	if (arr == NULL)
		return (NULL);
	return ((cm_json *) json_array_get((const json_t *) arr, i));
}

size_t
cm_json_len(const cm_json *arr_or_obj)
{
	const json_t *j = (const json_t *) arr_or_obj;

	if (j == NULL)
		return (0);
	if (json_is_array(j))
		return (json_array_size(j));
	if (json_is_object(j))
		return (json_object_size(j));
	return (0);
}

bool
cm_json_is_object(const cm_json *j)
{
	return (j != NULL && json_is_object((const json_t *) j));
}

bool
cm_json_is_array(const cm_json *j)
{
	return (j != NULL && json_is_array((const json_t *) j));
}

bool
cm_json_is_null(const cm_json *j)
{
	return (j != NULL && json_is_null((const json_t *) j));
}

const char *
cm_json_str(const cm_json *j, size_t *out_len)
{
	const json_t *v = (const json_t *) j;

	if (v == NULL || !json_is_string(v))
		return (NULL);
	if (out_len != NULL)
		*out_len = json_string_length(v);
	return (json_string_value(v));
}

/* jansson iterates an object in insertion (document) order.  Stepping to
 * the i-th member is O(i); objects that tools walk are small. */
const char *
cm_json_key_at(const cm_json *obj, size_t i, cm_json **out_val, size_t *out_len)
{
	json_t *o = (json_t *) (uintptr_t) obj; /* the iterator is not const */
	void   *it;

	if (out_val != NULL)
		*out_val = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (o == NULL || !json_is_object(o) || i >= json_object_size(o))
		return (NULL);
	it = json_object_iter(o);
	while (it != NULL && i-- > 0)
		it = json_object_iter_next(o, it);
	if (it == NULL)
		return (NULL);
	if (out_val != NULL)
		*out_val = (cm_json *) json_object_iter_value(it);
	if (out_len != NULL)
		*out_len = json_object_iter_key_len(it);
	return (json_object_iter_key(it));
}

bool
cm_json_int(const cm_json *j, int64_t *out)
{
	const json_t *v = (const json_t *) j;

	if (v == NULL || !json_is_integer(v))
		return (false);
	*out = (int64_t) json_integer_value(v);
	return (true);
}

cm_json_type
cm_json_typeof(const cm_json *j)
{
	const json_t *v = (const json_t *) j;

	if (v == NULL)
		return (CM_JSON_ABSENT);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return (CM_JSON_OBJECT);
	case JSON_ARRAY:
		return (CM_JSON_ARRAY);
	case JSON_STRING:
		return (CM_JSON_STRING);
	case JSON_INTEGER:
		return (CM_JSON_INTEGER);
	case JSON_REAL:
		return (CM_JSON_REAL);
	case JSON_TRUE:
		return (CM_JSON_TRUE);
	case JSON_FALSE:
		return (CM_JSON_FALSE);
	default:
		return (CM_JSON_NULL);
	}
}

bool
cm_json_real(const cm_json *j, double *out)
{
	const json_t *v = (const json_t *) j;

	if (v == NULL || !json_is_real(v))
		return (false);
	*out = json_real_value(v);
	return (true);
}
