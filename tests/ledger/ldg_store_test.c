/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_store_test.c -- the store on a real LMDB directory: a
 * toy record kind and indexer registered from outside ledger/, group commit
 * with a refused batch, indexer-set changes and reindex, map growth,
 * read-only opening, a tampered tree refused for writing, durable flags,
 * init refusals, the time index, and the append path on several threads:
 * the same answers and bytes with one thread or four, ldg_prepare before
 * the state changes, ldg_prepare on another thread, and organisations with
 * several keys (their rules, and an index from an older tally). */
#include "ledger/ldg_impl.h" /* ldg_txn_begin: to tamper in one test */
#include "tests/tst.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1790000000000ULL
#define USCC "91350100M000100Y43"

/* ---- a toy module, as trace or credit would write one ---- */

static cm_err
toy_n(cm_bytes rec, uint64_t *n, cm_diag *d)
{
	ldg_field f[3] = {{"n", true}, {"t", true}, {"kind", true}};

	if (ldg_fields_decode(rec, "tally/record/v1", f, 3, d) != CM_OK)
		return (CM_EPROTO);
	return (ldg_field_uint(&f[0], n, d));
}

static cm_err
toy_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	uint64_t n;

	return (toy_n(rec->item, out != NULL ? out : &n, d));
}

static bool
toy_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const uint64_t *n = r->decoded; /* toy_decode's output */

	if (id->role == LDG_ROLE_ENTERPRISE && *n % 2 == 0)
		return (true);
	cm_diag_set(d, "toy: only enterprises, only even numbers");
	return (false);
}

static cm_err
toy_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	uint64_t n;
	uint8_t  key[8], val[8];
	ldg_db   db;
	cm_err   rv;

	if (leaf->record == NULL ||
	    !cm_bytes_eq(leaf->record->kind, CM_BYTES("toy", 3)))
		return (CM_OK);
	(void) d;
	n = *(const uint64_t *) leaf->record->decoded;
	if ((rv = ldg_db_find(t, "toy_by_n", &db)) != CM_OK)
		return (rv);
	cm_put_u64be(key, n);
	cm_put_u64be(val, leaf->index);
	return (ldg_kv_put(t, db, CM_BYTES(key, 8), CM_BYTES(val, 8), 0));
}

static uint64_t toy_first, toy_last, toy_calls;

static void
toy_post_commit(void *arg, uint64_t first, uint64_t last)
{
	(void) arg;
	toy_first = first;
	toy_last = last;
	toy_calls++;
}

static const ldg_kind toy_kinds[] = {
    {"toy", sizeof(uint64_t), toy_decode, toy_may_write, NULL}};
static const ldg_dbspec  toy_dbs[] = {{"toy_by_n", 0}};
static const ldg_indexer toy_indexers[] = {{"toy", 1, toy_dbs, 1, toy_index}};
static const ldg_module toy_module = {"toy", toy_kinds,       1,   toy_indexers,
                                      1,     toy_post_commit, NULL};
static const ldg_module *toy_mods[] = {&toy_module};

/* ---- fixtures ---- */

typedef struct fix {
	char    dir[64];
	cm_key *op, *ent;
} fix;

static void
fix_init(fix *f, bool with_toy)
{
	char            tmpl[] = "/tmp/ldg_store_test-XXXXXX";
	ldg_store      *s = NULL;
	ldg_opts        o;
	cm_buf          pop = {0}, rec = {0}, batch = {0};
	ldg_id_register r;
	ldg_receipt     rc;
	cm_err          st;
	cm_diag         d;
	cm_bytes        b, rb;

	memset(f, 0, sizeof(*f));
	TST_TRUE(mkdtemp(tmpl) != NULL);
	snprintf(f->dir, sizeof(f->dir), "%s/l", tmpl);
	TST_OK(cm_key_generate(&f->op));
	TST_OK(cm_key_generate(&f->ent));
	TST_OK(ldg_init(f->dir, f->op, "test.invalid/store", NULL, NULL, T0,
	                NULL));
	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = with_toy ? 1 : 0;
	o.reindex = with_toy; /* the toy indexer has not seen genesis yet */
	TST_OK(ldg_open(f->dir, &o, &s, NULL));
	if (with_toy)
		TST_OK(ldg_reindex(s, NULL));
	memset(&r, 0, sizeof(r));
	r.role = LDG_ROLE_ENTERPRISE;
	r.name = "Demo Foods";
	r.uscc = USCC;
	cm_key_public(f->ent, r.pub);
	TST_OK(ldg_pop_make(ldg_origin(s), f->ent, &pop));
	r.pop = cm_buf_bytes(&pop);
	TST_OK(ldg_id_register_record(ldg_origin(s), f->op, &r, &rec, NULL));
	rb = cm_buf_bytes(&rec);
	TST_OK(
	    ldg_batch_build(ldg_origin(s), f->op, 1, T0, &rb, 1, &batch, NULL));
	b = cm_buf_bytes(&batch);
	memset(&rc, 0, sizeof(rc));
	cm_diag_clear(&d);
	TST_OK(ldg_append(s, &b, 1, T0 + 1, &rc, &st, &d));
	TST_OK(st);
	ldg_receipt_fini(&rc);
	ldg_close(s);
	cm_buf_fini(&pop);
	cm_buf_fini(&rec);
	cm_buf_fini(&batch);
}

static void
fix_fini(fix *f)
{
	char cmd[160];

	cm_key_free(f->op);
	cm_key_free(f->ent);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int) (strlen(f->dir) - 2),
	         f->dir);
	TST_TRUE(system(cmd) == 0);
}

static ldg_store *
open_threads(const char *dir, bool toy, unsigned threads)
{
	ldg_store *s = NULL;
	ldg_opts   o;
	cm_diag    d;

	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = toy ? 1 : 0;
	o.threads = threads;
	cm_diag_clear(&d);
	TST_OK(ldg_open(dir, &o, &s, &d));
	if (s == NULL)
		fprintf(stderr, "open: %s\n", d.msg);
	return (s);
}

static ldg_store *
open_toy(const fix *f, bool toy)
{
	return (open_threads(f->dir, toy, 0));
}

/* A batch of toy records with numbers ns, signed by k at seq and claimed
 * time when; a record whose number is in bad_kind gets kind "nope" (no
 * such kind). */
static void
toy_batch_ex(const ldg_store *s, const cm_key *k, uint64_t seq,
             const uint64_t *ns, size_t n, uint64_t bad_kind, uint64_t when,
             cm_buf *out)
{
	cm_buf   *recs = calloc(n, sizeof(*recs));
	cm_bytes *rb = calloc(n, sizeof(*rb));

	TST_TRUE(recs != NULL && rb != NULL);
	if (recs == NULL || rb == NULL)
		exit(2);
	for (size_t i = 0; i < n; i++) {
		cm_cbor_wr w;

		cm_cbor_wr_init(&w, &recs[i]);
		cm_cbor_wr_map(&w, 3);
		cm_cbor_wr_cstr(&w, "n");
		cm_cbor_wr_uint(&w, ns[i]);
		cm_cbor_wr_cstr(&w, "t");
		cm_cbor_wr_cstr(&w, "tally/record/v1");
		cm_cbor_wr_cstr(&w, "kind");
		cm_cbor_wr_cstr(&w, ns[i] == bad_kind ? "nope" : "toy");
		TST_OK(cm_cbor_wr_finish(&w, NULL));
		rb[i] = cm_buf_bytes(&recs[i]);
	}
	TST_OK(ldg_batch_build(ldg_origin(s), k, seq, when, rb, n, out, NULL));
	for (size_t i = 0; i < n; i++)
		cm_buf_fini(&recs[i]);
	free(recs);
	free(rb);
}

static void
toy_batch(const ldg_store *s, const cm_key *k, uint64_t seq, const uint64_t *ns,
          size_t n, cm_buf *out)
{
	toy_batch_ex(s, k, seq, ns, n, UINT64_MAX, T0, out);
}

/* ---- tests ---- */

