/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_import_test.c -- the credit.import manifest: encode
 * then decode gives it back, canonical; a range that does not fit its
 * rows is refused with the reason. */
#include "credit/crd.h"
#include "tests/tst.h"

static void
round_trip(void)
{
	crd_import m, back;
	cm_buf     b = {0};
	cm_diag    d;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < CM_HASH_LEN; i++)
		m.sha[i] = (uint8_t) i;
	m.rows = 3;
	m.first = 8;
	m.last = 10;
	cm_diag_clear(&d);
	TST_OK(crd_import_encode(&m, &b));
	TST_OK(cm_cbor_check(cm_buf_bytes(&b), &d));
	TST_OK(crd_import_decode(cm_buf_bytes(&b), &back, &d));
	TST_TRUE(memcmp(&m, &back, sizeof(m)) == 0);
	cm_buf_fini(&b);
}

static void
ranges(void)
{
	static const struct {
		uint64_t rows, first, last;
		bool     ok;
	} c[] = {{0, 0, 0, true},  {0, 1, 1, false}, {2, 0, 0, false},
	         {2, 5, 4, false}, {2, 5, 5, true},  {1, 0, 3, false}};
	cm_diag d;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		crd_import m, back;
		cm_buf     b = {0};

		memset(&m, 0, sizeof(m));
		m.rows = c[i].rows;
		m.first = c[i].first;
		m.last = c[i].last;
		cm_diag_clear(&d);
		TST_OK(crd_import_encode(&m, &b));
		TST_ERR(crd_import_decode(cm_buf_bytes(&b), &back, &d),
		        c[i].ok ? CM_OK : CM_EPROTO);
		if (!c[i].ok)
			TST_EQ_STR(d.msg, "credit.import: first..last must be "
			                  "the leaves of the rows (0..0 for "
			                  "none)");
		cm_buf_fini(&b);
	}
}

TST_MAIN(TST_CASE(round_trip), TST_CASE(ranges))
