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
cm_err ldg_merkle_path(const uint8_t (*leaves)[CM_HASH_LEN], size_t n, size_t i,
                       cm_buf *out);

/* Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2).  proof holds nproof 32-byte
 * hashes.  CM_OK if valid, CM_EVERIFY if not (any bad size, index, length or
 * hash).  Edge cases (docs/format.md): consistency with size1 == size2 needs
 * an empty proof and equal roots; size1 == 0 needs an empty proof and root1 ==
 * SHA-256("") (anything extends the empty tree); size1 > size2 is invalid. */
CM_MUST_CHECK cm_err ldg_verify_inclusion(const uint8_t leaf_hash[CM_HASH_LEN],
                                          uint64_t index, uint64_t size,
                                          const uint8_t *proof, size_t nproof,
                                          const uint8_t root[CM_HASH_LEN]);
CM_MUST_CHECK cm_err ldg_verify_consistency(uint64_t size1, uint64_t size2,
                                            const uint8_t  root1[CM_HASH_LEN],
                                            const uint8_t  root2[CM_HASH_LEN],
                                            const uint8_t *proof,
                                            size_t         nproof);

/* Stored trees.  Every complete subtree (level l, index n: leaves
 * [n*2^l, (n+1)*2^l)) never changes once its last leaf is appended, so it
 * is written once, then: appending leaf n writes 1 + (trailing one bits of
 * n) hashes, the leaf's and one parent per level it completes.  Where they
 * are kept is the caller's: the store packs them into tiles of height 4
 * (docs/format.md), addressed by (level, n). */

/* Reads the stored hash of complete subtree (level, n) into out.  Returns
 * CM_ENOTFOUND if absent, or the storage's error. */
typedef cm_err (*ldg_node_read_fn)(void *ctx, unsigned level, uint64_t n,
                                   uint8_t out[CM_HASH_LEN]);
/* Called once per hash to store: (level, n, hash). */
typedef cm_err (*ldg_node_write_fn)(void *ctx, unsigned level, uint64_t n,
                                    const uint8_t hash[CM_HASH_LEN]);

/* Appends leaf number n (the tree had n leaves) with its leaf hash: calls
 * write for each new complete subtree, the leaf first, then upwards,
 * reading left siblings with read. */
cm_err ldg_tree_append(ldg_node_read_fn read, ldg_node_write_fn write,
                       void *ctx, uint64_t n,
                       const uint8_t leaf_hash[CM_HASH_LEN]);
/* The same, given up[0..nup) = the first nup parents that leaf n completes
 * (levels 1..nup), already hashed elsewhere: they are written as given, and
 * only the parents above them are read and hashed. */
cm_err ldg_tree_append_up(ldg_node_read_fn read, ldg_node_write_fn write,
                          void *ctx, uint64_t n,
                          const uint8_t leaf_hash[CM_HASH_LEN],
                          const uint8_t (*up)[CM_HASH_LEN], unsigned nup);
/* Hashes what ldg_tree_append_up can be given, off the writer's thread:
 * for leaves first..first+n-1 with hashes lh[0..n), the parents each leaf
 * completes inside that range (a subtree that starts before first is left
 * to the writer): up[i][0..nup[i]), at most LDG_UP_MAX each. */
#define LDG_UP_MAX 8 /* enough for chunks of up to 256 leaves */
void ldg_tree_parents(uint64_t first, const uint8_t (*lh)[CM_HASH_LEN],
                      size_t   n, uint8_t (*up)[LDG_UP_MAX][CM_HASH_LEN],
                      uint8_t *nup);
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
 * lower-case input is exactly "lowercase".  Lengths and positions count
 * characters: UTF-8 sequences, and each byte that is not UTF-8 as one. */
#define LDG_USCC_LEN 18
CM_MUST_CHECK cm_err ldg_uscc_check(cm_bytes code, cm_diag *d);

/* ==== Key-value API over LMDB (ledger/ldg_lmdb.c) ========================
 * The ledger is the only module that includes <lmdb.h>; modules own named
 * databases and reach them through this API.  Values returned are borrowed:
 * valid until the next write to that database in the txn or the txn's end. */
