/* SPDX-License-Identifier: MIT */
/* tests/trace/trc_module_test.c -- the trace module in a real ledger (an
 * LMDB directory in a temp directory): its indexes (docs/format.md section
 * 10.2).  An object's events are one range of trace_obj in event-time
 * order whatever their arrival and whichever identifier form they use;
 * trace_hash maps a hash ID to its leaf; restricted GTINs are keyed within
 * the signer's USCC; reindex rebuilds the same entries and audit passes. */
#include "ledger/ldg.h"
#include "tests/tst.h"
#include "tests/tst_file.h"
#include "trace/trc.h"

#define T0 1790000000000ULL
#define USCC_A "91350100M000100Y43"
#define USCC_B "914403001922038216"

static const ldg_module *mods[] = {&trc_ledger_module};

typedef struct fix {
	const char *dir;
	ldg_store  *s;
	cm_key     *op, *a, *b;
	uint64_t    oseq, aseq, bseq;
} fix;

/* One batch of one record signed by k; returns the record's leaf index,
 * or 0 with the refusal in *st and d. */
static uint64_t
append1(fix *f, const cm_key *k, uint64_t *seq, cm_bytes rec, cm_err *st,
        cm_diag *d)
{
	cm_buf      batch = {0};
	cm_bytes    b;
	ldg_receipt rc;
	uint64_t    idx = 0;

	memset(&rc, 0, sizeof(rc));
	TST_OK(ldg_batch_build(ldg_origin(f->s), k, ++*seq, T0, &rec, 1, &batch,
	                       NULL));
	b = cm_buf_bytes(&batch);
	cm_diag_clear(d);
	TST_OK(ldg_append(f->s, &b, 1, T0 + 1, &rc, st, d));
	if (*st == CM_OK)
		idx = rc.first_record;
	else
		--*seq;
	ldg_receipt_fini(&rc);
	cm_buf_fini(&batch);
	return (idx);
}

static void
org(fix *f, cm_key *k, const char *name, const char *uscc, ldg_role role)
{
	ldg_id_register r;
	cm_buf          pop = {0}, rec = {0};
	cm_err          st;
	cm_diag         d;

	memset(&r, 0, sizeof(r));
	r.role = role;
	r.name = name;
	r.uscc = uscc;
	cm_key_public(k, r.pub);
	TST_OK(ldg_pop_make(ldg_origin(f->s), k, &pop));
	r.pop = cm_buf_bytes(&pop);
	TST_OK(ldg_id_register_record(ldg_origin(f->s), f->op, &r, &rec, NULL));
	TST_TRUE(append1(f, f->op, &f->oseq, cm_buf_bytes(&rec), &st, &d) != 0);
	cm_buf_fini(&pop);
	cm_buf_fini(&rec);
}

static void
enterprise(fix *f, cm_key *k, const char *name, const char *uscc)
{
	org(f, k, name, uscc, LDG_ROLE_ENTERPRISE);
}

static void
fix_init(fix *f)
{
	ldg_opts o;

	memset(f, 0, sizeof(*f));
	f->dir = tst_tmp_path("ledger");
	TST_OK(cm_key_generate(&f->op));
	TST_OK(cm_key_generate(&f->a));
	TST_OK(cm_key_generate(&f->b));
	TST_OK(ldg_init_modules(f->dir, f->op, "test.invalid/trace", NULL, NULL,
	                        T0, mods, 1, NULL));
	memset(&o, 0, sizeof(o));
	o.modules = mods;
	o.nmodules = 1;
	TST_OK(ldg_open(f->dir, &o, &f->s, NULL));
	enterprise(f, f->a, "A", USCC_A);
	enterprise(f, f->b, "B", USCC_B);
}

static void
fix_fini(fix *f)
{
	char cmd[160];

	ldg_close(f->s);
	cm_key_free(f->op);
	cm_key_free(f->a);
	cm_key_free(f->b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tst_tmpdir);
	TST_TRUE(system(cmd) == 0);
	tst_tmpdir[0] = '\0';
}

