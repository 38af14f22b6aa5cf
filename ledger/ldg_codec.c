/* SPDX-License-Identifier: MIT */
/* ledger/ldg_codec.c -- the ledger's leaves and signed structures as
 * canonical CBOR maps: typed field decoding, and the encoders and decoders
 * of batch files, signed headers, header leaves, record leaves and genesis.
 * Every decoder first runs the canonical check, then refuses unknown keys
 * and any "t" it was not asked for.  Byte layouts: docs/format.md. */
#include "ledger/ldg_impl.h"

#include <string.h>

/* An unknown field: when the map is of another type altogether, say that
 * instead (the more useful message; only on this error path). */
static cm_err
unknown_field(cm_bytes map, const char *type, cm_bytes key, cm_diag *d)
{
	cm_cbor_rd r;
	uint64_t   n;
	cm_bytes   k, t;

	cm_cbor_rd_init(&r, map, NULL);
	if (type != NULL && cm_cbor_rd_map(&r, &n) == CM_OK) {
		for (uint64_t i = 0; i < n; i++) {
			if (cm_cbor_rd_text(&r, &k) != CM_OK)
				break;
			if (cm_bytes_eq(k, CM_BYTES("t", 1))) {
				if (cm_cbor_rd_text(&r, &t) == CM_OK &&
				    !cm_bytes_eq(t,
				                 CM_BYTES(type, strlen(type))))
					return (cm_fail(
					    d, CM_EPROTO,
					    "type \"%.*s\" where %s was "
					    "expected",
					    (int) (t.len > 60 ? 60 : t.len),
					    t.p, type));
				break;
			}
			if (cm_cbor_rd_skip(&r, NULL) != CM_OK)
				break;
		}
	}
	return (cm_fail(d, CM_EPROTO, "unknown field \"%.*s\"%s%s",
	                (int) (key.len > 40 ? 40 : key.len), key.p,
	                type ? " in " : "", type ? type : ""));
}

static void
fields_clear(ldg_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f[i].present = false;
		f[i].val = CM_BYTES(NULL, 0);
	}
}

/* One entry of the map: its key must name one of the fields. */
static cm_err
field_take(cm_bytes map, const char *type, ldg_field *f, size_t n, cm_bytes key,
           cm_bytes val, cm_diag *d)
{
	size_t i;

	/* The first byte rules out most names cheaply (hot path). */
	for (i = 0; i < n; i++)
		if (key.len > 0 && f[i].name[0] == (char) key.p[0] &&
		    strlen(f[i].name) == key.len &&
		    memcmp(f[i].name, key.p, key.len) == 0)
			break;
	if (i == n)
		return (unknown_field(map, type, key, d));
	f[i].present = true;
	f[i].val = val;
	return (CM_OK);
}

/* After every entry: required fields and the type. */
static cm_err
fields_finish(const char *type, ldg_field *f, size_t n, cm_diag *d)
{
	cm_err rv;

	for (size_t i = 0; i < n; i++) {
		if (f[i].required && !f[i].present)
			return (cm_fail(d, CM_EPROTO,
			                "missing field \"%s\"%s%s", f[i].name,
			                type ? " in " : "", type ? type : ""));
		if (type != NULL && strcmp(f[i].name, "t") == 0) {
			cm_bytes t;

			if (!f[i].present)
				return (cm_fail(d, CM_EPROTO,
				                "missing type \"t\", want %s",
				                type));
			if ((rv = ldg_field_text(&f[i], &t, d)) != CM_OK)
				return (rv);
			if (!cm_bytes_eq(t, CM_BYTES(type, strlen(type))))
				return (cm_fail(
				    d, CM_EPROTO,
				    "type \"%.*s\" where %s was expected",
				    (int) (t.len > 60 ? 60 : t.len), t.p,
				    type));
		}
	}
	return (CM_OK);
}