typedef struct ldg_store  ldg_store;
typedef struct ldg_txn    ldg_txn;
typedef struct ldg_cursor ldg_cursor;
typedef unsigned int      ldg_db;

#define LDG_DB_DUPSORT 0x1u /* several sorted values per key */

#define LDG_PUT_APPEND 0x1u      /* key sorts after every key (faster) */
#define LDG_PUT_NOOVERWRITE 0x2u /* CM_EEXIST if the key exists */

/* The handle of a database opened at ldg_open (core or a module's). */
CM_MUST_CHECK cm_err ldg_db_find(ldg_txn *t, const char *name, ldg_db *out);
cm_err ldg_kv_put(ldg_txn *t, ldg_db db, cm_bytes key, cm_bytes val,
                  unsigned flags);
/* CM_ENOTFOUND if absent. */
cm_err ldg_kv_get(ldg_txn *t, ldg_db db, cm_bytes key, cm_bytes *out);
/* Deletes key (val NULL: all its values; else that duplicate).  Refused on
 * the authoritative databases. */
cm_err ldg_kv_del(ldg_txn *t, ldg_db db, cm_bytes key, const cm_bytes *val);
cm_err ldg_cursor_open(ldg_txn *t, ldg_db db, ldg_cursor **out);
void   ldg_cursor_close(ldg_cursor *c); /* NULL-safe */
/* Positioning; each returns CM_ENOTFOUND at the end.  seek: first key >=
 * key; seek_dup: exact key, first value >= val. */
cm_err ldg_cursor_seek(ldg_cursor *c, cm_bytes key, cm_bytes *out_key,
                       cm_bytes *out_val);
cm_err ldg_cursor_first(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val);
cm_err ldg_cursor_last(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val);
cm_err ldg_cursor_next(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val);
cm_err ldg_cursor_prev(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val);
cm_err ldg_cursor_next_dup(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val);

/* ==== Typed fields of canonical CBOR maps (ledger/ldg_codec.c) ==========
 * Decodes a map into named fields: every key must be listed (unknown keys
 * are refused), fields marked required must be present, and when type is
 * not NULL the map's "t" must equal it (a decoder refuses any type it was
 * not asked for).  Values are borrowed from map. */
typedef struct ldg_field {
	const char *name;
	bool        required;
	bool        present;
	cm_bytes    val; /* the value's CBOR item */
} ldg_field;
CM_MUST_CHECK cm_err ldg_fields_decode(cm_bytes map, const char *type,
                                       ldg_field *f, size_t n, cm_diag *d);
/* The same over the entries cm_cbor_check_map found (no second walk); a map
 * it could not index (m->complete false) is decoded from m->item. */
CM_MUST_CHECK cm_err ldg_fields_from_map(const cm_cbor_map *m, const char *type,
                                         ldg_field *f, size_t n, cm_diag *d);
/* Typed getters; CM_EPROTO (naming the field) on a wrong type. */
CM_MUST_CHECK cm_err ldg_field_uint(const ldg_field *f, uint64_t *out,
                                    cm_diag *d);
CM_MUST_CHECK cm_err ldg_field_text(const ldg_field *f, cm_bytes *out,
                                    cm_diag *d);
CM_MUST_CHECK cm_err ldg_field_bytes(const ldg_field *f, cm_bytes *out,
                                     cm_diag *d);
/* A byte string of exactly len bytes. */
CM_MUST_CHECK cm_err ldg_field_fixed(const ldg_field *f, size_t len,
                                     uint8_t *out, cm_diag *d);
/* Copies a text field into a NUL-terminated buffer of size cap (no NUL
 * inside, fits). */
CM_MUST_CHECK cm_err ldg_field_cstr(const ldg_field *f, char *out, size_t cap,
                                    cm_diag *d);

