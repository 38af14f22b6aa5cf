/* SPDX-License-Identifier: MIT */
/* tests/ledger/cm_cbor_test.c -- the canonical CBOR profile: golden and
 * refusal vectors (tests/vectors/cbor/: ok_* decode to the diagnostic
 * notation in .exp; bad_* give the error and diag in .exp), the pull reader
 * on every type and on hostile input, and the writer.  Every input checked
 * here goes through both checkers, cm_cbor_check and the libcbor-based
 * cm_cbor_check_libcbor, which must agree on code and message; a seeded
 * differential test adds 200,000 random and mutated inputs. */
#include "tests/tst.h"

#include <stdarg.h>

#define VEC_DIR "tests/vectors/cbor/"

static const char *const vectors[] = {
    "bad_array_count_beyond",
    "bad_break",
    "bad_break_in_array",
    "bad_bytes_len_beyond",
    "bad_depth_17",
    "bad_depth_17_map",
    "bad_empty",
    "bad_float16",
    "bad_float32",
    "bad_float64",
    "bad_float_nested",
    "bad_indef_array",
    "bad_indef_bytes",
    "bad_indef_map",
    "bad_indef_text",
    "bad_key_array",
    "bad_key_bytes",
    "bad_key_uint",
    "bad_keys_duplicate",
    "bad_keys_longer_first",
    "bad_keys_nested_unsorted",
    "bad_keys_unsorted",
    "bad_map_count_beyond",
    "bad_nonmin_array_len",
    "bad_nonmin_bytes_len",
    "bad_nonmin_map_len",
    "bad_nonmin_negint",
    "bad_nonmin_text_len",
    "bad_nonmin_uint16",
    "bad_nonmin_uint64",
    "bad_nonmin_uint8",
    "bad_reserved_28",
    "bad_reserved_29",
    "bad_reserved_30",
    "bad_reserved_simple",
    "bad_simple16",
    "bad_simple32",
    "bad_simple_2byte_low",
    "bad_tag",
    "bad_tag_ai31",
    "bad_text_len_beyond",
    "bad_text_nul",
    "bad_text_nul_and_utf8",
    "bad_text_nul_key",
    "bad_text_nul_nested",
    "bad_text_nul_only",
    "bad_trailing",
    "bad_trailing_after_map",
    "bad_truncated_array",
    "bad_truncated_head",
    "bad_truncated_items",
    "bad_truncated_map",
    "bad_truncated_text",
    "bad_uint_ai31",
    "bad_undefined",
    "bad_utf8_invalid",
    "bad_utf8_key",
    "bad_utf8_overlong",
    "bad_utf8_surrogate",
    "ok_array_empty",
    "ok_array_mixed",
    "ok_bytes",
    "ok_bytes_empty",
    "ok_depth_16",
    "ok_int64_max",
    "ok_int64_min",
    "ok_map_empty",
    "ok_map_len_order",
    "ok_map_nested",
    "ok_negint_1",
    "ok_negint_100",
    "ok_negint_1000",
    "ok_negint_min",
    "ok_simple",
    "ok_text_24",
    "ok_text_emoji",
    "ok_text_empty",
    "ok_text_euro",
    "ok_uint_0",
    "ok_uint_23",
    "ok_uint_24",
    "ok_uint_255",
    "ok_uint_256",
    "ok_uint_2_32",
    "ok_uint_65536",
    "ok_uint_max",
};

/* Runs both checkers on in; they must agree on the code and the message.
 * Returns the code; the message goes to d (which keeps its first one, as
 * cm_fail does). */
/* cm_cbor_check_map answers as cm_cbor_check does, and the entries it finds
 * in an accepted map are those a reader walk finds. */
static void
map_agrees(cm_bytes in, cm_err want, const char *msg)
{
	cm_cbor_map m;
	cm_cbor_rd  r;
	cm_diag     d = {{0}};
	uint64_t    n = 0;

	TST_ERR(cm_cbor_check_map(in, &m, &d), want);
	TST_EQ_STR(d.msg, msg);
	if (want != CM_OK)
		return;
	cm_cbor_rd_init(&r, in, NULL);
	if (cm_cbor_rd_peek(&r) != CM_CBOR_MAP) {
		TST_TRUE(!m.complete);
		return;
	}
	TST_OK(cm_cbor_rd_map(&r, &n));
	TST_TRUE(m.complete == (n <= CM_CBOR_MAP_MAX));
	if (!m.complete)
		return;
	TST_EQ_U(m.n, n);
	for (size_t i = 0; i < m.n; i++) {
		cm_bytes k, v;

		TST_OK(cm_cbor_rd_text(&r, &k));
		TST_OK(cm_cbor_rd_skip(&r, &v));
		TST_TRUE(k.p == m.key[i].p && k.len == m.key[i].len);
		TST_TRUE(v.p == m.val[i].p && v.len == m.val[i].len);
	}
}

static cm_err
check_both(cm_bytes in, cm_diag *d)
{
	cm_diag dn = {{0}}, dr = {{0}};
	cm_err  rn = cm_cbor_check(in, &dn);
	cm_err  rr = cm_cbor_check_libcbor(in, &dr);

	if (rn != rr || strcmp(dn.msg, dr.msg) != 0) {
		cm_buf hex = {0};

		if (cm_hex_encode(&hex, in) == CM_OK)
			fprintf(stderr, "checkers differ on %s\n",
			        (const char *) hex.p);
		cm_buf_fini(&hex);
	}
	TST_ERR(rn, rr);
	TST_EQ_STR(dn.msg, dr.msg);
	map_agrees(in, rn, dn.msg);
	if (dn.msg[0] != '\0')
		cm_diag_set(d, "%s", dn.msg);
	return (rn);
}

/* Reads a whole file into b (NUL-terminated); false if unreadable. */
static bool
file_read(const char *path, cm_buf *b)
{
	FILE  *f = fopen(path, "rb");
	char   chunk[512];
	size_t n;
	bool   ok = f != NULL;

	while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ok = cm_buf_append(b, chunk, n) == CM_OK;
	if (f != NULL)
		fclose(f);
	return (ok && cm_buf_append(b, "", 0) == CM_OK);
}