cm_err
ldg_fields_decode(cm_bytes map, const char *type, ldg_field *f, size_t n,
                  cm_diag *d)
{
	cm_cbor_rd r;
	uint64_t   nkeys;
	cm_err     rv;

	fields_clear(f, n);
	cm_cbor_rd_init(&r, map, d);
	if ((rv = cm_cbor_rd_map(&r, &nkeys)) != CM_OK)
		return (cm_fail(d, CM_EPROTO, "expected a map"));
	for (uint64_t k = 0; k < nkeys; k++) {
		cm_bytes key, val;

		if ((rv = cm_cbor_rd_text(&r, &key)) != CM_OK ||
		    (rv = cm_cbor_rd_skip(&r, &val)) != CM_OK ||
		    (rv = field_take(map, type, f, n, key, val, d)) != CM_OK)
			return (rv);
	}
	if (!cm_cbor_rd_done(&r))
		return (cm_fail(d, CM_EPROTO, "trailing bytes after map"));
	return (fields_finish(type, f, n, d));
}

cm_err
ldg_fields_from_map(const cm_cbor_map *m, const char *type, ldg_field *f,
                    size_t n, cm_diag *d)
{
	cm_err rv;

	if (!m->complete)
		return (ldg_fields_decode(m->item, type, f, n, d));
	fields_clear(f, n);
	for (size_t k = 0; k < m->n; k++)
		if ((rv = field_take(m->item, type, f, n, m->key[k], m->val[k],
		                     d)) != CM_OK)
			return (rv);
	return (fields_finish(type, f, n, d));
}

static cm_err
field_reader(const ldg_field *f, cm_cbor_rd *r, cm_diag *d)
{
	if (!f->present)
		return (cm_fail(d, CM_EPROTO, "missing field \"%s\"", f->name));
	cm_cbor_rd_init(r, f->val, d);
	return (CM_OK);
}

cm_err
ldg_field_uint(const ldg_field *f, uint64_t *out, cm_diag *d)
{
	cm_cbor_rd r;
	cm_err     rv;

	if ((rv = field_reader(f, &r, d)) != CM_OK)
		return (rv);
	if (cm_cbor_rd_uint(&r, out) != CM_OK || !cm_cbor_rd_done(&r))
		return (cm_fail(d, CM_EPROTO,
		                "field \"%s\" must be an unsigned integer",
		                f->name));
	return (CM_OK);
}

cm_err
ldg_field_text(const ldg_field *f, cm_bytes *out, cm_diag *d)
{
	cm_cbor_rd r;
	cm_err     rv;

	if ((rv = field_reader(f, &r, d)) != CM_OK)
		return (rv);
	if (cm_cbor_rd_text(&r, out) != CM_OK || !cm_cbor_rd_done(&r))
		return (cm_fail(d, CM_EPROTO, "field \"%s\" must be text",
		                f->name));
	return (CM_OK);
}

cm_err
ldg_field_bytes(const ldg_field *f, cm_bytes *out, cm_diag *d)
{
	cm_cbor_rd r;
	cm_err     rv;

	if ((rv = field_reader(f, &r, d)) != CM_OK)
		return (rv);
	if (cm_cbor_rd_bytes(&r, out) != CM_OK || !cm_cbor_rd_done(&r))
		return (cm_fail(d, CM_EPROTO,
		                "field \"%s\" must be a byte string", f->name));
	return (CM_OK);
}

cm_err
ldg_field_fixed(const ldg_field *f, size_t len, uint8_t *out, cm_diag *d)
{
	cm_bytes b;
	cm_err   rv;

	if ((rv = ldg_field_bytes(f, &b, d)) != CM_OK)
		return (rv);
	if (b.len != len)
		return (cm_fail(d, CM_EPROTO,
		                "field \"%s\" must be %zu bytes, got %zu",
		                f->name, len, b.len));
	memcpy(out, b.p, len);
	return (CM_OK);
}

cm_err
ldg_field_cstr(const ldg_field *f, char *out, size_t cap, cm_diag *d)
{
	cm_bytes t;
	cm_err   rv;

	if ((rv = ldg_field_text(f, &t, d)) != CM_OK)
		return (rv);
	if (t.len >= cap || memchr(t.p, 0, t.len) != NULL)
		return (cm_fail(d, CM_EPROTO,
		                "field \"%s\" too long or holds NUL", f->name));
	memcpy(out, t.p, t.len);
	out[t.len] = '\0';
	return (CM_OK);
}

