/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_store_test.c -- the store on a real LMDB directory: a
 * toy record kind and indexer registered from outside ledger/, group commit
 * with a refused batch, indexer-set changes and reindex, map growth,
 * read-only opening, a tampered tree refused for writing, durable flags,
 * init refusals and the time index. */
#include "ledger/ldg_impl.h" /* ldg_txn_begin: to tamper in one test */
#include "tests/tst.h"

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
toy_decode(cm_bytes rec, void *out, cm_diag *d)
{
	uint64_t n;

	return (toy_n(rec, out != NULL ? out : &n, d));
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
open_toy(const fix *f, bool toy)
{
	ldg_store *s = NULL;
	ldg_opts   o;
	cm_diag    d;

	memset(&o, 0, sizeof(o));
	o.modules = toy_mods;
	o.nmodules = toy ? 1 : 0;
	cm_diag_clear(&d);
	TST_OK(ldg_open(f->dir, &o, &s, &d));
	if (s == NULL)
		fprintf(stderr, "open: %s\n", d.msg);
	return (s);
}

/* A batch of toy records with numbers ns, signed by k at seq. */
static void
toy_batch(const ldg_store *s, const cm_key *k, uint64_t seq, const uint64_t *ns,
          size_t n, cm_buf *out)
{
	cm_buf   recs[8];
	cm_bytes rb[8];

	for (size_t i = 0; i < n; i++) {
		cm_cbor_wr w;

		memset(&recs[i], 0, sizeof(recs[i]));
		cm_cbor_wr_init(&w, &recs[i]);
		cm_cbor_wr_map(&w, 3);
		cm_cbor_wr_cstr(&w, "n");
		cm_cbor_wr_uint(&w, ns[i]);
		cm_cbor_wr_cstr(&w, "t");
		cm_cbor_wr_cstr(&w, "tally/record/v1");
		cm_cbor_wr_cstr(&w, "kind");
		cm_cbor_wr_cstr(&w, "toy");
		TST_OK(cm_cbor_wr_finish(&w, NULL));
		rb[i] = cm_buf_bytes(&recs[i]);
	}
	TST_OK(ldg_batch_build(ldg_origin(s), k, seq, T0, rb, n, out, NULL));
	for (size_t i = 0; i < n; i++)
		cm_buf_fini(&recs[i]);
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
	for (uint64_t seq = 1; seq <= 60; seq++) {
		cm_buf      b = {0};
		cm_bytes    bb;
		ldg_receipt rc;
		cm_err      stt;

		for (int i = 0; i < 8; i++)
			ns[i] += 16;
		toy_batch(s, f.ent, seq, ns, 8, &b);
		bb = cm_buf_bytes(&b);
		memset(&rc, 0, sizeof(rc));
		TST_OK(ldg_append(s, &bb, 1, T0 + 100, &rc, &stt, NULL));
		TST_OK(stt);
		ldg_receipt_fini(&rc);
		cm_buf_fini(&b);
	}
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

TST_MAIN(TST_CASE(test_toy_module_and_group_commit),
         TST_CASE(test_indexer_set_change_needs_reindex),
         TST_CASE(test_map_full_grows), TST_CASE(test_readonly_without_key),
         TST_CASE(test_tampered_tree_refused_for_writing),
         TST_CASE(test_init_refusals), TST_CASE(test_time_index))