/* Loads <name>.hex (as bytes) and <name>.exp (as text). */
static bool
vector_load(const char *name, cm_buf *bin, cm_buf *exp)
{
	char   path[256];
	cm_buf hex = {0};
	bool   ok;

	snprintf(path, sizeof(path), VEC_DIR "%s.hex", name);
	ok = file_read(path, &hex);
	while (ok && hex.len > 0 &&
	       (hex.p[hex.len - 1] == '\n' || hex.p[hex.len - 1] == '\r'))
		hex.len--;
	ok = ok && cm_hex_decode(bin, (const char *) hex.p, hex.len) == CM_OK;
	snprintf(path, sizeof(path), VEC_DIR "%s.exp", name);
	ok = ok && file_read(path, exp);
	cm_buf_fini(&hex);
	if (!ok)
		fprintf(stderr, "cannot load vector %s\n", name);
	return (ok);
}

/* Diagnostic notation (RFC 8949 section 8) of one item, via the reader. */
static cm_err
item_dump(cm_cbor_rd *r, cm_buf *out)
{
	cm_bytes s;
	uint64_t n, u;
	int64_t  i;
	bool     b;
	cm_err   rv;

	switch (cm_cbor_rd_peek(r)) {
	case CM_CBOR_UINT:
		if ((rv = cm_cbor_rd_uint(r, &u)) != CM_OK)
			return (rv);
		return (cm_buf_printf(out, "%llu", (unsigned long long) u));
	case CM_CBOR_NEGINT:
		if (cm_cbor_rd_int(r, &i) == CM_OK)
			return (cm_buf_printf(out, "%lld", (long long) i));
		/* Below int64: -1 - v for v in (INT64_MAX, UINT64_MAX]. */
		if ((rv = cm_cbor_rd_skip(r, &s)) != CM_OK)
			return (rv);
		if (s.len != 9)
			return (CM_EPROTO);
		u = cm_get_u64be(s.p + 1);
		if (u == UINT64_MAX)
			return (cm_buf_printf(out, "-18446744073709551616"));
		return (
		    cm_buf_printf(out, "-%llu", (unsigned long long) u + 1));
	case CM_CBOR_BYTES:
		if ((rv = cm_cbor_rd_bytes(r, &s)) != CM_OK)
			return (rv);
		if ((rv = cm_buf_printf(out, "h'")) != CM_OK ||
		    (rv = cm_hex_encode(out, s)) != CM_OK)
			return (rv);
		return (cm_buf_printf(out, "'"));
	case CM_CBOR_TEXT:
		if ((rv = cm_cbor_rd_text(r, &s)) != CM_OK)
			return (rv);
		return (cm_buf_printf(out, "\"%.*s\"", (int) s.len,
		                      (const char *) s.p));
	case CM_CBOR_ARRAY:
	case CM_CBOR_MAP:
		b = cm_cbor_rd_peek(r) == CM_CBOR_MAP;
		rv = b ? cm_cbor_rd_map(r, &n) : cm_cbor_rd_array(r, &n);
		if (rv != CM_OK || (rv = cm_buf_printf(out, b ? "{" : "[")))
			return (rv);
		for (uint64_t k = 0; k < n; k++) {
			if (k > 0 && (rv = cm_buf_printf(out, ", ")) != CM_OK)
				return (rv);
			if (b && ((rv = item_dump(r, out)) != CM_OK ||
			          (rv = cm_buf_printf(out, ": ")) != CM_OK))
				return (rv);
			if ((rv = item_dump(r, out)) != CM_OK)
				return (rv);
		}
		return (cm_buf_printf(out, b ? "}" : "]"));
	case CM_CBOR_FALSE:
	case CM_CBOR_TRUE:
		if ((rv = cm_cbor_rd_bool(r, &b)) != CM_OK)
			return (rv);
		return (cm_buf_printf(out, b ? "true" : "false"));
	case CM_CBOR_NULL:
		if ((rv = cm_cbor_rd_null(r)) != CM_OK)
			return (rv);
		return (cm_buf_printf(out, "null"));
	default:
		return (CM_EPROTO);
	}
}

/* Re-encodes one item read with the reader through the writer. */
static cm_err
item_copy(cm_cbor_rd *r, cm_cbor_wr *w)
{
	cm_bytes s;
	uint64_t n;
	bool     b;
	cm_err   rv;

	switch (cm_cbor_rd_peek(r)) {
	case CM_CBOR_UINT:
		if ((rv = cm_cbor_rd_uint(r, &n)) == CM_OK)
			cm_cbor_wr_uint(w, n);
		return (rv);
	case CM_CBOR_NEGINT: {
		int64_t i;

		if (cm_cbor_rd_int(r, &i) == CM_OK) {
			cm_cbor_wr_int(w, i);
			return (CM_OK);
		}
		/* Beyond int64: copy it raw. */
		if ((rv = cm_cbor_rd_skip(r, &s)) == CM_OK)
			cm_cbor_wr_raw(w, s);
		return (rv);
	}
	case CM_CBOR_BYTES:
		if ((rv = cm_cbor_rd_bytes(r, &s)) == CM_OK)
			cm_cbor_wr_bytes(w, s);
		return (rv);
	case CM_CBOR_TEXT:
		if ((rv = cm_cbor_rd_text(r, &s)) == CM_OK)
			cm_cbor_wr_text(w, s);
		return (rv);
	case CM_CBOR_ARRAY:
		if ((rv = cm_cbor_rd_array(r, &n)) != CM_OK)
			return (rv);
		cm_cbor_wr_array(w, n);
		for (uint64_t k = 0; k < n && rv == CM_OK; k++)
			rv = item_copy(r, w);
		return (rv);
	case CM_CBOR_MAP:
		if ((rv = cm_cbor_rd_map(r, &n)) != CM_OK)
			return (rv);
		cm_cbor_wr_map(w, n);
		for (uint64_t k = 0; k < 2 * n && rv == CM_OK; k++)
			rv = item_copy(r, w);
		return (rv);
	case CM_CBOR_FALSE:
	case CM_CBOR_TRUE:
		if ((rv = cm_cbor_rd_bool(r, &b)) == CM_OK)
			cm_cbor_wr_bool(w, b);
		return (rv);
	case CM_CBOR_NULL:
		if ((rv = cm_cbor_rd_null(r)) == CM_OK)
			cm_cbor_wr_null(w);
		return (rv);
	default:
		return (CM_EPROTO);
	}
}

