/* SPDX-License-Identifier: MIT */
/* tests/ledger/cm_json_test.c -- JSON <-> canonical CBOR: the strict JSON
 * rules (duplicates, fractions, exponents, int64 range, UTF-8, \u0000,
 * depth, trailing garbage), canonical key order, exact JSON output, and the
 * cm_json walking API. */
#include "tests/tst.h"

/* JSON text -> hex of its CBOR, or the error name and diag. */
static void
to_cbor(const char *json, cm_buf *out)
{
	cm_buf  cbor = {0};
	cm_diag d = {{0}};
	cm_err  rv;

	rv = cm_json_to_cbor(CM_BYTES(json, strlen(json)), &cbor, &d);
	if (rv == CM_OK)
		(void) cm_hex_encode(out, cm_buf_bytes(&cbor));
	else
		(void) cm_buf_printf(out, "%s: %s", cm_errname(rv), d.msg);
	cm_buf_fini(&cbor);
}

#define JSON_CBOR(json, want)                                                  \
	do {                                                                   \
		cm_buf got_ = {0};                                             \
		to_cbor((json), &got_);                                        \
		TST_EQ_STR((const char *) got_.p, (want));                     \
		cm_buf_fini(&got_);                                            \
	} while (0)

/* CBOR hex -> JSON text, or the error name. */
static void
to_json(const char *hex, cm_buf *out)
{
	cm_buf  cbor = {0};
	cm_diag d = {{0}};
	cm_err  rv;

	if (cm_hex_decode(&cbor, hex, strlen(hex)) != CM_OK) {
		(void) cm_buf_printf(out, "bad hex");
		return;
	}
	rv = cm_cbor_to_json(cm_buf_bytes(&cbor), out, &d);
	if (rv != CM_OK)
		(void) cm_buf_printf(out, "%s: %s", cm_errname(rv), d.msg);
	cm_buf_fini(&cbor);
}

#define CBOR_JSON(hex, want)                                                   \
	do {                                                                   \
		cm_buf got_ = {0};                                             \
		to_json((hex), &got_);                                         \
		TST_EQ_STR((const char *) got_.p, (want));                     \
		cm_buf_fini(&got_);                                            \
	} while (0)

static void
test_scalars(void)
{
	JSON_CBOR("0", "00");
	JSON_CBOR("23", "17");
	JSON_CBOR("24", "1818");
	JSON_CBOR("-1", "20");
	JSON_CBOR("-1000", "3903e7");
	JSON_CBOR("true", "f5");
	JSON_CBOR("false", "f4");
	JSON_CBOR("null", "f6");
	JSON_CBOR("\"\"", "60");
	JSON_CBOR("\"a\\n\\u00e9\"", "6461"
	                             "0a"
	                             "c3a9");
	JSON_CBOR("\"\\ud83d\\ude00\"", "64f09f9880");
	JSON_CBOR(" [ ] ", "80");
	JSON_CBOR("{}", "a0");
	JSON_CBOR("9223372036854775807", "1b7fffffffffffffff");
	JSON_CBOR("-9223372036854775808", "3b7fffffffffffffff");
}

static void
test_key_sorting(void)
{
	JSON_CBOR("{\"bb\":1,\"a\":2,\"c\":3}", "a3616102616303626262"
	                                        "01");
	JSON_CBOR("{\"b\":{\"zz\":[1,{\"y\":null,\"x\":true}],\"z\":0},"
	          "\"a\":false}",
	          "a26161f46162a2617a00627a7a8201a26178f56179f6");
}

