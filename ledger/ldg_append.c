/* SPDX-License-Identifier: MIT */
/* ledger/ldg_append.c -- the append path: group commit of signed batches,
 * each in a nested transaction, with every state-dependent check inside the
 * write transaction; the (key ID, seq) index; building and signing batches.
 * Acceptance depends only on (ledger state, batch, log time): validators
 * read no clock.  Rules: docs/format.md "Batches". */
#include "ledger/ldg_impl.h"

#include <stddef.h>
#include <stdio.h>
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
	                 CM_BYTES(LDG_T_HLEAF, strlen(LDG_T_HLEAF))) &&
	    !cm_bytes_eq(leaf->type,
	                 CM_BYTES(LDG_T_HLEAF_V1, strlen(LDG_T_HLEAF_V1))))
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

/* Reads refs[i] ({"h": hash, "i": index}) from rd. */
static cm_err
ref_read(cm_cbor_rd *rd, uint64_t i, cm_bytes *out_h, uint64_t *out_idx,
         cm_diag *d)
{
	ldg_field f[2] = {{"h", true}, {"i", true}};
	cm_bytes  item;

	if (cm_cbor_rd_skip(rd, &item) != CM_OK)
		return (CM_EPROTO);
	if (ldg_fields_decode(item, NULL, f, 2, d) != CM_OK ||
	    ldg_field_bytes(&f[0], out_h, d) != CM_OK ||
	    ldg_field_uint(&f[1], out_idx, d) != CM_OK)
		return (
		    cm_fail(d, CM_EREF,
		            "refs[%llu] must be {\"h\": hash, \"i\": index}",
		            (unsigned long long) i));
	return (CM_OK);
}

/* Walks a refs item (an array of {"h": hash, "i": index}; empty: no
 * refs): its shape, which needs no ledger state, and with t each
 * reference against the leaves before limit. */
static cm_err
refs_walk(ldg_txn *t, cm_bytes refs, uint64_t limit, cm_diag *d)
{
	cm_cbor_rd rd;
	uint64_t   n, idx;
	cm_bytes   h;
	cm_err     rv;

	if (refs.len == 0)
		return (CM_OK);
	cm_cbor_rd_init(&rd, refs, d);
	if (cm_cbor_rd_array(&rd, &n) != CM_OK)
		return (cm_fail(d, CM_EREF, "refs must be an array"));
	for (uint64_t i = 0; i < n; i++)
		if ((rv = ref_read(&rd, i, &h, &idx, d)) != CM_OK ||
		    (t != NULL &&
		     (rv = ldg_ref_check(t, idx, h, limit, d)) != CM_OK))
			return (rv);
	return (CM_OK);
}

/* A record's "refs" item, or empty when there is none. */
static cm_err
refs_find(cm_bytes rec, cm_bytes *out)
{
	cm_cbor_rd rd;
	uint64_t   nkeys;

	*out = CM_BYTES(NULL, 0);
	cm_cbor_rd_init(&rd, rec, NULL);
	if (cm_cbor_rd_map(&rd, &nkeys) != CM_OK)
		return (CM_EPROTO);
	for (uint64_t k = 0; k < nkeys; k++) {
		cm_bytes key;
		bool     refs;

		if (cm_cbor_rd_text(&rd, &key) != CM_OK)
			return (CM_EPROTO);
		refs = cm_bytes_eq(key, CM_BYTES("refs", 4));
		if (cm_cbor_rd_skip(&rd, refs ? out : NULL) != CM_OK)
			return (CM_EPROTO);
		if (refs)
			break;
	}
	return (CM_OK);
}

cm_err
ldg_record_refs_check(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	cm_bytes refs;

	if (refs_find(r->rec, &refs) != CM_OK)
		return (CM_EPROTO);
	return (refs_walk(t, refs, r->header_index, d));
}

/* Names the record a refusal is about: "record I: <reason>". */
static void
diag_record(cm_diag *d, uint64_t i)
{
	char reason[sizeof(d->msg)];

	if (d == NULL)
		return;
	memcpy(reason, d->msg, sizeof(reason));
	if (reason[0] != '\0')
		snprintf(d->msg, sizeof(d->msg), "record %llu: %.200s",
		         (unsigned long long) i, reason);
	else
		snprintf(d->msg, sizeof(d->msg), "record %llu",
		         (unsigned long long) i);
}

/* ---- preparing a batch: every check that needs no ledger state ----
 *
 * Decoding, the canonical form of every record, each kind's decode, the
 * shape of refs, the records' root against the header and the header
 * signature run here, before the write transaction and split into chunks
 * over the store's threads.  The signature is checked with the public key
 * read from a snapshot: a key ID is the hash of its key, so the key a
 * snapshot holds for it is the key the write transaction will find.  A
 * key registered after the snapshot is checked inside the transaction. */