cm_err
ldg_leaf_type(cm_bytes leaf, cm_bytes *out)
{
	cm_cbor_rd r;
	uint64_t   n;
	cm_bytes   key;

	/* In every leaf "t" is the only one-letter key, so it sorts first.
	 * (Not so in the signed batch header, where "n" precedes it.) */
	cm_cbor_rd_init(&r, leaf, NULL);
	if (cm_cbor_rd_map(&r, &n) != CM_OK || n == 0 ||
	    cm_cbor_rd_text(&r, &key) != CM_OK ||
	    !cm_bytes_eq(key, CM_BYTES("t", 1)) ||
	    cm_cbor_rd_text(&r, out) != CM_OK)
		return (CM_EPROTO);
	return (CM_OK);
}

static cm_err
check_canonical(cm_bytes in, const char *what, cm_diag *d)
{
	cm_diag inner;
	cm_err  rv;

	cm_diag_clear(&inner);
	if ((rv = cm_cbor_check(in, &inner)) != CM_OK)
		return (cm_fail(d, rv, "%s: %s", what, inner.msg));
	return (CM_OK);
}

cm_err
ldg_hdr_decode(cm_bytes hdr, ldg_hdr *out, cm_diag *d)
{
	enum { T, N, KID, SEQ, ROOT, TIME, ORIGIN, NF };
	ldg_field f[NF] = {{"t", true},     {"n", true},    {"kid", true},
	                   {"seq", true},   {"root", true}, {"time", true},
	                   {"origin", true}};
	cm_err    rv;

	memset(out, 0, sizeof(*out));
	if ((rv = check_canonical(hdr, "batch header", d)) != CM_OK ||
	    (rv = ldg_fields_decode(hdr, LDG_T_HDR, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[N], &out->n, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[KID], &out->kid, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[SEQ], &out->seq, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[ROOT], &out->root, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[TIME], &out->time, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[ORIGIN], &out->origin, d)) != CM_OK)
		return (rv);
	if (out->kid.len != CM_KEYID_LEN || out->root.len != CM_HASH_LEN)
		return (cm_fail(d, CM_EPROTO,
		                "batch header: kid and root must be 32 bytes"));
	if (out->seq == 0)
		return (cm_fail(d, CM_EPROTO, "batch header: seq starts at 1"));
	out->hdr = hdr;
	return (CM_OK);
}

cm_err
ldg_batchfile_decode(cm_bytes in, ldg_batchfile *out, cm_diag *d)
{
	enum { T, HDR, SIG, RECS, NF };
	ldg_field f[NF] = {
	    {"t", true}, {"hdr", true}, {"sig", true}, {"recs", true}};
	cm_bytes   hdr;
	cm_cbor_rd r;
	cm_err     rv;

	memset(out, 0, sizeof(*out));
	if ((rv = check_canonical(in, "batch", d)) != CM_OK ||
	    (rv = ldg_fields_decode(in, LDG_T_BATCH, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[HDR], &hdr, d)) != CM_OK ||
	    (rv = ldg_hdr_decode(hdr, &out->h, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[SIG], &out->h.sig, d)) != CM_OK)
		return (rv);
	if (out->h.sig.len != CM_SIG_LEN)
		return (cm_fail(d, CM_EPROTO, "batch: sig must be 64 bytes"));
	cm_cbor_rd_init(&r, f[RECS].val, d);
	if (cm_cbor_rd_array(&r, &out->nrecs) != CM_OK)
		return (cm_fail(d, CM_EPROTO, "batch: recs must be an array"));
	for (uint64_t i = 0; i < out->nrecs; i++) {
		cm_bytes rec;

		if (cm_cbor_rd_bytes(&r, &rec) != CM_OK)
			return (
			    cm_fail(d, CM_EPROTO,
			            "batch: record %llu is not a byte string",
			            (unsigned long long) i));
	}
	out->recs_item = f[RECS].val;
	if (out->nrecs != out->h.n)
		return (cm_fail(
		    d, CM_EPROTO,
		    "batch: header counts %llu records, batch holds %llu",
		    (unsigned long long) out->h.n,
		    (unsigned long long) out->nrecs));
	return (CM_OK);
}