/* ==== Identities ======================================================== */
typedef enum ldg_role {
	LDG_ROLE_NONE = 0,
	LDG_ROLE_OPERATOR,
	LDG_ROLE_REGULATOR,
	LDG_ROLE_BANK,
	LDG_ROLE_ENTERPRISE,
	/* Reads everything; which kinds it may write (only its own query
	 * records) is each kind's may_write, so no kind is written by an
	 * auditor unless it says so. */
	LDG_ROLE_AUDITOR
} ldg_role;
const char *ldg_role_name(ldg_role r);
ldg_role    ldg_role_parse(const char *s);  /* LDG_ROLE_NONE if unknown */
ldg_role    ldg_role_from_text(cm_bytes s); /* the same, for decoded text */

#define LDG_MAX_SCOPES 16
#define LDG_SCOPE_MAX 32
#define LDG_NAME_MAX 256
#define LDG_LABEL_MAX 64

/* One key's state as of a log position.  Filled by ldg_identity_get.  The
 * role, name, USCC and scopes are those its registration gave it (the
 * organisation's, or fewer scopes); a rotation hands them and the label on
 * to the new key. */
typedef struct ldg_identity {
	uint8_t  key_id[CM_KEYID_LEN];
	uint8_t  pub[CM_PUBKEY_LEN];
	ldg_role role;
	char     uscc[LDG_USCC_LEN + 1]; /* "" for the operator */
	char     name[LDG_NAME_MAX + 1];
	char     label[LDG_LABEL_MAX + 1]; /* "" when it has none */
	char     scopes[LDG_MAX_SCOPES][LDG_SCOPE_MAX + 1];
	size_t   nscopes;
	uint64_t reg_index; /* leaf that registered this key */
	uint64_t end_index; /* leaf that ended it (rotate/revoke); 0 = active */
	uint64_t compromised_since; /* log time; 0 = none */
	char     end_reason[16];    /* "rotated", "revoked", "compromised" */
} ldg_identity;

/* The identity with key_id (active or not).  CM_ENOTFOUND if never
 * registered. */
cm_err ldg_identity_get(ldg_txn *t, const uint8_t key_id[CM_KEYID_LEN],
                        ldg_identity *out);

/* An organisation (a USCC) is registered once, by the first register record
 * that names it, which fixes its role, name and scopes; every later key of
 * it must repeat the role and name and may hold fewer scopes (docs/format.md
 * 5.1).  It may hold several active keys at once, each with its own label
 * and sequence numbers. */
typedef struct ldg_org {
	char     uscc[LDG_USCC_LEN + 1];
	ldg_role role;
	char     name[LDG_NAME_MAX + 1];
	char     scopes[LDG_MAX_SCOPES][LDG_SCOPE_MAX + 1];
	size_t   nscopes;
	uint64_t reg_index; /* leaf of its first registration */
} ldg_org;

/* The readers below need the identity indexes of this program's version:
 * in a read transaction they check it first and return CM_EINVAL (the
 * diag says to run tally ledger reindex) on a ledger indexed by an older
 * tally. */
/* Organisation uscc.  CM_ENOTFOUND if no key was ever registered for it. */
cm_err ldg_org_get(ldg_txn *t, const char *uscc, ldg_org *out, cm_diag *d);
/* Calls fn for each key of organisation uscc in registration order (a
 * rotation's new key comes after the others), only the active ones with
 * LDG_KEYS_ACTIVE.  A return other than CM_OK from fn stops the walk and
 * is returned as is.  CM_OK for an unknown organisation (no keys). */
#define LDG_KEYS_ACTIVE 0x1u
typedef cm_err (*ldg_key_fn)(void *arg, const ldg_identity *key);
cm_err ldg_org_keys(ldg_txn *t, const char *uscc, unsigned flags, ldg_key_fn fn,
                    void *arg, cm_diag *d);
/* Calls fn for each organisation in USCC order; as ldg_org_keys. */
typedef cm_err (*ldg_org_fn)(void *arg, const ldg_org *org);
cm_err ldg_org_each(ldg_txn *t, ldg_org_fn fn, void *arg, cm_diag *d);
/* Whether scope (text, compared byte for byte with its length) is one of
 * the key's scopes. */
bool ldg_identity_has_scope(const ldg_identity *id, cm_bytes scope);
/* Writes the map member "scopes": [texts], as the identity states and the
 * CLI's JSON hold them. */