#define PREP_CHUNK 64  /* records per chunk when preparing */
#define LEAF_CHUNK 128 /* records per chunk when building leaves */

typedef struct prep_rec {
	cm_bytes        rec;
	cm_bytes        kind;
	cm_bytes        refs; /* the refs array, or empty */
	const ldg_kind *k;
	void           *decoded;
} prep_rec;

typedef struct prep_err {
	cm_err   rv;
	uint64_t rec;
	cm_diag  d;
} prep_err;

struct ldg_prepared {
	ldg_store    *s;
	ldg_batchfile b;
	prep_rec     *recs;
	uint8_t (*hashes)[CM_HASH_LEN]; /* RFC 6962 leaf hash of each record */
	uint8_t  *arena;                /* the kinds' decoded forms */
	size_t    slot;                 /* arena bytes per record */
	prep_err *errs;                 /* one per record chunk */
	size_t    nchunks;
	bool      have_pub, sig_ok;
	uint8_t   pub[CM_PUBKEY_LEN];
};

void
ldg_prepared_free(ldg_prepared *p)
{
	if (p == NULL)
		return;
	cm_free(p->recs);
	cm_free(p->hashes);
	cm_free(p->arena);
	cm_free(p->errs);
	cm_free(p);
}

/* The largest decoded form of any kind of s, rounded up for alignment. */
static size_t
decoded_slot(const ldg_store *s)
{
	size_t max = 0, a = _Alignof(max_align_t);

	for (size_t m = 0; m < s->nmods; m++)
		for (size_t k = 0; k < s->mods[m]->nkinds; k++)
			if (s->mods[m]->kinds[k].decoded_size > max &&
			    s->mods[m]->kinds[k].decoded_size <=
			        LDG_DECODED_MAX)
				max = s->mods[m]->kinds[k].decoded_size;
	return ((max + a - 1) / a * a);
}

/* The checks of one batch that are cheap and serial: size, envelope,
 * counts, origin; and the signer's key from the snapshot rt (may be
 * NULL: then the signature is checked in the write transaction). */
static cm_err
prep_head(ldg_store *s, ldg_txn *rt, cm_bytes bytes, ldg_prepared **out,
          cm_diag *d)
{
	ldg_prepared *p;
	ldg_identity  id;
	cm_cbor_rd    r;
	cm_err        rv;

	*out = NULL;
	if (bytes.len > s->params.max_batch_bytes)
		return (cm_fail(
		    d, CM_ETOOBIG, "batch is %zu bytes (limit %llu)", bytes.len,
		    (unsigned long long) s->params.max_batch_bytes));
	if ((p = cm_calloc(1, sizeof(*p))) == NULL)
		return (CM_ENOMEM);
	p->s = s;
	if ((rv = ldg_batchfile_decode(bytes, &p->b, d)) != CM_OK)
		goto fail;
	if (p->b.nrecs == 0) {
		rv = cm_fail(d, CM_EPROTO, "a batch needs at least one record");
		goto fail;
	}
	if (p->b.nrecs > s->params.max_records) {
		rv = cm_fail(d, CM_ETOOBIG,
		             "batch holds %llu records (1 to %llu allowed)",
		             (unsigned long long) p->b.nrecs,
		             (unsigned long long) s->params.max_records);
		goto fail;
	}
	if (!cm_bytes_eq(p->b.h.origin,
	                 CM_BYTES(s->origin, strlen(s->origin)))) {
		rv = cm_fail(
		    d, CM_EORIGIN,
		    "batch names origin \"%.*s\", this log is \"%s\"",
		    (int) (p->b.h.origin.len > 80 ? 80 : p->b.h.origin.len),
		    p->b.h.origin.p, s->origin);
		goto fail;
	}
	p->slot = decoded_slot(s);
	p->nchunks = (p->b.nrecs + PREP_CHUNK - 1) / PREP_CHUNK;
	if ((p->recs = cm_calloc(p->b.nrecs, sizeof(*p->recs))) == NULL ||
	    (p->hashes = cm_calloc(p->b.nrecs, CM_HASH_LEN)) == NULL ||
	    (p->arena = cm_calloc(p->b.nrecs, p->slot ? p->slot : 1)) == NULL ||
	    (p->errs = cm_calloc(p->nchunks, sizeof(*p->errs))) == NULL) {
		rv = CM_ENOMEM;
		goto fail;
	}
	cm_cbor_rd_init(&r, p->b.recs_item, NULL);
	if (cm_cbor_rd_array(&r, &p->b.nrecs) != CM_OK) {
		rv = CM_EPROTO;
		goto fail;
	}
	for (uint64_t i = 0; i < p->b.nrecs; i++) {
		if (cm_cbor_rd_bytes(&r, &p->recs[i].rec) != CM_OK) {
			rv = CM_EPROTO;
			goto fail;
		}
		p->recs[i].decoded = p->arena + i * p->slot;
	}
	if (rt != NULL && ldg_identity_get(rt, p->b.h.kid.p, &id) == CM_OK) {
		memcpy(p->pub, id.pub, CM_PUBKEY_LEN);
		p->have_pub = true;
	}
	*out = p;
	return (CM_OK);
fail:
	ldg_prepared_free(p);
	return (rv);
}