static void
test_golden(void)
{
	size_t nok = 0;

	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		cm_buf     bin = {0}, exp = {0}, dump = {0}, copy = {0};
		cm_cbor_rd r;
		cm_cbor_wr w;
		cm_diag    d = {{0}};
		cm_bytes   in, skipped;

		if (strncmp(vectors[v], "ok_", 3) != 0)
			continue;
		TST_TRUE(vector_load(vectors[v], &bin, &exp));
		in = cm_buf_bytes(&bin);
		TST_OK(check_both(in, &d));
		if (d.msg[0] != '\0')
			fprintf(stderr, "%s: %s\n", vectors[v], d.msg);
		cm_cbor_rd_init(&r, in, &d);
		TST_OK(item_dump(&r, &dump));
		TST_TRUE(cm_cbor_rd_done(&r));
		TST_TRUE(cm_buf_append(&dump, "\n", 1) == CM_OK);
		TST_EQ_STR((const char *) dump.p, (const char *) exp.p);
		/* Reader then writer reproduces the bytes. */
		cm_cbor_rd_init(&r, in, &d);
		cm_cbor_wr_init(&w, &copy);
		TST_OK(item_copy(&r, &w));
		TST_OK(cm_cbor_wr_finish(&w, &d));
		TST_TRUE(cm_bytes_eq(cm_buf_bytes(&copy), in));
		/* Skip takes the whole item. */
		cm_cbor_rd_init(&r, in, &d);
		TST_OK(cm_cbor_rd_skip(&r, &skipped));
		TST_TRUE(cm_bytes_eq(skipped, in));
		TST_TRUE(cm_cbor_rd_done(&r));
		cm_buf_fini(&bin);
		cm_buf_fini(&exp);
		cm_buf_fini(&dump);
		cm_buf_fini(&copy);
		nok++;
	}
	TST_EQ_U(nok, 27);
}

static void
test_refusals(void)
{
	size_t nbad = 0;

	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		cm_buf     bin = {0}, exp = {0}, want = {0};
		cm_cbor_rd r;
		cm_diag    d = {{0}};
		cm_err     got;
		cm_bytes   in;

		if (strncmp(vectors[v], "bad_", 4) != 0)
			continue;
		TST_TRUE(vector_load(vectors[v], &bin, &exp));
		in = cm_buf_bytes(&bin);
		got = check_both(in, &d);
		TST_TRUE(cm_buf_printf(&want, "%s\n%s\n", cm_errname(got),
		                       d.msg) == CM_OK);
		if (exp.p == NULL ||
		    strcmp((const char *) want.p, (const char *) exp.p) != 0)
			fprintf(stderr, "vector %s\n", vectors[v]);
		TST_EQ_STR((const char *) want.p, (const char *) exp.p);
		/* The reader, which checks bounds and types but not the
		 * profile, refuses ill-formed input too (or stops before the
		 * end); it may read well-formed non-canonical input. */
		cm_err chk = got;
		cm_diag_clear(&d);
		cm_cbor_rd_init(&r, in, &d);
		got = cm_cbor_rd_skip(&r, NULL);
		if (chk == CM_EPROTO)
			TST_TRUE(got != CM_OK || !cm_cbor_rd_done(&r));
		cm_buf_fini(&bin);
		cm_buf_fini(&exp);
		cm_buf_fini(&want);
		nbad++;
	}
	TST_EQ_U(nbad, 59);
}

static void
test_key_cmp(void)
{
	TST_TRUE(cm_cbor_key_cmp(CM_BYTES("z", 1), CM_BYTES("aa", 2)) < 0);
	TST_TRUE(cm_cbor_key_cmp(CM_BYTES("aa", 2), CM_BYTES("z", 1)) > 0);
	TST_TRUE(cm_cbor_key_cmp(CM_BYTES("ab", 2), CM_BYTES("ac", 2)) < 0);
	TST_TRUE(cm_cbor_key_cmp(CM_BYTES("ab", 2), CM_BYTES("ab", 2)) == 0);
	TST_TRUE(cm_cbor_key_cmp(CM_BYTES("", 0), CM_BYTES("a", 1)) < 0);
}

static void
test_writer_roundtrip(void)
{
	/* {"n": -2, "id": h'0102', "ok": true, "big": 2^64-1, "arr": [null,
	 * false, "x", -2^63, 2^63-1]} */
	static const uint8_t want[] = {
	    0xa5, 0x61, 0x6e, 0x21, 0x62, 0x69, 0x64, 0x42, 0x01, 0x02, 0x62,
	    0x6f, 0x6b, 0xf5, 0x63, 0x61, 0x72, 0x72, 0x85, 0xf6, 0xf4, 0x61,
	    0x78, 0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1b,
	    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x63, 0x62, 0x69,
	    0x67, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t id[] = {1, 2};
	cm_buf               out = {0};
	cm_cbor_wr           w;
	cm_diag              d = {{0}};

	TST_TRUE(cm_buf_append(&out, "xy", 2) == CM_OK); /* appends */
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "n");
	cm_cbor_wr_int(&w, -2);
	cm_cbor_wr_cstr(&w, "id");
	cm_cbor_wr_bytes(&w, CM_BYTES(id, sizeof(id)));
	cm_cbor_wr_cstr(&w, "ok");
	cm_cbor_wr_bool(&w, true);
	cm_cbor_wr_cstr(&w, "arr");
	cm_cbor_wr_array(&w, 5);
	cm_cbor_wr_null(&w);
	cm_cbor_wr_bool(&w, false);
	cm_cbor_wr_text(&w, CM_BYTES("x", 1));
	cm_cbor_wr_int(&w, INT64_MIN);
	cm_cbor_wr_raw(&w, CM_BYTES("\x1b\x7f\xff\xff\xff\xff\xff\xff\xff", 9));
	cm_cbor_wr_cstr(&w, "big");
	cm_cbor_wr_uint(&w, UINT64_MAX);
	TST_OK(cm_cbor_wr_finish(&w, &d));
	TST_EQ_U(out.len, 2 + sizeof(want));
	TST_EQ_MEM(out.p, "xy", 2);
	TST_EQ_MEM(out.p + 2, want, sizeof(want));
	TST_OK(check_both(CM_BYTES(want, sizeof(want)), &d));
	cm_buf_fini(&out);
}

