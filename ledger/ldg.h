/* SPDX-License-Identifier: MIT */
/* ledger/ldg.h -- the ledger: an append-only log of signed entries in LMDB,
 * its Merkle tree and proofs (RFC 6962 / RFC 9162 section 2), checkpoints
 * (C2SP signed notes), identities, and the module API through which trace,
 * credit and the service add record kinds and indexers.  Formats:
 * docs/format.md.  Locking: an ldg_store may be shared between threads; an
 * ldg_txn may not. */
#ifndef LEDGER_LDG_H
#define LEDGER_LDG_H

#include "ledger/cm.h"

/* ==== Merkle tree (ledger/ldg_merkle.c; pure, no storage) ================
 * Leaf hash = SHA-256(0x00 || leaf); node = SHA-256(0x01 || left || right);
 * the empty tree's root is SHA-256(""). */
void ldg_leaf_hash(cm_bytes leaf, uint8_t out[CM_HASH_LEN]);
void ldg_node_hash(const uint8_t left[CM_HASH_LEN],
    const uint8_t right[CM_HASH_LEN], uint8_t out[CM_HASH_LEN]);

/* In memory, over n leaf hashes (a batch): the root, and the inclusion path
 * of leaf i (appended to out as 32-byte hashes, leaf's sibling first). */
void   ldg_merkle_root(const uint8_t (*leaves)[CM_HASH_LEN], size_t n,
      uint8_t out[CM_HASH_LEN]);
cm_err ldg_merkle_path(const uint8_t (*leaves)[CM_HASH_LEN], size_t n,
    size_t i, cm_buf *out);

/* Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2).  proof holds nproof 32-byte
 * hashes.  CM_OK if valid, CM_EVERIFY if not (any bad size, index, length or
 * hash).  Edge cases (docs/format.md): consistency with size1 == size2 needs
 * an empty proof and equal roots; size1 == 0 needs an empty proof (anything
 * is consistent with the empty tree); size1 > size2 is invalid. */
CM_MUST_CHECK cm_err ldg_verify_inclusion(const uint8_t leaf_hash[CM_HASH_LEN],
    uint64_t index, uint64_t size, const uint8_t *proof, size_t nproof,
    const uint8_t root[CM_HASH_LEN]);
CM_MUST_CHECK cm_err ldg_verify_consistency(uint64_t size1, uint64_t size2,
    const uint8_t root1[CM_HASH_LEN], const uint8_t root2[CM_HASH_LEN],
    const uint8_t *proof, size_t nproof);

/* Stored trees.  Every complete subtree (level l, index n: leaves
 * [n*2^l, (n+1)*2^l)) is stored once, at a dense position that only grows
 * as leaves are appended (so LMDB can MDB_APPEND them): appending leaf n
 * stores 1 + (trailing one bits of n) hashes. */
uint64_t ldg_tree_stored_index(unsigned level, uint64_t n);
/* Number of stored hashes for a tree of size leaves. */
uint64_t ldg_tree_stored_count(uint64_t size);

/* Reads the stored hash of complete subtree (level, n) into out.  Returns
 * CM_ENOTFOUND if absent, or the storage's error. */
typedef cm_err (*ldg_node_read_fn)(void *ctx, unsigned level, uint64_t n,
    uint8_t out[CM_HASH_LEN]);
/* Called once per hash to store: (stored index, level, n, hash). */
typedef cm_err (*ldg_node_write_fn)(void *ctx, uint64_t idx, unsigned level,
    uint64_t n, const uint8_t hash[CM_HASH_LEN]);

/* Appends leaf number n (the tree had n leaves) with its leaf hash: calls
 * write for each new complete subtree, in increasing stored index, reading
 * left siblings with read. */
cm_err ldg_tree_append(ldg_node_read_fn read, ldg_node_write_fn write,
    void *ctx, uint64_t n, const uint8_t leaf_hash[CM_HASH_LEN]);
/* Root of the first size leaves (any past size). */
cm_err ldg_tree_root(ldg_node_read_fn read, void *ctx, uint64_t size,
    uint8_t out[CM_HASH_LEN]);