static void
test_toy_module_and_group_commit(void)
{
	fix         f;
	ldg_store  *s;
	cm_buf      b1 = {0}, b2 = {0}, b3 = {0};
	cm_bytes    bs[3];
	ldg_receipt rc[3];
	cm_err      st[3];
	cm_diag     d[3];
	ldg_txn    *t = NULL;
	ldg_db      db;
	cm_bytes    v;
	uint8_t     key[8];
	uint64_t    two = 2, three = 3, four = 4;

	fix_init(&f, true);
	s = open_toy(&f, true);
	TST_TRUE(s != NULL);
	if (s == NULL)
		return;
	/* Three batches in one commit: the middle one is refused by the
	 * toy kind's may_write and must not take the others with it. */
	toy_batch(s, f.ent, 1, &two, 1, &b1);
	toy_batch(s, f.ent, 2, &three, 1, &b2);
	toy_batch(s, f.ent, 2, &four, 1, &b3);
	bs[0] = cm_buf_bytes(&b1);
	bs[1] = cm_buf_bytes(&b2);
	bs[2] = cm_buf_bytes(&b3);
	memset(rc, 0, sizeof(rc));
	TST_OK(ldg_append(s, bs, 3, T0 + 10, rc, st, d));
	TST_OK(st[0]);
	TST_ERR(st[1], CM_EDENIED);
	TST_TRUE(strstr(d[1].msg, "only even") != NULL);
	TST_OK(st[2]);
	TST_EQ_U(rc[0].header_index, 3);
	TST_EQ_U(rc[2].header_index, 5);
	TST_EQ_U(rc[2].size, 7);
	TST_TRUE(rc[2].checkpoint.len > 0);
	TST_EQ_U(toy_calls > 0, 1);
	TST_EQ_U(toy_first, 3);
	TST_EQ_U(toy_last, 6);
	TST_OK(ldg_read_begin(s, &t));
	TST_OK(ldg_db_find(t, "toy_by_n", &db));
	cm_put_u64be(key, 4);
	TST_OK(ldg_kv_get(t, db, CM_BYTES(key, 8), &v));
	TST_EQ_U(v.len == 8 ? cm_get_u64be(v.p) : 0, 6);
	cm_put_u64be(key, 3);
	TST_ERR(ldg_kv_get(t, db, CM_BYTES(key, 8), &v), CM_ENOTFOUND);
	/* The module API refuses deletes from the authoritative log. */
	TST_ERR(ldg_kv_del(t, t->s->db_entries, CM_BYTES(key, 8), NULL),
	        CM_EREADONLY);
	ldg_txn_end(t);
	for (int i = 0; i < 3; i++)
		ldg_receipt_fini(&rc[i]);
	ldg_close(s);
	cm_buf_fini(&b1);
	cm_buf_fini(&b2);
	cm_buf_fini(&b3);
	fix_fini(&f);
}

static void
test_indexer_set_change_needs_reindex(void)
{
	fix        f;
	ldg_store *s = NULL;
	ldg_opts   o;
	cm_diag    d;

	fix_init(&f, false);
	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = 1;
	cm_diag_clear(&d);
	TST_ERR(ldg_open(f.dir, &o, &s, &d), CM_EINVAL);
	TST_TRUE(strstr(d.msg, "reindex") != NULL);
	o.reindex = true;
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	TST_OK(ldg_reindex(s, NULL));
	ldg_close(s);
	s = open_toy(&f, true);
	TST_TRUE(s != NULL);
	ldg_close(s);
	/* And back: a program without the toy indexer is refused too. */
	s = NULL;
	TST_ERR(ldg_open(f.dir, NULL, &s, NULL), CM_EINVAL);
	fix_fini(&f);
}

/* 60 batches of 8 toy records (seq 1..60, numbers after ns), one
 * ldg_append each, every one accepted. */
static void
appends_60(ldg_store *s, const cm_key *ent, uint64_t ns[8])
{
	for (uint64_t seq = 1; seq <= 60; seq++) {
		cm_buf      b = {0};
		cm_bytes    bb;
		ldg_receipt rc;
		cm_err      stt;

		for (int i = 0; i < 8; i++)
			ns[i] += 16;
		toy_batch(s, ent, seq, ns, 8, &b);
		bb = cm_buf_bytes(&b);
		memset(&rc, 0, sizeof(rc));
		TST_OK(ldg_append(s, &bb, 1, T0 + 100, &rc, &stt, NULL));
		TST_OK(stt);
		ldg_receipt_fini(&rc);
		cm_buf_fini(&b);
	}
}

static void
test_map_full_grows(void)
{
	fix        f;
	ldg_store *s = NULL;
	ldg_opts   o;
	ldg_stats  st0, st1;
	uint64_t   ns[8] = {2, 4, 6, 8, 10, 12, 14, 16};

	fix_init(&f, true);
	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = 1;
	o.mapsize = 64 << 10; /* LMDB raises it to the size in use */
	/* The map size is stored on commit; reopening with a smaller one
	 * adopts the stored size, so shrink a fresh environment instead. */
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	if (s == NULL)
		return;
	TST_OK(ldg_stats_get(s, &st0));
	TST_TRUE(st0.durable);
	appends_60(s, f.ent, ns);
	TST_OK(ldg_stats_get(s, &st1));
	TST_EQ_U(st1.size, 3 + 60 * 9);
	TST_TRUE(st1.map_size > st0.map_size); /* grown and retried */
	ldg_close(s);
	fix_fini(&f);
}

static void
test_readonly_without_key(void)
{
	fix         f;
	ldg_store  *s = NULL;
	ldg_opts    o;
	cm_buf      b = {0};
	cm_bytes    bb;
	ldg_receipt rc;
	cm_err      st;
	uint64_t    two = 2;

	fix_init(&f, false);
	memset(&o, 0, sizeof(o));
	o.checkpoint_key = "/nonexistent/checkpoint.key";
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	if (s == NULL)
		return;
	TST_TRUE(!ldg_writable(s));
	toy_batch(s, f.ent, 1, &two, 1, &b);
	bb = cm_buf_bytes(&b);
	memset(&rc, 0, sizeof(rc));
	TST_ERR(ldg_append(s, &bb, 1, T0, &rc, &st, NULL), CM_EREADONLY);
	ldg_close(s);
	cm_buf_fini(&b);
	fix_fini(&f);
}

static void
test_tampered_tree_refused_for_writing(void)
{
	fix        f;
	ldg_store *s = NULL;
	ldg_txn   *t = NULL;
	uint8_t    key[9], junk[LDG_TILE_BYTES];
	cm_bytes   tile;
	cm_diag    d;

	fix_init(&f, false);
	TST_OK(ldg_open(f.dir, NULL, &s, NULL));
	if (s == NULL)
		return;
	/* The subtree over leaves 0-1 (level 1, slot 16 of the first tile):
	 * the root at size 3 is read from it.  (A lower node that the root
	 * does not read is caught by audit.) */
	memset(key, 0, sizeof(key));
	TST_OK(ldg_txn_begin(s, NULL, true, &t));
	TST_OK(ldg_kv_get(t, s->db_nodes, CM_BYTES(key, 9), &tile));
	TST_EQ_U(tile.len, LDG_TILE_BYTES);
	memcpy(junk, tile.p, LDG_TILE_BYTES);
	junk[4 + 16 * CM_HASH_LEN] ^= 0xab;
	TST_OK(ldg_kv_put(t, s->db_nodes, CM_BYTES(key, 9),
	                  CM_BYTES(junk, LDG_TILE_BYTES), 0));
	TST_OK(ldg_txn_commit(t));
	ldg_close(s);
	s = NULL;
	cm_diag_clear(&d);
	TST_ERR(ldg_open(f.dir, NULL, &s, &d), CM_ECORRUPT);
	TST_TRUE(strstr(d.msg, "does not match") != NULL);
	/* Read-only opening still works, so the damage can be examined. */
	ldg_opts o;
	memset(&o, 0, sizeof(o));
	o.readonly = true;
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	ldg_close(s);
	fix_fini(&f);
}

