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
	/* NUL is a valid code point here; Tally text refuses it. */
	TST_TRUE(cm_utf8_valid((const uint8_t *) "a\0b", 3));
	TST_TRUE(cm_utf8_valid(NULL, 0));
	TST_TRUE(!cm_text_valid((const uint8_t *) "a\0b", 3));
	TST_TRUE(!cm_text_valid((const uint8_t *) "\0", 1));
	TST_TRUE(!cm_text_valid((const uint8_t *) "tax\0.x", 6));
	TST_TRUE(!cm_text_valid((const uint8_t *) "\xc3\xa9\0", 3));
	TST_TRUE(!cm_text_valid((const uint8_t *) "\xc0\x80", 2));
	TST_TRUE(cm_text_valid((const uint8_t *) "a\xc3\xa9\x01", 4));
	TST_TRUE(cm_text_valid(NULL, 0));
}

/* fn on an exact-size heap copy of s, so that ASan catches a word load
 * that reads past len. */
static bool
heap_check(bool (*fn)(const uint8_t *, size_t), const void *s, size_t len)
{
	uint8_t *p = cm_malloc(len);
	bool     ok;

	if (p == NULL)
		return (false);
	memcpy(p, s, len);
	ok = fn(p, len);
	cm_free(p);
	return (ok);
}

static bool
utf8_heap(const void *s, size_t len)
{
	return (heap_check(cm_utf8_valid, s, len));
}

static bool
text_heap(const void *s, size_t len)
{
	return (heap_check(cm_text_valid, s, len));
}

/* The reference: decode each code point bit by bit and check it against
 * RFC 3629 (the shortest form, no surrogates, at most U+10FFFF). */
static bool
utf8_ref(const uint8_t *s, size_t len)
{
	static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
	size_t                i = 0;

	while (i < len) {
		size_t   n = 0;
		uint32_t cp;

		while (n < 5 && (s[i] & (0x80 >> n)) != 0)
			n++;
		if (n == 1 || n > 4 || len - i < (n == 0 ? 1 : n))
			return (false);
		if (n == 0) {
			i++;
			continue;
		}
		cp = s[i] & (0x7F >> n);
		for (size_t j = 1; j < n; j++) {
			if ((s[i + j] >> 6) != 2)
				return (false);
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (cp < min[n - 1] || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp < 0xE000))
			return (false);
		i += n;
	}
	return (true);
}

/* The ASCII fast path reads 8 (or 4) bytes at a time: sequences that
 * straddle its word boundaries, and non-ASCII bytes in every position. */