static cm_err
rec_prepare(ldg_store *s, prep_rec *pr, uint8_t hash[CM_HASH_LEN], cm_diag *d)
{
	cm_cbor_map m;
	cm_err      rv;

	if ((rv = ldg_record_head(pr->rec, &pr->kind, &pr->refs, &m, d)) !=
	    CM_OK)
		return (rv == CM_ENONCANON ? rv : CM_EPROTO);
	if ((pr->k = ldg_kind_find(s, pr->kind)) == NULL)
		return (cm_fail(d, CM_EKIND, "unknown record kind \"%.*s\"",
		                (int) (pr->kind.len > 40 ? 40 : pr->kind.len),
		                pr->kind.p));
	if (pr->k->decoded_size > LDG_DECODED_MAX)
		return (cm_fail(d, CM_EINVAL, "kind %s: decoded form too large",
		                pr->k->name));
	if (pr->k->decode != NULL &&
	    (rv = pr->k->decode(&m, pr->decoded, d)) != CM_OK)
		return (rv);
	if ((rv = refs_walk(NULL, pr->refs, 0, d)) != CM_OK)
		return (rv);
	ldg_leaf_hash(pr->rec, hash);
	return (CM_OK);
}

/* Job chunk c: the signature when c == 0 (if the key is known), else
 * records (c-1)*PREP_CHUNK...; stops at a chunk's first bad record. */
static void
prep_chunk(void *arg, size_t c)
{
	ldg_prepared *p = arg;
	uint64_t      lo, hi;
	prep_err     *e;

	if (c == 0) {
		p->sig_ok =
		    p->have_pub && cm_verify(p->pub, "batch-header", p->b.h.hdr,
		                             p->b.h.sig.p) == CM_OK;
		return;
	}
	e = &p->errs[c - 1];
	lo = (uint64_t) (c - 1) * PREP_CHUNK;
	hi = lo + PREP_CHUNK < p->b.nrecs ? lo + PREP_CHUNK : p->b.nrecs;
	e->rv = CM_OK;
	for (uint64_t i = lo; i < hi; i++) {
		cm_diag_clear(&e->d);
		e->rv = rec_prepare(p->s, &p->recs[i], p->hashes[i], &e->d);
		if (e->rv != CM_OK) {
			e->rec = i;
			return;
		}
	}
}

/* The parallel part of preparing: records and signature, then the
 * records' root against the header. */
static cm_err
prep_body(ldg_prepared *p, ldg_pool *pool, cm_diag *d)
{
	uint8_t root[CM_HASH_LEN];
	ldg_par j;

	/* A batch of one chunk is mostly its signature check: handing that
	 * to another thread costs a wake-up and gains nothing. */
	ldg_par_begin(&j, p->nchunks > 1 ? pool : NULL, 0, p->nchunks + 1,
	              prep_chunk, p);
	ldg_par_end(&j);
	if (p->have_pub && !p->sig_ok)
		return (cm_fail(d, CM_EBADSIG,
		                "batch header signature does not verify"));
	for (size_t c = 0; c < p->nchunks; c++)
		if (p->errs[c].rv != CM_OK) {
			cm_diag_set(d, "%s", p->errs[c].d.msg);
			diag_record(d, p->errs[c].rec);
			return (p->errs[c].rv);
		}
	ldg_merkle_root((const uint8_t(*)[CM_HASH_LEN]) p->hashes, p->b.nrecs,
	                root);
	if (p->b.h.root.len != CM_HASH_LEN ||
	    memcmp(root, p->b.h.root.p, CM_HASH_LEN) != 0)
		return (
		    cm_fail(d, CM_EBADSIG,
		            "the header's root does not match the records"));
	return (CM_OK);
}