static void
test_init_refusals(void)
{
	fix         f;
	cm_diag     d;
	char        path[96];
	struct stat st;

	fix_init(&f, false);
	cm_diag_clear(&d);
	TST_ERR(ldg_init(f.dir, f.op, NULL, NULL, NULL, T0, &d), CM_EEXIST);
	TST_TRUE(strstr(d.msg, "refusing") != NULL);
	snprintf(path, sizeof(path), "%s/checkpoint.key", f.dir);
	TST_OK(stat(path, &st) == 0 ? CM_OK : CM_EIO);
	TST_EQ_U(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/data.mdb", f.dir);
	TST_OK(stat(path, &st) == 0 ? CM_OK : CM_EIO);
	TST_EQ_U(st.st_mode & 0077, 0);
	fix_fini(&f);
}

/* data.mdb cut short, emptied, removed: refused before LMDB maps it (a
 * cut file used to end in SIGBUS), with the cause, and left as it was. */
static void
test_damaged_data_refused(void)
{
	fix         f;
	ldg_store  *s = NULL;
	ldg_opts    ro;
	cm_diag     d;
	char        path[96];
	struct stat st;

	fix_init(&f, false);
	memset(&ro, 0, sizeof(ro));
	ro.readonly = true;
	snprintf(path, sizeof(path), "%s/data.mdb", f.dir);
	TST_TRUE(stat(path, &st) == 0 && st.st_size > 16384);
	TST_TRUE(truncate(path, 16384) == 0);
	for (int i = 0; i < 2; i++) {
		cm_diag_clear(&d);
		TST_ERR(ldg_open(f.dir, i ? &ro : NULL, &s, &d), CM_ECORRUPT);
		TST_TRUE(strstr(d.msg, "data.mdb is damaged: it has 16384 "
		                       "bytes but its last commit") != NULL);
	}
	TST_TRUE(stat(path, &st) == 0 && st.st_size == 16384);
	/* Empty: a writer's open must not make it a new environment. */
	TST_TRUE(truncate(path, 0) == 0);
	for (int i = 0; i < 2; i++) {
		cm_diag_clear(&d);
		TST_ERR(ldg_open(f.dir, i ? &ro : NULL, &s, &d), CM_ECORRUPT);
		TST_TRUE(strstr(d.msg, "data.mdb is empty (0 bytes)") != NULL);
	}
	TST_TRUE(stat(path, &st) == 0 && st.st_size == 0);
	/* Only init's files (the key, lock.mdb), nothing committed. */
	TST_TRUE(unlink(path) == 0);
	cm_diag_clear(&d);
	TST_ERR(ldg_open(f.dir, NULL, &s, &d), CM_ENOTFOUND);
	TST_TRUE(strstr(d.msg, "holds an interrupted init") != NULL);
	TST_TRUE(stat(path, &st) != 0);
	fix_fini(&f);
}

static void
test_time_index(void)
{
	fix        f;
	ldg_store *s;
	ldg_txn   *t = NULL;
	uint64_t   size = 0;

	fix_init(&f, false);
	s = open_toy(&f, false);
	if (s == NULL)
		return;
	TST_OK(ldg_read_begin(s, &t));
	TST_OK(ldg_size_at_time(t, T0, &size));
	TST_EQ_U(size, 1); /* genesis only */
	TST_OK(ldg_size_at_time(t, T0 + 1, &size));
	TST_EQ_U(size, 3);
	TST_ERR(ldg_size_at_time(t, T0 - 1, &size), CM_ENOTFOUND);
	ldg_txn_end(t);
	ldg_close(s);
	fix_fini(&f);
}

/* ---- threads: the append path's chunks ---- */

#define NB 5

/* What one run of the group below produced. */
typedef struct run_out {
	cm_err   st[NB];
	char     msg[NB][256];
	uint64_t size;
	uint8_t  root[CM_HASH_LEN];
	cm_buf   note;
} run_out;

/* Appends, in one commit: 300 good records; 300 with an unknown kind at
 * record 100 and an odd number (refused by may_write) at 250; 300 with odd
 * numbers at 130 and 260; 150 good ones; then one more batch alone. */
/* The stored tree (tiles, with parents hashed on the append path's threads)
 * gives, at every size, the root computed in memory from the entries'
 * leaf hashes. */
static void
roots_match_entries(ldg_txn *t, uint64_t size)
{
	uint8_t(*lh)[CM_HASH_LEN] = calloc(size, CM_HASH_LEN);
	uint8_t  got[CM_HASH_LEN], want[CM_HASH_LEN];
	cm_bytes leaf;
	size_t   bad = 0;

	TST_TRUE(lh != NULL);
	if (lh == NULL)
		return;
	for (uint64_t i = 0; i < size; i++) {
		TST_OK(ldg_leaf_get(t, i, &leaf));
		ldg_leaf_hash(leaf, lh[i]);
	}
	for (uint64_t n = 1; n <= size; n++) {
		ldg_merkle_root((const uint8_t(*)[CM_HASH_LEN]) lh, (size_t) n,
		                want);
		if (ldg_root_at(t, n, got) != CM_OK ||
		    memcmp(got, want, CM_HASH_LEN) != 0)
			bad++;
	}
	TST_EQ_U(bad, 0);
	free(lh);
}

static void
threads_run(const char *dir, const cm_key *ent, unsigned threads, run_out *out)
{
	ldg_store  *s = open_threads(dir, true, threads);
	uint64_t   *ns = calloc(300, sizeof(*ns));
	cm_buf      b[NB];
	cm_bytes    bs[NB];
	ldg_receipt rc[NB];
	cm_diag     d[NB];
	ldg_txn    *t = NULL;

	memset(out, 0, sizeof(*out));
	memset(b, 0, sizeof(b));
	memset(rc, 0, sizeof(rc));
	TST_TRUE(s != NULL && ns != NULL);
	if (s == NULL || ns == NULL)
		return;
	for (size_t i = 0; i < 300; i++)
		ns[i] = 2 * i;
	toy_batch(s, ent, 1, ns, 300, &b[0]);
	ns[250] = 501;
	toy_batch_ex(s, ent, 2, ns, 300, 200, T0, &b[1]); /* record 100 */
	ns[250] = 500;
	ns[130] = 261;
	ns[260] = 521;
	toy_batch(s, ent, 2, ns, 300, &b[2]);
	ns[130] = 260;
	ns[260] = 520;
	toy_batch(s, ent, 2, ns, 150, &b[3]);
	toy_batch(s, ent, 3, ns + 7, 1, &b[4]);
	for (size_t i = 0; i < NB; i++)
		bs[i] = cm_buf_bytes(&b[i]);
	TST_OK(ldg_append(s, bs, NB - 1, T0 + 10, rc, out->st, d));
	TST_OK(ldg_append(s, bs + NB - 1, 1, T0 + 11, rc + NB - 1,
	                  out->st + NB - 1, d + NB - 1));
	for (size_t i = 0; i < NB; i++) {
		snprintf(out->msg[i], sizeof(out->msg[i]), "%s", d[i].msg);
		ldg_receipt_fini(&rc[i]);
		cm_buf_fini(&b[i]);
	}
	TST_OK(ldg_read_begin(s, &t));
	out->size = ldg_size(t);
	TST_OK(ldg_root_at(t, out->size, out->root));
	TST_OK(ldg_checkpoint_get(t, UINT64_MAX, &out->note, NULL));
	roots_match_entries(t, out->size);
	ldg_txn_end(t);
	ldg_close(s);
	free(ns);
}

static void
test_threads_same_result(void)
{
	fix     f;
	char    dir2[80], cmd[200];
	run_out one, four;

	fix_init(&f, true);
	snprintf(dir2, sizeof(dir2), "%s2", f.dir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", f.dir, dir2);
	TST_TRUE(system(cmd) == 0);
	threads_run(f.dir, f.ent, 1, &one);
	threads_run(dir2, f.ent, 4, &four);
	/* The refusals name the first bad record of each batch. */
	TST_OK(one.st[0]);
	TST_ERR(one.st[1], CM_EKIND);
	TST_TRUE(strstr(one.msg[1], "record 100") != NULL);
	TST_ERR(one.st[2], CM_EDENIED);
	TST_TRUE(strstr(one.msg[2], "record 130") != NULL);
	TST_OK(one.st[3]);
	TST_OK(one.st[4]);
	TST_EQ_U(one.size, 3 + 301 + 151 + 2);
	/* One thread or four: the same answers, the same bytes. */
	for (size_t i = 0; i < NB; i++) {
		TST_EQ_U(one.st[i], four.st[i]);
		TST_EQ_STR(one.msg[i], four.msg[i]);
	}
	TST_EQ_U(one.size, four.size);
	TST_EQ_MEM(one.root, four.root, CM_HASH_LEN);
	TST_EQ_U(one.note.len, four.note.len);
	TST_TRUE(one.note.len == four.note.len &&
	         memcmp(one.note.p, four.note.p, one.note.len) == 0);
	cm_buf_fini(&one.note);
	cm_buf_fini(&four.note);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir2);
	TST_TRUE(system(cmd) == 0);
	fix_fini(&f);
}

/* An operator batch (seq oseq) of one identity record in rec. */
static void
op_batch(const ldg_store *s, const fix *f, uint64_t oseq, const cm_buf *rec,
         cm_buf *out)
{
	cm_bytes rb = cm_buf_bytes(rec);

	TST_OK(
	    ldg_batch_build(ldg_origin(s), f->op, oseq, T0, &rb, 1, out, NULL));
}

static uint64_t
size_of(ldg_store *s)
{
	ldg_txn *t = NULL;
	uint64_t n = 0;

	TST_OK(ldg_read_begin(s, &t));
	if (t != NULL)
		n = ldg_size(t);
	ldg_txn_end(t);
	return (n);
}

static void
test_prepare_then_append(void)
{
	fix             f;
	ldg_store      *s;
	ldg_prepared   *p = NULL, *q[2] = {NULL, NULL}, *bad = NULL;
	cm_buf          b1 = {0}, b2 = {0}, b3 = {0}, rec = {0}, pop = {0};
	cm_buf          reg = {0}, rv = {0}, b3bad = {0};
	cm_key         *ent2 = NULL;
	ldg_id_register r;
	ldg_batchfile   bf;
	ldg_receipt     rc[2];
	cm_err          st[2];
	cm_diag         d[2];
	uint64_t        two = 2, four = 4, before;
	uint8_t         kid[CM_KEYID_LEN], pub[CM_PUBKEY_LEN];

	fix_init(&f, true);
	s = open_toy(&f, true);
	if (s == NULL)
		return;
	memset(rc, 0, sizeof(rc));
	/* Prepared, then appended: accepted; appended again: a resend. */
	toy_batch(s, f.ent, 1, &two, 1, &b1);
	TST_OK(ldg_prepare(s, cm_buf_bytes(&b1), &p, NULL));
	TST_OK(ldg_append_prepared(s, &p, 1, T0 + 10, rc, st, d));
	TST_OK(st[0]);
	TST_EQ_U(rc[0].header_index, 3);
	TST_TRUE(rc[0].checkpoint.len > 0);
	ldg_receipt_fini(&rc[0]);
	TST_OK(ldg_append_prepared(s, &p, 1, T0 + 11, rc, st, d));
	TST_ERR(st[0], CM_EDUPLICATE);
	TST_TRUE(rc[0].already);
	ldg_receipt_fini(&rc[0]);
	ldg_prepared_free(p);
	p = NULL;

	/* Refused while preparing: nothing to append, nothing written. */
	before = size_of(s);
	toy_batch_ex(s, f.ent, 2, &four, 1, 4, T0, &b2);
	TST_ERR(ldg_prepare(s, cm_buf_bytes(&b2), &p, &d[0]), CM_EKIND);
	TST_TRUE(p == NULL);
	TST_TRUE(strstr(d[0].msg, "unknown record kind") != NULL);
	TST_EQ_U(size_of(s), before);

	/* No prepared batch, or one prepared by another store: refused as
	 * a whole, nothing written. */
	{
		fix           f2;
		ldg_store    *s2;
		ldg_prepared *none = NULL, *other = NULL;
		cm_buf        b4 = {0};

		TST_ERR(ldg_append_prepared(s, &none, 1, T0 + 12, rc, st, d),
		        CM_EINVAL);
		fix_init(&f2, true);
		s2 = open_toy(&f2, true);
		TST_TRUE(s2 != NULL);
		if (s2 != NULL) {
			toy_batch(s2, f2.ent, 1, &two, 1, &b4);
			TST_OK(
			    ldg_prepare(s2, cm_buf_bytes(&b4), &other, NULL));
			TST_ERR(ldg_append_prepared(s, &other, 1, T0 + 12, rc,
			                            st, d),
			        CM_EINVAL);
			ldg_prepared_free(other);
			ldg_close(s2);
		}
		cm_buf_fini(&b4);
		fix_fini(&f2);
		TST_EQ_U(size_of(s), before);
	}

	/* Prepared with a key that is revoked before the append: the
	 * state-dependent check refuses it and nothing is written. */
	cm_buf_reset(&b2);
	toy_batch(s, f.ent, 2, &four, 1, &b2);
	TST_OK(ldg_prepare(s, cm_buf_bytes(&b2), &p, NULL));
	cm_key_public(f.ent, pub);
	cm_key_id(pub, kid);
	TST_OK(ldg_id_revoke_record(ldg_origin(s), f.op, kid, 0, &rv, NULL));
	op_batch(s, &f, 2, &rv, &b3);
	{
		cm_bytes x = cm_buf_bytes(&b3);

		TST_OK(ldg_append(s, &x, 1, T0 + 12, rc, st, d));
		TST_OK(st[0]);
		ldg_receipt_fini(&rc[0]);
	}
	before = size_of(s);
	cm_diag_clear(&d[0]);
	TST_OK(ldg_append_prepared(s, &p, 1, T0 + 13, rc, st, d));
	TST_ERR(st[0], CM_EKEYREVOKED);
	TST_EQ_U(size_of(s), before);
	ldg_prepared_free(p);
	p = NULL;

	/* A key registered in the same group as its first batch: the
	 * snapshot did not know it, so the signature is checked in the
	 * write transaction, and a bad one is refused there. */
	TST_OK(cm_key_generate(&ent2));
	memset(&r, 0, sizeof(r));
	r.role = LDG_ROLE_ENTERPRISE;
	r.name = "Second Foods";
	r.uscc = "914403001922038216";
	cm_key_public(ent2, r.pub);
	TST_OK(ldg_pop_make(ldg_origin(s), ent2, &pop));
	r.pop = cm_buf_bytes(&pop);
	TST_OK(ldg_id_register_record(ldg_origin(s), f.op, &r, &rec, NULL));
	op_batch(s, &f, 3, &rec, &reg);
	cm_buf_reset(&b3);
	toy_batch(s, ent2, 1, &two, 1, &b3);
	TST_OK(cm_buf_append(&b3bad, b3.p, b3.len));
	TST_OK(ldg_batchfile_decode(cm_buf_bytes(&b3bad), &bf, NULL));
	((uint8_t *) b3bad.p)[bf.h.sig.p - b3bad.p] ^= 1;
	TST_OK(ldg_prepare(s, cm_buf_bytes(&reg), &q[0], NULL));
	TST_OK(ldg_prepare(s, cm_buf_bytes(&b3bad), &bad, NULL));
	q[1] = bad;
	before = size_of(s);
	TST_OK(ldg_append_prepared(s, q, 2, T0 + 14, rc, st, d));
	TST_OK(st[0]);
	TST_ERR(st[1], CM_EBADSIG);
	TST_EQ_U(size_of(s), before + 2); /* the registration alone */
	ldg_receipt_fini(&rc[0]);
	ldg_receipt_fini(&rc[1]);
	TST_OK(ldg_prepare(s, cm_buf_bytes(&b3), &q[1], NULL));
	TST_OK(ldg_append_prepared(s, q + 1, 1, T0 + 15, rc, st, d));
	TST_OK(st[0]);
	ldg_receipt_fini(&rc[0]);

	ldg_prepared_free(q[0]);
	ldg_prepared_free(q[1]);
	ldg_prepared_free(bad);
	cm_key_free(ent2);
	cm_buf_fini(&b1);
	cm_buf_fini(&b2);
	cm_buf_fini(&b3);
	cm_buf_fini(&b3bad);
	cm_buf_fini(&rec);
	cm_buf_fini(&pop);
	cm_buf_fini(&reg);
	cm_buf_fini(&rv);
	ldg_close(s);
	fix_fini(&f);
}

/* ---- several keys per organisation ---- */

/* Appends the one batch in b; its fate (and seq, if accepted). */
static cm_err
append_one(ldg_store *s, const cm_buf *b, uint64_t now, uint64_t *out_seq,
           cm_diag *d)
{
	cm_bytes    bb = cm_buf_bytes(b);
	ldg_receipt rc;
	cm_err      st = CM_EINVAL;

	memset(&rc, 0, sizeof(rc));
	cm_diag_clear(d);
	TST_OK(ldg_append(s, &bb, 1, now, &rc, &st, d));
	if (out_seq != NULL)
		*out_seq = rc.seq;
	ldg_receipt_fini(&rc);
	return (st);
}

/* One operator batch at oseq registering k for USCC; its fate. */
static cm_err
org_register(ldg_store *s, const fix *f, uint64_t oseq, const cm_key *k,
             ldg_role role, const char *name, const char *label,
             const char *const *scopes, size_t ns, cm_diag *d)
{
	ldg_id_register r;
	cm_buf          pop = {0}, rec = {0}, b = {0};
	cm_err          st;

	memset(&r, 0, sizeof(r));
	r.role = role;
	r.name = name;
	r.uscc = USCC;
	r.label = label;
	r.scopes = scopes;
	r.nscopes = ns;
	cm_key_public(k, r.pub);
	TST_OK(ldg_pop_make(ldg_origin(s), k, &pop));
	r.pop = cm_buf_bytes(&pop);
	TST_OK(ldg_id_register_record(ldg_origin(s), f->op, &r, &rec, NULL));
	op_batch(s, f, oseq, &rec, &b);
	st = append_one(s, &b, T0 + 20, NULL, d);
	cm_buf_fini(&pop);
	cm_buf_fini(&rec);
	cm_buf_fini(&b);
	return (st);
}

/* A toy batch by k at seq; its fate. */
static cm_err
toy_submit(ldg_store *s, const cm_key *k, uint64_t seq, cm_diag *d)
{
	uint64_t two = 2, got = 0;
	cm_buf   b = {0};
	cm_err   st;

	toy_batch(s, k, seq, &two, 1, &b);
	st = append_one(s, &b, T0 + 30, &got, d);
	if (st == CM_OK)
		TST_EQ_U(got, seq);
	cm_buf_fini(&b);
	return (st);
}

static cm_err
keys_collect(void *arg, const ldg_identity *k)
{
	ldg_identity *out = arg;
	size_t        i = 0;

	while (out[i].reg_index != 0)
		i++;
	if (i == 3)
		return (CM_ETOOBIG);
	out[i] = *k;
	return (CM_OK);
}

static size_t
org_keys_n(ldg_store *s, unsigned flags, ldg_identity out[4])
{
	ldg_txn *t = NULL;
	size_t   n = 0;

	memset(out, 0, 4 * sizeof(*out));
	TST_OK(ldg_read_begin(s, &t));
	TST_OK(ldg_org_keys(t, USCC, flags, keys_collect, out, NULL));
	ldg_txn_end(t);
	while (n < 3 && out[n].reg_index != 0)
		n++;
	return (n);
}

static void
test_org_several_keys(void)
{
	fix                f;
	ldg_store         *s;
	cm_key            *p2 = NULL, *p3 = NULL;
	ldg_identity       k[4];
	ldg_org            o;
	ldg_txn           *t = NULL;
	cm_diag            d;
	uint64_t           before;
	uint8_t            pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
	cm_buf             rv = {0}, b = {0};
	const char *const  widen[] = {"market"};
	static const char *long_label =
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4";

	fix_init(&f, true);
	s = open_toy(&f, true);
	if (s == NULL)
		return;
	TST_OK(cm_key_generate(&p2));
	TST_OK(cm_key_generate(&p3));
	/* A second key of the fixture's enterprise, with its own label. */
	TST_OK(org_register(s, &f, 2, p2, LDG_ROLE_ENTERPRISE, "Demo Foods",
	                    "plant 2", NULL, 0, &d));
	/* Refused, each naming its rule, nothing written: */
	before = size_of(s);
	TST_ERR(org_register(s, &f, 3, p3, LDG_ROLE_ENTERPRISE, "Demo Foods",
	                     "plant 2", NULL, 0, &d),
	        CM_EEXIST); /* a label taken among the active keys */
	TST_TRUE(strstr(d.msg, "labelled \"plant 2\" (leaf 4)") != NULL);
	TST_ERR(org_register(s, &f, 3, p3, LDG_ROLE_ENTERPRISE, "Demo Foods",
	                     NULL, NULL, 0, &d),
	        CM_EEXIST); /* no label is one too: the first key's */
	TST_TRUE(strstr(d.msg, "without a label (leaf 2)") != NULL);
	TST_ERR(org_register(s, &f, 3, p3, LDG_ROLE_BANK, "Demo Foods",
	                     "plant 3", NULL, 0, &d),
	        CM_EDENIED);
	TST_TRUE(strstr(d.msg, "keeps its role") != NULL);
	TST_ERR(org_register(s, &f, 3, p3, LDG_ROLE_ENTERPRISE, "Demo Food",
	                     "plant 3", NULL, 0, &d),
	        CM_EDENIED);
	TST_TRUE(strstr(d.msg, "repeat the organisation's name") != NULL);
	TST_ERR(org_register(s, &f, 3, p3, LDG_ROLE_ENTERPRISE, "Demo Foods",
	                     "plant 3", widen, 1, &d),
	        CM_EDENIED);
	TST_TRUE(strstr(d.msg, "never widen") != NULL);
	TST_ERR(org_register(s, &f, 3, p3, LDG_ROLE_ENTERPRISE, "Demo Foods",
	                     long_label, NULL, 0, &d),
	        CM_EPROTO);
	TST_TRUE(strstr(d.msg, "label must be 1..64 bytes") != NULL);
	TST_EQ_U(size_of(s), before);

	/* The organisation: registered once, two keys in registration
	 * order, each signing its own sequence from 1. */
	TST_OK(ldg_read_begin(s, &t));
	TST_OK(ldg_org_get(t, USCC, &o, NULL));
	TST_EQ_U(o.reg_index, 2);
	TST_EQ_STR(o.name, "Demo Foods");
	TST_EQ_U(o.role, LDG_ROLE_ENTERPRISE);
	TST_ERR(ldg_org_get(t, "914403001922038216", &o, NULL), CM_ENOTFOUND);
	ldg_txn_end(t);
	t = NULL;
	TST_EQ_U(org_keys_n(s, 0, k), 2);
	TST_EQ_STR(k[0].label, "");
	TST_EQ_STR(k[1].label, "plant 2");
	TST_EQ_U(k[1].reg_index, 4);
	TST_OK(toy_submit(s, f.ent, 1, &d));
	TST_OK(toy_submit(s, p2, 1, &d));
	TST_OK(toy_submit(s, p2, 2, &d));

	/* Revoking plant 2 leaves the first key working. */
	cm_key_public(p2, pub);
	cm_key_id(pub, kid);
	TST_OK(ldg_id_revoke_record(ldg_origin(s), f.op, kid, 0, &rv, NULL));
	op_batch(s, &f, 3, &rv, &b);
	TST_OK(append_one(s, &b, T0 + 40, NULL, &d));
	TST_ERR(toy_submit(s, p2, 3, &d), CM_EKEYREVOKED);
	TST_OK(toy_submit(s, f.ent, 2, &d));
	TST_EQ_U(org_keys_n(s, LDG_KEYS_ACTIVE, k), 1);
	TST_EQ_U(k[0].reg_index, 2);
	TST_EQ_U(org_keys_n(s, 0, k), 2);
	TST_EQ_STR(k[1].end_reason, "revoked");
	/* Its label is free again among the active keys. */
	TST_OK(org_register(s, &f, 4, p3, LDG_ROLE_ENTERPRISE, "Demo Foods",
	                    "plant 2", NULL, 0, &d));
	TST_EQ_U(org_keys_n(s, LDG_KEYS_ACTIVE, k), 2);
	{
		uint64_t bad = 0;
		cm_buf   rep = {0};

		TST_OK(ldg_audit(s, NULL, 0, &bad, &rep, &d));
		cm_buf_fini(&rep);
	}
	ldg_close(s);
	cm_key_free(p2);
	cm_key_free(p3);
	cm_buf_fini(&rv);
	cm_buf_fini(&b);
	fix_fini(&f);
}

/* A ledger indexed by an older tally (identity indexer version 1):
 * writers must reindex, readers of organisations are told to. */
static void
test_org_index_version(void)
{
	fix        f;
	ldg_store *s = NULL;
	ldg_txn   *t = NULL;
	ldg_opts   o;
	ldg_org    org;
	uint8_t    val[12];
	cm_bytes   v;
	cm_diag    d;

	fix_init(&f, false);
	TST_OK(ldg_open(f.dir, NULL, &s, NULL));
	if (s == NULL)
		return;
	TST_OK(ldg_txn_begin(s, NULL, true, &t));
	TST_OK(ldg_meta_get(t, "idx/identity", &v));
	TST_EQ_U(v.len == 12 ? cm_get_u32be(v.p) : 0, 2);
	memcpy(val, v.p, 12);
	cm_put_u32be(val, 1);
	TST_OK(ldg_meta_put(t, "idx/identity", CM_BYTES(val, 12)));
	TST_OK(ldg_txn_commit(t));
	ldg_close(s);
	s = NULL;

	cm_diag_clear(&d);
	TST_ERR(ldg_open(f.dir, NULL, &s, &d), CM_EINVAL);
	TST_TRUE(strstr(d.msg, "reindex") != NULL);
	memset(&o, 0, sizeof(o));
	o.readonly = true;
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	if (s != NULL) {
		TST_OK(ldg_read_begin(s, &t));
		cm_diag_clear(&d);
		TST_ERR(ldg_org_get(t, USCC, &org, &d), CM_EINVAL);
		TST_TRUE(strstr(d.msg, "run tally ledger reindex") != NULL);
		cm_diag_clear(&d);
		TST_ERR(ldg_org_keys(t, USCC, 0, keys_collect, NULL, &d),
		        CM_EINVAL);
		TST_TRUE(strstr(d.msg, "reindex") != NULL);
		ldg_txn_end(t);
		ldg_close(s);
	}
	memset(&o, 0, sizeof(o));
	o.reindex = true;
	s = NULL;
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	TST_OK(ldg_reindex(s, NULL));
	ldg_close(s);
	s = NULL;
	TST_OK(ldg_open(f.dir, NULL, &s, NULL));
	if (s != NULL) {
		TST_OK(ldg_read_begin(s, &t));
		TST_OK(ldg_org_get(t, USCC, &org, NULL));
		TST_EQ_U(org.reg_index, 2);
		ldg_txn_end(t);
		ldg_close(s);
	}
	fix_fini(&f);
}

/* ldg_prepare on one thread while another appends (tallyd's writer
 * pipeline), then a full audit. */
#define PIPE_N 30

typedef struct pipe_arg {
	ldg_store    *s;
	cm_buf       *b;
	ldg_prepared *p[PIPE_N];
	cm_err        rv[PIPE_N];
} pipe_arg;

static void *
pipe_prepare(void *arg)
{
	pipe_arg *pa = arg;

	for (size_t i = 0; i < PIPE_N; i++)
		pa->rv[i] = ldg_prepare(pa->s, cm_buf_bytes(&pa->b[i]),
		                        &pa->p[i], NULL);
	return (NULL);
}

static void
test_prepare_on_another_thread(void)
{
	fix         f;
	ldg_store  *s;
	pipe_arg    pa;
	pthread_t   th;
	cm_buf      b[PIPE_N], report = {0};
	uint64_t    bad = 0;
	ldg_receipt rc;
	cm_err      st;

	fix_init(&f, true);
	s = open_toy(&f, true);
	if (s == NULL)
		return;
	memset(&pa, 0, sizeof(pa));
	memset(b, 0, sizeof(b));
	memset(&rc, 0, sizeof(rc));
	for (size_t i = 0; i < PIPE_N; i++) {
		uint64_t ns[200];

		for (size_t j = 0; j < 200; j++)
			ns[j] = 2 * (i + j);
		toy_batch(s, f.ent, 1 + i, ns, i % 3 == 0 ? 200 : 1, &b[i]);
	}
	pa.s = s;
	pa.b = b;
	TST_TRUE(pthread_create(&th, NULL, pipe_prepare, &pa) == 0);
	/* Meanwhile, batches appended the one-step way. */
	for (size_t i = 0; i < PIPE_N / 2; i++) {
		cm_bytes x = cm_buf_bytes(&b[i]);

		TST_OK(ldg_append(s, &x, 1, T0 + 10 + i, &rc, &st, NULL));
		TST_OK(st);
		ldg_receipt_fini(&rc);
	}
	TST_TRUE(pthread_join(th, NULL) == 0);
	for (size_t i = 0; i < PIPE_N; i++) {
		TST_OK(pa.rv[i]);
		TST_OK(ldg_append_prepared(s, &pa.p[i], 1, T0 + 100 + i, &rc,
		                           &st, NULL));
		TST_ERR(st, i < PIPE_N / 2 ? CM_EDUPLICATE : CM_OK);
		ldg_receipt_fini(&rc);
		ldg_prepared_free(pa.p[i]);
		cm_buf_fini(&b[i]);
	}
	TST_OK(ldg_audit(s, NULL, 0, &bad, &report, NULL));
	TST_EQ_U(bad, UINT64_MAX);
	cm_buf_fini(&report);
	ldg_close(s);
	fix_fini(&f);
}

/* While the main thread's appends grow a small map, another thread keeps
 * reading (an inclusion proof of the last leaf against the root) and
 * preparing a batch: the map is never remapped under a reader. */
typedef struct grow_arg {
	ldg_store *s;
	cm_bytes   batch;
	atomic_int done;
	uint64_t   reads, bad;
} grow_arg;

static void *
grow_reader(void *arg)
{
	grow_arg *g = arg;

	while (!atomic_load(&g->done)) {
		ldg_txn      *t = NULL;
		ldg_prepared *p = NULL;
		cm_buf        proof = {0};
		cm_bytes      leaf;
		uint8_t       root[CM_HASH_LEN], lh[CM_HASH_LEN];
		uint64_t      n;

		if (ldg_read_begin(g->s, &t) != CM_OK) {
			g->bad++;
			continue;
		}
		n = ldg_size(t);
		if (ldg_leaf_get(t, n - 1, &leaf) != CM_OK ||
		    ldg_root_at(t, n, root) != CM_OK ||
		    ldg_prove_inclusion(t, n - 1, n, &proof) != CM_OK)
			g->bad++;
		else {
			ldg_leaf_hash(leaf, lh);
			if (ldg_verify_inclusion(lh, n - 1, n, proof.p,
			                         proof.len / CM_HASH_LEN,
			                         root) != CM_OK)
				g->bad++;
		}
		ldg_txn_end(t);
		cm_buf_fini(&proof);
		if (ldg_prepare(g->s, g->batch, &p, NULL) != CM_OK)
			g->bad++;
		ldg_prepared_free(p);
		g->reads++;
	}
	return (NULL);
}

static void
test_map_grows_under_readers(void)
{
	fix        f;
	ldg_store *s = NULL;
	ldg_opts   o;
	ldg_stats  st0, st1;
	grow_arg   g;
	pthread_t  th;
	cm_buf     spare = {0};
	uint64_t   ns[8] = {2, 4, 6, 8, 10, 12, 14, 16};

	fix_init(&f, true);
	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = 1;
	o.mapsize = 64 << 10;
	TST_OK(ldg_open(f.dir, &o, &s, NULL));
	if (s == NULL)
		return;
	TST_OK(ldg_stats_get(s, &st0));
	toy_batch(s, f.ent, 1000, ns, 8, &spare); /* prepared, never sent */
	memset(&g, 0, sizeof(g));
	g.s = s;
	g.batch = cm_buf_bytes(&spare);
	TST_TRUE(pthread_create(&th, NULL, grow_reader, &g) == 0);
	appends_60(s, f.ent, ns);
	atomic_store(&g.done, 1);
	TST_TRUE(pthread_join(th, NULL) == 0);
	TST_TRUE(g.reads > 0);
	TST_EQ_U(g.bad, 0);
	TST_OK(ldg_stats_get(s, &st1));
	TST_TRUE(st1.map_size > st0.map_size);
	cm_buf_fini(&spare);
	ldg_close(s);
	fix_fini(&f);
}

/* ---- the pool itself: two jobs at once, each chunk run exactly once and
 * done when ldg_par_need returns ---- */
#define POOL_CHUNKS 300

typedef struct pool_job {
	ldg_pool *pool;
	int       prio;
	uint32_t  runs[POOL_CHUNKS];
	uint64_t  sums[POOL_CHUNKS];
	uint64_t  bad;
} pool_job;

static void
pool_chunk(void *arg, size_t c)
{
	pool_job *pj = arg;
	uint64_t  x = c + 1;

	for (int i = 0; i < 2000; i++) /* a little work */
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	pj->sums[c] = x;
	pj->runs[c]++;
}

static void *
pool_caller(void *arg)
{
	pool_job *pj = arg;
	ldg_par   j;

	ldg_par_begin(&j, pj->pool, pj->prio, POOL_CHUNKS, pool_chunk, pj);
	for (size_t c = 0; c < POOL_CHUNKS; c++) {
		ldg_par_need(&j, c);
		if (pj->runs[c] != 1 || pj->sums[c] == 0)
			pj->bad++;
	}
	ldg_par_end(&j);
	for (size_t c = 0; c < POOL_CHUNKS; c++)
		if (pj->runs[c] != 1)
			pj->bad++;
	return (NULL);
}

static void
test_pool_jobs(void)
{
	ldg_pool *pool = NULL;
	pool_job  a, b, c;
	pthread_t ta, tb;

	TST_OK(ldg_pool_new(3, &pool));
	TST_TRUE(pool != NULL);
	for (int round = 0; round < 20; round++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.pool = b.pool = pool;
		b.prio = 1;
		TST_TRUE(pthread_create(&ta, NULL, pool_caller, &a) == 0);
		TST_TRUE(pthread_create(&tb, NULL, pool_caller, &b) == 0);
		TST_TRUE(pthread_join(ta, NULL) == 0);
		TST_TRUE(pthread_join(tb, NULL) == 0);
		TST_EQ_U(a.bad, 0);
		TST_EQ_U(b.bad, 0);
		TST_TRUE(memcmp(a.sums, b.sums, sizeof(a.sums)) == 0);
	}
	ldg_pool_free(pool);
	/* No pool: the same job runs inline, in order. */
	memset(&c, 0, sizeof(c));
	pool_caller(&c);
	TST_EQ_U(c.bad, 0);
	TST_TRUE(memcmp(a.sums, c.sums, sizeof(a.sums)) == 0);
	TST_OK(ldg_pool_new(1, &pool));
	TST_TRUE(pool == NULL); /* one thread: no workers */
}

/* ---- the writer's clock ---- */

/* One toy record (number 2) of f's enterprise at seq, claimed time when,
 * appended alone with the writer's clock at clock: the batch's status,
 * and its receipt in *rc (may be NULL). */
static cm_err
clock_append(ldg_store *s, const fix *f, uint64_t seq, uint64_t when,
             uint64_t clock, ldg_receipt *rc, cm_diag *d)
{
	ldg_receipt r;
	uint64_t    two = 2;
	cm_buf      b = {0};
	cm_bytes    bb;
	cm_err      st = CM_EINVAL;

	memset(&r, 0, sizeof(r));
	toy_batch_ex(s, f->ent, seq, &two, 1, UINT64_MAX, when, &b);
	bb = cm_buf_bytes(&b);
	cm_diag_clear(d);
	TST_OK(ldg_append(s, &bb, 1, clock, &r, &st, d));
	if (rc != NULL)
		*rc = r;
	else
		ldg_receipt_fini(&r);
	cm_buf_fini(&b);
	return (st);
}

static void
hleaf_at(ldg_store *s, uint64_t index, ldg_hleaf *out)
{
	ldg_txn *t = NULL;
	cm_bytes leaf;

	memset(out, 0, sizeof(*out));
	TST_OK(ldg_read_begin(s, &t));
	TST_OK(ldg_leaf_get(t, index, &leaf));
	TST_OK(ldg_hleaf_decode(leaf, out, NULL));
	ldg_txn_end(t); /* out's views are not used after this */
}

/* Rewrites header leaf index with clock and log time in data.mdb itself,
 * as someone with the files could (the encodings keep their length, and
 * the tree is not touched, so open still succeeds); reopens *s. */
static void
hleaf_tamper(const fix *f, ldg_store **s, uint64_t index, uint64_t clock,
             uint64_t ltime)
{
	ldg_txn  *t = NULL;
	cm_bytes  leaf;
	ldg_hleaf hl;
	cm_buf    old = {0}, nl = {0}, file = {0};
	char      path[96];
	FILE     *fp;
	size_t    hits = 0;

	TST_OK(ldg_read_begin(*s, &t));
	TST_OK(ldg_leaf_get(t, index, &leaf));
	TST_OK(cm_buf_append(&old, leaf.p, leaf.len));
	ldg_txn_end(t);
	TST_OK(ldg_hleaf_decode(cm_buf_bytes(&old), &hl, NULL));
	hl.clock = clock;
	hl.log_time = ltime;
	TST_OK(ldg_hleaf_encode(&hl, &nl));
	TST_EQ_U(nl.len, old.len);
	ldg_close(*s);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	TST_TRUE((fp = fopen(path, "r+b")) != NULL);
	if (fp == NULL || nl.len != old.len)
		exit(2);
	for (int c; (c = fgetc(fp)) != EOF;) {
		uint8_t b = (uint8_t) c;

		TST_OK(cm_buf_append(&file, &b, 1));
	}
	/* Every copy: LMDB's freed pages may still hold older ones. */
	for (size_t i = 0; i + old.len <= file.len; i++)
		if (memcmp(file.p + i, old.p, old.len) == 0) {
			hits++;
			TST_TRUE(fseek(fp, (long) i, SEEK_SET) == 0);
			TST_EQ_U(fwrite(nl.p, 1, nl.len, fp), nl.len);
		}
	TST_TRUE(hits > 0);
	TST_TRUE(fclose(fp) == 0);
	*s = open_toy(f, true);
	cm_buf_fini(&old);
	cm_buf_fini(&nl);
	cm_buf_fini(&file);
}

#define WIN 600000ULL                          /* the default window */
#define STEP (T0 + 10ULL * 365 * 24 * 3600000) /* ten years ahead */

/* The writer's clock steps ten years forward and is then corrected: the
 * batches of submitters with correct clocks are accepted again at once,
 * since claimed times are checked against the writer's clock reading,
 * which the header leaf records, while the log time stays at the stepped
 * value (it never decreases).  Audit replays it, and refuses a header
 * leaf whose log time or clock break the rule. */
static void
test_clock_step_forward_then_back(void)
{
	fix         f;
	ldg_store  *s;
	ldg_receipt rc;
	ldg_hleaf   hl;
	ldg_txn    *t = NULL;
	cm_buf      report = {0};
	cm_diag     d;
	uint64_t    bad, size;

	fix_init(&f, true);
	s = open_toy(&f, true);
	if (s == NULL)
		return;
	TST_OK(clock_append(s, &f, 1, T0 + 1000, T0 + 1000, &rc, &d));
	TST_EQ_U(rc.log_time, T0 + 1000);
	ldg_receipt_fini(&rc);
	/* The step: a batch claiming the stepped time is accepted, and the
	 * log time jumps with the clock. */
	TST_OK(clock_append(s, &f, 2, STEP, STEP, &rc, &d));
	TST_EQ_U(rc.log_time, STEP);
	ldg_receipt_fini(&rc);
	/* Corrected: an honest batch is accepted at once (before the clock
	 * reading was recorded, it was refused for ten years), under the
	 * log time of the step. */
	TST_OK(clock_append(s, &f, 3, T0 + 2000, T0 + 2000, &rc, &d));
	TST_EQ_U(rc.log_time, STEP);
	TST_EQ_U(rc.header_index, 7);
	ldg_receipt_fini(&rc);
	hleaf_at(s, 7, &hl);
	TST_EQ_U(hl.clock, T0 + 2000);
	TST_EQ_U(hl.log_time, STEP);
	/* A batch claiming the stepped time is now outside the window, and
	 * the edges are inclusive around the clock reading. */
	TST_ERR(clock_append(s, &f, 4, STEP, T0 + 3000, NULL, &d), CM_ETIME);
	TST_TRUE(strstr(d.msg, "writer's clock 1790000003000") != NULL);
	TST_ERR(
	    clock_append(s, &f, 4, T0 + 3000 - WIN - 1, T0 + 3000, NULL, &d),
	    CM_ETIME);
	TST_ERR(
	    clock_append(s, &f, 4, T0 + 3000 + WIN + 1, T0 + 3000, NULL, &d),
	    CM_ETIME);
	TST_OK(clock_append(s, &f, 4, T0 + 3000 - WIN, T0 + 3000, NULL, &d));
	TST_OK(clock_append(s, &f, 5, T0 + 3000 + WIN, T0 + 3000, NULL, &d));
	/* "As of" a time between: the batches under the stepped log time
	 * are not yet in. */
	TST_OK(ldg_read_begin(s, &t));
	TST_OK(ldg_size_at_time(t, T0 + 5000, &size));
	TST_EQ_U(size, 5);
	TST_OK(ldg_size_at_time(t, STEP, &size));
	TST_EQ_U(size, 13);
	ldg_txn_end(t);
	cm_diag_clear(&d);
	TST_OK(ldg_audit(s, NULL, 0, &bad, &report, &d));
	TST_EQ_U(bad, UINT64_MAX);
	/* Tampered: a log time that is not max(previous, clock)... */
	hleaf_tamper(&f, &s, 7, T0 + 2000, STEP + 1);
	cm_diag_clear(&d);
	TST_ERR(ldg_audit(s, NULL, 0, &bad, &report, &d), CM_ECORRUPT);
	TST_EQ_U(bad, 7);
	TST_TRUE(strstr(d.msg, "is not max(previous log time") != NULL);
	/* ...or a clock reading the claimed time is too far from. */
	hleaf_tamper(&f, &s, 7, STEP, STEP);
	cm_diag_clear(&d);
	TST_ERR(ldg_audit(s, NULL, 0, &bad, &report, &d), CM_ETIME);
	TST_EQ_U(bad, 7);
	cm_buf_fini(&report);
	ldg_close(s);
	fix_fini(&f);
}

/* Near 2^64 nothing wraps: a batch claiming the writer's clock reading is
 * accepted at UINT64_MAX - 1 and at UINT64_MAX, the window's edges hold
 * there, and a clock far below the log time still decides the window. */
static void
test_clock_window_no_wrap(void)
{
	fix         f;
	ldg_store  *s;
	ldg_receipt rc;
	cm_buf      report = {0};
	cm_diag     d;
	uint64_t    bad;

	fix_init(&f, true);
	s = open_toy(&f, true);
	if (s == NULL)
		return;
	TST_OK(clock_append(s, &f, 1, UINT64_MAX - 1, UINT64_MAX - 1, &rc, &d));
	TST_EQ_U(rc.log_time, UINT64_MAX - 1);
	ldg_receipt_fini(&rc);
	TST_OK(clock_append(s, &f, 2, UINT64_MAX, UINT64_MAX, &rc, &d));
	TST_EQ_U(rc.log_time, UINT64_MAX);
	ldg_receipt_fini(&rc);
	TST_ERR(
	    clock_append(s, &f, 3, UINT64_MAX - WIN - 1, UINT64_MAX, NULL, &d),
	    CM_ETIME);
	TST_OK(clock_append(s, &f, 3, UINT64_MAX - WIN, UINT64_MAX, NULL, &d));
	TST_ERR(clock_append(s, &f, 4, UINT64_MAX, WIN - 1, NULL, &d),
	        CM_ETIME);
	TST_ERR(clock_append(s, &f, 4, 0, UINT64_MAX, NULL, &d), CM_ETIME);
	TST_OK(clock_append(s, &f, 4, 0, 5, &rc, &d));
	TST_EQ_U(rc.log_time, UINT64_MAX); /* never decreases */
	ldg_receipt_fini(&rc);
	TST_OK(ldg_audit(s, NULL, 0, &bad, &report, &d));
	cm_buf_fini(&report);
	ldg_close(s);
	fix_fini(&f);
}

/* A window out of bounds is refused before anything is written: no
 * directory, no key file. */
static void
test_init_window_bounds(void)
{
	static const uint64_t bad[] = {0, LDG_WINDOW_MIN - 1,
	                               LDG_WINDOW_MAX + 1ull, UINT64_MAX};
	char                  tmpl[] = "/tmp/ldg_store_test-XXXXXX";
	char                  dir[64], dir2[64], key[64], key2[64], cmd[96];
	cm_key               *op = NULL;
	ldg_params            p;
	struct stat           st;

	TST_TRUE(mkdtemp(tmpl) != NULL);
	snprintf(dir, sizeof(dir), "%s/l", tmpl);
	snprintf(key, sizeof(key), "%s/ckpt.pem", tmpl);
	snprintf(dir2, sizeof(dir2), "%s/m", tmpl);
	snprintf(key2, sizeof(key2), "%s/ckpt2.pem", tmpl);
	TST_OK(cm_key_generate(&op));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cm_diag d;

		ldg_params_default(&p);
		p.window_ms = bad[i];
		cm_diag_clear(&d);
		TST_ERR(ldg_init(dir, op, NULL, key, &p, T0, &d), CM_EINVAL);
		TST_TRUE(strstr(d.msg, "genesis: window") != NULL);
		TST_TRUE(stat(dir, &st) != 0);
		TST_TRUE(stat(key, &st) != 0);
	}
	/* Both edges are fine. */
	p.window_ms = LDG_WINDOW_MAX;
	TST_OK(ldg_init(dir, op, NULL, key, &p, T0, NULL));
	p.window_ms = LDG_WINDOW_MIN;
	TST_OK(ldg_init(dir2, op, NULL, key2, &p, T0, NULL));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	TST_TRUE(system(cmd) == 0);
	cm_key_free(op);
}