static void
test_utf8_words(void)
{
	static const struct {
		const char *seq;
		bool        ok;
	} seqs[] = {
	    {"\xc2\x80", true},          {"\xdf\xbf", true},
	    {"\xc3\xa9", true},          {"\xe0\xa0\x80", true},
	    {"\xe4\xb8\xad", true},      {"\xed\x9f\xbf", true},
	    {"\xee\x80\x80", true},      {"\xef\xbf\xbf", true},
	    {"\xf0\x90\x80\x80", true},  {"\xf0\x9f\x98\x80", true},
	    {"\xf4\x8f\xbf\xbf", true},  {"\xc0\x80", false},
	    {"\xc1\xbf", false},         {"\xe0\x9f\xbf", false},
	    {"\xed\xa0\x80", false},     {"\xed\xbf\xbf", false},
	    {"\xf0\x8f\xbf\xbf", false}, {"\xf4\x90\x80\x80", false},
	    {"\xf5\x80\x80\x80", false}, {"\xf8\x88\x80\x80", false},
	    {"\xe4\xb8\x61", false},     {"\xe4\x61\x62", false},
	    {"\x80\x80", false},         {"\xf0\x9f\x98\x61", false},
	};
	uint8_t buf[24];

	/* One non-ASCII byte is never a whole sequence, wherever it is: every
	 * position 0..16 of a 17-byte string, and of each shorter one (the
	 * 4-byte and 3-byte paths).  Nor is one 0x00 text, though it is
	 * UTF-8: alone among ASCII, and after a two-byte sequence (the slow
	 * path's runs). */
	for (size_t n = 1; n <= 17; n++) {
		for (size_t k = 0; k < n; k++) {
			for (unsigned b = 0x7f; b <= 0xff; b++) {
				memset(buf, 'a', n);
				buf[k] = (uint8_t) b;
				TST_TRUE(utf8_heap(buf, n) == (b == 0x7f));
				TST_TRUE(text_heap(buf, n) == (b == 0x7f));
			}
			memset(buf, 'a', n);
			buf[k] = 0;
			TST_TRUE(utf8_heap(buf, n));
			TST_TRUE(!text_heap(buf, n));
			buf[k] = 1;
			TST_TRUE(text_heap(buf, n));
			memset(buf, 'a', sizeof(buf));
			memcpy(buf, "\xc3\xa9", 2);
			buf[2 + k] = 0;
			TST_TRUE(utf8_heap(buf, 2 + n));
			TST_TRUE(!text_heap(buf, 2 + n));
		}
	}
	/* Each sequence at every offset of a 24-byte string: across the
	 * boundaries at 8 and 16, and in the overlapping last word. */
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		size_t n = strlen(seqs[i].seq);

		for (size_t k = 0; k + n <= sizeof(buf); k++) {
			memset(buf, 'a', sizeof(buf));
			memcpy(buf + k, seqs[i].seq, n);
			TST_TRUE(utf8_heap(buf, sizeof(buf)) == seqs[i].ok);
			/* Cut short by one byte at the end of the string. */
			if (n > 1 && seqs[i].ok)
				TST_TRUE(!utf8_heap(buf, k + n - 1));
			TST_TRUE(utf8_heap(buf, k + n) == seqs[i].ok);
		}
	}
	/* All-ASCII strings of every length up to three words, then with
	 * the last byte made non-ASCII. */
	for (size_t n = 0; n <= sizeof(buf); n++) {
		memset(buf, 0x7f, sizeof(buf));
		TST_TRUE(utf8_heap(buf, n));
		if (n > 0) {
			buf[n - 1] = 0xc3;
			TST_TRUE(!utf8_heap(buf, n));
		}
	}
}

/* Random strings of ASCII, valid and invalid sequences: the fast path
 * agrees with the reference decoder on every one. */
static void
test_utf8_random(void)
{
	static const char *const pieces[] = {"a",
	                                     "0123456",
	                                     "\x7f",
	                                     "\0",
	                                     "\xc3\xa9",
	                                     "\xe4\xb8\xad",
	                                     "\xf0\x9f\x98\x80",
	                                     "\xed\x9f\xbf",
	                                     "\xed\xa0\x80",
	                                     "\xc0\x80",
	                                     "\xf4\x90\x80\x80",
	                                     "\x80",
	                                     "\xe4\xb8",
	                                     "\xff",
	                                     "\xf4\x8f\xbf\xbf",
	                                     "\xe0\x9f\xbf"};
	uint64_t                 st = 88172645463325252ULL;
	uint8_t                  buf[64];
	size_t                   nvalid = 0, ntext = 0;

	for (int t = 0; t < 100000; t++) {
		size_t len = 0;

		for (size_t k = (st >> 60); k > 0; k--) {
			const char *p;
			size_t      n;

			st ^= st << 13, st ^= st >> 7, st ^= st << 17;
			/* Mostly ASCII and valid pieces, as in real text. */
			p = pieces[st % 4 == 0 ? (st >> 8) % 16
			                       : (st >> 8) % 7];
			n = p[0] == '\0' ? 1 : strlen(p);
			if (len + n > sizeof(buf))
				break;
			memcpy(buf + len, p, n);
			len += n;
		}
		st ^= st << 13, st ^= st >> 7, st ^= st << 17;
		if (st % 5 == 0 && len > 0)
			len = (size_t) (st >> 8) % len; /* cut anywhere */
		nvalid += utf8_ref(buf, len);
		TST_TRUE(utf8_heap(buf, len) == utf8_ref(buf, len));
		ntext += utf8_ref(buf, len) && memchr(buf, 0, len) == NULL;
		TST_TRUE(text_heap(buf, len) ==
		         (utf8_ref(buf, len) && memchr(buf, 0, len) == NULL));
	}
	/* Both outcomes are well represented. */
	TST_TRUE(nvalid > 20000 && nvalid < 80000);
	TST_TRUE(ntext > 10000 && ntext < nvalid);
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
         TST_CASE(test_utf8), TST_CASE(test_utf8_words),
         TST_CASE(test_utf8_random), TST_CASE(test_dates), TST_CASE(test_be))