/* Inclusion proof of leaf index in the tree of size leaves, and consistency
 * proof between sizes size1 <= size2, as RFC 6962 PATH and PROOF; hashes
 * appended to out.  At most 2*ceil(log2 size)+2 node reads each. */
cm_err ldg_tree_inclusion(ldg_node_read_fn read, void *ctx, uint64_t index,
    uint64_t size, cm_buf *out);
cm_err ldg_tree_consistency(ldg_node_read_fn read, void *ctx, uint64_t size1,
    uint64_t size2, cm_buf *out);

/* ==== Checkpoints and verifier keys (ledger/ldg_note.c) ==================
 * C2SP tlog-checkpoint signed notes with Ed25519 (signed-note type 0x01). */
#define LDG_ORIGIN_MAX 255
typedef struct ldg_checkpoint {
	char     origin[LDG_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t  root[CM_HASH_LEN];
} ldg_checkpoint;

typedef struct ldg_vkey {
	char    name[LDG_ORIGIN_MAX + 1];
	uint8_t id[4]; /* SHA-256(name || 0x0A || 0x01 || pub)[:4] */
	uint8_t pub[CM_PUBKEY_LEN];
} ldg_vkey;

/* CM_OK if origin is a valid origin / key name: 1..255 bytes, printable
 * ASCII (0x21..0x7E), no '+'. */
CM_MUST_CHECK cm_err ldg_origin_check(const char *origin, cm_diag *d);
/* Builds the vkey of a public key with name. */
cm_err ldg_vkey_make(const char *name, const uint8_t pub[CM_PUBKEY_LEN],
    ldg_vkey *out, cm_diag *d);
/* "<name>+<hex id>+<base64(0x01 || pub)>", NUL-terminated, appended. */
cm_err ldg_vkey_format(const ldg_vkey *vk, cm_buf *out);
/* Parses the above (surrounding whitespace/newline allowed); refuses a key
 * ID that does not match the name and key, and non-Ed25519 types. */
CM_MUST_CHECK cm_err ldg_vkey_parse(cm_bytes text, ldg_vkey *out, cm_diag *d);
/* The note body "<origin>\n<size>\n<base64 root>\n". */
cm_err ldg_checkpoint_body(const ldg_checkpoint *c, cm_buf *out);
/* Signs c with k (key name = c->origin) and appends the whole note. */
cm_err ldg_checkpoint_sign(const ldg_checkpoint *c, const cm_key *k,
    cm_buf *out);
/* Parses a note and verifies the signature of vk (whose name must equal the
 * origin).  Signature lines of other keys are ignored (witness
 * cosignatures); at most 100 signature lines.  Refuses extension lines,
 * leading zeros, a root that is not 32 bytes, a missing or bad signature by
 * vk.  CM_EPROTO malformed, CM_EBADSIG bad or missing signature. */
CM_MUST_CHECK cm_err ldg_checkpoint_verify(cm_bytes note, const ldg_vkey *vk,
    ldg_checkpoint *out, cm_diag *d);
/* Parses without verifying (for display); same syntax rules. */
CM_MUST_CHECK cm_err ldg_checkpoint_parse(cm_bytes note, ldg_checkpoint *out,
    cm_diag *d);

/* ==== Unified social credit code (ledger/ldg_uscc.c) =====================
 * GB 32100-2015: 18 characters over 0-9 A-H J-N P-R T U W X Y; the
 * registration-authority / entity-type pair of the standard (as amended);
 * positions 3-8 digits; positions 9-17 a GB 11714 organisation code with
 * its check character; position 18 the mod-31 check character.  CM_OK if
 * valid; CM_EINVAL with the reason in the diag otherwise.  The reason for
 * lower-case input is exactly "lowercase". */
#define LDG_USCC_LEN 18
CM_MUST_CHECK cm_err ldg_uscc_check(cm_bytes code, cm_diag *d);

#endif /* LEDGER_LDG_H */
