/* SPDX-License-Identifier: MIT */
/* ledger/ldg_store.c -- creating and opening a ledger, its databases, tree
 * nodes, checkpoints, meta and the read API.  Invariants: entries only
 * grows by last + 1; a checkpoint is signed and stored in the commit that
 * produces its size; a store opened for writing has verified that the root
 * at its latest checkpoint matches that note (docs/format.md "Storage"). */
#include "ledger/ldg_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_KEY_FILE "checkpoint.key"

void
ldg_params_default(ldg_params *out)
{
	out->window_ms = 10 * 60 * 1000;
	out->max_leaf = 65535;
	out->max_records = 10000;
	out->max_batch_bytes = 16u << 20;
	out->max_body = 16u << 10;
}

const char *
ldg_role_name(ldg_role r)
{
	switch (r) {
	case LDG_ROLE_OPERATOR:
		return ("operator");
	case LDG_ROLE_REGULATOR:
		return ("regulator");
	case LDG_ROLE_BANK:
		return ("bank");
	case LDG_ROLE_ENTERPRISE:
		return ("enterprise");
	case LDG_ROLE_AUDITOR:
		return ("auditor");
	default:
		return ("none");
	}
}

ldg_role
ldg_role_from_text(cm_bytes s)
{
	for (int r = LDG_ROLE_OPERATOR; r <= LDG_ROLE_AUDITOR; r++)
		if (cm_bytes_eq_str(s, ldg_role_name((ldg_role) r)))
			return ((ldg_role) r);
	return (LDG_ROLE_NONE);
}

ldg_role
ldg_role_parse(const char *s)
{
	return (ldg_role_from_text(CM_BYTES(s, strlen(s))));
}

/* ---- databases ---- */

static cm_err
db_add(ldg_store *s, const char *name, unsigned flags)
{
	for (size_t i = 0; i < s->ndbs; i++)
		if (strcmp(s->dbs[i].name, name) == 0)
			return (s->dbs[i].flags == flags ? CM_OK : CM_EINVAL);
	if (s->ndbs == LDG_MAX_DBS || strlen(name) >= sizeof(s->dbs[0].name))
		return (CM_EINVAL);
	snprintf(s->dbs[s->ndbs].name, sizeof(s->dbs[0].name), "%s", name);
	s->dbs[s->ndbs].flags = flags;
	s->ndbs++;
	return (CM_OK);
}

cm_err
ldg_dbs_open(ldg_store *s, ldg_txn *t, bool create)
{
	cm_err rv;

	for (size_t i = 0; i < s->ndbs; i++) {
		rv = ldg_env_dbi(t, s->dbs[i].name, s->dbs[i].flags, create,
		                 &s->dbs[i].dbi);
		if (rv == CM_ENOTFOUND && !create)
			continue; /* read-only and not there yet: empty */
		if (rv != CM_OK)
			return (rv);
		s->dbs[i].open = true;
	}
	return (CM_OK);
}

cm_err
ldg_db_find(ldg_txn *t, const char *name, ldg_db *out)
{
	const ldg_store *s = t->s;

	for (size_t i = 0; i < s->ndbs; i++)
		if (strcmp(s->dbs[i].name, name) == 0) {
			if (!s->dbs[i].open)
				return (CM_ENOTFOUND);
			*out = s->dbs[i].dbi;
			return (CM_OK);
		}
	return (CM_ENOTFOUND);
}

static cm_err
core_db(ldg_txn *t, const char *name, ldg_db *out)
{
	cm_err rv = ldg_db_find(t, name, out);

	return (rv == CM_ENOTFOUND ? CM_ECORRUPT : rv);
}

const ldg_kind *
ldg_kind_find(const ldg_store *s, cm_bytes name)
{
	for (size_t m = 0; m < s->nmods; m++)
		for (size_t k = 0; k < s->mods[m]->nkinds; k++) {
			const char *kn = s->mods[m]->kinds[k].name;

			if (cm_bytes_eq(name, CM_BYTES(kn, strlen(kn))))
				return (&s->mods[m]->kinds[k]);
		}
	return (NULL);
}

cm_err
ldg_meta_get(ldg_txn *t, const char *key, cm_bytes *out)
{
	return (ldg_kv_get(t, t->s->db_meta, CM_BYTES(key, strlen(key)), out));
}

cm_err
ldg_meta_put(ldg_txn *t, const char *key, cm_bytes val)
{
	return (
	    ldg_kv_put(t, t->s->db_meta, CM_BYTES(key, strlen(key)), val, 0));
}

cm_err
ldg_run_indexers(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const ldg_store *s = t->s;
	cm_err           rv;

	for (size_t m = 0; m < s->nmods; m++)
		for (size_t i = 0; i < s->mods[m]->nindexers; i++) {
			const ldg_indexer *ix = &s->mods[m]->indexers[i];

			if ((rv = ix->index(t, leaf, d)) != CM_OK) {
				cm_diag_set(d, "indexer %s failed at leaf %llu",
				            ix->name,
				            (unsigned long long) leaf->index);
				return (rv);
			}
		}
	return (CM_OK);
}

static void
indexer_key(const ldg_indexer *ix, char *out, size_t cap)
{
	snprintf(out, cap, "idx/%s", ix->name);
}