void ldg_scopes_write(cm_cbor_wr *w, const char (*scopes)[LDG_SCOPE_MAX + 1],
                      size_t      n);
/* Whether the batch whose header leaf is header_index was signed at or
 * after the log time from which its key was reported compromised: such
 * batches stay in the log and count, but every query flags them.  *out
 * (may be NULL) gets the signer.  CM_EINVAL if not a header leaf. */
cm_err ldg_batch_flagged(ldg_txn *t, uint64_t header_index, bool *out_flag,
                         ldg_identity *out_signer);
/* CM_OK if uscc is a valid code or one admitted by an exception record. */
CM_MUST_CHECK cm_err ldg_uscc_admitted(ldg_txn *t, cm_bytes uscc, cm_diag *d);

/* ==== Records, kinds and indexers (the module API) ======================
 * A record is a canonical CBOR map {"t": "tally/record/v1", "kind": K, ...}
 * signed as part of a batch.  A kind validates records of its name; an
 * indexer sees every leaf appended, inside the write transaction, writes
 * only its own databases and reads no clock or randomness. */
typedef struct ldg_record {
	uint64_t            index;        /* the record leaf's index */
	uint64_t            header_index; /* its batch header leaf */
	uint64_t            pos;          /* position in the batch */
	uint64_t            log_time;
	cm_bytes            rec;  /* the record bytes (signed) */
	cm_bytes            kind; /* the value of "kind" */
	const ldg_identity *signer;
	const void *decoded; /* the kind's decode output (views into rec) */
} ldg_record;

/* Room for a kind's decoded form of one record. */
#define LDG_DECODED_MAX 512

/* A record kind.  The append path decodes each record once, into storage
 * of decoded_size bytes (<= LDG_DECODED_MAX, aligned for any type), and
 * hands that to may_write, validate and every indexer (r->decoded). */
typedef struct ldg_kind {
	const char *name;
	size_t      decoded_size;
	/* Stateless checks of the record's fields; no txn.  out may be NULL
	 * (check only).  It runs before the write transaction, on any of the
	 * store's threads and concurrently for different records, so it must
	 * touch nothing but rec and out.  rec is the record, already checked
	 * canonical, with its top-level entries (rec->item is its bytes; use
	 * ldg_fields_from_map). */
	cm_err (*decode)(const cm_cbor_map *rec, void *out, cm_diag *d);
	/* May this identity write this record?  (Not a role list: may look at
	 * the record, e.g. an enterprise names only its own USCC.) */
	bool (*may_write)(const ldg_identity *id, const ldg_record *r,
	                  cm_diag *d);
	/* State checks inside the write txn (references, subjects...). */
	cm_err (*validate)(ldg_txn *t, const ldg_record *r, cm_diag *d);
} ldg_kind;

/* The leaf an indexer is shown.  type is the leaf's "t". */
typedef struct ldg_leaf {
	uint64_t          index;
	cm_bytes          bytes;
	cm_bytes          type;
	uint64_t          log_time;
	const ldg_record *record; /* NULL unless a record leaf */
} ldg_leaf;

typedef struct ldg_dbspec {
	const char *name;
	unsigned    flags; /* LDG_DB_* */
} ldg_dbspec;

typedef struct ldg_indexer {
	const char       *name;
	uint32_t          version;
	const ldg_dbspec *dbs; /* the databases it owns */
	size_t            ndbs;
	cm_err (*index)(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d);
} ldg_indexer;

/* A module: kinds, indexers and a hook called after each durable commit
 * with the first and last leaf index it added (alerts, publishing). */
typedef struct ldg_module {
	const char        *name;
	const ldg_kind    *kinds;
	size_t             nkinds;
	const ldg_indexer *indexers;
	size_t             nindexers;
	void (*post_commit)(void *arg, uint64_t first, uint64_t last);
	void *arg;
} ldg_module;

/* Reference to an earlier leaf: CM_OK if leaf index exists, is before
 * limit, and hashes to hash; CM_EREF otherwise. */
