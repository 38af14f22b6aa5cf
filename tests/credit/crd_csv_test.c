/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_csv_test.c -- the CSV reader: quoting, doubled quotes,
 * CRLF and LF, line breaks inside quotes (row and line numbers), a byte
 * order mark, a last row without its line end, the same rows however the
 * input is cut into reads, a long file through the bounded window, and
 * every refusal with its message. */
#include "credit/crd.h"
#include "tests/tst.h"
#include "tests/tst_src.h"

#include <stdio.h>

/* Reads text (in step-byte reads) and writes its rows as "[a|b]" lines
 * with "@row/line" into out; returns the first error (message in d). */
static cm_err
rows(const char *text, size_t len, size_t step, size_t fmax, size_t rmax,
     cm_buf *out, cm_diag *d)
{
	tst_src     s = {(const uint8_t *) text, len, 0, step, CM_OK};
	crd_csv    *c = NULL;
	crd_csv_row r;
	bool        got;
	cm_err      rv;

	cm_diag_clear(d);
	cm_buf_reset(out);
	if (crd_csv_new(tst_src_read, &s, fmax, rmax, &c) != CM_OK)
		return (CM_ENOMEM);
	while ((rv = crd_csv_next(c, &r, &got, d)) == CM_OK && got) {
		(void) cm_buf_printf(out, "@%llu/%llu[",
		                     (unsigned long long) r.row,
		                     (unsigned long long) r.line);
		for (size_t i = 0; i < r.n; i++)
			(void) cm_buf_printf(out, "%s%.*s", i ? "|" : "",
			                     (int) r.field[i].len,
			                     (const char *) r.field[i].p);
		(void) cm_buf_append(out, "]", 1);
	}
	(void) cm_buf_append_byte(out, 0);
	crd_csv_free(c);
	return (rv);
}

static void
accepted(void)
{
	static const struct {
		const char *in, *want;
	} c[] = {
	    {"a,b,c\r\n1,2,3\r\n", "@1/1[a|b|c]@2/2[1|2|3]"},
	    {"a,b\n1,2", "@1/1[a|b]@2/2[1|2]"},
	    {"a,b\n,\n", "@1/1[a|b]@2/2[|]"},
	    {"\"x,y\",\"say \"\"hi\"\"\"\r\n", "@1/1[x,y|say \"hi\"]"},
	    {"h\r\n\"two\r\nlines\",z\nnext,1\n",
	     "@1/1[h]@2/2[two\r\nlines|z]@3/4[next|1]"},
	    {"\xef\xbb\xbfname,\xe5\x90\x8d\n", "@1/1[name|\xe5\x90\x8d]"},
	    {"\"\"\n", "@1/1[]"},
	    {"", ""},
	};
	cm_buf  out = {0};
	cm_diag d;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (size_t step = 1; step <= 7; step += 3) {
			TST_OK(rows(c[i].in, strlen(c[i].in), step, 100, 1000,
			            &out, &d));
			TST_EQ_STR((const char *) out.p, c[i].want);
		}
	cm_buf_fini(&out);
}

