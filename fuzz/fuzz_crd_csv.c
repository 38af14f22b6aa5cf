/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_crd_csv.c -- the CSV reader on arbitrary bytes.  The first byte
 * picks the read size (1-32 bytes a read), the rest is the file.  Oracles:
 * the rows and the outcome do not depend on how the input is cut; every
 * field is UTF-8 within the bounds; and the rows read, written back as CSV
 * (every field quoted, quotes doubled, CRLF), read back as the same rows
 * (a round trip through an encoder). */
#include "credit/crd.h"

#include "tests/tst_src.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FMAX 64
#define RMAX 512

/* Reads p: the rows as length-prefixed fields into rowsout, the same rows
 * re-encoded as CSV into csv; the outcome and message. */
static cm_err
scan(const uint8_t *p, size_t len, size_t step, cm_buf *rowsout, cm_buf *csv,
     cm_diag *d)
{
	tst_src     s = {p, len, 0, step, CM_OK};
	crd_csv    *c = NULL;
	crd_csv_row r;
	bool        got;
	cm_err      rv;

	cm_diag_clear(d);
	if (crd_csv_new(tst_src_read, &s, FMAX, RMAX, &c) != CM_OK)
		abort();
	while ((rv = crd_csv_next(c, &r, &got, d)) == CM_OK && got) {
		uint8_t h[8];
		size_t  total = 0;

		if (r.n == 0 || r.n > CRD_CSV_FIELDS_MAX)
			abort();
		cm_put_u64be(h, r.n);
		if (cm_buf_append(rowsout, h, 8) != CM_OK)
			abort();
		for (size_t i = 0; i < r.n; i++) {
			cm_bytes f = r.field[i];

			total += f.len;
			if (f.len > FMAX || !cm_text_valid(f.p, f.len))
				abort();
			cm_put_u64be(h, f.len);
			if (cm_buf_append(rowsout, h, 8) != CM_OK ||
			    cm_buf_append(rowsout, f.p, f.len) != CM_OK ||
			    cm_buf_append(csv, i ? ",\"" : "\"", i ? 2 : 1) !=
			        CM_OK)
				abort();
			for (size_t k = 0; k < f.len; k++)
				if ((f.p[k] == '"' &&
				     cm_buf_append_byte(csv, '"') != CM_OK) ||
				    cm_buf_append_byte(csv, f.p[k]) != CM_OK)
					abort();
			if (cm_buf_append_byte(csv, '"') != CM_OK)
				abort();
		}
		if (total > RMAX || cm_buf_append(csv, "\r\n", 2) != CM_OK)
			abort();
	}
	if (crd_csv_next(c, &r, &got, NULL) != CM_OK || got)
		abort();
	crd_csv_free(c);
	return (rv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cm_buf  ra = {0}, rb = {0}, rc = {0}, ca = {0}, cb = {0}, cc = {0};
	cm_diag da, db, dc;
	cm_err  a, b, c;

	if (size == 0)
		return (0);
	a = scan(data + 1, size - 1, 1 + data[0] % 32, &ra, &ca, &da);
	b = scan(data + 1, size - 1, 65536, &rb, &cb, &db);
	if (a != b || strcmp(da.msg, db.msg) != 0 || ra.len != rb.len ||
	    (ra.len > 0 && memcmp(ra.p, rb.p, ra.len) != 0))
		abort();
	if (a == CM_OK) {
		/* Quoting every field keeps each within the bounds: the
		 * decoded bytes are what the bounds count. */
		c = scan(ca.p, ca.len, 7, &rc, &cc, &dc);
		if (c != CM_OK || rc.len != ra.len ||
		    (ra.len > 0 && memcmp(rc.p, ra.p, ra.len) != 0))
			abort();
	}
	cm_buf_fini(&ra);
	cm_buf_fini(&rb);
	cm_buf_fini(&rc);
	cm_buf_fini(&ca);
	cm_buf_fini(&cb);
	cm_buf_fini(&cc);
	return (0);
}
