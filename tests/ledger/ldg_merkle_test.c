/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_merkle_test.c -- ledger/ldg_merkle.c: the RFC 6962 8-leaf
 * reference tree (tests/vectors/merkle/rfc6962.exp, computed independently
 * by tests/ledger/merkle_crosscheck.py), systematic proof corruptions (the
 * same set as the fuzz seeds), verifier edge cases, naive recursive
 * references, and stored trees up to 2^20 + 1 leaves with counted reads. */
#include "tests/tst.h"

#include "ledger/ldg.h"
#include "tests/ledger/dense_tree.h"

#define VEC_FILE "tests/vectors/merkle/rfc6962.exp"
#define HL CM_HASH_LEN
#define MAXP 64 /* hashes in any proof here */
#define BIG_K 20

static const char *const rfc_leaves[8] = {"",
                                          "00",
                                          "10",
                                          "2021",
                                          "3031",
                                          "40414243",
                                          "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f"};
static const char        rfc_root8[] =
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";
static const char empty_root[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- helpers ------------------------------------------------------------- */

static void
hex_hash(const char *hex, uint8_t out[HL])
{
	cm_buf b = {0};

	TST_OK(cm_hex_decode(&b, hex, strlen(hex)));
	TST_EQ_U(b.len, HL);
	memset(out, 0, HL);
	if (b.len == HL)
		memcpy(out, b.p, HL);
	cm_buf_fini(&b);
}

/* Flips one bit of hash number which (merkle_crosscheck.py's flip). */
static void
flip_bit(uint8_t h[HL], unsigned which)
{
	h[(which * 5) % HL] ^= (uint8_t) (1u << (which % 8));
}

static unsigned
ceil_log2(uint64_t n)
{
	unsigned l = 0;

	while (l < 64 && (UINT64_C(1) << l) < n)
		l++;
	return (l);
}

static uint64_t
read_bound(uint64_t size)
{
	return (2 * (uint64_t) ceil_log2(size) + 2);
}

static uint64_t
largest_pow2_below(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return (k);
}

/* ---- an instrumented in-memory node store -------------------------------- */

typedef struct mstore {
	uint8_t (*h)[HL];
	uint64_t n;     /* hashes stored */
	uint64_t cap;   /* hashes allocated */
	uint64_t reads; /* read calls */
	uint64_t
	    fail_at; /* read call number that fails with CM_EIO (0: none) */
	unsigned bad_writes;
	int      fail_write; /* next write fails with CM_EIO */
} mstore;

static cm_err
mstore_read(void *ctx, unsigned level, uint64_t n, uint8_t out[HL])
{
	mstore  *s = ctx;
	uint64_t idx = dense_index(level, n);

	s->reads++;
	if (s->fail_at != 0 && s->reads == s->fail_at)
		return (CM_EIO);
	if (idx >= s->n)
		return (CM_ENOTFOUND);
	memcpy(out, s->h[idx], HL);
	return (CM_OK);
}

static cm_err
mstore_write(void *ctx, unsigned level, uint64_t n, const uint8_t hash[HL])
{
	mstore  *s = ctx;
	uint64_t idx = dense_index(level, n);

	if (s->fail_write)
		return (CM_EIO);
	/* Each hash once, in the order subtrees complete. */
	if (idx != s->n || idx >= s->cap) {
		s->bad_writes++;
		return (CM_EINVAL);
	}
	memcpy(s->h[idx], hash, HL);
	s->n++;
	return (CM_OK);
}

static int
mstore_init(mstore *s, uint64_t leaves)
{
	memset(s, 0, sizeof(*s));
	s->cap = dense_count(leaves);
	s->h = cm_calloc(s->cap ? s->cap : 1, HL);
	TST_TRUE(s->h != NULL);
	return (s->h != NULL);
}

static void
mstore_fini(mstore *s)
{
	cm_free(s->h);
	s->h = NULL;
}

/* The stored leaf hash i (not counted as a read). */
static const uint8_t *
mstore_leaf(const mstore *s, uint64_t i)
{
	return (s->h[dense_index(0, i)]);
}

/* Appends leaf hashes until the store holds size leaves. */
static void
mstore_grow(mstore *s, uint64_t *leaves, uint64_t size,
            void (*leaf_fn)(uint64_t i, uint8_t out[HL]))
{
	uint8_t h[HL];

	for (; *leaves < size; (*leaves)++) {
		leaf_fn(*leaves, h);
		TST_OK(
		    ldg_tree_append(mstore_read, mstore_write, s, *leaves, h));
	}
	TST_EQ_U(s->n, dense_count(size));
	TST_EQ_U(s->bad_writes, 0);
}

/* Synthetic leaf hash: SHA-256 of the index, 8 bytes big-endian. */
static void
synth_leaf(uint64_t i, uint8_t out[HL])
{
	uint8_t b[8];

	cm_put_u64be(b, i);
	cm_sha256(b, sizeof(b), out);
}

/* ---- naive references: RFC 6962 2.1 as written, recursive ---------------- */

static void
naive_mth(const mstore *s, uint64_t lo, uint64_t hi, uint8_t out[HL])
{
	uint8_t  l[HL], r[HL];
	uint64_t k;

	if (hi == lo) {
		cm_sha256("", 0, out);
		return;
	}
	if (hi - lo == 1) {
		memcpy(out, mstore_leaf(s, lo), HL);
		return;
	}
	k = largest_pow2_below(hi - lo);
	naive_mth(s, lo, lo + k, l);
	naive_mth(s, lo + k, hi, r);
	ldg_node_hash(l, r, out);
}

static void
naive_path(const mstore *s, uint64_t m, uint64_t lo, uint64_t hi, cm_buf *out)
{
	uint8_t  h[HL];
	uint64_t k;

	if (hi - lo <= 1)
		return;
	k = largest_pow2_below(hi - lo);
	if (m < k) {
		naive_path(s, m, lo, lo + k, out);
		naive_mth(s, lo + k, hi, h);
	} else {
		naive_path(s, m - k, lo + k, hi, out);
		naive_mth(s, lo, lo + k, h);
	}
	TST_OK(cm_buf_append(out, h, HL));
}

static void
naive_subproof(const mstore *s, uint64_t m, uint64_t lo, uint64_t hi, int whole,
               cm_buf *out)
{
	uint8_t  h[HL];
	uint64_t k;

	if (m == hi - lo) {
		if (!whole) {
			naive_mth(s, lo, hi, h);
			TST_OK(cm_buf_append(out, h, HL));
		}
		return;
	}
	k = largest_pow2_below(hi - lo);
	if (m <= k) {
		naive_subproof(s, m, lo, lo + k, whole, out);
		naive_mth(s, lo + k, hi, h);
	} else {
		naive_subproof(s, m - k, lo + k, hi, 0, out);
		naive_mth(s, lo, lo + k, h);
	}
	TST_OK(cm_buf_append(out, h, HL));
}

/* The step sequence a proof encodes ('L'/'R' per level, top-down, then 'B'
 * if the consistency proof carries its base subtree).  Proofs of equal shape
 * are interchangeable for a verifier that sees no leaves; "" if invalid. */
static void
incl_shape(uint64_t i, uint64_t n, char out[MAXP + 2])
{
	size_t len = 0;

	out[0] = '\0';
	if (i >= n)
		return;
	while (n > 1) {
		uint64_t k = largest_pow2_below(n);

		if (i < k) {
			out[len++] = 'L';
			n = k;
		} else {
			out[len++] = 'R';
			i -= k;
			n -= k;
		}
	}
	out[len++] = '.';
	out[len] = '\0';
}

static void
cons_shape(uint64_t m, uint64_t n, char out[MAXP + 2])
{
	size_t len = 0;
	int    whole = 1;

	out[0] = '\0';
	if (m > n)
		return;
	if (m == 0 || m == n) {
		strcpy(out, m == 0 ? "Z" : "E");
		return;
	}
	while (m != n) {
		uint64_t k = largest_pow2_below(n);

		if (m <= k) {
			out[len++] = 'L';
			n = k;
		} else {
			out[len++] = 'R';
			m -= k;
			n -= k;
			whole = 0;
		}
	}
	out[len++] = whole ? '.' : 'B';
	out[len] = '\0';
}

/* ---- the RFC 6962 reference tree ----------------------------------------- */

typedef struct vec {
	char     kind[16];
	uint64_t a, b;
	uint8_t  p[MAXP * HL];
	size_t   np; /* hashes */
} vec;

static vec    vecs[160];
static size_t nvecs;

static void
rfc_store(mstore *s)
{
	cm_buf b = {0};
	size_t i;

	if (!mstore_init(s, 8))
		return;
	for (i = 0; i < 8; i++) {
		uint8_t h[HL];

		cm_buf_reset(&b);
		TST_OK(cm_hex_decode(&b, rfc_leaves[i], strlen(rfc_leaves[i])));
		ldg_leaf_hash(cm_buf_bytes(&b), h);
		TST_OK(ldg_tree_append(mstore_read, mstore_write, s, i, h));
	}
	TST_EQ_U(s->n, dense_count(8));
	cm_buf_fini(&b);
}

static size_t
vecs_load(void)
{
	FILE *f;
	char  line[4096], kind[16], hex[4000];

	if (nvecs > 0)
		return (nvecs);
	f = fopen(VEC_FILE, "r");
	TST_TRUE(f != NULL);
	if (f == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long a, b = 0;
		vec               *v;
		cm_buf             buf = {0};
		int                got;

		got = sscanf(line, "rfc %15s %llu %3999s", kind, &a, hex);
		TST_TRUE(got == 3);
		if (got != 3 || nvecs == sizeof(vecs) / sizeof(vecs[0]))
			break;
		if (strcmp(kind, "incl") == 0 || strcmp(kind, "path") == 0 ||
		    strcmp(kind, "cons") == 0) {
			got = sscanf(line, "rfc %15s %llu %llu %3999s", kind,
			             &a, &b, hex);
			TST_TRUE(got == 4);
		}
		v = &vecs[nvecs++];
		snprintf(v->kind, sizeof(v->kind), "%s", kind);
		v->a = a;
		v->b = b;
		if (strcmp(hex, "-") != 0) {
			TST_OK(cm_hex_decode(&buf, hex, strlen(hex)));
			TST_TRUE(buf.len % HL == 0 && buf.len <= sizeof(v->p));
			if (buf.len <= sizeof(v->p))
				memcpy(v->p, buf.p, buf.len);
			v->np = buf.len / HL;
		}
		cm_buf_fini(&buf);
	}
	fclose(f);
	return (nvecs);
}

static const vec *
vec_find(const char *kind, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < nvecs; i++)
		if (strcmp(vecs[i].kind, kind) == 0 && vecs[i].a == a &&
		    vecs[i].b == b)
			return (&vecs[i]);
	TST_TRUE(!"vector missing");
	return (NULL);
}