static void
test_writer_heads(void)
{
	static const struct {
		int64_t     v;
		const char *hex;
	} cases[] = {{0, "00"},
	             {23, "17"},
	             {24, "1818"},
	             {255, "18ff"},
	             {256, "190100"},
	             {65535, "19ffff"},
	             {65536, "1a00010000"},
	             {4294967295LL, "1affffffff"},
	             {4294967296LL, "1b0000000100000000"},
	             {-1, "20"},
	             {-24, "37"},
	             {-25, "3818"},
	             {-256, "38ff"},
	             {-257, "390100"},
	             {INT64_MAX, "1b7fffffffffffffff"},
	             {INT64_MIN, "3b7fffffffffffffff"}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cm_buf     out = {0}, hex = {0};
		cm_cbor_wr w;
		cm_cbor_rd r;
		int64_t    back = 0;

		cm_cbor_wr_init(&w, &out);
		cm_cbor_wr_int(&w, cases[i].v);
		TST_OK(cm_cbor_wr_finish(&w, NULL));
		TST_OK(cm_hex_encode(&hex, cm_buf_bytes(&out)));
		TST_EQ_STR((const char *) hex.p, cases[i].hex);
		cm_cbor_rd_init(&r, cm_buf_bytes(&out), NULL);
		TST_OK(cm_cbor_rd_int(&r, &back));
		TST_TRUE(back == cases[i].v);
		cm_buf_fini(&out);
		cm_buf_fini(&hex);
	}
}

static void
test_writer_mistakes(void)
{
	cm_buf     out = {0};
	cm_cbor_wr w;
	cm_diag    d = {{0}};

	/* A length no buffer can hold: refused before any copy, and the
	 * writer stays failed. */
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_uint(&w, 7);
	cm_cbor_wr_bytes(&w, CM_BYTES("x", SIZE_MAX - 4));
	cm_cbor_wr_uint(&w, 8);
	TST_ERR(cm_cbor_wr_end(&w), CM_ENOMEM);
	TST_EQ_U(out.len, 1);
	cm_buf_reset(&out);
	/* Keys out of order. */
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "b");
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_cstr(&w, "a");
	cm_cbor_wr_uint(&w, 2);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	TST_EQ_STR(d.msg, "non-canonical: map keys out of order at offset 4");
	/* Longer key first. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "aa");
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_cstr(&w, "b");
	cm_cbor_wr_uint(&w, 2);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	/* Duplicate key. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "a");
	cm_cbor_wr_null(&w);
	cm_cbor_wr_cstr(&w, "a");
	cm_cbor_wr_null(&w);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	TST_EQ_STR(d.msg, "non-canonical: duplicate map key at offset 4");
	/* Non-text key. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 1);
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_null(&w);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	/* An array left short. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_array(&w, 2);
	cm_cbor_wr_uint(&w, 1);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	TST_TRUE(strstr(d.msg, "truncated") != NULL);
	/* Two top-level items. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_uint(&w, 2);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	/* Nothing written. */
	cm_buf_reset(&out);
	cm_cbor_wr_init(&w, &out);
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	/* Bad UTF-8 text. */
	cm_buf_reset(&out);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_text(&w, CM_BYTES("\xff", 1));
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	/* Raw non-canonical bytes. */
	cm_buf_reset(&out);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_raw(&w, CM_BYTES("\x18\x01", 2));
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	/* Sticky errors: the first one wins and later writes do nothing. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_cstr(&w, NULL);
	cm_cbor_wr_uint(&w, 1);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_EINVAL);
	TST_TRUE(check_both(cm_buf_bytes(&out), NULL) != CM_OK);
	TST_EQ_U(out.len, 0);
	cm_buf_fini(&out);
}

static void
test_reader_types(void)
{
	/* [0, 24, -1, -300, h'ab', "hé", [], {"k": true}, false, null] */
	static const uint8_t in[] = {0x8a, 0x00, 0x18, 0x18, 0x20, 0x39, 0x01,
	                             0x2b, 0x41, 0xab, 0x63, 0x68, 0xc3, 0xa9,
	                             0x80, 0xa1, 0x61, 0x6b, 0xf5, 0xf4, 0xf6};
	cm_cbor_rd           r;
	cm_diag              d = {{0}};
	uint64_t             n = 0, u = 0;
	int64_t              i = 0;
	cm_bytes             s;
	bool                 b = false;

	TST_OK(check_both(CM_BYTES(in, sizeof(in)), &d));
	cm_cbor_rd_init(&r, CM_BYTES(in, sizeof(in)), &d);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_ARRAY);
	TST_ERR(cm_cbor_rd_map(&r, &n), CM_EPROTO); /* wrong type */
	TST_EQ_STR(d.msg, "CBOR: expected map, found array at offset 0");
	TST_EQ_U(r.off, 0);
	TST_OK(cm_cbor_rd_array(&r, &n));
	TST_EQ_U(n, 10);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_UINT);
	TST_OK(cm_cbor_rd_uint(&r, &u));
	TST_EQ_U(u, 0);
	TST_OK(cm_cbor_rd_int(&r, &i));
	TST_TRUE(i == 24);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_NEGINT);
	TST_ERR(cm_cbor_rd_uint(&r, &u), CM_EPROTO);
	TST_OK(cm_cbor_rd_int(&r, &i));
	TST_TRUE(i == -1);
	TST_OK(cm_cbor_rd_int(&r, &i));
	TST_TRUE(i == -300);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_BYTES);
	TST_ERR(cm_cbor_rd_text(&r, &s), CM_EPROTO);
	TST_OK(cm_cbor_rd_bytes(&r, &s));
	TST_TRUE(cm_bytes_eq(s, CM_BYTES("\xab", 1)));
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_TEXT);
	TST_OK(cm_cbor_rd_text(&r, &s));
	TST_TRUE(cm_bytes_eq(s, CM_BYTES("h\xc3\xa9", 3)));
	TST_OK(cm_cbor_rd_array(&r, &n));
	TST_EQ_U(n, 0);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_MAP);
	TST_OK(cm_cbor_rd_map(&r, &n));
	TST_EQ_U(n, 1);
	TST_OK(cm_cbor_rd_text(&r, &s));
	TST_TRUE(cm_bytes_eq(s, CM_BYTES("k", 1)));
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_TRUE);
	TST_ERR(cm_cbor_rd_null(&r), CM_EPROTO);
	TST_OK(cm_cbor_rd_bool(&r, &b));
	TST_TRUE(b);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_FALSE);
	TST_OK(cm_cbor_rd_bool(&r, &b));
	TST_TRUE(!b);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_NULL);
	TST_ERR(cm_cbor_rd_bool(&r, &b), CM_EPROTO);
	TST_OK(cm_cbor_rd_null(&r));
	TST_TRUE(cm_cbor_rd_done(&r));
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_INVALID);
	TST_ERR(cm_cbor_rd_null(&r), CM_EPROTO);
}

