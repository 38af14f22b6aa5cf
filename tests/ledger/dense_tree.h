/* SPDX-License-Identifier: MIT */
/* tests/ledger/dense_tree.h -- an in-memory layout for stored trees, for
 * the tests' own stores (the ledger keeps its nodes in tiles).  Hash
 * (level, n) gets the dense index it would have if every hash were kept in
 * the order ldg_tree_append writes them: its last leaf m = (n+1)*2^level-1
 * comes after the dense_count(m) hashes of the first m leaves, then the
 * leaf, then one parent per level.  A test store that requires each write
 * at index == its count checks that order. */
#ifndef TESTS_LEDGER_DENSE_TREE_H
#define TESTS_LEDGER_DENSE_TREE_H
#include <stdint.h>

/* Hashes stored for a tree of size leaves (one per complete subtree). */
static inline uint64_t
dense_count(uint64_t size)
{
	uint64_t total = 0;

	for (; size > 0; size >>= 1)
		total += size;
	return (total);
}

static inline uint64_t
dense_index(unsigned level, uint64_t n)
{
	if (level >= 64)
		return (UINT64_MAX);
	return (dense_count(((n + 1) << level) - 1) + level);
}
#endif