static void
test_hashes(void)
{
	uint8_t a[HL], b[HL], want[HL], buf[1 + 2 * HL];

	ldg_leaf_hash(CM_BYTES(NULL, 0), a);
	hex_hash(
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01"
	    "d",
	    want);
	TST_EQ_MEM(a, want, HL);
	ldg_leaf_hash(CM_BYTES("\x00", 1), b);
	hex_hash(
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cf"
	    "c7",
	    want);
	TST_EQ_MEM(b, want, HL);
	/* node = SHA-256(0x01 || l || r), also when out aliases an input. */
	buf[0] = 0x01;
	memcpy(buf + 1, a, HL);
	memcpy(buf + 1 + HL, b, HL);
	cm_sha256(buf, sizeof(buf), want);
	ldg_node_hash(a, b, a);
	TST_EQ_MEM(a, want, HL);
	hex_hash(empty_root, want);
	ldg_merkle_root(NULL, 0, a);
	TST_EQ_MEM(a, want, HL);
}

static void
test_rfc6962_roots(void)
{
	uint8_t leaves[8][HL], got[HL], want[HL];
	mstore  s;
	size_t  n;

	if (vecs_load() == 0)
		return;
	TST_EQ_U(nvecs, 2 * 9 + 2 * 36 + 45);
	rfc_store(&s);
	for (n = 0; n < 8; n++)
		memcpy(leaves[n], mstore_leaf(&s, n), HL);
	for (n = 0; n <= 8; n++) {
		const vec *v = vec_find("root", n, 0);

		if (v == NULL)
			continue;
		TST_EQ_U(v->np, 1);
		ldg_merkle_root((const uint8_t(*)[HL]) leaves, n, got);
		TST_EQ_MEM(got, v->p, HL);
		TST_OK(ldg_tree_root(mstore_read, &s, n, got));
		TST_EQ_MEM(got, v->p, HL);
	}
	/* The published root of the 8-leaf tree, independent of the file. */
	hex_hash(rfc_root8, want);
	TST_EQ_MEM(got, want, HL);
	mstore_fini(&s);
}