static void
test_reader_int_range(void)
{
	cm_cbor_rd r;
	int64_t    i = 7;
	uint64_t   u = 0;

	/* 2^63 does not fit int64, but reads as uint. */
	cm_cbor_rd_init(&r, CM_BYTES("\x1b\x80\0\0\0\0\0\0\0", 9), NULL);
	TST_ERR(cm_cbor_rd_int(&r, &i), CM_EPROTO);
	TST_EQ_U(r.off, 0);
	TST_TRUE(i == 7);
	TST_OK(cm_cbor_rd_uint(&r, &u));
	TST_EQ_U(u, 1ULL << 63);
	/* -2^63 - 1 does not fit int64. */
	cm_cbor_rd_init(&r, CM_BYTES("\x3b\x80\0\0\0\0\0\0\0", 9), NULL);
	TST_ERR(cm_cbor_rd_int(&r, &i), CM_EPROTO);
	/* -2^63 does. */
	cm_cbor_rd_init(&r, CM_BYTES("\x3b\x7f\xff\xff\xff\xff\xff\xff\xff", 9),
	                NULL);
	TST_OK(cm_cbor_rd_int(&r, &i));
	TST_TRUE(i == INT64_MIN);
}

static void
test_reader_hostile(void)
{
	cm_cbor_rd r;
	cm_diag    d = {{0}};
	uint64_t   n = 0;
	cm_bytes   s;
	uint8_t    deep[18];

	/* Non-minimal heads: the reader checks bounds and types, not the
	 * profile (cm_cbor_check does), so it reads the value. */
	cm_cbor_rd_init(&r, CM_BYTES("\x18\x05", 2), &d);
	TST_OK(cm_cbor_rd_uint(&r, &n));
	TST_EQ_U(n, 5);
	TST_TRUE(cm_cbor_rd_done(&r));
	/* Counts beyond the input. */
	cm_cbor_rd_init(&r, CM_BYTES("\x9a\xff\xff\xff\xff", 5), &d);
	TST_ERR(cm_cbor_rd_array(&r, &n), CM_EPROTO);
	cm_cbor_rd_init(&r, CM_BYTES("\xa2\x61\x61\x01", 4), &d);
	TST_ERR(cm_cbor_rd_map(&r, &n), CM_EPROTO);
	/* Lengths beyond the input. */
	cm_cbor_rd_init(&r, CM_BYTES("\x5b\xff\xff\xff\xff\xff\xff\xff\xff", 9),
	                &d);
	TST_ERR(cm_cbor_rd_bytes(&r, &s), CM_EPROTO);
	cm_cbor_rd_init(&r, CM_BYTES("\x65\x61", 2), &d);
	TST_ERR(cm_cbor_rd_text(&r, &s), CM_EPROTO);
	/* Invalid UTF-8 is the checker's to refuse; the reader stays in
	 * bounds. */
	cm_cbor_rd_init(&r, CM_BYTES("\x61\x80", 2), &d);
	TST_OK(cm_cbor_rd_text(&r, &s));
	TST_EQ_U(s.len, 1);
	/* Indefinite lengths, floats, tags: the reader cannot read them. */
	cm_cbor_rd_init(&r, CM_BYTES("\x9f\xff", 2), &d);
	TST_ERR(cm_cbor_rd_array(&r, &n), CM_EPROTO);
	cm_cbor_rd_init(&r, CM_BYTES("\xf9\x3c\x00", 3), &d);
	TST_TRUE(cm_cbor_rd_peek(&r) == CM_CBOR_INVALID);
	TST_ERR(cm_cbor_rd_skip(&r, &s), CM_EPROTO);
	cm_cbor_rd_init(&r, CM_BYTES("\xc0\x60", 2), &d);
	TST_ERR(cm_cbor_rd_text(&r, &s), CM_EPROTO);
	/* Empty and NULL input. */
	cm_cbor_rd_init(&r, CM_BYTES(NULL, 0), &d);
	TST_TRUE(cm_cbor_rd_done(&r));
	TST_ERR(cm_cbor_rd_skip(&r, &s), CM_EPROTO);
	/* Skip has a depth limit: 17 nested arrays. */
	memset(deep, 0x81, sizeof(deep));
	deep[17] = 0x80;
	cm_cbor_rd_init(&r, CM_BYTES(deep + 1, 17), &d);
	TST_ERR(cm_cbor_rd_skip(&r, &s), CM_EPROTO);
	cm_cbor_rd_init(&r, CM_BYTES(deep + 2, 16), &d);
	TST_OK(cm_cbor_rd_skip(&r, &s));
	TST_EQ_U(s.len, 16);
	/* Skip of one item inside a longer input. */
	cm_cbor_rd_init(&r, CM_BYTES("\x82\x01\x02\x03", 4), &d);
	TST_OK(cm_cbor_rd_skip(&r, &s));
	TST_EQ_U(s.len, 3);
	TST_EQ_U(r.off, 3);
	TST_TRUE(!cm_cbor_rd_done(&r));
}