static void
test_refusals(void)
{
	JSON_CBOR("{\"a\":1,\"a\":2}",
	          "CM_EPROTO: JSON: duplicate key \"a\" (line 1, column 10)");
	JSON_CBOR("{\"x\":{\"b\":1,\"b\":2}}",
	          "CM_EPROTO: JSON: duplicate key \"b\" (line 1, column 15)");
	JSON_CBOR("[1.5]", "CM_EPROTO: JSON: number with fraction or exponent "
	                   "not allowed: 1.5 (line 1, column 2)");
	JSON_CBOR("{\"a\":\n 1.0}", "CM_EPROTO: JSON: number with fraction "
	                            "or exponent not allowed: 1.0 (line 2, "
	                            "column 2)");
	JSON_CBOR("1e3", "CM_EPROTO: JSON: number with fraction or exponent "
	                 "not allowed: 1e3 (line 1, column 1)");
	JSON_CBOR("[-2E-1]", "CM_EPROTO: JSON: number with fraction or "
	                     "exponent not allowed: -2E-1 (line 1, column 2)");
	JSON_CBOR("1e400", "CM_EPROTO: JSON: number with fraction or exponent "
	                   "not allowed: 1e400 (line 1, column 1)");
	/* An integer is named where it starts, as reals are. */
	JSON_CBOR("9223372036854775808",
	          "CM_EPROTO: JSON: integer does not fit int64: "
	          "9223372036854775808 (line 1, column 1)");
	JSON_CBOR("[-9223372036854775809]",
	          "CM_EPROTO: JSON: integer does not fit int64: "
	          "-9223372036854775809 (line 1, column 2)");
	/* Past jansson's 20-byte quote, the token is still named (it was
	 * printed empty); past 40 digits, its start and its length. */
	JSON_CBOR("[1, 99999999999999999999999]",
	          "CM_EPROTO: JSON: integer does not fit int64: "
	          "99999999999999999999999 (line 1, column 5)");
	JSON_CBOR("{\"a\":\n -1000000000000000000000000000000000000000000}",
	          "CM_EPROTO: JSON: integer does not fit int64: "
	          "-1000000000000000000... (43 digits) (line 2, column 2)");
	JSON_CBOR("{\"a-9223372036854775808\":9223372036854775808}",
	          "CM_EPROTO: JSON: integer does not fit int64: "
	          "9223372036854775808 (line 1, column 26)");
	/* A duplicate key past 20 bytes is named too, escapes and all. */
	JSON_CBOR("{\"aaaaaaaaaaaaaaaaaaaaaaa\\\"\":1,"
	          "\"aaaaaaaaaaaaaaaaaaaaaaa\\\"\":2}",
	          "CM_EPROTO: JSON: duplicate key "
	          "\"aaaaaaaaaaaaaaaaaaaaaaa\\\"\" (line 1, column 58)");
	JSON_CBOR("\"\xff\"",
	          "CM_EPROTO: JSON: invalid UTF-8 (line 1, column 1)");
	JSON_CBOR("\"\xc0\xaf\"",
	          "CM_EPROTO: JSON: invalid UTF-8 (line 1, column 1)");
	JSON_CBOR("\"\\udc00\"", "CM_EPROTO: JSON: invalid Unicode '\\uDC00' "
	                         "near '\"\\udc00\"' (line 1, column 8)");
	JSON_CBOR("\"a\\u0000\"", "CM_EPROTO: JSON: \\u0000 in string not "
	                          "allowed (line 1, column 9)");
	JSON_CBOR("{\"\\u0000\":1}", "CM_EPROTO: JSON: \\u0000 in string not "
	                             "allowed (line 1, column 9)");
	JSON_CBOR("[1] x", "CM_EPROTO: JSON: trailing garbage after the value "
	                   "(line 1, column 5)");
	JSON_CBOR("{} {}", "CM_EPROTO: JSON: trailing garbage after the value "
	                   "(line 1, column 4)");
	JSON_CBOR("", "CM_EPROTO: JSON: unexpected token near end of file "
	              "(line 1, column 0)");
	JSON_CBOR("[1,", "CM_EPROTO: JSON: ']' expected near end of file "
	                 "(line 1, column 3)");
}