cm_err
ldg_indexers_mark(ldg_txn *t, uint64_t size)
{
	const ldg_store *s = t->s;
	char             key[96];
	uint8_t          val[12];
	cm_err           rv;

	for (size_t m = 0; m < s->nmods; m++)
		for (size_t i = 0; i < s->mods[m]->nindexers; i++) {
			const ldg_indexer *ix = &s->mods[m]->indexers[i];

			indexer_key(ix, key, sizeof(key));
			cm_put_u32be(val, ix->version);
			cm_put_u64be(val + 4, size);
			if ((rv = ldg_meta_put(t, key, CM_BYTES(val, 12))) !=
			    CM_OK)
				return (rv);
		}
	return (CM_OK);
}

/* The set of indexers recorded in meta must equal ours, each caught up. */
static cm_err
indexers_check(ldg_txn *t, uint64_t size, cm_diag *d)
{
	const ldg_store *s = t->s;
	ldg_cursor      *c = NULL;
	cm_bytes         k, v;
	size_t           nrecorded = 0, nours = 0;
	char             key[96];
	cm_err           rv;

	for (size_t m = 0; m < s->nmods; m++)
		for (size_t i = 0; i < s->mods[m]->nindexers; i++) {
			const ldg_indexer *ix = &s->mods[m]->indexers[i];

			nours++;
			indexer_key(ix, key, sizeof(key));
			if (ldg_meta_get(t, key, &v) != CM_OK || v.len != 12)
				return (cm_fail(
				    d, CM_EINVAL,
				    "indexer %s has not indexed this ledger; "
				    "run tally ledger reindex",
				    ix->name));
			if (cm_get_u32be(v.p) != ix->version ||
			    cm_get_u64be(v.p + 4) != size)
				return (cm_fail(
				    d, CM_EINVAL,
				    "indexer %s is at version %u up to leaf "
				    "%llu, want version %u up to %llu; run "
				    "tally ledger reindex",
				    ix->name, cm_get_u32be(v.p),
				    (unsigned long long) cm_get_u64be(v.p + 4),
				    ix->version, (unsigned long long) size));
		}
	if ((rv = ldg_cursor_open(t, s->db_meta, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES("idx/", 4), &k, &v);
	     rv == CM_OK && k.len >= 4 && memcmp(k.p, "idx/", 4) == 0;
	     rv = ldg_cursor_next(c, &k, &v))
		nrecorded++;
	ldg_cursor_close(c);
	if (nrecorded != nours)
		return (cm_fail(
		    d, CM_EINVAL,
		    "this ledger was indexed by %zu indexers, this program "
		    "has %zu; run tally ledger reindex",
		    nrecorded, nours));
	return (CM_OK);
}

/* ---- tree nodes ---- */

/* Where node (level, n) lives: stratum, tile number and slot.  Within a
 * tile the slots run level by level from the bottom: 16, 8, 4, 2. */
static void
tile_locate(unsigned level, uint64_t n, unsigned *out_s, uint64_t *out_tile,
            unsigned *out_slot)
{
	static const unsigned offset[LDG_TILE_HEIGHT] = {0, 16, 24, 28};
	unsigned              r = level % LDG_TILE_HEIGHT;
	unsigned              width = 16u >> r;

	*out_s = level / LDG_TILE_HEIGHT;
	*out_tile = n / width;
	*out_slot = offset[r] + (unsigned) (n % width);
}

static void
tile_key(unsigned stratum, uint64_t tile, uint8_t key[9])
{
	key[0] = (uint8_t) stratum;
	cm_put_u64be(key + 1, tile);
}

static cm_err
tile_write_back(ldg_txn *t, unsigned stratum)
{
	ldg_tile *b = &t->tiles[stratum];
	uint8_t   key[9];
	cm_err    rv;

	if (!b->valid || !b->dirty)
		return (CM_OK);
	tile_key(stratum, b->index, key);
	rv = ldg_kv_put(t, t->s->db_nodes, CM_BYTES(key, 9),
	                CM_BYTES(b->data, LDG_TILE_BYTES), 0);
	if (rv == CM_OK)
		b->dirty = false;
	return (rv);
}

cm_err
ldg_tiles_flush(ldg_txn *t, bool invalidate)
{
	cm_err rv;

	for (unsigned i = 0; i < LDG_TILE_STRATA; i++) {
		if ((rv = tile_write_back(t, i)) != CM_OK)
			return (rv);
		if (invalidate)
			t->tiles[i].valid = false;
	}
	return (CM_OK);
}

cm_err
ldg_txn_begin(ldg_store *s, ldg_txn *parent, bool write, ldg_txn **out)
{
	cm_err rv;

	if (parent != NULL && (rv = ldg_tiles_flush(parent, true)) != CM_OK)
		return (rv);
	return (ldg_env_txn_begin(s, parent, write, out));
}

cm_err
ldg_txn_commit(ldg_txn *t)
{
	cm_err rv;

	if ((rv = ldg_tiles_flush(t, false)) != CM_OK) {
		ldg_txn_end(t);
		return (rv);
	}
	return (ldg_env_txn_commit(t));
}

/* Makes the txn's buffer for stratum hold tile, reading it from the
 * database (an absent tile reads as empty). */
static cm_err
tile_load(ldg_txn *t, unsigned stratum, uint64_t tile)
{
	ldg_tile *b = &t->tiles[stratum];
	uint8_t   key[9];
	cm_bytes  v;
	cm_err    rv;

	if (b->valid && b->index == tile)
		return (CM_OK);
	if ((rv = tile_write_back(t, stratum)) != CM_OK)
		return (rv);
	tile_key(stratum, tile, key);
	rv = ldg_kv_get(t, t->s->db_nodes, CM_BYTES(key, 9), &v);
	if (rv == CM_OK && v.len != LDG_TILE_BYTES)
		return (CM_ECORRUPT);
	if (rv == CM_OK)
		memcpy(b->data, v.p, LDG_TILE_BYTES);
	else if (rv == CM_ENOTFOUND)
		memset(b->data, 0, LDG_TILE_BYTES);
	else
		return (rv);
	b->index = tile;
	b->valid = true;
	b->dirty = false;
	return (CM_OK);
}

static cm_err
node_read(void *ctx, unsigned level, uint64_t n, uint8_t out[CM_HASH_LEN])
{
	ldg_txn *t = ctx;
	unsigned stratum, slot;
	uint64_t tile;
	uint8_t *b;
	cm_err   rv;

	t->node_reads++;
	tile_locate(level, n, &stratum, &tile, &slot);
	if (stratum >= LDG_TILE_STRATA)
		return (CM_ECORRUPT);
	if ((rv = tile_load(t, stratum, tile)) != CM_OK)
		return (rv);
	b = t->tiles[stratum].data;
	if ((cm_get_u32be(b) & (1u << slot)) == 0)
		return (CM_ECORRUPT); /* asked for a node never stored */
	memcpy(out, b + 4 + slot * CM_HASH_LEN, CM_HASH_LEN);
	return (CM_OK);
}

static cm_err
node_write(void *ctx, unsigned level, uint64_t n,
           const uint8_t hash[CM_HASH_LEN])
{
	ldg_txn *t = ctx;
	unsigned stratum, slot;
	uint64_t tile;
	uint8_t *b;
	cm_err   rv;

	tile_locate(level, n, &stratum, &tile, &slot);
	if (stratum >= LDG_TILE_STRATA)
		return (CM_EINVAL);
	if ((rv = tile_load(t, stratum, tile)) != CM_OK)
		return (rv);
	b = t->tiles[stratum].data;
	cm_put_u32be(b, cm_get_u32be(b) | 1u << slot);
	memcpy(b + 4 + slot * CM_HASH_LEN, hash, CM_HASH_LEN);
	t->tiles[stratum].dirty = true;
	return (CM_OK);
}

cm_err
ldg_tree_put_leaf_up(ldg_txn *t, uint64_t index, cm_bytes leaf,
                     const uint8_t lh[CM_HASH_LEN],
                     const uint8_t (*up)[CM_HASH_LEN], unsigned nup)
{
	uint8_t key[8];
	cm_err  rv;

	cm_put_u64be(key, index);
	/* MDB_APPEND refuses any key that is not after the last: entries
	 * grows by exactly one, in order. */
	rv = ldg_kv_put(t, t->s->db_entries, CM_BYTES(key, 8), leaf,
	                LDG_PUT_APPEND);
	if (rv != CM_OK)
		return (rv == CM_EEXIST ? CM_ECORRUPT : rv);
	return (
	    ldg_tree_append_up(node_read, node_write, t, index, lh, up, nup));
}

cm_err
ldg_tree_put_leaf(ldg_txn *t, uint64_t index, cm_bytes leaf)
{
	uint8_t lh[CM_HASH_LEN];

	ldg_leaf_hash(leaf, lh);
	return (ldg_tree_put_leaf_up(t, index, leaf, lh, NULL, 0));
}

cm_err
ldg_tree_node_append_up(ldg_txn *t, uint64_t index,
                        const uint8_t lh[CM_HASH_LEN],
                        const uint8_t (*up)[CM_HASH_LEN], unsigned nup)
{
	return (
	    ldg_tree_append_up(node_read, node_write, t, index, lh, up, nup));
}

cm_err
ldg_tree_node_append(ldg_txn *t, uint64_t index, cm_bytes leaf)
{
	uint8_t lh[CM_HASH_LEN];

	ldg_leaf_hash(leaf, lh);
	return (ldg_tree_node_append_up(t, index, lh, NULL, 0));
}

void
ldg_txn_params(const ldg_txn *t, ldg_params *out)
{
	*out = t->s->params;
}

uint64_t
ldg_node_reads(const ldg_txn *t)
{
	return (t->node_reads);
}

uint64_t
ldg_size(ldg_txn *t)
{
	ldg_cursor *c = NULL;
	cm_bytes    k;
	uint64_t    n = 0;

	/* A read txn is a snapshot: its size never changes. */
	if (!t->write && t->size_known)
		return (t->size);
	if (ldg_cursor_open(t, t->s->db_entries, &c) != CM_OK)
		return (0);
	if (ldg_cursor_last(c, &k, NULL) == CM_OK && k.len == 8)
		n = cm_get_u64be(k.p) + 1;
	ldg_cursor_close(c);
	if (!t->write) {
		t->size = n;
		t->size_known = true;
	}
	return (n);
}

cm_err
ldg_leaf_get(ldg_txn *t, uint64_t index, cm_bytes *out)
{
	uint8_t key[8];

	cm_put_u64be(key, index);
	return (ldg_kv_get(t, t->s->db_entries, CM_BYTES(key, 8), out));
}

cm_err
ldg_root_at(ldg_txn *t, uint64_t size, uint8_t out[CM_HASH_LEN])
{
	if (size > ldg_size(t))
		return (CM_EINVAL);
	return (ldg_tree_root(node_read, t, size, out));
}

cm_err
ldg_prove_inclusion(ldg_txn *t, uint64_t index, uint64_t size, cm_buf *out)
{
	if (index >= size || size > ldg_size(t))
		return (CM_EINVAL);
	return (ldg_tree_inclusion(node_read, t, index, size, out));
}

cm_err
ldg_prove_consistency(ldg_txn *t, uint64_t size1, uint64_t size2, cm_buf *out)
{
	if (size1 > size2 || size2 > ldg_size(t))
		return (CM_EINVAL);
	return (ldg_tree_consistency(node_read, t, size1, size2, out));
}

/* ---- checkpoints ---- */

cm_err
ldg_checkpoint_store(ldg_txn *t, uint64_t size, cm_buf *out)
{
	ldg_checkpoint c;
	uint8_t        key[8];
	cm_err         rv;

	if (t->s->ckpt_key == NULL)
		return (CM_EREADONLY);
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", t->s->origin);
	c.size = size;
	if ((rv = ldg_root_at(t, size, c.root)) != CM_OK)
		return (rv);
	cm_buf_reset(out);
	if ((rv = ldg_checkpoint_sign(&c, t->s->ckpt_key, out)) != CM_OK)
		return (rv);
	cm_put_u64be(key, size);
	return (ldg_kv_put(t, t->s->db_ckpt, CM_BYTES(key, 8),
	                   cm_buf_bytes(out), LDG_PUT_APPEND));
}

static cm_err
ckpt_copy(cm_bytes k, cm_bytes v, cm_buf *out_note, uint64_t *out_size)
{
	if (k.len != 8)
		return (CM_ECORRUPT);
	if (out_size != NULL)
		*out_size = cm_get_u64be(k.p);
	if (out_note != NULL) {
		cm_buf_reset(out_note);
		return (cm_buf_append(out_note, v.p, v.len));
	}
	return (CM_OK);
}

cm_err
ldg_checkpoint_get(ldg_txn *t, uint64_t size, cm_buf *out_note,
                   uint64_t *out_size)
{
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	uint8_t     key[8];
	cm_err      rv;

	if ((rv = ldg_cursor_open(t, t->s->db_ckpt, &c)) != CM_OK)
		return (rv);
	if (size == UINT64_MAX) {
		rv = ldg_cursor_last(c, &k, &v);
	} else {
		cm_put_u64be(key, size);
		rv = ldg_cursor_seek(c, CM_BYTES(key, 8), &k, &v);
		if (rv == CM_OK && !cm_bytes_eq(k, CM_BYTES(key, 8)))
			rv = CM_ENOTFOUND;
	}
	if (rv == CM_OK)
		rv = ckpt_copy(k, v, out_note, out_size);
	ldg_cursor_close(c);
	return (rv);
}

cm_err
ldg_checkpoint_covering(ldg_txn *t, uint64_t min_size, cm_buf *out_note,
                        uint64_t *out_size)
{
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	uint8_t     key[8];
	cm_err      rv;

	if ((rv = ldg_cursor_open(t, t->s->db_ckpt, &c)) != CM_OK)
		return (rv);
	cm_put_u64be(key, min_size);
	if ((rv = ldg_cursor_seek(c, CM_BYTES(key, 8), &k, &v)) == CM_OK)
		rv = ckpt_copy(k, v, out_note, out_size);
	ldg_cursor_close(c);
	return (rv);
}

cm_err
ldg_last_log_time(ldg_txn *t, uint64_t *out)
{
	ldg_cursor *c = NULL;
	cm_bytes    k;
	cm_err      rv;
	ldg_db      db;

	if ((rv = core_db(t, LDG_DB_TIME, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	rv = ldg_cursor_last(c, &k, NULL);
	if (rv == CM_OK && k.len == 16)
		*out = cm_get_u64be(k.p);
	else if (rv == CM_OK)
		rv = CM_ECORRUPT;
	ldg_cursor_close(c);
	return (rv);
}

cm_err
ldg_size_at_time(ldg_txn *t, uint64_t ms, uint64_t *out)
{
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	uint8_t     key[16];
	cm_err      rv;
	ldg_db      db;

	if ((rv = core_db(t, LDG_DB_TIME, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	/* The last entry with log time <= ms: seek past it, step back. */
	if (ms == UINT64_MAX) {
		rv = ldg_cursor_last(c, &k, &v);
	} else {
		cm_put_u64be(key, ms + 1);
		cm_put_u64be(key + 8, 0);
		rv = ldg_cursor_seek(c, CM_BYTES(key, 16), &k, &v);
		rv = rv == CM_OK ? ldg_cursor_prev(c, &k, &v)
		                 : ldg_cursor_last(c, &k, &v);
	}
	if (rv == CM_OK && v.len == 8)
		*out = cm_get_u64be(v.p);
	else if (rv == CM_OK)
		rv = CM_ECORRUPT;
	ldg_cursor_close(c);
	return (rv);
}

/* ---- open / close ---- */

static bool
file_exists(const char *path)
{
	struct stat st;

	return (stat(path, &st) == 0);
}

/* A file that init writes into dir before its one commit. */
static bool
init_file(const char *name)
{
	size_t n = strlen(CKPT_KEY_FILE);

	return (strcmp(name, "data.mdb") == 0 ||
	        strcmp(name, "lock.mdb") == 0 ||
	        strcmp(name, CKPT_KEY_FILE) == 0 ||
	        (strncmp(name, CKPT_KEY_FILE, n) == 0 &&
	         strncmp(name + n, ".tmp.", 5) == 0));
}

/* dir's entries: *out_n besides . and .., *out_init of them init's. */
static void
dir_count(const char *dir, size_t *out_n, size_t *out_init)
{
	DIR           *dp = opendir(dir);
	struct dirent *e;

	*out_n = *out_init = 0;
	while (dp != NULL && (e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(*out_n)++;
		*out_init += init_file(e->d_name);
	}
	if (dp != NULL)
		closedir(dp);
}

/* An interrupted init, exactly: nothing was ever committed in dir (no
 * data.mdb, or only the meta pages LMDB writes when it creates one) and
 * dir holds only files that init writes before its commit.  Removing such
 * a directory loses no ledger.  (An empty data.mdb may also be a ledger's
 * lost data file: ldg_env_probe says both.) */
static bool
init_interrupted(const char *dir, ldg_data_state state)
{
	size_t n, ninit;

	if (state == LDG_DATA_OK)
		return (false);
	dir_count(dir, &n, &ninit);
	return (n > 0 && n == ninit);
}

static cm_err
no_ledger(const char *dir, ldg_data_state state, cm_diag *d)
{
	if (init_interrupted(dir, state))
		return (
		    cm_fail(d, CM_ENOTFOUND,
		            "%s holds an interrupted init (nothing was "
		            "committed): remove the directory and run tally "
		            "init again",
		            dir));
	return (cm_fail(d, CM_ENOTFOUND, "%s is not a Tally ledger (%s)", dir,
	                state == LDG_DATA_ABSENT
	                    ? "no data.mdb"
	                    : "data.mdb holds no committed transaction"));
}

static char *
path_join(const char *dir, const char *name)
{
	cm_buf b = {0};

	if (cm_buf_printf(&b, "%s/%s", dir, name) != CM_OK) {
		cm_buf_fini(&b);
		return (NULL);
	}
	return ((char *) b.p);
}

static cm_err
modules_add(ldg_store *s, const ldg_module *m)
{
	cm_err rv;

	if (s->nmods == LDG_MAX_MODULES)
		return (CM_EINVAL);
	s->mods[s->nmods++] = m;
	for (size_t i = 0; i < m->nindexers; i++)
		for (size_t j = 0; j < m->indexers[i].ndbs; j++)
			if ((rv = db_add(s, m->indexers[i].dbs[j].name,
			                 m->indexers[i].dbs[j].flags)) != CM_OK)
				return (rv);
	return (CM_OK);
}

static cm_err
store_new(const char *dir, const ldg_opts *opts, ldg_store **out)
{
	ldg_store *s;
	cm_err     rv = CM_OK;

	if ((s = cm_calloc(1, sizeof(*s))) == NULL)
		return (CM_ENOMEM);
	if ((s->dir = cm_strdup(dir)) == NULL) {
		cm_free(s);
		return (CM_ENOMEM);
	}
	if ((rv = db_add(s, LDG_DB_ENTRIES, 0)) != CM_OK ||
	    (rv = db_add(s, LDG_DB_CHECKPOINTS, 0)) != CM_OK ||
	    (rv = db_add(s, LDG_DB_NODES, 0)) != CM_OK ||
	    (rv = db_add(s, LDG_DB_META, 0)) != CM_OK ||
	    (rv = db_add(s, LDG_DB_TIME, 0)) != CM_OK ||
	    (rv = modules_add(s, &ldg_seq_module)) != CM_OK ||
	    (rv = modules_add(s, &ldg_ident_module)) != CM_OK ||
	    (rv = modules_add(s, &ldg_attest_module)) != CM_OK)
		goto out;
	for (size_t i = 0; opts != NULL && i < opts->nmodules; i++)
		if ((rv = modules_add(s, opts->modules[i])) != CM_OK)
			goto out;
out:
	if (rv != CM_OK) {
		ldg_close(s);
		return (rv);
	}
	*out = s;
	return (CM_OK);
}

static void
core_dbs_bind(ldg_store *s)
{
	s->db_entries = s->dbs[0].dbi;
	s->db_ckpt = s->dbs[1].dbi;
	s->db_nodes = s->dbs[2].dbi;
	s->db_meta = s->dbs[3].dbi;
	s->db_time = s->dbs[4].dbi;
}

static cm_err
genesis_load(ldg_store *s, ldg_txn *t, cm_diag *d)
{
	ldg_genesis g;
	cm_bytes    leaf;
	cm_err      rv;

	/* init commits genesis with the databases: entries without it are
	 * damage, not an interrupted init. */
	if ((rv = ldg_leaf_get(t, 0, &leaf)) != CM_OK)
		return (cm_fail(d, rv == CM_ENOTFOUND ? CM_ECORRUPT : rv,
		                "%s holds no genesis leaf: the ledger is "
		                "damaged; restore it from a backup",
		                s->dir));
	if ((rv = ldg_genesis_decode(leaf, &g, d)) != CM_OK)
		return (rv == CM_ENOMEM ? rv : CM_ECORRUPT);
	if (cm_verify(g.op_pub, "genesis", g.stmt, g.sig.p) != CM_OK)
		return (cm_fail(d, CM_ECORRUPT,
		                "genesis signature does not verify"));
	memcpy(s->origin, g.origin, sizeof(s->origin));
	memcpy(s->op_pub, g.op_pub, CM_PUBKEY_LEN);
	cm_key_id(g.op_pub, s->op_kid);
	cm_key_id(g.ckpt_pub, s->ckpt_kid);
	s->params = g.params;
	return (ldg_vkey_make(s->origin, g.ckpt_pub, &s->vkey, d));
}

/* The root recomputed from stored nodes at the latest checkpoint's size
 * must equal that note's root, or this store may not sign anything. */
static cm_err
latest_checkpoint_check(ldg_store *s, ldg_txn *t, cm_diag *d)
{
	cm_buf         note = {0};
	uint64_t       size;
	ldg_checkpoint c;
	uint8_t        root[CM_HASH_LEN];
	cm_err         rv;

	if ((rv = ldg_checkpoint_get(t, UINT64_MAX, &note, &size)) != CM_OK) {
		cm_fail(d, CM_ECORRUPT, "no stored checkpoint");
		rv = CM_ECORRUPT;
		goto out;
	}
	if ((rv = ldg_checkpoint_verify(cm_buf_bytes(&note), &s->vkey, &c,
	                                d)) != CM_OK) {
		rv = CM_ECORRUPT;
		goto out;
	}
	if (c.size != size || size > ldg_size(t) ||
	    ldg_root_at(t, size, root) != CM_OK ||
	    memcmp(root, c.root, CM_HASH_LEN) != 0) {
		rv = cm_fail(d, CM_ECORRUPT,
		             "the root at size %llu does not match the stored "
		             "checkpoint: refusing to write or sign",
		             (unsigned long long) size);
		goto out;
	}
	if (size != ldg_size(t))
		rv = cm_fail(
		    d, CM_ECORRUPT,
		    "entries extend past the latest checkpoint (%llu > %llu)",
		    (unsigned long long) ldg_size(t),
		    (unsigned long long) size);
out:
	cm_buf_fini(&note);
	return (rv);
}

cm_err
ldg_open(const char *dir, const ldg_opts *opts, ldg_store **out, cm_diag *d)
{
	ldg_store     *s = NULL;
	ldg_txn       *t = NULL;
	char          *keypath = NULL;
	bool           ro = opts != NULL && opts->readonly;
	ldg_data_state state;
	cm_err         rv;
	uint8_t        pub[CM_PUBKEY_LEN];

	if ((rv = store_new(dir, opts, &s)) != CM_OK)
		return (rv);
	if ((rv = ldg_env_probe(dir, &state, d)) != CM_OK)
		goto out;
	if (state != LDG_DATA_OK) {
		rv = no_ledger(dir, state, d);
		goto out;
	}
	if (!ro) {
		keypath = opts && opts->checkpoint_key
		              ? cm_strdup(opts->checkpoint_key)
		              : path_join(dir, CKPT_KEY_FILE);
		if (keypath == NULL) {
			rv = CM_ENOMEM;
			goto out;
		}
		if (file_exists(keypath)) {
			if ((rv = cm_key_load(keypath, &s->ckpt_key, d)) !=
			    CM_OK)
				goto out;
			s->writable = true;
		}
	}
	rv = ldg_env_open(dir, !s->writable, opts ? opts->mapsize : 0, &s->env,
	                  d);
	if (s->writable && (rv == CM_EACCES || rv == CM_EROFS)) {
		/* Storage this process may not write (a read-only mount,
		 * another user's files): open it for reading.  The key still
		 * runs the writer's checks below (audit); ldg_write_denied
		 * gives writers the cause. */
		s->writable = false;
		s->denied = rv;
		cm_diag_clear(d);
		rv = ldg_env_open(dir, true, opts ? opts->mapsize : 0, &s->env,
		                  d);
	}
	if (rv != CM_OK)
		goto out;
	if ((rv = ldg_txn_begin(s, NULL, s->writable, &t)) != CM_OK)
		goto out;
	if ((rv = ldg_dbs_open(s, t, s->writable)) != CM_OK)
		goto out;
	if (!s->dbs[0].open || !s->dbs[1].open) {
		/* init creates every core database in its one commit. */
		rv = cm_fail(d, CM_ENOTFOUND,
		             "%s is not a Tally ledger (an LMDB environment "
		             "without the ledger's databases)",
		             dir);
		goto out;
	}
	core_dbs_bind(s);
	if ((rv = genesis_load(s, t, d)) != CM_OK)
		goto out;
	if (s->ckpt_key != NULL) {
		cm_key_public(s->ckpt_key, pub);
		if (memcmp(pub, s->vkey.pub, CM_PUBKEY_LEN) != 0) {
			rv = cm_fail(
			    d, CM_EINVAL,
			    "the checkpoint key %s does not belong to this "
			    "ledger",
			    keypath);
			goto out;
		}
		if ((rv = latest_checkpoint_check(s, t, d)) != CM_OK)
			goto out;
		if (!(opts && opts->reindex) &&
		    (rv = indexers_check(t, ldg_size(t), d)) != CM_OK)
			goto out;
	}
	if (s->writable) {
		if ((rv = ldg_pool_new(opts && opts->threads
		                           ? opts->threads
		                           : ldg_pool_default_threads(),
		                       &s->pool)) != CM_OK)
			goto out;
	}
	/* Commit even a read txn: database handles opened in it then stay
	 * open in the environment. */
	rv = ldg_txn_commit(t);
	t = NULL;
out:
	ldg_txn_end(t);
	cm_free(keypath);
	if (rv != CM_OK) {
		/* LMDB's own refusals carry no message: name the store. */
		if (rv == CM_ECORRUPT)
			cm_diag_set(
			    d,
			    "%s is damaged: LMDB reports its pages or "
			    "databases invalid; restore the ledger from a "
			    "backup",
			    dir);
		else
			cm_diag_set(d, "cannot open the ledger in %s: %s", dir,
			            cm_strerror(rv));
		ldg_close(s);
		return (rv);
	}
	*out = s;
	return (CM_OK);
}

void
ldg_close(ldg_store *s)
{
	if (s == NULL)
		return;
	ldg_pool_free(s->pool);
	ldg_env_close(s->env);
	cm_key_free(s->ckpt_key);
	cm_free(s->dir);
	cm_free(s);
}

void
ldg_set_progress(ldg_store *s, ldg_progress_fn fn, void *arg)
{
	s->progress = fn;
	s->progress_arg = arg;
}

bool
ldg_writable(const ldg_store *s)
{
	return (s->writable);
}

cm_err
ldg_write_denied(const ldg_store *s)
{
	if (s->writable)
		return (CM_OK);
	return (s->denied != CM_OK ? s->denied : CM_EREADONLY);
}

bool
ldg_lockless(const ldg_store *s)
{
	return (ldg_env_lockless(s->env));
}

const char *
ldg_origin(const ldg_store *s)
{
	return (s->origin);
}

void
ldg_get_params(const ldg_store *s, ldg_params *out)
{
	*out = s->params;
}

void
ldg_checkpoint_vkey(const ldg_store *s, ldg_vkey *out)
{
	*out = s->vkey;
}

void
ldg_operator_pub(const ldg_store *s, uint8_t out[CM_PUBKEY_LEN])
{
	memcpy(out, s->op_pub, CM_PUBKEY_LEN);
}

cm_err
ldg_read_begin(ldg_store *s, ldg_txn **out)
{
	return (ldg_txn_begin(s, NULL, false, out));
}

/* ---- init ---- */

static cm_err
dir_prepare(const char *dir, cm_diag *d)
{
	DIR           *dp = NULL;
	ldg_data_state state;
	size_t         n, ninit;
	cm_diag        why;

	/* The new directory's name must survive a power loss as the ledger
	 * in it will: sync its parent. */
	if (mkdir(dir, 0700) == 0)
		return (cm_sync_parent(dir, d));
	if (errno != EEXIST || (dp = opendir(dir)) == NULL)
		return (cm_fail(d, cm_err_from_errno(errno), "cannot %s %s: %s",
		                errno == EEXIST ? "read" : "create", dir,
		                strerror(errno)));
	closedir(dp);
	dir_count(dir, &n, &ninit);
	if (n == 0)
		return (CM_OK);
	if (ninit == 0)
		return (cm_fail(d, CM_EEXIST,
		                "%s is not empty; refusing to init", dir));
	/* Say what is there, as open would. */
	cm_diag_clear(&why);
	if (ldg_env_probe(dir, &state, &why) != CM_OK)
		return (cm_fail(d, CM_EEXIST, "%s; refusing to init", why.msg));
	if (state == LDG_DATA_OK)
		return (cm_fail(d, CM_EEXIST,
		                "%s already holds a ledger; refusing to init",
		                dir));
	no_ledger(dir, state, &why);
	return (cm_fail(d, CM_EEXIST, "%s; refusing to init", why.msg));
}

cm_err
ldg_init(const char *dir, const cm_key *op, const char *origin,
         const char *ckpt_key_path, const ldg_params *params, uint64_t log_time,
         cm_diag *d)
{
	return (ldg_init_modules(dir, op, origin, ckpt_key_path, params,
	                         log_time, NULL, 0, d));
}

cm_err
ldg_init_modules(const char *dir, const cm_key *op, const char *origin,
                 const char *ckpt_key_path, const ldg_params *params,
                 uint64_t log_time, const ldg_module **modules, size_t nmodules,
                 cm_diag *d)
{
	cm_key     *ck = NULL;
	char       *keypath = NULL;
	ldg_store  *s = NULL;
	ldg_txn    *t = NULL;
	ldg_genesis g;
	cm_buf      leaf = {0}, note = {0};
	ldg_leaf    lv;
	ldg_opts    opts;
	cm_err      rv;

	memset(&g, 0, sizeof(g));
	memset(&opts, 0, sizeof(opts));
	/* Genesis is indexed by these modules' indexers too, in its commit,
	 * so the ledger opens with them from the start. */
	opts.modules = modules;
	opts.nmodules = nmodules;
	if (origin != NULL) {
		if ((rv = ldg_origin_check(origin, d)) != CM_OK)
			return (rv);
		snprintf(g.origin, sizeof(g.origin), "%s", origin);
	} else {
		uint8_t r[8];
		cm_buf  hex = {0};

		if ((rv = cm_random(r, sizeof(r))) != CM_OK ||
		    (rv = cm_hex_encode(&hex, CM_BYTES(r, 8))) != CM_OK) {
			cm_buf_fini(&hex);
			return (rv);
		}
		snprintf(g.origin, sizeof(g.origin), "tally.invalid/%s",
		         (char *) hex.p);
		cm_buf_fini(&hex);
	}
	if (params != NULL)
		g.params = *params;
	else
		ldg_params_default(&g.params);
	/* Before anything is written: open would refuse this genesis. */
	if ((rv = ldg_params_check(&g.params, d)) != CM_OK)
		return (rv);
	g.log_time = log_time ? log_time : cm_now_ms();
	if ((rv = dir_prepare(dir, d)) != CM_OK)
		return (rv);
	keypath = ckpt_key_path ? cm_strdup(ckpt_key_path)
	                        : path_join(dir, CKPT_KEY_FILE);
	if (keypath == NULL)
		return (CM_ENOMEM);
	if (file_exists(keypath)) {
		if ((rv = cm_key_load(keypath, &ck, d)) != CM_OK)
			goto out;
	} else if ((rv = cm_key_generate(&ck)) != CM_OK ||
	           (rv = cm_key_save(ck, keypath, d)) != CM_OK) {
		goto out;
	}
	cm_key_public(ck, g.ckpt_pub);
	cm_key_public(op, g.op_pub);
	if (memcmp(g.ckpt_pub, g.op_pub, CM_PUBKEY_LEN) == 0) {
		rv = cm_fail(
		    d, CM_EINVAL,
		    "the checkpoint key and the operator key must differ");
		goto out;
	}
	if ((rv = ldg_genesis_encode(&g, op, &leaf, d)) != CM_OK)
		goto out;
	/* Open the environment and commit genesis with its first checkpoint
	 * last: an interrupted init leaves no genesis, which open reports. */
	if ((rv = store_new(dir, &opts, &s)) != CM_OK)
		goto out;
	if ((rv = ldg_env_open(dir, false, 0, &s->env, d)) != CM_OK)
		goto out;
	s->writable = true;
	s->ckpt_key = ck;
	ck = NULL;
	if ((rv = ldg_txn_begin(s, NULL, true, &t)) != CM_OK ||
	    (rv = ldg_dbs_open(s, t, true)) != CM_OK)
		goto out;
	core_dbs_bind(s);
	if (ldg_size(t) != 0) {
		rv = cm_fail(d, CM_EEXIST, "%s already holds a ledger", dir);
		goto out;
	}
	memcpy(s->origin, g.origin, sizeof(s->origin));
	memcpy(s->op_pub, g.op_pub, CM_PUBKEY_LEN);
	cm_key_id(g.op_pub, s->op_kid);
	cm_key_id(g.ckpt_pub, s->ckpt_kid);
	s->params = g.params;
	if ((rv = ldg_vkey_make(s->origin, g.ckpt_pub, &s->vkey, d)) != CM_OK)
		goto out;
	if ((rv = ldg_tree_put_leaf(t, 0, cm_buf_bytes(&leaf))) != CM_OK)
		goto out;
	memset(&lv, 0, sizeof(lv));
	lv.index = 0;
	lv.bytes = cm_buf_bytes(&leaf);
	lv.type = CM_BYTES(LDG_T_GENESIS, strlen(LDG_T_GENESIS));
	lv.log_time = g.log_time;
	{
		uint8_t key[16], val[8];

		cm_put_u64be(key, g.log_time);
		cm_put_u64be(key + 8, 0);
		cm_put_u64be(val, 1);
		if ((rv = ldg_kv_put(t, s->db_time, CM_BYTES(key, 16),
		                     CM_BYTES(val, 8), LDG_PUT_APPEND)) !=
		    CM_OK)
			goto out;
	}
	if ((rv = ldg_run_indexers(t, &lv, d)) != CM_OK ||
	    (rv = ldg_indexers_mark(t, 1)) != CM_OK ||
	    (rv = ldg_meta_put(t, "format", CM_BYTES("1", 1))) != CM_OK ||
	    (rv = ldg_checkpoint_store(t, 1, &note)) != CM_OK)
		goto out;
	rv = ldg_txn_commit(t);
	t = NULL;
out:
	if (rv != CM_OK)
		cm_diag_set(d, "init failed: %s", cm_strerror(rv));
	ldg_txn_end(t);
	ldg_close(s);
	cm_key_free(ck);
	cm_free(keypath);
	cm_buf_fini(&leaf);
	cm_buf_fini(&note);
	return (rv);
}
