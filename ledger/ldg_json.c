/* SPDX-License-Identifier: MIT */
/* ledger/ldg_json.c -- the JSON batch reader: {"records": [{"kind": K, ...}]}
 * to canonical record bytes.  Every member becomes canonical CBOR through
 * cm_json_encode_cbor, except "refs", whose {"index", "hash"} objects become
 * {"i": index, "h": 32 bytes}; "t" is added.  Limits: the body of a record
 * at most max_body bytes of CBOR, a record at most max_leaf. */
#include "ledger/ldg_impl.h"

#include <stdlib.h>

/* A member of a record object: its key as bytes (with the length jansson
 * keeps, not strlen), and its value (NULL for the "t" added here). */
typedef struct member {
	cm_bytes key;
	cm_json *val;
} member;

static int
member_cmp(const void *a, const void *b)
{
	const member *x = a, *y = b;

	return (cm_cbor_key_cmp(x->key, y->key));
}

static cm_err
refs_encode(cm_cbor_wr *w, const cm_json *refs, cm_diag *d)
{
	size_t n = cm_json_len(refs);
	cm_buf h = {0};

	if (!cm_json_is_array(refs))
		return (cm_fail(d, CM_EPROTO, "refs must be an array"));
	cm_cbor_wr_array(w, n);
	for (size_t i = 0; i < n; i++) {
		cm_json    *ref = cm_json_at(refs, i);
		cm_json    *hj = cm_json_get(ref, "hash");
		int64_t     idx;
		size_t      hl;
		const char *hs = hj ? cm_json_str(hj, &hl) : NULL;

		if (ref == NULL || cm_json_len(ref) != 2 || hs == NULL ||
		    !cm_json_int(cm_json_get(ref, "index"), &idx) || idx < 0) {
			cm_buf_fini(&h);
			return (cm_fail(
			    d, CM_EPROTO,
			    "refs[%zu] must be {\"index\": N, \"hash\": "
			    "\"<64 hex>\"}",
			    i));
		}
		cm_buf_reset(&h);
		if (hl != 64 || cm_hex_decode(&h, hs, hl) != CM_OK) {
			cm_buf_fini(&h);
			return (cm_fail(d, CM_EPROTO,
			                "refs[%zu]: hash must be 64 hex digits",
			                i));
		}
		cm_cbor_wr_map(w, 2);
		cm_cbor_wr_cstr(w, "h");
		cm_cbor_wr_bytes(w, cm_buf_bytes(&h));
		cm_cbor_wr_cstr(w, "i");
		cm_cbor_wr_uint(w, (uint64_t) idx);
	}
	cm_buf_fini(&h);
	return (CM_OK);
}

