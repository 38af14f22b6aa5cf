/* SPDX-License-Identifier: MIT */
/* tests/ledger/cm_cbor_test.c -- the canonical CBOR profile: golden and
 * refusal vectors (tests/vectors/cbor/: ok_* decode to the diagnostic
 * notation in .exp; bad_* give the error and diag in .exp), the pull reader
 * on every type and on hostile input, and the writer. */
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
		TST_OK(cm_cbor_check(in, &d));
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
		got = cm_cbor_check(in, &d);
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
	TST_EQ_U(nbad, 54);
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
	TST_OK(cm_cbor_check(CM_BYTES(want, sizeof(want)), &d));
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

	/* Keys out of order. */
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "b");
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_cstr(&w, "a");
	cm_cbor_wr_uint(&w, 2);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
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
	TST_EQ_STR(d.msg, "non-canonical: duplicate map key at offset 4");
	/* Non-text key. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_map(&w, 1);
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_null(&w);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	/* An array left short. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_array(&w, 2);
	cm_cbor_wr_uint(&w, 1);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	TST_TRUE(strstr(d.msg, "truncated") != NULL);
	/* Two top-level items. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_uint(&w, 2);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_ENONCANON);
	/* Nothing written. */
	cm_buf_reset(&out);
	cm_cbor_wr_init(&w, &out);
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);
	/* Bad UTF-8 text. */
	cm_buf_reset(&out);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_text(&w, CM_BYTES("\xff", 1));
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);
	/* Raw non-canonical bytes. */
	cm_buf_reset(&out);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_raw(&w, CM_BYTES("\x18\x01", 2));
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);
	/* Sticky errors: the first one wins and later writes do nothing. */
	cm_buf_reset(&out);
	cm_diag_clear(&d);
	cm_cbor_wr_init(&w, &out);
	cm_cbor_wr_cstr(&w, NULL);
	cm_cbor_wr_uint(&w, 1);
	TST_ERR(cm_cbor_wr_finish(&w, &d), CM_EINVAL);
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

	TST_OK(cm_cbor_check(CM_BYTES(in, sizeof(in)), &d));
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
}

TST_MAIN(TST_CASE(test_golden), TST_CASE(test_refusals), TST_CASE(test_key_cmp),
         TST_CASE(test_writer_roundtrip), TST_CASE(test_writer_heads),
         TST_CASE(test_writer_mistakes), TST_CASE(test_reader_types),
         TST_CASE(test_reader_int_range), TST_CASE(test_reader_hostile),
         TST_CASE(test_check_diag_null))