/* ---- after the commit ---- */

/* Every LMDB reader slot taken, by threads of their own: each read txn
 * read-locks the store's map lock, and ThreadSanitizer follows at most 64
 * locks held by one thread.  Each thread ends its own txns when told. */
#define HOLD_THREADS 8
#define HOLD_EACH 48 /* HOLD_THREADS * HOLD_EACH > LDG_MAX_READERS */

typedef struct holder {
	ldg_store      *s;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             ready;
	bool            release, full;
} holder;

static void *
hold_main(void *arg)
{
	holder  *h = arg;
	ldg_txn *t[HOLD_EACH];
	size_t   n = 0;
	cm_err   rv = CM_OK;

	while (n < HOLD_EACH && (rv = ldg_read_begin(h->s, &t[n])) == CM_OK)
		n++;
	pthread_mutex_lock(&h->mu);
	if (rv == CM_EBUSY)
		h->full = true; /* the reader table is full */
	h->ready++;
	pthread_cond_broadcast(&h->cv);
	while (!h->release)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	while (n > 0)
		ldg_txn_end(t[--n]);
	return (NULL);
}

/* With every reader slot taken, once the commit is durable the receipts'
 * lookups fail (a resend's covering checkpoint needs a read txn), yet the
 * append succeeds, the new batch is reported accepted with its checkpoint,
 * the resend as already accepted without one, and the hooks see the range
 * committed. */
