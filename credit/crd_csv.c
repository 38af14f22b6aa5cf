/* SPDX-License-Identifier: MIT */
/* credit/crd_csv.c -- a streaming CSV reader (RFC 4180) for batch intake
 * from authorities: fields separated by commas, records ended by CRLF (or
 * LF), quoted fields holding commas, line breaks and doubled quotes.  It
 * reads through a fixed window and keeps one row at a time, bounded in
 * bytes per field, bytes per row and fields per row; every field must be
 * UTF-8 without NUL.  Refusals name the row, its first line and the column
 * (docs/credit.md section 6). */
#include "credit/crd.h"

#include <stdio.h>
#include <string.h>

struct crd_csv {
	cm_reader in;
	size_t    field_max, row_max;
	bool      done, started;
	uint64_t  line; /* the line the reader is on, from 1 */
	uint64_t  row;  /* rows read, the header too */
	cm_buf    buf;  /* the current row's field bytes */
	size_t    start[CRD_CSV_FIELDS_MAX + 1];
};

static int
peekc(crd_csv *c)
{
	return (cm_reader_peek(&c->in));
}

static void
takec(crd_csv *c)
{
	if (c->in.buf[c->in.off] == '\n')
		c->line++;
	cm_reader_take(&c->in);
}

static cm_err
fail(crd_csv *c, cm_diag *d, uint64_t line, size_t col, cm_err e,
     const char *what)
{
	c->done = true;
	if (e == CM_EIO || c->in.err != CM_OK)
		return (cm_fail(
		    d, c->in.err != CM_OK ? c->in.err : e,
		    "row %llu (line %llu): read failed: %s",
		    (unsigned long long) c->row, (unsigned long long) line,
		    cm_strerror(c->in.err != CM_OK ? c->in.err : e)));
	return (cm_fail(d, e, "row %llu (line %llu), column %zu: %s",
	                (unsigned long long) c->row, (unsigned long long) line,
	                col, what));
}

cm_err
crd_csv_new(cm_read_fn rd, void *arg, size_t field_max, size_t row_max,
            crd_csv **out)
{
	crd_csv *c = cm_calloc(1, sizeof(*c));

	if (c == NULL)
		return (CM_ENOMEM);
	cm_reader_init(&c->in, rd, arg);
	c->field_max = field_max;
	c->row_max = row_max;
	c->line = 1;
	*out = c;
	return (CM_OK);
}

void
crd_csv_free(crd_csv *c)
{
	if (c == NULL)
		return;
	cm_buf_fini(&c->buf);
	cm_free(c);
}

uint64_t
crd_csv_offset(const crd_csv *c)
{
	return (c->in.pos);
}

/* Appends byte b to the field being read (col), within the bounds. */
static cm_err
put(crd_csv *c, int b, size_t col, uint64_t line, cm_diag *d)
{
	if (c->buf.len - c->start[col - 1] >= c->field_max)
		return (fail(c, d, line, col, CM_ETOOBIG,
		             "the field is longer than the limit"));
	if (c->buf.len >= c->row_max)
		return (fail(c, d, line, col, CM_ETOOBIG,
		             "the row is longer than the limit"));
	if (cm_buf_append_byte(&c->buf, (uint8_t) b) != CM_OK) {
		c->done = true;
		return (CM_ENOMEM);
	}
	return (CM_OK);
}

/* Reads one field (column col) up to its delimiter, which is left unread.
 */