/* An ObjectEvent on epc at time (xsd:dateTime), as a trace.event record
 * ({"t", "id", "kind", "event"}: canonical order). */
static void
event_rec_x(const char *epc, const char *time, const char *extra, cm_buf *out,
            char *hash_id)
{
	char          text[512];
	cm_json      *j = NULL;
	trc_event     ev;
	trc_event_ctx c = {0};
	cm_cbor_wr    w;
	cm_diag       d;

	snprintf(text, sizeof(text),
	         "{\"type\":\"ObjectEvent\",\"eventTime\":\"%s\","
	         "\"eventTimeZoneOffset\":\"+00:00\",\"epcList\":[\"%s\"],"
	         "\"action\":\"OBSERVE\",\"bizStep\":\"shipping\"%s}",
	         time, epc, extra);
	memset(&ev, 0, sizeof(ev));
	c.unscoped = true;
	TST_OK(cm_json_parse(CM_BYTES(text, strlen(text)), &j, &d));
	TST_OK(trc_event_check(j, &c, &ev, &d));
	memcpy(hash_id, ev.hash_id, sizeof(ev.hash_id));
	cm_buf_reset(out);
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 4);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "id");
	cm_cbor_wr_cstr(&w, ev.hash_id);
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, "trace.event");
	cm_cbor_wr_cstr(&w, "event");
	cm_cbor_wr_cstr(&w, text);
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	trc_event_fini(&ev);
	cm_json_free(j);
}

static void
event_rec(const char *epc, const char *time, cm_buf *out, char *hash_id)
{
	event_rec_x(epc, time, "", out, hash_id);
}

static uint64_t
submit(fix *f, bool by_b, const char *epc, const char *time, char *hash_id)
{
	cm_buf   rec = {0};
	cm_err   st;
	cm_diag  d;
	uint64_t idx;

	event_rec(epc, time, &rec, hash_id);
	idx = by_b ? append1(f, f->b, &f->bseq, cm_buf_bytes(&rec), &st, &d)
	           : append1(f, f->a, &f->aseq, cm_buf_bytes(&rec), &st, &d);
	if (st != CM_OK)
		fprintf(stderr, "submit: %s\n", d.msg);
	TST_OK(st);
	cm_buf_fini(&rec);
	return (idx);
}

/* The entries of trace_obj under key (its range: key || 0x00), as
 * (time ms, leaf index, roles) triples; returns their count. */
static size_t
history(fix *f, const char *key, int64_t *times, uint64_t *leaves,
        uint8_t *roles, size_t max)
{
	ldg_txn    *t = NULL;
	ldg_cursor *c = NULL;
	ldg_db      db;
	uint8_t     pfx[TRC_ID_KEY_MAX + 1];
	size_t      kl = strlen(key), n = 0;
	cm_bytes    k, v;
	cm_err      rv;

	memcpy(pfx, key, kl);
	pfx[kl] = 0;
	TST_OK(ldg_read_begin(f->s, &t));
	TST_OK(ldg_db_find(t, "trace_obj", &db));
	TST_OK(ldg_cursor_open(t, db, &c));
	for (rv = ldg_cursor_seek(c, CM_BYTES(pfx, kl + 1), &k, &v);
	     rv == CM_OK && k.len == kl + 17 && memcmp(k.p, pfx, kl + 1) == 0;
	     rv = ldg_cursor_next(c, &k, &v)) {
		TST_TRUE(n < max);
		if (n == max)
			break;
		times[n] = (int64_t) (cm_get_u64be(k.p + kl + 1) ^
		                      (UINT64_C(1) << 63));
		leaves[n] = cm_get_u64be(k.p + kl + 9);
		TST_EQ_U(v.len, 1);
		roles[n] = v.len == 1 ? v.p[0] : 0;
		n++;
	}
	ldg_cursor_close(c);
	ldg_txn_end(t);
	return (n);
}

