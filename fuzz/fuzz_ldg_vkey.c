/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_ldg_vkey.c -- verifier key text.  Oracle: a key that parses
 * formats back to the input without its surrounding whitespace. */
#include "ledger/ldg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
char_space(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ldg_vkey vk;
	cm_buf   out = {0};
	size_t   lo = 0, hi = size;

	if (ldg_vkey_parse(CM_BYTES(data, size), &vk, NULL) != CM_OK)
		return (0);
	while (lo < hi && char_space(data[lo]))
		lo++;
	while (hi > lo && char_space(data[hi - 1]))
		hi--;
	if (ldg_vkey_format(&vk, &out) != CM_OK || out.len != hi - lo ||
	    memcmp(out.p, data + lo, out.len) != 0)
		abort();
	cm_buf_fini(&out);
	return (0);
}
