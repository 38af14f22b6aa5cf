/* SPDX-License-Identifier: MIT */
/* tests/ledger/merkle_dump.c -- prints every root, inclusion path and
 * consistency proof of ledger/ldg_merkle.c for the RFC 6962 8-leaf tree and
 * for a synthetic tree of N leaves (leaf i = its index, 8 bytes big-endian),
 * as text lines that tests/ledger/merkle_crosscheck.py recomputes with an
 * independent implementation.  Usage: merkle_dump N */
#include "ledger/ldg.h"
#include "tests/ledger/dense_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stored tree in memory, indexed by stored index. */
typedef struct store {
	uint8_t (*h)[CM_HASH_LEN];
	uint64_t n;
} store;

static cm_err
store_read(void *ctx, unsigned level, uint64_t n, uint8_t out[CM_HASH_LEN])
{
	const store *s = ctx;
	uint64_t     idx = dense_index(level, n);

	if (idx >= s->n)
		return (CM_ENOTFOUND);
	memcpy(out, s->h[idx], CM_HASH_LEN);
	return (CM_OK);
}

static cm_err
store_write(void *ctx, unsigned level, uint64_t n,
            const uint8_t hash[CM_HASH_LEN])
{
	store   *s = ctx;
	uint64_t idx = dense_index(level, n);

	if (idx != s->n)
		return (CM_EINVAL);
	memcpy(s->h[idx], hash, CM_HASH_LEN);
	s->n++;
	return (CM_OK);
}

static void
hex_print(const uint8_t *p, size_t len)
{
	if (len == 0)
		fputs(" -", stdout);
	else
		putchar(' ');
	for (size_t i = 0; i < len; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

/* Prints the lines of one tree of n leaves (leaf data in leaf[i]). */
static int
tree_dump(const char *name, const cm_bytes *leaf, size_t n)
{
	uint8_t(*lh)[CM_HASH_LEN] = NULL;
	uint8_t root[CM_HASH_LEN];
	store   s = {NULL, 0};
	cm_buf  b = {0};
	cm_err  rv = CM_ENOMEM;

	lh = calloc(n ? n : 1, CM_HASH_LEN);
	s.h = calloc(dense_count(n) + 1, CM_HASH_LEN);
	if (lh == NULL || s.h == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		ldg_leaf_hash(leaf[i], lh[i]);
		rv = ldg_tree_append(store_read, store_write, &s, i, lh[i]);
		if (rv != CM_OK)
			goto out;
	}
	for (size_t m = 0; m <= n; m++) {
		if ((rv = ldg_tree_root(store_read, &s, m, root)) != CM_OK)
			goto out;
		printf("%s root %zu", name, m);
		hex_print(root, CM_HASH_LEN);
		ldg_merkle_root((const uint8_t(*)[CM_HASH_LEN]) lh, m, root);
		printf("%s mroot %zu", name, m);
		hex_print(root, CM_HASH_LEN);
	}
	for (size_t m = 1; m <= n; m++) {
		for (size_t i = 0; i < m; i++) {
			cm_buf_reset(&b);
			rv = ldg_tree_inclusion(store_read, &s, i, m, &b);
			if (rv != CM_OK)
				goto out;
			printf("%s incl %zu %zu", name, i, m);
			hex_print(b.p, b.len);
			cm_buf_reset(&b);
			rv = ldg_merkle_path((const uint8_t(*)[CM_HASH_LEN]) lh,
			                     m, i, &b);
			if (rv != CM_OK)
				goto out;
			printf("%s path %zu %zu", name, i, m);
			hex_print(b.p, b.len);
		}
	}
	for (size_t m2 = 0; m2 <= n; m2++) {
		for (size_t m1 = 0; m1 <= m2; m1++) {
			cm_buf_reset(&b);
			rv = ldg_tree_consistency(store_read, &s, m1, m2, &b);
			if (rv != CM_OK)
				goto out;
			printf("%s cons %zu %zu", name, m1, m2);
			hex_print(b.p, b.len);
		}
	}
	rv = CM_OK;
out:
	if (rv != CM_OK)
		fprintf(stderr, "merkle_dump: %s: %s\n", name, cm_strerror(rv));
	cm_buf_fini(&b);
	free(s.h);
	free(lh);
	return (rv == CM_OK ? 0 : 1);
}

int
main(int argc, char **argv)
{
	static const char *const rfc_hex[8] = {
	    "",
	    "00",
	    "10",
	    "2021",
	    "3031",
	    "40414243",
	    "5051525354555657",
	    "606162636465666768696a6b6c6d6e6f"};
	uint8_t  rfc_data[8][16], *synth = NULL;
	cm_bytes rfc[8], *leaf = NULL;
	size_t   n;
	int      rc = 1;

	if (argc != 2 || (n = strtoul(argv[1], NULL, 10)) > 100000) {
		fprintf(stderr, "usage: merkle_dump N\n");
		return (2);
	}
	for (size_t i = 0; i < 8; i++) {
		size_t len = strlen(rfc_hex[i]) / 2;

		for (size_t j = 0; j < len; j++)
			sscanf(rfc_hex[i] + 2 * j, "%2hhx", &rfc_data[i][j]);
		rfc[i] = CM_BYTES(rfc_data[i], len);
	}
	synth = calloc(n ? n : 1, 8);
	leaf = calloc(n ? n : 1, sizeof(*leaf));
	if (synth == NULL || leaf == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cm_put_u64be(synth + 8 * i, i);
		leaf[i] = CM_BYTES(synth + 8 * i, 8);
	}
	if (tree_dump("rfc", rfc, 8) != 0 || tree_dump("synth", leaf, n) != 0)
		goto out;
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(leaf);
	free(synth);
	return (rc);
}
