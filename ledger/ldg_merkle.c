/* SPDX-License-Identifier: MIT */
/* ledger/ldg_merkle.c -- Merkle trees as in RFC 6962 / RFC 9162 section 2:
 * hashing, in-memory roots and paths, the two proof verifiers, and stored
 * trees.  A stored tree keeps only complete-subtree hashes, in append order
 * (the tlog "stored hash index" layout), so the root and proofs at any past
 * size need O(log n) reads.  Pure: the caller's callbacks hold the hashes. */
#include "ledger/ldg.h"

#include <assert.h>
#include <string.h>

/* Proofs over 64-bit sizes have at most 64 steps (one per level). */
#define STEPS_MAX 64

/* A half-open leaf range [lo, hi) of the tree. */
typedef struct span {
	uint64_t lo;
	uint64_t hi;
} span;

static const uint8_t leaf_prefix = 0x00;
static const uint8_t node_prefix = 0x01;

void
ldg_leaf_hash(cm_bytes leaf, uint8_t out[CM_HASH_LEN])
{
	cm_bytes parts[2];

	parts[0] = CM_BYTES(&leaf_prefix, 1);
	parts[1] = leaf;
	cm_sha256_parts(parts, 2, out);
}

void
ldg_node_hash(const uint8_t left[CM_HASH_LEN], const uint8_t right[CM_HASH_LEN],
              uint8_t out[CM_HASH_LEN])
{
	cm_bytes parts[3];

	/* out may alias left or right: SHA-256 writes it only at the end. */
	parts[0] = CM_BYTES(&node_prefix, 1);
	parts[1] = CM_BYTES(left, CM_HASH_LEN);
	parts[2] = CM_BYTES(right, CM_HASH_LEN);
	cm_sha256_parts(parts, 3, out);
}

/* The largest power of two strictly below n (RFC 6962's k); n >= 2. */
static uint64_t
size_split(uint64_t n)
{
	assert(n >= 2);
	return (UINT64_C(1) << (63 - __builtin_clzll(n - 1)));
}

/* ---- in memory ----------------------------------------------------------- */

/* MTH of n >= 1 leaf hashes; recursion depth is log2 n. */
static void
leaves_hash(const uint8_t (*leaves)[CM_HASH_LEN], size_t n,
            uint8_t out[CM_HASH_LEN])
{
	uint8_t left[CM_HASH_LEN], right[CM_HASH_LEN];
	size_t  k;

	if (n == 1) {
		memcpy(out, leaves[0], CM_HASH_LEN);
		return;
	}
	k = (size_t) size_split(n);
	leaves_hash(leaves, k, left);
	leaves_hash(leaves + k, n - k, right);
	ldg_node_hash(left, right, out);
}

void
ldg_merkle_root(const uint8_t (*leaves)[CM_HASH_LEN], size_t n,
                uint8_t out[CM_HASH_LEN])
{
	if (n == 0) {
		cm_sha256("", 0, out);
		return;
	}
	leaves_hash(leaves, n, out);
}

/* Walks down from [0, size) towards leaf index, recording each step's
 * sibling range top-down.  Returns the number of siblings. */
static size_t
path_walk(uint64_t index, uint64_t size, span sib[STEPS_MAX])
{
	uint64_t lo = 0, hi = size, k;
	size_t   n = 0;

	while (hi - lo > 1) {
		k = size_split(hi - lo);
		if (index < lo + k) {
			sib[n++] = (span){lo + k, hi};
			hi = lo + k;
		} else {
			sib[n++] = (span){lo, lo + k};
			lo += k;
		}
	}
	return (n);
}

cm_err
ldg_merkle_path(const uint8_t (*leaves)[CM_HASH_LEN], size_t n, size_t i,
                cm_buf *out)
{
	span    sib[STEPS_MAX];
	uint8_t h[CM_HASH_LEN];
	size_t  ns;
	cm_err  rv;

	if (i >= n)
		return (CM_EINVAL);
	ns = path_walk(i, n, sib);
	/* Reserve first so that a failure leaves out unchanged. */
	if ((rv = cm_buf_reserve(out, ns * CM_HASH_LEN)) != CM_OK)
		return (rv);
	/* RFC 6962 PATH lists the leaf's sibling first: deepest step first. */
	while (ns-- > 0) {
		leaves_hash(leaves + sib[ns].lo,
		            (size_t) (sib[ns].hi - sib[ns].lo), h);
		memcpy(out->p + out->len, h, CM_HASH_LEN);
		out->len += CM_HASH_LEN;
	}
	return (CM_OK);
}

/* ---- verifiers ----------------------------------------------------------- */

static bool
hash_eq(const uint8_t a[CM_HASH_LEN], const uint8_t b[CM_HASH_LEN])
{
	return (memcmp(a, b, CM_HASH_LEN) == 0);
}