CM_MUST_CHECK cm_err ldg_ref_check(ldg_txn *t, uint64_t index, cm_bytes hash,
                                   uint64_t limit, cm_diag *d);
/* Decodes a record's "refs" ([{"h": bstr32, "i": uint}...], optional) and
 * checks each with ldg_ref_check. */
CM_MUST_CHECK cm_err ldg_record_refs_check(ldg_txn *t, const ldg_record *r,
                                           cm_diag *d);

/* ==== The store ========================================================= */
typedef struct ldg_params {
	uint64_t window_ms;       /* claimed time vs the writer's clock */
	uint64_t max_leaf;        /* bytes */
	uint64_t max_records;     /* per batch */
	uint64_t max_batch_bytes; /* per batch */
	uint64_t max_body;        /* bytes of a record body */
} ldg_params;
void ldg_params_default(ldg_params *out);
/* The bounds of genesis parameters (docs/format.md section 4): checked when
 * a genesis is made and whenever one is decoded.  CM_EINVAL naming the
 * parameter otherwise. */
#define LDG_WINDOW_MIN 1000                /* ms: one second */
#define LDG_WINDOW_MAX (24 * 3600 * 1000u) /* ms: one day */
CM_MUST_CHECK cm_err ldg_params_check(const ldg_params *p, cm_diag *d);

typedef struct ldg_opts {
	bool               readonly;
	const char        *checkpoint_key; /* NULL: DIR/checkpoint.key */
	uint64_t           mapsize;        /* 0: default */
	const ldg_module **modules;        /* extra modules */
	size_t             nmodules;
	bool               reindex; /* open for reindex despite stale indexes */
	/* Threads for the append path's checks and leaf building (a
	 * writable store): 0 = the CPUs online (at most 8), 1 = none. */
	unsigned threads;
} ldg_opts;

/* Creates a ledger in dir (must be empty or absent): key files with O_EXCL
 * and mode 0600, then the genesis leaf signed by op, committed last.  If
 * ckpt_key_path is NULL the checkpoint key is made in dir.  origin NULL:
 * "tally.invalid/<16 random hex>".  params NULL: the defaults; parameters
 * out of bounds are refused before anything is written.  log_time 0: the
 * clock (tests give one; the tally command always reads the clock). */
cm_err ldg_init(const char *dir, const cm_key *op, const char *origin,
                const char *ckpt_key_path, const ldg_params *params,
                uint64_t log_time, cm_diag *d);
/* The same for a ledger that will be opened with these extra modules
 * (ldg_opts.modules): their indexers index genesis in its one commit. */
cm_err ldg_init_modules(const char *dir, const cm_key *op, const char *origin,
                        const char *ckpt_key_path, const ldg_params *params,
                        uint64_t log_time, const ldg_module **modules,
                        size_t nmodules, cm_diag *d);

/* Opens the ledger in dir.  Without the checkpoint key (or with
 * opts->readonly) it is read-only; with the key on storage this process
 * may not write (a read-only mount, another user's lock.mdb) it is opened
 * read-only too (ldg_write_denied).  With the key it refuses to open when
 * the root recomputed at the latest checkpoint's size differs from that
 * note, or when indexers differ from those recorded (CM_EINVAL: run
 * reindex).  Before LMDB maps anything, data.mdb's meta pages are read: a
 * file shorter than its last commit, empty or not LMDB's is refused
 * (CM_ECORRUPT), as is a directory that holds no committed ledger
 * (CM_ENOTFOUND, naming an interrupted init when it is one).  Other
 * errors: CM_EACCES, CM_EROFS, CM_ENOMEM, CM_EIO.  d says which.  Owned
 * by the caller; release with ldg_close(). */
cm_err      ldg_open(const char *dir, const ldg_opts *opts, ldg_store **out,
                     cm_diag *d);
void        ldg_close(ldg_store *s); /* NULL-safe */
bool        ldg_writable(const ldg_store *s);
const char *ldg_origin(const ldg_store *s);
void        ldg_get_params(const ldg_store *s, ldg_params *out);
/* The verifier key of the checkpoint key. */
void ldg_checkpoint_vkey(const ldg_store *s, ldg_vkey *out);
void ldg_operator_pub(const ldg_store *s, uint8_t out[CM_PUBKEY_LEN]);
/* Why s does not write: CM_OK (it does), CM_EREADONLY (opened read-only
 * or without the checkpoint key), CM_EACCES or CM_EROFS (the key is here
 * but this process may not write the directory's files). */
