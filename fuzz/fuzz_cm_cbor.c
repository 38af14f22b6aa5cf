/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_cm_cbor.c -- cm_cbor_check on arbitrary bytes.  Oracle: the
 * libcbor-based reference checker, cm_cbor_check_libcbor, gives the same
 * code and the same message; what the checker accepts, the pull reader
 * walks completely and the writer re-encodes to the identical bytes (and
 * cm_cbor_wr_finish accepts); what it refuses as ill-formed, the reader's
 * skip refuses or stops short of the end (the reader checks bounds and
 * types, not the profile). */
#include "ledger/cm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies one item from r to w; false on any reader error. */
static bool
item_copy(cm_cbor_rd *r, cm_cbor_wr *w)
{
	cm_bytes s;
	uint64_t n;
	int64_t  i;
	bool     b;

	switch (cm_cbor_rd_peek(r)) {
	case CM_CBOR_UINT:
		if (cm_cbor_rd_uint(r, &n) != CM_OK)
			return (false);
		cm_cbor_wr_uint(w, n);
		return (true);
	case CM_CBOR_NEGINT:
		if (cm_cbor_rd_int(r, &i) == CM_OK) {
			cm_cbor_wr_int(w, i);
			return (true);
		}
		/* Below int64: only skip can take it. */
		if (cm_cbor_rd_skip(r, &s) != CM_OK)
			return (false);
		cm_cbor_wr_raw(w, s);
		return (true);
	case CM_CBOR_BYTES:
		if (cm_cbor_rd_bytes(r, &s) != CM_OK)
			return (false);
		cm_cbor_wr_bytes(w, s);
		return (true);
	case CM_CBOR_TEXT:
		if (cm_cbor_rd_text(r, &s) != CM_OK)
			return (false);
		cm_cbor_wr_text(w, s);
		return (true);
	case CM_CBOR_ARRAY:
		if (cm_cbor_rd_array(r, &n) != CM_OK)
			return (false);
		cm_cbor_wr_array(w, n);
		for (uint64_t k = 0; k < n; k++)
			if (!item_copy(r, w))
				return (false);
		return (true);
	case CM_CBOR_MAP:
		if (cm_cbor_rd_map(r, &n) != CM_OK)
			return (false);
		cm_cbor_wr_map(w, n);
		for (uint64_t k = 0; k < n; k++) {
			if (cm_cbor_rd_text(r, &s) != CM_OK)
				return (false);
			cm_cbor_wr_text(w, s);
			if (!item_copy(r, w))
				return (false);
		}
		return (true);
	case CM_CBOR_FALSE:
	case CM_CBOR_TRUE:
		if (cm_cbor_rd_bool(r, &b) != CM_OK)
			return (false);
		cm_cbor_wr_bool(w, b);
		return (true);
	case CM_CBOR_NULL:
		if (cm_cbor_rd_null(r) != CM_OK)
			return (false);
		cm_cbor_wr_null(w);
		return (true);
	default:
		return (false);
	}
}

/* cm_cbor_check_map gives cm_cbor_check's answer, and the entries of an
 * accepted map are those a reader walk finds. */
static void
map_oracle(cm_bytes in, cm_err want, const char *msg)
{
	cm_cbor_map m;
	cm_cbor_rd  r;
	cm_diag     d = {{0}};
	uint64_t    n;
	cm_bytes    k, v;

	if (cm_cbor_check_map(in, &m, &d) != want || strcmp(d.msg, msg) != 0)
		abort();
	if (want != CM_OK)
		return;
	cm_cbor_rd_init(&r, in, NULL);
	if (cm_cbor_rd_peek(&r) != CM_CBOR_MAP) {
		if (m.complete)
			abort();
		return;
	}
	if (cm_cbor_rd_map(&r, &n) != CM_OK ||
	    m.complete != (n <= CM_CBOR_MAP_MAX) || (m.complete && m.n != n))
		abort();
	for (uint64_t i = 0; m.complete && i < n; i++)
		if (cm_cbor_rd_text(&r, &k) != CM_OK ||
		    cm_cbor_rd_skip(&r, &v) != CM_OK || k.p != m.key[i].p ||
		    k.len != m.key[i].len || v.p != m.val[i].p ||
		    v.len != m.val[i].len)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cm_bytes   in = CM_BYTES(data, size);
	cm_buf     out = {0};
	cm_cbor_rd r;
	cm_cbor_wr w;
	cm_bytes   s;
	cm_diag    d = {{0}}, dref = {{0}};
	cm_err     rv;

	rv = cm_cbor_check(in, &d);
	if (cm_cbor_check_libcbor(in, &dref) != rv ||
	    strcmp(d.msg, dref.msg) != 0)
		abort();
	map_oracle(in, rv, d.msg);
	if (rv != CM_OK) {
		if ((rv != CM_EPROTO && rv != CM_ENONCANON) || d.msg[0] == 0)
			abort();
		cm_cbor_rd_init(&r, in, NULL);
		if (rv == CM_EPROTO && cm_cbor_rd_skip(&r, &s) == CM_OK &&
		    cm_cbor_rd_done(&r))
			abort();
		return (0);
	}
	cm_cbor_rd_init(&r, in, NULL);
	cm_cbor_wr_init(&w, &out);
	if (!item_copy(&r, &w) || !cm_cbor_rd_done(&r))
		abort();
	if (cm_cbor_wr_finish(&w, NULL) != CM_OK)
		abort();
	if (!cm_bytes_eq(cm_buf_bytes(&out), in))
		abort();
	cm_cbor_rd_init(&r, in, NULL);
	if (cm_cbor_rd_skip(&r, &s) != CM_OK || !cm_cbor_rd_done(&r))
		abort();
	cm_buf_fini(&out);
	return (0);
}