static void
test_check_diag_null(void)
{
	/* NULL diag and NULL input are accepted. */
	TST_ERR(cm_cbor_check(CM_BYTES("\x18\x01", 2), NULL), CM_ENONCANON);
	TST_ERR(cm_cbor_check(CM_BYTES(NULL, 0), NULL), CM_EPROTO);
	TST_OK(cm_cbor_check(CM_BYTES("\xf6", 1), NULL));
	TST_ERR(cm_cbor_check_libcbor(CM_BYTES("\x18\x01", 2), NULL),
	        CM_ENONCANON);
	TST_ERR(cm_cbor_check_libcbor(CM_BYTES(NULL, 0), NULL), CM_EPROTO);
	TST_OK(cm_cbor_check_libcbor(CM_BYTES("\xf6", 1), NULL));
	TST_ERR(check_both(CM_BYTES("\x18\x01", 2), NULL), CM_ENONCANON);
	TST_ERR(check_both(CM_BYTES(NULL, 0), NULL), CM_EPROTO);
	TST_OK(check_both(CM_BYTES("\xf6", 1), NULL));
	/* A NULL pointer with a length is the caller's mistake. */
	TST_ERR(check_both(CM_BYTES(NULL, 1), NULL), CM_EINVAL);
}

static void
test_inline_vectors(void)
{
	/* The inputs written inline in this file (the reader's hostile cases
	 * among them) and the edges of each rule that the vector files leave
	 * out, with the code both checkers must give. */
	static const struct {
		const char *hex;
		cm_err      want;
	} cases[] = {
	    {"1805", CM_ENONCANON},
	    {"9affffffff", CM_EPROTO},
	    {"a2616101", CM_EPROTO},
	    {"5bffffffffffffffff", CM_EPROTO},
	    {"6561", CM_EPROTO},
	    {"6180", CM_ENONCANON},
	    {"9fff", CM_ENONCANON},
	    {"f93c00", CM_ENONCANON},
	    {"c060", CM_ENONCANON},
	    {"8181818181818181818181818181818180", CM_ENONCANON},
	    {"81818181818181818181818181818180", CM_OK},
	    {"82010203", CM_ENONCANON},
	    {"1b8000000000000000", CM_OK},
	    {"3b8000000000000000", CM_OK},
	    {"3b7fffffffffffffff", CM_OK},
	    {"8a0018182039012b41ab6368c3a980a1616bf5f4f6", CM_OK},
	    {"a2616201616102", CM_ENONCANON},
	    {"a26161f66161f6", CM_ENONCANON},
	    {"a101f6", CM_ENONCANON},
	    {"8201", CM_EPROTO},
	    {"61ff", CM_ENONCANON},
	    {"1818", CM_OK},
	    {"1817", CM_ENONCANON},
	    {"1900ff", CM_ENONCANON},
	    {"190100", CM_OK},
	    {"1a0000ffff", CM_ENONCANON},
	    {"1b00000000ffffffff", CM_ENONCANON},
	    {"1b0000000100000000", CM_OK},
	    {"7800", CM_ENONCANON},
	    {"9800", CM_ENONCANON},
	    {"b800", CM_ENONCANON},
	    {"5900", CM_EPROTO},
	    {"780161", CM_ENONCANON},
	    {"7818", CM_EPROTO},
	    {"98", CM_EPROTO},
	    {"f8", CM_EPROTO},
	    {"f818", CM_EPROTO},
	    {"f820", CM_ENONCANON},
	    {"f7", CM_ENONCANON},
	    {"e0", CM_ENONCANON},
	    {"f3", CM_ENONCANON},
	    {"fc", CM_EPROTO},
	    {"ff", CM_EPROTO},
	    {"1f", CM_EPROTO},
	    {"3f", CM_EPROTO},
	    {"df", CM_EPROTO},
	    {"d8", CM_ENONCANON},
	    {"9b0000000000000001", CM_ENONCANON},
	    {"bb00000000000000", CM_EPROTO},
	    {"a1616181", CM_EPROTO},
	    {"a160f6", CM_OK},
	    {"a26060f6f6", CM_ENONCANON},
	    {"a1781861616161616161616161616161616161616161616161616101", CM_OK},
	    {"a2627a6101616102", CM_ENONCANON},
	    {"f4f5", CM_ENONCANON},
	    {"80ff", CM_ENONCANON},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cm_buf bin = {0};
		cm_err got;

		TST_OK(cm_hex_decode(&bin, cases[i].hex, strlen(cases[i].hex)));
		got = check_both(cm_buf_bytes(&bin), NULL);
		if (got != cases[i].want)
			fprintf(stderr, "inline case %s\n", cases[i].hex);
		TST_ERR(got, cases[i].want);
		cm_buf_fini(&bin);
	}
}

