/* SPDX-License-Identifier: MIT */
/* ledger/ldg_impl.h -- the ledger's internals, shared by ledger/ files only.
 * ldg_lmdb.c is the one file that includes <lmdb.h>; everything else reaches
 * LMDB through the ldg_env_* functions below and the public KV API. */
#ifndef LEDGER_LDG_IMPL_H
#define LEDGER_LDG_IMPL_H

#include "ledger/ldg.h"

#define LDG_MAX_DBS 64
#define LDG_MAX_KINDS 64
#define LDG_MAX_INDEXERS 32
#define LDG_MAX_MODULES 16
#define LDG_DEFAULT_MAPSIZE (64ULL << 30) /* address space only */
#define LDG_MAX_READERS 254
/* Tree nodes are stored in tiles (docs/format.md "nodes"): a tile of
 * stratum s holds the nodes of levels 4s..4s+3 under one level-(4s+4)
 * node: 16 + 8 + 4 + 2 = 30 hashes, with a bitmap of those present. */
#define LDG_TILE_HEIGHT 4
#define LDG_TILE_SLOTS 30
#define LDG_TILE_BYTES (4 + LDG_TILE_SLOTS * CM_HASH_LEN)
#define LDG_TILE_STRATA 16 /* 64 levels */

typedef struct ldg_tile {
	uint64_t index; /* tile number within its stratum */
	bool     valid; /* data holds tile index */
	bool     dirty; /* data differs from the database */
	uint8_t  data[LDG_TILE_BYTES];
} ldg_tile;

/* Core database names (docs/format.md). */
#define LDG_DB_ENTRIES "entries"         /* authoritative */
#define LDG_DB_CHECKPOINTS "checkpoints" /* authoritative */
#define LDG_DB_NODES "nodes"
#define LDG_DB_META "meta"
#define LDG_DB_TIME "time"

typedef struct ldg_env  ldg_env;
typedef struct ldg_pool ldg_pool;

typedef struct ldg_dbent {
	char     name[48];
	unsigned flags;
	ldg_db   dbi;
	bool     open;
} ldg_dbent;

struct ldg_store {
	ldg_env *env;
	char    *dir;
	bool     writable;
	/* Why not writable when the key is here: CM_EACCES or CM_EROFS (the
	 * storage), else CM_OK. */
	cm_err            denied;
	cm_key           *ckpt_key; /* NULL without the checkpoint key */
	ldg_vkey          vkey;
	char              origin[LDG_ORIGIN_MAX + 1];
	uint8_t           op_pub[CM_PUBKEY_LEN];
	uint8_t           op_kid[CM_KEYID_LEN];
	uint8_t           ckpt_kid[CM_KEYID_LEN];
	ldg_params        params;
	const ldg_module *mods[LDG_MAX_MODULES];
	size_t            nmods;
	ldg_dbent         dbs[LDG_MAX_DBS];
	size_t            ndbs;
	ldg_db            db_entries, db_nodes, db_ckpt, db_meta, db_time;
	ldg_progress_fn   progress;
	void             *progress_arg;
	ldg_pool         *pool; /* NULL: single-threaded */
};

struct ldg_txn {
	ldg_store *s;
	void      *mdb; /* MDB_txn */
	ldg_txn   *parent;
	bool       write;
	uint64_t   node_reads;
	uint64_t   size; /* read txns: the snapshot's size, once known */
	bool       size_known;
	/* One tile of tree nodes per stratum, as last read or written in
	 * this txn (written back at commit, or before a nested txn begins).
	 * Owned by the store (ldg_store.c); the LMDB wrapper only zeroes
	 * them when it makes the txn. */
	ldg_tile tiles[LDG_TILE_STRATA];
};

/* ---- ldg_lmdb.c ---- */
/* What dir's data.mdb holds, judged from its size and its two meta pages
 * (read with pread; nothing is mapped or written). */
typedef enum ldg_data_state {
	LDG_DATA_ABSENT, /* no data.mdb (dir exists) */
	LDG_DATA_FRESH,  /* LMDB's initial meta pages: nothing ever committed */
	LDG_DATA_OK      /* committed, and the file reaches its last page */
} ldg_data_state;
/* CM_OK and *out; or, with the reason in d: CM_ENOTFOUND (dir absent or
 * not a directory), CM_EACCES / CM_EIO (cannot be read), CM_ECORRUPT
 * (data.mdb empty, not an LMDB file, or shorter than its last commit:
 * damaged). */
cm_err ldg_env_probe(const char *dir, ldg_data_state *out, cm_diag *d);
/* Opens (readonly: never creates) the environment in dir after
 * ldg_env_probe has found it safe to map.  Read-only, when this process
 * may not open lock.mdb for writing, it reads without LMDB's lock
 * (MDB_NOLOCK; ldg_env_lockless).  Errors name the cause: CM_EACCES,
 * CM_EROFS, CM_ENOMEM, CM_ENOSPC, CM_ECORRUPT, CM_ENOTFOUND, CM_EIO. */