cm_err ldg_write_denied(const ldg_store *s);
/* True when s reads without LMDB's lock file (MDB_NOLOCK), because this
 * process may not open lock.mdb for writing: its readers do not register,
 * so a writer running on the same directory meanwhile may reuse pages
 * they read (wrong answers, a false audit failure).  docs/cli.md. */
bool ldg_lockless(const ldg_store *s);

/* Read transactions (write transactions are the append path's). */
cm_err ldg_read_begin(ldg_store *s, ldg_txn **out);
void   ldg_txn_end(ldg_txn *t); /* NULL-safe; aborts a write txn */

/* Tree state in t. */
uint64_t ldg_size(ldg_txn *t);
cm_err   ldg_leaf_get(ldg_txn *t, uint64_t index, cm_bytes *out);
cm_err   ldg_root_at(ldg_txn *t, uint64_t size, uint8_t out[CM_HASH_LEN]);
cm_err   ldg_prove_inclusion(ldg_txn *t, uint64_t index, uint64_t size,
                             cm_buf *out);
cm_err   ldg_prove_consistency(ldg_txn *t, uint64_t size1, uint64_t size2,
                               cm_buf *out);
/* The stored note with exactly size (CM_ENOTFOUND if none); size
 * UINT64_MAX: the latest. */
cm_err ldg_checkpoint_get(ldg_txn *t, uint64_t size, cm_buf *out_note,
                          uint64_t *out_size);
/* The first stored checkpoint with size >= min_size. */
cm_err ldg_checkpoint_covering(ldg_txn *t, uint64_t min_size, cm_buf *out_note,
                               uint64_t *out_size);
/* The tree size as of log time ms (every batch with log time <= ms). */
cm_err ldg_size_at_time(ldg_txn *t, uint64_t ms, uint64_t *out);
/* The ledger's parameters (from genesis), for validators. */
void ldg_txn_params(const ldg_txn *t, ldg_params *out);
/* Node reads made by this txn's proof calls (tests count them). */
uint64_t ldg_node_reads(const ldg_txn *t);

/* ---- batches ---- */
typedef struct ldg_receipt {
	uint64_t header_index;
	uint64_t first_record; /* header_index + 1 */
	uint64_t nrecords;
	uint64_t seq;
	uint64_t log_time;
	uint64_t size;    /* tree size after the commit */
	bool     already; /* a byte-identical resend */
	uint8_t  key_id[CM_KEYID_LEN];
	cm_buf   checkpoint; /* the note signed at that commit */
	/* CM_OK, or why the checkpoint could not be fetched once the batch
	 * was in the log (checkpoint is then empty and size the tree size
	 * after the commit): the batch is accepted all the same. */
	cm_err checkpoint_err;
} ldg_receipt;
void ldg_receipt_fini(ldg_receipt *r);

/* Appends batches (batch files, docs/format.md) in one durable commit; each
 * batch is applied in a nested transaction, so a refused batch leaves the
 * others.  now_ms is the writer's clock reading for this commit: the caller
 * reads the clock, validators never do.  Each header leaf records it
 * ("clock"); claimed times are checked against it, and the log time is
 * max(previous log time, now_ms) (docs/format.md section 8.2).  status[i]
 * and diag[i] (may be NULL) tell each batch's fate; receipts[i] is filled
 * for accepted (and already-accepted) ones.  Returns CM_OK if the commit
 * happened (even if every batch was refused), else the commit's error.
 * Once the commit has succeeded nothing fails: each committed batch is
 * CM_OK (a receipt whose checkpoint could not be fetched says so in
 * checkpoint_err) and every module's post_commit hook is called with the
 * range committed. */
cm_err ldg_append(ldg_store *s, const cm_bytes *batches, size_t n,
                  uint64_t now_ms, ldg_receipt *receipts, cm_err *status,
                  cm_diag *diags);