/* The first leaf trace_hash holds for hash ID h; 0 if none. */
static uint64_t
hash_leaf(fix *f, const char *h)
{
	ldg_txn *t = NULL;
	ldg_db   db;
	cm_bytes v;
	uint64_t idx = 0;

	TST_OK(ldg_read_begin(f->s, &t));
	TST_OK(ldg_db_find(t, "trace_hash", &db));
	if (ldg_kv_get(t, db, CM_BYTES(h, strlen(h)), &v) == CM_OK) {
		TST_EQ_U(v.len, 8 + 18);
		if (v.len >= 8)
			idx = cm_get_u64be(v.p);
	}
	ldg_txn_end(t);
	return (idx);
}

#define OBJ "/01/10614141073464/21/2017"

static void
check_object(fix *f, uint64_t l_late, uint64_t l_early)
{
	int64_t  tm[4];
	uint64_t lv[4];
	uint8_t  ro[4];

	/* Both forms give one key; the earlier event first though it came
	 * second. */
	TST_EQ_U(history(f, OBJ, tm, lv, ro, 4), 2);
	TST_EQ_U(lv[0], l_early);
	TST_EQ_U(lv[1], l_late);
	TST_TRUE(tm[0] == 1767225600000LL && tm[1] == 1767312000000LL);
	TST_EQ_U(ro[0], 1u << TRC_ROLE_EPC);
	/* A key that the object's key starts with is another object. */
	TST_EQ_U(history(f, "/01/10614141073464/21/201", tm, lv, ro, 4), 0);
}

static void
test_object_history_by_time(void)
{
	fix      f;
	char     h1[TRC_HASH_ID_MAX + 1], h2[TRC_HASH_ID_MAX + 1];
	char     h3[TRC_HASH_ID_MAX + 1];
	uint64_t l1, l2, l3;
	int64_t  tm[4];
	uint64_t lv[4];
	uint8_t  ro[4];

	fix_init(&f);
	l1 = submit(&f, false, "urn:epc:id:sgtin:0614141.107346.2017",
	            "2026-01-02T00:00:00Z", h1);
	l2 = submit(&f, false, "https://id.gs1.org/01/10614141073464/21/2017",
	            "2026-01-01T00:00:00Z", h2);
	/* Before 1970: the sign bit keeps it first. */
	l3 = submit(&f, false, "urn:epc:id:sgtin:0614141.107346.1",
	            "1969-12-31T00:00:00Z", h3);
	TST_TRUE(l1 != 0 && l2 > l1 && l3 > l2);
	check_object(&f, l1, l2);
	TST_EQ_U(hash_leaf(&f, h1), l1);
	TST_EQ_U(hash_leaf(&f, h2), l2);
	TST_EQ_U(history(&f, "/01/10614141073464/21/1", tm, lv, ro, 4), 1);
	TST_TRUE(tm[0] == -86400000LL && lv[0] == l3);
	TST_EQ_U(hash_leaf(&f, "ni:///sha-256;00?ver=CBV2.0"), 0);
	fix_fini(&f);
}

static void
test_restricted_scoped_by_signer(void)
{
	fix         f;
	char        h[TRC_HASH_ID_MAX + 1];
	uint64_t    la, lb;
	int64_t     tm[4];
	uint64_t    lv[4];
	uint8_t     ro[4];
	const char *g = "https://id.gs1.org/01/02012345678903/21/1";

	fix_init(&f);
	la = submit(&f, false, g, "2026-01-01T00:00:00Z", h);
	lb = submit(&f, true, g, "2026-01-01T00:00:00Z", h);
	/* One event text, one hash ID (the hash has no scope), two
	 * objects: each enterprise's own number. */
	TST_EQ_U(
	    history(&f, "@" USCC_A "/01/02012345678903/21/1", tm, lv, ro, 4),
	    1);
	TST_EQ_U(lv[0], la);
	TST_EQ_U(
	    history(&f, "@" USCC_B "/01/02012345678903/21/1", tm, lv, ro, 4),
	    1);
	TST_EQ_U(lv[0], lb);
	TST_EQ_U(history(&f, "/01/02012345678903/21/1", tm, lv, ro, 4), 0);
	fix_fini(&f);
}

