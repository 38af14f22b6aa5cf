/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_ldg_note.c -- checkpoint notes: parse, and verify with the test1
 * vkey.  Oracles: a parsed note's body re-formats to the input's first bytes
 * followed by the blank line, and a note that verifies also parses to the
 * same checkpoint. */
#include "ledger/ldg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/vectors/note/test1.vkey.exp */
static const char test1_vkey[] = "tally.example/test1+d3a80058+"
                                 "AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ldg_checkpoint c, v;
	ldg_vkey       vk;
	cm_buf         body = {0};
	cm_err         parsed, verified;

	if (ldg_vkey_parse(CM_BYTES(test1_vkey, sizeof(test1_vkey) - 1), &vk,
	                   NULL) != CM_OK)
		abort();
	parsed = ldg_checkpoint_parse(CM_BYTES(data, size), &c, NULL);
	if (parsed == CM_OK) {
		if (ldg_checkpoint_body(&c, &body) != CM_OK ||
		    body.len >= size || memcmp(body.p, data, body.len) != 0 ||
		    data[body.len] != '\n')
			abort();
	}
	verified = ldg_checkpoint_verify(CM_BYTES(data, size), &vk, &v, NULL);
	if (verified == CM_OK &&
	    (parsed != CM_OK || memcmp(&c, &v, sizeof(c)) != 0))
		abort();
	cm_buf_fini(&body);
	return (0);
}
