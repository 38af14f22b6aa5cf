/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_ldg_inclusion.c -- ldg_verify_inclusion on arbitrary input laid
 * out as u64be index, u64be size, root, leaf hash, then proof hashes (a
 * trailing partial hash is ignored).  Oracle: an independent recomputation
 * (RFC 6962 PATH's shape folded bottom-up) accepts exactly when the verifier
 * does, and then yields the root; the verifier returns only CM_OK or
 * CM_EVERIFY. */
#include "ledger/ldg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest power of two below n >= 2, without bit tricks. */
static uint64_t
pow2_below(uint64_t n)
{
	uint64_t k = 1;

	while (k <= (n - 1) / 2)
		k *= 2;
	return (k);
}

/* 1 if proof is a valid path for (index, size) leading to a root, which is
 * stored in out. */
static int
path_fold(uint64_t index, uint64_t size, const uint8_t *leaf,
          const uint8_t *proof, size_t np, uint8_t out[CM_HASH_LEN])
{
	char   step[64];
	size_t ns = 0;

	if (index >= size)
		return (0);
	while (size > 1) {
		uint64_t k = pow2_below(size);

		if (index < k) {
			step[ns++] = 'L';
			size = k;
		} else {
			step[ns++] = 'R';
			index -= k;
			size -= k;
		}
	}
	if (np != ns)
		return (0);
	memcpy(out, leaf, CM_HASH_LEN);
	for (size_t j = 0; j < ns; j++) {
		const uint8_t *p = proof + j * CM_HASH_LEN;

		if (step[ns - 1 - j] == 'L')
			ldg_node_hash(out, p, out);
		else
			ldg_node_hash(p, out, out);
	}
	return (1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *root, *leaf, *proof;
	uint8_t        got[CM_HASH_LEN];
	uint64_t       index, tsize;
	size_t         np;
	cm_err         rv;
	int            ok;

	if (size < 16 + 2 * CM_HASH_LEN)
		return (0);
	index = cm_get_u64be(data);
	tsize = cm_get_u64be(data + 8);
	root = data + 16;
	leaf = root + CM_HASH_LEN;
	proof = leaf + CM_HASH_LEN;
	np = (size - 16 - 2 * CM_HASH_LEN) / CM_HASH_LEN;

	rv = ldg_verify_inclusion(leaf, index, tsize, proof, np, root);
	if (rv != CM_OK && rv != CM_EVERIFY)
		abort();
	ok = path_fold(index, tsize, leaf, proof, np, got) &&
	     memcmp(got, root, CM_HASH_LEN) == 0;
	if (ok != (rv == CM_OK))
		abort();
	return (0);
}