static void
test_rfc6962_proofs(void)
{
	uint8_t leaves[8][HL];
	mstore  s;
	cm_buf  b = {0};

	if (vecs_load() == 0)
		return;
	rfc_store(&s);
	for (size_t n = 0; n < 8; n++)
		memcpy(leaves[n], mstore_leaf(&s, n), HL);
	for (uint64_t n = 1; n <= 8; n++) {
		const vec *root = vec_find("root", n, 0);

		for (uint64_t i = 0; i < n; i++) {
			const vec *v = vec_find("incl", i, n);

			if (v == NULL || root == NULL)
				continue;
			cm_buf_reset(&b);
			TST_OK(ldg_merkle_path((const uint8_t(*)[HL]) leaves, n,
			                       i, &b));
			TST_EQ_U(b.len, v->np * HL);
			TST_EQ_MEM(b.p, v->p, v->np * HL);
			cm_buf_reset(&b);
			TST_OK(ldg_tree_inclusion(mstore_read, &s, i, n, &b));
			TST_EQ_U(b.len, v->np * HL);
			TST_EQ_MEM(b.p, v->p, v->np * HL);
			TST_OK(ldg_verify_inclusion(mstore_leaf(&s, i), i, n,
			                            v->p, v->np, root->p));
		}
		for (uint64_t m = 0; m <= n; m++) {
			const vec *v = vec_find("cons", m, n);
			const vec *r1 = vec_find("root", m, 0);

			if (v == NULL || r1 == NULL || root == NULL)
				continue;
			cm_buf_reset(&b);
			TST_OK(ldg_tree_consistency(mstore_read, &s, m, n, &b));
			TST_EQ_U(b.len, v->np * HL);
			TST_EQ_MEM(b.p, v->p, v->np * HL);
			TST_OK(ldg_verify_consistency(m, n, r1->p, root->p,
			                              v->p, v->np));
		}
	}
	cm_buf_fini(&b);
	mstore_fini(&s);
}

/* ---- corruptions (the fuzz seeds are exactly these cases) ---------------- */

static unsigned ncorrupt;

static void
check_incl(uint64_t i, uint64_t n, const uint8_t *root, const uint8_t *leaf,
           const uint8_t *p, size_t np, cm_err want)
{
	if (ldg_verify_inclusion(leaf, i, n, p, np, root) != want) {
		TST_FAIL_("inclusion i=%llu n=%llu np=%zu -> want %s",
		          (unsigned long long) i, (unsigned long long) n, np,
		          cm_errname(want));
	}
	if (want != CM_OK)
		ncorrupt++;
}

