/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_ldg_uscc.c -- ldg_uscc_check on arbitrary bytes.  There is no
 * encoder, so the oracle is the check's own contract: an accepted code has
 * 18 characters, and changing its position 18 to any other symbol of the
 * alphabet makes it invalid; a refusal always carries a reason. */
#include "ledger/ldg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	uint8_t           code[LDG_USCC_LEN];
	cm_diag           d;

	cm_diag_clear(&d);
	if (ldg_uscc_check(CM_BYTES(data, size), &d) != CM_OK) {
		if (d.msg[0] == '\0')
			abort();
		return (0);
	}
	if (size != LDG_USCC_LEN || d.msg[0] != '\0')
		abort();
	memcpy(code, data, size);
	for (size_t i = 0; i < sizeof(alphabet) - 1; i++) {
		if ((uint8_t) alphabet[i] == data[17])
			continue;
		code[17] = (uint8_t) alphabet[i];
		if (ldg_uscc_check(CM_BYTES(code, sizeof(code)), NULL) !=
		    CM_EINVAL)
			abort();
	}
	return (0);
}