/* The same in two steps, so that a writer can check the next batches
 * while a commit syncs.  ldg_prepare makes every check that needs no
 * ledger state (size, canonical form, each record's kind and decode, the
 * shape of refs, the records' root, the header signature against the key
 * a snapshot holds for its key ID); it may run on any thread, at the same
 * time as ldg_append on the same store.  It returns the refusal, or
 * CM_OK with *out owned by the caller (release with ldg_prepared_free()),
 * which borrows batch: the bytes must outlive it.  ldg_append_prepared
 * then runs every state-dependent check in the write transaction, exactly
 * as ldg_append; a prepared batch may be appended again (a resend). */
typedef struct ldg_prepared ldg_prepared;
cm_err ldg_prepare(ldg_store *s, cm_bytes batch, ldg_prepared **out,
                   cm_diag *d);
void   ldg_prepared_free(ldg_prepared *p); /* NULL-safe */
cm_err ldg_append_prepared(ldg_store *s, ldg_prepared *const *p, size_t n,
                           uint64_t now_ms, ldg_receipt *receipts,
                           cm_err *status, cm_diag *diags);

/* ---- leaves, decoded (for readers and offline verifiers) ----
 * Each decoder checks the canonical form, the type "t" and every field
 * (unknown keys refused), and borrows its views from the input. */
typedef struct ldg_hdr {
	cm_bytes hdr; /* signed header bytes */
	cm_bytes sig;
	uint64_t n, seq, time;
	cm_bytes kid, root, origin;
} ldg_hdr;
CM_MUST_CHECK cm_err ldg_hdr_decode(cm_bytes hdr, ldg_hdr *out, cm_diag *d);

/* A header leaf: the signed header, its signature, the first record
 * leaf, the writer's clock reading and the log time.  v1: the earlier
 * form (tally/header-leaf/v1, without the clock), read but never written;
 * its clock reads as its log time, which makes the window and log-time
 * rules the ones it was written under (docs/format.md section 8.2). */
typedef struct ldg_hleaf {
	cm_bytes hdr, sig;
	uint64_t clock, first, log_time;
	bool     v1;
} ldg_hleaf;
CM_MUST_CHECK cm_err ldg_hleaf_decode(cm_bytes leaf, ldg_hleaf *out,
                                      cm_diag *d);

/* A record leaf: its header leaf (hi, hh = its leaf hash), position in
 * the batch and the record bytes (checked canonical too). */
typedef struct ldg_rleaf {
	cm_bytes hh, rec;
	uint64_t hi, pos;
} ldg_rleaf;
CM_MUST_CHECK cm_err ldg_rleaf_decode(cm_bytes leaf, ldg_rleaf *out,
                                      cm_diag *d);

/* Leaf 0.  The operator's signature over stmt is not checked here. */
typedef struct ldg_genesis {
	cm_bytes   stmt, sig;
	char       origin[LDG_ORIGIN_MAX + 1];
	uint8_t    ckpt_pub[CM_PUBKEY_LEN];
	uint8_t    op_pub[CM_PUBKEY_LEN];
	ldg_params params;
	uint64_t   log_time;
} ldg_genesis;
CM_MUST_CHECK cm_err ldg_genesis_decode(cm_bytes leaf, ldg_genesis *out,
                                        cm_diag *d);
/* The key an identity record leaf (register or rotate) establishes, after
 * checking the operator's signature (op_pub) over its statement.
 * CM_EPROTO for other leaves or ops, CM_EBADSIG for a bad signature. */
CM_MUST_CHECK cm_err ldg_identity_leaf_key(cm_bytes      leaf,
                                           const uint8_t op_pub[CM_PUBKEY_LEN],
                                           uint8_t       out[CM_PUBKEY_LEN],
                                           cm_diag      *d);

/* Builds and signs a batch file: header over recs (each a canonical record)
 * with key k, seq, claimed time. */
cm_err ldg_batch_build(const char *origin, const cm_key *k, uint64_t seq,
                       uint64_t time_ms, const cm_bytes *recs, size_t nrecs,
                       cm_buf *out, cm_diag *d);