cm_err
ldg_hleaf_decode(cm_bytes leaf, ldg_hleaf *out, cm_diag *d)
{
	/* clock last: the v1 form is the same fields without it. */
	enum { T, HDR, SIG, FIRST, LTIME, CLOCK, NF };
	ldg_field f[NF] = {{"t", true},     {"hdr", true},   {"sig", true},
	                   {"first", true}, {"ltime", true}, {"clock", true}};
	cm_bytes  type;
	cm_err    rv;

	if ((rv = check_canonical(leaf, "header leaf", d)) != CM_OK)
		return (rv);
	out->v1 =
	    ldg_leaf_type(leaf, &type) == CM_OK &&
	    cm_bytes_eq(type, CM_BYTES(LDG_T_HLEAF_V1, strlen(LDG_T_HLEAF_V1)));
	if ((rv =
	         ldg_fields_decode(leaf, out->v1 ? LDG_T_HLEAF_V1 : LDG_T_HLEAF,
	                           f, out->v1 ? NF - 1 : NF, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[HDR], &out->hdr, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[SIG], &out->sig, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[FIRST], &out->first, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[LTIME], &out->log_time, d)) != CM_OK)
		return (rv);
	/* A v1 leaf's clock reading is its log time: the window and the
	 * log-time rule are then the ones it was written under. */
	if (out->v1)
		out->clock = out->log_time;
	else if ((rv = ldg_field_uint(&f[CLOCK], &out->clock, d)) != CM_OK)
		return (rv);
	if (out->sig.len != CM_SIG_LEN)
		return (
		    cm_fail(d, CM_EPROTO, "header leaf: sig must be 64 bytes"));
	return (CM_OK);
}

cm_err
ldg_rleaf_decode(cm_bytes leaf, ldg_rleaf *out, cm_diag *d)
{
	enum { T, HH, HI, POS, REC, NF };
	ldg_field f[NF] = {{"t", true},
	                   {"hh", true},
	                   {"hi", true},
	                   {"pos", true},
	                   {"rec", true}};
	cm_err    rv;

	if ((rv = check_canonical(leaf, "record leaf", d)) != CM_OK ||
	    (rv = ldg_fields_decode(leaf, LDG_T_RLEAF, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[HH], &out->hh, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[HI], &out->hi, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[POS], &out->pos, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[REC], &out->rec, d)) != CM_OK)
		return (rv);
	if (out->hh.len != CM_HASH_LEN)
		return (
		    cm_fail(d, CM_EPROTO, "record leaf: hh must be 32 bytes"));
	return (check_canonical(out->rec, "record", d));
}

static cm_err
record_t_wrong(cm_diag *d)
{
	return (
	    cm_fail(d, CM_EPROTO, "record: \"t\" must be %s", LDG_T_RECORD));
}

static cm_err
record_kind_wrong(cm_diag *d)
{
	return (cm_fail(d, CM_EPROTO, "record: \"kind\" must be text"));
}

static cm_err
record_needs(cm_diag *d)
{
	return (cm_fail(d, CM_EPROTO,
	                "record: needs \"t\": \"%s\" and \"kind\"",
	                LDG_T_RECORD));
}

/* The top-level entries of a checked record: those cm_cbor_check_map
 * noted, or for a map it could not index (more than CM_CBOR_MAP_MAX
 * entries), read by a walk. */
typedef struct rec_entries {
	const cm_cbor_map *m;
	cm_cbor_rd         r;
	uint64_t           n, i;
} rec_entries;

static cm_err
rec_entries_init(rec_entries *e, const cm_cbor_map *m, cm_diag *d)
{
	e->m = m;
	e->i = 0;
	e->n = m->n;
	if (m->complete)
		return (CM_OK);
	cm_cbor_rd_init(&e->r, m->item, NULL);
	if (cm_cbor_rd_map(&e->r, &e->n) != CM_OK)
		return (cm_fail(d, CM_EPROTO, "record: not a map"));
	return (CM_OK);
}

static bool
rec_entries_next(rec_entries *e, cm_bytes *key, cm_bytes *val)
{
	if (e->i == e->n)
		return (false);
	if (e->m->complete) {
		*key = e->m->key[e->i];
		*val = e->m->val[e->i];
		e->i++;
		return (true);
	}
	e->i++;
	return (cm_cbor_rd_text(&e->r, key) == CM_OK &&
	        cm_cbor_rd_skip(&e->r, val) == CM_OK);
}

/* A text value of an entry. */
static bool
map_text(cm_bytes item, cm_bytes *out)
{
	cm_cbor_rd r;

	cm_cbor_rd_init(&r, item, NULL);
	return (cm_cbor_rd_text(&r, out) == CM_OK);
}