cm_err
ldg_verify_inclusion(const uint8_t leaf_hash[CM_HASH_LEN], uint64_t index,
                     uint64_t size, const uint8_t *proof, size_t nproof,
                     const uint8_t root[CM_HASH_LEN])
{
	uint8_t  r[CM_HASH_LEN];
	uint64_t fn, sn;

	/* RFC 9162 2.1.3.2.  fn walks up from the leaf, sn from the last leaf;
	 * where they meet on the right edge, levels without a sibling are
	 * skipped.  Each proof hash consumes at least one level, so the loop
	 * runs at most 64 times whatever nproof is. */
	if (index >= size)
		return (CM_EVERIFY);
	fn = index;
	sn = size - 1;
	memcpy(r, leaf_hash, CM_HASH_LEN);
	for (size_t i = 0; i < nproof; i++) {
		const uint8_t *p = proof + i * CM_HASH_LEN;

		if (sn == 0)
			return (CM_EVERIFY);
		if ((fn & 1) != 0 || fn == sn) {
			ldg_node_hash(p, r, r);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			ldg_node_hash(r, p, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(r, root))
		return (CM_EVERIFY);
	return (CM_OK);
}

cm_err
ldg_verify_consistency(uint64_t size1, uint64_t size2,
                       const uint8_t root1[CM_HASH_LEN],
                       const uint8_t root2[CM_HASH_LEN], const uint8_t *proof,
                       size_t nproof)
{
	uint8_t        fr[CM_HASH_LEN], sr[CM_HASH_LEN];
	uint64_t       fn, sn;
	const uint8_t *first;
	size_t         i;

	if (size1 > size2)
		return (CM_EVERIFY);
	if (size1 == 0) {
		/* Anything extends the empty tree, whose root is fixed. */
		uint8_t empty[CM_HASH_LEN];

		cm_sha256("", 0, empty);
		if (nproof != 0 || !hash_eq(root1, empty))
			return (CM_EVERIFY);
		return (size2 > 0 || hash_eq(root2, empty) ? CM_OK
		                                           : CM_EVERIFY);
	}
	if (size1 == size2) {
		if (nproof != 0 || !hash_eq(root1, root2))
			return (CM_EVERIFY);
		return (CM_OK);
	}
	if (nproof == 0)
		return (CM_EVERIFY);

	/* RFC 9162 2.1.4.2.  When size1 is a power of two the old tree is a
	 * complete subtree of the new one and the proof omits its root: use
	 * root1 as the first hash instead. */
	if ((size1 & (size1 - 1)) == 0) {
		first = root1;
		i = 0;
	} else {
		first = proof;
		i = 1;
	}
	fn = size1 - 1;
	sn = size2 - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, first, CM_HASH_LEN);
	memcpy(sr, first, CM_HASH_LEN);
	for (; i < nproof; i++) {
		const uint8_t *c = proof + i * CM_HASH_LEN;

		if (sn == 0)
			return (CM_EVERIFY);
		if ((fn & 1) != 0 || fn == sn) {
			ldg_node_hash(c, fr, fr);
			ldg_node_hash(c, sr, sr);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			ldg_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || !hash_eq(fr, root1) || !hash_eq(sr, root2))
		return (CM_EVERIFY);
	return (CM_OK);
}

/* ---- stored trees -------------------------------------------------------- */

cm_err
ldg_tree_append(ldg_node_read_fn read, ldg_node_write_fn write, void *ctx,
                uint64_t n, const uint8_t leaf_hash[CM_HASH_LEN])
{
	return (ldg_tree_append_up(read, write, ctx, n, leaf_hash, NULL, 0));
}

void
ldg_tree_parents(uint64_t first, const uint8_t (*lh)[CM_HASH_LEN], size_t n,
                 uint8_t (*up)[LDG_UP_MAX][CM_HASH_LEN], uint8_t *nup)
{
	/* fr[l]: the latest complete level-l subtree inside the range, and
	 * fr_end[l] its last leaf + 1 (0: none yet). */
	uint8_t  fr[LDG_UP_MAX + 1][CM_HASH_LEN];
	uint64_t fr_end[LDG_UP_MAX + 1] = {0};

	for (size_t i = 0; i < n; i++) {
		uint64_t       m = first + i;
		const uint8_t *h = lh[i];
		unsigned       l = 0;

		/* Each trailing one bit of m closes a subtree whose left half
		 * ends just before m's part; inside the range only if that
		 * half was seen here. */
		for (; l < LDG_UP_MAX && ((m >> l) & 1) != 0; l++) {
			if (fr_end[l] != m - ((uint64_t) 1 << l) + 1)
				break;
			ldg_node_hash(fr[l], h, up[i][l]);
			h = up[i][l];
		}
		nup[i] = (uint8_t) l;
		if (l < LDG_UP_MAX + 1 && ((m >> l) & 1) == 0) {
			memcpy(fr[l], h, CM_HASH_LEN);
			fr_end[l] = m + 1;
		}
	}
}

cm_err
ldg_tree_append_up(ldg_node_read_fn read, ldg_node_write_fn write, void *ctx,
                   uint64_t n, const uint8_t leaf_hash[CM_HASH_LEN],
                   const uint8_t (*up)[CM_HASH_LEN], unsigned nup)
{
	uint8_t  h[CM_HASH_LEN], left[CM_HASH_LEN];
	uint64_t m;
	unsigned level;
	cm_err   rv;

	/* A tree size is at most 2^63 (RFC 6962 sizes fit in the proofs'
	 * arithmetic without overflow). */
	if (n >= (UINT64_C(1) << 63))
		return (CM_EINVAL);
	memcpy(h, leaf_hash, CM_HASH_LEN);
	if ((rv = write(ctx, 0, n, h)) != CM_OK)
		return (rv);
	/* Each trailing one bit of n closes a complete subtree whose left half
	 * is already stored. */
	for (level = 0, m = n; (m & 1) != 0; level++, m >>= 1) {
		if (level < nup) {
			memcpy(h, up[level], CM_HASH_LEN);
		} else {
			if ((rv = read(ctx, level, m - 1, left)) != CM_OK)
				return (rv);
			ldg_node_hash(left, h, h);
		}
		if ((rv = write(ctx, level + 1, m >> 1, h)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

/* MTH(D[lo:hi]) for a range the RFC recursion produces: complete, or on the
 * right edge with lo a multiple of the largest power of two <= hi - lo.  It
 * splits into the complete subtrees of hi - lo's binary digits, largest
 * first, and folds them from the right: popcount(hi - lo) reads. */
static cm_err
span_hash(ldg_node_read_fn read, void *ctx, span s, uint8_t out[CM_HASH_LEN])
{
	uint8_t  left[CM_HASH_LEN];
	uint64_t len = s.hi - s.lo, pos = s.hi;
	unsigned level;
	bool     have = false;
	cm_err   rv;

	assert(len > 0);
	/* Walk the digits from the smallest (rightmost chunk) up. */
	for (level = 0; level < 64; level++) {
		if ((len & (UINT64_C(1) << level)) == 0)
			continue;
		pos -= UINT64_C(1) << level;
		assert((pos & ((UINT64_C(1) << level) - 1)) == 0);
		if (!have) {
			rv = read(ctx, level, pos >> level, out);
			have = true;
		} else {
			rv = read(ctx, level, pos >> level, left);
			if (rv == CM_OK)
				ldg_node_hash(left, out, out);
		}
		if (rv != CM_OK)
			return (rv);
	}
	assert(pos == s.lo);
	return (CM_OK);
}

cm_err
ldg_tree_root(ldg_node_read_fn read, void *ctx, uint64_t size,
              uint8_t out[CM_HASH_LEN])
{
	if (size == 0) {
		cm_sha256("", 0, out);
		return (CM_OK);
	}
	return (span_hash(read, ctx, (span){0, size}, out));
}

/* Appends the hashes of sib[0..n) in reverse (deepest step first, as RFC
 * 6962 lists them).  On error out is left as it was. */
static cm_err
spans_append(ldg_node_read_fn read, void *ctx, const span *sib, size_t n,
             cm_buf *out)
{
	size_t len0 = out->len;
	cm_err rv;

	if ((rv = cm_buf_reserve(out, n * CM_HASH_LEN)) != CM_OK)
		return (rv);
	while (n-- > 0) {
		rv = span_hash(read, ctx, sib[n], out->p + out->len);
		if (rv != CM_OK) {
			out->len = len0;
			return (rv);
		}
		out->len += CM_HASH_LEN;
	}
	return (CM_OK);
}

cm_err
ldg_tree_inclusion(ldg_node_read_fn read, void *ctx, uint64_t index,
                   uint64_t size, cm_buf *out)
{
	span   sib[STEPS_MAX];
	size_t n;

	if (index >= size)
		return (CM_EINVAL);
	n = path_walk(index, size, sib);
	/* Only a sibling on the right edge can be incomplete, and below it all
	 * are complete: proof length + popcount reads at most. */
	return (spans_append(read, ctx, sib, n, out));
}

cm_err
ldg_tree_consistency(ldg_node_read_fn read, void *ctx, uint64_t size1,
                     uint64_t size2, cm_buf *out)
{
	span     sib[STEPS_MAX + 1];
	uint64_t lo = 0, hi = size2, k;
	size_t   n = 0;
	bool     whole = true;

	if (size1 > size2)
		return (CM_EINVAL);
	if (size1 == 0 || size1 == size2)
		return (CM_OK);
	/* RFC 9162 SUBPROOF(size1, D[0:size2], true), top-down.  whole stays
	 * true while the old tree is a prefix of [lo, hi); once it ends inside
	 * [lo, hi) at hi, the subtree's own hash is needed. */
	for (;;) {
		if (size1 == hi) {
			if (!whole)
				sib[n++] = (span){lo, hi};
			break;
		}
		k = size_split(hi - lo);
		if (size1 <= lo + k) {
			sib[n++] = (span){lo + k, hi};
			hi = lo + k;
		} else {
			sib[n++] = (span){lo, lo + k};
			lo += k;
			whole = false;
		}
	}
	return (spans_append(read, ctx, sib, n, out));
}
