/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_adopt_test.c -- the credit.catalogue and
 * credit.scorecard kinds' decode: a record crd_record_build makes is
 * accepted; one whose text is not canonical, does not parse, or whose
 * sha256, version or effective date are not the text's is refused with the
 * reason.  (Who may write, versions and the scorecard check need a ledger:
 * tests/integration/test_credit.py.) */
#include "credit/crd.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

static const ldg_kind *
kind(bool scorecard)
{
	return (&crd_module.kinds[scorecard ? 1 : 0]);
}

/* A record with the given fields (sha NULL: the text's own hash). */
static void
record(const char *kindname, cm_bytes text, const uint8_t *sha,
       uint64_t version, const char *eff, cm_buf *out)
{
	uint8_t    h[CM_HASH_LEN];
	cm_cbor_wr w;
	cm_diag    d;

	cm_sha256(text.p, text.len, h);
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 6);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, kindname);
	cm_cbor_wr_cstr(&w, "text");
	cm_cbor_wr_text(&w, text);
	cm_cbor_wr_cstr(&w, "sha256");
	cm_cbor_wr_bytes(&w, CM_BYTES(sha != NULL ? sha : h, CM_HASH_LEN));
	cm_cbor_wr_cstr(&w, "version");
	cm_cbor_wr_uint(&w, version);
	cm_cbor_wr_cstr(&w, "effective");
	cm_cbor_wr_cstr(&w, eff);
	TST_OK(cm_cbor_wr_finish(&w, &d));
}

static cm_err
decode(bool scorecard, cm_bytes rec, cm_diag *d)
{
	cm_cbor_map m;
	uint8_t     out[LDG_DECODED_MAX];
	cm_err      rv;

	cm_diag_clear(d);
	if ((rv = cm_cbor_check_map(rec, &m, d)) != CM_OK)
		return (rv);
	TST_TRUE(kind(scorecard)->decoded_size <= sizeof(out));
	return (kind(scorecard)->decode(&m, out, d));
}

static void
test_built_records_decode(void)
{
	static const char *const files[] = {"credit/data/default.catalogue",
	                                    "credit/data/default.scorecard",
	                                    "credit/data/public.scorecard"};

	TST_EQ_STR(kind(false)->name, CRD_KIND_CATALOGUE);
	TST_EQ_STR(kind(true)->name, CRD_KIND_SCORECARD);
	for (size_t i = 0; i < 3; i++) {
		cm_buf  text = {0}, rec = {0};
		cm_diag d;

		TST_TRUE(tst_file_read(files[i], &text));
		cm_diag_clear(&d);
		TST_OK(crd_record_build(i > 0, cm_buf_bytes(&text), &rec, &d));
		TST_OK(decode(i > 0, cm_buf_bytes(&rec), &d));
		/* The other kind refuses it: its text is the wrong format. */
		TST_ERR(decode(i == 0, cm_buf_bytes(&rec), &d), CM_EPROTO);
		cm_buf_fini(&text);
		cm_buf_fini(&rec);
	}
}

static void
test_refusals(void)
{
	static const char canon[] =
	    "format tally-credit-scorecard 1\nversion 3\neffective "
	    "2026-02-01\nscope full\nrange 0 10\nbase 5\ndispute exclude\n"
	    "grade A 0\n";
	static const char spaced[] =
	    "format tally-credit-scorecard 1\nversion 3\neffective "
	    "2026-02-01\nscope full\nrange 0  10\nbase 5\ndispute exclude\n"
	    "grade A 0\n";
	static const uint8_t zero[CM_HASH_LEN];
	const cm_bytes       c = CM_BYTES(canon, sizeof(canon) - 1);
	cm_buf               rec = {0};
	cm_diag              d;

	record(CRD_KIND_SCORECARD, c, NULL, 3, "2026-02-01", &rec);
	TST_OK(decode(true, cm_buf_bytes(&rec), &d));
	cm_buf_reset(&rec);
	record(CRD_KIND_SCORECARD, CM_BYTES(spaced, sizeof(spaced) - 1), NULL,
	       3, "2026-02-01", &rec);
	TST_ERR(decode(true, cm_buf_bytes(&rec), &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "credit.scorecard: text is not canonical");
	cm_buf_reset(&rec);
	record(CRD_KIND_SCORECARD, c, zero, 3, "2026-02-01", &rec);
	TST_ERR(decode(true, cm_buf_bytes(&rec), &d), CM_EPROTO);
	TST_EQ_STR(d.msg,
	           "credit.scorecard: sha256 is not the SHA-256 of the text");
	cm_buf_reset(&rec);
	record(CRD_KIND_SCORECARD, c, NULL, 4, "2026-02-01", &rec);
	TST_ERR(decode(true, cm_buf_bytes(&rec), &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "credit.scorecard: version 4 differs from the "
	                  "text's 3");
	cm_buf_reset(&rec);
	record(CRD_KIND_SCORECARD, c, NULL, 3, "2026-02-02", &rec);
	TST_ERR(decode(true, cm_buf_bytes(&rec), &d), CM_EPROTO);
	TST_EQ_STR(d.msg,
	           "credit.scorecard: effective differs from the text's");
	cm_buf_reset(&rec);
	record(CRD_KIND_SCORECARD, CM_BYTES("version 1\n", 10), NULL, 1,
	       "2026-02-01", &rec);
	TST_ERR(decode(true, cm_buf_bytes(&rec), &d), CM_EPROTO);
	TST_EQ_STR(d.msg, "credit.scorecard: text: line 1 col 1: expected "
	                  "'format' here");
	cm_buf_fini(&rec);
}

TST_MAIN(TST_CASE(test_built_records_decode), TST_CASE(test_refusals))