static cm_err
field(crd_csv *c, size_t col, uint64_t line, bool *quoted, cm_diag *d)
{
	int    b;
	cm_err rv;

	*quoted = peekc(c) == '"';
	if (!*quoted) {
		while ((b = peekc(c)) >= 0 && b != ',' && b != '\n' &&
		       b != '\r') {
			if (b == '"')
				return (fail(c, d, line, col, CM_EPROTO,
				             "a quote inside a field that is "
				             "not quoted (quote the field and "
				             "double the quote)"));
			if ((rv = put(c, b, col, line, d)) != CM_OK)
				return (rv);
			takec(c);
		}
		return (c->in.err != CM_OK ? fail(c, d, line, col, CM_EIO, "")
		                           : CM_OK);
	}
	takec(c);
	for (;;) {
		if ((b = peekc(c)) < 0)
			return (fail(c, d, line, col,
			             c->in.err != CM_OK ? CM_EIO : CM_EPROTO,
			             "a quoted field does not end (no closing "
			             "quote)"));
		takec(c);
		if (b == '"') {
			if (peekc(c) != '"')
				break;
			takec(c);
		}
		if ((rv = put(c, b, col, line, d)) != CM_OK)
			return (rv);
	}
	b = peekc(c);
	if (b >= 0 && b != ',' && b != '\n' && b != '\r')
		return (fail(c, d, line, col, CM_EPROTO,
		             "text after a closing quote (a quote inside a "
		             "quoted field is written twice)"));
	return (c->in.err != CM_OK ? fail(c, d, line, col, CM_EIO, "") : CM_OK);
}

cm_err
crd_csv_next(crd_csv *c, crd_csv_row *out, bool *got, cm_diag *d)
{
	uint64_t       line;
	size_t         col = 1;
	bool           quoted, first_quoted = false;
	const uint8_t *base;
	int            b;
	cm_err         rv;

	*got = false;
	memset(out, 0, sizeof(*out));
	if (c->done)
		return (CM_OK);
	if (!c->started) {
		/* A UTF-8 byte order mark, as spreadsheets write it. */
		c->started = true;
		if (peekc(c) == 0xef) {
			c->row = 1;
			takec(c);
			if (peekc(c) != 0xbb)
				return (
				    fail(c, d, 1, 1, CM_EPROTO, "not UTF-8"));
			takec(c);
			if (peekc(c) != 0xbf)
				return (
				    fail(c, d, 1, 1, CM_EPROTO, "not UTF-8"));
			takec(c);
			c->row = 0;
		}
	}
	if (peekc(c) < 0) {
		c->done = true;
		if (c->in.err != CM_OK)
			return (fail(c, d, c->line, 1, CM_EIO, ""));
		return (CM_OK);
	}
	line = c->line;
	c->row++;
	cm_buf_reset(&c->buf);
	c->start[0] = 0;
	for (;;) {
		if ((rv = field(c, col, line, &quoted, d)) != CM_OK)
			return (rv);
		if (col == 1)
			first_quoted = quoted;
		c->start[col] = c->buf.len;
		b = peekc(c);
		if (b != ',')
			break;
		if (col == CRD_CSV_FIELDS_MAX)
			return (fail(c, d, line, col, CM_ETOOBIG,
			             "more fields than the limit"));
		takec(c);
		col++;
	}
	if (b == '\r') {
		takec(c);
		if (peekc(c) != '\n')
			return (fail(c, d, line, col, CM_EPROTO,
			             "a carriage return that does not end the "
			             "line (CR without LF)"));
	}
	if (peekc(c) == '\n')
		takec(c);
	if (col == 1 && c->start[1] == 0 && !first_quoted)
		return (fail(c, d, line, 1, CM_EPROTO, "an empty line"));
	/* Every field empty: no bytes were kept (buf.p may be NULL). */
	base = c->buf.p != NULL ? c->buf.p : (const uint8_t *) "";
	for (size_t i = 0; i < col; i++) {
		cm_bytes f =
		    CM_BYTES(base + c->start[i], c->start[i + 1] - c->start[i]);

		if (!cm_text_valid(f.p, f.len))
			return (fail(c, d, line, i + 1, CM_EPROTO,
			             "not UTF-8 text (or it holds a NUL)"));
		out->field[i] = f;
	}
	out->n = col;
	out->row = c->row;
	out->line = line;
	*got = true;
	return (CM_OK);
}
