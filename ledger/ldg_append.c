/* SPDX-License-Identifier: MIT */
/* ledger/ldg_append.c -- the append path: group commit of signed batches,
 * each in a nested transaction, with every state-dependent check inside the
 * write transaction; the (key ID, seq) index; building and signing batches.
 * Acceptance depends only on (ledger state, batch, log time): validators
 * read no clock.  Rules: docs/format.md "Batches". */
#include "ledger/ldg_impl.h"

#include <stddef.h>
#include <string.h>

#define SEQ_DB "seq"

/* ---- the (key ID, seq) index, through the public module API ---- */

static const ldg_dbspec seq_dbs[] = {{SEQ_DB, 0}};

static cm_err
seq_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	ldg_hleaf hl;
	ldg_hdr   h;
	uint8_t   key[CM_KEYID_LEN + 8], val[8];
	ldg_db    db;
	cm_err    rv;

	if (!cm_bytes_eq(leaf->type,
	                 CM_BYTES(LDG_T_HLEAF, strlen(LDG_T_HLEAF))))
		return (CM_OK);
	if ((rv = ldg_hleaf_decode(leaf->bytes, &hl, d)) != CM_OK ||
	    (rv = ldg_hdr_decode(hl.hdr, &h, d)) != CM_OK ||
	    (rv = ldg_db_find(t, SEQ_DB, &db)) != CM_OK)
		return (rv);
	memcpy(key, h.kid.p, CM_KEYID_LEN);
	cm_put_u64be(key + CM_KEYID_LEN, h.seq);
	cm_put_u64be(val, leaf->index);
	return (ldg_kv_put(t, db, CM_BYTES(key, sizeof(key)), CM_BYTES(val, 8),
	                   LDG_PUT_NOOVERWRITE));
}

static const ldg_indexer seq_indexers[] = {{"seq", 1, seq_dbs, 1, seq_index}};
const ldg_module ldg_seq_module = {"seq", NULL, 0, seq_indexers, 1, NULL, NULL};

/* The header index that (kid, seq) was accepted at, or CM_ENOTFOUND. */
static cm_err
seq_lookup(ldg_txn *t, const uint8_t *kid, uint64_t seq, uint64_t *out)
{
	uint8_t  key[CM_KEYID_LEN + 8];
	cm_bytes v;
	ldg_db   db;
	cm_err   rv;

	if ((rv = ldg_db_find(t, SEQ_DB, &db)) != CM_OK)
		return (rv);
	memcpy(key, kid, CM_KEYID_LEN);
	cm_put_u64be(key + CM_KEYID_LEN, seq);
	if ((rv = ldg_kv_get(t, db, CM_BYTES(key, sizeof(key)), &v)) != CM_OK)
		return (rv);
	if (v.len != 8)
		return (CM_ECORRUPT);
	*out = cm_get_u64be(v.p);
	return (CM_OK);
}