static void
test_failure_after_commit(void)
{
	fix           f;
	ldg_store    *s;
	ldg_prepared *p[2] = {NULL, NULL};
	pthread_t     th[HOLD_THREADS];
	holder        h;
	ldg_receipt   rc[2];
	cm_buf        b1 = {0}, b2 = {0};
	cm_err        st[2];
	cm_diag       d[2];
	uint64_t      two = 2, four = 4;

	fix_init(&f, true);
	s = open_toy(&f, true);
	if (s == NULL)
		return;
	memset(rc, 0, sizeof(rc));
	toy_batch(s, f.ent, 1, &two, 1, &b1);
	toy_batch(s, f.ent, 2, &four, 1, &b2);
	TST_OK(ldg_prepare(s, cm_buf_bytes(&b1), &p[0], NULL));
	TST_OK(ldg_append_prepared(s, p, 1, T0 + 10, rc, st, d));
	TST_OK(st[0]);
	ldg_receipt_fini(&rc[0]);
	TST_OK(ldg_prepare(s, cm_buf_bytes(&b2), &p[1], NULL));
	memset(&h, 0, sizeof(h));
	h.s = s;
	TST_TRUE(pthread_mutex_init(&h.mu, NULL) == 0);
	TST_TRUE(pthread_cond_init(&h.cv, NULL) == 0);
	for (int i = 0; i < HOLD_THREADS; i++)
		TST_TRUE(pthread_create(&th[i], NULL, hold_main, &h) == 0);
	pthread_mutex_lock(&h.mu);
	while (h.ready < HOLD_THREADS)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	TST_TRUE(h.full);
	toy_calls = 0;
	toy_first = toy_last = 0;
	memset(rc, 0, sizeof(rc));
	TST_OK(ldg_append_prepared(s, p, 2, T0 + 20, rc, st, d));
	pthread_mutex_lock(&h.mu);
	h.release = true;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	for (int i = 0; i < HOLD_THREADS; i++)
		TST_TRUE(pthread_join(th[i], NULL) == 0);
	TST_ERR(st[0], CM_EDUPLICATE);
	TST_TRUE(rc[0].already);
	TST_EQ_U(rc[0].header_index, 3);
	TST_ERR(rc[0].checkpoint_err, CM_EBUSY);
	TST_EQ_U(rc[0].checkpoint.len, 0);
	TST_EQ_U(rc[0].size, 7); /* the tree after this commit covers it */
	TST_OK(st[1]);
	TST_OK(rc[1].checkpoint_err);
	TST_EQ_U(rc[1].header_index, 5);
	TST_EQ_U(rc[1].size, 7);
	TST_TRUE(rc[1].checkpoint.len > 0);
	TST_EQ_U(toy_calls, 1);
	TST_EQ_U(toy_first, 5);
	TST_EQ_U(toy_last, 6);
	TST_EQ_U(size_of(s), 7);
	for (int i = 0; i < 2; i++) {
		ldg_receipt_fini(&rc[i]);
		ldg_prepared_free(p[i]);
	}
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
	cm_buf_fini(&b1);
	cm_buf_fini(&b2);
	ldg_close(s);
	fix_fini(&f);
}