/* splitmix64: a fixed seed makes every run check the same inputs. */
static uint64_t
rng_next(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static size_t
rng_below(uint64_t *st, size_t n)
{
	return (n == 0 ? 0 : (size_t) (rng_next(st) % n));
}

/* Bytes that start or end interesting heads: every additional info of
 * each major type at its edges, breaks, tags, floats, simple values. */
static uint8_t
byte_pick(uint64_t *st)
{
	static const uint8_t edge[] = {
	    0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x37, 0x38,
	    0x3b, 0x3f, 0x40, 0x57, 0x58, 0x59, 0x5b, 0x5f, 0x60, 0x61, 0x62,
	    0x77, 0x78, 0x79, 0x7b, 0x7f, 0x80, 0x81, 0x82, 0x98, 0x9b, 0x9f,
	    0xa0, 0xa1, 0xa2, 0xb8, 0xbb, 0xbf, 0xc0, 0xd8, 0xdb, 0xdf, 0xe0,
	    0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xff,
	    0xc3, 0xa9, 0xe4, 0xb8, 0xed, 0xa0, 0xf0, 0x9f, 0xf4, 0x90, 0x7e};

	if (rng_below(st, 2) == 0)
		return (edge[rng_below(st, sizeof(edge))]);
	return ((uint8_t) rng_next(st));
}

static void gen_item(cm_cbor_wr *w, uint64_t *st, int depth);

/* A random text: ASCII, multi-byte UTF-8 or a mix, lengths around the
 * one-byte head limit (23/24). */
static void
gen_text(cm_buf *t, uint64_t *st)
{
	static const char *const pieces[] = {
	    "a", "z", "k", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
	    "0", "_"};
	size_t n =
	    rng_below(st, 4) == 0 ? 20 + rng_below(st, 8) : rng_below(st, 5);

	cm_buf_reset(t);
	for (size_t i = 0; i < n; i++) {
		const char *p =
		    pieces[rng_below(st, rng_below(st, 3) == 0 ? 8 : 2)];

		TST_OK(cm_buf_append(t, p, strlen(p)));
	}
}

static int
key_sort_cmp(const void *a, const void *b)
{
	return (cm_cbor_key_cmp(cm_buf_bytes(a), cm_buf_bytes(b)));
}

/* A map of n random distinct keys, sorted canonically. */
static void
gen_map(cm_cbor_wr *w, uint64_t *st, int depth)
{
	cm_buf keys[5] = {{0}};
	size_t n = rng_below(st, 6), m = 0;

	for (size_t i = 0; i < n; i++) {
		gen_text(&keys[m], st);
		for (size_t j = 0; j < m; j++)
			if (cm_bytes_eq(cm_buf_bytes(&keys[j]),
			                cm_buf_bytes(&keys[m])))
				goto dup;
		m++;
	dup:;
	}
	qsort(keys, m, sizeof(keys[0]), key_sort_cmp);
	cm_cbor_wr_map(w, m);
	for (size_t i = 0; i < m; i++) {
		cm_cbor_wr_text(w, cm_buf_bytes(&keys[i]));
		gen_item(w, st, depth + 1);
	}
	for (size_t i = 0; i < 5; i++)
		cm_buf_fini(&keys[i]);
}

/* Integers at the edges of each head length. */
static uint64_t
gen_uint(uint64_t *st)
{
	static const uint64_t edge[] = {0,
	                                23,
	                                24,
	                                255,
	                                256,
	                                65535,
	                                65536,
	                                4294967295ULL,
	                                4294967296ULL,
	                                UINT64_MAX};

	if (rng_below(st, 2) == 0)
		return (edge[rng_below(st, sizeof(edge) / sizeof(edge[0]))]);
	return (rng_next(st) >> (rng_below(st, 64)));
}

/* Writes one random canonical item (nesting may pass the depth limit: such
 * items make seeds for the depth rule). */
static void
gen_item(cm_cbor_wr *w, uint64_t *st, int depth)
{
	cm_buf t = {0};
	size_t kind = rng_below(st, depth > 18 ? 8 : 10);

	switch (kind) {
	case 0:
		cm_cbor_wr_uint(w, gen_uint(st));
		break;
	case 1:
		cm_cbor_wr_int(w, -1 - (int64_t) (gen_uint(st) >> 1));
		break;
	case 2:
		gen_text(&t, st);
		cm_cbor_wr_bytes(w, cm_buf_bytes(&t));
		break;
	case 3:
	case 4:
		gen_text(&t, st);
		cm_cbor_wr_text(w, cm_buf_bytes(&t));
		break;
	case 5:
		cm_cbor_wr_bool(w, rng_below(st, 2) == 0);
		break;
	case 6:
		cm_cbor_wr_null(w);
		break;
	case 7:
		cm_cbor_wr_uint(w, rng_below(st, 24));
		break;
	case 8: {
		size_t n = rng_below(st, depth > 10 ? 2 : 5);

		cm_cbor_wr_array(w, n);
		for (size_t i = 0; i < n; i++)
			gen_item(w, st, depth + 1);
		break;
	}
	default:
		gen_map(w, st, depth);
		break;
	}
	cm_buf_fini(&t);
}

/* Arrays and maps nested 14 to 18 deep around one scalar: both sides of
 * the depth limit. */
static void
gen_deep(cm_buf *in, uint64_t *st)
{
	size_t     n = 14 + rng_below(st, 5);
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, in);
	for (size_t i = 0; i < n; i++) {
		if (rng_below(st, 2) == 0) {
			cm_cbor_wr_array(&w, 1);
		} else {
			cm_cbor_wr_map(&w, 1);
			cm_cbor_wr_cstr(&w, "k");
		}
	}
	gen_item(&w, st, 99);
	TST_OK(cm_cbor_wr_end(&w));
}

/* One mutation of b: a bit flip, a byte set, a truncation, an insertion, a
 * deletion or an appended byte. */
static void
mutate(cm_buf *b, uint64_t *st)
{
	size_t  at = rng_below(st, b->len + 1);
	uint8_t c = byte_pick(st);

	switch (rng_below(st, 6)) {
	case 0:
		if (at < b->len)
			b->p[at] ^= (uint8_t) (1u << rng_below(st, 8));
		break;
	case 1:
		if (at < b->len)
			b->p[at] = c;
		break;
	case 2:
		b->len = at;
		break;
	case 3:
		TST_OK(cm_buf_append_byte(b, 0));
		memmove(b->p + at + 1, b->p + at, b->len - 1 - at);
		b->p[at] = c;
		break;
	case 4:
		if (at < b->len) {
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
		}
		break;
	default:
		TST_OK(cm_buf_append_byte(b, c));
		break;
	}
}

/* Makes one input: random bytes, or a valid item (one of the ok vectors
 * or a generated one), mutated zero to three times. */