cm_err
ldg_prepare(ldg_store *s, cm_bytes batch, ldg_prepared **out, cm_diag *d)
{
	ldg_txn *rt = NULL;
	cm_err   rv;

	*out = NULL;
	if ((rv = ldg_read_begin(s, &rt)) != CM_OK)
		return (rv);
	rv = prep_head(s, rt, batch, out, d);
	ldg_txn_end(rt);
	if (rv != CM_OK)
		return (rv);
	if ((rv = prep_body(*out, s->pool, d)) != CM_OK) {
		ldg_prepared_free(*out);
		*out = NULL;
	}
	return (rv);
}

/* ---- applying one prepared batch, inside the write transaction ---- */

typedef struct leaf_chunk {
	cm_buf buf;
	cm_err rv;
} leaf_chunk;

typedef struct apply_ctx {
	ldg_store *s;
	uint64_t   clock;    /* the writer's clock reading for this commit */
	uint64_t   ltime;    /* max(previous log time, clock) */
	bool       hleaf_v1; /* replay of an old leaf: build the v1 form */
	cm_buf     hleaf;
	bool       replay_in_place; /* reindex: entries exist, compare them */
	uint64_t   replay_size;     /* leaves replayed so far */
	/* Record leaves of the batch being applied, built in chunks. */
	const ldg_prepared *p;
	uint64_t            hidx;
	uint8_t             hh[CM_HASH_LEN];
	leaf_chunk         *lc;
	size_t              nlc;
	size_t             *loff, *llen; /* per record, within its chunk */
	uint8_t (*lhash)[CM_HASH_LEN];
	/* The tree parents each record leaf completes within its chunk,
	 * hashed with the leaves (ldg_tree_parents). */
	uint8_t (*up)[LDG_UP_MAX][CM_HASH_LEN];
	uint8_t *nup;
	size_t   nrec_cap;
} apply_ctx;

static void
apply_ctx_fini(apply_ctx *a)
{
	cm_buf_fini(&a->hleaf);
	for (size_t c = 0; c < a->nlc; c++)
		cm_buf_fini(&a->lc[c].buf);
	cm_free(a->lc);
	cm_free(a->loff);
	cm_free(a->llen);
	cm_free(a->lhash);
	cm_free(a->up);
	cm_free(a->nup);
}

/* Room for the leaves of n records. */
static cm_err
leaves_reserve(apply_ctx *a, uint64_t n)
{
	size_t nc = (n + LEAF_CHUNK - 1) / LEAF_CHUNK;

	if (nc > a->nlc) {
		void *q = cm_realloc(a->lc, nc * sizeof(*a->lc));

		if (q == NULL)
			return (CM_ENOMEM);
		a->lc = q;
		memset(a->lc + a->nlc, 0, (nc - a->nlc) * sizeof(*a->lc));
		a->nlc = nc;
	}
	if (n > a->nrec_cap) {
		size_t *o = cm_realloc(a->loff, n * sizeof(size_t));

		if (o == NULL)
			return (CM_ENOMEM);
		a->loff = o;
		if ((o = cm_realloc(a->llen, n * sizeof(size_t))) == NULL)
			return (CM_ENOMEM);
		a->llen = o;
		void *h = cm_realloc(a->lhash, n * CM_HASH_LEN);
		if (h == NULL)
			return (CM_ENOMEM);
		a->lhash = h;
		if ((h = cm_realloc(a->up, n * sizeof(*a->up))) == NULL)
			return (CM_ENOMEM);
		a->up = h;
		if ((h = cm_realloc(a->nup, n)) == NULL)
			return (CM_ENOMEM);
		a->nup = h;
		a->nrec_cap = n;
	}
	return (CM_OK);
}

/* Job chunk c: encodes and hashes the leaves of records
 * c*LEAF_CHUNK... (pure: no txn). */
static void
leaf_chunk_build(void *arg, size_t c)
{
	apply_ctx  *a = arg;
	leaf_chunk *lc = &a->lc[c];
	uint64_t    lo = (uint64_t) c * LEAF_CHUNK;
	uint64_t    hi =
            lo + LEAF_CHUNK < a->p->b.nrecs ? lo + LEAF_CHUNK : a->p->b.nrecs;

	cm_buf_reset(&lc->buf);
	lc->rv = CM_OK;
	for (uint64_t i = lo; i < hi; i++) {
		size_t start = lc->buf.len;

		lc->rv = ldg_rleaf_encode(a->hh, a->hidx, i, a->p->recs[i].rec,
		                          &lc->buf);
		if (lc->rv != CM_OK)
			return;
		a->loff[i] = start;
		a->llen[i] = lc->buf.len - start;
	}
	/* Hash after encoding: the buffer may have moved while growing. */
	for (uint64_t i = lo; i < hi; i++)
		ldg_leaf_hash(CM_BYTES(lc->buf.p + a->loff[i], a->llen[i]),
		              a->lhash[i]);
	/* And the tree nodes above them that lie inside this chunk, which
	 * the writer would otherwise hash one by one. */
	ldg_tree_parents(a->hidx + 1 + lo,
	                 (const uint8_t(*)[CM_HASH_LEN])(a->lhash + lo),
	                 (size_t) (hi - lo), a->up + lo, a->nup + lo);
}