cm_err
ldg_record_head(cm_bytes rec, cm_bytes *out_kind, cm_bytes *out_refs,
                cm_cbor_map *out_map, cm_diag *d)
{
	cm_cbor_map local, *m = out_map != NULL ? out_map : &local;
	rec_entries e;
	cm_bytes    key, val;
	cm_diag     inner;
	bool        have_t = false;
	cm_err      rv;

	cm_diag_clear(&inner);
	if ((rv = cm_cbor_check_map(rec, m, &inner)) != CM_OK)
		return (cm_fail(d, rv, "record: %s", inner.msg));
	if ((rv = rec_entries_init(&e, m, d)) != CM_OK)
		return (rv);
	while (rec_entries_next(&e, &key, &val)) {
		if (cm_bytes_eq(key, CM_BYTES("t", 1))) {
			cm_bytes t;

			if (!map_text(val, &t) ||
			    !cm_bytes_eq(t, CM_BYTES(LDG_T_RECORD,
			                             strlen(LDG_T_RECORD))))
				return (record_t_wrong(d));
			have_t = true;
		} else if (cm_bytes_eq(key, CM_BYTES("kind", 4))) {
			if (!map_text(val, out_kind))
				return (record_kind_wrong(d));
			if (!have_t)
				break;
			if (out_refs == NULL)
				return (CM_OK);
			/* Keys are in canonical order, so "refs", if present,
			 * comes before any key that sorts after it. */
			*out_refs = CM_BYTES(NULL, 0);
			while (rec_entries_next(&e, &key, &val)) {
				int c =
				    cm_cbor_key_cmp(key, CM_BYTES("refs", 4));

				if (c == 0)
					*out_refs = val;
				if (c >= 0)
					break;
			}
			return (CM_OK);
		}
	}
	return (record_needs(d));
}

cm_err
ldg_record_kind(cm_bytes rec, cm_bytes *out, cm_diag *d)
{
	return (ldg_record_head(rec, out, NULL, NULL, d));
}

static cm_err
params_decode(cm_bytes item, ldg_params *p, cm_diag *d)
{
	enum { BODY, LEAF, BATCH, WINDOW, RECORDS, NF };
	ldg_field f[NF] = {{"body", true},
	                   {"leaf", true},
	                   {"batch", true},
	                   {"window", true},
	                   {"records", true}};
	cm_err    rv;

	if ((rv = ldg_fields_decode(item, NULL, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[BODY], &p->max_body, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[LEAF], &p->max_leaf, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[BATCH], &p->max_batch_bytes, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[WINDOW], &p->window_ms, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[RECORDS], &p->max_records, d)) != CM_OK)
		return (rv);
	return (ldg_params_check(p, d) == CM_OK ? CM_OK : CM_EPROTO);
}

cm_err
ldg_params_check(const ldg_params *p, cm_diag *d)
{
	/* A window beyond a day checks next to nothing, and one under a
	 * second refuses honest batches over ordinary delays.  (The window
	 * check itself cannot wrap whatever the window: ldg_append.c.) */
	if (p->window_ms < LDG_WINDOW_MIN || p->window_ms > LDG_WINDOW_MAX)
		return (cm_fail(d, CM_EINVAL,
		                "genesis: window %llu ms out of range (%u..%u)",
		                (unsigned long long) p->window_ms,
		                (unsigned) LDG_WINDOW_MIN,
		                (unsigned) LDG_WINDOW_MAX));
	if (p->max_leaf > 65535 || p->max_leaf < 1024 || p->max_records == 0 ||
	    p->max_records > 10000 || p->max_batch_bytes > (16u << 20) ||
	    p->max_body > p->max_leaf)
		return (
		    cm_fail(d, CM_EINVAL, "genesis: parameters out of range"));
	return (CM_OK);
}