static void
input_make(cm_buf *in, uint64_t *st, const cm_buf *seeds, size_t nseeds)
{
	size_t kind = rng_below(st, 8);

	cm_buf_reset(in);
	if (kind == 0) {
		size_t n = rng_below(st, 40);

		for (size_t i = 0; i < n; i++)
			TST_OK(cm_buf_append_byte(in, byte_pick(st)));
		return;
	}
	if (kind <= 2) {
		const cm_buf *s = &seeds[rng_below(st, nseeds)];

		TST_OK(cm_buf_append(in, s->p, s->len));
	} else if (kind == 7) {
		gen_deep(in, st);
	} else {
		cm_cbor_wr w;

		cm_cbor_wr_init(&w, in);
		gen_item(&w, st, 0);
		TST_OK(cm_cbor_wr_end(&w));
	}
	for (size_t m = rng_below(st, 4); m > 0; m--)
		mutate(in, st);
}

/* The rule a message names: the message without its numbers. */
static void
msg_rule(const char *msg, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; msg[i] != '\0' && j + 1 < len; i++)
		if (msg[i] < '0' || msg[i] > '9')
			out[j++] = msg[i];
	out[j] = '\0';
}

static void
test_differential(void)
{
	enum { NINPUT = 200000, NRULE = 40 };
	cm_buf   seeds[32] = {{0}}, in = {0};
	char     rules[NRULE][128];
	size_t   nseeds = 0, nrules = 0, nok = 0;
	uint64_t st = 20260115;

	for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		cm_buf exp = {0};

		if (strncmp(vectors[v], "ok_", 3) != 0 || nseeds == 32)
			continue;
		TST_TRUE(vector_load(vectors[v], &seeds[nseeds], &exp));
		nseeds++;
		cm_buf_fini(&exp);
	}
	for (size_t i = 0; i < NINPUT; i++) {
		cm_diag d = {{0}};
		char    rule[128];
		size_t  r;

		input_make(&in, &st, seeds, nseeds);
		if (check_both(cm_buf_bytes(&in), &d) == CM_OK) {
			nok++;
			continue;
		}
		msg_rule(d.msg, rule, sizeof(rule));
		for (r = 0; r < nrules && strcmp(rules[r], rule) != 0; r++)
			;
		if (r == nrules && nrules < NRULE)
			snprintf(rules[nrules++], sizeof(rules[0]), "%s", rule);
	}
	/* The inputs reach every refusal the checkers can give on non-NULL
	 * input (21 kinds; the reference's "ill-formed: item" and "string"
	 * cannot happen after initial_check) and accept a fair share. */
	printf("differential: %d inputs, %zu accepted, %zu kinds of refusal\n",
	       NINPUT, nok, nrules);
	TST_EQ_U(nrules, 21);
	TST_TRUE(nok > NINPUT / 10);
	for (size_t s = 0; s < nseeds; s++)
		cm_buf_fini(&seeds[s]);
	cm_buf_fini(&in);
}

/* cm_cbor_check_map on the shapes a decoder meets: a small map, a map one
 * entry over the limit (not indexed: decoders fall back to a walk), an
 * array, and a refusal (nothing indexed). */
static void
test_check_map(void)
{
	cm_buf      b = {0};
	cm_cbor_wr  w;
	cm_cbor_map m;
	cm_diag     d = {{0}};
	char        key[8];

	cm_cbor_wr_init(&w, &b);
	cm_cbor_wr_map(&w, 3);
	cm_cbor_wr_cstr(&w, "a");
	cm_cbor_wr_uint(&w, 300);
	cm_cbor_wr_cstr(&w, "bb");
	cm_cbor_wr_array(&w, 1);
	cm_cbor_wr_cstr(&w, "x");
	cm_cbor_wr_cstr(&w, "ccc");
	cm_cbor_wr_bytes(&w, CM_BYTES("\x01\x02", 2));
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	TST_OK(cm_cbor_check_map(cm_buf_bytes(&b), &m, NULL));
	TST_TRUE(m.complete);
	TST_EQ_U(m.n, 3);
	TST_TRUE(cm_bytes_eq(m.key[0], CM_BYTES("a", 1)));
	TST_TRUE(cm_bytes_eq(m.val[0], CM_BYTES("\x19\x01\x2c", 3)));
	TST_TRUE(cm_bytes_eq(m.key[1], CM_BYTES("bb", 2)));
	TST_TRUE(cm_bytes_eq(m.val[1], CM_BYTES("\x81\x61x", 3)));
	TST_TRUE(cm_bytes_eq(m.key[2], CM_BYTES("ccc", 3)));
	TST_TRUE(cm_bytes_eq(m.val[2], CM_BYTES("\x42\x01\x02", 3)));
	map_agrees(cm_buf_bytes(&b), CM_OK, "");

	cm_buf_reset(&b);
	cm_cbor_wr_init(&w, &b);
	cm_cbor_wr_map(&w, CM_CBOR_MAP_MAX + 1);
	for (int i = 0; i < CM_CBOR_MAP_MAX + 1; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		cm_cbor_wr_cstr(&w, key);
		cm_cbor_wr_uint(&w, (uint64_t) i);
	}
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	TST_OK(cm_cbor_check_map(cm_buf_bytes(&b), &m, NULL));
	TST_TRUE(!m.complete);
	TST_TRUE(m.item.p == b.p && m.item.len == b.len);
	map_agrees(cm_buf_bytes(&b), CM_OK, "");

	TST_OK(cm_cbor_check_map(CM_BYTES("\x82\x01\x02", 3), &m, NULL));
	TST_TRUE(!m.complete);
	/* Keys out of order: refused with cm_cbor_check's message. */
	TST_ERR(cm_cbor_check_map(CM_BYTES("\xa2\x61\x62\x01\x61\x61\x02", 7),
	                          &m, &d),
	        CM_ENONCANON);
	TST_TRUE(strstr(d.msg, "out of order") != NULL);
	TST_TRUE(!m.complete);
	cm_buf_fini(&b);
}

TST_MAIN(TST_CASE(test_golden), TST_CASE(test_refusals), TST_CASE(test_key_cmp),
         TST_CASE(test_check_map), TST_CASE(test_writer_roundtrip),
         TST_CASE(test_writer_heads), TST_CASE(test_writer_mistakes),
         TST_CASE(test_reader_types), TST_CASE(test_reader_int_range),
         TST_CASE(test_reader_hostile), TST_CASE(test_check_diag_null),
         TST_CASE(test_inline_vectors), TST_CASE(test_differential))