/* An enterprise admitted by an exception record with a USCC that fails the
 * check: its restricted GTINs cannot be scoped, and its event naming one is
 * refused by validation with the reason, nothing written. */
static void
test_restricted_unscopable_refused(void)
{
	fix         f;
	cm_key     *c = NULL;
	cm_buf      rec = {0};
	char        h[TRC_HASH_ID_MAX + 1];
	cm_err      st;
	cm_diag     d;
	uint64_t    size, cseq = 0;
	ldg_txn    *t = NULL;
	const char *bad = "91350100M000100Y44";

	fix_init(&f);
	TST_OK(cm_key_generate(&c));
	TST_OK(ldg_id_except_record(ldg_origin(f.s), f.op, bad, "test", &rec,
	                            NULL));
	TST_TRUE(append1(&f, f.op, &f.oseq, cm_buf_bytes(&rec), &st, &d) != 0);
	enterprise(&f, c, "C", bad);
	TST_OK(ldg_read_begin(f.s, &t));
	size = ldg_size(t);
	ldg_txn_end(t);
	event_rec("https://id.gs1.org/01/02012345678903/21/1",
	          "2026-01-01T00:00:00Z", &rec, h);
	TST_EQ_U(append1(&f, c, &cseq, cm_buf_bytes(&rec), &st, &d), 0);
	TST_ERR(st, CM_EPROTO);
	TST_TRUE(strstr(d.msg, "epcList[0]: GTIN 02012345678903 is a "
	                       "restricted circulation number and the "
	                       "submitter's USCC is invalid") != NULL);
	if (st != CM_EPROTO)
		fprintf(stderr, "got: %s\n", d.msg);
	TST_OK(ldg_read_begin(f.s, &t));
	TST_EQ_U(ldg_size(t), size);
	ldg_txn_end(t);
	TST_EQ_U(hash_leaf(&f, h), 0);
	/* A global GTIN from the same enterprise is accepted. */
	event_rec("https://id.gs1.org/01/10614141073464/21/2017",
	          "2026-01-01T00:00:00Z", &rec, h);
	TST_TRUE(append1(&f, c, &cseq, cm_buf_bytes(&rec), &st, &d) != 0);
	cm_buf_fini(&rec);
	cm_key_free(c);
	fix_fini(&f);
}

static void
test_reindex_and_audit(void)
{
	fix      f;
	char     h1[TRC_HASH_ID_MAX + 1], h2[TRC_HASH_ID_MAX + 1];
	uint64_t l1, l2, bad = 0;
	cm_buf   report = {0};
	cm_diag  d;

	fix_init(&f);
	l1 = submit(&f, false, "urn:epc:id:sgtin:0614141.107346.2017",
	            "2026-01-02T00:00:00Z", h1);
	l2 = submit(&f, true, "https://id.gs1.org/01/10614141073464/21/2017",
	            "2026-01-01T00:00:00Z", h2);
	cm_diag_clear(&d);
	TST_OK(ldg_reindex(f.s, &d));
	check_object(&f, l1, l2);
	TST_EQ_U(hash_leaf(&f, h1), l1);
	TST_OK(ldg_audit(f.s, NULL, 0, &bad, &report, &d));
	TST_TRUE(strstr((const char *) report.p, "databases: 16 compared") !=
	         NULL);
	cm_buf_fini(&report);
	fix_fini(&f);
}

static uint64_t
tree_size(fix *f)
{
	ldg_txn *t = NULL;
	uint64_t n;

	TST_OK(ldg_read_begin(f->s, &t));
	n = ldg_size(t);
	ldg_txn_end(t);
	return (n);
}

/* Submits rec by k and wants it refused with code and a message holding
 * want, the tree unchanged. */
static void
refused(fix *f, const cm_key *k, uint64_t *seq, const cm_buf *rec, cm_err code,
        const char *want)
{
	uint64_t size = tree_size(f);
	cm_err   st;
	cm_diag  d;

	TST_EQ_U(append1(f, k, seq, cm_buf_bytes(rec), &st, &d), 0);
	TST_ERR(st, code);
	TST_TRUE(strstr(d.msg, want) != NULL);
	if (strstr(d.msg, want) == NULL)
		fprintf(stderr, "got: %s\n", d.msg);
	TST_EQ_U(tree_size(f), size);
}