static cm_err
suite_decode(cm_bytes item, cm_diag *d)
{
	enum { SIG, HASH, NF };
	ldg_field f[NF] = {{"sig", true}, {"hash", true}};
	cm_bytes  sig, hash;
	cm_err    rv;

	if ((rv = ldg_fields_decode(item, NULL, f, NF, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[SIG], &sig, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[HASH], &hash, d)) != CM_OK)
		return (rv);
	if (!cm_bytes_eq(sig, CM_BYTES("ed25519", 7)) ||
	    !cm_bytes_eq(hash, CM_BYTES("sha-256", 7)))
		return (
		    cm_fail(d, CM_EPROTO,
		            "genesis: crypto suite %.*s + %.*s not supported "
		            "(only ed25519 + sha-256)",
		            (int) (sig.len > 20 ? 20 : sig.len), sig.p,
		            (int) (hash.len > 20 ? 20 : hash.len), hash.p));
	return (CM_OK);
}

cm_err
ldg_genesis_decode(cm_bytes leaf, ldg_genesis *out, cm_diag *d)
{
	enum { T, SIG, STMT, NF };
	ldg_field lf[NF] = {{"t", true}, {"sig", true}, {"stmt", true}};
	enum { ST, OP, CKPT, TIME, SUITE, ORIGIN, PARAMS, NS };
	ldg_field sf[NS] = {{"t", true},     {"op", true},    {"ckpt", true},
	                    {"time", true},  {"suite", true}, {"origin", true},
	                    {"params", true}};
	cm_err    rv;

	memset(out, 0, sizeof(*out));
	if ((rv = check_canonical(leaf, "genesis", d)) != CM_OK ||
	    (rv = ldg_fields_decode(leaf, LDG_T_GENESIS, lf, NF, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&lf[SIG], &out->sig, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&lf[STMT], &out->stmt, d)) != CM_OK)
		return (rv);
	if (out->sig.len != CM_SIG_LEN)
		return (cm_fail(d, CM_EPROTO, "genesis: sig must be 64 bytes"));
	if ((rv = check_canonical(out->stmt, "genesis statement", d)) !=
	        CM_OK ||
	    (rv = ldg_fields_decode(out->stmt, LDG_T_GENESIS_STMT, sf, NS,
	                            d)) != CM_OK ||
	    (rv = ldg_field_fixed(&sf[OP], CM_PUBKEY_LEN, out->op_pub, d)) !=
	        CM_OK ||
	    (rv = ldg_field_fixed(&sf[CKPT], CM_PUBKEY_LEN, out->ckpt_pub,
	                          d)) != CM_OK ||
	    (rv = ldg_field_uint(&sf[TIME], &out->log_time, d)) != CM_OK ||
	    (rv = suite_decode(sf[SUITE].val, d)) != CM_OK ||
	    (rv = ldg_field_cstr(&sf[ORIGIN], out->origin, sizeof(out->origin),
	                         d)) != CM_OK ||
	    (rv = params_decode(sf[PARAMS].val, &out->params, d)) != CM_OK)
		return (rv);
	if ((rv = ldg_origin_check(out->origin, d)) != CM_OK)
		return (rv);
	return (CM_OK);
}

/* ---- encoders ---- */

cm_err
ldg_genesis_encode(const ldg_genesis *g, const cm_key *op, cm_buf *out,
                   cm_diag *d)
{
	cm_buf     stmt = {0};
	cm_cbor_wr w;
	uint8_t    sig[CM_SIG_LEN];
	cm_err     rv;

	cm_cbor_wr_init(&w, &stmt);
	cm_cbor_wr_map(&w, 7);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_GENESIS_STMT);
	cm_cbor_wr_cstr(&w, "op");
	cm_cbor_wr_bytes(&w, CM_BYTES(g->op_pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "ckpt");
	cm_cbor_wr_bytes(&w, CM_BYTES(g->ckpt_pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "time");
	cm_cbor_wr_uint(&w, g->log_time);
	cm_cbor_wr_cstr(&w, "suite");
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_cstr(&w, "ed25519");
	cm_cbor_wr_cstr(&w, "hash");
	cm_cbor_wr_cstr(&w, "sha-256");
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, g->origin);
	cm_cbor_wr_cstr(&w, "params");
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "body");
	cm_cbor_wr_uint(&w, g->params.max_body);
	cm_cbor_wr_cstr(&w, "leaf");
	cm_cbor_wr_uint(&w, g->params.max_leaf);
	cm_cbor_wr_cstr(&w, "batch");
	cm_cbor_wr_uint(&w, g->params.max_batch_bytes);
	cm_cbor_wr_cstr(&w, "window");
	cm_cbor_wr_uint(&w, g->params.window_ms);
	cm_cbor_wr_cstr(&w, "records");
	cm_cbor_wr_uint(&w, g->params.max_records);
	if ((rv = cm_cbor_wr_finish(&w, d)) != CM_OK)
		goto out;
	if ((rv = cm_sign(op, "genesis", cm_buf_bytes(&stmt), sig)) != CM_OK)
		goto out;
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 3);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_GENESIS);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_bytes(&w, CM_BYTES(sig, CM_SIG_LEN));
	cm_cbor_wr_cstr(&w, "stmt");
	cm_cbor_wr_bytes(&w, cm_buf_bytes(&stmt));
	rv = cm_cbor_wr_finish(&w, d);
