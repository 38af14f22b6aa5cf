/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_ldg_consistency.c -- ldg_verify_consistency on arbitrary input
 * laid out as u64be size1, u64be size2, root1, root2, then proof hashes (a
 * trailing partial hash is ignored).  Oracle: an independent recomputation
 * (RFC 9162 SUBPROOF's shape folded bottom-up into both roots) accepts
 * exactly when the verifier does; the verifier returns only CM_OK or
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

static int
same(const uint8_t *a, const uint8_t *b)
{
	return (memcmp(a, b, CM_HASH_LEN) == 0);
}

/* 1 if proof proves the tree of size m with root r1 a prefix of the tree of
 * size n with root r2. */
static int
proof_fold(uint64_t m, uint64_t n, const uint8_t *r1, const uint8_t *r2,
           const uint8_t *proof, size_t np)
{
	uint8_t old[CM_HASH_LEN], cur[CM_HASH_LEN];
	char    step[64];
	size_t  ns = 0, j = 0;
	int     whole = 1;

	if (m > n)
		return (0);
	if (m == 0) {
		uint8_t empty[CM_HASH_LEN];

		cm_sha256("", 0, empty);
		return (np == 0 && same(r1, empty) &&
		        (n > 0 || same(r2, empty)));
	}
	if (m == n)
		return (np == 0 && same(r1, r2));
	while (m != n) {
		uint64_t k = pow2_below(n);

		if (m <= k) {
			step[ns++] = 'L';
			n = k;
		} else {
			step[ns++] = 'R';
			m -= k;
			n -= k;
			whole = 0;
		}
	}
	/* The deepest shared subtree: the old root itself, or proof[0]. */
	if (np != ns + (whole ? 0 : 1))
		return (0);
	memcpy(old, whole ? r1 : proof, CM_HASH_LEN);
	memcpy(cur, old, CM_HASH_LEN);
	if (!whole)
		j++;
	for (size_t s = ns; s-- > 0; j++) {
		const uint8_t *p = proof + j * CM_HASH_LEN;

		if (step[s] == 'L') {
			ldg_node_hash(cur, p, cur);
		} else {
			ldg_node_hash(p, old, old);
			ldg_node_hash(p, cur, cur);
		}
	}
	return (same(old, r1) && same(cur, r2));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *r1, *r2, *proof;
	uint64_t       m, n;
	size_t         np;
	cm_err         rv;

	if (size < 16 + 2 * CM_HASH_LEN)
		return (0);
	m = cm_get_u64be(data);
	n = cm_get_u64be(data + 8);
	r1 = data + 16;
	r2 = r1 + CM_HASH_LEN;
	proof = r2 + CM_HASH_LEN;
	np = (size - 16 - 2 * CM_HASH_LEN) / CM_HASH_LEN;

	rv = ldg_verify_consistency(m, n, r1, r2, proof, np);
	if (rv != CM_OK && rv != CM_EVERIFY)
		abort();
	if (proof_fold(m, n, r1, r2, proof, np) != (rv == CM_OK))
		abort();
	return (0);
}