static void
refusals(void)
{
	static const struct {
		const char *in, *msg;
		cm_err      rv;
	} c[] = {
	    {"a,b\n1,x\"y\n",
	     "row 2 (line 2), column 2: a quote inside a field that is not "
	     "quoted (quote the field and double the quote)",
	     CM_EPROTO},
	    {"a\n\"x\"y\n",
	     "row 2 (line 2), column 1: text after a closing quote (a quote "
	     "inside a quoted field is written twice)",
	     CM_EPROTO},
	    {"a\n\"open\n",
	     "row 2 (line 2), column 1: a quoted field does not end (no "
	     "closing quote)",
	     CM_EPROTO},
	    {"a,b\r1,2\n",
	     "row 1 (line 1), column 2: a carriage return that does not end "
	     "the line (CR without LF)",
	     CM_EPROTO},
	    {"a\n\nb\n", "row 2 (line 2), column 1: an empty line", CM_EPROTO},
	    {"a\r\n\r\n", "row 2 (line 2), column 1: an empty line", CM_EPROTO},
	    {"a,b\nok,\xff\n",
	     "row 2 (line 2), column 2: not UTF-8 text (or it holds a NUL)",
	     CM_EPROTO},
	    {"a,\"x\xc3\"\n",
	     "row 1 (line 1), column 2: not UTF-8 text (or it holds a NUL)",
	     CM_EPROTO},
	    {"\xef\xbb", "row 1 (line 1), column 1: not UTF-8", CM_EPROTO},
	    {"a,0123456789\n",
	     "row 1 (line 1), column 2: the field is longer than the limit",
	     CM_ETOOBIG},
	    {"abcdefgh,abcdefgh,abcdefgh\n",
	     "row 1 (line 1), column 3: the row is longer than the limit",
	     CM_ETOOBIG},
	};
	cm_buf  out = {0};
	cm_diag d;
	char    many[200];
	size_t  k = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		TST_ERR(rows(c[i].in, strlen(c[i].in), 2, 8, 20, &out, &d),
		        c[i].rv);
		TST_EQ_STR(d.msg, c[i].msg);
	}
	/* A NUL inside a field. */
	TST_ERR(rows("a,b\0c\n", 6, 2, 8, 20, &out, &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "row 1 (line 1), column 2: not UTF-8 text (or it "
	                  "holds a NUL)");
	/* One field more than CRD_CSV_FIELDS_MAX. */
	for (int i = 0; i <= CRD_CSV_FIELDS_MAX; i++)
		k += (size_t) snprintf(many + k, sizeof(many) - k, "%s1",
		                       i ? "," : "");
	TST_ERR(rows(many, k, 5, 8, 1000, &out, &d), CM_ETOOBIG);
	TST_EQ_STR(d.msg, "row 1 (line 1), column 64: more fields than the "
	                  "limit");
	/* Exactly CRD_CSV_FIELDS_MAX is fine. */
	TST_OK(rows(many, k - 2, 5, 8, 1000, &out, &d));
	cm_buf_fini(&out);
}

static void
read_error(void)
{
	const char *t = "a,b\n1,2\n3";
	tst_src     s = {(const uint8_t *) t, strlen(t), 0, 3, CM_EIO};
	crd_csv    *c = NULL;
	crd_csv_row r;
	bool        got;
	cm_diag     d;

	cm_diag_clear(&d);
	TST_OK(crd_csv_new(tst_src_read, &s, 10, 100, &c));
	TST_OK(crd_csv_next(c, &r, &got, &d));
	TST_OK(crd_csv_next(c, &r, &got, &d));
	TST_TRUE(got && r.row == 2);
	TST_ERR(crd_csv_next(c, &r, &got, &d), CM_EIO);
	TST_EQ_STR(d.msg, "row 3 (line 3): read failed: I/O error");
	TST_OK(crd_csv_next(c, &r, &got, &d));
	TST_TRUE(!got);
	crd_csv_free(c);
}

/* 100,000 rows made on the fly, through the reader's window. */
static size_t
row_piece(void *arg, size_t i, char *out, size_t cap)
{
	(void) arg;
	if (i == 100000)
		return (0);
	return ((size_t) snprintf(out, cap, "%zu,\"r,%zu\"\r\n", i, i));
}

static void
many_rows(void)
{
	tst_gen     g = {row_piece, NULL, 0, 0, 0, false, {0}};
	crd_csv    *c = NULL;
	crd_csv_row r;
	bool        got;
	size_t      n = 0;
	cm_diag     d;

	TST_OK(crd_csv_new(tst_gen_read, &g, 16, 32, &c));
	for (;;) {
		TST_OK(crd_csv_next(c, &r, &got, &d));
		if (!got)
			break;
		n++;
		if (n == 54321) {
			TST_TRUE(r.n == 2 && r.row == n && r.line == n &&
			         cm_bytes_eq_str(r.field[0], "54320") &&
			         cm_bytes_eq_str(r.field[1], "r,54320"));
		}
	}
	TST_EQ_U(n, 100000);
	crd_csv_free(c);
}

TST_MAIN(TST_CASE(accepted), TST_CASE(refusals), TST_CASE(read_error),
         TST_CASE(many_rows))