/* Appends a leaf whose hash is known, or in a reindex checks that the
 * stored leaf is these bytes and rebuilds its tree nodes. */
static cm_err
leaf_put(apply_ctx *a, ldg_txn *t, uint64_t idx, cm_bytes leaf,
         const uint8_t lh[CM_HASH_LEN], const uint8_t (*up)[CM_HASH_LEN],
         unsigned nup, cm_diag *d)
{
	cm_bytes old;

	if (!a->replay_in_place)
		return (ldg_tree_put_leaf_up(t, idx, leaf, lh, up, nup));
	if (ldg_leaf_get(t, idx, &old) != CM_OK || !cm_bytes_eq(old, leaf))
		return (cm_fail(d, CM_ECORRUPT,
		                "leaf %llu differs from the "
		                "leaf its batch produces",
		                (unsigned long long) idx));
	return (ldg_tree_node_append_up(t, idx, lh, up, nup));
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

/* The state-dependent checks of record i, then its leaf and indexes. */
static cm_err
record_apply(apply_ctx *a, ldg_txn *t, const ldg_identity *signer, uint64_t i,
             cm_diag *d)
{
	const prep_rec *pr = &a->p->recs[i];
	ldg_record      r;
	ldg_leaf        lv;
	uint64_t        idx = a->hidx + 1 + i;
	cm_bytes        leaf;
	cm_err          rv;

	memset(&r, 0, sizeof(r));
	r.kind = pr->kind;
	r.decoded = pr->decoded;
	r.rec = pr->rec;
	if (!pr->k->may_write(signer, &r, d))
		return (cm_fail(d, CM_EDENIED,
		                "%s %s may not write this %s "
		                "record",
		                ldg_role_name(signer->role),
		                signer->uscc[0] ? signer->uscc : signer->name,
		                pr->k->name));
	r.index = idx;
	r.header_index = a->hidx;
	r.pos = i;
	r.log_time = a->ltime;
	r.signer = signer;
	if ((rv = refs_walk(t, pr->refs, a->hidx, d)) != CM_OK)
		return (rv);
	if (pr->k->validate != NULL &&
	    (rv = pr->k->validate(t, &r, d)) != CM_OK)
		return (rv);
	leaf = CM_BYTES(a->lc[i / LEAF_CHUNK].buf.p + a->loff[i], a->llen[i]);
	if (leaf.len > a->s->params.max_leaf)
		return (
		    cm_fail(d, CM_ETOOBIG,
		            "record leaf %llu would be %zu bytes (limit %llu)",
		            (unsigned long long) i, leaf.len,
		            (unsigned long long) a->s->params.max_leaf));
	if ((rv = leaf_put(a, t, idx, leaf, a->lhash[i],
	                   (const uint8_t(*)[CM_HASH_LEN]) a->up[i], a->nup[i],
	                   d)) != CM_OK)
		return (rv);
	memset(&lv, 0, sizeof(lv));
	lv.index = idx;
	lv.bytes = leaf;
	lv.type = CM_BYTES(LDG_T_RLEAF, strlen(LDG_T_RLEAF));
	lv.log_time = a->ltime;
	lv.record = &r;
	return (ldg_run_indexers(t, &lv, d));
}

/* Builds the record leaves on the store's threads while this thread
 * checks and writes them in order. */
static cm_err
records_apply(apply_ctx *a, ldg_txn *t, const ldg_identity *signer, cm_diag *d)
{
	uint64_t n = a->p->b.nrecs;
	size_t   nc = (n + LEAF_CHUNK - 1) / LEAF_CHUNK;
	ldg_par  j;
	cm_err   rv = CM_OK;

	if ((rv = leaves_reserve(a, n)) != CM_OK)
		return (rv);
	/* Priority over preparing: this job holds the write txn. */
	ldg_par_begin(&j, a->s->pool, 1, nc, leaf_chunk_build, a);
	for (uint64_t i = 0; i < n && rv == CM_OK; i++) {
		if (i % LEAF_CHUNK == 0) {
			ldg_par_need(&j, i / LEAF_CHUNK);
			if ((rv = a->lc[i / LEAF_CHUNK].rv) != CM_OK)
				break;
		}
		if ((rv = record_apply(a, t, signer, i, d)) != CM_OK)
			diag_record(d, i);
	}
	ldg_par_end(&j);
	return (rv);
}

/* |claim - clock| <= window, written without an addition that could
 * wrap near 2^64. */
static bool
time_in_window(uint64_t claim, uint64_t clock, uint64_t window)
{
	return (claim <= clock ? clock - claim <= window
	                       : claim - clock <= window);
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
batch_apply(apply_ctx *a, ldg_txn *t, const ldg_prepared *p, ldg_receipt *rc,
            cm_diag *d)
{
	ldg_store           *s = a->s;
	const ldg_batchfile *b = &p->b;
	ldg_identity         signer;
	uint64_t  size = a->replay_in_place ? a->replay_size : ldg_size(t);
	uint64_t  hidx, next;
	uint8_t   hh[CM_HASH_LEN];
	ldg_hleaf hl;
	ldg_leaf  lv;
	cm_err    rv;

	rv = ldg_identity_get(t, b->h.kid.p, &signer);
	if (rv == CM_ENOTFOUND)
		return (
		    cm_fail(d, CM_EUNKNOWNKEY, "no identity has this key ID"));
	if (rv != CM_OK)
		return (rv);
	if ((!p->sig_ok || memcmp(p->pub, signer.pub, CM_PUBKEY_LEN) != 0) &&
	    cm_verify(signer.pub, "batch-header", b->h.hdr, b->h.sig.p) !=
	        CM_OK)
		return (cm_fail(d, CM_EBADSIG,
		                "batch header signature does not verify"));
	/* Replays: identical bytes get the original receipt; anything else
	 * with a used number is a conflict.  The records match the header's
	 * root (prepared), so an identical header means identical records. */
	if ((rv = seq_lookup(t, b->h.kid.p, b->h.seq, &hidx)) == CM_OK) {
		if (!hleaf_same(t, hidx, b))
			return (cm_fail(d, CM_ESEQCONFLICT,
			                "seq %llu was used by a "
			                "different batch (header leaf %llu)",
			                (unsigned long long) b->h.seq,
			                (unsigned long long) hidx));
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
	if ((rv = ldg_next_seq(t, b->h.kid.p, &next)) != CM_OK)
		return (rv);
	if (b->h.seq != next)
		return (cm_fail(d, CM_ESEQGAP, "got seq %llu, expected %llu",
		                (unsigned long long) b->h.seq,
		                (unsigned long long) next));
	/* Against this commit's clock reading, not the log time: the log
	 * time never decreases, so after a forward step of the clock a check
	 * against it would refuse honest batches until real time caught up
	 * (docs/format.md section 8.2). */
	if (!time_in_window(b->h.time, a->clock, s->params.window_ms))
		return (
		    cm_fail(d, CM_ETIME,
		            "claimed %llu, writer's clock %llu, window %llu "
		            "ms",
		            (unsigned long long) b->h.time,
		            (unsigned long long) a->clock,
		            (unsigned long long) s->params.window_ms));
	hidx = size;
	cm_buf_reset(&a->hleaf);
	hl.hdr = b->h.hdr;
	hl.sig = b->h.sig;
	hl.clock = a->clock;
	hl.first = hidx + 1;
	hl.log_time = a->ltime;
	hl.v1 = a->hleaf_v1;
	if ((rv = ldg_hleaf_encode(&hl, &a->hleaf)) != CM_OK)
		return (rv);
	if (a->hleaf.len > s->params.max_leaf)
		return (cm_fail(d, CM_ETOOBIG, "header leaf too large"));
	ldg_leaf_hash(cm_buf_bytes(&a->hleaf), hh);
	if ((rv = leaf_put(a, t, hidx, cm_buf_bytes(&a->hleaf), hh, NULL, 0,
	                   d)) != CM_OK)
		return (rv);
	memset(&lv, 0, sizeof(lv));
	lv.index = hidx;
	lv.bytes = cm_buf_bytes(&a->hleaf);
	lv.type = hl.v1 ? CM_BYTES(LDG_T_HLEAF_V1, strlen(LDG_T_HLEAF_V1))
	                : CM_BYTES(LDG_T_HLEAF, strlen(LDG_T_HLEAF));
	lv.log_time = a->ltime;
	if ((rv = ldg_run_indexers(t, &lv, d)) != CM_OK)
		return (rv);
	a->p = p;
	a->hidx = hidx;
	memcpy(a->hh, hh, CM_HASH_LEN);
	if ((rv = records_apply(a, t, &signer, d)) != CM_OK)
		return (rv);
	{
		uint8_t key[16], val[8];
		ldg_db  db;

		if ((rv = ldg_db_find(t, LDG_DB_TIME, &db)) != CM_OK)
			return (rv);
		cm_put_u64be(key, a->ltime);
		cm_put_u64be(key + 8, hidx);
		cm_put_u64be(val, hidx + 1 + b->nrecs);
		if ((rv = ldg_kv_put(t, db, CM_BYTES(key, 16), CM_BYTES(val, 8),
		                     LDG_PUT_APPEND)) != CM_OK)
			return (rv);
	}
	rc->header_index = hidx;
	rc->first_record = hidx + 1;
	rc->nrecords = b->nrecs;
	rc->seq = b->h.seq;
	rc->log_time = a->ltime;
	rc->already = false;
	memcpy(rc->key_id, b->h.kid.p, CM_KEYID_LEN);
	return (CM_OK);
}

void
ldg_receipt_fini(ldg_receipt *r)
{
	if (r != NULL)
		cm_buf_fini(&r->checkpoint);
}

/* The receipts' checkpoints, once the commit is durable (or when there was
 * nothing to commit; t is then the write txn, else NULL): the note of this
 * commit, or for a resend the first stored checkpoint covering it.  Nothing
 * here may fail the append: the batches are in the log whatever happens, so
 * a checkpoint that cannot be fetched (no memory, no reader slot, the
 * lookup) is noted in its receipt, never reported as a failed append. */
static void
receipts_finish(ldg_store *s, ldg_txn *t, ldg_prepared *const *p, size_t n,
                const cm_err *status, ldg_receipt *rcs, cm_bytes note,
                uint64_t size)
{
	ldg_txn *rt = NULL;
	cm_err   rt_err = CM_OK;

	for (size_t i = 0; i < n; i++) {
		ldg_receipt *r = &rcs[i];
		uint64_t     csize;

		if (p[i] == NULL ||
		    (status[i] != CM_OK && status[i] != CM_EDUPLICATE))
			continue;
		r->size = size;
		if (status[i] == CM_OK) {
			r->checkpoint_err =
			    cm_buf_append(&r->checkpoint, note.p, note.len);
		} else {
			if (t == NULL && rt == NULL && rt_err == CM_OK)
				rt_err = ldg_read_begin(s, &rt);
			r->checkpoint_err =
			    rt_err != CM_OK ? rt_err
			                    : ldg_checkpoint_covering(
			                          t != NULL ? t : rt,
			                          r->first_record + r->nrecords,
			                          &r->checkpoint, &csize);
			if (r->checkpoint_err == CM_OK)
				r->size = csize;
		}
		if (r->checkpoint_err != CM_OK)
			cm_buf_reset(&r->checkpoint);
	}
	ldg_txn_end(rt);
}

/* One write transaction over the prepared batches (NULL: refused while
 * preparing; its status stays). */
static cm_err
append_once(ldg_store *s, ldg_prepared *const *p, size_t n, uint64_t now_ms,
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
	a.clock = now_ms;
	a.ltime = now_ms > last_time ? now_ms : last_time;
	for (size_t i = 0; i < n; i++) {
		cm_diag *d = diags ? &diags[i] : NULL;

		if (p[i] == NULL)
			continue;
		cm_diag_clear(d);
		if ((rv = ldg_txn_begin(s, t, true, &nt)) != CM_OK)
			goto out;
		status[i] = batch_apply(&a, nt, p[i], &rcs[i], d);
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
	receipts_finish(s, t, p, n, status, rcs, cm_buf_bytes(&note), size);
out:
	ldg_txn_end(nt);
	ldg_txn_end(t);
	cm_buf_fini(&note);
	apply_ctx_fini(&a);
	return (rv);
}

/* The write transaction (retried once after growing the map) and the
 * post-commit hooks.  p[i] NULL: refused while preparing. */
static cm_err
append_all(ldg_store *s, ldg_prepared *const *p, size_t n, uint64_t now_ms,
           ldg_receipt *receipts, cm_err *status, cm_diag *diags)
{
	uint64_t first = UINT64_MAX, last = UINT64_MAX;
	cm_err   rv;

	rv = append_once(s, p, n, now_ms, receipts, status, diags, &first,
	                 &last);
	if (rv == CM_EMAPFULL) {
		/* Grow the map (no txn of ours is open now) and retry once. */
		if ((rv = ldg_env_grow(s->env)) != CM_OK)
			return (rv);
		rv = append_once(s, p, n, now_ms, receipts, status, diags,
		                 &first, &last);
	}
	if (rv != CM_OK || first == UINT64_MAX)
		return (rv);
	for (size_t m = 0; m < s->nmods; m++)
		if (s->mods[m]->post_commit != NULL)
			s->mods[m]->post_commit(s->mods[m]->arg, first, last);
	return (CM_OK);
}

cm_err
ldg_append_prepared(ldg_store *s, ldg_prepared *const *p, size_t n,
                    uint64_t now_ms, ldg_receipt *receipts, cm_err *status,
                    cm_diag *diags)
{
	if (!s->writable)
		return (CM_EREADONLY);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == NULL || p[i]->s != s)
			return (CM_EINVAL);
		cm_buf_reset(&receipts[i].checkpoint);
		receipts[i].checkpoint_err = CM_OK;
	}
	return (append_all(s, p, n, now_ms, receipts, status, diags));
}

/* Preparing several batches: one job chunk per batch. */
typedef struct prep_many {
	ldg_prepared **p;
	cm_err        *status;
	cm_diag       *diags;
} prep_many;

static void
prep_many_chunk(void *arg, size_t c)
{
	prep_many *m = arg;
	cm_diag   *d = m->diags ? &m->diags[c] : NULL;

	if (m->p[c] == NULL)
		return;
	/* A large batch's own chunks form a job of their own, which this
	 * thread runs and idle workers help with. */
	if ((m->status[c] = prep_body(m->p[c], m->p[c]->s->pool, d)) != CM_OK) {
		ldg_prepared_free(m->p[c]);
		m->p[c] = NULL;
	}
}

cm_err
ldg_append(ldg_store *s, const cm_bytes *batches, size_t n, uint64_t now_ms,
           ldg_receipt *receipts, cm_err *status, cm_diag *diags)
{
	ldg_prepared **p;
	ldg_txn       *rt = NULL;
	prep_many      m;
	ldg_par        j;
	cm_err         rv;

	if (!s->writable)
		return (CM_EREADONLY);
	if ((p = cm_calloc(n, sizeof(*p))) == NULL)
		return (CM_ENOMEM);
	if ((rv = ldg_read_begin(s, &rt)) != CM_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		cm_diag *d = diags ? &diags[i] : NULL;

		cm_diag_clear(d);
		cm_buf_reset(&receipts[i].checkpoint);
		receipts[i].checkpoint_err = CM_OK;
		status[i] = prep_head(s, rt, batches[i], &p[i], d);
		if (status[i] == CM_ENOMEM) {
			rv = CM_ENOMEM;
			goto out;
		}
	}
	ldg_txn_end(rt);
	rt = NULL;
	m.p = p;
	m.status = status;
	m.diags = diags;
	if (n == 1) {
		prep_many_chunk(&m, 0);
	} else {
		ldg_par_begin(&j, s->pool, 0, n, prep_many_chunk, &m);
		ldg_par_end(&j);
	}
	rv = append_all(s, p, n, now_ms, receipts, status, diags);
out:
	ldg_txn_end(rt);
	for (size_t i = 0; i < n; i++)
		ldg_prepared_free(p[i]);
	cm_free(p);
	return (rv);
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
	apply_ctx     a;
	ldg_prepared *prep = NULL;
	uint64_t      n = ldg_size(src), i = 0, prev_time = 0;
	cm_buf        batch = {0};
	cm_bytes     *recs = NULL;
	size_t        nrecs_cap = 0;
	ldg_receipt   rc;
	cm_err        rv = CM_OK;

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
		/* The writer's rule, so the window (checked against the
		 * clock reading by batch_apply) and the log time are both
		 * what the writer had to produce. */
		if (hl.log_time !=
		    (hl.clock > prev_time ? hl.clock : prev_time)) {
			rv = cm_fail(d, CM_ECORRUPT,
			             "header leaf %llu: log time %llu is not "
			             "max(previous log time %llu, clock %llu)",
			             (unsigned long long) i,
			             (unsigned long long) hl.log_time,
			             (unsigned long long) prev_time,
			             (unsigned long long) hl.clock);
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
		a.clock = hl.clock;
		a.ltime = hl.log_time;
		a.hleaf_v1 = hl.v1;
		a.replay_size = i;
		rv = prep_head(dst->s, NULL, cm_buf_bytes(&batch), &prep, d);
		if (rv == CM_OK)
			rv = prep_body(prep, dst->s->pool, d);
		if (rv == CM_OK)
			rv = batch_apply(&a, dst, prep, &rc, d);
		ldg_prepared_free(prep);
		prep = NULL;
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
	apply_ctx_fini(&a);
	return (rv);
}