cm_err ldg_env_open(const char *dir, bool readonly, uint64_t mapsize,
                    ldg_env **out, cm_diag *d);
void   ldg_env_close(ldg_env *e);
bool   ldg_env_lockless(const ldg_env *e);
/* The LMDB transaction alone (the store's ldg_txn_begin/commit add the
 * tile cache).  Begins a txn (nested when parent is set).  Adopts a size
 * grown by another process; clears stale readers and retries once when
 * full.  A top-level txn holds the env's map lock shared until it ends, so a
 * thread must not begin a second top-level txn on the same store while it
 * holds one (adopting a new size would wait for itself). */
cm_err ldg_env_txn_begin(ldg_store *s, ldg_txn *parent, bool write,
                         ldg_txn **out);
/* Commits and frees t (even on failure). */
CM_MUST_CHECK cm_err ldg_env_txn_commit(ldg_txn *t);
/* Opens (creating when create) a named database in t. */
cm_err ldg_env_dbi(ldg_txn *t, const char *name, unsigned flags, bool create,
                   ldg_db *out);
/* Doubles the map size, once no txn of this process is open (other threads'
 * are waited for; the caller must hold none). */
cm_err ldg_env_grow(ldg_env *e);
cm_err ldg_env_copy(ldg_env *e, const char *dir, cm_diag *d);
void   ldg_env_info(ldg_env *e, uint64_t *out_mapsize, uint64_t *out_used,
                    unsigned *out_readers, unsigned *out_maxreaders,
                    unsigned *out_flags);
cm_err ldg_db_count(ldg_txn *t, ldg_db db, uint64_t *out);
/* Empties (drops contents of) a derived database. */
cm_err ldg_db_clear(ldg_txn *t, ldg_db db);
bool   ldg_env_flags_durable(unsigned flags);

/* ---- ldg_pool.c: worker threads for the append path ---- */
typedef void (*ldg_chunk_fn)(void *arg, size_t chunk);
/* The CPUs online, at most 8. */
unsigned ldg_pool_default_threads(void);
/* A pool of threads - 1 workers (the caller of a job is the other thread);
 * *out is NULL, and jobs run inline, when threads <= 1. */
cm_err ldg_pool_new(unsigned threads, ldg_pool **out);
void   ldg_pool_free(ldg_pool *p); /* NULL-safe */
/* One job: fn over chunks 0..n-1.  Storage owned by the caller; the pool
 * holds a pointer to it between begin and end. */
typedef struct ldg_par {
	ldg_pool    *pool; /* NULL: inline */
	ldg_chunk_fn fn;
	void        *arg;
	size_t       n, next; /* chunks; the next one to claim */
	int          prio;    /* workers serve the highest first */
	uint8_t     *done;
} ldg_par;
/* Starts the job on the pool (inline if p is NULL or full). */
void ldg_par_begin(ldg_par *j, ldg_pool *p, int prio, size_t n, ldg_chunk_fn fn,
                   void *arg);
/* Returns once chunk c has run; the caller runs chunks meanwhile. */
void ldg_par_need(ldg_par *j, size_t c);
/* Returns once every chunk has run, and releases the pool. */
void ldg_par_end(ldg_par *j);

/* ---- ldg_store.c ---- */
/* Decoded leaves: ldg.h; the batch file is internal. */

typedef struct ldg_batchfile {
	ldg_hdr  h;
	cm_bytes recs_item; /* the CBOR array of record byte strings */
	uint64_t nrecs;
} ldg_batchfile;
CM_MUST_CHECK cm_err ldg_batchfile_decode(cm_bytes in, ldg_batchfile *out,
                                          cm_diag *d);

/* The "t" of a leaf (any type), without other checks. */
CM_MUST_CHECK cm_err ldg_leaf_type(cm_bytes leaf, cm_bytes *out);
/* A record's "kind". */
CM_MUST_CHECK cm_err ldg_record_kind(cm_bytes rec, cm_bytes *out, cm_diag *d);
/* The same, and the item of its "refs" (empty if none), from one canonical
 * check that also finds the record's top-level entries (out_map, if not
 * NULL, for the kind's decode). */
CM_MUST_CHECK cm_err ldg_record_head(cm_bytes rec, cm_bytes *out_kind,
                                     cm_bytes *out_refs, cm_cbor_map *out_map,
                                     cm_diag *d);

/* Encoders (ldg_codec.c); each appends one canonical item to out. */
cm_err ldg_genesis_encode(const ldg_genesis *g, const cm_key *op, cm_buf *out,
                          cm_diag *d);