/* The next sequence number for key_id (last + 1, or 1). */
cm_err ldg_next_seq(ldg_txn *t, const uint8_t key_id[CM_KEYID_LEN],
                    uint64_t *out);
/* Converts a JSON batch {"records":[{...}]} into canonical record bytes
 * (each appended to out as a CBOR item; offsets in out_offs).  Refs given as
 * {"index": I, "hash": "<hex>"} become {"i": I, "h": bytes}. */
cm_err ldg_json_records(cm_bytes json, cm_buf *out, size_t **out_offs,
                        size_t *out_n, const ldg_params *p, cm_diag *d);

/* Identity record builders (kind "identity", signed by the operator). */
cm_err ldg_pop_make(const char *origin, const cm_key *newkey, cm_buf *out);
typedef struct ldg_id_register {
	ldg_role           role;
	const char        *name;
	const char        *uscc;
	const char        *label; /* NULL or "": none */
	const char *const *scopes;
	size_t             nscopes;
	uint8_t            pub[CM_PUBKEY_LEN];
	cm_bytes           pop; /* from ldg_pop_make by the new key */
} ldg_id_register;
cm_err ldg_id_register_record(const char *origin, const cm_key *op,
                              const ldg_id_register *r, cm_buf *out,
                              cm_diag *d);
cm_err ldg_id_rotate_record(const char *origin, const cm_key *op,
                            const uint8_t old_kid[CM_KEYID_LEN],
                            const uint8_t pub[CM_PUBKEY_LEN], cm_bytes pop,
                            cm_buf *out, cm_diag *d);
cm_err ldg_id_revoke_record(const char *origin, const cm_key *op,
                            const uint8_t kid[CM_KEYID_LEN],
                            uint64_t compromised_since, cm_buf *out,
                            cm_diag *d);
cm_err ldg_id_except_record(const char *origin, const cm_key *op,
                            const char *uscc, const char *reason, cm_buf *out,
                            cm_diag *d);

/* ---- maintenance ---- */
/* Full check (docs/cli.md "audit"); first bad leaf in *out_bad. */
cm_err ldg_audit(ldg_store *s, const cm_bytes *notes, size_t nnotes,
                 uint64_t *out_bad, cm_buf *report, cm_diag *d);
/* Long operations (audit, reindex) report progress through fn, every few
 * thousand leaves and at the end; NULL turns it off. */
typedef void (*ldg_progress_fn)(void *arg, const char *what, uint64_t done,
                                uint64_t total);
void ldg_set_progress(ldg_store *s, ldg_progress_fn fn, void *arg);
/* Rebuilds every derived database from entries. */
cm_err ldg_reindex(ldg_store *s, cm_diag *d);
/* Hot copy to an empty dir (no private key copied). */
cm_err ldg_backup(ldg_store *s, const char *dir, cm_diag *d);
typedef struct ldg_stats {
	uint64_t size, last_log_time, map_used, map_size;
	unsigned readers, max_readers;
	uint8_t  root[CM_HASH_LEN];
	struct {
		char     name[64];
		uint64_t entries;
	} dbs[64];
	size_t   ndbs;
	unsigned env_flags; /* LMDB's, as read back from the environment */
	bool     durable;   /* none of NOSYNC, NOMETASYNC, MAPASYNC, WRITEMAP */
} ldg_stats;
cm_err ldg_stats_get(ldg_store *s, ldg_stats *out);

/* ---- benchmark support (ldg_lmdb.c) ----
 * The raw-LMDB baseline for tally-bench: appends n values under 8-byte
 * big-endian keys 0..n-1 to database "entries" of a fresh environment in
 * dir with MDB_APPEND, committing (durably, default flags) every per_commit
 * values.  *out_ns: elapsed nanoseconds (CLOCK_MONOTONIC). */
cm_err ldg_bench_raw_append(const char *dir, const cm_bytes *vals, size_t n,
                            size_t per_commit, uint64_t *out_ns, cm_diag *d);

#endif /* LEDGER_LDG_H */
