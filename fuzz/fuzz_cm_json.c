/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_cm_json.c -- cm_json_to_cbor on arbitrary text.  Oracle: what
 * it accepts is canonical CBOR, and CBOR -> JSON -> CBOR gives the same
 * bytes (JSON never yields byte strings, so no hex ambiguity arises).  Also
 * walks the input through cm_json_parse. */
#include "ledger/cm.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cm_buf   cbor = {0}, json = {0}, again = {0}, enc = {0};
	cm_json *j = NULL;
	cm_diag  d = {{0}};
	cm_err   rv;

	rv = cm_json_to_cbor(CM_BYTES(data, size), &cbor, &d);
	if (rv != CM_OK) {
		if (rv != CM_EPROTO || d.msg[0] == 0 || cbor.len != 0)
			abort();
		goto walk;
	}
	if (cm_cbor_check(cm_buf_bytes(&cbor), NULL) != CM_OK)
		abort();
	if (cm_cbor_to_json(cm_buf_bytes(&cbor), &json, NULL) != CM_OK)
		abort();
	if (cm_json_to_cbor(cm_buf_bytes(&json), &again, NULL) != CM_OK)
		abort();
	if (!cm_bytes_eq(cm_buf_bytes(&cbor), cm_buf_bytes(&again)))
		abort();
walk:
	/* Parsing is laxer (reals allowed) but encoding must agree. */
	if (cm_json_parse(CM_BYTES(data, size), &j, NULL) == CM_OK) {
		rv = cm_json_encode_cbor(j, &enc, NULL);
		if (rv == CM_OK &&
		    !cm_bytes_eq(cm_buf_bytes(&cbor), cm_buf_bytes(&enc)))
			abort();
		(void) cm_json_len(j);
		(void) cm_json_at(j, 0);
		(void) cm_json_get(j, "a");
		(void) cm_json_key_at(j, 0, NULL, NULL);
	}
	cm_json_free(j);
	cm_buf_fini(&cbor);
	cm_buf_fini(&json);
	cm_buf_fini(&again);
	cm_buf_fini(&enc);
	return (0);
}