/* In hl's form: v2, or v1 (no clock) when hl->v1 (replay of old leaves). */
cm_err ldg_hleaf_encode(const ldg_hleaf *hl, cm_buf *out);
cm_err ldg_rleaf_encode(const uint8_t hh[CM_HASH_LEN], uint64_t hi,
                        uint64_t pos, cm_bytes rec, cm_buf *out);
cm_err ldg_hdr_encode(const char *origin, const uint8_t kid[CM_KEYID_LEN],
                      uint64_t seq, uint64_t time_ms, uint64_t n,
                      const uint8_t root[CM_HASH_LEN], cm_buf *out);
cm_err ldg_batchfile_encode(cm_bytes hdr, const uint8_t sig[CM_SIG_LEN],
                            const cm_bytes *recs, size_t n, cm_buf *out);

/* Store internals (ldg_store.c). */
cm_err ldg_tree_put_leaf(ldg_txn *t, uint64_t index, cm_bytes leaf);
/* Writes back the txn's changed tiles (before a commit or a nested txn);
 * with invalidate, also forgets them. */
cm_err ldg_tiles_flush(ldg_txn *t, bool invalidate);
/* Transactions of the store: the LMDB txn (ldg_env_txn_begin) with the
 * tile cache, which the store owns.  A nested txn begins after the parent's
 * tiles are written back and forgotten (the parent cannot be used while the
 * child runs, and the child may change them); a commit writes t's tiles
 * first.  ldg_txn_commit commits and frees t, even on failure. */
cm_err ldg_txn_begin(ldg_store *s, ldg_txn *parent, bool write, ldg_txn **out);
CM_MUST_CHECK cm_err ldg_txn_commit(ldg_txn *t);
/* Only the tree nodes of leaf index (reindex: the entry exists). */
cm_err ldg_tree_node_append(ldg_txn *t, uint64_t index, cm_bytes leaf);
/* The same two, given the leaf's hash and the first nup parents it
 * completes, computed off the write path (ldg_tree_parents; up may be NULL
 * when nup is 0). */
cm_err ldg_tree_put_leaf_up(ldg_txn *t, uint64_t index, cm_bytes leaf,
                            const uint8_t lh[CM_HASH_LEN],
                            const uint8_t (*up)[CM_HASH_LEN], unsigned nup);
cm_err ldg_tree_node_append_up(ldg_txn *t, uint64_t index,
                               const uint8_t lh[CM_HASH_LEN],
                               const uint8_t (*up)[CM_HASH_LEN], unsigned nup);
/* Re-validates and re-indexes every leaf of src into dst: in place (dst ==
 * src, derived databases emptied first) or into a scratch store whose
 * entries are written and compared.  *out_bad: the first bad leaf, or
 * UINT64_MAX. */
cm_err ldg_replay(ldg_txn *src, ldg_txn *dst, bool in_place, uint64_t *out_bad,
                  cm_diag *d);
cm_err ldg_meta_get(ldg_txn *t, const char *key, cm_bytes *out);
cm_err ldg_meta_put(ldg_txn *t, const char *key, cm_bytes val);
/* Calls every indexer of the store on leaf. */
cm_err ldg_run_indexers(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d);
/* Marks every indexer as caught up to size (in t). */
cm_err          ldg_indexers_mark(ldg_txn *t, uint64_t size);
const ldg_kind *ldg_kind_find(const ldg_store *s, cm_bytes name);
/* Last log time (genesis time for a fresh ledger). */
cm_err ldg_last_log_time(ldg_txn *t, uint64_t *out);
/* Signs and stores the checkpoint for size in t; the note in out. */
cm_err ldg_checkpoint_store(ldg_txn *t, uint64_t size, cm_buf *out);
/* Opens every database of the store (core and modules) in t. */
cm_err ldg_dbs_open(ldg_store *s, ldg_txn *t, bool create);

/* Leaf type names. */
#define LDG_T_GENESIS "tally/genesis-leaf/v1"
#define LDG_T_GENESIS_STMT "tally/genesis/v1"
#define LDG_T_HLEAF "tally/header-leaf/v2"
#define LDG_T_HLEAF_V1 "tally/header-leaf/v1" /* read, never written */
#define LDG_T_HDR "tally/batch-header/v1"
#define LDG_T_RLEAF "tally/record-leaf/v1"
#define LDG_T_RECORD "tally/record/v1"
#define LDG_T_BATCH "tally/batch/v1"
#define LDG_T_IDENTITY "tally/identity/v1"
#define LDG_T_POP "tally/identity-pop/v1"

/* Builtin modules (ledger/ldg_ident.c, ledger/ldg_attest.c). */
extern const ldg_module ldg_ident_module;
extern const ldg_module ldg_attest_module;
extern const ldg_module ldg_seq_module;

#endif /* LEDGER_LDG_IMPL_H */