static void
test_inclusion_corruptions(void)
{
	uint8_t root[HL], leaf[HL], p[(MAXP + 1) * HL];
	char    s0[MAXP + 2], s1[MAXP + 2];
	mstore  s;

	if (vecs_load() == 0)
		return;
	rfc_store(&s);
	ncorrupt = 0;
	for (uint64_t n = 1; n <= 8; n++) {
		const vec *r = vec_find("root", n, 0);

		for (uint64_t i = 0; i < n; i++) {
			const vec *v = vec_find("incl", i, n);
			size_t     np;

			if (v == NULL || r == NULL)
				continue;
			np = v->np;
			memcpy(root, r->p, HL);
			memcpy(leaf, mstore_leaf(&s, i), HL);
			memcpy(p, v->p, np * HL);
			check_incl(i, n, root, leaf, p, np, CM_OK);
			flip_bit(root, 0);
			check_incl(i, n, root, leaf, p, np, CM_EVERIFY);
			flip_bit(root, 0);
			flip_bit(leaf, 1);
			check_incl(i, n, root, leaf, p, np, CM_EVERIFY);
			flip_bit(leaf, 1);
			for (unsigned j = 0; j < np; j++) {
				flip_bit(p + j * HL, 2 + j);
				check_incl(i, n, root, leaf, p, np, CM_EVERIFY);
				flip_bit(p + j * HL, 2 + j);
			}
			if (np > 0)
				check_incl(i, n, root, leaf, p, np - 1,
				           CM_EVERIFY);
			memcpy(p + np * HL, leaf, HL);
			check_incl(i, n, root, leaf, p, np + 1, CM_EVERIFY);
			check_incl(i + 1, n, root, leaf, p, np, CM_EVERIFY);
			if (i > 0)
				check_incl(i - 1, n, root, leaf, p, np,
				           CM_EVERIFY);
			/* A wrong size is refused unless it gives the same
			 * steps: then the proof fits a tree of that size. */
			incl_shape(i, n, s0);
			incl_shape(i, n + 1, s1);
			check_incl(i, n + 1, root, leaf, p, np,
			           strcmp(s0, s1) == 0 ? CM_OK : CM_EVERIFY);
			if (n > 1) {
				incl_shape(i, n - 1, s1);
				check_incl(i, n - 1, root, leaf, p, np,
				           strcmp(s0, s1) == 0 ? CM_OK
				                               : CM_EVERIFY);
			}
		}
	}
	printf("inclusion corruptions refused: %u\n", ncorrupt);
	TST_TRUE(ncorrupt > 300);
	mstore_fini(&s);
}

static void
check_cons(uint64_t m, uint64_t n, const uint8_t *r1, const uint8_t *r2,
           const uint8_t *p, size_t np, cm_err want)
{
	if (ldg_verify_consistency(m, n, r1, r2, p, np) != want) {
		TST_FAIL_("consistency m=%llu n=%llu np=%zu -> want %s",
		          (unsigned long long) m, (unsigned long long) n, np,
		          cm_errname(want));
	}
	if (want != CM_OK)
		ncorrupt++;
}

static cm_err
cons_expect(uint64_t m0, uint64_t n0, uint64_t m, uint64_t n)
{
	char s0[MAXP + 2], s1[MAXP + 2];

	cons_shape(m0, n0, s0);
	cons_shape(m, n, s1);
	return (s1[0] != '\0' && strcmp(s0, s1) == 0 ? CM_OK : CM_EVERIFY);
}

static void
test_consistency_corruptions(void)
{
	uint8_t r1[HL], r2[HL], p[(MAXP + 1) * HL];

	if (vecs_load() == 0)
		return;
	ncorrupt = 0;
	for (uint64_t n = 1; n <= 8; n++) {
		for (uint64_t m = 0; m <= n; m++) {
			const vec *v = vec_find("cons", m, n);
			const vec *v1 = vec_find("root", m, 0);
			const vec *v2 = vec_find("root", n, 0);
			size_t     np;

			if (v == NULL || v1 == NULL || v2 == NULL)
				continue;
			np = v->np;
			memcpy(r1, v1->p, HL);
			memcpy(r2, v2->p, HL);
			memcpy(p, v->p, np * HL);
			check_cons(m, n, r1, r2, p, np, CM_OK);
			if (m > 0) {
				flip_bit(r1, 0);
				check_cons(m, n, r1, r2, p, np, CM_EVERIFY);
				flip_bit(r1, 0);
				flip_bit(r2, 1);
				check_cons(m, n, r1, r2, p, np, CM_EVERIFY);
				flip_bit(r2, 1);
			}
			for (unsigned j = 0; j < np; j++) {
				flip_bit(p + j * HL, 2 + j);
				check_cons(m, n, r1, r2, p, np, CM_EVERIFY);
				flip_bit(p + j * HL, 2 + j);
			}
			if (np > 0)
				check_cons(m, n, r1, r2, p, np - 1, CM_EVERIFY);
			memcpy(p + np * HL, r1, HL);
			check_cons(m, n, r1, r2, p, np + 1, CM_EVERIFY);
			if (m > 0) {
				check_cons(m + 1, n, r1, r2, p, np,
				           cons_expect(m, n, m + 1, n));
				if (m > 1)
					check_cons(m - 1, n, r1, r2, p, np,
					           cons_expect(m, n, m - 1, n));
				check_cons(m, n + 1, r1, r2, p, np,
				           cons_expect(m, n, m, n + 1));
				check_cons(m, n - 1, r1, r2, p, np,
				           cons_expect(m, n, m, n - 1));
			}
			if (m > 0 && m < n)
				check_cons(m, n, r2, r1, p, np, CM_EVERIFY);
			if (m < n)
				check_cons(n, m, r1, r2, p, np, CM_EVERIFY);
		}
	}
	printf("consistency corruptions refused: %u\n", ncorrupt);
	TST_TRUE(ncorrupt > 300);
}