#define EPC "urn:epc:id:sgtin:0614141.107346.2017"
#define DAY1 "2026-01-01T00:00:00Z"
#define DECL                                                                   \
	",\"errorDeclaration\":{\"declarationTime\":"                          \
	"\"2026-01-03T00:00:00Z\",\"reason\":\"incorrect_data\","              \
	"\"correctiveEventIDs\":[\"urn:uuid:2\"]}"

static size_t
decls(fix *f, uint64_t orig, uint64_t *out, size_t max)
{
	ldg_txn    *t = NULL;
	ldg_cursor *c = NULL;
	ldg_db      db;
	uint8_t     k0[8];
	cm_bytes    k, v;
	size_t      n = 0;
	cm_err      rv;

	cm_put_u64be(k0, orig);
	TST_OK(ldg_read_begin(f->s, &t));
	TST_OK(ldg_db_find(t, "trace_decl", &db));
	TST_OK(ldg_cursor_open(t, db, &c));
	for (rv = ldg_cursor_seek(c, CM_BYTES(k0, 8), &k, &v);
	     rv == CM_OK && k.len == 16 && memcmp(k.p, k0, 8) == 0 && n < max;
	     rv = ldg_cursor_next(c, &k, &v))
		out[n++] = cm_get_u64be(k.p + 8);
	ldg_cursor_close(c);
	ldg_txn_end(t);
	return (n);
}

static void
test_duplicates(void)
{
	fix         f;
	cm_buf      rec = {0}, rec2 = {0}, batch = {0};
	char        h[TRC_HASH_ID_MAX + 1], want[200];
	uint64_t    l1, size;
	cm_bytes    rb[2], b;
	cm_err      st;
	cm_diag     d;
	ldg_receipt rc;

	fix_init(&f);
	l1 = submit(&f, false, EPC, DAY1, h);
	event_rec(EPC, DAY1, &rec, h);
	snprintf(want, sizeof(want),
	         "trace.event: a duplicate: the event with hash ID %s is "
	         "already captured at leaf %llu",
	         h, (unsigned long long) l1);
	refused(&f, f.a, &f.aseq, &rec, CM_EEXIST, want);
	/* By another enterprise too: one event is one event. */
	refused(&f, f.b, &f.bseq, &rec, CM_EEXIST, want);
	/* Twice in one batch: the batch is refused, naming the record. */
	event_rec(EPC, "2026-02-01T00:00:00Z", &rec2, h);
	rb[0] = rb[1] = cm_buf_bytes(&rec2);
	size = tree_size(&f);
	TST_OK(ldg_batch_build(ldg_origin(f.s), f.a, f.aseq + 1, T0, rb, 2,
	                       &batch, NULL));
	b = cm_buf_bytes(&batch);
	memset(&rc, 0, sizeof(rc));
	cm_diag_clear(&d);
	TST_OK(ldg_append(f.s, &b, 1, T0 + 1, &rc, &st, &d));
	TST_ERR(st, CM_EEXIST);
	TST_TRUE(strstr(d.msg, "is already captured at record 0 of this "
	                       "batch") != NULL);
	TST_EQ_U(tree_size(&f), size);
	TST_EQ_U(hash_leaf(&f, h), 0);
	ldg_receipt_fini(&rc);
	cm_buf_fini(&batch);
	cm_buf_fini(&rec);
	cm_buf_fini(&rec2);
	fix_fini(&f);
}