static cm_err
record_encode(const cm_json *obj, size_t ri, cm_buf *out, const ldg_params *p,
              cm_diag *d)
{
	member    *m = NULL;
	size_t     n = cm_json_len(obj), start = out->len;
	cm_cbor_wr w;
	cm_buf     item = {0};
	cm_err     rv = CM_OK;

	if (!cm_json_is_object(obj))
		return (cm_fail(d, CM_EPROTO, "records[%zu] must be an object",
		                ri));
	if (cm_json_get(obj, "t") != NULL)
		return (cm_fail(d, CM_EPROTO,
		                "records[%zu]: \"t\" is added by "
		                "tally, do not give it",
		                ri));
	if (cm_json_get(obj, "kind") == NULL)
		return (
		    cm_fail(d, CM_EPROTO, "records[%zu]: needs \"kind\"", ri));
	if (cm_json_str(cm_json_get(obj, "kind"), NULL) == NULL)
		return (cm_fail(d, CM_EPROTO,
		                "records[%zu]: \"kind\" must be text", ri));
	if ((m = cm_calloc(n + 1, sizeof(*m))) == NULL)
		return (CM_ENOMEM);
	for (size_t i = 0; i < n; i++) {
		size_t      len;
		const char *k = cm_json_key_at(obj, i, &m[i].val, &len);

		m[i].key = CM_BYTES(k, len);
	}
	m[n].key = CM_BYTES("t", 1);
	m[n].val = NULL;
	qsort(m, n + 1, sizeof(*m), member_cmp);
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, n + 1);
	for (size_t i = 0; i <= n && rv == CM_OK; i++) {
		cm_cbor_wr_text(&w, m[i].key);
		if (m[i].val == NULL) {
			cm_cbor_wr_cstr(&w, LDG_T_RECORD);
		} else if (cm_bytes_eq_str(m[i].key, "refs")) {
			rv = refs_encode(&w, m[i].val, d);
		} else {
			cm_buf_reset(&item);
			rv = cm_json_encode_cbor(m[i].val, &item, d);
			if (rv == CM_OK && cm_bytes_eq_str(m[i].key, "body") &&
			    item.len > p->max_body)
				rv = cm_fail(
				    d, CM_ETOOBIG,
				    "records[%zu]: body is %zu bytes of CBOR "
				    "(limit %llu)",
				    ri, item.len,
				    (unsigned long long) p->max_body);
			if (rv == CM_OK)
				cm_cbor_wr_raw(&w, cm_buf_bytes(&item));
		}
	}
	if (rv == CM_OK && (rv = cm_cbor_wr_finish(&w, NULL)) == CM_ENONCANON)
		rv = cm_fail(d, CM_EPROTO,
		             "records[%zu] nests too deep: a "
		             "record may nest %d levels, so its body %d",
		             ri, CM_CBOR_MAX_DEPTH, CM_CBOR_MAX_DEPTH - 1);
	if (rv == CM_OK && out->len - start > p->max_leaf)
		rv = cm_fail(d, CM_ETOOBIG,
		             "records[%zu] is %zu bytes (limit "
		             "%llu)",
		             ri, out->len - start,
		             (unsigned long long) p->max_leaf);
	cm_buf_fini(&item);
	cm_free(m);
	return (rv);
}

cm_err
ldg_json_records(cm_bytes json, cm_buf *out, size_t **out_offs, size_t *out_n,
                 const ldg_params *p, cm_diag *d)
{
	cm_json *root = NULL, *recs;
	size_t  *offs = NULL, n;
	cm_err   rv;

	*out_offs = NULL;
	*out_n = 0;
	if ((rv = cm_json_parse(json, &root, d)) != CM_OK)
		return (rv);
	recs = cm_json_get(root, "records");
	if (!cm_json_is_object(root) || cm_json_len(root) != 1 ||
	    recs == NULL || !cm_json_is_array(recs)) {
		rv = cm_fail(d, CM_EPROTO,
		             "a batch is {\"records\": [...]} "
		             "and nothing else");
		goto out;
	}
	n = cm_json_len(recs);
	if (n == 0) {
		rv = cm_fail(d, CM_EPROTO, "a batch needs at least one record");
		goto out;
	}
	if (n > p->max_records) {
		rv = cm_fail(d, CM_ETOOBIG,
		             "a batch holds 1 to %llu records, "
		             "got %zu",
		             (unsigned long long) p->max_records, n);
		goto out;
	}
	if ((offs = cm_calloc(n + 1, sizeof(*offs))) == NULL) {
		rv = CM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		offs[i] = out->len;
		if ((rv = record_encode(cm_json_at(recs, i), i, out, p, d)) !=
		    CM_OK)
			goto out;
	}
	offs[n] = out->len;
	if (out->len > p->max_batch_bytes) {
		rv = cm_fail(d, CM_ETOOBIG,
		             "batch records total %zu bytes "
		             "(limit %llu)",
		             out->len, (unsigned long long) p->max_batch_bytes);
		goto out;
	}
	*out_offs = offs;
	*out_n = n;
	offs = NULL;
out:
	cm_free(offs);
	cm_json_free(root);
	return (rv);
}
