/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_crd_calendar.c -- crd_calendar_decode on arbitrary bytes.
 * Oracle: a refusal carries a reason; an accepted calendar encodes to
 * canonical text that parses to the same struct and encodes to the same
 * bytes (parse -> encode -> parse; encode is a fixed point). */
#include "credit/crd.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	crd_calendar *c = NULL, *again = NULL;
	cm_buf        e1 = {0}, e2 = {0};
	cm_diag       d;

	cm_diag_clear(&d);
	if (crd_calendar_decode(CM_BYTES(data, size), &c, &d) != CM_OK) {
		if (d.msg[0] == '\0' || c != NULL)
			abort();
		return (0);
	}
	if (crd_calendar_encode(c, &e1) != CM_OK ||
	    crd_calendar_decode(cm_buf_bytes(&e1), &again, &d) != CM_OK ||
	    memcmp(c, again, sizeof(*c)) != 0 ||
	    crd_calendar_encode(again, &e2) != CM_OK || e1.len != e2.len ||
	    memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	crd_calendar_free(c);
	crd_calendar_free(again);
	cm_buf_fini(&e1);
	cm_buf_fini(&e2);
	return (0);
}