static void
test_event_id_reused(void)
{
	fix      f;
	cm_buf   rec = {0};
	char     h1[TRC_HASH_ID_MAX + 1], h2[TRC_HASH_ID_MAX + 1];
	char     want[300];
	uint64_t l1;
	cm_err   st;
	cm_diag  d;

	fix_init(&f);
	event_rec_x(EPC, DAY1, ",\"eventID\":\"urn:uuid:1\"", &rec, h1);
	l1 = append1(&f, f.a, &f.aseq, cm_buf_bytes(&rec), &st, &d);
	TST_OK(st);
	event_rec_x(EPC, "2026-01-05T00:00:00Z", ",\"eventID\":\"urn:uuid:1\"",
	            &rec, h2);
	snprintf(want, sizeof(want),
	         "trace.event: eventID urn:uuid:1 is already the eventID of "
	         "another event (leaf %llu, hash ID %s)",
	         (unsigned long long) l1, h1);
	refused(&f, f.a, &f.aseq, &rec, CM_EEXIST, want);
	/* The same event again with its eventID is a duplicate, not this. */
	event_rec_x(EPC, DAY1, ",\"eventID\":\"urn:uuid:1\"", &rec, h1);
	refused(&f, f.b, &f.bseq, &rec, CM_EEXIST, "a duplicate");
	cm_buf_fini(&rec);
	fix_fini(&f);
}

static void
test_error_declarations(void)
{
	fix      f;
	cm_key  *reg = NULL;
	cm_buf   rec = {0};
	char     h[TRC_HASH_ID_MAX + 1], hd[TRC_HASH_ID_MAX + 1], want[200];
	uint64_t l1, l2, l3, lorph, rseq = 0, got[4];
	int64_t  tm[4];
	uint64_t lv[4];
	uint8_t  ro[4];
	cm_err   st;
	cm_diag  d;

	fix_init(&f);
	TST_OK(cm_key_generate(&reg));
	org(&f, reg, "Regulator", "11100000000013127D", LDG_ROLE_REGULATOR);
	l1 = submit(&f, false, EPC, DAY1, h);
	event_rec_x(EPC, DAY1, DECL, &rec, hd);
	TST_EQ_STR(hd, h); /* a declaration hashes as its original */
	snprintf(want, sizeof(want),
	         "trace.event: only the submitter of the event at leaf %llu "
	         "(" USCC_A ") or a regulator may declare it an error",
	         (unsigned long long) l1);
	refused(&f, f.b, &f.bseq, &rec, CM_EDENIED, want);
	TST_EQ_U(decls(&f, l1, got, 4), 0);
	l2 = append1(&f, f.a, &f.aseq, cm_buf_bytes(&rec), &st, &d);
	TST_OK(st);
	l3 = append1(&f, reg, &rseq, cm_buf_bytes(&rec), &st, &d);
	if (st != CM_OK)
		fprintf(stderr, "regulator: %s\n", d.msg);
	TST_OK(st);
	/* The original stays, once, in the object's history, marked by
	 * both declarations; the hash ID's first capture is still it. */
	TST_EQ_U(decls(&f, l1, got, 4), 2);
	TST_TRUE(got[0] == l2 && got[1] == l3);
	TST_EQ_U(history(&f, "/01/10614141073464/21/2017", tm, lv, ro, 4), 1);
	TST_EQ_U(lv[0], l1);
	TST_EQ_U(hash_leaf(&f, h), l1);
	/* A declaration of an event not in the log is stored as the
	 * declared event. */
	event_rec_x("urn:epc:id:sgtin:0614141.107346.9", DAY1, DECL, &rec, hd);
	lorph = append1(&f, f.b, &f.bseq, cm_buf_bytes(&rec), &st, &d);
	TST_OK(st);
	TST_EQ_U(history(&f, "/01/10614141073464/21/9", tm, lv, ro, 4), 1);
	TST_EQ_U(lv[0], lorph);
	TST_EQ_U(hash_leaf(&f, hd), lorph);
	TST_EQ_U(decls(&f, lorph, got, 4), 0);
	cm_key_free(reg);
	cm_buf_fini(&rec);
	fix_fini(&f);
}

TST_MAIN(TST_CASE(test_object_history_by_time),
         TST_CASE(test_restricted_scoped_by_signer),
         TST_CASE(test_restricted_unscopable_refused),
         TST_CASE(test_reindex_and_audit), TST_CASE(test_duplicates),
         TST_CASE(test_event_id_reused), TST_CASE(test_error_declarations))