static void
test_verifier_edges(void)
{
	uint8_t a[HL], b[HL], big[1000 * HL];

	memset(a, 0xa5, HL);
	memset(b, 0x5a, HL);
	memset(big, 0x33, sizeof(big));
	/* A one-leaf tree's root is the leaf hash; its proof is empty. */
	TST_OK(ldg_verify_inclusion(a, 0, 1, NULL, 0, a));
	TST_ERR(ldg_verify_inclusion(a, 0, 1, b, 1, a), CM_EVERIFY);
	TST_ERR(ldg_verify_inclusion(a, 1, 1, NULL, 0, a), CM_EVERIFY);
	TST_ERR(ldg_verify_inclusion(a, 0, 0, NULL, 0, a), CM_EVERIFY);
	TST_ERR(ldg_verify_inclusion(a, 0, 2, NULL, 0, a), CM_EVERIFY);
	TST_ERR(ldg_verify_inclusion(a, UINT64_MAX, UINT64_MAX, big, 64, a),
	        CM_EVERIFY);
	TST_ERR(ldg_verify_inclusion(a, UINT64_MAX - 1, UINT64_MAX, big, 64, a),
	        CM_EVERIFY);
	TST_ERR(ldg_verify_inclusion(a, 12345, UINT64_MAX, big, 1000, a),
	        CM_EVERIFY);
	/* Equal sizes: empty proof and equal roots only. */
	TST_OK(ldg_verify_consistency(3, 3, a, a, NULL, 0));
	TST_ERR(ldg_verify_consistency(3, 3, a, b, NULL, 0), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(3, 3, a, a, a, 1), CM_EVERIFY);
	/* Anything extends the empty tree, with an empty proof, but only
	 * the empty tree's root (SHA-256 of nothing) is its root. */
	uint8_t e[CM_HASH_LEN];
	cm_sha256("", 0, e);
	TST_OK(ldg_verify_consistency(0, 0, e, e, NULL, 0));
	TST_ERR(ldg_verify_consistency(0, 0, a, a, NULL, 0), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(0, 0, e, b, NULL, 0), CM_EVERIFY);
	TST_OK(ldg_verify_consistency(0, 5, e, b, NULL, 0));
	TST_ERR(ldg_verify_consistency(0, 5, a, b, NULL, 0), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(0, 5, e, b, a, 1), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(5, 3, a, b, NULL, 0), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(5, 3, a, b, big, 3), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(3, 5, a, b, NULL, 0), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(4, 8, a, b, NULL, 0), CM_EVERIFY);
	TST_ERR(ldg_verify_consistency(1, UINT64_MAX, a, b, big, 1000),
	        CM_EVERIFY);
	TST_ERR(
	    ldg_verify_consistency(UINT64_MAX - 1, UINT64_MAX, a, b, big, 64),
	    CM_EVERIFY);
}

/* ---- stored trees -------------------------------------------------------- */

static void
test_append_order(void)
{
	static const struct {
		unsigned level;
		uint64_t n, idx;
	} want[] = {{0, 0, 0},  {0, 1, 1},  {1, 0, 2},  {0, 2, 3},
	            {0, 3, 4},  {1, 1, 5},  {2, 0, 6},  {0, 4, 7},
	            {0, 5, 8},  {1, 2, 9},  {0, 6, 10}, {0, 7, 11},
	            {1, 3, 12}, {2, 1, 13}, {3, 0, 14}, {0, 8, 15}};
	uint64_t leaves = 0;
	mstore   s;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		TST_EQ_U(dense_index(want[i].level, want[i].n), want[i].idx);
	TST_EQ_U(dense_count(0), 0);
	TST_EQ_U(dense_count(1), 1);
	TST_EQ_U(dense_count(8), 15);
	TST_EQ_U(dense_count(9), 16);
	TST_EQ_U(dense_count(UINT64_C(1) << 63), UINT64_MAX);
	TST_EQ_U(dense_index(64, 0), UINT64_MAX);
	/* Every append writes densely, and stored_count matches. */
	if (!mstore_init(&s, 1000))
		return;
	for (uint64_t size = 1; size <= 1000; size++) {
		mstore_grow(&s, &leaves, size, synth_leaf);
		if (s.n != dense_count(size))
			break;
	}
	/* Each complete subtree (level, n) of 1000 leaves sits at its index
	 * and holds the naive MTH of its leaves. */
	for (unsigned l = 0; l < 10; l++) {
		for (uint64_t n = 0; ((n + 1) << l) <= 1000; n++) {
			uint8_t h[HL];

			naive_mth(&s, n << l, (n + 1) << l, h);
			TST_EQ_MEM(s.h[dense_index(l, n)], h, HL);
		}
	}
	mstore_fini(&s);
}

static cm_err
fail_read(void *ctx, unsigned level, uint64_t n, uint8_t out[HL])
{
	(void) ctx;
	(void) level;
	(void) n;
	memset(out, 0, HL);
	return (CM_ECORRUPT);
}