cm_err
ldg_next_seq(ldg_txn *t, const uint8_t key_id[CM_KEYID_LEN], uint64_t *out)
{
	ldg_cursor *c = NULL;
	uint8_t     key[CM_KEYID_LEN + 8];
	cm_bytes    k;
	ldg_db      db;
	cm_err      rv;

	*out = 1;
	if ((rv = ldg_db_find(t, SEQ_DB, &db)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_OK : rv);
	if ((rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	/* Seek past this key's last seq, then step back. */
	memcpy(key, key_id, CM_KEYID_LEN);
	memset(key + CM_KEYID_LEN, 0xff, 8);
	rv = ldg_cursor_seek(c, CM_BYTES(key, sizeof(key)), &k, NULL);
	rv = rv == CM_OK ? ldg_cursor_prev(c, &k, NULL)
	                 : ldg_cursor_last(c, &k, NULL);
	if (rv == CM_OK && k.len == sizeof(key) &&
	    memcmp(k.p, key_id, CM_KEYID_LEN) == 0)
		*out = cm_get_u64be(k.p + CM_KEYID_LEN) + 1;
	ldg_cursor_close(c);
	return (rv == CM_OK || rv == CM_ENOTFOUND ? CM_OK : rv);
}

cm_err
ldg_batch_flagged(ldg_txn *t, uint64_t header_index, bool *out_flag,
                  ldg_identity *out_signer)
{
	cm_bytes     leaf;
	ldg_hleaf    hl;
	ldg_hdr      h;
	ldg_identity id;
	cm_err       rv;

	if ((rv = ldg_leaf_get(t, header_index, &leaf)) != CM_OK)
		return (rv);
	if (ldg_hleaf_decode(leaf, &hl, NULL) != CM_OK ||
	    ldg_hdr_decode(hl.hdr, &h, NULL) != CM_OK)
		return (CM_EINVAL);
	if ((rv = ldg_identity_get(t, h.kid.p, &id)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_ECORRUPT : rv);
	*out_flag =
	    id.compromised_since != 0 && hl.log_time >= id.compromised_since;
	if (out_signer != NULL)
		*out_signer = id;
	return (CM_OK);
}

/* ---- references ---- */

cm_err
ldg_ref_check(ldg_txn *t, uint64_t index, cm_bytes hash, uint64_t limit,
              cm_diag *d)
{
	cm_bytes leaf;
	uint8_t  lh[CM_HASH_LEN];

	if (hash.len != CM_HASH_LEN)
		return (cm_fail(d, CM_EREF,
		                "reference to leaf %llu: hash must be 32 bytes",
		                (unsigned long long) index));
	if (index >= limit || ldg_leaf_get(t, index, &leaf) != CM_OK)
		return (cm_fail(d, CM_EREF,
		                "reference to leaf %llu: no such earlier leaf",
		                (unsigned long long) index));
	ldg_leaf_hash(leaf, lh);
	if (memcmp(lh, hash.p, CM_HASH_LEN) != 0)
		return (cm_fail(d, CM_EREF,
		                "reference to leaf %llu: hash does not match",
		                (unsigned long long) index));
	return (CM_OK);
}

cm_err
ldg_record_refs_check(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	cm_cbor_rd rd;
	uint64_t   nkeys, n;
	cm_err     rv;

	cm_cbor_rd_init(&rd, r->rec, d);
	if (cm_cbor_rd_map(&rd, &nkeys) != CM_OK)
		return (CM_EPROTO);
	for (uint64_t k = 0; k < nkeys; k++) {
		cm_bytes key;

		if (cm_cbor_rd_text(&rd, &key) != CM_OK)
			return (CM_EPROTO);
		if (!cm_bytes_eq(key, CM_BYTES("refs", 4))) {
			if (cm_cbor_rd_skip(&rd, NULL) != CM_OK)
				return (CM_EPROTO);
			continue;
		}
		if (cm_cbor_rd_array(&rd, &n) != CM_OK)
			return (cm_fail(d, CM_EREF, "refs must be an array"));
		for (uint64_t i = 0; i < n; i++) {
			ldg_field f[2] = {{"h", true}, {"i", true}};
			cm_bytes  item, h;
			uint64_t  idx;

			if (cm_cbor_rd_skip(&rd, &item) != CM_OK)
				return (CM_EPROTO);
			if (ldg_fields_decode(item, NULL, f, 2, d) != CM_OK ||
			    ldg_field_bytes(&f[0], &h, d) != CM_OK ||
			    ldg_field_uint(&f[1], &idx, d) != CM_OK)
				return (cm_fail(
				    d, CM_EREF,
				    "refs[%llu] must be {\"h\": hash, \"i\": "
				    "index}",
				    (unsigned long long) i));
			if ((rv = ldg_ref_check(t, idx, h, r->header_index,
			                        d)) != CM_OK)
				return (rv);
		}
		return (CM_OK);
	}
	return (CM_OK);
}

/* ---- applying one batch ---- */

typedef struct apply_ctx {
	ldg_store *s;
	uint64_t   ltime;
	cm_buf     leaf;
	cm_buf     hleaf;
	uint8_t (*hashes)[CM_HASH_LEN];
	size_t   nhashes;
	bool     replay_in_place; /* reindex: entries exist, compare them */
	uint64_t replay_size;     /* leaves replayed so far */
} apply_ctx;

/* Appends a leaf, or in a reindex checks the stored leaf is these bytes and
 * rebuilds its tree nodes. */
static cm_err
leaf_put(apply_ctx *a, ldg_txn *t, uint64_t idx, cm_bytes leaf, cm_diag *d)
{
	cm_bytes old;

	if (!a->replay_in_place)
		return (ldg_tree_put_leaf(t, idx, leaf));
	if (ldg_leaf_get(t, idx, &old) != CM_OK || !cm_bytes_eq(old, leaf))
		return (cm_fail(d, CM_ECORRUPT,
		                "leaf %llu differs from the "
		                "leaf its batch produces",
		                (unsigned long long) idx));
	return (ldg_tree_node_append(t, idx, leaf));
}

static cm_err
receipt_fill(ldg_txn *t, uint64_t hidx, ldg_receipt *r)
{
	cm_bytes  leaf;
	ldg_hleaf hl;
	ldg_hdr   h;
	cm_err    rv;

	if ((rv = ldg_leaf_get(t, hidx, &leaf)) != CM_OK ||
	    (rv = ldg_hleaf_decode(leaf, &hl, NULL)) != CM_OK ||
	    (rv = ldg_hdr_decode(hl.hdr, &h, NULL)) != CM_OK)
		return (rv == CM_ENOTFOUND ? CM_ECORRUPT : rv);
	r->header_index = hidx;
	r->first_record = hl.first;
	r->nrecords = h.n;
	r->seq = h.seq;
	r->log_time = hl.log_time;
	memcpy(r->key_id, h.kid.p, CM_KEYID_LEN);
	return (CM_OK);
}

static cm_err
records_root(apply_ctx *a, const ldg_batchfile *b, uint8_t root[CM_HASH_LEN])
{
	cm_cbor_rd r;
	uint64_t   n;

	if (a->nhashes < b->nrecs) {
		void *p = cm_realloc(a->hashes, b->nrecs * CM_HASH_LEN);

		if (p == NULL)
			return (CM_ENOMEM);
		a->hashes = p;
		a->nhashes = b->nrecs;
	}
	cm_cbor_rd_init(&r, b->recs_item, NULL);
	if (cm_cbor_rd_array(&r, &n) != CM_OK)
		return (CM_EPROTO);
	for (uint64_t i = 0; i < n; i++) {
		cm_bytes rec;

		if (cm_cbor_rd_bytes(&r, &rec) != CM_OK)
			return (CM_EPROTO);
		ldg_leaf_hash(rec, a->hashes[i]);
	}
	ldg_merkle_root((const uint8_t(*)[CM_HASH_LEN]) a->hashes, b->nrecs,
	                root);
	return (CM_OK);
}

static cm_err
record_apply(apply_ctx *a, ldg_txn *t, const ldg_identity *signer,
             uint64_t hidx, const uint8_t hh[CM_HASH_LEN], uint64_t pos,
             cm_bytes rec, cm_diag *d)
{
	ldg_record      r;
	ldg_leaf        lv;
	const ldg_kind *k;
	uint64_t        idx = hidx + 1 + pos;
	/* The kind's decoded form of this record, for all its callbacks. */
	_Alignas(max_align_t) uint8_t decoded[LDG_DECODED_MAX];
	cm_err                        rv;

	memset(&r, 0, sizeof(r));
	if ((rv = ldg_record_kind(rec, &r.kind, d)) != CM_OK)
		return (rv == CM_ENONCANON ? rv : CM_EPROTO);
	if ((k = ldg_kind_find(a->s, r.kind)) == NULL)
		return (cm_fail(d, CM_EKIND, "unknown record kind \"%.*s\"",
		                (int) (r.kind.len > 40 ? 40 : r.kind.len),
		                r.kind.p));
	if (k->decoded_size > sizeof(decoded))
		return (cm_fail(d, CM_EINVAL, "kind %s: decoded form too large",
		                k->name));
	if (k->decode != NULL && (rv = k->decode(rec, decoded, d)) != CM_OK)
		return (rv);
	r.decoded = decoded;
	r.rec = rec;
	if (!k->may_write(signer, &r, d))
		return (cm_fail(d, CM_EDENIED,
		                "%s %s may not write this %s "
		                "record",
		                ldg_role_name(signer->role),
		                signer->uscc[0] ? signer->uscc : signer->name,
		                k->name));
	r.index = idx;
	r.header_index = hidx;
	r.pos = pos;
	r.log_time = a->ltime;
	r.rec = rec;
	r.signer = signer;
	if ((rv = ldg_record_refs_check(t, &r, d)) != CM_OK)
		return (rv);
	if (k->validate != NULL && (rv = k->validate(t, &r, d)) != CM_OK)
		return (rv);
	cm_buf_reset(&a->leaf);
	if ((rv = ldg_rleaf_encode(hh, hidx, pos, rec, &a->leaf)) != CM_OK)
		return (rv);
	if (a->leaf.len > a->s->params.max_leaf)
		return (
		    cm_fail(d, CM_ETOOBIG,
		            "record leaf %llu would be %zu bytes (limit %llu)",
		            (unsigned long long) pos, a->leaf.len,
		            (unsigned long long) a->s->params.max_leaf));
	if ((rv = leaf_put(a, t, idx, cm_buf_bytes(&a->leaf), d)) != CM_OK)
		return (rv);
	memset(&lv, 0, sizeof(lv));
	lv.index = idx;
	lv.bytes = cm_buf_bytes(&a->leaf);
	lv.type = CM_BYTES(LDG_T_RLEAF, strlen(LDG_T_RLEAF));
	lv.log_time = a->ltime;
	lv.record = &r;
	return (ldg_run_indexers(t, &lv, d));
}

static bool
hleaf_same(ldg_txn *t, uint64_t hidx, const ldg_batchfile *b)
{
	cm_bytes  leaf;
	ldg_hleaf hl;

	return (ldg_leaf_get(t, hidx, &leaf) == CM_OK &&
	        ldg_hleaf_decode(leaf, &hl, NULL) == CM_OK &&
	        cm_bytes_eq(hl.hdr, b->h.hdr) && cm_bytes_eq(hl.sig, b->h.sig));
}

static cm_err
batch_apply(apply_ctx *a, ldg_txn *t, cm_bytes bytes, ldg_receipt *rc,
            cm_diag *d)
{
	ldg_store    *s = a->s;
	ldg_batchfile b;
	ldg_identity  signer;
	uint8_t       root[CM_HASH_LEN], hh[CM_HASH_LEN];
	uint64_t      size = a->replay_in_place ? a->replay_size : ldg_size(t);
	uint64_t      hidx, next;
	cm_cbor_rd    r;
	ldg_leaf      lv;
	cm_err        rv;

	if (bytes.len > s->params.max_batch_bytes)
		return (cm_fail(
		    d, CM_ETOOBIG, "batch is %zu bytes (limit %llu)", bytes.len,
		    (unsigned long long) s->params.max_batch_bytes));
	if ((rv = ldg_batchfile_decode(bytes, &b, d)) != CM_OK)
		return (rv);
	if (b.nrecs == 0 || b.nrecs > s->params.max_records)
		return (cm_fail(d, CM_ETOOBIG,
		                "batch holds %llu records (1 to %llu allowed)",
		                (unsigned long long) b.nrecs,
		                (unsigned long long) s->params.max_records));
	if (!cm_bytes_eq(b.h.origin, CM_BYTES(s->origin, strlen(s->origin))))
		return (
		    cm_fail(d, CM_EORIGIN,
		            "batch names origin \"%.*s\", this log is \"%s\"",
		            (int) (b.h.origin.len > 80 ? 80 : b.h.origin.len),
		            b.h.origin.p, s->origin));
	rv = ldg_identity_get(t, b.h.kid.p, &signer);
	if (rv == CM_ENOTFOUND)
		return (
		    cm_fail(d, CM_EUNKNOWNKEY, "no identity has this key ID"));
	if (rv != CM_OK)
		return (rv);
	if (cm_verify(signer.pub, "batch-header", b.h.hdr, b.h.sig.p) != CM_OK)
		return (cm_fail(d, CM_EBADSIG,
		                "batch header signature does not verify"));
	/* Replays: identical bytes get the original receipt; anything else
	 * with a used number is a conflict. */
	if ((rv = seq_lookup(t, b.h.kid.p, b.h.seq, &hidx)) == CM_OK) {
		if (!hleaf_same(t, hidx, &b))
			return (cm_fail(d, CM_ESEQCONFLICT,
			                "seq %llu was used by a "
			                "different batch (header leaf %llu)",
			                (unsigned long long) b.h.seq,
			                (unsigned long long) hidx));
		/* Byte-identical: the records too, not just the header. */
		if ((rv = records_root(a, &b, root)) != CM_OK)
			return (rv);
		if (memcmp(root, b.h.root.p, CM_HASH_LEN) != 0)
			return (cm_fail(d, CM_EBADSIG,
			                "the header's root does "
			                "not match the records"));
		if ((rv = receipt_fill(t, hidx, rc)) != CM_OK)
			return (rv);
		rc->already = true;
		return (CM_EDUPLICATE);
	} else if (rv != CM_ENOTFOUND) {
		return (rv);
	}
	if (signer.end_index != 0)
		return (cm_fail(d, CM_EKEYREVOKED, "%s at leaf %llu",
		                signer.end_reason,
		                (unsigned long long) signer.end_index));
	if ((rv = ldg_next_seq(t, b.h.kid.p, &next)) != CM_OK)
		return (rv);
	if (b.h.seq != next)
		return (cm_fail(d, CM_ESEQGAP, "got seq %llu, expected %llu",
		                (unsigned long long) b.h.seq,
		                (unsigned long long) next));
	if (b.h.time + s->params.window_ms < a->ltime ||
	    b.h.time > a->ltime + s->params.window_ms)
		return (cm_fail(d, CM_ETIME,
		                "claimed %llu, log time %llu, window %llu ms",
		                (unsigned long long) b.h.time,
		                (unsigned long long) a->ltime,
		                (unsigned long long) s->params.window_ms));
	if ((rv = records_root(a, &b, root)) != CM_OK)
		return (rv);
	if (b.h.root.len != CM_HASH_LEN ||
	    memcmp(root, b.h.root.p, CM_HASH_LEN) != 0)
		return (
		    cm_fail(d, CM_EBADSIG,
		            "the header's root does not match the records"));
	hidx = size;
	cm_buf_reset(&a->hleaf);
	if ((rv = ldg_hleaf_encode(b.h.hdr, b.h.sig, hidx + 1, a->ltime,
	                           &a->hleaf)) != CM_OK)
		return (rv);
	if (a->hleaf.len > s->params.max_leaf)
		return (cm_fail(d, CM_ETOOBIG, "header leaf too large"));
	if ((rv = leaf_put(a, t, hidx, cm_buf_bytes(&a->hleaf), d)) != CM_OK)
		return (rv);
	memset(&lv, 0, sizeof(lv));
	lv.index = hidx;
	lv.bytes = cm_buf_bytes(&a->hleaf);
	lv.type = CM_BYTES(LDG_T_HLEAF, strlen(LDG_T_HLEAF));
	lv.log_time = a->ltime;
	if ((rv = ldg_run_indexers(t, &lv, d)) != CM_OK)
		return (rv);
	ldg_leaf_hash(cm_buf_bytes(&a->hleaf), hh);
	cm_cbor_rd_init(&r, b.recs_item, NULL);
	if (cm_cbor_rd_array(&r, &next) != CM_OK)
		return (CM_EPROTO);
	for (uint64_t i = 0; i < b.nrecs; i++) {
		cm_bytes rec;

		if (cm_cbor_rd_bytes(&r, &rec) != CM_OK)
			return (CM_EPROTO);
		rv = record_apply(a, t, &signer, hidx, hh, i, rec, d);
		if (rv != CM_OK) {
			cm_diag_set(d, "record %llu", (unsigned long long) i);
			return (rv);
		}
	}
	{
		uint8_t key[16], val[8];
		ldg_db  db;

		if ((rv = ldg_db_find(t, LDG_DB_TIME, &db)) != CM_OK)
			return (rv);
		cm_put_u64be(key, a->ltime);
		cm_put_u64be(key + 8, hidx);
		cm_put_u64be(val, hidx + 1 + b.nrecs);
		if ((rv = ldg_kv_put(t, db, CM_BYTES(key, 16), CM_BYTES(val, 8),
		                     LDG_PUT_APPEND)) != CM_OK)
			return (rv);
	}
	rc->header_index = hidx;
	rc->first_record = hidx + 1;
	rc->nrecords = b.nrecs;
	rc->seq = b.h.seq;
	rc->log_time = a->ltime;
	rc->already = false;
	memcpy(rc->key_id, b.h.kid.p, CM_KEYID_LEN);
	return (CM_OK);
}

void
ldg_receipt_fini(ldg_receipt *r)
{
	if (r != NULL)
		cm_buf_fini(&r->checkpoint);
}

static cm_err
append_once(ldg_store *s, const cm_bytes *batches, size_t n, uint64_t now_ms,
            ldg_receipt *rcs, cm_err *status, cm_diag *diags,
            uint64_t *out_first, uint64_t *out_last)
{
	ldg_txn  *t = NULL, *nt = NULL;
	apply_ctx a;
	cm_buf    note = {0};
	uint64_t  start, last_time, size;
	size_t    accepted = 0;
	cm_err    rv;

	memset(&a, 0, sizeof(a));
	a.s = s;
	if ((rv = ldg_txn_begin(s, NULL, true, &t)) != CM_OK)
		goto out;
	start = ldg_size(t);
	if ((rv = ldg_last_log_time(t, &last_time)) != CM_OK)
		goto out;
	a.ltime = now_ms > last_time ? now_ms : last_time;
	for (size_t i = 0; i < n; i++) {
		cm_diag *d = diags ? &diags[i] : NULL;

		cm_diag_clear(d);
		if ((rv = ldg_txn_begin(s, t, true, &nt)) != CM_OK)
			goto out;
		status[i] = batch_apply(&a, nt, batches[i], &rcs[i], d);
		if (status[i] == CM_OK) {
			rv = ldg_txn_commit(nt);
			nt = NULL;
			if (rv != CM_OK)
				goto out; /* map full: the caller retries */
			accepted++;
		} else {
			ldg_txn_end(nt);
			nt = NULL;
			if (status[i] == CM_EMAPFULL) {
				rv = CM_EMAPFULL;
				goto out;
			}
		}
	}
	size = ldg_size(t);
	if (accepted > 0) {
		if ((rv = ldg_indexers_mark(t, size)) != CM_OK ||
		    (rv = ldg_checkpoint_store(t, size, &note)) != CM_OK)
			goto out;
		rv = ldg_txn_commit(t);
		t = NULL;
		if (rv != CM_OK)
			goto out;
		*out_first = start;
		*out_last = size - 1;
	}
	/* Receipts carry the checkpoint of the commit that holds them (for
	 * resends: the first stored checkpoint covering the batch). */
	if (t == NULL && (rv = ldg_read_begin(s, &t)) != CM_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t csize;

		if (status[i] != CM_OK && status[i] != CM_EDUPLICATE)
			continue;
		rv = ldg_checkpoint_covering(
		    t, rcs[i].first_record + rcs[i].nrecords,
		    &rcs[i].checkpoint, &csize);
		if (rv != CM_OK)
			goto out;
		rcs[i].size = csize;
	}
out:
	ldg_txn_end(nt);
	ldg_txn_end(t);
	cm_buf_fini(&note);
	cm_buf_fini(&a.leaf);
	cm_buf_fini(&a.hleaf);
	cm_free(a.hashes);
	return (rv);
}

cm_err
ldg_append(ldg_store *s, const cm_bytes *batches, size_t n, uint64_t now_ms,
           ldg_receipt *receipts, cm_err *status, cm_diag *diags)
{
	uint64_t first = 0, last = 0;
	cm_err   rv;

	if (!s->writable)
		return (CM_EREADONLY);
	for (size_t i = 0; i < n; i++)
		cm_buf_reset(&receipts[i].checkpoint);
	first = last = UINT64_MAX;
	rv = append_once(s, batches, n, now_ms, receipts, status, diags, &first,
	                 &last);
	if (rv == CM_EMAPFULL) {
		/* Grow the map (no txn of ours is open now) and retry once. */
		if ((rv = ldg_env_grow(s->env)) != CM_OK)
			return (rv);
		rv = append_once(s, batches, n, now_ms, receipts, status, diags,
		                 &first, &last);
	}
	if (rv != CM_OK || first == UINT64_MAX)
		return (rv);
	for (size_t m = 0; m < s->nmods; m++)
		if (s->mods[m]->post_commit != NULL)
			s->mods[m]->post_commit(s->mods[m]->arg, first, last);
	return (CM_OK);
}

/* ---- building batches ---- */

cm_err
ldg_batch_build(const char *origin, const cm_key *k, uint64_t seq,
                uint64_t time_ms, const cm_bytes *recs, size_t nrecs,
                cm_buf *out, cm_diag *d)
{
	uint8_t(*hashes)[CM_HASH_LEN] = NULL;
	uint8_t root[CM_HASH_LEN], pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
	uint8_t sig[CM_SIG_LEN];
	cm_buf  hdr = {0};
	cm_err  rv;

	if (nrecs == 0)
		return (cm_fail(d, CM_EINVAL,
		                "a batch needs at least one "
		                "record"));
	for (size_t i = 0; i < nrecs; i++)
		if ((rv = cm_cbor_check(recs[i], d)) != CM_OK)
			return (rv);
	if ((hashes = cm_calloc(nrecs, CM_HASH_LEN)) == NULL)
		return (CM_ENOMEM);
	for (size_t i = 0; i < nrecs; i++)
		ldg_leaf_hash(recs[i], hashes[i]);
	ldg_merkle_root((const uint8_t(*)[CM_HASH_LEN]) hashes, nrecs, root);
	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	if ((rv = ldg_hdr_encode(origin, kid, seq, time_ms, nrecs, root,
	                         &hdr)) != CM_OK ||
	    (rv = cm_sign(k, "batch-header", cm_buf_bytes(&hdr), sig)) !=
	        CM_OK ||
	    (rv = ldg_batchfile_encode(cm_buf_bytes(&hdr), sig, recs, nrecs,
	                               out)) != CM_OK)
		goto out;
out:
	cm_free(hashes);
	cm_buf_fini(&hdr);
	return (rv);
}

/* ---- replay: audit and reindex ---- */

cm_err
ldg_replay(ldg_txn *src, ldg_txn *dst, bool in_place, uint64_t *out_bad,
           cm_diag *d)
{
	apply_ctx   a;
	uint64_t    n = ldg_size(src), i = 0, prev_time = 0;
	cm_buf      batch = {0};
	cm_bytes   *recs = NULL;
	size_t      nrecs_cap = 0;
	ldg_receipt rc;
	cm_err      rv = CM_OK;

	memset(&a, 0, sizeof(a));
	memset(&rc, 0, sizeof(rc));
	a.s = dst->s;
	a.replay_in_place = in_place;
	*out_bad = 0;
	while (i < n) {
		cm_bytes  leaf, type;
		ldg_hleaf hl;
		ldg_hdr   h;
		ldg_leaf  lv;

		*out_bad = i;
		if ((rv = ldg_leaf_get(src, i, &leaf)) != CM_OK) {
			rv = cm_fail(d, CM_ECORRUPT, "leaf %llu missing",
			             (unsigned long long) i);
			goto out;
		}
		if ((rv = cm_cbor_check(leaf, d)) != CM_OK ||
		    (rv = ldg_leaf_type(leaf, &type)) != CM_OK)
			goto out;
		if (i == 0) {
			ldg_genesis g;
			uint8_t     key[16], val[8];
			ldg_db      tdb;

			if ((rv = ldg_genesis_decode(leaf, &g, d)) != CM_OK)
				goto out;
			if (cm_verify(g.op_pub, "genesis", g.stmt, g.sig.p) !=
			    CM_OK) {
				rv = cm_fail(d, CM_EBADSIG,
				             "genesis signature "
				             "does not verify");
				goto out;
			}
			rv = in_place ? ldg_tree_node_append(dst, 0, leaf)
			              : ldg_tree_put_leaf(dst, 0, leaf);
			if (rv != CM_OK)
				goto out;
			memset(&lv, 0, sizeof(lv));
			lv.bytes = leaf;
			lv.type = type;
			lv.log_time = g.log_time;
			prev_time = g.log_time;
			cm_put_u64be(key, g.log_time);
			cm_put_u64be(key + 8, 0);
			cm_put_u64be(val, 1);
			if ((rv = ldg_db_find(dst, LDG_DB_TIME, &tdb)) !=
			        CM_OK ||
			    (rv = ldg_kv_put(dst, tdb, CM_BYTES(key, 16),
			                     CM_BYTES(val, 8),
			                     LDG_PUT_APPEND)) != CM_OK ||
			    (rv = ldg_run_indexers(dst, &lv, d)) != CM_OK)
				goto out;
			i = 1;
			continue;
		}
		if ((rv = ldg_hleaf_decode(leaf, &hl, d)) != CM_OK ||
		    (rv = ldg_hdr_decode(hl.hdr, &h, d)) != CM_OK)
			goto out;
		if (hl.log_time < prev_time) {
			rv = cm_fail(d, CM_ECORRUPT,
			             "log time decreases at "
			             "leaf %llu",
			             (unsigned long long) i);
			goto out;
		}
		if (h.n == 0 || h.n > n - i - 1 || hl.first != i + 1) {
			rv = cm_fail(d, CM_ECORRUPT,
			             "header leaf %llu: bad "
			             "record count or first index",
			             (unsigned long long) i);
			goto out;
		}
		if (h.n > nrecs_cap) {
			void *p = cm_realloc(recs, h.n * sizeof(*recs));

			if (p == NULL) {
				rv = CM_ENOMEM;
				goto out;
			}
			recs = p;
			nrecs_cap = h.n;
		}
		for (uint64_t j = 0; j < h.n; j++) {
			cm_bytes  rl;
			ldg_rleaf r;

			if ((rv = ldg_leaf_get(src, i + 1 + j, &rl)) != CM_OK ||
			    (rv = ldg_rleaf_decode(rl, &r, d)) != CM_OK) {
				*out_bad = i + 1 + j;
				goto out;
			}
			recs[j] = r.rec;
		}
		cm_buf_reset(&batch);
		if ((rv = ldg_batchfile_encode(hl.hdr, hl.sig.p, recs, h.n,
		                               &batch)) != CM_OK)
			goto out;
		a.ltime = hl.log_time;
		a.replay_size = i;
		rv = batch_apply(&a, dst, cm_buf_bytes(&batch), &rc, d);
		if (rv != CM_OK)
			goto out;
		if (!in_place) {
			/* The batch must have produced exactly these leaves. */
			for (uint64_t j = 0; j <= h.n; j++) {
				cm_bytes x, y;

				if (ldg_leaf_get(src, i + j, &x) != CM_OK ||
				    ldg_leaf_get(dst, i + j, &y) != CM_OK ||
				    !cm_bytes_eq(x, y)) {
					*out_bad = i + j;
					rv = cm_fail(
					    d, CM_ECORRUPT,
					    "leaf %llu differs from the leaf "
					    "its batch produces",
					    (unsigned long long) (i + j));
					goto out;
				}
			}
		}
		prev_time = hl.log_time;
		if (src->s->progress != NULL &&
		    (i >> 12) != ((i + 1 + h.n) >> 12))
			src->s->progress(src->s->progress_arg,
			                 in_place ? "reindex" : "audit",
			                 i + 1 + h.n, n);
		i += 1 + h.n;
	}
	if (src->s->progress != NULL)
		src->s->progress(src->s->progress_arg,
		                 in_place ? "reindex" : "audit", n, n);
	*out_bad = UINT64_MAX;
	rv = ldg_indexers_mark(dst, n);
out:
	ldg_receipt_fini(&rc);
	cm_free(recs);
	cm_buf_fini(&batch);
	cm_buf_fini(&a.leaf);
	cm_buf_fini(&a.hleaf);
	cm_free(a.hashes);
	return (rv);
}
