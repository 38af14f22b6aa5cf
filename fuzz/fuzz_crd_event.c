/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_crd_event.c -- the decoders of credit.event, credit.revoke and
 * credit.confirm records on arbitrary bytes (after the canonical CBOR check
 * every record passes first).  Oracle: a refusal carries a reason; an
 * accepted credit.event without refs encodes back (crd_event_encode) to
 * exactly its input, so the decoder reads every member it accepts and the
 * encoder writes the one canonical form. */
#include "credit/crd_impl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cm_err (*const dec[3])(const cm_cbor_map *, void *,
	                              cm_diag *) = {
	    crd_ev_decode, crd_rv_decode, crd_cf_decode};
	cm_cbor_map m;
	crd_ev_rec  r;
	crd_event   e;
	cm_buf      out = {0};
	cm_diag     d;

	cm_diag_clear(&d);
	if (cm_cbor_check_map(CM_BYTES(data, size), &m, &d) != CM_OK)
		return (0);
	for (int k = 0; k < 3; k++) {
		bool refs = false; /* or another kind: no oracle */

		cm_diag_clear(&d);
		if (dec[k](&m, &r, &d) != CM_OK) {
			if (d.msg[0] == '\0')
				abort();
			continue;
		}
		if (k != 0)
			continue;
		/* The ledger picks the decoder by "kind"; the oracle holds
		 * for the records it would hand this one. */
		for (size_t i = 0; i < m.n; i++) {
			refs |= cm_bytes_eq_str(m.key[i], "refs");
			if (cm_bytes_eq_str(m.key[i], "kind") &&
			    !cm_bytes_eq(m.val[i],
			                 CM_BYTES("\x6c" CRD_KIND_EVENT, 13)))
				refs = true;
		}
		if (refs)
			continue;
		if (crd_ev_event(&r, &e, &d) != CM_OK ||
		    crd_event_encode(&e, &out, &d) != CM_OK ||
		    out.len != size || memcmp(out.p, data, size) != 0)
			abort();
		cm_buf_fini(&out);
	}
	return (0);
}