static void
test_tree_errors(void)
{
	uint64_t leaves = 0;
	uint8_t  h[HL], want[HL];
	mstore   s;
	cm_buf   b = {0};

	if (!mstore_init(&s, 16))
		return;
	mstore_grow(&s, &leaves, 5, synth_leaf);
	TST_OK(cm_buf_append(&b, "xyz", 3));
	TST_ERR(ldg_tree_inclusion(mstore_read, &s, 5, 5, &b), CM_EINVAL);
	TST_ERR(ldg_tree_inclusion(mstore_read, &s, 0, 0, &b), CM_EINVAL);
	TST_ERR(ldg_tree_consistency(mstore_read, &s, 6, 5, &b), CM_EINVAL);
	TST_EQ_U(b.len, 3);
	/* Sizes past the stored tree: the read's error, out unchanged. */
	TST_ERR(ldg_tree_root(mstore_read, &s, 6, h), CM_ENOTFOUND);
	TST_ERR(ldg_tree_inclusion(mstore_read, &s, 0, 6, &b), CM_ENOTFOUND);
	TST_ERR(ldg_tree_consistency(mstore_read, &s, 3, 6, &b), CM_ENOTFOUND);
	TST_EQ_U(b.len, 3);
	/* A failing read at each position of a proof. */
	for (uint64_t at = 1; at <= 3; at++) {
		s.reads = 0;
		s.fail_at = at;
		TST_ERR(ldg_tree_inclusion(mstore_read, &s, 2, 5, &b), CM_EIO);
		s.reads = 0;
		TST_ERR(ldg_tree_consistency(mstore_read, &s, 3, 5, &b),
		        CM_EIO);
		TST_EQ_U(b.len, 3);
	}
	s.reads = 0;
	s.fail_at = 1;
	TST_ERR(ldg_tree_root(mstore_read, &s, 5, h), CM_EIO);
	s.fail_at = 0;
	/* Empty results need no reads. */
	s.reads = 0;
	TST_OK(ldg_tree_consistency(fail_read, NULL, 0, 5, &b));
	TST_OK(ldg_tree_consistency(fail_read, NULL, 5, 5, &b));
	TST_OK(ldg_tree_inclusion(fail_read, NULL, 0, 1, &b));
	TST_OK(ldg_tree_root(fail_read, NULL, 0, h));
	TST_EQ_U(b.len, 3);
	hex_hash(empty_root, want);
	TST_EQ_MEM(h, want, HL);
	TST_ERR(ldg_tree_root(fail_read, NULL, 1, h), CM_ECORRUPT);
	/* Append: read and write errors come back; too many leaves. */
	synth_leaf(5, h);
	TST_ERR(ldg_tree_append(fail_read, mstore_write, &s, 5, h),
	        CM_ECORRUPT);
	s.n = dense_count(5);
	s.fail_write = 1;
	TST_ERR(ldg_tree_append(mstore_read, mstore_write, &s, 5, h), CM_EIO);
	s.fail_write = 0;
	TST_ERR(ldg_tree_append(mstore_read, mstore_write, &s,
	                        UINT64_C(1) << 63, h),
	        CM_EINVAL);
	TST_EQ_U(s.bad_writes, 0);
	/* In memory: no leaf i >= n. */
	TST_ERR(ldg_merkle_path((const uint8_t(*)[HL]) s.h, 0, 0, &b),
	        CM_EINVAL);
	TST_ERR(ldg_merkle_path((const uint8_t(*)[HL]) s.h, 3, 3, &b),
	        CM_EINVAL);
	TST_EQ_U(b.len, 3);
	cm_buf_fini(&b);
	mstore_fini(&s);
}

/* Sizes up to SMALL_N: every root, path and proof against the naive
 * recursive definitions and the in-memory functions, and verified. */
#define SMALL_N 100

static void
test_small_trees(void)
{
	uint8_t(*lv)[HL] = NULL;
	uint8_t  root[SMALL_N + 1][HL], h[HL];
	uint64_t leaves = 0;
	mstore   s;
	cm_buf   got = {0}, want = {0};

	if (!mstore_init(&s, SMALL_N))
		return;
	mstore_grow(&s, &leaves, SMALL_N, synth_leaf);
	lv = cm_calloc(SMALL_N, HL);
	TST_TRUE(lv != NULL);
	if (lv == NULL)
		goto out;
	for (uint64_t i = 0; i < SMALL_N; i++)
		memcpy(lv[i], mstore_leaf(&s, i), HL);
	for (uint64_t n = 0; n <= SMALL_N; n++) {
		naive_mth(&s, 0, n, root[n]);
		s.reads = 0;
		TST_OK(ldg_tree_root(mstore_read, &s, n, h));
		TST_TRUE(s.reads <= read_bound(n));
		TST_EQ_MEM(h, root[n], HL);
		ldg_merkle_root((const uint8_t(*)[HL]) lv, n, h);
		TST_EQ_MEM(h, root[n], HL);
	}
	for (uint64_t n = 1; n <= SMALL_N; n++) {
		for (uint64_t i = 0; i < n; i++) {
			cm_buf_reset(&want);
			naive_path(&s, i, 0, n, &want);
			cm_buf_reset(&got);
			s.reads = 0;
			TST_OK(ldg_tree_inclusion(mstore_read, &s, i, n, &got));
			TST_TRUE(s.reads <= read_bound(n));
			TST_TRUE(cm_bytes_eq(cm_buf_bytes(&got),
			                     cm_buf_bytes(&want)));
			TST_OK(ldg_verify_inclusion(lv[i], i, n, got.p,
			                            got.len / HL, root[n]));
			cm_buf_reset(&got);
			TST_OK(ldg_merkle_path((const uint8_t(*)[HL]) lv,
			                       (size_t) n, (size_t) i, &got));
			TST_TRUE(cm_bytes_eq(cm_buf_bytes(&got),
			                     cm_buf_bytes(&want)));
		}
		for (uint64_t m = 0; m <= n; m++) {
			cm_buf_reset(&want);
			if (m > 0 && m < n)
				naive_subproof(&s, m, 0, n, 1, &want);
			cm_buf_reset(&got);
			s.reads = 0;
			TST_OK(
			    ldg_tree_consistency(mstore_read, &s, m, n, &got));
			TST_TRUE(s.reads <= read_bound(n));
			TST_TRUE(cm_bytes_eq(cm_buf_bytes(&got),
			                     cm_buf_bytes(&want)));
			TST_OK(ldg_verify_consistency(m, n, root[m], root[n],
			                              got.p, got.len / HL));
		}
	}
out:
	cm_free(lv);
	cm_buf_fini(&got);
	cm_buf_fini(&want);
	mstore_fini(&s);
}