static void
test_depth(void)
{
	char deep[64];

	/* 16 nested arrays are fine, 17 are not. */
	memset(deep, '[', 16);
	memset(deep + 16, ']', 16);
	deep[32] = '\0';
	JSON_CBOR(deep, "818181818181818181818181818181"
	                "80");
	memset(deep, '[', 17);
	memset(deep + 17, ']', 17);
	deep[34] = '\0';
	JSON_CBOR(deep, "CM_EPROTO: JSON: nesting deeper than 16");
	/* And for objects: 17 levels of {"a": ...}. */
	{
		cm_buf j = {0};

		for (int i = 0; i < 17; i++)
			TST_OK(cm_buf_printf(&j, "{\"a\":"));
		TST_OK(cm_buf_printf(&j, "1"));
		for (int i = 0; i < 17; i++)
			TST_OK(cm_buf_printf(&j, "}"));
		JSON_CBOR((const char *) j.p,
		          "CM_EPROTO: JSON: nesting deeper than 16");
		cm_buf_fini(&j);
	}
}

static void
test_cbor_to_json(void)
{
	CBOR_JSON("a3616102616303626262"
	          "01",
	          "{\"a\":2,\"c\":3,\"bb\":1}");
	CBOR_JSON("8501206161f6a0", "[1,-1,\"a\",null,{}]");
	CBOR_JSON("4400ff10ab", "\"00ff10ab\"");
	CBOR_JSON("40", "\"\"");
	CBOR_JSON("83f4f5f6", "[false,true,null]");
	CBOR_JSON("63e282ac", "\"\xe2\x82\xac\"");
	CBOR_JSON("6322"
	          "0a"
	          "5c",
	          "\"\\\"\\n\\\\\"");
	CBOR_JSON("6101", "\"\\u0001\"");
	CBOR_JSON("3b7fffffffffffffff", "-9223372036854775808");
	CBOR_JSON("1b7fffffffffffffff", "9223372036854775807");
	CBOR_JSON("a16161a1616280", "{\"a\":{\"b\":[]}}");
	/* Beyond int64 has no jansson integer. */
	CBOR_JSON("1b8000000000000000",
	          "CM_ETOOBIG: CBOR: integer at offset 0 does not fit int64");
	/* Not canonical: refused with the checker's reason. */
	CBOR_JSON("a2616201616102", "CM_ENONCANON: non-canonical: map keys "
	                            "out of order at offset 4");
	CBOR_JSON("f93c00", "CM_ENONCANON: non-canonical: float at offset 0");
	CBOR_JSON("", "CM_EPROTO: truncated: item expected at offset 0");
}

static void
test_round_trip(void)
{
	static const char *const docs[] = {
	    "{\"a\":2,\"c\":3,\"bb\":1}", "[1,-1,\"x\",null,true,false,{},[]]",
	    ("{\"n\":-9223372036854775808,\"id\":\"urn:epc:id:sgtin:0614141."
	     "107346.2017\"}"),
	    "\"\xe2\x82\xac\"", "0"};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cm_buf cbor = {0}, json = {0};

		TST_OK(cm_json_to_cbor(CM_BYTES(docs[i], strlen(docs[i])),
		                       &cbor, NULL));
		TST_OK(cm_cbor_check(cm_buf_bytes(&cbor), NULL));
		TST_OK(cm_cbor_to_json(cm_buf_bytes(&cbor), &json, NULL));
		TST_EQ_STR((const char *) json.p, docs[i]);
		TST_EQ_U(strlen((const char *) json.p), json.len);
		cm_buf_fini(&cbor);
		cm_buf_fini(&json);
	}
}

static void
test_appends(void)
{
	cm_buf out = {0};

	TST_OK(cm_buf_append(&out, "\x01", 1));
	TST_OK(cm_json_to_cbor(CM_BYTES("[]", 2), &out, NULL));
	TST_EQ_U(out.len, 2);
	TST_EQ_MEM(out.p, "\x01\x80", 2);
	/* A failure leaves out as it was. */
	TST_ERR(cm_json_to_cbor(CM_BYTES("[1.5]", 5), &out, NULL), CM_EPROTO);
	TST_ERR(
	    cm_json_to_cbor(CM_BYTES("[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]", 35),
	                    &out, NULL),
	    CM_EPROTO);
	TST_EQ_U(out.len, 2);
	cm_buf_fini(&out);
}