out:
	cm_buf_fini(&stmt);
	return (rv);
}

cm_err
ldg_hleaf_encode(const ldg_hleaf *hl, cm_buf *out)
{
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, hl->v1 ? 5 : 6);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, hl->v1 ? LDG_T_HLEAF_V1 : LDG_T_HLEAF);
	cm_cbor_wr_cstr(&w, "hdr");
	cm_cbor_wr_bytes(&w, hl->hdr);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_bytes(&w, hl->sig);
	if (!hl->v1) {
		cm_cbor_wr_cstr(&w, "clock");
		cm_cbor_wr_uint(&w, hl->clock);
	}
	cm_cbor_wr_cstr(&w, "first");
	cm_cbor_wr_uint(&w, hl->first);
	cm_cbor_wr_cstr(&w, "ltime");
	cm_cbor_wr_uint(&w, hl->log_time);
	return (cm_cbor_wr_finish(&w, NULL));
}

cm_err
ldg_rleaf_encode(const uint8_t hh[CM_HASH_LEN], uint64_t hi, uint64_t pos,
                 cm_bytes rec, cm_buf *out)
{
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_RLEAF);
	cm_cbor_wr_cstr(&w, "hh");
	cm_cbor_wr_bytes(&w, CM_BYTES(hh, CM_HASH_LEN));
	cm_cbor_wr_cstr(&w, "hi");
	cm_cbor_wr_uint(&w, hi);
	cm_cbor_wr_cstr(&w, "pos");
	cm_cbor_wr_uint(&w, pos);
	cm_cbor_wr_cstr(&w, "rec");
	cm_cbor_wr_bytes(&w, rec);
	/* One per record on the append path: the layout is fixed, and its
	 * canonical form is checked by ldg_codec_test and fuzz_ldg_leaf. */
	return (cm_cbor_wr_end(&w));
}

cm_err
ldg_hdr_encode(const char *origin, const uint8_t kid[CM_KEYID_LEN],
               uint64_t seq, uint64_t time_ms, uint64_t n,
               const uint8_t root[CM_HASH_LEN], cm_buf *out)
{
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 7);
	cm_cbor_wr_cstr(&w, "n");
	cm_cbor_wr_uint(&w, n);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_HDR);
	cm_cbor_wr_cstr(&w, "kid");
	cm_cbor_wr_bytes(&w, CM_BYTES(kid, CM_KEYID_LEN));
	cm_cbor_wr_cstr(&w, "seq");
	cm_cbor_wr_uint(&w, seq);
	cm_cbor_wr_cstr(&w, "root");
	cm_cbor_wr_bytes(&w, CM_BYTES(root, CM_HASH_LEN));
	cm_cbor_wr_cstr(&w, "time");
	cm_cbor_wr_uint(&w, time_ms);
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, origin);
	return (cm_cbor_wr_finish(&w, NULL));
}

cm_err
ldg_batchfile_encode(cm_bytes hdr, const uint8_t sig[CM_SIG_LEN],
                     const cm_bytes *recs, size_t n, cm_buf *out)
{
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 4);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_BATCH);
	cm_cbor_wr_cstr(&w, "hdr");
	cm_cbor_wr_bytes(&w, hdr);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_bytes(&w, CM_BYTES(sig, CM_SIG_LEN));
	cm_cbor_wr_cstr(&w, "recs");
	cm_cbor_wr_array(&w, n);
	for (size_t i = 0; i < n; i++)
		cm_cbor_wr_bytes(&w, recs[i]);
	return (cm_cbor_wr_finish(&w, NULL));
}