/* ---- read counts up to 2^20 + 1 leaves ----------------------------------- */

#define NSIZES (3 * (BIG_K + 1))
#define ALL_UPTO 4097 /* every index / size1 up to this size2 */

#define NAIVE_N 1024 /* naive roots of every size up to this */

static uint64_t sizes[NSIZES];
static uint8_t  size_root[NSIZES][HL]; /* naive MTH */
static size_t   nsizes;
static uint8_t  naive_root[NAIVE_N + 1][HL];

static const uint8_t *
size_root_find(uint64_t size)
{
	if (size <= NAIVE_N)
		return (naive_root[size]);
	for (size_t i = 0; i < nsizes; i++)
		if (sizes[i] == size)
			return (size_root[i]);
	return (NULL);
}

/* A deterministic sample of [0, limit): edges, powers of two +-1, and
 * pseudo-random points. */
static size_t
sample_make(uint64_t limit, uint64_t *out, size_t cap, uint64_t *seed)
{
	size_t n = 0;

#define SAMPLE_ADD(v)                                                          \
	do {                                                                   \
		uint64_t v_ = (v);                                             \
		if (v_ < limit && n < cap)                                     \
			out[n++] = v_;                                         \
	} while (0)
	if (limit <= ALL_UPTO) {
		for (uint64_t v = 0; v < limit; v++)
			SAMPLE_ADD(v);
		return (n);
	}
	for (unsigned j = 0; j < 64; j++) {
		SAMPLE_ADD((UINT64_C(1) << j) - 1);
		SAMPLE_ADD(UINT64_C(1) << j);
		SAMPLE_ADD((UINT64_C(1) << j) + 1);
	}
	SAMPLE_ADD(limit - 1);
	SAMPLE_ADD(limit - 2);
	SAMPLE_ADD(limit / 2);
	SAMPLE_ADD(limit / 2 + 1);
	for (unsigned j = 0; j < 64; j++) {
		*seed = *seed * 6364136223846793005u + 1442695040888963407u;
		SAMPLE_ADD((*seed >> 11) % limit);
	}
#undef SAMPLE_ADD
	return (n);
}