static void
test_walk(void)
{
	static const char text[] = "{\"name\":\"lot 7\",\"qty\":12.5,\"n\":-3,"
	                           "\"tags\":[\"a\",\"b\"],\"o\":{}}";
	cm_json          *j = NULL;
	cm_diag           d = {{0}};
	const char       *s;
	size_t            len = 0;
	int64_t           v = 0;
	cm_buf            cbor = {0};

	TST_OK(cm_json_parse(CM_BYTES(text, strlen(text)), &j, &d));
	TST_TRUE(cm_json_is_object(j));
	TST_TRUE(!cm_json_is_array(j));
	TST_EQ_U(cm_json_len(j), 5);
	s = cm_json_str(cm_json_get(j, "name"), &len);
	TST_EQ_STR(s, "lot 7");
	TST_EQ_U(len, 5);
	TST_TRUE(cm_json_int(cm_json_get(j, "n"), &v));
	TST_TRUE(v == -3);
	/* A real is no integer, but walking may see it. */
	TST_TRUE(cm_json_get(j, "qty") != NULL);
	TST_TRUE(!cm_json_int(cm_json_get(j, "qty"), &v));
	TST_TRUE(cm_json_is_array(cm_json_get(j, "tags")));
	TST_EQ_U(cm_json_len(cm_json_get(j, "tags")), 2);
	TST_EQ_STR(cm_json_str(cm_json_at(cm_json_get(j, "tags"), 1), NULL),
	           "b");
	TST_TRUE(cm_json_at(cm_json_get(j, "tags"), 2) == NULL);
	TST_TRUE(cm_json_get(j, "missing") == NULL);
	TST_TRUE(cm_json_get(NULL, "x") == NULL);
	TST_TRUE(cm_json_str(cm_json_get(j, "n"), NULL) == NULL);
	TST_EQ_U(cm_json_len(cm_json_get(j, "n")), 0);
	TST_EQ_U(cm_json_len(NULL), 0);
	/* Members in document order. */
	{
		static const char *const keys[] = {"name", "qty", "n", "tags",
		                                   "o"};
		cm_json                 *val = NULL;

		for (size_t i = 0; i < 5; i++) {
			size_t klen = 99;

			TST_EQ_STR(cm_json_key_at(j, i, &val, &klen), keys[i]);
			TST_EQ_U(klen, strlen(keys[i]));
			TST_TRUE(val == cm_json_get(j, keys[i]));
		}
		TST_TRUE(cm_json_key_at(j, 5, &val, NULL) == NULL);
		TST_TRUE(val == NULL);
		TST_TRUE(cm_json_key_at(cm_json_get(j, "tags"), 0, &val,
		                        NULL) == NULL);
		TST_TRUE(cm_json_key_at(NULL, 0, NULL, NULL) == NULL);
	}
	/* Encoding applies the strict rules: the real is refused. */
	TST_ERR(cm_json_encode_cbor(j, &cbor, &d), CM_EPROTO);
	TST_EQ_STR(d.msg,
	           "JSON: number with fraction or exponent not allowed: 12.5");
	TST_OK(cm_json_encode_cbor(cm_json_get(j, "tags"), &cbor, NULL));
	TST_EQ_U(cbor.len, 5);
	TST_EQ_MEM(cbor.p, "\x82\x61\x61\x61\x62", 5);
	cm_json_free(j);
	cm_json_free(NULL);
	/* Parse refuses duplicates too, and reports where. */
	cm_diag_clear(&d);
	TST_ERR(cm_json_parse(CM_BYTES("{\"k\":1,\n\"k\":2}", 14), &j, &d),
	        CM_EPROTO);
	TST_TRUE(j == NULL);
	TST_EQ_STR(d.msg, "JSON: duplicate key \"k\" (line 2, column 3)");
	cm_buf_fini(&cbor);
}

TST_MAIN(TST_CASE(test_scalars), TST_CASE(test_key_sorting),
         TST_CASE(test_refusals), TST_CASE(test_depth),
         TST_CASE(test_cbor_to_json), TST_CASE(test_round_trip),
         TST_CASE(test_appends), TST_CASE(test_walk))
