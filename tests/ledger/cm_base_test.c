/* SPDX-License-Identifier: MIT */
/* tests/ledger/cm_base_test.c -- errors, buffers, hex, base64, UTF-8, dates. */
#include "tests/tst.h"

static void
test_errors(void)
{
	TST_EQ_STR(cm_strerror(CM_ESEQCONFLICT), "sequence conflict");
	TST_EQ_STR(cm_errname(CM_EPROTO), "CM_EPROTO");
	TST_EQ_STR(cm_strerror((cm_err) 9999), "unknown error");
}

static void
test_diag_keeps_first(void)
{
	cm_diag d;

	cm_diag_clear(&d);
	TST_ERR(cm_fail(&d, CM_EPROTO, "inner %d", 1), CM_EPROTO);
	cm_diag_set(&d, "outer");
	TST_EQ_STR(d.msg, "inner 1");
	TST_ERR(cm_fail(NULL, CM_EIO, "x"), CM_EIO);
}

static void
test_buf(void)
{
	cm_buf b = {0};

	for (int i = 0; i < 1000; i++)
		TST_OK(cm_buf_append_byte(&b, (uint8_t) i));
	TST_EQ_U(b.len, 1000);
	TST_EQ_U(b.p[999], 999 & 255);
	TST_OK(cm_buf_printf(&b, "%s-%d", "x", 42));
	TST_EQ_U(b.len, 1004);
	TST_EQ_STR((char *) b.p + 1000, "x-42");
	cm_buf_fini(&b);
	cm_buf_fini(&b); /* second fini is a no-op */
	TST_TRUE(b.p == NULL);
}

static void
test_hex(void)
{
	cm_buf b = {0};

	TST_OK(cm_hex_encode(&b, CM_BYTES("\x00\xab\xff", 3)));
	TST_EQ_STR((char *) b.p, "00abff");
	cm_buf_reset(&b);
	TST_OK(cm_hex_decode(&b, "00ABff", 6));
	TST_EQ_U(b.len, 3);
	TST_EQ_MEM(b.p, "\x00\xab\xff", 3);
	cm_buf_reset(&b);
	TST_ERR(cm_hex_decode(&b, "abc", 3), CM_EPROTO);
	TST_ERR(cm_hex_decode(&b, "zz", 2), CM_EPROTO);
	TST_EQ_U(b.len, 0);
	cm_buf_fini(&b);
}

static void
test_b64(void)
{
	static const struct {
		const char *raw, *enc;
	} v[] = {{"", ""},
	         {"f", "Zg=="},
	         {"fo", "Zm8="},
	         {"foo", "Zm9v"},
	         {"foob", "Zm9vYg=="},
	         {"fooba", "Zm9vYmE="},
	         {"foobar", "Zm9vYmFy"}};
	cm_buf b = {0};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cm_buf_reset(&b);
		TST_OK(cm_b64_encode(&b, CM_BYTES(v[i].raw, strlen(v[i].raw))));
		TST_EQ_STR((char *) b.p, v[i].enc);
		cm_buf_reset(&b);
		TST_OK(cm_b64_decode(&b, v[i].enc, strlen(v[i].enc)));
		TST_TRUE(cm_bytes_eq(cm_buf_bytes(&b),
		                     CM_BYTES(v[i].raw, strlen(v[i].raw))));
	}
	/* Non-zero unused bits, bad padding, wrong length, bad characters. */
	TST_ERR(cm_b64_decode(&b, "Zh==", 4), CM_EPROTO);
	TST_ERR(cm_b64_decode(&b, "Zm9=", 4), CM_EPROTO);
	TST_ERR(cm_b64_decode(&b, "Zg=", 3), CM_EPROTO);
	TST_ERR(cm_b64_decode(&b, "Z===", 4), CM_EPROTO);
	TST_ERR(cm_b64_decode(&b, "Zg==Zg==", 8), CM_EPROTO);
	TST_ERR(cm_b64_decode(&b, "Zm 9", 4), CM_EPROTO);
	TST_ERR(cm_b64_decode(&b, "Zm-_", 4), CM_EPROTO);
	cm_buf_fini(&b);
}

static void
test_utf8(void)
{
	TST_TRUE(cm_utf8_valid((const uint8_t *) "a\xc3\xa9\xe4\xb8\xad", 6));
	TST_TRUE(cm_utf8_valid((const uint8_t *) "\xf0\x9f\x98\x80", 4));
	TST_TRUE(
	    !cm_utf8_valid((const uint8_t *) "\xc0\x80", 2)); /* overlong */
	TST_TRUE(!cm_utf8_valid((const uint8_t *) "\xed\xa0\x80",
	                        3)); /* surrogate */
	TST_TRUE(!cm_utf8_valid((const uint8_t *) "\xf4\x90\x80\x80", 4));
	TST_TRUE(
	    !cm_utf8_valid((const uint8_t *) "\xe4\xb8", 2)); /* truncated */
	TST_TRUE(!cm_utf8_valid((const uint8_t *) "\xff", 1));
}

static void
test_dates(void)
{
	uint64_t ms = 0;

	/* 2026-01-01 00:00 in Shanghai is 2025-12-31T16:00:00Z. */
	TST_OK(cm_date_parse("2026-01-01", &ms));
	TST_EQ_U(ms, 1767196800000ULL);
	TST_OK(cm_date_parse("2024-02-29T08:00:00", &ms));
	TST_EQ_U(ms, 1709164800000ULL);
	TST_ERR(cm_date_parse("2023-02-29", &ms), CM_EPROTO);
	TST_ERR(cm_date_parse("2026-13-01", &ms), CM_EPROTO);
	TST_ERR(cm_date_parse("2026-1-01", &ms), CM_EPROTO);
	TST_ERR(cm_date_parse("1970-01-01", &ms), CM_EPROTO); /* before epoch */
}

static void
test_be(void)
{
	uint8_t b[8];

	cm_put_u64be(b, 0x0102030405060708ULL);
	TST_EQ_MEM(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	TST_EQ_U(cm_get_u64be(b), 0x0102030405060708ULL);
	cm_put_u32be(b, 0xdeadbeef);
	TST_EQ_U(cm_get_u32be(b), 0xdeadbeef);
}

TST_MAIN(TST_CASE(test_errors), TST_CASE(test_diag_keeps_first),
         TST_CASE(test_buf), TST_CASE(test_hex), TST_CASE(test_b64),
         TST_CASE(test_utf8), TST_CASE(test_dates), TST_CASE(test_be))
