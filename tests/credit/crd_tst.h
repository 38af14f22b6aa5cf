/* SPDX-License-Identifier: MIT */
/* tests/credit/crd_tst.h -- what the credit tests share: a table of texts
 * a parser must refuse, each with the exact message, run through one
 * decode wrapper (which must leave its output NULL on refusal). */
#ifndef TESTS_CREDIT_CRD_TST_H
#define TESTS_CREDIT_CRD_TST_H

#include "credit/crd.h"
#include "tests/tst.h"

typedef struct refusal {
	const char *text;
	const char *msg;
} refusal;

/* Decodes text; true if the output stayed NULL (frees it otherwise). */
typedef cm_err (*crd_tst_decode)(cm_bytes text, bool *out_null, cm_diag *d);

static inline void
crd_tst_refusals(const refusal *r, size_t n, crd_tst_decode decode, cm_err want)
{
	for (size_t i = 0; i < n; i++) {
		cm_diag d;
		bool    null = false;

		cm_diag_clear(&d);
		TST_ERR(
		    decode(CM_BYTES(r[i].text, strlen(r[i].text)), &null, &d),
		    want);
		TST_TRUE(null);
		if (strcmp(d.msg, r[i].msg) != 0) {
			fprintf(stderr,
			        "case %zu: got \"%s\"\n   want \"%s\"\n", i,
			        d.msg, r[i].msg);
			TST_TRUE(0);
		}
	}
}

#endif /* TESTS_CREDIT_CRD_TST_H */