static void
test_read_bounds(void)
{
	uint64_t       leaves = 0, seed = 1, sample[ALL_UPTO + 256];
	uint64_t       max_root = 0, max_incl = 0, max_cons = 0;
	uint64_t       nincl = 0, ncons = 0;
	const uint64_t top = (UINT64_C(1) << BIG_K) + 1;
	uint8_t        root[HL], r1[HL];
	mstore         s;
	cm_buf         b = {0};

	nsizes = 0;
	for (unsigned k = 0; k <= BIG_K; k++) {
		uint64_t p = UINT64_C(1) << k;

		/* 2^k - 1, 2^k, 2^k + 1, increasing and without repeats. */
		if (p - 1 > 0 && (nsizes == 0 || sizes[nsizes - 1] < p - 1))
			sizes[nsizes++] = p - 1;
		if (nsizes == 0 || sizes[nsizes - 1] < p)
			sizes[nsizes++] = p;
		sizes[nsizes++] = p + 1;
	}
	if (!mstore_init(&s, top))
		return;
	mstore_grow(&s, &leaves, top, synth_leaf);
	for (size_t z = 0; z < nsizes; z++)
		naive_mth(&s, 0, sizes[z], size_root[z]);
	for (uint64_t m = 0; m <= NAIVE_N; m++)
		naive_mth(&s, 0, m, naive_root[m]);

	for (size_t z = 0; z < nsizes; z++) {
		uint64_t size = sizes[z], bound = read_bound(size);
		uint64_t mr, mi = 0, mc = 0;
		size_t   ns;

		s.reads = 0;
		TST_OK(ldg_tree_root(mstore_read, &s, size, root));
		TST_EQ_MEM(root, size_root[z], HL);
		mr = s.reads;
		TST_TRUE(mr <= bound);

		ns = sample_make(size, sample, sizeof(sample) / 8, &seed);
		for (size_t j = 0; j < ns; j++) {
			uint64_t i = sample[j];

			cm_buf_reset(&b);
			s.reads = 0;
			TST_OK(
			    ldg_tree_inclusion(mstore_read, &s, i, size, &b));
			if (s.reads > mi)
				mi = s.reads;
			if (s.reads > bound)
				TST_FAIL_("inclusion %llu of %llu: %llu reads",
				          (unsigned long long) i,
				          (unsigned long long) size,
				          (unsigned long long) s.reads);
			TST_OK(ldg_verify_inclusion(mstore_leaf(&s, i), i, size,
			                            b.p, b.len / HL, root));
			nincl++;
		}

		/* size1 over the same sample plus size itself, and every
		 * test size below: those have naive roots. */
		ns = sample_make(size + 1, sample, sizeof(sample) / 8, &seed);
		for (size_t y = 0; y < nsizes && sizes[y] <= size; y++)
			if (ns < sizeof(sample) / 8)
				sample[ns++] = sizes[y];
		for (size_t j = 0; j < ns; j++) {
			uint64_t       m = sample[j];
			const uint8_t *want = size_root_find(m);

			/* Large random size1 values have no naive root;
			 * their ldg_tree_root is checked by the verifier. */
			TST_OK(ldg_tree_root(mstore_read, &s, m, r1));
			if (want != NULL)
				TST_EQ_MEM(r1, want, HL);
			cm_buf_reset(&b);
			s.reads = 0;
			TST_OK(
			    ldg_tree_consistency(mstore_read, &s, m, size, &b));
			if (s.reads > mc)
				mc = s.reads;
			if (s.reads > bound)
				TST_FAIL_("consistency %llu..%llu: %llu reads",
				          (unsigned long long) m,
				          (unsigned long long) size,
				          (unsigned long long) s.reads);
			TST_OK(ldg_verify_consistency(m, size, r1, root, b.p,
			                              b.len / HL));
			ncons++;
		}
		printf("reads size=%llu root=%llu inclusion<=%llu "
		       "consistency<=%llu bound=%llu\n",
		       (unsigned long long) size, (unsigned long long) mr,
		       (unsigned long long) mi, (unsigned long long) mc,
		       (unsigned long long) bound);
		if (mr > max_root)
			max_root = mr;
		if (mi > max_incl)
			max_incl = mi;
		if (mc > max_cons)
			max_cons = mc;
	}
	printf("reads max: root %llu, inclusion %llu, consistency %llu over "
	       "%llu inclusion and %llu consistency proofs\n",
	       (unsigned long long) max_root, (unsigned long long) max_incl,
	       (unsigned long long) max_cons, (unsigned long long) nincl,
	       (unsigned long long) ncons);
	TST_TRUE(nincl > 10000 && ncons > 10000);
	cm_buf_fini(&b);
	mstore_fini(&s);
}

/* ldg_tree_parents: every parent it gives is MTH of the leaves under it
 * (ldg_merkle_root over those leaf hashes), and it gives every parent whose
 * leaves all lie in the range, for ranges starting at every offset below
 * 70 and lengths up to 140 (several complete subtrees of 64). */
static void
test_tree_parents(void)
{
	enum { NMAX = 140 };
	static uint8_t lh[NMAX][CM_HASH_LEN];
	static uint8_t up[NMAX][LDG_UP_MAX][CM_HASH_LEN];
	uint8_t        nup[NMAX], want[CM_HASH_LEN];
	size_t         checked = 0;

	for (size_t i = 0; i < NMAX; i++)
		for (size_t j = 0; j < CM_HASH_LEN; j++)
			lh[i][j] = (uint8_t) (i * 31 + j * 7 + 1);
	for (uint64_t first = 0; first < 70; first++) {
		for (size_t n = 1; n <= NMAX; n += 1 + n / 8) {
			ldg_tree_parents(first,
			                 (const uint8_t(*)[CM_HASH_LEN]) lh, n,
			                 up, nup);
			for (size_t i = 0; i < n; i++) {
				uint64_t m = first + i;
				unsigned l;

				for (l = 0; l < nup[i]; l++) {
					uint64_t w = (uint64_t) 2 << l;

					/* Level l+1 ends at m: bit l set and
					 * its leaves start in the range. */
					TST_TRUE(((m >> l) & 1) != 0);
					TST_TRUE(m + 1 >= first + w);
					ldg_merkle_root(
					    (const uint8_t(*)[CM_HASH_LEN])(
					        lh + (i + 1 - w)),
					    (size_t) w, want);
					TST_TRUE(memcmp(up[i][l], want,
					                CM_HASH_LEN) == 0);
					checked++;
				}
				/* Nothing more was in reach. */
				TST_TRUE(nup[i] == LDG_UP_MAX ||
				         ((m >> nup[i]) & 1) == 0 ||
				         m + 1 <
				             first + ((uint64_t) 2 << nup[i]));
			}
		}
	}
	TST_TRUE(checked > 10000);
}

TST_MAIN(TST_CASE(test_hashes), TST_CASE(test_rfc6962_roots),
         TST_CASE(test_tree_parents), TST_CASE(test_rfc6962_proofs),
         TST_CASE(test_inclusion_corruptions),
         TST_CASE(test_consistency_corruptions), TST_CASE(test_verifier_edges),
         TST_CASE(test_append_order), TST_CASE(test_tree_errors),
         TST_CASE(test_small_trees), TST_CASE(test_read_bounds))