/* ldg_init_modules indexes genesis for the modules' indexers in its one
 * commit: the ledger opens with them, for writing, with no reindex (plain
 * ldg_init needs one: test_indexer_set_change_needs_reindex). */
static void
test_init_with_modules(void)
{
	char       tmpl[] = "/tmp/ldg_store_test-XXXXXX", dir[64];
	cm_key    *op = NULL;
	ldg_store *s = NULL;
	ldg_txn   *t = NULL;
	ldg_opts   o;
	ldg_db     db;
	cm_diag    d;

	TST_TRUE(mkdtemp(tmpl) != NULL);
	snprintf(dir, sizeof(dir), "%s/l", tmpl);
	TST_OK(cm_key_generate(&op));
	cm_diag_clear(&d);
	TST_OK(ldg_init_modules(dir, op, "test.invalid/mods", NULL, NULL, T0,
	                        toy_mods, 1, &d));
	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = 1;
	TST_OK(ldg_open(dir, &o, &s, &d));
	TST_TRUE(s != NULL && ldg_writable(s));
	if (s != NULL) {
		TST_OK(ldg_read_begin(s, &t));
		TST_OK(ldg_db_find(t, "toy_by_n", &db));
		ldg_txn_end(t);
		ldg_close(s);
	}
	/* Without the module the recorded indexer set differs. */
	s = NULL;
	memset(&o, 0, sizeof(o));
	cm_diag_clear(&d);
	TST_ERR(ldg_open(dir, &o, &s, &d), CM_EINVAL);
	TST_TRUE(strstr(d.msg, "run tally ledger reindex") != NULL);
	ldg_close(s);
	cm_key_free(op);
	snprintf(dir, sizeof(dir), "rm -rf '%s'", tmpl);
	TST_TRUE(system(dir) == 0);
}

TST_MAIN(TST_CASE(test_toy_module_and_group_commit),
         TST_CASE(test_init_with_modules),

         TST_CASE(test_indexer_set_change_needs_reindex),
         TST_CASE(test_map_full_grows), TST_CASE(test_readonly_without_key),
         TST_CASE(test_tampered_tree_refused_for_writing),
         TST_CASE(test_init_refusals), TST_CASE(test_damaged_data_refused),
         TST_CASE(test_time_index), TST_CASE(test_threads_same_result),
         TST_CASE(test_prepare_then_append),
         TST_CASE(test_prepare_on_another_thread),
         TST_CASE(test_map_grows_under_readers), TST_CASE(test_pool_jobs),
         TST_CASE(test_org_several_keys), TST_CASE(test_org_index_version),
         TST_CASE(test_clock_step_forward_then_back),
         TST_CASE(test_clock_window_no_wrap), TST_CASE(test_init_window_bounds),
         TST_CASE(test_failure_after_commit))
